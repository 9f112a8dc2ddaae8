"""llmc import HF_DIR --compile (issue 21, point 2): a Hugging Face model folder - config.json, a
sharded bf16 checkpoint with its index, a tokenizer.json - becomes every artifact, and every backend
computes the checkpoint's model.

Environment (set by ctest): LLMC, LLMC_SOURCE_DIR, LLMC_BINARY_DIR, LLMC_LLAMA_LOGITS (optional).

For llama (Llama-3.2's choices: GQA, llama3 rope scaling, tied head), mistral (sliding window; no
GGUF, which has no windowed llama architecture), qwen3 (per-head q/k RMSNorm, head_dim 24 apart from
hidden / heads), qwen2 (q/k/v biases, tied), mixtral (4 experts, top-2, routed as Mixtral does) and
qwen2_moe (6 experts, top-2 not renormalised, a shared expert with its sigmoid gate),
small configurations are written with random weights in the HF layout (names and shapes as
transformers stores them, written here from the families' conventions, not from llmc), bf16, in two
shards with model.safetensors.index.json, beside a BPE tokenizer.json.
`llmc import DIR --compile --dtype float32` emits safetensors, pytorch, torchscript, cpu and gguf;
then:
* OUT/safetensors holds exactly the checkpoint's values (bf16 -> f32 is exact);
* the logits of an independent forward pass (tests/python/ir_reference.py, float64, over OUT/ir.json
  with the checkpoint's tensors) are matched by the PyTorch package, TorchScript and the CPU runtime
  within 1e-5 relative, and by llama.cpp on the GGUF within 1e-3;
* OUT/tokenizer is the folder's tokenizer (same ids for the same text).
GPT-2 (fused, transposed Conv1D weights in its HF layout) is imported the same way and its backends
agree with the package, whose state_dict is the checkpoint. T5 v1.1 (gated-gelu, untied head, 3
encoder and 2 decoder layers: llama.cpp needs the decoder no deeper) as the llama-like families,
with encoder and decoder ids. Phi (parallel blocks, partial rotary, every bias), Gemma-2 (sandwich
norms, soft-caps, a window on even layers) and Gemma likewise, on every backend (the CPU runtime
computes all three; llmc's GGUF writes them as llama.cpp arches phi2, gemma2 and gemma).
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmc_testlib import Checks, backend_logits, import_package, read_safetensors, rel, run  # noqa: E402

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP = tempfile.mkdtemp(prefix="llmc-import-ckpt-")
check = Checks()
TOL, GGUF_TOL = 1e-5, 1e-3
V = 320  # the tokenizer's vocabulary: 256 bytes + merges + specials

BASE = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": V, "rms_norm_eps": 1e-6, "hidden_act": "silu",
        "initializer_range": 0.02, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2}
CONFIGS = {
    "llama": dict(BASE, model_type="llama", architectures=["LlamaForCausalLM"], max_position_embeddings=2048,
                  rope_theta=500000.0, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 256}),
    "mistral": dict(BASE, model_type="mistral", architectures=["MistralForCausalLM"], max_position_embeddings=256,
                    rope_theta=10000.0, sliding_window=8, tie_word_embeddings=False),
    "qwen3": dict(BASE, model_type="qwen3", architectures=["Qwen3ForCausalLM"], max_position_embeddings=512,
                  head_dim=24, rope_theta=1000000.0, tie_word_embeddings=True, attention_bias=False,
                  use_sliding_window=False, sliding_window=None, max_window_layers=2),
    "qwen2": dict(BASE, model_type="qwen2", architectures=["Qwen2ForCausalLM"], max_position_embeddings=512,
                  rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False, sliding_window=512,
                  max_window_layers=2),
    "mixtral": dict(BASE, model_type="mixtral", architectures=["MixtralForCausalLM"], max_position_embeddings=256,
                    rope_theta=1000000.0, sliding_window=None, tie_word_embeddings=False, num_local_experts=4,
                    num_experts_per_tok=2, router_aux_loss_coef=0.02, output_router_logits=False),
    "qwen2_moe": dict(BASE, model_type="qwen2_moe", architectures=["Qwen2MoeForCausalLM"], max_position_embeddings=512,
                      rope_theta=1000000.0, tie_word_embeddings=False, use_sliding_window=False, sliding_window=512,
                      max_window_layers=2, decoder_sparse_step=1, num_experts=6, num_experts_per_tok=2,
                      moe_intermediate_size=32, shared_expert_intermediate_size=48, norm_topk_prob=False,
                      router_aux_loss_coef=0.001, output_router_logits=False, mlp_only_layers=[]),
}
T5 = {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": V, "d_model": 64, "d_kv": 16,
      "d_ff": 96, "num_heads": 4, "num_layers": 3, "num_decoder_layers": 2, "relative_attention_num_buckets": 32,
      "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
      "is_encoder_decoder": True, "layer_norm_epsilon": 1e-6, "decoder_start_token_id": 0, "dropout_rate": 0.1}
GPT2 = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": V, "n_embd": 64, "n_head": 4,
        "n_layer": 2, "n_positions": 128, "n_ctx": 128, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.1}


PHI = {"model_type": "phi", "architectures": ["PhiForCausalLM"], "vocab_size": V, "hidden_size": 64,
       "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
       "partial_rotary_factor": 0.5, "hidden_act": "gelu_new", "layer_norm_eps": 1e-5, "max_position_embeddings": 256,
       "rope_theta": 10000.0, "rope_scaling": None, "tie_word_embeddings": False, "qk_layernorm": False,
       "torch_dtype": "bfloat16", "resid_pdrop": 0.1}
GEMMA2 = {"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "vocab_size": V, "hidden_size": 64,
          "intermediate_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
          "head_dim": 16, "rms_norm_eps": 1e-6, "hidden_activation": "gelu_pytorch_tanh",
          "hidden_act": "gelu_pytorch_tanh", "max_position_embeddings": 256, "rope_theta": 10000.0,
          "query_pre_attn_scalar": 16, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
          "sliding_window": 8, "attention_bias": False, "tie_word_embeddings": True, "torch_dtype": "bfloat16"}
GEMMA = {"model_type": "gemma", "architectures": ["GemmaForCausalLM"], "vocab_size": V, "hidden_size": 64,
         "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
         "head_dim": 32, "rms_norm_eps": 1e-6, "hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh",
         "max_position_embeddings": 256, "rope_theta": 10000.0, "attention_bias": False, "tie_word_embeddings": True,
         "torch_dtype": "bfloat16"}


def phi_tensors(c, rng):
    """transformers' PhiForCausalLM state dict: one LayerNorm per parallel block, every linear map with
    a bias, dense / fc1 / fc2, final_layernorm, an untied head with a bias"""
    H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    t = {"model.embed_tokens.weight": rng.standard_normal((V, H)) * 0.5,
         "model.final_layernorm.weight": 1 + 0.2 * rng.standard_normal(H),
         "model.final_layernorm.bias": 0.1 * rng.standard_normal(H),
         "lm_head.weight": 0.1 * rng.standard_normal((V, H)), "lm_head.bias": 0.1 * rng.standard_normal(V)}
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = 1 + 0.2 * rng.standard_normal(H)
        t[p + "input_layernorm.bias"] = 0.1 * rng.standard_normal(H)
        for name, rows, cols in (("self_attn.q_proj", H, H), ("self_attn.k_proj", H, H), ("self_attn.v_proj", H, H),
                                 ("self_attn.dense", H, H), ("mlp.fc1", I, H), ("mlp.fc2", H, I)):
            t[p + name + ".weight"] = 0.1 * rng.standard_normal((rows, cols))
            t[p + name + ".bias"] = 0.1 * rng.standard_normal(rows)
    return t


def gemma_tensors(c, rng):
    """transformers' GemmaForCausalLM / Gemma2ForCausalLM state dict (tied head; norm weights w of the
    (1 + w) RMSNorm, so near 0; Gemma-2 adds the post-attention and the two feed-forward norms)"""
    H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    n, kv, d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    norms = ["input_layernorm", "post_attention_layernorm"]
    if c["model_type"] == "gemma2":
        norms += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
    t = {"model.embed_tokens.weight": rng.standard_normal((V, H)) * 0.1, "model.norm.weight": 0.2 * rng.standard_normal(H)}
    for i in range(L):
        p = f"model.layers.{i}."
        for name, rows, cols in (("self_attn.q_proj", n * d, H), ("self_attn.k_proj", kv * d, H),
                                 ("self_attn.v_proj", kv * d, H), ("self_attn.o_proj", H, n * d),
                                 ("mlp.gate_proj", I, H), ("mlp.up_proj", I, H), ("mlp.down_proj", H, I)):
            t[p + name + ".weight"] = 0.1 * rng.standard_normal((rows, cols))
        for name in norms:
            t[p + name + ".weight"] = 0.2 * rng.standard_normal(H)
    return t


def llama_like_tensors(c, rng):
    """transformers' LlamaForCausalLM / MistralForCausalLM / MixtralForCausalLM / Qwen2ForCausalLM /
    Qwen3ForCausalLM state dict (Mixtral: a router and num_local_experts SwiGLU experts in place of mlp)"""
    H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    n, kv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or H // n
    t = {"model.embed_tokens.weight": rng.standard_normal((V, H)) * 0.5, "model.norm.weight": 1 + 0.2 * rng.standard_normal(H)}
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "self_attn.q_proj.weight"] = 0.1 * rng.standard_normal((n * d, H))
        t[p + "self_attn.k_proj.weight"] = 0.1 * rng.standard_normal((kv * d, H))
        t[p + "self_attn.v_proj.weight"] = 0.1 * rng.standard_normal((kv * d, H))
        t[p + "self_attn.o_proj.weight"] = 0.1 * rng.standard_normal((H, n * d))
        if c["model_type"] in ("qwen2", "qwen2_moe"):
            for x, rows in (("q", n * d), ("k", kv * d), ("v", kv * d)):
                t[p + f"self_attn.{x}_proj.bias"] = 0.1 * rng.standard_normal(rows)
        if c["model_type"] == "qwen3":  # per-head RMSNorm of q and k
            t[p + "self_attn.q_norm.weight"] = 1 + 0.2 * rng.standard_normal(d)
            t[p + "self_attn.k_norm.weight"] = 1 + 0.2 * rng.standard_normal(d)
        if c["model_type"] == "mixtral":
            t[p + "block_sparse_moe.gate.weight"] = 0.5 * rng.standard_normal((c["num_local_experts"], H))
            for e in range(c["num_local_experts"]):
                t[p + f"block_sparse_moe.experts.{e}.w1.weight"] = 0.1 * rng.standard_normal((I, H))
                t[p + f"block_sparse_moe.experts.{e}.w3.weight"] = 0.1 * rng.standard_normal((I, H))
                t[p + f"block_sparse_moe.experts.{e}.w2.weight"] = 0.1 * rng.standard_normal((H, I))
        elif c["model_type"] == "qwen2_moe":  # router, experts, the shared expert and its [1, H] gate
            t[p + "mlp.gate.weight"] = 0.5 * rng.standard_normal((c["num_experts"], H))
            Ie, Is = c["moe_intermediate_size"], c["shared_expert_intermediate_size"]
            for e in range(c["num_experts"]):
                t[p + f"mlp.experts.{e}.gate_proj.weight"] = 0.1 * rng.standard_normal((Ie, H))
                t[p + f"mlp.experts.{e}.up_proj.weight"] = 0.1 * rng.standard_normal((Ie, H))
                t[p + f"mlp.experts.{e}.down_proj.weight"] = 0.1 * rng.standard_normal((H, Ie))
            t[p + "mlp.shared_expert.gate_proj.weight"] = 0.1 * rng.standard_normal((Is, H))
            t[p + "mlp.shared_expert.up_proj.weight"] = 0.1 * rng.standard_normal((Is, H))
            t[p + "mlp.shared_expert.down_proj.weight"] = 0.1 * rng.standard_normal((H, Is))
            t[p + "mlp.shared_expert_gate.weight"] = 0.5 * rng.standard_normal((1, H))
        else:
            t[p + "mlp.gate_proj.weight"] = 0.1 * rng.standard_normal((I, H))
            t[p + "mlp.up_proj.weight"] = 0.1 * rng.standard_normal((I, H))
            t[p + "mlp.down_proj.weight"] = 0.1 * rng.standard_normal((H, I))
        t[p + "input_layernorm.weight"] = 1 + 0.2 * rng.standard_normal(H)
        t[p + "post_attention_layernorm.weight"] = 1 + 0.2 * rng.standard_normal(H)
    if not c["tie_word_embeddings"]:
        t["lm_head.weight"] = 0.1 * rng.standard_normal((V, H))
    return t


def gpt2_tensors(c, rng):
    """transformers' GPT2LMHeadModel state dict (Conv1D weights stored [in, out])"""
    H, L = c["n_embd"], c["n_layer"]
    t = {"transformer.wte.weight": 0.5 * rng.standard_normal((V, H)),
         "transformer.wpe.weight": 0.1 * rng.standard_normal((c["n_positions"], H)),
         "transformer.ln_f.weight": 1 + 0.2 * rng.standard_normal(H), "transformer.ln_f.bias": 0.1 * rng.standard_normal(H)}
    for i in range(L):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            t[p + ln + ".weight"] = 1 + 0.2 * rng.standard_normal(H)
            t[p + ln + ".bias"] = 0.1 * rng.standard_normal(H)
        for name, shape in (("attn.c_attn", (H, 3 * H)), ("attn.c_proj", (H, H)), ("mlp.c_fc", (H, 4 * H)),
                            ("mlp.c_proj", (4 * H, H))):
            t[p + name + ".weight"] = 0.1 * rng.standard_normal(shape)
            t[p + name + ".bias"] = 0.05 * rng.standard_normal(shape[1])
    return t


