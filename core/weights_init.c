/* The init generator: element i of parameter T is a pure function of (seed, T's name, i).
 *
 *   key/stream  = splitmix64 mixing of the seed and FNV-1a-64(name)       (llmc_init_stream_for)
 *   block(p)    = Philox-4x32-10(counter = {p lo, p hi, stream lo, stream hi}, key)
 *   u1, u2      = two 53-bit uniforms in (0, 1] from the block's two 64-bit halves
 *   r           = std * sqrt(-2 ln u1)                                     (Box-Muller)
 *   value(2p), value(2p+1) = (float)(r * cos(2 pi u2)), (float)(r * sin(2 pi u2))
 *
 * docs/weights.md states the scheme precisely. Why it is the same everywhere:
 *  - Philox is integer arithmetic.
 *  - The Box-Muller transform uses only +, -, *, /, sqrt and exact bit manipulation in
 *    IEEE double, each correctly rounded, in a fixed order: our own log and sin/cos below,
 *    never libm (whose last bits differ between versions and machines). No FMA contraction
 *    (this file is compiled with -ffp-contract=off; the pragma covers clang too), no
 *    reassociation (no -ffast-math), and no excess precision (we require FLT_EVAL_METHOD 0,
 *    i.e. SSE2/NEON-style doubles, not x87).
 *  - Vectorised and scalar code perform the same IEEE operations per element, so chunking,
 *    thread count, -march and compiler do not change a single bit. llmc_init_normal_ref is
 *    the element-at-a-time reference the tests compare against. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "weights_internal.h"

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "weights_init.c needs FLT_EVAL_METHOD == 0 (no excess precision) for bit-reproducible weights"
#endif
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- keying -------------------------------------------------------------------------------- */

uint64_t llmc_fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t llmc_splitmix64(uint64_t x) {
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

llmc_init_stream llmc_init_stream_for(uint64_t seed, const char *name) {
    uint64_t h = llmc_fnv1a64(name);
    uint64_t k = llmc_splitmix64(llmc_splitmix64(seed) ^ h);
    uint64_t c = llmc_splitmix64(k ^ h);
    llmc_init_stream s;
    s.key[0] = (uint32_t)k;
    s.key[1] = (uint32_t)(k >> 32);
    s.ctr_hi[0] = (uint32_t)c;
    s.ctr_hi[1] = (uint32_t)(c >> 32);
    return s;
}

/* ---- Philox-4x32-10 (Salmon et al., SC'11) -------------------------------------------------- */

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox_round(uint32_t *c0, uint32_t *c1, uint32_t *c2, uint32_t *c3, uint32_t k0, uint32_t k1) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * *c0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * *c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ *c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ *c3 ^ k1;
    *c1 = (uint32_t)p1;
    *c3 = (uint32_t)p0;
    *c0 = n0;
    *c2 = n2;
}

