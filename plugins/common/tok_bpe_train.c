/* BPE merge learning (tok_bpe_train.h). Words are arrays of piece ids in one buffer; each pair
 * (left, right) has a count (summed over the words holding it, weighted by word frequency) and a
 * list of the words that may hold it. A max-heap orders pairs by count, then by smaller
 * (left, right); entries are checked against the current count when popped (HF's lazy update).
 * A merge rewrites only the words listed for its pair and adjusts the counts of the pairs
 * around each occurrence. */
#include "tok_bpe_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/output.h"

#define BARRIER UINT32_MAX   /* a character without a piece: no pair spans it */

static int utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    int k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if ((size_t)k > n) k = 1;
    for (int i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80) return 1;
    return k;
}

static uint32_t utf8_cp(const unsigned char *s, int k) {
    switch (k) {
    case 1: return s[0];
    case 2: return ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    case 3: return ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    default: return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    }
}

static size_t count_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* ---- pair table: key (left << 32 | right) -> index ------------------------------------------------------ */

typedef struct pair_info {
    uint64_t key;
    int64_t count;
    uint32_t *pos;           /* words that may hold the pair */
    uint32_t n_pos, cap_pos;
} pair_info;

typedef struct pair_table {
    uint32_t *slots;         /* index + 1 into info; 0 = empty */
    size_t cap;
    pair_info *info;
    size_t n, cap_info;
} pair_table;

static inline uint64_t mix(uint64_t k) {
    k ^= k >> 31;
    k *= 0x7FB5D329728EA185ull;
    k ^= k >> 27;
    k *= 0x81DADEF4BC2DD44Dull;
    return k ^ (k >> 33);
}

static int table_grow(pair_table *t) {
    size_t nc = t->cap ? t->cap * 2 : 1 << 16;
    uint32_t *s = calloc(nc, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i]) continue;
        size_t j = (size_t)mix(t->info[t->slots[i] - 1].key) & (nc - 1);
        while (s[j]) j = (j + 1) & (nc - 1);
        s[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = s;
    t->cap = nc;
    return 0;
}

/* index of the pair, inserting it (count 0) when absent; -1 on OOM */
static int64_t table_get(pair_table *t, uint64_t key, bool insert) {
    if (insert && (t->n + 1) * 2 > t->cap && table_grow(t)) return -1;
    if (!t->cap) return -1;
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)mix(key) & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (!s) {
            if (!insert) return -1;
            if (t->n == t->cap_info) {
                size_t nc = t->cap_info ? t->cap_info * 2 : 1 << 15;
                pair_info *q = realloc(t->info, nc * sizeof *q);
                if (!q) return -1;
                t->info = q;
                t->cap_info = nc;
            }
            t->info[t->n] = (pair_info){key, 0, NULL, 0, 0};
            t->slots[i] = (uint32_t)(t->n + 1);
            return (int64_t)t->n++;
        }
        if (t->info[s - 1].key == key) return s - 1;
    }
}

static int pos_add(pair_info *p, uint32_t w) {
    if (p->n_pos && p->pos[p->n_pos - 1] == w) return 0;
    if (p->n_pos == p->cap_pos) {
        uint32_t nc = p->cap_pos ? p->cap_pos * 2 : 4;
        uint32_t *q = realloc(p->pos, nc * sizeof *q);
        if (!q) return -1;
        p->pos = q;
        p->cap_pos = nc;
    }
    p->pos[p->n_pos++] = w;
    return 0;
}

/* ---- heap: max by count, then min by key ------------------------------------------------------------------ */

typedef struct entry {
    int64_t count;
    uint64_t key;
} entry;

typedef struct heap {
    entry *v;
    size_t n, cap;
} heap;

static inline bool above(entry a, entry b) { return a.count != b.count ? a.count > b.count : a.key < b.key; }

static int heap_push(heap *h, entry e) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1 << 16;
        entry *q = realloc(h->v, nc * sizeof *q);
        if (!q) return -1;
        h->v = q;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!above(e, h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
    return 0;
}

static entry heap_pop(heap *h) {
    entry top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        entry best = x;
        if (l < h->n && above(h->v[l], best)) m = l, best = h->v[l];
        if (r < h->n && above(h->v[r], best)) m = r;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n) h->v[i] = x;
    return top;
}

/* ---- training ---------------------------------------------------------------------------------------------- */

