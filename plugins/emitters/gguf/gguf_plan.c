/* The GGUF tensor plan (gguf_arch.h gguf_plan_build): every tensor of the file in llama.cpp's name,
 * type and ggml dim order, as a view over IR parameters (Q/K rows permuted for llama), zeros, or
 * llama3 rope_freqs; each IR parameter used exactly once (gptneox's second copy of a shared norm
 * and a tied head aside). Parameters are found by role and block, never by name. Names and
 * conventions from llama.cpp's
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

/* A view over 1..4 IR parameters (by id) concatenated along dim 0, stored as ggml type `type`.
 * Kinds: MAT = quantizable matrix, HEAD = the output head's matrix, FLOAT = unquantized float at the
 * model precision, F32 = always F32. 1-D tensors (norms, biases) are always F32. reuse: the
 * parameters are already in the file under another name (a norm gptneox reads twice, a tied head)
 * and are not counted as consumed again. */
enum { K_MAT, K_HEAD, K_FLOAT, K_F32 };

static gguf_plan_tensor *add_view(builder *b, const char *gname, int kind, llmc_view_transform tr, int64_t n_head,
                                  const llmc_tid *ids, int n_parts, bool reuse) {
    if (b->failed) return NULL;
    if (n_parts < 1 || n_parts > LLMC_VIEW_MAX_PARTS) {
        llmc_error(b->d, "gguf", "internal error: GGUF tensor '%s' from %d parts", gname, n_parts);
        b->failed = 1;
        return NULL;
    }
    gguf_plan_tensor *t = add(b, gname);
    if (!t) return NULL;
    llmc_tensor_view *v = &t->view;
    snprintf(v->name, sizeof v->name, "%s", gname);
    v->transform = tr;
    v->n_head = n_head;
    v->n_parts = n_parts;
    for (int i = 0; i < n_parts; i++) {
        llmc_tid id = ids[i];
        const llmc_tensor_info *ti = id == LLMC_TID_NONE ? NULL : llmc_ir_tensor(b->ir, id);
        if (!ti || ti->kind != LLMC_TENSOR_PARAM) {
            llmc_error(b->d, "gguf", "internal error: GGUF tensor '%s' from a tensor that is not a parameter", gname);
            b->failed = 1;
            return NULL;
        }
        if (b->used[id] && !reuse) {
            llmc_error(b->d, "gguf", "internal error: IR parameter '%s' mapped twice", ti->name);
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
                llmc_diag_add(b->d, LLMC_SEV_ERROR, llmc_spec_loc(b->s, "template"), "template",
                              "template %s: parameter '%s' cannot be concatenated into GGUF tensor '%s' (its shape or "
                              "dtype differs from '%s')",
                              b->s->template_name, ti->name, gname, llmc_ir_tensor(b->ir, ids[0])->name);
                b->failed = 1;
                return NULL;
            }
            v->shape[0] += ti->shape[0];
        }
        v->parts[i] = id;
    }
    if (v->rank < 1 || v->rank > 3) {
        llmc_error(b->d, "gguf", "internal error: GGUF tensor '%s' would have rank %d", gname, v->rank);
        b->failed = 1;
        return NULL;
    }
    t->src = GS_PARAMS;
    t->n_dims = (uint32_t)v->rank;
    t->ne[0] = (uint64_t)v->shape[v->rank - 1];
    if (v->rank >= 2) t->ne[1] = (uint64_t)v->shape[v->rank - 2];
    if (v->rank == 3) t->ne[2] = (uint64_t)v->shape[0]; /* expert stacks [E, rows, cols]: ggml {cols, rows, E} */
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

static gguf_plan_tensor *view1(builder *b, const char *gname, int kind, llmc_tid id) {
    return add_view(b, gname, kind, LLMC_VIEW_IDENTITY, 0, &id, 1, false);
}

static void zeros(builder *b, const char *gname, int64_t n) {
    if (b->failed) return;
    gguf_plan_tensor *t = add(b, gname);
    if (!t) return;
    t->src = GS_ZEROS;
    t->type = GGUF_TT_F32;
    t->n_dims = 1;
    t->ne[0] = (uint64_t)n;
}

/* a tensor name that does not fit its buffer fails the plan instead of naming the wrong tensor */
#define FMT(buf, ...)                                                                              \
    do {                                                                                           \
        if ((size_t)snprintf(buf, sizeof buf, __VA_ARGS__) >= sizeof buf && !b->failed) {         \
            llmc_error(b->d, "gguf", "internal error: tensor name '%s...' is too long", buf);      \
            b->failed = 1;                                                                         \
        }                                                                                          \
    } while (0)

