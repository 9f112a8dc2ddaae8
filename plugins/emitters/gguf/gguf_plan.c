/* The GGUF tensor plan (gguf_arch.h gguf_plan_build): every tensor of the file in llama.cpp's name,
 * type and ggml dim order, as a view over IR parameters (Q/K rows permuted for llama), zeros, or
 * llama3 rope_freqs; each IR parameter used exactly once. Names and conventions from llama.cpp's
 * src/llama-arch.cpp and convert_hf_to_gguf.py (as bundled with node-llama-cpp 3.22.1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_arch.h"

typedef struct builder {
    const llmc_spec *s;
    const llmc_ir *ir;
    gguf_plan *p;
    bool *used;               /* per IR tensor: consumed by a view */
    llmc_diags *d;
    int failed;
    gguf_ttype fmat;          /* matrices (embeddings, projections, head) */
    gguf_ttype ffloat;        /* float tensors that are never quantized (position tables) */
} builder;

static gguf_ttype float_type(llmc_precision p) {
    return p == LLMC_PRECISION_FLOAT16 ? GGUF_TT_F16 : p == LLMC_PRECISION_BFLOAT16 ? GGUF_TT_BF16 : GGUF_TT_F32;
}

static gguf_plan_tensor *add(builder *b, const char *name) {
    gguf_plan *p = b->p;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        gguf_plan_tensor *nt = realloc(p->t, cap * sizeof *nt);
        if (!nt) {
            llmc_error(b->d, "gguf", "out of memory planning the tensors");
            b->failed = 1;
            return NULL;
        }
        p->t = nt;
        p->cap = cap;
    }
    gguf_plan_tensor *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->scale = 1.0f;
    return t;
}

/* A view over 1..4 IR parameters concatenated along dim 0, stored as ggml type `type`. Types:
 * MAT = quantizable matrix, FLOAT = unquantized float at the model precision, F32 = always F32.
 * 1-D tensors (norms, biases) are always F32. */
enum { K_MAT, K_HEAD, K_FLOAT, K_F32 };

static gguf_plan_tensor *add_view(builder *b, const char *gname, int kind, llmc_view_transform tr, int64_t n_head,
                                  const char *const *irnames, int n_parts) {
    if (b->failed) return NULL;
    gguf_plan_tensor *t = add(b, gname);
    if (!t) return NULL;
    llmc_tensor_view *v = &t->view;
    snprintf(v->name, sizeof v->name, "%s", gname);
    v->transform = tr;
    v->n_head = n_head;
    v->n_parts = n_parts;
    for (int i = 0; i < n_parts; i++) {
        llmc_tid id = llmc_ir_find(b->ir, irnames[i]);
        const llmc_tensor_info *ti = id == LLMC_TID_NONE ? NULL : llmc_ir_tensor(b->ir, id);
        if (!ti || ti->kind != LLMC_TENSOR_PARAM) {
            llmc_error(b->d, "gguf", "internal error: the IR has no parameter '%s' (needed for GGUF tensor '%s')",
                       irnames[i], gname);
            b->failed = 1;
            return NULL;
        }
        if (b->used[id]) {
            llmc_error(b->d, "gguf", "internal error: IR parameter '%s' mapped twice", irnames[i]);
            b->failed = 1;
            return NULL;
        }
        b->used[id] = true;
        if (i == 0) {
            v->rank = ti->rank;
            for (int k = 0; k < ti->rank; k++) v->shape[k] = ti->shape[k];
            t->read_dtype = ti->dtype;
        } else {
            bool same = ti->rank == v->rank && ti->dtype == t->read_dtype;
            for (int k = 1; same && k < ti->rank; k++) same = ti->shape[k] == v->shape[k];
            if (!same) {
                llmc_error(b->d, "gguf", "internal error: '%s' cannot be concatenated into '%s'", irnames[i], gname);
                b->failed = 1;
                return NULL;
            }
            v->shape[0] += ti->shape[0];
        }
        v->parts[i] = id;
    }
    if (v->rank < 1 || v->rank > 2) {
        llmc_error(b->d, "gguf", "internal error: GGUF tensor '%s' would have rank %d", gname, v->rank);
        b->failed = 1;
        return NULL;
    }
    t->src = GS_PARAMS;
    t->n_dims = (uint32_t)v->rank;
    t->ne[0] = (uint64_t)v->shape[v->rank - 1];
    if (v->rank == 2) t->ne[1] = (uint64_t)v->shape[0];
    if (v->rank == 1 || kind == K_F32) {
        t->type = GGUF_TT_F32;
    } else if (kind == K_FLOAT) {
        t->type = b->ffloat;
    } else {
        t->quantizable = true;
        gguf_ttype q = b->fmat;
        /* Q4_0 files keep the head at Q8_0, as llama-quantize keeps output.weight at a higher
         * precision (Q6_K there); rows that are not whole blocks stay at the float precision */
        if (kind == K_HEAD && q == GGUF_TT_Q4_0) q = GGUF_TT_Q8_0;
        if (t->ne[0] % gguf_ttype_block(q) != 0) q = b->ffloat;
        t->type = q;
    }
    return t;
}

