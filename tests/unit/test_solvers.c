/* Solvers: a sweep of 200 log-spaced targets from 10M to 1T for both templates — every answer
 * passes the core's independent check; with objective closest the search solver's error is
 * <= 0.1% or provably the best the lattice allows, with objective plausible every answer is
 * within the tolerance; pins are honoured; the shapes the issue tracker showed are gone; missed
 * budgets and answers are explained (core/explain.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "config.h"
#include "explain.h"
#include "registry.h"
#include "plugin_fixture.h"
#include "testutil.h"

typedef struct solved {
    int status;
    llmc_solution sol;
    char *diags;
} solved;

/* solve a spec with a solver; checks the answer independently when there is one */
static solved run_solver(const char *spec_text, const char *solver_name) {
    solved r;
    memset(&r, 0, sizeof r);
    llmc_spec *spec = test_spec(spec_text);
    const llmc_template_vtable *tv = tmpl(spec->template_name);
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(tv->validate(spec, d), 0);
    llmc_problem *p = llmc_problem_create(spec, tv, d);
    if (!p) fail_msg("problem: %s", test_all_diags(d));
    r.status = solver(solver_name)->solve(p, &r.sol, d);
    if (r.status == LLMC_SOLVE_OK || r.status == LLMC_SOLVE_OUT_OF_TOLERANCE) {
        llmc_diags *chk = llmc_diags_create();
        if (llmc_problem_check_solution(p, &r.sol.dims, chk) != 0)
            fail_msg("%s answer for\n%s\nfails the independent check:\n%s", solver_name, spec_text,
                     test_all_diags(chk));
        llmc_diags_free(chk);
        /* the reported count is the template's exact count of those dims */
        llmc_param_count c;
        assert_int_equal(tv->count(spec, &r.sol.dims, &c), 0);
        assert_true(c.total == r.sol.params);
    }
    r.diags = test_all_diags(d);
    llmc_diags_free(d);
    llmc_problem_free(p);
    llmc_spec_free(spec);
    return r;
}

/* ---- an exhaustive oracle, independent of the solvers ------------------------------------------
 * Every assignment of every variable except the last-declared one (pruned only by bounds that
 * are exact because the count is nondecreasing in every dim), and for the last one the feasible
 * values nearest the crossing on both sides, found by scanning without limit. Slow, so only used
 * where the search solver misses 0.1%, to show whether the lattice allows better. */
typedef struct oracle {
    const llmc_problem *p;
    uint64_t target;
    double best;
    size_t n_vars;
    uint64_t evals;
} oracle;

static double rel(uint64_t n, uint64_t t) { return (n > t ? (double)(n - t) : (double)(t - n)) / (double)t; }

/* count with every variable from k on at its minimum: a lower bound of what this prefix reaches */
static bool lower_bound(oracle *o, llmc_dims dims, size_t k, uint64_t *n) {
    for (size_t j = k; j < o->n_vars; j++) {
        const llmc_var_domain *v = llmc_problem_var(o->p, j);
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, 0));
    }
    llmc_param_count c;
    if (llmc_problem_count(o->p, &dims, &c) != 0) return false;
    *n = c.total;
    return true;
}

static void oracle_eval(oracle *o, llmc_dims dims) {
    uint64_t n;
    o->evals++;
    if (llmc_problem_evaluate(o->p, &dims, &n, NULL, NULL, 0) == LLMC_EVAL_OK && rel(n, o->target) < o->best)
        o->best = rel(n, o->target);
}

