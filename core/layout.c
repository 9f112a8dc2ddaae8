/* Storage layouts: how an artifact stores the IR's parameters (weights.h, "views").
 *
 * The identity layout stores every parameter under its IR name. The Hugging Face layout
 * picks the transformers family a spec matches (docs/weights.md, "Hugging Face families")
 * and, for GPT-2, renames, fuses q/k/v into c_attn and transposes the Conv1D weights. The
 * checkpoint reader uses the same views backwards, so whatever we write we can read. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "weights_internal.h"

void llmc_layout_free(llmc_layout *l) {
    if (!l) return;
    free(l->views);
    l->views = NULL;
    l->n_views = 0;
}

uint64_t llmc_view_numel(const llmc_tensor_view *v) {
    uint64_t n = 1;
    for (int i = 0; i < v->rank; i++)
        if (v->shape[i] < 0 || !llmc_mul_u64(n, (uint64_t)v->shape[i], &n)) return 0;
    return n;
}

long llmc_layout_find(const llmc_layout *l, const char *name) {
    if (!l || !name) return -1;
    for (size_t i = 0; i < l->n_views; i++)
        if (strcmp(l->views[i].name, name) == 0) return (long)i;
    return -1;
}

/* ---- building ------------------------------------------------------------------------------- */

typedef struct builder {
    const llmc_ir *ir;
    llmc_layout *l;
    size_t cap;
    unsigned char *used;  /* per tensor id: already in a view */
    llmc_diags *d;
    int failed;
    bool qwen2_moe_experts; /* per-expert names gate_proj/up_proj/down_proj (a graph with a shared expert) */
} builder;

/* Append a view of parts (concatenated along dim 0), transformed. */
static void add_view(builder *b, const char *name, const llmc_tid *parts, int n_parts, llmc_view_transform tr) {
    if (b->failed) return;
    if (n_parts < 1 || n_parts > LLMC_VIEW_MAX_PARTS || strlen(name) >= LLMC_VIEW_NAME_MAX) {
        llmc_error(b->d, NULL, "internal: cannot build view '%s'", name);
        b->failed = 1;
        return;
    }
    if (b->l->n_views == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 64;
        llmc_tensor_view *nv = realloc(b->l->views, nc * sizeof *nv);
        if (!nv) {
            llmc_error(b->d, NULL, "out of memory building the storage layout");
            b->failed = 1;
            return;
        }
        b->l->views = nv;
        b->cap = nc;
    }
    llmc_tensor_view *v = &b->l->views[b->l->n_views];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    const llmc_tensor_info *first = llmc_ir_tensor(b->ir, parts[0]);
    v->rank = first->rank;
    for (int k = 0; k < first->rank; k++) v->shape[k] = first->shape[k];
    for (int i = 0; i < n_parts; i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(b->ir, parts[i]);
        if (!t || t->kind != LLMC_TENSOR_PARAM || b->used[parts[i]]) {
            llmc_error(b->d, NULL, "internal: view '%s' part %d is not an unused parameter", name, i);
            b->failed = 1;
            return;
        }
        bool same = t->rank == first->rank;
        for (int k = 1; same && k < t->rank; k++) same = t->shape[k] == first->shape[k];
        if (!same) {
            llmc_error(b->d, NULL, "view '%s': '%s' and '%s' cannot be concatenated (trailing dims differ)", name,
                       first->name, t->name);
            b->failed = 1;
            return;
        }
        if (i > 0) v->shape[0] += t->shape[0];
        v->parts[i] = parts[i];
        b->used[parts[i]] = 1;
    }
    v->n_parts = n_parts;
    v->transform = tr;
    if (tr == LLMC_VIEW_TRANSPOSE) {
        if (v->rank != 2) {
            llmc_error(b->d, NULL, "internal: view '%s' transposes a rank-%d tensor", name, v->rank);
            b->failed = 1;
            return;
        }
        int64_t t0 = v->shape[0];
        v->shape[0] = v->shape[1];
        v->shape[1] = t0;
    }
    b->l->n_views++;
}

