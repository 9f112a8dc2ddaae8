/* The direct JSON reader: one pass over the bytes, no allocation but the tree's, builds the
 * located tree of a text that is plainly valid JSON, which is what jansson accepts (RFC 8259,
 * an object or array at the top, strings of valid UTF-8 without control characters, integers
 * that fit 64 bits, reals that do not overflow a double) minus what is merely unusual: "\u0000"
 * and surrogate escapes, integers of 19 digits or more, nesting deeper than LLMC_DOC_MAX_DEPTH,
 * duplicate keys, and raw U+0085, U+2028 and U+2029 in strings (line breaks to YAML). Locations
 * are libyaml's: 1-based lines, where CR LF, CR and LF each end one; 1-based columns counted
 * in characters.
 *
 * For anything else it returns NULL without a word, and doc.c reads the text the careful way:
 * jansson first, whose messages users see, then libyaml. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc_internal.h"

typedef struct reader {
    const unsigned char *p, *end;
    llmc_doc_arena *arena;
    int line;                       /* of p, 1-based */
    const unsigned char *counted;   /* columns are counted up to here, lazily... */
    int col;                        /* ...and this is its column, 0-based */
} reader;

/* 1-based column of position at (>= every position asked before): characters since the line
 * started, counted once each, so a long line costs linear time in all. */
static int column(reader *r, const unsigned char *at) {
    for (const unsigned char *q = r->counted; q < at; q++) r->col += (*q & 0xc0) != 0x80;
    r->counted = at;
    return r->col + 1;
}

static void skip_ws(reader *r) {
    while (r->p < r->end) {
        unsigned char c = *r->p;
        if (c == ' ' || c == '\t') {
            r->p++;
        } else if (c == '\n' || c == '\r') {
            r->p += c == '\r' && r->p + 1 < r->end && r->p[1] == '\n' ? 2 : 1;
            r->line++;
            r->counted = r->p;
            r->col = 0;
        } else {
            break;
        }
    }
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Length of the UTF-8 sequence at p (its first byte >= 0x80), 0 if it is not valid: no overlong
 * forms, no surrogates, at most U+10FFFF (RFC 3629), and none of YAML's extra line breaks. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    size_t left = (size_t)(end - p);
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    if (c == 0xc2 && p[1] == 0x85) return 0;                               /* U+0085 */
    if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) return 0; /* U+2028, U+2029 */
    return n;
}

/* The string at r->p (its opening quote), decoded into the arena and NUL-terminated; NULL if it
 * is not plainly valid (or out of memory). */
static char *string(reader *r, size_t *len) {
    const unsigned char *start = ++r->p, *q = start;
    bool escapes = false;
    for (;;) {
        if (q >= r->end) return NULL;
        unsigned char c = *q;
        if (c == '"') break;
        if (c < 0x20) return NULL;
        if (c >= 0x80) {
            size_t n = utf8_sequence(q, r->end);
            if (!n) return NULL;
            q += n;
        } else if (c == '\\') {
            escapes = true;
            q += q + 1 < r->end && q[1] == 'u' ? 6 : 2; /* checked while decoding */
            if (q > r->end) return NULL;
        } else {
            q++;
        }
    }
    size_t raw = (size_t)(q - start);
    r->p = q + 1;
    if (!escapes) {
        *len = raw;
        return llmc_doc_arena_text(r->arena, (const char *)start, raw);
    }
    /* escapes only shrink the text: \uXXXX (6 bytes) gives at most 3 */
    char *out = llmc_doc_arena_bytes(r->arena, raw + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (const unsigned char *s = start; s < q;) {
        if (*s != '\\') {
            out[o++] = (char)*s++;
            continue;
        }
        static const char escaped[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
        unsigned char e = s[1];
        const char *simple = e ? strchr(escaped, e) : NULL;
        if (simple) {
            out[o++] = meant[simple - escaped];
            s += 2;
            continue;
        }
        if (e != 'u') return NULL;
        unsigned v = 0;
        for (int i = 2; i < 6; i++) {
            int h = hex_value(s[i]);
            if (h < 0) return NULL;
            v = v * 16 + (unsigned)h;
        }
        if (v == 0 || (v >= 0xd800 && v <= 0xdfff)) return NULL; /* NUL, surrogates: unusual */
        if (v < 0x80) {
            out[o++] = (char)v;
        } else if (v < 0x800) {
            out[o++] = (char)(0xc0 | (v >> 6));
            out[o++] = (char)(0x80 | (v & 0x3f));
        } else {
            out[o++] = (char)(0xe0 | (v >> 12));
            out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (v & 0x3f));
        }
        s += 6;
    }
    out[o] = '\0';
    *len = o;
    return out;
}

static size_t digits(reader *r) {
    const unsigned char *start = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    return (size_t)(r->p - start);
}

/* A number's extent, if jansson reads it without complaint. */
static bool number(reader *r) {
    const unsigned char *start = r->p;
    if (*r->p == '-') r->p++;
    if (r->p >= r->end) return false;
    size_t int_digits;
    if (*r->p == '0') {
        r->p++;
        int_digits = 1;
    } else if (*r->p >= '1' && *r->p <= '9') {
        int_digits = digits(r);
    } else {
        return false;
    }
    bool real = false;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (digits(r) == 0) return false;
        real = true;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (digits(r) == 0) return false;
        real = true;
    }
    if (!real) return int_digits <= 18; /* fits int64; jansson refuses what does not */
    char buf[64];                       /* jansson refuses reals that overflow a double */
    size_t n = (size_t)(r->p - start);
    if (n >= sizeof buf) return false;
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    double v = strtod(buf, NULL);
    return !(errno == ERANGE && isinf(v));
}

