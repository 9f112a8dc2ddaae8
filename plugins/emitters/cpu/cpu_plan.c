/* cpu_plan.c — which tensors model.bin holds, where, and in which element type.
 *
 * What the model computes is read off the IR: its structure, its block descriptors (residual wiring,
 * norm placement), the norm sites, biases and head the parameters' roles declare, and the
 * positional, norm and activation ops. Every IR parameter becomes one record whose slot follows from
 * its role and norm site and whose stack and layer from its block, so the runtime can check it
 * against the shapes it was compiled for; names are carried for messages only. A graph or parameter
 * the runtime cannot compute is an error naming it, never silently dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"
#include "llmc/quant.h"

const char *cpu_dtype_name(uint32_t dtype) {
    switch (dtype) {
    case WT_F32: return "f32";
    case WT_F16: return "f16";
    case WT_BF16: return "bf16";
    case WT_Q8_0: return "q8_0";
    case WT_Q4_0: return "q4_0";
    case WT_Q6_K: return "q6_k";
    case WT_Q5_K: return "q5_k";
    case WT_Q4_K: return "q4_k";
    default: return "?";
    }
}

int cpu_check_spec(const llmc_spec *s, llmc_diags *d) {
    int rc = 0;
    llmc_kquant_mix mix;
    if (s->quantize != LLMC_QUANT_NONE && s->quantize != LLMC_QUANT_Q8_0 && s->quantize != LLMC_QUANT_Q4_0 &&
        llmc_quantize_kquant_mix(s->quantize, &mix)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "quantize"), "quantize",
                      "the cpu runtime computes with q8_0, q4_0 or the K-quant mixes, not %s", llmc_quantize_name(s->quantize));
        rc = -1;
    }
    /* sandwich blocks are computed sequential and dense (the experts add straight into the stream) */
    if (s->sandwich_norm && (s->parallel_residual || s->moe.enabled)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "norm_placement"), "norm_placement",
                      "the cpu runtime computes sandwich norms in sequential blocks with a dense MLP (got %s; nearest "
                      "supported: norm_placement: pre)", s->parallel_residual ? "parallel_residual" : "moe");
        rc = -1;
    }
    /* the runtime holds sizes and ids in int: keep every count well inside it */
    const int64_t lim = (int64_t)1 << 30;
    if (s->vocab_size > lim) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "vocab_size"), "vocab_size",
                      "must be <= %lld for emitter cpu (got %lld)", (long long)lim, (long long)s->vocab_size);
        rc = -1;
    }
    if (s->context_length > lim) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "context_length"), "context_length",
                      "must be <= %lld for emitter cpu (got %lld)", (long long)lim, (long long)s->context_length);
        rc = -1;
    }
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        if (!llmc_dims_has(&s->dims, (llmc_dim_id)i) || s->dims.v[i] <= lim) continue;
        char key[64];
        snprintf(key, sizeof key, "dims.%s", llmc_dim_name((llmc_dim_id)i));
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, key), key, "must be <= %lld for emitter cpu (got %lld)",
                      (long long)lim, (long long)s->dims.v[i]);
        rc = -1;
    }
    return rc;
}

/* ---- the model, from the IR ------------------------------------------------------------------- */
#define REFUSE(...) (llmc_error(d, "cpu", __VA_ARGS__), -1)

/* the first op reading tensor t, or -1 */
static long first_user(const llmc_ir *ir, llmc_tid t) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        for (int k = 0; k < op->n_inputs; k++)
            if (op->inputs[k] == t) return (long)i;
    }
    return -1;
}

/* The stack a parameter outside every block serves (a final norm, a position table): the scope of
 * the nearest scoped op upstream of its op (a final norm reads its stack's last block), else
 * downstream of it (positions feed their stack's first block). Breadth-first over the graph. */
static llmc_stack serving_stack(const llmc_ir *ir, long op0) {
    const size_t n_ops = llmc_ir_num_ops(ir), n_t = llmc_ir_num_tensors(ir);
    llmc_stack found = LLMC_STACK_NONE;
    long *queue = malloc(sizeof(long) * (n_ops + 1));
    unsigned char *seen = calloc(n_ops + 1, 1);
    if (!queue || !seen) goto done;
    for (int dir = 0; dir < 2 && found == LLMC_STACK_NONE; dir++) {
        size_t head = 0, tail = 0;
        memset(seen, 0, n_ops + 1);
        queue[tail++] = op0;
        seen[op0] = 1;
        while (head < tail && found == LLMC_STACK_NONE) {
            const llmc_op_info *op = llmc_ir_op_at(ir, (size_t)queue[head++]);
            if (op->stack != LLMC_STACK_NONE && queue[head - 1] != op0) {
                found = op->stack;
                break;
            }
            if (dir == 0) {   /* producers of its inputs */
                for (int k = 0; k < op->n_inputs; k++) {
                    if (op->inputs[k] < 0 || (size_t)op->inputs[k] >= n_t) continue;
                    long pr = llmc_ir_tensor(ir, op->inputs[k])->producer;
                    if (pr >= 0 && !seen[pr]) seen[pr] = 1, queue[tail++] = pr;
                }
            } else {          /* readers of its output */
                for (size_t j = 0; j < n_ops; j++) {
                    const llmc_op_info *u = llmc_ir_op_at(ir, j);
                    for (int k = 0; k < u->n_inputs && !seen[j]; k++)
                        if (op->n_outputs > 0 && u->inputs[k] == op->outputs[0]) seen[j] = 1, queue[tail++] = (long)j;
                }
            }
        }
    }
done:
    free(queue);
    free(seen);
    return found;
}

/* the slot of a parameter of a block (or of the model), by its role and norm site; false if the
 * runtime has none for it. Sandwich blocks have a second norm per sub-layer, on its output. */
