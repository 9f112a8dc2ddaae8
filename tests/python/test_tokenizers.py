#!/usr/bin/env python3
"""llmc's tokenizers against the reference libraries (docs/tokenizers.md).

Environment (set by ctest): LLMC (the llmc binary), LLMC_SOURCE_DIR, LLMC_BINARY_DIR, and
LLMC_HF_TOKENIZERS (the npm `tokenizers` module that scripts/setup-oracles.sh installs).

Corpora: tests/corpus/make_corpus.py assembles, from installed Debian packages, a ~3 MB training
text (English man pages and /usr/share/doc, man pages in de/fr/ja/ru/zh), disjoint held-out text
in the same languages, and generated held-out lines (tricky Unicode, invalid UTF-8, random
bytes); cached under the build directory.

  * (a) llmc trains every type x pre-tokenizer the issue lists (byte-level BPE with the GPT-2
    and Llama-3 regexes, SentencePiece-style BPE on metaspace with byte fallback, unigram,
    WordPiece/BERT, char, byte; plus whitespace pre-tokenization); the HF tokenizers library
    (npm tokenizers@0.23.2, Rust, tests/oracle/hf_tokenizers.js) loads each tokenizer.json and
    encodes the held-out multilingual and tricky text to exactly the ids `llmc tokenize` gives,
    line for line, and decodes ids to the same string as `llmc detokenize`;
  * (b) python3-sentencepiece (tests/oracle/spm_tokenizer.py) loads each tokenizer.model
    (unigram, metaspace BPE) and encodes identically;
  * (c) byte-level and byte-fallback tokenizers: detokenize(tokenize(x)) == x, byte for byte,
    on the tricky lines, on invalid UTF-8 and on random bytes;
  * (d) the reverse direction: tokenizers trained by the HF library's own trainers (BPE,
    Unigram, WordPiece) and by spm_train (BPE, unigram) are loaded by llmc and encode and decode
    identically to their own library;
  * (e) bad input: an invalid UTF-8 corpus (byte-level trains on the bytes; other types follow
    the documented rule with file and byte offset), an empty corpus, a corpus too small for the
    vocabulary, truncated and hand-edited tokenizer.json files, an unsupported model type: exit
    1 with a message, no crash (no signal, no sanitizer report), nothing half-written.

A mismatch is reported with the first differing line (its text and both id lists).
The oracles are required: without them this test fails, unless LLMC_SKIP_ORACLE=1 is set (for
machines that cannot install them), which skips the oracle comparisons and says so."""
import json
import os
import subprocess
import sys
import tempfile

from llmc_testlib import Checks, Skip, run_tests

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("LLMC_BINARY_DIR", os.getcwd())
HF_JS = os.path.join(SRC, "tests", "oracle", "hf_tokenizers.js")
SPM_PY = os.path.join(SRC, "tests", "oracle", "spm_tokenizer.py")
MAKE_CORPUS = os.path.join(SRC, "tests", "corpus", "make_corpus.py")
CORPUS = os.path.join(BUILD, "test-corpus", "tokenizers")
SKIP_ORACLE = os.environ.get("LLMC_SKIP_ORACLE") == "1"
THREADS = "2"
TMP = tempfile.mkdtemp(prefix="llmc-test-tok-")

checks = Checks()


def check(cond, what):
    checks(cond, what)
    return cond


def each(items, fn):
    """fn(item) for every item; an exception fails that item (printed) and the loop goes on."""
    for item in items:
        try:
            fn(item)
        except (AssertionError, OSError, ValueError, subprocess.SubprocessError) as e:
            name = item.name if isinstance(item, Config) else item[0]
            check(False, f"{name}: {e}")


def checked(fn):
    """A test function whose failed checks (which do not stop it) fail it at the end."""
    def run_checked():
        before = len(checks.failures)
        fn()
        if len(checks.failures) > before:
            raise AssertionError(f"{len(checks.failures) - before} check(s) failed in {fn.__name__}")
    run_checked.__name__ = fn.__name__
    run_checked.__doc__ = fn.__doc__
    return run_checked


# ---- plumbing -------------------------------------------------------------------------------

def run(cmd, ok=True, input=None, env=None):
    """Run cmd (bytes in, bytes out); with ok, a non-zero exit raises with the output."""
    r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, **(env or {})))
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n"
                             f"{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def crashed(r):
    """A signal, or a sanitizer's report (ASan/UBSan exit 1 by default)."""
    err = r.stderr.decode(errors="replace")
    return (r.returncode < 0 or r.returncode >= 128 or "Sanitizer" in err or "runtime error:" in err
            or "Segmentation fault" in err)


