#!/usr/bin/python3
"""The unigram tokenizer and llmc's SentencePiece code against Debian's sentencepiece (and, when
npm tokenizers is installed, the Hugging Face library).

  test_trained_model_in_sentencepiece   `llmc tokenizer train --type unigram` (with and without
      byte fallback); python3-sentencepiece loads the written tokenizer.model, and its ids equal
      llmc's (`llmc tokenize DIR`, which reads tokenizer.json, and `llmc tokenize DIR/tokenizer.model`)
      on held-out text generated here: accented Latin (precomposed and combining), Cyrillic, CJK,
      kana, Hangul, emoji with skin-tone modifiers and ZWJ sequences, runs of spaces and tabs,
      newlines, digits, punctuation. Decoding agrees too; with byte fallback nothing is unknown.
  test_trained_model_in_hf              the same tokenizer.json in the HF library (skipped without it).
  test_nfkc_models                      unigram and metaspace BPE trained with --normalization nfkc
      and nmt_nfkc: the tokenizer.model carries llmc's NFKC charsmap, the tokenizer.json HF's NFKC
      normalizer (nmt_nfkc: plus two Replace steps for tabs, line breaks, zero-width and control
      characters);
      on held-out text with full-width forms, ligatures, compatibility characters, Hangul jamo
      (conjoining and compatibility) and combining marks, llmc, sentencepiece and HF give the same
      ids and the same decoded text. sentencepiece applies NFKC as a longest-match character map,
      which neither reorders combining marks nor composes past a mark that does not combine: on
      text with such mark sequences the libraries differ, and llmc gives sentencepiece's ids
      through the tokenizer.model and HF's through the tokenizer.json (checked on such text too).
  test_spm_train_models_in_llmc         models made by spm_train with its defaults (nmt_nfkc
      normalization: a precompiled charsmap), identity normalization, BPE, byte fallback and
      user-defined symbols: llmc loads them and encodes and decodes as sentencepiece does; llmc's
      reader writes each back byte for byte.
  test_quality                          bytes per token on held-out text within 2% of spm_train's at
      the same vocabulary and settings (identity normalization, every space kept: llmc's lossless
      default) (the benchmark, bench/tokenizer, measures 1% at 100 MB).

Corpus: tests/corpus/make_corpus.py (man pages and /usr/share/doc of installed Debian packages)."""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import Checks, Skip, run_tests  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("LLMC_BINARY_DIR", os.getcwd())
SPM_TOOL = os.environ.get("LLMC_SPM_TOOL", os.path.join(BUILD, "tests", "spm_tool"))
HF_JS = os.path.join(SRC, "tests", "oracle", "hf_tokenizers.js")
MAKE_CORPUS = os.path.join(SRC, "tests", "corpus", "make_corpus.py")
CORPUS = os.path.join(BUILD, "test-corpus", "tok-unigram")
TMP = tempfile.mkdtemp(prefix="llmc-test-unigram-")
THREADS = "2"

checks = Checks()


def run(cmd, ok=True, input=None):
    r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def sentencepiece():
    try:
        import sentencepiece as spm
    except ImportError:
        raise AssertionError("python3-sentencepiece is missing (scripts/setup.sh --test installs it)")
    return spm


def corpus():
    if not hasattr(corpus, "dir"):
        run(["/usr/bin/python3", MAKE_CORPUS, "-o", CORPUS, "--train-mb", "2", "--heldout-kb", "256"])
        corpus.dir = CORPUS
    return corpus.dir


# ---- held-out text made here from code point ranges (no copied text) -----------------------------