static bool role_slot(const llmc_tensor_info *ti, bool sandwich, uint32_t *slot) {
    const bool b = ti->is_bias;
    switch (ti->role) {
    case LLMC_ROLE_TOKEN_EMBEDDING: *slot = SLOT_EMBED; return !b;
    case LLMC_ROLE_POSITION_EMBEDDING: *slot = SLOT_POS; return !b;
    case LLMC_ROLE_RELATIVE_BIAS: *slot = SLOT_REL_BIAS; return !b;
    case LLMC_ROLE_OUTPUT_HEAD: *slot = b ? SLOT_HEAD_B : SLOT_HEAD_W; return true;
    case LLMC_ROLE_ATTN_Q: *slot = b ? SLOT_Q_B : SLOT_Q_W; return true;
    case LLMC_ROLE_ATTN_K: *slot = b ? SLOT_K_B : SLOT_K_W; return true;
    case LLMC_ROLE_ATTN_V: *slot = b ? SLOT_V_B : SLOT_V_W; return true;
    case LLMC_ROLE_ATTN_O: *slot = b ? SLOT_O_B : SLOT_O_W; return true;
    case LLMC_ROLE_CROSS_Q: *slot = b ? SLOT_CQ_B : SLOT_CQ_W; return true;
    case LLMC_ROLE_CROSS_K: *slot = b ? SLOT_CK_B : SLOT_CK_W; return true;
    case LLMC_ROLE_CROSS_V: *slot = b ? SLOT_CV_B : SLOT_CV_W; return true;
    case LLMC_ROLE_CROSS_O: *slot = b ? SLOT_CO_B : SLOT_CO_W; return true;
    case LLMC_ROLE_MLP_GATE: *slot = b ? SLOT_GATE_B : SLOT_GATE_W; return true;
    case LLMC_ROLE_MLP_UP: *slot = b ? SLOT_UP_B : SLOT_UP_W; return true;
    case LLMC_ROLE_MLP_DOWN: *slot = b ? SLOT_DOWN_B : SLOT_DOWN_W; return true;
    case LLMC_ROLE_MOE_ROUTER: *slot = SLOT_ROUTER_W; return !b;
    case LLMC_ROLE_EXPERT_GATE: *slot = SLOT_EXP_GATE_W; return !b;
    case LLMC_ROLE_EXPERT_UP: *slot = SLOT_EXP_UP_W; return !b;
    case LLMC_ROLE_EXPERT_DOWN: *slot = SLOT_EXP_DOWN_W; return !b;
    case LLMC_ROLE_SHARED_EXPERT_GATE: *slot = SLOT_SH_GATE_W; return !b;
    case LLMC_ROLE_SHARED_EXPERT_UP: *slot = SLOT_SH_UP_W; return !b;
    case LLMC_ROLE_SHARED_EXPERT_DOWN: *slot = SLOT_SH_DOWN_W; return !b;
    case LLMC_ROLE_SHARED_EXPERT_SCALE: *slot = SLOT_SH_SCALE_W; return !b;
    case LLMC_ROLE_NORM:
        switch (ti->norm_site) {
        /* the norm of the attention sub-layer, before it (pre), after its add (post), or the one
         * norm of a parallel block: the block descriptor says where it applies */
        case LLMC_NORM_SITE_ATTN_INPUT:
        case LLMC_NORM_SITE_BLOCK_INPUT: *slot = b ? SLOT_ATTN_NORM_B : SLOT_ATTN_NORM_W; return true;
        case LLMC_NORM_SITE_POST_ATTN:
            *slot = sandwich ? (b ? SLOT_POST_ATTN_NORM_B : SLOT_POST_ATTN_NORM_W) : b ? SLOT_ATTN_NORM_B : SLOT_ATTN_NORM_W;
            return true;
        case LLMC_NORM_SITE_MLP_INPUT: *slot = b ? SLOT_MLP_NORM_B : SLOT_MLP_NORM_W; return true;
        case LLMC_NORM_SITE_POST_MLP:
            *slot = sandwich ? (b ? SLOT_POST_MLP_NORM_B : SLOT_POST_MLP_NORM_W) : b ? SLOT_MLP_NORM_B : SLOT_MLP_NORM_W;
            return true;
        case LLMC_NORM_SITE_CROSS_ATTN_INPUT: *slot = b ? SLOT_CROSS_NORM_B : SLOT_CROSS_NORM_W; return true;
        case LLMC_NORM_SITE_FINAL: *slot = b ? SLOT_FINAL_NORM_B : SLOT_FINAL_NORM_W; return true;
        case LLMC_NORM_SITE_ATTN_Q: *slot = SLOT_Q_NORM_W; return !b;
        case LLMC_NORM_SITE_ATTN_K: *slot = SLOT_K_NORM_W; return !b;
        default: return false;
        }
    default: return false;
    }
}

/* A QK-norm weight is what the runtime computes with it: the weight of an RMSNORM op over the heads
 * a RESHAPE makes of the projection, whose result goes to RoPE or straight to attention. */
static int check_qk_norm(const llmc_ir *ir, const llmc_tensor_info *t, llmc_tid tid, llmc_diags *d) {
    const long u = first_user(ir, tid);
    const llmc_op_info *op = u >= 0 ? llmc_ir_op_at(ir, (size_t)u) : NULL;
    const llmc_tensor_info *in = op && op->n_inputs > 0 ? llmc_ir_tensor(ir, op->inputs[0]) : NULL;
    const llmc_op_info *src = in && in->producer >= 0 ? llmc_ir_op_at(ir, (size_t)in->producer) : NULL;
    const long next = op && op->n_outputs > 0 ? first_user(ir, op->outputs[0]) : -1;
    const llmc_op_info *dst = next >= 0 ? llmc_ir_op_at(ir, (size_t)next) : NULL;
    if (!op || op->type != LLMC_OP_RMSNORM || op->n_inputs < 2 || op->inputs[1] != tid || !src ||
        src->type != LLMC_OP_RESHAPE || in->rank != 4 || !dst ||
        (dst->type != LLMC_OP_ROPE && dst->type != LLMC_OP_ATTENTION))
        return REFUSE("QK-norm parameter '%s' (%s) is not the weight of an rmsnorm of the attention heads before rope; "
                      "the CPU runtime computes qk_norm only there", t->name, llmc_norm_site_name(t->norm_site));
    return 0;
}

/* the kind whose name is `name` among n names, or -1 */
static int kind_named(const char *name, const char *(*namer)(int), int n) {
    for (int i = 0; i < n; i++)
        if (name && !strcmp(namer(i), name)) return i;
    return -1;
}
static const char *act_name(int i) { return llmc_activation_name((llmc_activation_kind)i); }
static const char *scaling_name(int i) { return llmc_rope_scaling_name((llmc_rope_scaling_kind)i); }

static double attr_num(const llmc_op_info *op, const char *key, double dflt) {
    const llmc_attr *a = llmc_op_attr(op, key);
    return a && (a->type == LLMC_ATTR_INT || a->type == LLMC_ATTR_FLOAT) ? llmc_attr_number(a) : dflt;
}
static const char *attr_str(const llmc_op_info *op, const char *key) {
    const llmc_attr *a = llmc_op_attr(op, key);
    return a && a->type == LLMC_ATTR_STRING ? a->s : NULL;
}

/* the op producing tensor t, or NULL */
static const llmc_op_info *producer(const llmc_ir *ir, llmc_tid t) {
    if (t < 0 || (size_t)t >= llmc_ir_num_tensors(ir)) return NULL;
    const long pr = llmc_ir_tensor(ir, t)->producer;
    return pr >= 0 ? llmc_ir_op_at(ir, (size_t)pr) : NULL;
}

/* the linear op without bias producing tensor t whose weight has role `role`, or NULL */
static const llmc_op_info *linear_of(const llmc_ir *ir, llmc_tid t, llmc_param_role role) {
    const llmc_op_info *op = producer(ir, t);
    if (!op || op->type != LLMC_OP_LINEAR || op->n_inputs < 2 || (op->n_inputs > 2 && op->inputs[2] >= 0)) return NULL;
    const llmc_tensor_info *w = op->inputs[1] >= 0 ? llmc_ir_tensor(ir, op->inputs[1]) : NULL;
    return w && w->kind == LLMC_TENSOR_PARAM && w->role == role && !w->is_bias ? op : NULL;
}

