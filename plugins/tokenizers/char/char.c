/* The char tokenizer plugin: one id per character. The most frequent characters of the corpus
 * get ids (after the special tokens); with byte fallback (the default) every other character
 * is encoded as its UTF-8 bytes (<0x00>..<0xFF>), so any text round-trips; without it they
 * become <unk>. The model sees whole texts (no pre-tokenizer): spaces and newlines are
 * characters like any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/llmc.h"
#include "llmc/tokenizer.h"

static bool byte_fallback(const llmc_tok_train_params *p) {
    const char *o = llmc_tok_train_option(p, "byte_fallback");
    return !o || !strcmp(o, "true");
}

static int prepare(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d) {
    if (p->pre_tokenizer && strcmp(p->pre_tokenizer, "char")) {
        llmc_error(d, "--pre-tokenizer", "char takes whole texts (char), not '%s'", p->pre_tokenizer);
        return -1;
    }
    if (!p->pre_tokenizer && llmc_tok_builder_preset(b, "char", d)) return -1;
    if (llmc_tok_builder_set_model(b, "BPE", d)) return -1;
    if (byte_fallback(p)) return llmc_tok_builder_set(b, "model.byte_fallback", "true", d);
    return llmc_tok_builder_set(b, "model.unk_token", "\"<unk>\"", d);
}

static int by_count(const void *a, const void *b) {
    const llmc_tok_char_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->codepoint < y->codepoint ? -1 : x->codepoint > y->codepoint;
}

static int train(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *st, llmc_tok_builder *b,
                 llmc_diags *d) {
    bool bf = byte_fallback(p);
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) return -1;
    if (!bf && llmc_tok_builder_find_piece(b, "<unk>", 5) < 0 && llmc_tok_builder_add_special(b, "<unk>", d) < 0)
        return -1;
    if (bf)
        for (int x = 0; x < 256; x++) {
            char piece[8];
            snprintf(piece, sizeof piece, "<0x%02X>", x);
            if (llmc_tok_builder_add_piece(b, piece, 6, 0.0, d) < 0) return -1;
        }
    size_t have = llmc_tok_builder_n_pieces(b);
    if (have >= p->vocab_size) {
        llmc_error(d, "--vocab-size", "%u leaves no room for characters after the %zu special tokens%s", p->vocab_size,
                   have, bf ? " and 256 byte pieces (--no-byte-fallback drops those)" : "");
        return -1;
    }
    llmc_tok_char_count *c = malloc((st->n_chars ? st->n_chars : 1) * sizeof *c);
    if (!c) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    memcpy(c, st->chars, st->n_chars * sizeof *c);
    qsort(c, st->n_chars, sizeof *c, by_count);
    for (size_t i = 0; i < st->n_chars && llmc_tok_builder_n_pieces(b) < p->vocab_size; i++) {
        uint32_t cp = c[i].codepoint;
        /* invalid bytes, and U+0000 (not a tokenizer.json key every reader takes): byte fallback / <unk> */
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
        char u[4];
        size_t k;
        if (cp < 0x80) u[0] = (char)cp, k = 1;
        else if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
        else if (cp < 0x10000)
            u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
            k = 3;
        else
            u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
        if (llmc_tok_builder_find_piece(b, u, k) >= 0) continue;
        if (llmc_tok_builder_add_piece(b, u, k, 0.0, d) < 0) {
            free(c);
            return -1;
        }
    }
    free(c);
    return 0;
}

static const llmc_tokenizer_vtable vtable = {sizeof(llmc_tokenizer_vtable), prepare, train};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TOKENIZER, "char", "1.0.0", "one id per character (most frequent first), byte fallback for the rest",
     &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
