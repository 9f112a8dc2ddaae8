/* K-quants: ggml's super-block formats Q6_K, Q5_K and Q4_K (llmc/quant.h), written to give the
 * bytes llama.cpp's quantizer writes without an importance matrix.
 *
 * A super-block holds 256 values. Q6_K splits it into 16 sub-blocks of 16 with a signed 8-bit
 * scale each (times one f16 scale); Q5_K / Q4_K into 8 sub-blocks of 32, each with a 6-bit scale
 * and a 6-bit minimum (times an f16 scale and an f16 minimum scale): value = d*sc*q - dmin*m.
 *
 * Byte identity needs the same float32 operations in the same order as ggml's reference code:
 * every accumulation runs left to right in float (this file is compiled with -ffp-contract=off so
 * that no multiply-add is fused), rounding to an integer is to nearest with ties to even (ggml's
 * nearest_int, lrintf here: both exact for the magnitudes that occur), and divisions stay
 * divisions where ggml divides. */
#include "llmc/quant.h"

#include <math.h>
#include <string.h>

#include "llmc/weights.h"   /* llmc_f32_to_f16 / llmc_f16_to_f32 */

#define SUPER 256
#define TINY 1e-15f        /* a group whose largest |x| is below this quantizes to zeros */

static int round_even(float v) { return (int)lrintf(v); }
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- Q6_K ------------------------------------------------------------------------------------ */

/* One group of 16 values to signed 6-bit levels q in [-32, 31] with scale s (x ~ s*q): start from
 * the scale that maps the value of largest magnitude to -32, then try 18 nearby scales (-32 +/-
 * 0.1..0.9) and keep the one whose least-squares fit, weighted by x^2, explains the most. Returns
 * the fitted scale; levels (stored offset by +32) in lv. */
static float fit_signed_group(const float *x, int n, int half, int8_t *lv) {
    float amax = 0.0f, extreme = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            extreme = x[i];
        }
    }
    if (amax < TINY) {
        memset(lv, 0, (size_t)n);
        return 0.0f;
    }
    float inv = -(float)half / extreme;
    float sxl = 0.0f, sll = 0.0f;
    for (int i = 0; i < n; i++) {
        const int q = clampi(round_even(inv * x[i]), -half, half - 1);
        lv[i] = (int8_t)(q + half);
        const float w = x[i] * x[i];
        sxl += w * x[i] * (float)q;
        sll += w * (float)q * (float)q;
    }
    float scale = sll != 0.0f ? sxl / sll : 0.0f;
    float best = scale * sxl;
    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        inv = -((float)half + 0.1f * (float)step) / extreme;
        sxl = sll = 0.0f;
        for (int i = 0; i < n; i++) {
            const int q = clampi(round_even(inv * x[i]), -half, half - 1);
            const float w = x[i] * x[i];
            sxl += w * x[i] * (float)q;
            sll += w * (float)q * (float)q;
        }
        if (sll > 0.0f && sxl * sxl > best * sll) {
            for (int i = 0; i < n; i++) lv[i] = (int8_t)(clampi(round_even(inv * x[i]), -half, half - 1) + half);
            scale = sxl / sll;
            best = scale * sxl;
        }
    }
    return scale;
}

