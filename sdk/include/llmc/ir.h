/* llmc — the framework-agnostic IR: a graph of typed operations over typed tensors.
 *
 * Tensors are graph inputs, parameters (named weights), or values produced by exactly
 * one op. Shapes are up to LLMC_IR_MAX_RANK dims; negative dims are symbolic
 * (batch, sequence, source sequence) so one graph serves any batch/sequence length.
 * Parameters carry their canonical name (llama-style "model.layers.0.self_attn.q_proj.weight",
 * T5-style "encoder.block.0.layer.0.SelfAttention.q.weight"), the component and layer
 * they belong to, and their initialisation rule for the weight source.
 *
 * A backend follows the graph without parsing names (format 2, ABI 2):
 *   - every parameter has a role (llmc_param_role; a bias vector is the role's parameter with
 *     is_bias), a stack + layer (its block), and for norms which norm it is (llmc_norm_site);
 *   - every op carries a scope: the block it belongs to and what it does there (llmc_op_role),
 *     so the residual ADD of the MLP is told apart from the positional ADD;
 *   - every block (stack, layer) has a descriptor: residual wiring (sequential | parallel),
 *     norm placement (pre | post | sandwich) and which sub-layers it has;
 *   - the graph declares its structure (decoder-only | encoder-decoder): the family facts
 *     core and emitters read instead of the template's name;
 *   - op attrs carry the rest: ROPE `fraction` and `style`, ATTENTION `mask`, `window`, `scale`.
 *
 * The builder infers the output shape of each op as it is added; an inconsistent op is
 * recorded as an error on the graph (see llmc_ir_validate) and yields LLMC_TID_NONE, which
 * later ops accept and propagate, so a template can build straight through and check once.
 *
 * The parameter count computed here (64-bit, overflow checked) is the single source of
 * truth for "how many parameters does this model have". */
#ifndef LLMC_IR_H
#define LLMC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LLMC_IR_MAX_RANK 4
/* 2: parameter roles, op scopes, block descriptors and the graph's structure (ABI 2). Format 1
 * files are refused with a message to recompile the spec. */
#define LLMC_IR_FORMAT_VERSION 2

/* symbolic dims */
#define LLMC_SYM_BATCH   (-1)  /* "B" */
#define LLMC_SYM_SEQ     (-2)  /* "S": (decoder) sequence */
#define LLMC_SYM_SRC_SEQ (-3)  /* "T": encoder / source sequence */

typedef int32_t llmc_tid;     /* tensor id, index into the graph's tensor table */
#define LLMC_TID_NONE (-1)

typedef enum llmc_dtype {
    LLMC_DTYPE_F32 = 0, LLMC_DTYPE_F16, LLMC_DTYPE_BF16, LLMC_DTYPE_I32, LLMC_DTYPE_I64,
    LLMC_DTYPE_BOOL, LLMC_DTYPE_COUNT
} llmc_dtype;
LLMC_API const char *llmc_dtype_name(llmc_dtype t);   /* "f32", "f16", "bf16", "i32", "i64", "bool" */
LLMC_API int llmc_dtype_from_name(const char *name);  /* or -1 */
LLMC_API size_t llmc_dtype_size(llmc_dtype t);        /* bytes per element */

typedef enum llmc_tensor_kind {
    LLMC_TENSOR_INPUT = 0,   /* graph input (token ids, ...) */
    LLMC_TENSOR_PARAM,       /* trainable parameter */
    LLMC_TENSOR_VALUE,       /* produced by an op */
    LLMC_TENSOR_KIND_COUNT
} llmc_tensor_kind;
LLMC_API const char *llmc_tensor_kind_name(llmc_tensor_kind k);

