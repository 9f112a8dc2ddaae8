#!/usr/bin/env python3
"""Text in, text out through the PyTorch package: its dependency-free tokenizer.py against llmc's
C encoder, generate_text / `python -m PACKAGE.generate`, and train.py on text.

For every tokenizer type llmc writes (byte-level BPE with the GPT-2 and the Llama-3 regex,
metaspace BPE with byte fallback, unigram, WordPiece, char, byte, and BPE under an NFKC +
lowercase normalizer), trained by `llmc compile` from a small corpus assembled at test time from
installed Debian packages (tests/corpus/make_corpus.py):

* tokenizer.py's ids == `llmc tokenize OUT/tokenizer --json` on held-out multilingual text: the
  corpus's held-out lines, its tricky.txt (accents precomposed and combining, Cyrillic, CJK,
  Hangul, emoji with skin-tone modifiers and ZWJ, unusual spaces, runs of spaces and tabs,
  digits, punctuation), lines written here, and texts with the special tokens inside them;
* decode(ids) == `llmc detokenize --json` for every line, and decode_bytes(encode(x)) == x for the
  lossless types (byte-level and byte fallback), also on invalid UTF-8;
* model.generate_text runs, stops at eos (a model whose head always prefers eos writes nothing,
  one that never does writes max_new_tokens tokens), and `python -m PACKAGE.generate` prints it.

A mismatch is reported with the line, both id lists and the first differing position."""
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import Checks, import_package, run_tests  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("LLMC_BINARY_DIR", os.getcwd())
MAKE_CORPUS = os.path.join(SRC, "tests", "corpus", "make_corpus.py")
CORPUS = os.path.join(BUILD, "test-corpus", "pytorch-text")
TMP = tempfile.mkdtemp(prefix="llmc-test-pttext-")

checks = Checks()

BASE_SPEC = """name: text-{name}
template: decoder_only
vocab_size: {vocab}
context_length: 128
dims: {{num_layers: 2, hidden_size: 64, intermediate_size: 172, num_heads: 4, num_kv_heads: 4}}
attention: mha
norm: rmsnorm
activation: swiglu
positional_encoding: rope
tie_word_embeddings: false
precision: float32
weights: {{seed: 7, std: 0.08}}
"""

# (name, the spec's tokenizer mapping, model vocab_size, lossless)
TOKENIZERS = [
    ("bpe_gpt2", '{type: bpe, vocab_size: 1280, special_tokens: {eos: "<|endoftext|>", pad: "<|pad|>"}}', 1280, True),
    ("bpe_llama3", '{type: bpe, pre_tokenizer: llama3, vocab_size: 1280, '
                   'special_tokens: {bos: "<|begin_of_text|>", eos: "<|end_of_text|>"}}', 1280, True),
    ("bpe_metaspace", '{type: bpe, pre_tokenizer: metaspace, vocab_size: 1536}', 1536, True),
    ("unigram", '{type: unigram, vocab_size: 1536}', 1536, True),
    ("wordpiece", '{type: wordpiece, vocab_size: 1536}', 1536, False),
    ("char", '{type: char, vocab_size: 768}', 768, True),
    ("bpe_nfkc_lower", '{type: bpe, vocab_size: 1280, normalization: nfkc_lowercase, '
                       'special_tokens: {eos: "</s>"}}', 1280, False),
    # trained with `llmc tokenizer train --type byte` and loaded through tokenizer.path
    ("byte", '{type: byte, path: @BYTE_DIR@}', 259, True),
]