typedef struct trainer {
    llmc_tok_builder *b;
    const tok_bpe_opts *o;
    uint32_t *sym;           /* all words' symbols */
    size_t *off;
    uint32_t *len;
    uint64_t *wcount;
    size_t n_words;
    uint32_t *chars;         /* characters per piece id (for max_piece_chars) */
    size_t n_chars_cap;
    pair_table pairs;
    heap h;
    uint32_t *touched;       /* pairs whose count rose during one merge */
    size_t n_touched, cap_touched;
    uint8_t *touched_mark;
    size_t touched_mark_cap;
    size_t prefix_chars;
} trainer;

static bool pair_allowed(const trainer *t, uint32_t a, uint32_t b) {
    if (a == BARRIER || b == BARRIER) return false;
    if (!t->o->max_piece_chars) return true;
    size_t c = t->chars[a] + t->chars[b];
    if (t->o->prefix && t->chars[b] >= t->prefix_chars) c -= t->prefix_chars;
    return c <= t->o->max_piece_chars;
}

static int set_chars(trainer *t, int64_t id) {
    if ((size_t)id >= t->n_chars_cap) {
        size_t nc = t->n_chars_cap ? t->n_chars_cap : 1024;
        while (nc <= (size_t)id) nc *= 2;
        uint32_t *q = realloc(t->chars, nc * sizeof *q);
        if (!q) return -1;
        t->chars = q;
        t->n_chars_cap = nc;
    }
    size_t len;
    const char *p = llmc_tok_builder_piece(t->b, id, &len);
    t->chars[id] = p ? (uint32_t)count_chars(p, len) : 0;
    return 0;
}

static int touch(trainer *t, uint32_t pi) {
    if (pi >= t->touched_mark_cap) {
        size_t nc = t->touched_mark_cap ? t->touched_mark_cap : 1 << 16;
        while (nc <= pi) nc *= 2;
        uint8_t *q = realloc(t->touched_mark, nc);
        if (!q) return -1;
        memset(q + t->touched_mark_cap, 0, nc - t->touched_mark_cap);
        t->touched_mark = q;
        t->touched_mark_cap = nc;
    }
    if (t->touched_mark[pi]) return 0;
    if (t->n_touched == t->cap_touched) {
        size_t nc = t->cap_touched ? t->cap_touched * 2 : 1024;
        uint32_t *q = realloc(t->touched, nc * sizeof *q);
        if (!q) return -1;
        t->touched = q;
        t->cap_touched = nc;
    }
    t->touched[t->n_touched++] = pi;
    t->touched_mark[pi] = 1;
    return 0;
}

/* count += delta for (a, b); on a rise, remember the word and the pair */
static int change(trainer *t, uint32_t a, uint32_t b, int64_t delta, uint32_t w) {
    if (!pair_allowed(t, a, b)) return 0;
    int64_t pi = table_get(&t->pairs, ((uint64_t)a << 32) | b, delta > 0);
    if (pi < 0) return delta > 0 ? -1 : 0;
    pair_info *p = &t->pairs.info[pi];
    p->count += delta;
    if (delta > 0 && (pos_add(p, w) || touch(t, (uint32_t)pi))) return -1;
    return 0;
}

/* replace every (a, b) in word w by id, left to right (Word::merge) */
static int merge_word(trainer *t, uint32_t w, uint32_t a, uint32_t b, uint32_t id) {
    uint32_t *s = t->sym + t->off[w];
    uint32_t n = t->len[w];
    int64_t c = (int64_t)t->wcount[w];
    uint32_t o = 0;
    for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (o > 0 && (change(t, s[o - 1], a, -c, w) || change(t, s[o - 1], id, c, w))) return -1;
            if (i + 2 < n && (change(t, b, s[i + 2], -c, w) || change(t, id, s[i + 2], c, w))) return -1;
            s[o++] = id;
            i += 2;
        } else {
            s[o++] = s[i++];
        }
    }
    t->len[w] = o;
    return 0;
}

static void trainer_free(trainer *t) {
    free(t->sym);
    free(t->off);
    free(t->len);
    free(t->wcount);
    free(t->chars);
    for (size_t i = 0; i < t->pairs.n; i++) free(t->pairs.info[i].pos);
    free(t->pairs.info);
    free(t->pairs.slots);
    free(t->h.v);
    free(t->touched);
    free(t->touched_mark);
}

