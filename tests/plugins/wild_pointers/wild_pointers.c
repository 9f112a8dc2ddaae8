/* Test plugin: descriptors whose pointers lead outside the plugin (a name, a version, a
 * description, a vtable, a vtable function), next to one valid solver. The host must refuse
 * each bad one with its own message without following the pointer, and keep the valid one. */
#include <stdint.h>

#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "wild_pointers is a test plugin: it does not solve sizing problems");
    return LLMC_SOLVE_ERROR;
}

#define WILD 64u /* an address no plugin is loaded at */

static const llmc_solver_vtable vt = {sizeof vt, solve};
static const llmc_solver_vtable wild_fn_vt = {sizeof wild_fn_vt,
                                              (int (*)(const llmc_problem *, llmc_solution *, llmc_diags *))WILD};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_SOLVER, (const char *)WILD, "1.0.0", "wild name", &vt},
    {LLMC_PLUGIN_SOLVER, "wild_version", (const char *)WILD, "wild version", &vt},
    {LLMC_PLUGIN_SOLVER, "wild_description", "1.0.0", (const char *)WILD, &vt},
    {LLMC_PLUGIN_SOLVER, "wild_vtable", "1.0.0", "wild vtable", (const void *)WILD},
    {LLMC_PLUGIN_SOLVER, "wild_function", "1.0.0", "wild function", &wild_fn_vt},
    {LLMC_PLUGIN_SOLVER, "wild_pointers_ok", "1.0.0", "the valid one", &vt},
};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
