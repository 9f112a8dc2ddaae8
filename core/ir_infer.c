/* Shape and dtype inference, one rule per op type (the rules are listed next to
 * llmc_op_type in ir.h and in docs/ir.md). Shared by the builder, which records the
 * inferred output, and by llmc_ir_validate, which re-runs it over a finished graph.
 *
 * Dims: a positive size or a symbol (B = -1, S = -2, T = -3). A symbol equals only itself;
 * in broadcasting a 1 stretches to anything, including a symbol.
 * Dtypes: ids are integer tensors, everything else is float; all float operands of one op
 * share one dtype, which the output takes. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"
#include "util.h"

/* ---- the op table --------------------------------------------------------------------------- */

typedef struct attr_rule {
    const char *key;
    llmc_attr_type type;
    bool required;
} attr_rule;

#define MAX_ATTR_RULES 10
typedef struct op_rule {
    int min_in, max_in;
    const char *roles[LLMC_IR_MAX_INPUTS];
    attr_rule attrs[MAX_ATTR_RULES]; /* ends at the first NULL key */
} op_rule;

#define I_ LLMC_ATTR_INT
#define F_ LLMC_ATTR_FLOAT
#define S_ LLMC_ATTR_STRING
#define V_ LLMC_ATTR_INTS
static const op_rule rules[LLMC_OP_TYPE_COUNT] = {
    [LLMC_OP_EMBEDDING] = {2, 2, {"ids", "table"}, {{0}}},
    [LLMC_OP_LINEAR] = {2, 3, {"input", "weight", "bias"}, {{0}}},
    [LLMC_OP_RMSNORM] = {1, 2, {"input", "weight"}, {{"eps", F_, true}, {"weight_offset", F_, false}}},
    [LLMC_OP_LAYERNORM] = {1, 3, {"input", "weight", "bias"}, {{"eps", F_, true}}},
    [LLMC_OP_RESHAPE] = {1, 1, {"input"}, {{"shape", V_, true}}},
    [LLMC_OP_ROPE] = {1, 1, {"input"},
                      {{"theta", F_, true}, {"scaling", S_, false}, {"factor", F_, false},
                       {"original_context_length", F_, false}, {"low_freq_factor", F_, false},
                       {"high_freq_factor", F_, false}, {"beta_fast", F_, false}, {"beta_slow", F_, false},
                       {"fraction", F_, false}, {"style", S_, false}}},
    [LLMC_OP_ALIBI] = {2, 2, {"q", "k"}, {{"max_bias", F_, true}}},
    [LLMC_OP_RELATIVE_BIAS] = {1, 1, {"table"},
                               {{"num_buckets", I_, true}, {"max_distance", I_, true}, {"bidirectional", I_, true},
                                {"q_len_sym", I_, true}, {"k_len_sym", I_, true}}},
    [LLMC_OP_ATTENTION] = {3, 4, {"q", "k", "v", "bias"}, {{"mask", S_, true}, {"window", I_, false}, {"scale", F_, false},
                                                          {"softcap", F_, false}}},
    [LLMC_OP_SWIGLU] = {2, 2, {"gate", "up"}, {{0}}},
    [LLMC_OP_GEGLU] = {2, 2, {"gate", "up"}, {{"approximate", I_, true}}},
    [LLMC_OP_ACTIVATION] = {1, 1, {"input"}, {{"fn", S_, true}}},
    [LLMC_OP_ADD] = {2, 2, {"a", "b"}, {{0}}},
    [LLMC_OP_MUL] = {2, 2, {"a", "b"}, {{0}}},
    [LLMC_OP_SCALE] = {1, 1, {"input"}, {{"factor", F_, true}}},
    [LLMC_OP_MATMUL] = {2, 2, {"a", "b"}, {{0}}},
    [LLMC_OP_SOFTMAX] = {1, 1, {"input"}, {{"axis", I_, true}}},
    [LLMC_OP_POSITIONS_LEARNED] = {2, 2, {"ids", "table"}, {{0}}},
    [LLMC_OP_POSITIONS_SINUSOIDAL] = {1, 1, {"ids"}, {{"dim", I_, true}, {"dtype", S_, false}}},
    [LLMC_OP_MOE_ROUTE] = {1, 1, {"logits"},
                           {{"experts_per_token", I_, true}, {"routing", S_, true}, {"normalize", I_, true}}},
    [LLMC_OP_MOE_EXPERTS] = {5, 5, {"input", "weights", "gate", "up", "down"},
                             {{"activation", S_, true}, {"experts_per_token", I_, true}}},
    [LLMC_OP_SOFTCAP] = {1, 1, {"input"}, {{"cap", F_, true}}},
};
#undef I_
#undef F_
#undef S_
#undef V_

bool llmc_ir_op_arity(llmc_op_type type, int *min_inputs, int *max_inputs) {
    if ((unsigned)type >= LLMC_OP_TYPE_COUNT) return false;
    *min_inputs = rules[type].min_in;
    *max_inputs = rules[type].max_in;
    return true;
}

const char *llmc_ir_input_role(llmc_op_type type, int i) {
    if ((unsigned)type >= LLMC_OP_TYPE_COUNT || i < 0 || i >= rules[type].max_in) return "extra";
    return rules[type].roles[i];
}

static const char *attr_type_name(llmc_attr_type t) {
    switch (t) {
    case LLMC_ATTR_INT: return "an int";
    case LLMC_ATTR_FLOAT: return "a float";
    case LLMC_ATTR_STRING: return "a string";
    case LLMC_ATTR_INTS: return "a list of ints";
    }
    return "invalid";
}

