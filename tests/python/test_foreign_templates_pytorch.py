#!/usr/bin/env python3
"""The pytorch package of templates no backend was written for (issue 18, point 3): the SDK's
parallel_residual example (GPT-J / NeoX block) and the post_norm test template (original
Transformer / BERT block). ctest: python_test_foreign_templates_pytorch.

For each template, with its own spec and with a variant exercising the other features the
generic block has (rmsnorm, gated MLPs, grouped / multi-query heads, sliding window, a tied head):
* `llmc compile --emit pytorch,safetensors` writes the generic decoder package, whose state_dict
  is the safetensors file (IR names, shapes) and whose size is llmc's count;
* its logits equal tests/python/ir_reference.py, an interpreter of OUT/ir.json written
  independently of the emitter (float64 package: within 1e-5; float32: within 1e-4);
* the torch >= 2.1 attention path (scaled_dot_product_attention) gives the same logits;
* generation is the same with and without the KV cache, and step-by-step cached logits equal
  the full forward; gradient checkpointing gives the same gradients;
* train.py trains a few steps and its checkpoint re-imports through `llmc compile --weights`.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import ir_reference
from llmc_testlib import Checks, import_package, read_safetensors

SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP = tempfile.mkdtemp(prefix="llmc-test-foreign-pytorch-")
LLMC_CMD = ir_reference.llmc_with_foreign_templates()
check = Checks()

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

VARIANTS = {
    # name: (template, spec text or None for the template's own spec)
    "parallel_residual": ("parallel_residual", None),
    "parallel_rms_swiglu_gqa_tied": ("parallel_residual", """template: parallel_residual
dims: {num_layers: 2, hidden_size: 128, num_heads: 4, num_kv_heads: 2}
vocab_size: 300
context_length: 128
attention: gqa
norm: rmsnorm
activation: swiglu
positional_encoding: rope
tie_word_embeddings: true
bias: {qkv: true}
"""),
    "post_norm": ("post_norm", None),
    "post_rms_geglu_mqa_window_tied": ("post_norm", """template: post_norm
