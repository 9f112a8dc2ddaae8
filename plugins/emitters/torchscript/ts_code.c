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
 * its torch 1.13 path, which is what docs/templates.md defines for every backend.
 *
 * The text itself is the templates in ts/ (ts_text.h): this file computes the flags that pick the
 * code paths the model uses and the constants they hold, and renders llmc.py (helpers, then every
 * class but the root) and __torch__.py (the root). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_emit.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- features --------------------------------------------------------------------------------------- */

typedef struct gen {
    const ts_facts *f;
    const llmc_spec *s;
    bool rope, alibi, sliding, learned, sinusoidal, relative, has_norm, grouped;
} gen;

/* ---- helper functions (module level in llmc.py): ts/llmc.py.in's flags and constants ---------- */

/* false for an activation ts/activation.py.in has no code for (the spec loader knows no other) */
static bool activation_flags(ts_vars *v, llmc_activation_kind a) {
    ts_flag(v, "swiglu", a == LLMC_ACT_SWIGLU);
    ts_flag(v, "geglu", a == LLMC_ACT_GEGLU);
    ts_flag(v, "gelu", a == LLMC_ACT_GELU);
    ts_flag(v, "gelu_tanh", a == LLMC_ACT_GELU_TANH);
    ts_flag(v, "relu", a == LLMC_ACT_RELU);
    ts_flag(v, "silu", a == LLMC_ACT_SILU);
    ts_flag(v, "relu_squared", a == LLMC_ACT_RELU_SQUARED);
    return a == LLMC_ACT_SWIGLU || a == LLMC_ACT_GEGLU || a == LLMC_ACT_GELU || a == LLMC_ACT_GELU_TANH ||
           a == LLMC_ACT_RELU || a == LLMC_ACT_SILU || a == LLMC_ACT_RELU_SQUARED;
}

/* RoPE: inverse frequencies as transformers computes them (float64, rounded to float32), then
 * the cos/sin tables [S, rotary dim] of rotate-half RoPE (ts/rope.py.in); the rotary dim is
 * rope.fraction of head_dim (Phi's partial rotary), the other dims of a head pass through. */
static void rope_vars(ts_vars *v, const gen *g) {
    const llmc_rope_params *r = &g->s->rope;
    int64_t d = (int64_t)(r->fraction * (double)g->f->d + 0.5);
    ts_var_int(v, "ROPE_DIM", d);
    double scale = 1.0;
    ts_var(v, "ROPE_SCALING", llmc_rope_scaling_name(r->scaling));
    ts_flag(v, "rope_dynamic", r->scaling == LLMC_ROPE_SCALING_DYNAMIC);
    ts_flag(v, "rope_linear", r->scaling == LLMC_ROPE_SCALING_LINEAR);
    ts_flag(v, "rope_yarn", r->scaling == LLMC_ROPE_SCALING_YARN);
    ts_flag(v, "rope_llama3", r->scaling == LLMC_ROPE_SCALING_LLAMA3);
    ts_var_float(v, "ROPE_THETA", r->theta);
    ts_var_float(v, "ROPE_FACTOR", r->factor);
    ts_var_int(v, "ROPE_ORIGINAL_CONTEXT", r->original_context_length);
    /* dynamic NTK: beyond the original context the base grows with the sequence length */
    if (r->scaling == LLMC_ROPE_SCALING_DYNAMIC) ts_var_float(v, "ROPE_DYNAMIC_EXPONENT", (double)d / (double)(d - 2));
    ts_var_int(v, "HALF_HEAD_DIM", d / 2);
    if (r->scaling == LLMC_ROPE_SCALING_YARN) {
        /* dimensions turning fewer than beta_slow times over the original context are
         * interpolated, more than beta_fast kept, a linear ramp in between (transformers'
         * _compute_yarn_parameters; the bounds are Python floats there, doubles here) */
        double orig = (double)r->original_context_length, base = r->theta;
        double cf = (double)d * log(orig / (r->beta_fast * 2 * M_PI)) / (2 * log(base));
        double cs = (double)d * log(orig / (r->beta_slow * 2 * M_PI)) / (2 * log(base));
        double low = floor(cf), high = ceil(cs);
        if (low < 0) low = 0;
        if (high > (double)(d - 1)) high = (double)(d - 1);
        ts_var_int(v, "YARN_LOW", (int64_t)low);
        if (low == high) ts_var_float(v, "YARN_SPAN", high + 0.001 - low); /* avoid a zero-width ramp */
        else ts_var_int(v, "YARN_SPAN", (int64_t)(high - low));
        if (r->factor > 1) scale = 0.1 * log(r->factor) + 1.0;
    } else if (r->scaling == LLMC_ROPE_SCALING_LLAMA3) {
        double orig = (double)r->original_context_length;
        ts_var_float(v, "TWO_PI", 2 * M_PI);
        ts_var_float(v, "LLAMA3_LOW_WAVELEN", orig / r->low_freq_factor);
        ts_var_float(v, "LLAMA3_HIGH_WAVELEN", orig / r->high_freq_factor);
        ts_var_float(v, "LLAMA3_LOW_FREQ_FACTOR", r->low_freq_factor);
        ts_var_float(v, "LLAMA3_FACTOR_SPAN", r->high_freq_factor - r->low_freq_factor);
    }
    ts_flag(v, "rope_attention_factor", scale != 1.0);
    ts_var_float(v, "ROPE_ATTENTION_FACTOR", scale);
}

