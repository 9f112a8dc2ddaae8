/* The in-tree plugins (LLMC_BINARY_DIR/plugins) loaded once per test group: cmocka group
 * setup/teardown and lookups that fail the test when a plugin is missing. Include after
 * <cmocka.h>, in tests that solve or count with the real templates and solvers. */
#ifndef LLMC_PLUGIN_FIXTURE_H
#define LLMC_PLUGIN_FIXTURE_H

#include "config.h"
#include "registry.h"

static llmc_registry *reg;
static llmc_config *cfg;

static inline int setup(void **state) {
    (void)state;
    cfg = llmc_config_embedded_default(LLMC_BINARY_DIR);
    reg = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    llmc_registry_load(reg, cfg, d);
    llmc_diags_free(d);
    return 0;
}

static inline int teardown(void **state) {
    (void)state;
    llmc_registry_free(reg);
    llmc_config_free(cfg);
    return 0;
}

static inline const llmc_template_vtable *tmpl(const char *name) {
    const llmc_plugin *p = llmc_registry_find(reg, LLMC_PLUGIN_TEMPLATE, name);
    if (!p) fail_msg("template %s not loaded from %s/plugins", name, LLMC_BINARY_DIR);
    return p->vtable;
}

static inline const llmc_solver_vtable *solver(const char *name) {
    const llmc_plugin *p = llmc_registry_find(reg, LLMC_PLUGIN_SOLVER, name);
    if (!p) fail_msg("solver %s not loaded", name);
    return p->vtable;
}

#endif