/* the words as symbol arrays; prefixed characters ("##a") become pieces as needed */
static int build_words(trainer *t, const llmc_tok_corpus_stats *st, llmc_diags *d) {
    size_t total = 0;
    for (size_t i = 0; i < st->n_words; i++) total += st->words[i].len;
    t->sym = malloc((total ? total : 1) * sizeof *t->sym);
    t->off = malloc((st->n_words ? st->n_words : 1) * sizeof *t->off);
    t->len = malloc((st->n_words ? st->n_words : 1) * sizeof *t->len);
    t->wcount = malloc((st->n_words ? st->n_words : 1) * sizeof *t->wcount);
    if (!t->sym || !t->off || !t->len || !t->wcount) {
        llmc_error(d, NULL, "out of memory for %zu words", st->n_words);
        return -1;
    }
    size_t plen = t->o->prefix ? strlen(t->o->prefix) : 0;
    char key[64];
    size_t o = 0;
    for (size_t i = 0; i < st->n_words; i++) {
        const llmc_tok_word *wd = &st->words[i];
        const unsigned char *u = (const unsigned char *)wd->text;
        t->off[i] = o;
        t->wcount[i] = wd->count;
        uint32_t n = 0;
        for (size_t j = 0; j < wd->len;) {
            int k = utf8_len(u + j, wd->len - j);
            int64_t id = llmc_tok_builder_find_piece(t->b, (const char *)u + j, (size_t)k);
            if (id >= 0 && j > 0 && plen) {
                memcpy(key, t->o->prefix, plen);
                memcpy(key + plen, u + j, (size_t)k);
                id = llmc_tok_builder_find_piece(t->b, key, plen + (size_t)k);
                if (id < 0) {
                    id = llmc_tok_builder_add_piece(t->b, key, plen + (size_t)k, 0.0, d);
                    if (id < 0) return -1;
                }
            }
            t->sym[o + n++] = id >= 0 ? (uint32_t)id : BARRIER;
            j += (size_t)k;
        }
        t->len[i] = n;
        o += n;
    }
    t->n_words = st->n_words;
    size_t np = llmc_tok_builder_n_pieces(t->b);
    for (size_t id = 0; id < np; id++)
        if (set_chars(t, (int64_t)id)) return -1;
    return 0;
}

