/* Code shared by the two template plugins (decoder_only, encoder_decoder): dimension
 * derivation, the sizing-problem plan, checked parameter arithmetic, spec checks common to
 * both, and IR building blocks (attention, MLP, head) with the initialisation rules of
 * docs/templates.md, over the SDK's builder (llmc/ir_build.h: parameters, linears, norms, the
 * checked counter). Compiled into each template .so (see plugin.cmake there);
 * nothing here is exported. */
#ifndef LLMC_TMPL_COMMON_H
#define LLMC_TMPL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/ir_build.h"
#include "llmc/llmc.h"

/* ---- dimension derivation --------------------------------------------------------------- */

/* Derive num_heads / head_dim from each other and hidden_size, num_kv_heads from the
 * attention kind and intermediate_size by convention; never overwrites a given dim.
 * Layer counts are the template's business. */
void tc_derive_common(const llmc_spec *s, llmc_dims *d);

/* intermediate_size convention: gated (swiglu/geglu) 256 * ceil(8H / 768), the LLaMA rule
 * (8H/3 rounded up to a multiple of 256); plain 4H. */
int64_t tc_intermediate_convention(const llmc_spec *s, int64_t hidden);

/* true if every dim in `need` (bit mask of llmc_dim_id) is set and >= 1 */
bool tc_dims_complete(const llmc_dims *d, uint32_t need);
#define TC_BIT(id) (1u << (id))
#define TC_NEED_SHAPE                                                                                         \
    (TC_BIT(LLMC_DIM_HIDDEN_SIZE) | TC_BIT(LLMC_DIM_INTERMEDIATE_SIZE) | TC_BIT(LLMC_DIM_NUM_HEADS) |        \
     TC_BIT(LLMC_DIM_NUM_KV_HEADS) | TC_BIT(LLMC_DIM_HEAD_DIM))

/* Names of the dims that are missing after derivation, for "missing ..." messages
 * ("num_layers, num_heads (or head_dim)"). `need` as above plus layer dims. */
void tc_missing_text(const llmc_spec *s, const llmc_dims *d, uint32_t need, char *buf, size_t len);

/* ---- the sizing problem ---------------------------------------------------------------- */

#define TC_PLAN_MAX_VARS 8
#define TC_PLAN_MAX_CONS 16
typedef struct tc_var {
    llmc_dim_id dim;
    int64_t min, max, multiple_of;  /* range form (n_values == 0) */
    size_t n_values;
    int64_t values[8];
} tc_var;

typedef struct tc_plan {
    tc_var vars[TC_PLAN_MAX_VARS];
    size_t n_vars;
    char cons[TC_PLAN_MAX_CONS][200];
    size_t n_cons;
} tc_plan;

void tc_plan_range(tc_plan *p, llmc_dim_id dim, int64_t min, int64_t max, int64_t multiple_of);
void tc_plan_values(tc_plan *p, llmc_dim_id dim, const int64_t *values, size_t n);
void tc_plan_constraint(tc_plan *p, const char *fmt, ...) LLMC_PRINTF(2, 3);
/* width, heads, kv heads and MLP variables and their built-in constraints (both templates) */
void tc_plan_common(const llmc_spec *s, tc_plan *p);
/* hand the plan to the problem; origin = template name */
int tc_plan_apply(const tc_plan *p, llmc_problem *prob, const char *origin);

/* ---- checked parameter arithmetic ----------------------------------------------------------- */

/* The SDK's overflow-checked counter (llmc/ir_build.h); tc_* are its functions under the
 * names the templates use. */
typedef llmc_irb_counter tc_count;

uint64_t tc_mul(tc_count *k, uint64_t a, uint64_t b);
/* component += a * b */
void tc_add(tc_count *k, llmc_component comp, uint64_t a, uint64_t b);
/* total += times * part (component by component) */
void tc_add_scaled(tc_count *k, const tc_count *part, uint64_t times);
/* total = sum of components; 0 on success, non-zero on overflow */
int tc_finish(tc_count *k, llmc_param_count *out);

