/* closed_form — a fast analytic estimate, for comparison with `search`.
 *
 * A transformer's count is a polynomial in width at fixed depth (roughly
 * layers * c * hidden^2 + embeddings * hidden). This solver fixes the aspect ratio
 * hidden / layers = ASPECT (the middle of the band published families use), solves
 * count(hidden, layers = hidden / ASPECT) = target for hidden by bisection over the width
 * lattice (the count is nondecreasing in both), rounds depth to its domain, re-solves width
 * at that depth, then rounds the MLP width the same way. Shape variables (heads, kv heads,
 * head_dim) take, for each rounded depth and width, the first values their constraints allow,
 * preferring head_dim 64/128. Only the few neighbours of each rounding are checked against the
 * constraints, so it answers in microseconds but its error is whatever rounding leaves:
 * no search, no guarantee (docs/solvers.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"

#define ASPECT 96.0
#define NEIGHBOURS 8

typedef struct estimate {
    const llmc_problem *p;
    const llmc_var_domain *depth[2];
    int n_depth;
    const llmc_var_domain *width, *fine;
    const llmc_var_domain *shape[LLMC_DIM_COUNT];
    int n_shape;
    llmc_solution best;
    bool found;
    uint64_t target;
} estimate;

static double rel_err(uint64_t params, uint64_t target) {
    double diff = params > target ? (double)(params - target) : (double)(target - params);
    return diff / (double)target;
}

static void set_depth(estimate *e, llmc_dims *dims, int64_t v) {
    for (int k = 0; k < e->n_depth; k++) llmc_dims_put(dims, e->depth[k]->dim, v);
}

/* nearest index of a domain to a real value */
static size_t nearest(const llmc_var_domain *v, double x) {
    size_t n = llmc_domain_size(v), best = 0;
    double bd = INFINITY;
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first value >= x */
        size_t mid = lo + (hi - lo) / 2;
        if ((double)llmc_domain_at(v, mid) < x) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo > 0 ? lo - 1 : 0; i <= lo && i < n; i++) {
        double dd = fabs((double)llmc_domain_at(v, i) - x);
        if (dd < bd) { bd = dd; best = i; }
    }
    return best;
}

static void consider(estimate *e, llmc_dims dims) {
    uint64_t n;
    if (llmc_problem_evaluate(e->p, &dims, &n, NULL, NULL, 0) != LLMC_EVAL_OK) return;
    double err = rel_err(n, e->target);
    e->best.evaluated++;
    if (!e->found || err < e->best.relative_error) {
        e->found = true;
        e->best.dims = dims;
        e->best.params = n;
        e->best.relative_error = err;
    }
}

/* evaluate the feasible fine values within NEIGHBOURS of index j; true if any was feasible */
static bool round_around(estimate *e, llmc_dims dims, size_t j) {
    size_t n = llmc_domain_size(e->fine);
    bool any = false;
    for (long k = (long)j - NEIGHBOURS; k <= (long)j + NEIGHBOURS; k++) {
        if (k < 0 || (size_t)k >= n) continue;
        llmc_dims_put(&dims, e->fine->dim, llmc_domain_at(e->fine, (size_t)k));
        if (!llmc_problem_partial_ok(e->p, &dims)) continue;
        consider(e, dims);
        any = true;
    }
    return any;
}

/* round the fine variable (MLP width) around its crossing */
static void round_fine(estimate *e, llmc_dims dims) {
    if (!e->fine) {
        consider(e, dims);
        return;
    }
    /* neighbours of the crossing; if the MLP-width band excludes them all, neighbours of the
     * template's conventional width instead */
    size_t j = llmc_problem_bisect(e->p, &dims, e->fine);
    if (round_around(e, dims, j)) return;
    llmc_dims conv = dims;
    conv.set &= ~(1u << e->fine->dim);
    llmc_param_count c;
    if (llmc_problem_count(e->p, &conv, &c) != 0) return;
    /* the count with the convention pins down its value: the index whose count matches */
    size_t lo = 0, hi = llmc_domain_size(e->fine);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims_put(&dims, e->fine->dim, llmc_domain_at(e->fine, mid));
        llmc_param_count m;
        if (llmc_problem_count(e->p, &dims, &m) != 0 || m.total >= c.total) hi = mid;
        else lo = mid + 1;
    }
    round_around(e, dims, lo);
}

/* first shape assignment passing the partial constraints, head_dim 64/128 first */
static bool pick_shape(estimate *e, llmc_dims *dims, int k) {
    if (k == e->n_shape) return true;
    const llmc_var_domain *v = e->shape[k];
    size_t n = llmc_domain_size(v);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            int64_t x = llmc_domain_at(v, i);
            bool preferred = v->dim != LLMC_DIM_HEAD_DIM || x == 64 || x == 128;
            if (preferred != (pass == 0)) continue;
            llmc_dims_put(dims, v->dim, x);
            if (llmc_problem_partial_ok(e->p, dims) && pick_shape(e, dims, k + 1)) return true;
        }
    }
    dims->set &= ~(1u << v->dim);
    return false;
}

/* Shape values for counting only (the count barely depends on them): the preferred value of
 * each, constraints ignored. */
static void provisional_shape(estimate *e, llmc_dims *dims) {
    for (int k = 0; k < e->n_shape; k++) {
        const llmc_var_domain *v = e->shape[k];
        int64_t x = llmc_domain_at(v, 0);
        for (size_t i = 0; i < llmc_domain_size(v) && v->dim == LLMC_DIM_HEAD_DIM; i++)
            if (llmc_domain_at(v, i) == 64 || llmc_domain_at(v, i) == 128) { x = llmc_domain_at(v, i); break; }
        llmc_dims_put(dims, v->dim, x);
    }
}

