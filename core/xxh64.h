/* XXH64, the 64-bit xxHash (algorithm: Yann Collet, "xxHash fast digest algorithm", the
 * XXH64 section of doc/xxhash_spec.md in the xxHash repository), with seed 0 unless given.
 *
 * Why not SHA-256 for output checksums: core/sha256.c runs at ~0.1-0.2 GB/s, slower than
 * the emitters write weights, so hashing every byte would slow a multi-GB compile by whole
 * seconds per GB; XXH64 runs at several GB/s, detects truncation, bit flips and edits with
 * 2^-64 odds of a miss, and `xxhsum -H1 FILE` prints the same value. It is not a defence
 * against someone forging content on purpose (nor is a checksum stored beside the data).
 * Internal to llmc; streaming, so files are hashed while they are written. */
#ifndef LLMC_CORE_XXH64_H
#define LLMC_CORE_XXH64_H

#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

typedef struct llmc_xxh64 {
    uint64_t v[4];       /* the four lane accumulators */
    uint64_t total;      /* bytes hashed so far */
    uint64_t seed;
    uint8_t buf[32];     /* a partial stripe */
    size_t n;            /* bytes in buf */
} llmc_xxh64_state;

LLMC_API void llmc_xxh64_init(llmc_xxh64_state *s, uint64_t seed);
LLMC_API void llmc_xxh64_update(llmc_xxh64_state *s, const void *data, size_t len);
LLMC_API uint64_t llmc_xxh64_digest(const llmc_xxh64_state *s);   /* does not change s */
LLMC_API uint64_t llmc_xxh64(const void *data, size_t len, uint64_t seed);
/* 16 lowercase hex digits + NUL, the form xxhsum prints */
LLMC_API void llmc_xxh64_hex(uint64_t h, char out[17]);

#endif