static inline void philox10(uint32_t *c0, uint32_t *c1, uint32_t *c2, uint32_t *c3, uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; r++) {
        philox_round(c0, c1, c2, c3, k0, k1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
}

void llmc_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    philox10(&c0, &c1, &c2, &c3, key[0], key[1]);
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* ---- deterministic elementary functions ------------------------------------------------------
 * Accuracy: a few units in the last place of a double (the polynomial truncation errors are
 * below 1e-13 relative), far below float resolution. What matters is that they are the same
 * sequence of IEEE operations on every machine. */

static inline uint64_t dbits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double bitsd(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

#define TWO52 4503599627370496.0   /* 2^52 */
#define LN2_HI 6.93147180369123816490e-01  /* ln 2 with its low 32 bits zero: e * LN2_HI is exact */
#define LN2_LO 1.90821492927058770002e-10  /* ln 2 - LN2_HI */

/* Natural log of u in [2^-53, 1] (always a positive normal double here).
 * u = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716,
 * 2 atanh(s) = 2s + 2s * s^2 * P(s^2). P is a degree-5 polynomial fitted to (atanh(s)/s - 1)/s^2
 * on s^2 in [0, 0.0295] (Chebyshev fit in 50-digit arithmetic; error below 3e-14, so ln m is
 * good to about 1e-16). The coefficients are exact binary64 constants (hex literals). */
static inline double det_log(double u) {
    uint64_t b = dbits(u);
    uint64_t mant = b & 0x000fffffffffffffull;
    /* m > sqrt(2) (compared on the mantissa bits, which order like the values): use m/2
     * and bump the exponent. Integer ops only, so the loop if-converts and vectorises. */
    uint64_t big = (uint64_t)((int64_t)mant > (int64_t)0x6a09e667f3bcdull);
    double m = bitsd(mant | ((0x3ffull - big) << 52));                   /* [sqrt(1/2), sqrt(2)) */
    /* the exponent as a double without an int -> double instruction (not every vector ISA
     * has one for 64-bit lanes); exact */
    double e = (bitsd(0x4330000000000000ull | ((b >> 52) + big)) - TWO52) - 1023.0;
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 0x1.546a3155bacbfp-4;
    p = p * s2 + 0x1.7382dbfa1ce75p-4;
    p = p * s2 + 0x1.c71fccd953895p-4;
    p = p * s2 + 0x1.2492462af84abp-3;
    p = p * s2 + 0x1.9999999b8677ap-3;
    p = p * s2 + 0x1.55555555553b8p-2;
    double lnm = 2.0 * s + 2.0 * s * (s2 * p);
    return e * LN2_HI + (e * LN2_LO + lnm);
}

/* cos and sin of 2*pi*u for u in [0, 1]. u is a multiple of 2^-53, so the quadrant
 * reduction r = u - q/4 (q = nearest integer to 4u) is exact; x = 2*pi*r lies in
 * [-pi/4, pi/4], where sin x = x + x * x^2 * S(x^2) and cos x = 1 - x^2 * C(x^2), S of degree 4
 * and C of degree 5 fitted like P above (errors below 3e-14 and 4e-16). */
static inline void det_sincos2pi(double u, double *co, double *si) {
    /* q = round(4u) in 0..4, exactly: adding 2^52 rounds 4u to an integer (a tie gives
     * |r| = 1/8 either way) */
    double q = (4.0 * u + TWO52) - TWO52;
    double r = u - 0.25 * q;
    double x = r * 6.28318530717958647692;
    double x2 = x * x;
    double sp = -0x1.aa285788aaa42p-26;
    sp = sp * x2 + 0x1.71d9a9f41c5a9p-19;
    sp = sp * x2 - 0x1.a019fd9b35ee5p-13;
    sp = sp * x2 + 0x1.1111110fd3d43p-7;
    sp = sp * x2 - 0x1.555555555516bp-3;
    double s = x + x * (x2 * sp);
    double cp = -0x1.1c064801aa169p-29;
    cp = cp * x2 + 0x1.27e0f5789db4bp-22;
    cp = cp * x2 - 0x1.a019fc7b4b9f6p-16;
    cp = cp * x2 + 0x1.6c16c1691d8abp-10;
    cp = cp * x2 - 0x1.5555555554137p-5;
    cp = cp * x2 + 0x1.ffffffffffffap-2;
    double c = 1.0 - x2 * cp;
    /* rotate by q quarter turns: (cos, sin)(x + q pi/2) is (c, s), (-s, c), (-c, -s), (s, -c).
     * Done on the bits (swap by mask, sign by xor) so that it vectorises without branches. */
    uint64_t qi = dbits(q + TWO52) & 3u;           /* q mod 4, exactly */
    uint64_t swap = 0 - (qi & 1u);                 /* all ones for odd q */
    uint64_t cb = dbits(c), sb = dbits(s);
    uint64_t cneg = ((qi ^ (qi >> 1)) & 1u) << 63; /* q = 1, 2 */
    uint64_t sneg = ((qi >> 1) & 1u) << 63;        /* q = 2, 3 */
    *co = bitsd(((sb & swap) | (cb & ~swap)) ^ cneg);
    *si = bitsd(((cb & swap) | (sb & ~swap)) ^ sneg);
}

double llmc_init_log(double u) { return det_log(u); }
void llmc_init_sincos2pi(double u, double *c, double *s) { det_sincos2pi(u, c, s); }

/* ---- the Philox stage, three ways (the same integers come out of each) ---------------------
 * GCC does not turn the 32x32->64 multiplies of a portable Philox loop into vector code that
 * is any faster than scalar, so on x86-64 the stage has AVX-512F and AVX2 versions written
 * with intrinsics (integer code: nothing to round, results identical by construction). The
 * tests run every version the CPU has and compare them with the portable one. */

#define BLOCK_PAIRS 512  /* pairs per stage pass: 8 KiB of Philox output, stays in L1 */

/* wa[j], wb[j] = the two 64-bit halves of block(p0 + j) */
static void philox_portable(const llmc_init_stream *s, uint64_t p0, size_t n, uint64_t *wa, uint64_t *wb) {
    for (size_t j = 0; j < n; j++) {
        uint64_t p = p0 + j;
        uint32_t c0 = (uint32_t)p, c1 = (uint32_t)(p >> 32), c2 = s->ctr_hi[0], c3 = s->ctr_hi[1];
        philox10(&c0, &c1, &c2, &c3, s->key[0], s->key[1]);
        wa[j] = ((uint64_t)c1 << 32) | c0;
        wb[j] = ((uint64_t)c3 << 32) | c2;
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LLMC_NO_X86_SIMD)
#include <immintrin.h>
#define HAVE_X86_PHILOX 1

/* Every 64-bit lane holds one block's 32-bit word in its low half; _mul_epu32 reads only
 * the low halves, so the upper halves may carry garbage until the final mask. */
/* One Philox round on four groups of 8 counters: the groups are independent, so their
 * multiply -> shift -> xor chains overlap instead of waiting on each other's latency. */
#define PHILOX512_ROUND(c0, c1, c2, c3, k0, k1)                                                 \
    do {                                                                                       \
        __m512i q0_ = _mm512_mul_epu32(c0, m0), q1_ = _mm512_mul_epu32(c2, m1);                \
        c0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q1_, 32), c1, k0, 0x96);              \
        c2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q0_, 32), c3, k1, 0x96);              \
        c1 = q1_;                                                                              \
        c3 = q0_;                                                                              \
    } while (0)

