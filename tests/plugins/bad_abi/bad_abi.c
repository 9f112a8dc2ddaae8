/* Test plugin: a manifest claiming ABI 999. The host must refuse it after reading only
 * abi_version, naming both versions. */
#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "bad_abi must never be called");
    return LLMC_SOLVE_ERROR;
}

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_plugin_desc plugins[] = {{LLMC_PLUGIN_SOLVER, "bad_abi", "1.0.0", "built for a future llmc", &vt}};

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {
    static const llmc_plugin_manifest m = {999, 1, plugins};
    return &m;
}
