#!/usr/bin/env python3
"""Tests of the safetensors emitter and the weight source, with an independent reader
(ctest: python_test_safetensors).

Environment (set by ctest): LLMC (the llmc binary), LLMC_SOURCE_DIR, LLMC_BINARY_DIR.

Nothing here shares code with the emitter: the safetensors reader, the Hugging Face layout
rules and the initialiser (Philox-4x32-10 + Box-Muller, keyed as docs/weights.md says) are
written again below with numpy and the standard library.

* every spec in config/examples compiles; its files follow the format rules (u64 LE header
  length, JSON starting with '{' padded with spaces to 8 bytes, tensors back to back in
  header order with exact data_offsets, __metadata__ string -> string with format, version,
  the SHA-256 of spec.json and the seed), hold every IR parameter once under the family's
  names and layouts, in the spec's precision, with config.json for the family;
* initialised tensors have the mean and standard deviation of their IR init rule, norm
  weights are ones and biases zeros, and values equal the documented generator's;
* output is bit-identical across two runs and across --threads 1 and 2;
* emit -> `llmc compile --weights` -> emit gives byte-identical tensor data (single file,
  sharded index, and f32 -> bf16 conversion on import);
* max_shard_size shards the way transformers does, with a correct index.
"""
import functools
import hashlib
import json
import math
import re
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

from llmc_testlib import write_spec as write_spec_in
import numpy as np

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP = tempfile.mkdtemp(prefix="llmc-test-safetensors-")
write_spec = functools.partial(write_spec_in, TMP)
FULL_CHECK = 300_000_000  # above this many parameters, statistics are sampled, not exhaustive

# ---- helpers ----------------------------------------------------------------------------------