static llmc_tid findf(const llmc_ir *ir, const char *fmt, ...) LLMC_PRINTF(2, 3);
static llmc_tid findf(const llmc_ir *ir, const char *fmt, ...) {
    char name[LLMC_VIEW_NAME_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    llmc_tid t = llmc_ir_find(ir, name);
    if (t == LLMC_TID_NONE) return t;
    const llmc_tensor_info *ti = llmc_ir_tensor(ir, t);
    return ti && ti->kind == LLMC_TENSOR_PARAM ? t : LLMC_TID_NONE;
}

static int begin(builder *b, const llmc_ir *ir, llmc_layout *out, llmc_diags *d) {
    memset(out, 0, sizeof *out);
    memset(b, 0, sizeof *b);
    b->ir = ir;
    b->l = out;
    b->d = d;
    b->used = calloc(llmc_ir_num_tensors(ir) + 1, 1);
    if (!b->used) {
        llmc_error(d, NULL, "out of memory building the storage layout");
        return -1;
    }
    return 0;
}

/* Every parameter must be in exactly one view. */
static int finish(builder *b) {
    if (!b->failed) {
        for (size_t i = 0; i < llmc_ir_num_tensors(b->ir); i++) {
            const llmc_tensor_info *t = llmc_ir_tensor(b->ir, (llmc_tid)i);
            if (t->kind == LLMC_TENSOR_PARAM && !b->used[i]) {
                llmc_error(b->d, NULL, "layout %s does not store parameter '%s'", b->l->family, t->name);
                b->failed = 1;
            }
        }
    }
    free(b->used);
    if (b->failed) {
        llmc_layout_free(b->l);
        return -1;
    }
    return 0;
}

/* true if the graph has Qwen2-MoE's shared expert (a shared_expert_scale parameter) */
static bool has_shared_expert(const llmc_ir *ir) {
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind == LLMC_TENSOR_PARAM && t->role == LLMC_ROLE_SHARED_EXPERT_SCALE) return true;
    }
    return false;
}

/* A stacked expert parameter [E, out, in] of role gate/up/down is stored as E tensors
 * "<stack prefix>.<e>.<w1|w3|w2>.weight" (Mixtral's names: w1 gate, w3 up, w2 down), or, in a
 * graph with a shared expert, "<stack prefix>.<e>.<gate|up|down>_proj.weight" (Qwen2-MoE's names),
 * whatever the family: every reader of a layout (PyTorch package, checkpoints) sees 2-D maps. */
static void add_experts(builder *b, llmc_tid t) {
    const llmc_tensor_info *ti = llmc_ir_tensor(b->ir, t);
    const char *w = ti->role == LLMC_ROLE_EXPERT_GATE ? "w1" : ti->role == LLMC_ROLE_EXPERT_UP ? "w3" : "w2";
    if (b->qwen2_moe_experts)
        w = ti->role == LLMC_ROLE_EXPERT_GATE ? "gate_proj" : ti->role == LLMC_ROLE_EXPERT_UP ? "up_proj" : "down_proj";
    /* the IR names a stack "<prefix>.experts.<gate|up|down>_proj.weight" */
    const char *dot = strstr(ti->name, ".experts.");
    if (b->failed) return;
    if (!dot || ti->rank != 3 || (size_t)(dot - ti->name) + 64 >= LLMC_VIEW_NAME_MAX) {
        llmc_error(b->d, NULL, "internal: expert stack '%s' cannot be stored per expert", ti->name);
        b->failed = 1;
        return;
    }
    for (int64_t e = 0; e < ti->shape[0] && !b->failed; e++) {
        char n[LLMC_VIEW_NAME_MAX];
        snprintf(n, sizeof n, "%.*s.experts.%lld.%s.weight", (int)(dot - ti->name), ti->name, (long long)e, w);
        b->used[t] = 0; /* add_view takes unused parameters; the E views cover the stack together */
        add_view(b, n, &t, 1, LLMC_VIEW_IDENTITY);
        if (b->failed) return;
        llmc_tensor_view *v = &b->l->views[b->l->n_views - 1];
        v->transform = LLMC_VIEW_EXPERT;
        v->index = e;
        v->rank = 2;
        v->shape[0] = ti->shape[1];
        v->shape[1] = ti->shape[2];
        v->shape[2] = 0;
    }
}

