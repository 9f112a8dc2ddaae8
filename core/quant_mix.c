/* Which block type each tensor gets in llama.cpp's K-quant mixes (llmc/quant.h), as
 * llama_model_quantize chooses them for a llama-style model (dense or with sparse experts) without
 * an importance matrix. */
#include "llmc/quant.h"

/* llama.cpp spends more bits on the first and last eighth of the layers and on every third layer
 * in between */
static bool more_bits(int layer, int n_layers) {
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

static int block_of(llmc_qtype t) { return t == LLMC_QTYPE_Q8_0 ? LLMC_QK : LLMC_QK_K; }

llmc_qtype llmc_kquant_type(const llmc_kquant_query *q) {
    const llmc_kquant_mix mix = q->mix;
    const llmc_qrole role = q->role;
    const int layer = q->layer, n_layers = q->n_layers;
    const uint64_t row_len = q->row_len;
    const llmc_qtype base = mix == LLMC_MIX_Q6_K                            ? LLMC_QTYPE_Q6_K
                            : mix == LLMC_MIX_Q5_K_M || mix == LLMC_MIX_Q5_K_S ? LLMC_QTYPE_Q5_K
                                                                               : LLMC_QTYPE_Q4_K;
    const bool mixed = mix == LLMC_MIX_Q4_K_M || mix == LLMC_MIX_Q5_K_M;
    llmc_qtype t = base;
    if (role == LLMC_QROLE_OUTPUT || (q->tied && role == LLMC_QROLE_TOKEN_EMBD)) {
        /* the head at Q6_K, or Q8_0 when its rows are not whole super-blocks */
        return row_len % LLMC_QK_K == 0 ? LLMC_QTYPE_Q6_K : row_len % LLMC_QK == 0 ? LLMC_QTYPE_Q8_0 : LLMC_QTYPE_NONE;
    }
    if (mixed && (role == LLMC_QROLE_ATTN_V || role == LLMC_QROLE_FFN_DOWN) && layer >= 0 && layer < n_layers &&
        more_bits(layer, n_layers))
        t = LLMC_QTYPE_Q6_K;
    /* Q4_K_S: the first four attn_v and the first eighth of the ffn_down at Q5_K */
    if (mix == LLMC_MIX_Q4_K_S && ((role == LLMC_QROLE_ATTN_V && layer >= 0 && layer < 4) ||
                                   (role == LLMC_QROLE_FFN_DOWN && layer >= 0 && layer < n_layers / 8)))
        t = LLMC_QTYPE_Q5_K;
    /* "for the 8-expert model, bumping this to Q8_0 trades just ~128MB" (llama.cpp): attn_v and
     * attn_k at Q8_0, attn_output one step up in the Q4_K mixes */
    if (q->n_experts == 8) {
        if (role == LLMC_QROLE_ATTN_V || role == LLMC_QROLE_ATTN_K) t = LLMC_QTYPE_Q8_0;
        if (role == LLMC_QROLE_ATTN_OUTPUT && (mix == LLMC_MIX_Q4_K_S || mix == LLMC_MIX_Q4_K_M)) t = LLMC_QTYPE_Q5_K;
    }
    if (row_len % (uint64_t)block_of(t) == 0) return t;
    /* rows that are not whole super-blocks: llama.cpp falls back to Q8_0 for Q6_K (llmc writes it)
     * and to Q5_0 / Q5_1 for Q4_K / Q5_K (llmc does not) */
    if (t == LLMC_QTYPE_Q6_K && row_len % LLMC_QK == 0) return LLMC_QTYPE_Q8_0;
    return LLMC_QTYPE_NONE;
}

llmc_qtype llmc_kquant_mix_type(llmc_kquant_mix mix, llmc_qrole role, int layer, int n_layers, uint64_t row_len,
                                bool tied) {
    const llmc_kquant_query q = {mix, role, layer, n_layers, row_len, tied, 0};
    return llmc_kquant_type(&q);
}

llmc_qrole llmc_qrole_of(llmc_param_role role) {
    switch (role) {
    case LLMC_ROLE_TOKEN_EMBEDDING: return LLMC_QROLE_TOKEN_EMBD;
    case LLMC_ROLE_OUTPUT_HEAD: return LLMC_QROLE_OUTPUT;
    case LLMC_ROLE_ATTN_V:
    case LLMC_ROLE_ATTN_QKV: return LLMC_QROLE_ATTN_V;
    case LLMC_ROLE_ATTN_K: return LLMC_QROLE_ATTN_K;
    case LLMC_ROLE_ATTN_O: return LLMC_QROLE_ATTN_OUTPUT;
    case LLMC_ROLE_MLP_DOWN:
    case LLMC_ROLE_EXPERT_DOWN: /* llama-quantize matches "ffn_down" in ffn_down_exps and ffn_down_shexp too */
    case LLMC_ROLE_SHARED_EXPERT_DOWN: return LLMC_QROLE_FFN_DOWN;
    default: return LLMC_QROLE_OTHER;
    }
}

const char *llmc_qtype_name(llmc_qtype t) {
    switch (t) {
    case LLMC_QTYPE_Q8_0: return "q8_0";
    case LLMC_QTYPE_Q6_K: return "q6_k";
    case LLMC_QTYPE_Q5_K: return "q5_k";
    case LLMC_QTYPE_Q4_K: return "q4_k";
    case LLMC_QTYPE_NONE: break;
    }
    return "none";
}

int llmc_quantize_kquant_mix(llmc_quantize q, llmc_kquant_mix *mix) {
    switch (q) {
    case LLMC_QUANT_Q6_K: *mix = LLMC_MIX_Q6_K; return 0;
    case LLMC_QUANT_Q5_K_M: *mix = LLMC_MIX_Q5_K_M; return 0;
    case LLMC_QUANT_Q4_K_M: *mix = LLMC_MIX_Q4_K_M; return 0;
    case LLMC_QUANT_Q5_K: *mix = LLMC_MIX_Q5_K_S; return 0;
    case LLMC_QUANT_Q4_K: *mix = LLMC_MIX_Q4_K_S; return 0;
    default: return -1;
    }
}