def t5_tensors(c, rng):
    """transformers' T5ForConditionalGeneration state dict as save_pretrained writes it (the tied
    encoder/decoder embed_tokens dropped in favour of shared.weight); gated-gelu: wi_0, wi_1"""
    H, I, n, d = c["d_model"], c["d_ff"], c["num_heads"], c["d_kv"]
    t = {"shared.weight": 0.5 * rng.standard_normal((V, H)),
         "encoder.final_layer_norm.weight": 1 + 0.2 * rng.standard_normal(H),
         "decoder.final_layer_norm.weight": 1 + 0.2 * rng.standard_normal(H)}
    if not c["tie_word_embeddings"]:
        t["lm_head.weight"] = 0.1 * rng.standard_normal((V, H))

    def attn(prefix):
        for x, shape in (("q", (n * d, H)), ("k", (n * d, H)), ("v", (n * d, H)), ("o", (H, n * d))):
            t[f"{prefix}.{x}.weight"] = 0.1 * rng.standard_normal(shape)

    def ff(prefix):
        t[prefix + ".DenseReluDense.wi_0.weight"] = 0.1 * rng.standard_normal((I, H))
        t[prefix + ".DenseReluDense.wi_1.weight"] = 0.1 * rng.standard_normal((I, H))
        t[prefix + ".DenseReluDense.wo.weight"] = 0.1 * rng.standard_normal((H, I))
        t[prefix + ".layer_norm.weight"] = 1 + 0.2 * rng.standard_normal(H)

    for stack, layers in (("encoder", c["num_layers"]), ("decoder", c["num_decoder_layers"])):
        for i in range(layers):
            p = f"{stack}.block.{i}.layer."
            attn(p + "0.SelfAttention")
            t[p + "0.layer_norm.weight"] = 1 + 0.2 * rng.standard_normal(H)
            if i == 0:
                t[p + "0.SelfAttention.relative_attention_bias.weight"] = 0.3 * rng.standard_normal((32, n))
            if stack == "decoder":
                attn(p + "1.EncDecAttention")
                t[p + "1.layer_norm.weight"] = 1 + 0.2 * rng.standard_normal(H)
                ff(p + "2")
            else:
                ff(p + "1")
    return t


