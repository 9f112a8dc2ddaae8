/* Training a tokenizer through a tokenizer plugin (core/tok_train.c). Internal to the core. */
#ifndef LLMC_CORE_TOK_TRAIN_H
#define LLMC_CORE_TOK_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/plugin.h"
#include "llmc/tokenizer.h"
#include "tok_corpus.h"

typedef struct llmc_tok_train_report {
    uint32_t vocab_size;
    uint64_t documents, bytes, unique_words;
    double count_ms, total_ms;
    /* set when training failed because the corpus cannot fill the vocabulary: vocab_size is then
     * what the plugin learned, and the statistics above are filled in */
    bool corpus_too_small;
    uint64_t characters, distinct_characters;
} llmc_tok_train_report;

/* A normalization name (the spec's tokenizer.normalization, the CLI's --normalization: none, nfc,
 * nfd, nfkc, nmt_nfkc, nfkd, lowercase, nfkc_lowercase) as a tokenizer.json normalizer; NULL for "none" or an
 * unknown name (llmc_tok_normalization_known tells them apart). */
LLMC_API const char *llmc_tok_normalization_json(const char *name);
LLMC_API bool llmc_tok_normalization_known(const char *name);
/* Can a tokenizer.model (unigram, or BPE on the metaspace pipeline) carry it? sentencepiece
 * normalizes with a precompiled character map, which llmc builds for nfkc and nmt_nfkc only. */
LLMC_API bool llmc_tok_normalization_spm_ok(const char *name);

/* Returns an exit code (0 ok, 1 bad input / corpus too small, 4 I/O). out_dir is written
 * atomically (an existing non-empty one only with force). */
LLMC_API int llmc_tok_train(const llmc_tokenizer_vtable *vt, const char *plugin, const llmc_tok_train_params *p,
                            const llmc_tok_corpus_params *cp, const char *out_dir, bool force,
                            llmc_tok_train_report *report, llmc_diags *d);

#endif
