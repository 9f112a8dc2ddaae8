"""An independent forward pass: executes OUT/ir.json op by op, in float64, on the parameters
OUT/safetensors holds, with the semantics docs/ir.md states for each op. It shares nothing with
the emitters (it never reads their generated code), so a backend that matches it computes the
graph the template built - the oracle for templates no backend was written for (issue 18).

    logits = ir_reference.forward(out, {"input_ids": ids})          # ids: int array [B, S]
    ir_reference.forward(out, inputs, weights=w, dtype=torch.float32)

The parameters are looked up by their IR names, so OUT must hold them under those names (the
safetensors emitter writes IR names for templates without a Hugging Face layout; for the built-in
templates pass `weights` mapped to IR names yourself)."""
import json
import math
import os

import numpy as np
import torch

import llmc_testlib

SYMBOLS = {"B": "B", "S": "S", "T": "T", -1: "B", -2: "S", -3: "T"}

# The templates no backend was written for (issue 18): the SDK's example and a test template,
# built in the tree (tests/CMakeLists.txt). name -> (plugin folder, a spec for it).
_SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
_BIN = os.environ.get("LLMC_BINARY_DIR", os.path.join(_SRC, "build"))
FOREIGN_TEMPLATES = {
    "parallel_residual": (os.path.join(_BIN, "tests", "plugins", "parallel_residual"),
                          os.path.join(_SRC, "sdk", "examples", "parallel_residual", "gptj-tiny.yaml")),
    "post_norm": (os.path.join(_BIN, "tests", "plugins", "post_norm"),
                  os.path.join(_SRC, "tests", "plugins", "post_norm", "post-norm-tiny.yaml")),
}


def llmc_with_foreign_templates():
    """The llmc command line prefix that loads both foreign templates besides the built-in plugins."""
    cmd = [os.environ.get("LLMC", "llmc")]
    for plugin_dir, _ in FOREIGN_TEMPLATES.values():
        cmd += ["--plugins", plugin_dir]
    return cmd


def load_ir(out):
    with open(os.path.join(out, "ir.json")) as f:
        ir = json.load(f)
    assert ir.get("format_version") == 2, f"{out}/ir.json: format {ir.get('format_version')}, expected 2"
    return ir


def load_weights(out):
    """IR name -> float64 array, from every .safetensors file under OUT/safetensors."""
    folder = os.path.join(out, "safetensors")
    weights = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            w, _ = llmc_testlib.read_safetensors(os.path.join(folder, name))
            weights.update(w)
    return weights


# the HF layout stores expert e of an IR stack "<p>.experts.<gate|up|down>_proj.weight" [E,..]
# as "<p>.experts.<e>.<w1|w3|w2>.weight", or "<p>.experts.<e>.<gate|up|down>_proj.weight" in a graph
# with a shared expert (Qwen2-MoE's names; docs/weights.md)
_EXPERT_FILES = {"expert_gate": "w1", "expert_up": "w3", "expert_down": "w2"}
_EXPERT_FILES_QWEN2_MOE = {"expert_gate": "gate_proj", "expert_up": "up_proj", "expert_down": "down_proj"}


def _stack_experts(weights, t, qwen2_moe_names=False):
    prefix = t["name"][: t["name"].index(".experts.")]
    w = (_EXPERT_FILES_QWEN2_MOE if qwen2_moe_names else _EXPERT_FILES)[t["role"]]
    return np.stack([np.asarray(weights[f"{prefix}.experts.{e}.{w}.weight"]) for e in range(t["shape"][0])])


def _moe_route(logits, a):
    """Each token's k kept weights over the last axis, 0 elsewhere (docs/ir.md "moe_route")."""
    k = int(a["experts_per_token"])
    if a["routing"] == "topk_softmax":
        top, idx = torch.topk(logits, k, dim=-1)
        kept = torch.softmax(top, dim=-1)
    else:
        top, idx = torch.topk(torch.softmax(logits, dim=-1), k, dim=-1)
        kept = top / top.sum(-1, keepdim=True) if int(a["normalize"]) else top
    return torch.zeros_like(logits).scatter(-1, idx, kept)


def _moe_experts(x, weights, gate, up, down):
    """sum over experts with a non-zero weight of weight * down(silu(gate x) * up x)"""
    y = torch.zeros_like(x)
    for e in range(gate.shape[0]):
        we = weights[..., e:e + 1]
        if bool((we != 0).any()):
            h = torch.nn.functional.silu(x @ gate[e].T) * (x @ up[e].T)
            y = y + we * (h @ down[e].T)
    return y


def _attrs(op):
    return op.get("attrs") or {}


