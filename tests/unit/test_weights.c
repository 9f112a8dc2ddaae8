/* The weight source (core/weights*.c, core/layout.c, core/safetensors_read.c):
 *  - f16/bf16 conversions against an independent nearest-value search, exhaustive round trips;
 *  - the init generator: Philox-4x32-10 known answers, the vectorised path against the
 *    scalar reference and against a libm Box-Muller, every ISA path, chunking, threads,
 *    statistics, ones/zeros, pinned values for a fixed seed;
 *  - views (concat, transpose, RoPE permutation) against element-by-element definitions;
 *  - the ordered parallel writer (order, bounded buffers, error propagation);
 *  - checkpoints: round trip through a safetensors file and a sharded index, every mismatch
 *    listed in one error, corrupted files (truncated, header past EOF, overlaps, bad dtype,
 *    huge shapes, gaps, bad metadata) refused with a clear message;
 *  - the Hugging Face layout of each example spec, built through the template plugins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/llmc.h"
#include "llmc/weights.h"
#include "testutil.h"
#include "weights_internal.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* whole file into memory (NUL-terminated); NULL if it cannot be read */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    if (p) { p[n] = '\0'; *len = (size_t)n; }
    return p;
}

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static char tmpdir[256];

static int setup_tmp(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmc-test-weights-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* A small IR with parameters of every init kind and shapes that exercise the views. */
static llmc_ir *small_ir(void) {
    llmc_ir *ir = llmc_ir_create();
    assert_non_null(ir);
    struct { const char *name; int rank; int64_t d0, d1; llmc_init_kind k; double std; } ps[] = {
        {"emb.weight", 2, 37, 16, LLMC_PINIT_NORMAL, 0.02},
        {"q.weight", 2, 8, 16, LLMC_PINIT_NORMAL, 0.5},
        {"k.weight", 2, 4, 16, LLMC_PINIT_NORMAL, 1.0},
        {"v.weight", 2, 4, 16, LLMC_PINIT_NORMAL, 2.0},
        {"q.bias", 1, 8, 0, LLMC_PINIT_ZEROS, 0},
        {"k.bias", 1, 4, 0, LLMC_PINIT_NORMAL, 0.1},
        {"norm.weight", 1, 16, 0, LLMC_PINIT_ONES, 0},
        {"big.weight", 2, 1000, 1500, LLMC_PINIT_NORMAL, 0.02},
    };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        llmc_param_desc p;
        memset(&p, 0, sizeof p);
        p.name = ps[i].name;
        p.dtype = LLMC_DTYPE_F32;
        p.rank = ps[i].rank;
        p.shape[0] = ps[i].d0;
        p.shape[1] = ps[i].d1;
        p.component = LLMC_COMP_ATTENTION;
        p.stack = LLMC_STACK_NONE;
        p.layer = -1;
        p.init = (llmc_param_init){ps[i].k, ps[i].std};
        assert_int_not_equal(llmc_ir_param(ir, &p), LLMC_TID_NONE);
    }
    return ir;
}

static llmc_tid tid(const llmc_ir *ir, const char *name) {
    llmc_tid t = llmc_ir_find(ir, name);
    assert_int_not_equal(t, LLMC_TID_NONE);
    return t;
}

static uint64_t numel_of(const llmc_ir *ir, llmc_tid t) {
    uint64_t n;
    assert_int_equal(llmc_tensor_numel(llmc_ir_tensor(ir, t), &n), 0);
    return n;
}

static float *read_all(llmc_weight_source *ws, const llmc_ir *ir, llmc_tid t) {
    uint64_t n = numel_of(ir, t);
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_weights_read(ws, t, 0, n, LLMC_DTYPE_F32, p, d), 0);
    llmc_diags_free(d);
    return p;
}

static llmc_tensor_view make_view(const llmc_ir *ir, const char *name, const char *const *parts, int n,
                                  llmc_view_transform tr, int64_t n_head) {
    llmc_tensor_view v;
    memset(&v, 0, sizeof v);
    snprintf(v.name, sizeof v.name, "%s", name);
    v.n_parts = n;
    v.transform = tr;
    v.n_head = n_head;
    for (int i = 0; i < n; i++) {
        v.parts[i] = tid(ir, parts[i]);
        const llmc_tensor_info *t = llmc_ir_tensor(ir, v.parts[i]);
        if (i == 0) {
            v.rank = t->rank;
            memcpy(v.shape, t->shape, sizeof v.shape);
        } else {
            v.shape[0] += t->shape[0];
        }
    }
    if (tr == LLMC_VIEW_TRANSPOSE) {
        int64_t a = v.shape[0];
        v.shape[0] = v.shape[1];
        v.shape[1] = a;
    }
    return v;
}

/* ---- conversions ----------------------------------------------------------------------------- */

/* The f16 nearest to x by search over all finite f16 values (ties to the even encoding);
 * beyond the largest finite value, rounding follows IEEE: >= 65520 is inf. */
static uint16_t f16_reference(float x) {
    if (isnan(x)) return 0x7e00;
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs((double)x);
    if (a >= 65520.0) return sign | 0x7c00;
    uint16_t lo = 0, hi = 0x7bff; /* binary search on the magnitude encodings, monotonic */
    while (lo < hi) {
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if ((double)llmc_f16_to_f32(mid) <= a) lo = mid; else hi = (uint16_t)(mid - 1);
    }
    uint16_t best = lo;
    if (lo < 0x7bff) {
        double dl = a - (double)llmc_f16_to_f32(lo), du = (double)llmc_f16_to_f32((uint16_t)(lo + 1)) - a;
        if (du < dl || (du == dl && (lo & 1))) best = (uint16_t)(lo + 1);
    } else if (a > 65504.0) {
        best = 0x7bff;
    }
    return sign | best;
}

static uint16_t bf16_reference(float x) {
    uint32_t u = f2u(x);
    if (isnan(x)) return (uint16_t)((u >> 16) | 0x40);
    uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
    double dl = fabs((double)x - (double)u2f(lo)), dh = fabs((double)u2f(hi) - (double)x);
    /* the next encoding up may be inf: rounding there is still by the same bit arithmetic */
    if (isinf(u2f(hi))) dh = fabs(ldexp(1.0, 128) - fabs((double)x));
    if (dh < dl || (dh == dl && ((lo >> 16) & 1))) return (uint16_t)(hi >> 16);
    return (uint16_t)(lo >> 16);
}

static void test_f16_edges(void **state) {
    (void)state;
    assert_int_equal(llmc_f32_to_f16(0.0f), 0x0000);
    assert_int_equal(llmc_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(llmc_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(llmc_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(llmc_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(llmc_f32_to_f16(65519.996f), 0x7bff);      /* just below the halfway point */
    assert_int_equal(llmc_f32_to_f16(65520.0f), 0x7c00);        /* halfway: ties to even = inf */
    assert_int_equal(llmc_f32_to_f16(1e10f), 0x7c00);
    assert_int_equal(llmc_f32_to_f16(-INFINITY), 0xfc00);
    assert_int_equal(llmc_f32_to_f16(ldexpf(1, -24)), 0x0001);  /* smallest subnormal */
    assert_int_equal(llmc_f32_to_f16(ldexpf(1, -25)), 0x0000);  /* half of it: tie to even 0 */
    assert_int_equal(llmc_f32_to_f16(ldexpf(1.0001f, -25)), 0x0001);
    assert_int_equal(llmc_f32_to_f16(ldexpf(3, -26)), 0x0001);  /* 0.75 units */
    assert_int_equal(llmc_f32_to_f16(ldexpf(3, -25)), 0x0002);  /* 1.5 units: tie to even 2 */
    assert_int_equal(llmc_f32_to_f16(ldexpf(1, -14)), 0x0400);  /* smallest normal */
    assert_int_equal(llmc_f32_to_f16(ldexpf(1023, -24) + ldexpf(1, -25)), 0x0400); /* rounds up into normal */
    assert_int_equal(llmc_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00);              /* tie, even below */
    assert_int_equal(llmc_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3c02);          /* tie, even above */
    uint16_t n = llmc_f32_to_f16(NAN);
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    n = llmc_f32_to_f16(u2f(0x7f800001u)); /* signalling NaN with payload only in low bits */
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    assert_true(isnan(llmc_f16_to_f32(0x7e00)) && isnan(llmc_f16_to_f32(0xfd01)));
    assert_true(isinf(llmc_f16_to_f32(0x7c00)));
    assert_true(llmc_f16_to_f32(0x0001) == ldexpf(1, -24));
    assert_true(llmc_f16_to_f32(0x03ff) == ldexpf(1023, -24));
}

static void test_f16_exhaustive(void **state) {
    (void)state;
    /* every f16 round-trips through f32 (NaNs stay NaN) */
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = llmc_f16_to_f32((uint16_t)h);
        uint16_t back = llmc_f32_to_f16(f);
        if (isnan(f))
            assert_true((back & 0x7c00) == 0x7c00 && (back & 0x3ff) && (back & 0x8000) == (h & 0x8000));
        else if (back != h)
            fail_msg("f16 0x%04x -> %a -> 0x%04x", h, (double)f, back);
    }
    /* random floats and every midpoint between neighbours against the nearest-value search */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        float f = u2f((uint32_t)x);
        if (fabsf(f) > 70000.0f) f = ldexpf(f, -(int)(ilogbf(f) - (int)(x >> 40) % 30)); /* bring into range */
        if (isnan(f)) {
            uint16_t h = llmc_f32_to_f16(f);
            assert_true((h & 0x7c00) == 0x7c00 && (h & 0x3ff));
            continue;
        }
        if (llmc_f32_to_f16(f) != f16_reference(f))
            fail_msg("f16(%a) = 0x%04x, nearest is 0x%04x", (double)f, llmc_f32_to_f16(f), f16_reference(f));
    }
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float mid = (float)(((double)llmc_f16_to_f32((uint16_t)h) + (double)llmc_f16_to_f32((uint16_t)(h + 1))) / 2);
        if (llmc_f32_to_f16(mid) != f16_reference(mid))
            fail_msg("f16 midpoint %a: 0x%04x vs 0x%04x", (double)mid, llmc_f32_to_f16(mid), f16_reference(mid));
    }
}

static void test_bf16(void **state) {
    (void)state;
    assert_int_equal(llmc_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(llmc_f32_to_bf16(u2f(0x3f808000u)), 0x3f80); /* tie, even below */
    assert_int_equal(llmc_f32_to_bf16(u2f(0x3f818000u)), 0x3f82); /* tie, even above */
    assert_int_equal(llmc_f32_to_bf16(u2f(0x3f808001u)), 0x3f81);
    assert_int_equal(llmc_f32_to_bf16(u2f(0x7f7fffffu)), 0x7f80); /* FLT_MAX rounds to inf */
    assert_int_equal(llmc_f32_to_bf16(u2f(0x7f7f7fffu)), 0x7f7f); /* largest that stays finite */
    assert_int_equal(llmc_f32_to_bf16(-INFINITY), 0xff80);
    assert_int_equal(llmc_f32_to_bf16(u2f(0x7f800001u)), 0x7fc0); /* sNaN with low payload stays NaN */
    assert_int_equal(llmc_f32_to_bf16(u2f(0xffc00000u)), 0xffc0);
    assert_int_equal(llmc_f32_to_bf16(u2f(0x00008000u)), 0x0000); /* subnormal tie to even */
    assert_int_equal(llmc_f32_to_bf16(u2f(0x00018000u)), 0x0002);
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = llmc_bf16_to_f32((uint16_t)h);
        uint16_t back = llmc_f32_to_bf16(f);
        if (isnan(f)) assert_true(isnan(llmc_bf16_to_f32(back)));
        else assert_int_equal(back, h);
    }
    uint64_t x = 1234567;
    for (int i = 0; i < 1000000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        float f = u2f((uint32_t)x);
        if (llmc_f32_to_bf16(f) != bf16_reference(f))
            fail_msg("bf16(%a) = 0x%04x, nearest is 0x%04x", (double)f, llmc_f32_to_bf16(f), bf16_reference(f));
    }
}

/* llmc_convert_to_f32: every 16-bit pattern of both dtypes, from an unaligned source, out of place
 * and in place (the emitters widen their read buffers in place), equal to the scalar functions */
static void test_convert_to_f32(void **state) {
    (void)state;
    enum { N = 0x10000 };
    uint8_t *src = malloc(2 * N + 1);
    float *out = malloc(4 * (size_t)N), *inplace = malloc(4 * (size_t)N);
    assert_non_null(src); assert_non_null(out); assert_non_null(inplace);
    const llmc_dtype dts[2] = {LLMC_DTYPE_BF16, LLMC_DTYPE_F16};
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = 0; i < N; i++) {
            uint16_t h = (uint16_t)(i * 40503u); /* every pattern once, not in order */
            memcpy(src + 1 + 2 * i, &h, 2);
            memcpy((uint8_t *)inplace + 2 * i, &h, 2);
        }
        assert_int_equal(llmc_convert_to_f32(src + 1, N, dts[k], out), 0);
        assert_int_equal(llmc_convert_to_f32(inplace, N - 3, dts[k], inplace), 0); /* not a whole block */
        for (uint32_t i = 0; i < N; i++) {
            uint16_t h = (uint16_t)(i * 40503u);
            float want = dts[k] == LLMC_DTYPE_BF16 ? llmc_bf16_to_f32(h) : llmc_f16_to_f32(h);
            assert_int_equal(f2u(out[i]), f2u(want));
            if (i < N - 3) assert_int_equal(f2u(inplace[i]), f2u(want));
        }
    }
    assert_int_equal(llmc_convert_to_f32(src, 4, LLMC_DTYPE_I64, out), -1);
    free(src); free(out); free(inplace);
}