/* Per-block counts (one layer's worth), shared by both templates. */
typedef struct tc_geom {
    int64_t H, I, nh, nkv, hd, V, P;   /* P = context_length */
} tc_geom;
bool tc_geom_from_dims(const llmc_spec *s, const llmc_dims *d, tc_geom *g);
void tc_count_attention(const llmc_spec *s, const tc_geom *g, tc_count *k);   /* q, k, v, o (+ biases) */
void tc_count_mlp(const llmc_spec *s, const tc_geom *g, tc_count *k);         /* gate/up/down (+ biases) */
void tc_count_norm(const llmc_spec *s, const tc_geom *g, tc_count *k);        /* one norm */
/* moe: the width of one expert's MLP (moe.expert_intermediate_size, else dims.intermediate_size) */
int64_t tc_moe_intermediate(const llmc_spec *s, const tc_geom *g);
/* moe: the width of the shared expert (moe.shared_expert_intermediate_size, else dims.intermediate_size) */
int64_t tc_shared_expert_intermediate(const llmc_spec *s, const tc_geom *g);
/* moe: router [E,H] and E gated experts [I,H] x 2 + [H,I], with the E - k experts a token skips
 * counted as inactive; with a shared expert, its [Is,H] x 2 + [H,Is] and its scale [1,H] (active) */
void tc_count_moe(const llmc_spec *s, const tc_geom *g, tc_count *k);
/* moe keys a template with sparse experts does not support yet: errors at moe.* (swiglu experts
 * without biases, at most one shared expert, gated) */
void tc_check_moe(const llmc_spec *s, llmc_diags *d);

/* ---- spec checks shared by both templates --------------------------------------------------- */

/* Checks on explicit (completed) dims: divisibility that the spec loader could not see
 * because a dim is derived, sinusoidal width, user constraints over derived dims, count
 * overflow. count_fn is the template's closed form. */
typedef int (*tc_count_fn)(const llmc_spec *spec, const llmc_dims *dims, llmc_param_count *out);
void tc_check_derived(const llmc_spec *s, const llmc_dims *full, const char *tmpl, tc_count_fn count_fn,
                      llmc_diags *d);
/* target_params next to dims that fix every dimension (the solver has nothing to choose; this is
 * what the normalised OUT/spec.json of a solved compile looks like): the budget is checked
 * instead of solved. The count of `full` must lie within tolerance of target_params, as a
 * solver's answer must; otherwise an error at target_params gives the count and the gap. */
void tc_check_fixed_budget(const llmc_spec *s, const llmc_dims *full, const char *tmpl, tc_count_fn count_fn,
                           llmc_diags *d);
