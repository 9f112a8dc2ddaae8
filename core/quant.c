/* Block quantization in ggml's reference layouts (llmc/quant.h). Written to give the same bytes
 * as ggml's reference quantizers: same float32 arithmetic in the same order (amax, d, 1/d,
 * x * (1/d)), roundf for Q8_0, the +8.5 truncation for Q4_0, f16 scale rounded to nearest even. */
#include "llmc/quant.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "llmc/weights.h"   /* llmc_f32_to_f16 / llmc_f16_to_f32 */

/* A float-to-integer conversion of NaN is undefined behaviour in C; the pipeline refuses
 * non-finite weights before quantizing, and a NaN that gets here anyway becomes 0 (as a block of
 * +-inf does: its scale is inf, its inverse 0). Finite values convert as ggml converts them. */
static float finite_or_zero(float v) { return v == v ? v : 0.0f; }

/* roundf (half away from zero) for |v| < 2^23 without a libm call: gcc does not inline roundf
 * for generic x86-64, and the call was a tenth of a Q8_0 conversion's time. v - (float)t is exact
 * (t has v's sign and |v| - |t| < 1), so the halfway test is the one roundf makes. */
static inline int round_half_away(float v) {
    /* x * (1/d) is infinite only when d underflows; (int8_t)roundf(inf) was x86's INT_MIN, byte 0 */
    if (!(fabsf(v) < 8388608.0f)) return INT_MIN;
    const int t = (int)v;
    const float r = v - (float)t;
    return t + (r >= 0.5f) - (r <= -0.5f);
}

void llmc_quantize_q8_0(const float *x, size_t n, void *out) {
    uint8_t *o = out;
    for (size_t b = 0; b < n / LLMC_QK; b++, x += LLMC_QK, o += LLMC_Q8_0_BLOCK_BYTES) {
        float amax = 0.0f;
        for (int j = 0; j < LLMC_QK; j++) {
            const float a = fabsf(x[j]);
            amax = a > amax ? a : amax;  /* fmaxf without the call; a NaN is skipped alike */
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = llmc_f32_to_f16(d);
        memcpy(o, &dh, 2);
        for (int j = 0; j < LLMC_QK; j++) o[2 + j] = (uint8_t)(int8_t)round_half_away(finite_or_zero(x[j] * id));
    }
}

void llmc_quantize_q4_0(const float *x, size_t n, void *out) {
    uint8_t *o = out;
    for (size_t b = 0; b < n / LLMC_QK; b++, x += LLMC_QK, o += LLMC_Q4_0_BLOCK_BYTES) {
        /* the value of largest magnitude, sign kept; the first one on ties (strict <) */
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < LLMC_QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = llmc_f32_to_f16(d);
        memcpy(o, &dh, 2);
        for (int j = 0; j < LLMC_QK / 2; j++) {
            const float x0 = finite_or_zero(x[j] * id), x1 = finite_or_zero(x[LLMC_QK / 2 + j] * id);
            int q0 = (int8_t)(x0 + 8.5f), q1 = (int8_t)(x1 + 8.5f);   /* truncation, as ggml */
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            o[2 + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void llmc_dequantize_q8_0(const void *in, size_t n, float *y) {
    const uint8_t *p = in;
    for (size_t b = 0; b < n / LLMC_QK; b++, p += LLMC_Q8_0_BLOCK_BYTES, y += LLMC_QK) {
        uint16_t dh;
        memcpy(&dh, p, 2);
        const float d = llmc_f16_to_f32(dh);
        for (int j = 0; j < LLMC_QK; j++) y[j] = d * (float)(int8_t)p[2 + j];
    }
}

void llmc_dequantize_q4_0(const void *in, size_t n, float *y) {
    const uint8_t *p = in;
    for (size_t b = 0; b < n / LLMC_QK; b++, p += LLMC_Q4_0_BLOCK_BYTES, y += LLMC_QK) {
        uint16_t dh;
        memcpy(&dh, p, 2);
        const float d = llmc_f16_to_f32(dh);
        for (int j = 0; j < LLMC_QK / 2; j++) {
            y[j] = d * (float)((p[2 + j] & 0x0F) - 8);
            y[j + LLMC_QK / 2] = d * (float)((p[2 + j] >> 4) - 8);
        }
    }
}
