/* llmc import: a Hugging Face model's config.json -> the llmc spec that reproduces the model.
 *
 * Every top-level key of config.json is mapped to a spec key, or listed in a warning as ignored
 * (no effect on the architecture or its forward computation: token ids, dropout, generation
 * defaults, bookkeeping), or refused with a located error when its value changes the computation
 * in a way llmc's templates cannot represent. Keys llmc does not know are listed in a warning of
 * their own. Internal to the core; the command is core/cli/import.c. */
#ifndef LLMC_CORE_IMPORT_HF_H
#define LLMC_CORE_IMPORT_HF_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"

/* The first line of every spec `llmc import` writes: `--force` replaces only files that start with it. */
#define LLMC_IMPORT_HEADER "# Imported by `llmc import`"

typedef struct llmc_import_params {
    const char *name;          /* the spec's name; NULL = from the model folder's name */
    uint64_t target_params;    /* 0: the config's dims; else no dims and this budget (the solver sizes the model) */
    int64_t vocab_size;        /* 0: the config's; else this vocabulary (e.g. a tiny model for tests) */
    const char *checkpoint;    /* weights.checkpoint to write (the model folder), or NULL for initialised weights */
    const char *tokenizer;     /* tokenizer.path to write (the model folder), or NULL */
    const char *quantize;      /* quantize: to write (q8_0, q4_k_m, ...), or NULL */
} llmc_import_params;

LLMC_API llmc_import_params llmc_import_default_params(void);

/* Read config_path (a config.json) and return the spec as YAML text (malloc'd), or NULL with
 * errors in d; *exit_code is set to an llmc exit code (1 bad config, 4 unreadable). model_dir
 * names the folder for the default name (may be NULL). */
LLMC_API char *llmc_import_hf_config(const char *config_path, const char *model_dir, const llmc_import_params *p,
                                     int *exit_code, llmc_diags *d);

#endif
