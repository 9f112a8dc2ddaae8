#!/usr/bin/env python3
"""One set of special tokens in every artifact, and the GGUF vocabulary from the model's
tokenizer (issue 16, points 1, 2 and 6's compile-time check).

Corpus: tests/corpus/make_corpus.py (man pages and /usr/share/doc of the installed Debian
packages, English, German, French, Japanese, Russian, Chinese; nothing third-party is committed),
0.3 MB of training text, a disjoint held-out set and the generated tricky.txt (accents precomposed
and combining, Cyrillic, CJK, Hangul, emoji, ZWJ sequences, runs of spaces / tabs, digits).

  * test_special_tokens_agree: every family (decoder_only in the llama, qwen2 and gpt2 styles,
    encoder_decoder t5) with every tokenizer type (bpe byte-level gpt2 and llama3, bpe metaspace,
    unigram, wordpiece, char, the legacy byte vocabulary) emits safetensors, gguf, pytorch,
    torchscript and cpu; the ids of bos / eos / pad / unk / decoder_start and add_bos / add_eos are
    the tokenizer's (family rules: GPT-2's bos is its eos, T5 starts decoding from pad, Llama adds
    bos, T5 adds eos) and agree in OUT/tokenizer/'s configs, config.json, generation_config.json,
    the GGUF keys (read back with gguf-py and by llama.cpp), the PyTorch package's ModelConfig,
    TorchScript's extra/special_tokens.json and the cpu runtime's model_config.h.
  * test_gguf_tokenize: llama.cpp (tests/oracle/llama_logits tokenize-lines: llama_tokenize, then
    llama_token_to_piece) on the emitted GGUF against `llmc tokenize` / `llmc detokenize` on the
    held-out and tricky lines, for every tokenizer type; `llmc tokenize` equals the HF library
    (npm tokenizers, tests/oracle/hf_tokenizers.js) on every line, so a difference is llama.cpp's. Byte-level BPE, metaspace BPE, char and the
    byte vocabulary must agree on every line; for Unigram (llama.cpp's UGM has no byte fallback) and
    WordPiece (llama.cpp's own BERT pre-processing) the lines that differ are counted, each one must
    have the documented cause, and the numbers are printed (docs/gguf.md records them).
  * test_vocab_size_mismatch: a tokenizer whose size differs from vocab_size is a located error,
    exit 1, nothing written.
The llama.cpp oracle and gguf-py are required (scripts/setup-oracles.sh)."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

from llmc_testlib import Checks, Skip, import_package, run_tests

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("LLMC_BINARY_DIR", os.getcwd())
PLUGINS = os.path.join(BUILD, "plugins")
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
HF_JS = os.path.join(SRC, "tests", "oracle", "hf_tokenizers.js")
GGUF_PY = os.environ.get("LLMC_GGUF_PY", "")
TMP = tempfile.mkdtemp(prefix="llmc-text-vocab-")
CORPUS = os.path.join(TMP, "corpus")
EMIT = ["safetensors", "gguf", "pytorch", "torchscript", "cpu"]

FAMILIES = {
    "llama": "template: decoder_only\n"
             "dims: {num_layers: 1, hidden_size: 32, num_heads: 2, intermediate_size: 64}\n",
    "qwen2": "template: decoder_only\n"
             "dims: {num_layers: 1, hidden_size: 32, num_heads: 2, num_kv_heads: 1, intermediate_size: 64}\n"
             "attention: gqa\nrope: {theta: 1000000}\n"
             "bias: {qkv: true, attn_out: false, mlp: false, norm: false, lm_head: false}\ntie_word_embeddings: true\n",
    "gpt2": "template: decoder_only\n"
            "dims: {num_layers: 1, hidden_size: 32, num_heads: 2, intermediate_size: 64}\n"
            "attention: mha\nnorm: layernorm\nnorm_eps: 1e-5\nactivation: gelu_tanh\npositional_encoding: learned\n"
            "bias: {qkv: true, attn_out: true, mlp: true, norm: true, lm_head: false}\ntie_word_embeddings: true\n",
    "t5": "template: encoder_decoder\n"
          "dims: {num_encoder_layers: 1, num_decoder_layers: 1, hidden_size: 32, num_heads: 2, intermediate_size: 64, "
          "head_dim: 16}\n"
          "attention: mha\nnorm: rmsnorm\nnorm_eps: 1e-6\nactivation: relu\npositional_encoding: relative\n"
          "relative_attention: {num_buckets: 32, max_distance: 128}\n"
          "bias: {qkv: false, attn_out: false, mlp: false, norm: false, lm_head: false}\n"
          "tie_word_embeddings: true\nweights: {init: t5}\n",
}

# name: (vocab_size, tokenizer: value, the roles given)
TOKENIZERS = {
    "bpe_gpt2": (800, '{type: bpe, pre_tokenizer: gpt2, special_tokens: {eos: "<|endoftext|>"}}',
                 {"eos": "<|endoftext|>"}),
    "bpe_llama3": (800, '{type: bpe, pre_tokenizer: llama3, special_tokens: {bos: "<|begin_of_text|>", '
                        'eos: "<|end_of_text|>"}}', {"bos": "<|begin_of_text|>", "eos": "<|end_of_text|>"}),
    "bpe_metaspace": (1500, '{type: bpe, pre_tokenizer: metaspace, special_tokens: {unk: "<unk>", bos: "<s>", '
                            'eos: "</s>"}}', {"unk": "<unk>", "bos": "<s>", "eos": "</s>"}),
    "unigram": (1500, '{type: unigram, special_tokens: {pad: "<pad>", eos: "</s>", unk: "<unk>", bos: "<s>"}}',
                {"pad": "<pad>", "eos": "</s>", "unk": "<unk>", "bos": "<s>"}),
    "wordpiece": (1500, '{type: wordpiece, special_tokens: {pad: "[PAD]", unk: "[UNK]", bos: "[CLS]", eos: "[SEP]"}}',
                  {"pad": "[PAD]", "unk": "[UNK]", "bos": "[CLS]", "eos": "[SEP]"}),
    "char": (1000, '{type: char, special_tokens: {unk: "<unk>", bos: "<s>", eos: "</s>"}}',
             {"unk": "<unk>", "bos": "<s>", "eos": "</s>"}),
    "byte": (300, "byte", {"bos": "<|bos|>", "eos": "<|eos|>", "pad": "<|pad|>"}),
}

check = Checks()


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def llmc(*args, **kw):
    return run([LLMC, "--plugins", PLUGINS] + list(args), **kw)


def corpus():
    if not os.path.exists(os.path.join(CORPUS, "train.txt")):
        r = run(["/usr/bin/python3", os.path.join(SRC, "tests", "corpus", "make_corpus.py"), "-o", CORPUS,
                 "--train-mb", "0.3", "--heldout-kb", "16", "--langs", "en,de,fr,ja,ru,zh"])
        if r.returncode:
            raise AssertionError("cannot assemble the corpus: " + r.stderr.decode())
    return CORPUS


_compiled = {}


def compile_model(family, tok, emit=EMIT):
    key = (family, tok, tuple(emit))
    if key in _compiled:
        return _compiled[key]
    corpus()
    vocab, value, _ = TOKENIZERS[tok]
    name = f"{family}-{tok}"
    spec = os.path.join(TMP, name + ".yaml")
    with open(spec, "w") as f:
        f.write(f"name: {name}\nvocab_size: {vocab}\ncontext_length: 64\n{FAMILIES[family]}tokenizer: {value}\n")
        if tok != "byte":
            f.write("dataset: {paths: [corpus/train.txt]}\n")
        f.write(f"emit: [{', '.join(emit)}]\n")
    out = os.path.join(TMP, "out-" + name)
    r = llmc("compile", spec, "-o", out, "--force", env=dict(os.environ, LLMC_CACHE_DIR=os.path.join(TMP, "cache")))
    if r.returncode:
        raise AssertionError(f"compile {name} failed ({r.returncode}): {r.stderr.decode()}")
    _compiled[key] = out
    return out


def token_ids(out):
    """content -> id over the tokenizer.json's model vocabulary and added tokens"""
    with open(os.path.join(out, "tokenizer", "tokenizer.json"), encoding="utf-8") as f:
        doc = json.load(f)
    ids = {}
    v = doc["model"]["vocab"]
    if isinstance(v, list):
        ids.update({p[0]: i for i, p in enumerate(v)})
    else:
        ids.update(v)
    for a in doc.get("added_tokens") or []:
        ids[a["content"]] = a["id"]
    return ids, doc


