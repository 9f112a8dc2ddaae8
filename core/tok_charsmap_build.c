/* Writing a SentencePiece precompiled charsmap (the format tok_charsmap.h reads) for NFKC.
 *
 * The rules are the ones sentencepiece's builder derives for its "nfkc" rule (builder.cc,
 * BuildNFKCMap), computed from llmc's own Unicode tables instead of ICU:
 *   1. every character whose NFKC form differs from itself maps to that form;
 *   2. every character that fully decomposes (NFKD) into several characters which NFC composes
 *      again yields rules for all spellings of that decomposition (each of its characters
 *      replaced by any character with that one-character NFKD), mapping to the NFC form;
 *   3. a longer rule is dropped when the shorter rules, applied longest match first, already
 *      give its result.
 * nmt_nfkc adds its whitespace and control-character rules (tok_charsmap.h) before step 3.
 * Applied by sentencepiece's longest-prefix matcher this is NFKC for text in which combining
 * marks are in canonical order and decomposed sequences are single characters' decompositions
 * (what text normally holds); it is how sentencepiece itself approximates NFKC.
 *
 * The trie is a Darts-clone double array: unit 0 is the root; a node's children sit at
 * base ^ label, its key's value (if the key ends there) at base ^ 0; every base belongs to one
 * subtree (nodes with identical subtrees share it), so a label check at a slot is enough to
 * tell whose child it is. Unused slots get bit 31
 * set, which no byte label matches. */
#include <stdlib.h>
#include <string.h>

#include "tok_charsmap.h"
#include "tok_unicode.h"

/* ---- rules: code point sequences -> code point sequences ------------------------------------------------ */

typedef struct {
    uint32_t key_at, key_n, val_at, val_n; /* into the pool */
    bool live;
} rule;

typedef struct {
    uint32_t *pool;
    size_t pool_n, pool_cap;
    rule *rules;
    size_t n, cap;
    int64_t *slots; /* open addressing: rule index or -1 */
    size_t n_slots;
} rule_map;

static uint64_t hash_cps(const uint32_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static bool pool_put(rule_map *m, const uint32_t *s, size_t n, uint32_t *at) {
    if (m->pool_n + n > m->pool_cap) {
        size_t nc = m->pool_cap ? m->pool_cap : 1 << 16;
        while (nc < m->pool_n + n) nc *= 2;
        uint32_t *p = realloc(m->pool, nc * sizeof *p);
        if (!p) return false;
        m->pool = p;
        m->pool_cap = nc;
    }
    if (n) memcpy(m->pool + m->pool_n, s, n * sizeof *s);
    *at = (uint32_t)m->pool_n;
    m->pool_n += n;
    return true;
}

/* the slot holding key, or the empty slot where it would go */
static size_t find_slot(const rule_map *m, const uint32_t *key, size_t n) {
    size_t mask = m->n_slots - 1, i = (size_t)hash_cps(key, n) & mask;
    for (;; i = (i + 1) & mask) {
        int64_t r = m->slots[i];
        if (r < 0) return i;
        const rule *x = &m->rules[r];
        if (x->key_n == n && !memcmp(m->pool + x->key_at, key, n * sizeof *key)) return i;
    }
}

static bool grow_slots(rule_map *m) {
    size_t ns = m->n_slots ? m->n_slots * 2 : 1 << 12;
    int64_t *s = malloc(ns * sizeof *s);
    if (!s) return false;
    for (size_t i = 0; i < ns; i++) s[i] = -1;
    free(m->slots);
    m->slots = s;
    m->n_slots = ns;
    for (size_t r = 0; r < m->n; r++) {
        const rule *x = &m->rules[r];
        m->slots[find_slot(m, m->pool + x->key_at, x->key_n)] = (int64_t)r;
    }
    return true;
}

static const rule *map_get(const rule_map *m, const uint32_t *key, size_t n) {
    if (!m->n_slots) return NULL;
    int64_t r = m->slots[find_slot(m, key, n)];
    return r >= 0 && m->rules[r].live ? &m->rules[r] : NULL;
}

/* add or replace key -> val */
static bool map_set(rule_map *m, const uint32_t *key, size_t kn, const uint32_t *val, size_t vn) {
    if ((m->n + 1) * 2 > m->n_slots && !grow_slots(m)) return false;
    size_t s = find_slot(m, key, kn);
    rule x = {0, (uint32_t)kn, 0, (uint32_t)vn, true};
    if (!pool_put(m, val, vn, &x.val_at)) return false;
    if (m->slots[s] >= 0) {
        rule *old = &m->rules[m->slots[s]];
        old->val_at = x.val_at;
        old->val_n = x.val_n;
        old->live = true;
        return true;
    }
    if (!pool_put(m, key, kn, &x.key_at)) return false;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 4096;
        rule *p = realloc(m->rules, nc * sizeof *p);
        if (!p) return false;
        m->rules = p;
        m->cap = nc;
    }
    m->slots[s] = (int64_t)m->n;
    m->rules[m->n++] = x;
    return true;
}

