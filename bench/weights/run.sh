#!/usr/bin/env bash
# bench/weights: weight emission throughput of llmc vs torch 1.13 vs dd, in one run.
#
#   bench/weights/run.sh [BUILD_DIR] [WORK_DIR] [REPEAT]
#
# BUILD_DIR  the llmc build (default: build); WORK_DIR where files are written (default: a
# new directory under $TMPDIR or /tmp; it must be on the file system you want to measure);
# REPEAT     runs of each measurement (default 3; the best run counts).
#
# The model is bench-1b.yaml (1.1B parameters, bf16: 2.2 GB). For each repetition, after
# `sync` and with the previous file removed:
#   dd     dd if=/dev/zero bs=4M of the same size          (the file system's sequential write)
#   torch  torch.empty(n).normal_(0, std) per parameter, to bf16, bytes written (torch_init.py)
#   llmc   llmc compile bench-1b.yaml --emit safetensors   (whole compile, wall clock)
# All three write to the page cache the same way (no fsync), so the ratios compare like with
# like. Throughput = bytes written / seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-build}" && pwd)"
work="${2:-$(mktemp -d "${TMPDIR:-/tmp}/llmc-bench-weights-XXXXXX")}"
repeat="${3:-3}"
python="${PYTHON:-/usr/bin/python3}"
llmc="$build/llmc"
spec="$here/bench-1b.yaml"
mkdir -p "$work"
trap 'rm -rf "$work/dd.bin" "$work/torch.bin" "$work/out" "$work/ir"' EXIT

now() { date +%s.%N; }
secs() { "$python" -c "print(f'{$2 - $1:.3f}')"; }

# the parameter list for torch (and the byte count) from llmc's own IR
"$llmc" compile "$spec" -o "$work/ir" --emit safetensors --force >/dev/null
bytes=$(stat -c %s "$work/ir/safetensors/model.safetensors")
cp "$work/ir/ir.json" "$work/ir.json"
rm -rf "$work/ir"
sync

best_dd=; best_torch=; best_llmc=
better() { [ -z "$1" ] || "$python" -c "import sys; sys.exit(0 if $2 < $1 else 1)"; }
for ((i = 1; i <= repeat; i++)); do
  rm -f "$work/dd.bin"; sync
  t0=$(now); dd if=/dev/zero of="$work/dd.bin" bs=4M count=$(( (bytes + 4194303) / 4194304 )) status=none; t1=$(now)
  s=$(secs "$t0" "$t1"); better "$best_dd" "$s" && best_dd=$s
  rm -f "$work/dd.bin"; sync

  t=$("$python" "$here/torch_init.py" "$work/ir.json" "$work/torch.bin" "$(nproc)" | cut -d' ' -f1)
  better "$best_torch" "$t" && best_torch=$t
  rm -f "$work/torch.bin"; sync

  t0=$(now); "$llmc" compile "$spec" -o "$work/out" --emit safetensors --force >/dev/null; t1=$(now)
  s=$(secs "$t0" "$t1"); better "$best_llmc" "$s" && best_llmc=$s
  rm -rf "$work/out"; sync
  echo "run $i: dd ${best_dd}s  torch ${best_torch}s  llmc ${best_llmc}s (best so far)"
done

"$python" - "$bytes" "$best_dd" "$best_torch" "$best_llmc" "$(nproc)" <<'PY'
import sys
b, dd, torch, llmc, cpus = int(sys.argv[1]), *map(float, sys.argv[2:5]), sys.argv[5]
g = lambda s: b / s / 1e9
print(f"\nbench/weights: {b / 1e9:.2f} GB (1.1B parameters, bf16), {cpus} CPUs, best of runs")
print(f"  {'dd (sequential write)':<26} {dd:7.2f} s  {g(dd):6.2f} GB/s")
print(f"  {'torch 1.13 normal_ + write':<26} {torch:7.2f} s  {g(torch):6.2f} GB/s")
print(f"  {'llmc compile (safetensors)':<26} {llmc:7.2f} s  {g(llmc):6.2f} GB/s")
print(f"  llmc / torch = {torch / llmc:.1f}x   (goal >= 5x)")
print(f"  llmc / dd    = {dd / llmc:.2f}    (goal >= 0.5: within 2x of dd)")
PY
