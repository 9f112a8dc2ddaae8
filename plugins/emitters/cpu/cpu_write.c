/* cpu_write.c — model.bin: the header, one record per tensor, then the tensors laid out for the
 * kernels (llmc_format.h). Streamed: each tensor is cut into chunks of whole panels (or rows) that
 * worker threads read from the weight source, pack into panels and quantize, and that are written in
 * order (llmc_write_chunks_ordered); nothing holds the whole model in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"
#include "llmc/quant.h"

#define MODEL_REL "cpu/model.bin"
#define CHUNK_ELEMS (1u << 20)   /* source elements per chunk: 4 MiB of float32 */

typedef struct job {
    llmc_weight_source *ws;
    const cpu_tensor *t;
    uint64_t chunk_panels;   /* CPU_MATRIX: panels per chunk */
    uint64_t chunk_rows;     /* others: rows per chunk */
    uint64_t n_chunks;
    size_t out_bytes;        /* the packed part of a chunk buffer; the source values follow it */
} job;

/* One row's super-block of a K-quant matrix into its lane of the panel's super-block sb
 * (llmc_format.h): ggml's block (llmc_quantize_q*_k, what the GGUF holds), its levels regrouped as
 * Q4_0-style nibble vectors (plus the fifth bits / high 2-bit parts), its scale bytes and f16 d / dmin
 * moved into [byte][lane] order. */
static void pack_kquant(uint32_t dtype, const float *x, int lane, uint8_t *sb) {
    uint8_t blk[LLMC_Q6_K_BLOCK_BYTES], lv[LLMC_QK_K];   /* levels: Q4_K 0..15, Q5_K 0..31, Q6_K 0..63 */
    const uint8_t *scales, *dd;
    int n_scales, n_d;
    if (dtype == WT_Q6_K) {
        llmc_quantize_q6_k(x, LLMC_QK_K, blk);
        const uint8_t *ql = blk, *qh = blk + 128;
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *a = ql + 64 * h, *hb = qh + 32 * h;
                uint8_t *v = lv + 128 * h;
                v[l] = (uint8_t)((a[l] & 0x0f) | ((hb[l] & 3) << 4));
                v[l + 32] = (uint8_t)((a[l + 32] & 0x0f) | (((hb[l] >> 2) & 3) << 4));
                v[l + 64] = (uint8_t)((a[l] >> 4) | (((hb[l] >> 4) & 3) << 4));
                v[l + 96] = (uint8_t)((a[l + 32] >> 4) | (((hb[l] >> 6) & 3) << 4));
            }
        scales = blk + 192, n_scales = 16, dd = blk + 208, n_d = 1;
    } else {
        const bool q5 = dtype == WT_Q5_K;
        if (q5) llmc_quantize_q5_k(x, LLMC_QK_K, blk);
        else llmc_quantize_q4_k(x, LLMC_QK_K, blk);
        const uint8_t *qh = blk + 16, *q = blk + (q5 ? 48 : 16);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                lv[64 * c + l] = (uint8_t)((q[32 * c + l] & 0x0f) | (q5 ? ((qh[l] >> (2 * c)) & 1) << 4 : 0));
                lv[64 * c + 32 + l] = (uint8_t)((q[32 * c + l] >> 4) | (q5 ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0));
            }
        scales = blk + 4, n_scales = 12, dd = blk, n_d = 2;
    }
    /* 32-column sub-block j: vector v, byte i holds columns 4v + i (low nibble) and 16 + 4v + i (high) */
    for (int j = 0; j < 8; j++)
        for (int v = 0; v < 4; v++)
            for (int i = 0; i < 4; i++) {
                const uint8_t a = lv[32 * j + 4 * v + i], b = lv[32 * j + 16 + 4 * v + i];
                sb[j * 256 + v * 64 + lane * 4 + i] = (uint8_t)((a & 0x0f) | (b & 0x0f) << 4);
                if (dtype == WT_Q5_K) sb[2048 + j * 64 + lane * 4 + i] |= (uint8_t)(((a >> 4) << (2 * v)) | ((b >> 4) << (2 * v + 1)));
                if (dtype == WT_Q6_K)
                    sb[2048 + j * 128 + (v / 2) * 64 + lane * 4 + i] |=
                        (uint8_t)(((a >> 4) << (4 * (v % 2))) | ((b >> 4) << (4 * (v % 2) + 2)));
            }
    uint8_t *sc = sb + (dtype == WT_Q6_K ? 3072 : dtype == WT_Q5_K ? 2560 : 2048);
    for (int k = 0; k < n_scales; k++) sc[k * LLMC_PANEL + lane] = scales[k];
    for (int k = 0; k < n_d; k++) memcpy(sc + n_scales * LLMC_PANEL + k * 2 * LLMC_PANEL + lane * 2, dd + 2 * k, 2);
}