void llmc_quantize_q6_k(const float *x, size_t n, void *out) {
    uint8_t *o = out;
    for (size_t b = 0; b < n / SUPER; b++, x += SUPER, o += LLMC_Q6_K_BLOCK_BYTES) {
        int8_t lv[SUPER];
        float scale[16];
        float top = 0.0f, top_abs = 0.0f;   /* the group scale of largest magnitude, sign kept */
        for (int g = 0; g < 16; g++) {
            scale[g] = fit_signed_group(x + 16 * g, 16, 32, lv + 16 * g);
            if (fabsf(scale[g]) > top_abs) {
                top_abs = fabsf(scale[g]);
                top = scale[g];
            }
        }
        uint8_t *ql = o, *qh = o + 128;
        int8_t *sc = (int8_t *)(o + 192);
        memset(o, 0, LLMC_Q6_K_BLOCK_BYTES);
        if (top_abs < TINY) continue;   /* all zero, d = +0 */

        /* group scales as int8 relative to d = top / -128 */
        const float inv = -128.0f / top;
        const uint16_t dh = llmc_f32_to_f16(1.0f / inv);
        memcpy(o + 208, &dh, 2);
        for (int g = 0; g < 16; g++) {
            const int s = round_even(inv * scale[g]);
            sc[g] = (int8_t)(s < 127 ? s : 127);
        }
        /* levels again against the scales as stored */
        const float d = llmc_f16_to_f32(dh);
        for (int g = 0; g < 16; g++) {
            const float dg = d * (float)sc[g];
            if (dg == 0.0f) continue;
            for (int i = 0; i < 16; i++) lv[16 * g + i] = (int8_t)(clampi(round_even(x[16 * g + i] / dg), -32, 31) + 32);
        }
        /* per half of 128: low nibbles of values l and l+64 share ql[l], of l+32 and l+96 share
         * ql[l+32]; the four 2-bit high parts of l, l+32, l+64, l+96 share qh[l] */
        for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
            const int8_t *v = lv + 128 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
            }
        }
    }
}

