/* pytorch emitter — the parameters the generated modules will have, mirrored from the
 * templates' module structure, compared with the safetensors layout before anything is
 * written. A mismatch is a bug between this emitter and the layout rules; catching it here
 * keeps a package whose state_dict would not load its own weights from ever being written. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt_emit.h"

typedef struct pt_param {
    char name[LLMC_VIEW_NAME_MAX];
    int rank;
    int64_t shape[2];
} pt_param;

typedef struct plist {
    pt_param *items;
    size_t n, cap;
    bool oom, overflow;
} plist;

static void add(plist *l, int rank, int64_t d0, int64_t d1, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add(plist *l, int rank, int64_t d0, int64_t d1, const char *fmt, ...) {
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pt_param *p = realloc(l->items, cap * sizeof *p);
        if (!p) { l->oom = true; return; }
        l->items = p;
        l->cap = cap;
    }
    pt_param *p = &l->items[l->n++];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof p->name) l->overflow = true;
    if (d0 < 0 || d1 < 0) l->overflow = true; /* a product below overflowed */
    p->rank = rank;
    p->shape[0] = d0;
    p->shape[1] = d1;
}

static int64_t mul(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? -1 : r;
}

static void norm(plist *l, const pt_model *m, const char *prefix) {
    const llmc_spec *s = m->spec;
    if (s->norm == LLMC_NORM_NONE) return;
    add(l, 1, m->H, 0, "%s.weight", prefix);
    if (s->norm == LLMC_NORM_LAYERNORM && s->bias.norm) add(l, 1, m->H, 0, "%s.bias", prefix);
}

/* prefix.sub.weight [out, in] and prefix.sub.bias [out] */
static void linear(plist *l, int64_t out, int64_t in, bool bias, const char *prefix, const char *sub) {
    add(l, 2, out, in, "%s.%s.weight", prefix, sub);
    if (bias) add(l, 1, out, 0, "%s.%s.bias", prefix, sub);
}

static void head(plist *l, const pt_model *m) {
    const llmc_spec *s = m->spec;
    if (!s->tie_word_embeddings) add(l, 2, m->V, m->H, "lm_head.weight");
    if (s->bias.lm_head) add(l, 1, m->V, 0, "lm_head.bias");
}

static void llama_names(plist *l, const pt_model *m) {
    const llmc_spec *s = m->spec;
    char p[LLMC_VIEW_NAME_MAX];
    add(l, 2, m->V, m->H, "model.embed_tokens.weight");
    if (s->positional == LLMC_POS_LEARNED) add(l, 2, m->ctx, m->H, "model.embed_positions.weight");
    for (int64_t i = 0; i < m->L; i++) {
        snprintf(p, sizeof p, "model.layers.%lld.input_layernorm", (long long)i);
        norm(l, m, p);
        snprintf(p, sizeof p, "model.layers.%lld.self_attn", (long long)i);
        linear(l, mul(m->n, m->d), m->H, s->bias.qkv, p, "q_proj");
        linear(l, mul(m->m, m->d), m->H, s->bias.qkv, p, "k_proj");
        linear(l, mul(m->m, m->d), m->H, s->bias.qkv, p, "v_proj");
        linear(l, m->H, mul(m->n, m->d), s->bias.attn_out, p, "o_proj");
        if (m->qk_norm) {
            add(l, 1, m->d, 0, "%s.q_norm.weight", p);
            add(l, 1, m->d, 0, "%s.k_norm.weight", p);
        }
        snprintf(p, sizeof p, "model.layers.%lld.post_attention_layernorm", (long long)i);
        norm(l, m, p);
        if (m->moe && m->shared_I) { /* Qwen2-MoE's SparseMoeBlock: router, experts, shared expert, its gate */
            snprintf(p, sizeof p, "model.layers.%lld.mlp", (long long)i);
            add(l, 2, m->experts, m->H, "%s.gate.weight", p);
            for (int64_t e = 0; e < m->experts; e++) {
                add(l, 2, m->expert_I, m->H, "%s.experts.%lld.gate_proj.weight", p, (long long)e);
                add(l, 2, m->expert_I, m->H, "%s.experts.%lld.up_proj.weight", p, (long long)e);
                add(l, 2, m->H, m->expert_I, "%s.experts.%lld.down_proj.weight", p, (long long)e);
            }
            add(l, 2, m->shared_I, m->H, "%s.shared_expert.gate_proj.weight", p);
            add(l, 2, m->shared_I, m->H, "%s.shared_expert.up_proj.weight", p);
            add(l, 2, m->H, m->shared_I, "%s.shared_expert.down_proj.weight", p);
            add(l, 2, 1, m->H, "%s.shared_expert_gate.weight", p);
            continue;
        }
        if (m->moe) { /* Mixtral's SparseMoeBlock: router, then w1 (gate), w2 (down), w3 (up) per expert */
            snprintf(p, sizeof p, "model.layers.%lld.block_sparse_moe", (long long)i);
            add(l, 2, m->experts, m->H, "%s.gate.weight", p);
            for (int64_t e = 0; e < m->experts; e++) {
                add(l, 2, m->expert_I, m->H, "%s.experts.%lld.w1.weight", p, (long long)e);
                add(l, 2, m->H, m->expert_I, "%s.experts.%lld.w2.weight", p, (long long)e);
                add(l, 2, m->expert_I, m->H, "%s.experts.%lld.w3.weight", p, (long long)e);
            }
            continue;
        }
        snprintf(p, sizeof p, "model.layers.%lld.mlp", (long long)i);
        if (llmc_activation_is_gated(s->activation)) linear(l, m->I, m->H, s->bias.mlp, p, "gate_proj");
        linear(l, m->I, m->H, s->bias.mlp, p, "up_proj");
        linear(l, m->H, m->I, s->bias.mlp, p, "down_proj");
    }
    norm(l, m, "model.norm");
    head(l, m);
}

