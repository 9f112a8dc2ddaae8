/* encoder_decoder — the T5 / BART family.
 *
 *   input_ids [B,T] -> shared embedding (+ positions) -> encoder stack:
 *       num_encoder_layers x { h = h + self_attn(norm(h)); h = h + mlp(norm(h)) } -> final norm
 *   decoder_input_ids [B,S] -> shared embedding (+ positions) -> decoder stack:
 *       num_decoder_layers x { causal self_attn; cross_attn to the encoder output; mlp }
 *       (pre-norm, one norm per sub-layer) -> final norm
 *   -> lm_head (or the shared matrix when tied, after scaling by hidden_size^-0.5 in T5 style)
 *   -> logits [B,S,V]
 *
 * T5 style is positional_encoding: relative (one bucketed bias table per stack, in block 0,
 * added in every self-attention of that stack; attention scale 1). Learned positions
 * (BART style), sinusoidal, rope (self-attention only) and none are supported too; alibi and
 * sliding-window attention are refused. Names follow HF T5. docs/templates.md has the rest. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tmpl_common.h"

#define TEMPLATE "encoder_decoder"
#define NEED (TC_NEED_SHAPE | TC_BIT(LLMC_DIM_NUM_ENCODER_LAYERS) | TC_BIT(LLMC_DIM_NUM_DECODER_LAYERS))
#define MAX_LAYERS 4096 /* per stack; the IR holds ~30 tensors per layer */

static bool pinned(const llmc_spec *s, llmc_dim_id id) { return llmc_dims_has(&s->dims, id); }
static bool t5_style(const llmc_spec *s) { return s->positional == LLMC_POS_RELATIVE; }

/* ---- dims ------------------------------------------------------------------------------------- */

/* num_layers stands for whichever stack depth is not given */
static void derive(const llmc_spec *s, llmc_dims *d) {
    if (llmc_dims_has(d, LLMC_DIM_NUM_LAYERS) && d->v[LLMC_DIM_NUM_LAYERS] >= 1) {
        if (!llmc_dims_has(d, LLMC_DIM_NUM_ENCODER_LAYERS))
            llmc_dims_put(d, LLMC_DIM_NUM_ENCODER_LAYERS, d->v[LLMC_DIM_NUM_LAYERS]);
        if (!llmc_dims_has(d, LLMC_DIM_NUM_DECODER_LAYERS))
            llmc_dims_put(d, LLMC_DIM_NUM_DECODER_LAYERS, d->v[LLMC_DIM_NUM_LAYERS]);
    }
    tc_derive_common(s, d);
}

static void missing_text(const llmc_spec *s, const llmc_dims *d, char *buf, size_t len) {
    bool enc = llmc_dims_has(d, LLMC_DIM_NUM_ENCODER_LAYERS), dec = llmc_dims_has(d, LLMC_DIM_NUM_DECODER_LAYERS);
    char rest[200];
    tc_missing_text(s, d, TC_NEED_SHAPE, rest, sizeof rest);
    const char *layers = !enc && !dec ? "num_layers (or num_encoder_layers and num_decoder_layers)"
                         : !enc       ? "num_encoder_layers"
                         : !dec       ? "num_decoder_layers"
                                      : "";
    snprintf(buf, len, "%s%s%s", layers, layers[0] && rest[0] ? ", " : "", rest);
}

static int complete_dims(const llmc_spec *s, llmc_dims *d, llmc_diags *diags) {
    derive(s, d);
    if (tc_dims_complete(d, NEED)) return 0;
    if (diags) {
        char missing[300];
        missing_text(s, d, missing, sizeof missing);
        llmc_error(diags, "dims", "template " TEMPLATE " cannot complete the dims: missing %s", missing);
    }
    return 1;
}

/* ---- the sizing problem ------------------------------------------------------------------------------ */

