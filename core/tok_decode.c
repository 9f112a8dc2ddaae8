/* Decoders (HF tokenizers src/decoders): a chain of token-list -> token-list steps, then the
 * tokens joined (Decoder::decode). lossy = HF's handling of bytes that are not UTF-8
 * (ByteLevel: String::from_utf8_lossy; ByteFallback: one U+FFFD per byte); without it the
 * exact bytes come out (llmc_tokenizer_decode_bytes: decode(encode(x)) == x). */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_unicode.h"

typedef struct toks {
    tok_buf buf;
    size_t *off, *len;
    size_t n, cap;
} toks;

static void toks_free(toks *t) {
    tok_buf_free(&t->buf);
    free(t->off);
    free(t->len);
    memset(t, 0, sizeof *t);
}

static void toks_clear(toks *t) {
    t->n = 0;
    t->buf.n = 0;
}

/* start a new token (its bytes are appended to buf afterwards) */
static int toks_begin(toks *t) {
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        size_t *o = realloc(t->off, nc * sizeof *o);
        if (!o) return -1;
        t->off = o;
        size_t *l = realloc(t->len, nc * sizeof *l);
        if (!l) return -1;
        t->len = l;
        t->cap = nc;
    }
    t->off[t->n] = t->buf.n;
    t->len[t->n] = 0;
    t->n++;
    return 0;
}
static void toks_end(toks *t) { t->len[t->n - 1] = t->buf.n - t->off[t->n - 1]; }

static int toks_add(toks *t, const char *s, size_t n) {
    if (toks_begin(t) || tok_buf_put(&t->buf, s, n)) return -1;
    toks_end(t);
    return 0;
}

/* the i-th token's bytes; a list of empty tokens may have no buffer at all (NULL + 0 is undefined) */
static const char *tok_at(const toks *t, size_t i) { return t->buf.p ? t->buf.p + t->off[i] : ""; }
#define TOK(t, i) tok_at((t), (i))

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD */
static int lossy_utf8(tok_buf *out, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int k = llmc_utf8_decode(u + i, n - i, &cp);
        if (!(cp & LLMC_UTF8_INVALID)) {
            if (tok_buf_put(out, s + i, (size_t)k)) return -1;
            i += (size_t)k;
            continue;
        }
        /* length of the maximal prefix of a valid sequence starting here (at least 1) */
        unsigned c = u[i];
        size_t need = 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        }
        size_t j = i + 1;
        if (need) {
            if (j < n && u[j] >= lo && u[j] <= hi) {
                j++;
                for (size_t k2 = 1; k2 < need && j < n && u[j] >= 0x80 && u[j] <= 0xBF; k2++) j++;
            }
        }
        if (tok_buf_put(out, REPLACEMENT, 3)) return -1;
        i = j;
    }
    return 0;
}

static int str_replace_all(tok_buf *out, const char *s, size_t n, const char *pat, size_t pl, const char *rep,
                           size_t rl) {
    size_t i = 0;
    if (pl == 0) return tok_buf_put(out, s, n);
    while (i < n) {
        if (i + pl <= n && !memcmp(s + i, pat, pl)) {
            if (tok_buf_put(out, rep, rl)) return -1;
            i += pl;
        } else {
            if (tok_buf_putc(out, s[i])) return -1;
            i++;
        }
    }
    return 0;
}

