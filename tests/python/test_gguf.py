#!/usr/bin/env python3
"""The GGUF emitter against real llama.cpp (docs/gguf.md).

For small specs covering every mapped architecture and feature, `llmc compile --emit gguf` writes
a GGUF file; llama.cpp (node-llama-cpp's prebuilt libllama, through tests/oracle/llama_logits)
loads it and computes the logits of a fixed token sequence; they are compared with the logits of
an independent numpy forward pass (gguf_reference.py, the IR semantics of docs/templates.md) on the
same weights, and with the emitted PyTorch package's when that emitter is present:

  * F32: max |llama.cpp - reference| <= 1e-3 (measured: ~2e-6 for llama/qwen2/t5-relu; gpt2 and
    t5-geglu carry llama.cpp's float16 GELU lookup table, ~1e-4 at the default init).
  * Q8_0: the quantized bytes equal gguf-py's reference quantizer; top-1 agreement >= 99% of
    positions with a near-tie tolerance (see Q8_TIE below), and plain top-1 agreement >= 90%.
  * Q4_0, F16, BF16: llama.cpp loads the file, bytes match gguf-py (Q4_0), logits stay close.
  * every file: structural checks with gguf-py (keys and their types, shapes in ggml order,
    tensor types, offsets and alignment).
  * byte vocabulary: llama.cpp tokenizes UTF-8 text to one token per byte and back.
  * refusals: specs no llama.cpp architecture expresses fail validation with the feature named.

The oracle is required: without it (scripts/setup-oracles.sh) this test fails, unless
LLMC_SKIP_ORACLE=1 is set, which is for machines that cannot install it and says so loudly."""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from llmc_testlib import Checks, read_safetensors, write_safetensors

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_reference as R  # noqa: E402

LLMC = os.environ.get("LLMC")
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
GGUF_PY = os.environ.get("LLMC_GGUF_PY", "")

# Q8_0: llama.cpp also quantizes activations to Q8_0 inside every matrix product, so its logits
# move by ~1-2% of their spread; on a random-weight model the top two logits are often closer
# than that. A position agrees when llama.cpp's top-1 token is within Q8_TIE * std(reference
# logits) of the reference maximum (a near-tie), and >= 99% of positions must agree.
Q8_TIE = 0.05

CHECKS = Checks()
check = CHECKS
failures = CHECKS.failures


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def emitters_available():
    out = run([LLMC, "plugins"]).stdout
    return {line.split()[1] for line in out.splitlines() if line.startswith("emitter ")}


