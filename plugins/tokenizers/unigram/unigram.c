/* The `unigram` tokenizer plugin: SentencePiece's Unigram language-model tokenizer, trained with
 * EM and pruning as spm_train does (ug_train.h), written as tokenizer.json (model "Unigram") and,
 * by the core, tokenizer.model.
 *
 * Pipeline (unless --pre-tokenizer names another): Llama's SentencePiece layout, which is lossless
 * (decode(encode(x)) == x for any bytes, with byte fallback): identity normalization, every space
 * kept, spaces as U+2581 and one U+2581 in front; words split before each U+2581. It is the pipeline
 * llmc_tok_spm_read gives such a tokenizer.model, so tokenizer.json and tokenizer.model encode
 * alike. --option remove_extra_whitespaces=true gives spm_train's default clean-up instead
 * (leading and trailing spaces dropped, runs collapsed): lossy.
 *
 * Vocabulary: <unk> <s> </s> (or the tokens given with --special unk=/bos=/eos=), pad= if given,
 * the other --special tokens, the 256 byte pieces <0x00>..<0xFF> with byte fallback (the
 * default; --no-byte-fallback for none), then the trained pieces by score. vocab_size counts
 * all of them.
 *
 * --option KEY=VALUE (spm_train's names): seed_sentencepiece_size, shrinking_factor,
 * num_sub_iterations, max_sentence_length, split_by_unicode_script, split_by_number,
 * split_digits, split_by_whitespace, required_chars. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/plugin.h"
#include "llmc/tokenizer.h"
#include "tok_spm.h"
#include "ug_train.h"

#define PLUGIN "unigram"
#define BYTE_PIECE_CHARS "<>x0123456789ABCDEF"

static const char *const known_options[] = {
    "byte_fallback", /* --byte-fallback / --no-byte-fallback */
    "remove_extra_whitespaces",
    "seed_sentencepiece_size", "shrinking_factor", "num_sub_iterations", "max_sentence_length",
    "split_by_unicode_script", "split_by_number", "split_digits", "split_by_whitespace", "required_chars",
};

/* byte fallback is on unless --no-byte-fallback (the option byte_fallback=false) */
static bool byte_fallback(const llmc_tok_train_params *p) {
    const char *o = llmc_tok_train_option(p, "byte_fallback");
    return !(o && strcmp(o, "false") == 0);
}

static int set_json(llmc_tok_builder *b, const char *key, const json_t *v, llmc_diags *d) {
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
        llmc_error(d, key, "out of memory");
        return -1;
    }
    int rc = llmc_tok_builder_set(b, key, text, d);
    free(text);
    return rc;
}

static int unigram_prepare(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d) {
    for (size_t i = 0; i < p->n_options; i++) {
        const char *o = p->options[i], *eq = strchr(o, '=');
        size_t klen = eq ? (size_t)(eq - o) : strlen(o);
        bool known = false;
        for (size_t k = 0; k < sizeof known_options / sizeof known_options[0]; k++)
            if (strlen(known_options[k]) == klen && strncmp(known_options[k], o, klen) == 0) known = true;
        if (!known || !eq) {
            llmc_error(d, "--option", "unknown unigram option '%s' (expected KEY=VALUE with KEY one of "
                       "byte_fallback, remove_extra_whitespaces, seed_sentencepiece_size, shrinking_factor, num_sub_iterations, max_sentence_length, "
                       "split_by_unicode_script, split_by_number, split_digits, split_by_whitespace, required_chars)", o);
            return -1;
        }
    }
    if (p->min_frequency) {
        llmc_error(d, "--min-frequency", "the unigram trainer has no minimum frequency (it prunes by likelihood); "
                   "leave it out");
        return -1;
    }
    if (p->character_coverage != 0 && (p->character_coverage < 0.98 || p->character_coverage > 1.0)) {
        llmc_error(d, "--character-coverage", "must be between 0.98 and 1 (got %g), as in spm_train",
                   p->character_coverage);
        return -1;
    }
    if (!p->pre_tokenizer) {
        const char *split = llmc_tok_train_option(p, "split_by_whitespace");
        const char *collapse = llmc_tok_train_option(p, "remove_extra_whitespaces");
        if (collapse && strcmp(collapse, "true") && strcmp(collapse, "false")) {
            llmc_error(d, "remove_extra_whitespaces", "expected true or false (got '%s')", collapse);
            return -1;
        }
        json_t *pipe = llmc_tok_spm_pipeline(true, collapse && !strcmp(collapse, "true"), true,
                                             !(split && strcmp(split, "false") == 0), byte_fallback(p), NULL);
        if (!pipe) {
            llmc_error(d, NULL, "out of memory");
            return -1;
        }
        int rc = set_json(b, "normalizer", json_object_get(pipe, "normalizer"), d);
        if (!rc) rc = set_json(b, "pre_tokenizer", json_object_get(pipe, "pre_tokenizer"), d);
        if (!rc) rc = set_json(b, "decoder", json_object_get(pipe, "decoder"), d);
        json_decref(pipe);
        if (rc) return rc;
    }
    if (llmc_tok_builder_set_model(b, "Unigram", d)) return -1;
    return llmc_tok_builder_set(b, "model.byte_fallback", byte_fallback(p) ? "true" : "false", d);
}

