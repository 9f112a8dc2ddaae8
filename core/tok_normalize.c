/* Normalizers (HF tokenizers src/normalizers): NFC/NFD/NFKC/NFKD, Lowercase (Rust's per-character
 * to_lowercase), Strip, StripAccents, Prepend, Replace, BertNormalizer, ByteLevel, Sequence.
 * Text is processed as code points; a byte that is not valid UTF-8 travels through as an
 * opaque pseudo code point (LLMC_UTF8_INVALID | byte) and comes out as that byte again. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_unicode.h"

/* ---- buffers shared by the tokenizer files ------------------------------------------------------------ */

int tok_buf_reserve(tok_buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->n + extra) {
        if (nc > SIZE_MAX / 2) return -1;
        nc *= 2;
    }
    char *p = realloc(b->p, nc);
    if (!p) return -1;
    b->p = p;
    b->cap = nc;
    return 0;
}

int tok_buf_put(tok_buf *b, const void *s, size_t n) {
    if (tok_buf_reserve(b, n + 1)) return -1;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int tok_buf_putc(tok_buf *b, char c) { return tok_buf_put(b, &c, 1); }

int tok_buf_put_cp(tok_buf *b, uint32_t cp) {
    if (tok_buf_reserve(b, 5)) return -1;
    if (cp & LLMC_UTF8_INVALID) b->p[b->n++] = (char)(cp & 0xFF);
    else b->n += (size_t)llmc_utf8_encode(cp, b->p + b->n);
    b->p[b->n] = '\0';
    return 0;
}

void tok_buf_free(tok_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- code point arrays -------------------------------------------------------------------------------- */

typedef struct cpv {
    uint32_t *v;
    size_t n, cap;
} cpv;

static int cpv_push(cpv *a, uint32_t cp) {
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        uint32_t *q = realloc(a->v, nc * sizeof *q);
        if (!q) return -1;
        a->v = q;
        a->cap = nc;
    }
    a->v[a->n++] = cp;
    return 0;
}

static int decode_all(const char *s, size_t n, cpv *out) {
    out->n = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = llmc_utf8_decode(u + i, n - i, &cp);
        if (cpv_push(out, cp)) return -1;
        i += (size_t)k;
    }
    return 0;
}

static int encode_all(const cpv *a, tok_buf *out) {
    out->n = 0;
    if (tok_buf_reserve(out, a->n * 4 + 1)) return -1;
    for (size_t i = 0; i < a->n; i++) {
        uint32_t cp = a->v[i];
        if (cp & LLMC_UTF8_INVALID) out->p[out->n++] = (char)(cp & 0xFF);
        else out->n += (size_t)llmc_utf8_encode(cp, out->p + out->n);
    }
    out->p[out->n] = '\0';
    return 0;
}

static bool is_valid_cp(uint32_t cp) { return !(cp & LLMC_UTF8_INVALID); }

/* unicode_categories' is_other(): Cc, Cf, Co, Cs in its Unicode 8.0 tables (unassigned
 * characters, and everything assigned after 8.0, are not "other" there) */
static bool is_other(uint32_t cp) {
    return ((LLMC_GCM(LLMC_GC_Cc) | LLMC_GCM(LLMC_GC_Cf) | LLMC_GCM(LLMC_GC_Co) | LLMC_GCM(LLMC_GC_Cs)) >>
            llmc_uc_gc8(cp)) & 1u;
}

static bool is_chinese_char(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* normalize the valid runs of a into b (invalid pseudo code points are kept where they are) */
static int unicode_form(llmc_nf form, const cpv *a, cpv *b, tok_work *w) {
    b->n = 0;
    size_t i = 0;
    while (i < a->n) {
        if (!is_valid_cp(a->v[i])) {
            if (cpv_push(b, a->v[i])) return -1;
            i++;
            continue;
        }
        size_t j = i;
        while (j < a->n && is_valid_cp(a->v[j])) j++;
        long m = llmc_uc_normalize(form, a->v + i, j - i, &w->cps2, &w->cps2_cap);
        if (m < 0) return -1;
        for (long k = 0; k < m; k++)
            if (cpv_push(b, w->cps2[k])) return -1;
        i = j;
    }
    return 0;
}

static int lowercase(const cpv *a, cpv *b) {
    b->n = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint32_t cp = a->v[i];
        if (!is_valid_cp(cp)) {
            if (cpv_push(b, cp)) return -1;
            continue;
        }
        uint32_t lo[3];
        int k = llmc_uc_lower(cp, lo);
        for (int j = 0; j < k; j++)
            if (cpv_push(b, lo[j])) return -1;
    }
    return 0;
}

