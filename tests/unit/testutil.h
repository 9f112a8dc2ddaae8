/* Shared helpers for the cmocka unit tests (header-only; include after <cmocka.h>). */
#ifndef LLMC_TESTUTIL_H
#define LLMC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/llmc.h"

/* All diagnostics, formatted, one per line (no trailing newline). Caller frees. */
static inline char *test_all_diags(const llmc_diags *d) {
    size_t cap = 256, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    for (size_t i = 0; i < llmc_diags_size(d); i++) {
        char line[4096];
        llmc_diag_format(llmc_diags_get(d, i), line, sizeof line);
        size_t need = len + strlen(line) + 2;
        if (need > cap) {
            cap = need * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        len += (size_t)sprintf(out + len, "%s%s", len ? "\n" : "", line);
    }
    return out;
}

/* Load a spec from text, failing the test with the diagnostics if it does not load. */
static inline llmc_spec *test_spec(const char *text) {
    llmc_diags *d = llmc_diags_create();
    llmc_spec *s = llmc_spec_load_string(text, strlen(text), "test.yaml", LLMC_SPEC_FORMAT_YAML, d);
    if (!s) {
        char *m = test_all_diags(d);
        fail_msg("spec does not load:\n%s\n---\n%s", text, m);
    }
    llmc_diags_free(d);
    return s;
}

#endif