static void plan(const llmc_spec *s, tc_plan *p) {
    memset(p, 0, sizeof *p);
    bool free_enc = !pinned(s, LLMC_DIM_NUM_LAYERS) && !pinned(s, LLMC_DIM_NUM_ENCODER_LAYERS);
    bool free_dec = !pinned(s, LLMC_DIM_NUM_LAYERS) && !pinned(s, LLMC_DIM_NUM_DECODER_LAYERS);
    if (free_enc) tc_plan_range(p, LLMC_DIM_NUM_ENCODER_LAYERS, 1, 256, 1);
    if (free_dec) tc_plan_range(p, LLMC_DIM_NUM_DECODER_LAYERS, 1, 256, 1);
    tc_plan_common(s, p);
    /* both stacks free: equal depth, as T5 and BART have (pin one to make them differ) */
    if (free_enc && free_dec) tc_plan_constraint(p, "num_decoder_layers == num_encoder_layers");
    /* the depth/width band of decoder_only, per free stack */
    if (!pinned(s, LLMC_DIM_HIDDEN_SIZE)) {
        if (free_enc) tc_plan_constraint(p, "hidden_size in [8 * num_encoder_layers, 1024 * num_encoder_layers]");
        if (free_dec) tc_plan_constraint(p, "hidden_size in [8 * num_decoder_layers, 1024 * num_decoder_layers]");
    }
}

static int define_problem(const llmc_spec *s, llmc_problem *prob, llmc_diags *d) {
    (void)d;
    tc_plan p;
    plan(s, &p);
    return tc_plan_apply(&p, prob, TEMPLATE);
}

/* ---- count ------------------------------------------------------------------------------------------- */

static bool supported(const llmc_spec *s) {
    return s->positional != LLMC_POS_ALIBI && s->attention != LLMC_ATTN_SLIDING_WINDOW;
}

static int count(const llmc_spec *s, const llmc_dims *d, llmc_param_count *out) {
    tc_geom g;
    if (out) memset(out, 0, sizeof *out);
    if (!supported(s) || !tc_dims_complete(d, NEED) || !tc_geom_from_dims(s, d, &g)) return 1;
    tc_count k;
    memset(&k, 0, sizeof k);
    tc_add(&k, LLMC_COMP_EMBEDDING, (uint64_t)g.V, (uint64_t)g.H);          /* shared */
    if (s->positional == LLMC_POS_LEARNED)                                   /* one table per stack */
        tc_add(&k, LLMC_COMP_POSITIONAL, tc_mul(&k, 2, (uint64_t)g.P), (uint64_t)g.H);
    if (s->positional == LLMC_POS_RELATIVE)                                  /* one bias table per stack */
        tc_add(&k, LLMC_COMP_POSITIONAL, tc_mul(&k, 2, (uint64_t)s->relative_num_buckets), (uint64_t)g.nh);

    tc_count enc, dec;
    memset(&enc, 0, sizeof enc);
    memset(&dec, 0, sizeof dec);
    tc_count_norm(s, &g, &enc);
    tc_count_attention(s, &g, &enc);       /* self-attention */
    tc_count_norm(s, &g, &enc);
    tc_count_mlp(s, &g, &enc);
    tc_count_norm(s, &g, &dec);
    tc_count_attention(s, &g, &dec);       /* causal self-attention */
    tc_count_norm(s, &g, &dec);
    tc_count_attention(s, &g, &dec);       /* cross-attention */
    tc_count_norm(s, &g, &dec);
    tc_count_mlp(s, &g, &dec);
    tc_add_scaled(&k, &enc, (uint64_t)d->v[LLMC_DIM_NUM_ENCODER_LAYERS]);
    tc_add_scaled(&k, &dec, (uint64_t)d->v[LLMC_DIM_NUM_DECODER_LAYERS]);

    tc_count_norm(s, &g, &k);              /* encoder.final_layer_norm */
    tc_count_norm(s, &g, &k);              /* decoder.final_layer_norm */
    tc_count_head(s, &g, &k);
    return tc_finish(&k, out);
}

