/* parallel_residual — an example out-of-tree template: the GPT-J / GPT-NeoX block, where
 * attention and the MLP read the same normalised input and both add to the residual stream:
 *
 *   h = embed(input_ids)
 *   num_layers x {  n = ln_1(h);   h = h + attn(n) + mlp(n)  }     one norm per block
 *   logits = lm_head(ln_f(h))                                     (or the embedding, tied)
 *
 * Supported: attention mha / mqa / gqa / sliding_window with RoPE (no scaling), rmsnorm or
 * layernorm (with bias.norm), plain or gated MLP, every bias flag, a tied or untied head,
 * f32 / f16 / bf16 parameters, init normal or scaled_normal. Anything else is refused by
 * validate() at the key that asks for it. Names follow Hugging Face GPT-J.
 *
 * What a template provides (sdk/README.md): validate, complete_dims, define_problem, count and
 * build_ir. The pipeline compares count() with the count of the IR that build_ir() makes,
 * component by component, on every compile; they must be equal. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"

#define NAME "parallel_residual"
#define MAX_LAYERS 1024

/* ---- dims ----------------------------------------------------------------------------------- */

static bool has(const llmc_dims *d, llmc_dim_id id) { return llmc_dims_has(d, id) && d->v[id] >= 1; }

/* The dims this template needs, each >= 1. */
static const llmc_dim_id needed[] = {LLMC_DIM_NUM_LAYERS, LLMC_DIM_HIDDEN_SIZE, LLMC_DIM_NUM_HEADS,
                                     LLMC_DIM_NUM_KV_HEADS, LLMC_DIM_HEAD_DIM, LLMC_DIM_INTERMEDIATE_SIZE};
#define N_NEEDED (sizeof needed / sizeof needed[0])

/* The needed dims that d lacks, as "num_heads, head_dim" into buf; false if none. */
static bool missing_dims(const llmc_dims *d, char *buf, size_t len) {
    buf[0] = '\0';
    for (size_t i = 0; i < N_NEEDED; i++)
        if (!has(d, needed[i]))
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", llmc_dim_name(needed[i]));
    return buf[0] != '\0';
}

/* Derive what follows from the given dims, never overwriting one:
 *   head_dim = hidden_size / num_heads, or num_heads = hidden_size / head_dim (when it divides);
 *   num_kv_heads = num_heads (mha, sliding_window) or 1 (mqa); gqa needs it given or solved;
 *   intermediate_size = 4 * hidden_size.
 * Called by llmc_problem_evaluate() for every point a solver tries: keep it cheap. */
static int complete_dims(const llmc_spec *s, llmc_dims *d, llmc_diags *diags) {
    int64_t H = d->v[LLMC_DIM_HIDDEN_SIZE];
    if (has(d, LLMC_DIM_HIDDEN_SIZE) && has(d, LLMC_DIM_NUM_HEADS) && !llmc_dims_has(d, LLMC_DIM_HEAD_DIM) &&
        H % d->v[LLMC_DIM_NUM_HEADS] == 0)
        llmc_dims_put(d, LLMC_DIM_HEAD_DIM, H / d->v[LLMC_DIM_NUM_HEADS]);
    if (has(d, LLMC_DIM_HIDDEN_SIZE) && has(d, LLMC_DIM_HEAD_DIM) && !llmc_dims_has(d, LLMC_DIM_NUM_HEADS) &&
        H % d->v[LLMC_DIM_HEAD_DIM] == 0)
        llmc_dims_put(d, LLMC_DIM_NUM_HEADS, H / d->v[LLMC_DIM_HEAD_DIM]);
    if (!llmc_dims_has(d, LLMC_DIM_NUM_KV_HEADS)) {
        if (s->attention == LLMC_ATTN_MQA) llmc_dims_put(d, LLMC_DIM_NUM_KV_HEADS, 1);
        else if (s->attention != LLMC_ATTN_GQA && has(d, LLMC_DIM_NUM_HEADS))
            llmc_dims_put(d, LLMC_DIM_NUM_KV_HEADS, d->v[LLMC_DIM_NUM_HEADS]);
    }
    if (!llmc_dims_has(d, LLMC_DIM_INTERMEDIATE_SIZE) && has(d, LLMC_DIM_HIDDEN_SIZE) && H <= INT64_MAX / 4)
        llmc_dims_put(d, LLMC_DIM_INTERMEDIATE_SIZE, 4 * H);

    char missing[200];
    if (!missing_dims(d, missing, sizeof missing)) return 0;
    if (diags)
        llmc_diag_add(diags, LLMC_SEV_ERROR, llmc_spec_loc(s, "dims"), "dims",
                      "template " NAME " cannot complete the dims: missing %s", missing);
    return 1;
}