/* Which part of the model a parameter belongs to (for the breakdown). */
typedef enum llmc_component {
    LLMC_COMP_EMBEDDING = 0, /* token embedding */
    LLMC_COMP_POSITIONAL,    /* learned positions, relative bias tables */
    LLMC_COMP_ATTENTION,     /* q/k/v/o projections (+ biases), cross-attention */
    LLMC_COMP_MLP,           /* gate/up/down (+ biases) */
    LLMC_COMP_NORM,          /* all norm weights and biases */
    LLMC_COMP_HEAD,          /* untied output head (+ bias) */
    LLMC_COMP_COUNT
} llmc_component;
LLMC_API const char *llmc_component_name(llmc_component c); /* "embedding", "positional", ... */

typedef enum llmc_stack {
    LLMC_STACK_NONE = 0,     /* not inside a layer stack */
    LLMC_STACK_DECODER,      /* decoder-only layers, or the decoder of an encoder-decoder */
    LLMC_STACK_ENCODER
} llmc_stack;
LLMC_API const char *llmc_stack_name(llmc_stack s);

typedef enum llmc_init_kind {
    LLMC_PINIT_NORMAL = 0,   /* normal(0, std) */
    LLMC_PINIT_ONES,
    LLMC_PINIT_ZEROS,
    LLMC_PINIT_KIND_COUNT
} llmc_init_kind;
LLMC_API const char *llmc_init_kind_name(llmc_init_kind k);

/* What a parameter is in the model, whatever it is called. A bias vector has the role of the
 * map or norm it belongs to and is_bias set (the bias of q_proj is ATTN_Q + is_bias). */
typedef enum llmc_param_role {
    LLMC_ROLE_NONE = 0,            /* unset: llmc_ir_validate refuses it */
    LLMC_ROLE_TOKEN_EMBEDDING,     /* [V,H] (also the tied output head) */
    LLMC_ROLE_POSITION_EMBEDDING,  /* [P,H] learned absolute positions */
    LLMC_ROLE_RELATIVE_BIAS,       /* [buckets, heads] relative attention bias table (T5) */
    LLMC_ROLE_ATTN_Q,              /* self-attention projections [out,in] */
    LLMC_ROLE_ATTN_K,
    LLMC_ROLE_ATTN_V,
    LLMC_ROLE_ATTN_QKV,            /* q, k and v fused along dim 0 */
    LLMC_ROLE_ATTN_O,
    LLMC_ROLE_CROSS_Q,             /* cross-attention (decoder reads the encoder) */
    LLMC_ROLE_CROSS_K,
    LLMC_ROLE_CROSS_V,
    LLMC_ROLE_CROSS_O,
    LLMC_ROLE_MLP_GATE,            /* gated MLPs: act(gate x) * (up x) */
    LLMC_ROLE_MLP_UP,              /* the input projection of a plain MLP */
    LLMC_ROLE_MLP_DOWN,
    LLMC_ROLE_NORM,                /* norm scale [H] (bias with is_bias); norm_site says which */
    LLMC_ROLE_OUTPUT_HEAD,         /* untied [V,H] head (bias with is_bias) */
    LLMC_ROLE_MOE_ROUTER,          /* mixture of experts: router [E,H], one logit per expert */
    LLMC_ROLE_EXPERT_GATE,         /* the E experts' gate maps stacked [E,I,H] */
    LLMC_ROLE_EXPERT_UP,           /* ... up maps [E,I,H] */
    LLMC_ROLE_EXPERT_DOWN,         /* ... down maps [E,H,I] */
    LLMC_ROLE_SHARED_EXPERT_GATE,  /* the shared expert every token goes through (Qwen2-MoE): gate [Is,H] */
    LLMC_ROLE_SHARED_EXPERT_UP,    /* ... up [Is,H] */
    LLMC_ROLE_SHARED_EXPERT_DOWN,  /* ... down [H,Is] */
    LLMC_ROLE_SHARED_EXPERT_SCALE, /* [1,H]: sigmoid(w x) scales the shared expert's output (HF's shared_expert_gate) */
    LLMC_ROLE_COUNT
} llmc_param_role;
/* "token_embedding", "position_embedding", "relative_bias", "attn_q", ..., "output_head" */
LLMC_API const char *llmc_param_role_name(llmc_param_role r);
LLMC_API int llmc_param_role_from_name(const char *name);   /* or -1 */

