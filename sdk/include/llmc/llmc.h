/* llmc — umbrella header for plugins and embedders. */
#ifndef LLMC_LLMC_H
#define LLMC_LLMC_H

#include "llmc/export.h"
#include "llmc/diag.h"
#include "llmc/spec.h"
#include "llmc/expr.h"
#include "llmc/ir.h"
#include "llmc/prior.h"
#include "llmc/problem.h"
#include "llmc/plugin.h"
#include "llmc/output.h"
#include "llmc/stats.h"
#include "llmc/strbuf.h"
#include "llmc/ir_build.h"
#include "llmc/render.h"
#include "llmc/tokenizer.h"

#define LLMC_VERSION_MAJOR 0
#define LLMC_VERSION_MINOR 1
#define LLMC_VERSION_PATCH 0
#define LLMC_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif
LLMC_API const char *llmc_version(void);  /* LLMC_VERSION_STRING of the library actually loaded */
LLMC_API unsigned llmc_abi_version(void); /* LLMC_ABI_VERSION of the library actually loaded */
/* The llmc command (docs/cli.md) run with these arguments; returns its exit code. The llmc
 * program is this call: the command lives in libllmc so that it and the plugins it loads share
 * one copy of the core. */
LLMC_API int llmc_main(int argc, char **argv);
#ifdef __cplusplus
}
#endif
#endif
