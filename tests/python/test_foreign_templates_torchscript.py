#!/usr/bin/env python3
"""The torchscript emitter on templates it was not written for (issue 18, point 3): the SDK's
parallel_residual (GPT-J / NeoX blocks, h = h + attn(ln(h)) + mlp(ln(h))) and the post_norm test
template (h = norm(h + attn(h)); h = norm(h + mlp(h)), no final norm, names no backend knows).
Their archives are generated from the IR's block descriptors, roles and norm sites
(plugins/emitters/torchscript/ts_generic.c).

For each template's spec and a few variants over the features the generic code writes (rmsnorm and
layernorm with and without bias, plain / SwiGLU / GeGLU MLPs, MHA / GQA / MQA, sliding windows,
tied and untied heads with and without bias, float32 / float16 / bfloat16), compiled with
`--emit torchscript,safetensors`:
  * torch.jit.load reads the archive (eval mode, parameters at the spec's precision);
  * its state_dict() has the safetensors file's names (the IR's) and values;
  * its logits equal tests/python/ir_reference.py's (an interpreter of OUT/ir.json on the
    safetensors weights, float64) within max |diff| / max |logit| <= 1e-5, for several lengths;
  * the archive source wires each block as its descriptor says (the comment per block), and the
    version is what torch.jit.save writes for the same code.
Built-in decoder-only specs (llama and GPT-2 layouts) take the same generic code, T5 the
package-mirroring tree (which_code); python_test_torchscript compares all of them with the PyTorch
package."""
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import ir_reference  # noqa: E402
from llmc_testlib import Checks, read_safetensors, write_spec  # noqa: E402

TMP = tempfile.mkdtemp(prefix="llmc-test-foreign-ts-")
TOL = 1e-5
check = Checks()
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

def spec_text(template, **keys):
    """A small spec for template: the defaults below, overridden by keys (YAML values as text)."""
    base = {"template": template, "dims": "{num_layers: 2, hidden_size: 64, num_heads: 4}", "vocab_size": "300",
            "context_length": "128", "positional_encoding": "rope"}
    base.update(keys)
    return "".join(f"{k}: {v}\n" for k, v in base.items())


# (name, template, spec: a path or text); the first of each template is its own spec
SPECS = [
    ("gptj-tiny", "parallel_residual", ir_reference.FOREIGN_TEMPLATES["parallel_residual"][1]),
    ("pr-rms-swiglu-gqa-tied", "parallel_residual",
     spec_text("parallel_residual", dims="{num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2}",
               attention="gqa", norm="rmsnorm", activation="swiglu", tie_word_embeddings="true")),
    ("pr-window-ln-nobias-relu-bf16", "parallel_residual",
     spec_text("parallel_residual", attention="sliding_window", sliding_window="4", norm="layernorm",
               bias="{norm: false, qkv: true, attn_out: true}", activation="relu", precision="bfloat16")),
    ("post-norm-tiny", "post_norm", ir_reference.FOREIGN_TEMPLATES["post_norm"][1]),
    ("pn-rms-geglu-mqa-headbias", "post_norm",
     spec_text("post_norm", attention="mqa", norm="rmsnorm", activation="geglu", tie_word_embeddings="false",
               bias="{lm_head: true}")),
    ("pn-ln-silu-tied-f16", "post_norm",
     spec_text("post_norm", norm="layernorm", activation="silu", tie_word_embeddings="true", bias="{mlp: true}",
               precision="float16")),
]


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def spec_path(name, text):
    return text if os.path.exists(text) else write_spec(TMP, name, text)


def torch_save_version(path):
    buf = io.BytesIO()
    torch.jit.save(torch.jit.load(path), buf)
    with zipfile.ZipFile(buf) as z:
        return int(z.read([n for n in z.namelist() if n.endswith("/version")][0]))


