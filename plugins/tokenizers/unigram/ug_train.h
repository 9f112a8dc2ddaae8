/* SentencePiece's Unigram training (unigram_model_trainer.cc, as spm_train runs it) on the word
 * counts llmc's corpus reader produces. The stages, one file each:
 *
 *   ug_corpus.c  the words: characters counted, the alphabet chosen by character coverage
 *                (rarer characters become U+2585, which no piece may contain), words too long
 *                or already holding U+2585 dropped;
 *   ug_seed.c    seed pieces: every character of the alphabet, then the most frequent
 *                substrings by frequency x length, up to seed_sentencepiece_size;
 *   ug_em.c      EM: expected piece counts from the forward-backward lattice of every word
 *                (the E-step, on --threads threads), digamma-based re-estimation of the scores
 *                (the M-step, dropping pieces expected fewer than 0.5 times), and after each
 *                round of sub-iterations, pruning to shrinking_factor of the pieces by the loss
 *                of likelihood each piece's removal causes; then the final vocabulary.
 *
 * Words carry the whitespace marker already ("\u2581hello"). Everything the trainer reads is
 * in ug_params; defaults are spm_train's. */
#ifndef LLMC_UG_TRAIN_H
#define LLMC_UG_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/tokenizer.h"

typedef struct ug_params {
    uint32_t vocab_size;          /* pieces to produce, special and byte pieces NOT included */
    double character_coverage;    /* 0.9995 */
    uint32_t max_piece_length;    /* 16 (characters) */
    uint32_t seed_size;           /* 1000000 */
    double shrinking_factor;      /* 0.75 */
    uint32_t sub_iterations;      /* 2 */
    uint32_t max_word_bytes;      /* 4192: spm_train's max_sentence_length */
    bool split_by_unicode_script; /* true */
    bool split_by_number;         /* true */
    bool split_digits;            /* false */
    bool split_by_whitespace;     /* true */
    const char *required_chars;   /* UTF-8, always in the alphabet; NULL: none */
    int threads;                  /* >= 1 */
    bool progress;                /* show progress bars (stderr is a TTY) */
    bool verbose;                 /* one line per EM step on stderr, as spm_train logs them */
    uint32_t reserved_pieces;     /* special and byte pieces the caller adds (only for messages) */
} ug_params;

void ug_default_params(ug_params *p);

/* Final scores are multiples of 1/UG_SCORE_STEPS. Path scores are then sums that float and double
 * both hold exactly (for paths of up to ~2000 pieces: 15 integer and 8 fraction bits), so
 * sentencepiece (float sums, tokenizer.model) and HF tokenizers (double sums, tokenizer.json)
 * pick the same segmentation, ties included. The rounding moves a log probability by at most
 * 0.002 (0.2%), far below what separates competing segmentations in practice. */
#define UG_SCORE_STEPS 256.0
float ug_quantize_score(float score);

typedef struct ug_piece {
    char *text; /* UTF-8, NUL-terminated, owned */
    uint32_t len;
    float score;
} ug_piece;

typedef struct ug_result {
    ug_piece *pieces; /* by score, highest first (ties: by bytes) */
    size_t n;
    uint64_t alphabet;       /* characters kept by the coverage */
    uint64_t words_used, words_dropped;
    uint32_t em_rounds;
} ug_result;

void ug_result_free(ug_result *r);

/* Train. Errors (a vocabulary the corpus cannot fill, one smaller than the alphabet, out of
 * memory) go to d with the statistic that explains them; returns 0 or -1. */
int ug_train(const ug_params *p, const llmc_tok_word *words, size_t n_words, ug_result *out, llmc_diags *d);

/* ---- shared between the stages ------------------------------------------------------------- */

#define UG_UNK_CHAR 0x2585u /* U+2585: a character outside the alphabet, never in a piece */
#define UG_WS_CHAR 0x2581u  /* U+2581: the whitespace marker */

/* The corpus after ug_corpus_prepare: words as UTF-8 (rare characters replaced by U+2585) in
 * one buffer, each with its count, and the alphabet with per-character facts for the piece
 * validity rules. Character ids are dense: 1..n_chars for the alphabet, n_chars + 1 = U+2585. */
typedef struct ug_corpus {
    char *text;          /* all words, back to back */
    size_t *offset;      /* word i is text[offset[i] .. offset[i + 1]) */
    uint64_t *count;
    size_t n;
    uint64_t total_count; /* sum of counts */
    /* alphabet, by frequency (most frequent first) */
    uint32_t *cp;        /* [1 + n_chars]: code point of char id (cp[0] unused) */
    uint64_t *char_count;
    int *script;         /* script for the validity rule (kana folded into Han), -1 for "any" */
    bool *is_digit;      /* a decimal digit (0-9, U+FF10-U+FF19) */
    uint32_t *id_of_cp;  /* [0x110000]: char id of a code point, 0 when never seen */
    uint32_t n_chars;
    uint32_t unk_char_id; /* n_chars + 1 */
    uint64_t dropped;
} ug_corpus;

int ug_corpus_prepare(const ug_params *p, const llmc_tok_word *words, size_t n_words, ug_corpus *c, llmc_diags *d);
void ug_corpus_free(ug_corpus *c);
/* char id of code point cp (0 when not in the alphabet) */
uint32_t ug_corpus_char_id(const ug_corpus *c, uint32_t cp);

/* Is the character sequence ids[0..n) a valid piece (spm's IsValidSentencePiece)? */
bool ug_valid_piece(const ug_params *p, const ug_corpus *c, const uint32_t *ids, size_t n);

/* Seed pieces (UTF-8 + score = log probability), characters first. */
typedef struct ug_pieces {
    char **text;
    uint32_t *len;
    float *score;
    size_t n;
} ug_pieces;

int ug_seed(const ug_params *p, const ug_corpus *c, ug_pieces *out, llmc_diags *d);
void ug_pieces_free(ug_pieces *v);

/* EM, pruning and the final vocabulary; consumes *seed. */
int ug_em(const ug_params *p, const ug_corpus *c, ug_pieces *seed, ug_result *out, llmc_diags *d);

#endif
