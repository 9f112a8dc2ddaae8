/* safetensors emitter — config.json and generation_config.json.
 *
 * For the families transformers knows (docs/weights.md) the config carries every field the
 * family's config class writes, with llmc's values, so that
 * AutoModelForCausalLM.from_pretrained(OUT/safetensors) builds the same network. Fields
 * llmc has no notion of get the class defaults (token ids, pretraining_tp) or the value that
 * matches llmc's graph (dropouts 0: llmc's graph has no dropout). For every other spec the
 * config says plainly that no transformers class fits, and records every llmc dim and option. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_emit.h"

/* transformers release whose config schema these files follow */
#define ST_TRANSFORMERS_VERSION "4.46.0"

static const char *torch_dtype(llmc_precision p) {
    return p == LLMC_PRECISION_FLOAT16 ? "float16" : p == LLMC_PRECISION_BFLOAT16 ? "bfloat16" : "float32";
}

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v ? v : json_null()); }
static void set_int(json_t *o, const char *k, int64_t v) { set(o, k, json_integer((json_int_t)v)); }
static void set_real(json_t *o, const char *k, double v) { set(o, k, json_real(v)); }
static void set_str(json_t *o, const char *k, const char *v) { set(o, k, json_string(v)); }
static void set_bool(json_t *o, const char *k, bool v) { set(o, k, json_boolean(v)); }
/* a special token id of the model (llmc_emit_ctx.special_tokens), or null when it has none */
static void set_tok(json_t *o, const char *k, int64_t id) { set(o, k, id >= 0 ? json_integer((json_int_t)id) : json_null()); }

static int64_t dim(const llmc_emit_ctx *ctx, llmc_dim_id id) { return ctx->dims->v[id]; }

/* rope_scaling as transformers spells it ("rope_type", and "type" for older releases) */
static json_t *rope_scaling(const llmc_spec *s) {
    const llmc_rope_params *r = &s->rope;
    if (r->scaling == LLMC_ROPE_SCALING_NONE) return json_null();
    json_t *o = json_object();
    const char *t = llmc_rope_scaling_name(r->scaling);
    set_str(o, "rope_type", t);
    set_str(o, "type", t);
    set_real(o, "factor", r->factor);
    switch (r->scaling) {
    case LLMC_ROPE_SCALING_DYNAMIC:
        set_int(o, "original_max_position_embeddings", r->original_context_length);
        break;
    case LLMC_ROPE_SCALING_YARN:
        set_int(o, "original_max_position_embeddings", r->original_context_length);
        set_real(o, "beta_fast", r->beta_fast);
        set_real(o, "beta_slow", r->beta_slow);
        break;
    case LLMC_ROPE_SCALING_LLAMA3:
        set_int(o, "original_max_position_embeddings", r->original_context_length);
        set_real(o, "low_freq_factor", r->low_freq_factor);
        set_real(o, "high_freq_factor", r->high_freq_factor);
        break;
    default:
        break;
    }
    return o;
}

/* LlamaConfig / MistralConfig / Qwen2Config share most fields */
static void causal_common(const llmc_emit_ctx *ctx, const llmc_layout *l, json_t *c) {
    const llmc_spec *s = ctx->spec;
    set(c, "architectures", json_pack("[s]", l->hf_architecture));
    set_str(c, "model_type", l->family);
    set_int(c, "vocab_size", s->vocab_size);
    set_int(c, "hidden_size", dim(ctx, LLMC_DIM_HIDDEN_SIZE));
    set_int(c, "intermediate_size", dim(ctx, LLMC_DIM_INTERMEDIATE_SIZE));
    set_int(c, "num_hidden_layers", dim(ctx, LLMC_DIM_NUM_LAYERS));
    set_int(c, "num_attention_heads", dim(ctx, LLMC_DIM_NUM_HEADS));
    set_int(c, "num_key_value_heads", dim(ctx, LLMC_DIM_NUM_KV_HEADS));
    set_int(c, "head_dim", dim(ctx, LLMC_DIM_HEAD_DIM));
    set_str(c, "hidden_act", "silu");
    /* dynamic NTK scaling in transformers takes the original length from max_position_embeddings */
    set_int(c, "max_position_embeddings", s->rope.scaling == LLMC_ROPE_SCALING_DYNAMIC
                                              ? s->rope.original_context_length
                                              : s->context_length);
    set_real(c, "initializer_range", s->weights.std);
    set_real(c, "rms_norm_eps", s->norm_eps);
    set_bool(c, "use_cache", true);
    set_bool(c, "tie_word_embeddings", s->tie_word_embeddings);
    set_real(c, "rope_theta", s->rope.theta);
    set_real(c, "attention_dropout", 0.0);
    set_str(c, "torch_dtype", torch_dtype(s->precision));
    set_str(c, "transformers_version", ST_TRANSFORMERS_VERSION);
}

