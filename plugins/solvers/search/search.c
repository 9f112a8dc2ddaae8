/* search — the default solver: a pruned exhaustive search of the feasible lattice.
 *
 * Goal, in this order (docs/solvers.md):
 *   1. relative error |count - target| / target; every answer within eps = min(tolerance, 0.1%)
 *      counts as "exact enough";
 *   2. among those, the best shape prior (lower score wins): hidden/layers aspect ratio in the
 *      band of published model families and near its middle, head_dim 64 or 128, hidden and
 *      intermediate sizes on hardware-friendly multiples (256 > 128 > 64);
 *   3. ties: smaller dims first, compared in dim-id order — so the answer is deterministic.
 *
 * Variables get roles by which dim they are: depth (num_layers, num_encoder_layers,
 * num_decoder_layers), width (hidden_size), fine (intermediate_size) and shape (num_heads,
 * num_kv_heads, head_dim, anything else). Shape variables and depth are enumerated; for each
 * such assignment the width where the count crosses the target is found by bisection (the
 * count is nondecreasing in every dim), a window of feasible widths around it is tried, and
 * for each width the fine variable is bisected and the nearest feasible values on both sides
 * are evaluated with every constraint. Depth values are visited in order of their aspect
 * penalty, so once an exact-enough answer is found the rest can be skipped when their prior
 * cannot win. When both encoder and decoder layer counts are free they are kept equal, as T5
 * and BART do. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/llmc.h"

#define EPS_MAX 1e-3           /* "exact enough" */
#define WIDTH_WINDOW 3         /* feasible widths tried on each side of the crossing */
#define WIDTH_SCAN 64          /* lattice steps scanned for them */
#define FINE_SCAN 24           /* lattice steps scanned for a feasible fine value on each side */
#define MAX_SHAPE_COMBOS 4096
#define ASPECT_LO 32.0         /* hidden / layers band of published families (docs/solvers.md) */
#define ASPECT_HI 160.0
#define ASPECT_MID 96.0        /* near the geometric middle of the band, and Llama-like */
#define ASPECT_OUT 4.0
#define ASPECT_PULL 0.5

typedef struct cand {
    llmc_dims dims;
    uint64_t params;
    double err;
    double score;
    bool valid;
} cand;

typedef struct domain {
    const llmc_var_domain *v;
    size_t n;                  /* number of lattice values */
} domain;

typedef struct search {
    const llmc_problem *p;
    const llmc_spec *spec;
    uint64_t target;
    double eps;
    domain depth[2];
    int n_depth;
    domain shape[LLMC_DIM_COUNT];
    int n_shape;
    domain width, fine;        /* v == NULL when pinned */
    cand best;
    uint64_t evaluated;
    uint64_t *rejected;        /* per constraint index */
    size_t n_cons;
    bool any_complete;         /* some assignment completed and counted */
} search;

/* ---- domains -------------------------------------------------------------------------------------- */

static domain make_domain(const llmc_var_domain *v) {
    domain d = {v, llmc_domain_size(v)};
    return d;
}

static int64_t dom_at(const domain *d, size_t i) { return llmc_domain_at(d->v, i); }

/* ---- scoring --------------------------------------------------------------------------------------- */

static double rel_err(uint64_t params, uint64_t target) {
    double diff = params > target ? (double)(params - target) : (double)(target - params);
    return diff / (double)target;
}

static double multiple_penalty(int64_t x) {
    if (x % 256 == 0) return 0.0;
    if (x % 128 == 0) return 0.1;
    if (x % 64 == 0) return 0.2;
    return 0.5;
}

static int64_t depth_of(const llmc_dims *d) {
    if (llmc_dims_has(d, LLMC_DIM_NUM_LAYERS)) return d->v[LLMC_DIM_NUM_LAYERS];
    int64_t n = 0, k = 0;
    if (llmc_dims_has(d, LLMC_DIM_NUM_ENCODER_LAYERS)) { n += d->v[LLMC_DIM_NUM_ENCODER_LAYERS]; k++; }
    if (llmc_dims_has(d, LLMC_DIM_NUM_DECODER_LAYERS)) { n += d->v[LLMC_DIM_NUM_DECODER_LAYERS]; k++; }
    return k ? (n + k - 1) / k : 0;
}

/* 4 per unit of ln-distance outside the band, plus a gentle pull (0.5 per unit) towards its
 * middle so that, among exact-enough answers, a 70B model gets ~80 layers rather than 170 */