static void map_free(rule_map *m) {
    free(m->pool);
    free(m->rules);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- Unicode helpers ------------------------------------------------------------------------------------- */

/* ICU's U_IS_UNICODE_CHAR: a scalar value that is not a noncharacter */
static bool is_unicode_char(uint32_t cp) {
    return cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && (cp & 0xFFFE) != 0xFFFE &&
           !(cp >= 0xFDD0 && cp <= 0xFDEF);
}

typedef struct {
    uint32_t *buf;
    size_t cap;
} nf_work;

static long nf(nf_work *w, llmc_nf form, const uint32_t *in, size_t n) {
    return llmc_uc_normalize(form, in, n, &w->buf, &w->cap);
}

static bool seq_eq(const uint32_t *a, size_t an, const uint32_t *b, size_t bn) {
    return an == bn && (!an || !memcmp(a, b, an * sizeof *a));
}

/* ---- sentencepiece's rule derivation ---------------------------------------------------------------------- */

typedef struct {
    uint32_t norm, orig;
} norm_orig;

static int cmp_norm_orig(const void *a, const void *b) {
    const norm_orig *x = a, *y = b;
    if (x->norm != y->norm) return x->norm < y->norm ? -1 : 1;
    return x->orig < y->orig ? -1 : x->orig > y->orig;
}

/* the originals of one normalized character: pairs[*lo .. *hi) */
static bool originals(const norm_orig *pairs, size_t n, uint32_t norm, size_t *lo, size_t *hi) {
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (pairs[mid].norm < norm) a = mid + 1;
        else b = mid;
    }
    *lo = a;
    while (b < n && pairs[b].norm == norm) b++;
    *hi = a < n && pairs[a].norm == norm ? b : a;
    return *hi > *lo;
}

/* rules[key] = value for every spelling of nfkd (each character replaced by each of its originals) */
static bool expand_spellings(rule_map *m, const norm_orig *pairs, size_t n_pairs, const uint32_t *nfkd, size_t n,
                             const uint32_t *value, size_t value_n) {
    size_t lo[32], hi[32], at[32];
    uint32_t key[32];
    if (n > 32) return true; /* longer than any decomposition that composes */
    for (size_t i = 0; i < n; i++) {
        if (!originals(pairs, n_pairs, nfkd[i], &lo[i], &hi[i])) return true;
        at[i] = lo[i];
    }
    for (;;) {
        for (size_t i = 0; i < n; i++) key[i] = pairs[at[i]].orig;
        if (!seq_eq(key, n, value, value_n) && !map_set(m, key, n, value, value_n)) return false;
        size_t i = n;
        while (i-- > 0) { /* odometer, last character fastest */
            if (++at[i] < hi[i]) break;
            at[i] = lo[i];
        }
        if (i == (size_t)-1) return true;
    }
}

/* sentencepiece's Normalize(): longest rule (at most max_len characters) first, else one character */
static bool apply_rules(const rule_map *m, const uint32_t *s, size_t n, size_t max_len, uint32_t **out,
                        size_t *out_n, size_t *out_cap) {
    *out_n = 0;
    for (size_t i = 0; i < n;) {
        const rule *r = NULL;
        size_t len = n - i < max_len ? n - i : max_len;
        for (; len > 0 && !(r = map_get(m, s + i, len)); len--) {}
        const uint32_t *piece = r ? m->pool + r->val_at : s + i;
        size_t pn = r ? r->val_n : 1;
        if (*out_n + pn > *out_cap) {
            size_t nc = (*out_n + pn) * 2 + 16;
            uint32_t *p = realloc(*out, nc * sizeof *p);
            if (!p) return false;
            *out = p;
            *out_cap = nc;
        }
        if (pn) memcpy(*out + *out_n, piece, pn * sizeof *piece);
        *out_n += pn;
        i += r ? len : 1;
    }
    return true;
}