EXTRA_LINES = [
    "", " ", "  ", "\t", "a", "Hello world", "  leading and trailing  ", "tabs\tin\t\tthe\ttext",
    "multiple\nlines\n\nwith blank ones\n", "digits 0123456789 1,234.56 3.14159 2026-12-02 ١٢٣ ४५६",
    "Ünïcödé àccents — précomposés: é è ê ë, décomposés: e\u0301 e\u0300 e\u0302 e\u0308",
    "Zalgo: Z\u0351\u0357a\u0302\u0303l\u036eg\u0310o\u0352\u0346",
    "Кириллица: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "日本語のテキスト、漢字とカタカナ。中文文本：你好，世界！",
    "한국어 텍스트: 안녕하세요, 세계! ᄒᆞᆫ글 자모",
    "emoji 👍🏽 👩\u200d👩\u200d👧\u200d👦 🧑🏿\u200d🚀 🇩🇪 1️⃣ ❤️ 🥰 😀😃",
    "spaces\u00a0nbsp\u2009thin\u3000ideographic\u2028line sep", "   many      spaces   ",
    "it's don't we'll they're I'M YOU'VE", "punctuation!!! ??? ... --- (((brackets))) [x] {y}",
    "mixed: English, Deutsch (Größe), français (œuvre), русский, 日本, 한국, عربي, עברית",
    "code: for (int i = 0; i < n; ++i) { s += a[i]; }  // comment",
    "ﬁ ligature, Ⅻ roman, ① circled, ｆｕｌｌｗｉｄｔｈ, ㎏ squared, ẞ capital sharp s, İstanbul ΣΑΣ",
    "\U0001d400\U0001d401 math bold, \U00020000 CJK ext B, \U0001f600 outside the BMP",
]


def run(cmd, input=None, ok=True, env=None):
    r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, **(env or {})))
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def corpus():
    run([sys.executable, MAKE_CORPUS, "-o", CORPUS, "--train-mb", "1", "--heldout-kb", "64"])
    return CORPUS


def train_text():
    """The first 400 kB of the corpus's training text (whole lines): the tokenizers' dataset."""
    path = os.path.join(TMP, "train.txt")
    if not os.path.exists(path):
        with open(os.path.join(corpus(), "train.txt"), "rb") as f:
            data = f.read(400_000)
        with open(path, "wb") as f:
            f.write(data[:data.rfind(b"\n") + 1])
    return path


def test_lines(specials):
    """Held-out text: the corpus's held-out lines (every 4th of the first 1200), tricky.txt,
    EXTRA_LINES, and lines holding the special tokens."""
    lines = []
    with open(os.path.join(corpus(), "heldout.txt"), encoding="utf-8") as f:
        held = f.read().split("\n")
    lines += held[:1200:4]
    with open(os.path.join(corpus(), "tricky.txt"), encoding="utf-8") as f:
        lines += f.read().split("\n")
    lines += EXTRA_LINES
    for s in specials:
        lines += [s, f"before {s} after", f"{s}{s}x{s}", f"  {s}  ", f"partial {s[:-1]} token"]
    lines.append("\n".join(held[1200:1210]))  # a multi-line text
    return lines


def byte_tokenizer():
    path = os.path.join(TMP, "tok_byte")
    if not os.path.exists(path):
        run([LLMC, "tokenizer", "train", "--type", "byte", "--vocab-size", "259", "--special", "bos=<s>",
             "--special", "eos=</s>", "--special", "pad=<pad>", "-o", path, train_text()])
    return path


def compile_model(name, tokenizer, vocab):
    if "@BYTE_DIR@" in tokenizer:
        tokenizer = tokenizer.replace("@BYTE_DIR@", byte_tokenizer())
    out = os.path.join(TMP, "out_" + name)
    spec = os.path.join(TMP, name + ".yaml")
    with open(spec, "w") as f:
        f.write(BASE_SPEC.format(name=name.replace("_", "-"), vocab=vocab))
        f.write(f"tokenizer: {tokenizer}\n")
        f.write(f"dataset: {{paths: [{train_text()}]}}\n")
    run([LLMC, "compile", spec, "-o", out, "--force", "--emit", "pytorch,safetensors"])
    return out