/* ALiBi slopes, as the package computes them in Python floats (BLOOM / MPT interpolation for a
 * head count that is not a power of two). */
static void alibi_slopes(ts_vars *v, const gen *g) {
    int64_t n = g->f->n, p = 1;
    while (p * 2 <= n) p *= 2;
    double mb = g->s->alibi_max_bias;
    char x[40];
    llmc_strbuf b = {0};
    for (int64_t i = 0; i < p; i++) llmc_strbuf_printf(&b, "%s%s", i ? ", " : "", ts_float(pow(2.0, -mb * (double)(i + 1) / (double)p), x));
    for (int64_t k = 1; k < 2 * (n - p); k += 2)
        llmc_strbuf_printf(&b, ", %s", ts_float(pow(2.0, -mb * (double)k / (double)(2 * p)), x));
    ts_var_take(v, "ALIBI_SLOPES", &b);
}

/* T5's relative position buckets (transformers' _relative_position_bucket), specialised for
 * the two directions (prefix "BI_": bidirectional, half the buckets each way; "": causal) with
 * the bucket counts and logarithms written out. */
static void relative_vars(ts_vars *v, const gen *g) {
    int64_t nb = g->s->relative_num_buckets, md = g->s->relative_max_distance;
    ts_var_int(v, "MAX_DISTANCE", md);
    static const char *const names[2][5] = {{"BI_BUCKETS", "BI_EXACT", "BI_LOG_RATIO", "BI_LOG_BUCKETS", "BI_LAST"},
                                            {"BUCKETS", "EXACT", "LOG_RATIO", "LOG_BUCKETS", "LAST"}};
    for (int dir = 0; dir < 2; dir++) {
        int64_t n = dir == 0 ? nb / 2 : nb, me = n / 2;
        ts_var_int(v, names[dir][0], n);
        ts_var_int(v, names[dir][1], me);
        ts_var_float(v, names[dir][2], log((double)md / (double)me));
        ts_var_int(v, names[dir][3], n - me);
        ts_var_int(v, names[dir][4], n - 1);
    }
}

/* ---- T5 classes (ts/t5_*.py.in; decoder-only models are the generic code's: ts_generic.c) ---------- */

/* The flags and values the T5 templates read; the caller sets the class's own. */
static void t5_vars(ts_vars *v, const gen *g, const char *cls) {
    ts_var(v, "CLASS", cls);
    ts_flag(v, "rope", g->rope);
    ts_flag(v, "learned", g->learned);
    ts_flag(v, "sinusoidal", g->sinusoidal);
    ts_flag(v, "relative", g->relative);
    ts_flag(v, "norm", g->has_norm); /* no_norm: the norm modules are identities, absent from the tree */
    ts_flag(v, "gated", llmc_activation_is_gated(g->s->activation));
    ts_flag(v, "bias", false);
    ts_flag(v, "rmsnorm", false);
    ts_flag(v, "decoder", false);
    ts_flag(v, "self_attention", false);
    ts_flag(v, "cross_attention", false);
    ts_var_int(v, "HEADS", g->f->n);
    ts_var_int(v, "KV_HEADS", g->f->m);
    ts_var_int(v, "HEAD_DIM", g->f->d);
    ts_var_int(v, "POSITIONS", g->f->P);
    ts_var_float(v, "EPS", g->s->norm_eps);
}

/* A stack's call of each of its blocks (ts/t5_block_call.py.in): the bias every block reads is
 * the stack's (relative or causal), none in an encoder without relative positions. */
static int t5_block_calls(ts_vars *v, const gen *g, bool decoder, llmc_diags *d) {
    int64_t n = decoder ? g->f->D : g->f->E;
    llmc_strbuf calls = {0};
    int rc = 0;
    for (int64_t i = 0; i < n && !rc; i++) {
        ts_var_int(v, "INDEX", i);
        ts_var(v, "BIAS", g->relative || decoder ? "bias" : "None");
        rc = ts_render("t5_block_call.py", v, &calls, d);
    }
    if (rc) llmc_strbuf_free(&calls);
    else ts_var_take(v, "BLOCK_CALLS", &calls);
    return rc;
}

