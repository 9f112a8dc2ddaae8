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

# best of 3 runs of one command (output discarded): "wall_seconds cpu_seconds", each the least seen
best() {
  local best_wall="" best_cpu="" wall user sys cpu
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" >/dev/null
    read -r wall user sys <"$WORK/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best_wall" ] || awk -v a="$wall" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then best_wall=$wall; fi
    if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then best_cpu=$cpu; fi
  done
  echo "$best_wall $best_cpu"
}

echo
echo "llmc solve, end to end (best of 3 of wall clock and of CPU time, user + system); the base spec"
echo "is the same spec without the bulk (process start, plugin loading, solving: the fixed cost)"
printf '%-22s %7s %8s %8s %8s %14s\n' spec MiB "wall s" "CPU s" "MB/s" "CPU - base s"
read -r base_wall base_cpu < <(best "$LLMC" solve "$WORK/base.yaml")
printf '%-22s %7.2f %8.2f %8.2f %8s %14s\n' base.yaml 0 "$base_wall" "$base_cpu" - -
for f in "$WORK"/*.yaml "$WORK"/*.json; do
  name=$(basename "$f")
  [ "$name" = base.yaml ] && continue
  read -r wall cpu < <(best "$LLMC" solve "$f")
  bytes=$(stat -c %s "$f")
  awk -v n="$name" -v b="$bytes" -v w="$wall" -v c="$cpu" -v base="$base_cpu" 'BEGIN {
    printf "%-22s %7.2f %8.2f %8.2f %8.1f %14.2f\n", n, b / 1048576, w, c, b / 1e6 / w, c - base }'
done
echo "uptime: $(uptime)"
