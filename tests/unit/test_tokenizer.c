/* The tokenizer.json reader's refusals (every bad file is an error naming the key path, never a
 * crash), and encode/decode on small hand-built tokenizers whose ids are worked out by hand. */
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

/* a byte-level-free BPE over the letters a..e, with merges a+b, ab+c, d+e */
#define TINY_VOCAB "\"vocab\":{\"<unk>\":0,\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"ab\":6,\"abc\":7,\"de\":8,\" \":9}"
#define TINY_MERGES "\"merges\":[[\"a\",\"b\"],[\"ab\",\"c\"],[\"d\",\"e\"]]"

static char *doc(const char *normalizer, const char *pretok, const char *model, const char *decoder,
                 const char *post, const char *added) {
    char *s = malloc(1 << 16);
    assert_non_null(s);
    snprintf(s, 1 << 16,
             "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":%s,\"normalizer\":%s,"
             "\"pre_tokenizer\":%s,\"post_processor\":%s,\"decoder\":%s,\"model\":%s}",
             added ? added : "[]", normalizer ? normalizer : "null", pretok ? pretok : "null", post ? post : "null",
             decoder ? decoder : "null", model);
    return s;
}

static const char *tiny_bpe =
    "{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\",\"continuing_subword_prefix\":null,"
    "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false," TINY_VOCAB "," TINY_MERGES "}";

/* load text; returns the tokenizer or NULL with the diagnostics in *msg */
static llmc_tokenizer *load(const char *text, char **msg) {
    llmc_diags *d = llmc_diags_create();
    llmc_tokenizer *t = llmc_tokenizer_load_json(text, strlen(text), "tokenizer.json", d);
    *msg = test_all_diags(d);
    llmc_diags_free(d);
    return t;
}

static void expect_refusal(const char *text, const char *want) {
    char *msg;
    llmc_tokenizer *t = load(text, &msg);
    if (t) fail_msg("accepted, expected an error containing \"%s\":\n%s", want, text);
    if (!strstr(msg, want)) fail_msg("expected \"%s\" in:\n%s", want, msg);
    free(msg);
}

static void expect_model_refusal(const char *model, const char *want) {
    char *s = doc(NULL, NULL, model, NULL, NULL, NULL);
    expect_refusal(s, want);
    free(s);
}

static llmc_tokenizer *must_load(const char *text) {
    char *msg;
    llmc_tokenizer *t = load(text, &msg);
    if (!t) fail_msg("does not load:\n%s\n%s", msg, text);
    free(msg);
    return t;
}

