/* What the pipeline's files share: pipeline.c (orchestration: llmc compile), pipeline_validate.c
 * (llmc_model_prepare: load, validate, solve, build, count) and pipeline_report.c (the solve table).
 * Internal to the core. */
#ifndef LLMC_CORE_PIPELINE_INTERNAL_H
#define LLMC_CORE_PIPELINE_INTERNAL_H

#include <stddef.h>

#include "pipeline.h"

/* "name=value ..." of the dims that are set, cut at len */
void llmc_pipeline_describe_dims(const llmc_dims *dims, char *buf, size_t len);
/* a dtype as --dtype and --kv-dtype spell it (float32|f32|fp32, float16|f16|fp16, bfloat16|bf16);
 * 0, or 1 when s names none */
int llmc_pipeline_parse_dtype(const char *s, llmc_precision *out);
/* worker threads: --threads, else the config's, else the online CPUs; at most 256 */
int llmc_pipeline_threads(const llmc_host *h, const llmc_compile_params *p);

#endif
