/* Test-only plugins for the pipeline's tests (never installed):
 *   fail_emit  writes a file, then fails — the compile must leave no OUT behind;
 *   slow_emit  writes a file, then waits up to 30 s, polling llmc_interrupted() as a long emitter
 *              should — the tests interrupt it with a signal;
 *   liar       a solver that answers with dims violating the constraints — the core's
 *              independent check must refuse them. */
#include <string.h>
#include <time.h>

#include "llmc/llmc.h"

static int fail_emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    static const char text[] = "partial\n";
    if (llmc_out_write_file(ctx, "fail/partial.txt", text, sizeof text - 1, d) != 0) return 1;
    llmc_error(d, "emit", "fail_emit fails on purpose after writing fail/partial.txt");
    return 1;
}

static int slow_emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    static const char text[] = "partial\n";
    if (llmc_out_write_file(ctx, "slow/partial.txt", text, sizeof text - 1, d) != 0) return 1;
    for (int i = 0; i < 300; i++) {
        if (llmc_interrupted()) return 1;
        struct timespec tenth = {0, 100000000L};
        nanosleep(&tenth, NULL);
    }
    return 0;
}

static int liar_solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)d;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < llmc_problem_num_vars(p); i++) {
        const llmc_var_domain *v = llmc_problem_var(p, i);
        llmc_dims_put(&out->dims, v->dim, v->min + 1); /* off the lattice */
    }
    out->params = llmc_problem_target(p);
    return LLMC_SOLVE_OK;
}

static const llmc_solver_vtable liar_vt = {sizeof(llmc_solver_vtable), liar_solve};
static const llmc_emitter_vtable fail_vt = {sizeof(llmc_emitter_vtable), NULL, fail_emit, NULL};
static const llmc_emitter_vtable slow_vt = {sizeof(llmc_emitter_vtable), NULL, slow_emit, NULL};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, "fail_emit", "1.0.0", "test: fails after writing a file", &fail_vt},
    {LLMC_PLUGIN_EMITTER, "slow_emit", "1.0.0", "test: sleeps after writing a file", &slow_vt},
    {LLMC_PLUGIN_SOLVER, "liar", "1.0.0", "test: answers with dims that violate the constraints", &liar_vt},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
