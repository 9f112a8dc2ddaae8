/* libFuzzer target for the spec reader: the input is loaded as a YAML spec and as a JSON
 * spec, every diagnostic is formatted, and a spec that loads is normalised, reloaded from
 * its JSON form and normalised again, which must give the same text. Every key of every
 * mapping must be found by the key index where it was written, and JSON the direct reader
 * takes must be JSON the careful path (jansson, libyaml) takes, to the same tree. The bytes
 * are also parsed and evaluated as a constraint expression. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "llmc/expr.h"
#include "llmc/spec.h"

static void format_all(const llmc_diags *d) {
    char buf[256];
    for (size_t i = 0; i < llmc_diags_size(d); i++) llmc_diag_format(llmc_diags_get(d, i), buf, sizeof buf);
}

static void check_spec(llmc_spec *s) {
    static const char *const paths[] = {"rope.theta", "dims.hidden_size", "constraints[0]", "rope.scaling.factor",
                                        "emit_options.gguf.x", "a[1].b", "[0]", ".", "dims."};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        llmc_loc loc = llmc_spec_loc(s, paths[i]);
        if (loc.line < 0 || loc.col < 0) abort();
        (void)llmc_spec_has_key(s, paths[i]);
    }
    for (size_t i = 0; i < s->n_constraints; i++) {
        int64_t v;
        char err[128];
        llmc_expr_env env = {s, NULL};
        (void)llmc_expr_eval(s->constraints[i].expr, llmc_expr_env_lookup, &env, &v, err, sizeof err);
    }
    char *first = llmc_spec_to_json(s, NULL);
    if (!first) abort();
    llmc_diags *d = llmc_diags_create();
    llmc_spec *again = llmc_spec_load_string(first, strlen(first), "normalised.json", LLMC_SPEC_FORMAT_JSON, d);
    if (!again) abort(); /* the normalised form must always be a valid spec */
    char *second = llmc_spec_to_json(again, NULL);
    if (!second || strcmp(first, second) != 0) abort();
    free(first);
    free(second);
    llmc_spec_free(again);
    llmc_diags_free(d);
}

/* every key is found, at its own entry (the key index agrees with the entries) */
static void check_index(const llmc_doc_node *n) {
    for (size_t i = 0; i < n->n_entries; i++) {
        if (llmc_doc_map_find(n, n->entries[i].key) != &n->entries[i]) abort();
        check_index(n->entries[i].value);
    }
    for (size_t i = 0; i < n->n_items; i++) check_index(n->items[i]);
}

static void same_tree(const llmc_doc_node *a, const llmc_doc_node *b) {
    if (a->kind != b->kind || a->line != b->line || a->col != b->col) abort();
    if (a->kind == LLMC_DOC_SCALAR) {
        if (a->len != b->len || memcmp(a->text, b->text, a->len) || a->quoted != b->quoted || a->is_null != b->is_null)
            abort();
        return;
    }
    if (a->n_entries != b->n_entries || a->n_items != b->n_items) abort();
    for (size_t i = 0; i < a->n_entries; i++) {
        const llmc_doc_entry *x = &a->entries[i], *y = &b->entries[i];
        if (strcmp(x->key, y->key) || x->line != y->line || x->col != y->col) abort();
        same_tree(x->value, y->value);
    }
    for (size_t i = 0; i < a->n_items; i++) same_tree(a->items[i], b->items[i]);
}

static void check_docs(const char *text, size_t size) {
    for (int f = 0; f < 2; f++) {
        llmc_diags *d = llmc_diags_create();
        bool errs;
        llmc_doc *doc = llmc_doc_parse(text, size, "fuzz", f ? LLMC_DOC_JSON : LLMC_DOC_YAML, d, &errs);
        if (doc) check_index(doc->root);
        if (f && doc && !errs) {
            llmc_diags *d2 = llmc_diags_create();
            bool errs2;
            llmc_doc *careful = llmc_doc_parse_json_careful(text, size, "fuzz", d2, &errs2);
            if (!careful || errs2) abort(); /* valid JSON to one reader is valid to the other */
            /* libyaml does not read every valid JSON text; without its locations there is
             * nothing exact to compare */
            if (careful->root->line > 0) same_tree(doc->root, careful->root);
            llmc_doc_free(careful);
            llmc_diags_free(d2);
        }
        llmc_doc_free(doc);
        llmc_diags_free(d);
    }
}

static int fixed_lookup(void *user, const char *name, int64_t *out) {
    (void)user;
    *out = (int64_t)strlen(name) - 3;
    return name[0] == 'z';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const llmc_spec_format formats[] = {LLMC_SPEC_FORMAT_YAML, LLMC_SPEC_FORMAT_JSON};
    static const char *const names[] = {"fuzz.yaml", "fuzz.json"};
    for (int f = 0; f < 2; f++) {
        llmc_diags *d = llmc_diags_create();
        llmc_spec *s = llmc_spec_load_string((const char *)data, size, names[f], formats[f], d);
        format_all(d);
        if (s) check_spec(s);
        llmc_spec_free(s);
        llmc_diags_free(d);
    }
    check_docs((const char *)data, size);
    if (size < 4096) {
        char *text = malloc(size + 1);
        if (!text) return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        int col;
        char err[128];
        llmc_expr *e = llmc_expr_parse(text, &col, err, sizeof err);
        if (e) {
            int64_t v;
            const char *ns[4];
            (void)llmc_expr_names(e, ns, 4);
            (void)llmc_expr_eval(e, fixed_lookup, NULL, &v, err, sizeof err);
        } else if (col < 1 || (size_t)col > size + 1) {
            abort(); /* error columns must point inside the text (or just past its end) */
        }
        llmc_expr_free(e);
        free(text);
    }
    return 0;
}