def compile_spec(tmp, name, text, emit, weights=None):
    spec = os.path.join(tmp, name + ".yaml")
    with open(spec, "w") as f:
        f.write(text)
    out = os.path.join(tmp, name)
    r = run([LLMC, "compile", spec, "-o", out, "--emit", ",".join(emit), "--force"]
            + (["--weights", weights] if weights else []))
    if r.returncode != 0:
        raise RuntimeError(f"llmc compile {name} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    with open(os.path.join(out, "spec.json")) as f:
        return out, json.load(f)


# ---- reading back -----------------------------------------------------------------------------
def random_checkpoint(out, spec, seed):
    """IR-named weights with non-trivial norms and biases (an init source has ones and zeros there),
    stored in the Hugging Face layout the checkpoint reader expects (docs/weights.md)"""
    with open(os.path.join(out, "ir.json")) as f:
        ir = json.load(f)
    rng = np.random.default_rng(seed)
    W = {}
    for t in ir["tensors"]:
        if t["kind"] != "param":
            continue
        shape = t["shape"]
        if t["init"]["kind"] == "ones":
            W[t["name"]] = (1 + 0.2 * rng.standard_normal(shape)).astype(np.float32)
        elif t["init"]["kind"] == "zeros":
            W[t["name"]] = (0.05 * rng.standard_normal(shape)).astype(np.float32)
        else:
            W[t["name"]] = (t["init"]["std"] * rng.standard_normal(shape)).astype(np.float32)
    st = dict(W)
    if gpt2_family(spec):
        st = ir_to_gpt2_hf(spec, W)
    return W, st


def gpt2_family(spec):
    """the specs whose Hugging Face layout is GPT-2's (transformer.* names, fused c_attn)"""
    b, d = spec["bias"], spec["dims"]
    return (spec["template"] == "decoder_only" and spec["positional_encoding"] == "learned"
            and spec["norm"] == "layernorm" and spec["activation"] in ("gelu", "gelu_tanh")
            and b["qkv"] and b["attn_out"] and b["mlp"] and b["norm"] and not b["lm_head"]
            and spec["attention"] == "mha" and d["num_heads"] * d["head_dim"] == d["hidden_size"])


def ir_to_gpt2_hf(spec, W):
    st = {"transformer.wte.weight": W["model.embed_tokens.weight"],
          "transformer.wpe.weight": W["model.embed_positions.weight"],
          "transformer.ln_f.weight": W["model.norm.weight"], "transformer.ln_f.bias": W["model.norm.bias"]}
    if "lm_head.weight" in W:
        st["lm_head.weight"] = W["lm_head.weight"]
    for i in range(spec["dims"]["num_layers"]):
        h, p = f"transformer.h.{i}", f"model.layers.{i}"
        for a, b in (("ln_1", "input_layernorm"), ("ln_2", "post_attention_layernorm")):
            st[f"{h}.{a}.weight"], st[f"{h}.{a}.bias"] = W[f"{p}.{b}.weight"], W[f"{p}.{b}.bias"]
        st[f"{h}.attn.c_attn.weight"] = np.concatenate([W[f"{p}.self_attn.{n}_proj.weight"] for n in "qkv"]).T
        st[f"{h}.attn.c_attn.bias"] = np.concatenate([W[f"{p}.self_attn.{n}_proj.bias"] for n in "qkv"])
        for a, b in (("attn.c_proj", "self_attn.o_proj"), ("mlp.c_fc", "mlp.up_proj"), ("mlp.c_proj", "mlp.down_proj")):
            st[f"{h}.{a}.weight"], st[f"{h}.{a}.bias"] = W[f"{p}.{b}.weight"].T, W[f"{p}.{b}.bias"]
    return st


def hf_to_ir(spec, st):
    """safetensors (Hugging Face layout, docs/weights.md) -> IR-named arrays"""
    if not any(k.startswith("transformer.") for k in st):
        return dict(st)   # llama, mistral, qwen2, t5 and llmc_* families keep IR names
    d = spec["dims"]
    q, kv = d["num_heads"] * d["head_dim"], d["num_kv_heads"] * d["head_dim"]
    W = {"model.embed_tokens.weight": st["transformer.wte.weight"],
         "model.embed_positions.weight": st["transformer.wpe.weight"],
         "model.norm.weight": st["transformer.ln_f.weight"]}
    if "transformer.ln_f.bias" in st:
        W["model.norm.bias"] = st["transformer.ln_f.bias"]
    if "lm_head.weight" in st:
        W["lm_head.weight"] = st["lm_head.weight"]
    for i in range(d["num_layers"]):
        h, p = f"transformer.h.{i}", f"model.layers.{i}"
        for a, b in (("ln_1", "input_layernorm"), ("ln_2", "post_attention_layernorm")):
            W[f"{p}.{b}.weight"] = st[f"{h}.{a}.weight"]
            if f"{h}.{a}.bias" in st:
                W[f"{p}.{b}.bias"] = st[f"{h}.{a}.bias"]
        w = st[f"{h}.attn.c_attn.weight"].T   # Conv1D stores [in, out]
        for n, (s, e) in zip("qkv", ((0, q), (q, q + kv), (q + kv, q + 2 * kv))):
            W[f"{p}.self_attn.{n}_proj.weight"] = w[s:e]
            if f"{h}.attn.c_attn.bias" in st:
                W[f"{p}.self_attn.{n}_proj.bias"] = st[f"{h}.attn.c_attn.bias"][s:e]
        for a, b in (("attn.c_proj", "self_attn.o_proj"), ("mlp.c_fc", "mlp.up_proj"), ("mlp.c_proj", "mlp.down_proj")):
            W[f"{p}.{b}.weight"] = st[f"{h}.{a}.weight"].T
            if f"{h}.{a}.bias" in st:
                W[f"{p}.{b}.bias"] = st[f"{h}.{a}.bias"]
    return W


def gguf_tensors(reader):
    import gguf
    out = {}
    for t in reader.tensors:
        shape = [int(x) for x in reversed(list(t.shape))]
        out[t.name] = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(shape)
    return out


def unpermute(w, n_head):
    """llama.cpp's interleaved RoPE rows back to rotate-half order"""
    hd = w.shape[0] // n_head
    return w.reshape(n_head, hd // 2, 2, -1).transpose(0, 2, 1, 3).reshape(w.shape)


def gguf_to_ir(spec, arch, T):
    """the inverse of the emitter's mapping (written here independently), GGUF tensors -> IR names"""
    d = spec["dims"]
    W = {}
    if arch == "t5":
        W["shared.weight"] = T["token_embd.weight"]
        for s, st, n in (("enc", "encoder", d["num_encoder_layers"]), ("dec", "decoder", d["num_decoder_layers"])):
            W[f"{st}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = T[f"{s}.blk.0.attn_rel_b.weight"]
            W[f"{st}.final_layer_norm.weight"] = T[f"{s}.output_norm.weight"]
            for i in range(n):
                p, b = f"{st}.block.{i}", f"{s}.blk.{i}"
                W[p + ".layer.0.layer_norm.weight"] = T[b + ".attn_norm.weight"]
                for x in "qkvo":
                    W[f"{p}.layer.0.SelfAttention.{x}.weight"] = T[f"{b}.attn_{x}.weight"]
                j = 1
                if s == "dec":
                    W[p + ".layer.1.layer_norm.weight"] = T[b + ".cross_attn_norm.weight"]
                    for x in "qkvo":
                        W[f"{p}.layer.1.EncDecAttention.{x}.weight"] = T[f"{b}.cross_attn_{x}.weight"]
                    j = 2
                W[f"{p}.layer.{j}.layer_norm.weight"] = T[b + ".ffn_norm.weight"]
                f = f"{p}.layer.{j}.DenseReluDense"
                if b + ".ffn_gate.weight" in T:
                    W[f + ".wi_0.weight"], W[f + ".wi_1.weight"] = T[b + ".ffn_gate.weight"], T[b + ".ffn_up.weight"]
                else:
                    W[f + ".wi.weight"] = T[b + ".ffn_up.weight"]
                W[f + ".wo.weight"] = T[b + ".ffn_down.weight"]
        if not spec.get("tie_word_embeddings"):
            W["lm_head.weight"] = T["output.weight"]
        return W
    W["model.embed_tokens.weight"] = T["token_embd.weight"]
    if "position_embd.weight" in T:
        W["model.embed_positions.weight"] = T["position_embd.weight"]
    zero_bias = arch == "gpt2"   # gpt2 files carry zero biases where the model has none
    for i in range(d["num_layers"]):
        p, b = f"model.layers.{i}", f"blk.{i}"
        for g, n in (("attn_norm", "input_layernorm"), ("ffn_norm", "post_attention_layernorm")):
            W[f"{p}.{n}.weight"] = T[f"{b}.{g}.weight"]
            if f"{b}.{g}.bias" in T:
                W[f"{p}.{n}.bias"] = T[f"{b}.{g}.bias"]
        if arch == "gpt2":
            q, kv = d["num_heads"] * d["head_dim"], d["num_kv_heads"] * d["head_dim"]
            for n, (s, e) in zip("qkv", ((0, q), (q, q + kv), (q + kv, q + 2 * kv))):
                W[f"{p}.self_attn.{n}_proj.weight"] = T[b + ".attn_qkv.weight"][s:e]
                W[f"{p}.self_attn.{n}_proj.bias"] = T[b + ".attn_qkv.bias"][s:e]
        else:
            wq, wk = T[b + ".attn_q.weight"], T[b + ".attn_k.weight"]
            if arch == "llama":
                wq, wk = unpermute(wq, d["num_heads"]), unpermute(wk, d["num_kv_heads"])
            W[p + ".self_attn.q_proj.weight"], W[p + ".self_attn.k_proj.weight"] = wq, wk
            W[p + ".self_attn.v_proj.weight"] = T[b + ".attn_v.weight"]
            for n in "qkv":
                if f"{b}.attn_{n}.bias" in T:
                    W[f"{p}.self_attn.{n}_proj.bias"] = T[f"{b}.attn_{n}.bias"]
        W[p + ".self_attn.o_proj.weight"] = T[b + ".attn_output.weight"]
        if b + ".attn_output.bias" in T:
            W[p + ".self_attn.o_proj.bias"] = T[b + ".attn_output.bias"]
        for g, n in (("gate", "gate_proj"), ("up", "up_proj"), ("down", "down_proj")):
            if f"{b}.ffn_{g}.weight" in T:
                W[f"{p}.mlp.{n}.weight"] = T[f"{b}.ffn_{g}.weight"]
            if f"{b}.ffn_{g}.bias" in T:
                W[f"{p}.mlp.{n}.bias"] = T[f"{b}.ffn_{g}.bias"]
    W["model.norm.weight"] = T["output_norm.weight"]
    if "output_norm.bias" in T:
        W["model.norm.bias"] = T["output_norm.bias"]
    if "output.weight" in T:
        W["lm_head.weight"] = T["output.weight"]
    if "output.bias" in T:
        W["lm_head.bias"] = T["output.bias"]
    del zero_bias
    if arch == "gemma":   # llama.cpp scales by the stored weight: the file holds offset + w
        off = np.float32(spec.get("norm_weight_offset", 0))
        for k in W:
            if k.endswith("layernorm.weight") or k == "model.norm.weight":
                W[k] = W[k] - off
    return W


# ---- structure ---------------------------------------------------------------------------------
U32, F32, STR, BOOL, ARR, U64 = 4, 6, 8, 7, 9, 10


def field(reader, key):
    f = reader.get_field(key)
    return None if f is None else f


def check_structure(name, path, spec, arch, expect_quant):
    import gguf
    r = gguf.GGUFReader(path)
    with open(path, "rb") as f:
        head = f.read(8)
    check(head[:4] == b"GGUF" and struct.unpack("<I", head[4:])[0] == 3, f"{name}: GGUF v3 magic/version")
    al = field(r, "general.alignment")
    check(al is not None and al.types == [gguf.GGUFValueType.UINT32] and int(al.parts[-1][0]) == 32,
          f"{name}: general.alignment is u32 32")
    check(r.data_offset % 32 == 0, f"{name}: data section aligned ({r.data_offset})")
    prev_end = 0
    for t in r.tensors:
        off = t.data_offset - r.data_offset
        check(off % 32 == 0, f"{name}: tensor {t.name} offset {off} aligned")
        check(off >= prev_end, f"{name}: tensor {t.name} in info order without overlap")
        prev_end = off + t.n_bytes
    check(os.path.getsize(path) >= r.data_offset + prev_end, f"{name}: file holds every tensor's bytes")

    def typed(key, vtype, value=None):
        f = field(r, key)
        ok = f is not None and f.types[0] == vtype
        if ok and value is not None:
            ok = f.contents() == value if vtype == STR else abs(float(f.contents()) - value) <= 1e-6 * max(1, abs(value))
        check(ok, f"{name}: {key} is {gguf.GGUFValueType(vtype).name}" + (f" = {value}" if value is not None else "")
              + f" (got {None if f is None else (f.types, f.contents())})")

    d = spec["dims"]
    typed("general.architecture", STR, arch)
    typed("general.name", STR, spec["name"])
    typed("general.file_type", U32)
    typed("llmc.version", STR)
    typed("llmc.spec_hash", STR)
    # the one provenance hash: SHA-256 of OUT/spec.json, as manifest.json and safetensors carry it
    out_dir = os.path.dirname(os.path.dirname(path))
    with open(os.path.join(out_dir, "spec.json"), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(out_dir, "manifest.json")) as f:
        check(json.load(f)["spec_sha256"] == want, f"{name}: manifest spec_sha256 is sha256(spec.json)")
    typed("llmc.spec_hash", STR, want)
    src = field(r, "llmc.weights")
    check(src is not None and src.contents() in ("init", "checkpoint"), f"{name}: llmc.weights says init or checkpoint")
    if src is not None and src.contents() == "checkpoint":
        typed("llmc.checkpoint", STR)
    else:
        typed("llmc.seed", U64)
    typed(f"{arch}.context_length", U32, spec["context_length"])
    typed(f"{arch}.embedding_length", U32, d["hidden_size"])
    typed(f"{arch}.feed_forward_length", U32, d["intermediate_size"])
    typed(f"{arch}.attention.head_count", U32, d["num_heads"])
    typed(f"{arch}.attention.head_count_kv", U32, d["num_kv_heads"])
    typed(f"{arch}.attention.key_length", U32, d["head_dim"])
    typed(f"{arch}.vocab_size", U32, spec["vocab_size"])
    if arch == "t5":
        typed("t5.block_count", U32, d["num_encoder_layers"])
        typed("t5.decoder_block_count", U32, d["num_decoder_layers"])
        typed("t5.attention.relative_buckets_count", U32, spec["relative_attention"]["num_buckets"])
        typed("t5.attention.layer_norm_rms_epsilon", F32, spec["norm_eps"])
    else:
        typed(f"{arch}.block_count", U32, d["num_layers"])
    if arch == "gpt2":
        typed("gpt2.attention.layer_norm_epsilon", F32, spec["norm_eps"])
    if arch in ("llama", "qwen2", "gemma"):
        typed(f"{arch}.attention.layer_norm_rms_epsilon", F32, spec["norm_eps"])
        typed(f"{arch}.rope.freq_base", F32, spec["rope"]["theta"])
        typed(f"{arch}.rope.dimension_count", U32, d["head_dim"])
        sc = spec["rope"].get("scaling") or {}
        if sc.get("type") in ("linear", "yarn"):
            typed(f"{arch}.rope.scaling.type", STR, sc["type"])
            typed(f"{arch}.rope.scaling.factor", F32, sc["factor"])
    tok = (spec.get("tokenizer") or {}).get("type", "none") if isinstance(spec.get("tokenizer"), dict) else spec.get("tokenizer")
    if tok == "byte":
        typed("tokenizer.ggml.model", STR, "gpt2")
        f = field(r, "tokenizer.ggml.tokens")
        check(f is not None and len(f.data) == spec["vocab_size"], f"{name}: one token per vocabulary row")
    else:
        typed("tokenizer.ggml.model", STR, "no_vocab")
    names = {t.name: t for t in r.tensors}
    tied = spec.get("tie_word_embeddings")
    if arch == "t5":
        check("output.weight" in names, f"{name}: t5 always carries output.weight (pre-scaled when tied)")
    else:
        check(("output.weight" in names) != bool(tied), f"{name}: output.weight present iff untied")
    emb = names["token_embd.weight"]
    check([int(x) for x in emb.shape] == [d["hidden_size"], spec["vocab_size"]],
          f"{name}: token_embd ne = [hidden, vocab] (got {list(emb.shape)})")
    for t in r.tensors:
        tn = t.tensor_type.name
        if len(t.shape) == 1 or "norm" in t.name or "attn_rel_b" in t.name or "rope_freqs" in t.name:
            check(tn == "F32", f"{name}: {t.name} (1-D/norm/bias table) stays F32 (got {tn})")
        elif expect_quant and t.name != "position_embd.weight":
            check(tn in (expect_quant, "Q8_0"), f"{name}: {t.name} quantized as {expect_quant} (got {tn})")
    return r


# ---- cases -------------------------------------------------------------------------------------
def spec_text(name, body, extra=""):
    return f"name: {name}\n{body}\n{extra}"


LLAMA = """template: decoder_only
vocab_size: 384
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 128}
weights: {seed: 3}"""

CASES = [
    # name, spec body, arch
    ("llama_gqa", LLAMA, "llama"),
    ("llama_mha_linear", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 128}
rope: {theta: 20000, scaling: {type: linear, factor: 2}}
tie_word_embeddings: true
weights: {seed: 4}""", "llama"),
    ("llama_mqa_headdim_bias_yarn", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, head_dim: 32, intermediate_size: 96}
attention: mqa
bias: {attn_out: true, mlp: true}
rope: {scaling: {type: yarn, factor: 4, original_context_length: 24}}
weights: {seed: 5}""", "llama"),
    ("llama_llama3", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}
rope: {theta: 500000, scaling: {type: llama3, factor: 8, original_context_length: 16}}
weights: {seed: 6}""", "llama"),
    ("qwen2_qkv_bias", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 128}
bias: {qkv: true, lm_head: true}
rope: {theta: 1000000}
weights: {seed: 7}""", "qwen2"),
    ("gpt2_tied", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 256}
norm: layernorm
activation: gelu_tanh
positional_encoding: learned
bias: {qkv: true, attn_out: true, mlp: true, norm: true}
tie_word_embeddings: true
weights: {seed: 8}""", "gpt2"),
    ("gpt2_nobias_gqa_untied", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 256}
norm: layernorm
activation: gelu_tanh
positional_encoding: learned
bias: {norm: false}
weights: {seed: 9}""", "gpt2"),
    ("t5_relu_tied", """template: encoder_decoder
vocab_size: 300
context_length: 160
dims: {num_encoder_layers: 3, num_decoder_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 128}
norm: rmsnorm
norm_eps: 1e-6
activation: relu
positional_encoding: relative
relative_attention: {num_buckets: 16, max_distance: 128}
bias: {norm: false}
tie_word_embeddings: true
weights: {seed: 10}""", "t5"),
    ("t5_geglu_untied", """template: encoder_decoder
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 2, head_dim: 16, intermediate_size: 96}
norm: rmsnorm
activation: geglu
positional_encoding: relative
bias: {norm: false}
weights: {seed: 11}""", "t5"),
    # Gemma-1: (1 + w) RMSNorm, embeddings times sqrt(hidden), GeGLU (tanh), head_dim 32 != 64 / 4, MQA, tied
    ("gemma_mqa_headdim", """template: decoder_only
vocab_size: 300
context_length: 160
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, head_dim: 32, intermediate_size: 96}
attention: mqa
norm_eps: 1e-6
norm_weight_offset: 1
embedding_scale: sqrt_hidden
activation: geglu
bias: {norm: false}
tie_word_embeddings: true
weights: {seed: 12}""", "gemma"),
    ("llama_byte_vocab", LLAMA.replace("vocab_size: 384", "vocab_size: 300") + "\ntokenizer: byte", "llama"),
]

