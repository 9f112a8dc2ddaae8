#!/usr/bin/env python3
"""The cpu emitter on templates it was never written for (issue 18): it builds the program from the
IR - block descriptors, parameter roles, norm sites - not from parameter names.

For the SDK's parallel_residual example (GPT-J / NeoX: h = h + attn(ln(h)) + mlp(ln(h))) and the
post_norm test template (h = norm(h + attn(h)); h = norm(h + mlp(h)); no final norm), with F32
weights whose norms and biases are not ones and zeros:
  * `llmc compile --emit cpu,safetensors` succeeds, `make -C OUT/cpu` builds llmc-run, and
    `llmc validate OUT` accepts the output (the sources are rebuilt and compared);
  * llmc-run's logits of every position - the prompt in one batch, then 8 greedy steps through the
    KV cache - equal tests/python/ir_reference.py (which executes OUT/ir.json in float64) within
    max |ours - ref| / max |ref| <= 1e-5; 1 and 2 threads give identical logits.
Three more specs of these templates cover RMSNorm, SwiGLU / GeGLU, GQA / MQA, a sliding window, a
tied head and a head bias. The generated sources hold only the code paths the model uses: no cross-attention, encoder or
relative-bias code in a decoder-only model, no post-norm branch in a pre-norm model, no separate
MLP norm in a parallel block with one norm, no final norm where the graph has none; and an
encoder-decoder T5 model does get its cross-attention and relative-bias code (so the checks can see
code that is there).
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import ir_reference  # noqa: E402
from llmc_testlib import Checks, write_safetensors  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
TMP = tempfile.mkdtemp(prefix="llmc-test-foreign-cpu-")
TOL = 1e-5
N_GEN = 8
check = Checks()

# the model's code: what //@if sections remove shows here
CODE_FILES = ("model.c", "weights.c", "llmc_run.h", "main.c", "kernels.c")
CROSS_CODE = re.compile(r"cross|model_encode|bucket|rel_bias|enc_len|t5_")
POST_NORM_CODE = "norm_rows(m->x, m->x,"
MLP_NORM_CODE = "L->mlp_norm_w"
FINAL_NORM_CODE = "final_norm_w, S->final_norm_b"


def run(cmd, ok=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def random_checkpoint(out, seed):
    """IR-named F32 weights in which norm scales are not ones and biases not zeros"""
    g = np.random.default_rng(seed)
    W = {}
    for t in ir_reference.load_ir(out)["tensors"]:
        if t["kind"] != "param":
            continue
        kind = t["init"]["kind"]
        if kind == "ones":
            W[t["name"]] = 1 + 0.2 * g.standard_normal(t["shape"])
        elif kind == "zeros":
            W[t["name"]] = 0.05 * g.standard_normal(t["shape"])
        else:
            W[t["name"]] = max(t["init"]["std"], 0.05) * g.standard_normal(t["shape"])
    path = os.path.join(out, "random.safetensors")
    write_safetensors(path, W)
    return path


def sources(out):
    text = {}
    for name in CODE_FILES:
        with open(os.path.join(out, "cpu", name)) as f:
            text[name] = f.read()
    return text


def compile_foreign(template, seed, variant=None):
    """variant: None for the template's own spec, or (name, spec text) for another spec of it"""
    plugin_dir, spec = ir_reference.FOREIGN_TEMPLATES[template]
    name = template
    if variant:
        name, text = variant
        spec = os.path.join(TMP, name + ".yaml")
        with open(spec, "w") as f:
            f.write(f"name: {name}\ntemplate: {template}\n{text}")
    base = [LLMC, "--plugins", plugin_dir, "compile", spec, "--emit", "cpu,safetensors", "--force", "-o"]
    init = os.path.join(TMP, name + "-init")
    run(base + [init])
    ck = random_checkpoint(init, seed)
    out = os.path.join(TMP, name)
    run(base + [out, "--weights", ck])
    run(["make", "-s", "-j2", "-C", os.path.join(out, "cpu")])
    r = run([LLMC, "--plugins", plugin_dir, "validate", out], ok=False)
    check(r.returncode == 0, f"{name}: llmc validate: {r.stdout}{r.stderr}")
    return out


def dump(out, prompt, threads):
    path = os.path.join(out, f"logits-{threads}.f32")
    r = run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, prompt)), "-n", str(N_GEN),
             "--threads", str(threads), "--dump-logits", path])
    gen = [int(x) for x in r.stdout.strip().split(",")] if r.stdout.strip() else []
    return np.fromfile(path, dtype=np.float32), gen


def check_logits(template, out):
    ir = ir_reference.load_ir(out)
    vocab = [t for t in ir["tensors"] if t["kind"] == "param" and t["role"] == "token_embedding"][0]["shape"][0]
    prompt = [int(i) for i in np.random.default_rng(7).integers(0, vocab, 12)]
    got, gen = dump(out, prompt, 1)
    got2, gen2 = dump(out, prompt, 2)
    check(np.array_equal(got, got2) and gen == gen2, f"{template}: 1 and 2 threads differ")
    rows = got.size // vocab
    check(rows == len(prompt) + N_GEN - 1 and len(gen) == N_GEN,
          f"{template}: {rows} logit rows and {len(gen)} tokens for a {len(prompt)}-token prompt and {N_GEN} steps")
    seq = (prompt + gen)[:rows]
    ref = np.asarray(ir_reference.forward(out, {"input_ids": np.array([seq])}))[0]
    got = got.reshape(rows, vocab)
    rel = float(np.abs(got - ref).max() / np.abs(ref).max())
    print(f"{template}: {rows} positions ({len(prompt)} prompt, the rest through the KV cache), rel diff {rel:.2e}")
    check(rel <= TOL, f"{template}: logits differ from ir_reference by {rel:.2e} (> {TOL})")


