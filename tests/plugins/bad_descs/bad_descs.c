/* Test plugin: one .so whose manifest has a bad descriptor of every per-plugin kind, plus
 * one valid emitter (without the optional check function). The loader must refuse each
 * bad one with its own message, register the valid one and keep the file open. */
#include <stddef.h>

#include "llmc/plugin.h"

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "bad_descs is a test plugin: it does not solve sizing problems");
    return LLMC_SOLVE_ERROR;
}

static int validate(const llmc_spec *spec, llmc_diags *d) {
    (void)spec;
    (void)d;
    return 0;
}

static int count(const llmc_spec *spec, const llmc_dims *dims, llmc_param_count *out) {
    (void)spec;
    (void)dims;
    (void)out;
    return 1; /* builds nothing, so has no count */
}

static int emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    (void)ctx;
    llmc_error(d, "emit", "bad_descs_emitter is a test plugin: it writes nothing");
    return 1;
}

static const llmc_solver_vtable solver_vt = {sizeof solver_vt, solve};
static const llmc_template_vtable half_vt = {sizeof half_vt, validate, NULL, NULL, count, NULL};
static const llmc_emitter_vtable emitter_vt = {sizeof emitter_vt, NULL, emit, NULL};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_SOLVER, NULL, "1.0.0", "no name", &solver_vt},
    {LLMC_PLUGIN_SOLVER, "", "1.0.0", "empty name", &solver_vt},
    {LLMC_PLUGIN_SOLVER, "bad name!", "1.0.0", "invalid name", &solver_vt},
    {LLMC_PLUGIN_SOLVER, "no_version", NULL, "no version", &solver_vt},
    {LLMC_PLUGIN_SOLVER, "empty_version", "", "empty version", &solver_vt},
    {LLMC_PLUGIN_SOLVER, "null_vtable", "1.0.0", "no vtable", NULL},
    {LLMC_PLUGIN_TEMPLATE, "half_template", "1.0.0", "three required functions missing", &half_vt},
    {LLMC_PLUGIN_EMITTER, "bad_descs_emitter", "0.1.0", NULL, &emitter_vt},
    {LLMC_PLUGIN_SOLVER, "bad_descs_emitter", "0.1.0", "same name again", &solver_vt},
};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
