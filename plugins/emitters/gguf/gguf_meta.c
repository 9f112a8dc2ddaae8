/* GGUF metadata: general.* and llmc.* (provenance: the spec, its hash, the weight source) and the
 * architecture's hyperparameter keys, typed as llama.cpp reads them (src/llama-arch.cpp,
 * src/llama-model.cpp). The vocabulary (tokenizer.ggml.*) is gguf_vocab.c's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_arch.h"

/* ---- general.* and llmc.*: provenance ------------------------------------------------------------ */
int gguf_general_metadata(const llmc_emit_ctx *ctx, const gguf_plan *p, gguf_meta *m, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    int rc = 0;
    rc |= gguf_kv_str(m, "general.architecture", gguf_arch_name(p->arch), d);
    rc |= gguf_kv_str(m, "general.name", s->name ? s->name : "llmc model", d);
    rc |= gguf_kv_u32(m, "general.file_type", p->file_type, d);
    rc |= gguf_kv_u32(m, "general.alignment", GGUF_ALIGNMENT, d);
    if (s->quantize != LLMC_QUANT_NONE) rc |= gguf_kv_u32(m, "general.quantization_version", 2, d); /* GGML_QNT_VERSION */
    rc |= gguf_kv_str(m, "llmc.version", llmc_version(), d);
    rc |= gguf_kv_str(m, "llmc.template", s->template_name, d);
    if (!ctx->spec_json || !ctx->spec_sha256) {
        llmc_error(d, "gguf", "internal error: the emit context carries no spec JSON or spec hash");
        return -1;
    }
    /* the spec as OUT/spec.json holds it and the one provenance hash, both computed once by core */
    rc |= gguf_kv_str(m, "llmc.spec_hash", ctx->spec_sha256, d);
    rc |= gguf_kv_str(m, "llmc.spec", ctx->spec_json, d);
    /* from the spec, which names the weight source the pipeline opened (its checkpoint path made
     * absolute), so that verify rebuilds the same keys without opening it */
    if (!s->weights.checkpoint) {
        rc |= gguf_kv_str(m, "llmc.weights", "init", d);
        rc |= gguf_kv_u64(m, "llmc.seed", s->weights.seed, d);
    } else {
        rc |= gguf_kv_str(m, "llmc.weights", "checkpoint", d);
        rc |= gguf_kv_str(m, "llmc.checkpoint", s->weights.checkpoint, d);
    }
    return rc ? -1 : 0;
}

