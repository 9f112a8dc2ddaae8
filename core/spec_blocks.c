/* The refusal every backend that does not compute Gemma-2 style blocks shares (spec.h,
 * llmc_spec_refuse_block_options): one located error per option the spec sets, with the
 * value the backend does compute, so no backend silently drops an option and prints other
 * numbers. */
#include "llmc/spec.h"

int llmc_spec_refuse_block_options(const llmc_spec *s, const char *backend, bool sandwich_ok, llmc_diags *d) {
    struct {
        bool set;
        const char *key, *what, *nearest;
    } opts[] = {
        {s->sandwich_norm && !sandwich_ok, "norm_placement", "sandwich norms (a norm before and after each sub-layer)", "norm_placement: pre"},
        {s->norm_weight_offset != 0.0, "norm_weight_offset", "the (1 + w) RMSNorm scale", "norm_weight_offset: 0"},
        {s->embedding_scale_sqrt_hidden, "embedding_scale", "embeddings scaled by sqrt(hidden_size)", "embedding_scale: none"},
        {s->attention_softcap > 0, "attention_softcap", "soft-capped attention scores", "no attention_softcap"},
        {s->final_logit_softcap > 0, "final_logit_softcap", "soft-capped logits", "no final_logit_softcap"},
        {s->query_pre_attn_scalar > 0, "query_pre_attn_scalar", "an attention scale other than head_dim^-0.5",
         "no query_pre_attn_scalar (scale head_dim^-0.5)"},
        {s->sliding_window_pattern > 0, "sliding_window_pattern", "windowed and global layers mixed",
         "no sliding_window_pattern (every layer windowed)"},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (!opts[i].set) continue;
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, opts[i].key), opts[i].key,
                      "%s does not compute %s (nearest supported: %s)", backend, opts[i].what, opts[i].nearest);
        n++;
    }
    return n;
}
