#!/usr/bin/env python3
"""The GGUF emitter on templates it was never written for (issue 18; docs/gguf.md "Parallel
residual"): it reads the IR's block descriptors and parameter roles, not the template's names.

  * The SDK's parallel_residual template (GPT-J / GPT-NeoX blocks: x + attn(ln(x)) + mlp(ln(x)))
    becomes a GGUF in llama.cpp's gptneox architecture (phi2 when the head has a bias, as GPT-J's
    does); llama.cpp (node-llama-cpp's libllama, tests/oracle/llama_logits) loads it and its logits
    match ir_reference.py, an interpreter of OUT/ir.json on OUT/safetensors, within 1e-3 of the
    largest logit (relative). Weights are a random checkpoint with non-trivial norms and biases.
  * The built-in decoder_only template with GPT-NeoX's choices (rope, layernorm, gelu_tanh) maps
    to gptneox with use_parallel_residual false, through the same role-based plan.
  * Choices of the template llama.cpp cannot compute are refused at validation (exit 1) at the
    spec key, with the nearest supported value, and nothing is written.
  * The post_norm test template (original-Transformer / BERT post-norm blocks) has no llama.cpp
    decoder architecture: refused, naming the block and its norm op.

The oracle is required unless LLMC_SKIP_ORACLE=1 (machines that cannot install it)."""
import json
import os
import subprocess
import sys

import numpy as np
from llmc_testlib import Checks

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ir_reference  # noqa: E402
from llmc_testlib import write_safetensors  # noqa: E402

ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
GGUF_PY = os.environ.get("LLMC_GGUF_PY", "")
REL_TOL = 1e-3
# Q8_0: llama.cpp also quantizes activations to Q8_0 in every product (docs/gguf.md, Tests): the
# file must still compute the model, within a few % of the largest logit (measured 1.8e-2)
REL_TOL_Q8 = 5e-2

CHECKS = Checks()
check = CHECKS
failures = CHECKS.failures

GPTJ_TINY = open(ir_reference.FOREIGN_TEMPLATES["parallel_residual"][1]).read()

# name, spec text, expected llama.cpp architecture, parallel residual
CASES = [
    # GPT-J as the SDK ships it: one norm per block, MLP and head biases -> phi2
    ("gptj_tiny", GPTJ_TINY, "phi2", True),
    # without the head bias -> gptneox (the block's one norm written as both attn_norm and ffn_norm)
    ("neox_mlp_bias", GPTJ_TINY.replace("bias: {mlp: true, lm_head: true}", "bias: {mlp: true}"), "gptneox", True),
    # grouped-query attention, q/k/v and output biases, no MLP or norm biases (written as zeros),
    # tied head (written again as output.weight)
    ("neox_gqa_tied", "name: neox-gqa\ntemplate: parallel_residual\n"
     "dims: {num_layers: 2, hidden_size: 128, num_heads: 4, num_kv_heads: 2}\nvocab_size: 500\n"
     "context_length: 128\nnorm: layernorm\nactivation: gelu_tanh\nattention: gqa\npositional_encoding: rope\n"
     "rope: {theta: 500000}\ntie_word_embeddings: true\nbias: {qkv: true, attn_out: true, mlp: false, norm: false}\n",
     "gptneox", True),
    # arch forced: phi2 without a head bias (output.bias written as zeros)
    ("phi2_forced", GPTJ_TINY.replace("bias: {mlp: true, lm_head: true}", "bias: {qkv: true}")
     + "emit_options: {gguf: {arch: phi2}}\n", "phi2", True),
    # the built-in decoder_only template with GPT-NeoX's choices: gptneox, use_parallel_residual false
    ("neox_sequential", "name: neox-seq\ntemplate: decoder_only\ndims: {num_layers: 2, hidden_size: 128, num_heads: 4}\n"
     "vocab_size: 400\ncontext_length: 128\nnorm: layernorm\nactivation: gelu_tanh\npositional_encoding: rope\n"
     "bias: {qkv: true, attn_out: true, mlp: true}\n", "gptneox", False),
    # quantized: Q8_0 matrices (attn_qkv, ffn, head), F32 norms and biases
    ("neox_q8_0", GPTJ_TINY.replace("bias: {mlp: true, lm_head: true}", "bias: {mlp: true}") + "quantize: q8_0\n",
     "gptneox", True),
]

