/* The SDK's IR building blocks (llmc/ir_build.h): what the built-in templates
 * (plugins/common/tmpl_common.c) and the out-of-tree ones (sdk/examples/parallel_residual,
 * tests/plugins/post_norm) build every graph from. Thin over llmc/ir.h: every error is the one
 * llmc_ir_* records on the graph. */
#include "llmc/ir_build.h"

#include <stdio.h>
#include <string.h>

#include "ir_internal.h"

void llmc_irb_init(llmc_irb *b, llmc_ir *ir, const llmc_spec *spec) {
    memset(b, 0, sizeof *b);
    b->ir = ir;
    b->spec = spec;
    b->dtype = LLMC_DTYPE_F32;
    if (spec && spec->precision == LLMC_PRECISION_FLOAT16) b->dtype = LLMC_DTYPE_F16;
    if (spec && spec->precision == LLMC_PRECISION_BFLOAT16) b->dtype = LLMC_DTYPE_BF16;
}

llmc_tid llmc_irb_param(const llmc_irb *b, const char *name, int64_t rows, int64_t cols, llmc_component comp,
                        llmc_stack stack, int layer, llmc_param_init init, llmc_param_role role, bool is_bias,
                        llmc_norm_site site) {
    llmc_param_desc p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.dtype = b->dtype;
    p.rank = cols ? 2 : 1;
    p.shape[0] = rows;
    p.shape[1] = cols;
    p.component = comp;
    p.stack = stack;
    p.layer = stack == LLMC_STACK_NONE ? -1 : layer;
    p.init = init;
    p.role = role;
    p.is_bias = is_bias;
    p.norm_site = site;
    return llmc_ir_param(b->ir, &p);
}

int llmc_irb_scope(const llmc_irb *b, llmc_stack stack, int layer, llmc_op_role role) {
    return llmc_ir_set_scope(b->ir, stack, stack == LLMC_STACK_NONE ? -1 : layer, role);
}

int llmc_irb_block(const llmc_irb *b, llmc_stack stack, int layer, llmc_residual residual,
                   llmc_norm_placement placement, bool cross_attention) {
    llmc_ir_block blk;
    memset(&blk, 0, sizeof blk);
    blk.stack = stack;
    blk.layer = layer;
    blk.residual = residual;
    blk.norm_placement = placement;
    blk.self_attention = true;
    blk.cross_attention = cross_attention;
    blk.mlp = true;
    return llmc_ir_add_block(b->ir, &blk);
}

/* "<prefix><suffix>". One byte longer than a name may be: a prefix too long to fit yields a
 * name llmc_ir_param refuses as too long (an error on the graph), never a silently cut one. */
typedef struct { char s[LLMC_IR_NAME_MAX + 2]; } param_name;
static param_name name_of(const char *prefix, const char *suffix) {
    param_name n;
    snprintf(n.s, sizeof n.s, "%s%s", prefix ? prefix : "", suffix);
    return n;
}

llmc_tid llmc_irb_linear(const llmc_irb *b, llmc_tid x, const char *prefix, int64_t out, int64_t in, bool bias,
                         llmc_component comp, llmc_stack stack, int layer, llmc_param_init init,
                         llmc_param_role role) {
    param_name n = name_of(prefix, ".weight");
    llmc_tid w = llmc_irb_param(b, n.s, out, in, comp, stack, layer, init, role, false, LLMC_NORM_SITE_NONE);
    llmc_tid bt = LLMC_TID_NONE;
    if (bias) {
        n = name_of(prefix, ".bias");
        llmc_param_init zeros = {LLMC_PINIT_ZEROS, 0.0};
        bt = llmc_irb_param(b, n.s, out, 0, comp, stack, layer, zeros, role, true, LLMC_NORM_SITE_NONE);
    }
    llmc_tid inputs[3] = {x, w, bt};
    return llmc_ir_op(b->ir, LLMC_OP_LINEAR, prefix, inputs, bias ? 3 : 2, NULL, 0);
}

