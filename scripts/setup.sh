#!/usr/bin/env bash
# Install what llmc needs on a Debian 12 machine (idempotent; runs apt-get only for what is missing).
#   scripts/setup.sh          build dependencies
#   scripts/setup.sh --test   + test oracles (torch, numpy, clang/libFuzzer, valgrind, node-llama-cpp,
#                               sentencepiece, HF tokenizers) and the packages the test corpora come from
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(cmake make gcc pkg-config libyaml-dev libjansson-dev libcmocka-dev zlib1g-dev unicode-data)
test_pkgs=(python3 python3-numpy python3-torch clang libclang-rt-14-dev valgrind git nodejs npm)
# tokenizer oracles and corpora (tests/python/test_tokenizers.py, tests/corpus/make_corpus.py,
# bench/tokenizer): spm_train/spm_encode and the Python binding of the same SentencePiece; man pages
# in five languages as multilingual text; GNU time for peak-memory figures in bench/tokenizer.
test_pkgs+=(sentencepiece python3-sentencepiece manpages manpages-dev manpages-ja manpages-ru manpages-de
            manpages-zh manpages-fr time)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node/npm may come from outside Debian (e.g. a preinstalled Node.js); accept those.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do case "$p" in nodejs|npm) ;; *) filtered+=("$p");; esac; done
  missing=("${filtered[@]}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ] && [ -x scripts/setup-oracles.sh ]; then
  scripts/setup-oracles.sh
fi
echo "setup: ok"
