/* llmc — derived model statistics for `llmc solve`, reports and model cards:
 * weight memory per storage type, KV-cache size and forward FLOPs per token.
 * Formulas are documented in docs/templates.md ("Memory and FLOPs"). */
#ifndef LLMC_STATS_H
#define LLMC_STATS_H

#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/ir.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_model_stats {
    uint64_t params;                 /* from the IR */
    uint64_t weight_bytes_f32;
    uint64_t weight_bytes_f16;
    uint64_t weight_bytes_bf16;
    uint64_t weight_bytes_q8_0;      /* 2-D matrices in Q8_0 blocks (34 bytes / 32 values), the rest f32 */
    uint64_t kv_bytes_per_token;     /* K and V of every self-attention layer, at the spec's precision */
    uint64_t kv_bytes_full_context;  /* kv_bytes_per_token * context_length (sliding window caps it) */
    uint64_t flops_per_token;        /* forward, one token at full context, multiply-add = 2 FLOPs */
} llmc_model_stats;

LLMC_API int llmc_model_stats_compute(const llmc_spec *spec, const llmc_dims *dims, const llmc_ir *ir,
                                      llmc_model_stats *out, llmc_diags *d);

#ifdef __cplusplus
}
#endif
#endif