QUANT_CASES = [
    # name, base case, quantize/precision line, check kind
    ("llama_gqa_q8", "llama_gqa", "quantize: q8_0", "Q8_0"),
    ("gpt2_tied_q8", "gpt2_tied", "quantize: q8_0", "Q8_0"),
    ("t5_relu_tied_q8", "t5_relu_tied", "quantize: q8_0", "Q8_0"),
    ("qwen2_qkv_bias_q8", "qwen2_qkv_bias", "quantize: q8_0", "Q8_0"),
    ("llama_gqa_q4", "llama_gqa", "quantize: q4_0", "Q4_0"),
    ("llama_gqa_f16", "llama_gqa", "precision: float16", "F16"),
    ("llama_gqa_bf16", "llama_gqa", "precision: bfloat16", "BF16"),
]


def tokens(n, vocab, salt):
    return [int((i * 37 + salt * 11 + 5) % vocab) for i in range(n)]


def oracle_logits(tmp, path, enc, dec=None):
    out = os.path.join(tmp, "logits.bin")
    cmd = [ORACLE, "logits", path, "--tokens", ",".join(map(str, enc)), "--out", out]
    if dec is not None:
        cmd += ["--decoder-tokens", ",".join(map(str, dec))]
    r = run(cmd)
    if r.returncode != 0:
        raise RuntimeError(f"llama.cpp failed on {path}:\n{r.stdout}{r.stderr}")
    return np.fromfile(out, dtype=np.float32)