/* Which norm a NORM parameter is. */
typedef enum llmc_norm_site {
    LLMC_NORM_SITE_NONE = 0,       /* not a norm parameter */
    LLMC_NORM_SITE_ATTN_INPUT,     /* normalises the input of self-attention (pre-norm) */
    LLMC_NORM_SITE_CROSS_ATTN_INPUT,
    LLMC_NORM_SITE_MLP_INPUT,
    LLMC_NORM_SITE_BLOCK_INPUT,    /* one norm whose output both attention and MLP read (parallel) */
    LLMC_NORM_SITE_POST_ATTN,      /* normalises the attention output or the residual after it (post, sandwich) */
    LLMC_NORM_SITE_POST_CROSS_ATTN,
    LLMC_NORM_SITE_POST_MLP,
    LLMC_NORM_SITE_EMBEDDING,      /* right after the embedding */
    LLMC_NORM_SITE_FINAL,          /* after the last block of a stack */
    LLMC_NORM_SITE_ATTN_Q,         /* per query head [head_dim], after the projection, before RoPE (QK-norm) */
    LLMC_NORM_SITE_ATTN_K,         /* per key head [head_dim], likewise */
    LLMC_NORM_SITE_COUNT
} llmc_norm_site;
/* "none", "attn_input", "cross_attn_input", "mlp_input", "block_input", "post_attn", ... */
LLMC_API const char *llmc_norm_site_name(llmc_norm_site n);
LLMC_API int llmc_norm_site_from_name(const char *name);    /* or -1 */

/* What an op does inside its block (its scope). */
typedef enum llmc_op_role {
    LLMC_OPROLE_NONE = 0,          /* unscoped (graphs built by hand) */
    LLMC_OPROLE_EMBEDDING,         /* token embedding lookup */
    LLMC_OPROLE_POSITIONS,         /* absolute / relative positions, and their add */
    LLMC_OPROLE_NORM,
    LLMC_OPROLE_SELF_ATTENTION,    /* projections, heads, rotary, attention, output projection */
    LLMC_OPROLE_CROSS_ATTENTION,
    LLMC_OPROLE_MLP,
    LLMC_OPROLE_RESIDUAL,          /* adds a sub-layer's output into the residual stream */
    LLMC_OPROLE_HEAD,              /* output head (and its pre-scale) */
    LLMC_OPROLE_COUNT
} llmc_op_role;
LLMC_API const char *llmc_op_role_name(llmc_op_role r);     /* "none", "embedding", ... */
LLMC_API int llmc_op_role_from_name(const char *name);      /* or -1 */

/* Residual wiring of a block. */
typedef enum llmc_residual {
    LLMC_RESIDUAL_SEQUENTIAL = 0,  /* x += attn(.); x += mlp(.)  (LLaMA, GPT-2, T5) */
    LLMC_RESIDUAL_PARALLEL,        /* x += attn(n) + mlp(n')     (GPT-J, GPT-NeoX) */
    LLMC_RESIDUAL_COUNT
} llmc_residual;
LLMC_API const char *llmc_residual_name(llmc_residual r);   /* "sequential", "parallel" */
LLMC_API int llmc_residual_from_name(const char *name);

/* Where a block's norms sit relative to its sub-layers. */
typedef enum llmc_norm_placement {
    LLMC_NORM_PLACEMENT_PRE = 0,   /* x + f(norm(x)) */
    LLMC_NORM_PLACEMENT_POST,      /* norm(x + f(x)) (original Transformer, BERT) */
    LLMC_NORM_PLACEMENT_SANDWICH,  /* x + norm(f(norm(x))) (Gemma 2) */
    LLMC_NORM_PLACEMENT_NONE,      /* no norms in the block */
    LLMC_NORM_PLACEMENT_COUNT
} llmc_norm_placement;
LLMC_API const char *llmc_norm_placement_name(llmc_norm_placement p); /* "pre", "post", "sandwich", "none" */
LLMC_API int llmc_norm_placement_from_name(const char *name);

