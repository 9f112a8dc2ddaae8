/* search — the default solver: the most plausible shape within the tolerance, or the closest count.
 *
 * Two objectives (solver_options: {objective: ...}, docs/solvers.md):
 *   plausible (default)  among the feasible assignments whose count is within the tolerance of the
 *                        target, the highest  prior(shape) - 1/2 (error / (tolerance / 2))^2, where
 *                        prior is the design prior fitted to published models (llmc/prior.h);
 *                        when none is within the tolerance, the closest count (below) answers.
 *   closest              the smallest relative error; every error <= min(tolerance, 0.1%) counts as
 *                        exact enough, and among those the most plausible shape wins.
 * Ties: the smaller error, then smaller dims in dim-id order — the answer is deterministic.
 *
 * Variables get roles by which dim they are: depth (num_layers, or num_encoder_layers and
 * num_decoder_layers, which move together when both are free, as T5 and BART have), width
 * (hidden_size), fine (intermediate_size) and shape (num_heads, num_kv_heads, head_dim, anything
 * else). Shape assignments are enumerated; depths are visited best prior bound first.
 *
 * plausible: branch and bound. For a depth and shape, the widths whose count can land within
 * the tolerance with an MLP inside the prior's ratio window are found by bisection (the count is
 * nondecreasing in every dim); for each width whose prior bound can still win, the MLP widths
 * within the tolerance are found by bisection and scored exactly. Depths whose bound cannot beat
 * the best are skipped, and so are widths and MLP widths.
 *
 * closest: for each depth and shape, the width where the count crosses the target is found by
 * bisection, a window of feasible widths around it is tried, and for each width the fine
 * variable is bisected and the nearest feasible values on both sides are evaluated. Once an
 * exact-enough answer is known, depths whose prior bound cannot beat it are skipped. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/llmc.h"

#define EPS_MAX 1e-3           /* closest: "exact enough" */
#define WIDTH_WINDOW 3         /* closest: feasible widths tried on each side of the crossing */
#define WIDTH_SCAN 64          /* closest: lattice steps scanned for them */
#define FINE_SCAN 24           /* closest: lattice steps scanned for a feasible fine value on each side */
#define MAX_SHAPE_COMBOS 4096
#define QUICK_STEPS 20000      /* the exact nearest-count check before searching: a few ms at most */

typedef enum objective { OBJ_PLAUSIBLE = 0, OBJ_CLOSEST } objective;

typedef struct cand {
    llmc_dims dims;
    uint64_t params;
    double err;
    double plaus;              /* prior score */
    double value;              /* plausible: plaus - budget penalty */
    bool valid;
} cand;

typedef struct domain {
    const llmc_var_domain *v;
    size_t n;                  /* number of lattice values */
} domain;

typedef struct search {
    const llmc_problem *p;
    const llmc_spec *spec;
    llmc_prior_query *q;       /* NULL: no prior (every shape alike) */
    objective obj;
    uint64_t target;
    double tol, eps, sigma;    /* sigma: the budget term's scale, tol / 2 */
    uint64_t lo_count, hi_count; /* [target (1 - tol), target (1 + tol)] */
    domain depth[2];
    int n_depth;
    domain shape[LLMC_DIM_COUNT];
    int n_shape;
    domain width, fine;        /* v == NULL when pinned */
    cand best;
    uint64_t evaluated;
    uint64_t *rejected;        /* per constraint index */
    size_t n_cons;
    double depth_part;         /* bound of the depth terms at the depth being searched */
    size_t width_lo, width_hi; /* widths any depth can use (indices), from the depth bounds */
    bool decouple;             /* plausible: num_heads x head_dim may differ from hidden_size */
    double attn_lo, attn_hi;   /* ... within these ratios of it (the prior's attention window) */
} search;

/* ---- domains -------------------------------------------------------------------------------------- */

static domain make_domain(const llmc_var_domain *v) {
    domain d = {v, llmc_domain_size(v)};
    return d;
}

static int64_t dom_at(const domain *d, size_t i) { return llmc_domain_at(d->v, i); }
static void unset(llmc_dims *d, llmc_dim_id id) { d->set &= ~(1u << id); }

