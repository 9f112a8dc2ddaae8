/* torchscript emitter — every decoder-only model, generated from the IR alone.
 *
 * Whatever template built the graph -- the built-in decoder_only (llama, GPT-2 layouts), parallel
 * residuals (GPT-J, NeoX), post-norm or sandwich blocks, names no backend knows -- the model is
 * written from what the IR says, never from the template's name:
 *   - the module tree is the layout's names split at the dots (one module per prefix, the
 *     stored tensors at the leaves), so state_dict() has the safetensors file's names; a
 *     parameter stored fused or transposed is read back with row slices and .t();
 *   - every parameter the code reads is found by its role, block and norm site
 *     (llmc_ir_find_param), and every parameter of the graph must be read;
 *   - each block is wired as its descriptor says: residual sequential | parallel, norms
 *     pre | post | sandwich | none, the sub-layers it has; norm kind and eps come from the
 *     norm op that reads the weight.
 * The sub-layer arithmetic (attention, MLP, norms, RoPE, masks) is written once, as module-level
 * helpers that take the parameters as arguments (ts/generic_helpers.py.in; ts/llmc.py.in has the
 * shared ones: attend, activation, RoPE tables, causal bias). The forward is ts/causal_lm.py.in
 * with one ts/block.py.in per block: this file computes their flags (the block's wiring) and
 * values (each parameter's expression), never a line of code. Encoder-decoder models keep
 * ts_model.c's T5 tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_emit.h"

/* ---- the plan: which parameter each step of the forward reads --------------------------------------- */

typedef struct norm_ref {
    llmc_tid w, b;           /* weight, bias (LLMC_TID_NONE: absent); w NONE: no norm */
    llmc_op_type kind;       /* RMSNORM or LAYERNORM */
    double eps;
    double offset;           /* RMSNORM weight_offset: scales by (offset + w) (Gemma: 1) */
} norm_ref;

typedef struct gblock {
    const llmc_ir_block *blk;
    norm_ref pre_attn, pre_mlp, post_attn, post_mlp;
    norm_ref q_norm, k_norm;  /* QK-norm: RMSNorm of each q / k head before RoPE (w NONE: none) */
    bool global;              /* a causal layer in a windowed model (sliding_window_pattern) */
    llmc_tid q, qb, k, kb, v, vb, o, ob;
    llmc_tid gate, gateb, up, upb, down, downb;
    llmc_tid router, exp_gate, exp_up, exp_down;  /* sparse experts (NONE: a dense MLP) */
    llmc_tid sh_gate, sh_up, sh_down, sh_scale;   /* Qwen2-MoE's shared expert and its sigmoid gate (NONE: none) */
    const llmc_op_info *route;                    /* the block's moe_route op */
} gblock;

typedef struct plan {
    const llmc_ir *ir;
    llmc_tid emb, pos, head, head_b;
    norm_ref emb_norm, final_norm;
    double embed_scale;      /* SCALE after the embedding (0: none) */
    double attn_softcap;     /* every ATTENTION op's softcap (0: none) */
    double logit_softcap;    /* SOFTCAP of the head's logits (0: none) */
    bool attn_softcap_seen;
    gblock *blocks;
    size_t n_blocks;
    unsigned char *used;     /* per tensor: read by the code */
    int errors;
} plan;

static void plan_free(plan *p) {
    free(p->blocks);
    free(p->used);
}

static llmc_tid find(plan *p, llmc_param_role role, bool bias, llmc_stack st, int layer) {
    llmc_tid t = llmc_ir_find_param(p->ir, role, bias, st, layer, LLMC_NORM_SITE_NONE);
    if (t != LLMC_TID_NONE) p->used[t] = 1;
    return t;
}