/* ---- the exact count ------------------------------------------------------------------------ */

static void count_norm(const llmc_spec *s, uint64_t H, llmc_irb_counter *k) {
    llmc_irb_count_add(k, LLMC_COMP_NORM, H, s->norm == LLMC_NORM_LAYERNORM && s->bias.norm ? 2 : 1);
}

/* Per component, as build_ir() makes the tensors:
 *   embedding  V*H                          head  V*H unless tied, + V with bias.lm_head
 *   per layer  norm      H (layernorm with bias: 2H)
 *              attention H*nh*hd (q) + 2*H*nkv*hd (k, v) + nh*hd*H (out); biases nh*hd + 2*nkv*hd, H
 *              mlp       m*H*I in (m = 2 gated, 1 plain) + I*H out; biases m*I + H
 *   final norm like a layer's */
static int count(const llmc_spec *s, const llmc_dims *d, llmc_param_count *out) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N_NEEDED; i++)
        if (!has(d, needed[i])) return 1;
    uint64_t L = (uint64_t)d->v[LLMC_DIM_NUM_LAYERS], H = (uint64_t)d->v[LLMC_DIM_HIDDEN_SIZE];
    uint64_t I = (uint64_t)d->v[LLMC_DIM_INTERMEDIATE_SIZE], V = (uint64_t)s->vocab_size;
    uint64_t m = llmc_activation_is_gated(s->activation) ? 2 : 1;
    /* the SDK's counter (llmc/ir_build.h) notices overflow: a count must never wrap around */
    llmc_irb_counter layer = LLMC_IRB_COUNTER_INIT;
    uint64_t q = llmc_irb_count_mul(&layer, (uint64_t)d->v[LLMC_DIM_NUM_HEADS], (uint64_t)d->v[LLMC_DIM_HEAD_DIM]);
    uint64_t kv = llmc_irb_count_mul(&layer, (uint64_t)d->v[LLMC_DIM_NUM_KV_HEADS], (uint64_t)d->v[LLMC_DIM_HEAD_DIM]);
    count_norm(s, H, &layer);
    llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, H, q);
    llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, H, kv);
    llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, H, kv);
    llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, q, H);
    if (s->bias.qkv) {
        llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, q, 1);
        llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, kv, 2);
    }
    if (s->bias.attn_out) llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, H, 1);
    llmc_irb_count_add(&layer, LLMC_COMP_MLP, llmc_irb_count_mul(&layer, m, H), I);
    llmc_irb_count_add(&layer, LLMC_COMP_MLP, I, H);
    if (s->bias.mlp) {
        llmc_irb_count_add(&layer, LLMC_COMP_MLP, m, I);
        llmc_irb_count_add(&layer, LLMC_COMP_MLP, H, 1);
    }

    llmc_irb_counter k = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add(&k, LLMC_COMP_EMBEDDING, V, H);
    llmc_irb_count_add_scaled(&k, &layer, L);
    count_norm(s, H, &k);
    if (!s->tie_word_embeddings) llmc_irb_count_add(&k, LLMC_COMP_HEAD, V, H);
    if (s->bias.lm_head) llmc_irb_count_add(&k, LLMC_COMP_HEAD, V, 1);
    return llmc_irb_count_finish(&k, out);
}

