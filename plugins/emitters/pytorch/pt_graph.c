/* pytorch emitter — the generic decoder: a package for any decoder-only graph whose blocks the
 * generated Block class computes, driven by the IR instead of the built-in templates' module
 * trees. Every block is described by its descriptor (residual wiring, norm placement, which
 * sub-layers) and by the IR names of its parameters, found by role and norm site; the package's
 * state_dict names are the IR's (the safetensors names). Before anything is written, every op
 * of the graph is checked to be one the generated code computes (with the attrs it computes)
 * and every parameter to have a place in it, so a graph the package would miscompute is
 * refused, naming what differs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt_emit.h"
#include "pt_text.h"

/* ---- which package code a graph gets ------------------------------------------------------ */

/* Gemma-2 style steps the built-in module trees do not take: a scaled embedding, soft-capped
 * scores or logits, an (offset + w) RMSNorm, or attention ops that differ in their mask (windowed
 * and global layers). The generic decoder computes them. */
static bool gemma_steps(const llmc_ir *ir) {
    /* encoder-decoder graphs (T5: unmasked encoder, causal decoder) cannot carry them: the
     * template refuses the options */
    if (llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY) return false;
    const char *mask0 = NULL;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        const llmc_attr *a;
        if (op->type == LLMC_OP_SOFTCAP || (op->type == LLMC_OP_SCALE && op->role == LLMC_OPROLE_EMBEDDING)) return true;
        if (op->type == LLMC_OP_RMSNORM && (a = llmc_op_attr(op, "weight_offset")) && llmc_attr_number(a) != 0) return true;
        if (op->type != LLMC_OP_ATTENTION) continue;
        if ((a = llmc_op_attr(op, "softcap")) && llmc_attr_number(a) != 0) return true;
        const char *mask = (a = llmc_op_attr(op, "mask")) && a->type == LLMC_ATTR_STRING && a->s ? a->s : "none";
        if (mask0 && strcmp(mask, mask0)) return true;
        mask0 = mask;
    }
    return false;
}

bool pt_builtin_graph(const llmc_ir *ir) {
    llmc_ir_structure st = llmc_ir_get_structure(ir);
    if (st == LLMC_STRUCTURE_UNSET || llmc_ir_first_block_not_pre_sequential(ir) || gemma_steps(ir)) return false;
    /* the built-in module trees hold the embedding under these names (the rest is checked
     * name by name against the layout before writing, pt_check_params) */
    const char *want = st == LLMC_STRUCTURE_ENCODER_DECODER ? "shared.weight" : "model.embed_tokens.weight";
    const llmc_tensor_info *t = llmc_ir_tensor(
        ir, llmc_ir_find_param(ir, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE));
    return t && !strcmp(t->name, want);
}

/* ---- walking the graph ---------------------------------------------------------------------- */

typedef struct walk {
    const llmc_spec *s;
    const llmc_ir *ir;
    llmc_diags *d;
    llmc_strbuf *out;        /* NULL: check only */
    bool *used;              /* per tensor: a parameter the package has a place for */
    int errors;
    int64_t H, n, m, hd;     /* hidden size, query heads, kv heads, head dim (from the attention ops) */
    double embedding_scale;  /* factor of the SCALE op after the embedding, 0 if none */
    double logit_softcap;    /* cap of the SOFTCAP op after the head, 0 if none */
    double norm_offset;      /* weight_offset of the RMSNORM ops (all alike), 0 if none */
    bool norm_offset_seen;
} walk;

static void refuse(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(walk *w, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->errors++ < 12) llmc_error(w->d, "emit", "pytorch: %s", msg);
}

static const llmc_tensor_info *info(const walk *w, llmc_tid t) { return t == LLMC_TID_NONE ? NULL : llmc_ir_tensor(w->ir, t); }

/* the parameter of (role, bias) in (stack, layer), checked against the expected shape ([rows]
 * or [rows, cols]; -1 leaves a dim free) and marked used; LLMC_TID_NONE if absent */
