/* Test plugin: a template vtable whose struct_size says it ends before the host's struct
 * does (as if built against an SDK without the later functions). */
#include <stddef.h>

#include "llmc/plugin.h"

static int validate(const llmc_spec *spec, llmc_diags *d) {
    (void)spec;
    (void)d;
    return 0;
}

static const llmc_template_vtable vt = {(uint32_t)offsetof(llmc_template_vtable, complete_dims), validate, NULL, NULL,
                                        NULL, NULL};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TEMPLATE, "small_template", "0.0.1", "vtable from an older SDK", &vt}};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