/* Per-block descriptor: one for every (stack, layer) that has parameters or scoped ops. */
typedef struct llmc_ir_block {
    llmc_stack stack;              /* DECODER or ENCODER */
    int layer;                     /* >= 0 */
    llmc_residual residual;
    llmc_norm_placement norm_placement;
    bool self_attention, cross_attention, mlp;   /* which sub-layers it has */
} llmc_ir_block;

/* The graph's structure: the family fact templates declare and core and emitters read. */
typedef enum llmc_ir_structure {
    LLMC_STRUCTURE_UNSET = 0,      /* llmc_ir_validate refuses a graph without one */
    LLMC_STRUCTURE_DECODER_ONLY,   /* input_ids -> logits through one decoder stack */
    LLMC_STRUCTURE_ENCODER_DECODER,/* input_ids -> encoder; decoder_input_ids + encoder -> logits */
    LLMC_STRUCTURE_COUNT
} llmc_ir_structure;
LLMC_API const char *llmc_ir_structure_name(llmc_ir_structure s); /* "unset", "decoder_only", "encoder_decoder" */
LLMC_API int llmc_ir_structure_from_name(const char *name);

typedef struct llmc_param_init {
    llmc_init_kind kind;
    double std;              /* for NORMAL */
} llmc_param_init;

typedef enum llmc_op_type {
    LLMC_OP_EMBEDDING = 0,   /* (ids[..] int, table[V,H]) -> [..,H] */
    LLMC_OP_LINEAR,          /* (x[..,in], w[out,in], b[out]?) -> [..,out] */
    LLMC_OP_RMSNORM,         /* (x[..,H], w[H]?) attrs eps, weight_offset (default 0; 1: scales by 1 + w, Gemma) -> x shape */
    LLMC_OP_LAYERNORM,       /* (x[..,H], w[H]?, b[H]?) attrs eps -> x shape */
    LLMC_OP_RESHAPE,         /* (x) attrs shape (ints, symbolic allowed) -> shape; numel must agree */
    LLMC_OP_ROPE,            /* (x[B,S,n,d]) attrs theta, scaling, factor, ..., fraction (rotated share of d,
                              * default 1; the rotated dims are even), style ("neox": halves, default;
                              * "gptj": interleaved pairs) -> x shape */
    LLMC_OP_ALIBI,           /* (q[B,S,n,d], k[B,T,m,d]) attrs max_bias -> bias[n,S,T] */
    LLMC_OP_RELATIVE_BIAS,   /* (table[buckets,n]) attrs num_buckets, max_distance, bidirectional, q_len_sym, k_len_sym -> bias[n,Q,K] */
    LLMC_OP_ATTENTION,       /* (q[B,S,n,d], k[B,T,m,d], v[B,T,m,dv], bias[n,S,T]?) attrs mask (none|causal|sliding_window), window, scale,
                              * softcap (0/absent: none; else scores = softcap * tanh(scale * q.k / softcap) before bias and mask) -> [B,S,n,dv]; n % m == 0 */
    LLMC_OP_SWIGLU,          /* (gate, up) same shape -> silu(gate) * up */
    LLMC_OP_GEGLU,           /* (gate, up) attrs approximate (0/1) -> gelu(gate) * up */
    LLMC_OP_ACTIVATION,      /* (x) attrs fn (gelu|gelu_tanh|relu|silu|relu_squared|sigmoid) */
    LLMC_OP_ADD,             /* (a, b) broadcast-compatible -> broadcast shape */
    LLMC_OP_MUL,             /* (a, b) broadcast-compatible */
    LLMC_OP_SCALE,           /* (x) attrs factor -> x shape */
    LLMC_OP_MATMUL,          /* (a[..,m,k], b[..,k,n]) -> [..,m,n] */
    LLMC_OP_SOFTMAX,         /* (x) attrs axis -> x shape */
    LLMC_OP_POSITIONS_LEARNED,    /* (ids[B,S], table[P,H]) -> [B,S,H] rows 0..S-1 of table */
    LLMC_OP_POSITIONS_SINUSOIDAL, /* (ids[B,S]) attrs dim -> [B,S,dim] */
    LLMC_OP_MOE_ROUTE,       /* (logits[..,E]) attrs experts_per_token k, routing (softmax_topk|topk_softmax),
                              * normalize (0/1) -> weights [..,E]: each token's k kept weights, 0 elsewhere */
    LLMC_OP_MOE_EXPERTS,     /* (x[..,H], weights[..,E], gate[E,I,H], up[E,I,H], down[E,H,I]) attrs activation
                              * (swiglu), experts_per_token -> [..,H] = sum over e with weight != 0 of
                              * weights[e] * down[e] (silu(gate[e] x) * up[e] x) */
    LLMC_OP_SOFTCAP,         /* (x) attrs cap -> cap * tanh(x / cap) (Gemma-2's final logits) */
    LLMC_OP_TYPE_COUNT
} llmc_op_type;
LLMC_API const char *llmc_op_type_name(llmc_op_type t);   /* "embedding", "linear", ... */
LLMC_API int llmc_op_type_from_name(const char *name);    /* or -1 */

