/* decoder_only — the GPT / LLaMA / Mistral / Qwen2 / Gemma / GPT-2 family.
 *
 *   input_ids [B,S] -> embed_tokens (+ learned or sinusoidal positions)
 *   num_layers x { h = h + attn(norm1(h)); h = h + mlp(norm2(h)) }   (pre-norm)
 *             or { n = norm(h); h = h + (attn(n) + mlp(n)) }           (parallel_residual: Phi-2)
 *   -> final norm -> lm_head (or the embedding matrix when tied) -> logits [B,S,V]
 *
 * Self-attention is causal (or causal within a sliding window) with MHA / MQA / GQA heads,
 * head_dim independent of hidden_size / num_heads when all three are given, RoPE or ALiBi
 * inside attention, optional QK-norm (per-head RMSNorm of q and k before RoPE, Qwen3). Names
 * follow HF LLaMA (q_norm / k_norm as HF Qwen3); a parallel block's follow HF Phi (self_attn.dense,
 * mlp.fc1 / fc2, model.final_layernorm). RoPE may rotate only the first rope.fraction of each
 * head (NeoX / Phi partial rotary). docs/templates.md has every feature, the count
 * formula, the sizing problem and the numerical semantics backends implement.
 *
 * Gemma-2 style blocks (norm_placement: sandwich, ...): h = h + post_attn(attn(input(h)));
 * h = h + post_mlp(mlp(pre_mlp(h))) with HF Gemma2's names (input_layernorm,
 * post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm); the
 * embedding scaled by sqrt(hidden_size), soft-capped scores and logits, the query scale and
 * a window on every layer but each sliding_window_pattern-th, as the spec says. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tmpl_common.h"

#define TEMPLATE "decoder_only"
#define NEED (TC_NEED_SHAPE | TC_BIT(LLMC_DIM_NUM_LAYERS))
#define MAX_LAYERS 4096 /* the IR holds ~25 tensors per layer; real models have <= 128 layers */

static bool pinned(const llmc_spec *s, llmc_dim_id id) { return llmc_dims_has(&s->dims, id); }

/* v rounded to the parameters' dtype, as Gemma multiplies by sqrt(hidden_size) made a tensor of
 * the model's dtype (sqrt(2304) = 48 is exact in every dtype; sqrt(2048) is not) */
static double round_to_dtype(double v, llmc_dtype dt) {
    int bits = dt == LLMC_DTYPE_BF16 ? 8 : dt == LLMC_DTYPE_F16 ? 11 : 24; /* significand bits */
    int e;
    double m = frexp(v, &e);
    return ldexp(nearbyint(ldexp(m, bits)), e - bits);
}

/* sliding_window_pattern N: every N-th layer (i + 1 divisible by N) sees the whole past, the
 * others the window (HF Gemma2 / Gemma3: layer 0 is windowed) */
static const char *layer_mask(const llmc_spec *s, int i) {
    if (s->attention != LLMC_ATTN_SLIDING_WINDOW) return "causal";
    if (s->sliding_window_pattern > 0 && (i + 1) % s->sliding_window_pattern == 0) return "causal";
    return "sliding_window";
}

/* ---- dims ------------------------------------------------------------------------------------- */

static int complete_dims(const llmc_spec *s, llmc_dims *d, llmc_diags *diags) {
    tc_derive_common(s, d);
    if (tc_dims_complete(d, NEED)) return 0;
    if (diags) {
        char missing[256];
        tc_missing_text(s, d, NEED, missing, sizeof missing);
        llmc_error(diags, "dims", "template " TEMPLATE " cannot complete the dims: missing %s", missing);
    }
    return 1;
}

/* ---- the sizing problem ----------------------------------------------------------------------------- */

