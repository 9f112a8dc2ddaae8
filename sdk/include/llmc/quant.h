/* llmc — block quantization in ggml's reference layouts (Q8_0, Q4_0; K-quants Q6_K, Q5_K, Q4_K).
 *
 * Used by the GGUF emitter and by any backend that stores or computes with quantized weights
 * (the C CPU runtime). Results are bit-identical to ggml's quantize_row_q8_0_ref /
 * quantize_row_q4_0_ref (what llama-quantize writes without an importance matrix):
 *
 *   Q8_0, 34 bytes per 32 values: d = max|x| / 127 (stored as f16), q[j] = round(x[j] / d)
 *         (round half away from zero), int8. Value = d * q.
 *   Q4_0, 18 bytes per 32 values: m = the x with the largest |x| (sign kept), d = m / -8 (f16),
 *         q[j] = min(15, trunc(x[j] / d + 8.5)), 4 bits; byte j holds q[j] in its low nibble and
 *         q[j + 16] in its high nibble. Value = d * (q - 8).
 *
 * The scale is computed and applied in float32 (1/d multiplied, as ggml does) and stored as f16
 * with round-to-nearest-even; dequantization uses the stored f16 scale. */
#ifndef LLMC_QUANT_H
#define LLMC_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"
#include "llmc/ir.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LLMC_QK 32                 /* values per block, both formats */
#define LLMC_Q8_0_BLOCK_BYTES 34
#define LLMC_Q4_0_BLOCK_BYTES 18

/* n must be a multiple of LLMC_QK; out holds n / 32 blocks. x and out must not overlap. */
LLMC_API void llmc_quantize_q8_0(const float *x, size_t n, void *out);
LLMC_API void llmc_quantize_q4_0(const float *x, size_t n, void *out);
LLMC_API void llmc_dequantize_q8_0(const void *in, size_t n, float *y);
LLMC_API void llmc_dequantize_q4_0(const void *in, size_t n, float *y);

/* K-quants (core/quant_k.c): super-blocks of 256 values, bit-identical to ggml's
 * quantize_row_q6_K_ref / _q5_K_ref / _q4_K_ref (llama-quantize without an importance matrix):
 *
 *   Q6_K, 210 bytes: 16 groups of 16, q in [-32, 31] (6 bits), int8 group scale, f16 scale d;
 *         bytes: 128 low nibbles, 64 of 2-bit high parts, 16 group scales, d. Value = d * sc * q.
 *   Q5_K, 176 bytes: f16 d, f16 dmin, 12 bytes of 6-bit group scales and minimums (8 groups of
 *         32), 32 bytes of fifth bits, 128 bytes of low nibbles. Value = d * sc * q - dmin * m.
 *   Q4_K, 144 bytes: as Q5_K without the fifth bits, q in [0, 15].
 *
 * n must be a multiple of LLMC_QK_K. */
#define LLMC_QK_K 256
#define LLMC_Q6_K_BLOCK_BYTES 210
#define LLMC_Q5_K_BLOCK_BYTES 176
#define LLMC_Q4_K_BLOCK_BYTES 144

LLMC_API void llmc_quantize_q6_k(const float *x, size_t n, void *out);
LLMC_API void llmc_quantize_q5_k(const float *x, size_t n, void *out);
LLMC_API void llmc_quantize_q4_k(const float *x, size_t n, void *out);
LLMC_API void llmc_dequantize_q6_k(const void *in, size_t n, float *y);
LLMC_API void llmc_dequantize_q5_k(const void *in, size_t n, float *y);
LLMC_API void llmc_dequantize_q4_k(const void *in, size_t n, float *y);

