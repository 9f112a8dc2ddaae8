#!/usr/bin/env bash
# bench/import: the cost of checking imported weights for NaN/Inf (issue 14). A ~100M llama-style
# checkpoint (f32 safetensors, ~400 MB) is imported with `llmc compile --weights` and written back
# out, once with the default finite check and once with --allow-nonfinite (the peer: the same
# import without the check), interleaved, REPS times each; the best and the median of the
# compile's CPU time (user + system, getrusage of the child: on a shared machine far steadier
# than wall time) are printed, and their ratio. Two outputs: f32 (the direct raw copy, checked block
# by block) and bf16 (decode, check, convert).
# LLMC_BASELINE=/path/to/another/llmc adds that binary's import (no --allow-nonfinite) as a
# third column, e.g. the llmc before the check existed.
#   usage: bench/import/bench_import.sh [BUILD_DIR]     (REPS=n, THREADS=n to override)
set -euo pipefail
BUILD=${1:-build}
LLMC=${LLMC:-$BUILD/llmc}
REPS=${REPS:-7}
THREADS=${THREADS:-$(nproc)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmc-bench-import.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/spec.yaml" <<'EOF2'
name: bench-100m
template: decoder_only
vocab_size: 32000
context_length: 2048
dims: {num_layers: 8, hidden_size: 768, num_heads: 12, intermediate_size: 3072}
tie_word_embeddings: true
weights: {seed: 1}
EOF2
"$LLMC" compile "$WORK/spec.yaml" -o "$WORK/src" --emit safetensors --threads "$THREADS" >/dev/null
CK="$WORK/src/safetensors/model.safetensors"
echo "checkpoint: $(stat -c %s "$CK") bytes, $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters"])' "$WORK/src/compilation_report.json") parameters; $REPS reps, $THREADS threads; CPU ms (user + sys) per import + write"
cat "$CK" >/dev/null # in the page cache for every run alike

emit_ms() { # emit_ms LLMC DTYPE [flags...]: CPU ms (user + system) of one import
  local bin=$1 dtype=$2; shift 2
  rm -rf "$WORK/out"
  # getrusage of the child: microseconds, where /usr/bin/time rounds to 10 ms
  /usr/bin/python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.1f" % ((r.ru_utime + r.ru_stime) * 1000))' \
    "$bin" compile "$WORK/spec.yaml" -o "$WORK/out" --emit safetensors --weights "$CK" --dtype "$dtype" \
    --threads "$THREADS" "$@"
}

stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%.1f %.1f\n", v[1], v[int((NR + 1) / 2)] }'; }

printf '%-5s %22s %22s %8s %8s' out "checked best/median" "unchecked best/median" "best x" "median x"
if [ -n "${LLMC_BASELINE:-}" ]; then printf ' %22s' "baseline best/median"; fi
printf '\n'
for dtype in f32 bf16; do
  : >"$WORK/on"; : >"$WORK/off"; : >"$WORK/base"
  for _ in $(seq "$REPS"); do
    emit_ms "$LLMC" "$dtype" >>"$WORK/on"
    emit_ms "$LLMC" "$dtype" --allow-nonfinite >>"$WORK/off"
    if [ -n "${LLMC_BASELINE:-}" ]; then emit_ms "$LLMC_BASELINE" "$dtype" >>"$WORK/base"; fi
  done
  read -r on_best on_med < <(stats <"$WORK/on")
  read -r off_best off_med < <(stats <"$WORK/off")
  printf '%-5s %22s %22s %8.3f %8.3f' "$dtype" "$on_best / $on_med" "$off_best / $off_med" \
    "$(awk -v a="$on_best" -v b="$off_best" 'BEGIN { print a / b }')" "$(awk -v a="$on_med" -v b="$off_med" 'BEGIN { print a / b }')"
  if [ -n "${LLMC_BASELINE:-}" ]; then
    read -r b_best b_med < <(stats <"$WORK/base")
    printf ' %22s' "$b_best / $b_med"
  fi
  printf '\n'
done
echo "load: $(uptime | sed 's/.*load average/load average/'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