def llmc_encode(tokdir, lines):
    path = os.path.join(TMP, "lines.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    r = run([LLMC, "tokenize", tokdir, "--json", "--file", path])
    out = r.stdout.decode().split("\n")
    assert out[-1] == "" and len(out) == len(lines) + 1, f"llmc tokenize gave {len(out) - 1} lines for {len(lines)}"
    return [[int(x) for x in s.split(",")] if s else [] for s in out[:-1]]


def llmc_decode(tokdir, id_lists):
    data = "".join(",".join(map(str, ids)) + "\n" for ids in id_lists).encode()
    r = run([LLMC, "detokenize", tokdir, "--json"], input=data)
    out = r.stdout.decode().split("\n")
    assert out[-1] == "" and len(out) == len(id_lists) + 1
    return [json.loads(s) for s in out[:-1]]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_tokenizer(name, tokenizer, vocab, lossless):
    out = compile_model(name, tokenizer, vocab)
    pkg = import_package(out)
    tok = pkg.load_tokenizer(out)
    tokdir = os.path.join(out, "tokenizer")
    specials = sorted(a.content for a in tok.added if a.special)
    lines = test_lines(specials)
    want = llmc_encode(tokdir, lines)
    bad = 0
    for line, ids in zip(lines, want):
        got = tok.encode(line)
        if got != ids:
            bad += 1
            if bad <= 3:
                k = first_difference(got, ids)
                checks(False, f"{name}: encode({line[:80]!r}): tokenizer.py {got[max(0, k - 3):k + 5]} != llmc "
                              f"{ids[max(0, k - 3):k + 5]} at position {k} "
                              f"(pieces {[tok.id_to_token(i) for i in got[k:k + 3]]} vs "
                              f"{[tok.id_to_token(i) for i in ids[k:k + 3]]})")
    checks(bad == 0, f"{name}: {bad} of {len(lines)} lines encode differently")
    texts = llmc_decode(tokdir, want)
    bad_dec = [(line, t) for line, ids, t in zip(lines, want, texts) if tok.decode(ids) != t]
    checks(not bad_dec, f"{name}: {len(bad_dec)} lines decode differently from llmc detokenize, first: "
                        f"{bad_dec[:1]!r} -> {tok.decode(want[lines.index(bad_dec[0][0])]) if bad_dec else ''!r}")
    # bytes that are not UTF-8: kept (lossless types) or U+FFFD each, as llmc does
    raw = []
    for file in ("invalid_utf8.txt", "random_bytes.txt"):
        with open(os.path.join(corpus(), file), "rb") as f:
            raw += [x for x in f.read().split(b"\n") if x and b"\r" not in x]
    raw_path = os.path.join(TMP, "raw.txt")
    with open(raw_path, "wb") as f:
        f.write(b"".join(x + b"\n" for x in raw))
    r = run([LLMC, "tokenize", tokdir, "--file", raw_path])
    want_raw = [[int(x) for x in s.split(",")] if s else [] for s in r.stdout.decode().split("\n")[:-1]]
    bad_raw = [x for x, ids in zip(raw, want_raw) if tok.encode(x) != ids]
    checks(len(want_raw) == len(raw) and not bad_raw,
           f"{name}: {len(bad_raw)} of {len(raw)} lines of invalid UTF-8 encode differently, first {bad_raw[:1]!r}")
    if lossless:
        bad_rt = [line for line in lines if not any(s in line for s in specials) and tok.decode_bytes(tok.encode(line, add_special_tokens=False)).decode(
            "utf-8", "surrogateescape") != line]
        checks(not bad_rt, f"{name}: decode(encode(x)) != x for {len(bad_rt)} lines, first {bad_rt[:1]!r}")
        bad_raw = [x for x in raw if tok.decode_bytes(tok.encode(x, add_special_tokens=False)) != x]
        checks(not bad_raw, f"{name}: invalid UTF-8 does not round-trip: {bad_raw[:1]!r}")
    n_tokens = sum(map(len, want))
    print(f"  {name}: {len(lines)} lines, {n_tokens} tokens: tokenizer.py == llmc tokenize"
          f"{'' if bad else ' on every line'}; eos={tok.eos_token_id} bos={tok.bos_token_id}", flush=True)
    return out, pkg, tok


def test_tokenizer_py_matches_llmc():
    before = len(checks.failures)
    for name, tokenizer, vocab, lossless in TOKENIZERS:
        try:
            check_tokenizer(name, tokenizer, vocab, lossless)
        except Exception as e:  # one type failing must not hide the others
            checks(False, f"{name}: {type(e).__name__}: {e}")
    assert len(checks.failures) == before, f"{len(checks.failures) - before} check(s) failed"


def test_generate_text():
    """generate_text stops at eos; python -m PACKAGE.generate prints the prompt and the text."""
    import torch
    out = compile_model("gen", TOKENIZERS[0][1], TOKENIZERS[0][2])
    pkg = import_package(out)
    model = pkg.from_pretrained(out)
    tok = model.tokenizer
    assert tok is not None, "from_pretrained(OUT) found no tokenizer in OUT/tokenizer/"
    eos = tok.eos_token_id
    assert eos == tok.token_to_id("<|endoftext|>"), f"eos is {eos}, not the spec's <|endoftext|>"
    steps = []
    bias = {"eos": 0.0}

    def head_hook(module, inputs, output):
        steps.append(output.size(1))
        output = output.clone()
        output[..., eos] += bias["eos"]
        return output

    handle = model.lm_head.register_forward_hook(head_hook)
    prompt = "The quick brown fox"
    # an eos-preferring head: nothing is written, after one step
    bias["eos"] = 1e4
    text = model.generate_text(prompt, max_new_tokens=20)
    assert text == "" and len(steps) == 1, f"eos first: wrote {text!r} in {len(steps)} steps (expected '' in 1)"
    # a head that never picks eos: exactly max_new_tokens tokens
    bias["eos"] = -1e4
    steps.clear()
    text = model.generate_text(prompt, max_new_tokens=12)
    assert len(steps) == 12, f"no eos: {len(steps)} steps for max_new_tokens 12"
    ids = model.generate(torch.tensor([tok.encode(prompt)]), max_new_tokens=12, num_ids=tok.vocab_size)[0, len(tok.encode(prompt)):].tolist()
    assert text == tok.decode(ids), f"generate_text {text!r} != decode(generate) {tok.decode(ids)!r}"
    # eos in the middle: the text ends before it
    bias["eos"] = 0.0
    calls = {"n": 0}

    def eos_at_fifth(module, inputs, output):
        calls["n"] += 1
        if calls["n"] == 5:
            output = output.clone()
            output[..., eos] += 1e4
        return output

    handle.remove()
    handle = model.lm_head.register_forward_hook(eos_at_fifth)
    text = model.generate_text(prompt, max_new_tokens=30)
    ids = model.generate(torch.tensor([tok.encode(prompt)]), max_new_tokens=4, num_ids=tok.vocab_size)[0, len(tok.encode(prompt)):].tolist()
    assert calls["n"] == 5 + 4, f"eos at the 5th step: {calls['n'] - 4} steps"
    assert text == tok.decode(ids), f"text up to eos {text!r} != {tok.decode(ids)!r}"
    handle.remove()
    # sampling is repeatable with a seed
    a = model.generate_text(prompt, max_new_tokens=16, temperature=0.9, top_k=50, top_p=0.95, seed=3)
    b = model.generate_text(prompt, max_new_tokens=16, temperature=0.9, top_k=50, top_p=0.95, seed=3)
    assert a == b, f"seeded sampling differs: {a!r} vs {b!r}"
    # the command line
    env = {"PYTHONPATH": os.path.join(out, "pytorch")}
    name = pkg.__name__
    r = run([sys.executable, "-m", f"{name}.generate", out, prompt, "--max-new-tokens", "8"], env=env)
    greedy = model.generate_text(prompt, max_new_tokens=8)
    assert r.stdout.decode() == prompt + greedy + "\n", f"generate printed {r.stdout!r}, expected {prompt + greedy!r}"
    r = run([sys.executable, "-m", f"{name}.generate", os.path.join(TMP, "nowhere"), prompt], env=env, ok=False)
    assert r.returncode == 4 and b"no tokenizer.json" in r.stderr, f"missing OUT: exit {r.returncode}, {r.stderr!r}"
    print(f"  greedy: {prompt!r} -> {greedy!r}; sampled: {a!r}", flush=True)


TRAIN_SPEC = """name: text-train
template: decoder_only
vocab_size: 512
context_length: 128
dims: {{num_layers: 2, hidden_size: 48, intermediate_size: 128, num_heads: 4, num_kv_heads: 4}}
attention: mha
norm: rmsnorm
activation: swiglu
positional_encoding: rope
tie_word_embeddings: true
precision: float32
weights: {{seed: 3, std: 0.02}}
tokenizer: {{type: bpe, vocab_size: 512, special_tokens: {{eos: "<|endoftext|>"}}}}
dataset: {{paths: [{train}]}}
"""


def unigram_entropy(tokens):
    """Entropy in nats of the token distribution: the loss of the best model that ignores context."""
    import numpy as np
    counts = np.bincount(np.asarray(tokens, dtype=np.int64)).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def eval_losses(stdout):
    return [float(line.split("held-out loss ")[1].split()[0]) for line in stdout.splitlines()
            if "held-out loss" in line]


def test_train_on_text():
    """train.py on a real corpus: a token file from `llmc tokenize --corpus` for training, held-out
    text (.txt, tokenized by tokenizer.py and cached) for evaluation. The held-out loss falls well
    below the unigram entropy of the corpus; the checkpoint resumes exactly."""
    import numpy as np
    spec = os.path.join(TMP, "train.yaml")
    with open(spec, "w") as f:
        f.write(TRAIN_SPEC.format(train=train_text()))
    out = os.path.join(TMP, "out_train")
    run([LLMC, "compile", spec, "-o", out, "--force", "--emit", "pytorch,safetensors"])
    tokens = os.path.join(TMP, "train.bin")
    run([LLMC, "tokenize", os.path.join(out, "tokenizer"), "--corpus", os.path.join(corpus(), "train.txt"),
         "-o", tokens, "--threads", "2", "--separator", "<|endoftext|>"])
    held = os.path.join(TMP, "heldout.txt")
    with open(os.path.join(corpus(), "heldout.txt"), "rb") as f:
        data = f.read(48_000)
    with open(held, "wb") as f:
        f.write(data[:data.rfind(b"\n") + 1])
    train_ids = np.memmap(tokens, dtype=np.uint16, mode="r")
    entropy = unigram_entropy(train_ids)
    cache = os.path.join(TMP, "cache")
    script = os.path.join(out, "pytorch", "train.py")
    common = ["--data", tokens, "--eval-data", held, "--batch-size", "8", "--seq-len", "32", "--lr", "1e-2",
              "--warmup", "20", "--cache-dir", cache, "--log-every", "50", "--eval-windows", "48"]
    env = {"OMP_NUM_THREADS": "1"}
    ckpt = os.path.join(TMP, "ckpt")
    r = run([sys.executable, script] + common + ["--steps", "300", "--eval-every", "100", "--checkpoint-every", "100",
                                                  "--out", ckpt], env=env)
    log = r.stdout.decode()
    losses = eval_losses(log)
    assert len(losses) == 3, f"expected 3 evaluations (steps 100, 200, 300):\n{log}"
    assert "tokenized " in log and os.listdir(cache), f"the held-out text was not tokenized into the cache:\n{log}"
    final = losses[-1]
    print(f"  unigram entropy of the corpus {entropy:.3f} nats; held-out loss {losses} "
          f"(perplexity {math.exp(final):.1f}, {final / entropy:.2f} of the entropy)", flush=True)
    assert final < 0.8 * entropy, f"held-out loss {final:.3f} is not well below the unigram entropy {entropy:.3f}"
    assert losses[-1] < losses[0], f"held-out loss did not fall: {losses}"
    assert os.path.isfile(os.path.join(ckpt, "checkpoint.pt")) and os.path.isfile(os.path.join(ckpt, "model.safetensors"))
    # the cached tokens are what `llmc tokenize --corpus --separator EOS` gives for the same file
    pkg = import_package(out)
    cached = [f for f in os.listdir(cache) if f.endswith(".bin")]
    assert len(cached) == 1, cached
    ids = np.memmap(os.path.join(cache, cached[0]), dtype=np.uint16, mode="r").tolist()
    held_bin = os.path.join(TMP, "heldout.bin")
    run([LLMC, "tokenize", os.path.join(out, "tokenizer"), "--corpus", held, "-o", held_bin,
         "--separator", "<|endoftext|>"])
    want = np.memmap(held_bin, dtype=np.uint16, mode="r").tolist()
    k = first_difference(ids, want)
    assert ids == want, (f"train.py's cached held-out tokens ({len(ids)}) differ from llmc tokenize --corpus "
                         f"({len(want)}) at {k}: {ids[k:k + 5]} vs {want[k:k + 5]}")
    # a run split in two (--stop-at, --resume) ends with the weights of an uninterrupted one
    short = ["--steps", "12", "--eval-every", "6"]
    a, b = os.path.join(TMP, "run_a"), os.path.join(TMP, "run_b")
    run([sys.executable, script] + common + short + ["--out", a], env=env)
    run([sys.executable, script] + common + short + ["--stop-at", "5", "--out", b], env=env)
    r = run([sys.executable, script] + common + short + ["--resume", b, "--out", b], env=env)
    assert "resumed from" in r.stdout.decode() and "at step 5" in r.stdout.decode(), r.stdout.decode()
    wa = pkg.load_file(os.path.join(a, "model.safetensors"))
    wb = pkg.load_file(os.path.join(b, "model.safetensors"))
    assert wa.keys() == wb.keys() and all(bool((wa[k] == wb[k]).all()) for k in wa), \
        "stop at 5 + resume to 12 differs from 12 steps at once"
    r = run([sys.executable, script] + common + short + ["--resume", os.path.join(TMP, "none")], ok=False, env=env)
    assert r.returncode == 2 and b"--resume: no checkpoint" in r.stderr, r.stderr


def test_train_frames_bos():
    """A Llama-style model adds bos to a prompt (config add_bos_token): train.py starts every
    document of a text file with bos (eos, bos, document...), so the start of every prompt is a
    context the model was trained on; its cached tokens are `llmc tokenize --corpus --separator
    EOS --bos`. A tokenizer without bos refuses --bos with exit 2."""
    import numpy as np
    spec = os.path.join(TMP, "bos.yaml")
    with open(spec, "w") as f:
        f.write(TRAIN_SPEC.format(train=train_text()).replace(
            "name: text-train", "name: bos-train").replace(
            'special_tokens: {eos: "<|endoftext|>"}', 'special_tokens: {bos: "<s>", eos: "</s>"}'))
    out = os.path.join(TMP, "out_bos")
    run([LLMC, "compile", spec, "-o", out, "--force", "--emit", "pytorch,safetensors"])
    config = import_package(out).ModelConfig()
    assert config.add_bos_token is True, f"a llama-style model with a bos token adds it: {config}"
    held = os.path.join(TMP, "bos_heldout.txt")
    with open(os.path.join(corpus(), "heldout.txt"), "rb") as f:
        data = f.read(8_000)
    with open(held, "wb") as f:
        f.write(data[:data.rfind(b"\n") + 1])
    cache = os.path.join(TMP, "bos_cache")
    run([sys.executable, os.path.join(out, "pytorch", "train.py"), "--data", held, "--steps", "1", "--batch-size", "1",
         "--seq-len", "16", "--cache-dir", cache, "--out", os.path.join(TMP, "bos_ckpt")], env={"OMP_NUM_THREADS": "1"})
    cached = [f for f in os.listdir(cache) if f.endswith(".bin")]
    assert len(cached) == 1, cached
    ids = np.memmap(os.path.join(cache, cached[0]), dtype=np.uint16, mode="r").tolist()
    tok = os.path.join(out, "tokenizer")
    bos, eos = (int(run([LLMC, "tokenize", tok, t]).stdout.split()[-1]) for t in ("<s>", "</s>"))
    with open(os.path.join(cache, cached[0]) + ".json") as f:
        docs = json.load(f)["documents"]
    starts = sum(1 for a, b in zip(ids, ids[1:]) if a == eos and b == bos)
    assert docs > 10 and ids[:2] == [eos, bos] and starts == docs, \
        f"expected every one of {docs} documents to start with eos, bos: {starts} do; first ids {ids[:6]}"
    want_bin = os.path.join(TMP, "bos_heldout.bin")
    run([LLMC, "tokenize", tok, "--corpus", held, "-o", want_bin, "--separator", "</s>", "--bos"])
    want = np.memmap(want_bin, dtype=np.uint16, mode="r").tolist()
    k = first_difference(ids, want)
    assert ids == want, f"train.py's tokens differ from llmc tokenize --bos at {k}: {ids[k:k + 5]} vs {want[k:k + 5]}"
    # a tokenizer without bos cannot start documents with it
    nobos = os.path.join(TMP, "nobos_tok")
    run([LLMC, "tokenizer", "train", "--type", "bpe", "--vocab-size", "300", "--force", "-o", nobos, held])
    r = run([LLMC, "tokenize", nobos, "--corpus", held, "-o", os.path.join(TMP, "nobos.bin"), "--bos"], ok=False)
    assert r.returncode == 2 and b"--bos" in r.stderr and b"no bos token" in r.stderr, (r.returncode, r.stderr)
    assert not os.path.exists(os.path.join(TMP, "nobos.bin"))


def main():
    return run_tests([test_tokenizer_py_matches_llmc, test_generate_text, test_train_on_text, test_train_frames_bos], TMP)


if __name__ == "__main__":
    sys.exit(main())