/* ---- hyperparameters -------------------------------------------------------------------------- */
int gguf_arch_metadata(const llmc_spec *s, const llmc_dims *dims, const gguf_plan *p,
                       const llmc_special_tokens *tokens, gguf_meta *m, llmc_diags *d) {
    const char *an = gguf_arch_name(p->arch);
    char k[96];
    int rc = 0;
#define KEY(suffix) (snprintf(k, sizeof k, "%s.%s", an, suffix), k)
    const uint32_t H = (uint32_t)dims->v[LLMC_DIM_HIDDEN_SIZE], nh = (uint32_t)dims->v[LLMC_DIM_NUM_HEADS],
                   nkv = (uint32_t)dims->v[LLMC_DIM_NUM_KV_HEADS], hd = (uint32_t)dims->v[LLMC_DIM_HEAD_DIM],
                   I = (uint32_t)dims->v[LLMC_DIM_INTERMEDIATE_SIZE];
    rc |= gguf_kv_u32(m, KEY("vocab_size"), (uint32_t)s->vocab_size, d);
    rc |= gguf_kv_u32(m, KEY("context_length"), (uint32_t)s->context_length, d);
    rc |= gguf_kv_u32(m, KEY("embedding_length"), H, d);
    /* with sparse experts llama.cpp's llama n_ff is one expert's width, the rows of ffn_gate_exps;
     * qwen2moe reads the experts' and the shared expert's widths from their own keys */
    const bool qwen2moe = p->arch == GA_QWEN2MOE;
    rc |= gguf_kv_u32(m, KEY("feed_forward_length"), p->experts && !qwen2moe ? (uint32_t)p->expert_ff : I, d);
    if (p->experts) {
        rc |= gguf_kv_u32(m, KEY("expert_count"), (uint32_t)p->experts, d);
        rc |= gguf_kv_u32(m, KEY("expert_used_count"), (uint32_t)p->experts_used, d);
    }
    if (qwen2moe) {
        rc |= gguf_kv_u32(m, KEY("expert_feed_forward_length"), (uint32_t)p->expert_ff, d);
        rc |= gguf_kv_u32(m, KEY("expert_shared_feed_forward_length"), (uint32_t)p->shared_ff, d);
    }
    rc |= gguf_kv_u32(m, KEY("attention.head_count"), nh, d);
    rc |= gguf_kv_u32(m, KEY("attention.head_count_kv"), nkv, d);
    rc |= gguf_kv_u32(m, KEY("attention.key_length"), hd, d);
    rc |= gguf_kv_u32(m, KEY("attention.value_length"), hd, d);
    if (p->arch == GA_T5) {
        rc |= gguf_kv_u32(m, KEY("block_count"), (uint32_t)dims->v[LLMC_DIM_NUM_ENCODER_LAYERS], d);
        rc |= gguf_kv_u32(m, KEY("decoder_block_count"), (uint32_t)dims->v[LLMC_DIM_NUM_DECODER_LAYERS], d);
        rc |= gguf_kv_f32(m, KEY("attention.layer_norm_rms_epsilon"), (float)s->norm_eps, d);
        rc |= gguf_kv_u32(m, KEY("attention.relative_buckets_count"), (uint32_t)s->relative_num_buckets, d);
        /* the model's decoder start (T5: its pad token), from the one set of special tokens */
        if (tokens->decoder_start >= 0)
            rc |= gguf_kv_u32(m, KEY("decoder_start_token_id"), (uint32_t)tokens->decoder_start, d);
    } else {
        rc |= gguf_kv_u32(m, KEY("block_count"), (uint32_t)dims->v[LLMC_DIM_NUM_LAYERS], d);
    }
    const bool neox = p->arch == GA_GPTNEOX || p->arch == GA_PHI2;
    if (p->arch == GA_GPT2 || neox)
        rc |= gguf_kv_f32(m, KEY("attention.layer_norm_epsilon"), (float)s->norm_eps, d);
    /* gptneox reads it (no default); phi2 always adds both branches to the residual */
    if (p->arch == GA_GPTNEOX) rc |= gguf_kv_bool(m, KEY("use_parallel_residual"), p->parallel_residual, d);
    /* llama.cpp src/models/gemma.cpp, gemma2.cpp load_arch_hparams and the common ones of
     * src/llama-model.cpp (rope.dimension_count defaults to the key length, written anyway) */
    if (p->arch == GA_GEMMA || p->arch == GA_GEMMA2) {
        rc |= gguf_kv_f32(m, KEY("attention.layer_norm_rms_epsilon"), (float)s->norm_eps, d);
        rc |= gguf_kv_u32(m, KEY("rope.dimension_count"), hd, d);
        rc |= gguf_kv_f32(m, KEY("rope.freq_base"), (float)s->rope.theta, d);
    }
    if (p->arch == GA_GEMMA2) {
        rc |= gguf_kv_u32(m, KEY("attention.sliding_window"), (uint32_t)p->gemma.window, d);
        rc |= gguf_kv_u32(m, KEY("attention.sliding_window_pattern"), p->gemma.swa_pattern, d);
        rc |= gguf_kv_f32(m, KEY("attn_logit_softcapping"), (float)p->gemma.attn_softcap, d);
        rc |= gguf_kv_f32(m, KEY("final_logit_softcapping"), (float)p->gemma.final_softcap, d);
    }
    if (p->arch == GA_LLAMA || p->arch == GA_QWEN2 || p->arch == GA_QWEN3 || qwen2moe || neox) {
        const llmc_rope_params *r = &s->rope;
        if (!neox) rc |= gguf_kv_f32(m, KEY("attention.layer_norm_rms_epsilon"), (float)s->norm_eps, d);
        /* the rotated share of each head (partial rotary: GPT-NeoX's rotary_pct, Phi's) */
        rc |= gguf_kv_u32(m, KEY("rope.dimension_count"), neox ? (uint32_t)p->rope_dims : hd, d);
        rc |= gguf_kv_f32(m, KEY("rope.freq_base"), (float)r->theta, d);
        switch (r->scaling) {
        case LLMC_ROPE_SCALING_LINEAR:
            rc |= gguf_kv_str(m, KEY("rope.scaling.type"), "linear", d);
            rc |= gguf_kv_f32(m, KEY("rope.scaling.factor"), (float)r->factor, d);
            break;
        case LLMC_ROPE_SCALING_YARN:
            rc |= gguf_kv_str(m, KEY("rope.scaling.type"), "yarn", d);
            rc |= gguf_kv_f32(m, KEY("rope.scaling.factor"), (float)r->factor, d);
            rc |= gguf_kv_u32(m, KEY("rope.scaling.original_context_length"), (uint32_t)r->original_context_length, d);
            break;
        default:
            /* none; llama3 is carried by the rope_freqs tensor, as convert_hf_to_gguf does */
            rc |= gguf_kv_str(m, KEY("rope.scaling.type"), "none", d);
            break;
        }
    }
#undef KEY
    return rc ? -1 : 0;
}