static void test_convert_bulk(void **state) {
    (void)state;
    float in[1000];
    for (int i = 0; i < 1000; i++) in[i] = (float)(i - 500) * 0.37f + ldexpf(1, -20) * (float)i;
    uint16_t h[1000], b[1000];
    float f[1000];
    assert_int_equal(llmc_convert_from_f32(in, 1000, LLMC_DTYPE_F16, h), 0);
    assert_int_equal(llmc_convert_from_f32(in, 1000, LLMC_DTYPE_BF16, b), 0);
    assert_int_equal(llmc_convert_from_f32(in, 1000, LLMC_DTYPE_F32, f), 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(h[i], llmc_f32_to_f16(in[i]));
        assert_int_equal(b[i], llmc_f32_to_bf16(in[i]));
        assert_int_equal(f2u(f[i]), f2u(in[i]));
    }
    assert_int_equal(llmc_convert_from_f32(in, 10, LLMC_DTYPE_I32, f), -1);
    /* the vectorised bulk loops against the scalar functions over a spread of all 2^32 bit
     * patterns (every class: zeros, subnormals, f16 subnormal range, ties, overflow, inf, NaN) */
    enum { N = 1 << 20 };
    float *all = malloc(N * sizeof *all);
    uint16_t *h16 = malloc(N * 2), *b16 = malloc(N * 2);
    assert_non_null(all);
    for (uint32_t i = 0; i < N; i++) all[i] = u2f(i * 4099u + (i & 0xfffu));
    assert_int_equal(llmc_convert_from_f32(all, N, LLMC_DTYPE_F16, h16), 0);
    assert_int_equal(llmc_convert_from_f32(all, N, LLMC_DTYPE_BF16, b16), 0);
    for (uint32_t i = 0; i < N; i++) {
        if (h16[i] != llmc_f32_to_f16(all[i])) fail_msg("bulk f16(%a) = 0x%04x, scalar 0x%04x", (double)all[i], h16[i],
                                                         llmc_f32_to_f16(all[i]));
        assert_int_equal(b16[i], llmc_f32_to_bf16(all[i]));
    }
    free(all);
    free(h16);
    free(b16);
    /* in place (the writer converts its staging buffer) */
    float copy[1000];
    memcpy(copy, in, sizeof in);
    assert_int_equal(llmc_convert_from_f32(copy, 1000, LLMC_DTYPE_BF16, copy), 0);
    assert_memory_equal(copy, b, sizeof b);
    memcpy(copy, in, sizeof in);
    assert_int_equal(llmc_convert_from_f32(copy, 1000, LLMC_DTYPE_F16, copy), 0);
    assert_memory_equal(copy, h, sizeof h);
}

/* ---- the init generator -------------------------------------------------------------------------- */

static void test_philox_kat(void **state) {
    (void)state;
    /* Random123 tests/kat_vectors, philox4x32 10 */
    static const uint32_t v[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1}};
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        llmc_philox4x32_10(v[i], v[i] + 4, out);
        for (int k = 0; k < 4; k++) assert_int_equal(out[k], v[i][6 + k]);
    }
    /* FNV-1a-64 reference values (from the FNV specification's test suite) */
    assert_true(llmc_fnv1a64("") == 0xcbf29ce484222325ull);
    assert_true(llmc_fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    assert_true(llmc_fnv1a64("foobar") == 0x85944171f73967e8ull);
    /* splitmix64 from state 0: the first output of Vigna's generator */
    assert_true(llmc_splitmix64(0) == 0xe220a8397b1dcdafull);
}

/* The same element computed from the documented formulas with libm, in long double. */
static double libm_element(uint64_t seed, const char *name, double std, uint64_t i) {
    llmc_init_stream s = llmc_init_stream_for(seed, name);
    uint64_t p = i / 2;
    uint32_t ctr[4] = {(uint32_t)p, (uint32_t)(p >> 32), s.ctr_hi[0], s.ctr_hi[1]}, w[4];
    llmc_philox4x32_10(ctr, s.key, w);
    long double u1 = ((long double)((((uint64_t)w[1] << 32) | w[0]) >> 11) + 1) / 9007199254740992.0L;
    long double u2 = ((long double)((((uint64_t)w[3] << 32) | w[2]) >> 11) + 1) / 9007199254740992.0L;
    long double r = sqrtl(-2 * logl(u1)), a = 2 * 3.14159265358979323846264338327950288L * u2;
    return (double)(std * r * (i % 2 ? sinl(a) : cosl(a)));
}

static void test_init_values(void **state) {
    (void)state;
    /* the keying of docs/weights.md, recomputed here */
    uint64_t seed = 1234, h = llmc_fnv1a64("model.embed_tokens.weight");
    uint64_t k = llmc_splitmix64(llmc_splitmix64(seed) ^ h), c = llmc_splitmix64(k ^ h);
    llmc_init_stream s = llmc_init_stream_for(seed, "model.embed_tokens.weight");
    assert_int_equal(s.key[0], (uint32_t)k);
    assert_int_equal(s.key[1], (uint32_t)(k >> 32));
    assert_int_equal(s.ctr_hi[0], (uint32_t)c);
    assert_int_equal(s.ctr_hi[1], (uint32_t)(c >> 32));
    /* the fast path against the scalar reference (bit for bit) and against libm (close) */
    size_t n = 20001;
    float *buf = malloc(n * sizeof *buf);
    assert_non_null(buf);
    uint64_t offsets[] = {0, 1, 12345, (1ull << 33) + 7};
    size_t far = 0;
    for (size_t o = 0; o < 4; o++) {
        llmc_init_normal_fill(&s, 0.02, offsets[o], n, buf);
        for (size_t i = 0; i < n; i++) {
            float ref = llmc_init_normal_ref(&s, 0.02, offsets[o] + i);
            if (f2u(ref) != f2u(buf[i])) fail_msg("element %llu: fill %a, ref %a", (unsigned long long)(offsets[o] + i),
                                                   (double)buf[i], (double)ref);
            if (i % 7 == 0) {
                double lm = libm_element(seed, "model.embed_tokens.weight", 0.02, offsets[o] + i);
                if (fabs(lm - (double)buf[i]) > 1e-7 * 0.02 + 1e-6 * fabs(lm)) far++;
            }
        }
    }
    assert_int_equal(far, 0);
    /* pinned: the first values of seed 0 / "model.embed_tokens.weight" / std 0.02. These are
     * what every emitted model contains; a change here changes every model llmc writes. */
    llmc_init_stream s0 = llmc_init_stream_for(0, "model.embed_tokens.weight");
    llmc_init_normal_fill(&s0, 0.02, 0, 4, buf);
    char got[128];
    snprintf(got, sizeof got, "%08x %08x %08x %08x", f2u(buf[0]), f2u(buf[1]), f2u(buf[2]), f2u(buf[3]));
    assert_string_equal(got, "3ae8d5b1 badf176b bada3601 3d0942bc");
    free(buf);
}

