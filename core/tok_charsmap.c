/* Precompiled charsmap lookup and sentencepiece's normalizer (see tok_charsmap.h).
 *
 * A Darts-clone unit is one u32:  bits 0-7 the label of the edge into the unit (bit 31 set on
 * leaf units, so a leaf never matches a label), bit 8 "has a leaf child", bit 9 selects whether
 * the offset field (bits 10-31) is shifted left by 8, and on leaf units bits 0-30 are the value.
 * From unit u at position p, the child along byte c is at p ^ offset(u) ^ c, and the leaf child
 * (carrying the key's value) at p ^ offset(u). */
#include "tok_charsmap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct llmc_charsmap {
    uint32_t *units;
    size_t n_units;
    char *normalized; /* replacement strings, NUL-separated */
    size_t normalized_len;
};

/* sentencepiece never looks past this many matches for one prefix (normalizer.h) */
#define SPM_MAX_TRIE_RESULTS 32

static inline int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static inline uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static inline size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

llmc_charsmap *llmc_charsmap_create(const void *blob, size_t len, const char *name, const char *key, llmc_diags *d) {
    const unsigned char *b = blob;
    llmc_loc loc = {name, 0, 0};
    if (len <= 4) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "precompiled charsmap of %zu bytes is too short (expected a 4-byte "
                      "trie size, the trie and the replacement strings)", len);
        return NULL;
    }
    uint32_t trie_bytes = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    if (trie_bytes > len - 4) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "precompiled charsmap: trie size %u runs past the end of the blob "
                      "(%zu bytes after the size field)", trie_bytes, len - 4);
        return NULL;
    }
    if (trie_bytes == 0 || trie_bytes % 4) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "precompiled charsmap: trie size %u is not a positive multiple of "
                      "4 (the trie is made of 4-byte units)", trie_bytes);
        return NULL;
    }
    const unsigned char *norm = b + 4 + trie_bytes;
    size_t norm_len = len - 4 - trie_bytes;
    for (size_t i = 0; i < norm_len;) {
        uint32_t cp;
        size_t l = llmc_tokbuf_utf8_decode(norm + i, norm_len - i, &cp);
        if (!l) {
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "precompiled charsmap: replacement strings are not valid UTF-8 "
                          "(byte %zu of the blob)", (size_t)(norm - b) + i);
            return NULL;
        }
        i += l;
    }
    llmc_charsmap *cm = calloc(1, sizeof *cm);
    if (cm) {
        cm->n_units = trie_bytes / 4;
        cm->units = malloc(trie_bytes);
        cm->normalized = malloc(norm_len + 1);
    }
    if (!cm || !cm->units || !cm->normalized) {
        llmc_charsmap_free(cm);
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cm->n_units; i++) {
        const unsigned char *p = b + 4 + 4 * i;
        cm->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    memcpy(cm->normalized, norm, norm_len);
    cm->normalized[norm_len] = '\0';
    cm->normalized_len = norm_len;
    return cm;
}

void llmc_charsmap_free(llmc_charsmap *cm) {
    if (!cm) return;
    free(cm->units);
    free(cm->normalized);
    free(cm);
}

/* the replacement string at value, up to its NUL or the end; false when value is out of range */
static bool replacement(const llmc_charsmap *cm, uint32_t value, const char **out, size_t *out_len) {
    if (value >= cm->normalized_len) return false;
    const char *s = cm->normalized + value;
    const char *e = memchr(s, '\0', cm->normalized_len - value);
    *out = s;
    *out_len = e ? (size_t)(e - s) : cm->normalized_len - value;
    return true;
}

/* Common prefix search. Calls back for each match (length, value) in increasing length; stops when
 * the callback returns false. stop_at_nul: end the key at a NUL byte (spm_precompiled does). */
typedef bool (*match_fn)(void *ctx, size_t length, uint32_t value);

static void prefix_search(const llmc_charsmap *cm, const unsigned char *key, size_t n, bool stop_at_nul,
                          match_fn fn, void *ctx) {
    size_t pos = 0;
    uint32_t u = cm->units[0];
    pos ^= unit_offset(u);
    for (size_t i = 0; i < n; i++) {
        if (stop_at_nul && key[i] == 0) return;
        pos ^= key[i];
        if (pos >= cm->n_units) return;
        u = cm->units[pos];
        if (unit_label(u) != key[i]) return;
        pos ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            if (pos >= cm->n_units) return;
            if (!fn(ctx, i + 1, unit_value(cm->units[pos]))) return;
        }
    }
}

typedef struct {
    const llmc_charsmap *cm;
    int seen;
    size_t length;
    const char *out;
    size_t out_len;
} longest_ctx;

static bool on_longest(void *p, size_t length, uint32_t value) {
    longest_ctx *c = p;
    c->seen++;
    const char *s;
    size_t l;
    if (replacement(c->cm, value, &s, &l)) {
        c->length = length;
        c->out = s;
        c->out_len = l;
    }
    return c->seen < SPM_MAX_TRIE_RESULTS;
}

size_t llmc_charsmap_longest(const llmc_charsmap *cm, const char *s, size_t n, const char **out, size_t *out_len) {
    longest_ctx c = {cm, 0, 0, NULL, 0};
    prefix_search(cm, (const unsigned char *)s, n, false, on_longest, &c);
    if (c.length) {
        *out = c.out;
        *out_len = c.out_len;
    }
    return c.length;
}

