/* The bpe tokenizer plugin: byte-level BPE (GPT-2 and Llama-3 pre-tokenizer regexes; every
 * byte is a piece, so any text encodes) and SentencePiece-style BPE on a metaspace pipeline
 * with byte fallback (<0x00>..<0xFF> pieces, <unk> <s> </s> first, characters kept by
 * --character-coverage, pieces of at most 16 characters, merges for every split of a piece so
 * that HF and SentencePiece segment alike). Merges are learned as HF's BpeTrainer does.
 *
 * --option remove_extra_whitespaces=true (metaspace only; spm_train's name and default there):
 * leading and trailing spaces dropped and runs of spaces collapsed before training and encoding,
 * as SentencePiece's normalizer does. It is off by default because it is lossy (decode(encode(x))
 * loses the extra spaces) and a byte-fallback tokenizer should round-trip; on text with indented
 * lines it gives markedly more bytes per token (docs/benchmarks.md, tokenizer quality). */
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"
#include "llmc/tokenizer.h"
#include "tok_bpe_train.h"

static const char *pre_of(const llmc_tok_train_params *p) { return p->pre_tokenizer ? p->pre_tokenizer : "gpt2"; }

static bool is_byte_level(const char *pre) { return !strcmp(pre, "gpt2") || !strcmp(pre, "llama3"); }

/* --byte-fallback / --no-byte-fallback (byte_fallback=true|false); metaspace defaults to on */
static bool byte_fallback(const llmc_tok_train_params *p, const char *pre) {
    const char *o = llmc_tok_train_option(p, "byte_fallback");
    if (o) return !strcmp(o, "true");
    return !strcmp(pre, "metaspace");
}

static const char *special_of(const llmc_tok_train_params *p, const char *name) {
    for (size_t i = 0; i < p->n_specials; i++)
        if (!strcmp(p->specials[i].name, name)) return p->specials[i].token;
    return NULL;
}

/* SentencePiece's remove_extra_whitespaces ahead of the metaspace steps (the pipeline
 * llmc_tok_spm_pipeline gives a tokenizer.model with that flag, so tokenizer.json and
 * tokenizer.model written for it encode alike) */
#define SPM_COLLAPSING_NORMALIZER                                                                               \
    "{\"type\":\"Sequence\",\"normalizers\":["                                                             \
    "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\A +\"},\"content\":\"\"},"                    \
    "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" {2,}\"},\"content\":\" \"},"                       \
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"},"                  \
    "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\u2581+\\\\z\"},\"content\":\"\"},"            \
    "{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"}]}"

static int check_options(const llmc_tok_train_params *p, const char *pre, llmc_diags *d) {
    for (size_t i = 0; i < p->n_options; i++) {
        const char *o = p->options[i], *eq = strchr(o, '=');
        size_t k = eq ? (size_t)(eq - o) : strlen(o);
        bool bf = k == 13 && !strncmp(o, "byte_fallback", k);
        bool rw = k == 24 && !strncmp(o, "remove_extra_whitespaces", k);
        if ((!bf && !rw) || !eq || (strcmp(eq + 1, "true") && strcmp(eq + 1, "false"))) {
            llmc_error(d, "--option", "unknown bpe option '%s' (expected remove_extra_whitespaces=true|false)", o);
            return -1;
        }
        if (rw && strcmp(pre, "metaspace")) {
            llmc_error(d, "--option", "remove_extra_whitespaces is for the metaspace pre-tokenizer, not '%s'", pre);
            return -1;
        }
    }
    return 0;
}

