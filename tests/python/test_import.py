"""llmc import: a Hugging Face config.json -> the spec that reproduces the model (issue 21, point 1).

Environment (set by ctest): LLMC (the llmc binary), LLMC_SOURCE_DIR, LLMC_BINARY_DIR.

1. Published configurations (tests/hf_configs/*/config.json, facts copied from the models' Hugging
   Face repositories) import to specs whose exact parameter count is the published one, and the
   same count as the hand-written examples in config/examples/ where one exists.
2. Round trip: a shrunk copy of each configuration is imported, compiled to safetensors + HF
   config.json, and that config.json imported again gives the same spec; the fields the importer
   maps come back with the same values.
3. Every key is mapped, listed as ignored, listed as unknown, or refused with a located error;
   bad input (unknown model_type, a missing key, contradictory keys, scalings llmc does not compute,
   not JSON, a missing file) is exit 1 (4 for the missing file) naming the file, line and key;
   an existing -o is never clobbered: without --force refused, with --force replaced only when an
   earlier import wrote it.
4. A new budget (--scale, --target-params, --vocab-size): the family and every choice kept, the
   dims left to the solver, the count within the spec's tolerance of the budget (point 3).
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import Checks  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(SRC, "tests", "hf_configs")
TMP = tempfile.mkdtemp(prefix="llmc-import-")
check = Checks()

# published totals (the models' own reports / their safetensors headers)
PUBLISHED = {
    "llama-2-7b": 6_738_415_616,
    "mistral-7b-v0.1": 7_241_732_096,
    "qwen2-0.5b": 494_032_768,
    "gpt2": 124_439_808,
    "t5-small": 60_506_624,
    "tinyllama-1.1b": 1_100_048_384,
    "llama-3.2-1b": 1_235_814_400,
    "t5-v1_1-small": 76_961_152,
    "qwen3-0.6b": 596_049_920,
    "gemma-2b": 2_506_172_416,
    "gemma-2-2b": 2_614_341_888,
    "phi-2": 2_779_683_840,
    "mixtral-8x7b": 46_702_792_704,
    "qwen1.5-moe-a2.7b": 14_315_784_192,
}
SAME_AS_EXAMPLE = {"llama-2-7b": "llama2-7b.yaml", "gpt2": "gpt2-124m.yaml", "t5-small": "t5-small.yaml",
                   "qwen3-0.6b": "qwen3-0.6b.yaml", "gemma-2-2b": "gemma-2-2b.yaml", "phi-2": "phi-2.yaml",
                   "mixtral-8x7b": "mixtral-8x7b.yaml", "qwen1.5-moe-a2.7b": "qwen1.5-moe-a2.7b.yaml"}


def qwen2_moe_count(c):
    """Qwen2MoeForCausalLM's parameters from its config, counted here apart from llmc: (total, active)"""
    H, V, L = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"]
    n, m = c["num_attention_heads"], c["num_key_value_heads"]
    d = H // n
    E, k, I, Is = c["num_experts"], c["num_experts_per_tok"], c["moe_intermediate_size"], c["shared_expert_intermediate_size"]
    attn = H * n * d + n * d + 2 * (H * m * d + m * d) + n * d * H     # q, k, v with biases; o without
    expert = 3 * H * I
    layer = attn + 2 * H + E * H + E * expert + 3 * H * Is + H          # norms, router, experts, shared, its gate
    rest = V * H * (1 if c["tie_word_embeddings"] else 2) + H
    return L * layer + rest, L * (layer - (E - k) * expert) + rest


