#!/usr/bin/env python3
"""QK-norm and the Qwen3 family (issue 19), end to end on a tiny qwen3 spec (GQA 4/2, head_dim 24
independent of hidden 64 / 4 heads, tied, rms eps 1e-6, rope theta 1e6):

  * safetensors: HF names model.layers.N.self_attn.{q,k}_norm.weight [head_dim], config.json
    model_type qwen3 / Qwen3ForCausalLM with head_dim and rms_norm_eps;
  * on a random checkpoint (norm weights away from 1, so a backend that skipped the per-head norm
    would show): the PyTorch package, TorchScript and the C CPU runtime each within 1e-5 of
    tests/python/ir_reference.py (the float64 interpreter of OUT/ir.json) and of each other
    (max |a - b| / max |b|); the package also against an independent float64 Qwen3 forward
    written here from the published architecture;
  * GGUF arch qwen3 (blk.N.attn_q_norm.weight / attn_k_norm.weight), llama.cpp's logits within 1e-3
    of the package;
  * refusals, at validation and naming qk_norm, with nothing written: gguf on a qk_norm spec
    outside the qwen3 arch (bias.qkv; a forced arch llama), and the spec loader on qk_norm with
    layernorm."""
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import (Checks, neox_rope, backend_logits, check_agreement, random_checkpoint, read_safetensors, rel,  # noqa: E402
                          run, write_spec)

LLMC = os.environ.get("LLMC", "llmc")
TMP = tempfile.mkdtemp(prefix="llmc-test-qwen3-")
TOL, GGUF_TOL = 1e-5, 1e-3
check = Checks()

SPEC = """template: decoder_only
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, head_dim: 24, intermediate_size: 96}
vocab_size: 300
context_length: 64
attention: gqa
norm: rmsnorm
norm_eps: 1.0e-6
qk_norm: true
rope: {theta: 1000000}
bias: {qkv: false, attn_out: false, mlp: false, norm: false, lm_head: false}
tie_word_embeddings: true
"""
H, L, NH, NKV, HD, I, V, EPS, THETA = 64, 2, 4, 2, 24, 96, 300, 1e-6, 1e6