/* ---- structural attr checks ------------------------------------------------------------------ */

char *llmc_ir_check_attrs(const llmc_attr *attrs, int n_attrs) {
    if (n_attrs < 0 || n_attrs > LLMC_IR_MAX_ATTRS)
        return llmc_asprintf("attrs: %d attrs is out of range (expected 0 to %d)", n_attrs, LLMC_IR_MAX_ATTRS);
    for (int i = 0; i < n_attrs; i++) {
        const llmc_attr *a = &attrs[i];
        const char *why = llmc_ir_name_problem(a->key, LLMC_IR_NAME_MAX);
        if (why) return llmc_asprintf("attrs: attr %d: key %s", i, why);
        for (int j = 0; j < i; j++)
            if (!strcmp(attrs[j].key, a->key)) return llmc_asprintf("attr '%s' is given twice", a->key);
        switch (a->type) {
        case LLMC_ATTR_INT: break;
        case LLMC_ATTR_FLOAT:
            /* ir.json cannot carry NaN or infinities, and no op has a use for them */
            if (!isfinite(a->f)) return llmc_asprintf("attr '%s' is %g (expected a finite number)", a->key, a->f);
            break;
        case LLMC_ATTR_STRING:
            if (!a->s) return llmc_asprintf("attr '%s': string value is missing", a->key);
            if (strlen(a->s) > LLMC_IR_STRING_MAX)
                return llmc_asprintf("attr '%s': string is longer than %d bytes", a->key, LLMC_IR_STRING_MAX);
            if (!llmc_ir_utf8_ok(a->s)) return llmc_asprintf("attr '%s': string is not valid UTF-8", a->key);
            break;
        case LLMC_ATTR_INTS:
            if (a->n_ints < 0 || a->n_ints > LLMC_ATTR_MAX_INTS)
                return llmc_asprintf("attr '%s' has %d ints (expected 0 to %d)", a->key, a->n_ints, LLMC_ATTR_MAX_INTS);
            break;
        default: return llmc_asprintf("attr '%s' has an invalid type %d", a->key, (int)a->type);
        }
    }
    return NULL;
}

/* ---- inference context and helpers ----------------------------------------------------------- */

typedef struct ctx {
    const char *tn;     /* op type name */
    const char *name;   /* op name */
    const llmc_attr *attrs;
    int n_attrs;
    char *err;
} ctx;

static int fail(ctx *c, const char *fmt, ...) LLMC_PRINTF(2, 3);
static int fail(ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = llmc_vasprintf(fmt, ap);
    va_end(ap);
    c->err = msg ? llmc_asprintf("%s '%s': %s", c->tn, c->name, msg) : NULL;
    free(msg);
    return -1;
}

typedef const llmc_tensor_info tinfo;
#define SHP(t, buf) llmc_ir_fmt_shape((t)->rank, (t)->shape, buf, sizeof buf)
#define DIM(d, buf) llmc_ir_fmt_dim(d, buf, sizeof buf)

static bool is_float(llmc_dtype dt) { return dt == LLMC_DTYPE_F32 || dt == LLMC_DTYPE_F16 || dt == LLMC_DTYPE_BF16; }
static bool is_int(llmc_dtype dt) { return dt == LLMC_DTYPE_I32 || dt == LLMC_DTYPE_I64; }

static int need_float(ctx *c, const char *role, tinfo *t) {
    char a[LLMC_IR_SHAPE_BUF];
    if (is_float(t->dtype)) return 0;
    return fail(c, "%s %s must be a float tensor (got %s)", role, SHP(t, a), llmc_dtype_name(t->dtype));
}

static int need_int(ctx *c, const char *role, tinfo *t) {
    char a[LLMC_IR_SHAPE_BUF];
    if (is_int(t->dtype)) return 0;
    return fail(c, "%s %s must be an integer (i32 or i64) tensor (got %s)", role, SHP(t, a), llmc_dtype_name(t->dtype));
}

static int same_dtype(ctx *c, const char *role, tinfo *t, const char *ref_role, tinfo *ref) {
    if (t->dtype == ref->dtype) return 0;
    return fail(c, "%s dtype %s does not match %s dtype %s", role, llmc_dtype_name(t->dtype), ref_role,
                llmc_dtype_name(ref->dtype));
}

static int need_rank(ctx *c, const char *role, tinfo *t, int rank) {
    char a[LLMC_IR_SHAPE_BUF];
    if (t->rank == rank) return 0;
    return fail(c, "%s %s must have rank %d (got rank %d)", role, SHP(t, a), rank, t->rank);
}

static int need_min_rank(ctx *c, const char *role, tinfo *t, int rank) {
    char a[LLMC_IR_SHAPE_BUF];
    if (t->rank >= rank) return 0;
    return fail(c, "%s %s must have rank %d or more (got rank %d)", role, SHP(t, a), rank, t->rank);
}

/* A dim that must be a concrete size (head counts, head dims). */
static int need_concrete(ctx *c, const char *role, tinfo *t, int i, const char *what) {
    char a[LLMC_IR_SHAPE_BUF], d[32];
    if (t->shape[i] >= 1) return 0;
    return fail(c, "%s %s has a symbolic %s %s (expected a concrete size)", role, SHP(t, a), what,
                DIM(t->shape[i], d));
}

