/* llmc — the model spec: what a user writes (YAML or JSON), parsed, validated and
 * normalised into a plain struct. Every field has its default filled in after
 * llmc_spec_load_*(); the source tree is kept so that later stages (templates,
 * solvers, emitters) can point their errors at the key that caused them.
 * The schema is documented in docs/spec.md. */
#ifndef LLMC_SPEC_H
#define LLMC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dimensions ------------------------------------------------------------------ */

typedef enum llmc_dim_id {
    LLMC_DIM_NUM_LAYERS = 0,
    LLMC_DIM_HIDDEN_SIZE,
    LLMC_DIM_INTERMEDIATE_SIZE,
    LLMC_DIM_NUM_HEADS,
    LLMC_DIM_NUM_KV_HEADS,
    LLMC_DIM_HEAD_DIM,
    LLMC_DIM_NUM_ENCODER_LAYERS,
    LLMC_DIM_NUM_DECODER_LAYERS,
    LLMC_DIM_COUNT
} llmc_dim_id;

/* A (possibly partial) assignment of dimensions: bit (1u << id) of `set` says v[id] is given. */
typedef struct llmc_dims {
    int64_t v[LLMC_DIM_COUNT];
    uint32_t set;
} llmc_dims;

LLMC_API const char *llmc_dim_name(llmc_dim_id id);     /* "hidden_size", ... */
LLMC_API int llmc_dim_from_name(const char *name);      /* id, or -1 */
static inline bool llmc_dims_has(const llmc_dims *d, llmc_dim_id id) { return (d->set >> id) & 1u; }
static inline void llmc_dims_put(llmc_dims *d, llmc_dim_id id, int64_t v) { d->v[id] = v; d->set |= 1u << id; }

/* ---- enumerations (each has a name table; *_name() returns the spec spelling) ------ */

typedef enum { LLMC_ATTN_MHA = 0, LLMC_ATTN_MQA, LLMC_ATTN_GQA, LLMC_ATTN_SLIDING_WINDOW, LLMC_ATTN_COUNT } llmc_attention_kind;
typedef enum { LLMC_NORM_RMSNORM = 0, LLMC_NORM_LAYERNORM, LLMC_NORM_NONE, LLMC_NORM_COUNT } llmc_norm_kind;
typedef enum {
    LLMC_ACT_SWIGLU = 0, LLMC_ACT_GEGLU, LLMC_ACT_GELU, LLMC_ACT_GELU_TANH,
    LLMC_ACT_RELU, LLMC_ACT_SILU, LLMC_ACT_RELU_SQUARED, LLMC_ACT_COUNT
} llmc_activation_kind;
typedef enum {
    LLMC_POS_ROPE = 0, LLMC_POS_ALIBI, LLMC_POS_LEARNED, LLMC_POS_SINUSOIDAL,
    LLMC_POS_RELATIVE, LLMC_POS_NONE, LLMC_POS_COUNT
} llmc_positional_kind;
typedef enum {
    LLMC_ROPE_SCALING_NONE = 0, LLMC_ROPE_SCALING_LINEAR, LLMC_ROPE_SCALING_DYNAMIC,
    LLMC_ROPE_SCALING_YARN, LLMC_ROPE_SCALING_LLAMA3, LLMC_ROPE_SCALING_COUNT
} llmc_rope_scaling_kind;
typedef enum { LLMC_PRECISION_FLOAT32 = 0, LLMC_PRECISION_FLOAT16, LLMC_PRECISION_BFLOAT16, LLMC_PRECISION_COUNT } llmc_precision;
/* q6_k, q5_k_m, q4_k_m, q5_k, q4_k are llama.cpp's K-quant file types Q6_K, Q5_K_M, Q4_K_M, Q5_K_S,
 * Q4_K_S: each tensor gets the block type llama_model_quantize gives it (llmc/quant.h) */
typedef enum {
    LLMC_QUANT_NONE = 0, LLMC_QUANT_Q8_0, LLMC_QUANT_Q4_0, LLMC_QUANT_Q6_K, LLMC_QUANT_Q5_K_M, LLMC_QUANT_Q4_K_M,
    LLMC_QUANT_Q5_K, LLMC_QUANT_Q4_K, LLMC_QUANT_COUNT
} llmc_quantize;
typedef enum { LLMC_INIT_NORMAL = 0, LLMC_INIT_SCALED_NORMAL, LLMC_INIT_T5, LLMC_INIT_COUNT } llmc_init_scheme;
typedef enum { LLMC_TOKENIZER_NONE = 0, LLMC_TOKENIZER_BYTE, LLMC_TOKENIZER_COUNT } llmc_tokenizer_kind;