/* A sigmoid is the scale of Qwen2-MoE's shared expert, wired as the runtime computes it:
 * routed + sigmoid(linear(x, shared_expert_scale)) * down(swiglu(gate x, up x)), with x the routed
 * experts' input and every map of the shared expert a linear op of its role without bias. */
static int check_shared_expert(const llmc_ir *ir, const llmc_op_info *sig, llmc_diags *d) {
    const llmc_op_info *lin = sig->n_inputs == 1 && sig->n_outputs == 1
                                  ? linear_of(ir, sig->inputs[0], LLMC_ROLE_SHARED_EXPERT_SCALE) : NULL;
    const long u = lin ? first_user(ir, sig->outputs[0]) : -1;
    const llmc_op_info *mul = u >= 0 ? llmc_ir_op_at(ir, (size_t)u) : NULL;
    const llmc_op_info *down = NULL, *act = NULL, *gate = NULL, *up = NULL, *add = NULL, *experts = NULL;
    if (mul && mul->type == LLMC_OP_MUL && mul->n_inputs == 2 && mul->n_outputs == 1) {
        down = linear_of(ir, mul->inputs[mul->inputs[0] == sig->outputs[0] ? 1 : 0], LLMC_ROLE_SHARED_EXPERT_DOWN);
        const long a = first_user(ir, mul->outputs[0]);
        add = a >= 0 ? llmc_ir_op_at(ir, (size_t)a) : NULL;
    }
    if (down) act = producer(ir, down->inputs[0]);
    if (act && act->type == LLMC_OP_SWIGLU && act->n_inputs == 2) {
        gate = linear_of(ir, act->inputs[0], LLMC_ROLE_SHARED_EXPERT_GATE);
        up = linear_of(ir, act->inputs[1], LLMC_ROLE_SHARED_EXPERT_UP);
    }
    if (add && add->type == LLMC_OP_ADD && add->n_inputs == 2)
        experts = producer(ir, add->inputs[add->inputs[0] == mul->outputs[0] ? 1 : 0]);
    if (!gate || !up || !experts || experts->type != LLMC_OP_MOE_EXPERTS || experts->n_inputs < 1 ||
        lin->inputs[0] != experts->inputs[0] || gate->inputs[0] != experts->inputs[0] ||
        up->inputs[0] != experts->inputs[0])
        return REFUSE("activation '%s' (sigmoid) is not the scale of a shared expert (the routed experts' sum plus "
                      "sigmoid(linear(x, shared_expert_scale)) times down(swiglu(gate x, up x)) of the experts' input "
                      "x); the CPU runtime computes a sigmoid only there", sig->name);
    return 0;
}

