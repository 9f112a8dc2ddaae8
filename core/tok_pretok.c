/* Pre-tokenizers (HF tokenizers src/pre_tokenizers): ByteLevel, Split, Metaspace, Whitespace,
 * WhitespaceSplit, BertPreTokenizer, Digits, Punctuation, CharDelimiterSplit, Sequence.
 * Each turns every current split into zero or more new splits (empty ones are dropped, as
 * HF's PreTokenizedString::split does), following NormalizedString::split's behaviours. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_unicode.h"

/* ---- the GPT-2 byte <-> unicode map (openai/gpt-2 encoder.py bytes_to_unicode) ------------------------- */

const uint16_t tok_byte_to_char[256] = {
    0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10A, 0x10B, 0x10C, 0x10D, 0x10E, 0x10F,
    0x110, 0x111, 0x112, 0x113, 0x114, 0x115, 0x116, 0x117, 0x118, 0x119, 0x11A, 0x11B, 0x11C, 0x11D, 0x11E, 0x11F,
    0x120, 0x21,  0x22,  0x23,  0x24,  0x25,  0x26,  0x27,  0x28,  0x29,  0x2A,  0x2B,  0x2C,  0x2D,  0x2E,  0x2F,
    0x30,  0x31,  0x32,  0x33,  0x34,  0x35,  0x36,  0x37,  0x38,  0x39,  0x3A,  0x3B,  0x3C,  0x3D,  0x3E,  0x3F,
    0x40,  0x41,  0x42,  0x43,  0x44,  0x45,  0x46,  0x47,  0x48,  0x49,  0x4A,  0x4B,  0x4C,  0x4D,  0x4E,  0x4F,
    0x50,  0x51,  0x52,  0x53,  0x54,  0x55,  0x56,  0x57,  0x58,  0x59,  0x5A,  0x5B,  0x5C,  0x5D,  0x5E,  0x5F,
    0x60,  0x61,  0x62,  0x63,  0x64,  0x65,  0x66,  0x67,  0x68,  0x69,  0x6A,  0x6B,  0x6C,  0x6D,  0x6E,  0x6F,
    0x70,  0x71,  0x72,  0x73,  0x74,  0x75,  0x76,  0x77,  0x78,  0x79,  0x7A,  0x7B,  0x7C,  0x7D,  0x7E,  0x121,
    0x122, 0x123, 0x124, 0x125, 0x126, 0x127, 0x128, 0x129, 0x12A, 0x12B, 0x12C, 0x12D, 0x12E, 0x12F, 0x130, 0x131,
    0x132, 0x133, 0x134, 0x135, 0x136, 0x137, 0x138, 0x139, 0x13A, 0x13B, 0x13C, 0x13D, 0x13E, 0x13F, 0x140, 0x141,
    0x142, 0xA1,  0xA2,  0xA3,  0xA4,  0xA5,  0xA6,  0xA7,  0xA8,  0xA9,  0xAA,  0xAB,  0xAC,  0x143, 0xAE,  0xAF,
    0xB0,  0xB1,  0xB2,  0xB3,  0xB4,  0xB5,  0xB6,  0xB7,  0xB8,  0xB9,  0xBA,  0xBB,  0xBC,  0xBD,  0xBE,  0xBF,
    0xC0,  0xC1,  0xC2,  0xC3,  0xC4,  0xC5,  0xC6,  0xC7,  0xC8,  0xC9,  0xCA,  0xCB,  0xCC,  0xCD,  0xCE,  0xCF,
    0xD0,  0xD1,  0xD2,  0xD3,  0xD4,  0xD5,  0xD6,  0xD7,  0xD8,  0xD9,  0xDA,  0xDB,  0xDC,  0xDD,  0xDE,  0xDF,
    0xE0,  0xE1,  0xE2,  0xE3,  0xE4,  0xE5,  0xE6,  0xE7,  0xE8,  0xE9,  0xEA,  0xEB,  0xEC,  0xED,  0xEE,  0xEF,
    0xF0,  0xF1,  0xF2,  0xF3,  0xF4,  0xF5,  0xF6,  0xF7,  0xF8,  0xF9,  0xFA,  0xFB,  0xFC,  0xFD,  0xFE,  0xFF,
};