/* GPT-2: Conv1D weights are [in, out] and every projection has a bias (Conv1D always has one). */
static void gpt2_names(plist *l, const pt_model *m) {
    char p[LLMC_VIEW_NAME_MAX];
    int64_t width = mul(m->n, m->d);
    add(l, 2, m->V, m->H, "transformer.wte.weight");
    add(l, 2, m->ctx, m->H, "transformer.wpe.weight");
    for (int64_t i = 0; i < m->L; i++) {
        snprintf(p, sizeof p, "transformer.h.%lld.ln_1", (long long)i);
        norm(l, m, p);
        add(l, 2, m->H, mul(3, width), "transformer.h.%lld.attn.c_attn.weight", (long long)i);
        add(l, 1, mul(3, width), 0, "transformer.h.%lld.attn.c_attn.bias", (long long)i);
        add(l, 2, width, m->H, "transformer.h.%lld.attn.c_proj.weight", (long long)i);
        add(l, 1, m->H, 0, "transformer.h.%lld.attn.c_proj.bias", (long long)i);
        snprintf(p, sizeof p, "transformer.h.%lld.ln_2", (long long)i);
        norm(l, m, p);
        add(l, 2, m->H, m->I, "transformer.h.%lld.mlp.c_fc.weight", (long long)i);
        add(l, 1, m->I, 0, "transformer.h.%lld.mlp.c_fc.bias", (long long)i);
        add(l, 2, m->I, m->H, "transformer.h.%lld.mlp.c_proj.weight", (long long)i);
        add(l, 1, m->H, 0, "transformer.h.%lld.mlp.c_proj.bias", (long long)i);
    }
    norm(l, m, "transformer.ln_f");
    head(l, m);
}

static void t5_attention(plist *l, const pt_model *m, const char *prefix) {
    const llmc_spec *s = m->spec;
    linear(l, mul(m->n, m->d), m->H, s->bias.qkv, prefix, "q");
    linear(l, mul(m->m, m->d), m->H, s->bias.qkv, prefix, "k");
    linear(l, mul(m->m, m->d), m->H, s->bias.qkv, prefix, "v");
    linear(l, m->H, mul(m->n, m->d), s->bias.attn_out, prefix, "o");
}

static void t5_ffn(plist *l, const pt_model *m, const char *prefix) {
    const llmc_spec *s = m->spec;
    if (llmc_activation_is_gated(s->activation)) {
        linear(l, m->I, m->H, s->bias.mlp, prefix, "wi_0");
        linear(l, m->I, m->H, s->bias.mlp, prefix, "wi_1");
    } else {
        linear(l, m->I, m->H, s->bias.mlp, prefix, "wi");
    }
    linear(l, m->H, m->I, s->bias.mlp, prefix, "wo");
}

static void t5_stack(plist *l, const pt_model *m, const char *stack, int64_t layers, bool decoder) {
    const llmc_spec *s = m->spec;
    char p[LLMC_VIEW_NAME_MAX];
    if (s->positional == LLMC_POS_LEARNED) add(l, 2, m->ctx, m->H, "%s.embed_positions.weight", stack);
    for (int64_t i = 0; i < layers; i++) {
        snprintf(p, sizeof p, "%s.block.%lld.layer.0.SelfAttention", stack, (long long)i);
        t5_attention(l, m, p);
        if (i == 0 && s->positional == LLMC_POS_RELATIVE)
            add(l, 2, s->relative_num_buckets, m->n, "%s.relative_attention_bias.weight", p);
        snprintf(p, sizeof p, "%s.block.%lld.layer.0.layer_norm", stack, (long long)i);
        norm(l, m, p);
        int ff = 1;
        if (decoder) {
            snprintf(p, sizeof p, "%s.block.%lld.layer.1.EncDecAttention", stack, (long long)i);
            t5_attention(l, m, p);
            snprintf(p, sizeof p, "%s.block.%lld.layer.1.layer_norm", stack, (long long)i);
            norm(l, m, p);
            ff = 2;
        }
        snprintf(p, sizeof p, "%s.block.%lld.layer.%d.DenseReluDense", stack, (long long)i, ff);
        t5_ffn(l, m, p);
        snprintf(p, sizeof p, "%s.block.%lld.layer.%d.layer_norm", stack, (long long)i, ff);
        norm(l, m, p);
    }
    snprintf(p, sizeof p, "%s.final_layer_norm", stack);
    norm(l, m, p);
}