static int prepare(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d) {
    const char *pre = pre_of(p);
    if (strcmp(pre, "gpt2") && strcmp(pre, "llama3") && strcmp(pre, "metaspace") && strcmp(pre, "whitespace") &&
        strcmp(pre, "bert")) {
        llmc_error(d, "--pre-tokenizer", "bpe supports gpt2, llama3, metaspace, whitespace and bert, not '%s'", pre);
        return -1;
    }
    if (check_options(p, pre, d)) return -1;
    if (!p->pre_tokenizer && llmc_tok_builder_preset(b, pre, d)) return -1;
    const char *rw = llmc_tok_train_option(p, "remove_extra_whitespaces");
    if (rw && !strcmp(rw, "true") && llmc_tok_builder_set(b, "normalizer", SPM_COLLAPSING_NORMALIZER, d)) return -1;
    if (llmc_tok_builder_set_model(b, "BPE", d)) return -1;
    bool bf = byte_fallback(p, pre);
    if (bf && is_byte_level(pre)) {
        llmc_error(d, "--byte-fallback", "byte-level BPE (%s) already encodes every byte; byte fallback is for metaspace",
                   pre);
        return -1;
    }
    if (bf && llmc_tok_builder_set(b, "model.byte_fallback", "true", d)) return -1;
    const char *unk = special_of(p, "unk");
    if (!unk && !strcmp(pre, "metaspace")) unk = "<unk>";
    if (unk && !is_byte_level(pre)) {
        char json[512];
        snprintf(json, sizeof json, "\"%s\"", unk);
        if (strchr(unk, '"') || strchr(unk, '\\')) {
            llmc_error(d, "--special", "unk token '%s': quotes and backslashes are not supported", unk);
            return -1;
        }
        if (llmc_tok_builder_set(b, "model.unk_token", json, d)) return -1;
        if (!strcmp(pre, "metaspace") && llmc_tok_builder_set(b, "model.fuse_unk", "true", d)) return -1;
    }
    return 0;
}

static int train(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *st, llmc_tok_builder *b,
                 llmc_diags *d) {
    const char *pre = pre_of(p);
    bool meta = !strcmp(pre, "metaspace"), bf = byte_fallback(p, pre);
    /* special tokens first; SentencePiece's <unk> <s> </s> for metaspace when none were given */
    if (meta && !p->n_specials) {
        static const char *const spm[3] = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < 3; i++)
            if (llmc_tok_builder_add_special(b, spm[i], d) < 0) return -1;
    }
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) return -1;
    if (meta && !special_of(p, "unk") && llmc_tok_builder_find_piece(b, "<unk>", 5) < 0 &&
        llmc_tok_builder_add_special(b, "<unk>", d) < 0)
        return -1;
    if (bf)
        for (int x = 0; x < 256; x++) {
            char piece[8];
            snprintf(piece, sizeof piece, "<0x%02X>", x);
            if (llmc_tok_builder_find_piece(b, piece, 6) < 0 && llmc_tok_builder_add_piece(b, piece, 6, 0.0, d) < 0)
                return -1;
        }
    if (is_byte_level(pre)) {
        /* all 256 byte characters, by code point (HF: initial_alphabet = ByteLevel.alphabet()) */
        llmc_tok_char_count all[256];
        for (int x = 0; x < 256; x++) {
            uint32_t cp = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE) ? (uint32_t)x : 0;
            all[x] = (llmc_tok_char_count){cp, 1};
        }
        /* the remapped bytes take U+0100.. in byte order */
        uint32_t next = 0x100;
        for (int x = 0; x < 256; x++)
            if (!all[x].codepoint) all[x].codepoint = next++;
        llmc_tok_corpus_stats alpha = *st;
        alpha.chars = all;
        alpha.n_chars = 256;
        if (tok_bpe_add_alphabet(&alpha, b, 0, 0, d) < 0) return -1;
    } else {
        double cov = p->character_coverage > 0 ? p->character_coverage : meta ? 0.9995 : 1.0;
        if (tok_bpe_add_alphabet(st, b, cov, meta ? 0x2581 : 0, d) < 0) return -1;
    }
    size_t have = llmc_tok_builder_n_pieces(b);
    if (have > p->vocab_size) {
        llmc_error(d, "--vocab-size",
                   "%u is smaller than the %zu special tokens, byte pieces and characters the vocabulary starts with",
                   p->vocab_size, have);
        return -1;
    }
    tok_bpe_opts o = {0};
    o.vocab_size = p->vocab_size;
    o.min_frequency = p->min_frequency;
    o.max_piece_chars = p->max_piece_length ? p->max_piece_length : meta ? 16 : 0;
    o.all_splits = meta;
    o.progress = p->progress;
    return tok_bpe_train(st, b, &o, d);
}

static const llmc_tokenizer_vtable vtable = {sizeof(llmc_tokenizer_vtable), prepare, train};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TOKENIZER, "bpe", "1.0.0",
     "byte-level BPE (gpt2, llama3 regexes) and SentencePiece-style BPE with byte fallback (metaspace)", &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