LLMC_API const char *llmc_attention_name(llmc_attention_kind k);
LLMC_API const char *llmc_norm_name(llmc_norm_kind k);
LLMC_API const char *llmc_activation_name(llmc_activation_kind k);
LLMC_API const char *llmc_positional_name(llmc_positional_kind k);
LLMC_API const char *llmc_rope_scaling_name(llmc_rope_scaling_kind k);
LLMC_API const char *llmc_precision_name(llmc_precision k);
LLMC_API const char *llmc_quantize_name(llmc_quantize k);   /* "none", "q8_0", "q4_0", "q6_k", "q5_k_m", ... */
LLMC_API const char *llmc_init_scheme_name(llmc_init_scheme k);
LLMC_API const char *llmc_tokenizer_name(llmc_tokenizer_kind k);

/* gated MLP (gate/up/down) vs plain (up/down) */
static inline bool llmc_activation_is_gated(llmc_activation_kind a) { return a == LLMC_ACT_SWIGLU || a == LLMC_ACT_GEGLU; }

/* ---- the spec ------------------------------------------------------------------------ */

typedef struct llmc_constraint {
    char *text;          /* as written, e.g. "hidden_size % 128 == 0" */
    llmc_loc loc;        /* where the expression starts in the spec file */
    struct llmc_expr *expr; /* parsed (see expr.h); never NULL in a loaded spec */
} llmc_constraint;

/* One emitter option: emit_options: { <emitter>: { <key>: <scalar> } }. The strings belong to
 * the spec (they live as long as it does). */
typedef struct llmc_emit_option {
    char *emitter;
    char *key;
    char *value;         /* scalar as written */
    llmc_loc loc;
} llmc_emit_option;

/* One solver option: solver_options: { <key>: <scalar> } (e.g. objective: closest). The strings
 * belong to the spec (they live as long as it does). */
typedef struct llmc_solver_option {
    char *key;
    char *value;         /* scalar as written */
    llmc_loc loc;
} llmc_solver_option;

typedef struct llmc_rope_params {
    double theta;                         /* default 10000 */
    llmc_rope_scaling_kind scaling;       /* default none */
    double factor;                        /* default 1 */
    int64_t original_context_length;      /* yarn/llama3/dynamic; default = context_length */
    double low_freq_factor, high_freq_factor; /* llama3; defaults 1, 4 */
    double beta_fast, beta_slow;          /* yarn; defaults 32, 1 */
    double fraction;                      /* default 1: share of head_dim rotated, first dims, in halves (Phi-2 0.4) */
} llmc_rope_params;

typedef struct llmc_bias_flags {
    bool qkv, attn_out, mlp, norm, lm_head;   /* defaults: all false except norm = true */
} llmc_bias_flags;

typedef struct llmc_weights_params {
    llmc_init_scheme init;   /* default normal */
    double std;              /* default 0.02 */
    uint64_t seed;           /* default 0 */
    char *checkpoint;        /* NULL unless a checkpoint path is given */
} llmc_weights_params;

/* tokenizer: {type: <a tokenizer plugin>, vocab_size, pre_tokenizer, special_tokens, byte_fallback,
 * normalization}:
 * trained from dataset.paths by `compile` (docs/spec.md "Tokenizer and dataset"). */
typedef struct llmc_tokenizer_spec {
    char *type;                      /* the tokenizer plugin to train (bpe, unigram, ...); NULL = none/byte */
    int64_t vocab_size;              /* 0 = the spec's vocab_size */
    char *pre_tokenizer;             /* NULL = the plugin's default */
    char **special_names;            /* special_tokens: {name: token}, in the order written */
    char **special_tokens;
    size_t n_special;
    int byte_fallback;               /* -1 = the plugin's default, else 0 / 1 */
    char *normalization;             /* nfc, nfd, nfkc, nfkd, lowercase, nfkc_lowercase; NULL = the pipeline's own */
} llmc_tokenizer_spec;

/* dataset: {name, paths, format, text_field, split} */
typedef struct llmc_dataset_spec {
    char **paths;                    /* corpus files (.txt, .jsonl, .gz), relative to the spec file */
    size_t n_paths;
    char *format;                    /* "text" or "jsonl"; NULL = each file's extension decides */
    char *text_field;                /* the field of a .jsonl record that holds the text; NULL = "text" */
    char *split;                     /* a label recorded in dataset.json (e.g. "train"); NULL = none */
} llmc_dataset_spec;