static int apply(const tok_normalizer *nm, cpv *a, cpv *b, tok_work *w, tok_buf *tmp);

static int apply_replace(const tok_normalizer *nm, cpv *a, cpv *b, tok_work *w, tok_buf *tmp) {
    if (encode_all(a, tmp)) return -1;
    b->n = 0;
    size_t pos = 0;
    size_t last_end = 0;
    bool have_last = false;
    size_t last_match = 0;
    tok_buf out = {0};
    /* find_iter as Rust's: non-overlapping, empty matches handled as in llmc_regex_find_all */
    while (last_end <= tmp->n) {
        size_t ms, me;
        int r = llmc_regex_search(nm->re, tmp->p, tmp->n, last_end, &ms, &me, &w->rx);
        if (r < 0) {
            tok_buf_free(&out);
            return -1;
        }
        if (r == 0) break;
        if (ms == me) {
            uint32_t cp;
            last_end = me < tmp->n ? me + (size_t)llmc_utf8_decode((const unsigned char *)tmp->p + me, tmp->n - me, &cp)
                                   : tmp->n + 1;
            if (have_last && last_match == me) continue;
        } else {
            last_end = me;
        }
        have_last = true;
        last_match = me;
        if (tok_buf_put(&out, tmp->p + pos, ms - pos) || tok_buf_put(&out, nm->text, nm->text_len)) {
            tok_buf_free(&out);
            return -1;
        }
        pos = me;
    }
    if (tok_buf_put(&out, tmp->p + pos, tmp->n - pos)) {
        tok_buf_free(&out);
        return -1;
    }
    int rc = decode_all(out.p ? out.p : "", out.n, b);
    tok_buf_free(&out);
    return rc;
}

static int apply_bert(const tok_normalizer *nm, cpv *a, cpv *b, tok_work *w) {
    cpv *src = a, *dst = b;
    if (nm->clean_text) {
        dst->n = 0;
        for (size_t i = 0; i < src->n; i++) {
            uint32_t c = src->v[i];
            if (is_valid_cp(c)) {
                /* remove NUL, U+FFFD and control characters (but \t \n \r), then whitespace -> ' ' */
                if (c == 0 || c == 0xFFFD) continue;
                if (c != '\t' && c != '\n' && c != '\r' && is_other(c)) continue;
                if (c == '\t' || c == '\n' || c == '\r' || llmc_uc_is_whitespace(c)) c = ' ';
            }
            if (cpv_push(dst, c)) return -1;
        }
        cpv *t = src;
        src = dst;
        dst = t;
    }
    if (nm->chinese) {
        dst->n = 0;
        for (size_t i = 0; i < src->n; i++) {
            uint32_t c = src->v[i];
            if (is_valid_cp(c) && is_chinese_char(c)) {
                if (cpv_push(dst, ' ') || cpv_push(dst, c) || cpv_push(dst, ' ')) return -1;
            } else if (cpv_push(dst, c)) {
                return -1;
            }
        }
        cpv *t = src;
        src = dst;
        dst = t;
    }
    bool strip = nm->strip_accents < 0 ? nm->lowercase : nm->strip_accents == 1;
    if (strip) {
        if (unicode_form(LLMC_NFD, src, dst, w)) return -1;
        size_t k = 0;
        for (size_t i = 0; i < dst->n; i++)
            if (!is_valid_cp(dst->v[i]) || llmc_uc_gc8(dst->v[i]) != LLMC_GC_Mn) dst->v[k++] = dst->v[i];
        dst->n = k;
        cpv *t = src;
        src = dst;
        dst = t;
    }
    if (nm->lowercase) {
        if (lowercase(src, dst)) return -1;
        cpv *t = src;
        src = dst;
        dst = t;
    }
    /* the result must end up in b */
    if (src != b) {
        b->n = 0;
        for (size_t i = 0; i < src->n; i++)
            if (cpv_push(b, src->v[i])) return -1;
    }
    return 0;
}