def qwen3_forward(w, ids):
    """Qwen3 as published (transformers' Qwen3Attention): per-head RMSNorm of q and k after the
    projection and reshape, before rotate-half RoPE; float64, causal, GQA."""
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in w.items()}

    def rms(x, g):
        return g * x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS)

    S = len(ids)
    x = t["model.embed_tokens.weight"][torch.tensor(ids)]
    rope = neox_rope(S, HD, THETA)

    mask = torch.full((S, S), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, t[p + "input_layernorm.weight"])
        q = (h @ t[p + "self_attn.q_proj.weight"].T).view(S, NH, HD)
        k = (h @ t[p + "self_attn.k_proj.weight"].T).view(S, NKV, HD)
        v = (h @ t[p + "self_attn.v_proj.weight"].T).view(S, NKV, HD)
        q, k = rope(rms(q, t[p + "self_attn.q_norm.weight"])), rope(rms(k, t[p + "self_attn.k_norm.weight"]))
        k, v = k.repeat_interleave(NH // NKV, 1), v.repeat_interleave(NH // NKV, 1)
        att = torch.einsum("snd,tnd->nst", q, k) / HD ** 0.5 + mask
        o = torch.einsum("nst,tnd->snd", att.softmax(-1), v).reshape(S, NH * HD)
        x = x + o @ t[p + "self_attn.o_proj.weight"].T
        h = rms(x, t[p + "post_attention_layernorm.weight"])
        g, u = h @ t[p + "mlp.gate_proj.weight"].T, h @ t[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ t[p + "mlp.down_proj.weight"].T
    return (rms(x, t["model.norm.weight"]) @ t["model.embed_tokens.weight"].T).numpy()


def test_qwen3_backends():
    spec = write_spec(TMP, "q3tiny", SPEC)
    first = os.path.join(TMP, "init")
    run([LLMC, "compile", spec, "-o", first, "--emit", "safetensors"])
    cfg = json.load(open(os.path.join(first, "safetensors", "config.json")))
    check(cfg.get("model_type") == "qwen3" and cfg.get("architectures") == ["Qwen3ForCausalLM"],
          f"config.json is Qwen3's: {cfg.get('model_type')} {cfg.get('architectures')}")
    check(cfg.get("head_dim") == HD and cfg.get("rms_norm_eps") == EPS and cfg.get("attention_bias") is False,
          f"config.json head_dim {cfg.get('head_dim')}, rms_norm_eps {cfg.get('rms_norm_eps')}")
    tensors, _ = read_safetensors(os.path.join(first, "safetensors", "model.safetensors"))
    for i in range(L):
        for n in ("q_norm", "k_norm"):
            name = f"model.layers.{i}.self_attn.{n}.weight"
            check(name in tensors and tensors[name].shape == (HD,), f"safetensors holds {name} [{HD}]")
    check(len(tensors) == 1 + L * 11 + 1, f"safetensors: {len(tensors)} tensors (tied head)")

    ckpt = os.path.join(TMP, "random.safetensors")
    random_checkpoint(first, ckpt, seed=19)
    out = os.path.join(TMP, "out")
    emit = "safetensors,pytorch,torchscript,cpu,gguf"
    run([LLMC, "compile", spec, "-o", out, "--emit", emit, "--weights", ckpt])

    ids = [(i * 37 + 5) % V for i in range(20)]
    logits = backend_logits(out, ids, V, backends=("ir_reference", "pytorch", "torchscript", "cpu", "gguf"))
    weights, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))  # as stored (F32)
    d = rel(logits["ir_reference"], qwen3_forward(weights, ids))
    print(f"  ir_reference vs the Qwen3 forward here: {d:.2e}")
    check(d <= 1e-12, f"ir_reference computes Qwen3 (float64, got {d:.2e})")
    check_agreement(check, logits, ["ir_reference", "pytorch", "torchscript", "cpu"], TOL)
    if "gguf" in logits:
        d = rel(logits["gguf"], logits["pytorch"])
        print(f"  llama.cpp (GGUF arch qwen3) vs pytorch: {d:.2e}")
        check(d <= GGUF_TOL, f"llama.cpp logits within {GGUF_TOL} of the package (got {d:.2e})")

def test_refusals():
    # q/k biases with qk_norm: no llama.cpp architecture has both; gguf refuses naming qk_norm
    spec = write_spec(TMP, "q3bias", SPEC.replace("qkv: false", "qkv: true"))
    out = os.path.join(TMP, "bias-gguf")
    r = run([LLMC, "compile", spec, "-o", out, "--emit", "gguf,safetensors"], ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"qk_norm + bias.qkv to gguf: exit {r.returncode}")
    check("qk_norm" in r.stderr, f"the refusal names qk_norm: {r.stderr.strip()}")
    # a forced arch without per-head norms refuses at qk_norm
    spec = write_spec(TMP, "q3llama", SPEC + "emit_options: {gguf: {arch: llama}}\n")
    out = os.path.join(TMP, "llama-gguf")
    r = run([LLMC, "compile", spec, "-o", out, "--emit", "gguf,safetensors"], ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"qk_norm with gguf arch llama: exit {r.returncode}")
    check("qk_norm: GGUF arch llama has no per-head query/key norm" in r.stderr,
          f"the refusal is at qk_norm: {r.stderr.strip()}")
    # the spec loader: qk_norm needs RMSNorm
    spec = write_spec(TMP, "q3ln", SPEC.replace("norm: rmsnorm", "norm: layernorm"))
    r = run([LLMC, "compile", spec, "-o", os.path.join(TMP, "ln"), "--emit", "safetensors"], ok=False)
    check(r.returncode == 1 and "qk_norm: normalises each query and key head with RMSNorm" in r.stderr,
          f"qk_norm with layernorm is refused at qk_norm: {r.stderr.strip()}")


if __name__ == "__main__":
    sys.exit(check.run_all([test_qwen3_backends, test_refusals], TMP))