TORCH_SCRIPT = r"""
import glob, os, sys
import numpy as np, torch
out, enc, dec, dest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
pkgs = [os.path.dirname(p) for p in glob.glob(os.path.join(out, "pytorch", "*", "__init__.py"))]
sys.path.insert(0, os.path.join(out, "pytorch"))
mod = __import__(os.path.basename(pkgs[0]))
model = mod.from_pretrained(out, dtype=torch.float32)
ids = torch.tensor([[int(t) for t in enc.split(",")]])
with torch.no_grad():
    if dec:
        y = model(input_ids=ids, decoder_input_ids=torch.tensor([[int(t) for t in dec.split(",")]]))
    else:
        y = model(ids)
y = getattr(y, "logits", y)
np.save(dest, y[0].float().numpy())
"""


def torch_logits(tmp, out, enc, dec):
    """logits of the PyTorch package the pytorch emitter wrote into `out`"""
    dest = os.path.join(tmp, "torch_logits.npy")
    r = run(["/usr/bin/python3", "-c", TORCH_SCRIPT, out, ",".join(map(str, enc)),
             ",".join(map(str, dec)) if dec is not None else "", dest])
    if r.returncode != 0:
        raise RuntimeError(f"the PyTorch package in {out} failed:\n{r.stdout}{r.stderr}")
    return np.load(dest)


