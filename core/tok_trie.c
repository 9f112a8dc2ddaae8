/* Double-array trie construction (see tok_trie.h).
 *
 * The keys are sorted; a depth-first walk over the sorted key ranges creates one node per
 * distinct prefix. Each node's children need slots base + byte that are all free; base is found
 * by scanning a list of free slots from its head. A slot that fails as a start position many
 * times is dropped from the scan list (it stays free and can still be taken as a child slot),
 * which keeps construction close to linear on large vocabularies. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tok_trie.h"

#define TRIE_MAX_SLOTS (UINT32_C(1) << 31)
#define TRIE_MAX_FAILS 32

typedef struct builder {
    llmc_trie_unit *u;
    uint32_t size;
    int32_t *next, *prev; /* doubly linked list of candidate free slots */
    uint8_t *fails;       /* attempts as a start slot; 255 = not in the list */
    int32_t head, tail;
    uint32_t used_max;
} builder;

static void list_unlink(builder *b, uint32_t s) {
    if (b->fails[s] == 255) return;
    int32_t p = b->prev[s], n = b->next[s];
    if (p >= 0) b->next[p] = n; else b->head = n;
    if (n >= 0) b->prev[n] = p; else b->tail = p;
    b->fails[s] = 255;
}

static bool grow(builder *b, uint64_t need) {
    uint64_t cap = b->size ? b->size : 1024;
    while (cap < need) cap *= 2;
    if (cap > TRIE_MAX_SLOTS) return false;
    llmc_trie_unit *u = realloc(b->u, cap * sizeof *u);
    if (!u) return false;
    b->u = u;
    int32_t *nx = realloc(b->next, cap * sizeof *nx);
    if (!nx) return false;
    b->next = nx;
    int32_t *pv = realloc(b->prev, cap * sizeof *pv);
    if (!pv) return false;
    b->prev = pv;
    uint8_t *f = realloc(b->fails, cap);
    if (!f) return false;
    b->fails = f;
    for (uint32_t s = b->size; s < cap; s++) {
        u[s] = (llmc_trie_unit){0, -1, -1};
        f[s] = 0;
        nx[s] = -1;
        pv[s] = b->tail;
        if (b->tail >= 0) nx[b->tail] = (int32_t)s; else b->head = (int32_t)s;
        b->tail = (int32_t)s;
    }
    b->size = (uint32_t)cap;
    return true;
}

/* smallest-found base for these (ascending) labels; -1 on failure to grow */
static int64_t find_base(builder *b, const unsigned char *labels, int k) {
    int32_t p = b->head;
    for (;;) {
        if (p < 0) {
            uint32_t first_new = b->size;
            if (!grow(b, (uint64_t)b->size * 2)) return -1;
            p = (int32_t)first_new;
        }
        int64_t base = (int64_t)p - labels[0];
        if (base >= 1) {
            uint64_t last = (uint64_t)base + labels[k - 1];
            if (last >= b->size && !grow(b, last + 1)) return -1;
            bool ok = true;
            for (int j = 0; j < k && ok; j++) ok = b->u[base + labels[j]].check < 0;
            if (ok) return base;
        }
        int32_t nextp = b->next[p];
        if (++b->fails[p] >= TRIE_MAX_FAILS) list_unlink(b, (uint32_t)p);
        p = nextp;
    }
}

typedef struct {
    const char *const *keys;
    const size_t *lens;
} sort_ctx;

/* qsort has no context argument in C11: the keys being sorted, per thread */
static _Thread_local sort_ctx tl_sort;

static int cmp_keys(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t li = tl_sort.lens[i], lj = tl_sort.lens[j];
    int c = memcmp(tl_sort.keys[i], tl_sort.keys[j], li < lj ? li : lj);
    if (c) return c;
    if (li != lj) return li < lj ? -1 : 1;
    return i < j ? -1 : i > j; /* equal keys keep their order: the later one's value wins */
}

typedef struct {
    int32_t node;
    size_t lo, hi, depth;
} frame;

void llmc_trie_free(llmc_trie *t) {
    if (!t) return;
    free(t->units);
    t->units = NULL;
    t->size = 0;
    t->n_keys = 0;
}

bool llmc_trie_build(llmc_trie *t, const char *const *keys, const size_t *lens, const int32_t *values, size_t n) {
    memset(t, 0, sizeof *t);
    size_t m = 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    builder b = {NULL, 0, NULL, NULL, NULL, -1, -1, 0};
    frame *stack = NULL;
    size_t sp = 0, scap = 0;
    bool ok = false;
    if (!idx) goto done;
    for (size_t i = 0; i < n; i++)
        if (lens[i] > 0) idx[m++] = i;
    tl_sort = (sort_ctx){keys, lens};
    qsort(idx, m, sizeof *idx, cmp_keys);
    if (!grow(&b, 1024)) goto done;
    list_unlink(&b, 0); /* the root */
    b.u[0].check = -2;   /* taken, and no node's child */
    scap = 1024;
    stack = malloc(scap * sizeof *stack);
    if (!stack) goto done;
    stack[sp++] = (frame){0, 0, m, 0};
    unsigned char labels[256];
    size_t rlo[256], rhi[256];
    while (sp) {
        frame f = stack[--sp];
        size_t i = f.lo;
        int32_t value = -1;
        while (i < f.hi && lens[idx[i]] == f.depth) value = values[idx[i++]];
        b.u[f.node].value = value;
        int k = 0;
        while (i < f.hi) {
            unsigned char c = (unsigned char)keys[idx[i]][f.depth];
            size_t j = i + 1;
            while (j < f.hi && (unsigned char)keys[idx[j]][f.depth] == c) j++;
            labels[k] = c;
            rlo[k] = i;
            rhi[k] = j;
            k++;
            i = j;
        }
        if (k == 0) continue;
        int64_t base = find_base(&b, labels, k);
        if (base < 0) goto done;
        b.u[f.node].base = (int32_t)base;
        if (sp + (size_t)k > scap) {
            while (sp + (size_t)k > scap) scap *= 2;
            frame *g = realloc(stack, scap * sizeof *g);
            if (!g) goto done;
            stack = g;
        }
        for (int j = 0; j < k; j++) {
            uint32_t s = (uint32_t)base + labels[j];
            b.u[s].check = f.node;
            list_unlink(&b, s);
            if (s > b.used_max) b.used_max = s;
            stack[sp++] = (frame){(int32_t)s, rlo[j], rhi[j], f.depth + 1};
        }
    }
    {
        uint32_t size = b.used_max + 1;
        llmc_trie_unit *u = realloc(b.u, size * sizeof *u);
        t->units = u ? u : b.u;
        b.u = NULL;
        t->size = size;
        t->units[0].check = -1;
        t->n_keys = (uint32_t)m;
    }
    ok = true;
done:
    free(idx);
    free(stack);
    free(b.u);
    free(b.next);
    free(b.prev);
    free(b.fails);
    if (!ok) memset(t, 0, sizeof *t);
    return ok;
}

int32_t llmc_trie_find(const llmc_trie *t, const char *key, size_t len) {
    if (!t->units || len == 0) return -1;
    int32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        s = llmc_trie_next(t, s, (unsigned char)key[i]);
        if (s < 0) return -1;
    }
    return llmc_trie_value(t, s);
}
