/* Diagnostics list: see sdk/include/llmc/diag.h. */
#include "llmc/diag.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct llmc_diags {
    llmc_diag *items;
    size_t n, cap;
    int oom;            /* set once an allocation failed; reported as a final error */
};

static const llmc_diag oom_diag = {LLMC_SEV_ERROR, {NULL, 0, 0}, NULL, "out of memory while recording diagnostics"};

llmc_diags *llmc_diags_create(void) { return calloc(1, sizeof(llmc_diags)); }

static void diag_release(llmc_diag *g) {
    free((char *)g->loc.file);
    free((char *)g->key);
    free((char *)g->message);
}

void llmc_diags_clear(llmc_diags *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) diag_release(&d->items[i]);
    d->n = 0;
    d->oom = 0;
}

void llmc_diags_free(llmc_diags *d) {
    if (!d) return;
    llmc_diags_clear(d);
    free(d->items);
    free(d);
}

void llmc_diag_addv(llmc_diags *d, llmc_severity sev, llmc_loc loc, const char *key, const char *fmt, va_list ap) {
    if (!d) return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        llmc_diag *items = realloc(d->items, cap * sizeof *items);
        if (!items) { d->oom = 1; return; }
        d->items = items;
        d->cap = cap;
    }
    char *msg = llmc_vasprintf(fmt, ap);
    char *file = loc.file ? llmc_strdup(loc.file) : NULL;
    char *k = key ? llmc_strdup(key) : NULL;
    if (!msg || (loc.file && !file) || (key && !k)) {
        free(msg); free(file); free(k);
        d->oom = 1;
        return;
    }
    llmc_diag *g = &d->items[d->n++];
    g->severity = sev;
    g->loc = loc;
    g->loc.file = file;
    g->key = k;
    g->message = msg;
}

void llmc_diag_add(llmc_diags *d, llmc_severity sev, llmc_loc loc, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(d, sev, loc, key, fmt, ap);
    va_end(ap);
}

void llmc_error(llmc_diags *d, const char *key, const char *fmt, ...) {
    llmc_loc none = {NULL, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(d, LLMC_SEV_ERROR, none, key, fmt, ap);
    va_end(ap);
}

void llmc_warning(llmc_diags *d, const char *key, const char *fmt, ...) {
    llmc_loc none = {NULL, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(d, LLMC_SEV_WARNING, none, key, fmt, ap);
    va_end(ap);
}

size_t llmc_diags_size(const llmc_diags *d) { return d ? d->n + (d->oom ? 1 : 0) : 0; }

static size_t count_sev(const llmc_diags *d, llmc_severity sev) {
    if (!d) return 0;
    size_t c = 0;
    for (size_t i = 0; i < d->n; i++) c += d->items[i].severity == sev;
    return c;
}

size_t llmc_diags_errors(const llmc_diags *d) { return count_sev(d, LLMC_SEV_ERROR) + (d && d->oom ? 1 : 0); }
size_t llmc_diags_warnings(const llmc_diags *d) { return count_sev(d, LLMC_SEV_WARNING); }

const llmc_diag *llmc_diags_get(const llmc_diags *d, size_t i) {
    if (!d) return NULL;
    if (i < d->n) return &d->items[i];
    if (i == d->n && d->oom) return &oom_diag;
    return NULL;
}

void llmc_diags_take(llmc_diags *dst, llmc_diags *src) {
    if (!dst || !src || dst == src) return;
    for (size_t i = 0; i < src->n; i++) {
        const llmc_diag *g = &src->items[i];
        if (g->key)
            llmc_diag_add(dst, g->severity, g->loc, g->key, "%s", g->message);
        else
            llmc_diag_add(dst, g->severity, g->loc, NULL, "%s", g->message);
    }
    if (src->oom) dst->oom = 1;
    llmc_diags_clear(src);
}

int llmc_diag_format(const llmc_diag *g, char *buf, size_t n) {
    const char *sev = g->severity == LLMC_SEV_WARNING ? "warning: " : g->severity == LLMC_SEV_NOTE ? "note: " : "";
    char where[512];
    if (g->loc.file && g->loc.line > 0)
        snprintf(where, sizeof where, "%s:%d:%d", g->loc.file, g->loc.line, g->loc.col > 0 ? g->loc.col : 1);
    else if (g->loc.file)
        snprintf(where, sizeof where, "%s", g->loc.file);
    else
        snprintf(where, sizeof where, "llmc");
    if (g->key && g->key[0])
        return snprintf(buf, n, "%s: %s%s: %s", where, sev, g->key, g->message);
    return snprintf(buf, n, "%s: %s%s", where, sev, g->message);
}

void llmc_diags_print(const llmc_diags *d, FILE *f) {
    size_t n = llmc_diags_size(d);
    for (size_t i = 0; i < n; i++) {
        const llmc_diag *g = llmc_diags_get(d, i);
        char small[1024];
        int len = llmc_diag_format(g, small, sizeof small);
        if (len < 0) continue;
        if ((size_t)len < sizeof small) {
            fprintf(f, "%s\n", small);
        } else {
            char *big = malloc((size_t)len + 1);
            if (!big) { fprintf(f, "%s...\n", small); continue; }
            llmc_diag_format(g, big, (size_t)len + 1);
            fprintf(f, "%s\n", big);
            free(big);
        }
    }
}

typedef struct ordered_diag {
    const llmc_diag *g;
    size_t index;
} ordered_diag;

static int diag_order(const void *a, const void *b) {
    const ordered_diag *x = a, *y = b;
    /* located ones in file order, unlocated ones last; ties keep insertion order */
    long lx = x->g->loc.line > 0 ? x->g->loc.line : 0x7fffffffL, ly = y->g->loc.line > 0 ? y->g->loc.line : 0x7fffffffL;
    if (lx != ly) return lx < ly ? -1 : 1;
    if (x->g->loc.col != y->g->loc.col) return x->g->loc.col < y->g->loc.col ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void llmc_diags_take_sorted(llmc_diags *dst, llmc_diags *src) {
    size_t n = llmc_diags_size(src);
    ordered_diag *order = n ? malloc(n * sizeof *order) : NULL;
    if (!order) {
        llmc_diags_take(dst, src);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        order[i].g = llmc_diags_get(src, i);
        order[i].index = i;
    }
    qsort(order, n, sizeof *order, diag_order);
    for (size_t i = 0; i < n; i++)
        llmc_diag_add(dst, order[i].g->severity, order[i].g->loc, order[i].g->key, "%s", order[i].g->message);
    free(order);
    llmc_diags_clear(src);
}
