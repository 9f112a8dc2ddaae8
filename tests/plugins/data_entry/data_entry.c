/* Test plugin: the entry symbol is a data object (the manifest itself) instead of the function
 * LLMC_DEFINE_PLUGIN_ENTRY defines, as a plugin written by hand might have it. Calling it would
 * jump into data; the host must refuse the file from the symbol's type. */
#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "data_entry must never be called");
    return LLMC_SOLVE_ERROR;
}

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_plugin_desc plugins[] = {{LLMC_PLUGIN_SOLVER, "data_entry", "1.0.0", "entry is data", &vt}};

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest llmc_plugin_entry;
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest llmc_plugin_entry = {LLMC_ABI_VERSION, 1, plugins};
