#!/usr/bin/env python3
"""llmc-run --prompt TEXT: text in, text out in the emitted C runtime (docs/cpu.md "Text").

Environment (set by ctest): LLMC (the llmc binary), LLMC_SOURCE_DIR, LLMC_BINARY_DIR.

A corpus is assembled here from the man pages and documentation of installed Debian packages
(tests/corpus/make_corpus.py; nothing third-party is committed). For every tokenizer type llmc
writes -- byte-level BPE (gpt2), SentencePiece-style BPE (metaspace, byte fallback), Unigram,
WordPiece, char, and byte (trained with `llmc tokenizer train`, loaded with tokenizer.path) -- a
small model is compiled with `--emit cpu` and:

  * the ids llmc-run gives a prompt (--show-ids) equal `llmc tokenize OUT/tokenizer --whole` on
    held-out multilingual text: every line of tricky.txt (accents precomposed and combining,
    Cyrillic, CJK, kana, Hangul, emoji and ZWJ sequences, unusual spaces, runs of spaces and tabs,
    digits) and held-out paragraphs in six languages, some joined by newlines and tab runs;
  * the text llmc-run prints while it samples equals `llmc detokenize` of the ids it generated
    (random weights: byte-fallback pieces, partial UTF-8 and special tokens all come up);
  * generation stops at the end-of-sequence token (byte tokenizer, near-uniform sampling), and the
    ids before it are the ones --prompt-ids generates with the same seed;
  * `llmc run OUT --prompt` gives the same output;
  * bad input exits with the documented code and a message: a prompt longer than the context or
    not UTF-8 (1), --prompt with --prompt-ids (2), a missing tokenizer folder, a folder without
    tokenizer.json or with only tokenizer.model, a truncated or corrupt tokenizer.json, a tokenizer
    with more ids than the model (6).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from llmc_testlib import Checks

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP = tempfile.mkdtemp(prefix="llmc-test-cpu-text-")

CHECKS = Checks()
check = CHECKS
failures = CHECKS.failures


def run(cmd, ok=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-2000:]!r}\n{r.stderr[-2000:]!r}")
    return r


def make_corpus():
    corp = os.path.join(TMP, "corp")
    run(["/usr/bin/python3", os.path.join(SRC, "tests", "corpus", "make_corpus.py"), "-o", corp, "--train-mb", "0.6",
         "--heldout-kb", "24"])
    return corp


def prompts(corp):
    """held-out text: tricky.txt lines, held-out paragraphs per script, multi-line prompts"""
    out = []
    with open(os.path.join(corp, "tricky.txt"), encoding="utf-8") as f:
        out += [line.rstrip("\n") for line in f if line.strip()]
    with open(os.path.join(corp, "heldout.txt"), encoding="utf-8") as f:
        held = [line.rstrip("\n") for line in f if len(line.strip()) > 20]
    # one line of each script that occurs, then a spread of the rest
    seen = set()
    for line in held:
        script = ("cjk" if any("\u3040" <= c <= "\u9fff" for c in line) else
                  "cyrillic" if any("\u0400" <= c <= "\u04ff" for c in line) else
                  "latin-ext" if any("\u00c0" <= c <= "\u024f" for c in line) else "ascii")
        if script not in seen:
            seen.add(script)
            out.append(line)
    out += held[:: max(1, len(held) // 12)][:12]
    out.append("\n".join(held[3:6]))
    out.append(held[7] + "\t\t  \n\n   " + held[8] + "   \t")
    out.append("  leading spaces, 3 digits 1234567 and trailing  ")
    out = [p[:300] for p in out if p and "\x00" not in p]
    check(len(seen) >= 3, f"held-out text has several scripts (got {sorted(seen)})")
    return out


def compile_model(name, tok_yaml, vocab, context=1024):
    spec = os.path.join(TMP, name + ".yaml")
    with open(spec, "w") as f:
        f.write(f"name: {name}\nvocab_size: {vocab}\ncontext_length: {context}\n"
                "dims: {num_layers: 1, hidden_size: 64, num_heads: 2, intermediate_size: 128}\n"
                f"{tok_yaml}\nemit: [cpu]\n")
    out = os.path.join(TMP, "out-" + name)
    run([LLMC, "compile", spec, "-o", out, "--force"], cwd=TMP)
    run(["make", "-s", "-C", os.path.join(out, "cpu")])
    return out


def llmc_run(out, args, ok=True):
    return run([os.path.join(out, "cpu", "llmc-run")] + args, ok=ok)


def ids_of(stderr, label):
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith(label + ": "):
            body = line[len(label) + 2:]
            return [int(x) for x in body.split(",")] if body else []
    return None


def tokenize_all(tokdir, texts):
    """`llmc tokenize DIR --json`: one JSON string per line in, one id list per line out"""
    r = run([LLMC, "tokenize", tokdir, "--json"],
            input="".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts).encode("utf-8"))
    lines = r.stdout.decode().split("\n")[: len(texts)]
    return [[int(x) for x in line.split(",")] if line else [] for line in lines]


def detokenize(tokdir, ids):
    r = run([LLMC, "detokenize", tokdir, ",".join(map(str, ids))])
    return r.stdout


def model_bos(out):
    """BOS_ID when the model adds bos to a prompt (ADD_BOS in model_config.h), else None."""
    with open(os.path.join(out, "cpu", "model_config.h")) as f:
        defs = dict(re.findall(r"^#define (ADD_BOS|BOS_ID) (-?\d+)", f.read(), re.M))
    return int(defs["BOS_ID"]) if int(defs["ADD_BOS"]) and int(defs["BOS_ID"]) >= 0 else None


def detokenize_all(tokdir, id_lists):
    """`llmc detokenize DIR --json`: one id list per line in, one JSON string per line out"""
    r = run([LLMC, "detokenize", tokdir, "--json"], input="".join(",".join(map(str, ids)) + "\n" for ids in id_lists).encode())
    return [json.loads(line) for line in r.stdout.decode().split("\n")[: len(id_lists)]]


def check_type(name, out, texts):
    tokdir = os.path.join(out, "tokenizer")
    bos = model_bos(out)
    runs = []
    for i, text in enumerate(texts):
        r = llmc_run(out, ["--prompt", text, "-n", "24", "--temperature", "1", "--seed", str(i + 1), "--show-ids",
                           "--threads", "1"])
        runs.append((text, ids_of(r.stderr, "prompt ids"), ids_of(r.stderr, "generated ids"), r.stdout))
        if i == 0:
            check(b"tokens/s" in r.stderr, f"{name}: tokens/s reported on stderr ({r.stderr[-200:]!r})")
    want_ids = tokenize_all(tokdir, texts)
    with_gen = [g for _, _, g, _ in runs if g]
    want_texts = iter(detokenize_all(tokdir, with_gen))
    bad_ids = bad_text = 0
    for (text, got, gen, stdout), want in zip(runs, want_ids):
        if bos is not None and want[:1] != [bos]:
            want = [bos] + want  # the model's add_bos, where the tokenizer's post-processor adds none
        if got != want:
            bad_ids += 1
            if bad_ids <= 3:
                check(False, f"{name}: prompt ids of {text[:60]!r}: llmc-run {got[:20] if got else got} "
                             f"!= llmc tokenize {want[:20]}")
        if gen is None:
            check(False, f"{name}: no generated ids on stderr for {text[:60]!r}")
            continue
        want_text = (next(want_texts) if gen else "").encode("utf-8") + b"\n"
        if stdout != want_text:
            bad_text += 1
            if bad_text <= 3:
                check(False, f"{name}: generated text {stdout[:120]!r} != llmc detokenize {want_text[:120]!r} (ids {gen})")
    check(bad_ids == 0, f"{name}: prompt ids equal llmc tokenize on all {len(texts)} held-out prompts ({bad_ids} differ)")
    check(bad_text == 0, f"{name}: streamed text equals llmc detokenize on all {len(texts)} runs ({bad_text} differ)")
    print(f"  {name}: {len(texts)} prompts, ids and text agree: {bad_ids == 0 and bad_text == 0}", flush=True)


def test_types(corp, texts):
    train = os.path.join(corp, "train.txt")
    # the byte tokenizer: trained (256 ids + eos), then loaded with tokenizer.path
    bytedir = os.path.join(TMP, "tok-byte")
    run([LLMC, "tokenizer", "train", "--type", "byte", "--vocab-size", "257", "--special", "eos=<|end|>", "-o", bytedir,
         train])
    types = {
        "bpe-gpt2": ("tokenizer: {type: bpe, vocab_size: 768, pre_tokenizer: gpt2, special_tokens: {eos: '<|endoftext|>'}}\n"
                     f"dataset: {{paths: [{train}]}}", 768),
        "bpe-metaspace": ("tokenizer: {type: bpe, vocab_size: 2048, pre_tokenizer: metaspace, byte_fallback: true, "
                          "special_tokens: {unk: '<unk>', bos: '<s>', eos: '</s>'}}\n"
                          f"dataset: {{paths: [{train}]}}", 2048),
        "unigram": ("tokenizer: {type: unigram, vocab_size: 2048, special_tokens: {unk: '<unk>', bos: '<s>', eos: '</s>'}}\n"
                    f"dataset: {{paths: [{train}]}}", 2048),
        "wordpiece": ("tokenizer: {type: wordpiece, vocab_size: 2048, special_tokens: {unk: '[UNK]', bos: '[CLS]', "
                      "eos: '[SEP]', pad: '[PAD]'}}\n"
                      f"dataset: {{paths: [{train}]}}", 2048),
        "char": ("tokenizer: {type: char, vocab_size: 768, special_tokens: {unk: '<unk>', eos: '</s>'}}\n"
                 f"dataset: {{paths: [{train}]}}", 768),
        "byte": (f"tokenizer: {{type: byte, path: {bytedir}}}", 257),
    }
    outs = {}
    for name, (tok, vocab) in types.items():
        try:
            outs[name] = compile_model(name, tok, vocab)
        except AssertionError as e:
            check(False, f"{name}: compile + make: {e}")
            continue
        check_type(name, outs[name], texts)
    return outs


def test_eos(out):
    """near-uniform sampling over 257 ids: some seed hits eos within 200 tokens"""
    tokdir = os.path.join(out, "tokenizer")
    cfg = json.load(open(os.path.join(tokdir, "tokenizer_config.json")))
    eos_tok = cfg.get("eos_token")
    eos_tok = eos_tok.get("content") if isinstance(eos_tok, dict) else eos_tok
    vocab = json.load(open(os.path.join(tokdir, "tokenizer.json")))
    eos = next((t["id"] for t in vocab.get("added_tokens", []) if t["content"] == eos_tok), None)
    check(eos is not None, f"byte tokenizer names its eos ({eos_tok!r}) among its added tokens")
    for seed in range(1, 40):
        args = ["-n", "200", "--temperature", "1000000", "--seed", str(seed), "--threads", "1"]
        r = llmc_run(out, ["--prompt", "eos?", "--show-ids"] + args)
        if b"stopped at end-of-sequence" not in r.stderr:
            continue
        gen = ids_of(r.stderr, "generated ids")
        ids = llmc_run(out, ["--prompt-ids", ",".join(map(str, ids_of(r.stderr, "prompt ids")))] + args)
        ref = [int(x) for x in ids.stdout.decode().strip().split(",")]
        check(eos not in gen and len(gen) < 200, f"eos (seed {seed}): stops before {len(gen)} + 1 < 200 tokens, eos not printed")
        check(ref[:len(gen) + 1] == gen + [eos], f"eos (seed {seed}): --prompt-ids with the same seed gives the same ids, then eos")
        check(r.stdout == detokenize(tokdir, gen), f"eos (seed {seed}): the text is llmc detokenize of the ids before eos")
        print(f"  eos: seed {seed} stopped after {len(gen)} tokens", flush=True)
        return
    check(False, "no seed in 1..39 generated eos within 200 near-uniform draws over 257 ids")


def test_llmc_run(out):
    args = ["--prompt", "Grüße, мир — 世界 🙂", "-n", "16", "--temperature", "1", "--seed", "7"]
    a = run([LLMC, "run", out] + args)
    b = llmc_run(out, args)
    check(a.stdout == b.stdout and a.stdout.strip(), "llmc run OUT --prompt prints what llmc-run --prompt prints")


def test_bad_input(out, out_notok, other_tok, unigram_out):
    def expect(args, code, needle, what, target=out):
        r = llmc_run(target, args, ok=False)
        err = r.stderr.decode("utf-8", "replace")
        check(r.returncode == code and needle in err, f"{what}: exit {r.returncode} (want {code}), stderr {err[-300:]!r}")

    expect(["--prompt", "word " * 3000, "-n", "1"], 1, "longer than the context", "prompt longer than the context")
    expect(["--prompt", "word " * 200, "-n", "900"], 1, "exceed the context", "prompt + -n longer than the context")
    r = subprocess.run([os.path.join(out, "cpu", "llmc-run").encode(), b"--prompt", b"abc\xffdef", b"-n", b"1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 1 and b"not valid UTF-8 at byte 3" in r.stderr, f"invalid UTF-8: {r.returncode} {r.stderr!r}")
    r = subprocess.run([os.path.join(out, "cpu", "llmc-run").encode(), b"--prompt", b"ok \xe4\xb8", b"-n", b"1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 1 and b"not valid UTF-8 at byte 3" in r.stderr, f"truncated UTF-8: {r.returncode} {r.stderr!r}")
    expect(["--prompt", "a", "--prompt-ids", "1"], 2, "not both", "--prompt with --prompt-ids")
    expect(["--prompt", "a", "--tokenizer", os.path.join(TMP, "nonexistent")], 6, "no tokenizer folder",
           "missing tokenizer folder")
    expect(["--prompt", "a"], 6, "no tokenizer folder", "an OUT compiled without a tokenizer", target=out_notok)
    empty = os.path.join(TMP, "tok-empty")
    os.makedirs(empty, exist_ok=True)
    expect(["--prompt", "a", "--tokenizer", empty], 6, "tokenizer.json: missing", "folder without tokenizer.json")
    src = os.path.join(out, "tokenizer", "tokenizer.json")
    with open(src, "rb") as f:
        doc = f.read()
    for what, body in [("truncated", doc[: len(doc) // 2]), ("not JSON", b"\x00\x01garbage"),
                       ("unknown model type", re.sub(rb'("model": \{\s*"type": ")[A-Za-z]+"', rb'\1Nope"', doc, count=1))]:
        d = os.path.join(TMP, "tok-" + what.replace(" ", "-"))
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(out, "tokenizer", "tokenizer_config.json"), d)
        with open(os.path.join(d, "tokenizer.json"), "wb") as f:
            f.write(body)
        expect(["--prompt", "a", "--tokenizer", d], 6, "cannot load the tokenizer", f"{what} tokenizer.json")
    expect(["--prompt", "a", "--tokenizer", other_tok], 6, "more than the model's vocabulary",
           "a tokenizer with more ids than the model")
    if unigram_out and os.path.exists(os.path.join(unigram_out, "tokenizer", "tokenizer.model")):
        d = os.path.join(TMP, "tok-model-only")
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(unigram_out, "tokenizer", "tokenizer.model"), d)
        expect(["--prompt", "a", "--tokenizer", d], 6, "reads tokenizer.json only", "a folder with only tokenizer.model",
               target=unigram_out)


def main():
    if shutil.which("make") is None or (shutil.which("cc") is None and not os.environ.get("CC")):
        print("FAIL: building the CPU runtime needs make and a C compiler")
        return 1
    try:
        corp = make_corpus()
    except AssertionError as e:
        print(f"FAIL: cannot assemble the corpus from installed Debian packages: {e}")
        return 1
    texts = prompts(corp)
    outs = test_types(corp, texts)
    if "byte" in outs:
        print("== eos", flush=True)
        test_eos(outs["byte"])
    if "bpe-gpt2" in outs and "byte" in outs:
        print("== llmc run, bad input", flush=True)
        test_llmc_run(outs["bpe-gpt2"])
        out_notok = compile_model("no-tokenizer", "", 256, context=64)
        # the bpe tokenizer (700 ids + specials) against the 257-id byte model
        test_bad_input(outs["byte"], out_notok, os.path.join(outs["bpe-gpt2"], "tokenizer"), outs.get("unigram"))
    return CHECKS.finish(TMP)


if __name__ == "__main__":
    sys.exit(main())