/* ---- validate ---------------------------------------------------------------------------------------- */

static int validate(const llmc_spec *s, llmc_diags *d) {
    size_t before = llmc_diags_errors(d);
    if (s->positional == LLMC_POS_ALIBI)
        tc_err(s, d, "positional_encoding",
               "alibi is not supported by template " TEMPLATE
               " (use relative for T5-style buckets, learned for BART-style positions, or rope, sinusoidal, none)");
    if (s->attention == LLMC_ATTN_SLIDING_WINDOW)
        tc_err(s, d, llmc_spec_has_key(s, "attention") ? "attention" : "sliding_window",
               "sliding-window attention is not supported by template " TEMPLATE
               " (the encoder and cross-attention see the whole input; use attention: mha, mqa or gqa)");
    if (s->moe.enabled)
        tc_err(s, d, "moe",
               "is not supported by template " TEMPLATE
               " (sparse experts are implemented for decoder-only models: use template: decoder_only)");
    llmc_spec_refuse_block_options(s, "template " TEMPLATE, false, d); /* Gemma-2 style blocks are decoder-only */
    if (s->parallel_residual)
        tc_err(s, d, "parallel_residual",
               "is not supported by template " TEMPLATE
               " (its blocks are sequential; use template: decoder_only, or parallel_residual: false)");
    if (s->positional == LLMC_POS_ROPE && s->rope.fraction != 1.0)
        tc_err(s, d, "rope.fraction",
               "is not supported by template " TEMPLATE " (it rotates whole heads; use template: decoder_only, or "
               "rope.fraction: 1)");
    if (s->qk_norm)
        tc_err(s, d, "qk_norm",
               "is not supported by template " TEMPLATE
               " (T5 and BART have no per-head query/key norm; use template: decoder_only, or qk_norm: false)");
    static const llmc_dim_id layer_dims[] = {LLMC_DIM_NUM_LAYERS, LLMC_DIM_NUM_ENCODER_LAYERS,
                                             LLMC_DIM_NUM_DECODER_LAYERS};
    for (size_t i = 0; i < sizeof layer_dims / sizeof *layer_dims; i++) {
        llmc_dim_id id = layer_dims[i];
        if (!pinned(s, id) || s->dims.v[id] <= MAX_LAYERS) continue;
        char key[64];
        snprintf(key, sizeof key, "dims.%s", llmc_dim_name(id));
        tc_err(s, d, key, "must be <= %d for template " TEMPLATE " (got %lld)", MAX_LAYERS, (long long)s->dims.v[id]);
    }
    if (pinned(s, LLMC_DIM_NUM_LAYERS) && pinned(s, LLMC_DIM_NUM_ENCODER_LAYERS) &&
        pinned(s, LLMC_DIM_NUM_DECODER_LAYERS))
        tc_warn(s, d, "dims.num_layers",
                "ignored: dims.num_encoder_layers and dims.num_decoder_layers are both given");
    tc_check_pins(s, d);

    if (s->has_target_params) {
        tc_plan p;
        plan(s, &p);
        if (p.n_vars == 0 && llmc_diags_errors(d) == before) {
            llmc_dims full = s->dims;
            derive(s, &full);
            if (tc_dims_complete(&full, NEED)) tc_check_fixed_budget(s, &full, TEMPLATE, count, d);
        }
    } else {
        llmc_dims full = s->dims;
        derive(s, &full);
        if (!tc_dims_complete(&full, NEED)) {
            char missing[300];
            missing_text(s, &full, missing, sizeof missing);
            tc_err(s, d, "dims",
                   "incomplete without target_params: missing %s (pin them, or set target_params for the solver to "
                   "choose)",
                   missing);
        } else if (llmc_diags_errors(d) == before) {
            tc_check_derived(s, &full, TEMPLATE, count, d);
        }
    }
    return llmc_diags_errors(d) > before ? 1 : 0;
}