/* The methods of a T5 class, chosen by its class in ts_model.c's tree. */
static int methods(llmc_strbuf *b, const gen *g, const ts_node *n, llmc_diags *d) {
    const char *c = n->cls, *tmpl = NULL;
    ts_vars v = {0};
    t5_vars(&v, g, c);
    int rc = 0;
    if (!strcmp(c, "Embedding")) {
        tmpl = "t5_embedding.py";
    } else if (!strcmp(c, "Linear") || !strcmp(c, "LinearNoBias")) {
        tmpl = "t5_linear.py";
        ts_flag(&v, "bias", !strcmp(c, "Linear"));
    } else if (!strcmp(c, "RMSNorm") || !strcmp(c, "LayerNorm") || !strcmp(c, "LayerNormNoBias")) {
        tmpl = "t5_norm.py";
        ts_flag(&v, "rmsnorm", !strcmp(c, "RMSNorm"));
        ts_flag(&v, "bias", !strcmp(c, "LayerNorm"));
    } else if (!strcmp(c, "Attention") || !strcmp(c, "RelativeAttention")) {
        tmpl = "t5_attention.py";
    } else if (!strcmp(c, "DenseReluDense")) {
        tmpl = "t5_dense.py";
    } else if (!strcmp(c, "EncoderStack") || !strcmp(c, "DecoderStack")) {
        tmpl = "t5_stack.py";
        ts_flag(&v, "decoder", c[0] == 'D');
        rc = t5_block_calls(&v, g, c[0] == 'D', d);
    } else if (!strcmp(c, "EncoderBlock") || !strcmp(c, "FirstEncoderBlock") || !strcmp(c, "DecoderBlock") ||
               !strcmp(c, "FirstDecoderBlock")) {
        tmpl = "t5_block.py";
        ts_flag(&v, "decoder", strstr(c, "Decoder") != NULL);
    } else if (!strcmp(c, "SelfAttentionLayer") || !strcmp(c, "FirstSelfAttentionLayer") ||
               !strcmp(c, "CrossAttentionLayer") || !strcmp(c, "FeedForwardLayer")) {
        tmpl = "t5_sublayer.py";
        ts_flag(&v, "self_attention", strstr(c, "SelfAttention") != NULL);
        ts_flag(&v, "cross_attention", !strcmp(c, "CrossAttentionLayer"));
    } else if (strcmp(c, "HeadBias")) { /* HeadBias: a parameter holder, no method */
        llmc_error(d, "emit", "torchscript: internal: no code for T5 class %s", c);
        rc = -1;
    }
    if (!rc && tmpl) rc = ts_render(tmpl, &v, b, d);
    ts_vars_free(&v);
    return rc;
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

/* The attribute lines of a class (ts/attribute.py.in): its parameters, or its submodules (by
 * qualified class name; numbered children of a container through __annotations__). */
static int attributes(const ts_node *n, bool kids, ts_vars *into, const char *var, llmc_diags *d) {
    llmc_strbuf b = {0};
    int rc = 0;
    size_t count = kids ? n->n_kids : (size_t)n->n_params;
    for (size_t i = 0; i < count && !rc; i++) {
        ts_vars v = {0};
        char type[LLMC_VIEW_NAME_MAX + 64];
        const char *name = kids ? n->kids[i]->attr : n->params[i].attr;
        snprintf(type, sizeof type, "%s%s", kids ? TS_NS "." : "Tensor", kids ? n->kids[i]->cls : "");
        ts_flag(&v, "numbered", kids && is_index(name));
        ts_var(&v, "NAME", name);
        ts_var(&v, "TYPE", type);
        rc = ts_render("attribute.py", &v, &b, d);
        ts_vars_free(&v);
    }
    if (rc) llmc_strbuf_free(&b);
    else ts_var_take(into, var, &b);
    return rc;
}

/* A class: its declaration (ts/module.py.in; a container's __len__), then a T5 class's methods. */
static int class_text(llmc_strbuf *out, const gen *g, const ts_node *n, bool root, llmc_diags *d) {
    ts_vars v = {0};
    llmc_strbuf names = {0};
    for (int i = 0; i < n->n_params; i++) llmc_strbuf_printf(&names, "\"%s\", ", n->params[i].attr);
    bool container = !root && n->n_kids && is_index(n->kids[0]->attr);
    ts_var(&v, "CLASS", n->cls);
    ts_var_take(&v, "PARAMETER_NAMES", &names);
    ts_flag(&v, "parameters", n->n_params > 0);
    ts_flag(&v, "submodules", n->n_kids > 0);
    ts_flag(&v, "container", container);
    ts_var_int(&v, "LENGTH", (int64_t)n->n_kids);
    int rc = attributes(n, false, &v, "PARAMETERS", d);
    if (!rc) rc = attributes(n, true, &v, "SUBMODULES", d);
    if (!rc) rc = ts_render("module.py", &v, out, d);
    ts_vars_free(&v);
    if (!rc && !g->f->generic && !root && !container) rc = methods(out, g, n, d);
    return rc;
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

    /* llmc.py's flags and constants */
    ts_vars v = {0};
    ts_var(&v, "VERSION", llmc_version());
    ts_var(&v, "ORIGIN", origin);
    ts_var(&v, "ROOT", f->encdec ? "Seq2SeqLM" : "CausalLM");
    ts_flag(&v, "grouped", g.grouped);
    ts_var_float(&v, "SCALE", f->scale);
    if (!activation_flags(&v, s->activation)) {
        llmc_error(d, "emit", "torchscript: activation %d has no code in this emitter", (int)s->activation);
        ts_vars_free(&v);
        free(cl.e);
        return -1;
    }
    ts_flag(&v, "gated", llmc_activation_is_gated(s->activation));
    ts_flag(&v, "rope", g.rope);
    ts_var_int(&v, "HEADS", f->n);
    ts_var_int(&v, "KV_HEADS", f->m);
    ts_var_int(&v, "HEAD_DIM", f->d);
    if (g.rope) rope_vars(&v, &g);
    ts_flag(&v, "sinusoidal", g.sinusoidal);
    ts_var_int(&v, "HALF_HIDDEN", f->H / 2);
    ts_var_float(&v, "SINUSOIDAL_STEP", -2.0 * log(10000.0) / (double)f->H);
    ts_flag(&v, "causal_bias", !f->encdec || !g.relative);
    ts_flag(&v, "sliding", g.sliding);
    ts_var_int(&v, "WINDOW", s->sliding_window);
    ts_flag(&v, "alibi", g.alibi);
    if (g.alibi) alibi_slopes(&v, &g);
    ts_flag(&v, "relative", g.relative);
    if (g.relative) relative_vars(&v, &g);
    ts_flag(&v, "generic", f->generic);
    ts_flag(&v, "qk_norm", f->generic && ts_generic_has_qk_norm(f->ir));
    /* Gemma-2 steps: the generic code sets them from the IR (ts_generic_forward) */
    ts_flag(&v, "softcap", false);
    ts_flag(&v, "full_bias", false);
    ts_flag(&v, "rms_norm_offset", false);
    /* __torch__.py: the root; rendered first, since llmc.py holds only the helpers it calls */
    ts_vars r = {0};
    ts_var(&r, "VERSION", llmc_version());
    ts_var(&r, "ORIGIN", origin);
    ts_flag(&r, "generic", f->generic);
    ts_flag(&r, "learned", g.learned);
    ts_flag(&r, "sinusoidal", g.sinusoidal);
    ts_flag(&r, "rope", g.rope);
    ts_flag(&r, "embedding_scale", false);
    ts_flag(&r, "full_bias", false);
    ts_flag(&r, "logit_softcap", false);
    llmc_strbuf text = {0};
    int rc = class_text(&text, &g, cl.e[0].first, true, d);
    ts_var_take(&r, "ROOT_CLASS", &text);
    if (!rc && f->generic) rc = ts_generic_forward(&r, &v, f, d);
    /* T5's root (ts/seq2seq.py.in) */
    ts_flag(&r, "out_scale", f->has_out_scale);
    ts_var_float(&r, "OUT_SCALE", f->out_scale);
    ts_flag(&r, "tied", s->tie_word_embeddings);
    ts_flag(&r, "head_bias", s->bias.lm_head);
    if (!rc) rc = ts_render("root.py", &r, root_src, d);
    ts_vars_free(&r);
    /* llmc.py: helpers first, then every class but the root */
    llmc_strbuf classes = {0};
    for (size_t i = 1; i < cl.n && !rc; i++) rc = class_text(&classes, &g, cl.e[i].first, false, d);
    ts_flag(&v, "classes", cl.n > 1);
    ts_var_take(&v, "CLASSES", &classes);
    if (!rc) rc = ts_render("llmc.py", &v, ns_src, d);
    ts_vars_free(&v);
    free(cl.e);
    if (rc) return -1;
    if (llmc_diags_errors(d) > errors_before) return -1;
    if (root_src->oom || ns_src->oom) {
        llmc_error(d, "emit", "torchscript: out of memory writing the model code");
        return -1;
    }
    unsigned v1 = code_version(root_src->s), v2 = code_version(ns_src->s);
    *version = v1 > v2 ? v1 : v2;
    return 0;
}