/* RemoveRedundantMap: keep one-character rules, and longer ones the shorter rules do not reproduce */
static bool remove_redundant(rule_map *m, rule_map *kept) {
    size_t max_len = 0;
    for (size_t r = 0; r < m->n; r++) {
        const rule *x = &m->rules[r];
        if (!x->live) continue;
        if (x->key_n > max_len) max_len = x->key_n;
        if (x->key_n == 1 && !map_set(kept, m->pool + x->key_at, 1, m->pool + x->val_at, x->val_n)) return false;
    }
    uint32_t *buf = NULL;
    size_t bn = 0, bcap = 0;
    for (size_t len = 2; len <= max_len; len++) {
        /* rules added at this length do not affect the others of this length (max_len len - 1) */
        for (size_t r = 0; r < m->n; r++) {
            const rule *x = &m->rules[r];
            if (!x->live || x->key_n != len) continue;
            if (!apply_rules(kept, m->pool + x->key_at, len, len - 1, &buf, &bn, &bcap)) goto oom;
            if (seq_eq(buf, bn, m->pool + x->val_at, x->val_n)) continue;
            if (!map_set(kept, m->pool + x->key_at, len, m->pool + x->val_at, x->val_n)) goto oom;
        }
    }
    free(buf);
    return true;
oom:
    free(buf);
    return false;
}

static bool build_nfkc_rules(rule_map *out, bool nmt) {
    rule_map all = {0};
    nf_work w = {0}, w2 = {0};
    norm_orig *pairs = NULL;
    size_t n_pairs = 0, cap_pairs = 0;
    uint32_t *decomposed = NULL; /* sequences of several characters: length, then the characters */
    size_t dn = 0, dcap = 0;
    bool ok = false;
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if (!is_unicode_char(cp)) continue;
        long k = nf(&w, LLMC_NFKC, &cp, 1);
        if (k < 0) goto done;
        if (!(k == 1 && w.buf[0] == cp) && !map_set(&all, &cp, 1, w.buf, (size_t)k)) goto done;
        k = nf(&w, LLMC_NFKD, &cp, 1);
        if (k < 0) goto done;
        if (k == 1) {
            if (n_pairs == cap_pairs) {
                cap_pairs = cap_pairs ? cap_pairs * 2 : 1 << 18;
                norm_orig *p = realloc(pairs, cap_pairs * sizeof *p);
                if (!p) goto done;
                pairs = p;
            }
            pairs[n_pairs++] = (norm_orig){w.buf[0], cp};
        } else {
            if (dn + (size_t)k + 1 > dcap) {
                dcap = dcap ? dcap * 2 : 1 << 16;
                while (dn + (size_t)k + 1 > dcap) dcap *= 2;
                uint32_t *p = realloc(decomposed, dcap * sizeof *p);
                if (!p) goto done;
                decomposed = p;
            }
            decomposed[dn++] = (uint32_t)k;
            memcpy(decomposed + dn, w.buf, (size_t)k * sizeof *w.buf);
            dn += (size_t)k;
        }
    }
    qsort(pairs, n_pairs, sizeof *pairs, cmp_norm_orig);
    /* the same decomposition from several characters expands to the same rules: map_set replaces */
    for (size_t i = 0; i < dn;) {
        size_t k = decomposed[i];
        const uint32_t *nfkd = decomposed + i + 1;
        i += k + 1;
        long c = nf(&w2, LLMC_NFC, nfkd, k);
        if (c < 0) goto done;
        if (seq_eq(w2.buf, (size_t)c, nfkd, k)) continue;
        if (!expand_spellings(&all, pairs, n_pairs, nfkd, k, w2.buf, (size_t)c)) goto done;
    }
    if (nmt) {
        /* sentencepiece's nmt_nfkc additions: invisible and separator characters become spaces,
         * C0/C1 control characters go (core/tok_charsmap.h lists them) */
        static const uint32_t to_space[] = LLMC_NMT_SPACE_CHARS, deleted[] = LLMC_NMT_DELETED_CHARS;
        const uint32_t space = 0x20;
        for (size_t i = 0; i < sizeof to_space / sizeof *to_space; i++)
            if (!map_set(&all, &to_space[i], 1, &space, 1)) goto done;
        for (size_t i = 0; i < sizeof deleted / sizeof *deleted; i++)
            if (!map_set(&all, &deleted[i], 1, NULL, 0)) goto done;
    }
    ok = remove_redundant(&all, out);
done:
    map_free(&all);
    free(w.buf);
    free(w2.buf);
    free(pairs);
    free(decomposed);
    return ok;
}

