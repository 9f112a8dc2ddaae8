/* torchscript emitter — the TorchScript source of the archive.
 *
 * torch.jit.load compiles this text (torch/csrc/jit/serialization/import_source.cpp), so it is
 * the dialect torch itself writes into archives: classes `class X(Module):` declaring
 * `__parameters__`, `__buffers__` and every attribute with its type (submodules by qualified
 * class name, numbered children of a container through `__annotations__["0"]`), methods with a
 * typed `self`, calls to `torch.*` (aten) operators, `ops.prim.RaiseException`, and dtypes as
 * their ScalarType numbers (6 float32, 7 float64); there is no `math` module and no Python
 * exception classes. Constants the PyTorch package computes in Python floats (norm eps,
 * attention scale, RoPE and ALiBi parameters, T5 bucket logarithms) are computed here with the
 * same double-precision libm calls and written as exact literals, so the archive computes the
 * same numbers as the package.
 *
 * Every forward mirrors the package's (plugins/emitters/pytorch/py/) operation for operation on
 * its torch 1.13 path, which is what docs/templates.md defines for every backend. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_emit.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- text helpers ------------------------------------------------------------------------------------- */

/* The shortest decimal that reads back as exactly v, spelled as Python's repr() spells floats:
 * fixed notation for exponents -4 .. 15 ("10000.0", "0.125"), else "1e-05". */
const char *ts_float(double v, char buf[40]) {
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, 40, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, 40, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(buf, 40, "%.*f", decimals > 1 ? decimals : 1, v);
    } else {
        snprintf(buf, 40, "%.*g", prec, v);
    }
    return buf;
}

/* ---- features --------------------------------------------------------------------------------------- */

typedef struct gen {
    const ts_facts *f;
    const llmc_spec *s;
    bool rope, alibi, sliding, learned, sinusoidal, relative, has_norm, grouped;
    const char *bias_type;   /* attention bias parameter type in layer signatures */
    char rp[40], ra[16];     /* ", cos: Tensor, sin: Tensor" / ", cos, sin" with RoPE, else "" */
} gen;

/* "self.<name>.forward(x)" when the norm module exists, else x (no_norm: identity) */
static const char *normed(const gen *g, char *buf, size_t n, const char *name, const char *x) {
    if (!g->has_norm) snprintf(buf, n, "%s", x);
    else snprintf(buf, n, "self.%s.forward(%s)", name, x);
    return buf;
}

static void def(llmc_strbuf *b, const char *cls, bool root, const char *method, const char *params, const char *ret) {
    llmc_strbuf_printf(b, "  def %s(self: %s%s%s%s) -> %s:\n", method, root ? "__torch__." : TS_NS ".", cls, *params ? ", " : "",
           params, ret);
}

/* ---- helper functions (module level in llmc.py) ----------------------------------------------------- */

static void fn_attend(llmc_strbuf *b, const gen *g) {
    char x[40];
    llmc_strbuf_printf(b, "def attend(q: Tensor, k: Tensor, v: Tensor, bias: Optional[Tensor]) -> Tensor:\n"
              "  # softmax(q k^T * scale + bias) v for q [B, heads, S, head_dim] and k, v [B, kv_heads, T, head_dim];\n"
              "  # bias is additive (-inf hides a key), broadcast to [B, heads, S, T]\n");
    if (g->grouped)
        llmc_strbuf_printf(b, "  if k.size(1) != q.size(1):\n"
                  "    # grouped-query attention: query head h reads key/value head h // (heads // kv_heads)\n"
                  "    rep = q.size(1) // k.size(1)\n"
                  "    k = k.repeat_interleave(rep, dim=1)\n"
                  "    v = v.repeat_interleave(rep, dim=1)\n");
    llmc_strbuf_printf(b, "  scores = torch.matmul(q, k.transpose(-1, -2)) * %s\n", ts_float(g->f->scale, x));
    llmc_strbuf_printf(b, "  if bias is not None:\n"
              "    scores = scores + bias\n"
              "  probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)\n"
              "  return torch.matmul(probs, v)\n");
}

