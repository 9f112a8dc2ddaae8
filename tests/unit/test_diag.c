/* Diagnostics list and the printed "file:line:col: key: message" form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/diag.h"

static const char *fmt_at(const llmc_diags *d, size_t i, char *buf, size_t n) {
    const llmc_diag *g = llmc_diags_get(d, i);
    assert_non_null(g);
    llmc_diag_format(g, buf, n);
    return buf;
}

static void test_format_location_and_key(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    llmc_loc loc = {"spec.yaml", 12, 3};
    llmc_diag_add(d, LLMC_SEV_ERROR, loc, "attention", "unknown value '%s' (expected one of %s)", "gqa2",
                  "mha, mqa, gqa, sliding_window");
    char buf[256];
    assert_string_equal(fmt_at(d, 0, buf, sizeof buf),
                        "spec.yaml:12:3: attention: unknown value 'gqa2' (expected one of mha, mqa, gqa, sliding_window)");
    llmc_diags_free(d);
}

static void test_format_without_key_or_location(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    llmc_loc at = {"spec.yaml", 4, 1};
    llmc_loc file_only = {"spec.yaml", 0, 0};
    llmc_loc no_col = {"spec.yaml", 7, 0};
    llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "neither target_params nor dims is given");
    llmc_diag_add(d, LLMC_SEV_ERROR, file_only, NULL, "cannot read the spec file: %s", "No such file or directory");
    llmc_error(d, "rope.theta", "must be > 0 (got %d)", -1);
    llmc_error(d, NULL, "plain message");
    llmc_diag_add(d, LLMC_SEV_ERROR, no_col, "k", "m");
    char buf[256];
    assert_string_equal(fmt_at(d, 0, buf, sizeof buf), "spec.yaml:4:1: neither target_params nor dims is given");
    assert_string_equal(fmt_at(d, 1, buf, sizeof buf), "spec.yaml: cannot read the spec file: No such file or directory");
    assert_string_equal(fmt_at(d, 2, buf, sizeof buf), "llmc: rope.theta: must be > 0 (got -1)");
    assert_string_equal(fmt_at(d, 3, buf, sizeof buf), "llmc: plain message");
    assert_string_equal(fmt_at(d, 4, buf, sizeof buf), "spec.yaml:7:1: k: m"); /* unknown column prints as 1 */
    llmc_diags_free(d);
}

static void test_warnings_and_notes(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    llmc_loc loc = {"spec.yaml", 9, 3};
    llmc_diag_add(d, LLMC_SEV_WARNING, loc, "tolerance", "ignored without target_params");
    llmc_warning(d, "norm_eps", "ignored with norm: no_norm");
    llmc_diag_add(d, LLMC_SEV_NOTE, loc, NULL, "first given here");
    char buf[256];
    assert_string_equal(fmt_at(d, 0, buf, sizeof buf), "spec.yaml:9:3: warning: tolerance: ignored without target_params");
    assert_string_equal(fmt_at(d, 1, buf, sizeof buf), "llmc: warning: norm_eps: ignored with norm: no_norm");
    assert_string_equal(fmt_at(d, 2, buf, sizeof buf), "spec.yaml:9:3: note: first given here");
    assert_int_equal(llmc_diags_size(d), 3);
    assert_int_equal(llmc_diags_errors(d), 0);
    assert_int_equal(llmc_diags_warnings(d), 2);
    llmc_diags_free(d);
}

static void test_format_reports_needed_length(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    llmc_loc loc = {"a.yaml", 1, 2};
    llmc_diag_add(d, LLMC_SEV_ERROR, loc, "k", "message");
    const char *want = "a.yaml:1:2: k: message";
    char small[8];
    int need = llmc_diag_format(llmc_diags_get(d, 0), small, sizeof small);
    assert_int_equal(need, (int)strlen(want));
    assert_string_equal(small, "a.yaml:");  /* truncated like snprintf, still terminated */
    llmc_diags_free(d);
}

