#!/usr/bin/env python3
"""Issue 18, point 3, end to end: templates no backend was written for - the SDK's
parallel_residual (GPT-J / NeoX blocks) and the post_norm test template (original-Transformer /
BERT blocks, names no backend knows) - compile to every backend in one command, and the backends
agree with each other on the same weights:

  * the PyTorch package, TorchScript and the C CPU runtime pairwise within 1e-5 of the largest
    logit (max |a - b| / max |b|), and each within 1e-5 of tests/python/ir_reference.py, the
    interpreter of OUT/ir.json;
  * llama.cpp on the GGUF (parallel residual: gptneox, or phi2 with a head bias) within 1e-3 of the
    PyTorch package;
  * the gguf emitter refuses the post-norm graph at validation, naming the block, and writes nothing.

The per-backend tests (test_foreign_templates_{pytorch,torchscript,cpu,gguf}.py) cover the feature
variants; this one is the cross-backend statement on each template's own spec and on a random
checkpoint (norm weights and biases away from their 1 / 0 init, so that a backend that skipped a
norm or a bias would show)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import ir_reference  # noqa: E402
from llmc_testlib import Checks, import_package, read_safetensors, write_safetensors  # noqa: E402

ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
TMP = tempfile.mkdtemp(prefix="llmc-test-foreign-all-")
TOL, GGUF_TOL = 1e-5, 1e-3
check = Checks()


def run(cmd, ok=True):
    r = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout}\n{r.stderr[-3000:]}")
    return r


def random_checkpoint(out, path, seed):
    """OUT's safetensors with every tensor redrawn: matrices N(0, 0.08), norm weights 1 + N(0, 0.2),
    biases N(0, 0.05); in the IR's names and dtypes (F32)."""
    tensors, header = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    ir = ir_reference.load_ir(out)
    info = {t["name"]: t for t in ir["tensors"] if t["kind"] == "param"}
    rng = np.random.default_rng(seed)
    new = {}
    for name, a in tensors.items():
        t = info[name]
        if t["role"] == "norm" and not t["is_bias"]:
            new[name] = 1 + 0.2 * rng.standard_normal(a.shape)
        elif t["is_bias"]:
            new[name] = 0.05 * rng.standard_normal(a.shape)
        else:
            new[name] = 0.08 * rng.standard_normal(a.shape)
    write_safetensors(path, {name: new[name] for name in sorted(new)})


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def backends(template, emit):
    plugin_dir, spec = ir_reference.FOREIGN_TEMPLATES[template]
    first = os.path.join(TMP, template + "-init")
    run(ir_reference.llmc_with_foreign_templates() + ["compile", spec, "-o", first, "--emit", "safetensors"])
    ckpt = os.path.join(TMP, template + ".safetensors")
    random_checkpoint(first, ckpt, seed=len(template))
    out = os.path.join(TMP, template)
    run(ir_reference.llmc_with_foreign_templates() + ["compile", spec, "-o", out, "--emit", emit, "--weights", ckpt])
    return out


def test_backends_agree():
    for template, seed in (("parallel_residual", 1), ("post_norm", 2)):
        emit = "safetensors,pytorch,torchscript,cpu" + (",gguf" if template == "parallel_residual" else "")
        out = backends(template, emit)
        ir = ir_reference.load_ir(out)
        V = next(t["shape"][0] for t in ir["tensors"] if t.get("role") == "token_embedding")
        ids = [(i * 37 + seed * 11 + 5) % V for i in range(20)]
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
        names = ["ir_reference", "pytorch", "torchscript", "cpu"]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                d = rel(logits[a], logits[b])
                print(f"  {template}: {a} vs {b}: max |diff| / max |logit| = {d:.2e}")
                check(d <= TOL, f"{template}: {a} and {b} logits within {TOL} (got {d:.2e})")
        if "gguf" in emit:
            if not ORACLE or not os.path.exists(ORACLE):
                check(os.environ.get("LLMC_SKIP_ORACLE") == "1", "the llama.cpp oracle is not built")
                continue
            path = os.path.join(out, "gguf", "model.gguf")
            got = os.path.join(out, "gguf.logits")
            run([ORACLE, "logits", path, "--tokens", ",".join(map(str, ids)), "--out", got])
            g = np.fromfile(got, dtype=np.float32).astype(np.float64).reshape(len(ids), V)
            d = rel(g, logits["pytorch"])
            print(f"  {template}: llama.cpp vs pytorch: {d:.2e}")
            check(d <= GGUF_TOL, f"{template}: llama.cpp logits within {GGUF_TOL} of the package (got {d:.2e})")


def test_gguf_names_the_post_norm_obstacle():
    _, spec = ir_reference.FOREIGN_TEMPLATES["post_norm"]
    out = os.path.join(TMP, "post-norm-gguf")
    r = run(ir_reference.llmc_with_foreign_templates() + ["compile", spec, "-o", out, "--emit", "gguf,safetensors"],
            ok=False)
    check(r.returncode == 1 and not os.path.exists(out), f"post_norm to gguf: exit {r.returncode}, nothing written")
    check("post norms" in r.stderr and "decoder.layers.0.attn_norm" in r.stderr,
          f"the refusal names the block and the op: {r.stderr.strip()}")


if __name__ == "__main__":
    sys.exit(check.run_all([test_backends_agree, test_gguf_names_the_post_norm_obstacle], TMP))