static void oracle_rec(oracle *o, llmc_dims dims, size_t k) {
    const llmc_var_domain *v = llmc_problem_var(o->p, k);
    size_t n = llmc_domain_size(v);
    if (k + 1 == o->n_vars) {
        llmc_dims probe = dims;
        size_t j = llmc_problem_bisect(o->p, &probe, v);
        for (long i = (long)j - 1; i >= 0; i--) { /* nearest feasible below */
            llmc_dims_put(&dims, v->dim, llmc_domain_at(v, (size_t)i));
            uint64_t c;
            if (llmc_problem_evaluate(o->p, &dims, &c, NULL, NULL, 0) == LLMC_EVAL_OK) { oracle_eval(o, dims); break; }
        }
        for (size_t i = j; i < n; i++) { /* nearest feasible above */
            llmc_dims_put(&dims, v->dim, llmc_domain_at(v, i));
            uint64_t c;
            if (llmc_problem_evaluate(o->p, &dims, &c, NULL, NULL, 0) == LLMC_EVAL_OK) { oracle_eval(o, dims); break; }
            llmc_param_count pc; /* infeasible: stop once even a feasible value here could not win */
            if (llmc_problem_count(o->p, &dims, &pc) == 0 && pc.total > o->target && rel(pc.total, o->target) >= o->best)
                break;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, i));
        uint64_t lb;
        if (lower_bound(o, dims, k + 1, &lb) && lb > o->target && rel(lb, o->target) >= o->best) break;
        if (!llmc_problem_partial_ok(o->p, &dims)) continue;
        oracle_rec(o, dims, k + 1);
    }
}

/* the smallest relative error any feasible assignment reaches */
static double oracle_best(const char *spec_text) {
    llmc_spec *spec = test_spec(spec_text);
    llmc_diags *d = llmc_diags_create();
    llmc_problem *p = llmc_problem_create(spec, tmpl(spec->template_name), d);
    assert_non_null(p);
    oracle o = {p, llmc_problem_target(p), INFINITY, llmc_problem_num_vars(p), 0};
    llmc_dims dims;
    memset(&dims, 0, sizeof dims);
    if (o.n_vars) oracle_rec(&o, dims, 0);
    llmc_problem_free(p);
    llmc_diags_free(d);
    llmc_spec_free(spec);
    return o.best;
}

static const char *const sweep_specs[] = {
    /* decoder-only, all defaults (llama-style: rope, rmsnorm, swiglu, mha) */
    "target_params: %llu\nvocab_size: 32000\n%s",
    /* encoder-decoder, T5 style */
    "template: encoder_decoder\ntarget_params: %llu\nvocab_size: 32128\npositional_encoding: relative\n"
    "activation: relu\ntie_word_embeddings: true\n%s",
};

/* targets per sweep: 200 natively; .ci/run's valgrind pass asks for fewer (each solve is ~40x slower there) */
static int sweep_count(void) {
    const char *e = getenv("LLMC_SOLVER_SWEEP_N");
    long n = e ? strtol(e, NULL, 10) : 200;
    return n >= 2 && n <= 200 ? (int)n : 200;
}

static void sweep(const char *solver_name, const char *objective, bool assert_error) {
    char option[64] = "";
    if (objective) snprintf(option, sizeof option, "solver_options: {objective: %s}\n", objective);
    for (size_t s = 0; s < sizeof sweep_specs / sizeof *sweep_specs; s++) {
        double worst = 0, sum = 0;
        int n = sweep_count(), over = 0, outside = 0;
        for (int i = 0; i < n; i++) {
            double lt = log(1e7) + (log(1e12) - log(1e7)) * i / (n - 1);
            unsigned long long target = (unsigned long long)llround(exp(lt));
            char text[512];
            snprintf(text, sizeof text, sweep_specs[s], target, option);
            solved r = run_solver(text, solver_name);
            if (r.status != LLMC_SOLVE_OK && r.status != LLMC_SOLVE_OUT_OF_TOLERANCE)
                fail_msg("%s: no answer for target %llu:\n%s", solver_name, target, r.diags);
            if (r.sol.relative_error > worst) worst = r.sol.relative_error;
            sum += r.sol.relative_error;
            outside += r.status != LLMC_SOLVE_OK;
            if (!objective && !strcmp(solver_name, "search") && r.status != LLMC_SOLVE_OK)
                fail_msg("plausible: target %llu: no answer within the tolerance (error %.4f%%)", target,
                         100 * r.sol.relative_error);
            if (r.sol.relative_error > 1e-3 && assert_error) {
                /* allowed only where no feasible assignment does better: ask the oracle */
                double best = oracle_best(text);
                if (r.sol.relative_error > best * (1 + 1e-9) + 1e-12 && best <= 1e-3)
                    fail_msg("%s: target %llu: relative error %.5f%% but the lattice allows %.5f%%", solver_name,
                             target, 100 * r.sol.relative_error, 100 * best);
                printf("[ %s ] target %llu: error %.4f%%; the lattice allows no better than %.4f%%\n", solver_name,
                       target, 100 * r.sol.relative_error, 100 * best);
            }
            if (r.sol.relative_error > 1e-3) over++;
            free(r.diags);
        }
        printf("[ %s %s ] %s: %d targets 10M..1T: mean error %.5f%%, worst %.5f%%, %d above 0.1%%, %d outside the "
               "tolerance\n",
               solver_name, objective ? objective : "", s == 0 ? "decoder_only" : "encoder_decoder", n, 100 * sum / n,
               100 * worst, over, outside);
    }
}