/* Checks of pinned dims that hold in both modes (hidden % head_dim when num_heads is derived, ...). */
void tc_check_pins(const llmc_spec *s, llmc_diags *d);
/* error at key with the spec's location */
void tc_err(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
void tc_warn(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);

/* ---- IR building ---------------------------------------------------------------------------- */

/* roles for initialisation (docs/templates.md, "Initialisation") */
typedef enum tc_role {
    TC_ROLE_EMBED,      /* token embedding / shared */
    TC_ROLE_POSITIONS,  /* learned position table */
    TC_ROLE_HEAD,       /* untied lm_head */
    TC_ROLE_Q, TC_ROLE_K, TC_ROLE_V, TC_ROLE_O,
    TC_ROLE_MLP_IN,     /* gate/up, wi/wi_0/wi_1 */
    TC_ROLE_MLP_OUT,    /* down, wo */
    TC_ROLE_REL_BIAS,   /* T5 relative attention bias table */
    TC_ROLE_NORM,       /* norm weight: ones */
    TC_ROLE_BIAS        /* any bias vector: zeros */
} tc_role;

typedef struct tc_builder {
    llmc_ir *ir;
    const llmc_spec *s;
    tc_geom g;
    llmc_dtype dt;
    int64_t stack_layers;   /* layers in the stack being built (scaled_normal) */
} tc_builder;

llmc_dtype tc_dtype(const llmc_spec *s);
llmc_param_init tc_init(const tc_builder *b, tc_role role);
/* A parameter: init from `init`, IR role `role` (a bias when init is TC_ROLE_BIAS), norm site
 * for norm parameters (LLMC_NORM_SITE_NONE otherwise). */
llmc_tid tc_param(tc_builder *b, const char *name, int rank, int64_t d0, int64_t d1, llmc_component comp,
                  llmc_stack st, int layer, tc_role init, llmc_param_role role, llmc_norm_site site);
/* Sets the scope of the ops added next (llmc_ir_set_scope). */
void tc_scope(tc_builder *b, llmc_stack st, int layer, llmc_op_role role);
/* The block descriptor of a pre-norm block (placement none when the spec has no norm). */
void tc_block(tc_builder *b, llmc_stack st, int layer, llmc_residual residual, bool cross_attention);
/* x + y, scoped as the residual add of (st, layer) */
llmc_tid tc_residual(tc_builder *b, const char *name, llmc_stack st, int layer, llmc_tid x, llmc_tid y);
/* The output head: lm_head.weight (or tied_weight when the spec ties embeddings), the optional
 * lm_head.bias, producing the graph output "logits" [B,S,V] (marked as the output). */
void tc_head(tc_builder *b, llmc_tid x, llmc_tid tied_weight);
/* ... and its count: lm_head.weight unless tied, lm_head.bias if bias.lm_head */
void tc_count_head(const llmc_spec *s, const tc_geom *g, tc_count *k);
llmc_tid tc_op(tc_builder *b, llmc_op_type type, const char *name, const llmc_tid *in, int n_in,
               const llmc_attr *attrs, int n_attrs);
/* x @ W^T (+ b): params "<prefix>.weight" [out,in] and "<prefix>.bias" [out]; op "<prefix>" */
llmc_tid tc_linear(tc_builder *b, llmc_tid x, const char *prefix, int64_t out, int64_t in, bool bias,
                   llmc_component comp, llmc_stack st, int layer, tc_role init, llmc_param_role role);
/* the spec's norm over the last dim: "<prefix>.weight" (+ ".bias" for layernorm with bias.norm);
 * no_norm returns x unchanged */
llmc_tid tc_norm(tc_builder *b, llmc_tid x, const char *prefix, llmc_stack st, int layer, llmc_norm_site site);
/* RESHAPE to [B, seq, a] or [B, seq, a, c] (c = 0: rank 3) */
llmc_tid tc_reshape(tc_builder *b, llmc_tid x, const char *name, int64_t seq, int64_t a, int64_t c);
llmc_tid tc_add_op(tc_builder *b, const char *name, llmc_tid x, llmc_tid y);

typedef struct tc_attn {
    const char *op_prefix;          /* "model.layers.3.self_attn" */
    const char *q, *k, *v, *o;      /* parameter prefixes */
    llmc_tid x_q, x_kv;             /* normed inputs [B,qs,H] and [B,ks,H] */
    int64_t q_seq, kv_seq;          /* LLMC_SYM_SEQ / LLMC_SYM_SRC_SEQ */
    bool rope, alibi;
    llmc_tid bias;                  /* relative position bias [n,qs,ks] or LLMC_TID_NONE */
    const char *mask;               /* "none", "causal", "sliding_window" */
    double scale;
    llmc_stack stack;
    int layer;
    bool cross;                     /* cross-attention: roles cross_q/k/v/o */
    const char *q_norm, *k_norm;    /* QK-norm: per-head RMSNorm prefixes ("...self_attn.q_norm"), or NULL */
} tc_attn;
llmc_tid tc_attention(tc_builder *b, const tc_attn *a);

typedef struct tc_mlp {
    const char *op_prefix;          /* "model.layers.3.mlp" */
    const char *gate, *up, *down;   /* parameter prefixes; gate unused for plain MLPs */
    llmc_tid x;
    llmc_stack stack;
    int layer;
} tc_mlp;
llmc_tid tc_mlp_block(tc_builder *b, const tc_mlp *m);

/* Sparse mixture of experts in place of the MLP (Mixtral): router "<op_prefix>.gate.weight" [E,H]
 * (role moe_router), LINEAR -> MOE_ROUTE "<op_prefix>.route" -> MOE_EXPERTS "<op_prefix>.experts"
 * over "<op_prefix>.experts.{gate,up,down}_proj.weight" stacked [E,I,H], [E,I,H], [E,H,I].
 * With moe.num_shared_experts 1 (Qwen2-MoE), plus "<op_prefix>.shared_expert.{gate,up,down}_proj"
 * (a SwiGLU MLP, roles shared_expert_*) times sigmoid("<op_prefix>.shared_expert_gate" x) [1,H]
 * (role shared_expert_scale): ADD "<op_prefix>.shared_sum" of the routed and the scaled shared output. */
llmc_tid tc_moe_block(tc_builder *b, const tc_mlp *m);

/* the ROPE attrs of the spec (theta and scaling), into attrs[]; returns how many */
int tc_rope_attrs(const llmc_spec *s, llmc_attr *attrs);

#endif
