/* Hash index from string keys to positions in a caller's array: duplicate checks and lookups
 * in O(1) expected time, so that reading a mapping or a list of n names costs O(n), not O(n^2).
 *
 * The index stores positions only; the keys stay in the caller's array, read back through a
 * key_at callback (the array may move between calls, e.g. after a realloc). Up to
 * LLMC_KEY_INDEX_SMALL keys no table is allocated and lookups scan the array. The hash is
 * keyed with a per-process random seed, so a crafted file cannot make every key collide.
 *
 * Internal to the core (not part of the SDK). */
#ifndef LLMC_CORE_KEYINDEX_H
#define LLMC_CORE_KEYINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

#define LLMC_KEY_INDEX_SMALL 8
#define LLMC_KEY_INDEX_NONE ((size_t)-1)

typedef struct llmc_key_slot {
    uint32_t tag;       /* high bits of the key's hash: most mismatches skip the string compare */
    uint32_t pos1;      /* position + 1; 0 = empty */
} llmc_key_slot;

/* The count of keys n is the caller's (its array's length); the index holds the table only. */
typedef struct llmc_key_index {
    llmc_key_slot *slots;   /* NULL while n <= LLMC_KEY_INDEX_SMALL */
    size_t cap;             /* slots (a power of two, at least twice n) */
} llmc_key_index;

/* The NUL-terminated key stored at position pos of array. */
typedef const char *(*llmc_key_at_fn)(const void *array, size_t pos);

/* An empty index (nothing allocated). */
LLMC_API llmc_key_index llmc_key_index_init(void);
LLMC_API void llmc_key_index_free(llmc_key_index *ix);

/* Position (< n) of the key equal to key[0..len) (which need not be NUL-terminated) among the
 * n keys of array, or LLMC_KEY_INDEX_NONE. */
LLMC_API size_t llmc_key_index_find(const llmc_key_index *ix, size_t n, const char *key, size_t len,
                                    llmc_key_at_fn key_at, const void *array);

/* Record the key at position pos of array, after keys 0..pos-1 were added (in that order; the
 * caller has checked that the key is new). 0, or -1 when out of memory (index unchanged).
 * Same as llmc_key_index_reserve, then llmc_key_index_insert. */
LLMC_API int llmc_key_index_add(llmc_key_index *ix, size_t pos, llmc_key_at_fn key_at, const void *array);

/* The two halves of llmc_key_index_add, for a caller that must not fail once it has stored the
 * key: make room for key number pos (keys 0..pos-1 of array are read when the table is first
 * built), 0 or -1 when out of memory (index unchanged); then record it, which cannot fail. */
LLMC_API int llmc_key_index_reserve(llmc_key_index *ix, size_t pos, llmc_key_at_fn key_at, const void *array);
LLMC_API void llmc_key_index_insert(llmc_key_index *ix, size_t pos, llmc_key_at_fn key_at, const void *array);

/* The key_at for a plain array of char * (lists of names). */
LLMC_API const char *llmc_key_at_strv(const void *array, size_t pos);

#endif
