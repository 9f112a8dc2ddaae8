/* Constraint expressions: grammar, precedence, membership, checked arithmetic, error columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/expr.h"

/* names a..z map to their own small values; "big" is INT64_MAX, "small" INT64_MIN */
static int test_lookup(void *user, const char *name, int64_t *out) {
    (void)user;
    if (!strcmp(name, "big")) { *out = INT64_MAX; return 0; }
    if (!strcmp(name, "small")) { *out = INT64_MIN; return 0; }
    if (!strcmp(name, "hidden_size")) { *out = 4096; return 0; }
    if (!strcmp(name, "num_heads")) { *out = 32; return 0; }
    if (!strcmp(name, "zero")) { *out = 0; return 0; }
    if (strlen(name) == 1 && name[0] >= 'a' && name[0] <= 'z') { *out = name[0] - 'a' + 1; return 0; }
    return 1;
}

static int64_t eval_ok(const char *text) {
    char err[160];
    int col = -1;
    llmc_expr *e = llmc_expr_parse(text, &col, err, sizeof err);
    if (!e) fail_msg("parse of '%s' failed at column %d: %s", text, col, err);
    int64_t v = 0;
    int rc = llmc_expr_eval(e, test_lookup, NULL, &v, err, sizeof err);
    if (rc != 0) fail_msg("eval of '%s' failed: %s", text, err);
    llmc_expr_free(e);
    return v;
}

/* evaluation error message for text (which must parse) */
static void eval_fails(const char *text, const char *want) {
    char err[160];
    int col;
    llmc_expr *e = llmc_expr_parse(text, &col, err, sizeof err);
    if (!e) fail_msg("parse of '%s' failed: %s", text, err);
    int64_t v = 12345;
    assert_int_not_equal(llmc_expr_eval(e, test_lookup, NULL, &v, err, sizeof err), 0);
    assert_string_equal(err, want);
    assert_int_equal(v, 12345); /* result untouched on failure */
    llmc_expr_free(e);
}

static void parse_fails(const char *text, int want_col, const char *want) {
    char err[160];
    int col = -1;
    llmc_expr *e = llmc_expr_parse(text, &col, err, sizeof err);
    if (e) fail_msg("'%s' parsed but should not", text);
    if (col != want_col || strcmp(err, want) != 0)
        fail_msg("'%s': got column %d '%s', want column %d '%s'", text, col, err, want_col, want);
}

static void test_arithmetic_and_precedence(void **state) {
    (void)state;
    assert_int_equal(eval_ok("42"), 42);
    assert_int_equal(eval_ok("2 + 3 * 4"), 14);
    assert_int_equal(eval_ok("(2 + 3) * 4"), 20);
    assert_int_equal(eval_ok("10 - 4 - 3"), 3);           /* left associative */
    assert_int_equal(eval_ok("100 / 10 / 5"), 2);
    assert_int_equal(eval_ok("2 * 3 % 4"), 2);            /* (2*3) % 4 */
    assert_int_equal(eval_ok("-2 * 3"), -6);
    assert_int_equal(eval_ok("- -5"), 5);
    assert_int_equal(eval_ok("a + b * c"), 7);            /* 1 + 2*3 */
    assert_int_equal(eval_ok("hidden_size / num_heads"), 128);
}

static void test_floor_division(void **state) {
    (void)state;
    assert_int_equal(eval_ok("7 / 2"), 3);
    assert_int_equal(eval_ok("-7 / 2"), -4);
    assert_int_equal(eval_ok("7 / -2"), -4);
    assert_int_equal(eval_ok("-7 / -2"), 3);
    assert_int_equal(eval_ok("8 / 2"), 4);
    assert_int_equal(eval_ok("-7 % 2"), 1);
    assert_int_equal(eval_ok("7 % -2"), -1);
    assert_int_equal(eval_ok("7 % 2"), 1);
    assert_int_equal(eval_ok("-8 % 2"), 0);
}