/* ---- the graph ----------------------------------------------------------------------------------------- */

typedef struct stack_ctx {
    tc_builder *b;
    const char *name;      /* "encoder" / "decoder" */
    llmc_stack stack;
    int64_t seq;           /* T for the encoder, S for the decoder */
    llmc_tid ids, shared;
} stack_ctx;

/* token embedding + absolute positions of one stack */
static llmc_tid embed(stack_ctx *c) {
    tc_builder *b = c->b;
    const llmc_spec *s = b->s;
    char n[128], t[128];
    snprintf(n, sizeof n, "%s.embed_tokens", c->name);
    tc_scope(b, LLMC_STACK_NONE, -1, LLMC_OPROLE_EMBEDDING);
    llmc_tid in[2] = {c->ids, c->shared};
    llmc_tid x = tc_op(b, LLMC_OP_EMBEDDING, n, in, 2, NULL, 0);
    llmc_tid pos = LLMC_TID_NONE;
    snprintf(n, sizeof n, "%s.embed_positions", c->name);
    tc_scope(b, LLMC_STACK_NONE, -1, LLMC_OPROLE_POSITIONS);
    if (s->positional == LLMC_POS_LEARNED) {
        snprintf(t, sizeof t, "%s.embed_positions.weight", c->name);
        llmc_tid table = tc_param(b, t, 2, b->g.P, b->g.H, LLMC_COMP_POSITIONAL, LLMC_STACK_NONE, -1,
                                  TC_ROLE_POSITIONS, LLMC_ROLE_POSITION_EMBEDDING, LLMC_NORM_SITE_NONE);
        llmc_tid pin[2] = {c->ids, table};
        pos = tc_op(b, LLMC_OP_POSITIONS_LEARNED, n, pin, 2, NULL, 0);
    } else if (s->positional == LLMC_POS_SINUSOIDAL) {
        llmc_attr at[2] = {llmc_attr_int("dim", b->g.H), llmc_attr_str("dtype", llmc_dtype_name(b->dt))};
        pos = tc_op(b, LLMC_OP_POSITIONS_SINUSOIDAL, n, &c->ids, 1, at, 2);
    } else {
        return x;
    }
    snprintf(n, sizeof n, "%s.embed_add_positions", c->name);
    return tc_add_op(b, n, x, pos);
}

/* T5 relative position bias: the table lives in block 0 and is shared by the whole stack */
static llmc_tid relative_bias(stack_ctx *c) {
    tc_builder *b = c->b;
    const llmc_spec *s = b->s;
    if (s->positional != LLMC_POS_RELATIVE) return LLMC_TID_NONE;
    char n[160];
    snprintf(n, sizeof n, "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", c->name);
    tc_scope(b, c->stack, 0, LLMC_OPROLE_POSITIONS);
    llmc_tid table = tc_param(b, n, 2, s->relative_num_buckets, b->g.nh, LLMC_COMP_POSITIONAL, c->stack, 0,
                              TC_ROLE_REL_BIAS, LLMC_ROLE_RELATIVE_BIAS, LLMC_NORM_SITE_NONE);
    llmc_attr at[5] = {llmc_attr_int("num_buckets", s->relative_num_buckets),
                       llmc_attr_int("max_distance", s->relative_max_distance),
                       llmc_attr_int("bidirectional", c->stack == LLMC_STACK_ENCODER ? 1 : 0),
                       llmc_attr_int("q_len_sym", c->seq), llmc_attr_int("k_len_sym", c->seq)};
    snprintf(n, sizeof n, "%s.block.0.layer.0.SelfAttention.relative_attention_bias", c->name);
    return tc_op(b, LLMC_OP_RELATIVE_BIAS, n, &table, 1, at, 5);
}

static double attn_scale(const tc_builder *b) {
    /* T5 folds 1/sqrt(head_dim) into its initialisation and does not scale scores */
    return t5_style(b->s) ? 1.0 : 1.0 / sqrt((double)b->g.hd);
}