/* ---- the double array ------------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *key;
    size_t n;
    uint32_t value;
} trie_key;

typedef struct {
    uint32_t *units;
    unsigned char *used, *base_used;
    int32_t *next_free, *prev_free; /* doubly linked list of free slots, in index order */
    int32_t free_head, free_tail;
    size_t size; /* slots allocated, a multiple of 256 */
    size_t n_used;
} darray;

#define UNUSED_UNIT 0x80000000u
#define MAX_UNITS ((size_t)1 << 21) /* offsets stay below 2^21: no extended offsets needed */

static void unlink_free(darray *a, size_t s) {
    int32_t p = a->prev_free[s], n = a->next_free[s];
    if (p >= 0) a->next_free[p] = n;
    else a->free_head = n;
    if (n >= 0) a->prev_free[n] = p;
    else a->free_tail = p;
}

static bool add_block(darray *a) {
    size_t ns = a->size + 256;
    if (ns > MAX_UNITS) return false;
    uint32_t *u = realloc(a->units, ns * sizeof *u);
    if (u) a->units = u;
    unsigned char *us = u ? realloc(a->used, ns) : NULL;
    if (us) a->used = us;
    unsigned char *bu = us ? realloc(a->base_used, ns) : NULL;
    if (bu) a->base_used = bu;
    int32_t *nf = bu ? realloc(a->next_free, ns * sizeof *nf) : NULL;
    if (nf) a->next_free = nf;
    int32_t *pf = nf ? realloc(a->prev_free, ns * sizeof *pf) : NULL;
    if (!pf) return false;
    a->prev_free = pf;
    int32_t tail = a->free_tail; /* the new block's slots go at the end of the free list */
    for (size_t i = a->size; i < ns; i++) {
        a->units[i] = UNUSED_UNIT;
        a->used[i] = 0;
        a->base_used[i] = 0;
        a->prev_free[i] = i == a->size ? tail : (int32_t)i - 1;
        a->next_free[i] = i + 1 < ns ? (int32_t)i + 1 : -1;
    }
    if (tail >= 0) a->next_free[tail] = (int32_t)a->size;
    else a->free_head = (int32_t)a->size;
    a->free_tail = (int32_t)ns - 1;
    a->size = ns;
    return true;
}

static void use_slot(darray *a, size_t s) {
    a->used[s] = 1;
    a->units[s] = 0;
    unlink_free(a, s);
    a->n_used++;
}

/* a base whose slots base ^ label are free for every label; grows the array as needed */
static bool find_base(darray *a, const unsigned char *labels, size_t n_labels, size_t *base) {
    for (;;) {
        /* older holes are given up on (Darts-clone looks at the last blocks only) */
        size_t floor = a->size > 16 * 256 ? a->size - 16 * 256 : 0;
        for (int32_t f = a->free_head, next; f >= 0; f = next) {
            next = a->next_free[f];
            if ((size_t)f < floor) {
                unlink_free(a, (size_t)f); /* stays unused for good */
                continue;
            }
            size_t b = (size_t)f ^ labels[0];
            if (a->base_used[b]) continue;
            bool fits = true;
            for (size_t i = 1; i < n_labels && fits; i++) {
                size_t s = b ^ labels[i];
                fits = s != 0 && !a->used[s];
            }
            if (fits && f != 0) {
                *base = b;
                return true;
            }
        }
        if (!add_block(a)) return false;
    }
}

/* The trie as subtrees, identical ones stored once (a node is its key's value, if a key ends
 * there, and its labelled edges to child subtrees): the Hangul rules, for example, repeat the
 * same continuations under every spelling of a syllable's first two jamo. */
typedef struct {
    int64_t leaf; /* value, or -1 */
    uint32_t edges_at, n_edges;
} subtree;

typedef struct {
    subtree *v;
    size_t n, cap;
    uint32_t *edges; /* (label, child id) pairs */
    size_t n_edges, cap_edges;
    int64_t *slots;
    size_t n_slots;
    int64_t *base; /* where each subtree's children were placed, -1: not yet */
} subtrees;

static uint64_t subtree_hash(const subtrees *t, int64_t leaf, const uint32_t *e, size_t n) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)leaf;
    for (size_t i = 0; i < 2 * n; i++) h = (h ^ e[i]) * 1099511628211ull;
    (void)t;
    return h ^ (h >> 31);
}