/* "<role> <shape> does not match <ref_role> <ref shape> (expected <what> X, got Y)" */
static int mismatch(ctx *c, const char *role, tinfo *t, const char *ref_role, tinfo *ref, const char *what,
                    int64_t want, int64_t got) {
    char a[LLMC_IR_SHAPE_BUF], b[LLMC_IR_SHAPE_BUF], w[32], g[32];
    return fail(c, "%s %s does not match %s %s (expected %s %s, got %s)", role, SHP(t, a), ref_role, SHP(ref, b),
                what, DIM(want, w), DIM(got, g));
}

static void copy_shape(llmc_ir_result *out, tinfo *t) {
    out->dtype = t->dtype;
    out->rank = t->rank;
    memcpy(out->shape, t->shape, sizeof out->shape);
}

/* ---- attrs ----------------------------------------------------------------------------------- */

static const llmc_attr *attr(const ctx *c, const char *key) {
    for (int i = 0; i < c->n_attrs; i++)
        if (!strcmp(c->attrs[i].key, key)) return &c->attrs[i];
    return NULL;
}

/* Every attr known to the op type with the right type, every required one present. */
static int check_attr_rules(ctx *c, const op_rule *r) {
    for (int i = 0; i < c->n_attrs; i++) {
        const llmc_attr *a = &c->attrs[i];
        const attr_rule *ar = NULL;
        for (int k = 0; k < MAX_ATTR_RULES && r->attrs[k].key; k++)
            if (!strcmp(r->attrs[k].key, a->key)) ar = &r->attrs[k];
        if (!ar) {
            char known[256] = "";
            size_t len = 0;
            for (int k = 0; k < MAX_ATTR_RULES && r->attrs[k].key && len < sizeof known; k++)
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "", r->attrs[k].key);
            if (!len) return fail(c, "unknown attr '%s' (%s takes no attrs)", a->key, c->tn);
            return fail(c, "unknown attr '%s' (expected one of: %s)", a->key, known);
        }
        if (a->type != ar->type)
            return fail(c, "attr '%s' must be %s (got %s)", a->key, attr_type_name(ar->type), attr_type_name(a->type));
    }
    for (int k = 0; k < MAX_ATTR_RULES && r->attrs[k].key; k++)
        if (r->attrs[k].required && !attr(c, r->attrs[k].key))
            return fail(c, "attr '%s' (%s) is required", r->attrs[k].key, attr_type_name(r->attrs[k].type));
    return 0;
}

/* A float attr that must be > 0 (when present, or always if required). */
static int positive_float(ctx *c, const char *key, bool required) {
    const llmc_attr *a = attr(c, key);
    if (!a) return required ? fail(c, "attr '%s' (a float) is required", key) : 0;
    if (a->f > 0) return 0;
    return fail(c, "attr '%s' is %g (expected > 0)", key, a->f);
}

/* A string attr that must be one of a list; returns the index or -1 (error set). */
static int one_of(ctx *c, const char *key, const char *const *options, int n, int dflt) {
    const llmc_attr *a = attr(c, key);
    if (!a) return dflt;
    for (int i = 0; i < n; i++)
        if (!strcmp(a->s, options[i])) return i;
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                                options[i]);
    fail(c, "attr '%s' is '%.64s' (expected %s)", key, a->s, list);
    return -1;
}

/* ---- the rules ---------------------------------------------------------------------------------- */

/* (ids[..] int, table[V,H]) -> [..,H] */
static int infer_embedding(ctx *c, tinfo *ids, tinfo *table, llmc_ir_result *out) {
    char a[LLMC_IR_SHAPE_BUF];
    if (need_int(c, "ids", ids) || need_rank(c, "table", table, 2) || need_float(c, "table", table)) return -1;
    if (ids->rank >= LLMC_IR_MAX_RANK)
        return fail(c, "ids %s has rank %d (at most %d: the output adds a dim)", SHP(ids, a), ids->rank,
                    LLMC_IR_MAX_RANK - 1);
    out->dtype = table->dtype;
    out->rank = ids->rank + 1;
    memcpy(out->shape, ids->shape, (size_t)ids->rank * sizeof(int64_t));
    out->shape[ids->rank] = table->shape[1];
    return 0;
}

/* (x[..,in], w[out,in], b[out]?) -> [..,out] */
static int infer_linear(ctx *c, tinfo *x, tinfo *w, tinfo *b, llmc_ir_result *out) {
    char sa[LLMC_IR_SHAPE_BUF], sb[LLMC_IR_SHAPE_BUF], sw[LLMC_IR_SHAPE_BUF];
    if (need_min_rank(c, "input", x, 1) || need_float(c, "input", x) || need_rank(c, "weight", w, 2) ||
        same_dtype(c, "weight", w, "input", x))
        return -1;
    if (x->shape[x->rank - 1] != w->shape[1])
        return mismatch(c, "input", x, "weight", w, "last dim", w->shape[1], x->shape[x->rank - 1]);
    if (b) {
        if (same_dtype(c, "bias", b, "input", x)) return -1;
        if (b->rank != 1 || b->shape[0] != w->shape[0])
            return fail(c, "bias %s does not match weight %s (expected [%s])", SHP(b, sb), SHP(w, sw),
                        llmc_ir_fmt_dim(w->shape[0], sa, sizeof sa));
    }
    copy_shape(out, x);
    out->shape[x->rank - 1] = w->shape[0];
    return 0;
}