/* ---- parameters by role (llmc_ir_find_param), never by name ------------------------------------ */
static llmc_tid find(const builder *b, llmc_param_role role, bool is_bias, llmc_stack st, int layer,
                     llmc_norm_site site) {
    return llmc_ir_find_param(b->ir, role, is_bias, st, layer, site);
}

/* a parameter the architecture needs and the graph lacks: refused at validation, naming both */
static llmc_tid need(builder *b, const char *gname, llmc_param_role role, llmc_stack st, int layer,
                     llmc_norm_site site) {
    llmc_tid id = find(b, role, false, st, layer, site);
    if (id == LLMC_TID_NONE && !b->failed) {
        llmc_diag_add(b->d, LLMC_SEV_ERROR, llmc_spec_loc(b->s, "template"), "template",
                      "template %s has no %s parameter%s%s in block %s %d, which GGUF arch %s stores as '%s'",
                      b->s->template_name, llmc_param_role_name(role), site ? " at norm site " : "",
                      site ? llmc_norm_site_name(site) : "", llmc_stack_name(st), layer, gguf_arch_name(b->p->arch),
                      gname);
        b->failed = 1;
    }
    return id;
}

/* the weight the arch needs, as gname */
static llmc_tid need_view(builder *b, const char *gname, int kind, llmc_param_role role, llmc_stack st, int layer,
                          llmc_norm_site site) {
    llmc_tid id = need(b, gname, role, st, layer, site);
    if (!b->failed) view1(b, gname, kind, id);
    return id;
}

/* the bias of weight `w` (same role, block and norm site) as F32 if the model has it */
static bool opt_bias(builder *b, const char *gname, llmc_tid w, bool reuse) {
    const llmc_tensor_info *wt = b->failed ? NULL : llmc_ir_tensor(b->ir, w);
    if (!wt) return false;
    llmc_tid bi = find(b, wt->role, true, wt->stack, wt->layer, wt->norm_site);
    if (bi == LLMC_TID_NONE) return false;
    add_view(b, gname, K_F32, LLMC_VIEW_IDENTITY, 0, &bi, 1, reuse);
    return true;
}

/* ... or n zeros, for a bias the architecture requires */
static void bias_or_zeros(builder *b, const char *gname, llmc_tid w, int64_t n, bool reuse) {
    if (!b->failed && !opt_bias(b, gname, w, reuse)) zeros(b, gname, n);
}

static void norm_pair(builder *b, const char *gw, const char *gb, llmc_tid w, int64_t H, bool reuse) {
    if (b->failed) return;
    add_view(b, gw, K_F32, LLMC_VIEW_IDENTITY, 0, &w, 1, reuse);
    bias_or_zeros(b, gb, w, H, reuse);
}

/* The expert count, width and experts per token (the MOE_EXPERTS op reading stack `gate`): one
 * value each in the GGUF header, so every layer must agree. */
static void moe_facts(builder *b, llmc_tid gate, int layer) {
    const llmc_tensor_info *t = llmc_ir_tensor(b->ir, gate);
    int64_t used = 0;
    for (size_t i = 0; i < llmc_ir_num_ops(b->ir) && !used; i++) {
        const llmc_op_info *op = llmc_ir_op_at(b->ir, i);
        if (op->type == LLMC_OP_MOE_EXPERTS && op->n_inputs == 5 && op->inputs[2] == gate)
            used = llmc_op_attr(op, "experts_per_token")->i;
    }
    gguf_plan *p = b->p;
    if (layer > 0 && (p->experts != t->shape[0] || p->expert_ff != t->shape[1] || p->experts_used != used)) {
        llmc_diag_add(b->d, LLMC_SEV_ERROR, llmc_spec_loc(b->s, "moe"), "moe",
                      "GGUF stores one expert count, width and experts per token for all layers; layer %d differs",
                      layer);
        b->failed = 1;
        return;
    }
    p->experts = t->shape[0];
    p->expert_ff = t->shape[1];
    p->experts_used = used;
}

/* qwen2moe's shared expert: ffn_{gate,up,down}_shexp and the [H] vector of its sigmoid gate
 * (ffn_gate_inp_shexp, F32, 1-D as llama.cpp creates it); its width is one value for all layers */
