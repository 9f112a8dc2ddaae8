#!/usr/bin/env python3
"""Qwen2-MoE (issue 19), end to end on a tiny spec: 6 SwiGLU experts of width 32 per layer, top-2 of
the softmax over all 6 (not renormalised, Qwen2-MoE's norm_topk_prob false), a shared expert of width
48 scaled by sigmoid(shared_expert_gate x), q/k/v biases, untied, rope theta 1e6:

  * counts: solution.json's total and active parameters equal the closed form written here (the
    shared expert and its gate are active for every token);
  * safetensors: Qwen2MoeForCausalLM's names (mlp.gate, mlp.experts.N.{gate,up,down}_proj,
    mlp.shared_expert.{gate,up,down}_proj, mlp.shared_expert_gate), config.json model_type qwen2_moe;
  * on a random checkpoint: tests/python/ir_reference.py (float64) within 1e-12 of an independent
    float64 Qwen2-MoE forward written here from transformers' Qwen2MoeSparseMoeBlock; the PyTorch
    package, the TorchScript archive and the CPU runtime (F32) within 1e-5 of both; llama.cpp (GGUF arch
    qwen2moe) within 1e-3 of the package;
  * the CPU runtime through `llmc run`: a 13-token prompt and 10 greedy tokens through the KV cache,
    the package's generate() tokens, every step's logits within 1e-5 of one package pass; 1 and 2
    threads bit-identical (prompt and decode);
  * the CPU runtime at Q8_0 and Q4_0 (head Q8_0) with a shared expert of width 64 (every map of it
    quantized; its [1, H] scale stays f32), 240 positions, against the package on weights through
    numpy's ggml round trip: top-1 within tie tolerance >= 99 %, plain >= 90 %;
  * refusals, located at their key, nothing written: gguf with renormalised top-k (llama.cpp's
    qwen2moe keeps the weights as they are), more than one shared expert, a shared expert without
    its gate, shared-expert keys without one."""
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import (Checks, neox_rope, backend_logits, check_agreement, import_package, q4_0_round_trip,  # noqa: E402
                          q8_0_round_trip, read_safetensors, rel, run, top1_agreement, write_safetensors, write_spec)

LLMC = os.environ.get("LLMC", "llmc")
TMP = tempfile.mkdtemp(prefix="llmc-test-qwen2moe-")
TOL, GGUF_TOL = 1e-5, 1e-3
check = Checks()

SPEC = """template: decoder_only
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 96}
vocab_size: 300
context_length: 64
attention: gqa
norm: rmsnorm
norm_eps: 1.0e-6
rope: {theta: 1000000}
moe:
  num_experts: 6
  experts_per_token: 2
  expert_intermediate_size: 32
  num_shared_experts: 1
  shared_expert_intermediate_size: 48
  normalize_topk: false
  aux_loss_weight: 0.001
bias: {qkv: true, attn_out: false, mlp: false, norm: false, lm_head: false}
tie_word_embeddings: false
"""
H, L, NH, NKV, HD, V, E, K, I, IS, EPS, THETA = 64, 2, 4, 2, 16, 300, 6, 2, 32, 48, 1e-6, 1e6


def counts():
    attn = H * NH * HD + NH * HD + 2 * (H * NKV * HD + NKV * HD) + NH * HD * H
    expert = 3 * H * I
    layer = attn + 2 * H + E * H + E * expert + 3 * H * IS + H
    total = 2 * V * H + L * layer + H
    return total, total - L * (E - K) * expert


