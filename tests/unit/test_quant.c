/* Q8_0 / Q4_0 block quantization (llmc/quant.h): hand-computed blocks in ggml's reference layouts,
 * round trips within half a step, zero blocks. (Bit-exactness against an independent
 * implementation, gguf-py's, is checked on whole models in tests/python/test_gguf.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "llmc/quant.h"
#include "llmc/weights.h"

static float scale_of(const uint8_t *block) {
    uint16_t h;
    memcpy(&h, block, 2);
    return llmc_f16_to_f32(h);
}

/* x[j] = j - 16 (amax 16): d = 16/127 and q[j] = round((j - 16) * 127 / 16) */
static void test_q8_0_block(void **state) {
    (void)state;
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    uint8_t b[LLMC_Q8_0_BLOCK_BYTES];
    llmc_quantize_q8_0(x, 32, b);
    assert_int_equal(llmc_f32_to_f16(16.0f / 127.0f), (uint16_t)(b[0] | b[1] << 8));
    const float id = 1.0f / (16.0f / 127.0f);
    for (int j = 0; j < 32; j++) assert_int_equal((int8_t)b[2 + j], (int)roundf(x[j] * id));
    assert_int_equal((int8_t)b[2], -127);   /* the extreme value maps to -127 */
    float y[32];
    llmc_dequantize_q8_0(b, 32, y);
    const float d = scale_of(b);
    for (int j = 0; j < 32; j++) assert_true(fabsf(y[j] - x[j]) <= 0.5f * d + 1e-3f * 16.0f);
}

/* Q4_0: d = m / -8 for the value m of largest magnitude (sign kept); nibbles q = min(15, trunc(x/d + 8.5)),
 * byte j = q[j] | q[j + 16] << 4 */
static void test_q4_0_block(void **state) {
    (void)state;
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = 0.25f * (float)(j - 12);   /* -3 .. 4.75: m = 4.75 */
    uint8_t b[LLMC_Q4_0_BLOCK_BYTES];
    llmc_quantize_q4_0(x, 32, b);
    const float d = 4.75f / -8.0f;
    assert_int_equal(llmc_f32_to_f16(d), (uint16_t)(b[0] | b[1] << 8));
    for (int j = 0; j < 16; j++) {
        int q0 = (int8_t)(x[j] * (1.0f / d) + 8.5f), q1 = (int8_t)(x[16 + j] * (1.0f / d) + 8.5f);
        if (q0 > 15) q0 = 15;
        if (q1 > 15) q1 = 15;
        assert_int_equal(b[2 + j] & 0x0F, q0);
        assert_int_equal(b[2 + j] >> 4, q1);
    }
    assert_int_equal(b[2 + 15] >> 4, 0);     /* x[31] = m maps to q = 0, i.e. -8 * d = m */
    float y[32];
    llmc_dequantize_q4_0(b, 32, y);
    const float ds = fabsf(scale_of(b));
    for (int j = 0; j < 32; j++) assert_true(fabsf(y[j] - x[j]) <= 0.5f * ds + 1e-3f);
}

static void test_zero_blocks_and_many(void **state) {
    (void)state;
    float x[96] = {0};
    for (int j = 32; j < 96; j++) x[j] = sinf((float)j) * 0.02f;
    uint8_t q8[3 * LLMC_Q8_0_BLOCK_BYTES], q4[3 * LLMC_Q4_0_BLOCK_BYTES];
    llmc_quantize_q8_0(x, 96, q8);
    llmc_quantize_q4_0(x, 96, q4);
    for (int i = 0; i < LLMC_Q8_0_BLOCK_BYTES; i++) assert_int_equal(q8[i], 0);       /* d = 0, q = 0 */
    assert_true(scale_of(q4) == 0.0f);   /* 0 / -8: negative zero, as ggml writes it */
    for (int i = 2; i < LLMC_Q4_0_BLOCK_BYTES; i++) assert_int_equal(q4[i], 0x88);   /* q = 8, i.e. 0 */
    float y8[96], y4[96];
    llmc_dequantize_q8_0(q8, 96, y8);
    llmc_dequantize_q4_0(q4, 96, y4);
    for (int j = 0; j < 96; j++) {
        assert_true(fabsf(y8[j] - x[j]) <= 0.02f / 127.0f);
        assert_true(fabsf(y4[j] - x[j]) <= 0.02f / 8.0f);
    }
}

/* K-quants: zero super-blocks are all-zero bytes; constant and one-outlier blocks and pseudo-random
 * data come back within the format's resolution. (Byte identity with llama.cpp's quantizer is
 * tests/python/test_kquant.py.) */
typedef struct {
    void (*quantize)(const float *, size_t, void *);
    void (*dequantize)(const void *, size_t, float *);
    size_t bytes;
    float rel_rms;   /* bound on the RMS error / RMS of uniform data */
} kquant;

