/* llmc SDK — building blocks for a template's build_ir and count: the pieces every template
 * otherwise writes again over llmc/ir.h.
 *
 *   - parameters with their role, norm site, component, block and init in one call;
 *   - a linear (+ bias), the spec's norm (RMSNorm or LayerNorm with its weight and bias), a
 *     reshape to [B, seq, a(, c)], an add, a residual add in its scope, and the block
 *     descriptor of a standard block (self-attention + MLP);
 *   - an overflow-checked parameter counter for count(), component by component.
 *
 * The builder holds no state besides what llmc_irb_init sets: the graph, the spec (its norm
 * kind, norm_eps and bias.norm) and the parameters' dtype (the spec's precision). Errors are
 * recorded on the graph like every llmc_ir_* call (LLMC_TID_NONE propagates; the pipeline runs
 * llmc_ir_validate), so a template builds straight through.
 *
 *     llmc_irb b;
 *     llmc_irb_init(&b, ir, spec);
 *     llmc_tid n = llmc_irb_norm(&b, h, "model.layers.0.ln", H, LLMC_STACK_DECODER, 0, LLMC_NORM_SITE_BLOCK_INPUT);
 *     llmc_irb_scope(&b, LLMC_STACK_DECODER, 0, LLMC_OPROLE_MLP);
 *     llmc_tid up = llmc_irb_linear(&b, n, "model.layers.0.mlp.up", I, H, true, LLMC_COMP_MLP,
 *                                   LLMC_STACK_DECODER, 0, llmc_pinit_normal(0.02), LLMC_ROLE_MLP_UP);
 *
 * Names: a linear or norm called "<prefix>" owns the parameters "<prefix>.weight" and
 * "<prefix>.bias" and is itself the op "<prefix>". */
#ifndef LLMC_IR_BUILD_H
#define LLMC_IR_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/export.h"
#include "llmc/ir.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_irb {
    llmc_ir *ir;
    const llmc_spec *spec;   /* norm kind, norm_eps, bias.norm */
    llmc_dtype dtype;        /* of every parameter added: f32, f16 or bf16 after the spec's precision */
} llmc_irb;

/* Sets b up for ir and spec (dtype from spec->precision). */
LLMC_API void llmc_irb_init(llmc_irb *b, llmc_ir *ir, const llmc_spec *spec);

static inline llmc_param_init llmc_pinit_normal(double std) { llmc_param_init i = {LLMC_PINIT_NORMAL, std}; return i; }

/* A parameter [rows, cols] (cols = 0: a vector [rows]) of the builder's dtype. Outside a stack
 * (LLMC_STACK_NONE) its layer is -1 whatever `layer` says. is_bias marks the bias vector of
 * `role`; site says which norm a LLMC_ROLE_NORM parameter is (LLMC_NORM_SITE_NONE otherwise). */
LLMC_API llmc_tid llmc_irb_param(const llmc_irb *b, const char *name, int64_t rows, int64_t cols, llmc_component comp, llmc_stack stack, int layer, llmc_param_init init, llmc_param_role role, bool is_bias, llmc_norm_site site);

/* The scope of the ops added next (llmc_ir_set_scope; layer -1 outside a stack). */
LLMC_API int llmc_irb_scope(const llmc_irb *b, llmc_stack stack, int layer, llmc_op_role role);

/* The descriptor of a block with self-attention and an MLP (and cross-attention if asked). */
LLMC_API int llmc_irb_block(const llmc_irb *b, llmc_stack stack, int layer, llmc_residual residual, llmc_norm_placement placement, bool cross_attention);

/* x W^T (+ bias): "<prefix>.weight" [out, in] with `init`, with bias "<prefix>.bias" [out]
 * (zeros, is_bias), both with `role`; op LINEAR "<prefix>". Scope: the caller's. */
LLMC_API llmc_tid llmc_irb_linear(const llmc_irb *b, llmc_tid x, const char *prefix, int64_t out, int64_t in, bool bias, llmc_component comp, llmc_stack stack, int layer, llmc_param_init init, llmc_param_role role);

/* The spec's norm over the last dim (width wide), scoped LLMC_OPROLE_NORM: RMSNORM with
 * "<prefix>.weight" (ones; no bias whatever bias.norm says), or LAYERNORM with it and, with
 * bias.norm, "<prefix>.bias" (zeros); attr eps = norm_eps. norm: no_norm adds nothing and
 * returns x. */
LLMC_API llmc_tid llmc_irb_norm(const llmc_irb *b, llmc_tid x, const char *prefix, int64_t width, llmc_stack stack, int layer, llmc_norm_site site);

/* RESHAPE x to [B, seq, a] or, with c > 0, [B, seq, a, c] (seq: LLMC_SYM_SEQ, LLMC_SYM_SRC_SEQ). */
LLMC_API llmc_tid llmc_irb_reshape(const llmc_irb *b, llmc_tid x, const char *name, int64_t seq, int64_t a, int64_t c);

/* ADD x + y in the current scope. */
LLMC_API llmc_tid llmc_irb_add(const llmc_irb *b, const char *name, llmc_tid x, llmc_tid y);

/* x + y as the residual add of block (stack, layer): scope LLMC_OPROLE_RESIDUAL, then ADD. */
LLMC_API llmc_tid llmc_irb_residual(const llmc_irb *b, const char *name, llmc_stack stack, int layer, llmc_tid x, llmc_tid y);

/* ---- count() ----------------------------------------------------------------------------- */

/* A parameter count that notices overflow: a template must never wrap around silently. Every
 * operation that would exceed 64 bits sets overflow (and adds nothing); finish reports it. */
typedef struct llmc_irb_counter {
    llmc_param_count c;      /* c.total and c.active are set by llmc_irb_count_finish */
    bool overflow;
    uint64_t inactive;       /* expert weights a token is not routed to (llmc_irb_count_inactive) */
} llmc_irb_counter;
#define LLMC_IRB_COUNTER_INIT {{0, {0}, 0}, false, 0}

/* a * b, or 0 with overflow set if it does not fit */
LLMC_API uint64_t llmc_irb_count_mul(llmc_irb_counter *k, uint64_t a, uint64_t b);
/* component comp += a * b */
LLMC_API void llmc_irb_count_add(llmc_irb_counter *k, llmc_component comp, uint64_t a, uint64_t b);
/* every component += times * part's (one layer's count times the number of layers); part's
 * overflow carries over */
LLMC_API void llmc_irb_count_add_scaled(llmc_irb_counter *k, const llmc_irb_counter *part, uint64_t times);
/* inactive += a * b: parameters already added that one token does not read (the experts it is
 * not routed to); finish sets active = total - inactive */
LLMC_API void llmc_irb_count_inactive(llmc_irb_counter *k, uint64_t a, uint64_t b);
/* total = the sum of the components; *out (if not NULL) = the count. 0, or 1 if anything overflowed. */
LLMC_API int llmc_irb_count_finish(llmc_irb_counter *k, llmc_param_count *out);

#ifdef __cplusplus
}
#endif
#endif
