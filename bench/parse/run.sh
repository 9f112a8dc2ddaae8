#!/usr/bin/env bash
# bench/parse: the parser table (bench_parse), then `llmc solve` end to end on the 16 MiB specs it
# writes, next to `llmc solve` of the same spec without the bulk (process start, plugin loading,
# solve: the fixed cost) measured in the same run. Results: docs/benchmarks.md.
#   usage: bench/parse/run.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
LLMC=${LLMC:-$BUILD/llmc}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmc-bench-parse.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$BUILD/bench/bench_parse" --write "$WORK"

cat >"$WORK/base.yaml" <<'SPEC'
name: bench-parse
vocab_size: 512
context_length: 64
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 256}
SPEC

# best of 3 wall-clock seconds of one command, its output discarded
best() {
  local best="" t
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    t=$(( (t1 - t0) / 1000 ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}

echo
echo "llmc solve, end to end (best of 3); the base spec is the same spec without the bulk"
printf '%-26s %9s %9s %9s %12s\n' spec MiB seconds "MB/s" "minus base"
base_us=$(best "$LLMC" solve "$WORK/base.yaml")
printf '%-26s %9.2f %9.3f %9s %12s\n' base.yaml "$(stat -c %s "$WORK/base.yaml" | awk '{print $1/1048576}')" \
  "$(awk -v u="$base_us" 'BEGIN{print u/1e6}')" - -
for f in "$WORK"/*.yaml "$WORK"/*.json; do
  name=$(basename "$f")
  [ "$name" = base.yaml ] && continue
  us=$(best "$LLMC" solve "$f")
  bytes=$(stat -c %s "$f")
  awk -v n="$name" -v b="$bytes" -v u="$us" -v base="$base_us" 'BEGIN {
    printf "%-26s %9.2f %9.3f %9.1f %11.3fs\n", n, b / 1048576, u / 1e6, b / u, (u - base) / 1e6 }'
done
echo "uptime: $(uptime)"
