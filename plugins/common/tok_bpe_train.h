/* BPE merge learning shared by the bpe and wordpiece tokenizer plugins: HF BpeTrainer's
 * algorithm (most frequent pair first, ties to the smaller (left id, right id), lazily updated
 * max-heap of pair counts, incremental pair counts from the words each merge touches). */
#ifndef LLMC_PLUGINS_TOK_BPE_TRAIN_H
#define LLMC_PLUGINS_TOK_BPE_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/tokenizer.h"

typedef struct tok_bpe_opts {
    uint32_t vocab_size;         /* stop when the builder holds this many pieces */
    uint64_t min_frequency;      /* a pair seen fewer times ends training (HF: count < min_frequency) */
    uint32_t max_piece_chars;    /* 0 = unlimited */
    const char *prefix;          /* continuing_subword_prefix (WordPiece training), or NULL */
    bool all_splits;             /* also add (a, b) for every other split of each learned piece, at its rank:
                                  * BPE then encodes as SentencePiece does (any pair whose concatenation is
                                  * in the vocabulary merges, by the piece's rank) */
    bool progress;
} tok_bpe_opts;

/* The builder already holds the special tokens and the alphabet (single characters; a word's
 * character without a piece cuts the word there). Learns merges into the builder. */
int tok_bpe_train(const llmc_tok_corpus_stats *st, llmc_tok_builder *b, const tok_bpe_opts *o, llmc_diags *d);

/* Add the corpus characters as pieces, sorted by code point: all of them, or the most frequent
 * ones covering `coverage` of the character occurrences (0 or 1 = all), keeping `required`
 * (a code point, or 0). Returns the count added, or -1. */
long tok_bpe_add_alphabet(const llmc_tok_corpus_stats *st, llmc_tok_builder *b, double coverage, uint32_t required,
                          llmc_diags *d);

#endif