/* positional kind, norm kind and eps, activation, rope / alibi / relative-bias settings: from the ops */
static int read_ops(const llmc_spec *s, const llmc_ir *ir, cpu_model *m, llmc_diags *d) {
    int pos = -1, act = -1, norm = -1;
    const char *pos_op = NULL, *act_op = NULL, *norm_op = NULL, *attn_op = NULL;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        int p = -1, a = -1, nk = -1;
        switch (op->type) {
        case LLMC_OP_ROPE: {
            p = LLMC_POS_ROPE;
            const double fraction = attr_num(op, "fraction", 1.0);
            const char *style = attr_str(op, "style");
            if (!(fraction > 0 && fraction <= 1.0) || (style && strcmp(style, "neox")))
                return REFUSE("rope '%s' rotates %g of the head dim in style %s; the CPU runtime rotates the first "
                              "dims of a head in halves (fraction in (0, 1], style neox)", op->name, fraction,
                              style ? style : "neox");
            if (m->rope_fraction != 0 && m->rope_fraction != fraction)
                return REFUSE("rope '%s' rotates %g of the head dim and an earlier rope %g; the CPU runtime has one "
                              "rotary share for every layer", op->name, fraction, m->rope_fraction);
            m->rope_fraction = fraction;
            int sc = kind_named(attr_str(op, "scaling") ? attr_str(op, "scaling") : "none", scaling_name,
                                LLMC_ROPE_SCALING_COUNT);
            if (sc < 0) return REFUSE("rope '%s': scaling '%s' is not one the CPU runtime computes", op->name,
                                      attr_str(op, "scaling"));
            m->rope_scaling = (llmc_rope_scaling_kind)sc;
            m->rope_theta = attr_num(op, "theta", 10000.0);
            m->rope_factor = attr_num(op, "factor", 1.0);
            m->rope_original_context = attr_num(op, "original_context_length", (double)s->context_length);
            m->rope_low_freq = attr_num(op, "low_freq_factor", 1.0);
            m->rope_high_freq = attr_num(op, "high_freq_factor", 4.0);
            m->rope_beta_fast = attr_num(op, "beta_fast", 32.0);
            m->rope_beta_slow = attr_num(op, "beta_slow", 1.0);
            break;
        }
        case LLMC_OP_ALIBI: p = LLMC_POS_ALIBI; m->alibi_max_bias = attr_num(op, "max_bias", 8.0); break;
        case LLMC_OP_POSITIONS_LEARNED: p = LLMC_POS_LEARNED; break;
        case LLMC_OP_POSITIONS_SINUSOIDAL: p = LLMC_POS_SINUSOIDAL; break;
        case LLMC_OP_RELATIVE_BIAS:
            p = LLMC_POS_RELATIVE;
            m->rel_buckets = (int64_t)attr_num(op, "num_buckets", 0);
            m->rel_max_distance = (int64_t)attr_num(op, "max_distance", 0);
            break;
        case LLMC_OP_SWIGLU: a = LLMC_ACT_SWIGLU; break;
        case LLMC_OP_MOE_EXPERTS: a = LLMC_ACT_SWIGLU; break; /* its one activation (ir.h) */
        case LLMC_OP_MOE_ROUTE: {
            const llmc_tensor_info *lg = llmc_ir_tensor(ir, op->inputs[0]);
            const int64_t E = lg->shape[lg->rank - 1], k = (int64_t)attr_num(op, "experts_per_token", 0);
            const char *r = attr_str(op, "routing");
            const bool tks = r && !strcmp(r, "topk_softmax"), nz = attr_num(op, "normalize", 0) != 0;
            if (m->moe && (E != m->experts || k != m->experts_used || tks != m->moe_topk_softmax ||
                           nz != m->moe_normalize))
                return REFUSE("moe_route '%s' routes differently from the first layer's; the CPU runtime routes every "
                              "layer alike", op->name);
            m->moe = true;
            m->experts = E;
            m->experts_used = k;
            m->moe_topk_softmax = tks;
            m->moe_normalize = nz;
            break;
        }
        case LLMC_OP_GEGLU:
            if (attr_num(op, "approximate", 1) != 1)
                return REFUSE("geglu '%s' uses the exact gelu; the CPU runtime computes the tanh form (approximate 1)",
                              op->name);
            a = LLMC_ACT_GEGLU;
            break;
        case LLMC_OP_ACTIVATION:
            if (attr_str(op, "fn") && !strcmp(attr_str(op, "fn"), "sigmoid")) {
                /* not the MLP's activation: the scale of Qwen2-MoE's shared expert */
                if (check_shared_expert(ir, op, d)) return -1;
                m->shared_scales++;
                break;
            }
            a = kind_named(attr_str(op, "fn"), act_name, LLMC_ACT_COUNT);
            if (a < 0) return REFUSE("activation '%s': fn '%s' is not one the CPU runtime computes", op->name,
                                     attr_str(op, "fn") ? attr_str(op, "fn") : "?");
            break;
        case LLMC_OP_RMSNORM: nk = LLMC_NORM_RMSNORM; break;
        case LLMC_OP_LAYERNORM: nk = LLMC_NORM_LAYERNORM; break;
        case LLMC_OP_ATTENTION: {
            /* the score soft-cap (Gemma-2): one for every attention op, as the runtime has one attention */
            const double cap = attr_num(op, "softcap", 0);
            if (attn_op && cap != m->attn_softcap)
                return REFUSE("attention ops '%s' and '%s' cap their scores differently (%g, %g); the CPU runtime "
                              "computes one cap for every attention", attn_op, op->name, m->attn_softcap, cap);
            if (cap < 0) return REFUSE("attention op '%s' has softcap %g (expected > 0 or none)", op->name, cap);
            m->attn_softcap = cap, attn_op = op->name;
            break;
        }
        case LLMC_OP_SCALE: {
            /* the embedding's scale (Gemma: sqrt(hidden), rounded to the model dtype in the IR), or the
             * head's input scale (T5 with a tied head: llmc_ir_read_facts); nothing else */
            const llmc_tensor_info *in = op->n_inputs > 0 ? llmc_ir_tensor(ir, op->inputs[0]) : NULL;
            const llmc_op_info *src = in && in->producer >= 0 ? llmc_ir_op_at(ir, (size_t)in->producer) : NULL;
            if (op->role == LLMC_OPROLE_EMBEDDING && src && src->type == LLMC_OP_EMBEDDING) {
                if (m->embed_scale != 0)
                    return REFUSE("scale op '%s' scales the embedding a second time; the CPU runtime scales it once",
                                  op->name);
                m->embed_scale = attr_num(op, "factor", 1.0);
            } else if (op->role != LLMC_OPROLE_HEAD) {
                return REFUSE("scale op '%s' (%s scope) scales something other than the token embedding or the head's "
                              "input; the CPU runtime computes those two", op->name, llmc_op_role_name(op->role));
            }
            break;
        }
        case LLMC_OP_SOFTCAP: {
            /* the final logits' cap: it must read the head's output and write the graph's */
            const llmc_tensor_info *in = op->n_inputs > 0 ? llmc_ir_tensor(ir, op->inputs[0]) : NULL;
            const llmc_op_info *src = in && in->producer >= 0 ? llmc_ir_op_at(ir, (size_t)in->producer) : NULL;
            if (!src || src->type != LLMC_OP_LINEAR || src->role != LLMC_OPROLE_HEAD || llmc_ir_num_outputs(ir) != 1 ||
                op->n_outputs < 1 || op->outputs[0] != llmc_ir_output(ir, 0) || m->logit_softcap != 0)
                return REFUSE("softcap op '%s' caps something other than the head's logits; the CPU runtime caps only "
                              "those, once", op->name);
            m->logit_softcap = attr_num(op, "cap", 0);
            if (!(m->logit_softcap > 0)) return REFUSE("softcap op '%s' has cap %g (expected > 0)", op->name,
                                                       m->logit_softcap);
            break;
        }
        default: break;
        }
        if (p >= 0 && pos >= 0 && p != pos)
            return REFUSE("ops '%s' (%s) and '%s' (%s) encode positions two ways; the CPU runtime computes one",
                          pos_op, llmc_positional_name((llmc_positional_kind)pos), op->name,
                          llmc_positional_name((llmc_positional_kind)p));
        if (p >= 0) pos = p, pos_op = op->name;
        if (a >= 0 && act >= 0 && a != act)
            return REFUSE("ops '%s' and '%s' use different activations; the CPU runtime computes one", act_op, op->name);
        if (a >= 0) act = a, act_op = op->name;
        if (nk >= 0) {
            const double eps = attr_num(op, "eps", 0);
            /* Gemma's (offset + w): model.bin holds the sum (cpu_write.c), so one offset for every norm */
            const double offset = nk == LLMC_NORM_RMSNORM ? attr_num(op, "weight_offset", 0) : 0;
            if (norm >= 0 && (nk != norm || eps != m->norm_eps || offset != m->norm_weight_offset))
                return REFUSE("norm ops '%s' and '%s' differ in kind, eps or weight_offset; the CPU runtime computes one "
                              "norm", norm_op, op->name);
            norm = nk, norm_op = op->name, m->norm_eps = eps, m->norm_weight_offset = offset;
        }
    }
    if (act < 0) return REFUSE("the graph has no MLP activation op; the CPU runtime computes blocks with an MLP");
    m->positional = pos >= 0 ? (llmc_positional_kind)pos : LLMC_POS_NONE;
    m->activation = (llmc_activation_kind)act;
    m->norm = norm >= 0 ? (llmc_norm_kind)norm : LLMC_NORM_NONE;
    if (m->norm == LLMC_NORM_NONE) m->norm_eps = s->norm_eps;   /* unused; keeps model_config.h as before */
    return 0;
}

