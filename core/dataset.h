/* The spec's tokenizer and dataset at compile time (docs/spec.md "Tokenizer and dataset"):
 * tokenizer.path loaded, or a tokenizer plugin trained on dataset.paths (cached), the corpus
 * statistics (bytes, documents, characters, unique words, tokens under that tokenizer), the
 * checks of the spec against them, and OUT/tokenizer/ + OUT/dataset.json. Internal to the core.
 *
 * The training cache: $LLMC_CACHE_DIR, else $XDG_CACHE_HOME/llmc, else $HOME/.cache/llmc; one
 * directory tokenizers/<key>/ per trained tokenizer, key = SHA-256 of the corpus files' contents
 * and every setting that shapes the result (type, vocab size, pre-tokenizer, special tokens,
 * byte fallback, text field, the plugin's version and .so, llmc's version). An entry is trained
 * into a private directory and renamed into place, so concurrent compiles never see half of one
 * (the loser of a race keeps the winner's, which is the same). */
#ifndef LLMC_CORE_DATASET_H
#define LLMC_CORE_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/llmc.h"
#include "llmc/tokenizer.h"
#include "manifest.h"
#include "registry.h"

typedef struct llmc_dataset_params {
    const char *spec_path;     /* relative paths in the spec are relative to its directory */
    int threads;               /* >= 1 */
    bool progress;             /* progress bars on a TTY */
} llmc_dataset_params;

typedef struct llmc_dataset_stats {
    uint64_t bytes, documents, characters, unique_words, tokens, invalid_utf8;
} llmc_dataset_stats;

typedef struct llmc_dataset {
    llmc_tokenizer *tokenizer;     /* NULL when the spec has neither a trained nor a loaded one */
    char *tokenizer_dir;           /* the cache entry whose files are OUT/tokenizer/ (trained), or NULL */
    const char *source;            /* "trained", "cached" (trained earlier, from the cache), "path" or
                                    * "byte" (the legacy `tokenizer: byte` vocabulary, built in memory) */
    bool has_stats;                /* dataset.paths were read */
    llmc_dataset_stats stats;
    char *json;                    /* OUT/dataset.json text, when has_stats */
    double ms;
} llmc_dataset;

/* Resolves the spec's tokenizer.path and dataset.paths to absolute paths (spec.json records
 * those), loads or trains the tokenizer, reads the corpus, checks vocab_size against it and
 * fills target_params for compute_optimal. Returns an exit code (0; 1 the spec or its files;
 * 3 a plugin; 4 I/O); every error is located in the spec. */
LLMC_API int llmc_dataset_prepare(const llmc_registry *reg, llmc_spec *spec, const llmc_dataset_params *p,
                                  llmc_dataset *out, llmc_diags *d);
/* Write OUT/tokenizer/ and OUT/dataset.json below dir (the compile's temporary OUT), recorded in
 * the manifest as llmc's own files. 0, or an exit code. */
/* OUT/tokenizer/tokenizer_config.json and special_tokens_map.json name the roles of st (and
 * add_bos_token / add_eos_token), the model's one set of special tokens. */
LLMC_API int llmc_dataset_write(const llmc_dataset *ds, const llmc_special_tokens *st, const char *dir,
                                llmc_manifest *mf, llmc_diags *d);
LLMC_API void llmc_dataset_free(llmc_dataset *ds);

/* The cache directory (see above) into buf; -1 when no location is known. */
LLMC_API int llmc_cache_dir(char *buf, size_t n);

#endif
