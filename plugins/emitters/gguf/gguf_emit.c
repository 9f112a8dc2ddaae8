/* The gguf emitter plugin: one GGUF v3 file (gguf/model.gguf) that llama.cpp loads and runs with
 * the same logits as llmc's other backends (docs/gguf.md).
 *
 * Tensor data is streamed: each tensor is cut into chunks of whole rows that worker threads read
 * from the weight source, convert or quantize, and that are written in order
 * (llmc_write_chunks_ordered); memory stays at a few chunk buffers per thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_arch.h"
#include "gguf_format.h"
#include "gguf_verify.h"
#include "llmc/llmc.h"
#include "llmc/quant.h"
#include "llmc/weights.h"

#define CHUNK_ELEMS (1u << 20)   /* elements per chunk: 4 MiB of float32 scratch */

/* Validation: pick the architecture from the IR, then plan every tensor with the dims the IR
 * implies, so that a graph whose parameters do not fill the architecture is refused (naming the
 * parameter role and block) before anything is written. */
static int check(const llmc_spec *spec, const llmc_ir *ir, llmc_diags *d) {
    llmc_dims dims;
    gguf_ir_dims(spec, ir, &dims);
    gguf_arch a = gguf_arch_select(spec, ir, &dims, d);
    if (a == GA_NONE) return -1;
    gguf_plan plan;
    if (gguf_plan_build(spec, &dims, ir, a, &plan, d)) return -1;
    gguf_plan_free(&plan);
    return 0;
}

/* ---- tensor data ----------------------------------------------------------------------------------- */
typedef struct job {
    llmc_weight_source *ws;
    const gguf_plan_tensor *t;
    uint64_t total;        /* elements */
    uint64_t chunk_elems;  /* whole rows */
} job;

/* encode n float32 values at the front of buf as `type`, in place, front to back; each piece is
 * copied out before it is overwritten and the output never runs ahead of the input */
static size_t encode_in_place(void *buf, uint64_t n, gguf_ttype type) {
    float tmp[256];
    const float *x = buf;
    uint8_t *o = buf;
    switch (type) {
    case GGUF_TT_F32: return (size_t)n * 4;
    case GGUF_TT_F16:
    case GGUF_TT_BF16:
        for (uint64_t i = 0; i < n; i += 256) {
            size_t k = n - i < 256 ? (size_t)(n - i) : 256;
            memcpy(tmp, x + i, k * sizeof(float));
            llmc_convert_from_f32(tmp, k, type == GGUF_TT_F16 ? LLMC_DTYPE_F16 : LLMC_DTYPE_BF16, o + 2 * i);
        }
        return (size_t)n * 2;
    case GGUF_TT_Q8_0:
        for (uint64_t b = 0; b < n / LLMC_QK; b++) {
            memcpy(tmp, x + b * LLMC_QK, LLMC_QK * sizeof(float));
            llmc_quantize_q8_0(tmp, LLMC_QK, o + b * LLMC_Q8_0_BLOCK_BYTES);
        }
        return (size_t)(n / LLMC_QK) * LLMC_Q8_0_BLOCK_BYTES;
    case GGUF_TT_Q4_0:
        for (uint64_t b = 0; b < n / LLMC_QK; b++) {
            memcpy(tmp, x + b * LLMC_QK, LLMC_QK * sizeof(float));
            llmc_quantize_q4_0(tmp, LLMC_QK, o + b * LLMC_Q4_0_BLOCK_BYTES);
        }
        return (size_t)(n / LLMC_QK) * LLMC_Q4_0_BLOCK_BYTES;
    case GGUF_TT_Q6_K:
    case GGUF_TT_Q5_K:
    case GGUF_TT_Q4_K: {
        /* a 256-value super-block at a time; every K block is smaller than its 1 KiB of input */
        const size_t bytes = gguf_ttype_block_bytes(type);
        for (uint64_t b = 0; b < n / LLMC_QK_K; b++) {
            memcpy(tmp, x + b * LLMC_QK_K, LLMC_QK_K * sizeof(float));
            void *dst = o + b * bytes;
            if (type == GGUF_TT_Q6_K) llmc_quantize_q6_k(tmp, LLMC_QK_K, dst);
            else if (type == GGUF_TT_Q5_K) llmc_quantize_q5_k(tmp, LLMC_QK_K, dst);
            else llmc_quantize_q4_k(tmp, LLMC_QK_K, dst);
        }
        return (size_t)(n / LLMC_QK_K) * bytes;
    }
    }
    return 0;
}

static int produce(void *user, uint64_t ci, void *buf, size_t *len, llmc_diags *d) {
    const job *j = user;
    const gguf_plan_tensor *t = j->t;
    const uint64_t e0 = ci * j->chunk_elems;
    const uint64_t n = j->total - e0 < j->chunk_elems ? j->total - e0 : j->chunk_elems;
    if (t->src == GS_ZEROS) {
        memset(buf, 0, (size_t)n * 4);
        *len = (size_t)n * 4;
        return 0;
    }
    if (llmc_weights_read_view(j->ws, &t->view, e0, n, t->read_dtype, buf, d)) return -1;
    if (t->read_dtype != LLMC_DTYPE_F32) llmc_convert_to_f32(buf, n, t->read_dtype, buf);
    if (t->scale != 1.0f) {
        float *x = buf;
        for (uint64_t i = 0; i < n; i++) x[i] *= t->scale;
    }
    if (t->offset != 0.0f) { /* gemma, gemma2: llama.cpp scales by the stored norm weight, HF by 1 + w */
        float *x = buf;
        for (uint64_t i = 0; i < n; i++) x[i] += t->offset;
    }
    *len = encode_in_place(buf, n, t->type);
    return 0;
}