int cpu_model_read(const llmc_spec *s, const llmc_ir *ir, cpu_model *m, llmc_diags *d) {
    memset(m, 0, sizeof *m);
    const llmc_ir_structure st = llmc_ir_get_structure(ir);
    if (st != LLMC_STRUCTURE_DECODER_ONLY && st != LLMC_STRUCTURE_ENCODER_DECODER)
        return REFUSE("the graph declares structure '%s'; the CPU runtime runs decoder_only and encoder_decoder graphs",
                      llmc_ir_structure_name(st));
    m->encdec = st == LLMC_STRUCTURE_ENCODER_DECODER;
    /* one wiring for every block: it is per-layer control flow the program fixes at compile time */
    const size_t nb = llmc_ir_num_blocks(ir);
    if (nb == 0) return REFUSE("the graph has no block descriptors");
    const llmc_ir_block *b0 = llmc_ir_block_at(ir, 0);
    for (size_t i = 0; i < nb; i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->residual != b0->residual || b->norm_placement != b0->norm_placement)
            return REFUSE("block %s %d is %s with %s norms but block %s %d is %s with %s norms; the CPU runtime wires "
                          "every block the same way",
                          llmc_stack_name(b->stack), b->layer, llmc_residual_name(b->residual),
                          llmc_norm_placement_name(b->norm_placement), llmc_stack_name(b0->stack), b0->layer,
                          llmc_residual_name(b0->residual), llmc_norm_placement_name(b0->norm_placement));
        if (!b->self_attention || !b->mlp || b->cross_attention != (m->encdec && b->stack == LLMC_STACK_DECODER))
            return REFUSE("block %s %d has %sself-attention, %scross-attention and %san MLP; the CPU runtime computes "
                          "self-attention and an MLP in every block and cross-attention in the decoder blocks of an "
                          "encoder_decoder graph",
                          llmc_stack_name(b->stack), b->layer, b->self_attention ? "" : "no ",
                          b->cross_attention ? "" : "no ", b->mlp ? "" : "no ");
    }
    m->parallel = b0->residual == LLMC_RESIDUAL_PARALLEL;
    m->post_norm = b0->norm_placement == LLMC_NORM_PLACEMENT_POST;
    m->sandwich = b0->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH;
    if ((m->parallel && (m->post_norm || m->sandwich)) || (m->encdec && (m->parallel || m->post_norm || m->sandwich)))
        return REFUSE("blocks of this graph are %s with %s norms%s; the CPU runtime computes sequential blocks with pre, "
                      "post, sandwich or no norms and parallel blocks with pre norms (encoder_decoder graphs: "
                      "sequential pre-norm)",
                      llmc_residual_name(b0->residual), llmc_norm_placement_name(b0->norm_placement),
                      m->encdec ? " (encoder_decoder)" : "");
    if (read_ops(s, ir, m, d)) return -1;
    /* the experts add into x while the runtime reads the MLP's normalised input */
    if (m->moe && (m->parallel || m->post_norm || m->sandwich))
        return REFUSE("sparse experts in %s blocks with %s norms; the CPU runtime computes them in sequential pre-norm "
                      "blocks", llmc_residual_name(b0->residual), llmc_norm_placement_name(b0->norm_placement));
    /* the norm sites and biases the parameters declare */
    bool attn_norm = false, post_attn_norm = false, post_mlp_norm = false;
    int64_t shared[4] = {0};   /* shared expert gate, up, down, scale parameters */
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind != LLMC_TENSOR_PARAM) continue;
        switch (t->role) {
        case LLMC_ROLE_SHARED_EXPERT_GATE: case LLMC_ROLE_SHARED_EXPERT_UP: case LLMC_ROLE_SHARED_EXPERT_DOWN: {
            /* one width for every layer: SHARED_FF (gate and up [Is, H], down [H, Is]) */
            const int64_t w = t->rank == 2 ? t->shape[t->role == LLMC_ROLE_SHARED_EXPERT_DOWN ? 1 : 0] : -1;
            if (m->shared_ff == 0) m->shared_ff = w;
            if (w != m->shared_ff || t->is_bias)
                return REFUSE("shared expert parameter '%s' is %s %lld wide, another %lld; the CPU runtime computes one "
                              "shared expert width, without biases", t->name, t->is_bias ? "a bias" : "a map",
                              (long long)w, (long long)m->shared_ff);
            shared[t->role - LLMC_ROLE_SHARED_EXPERT_GATE]++;
            break;
        }
        case LLMC_ROLE_SHARED_EXPERT_SCALE: shared[3]++; break;
        case LLMC_ROLE_ATTN_Q: case LLMC_ROLE_ATTN_K: case LLMC_ROLE_ATTN_V: m->bias_qkv |= t->is_bias; break;
        case LLMC_ROLE_ATTN_QKV:
            return REFUSE("parameter '%s' fuses q, k and v; the CPU runtime reads them as three matrices", t->name);
        case LLMC_ROLE_ATTN_O: m->bias_attn_out |= t->is_bias; break;
        case LLMC_ROLE_MLP_GATE: case LLMC_ROLE_MLP_UP: case LLMC_ROLE_MLP_DOWN: m->bias_mlp |= t->is_bias; break;
        case LLMC_ROLE_OUTPUT_HEAD: if (t->is_bias) m->bias_lm_head = true; break;
        case LLMC_ROLE_NORM: {
            m->norm_bias |= t->is_bias;
            const llmc_norm_site ns = t->norm_site;
            if (ns == LLMC_NORM_SITE_ATTN_Q || ns == LLMC_NORM_SITE_ATTN_K) {
                if (check_qk_norm(ir, t, (llmc_tid)i, d)) return -1;
                m->qk_norm = true;
                break;
            }
            const bool post_site = ns == LLMC_NORM_SITE_POST_ATTN || ns == LLMC_NORM_SITE_POST_MLP;
            const bool pre_site = ns == LLMC_NORM_SITE_ATTN_INPUT || ns == LLMC_NORM_SITE_MLP_INPUT ||
                                  ns == LLMC_NORM_SITE_BLOCK_INPUT || ns == LLMC_NORM_SITE_CROSS_ATTN_INPUT;
            if (ns == LLMC_NORM_SITE_EMBEDDING || ns == LLMC_NORM_SITE_POST_CROSS_ATTN ||
                (post_site && !m->post_norm && !m->sandwich) || (pre_site && m->post_norm) ||
                (ns == LLMC_NORM_SITE_BLOCK_INPUT && !m->parallel))
                return REFUSE("norm parameter '%s' sits at %s in %s blocks with %s norms; the CPU runtime has no such norm",
                              t->name, llmc_norm_site_name(ns), m->parallel ? "parallel" : "sequential",
                              llmc_norm_placement_name(b0->norm_placement));
            if (ns == LLMC_NORM_SITE_FINAL) m->final_norm = true;
            if (m->sandwich) {   /* the input norms as in pre-norm blocks, the output norms of their own */
                if (ns == LLMC_NORM_SITE_MLP_INPUT) m->mlp_norm = true;
                if (ns == LLMC_NORM_SITE_ATTN_INPUT) attn_norm = true;
                if (ns == LLMC_NORM_SITE_POST_ATTN) post_attn_norm = true;
                if (ns == LLMC_NORM_SITE_POST_MLP) post_mlp_norm = true;
                break;
            }
            if (ns == LLMC_NORM_SITE_MLP_INPUT || ns == LLMC_NORM_SITE_POST_MLP) m->mlp_norm = true;
            if (ns == LLMC_NORM_SITE_ATTN_INPUT || ns == LLMC_NORM_SITE_BLOCK_INPUT || ns == LLMC_NORM_SITE_POST_ATTN)
                attn_norm = true;
            break;
        }
        default: break;
        }
    }
    /* Qwen2-MoE: every layer's shared expert has its four maps and its sigmoid scale (check_shared_expert) */
    m->shared_expert = shared[0] > 0;
    if ((shared[0] | shared[1] | shared[2] | shared[3] | m->shared_scales) &&
        (!m->moe || shared[1] != shared[0] || shared[2] != shared[0] || shared[3] != shared[0] ||
         m->shared_scales != shared[0]))
        return REFUSE("the graph has %lld / %lld / %lld shared expert gate / up / down maps, %lld scale weights and %lld "
                      "sigmoid scales%s; the CPU runtime computes a shared expert with all of them beside routed experts",
                      (long long)shared[0], (long long)shared[1], (long long)shared[2], (long long)shared[3],
                      (long long)m->shared_scales, m->moe ? "" : " and no routed experts");
    m->tied = llmc_ir_find_param(ir, LLMC_ROLE_OUTPUT_HEAD, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE) ==
              LLMC_TID_NONE;
    if (m->norm == LLMC_NORM_NONE && (attn_norm || m->mlp_norm || m->final_norm))
        return REFUSE("the graph has norm parameters but no rmsnorm or layernorm op");
    /* every sub-layer of a sequential block has its norm, or none has (no norms at all) */
    if (!m->parallel && attn_norm != m->mlp_norm)
        return REFUSE("sequential blocks with a norm on only one of attention and MLP; the CPU runtime needs both or "
                      "neither");
    if (m->sandwich && !(attn_norm && m->mlp_norm && post_attn_norm && post_mlp_norm))
        return REFUSE("sandwich blocks without all four norms (attention and MLP, input and output: %d %d %d %d); the CPU "
                      "runtime computes sandwich blocks with all of them", attn_norm, m->mlp_norm, post_attn_norm,
                      post_mlp_norm);
    if (m->parallel && !attn_norm)
        return REFUSE("parallel blocks without a norm before attention; the CPU runtime needs one");
    if (m->qk_norm && (m->encdec || m->norm != LLMC_NORM_RMSNORM))
        return REFUSE("qk_norm in %s; the CPU runtime computes QK-norm in decoder-only graphs with RMSNorm",
                      m->encdec ? "an encoder_decoder graph" : "a graph whose norms are not rmsnorm");
    if (m->encdec && !m->final_norm && m->norm != LLMC_NORM_NONE)
        return REFUSE("encoder_decoder graph without final norms; the CPU runtime needs them");
    return 0;
}

