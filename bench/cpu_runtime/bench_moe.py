#!/usr/bin/env python3
"""bench/cpu_runtime: a sparse mixture of experts in the CPU runtime (llmc-run) against llama.cpp.

    bench_moe.py BUILD_DIR [--threads 1,2] [--rounds R] [--json FILE]
    (cmake --build build --target bench_moe)

A ~1.0B-total / ~0.33B-active llama-style MoE (16 layers, hidden 1024, 16 heads / 4 KV heads, every
MLP 8 SwiGLU experts of 2304, 2 routed per token with Mixtral's routing, vocab 32000, untied; init
weights seed 1) is compiled once at Q8_0 with --emit cpu,gguf, so llmc-run and llama.cpp (GGUF
arch `llama` with expert tensors) read the same weights. The timing machinery is
bench_cpu_runtime.py's: fresh processes, the best of 3 repetitions of a 128-token prefill then 128
greedy decode steps, llama.cpp with its persistent pool, the programs alternating, the load average
and the other work during every run recorded (UNDER LOAD over 0.2 of a core). Every round measures
every thread count.

The decode bound is the read bandwidth (membw.c, the same threads, the best over rounds) over the
bytes one decode step must read: every tensor of model.bin but the embedding table and the expert
stacks, one embedding row, k / E of each expert stack (the k routed experts' rows), and the mean KV
cache. The same with every expert read ("all experts") is printed as well: a decode faster than
that bound cannot be reading the experts it was not routed to.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cpu_runtime as bench  # noqa: E402  (the shared machinery)

SPEC = """name: bench-moe-1b
template: decoder_only
vocab_size: 32000
context_length: 1024
attention: gqa
dims: {num_layers: 16, hidden_size: 1024, num_heads: 16, num_kv_heads: 4, intermediate_size: 2304}
moe: {num_experts: 8, experts_per_token: 2, routing: softmax_topk, normalize_topk: true}
weights: {seed: 1}
quantize: q8_0
"""
PROMPT, GEN = 128, 128


def header_ints(path, pattern):
    """integer #defines of a generated header whose names match pattern"""
    with open(path) as f:
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"#define\s+(" + pattern + r")\s+\(?(-?\d+)", f.read())}


def slot_numbers(format_h):
    """SLOT_* -> its value, from the enum of the llmc_format.h written with the model"""
    with open(format_h) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    body = re.search(r"enum\s*{\s*(SLOT_EMBED[^}]*)}", text).group(1)
    slots, v = {}, -1
    for item in (x.strip() for x in body.split(",")):
        if not item:
            continue
        name, _, val = item.partition("=")
        v = int(val) if val.strip() else v + 1
        slots[name.strip()] = v
    return slots


