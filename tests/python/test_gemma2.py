#!/usr/bin/env python3
"""Gemma-2 blocks and per-layer window patterns (issue 19), end to end on a tiny gemma2 spec
(4 layers, GQA 4/2, head_dim 24 independent of hidden 64 / 4 heads, tied, a 5-token window on
layers 0 and 2 while layers 1 and 3 see the whole past, soft-caps small enough to bind, a query
scale 16^-0.5 other than head_dim^-0.5):

  * safetensors: HF Gemma2 names (input_layernorm, post_attention_layernorm,
    pre_feedforward_layernorm, post_feedforward_layernorm), config.json model_type gemma2 /
    Gemma2ForCausalLM with query_pre_attn_scalar, the soft-caps, sliding_window, head_dim and
    hidden_activation gelu_pytorch_tanh; norm weights initialised to 0 (the scale is 1 + w);
  * on a random checkpoint (norm weights away from 0): tests/python/ir_reference.py equals an
    independent float64 Gemma-2 forward written here from the published architecture (transformers'
    Gemma2DecoderLayer), and the PyTorch package is within 1e-5 of both, with a 20-token prompt so
    that the window and the alternating layers matter (the same model with every layer windowed
    gives other logits);
  * GGUF arch gemma2 (post_attention_norm / post_ffw_norm, norms written as 1 + w, the window
    pattern and soft-caps in the metadata): llama.cpp's logits within 1e-3 of the package, on the
    same spec with query_pre_attn_scalar = head_dim (llama.cpp's gemma2 scales q by head_dim^-0.5);
  * TorchScript (the generic code: (1 + w) norms, the scaled embedding, soft-caps, a causal bias
    for the global layers beside the windowed one) within 1e-5 of the package and of ir_reference;
  * the CPU runtime (//@if SANDWICH, EMBED_SCALE, ATTN_SOFTCAP, LOGIT_SOFTCAP, SLIDING_MIXED; norm
    weights stored as 1 + w): F32 logits within 1e-5 of the package and of ir_reference; `llmc run`
    from a 13-token prompt generates the package's 10 greedy tokens through the KV cache, every
    cached step's logits within 1e-5 of a full pass; Q8_0 and Q4_0 (head Q8_0) against the package
    on weights through numpy's ggml round trip (the runtime's 8-bit activations remain: the Q8_0 bar
    of test_cpu_runtime, top-1 within the near-tie tolerance >= 99 %, plain top-1 >= 90 %);
  * refusals, at validation, naming the key and nothing written: the cpu runtime on sandwich norms
    with sparse experts; gguf on query_pre_attn_scalar != head_dim, on no
    final soft-cap and on the options without sandwich blocks; the spec loader on norm_weight_offset 2,
    norm_weight_offset with layernorm, sliding_window_pattern without a window, sandwich with
    no_norm; template encoder_decoder on the options."""
import json
import os
import re
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ir_reference  # noqa: E402
from llmc_testlib import (Checks, backend_logits, check_agreement, import_package, neox_rope,  # noqa: E402
                          q4_0_round_trip, q8_0_round_trip, read_safetensors, rel, run, top1_agreement,
                          write_safetensors, write_spec)

LLMC = os.environ.get("LLMC", "llmc")
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
TMP = tempfile.mkdtemp(prefix="llmc-test-gemma2-")
TOL, GGUF_TOL = 1e-5, 1e-3
check = Checks()

SPEC = """template: decoder_only
dims: {num_layers: 4, hidden_size: 64, num_heads: 4, num_kv_heads: 2, head_dim: 24, intermediate_size: 96}
vocab_size: 300
context_length: 64
attention: sliding_window
sliding_window: 5
sliding_window_pattern: 2
norm: rmsnorm
norm_eps: 1.0e-6
norm_placement: sandwich
norm_weight_offset: 1
embedding_scale: sqrt_hidden
attention_softcap: 1.5
final_logit_softcap: 3.0
query_pre_attn_scalar: 16
activation: geglu
rope: {theta: 10000}
bias: {qkv: false, attn_out: false, mlp: false, norm: false, lm_head: false}
tie_word_embeddings: true
"""
H, L, NH, NKV, HD, I, V, EPS, THETA = 64, 4, 4, 2, 24, 96, 300, 1e-6, 1e4
WINDOW, ATTN_CAP, FINAL_CAP, QPAS = 5, 1.5, 3.0, 16.0