static void test_comparisons_and_logic(void **state) {
    (void)state;
    assert_int_equal(eval_ok("2 + 3 == 5"), 1);
    assert_int_equal(eval_ok("2 + 3 != 5"), 0);
    assert_int_equal(eval_ok("1 < 2"), 1);
    assert_int_equal(eval_ok("2 <= 2"), 1);
    assert_int_equal(eval_ok("3 > 4"), 0);
    assert_int_equal(eval_ok("4 >= 5"), 0);
    assert_int_equal(eval_ok("1 < 2 and 2 < 3"), 1);
    assert_int_equal(eval_ok("1 < 2 && 3 < 2"), 0);
    assert_int_equal(eval_ok("1 or 0 and 0"), 1);         /* and binds tighter than or */
    assert_int_equal(eval_ok("(1 or 0) and 0"), 0);
    assert_int_equal(eval_ok("0 || 0"), 0);
    assert_int_equal(eval_ok("not 0"), 1);
    assert_int_equal(eval_ok("!5"), 0);
    assert_int_equal(eval_ok("not 1 == 2"), 1);           /* not applies to the comparison */
    assert_int_equal(eval_ok("not not 7"), 1);
    assert_int_equal(eval_ok("hidden_size % 128 == 0"), 1);
    assert_int_equal(eval_ok("hidden_size % 3 == 0"), 0);
}

static void test_short_circuit(void **state) {
    (void)state;
    /* the right side would divide by zero; it must not be evaluated */
    assert_int_equal(eval_ok("zero != 0 and a / zero == 1"), 0);
    assert_int_equal(eval_ok("zero == 0 or a % zero == 1"), 1);
}

static void test_membership(void **state) {
    (void)state;
    assert_int_equal(eval_ok("5 in [1, 10]"), 1);
    assert_int_equal(eval_ok("1 in [1, 10]"), 1);          /* inclusive */
    assert_int_equal(eval_ok("10 in [1, 10]"), 1);
    assert_int_equal(eval_ok("11 in [1, 10]"), 0);
    assert_int_equal(eval_ok("0 in [1, 10]"), 0);
    assert_int_equal(eval_ok("num_heads in {8, 16, 32}"), 1);
    assert_int_equal(eval_ok("num_heads in {8, 16}"), 0);
    assert_int_equal(eval_ok("c in {3}"), 1);
    assert_int_equal(eval_ok("a + b in [c, c * 2]"), 1);  /* bounds and subject are sums */
    assert_int_equal(eval_ok("5 in [1, 10] and 7 in {7}"), 1);
    assert_int_equal(eval_ok("not 5 in [1, 4]"), 1);
}

/* Past the parser's fixed scratch buffers (32 nodes, 32 list slots, 8 names), and a set whose
 * members hold sets of their own: the member lists must stay contiguous. */
static void test_large_and_nested_expressions(void **state) {
    (void)state;
    char text[2048];
    size_t n = (size_t)snprintf(text, sizeof text, "c in {");
    for (int i = 100; i < 160; i++) n += (size_t)snprintf(text + n, sizeof text - n, "%d, ", i);
    snprintf(text + n, sizeof text - n, "3}");
    assert_int_equal(eval_ok(text), 1);
    text[strlen(text) - 2] = '4';
    assert_int_equal(eval_ok(text), 0);
    /* twenty distinct names a..t, summed: 1 + 2 + ... + 20 */
    n = 0;
    for (char c = 'a'; c <= 't'; c++) n += (size_t)snprintf(text + n, sizeof text - n, "%s%c", c == 'a' ? "" : " + ", c);
    assert_int_equal(eval_ok(text), 210);
    char err[128];
    int col;
    llmc_expr *e = llmc_expr_parse(text, &col, err, sizeof err);
    assert_non_null(e);
    const char *names[32];
    assert_int_equal(llmc_expr_names(e, names, 32), 20);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[19], "t");
    llmc_expr_free(e);
    /* members that are themselves memberships (in parentheses) */
    assert_int_equal(eval_ok("1 in {(a in {7, 8}), (b in {2, 9}), 5}"), 1);
    assert_int_equal(eval_ok("0 in {(a in {1, 8}), (b in [1, 3])}"), 0);
    assert_int_equal(eval_ok("(c in {1, 2}) + (c in [3, 3]) + (d in {9, 4, c + 1}) in [2, 2]"), 1);
}

static void test_count_literals(void **state) {
    (void)state;
    assert_int_equal(eval_ok("7B"), INT64_C(7000000000));
    assert_int_equal(eval_ok("125M"), 125000000);
    assert_int_equal(eval_ok("1e9"), 1000000000);
    assert_int_equal(eval_ok("1.5T"), INT64_C(1500000000000));
    assert_int_equal(eval_ok("350k"), 350000);
    assert_int_equal(eval_ok("2e+3"), 2000);
    assert_int_equal(eval_ok("1_000 - 1"), 999);
    assert_int_equal(eval_ok("9223372036854775807"), INT64_MAX);
}

