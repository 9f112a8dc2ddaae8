/* wordlevel: a tokenizer plugin that gives each of the most frequent words its own id.
 *
 *   llmc --plugins build tokenizer train --type wordlevel --vocab-size 5000 -o tok/ corpus.txt
 *
 * prepare() picks the pipeline (HF's Whitespace pre-tokenizer: runs of word characters or of
 * punctuation; core counts the corpus words through it). train() receives the word counts and
 * fills the vocabulary: the special tokens, "[UNK]" for every word that did not make it, then
 * the words by decreasing count (ties by bytes, so the result is deterministic). Core writes
 * tokenizer.json (an HF WordLevel model) and the rest. */
#include <stdlib.h>
#include <string.h>

#include "llmc/llmc.h"

static int prepare(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d) {
    if (p->pre_tokenizer && strcmp(p->pre_tokenizer, "whitespace") && strcmp(p->pre_tokenizer, "bert")) {
        llmc_error(d, "--pre-tokenizer", "wordlevel needs words: whitespace or bert, not '%s'", p->pre_tokenizer);
        return -1;
    }
    if (!p->pre_tokenizer && llmc_tok_builder_preset(b, "whitespace", d)) return -1;
    if (llmc_tok_builder_set_model(b, "WordLevel", d)) return -1;
    return llmc_tok_builder_set(b, "model.unk_token", "\"[UNK]\"", d);
}

static int by_count(const void *a, const void *b) {
    const llmc_tok_word *x = *(const llmc_tok_word *const *)a, *y = *(const llmc_tok_word *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int train(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *st, llmc_tok_builder *b,
                 llmc_diags *d) {
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) return -1;
    if (llmc_tok_builder_find_piece(b, "[UNK]", 5) < 0 && llmc_tok_builder_add_special(b, "[UNK]", d) < 0) return -1;
    const llmc_tok_word **order = malloc((st->n_words ? st->n_words : 1) * sizeof *order);
    if (!order) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < st->n_words; i++) order[i] = &st->words[i];
    qsort(order, st->n_words, sizeof *order, by_count);
    for (size_t i = 0; i < st->n_words && llmc_tok_builder_n_pieces(b) < p->vocab_size; i++) {
        if (llmc_tok_builder_find_piece(b, order[i]->text, order[i]->len) >= 0) continue;
        if (llmc_tok_builder_add_piece(b, order[i]->text, order[i]->len, 0.0, d) < 0) {
            free(order);
            return -1;
        }
    }
    free(order);
    return 0;
}

static const llmc_tokenizer_vtable vtable = {sizeof(llmc_tokenizer_vtable), prepare, train};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TOKENIZER, "wordlevel", "1.0.0", "one id per frequent word (an SDK example)", &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