def run(cmd, ok=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def solve_count(spec):
    return json.loads(run([LLMC, "solve", spec, "--json"]).stdout)["parameters"]


def import_(src, out, *extra, ok=True):
    return run([LLMC, "import", src, "-o", out, *extra], ok=ok)


def body(path):
    """the spec without its provenance line and name"""
    with open(path) as f:
        return [l for l in f.read().splitlines() if not l.startswith("#") and not l.startswith("name:")]


def test_published_counts():
    for model, total in PUBLISHED.items():
        out = os.path.join(TMP, model + ".yaml")
        r = import_(os.path.join(FIXTURES, model), out)
        got = solve_count(out)
        check(got == total, f"{model}: imported spec counts {got:,} parameters (published {total:,})")
        check(f"{total:,} parameters" in r.stdout, f"{model}: import reports the count ({r.stdout.strip()})")
        check(re.search(r"warning: ignored \(.*\): .*architectures", r.stderr) is not None,
              f"{model}: the keys without effect are listed as ignored ({r.stderr.strip()[:200]})")
        with open(out) as f:
            first = f.readline()
        check(first.startswith("# Imported by `llmc import` from ") and f"name: {model}" in open(out).read(),
              f"{model}: the spec names its source and takes the folder's name")
        if model in SAME_AS_EXAMPLE:
            ex = solve_count(os.path.join(SRC, "config", "examples", SAME_AS_EXAMPLE[model]))
            check(ex == got, f"{model}: the same count as config/examples/{SAME_AS_EXAMPLE[model]} ({ex:,})")


def test_qwen2_moe_count():
    with open(os.path.join(FIXTURES, "qwen1.5-moe-a2.7b", "config.json")) as f:
        total, active = qwen2_moe_count(json.load(f))
    check(total == PUBLISHED["qwen1.5-moe-a2.7b"], f"Qwen1.5-MoE-A2.7B: the formula counts {total:,} parameters")
    spec = os.path.join(TMP, "qwen2-moe-count.yaml")
    import_(os.path.join(FIXTURES, "qwen1.5-moe-a2.7b"), spec)
    sol = json.loads(run([LLMC, "solve", spec, "--json"]).stdout)
    check(sol["parameters"] == total, f"Qwen1.5-MoE-A2.7B: llmc counts {sol['parameters']:,} (formula {total:,})")
    got_active = sol.get("active_parameters")
    check(got_active == active, f"Qwen1.5-MoE-A2.7B: llmc counts {got_active} active per token (formula {active:,})")


def shrink(cfg):
    """the same family and choices at a size that compiles in a moment"""
    c = dict(cfg)
    mt = c["model_type"]
    if mt in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "gemma", "gemma2"):
        heads, kv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        c.update(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=4 // (heads // kv) if heads // kv <= 4 else 1, vocab_size=256)
        if "head_dim" in c:
            c["head_dim"] = 16
        if c.get("sliding_window") and mt in ("mistral", "gemma2"):
            c["sliding_window"] = 64
            c["max_position_embeddings"] = 256
        if mt == "gemma2":   # the query scale follows head_dim, as in the published model
            c["query_pre_attn_scalar"] = 16
        if mt == "qwen2_moe":
            c.update(num_experts=6, num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=48)
    elif mt == "phi":
        c.update(hidden_size=80, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=4, vocab_size=256)   # head 20, 0.4 of it: 8 rotated dims
    elif mt == "gpt2":
        c.update(n_embd=64, n_head=4, n_layer=2, vocab_size=256, n_positions=128, n_ctx=128)
    elif mt == "t5":
        c.update(d_model=64, d_kv=16, d_ff=96, num_heads=4, num_layers=2, vocab_size=256)
        if "num_decoder_layers" in c:
            c["num_decoder_layers"] = 3
    return c


def test_round_trip():
    for model in PUBLISHED:
        with open(os.path.join(FIXTURES, model, "config.json")) as f:
            cfg = shrink(json.load(f))
        d = os.path.join(TMP, "rt", model)
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        spec_a = os.path.join(TMP, "rt", model + "-a.yaml")
        import_(d, spec_a)
        out = os.path.join(TMP, "rt", model + "-out")
        run([LLMC, "compile", spec_a, "-o", out, "--emit", "safetensors"])
        with open(os.path.join(out, "safetensors", "config.json")) as f:
            back = json.load(f)
        spec_b = os.path.join(TMP, "rt", model + "-b.yaml")
        import_(os.path.join(out, "safetensors", "config.json"), spec_b, "--name", model)
        check(body(spec_a) == body(spec_b),
              f"{model}: config.json -> spec -> compile -> config.json -> spec gives the same spec "
              f"({body(spec_a)} vs {body(spec_b)})")
        mapped = ["model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                  "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings",
                  "max_position_embeddings", "sliding_window", "rope_scaling", "n_embd", "n_head", "n_layer",
                  "n_positions", "layer_norm_epsilon", "activation_function", "d_model", "d_kv", "d_ff", "num_heads",
                  "num_layers", "num_decoder_layers", "relative_attention_num_buckets", "feed_forward_proj",
                  "head_dim", "attention_bias", "query_pre_attn_scalar", "attn_logit_softcapping",
                  "final_logit_softcapping", "hidden_activation", "layer_norm_eps", "partial_rotary_factor",
                  "hidden_act", "qk_layernorm", "num_local_experts", "num_experts_per_tok", "router_aux_loss_coef",
                  "num_experts", "moe_intermediate_size", "shared_expert_intermediate_size", "norm_topk_prob"]
        if cfg["model_type"] in ("qwen2", "qwen2_moe"):
            mapped.remove("sliding_window")   # no effect while use_sliding_window is false
        if cfg["model_type"] in ("gemma", "gemma2"):
            mapped.remove("hidden_act")   # Gemma computes hidden_activation; the published "gelu" is not read
        for k in mapped:
            if k in cfg and cfg[k] is not None:
                v = back.get(k)
                same = v == cfg[k] or (isinstance(v, float) and isinstance(cfg[k], (int, float)) and v == cfg[k])
                if isinstance(cfg[k], dict) and isinstance(v, dict):
                    same = all(v.get(kk) == vv or (kk in ("rope_type", "type")) for kk, vv in cfg[k].items())
                check(same, f"{model}: {k} = {cfg[k]!r} comes back from the compiled config.json (got {v!r})")


def choices(path):
    """the spec's lines that are not dims, budget, name or provenance"""
    lines, in_dims = [], False
    for l in body(path):
        if l == "dims:":
            in_dims = True
            continue
        if in_dims and l.startswith("  "):
            continue
        in_dims = False
        if not l.startswith("target_params:"):
            lines.append(l)
    return lines


def test_new_budget():
    # "take this config, make it 30% smaller": the family's choices, the dims re-solved
    full = os.path.join(TMP, "budget-full.yaml")
    import_(os.path.join(FIXTURES, "llama-2-7b"), full)
    for model, extra, want, tol in (("llama-2-7b", ("--scale", "0.7"), round(0.7 * PUBLISHED["llama-2-7b"]), 0.01),
                                    ("mistral-7b-v0.1", ("--target-params", "1.5B"), 1_500_000_000, 0.01),
                                    ("qwen2-0.5b", ("--target-params", "1M", "--vocab-size", "512"), 1_000_000, 0.1),
                                    ("gpt2", ("--scale", "2"), 2 * PUBLISHED["gpt2"], 0.01)):
        out = os.path.join(TMP, f"budget-{model}.yaml")
        plain = os.path.join(TMP, f"budget-{model}-plain.yaml")
        r = import_(os.path.join(FIXTURES, model), out, *extra)
        vocab = extra[extra.index("--vocab-size"):][:2] if "--vocab-size" in extra else ()
        import_(os.path.join(FIXTURES, model), plain, *vocab)
        got = solve_count(out)
        text = open(out).read()
        check(abs(got - want) <= tol * want and f"target_params: {want}" in text and "\ndims:" not in text,
              f"{model} {' '.join(extra)}: {got:,} parameters for a budget of {want:,} (tolerance {tol:.0%}), "
              f"no dims pinned ({r.stdout.strip()})")
        family = {"llama-2-7b": "llama", "mistral-7b-v0.1": "mistral", "qwen2-0.5b": "qwen2", "gpt2": "gpt2"}[model]
        check(f"HF family {family}" in r.stdout, f"{model} {' '.join(extra)}: still family {family} ({r.stdout.strip()})")
        check(choices(out) == choices(plain), f"{model} {' '.join(extra)}: every choice kept "
              f"({sorted(set(choices(out)) ^ set(choices(plain)))})")
    for extra in (("--scale", "0"), ("--scale", "x"), ("--target-params", "0"), ("--scale", "0.5", "--target-params", "1M"),
                  ("--vocab-size", "0")):
        r = import_(os.path.join(FIXTURES, "gpt2"), os.path.join(TMP, "budget-bad.yaml"), *extra, ok=False)
        check(r.returncode == 2 and not os.path.exists(os.path.join(TMP, "budget-bad.yaml")),
              f"import {' '.join(extra)}: usage error, nothing written ({r.stderr.strip()[:120]})")
    # a budget no shape reaches: the solver's located answer, the spec shown, nothing written
    r = import_(os.path.join(FIXTURES, "qwen2-0.5b"), os.path.join(TMP, "budget-bad.yaml"), "--target-params", "1M",
                ok=False)
    check(r.returncode == 1 and "vocabulary of at most" in r.stderr and "it reads:" in r.stderr and
          not os.path.exists(os.path.join(TMP, "budget-bad.yaml")),
          f"an unreachable budget: exit 1, the solver says why, nothing written ({r.stderr.strip()[-200:]})")


def write_cfg(name, obj_or_text):
    d = os.path.join(TMP, "bad", name)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "config.json")
    with open(p, "w") as f:
        f.write(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, indent=1))
    return p


