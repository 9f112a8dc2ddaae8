/* Hash maps for the tokenizer: byte string -> uint32 (vocabularies, word counts, the pre-token
 * cache index) and uint64 -> two uint32 (BPE merges by pair). Open addressing, linear probing,
 * power-of-two capacity, load <= 1/2. Keys of the string map live in the map's own arena.
 * Internal to the core. */
#ifndef LLMC_CORE_TOK_MAP_H
#define LLMC_CORE_TOK_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "llmc/export.h"

__extension__ typedef unsigned __int128 llmc_u128;

static inline uint64_t llmc_hash_bytes(const void *data, size_t n) {
    /* 64-bit multiply-mix over 8-byte words (wyhash-style), good enough for dictionary keys */
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        llmc_u128 m = (__uint128_t)(w ^ 0xA0761D6478BD642Full) * (h ^ 0xE7037ED1A0B428DBull);
        h = (uint64_t)m ^ (uint64_t)(m >> 64);
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n) memcpy(&w, p, n);
    llmc_u128 m = (__uint128_t)(w ^ 0x8EBC6AF09C88C6E3ull) * (h ^ 0x589965CC75374CC3ull);
    h = (uint64_t)m ^ (uint64_t)(m >> 64);
    return h ^ (h >> 29);
}

typedef struct llmc_strmap_entry {
    uint64_t hash;     /* 0 = empty slot */
    uint64_t key_off;  /* into arena */
    uint32_t key_len;
    uint32_t value;
} llmc_strmap_entry;

typedef struct llmc_strmap {
    llmc_strmap_entry *slots;
    size_t cap, count;      /* cap: power of two */
    char *arena;
    size_t arena_len, arena_cap;
} llmc_strmap;

LLMC_API void llmc_strmap_free(llmc_strmap *m);
LLMC_API void llmc_strmap_clear(llmc_strmap *m);   /* keeps the memory */
/* Insert key -> value; if present, *existing gets the old value and nothing changes.
 * Returns 1 inserted, 0 present, -1 out of memory / too large. */
LLMC_API int llmc_strmap_put(llmc_strmap *m, const char *key, size_t len, uint32_t value, uint32_t *existing);
/* Pointer to the value slot (insert with value `init` when absent); NULL on OOM. */
LLMC_API uint32_t *llmc_strmap_upsert(llmc_strmap *m, const char *key, size_t len, uint32_t init, bool *inserted);
LLMC_API const char *llmc_strmap_key(const llmc_strmap *m, const llmc_strmap_entry *e);

static inline uint64_t llmc_strmap_hash(const char *key, size_t len) {
    uint64_t h = llmc_hash_bytes(key, len);
    return h ? h : 1;
}

/* value of key, or -1 */
static inline int64_t llmc_strmap_get_h(const llmc_strmap *m, const char *key, size_t len, uint64_t h) {
    if (!m->cap) return -1;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const llmc_strmap_entry *e = &m->slots[i];
        if (!e->hash) return -1;
        if (e->hash == h && e->key_len == len && !memcmp(m->arena + e->key_off, key, len)) return e->value;
    }
}
static inline int64_t llmc_strmap_get(const llmc_strmap *m, const char *key, size_t len) {
    return llmc_strmap_get_h(m, key, len, llmc_strmap_hash(key, len));
}

/* ---- pair map: (a, b) -> (rank, id) ------------------------------------------------------------- */
typedef struct llmc_pairmap_entry {
    uint64_t key;      /* (a << 32 | b) + 1; 0 = empty */
    uint32_t rank, id;
} llmc_pairmap_entry;

typedef struct llmc_pairmap {
    llmc_pairmap_entry *slots;
    size_t cap, count;
} llmc_pairmap;

LLMC_API void llmc_pairmap_free(llmc_pairmap *m);
/* Insert or overwrite (a later merge of the same pair wins, as in HF). 0 or -1 (OOM). */
LLMC_API int llmc_pairmap_put(llmc_pairmap *m, uint32_t a, uint32_t b, uint32_t rank, uint32_t id);

static inline uint64_t llmc_pair_mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    return k;
}
static inline const llmc_pairmap_entry *llmc_pairmap_get(const llmc_pairmap *m, uint32_t a, uint32_t b) {
    if (!m->cap) return NULL;
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)llmc_pair_mix(key) & mask;; i = (i + 1) & mask) {
        const llmc_pairmap_entry *e = &m->slots[i];
        if (e->key == key) return e;
        if (!e->key) return NULL;
    }
}

#endif
