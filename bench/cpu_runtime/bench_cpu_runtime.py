#!/usr/bin/env python3
"""bench/cpu_runtime: the CPU runtime (llmc-run) against llama.cpp on the same weights.

    bench_cpu_runtime.py BUILD_DIR [--threads T] [--rounds R] [--types f32,q8_0,...] [--json FILE]
    (cmake --build build --target bench_cpu_runtime)

A ~112M-parameter llama-style model (12 layers, hidden 768, 12 heads / 4 KV heads, SwiGLU 2048,
vocab 24000, untied) is compiled once per weight type with --emit cpu,gguf, so llmc-run and llama.cpp
(tests/oracle/llama_logits bench: node-llama-cpp's prebuilt libllama, F32 KV cache, no flash
attention, one persistent ggml thread pool attached as llama.cpp's own CLI does) read the same
weights. ROUNDS rounds (default 3) alternate the two programs; each run is a fresh process reporting
the best of 3 repetitions of a 128-token prefill then 128 greedy decode steps, the first repetition
alone (cold: a new process, its caches and pool not yet warm; the weights are in the page cache
after the compile), the time to load the weights, and the time to the first token counted from the
moment this script spawned the process (exec, loading, mapping, first prefill).

The decode bound is this machine's read bandwidth (bench/cpu_runtime/membw.c, the same threads,
measured every round, the best taken) over the bytes a decode step reads: every weight of model.bin
but the embedding table (one row is gathered), plus the mean KV cache.

The host is shared: the 1-minute load average is recorded before every round, and every run
measures what else used the CPUs while it ran (busy time of /proc/stat less this run's own CPU
time, plus the hypervisor's steal time). A round where that exceeds 0.2 of a core in any run is
marked "under load"; the table's medians use the quiet rounds when there are any, and say so.
llama.cpp's pool spins and waits for every thread, so a core taken away slows it more than
llmc-run: rounds under load inflate our ratio.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

TYPES = {  # spec value -> label
    "f32": "F32", "q8_0": "Q8_0", "q4_0": "Q4_0",
    "q6_k": "Q6_K", "q5_k_m": "Q5_K_M", "q4_k_m": "Q4_K_M",
}
SPEC = """name: bench-110m-{t}
template: decoder_only
vocab_size: 24000
context_length: 1024
attention: gqa
dims: {{num_layers: 12, hidden_size: 768, num_heads: 12, num_kv_heads: 4}}
weights: {{seed: 1}}
{quant}"""
PROMPT, GEN = 128, 128
CONTENDED = 0.2  # cores' worth of other work during a run that marks its round


def cpu_times():
    """(busy seconds of every CPU, steal seconds) from /proc/stat"""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq = v[:7]
    steal = v[7] if len(v) > 7 else 0
    return (user + nice + system + irq + softirq) / hz, steal / hz


def run_timed(cmd):
    """run cmd with the spawn time in its environment; its JSON line and the other load meanwhile"""
    busy0, steal0 = cpu_times()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ, LLMC_BENCH_SPAWN_NS=str(time.monotonic_ns()))
    t0 = time.monotonic()
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    wall = time.monotonic() - t0
    busy1, steal1 = cpu_times()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    other = max(0.0, (busy1 - busy0) - ours) + (steal1 - steal0)
    r = json.loads(out.strip().splitlines()[-1])
    r["other_cores"] = other / wall if wall > 0 else 0.0
    return r


def tensor_records(model_bin):
    """model.bin's tensor records (llmc_format.h's llmc_tensor_record): name, slot, rows, nbytes"""
    with open(model_bin, "rb") as f:
        data = f.read(1 << 20)
    n = struct.unpack_from("<I", data, 36)[0]
    recs = []
    for i in range(n):
        o = 128 + 128 * i
        recs.append({"name": data[o:o + 80].split(b"\0", 1)[0].decode(),
                     "slot": struct.unpack_from("<I", data, o + 80)[0],
                     "rows": struct.unpack_from("<Q", data, o + 96)[0],
                     "nbytes": struct.unpack_from("<Q", data, o + 120)[0]})
    return recs


def weight_bytes(model_bin):
    """bytes decode reads per token: every tensor of model.bin but the embedding table"""
    return sum(r["nbytes"] for r in tensor_records(model_bin) if r["slot"] != 0)


def machine(work):
    """print the machine and compiler; build membw in work and return its path"""
    here = os.path.dirname(os.path.abspath(__file__))
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1048576
    print(f"machine: {model}, {os.cpu_count()} CPUs, {mem:.0f} GiB, {os.uname().release}")
    cc = os.environ.get("CC", "cc")
    print("compiler: " + subprocess.run([cc, "--version"], stdout=subprocess.PIPE, text=True).stdout.splitlines()[0])
    membw = os.path.join(work, "membw")
    subprocess.run([cc, "-O3", "-march=native", "-pthread", "-o", membw, os.path.join(here, "membw.c")], check=True)
    return membw


def read_bandwidth(membw, threads):
    """this machine's read bandwidth in GB/s with this many threads (membw.c, 1 GiB)"""
    return json.loads(subprocess.run([membw, str(threads), "1024"], check=True, stdout=subprocess.PIPE,
                                     text=True).stdout)["read_gb_s"]


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def bench_commands(oracle, gguf, run, threads, prompt, gen):
    """(program, argv) of llama.cpp (when oracle) and llmc-run (when run) for one timed run each"""
    progs = []
    if oracle:
        progs.append(("llama.cpp", [oracle, "bench", gguf, "--prompt", str(prompt), "--gen", str(gen),
                                    "--threads", str(threads), "--reps", "3"]))
    if run:
        progs.append(("llmc-run", [run, "--bench", "--bench-prompt", str(prompt), "-n", str(gen),
                                   "--threads", str(threads), "--reps", "3"]))
    return progs


