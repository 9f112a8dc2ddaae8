/* libFuzzer target for the encoder: the input is text (any bytes) for four lossless tokenizers
 * built in process (byte-level BPE on the GPT-2 and Llama-3 regexes, metaspace BPE and Unigram with
 * byte fallback). Each must encode it, and decode_bytes must give the input back exactly (metaspace
 * and Unigram: unless the input holds U+2581, which decodes as a space by SentencePiece's convention). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/tokenizer.h"
#include "tok_builder.h"

static void add(llmc_tok_builder *b, const char *p, llmc_diags *d) {
    if (llmc_tok_builder_find_piece(b, p, strlen(p)) < 0 && llmc_tok_builder_add_piece(b, p, strlen(p), 0, d) < 0) abort();
}

static void merge(llmc_tok_builder *b, const char *l, const char *r, llmc_diags *d) {
    char both[64];
    snprintf(both, sizeof both, "%s%s", l, r);
    add(b, both, d);
    if (llmc_tok_builder_add_merge(b, llmc_tok_builder_find_piece(b, l, strlen(l)),
                                   llmc_tok_builder_find_piece(b, r, strlen(r)), d))
        abort();
}

/* A Unigram model with byte fallback, as the unigram plugin writes it: byte pieces scored below
 * any path of six other pieces, so that the text "<0x41>" stays characters in HF's Viterbi. */
static llmc_tokenizer *build_unigram(void) {
    llmc_diags *d = llmc_diags_create();
    llmc_tok_builder *b = llmc_tok_builder_create();
    if (llmc_tok_builder_preset(b, "metaspace", d) || llmc_tok_builder_set_model(b, "Unigram", d) ||
        llmc_tok_builder_set(b, "model.unk_id", "0", d) || llmc_tok_builder_set(b, "model.byte_fallback", "true", d) ||
        llmc_tok_builder_add_piece(b, "<unk>", 5, 0, d) < 0)
        abort();
    for (int x = 0; x < 256; x++) {
        char p[8];
        snprintf(p, sizeof p, "<0x%02X>", x);
        if (llmc_tok_builder_add_piece(b, p, 6, -340.0, d) < 0) abort(); /* floor(8 * lowest) - 100, as the plugin */
    }
    /* the characters of "<0xNN>" are pieces, as the unigram plugin makes them */
    static const char *const pieces[] = {"\xE2\x96\x81", "t", "h", "e", "a", "<", ">", "x", "0", "1", "2", "3", "4",
                                         "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F", "th",
                                         "\xE2\x96\x81" "the", "\xE2\x96\x81" "a", "<0", "x4"};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        if (llmc_tok_builder_add_piece(b, pieces[i], strlen(pieces[i]), -2.0 - (double)i, d) < 0) abort();
    /* no special tokens: the text of one encodes as that token, and the metaspace prefix then comes
     * back as a space after it (HF and llmc alike; docs/tokenizers.md lists it as an exception) */
    json_t *doc = llmc_tok_builder_document(b, false);
    char *text = json_dumps(doc, JSON_COMPACT);
    llmc_tokenizer *t = llmc_tokenizer_load_json(text, strlen(text), "unigram", d);
    if (!t) abort();
    free(text);
    json_decref(doc);
    llmc_tok_builder_free(b);
    llmc_diags_free(d);
    return t;
}

static llmc_tokenizer *build(const char *preset) {
    if (!strcmp(preset, "unigram")) return build_unigram();
    llmc_diags *d = llmc_diags_create();
    llmc_tok_builder *b = llmc_tok_builder_create();
    if (llmc_tok_builder_preset(b, preset, d) || llmc_tok_builder_set_model(b, "BPE", d)) abort();
    bool meta = !strcmp(preset, "metaspace");
    if (meta) {
        if (llmc_tok_builder_set(b, "model.byte_fallback", "true", d) ||
            llmc_tok_builder_set(b, "model.unk_token", "\"<unk>\"", d) || llmc_tok_builder_add_piece(b, "<unk>", 5, 0, d) < 0)
            abort();
        for (int x = 0; x < 256; x++) {
            char p[8];
            snprintf(p, sizeof p, "<0x%02X>", x);
            add(b, p, d);
        }
        static const char *const chars[] = {"\xE2\x96\x81", "t", "h", "e", "a", " "};
        for (size_t i = 0; i < sizeof chars / sizeof *chars; i++) add(b, chars[i], d);
        merge(b, "t", "h", d);
        merge(b, "\xE2\x96\x81", "th", d);
    } else {
        uint32_t next = 0x100;
        for (int x = 0; x < 256; x++) {
            bool same = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
            uint32_t cp = same ? (uint32_t)x : next++;
            char u[3] = {0};
            if (cp < 0x80) u[0] = (char)cp;
            else u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
            add(b, u, d);
        }
        merge(b, "t", "h", d);
        merge(b, "\xC4\xA0", "th", d);
    }
    json_t *doc = llmc_tok_builder_document(b, false);
    char *text = json_dumps(doc, JSON_COMPACT);
    llmc_tokenizer *t = llmc_tokenizer_load_json(text, strlen(text), preset, d);
    if (!t) abort();
    free(text);
    json_decref(doc);
    llmc_tok_builder_free(b);
    llmc_diags_free(d);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    enum { N_TOKS = 4 };
    static llmc_tokenizer *toks[N_TOKS];
    static const char *const presets[N_TOKS] = {"gpt2", "llama3", "metaspace", "unigram"};
    if (!toks[0])
        for (int i = 0; i < N_TOKS; i++) toks[i] = build(presets[i]);
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    bool u2581 = false;
    for (size_t i = 0; i + 3 <= size; i++)
        if (!memcmp(data + i, "\xE2\x96\x81", 3)) u2581 = true;
    for (int i = 0; i < N_TOKS; i++) {
        ids.n = 0;
        if (llmc_tokenizer_encode(toks[i], (const char *)data, size, false, &ids, d)) abort();
        char *back;
        size_t len;
        if (llmc_tokenizer_decode_bytes(toks[i], ids.ids, ids.n, false, &back, &len, d)) abort();
        if (!(i >= 2 && u2581) && (len != size || memcmp(back, data, size))) abort();
        free(back);
        if (llmc_tokenizer_decode(toks[i], ids.ids, ids.n, false, &back, &len, d)) abort();
        free(back);
    }
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
    return 0;
}
