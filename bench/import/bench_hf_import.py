#!/usr/bin/env python3
"""bench/import: a ~1.1B-parameter bf16 Hugging Face checkpoint converted by `llmc import --compile`
to GGUF Q8_0, GGUF bf16 and the CPU runtime's Q8_0 model.bin, against `dd` moving the same bytes
in the same run (issue 21, point 4).

    bench_hf_import.py BUILD_DIR [--rounds R] [--threads T] [--layers L]

The checkpoint is TinyLlama-1.1B's shape (22 layers, hidden 2048, 32 heads / 4 KV heads, SwiGLU
5632, vocab 32000, untied), written by llmc's safetensors emitter in bf16 with its config.json:
a Hugging Face model folder (2.2 GB). It is read once before the rounds, so every run finds it in the
page cache (this shared machine cannot drop caches for one benchmark); each run writes its output
and fsyncs it, as llmc's atomic output does. The peer is `dd if=CHECKPOINT of=FILE bs=8M
conv=fsync`: reading the checkpoint and writing as many bytes as it holds, the disk-speed floor for
a conversion that reads every byte once and writes every byte once. A conversion writes fewer
bytes than it reads when it quantizes (Q8_0 is ~53% of bf16), so the ratio "llmc / dd" is
conservative for those. Memory is sampled every 10 ms from /proc/PID/status: the peak anonymous
memory (what the conversion allocates: it should stay at a few chunks, not the model) and the peak
file-backed resident memory (the mapped checkpoint's pages while they are read: page cache). The 1-minute load average is printed per round; rounds
where it exceeds the CPU count are marked UNDER LOAD.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SPEC = """name: bench-hf-1b
template: decoder_only
vocab_size: 32000
context_length: 2048
dims: {{num_layers: {layers}, hidden_size: 2048, intermediate_size: 5632, num_heads: 32, num_kv_heads: 4}}
attention: gqa
precision: bfloat16
weights: {{seed: 1}}
"""


def timed(cmd):
    """wall seconds, peak anonymous memory and peak file-backed resident memory (MiB) of cmd: the
    checkpoint is memory-mapped, and its pages count in the resident set while they are read
    (page cache the kernel reclaims at will), so the bound that matters is the anonymous part"""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    anon = filemap = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        anon = max(anon, int(line.split()[1]))
                    elif line.startswith("RssFile:"):
                        filemap = max(filemap, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.01)
    wall = time.monotonic() - t0
    err = p.stderr.read()
    if p.returncode != 0:
        sys.exit(f"bench_hf_import: {' '.join(cmd)} failed:\n{err}")
    return wall, anon / 1024, filemap / 1024


def tree_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--layers", type=int, default=22)
    a = ap.parse_args()
    llmc = os.path.join(os.path.abspath(a.build), "llmc")
    work = tempfile.mkdtemp(prefix="llmc-bench-hf-import.")
    try:
        spec = os.path.join(work, "spec.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(layers=a.layers))
        subprocess.run([llmc, "compile", spec, "-o", os.path.join(work, "src"), "--emit", "safetensors",
                        "--threads", str(a.threads)], check=True, stdout=subprocess.DEVNULL)
        folder = os.path.join(work, "src", "safetensors")
        ckpt = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".safetensors")]
        size = sum(os.path.getsize(p) for p in ckpt)
        for p in ckpt:  # into the page cache, for every run alike
            with open(p, "rb") as f:
                while f.read(1 << 24):
                    pass
        print(f"checkpoint: {size / 1e9:.2f} GB bf16 in {len(ckpt)} file(s), {a.threads} threads; "
              f"{os.cpu_count()} CPUs ({open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()})")
        jobs = {
            "gguf q8_0": ["--emit", "gguf", "--quantize", "q8_0"],
            "gguf bf16": ["--emit", "gguf"],
            "cpu q8_0": ["--emit", "cpu", "--quantize", "q8_0"],
        }
        res = {k: [] for k in list(jobs) + ["dd"]}
        out_bytes = {}
        loads = []
        for rnd in range(1, a.rounds + 1):
            with open("/proc/loadavg") as f:
                load = float(f.read().split()[0])
            loads.append(load)
            for name, extra in jobs.items():
                out = os.path.join(work, "out")
                shutil.rmtree(out, ignore_errors=True)
                w, anon, fmap = timed([llmc, "import", folder, "--compile", "-o", out, "--threads", str(a.threads)] + extra)
                out_bytes[name] = tree_bytes(out)
                res[name].append((w, anon, fmap))
                shutil.rmtree(out, ignore_errors=True)
            dd_out = os.path.join(work, "dd.out")
            total = 0.0
            for p in ckpt:
                w, anon, fmap = timed(["dd", f"if={p}", f"of={dd_out}", "bs=8M", "conv=fsync", "status=none"])
                total += w
                os.remove(dd_out)
            res["dd"].append((total, anon, fmap))
            print(f"round {rnd}: load average {load:.2f}{' - UNDER LOAD' if load > os.cpu_count() else ''}", flush=True)
        dd = statistics.median(x[0] for x in res["dd"])
        print(f"\nmedian of {a.rounds} rounds (load averages {', '.join(f'{x:.1f}' for x in loads)})")
        print(f"{'conversion':12} {'wall s':>7} {'in GB/s':>8} {'out GB':>7} {'vs dd':>6} {'anon MiB':>9} {'mapped MiB':>11}")
        for name in list(jobs) + ["dd"]:
            w = statistics.median(x[0] for x in res[name])
            anon = max(x[1] for x in res[name])
            fmap = max(x[2] for x in res[name])
            ob = out_bytes.get(name, size)
            print(f"{name:12} {w:7.2f} {size / w / 1e9:8.2f} {ob / 1e9:7.2f} {w / dd:5.2f}x {anon:9.0f} {fmap:11.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