static void test_init_isas(void **state) {
    (void)state;
    llmc_init_stream s = llmc_init_stream_for(7, "x");
    size_t n = 100003;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(llmc_init_force_isa(LLMC_INIT_ISA_PORTABLE), 0);
    llmc_init_normal_fill(&s, 1.0, 3, n, a);
    int tested = 0;
    for (int isa = LLMC_INIT_ISA_AVX2; isa <= LLMC_INIT_ISA_AVX512; isa++) {
        if (llmc_init_force_isa(isa) != 0) continue; /* not on this CPU */
        llmc_init_normal_fill(&s, 1.0, 3, n, b);
        assert_memory_equal(a, b, n * 4);
        tested++;
    }
    assert_int_equal(llmc_init_force_isa(LLMC_INIT_ISA_AUTO), 0);
    llmc_init_normal_fill(&s, 1.0, 3, n, b);
    assert_memory_equal(a, b, n * 4);
    /* the fused bf16 fill equals f32 values rounded by llmc_f32_to_bf16, at any alignment */
    uint16_t *h = malloc(n * 2);
    assert_non_null(h);
    for (uint64_t off = 0; off < 3; off++) {
        llmc_init_normal_fill(&s, 0.02, off, n - 3, a);
        llmc_init_normal_fill_bf16(&s, 0.02, off, n - 3, h);
        for (size_t i = 0; i < n - 3; i++) assert_int_equal(h[i], llmc_f32_to_bf16(a[i]));
    }
    free(h);
    print_message("init: %d SIMD Philox paths compared with the portable one\n", tested);
    free(a);
    free(b);
}

static void test_init_source(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *ws = llmc_weights_create_init(ir, 42, d);
    assert_non_null(ws);
    assert_int_equal(llmc_weights_kind(ws), LLMC_WEIGHTS_INIT);
    assert_true(llmc_weights_seed(ws) == 42);
    /* statistics of the 1.5M-element parameter */
    llmc_tid big = tid(ir, "big.weight");
    float *v = read_all(ws, ir, big);
    uint64_t n = numel_of(ir, big);
    double sum = 0, sq = 0;
    for (uint64_t i = 0; i < n; i++) {
        sum += v[i];
        sq += (double)v[i] * v[i];
    }
    double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
    assert_true(fabs(mean) < 4 * 0.02 / sqrt((double)n));
    assert_true(fabs(sd - 0.02) < 0.02 * 0.005);
    /* chunking: any split gives the same values */
    size_t chunks[] = {1, 2, 3, 7, 64, 1000, 4097, 65536};
    float *w = malloc(n * sizeof *w);
    assert_non_null(w);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        uint64_t step = chunks[c], limit = step < 64 ? 20000 : n; /* tiny chunks over a prefix */
        for (uint64_t o = 0; o < limit; o += step) {
            uint64_t k = limit - o < step ? limit - o : step;
            assert_int_equal(llmc_weights_read(ws, big, o, k, LLMC_DTYPE_F32, w + o, d), 0);
        }
        assert_memory_equal(v, w, limit * 4);
    }
    /* dtype conversion on read */
    uint16_t *hb = malloc(n * 2);
    assert_int_equal(llmc_weights_read(ws, big, 0, n, LLMC_DTYPE_BF16, hb, d), 0);
    for (uint64_t i = 0; i < n; i += 97) assert_int_equal(hb[i], llmc_f32_to_bf16(v[i]));
    assert_int_equal(llmc_weights_read(ws, big, 5, 1000, LLMC_DTYPE_F16, hb, d), 0);
    for (uint64_t i = 0; i < 1000; i++) assert_int_equal(hb[i], llmc_f32_to_f16(v[5 + i]));
    free(hb);
    free(v);
    free(w);
    /* ones, zeros, per-parameter std */
    float *ones = read_all(ws, ir, tid(ir, "norm.weight")), *zeros = read_all(ws, ir, tid(ir, "q.bias"));
    for (int i = 0; i < 16; i++) assert_true(ones[i] == 1.0f);
    for (int i = 0; i < 8; i++) assert_true(zeros[i] == 0.0f && !signbit(zeros[i]));
    free(ones);
    free(zeros);
    /* a different name or seed gives different values; the same gives the same */
    float a[64], b[64];
    assert_int_equal(llmc_weights_read(ws, tid(ir, "k.weight"), 0, 64, LLMC_DTYPE_F32, a, d), 0);
    assert_int_equal(llmc_weights_read(ws, tid(ir, "v.weight"), 0, 64, LLMC_DTYPE_F32, b, d), 0);
    int same = 0;
    for (int i = 0; i < 64; i++) same += a[i] * 2.0f == b[i];
    assert_true(same < 2);
    llmc_weight_source *ws2 = llmc_weights_create_init(ir, 42, d);
    assert_int_equal(llmc_weights_read(ws2, tid(ir, "k.weight"), 0, 64, LLMC_DTYPE_F32, b, d), 0);
    assert_memory_equal(a, b, sizeof a);
    llmc_weights_free(ws2);
    ws2 = llmc_weights_create_init(ir, 43, d);
    assert_int_equal(llmc_weights_read(ws2, tid(ir, "k.weight"), 0, 64, LLMC_DTYPE_F32, b, d), 0);
    assert_memory_not_equal(a, b, sizeof a);
    llmc_weights_free(ws2);
    assert_int_equal(llmc_diags_errors(d), 0);
    /* misuse is an error, not a crash */
    assert_int_not_equal(llmc_weights_read(ws, tid(ir, "k.weight"), 60, 5, LLMC_DTYPE_F32, a, d), 0);
    assert_int_not_equal(llmc_weights_read(ws, tid(ir, "k.weight"), UINT64_MAX, 2, LLMC_DTYPE_F32, a, d), 0);
    assert_int_not_equal(llmc_weights_read(ws, 999, 0, 1, LLMC_DTYPE_F32, a, d), 0);
    assert_int_not_equal(llmc_weights_read(ws, tid(ir, "k.weight"), 0, 1, LLMC_DTYPE_I64, a, d), 0);
    char *msg = test_all_diags(d);
    assert_non_null(strstr(msg, "outside 'k.weight'"));
    assert_non_null(strstr(msg, "not a parameter"));
    assert_non_null(strstr(msg, "cannot produce dtype i64"));
    free(msg);
    llmc_diags_free(d);
    llmc_weights_free(ws);
    llmc_ir_free(ir);
}

/* ---- views ------------------------------------------------------------------------------------------------ */

static void test_views(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *ws = llmc_weights_create_init(ir, 3, d);
    float *q = read_all(ws, ir, tid(ir, "q.weight")), *k = read_all(ws, ir, tid(ir, "k.weight")),
          *v = read_all(ws, ir, tid(ir, "v.weight"));
    /* concat along dim 0: [16, 16] */
    const char *qkv[] = {"q.weight", "k.weight", "v.weight"};
    float cat[16 * 16];
    memcpy(cat, q, 8 * 16 * 4);
    memcpy(cat + 8 * 16, k, 4 * 16 * 4);
    memcpy(cat + 12 * 16, v, 4 * 16 * 4);
    llmc_tensor_view vi = make_view(ir, "fused", qkv, 3, LLMC_VIEW_IDENTITY, 0);
    llmc_tensor_view vt = make_view(ir, "fused_t", qkv, 3, LLMC_VIEW_TRANSPOSE, 0);
    llmc_tensor_view vr = make_view(ir, "q_rope", qkv, 1, LLMC_VIEW_ROPE_PERMUTE, 2); /* 2 heads of 4 rows */
    assert_true(llmc_view_numel(&vi) == 256 && vt.shape[0] == 16 && vt.shape[1] == 16);
    float out[256];
    assert_int_equal(llmc_weights_read_view(ws, &vi, 0, 256, LLMC_DTYPE_F32, out, d), 0);
    assert_memory_equal(out, cat, sizeof out);
    /* transpose, read in odd pieces */
    for (int off = 0; off < 256;) {
        int n = off % 3 == 0 ? 37 : 5;
        if (off + n > 256) n = 256 - off;
        assert_int_equal(llmc_weights_read_view(ws, &vt, (uint64_t)off, (uint64_t)n, LLMC_DTYPE_F32, out + off, d), 0);
        off += n;
    }
    for (int c = 0; c < 16; c++)
        for (int r = 0; r < 16; r++) assert_true(f2u(out[c * 16 + r]) == f2u(cat[r * 16 + c]));
    /* RoPE permutation: stored row h*d + 2i + j = source row h*d + j*d/2 + i, d = 4 */
    assert_int_equal(llmc_weights_read_view(ws, &vr, 3, 100, LLMC_DTYPE_F32, out + 3, d), 0);
    assert_int_equal(llmc_weights_read_view(ws, &vr, 0, 3, LLMC_DTYPE_F32, out, d), 0);
    assert_int_equal(llmc_weights_read_view(ws, &vr, 103, 25, LLMC_DTYPE_F32, out + 103, d), 0);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int c = 0; c < 16; c++)
                    assert_true(f2u(out[(h * 4 + 2 * i + j) * 16 + c]) == f2u(q[(h * 4 + j * 2 + i) * 16 + c]));
    /* bf16 view reads convert the same values */
    uint16_t hb[256];
    assert_int_equal(llmc_weights_read_view(ws, &vt, 0, 256, LLMC_DTYPE_BF16, hb, d), 0);
    for (int c = 0; c < 16; c++)
        for (int r = 0; r < 16; r++) assert_int_equal(hb[c * 16 + r], llmc_f32_to_bf16(cat[r * 16 + c]));
    assert_int_equal(llmc_diags_errors(d), 0);
    /* malformed views are errors */
    llmc_tensor_view bad = vi;
    bad.shape[0] = 15;
    assert_int_not_equal(llmc_weights_read_view(ws, &bad, 0, 1, LLMC_DTYPE_F32, out, d), 0);
    bad = vr;
    bad.n_head = 3;
    assert_int_not_equal(llmc_weights_read_view(ws, &bad, 0, 1, LLMC_DTYPE_F32, out, d), 0);
    const char *mixed[] = {"q.weight", "q.bias"};
    bad = make_view(ir, "mixed", mixed, 2, LLMC_VIEW_IDENTITY, 0);
    assert_int_not_equal(llmc_weights_read_view(ws, &bad, 0, 1, LLMC_DTYPE_F32, out, d), 0);
    assert_int_not_equal(llmc_weights_read_view(ws, &vi, 250, 7, LLMC_DTYPE_F32, out, d), 0);
    assert_int_equal(llmc_diags_errors(d), 4);
    free(q);
    free(k);
    free(v);
    llmc_diags_free(d);
    llmc_weights_free(ws);
    llmc_ir_free(ir);
}

/* ---- the ordered writer ------------------------------------------------------------------------------------- */

typedef struct pattern_job {
    int fail_at;
} pattern_job;