static gguf_plan_tensor *view1(builder *b, const char *gname, int kind, const char *irname) {
    const char *n[1] = {irname};
    return add_view(b, gname, kind, LLMC_VIEW_IDENTITY, 0, n, 1);
}

static bool has_param(const builder *b, const char *name) {
    llmc_tid id = llmc_ir_find(b->ir, name);
    return id != LLMC_TID_NONE && llmc_ir_tensor(b->ir, id)->kind == LLMC_TENSOR_PARAM;
}

/* the IR parameter if the model has it, else a zero vector of n F32 values */
static void view_or_zeros(builder *b, const char *gname, const char *irname, int64_t n) {
    if (b->failed) return;
    if (has_param(b, irname)) {
        view1(b, gname, K_F32, irname);
        return;
    }
    gguf_plan_tensor *t = add(b, gname);
    if (!t) return;
    t->src = GS_ZEROS;
    t->type = GGUF_TT_F32;
    t->n_dims = 1;
    t->ne[0] = (uint64_t)n;
}

static void opt_view(builder *b, const char *gname, int kind, const char *irname) {
    if (has_param(b, irname)) view1(b, gname, kind, irname);
}

/* a tensor name that does not fit its buffer fails the plan instead of naming the wrong tensor */
#define FMT(buf, ...)                                                                              \
    do {                                                                                           \
        if ((size_t)snprintf(buf, sizeof buf, __VA_ARGS__) >= sizeof buf && !b->failed) {         \
            llmc_error(b->d, "gguf", "internal error: tensor name '%s...' is too long", buf);      \
            b->failed = 1;                                                                         \
        }                                                                                          \
    } while (0)

static void plan_llama_like(builder *b, const llmc_dims *dims, gguf_arch a) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS], nh = dims->v[LLMC_DIM_NUM_HEADS],
                  nkv = dims->v[LLMC_DIM_NUM_KV_HEADS];
    const bool tied = b->s->tie_word_embeddings;
    view1(b, "token_embd.weight", tied ? K_HEAD : K_MAT, "model.embed_tokens.weight");
    if (a == GA_LLAMA && b->s->rope.scaling == LLMC_ROPE_SCALING_LLAMA3) {
        gguf_plan_tensor *t = add(b, "rope_freqs.weight");
        if (t) {
            t->src = GS_ROPE_FREQS;
            t->type = GGUF_TT_F32;
            t->n_dims = 1;
            t->ne[0] = (uint64_t)dims->v[LLMC_DIM_HEAD_DIM] / 2;
        }
    }
    for (int64_t i = 0; i < L && !b->failed; i++) {
        char g[64], n[128];
        const llmc_view_transform tr = a == GA_LLAMA ? LLMC_VIEW_ROPE_PERMUTE : LLMC_VIEW_IDENTITY;
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.input_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "blk.%lld.attn_q.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.q_proj.weight", (long long)i);
        const char *qn[1] = {n};
        add_view(b, g, K_MAT, tr, nh, qn, 1);
        FMT(g, "blk.%lld.attn_k.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.k_proj.weight", (long long)i);
        add_view(b, g, K_MAT, tr, nkv, qn, 1);
        FMT(g, "blk.%lld.attn_v.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.v_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        static const char *const qkv[3] = {"q", "k", "v"};
        for (int j = 0; j < 3; j++) {   /* qwen2 only (llama refuses bias.qkv) */
            FMT(g, "blk.%lld.attn_%s.bias", (long long)i, qkv[j]);
            FMT(n, "model.layers.%lld.self_attn.%s_proj.bias", (long long)i, qkv[j]);
            opt_view(b, g, K_F32, n);
        }
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.attn_output.bias", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.bias", (long long)i);
        opt_view(b, g, K_F32, n);
        FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.post_attention_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        static const char *const mlp[3][2] = {{"gate", "gate_proj"}, {"up", "up_proj"}, {"down", "down_proj"}};
        for (int j = 0; j < 3; j++) {
            FMT(g, "blk.%lld.ffn_%s.weight", (long long)i, mlp[j][0]);
            FMT(n, "model.layers.%lld.mlp.%s.weight", (long long)i, mlp[j][1]);
            view1(b, g, K_MAT, n);
            FMT(g, "blk.%lld.ffn_%s.bias", (long long)i, mlp[j][0]);
            FMT(n, "model.layers.%lld.mlp.%s.bias", (long long)i, mlp[j][1]);
            opt_view(b, g, K_F32, n);
        }
    }
    view1(b, "output_norm.weight", K_F32, "model.norm.weight");
    if (!tied) view1(b, "output.weight", K_HEAD, "lm_head.weight");
    opt_view(b, "output.bias", K_F32, "lm_head.bias");
}