static void test_copies_file_and_key(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    char file[32], key[32];
    strcpy(file, "spec.yaml");
    strcpy(key, "dims.hidden_size");
    llmc_loc loc = {file, 6, 16};
    llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "must be >= 1 (got 0)");
    memset(file, 'x', sizeof file - 1);
    memset(key, 'y', sizeof key - 1);
    char buf[128];
    assert_string_equal(fmt_at(d, 0, buf, sizeof buf), "spec.yaml:6:16: dims.hidden_size: must be >= 1 (got 0)");
    llmc_diags_free(d);
}

static void test_take_and_clear(void **state) {
    (void)state;
    llmc_diags *dst = llmc_diags_create(), *src = llmc_diags_create();
    llmc_loc loc = {"b.yaml", 2, 5};
    llmc_error(dst, NULL, "first");
    llmc_diag_add(src, LLMC_SEV_ERROR, loc, "name", "second");
    llmc_diag_add(src, LLMC_SEV_WARNING, loc, NULL, "third");
    llmc_diags_take(dst, src);
    assert_int_equal(llmc_diags_size(src), 0);
    assert_int_equal(llmc_diags_size(dst), 3);
    assert_int_equal(llmc_diags_errors(dst), 2);
    assert_int_equal(llmc_diags_warnings(dst), 1);
    char buf[128];
    assert_string_equal(fmt_at(dst, 0, buf, sizeof buf), "llmc: first");
    assert_string_equal(fmt_at(dst, 1, buf, sizeof buf), "b.yaml:2:5: name: second");
    assert_string_equal(fmt_at(dst, 2, buf, sizeof buf), "b.yaml:2:5: warning: third");
    assert_null(llmc_diags_get(dst, 3));
    llmc_diags_clear(dst);
    assert_int_equal(llmc_diags_size(dst), 0);
    assert_null(llmc_diags_get(dst, 0));
    /* usable after clear */
    llmc_error(dst, "x", "again");
    assert_int_equal(llmc_diags_errors(dst), 1);
    llmc_diags_free(dst);
    llmc_diags_free(src);
}

static void test_print_one_line_each(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    llmc_loc loc = {"c.yaml", 3, 1};
    llmc_diag_add(d, LLMC_SEV_ERROR, loc, "atention", "unknown key (did you mean 'attention'?)");
    /* longer than the printer's stack buffer */
    char *big = malloc(3000);
    assert_non_null(big);
    memset(big, 'z', 2999);
    big[2999] = '\0';
    llmc_error(d, NULL, "%s", big);
    FILE *f = tmpfile();
    assert_non_null(f);
    llmc_diags_print(d, f);
    long size = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    const char *first = "c.yaml:3:1: atention: unknown key (did you mean 'attention'?)\n";
    assert_memory_equal(text, first, strlen(first));
    assert_memory_equal(text + strlen(first), "llmc: zzz", 9);
    assert_int_equal((size_t)size, strlen(first) + strlen("llmc: ") + 2999 + 1);
    assert_int_equal(text[size - 1], '\n');
    free(text);
    free(big);
    llmc_diags_free(d);
}

static void test_null_list_is_harmless(void **state) {
    (void)state;
    assert_int_equal(llmc_diags_size(NULL), 0);
    assert_int_equal(llmc_diags_errors(NULL), 0);
    assert_null(llmc_diags_get(NULL, 0));
    llmc_error(NULL, "k", "ignored");
    llmc_diags_clear(NULL);
    llmc_diags_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_location_and_key),
        cmocka_unit_test(test_format_without_key_or_location),
        cmocka_unit_test(test_warnings_and_notes),
        cmocka_unit_test(test_format_reports_needed_length),
        cmocka_unit_test(test_copies_file_and_key),
        cmocka_unit_test(test_take_and_clear),
        cmocka_unit_test(test_print_one_line_each),
        cmocka_unit_test(test_null_list_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