int tok_char_to_byte(uint32_t cp) {
    if (cp >= 0x21 && cp <= 0x7E) return (int)cp;
    if ((cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp >= 0x100 && cp <= 0x143) {
        /* the 68 remapped bytes, in order */
        static const uint8_t remapped[0x44] = {
            0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,
            17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  127,
            128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144,
            145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 173};
        return remapped[cp - 0x100];
    }
    return -1;
}

/* UTF-8 of each mapped byte, for the hot loop */
static struct {
    uint8_t len;
    char s[2];
} byte_utf8[256];
static pthread_once_t byte_utf8_once = PTHREAD_ONCE_INIT;
static void byte_utf8_init(void) {
    for (int b = 0; b < 256; b++) {
        char u[4];
        byte_utf8[b].len = (uint8_t)llmc_utf8_encode(tok_byte_to_char[b], u);
        memcpy(byte_utf8[b].s, u, byte_utf8[b].len);
    }
}

static llmc_regex *gpt2_re;
static pthread_once_t gpt2_once = PTHREAD_ONCE_INIT;
static void gpt2_init(void) {
    static const char pat[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    gpt2_re = llmc_regex_compile(pat, sizeof pat - 1, NULL, 0);
}
const llmc_regex *tok_gpt2_regex(void) {
    pthread_once(&gpt2_once, gpt2_init);
    return gpt2_re;
}

/* ---- splits ---------------------------------------------------------------------------------------------- */

int tok_splits_add(tok_splits *s, const char *p, size_t n, bool at_start) {
    if (!n) return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        tok_split *q = realloc(s->v, nc * sizeof *q);
        if (!q) return -1;
        s->v = q;
        s->cap = nc;
    }
    size_t off = s->text.n;
    if (tok_buf_put(&s->text, p, n)) return -1;
    s->v[s->n++] = (tok_split){off, n, at_start};
    return 0;
}

void tok_splits_free(tok_splits *s) {
    free(s->v);
    tok_buf_free(&s->text);
    memset(s, 0, sizeof *s);
}

/* (start, end, is_match) pieces covering a string, as Pattern::find_matches gives them */
typedef struct seg {
    size_t s, e;
    bool m;
} seg;
typedef struct segs {
    seg *v;
    size_t n, cap;
} segs;

static int seg_push(segs *a, size_t s, size_t e, bool m) {
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        seg *q = realloc(a->v, nc * sizeof *q);
        if (!q) return -1;
        a->v = q;
        a->cap = nc;
    }
    a->v[a->n++] = (seg){s, e, m};
    return 0;
}

typedef struct regex_ctx {
    segs *out;
    size_t prev;
    int rc;
} regex_ctx;

static int on_match(void *vctx, size_t start, size_t end) {
    regex_ctx *c = vctx;
    if (c->prev != start && seg_push(c->out, c->prev, start, false)) return c->rc = -1;
    if (seg_push(c->out, start, end, true)) return c->rc = -1;
    c->prev = end;
    return 0;
}

static int regex_matches(const llmc_regex *re, const char *s, size_t n, segs *out, tok_work *w) {
    out->n = 0;
    if (n == 0) return seg_push(out, 0, 0, false);
    regex_ctx c = {out, 0, 0};
    if (llmc_regex_find_all(re, s, n, &w->rx, on_match, &c) || c.rc) return -1;
    if (c.prev != n && seg_push(out, c.prev, n, false)) return -1;
    return 0;
}

typedef bool (*cp_pred)(uint32_t cp, const tok_pretok *pt);

/* a predicate pattern: every matching character is its own match */
static int pred_matches(cp_pred pred, const tok_pretok *pt, const char *s, size_t n, segs *out) {
    out->n = 0;
    if (n == 0) return seg_push(out, 0, 0, false);
    size_t last = 0, i = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (i < n) {
        uint32_t cp;
        int k = llmc_utf8_decode(u + i, n - i, &cp);
        if (!(cp & LLMC_UTF8_INVALID) && pred(cp, pt)) {
            if (last < i && seg_push(out, last, i, false)) return -1;
            if (seg_push(out, i, i + (size_t)k, true)) return -1;
            last = i + (size_t)k;
        }
        i += (size_t)k;
    }
    if (n > last && seg_push(out, last, n, false)) return -1;
    return 0;
}

/* NormalizedString::split: apply the behaviour to the matches, then keep the non-removed,
 * non-empty pieces */
