/* torchscript emitter — the facts the code needs and the module tree.
 *
 * For encoder-decoder models (T5's `{encoder,decoder}.block.{i}.layer.{j}...`) the tree mirrors
 * the PyTorch package's nn.Module structure attribute by attribute, so that
 * torch.jit.load(...).state_dict() has the package's names in the package's order, which are
 * the Hugging Face layout's names (llmc_layout_hf). Decoder-only models' trees are the layout's
 * names (ts_generic.c). ts_tree_bind then matches every parameter to a
 * stored view by that dotted path and shape, and requires every view to be used once: a model
 * whose code and weights disagree is an error here, before anything is written. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_emit.h"

/* ---- facts ----------------------------------------------------------------------------------------- */

int ts_facts_init(ts_facts *f, const llmc_spec *s, const llmc_dims *dm, const llmc_ir *ir,
                  const llmc_layout *layout, llmc_diags *d) {
    memset(f, 0, sizeof *f);
    f->s = s;
    f->ir = ir;
    f->layout = layout;
    f->encdec = llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER;
    f->V = s->vocab_size;
    f->P = s->context_length;
    f->H = dm->v[LLMC_DIM_HIDDEN_SIZE];
    f->I = dm->v[LLMC_DIM_INTERMEDIATE_SIZE];
    f->n = dm->v[LLMC_DIM_NUM_HEADS];
    f->m = dm->v[LLMC_DIM_NUM_KV_HEADS];
    f->d = dm->v[LLMC_DIM_HEAD_DIM];
    if (f->encdec) {
        f->E = dm->v[LLMC_DIM_NUM_ENCODER_LAYERS];
        f->D = dm->v[LLMC_DIM_NUM_DECODER_LAYERS];
    } else {
        f->L = dm->v[LLMC_DIM_NUM_LAYERS];
    }
    f->dt = s->precision == LLMC_PRECISION_FLOAT16    ? LLMC_DTYPE_F16
            : s->precision == LLMC_PRECISION_BFLOAT16 ? LLMC_DTYPE_BF16
                                                      : LLMC_DTYPE_F32;
    if (f->H <= 0 || f->I <= 0 || f->n <= 0 || f->m <= 0 || f->d <= 0 || f->n % f->m != 0 ||
        (f->encdec ? (f->E <= 0 || f->D <= 0) : f->L <= 0)) {
        llmc_error(d, "emit", "torchscript: internal: incomplete dims (hidden %lld, heads %lld/%lld, head_dim %lld)",
                   (long long)f->H, (long long)f->n, (long long)f->m, (long long)f->d);
        return -1;
    }
    llmc_ir_facts facts;
    if (llmc_ir_read_facts(ir, &facts, d)) return -1;
    f->scale = facts.attention_scale;
    f->has_out_scale = facts.has_output_scale;
    f->out_scale = facts.output_scale;
    if (f->has_out_scale && !f->encdec) {
        llmc_error(d, "emit", "torchscript: the IR scales the final hidden state by %g before the head; the "
                   "decoder-only code has no such step", f->out_scale);
        return -1;
    }
    if (s->positional == LLMC_POS_ROPE && f->d % 2) {
        llmc_error(d, "emit", "torchscript: rotary embeddings need an even head_dim (got %lld)", (long long)f->d);
        return -1;
    }
    if (s->positional == LLMC_POS_ROPE && s->rope.scaling == LLMC_ROPE_SCALING_DYNAMIC && f->d <= 2) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "rope.scaling"), "rope.scaling",
                      "torchscript: dynamic rope scaling needs head_dim > 2 (its base grows with the power "
                      "head_dim / (head_dim - 2)); got head_dim %lld", (long long)f->d);
        return -1;
    }
    return 0;
}

/* ---- the tree ----------------------------------------------------------------------------------------- */

