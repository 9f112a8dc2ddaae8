/* The Unigram language-model encoder: the most probable segmentation of a normalized text into
 * vocabulary pieces (Viterbi over the lattice of all pieces that occur in it), as
 * sentencepiece's unigram_model.cc (EncodeOptimized) and Hugging Face tokenizers'
 * models/unigram compute it.
 *
 * A character no piece of one character covers becomes the unknown piece, scored
 * min_score - 10; a run of unknown characters gives one <unk> id, or with byte fallback the
 * UTF-8 bytes of each unknown character as <0xXX> pieces.
 *
 * The two libraries differ in small ways, selected by the flavor:
 *   SPM  keeps path scores in float but compares candidates in double, as sentencepiece does
 *        (so near-ties break the same way); the min score is taken
 *        over NORMAL pieces only; CONTROL, UNKNOWN and BYTE pieces are not matched in the text;
 *        USER_DEFINED pieces score length * max_score - 0.1 (always win); UNUSED ones are skipped.
 *   HF   sums in double; every vocabulary entry is matched and counts for the min score (a
 *        duplicated piece resolves to its last id); runs of unknown pieces are fused into one
 *        string first, which then maps to its id if it is a piece, else to bytes or <unk>.
 * Encoding allocates nothing once the work buffers have grown to the text's size. */
#ifndef LLMC_CORE_TOK_UNIGRAM_H
#define LLMC_CORE_TOK_UNIGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "tok_buf.h"
#include "tok_trie.h"

typedef enum llmc_unigram_flavor { LLMC_UNIGRAM_SPM = 0, LLMC_UNIGRAM_HF = 1 } llmc_unigram_flavor;

/* What a piece is, for the SPM flavor (the HF flavor treats every piece as NORMAL). */
typedef enum llmc_unigram_kind {
    LLMC_UNIGRAM_NORMAL = 0,
    LLMC_UNIGRAM_USER_DEFINED = 1,
    LLMC_UNIGRAM_UNUSED = 2,   /* in the vocabulary, never produced */
    LLMC_UNIGRAM_RESERVED = 3  /* control, unknown and byte pieces: never matched in text */
} llmc_unigram_kind;

typedef struct llmc_unigram_piece {
    const char *piece;
    size_t len;
    double score;
    llmc_unigram_kind kind;
} llmc_unigram_piece;

typedef struct llmc_unigram_params {
    llmc_unigram_flavor flavor;
    int32_t unk_id;      /* the id unknown characters get; -1 (HF flavor only): none */
    bool byte_fallback;  /* unknown characters become <0xXX> byte pieces */
} llmc_unigram_params;

LLMC_API llmc_unigram_params llmc_unigram_default_params(void);

typedef struct llmc_unigram llmc_unigram;

/* pieces[i] gets id i. The strings are copied. name locates errors. */
LLMC_API llmc_unigram *llmc_unigram_create(const llmc_unigram_piece *pieces, size_t n, const llmc_unigram_params *p,
                                           const char *name, llmc_diags *d);
LLMC_API void llmc_unigram_free(llmc_unigram *u);

/* Per-thread scratch space for encoding; zero-initialise, free with llmc_unigram_work_free. */
typedef struct llmc_unigram_work {
    double *score;
    int32_t *start, *id;
    size_t cap;
    int32_t *path; /* (start, id) pairs of the best path, backwards */
    size_t path_cap;
} llmc_unigram_work;
LLMC_API void llmc_unigram_work_free(llmc_unigram_work *w);

/* Append the ids of normalized text s[0..n) to out. 0; -1 out of memory; -2 a character no piece
 * covers and the model has no unknown piece (HF flavor with unk_id -1). */
LLMC_API int llmc_unigram_encode(const llmc_unigram *u, llmc_unigram_work *w, const char *s, size_t n,
                                  llmc_tok_ids *out);

/* The min_score - 10 an unknown character scores (as the flavor computes it). */
LLMC_API double llmc_unigram_unk_score(const llmc_unigram *u);
LLMC_API const llmc_trie *llmc_unigram_trie(const llmc_unigram *u);

/* ---- the core's Unigram model (the contract of core/tok_model.h) --------------------------------
 * tokenizer.json's "Unigram" model as HF tokenizers encodes it (the HF flavor above), for one
 * pre-token at a time. Scratch space is per thread (kept between calls, freed at thread exit). */
typedef struct llmc_tok_unigram llmc_tok_unigram;
struct llmc_tok_piece;
/* pieces[i] is id i; unk_id -1: none (a character no piece covers is then an encoding error). */
LLMC_API llmc_tok_unigram *llmc_tok_unigram_create(const struct llmc_tok_piece *pieces, size_t n, int64_t unk_id,
                                                   bool byte_fallback, llmc_diags *d);
LLMC_API void llmc_tok_unigram_free(llmc_tok_unigram *u);
/* 0; -1 out of memory; -2 the text has a character no piece covers and there is no unk_id (HF
 * reports "Encountered an unknown token but `unk_id` is missing"). */
LLMC_API int llmc_tok_unigram_encode(const llmc_tok_unigram *u, const char *text, size_t len, llmc_tok_ids *out);

#endif