def qwen2_moe_forward(w, ids):
    """Qwen2-MoE as published (transformers' Qwen2MoeSparseMoeBlock): p = softmax(router logits) over
    all experts, the top-2 kept as they are, out = sum of p_e * down(silu(gate x) * up x) over them
    plus sigmoid(shared_expert_gate x) * shared_expert(x); Qwen2 attention (q/k/v biases, rotate-half
    RoPE, GQA, causal); float64."""
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in w.items()}

    def rms(x, g):
        return g * x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS)

    def swiglu(x, p):
        g, u = x @ t[p + "gate_proj.weight"].T, x @ t[p + "up_proj.weight"].T
        return (torch.nn.functional.silu(g) * u) @ t[p + "down_proj.weight"].T

    S = len(ids)
    x = t["model.embed_tokens.weight"][torch.tensor(ids)]
    rope = neox_rope(S, HD, THETA)

    mask = torch.full((S, S), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, t[p + "input_layernorm.weight"])
        a = p + "self_attn."
        q = rope((h @ t[a + "q_proj.weight"].T + t[a + "q_proj.bias"]).view(S, NH, HD))
        k = rope((h @ t[a + "k_proj.weight"].T + t[a + "k_proj.bias"]).view(S, NKV, HD))
        v = (h @ t[a + "v_proj.weight"].T + t[a + "v_proj.bias"]).view(S, NKV, HD)
        k, v = k.repeat_interleave(NH // NKV, 1), v.repeat_interleave(NH // NKV, 1)
        att = torch.einsum("snd,tnd->nst", q, k) / HD ** 0.5 + mask
        o = torch.einsum("nst,tnd->snd", att.softmax(-1), v).reshape(S, NH * HD)
        x = x + o @ t[a + "o_proj.weight"].T
        h = rms(x, t[p + "post_attention_layernorm.weight"])
        m = p + "mlp."
        probs = (h @ t[m + "gate.weight"].T).softmax(-1)
        y = torch.zeros_like(h)
        for s in range(S):
            top = torch.argsort(probs[s], descending=True)[:K]
            for e in top.tolist():
                y[s] += probs[s][e] * swiglu(h[s], m + f"experts.{e}.")
        y = y + torch.sigmoid(h @ t[m + "shared_expert_gate.weight"].T) * swiglu(h, m + "shared_expert.")
        x = x + y
    return (rms(x, t["model.norm.weight"]) @ t["lm_head.weight"].T).numpy()


def random_checkpoint(out, path, seed):
    """OUT's weights (the HF layout's names: one tensor per expert) redrawn: matrices N(0, 0.08), the
    routers N(0, 1) (decisive routing: no near-ties between float32 and float64 top-k choices), the
    shared experts' gates N(0, 0.5), norm weights 1 + N(0, 0.2), biases N(0, 0.05) (F32)."""
    tensors, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    rng = np.random.default_rng(seed)
    new = {}
    for name in sorted(tensors):
        a = tensors[name]
        if name.endswith(".bias"):
            new[name] = 0.05 * rng.standard_normal(a.shape)
        elif a.ndim == 1:
            new[name] = 1 + 0.2 * rng.standard_normal(a.shape)
        else:
            scale = 1.0 if name.endswith("mlp.gate.weight") else 0.5 if name.endswith("shared_expert_gate.weight") else 0.08
            new[name] = scale * rng.standard_normal(a.shape)
    write_safetensors(path, new)
    return new


def test_qwen2_moe_backends():
    spec = write_spec(TMP, "q2moe", SPEC)
    first = os.path.join(TMP, "init")
    run([LLMC, "compile", spec, "-o", first, "--emit", "safetensors"])
    total, active = counts()
    sol = json.load(open(os.path.join(first, "solution.json")))
    check(sol.get("parameters") == total and sol.get("active_parameters") == active,
          f"solution.json counts {sol.get('parameters')} total, {sol.get('active_parameters')} active "
          f"(closed form here {total}, {active})")
    cfg = json.load(open(os.path.join(first, "safetensors", "config.json")))
    check(cfg.get("model_type") == "qwen2_moe" and cfg.get("architectures") == ["Qwen2MoeForCausalLM"],
          f"config.json is Qwen2-MoE's: {cfg.get('model_type')} {cfg.get('architectures')}")
    want = {"num_experts": E, "num_experts_per_tok": K, "moe_intermediate_size": I,
            "shared_expert_intermediate_size": IS, "norm_topk_prob": False, "decoder_sparse_step": 1,
            "mlp_only_layers": [], "qkv_bias": True, "router_aux_loss_coef": 0.001, "intermediate_size": 96}
    got = {k: cfg.get(k) for k in want}
    check(got == want, f"config.json's mixture: {got} (expected {want})")
    tensors, _ = read_safetensors(os.path.join(first, "safetensors", "model.safetensors"))
    names = {"mlp.gate.weight": (E, H), "mlp.shared_expert.gate_proj.weight": (IS, H),
             "mlp.shared_expert.up_proj.weight": (IS, H), "mlp.shared_expert.down_proj.weight": (H, IS),
             "mlp.shared_expert_gate.weight": (1, H)}
    for e in range(E):
        names.update({f"mlp.experts.{e}.gate_proj.weight": (I, H), f"mlp.experts.{e}.up_proj.weight": (I, H),
                      f"mlp.experts.{e}.down_proj.weight": (H, I)})
    for i in range(L):
        for n, shape in names.items():
            n = f"model.layers.{i}.{n}"
            check(n in tensors and tensors[n].shape == shape, f"safetensors holds {n} {shape}")
    check(sum(a.size for a in tensors.values()) == total, "the stored elements add up to the total count")

    ckpt = os.path.join(TMP, "random.safetensors")
    random_checkpoint(first, ckpt, seed=19)
    out = os.path.join(TMP, "out")
    run([LLMC, "compile", spec, "-o", out, "--emit", "safetensors,pytorch,torchscript,gguf,cpu", "--weights", ckpt])
    r = run([LLMC, "validate", out], ok=False)
    check(r.returncode == 0, f"llmc validate of the output: exit {r.returncode} {r.stdout[-500:]} {r.stderr[-1500:]}")

    ids = [(i * 37 + 5) % V for i in range(20)]
    weights, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    ref = qwen2_moe_forward(weights, ids)
    logits = backend_logits(out, ids, V, backends=("ir_reference", "pytorch", "torchscript", "gguf", "cpu"))
    d = rel(logits["ir_reference"], ref)
    print(f"  ir_reference vs the Qwen2-MoE forward here: {d:.2e}")
    check(d <= 1e-12, f"ir_reference computes Qwen2-MoE (float64, got {d:.2e})")
    logits["qwen2_moe_forward"] = ref
    check_agreement(check, logits, ["qwen2_moe_forward", "ir_reference", "pytorch", "torchscript", "cpu"], TOL)
    if "gguf" in logits:
        d = rel(logits["gguf"], logits["pytorch"])
        print(f"  llama.cpp (GGUF arch qwen2moe) vs pytorch: {d:.2e}")
        check(d <= GGUF_TOL, f"llama.cpp logits within {GGUF_TOL} of the package (got {d:.2e})")
    pkg = import_package(out)
    check(pkg.NUM_PARAMETERS == total, f"the package's NUM_PARAMETERS {pkg.NUM_PARAMETERS}")
    model = pkg.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        model(torch.tensor([ids]))
        aux = float(model.router_aux_loss())
    check(np.isfinite(aux) and aux > 0, f"router_aux_loss over the shared-expert mixture: {aux}")
    cpu_runtime(out, ids, model)
    cpu_quantized(spec, ckpt)


def cpu_runtime(out, ids, model):
    """llmc-run (F32): the shared expert compiled in from the IR, cached decoding through `llmc run`
    against the package, and 1 vs 2 threads"""
    cfg = open(os.path.join(out, "cpu", "model_config.h")).read()
    check(f"#define SHARED_FF {IS} " in cfg and f"#define EXPERT_FF {I} " in cfg and "#define MOE_NORMALIZE 0 " in cfg,
          "model_config.h: the shared expert's width, the experts', routing not renormalised")
    check("shared_expert(m, L, in, n)" in open(os.path.join(out, "cpu", "model.c")).read(),
          "cpu/model.c computes the shared expert")
    prompt, n_new = ids[:13], 10
    dump = os.path.join(out, "cpu.decode.logits")
    r = run([LLMC, "run", out, "--prompt-ids", ",".join(map(str, prompt)), "-n", str(n_new), "--dump-logits", dump])
    gen = [int(t) for t in r.stdout.strip().split(",")]
    with torch.no_grad():
        want = model.generate(torch.tensor([prompt]), max_new_tokens=n_new)[0, len(prompt):].tolist()
        full = model(torch.tensor([prompt + gen[:-1]]))[0].double().numpy()
    check(gen == want, f"llmc run generates the package's greedy tokens ({gen} vs {want})")
    steps = np.fromfile(dump, dtype=np.float32).astype(np.float64).reshape(-1, V)
    d = rel(steps, full) if steps.shape == full.shape else float("inf")
    print(f"  llmc run, 13 prompt + 9 cached steps vs one package pass: {d:.2e}")
    check(d <= TOL, f"the CPU runtime's cached decoding computes the shared expert (got {d:.2e}, {steps.shape})")
    dumps = []
    for threads in (1, 2):
        path = os.path.join(out, f"cpu.t{threads}.logits")
        r = run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, prompt)), "-n", str(n_new),
                 "--threads", str(threads), "--dump-logits", path])
        dumps.append((r.stdout, open(path, "rb").read()))
    check(dumps[0] == dumps[1] and len(dumps[0][1]) == 4 * V * (len(prompt) + n_new - 1),
          "1 and 2 threads: the same tokens and bit-identical logits (prompt and decode)")