/* Panels [p0, p0 + np) of a matrix from its rows (float32, row-major, rows r0 = p0 * 16 ..). */
static void pack_panels(const cpu_tensor *t, const float *src, uint64_t p0, uint64_t np, uint8_t *out) {
    const uint64_t K = t->cols;
    memset(out, 0, (size_t)(np * t->panel_bytes));
    for (uint64_t pi = 0; pi < np; pi++) {
        uint8_t *panel = out + pi * t->panel_bytes;
        for (int lane = 0; lane < LLMC_PANEL; lane++) {
            const uint64_t r = (p0 + pi) * LLMC_PANEL + (uint64_t)lane;
            if (r >= t->rows) break;   /* rows past the end stay zero */
            const float *row = src + (r - p0 * LLMC_PANEL) * K;
            switch (t->dtype) {
            case WT_F32: {
                float *o = (float *)panel;
                for (uint64_t k = 0; k < K; k++) o[k * LLMC_PANEL + (uint64_t)lane] = row[k];
                break;
            }
            case WT_F16:
            case WT_BF16: {
                uint16_t *o = (uint16_t *)panel;
                for (uint64_t k = 0; k < K; k++)
                    o[k * LLMC_PANEL + (uint64_t)lane] = t->dtype == WT_F16 ? llmc_f32_to_f16(row[k]) : llmc_f32_to_bf16(row[k]);
                break;
            }
            case WT_Q8_0: {
                /* ggml's Q8_0 block (f16 scale + 32 int8), then scattered: quants as q + 128 in
                 * [block][group of 4 columns][lane][4], scales in [block][lane] after every block */
                const uint64_t nb = K / LLMC_QBLOCK;
                uint16_t *scales = (uint16_t *)(panel + nb * LLMC_PANEL * LLMC_QBLOCK);
                for (uint64_t b = 0; b < nb; b++) {
                    uint8_t blk[LLMC_Q8_0_BLOCK_BYTES];
                    llmc_quantize_q8_0(row + b * LLMC_QBLOCK, LLMC_QBLOCK, blk);
                    memcpy(&scales[b * LLMC_PANEL + (uint64_t)lane], blk, 2);
                    uint8_t *qb = panel + b * LLMC_PANEL * LLMC_QBLOCK;
                    for (int j = 0; j < LLMC_QBLOCK; j++)
                        qb[(j / 4) * (LLMC_PANEL * 4) + lane * 4 + j % 4] = (uint8_t)(blk[2 + j] ^ 0x80u);
                }
                break;
            }
            case WT_Q4_0: {
                /* ggml's Q4_0 block (f16 scale + 16 bytes of nibble pairs: q[j] low, q[j + 16] high),
                 * regrouped: vector v of a block holds columns 4v..4v+3 (low nibbles) and
                 * 4(v+4)..4(v+4)+3 (high nibbles) of the 16 rows, 4 bytes per row */
                const uint64_t nb = K / LLMC_QBLOCK;
                uint16_t *scales = (uint16_t *)(panel + nb * LLMC_PANEL * LLMC_QBLOCK / 2);
                for (uint64_t b = 0; b < nb; b++) {
                    uint8_t blk[LLMC_Q4_0_BLOCK_BYTES], q[LLMC_QBLOCK];
                    llmc_quantize_q4_0(row + b * LLMC_QBLOCK, LLMC_QBLOCK, blk);
                    memcpy(&scales[b * LLMC_PANEL + (uint64_t)lane], blk, 2);
                    for (int j = 0; j < LLMC_QBLOCK / 2; j++) {
                        q[j] = blk[2 + j] & 0x0f;
                        q[j + LLMC_QBLOCK / 2] = blk[2 + j] >> 4;
                    }
                    uint8_t *qb = panel + b * LLMC_PANEL * LLMC_QBLOCK / 2;
                    for (int v = 0; v < 4; v++)
                        for (int i = 0; i < 4; i++)
                            qb[v * (LLMC_PANEL * 4) + lane * 4 + i] = (uint8_t)(q[4 * v + i] | (q[4 * (v + 4) + i] << 4));
                }
                break;
            }
            case WT_Q6_K:
            case WT_Q5_K:
            case WT_Q4_K: {
                const uint64_t sbb = (uint64_t)LLMC_PANEL * (t->dtype == WT_Q6_K   ? LLMC_Q6_K_BYTES
                                                             : t->dtype == WT_Q5_K ? LLMC_Q5_K_BYTES
                                                                                   : LLMC_Q4_K_BYTES);
                for (uint64_t b = 0; b < K / LLMC_QK_K; b++) pack_kquant(t->dtype, row + b * LLMC_QK_K, lane, panel + b * sbb);
                break;
            }
            }
        }
    }
}