def test_parallel_residual():
    out = compile_foreign("parallel_residual", 1)
    check_logits("parallel_residual", out)
    src = sources(out)
    for name, text in src.items():
        check(not CROSS_CODE.search(text), f"parallel_residual: {name} has encoder/cross-attention/relative code: "
              f"{CROSS_CODE.search(text)}")
    model = src["model.c"]
    check(POST_NORM_CODE not in model, "parallel_residual: model.c has a post-norm branch")
    check(MLP_NORM_CODE not in model, "parallel_residual: model.c normalises the MLP input separately (one norm per block)")
    check(FINAL_NORM_CODE in model, "parallel_residual: model.c lacks the final norm")


# other features of the same templates: RMSNorm, gated MLPs, grouped / single kv heads, a window,
# a tied head, a head bias
VARIANTS = [("parallel_residual", ("parallel-gqa-window", "vocab_size: 400\ncontext_length: 64\n"
                                   "dims: {num_layers: 2, hidden_size: 128, num_heads: 4, num_kv_heads: 2}\n"
                                   "attention: gqa\nnorm: rmsnorm\nactivation: swiglu\npositional_encoding: rope\n"
                                   "tie_word_embeddings: true\n")),
            ("parallel_residual", ("parallel-window", "vocab_size: 400\ncontext_length: 64\n"
                                   "dims: {num_layers: 2, hidden_size: 128, num_heads: 4}\nattention: sliding_window\n"
                                   "sliding_window: 5\nnorm: layernorm\nactivation: gelu\npositional_encoding: rope\n"
                                   "bias: {qkv: true, attn_out: true}\n")),
            ("post_norm", ("post-norm-mqa-geglu", "vocab_size: 400\ncontext_length: 64\n"
                           "dims: {num_layers: 2, hidden_size: 128, num_heads: 4}\nattention: mqa\nnorm: rmsnorm\n"
                           "activation: geglu\npositional_encoding: rope\nbias: {lm_head: true, mlp: true}\n"))]


def test_variants():
    for i, (template, variant) in enumerate(VARIANTS):
        out = compile_foreign(template, 10 + i, variant)
        check_logits(variant[0], out)


def test_post_norm():
    out = compile_foreign("post_norm", 2)
    check_logits("post_norm", out)
    src = sources(out)
    for name, text in src.items():
        check(not CROSS_CODE.search(text), f"post_norm: {name} has encoder/cross-attention/relative code")
    model = src["model.c"]
    check(model.count(POST_NORM_CODE) == 2, "post_norm: model.c lacks its two post-norms")
    check(FINAL_NORM_CODE not in model, "post_norm: model.c has a final norm the graph does not have")


def compile_builtin(name, body):
    spec = os.path.join(TMP, name + ".yaml")
    with open(spec, "w") as f:
        f.write(f"name: {name}\n{body}")
    out = os.path.join(TMP, name)
    run([LLMC, "compile", spec, "-o", out, "--emit", "cpu", "--force"])
    return sources(out)


def test_builtin_code_paths():
    llama = compile_builtin("llama-paths", "template: decoder_only\nvocab_size: 300\ncontext_length: 64\n"
                            "dims: {num_layers: 2, hidden_size: 64, num_heads: 4}\n")
    for name, text in llama.items():
        m = CROSS_CODE.search(text)
        check(not m, f"decoder_only: {name} has encoder/cross-attention/relative code ('{m and m.group(0)}')")
    check(POST_NORM_CODE not in llama["model.c"], "decoder_only: model.c has a post-norm branch")
    check(MLP_NORM_CODE in llama["model.c"], "decoder_only: model.c lacks the MLP's pre-norm")
    check("alibi" not in llama["model.c"] and "embed_positions" not in llama["model.c"],
          "decoder_only with rope: model.c has ALiBi code")
    check("erff(" not in llama["kernels.c"] and "0.044715f" not in llama["kernels.c"],
          "decoder_only with swiglu: kernels.c has the GELU activations")
    t5 = compile_builtin("t5-paths", "template: encoder_decoder\nvocab_size: 300\ncontext_length: 64\n"
                         "dims: {num_layers: 2, hidden_size: 64, num_heads: 4}\npositional_encoding: relative\n")
    model = t5["model.c"]
    check("model_encode" in model and "cross_norm_w" in model and "t5_bucket" in model,
          "encoder_decoder: model.c lacks its encoder, cross-attention or relative buckets")


if __name__ == "__main__":
    sys.exit(check.run_all([test_parallel_residual, test_post_norm, test_variants, test_builtin_code_paths], TMP))
