/* Test plugin: a hand-written manifest that claims 5 plugins while its array holds 1 (a count
 * left over after removing plugins). Reading descriptors 2..5 would read past the array; the
 * host must compare the count with the size of the array's symbol and refuse the file. */
#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "overcount must never be called");
    return LLMC_SOLVE_ERROR;
}

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_plugin_desc plugins[] = {{LLMC_PLUGIN_SOLVER, "overcount", "1.0.0", "one of five", &vt}};

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {
    static const llmc_plugin_manifest m = {LLMC_ABI_VERSION, 5, plugins};
    return &m;
}