/* How a token's router logits pick and weigh its experts (docs/spec.md "moe"). */
typedef enum { LLMC_MOE_ROUTING_SOFTMAX_TOPK = 0, LLMC_MOE_ROUTING_TOPK_SOFTMAX, LLMC_MOE_ROUTING_COUNT } llmc_moe_routing;
LLMC_API const char *llmc_moe_routing_name(llmc_moe_routing k);   /* "softmax_topk", "topk_softmax" */

/* moe: {...}: a sparse mixture of experts in place of every layer's MLP (Mixtral, Qwen2-MoE). */
typedef struct llmc_moe_spec {
    bool enabled;                    /* the spec has a moe mapping */
    int64_t num_experts;             /* required, 2 .. 4096 */
    int64_t experts_per_token;       /* required, 1 .. num_experts */
    int64_t num_shared_experts;      /* default 0: experts every token goes through (Qwen2-MoE: 1) */
    int64_t shared_expert_intermediate_size; /* 0 = dims.intermediate_size: width of the shared expert */
    bool shared_expert_gate;         /* default true: the shared expert's output times sigmoid(w x), w [1,H] */
    int64_t expert_intermediate_size;/* 0 = dims.intermediate_size */
    llmc_moe_routing routing;        /* default softmax_topk */
    bool normalize_topk;             /* default true: the k kept weights are divided by their sum */
    double aux_loss_weight;          /* default 0.02 (Mixtral's router_aux_loss_coef) */
} llmc_moe_spec;

typedef struct llmc_spec {
    char *source_path;       /* file the spec came from ("<string>" for in-memory specs) */
    char *name;              /* default: file stem */
    char *template_name;     /* default "decoder_only" */
    char *solver;            /* optional; NULL = config default */

    bool has_target_params;
    uint64_t target_params;  /* valid when has_target_params */
    llmc_dims dims;          /* pinned dims as written (set mask = keys present) */

    int64_t vocab_size;      /* required */
    int64_t context_length;  /* default 2048 */

    llmc_attention_kind attention;   /* default mha (gqa if num_kv_heads < num_heads is pinned) */
    int64_t sliding_window;          /* 0 = none; required for sliding_window attention */
    llmc_norm_kind norm;             /* default rmsnorm */
    double norm_eps;                 /* default 1e-5 */
    llmc_activation_kind activation; /* default swiglu */
    llmc_positional_kind positional; /* default rope */
    llmc_rope_params rope;
    double alibi_max_bias;           /* default 8 */
    int64_t relative_num_buckets;    /* default 32 */
    int64_t relative_max_distance;   /* default 128 */
    llmc_bias_flags bias;
    bool tie_word_embeddings;        /* default false */
    llmc_precision precision;        /* default float32 */
    llmc_quantize quantize;          /* default none */
    llmc_weights_params weights;
    llmc_tokenizer_kind tokenizer;   /* default none */
    char *tokenizer_path;            /* optional */
    char *dataset;                   /* optional, kept as written */

    llmc_constraint *constraints;
    size_t n_constraints;
    double tolerance;                /* default llmc_default_tolerance(target_params) */

    char **emit;                     /* emitter names; NULL = config default, n_emit 0 = none */
    size_t n_emit;
    llmc_emit_option *emit_options;
    size_t n_emit_options;

    struct llmc_doc *doc;            /* source tree for locations (private) */

    llmc_solver_option *solver_options; /* passed to the solver as written (solver_options: {k: v}) */
    size_t n_solver_options;

    /* target_params: compute_optimal: the budget is the dataset's tokens / 20 (Hoffmann et al.
     * 2022), filled into target_params once the dataset's tokens are counted (core/dataset.c) */
    bool target_compute_optimal;
    llmc_tokenizer_spec tok;         /* tokenizer: {...} beyond type none/byte and path */
    llmc_dataset_spec data;          /* dataset: {...}; its name is `dataset` above */
    bool qk_norm;                    /* default false: RMSNorm of each q and k head before RoPE (Qwen3, OLMo-2) */
    llmc_moe_spec moe;               /* moe: {...}; enabled false = a dense MLP */
    /* target_active_params: the budget (target_params above) counts the parameters one token reads
     * (llmc_param_count.active) instead of all of them */
    bool target_active;
    /* Gemma-2 style blocks (issue 19); the defaults keep the pre-norm blocks every other family has */
    bool sandwich_norm;              /* norm_placement: sandwich: x + norm(f(norm(x))) around attention and MLP (default pre) */
    double norm_weight_offset;       /* 0 (default) or 1: RMSNorm scales by (offset + w), w initialised to 0 when 1 (Gemma) */
    bool embedding_scale_sqrt_hidden; /* embedding_scale: sqrt_hidden: embeddings times sqrt(hidden_size) in the model dtype */
    double attention_softcap;        /* 0 = none: attention scores become cap * tanh(score / cap) before the mask */
    double final_logit_softcap;      /* 0 = none: logits become cap * tanh(logits / cap) */
    double query_pre_attn_scalar;    /* 0 = head_dim: the attention scale is query_pre_attn_scalar^-0.5 */
    int64_t sliding_window_pattern;  /* 0 = every layer alike; N >= 2: layer i is global when (i + 1) % N == 0, windowed otherwise */
    bool parallel_residual;          /* default false: h = h + attn(norm(h)) + mlp(norm(h)), one norm (Phi-2, GPT-J) */
} llmc_spec;