void llmc_dequantize_q6_k(const void *in, size_t n, float *y) {
    const uint8_t *p = in;
    for (size_t b = 0; b < n / SUPER; b++, p += LLMC_Q6_K_BLOCK_BYTES, y += SUPER) {
        uint16_t dh;
        memcpy(&dh, p + 208, 2);
        const float d = llmc_f16_to_f32(dh);
        const uint8_t *ql = p, *qh = p + 128;
        const int8_t *sc = (const int8_t *)(p + 192);
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8) {
            float *v = y + 128 * h;
            for (int l = 0; l < 32; l++) {
                const int g = l / 16;
                v[l] = d * (float)sc[g] * (float)(((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
                v[l + 32] = d * (float)sc[g + 2] * (float)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                v[l + 64] = d * (float)sc[g + 4] * (float)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                v[l + 96] = d * (float)sc[g + 6] * (float)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
    }
}

/* ---- Q5_K / Q4_K ----------------------------------------------------------------------------- */

/* One group of 32 values to unsigned levels q in [0, top] with x ~ scale*q - min_out, weights w:
 * start from the plain min/max grid, then try nstep+1 grids of (top + from + step*i) levels over
 * the same range, fit scale and minimum to each by weighted least squares (minimum clamped so the
 * range includes 0) and keep the one of least weighted squared error. */
static float fit_affine_group(const float *x, const float *w, int top, float from, float step, int nstep,
                              uint8_t *lv, float *min_out) {
    float lo = x[0], hi = x[0], sw = w[0], sx = w[0] * x[0];
    for (int i = 1; i < 32; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        sw += w[i];
        sx += w[i] * x[i];
    }
    if (lo > 0.0f) lo = 0.0f;
    if (hi == lo) {
        memset(lv, 0, 32);
        *min_out = -lo;
        return 0.0f;
    }
    float inv = (float)top / (hi - lo);
    float scale = 1.0f / inv;
    float best_err = 0.0f;
    for (int i = 0; i < 32; i++) {
        lv[i] = (uint8_t)clampi(round_even(inv * (x[i] - lo)), 0, top);
        const float diff = scale * (float)lv[i] + lo - x[i];
        best_err += w[i] * (diff * diff);
    }
    for (int k = 0; k <= nstep; k++) {
        inv = (from + step * (float)k + (float)top) / (hi - lo);
        uint8_t cand[32];
        float sl = 0.0f, sll = 0.0f, sxl = 0.0f;
        for (int i = 0; i < 32; i++) {
            const int q = clampi(round_even(inv * (x[i] - lo)), 0, top);
            cand[i] = (uint8_t)q;
            sl += w[i] * (float)q;
            sll += w[i] * (float)q * (float)q;
            sxl += w[i] * (float)q * x[i];
        }
        const float det = sw * sll - sl * sl;
        if (!(det > 0.0f)) continue;
        float s = (sw * sxl - sx * sl) / det;
        float m = (sll * sx - sl * sxl) / det;
        if (m > 0.0f) {
            m = 0.0f;
            s = sxl / sll;
        }
        float err = 0.0f;
        for (int i = 0; i < 32; i++) {
            const float diff = s * (float)cand[i] + m - x[i];
            err += w[i] * (diff * diff);
        }
        if (err < best_err) {
            memcpy(lv, cand, 32);
            best_err = err;
            scale = s;
            lo = m;
        }
    }
    *min_out = -lo;
    return scale;
}

/* the 12 bytes of 6-bit scales and minimums of Q4_K / Q5_K: groups 0-3 whole in bytes 0-3 (scale)
 * and 4-7 (minimum); groups 4-7 as low nibbles in bytes 8-11, their top two bits in the top two
 * bits of bytes 0-3 (scale) and 4-7 (minimum) */
static void pack_scales_mins(const uint8_t *sc, const uint8_t *mn, uint8_t *o) {
    memset(o, 0, 12);
    for (int g = 0; g < 8; g++) {
        if (g < 4) {
            o[g] = sc[g];
            o[g + 4] = mn[g];
        } else {
            o[g + 4] = (uint8_t)((sc[g] & 0xF) | ((mn[g] & 0xF) << 4));
            o[g - 4] |= (uint8_t)((sc[g] >> 4) << 6);
            o[g] |= (uint8_t)((mn[g] >> 4) << 6);
        }
    }
}

static void unpack_scale_min(const uint8_t *o, int g, int *sc, int *mn) {
    if (g < 4) {
        *sc = o[g] & 63;
        *mn = o[g + 4] & 63;
    } else {
        *sc = (o[g + 4] & 0xF) | ((o[g - 4] >> 6) << 4);
        *mn = (o[g + 4] >> 4) | ((o[g] >> 6) << 4);
    }
}

/* Shared by Q4_K (top 15) and Q5_K (top 31): levels of the 256 values into lv, header (d, dmin,
 * 12 scale bytes) into hdr. */
static void affine_super_block(const float *x, int top, float from, int nstep, uint8_t *hdr, uint8_t lv[SUPER]) {
    float scale[8], minv[8], max_scale = 0.0f, max_min = 0.0f;
    for (int g = 0; g < 8; g++) {
        const float *v = x + 32 * g;
        float ss = 0.0f;
        for (int i = 0; i < 32; i++) ss += v[i] * v[i];
        const float rms = sqrtf(ss / 32.0f);
        float w[32];
        for (int i = 0; i < 32; i++) w[i] = rms + fabsf(v[i]);
        scale[g] = fit_affine_group(v, w, top, from, 0.1f, nstep, lv + 32 * g, &minv[g]);
        if (scale[g] > max_scale) max_scale = scale[g];
        if (minv[g] > max_min) max_min = minv[g];
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uint8_t sc[8], mn[8];
    for (int g = 0; g < 8; g++) {
        /* as ggml: the rounded int converted to uint8_t (modulo 256), then capped at 63 */
        const uint8_t s = (uint8_t)round_even(inv_scale * scale[g]);
        const uint8_t m = (uint8_t)round_even(inv_min * minv[g]);
        sc[g] = s < 63 ? s : 63;
        mn[g] = m < 63 ? m : 63;
    }
    const uint16_t dh = llmc_f32_to_f16(max_scale / 63.0f), mh = llmc_f32_to_f16(max_min / 63.0f);
    memcpy(hdr, &dh, 2);
    memcpy(hdr + 2, &mh, 2);
    pack_scales_mins(sc, mn, hdr + 4);
    /* levels again against the scales and minimums as stored */
    const float d = llmc_f16_to_f32(dh), dmin = llmc_f16_to_f32(mh);
    for (int g = 0; g < 8; g++) {
        int s, m;
        unpack_scale_min(hdr + 4, g, &s, &m);
        const float dg = d * (float)s;
        if (dg == 0.0f) continue;
        const float mg = dmin * (float)m;
        for (int i = 0; i < 32; i++) lv[32 * g + i] = (uint8_t)clampi(round_even((x[32 * g + i] + mg) / dg), 0, top);
    }
}

void llmc_quantize_q4_k(const float *x, size_t n, void *out) {
    uint8_t *o = out;
    for (size_t b = 0; b < n / SUPER; b++, x += SUPER, o += LLMC_Q4_K_BLOCK_BYTES) {
        uint8_t lv[SUPER];
        affine_super_block(x, 15, -1.0f, 20, o, lv);
        /* per 64 values: byte l holds value l (low nibble) and value l+32 (high nibble) */
        uint8_t *q = o + 16;
        for (int c = 0; c < SUPER; c += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(lv[c + l] | (lv[c + l + 32] << 4));
    }
}

void llmc_quantize_q5_k(const float *x, size_t n, void *out) {
    uint8_t *o = out;
    for (size_t b = 0; b < n / SUPER; b++, x += SUPER, o += LLMC_Q5_K_BLOCK_BYTES) {
        uint8_t lv[SUPER];
        affine_super_block(x, 31, -0.5f, 15, o, lv);
        /* low 4 bits as Q4_K's nibbles; the fifth bit of value c+l (c = 64k) is bit 2k of qh[l],
         * of value c+l+32 bit 2k+1 */
        uint8_t *qh = o + 16, *q = o + 48;
        memset(qh, 0, 32);
        for (int c = 0, k = 0; c < SUPER; c += 64, k++, q += 32) {
            for (int l = 0; l < 32; l++) {
                const int a = lv[c + l], z = lv[c + l + 32];
                qh[l] |= (uint8_t)(((a >> 4) << (2 * k)) | ((z >> 4) << (2 * k + 1)));
                q[l] = (uint8_t)((a & 0xF) | ((z & 0xF) << 4));
            }
        }
    }
}

void llmc_dequantize_q4_k(const void *in, size_t n, float *y) {
    const uint8_t *p = in;
    for (size_t b = 0; b < n / SUPER; b++, p += LLMC_Q4_K_BLOCK_BYTES) {
        uint16_t dh, mh;
        memcpy(&dh, p, 2);
        memcpy(&mh, p + 2, 2);
        const float d = llmc_f16_to_f32(dh), dmin = llmc_f16_to_f32(mh);
        const uint8_t *q = p + 16;
        for (int c = 0; c < 4; c++, q += 32) {
            int s0, m0, s1, m1;
            unpack_scale_min(p + 4, 2 * c, &s0, &m0);
            unpack_scale_min(p + 4, 2 * c + 1, &s1, &m1);
            const float d0 = d * (float)s0, o0 = dmin * (float)m0, d1 = d * (float)s1, o1 = dmin * (float)m1;
            for (int l = 0; l < 32; l++) *y++ = d0 * (float)(q[l] & 0xF) - o0;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] >> 4) - o1;
        }
    }
}

void llmc_dequantize_q5_k(const void *in, size_t n, float *y) {
    const uint8_t *p = in;
    for (size_t b = 0; b < n / SUPER; b++, p += LLMC_Q5_K_BLOCK_BYTES) {
        uint16_t dh, mh;
        memcpy(&dh, p, 2);
        memcpy(&mh, p + 2, 2);
        const float d = llmc_f16_to_f32(dh), dmin = llmc_f16_to_f32(mh);
        const uint8_t *qh = p + 16, *q = p + 48;
        for (int c = 0; c < 4; c++, q += 32) {
            int s0, m0, s1, m1;
            unpack_scale_min(p + 4, 2 * c, &s0, &m0);
            unpack_scale_min(p + 4, 2 * c + 1, &s1, &m1);
            const float d0 = d * (float)s0, o0 = dmin * (float)m0, d1 = d * (float)s1, o1 = dmin * (float)m1;
            for (int l = 0; l < 32; l++) *y++ = d0 * (float)((q[l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4)) - o0;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((q[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) - o1;
        }
    }
}