static void add_identity(builder *b, llmc_tid t);

/* the HF layouts: IR names, expert stacks per expert */
static void add_hf(builder *b, llmc_tid t) {
    llmc_param_role r = llmc_ir_tensor(b->ir, t)->role;
    if (r == LLMC_ROLE_EXPERT_GATE || r == LLMC_ROLE_EXPERT_UP || r == LLMC_ROLE_EXPERT_DOWN) add_experts(b, t);
    else add_identity(b, t);
}

static void add_identity(builder *b, llmc_tid t) {
    if (t != LLMC_TID_NONE && !b->used[t]) add_view(b, llmc_ir_tensor(b->ir, t)->name, &t, 1, LLMC_VIEW_IDENTITY);
}

int llmc_layout_identity(const llmc_ir *ir, llmc_layout *out, llmc_diags *d) {
    builder b;
    if (!ir || !out) return -1;
    if (begin(&b, ir, out, d)) return -1;
    snprintf(out->family, sizeof out->family, "identity");
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++)
        if (llmc_ir_tensor(ir, (llmc_tid)i)->kind == LLMC_TENSOR_PARAM) add_identity(&b, (llmc_tid)i);
    return finish(&b);
}

/* ---- Hugging Face families --------------------------------------------------------------------- */

static bool no_rope_scaling(const llmc_spec *s) { return s->rope.scaling == LLMC_ROPE_SCALING_NONE; }
static bool full_attention(const llmc_spec *s) {
    return s->attention == LLMC_ATTN_MHA || s->attention == LLMC_ATTN_GQA || s->attention == LLMC_ATTN_MQA;
}

/* Shapes the GPT-2 and T5 classes assume: one kv head per query head, and (GPT-2) heads that
 * tile the hidden size. Read from the IR, which holds the solved dims. */
static bool gpt2_shapes(const llmc_ir *ir) {
    llmc_tid q = findf(ir, "model.layers.0.self_attn.q_proj.weight");
    llmc_tid k = findf(ir, "model.layers.0.self_attn.k_proj.weight");
    llmc_tid e = findf(ir, "model.embed_tokens.weight");
    if (q == LLMC_TID_NONE || k == LLMC_TID_NONE || e == LLMC_TID_NONE) return false;
    int64_t H = llmc_ir_tensor(ir, e)->shape[1];
    return llmc_ir_tensor(ir, q)->shape[0] == H && llmc_ir_tensor(ir, k)->shape[0] == H;
}

static bool t5_shapes(const llmc_ir *ir) {
    llmc_tid q = findf(ir, "encoder.block.0.layer.0.SelfAttention.q.weight");
    llmc_tid k = findf(ir, "encoder.block.0.layer.0.SelfAttention.k.weight");
    return q != LLMC_TID_NONE && k != LLMC_TID_NONE &&
           llmc_ir_tensor(ir, q)->shape[0] == llmc_ir_tensor(ir, k)->shape[0];
}

/* Every block sequential and pre-norm (or norm-free): the block the HF classes below compute. */
static bool sequential_pre_norm(const llmc_ir *ir) {
    return llmc_ir_num_blocks(ir) > 0 && !llmc_ir_first_block_not_pre_sequential(ir);
}

/* The families below store parameters under the IR's names (identity layout, or GPT-2's renaming
 * of them): the graph must use the names the HF class loads, found here by role. */
static bool named_like(const llmc_ir *ir, llmc_stack st, const char *embed, const char *q0) {
    llmc_tid e = llmc_ir_find_param(ir, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE);
    llmc_tid q = llmc_ir_find_param(ir, LLMC_ROLE_ATTN_Q, false, st, 0, LLMC_NORM_SITE_NONE);
    return e != LLMC_TID_NONE && q != LLMC_TID_NONE && !strcmp(llmc_ir_tensor(ir, e)->name, embed) &&
           !strcmp(llmc_ir_tensor(ir, q)->name, q0);
}