static void fn_activation(llmc_strbuf *b, const gen *g) {
    switch (g->s->activation) {
    case LLMC_ACT_SWIGLU:
        llmc_strbuf_printf(b, "def activation(gate: Tensor, up: Tensor) -> Tensor:\n  # SwiGLU\n  return torch.silu(gate) * up\n");
        break;
    case LLMC_ACT_GEGLU:
        llmc_strbuf_printf(b, "def activation(gate: Tensor, up: Tensor) -> Tensor:\n  # GeGLU, tanh approximation of GELU\n"
                  "  return torch.gelu(gate, approximate=\"tanh\") * up\n");
        break;
    case LLMC_ACT_GELU:
        llmc_strbuf_printf(b, "def activation(x: Tensor) -> Tensor:\n  # GELU, exact (erf) form\n  return torch.gelu(x)\n");
        break;
    case LLMC_ACT_GELU_TANH:
        llmc_strbuf_printf(b, "def activation(x: Tensor) -> Tensor:\n  # GELU, tanh approximation\n"
                  "  return torch.gelu(x, approximate=\"tanh\")\n");
        break;
    case LLMC_ACT_RELU:
        llmc_strbuf_printf(b, "def activation(x: Tensor) -> Tensor:\n  return torch.relu(x)\n");
        break;
    case LLMC_ACT_SILU:
        llmc_strbuf_printf(b, "def activation(x: Tensor) -> Tensor:\n  return torch.silu(x)\n");
        break;
    case LLMC_ACT_RELU_SQUARED:
        llmc_strbuf_printf(b, "def activation(x: Tensor) -> Tensor:\n  # squared ReLU\n  return torch.square(torch.relu(x))\n");
        break;
    default:
        b->oom = true; /* unreachable: the spec loader knows no other activation */
    }
}

/* RoPE: inverse frequencies as transformers computes them (float64, rounded to float32), then
 * the cos/sin tables [S, head_dim] of rotate-half RoPE. */
static void fn_rope(llmc_strbuf *b, const gen *g) {
    const llmc_rope_params *r = &g->s->rope;
    int64_t d = g->f->d;
    char x[40], y[40], z[40];
    double scale = 1.0;
    llmc_strbuf_printf(b, "def rotate_half(x: Tensor) -> Tensor:\n"
              "  half = x.size(-1) // 2\n"
              "  return torch.cat([-x[..., half:], x[..., :half]], -1)\n"
              "def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:\n"
              "  # rotate channel pairs (i, i + head_dim/2) of x [B, heads, S, head_dim] by the position angles\n"
              "  return x * cos + __torch__.llmc.rotate_half(x) * sin\n");
    llmc_strbuf_printf(b, "def rope_cos_sin(positions: Tensor, dtype: int) -> Tuple[Tensor, Tensor]:\n"
              "  # rotary embedding, scaling: %s\n", llmc_rope_scaling_name(r->scaling));
    if (r->scaling == LLMC_ROPE_SCALING_DYNAMIC) {
        /* dynamic NTK: beyond the original context the base grows with the sequence length */
        llmc_strbuf_printf(b, "  seq_len = max(positions.size(0), %lld)\n", (long long)r->original_context_length);
        char e[40];
        llmc_strbuf_printf(b, "  base = %s * ((%s * seq_len / %lld) - (%s - 1)) ** %s\n", ts_float(r->theta, x),
               ts_float(r->factor, y), (long long)r->original_context_length, ts_float(r->factor, z),
               ts_float((double)d / (double)(d - 2), e));
    } else {
        llmc_strbuf_printf(b, "  base = %s\n", ts_float(r->theta, x));
    }
    llmc_strbuf_printf(b, "  inv_freq = 1.0 / torch.pow(base, torch.arange(0, %lld, 2, dtype=7, device=positions.device) / %lld)\n",
           (long long)d, (long long)d);
    if (r->scaling == LLMC_ROPE_SCALING_LINEAR) {
        llmc_strbuf_printf(b, "  inv_freq = inv_freq / %s\n", ts_float(r->factor, x));
    } else if (r->scaling == LLMC_ROPE_SCALING_YARN) {
        /* dimensions turning fewer than beta_slow times over the original context are
         * interpolated, more than beta_fast kept, a linear ramp in between (transformers'
         * _compute_yarn_parameters; the bounds are Python floats there, doubles here) */
        double orig = (double)r->original_context_length, base = r->theta;
        double cf = (double)d * log(orig / (r->beta_fast * 2 * M_PI)) / (2 * log(base));
        double cs = (double)d * log(orig / (r->beta_slow * 2 * M_PI)) / (2 * log(base));
        double low = floor(cf), high = ceil(cs);
        if (low < 0) low = 0;
        if (high > (double)(d - 1)) high = (double)(d - 1);
        char span[40];
        if (low == high) ts_float(high + 0.001 - low, span); /* avoid a zero-width ramp */
        else snprintf(span, sizeof span, "%lld", (long long)(high - low));
        llmc_strbuf_printf(b, "  ramp = ((torch.arange(%lld, dtype=7, device=positions.device) - %lld) / %s).clamp(0, 1)\n",
               (long long)(d / 2), (long long)low, span);
        llmc_strbuf_printf(b, "  keep = 1 - ramp\n"
                  "  inv_freq = inv_freq / %s * (1 - keep) + inv_freq * keep\n",
               ts_float(r->factor, x));
        if (r->factor > 1) scale = 0.1 * log(r->factor) + 1.0;
    } else if (r->scaling == LLMC_ROPE_SCALING_LLAMA3) {
        double orig = (double)r->original_context_length;
        char lo[40], hi[40];
        ts_float(orig / r->low_freq_factor, lo);
        ts_float(orig / r->high_freq_factor, hi);
        llmc_strbuf_printf(b, "  wavelen = %s / inv_freq\n", ts_float(2 * M_PI, x));
        llmc_strbuf_printf(b, "  scaled = torch.where(wavelen > %s, inv_freq / %s, inv_freq)\n", lo, ts_float(r->factor, x));
        llmc_strbuf_printf(b, "  smooth = (%lld / wavelen - %s) / %s\n", (long long)r->original_context_length,
               ts_float(r->low_freq_factor, x), ts_float(r->high_freq_factor - r->low_freq_factor, y));
        llmc_strbuf_printf(b, "  medium = (wavelen >= %s) & (wavelen <= %s)\n", hi, lo);
        llmc_strbuf_printf(b, "  inv_freq = torch.where(medium, (1 - smooth) * inv_freq / %s + smooth * inv_freq, scaled)\n",
               ts_float(r->factor, x));
    }
    llmc_strbuf_printf(b, "  angles = positions.float().unsqueeze(1) * inv_freq.float().unsqueeze(0)\n"
              "  emb = torch.cat([angles, angles], -1)\n");
    if (scale != 1.0) {
        ts_float(scale, x);
        llmc_strbuf_printf(b, "  return (emb.cos() * %s).to(dtype), (emb.sin() * %s).to(dtype)\n", x, x);
    } else {
        llmc_strbuf_printf(b, "  return emb.cos().to(dtype), emb.sin().to(dtype)\n");
    }
}