static void shared_expert(builder *b, int layer) {
    static const char *const names[3] = {"gate", "up", "down"};
    static const llmc_param_role roles[3] = {LLMC_ROLE_SHARED_EXPERT_GATE, LLMC_ROLE_SHARED_EXPERT_UP,
                                             LLMC_ROLE_SHARED_EXPERT_DOWN};
    char g[64];
    FMT(g, "blk.%d.ffn_gate_inp_shexp.weight", layer);
    llmc_tid sc = need(b, g, LLMC_ROLE_SHARED_EXPERT_SCALE, LLMC_STACK_DECODER, layer, LLMC_NORM_SITE_NONE);
    gguf_plan_tensor *t = b->failed ? NULL : view1(b, g, K_F32, sc);
    if (t) { /* [1, H]: ggml {H, 1} is the same data as llama.cpp's {H} */
        t->n_dims = 1;
        t->ne[1] = 0;
    }
    for (int j = 0; j < 3 && !b->failed; j++) {
        FMT(g, "blk.%d.ffn_%s_shexp.weight", layer, names[j]);
        llmc_tid x = need_view(b, g, K_MAT, roles[j], LLMC_STACK_DECODER, layer, LLMC_NORM_SITE_NONE);
        if (j != 0 || b->failed) continue;
        int64_t ff = llmc_ir_tensor(b->ir, x)->shape[0];
        if (layer > 0 && ff != b->p->shared_ff) {
            llmc_diag_add(b->d, LLMC_SEV_ERROR, llmc_spec_loc(b->s, "moe.shared_expert_intermediate_size"),
                          "moe.shared_expert_intermediate_size",
                          "GGUF stores one shared expert width for all layers; layer %d differs", layer);
            b->failed = 1;
        }
        b->p->shared_ff = ff;
    }
}