/* one attention sub-layer: x + attn(norm(x)) under "<block>.layer.<j>" */
static llmc_tid attn_sublayer(stack_ctx *c, llmc_tid x, const char *block, int j, const char *kind, llmc_tid kv_src,
                              llmc_tid bias, const char *mask, int layer) {
    tc_builder *b = c->b;
    char ln[160], op[160], q[192], k[192], v[192], o[192], res[160];
    bool cross = kv_src != LLMC_TID_NONE;
    snprintf(ln, sizeof ln, "%s.layer.%d.layer_norm", block, j);
    llmc_tid h = tc_norm(b, x, ln, c->stack, layer, cross ? LLMC_NORM_SITE_CROSS_ATTN_INPUT : LLMC_NORM_SITE_ATTN_INPUT);
    snprintf(op, sizeof op, "%s.layer.%d.%s", block, j, kind);
    snprintf(q, sizeof q, "%s.q", op);
    snprintf(k, sizeof k, "%s.k", op);
    snprintf(v, sizeof v, "%s.v", op);
    snprintf(o, sizeof o, "%s.o", op);
    tc_attn a = {op,
                 q,
                 k,
                 v,
                 o,
                 h,
                 cross ? kv_src : h,
                 c->seq,
                 cross ? LLMC_SYM_SRC_SEQ : c->seq,
                 !cross && b->s->positional == LLMC_POS_ROPE,
                 false,
                 bias,
                 mask,
                 attn_scale(b),
                 c->stack,
                 layer,
                 cross,
                 NULL, /* no QK-norm (validate refuses qk_norm) */
                 NULL};
    llmc_tid y = tc_attention(b, &a);
    snprintf(res, sizeof res, "%s.layer.%d.residual", block, j);
    return tc_residual(b, res, c->stack, layer, x, y);
}

static llmc_tid mlp_sublayer(stack_ctx *c, llmc_tid x, const char *block, int j, int layer) {
    tc_builder *b = c->b;
    char ln[160], op[160], gate[192], up[192], down[192], res[160];
    snprintf(ln, sizeof ln, "%s.layer.%d.layer_norm", block, j);
    llmc_tid h = tc_norm(b, x, ln, c->stack, layer, LLMC_NORM_SITE_MLP_INPUT);
    snprintf(op, sizeof op, "%s.layer.%d.DenseReluDense", block, j);
    bool gated = llmc_activation_is_gated(b->s->activation);
    snprintf(gate, sizeof gate, "%s.wi_0", op);
    snprintf(up, sizeof up, "%s.%s", op, gated ? "wi_1" : "wi");
    snprintf(down, sizeof down, "%s.wo", op);
    tc_mlp m = {op, gate, up, down, h, c->stack, layer};
    llmc_tid y = tc_mlp_block(b, &m);
    snprintf(res, sizeof res, "%s.layer.%d.residual", block, j);
    return tc_residual(b, res, c->stack, layer, x, y);
}

static llmc_tid build_stack(stack_ctx *c, int64_t layers, llmc_tid enc_out) {
    tc_builder *b = c->b;
    b->stack_layers = layers;
    llmc_tid x = embed(c);
    llmc_tid bias = relative_bias(c);
    bool decoder = c->stack == LLMC_STACK_DECODER;
    for (int i = 0; i < (int)layers; i++) tc_block(b, c->stack, i, LLMC_RESIDUAL_SEQUENTIAL, decoder);
    for (int i = 0; i < (int)layers; i++) {
        char block[96];
        snprintf(block, sizeof block, "%s.block.%d", c->name, i);
        x = attn_sublayer(c, x, block, 0, "SelfAttention", LLMC_TID_NONE, bias, decoder ? "causal" : "none", i);
        if (decoder) x = attn_sublayer(c, x, block, 1, "EncDecAttention", enc_out, LLMC_TID_NONE, "none", i);
        x = mlp_sublayer(c, x, block, decoder ? 2 : 1, i);
    }
    char n[64];
    snprintf(n, sizeof n, "%s.final_layer_norm", c->name);
    return tc_norm(b, x, n, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_FINAL);
}

