/* Test plugin: the entry function returns an address that is not inside the plugin (a
 * corrupt pointer). The host must refuse it without reading from it. */
#include <stdint.h>

#include "llmc/plugin.h"

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {
    return (const llmc_plugin_manifest *)(uintptr_t)4096;
}