def bf16(a):
    """round to bfloat16 (what the checkpoint stores) and back to float64"""
    return torch.tensor(a, dtype=torch.float32).to(torch.bfloat16).to(torch.float64).numpy()


def write_sharded(folder, tensors):
    """two bf16 shards and model.safetensors.index.json, as transformers' save_pretrained writes them"""
    names = sorted(tensors)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    weight_map, total = {}, 0
    for shard, members in shards.items():
        header, blobs, off = {}, [], 0
        for name in members:
            raw = torch.tensor(tensors[name], dtype=torch.float32).to(torch.bfloat16).view(torch.int16).numpy().tobytes()
            header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(raw)]}
            blobs.append(raw)
            off += len(raw)
            weight_map[name] = shard
        header["__metadata__"] = {"format": "pt"}
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        with open(os.path.join(folder, shard), "wb") as f:
            f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))
        total += off
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def tokenizer_into(folder):
    """a byte-level BPE tokenizer.json of V ids, trained once, copied into the model folder"""
    trained = os.path.join(TMP, "tokenizer")
    if not os.path.exists(trained):
        run([LLMC, "tokenizer", "train", "--type", "bpe", "--vocab-size", str(V), "-o", trained,
             os.path.join(SRC, "README.md")])
    shutil.copy(os.path.join(trained, "tokenizer.json"), folder)


