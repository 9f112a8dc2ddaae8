/* grid — an example out-of-tree solver: evaluate every point of a regular grid over the
 * problem's variables and keep the one whose exact count is closest to the target.
 *
 * Each variable's candidates come from its domain: an explicit list of values, or the
 * multiples of `step` in [min, max], where step starts at the domain's multiple_of.
 *  1. A larger dim never means fewer parameters, so once an axis reaches the target with every
 *     other variable at its smallest candidate, its larger values can only overshoot further:
 *     the range is cut there.
 *  2. While the grid has more than MAX_POINTS points, the densest range axis doubles its step
 *     (keeping every second candidate). Doubling keeps the grid on powers-of-two multiples,
 *     which is what divisibility constraints such as "hidden_size % 256 == 0" ask for.
 *  3. Every point goes to llmc_problem_evaluate(), which completes the derived dims through the
 *     template, checks every constraint (the template's and the user's) and counts exactly with
 *     the template's closed form. The first point with the smallest error wins, so the answer
 *     is deterministic.
 *
 * No pruning, no refinement around the best point: the built-in `search` solver is the one to
 * use. This one is meant to be read. The core re-checks any solver's answer independently
 * (pins, domains, every constraint) before using it. */
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"

#define NAME "grid"
#define MAX_POINTS 2000000.0

typedef struct axis {
    const llmc_var_domain *var;
    int64_t max;    /* range domains: the candidates are the multiples of step in [var->min, max] */
    int64_t step;
    size_t n;       /* number of candidates */
    size_t at;      /* the current one, 0 .. n-1 */
} axis;

static int64_t first_multiple(const axis *a) { return (a->var->min + a->step - 1) / a->step * a->step; }

static void count_candidates(axis *a) {
    if (a->var->n_values) a->n = a->var->n_values; /* explicit lists are short: never thinned */
    else a->n = first_multiple(a) > a->max ? 0 : (size_t)((a->max - first_multiple(a)) / a->step) + 1;
}

static int64_t candidate(const axis *a, size_t i) {
    return a->var->n_values ? a->var->values[i] : first_multiple(a) + (int64_t)i * a->step;
}