/* ---- llama / qwen2 / qwen3 ------------------------------------------------------------------------------- */
static void plan_llama_like(builder *b, const llmc_dims *dims, gguf_arch a) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS], nh = dims->v[LLMC_DIM_NUM_HEADS],
                  nkv = dims->v[LLMC_DIM_NUM_KV_HEADS];
    const llmc_stack D = LLMC_STACK_DECODER, N = LLMC_STACK_NONE;
    const llmc_tid head = find(b, LLMC_ROLE_OUTPUT_HEAD, false, N, -1, LLMC_NORM_SITE_NONE);
    /* tied: llama.cpp uses token_embd as the head, so it is stored at the head's type */
    need_view(b, "token_embd.weight", head == LLMC_TID_NONE ? K_HEAD : K_MAT, LLMC_ROLE_TOKEN_EMBEDDING, N, -1,
              LLMC_NORM_SITE_NONE);
    if (a == GA_LLAMA && b->s->rope.scaling == LLMC_ROPE_SCALING_LLAMA3 && !b->failed) {
        gguf_plan_tensor *t = add(b, "rope_freqs.weight");
        if (t) {
            t->src = GS_ROPE_FREQS;
            t->type = GGUF_TT_F32;
            t->n_dims = 1;
            t->ne[0] = (uint64_t)dims->v[LLMC_DIM_HEAD_DIM] / 2;
        }
    }
    static const char *const qkv_names[3] = {"q", "k", "v"};
    static const llmc_param_role qkv_roles[3] = {LLMC_ROLE_ATTN_Q, LLMC_ROLE_ATTN_K, LLMC_ROLE_ATTN_V};
    static const char *const mlp_names[3] = {"gate", "up", "down"};
    static const llmc_param_role mlp_roles[3] = {LLMC_ROLE_MLP_GATE, LLMC_ROLE_MLP_UP, LLMC_ROLE_MLP_DOWN};
    for (int64_t i = 0; i < L && !b->failed; i++) {
        const int l = (int)i;
        char g[64];
        /* llama stores Q and K rows permuted from rotate-half to interleaved pairs, per head */
        const llmc_view_transform tr = a == GA_LLAMA ? LLMC_VIEW_ROPE_PERMUTE : LLMC_VIEW_IDENTITY;
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, D, l, LLMC_NORM_SITE_ATTN_INPUT);
        llmc_tid w[3];
        for (int j = 0; j < 3 && !b->failed; j++) {
            FMT(g, "blk.%lld.attn_%s.weight", (long long)i, qkv_names[j]);
            w[j] = need(b, g, qkv_roles[j], D, l, LLMC_NORM_SITE_NONE);
            if (!b->failed) add_view(b, g, K_MAT, j < 2 ? tr : LLMC_VIEW_IDENTITY, j == 0 ? nh : nkv, &w[j], 1, false);
        }
        for (int j = 0; j < 3 && !b->failed; j++) {   /* qwen2 only (llama refuses bias.qkv) */
            FMT(g, "blk.%lld.attn_%s.bias", (long long)i, qkv_names[j]);
            opt_bias(b, g, w[j], false);
        }
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        llmc_tid o = need_view(b, g, K_MAT, LLMC_ROLE_ATTN_O, D, l, LLMC_NORM_SITE_NONE);
        FMT(g, "blk.%lld.attn_output.bias", (long long)i);
        opt_bias(b, g, o, false);
        if (a == GA_QWEN3) { /* QK-norm: one [head_dim] weight for every q (k) head */
            FMT(g, "blk.%lld.attn_q_norm.weight", (long long)i);
            need_view(b, g, K_F32, LLMC_ROLE_NORM, D, l, LLMC_NORM_SITE_ATTN_Q);
            FMT(g, "blk.%lld.attn_k_norm.weight", (long long)i);
            need_view(b, g, K_F32, LLMC_ROLE_NORM, D, l, LLMC_NORM_SITE_ATTN_K);
        }
        FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, D, l, LLMC_NORM_SITE_MLP_INPUT);
        if (find(b, LLMC_ROLE_MOE_ROUTER, false, D, l, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE) {
            /* sparse experts: the router stays F32 (llama-quantize never quantizes ffn_gate_inp), the
             * stacks are 3-D {cols, rows, experts} */
            static const llmc_param_role exp_roles[3] = {LLMC_ROLE_EXPERT_GATE, LLMC_ROLE_EXPERT_UP,
                                                         LLMC_ROLE_EXPERT_DOWN};
            FMT(g, "blk.%lld.ffn_gate_inp.weight", (long long)i);
            need_view(b, g, K_F32, LLMC_ROLE_MOE_ROUTER, D, l, LLMC_NORM_SITE_NONE);
            for (int j = 0; j < 3 && !b->failed; j++) {
                FMT(g, "blk.%lld.ffn_%s_exps.weight", (long long)i, mlp_names[j]);
                llmc_tid x = need_view(b, g, K_MAT, exp_roles[j], D, l, LLMC_NORM_SITE_NONE);
                if (j == 0 && !b->failed) moe_facts(b, x, l);
            }
            if (a == GA_QWEN2MOE) shared_expert(b, l);
            continue;
        }
        for (int j = 0; j < 3 && !b->failed; j++) {
            FMT(g, "blk.%lld.ffn_%s.weight", (long long)i, mlp_names[j]);
            llmc_tid m = need_view(b, g, K_MAT, mlp_roles[j], D, l, LLMC_NORM_SITE_NONE);
            FMT(g, "blk.%lld.ffn_%s.bias", (long long)i, mlp_names[j]);
            opt_bias(b, g, m, false);
        }
    }
    need_view(b, "output_norm.weight", K_F32, LLMC_ROLE_NORM, N, -1, LLMC_NORM_SITE_FINAL);
    if (head != LLMC_TID_NONE && !b->failed) view1(b, "output.weight", K_HEAD, head);
    llmc_tid hb = find(b, LLMC_ROLE_OUTPUT_HEAD, true, N, -1, LLMC_NORM_SITE_NONE);
    if (hb != LLMC_TID_NONE && !b->failed) view1(b, "output.bias", K_F32, hb);
}

/* ---- gemma, gemma2: norms written as (offset + w), no permute (NEOX RoPE), tied head ------------- */
static void gemma_norm(builder *b, const char *gname, llmc_stack st, int layer, llmc_norm_site site) {
    llmc_tid id = need(b, gname, LLMC_ROLE_NORM, st, layer, site);
    if (b->failed) return;
    gguf_plan_tensor *t = add_view(b, gname, K_F32, LLMC_VIEW_IDENTITY, 0, &id, 1, false);
    if (t) t->offset = b->p->gemma.norm_offset;
}