static void fn_sinusoidal(llmc_strbuf *b, const gen *g) {
    char x[40];
    int64_t H = g->f->H;
    llmc_strbuf_printf(b, "def sinusoidal_positions(positions: Tensor) -> Tensor:\n"
              "  # [S, hidden]: sin(p * 10000^(-2i/hidden)) in the first half, cos in the second; float64, then float32\n");
    llmc_strbuf_printf(b, "  freq = torch.exp(torch.arange(%lld, dtype=7, device=positions.device) * %s)\n", (long long)(H / 2),
           ts_float(-2.0 * log(10000.0) / (double)H, x));
    llmc_strbuf_printf(b, "  angles = positions.to(7).unsqueeze(1) * freq.unsqueeze(0)\n"
              "  return torch.cat([angles.sin(), angles.cos()], -1).float()\n");
}

/* ALiBi slopes, as the package computes them in Python floats (BLOOM / MPT interpolation for a
 * head count that is not a power of two). */
static void alibi_slopes(llmc_strbuf *b, const gen *g) {
    int64_t n = g->f->n, p = 1;
    while (p * 2 <= n) p *= 2;
    double mb = g->s->alibi_max_bias;
    char x[40];
    llmc_strbuf_printf(b, "[");
    for (int64_t i = 0; i < p; i++) llmc_strbuf_printf(b, "%s%s", i ? ", " : "", ts_float(pow(2.0, -mb * (double)(i + 1) / (double)p), x));
    for (int64_t k = 1; k < 2 * (n - p); k += 2)
        llmc_strbuf_printf(b, ", %s", ts_float(pow(2.0, -mb * (double)k / (double)(2 * p)), x));
    llmc_strbuf_printf(b, "]");
}

static void fn_causal_bias(llmc_strbuf *b, const gen *g) {
    llmc_strbuf_printf(b, "def causal_bias(S: int, dtype: int, device: Device) -> Tensor:\n");
    if (g->sliding)
        llmc_strbuf_printf(b, "  # key j is visible from query i when i - %lld < j <= i\n", (long long)g->s->sliding_window);
    else
        llmc_strbuf_printf(b, "  # key j is visible from query i when j <= i\n");
    llmc_strbuf_printf(b, "  i = torch.arange(S, device=device).unsqueeze(1)\n"
              "  j = torch.arange(S, device=device).unsqueeze(0)\n");
    if (g->sliding)
        llmc_strbuf_printf(b, "  visible = (j <= i) & (j > i - %lld)\n", (long long)g->s->sliding_window);
    else
        llmc_strbuf_printf(b, "  visible = j <= i\n");
    llmc_strbuf_printf(b, "  bias = torch.zeros([S, S], dtype=6, device=device).masked_fill(~visible, float(\"-inf\"))\n");
    if (g->alibi) {
        llmc_strbuf_printf(b, "  # ALiBi: head h adds -slope_h * (i - j) to the score of key j\n  slopes = torch.tensor(");
        alibi_slopes(b, g);
        llmc_strbuf_printf(b, ", dtype=6, device=device)\n"
                  "  bias = bias + slopes.unsqueeze(1).unsqueeze(2) * (j - i).float()\n");
    }
    llmc_strbuf_printf(b, "  return bias.to(dtype)\n");
}