def generated_lines(n=1500, seed=15):
    rnd = random.Random(seed)
    r = lambda lo, hi: chr(rnd.randint(lo, hi))  # noqa: E731
    latin = "abcdefghijklmnopqrstuvwxyz"
    makers = [
        lambda: "".join(rnd.choice(latin) for _ in range(rnd.randint(1, 9))),
        lambda: "".join(rnd.choice(latin + "àâäçéèêëîïôöùûüÿñß") for _ in range(rnd.randint(2, 8))),
        lambda: rnd.choice("aeiou") + "".join(rnd.choice("\u0301\u0300\u0308\u0327\u0302") for _ in range(rnd.randint(1, 3))),
        lambda: "".join(r(0x0430, 0x044F) for _ in range(rnd.randint(2, 9))),
        lambda: "".join(r(0x0410, 0x042F) for _ in range(1)) + "".join(r(0x0430, 0x044F) for _ in range(4)),
        lambda: "".join(r(0x4E00, 0x4FFF) for _ in range(rnd.randint(1, 6))),
        lambda: "".join(r(0x3041, 0x3093) for _ in range(rnd.randint(1, 5))),
        lambda: "".join(r(0x30A1, 0x30F3) for _ in range(rnd.randint(1, 5))) + "\u30FC",
        lambda: "".join(r(0xAC00, 0xD7A3) for _ in range(rnd.randint(1, 4))),
        lambda: r(0x1F600, 0x1F64F) + rnd.choice(["", r(0x1F3FB, 0x1F3FF)]),
        lambda: "\U0001F469" + r(0x1F3FB, 0x1F3FF) + "\u200D\U0001F4BB",
        lambda: "\U0001F468\u200D\U0001F469\u200D\U0001F467",
        lambda: str(rnd.randint(0, 10 ** rnd.randint(1, 9))),
        lambda: "".join(r(0xFF10, 0xFF19) for _ in range(3)),
        lambda: rnd.choice([".", ",", ";", "!", "?", "(", ")", "\"", "'", "--", "...", "/", "#", "%", "\u00bf"]),
        lambda: rnd.choice(["\u00a0", "\u3000", "\u2009", "\ufb01", "\u2460", "\u00bd", "\u2122"]),
    ]
    seps = [" "] * 12 + ["  ", "   ", "\t", "\t\t", " \t "]
    lines = []
    for i in range(n):
        words = [rnd.choice(makers)() for _ in range(rnd.randint(0, 14))]
        text = ""
        for w in words:
            text += w + rnd.choice(seps)
        if i % 7 == 0:
            text = rnd.choice(["  ", "\t", " "]) + text  # leading whitespace
        if i % 5 == 0:
            text = text.rstrip(" ")  # no trailing whitespace on some
        lines.append(text)
    # multi-line texts: newlines inside one input
    multi = ["first line\nsecond  line\n\nthird\t\tline", "\u65e5\u672c\n\u0436\u0438\u0437\u043d\u044c \n e\u0301t\u00e9"]
    return lines, multi


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.write("".join(ln + "\n" for ln in lines).encode())


def llmc_ids(tok, path, whole=False):
    args = [LLMC, "tokenize", tok, "--file", path, "--no-special"] + (["--whole"] if whole else [])
    out = run(args).stdout.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return [[int(x) for x in ln.split(b",")] if ln.strip() else [] for ln in out]


def llmc_detok(tok, id_lists):
    """`llmc detokenize TOK`, one id list per stdin line: the decoded texts (none holds a newline)"""
    data = "".join(",".join(map(str, ids)) + "\n" for ids in id_lists).encode()
    out = run([LLMC, "detokenize", tok], input=data).stdout.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    checks(len(out) == len(id_lists), f"detokenize {tok}: {len(id_lists)} id lists gave {len(out)} texts")
    return out


def compare(what, texts, got, want):
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    if bad:
        i = bad[0]
        print(f"  {what}: {len(bad)} of {len(texts)} differ; first: {texts[i]!r}\n    got  {got[i]}\n    want {want[i]}")
    checks(len(got) == len(want) == len(texts) and not bad, f"{what}: ids equal on all {len(texts)} texts")