static int split_by(segs *m, tok_split_behavior b, const char *s, bool at_start, tok_splits *out) {
    size_t k = 0;
    switch (b) {
    case SPLIT_ISOLATED:
        for (size_t i = 0; i < m->n; i++) m->v[i].m = false;
        break;
    case SPLIT_REMOVED: break;
    case SPLIT_CONTIGUOUS: {
        bool prev = false;
        for (size_t i = 0; i < m->n; i++) {
            seg x = m->v[i];
            if (x.m == prev && k > 0) m->v[k - 1].e = x.e;
            else m->v[k++] = (seg){x.s, x.e, false};
            prev = x.m;
        }
        m->n = k;
        break;
    }
    case SPLIT_MERGED_WITH_PREVIOUS: {
        bool prev = false;
        for (size_t i = 0; i < m->n; i++) {
            seg x = m->v[i];
            if (x.m && !prev && k > 0) m->v[k - 1].e = x.e;
            else m->v[k++] = (seg){x.s, x.e, false};
            prev = x.m;
        }
        m->n = k;
        break;
    }
    case SPLIT_MERGED_WITH_NEXT: {
        /* right to left, merging a match into the piece after it */
        bool prev = false;
        size_t w = m->n;
        for (size_t i = m->n; i-- > 0;) {
            seg x = m->v[i];
            if (x.m && !prev && w < m->n) m->v[w].s = x.s;
            else m->v[--w] = (seg){x.s, x.e, false};
            prev = x.m;
        }
        memmove(m->v, m->v + w, (m->n - w) * sizeof *m->v);
        m->n -= w;
        break;
    }
    }
    for (size_t i = 0; i < m->n; i++) {
        seg x = m->v[i];
        if (x.m || x.e == x.s) continue;
        if (tok_splits_add(out, s + x.s, x.e - x.s, at_start && x.s == 0)) return -1;
    }
    return 0;
}

/* ---- predicates --------------------------------------------------------------------------------------- */

static bool is_ws(uint32_t cp, const tok_pretok *pt) {
    (void)pt;
    return llmc_uc_is_whitespace(cp);
}
/* ASCII punctuation or unicode_categories' is_punctuation (Pc Pd Ps Pe Pi Pf Po, Unicode 8.0) */
static bool is_punc(uint32_t cp, const tok_pretok *pt) {
    (void)pt;
    if (cp < 128)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
    return (LLMC_GCM_P >> llmc_uc_gc8(cp)) & 1u;
}
static bool is_num(uint32_t cp, const tok_pretok *pt) {
    (void)pt;
    return llmc_uc_is_numeric(cp);
}
static bool is_delim(uint32_t cp, const tok_pretok *pt) { return cp == pt->replacement; }

/* Whitespace: Rust regex \w+|[^\w\s]+ (Unicode \w, White_Space \s), the rest removed */
static int whitespace_matches(const char *s, size_t n, segs *out) {
    out->n = 0;
    if (n == 0) return seg_push(out, 0, 0, false);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, last = 0;
    while (i < n) {
        uint32_t cp;
        int k = llmc_utf8_decode(u + i, n - i, &cp);
        bool inv = cp & LLMC_UTF8_INVALID;
        int cls = inv ? 2 : llmc_uc_is_rust_word(cp) ? 1 : llmc_uc_is_whitespace(cp) ? 0 : 2;
        if (cls == 0) {
            i += (size_t)k;
            continue;
        }
        size_t start = i;
        i += (size_t)k;
        while (i < n) {
            k = llmc_utf8_decode(u + i, n - i, &cp);
            inv = cp & LLMC_UTF8_INVALID;
            int c2 = inv ? 2 : llmc_uc_is_rust_word(cp) ? 1 : llmc_uc_is_whitespace(cp) ? 0 : 2;
            if (c2 != cls) break;
            i += (size_t)k;
        }
        /* a regex match is "kept" (inverted pattern): non-match gaps are removed */
        if (last < start && seg_push(out, last, start, true)) return -1;
        if (seg_push(out, start, i, false)) return -1;
        last = i;
    }
    if (last < n && seg_push(out, last, n, true)) return -1;
    return 0;
}

/* ---- one pre-tokenizer over one split ---------------------------------------------------------------------- */

static int byte_level_map(const char *s, size_t n, bool at_start, tok_splits *out) {
    pthread_once(&byte_utf8_once, byte_utf8_init);
    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 64;
        tok_split *q = realloc(out->v, nc * sizeof *q);
        if (!q) return -1;
        out->v = q;
        out->cap = nc;
    }
    if (tok_buf_reserve(&out->text, 2 * n + 1)) return -1;
    size_t off = out->text.n;
    char *d = out->text.p + off;
    for (size_t i = 0; i < n; i++) {
        unsigned b = (unsigned char)s[i];
        *d++ = byte_utf8[b].s[0];
        if (byte_utf8[b].len == 2) *d++ = byte_utf8[b].s[1];
    }
    size_t len = (size_t)(d - (out->text.p + off));
    out->text.n += len;
    out->text.p[out->text.n] = '\0';
    out->v[out->n++] = (tok_split){off, len, at_start};
    return 0;
}