def run(cmd, ok=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def compile_spec(spec, name, *extra):
    out = os.path.join(TMP, name)
    run([LLMC, "compile", spec, "-o", out, "--emit", "safetensors", "--force", *extra])
    return out


DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2)}
PRECISION = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def read_safetensors(path):
    """Independent reader that checks every format rule; returns (header, metadata, data memmap)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        assert len(raw) == 8, f"{path}: shorter than the header length field"
        (n,) = struct.unpack("<Q", raw)
        assert 8 + n <= size, f"{path}: header length {n} past the end of the file"
        hb = f.read(n)
    assert hb[:1] == b"{", f"{path}: header does not start with '{{'"
    assert (8 + n) % 8 == 0, f"{path}: header not padded to a multiple of 8 bytes (8 + {n})"
    text = hb.decode("utf-8")
    end = text.rstrip(" ")
    assert end.endswith("}"), f"{path}: header padding is not spaces"
    assert all(c == " " for c in text[len(end):]), f"{path}: header padded with something else than 0x20"
    header = json.loads(end)
    meta = header.pop("__metadata__", None)
    assert isinstance(meta, dict), f"{path}: no __metadata__"
    for k, v in meta.items():
        assert isinstance(k, str) and isinstance(v, str), f"{path}: __metadata__ {k!r} is not string -> string"
    data_len = size - 8 - n
    expect = 0
    for name, e in header.items():  # json preserves file order: tensors must be back to back
        assert set(e) == {"dtype", "shape", "data_offsets"}, f"{path}: {name}: fields {sorted(e)}"
        b, en = e["data_offsets"]
        assert b == expect, f"{path}: {name} begins at {b}, expected {expect} (header order, no gaps)"
        numel = 1
        for d in e["shape"]:
            assert isinstance(d, int) and d >= 0
            numel *= d
        assert en - b == numel * DTYPES[e["dtype"]][1], f"{path}: {name}: byte size does not match shape"
        expect = en
    assert expect == data_len, f"{path}: tensors cover {expect} bytes of a {data_len}-byte data section"
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n, shape=(data_len,)) if data_len else np.zeros(0, np.uint8)
    return header, meta, data


def tensor(header, data, name, as_float=True):
    e = header[name]
    b, en = e["data_offsets"]
    dt = DTYPES[e["dtype"]][0]
    a = np.frombuffer(data[b:en], dtype=dt).reshape(e["shape"])
    if not as_float:
        return a
    if e["dtype"] == "BF16":
        return (a.astype(np.uint32) << 16).view(np.float32).reshape(e["shape"])
    return a.astype(np.float32)


def load_checkpoint(out):
    """{name: (header entry, float array view)} over a single file or a sharded index."""
    d = os.path.join(out, "safetensors")
    idx = os.path.join(d, "model.safetensors.index.json")
    files = [os.path.join(d, "model.safetensors")]
    if os.path.exists(idx):
        with open(idx) as f:
            index = json.load(f)
        files = [os.path.join(d, s) for s in sorted(set(index["weight_map"].values()))]
    result = {}
    for path in files:
        header, meta, data = read_safetensors(path)
        for name in header:
            assert name not in result, f"{name} stored twice"
            result[name] = (header, data, meta)
    return result


# ---- the documented generator, again --------------------------------------------------------------

M64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    mask = np.uint64(0xFFFFFFFF)
    m0, m1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0 = m0 * c0
        p1 = m1 * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & mask, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & mask
        k0 = (k0 + np.uint64(0x9E3779B9)) & mask
        k1 = (k1 + np.uint64(0xBB67AE85)) & mask
    return c0, c1, c2, c3


def reference_normal(seed, name, std, start, count):
    """Elements [start, start + count) of normal(0, std) for parameter `name`, per docs/weights.md."""
    h = fnv1a64(name)
    k = splitmix64(splitmix64(seed) ^ h)
    c = splitmix64(k ^ h)
    first, last = start // 2, (start + count + 1) // 2
    p = np.arange(first, last, dtype=np.uint64)
    w0, w1, w2, w3 = philox4x32_10(p & np.uint64(0xFFFFFFFF), p >> np.uint64(32),
                                   np.full_like(p, c & 0xFFFFFFFF), np.full_like(p, c >> 32),
                                   k & 0xFFFFFFFF, k >> 32)
    a = ((w1 << np.uint64(32)) | w0) >> np.uint64(11)
    b = ((w3 << np.uint64(32)) | w2) >> np.uint64(11)
    u1 = (a.astype(np.float64) + 1.0) * 2.0 ** -53
    u2 = (b.astype(np.float64) + 1.0) * 2.0 ** -53
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.empty(2 * len(p), dtype=np.float64)
    z[0::2] = r * np.cos(2 * np.pi * u2)
    z[1::2] = r * np.sin(2 * np.pi * u2)
    off = start - 2 * first
    return (std * z[off:off + count]).astype(np.float32)


# ---- the Hugging Face layout, again -------------------------------------------------------------------

def ir_params(out):
    with open(os.path.join(out, "ir.json")) as f:
        ir = json.load(f)
    return {t["name"]: t for t in ir["tensors"] if t["kind"] == "param"}


def expected_views(params, family):
    """stored name -> (list of IR parameter names concatenated along dim 0, transposed?, expert index
    or None: the stored tensor is that slice of an [E, out, in] expert stack)."""
    if family != "gpt2":
        views = {}
        for n, t in params.items():
            if ".experts." in n and len(t["shape"]) == 3:
                # one 2-D tensor per expert: Mixtral's w1 / w3 / w2, Qwen2-MoE's gate / up / down_proj
                prefix, kind = n.split(".experts.")
                kind = kind[:-len(".weight")]
                w = kind if family == "qwen2_moe" else {"gate_proj": "w1", "up_proj": "w3", "down_proj": "w2"}[kind]
                for e in range(t["shape"][0]):
                    views[f"{prefix}.experts.{e}.{w}.weight"] = ([n], False, e)
            else:
                views[n] = ([n], False, None)
        return views
    views = {}
    for n in params:
        if n == "model.embed_tokens.weight":
            views["transformer.wte.weight"] = ([n], False, None)
        elif n == "model.embed_positions.weight":
            views["transformer.wpe.weight"] = ([n], False, None)
        elif n.startswith("model.norm."):
            views["transformer.ln_f." + n.split(".")[-1]] = ([n], False, None)
        elif n.startswith("lm_head."):
            views[n] = ([n], False, None)
        elif n.startswith("model.layers."):
            parts = n.split(".")
            i, rest, kind = parts[2], ".".join(parts[3:-1]), parts[-1]
            pre = f"transformer.h.{i}."
            if rest == "input_layernorm":
                views[pre + "ln_1." + kind] = ([n], False, None)
            elif rest == "post_attention_layernorm":
                views[pre + "ln_2." + kind] = ([n], False, None)
            elif rest == "self_attn.q_proj":
                views[pre + "attn.c_attn." + kind] = ([n, n.replace("q_proj", "k_proj"), n.replace("q_proj", "v_proj")],
                                                      kind == "weight", None)
            elif rest in ("self_attn.k_proj", "self_attn.v_proj"):
                pass
            else:
                hf = {"self_attn.o_proj": "attn.c_proj", "mlp.up_proj": "mlp.c_fc", "mlp.down_proj": "mlp.c_proj"}[rest]
                views[pre + hf + "." + kind] = ([n], kind == "weight", None)
        else:
            raise AssertionError(f"no GPT-2 name for {n}")
    return views


# ---- checks of one compiled output ------------------------------------------------------------------------

def check_output(out, exhaustive=True):
    with open(os.path.join(out, "spec.json"), "rb") as f:
        spec_text = f.read()
    spec = json.loads(spec_text)
    st_dir = os.path.join(out, "safetensors")
    with open(os.path.join(st_dir, "config.json")) as f:
        config = json.load(f)
    params = ir_params(out)
    family = config["model_type"]
    ck = load_checkpoint(out)
    views = expected_views(params, family)
    assert set(ck) == set(views), f"stored names differ: missing {sorted(set(views) - set(ck))[:5]}, " \
                                  f"unexpected {sorted(set(ck) - set(views))[:5]}"
    want_dtype = PRECISION[spec["precision"]]
    seed = spec["weights"]["seed"]
    n_checked = 0
    for name, (parts, transposed, expert) in views.items():
        header, data, meta = ck[name]
        assert meta["format"] == "pt"
        assert meta["llmc_spec_hash"] == hashlib.sha256(spec_text).hexdigest(), "llmc_spec_hash is not sha256(spec.json)"
        assert meta["llmc_seed"] == str(seed)
        assert meta["llmc_version"]
        e = header[name]
        assert e["dtype"] == want_dtype, f"{name}: {e['dtype']}, spec precision {spec['precision']}"
        shapes = [params[p]["shape"] if expert is None else params[p]["shape"][1:] for p in parts]
        start = 0 if expert is None else expert * math.prod(shapes[0])  # the slice's first element in the stack
        rows = sum(s[0] for s in shapes)
        want = [rows] + shapes[0][1:]
        if transposed:
            want = [want[1], want[0]]
        assert e["shape"] == want, f"{name}: shape {e['shape']}, expected {want}"
        a = tensor(header, data, name)
        if not exhaustive and math.prod(e["shape"]) > 4_000_000:
            # huge tensors of huge models: statistics and values over their first million
            # elements (a memory-mapped prefix), not the whole file
            assert len(parts) == 1 and not transposed
            a = a.reshape(-1)[:1_000_000].reshape(1, -1)
            shapes = [[1, a.shape[1]]]
        if transposed:
            a = a.T
        r0 = 0
        for p, s in zip(parts, shapes):
            block = a[r0:r0 + s[0]].reshape(-1)
            r0 += s[0]
            init = params[p]["init"]
            if init["kind"] == "ones":
                assert np.all(block == 1.0), f"{p} should be ones"
            elif init["kind"] == "zeros":
                assert np.all(block == 0.0), f"{p} should be zeros"
            else:
                std = init["std"]
                n = block.size
                m, sd = float(block.astype(np.float64).mean()), float(block.astype(np.float64).std())
                if n >= 10_000:
                    assert abs(m) < 5 * std / math.sqrt(n), f"{p}: mean {m} (std {std}, n {n})"
                    assert abs(sd - std) < 0.02 * std, f"{p}: std {sd}, expected {std}"
                # values: the documented generator, rounded to the stored dtype
                k = min(n, 2048)
                ref = reference_normal(seed, p, std, start, k)
                if want_dtype == "BF16":
                    u = ref.view(np.uint32).astype(np.uint64)
                    ref = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)
                elif want_dtype == "F16":
                    ref = ref.astype(np.float16).astype(np.float32)
                got = block[:k]
                exact = np.mean(got == ref)
                close = np.allclose(got, ref, rtol=1e-6 if want_dtype == "F32" else 1e-2, atol=std * 1e-6)
                assert close and exact > 0.99, f"{p}: {exact:.4f} of values equal the documented generator"
                n_checked += k
    return spec, config, ck, n_checked


def check_config(spec, config, family_expected):
    assert config["model_type"] == family_expected, f"model_type {config['model_type']}, expected {family_expected}"
    dims = spec["dims"]
    if family_expected in ("llama", "mistral", "qwen2", "qwen3", "mixtral", "qwen2_moe"):
        arch = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
                "qwen3": "Qwen3ForCausalLM", "mixtral": "MixtralForCausalLM",
                "qwen2_moe": "Qwen2MoeForCausalLM"}[family_expected]
        assert config["architectures"] == [arch]
        moe = spec.get("moe")
        # MixtralConfig has no dense MLP: its intermediate_size is the experts' width
        mlp_width = dims["intermediate_size"]
        if family_expected == "mixtral":
            mlp_width = moe.get("expert_intermediate_size", mlp_width)
        for k, v in [("hidden_size", dims["hidden_size"]), ("intermediate_size", mlp_width),
                     ("num_hidden_layers", dims["num_layers"]), ("num_attention_heads", dims["num_heads"]),
                     ("num_key_value_heads", dims["num_kv_heads"]), ("head_dim", dims["head_dim"]),
                     ("vocab_size", spec["vocab_size"]), ("rms_norm_eps", spec["norm_eps"]),
                     ("tie_word_embeddings", spec["tie_word_embeddings"]), ("hidden_act", "silu")]:
            assert config[k] == v, f"config {k} = {config[k]}, expected {v}"
        assert config["rope_theta"] == spec["rope"]["theta"]
        if family_expected == "mistral":
            assert config["sliding_window"] == spec["sliding_window"]
        if family_expected == "mixtral":
            assert (config["num_local_experts"], config["num_experts_per_tok"]) == (
                moe["num_experts"], moe["experts_per_token"])
        if family_expected == "qwen2_moe":
            assert (config["num_experts"], config["num_experts_per_tok"], config["moe_intermediate_size"],
                    config["shared_expert_intermediate_size"], config["norm_topk_prob"],
                    config["decoder_sparse_step"], config["mlp_only_layers"]) == (
                moe["num_experts"], moe["experts_per_token"], moe["expert_intermediate_size"],
                moe["shared_expert_intermediate_size"], moe["normalize_topk"], 1, [])
    elif family_expected == "gemma2":
        assert config["architectures"] == ["Gemma2ForCausalLM"]
        for k, v in [("hidden_size", dims["hidden_size"]), ("intermediate_size", dims["intermediate_size"]),
                     ("num_hidden_layers", dims["num_layers"]), ("num_attention_heads", dims["num_heads"]),
                     ("num_key_value_heads", dims["num_kv_heads"]), ("head_dim", dims["head_dim"]),
                     ("vocab_size", spec["vocab_size"]), ("rms_norm_eps", spec["norm_eps"]),
                     ("tie_word_embeddings", spec["tie_word_embeddings"]), ("hidden_activation", "gelu_pytorch_tanh"),
                     ("sliding_window", spec["sliding_window"]), ("query_pre_attn_scalar", spec["query_pre_attn_scalar"]),
                     ("attn_logit_softcapping", spec["attention_softcap"]),
                     ("final_logit_softcapping", spec["final_logit_softcap"])]:
            assert config[k] == v, f"config {k} = {config[k]}, expected {v}"
    elif family_expected == "gemma":
        assert config["architectures"] == ["GemmaForCausalLM"]
        for k, v in [("hidden_size", dims["hidden_size"]), ("intermediate_size", dims["intermediate_size"]),
                     ("num_hidden_layers", dims["num_layers"]), ("num_attention_heads", dims["num_heads"]),
                     ("num_key_value_heads", dims["num_kv_heads"]), ("head_dim", dims["head_dim"]),
                     ("vocab_size", spec["vocab_size"]), ("rms_norm_eps", spec["norm_eps"]),
                     ("hidden_activation", "gelu_pytorch_tanh"), ("attention_bias", spec["bias"]["qkv"])]:
            assert config[k] == v, f"config {k} = {config[k]}, expected {v}"
        assert config["rope_theta"] == spec["rope"]["theta"]
    elif family_expected == "phi":
        assert config["architectures"] == ["PhiForCausalLM"]
        for k, v in [("hidden_size", dims["hidden_size"]), ("intermediate_size", dims["intermediate_size"]),
                     ("num_hidden_layers", dims["num_layers"]), ("num_attention_heads", dims["num_heads"]),
                     ("num_key_value_heads", dims["num_kv_heads"]), ("vocab_size", spec["vocab_size"]),
                     ("layer_norm_eps", spec["norm_eps"]), ("partial_rotary_factor", spec["rope"]["fraction"]),
                     ("max_position_embeddings", spec["context_length"]), ("hidden_act", "gelu_new"),
                     ("qk_layernorm", False), ("tie_word_embeddings", spec["tie_word_embeddings"])]:
            assert config[k] == v, f"config {k} = {config[k]}, expected {v}"
        assert dims["num_heads"] * dims["head_dim"] == dims["hidden_size"]
        assert config["rope_theta"] == spec["rope"]["theta"]
    elif family_expected == "gpt2":
        assert config["architectures"] == ["GPT2LMHeadModel"]
        assert (config["n_embd"], config["n_layer"], config["n_head"], config["n_inner"]) == (
            dims["hidden_size"], dims["num_layers"], dims["num_heads"], dims["intermediate_size"])
        assert config["activation_function"] == {"gelu_tanh": "gelu_new", "gelu": "gelu"}[spec["activation"]]
        assert config["n_positions"] == spec["context_length"]
    elif family_expected == "t5":
        assert config["architectures"] == ["T5ForConditionalGeneration"]
        assert (config["d_model"], config["d_kv"], config["d_ff"], config["num_layers"], config["num_decoder_layers"],
                config["num_heads"]) == (dims["hidden_size"], dims["head_dim"], dims["intermediate_size"],
                                         dims["num_encoder_layers"], dims["num_decoder_layers"], dims["num_heads"])
        assert config["feed_forward_proj"] == {"relu": "relu", "geglu": "gated-gelu"}[spec["activation"]]
        assert config["relative_attention_num_buckets"] == spec["relative_attention"]["num_buckets"]
    else:
        assert config["architectures"] == [family_expected]
        assert "no transformers model class" in config["llmc_note"].lower()
        assert config["llmc_spec"]["dims"] == dims
        for k, v in dims.items():
            assert config[k] == v


# ---- tests -------------------------------------------------------------------------------------------------------

EXAMPLE_FAMILY = {
    "gpt2-124m.yaml": "gpt2", "llama-tiny.yaml": "llama", "llama-tiny-dims.yaml": "llama", "llama2-7b.yaml": "llama",
    "mistral-tiny.yaml": "mistral", "qwen2-tiny.yaml": "qwen2", "t5-small.yaml": "t5",
    "bart-tiny.yaml": "llmc_encoder_decoder", "gemma-tiny.yaml": "gemma", "qwen3-0.6b.yaml": "qwen3",
    "gemma-2-2b.yaml": "gemma2",
    "phi-2.yaml": "phi", "mixtral-8x7b.yaml": "mixtral", "qwen1.5-moe-a2.7b.yaml": "qwen2_moe",
}


EXAMPLE_MAX_BYTES = float(os.environ.get("LLMC_EXAMPLE_MAX_GB", "8")) * 1e9


def one_layer_copy(path):
    with open(path) as fh:
        text = fh.read()
    text, n = re.subn(r"(?m)^(\s+num_layers:)\s*\d+", r"\1 1", text)
    assert n == 1, f"{path}: expected one dims.num_layers line to shrink, found {n}"
    out = os.path.join(TMP, "one-layer-" + os.path.basename(path))
    with open(out, "w") as fh:
        fh.write(text)
    return out


def test_examples():
    ex_dir = os.path.join(SRC, "config", "examples")
    files = sorted(f for f in os.listdir(ex_dir) if f.endswith((".yaml", ".json")))
    assert files, "no example specs"
    for f in files:
        name = os.path.splitext(f)[0]
        # the big examples (llama2-7b: 13.5 GB) need the disk space; say so rather than fail mid-write
        solved = json.loads(run([LLMC, "solve", os.path.join(ex_dir, f), "--json"]).stdout)
        with open(os.path.join(ex_dir, f)) as fh:
            half = any(w in fh.read() for w in ("float16", "bfloat16"))
        need = solved["parameters"] * (2 if half else 4) * 1.2  # the file, plus slack
        path = os.path.join(ex_dir, f)
        if need > EXAMPLE_MAX_BYTES:
            # Llama-2-7B (16 GB), Mixtral-8x7B (112 GB), Qwen1.5-MoE (34 GB): every kind of tensor at full width, in one
            # layer rather than all of them (their counts are checked exactly by the C tests; the
            # small MoE tests write several layers)
            path = one_layer_copy(path)
            print(f"  {f}: {need / 1e9:.1f} GB > LLMC_EXAMPLE_MAX_GB: written with num_layers 1")
        free = shutil.disk_usage(TMP).free
        if need > free and path == os.path.join(ex_dir, f):
            print(f"  {f}: SKIPPED writing {need / 1e9:.1f} GB: only {free / 1e9:.1f} GB free under {TMP}")
            continue
        out = compile_spec(path, "ex-" + name)
        params = ir_params(out)
        n = sum(math.prod(t["shape"]) for t in params.values())
        spec, config, ck, checked = check_output(out, exhaustive=n <= FULL_CHECK)
        family = EXAMPLE_FAMILY.get(f, config["model_type"])
        check_config(spec, config, family)
        if config["model_type"] in ("llama", "mistral", "qwen2", "qwen3", "gemma2", "phi", "gpt2", "t5"):
            assert os.path.exists(os.path.join(out, "safetensors", "generation_config.json"))
        stored = sum(math.prod(h[n_]["shape"]) for n_, (h, _, _) in ck.items())
        assert stored == n, f"{f}: {stored} stored elements, the IR has {n} parameters"
        print(f"  {f}: family {config['model_type']}, {len(ck)} tensors, {n:,} parameters, "
              f"{checked:,} values compared with the reference generator")
        if n > FULL_CHECK:
            shutil.rmtree(out)  # do not keep gigabytes around


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_deterministic():
    spec = os.path.join(SRC, "config", "examples", "gpt2-124m.yaml")
    a = compile_spec(spec, "det-a", "--threads", "1")
    b = compile_spec(spec, "det-b", "--threads", "2")
    c = compile_spec(spec, "det-c", "--threads", "2")
    fa, fb, fc = (os.path.join(x, "safetensors", "model.safetensors") for x in (a, b, c))
    da = file_bytes(fa)
    assert da == file_bytes(fb), "--threads 1 and --threads 2 differ"
    assert da == file_bytes(fc), "two runs differ"
    # a different seed changes normal tensors but not ones/zeros
    text = open(spec).read().replace("  std: 0.02", "  std: 0.02\n  seed: 7")
    s2 = os.path.join(TMP, "gpt2-seed7.yaml")
    with open(s2, "w") as f:
        f.write(text)
    d = compile_spec(s2, "det-seed7")
    h1, _, d1 = read_safetensors(fa)
    h2, m2, d2 = read_safetensors(os.path.join(d, "safetensors", "model.safetensors"))
    assert m2["llmc_seed"] == "7"
    assert not np.array_equal(tensor(h1, d1, "transformer.wte.weight"), tensor(h2, d2, "transformer.wte.weight"))
    assert np.array_equal(tensor(h1, d1, "transformer.h.0.ln_1.weight"), tensor(h2, d2, "transformer.h.0.ln_1.weight"))


def tensor_bytes(out):
    """name -> raw bytes of every stored tensor (single file or shards)."""
    ck = load_checkpoint(out)
    res = {}
    for name, (header, data, _) in ck.items():
        b, e = header[name]["data_offsets"]
        res[name] = (header[name]["dtype"], header[name]["shape"], bytes(data[b:e]))
    return res


def test_roundtrip():
    # gpt2 exercises the fused, transposed views in both directions; bf16 and f32
    for spec_name, extra in [("gpt2-124m.yaml", []), ("qwen2-tiny.yaml", []), ("t5-small.yaml", ["--dtype", "bfloat16"])]:
        spec = os.path.join(SRC, "config", "examples", spec_name)
        base = os.path.splitext(spec_name)[0]
        a = compile_spec(spec, "rt-" + base, *extra)
        st = os.path.join(a, "safetensors", "model.safetensors")
        b = compile_spec(spec, "rt2-" + base, "--weights", st, *extra)
        ta, tb = tensor_bytes(a), tensor_bytes(b)
        assert ta == tb, f"{spec_name}: tensor data differs after import and re-emission"
        _, meta, _ = read_safetensors(os.path.join(b, "safetensors", "model.safetensors"))
        assert meta["llmc_weights"] == "checkpoint"
        print(f"  {spec_name}: {len(ta)} tensors byte-identical after emit -> --weights -> emit")
    # f32 checkpoint imported into a bf16 build: equal to emitting bf16 directly (RNE)
    spec = os.path.join(SRC, "config", "examples", "llama-tiny-dims.yaml")
    f32 = compile_spec(spec, "conv-f32")
    bf_direct = compile_spec(spec, "conv-bf16", "--dtype", "bfloat16")
    bf_import = compile_spec(spec, "conv-imp", "--dtype", "bfloat16", "--weights",
                             os.path.join(f32, "safetensors", "model.safetensors"))
    assert tensor_bytes(bf_direct) == tensor_bytes(bf_import), "f32 -> bf16 on import differs from direct bf16"


def test_shards():
    text = open(os.path.join(SRC, "config", "examples", "gpt2-124m.yaml")).read()
    text += "emit_options:\n  safetensors:\n    max_shard_size: 100MB\n"
    spec = os.path.join(TMP, "gpt2-sharded.yaml")
    with open(spec, "w") as f:
        f.write(text)
    out = compile_spec(spec, "sharded")
    d = os.path.join(out, "safetensors")
    files = sorted(os.listdir(d))
    shards = [f for f in files if f.startswith("model-")]
    n = len(shards)
    assert n > 1 and shards == [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)], shards
    assert "model.safetensors" not in files
    with open(os.path.join(d, "model.safetensors.index.json")) as f:
        raw = f.read()
    index = json.loads(raw)
    assert raw == json.dumps(index, indent=2, sort_keys=True) + "\n", "index is not written as transformers writes it"
    total = 0
    seen = {}
    order = []
    for s in shards:
        header, meta, data = read_safetensors(os.path.join(d, s))
        size = sum(e["data_offsets"][1] - e["data_offsets"][0] for e in header.values())
        total += size
        for name in header:
            seen[name] = s
            order.append((name, header[name]["data_offsets"][1] - header[name]["data_offsets"][0]))
        big = [n_ for n_ in header if header[n_]["data_offsets"][1] - header[n_]["data_offsets"][0] > 100_000_000]
        assert size <= 100_000_000 or (len(header) == 1 and big), f"{s}: {size} bytes over the limit"
    assert index["metadata"]["total_size"] == total
    assert index["weight_map"] == seen
    # transformers' greedy rule, replayed on the tensors in emission order
    want, cur, cur_size = [], [], 0
    for name, size in order:
        if size > 100_000_000:
            want.append([name])
            continue
        if cur and cur_size + size > 100_000_000:
            want.append(cur)
            cur, cur_size = [], 0
        cur.append(name)
        cur_size += size
    if cur:
        want.append(cur)
    got = [[n_ for n_, _ in order if seen[n_] == s] for s in shards]
    assert sorted(map(tuple, got)) == sorted(map(tuple, want)), "shards do not follow transformers' rule"
    # the same tensor data as the unsharded file, and the index imports as a checkpoint
    single = compile_spec(os.path.join(SRC, "config", "examples", "gpt2-124m.yaml"), "unsharded")
    assert tensor_bytes(out) == tensor_bytes(single)
    back = compile_spec(os.path.join(SRC, "config", "examples", "gpt2-124m.yaml"), "from-index", "--weights",
                        os.path.join(d, "model.safetensors.index.json"))
    assert tensor_bytes(back) == tensor_bytes(single)
    print(f"  gpt2-124m at 100MB: {n} shards, index total_size {total:,}")


def test_errors():
    spec = os.path.join(SRC, "config", "examples", "llama-tiny-dims.yaml")
    out = compile_spec(spec, "err-base")
    st = os.path.join(out, "safetensors", "model.safetensors")
    # a checkpoint of another architecture: everything listed in one error, nothing written
    other = compile_spec(os.path.join(SRC, "config", "examples", "qwen2-tiny.yaml"), "err-other")
    dest = os.path.join(TMP, "err-out")
    r = run([LLMC, "compile", spec, "-o", dest, "--emit", "safetensors", "--weights",
             os.path.join(other, "safetensors", "model.safetensors")], ok=False)
    assert r.returncode != 0 and not os.path.exists(dest)
    assert "checkpoint does not match the model" in r.stderr and "missing" in r.stderr and "mis-shaped" in r.stderr \
        and "unexpected" in r.stderr, r.stderr
    assert r.stderr.count("checkpoint does not match") == 1
    # corrupted copies: truncated, header length past the end, bad dtype
    raw = file_bytes(st)
    (n,) = struct.unpack("<Q", raw[:8])
    cases = {
        "truncated": (raw[:len(raw) // 2], "past the data section"),
        "past-eof": (struct.pack("<Q", len(raw)) + raw[8:], "past the end of the file"),
        "bad-dtype": (raw.replace(b'"dtype":"F32"', b'"dtype":"X32"', 1), "unknown dtype 'X32'"),
    }
    for label, (blob, want) in cases.items():
        path = os.path.join(TMP, f"corrupt-{label}.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        r = run([LLMC, "compile", spec, "-o", dest, "--emit", "safetensors", "--weights", path], ok=False)
        assert r.returncode != 0 and want in r.stderr and path in r.stderr, f"{label}: {r.stderr}"
        assert not os.path.exists(dest)
    # a bad option is refused before anything is written
    bad = write_spec("badopt", open(spec).read().replace("name: llama-tiny-dims\n", "") +
                     "emit_options:\n  safetensors:\n    max_shard_size: lots\n    shard: 1\n")
    r = run([LLMC, "compile", bad, "-o", dest, "--emit", "safetensors"], ok=False)
    assert r.returncode != 0 and "max_shard_size: expected a byte size" in r.stderr \
        and "emit_options.safetensors.shard: unknown option" in r.stderr, r.stderr


def main():
    tests = [test_examples, test_deterministic, test_roundtrip, test_shards, test_errors]
    failed = 0
    for t in tests:
        print(f"{t.__name__} ...", flush=True)
        try:
            t()
            print(f"{t.__name__}: ok", flush=True)
        except Exception:
            failed += 1
            print(f"{t.__name__}: FAILED", flush=True)
            traceback.print_exc()
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{len(tests) - failed}/{len(tests)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