static void expect_ids(llmc_tokenizer *t, const char *text, const uint32_t *want, size_t n) {
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    if (llmc_tokenizer_encode(t, text, strlen(text), true, &ids, d)) {
        char *m = test_all_diags(d);
        fail_msg("encode failed: %s", m);
    }
    char got[1024] = "", exp[1024] = "";
    for (size_t i = 0; i < ids.n; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%u,", ids.ids[i]);
    for (size_t i = 0; i < n; i++) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%u,", want[i]);
    if (strcmp(got, exp)) fail_msg("encode(\"%s\"): got [%s], expected [%s]", text, got, exp);
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
}

static char *decode(llmc_tokenizer *t, const uint32_t *ids, size_t n, bool skip) {
    llmc_diags *d = llmc_diags_create();
    char *text = NULL;
    size_t len;
    if (llmc_tokenizer_decode(t, ids, n, skip, &text, &len, d)) {
        char *m = test_all_diags(d);
        fail_msg("decode failed: %s", m);
    }
    llmc_diags_free(d);
    return text;
}

/* ---- refusals ------------------------------------------------------------------------------------------ */

static void test_not_json(void **state) {
    (void)state;
    expect_refusal("{\"version\": \"1.0\", \"model\": {", "tokenizer.json:1:");
    expect_refusal("[1, 2]", "expected a JSON object");
    expect_refusal("", "not valid JSON");
}

static void test_version_and_model_missing(void **state) {
    (void)state;
    expect_refusal("{\"version\":\"2.0\",\"model\":{}}", "version: unknown tokenizer version");
    expect_refusal("{\"version\":\"1.0\"}", "model: missing");
}

static void test_unsupported_components(void **state) {
    (void)state;
    char *s = doc("{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"\"}", NULL, tiny_bpe, NULL, NULL, NULL);
    expect_refusal(s, "tokenizer.json: normalizer.type: unsupported 'Precompiled' (supported: Sequence, NFC");
    free(s);
    s = doc("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Nmt\"}]}", NULL, tiny_bpe, NULL,
            NULL, NULL);
    expect_refusal(s, "normalizer.normalizers[1].type: unsupported 'Nmt'");
    free(s);
    s = doc(NULL, "{\"type\":\"UnicodeScripts\"}", tiny_bpe, NULL, NULL, NULL);
    expect_refusal(s, "pre_tokenizer.type: unsupported 'UnicodeScripts'");
    free(s);
    s = doc(NULL, NULL, tiny_bpe, "{\"type\":\"Mystery\"}", NULL, NULL);
    expect_refusal(s, "decoder.type: unsupported 'Mystery'");
    free(s);
    s = doc(NULL, NULL, tiny_bpe, NULL, "{\"type\":\"Fancy\"}", NULL);
    expect_refusal(s, "post_processor.type: unsupported 'Fancy'");
    free(s);
    expect_model_refusal("{\"type\":\"Magic\",\"vocab\":{}}", "model.type: unsupported 'Magic' (supported: BPE");
    s = doc(NULL, "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?<name>a)\"},\"behavior\":\"Isolated\",\"invert\":false}",
            tiny_bpe, NULL, NULL, NULL);
    expect_refusal(s, "pre_tokenizer.pattern.Regex: unsupported group '(?<' at offset 0");
    free(s);
    s = doc(NULL, "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a(b\"},\"behavior\":\"Isolated\",\"invert\":false}",
            tiny_bpe, NULL, NULL, NULL);
    expect_refusal(s, "missing ')'");
    free(s);
    s = doc(NULL, "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{Greek}\"},\"behavior\":\"Isolated\",\"invert\":false}",
            tiny_bpe, NULL, NULL, NULL);
    expect_refusal(s, "unsupported property '\\p{Greek}'");
    free(s);
    s = doc(NULL, "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\",\"invert\":false}", tiny_bpe,
            NULL, NULL, NULL);
    expect_refusal(s, "pre_tokenizer.behavior: unknown behavior 'Sideways'");
    free(s);
}

static void test_bad_vocab_and_merges(void **state) {
    (void)state;
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}", "expected a non-negative integer id");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}", "expected a non-negative integer id");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}", "id 0 given to two pieces");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":99999999},\"merges\":[]}", "far beyond");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"a\":1},\"merges\":[]}", "duplicate object key");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",\"z\"]]}",
                         "model.merges[0]: merge refers to \"z\", which is not in model.vocab");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",\"b\"]]}",
                         "model.merges[0]: the merged piece \"ab\" is not in model.vocab");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b c\"]}",
                         "exactly one space");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[42]}", "model.merges[0]: expected");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"dropout\":0.1}",
                         "model.dropout: unsupported dropout 0.1");
    expect_model_refusal("{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}", "model.vocab: expected an object");
    expect_model_refusal("{\"type\":\"WordPiece\",\"vocab\":{\"a\":0},\"max_input_chars_per_word\":-3}",
                         "model.max_input_chars_per_word: expected an integer");
    expect_model_refusal("{\"type\":\"Unigram\",\"vocab\":{\"a\":0}}", "model.vocab: expected an array");
    expect_model_refusal("{\"type\":\"Unigram\",\"vocab\":[[\"a\",\"x\"]]}", "model.vocab[0]: expected [\"piece\", finite score]");
    expect_model_refusal("{\"type\":\"Unigram\",\"vocab\":[[\"a\",-1.0]],\"unk_id\":5}", "model.unk_id");
}