static void plan_gpt2(builder *b, const llmc_dims *dims) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS], H = dims->v[LLMC_DIM_HIDDEN_SIZE],
                  I = dims->v[LLMC_DIM_INTERMEDIATE_SIZE],
                  qkv_rows = (dims->v[LLMC_DIM_NUM_HEADS] + 2 * dims->v[LLMC_DIM_NUM_KV_HEADS]) * dims->v[LLMC_DIM_HEAD_DIM];
    const bool tied = b->s->tie_word_embeddings;
    view1(b, "token_embd.weight", tied ? K_HEAD : K_MAT, "model.embed_tokens.weight");
    view1(b, "position_embd.weight", K_FLOAT, "model.embed_positions.weight");
    for (int64_t i = 0; i < L && !b->failed; i++) {
        char g[64], n[128], n1[128], n2[128];
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.input_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "blk.%lld.attn_norm.bias", (long long)i);
        FMT(n, "model.layers.%lld.input_layernorm.bias", (long long)i);
        view_or_zeros(b, g, n, H);
        /* fused [q; k; v] rows, as llama.cpp's build_qkv splits them */
        FMT(g, "blk.%lld.attn_qkv.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.q_proj.weight", (long long)i);
        FMT(n1, "model.layers.%lld.self_attn.k_proj.weight", (long long)i);
        FMT(n2, "model.layers.%lld.self_attn.v_proj.weight", (long long)i);
        const char *parts[3] = {n, n1, n2};
        add_view(b, g, K_MAT, LLMC_VIEW_IDENTITY, 0, parts, 3);
        FMT(g, "blk.%lld.attn_qkv.bias", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.q_proj.bias", (long long)i);
        FMT(n1, "model.layers.%lld.self_attn.k_proj.bias", (long long)i);
        FMT(n2, "model.layers.%lld.self_attn.v_proj.bias", (long long)i);
        if (has_param(b, n)) add_view(b, g, K_F32, LLMC_VIEW_IDENTITY, 0, parts, 3);
        else view_or_zeros(b, g, n, qkv_rows);
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.attn_output.bias", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.bias", (long long)i);
        view_or_zeros(b, g, n, H);
        FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.post_attention_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "blk.%lld.ffn_norm.bias", (long long)i);
        FMT(n, "model.layers.%lld.post_attention_layernorm.bias", (long long)i);
        view_or_zeros(b, g, n, H);
        FMT(g, "blk.%lld.ffn_up.weight", (long long)i);
        FMT(n, "model.layers.%lld.mlp.up_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.ffn_up.bias", (long long)i);
        FMT(n, "model.layers.%lld.mlp.up_proj.bias", (long long)i);
        view_or_zeros(b, g, n, I);
        FMT(g, "blk.%lld.ffn_down.weight", (long long)i);
        FMT(n, "model.layers.%lld.mlp.down_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.ffn_down.bias", (long long)i);
        FMT(n, "model.layers.%lld.mlp.down_proj.bias", (long long)i);
        view_or_zeros(b, g, n, H);
    }
    view1(b, "output_norm.weight", K_F32, "model.norm.weight");
    view_or_zeros(b, "output_norm.bias", "model.norm.bias", H);
    if (!tied) view1(b, "output.weight", K_HEAD, "lm_head.weight");
}

