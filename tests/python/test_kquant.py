#!/usr/bin/env python3
"""Issue 20, point 2: llmc's K-quant block quantizers (core/quant_k.c) write the bytes llama.cpp's
own quantizer writes.

A small llama-style model (every matrix row a multiple of 256) is compiled at float32 to GGUF by
llmc; llama.cpp's llama_model_quantize (tests/oracle/llama_logits quantize: node-llama-cpp's
prebuilt libllama, no importance matrix, as llama-quantize) turns that file into Q6_K, Q4_K_M and
Q5_K_M files — between them every block type Q6_K, Q5_K, Q4_K (and Q8_0 / Q4_0 for the two
older types). For every tensor llama.cpp wrote in a block type, llmc's quantizer (tests/quant_tool,
the library functions llmc_quantize_*) is run on the same float32 tensor from the input file and
must give the same bytes; llmc's dequantizer must give, for llama.cpp's bytes, the values gguf-py's
numpy dequantizer (an independent reading of the formats) gives; and for every matrix, the type
llmc's mix rules (llmc_kquant_mix_type) choose must be the one llama.cpp chose (a 9-layer model
makes the "more bits" layer pattern non-trivial). Two weight scales (std 0.02 and
std 1.0 with a zero tensor mixed in via the norm weights, which stay F32) exercise the rounding of
small and large f16 scales."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import Skip, run_tests, write_spec  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
GGUF_PY = os.environ.get("LLMC_GGUF_PY", "")
QUANT_TOOL = os.environ.get("LLMC_QUANT_TOOL", "")
TMP = tempfile.mkdtemp(prefix="llmc-test-kquant-")

BODY = """template: decoder_only
vocab_size: 512
context_length: 64
dims: {{num_layers: {layers}, hidden_size: 256, intermediate_size: 512, num_heads: 4, num_kv_heads: 2}}
attention: gqa
tie_word_embeddings: false
precision: float32
weights: {{seed: {seed}, std: {std}}}
"""

# spec `quantize` -> the llama.cpp file type it is (tests/oracle/llama_logits quantize TYPE) and
# its llama_ftype
QUANTIZE = {"q6_k": ("q6_k", 18), "q5_k_m": ("q5_k_m", 17), "q4_k_m": ("q4_k_m", 15), "q5_k": ("q5_k_s", 16),
            "q4_k": ("q4_k_s", 14)}


def run(cmd):
    r = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def need_oracle():
    if not ORACLE or not os.path.exists(ORACLE) or not GGUF_PY:
        msg = "the llama.cpp oracle is not built (scripts/setup-oracles.sh, then re-run cmake)"
        if os.environ.get("LLMC_SKIP_ORACLE") == "1":
            raise Skip(msg)
        raise AssertionError(msg)
    if not QUANT_TOOL or not os.path.exists(QUANT_TOOL):
        raise AssertionError("$LLMC_QUANT_TOOL (tests/quant_tool) is not set: run through ctest")
    sys.path.insert(0, GGUF_PY)


def f32_gguf(name, seed, std, layers):
    spec = write_spec(TMP, name, BODY.format(seed=seed, std=std, layers=layers))
    out = os.path.join(TMP, name)
    run([LLMC, "compile", spec, "-o", out, "--force", "--emit", "gguf"])
    ggufs = [f for f in os.listdir(os.path.join(out, "gguf")) if f.endswith(".gguf")]
    assert len(ggufs) == 1, ggufs
    return os.path.join(out, "gguf", ggufs[0])


def llmc_quantize(kind, x):
    src, dst = os.path.join(TMP, "x.f32"), os.path.join(TMP, "x.q")
    np.ascontiguousarray(x, dtype="<f4").tofile(src)
    run([QUANT_TOOL, "quantize", kind, src, dst])
    with open(dst, "rb") as f:
        return f.read()


def llmc_dequantize(kind, data):
    src, dst = os.path.join(TMP, "q.bin"), os.path.join(TMP, "q.f32")
    with open(src, "wb") as f:
        f.write(data)
    run([QUANT_TOOL, "dequantize", kind, src, dst])
    return np.fromfile(dst, dtype="<f4")


def role_of(name):
    if name == "output.weight":
        return "output", -1
    if name == "token_embd.weight":
        return "token_embd", -1
    parts = name.split(".")
    if parts[0] == "blk" and parts[2] in ("attn_v", "ffn_down"):
        return parts[2], int(parts[1])
    return "other", int(parts[1]) if parts[0] == "blk" else -1


def compare(f32_path, ftype, seen, n_layers):
    import gguf
    from gguf.quants import dequantize
    out = os.path.join(TMP, os.path.basename(f32_path) + f".{ftype}.gguf")
    run([ORACLE, "quantize", f32_path, out, ftype, "--threads", "2"])
    src = {t.name: t for t in gguf.GGUFReader(f32_path).tensors}
    kinds = {gguf.GGMLQuantizationType.Q6_K: "q6_k", gguf.GGMLQuantizationType.Q5_K: "q5_k",
             gguf.GGMLQuantizationType.Q4_K: "q4_k", gguf.GGMLQuantizationType.Q8_0: "q8_0",
             gguf.GGMLQuantizationType.Q4_0: "q4_0"}
    for t in gguf.GGUFReader(out).tensors:
        if len(t.shape) >= 2 and t.name in src:
            role, layer = role_of(t.name)
            chosen = run([QUANT_TOOL, "mix", ftype, role, layer, n_layers, int(t.shape[0]), 0]).stdout.decode().strip()
            wrote = kinds.get(t.tensor_type, t.tensor_type.name.lower())
            assert chosen == wrote, f"{ftype} {t.name}: llmc's mix chooses {chosen}, llama.cpp wrote {wrote}"
            seen.setdefault("mix", []).append(t.name)
        if t.tensor_type not in kinds:
            continue
        kind = kinds[t.tensor_type]
        s = src[t.name]
        assert s.tensor_type == gguf.GGMLQuantizationType.F32, f"{t.name}: the input is not F32"
        x = np.asarray(s.data, dtype=np.float32).reshape(-1)
        want = np.asarray(t.data).tobytes()
        got = llmc_quantize(kind, x)
        assert len(got) == len(want), f"{ftype} {t.name} {kind}: {len(got)} bytes, llama.cpp wrote {len(want)}"
        if got != want:
            a, b = np.frombuffer(got, np.uint8), np.frombuffer(want, np.uint8)
            first = int(np.nonzero(a != b)[0][0])
            raise AssertionError(f"{ftype} {t.name} {kind}: {int((a != b).sum())} of {len(a)} bytes differ from "
                                 f"llama.cpp's, the first at byte {first}")
        ref = dequantize(np.frombuffer(want, np.uint8).reshape(t.data.shape), t.tensor_type).reshape(-1)
        deq = llmc_dequantize(kind, want)
        assert np.array_equal(deq, ref.astype(np.float32)), f"{ftype} {t.name} {kind}: dequantized values differ from gguf-py's"
        seen.setdefault(kind, []).append(f"{ftype}:{t.name}")


def test_kquant_bytes_equal_llama_quantize():
    need_oracle()
    seen = {}
    for name, seed, std, layers in (("kq-small", 3, 0.02, 2), ("kq-large", 4, 1.0, 2), ("kq-deep", 5, 0.05, 9)):
        path = f32_gguf(name, seed, std, layers)
        for ftype in ("q6_k", "q4_k_m", "q5_k_m", "q4_k_s", "q5_k_s"):
            compare(path, ftype, seen, layers)
    for kind in ("q6_k", "q5_k", "q4_k"):
        assert seen.get(kind), f"llama.cpp wrote no {kind} tensor: the test compared nothing for it"
    assert seen.get("mix"), "no tensor's type choice was compared"
    print(f"  type choices equal llama.cpp's: {len(seen.pop('mix'))} tensors", flush=True)
    print("  byte-identical tensors: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(seen.items())), flush=True)


def gguf_of(out):
    ggufs = [f for f in os.listdir(os.path.join(out, "gguf")) if f.endswith(".gguf")]
    assert len(ggufs) == 1, ggufs
    return os.path.join(out, "gguf", ggufs[0])


def test_gguf_emitter_writes_llama_quantize_bytes():
    """`quantize: q4_k_m` (and the other K-quants) in the spec: llmc's own GGUF holds, tensor for
    tensor, the types and bytes llama_model_quantize writes from llmc's F32 GGUF of the same spec;
    general.file_type is the llama_ftype; llama.cpp loads and runs the file. Five models: a tied
    9-layer llama (the head is the embedding), an untied 2-layer llama, a tied 3-layer gptneox
    (fused attn_qkv; the embedding written twice, the second copy the head), a 9-layer llama with
    8 experts (Mixtral's rules) and a 9-layer qwen2moe (4 experts and a shared expert)."""
    need_oracle()
    import gguf
    compared = {}
    neox = "norm: layernorm\nactivation: gelu_tanh\npositional_encoding: rope\n"
    # sparse experts: 8 of them is llama.cpp's "8-expert model" (attn_v / attn_k at Q8_0, attn_output
    # Q5_K in the Q4_K mixes); Qwen2-MoE's ffn_down_exps and ffn_down_shexp share their block's layer
    mixtral = "moe: {num_experts: 8, experts_per_token: 2}\n"
    qwen2moe = ("moe: {num_experts: 4, experts_per_token: 2, num_shared_experts: 1, "
                "shared_expert_intermediate_size: 512, normalize_topk: false}\n"
                "bias: {qkv: true, attn_out: false, mlp: false, norm: false, lm_head: false}\n")
    for name, seed, layers, tied, extra in (("kqe-deep", 6, 9, True, ""), ("kqe-untied", 7, 2, False, ""),
                                            ("kqe-neox", 8, 3, True, neox), ("kqe-mixtral", 9, 9, False, mixtral),
                                            ("kqe-qwen2moe", 10, 9, False, qwen2moe)):
        body = BODY.format(seed=seed, std=0.05, layers=layers).replace(
            "tie_word_embeddings: false", f"tie_word_embeddings: {'true' if tied else 'false'}") + extra
        f32 = os.path.join(TMP, name + "-f32")
        run([LLMC, "compile", write_spec(TMP, name + "-f32", body), "-o", f32, "--force", "--emit", "gguf"])
        for quantize, (ftype, llama_ftype) in QUANTIZE.items():
            ours = os.path.join(TMP, f"{name}-{quantize}")
            run([LLMC, "compile", write_spec(TMP, f"{name}-{quantize}", body + f"quantize: {quantize}\n"), "-o", ours,
                 "--force", "--emit", "gguf"])
            theirs = os.path.join(TMP, f"{name}-{quantize}.llama.gguf")
            run([ORACLE, "quantize", gguf_of(f32), theirs, ftype, "--threads", "2"])
            a, b = gguf.GGUFReader(gguf_of(ours)), gguf.GGUFReader(theirs)
            # llama.cpp writes the tensors sorted by layer and name; compare them by name
            tb_of = {t.name: t for t in b.tensors}
            assert sorted(t.name for t in a.tensors) == sorted(tb_of), f"{name} {quantize}: tensor lists differ"
            for ta in a.tensors:
                tb = tb_of[ta.name]
                assert ta.tensor_type == tb.tensor_type, (f"{name} {quantize} {ta.name}: llmc wrote "
                                                          f"{ta.tensor_type.name}, llama.cpp {tb.tensor_type.name}")
                assert np.asarray(ta.data).tobytes() == np.asarray(tb.data).tobytes(), \
                    f"{name} {quantize} {ta.name} ({ta.tensor_type.name}): bytes differ from llama.cpp's"
                compared.setdefault(ta.tensor_type.name, set()).add(quantize)
            ft = int(a.fields["general.file_type"].parts[-1][0])
            assert ft == llama_ftype, f"{name} {quantize}: general.file_type {ft}, expected {llama_ftype}"
            ids = ",".join(str(i) for i in range(1, 17))
            r = run([ORACLE, "logits", gguf_of(ours), "--tokens", ids, "--out", os.path.join(TMP, "l.f32")])
            logits = np.fromfile(os.path.join(TMP, "l.f32"), dtype="<f4")
            assert logits.size == 16 * 512 and np.isfinite(logits).all(), f"{name} {quantize}: {r.stdout!r}"
    for t in ("Q6_K", "Q5_K", "Q4_K", "Q8_0"):
        assert t in compared, f"no {t} tensor was compared"
    print("  byte-identical to llama_model_quantize: " +
          ", ".join(f"{t} in {'/'.join(sorted(q))}" for t, q in sorted(compared.items())), flush=True)


def test_kquant_refusals():
    """Rows llama.cpp would store as Q5_0 / Q5_1, and the encoder-decoder template: exit 1 at the
    quantize key, nothing written; q6_k falls back to Q8_0 on such rows as llama.cpp does."""
    body = BODY.format(seed=1, std=0.02, layers=2).replace("hidden_size: 256", "hidden_size: 320")
    for quantize, ok in (("q4_k_m", False), ("q5_k", False), ("q6_k", True)):
        out = os.path.join(TMP, f"kq-320-{quantize}")
        spec = write_spec(TMP, f"kq-320-{quantize}", body + f"quantize: {quantize}\n")
        r = subprocess.run([LLMC, "compile", spec, "-o", out, "--emit", "gguf"], capture_output=True, text=True)
        if ok:
            assert r.returncode == 0, r.stderr
            continue
        assert r.returncode == 1 and not os.path.exists(out), f"{quantize}: exit {r.returncode}, {r.stderr}"
        assert f"{os.path.basename(spec)}:" in r.stderr and "quantize: " in r.stderr and "not a multiple of 256" in r.stderr, r.stderr
    t5 = write_spec(TMP, "kq-t5", """template: encoder_decoder
vocab_size: 512
context_length: 64
dims: {num_encoder_layers: 1, num_decoder_layers: 1, hidden_size: 256, intermediate_size: 512, num_heads: 4}
positional_encoding: relative
norm: rmsnorm
activation: relu
bias: {qkv: false, attn_out: false, mlp: false, norm: false, lm_head: false}
quantize: q4_k_m
""")
    r = subprocess.run([LLMC, "compile", t5, "-o", os.path.join(TMP, "kq-t5"), "--emit", "gguf"], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "decoder-only" in r.stderr, r.stderr
    # the cpu emitter computes with the same mixes (tests/python/test_cpu_kquant.py) and refuses the same
    # encoder-decoder models
    r = subprocess.run([LLMC, "compile", write_spec(TMP, "kq-cpu", BODY.format(seed=1, std=0.02, layers=2) +
                                                    "quantize: q4_k\n"), "-o", os.path.join(TMP, "kq-cpu"),
                        "--emit", "cpu"], capture_output=True, text=True)
    assert r.returncode == 0 and os.path.exists(os.path.join(TMP, "kq-cpu", "cpu", "model.bin")), r.stderr
    r = subprocess.run([LLMC, "compile", t5, "-o", os.path.join(TMP, "kq-t5-cpu"), "--emit", "cpu"], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "decoder-only" in r.stderr and not os.path.exists(os.path.join(TMP, "kq-t5-cpu")), r.stderr


if __name__ == "__main__":
    sys.exit(run_tests([test_kquant_bytes_equal_llama_quantize, test_gguf_emitter_writes_llama_quantize_bytes,
                        test_kquant_refusals], TMP))
