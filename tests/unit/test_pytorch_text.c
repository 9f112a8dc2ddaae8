/* The pytorch emitter's template renderer (plugins/emitters/pytorch/pt_text.c): conditions,
 * nesting, includes, substitutions, Python literals, and the errors a broken template gives.
 * The renderer is compiled into this test; the embedded template table is replaced by the
 * in-memory templates below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/emitters/pytorch/pt_text.c"
#include "testutil.h"

/* the templates the renderer sees (pt_text.c looks them up in pt_templates[], which the plugin's
 * build generates from its py folder; the test brings its own) */
#define T(name, text) {name, text, sizeof(text) - 1}
const llmc_embedded_file pt_templates[] = {
    T("flags",
     "a\n"
     "#@if x\n"
     "x\n"
     "  #@if y and not z\n"
     "x.y\n"
     "  #@elif z or y\n"
     "x.z\n"
     "  #@else\n"
     "x.none\n"
     "  #@endif\n"
     "#@elif not y\n"
     "!x.!y\n"
     "#@else\n"
     "!x.y\n"
     "#@endif\n"
     "b"),
    T("vars", "name = @@NAME@@; @@A@@@@B@@ end\n#@include inc.in\n"),
    T("inc", "included @@A@@\n"),
    T("unknown_flag", "#@if nope\n#@endif\n"),
    T("unknown_var", "ok\nvalue @@MISSING@@\n"),
    T("unbalanced", "#@if x\n"),
    T("stray_endif", "#@endif\n"),
    T("bad_cond", "#@if x and\n#@endif\n"),
    T("bad_directive", "#@iff x\n"),
    T("self_include", "#@include self_include.in\n"),
};
const size_t pt_templates_count = sizeof pt_templates / sizeof pt_templates[0];

static char *render_with(const char *name, bool x, bool y, bool z, llmc_diags *d) {
    pt_vars v;
    memset(&v, 0, sizeof v);
    pt_flag(&v, "x", x);
    pt_flag(&v, "y", y);
    pt_flag(&v, "z", z);
    pt_var(&v, "NAME", "llama");
    pt_var(&v, "A", "1");
    pt_var(&v, "B", "2");
    llmc_strbuf out = {0};
    int rc = pt_render(name, &v, &out, d);
    pt_vars_free(&v);
    if (rc) {
        llmc_strbuf_free(&out);
        return NULL;
    }
    return out.s ? out.s : calloc(1, 1);
}

static void expect(const char *name, bool x, bool y, bool z, const char *want) {
    llmc_diags *d = llmc_diags_create();
    char *got = render_with(name, x, y, z, d);
    if (!got) {
        char *msg = test_all_diags(d);
        fail_msg("render %s failed: %s", name, msg);
    }
    assert_string_equal(got, want);
    free(got);
    llmc_diags_free(d);
}

static void test_conditions(void **state) {
    (void)state;
    expect("flags.in", true, true, false, "a\nx\nx.y\nb");
    expect("flags.in", true, true, true, "a\nx\nx.z\nb");   /* "y and not z" false, "z or y" true */
    expect("flags.in", true, false, true, "a\nx\nx.z\nb");
    expect("flags.in", true, false, false, "a\nx\nx.none\nb");
    expect("flags.in", false, false, true, "a\n!x.!y\nb");
    expect("flags.in", false, true, true, "a\n!x.y\nb");
}

static void test_substitution_and_include(void **state) {
    (void)state;
    expect("vars.in", false, false, false, "name = llama; 12 end\nincluded 1\n");
}

static void expect_error(const char *name, const char *fragment) {
    llmc_diags *d = llmc_diags_create();
    char *got = render_with(name, true, false, false, d);
    assert_null(got);
    char *msg = test_all_diags(d);
    if (!strstr(msg, fragment)) fail_msg("render %s: expected an error containing '%s', got: %s", name, fragment, msg);
    free(msg);
    llmc_diags_free(d);
}

static void test_template_errors(void **state) {
    (void)state;
    expect_error("unknown_flag.in", "template unknown_flag.in:1: unknown flag 'nope'");
    expect_error("unknown_var.in", "template unknown_var.in:2: no value for @@MISSING@@");
    expect_error("unbalanced.in", "#@if without #@endif");
    expect_error("stray_endif.in", "#@endif without #@if");
    expect_error("bad_cond.in", "incomplete condition");
    expect_error("bad_directive.in", "unknown directive");
    expect_error("self_include.in", "includes nested too deeply");
    expect_error("no_such.in", "no embedded template named 'no_such.in'");
}

static void test_python_literals(void **state) {
    (void)state;
    llmc_strbuf b = {0};
    pt_put_pyfloat(&b, 1e-5);
    llmc_strbuf_puts(&b, " ");
    pt_put_pyfloat(&b, 10000.0);
    llmc_strbuf_puts(&b, " ");
    pt_put_pyfloat(&b, 0.125);
    llmc_strbuf_puts(&b, " ");
    pt_put_pyfloat(&b, 1.0 / 3.0);
    llmc_strbuf_puts(&b, " ");
    pt_put_pyfloat(&b, 1e16);
    llmc_strbuf_puts(&b, " ");
    pt_put_pyfloat(&b, -0.0001);
    llmc_strbuf_puts(&b, " ");
    pt_put_pyfloat(&b, 0.0);
    llmc_strbuf_puts(&b, " ");
    pt_put_pystr(&b, "a\"b\\c\n");
    assert_false(b.oom);
    assert_string_equal(b.s, "1e-05 10000.0 0.125 0.3333333333333333 1e+16 -0.0001 0.0 \"a\\\"b\\\\c\\x0a\"");
    llmc_strbuf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_substitution_and_include),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_python_literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