/* gemma2's sandwich blocks add post_attention_norm and post_ffw_norm to gemma's pre-norm ones */
static void plan_gemma(builder *b, const llmc_dims *dims, bool sandwich) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS];
    const llmc_stack D = LLMC_STACK_DECODER, N = LLMC_STACK_NONE;
    need_view(b, "token_embd.weight", K_HEAD, LLMC_ROLE_TOKEN_EMBEDDING, N, -1, LLMC_NORM_SITE_NONE);
    gemma_norm(b, "output_norm.weight", N, -1, LLMC_NORM_SITE_FINAL);
    static const char *const qkv_names[3] = {"q", "k", "v"};
    static const llmc_param_role qkv_roles[3] = {LLMC_ROLE_ATTN_Q, LLMC_ROLE_ATTN_K, LLMC_ROLE_ATTN_V};
    static const char *const mlp_names[3] = {"gate", "up", "down"};
    static const llmc_param_role mlp_roles[3] = {LLMC_ROLE_MLP_GATE, LLMC_ROLE_MLP_UP, LLMC_ROLE_MLP_DOWN};
    for (int64_t i = 0; i < L && !b->failed; i++) {
        const int l = (int)i;
        char g[64];
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        gemma_norm(b, g, D, l, LLMC_NORM_SITE_ATTN_INPUT);
        for (int j = 0; j < 3 && !b->failed; j++) {
            FMT(g, "blk.%lld.attn_%s.weight", (long long)i, qkv_names[j]);
            need_view(b, g, K_MAT, qkv_roles[j], D, l, LLMC_NORM_SITE_NONE);
        }
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        need_view(b, g, K_MAT, LLMC_ROLE_ATTN_O, D, l, LLMC_NORM_SITE_NONE);
        if (sandwich) {
            FMT(g, "blk.%lld.post_attention_norm.weight", (long long)i);
            gemma_norm(b, g, D, l, LLMC_NORM_SITE_POST_ATTN);
        }
        FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
        gemma_norm(b, g, D, l, LLMC_NORM_SITE_MLP_INPUT);
        for (int j = 0; j < 3 && !b->failed; j++) {
            FMT(g, "blk.%lld.ffn_%s.weight", (long long)i, mlp_names[j]);
            need_view(b, g, K_MAT, mlp_roles[j], D, l, LLMC_NORM_SITE_NONE);
        }
        if (sandwich) {
            FMT(g, "blk.%lld.post_ffw_norm.weight", (long long)i);
            gemma_norm(b, g, D, l, LLMC_NORM_SITE_POST_MLP);
        }
    }
}

