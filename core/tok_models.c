/* Models (HF tokenizers src/models): BPE (merge_word + Word::merge_all: a min-heap of
 * (rank, position) with HF's stale-entry checks, byte fallback, unk fusing, continuing-subword
 * prefix / end-of-word suffix, ignore_merges), WordPiece (greedy longest match first),
 * WordLevel, and Unigram through core/tok_unigram.c. A per-handle cache maps a pre-token to its
 * ids, so a word is segmented once. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_unicode.h"

#if defined(__has_include)
#if __has_include("tok_unigram.h")
#include "tok_unigram.h"
#define LLMC_HAVE_UNIGRAM 1
#endif
#endif

#define CACHE_MAX_WORD 256          /* bytes; longer words are not cached (as HF's MAX_LENGTH) */
#define CACHE_MAX_ENTRIES (1u << 17)
#define CACHE_MAX_IDS (1u << 22)

typedef struct symbol {
    uint32_t id;
    int32_t prev, next;
    uint32_t len;
} symbol;

typedef struct merge {
    uint32_t rank, pos, id;
} merge;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* ---- the merge heap: min by (rank, pos) ------------------------------------------------------------------ */

static inline bool before(merge a, merge b) { return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos; }

static void heap_push(merge *h, size_t *n, merge x) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(x, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static merge heap_pop(merge *h, size_t *n) {
    merge top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        merge best = x;
        if (l < *n && before(h[l], best)) m = l, best = h[l];
        if (r < *n && before(h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = x;
    return top;
}

/* ---- BPE -------------------------------------------------------------------------------------------------- */

typedef struct word {
    symbol *s;
    size_t n;
} word;

static int word_add(tok_work *w, word *wd, uint32_t id, uint32_t len) {
    if (grow(&w->symbols, &w->symbols_cap, wd->n + 1, sizeof(symbol))) return -1;
    wd->s = w->symbols;
    int32_t i = (int32_t)wd->n;
    wd->s[wd->n++] = (symbol){id, i - 1, -1, len};
    if (i > 0) wd->s[i - 1].next = i;
    return 0;
}

static int64_t lookup_piece(const tok_model *m, tok_work *w, const char *c, size_t clen, bool first, bool last,
                            const char **key, size_t *key_len) {
    bool pre = !first && m->prefix_len, suf = last && m->suffix_len;
    if (!pre && !suf) {
        *key = c;
        *key_len = clen;
        return llmc_strmap_get(&m->piece_to_id, c, clen);
    }
    w->key.n = 0;
    if ((pre && tok_buf_put(&w->key, m->prefix, m->prefix_len)) || tok_buf_put(&w->key, c, clen) ||
        (suf && tok_buf_put(&w->key, m->suffix, m->suffix_len)))
        return -2;
    *key = w->key.p;
    *key_len = w->key.n;
    return llmc_strmap_get(&m->piece_to_id, w->key.p, w->key.n);
}

static int bpe_encode(const tok_model *m, tok_work *w, const char *s, size_t n, llmc_tok_ids *out) {
    if (m->ignore_merges) {
        int64_t id = llmc_strmap_get(&m->piece_to_id, s, n);
        if (id >= 0) return llmc_tok_ids_push(out, (uint32_t)id);
    }
    word wd = {w->symbols, 0};
    bool have_unk = false;
    uint32_t unk_len = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = (size_t)llmc_utf8_decode(u + i, n - i, &cp);
        bool first = i == 0, last = i + k == n;
        const char *key;
        size_t key_len;
        int64_t id = lookup_piece(m, w, s + i, k, first, last, &key, &key_len);
        if (id == -2) return -1;
        if (id >= 0) {
            if (have_unk) {
                if (word_add(w, &wd, (uint32_t)m->unk_id, unk_len)) return -1;
                have_unk = false;
            }
            if (word_add(w, &wd, (uint32_t)id, (uint32_t)k)) return -1;
            i += k;
            continue;
        }
        if (m->byte_fallback) {
            bool all = true;
            for (size_t b = 0; b < key_len; b++)
                if (m->byte_ids[(unsigned char)key[b]] == UINT32_MAX) all = false;
            if (all) {
                /* copy first: key may live in w->key, which word_add does not touch */
                for (size_t b = 0; b < key_len; b++)
                    if (word_add(w, &wd, m->byte_ids[(unsigned char)key[b]], 1)) return -1;
                i += k;
                continue;
            }
        }
        if (m->unk_missing) return TOK_ERR_UNK;
        if (m->unk_id >= 0) {
            if (have_unk && m->fuse_unk) {
                unk_len += (uint32_t)k;
            } else {
                if (have_unk && word_add(w, &wd, (uint32_t)m->unk_id, unk_len)) return -1;
                have_unk = true;
                unk_len = (uint32_t)k;
            }
        }
        i += k;
    }
    if (have_unk && word_add(w, &wd, (uint32_t)m->unk_id, unk_len)) return -1;
    /* Word::merge_all */
    if (wd.n > 1 && m->n_merges) {
        if (grow(&w->heap, &w->heap_cap, wd.n * 2 + 8, sizeof(merge))) return -1;
        merge *h = w->heap;
        size_t hn = 0, hcap = w->heap_cap;
        for (size_t i = 0; i + 1 < wd.n; i++) {
            const llmc_pairmap_entry *e = llmc_pairmap_get(&m->merges, wd.s[i].id, wd.s[i + 1].id);
            if (e) heap_push(h, &hn, (merge){e->rank, (uint32_t)i, e->id});
        }
        while (hn) {
            merge top = heap_pop(h, &hn);
            symbol *cur = &wd.s[top.pos];
            if (cur->len == 0 || cur->next == -1) continue;
            size_t next_pos = (size_t)cur->next;
            symbol right = wd.s[next_pos];
            const llmc_pairmap_entry *e = llmc_pairmap_get(&m->merges, cur->id, right.id);
            if (!e || e->id != top.id) continue;
            cur->id = top.id;
            cur->len += right.len;
            cur->next = right.next;
            wd.s[next_pos].len = 0;
            if (right.next > -1 && (size_t)right.next < wd.n) wd.s[right.next].prev = (int32_t)top.pos;
            /* at most two pushes: keep room */
            if (hn + 2 > hcap) {
                if (grow(&w->heap, &w->heap_cap, hn + 2, sizeof(merge))) return -1;
                h = w->heap;
                hcap = w->heap_cap;
            }
            if (cur->prev >= 0) {
                e = llmc_pairmap_get(&m->merges, wd.s[cur->prev].id, cur->id);
                if (e) heap_push(h, &hn, (merge){e->rank, (uint32_t)cur->prev, e->id});
            }
            if (cur->next >= 0 && (size_t)cur->next < wd.n) {
                e = llmc_pairmap_get(&m->merges, cur->id, wd.s[cur->next].id);
                if (e) heap_push(h, &hn, (merge){e->rank, top.pos, e->id});
            }
        }
    }
    if (llmc_tok_ids_reserve(out, out->n + wd.n)) return -1;
    for (size_t i = 0; i < wd.n; i++)
        if (wd.s[i].len) out->ids[out->n++] = wd.s[i].id;
    return 0;
}

/* ---- WordPiece / WordLevel ------------------------------------------------------------------------------- */

static int wordpiece_encode(const tok_model *m, tok_work *w, const char *s, size_t n, llmc_tok_ids *out) {
    size_t chars = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)llmc_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        chars++;
    }
    if (chars > m->max_input_chars_per_word) {
        if (m->unk_id < 0) return TOK_ERR_UNK;
        return llmc_tok_ids_push(out, (uint32_t)m->unk_id);
    }
    size_t mark = out->n;
    size_t start = 0;
    while (start < n) {
        size_t end = n;
        int64_t found = -1;
        while (start < end) {
            int64_t id;
            if (start > 0) {
                w->key.n = 0;
                if (tok_buf_put(&w->key, m->prefix, m->prefix_len) || tok_buf_put(&w->key, s + start, end - start))
                    return -1;
                id = llmc_strmap_get(&m->piece_to_id, w->key.p, w->key.n);
            } else {
                id = llmc_strmap_get(&m->piece_to_id, s, end);
            }
            if (id >= 0) {
                found = id;
                break;
            }
            /* drop the last character */
            size_t b = end - 1;
            while (b > start && ((unsigned char)s[b] & 0xC0) == 0x80 && end - b < 4) b--;
            uint32_t cp;
            if ((size_t)llmc_utf8_decode((const unsigned char *)s + b, end - b, &cp) != end - b) b = end - 1;
            end = b;
        }
        if (found < 0) {
            out->n = mark;
            if (m->unk_id < 0) return TOK_ERR_UNK;
            return llmc_tok_ids_push(out, (uint32_t)m->unk_id);
        }
        if (llmc_tok_ids_push(out, (uint32_t)found)) return -1;
        start = end;
    }
    return 0;
}

