#!/usr/bin/env python3
"""bench/tokenizer: llmc's tokenizer training and encoding against SentencePiece and HF tokenizers.

  bench_tokenizer.py BUILD_DIR [--mb 100] [--vocab 32000] [--threads N] [--peers-only]
                     [--growth 25,50] [--only train,quality,encode,growth,matched]

Corpus: tests/corpus/make_corpus.py --train-mb MB (English man pages and /usr/share/doc text plus
man pages in de/fr/ja/ru/zh from installed Debian packages; cached in BUILD_DIR/bench-corpus)
and 5 MB of disjoint held-out text. Peers, measured in the same run, same corpus, same threads:

  * training, vocab VOCAB: `llmc tokenizer train --type bpe --pre-tokenizer metaspace --option
    remove_extra_whitespaces=true --normalization nfkc` (spm_train's whitespace rule and NFKC) vs
    `spm_train --model_type=bpe`, `llmc ... --type unigram --option remove_extra_whitespaces=true
    --normalization nfkc` vs `spm_train --model_type=unigram` (both with byte fallback, spm's
    other settings at their defaults; each llmc job runs right after its peer), and byte-level BPE
    (`--pre-tokenizer gpt2`) vs the HF library's BpeTrainer (npm tokenizers@0.23.2 through
    tests/oracle/hf_tokenizers.js) at 30000, the largest vocabulary its Node binding can train
    (its default trainer; see the header of hf_tokenizers.js). Time is wall clock and CPU time
    (user + system) of the whole process, peak RSS, all from GNU time.
  * quality: bytes per token of the held-out text, each tokenizer through its own library.
    spm_train's default normalisation is nmt_nfkc (NFKC plus a few whitespace and control
    character rules), llmc's here NFKC; part `matched` (--only ...,matched) also trains spm_train
    with --normalization_rule_name=identity (bpe, unigram) against llmc without --normalization,
    and with identity and --remove_extra_whitespaces=false against llmc's default (lossless)
    metaspace BPE and unigram, so that the trainers are compared on the same normalised text.
  * encoding: MB/s on one thread, llmc vs HF, the same tokenizer.json files (HF's trained BPE and
    llmc's), the same held-out text. HF's time is measured inside node around encodeBatch calls
    (loading excluded); llmc's is the wall time of `llmc tokenize --corpus ... --threads 1`
    (loading and writing tokens.bin included), best of three. Both as wall time and as CPU time
    (user + system of the process): on a machine shared with other work the CPU figures are the
    ones to compare.
  * memory as the corpus grows: llmc's training at GROWTH MB prefixes and at MB, peak RSS.

Prints the tables, the ratios (llmc / peer) and `uptime` before and after; writes
BUILD_DIR/bench-tokenizer.json. --peers-only measures the peers alone (no llmc needed)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
HF_JS = os.path.join(SRC, "tests", "oracle", "hf_tokenizers.js")
SPM_PY = os.path.join(SRC, "tests", "oracle", "spm_tokenizer.py")
MAKE_CORPUS = os.path.join(SRC, "tests", "corpus", "make_corpus.py")
HF_MAX_VOCAB = 30000
META_SPM_WS = ["--type", "bpe", "--pre-tokenizer", "metaspace", "--option", "remove_extra_whitespaces=true",
               "--normalization", "nmt_nfkc"]
UNIGRAM_SPM_WS = ["--type", "unigram", "--option", "remove_extra_whitespaces=true", "--normalization", "nmt_nfkc"]


def log(msg=""):
    print(msg, flush=True)


def uptime():
    return subprocess.run(["uptime"], stdout=subprocess.PIPE, text=True).stdout.strip()


def timed(cmd, env=None):
    """Run cmd under GNU time: (wall seconds, peak RSS in MB, CPU seconds (user + system), stdout,
    stderr); raises on failure."""
    with tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False) as tf:
        tfile = tf.name
    try:
        r = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", tfile, *cmd], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=dict(os.environ, **(env or {})))
        with open(tfile) as f:
            last = f.read().strip().split("\n")[-1].split()
    finally:
        os.unlink(tfile)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr.decode(errors='replace')[-2000:]}")
    return float(last[0]), int(last[1]) / 1024, float(last[2]) + float(last[3]), r.stdout, r.stderr


def prefix_file(src, dst, size):
    """The first `size` bytes of src, cut back to a line boundary."""
    if os.path.exists(dst) and abs(os.path.getsize(dst) - size) < 10000:
        return dst
    with open(src, "rb") as f:
        data = f.read(size)
    with open(dst + ".tmp", "wb") as f:
        f.write(data[:data.rfind(b"\n") + 1])
    os.replace(dst + ".tmp", dst)
    return dst


def count_tokens_llmc(llmc, tok, text):
    r = subprocess.run([llmc, "tokenize", tok, "--file", text], stdout=subprocess.PIPE, check=True)
    return sum(len(ln.split(b",")) for ln in r.stdout.split(b"\n") if ln.strip())


def text_bytes(text):
    with open(text, "rb") as f:
        return sum(len(ln) for ln in f.read().split(b"\n"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--growth", default="25,50", help="smaller corpus sizes (MB) for the memory curve")
    ap.add_argument("--only", default="train,quality,encode,growth",
                    help="parts: train, quality, encode, growth, matched (spm_train with llmc's normalisation)")
    ap.add_argument("--peers-only", action="store_true", help="measure spm and HF only")
    args = ap.parse_args()
    llmc = os.environ.get("LLMC", os.path.join(args.build, "llmc"))
    parts = set(args.only.split(","))
    use_llmc = not args.peers_only
    if use_llmc and not os.access(llmc, os.X_OK):
        sys.exit(f"bench_tokenizer: {llmc} not found (build first, or --peers-only)")
    threads = str(args.threads)
    hf_vocab = min(args.vocab, HF_MAX_VOCAB)

    log(f"bench/tokenizer: {args.mb:g} MB corpus, vocab {args.vocab} (HF BPE: {hf_vocab}), {threads} threads")
    log(f"uptime before: {uptime()}")
    corpus_dir = os.path.join(args.build, "bench-corpus", f"tok{args.mb:g}")
    t0 = time.time()
    subprocess.run(["/usr/bin/python3", MAKE_CORPUS, "-o", corpus_dir, "--train-mb", str(args.mb),
                    "--heldout-kb", "5000"], check=True)
    train = os.path.join(corpus_dir, "train.txt")
    heldout = os.path.join(corpus_dir, "heldout.txt")
    log(f"corpus: {os.path.getsize(train) / 1e6:.1f} MB train, {os.path.getsize(heldout) / 1e6:.1f} MB held-out "
        f"({time.time() - t0:.0f} s to assemble or check)")
    work = tempfile.mkdtemp(prefix="llmc-bench-tok-")
    results = {"mb": args.mb, "vocab": args.vocab, "hf_vocab": hf_vocab, "threads": args.threads,
               "uptime_before": uptime(), "train": {}, "bytes_per_token": {}, "encode": {}, "growth": {}}
    held_bytes = text_bytes(heldout)

    def record_train(name, secs, rss, cpu):
        results["train"][name] = {"seconds": secs, "peak_rss_mb": rss, "cpu_seconds": cpu}
        log(f"  {name:<28} {secs:9.1f} s wall {cpu:9.1f} s CPU {rss:10.0f} MB")

    # ---- training ----------------------------------------------------------------------------
    jobs = []   # (name, command, env, output to evaluate)
    spm_common = ["--minloglevel=1", f"--num_threads={threads}", "--byte_fallback=true",
                  f"--vocab_size={args.vocab}"]
    for mt in ("bpe", "unigram"):
        prefix = os.path.join(work, f"spm_{mt}")
        jobs.append((f"spm_train {mt}", ["spm_train", f"--input={train}", f"--model_prefix={prefix}",
                                         f"--model_type={mt}", *spm_common], None, ("spm", prefix + ".model")))
    # matched normalisation: identity on both sides; llmc's default metaspace BPE keeps
    # every space (lossless); spm_train with the same normalisation isolates the trainers
    matched = [("spm_train bpe identity", "bpe", ["--normalization_rule_name=identity"]),
               ("spm_train bpe identity keep-spaces", "bpe",
                ["--normalization_rule_name=identity", "--remove_extra_whitespaces=false"]),
               ("spm_train unigram identity", "unigram", ["--normalization_rule_name=identity"]),
               ("spm_train unigram identity keep-spaces", "unigram",
                ["--normalization_rule_name=identity", "--remove_extra_whitespaces=false"])]
    if "matched" in parts:
        for name, mt, extra in matched:
            prefix = os.path.join(work, name.replace(" ", "_"))
            jobs.append((name, ["spm_train", f"--input={train}", f"--model_prefix={prefix}", f"--model_type={mt}",
                                *spm_common, *extra], None, ("spm", prefix + ".model")))
    hf_json = os.path.join(work, "hf_bpe_gpt2.json")
    jobs.append((f"HF BpeTrainer gpt2 {hf_vocab}", ["node", HF_JS, "train", "--type", "bpe", "--pre-tokenizer", "gpt2",
                                                 "--full-alphabet", "--vocab-size", str(hf_vocab), "--threads", threads,
                                                 "-o", hf_json, train], None, ("hf", hf_json)))
    if use_llmc:
        # spm's whitespace rule (runs of spaces collapsed, as spm_train's default) for the
        # comparison with spm_train; the default (lossless) metaspace BPE with the matched peers
        llmc_jobs = [("llmc bpe metaspace", META_SPM_WS, args.vocab),
                     ("llmc unigram", UNIGRAM_SPM_WS, args.vocab),
                     (f"llmc bpe gpt2 {hf_vocab}", ["--type", "bpe", "--pre-tokenizer", "gpt2"], hf_vocab)]
        if "matched" in parts:
            llmc_jobs.append(("llmc bpe metaspace keep-spaces", ["--type", "bpe", "--pre-tokenizer", "metaspace"],
                              args.vocab))
            llmc_jobs.append(("llmc unigram keep-spaces", ["--type", "unigram"], args.vocab))
            llmc_jobs.append(("llmc bpe metaspace identity", META_SPM_WS[:-2], args.vocab))
            llmc_jobs.append(("llmc unigram identity", UNIGRAM_SPM_WS[:-2], args.vocab))
        for name, targs, vocab in llmc_jobs:
            out = os.path.join(work, name.replace(" ", "_"))
            jobs.append((name, [llmc, "tokenizer", "train", *targs, "--vocab-size", str(vocab), "--threads", threads,
                                "-o", out, train], None, ("llmc", out)))
    # each llmc job right after its peer, so that a run cut short still holds whole pairs
    order = ["spm_train bpe", "llmc bpe metaspace", "spm_train unigram", "llmc unigram",
             f"HF BpeTrainer gpt2 {hf_vocab}", f"llmc bpe gpt2 {hf_vocab}"]
    jobs.sort(key=lambda j: order.index(j[0]) if j[0] in order else len(order))
    outputs = {}
    if parts & {"train", "quality", "encode", "matched"}:
        log("\ntraining (wall time, peak RSS):")
        for name, cmd, env, out in jobs:
            try:
                secs, rss, cpu, _, _ = timed(cmd, env)
            except RuntimeError as e:
                log(f"  {name:<28} FAILED: {e}")
                results.setdefault("failed", {})[name] = str(e)
                continue
            record_train(name, secs, rss, cpu)
            outputs[name] = out

    def ratio(a, b, what):
        if a in results["train"] and b in results["train"]:
            ta, tb = results["train"][a], results["train"][b]
            x = ta["seconds"] / tb["seconds"]
            c = ta["cpu_seconds"] / tb["cpu_seconds"]
            m = ta["peak_rss_mb"] / tb["peak_rss_mb"]
            results.setdefault("ratios", {})[what] = {"wall": x, "cpu": c, "peak_rss": m}
            log(f"  {what:<34} wall {x:6.2f}x   CPU {c:6.2f}x   peak RSS {m:6.2f}x   (< 1: llmc faster / smaller)")
    log("\ntraining ratios (llmc / peer):")
    ratio("llmc bpe metaspace", "spm_train bpe", "bpe: llmc / spm_train")
    ratio("llmc unigram", "spm_train unigram", "unigram: llmc / spm_train")
    ratio(f"llmc bpe gpt2 {hf_vocab}", f"HF BpeTrainer gpt2 {hf_vocab}", "byte-level bpe: llmc / HF")

    # ---- quality: bytes per token on held-out text ----------------------------------------------
    def bytes_per_token(kind, path):
        if kind == "spm":
            r = subprocess.run(["/usr/bin/python3", SPM_PY, "count", path, heldout], stdout=subprocess.PIPE, check=True)
            return json.loads(r.stdout)["bytes_per_token"]
        if kind == "hf":
            r = subprocess.run(["node", HF_JS, "count", path, heldout], stdout=subprocess.PIPE, check=True)
            return json.loads(r.stdout)["bytes_per_token"]
        return held_bytes / count_tokens_llmc(llmc, path, heldout)

    if "quality" in parts:
        log(f"\nbytes per token on {held_bytes / 1e6:.1f} MB of held-out text (higher is better):")
        bpt = results["bytes_per_token"]
        for name, (kind, path) in outputs.items():
            try:
                bpt[name] = bytes_per_token(kind, path)
            except (subprocess.CalledProcessError, ValueError, ZeroDivisionError) as e:
                log(f"  {name:<28} FAILED: {e}")
                continue
            log(f"  {name:<28} {bpt[name]:7.4f}")
        for a, b in (("llmc bpe metaspace", "spm_train bpe"), ("llmc unigram", "spm_train unigram"),
                     (f"llmc bpe gpt2 {hf_vocab}", f"HF BpeTrainer gpt2 {hf_vocab}"),
                     ("llmc bpe metaspace identity", "spm_train bpe identity"),
                     ("llmc bpe metaspace keep-spaces", "spm_train bpe identity keep-spaces"),
                     ("llmc unigram identity", "spm_train unigram identity"),
                     ("llmc unigram keep-spaces", "spm_train unigram identity keep-spaces")):
            if a in bpt and b in bpt:
                d = (bpt[a] / bpt[b] - 1) * 100
                results.setdefault("quality_delta_percent", {})[f"{a} vs {b}"] = d
                log(f"  {a} vs {b}: {d:+.2f}% bytes/token (goal: within 1%)")

    # ---- encoding throughput, one thread ---------------------------------------------------------
    def encode_one(label, tj, size):
        r = subprocess.run(["node", HF_JS, "bench", tj, heldout, "--min-seconds", "5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
        hfr = json.loads(r.stdout)
        entry = {"hf_mb_per_s": hfr["mb_per_s"], "hf_mb_per_cpu_s": hfr["mb_per_cpu_s"]}
        line = f"  {label:<28} HF {hfr['mb_per_s']:7.2f} wall {hfr['mb_per_cpu_s']:7.2f} CPU"
        if use_llmc:
            best = best_cpu = None
            for _ in range(3):
                secs, _, cpu, _, _ = timed([llmc, "tokenize", tj, "--corpus", heldout, "-o",
                                            os.path.join(work, "tokens.bin"), "--threads", "1", "--force"])
                best = secs if best is None else min(best, secs)
                best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
            entry["llmc_mb_per_s"] = size / 1e6 / best
            entry["llmc_mb_per_cpu_s"] = size / 1e6 / max(best_cpu, 1e-3)
            entry["ratio_wall"] = entry["llmc_mb_per_s"] / entry["hf_mb_per_s"]
            entry["ratio_cpu"] = entry["llmc_mb_per_cpu_s"] / entry["hf_mb_per_cpu_s"]
            line += (f" | llmc {entry['llmc_mb_per_s']:7.2f} wall {entry['llmc_mb_per_cpu_s']:7.2f} CPU"
                     f" | llmc / HF {entry['ratio_wall']:5.2f}x wall {entry['ratio_cpu']:5.2f}x CPU (goal >= 2x)")
        results["encode"][label] = entry
        log(line)

    if "encode" in parts:
        log("\nencoding, one thread, same tokenizer.json and text (MB/s):")
        tokjsons = [("HF-trained byte-level BPE", hf_json)]
        if use_llmc:
            for name in ("llmc bpe gpt2 " + str(hf_vocab), "llmc unigram", "llmc bpe metaspace"):
                if name in outputs:
                    tokjsons.append((name, os.path.join(outputs[name][1], "tokenizer.json")))
        for label, tj in tokjsons:
            try:
                encode_one(label, tj, os.path.getsize(heldout))
            except (RuntimeError, OSError, subprocess.CalledProcessError, ValueError) as e:
                log(f"  {label:<28} FAILED: {e}")

    # ---- memory as the corpus grows ----------------------------------------------------------------
    if "growth" in parts and use_llmc:
        log("\nllmc training peak RSS as the corpus grows:")
        sizes = [float(x) for x in args.growth.split(",") if x] + [args.mb]
        for name, targs in (("bpe metaspace", META_SPM_WS),
                            ("unigram", UNIGRAM_SPM_WS)):
            row = {}
            for mb in sizes:
                key = f"llmc {name}"
                if mb == args.mb and key in results["train"]:
                    secs, rss = results["train"][key]["seconds"], results["train"][key]["peak_rss_mb"]
                    cpu = results["train"][key]["cpu_seconds"]
                else:
                    text = prefix_file(train, os.path.join(corpus_dir, f"train_{mb:g}mb.txt"), int(mb * 1e6))
                    out = os.path.join(work, f"growth_{name.replace(' ', '_')}_{mb:g}")
                    try:
                        secs, rss, cpu, _, _ = timed([llmc, "tokenizer", "train", *targs, "--vocab-size",
                                                      str(args.vocab), "--threads", threads, "-o", out, text])
                    except RuntimeError as e:
                        log(f"  {name:<16} {mb:6g} MB  FAILED: {e}")
                        continue
                row[f"{mb:g}"] = {"seconds": secs, "peak_rss_mb": rss, "cpu_seconds": cpu}
                log(f"  {name:<16} {mb:6g} MB  {secs:8.1f} s wall {cpu:8.1f} s CPU  {rss:8.0f} MB peak RSS")
            results["growth"][name] = row

    results["uptime_after"] = uptime()
    log(f"\nuptime after: {results['uptime_after']}")
    out_json = os.path.join(args.build, "bench-tokenizer.json")
    with open(out_json, "w") as f:
        json.dump(results, f, indent=1)
    log(f"results: {out_json}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
