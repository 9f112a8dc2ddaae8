"""An independent numpy forward pass of llmc's IR semantics (docs/templates.md, "Semantics"), for
the GGUF tests: given IR-named float32 weights it computes the logits that every llmc backend
must produce. Written from the documented semantics, not from the C or PyTorch code."""
import math

import numpy as np


def rms_norm(x, w, eps):
    x = x.astype(np.float32)
    return (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(eps))) * w


def layer_norm(x, w, b, eps):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + np.float32(eps)) * w
    return y + b if b is not None else y


# "exact": GELU (tanh form) in float32, as the IR defines it. "ggml": as llama.cpp's CPU backend
# computes it -- the input rounded to float16, a float16 table lookup, identity beyond |x| >= 10
# (ggml-cpu/vec.h, GGML_GELU_FP16) -- to show that what remains of a difference is that table.
GELU_MODE = "exact"


def _gelu_tanh_f32(x):
    x = x.astype(np.float32)
    return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(np.float32(math.sqrt(2.0 / math.pi)) * x
                                                            * (np.float32(1.0) + np.float32(0.044715) * x * x)))


def gelu_tanh(x):
    if GELU_MODE == "exact":
        return _gelu_tanh_f32(x)
    table = _gelu_tanh_f32(x.astype(np.float16).astype(np.float32)).astype(np.float16).astype(np.float32)
    return np.where(x <= -10.0, np.float32(0), np.where(x >= 10.0, x, table)).astype(np.float32)


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=-1, keepdims=True)