static double aspect_penalty(double hidden, double layers) {
    if (layers <= 0 || hidden <= 0) return 0.0;
    double r = hidden / layers, s = ASPECT_PULL * fabs(log(r / ASPECT_MID));
    if (r < ASPECT_LO) s += ASPECT_OUT * log(ASPECT_LO / r);
    if (r > ASPECT_HI) s += ASPECT_OUT * log(r / ASPECT_HI);
    return s;
}

/* smallest aspect penalty for widths in [h_lo, h_hi] at this depth (the penalty is convex in ln h) */
static double aspect_penalty_min(double h_lo, double h_hi, double layers) {
    double best = fmin(aspect_penalty(h_lo, layers), aspect_penalty(h_hi, layers));
    double mid = ASPECT_MID * layers;
    if (mid > h_lo && mid < h_hi) best = fmin(best, aspect_penalty(mid, layers));
    return best;
}

/* Shape prior of complete dims; lower is better. Weights: the aspect ratio dominates, then
 * head_dim, then the multiples. */
static double prior_score(const llmc_dims *d) {
    double s = 0.0;
    if (llmc_dims_has(d, LLMC_DIM_HIDDEN_SIZE)) {
        s += aspect_penalty((double)d->v[LLMC_DIM_HIDDEN_SIZE], (double)depth_of(d));
        s += multiple_penalty(d->v[LLMC_DIM_HIDDEN_SIZE]);
    }
    if (llmc_dims_has(d, LLMC_DIM_HEAD_DIM)) {
        int64_t hd = d->v[LLMC_DIM_HEAD_DIM];
        s += (hd == 64 || hd == 128) ? 0.0 : (hd == 32 || hd == 256) ? 0.5 : 1.0;
    }
    if (llmc_dims_has(d, LLMC_DIM_INTERMEDIATE_SIZE)) s += multiple_penalty(d->v[LLMC_DIM_INTERMEDIATE_SIZE]);
    return s;
}