/* (x[..,H], w[H]?, b[H]?) -> x */
static int infer_norm(ctx *c, tinfo *x, tinfo *w, tinfo *b, llmc_ir_result *out) {
    char sx[LLMC_IR_SHAPE_BUF], sp[LLMC_IR_SHAPE_BUF], d[32];
    if (need_min_rank(c, "input", x, 1) || need_float(c, "input", x)) return -1;
    int64_t h = x->shape[x->rank - 1];
    tinfo *ps[2] = {w, b};
    const char *roles[2] = {"weight", "bias"};
    for (int i = 0; i < 2; i++) {
        if (!ps[i]) continue;
        if (same_dtype(c, roles[i], ps[i], "input", x)) return -1;
        if (ps[i]->rank != 1 || ps[i]->shape[0] != h)
            return fail(c, "%s %s does not match input %s (expected [%s])", roles[i], SHP(ps[i], sp), SHP(x, sx),
                        DIM(h, d));
    }
    if (positive_float(c, "eps", true)) return -1;
    copy_shape(out, x);
    return 0;
}

/* Element count as "B*S*512": the symbols (with repeats) times the concrete product. */
typedef struct numel_t {
    int sym[3];     /* count of B, S, T */
    uint64_t prod;
    bool overflow;
} numel_t;

static numel_t numel_of(int rank, const int64_t *shape) {
    numel_t n = {{0, 0, 0}, 1, false};
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            n.sym[-shape[i] - 1]++;
        else if (!llmc_mul_u64(n.prod, (uint64_t)shape[i], &n.prod))
            n.overflow = true;
    }
    return n;
}

static const char *fmt_numel(numel_t n, char *buf, size_t size) {
    static const char letters[3] = {'B', 'S', 'T'};
    size_t len = 0;
    buf[0] = '\0';
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < n.sym[s] && len < size; k++)
            len += (size_t)snprintf(buf + len, size - len, "%s%c", len ? "*" : "", letters[s]);
    if (len < size && (n.prod != 1 || len == 0))
        snprintf(buf + len, size - len, "%s%llu", len ? "*" : "", (unsigned long long)n.prod);
    return buf;
}

/* (x) attrs shape -> shape; element counts must agree, symbols counted as a multiset */
static int infer_reshape(ctx *c, tinfo *x, llmc_ir_result *out) {
    const llmc_attr *a = attr(c, "shape");
    char sx[LLMC_IR_SHAPE_BUF], st[LLMC_IR_SHAPE_BUF];
    if (a->n_ints > LLMC_IR_MAX_RANK)
        return fail(c, "attr 'shape' has %d dims (at most %d)", a->n_ints, LLMC_IR_MAX_RANK);
    for (int i = 0; i < a->n_ints; i++)
        if (!llmc_ir_dim_ok(a->ints[i]))
            return fail(c, "attr 'shape' dim %d is %lld (expected a positive size or a symbolic dim B=-1, S=-2, T=-3)",
                        i, (long long)a->ints[i]);
    llmc_ir_fmt_shape(a->n_ints, a->ints, st, sizeof st);
    numel_t nx = numel_of(x->rank, x->shape), nt = numel_of(a->n_ints, a->ints);
    if (nx.overflow || nt.overflow)
        return fail(c, "input %s or target shape %s has more elements than 64 bits can count", SHP(x, sx), st);
    if (memcmp(nx.sym, nt.sym, sizeof nx.sym) != 0 || nx.prod != nt.prod) {
        char ex[128], et[128];
        return fail(c, "input %s cannot be reshaped to %s (element count %s vs %s)", SHP(x, sx), st,
                    fmt_numel(nx, ex, sizeof ex), fmt_numel(nt, et, sizeof et));
    }
    out->dtype = x->dtype;
    out->rank = a->n_ints;
    memset(out->shape, 0, sizeof out->shape);
    memcpy(out->shape, a->ints, (size_t)a->n_ints * sizeof(int64_t));
    return 0;
}

static const char *const rope_scalings[] = {"none", "linear", "dynamic", "yarn", "llama3"};
enum { ROPE_NONE, ROPE_LINEAR, ROPE_DYNAMIC, ROPE_YARN, ROPE_LLAMA3 };

/* (x[B,S,n,d]) -> x; d even; theta > 0; each scaling kind needs its own parameters */
static int infer_rope(ctx *c, tinfo *x, llmc_ir_result *out) {
    char sx[LLMC_IR_SHAPE_BUF];
    if (need_rank(c, "input", x, 4) || need_float(c, "input", x) || need_concrete(c, "input", x, 3, "head dim"))
        return -1;
    /* the rotated share of the head dim: a whole, even number of dims (GPT-NeoX rotates 25%, GPT-J 64 of 256) */
    const llmc_attr *fr = attr(c, "fraction");
    double fraction = fr ? fr->f : 1.0;
    if (!(fraction > 0 && fraction <= 1))
        return fail(c, "attr 'fraction' is %g (expected a share of the head dim in (0, 1])", fraction);
    if (fraction == 1.0 && x->shape[3] % 2 != 0)
        return fail(c, "input %s has an odd head dim %lld (rotary pairs need an even one)", SHP(x, sx),
                    (long long)x->shape[3]);
    double rotated = fraction * (double)x->shape[3];
    if (rotated != floor(rotated) || (int64_t)rotated % 2 != 0)
        return fail(c, "input %s: fraction %g rotates %g of %lld head dims (rotary pairs need a whole, even number)",
                    SHP(x, sx), fraction, rotated, (long long)x->shape[3]);
    static const char *const styles[] = {"neox", "gptj"};
    if (one_of(c, "style", styles, 2, 0) < 0) return -1;
    if (positive_float(c, "theta", true)) return -1;
    int sc = one_of(c, "scaling", rope_scalings, 5, ROPE_NONE);
    if (sc < 0) return -1;
    if (sc != ROPE_NONE && positive_float(c, "factor", true)) return -1;
    if ((sc == ROPE_DYNAMIC || sc == ROPE_YARN || sc == ROPE_LLAMA3) && positive_float(c, "original_context_length", true))
        return -1;
    if (sc == ROPE_LLAMA3) {
        if (positive_float(c, "low_freq_factor", true) || positive_float(c, "high_freq_factor", true)) return -1;
        double lo = attr(c, "low_freq_factor")->f, hi = attr(c, "high_freq_factor")->f;
        /* the llama3 rule interpolates over 1/(high - low) */
        if (!(hi > lo))
            return fail(c, "attr 'high_freq_factor' is %g (expected > low_freq_factor %g)", hi, lo);
    }
    if (sc == ROPE_YARN && (positive_float(c, "beta_fast", true) || positive_float(c, "beta_slow", true))) return -1;
    copy_shape(out, x);
    return 0;
}