def check_against_sentencepiece(what, model, tok_for_llmc, lines, multi, decode_sample=200):
    """sentencepiece on `model` vs llmc on `tok_for_llmc` (a directory or a tokenizer.model)."""
    spm = sentencepiece()
    sp = spm.SentencePieceProcessor(model_file=model)
    path = os.path.join(TMP, "eval.txt")
    write_lines(path, lines)
    got = llmc_ids(tok_for_llmc, path)
    want = [sp.encode(ln) for ln in lines]
    compare(f"{what}: encode", lines, got, want)
    for k, text in enumerate(multi):
        p = os.path.join(TMP, f"multi{k}.txt")
        with open(p, "wb") as f:
            f.write(text.encode())
        g = llmc_ids(tok_for_llmc, p, whole=True)
        checks(g == [sp.encode(text)], f"{what}: encode of a text with newlines ({text!r}): {g} vs {sp.encode(text)}")
    # decoding: a tokenizer.json decodes <unk> as its piece (HF's rule), a tokenizer.model as
    # sentencepiece's " \u2047 ", so directories are compared on texts without unknown pieces
    sample = [ids for ids in got[:decode_sample] if tok_for_llmc.endswith(".model") or sp.unk_id() not in ids]
    texts = llmc_detok(tok_for_llmc, sample)
    bad = [(ids, t) for ids, t in zip(sample, texts) if t.decode() != sp.decode(ids)]
    if bad:
        print(f"  {what}: decode of {bad[0][0]}: llmc {bad[0][1].decode()!r}, sentencepiece {sp.decode(bad[0][0])!r}")
    checks(not bad and len(sample) >= 10,
           f"{what}: decode equal on {len(sample)} id lists ({len(bad)} differ)")
    return got


def train(name, *args):
    out = os.path.join(TMP, name)
    run([LLMC, "tokenizer", "train", "--type", "unigram", "--threads", THREADS, "-o", out, *args,
         os.path.join(corpus(), "train.txt")])
    return out


def test_trained_model_in_sentencepiece():
    lines, multi = generated_lines()
    spm = sentencepiece()
    for name, args in (("bytes", ["--vocab-size", "3000"]),
                       ("nobytes", ["--vocab-size", "2500", "--no-byte-fallback"])):
        out = train(name, *args)
        model = os.path.join(out, "tokenizer.model")
        sp = spm.SentencePieceProcessor(model_file=model)
        vocab = json.load(open(os.path.join(out, "tokenizer.json")))["model"]["vocab"]
        checks(sp.get_piece_size() == len(vocab), f"{name}: sentencepiece sees {sp.get_piece_size()} pieces")
        checks(all(sp.id_to_piece(i) == vocab[i][0] for i in range(len(vocab))),
               f"{name}: tokenizer.model and tokenizer.json list the same pieces in the same order")
        checks(sp.unk_id() == 0 and sp.bos_id() == 1 and sp.eos_id() == 2, f"{name}: <unk> <s> </s> are 0 1 2")
        ids = check_against_sentencepiece(f"{name} (directory)", model, out, lines, multi)
        check_against_sentencepiece(f"{name} (tokenizer.model)", model, model, lines, multi, decode_sample=50)
        if name == "bytes":
            checks(all(0 not in x for x in ids), "bytes: with byte fallback no text is <unk>")
            # lossless by default (identity normalization, every space kept): every line decodes
            # back to itself in sentencepiece, leading, trailing and repeated spaces included
            bad = [ln for ln, x in zip(lines, ids) if sp.decode(x) != ln]
            if bad:
                print(f"  bytes: first line that does not round-trip: {bad[0]!r}")
            checks(not bad, f"bytes: decode(encode(x)) == x ({len(bad)} of {len(lines)} differ)")