typedef struct {
    const llmc_charsmap *cm;
    bool found, valid;
    const char *out;
    size_t out_len;
} first_ctx;

static bool on_first(void *p, size_t length, uint32_t value) {
    (void)length;
    first_ctx *c = p;
    c->found = true;
    c->valid = replacement(c->cm, value, &c->out, &c->out_len);
    return false;
}

bool llmc_charsmap_first(const llmc_charsmap *cm, const char *chunk, size_t n, const char **out, size_t *out_len) {
    first_ctx c = {cm, false, false, NULL, 0};
    prefix_search(cm, (const unsigned char *)chunk, n, true, on_first, &c);
    if (!c.found || !c.valid) return false;
    *out = c.out;
    *out_len = c.out_len;
    return true;
}

/* ---- sentencepiece's normalizer ------------------------------------------------------------ */

struct llmc_spm_normalizer {
    llmc_spm_normalizer_params p;
};

llmc_spm_normalizer_params llmc_spm_normalizer_default_params(void) {
    return (llmc_spm_normalizer_params){true, true, true, false, NULL, NULL};
}

llmc_spm_normalizer *llmc_spm_normalizer_create(const llmc_spm_normalizer_params *p) {
    llmc_spm_normalizer *nm = malloc(sizeof *nm);
    if (nm) nm->p = *p;
    return nm;
}

void llmc_spm_normalizer_free(llmc_spm_normalizer *nm) { free(nm); }

static const char kSpace[] = "\xe2\x96\x81"; /* U+2581, the escaped whitespace */
static const char kReplacement[] = "\xEF\xBF\xBD";

/* The normalized form of the first character(s) of s: (*out, *out_len) and the bytes consumed. */
static size_t normalize_prefix(const llmc_spm_normalizer *nm, const char *s, size_t n, const char **out,
                               size_t *out_len) {
    if (nm->p.user_defined) {
        /* a user-defined piece passes through untouched: the longest one that starts here */
        const llmc_trie *t = nm->p.user_defined;
        int32_t st = 0;
        size_t best = 0;
        for (size_t i = 0; i < n; i++) {
            st = llmc_trie_next(t, st, (unsigned char)s[i]);
            if (st < 0) break;
            if (llmc_trie_value(t, st) >= 0) best = i + 1;
        }
        if (best) {
            *out = s;
            *out_len = best;
            return best;
        }
    }
    if (nm->p.charsmap) {
        size_t len = llmc_charsmap_longest(nm->p.charsmap, s, n, out, out_len);
        if (len) return len;
    }
    uint32_t cp;
    size_t len = llmc_tokbuf_utf8_decode((const unsigned char *)s, n, &cp);
    if (!len) {
        *out = kReplacement; /* one bad byte becomes one U+FFFD */
        *out_len = 3;
        return 1;
    }
    *out = s;
    *out_len = len;
    return len;
}

static bool add_ws(const llmc_spm_normalizer *nm, llmc_tok_bytes *out) {
    return nm->p.escape_whitespaces ? llmc_tok_bytes_append(out, kSpace, 3) : llmc_tok_bytes_append(out, " ", 1);
}

bool llmc_spm_normalize(const llmc_spm_normalizer *nm, const char *text, size_t n, llmc_tok_bytes *out) {
    out->n = 0;
    const char *r;
    size_t rl;
    if (nm->p.remove_extra_whitespaces) {
        /* leading characters that normalize to exactly one space are dropped */
        while (n) {
            size_t used = normalize_prefix(nm, text, n, &r, &rl);
            if (!(rl == 1 && r[0] == ' ')) break;
            text += used;
            n -= used;
        }
    }
    if (!n) return true;
    if (!llmc_tok_bytes_reserve(out, n * 3 + 3)) return false;
    if (!nm->p.treat_whitespace_as_suffix && nm->p.add_dummy_prefix && !add_ws(nm, out)) return false;
    bool prev_space = nm->p.remove_extra_whitespaces;
    while (n) {
        size_t used = normalize_prefix(nm, text, n, &r, &rl);
        /* spaces right after a space are dropped (when removing extra whitespace) */
        while (prev_space && rl && r[0] == ' ') {
            r++;
            rl--;
        }
        if (rl) {
            for (size_t i = 0; i < rl; i++) {
                bool ok = nm->p.escape_whitespaces && r[i] == ' ' ? llmc_tok_bytes_append(out, kSpace, 3)
                                                                   : llmc_tok_bytes_append(out, r + i, 1);
                if (!ok) return false;
            }
            prev_space = r[rl - 1] == ' ';
        }
        text += used;
        n -= used;
        if (!nm->p.remove_extra_whitespaces) prev_space = false;
    }
    if (nm->p.remove_extra_whitespaces) {
        const char *sp = nm->p.escape_whitespaces ? kSpace : " ";
        size_t spl = nm->p.escape_whitespaces ? 3 : 1;
        while (out->n >= spl && memcmp(out->p + out->n - spl, sp, spl) == 0) out->n -= spl;
    }
    if (nm->p.treat_whitespace_as_suffix && nm->p.add_dummy_prefix && !add_ws(nm, out)) return false;
    return true;
}
