/* Test plugin: a plugin of kind 42, which no llmc knows. */
#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "mystery must never be called");
    return LLMC_SOLVE_ERROR;
}

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_plugin_desc plugins[] = {{42, "mystery", "1.0.0", "a kind from the future", &vt}};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
