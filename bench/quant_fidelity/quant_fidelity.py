#!/usr/bin/env python3
"""bench/quant_fidelity: how far each quantized type moves a model's next-token distribution from
its own float32 one, for llmc-run and for llama.cpp on the same GGUF files — the numbers
`llama-perplexity --kl-divergence` reports (mean and 99th-percentile KL divergence, top-1 agreement).

    quant_fidelity.py BUILD_DIR [--types q8_0,q6_k,q5_k_m,q4_k_m,q5_k,q4_k,q4_0] [--llama-types T,...]
                      [--positions 4096] [--threads N] [--size bench|test] [--json FILE]

1. English text assembled at run time from installed Debian packages (tests/corpus/make_corpus.py;
   the same corpus directory and parameters as tests/python/test_text_e2e.py, so one build makes it
   once);
2. a small llama-style model (RMSNorm, SwiGLU, RoPE, GQA; every matrix row a multiple of 256 so
   the K-quant types apply to every tensor) with a byte-level BPE tokenizer trained on that text;
   its weights are llmc's seeded initialisation at std 0.08, so that the next-token distributions
   are peaked (logits spread over several nats) rather than the near-uniform ones std 0.02 gives.
   (Not a trained model: training one with the emitted train.py took longer than this shared
   2-core machine allowed; see docs/benchmarks.md.)
3. `llmc compile` of that spec once per type (f32 and every --types type, the same seed),
   --emit gguf,cpu: llmc-run and llama.cpp read the same quantized weights (the K-quant mixes
   included: llmc's GGUF is byte-identical to llama.cpp's quantizer's, test_kquant). --llama-types
   (none by default) are made by llama.cpp's own quantizer (llama_logits quantize =
   llama_model_quantize, no importance matrix) from the F32 GGUF and run by llama.cpp only;
4. the held-out text tokenized (`llmc tokenize`), cut into windows of the context length, and the
   logits of every position of every window from llmc-run (--dump-logits) and from llama.cpp
   (tests/oracle/llama_logits logits: libllama, F32 KV cache, no flash attention) on each GGUF;
5. per program and type: KL(P_f32 || P_type) of every position in float64 against the same
   program's F32 logits, its mean and 99th percentile, and the share of positions whose argmax
   agrees with F32's (llama-perplexity's "Same top p").

llama-perplexity scores only the second half of each window; here every position counts (the first
positions of a window see less context, which makes them no easier to quantize). Prints the load
average before and after (the numbers are exact computations, not timings, but the brief asks every
benchmark for it) and a table with the ratio llmc-run / llama.cpp of the mean KL.
tests/python/test_quant_fidelity.py runs this at --size test and asserts bounds."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))

SIZES = {
    # dims, vocab, context, training steps, sequence length, batch
    "bench": dict(layers=4, hidden=256, inter=768, heads=4, kv=2, vocab=2048, ctx=256, std=0.08),
    "test": dict(layers=2, hidden=256, inter=512, heads=4, kv=2, vocab=512, ctx=128, std=0.08),
}

SPEC = """name: fidelity-{size}
template: decoder_only
vocab_size: {vocab}
context_length: {ctx}
dims: {{num_layers: {layers}, hidden_size: {hidden}, intermediate_size: {inter}, num_heads: {heads}, num_kv_heads: {kv}}}
attention: gqa
norm: rmsnorm
activation: swiglu
positional_encoding: rope
tie_word_embeddings: false
precision: float32
weights: {{seed: 11, std: {std}}}
tokenizer: {{type: bpe, vocab_size: {vocab}, special_tokens: {{eos: "<|endoftext|>"}}}}
dataset: {{paths: [{train}]}}
{quantize}"""

EOS = "<|endoftext|>"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, env=None):
    r = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n"
                           f"{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def corpus(build):
    """the corpus test_text_e2e.py builds (same directory, same parameters: made once per build)"""
    d = os.path.join(build, "test-corpus", "text-e2e")
    if not os.path.exists(os.path.join(d, "train.txt")):
        run([sys.executable, os.path.join(SRC, "tests", "corpus", "make_corpus.py"), "-o", d,
             "--train-mb", "1", "--heldout-kb", "64", "--langs", "en"])
    return d


def head_of(path, n_bytes, out):
    """the first n_bytes of a file, cut at the last whole line"""
    with open(path, "rb") as f:
        data = f.read(n_bytes)
    with open(out, "wb") as f:
        f.write(data[:data.rfind(b"\n") + 1])
    return out


def write_spec(work, size, train, quantize):
    path = os.path.join(work, f"{quantize or 'f32'}.yaml")
    with open(path, "w") as f:
        f.write(SPEC.format(size=size, train=train, quantize=f"quantize: {quantize}\n" if quantize else "",
                            **SIZES[size]))
    return path


def training_text(corpus_dir, work):
    """the first 400 kB of train.txt (the tokenizer's training text) and the held-out file"""
    train = head_of(os.path.join(corpus_dir, "train.txt"), 400_000, os.path.join(work, "train.txt"))
    return train, os.path.join(corpus_dir, "heldout.txt")


def compile_type(llmc, work, size, train, quantize, threads, runtime=True):
    spec = write_spec(work, size, train, quantize)
    out = os.path.join(work, quantize or "f32")
    run([llmc, "compile", spec, "-o", out, "--force", "--emit", "gguf,cpu" if runtime else "gguf",
         "--threads", str(threads)])
    if runtime:
        run(["make", "-s", f"-j{threads}", "-C", os.path.join(out, "cpu")])
    ggufs = [f for f in os.listdir(os.path.join(out, "gguf")) if f.endswith(".gguf")]
    assert len(ggufs) == 1, f"expected one .gguf in {out}/gguf, found {ggufs}"
    return os.path.join(out, "cpu", "llmc-run"), os.path.join(out, "gguf", ggufs[0])


def windows_of(llmc, work, held, ctx, positions):
    """the held-out text's token ids (eos before every line, as in training), in windows of ctx"""
    first = os.path.join(work, "f32")
    tokens = os.path.join(work, "heldout.bin")
    run([llmc, "tokenize", os.path.join(first, "tokenizer"), "--corpus", held, "-o", tokens, "--separator", EOS])
    ids = np.fromfile(tokens, dtype=np.uint16).astype(np.int64)
    n_windows = -(-positions // ctx)
    if len(ids) < n_windows * ctx:
        raise RuntimeError(f"the held-out text has {len(ids)} tokens, fewer than {n_windows} windows of {ctx}")
    return [ids[i * ctx:(i + 1) * ctx] for i in range(n_windows)]


def logits_llmc(runner, windows, vocab, work, threads):
    rows = []
    path = os.path.join(work, "llmc_logits.f32")
    for w in windows:
        run([runner, "--prompt-ids", ",".join(map(str, w)), "-n", "0", "--dump-logits", path,
             "--threads", str(threads)])
        rows.append(np.fromfile(path, dtype=np.float32).reshape(len(w), -1)[:, :vocab])
    return np.concatenate(rows)


def logits_llama(oracle, gguf, windows, vocab, work, threads):
    rows = []
    path = os.path.join(work, "llama_logits.f32")
    for w in windows:
        run([oracle, "logits", gguf, "--tokens", ",".join(map(str, w)), "--out", path, "--threads", str(threads)])
        rows.append(np.fromfile(path, dtype=np.float32).reshape(len(w), -1)[:, :vocab])
    return np.concatenate(rows)


def log_softmax(x):
    x = x.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def fidelity(base, quant):
    """KL(P_base || P_quant) per position: mean, 99th percentile, max; top-1 agreement"""
    lp, lq = log_softmax(base), log_softmax(quant)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
    kl = np.maximum(kl, 0.0)  # float64 rounding can leave -1e-17 where the rows agree
    same = float((base.argmax(axis=1) == quant.argmax(axis=1)).mean())
    return dict(kl_mean=float(kl.mean()), kl_p99=float(np.percentile(kl, 99)), kl_max=float(kl.max()),
                top1=same, positions=int(len(kl)))


def measure(build, types, llama_types, positions, size, threads, work, llmc_f32=True):
    """llmc_f32=False (the ctest's shortcut: one C build less): llmc-run's quantized logits are
    compared with llama.cpp's F32 logits, which equal llmc-run's F32 ones to float32 rounding"""
    llmc = os.path.join(build, "llmc")
    oracle = os.path.join(build, "tests", "llama_logits")
    have_oracle = os.access(oracle, os.X_OK)
    if not have_oracle:
        log(f"quant_fidelity: {oracle} not built (scripts/setup-oracles.sh, then re-run cmake): llama.cpp skipped")
    s = SIZES[size]
    corpus_dir = corpus(build)
    train, held = training_text(corpus_dir, work)
    result = dict(size=size, dims=s, types={})
    base = {}
    windows = None
    for t in ["f32"] + types:
        log(f"quant_fidelity: {t}")
        with_runtime = t != "f32" or llmc_f32 or not have_oracle
        runner, gguf = compile_type(llmc, work, size, train, None if t == "f32" else t, threads, with_runtime)
        if windows is None:
            windows = windows_of(llmc, work, held, s["ctx"], positions)
            result["positions"] = sum(len(w) for w in windows)
        got = {"llmc-run": logits_llmc(runner, windows, s["vocab"], work, threads)} if with_runtime else {}
        if have_oracle:
            got["llama.cpp"] = logits_llama(oracle, gguf, windows, s["vocab"], work, threads)
        if t == "f32":
            base = got
            f32_gguf = gguf
            if not with_runtime:
                base["llmc-run"] = got["llama.cpp"]
            elif have_oracle:
                result["f32_llmc_vs_llama"] = fidelity(got["llama.cpp"], got["llmc-run"])
            continue
        result["types"][t] = {prog: fidelity(base[prog], got[prog]) for prog in got}
        result["types"][t]["gguf_bytes"] = os.path.getsize(gguf)
    if have_oracle:
        for t in llama_types:
            log(f"quant_fidelity: {t} (llama.cpp's quantizer)")
            gguf = os.path.join(work, f"llama-{t}.gguf")
            run([oracle, "quantize", f32_gguf, gguf, t, "--threads", str(threads)])
            got = logits_llama(oracle, gguf, windows, s["vocab"], work, threads)
            result["types"][t] = {"llama.cpp": fidelity(base["llama.cpp"], got), "gguf_bytes": os.path.getsize(gguf)}
    return result


def print_table(result, load_before, load_after):
    print(f"model: {result['size']} {result['dims']}")
    print(f"positions: {result['positions']} (held-out text, windows of {result['dims']['ctx']})")
    if "f32_llmc_vs_llama" in result:
        f = result["f32_llmc_vs_llama"]
        print(f"F32 llmc-run vs llama.cpp: KL mean {f['kl_mean']:.2e}, top-1 {100 * f['top1']:.2f}%")
    print(f"{'type':7} {'program':10} {'MB':>6} {'KL mean':>10} {'KL p99':>10} {'KL max':>10} {'top-1':>8} {'KL mean ratio':>14}")
    for t, r in result["types"].items():
        for prog in ("llama.cpp", "llmc-run"):
            if prog not in r:
                continue
            f = r[prog]
            ratio = ""
            if prog == "llmc-run" and "llama.cpp" in r and r["llama.cpp"]["kl_mean"] > 0:
                ratio = f"{f['kl_mean'] / r['llama.cpp']['kl_mean']:13.3f}x"
            print(f"{t.upper():7} {prog:10} {r['gguf_bytes'] / 1e6:6.2f} {f['kl_mean']:10.3e} {f['kl_p99']:10.3e} {f['kl_max']:10.3e} "
                  f"{100 * f['top1']:7.2f}% {ratio}")
    print(f"load average: before {load_before}, after {load_after} ({os.cpu_count()} CPUs)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--types", default="q8_0,q6_k,q5_k_m,q4_k_m,q5_k,q4_k,q4_0")
    ap.add_argument("--llama-types", default="")
    ap.add_argument("--positions", type=int, default=4096)
    ap.add_argument("--size", choices=sorted(SIZES), default="bench")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", help="also write the results as JSON here")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    print(f"machine: {os.cpu_count()} CPUs; load average {loadavg()}")
    before = loadavg()
    with tempfile.TemporaryDirectory(prefix="llmc-bench-fidelity-") as work:
        result = measure(build, [t for t in a.types.split(",") if t], [t for t in a.llama_types.split(",") if t],
                         a.positions, a.size, a.threads, work)
    print_table(result, before, loadavg())
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