static int pattern_chunk(void *user, uint64_t idx, void *buf, size_t *len, llmc_diags *d) {
    const pattern_job *j = user;
    if ((int)idx == j->fail_at) {
        llmc_error(d, NULL, "chunk %llu refused", (unsigned long long)idx);
        return 7;
    }
    /* variable lengths, content = chunk index; a little sleep disorders completion */
    size_t n = 1 + (size_t)(idx * 37 % 100);
    memset(buf, (int)(idx & 0xff), n);
    *len = n;
    if (idx % 5 == 0) usleep(200);
    return 0;
}

static int liar_chunk(void *user, uint64_t idx, void *buf, size_t *len, llmc_diags *d) {
    (void)user;
    (void)d;
    memset(buf, 1, 16);
    *len = idx == 3 ? 17 : 16; /* claims one byte more than its buffer holds */
    return 0;
}

static void test_write_ordered(void **state) {
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        FILE *f = tmpfile();
        assert_non_null(f);
        llmc_diags *d = llmc_diags_create();
        pattern_job j = {-1};
        llmc_progress *p = llmc_progress_create("test", 1 << 20);
        assert_int_equal(llmc_write_chunks_ordered(f, 300, 128, pattern_chunk, &j, threads, p, d), 0);
        llmc_progress_free(p);
        rewind(f);
        for (uint64_t idx = 0; idx < 300; idx++) {
            size_t n = 1 + (size_t)(idx * 37 % 100);
            for (size_t k = 0; k < n; k++) assert_int_equal(fgetc(f), (int)(idx & 0xff));
        }
        assert_int_equal(fgetc(f), EOF);
        fclose(f);
        /* a failing chunk stops the run, returns its code and reports it */
        f = tmpfile();
        j.fail_at = 77;
        assert_int_equal(llmc_write_chunks_ordered(f, 300, 128, pattern_chunk, &j, threads, NULL, d), 7);
        char *msg = test_all_diags(d);
        assert_non_null(strstr(msg, "chunk 77 refused"));
        free(msg);
        fclose(f);
        llmc_diags_free(d);
    }
    /* a chunk claiming more bytes than its buffer is caught */
    FILE *f = tmpfile();
    llmc_diags *d = llmc_diags_create();
    assert_int_not_equal(llmc_write_chunks_ordered(f, 10, 16, liar_chunk, NULL, 2, NULL, d), 0);
    assert_int_equal(llmc_diags_errors(d), 1);
    fclose(f);
    llmc_diags_free(d);
}

static void test_write_view_threads(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *ws = llmc_weights_create_init(ir, 11, d);
    const char *big[] = {"big.weight"};
    llmc_tensor_view vt = make_view(ir, "big_t", big, 1, LLMC_VIEW_TRANSPOSE, 0);
    llmc_dtype dts[] = {LLMC_DTYPE_F32, LLMC_DTYPE_BF16, LLMC_DTYPE_F16};
    for (int k = 0; k < 3; k++) {
        unsigned char *data[3];
        long size[3];
        int threads[3] = {1, 2, 3};
        for (int t = 0; t < 3; t++) {
            FILE *f = tmpfile();
            assert_int_equal(llmc_weights_write_view(ws, &vt, dts[k], f, threads[t], NULL, d), 0);
            size[t] = ftell(f);
            data[t] = malloc((size_t)size[t]);
            rewind(f);
            assert_int_equal(fread(data[t], 1, (size_t)size[t], f), (size_t)size[t]);
            fclose(f);
        }
        assert_int_equal(size[0], 1500000 * (long)llmc_dtype_size(dts[k]));
        assert_int_equal(size[0], size[1]);
        assert_int_equal(size[0], size[2]);
        assert_memory_equal(data[0], data[1], (size_t)size[0]);
        assert_memory_equal(data[0], data[2], (size_t)size[0]);
        /* and equal to a plain view read */
        unsigned char *ref = malloc((size_t)size[0]);
        assert_int_equal(llmc_weights_read_view(ws, &vt, 0, 1500000, dts[k], ref, d), 0);
        assert_memory_equal(ref, data[0], (size_t)size[0]);
        free(ref);
        for (int t = 0; t < 3; t++) free(data[t]);
    }
    assert_int_equal(llmc_diags_errors(d), 0);
    llmc_diags_free(d);
    llmc_weights_free(ws);
    llmc_ir_free(ir);
}

/* ---- checkpoints ----------------------------------------------------------------------------------------------- */