PAR = ("template: parallel_residual\nvocab_size: 300\ndims: {num_layers: 1, hidden_size: 64, num_heads: 4}\n"
       "positional_encoding: rope\n")
# name, spec text (None: the post_norm template's own spec), key, words the message must contain
REFUSALS = [
    ("post_norm", None, "template", "block decoder 0 has post norms (op 'decoder.layers.0.attn_norm'"),
    ("par_rmsnorm", PAR + "norm: rmsnorm\nactivation: gelu_tanh\n", "norm", "nearest supported: norm: layernorm"),
    ("par_swiglu", PAR + "norm: layernorm\nactivation: swiglu\n", "activation", "nearest supported: activation: gelu_tanh"),
    ("par_gelu_erf", PAR + "norm: layernorm\nactivation: gelu\n", "activation", "tanh approximation"),
    ("par_window", PAR + "norm: layernorm\nactivation: gelu_tanh\ncontext_length: 64\nattention: sliding_window\n"
     "sliding_window: 16\n", "attention", "full causal attention"),
    ("neox_head_bias", PAR + "norm: layernorm\nactivation: gelu_tanh\nbias: {lm_head: true}\n"
     "emit_options: {gguf: {arch: gptneox}}\n", "bias.lm_head", "phi2"),
    ("llama_on_parallel", PAR + "norm: layernorm\nactivation: gelu_tanh\nemit_options: {gguf: {arch: llama}}\n",
     "emit_options.gguf.arch", "nearest supported: arch gptneox, phi2 or auto"),
]


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def llmc(*args):
    return run(ir_reference.llmc_with_foreign_templates() + list(args))


def random_checkpoint(ir, seed):
    """IR-named weights (the layout of templates without a Hugging Face class): norms around 1,
    biases and weights small and non-zero, so that every bias and norm the file carries matters"""
    rng = np.random.default_rng(seed)
    w = {}
    for t in ir["tensors"]:
        if t["kind"] != "param":
            continue
        kind, shape = t["init"]["kind"], t["shape"]
        if kind == "ones":
            w[t["name"]] = 1 + 0.2 * rng.standard_normal(shape)
        elif kind == "zeros":
            w[t["name"]] = 0.05 * rng.standard_normal(shape)
        else:
            w[t["name"]] = t["init"]["std"] * rng.standard_normal(shape)
    return w


def gguf_fields(path):
    import gguf
    r = gguf.GGUFReader(path)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    names = {t.name for t in r.tensors}
    par = r.fields.get(arch + ".use_parallel_residual")
    rot = r.fields.get(arch + ".rope.dimension_count")
    return arch, names, (bool(par.parts[-1][0]) if par else None), (int(rot.parts[-1][0]) if rot else None)


