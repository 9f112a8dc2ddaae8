/* Test plugin: a manifest with the right ABI and zero plugins. */
#include <stddef.h>

#include "llmc/plugin.h"

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {
    static const llmc_plugin_manifest m = {LLMC_ABI_VERSION, 0, NULL};
    return &m;
}