static void plan(const llmc_spec *s, tc_plan *p) {
    memset(p, 0, sizeof *p);
    bool free_l = !pinned(s, LLMC_DIM_NUM_LAYERS);
    if (free_l) tc_plan_range(p, LLMC_DIM_NUM_LAYERS, 1, 256, 1);
    tc_plan_common(s, p);
    /* when both depth and width are free, keep the shape in the band of published models
     * (hidden_size / num_layers from ~19 for MobileLLM to ~190 for Falcon-180B), so that a
     * budget no shape meets exactly is not met by a 200-layer, 64-wide model */
    if (free_l && !pinned(s, LLMC_DIM_HIDDEN_SIZE))
        tc_plan_constraint(p, "hidden_size in [8 * num_layers, 1024 * num_layers]");
}

static int define_problem(const llmc_spec *s, llmc_problem *prob, llmc_diags *d) {
    (void)d; /* llmc_problem_add_* report their own errors */
    tc_plan p;
    plan(s, &p);
    return tc_plan_apply(&p, prob, TEMPLATE);
}

/* ---- count ---------------------------------------------------------------------------------------- */

static int count(const llmc_spec *s, const llmc_dims *d, llmc_param_count *out) {
    tc_geom g;
    if (out) memset(out, 0, sizeof *out);
    if (s->positional == LLMC_POS_RELATIVE || !tc_dims_complete(d, NEED) || !tc_geom_from_dims(s, d, &g)) return 1;
    tc_count k;
    memset(&k, 0, sizeof k);
    tc_add(&k, LLMC_COMP_EMBEDDING, (uint64_t)g.V, (uint64_t)g.H);
    if (s->positional == LLMC_POS_LEARNED) tc_add(&k, LLMC_COMP_POSITIONAL, (uint64_t)g.P, (uint64_t)g.H);

    tc_count layer;
    memset(&layer, 0, sizeof layer);
    tc_count_norm(s, &g, &layer);      /* input_layernorm */
    tc_count_attention(s, &g, &layer);
    if (s->qk_norm) tc_add(&layer, LLMC_COMP_NORM, 2, (uint64_t)g.hd); /* q_norm, k_norm [head_dim] */
    if (!s->parallel_residual) tc_count_norm(s, &g, &layer); /* post_attention_layernorm (a parallel block has one) */
    if (s->sandwich_norm) {            /* pre_feedforward_layernorm, post_feedforward_layernorm */
        tc_count_norm(s, &g, &layer);
        tc_count_norm(s, &g, &layer);
    }
    if (s->moe.enabled) tc_count_moe(s, &g, &layer); /* router + experts in place of the MLP */
    else tc_count_mlp(s, &g, &layer);
    tc_add_scaled(&k, &layer, (uint64_t)d->v[LLMC_DIM_NUM_LAYERS]);

    tc_count_norm(s, &g, &k);          /* model.norm (model.final_layernorm) */
    tc_count_head(s, &g, &k);
    return tc_finish(&k, out);
}

/* ---- validate -------------------------------------------------------------------------------------- */

/* partial rotary on a derived head_dim (the loader checks it when the spec pins the head size) */
static void check_rotary(const llmc_spec *s, const llmc_dims *full, llmc_diags *d) {
    if (s->positional != LLMC_POS_ROPE || s->rope.fraction == 1.0 || !llmc_dims_has(full, LLMC_DIM_HEAD_DIM)) return;
    int64_t hd = full->v[LLMC_DIM_HEAD_DIM];
    double rotated = s->rope.fraction * (double)hd;
    if (rotated != floor(rotated) || (int64_t)rotated % 2 != 0 || rotated < 2)
        tc_err(s, d, "rope.fraction",
               "rotates %g of the %lld dims of a head; RoPE rotates pairs of channels (expected fraction * head_dim "
               "to be an even integer >= 2)",
               rotated, (long long)hd);
}

