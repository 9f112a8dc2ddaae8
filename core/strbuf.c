/* The SDK's growable string (llmc/strbuf.h): doubling growth, every size checked for overflow. */
#include "llmc/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* room for extra more bytes and the NUL; false (and oom) when that cannot be had */
static bool reserve(llmc_strbuf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > SIZE_MAX - 1 - b->n) {
        b->oom = true;
        return false;
    }
    const size_t need = b->n + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void llmc_strbuf_append(llmc_strbuf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void llmc_strbuf_puts(llmc_strbuf *b, const char *s) { llmc_strbuf_append(b, s, strlen(s)); }

void llmc_strbuf_vprintf(llmc_strbuf *b, const char *fmt, va_list ap) {
    if (b->oom) return;
    va_list again;
    va_copy(again, ap);
    const int k = vsnprintf(NULL, 0, fmt, ap);
    if (k < 0 || !reserve(b, (size_t)k)) {
        b->oom = true;
        va_end(again);
        return;
    }
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, again);
    va_end(again);
    b->n += (size_t)k;
}

void llmc_strbuf_printf(llmc_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *llmc_strbuf_take(llmc_strbuf *b) {
    char *s = b->oom ? NULL : b->s ? b->s : calloc(1, 1);
    if (b->oom) free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
    b->oom = false;
    return s;
}

void llmc_strbuf_free(llmc_strbuf *b) {
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
    b->oom = false;
}