static void test_names(void **state) {
    (void)state;
    char err[128];
    int col;
    llmc_expr *e = llmc_expr_parse("hidden_size % num_heads == 0 and hidden_size >= num_layers", &col, err, sizeof err);
    assert_non_null(e);
    const char *names[8];
    assert_int_equal(llmc_expr_names(e, names, 8), 3);
    assert_string_equal(names[0], "hidden_size");
    assert_string_equal(names[1], "num_heads");
    assert_string_equal(names[2], "num_layers");
    /* max smaller than the count: returns the count, writes only max */
    names[1] = NULL;
    assert_int_equal(llmc_expr_names(e, names, 1), 3);
    assert_null(names[1]);
    int64_t v;
    assert_int_not_equal(llmc_expr_eval(e, test_lookup, NULL, &v, err, sizeof err), 0);
    assert_string_equal(err, "unknown name 'num_layers'");
    assert_int_not_equal(llmc_expr_eval(e, NULL, NULL, &v, err, sizeof err), 0);
    assert_string_equal(err, "unknown name 'hidden_size'");
    llmc_expr_free(e);
    e = llmc_expr_parse("1 + 2", &col, err, sizeof err);
    assert_int_equal(llmc_expr_names(e, names, 8), 0);
    llmc_expr_free(e);
}

static void test_division_by_zero(void **state) {
    (void)state;
    eval_fails("a / zero", "division by zero in 1 / 0");
    eval_fails("hidden_size % zero", "division by zero in 4096 % 0");
    eval_fails("1 / (a - a)", "division by zero in 1 / 0");
}

static void test_overflow(void **state) {
    (void)state;
    eval_fails("big + 1", "integer overflow in 9223372036854775807 + 1");
    eval_fails("small - 1", "integer overflow in -9223372036854775808 - 1");
    eval_fails("big * 2", "integer overflow in 9223372036854775807 * 2");
    eval_fails("-small", "integer overflow in negation");
    eval_fails("small / -1", "integer overflow in -9223372036854775808 / -1");
    assert_int_equal(eval_ok("small % -1"), 0);
    assert_int_equal(eval_ok("big - 1 + 1"), INT64_MAX);
    assert_int_equal(eval_ok("9B * 1B"), INT64_C(9000000000000000000));
    eval_fails("10B * 1B", "integer overflow in 10000000000 * 1000000000");
}

static void test_parse_error_columns(void **state) {
    (void)state;
    parse_fails("hidden_size % 128 = 0", 19, "unexpected '=' (use '==' to compare)");
    parse_fails("(a + b", 7, "expected ')' to close the '(' at column 1 (got end of expression)");
    parse_fails("(a + b c", 8, "expected ')' to close the '(' at column 1 (got 'c')");
    parse_fails("", 1, "empty expression");
    parse_fails("   ", 1, "empty expression");
    parse_fails("a <", 4, "expected a number, a name or '(' (got end of expression)");
    parse_fails("a * * b", 5, "expected a number, a name or '(' (got '*')");
    parse_fails("a < b < c", 7, "comparisons cannot be chained (write 'a < b and b < c')");
    parse_fails("a in (1, 2)", 6, "expected '[' or '{' after 'in' (got '(')");
    parse_fails("a in [1]", 8, "a range 'in [lo, hi]' needs two bounds (got one)");
    parse_fails("a in [1, 2, 3]", 11, "a range 'in [lo, hi]' has exactly two bounds (got a third)");
    parse_fails("a in {1, 2", 11, "expected ',' or '}' (got end of expression)");
    parse_fails("3x + 1", 1, "invalid number '3x'");
    parse_fails("a + 1.5", 5, "invalid number '1.5'");
    parse_fails("99999999999999999999", 1, "number '99999999999999999999' is too large (the limit is 2^63-1)");
    parse_fails("a @ b", 3, "unexpected character '@'");
    parse_fails("a & b", 3, "unexpected '&' (use '&&' or 'and')");
    parse_fails("a | b", 3, "unexpected '|' (use '||' or 'or')");
    parse_fails("a )", 3, "unmatched ')'");
    parse_fails("a b", 3, "unexpected 'b' (expected an operator or the end of the expression)");
    parse_fails("a and", 6, "expected a number, a name or '(' (got end of expression)");
}

