/* Growable byte and id buffers for the tokenizer code: encoders append to them and reuse their
 * storage from one call to the next, so the steady state allocates nothing. */
#ifndef LLMC_CORE_TOK_BUF_H
#define LLMC_CORE_TOK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/tokenizer.h"

typedef struct llmc_tok_bytes {
    char *p;
    size_t n, cap;
} llmc_tok_bytes;

/* ids: llmc_tok_ids of llmc/tokenizer.h (uint32_t *ids; n, cap), appended to with the helpers
 * below (inline: encoders push one id per piece) */

/* make room for extra more elements; false on out of memory */
static inline bool llmc_tok_bytes_reserve(llmc_tok_bytes *b, size_t extra) {
    if (extra <= b->cap - b->n) return true;
    if (extra > SIZE_MAX / 2 - b->n) return false;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->n < extra) cap *= 2;
    char *g = realloc(b->p, cap);
    if (!g) return false;
    b->p = g;
    b->cap = cap;
    return true;
}

static inline bool llmc_tok_bytes_append(llmc_tok_bytes *b, const void *data, size_t n) {
    if (!llmc_tok_bytes_reserve(b, n)) return false;
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
    return true;
}

static inline bool llmc_tokbuf_ids_need(llmc_tok_ids *v, size_t extra) {
    if (extra <= v->cap - v->n) return true;
    if (extra > SIZE_MAX / 8 - v->n) return false;
    size_t cap = v->cap ? v->cap : 64;
    while (cap - v->n < extra) cap *= 2;
    uint32_t *g = realloc(v->ids, cap * sizeof *g);
    if (!g) return false;
    v->ids = g;
    v->cap = cap;
    return true;
}

static inline bool llmc_tokbuf_ids_put(llmc_tok_ids *v, uint32_t id) {
    if (v->n == v->cap && !llmc_tokbuf_ids_need(v, 1)) return false;
    v->ids[v->n++] = id;
    return true;
}

static inline void llmc_tok_bytes_free(llmc_tok_bytes *b) { free(b->p); *b = (llmc_tok_bytes){0}; }

/* The length of the UTF-8 sequence that lead byte c starts, as sentencepiece counts it (a stray
 * continuation byte counts as 1); callers clamp it to the bytes left. */
static inline size_t llmc_utf8_lead_len(unsigned char c) {
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

/* Length (1-4) of the valid UTF-8 character at s, or 0 when the bytes there are not one
 * (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte). *cp gets the code point. */
static inline size_t llmc_tokbuf_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t k;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) { k = 2; v = c & 0x1f; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 3; v = c & 0x0f; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 4; v = c & 0x07; }
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (k == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    *cp = v;
    return k;
}

#endif
