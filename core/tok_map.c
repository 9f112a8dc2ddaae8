/* The tokenizer's hash maps (tok_map.h). */
#include "tok_map.h"

#include <stdlib.h>

#define MAX_STRMAP_KEY 0xFFFFFFFFu

void llmc_strmap_free(llmc_strmap *m) {
    free(m->slots);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

void llmc_strmap_clear(llmc_strmap *m) {
    if (m->slots) memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->count = 0;
    m->arena_len = 0;
}

const char *llmc_strmap_key(const llmc_strmap *m, const llmc_strmap_entry *e) { return m->arena + e->key_off; }

static int strmap_grow(llmc_strmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 64;
    if (nc > ((size_t)1 << 40) / sizeof(llmc_strmap_entry)) return -1;
    llmc_strmap_entry *s = calloc(nc, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        llmc_strmap_entry e = m->slots[i];
        if (!e.hash) continue;
        size_t j = (size_t)e.hash & (nc - 1);
        while (s[j].hash) j = (j + 1) & (nc - 1);
        s[j] = e;
    }
    free(m->slots);
    m->slots = s;
    m->cap = nc;
    return 0;
}

static int arena_add(llmc_strmap *m, const char *key, size_t len, uint64_t *off) {
    if (m->arena_len + len + 1 > m->arena_cap) {
        size_t nc = m->arena_cap ? m->arena_cap : 1024;
        while (nc < m->arena_len + len + 1) {
            if (nc > SIZE_MAX / 2) return -1;
            nc *= 2;
        }
        char *a = realloc(m->arena, nc);
        if (!a) return -1;
        m->arena = a;
        m->arena_cap = nc;
    }
    if (len) memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = '\0';
    *off = m->arena_len;
    m->arena_len += len + 1;
    return 0;
}

uint32_t *llmc_strmap_upsert(llmc_strmap *m, const char *key, size_t len, uint32_t init, bool *inserted) {
    if (len > MAX_STRMAP_KEY) return NULL;
    if ((m->count + 1) * 2 > m->cap && strmap_grow(m)) return NULL;
    uint64_t h = llmc_strmap_hash(key, len);
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        llmc_strmap_entry *e = &m->slots[i];
        if (!e->hash) break;
        if (e->hash == h && e->key_len == len && !memcmp(m->arena + e->key_off, key, len)) {
            if (inserted) *inserted = false;
            return &e->value;
        }
    }
    uint64_t off;
    if (arena_add(m, key, len, &off)) return NULL;
    m->slots[i] = (llmc_strmap_entry){h, off, (uint32_t)len, init};
    m->count++;
    if (inserted) *inserted = true;
    return &m->slots[i].value;
}

int llmc_strmap_put(llmc_strmap *m, const char *key, size_t len, uint32_t value, uint32_t *existing) {
    bool inserted;
    uint32_t *v = llmc_strmap_upsert(m, key, len, value, &inserted);
    if (!v) return -1;
    if (!inserted) {
        if (existing) *existing = *v;
        return 0;
    }
    return 1;
}

void llmc_pairmap_free(llmc_pairmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int pairmap_grow(llmc_pairmap *m) {
    size_t nc = m->cap ? m->cap * 2 : 256;
    llmc_pairmap_entry *s = calloc(nc, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        llmc_pairmap_entry e = m->slots[i];
        if (!e.key) continue;
        size_t j = (size_t)llmc_pair_mix(e.key) & (nc - 1);
        while (s[j].key) j = (j + 1) & (nc - 1);
        s[j] = e;
    }
    free(m->slots);
    m->slots = s;
    m->cap = nc;
    return 0;
}

int llmc_pairmap_put(llmc_pairmap *m, uint32_t a, uint32_t b, uint32_t rank, uint32_t id) {
    if ((m->count + 1) * 2 > m->cap && pairmap_grow(m)) return -1;
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    size_t mask = m->cap - 1;
    size_t i = (size_t)llmc_pair_mix(key) & mask;
    while (m->slots[i].key && m->slots[i].key != key) i = (i + 1) & mask;
    if (!m->slots[i].key) m->count++;
    m->slots[i] = (llmc_pairmap_entry){key, rank, id};
    return 0;
}
