#!/usr/bin/env bash
# The spec's tokenizer and dataset (docs/spec.md "Tokenizer and dataset") end to end, on a corpus
# assembled here from the installed English man pages (tests/corpus/make_corpus.py; nothing
# third-party is committed): compile trains bpe and unigram tokenizers, writes OUT/tokenizer/ and
# OUT/dataset.json (listed in the manifest, validate passes, a recompile of OUT/spec.json is byte
# for byte the same); OUT/tokenizer loads with `llmc tokenize`; dataset.json's numbers agree with
# `llmc tokenize --corpus` and the files; the second compile takes the tokenizer from the cache,
# two concurrent compiles share one entry; tokenizer.path loads an existing tokenizer;
# compute_optimal sizes the model at tokens / 20; bad paths, an unparsable tokenizer and a
# vocabulary the corpus cannot fill are located errors with exit 1.
# Environment (set by ctest): LLMC, LLMC_BINARY_DIR, LLMC_SOURCE_DIR.
set -u
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME="$T/cache"
unset LLMC_CACHE_DIR
LL=("$LLMC" --plugins "$LLMC_BINARY_DIR/plugins")
L() { "${LL[@]}" "$@"; }
json() { /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

if ! /usr/bin/python3 "$LLMC_SOURCE_DIR/tests/corpus/make_corpus.py" -o "$T/corp" --train-mb 0.3 --heldout-kb 8 \
     --langs en >/dev/null 2>"$T/corpus.err"; then
  echo "FAIL: cannot assemble the corpus from the installed man pages:"; cat "$T/corpus.err"; exit 1
fi
C="$T/corp/train.txt"
# the same text as .jsonl records under another field
/usr/bin/python3 - "$C" "$T/corp/train.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as o:
    for line in f: o.write(json.dumps({"id": 0, "body": line.rstrip("\n")}, ensure_ascii=False) + "\n")
EOF

cd "$T"
cat > bpe.yaml <<'EOF'
name: tiny-bpe
vocab_size: 1024
dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}
tokenizer:
  type: bpe
  pre_tokenizer: gpt2
  special_tokens: {eos: "<|endoftext|>"}
dataset:
  name: man pages
  paths: [corp/train.txt]
  split: train
emit: []
EOF
cat > unigram.yaml <<'EOF'
name: tiny-unigram
vocab_size: 800
dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}
tokenizer: {type: unigram, vocab_size: 800, special_tokens: {unk: "<unk>", bos: "<s>", eos: "</s>"}}
dataset: {paths: [corp/train.jsonl], format: jsonl, text_field: body}
emit: []
EOF

status() { json "$1/compilation_report.json" '[s["status"] for s in d["steps"] if s["name"] == "tokenizer_and_dataset"][0]'; }
same_out() { # every file but the report (timings) byte for byte
  local a=$1 b=$2 f
  for f in $(cd "$a" && find . -type f ! -name compilation_report.json | sort); do cmp -s "$a/$f" "$b/$f" || return 1; done
  [ "$(cd "$a" && find . -type f | sort)" = "$(cd "$b" && find . -type f | sort)" ]
}

for kind in bpe unigram; do
  expect_exit 0 L compile $kind.yaml -o out-$kind
  check "$kind: first compile trains" [ "$(status out-$kind)" = trained ]
  check "$kind: OUT/tokenizer has tokenizer.json, tokenizer_config.json, special_tokens_map.json" \
    [ -s out-$kind/tokenizer/tokenizer.json -a -s out-$kind/tokenizer/tokenizer_config.json -a -s out-$kind/tokenizer/special_tokens_map.json ]
  for f in tokenizer/tokenizer.json tokenizer/tokenizer_config.json tokenizer/special_tokens_map.json dataset.json; do
    check "$kind: manifest lists $f" [ "$(json out-$kind/manifest.json "[f['path'] for f in d['files']].count('$f')")" = 1 ]
  done
  # OUT/tokenizer loads, and the dataset's numbers are what the tools and the files say
  corpus=corp/train.txt
  [ $kind = unigram ] && corpus=corp/train.jsonl
  tf=(); [ $kind = unigram ] && tf=(--text-field body)
  expect_exit 0 L tokenize out-$kind/tokenizer --corpus $corpus "${tf[@]}" -o $kind.bin
  check "$kind: dataset.json tokens = llmc tokenize --corpus" \
    [ "$(json out-$kind/dataset.json 'd["tokens"]')" = "$(json $kind.bin.json 'd["tokens"]')" ]
  check "$kind: dataset.json documents = lines of the corpus" \
    [ "$(json out-$kind/dataset.json 'd["documents"]')" = "$(wc -l < $C | tr -d ' ')" ]
  check "$kind: bytes_per_token = bytes / tokens" \
    [ "$(json out-$kind/dataset.json 'abs(d["bytes_per_token"] - d["bytes"] / d["tokens"]) < 1e-8')" = True ]
  check "$kind: characters <= bytes, unique words > 0, file sha256 recorded" \
    [ "$(json out-$kind/dataset.json '0 < d["characters"] <= d["bytes"] and d["unique_words"] > 0 and len(d["files"][0]["sha256"]) == 64')" = True ]
  ids=$(L tokenize out-$kind/tokenizer "the quick brown fox")
  check "$kind: llmc tokenize OUT/tokenizer gives ids" grep -qE '^[0-9]+(,[0-9]+)+$' <<<"$ids"
  check "$kind: and detokenize gives the text back" [ "$(L detokenize out-$kind/tokenizer "$ids")" = "the quick brown fox" ]
  expect_out '^valid$' L validate out-$kind
  # the second compile takes the tokenizer from the cache; OUT/spec.json recompiles to the same bytes
  expect_exit 0 L compile $kind.yaml -o out-$kind-2
  check "$kind: second compile hits the cache" [ "$(status out-$kind-2)" = cached ]
  check "$kind: second compile writes the same files" same_out out-$kind out-$kind-2
  expect_exit 0 L compile out-$kind/spec.json -o out-$kind-3
  check "$kind: OUT/spec.json recompiles byte for byte" same_out out-$kind out-$kind-3