static int apply_one(const tok_pretok *pt, const char *s, size_t n, bool at_start, tok_splits *out, tok_work *w,
                     segs *m) {
    switch (pt->type) {
    case PRE_BYTE_LEVEL: {
        const char *src = s;
        size_t len = n;
        tok_buf *pre = &w->seg;
        if (pt->add_prefix_space && !(n > 0 && s[0] == ' ')) {
            pre->n = 0;
            if (tok_buf_putc(pre, ' ') || tok_buf_put(pre, s, n)) return -1;
            src = pre->p;
            len = pre->n;
        }
        if (!pt->use_regex) return byte_level_map(src, len, at_start, out);
        if (regex_matches(pt->re, src, len, m, w)) return -1;
        for (size_t i = 0; i < m->n; i++) {
            if (m->v[i].e == m->v[i].s) continue;
            if (byte_level_map(src + m->v[i].s, m->v[i].e - m->v[i].s, at_start && m->v[i].s == 0, out)) return -1;
        }
        return 0;
    }
    case PRE_SPLIT:
        if (regex_matches(pt->re, s, n, m, w)) return -1;
        if (pt->invert)
            for (size_t i = 0; i < m->n; i++) m->v[i].m = !m->v[i].m;
        return split_by(m, pt->behavior, s, at_start, out);
    case PRE_METASPACE: {
        tok_buf *t = &w->seg;
        t->n = 0;
        char rep[4];
        int rl = llmc_utf8_encode(pt->replacement, rep);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') {
                if (tok_buf_put(t, rep, (size_t)rl)) return -1;
            } else if (tok_buf_putc(t, s[i])) {
                return -1;
            }
        }
        bool starts = t->n >= (size_t)rl && !memcmp(t->p, rep, (size_t)rl);
        bool prepend = !starts && (pt->prepend == PREPEND_ALWAYS || (pt->prepend == PREPEND_FIRST && at_start));
        /* HF's prepend() adds nothing to an empty string */
        if (prepend && t->n > 0) {
            if (tok_buf_reserve(t, (size_t)rl + 1)) return -1;
            memmove(t->p + rl, t->p, t->n + 1);
            memcpy(t->p, rep, (size_t)rl);
            t->n += (size_t)rl;
        }
        if (!pt->split) return tok_splits_add(out, t->p, t->n, at_start);
        /* split on the replacement character, MergedWithNext */
        char *copy = malloc(t->n + 1);
        if (!copy) return -1;
        memcpy(copy, t->p, t->n + 1);
        size_t len = t->n;
        int rc = pred_matches(is_delim, &(tok_pretok){.replacement = pt->replacement}, copy, len, m);
        if (!rc) rc = split_by(m, SPLIT_MERGED_WITH_NEXT, copy, at_start, out);
        free(copy);
        return rc;
    }
    case PRE_WHITESPACE:
        if (whitespace_matches(s, n, m)) return -1;
        return split_by(m, SPLIT_REMOVED, s, at_start, out);
    case PRE_WHITESPACE_SPLIT:
        if (pred_matches(is_ws, pt, s, n, m)) return -1;
        return split_by(m, SPLIT_REMOVED, s, at_start, out);
    case PRE_BERT: {
        /* whitespace (removed), then punctuation (isolated) on each piece */
        tok_splits tmp = {0};
        int rc = pred_matches(is_ws, pt, s, n, m);
        if (!rc) rc = split_by(m, SPLIT_REMOVED, s, at_start, &tmp);
        for (size_t i = 0; !rc && i < tmp.n; i++) {
            const char *p = tmp.text.p + tmp.v[i].off;
            rc = pred_matches(is_punc, pt, p, tmp.v[i].len, m);
            if (!rc) rc = split_by(m, SPLIT_ISOLATED, p, tmp.v[i].at_start, out);
        }
        tok_splits_free(&tmp);
        return rc;
    }
    case PRE_DIGITS:
        if (pred_matches(is_num, pt, s, n, m)) return -1;
        return split_by(m, pt->individual_digits ? SPLIT_ISOLATED : SPLIT_CONTIGUOUS, s, at_start, out);
    case PRE_PUNCTUATION:
        if (pred_matches(is_punc, pt, s, n, m)) return -1;
        return split_by(m, pt->behavior, s, at_start, out);
    case PRE_CHAR_DELIMITER:
        if (pred_matches(is_delim, pt, s, n, m)) return -1;
        return split_by(m, SPLIT_REMOVED, s, at_start, out);
    case PRE_SEQUENCE: break;
    }
    return -1;
}

int tok_pretokenize(const tok_pretok *pt, tok_splits **sp, tok_splits **other, tok_work *w) {
    if (pt->type == PRE_SEQUENCE) {
        for (size_t i = 0; i < pt->n_items; i++)
            if (tok_pretokenize(&pt->items[i], sp, other, w)) return -1;
        return 0;
    }
    tok_splits *in = *sp, *out = *other;
    out->n = 0;
    out->text.n = 0;
    segs m = {w->segv, 0, w->segv_cap};
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++)
        rc = apply_one(pt, in->text.p + in->v[i].off, in->v[i].len, in->v[i].at_start, out, w, &m);
    w->segv = m.v;
    w->segv_cap = m.cap;
    *sp = out;
    *other = in;
    return rc;
}
