/* The numbers a designer needs for a sized model (docs/solvers.md, "The report"): parameters
 * split into embedding and the rest, weight bytes per storage type, KV cache in the inference
 * dtype at a context and batch, training memory under mixed-precision Adam with and without
 * activation checkpointing, forward and training FLOPs per token. Computed from the spec, the
 * complete dims and the IR (core/stats.c). Internal to the core. */
#ifndef LLMC_CORE_DESIGN_H
#define LLMC_CORE_DESIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/llmc.h"

typedef struct llmc_design_params {
    llmc_precision kv_dtype;   /* default bfloat16 */
    int64_t context;           /* KV cache length; 0 = the spec's context_length */
    int64_t batch;             /* sequences in the KV cache; default 1 */
    int64_t micro_batch;       /* training micro-batch; default 1 */
    int64_t seq_len;           /* training sequence length; 0 = the spec's context_length */
    uint64_t dataset_tokens;   /* 0 = unknown (the tokenizer work fills it from spec.dataset) */
} llmc_design_params;

LLMC_API llmc_design_params llmc_design_default_params(void);

typedef struct llmc_design {
    llmc_design_params in;              /* with the defaults resolved */
    uint64_t total, non_embedding, embedding, head, positional;
    bool tied;                          /* the head is the embedding matrix */
    uint64_t weight_bytes[5];           /* f32, f16, bf16, q8_0, q4_0 */
    uint64_t kv_bytes_per_token;        /* in kv_dtype, every cached self-attention layer */
    uint64_t kv_bytes;                  /* at in.context x in.batch (sliding windows cap the length) */
    /* training, mixed precision with Adam: bf16 weights and gradients, fp32 master weights and
     * both moments (16 bytes per parameter); 16-bit activations at micro_batch x seq_len */
    uint64_t train_weights, train_grads, train_adam;
    uint64_t act_bytes, act_bytes_checkpointed;
    uint64_t train_bytes, train_bytes_checkpointed;
    /* per token at full context (seq_len): multiply-add = 2 FLOPs */
    uint64_t matmul_params;             /* parameters in matrix products (the head included) */
    uint64_t fwd_flops, fwd_attention_flops;
    uint64_t train_flops, train_attention_flops;   /* 3 x forward */
    double tokens_per_param;            /* dataset_tokens / total; 0 when unknown */
} llmc_design;

LLMC_API extern const char *const llmc_design_dtype_names[5];

/* 0 on success; an overflow is reported in d */
LLMC_API int llmc_design_compute(const llmc_spec *spec, const llmc_dims *dims, const llmc_ir *ir, const llmc_param_count *count,
                        const llmc_design_params *params, llmc_design *out, llmc_diags *d);

#endif
