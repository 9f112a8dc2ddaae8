/* libFuzzer target for the tokenizer.json reader: the input is read as tokenizer.json and
 * every diagnostic is formatted. A tokenizer that loads must encode and decode fixed texts and
 * a slice of the input, must write a tokenizer.json that reads back, and the reloaded copy must
 * give the same ids. Anything else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/tokenizer.h"

static void format_all(const llmc_diags *d) {
    char buf[256];
    for (size_t i = 0; i < llmc_diags_size(d); i++) llmc_diag_format(llmc_diags_get(d, i), buf, sizeof buf);
}

/* encode; 0 ok, 1 a legitimate refusal (a text needing a missing unk token) */
static int encode(llmc_tokenizer *t, const char *s, size_t n, llmc_tok_ids *ids, llmc_diags *d) {
    ids->n = 0;
    if (llmc_tokenizer_encode(t, s, n, true, ids, d) == 0) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llmc_diags *d = llmc_diags_create();
    llmc_tokenizer *t = llmc_tokenizer_load_json((const char *)data, size, "fuzz.json", d);
    if (t) {
        static const char *const texts[] = {"Hello world, it's 2024!", "  \t\n  x", "日本語 😀 e\xCC\x81", "\xFF\xFEz", ""};
        size_t n_texts = sizeof texts / sizeof *texts;
        llmc_tok_ids a = {0}, b = {0};
        size_t len;
        char *json = llmc_tokenizer_to_json(t, &len, d);
        if (!json) abort();
        llmc_tokenizer *u = llmc_tokenizer_load_json(json, len, "again.json", d);
        if (!u) abort(); /* what we write, we read */
        for (size_t i = 0; i <= n_texts; i++) {
            const char *s = i < n_texts ? texts[i] : (const char *)data;
            size_t n = i < n_texts ? strlen(s) : (size > 200 ? 200 : size);
            int r1 = encode(t, s, n, &a, d), r2 = encode(u, s, n, &b, d);
            if (r1 != r2) abort();
            if (r1 == 0) {
                if (a.n != b.n || (a.n && memcmp(a.ids, b.ids, a.n * sizeof *a.ids))) abort();
                char *text;
                size_t tl;
                if (llmc_tokenizer_decode(t, a.ids, a.n, false, &text, &tl, d) != 0) abort();
                free(text);
                if (llmc_tokenizer_decode_bytes(t, a.ids, a.n, true, &text, &tl, d) != 0) abort();
                free(text);
            }
        }
        char h[65];
        if (llmc_tokenizer_hash(t, h) != 0) abort();
        for (uint32_t id = 0; id < llmc_tokenizer_vocab_size(t) && id < 64; id++) llmc_tokenizer_id_to_piece(t, id, &len);
        free(json);
        llmc_tok_ids_free(&a);
        llmc_tok_ids_free(&b);
        llmc_tokenizer_free(u);
        llmc_tokenizer_free(t);
    }
    format_all(d);
    llmc_diags_free(d);
    return 0;
}