def expected_tokens(family, tok, out):
    """The rules of docs/tokenizers.md "Special tokens of a model", restated independently."""
    ids, doc = token_ids(out)
    roles = TOKENIZERS[tok][2]
    e = {r: ids.get(roles[r], -1) if r in roles else -1 for r in ("bos", "eos", "pad", "unk")}
    if tok == "wordpiece" and e["unk"] < 0:
        e["unk"] = ids.get("[UNK]", -1)
    if family == "gpt2" and e["bos"] < 0:
        e["bos"] = e["eos"]
    encdec = family == "t5"
    e["decoder_start"] = (e["pad"] if e["pad"] >= 0 else e["bos"] if e["bos"] >= 0 else e["eos"]) if encdec else -1
    post = doc.get("post_processor")
    adds = post and post.get("type") in ("TemplateProcessing", "BertProcessing", "RobertaProcessing")
    if adds:
        e["add_bos"] = e["add_eos"] = None  # the tokenizer decides; compared across artifacts only
    else:
        e["add_bos"] = family == "llama" and e["bos"] >= 0
        e["add_eos"] = encdec and e["eos"] >= 0
    return e


def gguf_fields(path):
    sys.path.insert(0, GGUF_PY)
    import gguf
    r = gguf.GGUFReader(path)
    out = {}
    for k, f in r.fields.items():
        if not k.startswith("tokenizer.ggml.") and not k.endswith("decoder_start_token_id"):
            continue
        if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.scores",
                 "tokenizer.ggml.token_type", "tokenizer.ggml.precompiled_charsmap"):
            out[k] = len(f.data)
            continue
        v = f.parts[f.data[0]]
        out[k] = bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else v.tolist()[0]
    return out