static ts_node *node(ts_tree *t, const char *cls, const char *attr_fmt, ...) __attribute__((format(printf, 3, 4)));
static ts_node *node(ts_tree *t, const char *cls, const char *attr_fmt, ...) {
    ts_node *n = calloc(1, sizeof *n);
    if (!n) {
        t->oom = true;
        return NULL;
    }
    n->cls = cls;
    va_list ap;
    va_start(ap, attr_fmt);
    vsnprintf(n->attr, sizeof n->attr, attr_fmt, ap);
    va_end(ap);
    return n;
}

static void free_node(ts_node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_kids; i++) free_node(n->kids[i]);
    free(n->kids);
    free(n->own_cls);
    free(n);
}

/* Attach kid (may be NULL after an allocation failure) to parent; returns kid. */
static ts_node *add(ts_tree *t, ts_node *parent, ts_node *kid) {
    if (!kid || !parent) {
        free_node(kid);
        t->oom = true;
        return NULL;
    }
    if (parent->n_kids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        ts_node **k = realloc(parent->kids, cap * sizeof *k);
        if (!k) {
            free_node(kid);
            t->oom = true;
            return NULL;
        }
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n_kids++] = kid;
    return kid;
}

ts_node *ts_node_new(ts_tree *t, const char *cls, const char *attr) { return node(t, cls, "%s", attr); }
ts_node *ts_node_add(ts_tree *t, ts_node *parent, ts_node *kid) { return add(t, parent, kid); }

static void param(ts_node *n, const char *attr, int rank, int64_t d0, int64_t d1) {
    if (!n || n->n_params >= TS_NODE_MAX_PARAMS) return;
    ts_param *p = &n->params[n->n_params++];
    snprintf(p->attr, sizeof p->attr, "%s", attr);
    p->rank = rank;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->view = -1;
}

static int64_t mul(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? -1 : r; /* -1 never matches a view's shape */
}

/* Leaf modules. */
static ts_node *linear(ts_tree *t, ts_node *parent, const char *attr, int64_t out, int64_t in, bool bias) {
    ts_node *n = add(t, parent, node(t, bias ? "Linear" : "LinearNoBias", "%s", attr));
    param(n, "weight", 2, out, in);
    if (bias) param(n, "bias", 1, out, 0);
    return n;
}

static void embedding(ts_tree *t, ts_node *parent, const char *attr, int64_t rows, int64_t cols) {
    ts_node *n = add(t, parent, node(t, "Embedding", "%s", attr));
    param(n, "weight", 2, rows, cols);
}

static void norm(ts_tree *t, ts_node *parent, const ts_facts *f, const char *attr) {
    const llmc_spec *s = f->s;
    if (s->norm == LLMC_NORM_NONE) return; /* no module, no call */
    bool bias = s->norm == LLMC_NORM_LAYERNORM && s->bias.norm;
    ts_node *n = add(t, parent,
                     node(t, s->norm == LLMC_NORM_RMSNORM ? "RMSNorm" : bias ? "LayerNorm" : "LayerNormNoBias", "%s",
                          attr));
    param(n, "weight", 1, f->H, 0);
    if (bias) param(n, "bias", 1, f->H, 0);
}

static void head(ts_tree *t, ts_node *root, const ts_facts *f) {
    const llmc_spec *s = f->s;
    if (!s->tie_word_embeddings) {
        linear(t, root, "lm_head", f->V, f->H, s->bias.lm_head);
    } else if (s->bias.lm_head) {
        ts_node *n = add(t, root, node(t, "HeadBias", "lm_head"));
        param(n, "bias", 1, f->V, 0);
    }
}

/* T5 names. With relative positions, block 0's self-attention also holds the stack's bucket
 * table, so the first block of each stack has its own classes (First*). */