def one_case(tmp, name, text, want_arch, want_par, seed):
    spec = os.path.join(tmp, name + ".yaml")
    with open(spec, "w") as f:
        f.write(text)
    # the graph first (for the checkpoint's names and shapes), then the model from the checkpoint
    probe = os.path.join(tmp, name + "_ir")
    r = llmc("compile", spec, "-o", probe, "--emit", "safetensors", "--force")
    if r.returncode != 0:
        check(False, f"{name}: compile (ir) failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return
    ir = ir_reference.load_ir(probe)
    weights = random_checkpoint(ir, seed)
    ckpt = os.path.join(tmp, name + ".safetensors")
    write_safetensors(ckpt, weights)
    out = os.path.join(tmp, name)
    r = llmc("compile", spec, "-o", out, "--emit", "gguf,safetensors", "--weights", ckpt, "--force")
    if r.returncode != 0:
        check(False, f"{name}: compile failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return
    path = os.path.join(out, "gguf", "model.gguf")
    arch, names, par, rot = gguf_fields(path)
    check(arch == want_arch, f"{name}: general.architecture {arch} (expected {want_arch})")
    with open(os.path.join(out, "spec.json")) as f:
        s = json.load(f)
    head_dim = s["dims"]["head_dim"]
    check(rot == head_dim, f"{name}: rope.dimension_count {rot} == head_dim {head_dim} (the template rotates all)")
    if arch == "gptneox":
        check(par is want_par, f"{name}: gptneox.use_parallel_residual is {want_par} (got {par})")
        check("blk.0.ffn_norm.weight" in names, f"{name}: gptneox has blk.0.ffn_norm.weight")
    else:
        check("output.bias" in names and "blk.0.ffn_norm.weight" not in names,
              f"{name}: phi2 has output.bias and one norm per block")

    ids = [(i * 37 + seed * 11 + 5) % s["vocab_size"] for i in range(24)]
    # the reference reads the weights the compile wrote (OUT/safetensors, the checkpoint's values)
    ref = ir_reference.forward(out, {"input_ids": np.array([ids])})[0]
    check(np.allclose(ref, ir_reference.forward(out, {"input_ids": np.array([ids])}, weights=weights)[0],
                      rtol=0, atol=1e-6 * float(np.abs(ref).max())),
          f"{name}: OUT/safetensors holds the checkpoint's weights")
    logits = os.path.join(tmp, name + ".logits")
    r = run([ORACLE, "logits", path, "--tokens", ",".join(map(str, ids)), "--out", logits])
    if r.returncode != 0:
        check(False, f"{name}: llama.cpp refused the file ({r.returncode}):\n{r.stdout}{r.stderr}")
        return
    got = np.fromfile(logits, dtype=np.float32).reshape(ref.shape)
    diff = float(np.abs(got - ref).max())
    rel = diff / float(np.abs(ref).max())
    top1 = float((got.argmax(-1) == ref.argmax(-1)).mean())
    print(f"  {name}: arch {arch}, max |llama.cpp - ir_reference| {diff:.3g}, relative {rel:.3g}, top-1 {top1:.3f}")
    tol = REL_TOL_Q8 if s.get("quantize") == "q8_0" else REL_TOL
    check(rel <= tol, f"{name}: llama.cpp logits within {tol} relative of ir_reference (got {rel:.3g})")
    if s.get("quantize") == "q8_0":
        check(top1 >= 0.9, f"{name}: Q8_0 top-1 agreement {top1:.3f} >= 0.9")


def refusal(tmp, name, text, key, words):
    if text is None:
        spec = ir_reference.FOREIGN_TEMPLATES["post_norm"][1]
    else:
        spec = os.path.join(tmp, name + ".yaml")
        with open(spec, "w") as f:
            f.write(text)
    out = os.path.join(tmp, "refused_" + name)
    r = llmc("compile", spec, "-o", out, "--emit", "gguf")
    msg = r.stdout + r.stderr
    check(r.returncode == 1, f"refusal {name}: exit code 1 (got {r.returncode}):\n{msg}")
    check(f": {key}: " in msg and words in msg, f"refusal {name}: message at '{key}' names '{words}':\n{msg}")
    check(not os.path.exists(out), f"refusal {name}: nothing written")


def main():
    if not os.environ.get("LLMC"):
        print("FAIL: $LLMC is not set (run through ctest)")
        return 1
    for plugin_dir, _ in ir_reference.FOREIGN_TEMPLATES.values():
        if not os.path.isdir(plugin_dir):
            print(f"FAIL: {plugin_dir} is missing (build the tree)")
            return 1
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for name, text, key, words in REFUSALS:
            refusal(tmp, name, text, key, words)
        if not ORACLE or not os.path.exists(ORACLE) or not GGUF_PY:
            msg = "the llama.cpp oracle is not built (run scripts/setup-oracles.sh, then re-run cmake)"
            if os.environ.get("LLMC_SKIP_ORACLE") == "1":
                print("SKIPPED the llama.cpp comparisons (LLMC_SKIP_ORACLE=1):", msg)
            else:
                check(False, msg)
        else:
            sys.path.insert(0, GGUF_PY)
            for seed, (name, text, arch, par) in enumerate(CASES, start=1):
                one_case(tmp, name, text, arch, par, seed)
    print(f"{CHECKS.n - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
