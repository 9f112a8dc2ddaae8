"""The oracle for templates no backend was written for: tests/python/ir_reference.py executes
OUT/ir.json op by op. Before any backend is compared with it, it must itself agree with a backend
already verified against published formulas (test_pytorch.py checks the PyTorch package against
its own reference): the built-in templates' packages, over the features the IR expresses - GQA,
RoPE, sliding windows, SwiGLU/GeGLU, RMSNorm and LayerNorm with biases, learned positions, T5
relative buckets, encoder-decoder cross-attention. Then the two foreign templates (the SDK's
parallel_residual and tests/plugins/post_norm) run through it: their IR validates, every
parameter is found, the logits are finite and position-causal."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import ir_reference  # noqa: E402
from llmc_testlib import Checks, import_package, write_spec  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
TMP = tempfile.mkdtemp(prefix="llmc-test-ir-reference-")
check = Checks()

BUILTIN = {
    "ref-llama-gqa": """template: decoder_only
vocab_size: 300
context_length: 128
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 96}
attention: gqa
norm: rmsnorm
activation: swiglu
positional_encoding: rope
""",
    "ref-window": """template: decoder_only
vocab_size: 300
context_length: 128
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 1, intermediate_size: 96}
attention: sliding_window
sliding_window: 4
norm: layernorm
activation: geglu
positional_encoding: rope
bias: {qkv: true, norm: true}
""",
    "ref-learned": """template: encoder_decoder
vocab_size: 300
context_length: 64
dims: {num_encoder_layers: 2, num_decoder_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 128}
attention: mha
norm: layernorm
activation: gelu
positional_encoding: learned
bias: {qkv: true, attn_out: true, mlp: true, norm: true, lm_head: false}
tie_word_embeddings: true
""",
    "ref-t5": """template: encoder_decoder
vocab_size: 300
context_length: 128
dims: {num_encoder_layers: 2, num_decoder_layers: 2, hidden_size: 64, intermediate_size: 96, num_heads: 4, head_dim: 16}
attention: mha
norm: rmsnorm
activation: relu
positional_encoding: relative
relative_attention: {num_buckets: 32, max_distance: 128}
bias: {qkv: false, attn_out: false, mlp: false, norm: false, lm_head: false}
tie_word_embeddings: true
weights: {init: t5}
""",
}


def compile_to(cmd, spec, out, emit):
    r = subprocess.run(cmd + ["compile", spec, "-o", out, "--emit", emit, "--force"], capture_output=True, text=True)
    assert r.returncode == 0, f"compile {spec} exited {r.returncode}:\n{r.stdout}{r.stderr}"


def rel_err(got, ref):
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))


def test_agrees_with_the_builtin_packages():
    for name, text in BUILTIN.items():
        out = os.path.join(TMP, name)
        compile_to([LLMC], write_spec(TMP, name, text), out, "pytorch,safetensors")
        ir = ir_reference.load_ir(out)
        weights = ir_reference.load_weights(out)
        params = [t["name"] for t in ir["tensors"] if t["kind"] == "param"]
        if not check(all(p in weights for p in params), f"{name}: safetensors holds every IR parameter by name"):
            continue
        model = import_package(out).from_pretrained(out, dtype=torch.float32)
        torch.manual_seed(1)
        ids = torch.randint(0, 300, (2, 11))  # longer than the window of 4
        inputs = {"input_ids": ids.numpy()}
        with torch.no_grad():
            if ir["structure"] == "encoder_decoder":
                tgt = torch.randint(0, 300, (2, 6))
                inputs["decoder_input_ids"] = tgt.numpy()
                got = model(ids, tgt).double().numpy()
            else:
                got = model(ids).double().numpy()
        ref = ir_reference.forward(out, inputs, weights=weights)
        err = rel_err(got, ref)
        print(f"  {name}: interpreter vs package max rel err {err:.2e}")
        check(got.shape == ref.shape and err < 1e-5, f"{name}: interpreter and package agree (rel err {err:.2e})")


def test_runs_the_foreign_templates():
    for name, (_, spec) in ir_reference.FOREIGN_TEMPLATES.items():
        out = os.path.join(TMP, name)
        compile_to(ir_reference.llmc_with_foreign_templates(), spec, out, "safetensors")
        ir = ir_reference.load_ir(out)
        vocab = ir["tensors"][[t["kind"] for t in ir["tensors"]].index("param")]["shape"][0]
        rng = np.random.default_rng(3)
        ids = rng.integers(0, vocab, size=(2, 10))
        logits = ir_reference.forward(out, {"input_ids": ids})
        check(logits.shape == (2, 10, vocab) and np.isfinite(logits).all(), f"{name}: logits [2,10,{vocab}], finite")
        # causal: changing the last token leaves every earlier position's logits as they were
        ids2 = ids.copy()
        ids2[:, -1] = (ids2[:, -1] + 1) % vocab
        logits2 = ir_reference.forward(out, {"input_ids": ids2})
        check(np.array_equal(logits[:, :-1], logits2[:, :-1]) and not np.array_equal(logits[:, -1], logits2[:, -1]),
              f"{name}: only the changed position's logits change")
        blocks = {b["residual"] + "/" + b["norm_placement"] for b in ir["blocks"]}
        want = {"parallel_residual": {"parallel/pre"}, "post_norm": {"sequential/post"}}[name]
        check(blocks == want, f"{name}: block descriptors {sorted(blocks)}, expected {sorted(want)}")


if __name__ == "__main__":
    sys.exit(check.run_all([test_agrees_with_the_builtin_packages, test_runs_the_foreign_templates], TMP))