static bool literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n)) return false;
    r->p += n;
    return true;
}

static llmc_doc_node *value(reader *r, int depth);

/* The object or array at r->p. */
static llmc_doc_node *container(reader *r, int depth) {
    bool object = *r->p == '{';
    unsigned char close = object ? '}' : ']';
    llmc_doc_node *n = llmc_doc_node_new(r->arena, object ? LLMC_DOC_MAP : LLMC_DOC_SEQ, r->line, column(r, r->p));
    if (!n) return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return n;
    }
    for (;;) {
        if (object) {
            if (r->p >= r->end || *r->p != '"') return NULL;
            int kline = r->line, kcol = column(r, r->p);
            size_t klen;
            char *key = string(r, &klen);
            if (!key || llmc_doc_map_find_n(n, key, klen)) return NULL; /* duplicates: reported the careful way */
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':') return NULL;
            r->p++;
            skip_ws(r);
            llmc_doc_node *v = value(r, depth + 1);
            if (!v || !llmc_doc_map_append(r->arena, n, key, kline, kcol, v)) return NULL;
        } else {
            llmc_doc_node *v = value(r, depth + 1);
            if (!v || !llmc_doc_seq_append(r->arena, n, v)) return NULL;
        }
        skip_ws(r);
        if (r->p >= r->end) return NULL;
        if (*r->p == close) {
            r->p++;
            return n;
        }
        if (*r->p != ',') return NULL;
        r->p++;
        skip_ws(r);
    }
}

static llmc_doc_node *value(reader *r, int depth) {
    if (r->p >= r->end || depth > LLMC_DOC_MAX_DEPTH) return NULL;
    int line = r->line, col = column(r, r->p);
    const unsigned char *start = r->p;
    switch (*r->p) {
    case '{':
    case '[': return container(r, depth);
    case '"': {
        size_t len;
        char *text = string(r, &len);
        return text ? llmc_doc_scalar_new(r->arena, text, len, true, line, col) : NULL;
    }
    case 't':
    case 'f':
    case 'n':
        if (!literal(r, *r->p == 't' ? "true" : *r->p == 'f' ? "false" : "null")) return NULL;
        break;
    default:
        if (*r->p != '-' && (*r->p < '0' || *r->p > '9')) return NULL;
        if (!number(r)) return NULL;
        break;
    }
    size_t len = (size_t)(r->p - start);
    char *text = llmc_doc_arena_text(r->arena, (const char *)start, len);
    return text ? llmc_doc_scalar_new(r->arena, text, len, false, line, col) : NULL;
}

llmc_doc_node *llmc_doc_read_plain_json(llmc_doc_arena *a, const char *text, size_t len) {
    if (!a || !text) return NULL;
    reader r = {(const unsigned char *)text, (const unsigned char *)text + len, a, 1, (const unsigned char *)text, 0};
    skip_ws(&r);
    if (r.p >= r.end || (*r.p != '{' && *r.p != '[')) return NULL;
    llmc_doc_node *root = value(&r, 1);
    if (!root) return NULL;
    skip_ws(&r);
    return r.p == r.end ? root : NULL;
}