def random_checkpoint(out, path, seed):
    """OUT's weights redrawn: matrices N(0, 0.08), norm weights N(0, 0.3) (scale 1 + w), F32."""
    tensors, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    rng = np.random.default_rng(seed)
    new = {}
    for name in sorted(tensors):
        a = tensors[name]
        new[name] = 0.3 * rng.standard_normal(a.shape) if a.ndim == 1 else 0.08 * rng.standard_normal(a.shape)
    write_safetensors(path, new)
    return new


def gemma2_forward(w, ids, every_layer_windowed=False):
    """Gemma-2 as published (transformers' Gemma2Model): embeddings times sqrt(hidden); per layer
    h = h + post_attn(attn(input(h))), h = h + post_ff(mlp(pre_ff(h))) with RMSNorm scaling by
    (1 + w); scores q.k * query_pre_attn_scalar^-0.5 soft-capped (cap * tanh(s / cap)) before the
    mask; layer i windowed when i % 2 == 0 (key j visible from query i when i - window < j <= i),
    global otherwise; GeGLU with the tanh GELU; final norm, tied head, logits soft-capped.
    float64."""
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in w.items()}

    def rms(x, g):
        return (1 + g) * x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS)

    S = len(ids)
    x = t["model.embed_tokens.weight"][torch.tensor(ids)] * H ** 0.5
    rope = neox_rope(S, HD, THETA)

    qi, kj = torch.arange(S)[:, None], torch.arange(S)[None, :]
    for i in range(L):
        p = f"model.layers.{i}."
        visible = kj <= qi
        if i % 2 == 0 or every_layer_windowed:
            visible = visible & (kj > qi - WINDOW)
        mask = torch.zeros(S, S, dtype=torch.float64).masked_fill(~visible, float("-inf"))
        h = rms(x, t[p + "input_layernorm.weight"])
        q = rope((h @ t[p + "self_attn.q_proj.weight"].T).view(S, NH, HD))
        k = rope((h @ t[p + "self_attn.k_proj.weight"].T).view(S, NKV, HD))
        v = (h @ t[p + "self_attn.v_proj.weight"].T).view(S, NKV, HD)
        k, v = k.repeat_interleave(NH // NKV, 1), v.repeat_interleave(NH // NKV, 1)
        s = torch.einsum("snd,tnd->nst", q, k) * QPAS ** -0.5
        s = ATTN_CAP * torch.tanh(s / ATTN_CAP) + mask
        o = torch.einsum("nst,tnd->snd", s.softmax(-1), v).reshape(S, NH * HD)
        x = x + rms(o @ t[p + "self_attn.o_proj.weight"].T, t[p + "post_attention_layernorm.weight"])
        h = rms(x, t[p + "pre_feedforward_layernorm.weight"])
        g, u = h @ t[p + "mlp.gate_proj.weight"].T, h @ t[p + "mlp.up_proj.weight"].T
        m = (torch.nn.functional.gelu(g, approximate="tanh") * u) @ t[p + "mlp.down_proj.weight"].T
        x = x + rms(m, t[p + "post_feedforward_layernorm.weight"])
    logits = rms(x, t["model.norm.weight"]) @ t["model.embed_tokens.weight"].T
    return (FINAL_CAP * torch.tanh(logits / FINAL_CAP)).numpy()


def test_gemma2_backends():
    spec = write_spec(TMP, "g2tiny", SPEC)
    first = os.path.join(TMP, "init")
    run([LLMC, "compile", spec, "-o", first, "--emit", "safetensors"])
    cfg = json.load(open(os.path.join(first, "safetensors", "config.json")))
    check(cfg.get("model_type") == "gemma2" and cfg.get("architectures") == ["Gemma2ForCausalLM"],
          f"config.json is Gemma2's: {cfg.get('model_type')} {cfg.get('architectures')}")
    want = {"head_dim": HD, "rms_norm_eps": EPS, "query_pre_attn_scalar": QPAS, "sliding_window": WINDOW,
            "attn_logit_softcapping": ATTN_CAP, "final_logit_softcapping": FINAL_CAP,
            "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": True, "attention_bias": False}
    for k, v in want.items():
        check(cfg.get(k) == v, f"config.json {k} = {v!r} (got {cfg.get(k)!r})")
    tensors, _ = read_safetensors(os.path.join(first, "safetensors", "model.safetensors"))
    for i in range(L):
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                  "post_feedforward_layernorm"):
            name = f"model.layers.{i}.{n}.weight"
            check(name in tensors and tensors[name].shape == (H,) and not np.any(tensors[name]),
                  f"safetensors holds {name} [{H}], zeros (scale 1 + w = 1)")
    check(len(tensors) == 1 + L * 11 + 1, f"safetensors: {len(tensors)} tensors (tied head)")

    ckpt = os.path.join(TMP, "random.safetensors")
    random_checkpoint(first, ckpt, seed=2)
    out = os.path.join(TMP, "out")
    run([LLMC, "compile", spec, "-o", out, "--emit", "safetensors,pytorch,torchscript,cpu", "--weights", ckpt])

    ids = [(i * 37 + 5) % V for i in range(20)]
    ref = ir_reference.forward(out, {"input_ids": np.array([ids])})[0]
    weights, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))  # as stored (F32)
    mine = gemma2_forward(weights, ids)
    d = rel(ref, mine)
    print(f"  ir_reference vs the Gemma-2 forward here: {d:.2e}")
    check(d <= 1e-12, f"ir_reference computes Gemma-2 (float64, got {d:.2e})")
    d = rel(gemma2_forward(weights, ids, every_layer_windowed=True), mine)
    print(f"  every layer windowed instead of alternating: {d:.2e} apart")
    check(d > 1e-3, f"the 20-token prompt tells the alternating layers from all-windowed ones ({d:.2e})")
    check(float(np.abs(mine).max()) < FINAL_CAP, "the logits are capped")

    pkg = import_package(out)
    model = pkg.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        got = model(torch.tensor([ids]))[0].double().numpy()
    for name, other in (("ir_reference", ref), ("the Gemma-2 forward", mine)):
        d = rel(got, other)
        print(f"  pytorch vs {name}: max |diff| / max |logit| = {d:.2e}")
        check(d <= TOL, f"pytorch and {name} logits within {TOL} (got {d:.2e})")
    ts = torch.jit.load(os.path.join(out, "torchscript", "model.pt"))
    with torch.no_grad():
        got_ts = ts(torch.tensor([ids]))[0].double().numpy()
    for name, other in (("pytorch", got), ("ir_reference", ref)):
        d = rel(got_ts, other)
        print(f"  torchscript vs {name}: max |diff| / max |logit| = {d:.2e}")
        check(d <= TOL, f"torchscript and {name} logits within {TOL} (got {d:.2e})")
    # the package's KV cache: the prompt in two pieces gives the same logits for the second
    cache = pkg.KVCache(L)
    with torch.no_grad():
        model(torch.tensor([ids[:13]]), cache=cache)
        tail = model(torch.tensor([ids[13:]]), cache=cache)[0].double().numpy()
    d = rel(tail, got[13:])
    print(f"  pytorch with a KV cache (13 + 7 tokens) vs one pass: {d:.2e}")
    check(d <= TOL, f"cached decoding keeps each layer's window (got {d:.2e})")

    cpu_runtime(out, ids, ref, got, model)
    cpu_quantized(spec, ckpt)

    # GGUF: llama.cpp's gemma2 scales q by head_dim^-0.5, so the spec for it says query_pre_attn_scalar 24
    spec24 = write_spec(TMP, "g2tiny24", SPEC.replace("query_pre_attn_scalar: 16", f"query_pre_attn_scalar: {HD}"))
    out24 = os.path.join(TMP, "out24")
    run([LLMC, "compile", spec24, "-o", out24, "--emit", "safetensors,pytorch,gguf", "--weights", ckpt])
    with torch.no_grad():
        got24 = import_package(out24).from_pretrained(out24, dtype=torch.float32)(torch.tensor([ids]))[0]
    got24 = got24.double().numpy()
    d = rel(got24, ir_reference.forward(out24, {"input_ids": np.array([ids])})[0])
    check(d <= TOL, f"pytorch and ir_reference agree with query_pre_attn_scalar {HD} (got {d:.2e})")
    if not ORACLE or not os.path.exists(ORACLE):
        check(os.environ.get("LLMC_SKIP_ORACLE") == "1", "the llama.cpp oracle is not built")
        return
    got_path = os.path.join(out24, "gguf.logits")
    run([ORACLE, "logits", os.path.join(out24, "gguf", "model.gguf"), "--tokens", ",".join(map(str, ids)),
         "--out", got_path])
    g = np.fromfile(got_path, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
    d = rel(g, got24)
    print(f"  llama.cpp (GGUF arch gemma2) vs pytorch: {d:.2e}")
    check(d <= GGUF_TOL, f"llama.cpp logits within {GGUF_TOL} of the package (got {d:.2e})")


def cpu_runtime(out, ids, ref, pkg_logits, model):
    """llmc-run (F32) on OUT against the package's logits and ir_reference's, a prompt pass and cached
    decoding through `llmc run`"""
    src = open(os.path.join(out, "cpu", "model.c")).read()
    for needle in ("add_normed", "EMBED_SCALE", "ATTN_SOFTCAP", "LOGIT_SOFTCAP", "layer_windowed"):
        check(needle in src, f"cpu/model.c computes {needle}")
    cfg = open(os.path.join(out, "cpu", "model_config.h")).read()
    check("#define LAYER_WINDOWED {1, 0, 1, 0}" in cfg and "#define NORM_WEIGHT_OFFSET 1.0f" in cfg,
          "model_config.h: layers 0 and 2 windowed, norms scale by 1 + w")
    logits = backend_logits(out, ids, V, ("cpu",))
    logits.update({"pytorch": pkg_logits, "ir_reference": ref})
    check_agreement(check, logits, ["cpu", "pytorch", "ir_reference"], TOL)
    # llmc run: 13 prompt tokens then 10 greedy ones, one position at a time through the KV cache
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
    check(d <= TOL, f"the CPU runtime's cached decoding keeps each layer's window (got {d:.2e}, {steps.shape})")


def cpu_quantized(spec, ckpt):
    """Q8_0 and Q4_0 (the tied head / embedding at Q8_0) against the package on the same weights
    through ggml's round trip: what remains is the runtime's Q8_0 activations"""
    prompts = [[(i * a + b) % V for i in range(60)] for a, b in ((37, 5), (53, 11), (71, 2), (97, 17))]
    text = open(spec).read().split("\n", 1)[1]
    for quant in ("q8_0", "q4_0"):
        qspec = write_spec(TMP, "g2" + quant, text + f"quantize: {quant}\n")
        out = os.path.join(TMP, "out-" + quant)
        run([LLMC, "compile", qspec, "-o", out, "--emit", "safetensors,pytorch,cpu", "--weights", ckpt])
        model = import_package(out).from_pretrained(out, dtype=torch.float32)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() == 2 and p.shape[1] % 32 == 0:   # every matrix here; the embedding is the head
                    head = quant == "q8_0" or name == "model.embed_tokens.weight"
                    p.copy_(torch.from_numpy((q8_0_round_trip if head else q4_0_round_trip)(p.numpy())))
            want = np.concatenate([model(torch.tensor([ids]))[0].double().numpy() for ids in prompts])
        got = np.concatenate([backend_logits(out, ids, V, ("cpu",))["cpu"] for ids in prompts])
        plain, tie = top1_agreement(got, want)
        print(f"  cpu {quant} vs the package on {quant} weights, {len(got)} positions: rel {rel(got, want):.2e}, "
              f"top-1 {plain:.3f}, within tie tolerance {tie:.3f}")
        check(tie >= 0.99 and plain >= 0.90, f"{quant}: top-1 within tie {tie:.3f} >= 0.99, plain {plain:.3f} >= 0.90")


def expect_refusal(name, spec_text, emit, needle):
    spec = write_spec(TMP, name, spec_text)
    out = os.path.join(TMP, name + "-out")
    r = run([LLMC, "compile", spec, "-o", out, "--emit", emit], ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"{name} ({emit}): exit {r.returncode}, nothing written")
    key = needle.split(":")[0]
    loc = re.search(re.escape(name) + r"\.yaml:(\d+):(\d+): " + re.escape(needle), r.stderr)
    check(loc is not None, f"{name}: the refusal is located (file:line:col) at {key}: {r.stderr.strip()[:600]}")
    if loc and key in spec_text:  # the key is written: the location is its line
        lines = spec_text.splitlines()  # write_spec puts "name: ..." on line 1
        line = lines.index(next(l for l in lines if l.startswith(key + ":"))) + 2
        check(int(loc.group(1)) == line, f"{name}: {key} is reported at line {loc.group(1)}, written at line {line}")


def test_refusals():
    # sandwich blocks with sparse experts (the template has them; the runtime adds experts into the stream)
    expect_refusal("g2cpu", SPEC.replace("activation: geglu", "activation: swiglu") +
                   "moe: {num_experts: 4, experts_per_token: 2}\n", "cpu",
                   "norm_placement: the cpu runtime computes sandwich norms in sequential blocks with a dense MLP")
    # llama.cpp's gemma2 scales q by head_dim^-0.5 whatever query_pre_attn_scalar says
    expect_refusal("g2gguf", SPEC, "gguf", "query_pre_attn_scalar: op 'model.layers.0.self_attn.attention' scales")
    expect_refusal("g2gguf2", SPEC.replace("final_logit_softcap: 3.0\n", ""), "gguf",
                   "final_logit_softcap: none: llama.cpp's gemma2 always soft-caps the logits")
    # Gemma-2's options outside sandwich blocks: the pre-norm Gemma arch (gemma) computes none of them
    expect_refusal("g2pre", SPEC.replace("norm_placement: sandwich\n", ""), "gguf",
                   "attention_softcap: op 'model.layers.0.self_attn.attention' soft-caps its scores; GGUF arch gemma "
                   "does not")
    # ... and the arches of other blocks neither (a SwiGLU block without Gemma's marks: llama's path)
    expect_refusal("g2prellama", SPEC.replace("norm_placement: sandwich\n", "").replace("activation: geglu", "activation: swiglu")
                   .replace("norm_weight_offset: 1\n", "").replace("embedding_scale: sqrt_hidden\n", ""), "gguf",
                   "attention_softcap: GGUF arch llama/qwen2/qwen3/gpt2/t5/gptneox/phi2 does not compute")
    expect_refusal("g2off2", SPEC.replace("norm_weight_offset: 1", "norm_weight_offset: 2"), "safetensors",
                   "norm_weight_offset: must be 0")
    expect_refusal("g2ln", SPEC.replace("norm: rmsnorm", "norm: layernorm"), "safetensors",
                   "norm_weight_offset: applies to RMSNorm")
    expect_refusal("g2nonorm", SPEC.replace("norm: rmsnorm", "norm: no_norm").replace("norm_weight_offset: 1\n", ""),
                   "safetensors", "norm_placement: sandwich puts norms around each sub-layer")
    expect_refusal("g2nowin", SPEC.replace("attention: sliding_window\nsliding_window: 5\n", "attention: gqa\n"),
                   "safetensors", "sliding_window_pattern: mixes windowed and global layers")
    expect_refusal("g2t5", "template: encoder_decoder\ndims: {num_encoder_layers: 1, num_decoder_layers: 1, "
                   "hidden_size: 32, num_heads: 2, intermediate_size: 64}\nvocab_size: 100\n"
                   "positional_encoding: relative\nnorm: rmsnorm\nattention_softcap: 5.0\n", "safetensors",
                   "attention_softcap: template encoder_decoder does not compute")


if __name__ == "__main__":
    sys.exit(check.run_all([test_gemma2_backends, test_refusals], TMP))