/* ---- the sizing problem ------------------------------------------------------------------- */

/* What a solver may choose when the spec gives target_params. Pinned dims are skipped by
 * llmc_problem_add_* (the core adds the user's pins and constraints itself).
 *   num_layers   2..128                     hidden_size  128..16384, multiples of 128
 *   head_dim     64 or 128 (num_heads = hidden_size / head_dim), unless heads are pinned
 *   num_kv_heads 1, 2, 4 or 8 for gqa       intermediate_size = 4 * hidden_size (derived)
 * and, when depth and width are both free, hidden_size / num_layers in [32, 256] (GPT-J 6B has
 * 146, Pythia-1B 128), so that no budget is met by a 100-layer, 128-wide model. */
static int define_problem(const llmc_spec *s, llmc_problem *p, llmc_diags *d) {
    (void)d; /* llmc_problem_add_* report their own errors */
    const llmc_dims *pin = &s->dims;
    int rc = 0;
    rc |= llmc_problem_add_var(p, LLMC_DIM_NUM_LAYERS, 2, 128, 1);
    rc |= llmc_problem_add_var(p, LLMC_DIM_HIDDEN_SIZE, 128, 16384, 128);
    if (!llmc_dims_has(pin, LLMC_DIM_NUM_HEADS) && !llmc_dims_has(pin, LLMC_DIM_HEAD_DIM)) {
        static const int64_t head_dims[] = {64, 128};
        rc |= llmc_problem_add_values(p, LLMC_DIM_HEAD_DIM, head_dims, 2);
    }
    if (s->attention == LLMC_ATTN_GQA) {
        static const int64_t kv_heads[] = {1, 2, 4, 8};
        rc |= llmc_problem_add_values(p, LLMC_DIM_NUM_KV_HEADS, kv_heads, 4);
        rc |= llmc_problem_add_constraint(p, "num_heads % num_kv_heads == 0", NAME);
    }
    rc |= llmc_problem_add_constraint(p, "hidden_size == num_heads * head_dim", NAME);
    rc |= llmc_problem_add_constraint(p, "head_dim % 2 == 0", NAME); /* RoPE rotates pairs */
    if (!llmc_dims_has(pin, LLMC_DIM_NUM_LAYERS) && !llmc_dims_has(pin, LLMC_DIM_HIDDEN_SIZE))
        rc |= llmc_problem_add_constraint(p, "hidden_size in [32 * num_layers, 256 * num_layers]", NAME);
    return rc;
}

/* ---- validate ---------------------------------------------------------------------------------- */

static void refuse(const llmc_spec *s, llmc_diags *d, const char *key, const char *msg) {
    llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, key), key, "%s", msg);
}

/* "head_dim = 64, hidden_size = 256": the values an expression reads, into buf */
static const char *describe(const llmc_expr *e, llmc_expr_env *env, char *buf, size_t len) {
    const char *names[16];
    size_t n = llmc_expr_names(e, names, 16);
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 16; i++) {
        int64_t v;
        size_t used = strlen(buf);
        if (llmc_expr_env_lookup(env, names[i], &v) == 0)
            snprintf(buf + used, len - used, "%s%s = %lld", used ? ", " : "", names[i], (long long)v);
    }
    return buf;
}

