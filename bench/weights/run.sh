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
# like. Throughput = bytes written / seconds. A second table takes the file system out:
# torch and llmc's weight source (bench_weights_gen, all views as bf16) both write to /dev/null.
# The best run of each counts; the median is printed too (the machine may be shared).
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

gen="$build/bench_weights_gen"
threads=$(nproc)
# the parameter list for torch and bench_weights_gen from llmc's own IR
"$llmc" compile "$spec" -o "$work/ir" --emit none --force >/dev/null
cp "$work/ir/ir.json" "$work/ir.json"
rm -rf "$work/ir"
sync

dd_t=(); torch_t=(); llmc_t=(); torch0_t=(); gen_t=(); bytes=0
for ((i = 1; i <= repeat; i++)); do
  rm -f "$work/dd.bin"; sync
  t0=$(now); dd if=/dev/zero of="$work/dd.bin" bs=4M count=525 status=none; t1=$(now)
  dd_t+=("$(secs "$t0" "$t1")")
  rm -f "$work/dd.bin"; sync

  torch_t+=("$("$python" "$here/torch_init.py" "$work/ir.json" "$work/torch.bin" "$threads" | cut -d' ' -f1)")
  rm -f "$work/torch.bin"; sync

  t0=$(now); "$llmc" compile "$spec" -o "$work/out" --emit safetensors --force >/dev/null; t1=$(now)
  llmc_t+=("$(secs "$t0" "$t1")")
  bytes=$(stat -c %s "$work/out/safetensors/model.safetensors")
  rm -rf "$work/out"; sync

  torch0_t+=("$("$python" "$here/torch_init.py" "$work/ir.json" /dev/null "$threads" | cut -d' ' -f1)")
  gen_t+=("$("$gen" "$work/ir.json" "$threads" | cut -d' ' -f1)")
  echo "run $i: dd ${dd_t[-1]}s  torch ${torch_t[-1]}s  llmc ${llmc_t[-1]}s  |  /dev/null: torch ${torch0_t[-1]}s  llmc ${gen_t[-1]}s"
done

"$python" - "$bytes" "$threads" "${dd_t[*]}" "${torch_t[*]}" "${llmc_t[*]}" "${torch0_t[*]}" "${gen_t[*]}" <<'PY'
import statistics, sys
b, cpus = int(sys.argv[1]), sys.argv[2]
dd, torch, llmc, torch0, gen = ([float(x) for x in a.split()] for a in sys.argv[3:8])
ddb = 525 * 4 * 1024 * 1024  # dd writes 2.2 GB too
def row(name, ts, nbytes):
    best, med = min(ts), statistics.median(ts)
    print(f"  {name:<34} best {best:6.2f} s {nbytes / best / 1e9:5.2f} GB/s   median {med:6.2f} s {nbytes / med / 1e9:5.2f} GB/s")
    return best, med
print(f"\nbench/weights: {b / 1e9:.2f} GB (1.1B parameters, bf16), {cpus} threads, {len(dd)} runs")
print("to a file (page cache, no fsync):")
d = row("dd if=/dev/zero bs=4M", dd, ddb)
t = row("torch 1.13 normal_ + bf16 + write", torch, b)
l = row("llmc compile --emit safetensors", llmc, b)
print("to /dev/null (generation only):")
t0 = row("torch 1.13 normal_ + bf16", torch0, b)
g0 = row("llmc weight source (bf16)", gen, b)
print(f"  llmc / torch:  file {t[0] / l[0]:.1f}x best, {t[1] / l[1]:.1f}x median;  /dev/null {t0[0] / g0[0]:.1f}x best"
      "   (goal >= 5x)")
print(f"  llmc / dd:     {d[0] * b / ddb / l[0]:.2f} best, {d[1] * b / ddb / l[1]:.2f} median   (goal >= 0.5, within 2x)")
PY