typedef enum llmc_attr_type { LLMC_ATTR_INT = 0, LLMC_ATTR_FLOAT, LLMC_ATTR_STRING, LLMC_ATTR_INTS } llmc_attr_type;

#define LLMC_ATTR_MAX_INTS 8
typedef struct llmc_attr {
    const char *key;
    llmc_attr_type type;
    int64_t i;                 /* INT */
    double f;                  /* FLOAT */
    const char *s;             /* STRING */
    int64_t ints[LLMC_ATTR_MAX_INTS]; int n_ints; /* INTS */
} llmc_attr;

/* attr constructors for builder calls */
static inline llmc_attr llmc_attr_int(const char *k, int64_t v) { llmc_attr a = {0}; a.key = k; a.type = LLMC_ATTR_INT; a.i = v; return a; }
static inline llmc_attr llmc_attr_float(const char *k, double v) { llmc_attr a = {0}; a.key = k; a.type = LLMC_ATTR_FLOAT; a.f = v; return a; }
static inline llmc_attr llmc_attr_str(const char *k, const char *v) { llmc_attr a = {0}; a.key = k; a.type = LLMC_ATTR_STRING; a.s = v; return a; }

typedef struct llmc_tensor_info {
    const char *name;
    llmc_tensor_kind kind;
    llmc_dtype dtype;
    int rank;
    int64_t shape[LLMC_IR_MAX_RANK];
    int32_t producer;        /* op index for VALUE tensors, -1 otherwise */
    /* parameters only: */
    llmc_component component;
    llmc_stack stack;
    int layer;               /* layer index within its stack, -1 if none */
    llmc_param_init init;
    llmc_param_role role;    /* never NONE in a validated graph */
    bool is_bias;            /* the bias vector of `role` */
    llmc_norm_site norm_site;/* which norm, for role NORM; NONE otherwise */
} llmc_tensor_info;

typedef struct llmc_op_info {
    llmc_op_type type;
    const char *name;
    int n_inputs;
    const llmc_tid *inputs;  /* LLMC_TID_NONE marks an absent optional input */
    int n_outputs;
    const llmc_tid *outputs;
    int n_attrs;
    const llmc_attr *attrs;  /* strings owned by the graph */
    /* scope: the block the op belongs to (stack NONE, layer -1 outside blocks) and its role */
    llmc_stack stack;
    int layer;
    llmc_op_role role;
} llmc_op_info;

typedef struct llmc_ir llmc_ir;

LLMC_API llmc_ir *llmc_ir_create(void);
LLMC_API void llmc_ir_free(llmc_ir *ir);

/* metadata key/value strings carried into ir.json (template name, spec name, ...) */
LLMC_API int llmc_ir_set_meta(llmc_ir *ir, const char *key, const char *value);
LLMC_API const char *llmc_ir_get_meta(const llmc_ir *ir, const char *key);