/* a (depth, width) candidate: the first shape its constraints allow, then the MLP width */
static void try_candidate(estimate *e, llmc_dims dims) {
    for (int k = 0; k < e->n_shape; k++) dims.set &= ~(1u << e->shape[k]->dim);
    if (!llmc_problem_partial_ok(e->p, &dims) || !pick_shape(e, &dims, 0)) return;
    round_fine(e, dims);
}

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    estimate e;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.target = llmc_problem_target(p);
    if (e.target == 0) {
        llmc_error(d, "target_params", "the closed_form solver needs target_params");
        return LLMC_SOLVE_ERROR;
    }
    for (size_t i = 0; i < llmc_problem_num_vars(p); i++) {
        const llmc_var_domain *v = llmc_problem_var(p, i);
        if (llmc_domain_size(v) == 0) {
            llmc_error(d, llmc_dim_name(v->dim), "the template's domain for %s is empty", llmc_dim_name(v->dim));
            return LLMC_SOLVE_INFEASIBLE;
        }
        if (v->dim == LLMC_DIM_NUM_LAYERS || v->dim == LLMC_DIM_NUM_ENCODER_LAYERS ||
            v->dim == LLMC_DIM_NUM_DECODER_LAYERS) {
            if (e.n_depth < 2) e.depth[e.n_depth++] = v;
        } else if (v->dim == LLMC_DIM_HIDDEN_SIZE) e.width = v;
        else if (v->dim == LLMC_DIM_INTERMEDIATE_SIZE) e.fine = v;
        else e.shape[e.n_shape++] = v;
    }
    llmc_dims dims;
    memset(&dims, 0, sizeof dims);
    provisional_shape(&e, &dims);
    if (e.width && e.n_depth) {
        /* 1. width with depth tied to it by the aspect ratio: bisection on the width lattice */
        size_t lo = 0, hi = llmc_domain_size(e.width);
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int64_t h = llmc_domain_at(e.width, mid);
            llmc_dims_put(&dims, e.width->dim, h);
            set_depth(&e, &dims, llmc_domain_at(e.depth[0], nearest(e.depth[0], (double)h / ASPECT)));
            llmc_param_count c;
            if (llmc_problem_count(p, &dims, &c) != 0 || c.total >= e.target) hi = mid;
            else lo = mid + 1;
        }
        if (lo >= llmc_domain_size(e.width)) lo = llmc_domain_size(e.width) - 1;
        double h = (double)llmc_domain_at(e.width, lo);
        /* 2. round depth, 3. re-solve width at that depth, 4. round the MLP width */
        size_t di = nearest(e.depth[0], h / ASPECT);
        for (long dk = (long)di - 1; dk <= (long)di + 1; dk++) {
            if (dk < 0 || (size_t)dk >= llmc_domain_size(e.depth[0])) continue;
            set_depth(&e, &dims, llmc_domain_at(e.depth[0], (size_t)dk));
            size_t w = llmc_problem_bisect(p, &dims, e.width), n = llmc_domain_size(e.width);
            for (long k = (long)w - NEIGHBOURS; k <= (long)w + NEIGHBOURS; k++) {
                if (k < 0 || (size_t)k >= n) continue;
                llmc_dims_put(&dims, e.width->dim, llmc_domain_at(e.width, (size_t)k));
                try_candidate(&e, dims);
            }
        }
    } else if (e.width) {
        size_t w = llmc_problem_bisect(p, &dims, e.width), n = llmc_domain_size(e.width);
        for (long k = (long)w - NEIGHBOURS; k <= (long)w + NEIGHBOURS; k++) {
            if (k < 0 || (size_t)k >= n) continue;
            llmc_dims_put(&dims, e.width->dim, llmc_domain_at(e.width, (size_t)k));
            try_candidate(&e, dims);
        }
    } else if (e.n_depth) {
        size_t l = llmc_problem_bisect(p, &dims, e.depth[0]), n = llmc_domain_size(e.depth[0]);
        for (long k = (long)l - 1; k <= (long)l; k++) {
            if (k < 0 || (size_t)k >= n) continue;
            set_depth(&e, &dims, llmc_domain_at(e.depth[0], (size_t)k));
            try_candidate(&e, dims);
        }
    } else {
        try_candidate(&e, dims);
    }
    if (!e.found) {
        char t[32];
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(llmc_problem_spec(p), "target_params"), "target_params",
                      "closed_form found no feasible rounding near target %s (try solver: search, which explains "
                      "infeasible targets)",
                      llmc_fmt_count(e.target, t, sizeof t));
        return LLMC_SOLVE_INFEASIBLE;
    }
    *out = e.best;
    snprintf(out->note, sizeof out->note, "closed_form: aspect ratio %.0f, rounding only", ASPECT);
    return e.best.relative_error <= llmc_problem_tolerance(p) ? LLMC_SOLVE_OK : LLMC_SOLVE_OUT_OF_TOLERANCE;
}

static const llmc_solver_vtable closed_form_vtable = {sizeof(llmc_solver_vtable), solve};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_SOLVER, "closed_form", "1.0.0",
     "fast analytic estimate: width from the count polynomial at a fixed aspect ratio, then rounding",
     &closed_form_vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