static int produce(void *user, uint64_t ci, void *buf, size_t *len, llmc_diags *d) {
    const job *j = user;
    const cpu_tensor *t = j->t;
    uint8_t *out = buf;
    if (t->kind == CPU_MATRIX) {
        const uint64_t n_panels = (t->rows + LLMC_PANEL - 1) / LLMC_PANEL;
        const uint64_t p0 = ci * j->chunk_panels;
        const uint64_t np = n_panels - p0 < j->chunk_panels ? n_panels - p0 : j->chunk_panels;
        const uint64_t r0 = p0 * LLMC_PANEL;
        const uint64_t r1 = (p0 + np) * LLMC_PANEL < t->rows ? (p0 + np) * LLMC_PANEL : t->rows;
        float *src = (float *)(out + j->out_bytes);
        const uint64_t n = (r1 - r0) * t->cols;
        if (llmc_weights_read(j->ws, t->tid, r0 * t->cols, n, t->read_dtype, src, d)) return -1;
        if (t->read_dtype != LLMC_DTYPE_F32) llmc_convert_to_f32(src, n, t->read_dtype, src);
        pack_panels(t, src, p0, np, out);
        *len = (size_t)(np * t->panel_bytes);
        return 0;
    }
    /* row-major tables and vectors: as read (tables at the precision) or widened to f32 */
    const uint64_t r0 = ci * j->chunk_rows;
    const uint64_t nr = t->rows - r0 < j->chunk_rows ? t->rows - r0 : j->chunk_rows;
    const uint64_t n = nr * t->cols;
    const bool keep = (t->dtype == WT_F16 && t->read_dtype == LLMC_DTYPE_F16) ||
                      (t->dtype == WT_BF16 && t->read_dtype == LLMC_DTYPE_BF16) ||
                      (t->dtype == WT_F32 && t->read_dtype == LLMC_DTYPE_F32);
    if (llmc_weights_read(j->ws, t->tid, r0 * t->cols, n, t->read_dtype, out, d)) return -1;
    if (!keep) {
        if (t->dtype != WT_F32) {
            llmc_error(d, "cpu", "internal: '%s' is %s in the IR and %s in model.bin", t->name,
                       llmc_dtype_name(t->read_dtype), cpu_dtype_name(t->dtype));
            return -1;
        }
        llmc_convert_to_f32(out, n, t->read_dtype, (float *)out);
    }
    if (t->norm_offset != 0) {   /* Gemma's (1 + w), in float32 as the package computes it */
        float *v = (float *)out;
        for (uint64_t i = 0; i < n; i++) v[i] = (float)t->norm_offset + v[i];
    }
    *len = (size_t)(n * (t->dtype == WT_F32 ? 4 : 2));
    return 0;
}

static int write_zeros(FILE *f, uint64_t n, llmc_diags *d) {
    static const uint8_t zeros[LLMC_ALIGN];
    while (n > 0) {
        const size_t k = n < LLMC_ALIGN ? (size_t)n : LLMC_ALIGN;
        if (fwrite(zeros, 1, k, f) != k) {
            llmc_error(d, "cpu", "writing '%s' failed", MODEL_REL);
            return -1;
        }
        n -= k;
    }
    return 0;
}