/* the //@if features (rt/ templates) */
size_t cpu_feature_flags(const cpu_model *m, int64_t sliding_window, bool mixed_windows, bool output_scaled,
                         cpu_flag *f) {
    size_t n = 0;
#define FLAG(name_, on_) (f[n].name = (name_), f[n].on = (on_), n++)
    FLAG("ENCDEC", m->encdec);
    FLAG("PARALLEL", m->parallel);
    FLAG("POST_NORM", m->post_norm);
    FLAG("SANDWICH", m->sandwich);
    FLAG("MLP_NORM", m->mlp_norm);
    FLAG("FINAL_NORM", m->final_norm);
    FLAG("QK_NORM", m->qk_norm);
    FLAG("MOE", m->moe);
    FLAG("SHARED_EXPERT", m->moe && m->shared_expert);
    FLAG("NORM_RMS", m->norm == LLMC_NORM_RMSNORM);
    FLAG("NORM_LAYER", m->norm == LLMC_NORM_LAYERNORM);
    FLAG("GATED", llmc_activation_is_gated(m->activation));
    /* the activation's scalar and SIMD forms (kernels.c): x sigmoid(x), x sigmoid(tanh-GELU's 2u), ... */
    FLAG("ACT_SILU", m->activation == LLMC_ACT_SWIGLU || m->activation == LLMC_ACT_SILU);
    FLAG("ACT_GELU_TANH", m->activation == LLMC_ACT_GEGLU || m->activation == LLMC_ACT_GELU_TANH);
    FLAG("ACT_GELU", m->activation == LLMC_ACT_GELU);
    FLAG("ACT_RELU", m->activation == LLMC_ACT_RELU);
    FLAG("ACT_RELU_SQUARED", m->activation == LLMC_ACT_RELU_SQUARED);
    FLAG("ROPE", m->positional == LLMC_POS_ROPE);
    FLAG("ROPE_LINEAR", m->positional == LLMC_POS_ROPE && m->rope_scaling == LLMC_ROPE_SCALING_LINEAR);
    FLAG("ROPE_DYNAMIC", m->positional == LLMC_POS_ROPE && m->rope_scaling == LLMC_ROPE_SCALING_DYNAMIC);
    FLAG("ROPE_YARN", m->positional == LLMC_POS_ROPE && m->rope_scaling == LLMC_ROPE_SCALING_YARN);
    FLAG("ROPE_LLAMA3", m->positional == LLMC_POS_ROPE && m->rope_scaling == LLMC_ROPE_SCALING_LLAMA3);
    FLAG("ALIBI", m->positional == LLMC_POS_ALIBI);
    FLAG("LEARNED", m->positional == LLMC_POS_LEARNED);
    FLAG("SINUSOIDAL", m->positional == LLMC_POS_SINUSOIDAL);
    FLAG("RELATIVE", m->positional == LLMC_POS_RELATIVE);
    FLAG("SLIDING", sliding_window > 0);
    FLAG("SLIDING_MIXED", sliding_window > 0 && mixed_windows);   /* windowed and global layers (Gemma-2) */
    FLAG("OUTPUT_SCALED", output_scaled);
    FLAG("EMBED_SCALE", m->embed_scale != 0);
    FLAG("ATTN_SOFTCAP", m->attn_softcap > 0);
    FLAG("LOGIT_SOFTCAP", m->logit_softcap > 0);
#undef FLAG
    return n;
}

/* slot, stack and layer of parameter ti (by role, norm site and block) */
static int place(const llmc_ir *ir, const llmc_tensor_info *ti, llmc_tid tid, bool sandwich, cpu_tensor *t,
                 llmc_diags *d) {
    if (!role_slot(ti, sandwich, &t->slot))
        return REFUSE("parameter '%s' (%s%s%s%s) has no place in the CPU runtime", ti->name,
                      llmc_param_role_name(ti->role), ti->is_bias ? " bias" : "",
                      ti->norm_site ? " at " : "", ti->norm_site ? llmc_norm_site_name(ti->norm_site) : "");
    t->layer = -1;
    t->stack = STACK_GLOBAL;
    if (t->slot == SLOT_EMBED || t->slot == SLOT_HEAD_W || t->slot == SLOT_HEAD_B) return 0;
    llmc_stack st = ti->stack;
    if (st == LLMC_STACK_NONE) {
        long op = first_user(ir, tid);
        st = op >= 0 ? serving_stack(ir, op) : LLMC_STACK_NONE;
        if (st == LLMC_STACK_NONE)
            return REFUSE("parameter '%s' (%s) serves no stack of blocks the CPU runtime can find", ti->name,
                          llmc_param_role_name(ti->role));
    }
    t->stack = st == LLMC_STACK_ENCODER ? STACK_ENCODER : STACK_DECODER;
    if (t->slot == SLOT_REL_BIAS) {
        /* one table per stack (T5 keeps it in block 0) */
        if (ti->layer > 0) return REFUSE("relative bias table '%s' is in layer %d; the CPU runtime has one per stack, in "
                                         "its first block", ti->name, ti->layer);
        return 0;
    }
    if (t->slot >= SLOT_FIRST_LAYER) {
        if (ti->layer < 0) return REFUSE("parameter '%s' (%s) belongs in a block but has no layer", ti->name,
                                         llmc_param_role_name(ti->role));
        t->layer = ti->layer;
    } else if (ti->layer >= 0) {
        return REFUSE("parameter '%s' (%s) is in layer %d; the CPU runtime keeps it per stack", ti->name,
                      llmc_param_role_name(ti->role), ti->layer);
    }
    return 0;
}