/* Write a safetensors file of the given views (in dt) the plain way: header + write_view. */
static void write_st(const char *path, llmc_weight_source *ws, const llmc_tensor_view *views, size_t n,
                     llmc_dtype dt) {
    char header[8192];
    size_t k = (size_t)snprintf(header, sizeof header, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    const char *dn = dt == LLMC_DTYPE_F16 ? "F16" : dt == LLMC_DTYPE_BF16 ? "BF16" : "F32";
    for (size_t i = 0; i < n; i++) {
        uint64_t b = llmc_view_numel(&views[i]) * llmc_dtype_size(dt);
        k += (size_t)snprintf(header + k, sizeof header - k, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", views[i].name, dn);
        for (int r = 0; r < views[i].rank; r++)
            k += (size_t)snprintf(header + k, sizeof header - k, "%s%lld", r ? "," : "", (long long)views[i].shape[r]);
        k += (size_t)snprintf(header + k, sizeof header - k, "],\"data_offsets\":[%llu,%llu]}",
                              (unsigned long long)off, (unsigned long long)(off + b));
        off += b;
    }
    k += (size_t)snprintf(header + k, sizeof header - k, "}");
    while (k % 8) header[k++] = ' ';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t len = k;
    assert_int_equal(fwrite(&len, 8, 1, f), 1);
    assert_int_equal(fwrite(header, 1, k, f), k);
    llmc_diags *d = llmc_diags_create();
    for (size_t i = 0; i < n; i++) assert_int_equal(llmc_weights_write_view(ws, &views[i], dt, f, 2, NULL, d), 0);
    llmc_diags_free(d);
    assert_int_equal(fclose(f), 0);
}

/* a layout for small_ir with a fused transposed qkv, a RoPE-permuted copy is not possible
 * (each parameter in one view), so k.bias gets the permutation-free identity */
static void small_layout(const llmc_ir *ir, llmc_layout *l) {
    memset(l, 0, sizeof *l);
    l->views = calloc(8, sizeof *l->views);
    assert_non_null(l->views);
    const char *qkv[] = {"q.weight", "k.weight", "v.weight"};
    const char *emb[] = {"emb.weight"}, *qb[] = {"q.bias"}, *kb[] = {"k.bias"}, *nw[] = {"norm.weight"},
               *bg[] = {"big.weight"};
    l->views[0] = make_view(ir, "emb", emb, 1, LLMC_VIEW_IDENTITY, 0);
    l->views[1] = make_view(ir, "qkv_t", qkv, 3, LLMC_VIEW_TRANSPOSE, 0);
    l->views[2] = make_view(ir, "q.bias", qb, 1, LLMC_VIEW_IDENTITY, 0);
    l->views[3] = make_view(ir, "k.bias", kb, 1, LLMC_VIEW_IDENTITY, 0);
    l->views[4] = make_view(ir, "norm", nw, 1, LLMC_VIEW_IDENTITY, 0);
    l->views[5] = make_view(ir, "big_rope", bg, 1, LLMC_VIEW_ROPE_PERMUTE, 250);
    l->n_views = 6;
    snprintf(l->family, sizeof l->family, "test");
}

static void test_checkpoint_roundtrip(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_layout l;
    small_layout(ir, &l);
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *init = llmc_weights_create_init(ir, 99, d);
    llmc_dtype dts[] = {LLMC_DTYPE_F32, LLMC_DTYPE_BF16, LLMC_DTYPE_F16};
    for (int k = 0; k < 3; k++) {
        const char *path = tmp_path("ck.safetensors");
        write_st(path, init, l.views, l.n_views, dts[k]);
        llmc_weight_source *ck = llmc_weights_open_checkpoint(path, ir, &l, d);
        if (!ck) fail_msg("%s", test_all_diags(d));
        assert_int_equal(llmc_weights_kind(ck), LLMC_WEIGHTS_CHECKPOINT);
        assert_string_equal(llmc_weights_path(ck), path);
        /* every parameter reads back as its init value (rounded through the stored dtype) */
        for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
            uint64_t n = numel_of(ir, (llmc_tid)t);
            float *a = read_all(init, ir, (llmc_tid)t), *b = read_all(ck, ir, (llmc_tid)t);
            for (uint64_t i = 0; i < n; i++) {
                float want = dts[k] == LLMC_DTYPE_BF16 ? llmc_bf16_to_f32(llmc_f32_to_bf16(a[i]))
                             : dts[k] == LLMC_DTYPE_F16 ? llmc_f16_to_f32(llmc_f32_to_f16(a[i]))
                                                        : a[i];
                if (f2u(want) != f2u(b[i]))
                    fail_msg("%s[%llu]: %a vs %a", llmc_ir_tensor(ir, (llmc_tid)t)->name, (unsigned long long)i,
                             (double)want, (double)b[i]);
            }
            free(a);
            free(b);
        }
        /* writing the same views from the checkpoint gives the same bytes (direct path) and
         * the same bytes through a differently shaped view (parameter path) */
        const char *again = tmp_path("ck2.safetensors");
        write_st(again, ck, l.views, l.n_views, dts[k]);
        size_t n1, n2;
        char *b1 = slurp(path, &n1), *b2 = slurp(again, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        free(b1);
        free(b2);
        const char *qkv[] = {"q.weight", "k.weight", "v.weight"};
        llmc_tensor_view other = make_view(ir, "other", qkv, 3, LLMC_VIEW_IDENTITY, 0);
        size_t es = llmc_dtype_size(dts[k]);
        unsigned char x[256 * 4], y[256 * 4];
        assert_int_equal(llmc_weights_read_view(ck, &other, 0, 256, dts[k], x, d), 0);
        llmc_tensor_view vt = make_view(ir, "t", qkv, 3, LLMC_VIEW_TRANSPOSE, 0);
        assert_int_equal(llmc_weights_read_view(ck, &vt, 0, 256, dts[k], y, d), 0);
        for (int c = 0; c < 16; c++)
            for (int r = 0; r < 16; r++) assert_memory_equal(x + (r * 16 + c) * es, y + (c * 16 + r) * es, es);
        llmc_weights_free(ck);
    }
    assert_int_equal(llmc_diags_errors(d), 0);
    llmc_weights_free(init);
    free(l.views);
    llmc_diags_free(d);
    llmc_ir_free(ir);
}

static void test_checkpoint_mismatch(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_layout l;
    small_layout(ir, &l);
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *init = llmc_weights_create_init(ir, 1, d);
    /* stored: emb with the wrong shape ([16, 37]), q.bias missing, an extra tensor */
    llmc_tensor_view st[6];
    memcpy(st, l.views, sizeof st);
    st[0].shape[0] = 16;
    st[0].shape[1] = 37;
    st[0].transform = LLMC_VIEW_TRANSPOSE;
    snprintf(st[2].name, sizeof st[2].name, "extra.weight");
    write_st(tmp_path("bad.safetensors"), init, st, 6, LLMC_DTYPE_F32);
    assert_null(llmc_weights_open_checkpoint(tmp_path("bad.safetensors"), ir, &l, d));
    char *msg = test_all_diags(d);
    assert_int_equal(llmc_diags_errors(d), 1);
    assert_non_null(strstr(msg, "bad.safetensors: checkpoint does not match the model (layout test): "
                                "1 missing: q.bias; 1 unexpected: extra.weight; "
                                "1 mis-shaped: emb (expected [37, 16], got [16, 37])"));
    free(msg);
    llmc_diags_clear(d);
    /* a file that is not there */
    assert_null(llmc_weights_open_checkpoint(tmp_path("nope.safetensors"), ir, &l, d));
    msg = test_all_diags(d);
    assert_non_null(strstr(msg, "nope.safetensors: cannot open: No such file or directory"));
    free(msg);
    llmc_diags_free(d);
    llmc_weights_free(init);
    free(l.views);
    llmc_ir_free(ir);
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* one-view layout over k.bias [4]; the stored tensor in F64 is read, in I32 refused */
static void test_checkpoint_dtypes(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_layout l;
    memset(&l, 0, sizeof l);
    const char *kb[] = {"k.bias"};
    llmc_tensor_view v = make_view(ir, "k.bias", kb, 1, LLMC_VIEW_IDENTITY, 0);
    l.views = &v;
    l.n_views = 1;
    snprintf(l.family, sizeof l.family, "one");
    const char *h64 = "{\"k.bias\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,32]}}   ";
    unsigned char buf[256];
    uint64_t hl = strlen(h64);
    memcpy(buf, &hl, 8);
    memcpy(buf + 8, h64, hl);
    double vals[4] = {0.1, -2.5, 1e-40, 3e38};
    memcpy(buf + 8 + hl, vals, sizeof vals);
    write_bytes(tmp_path("f64.safetensors"), buf, 8 + hl + sizeof vals);
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *ck = llmc_weights_open_checkpoint(tmp_path("f64.safetensors"), ir, &l, d);
    if (!ck) fail_msg("%s", test_all_diags(d));
    float out[4];
    assert_int_equal(llmc_weights_read(ck, tid(ir, "k.bias"), 0, 4, LLMC_DTYPE_F32, out, d), 0);
    for (int i = 0; i < 4; i++) assert_true(out[i] == (float)vals[i]);
    uint16_t h[4];
    assert_int_equal(llmc_weights_read_view(ck, &v, 0, 4, LLMC_DTYPE_F16, h, d), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(h[i], llmc_f32_to_f16((float)vals[i]));
    llmc_weights_free(ck);
    const char *h32 = "{\"k.bias\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]}}   ";
    hl = strlen(h32);
    memcpy(buf, &hl, 8);
    memcpy(buf + 8, h32, hl);
    memset(buf + 8 + hl, 0, 16);
    write_bytes(tmp_path("i32.safetensors"), buf, 8 + hl + 16);
    assert_null(llmc_weights_open_checkpoint(tmp_path("i32.safetensors"), ir, &l, d));
    char *msg = test_all_diags(d);
    assert_non_null(strstr(msg, "1 in a dtype llmc does not read (F32, F16, BF16, F64 are read): k.bias (I32)"));
    free(msg);
    llmc_diags_free(d);
    llmc_ir_free(ir);
}

static void test_checkpoint_sharded(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_layout l;
    small_layout(ir, &l);
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *init = llmc_weights_create_init(ir, 5, d);
    write_st(tmp_path("m-1.safetensors"), init, l.views, 2, LLMC_DTYPE_BF16);
    write_st(tmp_path("m-2.safetensors"), init, l.views + 2, 4, LLMC_DTYPE_BF16);
    const char *idx = "{\"metadata\": {\"total_size\": 1}, \"weight_map\": {\"emb\": \"m-1.safetensors\", "
                      "\"qkv_t\": \"m-1.safetensors\", \"q.bias\": \"m-2.safetensors\", \"k.bias\": "
                      "\"m-2.safetensors\", \"norm\": \"m-2.safetensors\", \"big_rope\": \"m-2.safetensors\"}}";
    write_bytes(tmp_path("m.safetensors.index.json"), idx, strlen(idx));
    llmc_weight_source *ck = llmc_weights_open_checkpoint(tmp_path("m.safetensors.index.json"), ir, &l, d);
    if (!ck) fail_msg("%s", test_all_diags(d));
    float *a = read_all(init, ir, tid(ir, "big.weight")), *b = read_all(ck, ir, tid(ir, "big.weight"));
    for (int i = 0; i < 1500000; i += 11) assert_true(f2u(b[i]) == f2u(llmc_bf16_to_f32(llmc_f32_to_bf16(a[i]))));
    free(a);
    free(b);
    llmc_weights_free(ck);
    /* index problems: a shard path, a tensor in the wrong shard, a tensor no entry names */
    const char *bad = "{\"weight_map\": {\"emb\": \"../m-1.safetensors\", \"qkv_t\": \"m-2.safetensors\", "
                      "\"q.bias\": \"m-2.safetensors\", \"k.bias\": \"m-2.safetensors\", \"norm\": \"m-2.safetensors\"}}";
    write_bytes(tmp_path("bad.index.json"), bad, strlen(bad));
    assert_null(llmc_weights_open_checkpoint(tmp_path("bad.index.json"), ir, &l, d));
    char *msg = test_all_diags(d);
    assert_non_null(strstr(msg, "weight_map entry 'emb' must name a shard file in the index's directory"));
    assert_non_null(strstr(msg, "weight_map puts tensor 'qkv_t' in 'm-2.safetensors', which does not contain it"));
    assert_non_null(strstr(msg, "shard 'm-2.safetensors' holds tensor 'big_rope', which weight_map does not assign"));
    free(msg);
    llmc_diags_clear(d);
    write_bytes(tmp_path("broken.index.json"), "{\"weight_map\": [", 16);
    assert_null(llmc_weights_open_checkpoint(tmp_path("broken.index.json"), ir, &l, d));
    msg = test_all_diags(d);
    assert_non_null(strstr(msg, "checkpoint index is not valid JSON"));
    free(msg);
    llmc_diags_free(d);
    llmc_weights_free(init);
    free(l.views);
    llmc_ir_free(ir);
}

/* ---- corrupted safetensors ---------------------------------------------------------------------------------- */

static char *st_bytes(const char *json, const void *data, size_t data_len, size_t *len, uint64_t fake_hlen) {
    size_t h = strlen(json);
    *len = 8 + h + data_len;
    char *b = malloc(*len);
    uint64_t hl = fake_hlen ? fake_hlen : h;
    for (int i = 0; i < 8; i++) b[i] = (char)(hl >> (8 * i));
    memcpy(b + 8, json, h);
    if (data_len) memcpy(b + 8 + h, data, data_len);
    return b;
}

static void expect_st_error(const char *json, size_t data_len, uint64_t fake_hlen, const char *want) {
    char data[64] = {0};
    size_t len;
    char *b = st_bytes(json, data, data_len, &len, fake_hlen);
    llmc_diags *d = llmc_diags_create();
    llmc_st_file *f = llmc_st_open_buffer(b, len, "x.safetensors", d);
    char *msg = test_all_diags(d);
    if (f || !strstr(msg, want)) fail_msg("header %s: expected error containing\n  %s\ngot\n  %s", json, want, msg);
    free(msg);
    llmc_diags_free(d);
    free(b);
}

/* ---- checkpoints: non-finite values and files that shrink -------------------------------------------------- */

/* Overwrite element i (of es bytes) of stored tensor name in the safetensors file path. */
static void poke(const char *path, const char *name, uint64_t i, const void *bytes, size_t es) {
    llmc_diags *d = llmc_diags_create();
    llmc_st_file *f = llmc_st_open(path, d);
    assert_non_null(f);
    const llmc_st_tensor *t = llmc_st_find(f, name);
    assert_non_null(t);
    long off = (long)((const char *)llmc_st_data(f, t) - (const char *)llmc_st_data(f, llmc_st_tensor_at(f, 0)));
    uint64_t first_begin = llmc_st_tensor_at(f, 0)->begin;
    llmc_st_close(f);
    llmc_diags_free(d);
    uint64_t hl;
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fread(&hl, 8, 1, fp), 1);
    assert_int_equal(fseek(fp, (long)(8 + hl + first_begin) + off + (long)(i * es), SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, es, fp), es);
    assert_int_equal(fclose(fp), 0);
}

/* the bits of NaN / +Inf / -Inf in dt */
static size_t special(llmc_dtype dt, int which, unsigned char out[4]) {
    float v = which == 0 ? NAN : which == 1 ? INFINITY : -INFINITY;
    if (dt == LLMC_DTYPE_F32) { memcpy(out, &v, 4); return 4; }
    uint16_t h = dt == LLMC_DTYPE_F16 ? llmc_f32_to_f16(v) : llmc_f32_to_bf16(v);
    memcpy(out, &h, 2);
    return 2;
}

static llmc_weight_source *open_ck(const char *path, const llmc_ir *ir, const llmc_layout *l, bool allow,
                                   llmc_diags *d) {
    llmc_checkpoint_params p = llmc_checkpoint_default_params();
    p.allow_nonfinite = allow;
    llmc_weights_error why = LLMC_WEIGHTS_IO_ERROR;
    llmc_weight_source *ws = llmc_weights_open_checkpoint_with(path, ir, l, &p, &why, d);
    if (!ws) fail_msg("%s", test_all_diags(d));
    assert_int_equal(why, LLMC_WEIGHTS_OK);
    return ws;
}

/* exactly one error, containing want */
static void expect_one_error(llmc_diags *d, const char *want) {
    char *msg = test_all_diags(d);
    if (llmc_diags_errors(d) != 1 || !strstr(msg, want)) fail_msg("expected one error with\n  %s\ngot\n  %s", want, msg);
    free(msg);
    llmc_diags_clear(d);
}

/* NaN/Inf in a checkpoint: every read path (parameter reads through each view transform, the
 * direct raw copy, the converting copy, the threaded writer) fails with the file, the tensor and
 * the element; allow_nonfinite imports the values bit for bit. */
static void test_checkpoint_nonfinite(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_layout l;
    small_layout(ir, &l);
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *init = llmc_weights_create_init(ir, 5, d);
    llmc_dtype dts[] = {LLMC_DTYPE_F32, LLMC_DTYPE_BF16, LLMC_DTYPE_F16};
    const char *path = tmp_path("nonfinite.safetensors");
    char want[512];
    for (int k = 0; k < 3; k++) {
        llmc_dtype dt = dts[k], other = dt == LLMC_DTYPE_F32 ? LLMC_DTYPE_BF16 : LLMC_DTYPE_F32;
        write_st(path, init, l.views, l.n_views, dt);
        unsigned char bits[4];
        size_t es = special(dt, 0, bits);
        poke(path, "emb", 21, bits, es);                  /* [1, 5] */
        special(dt, 1, bits);
        poke(path, "qkv_t", 3 * 16 + 7, bits, es);       /* stored [3, 7] = q.weight [7, 3] */
        special(dt, 2, bits);
        poke(path, "big_rope", 10 * 1500 + 20, bits, es); /* stored [10, 20] */

        float *buf = malloc(1500000 * sizeof *buf);
        assert_non_null(buf);
        snprintf(want, sizeof want, "%s: tensor 'emb': element [1, 5] (flat index 21) is NaN: the checkpoint holds "
                                    "non-finite weights (llmc compile --allow-nonfinite imports them as they are)",
                 path);
        /* parameter read (identity view) */
        llmc_weight_source *ws = open_ck(path, ir, &l, false, d);
        assert_int_equal(llmc_weights_failure(ws), LLMC_WEIGHTS_OK);
        assert_int_not_equal(llmc_weights_read(ws, tid(ir, "emb.weight"), 0, 37 * 16, LLMC_DTYPE_F32, buf, d), 0);
        expect_one_error(d, want);
        assert_int_equal(llmc_weights_failure(ws), LLMC_WEIGHTS_BAD_DATA);
        /* a failed source stays failed, without repeating its error */
        assert_int_not_equal(llmc_weights_read(ws, tid(ir, "norm.weight"), 0, 16, LLMC_DTYPE_F32, buf, d), 0);
        assert_int_equal(llmc_diags_size(d), 0);
        llmc_weights_free(ws);
        /* the direct raw copy, the converting copy, and the threaded writer */
        ws = open_ck(path, ir, &l, false, d);
        assert_int_not_equal(llmc_weights_read_view(ws, &l.views[0], 0, 37 * 16, dt, buf, d), 0);
        expect_one_error(d, want);
        llmc_weights_free(ws);
        ws = open_ck(path, ir, &l, false, d);
        assert_int_not_equal(llmc_weights_read_view(ws, &l.views[0], 16, 100, other, buf, d), 0);
        expect_one_error(d, want);
        llmc_weights_free(ws);
        ws = open_ck(path, ir, &l, false, d);
        FILE *f = tmpfile();
        assert_int_not_equal(llmc_weights_write_view(ws, &l.views[5], dt, f, 3, NULL, d), 0);
        fclose(f);
        snprintf(want, sizeof want, "%s: tensor 'big_rope': element [10, 20] (flat index 15020) is -Inf", path);
        expect_one_error(d, want);
        llmc_weights_free(ws);
        /* a range without the bad element reads fine */
        ws = open_ck(path, ir, &l, false, d);
        assert_int_equal(llmc_weights_read(ws, tid(ir, "emb.weight"), 22, 100, LLMC_DTYPE_F32, buf, d), 0);
        /* the transposed view, read through q.weight */
        assert_int_not_equal(llmc_weights_read(ws, tid(ir, "q.weight"), 0, 8 * 16, LLMC_DTYPE_F32, buf, d), 0);
        snprintf(want, sizeof want, "%s: tensor 'qkv_t': element [3, 7] (flat index 55) is +Inf", path);
        expect_one_error(d, want);
        llmc_weights_free(ws);
        /* the RoPE-permuted view, read through big.weight */
        ws = open_ck(path, ir, &l, false, d);
        assert_int_not_equal(llmc_weights_read(ws, tid(ir, "big.weight"), 0, 1500000, LLMC_DTYPE_F32, buf, d), 0);
        snprintf(want, sizeof want, "%s: tensor 'big_rope': element [10, 20] (flat index 15020) is -Inf", path);
        expect_one_error(d, want);
        llmc_weights_free(ws);

        /* allowed: the values come through as they are */
        ws = open_ck(path, ir, &l, true, d);
        assert_int_equal(llmc_weights_read(ws, tid(ir, "emb.weight"), 0, 37 * 16, LLMC_DTYPE_F32, buf, d), 0);
        assert_true(isnan(buf[21]));
        unsigned char raw[37 * 16 * 4];
        assert_int_equal(llmc_weights_read_view(ws, &l.views[0], 0, 37 * 16, dt, raw, d), 0);
        special(dt, 0, bits);
        assert_memory_equal(raw + 21 * es, bits, es);
        assert_int_equal(llmc_weights_read(ws, tid(ir, "q.weight"), 0, 8 * 16, LLMC_DTYPE_F32, buf, d), 0);
        assert_true(isinf(buf[7 * 16 + 3]) && buf[7 * 16 + 3] > 0);
        assert_int_equal(llmc_weights_failure(ws), LLMC_WEIGHTS_OK);
        assert_int_equal(llmc_diags_errors(d), 0);
        llmc_weights_free(ws);
        free(buf);
    }

    /* F64: a finite double beyond float32 would become infinite */
    llmc_layout one;
    memset(&one, 0, sizeof one);
    const char *kb[] = {"k.bias"};
    llmc_tensor_view v = make_view(ir, "k.bias", kb, 1, LLMC_VIEW_IDENTITY, 0);
    one.views = &v;
    one.n_views = 1;
    const char *h64 = "{\"k.bias\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,32]}}   ";
    unsigned char file[256];
    uint64_t hl = strlen(h64);
    memcpy(file, &hl, 8);
    memcpy(file + 8, h64, hl);
    double vals[4] = {0.1, 1e39, 2.0, 3.0};
    memcpy(file + 8 + hl, vals, sizeof vals);
    write_bytes(tmp_path("big64.safetensors"), file, 8 + hl + sizeof vals);
    llmc_weight_source *ws = open_ck(tmp_path("big64.safetensors"), ir, &one, false, d);
    float out[4];
    assert_int_not_equal(llmc_weights_read(ws, tid(ir, "k.bias"), 0, 4, LLMC_DTYPE_F32, out, d), 0);
    expect_one_error(d, "tensor 'k.bias': element [1] (flat index 1) is infinite or beyond float32's range");
    llmc_weights_free(ws);

    llmc_diags_free(d);
    llmc_weights_free(init);
    free(l.views);
    llmc_ir_free(ir);
}

/* The finite scans against a scalar isfinite over every class of value, at every position. */
static void test_first_nonfinite(void **state) {
    (void)state;
    enum { N = 3000 };
    float *x = malloc(N * sizeof *x);
    uint16_t *h = malloc(N * sizeof *h), *b = malloc(N * sizeof *b);
    assert_non_null(x);
    assert_non_null(h);
    assert_non_null(b);
    for (int i = 0; i < N; i++) {
        x[i] = (float)(i - 1500) * 1e-3f;
        h[i] = llmc_f32_to_f16(x[i]);
        b[i] = llmc_f32_to_bf16(x[i]);
    }
    x[7] = 3e38f;          /* finite extremes stay finite */
    x[8] = 1e-45f;
    h[7] = 0x7bff;         /* f16 max */
    assert_int_equal(llmc_first_nonfinite_f32(x, N), N);
    assert_int_equal(llmc_first_nonfinite_f16(h, N), N);
    assert_int_equal(llmc_first_nonfinite_bf16(b, N), N);
    const float specials[] = {NAN, INFINITY, -INFINITY};
    const int positions[] = {0, 1, 1023, 1024, 2047, N - 1};
    for (size_t s = 0; s < 3; s++) {
        for (size_t p = 0; p < sizeof positions / sizeof *positions; p++) {
            int at = positions[p];
            float keep = x[at];
            uint16_t kh = h[at], kb = b[at];
            x[at] = specials[s];
            h[at] = llmc_f32_to_f16(specials[s]);
            b[at] = llmc_f32_to_bf16(specials[s]);
            assert_int_equal(llmc_first_nonfinite_f32(x, N), at);
            assert_int_equal(llmc_first_nonfinite_f16(h, N), at);
            assert_int_equal(llmc_first_nonfinite_bf16(b, N), at);
            /* unaligned start */
            assert_int_equal(llmc_first_nonfinite_f32((const char *)(void *)x + 0, (size_t)at + 1), at);
            x[at] = keep;
            h[at] = kh;
            b[at] = kb;
        }
    }
    unsigned char un[4 * 9];
    float v[8] = {1, 2, 3, 4, 5, 6, NAN, 8};
    memcpy(un + 1, v, sizeof v);
    assert_int_equal(llmc_first_nonfinite_f32(un + 1, 8), 6);
    free(x);
    free(h);
    free(b);
}

/* A checkpoint truncated after it was opened (its header read and checked, the data not yet):
 * every read path fails with an I/O error naming the file and the tensor, never SIGBUS. */
static void test_checkpoint_truncated_while_reading(void **state) {
    (void)state;
    llmc_ir *ir = small_ir();
    llmc_layout l;
    small_layout(ir, &l);
    llmc_diags *d = llmc_diags_create();
    llmc_weight_source *init = llmc_weights_create_init(ir, 6, d);
    const char *pristine = tmp_path("pristine.safetensors"), *path = tmp_path("shrinking.safetensors");
    write_st(pristine, init, l.views, l.n_views, LLMC_DTYPE_F32);
    size_t n;
    char *bytes = slurp(pristine, &n);
    float *buf = malloc(1500000 * sizeof *buf);
    assert_non_null(buf);
    char want[512];
    snprintf(want, sizeof want, "%s: tensor 'big_rope': cannot read byte ", path);
    for (int way = 0; way < 5; way++) {
        write_bytes(path, bytes, n);
        llmc_weight_source *ws = open_ck(path, ir, &l, false, d);
        assert_int_equal(truncate(path, (off_t)(n / 2)), 0);
        int rc;
        FILE *f = NULL;
        switch (way) {
        case 0: rc = llmc_weights_read(ws, tid(ir, "big.weight"), 0, 1500000, LLMC_DTYPE_F32, buf, d); break;
        case 1: rc = llmc_weights_read_view(ws, &l.views[5], 0, 1500000, LLMC_DTYPE_F32, buf, d); break;
        case 2: rc = llmc_weights_read_view(ws, &l.views[5], 0, 1500000, LLMC_DTYPE_F16, buf, d); break;
        case 3:
            f = tmpfile();
            rc = llmc_weights_write_view(ws, &l.views[5], LLMC_DTYPE_BF16, f, 3, NULL, d);
            fclose(f);
            break;
        default: rc = llmc_weights_read(ws, tid(ir, "big.weight"), 0, 1500000, LLMC_DTYPE_BF16, buf, d); break;
        }
        assert_int_not_equal(rc, 0);
        char *msg = test_all_diags(d);
        if (llmc_diags_errors(d) < 1 || !strstr(msg, want) || !strstr(msg, "it shrank while it was being read"))
            fail_msg("way %d: %s", way, msg);
        free(msg);
        llmc_diags_clear(d);
        assert_int_equal(llmc_weights_failure(ws), LLMC_WEIGHTS_IO_ERROR);
        assert_int_not_equal(llmc_weights_read(ws, tid(ir, "emb.weight"), 0, 16, LLMC_DTYPE_F32, buf, d), 0);
        assert_int_equal(llmc_diags_size(d), 0); /* failed once, said once */
        llmc_weights_free(ws);
    }
    /* llmc_st_read: the guarded copy for other readers of a safetensors file */
    write_bytes(path, bytes, n);
    llmc_st_file *f = llmc_st_open(path, d);
    assert_non_null(f);
    const llmc_st_tensor *t = llmc_st_find(f, "big_rope");
    assert_int_equal(llmc_st_read(f, t, 0, 64, buf, d), 0);
    assert_int_not_equal(llmc_st_read(f, t, t->end - t->begin - 4, 8, buf, d), 0); /* past the tensor */
    llmc_diags_clear(d);
    assert_int_equal(truncate(path, (off_t)(n / 2)), 0);
    assert_int_not_equal(llmc_st_read(f, t, 0, (size_t)(t->end - t->begin), buf, d), 0);
    char *msg = test_all_diags(d);
    if (!strstr(msg, want)) fail_msg("%s", msg);
    free(msg);
    llmc_st_close(f);
    /* opening a file that is already shorter than its header says: bad data, not I/O */
    llmc_diags_clear(d);
    llmc_weights_error why = LLMC_WEIGHTS_OK;
    assert_null(llmc_weights_open_checkpoint_with(path, ir, &l, NULL, &why, d));
    assert_int_equal(why, LLMC_WEIGHTS_BAD_DATA);
    assert_null(llmc_weights_open_checkpoint_with(tmp_path("missing.safetensors"), ir, &l, NULL, &why, d));
    assert_int_equal(why, LLMC_WEIGHTS_IO_ERROR);
    /* a FIFO without a writer: refused at once (an ordinary open would block forever) */
    const char *fifo = tmp_path("fifo.safetensors");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    llmc_diags_clear(d);
    assert_null(llmc_weights_open_checkpoint_with(fifo, ir, &l, NULL, &why, d));
    assert_int_equal(why, LLMC_WEIGHTS_IO_ERROR);
    msg = test_all_diags(d);
    if (!strstr(msg, "not a regular file")) fail_msg("%s", msg);
    free(msg);
    assert_int_equal(unlink(fifo), 0);
    free(buf);
    free(bytes);
    llmc_diags_free(d);
    llmc_weights_free(init);
    free(l.views);
    llmc_ir_free(ir);
}

static void test_safetensors_corrupt(void **state) {
    (void)state;
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    char data[8] = {0};
    size_t len;
    char *b = st_bytes(ok, data, 8, &len, 0);
    llmc_diags *d = llmc_diags_create();
    llmc_st_file *f = llmc_st_open_buffer(b, len, "x.safetensors", d);
    assert_non_null(f);
    assert_int_equal(llmc_st_num_tensors(f), 1);
    assert_string_equal(llmc_st_find(f, "a")->dtype, "F32");
    assert_null(llmc_st_find(f, "b"));
    assert_ptr_equal(llmc_st_data(f, llmc_st_find(f, "a")), b + len - 8);
    llmc_st_close(f);
    /* truncated: the data section is shorter than the offsets say */
    llmc_st_file *t = llmc_st_open_buffer(b, len - 3, "x.safetensors", d);
    assert_null(t);
    char *msg = test_all_diags(d);
    assert_non_null(strstr(msg, "x.safetensors: tensor 'a': data_offsets end 8 is past the data section (5 bytes)"));
    free(msg);
    llmc_diags_clear(d);
    assert_null(llmc_st_open_buffer(b, 5, "x.safetensors", d));
    msg = test_all_diags(d);
    assert_non_null(strstr(msg, "too short for the 8-byte header length"));
    free(msg);
    llmc_diags_free(d);
    free(b);

    expect_st_error(ok, 8, 1ull << 40, "header length 1099511627776 is past the end of the file");
    expect_st_error(ok, 8, UINT64_MAX, "is past the end of the file");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                    12, 0, "tensor 'b': data_offsets [4, 12) overlap tensor 'a'");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0,
                    "tensor 'a': data_offsets begin at 4, leaving a gap of 4 unused bytes before it");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, 0,
                    "data section has 8 bytes but the tensors cover only 4");
    expect_st_error("{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0,
                    "tensor 'a': unknown dtype 'F17'");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],"
                    "\"data_offsets\":[0,4]}}", 4, 0, "tensor 'a': shape has more elements than fit in 64 bits");
    expect_st_error("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4, 0,
                    "tensor 'a': byte size of shape overflows 64 bits");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0,
                    "tensor 'a': F32 shape needs 12 bytes but data_offsets span 8");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, 0,
                    "tensor 'a': shape[0] is not a non-negative integer");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0,
                    "shape has 9 dimensions (at most 8 supported)");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, 0,
                    "data_offsets begin 4 is after end 0");
    expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, 0,
                    "unknown field 'x'");
    expect_st_error("{\"__metadata__\":{\"format\":1}}", 0, 0, "__metadata__ value of 'format' is not a string");
    expect_st_error("[1, 2]  ", 0, 0, "header does not start with '{'");
    expect_st_error("{\"a\": 1, \"a\": 2}", 0, 0, "header is not valid JSON");
    expect_st_error("{\"a\":{\"dtype\":\"F32\"", 0, 0, "header is not valid JSON");
    expect_st_error("{\"a\":[]}", 0, 0, "tensor 'a': entry is not an object");
}

