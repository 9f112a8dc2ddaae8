/* A loaded SentencePiece model (tokenizer.model): normalizer + model (UNIGRAM, BPE, WORD or
 * CHAR), encoding text to ids and decoding ids to text exactly as sentencepiece's
 * SentencePieceProcessor does (EncodeAsIds / DecodeIds, no extra options). */
#ifndef LLMC_CORE_TOK_SPM_MODEL_H
#define LLMC_CORE_TOK_SPM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "tok_buf.h"
#include "tok_spm.h"

typedef struct llmc_spm_tokenizer llmc_spm_tokenizer;
typedef struct llmc_spm_work llmc_spm_work; /* per-thread scratch space */

/* Read, check and load a tokenizer.model. Errors (located at path) go to d. */
LLMC_API llmc_spm_tokenizer *llmc_spm_tokenizer_load(const char *path, llmc_diags *d);
/* Load from a parsed model; takes ownership of *m's contents (leaves *m empty). */
LLMC_API llmc_spm_tokenizer *llmc_spm_tokenizer_create(llmc_spm_proto *m, const char *name, llmc_diags *d);
LLMC_API void llmc_spm_tokenizer_free(llmc_spm_tokenizer *t);

LLMC_API const llmc_spm_proto *llmc_spm_tokenizer_proto(const llmc_spm_tokenizer *t);
LLMC_API size_t llmc_spm_tokenizer_size(const llmc_spm_tokenizer *t);
/* id of a piece (as PieceToId: the unknown id when it is no piece) */
LLMC_API int32_t llmc_spm_tokenizer_piece_to_id(const llmc_spm_tokenizer *t, const char *piece, size_t len);

LLMC_API llmc_spm_work *llmc_spm_work_create(void);
LLMC_API void llmc_spm_work_free(llmc_spm_work *w);

/* Append the ids of text[0..n) to out. False only on out of memory. */
LLMC_API bool llmc_spm_tokenizer_encode(const llmc_spm_tokenizer *t, llmc_spm_work *w, const char *text, size_t n,
                                        llmc_tok_ids *out);
/* The normalized text (U+2581 for spaces) the model segments; for tests and tools. */
LLMC_API bool llmc_spm_tokenizer_normalize(const llmc_spm_tokenizer *t, llmc_spm_work *w, const char *text, size_t n,
                                           llmc_tok_bytes *out);
/* Decode ids into out (cleared first). An id outside the vocabulary is an error in d. */
LLMC_API bool llmc_spm_tokenizer_decode(const llmc_spm_tokenizer *t, const uint32_t *ids, size_t n,
                                        llmc_tok_bytes *out, llmc_diags *d);

#endif