/* T5's relative position buckets (transformers' _relative_position_bucket), specialised for
 * the two directions with the bucket counts and logarithms written out. */
static void fn_relative(llmc_strbuf *b, const gen *g) {
    int64_t nb = g->s->relative_num_buckets, md = g->s->relative_max_distance;
    char x[40];
    llmc_strbuf_printf(b, "def relative_position_bucket(relative_position: Tensor, bidirectional: bool) -> Tensor:\n"
              "  # exact buckets for small distances, then log-spaced ones up to max_distance %lld; bidirectional\n"
              "  # stacks give each direction half the buckets, causal ones map every later key to bucket 0\n"
              "  if bidirectional:\n",
           (long long)md);
    for (int dir = 0; dir < 2; dir++) {
        int64_t n = dir == 0 ? nb / 2 : nb, me = n / 2;
        const char *in = dir == 0 ? "    " : "  ";
        if (dir == 0)
            llmc_strbuf_printf(b, "%sbuckets = (relative_position > 0).long() * %lld\n%sdistance = relative_position.abs()\n", in,
                   (long long)n, in);
        else
            llmc_strbuf_printf(b, "%sbuckets = torch.zeros_like(relative_position)\n"
                      "%sdistance = -torch.clamp(relative_position, max=0)\n", in, in);
        llmc_strbuf_printf(b, "%slarge = %lld + (torch.log(distance.float().clamp(min=1) / %lld) / %s * %lld).long()\n", in,
               (long long)me, (long long)me, ts_float(log((double)md / (double)me), x), (long long)(n - me));
        llmc_strbuf_printf(b, "%slarge = torch.clamp(large, max=%lld)\n", in, (long long)(n - 1));
        llmc_strbuf_printf(b, "%sreturn buckets + torch.where(distance < %lld, distance, large)\n", in, (long long)me);
    }
    llmc_strbuf_printf(b, "def relative_bias(table: Tensor, S: int, bidirectional: bool, dtype: int) -> Tensor:\n"
              "  # [heads, S, S] from the stack's bucket table [buckets, heads]; causal stacks also hide later keys\n"
              "  i = torch.arange(S, device=table.device).unsqueeze(1)\n"
              "  j = torch.arange(S, device=table.device).unsqueeze(0)\n"
              "  buckets = __torch__.llmc.relative_position_bucket(j - i, bidirectional)\n"
              "  bias = torch.embedding(table, buckets).permute([2, 0, 1]).float()\n"
              "  if not bidirectional:\n"
              "    bias = bias.masked_fill(j > i, float(\"-inf\"))\n"
              "  return bias.to(dtype)\n");
}

/* ---- class methods ------------------------------------------------------------------------------------ */

static void m_leaf(llmc_strbuf *b, const gen *g, const char *cls) {
    char x[40];
    if (!strcmp(cls, "Embedding")) {
        def(b, cls, false, "forward", "input: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    return torch.embedding(self.weight, input)\n");
    } else if (!strcmp(cls, "Linear")) {
        def(b, cls, false, "forward", "x: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    return torch.linear(x, self.weight, self.bias)\n");
    } else if (!strcmp(cls, "LinearNoBias")) {
        def(b, cls, false, "forward", "x: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    return torch.linear(x, self.weight)\n");
    } else if (!strcmp(cls, "RMSNorm")) {
        def(b, cls, false, "forward", "x: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    # weight * x / sqrt(mean(x^2) + eps), in float32\n"
                  "    dtype = x.dtype\n"
                  "    y = x.float()\n"
                  "    y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + %s)\n"
                  "    return self.weight * y.to(dtype)\n",
               ts_float(g->s->norm_eps, x));
    } else if (!strcmp(cls, "LayerNorm") || !strcmp(cls, "LayerNormNoBias")) {
        def(b, cls, false, "forward", "x: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    # (x - mean) / sqrt(var + eps) * weight%s, in float32\n"
                  "    return torch.layer_norm(x.float(), [x.size(-1)], self.weight.float(), %s, %s).to(x.dtype)\n",
               strcmp(cls, "LayerNorm") ? "" : " + bias", strcmp(cls, "LayerNorm") ? "None" : "self.bias.float()",
               ts_float(g->s->norm_eps, x));
    }
    /* HeadBias: a parameter holder, no method */
}

/* projections of one attention: q/k/v/o names */
typedef struct proj_names {
    const char *q, *k, *v, *o;
} proj_names;