/* ---- building ----------------------------------------------------------------------- */
LLMC_API llmc_tid llmc_ir_input(llmc_ir *ir, const char *name, llmc_dtype dt, int rank, const int64_t *shape);
typedef struct llmc_param_desc {
    const char *name;
    llmc_dtype dtype;
    int rank;
    int64_t shape[LLMC_IR_MAX_RANK];
    llmc_component component;
    llmc_stack stack;
    int layer;
    llmc_param_init init;
    llmc_param_role role;    /* required (ABI 2) */
    bool is_bias;
    llmc_norm_site norm_site;/* required for role NORM, NONE otherwise */
} llmc_param_desc;
LLMC_API llmc_tid llmc_ir_param(llmc_ir *ir, const llmc_param_desc *p);
/* Add an op with shape/dtype inference; returns its (first) output tensor, named
 * "<op name>:0", or LLMC_TID_NONE after recording an error on the graph. */
LLMC_API llmc_tid llmc_ir_op(llmc_ir *ir, llmc_op_type type, const char *name,
                             const llmc_tid *inputs, int n_inputs,
                             const llmc_attr *attrs, int n_attrs);
/* Low level: declare a VALUE tensor without producer, and an op writing given outputs.
 * Used by the JSON reader and by tests (a graph built this way may contain cycles,
 * which llmc_ir_validate reports). */
LLMC_API llmc_tid llmc_ir_value(llmc_ir *ir, const char *name, llmc_dtype dt, int rank, const int64_t *shape);
LLMC_API int llmc_ir_op_raw(llmc_ir *ir, llmc_op_type type, const char *name,
                            const llmc_tid *inputs, int n_inputs, const llmc_tid *outputs, int n_outputs,
                            const llmc_attr *attrs, int n_attrs);
LLMC_API int llmc_ir_mark_output(llmc_ir *ir, llmc_tid t);
/* The scope every op added from now on gets (until the next call): its block (stack NONE with
 * layer -1 outside blocks) and role. A fresh graph's scope is (NONE, -1, NONE). */
LLMC_API int llmc_ir_set_scope(llmc_ir *ir, llmc_stack stack, int layer, llmc_op_role role);
/* Declare a block; one per (stack, layer). */
LLMC_API int llmc_ir_add_block(llmc_ir *ir, const llmc_ir_block *b);
LLMC_API int llmc_ir_set_structure(llmc_ir *ir, llmc_ir_structure s);

/* ---- reading -------------------------------------------------------------------------- */
LLMC_API size_t llmc_ir_num_tensors(const llmc_ir *ir);
LLMC_API const llmc_tensor_info *llmc_ir_tensor(const llmc_ir *ir, llmc_tid t);
LLMC_API llmc_tid llmc_ir_find(const llmc_ir *ir, const char *name);   /* or LLMC_TID_NONE */
LLMC_API size_t llmc_ir_num_ops(const llmc_ir *ir);
LLMC_API const llmc_op_info *llmc_ir_op_at(const llmc_ir *ir, size_t i);
LLMC_API size_t llmc_ir_num_outputs(const llmc_ir *ir);
LLMC_API llmc_tid llmc_ir_output(const llmc_ir *ir, size_t i);
LLMC_API const llmc_attr *llmc_op_attr(const llmc_op_info *op, const char *key); /* or NULL */
LLMC_API size_t llmc_ir_num_blocks(const llmc_ir *ir);
LLMC_API const llmc_ir_block *llmc_ir_block_at(const llmc_ir *ir, size_t i);
LLMC_API const llmc_ir_block *llmc_ir_find_block(const llmc_ir *ir, llmc_stack stack, int layer); /* or NULL */
LLMC_API llmc_ir_structure llmc_ir_get_structure(const llmc_ir *ir);
/* The first block that is not sequential with pre-norm (or no norm), or NULL when every block is:
 * what a backend that computes only x += f(norm(x)) blocks refuses, naming that block. */