/* Report every problem at once, each at its key, with what to write instead. */
static int validate(const llmc_spec *s, llmc_diags *d) {
    size_t before = llmc_diags_errors(d);
    if (s->positional != LLMC_POS_ROPE)
        refuse(s, d, "positional_encoding", "template " NAME " uses rope (GPT-J and GPT-NeoX rotate q and k); "
                                            "use positional_encoding: rope, or template decoder_only");
    if (s->rope.scaling != LLMC_ROPE_SCALING_NONE)
        refuse(s, d, "rope.scaling", "template " NAME " supports rope without scaling (use rope.scaling: none)");
    if (s->norm == LLMC_NORM_NONE)
        refuse(s, d, "norm", "template " NAME " needs a norm: its one norm per block feeds both branches "
                             "(use rmsnorm or layernorm)");
    if (s->weights.init == LLMC_INIT_T5)
        refuse(s, d, "weights.init", "t5 applies only to template encoder_decoder (use normal or scaled_normal)");
    if (llmc_dims_has(&s->dims, LLMC_DIM_NUM_ENCODER_LAYERS))
        refuse(s, d, "dims.num_encoder_layers", "does not apply to template " NAME " (use dims.num_layers)");
    if (llmc_dims_has(&s->dims, LLMC_DIM_NUM_DECODER_LAYERS))
        refuse(s, d, "dims.num_decoder_layers", "does not apply to template " NAME " (use dims.num_layers)");
    if (llmc_dims_has(&s->dims, LLMC_DIM_NUM_LAYERS) && s->dims.v[LLMC_DIM_NUM_LAYERS] > MAX_LAYERS)
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "dims.num_layers"), "dims.num_layers",
                      "must be <= %d for template " NAME " (got %lld)", MAX_LAYERS,
                      (long long)s->dims.v[LLMC_DIM_NUM_LAYERS]);
    if (s->has_target_params || llmc_diags_errors(d) > before)
        return llmc_diags_errors(d) > before; /* with a budget, the solver's problem checks the rest */

    /* explicit dims: complete them and check what the spec loader could not see */
    llmc_dims full = s->dims;
    char missing[200];
    if (complete_dims(s, &full, NULL) != 0 && missing_dims(&full, missing, sizeof missing)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "dims"), "dims",
                      "incomplete without target_params: missing %s (give num_layers, hidden_size and num_heads or "
                      "head_dim, or set target_params for a solver to choose)", missing);
        return 1;
    }
    long long H = full.v[LLMC_DIM_HIDDEN_SIZE], nh = full.v[LLMC_DIM_NUM_HEADS], hd = full.v[LLMC_DIM_HEAD_DIM];
    long long kv = full.v[LLMC_DIM_NUM_KV_HEADS];
    if (nh * hd != H) /* no overflow: the spec loader keeps every dim below 2^31 */
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "dims"), "dims",
                      "num_heads * head_dim must equal hidden_size in template " NAME " (%lld * %lld != %lld)", nh, hd, H);
    if (hd % 2 != 0)
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "dims"), "dims",
                      "head_dim must be even for rope (got %lld)", hd);
    if (kv > nh || nh % kv != 0)
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "dims.num_kv_heads"), "dims.num_kv_heads",
                      "must divide num_heads = %lld (got %lld)", nh, kv);
    /* user constraints: the loader checked those over pinned dims only; check all of them now */
    llmc_expr_env env = {s, &full};
    for (size_t i = 0; i < s->n_constraints; i++) {
        int64_t holds = 0;
        char err[160], key[48];
        snprintf(key, sizeof key, "constraints[%zu]", i);
        if (llmc_expr_eval(s->constraints[i].expr, llmc_expr_env_lookup, &env, &holds, err, sizeof err) != 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, s->constraints[i].loc, key, "'%s' cannot be evaluated: %s",
                          s->constraints[i].text, err);
        else if (!holds)
            llmc_diag_add(d, LLMC_SEV_ERROR, s->constraints[i].loc, key,
                          "'%s' is false for the dims template " NAME " derives (%s)", s->constraints[i].text,
                          describe(s->constraints[i].expr, &env, err, sizeof err));
    }
    llmc_param_count pc;
    if (count(s, &full, &pc) != 0)
        refuse(s, d, "dims", "the parameter count of these dims does not fit in 64 bits (make the model smaller)");
    return llmc_diags_errors(d) > before;
}

/* ---- the graph ---------------------------------------------------------------------------------- */

/* The SDK's building blocks (llmc/ir_build.h) make the parameters, linears, norms, reshapes
 * and adds; what is this template's own is the wiring, the names and the init rule below. */
