/* What the pipeline's files share: pipeline.c (orchestration: llmc compile), pipeline_validate.c
 * (llmc_model_prepare: load, validate, solve, build, count) and pipeline_report.c (the solve table).
 * Internal to the core. */
#ifndef LLMC_CORE_PIPELINE_INTERNAL_H
#define LLMC_CORE_PIPELINE_INTERNAL_H

#include <stddef.h>

#include "pipeline.h"

/* "name=value ..." of the dims that are set, cut at len */
void llmc_pipeline_describe_dims(const llmc_dims *dims, char *buf, size_t len);
/* worker threads: --threads, else the config's, else the online CPUs; at most 256 */
int llmc_pipeline_threads(const llmc_host *h, const llmc_compile_params *p);

#endif