int cpu_write_header(const llmc_emit_ctx *ctx, const cpu_plan *p, FILE *f, llmc_diags *d) {
    const llmc_dims *dm = ctx->dims;
    llmc_file_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, LLMC_MAGIC, sizeof h.magic);
    h.version = LLMC_FORMAT_VERSION;
    h.endian_mark = LLMC_ENDIAN_MARK;
    h.file_bytes = p->file_bytes;
    h.config_hash = p->config_hash;
    h.header_bytes = (uint32_t)p->header_bytes;
    h.n_tensors = (uint32_t)p->n;
    h.record_bytes = sizeof(llmc_tensor_record);
    h.vocab = (uint64_t)ctx->spec->vocab_size;
    h.context = (uint64_t)ctx->spec->context_length;
    h.hidden = (uint64_t)dm->v[LLMC_DIM_HIDDEN_SIZE];
    h.intermediate = (uint64_t)dm->v[LLMC_DIM_INTERMEDIATE_SIZE];
    h.heads = (uint32_t)dm->v[LLMC_DIM_NUM_HEADS];
    h.kv_heads = (uint32_t)dm->v[LLMC_DIM_NUM_KV_HEADS];
    h.head_dim = (uint32_t)dm->v[LLMC_DIM_HEAD_DIM];
    h.layers = (uint32_t)(p->encdec ? dm->v[LLMC_DIM_NUM_DECODER_LAYERS] : dm->v[LLMC_DIM_NUM_LAYERS]);
    h.encoder_layers = p->encdec ? (uint32_t)dm->v[LLMC_DIM_NUM_ENCODER_LAYERS] : 0;
    if (fwrite(&h, sizeof h, 1, f) != 1) {
        llmc_error(d, "cpu", "writing '%s' failed", MODEL_REL);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        const cpu_tensor *t = &p->t[i];
        llmc_tensor_record r;
        memset(&r, 0, sizeof r);
        snprintf(r.name, sizeof r.name, "%s", t->name);
        r.slot = t->slot;
        r.stack = t->stack;
        r.layer = t->layer;
        r.dtype = t->dtype;
        r.rows = t->rows;
        r.cols = t->cols;
        r.offset = t->offset;
        r.nbytes = t->nbytes;
        if (fwrite(&r, sizeof r, 1, f) != 1) {
            llmc_error(d, "cpu", "writing '%s' failed", MODEL_REL);
            return -1;
        }
    }
    return write_zeros(f, p->header_bytes - sizeof h - p->n * sizeof(llmc_tensor_record), d);
}

int cpu_write_model(const llmc_emit_ctx *ctx, const cpu_plan *p, llmc_diags *d) {
    FILE *f = llmc_out_open(ctx, MODEL_REL, d);
    if (!f) return -1;
    int rc = cpu_write_header(ctx, p, f, d);
    llmc_progress *prog = ctx->progress ? llmc_progress_create("cpu", p->file_bytes) : NULL;
    uint64_t pos = p->header_bytes;
    for (size_t i = 0; !rc && i < p->n; i++) {
        const cpu_tensor *t = &p->t[i];
        if (t->offset != pos) {
            llmc_error(d, "cpu", "internal: '%s' planned at %llu, the file is at %llu", t->name,
                       (unsigned long long)t->offset, (unsigned long long)pos);
            rc = -1;
            break;
        }
        job j;
        memset(&j, 0, sizeof j);
        j.ws = ctx->weights;
        j.t = t;
        size_t chunk_bytes;
        if (t->kind == CPU_MATRIX) {
            const uint64_t n_panels = (t->rows + LLMC_PANEL - 1) / LLMC_PANEL;
            uint64_t per = CHUNK_ELEMS / (LLMC_PANEL * t->cols);
            j.chunk_panels = per ? per : 1;
            if (j.chunk_panels > n_panels) j.chunk_panels = n_panels;
            j.n_chunks = (n_panels + j.chunk_panels - 1) / j.chunk_panels;
            j.out_bytes = (size_t)(j.chunk_panels * t->panel_bytes);
            chunk_bytes = j.out_bytes + (size_t)(j.chunk_panels * LLMC_PANEL * t->cols * 4);
        } else {
            uint64_t per = CHUNK_ELEMS / t->cols;
            j.chunk_rows = per ? per : 1;
            if (j.chunk_rows > t->rows) j.chunk_rows = t->rows;
            j.n_chunks = (t->rows + j.chunk_rows - 1) / j.chunk_rows;
            chunk_bytes = (size_t)(j.chunk_rows * t->cols * 4);
        }
        rc = llmc_out_tensor_begin(f, t->name, d);   /* per-record checksums in manifest.json */
        if (!rc) rc = llmc_write_chunks_ordered(f, j.n_chunks, chunk_bytes, produce, &j, ctx->threads, prog, d);
        if (!rc) rc = llmc_out_tensor_end(f, d);
        if (rc && llmc_diags_errors(d) == 0) llmc_error(d, "cpu", "writing tensor '%s' failed", t->name);
        if (!rc) rc = write_zeros(f, ((t->nbytes + LLMC_ALIGN - 1) / LLMC_ALIGN * LLMC_ALIGN) - t->nbytes, d);
        pos += (t->nbytes + LLMC_ALIGN - 1) / LLMC_ALIGN * LLMC_ALIGN;
    }
    if (prog) llmc_progress_free(prog);
    if (llmc_out_close(f, MODEL_REL, d)) rc = -1;
    if (!rc && pos != p->file_bytes) {
        llmc_error(d, "cpu", "internal: wrote %llu bytes, planned %llu", (unsigned long long)pos,
                   (unsigned long long)p->file_bytes);
        rc = -1;
    }
    return rc;
}