static int validate(const llmc_spec *s, llmc_diags *d) {
    size_t before = llmc_diags_errors(d);
    if (s->positional == LLMC_POS_RELATIVE)
        tc_err(s, d, "positional_encoding",
               "relative is not supported by template " TEMPLATE
               " (T5-style relative position buckets need template: encoder_decoder); use rope or alibi");
    if (s->weights.init == LLMC_INIT_T5)
        tc_err(s, d, "weights.init",
               "t5 applies only to template encoder_decoder (use normal or scaled_normal with " TEMPLATE ")");
    if (pinned(s, LLMC_DIM_NUM_ENCODER_LAYERS))
        tc_err(s, d, "dims.num_encoder_layers", "does not apply to template " TEMPLATE " (use dims.num_layers)");
    if (pinned(s, LLMC_DIM_NUM_DECODER_LAYERS))
        tc_err(s, d, "dims.num_decoder_layers", "does not apply to template " TEMPLATE " (use dims.num_layers)");
    if (pinned(s, LLMC_DIM_NUM_LAYERS) && s->dims.v[LLMC_DIM_NUM_LAYERS] > MAX_LAYERS)
        tc_err(s, d, "dims.num_layers", "must be <= %d for template " TEMPLATE " (got %lld)", MAX_LAYERS,
               (long long)s->dims.v[LLMC_DIM_NUM_LAYERS]);
    tc_check_pins(s, d);
    tc_check_moe(s, d);
    if (s->parallel_residual && s->qk_norm)
        tc_err(s, d, "parallel_residual",
               "with qk_norm is not supported by template " TEMPLATE
               " (no family has per-head q/k norms in a parallel block; use one of the two)");
    if (s->parallel_residual && s->norm == LLMC_NORM_NONE)
        tc_err(s, d, "parallel_residual",
               "needs a norm (the block's one norm feeds attention and the MLP; norm is no_norm)");
    if (s->parallel_residual && (s->sandwich_norm || s->moe.enabled))
        tc_err(s, d, "parallel_residual",
               "with %s is not supported by template " TEMPLATE
               " (no family has it in a parallel block; use one of the two)",
               s->sandwich_norm ? "norm_placement: sandwich" : "moe");

    if (s->has_target_params) {
        tc_plan p;
        plan(s, &p);
        if (p.n_vars == 0 && llmc_diags_errors(d) == before) {
            llmc_dims full = s->dims;
            tc_derive_common(s, &full);
            if (tc_dims_complete(&full, NEED)) {
                check_rotary(s, &full, d);
                tc_check_fixed_budget(s, &full, TEMPLATE, count, d);
            }
        }
    } else {
        llmc_dims full = s->dims;
        tc_derive_common(s, &full);
        if (!tc_dims_complete(&full, NEED)) {
            char missing[256];
            tc_missing_text(s, &full, NEED, missing, sizeof missing);
            tc_err(s, d, "dims",
                   "incomplete without target_params: missing %s (pin them, or set target_params for the solver to "
                   "choose)",
                   missing);
        } else if (llmc_diags_errors(d) == before) {
            check_rotary(s, &full, d);
            tc_check_derived(s, &full, TEMPLATE, count, d);
        }
    }
    return llmc_diags_errors(d) > before ? 1 : 0;
}

/* ---- the graph --------------------------------------------------------------------------------------- */