/* q[B,S,n,d] and k[B,T,m,d]: shared checks of ALIBI and ATTENTION. */
static int check_qk(ctx *c, tinfo *q, tinfo *k) {
    char sq[LLMC_IR_SHAPE_BUF], sk[LLMC_IR_SHAPE_BUF];
    if (need_rank(c, "q", q, 4) || need_float(c, "q", q) || need_rank(c, "k", k, 4) || same_dtype(c, "k", k, "q", q))
        return -1;
    if (k->shape[0] != q->shape[0]) return mismatch(c, "k", k, "q", q, "batch", q->shape[0], k->shape[0]);
    if (need_concrete(c, "q", q, 2, "head count") || need_concrete(c, "k", k, 2, "head count") ||
        need_concrete(c, "q", q, 3, "head dim"))
        return -1;
    if (k->shape[3] != q->shape[3]) return mismatch(c, "k", k, "q", q, "head dim", q->shape[3], k->shape[3]);
    if (q->shape[2] % k->shape[2] != 0)
        return fail(c, "q %s has %lld heads, not a multiple of the %lld heads of k %s", SHP(q, sq),
                    (long long)q->shape[2], (long long)k->shape[2], SHP(k, sk));
    return 0;
}

/* (q, k) attrs max_bias -> bias[n,S,T] */
static int infer_alibi(ctx *c, tinfo *q, tinfo *k, llmc_ir_result *out) {
    if (check_qk(c, q, k) || positive_float(c, "max_bias", true)) return -1;
    out->dtype = q->dtype;
    out->rank = 3;
    memset(out->shape, 0, sizeof out->shape);
    out->shape[0] = q->shape[2];
    out->shape[1] = q->shape[1];
    out->shape[2] = k->shape[1];
    return 0;
}

/* (table[buckets,n]) -> bias[n,Q,K]; T5 bucketing: the first half of each direction's
 * buckets are exact distances, the rest log-spaced up to max_distance. */
static int infer_relative_bias(ctx *c, tinfo *table, llmc_ir_result *out) {
    char st[LLMC_IR_SHAPE_BUF], rows[32];
    if (need_rank(c, "table", table, 2) || need_float(c, "table", table)) return -1;
    int64_t nb = attr(c, "num_buckets")->i, md = attr(c, "max_distance")->i, bi = attr(c, "bidirectional")->i;
    if (bi != 0 && bi != 1) return fail(c, "attr 'bidirectional' is %lld (expected 0 or 1)", (long long)bi);
    int64_t exact = (bi ? nb / 2 : nb) / 2; /* buckets per direction, halved */
    if (nb < 2 || exact < 1)
        return fail(c, "attr 'num_buckets' is %lld (expected at least %d)", (long long)nb, bi ? 4 : 2);
    if (table->shape[0] != nb)
        return fail(c, "table %s does not match attr 'num_buckets' (expected %lld rows, got %s)", SHP(table, st),
                    (long long)nb, DIM(table->shape[0], rows));
    if (md <= exact)
        return fail(c, "attr 'max_distance' is %lld (expected > %lld, the exact-distance buckets)", (long long)md,
                    (long long)exact);
    const char *keys[2] = {"q_len_sym", "k_len_sym"};
    for (int i = 0; i < 2; i++) {
        int64_t s = attr(c, keys[i])->i;
        if (s != LLMC_SYM_SEQ && s != LLMC_SYM_SRC_SEQ)
            return fail(c, "attr '%s' is %lld (expected a sequence symbol: S=%d or T=%d)", keys[i], (long long)s,
                        LLMC_SYM_SEQ, LLMC_SYM_SRC_SEQ);
    }
    out->dtype = table->dtype;
    out->rank = 3;
    memset(out->shape, 0, sizeof out->shape);
    out->shape[0] = table->shape[1];
    out->shape[1] = attr(c, "q_len_sym")->i;
    out->shape[2] = attr(c, "k_len_sym")->i;
    return 0;
}

static const char *const masks[] = {"none", "causal", "sliding_window"};
enum { MASK_NONE, MASK_CAUSAL, MASK_SLIDING };