__attribute__((target("avx512f"))) static void philox_avx512(const llmc_init_stream *s, uint64_t p0, size_t n,
                                                             uint64_t *wa, uint64_t *wb) {
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    const __m512i lo32 = _mm512_set1_epi64(0xffffffffll);
    const __m512i step = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), eight = _mm512_set1_epi64(8);
    __m512i k0[10], k1[10];
    uint32_t a = s->key[0], b = s->key[1];
    for (int r = 0; r < 10; r++, a += PHILOX_W0, b += PHILOX_W1) {
        k0[r] = _mm512_set1_epi64(a);
        k1[r] = _mm512_set1_epi64(b);
    }
    const __m512i h0 = _mm512_set1_epi64(s->ctr_hi[0]), h1 = _mm512_set1_epi64(s->ctr_hi[1]);
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m512i pa = _mm512_add_epi64(_mm512_set1_epi64((long long)(p0 + j)), step);
        __m512i pb = _mm512_add_epi64(pa, eight), pc = _mm512_add_epi64(pb, eight), pd = _mm512_add_epi64(pc, eight);
        __m512i a0 = pa, a1 = _mm512_srli_epi64(pa, 32), a2 = h0, a3 = h1;
        __m512i b0 = pb, b1 = _mm512_srli_epi64(pb, 32), b2 = h0, b3 = h1;
        __m512i c0 = pc, c1 = _mm512_srli_epi64(pc, 32), c2 = h0, c3 = h1;
        __m512i d0 = pd, d1 = _mm512_srli_epi64(pd, 32), d2 = h0, d3 = h1;
        for (int r = 0; r < 10; r++) {
            PHILOX512_ROUND(a0, a1, a2, a3, k0[r], k1[r]);
            PHILOX512_ROUND(b0, b1, b2, b3, k0[r], k1[r]);
            PHILOX512_ROUND(c0, c1, c2, c3, k0[r], k1[r]);
            PHILOX512_ROUND(d0, d1, d2, d3, k0[r], k1[r]);
        }
        /* words 0..3 to the two 64-bit halves (upper garbage masked off) */
        _mm512_storeu_si512((void *)(wa + j), _mm512_or_si512(_mm512_slli_epi64(a1, 32), _mm512_and_si512(a0, lo32)));
        _mm512_storeu_si512((void *)(wb + j), _mm512_or_si512(_mm512_slli_epi64(a3, 32), _mm512_and_si512(a2, lo32)));
        _mm512_storeu_si512((void *)(wa + j + 8), _mm512_or_si512(_mm512_slli_epi64(b1, 32), _mm512_and_si512(b0, lo32)));
        _mm512_storeu_si512((void *)(wb + j + 8), _mm512_or_si512(_mm512_slli_epi64(b3, 32), _mm512_and_si512(b2, lo32)));
        _mm512_storeu_si512((void *)(wa + j + 16), _mm512_or_si512(_mm512_slli_epi64(c1, 32), _mm512_and_si512(c0, lo32)));
        _mm512_storeu_si512((void *)(wb + j + 16), _mm512_or_si512(_mm512_slli_epi64(c3, 32), _mm512_and_si512(c2, lo32)));
        _mm512_storeu_si512((void *)(wa + j + 24), _mm512_or_si512(_mm512_slli_epi64(d1, 32), _mm512_and_si512(d0, lo32)));
        _mm512_storeu_si512((void *)(wb + j + 24), _mm512_or_si512(_mm512_slli_epi64(d3, 32), _mm512_and_si512(d2, lo32)));
    }
    for (; j + 8 <= n; j += 8) {
        __m512i pa = _mm512_add_epi64(_mm512_set1_epi64((long long)(p0 + j)), step);
        __m512i a0 = pa, a1 = _mm512_srli_epi64(pa, 32), a2 = h0, a3 = h1;
        for (int r = 0; r < 10; r++) PHILOX512_ROUND(a0, a1, a2, a3, k0[r], k1[r]);
        _mm512_storeu_si512((void *)(wa + j), _mm512_or_si512(_mm512_slli_epi64(a1, 32), _mm512_and_si512(a0, lo32)));
        _mm512_storeu_si512((void *)(wb + j), _mm512_or_si512(_mm512_slli_epi64(a3, 32), _mm512_and_si512(a2, lo32)));
    }
    if (j < n) philox_portable(s, p0 + j, n - j, wa + j, wb + j);
}