static void test_safetensors_file(void **state) {
    (void)state;
    /* the fuzz seed corpus holds valid files and every corruption class; each must open or
     * be refused with a message, never crash */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/fuzz_safetensors", LLMC_SOURCE_DIR);
    static const struct { const char *file; const char *want; } cases[] = {
        {"valid_f32.safetensors", NULL},
        {"valid_mixed.safetensors", NULL},
        {"empty.safetensors", NULL},
        {"truncated.safetensors", "past the data section"},
        {"header_past_eof.safetensors", "past the end of the file"},
        {"overlap.safetensors", "overlap tensor 'a'"},
        {"gap.safetensors", "gap of 4 unused bytes"},
        {"bad_dtype.safetensors", "unknown dtype 'F17'"},
        {"huge_shape.safetensors", "more elements than fit in 64 bits"},
        {"bad_meta.safetensors", "is not a string"},
        {"not_json.safetensors", "not valid JSON"},
        {"dup_keys.safetensors", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
        llmc_diags *d = llmc_diags_create();
        llmc_st_file *f = llmc_st_open(path, d);
        char *msg = test_all_diags(d);
        if (cases[i].want == NULL) {
            if (!f) fail_msg("%s: %s", cases[i].file, msg);
            if (!strcmp(cases[i].file, "valid_mixed.safetensors")) {
                assert_string_equal(llmc_st_metadata(f, "format"), "pt");
                assert_null(llmc_st_metadata(f, "nope"));
                const llmc_st_tensor *z = llmc_st_find(f, "z");
                assert_true(z->rank == 2 && z->shape[0] == 0 && z->shape[1] == 3 && z->begin == z->end);
                assert_int_equal(llmc_st_find(f, "c")->rank, 0);
            }
            llmc_st_close(f);
        } else {
            assert_null(f);
            if (!strstr(msg, cases[i].want) || !strstr(msg, cases[i].file))
                fail_msg("%s: want '%s', got %s", cases[i].file, cases[i].want, msg);
        }
        free(msg);
        llmc_diags_free(d);
    }
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_st_open(dir, d)); /* a directory */
    char *msg = test_all_diags(d);
    assert_non_null(strstr(msg, "not a regular file"));
    free(msg);
    llmc_diags_free(d);
}