/* Any Gemma-2 style block option: none of the llama-like families below computes one. */
static bool block_options(const llmc_spec *s) {
    return s->sandwich_norm || s->norm_weight_offset != 0.0 || s->embedding_scale_sqrt_hidden ||
           s->attention_softcap > 0 || s->final_logit_softcap > 0 || s->query_pre_attn_scalar > 0 ||
           s->sliding_window_pattern > 0;
}

/* Every block sequential with sandwich norms: HF Gemma2's decoder layer. */
static bool sequential_sandwich(const llmc_ir *ir) {
    size_t n = llmc_ir_num_blocks(ir);
    for (size_t i = 0; i < n; i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->residual != LLMC_RESIDUAL_SEQUENTIAL || b->norm_placement != LLMC_NORM_PLACEMENT_SANDWICH) return false;
    }
    return n > 0;
}

/* Every block parallel and pre-norm with attention and an MLP: the block PhiDecoderLayer computes. */
static bool parallel_pre_norm(const llmc_ir *ir) {
    size_t n = llmc_ir_num_blocks(ir);
    for (size_t i = 0; i < n; i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->residual != LLMC_RESIDUAL_PARALLEL || b->norm_placement != LLMC_NORM_PLACEMENT_PRE ||
            !b->self_attention || !b->mlp || b->cross_attention)
            return false;
    }
    return n > 0;
}

/* Gemma2ForCausalLM: sandwich blocks, (1 + w) RMSNorm, embeddings times sqrt(hidden), GeGLU with
 * the tanh GELU, RoPE, no biases, a window on even layers (its layer_idx % 2 rule: pattern 2). The
 * soft-caps and query_pre_attn_scalar are optional in Gemma2Config (null / head_dim). */
static const char *gemma2_family(const llmc_spec *s, const llmc_ir *ir, const char **arch) {
    const llmc_bias_flags *bf = &s->bias;
    if (llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY || !sequential_sandwich(ir) ||
        !named_like(ir, LLMC_STACK_DECODER, "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight"))
        return NULL;
    bool gemma2 = s->positional == LLMC_POS_ROPE && no_rope_scaling(s) && s->norm == LLMC_NORM_RMSNORM &&
                  s->norm_weight_offset == 1.0 && s->embedding_scale_sqrt_hidden && s->activation == LLMC_ACT_GEGLU &&
                  !s->qk_norm && !bf->qkv && !bf->attn_out && !bf->mlp && !bf->lm_head &&
                  s->attention == LLMC_ATTN_SLIDING_WINDOW && s->sliding_window_pattern == 2;
    if (!gemma2) return NULL;
    *arch = "Gemma2ForCausalLM";
    return "gemma2";
}

/* GemmaForCausalLM: pre-norm blocks with Gemma-2's fixed computation ((1 + w) RMSNorm,
 * embeddings times sqrt(hidden), GeGLU with the tanh GELU) and none of its other options. */
static const char *gemma_family(const llmc_spec *s, const llmc_ir *ir, const char **arch) {
    const llmc_bias_flags *bf = &s->bias;
    if (llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY || !sequential_pre_norm(ir) ||
        !named_like(ir, LLMC_STACK_DECODER, "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight"))
        return NULL;
    bool gemma = s->positional == LLMC_POS_ROPE && no_rope_scaling(s) && s->norm == LLMC_NORM_RMSNORM &&
                 s->norm_weight_offset == 1.0 && s->embedding_scale_sqrt_hidden && s->activation == LLMC_ACT_GEGLU &&
                 full_attention(s) && !s->qk_norm && s->attention_softcap == 0 && s->final_logit_softcap == 0 &&
                 s->query_pre_attn_scalar == 0 && s->sliding_window_pattern == 0 && bf->qkv == bf->attn_out &&
                 !bf->mlp && !bf->lm_head;
    if (!gemma) return NULL;
    *arch = "GemmaForCausalLM";
    return "gemma";
}