/* --option values */
static int opt_u32(const llmc_tok_train_params *p, const char *key, uint32_t lo, uint32_t hi, uint32_t *out,
                   llmc_diags *d) {
    const char *v = llmc_tok_train_option(p, key);
    if (!v) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        llmc_error(d, key, "expected an integer from %u to %u (got '%s')", lo, hi, v);
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}

static int opt_double(const llmc_tok_train_params *p, const char *key, double lo, double hi, double *out,
                      llmc_diags *d) {
    const char *v = llmc_tok_train_option(p, key);
    if (!v) return 0;
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) {
        llmc_error(d, key, "expected a number from %g to %g (got '%s')", lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int opt_bool(const llmc_tok_train_params *p, const char *key, bool *out, llmc_diags *d) {
    const char *v = llmc_tok_train_option(p, key);
    if (!v) return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) *out = false;
    else {
        llmc_error(d, key, "expected true or false (got '%s')", v);
        return -1;
    }
    return 0;
}

static const char *special_token(const llmc_tok_train_params *p, const char *role, const char *fallback) {
    const char *t = fallback;
    for (size_t i = 0; i < p->n_specials; i++)
        if (strcmp(p->specials[i].name, role) == 0) t = p->specials[i].token;
    return t;
}

static int add_special(llmc_tok_builder *b, const char *token, llmc_diags *d) {
    if (llmc_tok_builder_find_piece(b, token, strlen(token)) < 0 &&
        llmc_tok_builder_add_piece(b, token, strlen(token), 0.0, d) < 0)
        return -1;
    return llmc_tok_builder_add_special(b, token, d) < 0 ? -1 : 0;
}

static int unigram_train(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *stats, llmc_tok_builder *b,
                         llmc_diags *d) {
    ug_params up;
    ug_default_params(&up);
    if (p->character_coverage) up.character_coverage = p->character_coverage;
    if (p->max_piece_length) up.max_piece_length = p->max_piece_length;
    up.threads = p->threads > 0 ? p->threads : 1;
    up.progress = p->progress;
    if (opt_u32(p, "seed_sentencepiece_size", 1, 100000000, &up.seed_size, d) ||
        opt_double(p, "shrinking_factor", 0.5, 0.95, &up.shrinking_factor, d) ||
        opt_u32(p, "num_sub_iterations", 1, 10, &up.sub_iterations, d) ||
        opt_u32(p, "max_sentence_length", 10, 1u << 30, &up.max_word_bytes, d) ||
        opt_bool(p, "split_by_unicode_script", &up.split_by_unicode_script, d) ||
        opt_bool(p, "split_by_number", &up.split_by_number, d) ||
        opt_bool(p, "split_digits", &up.split_digits, d) ||
        opt_bool(p, "split_by_whitespace", &up.split_by_whitespace, d))
        return -1;
    up.required_chars = llmc_tok_train_option(p, "required_chars");
    if (up.max_piece_length > 512) {
        llmc_error(d, "--max-piece-length", "must be at most 512 characters (got %u), as in spm_train",
                   up.max_piece_length);
        return -1;
    }

    /* the reserved pieces, in sentencepiece's id order */
    const char *unk = special_token(p, "unk", "<unk>"), *bos = special_token(p, "bos", "<s>"),
               *eos = special_token(p, "eos", "</s>"), *pad = special_token(p, "pad", NULL);
    if (add_special(b, unk, d) || llmc_tok_builder_set(b, "model.unk_id", "0", d) || add_special(b, bos, d) ||
        add_special(b, eos, d) || (pad && add_special(b, pad, d)))
        return -1;
    for (size_t i = 0; i < p->n_specials; i++) {
        const char *role = p->specials[i].name;
        if (strcmp(role, "unk") && strcmp(role, "bos") && strcmp(role, "eos") && strcmp(role, "pad") &&
            add_special(b, p->specials[i].token, d))
            return -1;
    }
    /* the byte pieces come next; they are added once the trained scores are known (below) */
    const bool bytes = byte_fallback(p);
    size_t reserved = llmc_tok_builder_n_pieces(b);
    if (bytes)
        for (int v = 0; v < 256; v++) {
            char piece[8];
            snprintf(piece, sizeof piece, "<0x%02X>", v);
            if (llmc_tok_builder_find_piece(b, piece, 6) < 0) reserved++;
        }
    if (p->vocab_size <= reserved) {
        llmc_error(d, "vocab_size", "%u leaves no room for trained pieces after the %zu special%s pieces",
                   p->vocab_size, reserved, bytes ? " and byte" : "");
        return -1;
    }
    up.vocab_size = p->vocab_size - (uint32_t)reserved;
    up.reserved_pieces = (uint32_t)reserved;

    /* with byte fallback the characters of "<0xNN>" are always pieces, so that the text of a byte
     * piece has a path of its own characters (see the byte pieces' score below) */
    const char *user_chars = up.required_chars ? up.required_chars : "";
    char *chars = malloc(strlen(user_chars) + sizeof BYTE_PIECE_CHARS);
    if (!chars) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    strcpy(chars, user_chars);
    if (byte_fallback(p)) strcat(chars, BYTE_PIECE_CHARS);
    up.required_chars = chars;
    ug_result r;
    int trained = ug_train(&up, stats->words, stats->n_words, &r, d);
    free(chars);
    if (trained != 0) return -1;
    int rc = 0;
    /* sentencepiece never matches a byte piece against text (it is only the fallback for a character
     * outside the vocabulary), but the HF library's Unigram does: with spm_train's score 0 the text
     * "<0x41>" would encode as the byte 'A'. A score below any path of six other pieces keeps the
     * literal text on its characters (always pieces: required above) in both libraries, so the
     * tokenizer stays lossless. The unk
     * score HF derives from it (the lowest score - 10) changes no segmentation: no trained piece
     * holds a character that lacks a piece of its own, so every path pays for an unknown character
     * alike. */
    float lowest = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.pieces[i].score < lowest) lowest = r.pieces[i].score;
    const double byte_score = floor(8.0 * (double)lowest) - 100.0;
    for (int v = 0; bytes && v < 256 && rc == 0; v++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", v);
        if (llmc_tok_builder_find_piece(b, piece, 6) < 0 && llmc_tok_builder_add_piece(b, piece, 6, byte_score, d) < 0)
            rc = -1;
    }
    size_t skipped = 0;
    for (size_t i = 0; i < r.n && rc == 0; i++) {
        /* the score is a float in tokenizer.model; the same value goes into tokenizer.json */
        if (llmc_tok_builder_find_piece(b, r.pieces[i].text, r.pieces[i].len) >= 0) {
            skipped++; /* a special token the corpus also yields as a piece */
            continue;
        }
        if (llmc_tok_builder_add_piece(b, r.pieces[i].text, r.pieces[i].len, (double)r.pieces[i].score, d) < 0) rc = -1;
    }
    if (rc == 0 && skipped)
        llmc_warning(d, "vocab_size", "%zu trained piece%s equal to special tokens were left out: the vocabulary has "
                     "%zu entries", skipped, skipped == 1 ? "" : "s", llmc_tok_builder_n_pieces(b));
    ug_result_free(&r);
    return rc;
}

static const llmc_tokenizer_vtable unigram_vtable = {sizeof(llmc_tokenizer_vtable), unigram_prepare, unigram_train};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TOKENIZER, PLUGIN, "1.0.0",
     "SentencePiece Unigram: EM training with pruning as spm_train; tokenizer.json + tokenizer.model",
     &unigram_vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
