/* Hash index from string keys to array positions (see keyindex.h): open addressing with
 * linear probing, load factor at most 1/2, the table doubled (and rebuilt from the caller's
 * keys) when it fills, so n additions cost O(n) expected in all. */
#include "keyindex.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define MIN_TABLE 32 /* > 2 * LLMC_KEY_INDEX_SMALL */

/* murmur3's 64-bit finaliser: every input bit reaches every output bit */
static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* One random seed per process, set by whichever thread gets here first and never changed
 * (tables built by one thread are read by others). Only the cost of lookups depends on it,
 * never a result. */
static uint64_t process_seed(void) {
    static _Atomic uint64_t seed;
    uint64_t s = atomic_load_explicit(&seed, memory_order_acquire);
    if (s) return s;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&r);
    }
    if (!r) r = 0x9e3779b97f4a7c15ULL;
    uint64_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&seed, &expected, r, memory_order_acq_rel, memory_order_acquire))
        return expected; /* another thread won: use its seed */
    return r;
}

static uint64_t key_hash(uint64_t seed, const char *key, size_t len) {
    uint64_t h = seed ^ mix64(len + 1);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t w = 0;
    memcpy(&w, key + i, len - i);
    return mix64(h ^ w);
}

/* stored == key[0..len) exactly (stored is NUL-terminated, key need not be) */
static bool same_key(const char *stored, const char *key, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (stored[i] != key[i] || !stored[i]) return false;
    return stored[len] == '\0';
}

llmc_key_index llmc_key_index_init(void) {
    llmc_key_index ix = {NULL, 0};
    return ix;
}

/* Big tables are mapped directly and marked for transparent huge pages: every probe lands on a
 * random slot, and with 4 KiB pages each would also miss the TLB (dearly, in a virtual machine). */
#define MAP_TABLE_BYTES ((size_t)2 << 20)

static llmc_key_slot *table_alloc(size_t cap) {
    size_t bytes = cap * sizeof(llmc_key_slot);
    if (bytes < MAP_TABLE_BYTES) return calloc(cap, sizeof(llmc_key_slot));
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* zeroed */
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it, ordinary pages */
#endif
    return p;
}

static void table_free(llmc_key_slot *slots, size_t cap) {
    if (!slots) return;
    size_t bytes = cap * sizeof(llmc_key_slot);
    if (bytes < MAP_TABLE_BYTES) free(slots);
    else munmap(slots, bytes);
}

void llmc_key_index_free(llmc_key_index *ix) {
    if (!ix) return;
    table_free(ix->slots, ix->cap);
    *ix = llmc_key_index_init();
}

/* A slot's place comes from the tag alone (the high half of the hash), so the table can be
 * rebuilt larger without reading a key again (tables up to 2^32 slots). */
static void put(llmc_key_slot *slots, size_t cap, uint32_t tag, size_t pos) {
    size_t i = (size_t)tag & (cap - 1);
    while (slots[i].pos1) i = (i + 1) & (cap - 1);
    slots[i].tag = tag;
    slots[i].pos1 = (uint32_t)(pos + 1);
}

static uint32_t key_tag(const char *key, size_t len) { return (uint32_t)(key_hash(process_seed(), key, len) >> 32); }

size_t llmc_key_index_find(const llmc_key_index *ix, size_t n, const char *key, size_t len, llmc_key_at_fn key_at,
                           const void *array) {
    if (!ix || !key) return LLMC_KEY_INDEX_NONE;
    if (!ix->slots) {
        for (size_t i = 0; i < n; i++)
            if (same_key(key_at(array, i), key, len)) return i;
        return LLMC_KEY_INDEX_NONE;
    }
    uint32_t tag = key_tag(key, len);
    for (size_t i = (size_t)tag & (ix->cap - 1); ix->slots[i].pos1; i = (i + 1) & (ix->cap - 1)) {
        size_t pos = (size_t)ix->slots[i].pos1 - 1;
        if (ix->slots[i].tag == tag && pos < n && same_key(key_at(array, pos), key, len)) return pos;
    }
    return LLMC_KEY_INDEX_NONE;
}

int llmc_key_index_reserve(llmc_key_index *ix, size_t pos, llmc_key_at_fn key_at, const void *array) {
    if (pos >= UINT32_MAX - 1) return -1; /* positions are stored in 32 bits */
    if (pos + 1 <= LLMC_KEY_INDEX_SMALL) return 0;
    if (!ix->slots) {
        llmc_key_slot *slots = table_alloc(MIN_TABLE);
        if (!slots) return -1;
        for (size_t i = 0; i < pos; i++) {
            const char *k = key_at(array, i);
            put(slots, MIN_TABLE, key_tag(k, strlen(k)), i);
        }
        ix->slots = slots;
        ix->cap = MIN_TABLE;
    } else if (pos + 1 > ix->cap / 2) {
        if (ix->cap > ((size_t)1 << 31) || ix->cap > SIZE_MAX / 2 / sizeof(llmc_key_slot)) return -1;
        size_t cap = ix->cap * 2;
        llmc_key_slot *slots = table_alloc(cap);
        if (!slots) return -1;
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slots[i].pos1) put(slots, cap, ix->slots[i].tag, (size_t)ix->slots[i].pos1 - 1);
        table_free(ix->slots, ix->cap);
        ix->slots = slots;
        ix->cap = cap;
    }
    return 0;
}

void llmc_key_index_insert(llmc_key_index *ix, size_t pos, llmc_key_at_fn key_at, const void *array) {
    if (!ix->slots) return; /* small: lookups scan the array */
    const char *k = key_at(array, pos);
    put(ix->slots, ix->cap, key_tag(k, strlen(k)), pos);
}

int llmc_key_index_add(llmc_key_index *ix, size_t pos, llmc_key_at_fn key_at, const void *array) {
    if (llmc_key_index_reserve(ix, pos, key_at, array) != 0) return -1;
    llmc_key_index_insert(ix, pos, key_at, array);
    return 0;
}

const char *llmc_key_at_strv(const void *array, size_t pos) { return ((const char *const *)array)[pos]; }