/* ---- the Hugging Face layout of real specs (through the template plugins) ------------------------------ */

static void *tmpl_handles[2];
static const llmc_template_vtable *DEC, *ENCDEC;

static const llmc_template_vtable *load_template(int slot, const char *file, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/plugins/templates/%s", LLMC_BINARY_DIR, file);
    tmpl_handles[slot] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!tmpl_handles[slot]) return NULL;
    llmc_plugin_entry_fn entry;
    *(void **)&entry = dlsym(tmpl_handles[slot], LLMC_PLUGIN_ENTRY_SYMBOL);
    const llmc_plugin_manifest *m = entry ? entry() : NULL;
    for (uint32_t i = 0; m && i < m->n_plugins; i++)
        if (m->plugins[i].kind == LLMC_PLUGIN_TEMPLATE && !strcmp(m->plugins[i].name, name))
            return m->plugins[i].vtable;
    return NULL;
}

static llmc_ir *build(const char *text, llmc_spec **spec_out) {
    if (!DEC) DEC = load_template(0, "decoder_only.so", "decoder_only");
    if (!ENCDEC) ENCDEC = load_template(1, "encoder_decoder.so", "encoder_decoder");
    assert_non_null(DEC);
    assert_non_null(ENCDEC);
    llmc_spec *s = test_spec(text);
    const llmc_template_vtable *vt = strcmp(s->template_name, "encoder_decoder") ? DEC : ENCDEC;
    llmc_diags *d = llmc_diags_create();
    llmc_dims dims = s->dims;
    assert_int_equal(vt->complete_dims(s, &dims, d), 0);
    llmc_ir *ir = llmc_ir_create();
    assert_int_equal(vt->build_ir(s, &dims, ir, d), 0);
    assert_int_equal(llmc_ir_validate(ir, d), 0);
    llmc_diags_free(d);
    *spec_out = s;
    return ir;
}

