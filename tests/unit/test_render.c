/* The SDK's line templates (core/render.c, llmc/render.h) as the C runtime uses them: another
 * directive prefix, lines copied without substitution, conditions with and/or/not over declared
 * flags, and the errors a broken template gives. (The "#@" prefix with @@VAR@@ substitution and
 * includes is covered through the pytorch emitter in test_pytorch_text.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llmc/render.h"
#include "testutil.h"

static const llmc_render_flag flags[] = {{"ENCDEC", false}, {"PARALLEL", true}, {"MLP_NORM", true}};

static char *render_c(const char *text, llmc_diags *d) {
    llmc_render_params p = llmc_render_default_params();
    p.directive = "//@";
    p.flags = flags;
    p.n_flags = sizeof flags / sizeof flags[0];
    p.substitute = false;
    p.who = "cpu";
    llmc_strbuf out = {0};
    if (llmc_render("t.c", text, strlen(text), &p, &out, d)) {
        llmc_strbuf_free(&out);
        return NULL;
    }
    return out.s ? out.s : calloc(1, 1);
}

static void test_c_prefix(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    char *got = render_c("int a;\n"
                         "    //@if ENCDEC\n"
                         "encoder();\n"
                         "    //@elif PARALLEL and MLP_NORM\n"
                         "x = \"@@not a var@@\"; #@if untouched\n"
                         "    //@else\n"
                         "seq();\n"
                         "    //@endif\n"
                         "//@if not ENCDEC or ENCDEC\n"
                         "end();\n"
                         "//@endif\n",
                         d);
    assert_non_null(got);
    assert_string_equal(got, "int a;\nx = \"@@not a var@@\"; #@if untouched\nend();\n");
    free(got);
    llmc_diags_free(d);
}

static void expect_error(const char *text, const char *fragment) {
    llmc_diags *d = llmc_diags_create();
    char *got = render_c(text, d);
    assert_null(got);
    char *msg = test_all_diags(d);
    if (!strstr(msg, fragment)) fail_msg("expected an error containing '%s', got: %s", fragment, msg);
    free(msg);
    llmc_diags_free(d);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("a\n//@if PARALEL\n//@endif\n", "template t.c:2: unknown flag 'PARALEL'");
    expect_error("//@if PARALLEL\n", "//@if without //@endif");
    expect_error("//@else\n", "//@else without //@if");
    expect_error("//@if PARALLEL and\n//@endif\n", "incomplete condition");
    expect_error("//@iff PARALLEL\n", "unknown directive");
    expect_error("//@include other.c\n", "no template named 'other.c'");
    expect_error("//@if PARALLEL\n", "(this is a bug in the cpu plugin)");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_c_prefix), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