static void t5_attention(ts_tree *t, ts_node *parent, const ts_facts *f, const char *attr, bool table) {
    const llmc_spec *s = f->s;
    ts_node *a = add(t, parent, node(t, table ? "RelativeAttention" : "Attention", "%s", attr));
    linear(t, a, "q", mul(f->n, f->d), f->H, s->bias.qkv);
    linear(t, a, "k", mul(f->m, f->d), f->H, s->bias.qkv);
    linear(t, a, "v", mul(f->m, f->d), f->H, s->bias.qkv);
    linear(t, a, "o", f->H, mul(f->n, f->d), s->bias.attn_out);
    if (table) embedding(t, a, "relative_attention_bias", s->relative_num_buckets, f->n);
}

static void t5_ffn(ts_tree *t, ts_node *parent, const ts_facts *f, int j) {
    const llmc_spec *s = f->s;
    ts_node *l = add(t, parent, node(t, "FeedForwardLayer", "%d", j));
    ts_node *m = add(t, l, node(t, "DenseReluDense", "DenseReluDense"));
    if (llmc_activation_is_gated(s->activation)) {
        linear(t, m, "wi_0", f->I, f->H, s->bias.mlp);
        linear(t, m, "wi_1", f->I, f->H, s->bias.mlp);
    } else {
        linear(t, m, "wi", f->I, f->H, s->bias.mlp);
    }
    linear(t, m, "wo", f->H, f->I, s->bias.mlp);
    norm(t, l, f, "layer_norm");
}

static void t5_stack(ts_tree *t, const ts_facts *f, bool decoder) {
    const llmc_spec *s = f->s;
    bool rel = s->positional == LLMC_POS_RELATIVE;
    ts_node *st = add(t, t->root, node(t, decoder ? "DecoderStack" : "EncoderStack", decoder ? "decoder" : "encoder"));
    if (s->positional == LLMC_POS_LEARNED) embedding(t, st, "embed_positions", f->P, f->H);
    ts_node *blocks = add(t, st, node(t, decoder ? "DecoderBlocks" : "EncoderBlocks", "block"));
    int64_t n = decoder ? f->D : f->E;
    for (int64_t i = 0; i < n && !t->oom; i++) {
        bool first = rel && i == 0;
        const char *bc = decoder ? (first ? "FirstDecoderBlock" : "DecoderBlock")
                                 : (first ? "FirstEncoderBlock" : "EncoderBlock");
        const char *lc = decoder ? (first ? "FirstDecoderBlockLayers" : "DecoderBlockLayers")
                                 : (first ? "FirstEncoderBlockLayers" : "EncoderBlockLayers");
        ts_node *b = add(t, blocks, node(t, bc, "%lld", (long long)i));
        ts_node *layer = add(t, b, node(t, lc, "layer"));
        ts_node *sa = add(t, layer, node(t, first ? "FirstSelfAttentionLayer" : "SelfAttentionLayer", "0"));
        t5_attention(t, sa, f, "SelfAttention", first);
        norm(t, sa, f, "layer_norm");
        if (decoder) {
            ts_node *ca = add(t, layer, node(t, "CrossAttentionLayer", "1"));
            t5_attention(t, ca, f, "EncDecAttention", false);
            norm(t, ca, f, "layer_norm");
        }
        t5_ffn(t, layer, f, decoder ? 2 : 1);
    }
    norm(t, st, f, "final_layer_norm");
}

static void encoder_decoder(ts_tree *t, const ts_facts *f) {
    embedding(t, t->root, "shared", f->V, f->H);
    t5_stack(t, f, false);
    t5_stack(t, f, true);
    head(t, t->root, f);
}

int ts_tree_build(ts_tree *t, const ts_facts *f, llmc_diags *d) {
    memset(t, 0, sizeof *t);
    t->root = node(t, f->encdec ? "Seq2SeqLM" : "CausalLM", "%s", "");
    if (t->root) {
        if (f->encdec) encoder_decoder(t, f);
        else t->oom = true; /* unreachable: decoder-only trees are ts_generic.c's */
    }
    if (t->oom || !t->root) {
        llmc_error(d, "emit", "torchscript: out of memory building the module tree");
        ts_tree_free(t);
        return -1;
    }
    return 0;
}

