/* decode(encode(x)) == x on arbitrary bytes (invalid UTF-8 included) for the lossless
 * tokenizers: byte-level BPE (GPT-2 and Llama-3 pre-tokenizers), metaspace BPE with byte
 * fallback, char with byte fallback, byte. The tokenizers are built with the same builder and
 * presets the trainers use, with a few merges, and saved/reloaded through tokenizer.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llmc/tokenizer.h"
#include "testutil.h"
#include "tok_builder.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void add_bytes_as_chars(llmc_tok_builder *b, llmc_diags *d) {
    uint32_t next = 0x100;
    for (int x = 0; x < 256; x++) {
        bool same = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
        uint32_t cp = same ? (uint32_t)x : next++;
        char u[2];
        size_t k = cp < 0x80 ? 1 : 2;
        if (k == 1) u[0] = (char)cp;
        else u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
        assert_true(llmc_tok_builder_add_piece(b, u, k, 0, d) >= 0);
    }
}

static void add_byte_pieces(llmc_tok_builder *b, llmc_diags *d) {
    for (int x = 0; x < 256; x++) {
        char p[8];
        snprintf(p, sizeof p, "<0x%02X>", x);
        assert_true(llmc_tok_builder_add_piece(b, p, 6, 0, d) >= 0);
    }
}

static void merge(llmc_tok_builder *b, const char *l, const char *r, llmc_diags *d) {
    char both[64];
    snprintf(both, sizeof both, "%s%s", l, r);
    int64_t a = llmc_tok_builder_find_piece(b, l, strlen(l)), c = llmc_tok_builder_find_piece(b, r, strlen(r));
    assert_true(a >= 0 && c >= 0);
    if (llmc_tok_builder_find_piece(b, both, strlen(both)) < 0)
        assert_true(llmc_tok_builder_add_piece(b, both, strlen(both), 0, d) >= 0);
    assert_int_equal(llmc_tok_builder_add_merge(b, a, c, d), 0);
}

/* build, write to tokenizer.json text, load back */
static llmc_tokenizer *finish(llmc_tok_builder *b) {
    json_t *doc = llmc_tok_builder_document(b, false);
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    llmc_diags *d = llmc_diags_create();
    llmc_tokenizer *t = llmc_tokenizer_load_json(text, strlen(text), "built", d);
    if (!t) {
        char *m = test_all_diags(d);
        fail_msg("does not load: %s", m);
    }
    free(text);
    llmc_diags_free(d);
    llmc_tok_builder_free(b);
    return t;
}

static llmc_tokenizer *byte_level(const char *preset) {
    llmc_diags *d = llmc_diags_create();
    llmc_tok_builder *b = llmc_tok_builder_create();
    assert_int_equal(llmc_tok_builder_preset(b, preset, d), 0);
    assert_int_equal(llmc_tok_builder_set_model(b, "BPE", d), 0);
    add_bytes_as_chars(b, d);
    merge(b, "t", "h", d);
    merge(b, "th", "e", d);
    merge(b, "\xC4\xA0", "the", d); /* "Ġ" + "the" */
    llmc_diags_free(d);
    return finish(b);
}

static llmc_tokenizer *metaspace_fallback(void) {
    llmc_diags *d = llmc_diags_create();
    llmc_tok_builder *b = llmc_tok_builder_create();
    assert_int_equal(llmc_tok_builder_preset(b, "metaspace", d), 0);
    assert_int_equal(llmc_tok_builder_set_model(b, "BPE", d), 0);
    assert_int_equal(llmc_tok_builder_set(b, "model.byte_fallback", "true", d), 0);
    assert_int_equal(llmc_tok_builder_set(b, "model.unk_token", "\"<unk>\"", d), 0);
    /* a plain piece: a special token in the text would start a new "▁"-prefixed text after it (HF) */
    assert_true(llmc_tok_builder_add_piece(b, "<unk>", 5, 0, d) >= 0);
    add_byte_pieces(b, d);
    static const char *const chars[] = {"\xE2\x96\x81", "a", "b", "c", "e", "h", "t", "\xC3\xA9"};
    for (size_t i = 0; i < sizeof chars / sizeof *chars; i++)
        assert_true(llmc_tok_builder_add_piece(b, chars[i], strlen(chars[i]), 0, d) >= 0);
    merge(b, "t", "h", d);
    merge(b, "\xE2\x96\x81", "th", d);
    merge(b, "\xE2\x96\x81th", "e", d);
    llmc_diags_free(d);
    return finish(b);
}

