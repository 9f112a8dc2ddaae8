#!/usr/bin/env bash
# bench/gguf: GGUF emission throughput for a ~1.2B llama-style model (Llama 3.2 1B dims) at F16
# and Q8_0 (init weights; the emitter streams, so peak memory stays small), plus one timed
# llama.cpp load + prefill of the result when the oracle tool is built. Results: docs/benchmarks.md.
#   usage: bench/gguf/bench_gguf.sh [BUILD_DIR]     (THREADS=n to override the thread count)
set -euo pipefail
BUILD=${1:-build}
LLMC=${LLMC:-$BUILD/llmc}
ORACLE=$BUILD/tests/llama_logits
THREADS=${THREADS:-$(nproc)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmc-bench-gguf.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/spec.yaml" <<'EOF'
name: bench-1b
template: decoder_only
vocab_size: 128256
context_length: 8192
dims: {num_layers: 16, hidden_size: 2048, num_heads: 32, num_kv_heads: 8, intermediate_size: 8192}
rope: {theta: 500000}
tie_word_embeddings: true
weights: {seed: 1}
EOF

printf '%-6s %14s %12s %9s %10s %12s %10s\n' type parameters "file MB" seconds "MB/s" "Mparam/s" "peak RSS MB"
for variant in "f16:precision: float16" "q8_0:quantize: q8_0"; do
  name=${variant%%:*}
  line=${variant#*:}
  { cat "$WORK/spec.yaml"; echo "$line"; } >"$WORK/$name.yaml"
  out="$WORK/out-$name"
  /usr/bin/time -f '%M' -o "$WORK/rss" "$LLMC" compile "$WORK/$name.yaml" -o "$out" --emit gguf --threads "$THREADS" >/dev/null
  file="$out/gguf/model.gguf"
  bytes=$(stat -c %s "$file")
  # the emitter's own time from the report (the rest of a compile is milliseconds)
  read -r params ms < <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["parameters"], r["emitters"]["gguf"]["ms"])' "$out/compilation_report.json")
  awk -v n="$name" -v p="$params" -v b="$bytes" -v ms="$ms" -v r="$(cat "$WORK/rss")" 'BEGIN {
    t = ms / 1000; printf "%-6s %14d %12.1f %9.2f %10.1f %12.1f %10.1f\n", n, p, b / 1e6, t, b / 1e6 / t, p / 1e6 / t, r / 1024 }'
  if [ -x "$ORACLE" ]; then
    echo "       llama.cpp: $("$ORACLE" bench "$file" --prompt 64 --gen 8 --threads "$THREADS" --reps 1)"
  fi
  rm -rf "$out"
done
echo "threads: $THREADS; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