static char *example_text(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/config/examples/%s", LLMC_SOURCE_DIR, file);
    size_t n;
    char *t = slurp(path, &n);
    assert_non_null(t);
    return t;
}

static void check_layout(const char *text, const char *family, const char *arch) {
    llmc_spec *s;
    llmc_ir *ir = build(text, &s);
    llmc_layout l;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_layout_hf(s, ir, &l, d), 0);
    if (strcmp(l.family, family) || strcmp(l.hf_architecture, arch))
        fail_msg("family %s (%s), expected %s (%s) for\n%s", l.family, l.hf_architecture, family, arch, text);
    /* every parameter in exactly one view; the numbers add up */
    llmc_param_count c;
    assert_int_equal(llmc_ir_count_params(ir, &c, d), 0);
    uint64_t sum = 0;
    unsigned char *seen = calloc(llmc_ir_num_tensors(ir), 1);
    for (size_t i = 0; i < l.n_views; i++) {
        sum += llmc_view_numel(&l.views[i]);
        for (int k = 0; k < l.views[i].n_parts; k++) {
            assert_int_equal(seen[l.views[i].parts[k]], 0);
            seen[l.views[i].parts[k]] = 1;
        }
        assert_int_equal(llmc_layout_find(&l, l.views[i].name), (long)i);
    }
    free(seen);
    assert_true(sum == c.total);
    /* identity layout: IR names in IR order */
    llmc_layout id;
    assert_int_equal(llmc_layout_identity(ir, &id, d), 0);
    size_t k = 0;
    for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
        if (ti->kind != LLMC_TENSOR_PARAM) continue;
        assert_string_equal(id.views[k].name, ti->name);
        assert_int_equal(id.views[k].parts[0], (llmc_tid)t);
        k++;
    }
    assert_int_equal(k, id.n_views);
    if (!strcmp(family, "gpt2")) {
        long ca = llmc_layout_find(&l, "transformer.h.0.attn.c_attn.weight");
        assert_true(ca >= 0);
        const llmc_tensor_view *v = &l.views[ca];
        int64_t H = llmc_ir_tensor(ir, tid(ir, "model.embed_tokens.weight"))->shape[1];
        assert_true(v->n_parts == 3 && v->transform == LLMC_VIEW_TRANSPOSE && v->shape[0] == H && v->shape[1] == 3 * H);
        assert_true(llmc_layout_find(&l, "transformer.wte.weight") == 0);
        assert_true(llmc_layout_find(&l, "transformer.h.0.mlp.c_fc.weight") >= 0);
        assert_true(llmc_layout_find(&l, "transformer.ln_f.bias") >= 0);
        assert_true((llmc_layout_find(&l, "lm_head.weight") >= 0) == !s->tie_word_embeddings);
        assert_int_equal(llmc_layout_find(&l, "model.embed_tokens.weight"), -1);
    } else {
        assert_int_equal(l.n_views, id.n_views);
        for (size_t i = 0; i < l.n_views; i++) assert_string_equal(l.views[i].name, id.views[i].name);
    }
    llmc_layout_free(&id);
    llmc_layout_free(&l);
    llmc_diags_free(d);
    llmc_ir_free(ir);
    llmc_spec_free(s);
}

static void test_layout_families(void **state) {
    (void)state;
    static const struct { const char *file, *family, *arch; } ex[] = {
        {"gpt2-124m.yaml", "gpt2", "GPT2LMHeadModel"},
        {"llama-tiny-dims.yaml", "llama", "LlamaForCausalLM"},
        {"llama2-7b.yaml", "llama", "LlamaForCausalLM"},
        {"mistral-tiny.yaml", "mistral", "MistralForCausalLM"},
        {"qwen2-tiny.yaml", "qwen2", "Qwen2ForCausalLM"},
        {"t5-small.yaml", "t5", "T5ForConditionalGeneration"},
        {"bart-tiny.yaml", "llmc_encoder_decoder", ""},
        {"gemma-tiny.yaml", "gemma", "GemmaForCausalLM"},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char *t = example_text(ex[i].file);
        check_layout(t, ex[i].family, ex[i].arch);
        free(t);
    }
    const char *base = "vocab_size: 300\ncontext_length: 64\ndims: {num_layers: 2, hidden_size: 64, num_heads: 4}\n";
    char text[1024];
    struct { const char *extra, *family, *arch; } in[] = {
        /* GPT-2 untied, and GPT-2 features that break the family */
        {"positional_encoding: learned\nnorm: layernorm\nactivation: gelu\ntie_word_embeddings: false\n"
         "bias: {qkv: true, attn_out: true, mlp: true, norm: true}\n", "gpt2", "GPT2LMHeadModel"},
        {"positional_encoding: learned\nnorm: layernorm\nactivation: gelu\n"
         "bias: {qkv: true, attn_out: true, mlp: false, norm: true}\n", "llmc_decoder_only", ""},
        {"positional_encoding: learned\nnorm: layernorm\nactivation: gelu\nattention: gqa\n"
         "dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2}\n"
         "bias: {qkv: true, attn_out: true, mlp: true, norm: true}\n", "llmc_decoder_only", ""},
        /* llama with biases on q/k/v/o and the MLP; qwen2's pattern; lm_head bias breaks both */
        {"bias: {qkv: true, attn_out: true, mlp: true}\n", "llama", "LlamaForCausalLM"},
        {"bias: {qkv: true}\nattention: mqa\n", "qwen2", "Qwen2ForCausalLM"},
        {"bias: {qkv: true}\nsliding_window: 16\n", "qwen2", "Qwen2ForCausalLM"},
        {"bias: {qkv: true, lm_head: true}\n", "llmc_decoder_only", ""},
        {"bias: {attn_out: true}\n", "llmc_decoder_only", ""},
        {"rope: {scaling: {type: llama3, factor: 8}}\n", "llama", "LlamaForCausalLM"},
        {"sliding_window: 16\nrope: {scaling: {type: linear, factor: 2}}\n", "llmc_decoder_only", ""},
        {"sliding_window: 16\nbias: {mlp: true}\n", "llmc_decoder_only", ""},
        {"positional_encoding: alibi\n", "llmc_decoder_only", ""},
        {"norm: layernorm\n", "llmc_decoder_only", ""},
        {"activation: geglu\n", "llmc_decoder_only", ""},
        /* T5 with gated-gelu; with biases or learned positions it is no longer T5 */
        {"template: encoder_decoder\npositional_encoding: relative\nactivation: geglu\n", "t5",
         "T5ForConditionalGeneration"},
        {"template: encoder_decoder\npositional_encoding: relative\nactivation: relu\nbias: {qkv: true}\n",
         "llmc_encoder_decoder", ""},
        {"template: encoder_decoder\npositional_encoding: relative\nactivation: gelu\n", "llmc_encoder_decoder", ""},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        if (strstr(in[i].extra, "dims:"))
            snprintf(text, sizeof text, "vocab_size: 300\ncontext_length: 64\n%s", in[i].extra);
        else
            snprintf(text, sizeof text, "%s%s", base, in[i].extra);
        check_layout(text, in[i].family, in[i].arch);
    }
}

/* The GPT-2 layout read through an init source equals the definition: c_attn = [q;k;v]^T. */
static void test_gpt2_values(void **state) {
    (void)state;
    char *t = example_text("gpt2-124m.yaml");
    llmc_spec *s;
    llmc_ir *ir = build(t, &s);
    free(t);
    llmc_layout l;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_layout_hf(s, ir, &l, d), 0);
    llmc_weight_source *ws = llmc_weights_create_init(ir, 0, d);
    const llmc_tensor_view *v = &l.views[llmc_layout_find(&l, "transformer.h.3.attn.c_attn.weight")];
    /* a band of the stored [768, 2304] tensor: stored[c][r] = concat(q, k, v)[r][c] */
    float *band = malloc(3000 * sizeof *band);
    uint64_t off = 2304ull * 100 + 1000;
    assert_int_equal(llmc_weights_read_view(ws, v, off, 3000, LLMC_DTYPE_F32, band, d), 0);
    const char *parts[] = {"q_proj", "k_proj", "v_proj"};
    for (uint64_t e = 0; e < 3000; e++) {
        uint64_t s_ = off + e, c = s_ / 2304, r = s_ % 2304;
        char name[128];
        snprintf(name, sizeof name, "model.layers.3.self_attn.%s.weight", parts[r / 768]);
        float x;
        assert_int_equal(llmc_weights_read(ws, tid(ir, name), (r % 768) * 768 + c, 1, LLMC_DTYPE_F32, &x, d), 0);
        assert_true(f2u(x) == f2u(band[e]));
    }
    free(band);
    assert_int_equal(llmc_diags_errors(d), 0);
    llmc_weights_free(ws);
    llmc_layout_free(&l);
    llmc_diags_free(d);
    llmc_ir_free(ir);
    llmc_spec_free(s);
}

static int teardown_all(void **state) {
    for (int i = 0; i < 2; i++)
        if (tmpl_handles[i]) dlclose(tmpl_handles[i]);
    return teardown_tmp(state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_edges),
        cmocka_unit_test(test_f16_exhaustive),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_convert_bulk),
        cmocka_unit_test(test_convert_to_f32),
        cmocka_unit_test(test_philox_kat),
        cmocka_unit_test(test_init_values),
        cmocka_unit_test(test_init_isas),
        cmocka_unit_test(test_init_source),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_write_ordered),
        cmocka_unit_test(test_write_view_threads),
        cmocka_unit_test(test_checkpoint_roundtrip),
        cmocka_unit_test(test_checkpoint_mismatch),
        cmocka_unit_test(test_checkpoint_sharded),
        cmocka_unit_test(test_checkpoint_dtypes),
        cmocka_unit_test(test_checkpoint_nonfinite),
        cmocka_unit_test(test_first_nonfinite),
        cmocka_unit_test(test_checkpoint_truncated_while_reading),
        cmocka_unit_test(test_safetensors_corrupt),
        cmocka_unit_test(test_safetensors_file),
        cmocka_unit_test(test_layout_families),
        cmocka_unit_test(test_gpt2_values),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_all);
}