static void test_search_sweep_closest(void **state) {
    (void)state;
    sweep("search", "closest", true);
}

static void test_search_sweep_plausible(void **state) {
    (void)state;
    sweep("search", NULL, false); /* the default objective (plausible): within the tolerance, every time */
}

static void test_closed_form_sweep(void **state) {
    (void)state;
    sweep("closed_form", NULL, false); /* every answer is checked; its error is only reported */
}

static void test_pins_honoured(void **state) {
    (void)state;
    const char *t = "target_params: 7B\nvocab_size: 32000\ndims: {num_layers: 32, head_dim: 128}\n"
                    "solver_options: {objective: closest}\n";
    solved r = run_solver(t, "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_int_equal(r.sol.dims.v[LLMC_DIM_NUM_LAYERS], 32);
    assert_int_equal(r.sol.dims.v[LLMC_DIM_HEAD_DIM], 128);
    /* with these pins hidden_size moves in steps of 128: as close as the lattice allows */
    double best = oracle_best(t);
    if (r.sol.relative_error > 1e-3 && r.sol.relative_error > best * (1 + 1e-9))
        fail_msg("pinned 7B: error %.5f%%, the lattice allows %.5f%%", 100 * r.sol.relative_error, 100 * best);
    free(r.diags);
    r = run_solver("target_params: 7B\nvocab_size: 32000\ndims: {num_layers: 32, head_dim: 128}\n", "closed_form");
    assert_int_equal(r.sol.dims.v[LLMC_DIM_NUM_LAYERS], 32);
    assert_int_equal(r.sol.dims.v[LLMC_DIM_HEAD_DIM], 128);
    free(r.diags);
}

static void test_user_constraints_honoured(void **state) {
    (void)state;
    solved r = run_solver("target_params: 1B\nvocab_size: 32000\nconstraints:\n  - hidden_size % 256 == 0\n"
                          "  - num_layers in [16, 24]\n  - intermediate_size % 256 == 0\n",
                          "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_int_equal(r.sol.dims.v[LLMC_DIM_HIDDEN_SIZE] % 256, 0);
    assert_int_equal(r.sol.dims.v[LLMC_DIM_INTERMEDIATE_SIZE] % 256, 0);
    assert_true(r.sol.dims.v[LLMC_DIM_NUM_LAYERS] >= 16 && r.sol.dims.v[LLMC_DIM_NUM_LAYERS] <= 24);
    free(r.diags);
}

static void test_deterministic(void **state) {
    (void)state;
    const char *t = "target_params: 350M\nvocab_size: 50257\n";
    solved a = run_solver(t, "search"), b = run_solver(t, "search");
    assert_memory_equal(&a.sol.dims, &b.sol.dims, sizeof a.sol.dims);
    free(a.diags);
    free(b.diags);
}

/* below the smallest model the vocabulary allows: the answer is that smallest model */
static void test_below_minimum(void **state) {
    (void)state;
    solved r = run_solver("target_params: 1M\nvocab_size: 32000\n", "search");
    assert_int_equal(r.status, LLMC_SOLVE_OUT_OF_TOLERANCE);
    /* 32000 x 64 twice (untied), one layer of width 64 with 2 heads of 32: nothing is smaller */
    assert_int_equal(r.sol.dims.v[LLMC_DIM_HIDDEN_SIZE], 64);
    assert_int_equal(r.sol.dims.v[LLMC_DIM_NUM_LAYERS], 1);
    free(r.diags);
}

static void test_infeasible_constraints_named(void **state) {
    (void)state;
    solved r = run_solver("target_params: 100M\nvocab_size: 32000\nconstraints:\n  - hidden_size % 999 == 1000\n",
                          "search");
    assert_int_equal(r.status, LLMC_SOLVE_INFEASIBLE);
    if (!strstr(r.diags, "binding: constraints[0] 'hidden_size % 999 == 1000'")) fail_msg("message: %s", r.diags);
    free(r.diags);
}

static void test_out_of_tolerance(void **state) {
    (void)state;
    /* pinned this way the model can only grow in steps of whole layers */
    solved r = run_solver("target_params: 110M\nvocab_size: 32000\ntolerance: 0.0001\n"
                          "dims: {hidden_size: 768, num_heads: 12, intermediate_size: 3072}\n",
                          "search");
    assert_int_equal(r.status, LLMC_SOLVE_OUT_OF_TOLERANCE);
    assert_true(r.sol.relative_error > 0.0001);
    free(r.diags);
}

static void test_objective_option(void **state) {
    (void)state;
    /* closest: the exact count wins; plausible: a rounder shape within the tolerance */
    solved c = run_solver("target_params: 7B\nvocab_size: 32000\nsolver_options: {objective: closest}\n", "search");
    solved p = run_solver("target_params: 7B\nvocab_size: 32000\n", "search");
    assert_int_equal(c.status, LLMC_SOLVE_OK);
    assert_int_equal(p.status, LLMC_SOLVE_OK);
    assert_true(c.sol.relative_error <= 1e-3);
    assert_true(p.sol.relative_error <= 0.01);
    assert_int_equal(p.sol.dims.v[LLMC_DIM_HIDDEN_SIZE], 4096);
    assert_int_equal(p.sol.dims.v[LLMC_DIM_NUM_LAYERS], 32);
    free(c.diags);
    free(p.diags);
    solved bad = run_solver("target_params: 7B\nvocab_size: 32000\nsolver_options: {objective: fastest}\n", "search");
    assert_int_equal(bad.status, LLMC_SOLVE_ERROR);
    if (!strstr(bad.diags, "test.yaml:3:29: solver_options.objective: unknown objective 'fastest' for solver search "
                           "(expected plausible or closest)"))
        fail_msg("message: %s", bad.diags);
    free(bad.diags);
    bad = run_solver("target_params: 7B\nvocab_size: 32000\nsolver_options: {speed: 3}\n", "search");
    assert_int_equal(bad.status, LLMC_SOLVE_ERROR);
    if (!strstr(bad.diags, "solver_options.speed: unknown option for solver search")) fail_msg("message: %s", bad.diags);
    free(bad.diags);
}

static int64_t dim(const solved *r, llmc_dim_id id) { return r->sol.dims.v[id]; }

/* The shapes issue 17 showed, each now the shape of a published model or close to one. */
static void test_issue_shapes(void **state) {
    (void)state;
    /* 125M was 41 layers x 448 with 7 heads */
    solved r = run_solver("target_params: 125M\nvocab_size: 32000\n", "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_true(dim(&r, LLMC_DIM_HIDDEN_SIZE) % 256 == 0 && dim(&r, LLMC_DIM_NUM_HEADS) >= 8);
    assert_true(dim(&r, LLMC_DIM_NUM_HEADS) % 4 == 0);
    free(r.diags);
    /* 10M was a single head */
    r = run_solver("target_params: 10M\nvocab_size: 32000\n", "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_true(dim(&r, LLMC_DIM_NUM_HEADS) >= 4);
    free(r.diags);
    /* 70B had 66 heads */
    r = run_solver("target_params: 70B\nvocab_size: 32000\n", "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_int_equal(dim(&r, LLMC_DIM_HEAD_DIM), 128);
    assert_int_equal(dim(&r, LLMC_DIM_NUM_HEADS) % 8, 0);
    assert_int_equal(dim(&r, LLMC_DIM_HIDDEN_SIZE) % 1024, 0);
    free(r.diags);
    /* a 60M T5 was 2 + 2 layers x 832 with 13 heads: it is T5-small now */
    r = run_solver("template: encoder_decoder\ntarget_params: 60M\nvocab_size: 32128\npositional_encoding: relative\n"
                   "activation: relu\ntie_word_embeddings: true\n",
                   "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_int_equal(dim(&r, LLMC_DIM_NUM_ENCODER_LAYERS), 6);
    assert_int_equal(dim(&r, LLMC_DIM_NUM_DECODER_LAYERS), 6);
    assert_int_equal(dim(&r, LLMC_DIM_HIDDEN_SIZE), 512);
    assert_int_equal(dim(&r, LLMC_DIM_NUM_HEADS), 8);
    assert_int_equal(dim(&r, LLMC_DIM_INTERMEDIATE_SIZE), 2048);
    free(r.diags);
    /* docs/spec.md's 1.2B example was hidden 2432 with 32 x 64 query heads: the heads span the width now */
    r = run_solver("target_params: 1.2B\ntolerance: 0.02\ndims: {num_heads: 32, num_kv_heads: 8, head_dim: 64}\n"
                   "vocab_size: 128256\ncontext_length: 8192\nattention: gqa\ntie_word_embeddings: true\n"
                   "constraints:\n  - hidden_size % 128 == 0\n  - num_layers in [8, 32]\n"
                   "  - intermediate_size % 256 == 0\n",
                   "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    assert_int_equal(dim(&r, LLMC_DIM_HIDDEN_SIZE), 32 * 64);
    free(r.diags);
}

/* Small targets a user would accept solve with the default tolerance. */
static void test_default_tolerance_small_targets(void **state) {
    (void)state;
    const char *const specs[] = {
        "target_params: 11.9M\nvocab_size: 32000\n",
        "template: encoder_decoder\ntarget_params: 1M\nvocab_size: 256\npositional_encoding: relative\n"
        "activation: relu\ntie_word_embeddings: true\n",
        "template: encoder_decoder\ntarget_params: 1M\nvocab_size: 4096\npositional_encoding: relative\n"
        "activation: relu\ntie_word_embeddings: true\n",
        "target_params: 2M\nvocab_size: 8192\ntie_word_embeddings: true\n",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        solved r = run_solver(specs[i], "search");
        if (r.status != LLMC_SOLVE_OK) fail_msg("%s\nstatus %d, error %.3f%%\n%s", specs[i], r.status,
                                                 100 * r.sol.relative_error, r.diags);
        free(r.diags);
    }
    assert_true(fabs(llmc_default_tolerance(1000000) - 0.1) < 1e-12);
    assert_true(fabs(llmc_default_tolerance(100000000) - 0.01) < 1e-12);
    assert_true(fabs(llmc_default_tolerance(7000000000ull) - 0.01) < 1e-12);
    assert_true(llmc_default_tolerance(11900000) > 0.028 && llmc_default_tolerance(11900000) < 0.03);
}

/* ---- explanations ---------------------------------------------------------------------------------------- */

static void test_explain_solution(void **state) {
    (void)state;
    const char *text = "target_params: 1B\nvocab_size: 32000\nattention: gqa\ndims: {num_kv_heads: 8}\n"
                       "constraints:\n  - num_layers <= 16\n";
    solved r = run_solver(text, "search");
    assert_int_equal(r.status, LLMC_SOLVE_OK);
    llmc_spec *spec = test_spec(text);
    llmc_explanation e;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_explain_solution(spec, tmpl(spec->template_name), solver("search"), &r.sol.dims,
                                           r.sol.params, &e, d),
                     0);
    assert_int_equal(e.n_runner_ups, LLMC_EXPLAIN_RUNNER_UPS);
    for (size_t i = 0; i < e.n_runner_ups; i++) {
        /* each runner-up is feasible, within the tolerance, and no better than the answer */
        assert_true(e.runner_ups[i].relative_error <= spec->tolerance);
        assert_true(e.runner_ups[i].score <= e.answer.score + 1e-9);
        assert_true(e.runner_ups[i].dims.v[LLMC_DIM_NUM_LAYERS] <= 16);
    }
    bool saw_constraint = false;
    for (size_t i = 0; i < e.n_dims; i++) {
        const llmc_dim_reason *x = &e.dims[i];
        switch (x->dim) {
        case LLMC_DIM_NUM_KV_HEADS: assert_int_equal(x->by, LLMC_DECIDED_PIN); break;
        case LLMC_DIM_NUM_HEADS: assert_int_equal(x->by, LLMC_DECIDED_FAMILY); break;
        case LLMC_DIM_NUM_LAYERS:
            /* 16 is the largest depth the constraint allows; the prior wants the model deeper */
            if (x->by == LLMC_DECIDED_CONSTRAINT) saw_constraint = true;
            else assert_int_equal(x->by, LLMC_DECIDED_PRIOR);
            break;
        default: assert_true(x->by == LLMC_DECIDED_PRIOR || x->by == LLMC_DECIDED_BUDGET); break;
        }
        assert_true(strlen(x->detail) > 10);
    }
    print_message("num_layers decided by %s\n", saw_constraint ? "the constraint" : "the prior");
    llmc_diags_free(d);
    llmc_spec_free(spec);
    free(r.diags);
}

static char *miss_notes(const char *text) {
    llmc_spec *spec = test_spec(text);
    llmc_diags *d = llmc_diags_create();
    llmc_explain_miss(spec, tmpl(spec->template_name), solver("search"), d);
    char *m = test_all_diags(d);
    llmc_diags_free(d);
    llmc_spec_free(spec);
    return m;
}

/* 125M with a 128k vocabulary, head_dim 128 and at least 8 heads: the embeddings alone are 262M.
 * The explanation names the head constraints or the vocabulary, never the MLP rule. */
static void test_explain_miss_blames_the_user(void **state) {
    (void)state;
    char *m = miss_notes("target_params: 125M\nvocab_size: 128256\ndims: {head_dim: 128}\n"
                         "constraints:\n  - num_heads in [8, 128]\n");
    if (!strstr(m, "counts reachable run from 273,157,120") ||
        !strstr(m, "becomes reachable without dims.head_dim: 128") ||
        !strstr(m, "or without constraints[0] 'num_heads in [8, 128]'") || !strstr(m, "a vocabulary of at most") ||
        strstr(m, "intermediate_size in ["))
        fail_msg("%s", m);
    free(m);
    /* inside the reachable range, a constraint that leaves no count near the target */
    m = miss_notes("target_params: 7B\nvocab_size: 32000\ntolerance: 0.001\n"
                   "dims: {hidden_size: 4096, num_heads: 32, intermediate_size: 11008}\n");
    /* whole layers of 202,383,360 parameters: 33 of them (Llama 2 7B has 32) or 34 */
    if (!strstr(m, "the nearest counts reachable: 6,940,798,976 (0.85% below: num_layers 33") ||
        !strstr(m, "7,143,182,336 (2.05% above: num_layers 34") ||
        !strstr(m, "becomes reachable without dims.hidden_size: 4096; or without dims.intermediate_size: 11008"))
        fail_msg("%s", m);
    free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_sweep_closest),
        cmocka_unit_test(test_search_sweep_plausible),
        cmocka_unit_test(test_closed_form_sweep),
        cmocka_unit_test(test_pins_honoured),
        cmocka_unit_test(test_user_constraints_honoured),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_below_minimum),
        cmocka_unit_test(test_infeasible_constraints_named),
        cmocka_unit_test(test_out_of_tolerance),
        cmocka_unit_test(test_objective_option),
        cmocka_unit_test(test_issue_shapes),
        cmocka_unit_test(test_default_tolerance_small_targets),
        cmocka_unit_test(test_explain_solution),
        cmocka_unit_test(test_explain_miss_blames_the_user),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