def model_folder(name, config, tensors):
    folder = os.path.join(TMP, name)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_sharded(folder, tensors)
    tokenizer_into(folder)
    return folder



def backends_of(out, reference=True):
    """the backends OUT holds (cpu and gguf only where their emitters wrote them), and ir_reference
    over the checkpoint's tensors when they carry the IR's names"""
    return (("ir_reference",) if reference else ()) + ("pytorch", "torchscript") + \
        tuple(b for b in ("cpu", "gguf") if os.path.exists(os.path.join(out, b)))


def import_compile(folder, out, gguf=True, cpu=True):
    emit = "safetensors,pytorch,torchscript" + (",cpu" if cpu else "") + (",gguf" if gguf else "")
    return run([LLMC, "import", folder, "--compile", "-o", out, "--emit", emit, "--dtype", "float32"])


def same_tokenizer(folder, out, name):
    text = "Hello, llmc import: the folder's tokenizer comes along."
    a = run([LLMC, "tokenize", folder, text]).stdout
    b = run([LLMC, "tokenize", os.path.join(out, "tokenizer"), text]).stdout
    check(a == b and a.strip(), f"{name}: OUT/tokenizer gives the folder tokenizer's ids ({a.strip()[:60]})")


def test_llama_like_families():
    for seed, (name, config) in enumerate(CONFIGS.items()):
        rng = np.random.default_rng(seed + 1)
        tensors = {k: bf16(v) for k, v in llama_like_tensors(config, rng).items()}
        folder = model_folder(name, config, tensors)
        out = os.path.join(TMP, name + "-out")
        # llama.cpp's llama architecture has no sliding window: the gguf emitter refuses mistral's
        windowed = "sliding_window" in config and config["model_type"] == "mistral"
        import_compile(folder, out, gguf=not windowed)
        spec = json.load(open(os.path.join(out, "spec.json")))
        check(os.path.realpath(folder) in json.dumps(spec), f"{name}: OUT/spec.json names the folder as its checkpoint")
        stored = {}
        for f in os.listdir(os.path.join(out, "safetensors")):
            if f.endswith(".safetensors"):
                stored.update(read_safetensors(os.path.join(out, "safetensors", f))[0])
        check(sorted(stored) == sorted(tensors) and all(np.array_equal(stored[k], tensors[k]) for k in tensors),
              f"{name}: OUT/safetensors holds exactly the checkpoint's tensors")
        ids = [(i * 37 + seed * 11 + 5) % V for i in range(20)]  # 20 > mistral's window of 8
        logits = backend_logits(out, ids, V, backends_of(out), reference_weights=tensors)
        ref = logits.pop("ir_reference")
        for backend, got in logits.items():
            d = rel(got, ref)
            tol = GGUF_TOL if backend == "gguf" else TOL
            print(f"  {name}: {backend} vs the independent forward pass: {d:.2e}")
            check(d <= tol, f"{name}: {backend} logits within {tol} of the checkpoint's forward pass (got {d:.2e})")
        same_tokenizer(folder, out, name)