def decode_bytes(cpu_dir, n_ctx_mean):
    """(active bytes, all-experts bytes, KV bytes) one decode step reads"""
    cfg = header_ints(os.path.join(cpu_dir, "model_config.h"),
                      r"N_EXPERTS|N_EXPERTS_USED|N_LAYERS|N_KV_HEADS|HEAD_DIM")
    slots = slot_numbers(os.path.join(cpu_dir, "llmc_format.h"))
    experts = {slots["SLOT_EXP_GATE_W"], slots["SLOT_EXP_UP_W"], slots["SLOT_EXP_DOWN_W"]}
    active = every = 0
    for r in bench.tensor_records(os.path.join(cpu_dir, "model.bin")):
        if r["slot"] == slots["SLOT_EMBED"]:
            b = r["nbytes"] // r["rows"]   # one row is gathered
            active, every = active + b, every + b
        elif r["slot"] in experts:
            # expert e's rows are whole panels [e * per, (e + 1) * per): k of E equal shares
            active += r["nbytes"] * cfg["N_EXPERTS_USED"] // cfg["N_EXPERTS"]
            every += r["nbytes"]
        else:
            active, every = active + r["nbytes"], every + r["nbytes"]
    kv = cfg["N_LAYERS"] * 2 * cfg["N_KV_HEADS"] * cfg["HEAD_DIM"] * 4 * n_ctx_mean   # f32 K and V
    return active, every, kv, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts, each measured every round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--keep", help="compile into this directory and keep it (default: a temporary one)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    llmc = os.path.join(build, "llmc")
    oracle = os.path.join(build, "tests", "llama_logits")
    threads = [int(t) for t in a.threads.split(",")]
    if not os.access(llmc, os.X_OK):
        sys.exit(f"bench_moe: {llmc} not built")
    if not os.access(oracle, os.X_OK):
        print(f"bench_moe: {oracle} not built (scripts/setup-oracles.sh, then re-run cmake): llama.cpp columns skipped",
              file=sys.stderr)
        oracle = None
    work = os.path.abspath(a.keep) if a.keep else tempfile.mkdtemp(prefix="llmc-bench-moe.")
    os.makedirs(work, exist_ok=True)
    try:
        membw = bench.machine(work)
        out = os.path.join(work, "moe")
        with open(out + ".yaml", "w") as f:
            f.write(SPEC)
        solve = subprocess.run([llmc, "solve", out + ".yaml"], check=True, stdout=subprocess.PIPE, text=True).stdout
        for line in solve.splitlines():
            if re.match(r"\s+total\s", line):
                print("llmc solve: total " + line.split()[-1])   # the table's row: per layer, then the model
            elif re.match(r"\s+active per token\s", line):
                print("llmc solve: " + " ".join(line.split()))
        if not bench.compile_model(llmc, SPEC, out, max(threads), "Q8_0 MoE"):
            sys.exit("bench_moe: the cpu emitter refused the MoE spec")
        run = os.path.join(out, "cpu", "llmc-run")
        gguf = os.path.join(out, "gguf", "model.gguf")
        print("llmc-run kernels: " + bench.kernels(run))
        active, every, kv, cfg = decode_bytes(os.path.join(out, "cpu"), PROMPT + GEN // 2)
        print(f"decode reads {(active + kv) / 1e6:.1f} MB per token: weights {active / 1e6:.1f} MB ({cfg['N_EXPERTS_USED']} of "
              f"{cfg['N_EXPERTS']} experts) + KV {kv / 1e6:.1f} MB; every expert: {(every + kv) / 1e6:.1f} MB", flush=True)

        runs, rounds = [], []
        for rnd in range(1, a.rounds + 1):
            load1 = bench.load_average()
            for t in threads:
                bw = bench.read_bandwidth(membw, t)
                worst = 0.0
                progs = bench.bench_commands(oracle, gguf, run, t, PROMPT, GEN)
                if rnd % 2 == 0:
                    progs.reverse()  # alternate who goes first
                for prog, cmd in progs:
                    r = bench.run_timed(cmd)
                    worst = max(worst, r["other_cores"])
                    runs.append({"round": rnd, "threads": t, "prog": prog, "r": r})
                rounds.append({"round": rnd, "threads": t, "load1": load1, "read_gb_s": bw, "other_cores_max": worst,
                               "under_load": worst > bench.CONTENDED})
                got = {x["prog"]: x["r"] for x in runs if x["round"] == rnd and x["threads"] == t}
                desc = ", ".join(f"{p} {g['prefill_tok_s']:.0f} / {g['decode_tok_s']:.1f}" for p, g in got.items())
                print(f"round {rnd}, {t} thread(s): load average {load1:.2f}, read bandwidth {bw:.1f} GB/s, other work "
                      f"up to {worst:.2f} cores{' - UNDER LOAD' if worst > bench.CONTENDED else ''}; prefill / decode "
                      f"tok/s: {desc}", flush=True)

        print(f"\nprefill {PROMPT} tokens, decode {GEN} tokens; warm = best of 3 in a process; per thread count the "
              "median over the quiet rounds (all rounds when none was quiet), and the best round")
        for t in threads:
            rs = [x for x in rounds if x["threads"] == t]
            quiet = [x["round"] for x in rs if not x["under_load"]]
            use = quiet if quiet else [x["round"] for x in rs]
            bw = max(x["read_gb_s"] for x in rs)
            bound, bound_all = bw * 1e9 / (active + kv), bw * 1e9 / (every + kv)
            note = (f"median of {len(use)} quiet round(s) {use}" if quiet else
                    f"median of all {len(use)} rounds, EVERY ROUND UNDER LOAD")
            bws = ", ".join(f"{x['read_gb_s']:.1f}" for x in rs)
            loads = ", ".join(f"{x['load1']:.2f}" for x in rs)
            print(f"\n{t} thread(s), read bandwidth {bw:.1f} GB/s (best of {bws}), {note}; load averages {loads}")
            print(f"decode bound {bound:.1f} tok/s from the active bytes ({bound_all:.1f} if every expert were read)")
            print(f"{'':9} {'program':10} {'prefill':>9} {'decode':>8} {'prefill x':>10} {'decode x':>9} {'of bound':>9}")

            def pick(prog, key, agg):
                xs = [x["r"][key] for x in runs if x["threads"] == t and x["prog"] == prog and
                      (agg is max or x["round"] in use)]
                return agg(xs) if xs else None

            for label, agg in (("median", statistics.median), ("best", max)):
                for prog in ("llama.cpp", "llmc-run"):
                    p, d = pick(prog, "prefill_tok_s", agg), pick(prog, "decode_tok_s", agg)
                    if p is None:
                        continue
                    lp, ld = pick("llama.cpp", "prefill_tok_s", agg), pick("llama.cpp", "decode_tok_s", agg)
                    ratio = f"{p / lp:9.2f}x {d / ld:8.2f}x" if prog == "llmc-run" and lp else f"{'':10} {'':9}"
                    print(f"{label:9} {prog:10} {p:9.1f} {d:8.1f} {ratio} {100 * d / bound:8.0f}%")
            d = pick("llmc-run", "decode_tok_s", statistics.median)
            if d:
                print(f"llmc-run's median decode is {d / bound_all:.2f}x the every-expert bound: "
                      + ("it cannot be reading the experts it was not routed to" if d > bound_all else
                         "NOT above it (this run does not show that only the routed experts are read)"))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"threads": threads, "rounds": rounds, "runs": runs, "active_bytes": active,
                           "all_expert_bytes": every, "kv_bytes": kv}, f, indent=1)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