static bool param_named(const llmc_ir *ir, llmc_param_role role, bool bias, llmc_stack st, int layer,
                        llmc_norm_site site, const char *name) {
    llmc_tid t = llmc_ir_find_param(ir, role, bias, st, layer, site);
    return t != LLMC_TID_NONE && !strcmp(llmc_ir_tensor(ir, t)->name, name);
}

/* PhiForCausalLM: the IR's names are Phi's (decoder_only names a parallel block's parameters so),
 * head_dim = hidden_size / num_attention_heads, and every linear map, norm and the head have a
 * bias (Phi's classes always create them). */
static bool phi_graph(const llmc_spec *s, const llmc_ir *ir) {
    const llmc_bias_flags *bf = &s->bias;
    if (!(s->positional == LLMC_POS_ROPE && no_rope_scaling(s) && s->norm == LLMC_NORM_LAYERNORM && bf->norm &&
          s->activation == LLMC_ACT_GELU_TANH && bf->qkv && bf->attn_out && bf->mlp && bf->lm_head &&
          full_attention(s) && !s->qk_norm && parallel_pre_norm(ir)))
        return false;
    const llmc_stack D = LLMC_STACK_DECODER;
    llmc_tid q = llmc_ir_find_param(ir, LLMC_ROLE_ATTN_Q, false, D, 0, LLMC_NORM_SITE_NONE);
    llmc_tid e = llmc_ir_find_param(ir, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE);
    return q != LLMC_TID_NONE && e != LLMC_TID_NONE &&
           llmc_ir_tensor(ir, q)->shape[0] == llmc_ir_tensor(ir, e)->shape[1] &&
           named_like(ir, D, "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight") &&
           param_named(ir, LLMC_ROLE_ATTN_O, false, D, 0, LLMC_NORM_SITE_NONE, "model.layers.0.self_attn.dense.weight") &&
           param_named(ir, LLMC_ROLE_MLP_UP, false, D, 0, LLMC_NORM_SITE_NONE, "model.layers.0.mlp.fc1.weight") &&
           param_named(ir, LLMC_ROLE_MLP_DOWN, false, D, 0, LLMC_NORM_SITE_NONE, "model.layers.0.mlp.fc2.weight") &&
           param_named(ir, LLMC_ROLE_NORM, false, D, 0, LLMC_NORM_SITE_BLOCK_INPUT,
                       "model.layers.0.input_layernorm.weight") &&
           param_named(ir, LLMC_ROLE_NORM, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_FINAL,
                       "model.final_layernorm.weight");
}