static json_t *config_llama(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    set_bool(c, "attention_bias", s->bias.qkv);
    set_bool(c, "mlp_bias", s->bias.mlp);
    set_int(c, "pretraining_tp", 1);
    set(c, "rope_scaling", rope_scaling(s));
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

static json_t *config_mistral(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    set_int(c, "sliding_window", s->sliding_window);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

static json_t *config_qwen2(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    bool sw = s->attention == LLMC_ATTN_SLIDING_WINDOW;
    set_bool(c, "use_sliding_window", sw);
    set(c, "sliding_window", sw ? json_integer(s->sliding_window) : json_null());
    /* layers >= max_window_layers use the window: 0 puts it on every layer, as llmc does */
    set_int(c, "max_window_layers", sw ? 0 : dim(ctx, LLMC_DIM_NUM_LAYERS));
    set(c, "rope_scaling", rope_scaling(s));
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

/* Qwen3Config: Qwen2's fields, attention_bias (q/k/v/o; llmc's qwen3 family has none) and
 * head_dim explicit; q_norm / k_norm are not configurable, every Qwen3 layer has them */
static json_t *config_qwen3(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    set_bool(c, "attention_bias", s->bias.qkv);
    set_bool(c, "use_sliding_window", false);
    set(c, "sliding_window", json_null());
    set_int(c, "max_window_layers", dim(ctx, LLMC_DIM_NUM_LAYERS));
    set(c, "rope_scaling", rope_scaling(s));
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

/* MixtralConfig: Mistral's fields and the sparse MLP. Its experts are intermediate_size wide (the
 * class has no dense MLP); its router is softmax, top-k, renormalised (llmc's mixtral family). */
static json_t *config_mixtral(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    int64_t I = s->moe.expert_intermediate_size ? s->moe.expert_intermediate_size
                                                : dim(ctx, LLMC_DIM_INTERMEDIATE_SIZE);
    set_int(c, "intermediate_size", I);
    bool sw = s->attention == LLMC_ATTN_SLIDING_WINDOW;
    set(c, "sliding_window", sw ? json_integer(s->sliding_window) : json_null());
    set_int(c, "num_local_experts", s->moe.num_experts);
    set_int(c, "num_experts_per_tok", s->moe.experts_per_token);
    set_real(c, "router_aux_loss_coef", s->moe.aux_loss_weight);
    set_bool(c, "output_router_logits", false);
    set_real(c, "router_jitter_noise", 0.0);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

/* Qwen2MoeConfig: Qwen2's fields, the routed experts (moe_intermediate_size wide), the shared
 * expert, every layer sparse (decoder_sparse_step 1, no mlp_only_layers); intermediate_size is
 * the dense MLP width the class would use in an mlp_only layer (llmc has none) */
static json_t *config_qwen2_moe(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    int64_t I = dim(ctx, LLMC_DIM_INTERMEDIATE_SIZE);
    set_bool(c, "use_sliding_window", false);
    set(c, "sliding_window", json_null());
    set_int(c, "max_window_layers", dim(ctx, LLMC_DIM_NUM_LAYERS));
    set(c, "rope_scaling", rope_scaling(s));
    set_bool(c, "qkv_bias", true);
    set_int(c, "decoder_sparse_step", 1);
    set(c, "mlp_only_layers", json_array());
    set_int(c, "num_experts", s->moe.num_experts);
    set_int(c, "num_experts_per_tok", s->moe.experts_per_token);
    set_int(c, "moe_intermediate_size", s->moe.expert_intermediate_size ? s->moe.expert_intermediate_size : I);
    set_int(c, "shared_expert_intermediate_size",
            s->moe.shared_expert_intermediate_size ? s->moe.shared_expert_intermediate_size : I);
    set_bool(c, "norm_topk_prob", s->moe.normalize_topk);
    set_real(c, "router_aux_loss_coef", s->moe.aux_loss_weight);
    set_bool(c, "output_router_logits", false);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

/* Gemma2Config: llama's fields, GeGLU with the tanh GELU, the query scale, the window (every
 * other layer, layer 0 windowed: fixed in Gemma2), the soft-caps (null = none), no biases */
static json_t *config_gemma2(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    set_str(c, "hidden_act", "gelu_pytorch_tanh");
    set_str(c, "hidden_activation", "gelu_pytorch_tanh");
    set_bool(c, "attention_bias", false);
    set_real(c, "query_pre_attn_scalar",
             s->query_pre_attn_scalar > 0 ? s->query_pre_attn_scalar : (double)dim(ctx, LLMC_DIM_HEAD_DIM));
    set_int(c, "sliding_window", s->sliding_window);
    set(c, "attn_logit_softcapping", s->attention_softcap > 0 ? json_real(s->attention_softcap) : json_null());
    set(c, "final_logit_softcapping", s->final_logit_softcap > 0 ? json_real(s->final_logit_softcap) : json_null());
    set_str(c, "cache_implementation", "hybrid");
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

/* GemmaConfig: llama's fields, GeGLU with the tanh GELU (hidden_activation; transformers' Gemma
 * reads it over hidden_act), attention_bias on q, k, v and o */
static json_t *config_gemma(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    causal_common(ctx, l, c);
    set_str(c, "hidden_act", "gelu_pytorch_tanh");
    set_str(c, "hidden_activation", "gelu_pytorch_tanh");
    set_bool(c, "attention_bias", s->bias.qkv);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    return c;
}

/* PhiConfig (Phi-1.5 / Phi-2): parallel block with one LayerNorm, gelu_new, partial rotary;
 * head_dim is hidden_size / num_attention_heads (the layout checked it), dropouts 0 */
static json_t *config_phi(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    set(c, "architectures", json_pack("[s]", l->hf_architecture));
    set_str(c, "model_type", "phi");
    set_int(c, "vocab_size", s->vocab_size);
    set_int(c, "hidden_size", dim(ctx, LLMC_DIM_HIDDEN_SIZE));
    set_int(c, "intermediate_size", dim(ctx, LLMC_DIM_INTERMEDIATE_SIZE));
    set_int(c, "num_hidden_layers", dim(ctx, LLMC_DIM_NUM_LAYERS));
    set_int(c, "num_attention_heads", dim(ctx, LLMC_DIM_NUM_HEADS));
    set_int(c, "num_key_value_heads", dim(ctx, LLMC_DIM_NUM_KV_HEADS));
    set_real(c, "resid_pdrop", 0.0);
    set_real(c, "embd_pdrop", 0.0);
    set_real(c, "attention_dropout", 0.0);
    set_str(c, "hidden_act", "gelu_new");
    set_int(c, "max_position_embeddings", s->context_length);
    set_real(c, "initializer_range", s->weights.std);
    set_real(c, "layer_norm_eps", s->norm_eps);
    set_bool(c, "use_cache", true);
    set_bool(c, "tie_word_embeddings", s->tie_word_embeddings);
    set_real(c, "rope_theta", s->rope.theta);
    set(c, "rope_scaling", json_null());
    set_real(c, "partial_rotary_factor", s->rope.fraction);
    set_bool(c, "qk_layernorm", false);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    set_str(c, "torch_dtype", torch_dtype(s->precision));
    set_str(c, "transformers_version", ST_TRANSFORMERS_VERSION);
    return c;
}

static json_t *config_gpt2(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *c = json_object();
    set(c, "architectures", json_pack("[s]", l->hf_architecture));
    set_str(c, "model_type", "gpt2");
    set_int(c, "vocab_size", s->vocab_size);
    set_int(c, "n_positions", s->context_length);
    set_int(c, "n_ctx", s->context_length);
    set_int(c, "n_embd", dim(ctx, LLMC_DIM_HIDDEN_SIZE));
    set_int(c, "n_layer", dim(ctx, LLMC_DIM_NUM_LAYERS));
    set_int(c, "n_head", dim(ctx, LLMC_DIM_NUM_HEADS));
    set_int(c, "n_inner", dim(ctx, LLMC_DIM_INTERMEDIATE_SIZE));
    set_str(c, "activation_function", s->activation == LLMC_ACT_GELU_TANH ? "gelu_new" : "gelu");
    set_real(c, "resid_pdrop", 0.0);
    set_real(c, "embd_pdrop", 0.0);
    set_real(c, "attn_pdrop", 0.0);
    set_real(c, "layer_norm_epsilon", s->norm_eps);
    set_real(c, "initializer_range", s->weights.std);
    set_str(c, "summary_type", "cls_index");
    set_bool(c, "summary_use_proj", true);
    set(c, "summary_activation", json_null());
    set_bool(c, "summary_proj_to_labels", true);
    set_real(c, "summary_first_dropout", 0.0);
    set_bool(c, "scale_attn_weights", true);
    set_bool(c, "scale_attn_by_inverse_layer_idx", false);
    set_bool(c, "reorder_and_upcast_attn", false);
    set_bool(c, "use_cache", true);
    set_bool(c, "tie_word_embeddings", s->tie_word_embeddings);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    set_str(c, "torch_dtype", torch_dtype(s->precision));
    set_str(c, "transformers_version", ST_TRANSFORMERS_VERSION);
    return c;
}

static json_t *config_t5(const llmc_emit_ctx *ctx, const llmc_layout *l) {
    const llmc_spec *s = ctx->spec;
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    bool gated = s->activation == LLMC_ACT_GEGLU;
    json_t *c = json_object();
    set(c, "architectures", json_pack("[s]", l->hf_architecture));
    set_str(c, "model_type", "t5");
    set_int(c, "vocab_size", s->vocab_size);
    set_int(c, "d_model", dim(ctx, LLMC_DIM_HIDDEN_SIZE));
    set_int(c, "d_kv", dim(ctx, LLMC_DIM_HEAD_DIM));
    set_int(c, "d_ff", dim(ctx, LLMC_DIM_INTERMEDIATE_SIZE));
    set_int(c, "num_layers", dim(ctx, LLMC_DIM_NUM_ENCODER_LAYERS));
    set_int(c, "num_decoder_layers", dim(ctx, LLMC_DIM_NUM_DECODER_LAYERS));
    set_int(c, "num_heads", dim(ctx, LLMC_DIM_NUM_HEADS));
    set_int(c, "relative_attention_num_buckets", s->relative_num_buckets);
    set_int(c, "relative_attention_max_distance", s->relative_max_distance);
    set_int(c, "n_positions", s->context_length);
    set_real(c, "dropout_rate", 0.0);
    set_real(c, "classifier_dropout", 0.0);
    set_real(c, "layer_norm_epsilon", s->norm_eps);
    set_real(c, "initializer_factor", 1.0);
    /* "gated-gelu" is gelu_new (tanh) gating, which is what llmc's geglu computes for T5 */
    set_str(c, "feed_forward_proj", gated ? "gated-gelu" : "relu");
    set_str(c, "dense_act_fn", gated ? "gelu_new" : "relu");
    set_bool(c, "is_gated_act", gated);
    set_bool(c, "is_encoder_decoder", true);
    set_bool(c, "use_cache", true);
    set_bool(c, "tie_word_embeddings", s->tie_word_embeddings);
    set_tok(c, "pad_token_id", tk.pad);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "decoder_start_token_id", tk.decoder_start);
    set_str(c, "torch_dtype", torch_dtype(s->precision));
    set_str(c, "transformers_version", ST_TRANSFORMERS_VERSION);
    return c;
}

/* No transformers class: say so, and carry everything llmc knows. */
static json_t *config_llmc(const llmc_emit_ctx *ctx, const llmc_layout *l, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    json_t *c = json_object();
    set(c, "architectures", json_pack("[s]", l->family));
    set_str(c, "model_type", l->family);
    char note[1024];
    snprintf(note, sizeof note,
             "No transformers model class expresses this architecture (template %s, attention %s, norm %s, "
             "activation %s, positional_encoding %s, bias qkv=%s attn_out=%s mlp=%s lm_head=%s); llmc's families "
             "are listed in docs/weights.md. Tensors are stored under llmc's IR names with llmc's layout; the ir.json "
             "one directory up describes the graph, and llmc_spec below is the complete normalised spec.",
             s->template_name, llmc_attention_name(s->attention), llmc_norm_name(s->norm),
             llmc_activation_name(s->activation), llmc_positional_name(s->positional), s->bias.qkv ? "true" : "false",
             s->bias.attn_out ? "true" : "false", s->bias.mlp ? "true" : "false", s->bias.lm_head ? "true" : "false");
    set_str(c, "llmc_note", note);
    set_str(c, "llmc_version", llmc_version());
    set_str(c, "llmc_template", s->template_name);
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(ctx->dims, (llmc_dim_id)i)) set_int(c, llmc_dim_name((llmc_dim_id)i), ctx->dims->v[i]);
    set_int(c, "vocab_size", s->vocab_size);
    set_int(c, "context_length", s->context_length);
    set_str(c, "attention", llmc_attention_name(s->attention));
    set_str(c, "norm", llmc_norm_name(s->norm));
    set_str(c, "activation", llmc_activation_name(s->activation));
    set_str(c, "positional_encoding", llmc_positional_name(s->positional));
    if (s->qk_norm) set_bool(c, "qk_norm", true);
    if (s->moe.enabled) { /* the mixture's facts; llmc_spec below has the whole moe mapping */
        set_int(c, "num_experts", s->moe.num_experts);
        set_int(c, "experts_per_token", s->moe.experts_per_token);
        set_str(c, "moe_routing", llmc_moe_routing_name(s->moe.routing));
        set_bool(c, "moe_normalize_topk", s->moe.normalize_topk);
        if (s->moe.num_shared_experts) set_int(c, "num_shared_experts", s->moe.num_shared_experts);
    }
    /* Gemma-2 style options, each only when set */
    if (s->sandwich_norm) set_str(c, "norm_placement", "sandwich");
    if (s->norm_weight_offset != 0.0) set_real(c, "norm_weight_offset", s->norm_weight_offset);
    if (s->embedding_scale_sqrt_hidden) set_str(c, "embedding_scale", "sqrt_hidden");
    if (s->attention_softcap > 0) set_real(c, "attention_softcap", s->attention_softcap);
    if (s->final_logit_softcap > 0) set_real(c, "final_logit_softcap", s->final_logit_softcap);
    if (s->query_pre_attn_scalar > 0) set_real(c, "query_pre_attn_scalar", s->query_pre_attn_scalar);
    if (s->sliding_window_pattern > 0) set_int(c, "sliding_window_pattern", s->sliding_window_pattern);
    if (s->positional == LLMC_POS_ROPE && s->rope.fraction != 1.0) set_real(c, "partial_rotary_factor", s->rope.fraction);
    if (s->parallel_residual) set_bool(c, "parallel_residual", true);
    set_bool(c, "tie_word_embeddings", s->tie_word_embeddings);
    set_str(c, "torch_dtype", torch_dtype(s->precision));
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    set_tok(c, "bos_token_id", tk.bos);
    set_tok(c, "eos_token_id", tk.eos);
    set_tok(c, "pad_token_id", tk.pad);
    if (tk.decoder_start >= 0) set_tok(c, "decoder_start_token_id", tk.decoder_start);
    json_error_t err;
    json_t *spec = ctx->spec_json ? json_loads(ctx->spec_json, 0, &err) : NULL;   /* OUT/spec.json's text */
    if (!spec) {
        llmc_error(d, "emit", "safetensors: cannot embed the normalised spec in config.json");
        json_decref(c);
        return NULL;
    }
    set(c, "llmc_spec", spec);
    return c;
}

/* the model's special tokens (llmc_emit_ctx.special_tokens), the ones it has */
static json_t *generation_config(const llmc_emit_ctx *ctx) {
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    json_t *g = json_object();
    set_bool(g, "_from_model_config", true);
    if (tk.bos >= 0) set_int(g, "bos_token_id", tk.bos);
    if (tk.eos >= 0) set_int(g, "eos_token_id", tk.eos);
    if (tk.pad >= 0) set_int(g, "pad_token_id", tk.pad);
    if (tk.decoder_start >= 0) set_int(g, "decoder_start_token_id", tk.decoder_start);
    set_str(g, "transformers_version", ST_TRANSFORMERS_VERSION);
    return g;
}

static int add_file(st_config_file *out, size_t *n, const char *rel, json_t *j, const char *role, llmc_diags *d) {
    char *text = j ? st_json_dump(j) : NULL;
    json_decref(j);
    if (!text) {
        llmc_error(d, "emit", "safetensors: out of memory writing %s", rel);
        return -1;
    }
    out[*n].rel = rel;
    out[*n].text = text;
    snprintf(out[*n].role, sizeof out[*n].role, "%s", role);
    (*n)++;
    return 0;
}

int st_config_files(const llmc_emit_ctx *ctx, const llmc_layout *l, st_config_file out[2], llmc_diags *d) {
    json_t *c = NULL;
    size_t n = 0;
    const char *f = l->family;
    if (!strcmp(f, "llama")) c = config_llama(ctx, l);
    else if (!strcmp(f, "mistral")) c = config_mistral(ctx, l);
    else if (!strcmp(f, "qwen2")) c = config_qwen2(ctx, l);
    else if (!strcmp(f, "qwen3")) c = config_qwen3(ctx, l);
    else if (!strcmp(f, "mixtral")) c = config_mixtral(ctx, l);
    else if (!strcmp(f, "qwen2_moe")) c = config_qwen2_moe(ctx, l);
    else if (!strcmp(f, "gemma2")) c = config_gemma2(ctx, l);
    else if (!strcmp(f, "gemma")) c = config_gemma(ctx, l);
    else if (!strcmp(f, "phi")) c = config_phi(ctx, l);
    else if (!strcmp(f, "gpt2")) c = config_gpt2(ctx, l);
    else if (!strcmp(f, "t5")) c = config_t5(ctx, l);
    else {
        c = config_llmc(ctx, l, d);
        if (!c) return -1;
        if (add_file(out, &n, "safetensors/config.json", c,
                     "model config (no transformers class fits; llmc dims and options)", d))
            return -1;
        return (int)n;
    }
    char role[160];
    snprintf(role, sizeof role, "model config (transformers %s)", l->hf_architecture);
    if (add_file(out, &n, "safetensors/config.json", c, role, d) ||
        add_file(out, &n, "safetensors/generation_config.json", generation_config(ctx),
                 "generation config (transformers)", d)) {
        st_config_files_free(out, n);
        return -1;
    }
    return (int)n;
}

void st_config_files_free(st_config_file *f, size_t n) {
    for (size_t i = 0; i < n; i++) free(f[i].text);
}

int st_write_configs(const llmc_emit_ctx *ctx, const llmc_layout *l, llmc_diags *d) {
    st_config_file f[2];
    int n = st_config_files(ctx, l, f, d);
    if (n < 0) return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = llmc_out_write_file(ctx, f[i].rel, f[i].text, strlen(f[i].text), d);
        if (rc == 0) llmc_out_register(ctx, f[i].rel, f[i].role);
    }
    st_config_files_free(f, (size_t)n);
    return rc;
}
