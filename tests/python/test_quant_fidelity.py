#!/usr/bin/env python3
"""Issue 20, point 1: quantization fidelity as llama-perplexity --kl-divergence measures it, kept
where it was measured.

Runs bench/quant_fidelity/quant_fidelity.py at its small size (2 layers, hidden 256, vocab 512,
BPE tokenizer trained on English text from installed Debian packages, llmc's seeded weights at
std 0.08) over 512 positions of held-out text: for Q8_0 and Q4_0, llmc-run and llama.cpp each on
the same llmc-written GGUF; for Q6_K, llama.cpp on llama_model_quantize's file. Each program's
quantized next-token distributions are compared with its own F32 ones.

The bounds come from the measurement recorded in docs/benchmarks.md (1,024 positions of this model:
Q8_0 mean KL 1.04e-3 both programs, Q4_0 0.168 both, Q6_K 9.3e-3) with headroom for the smaller
sample; what they hold:
  (to build one C runtime less, llmc-run's quantized logits are compared with llama.cpp's F32
  ones; the benchmark shows llmc-run's F32 agrees with them to a mean KL of 1e-11)
  * llmc-run's mean KL at or below 1.05x llama.cpp's for every type both run (the issue's goal:
    equal fidelity through different rounding paths), and its 99th percentile at or below 1.2x;
  * absolute ceilings per type (mean KL: Q8_0 < 3e-3, Q6_K < 2.5e-2, Q4_0 < 0.3; top-1 agreement
    with F32: Q8_0 > 88%, Q4_0 > 30%), so a format regression in both programs at once shows too;
  * the ordering Q8_0 < Q6_K < Q4_0 in mean KL (more bits, closer to F32)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import Skip, run_tests  # noqa: E402

SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("LLMC_BINARY_DIR", os.getcwd())
ORACLE = os.environ.get("LLMC_LLAMA_LOGITS", "")
TMP = tempfile.mkdtemp(prefix="llmc-test-quant-fidelity-")
sys.path.insert(0, os.path.join(SRC, "bench", "quant_fidelity"))
import quant_fidelity as QF  # noqa: E402

# measured at this size (2026-12-02): mean KL llama.cpp / llmc-run q8_0 1.03e-3 / 1.02e-3, q6_k 9.0e-3 /
# 8.6e-3, q4_k_m 0.108 / 0.108, q4_0 0.164 / 0.164; top-1 95 / 81 / 48 / 39 %
MEAN_CEILING = {"q8_0": 3e-3, "q6_k": 2.5e-2, "q4_k_m": 0.2, "q4_0": 0.3}
TOP1_FLOOR = {"q8_0": 0.88, "q6_k": 0.70, "q4_k_m": 0.40, "q4_0": 0.30}


def test_kl_divergence_bounds():
    if not ORACLE or not os.path.exists(ORACLE):
        msg = "the llama.cpp oracle is not built (scripts/setup-oracles.sh, then re-run cmake)"
        if os.environ.get("LLMC_SKIP_ORACLE") == "1":
            raise Skip(msg)
        raise AssertionError(msg)
    before = QF.loadavg()
    r = QF.measure(BUILD, ["q8_0", "q6_k", "q4_k_m", "q4_0"], [], 512, "test", 2, TMP, llmc_f32=False)
    QF.print_table(r, before, QF.loadavg())
    assert r["positions"] >= 512, r["positions"]
    for t in TOP1_FLOOR:
        ours, peer = r["types"][t]["llmc-run"], r["types"][t]["llama.cpp"]
        assert ours["kl_mean"] <= 1.05 * peer["kl_mean"], f"{t}: llmc-run mean KL {ours['kl_mean']:.3e} > 1.05x llama.cpp's {peer['kl_mean']:.3e}"
        assert ours["kl_p99"] <= 1.2 * peer["kl_p99"], f"{t}: llmc-run KL p99 {ours['kl_p99']:.3e} > 1.2x llama.cpp's {peer['kl_p99']:.3e}"
        assert ours["top1"] >= TOP1_FLOOR[t], f"{t}: llmc-run top-1 agreement {ours['top1']:.3f} < {TOP1_FLOOR[t]}"
    for t, ceiling in MEAN_CEILING.items():
        for prog, f in r["types"][t].items():
            if prog != "gguf_bytes":
                assert 0 < f["kl_mean"] < ceiling, f"{t} {prog}: mean KL {f['kl_mean']:.3e} not in (0, {ceiling})"
    kl = {t: r["types"][t]["llama.cpp"]["kl_mean"] for t in MEAN_CEILING}
    assert kl["q8_0"] < kl["q6_k"] < kl["q4_k_m"] < kl["q4_0"], f"mean KL not ordered by bits: {kl}"


if __name__ == "__main__":
    sys.exit(run_tests([test_kl_divergence_bounds], TMP))
