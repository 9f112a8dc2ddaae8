#!/usr/bin/env bash
# bench/cpu_runtime: the CPU runtime (llmc-run) against llama.cpp on the same weights.
#
#   bench_cpu_runtime.sh BUILD_DIR [THREADS] [ROUNDS]        (cmake --build build --target bench_cpu_runtime)
#
# A ~112M-parameter llama-style model (12 layers, hidden 768, 12 heads / 4 KV heads, SwiGLU 2048,
# vocab 24000, untied) is compiled once per weight type with --emit cpu,gguf, so llmc-run and
# llama.cpp (tests/oracle/llama_logits bench: node-llama-cpp's prebuilt libllama, F32 KV cache, no
# flash attention) read the same weights. For F32, Q8_0 and Q4_0, ROUNDS rounds (default 3) alternate the
# two programs, each reporting its best of 3 repetitions of: prefill of a 128-token prompt, then 128
# greedy decode steps, THREADS threads each (default: all CPUs); Q4_0 (head at Q8_0 in both) as well. The table shows the median of the
# rounds, ours / llama.cpp, and the memory-bandwidth bound of decode: bytes read per token (every
# weight but the embedding table, plus the mean KV cache) against this machine's read bandwidth
# (bench/cpu_runtime/membw.c, the same thread count, measured every round, the best taken). Results: docs/benchmarks.md.
set -euo pipefail
BUILD=$(cd "${1:?usage: bench_cpu_runtime.sh BUILD_DIR [THREADS] [ROUNDS]}" && pwd)
THREADS=${2:-$(nproc)}
ROUNDS=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
LLMC=$BUILD/llmc
ORACLE=$BUILD/tests/llama_logits
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llmc-bench-cpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

[ -x "$LLMC" ] || { echo "bench_cpu_runtime: $LLMC not built" >&2; exit 1; }
HAVE_ORACLE=1
if [ ! -x "$ORACLE" ]; then
  HAVE_ORACLE=0
  echo "bench_cpu_runtime: $ORACLE not built (scripts/setup-oracles.sh, then re-run cmake): llama.cpp columns skipped" >&2
fi

cat > "$WORK/bench-110m.yaml" <<'YAML'
name: bench-110m
template: decoder_only
vocab_size: 24000
context_length: 1024
attention: gqa
dims: {num_layers: 12, hidden_size: 768, num_heads: 12, num_kv_heads: 4}
weights: {seed: 1}
YAML
sed 's/^name: bench-110m$/name: bench-110m-q8\nquantize: q8_0/' "$WORK/bench-110m.yaml" > "$WORK/bench-110m-q8.yaml"
sed 's/^name: bench-110m$/name: bench-110m-q4\nquantize: q4_0/' "$WORK/bench-110m.yaml" > "$WORK/bench-110m-q4.yaml"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "compiler: $(${CC:-cc} --version | head -1)"
cc -O3 -march=native -pthread -o "$WORK/membw" "$HERE/membw.c"

for t in f32 q8 q4; do
  spec=$WORK/bench-110m.yaml
  [ "$t" = q8 ] && spec=$WORK/bench-110m-q8.yaml
  [ "$t" = q4 ] && spec=$WORK/bench-110m-q4.yaml
  "$LLMC" compile "$spec" -o "$WORK/$t" --emit cpu,gguf --force --threads "$THREADS" >/dev/null
  make -s -C "$WORK/$t/cpu"
done
"$WORK/f32/cpu/llmc-run" --info | sed -n 's/^kernels *//p' | sed 's/^/llmc-run kernels: /'

: > "$WORK/results.jsonl"
: > "$WORK/membw.jsonl"
for round in $(seq 1 "$ROUNDS"); do
  # bandwidth once per round: on a shared host it varies, and the bound takes the best
  "$WORK/membw" "$THREADS" 1024 >> "$WORK/membw.jsonl"
  for t in f32 q8 q4; do
    if [ "$HAVE_ORACLE" = 1 ]; then
      r=$("$ORACLE" bench "$WORK/$t/gguf/model.gguf" --prompt 128 --gen 128 --threads "$THREADS" --reps 3)
      echo "{\"round\": $round, \"type\": \"$t\", \"prog\": \"llama.cpp\", \"r\": $r}" >> "$WORK/results.jsonl"
    fi
    r=$("$WORK/$t/cpu/llmc-run" --bench --bench-prompt 128 -n 128 --threads "$THREADS" --reps 3)
    echo "{\"round\": $round, \"type\": \"$t\", \"prog\": \"llmc\", \"r\": $r}" >> "$WORK/results.jsonl"
  done
done

python3 - "$WORK" "$THREADS" <<'PY'
import json, os, statistics, struct, sys
work, threads = sys.argv[1], int(sys.argv[2])
bws = [json.loads(l)["read_gb_s"] for l in open(os.path.join(work, "membw.jsonl"))]
bw = max(bws)
rows = [json.loads(l) for l in open(os.path.join(work, "results.jsonl"))]

def weight_bytes(t):
    """bytes decode reads per token: every tensor of model.bin but the embedding table (one row)"""
    with open(os.path.join(work, t, "cpu", "model.bin"), "rb") as f:
        data = f.read(1 << 20)
    n = struct.unpack_from("<I", data, 36)[0]
    total = 0
    for i in range(n):
        o = 128 + 128 * i
        slot = struct.unpack_from("<I", data, o + 80)[0]
        nbytes = struct.unpack_from("<Q", data, o + 120)[0]
        if slot != 0:
            total += nbytes
    return total

# mean KV cache read per decode step: 12 layers x (K, V) x 4 heads x 64 x 4 bytes x mean length
kv = 12 * 2 * 4 * 64 * 4 * (128 + 64)
print(f"\nprefill 128 tokens, decode 128 tokens, {threads} threads, median of {max(r['round'] for r in rows)} rounds (each the best of 3)")
print(f"{'type':5} {'program':10} {'prefill tok/s':>14} {'decode tok/s':>13} {'prefill ratio':>14} {'decode ratio':>13} {'decode bound tok/s':>19}")
for t, label in (("f32", "F32"), ("q8", "Q8_0"), ("q4", "Q4_0")):
    wb = weight_bytes(t)
    bound = bw * 1e9 / (wb + kv)
    med = {}
    for prog in ("llama.cpp", "llmc"):
        rs = [r["r"] for r in rows if r["type"] == t and r["prog"] == prog]
        if rs:
            med[prog] = (statistics.median(r["prefill_tok_s"] for r in rs), statistics.median(r["decode_tok_s"] for r in rs))
    for prog in ("llama.cpp", "llmc"):
        if prog not in med:
            continue
        p, d = med[prog]
        ratio = ""
        if prog == "llmc" and "llama.cpp" in med:
            ratio = f"{p / med['llama.cpp'][0]:14.2f}x {d / med['llama.cpp'][1]:12.2f}x"
        else:
            ratio = f"{'':15} {'':13}"
        name = "llmc-run" if prog == "llmc" else prog
        print(f"{label:5} {name:10} {p:14.1f} {d:13.1f} {ratio} {bound:19.1f}")
    print(f"      {'':10} bytes/token {(wb + kv) / 1e6:.1f} MB (weights {wb / 1e6:.1f} MB + KV {kv / 1e6:.1f} MB); "
          f"llmc-run decode at {100 * med['llmc'][1] / bound:.0f}% of the bound")
print(f"read bandwidth: {bw:.1f} GB/s, the best of {len(bws)} measurements ({', '.join(f'{b:.1f}' for b in bws)}; "
      f"{threads} threads, bench/cpu_runtime/membw.c)")
PY