static llmc_tid take(walk *w, llmc_param_role role, bool bias, llmc_stack st, int layer, llmc_norm_site site,
                     int64_t rows, int64_t cols) {
    llmc_tid t = llmc_ir_find_param(w->ir, role, bias, st, layer, site);
    const llmc_tensor_info *p = info(w, t);
    if (!p) return LLMC_TID_NONE;
    int rank = bias || role == LLMC_ROLE_NORM ? 1 : 2;
    bool ok = p->rank == rank && (rows < 0 || p->shape[0] == rows) && (rank == 1 || cols < 0 || p->shape[1] == cols);
    if (!ok)
        refuse(w, "parameter '%s' (%s%s) has a shape the generated block cannot use (expected [%lld%s%lld])",
             p->name, llmc_param_role_name(role), bias ? " bias" : "", (long long)rows, rank == 2 ? ", " : "",
             rank == 2 ? (long long)cols : 0LL);
    w->used[t] = true;
    return t;
}

static void put_name(walk *w, llmc_tid t) {
    if (!w->out) return;
    const llmc_tensor_info *p = info(w, t);
    if (p) pt_put_pystr(w->out, p->name);
    else llmc_strbuf_puts(w->out, "None");
}

/* ("weight", "bias") of a linear map or a norm, or None when the weight is absent */
static void put_pair(walk *w, llmc_tid weight, llmc_tid bias) {
    if (!w->out) return;
    if (weight == LLMC_TID_NONE) {
        llmc_strbuf_puts(w->out, "None");
        return;
    }
    llmc_strbuf_puts(w->out, "(");
    put_name(w, weight);
    llmc_strbuf_puts(w->out, ", ");
    put_name(w, bias);
    llmc_strbuf_puts(w->out, ")");
}

/* a linear map of a block: weight [rows, cols] and its optional bias [rows] */
static void linear(walk *w, const char *key, llmc_param_role role, llmc_stack st, int layer, int64_t rows,
                   int64_t cols, bool *first) {
    llmc_tid wt = take(w, role, false, st, layer, LLMC_NORM_SITE_NONE, rows, cols);
    llmc_tid b = take(w, role, true, st, layer, LLMC_NORM_SITE_NONE, rows, -1);
    if (wt == LLMC_TID_NONE) {
        if (b != LLMC_TID_NONE) refuse(w, "'%s' is a %s bias without its weight", info(w, b)->name, llmc_param_role_name(role));
        return;
    }
    if (b != LLMC_TID_NONE && info(w, b)->shape[0] != info(w, wt)->shape[0])
        refuse(w, "bias '%s' does not match the rows of '%s'", info(w, b)->name, info(w, wt)->name);
    if (!w->out) return;
    llmc_strbuf_printf(w->out, "%s\"%s\": ", *first ? "" : ", ", key);
    put_pair(w, wt, b);
    *first = false;
}

static llmc_tid norm_at(walk *w, llmc_stack st, int layer, llmc_norm_site site, llmc_tid *bias) {
    llmc_tid t = take(w, LLMC_ROLE_NORM, false, st, layer, site, w->H, -1);
    *bias = take(w, LLMC_ROLE_NORM, true, st, layer, site, w->H, -1);
    if (t == LLMC_TID_NONE && *bias != LLMC_TID_NONE)
        refuse(w, "norm bias '%s' has no norm weight beside it", info(w, *bias)->name);
    return t;
}

static bool str_attr(const llmc_op_info *op, const char *key, const char *dflt, const char **out);
static double num_attr(const llmc_op_info *op, const char *key, double dflt);