/* (q[B,S,n,d], k[B,T,m,d], v[B,T,m,dv], bias[n,S,T]?) -> [B,S,n,dv] */
static int infer_attention(ctx *c, tinfo *q, tinfo *k, tinfo *v, tinfo *bias, llmc_ir_result *out) {
    char sb[LLMC_IR_SHAPE_BUF], sq[LLMC_IR_SHAPE_BUF], sk[LLMC_IR_SHAPE_BUF], e0[32], e1[32], e2[32];
    if (check_qk(c, q, k) || need_rank(c, "v", v, 4) || same_dtype(c, "v", v, "q", q)) return -1;
    if (v->shape[0] != q->shape[0]) return mismatch(c, "v", v, "q", q, "batch", q->shape[0], v->shape[0]);
    if (v->shape[1] != k->shape[1]) return mismatch(c, "v", v, "k", k, "length", k->shape[1], v->shape[1]);
    if (v->shape[2] != k->shape[2]) return mismatch(c, "v", v, "k", k, "head count", k->shape[2], v->shape[2]);
    if (bias) {
        if (same_dtype(c, "bias", bias, "q", q)) return -1;
        if (bias->rank != 3 || bias->shape[0] != q->shape[2] || bias->shape[1] != q->shape[1] ||
            bias->shape[2] != k->shape[1])
            return fail(c, "bias %s does not match q %s and k %s (expected [%s,%s,%s])", SHP(bias, sb), SHP(q, sq),
                        SHP(k, sk), DIM(q->shape[2], e0), DIM(q->shape[1], e1), DIM(k->shape[1], e2));
    }
    int m = one_of(c, "mask", masks, 3, MASK_NONE);
    if (m < 0) return -1;
    const llmc_attr *w = attr(c, "window");
    if (m == MASK_SLIDING && !w) return fail(c, "attr 'window' (an int) is required for mask 'sliding_window'");
    if (w && w->i < 1) return fail(c, "attr 'window' is %lld (expected >= 1)", (long long)w->i);
    if (positive_float(c, "scale", false)) return -1;
    copy_shape(out, q);
    out->shape[3] = v->shape[3];
    return 0;
}

/* (gate, up) same shape -> gate shape */
static int infer_glu(ctx *c, tinfo *g, tinfo *u, llmc_ir_result *out) {
    char sg[LLMC_IR_SHAPE_BUF], su[LLMC_IR_SHAPE_BUF];
    if (need_float(c, "gate", g) || same_dtype(c, "up", u, "gate", g)) return -1;
    if (u->rank != g->rank || memcmp(u->shape, g->shape, (size_t)g->rank * sizeof(int64_t)) != 0)
        return fail(c, "up %s does not match gate %s (expected the same shape)", SHP(u, su), SHP(g, sg));
    if (c->n_attrs) {
        const llmc_attr *a = attr(c, "approximate");
        if (a && a->i != 0 && a->i != 1)
            return fail(c, "attr 'approximate' is %lld (expected 0 or 1)", (long long)a->i);
    }
    copy_shape(out, g);
    return 0;
}

static const char *const activations[] = {"gelu", "gelu_tanh", "relu", "silu", "relu_squared", "sigmoid"};

static const char *const moe_routings[] = {"softmax_topk", "topk_softmax"};

/* (logits[..,E]) -> weights [..,E]; 1 <= k <= E */
static int infer_moe_route(ctx *c, tinfo *l, llmc_ir_result *out) {
    char sl[LLMC_IR_SHAPE_BUF];
    if (need_min_rank(c, "logits", l, 1) || need_float(c, "logits", l) ||
        need_concrete(c, "logits", l, l->rank - 1, "expert count"))
        return -1;
    int64_t k = attr(c, "experts_per_token")->i, n = attr(c, "normalize")->i;
    if (k < 1 || k > l->shape[l->rank - 1])
        return fail(c, "attr 'experts_per_token' is %lld (expected 1 to the %lld experts of logits %s)", (long long)k,
                    (long long)l->shape[l->rank - 1], SHP(l, sl));
    if (n != 0 && n != 1) return fail(c, "attr 'normalize' is %lld (expected 0 or 1)", (long long)n);
    if (one_of(c, "routing", moe_routings, 2, -1) < 0) return -1;
    copy_shape(out, l);
    return 0;
}

/* (x[..,H], weights[..,E], gate[E,I,H], up[E,I,H], down[E,H,I]) -> x shape */
static int infer_moe_experts(ctx *c, tinfo *x, tinfo *w, tinfo *g, tinfo *u, tinfo *dn, llmc_ir_result *out) {
    char sx[LLMC_IR_SHAPE_BUF], sw[LLMC_IR_SHAPE_BUF];
    if (need_min_rank(c, "input", x, 1) || need_float(c, "input", x) || same_dtype(c, "weights", w, "input", x) ||
        need_rank(c, "gate", g, 3) || need_rank(c, "up", u, 3) || need_rank(c, "down", dn, 3) ||
        same_dtype(c, "gate", g, "input", x) || same_dtype(c, "up", u, "input", x) ||
        same_dtype(c, "down", dn, "input", x) || need_concrete(c, "input", x, x->rank - 1, "hidden size"))
        return -1;
    static const char *const acts[] = {"swiglu"};
    if (one_of(c, "activation", acts, 1, -1) < 0) return -1;
    int64_t E = g->shape[0], I = g->shape[1], H = x->shape[x->rank - 1];
    if (w->rank != x->rank || memcmp(w->shape, x->shape, (size_t)(x->rank - 1) * sizeof(int64_t)) != 0 ||
        w->shape[w->rank - 1] != E)
        return fail(c, "weights %s does not match input %s and %lld experts (expected [.., %lld])", SHP(w, sw),
                    SHP(x, sx), (long long)E, (long long)E);
    if (g->shape[2] != H) return mismatch(c, "gate", g, "input", x, "dim 2 (hidden size)", H, g->shape[2]);
    if (u->shape[0] != E || u->shape[1] != I || u->shape[2] != H)
        return fail(c, "up %s does not match gate %s (expected the same shape)", SHP(u, sw), SHP(g, sx));
    if (dn->shape[0] != E || dn->shape[1] != H || dn->shape[2] != I)
        return fail(c, "down %s does not match gate %s (expected [%lld, %lld, %lld])", SHP(dn, sw), SHP(g, sx),
                    (long long)E, (long long)H, (long long)I);
    int64_t k = attr(c, "experts_per_token")->i;
    if (k < 1 || k > E)
        return fail(c, "attr 'experts_per_token' is %lld (expected 1 to %lld experts)", (long long)k, (long long)E);
    copy_shape(out, x);
    return 0;
}