static bool is_matrix_slot(uint32_t slot) {
    switch (slot) {
    case SLOT_EMBED: case SLOT_HEAD_W:
    case SLOT_Q_W: case SLOT_K_W: case SLOT_V_W: case SLOT_O_W:
    case SLOT_CQ_W: case SLOT_CK_W: case SLOT_CV_W: case SLOT_CO_W:
    case SLOT_GATE_W: case SLOT_UP_W: case SLOT_DOWN_W:
    case SLOT_ROUTER_W: case SLOT_EXP_GATE_W: case SLOT_EXP_UP_W: case SLOT_EXP_DOWN_W:
    case SLOT_SH_GATE_W: case SLOT_SH_UP_W: case SLOT_SH_DOWN_W:
        return true;
    default:
        return false;
    }
}

/* No slot twice, and every layer of a stack with the slots of its first layer: the runtime's
 * layers share one code path. */
static int check_layers(const cpu_plan *p, llmc_diags *d) {
    int32_t max_layer = -1;
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].layer > max_layer) max_layer = p->t[i].layer;
    const size_t rows = (size_t)(max_layer + 2) * 3;   /* (stack, layer + 1) */
    uint64_t *mask = calloc(rows, sizeof *mask);
    if (!mask) return REFUSE("out of memory checking %zu tensors", p->n);
    int rc = 0;
    for (size_t i = 0; i < p->n && !rc; i++) {
        const cpu_tensor *t = &p->t[i];
        uint64_t *m = &mask[(size_t)(t->layer + 1) * 3 + t->stack];
        if (*m >> t->slot & 1) rc = REFUSE("parameter '%s' takes a place another parameter of its block already has (%s "
                                           "layer %d, slot %u)", t->name, t->stack == STACK_ENCODER ? "encoder" : "decoder",
                                           t->layer, t->slot);
        *m |= (uint64_t)1 << t->slot;
    }
    for (int32_t l = 1; l <= max_layer && !rc; l++)
        for (uint32_t st = STACK_DECODER; st <= STACK_ENCODER && !rc; st++)
            if (mask[(size_t)(l + 1) * 3 + st] && mask[(size_t)(l + 1) * 3 + st] != mask[3 + st])
                rc = REFUSE("%s layer %d has other kinds of parameters than layer 0 (slot masks %llx and %llx); the CPU "
                            "runtime computes every layer of a stack alike", st == STACK_ENCODER ? "encoder" : "decoder",
                            l, (unsigned long long)mask[(size_t)(l + 1) * 3 + st], (unsigned long long)mask[3 + st]);
    free(mask);
    return rc;
}

/* Which decoder layers attend within the window (sliding_window_pattern: the others see the whole
 * past), read off each layer's attention op; NULL when every layer is windowed. */
static int read_windows(const llmc_ir *ir, cpu_plan *p, llmc_diags *d) {
    int64_t n = 0;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type == LLMC_OP_ATTENTION && op->stack != LLMC_STACK_ENCODER && op->layer + 1 > n) n = op->layer + 1;
    }
    if (n <= 0) return 0;
    p->windowed = calloc((size_t)n, 1);
    if (!p->windowed) return REFUSE("out of memory reading %lld layers' windows", (long long)n);
    p->n_windowed = n;
    bool mixed = false;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_ATTENTION || op->stack == LLMC_STACK_ENCODER || op->layer < 0 ||
            op->role == LLMC_OPROLE_CROSS_ATTENTION)
            continue;
        const char *mask = attr_str(op, "mask");
        const bool win = mask && !strcmp(mask, "sliding_window");
        if (!win && !(mask && !strcmp(mask, "causal")))
            return REFUSE("attention op '%s' has mask '%s' beside windowed layers; the CPU runtime mixes windowed and "
                          "causal layers only", op->name, mask ? mask : "none");
        p->windowed[op->layer] = win;
        mixed |= !win;
    }
    if (!mixed) {
        free(p->windowed);
        p->windowed = NULL;
        p->n_windowed = 0;
    }
    return 0;
}

static uint32_t float_type(llmc_precision p) {
    return p == LLMC_PRECISION_FLOAT16 ? WT_F16 : p == LLMC_PRECISION_BFLOAT16 ? WT_BF16 : WT_F32;
}

static uint64_t align_up(uint64_t v) { return (v + LLMC_ALIGN - 1) / LLMC_ALIGN * LLMC_ALIGN; }

static uint32_t wt_of(llmc_qtype q, uint32_t dflt) {
    switch (q) {
    case LLMC_QTYPE_Q8_0: return WT_Q8_0;
    case LLMC_QTYPE_Q6_K: return WT_Q6_K;
    case LLMC_QTYPE_Q5_K: return WT_Q5_K;
    case LLMC_QTYPE_Q4_K: return WT_Q4_K;
    default: return dflt;
    }
}

/* The K-quant mixes (quantize: q6_k | q5_k_m | q4_k_m | q5_k | q4_k): each matrix gets the block type
 * llama_model_quantize gives it (llmc_kquant_mix_type, the rule the gguf emitter writes with), its
 * position among the attn_v / ffn_down matrices counted in the IR's order, as llama.cpp counts them
 * in the file; so model.bin holds the blocks of the GGUF of the same compile. Rows llama.cpp would
 * store as Q5_0 / Q5_1 are refused as the gguf emitter refuses them. */
static int plan_kquant(const llmc_spec *s, const llmc_ir *ir, cpu_plan *p, llmc_kquant_mix mix, llmc_diags *d) {
    if (p->encdec)
        return REFUSE("the K-quant mixes are written for decoder-only models (as the gguf emitter writes them; use "
                      "quantize: q8_0 or q4_0)");
    /* with sparse experts an ffn_down's layer is its block's, out of the block count (llmc/quant.h) */
    const bool moe = p->m.experts > 1;
    int count[LLMC_QROLE_COUNT] = {0}, index[LLMC_QROLE_COUNT] = {0}, n_blocks = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->t[i].kind != CPU_MATRIX) continue;
        count[llmc_qrole_of(llmc_ir_tensor(ir, p->t[i].tid)->role)]++;
        if (p->t[i].layer + 1 > n_blocks) n_blocks = p->t[i].layer + 1;
    }
    for (size_t i = 0; i < p->n; i++) {
        cpu_tensor *t = &p->t[i];
        if (t->kind != CPU_MATRIX) continue;
        const llmc_param_role role = llmc_ir_tensor(ir, t->tid)->role;
        if (role == LLMC_ROLE_MOE_ROUTER) { /* llama-quantize never quantizes ffn_gate_inp: the router stays float */
            t->dtype = float_type(s->precision);
            continue;
        }
        const llmc_qrole r = llmc_qrole_of(role);
        llmc_kquant_query query = {mix, r, -1, count[r], t->cols, p->m.tied, p->m.experts};
        if (r == LLMC_QROLE_ATTN_V || r == LLMC_QROLE_FFN_DOWN) query.layer = index[r]++;
        if (r == LLMC_QROLE_FFN_DOWN && moe) {
            query.layer = t->layer;
            query.n_layers = n_blocks;
        }
        const llmc_qtype q = llmc_kquant_type(&query);
        if (q == LLMC_QTYPE_NONE && t->cols % LLMC_QBLOCK == 0) {
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "quantize"), "quantize",
                          "parameter '%s' has rows of %llu values, not a multiple of %d: llama.cpp's %s would store it "
                          "as %s, which llmc does not write (use quantize: q6_k or q8_0, or sizes that are multiples of %d)",
                          t->name, (unsigned long long)t->cols, LLMC_QBLOCK_K, llmc_quantize_name(s->quantize),
                          mix == LLMC_MIX_Q5_K_M || mix == LLMC_MIX_Q5_K_S ? "Q5_1" : "Q5_0", LLMC_QBLOCK_K);
            return -1;
        }
        t->dtype = wt_of(q, float_type(s->precision));
    }
    return 0;
}