def test_trained_model_in_hf():
    hf_dir = os.environ.get("LLMC_HF_TOKENIZERS", os.path.join(SRC, ".deps", "npm", "node_modules", "tokenizers"))
    if os.environ.get("LLMC_SKIP_ORACLE") == "1":
        raise Skip("LLMC_SKIP_ORACLE=1")
    if not os.path.isdir(hf_dir):
        raise Skip(f"npm tokenizers is not installed at {hf_dir} (scripts/setup-oracles.sh)")
    lines, _ = generated_lines(seed=16)
    out = os.path.join(TMP, "bytes")
    if not os.path.isdir(out):
        out = train("bytes", "--vocab-size", "3000")
    path = os.path.join(TMP, "eval_hf.txt")
    write_lines(path, lines)
    r = subprocess.run(["node", HF_JS, "encode", os.path.join(out, "tokenizer.json"), path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, LLMC_HF_TOKENIZERS=hf_dir))
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode(errors="replace"))
    want = [[int(x) for x in ln.split(",")] if ln else [] for ln in r.stdout.decode().split("\n")[:-1]]
    compare("HF tokenizers vs llmc tokenize", lines, llmc_ids(out, path), want)


NFKC_EDGE = [
    "\uff26\uff55\uff4c\uff4c\uff0d\uff57\uff49\uff44\uff54\uff48 \uff21\uff33\uff23\uff29\uff29 and half-width \uff76\uff80\uff76\uff85 \uff83\uff7d\uff84 \uff76\uff9e\uff77\uff9e",
    "ligatures: \ufb01le \ufb02ow \ufb00 \ufb03x \ufb04 \ufb05 \ufb06 \u01c6 \u01c4 \u0132 \u0133",
    "compatibility: \u00b2 \u00b3 \u00bd \u00bc \u2122 \u2103 \u338f \u339e \u2460 \u2469 \u216b \u217b \u210c \u210d "
    "\u2115 \U0001d400\U0001d401 \u00b5 \u212b \u2126 \ufe4f \ufe35 \u222e\u222f \u3231 \u337b \u2025 \u2026",
    "Hangul \ud55c\uad6d\uc5b4, jamo \u1100\u1161\u11a8 \u1112\u1161\u11ab \u1100\u1161, compatibility "
    "\u3131\u314f \u314e\u314f\u3134 \u314b\u314b\u314b \u3160\u3160, half-width \uffa1\uffa2",
    "combining: e\u0301cole cafe\u0301 nai\u0308ve A\u030a n\u0303 o\u0302 u\u0308ber e\u0327\u0301 "
    "\u212bngstr\u00f6m \uff45\u0301 \u1ec7 e\u0323\u0302",
    "spaces: two  spaces\u3000ideographic\u00a0nbsp\u2002en\u2003em",
    "math: x\u00b2 + y\u00b2 = z\u00b2; \U0001d453(\U0001d465) = \U0001d465\u2074 \u00f7 \u2075\u2044\u2089",
    "\u65e5\u672c\u8a9e\u3000\u30c6\u30ad\u30b9\u30c8\uff0c\uff08\u62ec\u5f27\uff09\uff01 \u0451\u043b\u043a\u0430 \u0439",
]


NMT_EDGE = ["tab\tseparated\tcolumns\t\tend", "zero\u200bwidth, bom\ufeff, control\x01x\x1fy\x7fz",
            "replacement \ufffd, lower block \u2581, line separator \u2028 paragraph \u2029 end"]


def marks_compose_as_one(text):
    """True when every base character's run of combining marks has at most one mark or composes
    (NFC) into one character: the text on which sentencepiece's character map (rules for single
    characters and for the decomposed spellings of single characters, longest match first) and
    NFKC agree. NFKC also reorders marks and composes past marks that do not combine."""
    import unicodedata
    cluster = ""
    for ch in text + "\0":
        if unicodedata.combining(ch):
            cluster += ch
            continue
        if len(cluster) > 2 and len(unicodedata.normalize("NFC", cluster)) > 1:
            return False
        cluster = ch
    return True


def hf_run(cmd, data=None):
    hf_dir = os.path.abspath(os.environ.get("LLMC_HF_TOKENIZERS",
                                            os.path.join(SRC, ".deps", "npm", "node_modules", "tokenizers")))
    r = subprocess.run(["node", HF_JS, *cmd], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, LLMC_HF_TOKENIZERS=hf_dir))
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode(errors="replace"))
    return r.stdout.decode()


