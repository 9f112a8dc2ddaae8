/* Test plugin: an emitter named dup_plugin; dup_a.so provides a solver of the same name. */
#include "llmc/plugin.h"

static int emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    (void)ctx;
    llmc_error(d, "emit", "dup_plugin (dup_b) is a test plugin: it writes nothing");
    return 1;
}

static const llmc_emitter_vtable vt = {sizeof vt, NULL, emit, NULL};
static const llmc_plugin_desc plugins[] = {{LLMC_PLUGIN_EMITTER, "dup_plugin", "1.0.0", "second of two", &vt}};

LLMC_DEFINE_PLUGIN_ENTRY(plugins)
