/* dtype conversions between f32 and the 16-bit float formats.
 *
 * Both directions are exact bit manipulations (no FPU rounding-mode or flush-to-zero
 * dependence), so every machine converts the same float to the same bits:
 *  - f32 -> f16/bf16 rounds to nearest, ties to even; NaN stays NaN (made quiet, sign and
 *    top payload bits kept); f16 overflows to +-inf exactly where IEEE says (|x| >= 65520);
 *    values below half the smallest f16 subnormal become signed zero.
 *  - f16/bf16 -> f32 is exact.
 * Also the finite checks of imported weights: an exponent field of all ones is NaN or
 * infinity in every one of the three formats. */
#include <string.h>

#include "llmc/weights.h"
#include "weights_internal.h"

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

uint16_t llmc_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: keep the top 10 payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 rounds past 65504 (max finite): inf (also inf itself) */
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal f16 */
        /* round at bit 13 (ties to even), then rebias the exponent from 127 to 15; a
         * carry out of the mantissa correctly bumps the exponent */
        uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
    }
    if (ax <= 0x33000000u) /* <= 2^-25, half the smallest subnormal: ties go to even (0) */
        return (uint16_t)sign;
    /* f16 subnormal: value / 2^-24, rounded to nearest even */
    uint32_t e = ax >> 23;                       /* 102..112 */
    uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;                   /* 14..24 */
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

float llmc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (mant << 13)); /* inf / NaN */
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        /* subnormal: normalise the mantissa */
        uint32_t e = 113;                        /* 127 - 14 */
        while (!(mant & 0x400u)) { mant <<= 1; e--; }
        return bits_f32(sign | (e << 23) | ((mant & 0x3ffu) << 13));
    }
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

/* Branch-free so that the bulk loop below vectorises. */
static inline uint16_t to_bf16(uint32_t x) {
    uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (x >> 16) | 0x40u;
    return (uint16_t)(((x & 0x7fffffffu) > 0x7f800000u) ? quiet_nan : rounded);
}

uint16_t llmc_f32_to_bf16(float f) { return to_bf16(f32_bits(f)); }
float llmc_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

/* The same as llmc_f32_to_f16, written without branches (selects and a variable shift) so that
 * the bulk loop vectorises; the unit tests check the two agree on every class of input. */
static inline uint16_t to_f16(uint32_t x) {
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    uint32_t nan = 0x7e00u | ((ax >> 13) & 0x3ffu);
    uint32_t normal = (ax + 0xfffu + ((ax >> 13) & 1u) - 0x38000000u) >> 13;
    uint32_t e = ax >> 23;
    uint32_t shift = 126u - e;                              /* only used for e in 102..112 */
    shift = shift > 31u ? 31u : shift;                      /* (wraps for e > 126: clamped too) */
    uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u), half = (1u << shift) >> 1;
    uint32_t up = (0u - (uint32_t)(rem > half)) | ((0u - (uint32_t)(rem == half)) & (0u - (h & 1u)));
    uint32_t sub = h + (up & 1u);
    /* pick by masks, from the lowest range up (later ranges override earlier ones) */
    uint32_t r = sub & (0u - (uint32_t)(ax > 0x33000000u));
    uint32_t m = 0u - (uint32_t)(ax >= 0x38800000u);
    r = (r & ~m) | (normal & m);
    m = 0u - (uint32_t)(ax >= 0x477ff000u);
    r = (r & ~m) | (0x7c00u & m);
    m = 0u - (uint32_t)(ax > 0x7f800000u);
    r = (r & ~m) | (nan & m);
    return (uint16_t)(sign | r);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LLMC_NO_X86_SIMD)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void convert_f16(const float *restrict in, size_t n, uint16_t *restrict out) {
    for (size_t i = 0; i < n; i++) out[i] = to_f16(f32_bits(in[i]));
}