def test_nfkc_models():
    if os.environ.get("LLMC_SKIP_ORACLE") == "1":
        raise Skip("LLMC_SKIP_ORACLE=1")
    hf_dir = os.environ.get("LLMC_HF_TOKENIZERS", os.path.join(SRC, ".deps", "npm", "node_modules", "tokenizers"))
    if not os.path.isdir(hf_dir):
        raise Skip(f"npm tokenizers is not installed at {hf_dir} (scripts/setup-oracles.sh)")
    spm = sentencepiece()
    generated, multi = generated_lines(n=600, seed=21)
    with open(os.path.join(corpus(), "heldout.txt"), encoding="utf-8") as f:
        held = [ln for ln in f.read().split("\n")[:800] if ln]
    any_order = NFKC_EDGE + generated + held
    canonical = [ln for ln in any_order if marks_compose_as_one(ln)]
    checks(len(canonical) > 1000 and len(canonical) < len(any_order),
           f"{len(canonical)} of {len(any_order)} held-out lines have only marks that compose as one character")
    any_order += NMT_EDGE
    canonical += NMT_EDGE
    for name, norm, args in (("nfkc_unigram", "nfkc", ["--type", "unigram", "--option", "remove_extra_whitespaces=true"]),
                             ("nfkc_bpe", "nfkc", ["--type", "bpe", "--pre-tokenizer", "metaspace"]),
                             ("nmt_nfkc_unigram", "nmt_nfkc", ["--type", "unigram", "--option",
                                                               "remove_extra_whitespaces=true"]),
                             ("nmt_nfkc_bpe", "nmt_nfkc", ["--type", "bpe", "--pre-tokenizer", "metaspace"])):
        out = os.path.join(TMP, name)
        run([LLMC, "tokenizer", "train", *args, "--normalization", norm, "--vocab-size", "3000",
             "--threads", THREADS, "-o", out, os.path.join(corpus(), "train.txt")])
        model, tj = os.path.join(out, "tokenizer.model"), os.path.join(out, "tokenizer.json")
        sp = spm.SentencePieceProcessor(model_file=model)
        checks("".join(sp.encode("\ufb01\uff21\u2460", out_type=str)) == "\u2581fiA1",
               f"{name}: sentencepiece NFKC-normalizes with the tokenizer.model's charsmap")
        steps = json.load(open(tj))["normalizer"]["normalizers"]
        checks(steps[0] == {"type": "NFKC"}, f"{name}: tokenizer.json normalizes with NFKC first")
        if norm == "nmt_nfkc":
            checks(sp.decode(sp.encode("a\tb\x01c")) == "a bc",
                   f"{name}: sentencepiece turns a tab into a space and deletes a control character")
        # all three agree where marks compose as one character
        ids = check_against_sentencepiece(f"{name} (directory)", model, out, canonical, multi)
        path = os.path.join(TMP, name + "_canonical.txt")
        write_lines(path, canonical)
        want = [[int(x) for x in ln.split(",")] if ln else [] for ln in hf_run(["encode", tj, path]).split("\n")[:-1]]
        compare(f"{name}: HF tokenizers vs llmc tokenize", canonical, llmc_ids(out, path), want)
        checks(ids == want, f"{name}: sentencepiece and HF give the same ids")
        # decoding in HF equals llmc's (and so sentencepiece's, checked above)
        sample = ids[:300]
        data = "".join(",".join(map(str, x)) + "\n" for x in sample).encode()
        hf_texts = [json.loads(ln) for ln in hf_run(["decode", tj, "-", "--json"], data).split("\n")[:-1]]
        ours = [t.decode() for t in llmc_detok(out, sample)]
        checks(hf_texts == ours, f"{name}: HF and llmc decode {len(sample)} id lists alike")
        # any marks: each library's own file, llmc following it
        check_against_sentencepiece(f"{name} (tokenizer.model, any marks)", model, model, any_order, multi,
                                    decode_sample=100)
        path = os.path.join(TMP, name + "_any.txt")
        write_lines(path, any_order)
        want = [[int(x) for x in ln.split(",")] if ln else [] for ln in hf_run(["encode", tj, path]).split("\n")[:-1]]
        compare(f"{name}: HF tokenizers vs llmc tokenize (any marks)", any_order, llmc_ids(out, path), want)