def _rope_inv_freq(d, a, seq_len):
    """The d/2 inverse frequencies of a rotated width d under the op's scaling attrs."""
    theta = float(a["theta"])
    kind = a.get("scaling", "none")
    base = theta
    if kind == "dynamic":
        orig, factor = float(a["original_context_length"]), float(a["factor"])
        if seq_len > orig:
            base = theta * ((factor * seq_len / orig) - (factor - 1)) ** (d / (d - 2))
    inv = 1.0 / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    scale = 1.0
    if kind == "linear":
        inv = inv / float(a["factor"])
    elif kind == "yarn":
        factor, orig = float(a["factor"]), float(a["original_context_length"])

        def dim_of(rotations):  # the dim index that turns `rotations` times over orig positions
            return d * math.log(orig / (rotations * 2 * math.pi)) / (2 * math.log(theta))

        lo = max(math.floor(dim_of(float(a["beta_fast"]))), 0)
        hi = min(math.ceil(dim_of(float(a["beta_slow"]))), d - 1)
        if lo == hi:
            hi += 0.001
        extrapolate = 1 - ((torch.arange(d // 2, dtype=torch.float64) - lo) / (hi - lo)).clamp(0, 1)
        inv = inv / factor * (1 - extrapolate) + inv * extrapolate
        scale = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    elif kind == "llama3":
        factor, orig = float(a["factor"]), float(a["original_context_length"])
        lo, hi = float(a["low_freq_factor"]), float(a["high_freq_factor"])
        wavelen = 2 * math.pi / inv
        smooth = (orig / wavelen - lo) / (hi - lo)
        banded = (1 - smooth) * inv / factor + smooth * inv
        inv = torch.where(wavelen > orig / lo, inv / factor, torch.where(wavelen < orig / hi, inv, banded))
    elif kind != "none":
        raise NotImplementedError(f"rope scaling {kind}")
    return inv, scale


def _rope(x, a):
    """x [B,S,n,d]: rotate the first fraction*d channels of each head by position angles."""
    d = x.shape[-1]
    rot = int(round(float(a.get("fraction", 1.0)) * d))
    S = x.shape[1]
    inv, scale = _rope_inv_freq(rot, a, S)
    ang = torch.arange(S, dtype=torch.float64)[:, None] * inv[None, :]       # [S, rot/2]
    cos, sin = (ang.cos() * scale)[None, :, None, :], (ang.sin() * scale)[None, :, None, :]
    xr, rest = x[..., :rot], x[..., rot:]
    if a.get("style", "neox") == "gptj":  # neighbours (2i, 2i+1) form a pair
        x1, x2 = xr[..., 0::2], xr[..., 1::2]
        y = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    else:                                  # channel i pairs with i + rot/2
        x1, x2 = xr[..., : rot // 2], xr[..., rot // 2:]
        y = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return torch.cat([y, rest], dim=-1)


def _alibi_slopes(n, max_bias):
    p = 2 ** int(math.floor(math.log2(n)))
    slopes = [2.0 ** (-max_bias * (i + 1) / p) for i in range(p)]
    slopes += [2.0 ** (-max_bias * k / (2 * p)) for k in range(1, 2 * (n - p), 2)]
    return torch.tensor(slopes, dtype=torch.float64)


def _t5_bucket(rel, num_buckets, max_distance, bidirectional):
    """T5's bucket of relative position rel = key - query: half exact, half log-spaced."""
    bucket = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        bucket += (rel > 0).long() * num_buckets
        n = rel.abs()
    else:
        n = -torch.clamp(rel, max=0)
    exact = num_buckets // 2
    far = exact + (torch.log(n.double().clamp(min=1) / exact) / math.log(max_distance / exact)
                   * (num_buckets - exact)).long()
    far = torch.clamp(far, max=num_buckets - 1)
    return bucket + torch.where(n < exact, n, far)


def _attention(q, k, v, bias, a):
    B, S, n, d = q.shape
    T, m = k.shape[1], k.shape[2]
    group = n // m
    k = k.repeat_interleave(group, dim=2)
    v = v.repeat_interleave(group, dim=2)
    scale = float(a.get("scale", 1.0 / math.sqrt(d)))
    scores = torch.einsum("bsnd,btnd->bnst", q, k) * scale
    cap = float(a.get("softcap", 0))
    if cap > 0:  # Gemma-2: scores soft-capped before the bias and the mask
        scores = cap * torch.tanh(scores / cap)
    if bias is not None:
        scores = scores + bias[None]
    mask = a["mask"]
    if mask != "none":
        i = torch.arange(S)[:, None] + (T - S)  # query i sits at position T - S + i
        j = torch.arange(T)[None, :]
        visible = j <= i
        if mask == "sliding_window":
            visible &= j > i - int(a["window"])
        scores = scores.masked_fill(~visible, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    return torch.einsum("bnst,btnd->bsnd", p, v)


def _activation(x, fn):
    if fn == "gelu":
        return torch.nn.functional.gelu(x)
    if fn == "gelu_tanh":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if fn == "relu":
        return torch.relu(x)
    if fn == "silu":
        return x * torch.sigmoid(x)
    if fn == "relu_squared":
        return torch.relu(x) ** 2
    if fn == "sigmoid":
        return torch.sigmoid(x)
    raise NotImplementedError(f"activation {fn}")


def _sinusoidal(S, dim):
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float64) * (-2.0 * math.log(10000.0) / dim))
    ang = torch.arange(S, dtype=torch.float64)[:, None] * freq[None, :]
    return torch.cat([ang.sin(), ang.cos()], dim=-1)


def forward(out, inputs, weights=None, dtype=torch.float64, ir=None):
    """Run the graph; returns the first graph output (logits) as a numpy array of dtype."""
    ir = ir or load_ir(out)
    weights = load_weights(out) if weights is None else weights
    tensors = {t["name"]: t for t in ir["tensors"]}
    env, sizes = {}, {}
    shared_expert = any(t.get("role") == "shared_expert_scale" for t in ir["tensors"])
    for t in ir["tensors"]:
        if t["kind"] == "input":
            x = np.asarray(inputs[t["name"]])
            for sym, size in zip(t["shape"], x.shape):
                if sym in SYMBOLS:
                    assert sizes.setdefault(SYMBOLS[sym], size) == size, f"{t['name']}: {sym} bound twice"
            env[t["name"]] = torch.from_numpy(x.astype(np.int64))
        elif t["kind"] == "param":
            if t["name"] not in weights and t.get("role") in _EXPERT_FILES:
                weights[t["name"]] = _stack_experts(weights, t, shared_expert)
            assert t["name"] in weights, f"{out}: parameter {t['name']} not in the weights"
            w = torch.from_numpy(np.asarray(weights[t["name"]], dtype=np.float64)).to(dtype)
            assert list(w.shape) == t["shape"], f"{t['name']}: shape {list(w.shape)} vs IR {t['shape']}"
            env[t["name"]] = w

    def dim(x):
        return sizes[SYMBOLS[x]] if x in SYMBOLS else int(x)

    for op in ir["ops"]:
        ins = [env[i] if i is not None else None for i in op["inputs"]]
        a, kind = _attrs(op), op["type"]
        if kind == "embedding":
            y = ins[1][ins[0]]
        elif kind == "linear":
            y = ins[0] @ ins[1].T + (ins[2] if ins[2] is not None else 0)
        elif kind == "rmsnorm":
            # over the last dim: the hidden size, or head_dim for QK-norm's per-head norms of [B,S,n,hd]
            x = ins[0]
            y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + float(a["eps"]))
            # weight_offset 1 (Gemma): the scale is 1 + weight
            y = y * (float(a.get("weight_offset", 0)) + ins[1]) if ins[1] is not None else y
        elif kind == "layernorm":
            x = ins[0]
            mu = x.mean(-1, keepdim=True)
            y = (x - mu) / torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + float(a["eps"]))
            y = y * ins[1] if ins[1] is not None else y
            y = y + ins[2] if len(ins) > 2 and ins[2] is not None else y
        elif kind == "reshape":
            y = ins[0].reshape([dim(s) for s in a["shape"]])
        elif kind == "rope":
            y = _rope(ins[0], a)
        elif kind == "alibi":
            n, S, T = ins[0].shape[2], ins[0].shape[1], ins[1].shape[1]
            i = torch.arange(S)[:, None] + (T - S)
            j = torch.arange(T)[None, :]
            y = _alibi_slopes(n, float(a["max_bias"]))[:, None, None] * (j - i).to(torch.float64)[None]
            y = y.to(dtype)
        elif kind == "relative_bias":
            Q, K = dim(int(a["q_len_sym"])), dim(int(a["k_len_sym"]))
            rel = torch.arange(K)[None, :] - torch.arange(Q)[:, None]
            b = _t5_bucket(rel, int(a["num_buckets"]), int(a["max_distance"]), bool(a["bidirectional"]))
            y = ins[0][b].permute(2, 0, 1)
        elif kind == "attention":
            y = _attention(ins[0], ins[1], ins[2], ins[3] if len(ins) > 3 else None, a)
        elif kind == "swiglu":
            y = _activation(ins[0], "silu") * ins[1]
        elif kind == "geglu":
            y = _activation(ins[0], "gelu_tanh" if int(a["approximate"]) else "gelu") * ins[1]
        elif kind == "activation":
            y = _activation(ins[0], a["fn"])
        elif kind == "add":
            y = ins[0] + ins[1]
        elif kind == "mul":
            y = ins[0] * ins[1]
        elif kind == "scale":
            y = ins[0] * float(a["factor"])
        elif kind == "matmul":
            y = ins[0] @ ins[1]
        elif kind == "softmax":
            y = torch.softmax(ins[0], dim=int(a["axis"]))
        elif kind == "softcap":
            cap = float(a["cap"])
            y = cap * torch.tanh(ins[0] / cap)
        elif kind == "positions_learned":
            S = ins[0].shape[1]
            y = ins[1][:S][None].expand(ins[0].shape[0], S, -1)
        elif kind == "moe_route":
            y = _moe_route(ins[0], a)
        elif kind == "moe_experts":
            y = _moe_experts(*ins)
        elif kind == "positions_sinusoidal":
            B, S = ins[0].shape
            y = _sinusoidal(S, int(a["dim"])).to(dtype)[None].expand(B, S, -1)
        else:
            raise NotImplementedError(f"op type {kind} ('{op['name']}')")
        (name,) = op["outputs"]
        want = tensors[name]["shape"]
        assert list(y.shape) == [dim(s) for s in want], f"{op['name']}: shape {list(y.shape)} vs IR {want}"
        env[name] = y
    return env[ir["outputs"][0]].numpy()