void ts_tree_free(ts_tree *t) {
    free_node(t->root);
    t->root = NULL;
}

/* ---- binding to the layout ---------------------------------------------------------------------------- */

typedef struct named {
    const char *name;
    size_t idx;
} named;

typedef struct binder {
    const llmc_layout *l;
    named *sorted;         /* views sorted by name */
    unsigned char *used;
    llmc_diags *d;
    int errors;
} binder;

static int by_name(const void *a, const void *b) { return strcmp(((const named *)a)->name, ((const named *)b)->name); }

static long find_view(const binder *b, const char *name) {
    named key = {name, 0};
    const named *hit = bsearch(&key, b->sorted, b->l->n_views, sizeof key, by_name);
    return hit ? (long)hit->idx : -1;
}

static void shape_str(char *buf, size_t n, int rank, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static void bind_node(binder *b, ts_node *n, const char *path) {
    char name[LLMC_VIEW_NAME_MAX * 2];
    for (int i = 0; i < n->n_params; i++) {
        ts_param *p = &n->params[i];
        snprintf(name, sizeof name, "%s%s%s", path, *path ? "." : "", p->attr);
        long v = find_view(b, name);
        if (v < 0) {
            b->errors++;
            if (!b->d) continue;
            llmc_error(b->d, "emit", "torchscript: internal: the module tree has parameter '%s', which the %s layout "
                       "does not store", name, b->l->family);
            continue;
        }
        const llmc_tensor_view *tv = &b->l->views[v];
        bool same = tv->rank == p->rank;
        for (int k = 0; same && k < p->rank; k++) same = tv->shape[k] == p->shape[k];
        if (!same) {
            b->errors++;
            if (!b->d) continue;
            char want[64], got[64];
            shape_str(want, sizeof want, p->rank, p->shape);
            shape_str(got, sizeof got, tv->rank, tv->shape);
            llmc_error(b->d, "emit", "torchscript: internal: parameter '%s' is %s in the module code but %s in the "
                       "weights", name, want, got);
            continue;
        }
        if (b->used[v]++) {
            if (b->d) llmc_error(b->d, "emit", "torchscript: internal: parameter '%s' is bound twice", name);
            b->errors++;
        }
        p->view = v;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        snprintf(name, sizeof name, "%s%s%s", path, *path ? "." : "", n->kids[i]->attr);
        bind_node(b, n->kids[i], name);
    }
}

/* d NULL: count mismatches without reporting them (ts_tree_covers) */
static int bind(ts_tree *t, const llmc_layout *l, llmc_diags *d) {
    binder b = {l, calloc(l->n_views + 1, sizeof(named)), calloc(l->n_views + 1, 1), d, 0};
    if (!b.sorted || !b.used) {
        free(b.sorted);
        free(b.used);
        if (d) llmc_error(d, "emit", "torchscript: out of memory matching parameters to weights");
        return -1;
    }
    for (size_t i = 0; i < l->n_views; i++) b.sorted[i] = (named){l->views[i].name, i};
    qsort(b.sorted, l->n_views, sizeof *b.sorted, by_name);
    bind_node(&b, t->root, "");
    for (size_t i = 0; i < l->n_views; i++) {
        if (!b.used[i]) {
            if (d)
                llmc_error(d, "emit", "torchscript: internal: weight '%s' has no parameter in the module tree",
                           l->views[i].name);
            b.errors++;
        }
    }
    free(b.sorted);
    free(b.used);
    return b.errors ? -1 : 0;
}

int ts_tree_bind(ts_tree *t, const llmc_layout *l, llmc_diags *d) { return bind(t, l, d); }

bool ts_tree_covers(ts_tree *t, const llmc_layout *l) { return bind(t, l, NULL) == 0; }