def test_phi_gemma():
    """Phi (parallel blocks, partial rotary, every bias), Gemma-2 (sandwich norms, soft-caps, windows on
    even layers: 20 ids > the window of 8) and Gemma (head_dim 32 != hidden / heads, one key/value
    head), the CPU runtime and llama.cpp (GGUF arches phi2, gemma2, gemma) on all three"""
    for seed, (name, config, make, cpu, gguf) in enumerate((("phi", PHI, phi_tensors, True, True),
                                                             ("gemma2", GEMMA2, gemma_tensors, True, True),
                                                             ("gemma", GEMMA, gemma_tensors, True, True))):
        rng = np.random.default_rng(seed + 21)
        tensors = {k: bf16(v) for k, v in make(config, rng).items()}
        folder = model_folder(name, config, tensors)
        out = os.path.join(TMP, name + "-out")
        import_compile(folder, out, gguf=gguf, cpu=cpu)
        stored = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))[0]
        check(sorted(stored) == sorted(tensors) and all(np.array_equal(stored[k], tensors[k]) for k in tensors),
              f"{name}: OUT/safetensors holds exactly the checkpoint's tensors")
        ids = [(i * 41 + seed * 7 + 3) % V for i in range(20)]
        logits = backend_logits(out, ids, V, backends_of(out), reference_weights=tensors)
        ref = logits.pop("ir_reference")
        for backend, got in logits.items():
            d = rel(got, ref)
            tol = GGUF_TOL if backend == "gguf" else TOL
            print(f"  {name}: {backend} vs the independent forward pass: {d:.2e}")
            check(d <= tol, f"{name}: {backend} logits within {tol} of the checkpoint's forward pass (got {d:.2e})")
        same_tokenizer(folder, out, name)


