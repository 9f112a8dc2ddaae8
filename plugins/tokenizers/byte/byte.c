/* The byte tokenizer plugin: one id per byte (the 256 GPT-2 byte characters, in byte order,
 * after the special tokens), no merges. Every byte string round-trips. The vocabulary size is
 * therefore 256 plus the special tokens; the corpus only has to be readable. */
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"
#include "llmc/tokenizer.h"

static int prepare(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d) {
    if (p->pre_tokenizer && strcmp(p->pre_tokenizer, "byte")) {
        llmc_error(d, "--pre-tokenizer", "byte takes whole texts (byte), not '%s'", p->pre_tokenizer);
        return -1;
    }
    if (p->vocab_size != 256 + p->n_specials) {
        llmc_error(d, "--vocab-size", "a byte tokenizer has 256 ids plus one per special token: %zu here, not %u",
                   256 + p->n_specials, p->vocab_size);
        return -1;
    }
    if (!p->pre_tokenizer && llmc_tok_builder_preset(b, "byte", d)) return -1;
    return llmc_tok_builder_set_model(b, "BPE", d);
}

static int train(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *st, llmc_tok_builder *b,
                 llmc_diags *d) {
    (void)st;
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) return -1;
    /* byte x is the character bytes_to_unicode maps it to */
    uint32_t next = 0x100;
    for (int x = 0; x < 256; x++) {
        bool same = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
        uint32_t cp = same ? (uint32_t)x : next++;
        char u[2];
        size_t k;
        if (cp < 0x80) u[0] = (char)cp, k = 1;
        else u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
        if (llmc_tok_builder_add_piece(b, u, k, 0.0, d) < 0) return -1;
    }
    return 0;
}

static const llmc_tokenizer_vtable vtable = {sizeof(llmc_tokenizer_vtable), prepare, train};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TOKENIZER, "byte", "1.0.0", "one id per byte (256 + special tokens)", &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