LLAMA_TINY = {"model_type": "llama", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 96,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}


def refused(name, cfg, want_key, want_text, code=1):
    p = write_cfg(name, cfg)
    out = os.path.join(TMP, "bad", name + ".yaml")
    r = import_(p, out, ok=False)
    loc = re.search(re.escape(p) + r":(\d+):(\d+): " + re.escape(want_key) + ":", r.stderr)
    check(r.returncode == code and loc is not None and want_text in r.stderr and not os.path.exists(out),
          f"{name}: exit {code}, '{p}:line:col: {want_key}: ...{want_text}...', nothing written "
          f"(got {r.returncode}: {r.stderr.strip()})")


def test_bad_input():
    refused("unknown-type", {"model_type": "lama"}, "model_type", "did you mean llama")
    refused("gemma2-act", dict(LLAMA_TINY, model_type="gemma2", hidden_activation="gelu"), "hidden_activation",
            "tanh GELU")
    qmoe = dict(LLAMA_TINY, model_type="qwen2_moe", num_experts=4, num_experts_per_tok=2)
    refused("qwen2-moe-step", dict(qmoe, decoder_sparse_step=2), "decoder_sparse_step", "expected 1")
    refused("qwen2-moe-dense", dict(qmoe, mlp_only_layers=[0]), "mlp_only_layers", "expected [] or null")
    refused("qwen2-moe-k", dict(qmoe, num_experts_per_tok=5), "num_experts_per_tok", "expected 1..num_experts")
    refused("qwen2-moe-bias", dict(qmoe, qkv_bias=False), "qkv_bias", "expected true")
    mixtral = dict(LLAMA_TINY, model_type="mixtral", num_local_experts=4)
    refused("mixtral-k", dict(mixtral, num_experts_per_tok=5), "num_experts_per_tok", "expected 1..num_local_experts")
    refused("mixtral-jitter", dict(mixtral, router_jitter_noise=0.01), "router_jitter_noise", "expected 0")
    refused("mixtral-aux", dict(mixtral, router_aux_loss_coef=2), "router_aux_loss_coef", "expected a weight in [0, 1]")
    refused("no-type", {"hidden_size": 1}, "model_type", "missing")
    refused("missing-layers", {k: v for k, v in LLAMA_TINY.items() if k != "num_hidden_layers"},
            "num_hidden_layers", "missing")
    refused("heads", dict(LLAMA_TINY, num_attention_heads=5, num_key_value_heads=5), "num_attention_heads",
            "5 heads do not divide hidden_size 64")
    refused("kv-heads", dict(LLAMA_TINY, num_key_value_heads=3), "num_key_value_heads", "do not divide 4")
    refused("act", dict(LLAMA_TINY, hidden_act="gelu"), "hidden_act", "gelu_pytorch_tanh")
    refused("not-int", dict(LLAMA_TINY, hidden_size="64"), "hidden_size", "expected an integer")
    refused("rope-type", dict(LLAMA_TINY, rope_scaling={"rope_type": "longrope", "factor": 2.0}),
            "rope_scaling.rope_type", "not a scaling llmc computes")
    refused("rope-extra", dict(LLAMA_TINY, rope_scaling={"rope_type": "yarn", "factor": 4.0, "attention_factor": 0.8}),
            "rope_scaling.attention_factor", "not computed by llmc's yarn scaling")
    refused("qwen2-swa", dict(LLAMA_TINY, model_type="qwen2", use_sliding_window=True), "use_sliding_window",
            "per-layer pattern")
    phi = {"model_type": "phi", "vocab_size": 256, "hidden_size": 80, "intermediate_size": 160,
           "num_hidden_layers": 2, "num_attention_heads": 4}
    refused("phi-rotary", dict(phi, partial_rotary_factor=0.33), "partial_rotary_factor",
            "0.33 of a 20-dim head rotates 6.6 dims")
    refused("phi-qk-ln", dict(phi, qk_layernorm=True), "qk_layernorm", "not built by llmc's templates")
    # a default standing for an absent key (GPT-2's n_head 12) is located at the top of the file
    refused("gpt2-default-heads", {"model_type": "gpt2", "n_embd": 100}, "n_head", "12 heads do not divide n_embd 100")
    refused("gpt2-ctx", {"model_type": "gpt2", "n_positions": 1024, "n_ctx": 512}, "n_ctx", "contradicts n_positions")
    refused("gpt2-idx", {"model_type": "gpt2", "scale_attn_by_inverse_layer_idx": True},
            "scale_attn_by_inverse_layer_idx", "per-layer attention scale")
    refused("t5-ff", {"model_type": "t5", "feed_forward_proj": "gated-silu"}, "feed_forward_proj", "relu or gated-gelu")
    p = write_cfg("not-json", '{"model_type": "llama",\n "vocab_size": }')
    r = import_(p, os.path.join(TMP, "bad", "nj.yaml"), ok=False)
    check(r.returncode == 1 and re.search(re.escape(p) + r":2:\d+:", r.stderr) is not None,
          f"malformed JSON: exit 1 with its line ({r.stderr.strip()})")
    r = import_(os.path.join(TMP, "nowhere"), os.path.join(TMP, "bad", "nw.yaml"), ok=False)
    check(r.returncode == 4 and "nowhere: cannot read: No such file" in r.stderr,
          f"a missing path: exit 4 naming it ({r.stderr.strip()})")
    # unknown keys are listed, not silently dropped
    p = write_cfg("unknown-key", dict(LLAMA_TINY, rope_interleaved=True))
    r = import_(p, os.path.join(TMP, "bad", "uk.yaml"))
    check("not known to llmc for model_type 'llama'" in r.stderr and "rope_interleaved" in r.stderr,
          f"an unknown key is listed in a warning ({r.stderr.strip()})")