typedef struct builder {
    llmc_irb irb;            /* the graph, the spec, the parameters' dtype */
    const llmc_spec *s;
    int64_t num_layers, hidden;
} builder;

/* Weights are normal(0, std); with scaled_normal the projections that write into the residual
 * stream get std / sqrt(2 * num_layers) (GPT-2). Norm weights (ones) and biases (zeros) are
 * initialised by the SDK's builder. */
typedef enum { W_NORMAL, W_RESIDUAL_OUT } weight_kind;

static llmc_param_init weight_init(const builder *b, weight_kind kind) {
    double std = b->s->weights.std;
    if (kind == W_RESIDUAL_OUT && b->s->weights.init == LLMC_INIT_SCALED_NORMAL)
        std /= sqrt(2.0 * (double)b->num_layers);
    return llmc_pinit_normal(std);
}

/* x W^T (+ bias) inside block `layer` */
static llmc_tid linear(builder *b, llmc_tid x, const char *prefix, int64_t out, int64_t in, bool bias,
                       llmc_component comp, int layer, weight_kind kind, llmc_param_role role) {
    return llmc_irb_linear(&b->irb, x, prefix, out, in, bias, comp, LLMC_STACK_DECODER, layer, weight_init(b, kind),
                           role);
}

/* causal self-attention over the normalised input n, RoPE on q and k */
static llmc_tid attention(builder *b, llmc_tid n, const llmc_dims *d, const char *p, int layer) {
    const llmc_spec *s = b->s;
    int64_t H = d->v[LLMC_DIM_HIDDEN_SIZE], nh = d->v[LLMC_DIM_NUM_HEADS], nkv = d->v[LLMC_DIM_NUM_KV_HEADS];
    int64_t hd = d->v[LLMC_DIM_HEAD_DIM];
    char name[160];
    llmc_irb_scope(&b->irb, LLMC_STACK_DECODER, layer, LLMC_OPROLE_SELF_ATTENTION);
    snprintf(name, sizeof name, "%s.q_proj", p);
    llmc_tid q = linear(b, n, name, nh * hd, H, s->bias.qkv, LLMC_COMP_ATTENTION, layer, W_NORMAL, LLMC_ROLE_ATTN_Q);
    snprintf(name, sizeof name, "%s.k_proj", p);
    llmc_tid k = linear(b, n, name, nkv * hd, H, s->bias.qkv, LLMC_COMP_ATTENTION, layer, W_NORMAL, LLMC_ROLE_ATTN_K);
    snprintf(name, sizeof name, "%s.v_proj", p);
    llmc_tid v = linear(b, n, name, nkv * hd, H, s->bias.qkv, LLMC_COMP_ATTENTION, layer, W_NORMAL, LLMC_ROLE_ATTN_V);
    snprintf(name, sizeof name, "%s.q_heads", p);
    q = llmc_irb_reshape(&b->irb, q, name, LLMC_SYM_SEQ, nh, hd);
    snprintf(name, sizeof name, "%s.k_heads", p);
    k = llmc_irb_reshape(&b->irb, k, name, LLMC_SYM_SEQ, nkv, hd);
    snprintf(name, sizeof name, "%s.v_heads", p);
    v = llmc_irb_reshape(&b->irb, v, name, LLMC_SYM_SEQ, nkv, hd);

    /* the whole head dim rotates, in halves (GPT-NeoX's layout; GPT-J pairs neighbours: style gptj) */
    llmc_attr rope[4] = {llmc_attr_float("theta", s->rope.theta), llmc_attr_str("scaling", "none"),
                         llmc_attr_float("fraction", 1.0), llmc_attr_str("style", "neox")};
    snprintf(name, sizeof name, "%s.q_rope", p);
    q = llmc_ir_op(b->irb.ir, LLMC_OP_ROPE, name, &q, 1, rope, 4);
    snprintf(name, sizeof name, "%s.k_rope", p);
    k = llmc_ir_op(b->irb.ir, LLMC_OP_ROPE, name, &k, 1, rope, 4);

    bool window = s->attention == LLMC_ATTN_SLIDING_WINDOW;
    llmc_attr at[3] = {llmc_attr_str("mask", window ? "sliding_window" : "causal"),
                       llmc_attr_float("scale", 1.0 / sqrt((double)hd)), llmc_attr_int("window", s->sliding_window)};
    llmc_tid qkv[3] = {q, k, v};
    snprintf(name, sizeof name, "%s.attention", p);
    llmc_tid o = llmc_ir_op(b->irb.ir, LLMC_OP_ATTENTION, name, qkv, 3, at, window ? 3 : 2);
    snprintf(name, sizeof name, "%s.merge_heads", p);
    o = llmc_irb_reshape(&b->irb, o, name, LLMC_SYM_SEQ, nh * hd, 0);
    snprintf(name, sizeof name, "%s.out_proj", p);
    return linear(b, o, name, H, nh * hd, s->bias.attn_out, LLMC_COMP_ATTENTION, layer, W_RESIDUAL_OUT,
                  LLMC_ROLE_ATTN_O);
}