/* a -> b */
static int apply(const tok_normalizer *nm, cpv *a, cpv *b, tok_work *w, tok_buf *tmp) {
    switch (nm->type) {
    case NORM_SEQUENCE: {
        cpv *src = a, *dst = b;
        for (size_t i = 0; i < nm->n_items; i++) {
            if (apply(&nm->items[i], src, dst, w, tmp)) return -1;
            cpv *t = src;
            src = dst;
            dst = t;
        }
        if (src != b) {
            b->n = 0;
            for (size_t i = 0; i < src->n; i++)
                if (cpv_push(b, src->v[i])) return -1;
        }
        return 0;
    }
    case NORM_NFC: return unicode_form(LLMC_NFC, a, b, w);
    case NORM_NFD: return unicode_form(LLMC_NFD, a, b, w);
    case NORM_NFKC: return unicode_form(LLMC_NFKC, a, b, w);
    case NORM_NFKD: return unicode_form(LLMC_NFKD, a, b, w);
    case NORM_LOWERCASE: return lowercase(a, b);
    case NORM_STRIP: {
        size_t lo = 0, hi = a->n;
        if (nm->left)
            while (lo < hi && is_valid_cp(a->v[lo]) && llmc_uc_is_whitespace(a->v[lo])) lo++;
        if (nm->right)
            while (hi > lo && is_valid_cp(a->v[hi - 1]) && llmc_uc_is_whitespace(a->v[hi - 1])) hi--;
        b->n = 0;
        for (size_t i = lo; i < hi; i++)
            if (cpv_push(b, a->v[i])) return -1;
        return 0;
    }
    case NORM_STRIP_ACCENTS:
        b->n = 0;
        for (size_t i = 0; i < a->n; i++)
            if (!is_valid_cp(a->v[i]) || !((LLMC_GCM_M >> llmc_uc_gc9(a->v[i])) & 1u))
                if (cpv_push(b, a->v[i])) return -1;
        return 0;
    case NORM_PREPEND:
        b->n = 0;
        if (a->n) {
            cpv pre = {0};
            if (decode_all(nm->text, nm->text_len, &pre)) {
                free(pre.v);
                return -1;
            }
            for (size_t i = 0; i < pre.n; i++)
                if (cpv_push(b, pre.v[i])) {
                    free(pre.v);
                    return -1;
                }
            free(pre.v);
        }
        for (size_t i = 0; i < a->n; i++)
            if (cpv_push(b, a->v[i])) return -1;
        return 0;
    case NORM_REPLACE: return apply_replace(nm, a, b, w, tmp);
    case NORM_BERT: return apply_bert(nm, a, b, w);
    case NORM_BYTE_LEVEL:
        b->n = 0;
        for (size_t i = 0; i < a->n; i++) {
            char u[4];
            uint32_t cp = a->v[i];
            int k = 1;
            if (cp & LLMC_UTF8_INVALID) u[0] = (char)(cp & 0xFF);
            else k = llmc_utf8_encode(cp, u);
            for (int j = 0; j < k; j++)
                if (cpv_push(b, tok_byte_to_char[(unsigned char)u[j]])) return -1;
        }
        return 0;
    }
    return -1;
}

int tok_normalize(const tok_normalizer *nm, const char *s, size_t n, tok_buf *out, tok_work *w) {
    out->n = 0;
    if (!nm) return tok_buf_put(out, s, n);
    cpv a = {w->cps, 0, w->cps_cap}, b = {0};
    tok_buf tmp = {0};
    int rc = decode_all(s, n, &a);
    if (!rc) rc = apply(nm, &a, &b, w, &tmp);
    if (!rc) rc = encode_all(&b, out);
    w->cps = a.v;
    w->cps_cap = a.cap;
    free(b.v);
    tok_buf_free(&tmp);
    return rc;
}