int cpu_plan_build(const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir, cpu_plan *p, llmc_diags *d) {
    (void)dims;
    memset(p, 0, sizeof *p);
    if (cpu_model_read(s, ir, &p->m, d)) return -1;
    p->encdec = p->m.encdec;
    p->matrix_dtype = s->quantize == LLMC_QUANT_Q8_0   ? WT_Q8_0
                      : s->quantize == LLMC_QUANT_Q4_0 ? WT_Q4_0
                                                       : float_type(s->precision);
    /* a K-quant mix names the weights; its matrices' types are chosen per tensor (plan_kquant) */
    p->weight_name = s->quantize != LLMC_QUANT_NONE ? llmc_quantize_name(s->quantize) : cpu_dtype_name(p->matrix_dtype);
    const bool tied = p->m.tied;
    /* the attention scale, the window and the T5 output scale as the IR states them */
    llmc_ir_facts facts;
    if (llmc_ir_read_facts(ir, &facts, d)) return -1;
    p->attn_scale = facts.attention_scale;
    p->sliding_window = facts.sliding_window;
    p->output_scaled = facts.has_output_scale;
    p->output_scale = facts.output_scale;
    if (p->sliding_window > 0 && read_windows(ir, p, d)) return -1;

    size_t n_params = 0;
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++)
        if (llmc_ir_tensor(ir, (llmc_tid)i)->kind == LLMC_TENSOR_PARAM) n_params++;
    p->t = calloc(n_params ? n_params : 1, sizeof *p->t);
    if (!p->t) {
        llmc_error(d, "cpu", "out of memory planning %zu tensors", n_params);
        return -1;
    }
    uint64_t off = align_up(sizeof(llmc_file_header) + (uint64_t)n_params * sizeof(llmc_tensor_record));
    p->header_bytes = off;
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)i);
        if (ti->kind != LLMC_TENSOR_PARAM) continue;
        cpu_tensor *t = &p->t[p->n++];
        t->tid = (llmc_tid)i;
        t->name = ti->name;
        t->read_dtype = ti->dtype;
        if (strlen(ti->name) >= LLMC_NAME_BYTES) {
            llmc_error(d, "cpu", "parameter name '%s' is longer than %d bytes", ti->name, LLMC_NAME_BYTES - 1);
            return -1;
        }
        if (place(ir, ti, (llmc_tid)i, p->m.sandwich, t, d)) return -1;
        /* Gemma's (1 + w): the offset is added once, as model.bin is written */
        if (ti->role == LLMC_ROLE_NORM && !ti->is_bias && p->m.norm == LLMC_NORM_RMSNORM)
            t->norm_offset = p->m.norm_weight_offset;
        if (ti->rank == 3) {
            /* expert stacks: checked and sized below */
        } else if (ti->rank == 2) {
            t->rows = (uint64_t)ti->shape[0];
            t->cols = (uint64_t)ti->shape[1];
        } else if (ti->rank == 1) {
            t->rows = (uint64_t)ti->shape[0];
            t->cols = 1;
        } else {
            llmc_error(d, "cpu", "parameter '%s' has rank %d (expected 1 or 2)", ti->name, ti->rank);
            return -1;
        }
        if (ti->dtype != LLMC_DTYPE_F32 && ti->dtype != LLMC_DTYPE_F16 && ti->dtype != LLMC_DTYPE_BF16) {
            llmc_error(d, "cpu", "parameter '%s' has dtype %s (expected f32, f16 or bf16)", ti->name,
                       llmc_dtype_name(ti->dtype));
            return -1;
        }
        if (ti->rank == 3 && (t->slot == SLOT_EXP_GATE_W || t->slot == SLOT_EXP_UP_W || t->slot == SLOT_EXP_DOWN_W)) {
            /* a stack of experts is one matrix of E * rows rows; expert e starts at a panel when rows
             * is a whole number of panels */
            if (ti->shape[1] % LLMC_PANEL != 0) {
                llmc_error(d, "moe", "cpu: expert stack '%s' has %lld rows per expert; the CPU runtime needs a multiple "
                           "of %d (expert_intermediate_size and hidden_size)", ti->name, (long long)ti->shape[1],
                           LLMC_PANEL);
                return -1;
            }
            if (t->slot == SLOT_EXP_GATE_W) p->m.expert_ff = ti->shape[1];
            t->rows = (uint64_t)ti->shape[0] * (uint64_t)ti->shape[1];
            t->cols = (uint64_t)ti->shape[2];
        }
        if (t->slot == SLOT_SH_SCALE_W) {   /* [1, H]: the runtime's dot product reads it as a vector */
            t->rows = t->rows * t->cols;
            t->cols = 1;
        }
        if (is_matrix_slot(t->slot)) {
            t->kind = CPU_MATRIX;
            t->dtype = p->matrix_dtype;
            /* Q4_0 keeps the head at Q8_0 (as llama-quantize keeps output.weight at a higher type) */
            if (t->dtype == WT_Q4_0 && (t->slot == SLOT_HEAD_W || (tied && t->slot == SLOT_EMBED))) t->dtype = WT_Q8_0;
            /* quantized rows must be whole blocks */
            if ((t->dtype == WT_Q8_0 || t->dtype == WT_Q4_0) && t->cols % LLMC_QBLOCK != 0) t->dtype = float_type(s->precision);
        } else if (t->slot == SLOT_POS) {
            t->kind = CPU_TABLE;
            t->dtype = float_type(s->precision);
            t->nbytes = t->rows * t->cols * (t->dtype == WT_F32 ? 4 : 2);
        } else {
            t->kind = t->slot == SLOT_REL_BIAS ? CPU_TABLE : CPU_VECTOR;
            t->dtype = WT_F32;
            t->nbytes = t->rows * t->cols * 4;
        }
    }
    llmc_kquant_mix mix;
    if (!llmc_quantize_kquant_mix(s->quantize, &mix) && plan_kquant(s, ir, p, mix, d)) return -1;
    for (size_t i = 0; i < p->n; i++) {
        cpu_tensor *t = &p->t[i];
        if (t->kind == CPU_MATRIX) {
            t->panel_bytes = llmc_panel_bytes(t->dtype, t->cols);
            t->nbytes = (t->rows + LLMC_PANEL - 1) / LLMC_PANEL * t->panel_bytes;
        }
        t->offset = off;
        off = align_up(off + t->nbytes);
    }
    p->file_bytes = off;
    return check_layers(p, d);
}

void cpu_plan_free(cpu_plan *p) {
    free(p->t);
    free(p->windowed);
    memset(p, 0, sizeof *p);
}