def llama_vocab(path):
    r = run([ORACLE, "vocab", path])
    if r.returncode:
        raise AssertionError(f"llama.cpp refused {path}: {r.stderr.decode()}")
    return {k: int(v) for k, v in (line.split() for line in r.stdout.decode().splitlines())}


def cpu_constants(out):
    text = open(os.path.join(out, "cpu", "model_config.h")).read()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"#define (\w+) (-?\d+)", text)}


def need_oracles():
    if not ORACLE or not os.path.exists(ORACLE) or not GGUF_PY:
        raise AssertionError("the llama.cpp oracle is missing (scripts/setup-oracles.sh): LLMC_LLAMA_LOGITS / LLMC_GGUF_PY")


def test_special_tokens_agree():
    need_oracles()
    import torch
    before = len(check.failures)
    for family in FAMILIES:
        for tok in TOKENIZERS:
            out = compile_model(family, tok)
            where = f"{family} x {tok}"
            e = expected_tokens(family, tok, out)
            ids, _ = token_ids(out)
            nul = lambda v: None if v is None or v < 0 else v  # noqa: E731
            # OUT/tokenizer/'s configuration files name the same tokens
            cfg = json.load(open(os.path.join(out, "tokenizer", "tokenizer_config.json"), encoding="utf-8"))
            stm = json.load(open(os.path.join(out, "tokenizer", "special_tokens_map.json"), encoding="utf-8"))
            for role in ("bos", "eos", "pad", "unk"):
                for name, c in (("tokenizer_config.json", cfg), ("special_tokens_map.json", stm)):
                    v = c.get(role + "_token")
                    v = v["content"] if isinstance(v, dict) else v
                    got = ids.get(v, -1) if v is not None else -1
                    check(got == e[role], f"{where}: {name} {role}_token {v!r} is id {got}, expected {e[role]}")
            if e["add_bos"] is None:
                e["add_bos"], e["add_eos"] = cfg["add_bos_token"], cfg["add_eos_token"]
            check(cfg.get("add_bos_token") == e["add_bos"] and cfg.get("add_eos_token") == e["add_eos"],
                  f"{where}: tokenizer_config.json add_bos/add_eos {cfg.get('add_bos_token')}/{cfg.get('add_eos_token')}"
                  f" == {e['add_bos']}/{e['add_eos']}")
            # config.json and generation_config.json
            conf = json.load(open(os.path.join(out, "safetensors", "config.json")))
            for role in ("bos", "eos", "pad"):
                check(conf.get(role + "_token_id") == nul(e[role]),
                      f"{where}: config.json {role}_token_id {conf.get(role + '_token_id')} == {nul(e[role])}")
            if family == "t5":
                check(conf.get("decoder_start_token_id") == e["decoder_start"],
                      f"{where}: config.json decoder_start_token_id == {e['decoder_start']}")
            gpath = os.path.join(out, "safetensors", "generation_config.json")
            if os.path.exists(gpath):
                g = json.load(open(gpath))
                for role in ("bos", "eos", "pad", "decoder_start"):
                    check(g.get(role + "_token_id") == nul(e[role]),
                          f"{where}: generation_config.json {role}_token_id {g.get(role + '_token_id')} == {nul(e[role])}")
            # GGUF: the keys as written, and what llama.cpp reads
            gg = os.path.join(out, "gguf", "model.gguf")
            kv = gguf_fields(gg)
            keys = {"bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id",
                    "pad": "tokenizer.ggml.padding_token_id", "unk": "tokenizer.ggml.unknown_token_id"}
            for role, k in keys.items():
                check(kv.get(k) == nul(e[role]), f"{where}: GGUF {k} {kv.get(k)} == {nul(e[role])}")
            check(kv.get("tokenizer.ggml.tokens") == TOKENIZERS[tok][0], f"{where}: GGUF has one token per id")
            lv = llama_vocab(gg)
            check(lv["n_tokens"] == TOKENIZERS[tok][0], f"{where}: llama.cpp reads {TOKENIZERS[tok][0]} tokens")
            for role in ("bos", "eos", "pad"):
                if e[role] >= 0:
                    check(lv[role] == e[role], f"{where}: llama.cpp's {role} {lv[role]} == {e[role]}")
            if tok == "wordpiece":
                check(bool(lv["add_bos"]) == e["add_bos"] and bool(lv["add_sep"]) == e["add_eos"],
                      f"{where}: llama.cpp add_bos/add_sep {lv['add_bos']}/{lv['add_sep']} == {e['add_bos']}/{e['add_eos']}")
            else:
                check(bool(lv["add_bos"]) == e["add_bos"] and bool(lv["add_eos"]) == e["add_eos"],
                      f"{where}: llama.cpp add_bos/add_eos {lv['add_bos']}/{lv['add_eos']} == {e['add_bos']}/{e['add_eos']}")
            if family == "t5":
                check(kv.get("t5.decoder_start_token_id") == e["decoder_start"] and lv["decoder_start"] == e["decoder_start"],
                      f"{where}: GGUF t5.decoder_start_token_id {kv.get('t5.decoder_start_token_id')}, llama.cpp's "
                      f"{lv['decoder_start']} == {e['decoder_start']}")
            # the PyTorch package
            pkg = import_package(out)
            mc = pkg.configuration.ModelConfig() if hasattr(pkg, "configuration") else None
            if mc is None:
                import importlib
                mc = importlib.import_module(pkg.__name__ + ".configuration").ModelConfig()
            for role in ("bos", "eos", "pad", "unk"):
                check(getattr(mc, role + "_token_id") == nul(e[role]),
                      f"{where}: PyTorch ModelConfig.{role}_token_id {getattr(mc, role + '_token_id')} == {nul(e[role])}")
            check(mc.add_bos_token == e["add_bos"] and mc.add_eos_token == e["add_eos"],
                  f"{where}: PyTorch ModelConfig add_bos/add_eos")
            if family == "t5":
                check(mc.decoder_start_token_id == e["decoder_start"], f"{where}: PyTorch decoder_start_token_id")
            # TorchScript
            extra = {"special_tokens.json": ""}
            torch.jit.load(os.path.join(out, "torchscript", "model.pt"), _extra_files=extra)
            ts = json.loads(extra["special_tokens.json"])
            for role in ("bos", "eos", "pad", "unk", "decoder_start"):
                check(ts[role + "_token_id"] == nul(e[role]),
                      f"{where}: TorchScript {role}_token_id {ts[role + '_token_id']} == {nul(e[role])}")
            check(ts["add_bos_token"] == e["add_bos"] and ts["add_eos_token"] == e["add_eos"],
                  f"{where}: TorchScript add_bos/add_eos")
            # the cpu runtime
            c = cpu_constants(out)
            for role, macro in (("bos", "BOS_ID"), ("eos", "EOS_ID"), ("pad", "PAD_ID"), ("unk", "UNK_ID")):
                check(c[macro] == e[role], f"{where}: cpu {macro} {c[macro]} == {e[role]}")
            check(c["ADD_BOS"] == int(e["add_bos"]) and c["ADD_EOS"] == int(e["add_eos"]), f"{where}: cpu ADD_BOS/ADD_EOS")
            if family == "t5":
                check(c["DECODER_START_ID"] == e["decoder_start"],
                      f"{where}: cpu DECODER_START_ID {c['DECODER_START_ID']} == {e['decoder_start']}")
            print(f"  {where}: bos {e['bos']} eos {e['eos']} pad {e['pad']} unk {e['unk']} start {e['decoder_start']} "
                  f"add_bos {e['add_bos']} add_eos {e['add_eos']}: same in every artifact", flush=True)
    assert len(check.failures) == before, f"{len(check.failures) - before} disagreements"


