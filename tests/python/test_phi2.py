#!/usr/bin/env python3
"""Partial rotary and the Phi-2 family (issue 19), end to end on a tiny phi spec (hidden 80, 4 heads
of 20, rope.fraction 0.4: the first 8 dims of each head rotate, 12 pass through; parallel block
with one shared LayerNorm; every bias; gelu_tanh; untied head with a bias):

  * safetensors: PhiForCausalLM names (self_attn.dense, mlp.fc1 / fc2, input_layernorm,
    model.final_layernorm, lm_head.bias), config.json model_type phi with partial_rotary_factor,
    hidden_act gelu_new, layer_norm_eps, qk_layernorm false;
  * on a random checkpoint: the PyTorch package, TorchScript and the C CPU runtime each within 1e-5
    of tests/python/ir_reference.py (the float64 interpreter of OUT/ir.json) and of each other
    (max |a - b| / max |b|); ir_reference also against an independent float64 Phi forward written
    here from transformers' PhiDecoderLayer / PhiAttention (partial rotary split, rotate_half on
    the rotated part, h = x + attn(ln(x)) + mlp(ln(x)));
  * GGUF arch phi2 (rope.dimension_count 8), llama.cpp's logits within 1e-3 of the package;
  * rope.fraction in a sequential llama-style GQA block (llmc_decoder_only, the built-in package and
    TorchScript modules): pytorch, TorchScript and the CPU runtime within 1e-5 of ir_reference;
  * refusals, located and with nothing written: rope.fraction out of (0, 1] or not rotating an
    even number of dims, parallel_residual with encoder_decoder, and gguf for a sequential
    llama-arch model with partial rotary (at rope.fraction)."""
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ir_reference  # noqa: E402
from llmc_testlib import (Checks, import_package, read_safetensors, rel, run, write_safetensors,  # noqa: E402
                          write_spec)

LLMC = os.environ.get("LLMC", "llmc")
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
TMP = tempfile.mkdtemp(prefix="llmc-test-phi2-")
TOL, GGUF_TOL = 1e-5, 1e-3
check = Checks()

SPEC = """template: decoder_only
dims: {num_layers: 2, hidden_size: 80, num_heads: 4, intermediate_size: 160}
vocab_size: 300
context_length: 64
attention: mha
norm: layernorm
norm_eps: 1.0e-5
activation: gelu_tanh
positional_encoding: rope
rope: {theta: 10000, fraction: 0.4}
parallel_residual: true
bias: {qkv: true, attn_out: true, mlp: true, norm: true, lm_head: true}
tie_word_embeddings: false
"""
H, L, NH, HD, ROT, I, V, EPS, THETA = 80, 2, 4, 20, 8, 160, 300, 1e-5, 10000.0


def random_checkpoint(out, path, seed):
    """OUT's weights redrawn (F32, IR names): matrices N(0, 0.08), layernorm weights 1 + N(0, 0.2),
    biases N(0, 0.1) -- all away from their init, so a backend that dropped one would show."""
    tensors, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    rng = np.random.default_rng(seed)
    new = {}
    for name in sorted(tensors):
        a = tensors[name]
        if a.ndim == 2:
            new[name] = 0.08 * rng.standard_normal(a.shape)
        elif "layernorm.weight" in name:
            new[name] = 1 + 0.2 * rng.standard_normal(a.shape)
        else:
            new[name] = 0.1 * rng.standard_normal(a.shape)
    write_safetensors(path, new)
    return new


