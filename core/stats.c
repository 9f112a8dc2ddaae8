/* Derived model statistics (stats.h): weight bytes per storage type, KV cache, FLOPs.
 * Everything is read off the IR, so any template gets them for free. Formulas are in
 * docs/templates.md ("Memory and FLOPs"). */
#include "llmc/stats.h"

#include <string.h>

#include "util.h"

#define Q8_0_BLOCK 32
#define Q8_0_BLOCK_BYTES 34  /* 32 int8 + one f16 scale */

static size_t precision_bytes(llmc_precision p) { return p == LLMC_PRECISION_FLOAT32 ? 4 : 2; }

/* effective attention span of one query at full context */
static int64_t attention_span(const llmc_spec *spec, const llmc_op_info *op) {
    int64_t span = spec->context_length;
    const llmc_attr *mask = llmc_op_attr(op, "mask");
    const llmc_attr *window = llmc_op_attr(op, "window");
    if (mask && mask->s && !strcmp(mask->s, "sliding_window") && window && window->i > 0 && window->i < span)
        span = window->i;
    return span;
}

int llmc_model_stats_compute(const llmc_spec *spec, const llmc_dims *dims, const llmc_ir *ir, llmc_model_stats *out,
                             llmc_diags *d) {
    (void)dims;
    memset(out, 0, sizeof *out);
    llmc_param_count pc;
    if (llmc_ir_count_params(ir, &pc, d) != 0) return 1;
    out->params = pc.total;
    bool ok = true;

    /* weight bytes: every parameter once */
    for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
        if (ti->kind != LLMC_TENSOR_PARAM) continue;
        uint64_t n;
        if (llmc_tensor_numel(ti, &n) != 0) return 1;
        uint64_t b4 = 0, b2 = 0, q8 = 0;
        ok &= llmc_mul_u64(n, 4, &b4);
        ok &= llmc_mul_u64(n, 2, &b2);
        /* Q8_0 applies to matrices whose rows are whole blocks; 1-D tensors stay f32 */
        if (ti->rank >= 2 && ti->shape[ti->rank - 1] % Q8_0_BLOCK == 0)
            ok &= llmc_mul_u64(n / Q8_0_BLOCK, Q8_0_BLOCK_BYTES, &q8);
        else
            q8 = b4;
        ok &= llmc_add_u64(out->weight_bytes_f32, b4, &out->weight_bytes_f32);
        ok &= llmc_add_u64(out->weight_bytes_f16, b2, &out->weight_bytes_f16);
        ok &= llmc_add_u64(out->weight_bytes_bf16, b2, &out->weight_bytes_bf16);
        ok &= llmc_add_u64(out->weight_bytes_q8_0, q8, &out->weight_bytes_q8_0);
    }

    /* FLOPs and KV cache from the ops: each LINEAR is a matrix-vector product per token
     * (2 FLOPs per weight), each ATTENTION reads span keys and values per query. */
    uint64_t kv_tok = 0, kv_full = 0;
    size_t eb = precision_bytes(spec->precision);
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type == LLMC_OP_LINEAR && op->n_inputs >= 2 && op->inputs[1] != LLMC_TID_NONE) {
            uint64_t n, f;
            if (llmc_tensor_numel(llmc_ir_tensor(ir, op->inputs[1]), &n) != 0) return 1;
            ok &= llmc_mul_u64(n, 2, &f) && llmc_add_u64(out->flops_per_token, f, &out->flops_per_token);
        } else if (op->type == LLMC_OP_ATTENTION && op->n_inputs >= 3) {
            const llmc_tensor_info *q = llmc_ir_tensor(ir, op->inputs[0]);
            const llmc_tensor_info *k = llmc_ir_tensor(ir, op->inputs[1]);
            const llmc_tensor_info *v = llmc_ir_tensor(ir, op->inputs[2]);
            if (!q || !k || !v || q->rank != 4 || k->rank != 4 || v->rank != 4) continue;
            uint64_t span = (uint64_t)attention_span(spec, op);
            uint64_t nh = (uint64_t)q->shape[2], dq = (uint64_t)q->shape[3];
            uint64_t nkv = (uint64_t)k->shape[2], dv = (uint64_t)v->shape[3];
            uint64_t f = 2 * span * nh * (dq + dv);
            ok &= llmc_add_u64(out->flops_per_token, f, &out->flops_per_token);
            /* cache: K and V rows per generated token, for causal self-attention (the decoder's).
             * Encoder self-attention is not cached, and cross-attention K/V are computed once per
             * source token, so neither grows with generation. */
            const llmc_attr *mask = llmc_op_attr(op, "mask");
            if (!mask || !mask->s || !strcmp(mask->s, "none")) continue;
            uint64_t per = (nkv * dq + nkv * dv) * eb;
            ok &= llmc_add_u64(kv_tok, per, &kv_tok);
            uint64_t full;
            ok &= llmc_mul_u64(per, span, &full) && llmc_add_u64(kv_full, full, &kv_full);
        }
    }
    out->kv_bytes_per_token = kv_tok;
    out->kv_bytes_full_context = kv_full;
    if (!ok) {
        llmc_error(d, NULL, "model statistics overflow 64 bits");
        return 1;
    }
    return 0;
}