/* ---- gpt2, gptneox, phi2: LayerNorm with bias, fused q/k/v, every bias (zeros when absent) ------- */
static void plan_fused_qkv(builder *b, const llmc_dims *dims, gguf_arch a) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS], H = dims->v[LLMC_DIM_HIDDEN_SIZE],
                  I = dims->v[LLMC_DIM_INTERMEDIATE_SIZE],
                  qkv_rows = (dims->v[LLMC_DIM_NUM_HEADS] + 2 * dims->v[LLMC_DIM_NUM_KV_HEADS]) * dims->v[LLMC_DIM_HEAD_DIM];
    const llmc_stack D = LLMC_STACK_DECODER, N = LLMC_STACK_NONE;
    const llmc_tid head = find(b, LLMC_ROLE_OUTPUT_HEAD, false, N, -1, LLMC_NORM_SITE_NONE);
    const bool tied = head == LLMC_TID_NONE;
    /* gpt2 omits output.weight when tied (token_embd is the head); gptneox and phi2 require it */
    llmc_tid emb = need_view(b, "token_embd.weight", a == GA_GPT2 && tied ? K_HEAD : K_MAT,
                             LLMC_ROLE_TOKEN_EMBEDDING, N, -1, LLMC_NORM_SITE_NONE);
    if (a == GA_GPT2)
        need_view(b, "position_embd.weight", K_FLOAT, LLMC_ROLE_POSITION_EMBEDDING, N, -1, LLMC_NORM_SITE_NONE);
    for (int64_t i = 0; i < L && !b->failed; i++) {
        const int l = (int)i;
        char g[64], g2[64];
        /* GPT-J: one norm feeds both branches (block_input); GPT-2, GPT-NeoX: attn_input and mlp_input */
        llmc_tid n1 = find(b, LLMC_ROLE_NORM, false, D, l, LLMC_NORM_SITE_BLOCK_INPUT);
        const bool shared = n1 != LLMC_TID_NONE;
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        FMT(g2, "blk.%lld.attn_norm.bias", (long long)i);
        if (!shared) n1 = need(b, g, LLMC_ROLE_NORM, D, l, LLMC_NORM_SITE_ATTN_INPUT);
        norm_pair(b, g, g2, n1, H, false);
        /* fused [q; k; v] rows, as llama.cpp's build_qkv splits them */
        FMT(g, "blk.%lld.attn_qkv.weight", (long long)i);
        llmc_tid qkv[3] = {find(b, LLMC_ROLE_ATTN_QKV, false, D, l, LLMC_NORM_SITE_NONE), LLMC_TID_NONE,
                           LLMC_TID_NONE};
        int nq = 1;
        if (qkv[0] == LLMC_TID_NONE) {
            qkv[0] = need(b, g, LLMC_ROLE_ATTN_Q, D, l, LLMC_NORM_SITE_NONE);
            qkv[1] = need(b, g, LLMC_ROLE_ATTN_K, D, l, LLMC_NORM_SITE_NONE);
            qkv[2] = need(b, g, LLMC_ROLE_ATTN_V, D, l, LLMC_NORM_SITE_NONE);
            nq = 3;
        }
        if (b->failed) return;
        add_view(b, g, K_MAT, LLMC_VIEW_IDENTITY, 0, qkv, nq, false);
        FMT(g, "blk.%lld.attn_qkv.bias", (long long)i);
        llmc_tid qkvb[3];
        int nb = 0;
        for (int j = 0; j < nq; j++) {
            llmc_tid bi = find(b, llmc_ir_tensor(b->ir, qkv[j])->role, true, D, l, LLMC_NORM_SITE_NONE);
            if (bi != LLMC_TID_NONE) qkvb[nb++] = bi;
        }
        if (nb == nq) add_view(b, g, K_F32, LLMC_VIEW_IDENTITY, 0, qkvb, nb, false);
        else if (nb == 0) zeros(b, g, qkv_rows);
        else {
            llmc_diag_add(b->d, LLMC_SEV_ERROR, llmc_spec_loc(b->s, "bias.qkv"), "bias.qkv",
                          "GGUF arch %s fuses the q, k and v biases into one attn_qkv.bias and block %d has %d of %d; "
                          "nearest supported: all or none",
                          gguf_arch_name(a), l, nb, nq);
            b->failed = 1;
        }
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        llmc_tid o = need_view(b, g, K_MAT, LLMC_ROLE_ATTN_O, D, l, LLMC_NORM_SITE_NONE);
        FMT(g, "blk.%lld.attn_output.bias", (long long)i);
        bias_or_zeros(b, g, o, H, false);
        if (a != GA_PHI2) {
            FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
            FMT(g2, "blk.%lld.ffn_norm.bias", (long long)i);
            /* GPT-J's shared norm is written a second time: gptneox's ln2(x) is then the same ln1(x) */
            const bool again = shared && a == GA_GPTNEOX;
            llmc_tid n2 = again ? n1 : need(b, g, LLMC_ROLE_NORM, D, l, LLMC_NORM_SITE_MLP_INPUT);
            norm_pair(b, g, g2, n2, H, again);
        }
        FMT(g, "blk.%lld.ffn_up.weight", (long long)i);
        llmc_tid up = need_view(b, g, K_MAT, LLMC_ROLE_MLP_UP, D, l, LLMC_NORM_SITE_NONE);
        FMT(g, "blk.%lld.ffn_up.bias", (long long)i);
        bias_or_zeros(b, g, up, I, false);
        FMT(g, "blk.%lld.ffn_down.weight", (long long)i);
        llmc_tid down = need_view(b, g, K_MAT, LLMC_ROLE_MLP_DOWN, D, l, LLMC_NORM_SITE_NONE);
        FMT(g, "blk.%lld.ffn_down.bias", (long long)i);
        bias_or_zeros(b, g, down, H, false);
    }
    llmc_tid fin = need(b, "output_norm.weight", LLMC_ROLE_NORM, N, -1, LLMC_NORM_SITE_FINAL);
    norm_pair(b, "output_norm.weight", "output_norm.bias", fin, H, false);
    if (!tied) view1(b, "output.weight", K_HEAD, head);
    else if (a != GA_GPT2 && !b->failed) add_view(b, "output.weight", K_HEAD, LLMC_VIEW_IDENTITY, 0, &emb, 1, true);
    if (a == GA_PHI2 && !b->failed) {
        llmc_tid hb = find(b, LLMC_ROLE_OUTPUT_HEAD, true, N, -1, LLMC_NORM_SITE_NONE);
        if (hb != LLMC_TID_NONE) view1(b, "output.bias", K_F32, hb);
        else zeros(b, "output.bias", b->s->vocab_size);
    }
}