static int wordlevel_encode(const tok_model *m, const char *s, size_t n, llmc_tok_ids *out) {
    int64_t id = llmc_strmap_get(&m->piece_to_id, s, n);
    if (id < 0 && m->unk_id < 0) return TOK_ERR_UNK;
    return llmc_tok_ids_push(out, (uint32_t)(id >= 0 ? id : m->unk_id));
}

static int encode_uncached(const tok_core *c, tok_work *w, const char *s, size_t n, llmc_tok_ids *out) {
    const tok_model *m = &c->model;
    switch (m->type) {
    case MODEL_BPE: return bpe_encode(m, w, s, n, out);
    case MODEL_WORDPIECE: return wordpiece_encode(m, w, s, n, out);
    case MODEL_WORDLEVEL: return wordlevel_encode(m, s, n, out);
    case MODEL_UNIGRAM:
#ifdef LLMC_HAVE_UNIGRAM
        return llmc_tok_unigram_encode(m->unigram, s, n, out);
#else
        return -1;
#endif
    }
    return -1;
}

static void cache_reset(tok_work *w) {
    llmc_strmap_clear(&w->cache);
    w->cache_ids_n = 0;
    w->cache_span_n = 0;
}

int tok_model_encode(const tok_core *c, tok_work *w, const char *s, size_t n, llmc_tok_ids *out) {
    if (n == 0) return 0;
    if (n >= CACHE_MAX_WORD) return encode_uncached(c, w, s, n, out);
    uint64_t h = llmc_strmap_hash(s, n);
    int64_t e = llmc_strmap_get_h(&w->cache, s, n, h);
    if (e >= 0) {
        uint64_t span = w->cache_span[e];
        size_t off = (size_t)(span >> 16), cnt = (size_t)(span & 0xFFFF);
        if (llmc_tok_ids_reserve(out, out->n + cnt)) return -1;
        memcpy(out->ids + out->n, w->cache_ids + off, cnt * sizeof *out->ids);
        out->n += cnt;
        return 0;
    }
    size_t mark = out->n;
    int rc = encode_uncached(c, w, s, n, out);
    if (rc) return rc;
    size_t cnt = out->n - mark;
    if (cnt > 0xFFFF) return 0;
    if (w->cache.count >= CACHE_MAX_ENTRIES || w->cache_ids_n + cnt > CACHE_MAX_IDS) cache_reset(w);
    if (grow((void **)&w->cache_ids, &w->cache_ids_cap, w->cache_ids_n + cnt, sizeof *w->cache_ids) ||
        grow((void **)&w->cache_span, &w->cache_span_cap, w->cache_span_n + 1, sizeof *w->cache_span))
        return 0; /* no room to cache: the ids are right anyway */
    bool inserted;
    uint32_t *slot = llmc_strmap_upsert(&w->cache, s, n, (uint32_t)w->cache_span_n, &inserted);
    if (!slot) return 0;
    memcpy(w->cache_ids + w->cache_ids_n, out->ids + mark, cnt * sizeof *out->ids);
    w->cache_span[w->cache_span_n++] = ((uint64_t)w->cache_ids_n << 16) | cnt;
    w->cache_ids_n += cnt;
    return 0;
}