static llmc_tokenizer *char_fallback(void) {
    llmc_diags *d = llmc_diags_create();
    llmc_tok_builder *b = llmc_tok_builder_create();
    assert_int_equal(llmc_tok_builder_preset(b, "char", d), 0);
    assert_int_equal(llmc_tok_builder_set_model(b, "BPE", d), 0);
    assert_int_equal(llmc_tok_builder_set(b, "model.byte_fallback", "true", d), 0);
    add_byte_pieces(b, d);
    static const char *const chars[] = {" ", "a", "e", "\n", "\xE6\x9D\xB1"};
    for (size_t i = 0; i < sizeof chars / sizeof *chars; i++)
        assert_true(llmc_tok_builder_add_piece(b, chars[i], strlen(chars[i]), 0, d) >= 0);
    llmc_diags_free(d);
    return finish(b);
}

static llmc_tokenizer *bytes_only(void) {
    llmc_diags *d = llmc_diags_create();
    llmc_tok_builder *b = llmc_tok_builder_create();
    assert_int_equal(llmc_tok_builder_preset(b, "byte", d), 0);
    assert_int_equal(llmc_tok_builder_set_model(b, "BPE", d), 0);
    add_bytes_as_chars(b, d);
    llmc_diags_free(d);
    return finish(b);
}

/* random texts mixing ASCII, spaces, multi-byte characters and invalid bytes */
static size_t random_text(char *buf, size_t cap) {
    static const char *const parts[] = {"the", " ", "  ", "\n", "\t", "é", "東京", "😀", "a\xCC\x81", "'s", "123",
                                        "\xFF", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\x80\x80", "\xED\xA0\x80", "\0",
                                        "\r\n", "<0x41>"};
    size_t n = 0, k = next_rand() % 24;
    for (size_t i = 0; i < k; i++) {
        if (next_rand() % 4 == 0) {
            if (n + 1 < cap) buf[n++] = (char)(next_rand() & 0xFF);
            continue;
        }
        const char *p = parts[next_rand() % (sizeof parts / sizeof *parts)];
        size_t l = p[0] ? strlen(p) : 1;
        if (n + l >= cap) break;
        memcpy(buf + n, p, l);
        n += l;
    }
    return n;
}

static bool has_u2581(const char *s, size_t n) {
    for (size_t i = 0; i + 3 <= n; i++)
        if (!memcmp(s + i, "\xE2\x96\x81", 3)) return true;
    return false;
}

static void round_trips(llmc_tokenizer *t, const char *what, int count) {
    assert_true(llmc_tokenizer_lossless(t));
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    char buf[512];
    for (int i = 0; i < count; i++) {
        size_t n = random_text(buf, sizeof buf);
        /* SentencePiece's convention: U+2581 in the text decodes as a space (tested below) */
        if (has_u2581(buf, n)) continue;
        ids.n = 0;
        assert_int_equal(llmc_tokenizer_encode(t, buf, n, false, &ids, d), 0);
        char *back;
        size_t len;
        assert_int_equal(llmc_tokenizer_decode_bytes(t, ids.ids, ids.n, false, &back, &len, d), 0);
        if (len != n || memcmp(back, buf, n)) {
            fprintf(stderr, "%s: input of %zu bytes:", what, n);
            for (size_t k = 0; k < n; k++) fprintf(stderr, " %02X", (unsigned char)buf[k]);
            fprintf(stderr, "\ndecoded %zu bytes:", len);
            for (size_t k = 0; k < len; k++) fprintf(stderr, " %02X", (unsigned char)back[k]);
            fprintf(stderr, "\n");
            fail_msg("%s: decode_bytes(encode(x)) != x", what);
        }
        free(back);
    }
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
}