static void test_bad_added_and_post(void **state) {
    (void)state;
    char *s = doc(NULL, NULL, tiny_bpe, NULL, NULL, "{\"x\":1}");
    expect_refusal(s, "added_tokens: expected an array");
    free(s);
    s = doc(NULL, NULL, tiny_bpe, NULL, NULL, "[{\"id\":10,\"special\":true}]");
    expect_refusal(s, "added_tokens[0].content: missing");
    free(s);
    s = doc(NULL, NULL, tiny_bpe, NULL,
            "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
            "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}",
            NULL);
    expect_refusal(s, "post_processor.special_tokens: no entry for '<s>'");
    free(s);
    s = doc(NULL, NULL, tiny_bpe, NULL, "{\"type\":\"BertProcessing\",\"sep\":[\"x\",4000],\"cls\":[\"y\",1]}", NULL);
    expect_refusal(s, "special token id 4000 is not in the vocabulary");
    free(s);
    s = doc(NULL, NULL, tiny_bpe, NULL, "{\"type\":\"BertProcessing\",\"sep\":\"x\",\"cls\":[\"y\",1]}", NULL);
    expect_refusal(s, "post_processor.sep: expected [\"token\", id]");
    free(s);
}

static void test_deep_nesting(void **state) {
    (void)state;
    /* 40 nested Sequences */
    char *inner = malloc(1 << 16);
    assert_non_null(inner);
    strcpy(inner, "{\"type\":\"NFC\"}");
    for (int i = 0; i < 40; i++) {
        char *t = malloc(1 << 16);
        assert_non_null(t);
        snprintf(t, 1 << 16, "{\"type\":\"Sequence\",\"normalizers\":[%s]}", inner);
        free(inner);
        inner = t;
    }
    char *s = doc(inner, NULL, tiny_bpe, NULL, NULL, NULL);
    expect_refusal(s, "Sequence nested deeper than 32");
    free(s);
    free(inner);
}

static void test_missing_files(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_tokenizer_load("/nonexistent/dir/tokenizer.json", d));
    char *m = test_all_diags(d);
    assert_non_null(strstr(m, "/nonexistent/dir/tokenizer.json: cannot read"));
    free(m);
    llmc_diags_free(d);
}

/* ---- encoding ------------------------------------------------------------------------------------------- */

static void test_bpe_merges_by_rank(void **state) {
    (void)state;
    char *s = doc(NULL, NULL, tiny_bpe, NULL, NULL, NULL);
    llmc_tokenizer *t = must_load(s);
    free(s);
    expect_ids(t, "abc", (uint32_t[]){7}, 1);
    expect_ids(t, "abcde", (uint32_t[]){7, 8}, 2);
    expect_ids(t, "bca", (uint32_t[]){2, 3, 1}, 3);
    /* no pre-tokenizer: the space is a piece like any other; x is unknown */
    expect_ids(t, "ab x", (uint32_t[]){6, 9, 0}, 3);
    assert_int_equal(llmc_tokenizer_vocab_size(t), 10);
    size_t len;
    const char *p = llmc_tokenizer_id_to_piece(t, 7, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "abc", 3);
    assert_int_equal(llmc_tokenizer_piece_to_id(t, "de", 2), 8);
    assert_int_equal(llmc_tokenizer_piece_to_id(t, "zz", 2), -1);
    assert_int_equal(llmc_tokenizer_special_id(t, LLMC_TOK_UNK), 0);
    llmc_tokenizer_free(t);
}