static int build_ir(const llmc_spec *s, const llmc_dims *d, llmc_ir *ir, llmc_diags *diags) {
    tc_builder b;
    memset(&b, 0, sizeof b);
    b.ir = ir;
    b.s = s;
    b.dt = tc_dtype(s);
    if (!tc_dims_complete(d, NEED) || !tc_geom_from_dims(s, d, &b.g)) {
        char missing[300];
        missing_text(s, d, missing, sizeof missing);
        llmc_error(diags, "dims", "template " TEMPLATE " needs complete dims to build the graph (missing %s)", missing);
        return 1;
    }
    if (!supported(s)) {
        llmc_error(diags, s->positional == LLMC_POS_ALIBI ? "positional_encoding" : "attention",
                   "%s is not supported by template " TEMPLATE,
                   s->positional == LLMC_POS_ALIBI ? "alibi" : "sliding-window attention");
        return 1;
    }
    int64_t E = d->v[LLMC_DIM_NUM_ENCODER_LAYERS], D = d->v[LLMC_DIM_NUM_DECODER_LAYERS];
    if (E > MAX_LAYERS || D > MAX_LAYERS) {
        llmc_error(diags, "dims", "template " TEMPLATE " builds at most %d layers per stack (got %lld and %lld)",
                   MAX_LAYERS, (long long)E, (long long)D);
        return 1;
    }
    const tc_geom *g = &b.g;
    llmc_ir_set_meta(ir, "template", TEMPLATE);
    llmc_ir_set_meta(ir, "name", s->name ? s->name : "model");
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_ENCODER_DECODER);

    int64_t enc_shape[2] = {LLMC_SYM_BATCH, LLMC_SYM_SRC_SEQ}, dec_shape[2] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ};
    llmc_tid ids = llmc_ir_input(ir, "input_ids", LLMC_DTYPE_I64, 2, enc_shape);
    llmc_tid dids = llmc_ir_input(ir, "decoder_input_ids", LLMC_DTYPE_I64, 2, dec_shape);
    llmc_tid shared = tc_param(&b, "shared.weight", 2, g->V, g->H, LLMC_COMP_EMBEDDING, LLMC_STACK_NONE, -1,
                               TC_ROLE_EMBED, LLMC_ROLE_TOKEN_EMBEDDING, LLMC_NORM_SITE_NONE);

    stack_ctx enc = {&b, "encoder", LLMC_STACK_ENCODER, LLMC_SYM_SRC_SEQ, ids, shared};
    llmc_tid enc_out = build_stack(&enc, E, LLMC_TID_NONE);
    stack_ctx dec = {&b, "decoder", LLMC_STACK_DECODER, LLMC_SYM_SEQ, dids, shared};
    llmc_tid x = build_stack(&dec, D, enc_out);

    if (s->tie_word_embeddings && t5_style(s)) {
        /* HF T5 rescales before a tied head so that logits keep the scale of an untied one */
        llmc_attr f = llmc_attr_float("factor", 1.0 / sqrt((double)g->H));
        tc_scope(&b, LLMC_STACK_NONE, -1, LLMC_OPROLE_HEAD);
        x = tc_op(&b, LLMC_OP_SCALE, "decoder.tied_head_scale", &x, 1, &f, 1);
    }
    tc_head(&b, x, shared);
    return 0;
}

static const llmc_template_vtable vtable = {sizeof(llmc_template_vtable), validate, complete_dims, define_problem,
                                            count, build_ir};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TEMPLATE, TEMPLATE, "1.0.0",
     "encoder-decoder transformer: T5 (relative position buckets, RMSNorm, relu/geglu) and BART-style (learned "
     "positions, LayerNorm with bias, gelu, biases) families",
     &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