def compile_model(llmc, spec_text, out, threads, label):
    """compile the spec to OUT/cpu (built) and OUT/gguf; False (gguf only) when the cpu emitter refuses it"""
    spec = out + ".yaml"
    with open(spec, "w") as f:
        f.write(spec_text)
    r = subprocess.run([llmc, "compile", spec, "-o", out, "--emit", "cpu,gguf", "--force", "--threads", str(threads)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print(f"{label}: llmc-run skipped: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else 'compile failed'}")
        subprocess.run([llmc, "compile", spec, "-o", out, "--emit", "gguf", "--force"], check=True,
                       stdout=subprocess.DEVNULL)
        return False
    subprocess.run(["make", "-s", "-C", os.path.join(out, "cpu")], check=True)
    return True


def kernels(run):
    """the kernels line of llmc-run --info"""
    info = subprocess.run([run, "--info"], stdout=subprocess.PIPE, text=True).stdout
    return next((l.split(None, 1)[1] for l in info.splitlines() if l.startswith("kernels")), "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--types", default=",".join(TYPES))
    ap.add_argument("--json", help="also write every run's figures to this file")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    llmc = os.path.join(build, "llmc")
    oracle = os.path.join(build, "tests", "llama_logits")
    types = a.types.split(",")
    for t in types:
        if t not in TYPES:
            sys.exit(f"bench_cpu_runtime: unknown type '{t}' (expected one of {', '.join(TYPES)})")
    if not os.access(llmc, os.X_OK):
        sys.exit(f"bench_cpu_runtime: {llmc} not built")
    have_oracle = os.access(oracle, os.X_OK)
    if not have_oracle:
        print(f"bench_cpu_runtime: {oracle} not built (scripts/setup-oracles.sh, then re-run cmake): "
              "llama.cpp columns skipped", file=sys.stderr)
    work = tempfile.mkdtemp(prefix="llmc-bench-cpu.")
    try:
        membw = machine(work)

        have_cpu = {}
        for t in types:
            have_cpu[t] = compile_model(llmc, SPEC.format(t=t, quant="" if t == "f32" else f"quantize: {t}\n"),
                                        os.path.join(work, t), a.threads, TYPES[t])
        first = next((t for t in types if have_cpu[t]), None)
        if first:
            print("llmc-run kernels: " + kernels(os.path.join(work, first, "cpu", "llmc-run")))

        runs, bws, rounds = [], [], []
        for rnd in range(1, a.rounds + 1):
            load1 = load_average()
            bw = read_bandwidth(membw, a.threads)
            bws.append(bw)
            worst = 0.0
            for t in types:
                gguf = os.path.join(work, t, "gguf", "model.gguf")
                progs = bench_commands(oracle if have_oracle else None, gguf,
                                       os.path.join(work, t, "cpu", "llmc-run") if have_cpu[t] else None,
                                       a.threads, PROMPT, GEN)
                if rnd % 2 == 0:
                    progs.reverse()  # alternate who goes first
                for prog, cmd in progs:
                    r = run_timed(cmd)
                    worst = max(worst, r["other_cores"])
                    runs.append({"round": rnd, "type": t, "prog": prog, "r": r})
            rounds.append({"round": rnd, "load1": load1, "read_gb_s": bw, "other_cores_max": worst,
                           "under_load": worst > CONTENDED})
            print(f"round {rnd}: load average {load1:.2f}, read bandwidth {bw:.1f} GB/s, other work up to "
                  f"{worst:.2f} cores{' - UNDER LOAD' if worst > CONTENDED else ''}", flush=True)

        quiet = [x["round"] for x in rounds if not x["under_load"]]
        use = quiet if quiet else [x["round"] for x in rounds]
        bw = max(bws)
        kv = 12 * 2 * 4 * 64 * 4 * (PROMPT + GEN // 2)  # layers x (K,V) x kv heads x head_dim x f32 x mean length
        note = (f"median of the {len(use)} quiet round(s) {use}" if quiet else
                f"median of all {len(use)} rounds, EVERY ROUND UNDER LOAD (ratios inflated)")
        print(f"\nprefill {PROMPT} tokens, decode {GEN} tokens, {a.threads} threads, {note}; "
              "warm = best of 3 in a process, cold = its first run, ttft = spawn to first token")
        print(f"{'type':7} {'program':10} {'prefill':>9} {'decode':>8} {'cold pre':>9} {'cold dec':>9} "
              f"{'load ms':>8} {'ttft ms':>8} {'prefill x':>10} {'decode x':>9} {'bound':>7} {'of bound':>9}")

        def med(t, prog, key):
            xs = [x["r"][key] for x in runs if x["type"] == t and x["prog"] == prog and x["round"] in use]
            return statistics.median(xs) if xs else None

        for t in types:
            wb = weight_bytes(os.path.join(work, t, "cpu", "model.bin")) if have_cpu[t] else None
            bound = bw * 1e9 / (wb + kv) if wb else None
            for prog in ("llama.cpp", "llmc-run"):
                p = med(t, prog, "prefill_tok_s")
                if p is None:
                    continue
                d, cp, cd = med(t, prog, "decode_tok_s"), med(t, prog, "first_prefill_tok_s"), med(t, prog, "first_decode_tok_s")
                ld, tt = med(t, prog, "load_s"), med(t, prog, "ttft_s")
                ratio = ""
                if prog == "llmc-run" and med(t, "llama.cpp", "prefill_tok_s"):
                    ratio = f"{p / med(t, 'llama.cpp', 'prefill_tok_s'):9.2f}x {d / med(t, 'llama.cpp', 'decode_tok_s'):8.2f}x"
                else:
                    ratio = f"{'':10} {'':9}"
                b = f"{bound:7.1f} {100 * d / bound:8.0f}%" if bound else ""
                print(f"{TYPES[t]:7} {prog:10} {p:9.1f} {d:8.1f} {cp:9.1f} {cd:9.1f} {1e3 * ld:8.1f} {1e3 * tt:8.1f} {ratio} {b}")
            if wb:
                print(f"        bytes/token {(wb + kv) / 1e6:.1f} MB (weights {wb / 1e6:.1f} MB + KV {kv / 1e6:.1f} MB)")
        print(f"read bandwidth: {bw:.1f} GB/s, the best of {len(bws)} ({', '.join(f'{b:.1f}' for b in bws)}; "
              f"{a.threads} threads, bench/cpu_runtime/membw.c)")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"threads": a.threads, "rounds": rounds, "runs": runs, "read_gb_s": bws}, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