/* first index whose value is >= x (n if none) */
static size_t dom_ceil(const domain *d, double x) {
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((double)dom_at(d, mid) >= x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* ---- scoring --------------------------------------------------------------------------------------- */

static double rel_err(uint64_t params, uint64_t target) {
    double diff = params > target ? (double)(params - target) : (double)(target - params);
    return diff / (double)target;
}

static double plausibility(const search *s, const llmc_dims *d, uint64_t params) {
    return s->q ? llmc_prior_query_score(s->q, d, params, NULL) : 0.0;
}

static int dims_cmp(const llmc_dims *a, const llmc_dims *b) {
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        int64_t x = llmc_dims_has(a, (llmc_dim_id)i) ? a->v[i] : -1;
        int64_t y = llmc_dims_has(b, (llmc_dim_id)i) ? b->v[i] : -1;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

/* Is a better than b? (the order at the top of the file) */
static bool better(const search *s, const cand *a, const cand *b) {
    if (!b->valid) return true;
    if (s->obj == OBJ_PLAUSIBLE) {
        bool ia = a->err <= s->tol, ib = b->err <= s->tol;
        if (ia != ib) return ia;
        if (ia && a->value != b->value) return a->value > b->value;
        if (a->err != b->err) return a->err < b->err;
        if (a->plaus != b->plaus) return a->plaus > b->plaus;
    } else {
        bool ea = a->err <= s->eps, eb = b->err <= s->eps;
        if (ea != eb) return ea;
        if (ea) {
            if (a->plaus != b->plaus) return a->plaus > b->plaus;
            if (a->err != b->err) return a->err < b->err;
        } else {
            if (a->err != b->err) return a->err < b->err;
            if (a->plaus != b->plaus) return a->plaus > b->plaus;
        }
    }
    return dims_cmp(&a->dims, &b->dims) < 0;
}

/* ---- evaluation ------------------------------------------------------------------------------------- */

/* constraints decided by a partial assignment; rejections are counted for explanations */
static bool partial_ok(search *s, const llmc_dims *dims) {
    long bad = llmc_problem_partial_violation(s->p, dims);
    if (bad >= 0 && (size_t)bad < s->n_cons) s->rejected[bad]++;
    return bad < 0;
}

/* full evaluation; keeps the best; returns true if the assignment is feasible */
static bool consider(search *s, const llmc_dims *dims) {
    llmc_dims full = *dims;
    uint64_t n = 0;
    long bad = -1;
    s->evaluated++;
    llmc_eval_status st = llmc_problem_evaluate(s->p, &full, &n, &bad, NULL, 0);
    if (st == LLMC_EVAL_VIOLATES && bad >= 0 && (size_t)bad < s->n_cons) s->rejected[bad]++;
    if (st != LLMC_EVAL_OK) return false;
    cand c = {full, n, rel_err(n, s->target), plausibility(s, &full, n), 0, true};
    double z = c.err / s->sigma;
    c.value = c.plaus - 0.5 * z * z;
    if (better(s, &c, &s->best)) s->best = c;
    return true;
}

/* count ignoring constraints; UINT64_MAX if the dims cannot be completed or counted */
static uint64_t count_of(const search *s, const llmc_dims *dims) {
    llmc_param_count c;
    return llmc_problem_count(s->p, dims, &c) == 0 ? c.total : UINT64_MAX;
}

/* first index i of d with count(dims + d=i) >= limit (d->n if none) */
static size_t crossing(const search *s, llmc_dims dims, const domain *d, uint64_t limit) {
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims_put(&dims, d->v->dim, dom_at(d, mid));
        if (count_of(s, &dims) >= limit) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* the same, starting from a guess: gallop outwards until the crossing is bracketed, then bisect
 * (a few counts when the guess is good, never wrong when it is not) */
static size_t crossing_near(const search *s, llmc_dims dims, const domain *d, uint64_t limit, size_t guess) {
    if (guess > d->n) guess = d->n;
    size_t lo = 0, hi = d->n; /* invariant: the crossing is in [lo, hi] */
    if (guess < d->n) {
        llmc_dims_put(&dims, d->v->dim, dom_at(d, guess));
        if (count_of(s, &dims) >= limit) { /* crossing at or below guess */
            hi = guess;
            for (size_t step = 1; hi > 0; step *= 2) {
                size_t probe = hi > step ? hi - step : 0;
                llmc_dims_put(&dims, d->v->dim, dom_at(d, probe));
                if (count_of(s, &dims) >= limit) hi = probe;
                else { lo = probe + 1; break; }
                if (probe == 0) break;
            }
        } else { /* crossing above guess */
            lo = guess + 1;
            for (size_t step = 1; lo < d->n; step *= 2) {
                size_t probe = lo + step - 1 < d->n ? lo + step - 1 : d->n - 1;
                llmc_dims_put(&dims, d->v->dim, dom_at(d, probe));
                if (count_of(s, &dims) >= limit) { hi = probe; break; }
                lo = probe + 1;
                if (probe == d->n - 1) break;
            }
        }
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims_put(&dims, d->v->dim, dom_at(d, mid));
        if (count_of(s, &dims) >= limit) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static void set_depth(search *s, llmc_dims *dims, int64_t v) {
    for (int k = 0; k < s->n_depth; k++) llmc_dims_put(dims, s->depth[k].v->dim, v);
}

/* ---- the plausible objective: branch and bound ------------------------------------------------------- */

/* the MLP width at ratio r of hidden_size H, rounded into the fine domain (up or down) */
static int64_t fine_at_ratio(const search *s, int64_t H, double r, bool up) {
    size_t i = dom_ceil(&s->fine, r * (double)H);
    if (!up && (i == s->fine.n || (double)dom_at(&s->fine, i) > r * (double)H)) i = i > 0 ? i - 1 : 0;
    if (i >= s->fine.n) i = s->fine.n - 1;
    return dom_at(&s->fine, i);
}

static double ne_of(const search *s, const llmc_dims *dims, uint64_t params) {
    return s->q ? llmc_prior_query_non_embedding(s->q, dims, params) : (double)params;
}

/* ---- the attention width ---------------------------------------------------------------------------- */

/* num_heads that a grouping of the key/value heads the dims give allows (groups of 2-16, as the
 * template asks of a grouped-query model) */
static bool heads_fit_kv(const search *s, const llmc_dims *dims, int64_t nh) {
    if (s->spec->attention != LLMC_ATTN_GQA || !llmc_dims_has(dims, LLMC_DIM_NUM_KV_HEADS)) return true;
    int64_t kv = dims->v[LLMC_DIM_NUM_KV_HEADS];
    return kv >= 1 && nh % kv == 0 && nh / kv >= 2 && nh / kv <= 16;
}

/* With decoupling, the widest (largest) or narrowest attention the prior's window allows at
 * hidden_size H: num_heads set so, the count being nondecreasing in it; else nothing changes. */
static void put_attention_extreme(const search *s, llmc_dims *dims, int64_t H, bool largest) {
    if (!s->decouple || !llmc_dims_has(dims, LLMC_DIM_HEAD_DIM)) return;
    int64_t hd = dims->v[LLMC_DIM_HEAD_DIM], coupled = H / hd;
    if (coupled < 1) return;
    int64_t nh = largest ? (int64_t)floor(s->attn_hi * (double)H / (double)hd)
                         : (int64_t)ceil(s->attn_lo * (double)H / (double)hd);
    if (largest ? nh < coupled : nh > coupled) nh = coupled;
    if (nh < 1) nh = 1;
    llmc_dims_put(dims, LLMC_DIM_NUM_HEADS, nh);
}

/* The bound of partial dims at the depth being searched: the depth terms as bounded for that
 * depth (s->depth_part), every other term from the dims (cheap: no size range to scan). */
static double bound_at_depth_hd(const search *s, const llmc_dims *partial, double *head_dim_term) {
    *head_dim_term = 0.0;
    if (!s->q) return 0.0;
    llmc_dims d = *partial;
    unset(&d, LLMC_DIM_NUM_LAYERS);
    unset(&d, LLMC_DIM_NUM_ENCODER_LAYERS);
    unset(&d, LLMC_DIM_NUM_DECODER_LAYERS);
    double t[LLMC_PRIOR_TERM_COUNT];
    double total = llmc_prior_query_bound(s->q, &d, 1, 1, t);
    *head_dim_term = t[LLMC_PRIOR_HEAD_DIM];
    return total - t[LLMC_PRIOR_DEPTH] - t[LLMC_PRIOR_DEPTH_ROUND] + s->depth_part;
}

static double bound_at_depth(const search *s, const llmc_dims *partial) {
    double hd_term;
    return bound_at_depth_hd(s, partial, &hd_term);
}

static bool cannot_win(const search *s, double b) { return s->best.valid && s->best.err <= s->tol && b < s->best.value; }

/* The MLP widths [*i0, *i1) whose count is within the tolerance and whose ratio to the width is
 * inside the prior's window. The count is linear in the MLP width for both templates, so two
 * counts place the crossings; crossing_near makes them exact whatever the template does. */
static void fine_range(const search *s, const llmc_dims *dims, size_t *i0, size_t *i1) {
    size_t w0 = 0, w1 = s->fine.n;
    if (s->q && llmc_dims_has(dims, LLMC_DIM_HIDDEN_SIZE)) {
        double lo, hi;
        llmc_prior_query_mlp_window(s->q, &lo, &hi);
        int64_t H = dims->v[LLMC_DIM_HIDDEN_SIZE];
        w0 = dom_ceil(&s->fine, lo * (double)H);
        w1 = dom_ceil(&s->fine, hi * (double)H + 1);
    }
    size_t a = w0 < s->fine.n ? w0 : 0, b = w1 > 0 && w1 <= s->fine.n ? w1 - 1 : s->fine.n - 1;
    llmc_dims t = *dims;
    llmc_dims_put(&t, s->fine.v->dim, dom_at(&s->fine, a));
    double ca = (double)count_of(s, &t);
    llmc_dims_put(&t, s->fine.v->dim, dom_at(&s->fine, b));
    double cb = (double)count_of(s, &t);
    size_t g0 = a, g1 = b;
    if (b > a && cb > ca && cb < 1.8e19) {
        double per = (cb - ca) / (double)(b - a);
        double x0 = (double)a + ((double)s->lo_count - ca) / per, x1 = (double)a + ((double)s->hi_count + 1 - ca) / per;
        g0 = x0 <= 0 ? 0 : x0 >= (double)s->fine.n ? s->fine.n : (size_t)ceil(x0);
        g1 = x1 <= 0 ? 0 : x1 >= (double)s->fine.n ? s->fine.n : (size_t)ceil(x1);
    }
    *i0 = crossing_near(s, *dims, &s->fine, s->lo_count, g0);
    *i1 = crossing_near(s, *dims, &s->fine, s->hi_count == UINT64_MAX ? UINT64_MAX : s->hi_count + 1, g1);
    if (w0 > *i0) *i0 = w0;
    if (w1 < *i1) *i1 = w1;
}

/* every MLP width whose count is within the tolerance (and inside the ratio window) */
static void plausible_fine(search *s, llmc_dims *dims) {
    if (!s->fine.v) {
        consider(s, dims);
        return;
    }
    llmc_dim_id fid = s->fine.v->dim;
    size_t i0, i1;
    fine_range(s, dims, &i0, &i1);
    if (i0 >= i1) return;
    if (s->q && llmc_dims_has(dims, LLMC_DIM_HIDDEN_SIZE)) {
        /* the MLP terms at best over this range, the rest as bounded at this width */
        double t_width = bound_at_depth(s, dims);
        double mlp = llmc_prior_query_mlp_bound(s->q, dims->v[LLMC_DIM_HIDDEN_SIZE], (double)dom_at(&s->fine, i0),
                                                (double)dom_at(&s->fine, i1 - 1));
        double mlp_max = llmc_prior_query_term_max(s->q, LLMC_PRIOR_MLP_RATIO) +
                         llmc_prior_query_term_max(s->q, LLMC_PRIOR_MLP_ROUND);
        if (cannot_win(s, t_width - mlp_max + mlp)) return;
    }
    for (size_t i = i0; i < i1; i++) {
        llmc_dims_put(dims, fid, dom_at(&s->fine, i));
        if (cannot_win(s, bound_at_depth(s, dims))) continue;
        if (!partial_ok(s, dims)) continue;
        consider(s, dims);
    }
    unset(dims, fid);
}

/* The heads spanning the width (num_heads derived by the template), then, with decoupling, every
 * other head count in the prior's attention window whose bound can still win. */
static void plausible_heads(search *s, llmc_dims *dims) {
    if (partial_ok(s, dims)) plausible_fine(s, dims);
    if (!s->decouple || !llmc_dims_has(dims, LLMC_DIM_HEAD_DIM) || !llmc_dims_has(dims, LLMC_DIM_HIDDEN_SIZE)) return;
    int64_t hd = dims->v[LLMC_DIM_HEAD_DIM], H = dims->v[LLMC_DIM_HIDDEN_SIZE];
    int64_t lo = (int64_t)ceil(s->attn_lo * (double)H / (double)hd), hi = (int64_t)floor(s->attn_hi * (double)H / (double)hd);
    /* a cheap bound first: the spanning shape's bound with its head_dim term (<= 0) replaced by
     * the decoupling term, the rest of a decoupled head_dim term being a log-probability */
    double hd_span, rest = bound_at_depth_hd(s, dims, &hd_span) - hd_span;
    for (int64_t nh = lo > 1 ? lo : 1; nh <= hi; nh++) {
        if (cannot_win(s, rest + llmc_prior_query_attention_bound(s->q, nh))) break; /* nor can more heads */
        if (nh * hd == H || !heads_fit_kv(s, dims, nh)) continue;
        if (cannot_win(s, rest + llmc_prior_query_attention_term(s->q, nh, hd, H))) continue;
        llmc_dims_put(dims, LLMC_DIM_NUM_HEADS, nh);
        if (cannot_win(s, bound_at_depth(s, dims))) continue;
        if (!partial_ok(s, dims)) continue;
        plausible_fine(s, dims);
    }
    unset(dims, LLMC_DIM_NUM_HEADS);
}

/* The first width at which dims can be completed and counted: narrower than a head (num_heads =
 * hidden_size / head_dim would be 0) they cannot, which is not "too big". */
static size_t first_countable(const search *s, const llmc_dims *dims) {
    size_t i = 0;
    for (; i < s->width.n; i++) {
        llmc_dims t = *dims;
        llmc_dims_put(&t, s->width.v->dim, dom_at(&s->width, i));
        if (s->fine.v) llmc_dims_put(&t, s->fine.v->dim, dom_at(&s->fine, 0));
        if (count_of(s, &t) != UINT64_MAX) break;
    }
    return i;
}

/* widths that can land within the tolerance, then their MLP widths */
static void plausible_width(search *s, llmc_dims *dims, double lo_ratio, double hi_ratio) {
    if (!s->width.v) {
        plausible_heads(s, dims);
        return;
    }
    llmc_dim_id wid = s->width.v->dim;
    /* the count grows with the width and with the MLP width tied to it */
    size_t start = first_countable(s, dims);
    size_t lo = start, hi = s->width.n;
    while (lo < hi) { /* first width reaching target (1 - tol) with the widest MLP */
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims t = *dims;
        llmc_dims_put(&t, wid, dom_at(&s->width, mid));
        if (s->fine.v) llmc_dims_put(&t, s->fine.v->dim, fine_at_ratio(s, dom_at(&s->width, mid), hi_ratio, true));
        put_attention_extreme(s, &t, dom_at(&s->width, mid), true);
        if (count_of(s, &t) >= s->lo_count) hi = mid;
        else lo = mid + 1;
    }
    size_t first = lo;
    lo = first;
    hi = s->width.n;
    while (lo < hi) { /* first width above target (1 + tol) with the narrowest MLP */
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims t = *dims;
        llmc_dims_put(&t, wid, dom_at(&s->width, mid));
        if (s->fine.v) llmc_dims_put(&t, s->fine.v->dim, fine_at_ratio(s, dom_at(&s->width, mid), lo_ratio, false));
        put_attention_extreme(s, &t, dom_at(&s->width, mid), false);
        if (count_of(s, &t) > s->hi_count) hi = mid;
        else lo = mid + 1;
    }
    size_t last = lo;
    for (size_t i = first; i < last; i++) {
        int64_t H = dom_at(&s->width, i);
        llmc_dims_put(dims, wid, H);
        if (cannot_win(s, bound_at_depth(s, dims))) continue;
        /* a constraint over num_heads may fail for the heads spanning the width only */
        if (!s->decouple && !partial_ok(s, dims)) continue;
        plausible_heads(s, dims);
    }
    unset(dims, wid);
}

/* ---- the closest objective ------------------------------------------------------------------------------ */

/* fine variable (intermediate_size) for a fixed everything-else; true if any value was feasible */
static bool closest_fine(search *s, llmc_dims *dims) {
    if (!s->fine.v) return consider(s, dims);
    llmc_dim_id fid = s->fine.v->dim;
    size_t j = crossing(s, *dims, &s->fine, s->target);
    /* nearest feasible values below and above the crossing; beyond the MLP widths the prior
     * allows for this width, from its edge (the family's ratio band rejects the rest) */
    long below = (long)j - 1, above = (long)j;
    if (s->q && llmc_dims_has(dims, LLMC_DIM_HIDDEN_SIZE)) {
        double lo, hi;
        llmc_prior_query_mlp_window(s->q, &lo, &hi);
        long w0 = (long)dom_ceil(&s->fine, lo * (double)dims->v[LLMC_DIM_HIDDEN_SIZE]);
        long w1 = (long)dom_ceil(&s->fine, hi * (double)dims->v[LLMC_DIM_HIDDEN_SIZE] + 1) - 1;
        if (below > w1) below = w1;
        if (above < w0) above = w0;
    }
    bool any = false;
    for (int side = 0; side < 2; side++) {
        for (int step = 0; step < FINE_SCAN; step++) {
            long idx = side == 0 ? below - step : above + step;
            if (idx < 0 || (size_t)idx >= s->fine.n) break;
            llmc_dims_put(dims, fid, dom_at(&s->fine, (size_t)idx));
            if (!partial_ok(s, dims)) continue;
            if (consider(s, dims)) {
                any = true;
                break;
            }
        }
    }
    unset(dims, fid);
    return any;
}

/* width (hidden_size) around the crossing, then the fine variable: the nearest widths on each
 * side that have a feasible answer (constraints over derived dims only show in full evaluations) */
static void closest_width(search *s, llmc_dims *dims) {
    if (!s->width.v) {
        closest_fine(s, dims);
        return;
    }
    llmc_dim_id wid = s->width.v->dim;
    size_t i = crossing(s, *dims, &s->width, s->target);
    for (int side = 0; side < 2; side++) {
        int found = 0;
        for (int step = 0; step < WIDTH_SCAN && found < WIDTH_WINDOW; step++) {
            long idx = side == 0 ? (long)i - 1 - step : (long)i + step;
            if (idx < 0 || (size_t)idx >= s->width.n) break;
            llmc_dims_put(dims, wid, dom_at(&s->width, (size_t)idx));
            if (!partial_ok(s, dims)) continue;
            if (closest_fine(s, dims)) found++;
        }
    }
    unset(dims, wid);
}

/* ---- shapes and depths ----------------------------------------------------------------------------------- */

typedef struct combo_list {
    llmc_dims *items;
    size_t n;
} combo_list;

/* every assignment of the shape variables passing the partial constraints */
static void enumerate_shapes(search *s, llmc_dims *dims, int k, combo_list *out) {
    if (out->n >= MAX_SHAPE_COMBOS) return;
    if (k == s->n_shape) {
        out->items[out->n++] = *dims;
        return;
    }
    const domain *d = &s->shape[k];
    for (size_t i = 0; i < d->n && out->n < MAX_SHAPE_COMBOS; i++) {
        llmc_dims_put(dims, d->v->dim, dom_at(d, i));
        if (!partial_ok(s, dims)) continue;
        enumerate_shapes(s, dims, k + 1, out);
    }
    unset(dims, d->v->dim);
}

typedef struct depth_order {
    int64_t depth;
    double bound;     /* upper bound of the prior score at this depth */
    double depth_part; /* ... of its depth terms */
} depth_order;

static int order_cmp(const void *a, const void *b) {
    const depth_order *x = a, *y = b;
    if (x->bound != y->bound) return x->bound > y->bound ? -1 : 1;
    return (x->depth > y->depth) - (x->depth < y->depth);
}

/* Every shape variable at its smallest (or largest) value: the count is nondecreasing in each,
 * so these bound the count of any shape. */
static void extreme_shape(const search *s, llmc_dims *dims, bool largest) {
    for (int k = 0; k < s->n_shape; k++)
        llmc_dims_put(dims, s->shape[k].v->dim, dom_at(&s->shape[k], largest ? s->shape[k].n - 1 : 0));
}

/* The prior bound of a depth: the non-embedding size lies between what the widest and the
 * narrowest model of this depth reaching the tolerance band leave. */
static double depth_bound(search *s, const llmc_dims *base, int64_t dv, double lo_ratio, double hi_ratio,
                          double *depth_part) {
    *depth_part = 0.0;
    if (!s->q) return 0.0;
    llmc_dims d = *base;
    set_depth(s, &d, dv);
    double ne_lo = 1, ne_hi = (double)s->hi_count;
    if (s->width.v) {
        llmc_dims t = d; /* narrowest: largest shape and MLP reaching target (1 - tol) */
        extreme_shape(s, &t, true);
        size_t start = first_countable(s, &t);
        size_t lo = start, hi = s->width.n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            llmc_dims_put(&t, s->width.v->dim, dom_at(&s->width, mid));
            if (s->fine.v) llmc_dims_put(&t, s->fine.v->dim, fine_at_ratio(s, dom_at(&s->width, mid), hi_ratio, true));
            put_attention_extreme(s, &t, dom_at(&s->width, mid), true);
            if (count_of(s, &t) >= s->lo_count) hi = mid;
            else lo = mid + 1;
        }
        size_t narrow = lo < s->width.n ? lo : s->width.n - 1;
        llmc_dims u = d; /* widest: smallest shape and MLP staying under target (1 + tol) */
        extreme_shape(s, &u, false);
        lo = first_countable(s, &u);
        hi = s->width.n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            llmc_dims_put(&u, s->width.v->dim, dom_at(&s->width, mid));
            if (s->fine.v) llmc_dims_put(&u, s->fine.v->dim, fine_at_ratio(s, dom_at(&s->width, mid), lo_ratio, false));
            put_attention_extreme(s, &u, dom_at(&s->width, mid), false);
            if (count_of(s, &u) > s->hi_count) hi = mid;
            else lo = mid + 1;
        }
        size_t wide = lo > 0 ? lo - 1 : 0;
        if (narrow < s->width_lo) s->width_lo = narrow;
        if (wide > s->width_hi) s->width_hi = wide;
        llmc_dims_put(&t, s->width.v->dim, dom_at(&s->width, wide));
        llmc_dims_put(&u, s->width.v->dim, dom_at(&s->width, narrow));
        ne_lo = ne_of(s, &t, s->lo_count);
        ne_hi = ne_of(s, &u, s->hi_count);
    }
    double t[LLMC_PRIOR_TERM_COUNT];
    double total = llmc_prior_query_bound(s->q, &d, ne_lo, ne_hi, t);
    *depth_part = t[LLMC_PRIOR_DEPTH] + t[LLMC_PRIOR_DEPTH_ROUND];
    return total;
}

/* the depth values in the order their prior bound says, with their bounds */
static size_t order_depths(search *s, const llmc_dims *base, depth_order *order, double lo_ratio, double hi_ratio) {
    size_t n = 0, n_vals = s->n_depth ? s->depth[0].n : 1;
    for (size_t i = 0; i < n_vals; i++) {
        int64_t dv = s->n_depth ? dom_at(&s->depth[0], i) : 0;
        if (s->n_depth) {
            llmc_dims d = *base;
            set_depth(s, &d, dv);
            if (!partial_ok(s, &d)) continue;
        }
        double part;
        double b = depth_bound(s, base, dv, lo_ratio, hi_ratio, &part);
        order[n++] = (depth_order){dv, b, part};
    }
    qsort(order, n, sizeof *order, order_cmp);
    return n;
}

/* The best the shape terms (head_dim, key/value heads) can do for a shape over the widths in
 * use; the other terms at their largest. */
static double shape_bound(const search *s, const llmc_dims *shape) {
    if (!s->q) return 0.0;
    double best = -INFINITY, t[LLMC_PRIOR_TERM_COUNT];
    llmc_dims d = *shape;
    unset(&d, LLMC_DIM_NUM_LAYERS);
    unset(&d, LLMC_DIM_NUM_ENCODER_LAYERS);
    unset(&d, LLMC_DIM_NUM_DECODER_LAYERS);
    if (!s->width.v) {
        llmc_prior_query_bound(s->q, &d, 1, 1, t);
        return t[LLMC_PRIOR_HEAD_DIM] + t[LLMC_PRIOR_KV];
    }
    for (size_t i = s->width_lo; i <= s->width_hi && i < s->width.n; i++) {
        llmc_dims_put(&d, s->width.v->dim, dom_at(&s->width, i));
        llmc_prior_query_bound(s->q, &d, 1, 1, t);
        if (t[LLMC_PRIOR_HEAD_DIM] + t[LLMC_PRIOR_KV] > best) best = t[LLMC_PRIOR_HEAD_DIM] + t[LLMC_PRIOR_KV];
    }
    return best;
}

typedef struct pair {
    size_t depth, shape;       /* indices into the depth order and the shape list */
    double bound;
} pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->bound != y->bound) return x->bound > y->bound ? -1 : 1;
    if (x->depth != y->depth) return (x->depth > y->depth) - (x->depth < y->depth);
    return (x->shape > y->shape) - (x->shape < y->shape);
}

/* every (depth, shape) pair in the order of its prior bound, until none can win; 1 on OOM */
static int run_pairs(search *s, const combo_list *shapes, const llmc_dims *base, const depth_order *order,
                     size_t n_order, double lo_ratio, double hi_ratio) {
    size_t n_shapes = shapes->n ? shapes->n : 1;
    double *sb = malloc(n_shapes * sizeof *sb);
    pair *pairs = malloc(n_order * n_shapes * sizeof *pairs);
    if (!sb || !pairs) {
        free(sb);
        free(pairs);
        return 1;
    }
    double t_max_shape = s->q ? llmc_prior_query_term_max(s->q, LLMC_PRIOR_HEAD_DIM) +
                                    llmc_prior_query_term_max(s->q, LLMC_PRIOR_KV)
                              : 0.0;
    for (size_t k = 0; k < n_shapes; k++) sb[k] = shape_bound(s, shapes->n ? &shapes->items[k] : base) - t_max_shape;
    size_t n = 0;
    for (size_t i = 0; i < n_order; i++)
        for (size_t k = 0; k < n_shapes; k++) pairs[n++] = (pair){i, k, order[i].bound + sb[k]};
    qsort(pairs, n, sizeof *pairs, pair_cmp);
    for (size_t j = 0; j < n; j++) {
        /* sorted by bound: once one cannot win, no later pair can either */
        if (s->obj == OBJ_PLAUSIBLE ? cannot_win(s, pairs[j].bound)
                                    : s->best.valid && s->best.err <= s->eps && pairs[j].bound < s->best.plaus)
            break;
        const depth_order *o = &order[pairs[j].depth];
        llmc_dims dims = shapes->n ? shapes->items[pairs[j].shape] : *base;
        if (s->n_depth) {
            set_depth(s, &dims, o->depth);
            if (!partial_ok(s, &dims)) continue;
        }
        s->depth_part = o->depth_part;
        if (s->obj == OBJ_PLAUSIBLE) plausible_width(s, &dims, lo_ratio, hi_ratio);
        else closest_width(s, &dims);
    }
    free(sb);
    free(pairs);
    return 0;
}

static void run(search *s, const combo_list *shapes, const llmc_dims *base, const depth_order *order, size_t n_order,
                double lo_ratio, double hi_ratio) {
    if (run_pairs(s, shapes, base, order, n_order, lo_ratio, hi_ratio) == 0) return;
    for (size_t i = 0; i < n_order; i++) {
        bool done = s->obj == OBJ_PLAUSIBLE ? cannot_win(s, order[i].bound)
                                            : s->best.valid && s->best.err <= s->eps && order[i].bound < s->best.plaus;
        if (done) break; /* sorted by bound: no later depth can win either */
        s->depth_part = order[i].depth_part;
        for (size_t k = 0; k < (shapes->n ? shapes->n : 1); k++) {
            llmc_dims dims = shapes->n ? shapes->items[k] : *base;
            if (s->n_depth) {
                set_depth(s, &dims, order[i].depth);
                if (!partial_ok(s, &dims)) continue;
            }
            if (s->obj == OBJ_PLAUSIBLE) plausible_width(s, &dims, lo_ratio, hi_ratio);
            else closest_width(s, &dims);
        }
    }
}

/* ---- the solver ----------------------------------------------------------------------------------------- */

static void explain_infeasible(search *s, llmc_diags *d) {
    char t[32], a[32];
    llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s->spec, "target_params"), "target_params",
                  "no dimensions satisfy every constraint (target %s)", llmc_fmt_count(s->target, t, sizeof t));
    /* the constraints that rejected the most candidates */
    for (int shown = 0; shown < 3; shown++) {
        size_t top = s->n_cons;
        for (size_t i = 0; i < s->n_cons; i++)
            if (s->rejected[i] && (top == s->n_cons || s->rejected[i] > s->rejected[top])) top = i;
        if (top == s->n_cons) break;
        llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "binding: %s '%s' rejected %s candidates",
                      llmc_problem_constraint_origin(s->p, top), llmc_problem_constraint_text(s->p, top),
                      llmc_fmt_count(s->rejected[top], a, sizeof a));
        s->rejected[top] = 0;
    }
}