static int add_splits(trainer *t, int64_t id, uint32_t a, uint32_t b, llmc_diags *d) {
    size_t len;
    const char *p = llmc_tok_builder_piece(t->b, id, &len);
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, p, len);
    for (size_t k = 1; k < len; k++) {
        if (((unsigned char)copy[k] & 0xC0) == 0x80) continue;
        int64_t x = llmc_tok_builder_find_piece(t->b, copy, k), y = llmc_tok_builder_find_piece(t->b, copy + k, len - k);
        if (x < 0 || y < 0 || ((uint32_t)x == a && (uint32_t)y == b)) continue;
        if (llmc_tok_builder_add_merge(t->b, x, y, d)) {
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

int tok_bpe_train(const llmc_tok_corpus_stats *st, llmc_tok_builder *b, const tok_bpe_opts *o, llmc_diags *d) {
    trainer t = {0};
    t.b = b;
    t.o = o;
    t.prefix_chars = o->prefix ? count_chars(o->prefix, strlen(o->prefix)) : 0;
    int rc = -1;
    if (build_words(&t, st, d)) goto done;
    /* initial pair counts */
    for (size_t w = 0; w < t.n_words; w++) {
        const uint32_t *s = t.sym + t.off[w];
        for (uint32_t i = 0; i + 1 < t.len[w]; i++)
            if (change(&t, s[i], s[i + 1], (int64_t)t.wcount[w], (uint32_t)w)) goto oom;
    }
    for (size_t i = 0; i < t.pairs.n; i++) {
        if (t.pairs.info[i].count > 0 && heap_push(&t.h, (entry){t.pairs.info[i].count, t.pairs.info[i].key})) goto oom;
        t.touched_mark[i] = 0;
    }
    t.n_touched = 0;
    size_t start = llmc_tok_builder_n_pieces(b);
    llmc_progress *prog =
        o->progress && o->vocab_size > start ? llmc_progress_create("learning merges", o->vocab_size - start) : NULL;
    char *buf = NULL;
    size_t buf_cap = 0;
    uint32_t merges = 0;
    while (llmc_tok_builder_n_pieces(b) < o->vocab_size && t.h.n) {
        entry top = heap_pop(&t.h);
        int64_t pi = table_get(&t.pairs, top.key, false);
        int64_t cur = pi >= 0 ? t.pairs.info[pi].count : 0;
        if (top.count != cur) {
            if (cur > 0 && heap_push(&t.h, (entry){cur, top.key})) goto oom_prog;
            continue;
        }
        if (cur < 1 || (o->min_frequency && (uint64_t)cur < o->min_frequency)) break;
        uint32_t a = (uint32_t)(top.key >> 32), bb = (uint32_t)top.key;
        size_t la, lb;
        const char *pa = llmc_tok_builder_piece(b, a, &la), *pb = llmc_tok_builder_piece(b, bb, &lb);
        size_t strip = 0;
        if (o->prefix) {
            size_t pl = strlen(o->prefix);
            if (lb >= pl && !memcmp(pb, o->prefix, pl)) strip = pl;
        }
        if (la + lb + 1 > buf_cap) {
            buf_cap = (la + lb + 1) * 2;
            char *q = realloc(buf, buf_cap);
            if (!q) goto oom_prog;
            buf = q;
        }
        memcpy(buf, pa, la);
        memcpy(buf + la, pb + strip, lb - strip);
        size_t nl = la + lb - strip;
        int64_t id = llmc_tok_builder_find_piece(b, buf, nl);
        bool is_new = id < 0;
        if (is_new) {
            id = llmc_tok_builder_add_piece(b, buf, nl, 0.0, d);
            if (id < 0 || set_chars(&t, id)) goto fail_prog;
        }
        if (llmc_tok_builder_add_merge(b, a, bb, d)) goto fail_prog;
        if (o->all_splits && is_new && add_splits(&t, id, a, bb, d)) goto fail_prog;
        merges++;
        /* rewrite the words that hold the pair */
        pair_info *p = &t.pairs.info[pi];
        uint32_t *pos = p->pos;
        uint32_t n_pos = p->n_pos;
        p->pos = NULL;
        p->n_pos = p->cap_pos = 0;
        for (uint32_t k = 0; k < n_pos; k++)
            if (merge_word(&t, pos[k], a, bb, (uint32_t)id)) {
                free(pos);
                goto oom_prog;
            }
        free(pos);
        t.pairs.info[pi].count = 0;
        for (size_t k = 0; k < t.n_touched; k++) {
            uint32_t q = t.touched[k];
            t.touched_mark[q] = 0;
            if (t.pairs.info[q].count > 0 && heap_push(&t.h, (entry){t.pairs.info[q].count, t.pairs.info[q].key}))
                goto oom_prog;
        }
        t.n_touched = 0;
        if (prog) llmc_progress_update(prog, llmc_tok_builder_n_pieces(b) - start);
    }
    llmc_progress_free(prog);
    free(buf);
    rc = 0;
    goto done;
oom_prog:
    llmc_error(d, NULL, "out of memory while learning merges");
fail_prog:
    llmc_progress_free(prog);
    free(buf);
    goto done;
oom:
    llmc_error(d, NULL, "out of memory while counting pairs");
done:
    trainer_free(&t);
    return rc;
}

static int cmp_cp(const void *a, const void *b) {
    uint32_t x = ((const llmc_tok_char_count *)a)->codepoint, y = ((const llmc_tok_char_count *)b)->codepoint;
    return x < y ? -1 : x > y;
}

static int cmp_freq(const void *a, const void *b) {
    const llmc_tok_char_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->codepoint < y->codepoint ? -1 : x->codepoint > y->codepoint;
}

long tok_bpe_add_alphabet(const llmc_tok_corpus_stats *st, llmc_tok_builder *b, double coverage, uint32_t required,
                          llmc_diags *d) {
    size_t n = st->n_chars;
    llmc_tok_char_count *c = malloc((n ? n : 1) * sizeof *c);
    if (!c) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    memcpy(c, st->chars, n * sizeof *c);
    size_t keep = n;
    if (coverage > 0 && coverage < 1) {
        qsort(c, n, sizeof *c, cmp_freq);
        uint64_t total = 0, acc = 0;
        for (size_t i = 0; i < n; i++) total += c[i].count;
        keep = 0;
        while (keep < n && (double)acc < coverage * (double)total) acc += c[keep++].count;
        for (size_t i = keep; i < n; i++)
            if (c[i].codepoint == required) {
                llmc_tok_char_count x = c[i];
                c[i] = c[keep];
                c[keep++] = x;
            }
    }
    qsort(c, keep, sizeof *c, cmp_cp);
    long added = 0;
    for (size_t i = 0; i < keep; i++) {
        uint32_t cp = c[i].codepoint;
        /* not a character (invalid bytes), or U+0000, which a tokenizer.json key cannot hold for
         * every reader (byte fallback or the unknown token covers both) */
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
        char u[4];
        size_t k;
        if (cp < 0x80) u[0] = (char)cp, k = 1;
        else if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
        else if (cp < 0x10000)
            u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
            k = 3;
        else
            u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
        if (llmc_tok_builder_find_piece(b, u, k) >= 0) continue;
        if (llmc_tok_builder_add_piece(b, u, k, 0.0, d) < 0) {
            free(c);
            return -1;
        }
        added++;
    }
    (void)utf8_cp;
    free(c);
    return added;
}