def test_gpt2():
    rng = np.random.default_rng(7)
    tensors = {k: bf16(v) for k, v in gpt2_tensors(GPT2, rng).items()}
    folder = model_folder("gpt2", GPT2, tensors)
    out = os.path.join(TMP, "gpt2-out")
    import_compile(folder, out)
    stored = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))[0]
    check(sorted(stored) == sorted(tensors) and all(np.array_equal(stored[k], tensors[k]) for k in tensors),
          "gpt2: OUT/safetensors holds exactly the checkpoint's tensors (Conv1D layout kept)")
    # the package's parameters are the checkpoint's, rearranged as the HF layout says
    model = import_package(out).from_pretrained(out, dtype=torch.float64)
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    check(sorted(sd) == sorted(tensors) and all(np.array_equal(sd[k], tensors[k]) for k in tensors),
          "gpt2: the package's state_dict is the checkpoint (HF names, Conv1D layout, exact values)")
    ids = [(i * 29 + 3) % V for i in range(20)]
    logits = backend_logits(out, ids, V, backends_of(out, reference=False))  # HF names: Conv1D, fused qkv
    for backend in ("torchscript", "cpu", "gguf"):
        if backend in logits:
            d = rel(logits[backend], logits["pytorch"])
            tol = GGUF_TOL if backend == "gguf" else TOL
            print(f"  gpt2: {backend} vs pytorch: {d:.2e}")
            check(d <= tol, f"gpt2: {backend} logits within {tol} of the package's (got {d:.2e})")
    same_tokenizer(folder, out, "gpt2")


def test_t5():
    rng = np.random.default_rng(11)
    tensors = {k: bf16(v) for k, v in t5_tensors(T5, rng).items()}
    # older T5 conversions store the shared table three times; the copies are read as shared.weight
    copies = {"encoder.embed_tokens.weight": tensors["shared.weight"], "decoder.embed_tokens.weight": tensors["shared.weight"]}
    folder = model_folder("t5", T5, dict(tensors, **copies))
    out = os.path.join(TMP, "t5-out")
    import_compile(folder, out, gguf=True)
    stored = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))[0]
    check(sorted(stored) == sorted(tensors) and all(np.array_equal(stored[k], tensors[k]) for k in tensors),
          "t5: OUT/safetensors holds exactly the checkpoint's tensors")
    src = [(i * 31 + 7) % V for i in range(13)]
    dec = [0] + [(i * 17 + 3) % V for i in range(6)]
    logits = backend_logits(out, src, V, backends_of(out), decoder_ids=dec, reference_weights=tensors)
    ref = logits.pop("ir_reference")
    for backend, got in logits.items():
        d = rel(got, ref)
        tol = GGUF_TOL if backend == "gguf" else TOL
        print(f"  t5: {backend} vs the independent forward pass: {d:.2e}")
        check(d <= tol, f"t5: {backend} logits within {tol} of the checkpoint's forward pass (got {d:.2e})")
    same_tokenizer(folder, out, "t5")