static const char *hf_family(const llmc_spec *s, const llmc_ir *ir, const char **arch) {
    const llmc_bias_flags *bf = &s->bias;
    *arch = "";
    /* the graph's declared structure, never the template's name: a third-party template whose
     * graph has the same structure and features gets the same family */
    llmc_ir_structure st = llmc_ir_get_structure(ir);
    if (block_options(s)) return s->sandwich_norm ? gemma2_family(s, ir, arch) : gemma_family(s, ir, arch);
    if (st == LLMC_STRUCTURE_DECODER_ONLY && phi_graph(s, ir)) {
        *arch = "PhiForCausalLM";
        return "phi";
    }
    if (!sequential_pre_norm(ir)) return NULL;
    if (st == LLMC_STRUCTURE_DECODER_ONLY &&
        named_like(ir, LLMC_STACK_DECODER, "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight")) {
        /* their classes rotate whole heads: partial rotary is phi's (above) or llmc_decoder_only */
        bool llama_core = s->positional == LLMC_POS_ROPE && s->rope.fraction == 1.0 && s->norm == LLMC_NORM_RMSNORM &&
                          s->activation == LLMC_ACT_SWIGLU && !bf->lm_head;
        /* Qwen2-MoE: Qwen2's attention (qkv biases), softmax over all router logits then top-k
         * (renormalised or not: norm_topk_prob), one shared expert scaled by its sigmoid gate */
        if (s->moe.enabled && s->moe.num_shared_experts == 1)
            return llama_core && !s->qk_norm && full_attention(s) && no_rope_scaling(s) && bf->qkv && !bf->attn_out &&
                           !bf->mlp && s->moe.shared_expert_gate && s->moe.routing == LLMC_MOE_ROUTING_SOFTMAX_TOPK
                       ? (*arch = "Qwen2MoeForCausalLM", "qwen2_moe")
                       : NULL;
        /* sparse experts: Mixtral (softmax over the router logits, top-k, renormalised = softmax over the
         * top-k logits), no shared experts, no biases; other mixtures have no class here */
        if (s->moe.enabled)
            return llama_core && !s->qk_norm && (full_attention(s) || s->attention == LLMC_ATTN_SLIDING_WINDOW) &&
                           no_rope_scaling(s) && !bf->qkv && !bf->attn_out && !bf->mlp &&
                           s->moe.num_shared_experts == 0 &&
                           (s->moe.routing == LLMC_MOE_ROUTING_TOPK_SOFTMAX || s->moe.normalize_topk)
                       ? (*arch = "MixtralForCausalLM", "mixtral")
                       : NULL;
        /* QK-norm has one transformers class: Qwen3 (q_norm / k_norm, no biases, full attention) */
        if (s->qk_norm)
            return llama_core && full_attention(s) && !bf->qkv && !bf->attn_out && !bf->mlp
                       ? (*arch = "Qwen3ForCausalLM", "qwen3")
                       : NULL;
        if (llama_core && s->attention == LLMC_ATTN_SLIDING_WINDOW && !bf->qkv && !bf->attn_out && !bf->mlp &&
            no_rope_scaling(s)) {
            *arch = "MistralForCausalLM";
            return "mistral";
        }
        if (llama_core && (full_attention(s) || s->attention == LLMC_ATTN_SLIDING_WINDOW) && bf->qkv &&
            !bf->attn_out && !bf->mlp) {
            *arch = "Qwen2ForCausalLM";
            return "qwen2";
        }
        if (llama_core && full_attention(s) && bf->qkv == bf->attn_out) {
            *arch = "LlamaForCausalLM";
            return "llama";
        }
        if (s->positional == LLMC_POS_LEARNED && s->norm == LLMC_NORM_LAYERNORM && bf->norm &&
            (s->activation == LLMC_ACT_GELU || s->activation == LLMC_ACT_GELU_TANH) && bf->qkv && bf->attn_out &&
            bf->mlp && !bf->lm_head && s->attention == LLMC_ATTN_MHA && gpt2_shapes(ir)) {
            *arch = "GPT2LMHeadModel";
            return "gpt2";
        }
    } else if (st == LLMC_STRUCTURE_ENCODER_DECODER &&
               named_like(ir, LLMC_STACK_ENCODER, "shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight")) {
        if (s->positional == LLMC_POS_RELATIVE && s->norm == LLMC_NORM_RMSNORM &&
            (s->activation == LLMC_ACT_RELU || s->activation == LLMC_ACT_GEGLU) && !bf->qkv && !bf->attn_out &&
            !bf->mlp && !bf->lm_head && s->attention == LLMC_ATTN_MHA && t5_shapes(ir)) {
            *arch = "T5ForConditionalGeneration";
            return "t5";
        }
    }
    return NULL;
}