/* The norm at a site: its parameters, and kind and eps from the op that reads its weight. */
static norm_ref find_norm(plan *p, llmc_stack st, int layer, llmc_norm_site site, llmc_diags *d) {
    norm_ref r = {LLMC_TID_NONE, LLMC_TID_NONE, LLMC_OP_RMSNORM, 0, 0};
    r.w = llmc_ir_find_param(p->ir, LLMC_ROLE_NORM, false, st, layer, site);
    if (r.w == LLMC_TID_NONE) return r;
    r.b = llmc_ir_find_param(p->ir, LLMC_ROLE_NORM, true, st, layer, site);
    p->used[r.w] = 1;
    if (r.b != LLMC_TID_NONE) p->used[r.b] = 1;
    for (size_t i = 0; i < llmc_ir_num_ops(p->ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(p->ir, i);
        if ((op->type != LLMC_OP_RMSNORM && op->type != LLMC_OP_LAYERNORM) || op->n_inputs < 2 || op->inputs[1] != r.w)
            continue;
        if (op->type == LLMC_OP_RMSNORM && r.b != LLMC_TID_NONE) break; /* an RMSNorm has no bias */
        if (op->type == LLMC_OP_LAYERNORM && r.b != LLMC_TID_NONE && (op->n_inputs < 3 || op->inputs[2] != r.b)) break;
        const llmc_attr *eps = llmc_op_attr(op, "eps");
        r.kind = op->type;
        r.eps = eps ? llmc_attr_number(eps) : 1e-5;
        const llmc_attr *off = llmc_op_attr(op, "weight_offset");
        r.offset = off && op->type == LLMC_OP_RMSNORM ? llmc_attr_number(off) : 0;
        return r;
    }
    llmc_error(d, "emit", "torchscript: norm parameter '%s' is read by no rmsnorm or layernorm op (with its bias)",
               llmc_ir_tensor(p->ir, r.w)->name);
    p->errors++;
    r.w = LLMC_TID_NONE;
    return r;
}

bool ts_generic_has_qk_norm(const llmc_ir *ir) {
    return llmc_ir_find_param(ir, LLMC_ROLE_NORM, false, LLMC_STACK_DECODER, 0, LLMC_NORM_SITE_ATTN_Q) != LLMC_TID_NONE;
}

static void refuse_block(plan *p, const llmc_ir_block *b, llmc_diags *d, const char *what) {
    llmc_error(d, "emit", "torchscript: block %s %d (%s residual, %s norms): %s", llmc_stack_name(b->stack), b->layer,
               llmc_residual_name(b->residual), llmc_norm_placement_name(b->norm_placement), what);
    p->errors++;
}

static void plan_block(plan *p, gblock *g, llmc_diags *d) {
    const llmc_ir_block *b = g->blk;
    llmc_stack st = b->stack;
    int L = b->layer;
    norm_ref none = {LLMC_TID_NONE, LLMC_TID_NONE, LLMC_OP_RMSNORM, 0, 0};
    g->pre_attn = g->pre_mlp = g->post_attn = g->post_mlp = none;
    if (b->cross_attention) refuse_block(p, b, d, "cross-attention is not expressed in a decoder-only model");
    norm_ref ai = find_norm(p, st, L, LLMC_NORM_SITE_ATTN_INPUT, d), mi = find_norm(p, st, L, LLMC_NORM_SITE_MLP_INPUT, d);
    norm_ref bi = find_norm(p, st, L, LLMC_NORM_SITE_BLOCK_INPUT, d);
    norm_ref pa = find_norm(p, st, L, LLMC_NORM_SITE_POST_ATTN, d), pm = find_norm(p, st, L, LLMC_NORM_SITE_POST_MLP, d);
    bool pre = b->norm_placement == LLMC_NORM_PLACEMENT_PRE || b->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH;
    bool post = b->norm_placement == LLMC_NORM_PLACEMENT_POST || b->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH;
    if (b->norm_placement == LLMC_NORM_PLACEMENT_NONE) {
        if (ai.w != LLMC_TID_NONE || mi.w != LLMC_TID_NONE || bi.w != LLMC_TID_NONE || pa.w != LLMC_TID_NONE ||
            pm.w != LLMC_TID_NONE)
            refuse_block(p, b, d, "it declares no norms but has norm parameters");
        return;
    }
    if (pre) {
        /* the norm an input reads: its own site, else the one norm of the block (parallel blocks) */
        g->pre_attn = ai.w != LLMC_TID_NONE ? ai : bi;
        g->pre_mlp = mi.w != LLMC_TID_NONE ? mi : bi;
        if (b->self_attention && g->pre_attn.w == LLMC_TID_NONE)
            refuse_block(p, b, d, "no norm parameter at site attn_input or block_input");
        if (b->mlp && g->pre_mlp.w == LLMC_TID_NONE) refuse_block(p, b, d, "no norm parameter at site mlp_input or block_input");
    } else if (ai.w != LLMC_TID_NONE || mi.w != LLMC_TID_NONE || bi.w != LLMC_TID_NONE) {
        refuse_block(p, b, d, "input norms in a block whose norms follow the sub-layers");
    }
    if (post) {
        g->post_attn = pa;
        g->post_mlp = pm;
        if (b->self_attention && pa.w == LLMC_TID_NONE) refuse_block(p, b, d, "no norm parameter at site post_attn");
        if (b->mlp && pm.w == LLMC_TID_NONE) refuse_block(p, b, d, "no norm parameter at site post_mlp");
        if (b->residual == LLMC_RESIDUAL_PARALLEL && b->norm_placement == LLMC_NORM_PLACEMENT_POST)
            refuse_block(p, b, d, "a post norm of the parallel sum has no norm site (post_attn and post_mlp "
                                  "each follow one sub-layer)");
    } else if (pa.w != LLMC_TID_NONE || pm.w != LLMC_TID_NONE) {
        refuse_block(p, b, d, "post norms in a pre-norm block");
    }
}

static void plan_sublayers(plan *p, gblock *g, llmc_diags *d) {
    const llmc_ir_block *b = g->blk;
    llmc_stack st = b->stack;
    int L = b->layer;
    g->q = find(p, LLMC_ROLE_ATTN_Q, false, st, L);
    g->qb = find(p, LLMC_ROLE_ATTN_Q, true, st, L);
    g->k = find(p, LLMC_ROLE_ATTN_K, false, st, L);
    g->kb = find(p, LLMC_ROLE_ATTN_K, true, st, L);
    g->v = find(p, LLMC_ROLE_ATTN_V, false, st, L);
    g->vb = find(p, LLMC_ROLE_ATTN_V, true, st, L);
    g->o = find(p, LLMC_ROLE_ATTN_O, false, st, L);
    g->ob = find(p, LLMC_ROLE_ATTN_O, true, st, L);
    g->gate = find(p, LLMC_ROLE_MLP_GATE, false, st, L);
    g->gateb = find(p, LLMC_ROLE_MLP_GATE, true, st, L);
    g->up = find(p, LLMC_ROLE_MLP_UP, false, st, L);
    g->upb = find(p, LLMC_ROLE_MLP_UP, true, st, L);
    g->down = find(p, LLMC_ROLE_MLP_DOWN, false, st, L);
    g->downb = find(p, LLMC_ROLE_MLP_DOWN, true, st, L);
    if (llmc_ir_find_param(p->ir, LLMC_ROLE_ATTN_QKV, false, st, L, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE)
        refuse_block(p, b, d, "fused q/k/v projections (role attn_qkv) are not expressed by the generic code");
    g->q_norm = find_norm(p, st, L, LLMC_NORM_SITE_ATTN_Q, d);
    g->k_norm = find_norm(p, st, L, LLMC_NORM_SITE_ATTN_K, d);
    /* one self_attention helper for all blocks: every block has both per-head rmsnorms, or none does */
    bool qk = g->q_norm.w != LLMC_TID_NONE, want = ts_generic_has_qk_norm(p->ir);
    if (qk != (g->k_norm.w != LLMC_TID_NONE) || (b->self_attention && qk != want) ||
        (qk && (g->q_norm.kind != LLMC_OP_RMSNORM || g->k_norm.kind != LLMC_OP_RMSNORM ||
                g->q_norm.eps != g->k_norm.eps || g->q_norm.b != LLMC_TID_NONE || g->k_norm.b != LLMC_TID_NONE)))
        refuse_block(p, b, d, "qk_norm: the generic code applies one rmsnorm (one eps, no bias) to every q and k head "
                              "of every block, and this block's attn_q / attn_k norms differ from that");
    bool attn = g->q != LLMC_TID_NONE && g->k != LLMC_TID_NONE && g->v != LLMC_TID_NONE && g->o != LLMC_TID_NONE;
    if (b->self_attention != attn)
        refuse_block(p, b, d, b->self_attention ? "self-attention without attn_q, attn_k, attn_v and attn_o weights"
                                                : "attention weights in a block without self-attention");
    g->router = find(p, LLMC_ROLE_MOE_ROUTER, false, st, L);
    g->exp_gate = find(p, LLMC_ROLE_EXPERT_GATE, false, st, L);
    g->exp_up = find(p, LLMC_ROLE_EXPERT_UP, false, st, L);
    g->exp_down = find(p, LLMC_ROLE_EXPERT_DOWN, false, st, L);
    g->route = NULL;
    for (size_t i = 0; i < llmc_ir_num_ops(p->ir) && g->router != LLMC_TID_NONE; i++) {
        const llmc_op_info *op = llmc_ir_op_at(p->ir, i);
        if (op->type == LLMC_OP_MOE_ROUTE && op->stack == st && op->layer == L) g->route = op;
    }
    bool moe = g->router != LLMC_TID_NONE && g->exp_gate != LLMC_TID_NONE && g->exp_up != LLMC_TID_NONE &&
               g->exp_down != LLMC_TID_NONE && g->route;
    if ((g->router != LLMC_TID_NONE) != moe) refuse_block(p, b, d, "a router without expert stacks and a moe_route op");
    g->sh_gate = find(p, LLMC_ROLE_SHARED_EXPERT_GATE, false, st, L);
    g->sh_up = find(p, LLMC_ROLE_SHARED_EXPERT_UP, false, st, L);
    g->sh_down = find(p, LLMC_ROLE_SHARED_EXPERT_DOWN, false, st, L);
    g->sh_scale = find(p, LLMC_ROLE_SHARED_EXPERT_SCALE, false, st, L);
    bool shared = g->sh_gate != LLMC_TID_NONE && g->sh_up != LLMC_TID_NONE && g->sh_down != LLMC_TID_NONE &&
                  g->sh_scale != LLMC_TID_NONE;
    if (shared != (g->sh_gate != LLMC_TID_NONE || g->sh_up != LLMC_TID_NONE || g->sh_down != LLMC_TID_NONE ||
                   g->sh_scale != LLMC_TID_NONE) || (shared && !moe))
        refuse_block(p, b, d, "a shared expert needs its gate, up, down and scale weights beside the routed experts");
    bool mlp = moe || (g->up != LLMC_TID_NONE && g->down != LLMC_TID_NONE);
    if (b->mlp != mlp)
        refuse_block(p, b, d, b->mlp ? "an MLP without mlp_up and mlp_down weights" : "MLP weights in a block without MLP");
}

/* an MLP op of a decoder block that has a shared expert (its sigmoid and product are the
 * shared_expert helper's) */
static bool shared_expert_op(const plan *p, const llmc_op_info *op) {
    return op->role == LLMC_OPROLE_MLP && op->stack == LLMC_STACK_DECODER && op->layer >= 0 &&
           (size_t)op->layer < llmc_ir_num_blocks(p->ir) && p->blocks[op->layer].sh_scale != LLMC_TID_NONE;
}

/* Op kinds whose arithmetic the generic code writes; the spec and the IR must agree on the
 * activation, RoPE and window the helpers compute. */
static void plan_ops(plan *p, const llmc_spec *s, llmc_diags *d) {
    for (size_t i = 0; i < llmc_ir_num_ops(p->ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(p->ir, i);
        const char *bad = NULL;
        switch (op->type) {
        case LLMC_OP_EMBEDDING: case LLMC_OP_LINEAR: case LLMC_OP_RMSNORM: case LLMC_OP_LAYERNORM:
        case LLMC_OP_RESHAPE: case LLMC_OP_ADD:
        case LLMC_OP_MOE_ROUTE: case LLMC_OP_MOE_EXPERTS: /* moe helper (generic_helpers.py.in) */
            break;
        case LLMC_OP_ATTENTION: {
            const llmc_attr *cap = llmc_op_attr(op, "softcap"), *mask = llmc_op_attr(op, "mask");
            double c = cap ? llmc_attr_number(cap) : 0;
            if (i > 0 && c != p->attn_softcap && p->attn_softcap_seen) bad = "a score soft-cap other than the other layers'";
            p->attn_softcap = c;
            p->attn_softcap_seen = true;
            /* windowed models may have global layers (sliding_window_pattern): those get the causal bias */
            if (mask && mask->type == LLMC_ATTR_STRING && !strcmp(mask->s, "causal") &&
                s->attention == LLMC_ATTN_SLIDING_WINDOW && op->stack == LLMC_STACK_DECODER && op->layer >= 0 &&
                (size_t)op->layer < llmc_ir_num_blocks(p->ir))
                p->blocks[op->layer].global = true;
            break;
        }
        case LLMC_OP_SCALE: {
            const llmc_attr *f = llmc_op_attr(op, "factor");
            if (op->role != LLMC_OPROLE_EMBEDDING || p->embed_scale != 0) bad = "a scale the generic code does not write";
            else p->embed_scale = f ? llmc_attr_number(f) : 1;
            break;
        }
        case LLMC_OP_SOFTCAP: {
            /* the generic code caps the logits only: the op must read the head's output */
            const llmc_tensor_info *x = op->n_inputs > 0 ? llmc_ir_tensor(p->ir, op->inputs[0]) : NULL;
            const llmc_op_info *src = x && x->producer >= 0 ? llmc_ir_op_at(p->ir, (size_t)x->producer) : NULL;
            const llmc_attr *cap = llmc_op_attr(op, "cap");
            if (!src || src->role != LLMC_OPROLE_HEAD || src->type != LLMC_OP_LINEAR || llmc_ir_num_outputs(p->ir) != 1 ||
                op->outputs[0] != llmc_ir_output(p->ir, 0))
                bad = "a soft-cap of something other than the head's logits";
            else p->logit_softcap = cap ? llmc_attr_number(cap) : 0;
            break;
        }
        case LLMC_OP_ROPE: {
            const llmc_attr *fr = llmc_op_attr(op, "fraction"), *style = llmc_op_attr(op, "style");
            const llmc_attr *theta = llmc_op_attr(op, "theta"), *sc = llmc_op_attr(op, "scaling");
            if (s->positional != LLMC_POS_ROPE) bad = "a rope op in a model whose positional_encoding is not rope";
            else if ((fr ? llmc_attr_number(fr) : 1.0) != s->rope.fraction) bad = "a rotary share other than the spec's rope.fraction";
            else if (style && style->type == LLMC_ATTR_STRING && strcmp(style->s, "neox")) bad = "gptj-style (interleaved) rotary";
            else if (theta && llmc_attr_number(theta) != s->rope.theta) bad = "a rope theta other than the spec's";
            else if (sc && sc->type == LLMC_ATTR_STRING && strcmp(sc->s, llmc_rope_scaling_name(s->rope.scaling)))
                bad = "a rope scaling other than the spec's";
            break;
        }
        case LLMC_OP_ALIBI:
            if (s->positional != LLMC_POS_ALIBI) bad = "an alibi op in a model whose positional_encoding is not alibi";
            break;
        case LLMC_OP_POSITIONS_LEARNED:
            if (s->positional != LLMC_POS_LEARNED) bad = "learned positions in a model whose positional_encoding is not learned";
            break;
        case LLMC_OP_POSITIONS_SINUSOIDAL:
            if (s->positional != LLMC_POS_SINUSOIDAL) bad = "sinusoidal positions in a model whose positional_encoding is not sinusoidal";
            break;
        case LLMC_OP_SWIGLU:
            if (s->activation != LLMC_ACT_SWIGLU) bad = "a swiglu op in a model whose activation is not swiglu";
            break;
        case LLMC_OP_GEGLU:
            if (s->activation != LLMC_ACT_GEGLU) bad = "a geglu op in a model whose activation is not geglu";
            break;
        case LLMC_OP_ACTIVATION: {
            const llmc_attr *fn = llmc_op_attr(op, "fn");
            /* the sigmoid scaling a shared expert is the shared_expert helper's */
            bool sigmoid = fn && fn->type == LLMC_ATTR_STRING && !strcmp(fn->s, "sigmoid") && shared_expert_op(p, op);
            if (!sigmoid && (!fn || fn->type != LLMC_ATTR_STRING || strcmp(fn->s, llmc_activation_name(s->activation))))
                bad = "an activation other than the spec's";
            break;
        }
        case LLMC_OP_MUL:
            if (!shared_expert_op(p, op)) bad = "a product other than a shared expert's scaling";
            break;
        default:
            bad = "an op the generic code does not write";
        }
        if (bad) {
            llmc_error(d, "emit", "torchscript: op '%s' (%s): %s", op->name, llmc_op_type_name(op->type), bad);
            p->errors++;
        }
    }
}

static int plan_build(plan *p, const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    memset(p, 0, sizeof *p);
    p->ir = ir;
    size_t nt = llmc_ir_num_tensors(ir), nb = llmc_ir_num_blocks(ir);
    p->used = calloc(nt + 1, 1);
    p->blocks = calloc(nb + 1, sizeof *p->blocks);
    if (!p->used || !p->blocks) {
        llmc_error(d, "emit", "torchscript: out of memory planning the model");
        plan_free(p);
        return -1;
    }
    if (llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY) {
        llmc_error(d, "emit", "torchscript: the generic code writes decoder-only models; this %s graph's blocks or "
                   "names are not the encoder_decoder template's", llmc_ir_structure_name(llmc_ir_get_structure(ir)));
        plan_free(p);
        return -1;
    }
    /* blocks in layer order: decoder layers 0 .. n-1, each once */
    for (size_t i = 0; i < nb; i++) {
        const llmc_ir_block *b = llmc_ir_find_block(ir, LLMC_STACK_DECODER, (int)i);
        if (!b) {
            llmc_error(d, "emit", "torchscript: the graph's %zu blocks are not decoder layers 0 .. %zu", nb, nb - 1);
            plan_free(p);
            return -1;
        }
        p->blocks[i].blk = b;
        plan_block(p, &p->blocks[i], d);
        plan_sublayers(p, &p->blocks[i], d);
    }
    p->n_blocks = nb;
    p->emb = find(p, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1);
    if (p->emb == LLMC_TID_NONE) {
        llmc_error(d, "emit", "torchscript: the graph has no token embedding (role token_embedding)");
        p->errors++;
    }
    p->pos = find(p, LLMC_ROLE_POSITION_EMBEDDING, false, LLMC_STACK_NONE, -1);
    if ((p->pos != LLMC_TID_NONE) != (s->positional == LLMC_POS_LEARNED)) {
        llmc_error(d, "emit", "torchscript: learned positions and a position table (role position_embedding) must "
                   "come together");
        p->errors++;
    }
    p->emb_norm = find_norm(p, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_EMBEDDING, d);
    p->final_norm = find_norm(p, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_FINAL, d);
    if (p->final_norm.w == LLMC_TID_NONE) p->final_norm = find_norm(p, LLMC_STACK_DECODER, -1, LLMC_NORM_SITE_FINAL, d);
    p->head = find(p, LLMC_ROLE_OUTPUT_HEAD, false, LLMC_STACK_NONE, -1);
    p->head_b = find(p, LLMC_ROLE_OUTPUT_HEAD, true, LLMC_STACK_NONE, -1);
    plan_ops(p, s, d);
    /* a parameter the code would not read is a model the archive would not compute */
    for (size_t t = 0; t < nt; t++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
        if (ti->kind != LLMC_TENSOR_PARAM || p->used[t]) continue;
        llmc_error(d, "emit", "torchscript: parameter '%s' (role %s%s, %s %d) has no place in the generic code",
                   ti->name, llmc_param_role_name(ti->role), ti->is_bias ? " bias" : "", llmc_stack_name(ti->stack),
                   ti->layer);
        p->errors++;
    }
    if (p->errors) {
        plan_free(p);
        return -1;
    }
    return 0;
}

int ts_generic_check(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    plan p;
    if (plan_build(&p, s, ir, d)) return -1;
    plan_free(&p);
    return 0;
}

/* ---- the module tree from the layout's names ------------------------------------------------------------ */

static bool is_digits(const char *s, size_t n) {
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static bool is_ident(const char *s, size_t n) {
    static const char *const reserved[] = {"False", "None", "True", "and", "as", "assert", "async", "await", "break",
                                           "class", "continue", "def", "del", "elif", "else", "except", "finally",
                                           "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
                                           "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
                                           "training", "forward", "self"};
    if (!n || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    if (n >= 2 && s[0] == '_' && s[1] == '_') return false; /* dunder names are TorchScript's */
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == n && !strncmp(reserved[i], s, n)) return false;
    return true;
}

static ts_node *kid_named(ts_node *n, const char *attr, size_t len) {
    for (size_t i = 0; i < n->n_kids; i++)
        if (strlen(n->kids[i]->attr) == len && !strncmp(n->kids[i]->attr, attr, len)) return n->kids[i];
    return NULL;
}

static bool has_param(const ts_node *n, const char *attr, size_t len) {
    for (int i = 0; i < n->n_params; i++)
        if (strlen(n->params[i].attr) == len && !strncmp(n->params[i].attr, attr, len)) return true;
    return false;
}

/* Class names: the node's path with indices as N ("transformer_h_N_attn"), a suffix when
 * instances of one path differ (a block with a parameter the others lack). */
typedef struct cls_rec {
    const ts_node *first;
    const char *name;
} cls_rec;

typedef struct namer {
    cls_rec *r;
    size_t n, cap;
    bool oom;
} namer;

static bool same_attrs(const ts_node *a, const ts_node *b) {
    if (a->n_params != b->n_params || a->n_kids != b->n_kids) return false;
    for (int i = 0; i < a->n_params; i++)
        if (strcmp(a->params[i].attr, b->params[i].attr)) return false;
    for (size_t i = 0; i < a->n_kids; i++)
        if (strcmp(a->kids[i]->attr, b->kids[i]->attr) || strcmp(a->kids[i]->cls, b->kids[i]->cls)) return false;
    return true;
}

static void name_classes(namer *nm, ts_node *n, const char *pattern) {
    char pat[LLMC_VIEW_NAME_MAX + 8];
    for (size_t i = 0; i < n->n_kids; i++) {
        const char *a = is_digits(n->kids[i]->attr, strlen(n->kids[i]->attr)) ? "N" : n->kids[i]->attr;
        snprintf(pat, sizeof pat, "%s%s%s", pattern, *pattern ? "_" : "", a);
        name_classes(nm, n->kids[i], pat);
    }
    if (!*pattern) return; /* the root keeps its class */
    int variant = 0;
    for (size_t i = 0; i < nm->n; i++) {
        size_t pl = strlen(pattern);
        if (strncmp(nm->r[i].name, pattern, pl) || (nm->r[i].name[pl] && nm->r[i].name[pl] != '_')) continue;
        if (nm->r[i].name[pl] == '_' && !is_digits(nm->r[i].name + pl + 2, strlen(nm->r[i].name + pl + 2))) continue;
        if (same_attrs(nm->r[i].first, n)) {
            n->cls = nm->r[i].name;
            return;
        }
        variant++;
    }
    char name[LLMC_VIEW_NAME_MAX + 32];
    if (variant) snprintf(name, sizeof name, "%s_v%d", pattern, variant + 1);
    else snprintf(name, sizeof name, "%s", pattern);
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? nm->cap * 2 : 32;
        cls_rec *r = realloc(nm->r, cap * sizeof *r);
        if (!r) {
            nm->oom = true;
            return;
        }
        nm->r = r;
        nm->cap = cap;
    }
    n->own_cls = strdup(name);
    if (!n->own_cls) {
        nm->oom = true;
        return;
    }
    n->cls = n->own_cls;
    nm->r[nm->n++] = (cls_rec){n, n->cls};
}

bool ts_generic_reads(const llmc_tensor_view *v) {
    if (v->n_parts < 1 || v->n_parts > LLMC_VIEW_MAX_PARTS || v->rank < 1 || v->rank > LLMC_IR_MAX_RANK) return false;
    return v->transform == LLMC_VIEW_IDENTITY || (v->transform == LLMC_VIEW_TRANSPOSE && v->rank == 2) ||
           (v->transform == LLMC_VIEW_EXPERT && v->rank == 2); /* one expert of a stack: the moe helper's lists */
}

int ts_generic_tree(ts_tree *t, const ts_facts *f, llmc_diags *d) {
    const llmc_layout *l = f->layout;
    memset(t, 0, sizeof *t);
    t->root = ts_node_new(t, "CausalLM", "");
    int errors = 0;
    for (size_t i = 0; t->root && !t->oom && i < l->n_views; i++) {
        const llmc_tensor_view *v = &l->views[i];
        if (!ts_generic_reads(v)) {
            llmc_error(d, "emit", "torchscript: the generic code reads stored tensors as IR parameters, concatenated "
                       "or transposed; '%s' of the %s layout is another transform", v->name, l->family);
            errors++;
            continue;
        }
        ts_node *n = t->root;
        const char *c = v->name;
        for (;;) {
            const char *dot = strchr(c, '.');
            size_t len = dot ? (size_t)(dot - c) : strlen(c);
            bool digits = is_digits(c, len);
            if (len >= sizeof n->attr || (!is_ident(c, len) && (!dot || !digits))) {
                llmc_error(d, "emit", "torchscript: parameter name '%s': '%.*s' cannot be a TorchScript attribute",
                           v->name, (int)len, c);
                errors++;
                break;
            }
            if (!dot) {
                if (kid_named(n, c, len) || has_param(n, c, len) || n->n_params >= TS_NODE_MAX_PARAMS) {
                    llmc_error(d, "emit", "torchscript: parameter '%s' clashes with another name or module (at most "
                               "%d parameters per module)", v->name, TS_NODE_MAX_PARAMS);
                    errors++;
                    break;
                }
                ts_param *p = &n->params[n->n_params++];
                snprintf(p->attr, sizeof p->attr, "%s", c);
                p->rank = v->rank;
                for (int r = 0; r < v->rank; r++) p->shape[r] = v->shape[r];
                p->view = -1;
                break;
            }
            ts_node *k = kid_named(n, c, len);
            if (!k) {
                if (has_param(n, c, len)) {
                    llmc_error(d, "emit", "torchscript: '%s' is both a parameter and a module prefix", v->name);
                    errors++;
                    break;
                }
                char attr[LLMC_VIEW_NAME_MAX];
                snprintf(attr, sizeof attr, "%.*s", (int)len, c);
                k = ts_node_add(t, n, ts_node_new(t, "", attr));
                if (!k) break;
            }
            n = k;
            c = dot + 1;
        }
    }
    namer nm = {0};
    if (t->root && !t->oom && !errors) name_classes(&nm, t->root, "");
    free(nm.r);
    if (t->oom || nm.oom || !t->root) llmc_error(d, "emit", "torchscript: out of memory building the module tree");
    if (t->oom || nm.oom || !t->root || errors) {
        ts_tree_free(t);
        return -1;
    }
    return 0;
}

/* ---- code ------------------------------------------------------------------------------------------------- */

/* The expression for dotted path[0..len) below base: attributes, numbered children through
 * getattr ("getattr(self.transformer.h, \"3\").ln_1"). false if it does not fit in n. */
static bool path_expr(const char *base, const char *path, size_t len, char *buf, size_t n) {
    char tmp[LLMC_VIEW_NAME_MAX * 3];
    if ((size_t)snprintf(buf, n, "%s", base) >= n) return false;
    for (const char *c = path, *end = path + len; c < end;) {
        const char *dot = memchr(c, '.', (size_t)(end - c));
        int k = dot ? (int)(dot - c) : (int)(end - c);
        int m = is_digits(c, (size_t)k) ? snprintf(tmp, sizeof tmp, "getattr(%s, \"%.*s\")", buf, k, c)
                                        : snprintf(tmp, sizeof tmp, "%s.%.*s", buf, k, c);
        if (m < 0 || (size_t)m >= sizeof tmp || (size_t)m >= n) return false;
        memcpy(buf, tmp, (size_t)m + 1);
        if (!dot) break;
        c = dot + 1;
    }
    return true;
}

typedef struct writer {
    const ts_facts *f;
    llmc_diags *d;
    bool rms_norm, layer_norm, layer_norm_no_bias; /* the norm helpers the forward calls */
    bool rms_norm_offset;
    bool rope;
    int errors;
    char block[LLMC_VIEW_NAME_MAX];  /* the current block's module path ("transformer.h.3"), "" outside blocks */
    char block_var[24];              /* the local bound to it ("block3"): one per block, each of its own class */
    bool moe;                        /* a block has sparse experts: the moe helper is written */
    bool moe_shared;                 /* ... and a shared expert: the shared_expert helper too */
} writer;

/* The stored tensor holding parameter t, and which of its parts t is; NULL if none. */
static const llmc_tensor_view *stored(const writer *w, llmc_tid t, int *part) {
    const llmc_layout *l = w->f->layout;
    for (size_t i = 0; t != LLMC_TID_NONE && i < l->n_views; i++)
        for (int k = 0; k < l->views[i].n_parts; k++)
            if (l->views[i].parts[k] == t) {
                *part = k;
                return &l->views[i];
            }
    return NULL;
}

static const char *stored_name(const writer *w, llmc_tid t) {
    int part;
    const llmc_tensor_view *v = stored(w, t, &part);
    return v ? v->name : NULL;
}

/* The expression that reads parameter t in the root's forward: its stored tensor's name as a
 * path (numbered children through getattr), transposed back (GPT-2's Conv1D weights) and its rows
 * of a concatenation (fused c_attn) cut out; "None" for an absent (optional) one. */
static const char *pexpr(writer *w, llmc_tid t, char *buf, size_t n) {
    if (t == LLMC_TID_NONE) return "None";
    int part = 0;
    const llmc_tensor_view *v = stored(w, t, &part);
    if (!v) {
        w->errors++;
        return "None";
    }
    const char *name = v->name;
    size_t bl = strlen(w->block), used;
    bool in_block = bl && !strncmp(name, w->block, bl) && name[bl] == '.';
    if (!path_expr(in_block ? w->block_var : "self", in_block ? name + bl + 1 : name, strlen(name), buf, n)) {
        w->errors++;
        return "None";
    }
    used = strlen(buf);
    if (v->transform == LLMC_VIEW_TRANSPOSE) used += (size_t)snprintf(buf + used, n > used ? n - used : 0, ".t()");
    if (v->n_parts > 1 && used < n) {
        int64_t off = 0;
        for (int k = 0; k < part; k++) off += llmc_ir_tensor(w->f->ir, v->parts[k])->shape[0];
        used += (size_t)snprintf(buf + used, n - used, "[%lld:%lld]", (long long)off,
                                 (long long)(off + llmc_ir_tensor(w->f->ir, t)->shape[0]));
    }
    if (used >= n) {
        w->errors++;
        return "None";
    }
    return buf;
}

/* "[e0, e1, ...]": the expression of each expert of stack t (its LLMC_VIEW_EXPERT views, in order) */
static void experts_expr(writer *w, llmc_tid t, llmc_strbuf *out) {
    const llmc_layout *l = w->f->layout;
    const int64_t E = llmc_ir_tensor(w->f->ir, t)->shape[0];
    llmc_strbuf_puts(out, "[");
    for (int64_t e = 0; e < E; e++) {
        const llmc_tensor_view *v = NULL;
        for (size_t i = 0; i < l->n_views && !v; i++)
            if (l->views[i].transform == LLMC_VIEW_EXPERT && l->views[i].parts[0] == t && l->views[i].index == e)
                v = &l->views[i];
        char buf[1024];
        size_t bl = strlen(w->block);
        bool in_block = v && bl && !strncmp(v->name, w->block, bl) && v->name[bl] == '.';
        if (!v || !path_expr(in_block ? w->block_var : "self", in_block ? v->name + bl + 1 : v->name,
                             strlen(v->name), buf, sizeof buf)) {
            w->errors++;
            return;
        }
        llmc_strbuf_printf(out, "%s%s", e ? ", " : "", buf);
    }
    llmc_strbuf_puts(out, "]");
}

/* The norm at r applied to local `x`, as an expression (norm.py.in). */
static void norm_var(writer *w, ts_vars *into, const char *var, const norm_ref *r, const char *x) {
    char pw[1024], pb[1024];
    ts_vars v = {0};
    bool offset = r->kind == LLMC_OP_RMSNORM && r->offset != 0;
    w->rms_norm |= r->kind == LLMC_OP_RMSNORM && !offset; /* the offset form has its own helper */
    w->layer_norm |= r->kind == LLMC_OP_LAYERNORM && r->b != LLMC_TID_NONE;
    w->layer_norm_no_bias |= r->kind == LLMC_OP_LAYERNORM && r->b == LLMC_TID_NONE;
    w->rms_norm_offset |= offset;
    ts_flag(&v, "rmsnorm_offset", offset);
    ts_flag(&v, "rmsnorm", r->kind == LLMC_OP_RMSNORM);
    ts_flag(&v, "bias", r->b != LLMC_TID_NONE);
    ts_var_float(&v, "OFFSET", r->offset);
    ts_var(&v, "INPUT", x);
    ts_var(&v, "WEIGHT", pexpr(w, r->w, pw, sizeof pw));
    ts_var(&v, "BIAS", pexpr(w, r->b, pb, sizeof pb));
    ts_var_float(&v, "EPS", r->eps);
    if (ts_render_var("norm.py", &v, into, var, w->d)) w->errors++;
    ts_vars_free(&v);
}

/* The local (module path) that all of the block's parameters live under, if they share one. */
static size_t common_module(const writer *w, const gblock *g, const char **common) {
    const llmc_tid ts[] = {g->pre_attn.w, g->pre_attn.b, g->pre_mlp.w, g->pre_mlp.b, g->post_attn.w, g->post_attn.b,
                           g->post_mlp.w, g->post_mlp.b, g->q, g->qb, g->k, g->kb, g->v, g->vb, g->o, g->ob,
                           g->gate, g->gateb, g->up, g->upb, g->down, g->downb, g->q_norm.w, g->k_norm.w};
    size_t clen = 0;
    *common = NULL;
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        const char *name = stored_name(w, ts[i]);
        if (!name) continue;
        const char *dot = strrchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : 0; /* its module's path */
        if (!*common) {
            *common = name;
            clen = len;
            continue;
        }
        size_t k = 0;
        while (k < clen && k < len && (*common)[k] == name[k]) k++;
        /* keep whole components only */
        if (!((k == clen || (*common)[k] == '.') && (k == len || name[k] == '.')))
            while (k > 0 && (*common)[k] != '.') k--;
        clen = k;
    }
    return clen;
}

/* One block (block.py.in), wired as its descriptor says:
 *   sequential: h = h + f(pre(h)) per sub-layer (pre: its input norm, or none), then post: h = norm(h)
 *               sandwich: h = h + post(f(pre(h)))
 *   parallel:   h = h + attn(pre_a(h)) + mlp(pre_m(h)), one norm computed once when both read it */
static void block_code(writer *w, const gblock *g, llmc_strbuf *out) {
    const llmc_ir_block *b = g->blk;
    bool parallel = b->residual == LLMC_RESIDUAL_PARALLEL;
    bool sandwich = b->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH;
    bool post = b->norm_placement == LLMC_NORM_PLACEMENT_POST;
    bool pre_attn = b->self_attention && g->pre_attn.w != LLMC_TID_NONE;
    bool pre_mlp = b->mlp && g->pre_mlp.w != LLMC_TID_NONE;
    bool shared = parallel && pre_attn && pre_mlp && g->pre_mlp.w == g->pre_attn.w; /* the block's one input norm */
    ts_vars v = {0};
    ts_flag(&v, "parallel", parallel);
    ts_flag(&v, "attention", b->self_attention);
    ts_flag(&v, "mlp", b->mlp);
    ts_flag(&v, "pre_attn_norm", pre_attn);
    ts_flag(&v, "pre_mlp_norm", pre_mlp);
    ts_flag(&v, "shared_input_norm", shared);
    ts_flag(&v, "sandwich", sandwich);
    ts_flag(&v, "post", post);
    ts_flag(&v, "rope", w->rope);
    ts_flag(&v, "gated", llmc_activation_is_gated(w->f->s->activation));
    const bool moe = g->router != LLMC_TID_NONE;
    ts_flag(&v, "moe", moe);
    w->moe |= moe;
    const bool moe_shared = moe && g->sh_scale != LLMC_TID_NONE;
    ts_flag(&v, "moe_shared", moe_shared);
    w->moe_shared |= moe_shared;
    const bool qk = b->self_attention && g->q_norm.w != LLMC_TID_NONE;
    ts_flag(&v, "qk_norm", qk);
    if (qk) w->rms_norm = true;
    ts_var_float(&v, "QK_EPS", qk ? g->q_norm.eps : 0.0);
    ts_var_int(&v, "LAYER", b->layer);
    ts_var(&v, "BIAS_VAR", g->global ? "bias_full" : "bias");
    ts_var(&v, "RESIDUAL", llmc_residual_name(b->residual));
    ts_var(&v, "NORM_PLACEMENT", llmc_norm_placement_name(b->norm_placement));
    /* the module all of the block's parameters live under is bound to a local `block<i>`, and
     * the block's parameters are read through it */
    const char *common;
    size_t clen = common_module(w, g, &common);
    char e[1024];
    w->block[0] = '\0';
    bool bound = common && clen && clen < sizeof w->block && path_expr("self", common, clen, e, sizeof e);
    ts_flag(&v, "block_module", bound);
    if (bound) {
        snprintf(w->block_var, sizeof w->block_var, "block%d", b->layer);
        snprintf(w->block, sizeof w->block, "%.*s", (int)clen, common);
        ts_var(&v, "BLOCK", w->block_var);
        ts_var(&v, "BLOCK_MODULE", e);
    }
    /* the locals each sub-layer reads and writes (block.py.in's names) */
    ts_var(&v, "ATTN_IN", pre_attn ? (parallel ? "xa" : "x") : "h");
    ts_var(&v, "MLP_IN", pre_mlp ? (shared ? "xa" : parallel ? "xm" : "x") : "h");
    ts_var(&v, "ATTN_OUT", parallel ? "a" : "y");
    ts_var(&v, "MLP_OUT", parallel ? "m" : "y");
    if (pre_attn) norm_var(w, &v, "PRE_ATTN_NORM", &g->pre_attn, "h");
    if (pre_mlp) norm_var(w, &v, "PRE_MLP_NORM", &g->pre_mlp, "h");
    /* a post norm reads the residual sum; a sandwich norm the sub-layer's output */
    if ((post || sandwich) && b->self_attention)
        norm_var(w, &v, "POST_ATTN_NORM", &g->post_attn, post ? "h" : parallel ? "a" : "y");
    if ((post || sandwich) && b->mlp) norm_var(w, &v, "POST_MLP_NORM", &g->post_mlp, post ? "h" : parallel ? "m" : "y");
    static const char *const names[] = {"WQ", "BQ", "WK", "BK", "WV", "BV", "WO", "BO",
                                        "WG", "BG", "WU", "BU", "WD", "BD", "WQN", "WKN"};
    const llmc_tid ids[] = {g->q, g->qb, g->k, g->kb, g->v, g->vb, g->o, g->ob,
                            g->gate, g->gateb, g->up, g->upb, g->down, g->downb, g->q_norm.w, g->k_norm.w};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) ts_var(&v, names[i], pexpr(w, ids[i], e, sizeof e));
    if (moe) {
        ts_var(&v, "WR", pexpr(w, g->router, e, sizeof e));
        const llmc_tid stacks[3] = {g->exp_gate, g->exp_up, g->exp_down};
        static const char *const stack_vars[3] = {"WEG", "WEU", "WED"};
        for (int i = 0; i < 3; i++) {
            llmc_strbuf s = {0};
            experts_expr(w, stacks[i], &s);
            ts_var_take(&v, stack_vars[i], &s);
        }
        const llmc_attr *k = llmc_op_attr(g->route, "experts_per_token"), *r = llmc_op_attr(g->route, "routing"),
                        *nz = llmc_op_attr(g->route, "normalize");
        ts_var_int(&v, "TOPK", k ? k->i : 1);
        ts_var(&v, "TOPK_SOFTMAX", r && !strcmp(r->s, "topk_softmax") ? "True" : "False");
        ts_var(&v, "NORMALIZE", nz && nz->i ? "True" : "False");
        static const char *const shared_vars[4] = {"WSG", "WSU", "WSD", "WSS"};
        const llmc_tid shared[4] = {g->sh_gate, g->sh_up, g->sh_down, g->sh_scale};
        for (int i = 0; i < 4; i++) ts_var(&v, shared_vars[i], pexpr(w, shared[i], e, sizeof e));
    }
    if (ts_render("block.py", &v, out, w->d)) w->errors++;
    ts_vars_free(&v);
}

int ts_generic_forward(ts_vars *v, ts_vars *helpers, const ts_facts *f, llmc_diags *d) {
    plan p;
    if (plan_build(&p, f->s, f->ir, d)) return -1;
    writer w;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.d = d;
    w.rope = f->s->positional == LLMC_POS_ROPE;
    int errors_before = (int)llmc_diags_errors(d);
    char x[1024];
    ts_var(v, "EMBEDDING", pexpr(&w, p.emb, x, sizeof x));
    if (f->s->positional == LLMC_POS_LEARNED) {
        ts_var_int(v, "POSITIONS", llmc_ir_tensor(f->ir, p.pos)->shape[0]);
        ts_var(v, "POSITION_TABLE", pexpr(&w, p.pos, x, sizeof x));
    }
    ts_flag(v, "embedding_norm", p.emb_norm.w != LLMC_TID_NONE);
    if (p.emb_norm.w != LLMC_TID_NONE) norm_var(&w, v, "EMBEDDING_NORM", &p.emb_norm, "h");
    llmc_strbuf blocks = {0};
    for (size_t i = 0; i < p.n_blocks; i++) block_code(&w, &p.blocks[i], &blocks);
    ts_var_take(v, "BLOCKS", &blocks);
    w.block[0] = '\0';
    ts_flag(v, "final_norm", p.final_norm.w != LLMC_TID_NONE);
    if (p.final_norm.w != LLMC_TID_NONE) norm_var(&w, v, "FINAL_NORM", &p.final_norm, "h");
    /* the head: its own matrix, or the embedding's (tied) */
    ts_var(v, "HEAD", pexpr(&w, p.head != LLMC_TID_NONE ? p.head : p.emb, x, sizeof x));
    ts_var(v, "HEAD_BIAS", pexpr(&w, p.head_b, x, sizeof x));
    /* Gemma-2 steps */
    bool mixed = false;
    for (size_t i = 0; i < p.n_blocks; i++) mixed |= p.blocks[i].global;
    ts_flag(v, "full_bias", mixed);
    ts_flag(helpers, "full_bias", mixed);
    ts_flag(v, "embedding_scale", p.embed_scale != 0);
    ts_var_float(v, "EMBEDDING_SCALE", p.embed_scale);
    ts_flag(v, "logit_softcap", p.logit_softcap != 0);
    ts_var_float(v, "LOGIT_SOFTCAP", p.logit_softcap);
    ts_flag(helpers, "softcap", p.attn_softcap != 0);
    ts_var_float(helpers, "SOFTCAP", p.attn_softcap);
    ts_flag(helpers, "rms_norm_offset", w.rms_norm_offset);
    ts_flag(helpers, "rms_norm", w.rms_norm);
    ts_flag(helpers, "layer_norm", w.layer_norm);
    ts_flag(helpers, "layer_norm_no_bias", w.layer_norm_no_bias);
    ts_flag(helpers, "moe", w.moe);
    ts_flag(helpers, "moe_shared", w.moe_shared);
    plan_free(&p);
    if (w.errors) {
        if ((int)llmc_diags_errors(d) == errors_before)
            llmc_error(d, "emit", "torchscript: internal: a parameter of the generic code has no stored tensor or too "
                                  "long a path");
        return -1;
    }
    return 0;
}
