/* Block quantization in ggml's reference layouts (llmc/quant.h). Written to give the same bytes
 * as ggml's reference quantizers: same float32 arithmetic in the same order (amax, d, 1/d,
 * x * (1/d)), roundf for Q8_0, the +8.5 truncation for Q4_0, f16 scale rounded to nearest even. */
#include "llmc/quant.h"

#include <math.h>
#include <string.h>

#include "llmc/weights.h"   /* llmc_f32_to_f16 / llmc_f16_to_f32 */

/* A float-to-integer conversion of NaN is undefined behaviour in C; the pipeline refuses
 * non-finite weights before quantizing, and a NaN that gets here anyway becomes 0 (as a block of
 * +-inf does: its scale is inf, its inverse 0). Finite values convert as ggml converts them. */
static float finite_or_zero(float v) { return v == v ? v : 0.0f; }

void llmc_quantize_q8_0(const float *x, size_t n, void *out) {
    uint8_t *o = out;
    for (size_t b = 0; b < n / LLMC_QK; b++, x += LLMC_QK, o += LLMC_Q8_0_BLOCK_BYTES) {
        float amax = 0.0f;
        for (int j = 0; j < LLMC_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = llmc_f32_to_f16(d);
        memcpy(o, &dh, 2);
        for (int j = 0; j < LLMC_QK; j++) o[2 + j] = (uint8_t)(int8_t)roundf(finite_or_zero(x[j] * id));
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
