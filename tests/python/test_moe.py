#!/usr/bin/env python3
"""Sparse mixture of experts and the Mixtral family (issue 19), end to end on a tiny mixtral spec
(4 SwiGLU experts of width 48 per layer, top-2, GQA 4/2, untied, rope theta 1e6):

  * counts: solution.json's total and active parameters equal the closed form written here
    (active = total - (E - k)/E of the expert weights); target_active_params sizes the active count;
  * safetensors: MixtralForCausalLM names (block_sparse_moe.gate, block_sparse_moe.experts.N.w1/w2/w3),
    config.json model_type mixtral with num_local_experts, num_experts_per_tok, router_aux_loss_coef;
  * on a random checkpoint: the PyTorch package within 1e-5 of tests/python/ir_reference.py (the
    float64 interpreter of OUT/ir.json) and both within 1e-5 / 1e-12 of an independent float64
    Mixtral forward written here from the published architecture (softmax over the router
    logits, top-2, renormalised); the package's load-balancing loss against Mixtral's formula;
  * GGUF arch llama with expert tensors (blk.N.ffn_gate_inp, ffn_{gate,up,down}_exps, llama.expert_count,
    expert_used_count): llama.cpp's logits within 1e-3 of the package;
  * refusals, at validation, located at the spec's moe key, nothing written: cpu and torchscript
    (not built yet), gguf without renormalised routing, the encoder_decoder template, gelu experts,
    and the spec loader on experts_per_token > num_experts (located at the value)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ir_reference  # noqa: E402
from llmc_testlib import (Checks, neox_rope, import_package, read_safetensors, rel, run, write_safetensors,  # noqa: E402
                          write_spec)

LLMC = os.environ.get("LLMC", "llmc")
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
GGUF_TOL = 1e-3
TMP = tempfile.mkdtemp(prefix="llmc-test-moe-")
TOL = 1e-5
check = Checks()

SPEC = """template: decoder_only
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 48}
vocab_size: 300
context_length: 64
attention: gqa
norm: rmsnorm
norm_eps: 1.0e-5
rope: {theta: 1000000}
moe:
  num_experts: 4
  experts_per_token: 2
  aux_loss_weight: 0.02