# ---- the GGUF vocabulary through llama.cpp ------------------------------------------------------------------------

def llmc_lines(out, path):
    r = llmc("tokenize", os.path.join(out, "tokenizer"), "--file", path, "--no-special")
    assert r.returncode == 0, r.stderr.decode()
    ids = [[int(x) for x in line.split(",") if x] for line in r.stdout.decode().split("\n")]
    return ids


def llmc_decode(out, id_lines):
    text = "\n".join(",".join(map(str, ids)) for ids in id_lines) + "\n"
    r = llmc("detokenize", os.path.join(out, "tokenizer"), "--json", input=text.encode())
    assert r.returncode == 0, r.stderr.decode()
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def hf_lines(out, path):
    """the HF tokenizers library (npm tokenizers) on OUT/tokenizer/tokenizer.json, no specials added"""
    r = run(["node", HF_JS, "encode", os.path.join(out, "tokenizer", "tokenizer.json"), path])
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [[int(x) for x in ln.split(b",")] if ln.strip() else [] for ln in lines]


def llama_lines(gguf_path, path):
    r = run([ORACLE, "tokenize-lines", gguf_path, path])
    assert r.returncode == 0, r.stderr.decode()
    res = []
    for line in r.stdout.decode().split("\n")[:-1]:
        ids, hexs = line.split("\t")
        res.append(([int(x) for x in ids.split()], bytes.fromhex(hexs)))
    return res


