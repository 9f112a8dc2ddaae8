/* The SDK's growable string (llmc/strbuf.h) and SHA-256 (llmc/sha256.h): growth past the first
 * allocation, NUL termination, take/free/reuse, and that a size which would overflow or an earlier
 * failure makes every later append a no-op and take return NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llmc/sha256.h"
#include "llmc/strbuf.h"

static void test_append_and_grow(void **state) {
    (void)state;
    llmc_strbuf b = LLMC_STRBUF_INIT;
    llmc_strbuf_puts(&b, "ab");
    llmc_strbuf_append(&b, "cdef", 2);
    assert_string_equal(b.s, "abcd");
    assert_int_equal(b.n, 4);
    for (int i = 0; i < 1000; i++) llmc_strbuf_printf(&b, "%03d,", i); /* several doublings */
    assert_false(b.oom);
    assert_int_equal(b.n, 4 + 4000);
    assert_int_equal(strlen(b.s), b.n);
    assert_memory_equal(b.s + 4, "000,001,", 8);
    assert_string_equal(b.s + b.n - 4, "999,");
    assert_true(b.cap > b.n);
    char *text = llmc_strbuf_take(&b);
    assert_non_null(text);
    assert_int_equal(strlen(text), 4004);
    assert_null(b.s);
    assert_int_equal(b.n, 0);
    free(text);
    llmc_strbuf_printf(&b, "%s=%d", "x", 7); /* reusable after take */
    assert_string_equal(b.s, "x=7");
    llmc_strbuf_free(&b);
    assert_null(b.s);
}

static void test_empty_take(void **state) {
    (void)state;
    llmc_strbuf b = LLMC_STRBUF_INIT;
    char *text = llmc_strbuf_take(&b);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
}

static void test_overflow_sticks(void **state) {
    (void)state;
    llmc_strbuf b = LLMC_STRBUF_INIT;
    llmc_strbuf_puts(&b, "kept");
    llmc_strbuf_append(&b, "", SIZE_MAX); /* n + SIZE_MAX + 1 overflows: refused before any allocation */
    assert_true(b.oom);
    assert_string_equal(b.s, "kept");     /* what it had stays readable */
    llmc_strbuf_puts(&b, "more");
    llmc_strbuf_printf(&b, "%d", 1);
    assert_string_equal(b.s, "kept");
    assert_null(llmc_strbuf_take(&b));     /* and the buffer is freed */
    assert_null(b.s);
    assert_false(b.oom);
}

static void test_sha256_known_answers(void **state) {
    (void)state;
    char hex[65];
    llmc_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    llmc_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_empty_take),
        cmocka_unit_test(test_overflow_sticks),
        cmocka_unit_test(test_sha256_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
