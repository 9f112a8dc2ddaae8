#!/usr/bin/env bash
# `llmc import` in the CI's sanitizer phase (the python test_import holds the full matrix): every
# published configuration in tests/hf_configs/ imports to its count, bad configurations - wrong
# types, a key the family defaults, a missing model_type, a malformed file, an unknown family - exit
# 1 with a located message, and an existing file is never replaced without --force.
# Environment (set by ctest): LLMC, LLMC_SOURCE_DIR, LLMC_BINARY_DIR.
set -u
source "$(dirname "$0")/lib.sh"

PLUG="$LLMC_BINARY_DIR/plugins"
FIX="$LLMC_SOURCE_DIR/tests/hf_configs"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
run() { "$LLMC" --plugins "$PLUG" "$@"; }
R=("$LLMC" --plugins "$PLUG")   # for expect_fail, which runs its command under timeout

expect_out "llama-2-7b.yaml: 6,738,415,616 parameters" run import "$FIX/llama-2-7b" -o "$T/llama-2-7b.yaml"
expect_out "mistral.yaml: 7,241,732,096 parameters" run import "$FIX/mistral-7b-v0.1" -o "$T/mistral.yaml"
expect_out "qwen2.yaml: 494,032,768 parameters" run import "$FIX/qwen2-0.5b/config.json" -o "$T/qwen2.yaml"
expect_out "qwen3.yaml: 596,049,920 parameters" run import "$FIX/qwen3-0.6b" -o "$T/qwen3.yaml"
expect_out "gpt2.yaml: 124,439,808 parameters" run import "$FIX/gpt2" -o "$T/gpt2.yaml"
expect_out "t5.yaml: 60,506,624 parameters" run import "$FIX/t5-small" -o "$T/t5.yaml"
expect_out "gemma2.yaml: 2,614,341,888 parameters" run import "$FIX/gemma-2-2b" -o "$T/gemma2.yaml"
expect_out "phi2.yaml: 2,779,683,840 parameters" run import "$FIX/phi-2" -o "$T/phi2.yaml"
expect_out "mixtral.yaml: 46,702,792,704 parameters" run import "$FIX/mixtral-8x7b" -o "$T/mixtral.yaml"
expect_out "qwen2moe.yaml: 14,315,784,192 parameters" run import "$FIX/qwen1.5-moe-a2.7b" -o "$T/qwen2moe.yaml"
expect_out "small.yaml: .* parameters \(decoder_only, HF family llama; target 1,000,000" \
  run import "$FIX/tinyllama-1.1b" -o "$T/small.yaml" --target-params 1M --vocab-size 256

bad() { # bad NAME JSON REGEX: exit 1, stderr matching REGEX, nothing written
  mkdir -p "$T/$1"
  printf '%s' "$2" >"$T/$1/config.json"
  expect_fail 1 "$3" "${R[@]}" import "$T/$1" -o "$T/$1.yaml"
  check "$1: nothing written" test ! -e "$T/$1.yaml"
}
bad no-type '{"hidden_size": 1}' "config.json:1:1: model_type: missing"
bad unknown '{"model_type": "lama"}' "config.json:1:16: model_type: unknown model type 'lama'.*did you mean llama"
bad qwen2-moe-step '{"model_type": "qwen2_moe", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 96,
 "num_hidden_layers": 2, "num_attention_heads": 4, "decoder_sparse_step": 2}' "config.json:2:[0-9]+: decoder_sparse_step: makes the layers whose index \+ 1 is not a multiple of 2 dense"
bad gemma-no-dims '{"model_type": "gemma"}' "config.json:1:1: hidden_size: missing \(model_type 'gemma' needs it\)"
bad default-heads '{"model_type": "gpt2", "n_embd": 100}' "config.json:1:1: n_head: 12 heads do not divide n_embd 100"
bad wrong-type '{"model_type": "llama", "vocab_size": "x", "hidden_size": 64, "intermediate_size": 96,
 "num_hidden_layers": 2, "num_attention_heads": 4}' "config.json:1:39: vocab_size: expected an integer"
bad nested '{"model_type": "llama", "vocab_size": 9, "hidden_size": {}, "intermediate_size": 96,
 "num_hidden_layers": 2, "num_attention_heads": 4}' "hidden_size: expected a scalar, got a mapping"
bad rope '{"model_type": "llama", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 96,
 "num_hidden_layers": 2, "num_attention_heads": 4, "rope_scaling": {"factor": 2}}' "rope_scaling.rope_type: missing"
bad not-json '{"model_type": "llama",' "config.json:1:"
bad list '[1, 2]' "expected a JSON object, got a list"

printf 'name: mine\nvocab_size: 10\n' >"$T/mine.yaml"
expect_fail 4 "exists" "${R[@]}" import "$FIX/gpt2" -o "$T/mine.yaml"
expect_fail 4 "not a spec written by llmc import" "${R[@]}" import "$FIX/gpt2" -o "$T/mine.yaml" --force
check "a spec the user wrote is untouched" grep -q "^name: mine$" "$T/mine.yaml"
expect_exit 0 run import "$FIX/t5-small" -o "$T/gpt2.yaml" --force
check "--force replaces an imported spec" grep -q "model_type: t5" "$T/gpt2.yaml"
expect_exit 2 run import "$FIX/gpt2"
finish
