/* XXH64 (xxh64.h): stripes of 32 bytes into four accumulators, then the tail and an
 * avalanche. Input words are read little-endian, as the algorithm defines them. */
#include "xxh64.h"

#include <stdio.h>
#include <string.h>

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t read64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t read32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t round64(uint64_t acc, uint64_t lane) {
    acc += lane * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v) {
    acc ^= round64(0, v);
    return acc * P1 + P4;
}

void llmc_xxh64_init(llmc_xxh64_state *s, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
}

/* whole stripes of p[0..len), len a multiple of 32 */
static void stripes(uint64_t v[4], const uint8_t *p, size_t len) {
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
    for (const uint8_t *end = p + len; p < end; p += 32) {
        a = round64(a, read64(p));
        b = round64(b, read64(p + 8));
        c = round64(c, read64(p + 16));
        d = round64(d, read64(p + 24));
    }
    v[0] = a;
    v[1] = b;
    v[2] = c;
    v[3] = d;
}

void llmc_xxh64_update(llmc_xxh64_state *s, const void *data, size_t len) {
    const uint8_t *p = data;
    s->total += len;
    if (s->n) {
        size_t k = 32 - s->n < len ? 32 - s->n : len;
        memcpy(s->buf + s->n, p, k);
        s->n += k;
        p += k;
        len -= k;
        if (s->n < 32) return;
        stripes(s->v, s->buf, 32);
        s->n = 0;
    }
    size_t whole = len & ~(size_t)31;
    stripes(s->v, p, whole);
    memcpy(s->buf, p + whole, len - whole);
    s->n = len - whole;
}

uint64_t llmc_xxh64_digest(const llmc_xxh64_state *s) {
    uint64_t h;
    if (s->total >= 32) {
        h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
        for (int i = 0; i < 4; i++) h = merge(h, s->v[i]);
    } else {
        h = s->seed + P5;
    }
    h += s->total;
    const uint8_t *p = s->buf, *end = s->buf + s->n;
    for (; p + 8 <= end; p += 8) {
        h ^= round64(0, read64(p));
        h = rotl(h, 27) * P1 + P4;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)read32(p) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++) {
        h ^= *p * P5;
        h = rotl(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t llmc_xxh64(const void *data, size_t len, uint64_t seed) {
    llmc_xxh64_state s;
    llmc_xxh64_init(&s, seed);
    llmc_xxh64_update(&s, data, len);
    return llmc_xxh64_digest(&s);
}

void llmc_xxh64_hex(uint64_t h, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)h); }