int llmc_convert_from_f32(const float *in, size_t n, llmc_dtype dt, void *out) {
    switch (dt) {
    case LLMC_DTYPE_F32:
        if (out != (const void *)in) memmove(out, in, n * sizeof(float));
        return 0;
    case LLMC_DTYPE_BF16: {
        uint16_t *o = out;
        for (size_t i = 0; i < n; i++) o[i] = to_bf16(f32_bits(in[i]));
        return 0;
    }
    case LLMC_DTYPE_F16:
        if ((uintptr_t)out < (uintptr_t)(in + n) && (uintptr_t)in < (uintptr_t)out + 2 * n) {
            /* overlapping (in place): element by element, front to back */
            uint16_t *o = out;
            for (size_t i = 0; i < n; i++) o[i] = to_f16(f32_bits(in[i]));
        } else {
            convert_f16(in, n, out);
        }
        return 0;
    default:
        return -1;
    }
}

/* bf16 is the top half of an f32: a shift, vectorised (the source may be unaligned: memcpy). */
static void widen_bf16(const uint8_t *restrict in, size_t n, float *restrict out) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, in + 2 * i, 2);
        out[i] = bits_f32((uint32_t)h << 16);
    }
}

static void widen_f16(const uint8_t *restrict in, size_t n, float *restrict out) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, in + 2 * i, 2);
        out[i] = llmc_f16_to_f32(h);
    }
}

int llmc_convert_to_f32(const void *in, size_t n, llmc_dtype dt, float *out) {
    const uint8_t *src = in;
    if (dt == LLMC_DTYPE_F32) {
        if ((const void *)out != in) memmove(out, in, n * sizeof(float));
        return 0;
    }
    if (dt != LLMC_DTYPE_BF16 && dt != LLMC_DTYPE_F16) return -1;
    void (*widen)(const uint8_t *restrict, size_t, float *restrict) = dt == LLMC_DTYPE_BF16 ? widen_bf16 : widen_f16;
    if ((const void *)out != in) {
        widen(src, n, out);
        return 0;
    }
    /* in place: blocks from the back, each copied out first; block [s, e) writes bytes from 4s on,
     * and the values not yet read end at byte 2s */
    uint8_t tmp[2 * 512];
    for (size_t end = n; end > 0;) {
        size_t m = end < 512 ? end : 512, start = end - m;
        memcpy(tmp, src + 2 * start, 2 * m);
        widen(tmp, m, out + start);
        end = start;
    }
    return 0;
}

/* ---- finite checks ------------------------------------------------------------------------------
 * A branch-free OR over a block (vectorised at -O3), then a scalar search only in a block that
 * has a hit: the common all-finite case costs one pass over data already in cache. */
#define FINITE_BLOCK 1024

/* gcc only: clang (14) multiversions a target_clones function only if every declaration carries
 * the attribute, and the callers in other files then fail to link (no plain-named symbol) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(LLMC_NO_X86_SIMD)
#define SCAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SCAN_CLONES
#endif

#define FIRST_NONFINITE(name, type, mask)                                                  \
    SCAN_CLONES size_t name(const void *x, size_t n) {                                     \
        const unsigned char *p = x;                                                        \
        for (size_t b = 0; b < n; b += FINITE_BLOCK) {                                     \
            size_t m = n - b < FINITE_BLOCK ? n - b : FINITE_BLOCK;                        \
            type any = 0; /* lanes of the element's width: 16 bf16/f16 per AVX2 vector */  \
            for (size_t i = 0; i < m; i++) {                                               \
                type u;                                                                    \
                memcpy(&u, p + (b + i) * sizeof u, sizeof u);                              \
                any |= (type)((type)(u & (mask)) == (type)(mask));                         \
            }                                                                              \
            if (!any) continue;                                                            \
            for (size_t i = 0; i < m; i++) {                                               \
                type u;                                                                    \
                memcpy(&u, p + (b + i) * sizeof u, sizeof u);                              \
                if ((u & (mask)) == (mask)) return b + i;                                  \
            }                                                                              \
        }                                                                                  \
        return n;                                                                          \
    }

FIRST_NONFINITE(llmc_first_nonfinite_f32, uint32_t, 0x7f800000u)
FIRST_NONFINITE(llmc_first_nonfinite_f16, uint16_t, 0x7c00u)
FIRST_NONFINITE(llmc_first_nonfinite_bf16, uint16_t, 0x7f80u)