def cpu_quantized(spec, ckpt):
    """Q8_0 and Q4_0 (the head at Q8_0) against the package on the same weights through ggml's round
    trip: what remains is the runtime's Q8_0 activations. The shared expert is 64 wide here, so its
    down map has whole blocks too; its [1, H] scale is kept f32 (as in the GGUF)."""
    prompts = [[(i * a + b) % V for i in range(60)] for a, b in ((37, 5), (53, 11), (71, 2), (97, 17))]
    text = open(spec).read().split("\n", 1)[1]   # without write_spec's name line
    text = text.replace("shared_expert_intermediate_size: 48", "shared_expert_intermediate_size: 64")
    # the checkpoint's shared experts are 48 wide: draw this compile's weights afresh at 64
    first = os.path.join(TMP, "init-q")
    base = write_spec(TMP, "q2moe64", text)
    run([LLMC, "compile", base, "-o", first, "--emit", "safetensors"])
    ckpt64 = os.path.join(TMP, "random64.safetensors")
    random_checkpoint(first, ckpt64, seed=23)
    for quant in ("q8_0", "q4_0"):
        qspec = write_spec(TMP, "q2" + quant, text + f"quantize: {quant}\n")
        out = os.path.join(TMP, "out-" + quant)
        run([LLMC, "compile", qspec, "-o", out, "--emit", "safetensors,pytorch,cpu", "--weights", ckpt64])
        cfg = open(os.path.join(out, "cpu", "model_config.h")).read()
        check("#define SHARED_FF 64 " in cfg, f"{quant}: model_config.h has the shared expert 64 wide")
        model = import_package(out).from_pretrained(out, dtype=torch.float32)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() == 2 and p.shape[1] % 32 == 0 and not name.endswith("shared_expert_gate.weight"):
                    head = quant == "q8_0" or name == "lm_head.weight"
                    p.copy_(torch.from_numpy((q8_0_round_trip if head else q4_0_round_trip)(p.numpy())))
            want = np.concatenate([model(torch.tensor([ids]))[0].double().numpy() for ids in prompts])
        got = np.concatenate([backend_logits(out, ids, V, ("cpu",))["cpu"] for ids in prompts])
        plain, tie = top1_agreement(got, want)
        print(f"  cpu {quant} vs the package on {quant} weights, {len(got)} positions: rel {rel(got, want):.2e}, "
              f"top-1 {plain:.3f}, within tie tolerance {tie:.3f}")
        check(tie >= 0.99 and plain >= 0.90, f"{quant}: top-1 within tie {tie:.3f} >= 0.99, plain {plain:.3f} >= 0.90")