#define PHILOX256_ROUND(c0, c1, c2, c3, k0, k1)                                                 \
    do {                                                                                       \
        __m256i q0_ = _mm256_mul_epu32(c0, m0), q1_ = _mm256_mul_epu32(c2, m1);                \
        c0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(q1_, 32), c1), k0);           \
        c2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(q0_, 32), c3), k1);           \
        c1 = q1_;                                                                              \
        c3 = q0_;                                                                              \
    } while (0)

#define GROUPS256 2 /* independent 4-counter groups per iteration (more does not help: 16 ymm registers) */

__attribute__((target("avx2"))) static void philox_avx2(const llmc_init_stream *s, uint64_t p0, size_t n,
                                                        uint64_t *wa, uint64_t *wb) {
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    const __m256i lo32 = _mm256_set1_epi64x(0xffffffffll);
    const __m256i step = _mm256_set_epi64x(3, 2, 1, 0);
    __m256i k0[10], k1[10];
    uint32_t a = s->key[0], b = s->key[1];
    for (int r = 0; r < 10; r++, a += PHILOX_W0, b += PHILOX_W1) {
        k0[r] = _mm256_set1_epi64x(a);
        k1[r] = _mm256_set1_epi64x(b);
    }
    const __m256i h0 = _mm256_set1_epi64x(s->ctr_hi[0]), h1 = _mm256_set1_epi64x(s->ctr_hi[1]);
    size_t j = 0;
    for (; j + GROUPS256 * 4 <= n; j += GROUPS256 * 4) {
        __m256i c[GROUPS256][4];
        for (int g = 0; g < GROUPS256; g++) {
            __m256i p = _mm256_add_epi64(_mm256_set1_epi64x((long long)(p0 + j + 4 * (size_t)g)), step);
            c[g][0] = p;
            c[g][1] = _mm256_srli_epi64(p, 32);
            c[g][2] = h0;
            c[g][3] = h1;
        }
        for (int r = 0; r < 10; r++)
            for (int g = 0; g < GROUPS256; g++) PHILOX256_ROUND(c[g][0], c[g][1], c[g][2], c[g][3], k0[r], k1[r]);
        for (int g = 0; g < GROUPS256; g++) {
            _mm256_storeu_si256((void *)(wa + j + 4 * g),
                                _mm256_or_si256(_mm256_slli_epi64(c[g][1], 32), _mm256_and_si256(c[g][0], lo32)));
            _mm256_storeu_si256((void *)(wb + j + 4 * g),
                                _mm256_or_si256(_mm256_slli_epi64(c[g][3], 32), _mm256_and_si256(c[g][2], lo32)));
        }
    }
    if (j < n) philox_portable(s, p0 + j, n - j, wa + j, wb + j);
}
#endif