/* One entry of BLOCKS: the descriptor and the IR names of the block's parameters by role. */
static void block(walk *w, const llmc_ir_block *b, size_t index) {
    const char *where = llmc_stack_name(b->stack);
    if (b->stack != LLMC_STACK_DECODER)
        refuse(w, "block %s %d: the decoder-only package computes one decoder stack", where, b->layer);
    if (b->cross_attention)
        refuse(w, "block %s %d has cross-attention, which a decoder-only package has no encoder for", where, b->layer);
    if (b->residual == LLMC_RESIDUAL_PARALLEL && b->norm_placement == LLMC_NORM_PLACEMENT_POST)
        refuse(w, "block %s %d is parallel with post norms: the generated block has no rule for which norm "
             "follows the joint residual", where, b->layer);
    if (w->out)
        llmc_strbuf_printf(w->out, "    {\"index\": %zu, \"layer\": %d, \"residual\": \"%s\", \"norm_placement\": \"%s\",\n",
                           index, b->layer, llmc_residual_name(b->residual), llmc_norm_placement_name(b->norm_placement));
    /* norms by site: which sites may carry one follows from the placement */
    static const llmc_norm_site pre_sites[] = {LLMC_NORM_SITE_ATTN_INPUT, LLMC_NORM_SITE_MLP_INPUT, LLMC_NORM_SITE_BLOCK_INPUT};
    static const llmc_norm_site post_sites[] = {LLMC_NORM_SITE_POST_ATTN, LLMC_NORM_SITE_POST_MLP};
    bool pre = b->norm_placement == LLMC_NORM_PLACEMENT_PRE || b->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH;
    bool post = b->norm_placement == LLMC_NORM_PLACEMENT_POST || b->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH;
    if (w->out) llmc_strbuf_puts(w->out, "     \"norms\": {");
    bool first = true;
    for (int k = 0; k < 2; k++) {
        const llmc_norm_site *sites = k == 0 ? pre_sites : post_sites;
        size_t n_sites = k == 0 ? 3 : 2;
        if (!(k == 0 ? pre : post)) continue;
        for (size_t i = 0; i < n_sites; i++) {
            if (sites[i] == LLMC_NORM_SITE_BLOCK_INPUT && b->residual != LLMC_RESIDUAL_PARALLEL) continue;
            llmc_tid nb, nw = norm_at(w, b->stack, b->layer, sites[i], &nb);
            if (nw == LLMC_TID_NONE || !w->out) continue;
            llmc_strbuf_printf(w->out, "%s\"%s\": ", first ? "" : ", ", llmc_norm_site_name(sites[i]));
            put_pair(w, nw, nb);
            first = false;
        }
    }
    if (w->out) llmc_strbuf_puts(w->out, "},\n     \"attention\": ");
    if (b->self_attention && w->out) {
        /* the block's attention op: its window (None: the whole past) and score soft-cap */
        const llmc_op_info *at = NULL;
        for (size_t i = 0; i < llmc_ir_num_ops(w->ir) && !at; i++) {
            const llmc_op_info *op = llmc_ir_op_at(w->ir, i);
            if (op->type == LLMC_OP_ATTENTION && op->stack == b->stack && op->layer == b->layer) at = op;
        }
        const char *mask = "causal";
        if (at) str_attr(at, "mask", "causal", &mask);
        double win = at && mask && !strcmp(mask, "sliding_window") ? num_attr(at, "window", 0) : 0;
        double cap = at ? num_attr(at, "softcap", 0) : 0;
        if (win > 0) llmc_strbuf_printf(w->out, "{\"window\": %lld, ", (long long)win);
        else llmc_strbuf_puts(w->out, "{\"window\": None, ");
        if (cap > 0) llmc_strbuf_printf(w->out, "\"softcap\": %.17g, ", cap);
        else llmc_strbuf_puts(w->out, "\"softcap\": None, ");
    }
    if (b->self_attention) {
        int64_t qw = w->n * w->hd, kw = w->m * w->hd;
        first = true;
        linear(w, "q", LLMC_ROLE_ATTN_Q, b->stack, b->layer, qw, w->H, &first);
        linear(w, "k", LLMC_ROLE_ATTN_K, b->stack, b->layer, kw, w->H, &first);
        linear(w, "v", LLMC_ROLE_ATTN_V, b->stack, b->layer, kw, w->H, &first);
        linear(w, "qkv", LLMC_ROLE_ATTN_QKV, b->stack, b->layer, qw + 2 * kw, w->H, &first);
        linear(w, "o", LLMC_ROLE_ATTN_O, b->stack, b->layer, w->H, qw, &first);
        bool split = llmc_ir_find_param(w->ir, LLMC_ROLE_ATTN_Q, false, b->stack, b->layer, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE;
        bool fused = llmc_ir_find_param(w->ir, LLMC_ROLE_ATTN_QKV, false, b->stack, b->layer, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE;
        bool k_v = llmc_ir_find_param(w->ir, LLMC_ROLE_ATTN_K, false, b->stack, b->layer, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE &&
                   llmc_ir_find_param(w->ir, LLMC_ROLE_ATTN_V, false, b->stack, b->layer, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE;
        bool out = llmc_ir_find_param(w->ir, LLMC_ROLE_ATTN_O, false, b->stack, b->layer, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE;
        if (split == fused || (split && !k_v) || !out)
            refuse(w, "block %s %d: self-attention needs q, k, v (or a fused qkv) and an output projection", where, b->layer);
        if (w->out) llmc_strbuf_puts(w->out, "}");
    } else if (w->out) {
        llmc_strbuf_puts(w->out, "None");
    }
    if (w->out) llmc_strbuf_puts(w->out, ",\n     \"mlp\": ");
    if (b->mlp) {
        first = true;
        if (w->out) llmc_strbuf_puts(w->out, "{");
        bool gated = llmc_activation_is_gated(w->s->activation);
        linear(w, "gate", LLMC_ROLE_MLP_GATE, b->stack, b->layer, -1, w->H, &first);
        linear(w, "up", LLMC_ROLE_MLP_UP, b->stack, b->layer, -1, w->H, &first);
        linear(w, "down", LLMC_ROLE_MLP_DOWN, b->stack, b->layer, w->H, -1, &first);
        const llmc_tensor_info *g = info(w, llmc_ir_find_param(w->ir, LLMC_ROLE_MLP_GATE, false, b->stack, b->layer, LLMC_NORM_SITE_NONE));
        const llmc_tensor_info *u = info(w, llmc_ir_find_param(w->ir, LLMC_ROLE_MLP_UP, false, b->stack, b->layer, LLMC_NORM_SITE_NONE));
        const llmc_tensor_info *dn = info(w, llmc_ir_find_param(w->ir, LLMC_ROLE_MLP_DOWN, false, b->stack, b->layer, LLMC_NORM_SITE_NONE));
        if (!u || !dn || (gated != (g != NULL)))
            refuse(w, "block %s %d: the spec's %s MLP needs %sup and down projections%s", where, b->layer,
                 llmc_activation_name(w->s->activation), gated ? "gate, " : "",
                 !gated && g ? ", and no gate (the graph has one)" : "");
        else if (u->rank == 2 && dn->rank == 2 && (dn->shape[1] != u->shape[0] || (g && g->shape[0] != u->shape[0])))
            refuse(w, "block %s %d: the MLP's inner widths disagree ('%s', '%s')", where, b->layer, u->name, dn->name);
        if (w->out) llmc_strbuf_puts(w->out, "}");
    } else if (w->out) {
        llmc_strbuf_puts(w->out, "None");
    }
    if (w->out) llmc_strbuf_puts(w->out, "},\n");
}

/* ---- the ops: each one the generated code computes, with the attrs it computes ------------- */

static bool str_attr(const llmc_op_info *op, const char *key, const char *dflt, const char **out) {
    const llmc_attr *a = llmc_op_attr(op, key);
    if (!a) { *out = dflt; return true; }
    if (a->type != LLMC_ATTR_STRING || !a->s) return false;
    *out = a->s;
    return true;
}

static double num_attr(const llmc_op_info *op, const char *key, double dflt) {
    const llmc_attr *a = llmc_op_attr(op, key);
    return a && (a->type == LLMC_ATTR_INT || a->type == LLMC_ATTR_FLOAT) ? llmc_attr_number(a) : dflt;
}

typedef struct seen_ops {
    bool rope, learned, sinusoidal, alibi;
} seen_ops;

/* the op types each scope may hold */
static bool allowed(llmc_op_role r, llmc_op_type t) {
    switch (r) {
    case LLMC_OPROLE_EMBEDDING: return t == LLMC_OP_EMBEDDING || t == LLMC_OP_SCALE; /* SCALE: sqrt(hidden) */
    case LLMC_OPROLE_POSITIONS:
        return t == LLMC_OP_POSITIONS_LEARNED || t == LLMC_OP_POSITIONS_SINUSOIDAL || t == LLMC_OP_ADD || t == LLMC_OP_ALIBI;
    case LLMC_OPROLE_NORM: return t == LLMC_OP_RMSNORM || t == LLMC_OP_LAYERNORM;
    case LLMC_OPROLE_SELF_ATTENTION:
        return t == LLMC_OP_LINEAR || t == LLMC_OP_RESHAPE || t == LLMC_OP_ROPE || t == LLMC_OP_ALIBI || t == LLMC_OP_ATTENTION;
    case LLMC_OPROLE_MLP:
        return t == LLMC_OP_LINEAR || t == LLMC_OP_ACTIVATION || t == LLMC_OP_SWIGLU || t == LLMC_OP_GEGLU;
    case LLMC_OPROLE_RESIDUAL: return t == LLMC_OP_ADD;
    case LLMC_OPROLE_HEAD: return t == LLMC_OP_LINEAR || t == LLMC_OP_SOFTCAP;
    default: return false;
    }
}

static void check_op(walk *w, const llmc_op_info *op, seen_ops *seen) {
    const llmc_spec *s = w->s;
    const char *role = llmc_op_role_name(op->role), *type = llmc_op_type_name(op->type);
    if (!allowed(op->role, op->type)) {
        refuse(w, "op '%s' (%s in the %s scope) is not one the generated decoder computes", op->name, type, role);
        return;
    }
    const char *str = NULL;
    switch (op->type) {
    case LLMC_OP_RMSNORM:
    case LLMC_OP_LAYERNORM: {
        bool rms = op->type == LLMC_OP_RMSNORM;
        if ((rms && s->norm != LLMC_NORM_RMSNORM) || (!rms && s->norm != LLMC_NORM_LAYERNORM))
            refuse(w, "op '%s' is a %s, the spec's norm is %s", op->name, type, llmc_norm_name(s->norm));
        if (op->n_inputs < 2 || op->inputs[1] == LLMC_TID_NONE)
            refuse(w, "norm op '%s' has no weight parameter: the package finds norms by their parameters", op->name);
        if (num_attr(op, "eps", s->norm_eps) != s->norm_eps)
            refuse(w, "norm op '%s' has eps %g, the spec's norm_eps is %g", op->name, num_attr(op, "eps", 0), s->norm_eps);
        if (rms) { /* the package has one (offset + w) rule for every norm */
            double off = num_attr(op, "weight_offset", 0);
            if (w->norm_offset_seen && off != w->norm_offset)
                refuse(w, "norm op '%s' scales by (%g + w), another norm by (%g + w); the package has one rule",
                       op->name, off, w->norm_offset);
            w->norm_offset = off;
            w->norm_offset_seen = true;
        }
        break;
    }
    case LLMC_OP_SCALE:
        if (w->embedding_scale != 0)
            refuse(w, "op '%s' scales the embedding a second time; the package scales it once", op->name);
        w->embedding_scale = num_attr(op, "factor", 1.0);
        break;
    case LLMC_OP_SOFTCAP: {
        /* the cap must be the last step: it reads the head's output and writes the graph's */
        const llmc_tensor_info *x = info(w, op->n_inputs > 0 ? op->inputs[0] : LLMC_TID_NONE);
        const llmc_op_info *src = x && x->producer >= 0 ? llmc_ir_op_at(w->ir, (size_t)x->producer) : NULL;
        if (!src || src->type != LLMC_OP_LINEAR || src->role != LLMC_OPROLE_HEAD || llmc_ir_num_outputs(w->ir) != 1 ||
            op->outputs[0] != llmc_ir_output(w->ir, 0))
            refuse(w, "op '%s' soft-caps something other than the head's logits; the package caps only those", op->name);
        w->logit_softcap = num_attr(op, "cap", 0);
        break;
    }
    case LLMC_OP_ROPE:
        seen->rope = true;
        if (num_attr(op, "fraction", 1.0) != s->rope.fraction)
            refuse(w, "op '%s' rotates %g of the head dim; the package rotates the spec's rope.fraction %g of it",
                   op->name, num_attr(op, "fraction", 1.0), s->rope.fraction);
        if (!str_attr(op, "style", "neox", &str) || strcmp(str, "neox"))
            refuse(w, "op '%s' has rope style '%s'; the package rotates halves (neox)", op->name, str ? str : "?");
        if (num_attr(op, "theta", s->rope.theta) != s->rope.theta)
            refuse(w, "op '%s' has rope theta %g, the spec's is %g", op->name, num_attr(op, "theta", 0), s->rope.theta);
        break;
    case LLMC_OP_ATTENTION:
        /* a windowed model may have global layers too (sliding_window_pattern): each block has its own */
        if (!str_attr(op, "mask", "none", &str) ||
            (strcmp(str, s->attention == LLMC_ATTN_SLIDING_WINDOW ? "sliding_window" : "causal") &&
             !(s->attention == LLMC_ATTN_SLIDING_WINDOW && !strcmp(str, "causal"))))
            refuse(w, "attention op '%s' has mask '%s'; the decoder package computes %s attention", op->name,
                 str ? str : "?", s->attention == LLMC_ATTN_SLIDING_WINDOW ? "sliding-window" : "causal");
        break;
    case LLMC_OP_ACTIVATION:
        if (llmc_activation_is_gated(s->activation) || !str_attr(op, "fn", "", &str) ||
            strcmp(str, llmc_activation_name(s->activation)))
            refuse(w, "op '%s' applies %s, the spec's activation is %s", op->name, str ? str : "?",
                 llmc_activation_name(s->activation));
        break;
    case LLMC_OP_SWIGLU:
        if (s->activation != LLMC_ACT_SWIGLU)
            refuse(w, "op '%s' is swiglu, the spec's activation is %s", op->name, llmc_activation_name(s->activation));
        break;
    case LLMC_OP_GEGLU:
        if (s->activation != LLMC_ACT_GEGLU || num_attr(op, "approximate", 0) != 1)
            refuse(w, "op '%s' is geglu (approximate %g); the package computes geglu with the tanh GELU when the "
                 "spec's activation is geglu (it is %s)", op->name, num_attr(op, "approximate", 0),
                 llmc_activation_name(s->activation));
        break;
    case LLMC_OP_POSITIONS_LEARNED: seen->learned = true; break;
    case LLMC_OP_POSITIONS_SINUSOIDAL:
        seen->sinusoidal = true;
        if (num_attr(op, "dim", (double)w->H) != (double)w->H)
            refuse(w, "op '%s' makes %g-wide positions, the hidden size is %lld", op->name, num_attr(op, "dim", 0), (long long)w->H);
        break;
    case LLMC_OP_ALIBI:
        seen->alibi = true;
        if (num_attr(op, "max_bias", s->alibi_max_bias) != s->alibi_max_bias)
            refuse(w, "op '%s' has ALiBi max_bias %g, the spec's is %g", op->name, num_attr(op, "max_bias", 0), s->alibi_max_bias);
        break;
    default: break;
    }
}

/* heads and head dim from the attention ops (all must agree: the package has one set) */
static int attention_shape(walk *w) {
    bool found = false;
    for (size_t i = 0; i < llmc_ir_num_ops(w->ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(w->ir, i);
        if (op->type != LLMC_OP_ATTENTION || op->n_inputs < 3) continue;
        const llmc_tensor_info *q = info(w, op->inputs[0]), *k = info(w, op->inputs[1]);
        if (!q || !k || q->rank != 4 || k->rank != 4) continue;
        if (!found) {
            w->n = q->shape[2];
            w->hd = q->shape[3];
            w->m = k->shape[2];
            found = true;
        } else if (w->n != q->shape[2] || w->hd != q->shape[3] || w->m != k->shape[2]) {
            refuse(w, "attention op '%s' has another head layout than the first attention op", op->name);
        }
    }
    if (!found) refuse(w, "the graph has no attention op with [batch, seq, heads, head_dim] inputs");
    return found ? 0 : -1;
}

static int run(walk *w) {
    const llmc_ir *ir = w->ir;
    const llmc_spec *s = w->s;
    if (llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY) {
        refuse(w, "the generic package computes decoder-only graphs; this %s graph has parameters the built-in "
             "encoder-decoder (T5) modules do not hold", llmc_ir_structure_name(llmc_ir_get_structure(ir)));
        return -1;
    }
    llmc_tid emb = take(w, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE, -1, -1);
    const llmc_tensor_info *e = info(w, emb);
    if (!e || e->rank != 2) {
        refuse(w, "the graph has no token embedding [vocab, hidden]");
        return -1;
    }
    w->H = e->shape[1];
    if (attention_shape(w)) return -1;

    seen_ops seen = {false, false, false, false};
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) check_op(w, llmc_ir_op_at(ir, i), &seen);
    struct { bool ir, spec; const char *what; } pos[] = {
        {seen.rope, s->positional == LLMC_POS_ROPE, "rope"},
        {seen.learned, s->positional == LLMC_POS_LEARNED, "learned"},
        {seen.sinusoidal, s->positional == LLMC_POS_SINUSOIDAL, "sinusoidal"},
        {seen.alibi, s->positional == LLMC_POS_ALIBI, "alibi"}};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].ir != pos[i].spec)
            refuse(w, "the graph %s %s positions but the spec's positional_encoding is %s", pos[i].ir ? "has" : "has no",
                 pos[i].what, llmc_positional_name(s->positional));
    if (s->positional == LLMC_POS_RELATIVE) refuse(w, "the generic decoder has no relative position bias");

    llmc_tid pe = take(w, LLMC_ROLE_POSITION_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE, -1, w->H);
    if ((pe != LLMC_TID_NONE) != seen.learned)
        refuse(w, "learned positions need exactly one position embedding parameter");
    if (pe != LLMC_TID_NONE && info(w, pe)->shape[0] < s->context_length)
        refuse(w, "position table '%s' has %lld rows, fewer than context_length %lld", info(w, pe)->name,
             (long long)info(w, pe)->shape[0], (long long)s->context_length);
    llmc_tid enb, en = norm_at(w, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_EMBEDDING, &enb);
    llmc_tid fnb, fn = norm_at(w, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_FINAL, &fnb);
    if (fn == LLMC_TID_NONE) fn = norm_at(w, LLMC_STACK_DECODER, -1, LLMC_NORM_SITE_FINAL, &fnb);

    /* the head: the LINEAR op of the head scope says which weight it reads (the embedding when tied) */
    llmc_tid hw = LLMC_TID_NONE, hb = LLMC_TID_NONE;
    int heads = 0;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->role != LLMC_OPROLE_HEAD || op->type != LLMC_OP_LINEAR) continue;
        heads++;
        hw = op->n_inputs > 1 ? op->inputs[1] : LLMC_TID_NONE;
        hb = op->n_inputs > 2 ? op->inputs[2] : LLMC_TID_NONE;
    }
    const llmc_tensor_info *hwi = info(w, hw);
    if (heads != 1 || !hwi || hwi->kind != LLMC_TENSOR_PARAM ||
        (hw != emb && hwi->role != LLMC_ROLE_OUTPUT_HEAD) || hwi->rank != 2 || hwi->shape[1] != w->H)
        refuse(w, "the graph needs one output head: a linear map of the token embedding or an output_head weight");
    if (hb != LLMC_TID_NONE && (!info(w, hb) || info(w, hb)->role != LLMC_ROLE_OUTPUT_HEAD || !info(w, hb)->is_bias))
        refuse(w, "the head's bias is not an output_head bias parameter");
    if (hw != LLMC_TID_NONE) w->used[hw] = true;
    if (hb != LLMC_TID_NONE) w->used[hb] = true;

    if (w->out) {
        llmc_strbuf *o = w->out;
        llmc_strbuf_puts(o, "TOKEN_EMBEDDING = ");
        put_name(w, emb);
        llmc_strbuf_puts(o, "\nPOSITION_EMBEDDING = ");
        put_name(w, pe);
        llmc_strbuf_puts(o, "\nEMBEDDING_NORM = ");
        put_pair(w, en, enb);
        llmc_strbuf_puts(o, "  # (weight, bias) or None\nFINAL_NORM = ");
        put_pair(w, fn, fnb);
        llmc_strbuf_puts(o, "\nHEAD = ");
        put_pair(w, hw, hb);
        llmc_strbuf_puts(o, "  # the weight is TOKEN_EMBEDDING when the head is tied\n");
        /* Gemma-2 style steps (None / 0 when the graph has none) */
        if (w->embedding_scale != 0) llmc_strbuf_printf(o, "EMBEDDING_SCALE = %.17g  # h = embed(ids) * this, in h's dtype\n", w->embedding_scale);
        else llmc_strbuf_puts(o, "EMBEDDING_SCALE = None\n");
        llmc_strbuf_printf(o, "NORM_WEIGHT_OFFSET = %.17g  # rmsnorm scales by (this + weight)\n", w->norm_offset);
        if (w->logit_softcap != 0) llmc_strbuf_printf(o, "LOGIT_SOFTCAP = %.17g  # logits = cap * tanh(logits / cap)\n", w->logit_softcap);
        else llmc_strbuf_puts(o, "LOGIT_SOFTCAP = None\n");
        llmc_strbuf_puts(o, "BLOCKS = [\n");
    }
    size_t nb = llmc_ir_num_blocks(ir);
    if (nb == 0) refuse(w, "the graph declares no blocks");
    for (size_t i = 0; i < nb; i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->layer != (int)i) refuse(w, "block %zu is layer %d: the package runs the blocks in layer order 0, 1, ...", i, b->layer);
        block(w, b, i);
    }
    if (w->out) llmc_strbuf_puts(w->out, "]\n# every parameter: (name, shape), as in the safetensors file\nPARAMETERS = [\n");
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind != LLMC_TENSOR_PARAM) continue;
        if (!w->used[i])
            refuse(w, "parameter '%s' (%s%s, %s %d) has no place in the generated block", t->name,
                 llmc_param_role_name(t->role), t->is_bias ? " bias" : "", llmc_stack_name(t->stack), t->layer);
        if (!w->out) continue;
        llmc_strbuf_puts(w->out, "    (");
        pt_put_pystr(w->out, t->name);
        llmc_strbuf_puts(w->out, ", (");
        for (int k = 0; k < t->rank; k++) llmc_strbuf_printf(w->out, "%lld%s", (long long)t->shape[k], t->rank == 1 || k + 1 < t->rank ? ", " : "");
        llmc_strbuf_puts(w->out, ")),\n");
    }
    if (w->out) llmc_strbuf_puts(w->out, "]");
    return w->errors ? -1 : 0;
}