static int build_ir(const llmc_spec *s, const llmc_dims *d, llmc_ir *ir, llmc_diags *diags) {
    tc_builder b;
    memset(&b, 0, sizeof b);
    b.ir = ir;
    b.s = s;
    b.dt = tc_dtype(s);
    if (!tc_dims_complete(d, NEED) || !tc_geom_from_dims(s, d, &b.g)) {
        char missing[256];
        tc_missing_text(s, d, NEED, missing, sizeof missing);
        llmc_error(diags, "dims", "template " TEMPLATE " needs complete dims to build the graph (missing %s)", missing);
        return 1;
    }
    if (s->positional == LLMC_POS_RELATIVE) {
        llmc_error(diags, "positional_encoding", "relative positions are not supported by template " TEMPLATE);
        return 1;
    }
    int64_t L = d->v[LLMC_DIM_NUM_LAYERS];
    if (L > MAX_LAYERS) {
        llmc_error(diags, "dims.num_layers", "must be <= %d for template " TEMPLATE " (got %lld)", MAX_LAYERS,
                   (long long)L);
        return 1;
    }
    b.stack_layers = L;
    const tc_geom *g = &b.g;
    llmc_ir_set_meta(ir, "template", TEMPLATE);
    llmc_ir_set_meta(ir, "name", s->name ? s->name : "model");
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_DECODER_ONLY);

    int64_t ids_shape[2] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ};
    llmc_tid ids = llmc_ir_input(ir, "input_ids", LLMC_DTYPE_I64, 2, ids_shape);
    tc_scope(&b, LLMC_STACK_NONE, -1, LLMC_OPROLE_EMBEDDING);
    llmc_tid embed = tc_param(&b, "model.embed_tokens.weight", 2, g->V, g->H, LLMC_COMP_EMBEDDING, LLMC_STACK_NONE, -1,
                              TC_ROLE_EMBED, LLMC_ROLE_TOKEN_EMBEDDING, LLMC_NORM_SITE_NONE);
    llmc_tid in2[2] = {ids, embed};
    llmc_tid x = tc_op(&b, LLMC_OP_EMBEDDING, "model.embed_tokens", in2, 2, NULL, 0);
    if (s->embedding_scale_sqrt_hidden) {
        llmc_attr f = llmc_attr_float("factor", round_to_dtype(sqrt((double)g->H), b.dt));
        x = tc_op(&b, LLMC_OP_SCALE, "model.embed_scale", &x, 1, &f, 1);
    }

    tc_scope(&b, LLMC_STACK_NONE, -1, LLMC_OPROLE_POSITIONS);
    if (s->positional == LLMC_POS_LEARNED) {
        llmc_tid table = tc_param(&b, "model.embed_positions.weight", 2, g->P, g->H, LLMC_COMP_POSITIONAL,
                                  LLMC_STACK_NONE, -1, TC_ROLE_POSITIONS, LLMC_ROLE_POSITION_EMBEDDING,
                                  LLMC_NORM_SITE_NONE);
        llmc_tid pin[2] = {ids, table};
        llmc_tid pos = tc_op(&b, LLMC_OP_POSITIONS_LEARNED, "model.embed_positions", pin, 2, NULL, 0);
        x = tc_add_op(&b, "model.embed_add_positions", x, pos);
    } else if (s->positional == LLMC_POS_SINUSOIDAL) {
        llmc_attr at[2] = {llmc_attr_int("dim", g->H), llmc_attr_str("dtype", llmc_dtype_name(b.dt))};
        llmc_tid pos = tc_op(&b, LLMC_OP_POSITIONS_SINUSOIDAL, "model.embed_positions", &ids, 1, at, 2);
        x = tc_add_op(&b, "model.embed_add_positions", x, pos);
    }

    double scale = 1.0 / sqrt(s->query_pre_attn_scalar > 0 ? s->query_pre_attn_scalar : (double)g->hd);
    for (int i = 0; i < (int)L; i++) {
        /* sizes: "model.layers.%d" < 32, every name below < 32 + 40 */
        char p[32], ln[80], op[80], q[96], k[96], v[96], o[96], res[80], qn[96], kn[96];
        snprintf(p, sizeof p, "model.layers.%d", i);
        const bool par = s->parallel_residual;
        tc_block(&b, LLMC_STACK_DECODER, i, par ? LLMC_RESIDUAL_PARALLEL : LLMC_RESIDUAL_SEQUENTIAL, false);

        snprintf(ln, sizeof ln, "%s.input_layernorm", p);
        llmc_tid h = tc_norm(&b, x, ln, LLMC_STACK_DECODER, i,
                             par ? LLMC_NORM_SITE_BLOCK_INPUT : LLMC_NORM_SITE_ATTN_INPUT);
        const llmc_tid block_in = x, normed = h;
        snprintf(op, sizeof op, "%s.self_attn", p);
        snprintf(q, sizeof q, "%s.q_proj", op);
        snprintf(k, sizeof k, "%s.k_proj", op);
        snprintf(v, sizeof v, "%s.v_proj", op);
        snprintf(o, sizeof o, par ? "%s.dense" : "%s.o_proj", op);
        snprintf(qn, sizeof qn, "%s.q_norm", op);
        snprintf(kn, sizeof kn, "%s.k_norm", op);
        tc_attn a = {op, q, k, v, o, h, h, LLMC_SYM_SEQ, LLMC_SYM_SEQ, s->positional == LLMC_POS_ROPE,
                     s->positional == LLMC_POS_ALIBI, LLMC_TID_NONE, layer_mask(s, i), scale, LLMC_STACK_DECODER, i, false,
                     s->qk_norm ? qn : NULL, s->qk_norm ? kn : NULL};
        llmc_tid attn = tc_attention(&b, &a);
        if (s->sandwich_norm) { /* HF Gemma2: this name normalises the attention output */
            snprintf(ln, sizeof ln, "%s.post_attention_layernorm", p);
            attn = tc_norm(&b, attn, ln, LLMC_STACK_DECODER, i, LLMC_NORM_SITE_POST_ATTN);
        }
        if (!par) {
            snprintf(res, sizeof res, "%s.attn_residual", p);
            x = tc_residual(&b, res, LLMC_STACK_DECODER, i, x, attn);
            /* HF's name; in a pre-norm block it normalises the MLP's input */
            snprintf(ln, sizeof ln, "%s.%s", p, s->sandwich_norm ? "pre_feedforward_layernorm" : "post_attention_layernorm");
            h = tc_norm(&b, x, ln, LLMC_STACK_DECODER, i, LLMC_NORM_SITE_MLP_INPUT);
        } else {
            h = normed; /* the MLP reads the same normalised input as attention */
        }
        /* HF Mixtral's module name for the sparse MLP; Qwen2-MoE (a shared expert) keeps "mlp" */
        snprintf(op, sizeof op, "%s.%s", p, s->moe.enabled && !s->moe.num_shared_experts ? "block_sparse_moe" : "mlp");
        snprintf(q, sizeof q, "%s.gate_proj", op);
        snprintf(k, sizeof k, par ? "%s.fc1" : "%s.up_proj", op);
        snprintf(v, sizeof v, par ? "%s.fc2" : "%s.down_proj", op);
        tc_mlp m = {op, q, k, v, h, LLMC_STACK_DECODER, i};
        llmc_tid mlp = s->moe.enabled ? tc_moe_block(&b, &m) : tc_mlp_block(&b, &m);
        if (s->sandwich_norm) {
            snprintf(ln, sizeof ln, "%s.post_feedforward_layernorm", p);
            mlp = tc_norm(&b, mlp, ln, LLMC_STACK_DECODER, i, LLMC_NORM_SITE_POST_MLP);
        }
        if (!par) {
            snprintf(res, sizeof res, "%s.mlp_residual", p);
            x = tc_residual(&b, res, LLMC_STACK_DECODER, i, x, mlp);
        } else {
            /* Phi: attn + mlp, then the residual stream added to the sum */
            snprintf(res, sizeof res, "%s.parallel_sum", p);
            llmc_tid am = tc_residual(&b, res, LLMC_STACK_DECODER, i, attn, mlp);
            snprintf(res, sizeof res, "%s.residual", p);
            x = tc_add_op(&b, res, block_in, am);
        }
    }
    x = tc_norm(&b, x, s->parallel_residual ? "model.final_layernorm" : "model.norm", LLMC_STACK_NONE, -1,
                LLMC_NORM_SITE_FINAL);

    tc_head(&b, x, embed);
    return 0;
}

static const llmc_template_vtable vtable = {sizeof(llmc_template_vtable), validate, complete_dims, define_problem,
                                            count, build_ir};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TEMPLATE, TEMPLATE, "1.0.0",
     "decoder-only transformer: GPT-2, LLaMA, Mistral, Qwen2, Gemma families (MHA/MQA/GQA/sliding window, "
     "RoPE/ALiBi/learned/sinusoidal positions, gated or plain MLP, tied or untied head)",
     &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
