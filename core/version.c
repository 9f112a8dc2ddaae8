/* Library version, so a host can tell which libllmc it actually loaded. */
#include "llmc/llmc.h"

const char *llmc_version(void) { return LLMC_VERSION_STRING; }
unsigned llmc_abi_version(void) { return LLMC_ABI_VERSION; }