/* fc_out(act(fc_in(n))), or fc_out(act(fc_gate(n)) * fc_in(n)) for swiglu / geglu */
static llmc_tid mlp(builder *b, llmc_tid n, const llmc_dims *d, const char *p, int layer) {
    const llmc_spec *s = b->s;
    int64_t H = d->v[LLMC_DIM_HIDDEN_SIZE], I = d->v[LLMC_DIM_INTERMEDIATE_SIZE];
    char name[160], act[160];
    snprintf(act, sizeof act, "%s.act", p);
    llmc_irb_scope(&b->irb, LLMC_STACK_DECODER, layer, LLMC_OPROLE_MLP);
    snprintf(name, sizeof name, "%s.fc_in", p);
    llmc_tid up = linear(b, n, name, I, H, s->bias.mlp, LLMC_COMP_MLP, layer, W_NORMAL, LLMC_ROLE_MLP_UP);
    llmc_tid h;
    if (llmc_activation_is_gated(s->activation)) {
        snprintf(name, sizeof name, "%s.fc_gate", p);
        llmc_tid in[2] = {linear(b, n, name, I, H, s->bias.mlp, LLMC_COMP_MLP, layer, W_NORMAL, LLMC_ROLE_MLP_GATE), up};
        llmc_attr approx = llmc_attr_int("approximate", 1);
        h = s->activation == LLMC_ACT_SWIGLU ? llmc_ir_op(b->irb.ir, LLMC_OP_SWIGLU, act, in, 2, NULL, 0)
                                             : llmc_ir_op(b->irb.ir, LLMC_OP_GEGLU, act, in, 2, &approx, 1);
    } else {
        llmc_attr fn = llmc_attr_str("fn", llmc_activation_name(s->activation));
        h = llmc_ir_op(b->irb.ir, LLMC_OP_ACTIVATION, act, &up, 1, &fn, 1);
    }
    snprintf(name, sizeof name, "%s.fc_out", p);
    return linear(b, h, name, H, I, s->bias.mlp, LLMC_COMP_MLP, layer, W_RESIDUAL_OUT, LLMC_ROLE_MLP_DOWN);
}