static void t5_names(plist *l, const pt_model *m) {
    add(l, 2, m->V, m->H, "shared.weight");
    t5_stack(l, m, "encoder", m->Le, false);
    t5_stack(l, m, "decoder", m->Ld, true);
    head(l, m);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const pt_param *)a)->name, ((const pt_param *)b)->name);
}

static int cmp_view(const void *a, const void *b) {
    return strcmp((*(const llmc_tensor_view *const *)a)->name, (*(const llmc_tensor_view *const *)b)->name);
}

static void shape_text(char *buf, size_t n, int rank, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

#define MAX_REPORTED 12

int pt_check_params(const pt_model *m, const llmc_layout *layout, const llmc_ir *ir,
                    const llmc_param_count *count, llmc_diags *d) {
    (void)ir;
    plist l = {0};
    if (m->encdec) t5_names(&l, m);
    else if (m->gpt2) gpt2_names(&l, m);
    else llama_names(&l, m);
    if (l.oom) {
        free(l.items);
        llmc_error(d, "emit", "pytorch: out of memory listing the parameters");
        return -1;
    }
    if (l.overflow) {
        free(l.items);
        llmc_error(d, "emit", "pytorch: a parameter name or size is out of range");
        return -1;
    }
    const llmc_tensor_view **views = layout->n_views ? malloc(layout->n_views * sizeof *views) : NULL;
    if (layout->n_views && !views) {
        free(l.items);
        llmc_error(d, "emit", "pytorch: out of memory checking the parameters");
        return -1;
    }
    for (size_t i = 0; i < layout->n_views; i++) views[i] = &layout->views[i];
    if (l.n) qsort(l.items, l.n, sizeof *l.items, by_name);
    if (layout->n_views) qsort(views, layout->n_views, sizeof *views, cmp_view);

    /* merge the two sorted lists */
    int reported = 0, problems = 0;
    uint64_t total = 0;
    size_t i = 0, j = 0;
    char a[96], b[96];
    while (i < l.n || j < layout->n_views) {
        int c = i == l.n ? 1 : j == layout->n_views ? -1 : strcmp(l.items[i].name, views[j]->name);
        if (c < 0) {
            if (reported++ < MAX_REPORTED)
                llmc_error(d, "emit", "pytorch: the generated module has parameter '%s', which the %s weight "
                           "layout does not store", l.items[i].name, layout->family);
            problems++;
            i++;
        } else if (c > 0) {
            if (reported++ < MAX_REPORTED)
                llmc_error(d, "emit", "pytorch: the %s weight layout stores '%s', which the generated module "
                           "has no parameter for", layout->family, views[j]->name);
            problems++;
            j++;
        } else {
            const pt_param *p = &l.items[i];
            const llmc_tensor_view *v = views[j];
            bool same = p->rank == v->rank;
            for (int k = 0; same && k < p->rank; k++) same = p->shape[k] == v->shape[k];
            if (!same) {
                shape_text(a, sizeof a, p->rank, p->shape);
                shape_text(b, sizeof b, v->rank, v->shape);
                if (reported++ < MAX_REPORTED)
                    llmc_error(d, "emit", "pytorch: parameter '%s' has shape %s in the generated module but %s "
                               "in the weight layout", p->name, a, b);
                problems++;
            }
            total += llmc_view_numel(v);
            i++;
            j++;
        }
    }
    if (reported > MAX_REPORTED)
        llmc_error(d, "emit", "pytorch: ... and %d more parameter differences", reported - MAX_REPORTED);
    if (!problems && count && total != count->total) {
        char x[32], y[32];
        llmc_error(d, "emit", "pytorch: the generated module has %s parameters, llmc counts %s",
                   llmc_fmt_count(total, x, sizeof x), llmc_fmt_count(count->total, y, sizeof y));
        problems++;
    }
    if (problems)
        llmc_error(d, "emit", "pytorch: the package would not load the emitted weights (family %s); "
                   "this is a bug in the pytorch emitter, please report it with the spec", layout->family);
    free(views);
    free(l.items);
    return problems ? -1 : 0;
}