static bool subtree_same(const subtrees *t, const subtree *x, int64_t leaf, const uint32_t *e, size_t n) {
    return x->leaf == leaf && x->n_edges == n && (!n || !memcmp(t->edges + x->edges_at, e, 2 * n * sizeof *e));
}

static bool subtrees_rehash(subtrees *t) {
    size_t ns = t->n_slots ? t->n_slots * 2 : 1 << 12;
    int64_t *s = malloc(ns * sizeof *s);
    if (!s) return false;
    for (size_t i = 0; i < ns; i++) s[i] = -1;
    for (size_t k = 0; k < t->n; k++) {
        const subtree *x = &t->v[k];
        size_t i = (size_t)subtree_hash(t, x->leaf, t->edges + x->edges_at, x->n_edges) & (ns - 1);
        while (s[i] >= 0) i = (i + 1) & (ns - 1);
        s[i] = (int64_t)k;
    }
    free(t->slots);
    t->slots = s;
    t->n_slots = ns;
    return true;
}

/* the id of the subtree (leaf, edges e[0..2n) as label, child pairs), added if new; -1: out of memory */
static int64_t subtree_intern(subtrees *t, int64_t leaf, const uint32_t *e, size_t n) {
    if ((t->n + 1) * 2 > t->n_slots && !subtrees_rehash(t)) return -1;
    size_t i = (size_t)subtree_hash(t, leaf, e, n) & (t->n_slots - 1);
    for (; t->slots[i] >= 0; i = (i + 1) & (t->n_slots - 1))
        if (subtree_same(t, &t->v[t->slots[i]], leaf, e, n)) return t->slots[i];
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 4096;
        subtree *p = realloc(t->v, nc * sizeof *p);
        if (!p) return -1;
        t->v = p;
        t->cap = nc;
    }
    if (t->n_edges + 2 * n > t->cap_edges) {
        size_t nc = t->cap_edges ? t->cap_edges : 1 << 14;
        while (nc < t->n_edges + 2 * n) nc *= 2;
        uint32_t *p = realloc(t->edges, nc * sizeof *p);
        if (!p) return -1;
        t->edges = p;
        t->cap_edges = nc;
    }
    if (n) memcpy(t->edges + t->n_edges, e, 2 * n * sizeof *e);
    t->v[t->n] = (subtree){leaf, (uint32_t)t->n_edges, (uint32_t)n};
    t->n_edges += 2 * n;
    t->slots[i] = (int64_t)t->n;
    return (int64_t)t->n++;
}

/* the subtree of the keys [lo, hi), which share their first depth bytes */
static int64_t subtree_of(subtrees *t, const trie_key *keys, size_t lo, size_t hi, size_t depth) {
    uint32_t e[2 * 256];
    size_t n = 0;
    int64_t leaf = keys[lo].n == depth ? (int64_t)keys[lo].value : -1; /* sorted: it comes first */
    for (size_t i = leaf >= 0 ? lo + 1 : lo; i < hi;) {
        unsigned char c = keys[i].key[depth];
        size_t j = i;
        while (j < hi && keys[j].key[depth] == c) j++;
        int64_t child = subtree_of(t, keys, i, j, depth + 1);
        if (child < 0) return -1;
        e[2 * n] = c;
        e[2 * n + 1] = (uint32_t)child;
        n++;
        i = j;
    }
    return subtree_intern(t, leaf, e, n);
}

/* place subtree id at pos: its children at a new base, or where an identical subtree put them */
static bool place(darray *a, subtrees *t, size_t pos, int64_t id) {
    const subtree *x = &t->v[id];
    bool leaf = x->leaf >= 0;
    if (t->base[id] < 0) {
        unsigned char labels[257];
        size_t n_labels = 0;
        if (leaf) labels[n_labels++] = 0;
        for (size_t i = 0; i < x->n_edges; i++) labels[n_labels++] = (unsigned char)t->edges[x->edges_at + 2 * i];
        size_t base;
        if (!find_base(a, labels, n_labels, &base)) return false;
        x = &t->v[id];
        a->base_used[base] = 1;
        for (size_t i = 0; i < n_labels; i++) use_slot(a, base ^ labels[i]);
        t->base[id] = (int64_t)base;
        if (leaf) a->units[base] = (uint32_t)x->leaf | 0x80000000u;
        for (size_t i = 0; i < x->n_edges; i++) {
            unsigned char c = (unsigned char)t->edges[x->edges_at + 2 * i];
            a->units[base ^ c] = c;
            if (!place(a, t, base ^ c, t->edges[x->edges_at + 2 * i + 1])) return false;
        }
    }
    size_t offset = pos ^ (size_t)t->base[id];
    a->units[pos] = (a->units[pos] & 0xFFu) | (uint32_t)(offset << 10) | (leaf ? 1u << 8 : 0u);
    return true;
}