SPM_MODELS = [
    ("nmt_nfkc_default", ["--model_type=unigram", "--vocab_size=3000"]),
    ("identity_bytes", ["--model_type=unigram", "--vocab_size=3000", "--normalization_rule_name=identity",
                        "--byte_fallback=true"]),
    ("user_symbols", ["--model_type=unigram", "--vocab_size=3000", "--user_defined_symbols=ab,\u65e5\u672c,<mask>",
                      "--control_symbols=<ctl>", "--split_digits=true"]),
    ("bpe_nfkc_cf", ["--model_type=bpe", "--vocab_size=3000", "--normalization_rule_name=nmt_nfkc_cf",
                     "--byte_fallback=true"]),
    ("no_extra_ws", ["--model_type=unigram", "--vocab_size=3000", "--remove_extra_whitespaces=false",
                     "--add_dummy_prefix=false"]),
]


def test_spm_train_models_in_llmc():
    lines, multi = generated_lines(seed=17)
    train_txt = os.path.join(TMP, "spm_train.txt")
    with open(os.path.join(corpus(), "train.txt"), "rb") as f:
        data = f.read(1_000_000)
    with open(train_txt, "wb") as f:
        f.write(data[:data.rfind(b"\n") + 1])
    for name, args in SPM_MODELS:
        prefix = os.path.join(TMP, "spm_" + name)
        run(["spm_train", f"--input={train_txt}", f"--model_prefix={prefix}", "--minloglevel=2",
             f"--num_threads={THREADS}", *args])
        model = prefix + ".model"
        check_against_sentencepiece(f"spm_train {name}", model, model, lines, multi, decode_sample=100)
        again = prefix + ".again.model"
        run([SPM_TOOL, "roundtrip", model, again])
        checks(open(model, "rb").read() == open(again, "rb").read(),
               f"spm_train {name}: llmc's reader and writer give the file back byte for byte")


def bytes_per_token(model, path):
    sp = sentencepiece().SentencePieceProcessor(model_file=model)
    lines = open(path, encoding="utf-8").read().split("\n")
    return sum(len(ln.encode()) for ln in lines) / sum(len(x) for x in sp.encode(lines))


def test_quality():
    held = os.path.join(corpus(), "heldout.txt")
    out = train("quality", "--vocab-size", "4000", "--no-byte-fallback")
    prefix = os.path.join(TMP, "spm_quality")
    run(["spm_train", f"--input={os.path.join(corpus(), 'train.txt')}", f"--model_prefix={prefix}",
         "--minloglevel=2", f"--num_threads={THREADS}", "--model_type=unigram", "--vocab_size=4000",
         "--normalization_rule_name=identity", "--remove_extra_whitespaces=false"])  # llmc's (lossless) default
    ours, theirs = bytes_per_token(os.path.join(out, "tokenizer.model"), held), bytes_per_token(prefix + ".model", held)
    print(f"  bytes per token on held-out text: llmc {ours:.4f}, spm_train {theirs:.4f} ({100 * (ours / theirs - 1):+.2f}%)")
    checks(ours >= theirs * 0.98, f"llmc's unigram within 2% of spm_train's bytes per token ({ours:.4f} vs {theirs:.4f})")


def checked(fn):
    def run_checked():
        before = len(checks.failures)
        fn()
        if len(checks.failures) > before:
            raise AssertionError(f"{len(checks.failures) - before} check(s) failed in {fn.__name__}")
    run_checked.__name__ = fn.__name__
    return run_checked


if __name__ == "__main__":
    sys.exit(run_tests([checked(t) for t in (test_trained_model_in_sentencepiece, test_trained_model_in_hf,
                                             test_nfkc_models, test_spm_train_models_in_llmc, test_quality)], TMP))
