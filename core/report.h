/* The JSON documents of a compile: solution.json and compilation_report.json, and the part of
 * the report that a recompile of OUT/spec.json reproduces (what `llmc validate` compares).
 * Internal to the core. */
#ifndef LLMC_CORE_REPORT_H
#define LLMC_CORE_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "llmc/stats.h"
#include "outdir.h"
#include "pipeline.h"

typedef struct llmc_step_rec {
    const char *name;
    const char *status;
    double ms;
} llmc_step_rec;

/* |params - target| / target (0 without a target) */
LLMC_API double llmc_relative_error(uint64_t params, uint64_t target);
/* layers of one stack, from the IR's parameter annotations */
LLMC_API int llmc_ir_stack_layers(const llmc_ir *ir, llmc_stack st);

/* The files' text form: 2-space indent, keys in insertion order, reals to 10 significant
 * digits, a trailing newline. Takes the reference to j; NULL on OOM. */
LLMC_API char *llmc_json_text(json_t *j);

/* The report's deterministic fields, keyed as in the report: llmc_version, name, template,
 * template_version, solver, parameters, breakdown, per_layer, stats, design (the designer's
 * report at its default settings), weights. New reference. */
LLMC_API json_t *llmc_report_facts(const llmc_model *m, const llmc_model_stats *stats);

/* compilation_report.json: the facts, plus the spec path, threads, step timings, warnings and
 * each emitter's status, time and outputs. */
LLMC_API char *llmc_report_json(const llmc_model *m, const llmc_step_rec *steps, size_t n_steps,
                                const llmc_model_stats *stats, const llmc_diags *d, const llmc_outputs *outs,
                                const char *const *emitters, size_t n_emit, const double *emit_ms, int threads);

#endif
