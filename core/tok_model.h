/* The seam between the tokenizer core (core/tok_*.c: tokenizer.json reader/writer, pipeline,
 * BPE / WordPiece / WordLevel encoders, CLI) and the SentencePiece side (core/tok_spm.c:
 * tokenizer.model; core/tok_unigram.c: the Unigram Viterbi encoder). Internal to the core.
 *
 * Contract for core/tok_unigram.h (it declares these; the core calls them):
 *
 *   typedef struct llmc_tok_unigram llmc_tok_unigram;
 *   // pieces[i] is id i (the whole model vocabulary, as in tokenizer.json "model.vocab";
 *   // added tokens are handled by the core and never reach the model). unk_id: -1 = none.
 *   llmc_tok_unigram *llmc_tok_unigram_create(const llmc_tok_piece *pieces, size_t n, int64_t unk_id,
 *                                             bool byte_fallback, llmc_diags *d);
 *   void llmc_tok_unigram_free(llmc_tok_unigram *u);
 *   // Append the ids of one pre-token (already normalized and pre-tokenized, valid UTF-8) to
 *   // out, as HF's Unigram model does (fuse_unk, byte fallback <0xNN>). Thread-safe for one u
 *   // (any scratch is per call or per thread). 0, or -1 when out of memory.
 *   int llmc_tok_unigram_encode(const llmc_tok_unigram *u, const char *text, size_t len, llmc_tok_ids *out);
 *
 * Contract for core/tok_spm.h:
 *
 *   // Read a SentencePiece ModelProto and return the equivalent tokenizer.json document
 *   // (what HF's converters produce: Unigram or BPE model, normalizer / pre_tokenizer /
 *   // decoder / added_tokens), so the core loads it like any tokenizer.json. NULL + a message
 *   // naming the field on a bad or unsupported file.
 *   json_t *llmc_tok_spm_read(const char *path, llmc_diags *d);
 *   // Write tokenizer.model for a tokenizer.json document (a Unigram model, or a BPE model on a
 *   // Metaspace pipeline); refuse others with a message. The caller renames it into place.
 *   int llmc_tok_spm_write(const json_t *tokenizer_json, const char *path, llmc_diags *d);
 *   // Can this document be written as tokenizer.model? (decides whether save writes one)
 *   bool llmc_tok_spm_can_write(const json_t *tokenizer_json);
 *
 * Until those files land, the core's Unigram / tokenizer.model paths report that they are not
 * built yet (core/tok_load.c checks __has_include("tok_unigram.h") / ("tok_spm.h")). */
#ifndef LLMC_CORE_TOK_MODEL_H
#define LLMC_CORE_TOK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/tokenizer.h"

/* One model vocabulary entry: the piece (UTF-8 bytes, not NUL-terminated) and its Unigram log
 * probability (0 for the other models). */
typedef struct llmc_tok_piece {
    const char *text;
    uint32_t len;
    double score;
} llmc_tok_piece;

#endif