/* ---- t5 ------------------------------------------------------------------------------------------ */
/* The final norm whose output the head reads (through T5's pre-head SCALE): the decoder's. The
 * encoder's is the other final norm; both sit outside any block, so the data flow tells them apart. */
static llmc_tid head_final_norm(const builder *b) {
    for (size_t i = llmc_ir_num_ops(b->ir); i-- > 0;) {
        const llmc_op_info *op = llmc_ir_op_at(b->ir, i);
        if (op->role != LLMC_OPROLE_HEAD || op->type != LLMC_OP_LINEAR) continue;
        const llmc_tensor_info *x = llmc_ir_tensor(b->ir, op->inputs[0]);
        while (x && x->producer >= 0) {
            const llmc_op_info *p = llmc_ir_op_at(b->ir, (size_t)x->producer);
            if (p->type == LLMC_OP_SCALE) {
                x = llmc_ir_tensor(b->ir, p->inputs[0]);
                continue;
            }
            if ((p->type == LLMC_OP_RMSNORM || p->type == LLMC_OP_LAYERNORM) && p->n_inputs > 1) return p->inputs[1];
            break;
        }
        break;
    }
    return LLMC_TID_NONE;
}

static void plan_t5_attn(builder *b, const char *gpre, llmc_stack st, int l, bool cross) {
    static const char *const p[4] = {"q", "k", "v", "o"};
    static const llmc_param_role self[4] = {LLMC_ROLE_ATTN_Q, LLMC_ROLE_ATTN_K, LLMC_ROLE_ATTN_V, LLMC_ROLE_ATTN_O};
    static const llmc_param_role xr[4] = {LLMC_ROLE_CROSS_Q, LLMC_ROLE_CROSS_K, LLMC_ROLE_CROSS_V, LLMC_ROLE_CROSS_O};
    for (int j = 0; j < 4 && !b->failed; j++) {
        char g[64];
        FMT(g, "%s_%s.weight", gpre, p[j]);
        need_view(b, g, K_MAT, cross ? xr[j] : self[j], st, l, LLMC_NORM_SITE_NONE);
    }
}