llmc_tid llmc_irb_norm(const llmc_irb *b, llmc_tid x, const char *prefix, int64_t width, llmc_stack stack, int layer,
                       llmc_norm_site site) {
    const llmc_spec *s = b->spec;
    if (s->norm == LLMC_NORM_NONE) return x;
    llmc_irb_scope(b, stack, layer, LLMC_OPROLE_NORM);
    param_name n = name_of(prefix, ".weight");
    llmc_param_init ones = {LLMC_PINIT_ONES, 0.0}, zeros = {LLMC_PINIT_ZEROS, 0.0};
    /* with norm_weight_offset 1 (Gemma) the scale is 1 + w: w starts at 0 so the scale starts at 1 */
    bool offset = s->norm == LLMC_NORM_RMSNORM && s->norm_weight_offset != 0.0;
    llmc_tid w = llmc_irb_param(b, n.s, width, 0, LLMC_COMP_NORM, stack, layer, offset ? zeros : ones, LLMC_ROLE_NORM,
                                false, site);
    llmc_attr eps = llmc_attr_float("eps", s->norm_eps);
    if (s->norm == LLMC_NORM_RMSNORM) {
        /* RMSNorm has no bias whatever bias.norm says: it does not centre, so a shift would
         * not be a normalisation parameter (LLaMA and T5 have none) */
        llmc_tid in[2] = {x, w};
        llmc_attr at[2] = {eps, llmc_attr_float("weight_offset", s->norm_weight_offset)};
        return llmc_ir_op(b->ir, LLMC_OP_RMSNORM, prefix, in, 2, at, offset ? 2 : 1);
    }
    llmc_tid bt = LLMC_TID_NONE;
    if (s->bias.norm) {
        n = name_of(prefix, ".bias");
        bt = llmc_irb_param(b, n.s, width, 0, LLMC_COMP_NORM, stack, layer, zeros, LLMC_ROLE_NORM, true, site);
    }
    llmc_tid in[3] = {x, w, bt};
    return llmc_ir_op(b->ir, LLMC_OP_LAYERNORM, prefix, in, s->bias.norm ? 3 : 2, &eps, 1);
}

llmc_tid llmc_irb_reshape(const llmc_irb *b, llmc_tid x, const char *name, int64_t seq, int64_t a, int64_t c) {
    llmc_attr shape;
    memset(&shape, 0, sizeof shape);
    shape.key = "shape";
    shape.type = LLMC_ATTR_INTS;
    shape.ints[0] = LLMC_SYM_BATCH;
    shape.ints[1] = seq;
    shape.ints[2] = a;
    shape.ints[3] = c;
    shape.n_ints = c > 0 ? 4 : 3;
    return llmc_ir_op(b->ir, LLMC_OP_RESHAPE, name, &x, 1, &shape, 1);
}

llmc_tid llmc_irb_add(const llmc_irb *b, const char *name, llmc_tid x, llmc_tid y) {
    llmc_tid in[2] = {x, y};
    return llmc_ir_op(b->ir, LLMC_OP_ADD, name, in, 2, NULL, 0);
}

llmc_tid llmc_irb_residual(const llmc_irb *b, const char *name, llmc_stack stack, int layer, llmc_tid x,
                           llmc_tid y) {
    llmc_irb_scope(b, stack, layer, LLMC_OPROLE_RESIDUAL);
    return llmc_irb_add(b, name, x, y);
}

/* ---- the counter ------------------------------------------------------------------------ */

uint64_t llmc_irb_count_mul(llmc_irb_counter *k, uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        k->overflow = true;
        return 0;
    }
    return r;
}

/* a + b, or a with overflow set if it does not fit */
static uint64_t add_u64(llmc_irb_counter *k, uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        k->overflow = true;
        return a;
    }
    return r;
}

void llmc_irb_count_add(llmc_irb_counter *k, llmc_component comp, uint64_t a, uint64_t b) {
    if ((unsigned)comp >= LLMC_COMP_COUNT) { /* not a component: nothing to add it to */
        k->overflow = true;
        return;
    }
    k->c.component[comp] = add_u64(k, k->c.component[comp], llmc_irb_count_mul(k, a, b));
}

void llmc_irb_count_inactive(llmc_irb_counter *k, uint64_t a, uint64_t b) {
    k->inactive = add_u64(k, k->inactive, llmc_irb_count_mul(k, a, b));
}

void llmc_irb_count_add_scaled(llmc_irb_counter *k, const llmc_irb_counter *part, uint64_t times) {
    if (part->overflow) k->overflow = true;
    k->inactive = add_u64(k, k->inactive, llmc_irb_count_mul(k, part->inactive, times));
    for (int c = 0; c < LLMC_COMP_COUNT; c++)
        k->c.component[c] = add_u64(k, k->c.component[c], llmc_irb_count_mul(k, part->c.component[c], times));
}

int llmc_irb_count_finish(llmc_irb_counter *k, llmc_param_count *out) {
    uint64_t total = 0;
    for (int c = 0; c < LLMC_COMP_COUNT; c++) total = add_u64(k, total, k->c.component[c]);
    k->c.total = total;
    if (k->inactive > total) k->overflow = true; /* more routed off than there is: a template bug */
    k->c.active = k->inactive > total ? total : total - k->inactive;
    if (out) *out = k->c;
    return k->overflow ? 1 : 0;
}
