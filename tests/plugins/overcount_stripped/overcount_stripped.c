/* Test plugin: a manifest claiming 1000 plugins (within the 1024 limit) for an array of 1, in a
 * stripped file (plugin.cmake links it with -s), so no symbol tells the array's size. The host
 * must still refuse it: 1000 descriptors run past the end of the plugin's data segment. */
#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "overcount_stripped must never be called");
    return LLMC_SOLVE_ERROR;
}

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_plugin_desc plugins[] = {{LLMC_PLUGIN_SOLVER, "overcount_stripped", "1.0.0", "one of 1000", &vt}};

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {
    static const llmc_plugin_manifest m = {LLMC_ABI_VERSION, 1000, plugins};
    return &m;
}