dims: {num_layers: 2, hidden_size: 128, num_heads: 4}
vocab_size: 300
context_length: 128
attention: sliding_window
sliding_window: 6
norm: rmsnorm
activation: geglu
positional_encoding: rope
tie_word_embeddings: true
bias: {lm_head: true}
"""),
}


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def spec_path(name):
    template, text = VARIANTS[name]
    if text is None:
        return ir_reference.FOREIGN_TEMPLATES[template][1]
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"name: {name.replace('_', '-')}\n" + text)
    return path


def compile_spec(spec, out, extra=()):
    run(LLMC_CMD + ["compile", spec, "-o", out, "--emit", "pytorch,safetensors", *extra])
    return out


def stored_weights(out):
    return read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))[0]


def check_package(name):
    out = compile_spec(spec_path(name), os.path.join(TMP, name))
    pkg = import_package(out)
    with open(os.path.join(out, "compilation_report.json")) as f:
        report = json.load(f)
    stored = stored_weights(out)
    ir = ir_reference.load_ir(out)
    model = pkg.from_pretrained(out, dtype=torch.float64)
    state = model.state_dict()
    check(sorted(state) == sorted(stored), f"{name}: state_dict names are the safetensors names")
    check(all(tuple(state[k].shape) == stored[k].shape for k in stored if k in state),
          f"{name}: state_dict shapes are the safetensors shapes")
    ir_params = [t["name"] for t in ir["tensors"] if t["kind"] == "param"]
    check(sorted(ir_params) == sorted(state), f"{name}: state_dict names are the IR parameter names")
    total = report["parameters"]
    check(model.num_parameters() == total, f"{name}: {model.num_parameters()} parameters, llmc counts {total}")
    check(all(torch.equal(state[k].float(), torch.from_numpy(stored[k]).float()) for k in stored if k in state),
          f"{name}: from_pretrained loads the stored values")

    V = pkg.ModelConfig().vocab_size
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(0, V, (2, 11), generator=gen)
    ref = ir_reference.forward(out, {"input_ids": ids.numpy()}, weights=stored, ir=ir)
    with torch.no_grad():
        got64 = model(ids).numpy()
    err64 = float(np.abs(got64 - ref).max())
    check(err64 <= 1e-5, f"{name}: float64 package vs ir_reference max |diff| {err64:.2e} > 1e-5")
    model32 = pkg.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        got32 = model32(ids).double().numpy()
    err32 = float(np.abs(got32 - ref).max())
    scale = float(np.abs(ref).max())
    check(err32 <= 1e-4 * max(1.0, scale), f"{name}: float32 package vs ir_reference max |diff| {err32:.2e}")
    print(f"  {name}: logits vs ir_reference: float64 {err64:.1e}, float32 {err32:.1e} (|logits| <= {scale:.2f})")

    # the torch >= 2.1 path (scaled_dot_product_attention, emulated by its documented semantics
    # when this torch predates it) gives the explicit path's logits
    modeling = sys.modules[pkg.__name__ + ".modeling"]
    F = modeling.F
    saved = (modeling._HAS_SDPA, modeling._SDPA_HAS_SCALE, getattr(F, "scaled_dot_product_attention", None))

    def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
        sc = (q @ k.transpose(-1, -2)) * (scale if scale is not None else 1 / q.size(-1) ** 0.5)
        if is_causal:
            sc = sc.masked_fill(torch.ones(sc.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
        if attn_mask is not None:
            sc = sc + attn_mask
        return torch.softmax(sc, dim=-1) @ v

    try:
        if saved[2] is None:
            F.scaled_dot_product_attention = sdpa
        modeling._HAS_SDPA, modeling._SDPA_HAS_SCALE = True, True
        with torch.no_grad():
            sdpa_err = float((model32(ids).double() - torch.from_numpy(got32)).abs().max())
    finally:
        modeling._HAS_SDPA, modeling._SDPA_HAS_SCALE = saved[0], saved[1]
        if saved[2] is None:
            del F.scaled_dot_product_attention
    check(sdpa_err <= 1e-4, f"{name}: the scaled_dot_product_attention path differs by {sdpa_err:.2e}")

    # the KV cache: token by token equals the full forward; generation agrees with and without it
    cache = pkg.KVCache(model32.config.num_layers)
    with torch.no_grad():
        steps = [model32(ids[:, i:i + 1], cache=cache) for i in range(ids.size(1))]
        full = model32(ids)
    step_err = float((torch.cat(steps, dim=1) - full).abs().max())
    check(step_err <= 1e-4, f"{name}: cached step-by-step logits differ from the full forward by {step_err:.2e}")
    a = model32.generate(ids[:1, :4], max_new_tokens=8)
    b = model32.generate(ids[:1, :4], max_new_tokens=8, use_cache=False)
    check(torch.equal(a, b) and a.shape == (1, 12), f"{name}: greedy generation with and without the cache: {a} {b}")

    # gradient checkpointing recomputes the same blocks
    train = pkg.from_pretrained(out, dtype=torch.float64).train()
    loss, _ = train(ids, labels=ids)
    loss.backward()
    plain = {k: p.grad.clone() for k, p in train.named_parameters()}
    train.zero_grad()
    train.gradient_checkpointing_enable()
    loss2, _ = train(ids, labels=ids)
    loss2.backward()
    ckpt_err = max(float((p.grad - plain[k]).abs().max()) for k, p in train.named_parameters())
    check(abs(float(loss) - float(loss2)) < 1e-12 and ckpt_err < 1e-10,
          f"{name}: gradient checkpointing changes the loss or gradients (max {ckpt_err:.1e})")
    return out


def test_packages():
    for name in VARIANTS:
        check_package(name)


def test_train_reimport():
    """train.py (one process) trains the parallel_residual model a few steps; its checkpoint
    re-imports through llmc compile --weights and loads into the package."""
    name = "parallel_residual"
    out = os.path.join(TMP, name)
    if not os.path.isdir(out):
        compile_spec(spec_path(name), out)
    text = os.path.join(TMP, "corpus.txt")
    with open(text, "w") as f:
        f.write("The quick brown fox jumps over the lazy dog. " * 200)
    ckpt = os.path.join(TMP, "ckpt")
    r = run([sys.executable, os.path.join(out, "pytorch", "train.py"), "--data", text, "--steps", "4",
             "--batch-size", "2", "--seq-len", "32", "--lr", "3e-3", "--warmup", "1", "--out", ckpt,
             "--log-every", "1"], cwd=TMP, timeout=600)
    saved = os.path.join(ckpt, "model.safetensors")
    check(os.path.isfile(saved), f"train.py wrote {saved}:\n{r.stdout}")
    trained, _ = read_safetensors(saved)
    out2 = compile_spec(spec_path(name), os.path.join(TMP, "reimport"), extra=("--weights", saved))
    again = stored_weights(out2)
    check(set(again) == set(trained), "the re-imported checkpoint has the trained tensors")
    check(all(np.array_equal(np.float32(trained[k]), np.float32(again[k])) for k in trained if k in again),
          "the trained values survive llmc compile --weights")
    pkg = import_package(out2)
    ids = torch.randint(0, 256, (1, 10))
    with torch.no_grad():
        check(torch.equal(pkg.from_pretrained(saved)(ids), pkg.from_pretrained(out2)(ids)),
              "the package loads the checkpoint and its re-import alike")
    losses = [l for l in r.stdout.splitlines() if "loss" in l]
    print(f"  train.py: {losses[-1] if losses else r.stdout.splitlines()[-1:]}")


if __name__ == "__main__":
    sys.exit(check.run_all([test_packages, test_train_reimport], TMP))