def test_mutated_configs_never_crash():
    """every published config with keys dropped, nulled or given wrong types: exit 0 or 1 with a
    located message, never a signal (a default that stands for an absent key once had no location)"""
    rng = random.Random(5)
    values = [None, "x", -1, 0, 1, 3, 1e30, 2.5, True, [], {}, {"rope_type": "yarn"}]
    crashes, bad_codes, runs = [], [], 0
    out = os.path.join(TMP, "mutated.yaml")
    for model in PUBLISHED:
        with open(os.path.join(FIXTURES, model, "config.json")) as f:
            base = json.load(f)
        keys = sorted(base)
        for trial in range(25):
            cfg = dict(base)
            for _ in range(rng.randint(1, 3)):
                k = rng.choice(keys)
                if k == "model_type" and trial % 5:
                    continue
                if rng.random() < 0.4:
                    cfg.pop(k, None)
                else:
                    cfg[k] = rng.choice(values)
            p = write_cfg(f"mut-{model}-{trial}", cfg)
            r = import_(p, out, "--force", ok=False)
            runs += 1
            if r.returncode < 0:
                crashes.append((p, r.returncode))
            elif r.returncode not in (0, 1) or (r.returncode == 1 and not re.search(re.escape(p) + r":\d+:\d+: ", r.stderr)
                                                 and "does not build" not in r.stderr):
                bad_codes.append((p, r.returncode, r.stderr.strip()[:200]))
    check(not crashes, f"{runs} mutated configs: none ends on a signal ({crashes[:3]})")
    check(not bad_codes, f"{runs} mutated configs: each exits 0, or 1 with a located message ({bad_codes[:3]})")