static int build_ir(const llmc_spec *s, const llmc_dims *d, llmc_ir *ir, llmc_diags *diags) {
    llmc_dims full = *d;
    if (complete_dims(s, &full, diags) != 0) return 1;
    int64_t L = full.v[LLMC_DIM_NUM_LAYERS], H = full.v[LLMC_DIM_HIDDEN_SIZE], V = s->vocab_size;
    if (L > MAX_LAYERS) {
        llmc_error(diags, "dims.num_layers", "must be <= %d for template " NAME " (got %lld)", MAX_LAYERS, (long long)L);
        return 1;
    }
    builder b = {{0}, s, L, H};
    llmc_irb_init(&b.irb, ir, s); /* parameters in the spec's precision */

    /* the facts a backend follows: one decoder stack of parallel pre-norm blocks */
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_DECODER_ONLY);
    for (int i = 0; i < (int)L; i++)
        llmc_irb_block(&b.irb, LLMC_STACK_DECODER, i, LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_PRE, false);
    int64_t ids_shape[2] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ};
    llmc_tid ids = llmc_ir_input(ir, "input_ids", LLMC_DTYPE_I64, 2, ids_shape);
    llmc_irb_scope(&b.irb, LLMC_STACK_NONE, -1, LLMC_OPROLE_EMBEDDING);
    llmc_tid wte = llmc_irb_param(&b.irb, "transformer.wte.weight", V, H, LLMC_COMP_EMBEDDING, LLMC_STACK_NONE, -1,
                                  weight_init(&b, W_NORMAL), LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE);
    llmc_tid in2[2] = {ids, wte};
    llmc_tid h = llmc_ir_op(ir, LLMC_OP_EMBEDDING, "transformer.wte", in2, 2, NULL, 0);

    for (int i = 0; i < (int)L; i++) {
        char p[40], name[80];
        snprintf(p, sizeof p, "transformer.h.%d", i);
        snprintf(name, sizeof name, "%s.ln_1", p);
        /* the block's only norm */
        llmc_tid n = llmc_irb_norm(&b.irb, h, name, H, LLMC_STACK_DECODER, i, LLMC_NORM_SITE_BLOCK_INPUT);
        snprintf(name, sizeof name, "%s.attn", p);
        llmc_tid a = attention(&b, n, &full, name, i);
        snprintf(name, sizeof name, "%s.mlp", p);
        llmc_tid m = mlp(&b, n, &full, name, i);                  /* same input as attention */
        snprintf(name, sizeof name, "%s.parallel_sum", p);
        llmc_tid am = llmc_irb_residual(&b.irb, name, LLMC_STACK_DECODER, i, a, m);
        snprintf(name, sizeof name, "%s.residual", p);
        h = llmc_irb_add(&b.irb, name, h, am);                    /* h + attn(n) + mlp(n) */
    }
    h = llmc_irb_norm(&b.irb, h, "transformer.ln_f", H, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_FINAL);

    /* a tied head is the embedding matrix itself: one tensor, counted once */
    llmc_irb_scope(&b.irb, LLMC_STACK_NONE, -1, LLMC_OPROLE_HEAD);
    llmc_tid head[3] = {h,
                        s->tie_word_embeddings
                            ? wte
                            : llmc_irb_param(&b.irb, "lm_head.weight", V, H, LLMC_COMP_HEAD, LLMC_STACK_NONE, -1,
                                             weight_init(&b, W_NORMAL), LLMC_ROLE_OUTPUT_HEAD, false,
                                             LLMC_NORM_SITE_NONE),
                        LLMC_TID_NONE};
    if (s->bias.lm_head) {
        llmc_param_init zeros = {LLMC_PINIT_ZEROS, 0.0};
        head[2] = llmc_irb_param(&b.irb, "lm_head.bias", V, 0, LLMC_COMP_HEAD, LLMC_STACK_NONE, -1, zeros,
                                 LLMC_ROLE_OUTPUT_HEAD, true, LLMC_NORM_SITE_NONE);
    }
    llmc_tid logits = llmc_ir_op(ir, LLMC_OP_LINEAR, "lm_head", head, s->bias.lm_head ? 3 : 2, NULL, 0);
    llmc_ir_mark_output(ir, logits);
    return 0; /* builder errors are recorded on the graph; the pipeline runs llmc_ir_validate */
}

/* ---- the plugin ---------------------------------------------------------------------------------- */

static const llmc_template_vtable vtable = {sizeof(llmc_template_vtable), validate, complete_dims, define_problem,
                                            count, build_ir};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TEMPLATE, NAME, "1.0.0",
     "example out-of-tree template: GPT-J/NeoX parallel attention + MLP block, one norm per block", &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