static void attention_body(llmc_strbuf *b, const gen *g, const proj_names *pn, bool rope) {
    const ts_facts *f = g->f;
    llmc_strbuf_printf(b, "    B = x.size(0)\n    S = x.size(1)\n");
    llmc_strbuf_printf(b, "    q = self.%s.forward(x).view([B, S, %lld, %lld]).transpose(1, 2)\n", pn->q, (long long)f->n,
           (long long)f->d);
    llmc_strbuf_printf(b, "    k = self.%s.forward(x).view([B, S, %lld, %lld]).transpose(1, 2)\n", pn->k, (long long)f->m,
           (long long)f->d);
    llmc_strbuf_printf(b, "    v = self.%s.forward(x).view([B, S, %lld, %lld]).transpose(1, 2)\n", pn->v, (long long)f->m,
           (long long)f->d);
    if (rope)
        llmc_strbuf_printf(b, "    q = __torch__.llmc.apply_rope(q, cos, sin)\n"
                  "    k = __torch__.llmc.apply_rope(k, cos, sin)\n");
    llmc_strbuf_printf(b, "    y = __torch__.llmc.attend(q, k, v, bias)\n"
              "    return self.%s.forward(y.transpose(1, 2).reshape([B, S, -1]))\n",
           pn->o);
}

static void m_attention(llmc_strbuf *b, const gen *g, const char *cls) {
    const ts_facts *f = g->f;
    char params[96];
    /* T5's (decoder-only models are generated from the IR: ts_generic.c) */
    snprintf(params, sizeof params, "x: Tensor, bias: Optional[Tensor]%s", g->rp);
    def(b, cls, false, "forward", params, "Tensor");
    proj_names pn = {"q", "k", "v", "o"};
    attention_body(b, g, &pn, g->rope);
    /* cross-attention: keys and values from the encoder output, no mask, no position bias */
    def(b, cls, false, "cross", "x: Tensor, memory: Tensor", "Tensor");
    llmc_strbuf_printf(b, "    B = x.size(0)\n    S = x.size(1)\n    T = memory.size(1)\n");
    llmc_strbuf_printf(b, "    q = self.q.forward(x).view([B, S, %lld, %lld]).transpose(1, 2)\n", (long long)f->n, (long long)f->d);
    llmc_strbuf_printf(b, "    k = self.k.forward(memory).view([B, T, %lld, %lld]).transpose(1, 2)\n", (long long)f->m,
           (long long)f->d);
    llmc_strbuf_printf(b, "    v = self.v.forward(memory).view([B, T, %lld, %lld]).transpose(1, 2)\n", (long long)f->m,
           (long long)f->d);
    llmc_strbuf_printf(b, "    y = __torch__.llmc.attend(q, k, v, None)\n"
              "    return self.o.forward(y.transpose(1, 2).reshape([B, S, -1]))\n");
}

static void m_dense(llmc_strbuf *b, const gen *g, const char *cls) {
    def(b, cls, false, "forward", "x: Tensor", "Tensor");
    if (llmc_activation_is_gated(g->s->activation))
        llmc_strbuf_printf(b, "    return self.wo.forward(__torch__.llmc.activation(self.wi_0.forward(x), self.wi_1.forward(x)))\n");
    else
        llmc_strbuf_printf(b, "    return self.wo.forward(__torch__.llmc.activation(self.wi.forward(x)))\n");
}

static void learned_positions(llmc_strbuf *b, const gen *g, const char *table) {
    llmc_strbuf_printf(b, "    if S > %lld:\n"
              "      ops.prim.RaiseException(\"sequence of \" + str(S) + \" tokens is longer than the learned position "
              "table (context_length %lld)\")\n"
              "    h = h + self.%s.forward(positions)\n",
           (long long)g->f->P, (long long)g->f->P, table);
}

static void head_logits(llmc_strbuf *b, const gen *g, const char *embedding) {
    if (!g->s->tie_word_embeddings) {
        llmc_strbuf_printf(b, "    return self.lm_head.forward(h)\n");
        return;
    }
    llmc_strbuf_printf(b, "    logits = torch.linear(h, %s)  # tied head: the embedding matrix\n", embedding);
    if (g->s->bias.lm_head) llmc_strbuf_printf(b, "    logits = logits + self.lm_head.bias\n");
    llmc_strbuf_printf(b, "    return logits\n");
}