static void test_added_tokens_and_template(void **state) {
    (void)state;
    /* <s> and </s> are added after the model (ids 10, 11: HF's next free ids, whatever the file
     * says); the template wraps a single sequence */
    char *s = doc(NULL, "{\"type\":\"WhitespaceSplit\"}", tiny_bpe, NULL,
                  "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                  "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],"
                  "\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[10],\"tokens\":[\"<s>\"]},"
                  "\"</s>\":{\"id\":\"</s>\",\"ids\":[11],\"tokens\":[\"</s>\"]}}}",
                  "[{\"id\":77,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                  "\"normalized\":false,\"special\":true},{\"id\":11,\"content\":\"</s>\",\"single_word\":false,"
                  "\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}]");
    llmc_tokenizer *t = must_load(s);
    free(s);
    expect_ids(t, "ab<s>de c", (uint32_t[]){10, 6, 10, 8, 3, 11}, 6);
    assert_int_equal(llmc_tokenizer_vocab_size(t), 12);
    assert_int_equal(llmc_tokenizer_special_id(t, LLMC_TOK_BOS), 10);
    assert_int_equal(llmc_tokenizer_special_id(t, LLMC_TOK_EOS), 11);
    /* no decoder: tokens joined by spaces; special tokens skipped on request */
    char *text = decode(t, (uint32_t[]){10, 6, 8, 11}, 4, false);
    assert_string_equal(text, "<s> ab de </s>");
    free(text);
    text = decode(t, (uint32_t[]){10, 6, 8, 11}, 4, true);
    assert_string_equal(text, "ab de");
    free(text);
    llmc_diags *d = llmc_diags_create();
    char *out;
    size_t len;
    assert_int_not_equal(llmc_tokenizer_decode(t, (uint32_t[]){3, 500}, 2, false, &out, &len, d), 0);
    char *m = test_all_diags(d);
    assert_non_null(strstr(m, "id 500 is not in the vocabulary (12 ids)"));
    free(m);
    llmc_diags_free(d);
    llmc_tokenizer_free(t);
}

static void test_gpt2_regex_splits(void **state) {
    (void)state;
    /* byte-level BPE without merges: one id per byte; words are visible through the end-of-word
     * suffix (the last byte of each word uses the "</w>" piece, ids 256+) */
    char *vocab = malloc(1 << 16);
    assert_non_null(vocab);
    strcpy(vocab, "{");
    static const char *remap = "ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠ";
    for (int b = 0; b < 256; b++) {
        char piece[16];
        if ((b >= 0x21 && b <= 0x7E && b != '"' && b != '\\') ) snprintf(piece, sizeof piece, "%c", b);
        else if (b == '"') snprintf(piece, sizeof piece, "\\\"");
        else if (b == '\\') snprintf(piece, sizeof piece, "\\\\");
        else if (b <= 0x20) snprintf(piece, sizeof piece, "%.2s", remap + 2 * b);
        else snprintf(piece, sizeof piece, "\\u%04x", b < 0x7F ? b : b == 0x7F ? 0x121 : b <= 0xA0 ? 0x122 + (b - 0x80) : b == 0xAD ? 0x143 : b);
        snprintf(vocab + strlen(vocab), (1 << 16) - strlen(vocab), "%s\"%s\":%d,\"%s</w>\":%d", b ? "," : "", piece, b,
                 piece, 256 + b);
    }
    strcat(vocab, "}");
    char *model = malloc(1 << 17);
    assert_non_null(model);
    snprintf(model, 1 << 17,
             "{\"type\":\"BPE\",\"end_of_word_suffix\":\"</w>\",\"vocab\":%s,\"merges\":[]}", vocab);
    char *s = doc(NULL, "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}", model,
                  "{\"type\":\"ByteLevel\"}", NULL, NULL);
    llmc_tokenizer *t = must_load(s);
    /* "it's  ok\n" -> "it" "'s" " " " ok" "\n" */
    expect_ids(t, "it's  ok\n", (uint32_t[]){'i', 256 + 't', '\'', 256 + 's', 256 + ' ', ' ', 'o', 256 + 'k', 256 + '\n'},
               9);
    /* decoding undoes the byte mapping; the suffix is text like any other to the ByteLevel decoder */
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    const char *text = "Grüße, 東京!  \t x";
    assert_int_equal(llmc_tokenizer_encode(t, text, strlen(text), true, &ids, d), 0);
    char *back = decode(t, ids.ids, ids.n, false);
    assert_string_equal(back, "Grüße</w>,</w> 東京</w>!</w>  \t</w> x</w>");
    free(back);
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
    assert_true(llmc_tokenizer_lossless(t));
    llmc_tokenizer_free(t);
    free(s);
    free(model);
    free(vocab);
}

