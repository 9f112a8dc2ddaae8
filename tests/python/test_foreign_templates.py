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
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import ir_reference  # noqa: E402
from llmc_testlib import Checks, backend_logits, check_agreement, random_checkpoint, rel, run  # noqa: E402

TMP = tempfile.mkdtemp(prefix="llmc-test-foreign-all-")
TOL, GGUF_TOL = 1e-5, 1e-3
check = Checks()




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
        names = ("ir_reference", "pytorch", "torchscript", "cpu") + (("gguf",) if "gguf" in emit else ())
        logits = backend_logits(out, ids, V, names)
        check_agreement(check, logits, ["ir_reference", "pytorch", "torchscript", "cpu"], TOL, label=f"{template}: ")
        if "gguf" in logits:
            d = rel(logits["gguf"], logits["pytorch"])
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