static void m_seq2seq(llmc_strbuf *b, const gen *g) {
    char x[40];
    def(b, "Seq2SeqLM", true, "forward", "input_ids: Tensor, decoder_input_ids: Tensor", "Tensor");
    llmc_strbuf_printf(b, "    # logits [batch, target_seq, vocab] for input_ids [batch, seq], decoder_input_ids [batch, target_seq]\n"
              "    memory = self.encoder.forward(self.shared.forward(input_ids))\n"
              "    h = self.decoder.forward(self.shared.forward(decoder_input_ids), memory)\n");
    if (g->f->has_out_scale)
        llmc_strbuf_printf(b, "    h = h * %s  # T5 with a tied head: hidden_size^-0.5 before the head\n",
               ts_float(g->f->out_scale, x));
    head_logits(b, g, "self.shared.weight");
}

static void m_stack(llmc_strbuf *b, const gen *g, const char *cls, bool decoder) {
    const ts_facts *f = g->f;
    def(b, cls, false, "forward", decoder ? "h: Tensor, memory: Tensor" : "h: Tensor", "Tensor");
    llmc_strbuf_printf(b, "    # h: token embeddings [B, S, hidden]%s\n"
              "    S = h.size(1)\n",
           decoder ? "; memory: the encoder output" : "");
    if (g->learned || g->sinusoidal || g->rope) llmc_strbuf_printf(b, "    positions = torch.arange(S, device=h.device)\n");
    if (g->learned) learned_positions(b, g, "embed_positions");
    if (g->sinusoidal) llmc_strbuf_printf(b, "    h = h + __torch__.llmc.sinusoidal_positions(positions).to(h.dtype)\n");
    if (g->rope) llmc_strbuf_printf(b, "    cos, sin = __torch__.llmc.rope_cos_sin(positions, h.dtype)\n");
    const char *bias = "bias";
    if (g->relative)
        llmc_strbuf_printf(b, "    # the bucket table lives in the first block and serves every layer of the stack\n"
                  "    table = getattr(getattr(self.block, \"0\").layer, \"0\").SelfAttention.relative_attention_bias.weight\n"
                  "    bias = __torch__.llmc.relative_bias(table, S, %s, h.dtype)\n",
               decoder ? "False" : "True");
    else if (decoder)
        llmc_strbuf_printf(b, "    bias = __torch__.llmc.causal_bias(S, h.dtype, h.device)\n");
    else
        bias = "None"; /* the encoder sees every position */
    llmc_strbuf_printf(b, "    block = self.block\n");
    int64_t n = decoder ? f->D : f->E;
    for (int64_t i = 0; i < n; i++)
        llmc_strbuf_printf(b, "    h = getattr(block, \"%lld\").forward(h, %s%s%s)\n", (long long)i, bias, g->ra,
               decoder ? ", memory" : "");
    char n1[64];
    llmc_strbuf_printf(b, "    return %s\n", normed(g, n1, sizeof n1, "final_layer_norm", "h"));
}

static void m_block(llmc_strbuf *b, const gen *g, const char *cls, bool decoder) {
    char params[128];
    snprintf(params, sizeof params, "h: Tensor, bias: Optional[Tensor]%s%s", g->rp, decoder ? ", memory: Tensor" : "");
    def(b, cls, false, "forward", params, "Tensor");
    llmc_strbuf_printf(b, "    layer = self.layer\n"
              "    h = getattr(layer, \"0\").forward(h, bias%s)\n",
           g->ra);
    if (decoder)
        llmc_strbuf_printf(b, "    h = getattr(layer, \"1\").forward(h, memory)\n"
                  "    return getattr(layer, \"2\").forward(h)\n");
    else
        llmc_strbuf_printf(b, "    return getattr(layer, \"1\").forward(h)\n");
}

static void m_sublayer(llmc_strbuf *b, const gen *g, const char *cls) {
    char params[96], n1[64];
    if (!strcmp(cls, "SelfAttentionLayer") || !strcmp(cls, "FirstSelfAttentionLayer")) {
        snprintf(params, sizeof params, "h: Tensor, bias: Optional[Tensor]%s", g->rp);
        def(b, cls, false, "forward", params, "Tensor");
        llmc_strbuf_printf(b, "    return h + self.SelfAttention.forward(%s, bias%s)\n", normed(g, n1, sizeof n1, "layer_norm", "h"),
               g->ra);
    } else if (!strcmp(cls, "CrossAttentionLayer")) {
        def(b, cls, false, "forward", "h: Tensor, memory: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    return h + self.EncDecAttention.cross(%s, memory)\n", normed(g, n1, sizeof n1, "layer_norm", "h"));
    } else {
        def(b, cls, false, "forward", "h: Tensor", "Tensor");
        llmc_strbuf_printf(b, "    return h + self.DenseReluDense.forward(%s)\n", normed(g, n1, sizeof n1, "layer_norm", "h"));
    }
}

/* ---- classes from the tree ---------------------------------------------------------------------------- */

typedef struct cls_entry {
    const char *name;
    const ts_node *first; /* the first instance: its attributes are the class's */
} cls_entry;