/* numpy broadcasting of two dim lists aligned on the right. Returns -1 when they broadcast
 * (out filled), else the position from the right (0 = last) of the first conflict. */
static int broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int64_t *out, int *rout) {
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t da = i < ra ? a[ra - 1 - i] : 1, db = i < rb ? b[rb - 1 - i] : 1;
        if (da == db || db == 1)
            out[r - 1 - i] = da;
        else if (da == 1)
            out[r - 1 - i] = db;
        else
            return i;
    }
    *rout = r;
    return -1;
}

/* (a, b) -> broadcast shape */
static int infer_elementwise(ctx *c, tinfo *a, tinfo *b, llmc_ir_result *out) {
    char sa[LLMC_IR_SHAPE_BUF], sb[LLMC_IR_SHAPE_BUF], da[32], db[32];
    if (need_float(c, "a", a) || same_dtype(c, "b", b, "a", a)) return -1;
    out->dtype = a->dtype;
    memset(out->shape, 0, sizeof out->shape);
    int bad = broadcast(a->rank, a->shape, b->rank, b->shape, out->shape, &out->rank);
    if (bad >= 0)
        return fail(c, "b %s does not broadcast with a %s (dim %d from the end: %s vs %s)", SHP(b, sb), SHP(a, sa),
                    bad + 1, DIM(b->shape[b->rank - 1 - bad], db), DIM(a->shape[a->rank - 1 - bad], da));
    return 0;
}

/* (a[..,m,k], b[..,k,n]) -> [..,m,n], leading dims broadcast */
static int infer_matmul(ctx *c, tinfo *a, tinfo *b, llmc_ir_result *out) {
    char sa[LLMC_IR_SHAPE_BUF], sb[LLMC_IR_SHAPE_BUF], da[32], db[32];
    if (need_min_rank(c, "a", a, 2) || need_float(c, "a", a) || need_min_rank(c, "b", b, 2) ||
        same_dtype(c, "b", b, "a", a))
        return -1;
    int64_t ka = a->shape[a->rank - 1], kb = b->shape[b->rank - 2];
    if (ka != kb)
        return fail(c, "b %s does not match a %s (expected dim -2 of b to equal the last dim of a, %s, got %s)",
                    SHP(b, sb), SHP(a, sa), DIM(ka, da), DIM(kb, db));
    out->dtype = a->dtype;
    memset(out->shape, 0, sizeof out->shape);
    int r;
    int bad = broadcast(a->rank - 2, a->shape, b->rank - 2, b->shape, out->shape, &r);
    if (bad >= 0)
        return fail(c, "b %s does not broadcast with a %s in the batch dims (dim %d from the end: %s vs %s)",
                    SHP(b, sb), SHP(a, sa), bad + 3, DIM(b->shape[b->rank - 3 - bad], db),
                    DIM(a->shape[a->rank - 3 - bad], da));
    out->rank = r + 2;
    out->shape[r] = a->shape[a->rank - 2];
    out->shape[r + 1] = b->shape[b->rank - 1];
    return 0;
}

/* (ids[B,S] int, table[P,H]) -> [B,S,H] */
static int infer_positions_learned(ctx *c, tinfo *ids, tinfo *table, llmc_ir_result *out) {
    if (need_rank(c, "ids", ids, 2) || need_int(c, "ids", ids) || need_rank(c, "table", table, 2) ||
        need_float(c, "table", table))
        return -1;
    out->dtype = table->dtype;
    out->rank = 3;
    memset(out->shape, 0, sizeof out->shape);
    out->shape[0] = ids->shape[0];
    out->shape[1] = ids->shape[1];
    out->shape[2] = table->shape[1];
    return 0;
}

static const char *const float_dtypes[] = {"f32", "f16", "bf16"};

/* (ids[B,S] int) attrs dim, dtype? -> [B,S,dim] */
static int infer_positions_sinusoidal(ctx *c, tinfo *ids, llmc_ir_result *out) {
    if (need_rank(c, "ids", ids, 2) || need_int(c, "ids", ids)) return -1;
    int64_t dim = attr(c, "dim")->i;
    if (dim < 2 || dim % 2 != 0)
        return fail(c, "attr 'dim' is %lld (expected an even size >= 2: half sines, half cosines)", (long long)dim);
    int dt = one_of(c, "dtype", float_dtypes, 3, 0);
    if (dt < 0) return -1;
    out->dtype = (llmc_dtype)llmc_dtype_from_name(float_dtypes[dt]);
    out->rank = 3;
    memset(out->shape, 0, sizeof out->shape);
    out->shape[0] = ids->shape[0];
    out->shape[1] = ids->shape[1];
    out->shape[2] = dim;
    return 0;
}

/* ---- entry --------------------------------------------------------------------------------------- */

