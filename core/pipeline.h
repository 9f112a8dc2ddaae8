/* The compile pipeline: spec -> template validate -> solver -> IR -> count -> emitters ->
 * OUT (atomically). Also the pieces `llmc solve`, `llmc validate` and `llmc inspect` share.
 * Internal to the core; the CLI is a thin layer over these. */
#ifndef LLMC_CORE_PIPELINE_H
#define LLMC_CORE_PIPELINE_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "dataset.h"
#include "design.h"
#include "explain.h"
#include "llmc/llmc.h"
#include "llmc/plugin.h"
#include "llmc/weights.h"
#include "registry.h"

/* Exit codes (README "Exit codes") */
enum {
    LLMC_EXIT_OK = 0,
    LLMC_EXIT_SPEC = 1,     /* spec invalid or unsolvable */
    LLMC_EXIT_USAGE = 2,
    LLMC_EXIT_PLUGIN = 3,   /* plugin or config error */
    LLMC_EXIT_IO = 4
};

typedef struct llmc_host {
    llmc_config *config;
    llmc_registry *registry;
} llmc_host;

typedef struct llmc_compile_params {
    const char *spec_path;
    const char *out_dir;      /* compile only */
    bool force;
    const char *emit;         /* comma-separated emitter names overriding the spec/config, or NULL */
    const char *solver;       /* overrides spec and config, or NULL */
    const char *weights;      /* checkpoint path overriding weights.checkpoint, or NULL */
    bool allow_nonfinite;     /* import NaN/Inf checkpoint values as they are (default: an error) */
    const char *dtype;        /* float32|float16|bfloat16 (also f32/f16/bf16) overriding precision, or NULL */
    int threads;              /* 0 = config default (0 there = online CPUs) */
    bool progress;            /* progress bars on a TTY */
    bool quiet;               /* no summary on stdout */
    bool explain;             /* explain the solver's answer (solution.json "explanation", solve --explain) */
    llmc_design_params design; /* KV dtype, context, batch, training shape for the report */
} llmc_compile_params;

LLMC_API llmc_compile_params llmc_compile_default_params(void);

/* Everything known about a solved, built model. */
typedef struct llmc_model {
    llmc_spec *spec;
    const llmc_plugin *tmpl;
    const llmc_plugin *solver;     /* NULL when dims were complete in the spec */
    llmc_dims dims;
    llmc_solution solution;        /* valid when solver != NULL */
    llmc_ir *ir;
    llmc_param_count count;        /* from the IR */
    double step_ms[4];             /* load, validate, solve, build */
    llmc_explanation *explanation; /* when asked for and the dims were solved */
    llmc_design_params design;     /* as asked for (llmc_compile_params.design) */
    llmc_dataset dataset;          /* the spec's tokenizer and dataset (dataset.h) */
    char family[64];               /* llmc_layout_hf's: "llama", "gpt2", "t5", ... or "llmc_<template>" */
    llmc_layout hf_layout;         /* computed once (llmc_layout_hf); emitters and the checkpoint reader use it */
    llmc_model_dims model_dims;    /* dims unpacked for the emit context */
    char *spec_json;               /* llmc_spec_to_json(spec, dims); compile refreshes it after resolving paths */
    char spec_sha256[65];          /* SHA-256 of spec_json (hex): the one provenance hash of every artifact */
    llmc_special_tokens special_tokens; /* computed once from the tokenizer and family; every emitter gets it */
} llmc_model;

/* Load + validate + solve + build + count (+ closed form == IR check). Returns an exit code;
 * on success *out holds the model (free with llmc_model_free). */
LLMC_API int llmc_model_prepare(llmc_host *h, const llmc_compile_params *p, llmc_model *out, llmc_diags *d);
LLMC_API void llmc_model_free(llmc_model *m);

/* llmc compile: returns an exit code; diagnostics in d (printed by the caller). */
LLMC_API int llmc_compile(llmc_host *h, const llmc_compile_params *p, llmc_diags *d);

/* solution.json text for a prepared model (caller frees): dims, count, the designer's report and,
 * when asked for, the explanation */
LLMC_API char *llmc_solution_json(const llmc_model *m);
/* The `llmc solve` table: per component, per layer and total; the designer's report (memory,
 * training, FLOPs); the explanation when asked for. */
LLMC_API int llmc_print_solve_table(FILE *f, const llmc_model *m, llmc_diags *d);

/* llmc validate OUT (validate.c) */
typedef struct llmc_validate_params {
    const char *out_dir;
    bool quick;               /* skip checksums of files larger than LLMC_VALIDATE_QUICK_BYTES */
} llmc_validate_params;
#define LLMC_VALIDATE_QUICK_BYTES (64u << 20)
LLMC_API llmc_validate_params llmc_validate_default_params(void);
/* Returns an exit code (0 valid, 1 the output does not match, 3 plugin, 4 I/O); prints what it
 * checked to f, every problem to d. */
LLMC_API int llmc_validate_output(llmc_host *h, const llmc_validate_params *p, FILE *f, llmc_diags *d);

#endif
