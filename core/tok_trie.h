/* A double-array trie over byte strings with an int32 value per key: the vocabulary lookup of
 * the Unigram and SentencePiece-BPE encoders and of the unigram trainer. Walking one byte is
 * two loads and a compare (llmc_trie_next), with no allocation, so an encoder can run a common
 * prefix search at every position of a text.
 *
 * Layout: node s has children at base[s] + byte; slot t belongs to s when check[t] == s.
 * The root is node 0. value[s] is the key's value when the path to s spells a key, else -1. */
#ifndef LLMC_CORE_TOK_TRIE_H
#define LLMC_CORE_TOK_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

typedef struct llmc_trie_unit {
    int32_t base;
    int32_t check; /* parent node, -1 when the slot is free */
    int32_t value; /* -1 when no key ends here */
} llmc_trie_unit;

typedef struct llmc_trie {
    llmc_trie_unit *units;
    uint32_t size;
    uint32_t n_keys;
} llmc_trie;

/* Build from n keys (any order; bytes, may hold any value but the empty key is ignored).
 * When a key occurs twice the later one's value wins. Returns false on out of memory or when
 * the trie would exceed 2^31 slots; t is then empty. */
LLMC_API bool llmc_trie_build(llmc_trie *t, const char *const *keys, const size_t *lens, const int32_t *values,
                              size_t n);
LLMC_API void llmc_trie_free(llmc_trie *t);

/* The child of node s along byte c, or -1. */
static inline int32_t llmc_trie_next(const llmc_trie *t, int32_t s, unsigned char c) {
    uint32_t nx = (uint32_t)t->units[s].base + c;
    if (nx >= t->size || t->units[nx].check != s) return -1;
    return (int32_t)nx;
}

static inline int32_t llmc_trie_value(const llmc_trie *t, int32_t s) { return t->units[s].value; }

/* The value of exactly this key, or -1. */
LLMC_API int32_t llmc_trie_find(const llmc_trie *t, const char *key, size_t len);

#endif
