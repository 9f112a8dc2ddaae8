/* Test plugin: an emitter whose vtable has no emit function. */
#include <stddef.h>

#include "llmc/plugin.h"

static const llmc_emitter_vtable vt = {sizeof vt, NULL, NULL, NULL};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, "missing_fn_emitter", "1.0.0", "forgot its emit function", &vt}};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