static void test_nesting_and_size_limits(void **state) {
    (void)state;
    char text[1200];
    /* 60 levels of parentheses are fine */
    size_t n = 0;
    for (int i = 0; i < 60; i++) text[n++] = '(';
    text[n++] = '1';
    for (int i = 0; i < 60; i++) text[n++] = ')';
    text[n] = '\0';
    assert_int_equal(eval_ok(text), 1);
    /* 500 are refused with a message, not a crash */
    n = 0;
    for (int i = 0; i < 500; i++) text[n++] = '(';
    text[n++] = '1';
    for (int i = 0; i < 500; i++) text[n++] = ')';
    text[n] = '\0';
    char err[160];
    int col;
    assert_null(llmc_expr_parse(text, &col, err, sizeof err));
    assert_string_equal(err, "expression is nested too deeply (more than 100 levels)");
    assert_int_equal(col, 101); /* the parenthesis that goes over the limit */
    /* very long flat expressions are bounded too */
    size_t len = 5000 * 4 + 2;
    char *big = malloc(len);
    assert_non_null(big);
    n = 0;
    big[n++] = '1';
    for (int i = 0; i < 5000; i++) { memcpy(big + n, " + 1", 4); n += 4; }
    big[n] = '\0';
    assert_null(llmc_expr_parse(big, &col, err, sizeof err));
    assert_string_equal(err, "expression is too long (more than 4096 terms)");
    free(big);
}

static void test_env_lookup(void **state) {
    (void)state;
    llmc_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.vocab_size = 32000;
    spec.context_length = 4096;
    llmc_dims_put(&spec.dims, LLMC_DIM_NUM_LAYERS, 12);
    llmc_dims solved;
    memset(&solved, 0, sizeof solved);
    llmc_dims_put(&solved, LLMC_DIM_HIDDEN_SIZE, 768);

    int64_t v = 0;
    llmc_expr_env env = {&spec, &solved};
    assert_int_equal(llmc_expr_env_lookup(&env, "hidden_size", &v), 0);
    assert_int_equal(v, 768);
    assert_int_not_equal(llmc_expr_env_lookup(&env, "num_layers", &v), 0); /* not set in these dims */
    assert_int_equal(llmc_expr_env_lookup(&env, "vocab_size", &v), 0);
    assert_int_equal(v, 32000);
    assert_int_equal(llmc_expr_env_lookup(&env, "context_length", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_not_equal(llmc_expr_env_lookup(&env, "sliding_window", &v), 0);
    assert_int_not_equal(llmc_expr_env_lookup(&env, "target_params", &v), 0);
    assert_int_not_equal(llmc_expr_env_lookup(&env, "hidden", &v), 0);
    spec.sliding_window = 1024;
    spec.has_target_params = true;
    spec.target_params = 125000000;
    assert_int_equal(llmc_expr_env_lookup(&env, "sliding_window", &v), 0);
    assert_int_equal(v, 1024);
    assert_int_equal(llmc_expr_env_lookup(&env, "target_params", &v), 0);
    assert_int_equal(v, 125000000);

    /* without dims: the spec's pinned dims */
    llmc_expr_env pinned = {&spec, NULL};
    assert_int_equal(llmc_expr_env_lookup(&pinned, "num_layers", &v), 0);
    assert_int_equal(v, 12);

    char err[128];
    int col;
    llmc_expr *e = llmc_expr_parse("hidden_size * num_layers <= target_params and vocab_size in [1000, 64K]", &col, err,
                                   sizeof err);
    assert_non_null(e);
    llmc_dims both = solved;
    llmc_dims_put(&both, LLMC_DIM_NUM_LAYERS, 12);
    llmc_expr_env full = {&spec, &both};
    assert_int_equal(llmc_expr_eval(e, llmc_expr_env_lookup, &full, &v, err, sizeof err), 0);
    assert_int_equal(v, 1);
    llmc_expr_free(e);

    assert_true(llmc_expr_name_known("num_kv_heads"));
    assert_true(llmc_expr_name_known("num_decoder_layers"));
    assert_true(llmc_expr_name_known("target_params"));
    assert_true(llmc_expr_name_known("sliding_window"));
    assert_false(llmc_expr_name_known("hiden_size"));
    assert_false(llmc_expr_name_known("name"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arithmetic_and_precedence),
        cmocka_unit_test(test_floor_division),
        cmocka_unit_test(test_comparisons_and_logic),
        cmocka_unit_test(test_short_circuit),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_large_and_nested_expressions),
        cmocka_unit_test(test_count_literals),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_division_by_zero),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_parse_error_columns),
        cmocka_unit_test(test_nesting_and_size_limits),
        cmocka_unit_test(test_env_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
