/* Test plugin: a solver named dup_plugin; dup_b.so provides an emitter of the same name. */
#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "dup_plugin (dup_a) is a test plugin: it does not solve sizing problems");
    return LLMC_SOLVE_ERROR;
}

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_plugin_desc plugins[] = {{LLMC_PLUGIN_SOLVER, "dup_plugin", "1.0.0", "first of two", &vt}};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