static void test_wordpiece_and_unk(void **state) {
    (void)state;
    char *s = doc("{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,"
                  "\"lowercase\":true}",
                  "{\"type\":\"BertPreTokenizer\"}",
                  "{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
                  "\"max_input_chars_per_word\":100,\"vocab\":{\"[UNK]\":0,\"un\":1,\"##aff\":2,\"##able\":3,\",\":4,"
                  "\"cafe\":5,\"東\":6}}",
                  "{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true}", NULL, NULL);
    llmc_tokenizer *t = must_load(s);
    free(s);
    /* lowercase + accents stripped; CJK isolated; punctuation split; unknown word -> [UNK] */
    expect_ids(t, "UnAffable, Café東xyz", (uint32_t[]){1, 2, 3, 4, 5, 6, 0}, 7);
    char *text = decode(t, (uint32_t[]){1, 2, 3, 4, 5}, 5, false);
    assert_string_equal(text, "unaffable, cafe");
    free(text);
    llmc_tokenizer_free(t);
}

static void test_unk_token_missing_is_an_encode_error(void **state) {
    (void)state;
    char *s = doc(NULL, NULL, "{\"type\":\"WordLevel\",\"vocab\":{\"a\":0},\"unk_token\":\"[UNK]\"}", NULL, NULL, NULL);
    llmc_tokenizer *t = must_load(s);
    free(s);
    expect_ids(t, "a", (uint32_t[]){0}, 1);
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    assert_int_not_equal(llmc_tokenizer_encode(t, "b", 1, true, &ids, d), 0);
    char *m = test_all_diags(d);
    assert_non_null(strstr(m, "model.unk_token: the text has a piece the vocabulary lacks"));
    free(m);
    llmc_diags_free(d);
    llmc_tok_ids_free(&ids);
    llmc_tokenizer_free(t);
}

static void test_save_and_reload(void **state) {
    (void)state;
    char *s = doc(NULL, NULL, tiny_bpe, NULL, NULL,
                  "[{\"id\":10,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                  "\"normalized\":false,\"special\":true}]");
    llmc_tokenizer *t = must_load(s);
    free(s);
    char dir[] = "/tmp/llmc_test_tok_XXXXXX";
    assert_non_null(mkdtemp(dir));
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_tokenizer_save(t, dir, d), 0);
    llmc_tokenizer *u = llmc_tokenizer_load(dir, d);
    assert_non_null(u);
    expect_ids(u, "abc<s>de", (uint32_t[]){7, 10, 8}, 3);
    char h1[65], h2[65];
    assert_int_equal(llmc_tokenizer_hash(t, h1), 0);
    assert_int_equal(llmc_tokenizer_hash(u, h2), 0);
    assert_string_equal(h1, h2);
    assert_int_equal(llmc_tokenizer_special_id(u, LLMC_TOK_BOS), 10);
    llmc_tokenizer_free(u);
    llmc_tokenizer_free(t);
    llmc_diags_free(d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_version_and_model_missing),
        cmocka_unit_test(test_unsupported_components),
        cmocka_unit_test(test_bad_vocab_and_merges),
        cmocka_unit_test(test_bad_added_and_post),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_bpe_merges_by_rank),
        cmocka_unit_test(test_added_tokens_and_template),
        cmocka_unit_test(test_gpt2_regex_splits),
        cmocka_unit_test(test_wordpiece_and_unk),
        cmocka_unit_test(test_unk_token_missing_is_an_encode_error),
        cmocka_unit_test(test_save_and_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
