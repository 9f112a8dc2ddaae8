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
        for ftype in ("q6_k", "q4_k_m", "q5_k_m"):
            compare(path, ftype, seen, layers)
    for kind in ("q6_k", "q5_k", "q4_k"):
        assert seen.get(kind), f"llama.cpp wrote no {kind} tensor: the test compared nothing for it"
    assert seen.get("mix"), "no tensor's type choice was compared"
    print(f"  type choices equal llama.cpp's: {len(seen.pop('mix'))} tensors", flush=True)
    print("  byte-identical tensors: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(seen.items())), flush=True)


if __name__ == "__main__":
    sys.exit(run_tests([test_kquant_bytes_equal_llama_quantize], TMP))