def byte_pieces(out):
    ids, _ = token_ids(out)
    return {i for p, i in ids.items() if re.fullmatch(r"<0x[0-9A-F]{2}>", p)}


def cause(tok, line, ours, theirs, out, bytes_ids, unk):
    """Why llama.cpp differs from llmc/HF on this line, or None when no documented cause fits."""
    if tok == "unigram" and line.strip(" ") == "" and line:
        # llama.cpp's UGM puts the dummy U+2581 before the first non-space character only
        return "whitespace-only line (llama.cpp UGM: no dummy prefix)"
    if tok == "unigram":
        # llama.cpp's UGM has no byte fallback: each run of <0xNN> pieces of llmc is one <unk> there
        collapsed = []
        for i in ours:
            if i in bytes_ids:
                if not collapsed or collapsed[-1] != unk:
                    collapsed.append(unk)
            else:
                collapsed.append(i)
        squeezed = []
        for i in theirs:
            if not squeezed or not (i == unk and squeezed[-1] == unk):
                squeezed.append(i)
        if any(i in bytes_ids for i in ours):
            return "byte fallback (llama.cpp UGM: <unk>)" if collapsed == squeezed else "byte fallback, then a different split"
    if tok == "wordpiece" and any(len(w) > 100 for w in line.split()):
        # HF's WordPiece turns a word longer than max_input_chars_per_word (100) into [UNK]
        return "word over 100 characters (HF: [UNK]; llama.cpp WPM: no limit)"
    if tok == "wordpiece":
        cats = {unicodedata.category(ch) for ch in line}
        if cats & {"Cc", "Cf", "Mn", "Me", "So", "Sk"}:
            return "BERT pre-processing of control / format / combining / symbol characters"
    return None