def test_outputs_are_not_clobbered():
    src = os.path.join(FIXTURES, "gpt2")
    mine = os.path.join(TMP, "mine.yaml")
    with open(mine, "w") as f:
        f.write("name: mine\nvocab_size: 10\n")
    for extra in ((), ("--force",)):
        r = import_(src, mine, *extra, ok=False)
        check(r.returncode == 4 and open(mine).read() == "name: mine\nvocab_size: 10\n",
              f"import {' '.join(extra)} over a spec the user wrote: exit 4, the file untouched ({r.stderr.strip()})")
    out = os.path.join(TMP, "again.yaml")
    import_(src, out)
    r = import_(os.path.join(FIXTURES, "t5-small"), out, ok=False)
    check(r.returncode == 4 and "exists" in r.stderr and "gpt2" in open(out).read(),
          "import over an earlier import without --force: exit 4, unchanged")
    import_(os.path.join(FIXTURES, "t5-small"), out, "--force")
    check("model_type: t5" in open(out).read(), "import --force replaces a spec an earlier import wrote")
    leftovers = [p for p in os.listdir(TMP) if p.startswith(".")]
    check(not leftovers, f"no temporary files left beside the outputs ({leftovers})")
    r = run([LLMC, "import", src], ok=False)
    check(r.returncode == 2 and "-o" in r.stderr, "import without -o is a usage error")


if __name__ == "__main__":
    sys.exit(check.run_all([test_published_counts, test_round_trip, test_new_budget, test_bad_input,
                            test_mutated_configs_never_crash, test_outputs_are_not_clobbered], TMP))