def test_bad_checkpoints():
    config = CONFIGS["llama"]
    rng = np.random.default_rng(3)
    tensors = {k: bf16(v) for k, v in llama_like_tensors(config, rng).items()}
    cases = {
        "missing": {k: v for k, v in tensors.items() if k != "model.layers.1.mlp.up_proj.weight"},
        "extra": dict(tensors, **{"model.layers.9.mlp.up_proj.weight": tensors["model.layers.1.mlp.up_proj.weight"]}),
        "shape": dict(tensors, **{"model.norm.weight": np.ones(65)}),
    }
    want = {"missing": "model.layers.1.mlp.up_proj.weight", "extra": "model.layers.9.mlp.up_proj.weight",
            "shape": "model.norm.weight"}
    for case, ts in cases.items():
        folder = model_folder("bad-" + case, config, ts)
        out = os.path.join(TMP, "bad-" + case + "-out")
        r = run([LLMC, "import", folder, "--compile", "-o", out, "--emit", "safetensors"], ok=False)
        check(r.returncode == 1 and want[case] in r.stderr and "model.safetensors.index.json" in r.stderr or
              r.returncode == 1 and want[case] in r.stderr and "model-0000" in r.stderr,
              f"a checkpoint with a {case} tensor: exit 1 naming the file and '{want[case]}' ({r.stderr.strip()[:300]})")
        check(not os.path.exists(out), f"a checkpoint with a {case} tensor: no output written")
    # tied copies: a tied lm_head.weight equal to the embedding is read as it; a different one is an
    # untied head the config does not declare
    same = dict(tensors, **{"lm_head.weight": tensors["model.embed_tokens.weight"]})
    folder = model_folder("tied-copy", config, same)
    out = os.path.join(TMP, "tied-copy-out")
    r = run([LLMC, "import", folder, "--compile", "-o", out, "--emit", "safetensors"], ok=False)
    check(r.returncode == 0 and "lm_head.weight: stored copies of the tied embedding 'model.embed_tokens.weight'"
          in r.stderr, f"a stored copy of the tied head is accepted, with a note ({r.stderr.strip()[-300:]})")
    other = dict(tensors, **{"lm_head.weight": tensors["model.embed_tokens.weight"] * 0.5})
    folder = model_folder("tied-differs", config, other)
    r = run([LLMC, "import", folder, "--compile", "-o", os.path.join(TMP, "tied-differs-out"), "--emit",
             "safetensors"], ok=False)
    check(r.returncode == 1 and "1 unexpected: lm_head.weight" in r.stderr and "untied lm_head.weight" in r.stderr,
          f"an lm_head.weight unlike the tied embedding: exit 1, the untied head named ({r.stderr.strip()[-300:]})")
    # a folder with two unrelated safetensors files and no index
    folder = os.path.join(TMP, "two-files")
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    for n in ("a.safetensors", "b.safetensors"):
        open(os.path.join(folder, n), "wb").close()
    r = run([LLMC, "import", folder, "--compile", "-o", os.path.join(TMP, "two-out"), "--emit", "safetensors"], ok=False)
    check(r.returncode == 4 and "holds 0 *.safetensors.index.json and 2 *.safetensors files" in r.stderr,
          f"a folder with two checkpoints and no index: exit 4, says what it found ({r.stderr.strip()[:300]})")
    r = run([LLMC, "import", folder, "-o", os.path.join(TMP, "x.yaml"), "--emit", "gguf"], ok=False)
    check(r.returncode == 2, "--emit without --compile is a usage error")


if __name__ == "__main__":
    sys.exit(check.run_all([test_llama_like_families, test_phi_gemma, test_gpt2, test_t5, test_bad_checkpoints], TMP))