/* The count a budget measures: active with target_active_params, else total. */
#define LLMC_BUDGET_COUNT(spec, count) ((spec)->target_active ? (count).active : (count).total)

typedef enum { LLMC_SPEC_FORMAT_AUTO = 0, LLMC_SPEC_FORMAT_YAML, LLMC_SPEC_FORMAT_JSON } llmc_spec_format;

/* Load and validate a spec. Reports *every* problem found to d (not just the first)
 * and returns NULL if there was any error. AUTO picks JSON for *.json, else YAML. */
LLMC_API llmc_spec *llmc_spec_load_file(const char *path, llmc_diags *d);
LLMC_API llmc_spec *llmc_spec_load_string(const char *text, size_t len, const char *name,
                                          llmc_spec_format fmt, llmc_diags *d);
LLMC_API void llmc_spec_free(llmc_spec *s);

/* Location of a key path such as "rope.theta", "dims.hidden_size" or "constraints[2]";
 * the closest present ancestor if absent, else the top of the file. */
LLMC_API llmc_loc llmc_spec_loc(const llmc_spec *s, const char *key_path);
/* true if the user wrote this key path (as opposed to a default) */
LLMC_API bool llmc_spec_has_key(const llmc_spec *s, const char *key_path);

/* For a backend that does not compute the Gemma-2 style block options: an error located at each
 * one the spec sets (norm_placement: sandwich unless sandwich_ok, norm_weight_offset,
 * embedding_scale, attention_softcap, final_logit_softcap, query_pre_attn_scalar,
 * sliding_window_pattern), naming `backend` and the nearest value it computes. Returns how many. */
LLMC_API int llmc_spec_refuse_block_options(const llmc_spec *s, const char *backend, bool sandwich_ok, llmc_diags *d);

/* Option lookup for emitters: NULL if absent. */
LLMC_API const llmc_emit_option *llmc_spec_emit_option(const llmc_spec *s, const char *emitter, const char *key);

/* Option lookup for solvers: NULL if absent. */
LLMC_API const llmc_solver_option *llmc_spec_solver_option(const llmc_spec *s, const char *key);

/* The tolerance a spec without `tolerance` gets for this budget: 1% from 100M parameters up,
 * growing as 1% x sqrt(100M / target) below (2.9% at 11.9M) to at most 10% (1M and less), because
 * a layer or a step of width moves a small model's count by several percent. */
LLMC_API double llmc_default_tolerance(uint64_t target_params);

/* Normalised spec as JSON text (every default filled in, keys in schema order).
 * If solved is non-NULL its dims replace the pinned ones. Caller frees with free(). */
LLMC_API char *llmc_spec_to_json(const llmc_spec *s, const llmc_dims *solved);
/* The provenance hash every artifact carries: the SHA-256 of llmc_spec_to_json(s, solved), which is
 * OUT/spec.json byte for byte (manifest.json spec_sha256, safetensors llmc_spec_hash, GGUF
 * llmc.spec_hash, the cpu program's LLMC_SPEC_SHA256), as 64 lowercase hex digits + NUL.
 * 0, or -1 when out of memory (hex is then ""). */
LLMC_API int llmc_spec_sha256(const llmc_spec *s, const llmc_dims *solved, char hex[65]);

/* Parse sizes: "7e9", "7B", "125M", "1.5T", "350k", plain integers. Returns 0 on success. */
LLMC_API int llmc_parse_count(const char *text, uint64_t *out);
/* Parse byte sizes: "5GB", "500MB", "2GiB", plain integers. Returns 0 on success. */
LLMC_API int llmc_parse_bytes(const char *text, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
