/* Strict JSON recogniser (see json_check.h): recursive descent over the bytes, depth bounded
 * by the caller, nothing allocated. Every "not sure" answers false. */
#include "json_check.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct scan {
    const unsigned char *p, *end;
    int depth, max_depth;
} scan;

static void skip_ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One UTF-8 sequence starting at a byte >= 0x80: no overlong forms, no surrogates, <= U+10FFFF
 * (RFC 3629's table). */
static bool utf8_sequence(scan *s) {
    const unsigned char *p = s->p;
    size_t left = (size_t)(s->end - p);
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return false;
    }
    if (left < n || p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return false;
    s->p += n;
    return true;
}

static bool string(scan *s) {
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20) return false;
        if (c >= 0x80) {
            if (!utf8_sequence(s)) return false;
            continue;
        }
        if (c != '\\') {
            s->p++;
            continue;
        }
        if (s->end - s->p < 2) return false;
        c = s->p[1];
        if (c == 'u') {
            if (s->end - s->p < 6) return false;
            unsigned v = 0;
            for (int i = 2; i < 6; i++) {
                int h = hex_value(s->p[i]);
                if (h < 0) return false;
                v = v * 16 + (unsigned)h;
            }
            if (v == 0 || (v >= 0xd800 && v <= 0xdfff)) return false; /* NUL, surrogates: unusual */
            s->p += 6;
        } else if (c && strchr("\"\\/bfnrt", c)) {
            s->p += 2;
        } else {
            return false;
        }
    }
    return false;
}

static size_t digits(scan *s) {
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    return (size_t)(s->p - start);
}

static bool number(scan *s) {
    const unsigned char *start = s->p;
    if (*s->p == '-') s->p++;
    if (s->p >= s->end) return false;
    size_t int_digits;
    if (*s->p == '0') {
        s->p++;
        int_digits = 1;
    } else if (*s->p >= '1' && *s->p <= '9') {
        int_digits = digits(s);
    } else {
        return false;
    }
    bool real = false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) == 0) return false;
        real = true;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        if (digits(s) == 0) return false;
        real = true;
    }
    if (!real) return int_digits <= 18; /* fits int64 (jansson refuses what does not) */
    /* jansson refuses reals that overflow a double */
    char buf[64];
    size_t n = (size_t)(s->p - start);
    if (n >= sizeof buf) return false;
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    double v = strtod(buf, NULL);
    return !(errno == ERANGE && isinf(v));
}

static bool literal(scan *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n)) return false;
    s->p += n;
    return true;
}

static bool value(scan *s);

static bool container(scan *s) {
    bool object = *s->p == '{';
    unsigned char close = object ? '}' : ']';
    if (++s->depth > s->max_depth) return false;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            if (s->p >= s->end || *s->p != '"' || !string(s)) return false;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') return false;
            s->p++;
            skip_ws(s);
        }
        if (!value(s)) return false;
        skip_ws(s);
        if (s->p >= s->end) return false;
        if (*s->p == close) {
            s->p++;
            s->depth--;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
        skip_ws(s);
    }
}

static bool value(scan *s) {
    if (s->p >= s->end) return false;
    switch (*s->p) {
    case '{':
    case '[': return container(s);
    case '"': return string(s);
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default: return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && number(s);
    }
}

bool llmc_json_plainly_valid(const char *text, size_t len, int max_depth) {
    if (!text) return false;
    scan s = {(const unsigned char *)text, (const unsigned char *)text + len, 0, max_depth};
    skip_ws(&s);
    if (s.p >= s.end || (*s.p != '{' && *s.p != '[')) return false;
    if (!container(&s)) return false;
    skip_ws(&s);
    return s.p == s.end;
}
