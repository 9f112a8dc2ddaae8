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

/* ---- the designer's report (design.h) --------------------------------------------------------------------- */

#include <math.h>

#include "design.h"

const char *const llmc_design_dtype_names[5] = {"f32", "f16", "bf16", "q8_0", "q4_0"};

llmc_design_params llmc_design_default_params(void) {
    llmc_design_params p;
    memset(&p, 0, sizeof p);
    p.kv_dtype = LLMC_PRECISION_BFLOAT16;
    p.batch = 1;
    p.micro_batch = 1;
    return p;
}

/* Activations kept for the backward pass, bytes per token of one layer, 16-bit activations and an
 * attention kernel that keeps only its output and the softmax statistics (FlashAttention):
 *   self-attention: the block input and the normed input (2 H), q (nh hd), k and v (2 nkv hd),
 *                   the attention output (nh hd), 2 bytes each; plus nh fp32 softmax statistics
 *   MLP:            input and normed input (2 H); gated: gate, up, activation output (3 I);
 *                   plain: up and activation output (2 I); 2 bytes each
 * A decoder layer of an encoder-decoder adds cross-attention: input, normed input, q, output
 * (2 H + 2 nh hd) and the softmax statistics (its keys and values are per source token, below). */
static uint64_t attn_act(int64_t H, int64_t nh, int64_t nkv, int64_t hd, bool with_kv) {
    uint64_t e = (uint64_t)(2 * H + 2 * nh * hd + (with_kv ? 2 * nkv * hd : 0));
    return 2 * e + 4 * (uint64_t)nh;
}