static void plan_t5_ffn(builder *b, const char *gpre, llmc_stack st, int l) {
    char g[64];
    /* ReLU (T5): ffn_up = wi; gated GELU (Flan-T5): ffn_gate = wi_0, ffn_up = wi_1 */
    if (find(b, LLMC_ROLE_MLP_GATE, false, st, l, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE) {
        FMT(g, "%s.ffn_gate.weight", gpre);
        need_view(b, g, K_MAT, LLMC_ROLE_MLP_GATE, st, l, LLMC_NORM_SITE_NONE);
    }
    FMT(g, "%s.ffn_up.weight", gpre);
    need_view(b, g, K_MAT, LLMC_ROLE_MLP_UP, st, l, LLMC_NORM_SITE_NONE);
    FMT(g, "%s.ffn_down.weight", gpre);
    need_view(b, g, K_MAT, LLMC_ROLE_MLP_DOWN, st, l, LLMC_NORM_SITE_NONE);
}

static void plan_t5(builder *b, const llmc_dims *dims) {
    const int64_t E = dims->v[LLMC_DIM_NUM_ENCODER_LAYERS], Dn = dims->v[LLMC_DIM_NUM_DECODER_LAYERS];
    const llmc_stack EN = LLMC_STACK_ENCODER, DE = LLMC_STACK_DECODER, N = LLMC_STACK_NONE;
    const llmc_tid head = find(b, LLMC_ROLE_OUTPUT_HEAD, false, N, -1, LLMC_NORM_SITE_NONE);
    need_view(b, "token_embd.weight", K_MAT, LLMC_ROLE_TOKEN_EMBEDDING, N, -1, LLMC_NORM_SITE_NONE);
    /* block 0's relative bias table serves every layer of its stack (llama.cpp falls back to
     * layers[0] as HF T5 does); stored [buckets, heads] row-major = ggml {heads, buckets} */
    need_view(b, "enc.blk.0.attn_rel_b.weight", K_F32, LLMC_ROLE_RELATIVE_BIAS, EN, 0, LLMC_NORM_SITE_NONE);
    need_view(b, "dec.blk.0.attn_rel_b.weight", K_F32, LLMC_ROLE_RELATIVE_BIAS, DE, 0, LLMC_NORM_SITE_NONE);
    for (int64_t i = 0; i < E && !b->failed; i++) {
        const int l = (int)i;
        char g[64];
        FMT(g, "enc.blk.%lld.attn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, EN, l, LLMC_NORM_SITE_ATTN_INPUT);
        FMT(g, "enc.blk.%lld.attn", (long long)i);
        plan_t5_attn(b, g, EN, l, false);
        FMT(g, "enc.blk.%lld.ffn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, EN, l, LLMC_NORM_SITE_MLP_INPUT);
        FMT(g, "enc.blk.%lld", (long long)i);
        plan_t5_ffn(b, g, EN, l);
    }
    /* the two final norms: the decoder's feeds the head, the encoder's is the other one */
    const llmc_tid dec_final = head_final_norm(b);
    llmc_tid enc_final = LLMC_TID_NONE;
    for (size_t i = 0; i < llmc_ir_num_tensors(b->ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(b->ir, (llmc_tid)i);
        if (t->kind == LLMC_TENSOR_PARAM && t->role == LLMC_ROLE_NORM && !t->is_bias &&
            t->norm_site == LLMC_NORM_SITE_FINAL && (llmc_tid)i != dec_final)
            enc_final = (llmc_tid)i;
    }
    if ((enc_final == LLMC_TID_NONE || dec_final == LLMC_TID_NONE) && !b->failed) {
        llmc_diag_add(b->d, LLMC_SEV_ERROR, llmc_spec_loc(b->s, "template"), "template",
                      "template %s: GGUF arch t5 needs two final norms, the decoder's feeding the head; the graph has "
                      "%s",
                      b->s->template_name, dec_final == LLMC_TID_NONE ? "no norm before its head" : "only one");
        b->failed = 1;
    }
    if (!b->failed) view1(b, "enc.output_norm.weight", K_F32, enc_final);
    for (int64_t i = 0; i < Dn && !b->failed; i++) {
        const int l = (int)i;
        char g[64];
        FMT(g, "dec.blk.%lld.attn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, DE, l, LLMC_NORM_SITE_ATTN_INPUT);
        FMT(g, "dec.blk.%lld.attn", (long long)i);
        plan_t5_attn(b, g, DE, l, false);
        FMT(g, "dec.blk.%lld.cross_attn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, DE, l, LLMC_NORM_SITE_CROSS_ATTN_INPUT);
        FMT(g, "dec.blk.%lld.cross_attn", (long long)i);
        plan_t5_attn(b, g, DE, l, true);
        FMT(g, "dec.blk.%lld.ffn_norm.weight", (long long)i);
        need_view(b, g, K_F32, LLMC_ROLE_NORM, DE, l, LLMC_NORM_SITE_MLP_INPUT);
        FMT(g, "dec.blk.%lld", (long long)i);
        plan_t5_ffn(b, g, DE, l);
    }
    if (!b->failed) view1(b, "dec.output_norm.weight", K_F32, dec_final);
    if (head == LLMC_TID_NONE) {
        /* HF T5 scales the decoder output by hidden^-0.5 before a tied head; llama.cpp's t5 graph does
         * not, and uses output.weight when present: so the file carries the head pre-scaled. The
         * shared table is already used by token_embd, hence no IR parameter is consumed here. */
        gguf_plan_tensor *t = b->failed ? NULL : add(b, "output.weight");
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
    } else if (!b->failed) {
        view1(b, "output.weight", K_HEAD, head);
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
    case GA_QWEN2:
    case GA_QWEN3:
    case GA_QWEN2MOE: plan_llama_like(&b, dims, a); break;
    case GA_GEMMA:
    case GA_GEMMA2:
        if (gguf_gemma_read(s, ir, dims, a, &out->gemma, d)) b.failed = 1;
        else plan_gemma(&b, dims, a == GA_GEMMA2);
        break;
    case GA_GPT2: plan_fused_qkv(&b, dims, a); break;
    case GA_T5: plan_t5(&b, dims); break;
    case GA_GPTNEOX:
    case GA_PHI2:
        plan_fused_qkv(&b, dims, a);
        out->rope_dims = gguf_ir_rope_dims(ir);
        out->parallel_residual = llmc_ir_num_blocks(ir) > 0 && llmc_ir_block_at(ir, 0)->residual == LLMC_RESIDUAL_PARALLEL;
        break;
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
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "template"), "template",
                          "template %s: parameter '%s' (%s%s, block %s %d) has no place in GGUF arch %s; refusing to "
                          "write an incomplete model",
                          s->template_name, ti->name, llmc_param_role_name(ti->role), ti->is_bias ? " bias" : "",
                          llmc_stack_name(ti->stack), ti->layer, gguf_arch_name(a));
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