def reference(spec, W, enc, dec=None, gelu="exact"):
    R.GELU_MODE = gelu
    if spec["template"] == "encoder_decoder":
        return R.t5_logits(spec, W, enc, dec)
    return R.decoder_only_logits(spec, W, enc)


def main():
    if not LLMC:
        print("FAIL: $LLMC is not set (run through ctest)")
        return 1
    if not ORACLE or not os.path.exists(ORACLE) or not GGUF_PY:
        msg = ("the llama.cpp oracle is not built (run scripts/setup-oracles.sh, or scripts/setup.sh --test, "
               "then re-run cmake)")
        if os.environ.get("LLMC_SKIP_ORACLE") == "1":
            print("SKIPPED (LLMC_SKIP_ORACLE=1):", msg)
            return 0
        print("FAIL:", msg)
        return 1
    sys.path.insert(0, GGUF_PY)
    import gguf  # noqa: F401

    avail = emitters_available()
    check("gguf" in avail, "the gguf emitter plugin is loaded")
    extra_emit = ["safetensors"] if "safetensors" in avail else []
    if not extra_emit:
        print("note: no safetensors emitter; reference weights are read back from the F32 GGUF files")
    with_torch = "pytorch" in avail and "safetensors" in avail
    if with_torch:
        extra_emit.append("pytorch")
    else:
        print("note: no pytorch emitter; llama.cpp is compared with the numpy reference only")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base_specs = {name: body for name, body, _ in CASES}
        for name, body, arch in CASES:
            out, spec = compile_spec(tmp, name, spec_text(name, body), ["gguf"] + extra_emit)
            path = os.path.join(out, "gguf", "model.gguf")
            r = check_structure(name, path, spec, arch, None)
            T = gguf_tensors(r)
            W = gguf_to_ir(spec, arch, T)
            if extra_emit:
                sts = [os.path.join(dp, f) for dp, _, fs in os.walk(out) for f in fs if f.endswith(".safetensors")]
                Wst = {}
                for p in sts:
                    Wst.update(read_safetensors(p, np.float32)[0])
                Wst = hf_to_ir(spec, Wst)
                # the GGUF holds the same values as the safetensors output (zero biases aside)
                same = all(k in W and W[k].shape == v.shape and np.array_equal(W[k], v) for k, v in Wst.items())
                check(same, f"{name}: GGUF tensors equal the safetensors output under the mapping")
                W = Wst
            V = spec["vocab_size"]
            if arch == "t5":
                enc, dec = tokens(64, V, 1), tokens(100, V, 2)
            else:
                enc, dec = tokens(128, V, 3), None
            got = oracle_logits(tmp, path, enc, dec)
            ref = reference(spec, W, enc, dec)
            got = got.reshape(ref.shape)
            diff = float(np.abs(got - ref).max())
            check(diff <= 1e-3, f"{name}: F32 max |llama.cpp - reference| = {diff:.2e} <= 1e-3")
            if spec.get("activation") in ("gelu_tanh", "geglu"):
                d2 = float(np.abs(got - reference(spec, W, enc, dec, gelu="ggml")).max())
                check(d2 <= 1e-4, f"{name}: with llama.cpp's float16 GELU table modelled, diff {d2:.2e} <= 1e-4")
                print(f"  {name}: {arch}, max diff {diff:.2e} (GELU table modelled: {d2:.2e})")
            else:
                print(f"  {name}: {arch}, max diff {diff:.2e}")
            if with_torch:
                tl = torch_logits(tmp, out, enc, dec).reshape(ref.shape)
                dt = float(np.abs(got - tl).max())
                check(dt <= 1e-3, f"{name}: F32 max |llama.cpp - PyTorch package| = {dt:.2e} <= 1e-3")
                print(f"  {name}: vs the PyTorch package {dt:.2e} (PyTorch vs reference {np.abs(tl - ref).max():.2e})")
            results[name] = (spec, W, enc, dec, ref)
            if name == "llama_byte_vocab":
                text = "Hello, world! a . b ? c\n\ttabs\r\n  spaces  h\u00e9llo \u65e5\u672c\u8a9e \U0001F600 \x01\x7f end"
                tf = os.path.join(tmp, "text.txt")
                with open(tf, "wb") as f:
                    f.write(text.encode("utf-8"))
                rr = run([ORACLE, "tokenize", path, tf])
                ids = [int(x) for x in rr.stdout.split()]
                check(ids == list(text.encode("utf-8")), f"{name}: llama.cpp tokenizes to one token per byte")
                back = subprocess.run([ORACLE, "detokenize", path] + [str(i) for i in ids], stdout=subprocess.PIPE).stdout
                check(back == text.encode("utf-8"), f"{name}: detokenize gives the bytes back")

        # checkpoint weights: norms and biases that are not ones and zeros, in each family's layout
        for base in ("llama_mqa_headdim_bias_yarn", "qwen2_qkv_bias", "gpt2_tied", "t5_relu_tied", "gemma_mqa_headdim"):
            arch = next(a for n, _, a in CASES if n == base)
            bdir = os.path.join(tmp, base)
            with open(os.path.join(bdir, "spec.json")) as f:
                bspec = json.load(f)
            W, st = random_checkpoint(bdir, bspec, 100 + len(base))
            ckpt = os.path.join(tmp, base + ".ckpt.safetensors")
            write_safetensors(ckpt, st)
            name = base + "_ckpt"
            out, spec = compile_spec(tmp, name, spec_text(name, base_specs[base]), ["gguf"], weights=ckpt)
            path = os.path.join(out, "gguf", "model.gguf")
            check_structure(name, path, spec, arch, None)
            enc, dec, _ = results[base][2], results[base][3], None
            got = oracle_logits(tmp, path, enc, dec)
            ref = reference(spec, W, enc, dec)
            diff = float(np.abs(got.reshape(ref.shape) - ref).max())
            check(diff <= 1e-3, f"{name}: F32 max |llama.cpp - reference| = {diff:.2e} <= 1e-3 (checkpoint weights)")
            print(f"  {name}: {arch}, checkpoint weights, max diff {diff:.2e}")

        for name, base, line, kind in QUANT_CASES:
            arch = next(a for n, _, a in CASES if n == base)
            out, spec = compile_spec(tmp, name, spec_text(name, base_specs[base], line), ["gguf"])
            path = os.path.join(out, "gguf", "model.gguf")
            r = check_structure(name, path, spec, arch, kind if kind.startswith("Q") else None)
            bspec, W, enc, dec, ref = results[base]
            if kind.startswith("Q"):
                # bit-exact against gguf-py's reference quantizer on the F32 values
                import gguf as G
                fr = G.GGUFReader(os.path.join(tmp, base, "gguf", "model.gguf"))
                f32 = {t.name: np.asarray(t.data) for t in fr.tensors}
                exact = True
                for t in r.tensors:
                    if t.tensor_type.name in ("Q8_0", "Q4_0"):
                        q = G.quants.quantize(f32[t.name].astype(np.float32), t.tensor_type)
                        exact &= np.array_equal(np.asarray(q).reshape(-1), np.asarray(t.data).reshape(-1))
                check(exact, f"{name}: quantized blocks equal gguf-py's reference quantizer")
            got = oracle_logits(tmp, path, enc, dec).reshape(ref.shape)
            top_ref, top_got = ref.argmax(-1), got.argmax(-1)
            plain = float((top_ref == top_got).mean())
            tol = Q8_TIE * float(ref.std())
            tied = float(np.mean(ref[np.arange(len(top_got)), top_got] >= ref.max(-1) - tol))
            diff = float(np.abs(got - ref).max())
            print(f"  {name}: {kind}, max diff {diff:.3g} (logit std {ref.std():.3g}), top-1 {plain:.3f}, "
                  f"within tie tolerance {tied:.3f}")
            if kind == "Q8_0":
                check(tied >= 0.99, f"{name}: Q8_0 top-1 agreement within tolerance {tied:.3f} >= 0.99")
                check(plain >= 0.90, f"{name}: Q8_0 plain top-1 agreement {plain:.3f} >= 0.90")
            else:
                # F16/BF16/Q4_0: loads and computes the same model, at that precision
                check(plain >= 0.5 and diff < 0.5 * float(np.abs(ref).max()), f"{name}: {kind} logits track the reference")

        # refusals: validation fails, naming the feature, and nothing is written
        refusals = [
            ("alibi_swiglu", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "positional_encoding: alibi\n", "positional_encoding", "alibi"),
            ("sliding", "template: decoder_only\nvocab_size: 300\ncontext_length: 64\ndims: {num_layers: 1, hidden_size: 64, "
             "num_heads: 4}\nattention: sliding_window\nsliding_window: 16\n", "sliding", "nearest supported"),
            ("gpt2_erf", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "positional_encoding: learned\nnorm: layernorm\nactivation: gelu\n", "activation", "gelu_tanh"),
            ("qwen2_mlp_bias", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "bias: {qkv: true, mlp: true}\n", "bias.mlp", "qwen2"),
            ("rope_dynamic", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "rope: {scaling: {type: dynamic, factor: 2}}\n", "rope.scaling.type", "yarn"),
            ("bart_style", "template: encoder_decoder\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "positional_encoding: learned\nnorm: layernorm\nactivation: gelu\n", "positional_encoding", "relative"),
            ("t5_gqa", "template: encoder_decoder\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4, "
             "num_kv_heads: 2}\npositional_encoding: relative\nactivation: relu\nbias: {norm: false}\n", "attention", "mha"),
            ("t5_distance", "template: encoder_decoder\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "positional_encoding: relative\nrelative_attention: {num_buckets: 32, max_distance: 64}\nactivation: relu\n"
             "bias: {norm: false}\n", "relative_attention.max_distance", "128"),
            ("t5_deep_decoder", "template: encoder_decoder\nvocab_size: 300\ndims: {num_encoder_layers: 1, "
             "num_decoder_layers: 2, hidden_size: 64, num_heads: 4}\npositional_encoding: relative\nactivation: relu\n"
             "bias: {norm: false}\n", "dims.num_decoder_layers", "encoder"),
            # Gemma-1 blocks (arch gemma): llama.cpp always scales the embeddings, never soft-caps or windows
            ("gemma_no_embed_scale", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, "
             "num_heads: 4}\nactivation: geglu\nnorm_weight_offset: 1\n", "embedding_scale", "sqrt_hidden"),
            ("gemma_softcap", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, "
             "num_heads: 4}\nactivation: geglu\nembedding_scale: sqrt_hidden\nattention_softcap: 50.0\n",
             "attention_softcap", "arch gemma2"),
            ("gemma_window", "template: decoder_only\nvocab_size: 300\ncontext_length: 64\ndims: {num_layers: 1, "
             "hidden_size: 64, num_heads: 4}\nactivation: geglu\nembedding_scale: sqrt_hidden\n"
             "attention: sliding_window\nsliding_window: 16\n", "attention", "GGUF arch gemma attends causally"),
            ("gemma_forced_swiglu", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, "
             "num_heads: 4}\nembedding_scale: sqrt_hidden\nemit_options: {gguf: {arch: gemma}}\n", "activation",
             "GGUF arch gemma computes a GeGLU MLP"),
            ("gemma_forced_parallel", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, "
             "num_heads: 4}\nactivation: geglu\nparallel_residual: true\nemit_options: {gguf: {arch: gemma}}\n",
             "emit_options.gguf.arch", "sequential pre-norm"),
            ("bad_option", "template: decoder_only\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
             "emit_options: {gguf: {arch: falcon}}\n", "emit_options.gguf.arch", "expected auto, llama"),
        ]
        for name, text, key, words in refusals:
            spec = os.path.join(tmp, name + ".yaml")
            with open(spec, "w") as f:
                f.write(text)
            out = os.path.join(tmp, "refused_" + name)
            rr = run([LLMC, "compile", spec, "-o", out, "--emit", "gguf"])
            msg = rr.stdout + rr.stderr
            check(rr.returncode == 1, f"refusal {name}: exit code 1 (got {rr.returncode})")
            check(key in msg and words in msg, f"refusal {name}: message names '{key}' and '{words}':\n{msg}")
            check(not os.path.exists(out), f"refusal {name}: nothing written")
    print(f"{CHECKS.n - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