int pt_graph_tables(const llmc_spec *s, const llmc_ir *ir, llmc_strbuf *out, int64_t *heads, int64_t *kv_heads,
                    int64_t *head_dim, llmc_diags *d) {
    walk w;
    memset(&w, 0, sizeof w);
    w.s = s;
    w.ir = ir;
    w.d = d;
    w.out = out;
    size_t n = llmc_ir_num_tensors(ir);
    w.used = calloc(n ? n : 1, sizeof *w.used);
    if (!w.used) {
        llmc_error(d, "emit", "pytorch: out of memory reading the graph");
        return -1;
    }
    int rc = run(&w);
    if (w.errors > 12) llmc_error(d, "emit", "pytorch: ... and %d more differences", w.errors - 12);
    if (heads) *heads = w.n;
    if (kv_heads) *kv_heads = w.m;
    if (head_dim) *head_dim = w.hd;
    free(w.used);
    return rc;
}

/* the model's computation for the docstring: embedding, the first block's wiring, head */
void pt_graph_wiring(const llmc_ir *ir, llmc_strbuf *out) {
    const llmc_ir_block *b = llmc_ir_num_blocks(ir) ? llmc_ir_block_at(ir, 0) : NULL;
    if (!b) return;
    bool par = b->residual == LLMC_RESIDUAL_PARALLEL;
    llmc_strbuf_puts(out, "    h = embed(input_ids)");
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        llmc_op_type t = llmc_ir_op_at(ir, i)->type;
        if (t == LLMC_OP_POSITIONS_LEARNED || t == LLMC_OP_POSITIONS_SINUSOIDAL) {
            llmc_strbuf_puts(out, t == LLMC_OP_POSITIONS_LEARNED ? " + learned positions" : " + sinusoidal positions");
            break;
        }
    }
    if (llmc_ir_find_param(ir, LLMC_ROLE_NORM, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_EMBEDDING) != LLMC_TID_NONE)
        llmc_strbuf_puts(out, ", normalised");
    llmc_strbuf_puts(out, "\n    each block: ");
    switch (b->norm_placement) {
    case LLMC_NORM_PLACEMENT_PRE:
        llmc_strbuf_puts(out, par ? "h = h + (attention(norm(h)) + mlp(norm(h)))"
                                  : "h = h + attention(norm_1(h));  h = h + mlp(norm_2(h))");
        break;
    case LLMC_NORM_PLACEMENT_POST:
        llmc_strbuf_puts(out, "h = norm_1(h + attention(h));  h = norm_2(h + mlp(h))");
        break;
    case LLMC_NORM_PLACEMENT_SANDWICH:
        llmc_strbuf_puts(out, par ? "h = h + (norm_2(attention(norm_1(h))) + norm_4(mlp(norm_3(h))))"
                                  : "h = h + norm_2(attention(norm_1(h)));  h = h + norm_4(mlp(norm_3(h)))");
        break;
    default:
        llmc_strbuf_puts(out, par ? "h = h + (attention(h) + mlp(h))" : "h = h + attention(h);  h = h + mlp(h)");
        break;
    }
    llmc_strbuf_printf(out, "\n        (block 0 of %zu: %s residual, %s norms; BLOCKS has each block's descriptor)\n",
                       llmc_ir_num_blocks(ir), llmc_residual_name(b->residual), llmc_norm_placement_name(b->norm_placement));
    bool final = llmc_ir_find_param(ir, LLMC_ROLE_NORM, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_FINAL) != LLMC_TID_NONE ||
                 llmc_ir_find_param(ir, LLMC_ROLE_NORM, false, LLMC_STACK_DECODER, -1, LLMC_NORM_SITE_FINAL) != LLMC_TID_NONE;
    llmc_strbuf_puts(out, final ? "    logits = head(final_norm(h))" : "    logits = head(h)");
}