static int forced_isa = LLMC_INIT_ISA_AUTO;

int llmc_init_force_isa(int isa) {
    if (isa == LLMC_INIT_ISA_AUTO || isa == LLMC_INIT_ISA_PORTABLE) { forced_isa = isa; return 0; }
#ifdef HAVE_X86_PHILOX
    if (isa == LLMC_INIT_ISA_AVX2 && __builtin_cpu_supports("avx2")) { forced_isa = isa; return 0; }
    if (isa == LLMC_INIT_ISA_AVX512 && __builtin_cpu_supports("avx512f")) { forced_isa = isa; return 0; }
#endif
    return -1;
}

static void philox_stage(const llmc_init_stream *s, uint64_t p0, size_t n, uint64_t *wa, uint64_t *wb) {
    int isa = forced_isa;
#ifdef HAVE_X86_PHILOX
    if (isa == LLMC_INIT_ISA_AUTO)
        isa = __builtin_cpu_supports("avx512f") ? LLMC_INIT_ISA_AVX512
              : __builtin_cpu_supports("avx2")  ? LLMC_INIT_ISA_AVX2
                                                : LLMC_INIT_ISA_PORTABLE;
    if (isa == LLMC_INIT_ISA_AVX512) { philox_avx512(s, p0, n, wa, wb); return; }
    if (isa == LLMC_INIT_ISA_AVX2) { philox_avx2(s, p0, n, wa, wb); return; }
#endif
    (void)isa;
    philox_portable(s, p0, n, wa, wb);
}

/* ---- the Box-Muller stage: portable C, vectorised by the compiler ------------------------- */

/* a < 2^53 as a double, exactly (an int64 -> double conversion would be exact too, but AVX2
 * has no vector instruction for it; this keeps the loop vectorisable) */
/* (a + 1) * 2^-53 for a < 2^53, exactly: the top 52 bits of a as the mantissa of a double in
 * [1, 2), minus 1, plus 2^-53 or 2^-52 for its low bit and the +1 */
static inline double u53_unit(uint64_t a) {
    double hi = bitsd(0x3ff0000000000000ull | (a >> 1)) - 1.0;
    return hi + bitsd(0x3ca0000000000000ull + ((a & 1u) << 52));
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LLMC_NO_X86_SIMD)
/* The same C compiled for wider vectors; the ifunc picks the best one the CPU has. The
 * IEEE operations are the same in every clone, so the bits are too. */
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void box_muller(const uint64_t *restrict wa, const uint64_t *restrict wb, size_t n, double std,
                       float *restrict out) {
    for (size_t j = 0; j < n; j++) {
        double u1 = u53_unit(wa[j] >> 11); /* (0, 1] */
        double u2 = u53_unit(wb[j] >> 11);
        double r = std * sqrt(-2.0 * det_log(u1));
        double co, si;
        det_sincos2pi(u2, &co, &si);
        out[2 * j] = (float)(r * co);
        out[2 * j + 1] = (float)(r * si);
    }
}