/* GPT-2: transformer.* names, fused c_attn, Conv1D weights stored [in, out]. */
static void gpt2_views(builder *b) {
    const llmc_ir *ir = b->ir;
    char n[LLMC_VIEW_NAME_MAX];
    llmc_tid t;
    if ((t = findf(ir, "model.embed_tokens.weight")) != LLMC_TID_NONE) add_view(b, "transformer.wte.weight", &t, 1, 0);
    if ((t = findf(ir, "model.embed_positions.weight")) != LLMC_TID_NONE) add_view(b, "transformer.wpe.weight", &t, 1, 0);
    for (int i = 0; findf(ir, "model.layers.%d.self_attn.q_proj.weight", i) != LLMC_TID_NONE; i++) {
        static const char *const wb[2] = {"weight", "bias"};
        for (int k = 0; k < 2; k++) {
            if ((t = findf(ir, "model.layers.%d.input_layernorm.%s", i, wb[k])) != LLMC_TID_NONE) {
                snprintf(n, sizeof n, "transformer.h.%d.ln_1.%s", i, wb[k]);
                add_view(b, n, &t, 1, LLMC_VIEW_IDENTITY);
            }
        }
        for (int k = 0; k < 2; k++) {
            llmc_tid qkv[3] = {findf(ir, "model.layers.%d.self_attn.q_proj.%s", i, wb[k]),
                               findf(ir, "model.layers.%d.self_attn.k_proj.%s", i, wb[k]),
                               findf(ir, "model.layers.%d.self_attn.v_proj.%s", i, wb[k])};
            if (qkv[0] == LLMC_TID_NONE || qkv[1] == LLMC_TID_NONE || qkv[2] == LLMC_TID_NONE) continue;
            snprintf(n, sizeof n, "transformer.h.%d.attn.c_attn.%s", i, wb[k]);
            add_view(b, n, qkv, 3, k == 0 ? LLMC_VIEW_TRANSPOSE : LLMC_VIEW_IDENTITY);
        }
        static const struct { const char *ir, *hf; } lin[] = {
            {"self_attn.o_proj", "attn.c_proj"}, {"mlp.up_proj", "mlp.c_fc"}, {"mlp.down_proj", "mlp.c_proj"}};
        for (size_t j = 0; j < 3; j++) {
            for (int k = 0; k < 2; k++) {
                if ((t = findf(ir, "model.layers.%d.%s.%s", i, lin[j].ir, wb[k])) == LLMC_TID_NONE) continue;
                snprintf(n, sizeof n, "transformer.h.%d.%s.%s", i, lin[j].hf, wb[k]);
                add_view(b, n, &t, 1, k == 0 ? LLMC_VIEW_TRANSPOSE : LLMC_VIEW_IDENTITY);
            }
            if (j == 0) { /* ln_2 sits between attention and MLP in HF's order */
                for (int k = 0; k < 2; k++) {
                    if ((t = findf(ir, "model.layers.%d.post_attention_layernorm.%s", i, wb[k])) == LLMC_TID_NONE)
                        continue;
                    snprintf(n, sizeof n, "transformer.h.%d.ln_2.%s", i, wb[k]);
                    add_view(b, n, &t, 1, LLMC_VIEW_IDENTITY);
                }
            }
        }
    }
    if ((t = findf(ir, "model.norm.weight")) != LLMC_TID_NONE) add_view(b, "transformer.ln_f.weight", &t, 1, 0);
    if ((t = findf(ir, "model.norm.bias")) != LLMC_TID_NONE) add_view(b, "transformer.ln_f.bias", &t, 1, 0);
    if ((t = findf(ir, "lm_head.weight")) != LLMC_TID_NONE) add_view(b, "lm_head.weight", &t, 1, 0);
}

int llmc_layout_hf(const llmc_spec *spec, const llmc_ir *ir, llmc_layout *out, llmc_diags *d) {
    builder b;
    if (!spec || !ir || !out) return -1;
    if (begin(&b, ir, out, d)) return -1;
    b.qwen2_moe_experts = has_shared_expert(ir);
    const char *arch;
    const char *fam = hf_family(spec, ir, &arch);
    if (fam)
        snprintf(out->family, sizeof out->family, "%s", fam);
    else
        snprintf(out->family, sizeof out->family, "llmc_%s", spec->template_name);
    snprintf(out->hf_architecture, sizeof out->hf_architecture, "%s", arch);
    if (fam && strcmp(fam, "gpt2") == 0) {
        gpt2_views(&b);
    } else {
        for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++)
            if (llmc_ir_tensor(ir, (llmc_tid)i)->kind == LLMC_TENSOR_PARAM) add_hf(&b, (llmc_tid)i);
    }
    return finish(&b);
}