int llmc_ir_infer(const llmc_ir *ir, llmc_op_type type, const char *name, const llmc_tid *inputs, int n_inputs,
                  const llmc_attr *attrs, int n_attrs, llmc_ir_result *out, char **err) {
    ctx c = {llmc_op_type_name(type), name ? name : "(null)", attrs, n_attrs, NULL};
    *err = NULL;
    memset(out, 0, sizeof *out);
    if ((unsigned)type >= LLMC_OP_TYPE_COUNT) {
        *err = llmc_asprintf("op '%s': unknown op type %d", c.name, (int)type);
        return -1;
    }
    const op_rule *r = &rules[type];
    if (n_inputs < 0 || n_inputs > r->max_in || (n_inputs > 0 && !inputs)) {
        fail(&c, "expects %d to %d inputs, got %d", r->min_in, r->max_in, n_inputs);
        *err = c.err;
        return -1;
    }
    tinfo *in[LLMC_IR_MAX_INPUTS] = {NULL};
    for (int i = 0; i < r->max_in; i++) {
        llmc_tid t = i < n_inputs ? inputs[i] : LLMC_TID_NONE;
        if (t == LLMC_TID_NONE) {
            if (i < r->min_in) {
                fail(&c, "input %d (%s) is required but absent", i, r->roles[i]);
                *err = c.err;
                return -1;
            }
            continue;
        }
        in[i] = llmc_ir_tensor(ir, t);
        if (!in[i]) {
            fail(&c, "input %d (%s) is not a tensor of this graph (id %d)", i, r->roles[i], (int)t);
            *err = c.err;
            return -1;
        }
    }
    char *msg = llmc_ir_check_attrs(attrs, n_attrs);
    if (msg) {
        fail(&c, "%s", msg);
        free(msg);
        *err = c.err;
        return -1;
    }
    int rc = check_attr_rules(&c, r);
    if (rc == 0) {
        switch (type) {
        case LLMC_OP_EMBEDDING: rc = infer_embedding(&c, in[0], in[1], out); break;
        case LLMC_OP_LINEAR: rc = infer_linear(&c, in[0], in[1], in[2], out); break;
        case LLMC_OP_RMSNORM: rc = infer_norm(&c, in[0], in[1], NULL, out); break;
        case LLMC_OP_LAYERNORM: rc = infer_norm(&c, in[0], in[1], in[2], out); break;
        case LLMC_OP_RESHAPE: rc = infer_reshape(&c, in[0], out); break;
        case LLMC_OP_ROPE: rc = infer_rope(&c, in[0], out); break;
        case LLMC_OP_ALIBI: rc = infer_alibi(&c, in[0], in[1], out); break;
        case LLMC_OP_RELATIVE_BIAS: rc = infer_relative_bias(&c, in[0], out); break;
        case LLMC_OP_ATTENTION: rc = infer_attention(&c, in[0], in[1], in[2], in[3], out); break;
        case LLMC_OP_SWIGLU:
        case LLMC_OP_GEGLU: rc = infer_glu(&c, in[0], in[1], out); break;
        case LLMC_OP_ACTIVATION:
            rc = need_float(&c, "input", in[0]) || one_of(&c, "fn", activations, sizeof activations / sizeof *activations, -1) < 0 ? -1 : 0;
            if (rc == 0) copy_shape(out, in[0]);
            break;
        case LLMC_OP_ADD:
        case LLMC_OP_MUL: rc = infer_elementwise(&c, in[0], in[1], out); break;
        case LLMC_OP_SCALE:
            rc = need_float(&c, "input", in[0]);
            if (rc == 0) copy_shape(out, in[0]);
            break;
        case LLMC_OP_MATMUL: rc = infer_matmul(&c, in[0], in[1], out); break;
        case LLMC_OP_SOFTMAX: {
            rc = need_min_rank(&c, "input", in[0], 1) || need_float(&c, "input", in[0]) ? -1 : 0;
            int64_t axis = rc == 0 ? attr(&c, "axis")->i : 0;
            char sx[LLMC_IR_SHAPE_BUF];
            if (rc == 0 && (axis < -in[0]->rank || axis >= in[0]->rank))
                rc = fail(&c, "attr 'axis' is %lld, out of range for input %s (expected %d to %d)", (long long)axis,
                          SHP(in[0], sx), -in[0]->rank, in[0]->rank - 1);
            if (rc == 0) copy_shape(out, in[0]);
            break;
        }
        case LLMC_OP_POSITIONS_LEARNED: rc = infer_positions_learned(&c, in[0], in[1], out); break;
        case LLMC_OP_POSITIONS_SINUSOIDAL: rc = infer_positions_sinusoidal(&c, in[0], out); break;
        case LLMC_OP_MOE_ROUTE: rc = infer_moe_route(&c, in[0], out); break;
        case LLMC_OP_MOE_EXPERTS: rc = infer_moe_experts(&c, in[0], in[1], in[2], in[3], in[4], out); break;
        case LLMC_OP_SOFTCAP:
            rc = need_float(&c, "input", in[0]);
            if (rc == 0 && !(llmc_attr_number(attr(&c, "cap")) > 0))
                rc = fail(&c, "attr 'cap' must be > 0 (got %g)", llmc_attr_number(attr(&c, "cap")));
            if (rc == 0) copy_shape(out, in[0]);
            break;
        case LLMC_OP_TYPE_COUNT: rc = -1; break;
        }
    }
    if (rc != 0) {
        *err = c.err;
        return -1;
    }
    return 0;
}