LLMC_API const llmc_ir_block *llmc_ir_first_block_not_pre_sequential(const llmc_ir *ir);
/* The first parameter with this role (and bias flag) in (stack, layer); LLMC_TID_NONE if none.
 * For norms, site picks which (LLMC_NORM_SITE_NONE: any). */
LLMC_API llmc_tid llmc_ir_find_param(const llmc_ir *ir, llmc_param_role role, bool is_bias, llmc_stack stack,
                                     int layer, llmc_norm_site site);

/* true if the graph has a sparse mixture of experts (a MOE_EXPERTS op): what backends that
 * compute only dense MLPs refuse, at the spec's `moe` key */
LLMC_API bool llmc_ir_has_moe(const llmc_ir *ir);

/* numel of a parameter (all dims concrete); 0 and an error if it overflows */
LLMC_API int llmc_tensor_numel(const llmc_tensor_info *t, uint64_t *out);

/* ---- checking ------------------------------------------------------------------------- */
/* Builder errors, unique names, dangling ids, a producer per VALUE tensor, shape and
 * dtype inference re-run for every op in topological order, cycles; a structure; a role on
 * every parameter consistent with its component, shape and block; a block descriptor for
 * every block parameters or ops name. Returns 0 if valid. */
LLMC_API int llmc_ir_validate(const llmc_ir *ir, llmc_diags *d);
/* Topological order of ops (Kahn; ties by insertion order). order must hold num_ops
 * entries. A cycle is an error naming an op on it; returns non-zero. */
LLMC_API int llmc_ir_topo_order(const llmc_ir *ir, int32_t *order, llmc_diags *d);

/* ---- counting (the single source of truth) ------------------------------------------- */
typedef struct llmc_param_count {
    uint64_t total;
    uint64_t component[LLMC_COMP_COUNT];
    /* what one token's forward pass reads: total minus, in every MOE_EXPERTS op, the share
     * (E - k) / E of its expert weights; == total for a model without experts */
    uint64_t active;
} llmc_param_count;
LLMC_API int llmc_ir_count_params(const llmc_ir *ir, llmc_param_count *out, llmc_diags *d);
/* parameters of one layer of one stack (all components), for the per-layer table */
LLMC_API int llmc_ir_count_layer(const llmc_ir *ir, llmc_stack stack, int layer, llmc_param_count *out, llmc_diags *d);

/* ---- facts backends read off a built graph ------------------------------------------- */
/* Code-generating emitters write one attention scale, one window and one head pre-scale
 * for the whole model; these are what the IR says (so the emitters never re-derive them
 * from the spec, and an IR they cannot express is refused instead of miscompiled). */
typedef struct llmc_ir_facts {
    double attention_scale;  /* every ATTENTION op's `scale` (1/sqrt(head dim) where absent) */
    int64_t sliding_window;  /* `window` of sliding_window masks, 0 when no op has one */
    bool has_output_scale;   /* a SCALE op feeds the output head (T5 with tied embeddings) */
    double output_scale;     /* its factor, 1 otherwise */
} llmc_ir_facts;
/* Errors (naming the ops) when attention ops disagree on the scale or the window, or when
 * the graph has no attention op. */
LLMC_API int llmc_ir_read_facts(const llmc_ir *ir, llmc_ir_facts *out, llmc_diags *d);
/* An INT or FLOAT attr as a double. */
LLMC_API double llmc_attr_number(const llmc_attr *a);

/* ---- serialising ---------------------------------------------------------------------- */
/* ir.json text (caller frees). Round trip is exact: to_json(from_json(to_json(g))) == to_json(g). */
LLMC_API char *llmc_ir_to_json(const llmc_ir *ir);
LLMC_API llmc_ir *llmc_ir_from_json(const char *text, size_t len, const char *source_name, llmc_diags *d);
LLMC_API llmc_ir *llmc_ir_load_json_file(const char *path, llmc_diags *d);
/* Graphviz DOT */
LLMC_API int llmc_ir_write_dot(const llmc_ir *ir, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
