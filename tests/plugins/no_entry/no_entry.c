/* Test plugin: a valid shared object that exports a different symbol than
 * llmc_plugin_entry (as a misspelt or foreign library would). */
#include "llmc/plugin.h"

LLMC_PLUGIN_EXPORT int llmc_plugin_main(void);
LLMC_PLUGIN_EXPORT int llmc_plugin_main(void) { return 42; }