def phi_forward(w, ids):
    """Phi as published (transformers' PhiForCausalLM), float64: per layer one LayerNorm feeding
    both branches; q/k/v with biases, RoPE on the first ROT dims of each head (rotate_half within
    them, inverse frequencies over ROT), the other HD - ROT dims passed through; softmax(q k^T /
    sqrt(HD)) causal; dense; MLP fc2(gelu_new(fc1(h))); x = x + attn + mlp; final LayerNorm;
    lm_head with its bias."""
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in w.items()}

    def ln(x, p):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + EPS) * t[p + ".weight"] + t[p + ".bias"]

    def lin(x, p):
        return x @ t[p + ".weight"].T + t[p + ".bias"]

    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh((2.0 / np.pi) ** 0.5 * (x + 0.044715 * x ** 3)))

    S = len(ids)
    x = t["model.embed_tokens.weight"][torch.tensor(ids)]
    inv = 1.0 / THETA ** (torch.arange(0, ROT, 2, dtype=torch.float64) / ROT)
    ang = torch.arange(S, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1)[:, None, :], torch.cat([ang.sin()] * 2, -1)[:, None, :]

    def rope(z):
        zr, zp = z[..., :ROT], z[..., ROT:]
        z1, z2 = zr[..., : ROT // 2], zr[..., ROT // 2:]
        return torch.cat([zr * cos + torch.cat([-z2, z1], -1) * sin, zp], -1)

    mask = torch.full((S, S), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(L):
        p = f"model.layers.{i}."
        h = ln(x, p + "input_layernorm")
        q = rope(lin(h, p + "self_attn.q_proj").view(S, NH, HD))
        k = rope(lin(h, p + "self_attn.k_proj").view(S, NH, HD))
        v = lin(h, p + "self_attn.v_proj").view(S, NH, HD)
        att = torch.einsum("snd,tnd->nst", q, k) / HD ** 0.5 + mask
        o = torch.einsum("nst,tnd->snd", att.softmax(-1), v).reshape(S, NH * HD)
        a = lin(o, p + "self_attn.dense")
        m = lin(gelu_new(lin(h, p + "mlp.fc1")), p + "mlp.fc2")
        x = a + m + x
    return lin(ln(x, "model.final_layernorm"), "lm_head").numpy()


def test_phi_backends():
    spec = write_spec(TMP, "phitiny", SPEC)
    first = os.path.join(TMP, "init")
    run([LLMC, "compile", spec, "-o", first, "--emit", "safetensors"])
    cfg = json.load(open(os.path.join(first, "safetensors", "config.json")))
    check(cfg.get("model_type") == "phi" and cfg.get("architectures") == ["PhiForCausalLM"],
          f"config.json is Phi's: {cfg.get('model_type')} {cfg.get('architectures')}")
    check(cfg.get("partial_rotary_factor") == 0.4 and cfg.get("hidden_act") == "gelu_new" and
          cfg.get("layer_norm_eps") == EPS and cfg.get("qk_layernorm") is False and
          cfg.get("num_attention_heads") == NH and cfg.get("hidden_size") == H,
          f"config.json partial_rotary_factor {cfg.get('partial_rotary_factor')}, hidden_act {cfg.get('hidden_act')}, "
          f"layer_norm_eps {cfg.get('layer_norm_eps')}, qk_layernorm {cfg.get('qk_layernorm')}")
    tensors, _ = read_safetensors(os.path.join(first, "safetensors", "model.safetensors"))
    want = ["model.embed_tokens.weight", "model.final_layernorm.weight", "model.final_layernorm.bias",
            "lm_head.weight", "lm_head.bias"]
    for i in range(L):
        for n in ("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.dense",
                  "mlp.fc1", "mlp.fc2"):
            want += [f"model.layers.{i}.{n}.weight", f"model.layers.{i}.{n}.bias"]
    check(sorted(tensors) == sorted(want), f"safetensors holds Phi's names exactly: {sorted(set(tensors) ^ set(want))}")

    ckpt = os.path.join(TMP, "random.safetensors")
    random_checkpoint(first, ckpt, seed=2)
    out = os.path.join(TMP, "out")
    emit = "safetensors,pytorch,torchscript,cpu,gguf"
    run([LLMC, "compile", spec, "-o", out, "--emit", emit, "--weights", ckpt])

    ids = [(i * 37 + 5) % V for i in range(20)]
    logits = {"ir_reference": ir_reference.forward(out, {"input_ids": np.array([ids])})[0]}
    weights, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))  # as stored (F32)
    d = rel(logits["ir_reference"], phi_forward(weights, ids))
    print(f"  ir_reference vs the Phi forward here: {d:.2e}")
    check(d <= 1e-12, f"ir_reference computes Phi (float64, got {d:.2e})")
    model = import_package(out).from_pretrained(out, dtype=torch.float32)
    ts = torch.jit.load(os.path.join(out, "torchscript", "model.pt"))
    with torch.no_grad():
        logits["pytorch"] = model(torch.tensor([ids]))[0].double().numpy()
        logits["torchscript"] = ts(torch.tensor([ids]))[0].double().numpy()
    run(["make", "-s", "-C", os.path.join(out, "cpu")])
    dump = os.path.join(out, "cpu.logits")
    run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, ids)), "-n", "0",
         "--dump-logits", dump])
    logits["cpu"] = np.fromfile(dump, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
    names = ["ir_reference", "pytorch", "torchscript", "cpu"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = rel(logits[a], logits[b])
            print(f"  {a} vs {b}: max |diff| / max |logit| = {d:.2e}")
            check(d <= TOL, f"{a} and {b} logits within {TOL} (got {d:.2e})")

    if not ORACLE or not os.path.exists(ORACLE):
        check(os.environ.get("LLMC_SKIP_ORACLE") == "1", "the llama.cpp oracle is not built")
        return
    got = os.path.join(out, "gguf.logits")
    run([ORACLE, "logits", os.path.join(out, "gguf", "model.gguf"), "--tokens", ",".join(map(str, ids)), "--out", got])
    g = np.fromfile(got, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
    d = rel(g, logits["pytorch"])
    print(f"  llama.cpp (GGUF arch phi2) vs pytorch: {d:.2e}")
    check(d <= GGUF_TOL, f"llama.cpp logits within {GGUF_TOL} of the package (got {d:.2e})")


def test_sequential_partial_rotary():
    """rope.fraction in a sequential llama-style block (llmc_decoder_only: the built-in package and
    TorchScript module trees, not the generic decoder), GQA, head_dim 16 with 0.25 rotated (4 dims)."""
    spec = write_spec(TMP, "seqrot", "template: decoder_only\n"
                      "dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 96}\n"
                      "vocab_size: 300\ncontext_length: 64\nattention: gqa\nrope: {theta: 500, fraction: 0.25}\n")
    first = os.path.join(TMP, "seq-init")
    run([LLMC, "compile", spec, "-o", first, "--emit", "safetensors"])
    cfg = json.load(open(os.path.join(first, "safetensors", "config.json")))
    check(cfg.get("model_type") == "llmc_decoder_only" and cfg.get("partial_rotary_factor") == 0.25,
          f"a llama-style spec with partial rotary is no llama: {cfg.get('model_type')}, "
          f"partial_rotary_factor {cfg.get('partial_rotary_factor')}")
    ckpt = os.path.join(TMP, "seq-random.safetensors")
    random_checkpoint(first, ckpt, seed=5)
    out = os.path.join(TMP, "seq-out")
    run([LLMC, "compile", spec, "-o", out, "--emit", "safetensors,pytorch,torchscript,cpu", "--weights", ckpt])
    ids = [(i * 53 + 7) % V for i in range(24)]
    logits = {"ir_reference": ir_reference.forward(out, {"input_ids": np.array([ids])})[0]}
    model = import_package(out).from_pretrained(out, dtype=torch.float32)
    ts = torch.jit.load(os.path.join(out, "torchscript", "model.pt"))
    with torch.no_grad():
        logits["pytorch"] = model(torch.tensor([ids]))[0].double().numpy()
        logits["torchscript"] = ts(torch.tensor([ids]))[0].double().numpy()
    run(["make", "-s", "-C", os.path.join(out, "cpu")])
    dump = os.path.join(out, "cpu.logits")
    run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, ids)), "-n", "0",
         "--dump-logits", dump])
    logits["cpu"] = np.fromfile(dump, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
    for b in ("pytorch", "torchscript", "cpu"):
        d = rel(logits[b], logits["ir_reference"])
        print(f"  sequential partial rotary: {b} vs ir_reference: {d:.2e}")
        check(d <= TOL, f"sequential partial rotary: {b} within {TOL} of ir_reference (got {d:.2e})")


def refused(name, text, emit, want):
    spec = write_spec(TMP, name, text)
    out = os.path.join(TMP, name + "-out")
    r = run([LLMC, "compile", spec, "-o", out, "--emit", emit], ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"{name}: exit {r.returncode}, nothing written")
    check(want in r.stderr, f"{name}: the refusal says '{want}': {r.stderr.strip()}")


def test_refusals():
    # the loader: a share outside (0, 1], and one that rotates an odd number of dims (0.35 * 20 = 7)
    refused("frac-big", SPEC.replace("fraction: 0.4", "fraction: 1.5"), "safetensors",
            "frac-big.yaml:11:32: rope.fraction: must be in (0, 1]")
    refused("frac-odd", SPEC.replace("fraction: 0.4", "fraction: 0.35"), "safetensors",
            "rope.fraction: rotates 7 of the 20 dims of a head")
    # the encoder-decoder template has sequential blocks only
    refused("encdec", "template: encoder_decoder\nvocab_size: 1000\ntarget_params: 10M\nparallel_residual: true\n",
            "safetensors", "parallel_residual: is not supported by template encoder_decoder")
    # llama.cpp's llama arch rotates whole heads: gguf refuses partial rotary there, at rope.fraction
    llama = ("template: decoder_only\ndims: {num_layers: 2, hidden_size: 64, num_heads: 4}\nvocab_size: 300\n"
             "context_length: 64\nrope: {fraction: 0.5}\n")
    refused("llama-partial", llama, "gguf,safetensors", "rope.fraction: GGUF arch llama rotates every dim of a head")


if __name__ == "__main__":
    sys.exit(check.run_all([test_phi_backends, test_sequential_partial_rotary, test_refusals], TMP))
