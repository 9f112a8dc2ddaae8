/* SentencePiece's BPE model (model_type BPE in a tokenizer.model): encoding as bpe_model.cc
 * does it. The normalized text is split into characters (a user-defined piece stays one frozen
 * symbol); then, repeatedly, the adjacent pair whose concatenation is the highest-scoring piece
 * is merged (ties: the leftmost pair). A resulting UNUSED piece is split back into the two
 * pieces it was merged from. A symbol that is no piece is <unk>: runs of them give one <unk>,
 * or with byte fallback each becomes its UTF-8 bytes as <0xXX> pieces. */
#ifndef LLMC_CORE_TOK_SPM_BPE_H
#define LLMC_CORE_TOK_SPM_BPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "tok_buf.h"
#include "tok_unigram.h"

typedef struct llmc_spm_bpe llmc_spm_bpe;

/* pieces[i] gets id i; kind as for the Unigram SPM flavor. user_defined (borrowed, may be NULL)
 * holds the USER_DEFINED pieces, which the initial split keeps whole. */
LLMC_API llmc_spm_bpe *llmc_spm_bpe_create(const llmc_unigram_piece *pieces, size_t n, int32_t unk_id,
                                           bool byte_fallback, const llmc_trie *user_defined, const char *name,
                                           llmc_diags *d);
LLMC_API void llmc_spm_bpe_free(llmc_spm_bpe *b);

typedef struct llmc_spm_bpe_work {
    struct bpe_symbol *sym;
    size_t sym_cap;
    struct bpe_pair *heap;
    size_t heap_n, heap_cap;
    int32_t *rev_key, *rev_left; /* UNUSED piece id -> length of its left part */
    size_t rev_cap;
    int32_t *stack;              /* resegmentation: (start, len) pairs */
    size_t stack_cap;
} llmc_spm_bpe_work;
LLMC_API void llmc_spm_bpe_work_free(llmc_spm_bpe_work *w);

LLMC_API bool llmc_spm_bpe_encode(const llmc_spm_bpe *b, llmc_spm_bpe_work *w, const char *s, size_t n,
                                  llmc_tok_ids *out);

#endif
