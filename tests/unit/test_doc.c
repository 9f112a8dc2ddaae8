/* The document tree on big inputs (correctness, not speed: bench/parse times it): every key of
 * a 100k-key mapping found where it was written, duplicates reported at the right line, long
 * lists kept in order; the direct JSON reader gives exactly the tree (texts, flags, lines,
 * columns) of the careful path; the key index; reading files that are not regular files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "keyindex.h"
#include "util.h"

#define BIG 100000

/* ---- helpers ------------------------------------------------------------------------------------ */

typedef struct text {
    char *p;
    size_t n, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert_true(w >= 0 && (size_t)w < sizeof line);
    if (t->n + (size_t)w + 1 > t->cap) {
        t->cap = (t->n + (size_t)w + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->n, line, (size_t)w + 1);
    t->n += (size_t)w;
}

static llmc_doc *parse(const text *t, const char *file, llmc_doc_format fmt, char **diags) {
    llmc_diags *d = llmc_diags_create();
    bool errs = false;
    llmc_doc *doc = llmc_doc_parse(t->p, t->n, file, fmt, d, &errs);
    *diags = test_all_diags(d);
    assert_int_equal(errs, llmc_diags_errors(d) > 0);
    llmc_diags_free(d);
    return doc;
}

/* ---- one big mapping ------------------------------------------------------------------------------ */

static void test_big_mapping_yaml(void **state) {
    (void)state;
    text t = {0};
    for (int i = 0; i < BIG; i++) put(&t, "key_%06d: %d\n", (i * 7919) % BIG, i); /* not in sorted order */
    char *diags;
    llmc_doc *doc = parse(&t, "big.yaml", LLMC_DOC_YAML, &diags);
    assert_non_null(doc);
    assert_string_equal(diags, "");
    const llmc_doc_node *root = doc->root;
    assert_int_equal(root->kind, LLMC_DOC_MAP);
    assert_int_equal(root->n_entries, BIG);
    for (int i = 0; i < BIG; i++) {
        char key[32], want[32];
        snprintf(key, sizeof key, "key_%06d", (i * 7919) % BIG);
        snprintf(want, sizeof want, "%d", i);
        const llmc_doc_entry *e = llmc_doc_map_find(root, key);
        assert_non_null(e);
        assert_ptr_equal(e, &root->entries[i]); /* file order kept */
        assert_int_equal(e->line, i + 1);
        assert_int_equal(e->col, 1);
        assert_string_equal(e->value->text, want);
        assert_int_equal(e->value->col, 13);
    }
    assert_null(llmc_doc_map_find(root, "key_1000000"));
    assert_null(llmc_doc_map_find(root, "key_00001"));   /* a prefix of real keys */
    assert_null(llmc_doc_map_find(root, "key_0000011")); /* a real key plus one */
    assert_non_null(llmc_doc_map_find_n(root, "key_000011 and more", 10));
    llmc_loc loc;
    const llmc_doc_node *n = llmc_doc_lookup(doc, "key_007919", &loc);
    assert_non_null(n);
    assert_string_equal(n->text, "1");
    assert_int_equal(loc.line, 2);
    free(diags);
    llmc_doc_free(doc);
    free(t.p);
}

/* Duplicates among 100k keys: each reported once, at its own line, naming the first. */
static void test_big_mapping_duplicates(void **state) {
    (void)state;
    text t = {0};
    for (int i = 0; i < BIG; i++) put(&t, "key_%06d: %d\n", i, i);
    put(&t, "key_000007: again\n");  /* line BIG + 1 */
    put(&t, "fresh: 1\n");
    put(&t, "key_099999: again\n"); /* line BIG + 3 */
    char *diags;
    llmc_doc *doc = parse(&t, "big.yaml", LLMC_DOC_YAML, &diags);
    assert_non_null(doc); /* duplicates are reported, the rest is still read */
    assert_string_equal(diags, "big.yaml:100001:1: key_000007: duplicate key (first given at line 8, column 1)\n"
                               "big.yaml:100003:1: key_099999: duplicate key (first given at line 100000, column 1)");
    assert_int_equal(doc->root->n_entries, BIG + 1);
    assert_string_equal(llmc_doc_map_find(doc->root, "key_000007")->value->text, "7"); /* the first one kept */
    assert_non_null(llmc_doc_map_find(doc->root, "fresh"));
    free(diags);
    llmc_doc_free(doc);
    free(t.p);
}

static void test_big_mapping_json(void **state) {
    (void)state;
    text t = {0};
    put(&t, "{\n");
    for (int i = 0; i < BIG; i++) put(&t, "%s  \"key_%06d\": {\"n\": %d, \"s\": \"v\\u00e9%d\"}", i ? ",\n" : "", i, i, i);
    put(&t, "\n}\n");
    char *diags;
    llmc_doc *doc = parse(&t, "big.json", LLMC_DOC_JSON, &diags);
    assert_non_null(doc);
    assert_string_equal(diags, "");
    assert_int_equal(doc->root->n_entries, BIG);
    for (int i = 0; i < BIG; i += 997) {
        char key[32], want[32];
        snprintf(key, sizeof key, "key_%06d", i);
        const llmc_doc_entry *e = llmc_doc_map_find(doc->root, key);
        assert_non_null(e);
        assert_int_equal(e->line, i + 2);
        assert_int_equal(e->col, 3);
        const llmc_doc_entry *s = llmc_doc_map_find(e->value, "s");
        snprintf(want, sizeof want, "v\xc3\xa9%d", i);
        assert_string_equal(s->value->text, want);
        assert_true(s->value->quoted);
        assert_int_equal(llmc_doc_map_find(e->value, "n")->value->col, 23);
    }
    free(diags);
    llmc_doc_free(doc);

    /* a duplicate: jansson's message and location, as before the direct reader */
    t.n = 0;
    put(&t, "{\n");
    for (int i = 0; i < BIG; i++) put(&t, "  \"key_%06d\": %d,\n", i, i);
    put(&t, "  \"key_054321\": 0\n}\n");
    doc = parse(&t, "big.json", LLMC_DOC_JSON, &diags);
    assert_null(doc);
    assert_string_equal(diags, "big.json:100002:14: JSON syntax error: duplicate object key near '\"key_054321\"'");
    free(diags);
    free(t.p);
}

/* ---- long lists ------------------------------------------------------------------------------------- */

static void test_long_lists(void **state) {
    (void)state;
    for (int json = 0; json <= 1; json++) {
        text t = {0};
        put(&t, json ? "{\"items\": [\n" : "items:\n");
        for (int i = 0; i < 2 * BIG; i++) put(&t, json ? "%s  [%d]" : "%s  - [%d]\n", json && i ? ",\n" : "", i);
        put(&t, json ? "\n]}\n" : "");
        char *diags;
        llmc_doc *doc = parse(&t, json ? "long.json" : "long.yaml", json ? LLMC_DOC_JSON : LLMC_DOC_YAML, &diags);
        assert_non_null(doc);
        assert_string_equal(diags, "");
        const llmc_doc_node *list = llmc_doc_lookup(doc, "items", NULL);
        assert_non_null(list);
        assert_int_equal(list->n_items, 2 * BIG);
        for (int i = 0; i < 2 * BIG; i++) {
            const llmc_doc_node *it = list->items[i];
            assert_int_equal(it->kind, LLMC_DOC_SEQ);
            assert_int_equal(it->n_items, 1);
            assert_int_equal(atoi(it->items[0]->text), i);
            assert_int_equal(it->line, i + 2);
        }
        char path[32];
        snprintf(path, sizeof path, "items[%d][0]", 2 * BIG - 1);
        assert_non_null(llmc_doc_lookup(doc, path, NULL));
        free(diags);
        llmc_doc_free(doc);
        free(t.p);
    }
}

/* ---- the direct JSON reader against the careful path --------------------------------------------- */

static void same_tree(const llmc_doc_node *a, const llmc_doc_node *b, const char *where) {
    if (a->kind != b->kind || a->line != b->line || a->col != b->col)
        fail_msg("%s: kind %d at %d:%d vs kind %d at %d:%d", where, a->kind, a->line, a->col, b->kind, b->line, b->col);
    if (a->kind == LLMC_DOC_SCALAR) {
        if (a->len != b->len || memcmp(a->text, b->text, a->len) || a->quoted != b->quoted ||
            a->is_null != b->is_null || a->multiline != b->multiline)
            fail_msg("%s: scalar '%s' vs '%s'", where, a->text, b->text);
        return;
    }
    assert_int_equal(a->n_entries, b->n_entries);
    assert_int_equal(a->n_items, b->n_items);
    for (size_t i = 0; i < a->n_entries; i++) {
        const llmc_doc_entry *x = &a->entries[i], *y = &b->entries[i];
        if (strcmp(x->key, y->key) || x->line != y->line || x->col != y->col)
            fail_msg("%s: key '%s' at %d:%d vs '%s' at %d:%d", where, x->key, x->line, x->col, y->key, y->line, y->col);
        same_tree(x->value, y->value, x->key);
    }
    for (size_t i = 0; i < a->n_items; i++) same_tree(a->items[i], b->items[i], where);
}

static void test_json_direct_matches_careful(void **state) {
    (void)state;
    static const char *const texts[] = {
        "{\"name\": \"x\", \"dims\": {\"hidden_size\": 64, \"num_heads\": 4}, \"emit\": [\"gguf\", \"cpu\"]}",
        "{\n  \"a\": 1,\n  \"b\": [true, false, null],\n  \"c\": {}\n,\"d\":[]}\n",
        "{\"\xc3\xa9t\xc3\xa9\": \"\xc3\xa9\", \"after\": 1, \"emoji\": \"\xf0\x9f\xa6\x99\", \"x\": [\"\xe4\xb8\xad\", 2]}",
        "{\"esc\": \"a\\nb\\t\\\"q\\\"\\\\ \\/ \\u00e9\\u4e2d\\u0041\", \"next\": \"\\b\\f\\r\"}",
        "{\r\n  \"crlf\": 1,\r\n  \"also\": [1,\r\n 2]\r\n}\r\n",
        "[-0, 1.5e-3, 1E+2, -12.25, 123456789012345678, 0.0, 1e308]",
        "  [ [ [ [ {\"deep\": [ \"x\" ] } ] ] ] ]  ",
        "{\"a\":{\"b\":{\"c\":{\"d\":\"e\"}}},\"keys with spaces\":\"v\",\"\":\"empty key\"}",
        "[\"\\u00e9\\u00e9 then\", \"\xc3\xa9\xc3\xa9\", 1]",
        "{\"cr\": 1,\r\"only\": 2}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *s = texts[i];
        llmc_diags *d1 = llmc_diags_create(), *d2 = llmc_diags_create();
        bool e1, e2;
        llmc_doc *direct = llmc_doc_parse(s, strlen(s), "t.json", LLMC_DOC_JSON, d1, &e1);
        llmc_doc *careful = llmc_doc_parse_json_careful(s, strlen(s), "t.json", d2, &e2);
        if (!direct || !careful || e1 || e2) fail_msg("text %zu does not parse: %s", i, s);
        if (careful->root->line == 0) fail_msg("text %zu: libyaml did not read it (no locations to compare)", i);
        same_tree(direct->root, careful->root, s);
        llmc_doc_free(direct);
        llmc_doc_free(careful);
        llmc_diags_free(d1);
        llmc_diags_free(d2);
    }
}

/* What the direct reader does not take goes the careful way, with the same messages. */
static void test_json_unusual_read_carefully(void **state) {
    (void)state;
    static const char *const texts[] = {
        "{\"nul\": \"a\\u0000b\"}",
        "{\"big\": 12345678901234567890}",
        "{\"huge\": 1e999}",
        "{\"lone\": \"\\ud800\"}",
        "{\"pair\": \"\\ud83e\\udd99\"}",
        "{\"dup\": 1, \"dup\": 2}",
        "{\"trailing\": 1,}",
        "{\"bad utf8\": \"\xc3\x28\"}",
        "{\"overlong\": \"\xc0\xaf\"}",
        "{\"ctrl\": \"a\x01\"}",
        "{\"nel\": \"a\xc2\x85z\"}",
        "{\"ls\": \"a\xe2\x80\xa8z\"}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "",
        "   ",
        "1",
        "\"top\"",
        "{\"a\": tru}",
        "{\"a\": 01}",
        "{\"a\": -}",
        "{\"a\": 1.}",
        "{\"a\": 1 2}",
        "{\"a\" 1}",
        "{\"a\": 1} x",
        "{\"a\": \"\\x41\"}",
        "{\"a\": \"\\u12\"}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const char *s = texts[i];
        llmc_diags *d1 = llmc_diags_create(), *d2 = llmc_diags_create();
        bool e1, e2;
        llmc_doc *a = llmc_doc_parse(s, strlen(s), "t.json", LLMC_DOC_JSON, d1, &e1);
        llmc_doc *b = llmc_doc_parse_json_careful(s, strlen(s), "t.json", d2, &e2);
        char *m1 = test_all_diags(d1), *m2 = test_all_diags(d2);
        if (!!a != !!b || e1 != e2 || strcmp(m1, m2)) fail_msg("text %zu '%s':\n%s\n--- vs careful:\n%s", i, s, m1, m2);
        if (a) same_tree(a->root, b->root, s);
        free(m1);
        free(m2);
        llmc_doc_free(a);
        llmc_doc_free(b);
        llmc_diags_free(d1);
        llmc_diags_free(d2);
    }
}

/* ---- the key index ------------------------------------------------------------------------------------ */

static void test_key_index(void **state) {
    (void)state;
    enum { N = 5000 };
    char **keys = calloc(N, sizeof *keys);
    assert_non_null(keys);
    llmc_key_index ix = llmc_key_index_init();
    for (size_t i = 0; i < N; i++) {
        char k[32];
        /* prefixes of each other, an empty key, a long one */
        if (i == 0) snprintf(k, sizeof k, "%s", "");
        else if (i < 20) snprintf(k, sizeof k, "%.*s", (int)i, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        else snprintf(k, sizeof k, "k%zu-%s", i, i % 3 ? "x" : "a longer tail of text");
        keys[i] = llmc_strdup(k);
        assert_int_equal(llmc_key_index_find(&ix, i, k, strlen(k), llmc_key_at_strv, keys), LLMC_KEY_INDEX_NONE);
        assert_int_equal(llmc_key_index_add(&ix, i, llmc_key_at_strv, keys), 0);
        if (i == LLMC_KEY_INDEX_SMALL - 1) assert_null(ix.slots); /* small: no table yet */
        if (i == LLMC_KEY_INDEX_SMALL) assert_non_null(ix.slots);
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(llmc_key_index_find(&ix, N, keys[i], strlen(keys[i]), llmc_key_at_strv, keys), i);
    assert_int_equal(llmc_key_index_find(&ix, N, "aaaaaaaaaaaaaaaaaaaa", 20, llmc_key_at_strv, keys),
                     LLMC_KEY_INDEX_NONE);
    assert_int_equal(llmc_key_index_find(&ix, N, "aaaaaaaaaaaaaaaaaaa", 19, llmc_key_at_strv, keys), 19);
    assert_int_equal(llmc_key_index_find(&ix, N, "k25-xyz", 5, llmc_key_at_strv, keys), 25); /* not NUL-ended */
    assert_int_equal(llmc_key_index_find(&ix, N, "k25-", 4, llmc_key_at_strv, keys), LLMC_KEY_INDEX_NONE);
    /* positions past the caller's count are not answers */
    assert_int_equal(llmc_key_index_find(&ix, 25, keys[25], strlen(keys[25]), llmc_key_at_strv, keys),
                     LLMC_KEY_INDEX_NONE);
    llmc_key_index_free(&ix);
    assert_null(ix.slots);
    for (size_t i = 0; i < N; i++) free(keys[i]);
    free(keys);
}

/* ---- files that are not regular files ------------------------------------------------------------------- */

static void test_read_file_refuses_special_files(void **state) {
    (void)state;
    char dir[] = "/tmp/llmc-test-doc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64], file[64];
    snprintf(fifo, sizeof fifo, "%s/fifo.yaml", dir);
    snprintf(file, sizeof file, "%s/spec.yaml", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("a: 1\n", f);
    fclose(f);

    size_t len = 0;
    errno = 0;
    assert_null(llmc_read_file(dir, 1 << 20, &len));
    assert_int_equal(errno, EISDIR);
    assert_string_equal(llmc_read_file_error(dir, errno), "is a directory");
    errno = 0;
    assert_null(llmc_read_file(fifo, 1 << 20, &len)); /* at once: no writer is waited for */
    assert_int_equal(errno, ENOTSUP);
    assert_string_equal(llmc_read_file_error(fifo, errno), "is a FIFO (named pipe), not a regular file");
    errno = 0;
    assert_null(llmc_read_file("/dev/null", 1 << 20, &len));
    assert_string_equal(llmc_read_file_error("/dev/null", errno), "is a device, not a regular file");
    assert_int_equal(llmc_check_regular_file(fifo), -1);
    assert_int_equal(llmc_check_regular_file(dir), -1);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(llmc_check_regular_file(file), 0);
    char *text = llmc_read_file(file, 1 << 20, &len);
    assert_non_null(text);
    assert_int_equal(len, 5);
    assert_string_equal(text, "a: 1\n");
    free(text);
    errno = 0;
    assert_null(llmc_read_file(file, 4, &len));
    assert_int_equal(errno, EFBIG);

    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_spec_load_file(fifo, d));
    char *msg = test_all_diags(d);
    char want[160];
    snprintf(want, sizeof want, "%s: cannot read the spec file: is a FIFO (named pipe), not a regular file", fifo);
    assert_string_equal(msg, want);
    free(msg);
    llmc_diags_free(d);

    unlink(fifo);
    unlink(file);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_mapping_yaml),
        cmocka_unit_test(test_big_mapping_duplicates),
        cmocka_unit_test(test_big_mapping_json),
        cmocka_unit_test(test_long_lists),
        cmocka_unit_test(test_json_direct_matches_careful),
        cmocka_unit_test(test_json_unusual_read_carefully),
        cmocka_unit_test(test_key_index),
        cmocka_unit_test(test_read_file_refuses_special_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
