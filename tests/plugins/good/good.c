/* Test plugin (never installed, never a built-in): one .so providing a template, a solver
 * and an emitter, all valid as far as the loader can tell. The emitter really writes a
 * small file so tests can call it through the loaded vtable; the template and solver
 * refuse every request with a message (tests only check that they load). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "llmc/plugin.h"

static int tpl_validate(const llmc_spec *spec, llmc_diags *d) {
    (void)spec;
    (void)d;
    return 0; /* nothing template-specific to check */
}

static int tpl_refuse(llmc_diags *d) {
    llmc_error(d, "template", "good_template is a test plugin: it does not build models");
    return 1;
}

static int tpl_complete_dims(const llmc_spec *spec, llmc_dims *dims, llmc_diags *d) {
    (void)spec;
    (void)dims;
    return tpl_refuse(d);
}

static int tpl_define_problem(const llmc_spec *spec, llmc_problem *p, llmc_diags *d) {
    (void)spec;
    (void)p;
    return tpl_refuse(d);
}

static int tpl_count(const llmc_spec *spec, const llmc_dims *dims, llmc_param_count *out) {
    (void)spec;
    (void)dims;
    memset(out, 0, sizeof *out);
    return 1; /* no closed form: this template builds nothing */
}

static int tpl_build_ir(const llmc_spec *spec, const llmc_dims *dims, llmc_ir *ir, llmc_diags *d) {
    (void)spec;
    (void)dims;
    (void)ir;
    return tpl_refuse(d);
}

static int solve(const llmc_problem *p, llmc_solution *out, llmc_diags *d) {
    (void)p;
    (void)out;
    llmc_error(d, "solver", "good_solver is a test plugin: it does not solve sizing problems");
    return LLMC_SOLVE_ERROR;
}

/* Writes <out_dir>/good_emitter.txt naming the emitter and its thread budget. */
static int emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/good_emitter.txt", ctx->out_dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        llmc_error(d, "emit", "good_emitter: output path too long");
        return 1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        llmc_error(d, "emit", "good_emitter: cannot create %s: %s", path, strerror(errno));
        return 1;
    }
    fprintf(f, "emitter=%s\nthreads=%d\n", ctx->emitter_name, ctx->threads);
    if (fclose(f) != 0) {
        llmc_error(d, "emit", "good_emitter: cannot write %s: %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

static const llmc_template_vtable template_vt = {sizeof template_vt, tpl_validate, tpl_complete_dims,
                                                 tpl_define_problem, tpl_count, tpl_build_ir};
static const llmc_solver_vtable solver_vt = {sizeof solver_vt, solve};
static const llmc_emitter_vtable emitter_vt = {sizeof emitter_vt, NULL, emit, NULL};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TEMPLATE, "good_template", "1.2.3", "test template (refuses to build)", &template_vt},
    {LLMC_PLUGIN_SOLVER, "good_solver", "1.2.3", "test solver (refuses to solve)", &solver_vt},
    {LLMC_PLUGIN_EMITTER, "good_emitter", "1.2.3", "test emitter (writes good_emitter.txt)", &emitter_vt},
};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