static void plan_t5_attn(builder *b, const char *gpre, const char *irpre) {
    static const char *const p[4] = {"q", "k", "v", "o"};
    for (int j = 0; j < 4 && !b->failed; j++) {
        char g[64], n[160];
        FMT(g, "%s_%s.weight", gpre, p[j]);
        FMT(n, "%s.%s.weight", irpre, p[j]);
        view1(b, g, K_MAT, n);
    }
}

static void plan_t5_ffn(builder *b, const char *gpre, const char *irpre) {
    char g[64], n[160];
    if (b->s->activation == LLMC_ACT_GEGLU) {
        FMT(g, "%s.ffn_gate.weight", gpre);
        FMT(n, "%s.DenseReluDense.wi_0.weight", irpre);
        view1(b, g, K_MAT, n);
        FMT(g, "%s.ffn_up.weight", gpre);
        FMT(n, "%s.DenseReluDense.wi_1.weight", irpre);
        view1(b, g, K_MAT, n);
    } else {
        FMT(g, "%s.ffn_up.weight", gpre);
        FMT(n, "%s.DenseReluDense.wi.weight", irpre);
        view1(b, g, K_MAT, n);
    }
    FMT(g, "%s.ffn_down.weight", gpre);
    FMT(n, "%s.DenseReluDense.wo.weight", irpre);
    view1(b, g, K_MAT, n);
}