/* The K-quant mixes (core/quant_mix.c): the block type llama_model_quantize gives a matrix of a
 * dense model (no importance matrix, not the 70B special case). Q6_K: all Q6_K.
 * Q4_K_M / Q5_K_M: Q4_K / Q5_K, except attn_v (or the fused attn_qkv) and ffn_down of the first
 * and last eighth of the layers and every third layer between (Q6_K). Q5_K_S: all Q5_K. Q4_K_S:
 * Q4_K, except the first 4 attn_v and the first eighth of the ffn_down (Q5_K). The head (and the
 * tied embedding) is Q6_K in every mix. Rows that are not whole super-blocks: Q6_K becomes Q8_0;
 * Q4_K / Q5_K would become Q5_0 / Q5_1, which llmc does not write: LLMC_QTYPE_NONE, as for rows
 * that are not whole 32-blocks. Models with sparse experts: llmc_kquant_type below. layer is the tensor's position (0-based) among the model's n_layers
 * attn_v (or ffn_down) tensors in file order, as llama.cpp counts them: for a dense model, its block
 * index and the number of blocks. */
typedef enum { LLMC_MIX_Q6_K, LLMC_MIX_Q5_K_M, LLMC_MIX_Q4_K_M, LLMC_MIX_Q5_K_S, LLMC_MIX_Q4_K_S } llmc_kquant_mix;
/* ATTN_K and ATTN_OUTPUT come after OTHER so that the earlier values stay as they were; only the
 * rules of 8-expert models (llmc_kquant_type) tell them from OTHER */
typedef enum {
    LLMC_QROLE_TOKEN_EMBD, LLMC_QROLE_OUTPUT, LLMC_QROLE_ATTN_V, LLMC_QROLE_FFN_DOWN, LLMC_QROLE_OTHER,
    LLMC_QROLE_ATTN_K, LLMC_QROLE_ATTN_OUTPUT,
    LLMC_QROLE_COUNT
} llmc_qrole;
typedef enum { LLMC_QTYPE_NONE, LLMC_QTYPE_Q8_0, LLMC_QTYPE_Q6_K, LLMC_QTYPE_Q5_K, LLMC_QTYPE_Q4_K } llmc_qtype;

/* A dense model's matrix (n_experts 0): llmc_kquant_type with the other fields as given */
LLMC_API llmc_qtype llmc_kquant_mix_type(llmc_kquant_mix mix, llmc_qrole role, int layer, int n_layers,
                                         uint64_t row_len, bool tied);

/* One matrix of a model that may have sparse experts. llama_model_quantize's rules for them: with
 * exactly 8 experts (its "8-expert model": Mixtral) attn_v (or attn_qkv) and attn_k are Q8_0 in
 * every mix and attn_output is Q5_K in Q4_K_S / Q4_K_M; with more than one expert, an ffn_down
 * tensor's layer is its block's index (read from the tensor's name, so ffn_down_exps and
 * ffn_down_shexp of block i are both layer i) and n_layers the number of blocks. Everything else
 * is the dense rule above (attn_v keeps counting its tensors in file order). */
typedef struct llmc_kquant_query {
    llmc_kquant_mix mix;
    llmc_qrole role;
    int layer, n_layers;   /* as above; for ffn_down of an MoE: block index and block count */
    uint64_t row_len;      /* values per row (the matrix's innermost dimension) */
    bool tied;             /* the token embedding is also the head */
    int64_t n_experts;     /* routed experts per layer; 0 or 1 for a dense model */
} llmc_kquant_query;
LLMC_API llmc_qtype llmc_kquant_type(const llmc_kquant_query *q);
/* llama.cpp's category of an IR parameter role (attn_v and the fused attn_qkv count as attn_v);
 * the emitters that write K-quant mixes (gguf, cpu) classify their matrices with it */
LLMC_API llmc_qrole llmc_qrole_of(llmc_param_role role);
LLMC_API const char *llmc_qtype_name(llmc_qtype t);   /* "q8_0", "q6_k", "q5_k", "q4_k", "none" */
/* The mix of a spec's `quantize` value: 0 and *mix for q6_k, q5_k_m, q4_k_m, q5_k, q4_k; -1 otherwise */
LLMC_API int llmc_quantize_kquant_mix(llmc_quantize q, llmc_kquant_mix *mix);

#ifdef __cplusplus
}
#endif
#endif