done
check "unigram: tokenizer.model written" [ -s out-unigram/tokenizer/tokenizer.model ]
check "unigram: tokenizer.vocab_size 800 honoured" [ "$(json out-unigram/dataset.json 'd["tokenizer"]["vocab_size"]')" = 800 ]
check "cache: one entry per tokenizer, no leftovers" [ "$(ls -A cache/llmc/tokenizers | wc -l)" = 2 ]

# two compiles at once on an empty cache: both succeed, one entry, same tokenizer
rm -rf cache
L compile bpe.yaml -o race-a >/dev/null 2>&1 & a=$!
L compile bpe.yaml -o race-b >/dev/null 2>&1 & b=$!
wait $a; ra=$?; wait $b; rb=$?
check "concurrent compiles succeed" [ $ra = 0 -a $rb = 0 ]
check "concurrent compiles agree" same_out race-a race-b
check "concurrent compiles leave one cache entry" [ "$(ls -A cache/llmc/tokenizers | wc -l)" = 1 ]
# a damaged entry is trained again, not trusted
echo '{"model": {' > cache/llmc/tokenizers/*/tokenizer.json
expect_err "did not load; training again" L compile bpe.yaml -o out-damaged
check "damaged cache entry: same output after training again" same_out out-bpe out-damaged

# tokenizer.path: an existing tokenizer instead of training
cat > load.yaml <<'EOF'
vocab_size: 1024
dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}
tokenizer: {path: out-bpe/tokenizer/tokenizer.json}
dataset: {paths: [corp/train.txt]}
emit: []
EOF
expect_exit 0 L compile load.yaml -o out-load
check "tokenizer.path: same tokens as the tokenizer it loads" \
  [ "$(json out-load/dataset.json 'd["tokens"]')" = "$(json out-bpe/dataset.json 'd["tokens"]')" ]
check "tokenizer.path: dataset.json says where it came from" [ "$(json out-load/dataset.json 'd["tokenizer"]["from"]')" = path ]
expect_out '^valid$' L validate out-load
check "tokenizer.path: spec.json records the absolute path" grep -q "\"path\": \"$T/out-bpe/tokenizer/tokenizer.json\"" out-load/spec.json

# a training killed hard leaves .train-XXXXXX in the cache: the next training removes it, but not
# one a live training holds (flock), nor an empty one (its training may not have locked it yet),
# and nothing else in the cache
mkdir -p cache/llmc/tokenizers/.train-dead01/tokenizer cache/llmc/tokenizers/.train-live01 cache/llmc/tokenizers/.train-notours \
  cache/llmc/tokenizers/.train-empty1
echo partial > cache/llmc/tokenizers/.train-dead01/tokenizer/tokenizer.json
flock cache/llmc/tokenizers/.train-live01 sleep 120 & holder=$!
sleep 0.5
# tokenizer.normalization goes before the pre-tokenizer's pipeline: case and compatibility forms fold
sed 's/  pre_tokenizer: gpt2/  pre_tokenizer: gpt2\n  normalization: nfkc_lowercase/' bpe.yaml > norm.yaml
expect_exit 0 L compile norm.yaml -o out-norm
check "normalization: tokenizer.json has NFKC then Lowercase" \
  [ "$(json out-norm/tokenizer/tokenizer.json '[n["type"] for n in d["normalizer"]["normalizers"]]')" = "['NFKC', 'Lowercase']" ]
check "normalization: 'HELLO ﬁle' encodes as 'hello file'" \
  [ "$(L tokenize out-norm/tokenizer 'HELLO ﬁle')" = "$(L tokenize out-norm/tokenizer 'hello file')" ]
check "normalization: a different cache entry" [ "$(status out-norm)" = trained ]
check "stale .train-* of a dead training removed" [ ! -e cache/llmc/tokenizers/.train-dead01 ]
check "a live training's .train-* kept" [ -d cache/llmc/tokenizers/.train-live01 ]
check "an empty .train-* kept (its training may be about to lock it)" [ -d cache/llmc/tokenizers/.train-empty1 ]
check "other names in the cache kept" [ -d cache/llmc/tokenizers/.train-notours ]
kill $holder 2>/dev/null; wait $holder 2>/dev/null
expect_out '^valid$' L validate out-norm

# compute_optimal: tokens / 20 (Hoffmann et al. 2022) within the solver's tolerance
cat > co.yaml <<'EOF'
name: tiny-co
vocab_size: 320
target_params: compute_optimal
dims: {hidden_size: 16, num_heads: 2}
tie_word_embeddings: true
tokenizer: {type: bpe, pre_tokenizer: gpt2}
dataset: {paths: [corp/train.txt]}
emit: []
EOF
expect_exit 0 L compile co.yaml -o out-co
tokens=$(json out-co/dataset.json 'd["tokens"]')
check "compute_optimal: target_params = tokens / 20" [ "$(json out-co/solution.json 'd["target_params"]')" = $((tokens / 20)) ]
check "compute_optimal: parameters within the tolerance" \
  [ "$(json out-co/solution.json 'abs(d["parameters"] - d["target_params"]) <= d["tolerance"] * d["target_params"]')" = True ]
check "compute_optimal: spec.json keeps compute_optimal" grep -q '"target_params": "compute_optimal"' out-co/spec.json
expect_out '^valid$' L validate out-co
expect_out 'tokens per parameter \(compute-optimal: 20' L solve co.yaml
expect_out "tokens_per_parameter" cat out-co/solution.json

# ---- errors: located in the spec, exit 1, nothing written ----------------------------------------------------------
bad() { # bad NAME REGEX: compile NAME.yaml fails with exit 1, the message, and no OUT
  expect_fail 1 "$2" "${LL[@]}" compile $1.yaml -o out-$1
  check "$1: nothing written" [ ! -e out-$1 ]
}
sed 's#tokenizer: {path: .*}#tokenizer: {path: /nonexistent/tokenizer.json}#' load.yaml > missing.yaml
bad missing '^missing.yaml:3:19: tokenizer.path: cannot read .*/nonexistent/tokenizer.json.: No such file'
printf '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [' > broken.json
sed 's#tokenizer: {path: .*}#tokenizer: {path: broken.json}#' load.yaml > broken.yaml
bad broken '^broken.yaml:3:19: tokenizer.path: cannot load the tokenizer .*broken.json.: .*broken.json:1:[0-9]+: '
sed 's#tokenizer: {path: .*}#tokenizer: {path: corp}#' load.yaml > notok.yaml
bad notok '^notok.yaml:3:19: tokenizer.path: cannot load the tokenizer .*corp.: .*corp: no tokenizer.json or tokenizer.model'
sed 's#vocab_size: 1024#vocab_size: 600#' load.yaml > small.yaml
bad small '^small.yaml:1:13: vocab_size: must be 1024, the number of ids of the tokenizer .*: set vocab_size: 1024'
sed 's#vocab_size: 1024#vocab_size: 2048#' load.yaml > large.yaml
bad large '^large.yaml:1:13: vocab_size: must be 1024, the number of ids of the tokenizer .*\(got 2048\): set vocab_size: 1024'
sed '0,/^vocab_size: 800/s//vocab_size: 1024/' unigram.yaml > tokdiff.yaml
bad tokdiff "^tokdiff.yaml:4:40: tokenizer.vocab_size: differs from the model's vocab_size \(expected 1024, got 800\)"
head -c 2000 $C > small.txt   # a few lines: the trainer runs out of merges at once
sed 's#corp/train.txt#small.txt#' bpe.yaml > toobig.yaml
bad toobig '^toobig.yaml:2:13: vocab_size: the dataset cannot fill 1024 ids: the .bpe. tokenizer learned [0-9]+ from [0-9,]+ documents \([0-9,]+ bytes, [0-9,]+ characters of which [0-9]+ distinct, [0-9,]+ distinct words\); lower vocab_size to at most [0-9]+ or add text'
sed 's#paths: \[corp/train.txt\]#paths: [corp/train.txt, corp/nope.txt]#' bpe.yaml > nodata.yaml
bad nodata '^nodata.yaml:10:27: dataset.paths\[1\]: cannot read corpus file .corp/nope.txt.: No such file'
sed 's#paths: \[corp/train.txt\]#paths: [corp/train.txt]\n  format: jsonl#' bpe.yaml > fmt.yaml
bad fmt '^fmt.yaml:10:11: dataset.paths\[0\]: .corp/train.txt. is read as text by its name, but dataset.format is jsonl'
sed 's#type: bpe#type: nosuch#' bpe.yaml > plugin.yaml
expect_fail 3 "nosuch" "${LL[@]}" compile plugin.yaml -o out-plugin

finish