static int cmp_key(const void *x, const void *y) {
    const trie_key *a = x, *b = y;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->key, b->key, n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static void darray_free(darray *a) {
    free(a->units);
    free(a->used);
    free(a->base_used);
    free(a->next_free);
    free(a->prev_free);
}

/* ---- the blob ----------------------------------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static bool put(bytes *b, const void *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->n + n) nc *= 2;
        unsigned char *p = realloc(b->p, nc);
        if (!p) return false;
        b->p = p;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    return true;
}

static bool put_utf8(bytes *b, const uint32_t *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char u[4];
        if (!put(b, u, (size_t)llmc_utf8_encode(s[i], u))) return false;
    }
    return true;
}

static bool compile(const rule_map *m, unsigned char **blob, size_t *len) {
    bytes keyb = {0}, normalized = {0}, out = {0};
    trie_key *keys = malloc((m->n ? m->n : 1) * sizeof *keys);
    size_t *key_at = malloc((m->n ? m->n : 1) * sizeof *key_at);
    rule_map values = {0}; /* replacement -> its offset in normalized (one copy per distinct string) */
    darray a = {0};
    a.free_head = a.free_tail = -1;
    subtrees trees = {0};
    bool ok = false;
    size_t nk = 0;
    if (!keys || !key_at) goto done;
    for (size_t r = 0; r < m->n; r++) {
        const rule *x = &m->rules[r];
        if (!x->live) continue;
        const rule *v = map_get(&values, m->pool + x->val_at, x->val_n);
        uint32_t at;
        if (v) at = values.pool[v->val_at];
        else {
            at = (uint32_t)normalized.n;
            if (!put_utf8(&normalized, m->pool + x->val_at, x->val_n) || !put(&normalized, "", 1)) goto done;
            if (!map_set(&values, m->pool + x->val_at, x->val_n, &at, 1)) goto done;
        }
        key_at[nk] = keyb.n;
        if (!put_utf8(&keyb, m->pool + x->key_at, x->key_n)) goto done;
        keys[nk] = (trie_key){NULL, keyb.n - key_at[nk], at};
        nk++;
    }
    for (size_t i = 0; i < nk; i++) keys[i].key = keyb.p + key_at[i];
    qsort(keys, nk, sizeof *keys, cmp_key);
    if (!add_block(&a)) goto done;
    use_slot(&a, 0);
    if (nk) {
        int64_t root = subtree_of(&trees, keys, 0, nk, 0);
        if (root < 0 || !(trees.base = malloc(trees.n * sizeof *trees.base))) goto done;
        for (size_t i = 0; i < trees.n; i++) trees.base[i] = -1;
        if (!place(&a, &trees, 0, root)) goto done;
    }
    /* trailing blocks nobody uses are not written */
    size_t size = a.size;
    while (size > 256) {
        bool any = false;
        for (size_t i = size - 256; i < size && !any; i++) any = a.used[i];
        if (any) break;
        size -= 256;
    }
    uint32_t trie_bytes = (uint32_t)(size * 4);
    unsigned char le[4] = {(unsigned char)trie_bytes, (unsigned char)(trie_bytes >> 8),
                           (unsigned char)(trie_bytes >> 16), (unsigned char)(trie_bytes >> 24)};
    if (!put(&out, le, 4)) goto done;
    for (size_t i = 0; i < size; i++) {
        uint32_t u = a.units[i];
        unsigned char ub[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                               (unsigned char)(u >> 24)};
        if (!put(&out, ub, 4)) goto done;
    }
    if (!put(&out, normalized.p ? normalized.p : (unsigned char *)"", normalized.n)) goto done;
    *blob = out.p;
    *len = out.n;
    out.p = NULL;
    ok = true;
done:
    free(keyb.p);
    free(normalized.p);
    free(out.p);
    free(keys);
    free(key_at);
    map_free(&values);
    darray_free(&a);
    free(trees.v);
    free(trees.edges);
    free(trees.slots);
    free(trees.base);
    return ok;
}

bool llmc_charsmap_build_nfkc(bool nmt, unsigned char **blob, size_t *len) {
    rule_map rules = {0};
    bool ok = build_nfkc_rules(&rules, nmt) && compile(&rules, blob, len);
    map_free(&rules);
    return ok;
}