def one(name, template, text):
    out = os.path.join(TMP, name)
    cmd = ir_reference.llmc_with_foreign_templates() + ["compile", spec_path(name, text), "-o", out, "--emit",
                                                        "torchscript,safetensors", "--force"]
    r = run(cmd)
    if not check(r.returncode == 0, f"{name}: llmc compile exited {r.returncode}:\n{r.stderr[-2000:]}"):
        return
    path = os.path.join(out, "torchscript", "model.pt")
    ts = torch.jit.load(path)
    check(not ts.training, f"{name}: the archive loads in eval mode")
    tensors = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))[0]
    sd = ts.state_dict()
    check(set(sd) == set(tensors), f"{name}: archive names {sorted(sd)[:4]}... != safetensors names "
          f"{sorted(tensors)[:4]}...")
    for k, v in sd.items():
        if k in tensors:
            check(tuple(v.shape) == tensors[k].shape and np.array_equal(v.double().numpy(), tensors[k]),
                  f"{name}: {k} differs from the safetensors file")
    want = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    with open(spec_path(name, text)) as f:
        prec = [l.split(":")[1].split("#")[0].strip() for l in f if l.startswith("precision:")]
    dt = want[prec[0]] if prec else torch.float32
    check(all(p.dtype == dt for p in ts.parameters()), f"{name}: parameters are not {dt}")
    with zipfile.ZipFile(path) as z:
        src = z.read("archive/code/__torch__.py").decode()
        version = int(z.read("archive/version"))
    # every block is written from its descriptor: the wiring the template declared
    wiring = {"parallel_residual": "parallel residual, pre norms", "post_norm": "sequential residual, post norms"}
    n_blocks = sum(1 for l in src.splitlines() if l.strip().startswith("# block "))
    check(n_blocks >= 2 and src.count(wiring[template]) == n_blocks,
          f"{name}: the archive's blocks are not all '{wiring[template]}' ({n_blocks} blocks)")
    check(version == torch_save_version(path), f"{name}: archive version {version} != torch.jit.save's")
    if dt != torch.float32:
        ts = ts.float()  # compared in float32 (torch 1.13's CPU has no float16 matmul)
    vocab = ir_reference.load_ir(out)
    V = next(t["shape"][0] for t in vocab["tensors"] if t.get("role") == "token_embedding")
    torch.manual_seed(3)
    worst = 0.0
    for S in (1, 7, 20):
        ids = torch.randint(0, V, (2, S))
        with torch.no_grad():
            got = ts(ids).double().numpy()
        ref = ir_reference.forward(out, {"input_ids": ids.numpy()})
        if not check(got.shape == ref.shape, f"{name}: logits {got.shape} != reference {ref.shape}"):
            return
        rel = float(np.abs(got - ref).max() / np.abs(ref).max())
        worst = max(worst, rel)
        check(np.isfinite(got).all() and rel <= TOL,
              f"{name}: S={S}: archive logits differ from ir_reference's by {rel:.3g} of max |logit| (> {TOL})")
    print(f"  {name}: {len(sd)} tensors, version {version}, max |diff| / max |logit| = {worst:.3g}")


def foreign_templates():
    for name, template, text in SPECS:
        one(name, template, text)


def which_code():
    """Which code a built-in spec gets: every decoder-only model the generic code (llama's layout as
    stored, GPT-2's fused, transposed Conv1D weights read back with .t() and row slices), T5 the
    package-mirroring tree (python_test_torchscript compares all of them with the PyTorch package)."""
    src = os.environ.get("LLMC_SOURCE_DIR", ".")
    for spec, generic, marker in (("llama2-7b-small.yaml", True, "self_attention"),
                                  ("gpt2-small.yaml", True, "c_attn.weight.t()[0:"),
                                  ("t5-small-small.yaml", False, "class EncoderStack(Module)")):
        out = os.path.join(TMP, "which-" + spec)
        r = run([os.environ.get("LLMC", "llmc"), "compile", os.path.join(src, "tests", "specs", spec), "-o", out,
                 "--emit", "torchscript", "--force"])
        if not check(r.returncode == 0, f"{spec}: llmc compile exited {r.returncode}:\n{r.stderr[-2000:]}"):
            continue
        with zipfile.ZipFile(os.path.join(out, "torchscript", "model.pt")) as z:
            code = z.read("archive/code/__torch__.py").decode() + z.read("archive/code/__torch__/llmc.py").decode()
        check(("def self_attention(" in code) == generic and marker in code,
              f"{spec}: expected the {'generic code' if generic else 'T5 module tree'} ('{marker}')")


if __name__ == "__main__":
    sys.exit(check.run_all([foreign_templates, which_code], TMP))