typedef struct cls_list {
    cls_entry *e;
    size_t n, cap;
    int errors;
    bool oom;
} cls_list;

static bool is_index(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* Two instances of a class must have the same attributes of the same classes. */
static bool same_shape(const ts_node *a, const ts_node *b) {
    if (a->n_params != b->n_params || a->n_kids != b->n_kids) return false;
    for (int i = 0; i < a->n_params; i++)
        if (strcmp(a->params[i].attr, b->params[i].attr)) return false;
    for (size_t i = 0; i < a->n_kids; i++)
        if (strcmp(a->kids[i]->attr, b->kids[i]->attr) || strcmp(a->kids[i]->cls, b->kids[i]->cls)) return false;
    return true;
}

static void collect(cls_list *l, const ts_node *n, llmc_diags *d) {
    size_t i;
    for (i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].name, n->cls)) break;
    if (i < l->n) {
        if (!same_shape(l->e[i].first, n)) {
            llmc_error(d, "emit", "torchscript: internal: two modules of class %s have different attributes", n->cls);
            l->errors++;
        }
    } else {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 32;
            cls_entry *e = realloc(l->e, cap * sizeof *e);
            if (!e) {
                l->oom = true;
                return;
            }
            l->e = e;
            l->cap = cap;
        }
        l->e[l->n++] = (cls_entry){n->cls, n};
    }
    for (size_t k = 0; k < n->n_kids; k++) collect(l, n->kids[k], d);
}

static void declare(llmc_strbuf *b, const ts_node *n) {
    llmc_strbuf_printf(b, "class %s(Module):\n  __parameters__ = [", n->cls);
    for (int i = 0; i < n->n_params; i++) llmc_strbuf_printf(b, "\"%s\", ", n->params[i].attr);
    llmc_strbuf_printf(b, "]\n  __buffers__ = []\n");
    for (int i = 0; i < n->n_params; i++) llmc_strbuf_printf(b, "  %s : Tensor\n", n->params[i].attr);
    llmc_strbuf_printf(b, "  training : bool\n");
    for (size_t i = 0; i < n->n_kids; i++) {
        const ts_node *k = n->kids[i];
        if (is_index(k->attr)) llmc_strbuf_printf(b, "  __annotations__[\"%s\"] = " TS_NS ".%s\n", k->attr, k->cls);
        else llmc_strbuf_printf(b, "  %s : " TS_NS ".%s\n", k->attr, k->cls);
    }
}

static void methods(llmc_strbuf *b, const gen *g, const ts_node *n, bool root, llmc_diags *d) {
    const char *c = n->cls;
    if (g->f->generic) {
        /* the root computes everything; the other modules only hold parameters */
        if (root) {
            (void)ts_generic_forward(b, g->f, g->rope, d); /* its errors fail ts_code */
        } else if (n->n_kids && is_index(n->kids[0]->attr)) {
            def(b, c, false, "__len__", "", "int");
            llmc_strbuf_printf(b, "    return %zu\n", n->n_kids);
        }
        return;
    }
    if (root) {
        m_seq2seq(b, g); /* decoder-only roots are the generic code's */
    } else if (n->n_kids && is_index(n->kids[0]->attr)) {
        def(b, c, false, "__len__", "", "int"); /* a container: numbered children */
        llmc_strbuf_printf(b, "    return %zu\n", n->n_kids);
    } else if (!strcmp(c, "Attention") || !strcmp(c, "RelativeAttention")) {
        m_attention(b, g, c);
    } else if (!strcmp(c, "DenseReluDense")) {
        m_dense(b, g, c);
    } else if (!strcmp(c, "EncoderStack") || !strcmp(c, "DecoderStack")) {
        m_stack(b, g, c, c[0] == 'D');
    } else if (!strcmp(c, "EncoderBlock") || !strcmp(c, "FirstEncoderBlock")) {
        m_block(b, g, c, false);
    } else if (!strcmp(c, "DecoderBlock") || !strcmp(c, "FirstDecoderBlock")) {
        m_block(b, g, c, true);
    } else if (strstr(c, "Layer") && (strstr(c, "Attention") || strstr(c, "FeedForward"))) {
        m_sublayer(b, g, c);
    } else {
        m_leaf(b, g, c);
    }
}

/* ---- the archive version --------------------------------------------------------------------------------- */

/* torch 1.13 writes the file-format version dynamically: 3, raised to the version at which an
 * operator the code calls changed meaning, so that an older reader applies its upgrader
 * (caffe2/serialize/versions.h, torch/csrc/jit/operator_upgraders/version_map.cpp): aten::div 4,
 * aten::full 5, aten::linspace 8, aten::logspace 9, aten::gelu 10. Comments and string literals
 * are skipped; true division is always written " / ". */