def test_gguf_tokenize():
    need_oracles()
    corpus()
    texts = [os.path.join(CORPUS, "heldout.txt"), os.path.join(CORPUS, "tricky.txt")]
    exact = {"bpe_gpt2", "bpe_llama3", "bpe_metaspace", "char", "byte"}
    report = []
    for tok in TOKENIZERS:
        for family in (("llama", "t5") if tok == "unigram" else ("llama",)):
            out = compile_model(family, tok, ["gguf"])
            gg = os.path.join(out, "gguf", "model.gguf")
            kv = gguf_fields(gg)
            bytes_ids = byte_pieces(out)
            unk = expected_tokens(family, tok, out)["unk"]
            n_lines = n_diff = n_back = 0
            causes = {}
            for path in texts:
                lines = open(path, "rb").read().split(b"\n")
                if lines[-1] == b"":
                    lines.pop()
                ours = llmc_lines(out, path)
                hf = hf_lines(out, path)
                same_hf = sum(1 for i in range(len(lines)) if ours[i] == hf[i])
                check(same_hf == len(lines), f"{tok}: llmc tokenize == the HF library on {same_hf}/{len(lines)} lines "
                                             f"of {os.path.basename(path)}")
                theirs = llama_lines(gg, path)
                assert len(theirs) == len(lines), f"{tok}: llama.cpp gave {len(theirs)} lines for {len(lines)}"
                decoded = llmc_decode(out, ours[:len(lines)])
                for i, line in enumerate(lines):
                    n_lines += 1
                    a, (b, pieces) = ours[i], theirs[i]
                    if a != b:
                        n_diff += 1
                        why = cause(tok, line.decode("utf-8", "replace"), a, b, out, bytes_ids, unk)
                        causes[why] = causes.get(why, 0) + 1
                        if tok in exact or why is None:
                            check(False, f"{tok}/{family}: {os.path.basename(path)} line {i + 1} {line[:60]!r}: "
                                         f"llmc {a[:12]} llama.cpp {b[:12]}")
                        continue
                    # detokenize: llama.cpp's pieces are llmc's decode (SentencePiece's leading space aside)
                    want = decoded[i].encode("utf-8")
                    got = pieces
                    if kv.get("tokenizer.ggml.add_space_prefix") and got.startswith(b" "):
                        got = got[1:]
                    if tok == "wordpiece":  # llama.cpp's WPM pieces carry a space before every word
                        got, want = got.replace(b" ", b""), want.replace(b" ", b"")
                    if got != want:
                        n_back += 1
                        check(False, f"{tok}/{family}: line {i + 1} {line[:60]!r}: llama.cpp pieces {got[:60]!r} "
                                     f"!= llmc decode {want[:60]!r}")
            report.append((tok, family, kv.get("tokenizer.ggml.model"), kv.get("tokenizer.ggml.pre"), n_lines, n_diff,
                           n_back, causes))
    print("  tokenizer        family  gguf model / pre        lines  ids differ  pieces differ  causes")
    for tok, family, model, pre, n, nd, nb, causes in report:
        print(f"  {tok:16} {family:7} {model + ' / ' + str(pre):22} {n:5}  {nd:10}  {nb:13}  "
              + "; ".join(f"{k}: {v}" for k, v in causes.items()))
    for tok, family, model, pre, n, nd, nb, causes in report:
        if tok in exact:
            check(nd == 0 and nb == 0, f"{tok}: llama.cpp agrees with llmc on all {n} lines")
        check(None not in causes, f"{tok}/{family}: every differing line has a documented cause")
        check(nd < n, f"{tok}/{family}: most lines agree")
    assert not check.failures, f"{len(check.failures)} failures"