def rope_inv_freq(spec, hd):
    """inverse frequencies (float32) and the cos/sin factor, as the IR's ROPE op defines them"""
    r = spec.get("rope") or {}
    base = float(r.get("theta", 10000.0))
    sc = r.get("scaling") or {}
    kind = sc.get("type", "none")
    inv = 1.0 / base ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    scale = 1.0
    if kind == "linear":
        inv = inv / sc["factor"]
    elif kind == "yarn":
        factor, orig = sc["factor"], sc.get("original_context_length", spec["context_length"])
        beta_fast, beta_slow = sc.get("beta_fast", 32.0), sc.get("beta_slow", 1.0)

        def cdim(rot):
            return hd * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))

        low = max(math.floor(cdim(beta_fast)), 0)
        high = min(math.ceil(cdim(beta_slow)), hd - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(hd // 2, dtype=np.float64) - low) / (high - low), 0, 1)
        keep = 1 - ramp
        inv = inv / factor * (1 - keep) + inv * keep
        scale = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    elif kind == "llama3":
        factor, orig = sc["factor"], sc.get("original_context_length", spec["context_length"])
        lo, hi = sc.get("low_freq_factor", 1.0), sc.get("high_freq_factor", 4.0)
        wl = 2 * math.pi / inv
        scaled = np.where(wl > orig / lo, inv / factor, inv)
        smooth = (orig / wl - lo) / (hi - lo)
        medium = (wl >= orig / hi) & (wl <= orig / lo)
        inv = np.where(medium, (1 - smooth) * inv / factor + smooth * inv, scaled)
    elif kind != "none":
        raise ValueError(f"rope scaling {kind} not modelled")
    return inv.astype(np.float32), scale


def apply_rope(x, pos, inv, scale):
    """x [S, n, d]: rotate pairs (k, k + d/2) by pos * inv[k] (rotate-half)"""
    ang = pos.astype(np.float32)[:, None] * inv[None, :]
    emb = np.concatenate([ang, ang], axis=-1)
    cos = (np.cos(emb) * scale).astype(np.float32)[:, None, :]
    sin = (np.sin(emb) * scale).astype(np.float32)[:, None, :]
    half = x.shape[-1] // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rot * sin


def attention(q, k, v, scale, bias=None, causal=False):
    """q [S, n, d], k/v [T, m, d] -> [S, n*d]; query head h reads key/value head h // (n/m)"""
    S, n, d = q.shape
    T, m, _ = k.shape
    rep = n // m
    out = np.zeros((S, n, v.shape[-1]), dtype=np.float32)
    for h in range(n):
        s = (q[:, h, :] @ k[:, h // rep, :].T) * np.float32(scale)
        if bias is not None:
            s = s + bias[h]
        if causal:
            s = s + np.triu(np.full((S, T), -np.inf, dtype=np.float32), 1)
        out[:, h, :] = softmax(s) @ v[:, h // rep, :]
    return out.reshape(S, -1)


def linear(x, w, b=None):
    y = x @ w.T
    return y + b if b is not None else y


def decoder_only_logits(spec, W, ids):
    """W: IR-named float32 arrays; ids: token ids -> logits [S, V]"""
    dims = spec["dims"]
    nh, nkv, hd = dims["num_heads"], dims["num_kv_heads"], dims["head_dim"]
    eps = spec.get("norm_eps", 1e-5)
    norm_kind = spec.get("norm", "rmsnorm")
    act = spec.get("activation", "swiglu")
    pos_kind = spec.get("positional_encoding", "rope")
    ids = np.asarray(ids)
    pos = np.arange(len(ids))
    x = W["model.embed_tokens.weight"][ids]
    if spec.get("embedding_scale") == "sqrt_hidden":
        # the factor rounded to the model's dtype (float32 here: the tests run the F32 files)
        x = x * np.float32(math.sqrt(dims["hidden_size"]))
    offset = np.float32(spec.get("norm_weight_offset", 0))   # RMSNorm scales by offset + w (Gemma: 1)
    if pos_kind == "learned":
        x = x + W["model.embed_positions.weight"][pos]
    inv, rscale = rope_inv_freq(spec, hd) if pos_kind == "rope" else (None, 1.0)

    def norm(t, prefix):
        if norm_kind == "rmsnorm":
            return rms_norm(t, offset + W[prefix + ".weight"], eps)
        return layer_norm(t, W[prefix + ".weight"], W.get(prefix + ".bias"), eps)

    for i in range(dims["num_layers"]):
        p = f"model.layers.{i}"
        h = norm(x, p + ".input_layernorm")
        a = p + ".self_attn"
        q = linear(h, W[a + ".q_proj.weight"], W.get(a + ".q_proj.bias")).reshape(len(ids), nh, hd)
        k = linear(h, W[a + ".k_proj.weight"], W.get(a + ".k_proj.bias")).reshape(len(ids), nkv, hd)
        v = linear(h, W[a + ".v_proj.weight"], W.get(a + ".v_proj.bias")).reshape(len(ids), nkv, hd)
        if pos_kind == "rope":
            q, k = apply_rope(q, pos, inv, rscale), apply_rope(k, pos, inv, rscale)
        o = attention(q, k, v, 1.0 / math.sqrt(hd), causal=True)
        x = x + linear(o, W[a + ".o_proj.weight"], W.get(a + ".o_proj.bias"))
        h = norm(x, p + ".post_attention_layernorm")
        m = p + ".mlp"
        up = linear(h, W[m + ".up_proj.weight"], W.get(m + ".up_proj.bias"))
        if act == "swiglu":
            g = linear(h, W[m + ".gate_proj.weight"], W.get(m + ".gate_proj.bias"))
            z = silu(g) * up
        elif act == "geglu":   # GeGLU with the tanh GELU: gelu(gate) * up
            g = linear(h, W[m + ".gate_proj.weight"], W.get(m + ".gate_proj.bias"))
            z = gelu_tanh(g) * up
        elif act == "gelu_tanh":
            z = gelu_tanh(up)
        else:
            raise ValueError(act)
        x = x + linear(z, W[m + ".down_proj.weight"], W.get(m + ".down_proj.bias"))
    x = norm(x, "model.norm")
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return linear(x, head, W.get("lm_head.bias"))


def t5_bucket(rel, bidirectional, num_buckets, max_distance):
    """HF T5 _relative_position_bucket on an int array of (key - query) distances"""
    buckets = np.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets += (rel > 0).astype(rel.dtype) * num_buckets
        dist = np.abs(rel)
    else:
        dist = -np.minimum(rel, 0)
    max_exact = num_buckets // 2
    large = max_exact + (np.log(np.maximum(dist, 1).astype(np.float32) / np.float32(max_exact))
                         / np.float32(math.log(max_distance / max_exact)) * np.float32(num_buckets - max_exact)
                         ).astype(rel.dtype)
    large = np.minimum(large, num_buckets - 1)
    return buckets + np.where(dist < max_exact, dist, large)


def t5_logits(spec, W, enc_ids, dec_ids):
    dims = spec["dims"]
    nh, nkv, hd, H = dims["num_heads"], dims["num_kv_heads"], dims["head_dim"], dims["hidden_size"]
    eps = spec.get("norm_eps", 1e-5)
    act = spec.get("activation", "relu")
    ra = spec.get("relative_attention") or {}
    nb, md = ra.get("num_buckets", 32), ra.get("max_distance", 128)
    shared = W["shared.weight"]

    def rel_bias(table, S, T, bidirectional):
        rel = np.arange(T)[None, :] - np.arange(S)[:, None]
        b = t5_bucket(rel.astype(np.int64), bidirectional, nb, md)
        return np.transpose(table[b], (2, 0, 1))   # [n, S, T]

    def attn(x, kv, prefix, bias, causal):
        S, T = x.shape[0], kv.shape[0]
        q = linear(x, W[prefix + ".q.weight"]).reshape(S, nh, hd)
        k = linear(kv, W[prefix + ".k.weight"]).reshape(T, nkv, hd)
        v = linear(kv, W[prefix + ".v.weight"]).reshape(T, nkv, hd)
        return linear(attention(q, k, v, 1.0, bias, causal), W[prefix + ".o.weight"])

    def mlp(x, prefix):
        if act == "geglu":
            z = gelu_tanh(linear(x, W[prefix + ".wi_0.weight"])) * linear(x, W[prefix + ".wi_1.weight"])
        else:
            z = np.maximum(linear(x, W[prefix + ".wi.weight"]), 0)
        return linear(z, W[prefix + ".wo.weight"])

    e = shared[np.asarray(enc_ids)]
    T = e.shape[0]
    eb = rel_bias(W["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], T, T, True)
    for i in range(dims["num_encoder_layers"]):
        p = f"encoder.block.{i}"
        h = rms_norm(e, W[p + ".layer.0.layer_norm.weight"], eps)
        e = e + attn(h, h, p + ".layer.0.SelfAttention", eb, False)
        e = e + mlp(rms_norm(e, W[p + ".layer.1.layer_norm.weight"], eps), p + ".layer.1.DenseReluDense")
    e = rms_norm(e, W["encoder.final_layer_norm.weight"], eps)
    d = shared[np.asarray(dec_ids)]
    S = d.shape[0]
    db = rel_bias(W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], S, S, False)
    causal = np.triu(np.full((S, S), -np.inf, dtype=np.float32), 1)
    for i in range(dims["num_decoder_layers"]):
        p = f"decoder.block.{i}"
        h = rms_norm(d, W[p + ".layer.0.layer_norm.weight"], eps)
        d = d + attn(h, h, p + ".layer.0.SelfAttention", db + causal[None], False)
        h = rms_norm(d, W[p + ".layer.1.layer_norm.weight"], eps)
        d = d + attn(h, e, p + ".layer.1.EncDecAttention", None, False)
        d = d + mlp(rms_norm(d, W[p + ".layer.2.layer_norm.weight"], eps), p + ".layer.2.DenseReluDense")
    d = rms_norm(d, W["decoder.final_layer_norm.weight"], eps)
    if "lm_head.weight" not in W:
        d = d * np.float32(H ** -0.5)   # T5: tied head sees the decoder output scaled by hidden^-0.5
    return linear(d, W.get("lm_head.weight", shared), W.get("lm_head.bias"))
