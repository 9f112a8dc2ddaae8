/* K-quant file types (spec `quantize: q6_k | q5_k_m | q4_k_m | q5_k | q4_k`, llama.cpp's Q6_K,
 * Q5_K_M, Q4_K_M, Q5_K_S, Q4_K_S): which block type each matrix of the file gets. The choice is
 * llama_model_quantize's for the same float file (llmc_kquant_mix_type, core/quant_mix.c), so
 * that llmc's file is byte for byte the one llama-quantize would write from llmc's F32 GGUF
 * (tests/python/test_kquant.py compares them). What a matrix is comes from the IR's roles; its
 * position among the attn_v / ffn_down tensors is counted in file order, as llama.cpp counts.
 * The emitter's check() builds the plan, so these refusals come before anything is written. */
#include <stdio.h>

#include "gguf_arch.h"
#include "llmc/quant.h"

/* llama.cpp's category of a matrix (llmc_qrole_of); q|k|v fused in the file counts as attn_v */
static llmc_qrole qrole_of(const llmc_tensor_info *t, int n_parts) {
    if (t->role == LLMC_ROLE_ATTN_Q && n_parts > 1) return LLMC_QROLE_ATTN_V;
    return llmc_qrole_of(t->role);
}

static gguf_ttype ttype_of(llmc_qtype q) {
    switch (q) {
    case LLMC_QTYPE_Q8_0: return GGUF_TT_Q8_0;
    case LLMC_QTYPE_Q6_K: return GGUF_TT_Q6_K;
    case LLMC_QTYPE_Q5_K: return GGUF_TT_Q5_K;
    case LLMC_QTYPE_Q4_K: return GGUF_TT_Q4_K;
    default: return GGUF_TT_F16;
    }
}

/* The type of one matrix, or -1 with an error at `quantize` when llama.cpp would write a block
 * type llmc does not (Q5_0 / Q5_1 for Q4_K / Q5_K rows that are whole 32-blocks but not whole
 * 256-blocks). A row that is not even a whole 32-block is F16, as llama.cpp stores it. */
static int kquant_type(const llmc_spec *s, const llmc_kquant_query *query, const char *what, gguf_ttype *out,
                       llmc_diags *d) {
    const llmc_kquant_mix mix = query->mix;
    const uint64_t row_len = query->row_len;
    const llmc_qtype q = llmc_kquant_type(query);
    if (q == LLMC_QTYPE_NONE && row_len % LLMC_QK == 0) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "quantize"), "quantize",
                      "%s has rows of %llu values, not a multiple of %d: llama.cpp's %s would store it as "
                      "%s, which llmc does not write (use quantize: q6_k or q8_0, or sizes that are multiples of %d)",
                      what, (unsigned long long)row_len, LLMC_QK_K, llmc_quantize_name(s->quantize),
                      mix == LLMC_MIX_Q5_K_M || mix == LLMC_MIX_Q5_K_S ? "Q5_1" : "Q5_0", LLMC_QK_K);
        return -1;
    }
    *out = ttype_of(q);
    return 0;
}

int gguf_plan_kquant(const llmc_spec *s, const llmc_ir *ir, gguf_plan *p, llmc_diags *d) {
    llmc_kquant_mix mix;
    if (llmc_quantize_kquant_mix(s->quantize, &mix)) return 0;
    if (llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "quantize"), "quantize",
                      "the K-quant mixes are written for decoder-only models; llama.cpp's choice for T5's "
                      "encoder, decoder and cross-attention tensors is not reproduced (use quantize: q8_0 or q4_0)");
        return -1;
    }
    /* llama.cpp counts the attn_v and ffn_down tensors of the file first, then numbers them in order;
     * with sparse experts an ffn_down's layer is its block's (ffn_down_exps and ffn_down_shexp) */
    int n_v = 0, n_down = 0, n_embd = 0, n_head = 0, n_blocks = 0;
    for (size_t i = 0; i < p->n; i++) {
        const gguf_plan_tensor *t = &p->t[i];
        if (!t->quantizable) continue;
        const llmc_qrole r = qrole_of(llmc_ir_tensor(ir, t->view.parts[0]), t->view.n_parts);
        n_v += r == LLMC_QROLE_ATTN_V;
        n_down += r == LLMC_QROLE_FFN_DOWN;
        n_embd += r == LLMC_QROLE_TOKEN_EMBD;
        n_head += r == LLMC_QROLE_OUTPUT;
        const int layer = llmc_ir_tensor(ir, t->view.parts[0])->layer;
        if (layer + 1 > n_blocks) n_blocks = layer + 1;
    }
    const bool moe = p->experts > 1;
    /* llama.cpp treats token_embd as the head when the file has no output.weight; an architecture
     * that needs output.weight gets the tied embedding written twice, the second copy the head */
    const bool tied_in_file = n_head == 0 && n_embd == 1;
    int i_v = 0, i_down = 0, i_embd = 0;
    for (size_t i = 0; i < p->n; i++) {
        gguf_plan_tensor *t = &p->t[i];
        if (!t->quantizable) continue;
        llmc_qrole r = qrole_of(llmc_ir_tensor(ir, t->view.parts[0]), t->view.n_parts);
        if (r == LLMC_QROLE_TOKEN_EMBD && i_embd++ > 0) r = LLMC_QROLE_OUTPUT;
        llmc_kquant_query q = {mix, r, -1, 0, t->ne[0], tied_in_file, p->experts};
        if (r == LLMC_QROLE_ATTN_V) {
            q.layer = i_v++;
            q.n_layers = n_v;
        } else if (r == LLMC_QROLE_FFN_DOWN) {
            q.layer = moe ? llmc_ir_tensor(ir, t->view.parts[0])->layer : i_down++;
            q.n_layers = moe ? n_blocks : n_down;
        }
        char what[200];
        snprintf(what, sizeof what, "GGUF tensor '%s'", t->name);
        if (kquant_type(s, &q, what, &t->type, d)) return -1;
    }
    /* llama_ftype: MOSTLY_Q4_K_S 14, Q4_K_M 15, Q5_K_S 16, Q5_K_M 17, Q6_K 18 */
    p->file_type = mix == LLMC_MIX_Q4_K_S ? 14 : mix == LLMC_MIX_Q4_K_M ? 15 : mix == LLMC_MIX_Q5_K_S ? 16
                 : mix == LLMC_MIX_Q5_K_M ? 17 : 18;
    return 0;
}