static unsigned code_version(const char *src) {
    static const struct {
        const char *token;
        unsigned version;
    } bumps[] = {{" / ", 4}, {"torch.div(", 4}, {"torch.full(", 5}, {"torch.linspace(", 8},
                 {"torch.logspace(", 9}, {"torch.gelu(", 10}};
    unsigned v = 3;
    bool in_str = false, in_comment = false;
    for (const char *p = src; *p; p++) {
        if (in_comment) {
            if (*p == '\n') in_comment = false;
            continue;
        }
        if (*p == '"') {
            in_str = !in_str;
            continue;
        }
        if (in_str) {
            if (*p == '\\' && p[1]) p++;
            continue;
        }
        if (*p == '#') {
            in_comment = true;
            continue;
        }
        for (size_t i = 0; i < sizeof bumps / sizeof bumps[0]; i++)
            if (bumps[i].version > v && !strncmp(p, bumps[i].token, strlen(bumps[i].token))) v = bumps[i].version;
    }
    return v;
}

/* ---- entry point ------------------------------------------------------------------------------------------ */

int ts_code(const ts_facts *f, const ts_tree *t, llmc_strbuf *root_src, llmc_strbuf *ns_src, unsigned *version,
            llmc_diags *d) {
    const llmc_spec *s = f->s;
    size_t errors_before = llmc_diags_errors(d);
    gen g;
    memset(&g, 0, sizeof g);
    g.f = f;
    g.s = s;
    g.rope = s->positional == LLMC_POS_ROPE;
    g.alibi = s->positional == LLMC_POS_ALIBI;
    g.learned = s->positional == LLMC_POS_LEARNED;
    g.sinusoidal = s->positional == LLMC_POS_SINUSOIDAL;
    g.relative = s->positional == LLMC_POS_RELATIVE;
    g.sliding = s->attention == LLMC_ATTN_SLIDING_WINDOW && s->sliding_window > 0;
    g.has_norm = s->norm != LLMC_NORM_NONE;
    g.grouped = f->m != f->n;
    if (g.rope) {
        snprintf(g.rp, sizeof g.rp, ", cos: Tensor, sin: Tensor");
        snprintf(g.ra, sizeof g.ra, ", cos, sin");
    }
    if ((g.relative && !f->encdec) || (f->encdec && (g.alibi || g.sliding))) {
        llmc_error(d, "emit", "torchscript: %s has no code in this emitter",
                   g.relative ? "decoder-only relative position bias"
                   : g.alibi  ? "encoder-decoder ALiBi"
                              : "encoder-decoder sliding-window attention");
        return -1;
    }

    cls_list cl = {0};
    collect(&cl, t->root, d);
    if (cl.oom || cl.errors) {
        if (cl.oom) llmc_error(d, "emit", "torchscript: out of memory collecting classes");
        free(cl.e);
        return -1;
    }

    /* the origin is the normalised spec beside the output (OUT/spec.json), not the path the
     * spec was read from: compiling OUT/spec.json again must give the same bytes */
    const char *origin = "spec.json";

    /* llmc.py: helpers first, then every class but the root */
    llmc_strbuf_printf(ns_src, "# Generated by llmc %s from %s: the building blocks of %s.\n"
                   "# TorchScript source, compiled by torch.jit.load; see docs/torchscript.md.\n",
           llmc_version(), origin, f->encdec ? "Seq2SeqLM" : "CausalLM");
    fn_attend(ns_src, &g);
    fn_activation(ns_src, &g);
    if (g.rope) fn_rope(ns_src, &g);
    if (g.sinusoidal) fn_sinusoidal(ns_src, &g);
    if (!f->encdec || !g.relative) fn_causal_bias(ns_src, &g);
    if (g.relative) fn_relative(ns_src, &g);
    if (f->generic) ts_generic_helpers(ns_src, f, g.rope);
    for (size_t i = 1; i < cl.n; i++) {
        declare(ns_src, cl.e[i].first);
        methods(ns_src, &g, cl.e[i].first, false, d);
    }
    /* __torch__.py: the root */
    llmc_strbuf_printf(root_src, "# Generated by llmc %s from %s. TorchScript source, compiled by torch.jit.load.\n",
           llmc_version(), origin);
    declare(root_src, cl.e[0].first);
    methods(root_src, &g, cl.e[0].first, true, d);
    free(cl.e);
    if (llmc_diags_errors(d) > errors_before) return -1;
    if (root_src->oom || ns_src->oom) {
        llmc_error(d, "emit", "torchscript: out of memory writing the model code");
        return -1;
    }
    unsigned v1 = code_version(root_src->s), v2 = code_version(ns_src->s);
    *version = v1 > v2 ? v1 : v2;
    return 0;
}