static const kquant kquants[] = {
    {llmc_quantize_q6_k, llmc_dequantize_q6_k, LLMC_Q6_K_BLOCK_BYTES, 0.025f},
    {llmc_quantize_q5_k, llmc_dequantize_q5_k, LLMC_Q5_K_BLOCK_BYTES, 0.05f},
    {llmc_quantize_q4_k, llmc_dequantize_q4_k, LLMC_Q4_K_BLOCK_BYTES, 0.10f},
};

static void test_kquant_blocks(void **state) {
    (void)state;
    enum { N = 4 * LLMC_QK_K };
    static float x[N], y[N];
    static uint8_t b[4 * LLMC_Q6_K_BLOCK_BYTES];
    uint32_t seed = 12345;
    for (size_t t = 0; t < sizeof kquants / sizeof kquants[0]; t++) {
        const kquant *k = &kquants[t];
        /* block 0 zero, block 1 constant -0.75, block 2 uniform in [-1, 1] with one outlier of 40,
         * block 3 uniform in [-1, 1] */
        for (int i = 0; i < N; i++) {
            seed = seed * 1664525u + 1013904223u;
            const float u = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
            x[i] = i < LLMC_QK_K ? 0.0f : i < 2 * LLMC_QK_K ? -0.75f : u;
        }
        x[2 * LLMC_QK_K + 77] = 40.0f;
        memset(b, 0xAB, sizeof b);
        k->quantize(x, N, b);
        for (size_t j = 0; j < k->bytes; j++) assert_int_equal(b[j], 0);
        k->dequantize(b, N, y);
        for (int i = 0; i < LLMC_QK_K; i++) assert_true(y[i] == 0.0f);
        for (int i = LLMC_QK_K; i < 2 * LLMC_QK_K; i++) assert_true(fabsf(y[i] + 0.75f) <= 0.75f * 0.01f);
        assert_true(fabsf(y[2 * LLMC_QK_K + 77] - 40.0f) <= 40.0f * 0.05f);
        double err = 0, ref = 0;
        for (int i = 3 * LLMC_QK_K; i < N; i++) {
            err += (double)(y[i] - x[i]) * (y[i] - x[i]);
            ref += (double)x[i] * x[i];
        }
        assert_true(sqrt(err / ref) < k->rel_rms);
    }
}

/* A NaN never reaches a float-to-integer conversion (undefined behaviour): it quantizes as 0, the
 * block's scale comes from its finite values (fmaxf and the strict < skip NaN). */
static void test_nan_in_block(void **state) {
    (void)state;
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    x[3] = NAN;
    uint8_t q8[LLMC_Q8_0_BLOCK_BYTES], q4[LLMC_Q4_0_BLOCK_BYTES];
    llmc_quantize_q8_0(x, 32, q8);
    llmc_quantize_q4_0(x, 32, q4);
    assert_int_equal(llmc_f32_to_f16(16.0f / 127.0f), (uint16_t)(q8[0] | q8[1] << 8));
    assert_int_equal(q8[2 + 3], 0);
    assert_int_equal((int8_t)q8[2 + 4], (int)roundf(-12.0f * (127.0f / 16.0f)));
    assert_int_equal(llmc_f32_to_f16(-16.0f / -8.0f), (uint16_t)(q4[0] | q4[1] << 8));
    assert_int_equal(q4[2 + 3] & 0x0F, 8);   /* q = 8 is 0 */
}

/* Q8_0's rounding is written without libm calls (speed); it must give roundf's answer on every
 * value, halfway cases included: random blocks, and blocks whose scaled values sit exactly on .5
 * (x = (k + 0.5) * d with amax = 127 * d) or one ulp either side of it. */
static void test_q8_0_rounding_is_roundf(void **state) {
    (void)state;
    uint32_t s = 12345u;
    float x[32];
    uint8_t got[LLMC_Q8_0_BLOCK_BYTES];
    for (int b = 0; b < 200000; b++) {
        int kind = b % 4;
        for (int j = 0; j < 32; j++) {
            s = s * 1664525u + 1013904223u;
            float u = (float)(s >> 8) / 16777216.0f * 2.0f - 1.0f;  /* [-1, 1) */
            if (kind == 0) x[j] = u * 3.0f;
            else {
                int k = (int)(s % 254u) - 127;
                float v = ((float)k + 0.5f) / 127.0f;  /* halfway in units of d = 1/127 */
                x[j] = kind == 1 ? v : kind == 2 ? nextafterf(v, 2.0f) : nextafterf(v, -2.0f);
            }
        }
        if (kind) x[0] = 1.0f;  /* amax 1: d = 1/127 */
        llmc_quantize_q8_0(x, 32, got);
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) assert_int_equal((int8_t)got[2 + j], (int8_t)roundf(x[j] * id));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q8_0_block),
        cmocka_unit_test(test_q4_0_block),
        cmocka_unit_test(test_zero_blocks_and_many),
        cmocka_unit_test(test_kquant_blocks),
        cmocka_unit_test(test_nan_in_block),
        cmocka_unit_test(test_q8_0_rounding_is_roundf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