def test_vocab_size_mismatch():
    corpus()
    spec = os.path.join(TMP, "mismatch.yaml")
    with open(spec, "w") as f:
        f.write("name: mismatch\nvocab_size: 1024\ncontext_length: 64\n" + FAMILIES["llama"]
                + "tokenizer: {type: unigram, vocab_size: 800}\ndataset: {paths: [corpus/train.txt]}\nemit: [gguf]\n")
    out = os.path.join(TMP, "out-mismatch")
    r = llmc("compile", spec, "-o", out, env=dict(os.environ, LLMC_CACHE_DIR=os.path.join(TMP, "cache")))
    err = r.stderr.decode()
    check(r.returncode == 1, f"tokenizer.vocab_size 800 != vocab_size 1024: exit 1 (got {r.returncode})")
    check(re.search(r"mismatch\.yaml:\d+:\d+: tokenizer\.vocab_size: differs from the model's vocab_size "
                    r"\(expected 1024, got 800\)", err) is not None, f"located message, got: {err}")
    check(not os.path.exists(out), "nothing written")
    # a loaded tokenizer of another size: located at vocab_size, naming the size to use
    tok_out = compile_model("llama", "bpe_gpt2", ["gguf"])
    with open(spec, "w") as f:
        f.write("name: mismatch\nvocab_size: 1024\ncontext_length: 64\n" + FAMILIES["llama"]
                + f"tokenizer: {{path: {tok_out}/tokenizer}}\nemit: [gguf]\n")
    r = llmc("compile", spec, "-o", out)
    err = r.stderr.decode()
    check(r.returncode == 1, f"a loaded 800-id tokenizer with vocab_size 1024: exit 1 (got {r.returncode})")
    check(re.search(r"mismatch\.yaml:2:13: vocab_size: must be 800, the number of ids of the tokenizer .*"
                    r"set vocab_size: 800", err) is not None, f"located message, got: {err}")
    check(not os.path.exists(out), "nothing written")
    assert not check.failures, f"{len(check.failures)} failures"


if __name__ == "__main__":
    os.chdir(TMP)
    sys.exit(run_tests([test_vocab_size_mismatch, test_special_tokens_agree, test_gguf_tokenize], TMP))