static int read_objective(const llmc_problem *p, objective *out, llmc_diags *d) {
    const char *o = llmc_problem_option(p, "objective");
    if (!o || !strcmp(o, "plausible")) *out = OBJ_PLAUSIBLE;
    else if (!strcmp(o, "closest")) *out = OBJ_CLOSEST;
    else {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_problem_option_loc(p, "objective"), "solver_options.objective",
                      "unknown objective '%s' for solver search (expected plausible or closest)", o);
        return 1;
    }
    const llmc_spec *spec = llmc_problem_spec(p);
    for (size_t i = 0; i < spec->n_solver_options; i++)
        if (strcmp(spec->solver_options[i].key, "objective")) {
            char key[160];
            snprintf(key, sizeof key, "solver_options.%s", spec->solver_options[i].key);
            llmc_diag_add(d, LLMC_SEV_ERROR, spec->solver_options[i].loc, key,
                          "unknown option for solver search (its only option is objective: plausible or closest)");
            return 1;
        }
    return 0;
}

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    search s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.spec = llmc_problem_spec(p);
    s.target = llmc_problem_target(p);
    s.tol = llmc_problem_tolerance(p);
    s.eps = s.tol < EPS_MAX ? s.tol : EPS_MAX;
    s.sigma = s.tol / 2;
    if (s.target == 0) {
        llmc_error(d, "target_params", "the search solver needs target_params");
        return LLMC_SOLVE_ERROR;
    }
    if (read_objective(p, &s.obj, d) != 0) return LLMC_SOLVE_ERROR;
    double lo = (double)s.target * (1 - s.tol), hi = (double)s.target * (1 + s.tol);
    s.lo_count = (uint64_t)ceil(lo);
    s.hi_count = hi >= 1.8e19 ? UINT64_MAX : (uint64_t)floor(hi);
    for (size_t i = 0; i < llmc_problem_num_vars(p); i++) {
        const llmc_var_domain *v = llmc_problem_var(p, i);
        domain dom = make_domain(v);
        if (dom.n == 0) {
            llmc_error(d, llmc_dim_name(v->dim), "the template's domain for %s is empty", llmc_dim_name(v->dim));
            return LLMC_SOLVE_INFEASIBLE;
        }
        switch (v->dim) {
        case LLMC_DIM_NUM_LAYERS:
        case LLMC_DIM_NUM_ENCODER_LAYERS:
        case LLMC_DIM_NUM_DECODER_LAYERS:
            if (s.n_depth < 2) s.depth[s.n_depth++] = dom;
            break;
        case LLMC_DIM_HIDDEN_SIZE: s.width = dom; break;
        case LLMC_DIM_INTERMEDIATE_SIZE: s.fine = dom; break;
        default: s.shape[s.n_shape++] = dom; break;
        }
    }
    const llmc_prior *prior = llmc_problem_prior(p);
    if (prior) s.q = llmc_prior_query_create(prior, s.spec, s.target);
    if (!s.q) s.obj = OBJ_CLOSEST; /* without a prior every shape is alike: the closest count decides */
    /* the attention width is a dimension of its own unless the user fixes num_heads (the
     * templates keep num_heads x head_dim apart from hidden_size when all three are given) */
    if (s.q && s.obj == OBJ_PLAUSIBLE && !llmc_dims_has(&s.spec->dims, LLMC_DIM_NUM_HEADS) &&
        !llmc_problem_domain(p, LLMC_DIM_NUM_HEADS) &&
        (llmc_dims_has(&s.spec->dims, LLMC_DIM_HEAD_DIM) || llmc_problem_domain(p, LLMC_DIM_HEAD_DIM))) {
        llmc_prior_query_attention_window(s.q, &s.attn_lo, &s.attn_hi);
        s.decouple = s.attn_lo < 1 || s.attn_hi > 1;
    }
    s.n_cons = llmc_problem_num_constraints(p);
    s.rejected = calloc(s.n_cons + 1, sizeof *s.rejected);
    combo_list shapes = {calloc(MAX_SHAPE_COMBOS, sizeof(llmc_dims)), 0};
    size_t n_depth_vals = s.n_depth ? s.depth[0].n : 1;
    depth_order *order = calloc(n_depth_vals, sizeof *order);
    if (!s.rejected || !shapes.items || !order) {
        free(s.rejected);
        free(shapes.items);
        free(order);
        llmc_prior_query_free(s.q);
        llmc_error(d, NULL, "out of memory in the search solver");
        return LLMC_SOLVE_ERROR;
    }
    /* the pins take part from the start, so that the prior sees them */
    llmc_dims base = *llmc_problem_pinned(p);
    enumerate_shapes(&s, &base, 0, &shapes);

    /* the MLP ratios worth trying; with a pinned MLP width or no prior, all of them */
    double lo_ratio = 0, hi_ratio = 1e9;
    if (s.q) llmc_prior_query_mlp_window(s.q, &lo_ratio, &hi_ratio);
    /* Beyond what any dims reach, the nearest feasible count is the smallest (or largest) model:
     * an exact branch and bound finds it directly. */
    llmc_dims lo_dims = base, hi_dims = base;
    for (size_t i = 0; i < llmc_problem_num_vars(p); i++) {
        const llmc_var_domain *v = llmc_problem_var(p, i);
        llmc_dims_put(&lo_dims, v->dim, llmc_domain_at(v, 0));
        llmc_dims_put(&hi_dims, v->dim, llmc_domain_at(v, llmc_domain_size(v) - 1));
    }
    if (s.width.v) { /* narrower than a head, dims cannot be counted: the smallest countable width */
        llmc_dims t = lo_dims;
        unset(&t, s.width.v->dim);
        llmc_dims_put(&lo_dims, s.width.v->dim, dom_at(&s.width, first_countable(&s, &t) < s.width.n
                                                                    ? first_countable(&s, &t) : 0));
    }
    uint64_t min_count = count_of(&s, &lo_dims), max_count = count_of(&s, &hi_dims);
    bool below = min_count != UINT64_MAX && min_count > s.hi_count;
    bool above = max_count != UINT64_MAX && max_count < s.lo_count;
    if (below || above) {
        llmc_dims dims;
        uint64_t n;
        if (llmc_problem_nearest(p, below ? 0 : UINT64_MAX, below, 0, &dims, &n, NULL)) consider(&s, &dims);
        free(order);
        free(shapes.items);
        llmc_prior_query_free(s.q);
        goto done;
    }
    /* When an exact branch and bound over the whole lattice quickly proves that no count lies
     * within the tolerance, the nearest counts on either side are the answer (small models
     * against a large vocabulary end here; on large problems the bound gives up at once). */
    {
        llmc_dims bd, ad;
        uint64_t bc = 0, ac = 0;
        bool exb = false, exa = false;
        bool fb = llmc_problem_nearest(p, s.target, false, QUICK_STEPS, &bd, &bc, &exb);
        bool fa = exb ? llmc_problem_nearest(p, s.target, true, QUICK_STEPS, &ad, &ac, &exa) : false;
        /* (the bound knows only heads spanning the width: with decoupling the search decides) */
        if (!s.decouple && exb && exa && !(fb && bc >= s.lo_count) && !(fa && ac <= s.hi_count)) {
            s.obj = OBJ_CLOSEST;
            if (fb) consider(&s, &bd);
            if (fa) consider(&s, &ad);
            free(order);
            free(shapes.items);
            llmc_prior_query_free(s.q);
            goto done;
        }
    }
    s.width_lo = SIZE_MAX;
    s.width_hi = 0;
    size_t n_order = order_depths(&s, &base, order, lo_ratio, hi_ratio);
    if (s.obj == OBJ_PLAUSIBLE) {
        run(&s, &shapes, &base, order, n_order, lo_ratio, hi_ratio);
        if (!s.best.valid || s.best.err > s.tol) {
            /* nothing plausible within the tolerance: the closest count answers */
            s.obj = OBJ_CLOSEST;
            s.best.valid = false;
            run(&s, &shapes, &base, order, n_order, lo_ratio, hi_ratio);
            if (s.best.valid && s.best.err <= s.tol)
                snprintf(out->note, sizeof out->note,
                         "no shape in the prior's MLP ratio window %.2f..%.2f x hidden_size fits the budget; the "
                         "closest count answered",
                         lo_ratio, hi_ratio);
        }
    } else {
        run(&s, &shapes, &base, order, n_order, lo_ratio, hi_ratio);
    }
    free(order);
    free(shapes.items);
    llmc_prior_query_free(s.q);
done:;
    int status;
    if (!s.best.valid) {
        explain_infeasible(&s, d);
        status = LLMC_SOLVE_INFEASIBLE;
    } else {
        out->dims = s.best.dims;
        out->params = s.best.params;
        out->relative_error = s.best.err;
        out->evaluated = s.evaluated;
        status = s.best.err <= s.tol ? LLMC_SOLVE_OK : LLMC_SOLVE_OUT_OF_TOLERANCE;
    }
    free(s.rejected);
    return status;
}

static const llmc_solver_vtable search_vtable = {sizeof(llmc_solver_vtable), solve};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_SOLVER, "search", "2.0.0",
     "the most plausible shape within the tolerance under a prior fitted to published models (default), or the "
     "closest count (solver_options: {objective: closest})",
     &search_vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