bias: {qkv: false, attn_out: false, mlp: false, norm: false, lm_head: false}
tie_word_embeddings: false
"""
H, L, NH, NKV, HD, I, V, E, K, EPS, THETA = 64, 2, 4, 2, 16, 48, 300, 4, 2, 1e-5, 1e6


def random_checkpoint(out, path, seed):
    """OUT's weights redrawn: matrices N(0, 0.08), the routers N(0, 1) (so routing is decisive and
    differs from token to token), norm weights 1 + N(0, 0.2) (F32, the stored names)."""
    tensors, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    rng = np.random.default_rng(seed)
    new = {}
    for name in sorted(tensors):
        a = tensors[name]
        if a.ndim == 1:
            new[name] = 1 + 0.2 * rng.standard_normal(a.shape)
        else:
            new[name] = (1.0 if name.endswith("block_sparse_moe.gate.weight") else 0.08) * rng.standard_normal(a.shape)
    write_safetensors(path, new)
    return new


def mixtral_forward(w, ids, router_logits=None):
    """Mixtral as published (transformers' MixtralSparseMoeBlock): p = softmax(router logits), the
    top-2 kept and divided by their sum, out = sum of p_e * w2(silu(w1 x) * w3 x) over the two;
    llama attention (rotate-half RoPE, GQA, causal); float64."""
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
        q = rope((h @ t[p + "self_attn.q_proj.weight"].T).view(S, NH, HD))
        k = rope((h @ t[p + "self_attn.k_proj.weight"].T).view(S, NKV, HD))
        v = (h @ t[p + "self_attn.v_proj.weight"].T).view(S, NKV, HD)
        k, v = k.repeat_interleave(NH // NKV, 1), v.repeat_interleave(NH // NKV, 1)
        att = torch.einsum("snd,tnd->nst", q, k) / HD ** 0.5 + mask
        o = torch.einsum("nst,tnd->snd", att.softmax(-1), v).reshape(S, NH * HD)
        x = x + o @ t[p + "self_attn.o_proj.weight"].T
        h = rms(x, t[p + "post_attention_layernorm.weight"])
        logits = h @ t[p + "block_sparse_moe.gate.weight"].T
        if router_logits is not None:
            router_logits.append(logits)
        probs = logits.softmax(-1)
        y = torch.zeros_like(h)
        for s in range(S):
            top = torch.argsort(probs[s], descending=True)[:K]
            wts = probs[s][top] / probs[s][top].sum()
            for e, we in zip(top.tolist(), wts):
                pe = p + f"block_sparse_moe.experts.{e}."
                g, u = h[s] @ t[pe + "w1.weight"].T, h[s] @ t[pe + "w3.weight"].T
                y[s] += we * ((torch.nn.functional.silu(g) * u) @ t[pe + "w2.weight"].T)
        x = x + y
    return (rms(x, t["model.norm.weight"]) @ t["lm_head.weight"].T).numpy()


def counts():
    attn = H * NH * HD * 2 + H * NKV * HD * 2
    expert = 3 * H * I
    layer = attn + 2 * H + E * H + E * expert
    total = 2 * V * H + L * layer + H
    return total, total - L * (E - K) * expert


def test_mixtral_backends():
    spec = write_spec(TMP, "mxtiny", SPEC)
    first = os.path.join(TMP, "init")
    run([LLMC, "compile", spec, "-o", first, "--emit", "safetensors"])
    total, active = counts()
    sol = json.load(open(os.path.join(first, "solution.json")))
    check(sol.get("parameters") == total and sol.get("active_parameters") == active,
          f"solution.json counts {sol.get('parameters')} total, {sol.get('active_parameters')} active "
          f"(closed form here {total}, {active})")
    check(sol["breakdown"].get("active") == active, f"the breakdown has active {sol['breakdown'].get('active')}")
    cfg = json.load(open(os.path.join(first, "safetensors", "config.json")))
    check(cfg.get("model_type") == "mixtral" and cfg.get("architectures") == ["MixtralForCausalLM"],
          f"config.json is Mixtral's: {cfg.get('model_type')} {cfg.get('architectures')}")
    check(cfg.get("num_local_experts") == E and cfg.get("num_experts_per_tok") == K and
          cfg.get("router_aux_loss_coef") == 0.02 and cfg.get("intermediate_size") == I,
          f"config.json experts {cfg.get('num_local_experts')}, top {cfg.get('num_experts_per_tok')}, "
          f"aux {cfg.get('router_aux_loss_coef')}, intermediate {cfg.get('intermediate_size')}")
    tensors, _ = read_safetensors(os.path.join(first, "safetensors", "model.safetensors"))
    for i in range(L):
        p = f"model.layers.{i}.block_sparse_moe."
        check(tensors.get(p + "gate.weight") is not None and tensors[p + "gate.weight"].shape == (E, H),
              f"safetensors holds {p}gate.weight [{E}, {H}]")
        for e in range(E):
            shapes = {"w1": (I, H), "w2": (H, I), "w3": (I, H)}
            for w, shape in shapes.items():
                n = f"{p}experts.{e}.{w}.weight"
                check(n in tensors and tensors[n].shape == shape, f"safetensors holds {n} {shape}")
    check(len(tensors) == 2 + L * (7 + 3 * E) + 1, f"safetensors: {len(tensors)} tensors")
    check(sum(a.size for a in tensors.values()) == total, "the stored elements add up to the total count")

    ckpt = os.path.join(TMP, "random.safetensors")
    random_checkpoint(first, ckpt, seed=19)
    out = os.path.join(TMP, "out")
    run([LLMC, "compile", spec, "-o", out, "--emit", "safetensors,pytorch,gguf,cpu,torchscript", "--weights", ckpt])
    r = run([LLMC, "validate", out], ok=False)
    check(r.returncode == 0, f"llmc validate of the output: exit {r.returncode} {r.stdout[-500:]} {r.stderr[-1500:]}")

    ids = [(i * 37 + 5) % V for i in range(20)]
    weights, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    ref_router = []
    ref = mixtral_forward(weights, ids, ref_router)
    logits = {"ir_reference": ir_reference.forward(out, {"input_ids": np.array([ids])})[0]}
    d = rel(logits["ir_reference"], ref)
    check(d <= 1e-12, f"ir_reference computes Mixtral (float64, got {d:.2e})")
    pkg = import_package(out)
    check(pkg.NUM_PARAMETERS == total, f"the package's NUM_PARAMETERS {pkg.NUM_PARAMETERS}")
    model = pkg.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        logits["pytorch"] = model(torch.tensor([ids]))[0].double().numpy()
        aux = float(model.router_aux_loss())
    for name in ("ir_reference", "pytorch"):
        d = rel(logits[name], ref)
        print(f"  {name} vs the Mixtral forward here: {d:.2e}")
        check(d <= TOL, f"{name} within {TOL} of the Mixtral forward (got {d:.2e})")
    run(["make", "-s", "-C", os.path.join(out, "cpu")])
    dump = os.path.join(out, "cpu.logits")
    run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, ids)), "-n", "0",
         "--dump-logits", dump])
    logits["cpu"] = np.fromfile(dump, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
    # decode: 8 prompt positions, then 12 greedy steps of one token each (the runtime's single-token
    # path, every routed expert in one task) against the Mixtral forward over the same 20 ids
    run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, ids[:8])), "-n", "12",
         "--dump-logits", dump])
    steps = np.fromfile(dump, dtype=np.float32).astype(np.float64).reshape(-1, V)
    seq = ids[:8] + [int(np.argmax(steps[i])) for i in range(7, 19)]
    d = rel(steps, mixtral_forward(weights, seq[:steps.shape[0]], []))   # the last id is not run
    print(f"  cpu decode (8 + 12 steps) vs the Mixtral forward: {d:.2e}")
    check(steps.shape[0] == 19 and d <= TOL, f"cpu decode within {TOL} of the Mixtral forward (got {d:.2e}, {steps.shape[0]} rows)")
    ts = torch.jit.load(os.path.join(out, "torchscript", "model.pt"))
    with torch.no_grad():
        logits["torchscript"] = ts(torch.tensor([ids]))[0].double().numpy()
    names = ["ir_reference", "pytorch", "torchscript", "cpu"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = rel(logits[a], logits[b])
            print(f"  {a} vs {b}: {d:.2e}")
            check(d <= TOL, f"{a} and {b} logits within {TOL} (got {d:.2e})")
    # transformers' load_balancing_loss_func over every layer's router logits
    probs = torch.cat(ref_router, 0).softmax(-1)
    top = torch.topk(probs, K, dim=-1).indices
    want = E * float((torch.nn.functional.one_hot(top, E).double().mean(0) * probs.mean(0)[None]).sum())
    print(f"  load-balancing loss: package {aux:.6f}, Mixtral's formula {want:.6f}")
    check(abs(aux - want) <= 1e-5 * max(1.0, want), f"router_aux_loss {aux} vs {want}")
    load = model.expert_load()
    check(tuple(load.shape) == (L, E) and torch.allclose(load.sum(1), torch.ones(L)),
          f"expert_load is [{L}, {E}] shares: {load}")

    # train.py: Mixtral's load-balancing term in the loss, the expert load logged; its checkpoint re-imports
    text = os.path.join(TMP, "corpus.txt")
    with open(text, "w") as f:
        f.write("the quick brown fox jumps over the lazy dog. " * 40)
    r = subprocess.run([sys.executable, "train.py", "--data", text, "--steps", "2", "--batch-size", "2", "--seq-len", "16",
                        "--log-every", "1", "--device", "cpu"], cwd=os.path.join(out, "pytorch"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(r.returncode == 0 and "expert load (min / max share per layer" in r.stdout,
          f"train.py trains and logs the expert load: exit {r.returncode} {r.stdout[-600:]} {r.stderr[-1500:]}")
    trained = os.path.join(out, "pytorch", "checkpoint", "model.safetensors")
    if r.returncode == 0:
        run([LLMC, "compile", spec, "-o", os.path.join(TMP, "trained"), "--emit", "safetensors", "--weights", trained])

    if not ORACLE or not os.path.exists(ORACLE):
        check(os.environ.get("LLMC_SKIP_ORACLE") == "1", "the llama.cpp oracle is not built")
        return
    got = os.path.join(out, "gguf.logits")
    run([ORACLE, "logits", os.path.join(out, "gguf", "model.gguf"), "--tokens", ",".join(map(str, ids)), "--out", got])
    g = np.fromfile(got, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
    d = rel(g, logits["pytorch"])
    print(f"  llama.cpp (GGUF arch llama, expert tensors) vs pytorch: {d:.2e}")
    check(d <= GGUF_TOL, f"llama.cpp logits within {GGUF_TOL} of the package (got {d:.2e})")


def test_active_budget():
    """target_active_params: the solver sizes the active count (one token's parameters) to the budget."""
    text = ("template: decoder_only\ntarget_active_params: 30M\nvocab_size: 1000\ncontext_length: 256\n"
            "attention: gqa\nmoe: {num_experts: 8, experts_per_token: 2}\n")
    spec = write_spec(TMP, "mx-active", text)
    out = os.path.join(TMP, "active")
    run([LLMC, "compile", spec, "-o", out, "--emit", "none"])
    sol = json.load(open(os.path.join(out, "solution.json")))
    total, active = sol["parameters"], sol.get("active_parameters", 0)
    print(f"  target_active_params 30M: {active:,} active of {total:,}, relative error {sol['relative_error']:.4f}")
    check(abs(active - 30e6) / 30e6 <= sol["tolerance"] and sol["relative_error"] == abs(active - 30e6) / 30e6,
          f"the active count {active} is within {sol['tolerance']} of 30M")
    check(total > 2 * active, f"the total {total} is the full mixture (more than twice the active count)")
    spec_json = json.load(open(os.path.join(out, "spec.json")))
    check(spec_json.get("target_active_params") == 30000000 and "target_params" not in spec_json,
          "spec.json keeps the budget under target_active_params")
    r = run([LLMC, "validate", out], ok=False)
    check(r.returncode == 0, f"llmc validate: exit {r.returncode} {r.stderr[-800:]}")
    refused("mx-twobudgets", text + "target_params: 100M\n", "none", "target_active_params", "not both")


def refused(name, text, emit, key, message):
    spec = write_spec(TMP, name, text)
    out = os.path.join(TMP, name + "-out")
    r = run([LLMC, "compile", spec, "-o", out, "--emit", emit], ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"{name} ({emit}): exit {r.returncode}, nothing written")
    line = next((ln for ln in r.stderr.splitlines() if f": {key}: " in ln), "")
    check(line.startswith(spec + ":") and message in line, f"{name}: refused at {key} with '{message}': {r.stderr.strip()}")
    return line


def test_refusals():
    moe_line = SPEC.splitlines().index("moe:") + 2  # write_spec puts `name:` on line 1
    # the CPU runtime's experts are whole 16-row panels
    spec = write_spec(TMP, "mx-cpu40", SPEC.replace("num_experts: 4", "num_experts: 4\n  expert_intermediate_size: 40"))
    r = run([LLMC, "compile", spec, "-o", os.path.join(TMP, "mx-cpu40-out"), "--emit", "safetensors,cpu"], ok=False)
    check(r.returncode == 1 and "the CPU runtime needs a multiple of 16" in r.stderr and
          not os.path.exists(os.path.join(TMP, "mx-cpu40-out")), f"cpu refuses 40-row experts: {r.stderr.strip()}")
    refused("mx-encdec", SPEC.replace("decoder_only", "encoder_decoder"), "safetensors", "moe",
            "is not supported by template encoder_decoder")
    line = refused("mx-k9", SPEC.replace("experts_per_token: 2", "experts_per_token: 9"), "safetensors",
                   "moe.experts_per_token", "(expected 1..4, got 9)")
    check(f":{moe_line + 2}:22:" in line, f"located at the value: {line}")
    refused("mx-gelu", SPEC + "activation: gelu\n", "safetensors", "moe", "needs activation: swiglu")
    # llama.cpp's llama arch renormalises the kept weights (Qwen2-MoE's default does not)
    refused("mx-nonorm", SPEC.replace("  aux_loss_weight", "  normalize_topk: false\n  aux_loss_weight"), "gguf",
            "moe.normalize_topk", "divides the kept top-k router weights by their sum")


if __name__ == "__main__":
    sys.exit(check.run_all([test_mixtral_backends, test_active_budget, test_refusals], TMP))