/* decoders::wordpiece::cleanup */
static int cleanup(tok_buf *dst, const char *s, size_t n) {
    static const char *const pairs[][2] = {{" .", "."},     {" ?", "?"},   {" !", "!"},       {" ,", ","},
                                           {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
                                           {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
    tok_buf a = {0}, b = {0};
    if (tok_buf_put(&a, s, n)) return -1;
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        b.n = 0;
        if (tok_buf_reserve(&b, 1) ||
            str_replace_all(&b, a.p, a.n, pairs[k][0], strlen(pairs[k][0]), pairs[k][1], strlen(pairs[k][1]))) {
            tok_buf_free(&a);
            tok_buf_free(&b);
            return -1;
        }
        tok_buf t = a;
        a = b;
        b = t;
    }
    int rc = tok_buf_put(dst, a.p, a.n);
    tok_buf_free(&a);
    tok_buf_free(&b);
    return rc;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<0xNN>" as u8::from_str_radix(&token[3..5], 16) reads it (a leading '+' is accepted) */
static int byte_token(const char *t, size_t n) {
    if (n != 6 || memcmp(t, "<0x", 3) || t[5] != '>') return -1;
    if (t[3] == '+') return hexval(t[4]);
    int a = hexval(t[3]), b = hexval(t[4]);
    if (a < 0 || b < 0) return -1;
    return a * 16 + b;
}

static int flush_bytes(toks *out, tok_buf *bytes, bool lossy) {
    if (!bytes->n) return 0;
    if (!lossy || llmc_utf8_valid(bytes->p, bytes->n)) {
        if (toks_add(out, bytes->p, bytes->n)) return -1;
    } else {
        for (size_t i = 0; i < bytes->n; i++)
            if (toks_add(out, REPLACEMENT, 3)) return -1;
    }
    bytes->n = 0;
    return 0;
}

static int decode_step(const tok_decoder *dc, toks *in, toks *out, bool lossy);

static int decode_chain(const tok_decoder *dc, toks **in, toks **out, bool lossy) {
    if (dc->type == DEC_SEQUENCE) {
        for (size_t i = 0; i < dc->n_items; i++)
            if (decode_chain(&dc->items[i], in, out, lossy)) return -1;
        return 0;
    }
    toks_clear(*out);
    if (decode_step(dc, *in, *out, lossy)) return -1;
    toks *t = *in;
    *in = *out;
    *out = t;
    return 0;
}

static int decode_step(const tok_decoder *dc, toks *in, toks *out, bool lossy) {
    switch (dc->type) {
    case DEC_SEQUENCE: return -1;
    case DEC_BYTE_LEVEL: {
        tok_buf bytes = {0};
        int rc = 0;
        for (size_t i = 0; i < in->n && !rc; i++) {
            const unsigned char *u = (const unsigned char *)TOK(in, i);
            size_t n = in->len[i], mark = bytes.n;
            bool all = true;
            for (size_t j = 0; j < n && !rc;) {
                uint32_t cp;
                int k = llmc_utf8_decode(u + j, n - j, &cp);
                int b = (cp & LLMC_UTF8_INVALID) ? -1 : tok_char_to_byte(cp);
                if (b < 0) {
                    all = false;
                    break;
                }
                rc = tok_buf_putc(&bytes, (char)b);
                j += (size_t)k;
            }
            if (!all) {
                bytes.n = mark;
                rc = tok_buf_put(&bytes, (const char *)u, n);
            }
        }
        if (!rc) {
            if (toks_begin(out)) rc = -1;
            else if (lossy) rc = lossy_utf8(&out->buf, bytes.p ? bytes.p : "", bytes.n);
            else rc = tok_buf_put(&out->buf, bytes.p ? bytes.p : "", bytes.n);
            if (!rc) toks_end(out);
        }
        tok_buf_free(&bytes);
        return rc;
    }
    case DEC_METASPACE: {
        char rep[4];
        int rl = llmc_utf8_encode(dc->replacement, rep);
        for (size_t i = 0; i < in->n; i++) {
            if (toks_begin(out)) return -1;
            const char *t = TOK(in, i);
            size_t n = in->len[i];
            for (size_t j = 0; j < n;) {
                if (j + (size_t)rl <= n && !memcmp(t + j, rep, (size_t)rl)) {
                    if (!(i == 0 && dc->prepend != PREPEND_NEVER) && tok_buf_putc(&out->buf, ' ')) return -1;
                    j += (size_t)rl;
                } else {
                    if (tok_buf_putc(&out->buf, t[j])) return -1;
                    j++;
                }
            }
            toks_end(out);
        }
        return 0;
    }
    case DEC_WORDPIECE:
        for (size_t i = 0; i < in->n; i++) {
            const char *t = TOK(in, i);
            size_t n = in->len[i];
            tok_buf tmp = {0};
            int rc = 0;
            if (i != 0) {
                if (n >= dc->text_len && !memcmp(t, dc->text, dc->text_len)) rc = tok_buf_put(&tmp, t + dc->text_len, n - dc->text_len);
                else rc = tok_buf_putc(&tmp, ' ') || tok_buf_put(&tmp, t, n);
            } else {
                rc = tok_buf_put(&tmp, t, n);
            }
            if (!rc) rc = toks_begin(out);
            if (!rc) rc = dc->cleanup ? cleanup(&out->buf, tmp.p ? tmp.p : "", tmp.n) : tok_buf_put(&out->buf, tmp.p ? tmp.p : "", tmp.n);
            tok_buf_free(&tmp);
            if (rc) return -1;
            toks_end(out);
        }
        return 0;
    case DEC_BYTE_FALLBACK: {
        tok_buf bytes = {0};
        int rc = 0;
        for (size_t i = 0; i < in->n && !rc; i++) {
            int b = byte_token(TOK(in, i), in->len[i]);
            if (b >= 0) {
                rc = tok_buf_putc(&bytes, (char)b);
                continue;
            }
            rc = flush_bytes(out, &bytes, lossy);
            if (!rc) rc = toks_add(out, TOK(in, i), in->len[i]);
        }
        if (!rc) rc = flush_bytes(out, &bytes, lossy);
        tok_buf_free(&bytes);
        return rc;
    }
    case DEC_FUSE:
        if (toks_begin(out)) return -1;
        for (size_t i = 0; i < in->n; i++)
            if (tok_buf_put(&out->buf, TOK(in, i), in->len[i])) return -1;
        toks_end(out);
        return 0;
    case DEC_STRIP: {
        char c[4];
        int cl = llmc_utf8_encode(dc->replacement, c);
        for (size_t i = 0; i < in->n; i++) {
            const char *t = TOK(in, i);
            size_t n = in->len[i];
            size_t lo = 0, hi = n;
            for (size_t k = 0; k < dc->start && lo + (size_t)cl <= hi && !memcmp(t + lo, c, (size_t)cl); k++)
                lo += (size_t)cl;
            for (size_t k = 0; k < dc->stop && hi >= lo + (size_t)cl && !memcmp(t + hi - cl, c, (size_t)cl); k++)
                hi -= (size_t)cl;
            if (toks_add(out, t + lo, hi - lo)) return -1;
        }
        return 0;
    }
    case DEC_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            const char *t = TOK(in, i);
            size_t n = in->len[i], pos = 0, last_end = 0, last_match = 0;
            bool have_last = false;
            llmc_regex_scratch rx = {0};
            if (toks_begin(out)) return -1;
            while (last_end <= n) {
                size_t ms, me;
                int r = llmc_regex_search(dc->re, t, n, last_end, &ms, &me, &rx);
                if (r < 0) {
                    llmc_regex_scratch_free(&rx);
                    return -1;
                }
                if (r == 0) break;
                if (ms == me) {
                    uint32_t cp;
                    last_end = me < n ? me + (size_t)llmc_utf8_decode((const unsigned char *)t + me, n - me, &cp) : n + 1;
                    if (have_last && last_match == me) continue;
                } else {
                    last_end = me;
                }
                have_last = true;
                last_match = me;
                if (tok_buf_put(&out->buf, t + pos, ms - pos) || tok_buf_put(&out->buf, dc->text, dc->text_len)) {
                    llmc_regex_scratch_free(&rx);
                    return -1;
                }
                pos = me;
                /* the token may have moved: the input buffer is separate from out's */
            }
            llmc_regex_scratch_free(&rx);
            if (tok_buf_put(&out->buf, t + pos, n - pos)) return -1;
            toks_end(out);
        }
        return 0;
    case DEC_BPE:
        for (size_t i = 0; i < in->n; i++) {
            if (toks_begin(out)) return -1;
            const char *rep = i + 1 == in->n ? "" : " ";
            if (str_replace_all(&out->buf, TOK(in, i), in->len[i], dc->text, dc->text_len, rep, strlen(rep))) return -1;
            toks_end(out);
        }
        return 0;
    case DEC_CTC:
        for (size_t i = 0; i < in->n; i++) {
            if (i > 0 && in->len[i] == in->len[i - 1] && !memcmp(TOK(in, i), TOK(in, i - 1), in->len[i])) continue;
            tok_buf a = {0}, b = {0};
            int rc = tok_buf_reserve(&a, 1) || str_replace_all(&a, TOK(in, i), in->len[i], dc->text, dc->text_len, "", 0);
            if (!rc && dc->cleanup) {
                rc = cleanup(&b, a.p, a.n);
                a.n = 0;
                if (!rc) rc = str_replace_all(&a, b.p ? b.p : "", b.n, dc->text2, dc->text2_len, " ", 1);
            }
            if (!rc && a.n) rc = toks_add(out, a.p, a.n);
            tok_buf_free(&a);
            tok_buf_free(&b);
            if (rc) return -1;
        }
        return 0;
    }
    return -1;
}

int tok_decode_tokens(const tok_decoder *dec, const char *const *tok, const size_t *len, size_t n, bool lossy,
                      tok_buf *out) {
    out->n = 0;
    if (tok_buf_reserve(out, 1)) return -1;
    out->p[0] = '\0';
    if (!dec) {
        for (size_t i = 0; i < n; i++)
            if ((i && tok_buf_putc(out, ' ')) || tok_buf_put(out, tok[i], len[i])) return -1;
        return 0;
    }
    toks a = {0}, b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = toks_add(&a, tok[i], len[i]);
    toks *in = &a, *o = &b;
    if (!rc) rc = decode_chain(dec, &in, &o, lossy);
    for (size_t i = 0; !rc && i < in->n; i++) rc = tok_buf_put(out, TOK(in, i), in->len[i]);
    toks_free(&a);
    toks_free(&b);
    return rc;
}