def split_lines(data):
    """Lines of bytes split at \\n only; a final \\n does not start another line."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def read_lines(path):
    with open(path, "rb") as f:
        return split_lines(f.read())


def ids_of(text_lines):
    return [[int(x) for x in ln.split(b",")] if ln.strip() else [] for ln in text_lines]


def hf(*args, ok=True):
    return run(["node", HF_JS, *args], ok=ok)


def spm(*args, ok=True):
    return run(["/usr/bin/python3", SPM_PY, *args], ok=ok)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def pieces(tok):
    """id -> piece of a tokenizer.json (model vocabulary and added tokens), for messages; {} when
    tok is not a readable tokenizer.json."""
    path = os.path.join(tok, "tokenizer.json") if os.path.isdir(tok) else tok
    try:
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        vocab = j["model"]["vocab"]
        out = {i: p[0] for i, p in enumerate(vocab)} if isinstance(vocab, list) else {i: p for p, i in vocab.items()}
        out.update({t["id"]: t["content"] for t in j.get("added_tokens", [])})
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def compare_ids(what, src_lines, got, want, got_name, want_name, tok=None):
    """Line-by-line id comparison; prints the first differing line (and, given the tokenizer, the
    pieces around the first difference). True when all equal."""
    if not check(len(got) == len(want) == len(src_lines),
                 f"{what}: line counts differ (text {len(src_lines)}, {got_name} {len(got)}, "
                 f"{want_name} {len(want)})"):
        return False
    bad = [i for i in range(len(got)) if got[i] != want[i]]
    if bad:
        i = bad[0]
        k = first_difference(got[i], want[i])
        lo = max(0, k - 8)
        print(f"  {what}: {len(bad)} of {len(got)} lines differ; first at line {i + 1}:\n"
              f"    text: {src_lines[i][:300]!r}\n"
              f"    {got_name}: ...{got[i][lo:k + 12]} (token {k} of {len(got[i])})\n"
              f"    {want_name}: ...{want[i][lo:k + 12]} (token {k} of {len(want[i])})", flush=True)
        p = pieces(tok) if tok else {}
        if p:
            print(f"    {got_name} pieces: {[p.get(x, '?') for x in got[i][lo:k + 6]]}\n"
                  f"    {want_name} pieces: {[p.get(x, '?') for x in want[i][lo:k + 6]]}", flush=True)
    return check(not bad, f"{what}: {got_name} ids == {want_name} ids on every line "
                          f"({len(bad)} of {len(got)} differ)")


def compare_texts(what, got, want, got_name, want_name, ids=None):
    bad = [i for i in range(min(len(got), len(want))) if got[i] != want[i]]
    if bad:
        i = bad[0]
        print(f"  {what}: {len(bad)} of {len(got)} decoded lines differ; first at line {i + 1}:\n"
              f"    ids: {ids[i][:40] if ids else '?'}\n"
              f"    {got_name}: {got[i][:300]!r}\n    {want_name}: {want[i][:300]!r}", flush=True)
    return check(len(got) == len(want) and not bad,
                 f"{what}: {got_name} text == {want_name} text ({len(bad)} of {len(got)} differ, "
                 f"{len(got)} vs {len(want)} lines)")


# ---- llmc's CLI (the names are fixed by the issue; docs/tokenizers.md) ------------------------

def llmc_train(out, corpus, args, ok=True):
    return run([LLMC, "tokenizer", "train", *args, "--threads", THREADS, "-o", out, *corpus], ok=ok)


def llmc_tokenize_file(tok, path, ok=True, special=True, whole=False):
    """ids per line of path, as `llmc tokenize TOK --file PATH` prints them (special tokens
    added, as HF's encode(add_special_tokens=True) does, unless special=False: --no-special)."""
    r = run([LLMC, "tokenize", tok, "--file", path] + ([] if special else ["--no-special"]) +
            (["--whole"] if whole else []), ok=ok)
    return r if not ok else ids_of(split_lines(r.stdout))


def llmc_detokenize_lines(tok, id_lists, raw_bytes=False):
    """`llmc detokenize TOK` with one id list per stdin line: one decoded text per line (bytes;
    --bytes: the raw bytes of byte-level / byte-fallback tokens, not made valid UTF-8)."""
    data = "".join(",".join(map(str, ids)) + "\n" for ids in id_lists).encode()
    r = run([LLMC, "detokenize", tok] + (["--bytes"] if raw_bytes else []), input=data)
    out = split_lines(r.stdout)
    check(len(out) == len(id_lists), f"detokenize {tok}: {len(id_lists)} lines of ids gave {len(out)} lines")
    return out


def hf_encode(tok_json, path, special=True, whole=False):
    return ids_of(split_lines(hf("encode", tok_json, path, *(["--add-special-tokens"] if special else []),
                                 *(["--whole"] if whole else [])).stdout))


# ---- corpora --------------------------------------------------------------------------------

def corpus():
    """Build (or reuse) the test corpora; returns the directory."""
    if not hasattr(corpus, "dir"):
        run(["/usr/bin/python3", MAKE_CORPUS, "-o", CORPUS, "--train-mb", "3", "--heldout-kb", "160"])
        # the evaluation text: held-out multilingual text, then the tricky lines, then lines that
        # hold the special tokens the configurations below declare (added-token splitting)
        specials = ("<|endoftext|>start <|endoftext|> end<|endoftext|>", "<s> bos and </s> eos <unk>",
                    "[CLS] classify [SEP] [MASK] masked [PAD] [UNK]")
        with open(os.path.join(TMP, "eval.txt"), "wb") as f:
            for name in ("heldout.txt", "tricky.txt"):
                with open(os.path.join(CORPUS, name), "rb") as g:
                    f.write(g.read())
            f.write("\n".join(specials).encode() + b"\n")
        # sentencepiece never reads control symbols (<s>, </s>) from text, tokenizer.json's added
        # tokens are: the comparisons with sentencepiece use the text without the special-token lines
        with open(os.path.join(TMP, "eval_plain.txt"), "wb") as f:
            for name in ("heldout.txt", "tricky.txt"):
                with open(os.path.join(CORPUS, name), "rb") as g:
                    f.write(g.read())
        # a 1 MB prefix of the training text for the reference libraries' trainers (and 300 kB
        # for HF's unigram trainer, which is slow), cut at a line boundary
        with open(os.path.join(CORPUS, "train.txt"), "rb") as g:
            data = g.read(1_000_000)
        for name, size in (("train_1mb.txt", 1_000_000), ("train_300k.txt", 300_000)):
            with open(os.path.join(TMP, name), "wb") as f:
                f.write(data[:data.rfind(b"\n", 0, size) + 1])
        corpus.dir = CORPUS
    return corpus.dir


def eval_file(plain=False):
    corpus()
    return os.path.join(TMP, "eval_plain.txt" if plain else "eval.txt")


def need_oracles():
    if SKIP_ORACLE:
        raise Skip("LLMC_SKIP_ORACLE=1: the HF tokenizers / sentencepiece comparisons are skipped")
    r = run(["node", HF_JS, "count", "/nonexistent.json", "/dev/null"], ok=False)
    err = r.stderr.decode(errors="replace")
    if "cannot load the tokenizers module" in err or r.returncode == 127:
        raise AssertionError("the HF tokenizers oracle is missing (scripts/setup-oracles.sh installs "
                             "npm tokenizers@0.23.2; LLMC_SKIP_ORACLE=1 skips):\n" + err)
    r = run(["/usr/bin/python3", "-c", "import sentencepiece"], ok=False)
    if r.returncode != 0:
        raise AssertionError("python3-sentencepiece is missing (scripts/setup.sh --test installs it)")


# ---- the configurations llmc trains -----------------------------------------------------------

class Config:
    def __init__(self, name, args, lossless=False, spm_model=False, vocab_txt=False, specials=()):
        self.name, self.args, self.lossless = name, args, lossless
        self.spm_model, self.vocab_txt, self.specials = spm_model, vocab_txt, specials

    def train_args(self):
        return self.args + [a for s in self.specials for a in ("--special", s)]


CONFIGS = [
    Config("bpe_gpt2", ["--type", "bpe", "--pre-tokenizer", "gpt2", "--vocab-size", "4000"],
           lossless=True, specials=("eos=<|endoftext|>",)),
    Config("bpe_llama3", ["--type", "bpe", "--pre-tokenizer", "llama3", "--vocab-size", "4000"],
           lossless=True, specials=("bos=<|begin_of_text|>", "eos=<|endoftext|>")),
    Config("bpe_metaspace", ["--type", "bpe", "--pre-tokenizer", "metaspace", "--vocab-size", "4000"],
           lossless=True, spm_model=True, specials=("unk=<unk>", "bos=<s>", "eos=</s>")),
    Config("unigram", ["--type", "unigram", "--vocab-size", "4000"],
           lossless=True, spm_model=True, specials=("unk=<unk>", "bos=<s>", "eos=</s>")),
    Config("wordpiece_bert", ["--type", "wordpiece", "--pre-tokenizer", "bert", "--vocab-size", "4000"],
           vocab_txt=True, specials=("pad=[PAD]", "unk=[UNK]", "cls=[CLS]", "sep=[SEP]", "mask=[MASK]")),
    Config("wordpiece_whitespace", ["--type", "wordpiece", "--pre-tokenizer", "whitespace", "--vocab-size", "3000"],
           vocab_txt=True, specials=("unk=[UNK]",)),
    Config("bpe_whitespace", ["--type", "bpe", "--pre-tokenizer", "whitespace", "--vocab-size", "3000"],
           specials=("unk=<unk>",)),
    Config("char", ["--type", "char", "--vocab-size", "2000"], lossless=True, specials=("unk=<unk>",)),
    Config("byte", ["--type", "byte", "--vocab-size", "258"], lossless=True,
           specials=("bos=<s>", "eos=</s>")),
]

trained = {}


def train_config(cfg):
    """llmc-train cfg on the training corpus once; returns the output directory."""
    if cfg.name not in trained:
        out = os.path.join(TMP, "llmc_" + cfg.name)
        llmc_train(out, [os.path.join(corpus(), "train.txt")], cfg.train_args())
        trained[cfg.name] = out
    return trained[cfg.name]


def check_files(cfg, out):
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        p = os.path.join(out, name)
        if check(os.path.isfile(p), f"{cfg.name}: {name} written"):
            try:
                with open(p, encoding="utf-8") as f:
                    json.load(f)
            except ValueError as e:
                check(False, f"{cfg.name}: {name} is JSON ({e})")
    check(os.path.isfile(os.path.join(out, "tokenizer.model")) == cfg.spm_model,
          f"{cfg.name}: tokenizer.model {'written' if cfg.spm_model else 'not written'}")
    check(os.path.isfile(os.path.join(out, "vocab.txt")) == cfg.vocab_txt,
          f"{cfg.name}: vocab.txt {'written' if cfg.vocab_txt else 'not written'}")
    with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    model = j.get("model", {})
    n = len(model.get("vocab", []))
    n += sum(1 for t in j.get("added_tokens", []) if t["id"] >= n)
    want = int(cfg.args[cfg.args.index("--vocab-size") + 1])
    check(n == want, f"{cfg.name}: vocabulary of {n} == --vocab-size {want}")
    if cfg.vocab_txt:
        with open(os.path.join(out, "vocab.txt"), encoding="utf-8") as f:
            words = f.read().split("\n")
        if words and words[-1] == "":
            words.pop()
        by_id = sorted(model["vocab"].items(), key=lambda kv: kv[1])
        check(words == [w for w, _ in by_id], f"{cfg.name}: vocab.txt lists the WordPiece vocabulary in id order")
    for s in cfg.specials:
        token = s.split("=", 1)[1]
        check(any(t.get("content") == token and t.get("special") for t in j.get("added_tokens", [])),
              f"{cfg.name}: special token {token} is an added token (special: true)")


def compare_with_hf(what, tok_json, tok_for_llmc, text_path):
    """(a) and (d): HF and llmc encode text_path identically and decode a sample identically.
    Returns llmc's ids."""
    src = read_lines(text_path)
    got = llmc_tokenize_file(tok_for_llmc, text_path)
    compare_ids(f"{what}: encode", src, got, hf_encode(tok_json, text_path), "llmc", "HF", tok_json)
    # without the post-processor's special tokens, and the tricky lines as one text (newlines,
    # runs of blank lines and all)
    tricky = os.path.join(corpus(), "tricky.txt")
    compare_ids(f"{what}: encode --no-special", read_lines(tricky), llmc_tokenize_file(tok_for_llmc, tricky, special=False),
                hf_encode(tok_json, tricky, special=False), "llmc", "HF", tok_json)
    compare_ids(f"{what}: encode --whole", [b"(tricky.txt as one text)"], llmc_tokenize_file(tok_for_llmc, tricky, whole=True),
                hf_encode(tok_json, tricky, whole=True), "llmc", "HF", tok_json)
    # decode: llmc's ids of every line through both decoders, with and without special tokens
    ids_path = os.path.join(TMP, "ids.txt")
    with open(ids_path, "w") as f:
        f.write("".join(",".join(map(str, ids)) + "\n" for ids in got))
    for skip in (False, True):
        hf_text = [json.loads(ln) for ln in split_lines(
            hf("decode", tok_json, ids_path, "--json", *(["--skip-special-tokens"] if skip else [])).stdout)]
        llmc_text = [b.decode("utf-8", "replace") for b in llmc_detokenize_lines(tok_for_llmc, got)] if not skip else \
            [b.decode("utf-8", "replace") for b in split_lines(run([LLMC, "detokenize", tok_for_llmc, "--skip-special"],
                                                                     input=open(ids_path, "rb").read()).stdout)]
        compare_texts(f"{what}: decode{' --skip-special' if skip else ''}", llmc_text, hf_text, "llmc", "HF", got)
    return got


def compare_with_spm(what, model, tok_for_llmc, text_path):
    """(b) and (d): sentencepiece and llmc encode text_path identically (and decode a sample)."""
    src = read_lines(text_path)
    # sentencepiece adds no BOS/EOS unless asked: compare with llmc --no-special
    got = llmc_tokenize_file(tok_for_llmc, text_path, special=False)
    want = ids_of(split_lines(spm("encode", model, text_path).stdout))
    compare_ids(f"{what}: encode", src, got, want, "llmc", "sentencepiece")
    ids_path = os.path.join(TMP, "ids_spm.txt")
    with open(ids_path, "w") as f:
        f.write("".join(",".join(map(str, ids)) + "\n" for ids in got))
    spm_text = [json.loads(ln) for ln in split_lines(spm("decode", model, ids_path, "--json").stdout)]
    llmc_text = [b.decode("utf-8", "replace") for b in llmc_detokenize_lines(tok_for_llmc, got)]
    compare_texts(f"{what}: decode", llmc_text, spm_text, "llmc", "sentencepiece", got)


def check_lossless(what, tok, paths):
    """(c): detokenize(tokenize(x)) == x byte for byte, every line of every file."""
    for path in paths:
        src = read_lines(path)
        ids = llmc_tokenize_file(tok, path, special=False)
        if not check(len(ids) == len(src), f"{what}: {os.path.basename(path)}: one id line per input line"):
            continue
        bad = None
        n_bad = 0
        for i, (line, line_ids, back) in enumerate(zip(src, ids, llmc_detokenize_lines(tok, ids, raw_bytes=True))):
            if back != line:
                n_bad += 1
                if bad is None:
                    bad = (i, line, line_ids, back)
        if bad:
            i, line, line_ids, back = bad
            k = first_difference(line, back)
            print(f"  {what}: {os.path.basename(path)} line {i + 1}, first difference at byte {k}:\n"
                  f"    x    ...{line[max(0, k - 30):k + 30]!r}\n    back ...{back[max(0, k - 30):k + 30]!r}\n"
                  f"    ids {line_ids[:40]}", flush=True)
        check(n_bad == 0, f"{what}: {os.path.basename(path)}: detokenize(tokenize(x)) == x on every line "
                          f"({n_bad} of {len(src)} differ)")


# ---- tests ----------------------------------------------------------------------------------

def test_oracles_agree_with_themselves():
    """The harness: both oracles read the same line format, the ids round-trip through each
    library's own decoder, and sentencepiece's Python binding equals its spm_encode tool."""
    need_oracles()
    c = corpus()
    tricky = os.path.join(c, "tricky.txt")
    model = os.path.join(TMP, "spm_check")
    run(["spm_train", f"--input={os.path.join(TMP, 'train_300k.txt')}", f"--model_prefix={model}",
         "--vocab_size=2000", "--model_type=bpe", "--byte_fallback=true", "--minloglevel=2",
         f"--num_threads={THREADS}"])
    py_ids = split_lines(spm("encode", model + ".model", tricky).stdout)
    with open(tricky, "rb") as f:
        cli = run(["spm_encode", f"--model={model}.model", "--output_format=id"], input=f.read())
    cli_ids = [ln.replace(b" ", b",") for ln in split_lines(cli.stdout)]
    compare_ids("spm python vs spm_encode", read_lines(tricky), ids_of(py_ids), ids_of(cli_ids),
                "python3-sentencepiece", "spm_encode")
    tj = os.path.join(TMP, "hf_check.json")
    hf("train", "--type", "bpe", "--pre-tokenizer", "gpt2", "--full-alphabet", "--vocab-size", "2000",
       "-o", tj, os.path.join(TMP, "train_300k.txt"))
    ids_path = os.path.join(TMP, "hf_check_ids.txt")
    with open(ids_path, "wb") as f:
        f.write(hf("encode", tj, tricky).stdout)
    back = [json.loads(ln) for ln in split_lines(hf("decode", tj, ids_path, "--json").stdout)]
    src = [ln.decode() for ln in read_lines(tricky)]
    compare_texts("HF byte-level BPE round trip", back, src, "HF decode(encode(x))", "x")


def test_llmc_vs_hf():
    """(a) every configuration: files written, HF encodes and decodes as llmc does."""
    need_oracles()
    ev = eval_file()
    def one(cfg):
        out = train_config(cfg)
        check_files(cfg, out)
        compare_with_hf(cfg.name, os.path.join(out, "tokenizer.json"), out, ev)
    each(CONFIGS, one)


def test_llmc_vs_sentencepiece():
    """(b) tokenizer.model files load in sentencepiece and encode as llmc does."""
    need_oracles()
    ev = eval_file(plain=True)
    def one(cfg):
        out = train_config(cfg)
        model = os.path.join(out, "tokenizer.model")
        compare_with_spm(cfg.name + " (tokenizer.model)", model, out, ev)
        # the .model file alone, given to llmc as the tokenizer, encodes the same
        compare_ids(cfg.name + ": tokenizer.model vs the directory", read_lines(ev),
                    llmc_tokenize_file(model, ev), llmc_tokenize_file(out, ev), "llmc(.model)", "llmc(dir)")
    each([cfg for cfg in CONFIGS if cfg.spm_model], one)


def adversarial_lines():
    """Valid UTF-8 lines (no \n) that lossy pipelines change: spaces at either end and in runs,
    lines of only spaces or tabs, empty lines, what NFKC / NFC / case folding would rewrite,
    unusual spaces, controls, a BOM, lone combining marks, text that looks like byte pieces, and
    random code points of every plane (assigned in Python's Unicode 14.0, which
    every library here knows). U+2581 is left out: SentencePiece decodes it as a space by design
    (docs/tokenizers.md). So are special tokens: their text encodes as the special token (as in HF),
    which is not a round trip of the characters."""
    import random
    import unicodedata
    fixed = ["", " ", "  ", "   ", "\t", " \t ", "\t\t", "  lead", "trail  ", "  both  ", "a  b   c    d",
             "end with tab\t", "\u00a0nbsp\u00a0", "\u3000ideographic\u3000space\u3000", "\u2028\u2029",
             "\r", "cr\rlf", "\x0b\x0c\x1b[0m", "\x00nul\x00", "\x7f\x01",
             "\ufb01 \ufb02 \u2460 \uff21\uff22 \u2122 \u00bd \u338f \uff76\uff9e \u2075 \u1d43",  # NFKC changes these
             "e\u0301 \u00e9 A\u030a \u212b \u1e9b\u0323",                                        # NFC / NFD pairs
             "\u0301 lone mark", "\ufeffbom", "STRASSE stra\u00dfe \u0130 \u03a3\u03c3\u03c2",
             "<0x41> <0xFF> <0x0A>\t<0xff> 0x41 <0x", "\U0001F469\u200D\U0001F4BB \U0001F44D\U0001F3FD \U0001F1EF\U0001F1F5",
             "\U00010000\U0010FFFD\U000E0001", "\ufffd\ufffe\uffff"]
    rng = random.Random(15)
    def code_point():
        while True:
            cp = rng.choice((rng.randint(0x20, 0x7F), rng.randint(0x80, 0x7FF), rng.randint(0x800, 0xFFFF),
                             rng.randint(0x10000, 0x10FFFF)))
            c = chr(cp)
            if c not in "\n\u2581" and not 0xD800 <= cp <= 0xDFFF and unicodedata.category(c) != "Cn":
                return c
    rand = ["".join(code_point() if rng.random() < 0.7 else rng.choice(" \t ") for _ in range(rng.randint(1, 40)))
            for _ in range(60)]
    return fixed + rand


def adversarial_file():
    path = os.path.join(TMP, "adversarial.txt")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write("".join(ln + "\n" for ln in adversarial_lines()).encode("utf-8", "surrogatepass"))
    return path


def check_lossless_oracles(cfg, tok):
    """(c) through the reference libraries: on the adversarial lines the HF library (tokenizer.json)
    and sentencepiece (tokenizer.model) give llmc's ids, and their own decoders give the text back."""
    path = adversarial_file()
    src = read_lines(path)
    got = llmc_tokenize_file(tok, path, special=False)
    tj = os.path.join(tok, "tokenizer.json")
    compare_ids(f"{cfg.name}: adversarial lines, encode", src, got, hf_encode(tj, path, special=False),
                "llmc", "HF", tj)
    ids_path = os.path.join(TMP, "ids_adversarial.txt")
    with open(ids_path, "w") as f:
        f.write("".join(",".join(map(str, ids)) + "\n" for ids in got))
    want = [ln.decode() for ln in src]
    back = [json.loads(ln) for ln in split_lines(hf("decode", tj, ids_path, "--json").stdout)]
    compare_texts(f"{cfg.name}: adversarial lines", back, want, "HF decode(encode(x))", "x", got)
    if cfg.spm_model:
        model = os.path.join(tok, "tokenizer.model")
        compare_ids(f"{cfg.name}: adversarial lines, encode", src, got,
                    ids_of(split_lines(spm("encode", model, path).stdout)), "llmc", "sentencepiece", tj)
        back = [json.loads(ln) for ln in split_lines(spm("decode", model, ids_path, "--json").stdout)]
        compare_texts(f"{cfg.name}: adversarial lines", back, want, "sentencepiece decode(encode(x))", "x", got)


def check_lossless_whole(what, tok, path):
    """The whole file as one text (newlines, runs of blank lines and all) round-trips."""
    with open(path, "rb") as f:
        data = f.read()
    ids = run([LLMC, "tokenize", tok, "--file", path, "--whole", "--no-special"]).stdout.strip()
    back = run([LLMC, "detokenize", tok, "--bytes"], input=ids + b"\n").stdout
    # detokenize ends its one text with a newline
    check(back[:-1] == data, f"{what}: {os.path.basename(path)} as one text: detokenize(tokenize(x)) == x "
                             f"({len(data)} bytes, first difference at byte {first_difference(back[:-1], data)})")


def test_lossless():
    """(c) byte-level and byte-fallback tokenizers round-trip arbitrary bytes, in llmc and, for
    valid UTF-8, in the reference libraries."""
    c = corpus()
    paths = [os.path.join(c, n) for n in ("tricky.txt", "invalid_utf8.txt", "random_bytes.txt")] + [adversarial_file()]
    def one(cfg):
        tok = train_config(cfg)
        check_lossless(cfg.name, tok, paths)
        check_lossless_whole(cfg.name, tok, os.path.join(c, "random_bytes.txt"))
        if not SKIP_ORACLE:
            check_lossless_oracles(cfg, tok)
    each([cfg for cfg in CONFIGS if cfg.lossless], one)


HF_TRAINED = [
    # name, hf_tokenizers.js train arguments, corpus
    ("hf_bpe_gpt2", ["--type", "bpe", "--pre-tokenizer", "gpt2", "--full-alphabet", "--vocab-size", "4000",
                     "--special", "<|endoftext|>"], "train_1mb.txt"),
    # no initial alphabet: bytes never seen in training have no token and are dropped by HF
    ("hf_bpe_gpt2_partial_alphabet", ["--type", "bpe", "--pre-tokenizer", "gpt2", "--vocab-size", "3000"],
     "train_1mb.txt"),
    ("hf_bpe_llama3", ["--type", "bpe", "--pre-tokenizer", "llama3", "--full-alphabet", "--vocab-size", "4000",
                       "--special", "<|begin_of_text|>", "--special", "<|endoftext|>"], "train_1mb.txt"),
    ("hf_bpe_metaspace_byte_fallback", ["--type", "bpe", "--pre-tokenizer", "metaspace", "--byte-fallback",
                                        "--vocab-size", "4000", "--special", "<s>", "--special", "</s>"],
     "train_1mb.txt"),
    ("hf_bpe_whitespace", ["--type", "bpe", "--pre-tokenizer", "whitespace", "--vocab-size", "3000",
                           "--special", "<unk>"], "train_1mb.txt"),
    ("hf_wordpiece_bert", ["--type", "wordpiece", "--pre-tokenizer", "bert", "--vocab-size", "4000",
                           "--special", "[PAD]", "--special", "[UNK]", "--special", "[CLS]", "--special", "[SEP]",
                           "--special", "[MASK]"], "train_1mb.txt"),
    ("hf_unigram_metaspace", ["--type", "unigram", "--pre-tokenizer", "metaspace", "--special", "<unk>",
                              "--special", "<s>", "--special", "</s>"], "train_300k.txt"),
]


def test_hf_trained_in_llmc():
    """(d) tokenizer.json files trained by the HF library load in llmc and encode identically."""
    need_oracles()
    ev = eval_file()
    def one(item):
        name, args, text = item
        tj = os.path.join(TMP, name + ".json")
        hf("train", *args, "-o", tj, "--threads", THREADS, os.path.join(TMP, text))
        compare_with_hf(name, tj, tj, ev)
    each(HF_TRAINED, one)


SPM_TRAINED = [
    ("spm_bpe", ["--model_type=bpe", "--vocab_size=4000", "--byte_fallback=true"]),
    ("spm_unigram", ["--model_type=unigram", "--vocab_size=4000", "--byte_fallback=true"]),
    ("spm_unigram_identity", ["--model_type=unigram", "--vocab_size=3000", "--normalization_rule_name=identity",
                              "--remove_extra_whitespaces=false", "--split_digits=true"]),
    ("spm_bpe_nfkc_cf", ["--model_type=bpe", "--vocab_size=3000", "--normalization_rule_name=nmt_nfkc_cf"]),
    # no normalization, whitespace kept, byte fallback: sentencepiece itself round-trips any text
    ("spm_bpe_identity_bytes", ["--model_type=bpe", "--vocab_size=3000", "--byte_fallback=true",
                                "--normalization_rule_name=identity", "--remove_extra_whitespaces=false"]),
]


def test_spm_trained_in_llmc():
    """(d) tokenizer.model files trained by spm_train load in llmc and encode identically."""
    need_oracles()
    ev = eval_file(plain=True)
    def one(item):
        name, args = item
        prefix = os.path.join(TMP, name)
        run(["spm_train", f"--input={os.path.join(TMP, 'train_1mb.txt')}", f"--model_prefix={prefix}",
             "--minloglevel=2", f"--num_threads={THREADS}", *args])
        compare_with_spm(name, prefix + ".model", prefix + ".model", ev)
        if "--normalization_rule_name=identity" in args and "--byte_fallback=true" in args:
            check_lossless(name, prefix + ".model", [os.path.join(corpus(), "tricky.txt")])
    each(SPM_TRAINED, one)


def expect_refusal(what, r, words=(), out_dir=None):
    """exit 1, a message naming `words`, no crash, nothing written to out_dir."""
    err = r.stderr.decode(errors="replace")
    check(not crashed(r), f"{what}: no crash (exit {r.returncode}):\n{err[-2000:]}")
    check(r.returncode == 1, f"{what}: exit 1 (got {r.returncode}):\n{err[-1000:]}")
    for w in words:     # a word, or a tuple of alternatives
        alts = w if isinstance(w, tuple) else (w,)
        check(any(a.lower() in err.lower() for a in alts),
              f"{what}: the message says {' or '.join(repr(a) for a in alts)}:\n{err[-1000:]}")
    if out_dir is not None:
        check(not os.path.exists(os.path.join(out_dir, "tokenizer.json")),
              f"{what}: no tokenizer.json written to {out_dir}")


def test_bad_input():
    """(e) bad corpora and bad tokenizer files: exit 1 with a message, never a crash."""
    c = corpus()
    bad_utf8 = os.path.join(c, "invalid_utf8.txt")
    # invalid UTF-8 in a corpus: byte-level BPE learns from the bytes and encodes them losslessly
    out = os.path.join(TMP, "bad_bytes_bpe")
    small = os.path.join(TMP, "train_300k.txt")
    r = llmc_train(out, [small, bad_utf8], ["--type", "bpe", "--pre-tokenizer", "gpt2", "--vocab-size", "600"],
                   ok=False)
    check(not crashed(r) and r.returncode == 0,
          f"byte-level BPE trains on a corpus with invalid UTF-8 (exit {r.returncode}): "
          f"{r.stderr.decode(errors='replace')[-800:]}")
    if r.returncode == 0:
        check_lossless("byte-level BPE trained on invalid UTF-8", out, [bad_utf8])
    # ... a tokenizer that is not byte-level refuses it by default, naming the file and the byte
    # offset of the first invalid byte (docs/tokenizers.md) ...
    with open(bad_utf8, "rb") as f:
        first_bad = f.read().index(b"valid text ") + len(b"valid text ")      # the first case: b"\x80"
    out = os.path.join(TMP, "bad_bytes_wordpiece")
    r = llmc_train(out, [small, bad_utf8], ["--type", "wordpiece", "--pre-tokenizer", "bert", "--vocab-size", "1500"],
                   ok=False)
    expect_refusal("WordPiece on a corpus with invalid UTF-8", r,
                   ["invalid_utf8.txt", f"byte {first_bad}", "invalid UTF-8"], out)
    # ... and with --invalid-utf8 replace it trains, each invalid byte read as U+FFFD, with a warning
    r = llmc_train(out, [small, bad_utf8], ["--type", "wordpiece", "--pre-tokenizer", "bert", "--vocab-size", "1500",
                                            "--invalid-utf8", "replace"], ok=False)
    err = r.stderr.decode(errors="replace")
    check(not crashed(r) and r.returncode == 0 and "U+FFFD" in err,
          f"WordPiece --invalid-utf8 replace: trains with a warning (exit {r.returncode}):\n{err[-800:]}")

    # an empty corpus
    empty = os.path.join(TMP, "empty.txt")
    open(empty, "w").close()
    for t in ("bpe", "unigram", "wordpiece", "char", "byte"):
        out = os.path.join(TMP, f"empty_{t}")
        r = llmc_train(out, [empty], ["--type", t, "--vocab-size", "256" if t == "byte" else "1000"], ok=False)
        expect_refusal(f"{t} on an empty corpus", r, [("empty", "no text")], out)
    # a corpus too small for the vocabulary
    tiny = os.path.join(TMP, "tiny.txt")
    with open(tiny, "w") as f:
        f.write("the cat sat on the mat\nthe dog sat on the log\n")
    for t in ("bpe", "unigram", "wordpiece"):
        out = os.path.join(TMP, f"tiny_{t}")
        r = llmc_train(out, [tiny], ["--type", t, "--vocab-size", "8000"], ok=False)
        expect_refusal(f"{t}: a 46-byte corpus for vocab 8000", r, ["8000"], out)
    # a training type llmc does not implement
    out = os.path.join(TMP, "no_such_type")
    r = llmc_train(out, [tiny], ["--type", "wordlevel-magic", "--vocab-size", "100"], ok=False)
    err = r.stderr.decode(errors="replace")
    check(not crashed(r) and r.returncode != 0 and "wordlevel-magic" in err and "bpe" in err,
          f"unknown --type: refused naming it and the available types (exit {r.returncode}):\n{err[-600:]}")
    check(not os.path.exists(os.path.join(out, "tokenizer.json")), "unknown --type: nothing written")

    # tokenizer.json files: truncated, hand-edited, unsupported
    good_dir = train_config(CONFIGS[0])
    with open(os.path.join(good_dir, "tokenizer.json"), encoding="utf-8") as f:
        good_text = f.read()
    good = json.loads(good_text)
    cases = []
    for frac in (0.0, 0.01, 0.5, 0.99):
        cases.append((f"truncated at {frac:.0%}", good_text[:int(len(good_text) * frac)], []))
    cases.append(("not JSON", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,,}}}", []))

    def edited(fn):
        j = json.loads(good_text)
        fn(j)
        return json.dumps(j)

    first_token = next(iter(good["model"]["vocab"]))
    cases += [
        ("unsupported model type", edited(lambda j: j["model"].__setitem__("type", "CharLevelMagic")),
         ["CharLevelMagic"]),
        ("model missing", edited(lambda j: j.pop("model")), ["model"]),
        ("vocab id out of range", edited(lambda j: j["model"]["vocab"].__setitem__(first_token, 4_000_000_000)),
         []),
        ("vocab id past the end", edited(lambda j: j["model"]["vocab"].__setitem__(first_token, 50_000)), []),
        ("one id for two pieces", edited(lambda j: j["model"]["vocab"].__setitem__(first_token, 5)), []),
        ("negative vocab id", edited(lambda j: j["model"]["vocab"].__setitem__(first_token, -5)), []),
        ("merge of unknown tokens", edited(lambda j: j["model"]["merges"].insert(0, ["\u2603zz", "\u2603yy"])),
         ["merges"]),
        ("merge that is not a pair", edited(lambda j: j["model"]["merges"].insert(0, ["a", "b", "c"])),
         ["merges"]),
        ("vocab not an object", edited(lambda j: j["model"].__setitem__("vocab", 42)), ["vocab"]),
        ("unsupported pre-tokenizer", edited(lambda j: j.__setitem__("pre_tokenizer", {"type": "Telepathy"})),
         ["Telepathy"]),
        ("unsupported normalizer", edited(lambda j: j.__setitem__("normalizer", {"type": "Klingon"})),
         ["Klingon"]),
        ("bad regex in Split", edited(lambda j: j.__setitem__(
            "pre_tokenizer", {"type": "Split", "pattern": {"Regex": "(unclosed[a-"}, "behavior": "Isolated",
                              "invert": False})), []),
        ("added token id out of range", edited(lambda j: j["added_tokens"].append(
            {"id": 99_999_999, "content": "<x>", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True})), []),
        ("not an object", "[1, 2, 3]", []),
        ("empty file", "", []),
    ]
    text = os.path.join(TMP, "hello.txt")
    with open(text, "w") as f:
        f.write("hello world <x> \u2603zz\u2603yy <|endoftext|>\n")
    for what, body, words in cases:
        p = os.path.join(TMP, "bad_tokenizer.json")
        with open(p, "w", encoding="utf-8") as f:
            f.write(body)
        r = run([LLMC, "tokenize", p, "--file", text], ok=False)
        h = hf("encode", p, text, "--add-special-tokens", ok=False) if not SKIP_ORACLE else None
        if h is None or h.returncode != 0:
            # the HF library refuses it too: llmc refuses it, naming the file and the key
            expect_refusal(f"tokenizer.json {what}", r, words + ["bad_tokenizer.json"])
        else:
            # the HF library loads it: llmc may refuse it (exit 1, a message) or load it, and then
            # it must encode as HF does
            err = r.stderr.decode(errors="replace")
            check(not crashed(r) and r.returncode in (0, 1),
                  f"tokenizer.json {what} (HF loads it): llmc exits 0 or 1, no crash (exit {r.returncode}):\n{err[-800:]}")
            if r.returncode == 1:
                check("bad_tokenizer.json" in err, f"tokenizer.json {what}: the refusal names the file:\n{err[-800:]}")
            elif r.returncode == 0:
                check(r.stdout == h.stdout, f"tokenizer.json {what} (HF loads it): llmc encodes as HF does "
                                            f"(llmc {r.stdout[:80]!r}, HF {h.stdout[:80]!r})")
    # a truncated or foreign tokenizer.model (cut from spm_train's, so that this part does not hang
    # on llmc's own writer)
    prefix = os.path.join(TMP, "spm_for_bad_input")
    run(["spm_train", f"--input={small}", f"--model_prefix={prefix}", "--vocab_size=2000", "--minloglevel=2",
         f"--num_threads={THREADS}"])
    with open(prefix + ".model", "rb") as f:
        blob = f.read()
    for what, body in (("truncated", blob[:len(blob) // 2]), ("one byte", blob[:1]),
                       ("not a model", b"\x0a\xff\xff\xff\xff\x0f garbage"), ("empty", b"")):
        p = os.path.join(TMP, "bad.model")
        with open(p, "wb") as f:
            f.write(body)
        r = run([LLMC, "tokenize", p, "--file", text], ok=False)
        expect_refusal(f"tokenizer.model {what}", r, ["bad.model"])
    # a missing tokenizer, ids out of range for detokenize
    r = run([LLMC, "tokenize", os.path.join(TMP, "nonexistent.json"), "hello"], ok=False)
    check(not crashed(r) and r.returncode != 0 and b"nonexistent.json" in r.stderr,
          f"a missing tokenizer is refused naming it (exit {r.returncode})")
    r = run([LLMC, "detokenize", good_dir, "1,2,99999999"], ok=False)
    check(not crashed(r) and r.returncode != 0 and b"99999999" in r.stderr,
          f"detokenize: an id out of range is refused naming it (exit {r.returncode})")
    r = run([LLMC, "detokenize", good_dir, "1,x,3"], ok=False)
    check(not crashed(r) and r.returncode != 0, f"detokenize: a malformed id list is refused (exit {r.returncode})")


TESTS = [checked(t) for t in (test_oracles_agree_with_themselves, test_llmc_vs_hf, test_llmc_vs_sentencepiece,
                               test_lossless, test_hf_trained_in_llmc, test_spm_trained_in_llmc, test_bad_input)]


if __name__ == "__main__":
    sys.exit(run_tests(TESTS, TMP))