static gguf_ttype ttype_of(llmc_dtype dt) {
    return dt == LLMC_DTYPE_F16 ? GGUF_TT_F16 : dt == LLMC_DTYPE_BF16 ? GGUF_TT_BF16 : GGUF_TT_F32;
}

static int write_tensor(const llmc_emit_ctx *ctx, const gguf_plan *p, size_t i, FILE *f, llmc_progress *prog,
                        llmc_diags *d) {
    const gguf_plan_tensor *t = &p->t[i];
    uint64_t total = t->ne[0];
    for (uint32_t k = 1; k < t->n_dims; k++) total *= t->ne[k];   /* checked by gguf_add_tensor */
    if (t->src == GS_ROPE_FREQS) {
        if (fwrite(p->rope_freqs, sizeof(float), (size_t)total, f) != (size_t)total) {
            llmc_error(d, "gguf", "writing '%s' failed", GGUF_REL);
            return -1;
        }
        if (prog) llmc_progress_add(prog, total * 4);
        return 0;
    }
    /* stored as read: the weight source streams it itself */
    if (t->src == GS_PARAMS && t->scale == 1.0f && t->offset == 0.0f && t->type == ttype_of(t->read_dtype))
        return llmc_weights_write_view(ctx->weights, &t->view, t->read_dtype, f, ctx->threads, prog, d);
    job j = {ctx->weights, t, total, 0};
    uint64_t rows = CHUNK_ELEMS / t->ne[0];
    j.chunk_elems = (rows ? rows : 1) * t->ne[0];
    if (j.chunk_elems > total) j.chunk_elems = total;
    const uint64_t n_chunks = (total + j.chunk_elems - 1) / j.chunk_elems;
    return llmc_write_chunks_ordered(f, n_chunks, (size_t)j.chunk_elems * 4, produce, &j, ctx->threads, prog, d);
}

int gguf_build(const llmc_emit_ctx *ctx, gguf_plan *plan, gguf_meta *m, llmc_diags *d) {
    gguf_meta_init(m);
    memset(plan, 0, sizeof *plan);
    gguf_arch a = gguf_arch_select(ctx->spec, ctx->ir, ctx->dims, d);
    if (a == GA_NONE) return -1;
    if (gguf_plan_build(ctx->spec, ctx->dims, ctx->ir, a, plan, d)) return -1;
    int rc = gguf_general_metadata(ctx, plan, m, d);
    const llmc_special_tokens tokens = llmc_emit_special_tokens(ctx);
    if (!rc) rc = gguf_arch_metadata(ctx->spec, ctx->dims, plan, &tokens, m, d);
    if (!rc) rc = gguf_vocab_metadata(ctx, &tokens, m, d);
    for (size_t i = 0; !rc && i < plan->n; i++)
        rc = gguf_add_tensor(m, plan->t[i].name, plan->t[i].type, plan->t[i].n_dims, plan->t[i].ne, d);
    if (rc) {
        gguf_meta_free(m);
        gguf_plan_free(plan);
    }
    return rc ? -1 : 0;
}

static int emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    if (!ctx->weights) {
        llmc_error(d, "gguf", "no weight source: the GGUF emitter writes weights and needs the pipeline's weight source");
        return -1;
    }
    gguf_plan plan;
    gguf_meta m;
    if (gguf_build(ctx, &plan, &m, d)) return -1;
    gguf_arch a = plan.arch;
    int rc = 0;
    FILE *f = NULL;
    llmc_progress *prog = NULL;
    if (!rc) {
        f = llmc_out_open(ctx, GGUF_REL, d);
        if (!f) rc = -1;
    }
    if (!rc) rc = gguf_meta_write(&m, f, GGUF_REL, d);
    if (!rc && ctx->progress) prog = llmc_progress_create("gguf", m.data_size);
    for (size_t i = 0; !rc && i < plan.n; i++) {
        rc = llmc_out_tensor_begin(f, plan.t[i].name, d);   /* per-tensor checksums in manifest.json */
        if (!rc) rc = write_tensor(ctx, &plan, i, f, prog, d);
        if (!rc) rc = llmc_out_tensor_end(f, d);
        if (!rc) rc = gguf_write_pad(&m, i, f, GGUF_REL, d);
    }
    if (prog) llmc_progress_free(prog);
    if (f && llmc_out_close(f, GGUF_REL, d)) rc = -1;
    if (!rc) {
        char role[160];
        snprintf(role, sizeof role, "GGUF v3 model for llama.cpp (arch %s, %s)", gguf_arch_name(a),
                 ctx->spec->quantize != LLMC_QUANT_NONE ? llmc_quantize_name(ctx->spec->quantize)
                                                        : llmc_precision_name(ctx->spec->precision));
        if (llmc_out_register(ctx, GGUF_REL, role)) {
            llmc_error(d, "gguf", "could not record '%s' in the compilation report", GGUF_REL);
            rc = -1;
        }
    }
    gguf_meta_free(&m);
    gguf_plan_free(&plan);
    return rc ? -1 : 0;
}

static const llmc_emitter_vtable vt = {sizeof vt, check, emit, gguf_verify};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, "gguf", "1.0.0",
     "GGUF v3 for llama.cpp: arches llama, qwen2, qwen3, qwen2moe, gemma, gemma2, gpt2, t5, gptneox, phi2; "
     "F32/F16/BF16, Q8_0/Q4_0, Q6_K/Q5_K_M/Q4_K_M/Q5_K_S/Q4_K_S",
     &vt},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