static void test_gpt2(void **state) {
    (void)state;
    llmc_tokenizer *t = byte_level("gpt2");
    round_trips(t, "gpt2", 3000);
    llmc_tokenizer_free(t);
}

static void test_llama3(void **state) {
    (void)state;
    llmc_tokenizer *t = byte_level("llama3");
    round_trips(t, "llama3", 3000);
    llmc_tokenizer_free(t);
}

static void test_metaspace_byte_fallback(void **state) {
    (void)state;
    llmc_tokenizer *t = metaspace_fallback();
    round_trips(t, "metaspace", 3000);
    /* the merged piece is used; unknown characters fall back to their bytes */
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    assert_int_equal(llmc_tokenizer_encode(t, "the z", 5, false, &ids, d), 0);
    int64_t the = llmc_tokenizer_piece_to_id(t, "\xE2\x96\x81the", 6);
    int64_t sp = llmc_tokenizer_piece_to_id(t, "\xE2\x96\x81", 3), z = llmc_tokenizer_piece_to_id(t, "<0x7A>", 6);
    assert_int_equal(ids.n, 3);
    assert_int_equal(ids.ids[0], the);
    assert_int_equal(ids.ids[1], sp);
    assert_int_equal(ids.ids[2], z);
    /* the one exception: U+2581 itself comes back as a space, as in SentencePiece */
    ids.n = 0;
    assert_int_equal(llmc_tokenizer_encode(t, "a\xE2\x96\x81" "b", 5, false, &ids, d), 0);
    char *back;
    size_t len;
    assert_int_equal(llmc_tokenizer_decode_bytes(t, ids.ids, ids.n, false, &back, &len, d), 0);
    assert_string_equal(back, "a b");
    free(back);
    /* HF's lossy decode: a lone byte piece becomes U+FFFD */
    uint32_t ff = (uint32_t)llmc_tokenizer_piece_to_id(t, "<0xFF>", 6);
    assert_int_equal(llmc_tokenizer_decode(t, &ff, 1, false, &back, &len, d), 0);
    assert_string_equal(back, "\xEF\xBF\xBD");
    free(back);
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
    llmc_tokenizer_free(t);
}

static void test_char(void **state) {
    (void)state;
    llmc_tokenizer *t = char_fallback();
    round_trips(t, "char", 3000);
    llmc_tokenizer_free(t);
}

static void test_byte(void **state) {
    (void)state;
    llmc_tokenizer *t = bytes_only();
    round_trips(t, "byte", 3000);
    /* one id per byte */
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    assert_int_equal(llmc_tokenizer_encode(t, "\xE6\x9D\xB1 a", 5, false, &ids, d), 0);
    assert_int_equal(ids.n, 5);
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
    llmc_tokenizer_free(t);
}

static void test_not_lossless_replaces_invalid_utf8(void **state) {
    (void)state;
    /* a word-level tokenizer cannot hold invalid bytes: each becomes U+FFFD (documented rule) */
    const char *j = "{\"version\":\"1.0\",\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},\"decoder\":null,"
                    "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"<unk>\":0,\"a\\ufffdb\":1},\"unk_token\":\"<unk>\"}}";
    llmc_diags *d = llmc_diags_create();
    llmc_tokenizer *t = llmc_tokenizer_load_json(j, strlen(j), "wl", d);
    assert_non_null(t);
    assert_false(llmc_tokenizer_lossless(t));
    llmc_tok_ids ids = {0};
    assert_int_equal(llmc_tokenizer_encode(t, "a\xFF" "b", 3, true, &ids, d), 0);
    assert_int_equal(ids.n, 1);
    assert_int_equal(ids.ids[0], 1);
    llmc_tok_ids_free(&ids);
    llmc_tokenizer_free(t);
    llmc_diags_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2),
        cmocka_unit_test(test_llama3),
        cmocka_unit_test(test_metaspace_byte_fallback),
        cmocka_unit_test(test_char),
        cmocka_unit_test(test_byte),
        cmocka_unit_test(test_not_lossless_replaces_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