/* f32 -> bfloat16 exactly as llmc_f32_to_bf16 (round to nearest even on the bits, NaN kept
 * quiet), over a block that is still in L1: this saves the emitters a pass over a large f32
 * staging buffer. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LLMC_NO_X86_SIMD)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void block_to_bf16(const float *restrict in, size_t n, uint16_t *restrict out) {
    for (size_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, &in[i], sizeof x);
        uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
        out[i] = (uint16_t)(((x & 0x7fffffffu) > 0x7f800000u) ? ((x >> 16) | 0x40u) : rounded);
    }
}

/* Pairs p0 .. p0+n-1: out[2j], out[2j+1] = elements 2(p0+j), 2(p0+j)+1, as f32 or bf16. */
static void normal_pairs(const llmc_init_stream *s, double std, uint64_t p0, uint64_t n, void *out, int bf16) {
    uint64_t wa[BLOCK_PAIRS], wb[BLOCK_PAIRS];
    while (n) {
        size_t k = n < BLOCK_PAIRS ? (size_t)n : BLOCK_PAIRS;
        philox_stage(s, p0, k, wa, wb);
        if (bf16) {
            float f[2 * BLOCK_PAIRS];
            box_muller(wa, wb, k, std, f);
            block_to_bf16(f, 2 * k, out);
            out = (uint16_t *)out + 2 * k;
        } else {
            box_muller(wa, wb, k, std, out);
            out = (float *)out + 2 * k;
        }
        p0 += k;
        n -= k;
    }
}

/* elements [offset, offset + count) out of whole pairs: a leading sin half and a trailing cos
 * half come from pairs generated into a two-element buffer */
static void normal_fill(const llmc_init_stream *s, double std, uint64_t offset, uint64_t count, void *out, int bf16) {
    if (count == 0) return;
    size_t es = bf16 ? 2 : 4;
    unsigned char two[8];
    char *o = out;
    if (offset & 1u) { /* starts on the sin half of a pair */
        normal_pairs(s, std, offset >> 1, 1, two, bf16);
        memcpy(o, two + es, es);
        o += es;
        offset++;
        count--;
    }
    uint64_t pairs = count >> 1;
    if (pairs) normal_pairs(s, std, offset >> 1, pairs, o, bf16);
    if (count & 1u) { /* ends on the cos half of a pair */
        normal_pairs(s, std, (offset >> 1) + pairs, 1, two, bf16);
        memcpy(o + 2 * pairs * es, two, es);
    }
}

void llmc_init_normal_fill(const llmc_init_stream *s, double std, uint64_t offset, uint64_t count, float *out) {
    normal_fill(s, std, offset, count, out, 0);
}

void llmc_init_normal_fill_bf16(const llmc_init_stream *s, double std, uint64_t offset, uint64_t count,
                                uint16_t *out) {
    normal_fill(s, std, offset, count, out, 1);
}

/* Scalar reference: one element, same formulas, no vector code paths, no shared loop. */
float llmc_init_normal_ref(const llmc_init_stream *s, double std, uint64_t i) {
    uint64_t p = i >> 1;
    uint32_t ctr[4] = {(uint32_t)p, (uint32_t)(p >> 32), s->ctr_hi[0], s->ctr_hi[1]}, w[4];
    llmc_philox4x32_10(ctr, s->key, w);
    uint64_t a = (((uint64_t)w[1] << 32) | w[0]) >> 11;
    uint64_t b = (((uint64_t)w[3] << 32) | w[2]) >> 11;
    double u1 = ((double)a + 1.0) / 9007199254740992.0;
    double u2 = ((double)b + 1.0) / 9007199254740992.0;
    double r = std * sqrt(-2.0 * llmc_init_log(u1));
    double co, si;
    llmc_init_sincos2pi(u2, &co, &si);
    return (float)(r * ((i & 1u) ? si : co));
}