int llmc_design_compute(const llmc_spec *spec, const llmc_dims *dims, const llmc_ir *ir, const llmc_param_count *count,
                        const llmc_design_params *params, llmc_design *out, llmc_diags *d) {
    memset(out, 0, sizeof *out);
    out->in = params ? *params : llmc_design_default_params();
    if (out->in.context <= 0) out->in.context = spec->context_length;
    if (out->in.seq_len <= 0) out->in.seq_len = spec->context_length;
    if (out->in.batch <= 0) out->in.batch = 1;
    if (out->in.micro_batch <= 0) out->in.micro_batch = 1;
    bool ok = true;

    out->total = count->total;
    out->embedding = count->component[LLMC_COMP_EMBEDDING];
    out->head = count->component[LLMC_COMP_HEAD];
    out->positional = count->component[LLMC_COMP_POSITIONAL];
    out->tied = spec->tie_word_embeddings;
    out->non_embedding = out->total - out->embedding - out->head - out->positional;

    /* weight bytes per storage type: block formats for 2-D tensors whose rows are whole blocks,
     * f32 for the rest (norms, biases), as the GGUF emitter stores them */
    for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
        if (ti->kind != LLMC_TENSOR_PARAM) continue;
        uint64_t n;
        if (llmc_tensor_numel(ti, &n) != 0) return 1;
        bool blocks = ti->rank >= 2 && ti->shape[ti->rank - 1] % Q8_0_BLOCK == 0;
        uint64_t b[5] = {0};
        ok &= llmc_mul_u64(n, 4, &b[0]) && llmc_mul_u64(n, 2, &b[1]) && llmc_mul_u64(n, 2, &b[2]);
        if (blocks) ok &= llmc_mul_u64(n / 32, 34, &b[3]) && llmc_mul_u64(n / 32, 18, &b[4]);
        else b[3] = b[4] = b[0];
        for (int k = 0; k < 5; k++) ok &= llmc_add_u64(out->weight_bytes[k], b[k], &out->weight_bytes[k]);
    }

    /* KV cache, attention FLOPs (per query at full context: q.k and the weighted sum, 2 FLOPs per
     * multiply-add, and 3 per softmax score: max, exp, divide, as Hoffmann et al. 2022, App. F),
     * and the forward matrix products (2 FLOPs per weight of every LINEAR, the head included) */
    uint64_t kvb = params && params->kv_dtype == LLMC_PRECISION_FLOAT32 ? 4 : 2;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type == LLMC_OP_LINEAR && op->n_inputs >= 2 && op->inputs[1] != LLMC_TID_NONE) {
            uint64_t n;
            if (llmc_tensor_numel(llmc_ir_tensor(ir, op->inputs[1]), &n) != 0) return 1;
            ok &= llmc_add_u64(out->matmul_params, n, &out->matmul_params);
        } else if (op->type == LLMC_OP_ATTENTION && op->n_inputs >= 3) {
            const llmc_tensor_info *q = llmc_ir_tensor(ir, op->inputs[0]);
            const llmc_tensor_info *k = llmc_ir_tensor(ir, op->inputs[1]);
            const llmc_tensor_info *v = llmc_ir_tensor(ir, op->inputs[2]);
            if (!q || !k || !v || q->rank != 4 || k->rank != 4 || v->rank != 4) continue;
            uint64_t nh = (uint64_t)q->shape[2], dq = (uint64_t)q->shape[3];
            uint64_t nkv = (uint64_t)k->shape[2], dv = (uint64_t)v->shape[3];
            const llmc_attr *mask = llmc_op_attr(op, "mask");
            const llmc_attr *window = llmc_op_attr(op, "window");
            uint64_t span = (uint64_t)out->in.seq_len, kv_len = (uint64_t)out->in.context;
            bool windowed = mask && mask->s && !strcmp(mask->s, "sliding_window") && window && window->i > 0;
            if (windowed && (uint64_t)window->i < span) span = (uint64_t)window->i;
            if (windowed && (uint64_t)window->i < kv_len) kv_len = (uint64_t)window->i;
            uint64_t f = 2 * span * nh * (dq + dv) + 3 * span * nh;
            ok &= llmc_add_u64(out->fwd_attention_flops, f, &out->fwd_attention_flops);
            if (!mask || !mask->s || !strcmp(mask->s, "none")) continue; /* only causal self-attention is cached */
            uint64_t per = (nkv * dq + nkv * dv) * kvb, full;
            ok &= llmc_add_u64(out->kv_bytes_per_token, per, &out->kv_bytes_per_token);
            ok &= llmc_mul_u64(per, kv_len, &full) && llmc_mul_u64(full, (uint64_t)out->in.batch, &full) &&
                  llmc_add_u64(out->kv_bytes, full, &out->kv_bytes);
        }
    }
    uint64_t mm2;
    ok &= llmc_mul_u64(out->matmul_params, 2, &mm2) && llmc_add_u64(mm2, out->fwd_attention_flops, &out->fwd_flops);
    ok &= llmc_mul_u64(out->fwd_flops, 3, &out->train_flops);
    ok &= llmc_mul_u64(out->fwd_attention_flops, 3, &out->train_attention_flops);

    /* training memory */
    ok &= llmc_mul_u64(out->total, 2, &out->train_weights) && llmc_mul_u64(out->total, 2, &out->train_grads) &&
          llmc_mul_u64(out->total, 12, &out->train_adam);
    int64_t H = dims->v[LLMC_DIM_HIDDEN_SIZE], I = dims->v[LLMC_DIM_INTERMEDIATE_SIZE];
    int64_t nh = dims->v[LLMC_DIM_NUM_HEADS], nkv = dims->v[LLMC_DIM_NUM_KV_HEADS], hd = dims->v[LLMC_DIM_HEAD_DIM];
    bool encdec = !llmc_dims_has(dims, LLMC_DIM_NUM_LAYERS);
    int64_t enc = encdec ? dims->v[LLMC_DIM_NUM_ENCODER_LAYERS] : 0;
    int64_t dec = encdec ? dims->v[LLMC_DIM_NUM_DECODER_LAYERS] : dims->v[LLMC_DIM_NUM_LAYERS];
    uint64_t mlp = 2 * (uint64_t)(2 * H + (llmc_activation_is_gated(spec->activation) ? 3 : 2) * I);
    uint64_t enc_layer = attn_act(H, nh, nkv, hd, true) + mlp;
    uint64_t dec_layer = attn_act(H, nh, nkv, hd, true) + mlp + (encdec ? attn_act(H, nh, nkv, hd, false) : 0);
    uint64_t cross_kv = encdec ? 2 * (uint64_t)(2 * nkv * hd) * (uint64_t)dec : 0; /* per source token */
    /* outside the layers: embedding output, final norm in/out, fp32 logits for the loss */
    uint64_t outer = 2 * (uint64_t)H * (encdec ? 2 : 1) + 4 * (uint64_t)H + 4 * (uint64_t)spec->vocab_size;
    uint64_t per_token = (uint64_t)enc * enc_layer + (uint64_t)dec * dec_layer + cross_kv + outer;
    /* checkpointing every layer: each layer's input, and one layer's activations while it is recomputed */
    uint64_t largest = enc_layer > dec_layer ? enc_layer : dec_layer;
    uint64_t per_token_ck = (uint64_t)(enc + dec) * 2 * (uint64_t)H + largest + cross_kv + outer;
    uint64_t tokens;
    ok &= llmc_mul_u64((uint64_t)out->in.micro_batch, (uint64_t)out->in.seq_len, &tokens);
    ok &= llmc_mul_u64(per_token, tokens, &out->act_bytes) && llmc_mul_u64(per_token_ck, tokens, &out->act_bytes_checkpointed);
    uint64_t states = out->train_weights + out->train_grads + out->train_adam;
    ok &= llmc_add_u64(states, out->act_bytes, &out->train_bytes) &&
          llmc_add_u64(states, out->act_bytes_checkpointed, &out->train_bytes_checkpointed);
    out->tokens_per_param = out->in.dataset_tokens && out->total ? (double)out->in.dataset_tokens / (double)out->total : 0;
    if (!ok) {
        llmc_error(d, NULL, "the model's memory or FLOP figures overflow 64 bits");
        return 1;
    }
    return 0;
}
