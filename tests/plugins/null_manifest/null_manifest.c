/* Test plugin: the entry function returns no manifest. */
#include <stddef.h>

#include "llmc/plugin.h"

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) { return NULL; }
