#!/usr/bin/env bash
# Test oracles that come from package registries rather than Debian (called by setup.sh --test).
# Idempotent: a second run only checks that everything is in place.
#
# Real llama.cpp, for the GGUF emitter's tests (docs/gguf.md):
#   npm install node-llama-cpp@3.22.1 into .deps/npm. The package ships prebuilt CPU libraries
#   (@node-llama-cpp/linux-x64: libllama, libggml, one libggml-cpu-*.so per x86 level) and, in
#   node-llama-cpp/llama/gitRelease.bundle, the llama.cpp source they were built from. We install
#   with --ignore-scripts: the package's postinstall step would otherwise look for (and possibly
#   download or build) binaries of its own, which we neither need nor may fetch; the prebuilt
#   libraries arrive as an ordinary npm dependency. Optional dependencies (CUDA, Vulkan, other
#   platforms) are omitted and the linux-x64 one is named explicitly.
#   The bundle is cloned into .deps/llama.cpp for include/llama.h, ggml/include/*.h and gguf-py
#   (used with PYTHONPATH and Debian's python3-numpy; nothing comes from PyPI).
#
# The Hugging Face tokenizers library, for the tokenizer tests and benchmark (tests/oracle/
# hf_tokenizers.js, tests/python/test_tokenizers.py, bench/tokenizer):
#   npm install tokenizers@0.23.2 into the same .deps/npm. It is the Rust library behind a native
#   Node-API module; the package carries its prebuilt .node files for every platform itself (no
#   install script, nothing fetched later). We check that the linux-x64 one loads and reads a
#   tokenizer.json (Tokenizer.fromFile).
#
# LLMC_DEPS_DIR (default .deps) installs somewhere else, e.g. to try this script without touching
# a shared .deps.
set -euo pipefail
cd "$(dirname "$0")/.."

NLC_VERSION=3.22.1
TOK_VERSION=0.23.2
DEPS=${LLMC_DEPS_DIR:-.deps}
NPM_DIR=$DEPS/npm
SRC_DIR=$DEPS/llama.cpp
PKG=$NPM_DIR/node_modules/node-llama-cpp
BIN_DIR=$NPM_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "setup-oracles: llama.cpp oracle needs Linux x86_64 (prebuilt @node-llama-cpp/linux-x64); this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi
for tool in node npm git; do
  command -v "$tool" >/dev/null 2>&1 || { echo "setup-oracles: '$tool' not found (scripts/setup.sh --test installs it)" >&2; exit 1; }
done

# libllama.so, or libllama.v<release>.so as node-llama-cpp names it (not libllama-common.so)
find_libllama() { ls "$BIN_DIR"/libllama.so "$BIN_DIR"/libllama.v*.so 2>/dev/null | head -1; }

installed_version() {
  [ -f "$1/package.json" ] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$(realpath "$1/package.json")"
}

# ---- npm packages ------------------------------------------------------------------------
TOK_PKG=$NPM_DIR/node_modules/tokenizers
if [ "$(installed_version "$PKG")" != "$NLC_VERSION" ] || [ -z "$(find_libllama)" ] ||
   [ "$(installed_version "$TOK_PKG")" != "$TOK_VERSION" ]; then
  echo "setup-oracles: npm install node-llama-cpp@$NLC_VERSION tokenizers@$TOK_VERSION (--ignore-scripts) into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  cat >"$NPM_DIR/package.json" <<EOF
{
  "name": "llmc-test-oracles",
  "private": true,
  "description": "test oracles for llmc (not shipped)",
  "dependencies": {
    "node-llama-cpp": "$NLC_VERSION",
    "@node-llama-cpp/linux-x64": "$NLC_VERSION",
    "tokenizers": "$TOK_VERSION"
  }
}
EOF
  (cd "$NPM_DIR" && npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error)
fi
[ "$(installed_version "$PKG")" = "$NLC_VERSION" ] || { echo "setup-oracles: node-llama-cpp $NLC_VERSION missing after npm install" >&2; exit 1; }
[ "$(installed_version "$TOK_PKG")" = "$TOK_VERSION" ] || { echo "setup-oracles: tokenizers $TOK_VERSION missing after npm install" >&2; exit 1; }
[ -n "$(find_libllama)" ] || { echo "setup-oracles: no prebuilt libllama in $BIN_DIR" >&2; exit 1; }
ls "$BIN_DIR"/libggml-base.so >/dev/null 2>&1 || { echo "setup-oracles: no libggml-base.so in $BIN_DIR" >&2; exit 1; }

# ---- llama.cpp source from the bundle -----------------------------------------------------
BUNDLE=$PKG/llama/gitRelease.bundle
[ -f "$BUNDLE" ] || { echo "setup-oracles: $BUNDLE missing" >&2; exit 1; }
want_head=$(git bundle list-heads "$BUNDLE" | awk 'NR==1{print $1}')
have_head=""
if [ -d "$SRC_DIR/.git" ]; then have_head=$(git -C "$SRC_DIR" rev-parse HEAD 2>/dev/null || true); fi
if [ "$have_head" != "$want_head" ]; then
  echo "setup-oracles: cloning the llama.cpp source bundle into $SRC_DIR"
  rm -rf "$SRC_DIR"
  git -c advice.detachedHead=false clone -q "$BUNDLE" "$SRC_DIR"
  git -C "$SRC_DIR" -c advice.detachedHead=false checkout -q "$want_head"
fi
for f in include/llama.h ggml/include/ggml.h ggml/include/ggml-backend.h gguf-py/gguf/__init__.py; do
  [ -f "$SRC_DIR/$f" ] || { echo "setup-oracles: $SRC_DIR/$f missing" >&2; exit 1; }
done

# gguf-py imports only numpy (+ stdlib) for reading; check it works with Debian's python3.
if ! PYTHONPATH="$SRC_DIR/gguf-py" /usr/bin/python3 -c 'import gguf' 2>/dev/null; then
  echo "setup-oracles: gguf-py does not import with /usr/bin/python3 (python3-numpy installed?)" >&2
  PYTHONPATH="$SRC_DIR/gguf-py" /usr/bin/python3 -c 'import gguf' || true
  exit 1
fi
echo "setup-oracles: llama.cpp oracle ready ($(basename "$(find_libllama)"), source $SRC_DIR @ ${want_head:0:10})"

# ---- HF tokenizers: the native module loads and reads a tokenizer.json ----------------------
tok_check=$(mktemp -d)
trap 'rm -rf "$tok_check"' EXIT
cat >"$tok_check/tokenizer.json" <<'EOF'
{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
 "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null,
 "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2}, "unk_token": "[UNK]"}}
EOF
if ! got=$(node -e '
  const { Tokenizer } = require(process.argv[1]);
  Tokenizer.fromFile(process.argv[2]).encode("hello big world").then(e => console.log(e.getIds().join(",")));
' "$(realpath "$TOK_PKG")" "$tok_check/tokenizer.json" 2>&1) || [ "$got" != "1,0,2" ]; then
  echo "setup-oracles: the tokenizers native module does not work here (expected ids 1,0,2):" >&2
  echo "$got" >&2
  exit 1
fi
echo "setup-oracles: HF tokenizers $TOK_VERSION ready ($TOK_PKG)"