static int dims_cmp(const llmc_dims *a, const llmc_dims *b) {
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        int64_t x = llmc_dims_has(a, (llmc_dim_id)i) ? a->v[i] : -1;
        int64_t y = llmc_dims_has(b, (llmc_dim_id)i) ? b->v[i] : -1;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

/* Is a better than b? (see the order at the top of the file) */
static bool better(const search *s, const cand *a, const cand *b) {
    if (!b->valid) return true;
    bool ea = a->err <= s->eps, eb = b->err <= s->eps;
    if (ea != eb) return ea;
    if (ea) {
        if (a->score != b->score) return a->score < b->score;
        if (a->err != b->err) return a->err < b->err;
    } else {
        if (a->err != b->err) return a->err < b->err;
        if (a->score != b->score) return a->score < b->score;
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
    if (st == LLMC_EVAL_VIOLATES) {
        if (bad >= 0 && (size_t)bad < s->n_cons) s->rejected[bad]++;
        s->any_complete = true;
        return false;
    }
    if (st != LLMC_EVAL_OK) return false;
    s->any_complete = true;
    cand c = {full, n, rel_err(n, s->target), prior_score(&full), true};
    if (better(s, &c, &s->best)) s->best = c;
    return true;
}

static size_t bisect(search *s, llmc_dims *dims, const domain *d) { return llmc_problem_bisect(s->p, dims, d->v); }

static void unset(llmc_dims *d, llmc_dim_id id) { d->set &= ~(1u << id); }

/* fine variable (intermediate_size) for a fixed everything-else */
static void search_fine(search *s, llmc_dims *dims) {
    if (!s->fine.v) {
        consider(s, dims);
        return;
    }
    llmc_dim_id fid = s->fine.v->dim;
    size_t j = bisect(s, dims, &s->fine);
    /* nearest feasible values below and above the crossing */
    for (int side = 0; side < 2; side++) {
        for (int step = 0; step < FINE_SCAN; step++) {
            long idx = side == 0 ? (long)j - 1 - step : (long)j + step;
            if (idx < 0 || (size_t)idx >= s->fine.n) break;
            llmc_dims_put(dims, fid, dom_at(&s->fine, (size_t)idx));
            if (!partial_ok(s, dims)) continue;
            if (consider(s, dims)) break;
        }
    }
    unset(dims, fid);
}

/* width (hidden_size) around the crossing, then the fine variable */
static void search_width(search *s, llmc_dims *dims) {
    if (!s->width.v) {
        search_fine(s, dims);
        return;
    }
    llmc_dim_id wid = s->width.v->dim;
    size_t i = bisect(s, dims, &s->width);
    for (int side = 0; side < 2; side++) {
        int found = 0;
        for (int step = 0; step < WIDTH_SCAN && found < WIDTH_WINDOW; step++) {
            long idx = side == 0 ? (long)i - 1 - step : (long)i + step;
            if (idx < 0 || (size_t)idx >= s->width.n) break;
            llmc_dims_put(dims, wid, dom_at(&s->width, (size_t)idx));
            if (!partial_ok(s, dims)) continue;
            found++;
            search_fine(s, dims);
        }
    }
    unset(dims, wid);
}

/* ---- shape combinations ------------------------------------------------------------------------------- */

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

static void set_depth(search *s, llmc_dims *dims, int64_t v) {
    for (int k = 0; k < s->n_depth; k++) llmc_dims_put(dims, s->depth[k].v->dim, v);
}

typedef struct depth_order {
    int64_t depth;
    double penalty;   /* lower bound of the aspect part of the score at this depth */
} depth_order;

static int order_cmp(const void *a, const void *b) {
    const depth_order *x = a, *y = b;
    if (x->penalty != y->penalty) return x->penalty < y->penalty ? -1 : 1;
    return (x->depth > y->depth) - (x->depth < y->depth);
}

/* ---- explanations -------------------------------------------------------------------------------------- */

/* Extremes of the lattice ignoring constraints: every free variable at its min (or max). */
static bool extreme(search *s, bool max, llmc_dims *out, llmc_param_count *c) {
    memset(out, 0, sizeof *out);
    const llmc_dims *pins = llmc_problem_pinned(s->p);
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(pins, (llmc_dim_id)i)) llmc_dims_put(out, (llmc_dim_id)i, pins->v[i]);
    for (size_t i = 0; i < llmc_problem_num_vars(s->p); i++) {
        const llmc_var_domain *v = llmc_problem_var(s->p, i);
        domain d = make_domain(v);
        if (d.n) llmc_dims_put(out, v->dim, dom_at(&d, max ? d.n - 1 : 0));
    }
    return llmc_problem_count(s->p, out, c) == 0;
}

static void dims_text(const llmc_dims *d, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        if (!llmc_dims_has(d, (llmc_dim_id)i)) continue;
        int w = snprintf(buf + used, len - used, "%s%s %lld", used ? ", " : "", llmc_dim_name((llmc_dim_id)i),
                         (long long)d->v[i]);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

static void explain_infeasible(search *s, llmc_diags *d) {
    const llmc_spec *spec = s->spec;
    llmc_loc at = llmc_spec_loc(spec, "target_params");
    char t[32], a[32], b[32], dt[256];
    llmc_dims lo, hi;
    llmc_param_count clo, chi;
    bool have_lo = extreme(s, false, &lo, &clo), have_hi = extreme(s, true, &hi, &chi);
    if (have_lo && s->target < clo.total) {
        int64_t h = llmc_dims_has(&lo, LLMC_DIM_HIDDEN_SIZE) ? lo.v[LLMC_DIM_HIDDEN_SIZE] : 0;
        dims_text(&lo, dt, sizeof dt);
        llmc_diag_add(d, LLMC_SEV_ERROR, at, "target_params",
                      "target %s is below the minimum reachable %s (embeddings alone: vocab_size %lld x hidden_size "
                      ">= %lld = %s; smallest dims: %s)",
                      llmc_fmt_count(s->target, t, sizeof t), llmc_fmt_count(clo.total, a, sizeof a),
                      (long long)spec->vocab_size, (long long)h,
                      llmc_fmt_count(clo.component[LLMC_COMP_EMBEDDING], b, sizeof b), dt);
        return;
    }
    if (have_hi && s->target > chi.total) {
        dims_text(&hi, dt, sizeof dt);
        llmc_diag_add(d, LLMC_SEV_ERROR, at, "target_params",
                      "target %s is above the maximum reachable %s (largest dims the template allows: %s)",
                      llmc_fmt_count(s->target, t, sizeof t), llmc_fmt_count(chi.total, a, sizeof a), dt);
        return;
    }
    /* the binding constraints: the ones that rejected the most candidates */
    llmc_diag_add(d, LLMC_SEV_ERROR, at, "target_params", "no dimensions near target %s satisfy every constraint",
                  llmc_fmt_count(s->target, t, sizeof t));
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

/* ---- the solver ----------------------------------------------------------------------------------------- */

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    search s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.spec = llmc_problem_spec(p);
    s.target = llmc_problem_target(p);
    double tol = llmc_problem_tolerance(p);
    s.eps = tol < EPS_MAX ? tol : EPS_MAX;
    if (s.target == 0) {
        llmc_error(d, "target_params", "the search solver needs target_params");
        return LLMC_SOLVE_ERROR;
    }
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
    s.n_cons = llmc_problem_num_constraints(p);
    s.rejected = calloc(s.n_cons + 1, sizeof *s.rejected);
    combo_list shapes = {calloc(MAX_SHAPE_COMBOS, sizeof(llmc_dims)), 0};
    /* depth values: with two depth variables (encoder + decoder) they move together, over the
     * intersection of their domains */
    size_t n_depth_vals = s.n_depth ? s.depth[0].n : 1;
    depth_order *order = calloc(n_depth_vals, sizeof *order);
    if (!s.rejected || !shapes.items || !order) {
        free(s.rejected);
        free(shapes.items);
        free(order);
        llmc_error(d, NULL, "out of memory in the search solver");
        return LLMC_SOLVE_ERROR;
    }
    llmc_dims base;
    memset(&base, 0, sizeof base);
    enumerate_shapes(&s, &base, 0, &shapes);

    /* order the depths by the aspect penalty their crossing width implies */
    size_t n_order = 0;
    for (size_t i = 0; i < n_depth_vals; i++) {
        int64_t dv = s.n_depth ? dom_at(&s.depth[0], i) : 0;
        llmc_dims dims = shapes.n ? shapes.items[0] : base;
        if (s.n_depth) {
            set_depth(&s, &dims, dv);
            if (!partial_ok(&s, &dims)) continue;
        }
        double pen = 0.0;
        if (s.width.v && s.n_depth) {
            size_t w = bisect(&s, &dims, &s.width);
            if (w >= s.width.n) w = s.width.n - 1;
            /* the window spans a few percent of width: bound the penalty over it */
            double h = (double)dom_at(&s.width, w);
            pen = aspect_penalty_min(h * 0.8, h * 1.25, (double)dv);
        }
        order[n_order++] = (depth_order){dv, pen};
    }
    qsort(order, n_order, sizeof *order, order_cmp);

    for (size_t i = 0; i < n_order; i++) {
        if (s.best.valid && s.best.err <= s.eps && order[i].penalty > s.best.score) break; /* cannot win */
        for (size_t k = 0; k < (shapes.n ? shapes.n : 1); k++) {
            llmc_dims dims = shapes.n ? shapes.items[k] : base;
            if (s.n_depth) {
                set_depth(&s, &dims, order[i].depth);
                if (!partial_ok(&s, &dims)) continue;
            }
            search_width(&s, &dims);
        }
    }
    free(order);
    free(shapes.items);

    int status;
    llmc_dims lo, hi;
    llmc_param_count clo, chi;
    bool out_of_reach = (extreme(&s, false, &lo, &clo) && s.target < clo.total) ||
                        (extreme(&s, true, &hi, &chi) && s.target > chi.total);
    if (!s.best.valid || (s.best.err > tol && out_of_reach)) {
        /* nothing feasible, or the target lies outside what any dims reach: say why */
        explain_infeasible(&s, d);
        status = LLMC_SOLVE_INFEASIBLE;
    } else {
        out->dims = s.best.dims;
        out->params = s.best.params;
        out->relative_error = s.best.err;
        out->evaluated = s.evaluated;
        status = s.best.err <= tol ? LLMC_SOLVE_OK : LLMC_SOLVE_OUT_OF_TOLERANCE;
        if (status == LLMC_SOLVE_OUT_OF_TOLERANCE) {
            /* say what limits the error: the constraint that rejected the most candidates */
            size_t top = s.n_cons;
            for (size_t i = 0; i < s.n_cons; i++)
                if (s.rejected[i] && (top == s.n_cons || s.rejected[i] > s.rejected[top])) top = i;
            if (top < s.n_cons)
                snprintf(out->note, sizeof out->note,
                         "no feasible dims come closer; most often binding: %s '%s' (pins and the lattice of "
                         "multiples of 64 set the step size)",
                         llmc_problem_constraint_origin(p, top), llmc_problem_constraint_text(p, top));
            else
                snprintf(out->note, sizeof out->note,
                         "no feasible dims come closer: the pins and the lattice (multiples of 64) set the step size");
        }
    }
    free(s.rejected);
    return status;
}

static const llmc_solver_vtable search_vtable = {sizeof(llmc_solver_vtable), solve};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_SOLVER, "search", "1.0.0",
     "pruned exhaustive search: minimal relative error, then a published-family shape prior (default)",
     &search_vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