static double rel_error(uint64_t params, uint64_t target) {
    double diff = params > target ? (double)(params - target) : (double)(target - params);
    return diff / (double)target;
}

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    uint64_t target = llmc_problem_target(p);
    size_t n = llmc_problem_num_vars(p);
    if (target == 0 || n > LLMC_DIM_COUNT) {
        llmc_error(d, "target_params", NAME ": needs target_params >= 1 and at most %d variables", LLMC_DIM_COUNT);
        return LLMC_SOLVE_ERROR;
    }

    /* the axes: every candidate of every domain */
    axis ax[LLMC_DIM_COUNT];
    llmc_dims smallest = *llmc_problem_pinned(p);
    for (size_t i = 0; i < n; i++) {
        const llmc_var_domain *v = llmc_problem_var(p, i);
        ax[i] = (axis){v, v->max, v->multiple_of > 0 ? v->multiple_of : 1, 0, 0};
        count_candidates(&ax[i]);
        if (ax[i].n == 0) {
            llmc_error(d, "target_params", NAME ": variable %s has no candidate values", llmc_dim_name(v->dim));
            return LLMC_SOLVE_INFEASIBLE;
        }
        llmc_dims_put(&smallest, v->dim, candidate(&ax[i], 0));
    }

    /* 1. cut each range where it reaches the target alone (llmc_problem_bisect finds the value;
     *    the cut is made only if the count there is confirmed) */
    for (size_t i = 0; i < n; i++) {
        if (ax[i].var->n_values) continue;
        llmc_dims probe = smallest;
        size_t k = llmc_problem_bisect(p, &probe, ax[i].var);
        if (k >= llmc_domain_size(ax[i].var)) continue;
        llmc_dims_put(&probe, ax[i].var->dim, llmc_domain_at(ax[i].var, k));
        llmc_param_count c;
        if (llmc_problem_count(p, &probe, &c) == 0 && c.total >= target) {
            ax[i].max = llmc_domain_at(ax[i].var, k);
            count_candidates(&ax[i]);
        }
    }

    /* 2. thin the densest range axis until the grid fits */
    double total = 1.0;
    for (size_t i = 0; i < n; i++) total *= (double)ax[i].n;
    while (total > MAX_POINTS) {
        axis *densest = NULL;
        for (size_t i = 0; i < n; i++)
            if (!ax[i].var->n_values && ax[i].n > 1 && (!densest || ax[i].n > densest->n)) densest = &ax[i];
        if (!densest) break; /* only explicit lists left: evaluate them all */
        total /= (double)densest->n;
        densest->step *= 2;  /* n > 1, so step * 2 <= max: no overflow */
        count_candidates(densest);
        total *= (double)densest->n;
    }

    /* 3. walk the grid like an odometer; count which constraint rejects the most points, to
     * explain an empty result */
    size_t n_cons = llmc_problem_num_constraints(p);
    uint64_t rejected_by[256] = {0}, evaluated = 0;
    bool found = false;
    for (;;) {
        llmc_dims dims = *llmc_problem_pinned(p);
        for (size_t i = 0; i < n; i++) llmc_dims_put(&dims, ax[i].var->dim, candidate(&ax[i], ax[i].at));
        uint64_t params = 0;
        long violated = -1;
        llmc_eval_status st = llmc_problem_evaluate(p, &dims, &params, &violated, NULL, 0);
        evaluated++;
        if (st == LLMC_EVAL_OK) {
            double err = rel_error(params, target);
            if (!found || err < out->relative_error) {
                found = true;
                out->dims = dims;  /* complete: evaluate filled in the derived dims */
                out->params = params;
                out->relative_error = err;
            }
        } else if (st == LLMC_EVAL_VIOLATES && violated >= 0 && (size_t)violated < 256) {
            rejected_by[violated]++;
        }
        size_t i = 0; /* next point: advance the first axis, carrying into the next ones */
        while (i < n) {
            if (++ax[i].at < ax[i].n) break;
            ax[i++].at = 0;
        }
        if (i == n) break;
    }
    out->evaluated = evaluated;

    if (!found) {
        size_t worst = 0;
        for (size_t c = 1; c < n_cons && c < 256; c++)
            if (rejected_by[c] > rejected_by[worst]) worst = c;
        if (n_cons > 0 && rejected_by[worst] > 0)
            llmc_error(d, "target_params",
                       NAME ": none of the %llu grid points satisfies the constraints; '%s' (from %s) rejected the "
                       "most of them (%llu)",
                       (unsigned long long)evaluated, llmc_problem_constraint_text(p, worst),
                       llmc_problem_constraint_origin(p, worst), (unsigned long long)rejected_by[worst]);
        else
            llmc_error(d, "target_params", NAME ": none of the %llu grid points gives complete dims",
                       (unsigned long long)evaluated);
        return LLMC_SOLVE_INFEASIBLE;
    }
    char steps[200] = "";
    for (size_t i = 0; i < n; i++)
        if (!ax[i].var->n_values)
            snprintf(steps + strlen(steps), sizeof steps - strlen(steps), "%s%s step %lld", steps[0] ? ", " : "",
                     llmc_dim_name(ax[i].var->dim), (long long)ax[i].step);
    snprintf(out->note, sizeof out->note, NAME ": %llu points (%s)", (unsigned long long)evaluated,
             steps[0] ? steps : "every candidate");
    if (out->relative_error > llmc_problem_tolerance(p)) {
        size_t used = strlen(out->note);
        snprintf(out->note + used, sizeof out->note - used, "; a finer grid or solver: search may get closer");
        return LLMC_SOLVE_OUT_OF_TOLERANCE;
    }
    return LLMC_SOLVE_OK;
}

static const llmc_solver_vtable vtable = {sizeof(llmc_solver_vtable), solve};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_SOLVER, NAME, "1.0.0", "example out-of-tree solver: full grid over the domains, least error wins",
     &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