def refused(name, text, emit, key, message):
    spec = write_spec(TMP, name, text)
    out = os.path.join(TMP, name + "-out")
    r = run([LLMC, "compile", spec, "-o", out, "--emit", emit], ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"{name} ({emit}): exit {r.returncode}, nothing written")
    line = next((ln for ln in r.stderr.splitlines() if f": {key}: " in ln), "")
    check(line.startswith(spec + ":") and message in line, f"{name}: refused at {key} with '{message}': {r.stderr.strip()}")


def test_refusals():
    refused("q2-gguf-norm", SPEC.replace("normalize_topk: false", "normalize_topk: true"), "gguf",
            "moe.normalize_topk", "keeps the top-k softmax weights as they are")
    refused("q2-two", SPEC.replace("num_shared_experts: 1", "num_shared_experts: 2"), "safetensors",
            "moe.num_shared_experts", "2")
    refused("q2-nogate", SPEC.replace("  normalize_topk", "  shared_expert_gate: false\n  normalize_topk"),
            "safetensors", "moe.shared_expert_gate", "expected true, got false")
    refused("q2-orphan", SPEC.replace("  num_shared_experts: 1\n", ""), "safetensors",
            "moe.shared_expert_intermediate_size", "needs moe.num_shared_experts: 1")


if __name__ == "__main__":
    sys.exit(check.run_all([test_qwen2_moe_backends, test_refusals], TMP))