static void plan_t5(builder *b, const llmc_dims *dims) {
    const int64_t E = dims->v[LLMC_DIM_NUM_ENCODER_LAYERS], D = dims->v[LLMC_DIM_NUM_DECODER_LAYERS];
    const bool tied = b->s->tie_word_embeddings;
    view1(b, "token_embd.weight", K_MAT, "shared.weight");
    /* block 0's relative bias table serves every layer of its stack (llama.cpp falls back to
     * layers[0] as HF T5 does); stored [buckets, heads] row-major = ggml {heads, buckets} */
    view1(b, "enc.blk.0.attn_rel_b.weight", K_F32, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    view1(b, "dec.blk.0.attn_rel_b.weight", K_F32, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    for (int64_t i = 0; i < E && !b->failed; i++) {
        char g[64], n[160];
        FMT(g, "enc.blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "encoder.block.%lld.layer.0.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "enc.blk.%lld.attn", (long long)i);
        FMT(n, "encoder.block.%lld.layer.0.SelfAttention", (long long)i);
        plan_t5_attn(b, g, n);
        FMT(g, "enc.blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "encoder.block.%lld.layer.1.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "enc.blk.%lld", (long long)i);
        FMT(n, "encoder.block.%lld.layer.1", (long long)i);
        plan_t5_ffn(b, g, n);
    }
    view1(b, "enc.output_norm.weight", K_F32, "encoder.final_layer_norm.weight");
    for (int64_t i = 0; i < D && !b->failed; i++) {
        char g[64], n[160];
        FMT(g, "dec.blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "decoder.block.%lld.layer.0.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "dec.blk.%lld.attn", (long long)i);
        FMT(n, "decoder.block.%lld.layer.0.SelfAttention", (long long)i);
        plan_t5_attn(b, g, n);
        FMT(g, "dec.blk.%lld.cross_attn_norm.weight", (long long)i);
        FMT(n, "decoder.block.%lld.layer.1.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "dec.blk.%lld.cross_attn", (long long)i);
        FMT(n, "decoder.block.%lld.layer.1.EncDecAttention", (long long)i);
        plan_t5_attn(b, g, n);
        FMT(g, "dec.blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "decoder.block.%lld.layer.2.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "dec.blk.%lld", (long long)i);
        FMT(n, "decoder.block.%lld.layer.2", (long long)i);
        plan_t5_ffn(b, g, n);
    }
    view1(b, "dec.output_norm.weight", K_F32, "decoder.final_layer_norm.weight");
    if (tied) {
        /* HF T5 scales the decoder output by hidden^-0.5 before a tied head; llama.cpp's t5 graph does
         * not, and uses output.weight when present: so the file carries the head pre-scaled. The
         * shared table is already used by token_embd, hence no IR parameter is consumed here. */
        gguf_plan_tensor *t = add(b, "output.weight");
        if (t && !b->failed) {
            const gguf_plan_tensor *emb = &b->p->t[0];
            t->src = GS_PARAMS;
            t->view = emb->view;
            snprintf(t->view.name, sizeof t->view.name, "output.weight");
            t->read_dtype = emb->read_dtype;
            t->n_dims = 2;
            t->ne[0] = emb->ne[0];
            t->ne[1] = emb->ne[1];
            t->scale = (float)(1.0 / sqrt((double)dims->v[LLMC_DIM_HIDDEN_SIZE]));
            gguf_ttype q = b->fmat == GGUF_TT_Q4_0 ? GGUF_TT_Q8_0 : b->fmat;
            t->type = t->ne[0] % gguf_ttype_block(q) ? b->ffloat : q;
        }
    } else {
        view1(b, "output.weight", K_HEAD, "lm_head.weight");
    }
}

/* llama3 factors exactly as convert_hf_to_gguf computes them (float64, stored float32):
 * the rotary frequency of pair k is divided by factors[k] */
static float *llama3_factors(const llmc_spec *s, int64_t hd) {
    const llmc_rope_params *r = &s->rope;
    float *f = malloc((size_t)(hd / 2) * sizeof *f);
    if (!f) return NULL;
    const double orig = (double)r->original_context_length;
    const double low_wl = orig / r->low_freq_factor, high_wl = orig / r->high_freq_factor;
    for (int64_t k = 0; k < hd / 2; k++) {
        const double freq = 1.0 / pow(r->theta, (double)(2 * k) / (double)hd);
        const double wl = 2.0 * M_PI / freq;
        double v;
        if (wl < high_wl) v = 1.0;
        else if (wl > low_wl) v = r->factor;
        else {
            const double smooth = (orig / wl - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
            v = 1.0 / ((1.0 - smooth) / r->factor + smooth);
        }
        f[k] = (float)v;
    }
    return f;
}

int gguf_plan_build(const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir, gguf_arch a, gguf_plan *out,
                    llmc_diags *d) {
    memset(out, 0, sizeof *out);
    out->arch = a;
    builder b = {s, ir, out, calloc(llmc_ir_num_tensors(ir) + 1, sizeof(bool)), d, 0, GGUF_TT_F32, GGUF_TT_F32};
    if (!b.used) {
        llmc_error(d, "gguf", "out of memory planning the tensors");
        return -1;
    }
    b.ffloat = float_type(s->precision);
    b.fmat = s->quantize == LLMC_QUANT_Q8_0 ? GGUF_TT_Q8_0 : s->quantize == LLMC_QUANT_Q4_0 ? GGUF_TT_Q4_0 : b.ffloat;
    /* llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_BF16 32; the
     * K-quants' types and ftype are set by gguf_plan_kquant once the plan stands */
    out->file_type = s->quantize == LLMC_QUANT_Q8_0   ? 7
                     : s->quantize == LLMC_QUANT_Q4_0 ? 2
                     : b.ffloat == GGUF_TT_F16        ? 1
                     : b.ffloat == GGUF_TT_BF16       ? 32
                                                      : 0;
    switch (a) {
    case GA_LLAMA:
    case GA_QWEN2: plan_llama_like(&b, dims, a); break;
    case GA_GPT2: plan_gpt2(&b, dims); break;
    case GA_T5: plan_t5(&b, dims); break;
    default:
        llmc_error(d, "gguf", "internal error: no architecture chosen");
        b.failed = 1;
    }
    if (!b.failed && a == GA_LLAMA && s->rope.scaling == LLMC_ROPE_SCALING_LLAMA3) {
        out->rope_freqs = llama3_factors(s, dims->v[LLMC_DIM_HEAD_DIM]);
        if (!out->rope_freqs) {
            llmc_error(d, "gguf", "out of memory");
            b.failed = 1;
        }
    }
    /* every parameter has a place in the file: a template change that adds one must not be dropped */
    for (size_t i = 0; !b.failed && i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)i);
        if (ti->kind == LLMC_TENSOR_PARAM && !b.used[i]) {
            llmc_error(d, "gguf", "IR parameter '%s' has no place in GGUF arch %s (an llmc bug: refusing to write an "
                       "incomplete model)", ti->name, gguf_arch_name(a));
            b.failed = 1;
        }
    }
    free(b.used);
    if (!b.failed && gguf_plan_kquant(s, ir, out, d)) b.failed = 1;
    if (b.failed) {
        gguf_plan_free(out);
        return -1;
    }
    return 0;
}

void gguf_plan_free(gguf_plan *p) {
    free(p->t);
    free(p->rope_freqs);
    memset(p, 0, sizeof *p);
}
