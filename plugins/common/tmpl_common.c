/* Shared template code (see tmpl_common.h and docs/templates.md). */
#include "tmpl_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool has(const llmc_dims *d, llmc_dim_id id) { return llmc_dims_has(d, id) && d->v[id] >= 1; }
static bool pinned(const llmc_spec *s, llmc_dim_id id) { return llmc_dims_has(&s->dims, id); }

/* ---- dimension derivation ------------------------------------------------------------------- */

int64_t tc_intermediate_convention(const llmc_spec *s, int64_t hidden) {
    if (hidden < 1 || hidden > INT64_MAX / 8) return 0;
    if (llmc_activation_is_gated(s->activation)) return (8 * hidden + 767) / 768 * 256;
    return 4 * hidden;
}

void tc_derive_common(const llmc_spec *s, llmc_dims *d) {
    bool h = has(d, LLMC_DIM_HIDDEN_SIZE), nh = has(d, LLMC_DIM_NUM_HEADS), hd = has(d, LLMC_DIM_HEAD_DIM);
    int64_t H = d->v[LLMC_DIM_HIDDEN_SIZE];
    /* heads x head size covers the width unless all three are given (head_dim independent of
     * hidden_size / num_heads, as in Gemma); the floor keeps the count monotone in hidden_size
     * for the solver's bisection, and the divisibility constraint rules such points out */
    if (h && nh && !hd) {
        int64_t v = H / d->v[LLMC_DIM_NUM_HEADS];
        if (v >= 1) llmc_dims_put(d, LLMC_DIM_HEAD_DIM, v);
    } else if (h && hd && !nh) {
        int64_t v = H / d->v[LLMC_DIM_HEAD_DIM];
        if (v >= 1) llmc_dims_put(d, LLMC_DIM_NUM_HEADS, v);
    }
    if (!llmc_dims_has(d, LLMC_DIM_NUM_KV_HEADS)) {
        switch (s->attention) {
        case LLMC_ATTN_MQA: llmc_dims_put(d, LLMC_DIM_NUM_KV_HEADS, 1); break;
        case LLMC_ATTN_MHA:
        case LLMC_ATTN_SLIDING_WINDOW:
            if (has(d, LLMC_DIM_NUM_HEADS)) llmc_dims_put(d, LLMC_DIM_NUM_KV_HEADS, d->v[LLMC_DIM_NUM_HEADS]);
            break;
        default: break; /* gqa: given or solved */
        }
    }
    if (!llmc_dims_has(d, LLMC_DIM_INTERMEDIATE_SIZE) && h) {
        int64_t v = tc_intermediate_convention(s, H);
        if (v >= 1) llmc_dims_put(d, LLMC_DIM_INTERMEDIATE_SIZE, v);
    }
}

bool tc_dims_complete(const llmc_dims *d, uint32_t need) {
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if ((need & TC_BIT(i)) && !has(d, (llmc_dim_id)i)) return false;
    return true;
}

static void append(char *buf, size_t len, const char *text) {
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", text);
}

void tc_missing_text(const llmc_spec *s, const llmc_dims *d, uint32_t need, char *buf, size_t len) {
    buf[0] = '\0';
    static const llmc_dim_id layers[] = {LLMC_DIM_NUM_LAYERS, LLMC_DIM_NUM_ENCODER_LAYERS, LLMC_DIM_NUM_DECODER_LAYERS};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        if ((need & TC_BIT(layers[i])) && !has(d, layers[i])) append(buf, len, llmc_dim_name(layers[i]));
    bool no_h = !has(d, LLMC_DIM_HIDDEN_SIZE), no_nh = !has(d, LLMC_DIM_NUM_HEADS);
    if (no_h) append(buf, len, "hidden_size");
    if (no_nh) append(buf, len, has(d, LLMC_DIM_HEAD_DIM) ? "num_heads" : "num_heads (or head_dim)");
    /* num_kv_heads follows num_heads except with gqa, where it is a choice of its own */
    if (!has(d, LLMC_DIM_NUM_KV_HEADS) && s->attention == LLMC_ATTN_GQA)
        append(buf, len, "num_kv_heads (attention: gqa needs it)");
}

/* ---- the sizing problem ------------------------------------------------------------------------ */

void tc_plan_range(tc_plan *p, llmc_dim_id dim, int64_t min, int64_t max, int64_t multiple_of) {
    if (p->n_vars >= TC_PLAN_MAX_VARS) return;
    tc_var *v = &p->vars[p->n_vars++];
    memset(v, 0, sizeof *v);
    v->dim = dim;
    v->min = min;
    v->max = max;
    v->multiple_of = multiple_of;
}

void tc_plan_values(tc_plan *p, llmc_dim_id dim, const int64_t *values, size_t n) {
    if (p->n_vars >= TC_PLAN_MAX_VARS || n > sizeof p->vars[0].values / sizeof *values) return;
    tc_var *v = &p->vars[p->n_vars++];
    memset(v, 0, sizeof *v);
    v->dim = dim;
    v->n_values = n;
    memcpy(v->values, values, n * sizeof *values);
}

void tc_plan_constraint(tc_plan *p, const char *fmt, ...) {
    if (p->n_cons >= TC_PLAN_MAX_CONS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->cons[p->n_cons++], sizeof p->cons[0], fmt, ap);
    va_end(ap);
}

void tc_plan_common(const llmc_spec *s, tc_plan *p) {
    bool pH = pinned(s, LLMC_DIM_HIDDEN_SIZE), pNH = pinned(s, LLMC_DIM_NUM_HEADS), pHD = pinned(s, LLMC_DIM_HEAD_DIM);
    bool pKV = pinned(s, LLMC_DIM_NUM_KV_HEADS), pI = pinned(s, LLMC_DIM_INTERMEDIATE_SIZE);

    if (!pH) tc_plan_range(p, LLMC_DIM_HIDDEN_SIZE, 64, 65536, 64);

    /* heads: head_dim is 32, 64, 80, 96, 128 or 256 (Pythia-14M, GPT-2, Phi-2, Phi-3, Llama, Gemma) and num_heads =
     * hidden_size / head_dim, unless the user pins one of them */
    bool kv_free = s->attention == LLMC_ATTN_GQA && !pKV;
    if (!pNH && !pHD) {
        static const int64_t hd[] = {32, 64, 80, 96, 128, 256};
        tc_plan_values(p, LLMC_DIM_HEAD_DIM, hd, 6);
        /* with a free gqa grouping, hidden_size % (head_dim * num_kv_heads) below implies it */
        if (!kv_free) tc_plan_constraint(p, "hidden_size %% head_dim == 0");
    } else if (pNH && !pHD && !pH) {
        tc_plan_constraint(p, "hidden_size %% num_heads == 0");
        if (s->positional == LLMC_POS_ROPE) tc_plan_constraint(p, "head_dim %% 2 == 0");
    } else if (!pNH && pHD && !pH && !kv_free) {
        tc_plan_constraint(p, "hidden_size %% head_dim == 0");
    }

    /* key/value heads. When num_heads is derived (hidden_size / head_dim) the grouping rules
     * are written over hidden_size and head_dim, so that a solver can prune with them before
     * the remaining dims are derived */
    if (kv_free) {
        static const int64_t kv[] = {1, 2, 4, 8, 16};
        tc_plan_values(p, LLMC_DIM_NUM_KV_HEADS, kv, 5);
        /* groups of 2 to 16 query heads per key/value head, as published GQA models have */
        if (pNH) {
            tc_plan_constraint(p, "num_heads %% num_kv_heads == 0");
            tc_plan_constraint(p, "num_heads in [2 * num_kv_heads, 16 * num_kv_heads]");
        } else {
            tc_plan_constraint(p, "hidden_size %% (head_dim * num_kv_heads) == 0");
            tc_plan_constraint(p, "hidden_size in [2 * num_kv_heads * head_dim, 16 * num_kv_heads * head_dim]");
        }
    } else if (pKV && !pNH) {
        if (s->attention == LLMC_ATTN_MHA)
            tc_plan_constraint(p, "num_kv_heads == num_heads");
        else if (s->attention != LLMC_ATTN_MQA)
            tc_plan_constraint(p, "num_heads %% num_kv_heads == 0");
    }

    /* MLP width: the band published models span (config/published_models.yaml): gated from 2 H
     * (Flan-T5-small) to 8 H (Gemma), plain from 4 H (GPT-2, OPT, T5) to 16 H (T5-3B) */
    if (!pI) {
        if (llmc_activation_is_gated(s->activation)) {
            tc_plan_range(p, LLMC_DIM_INTERMEDIATE_SIZE, 64, 8 * 65536, 64);
            tc_plan_constraint(p, "intermediate_size in [2 * hidden_size, 8 * hidden_size]");
        } else {
            tc_plan_range(p, LLMC_DIM_INTERMEDIATE_SIZE, 64, 16 * 65536, 64);
            tc_plan_constraint(p, "intermediate_size in [2 * hidden_size, 16 * hidden_size]");
        }
    }
}

int tc_plan_apply(const tc_plan *p, llmc_problem *prob, const char *origin) {
    int rc = 0;
    for (size_t i = 0; i < p->n_vars; i++) {
        const tc_var *v = &p->vars[i];
        if (v->n_values)
            rc |= llmc_problem_add_values(prob, v->dim, v->values, v->n_values);
        else
            rc |= llmc_problem_add_var(prob, v->dim, v->min, v->max, v->multiple_of);
    }
    for (size_t i = 0; i < p->n_cons; i++) rc |= llmc_problem_add_constraint(prob, p->cons[i], origin);
    return rc;
}

/* ---- checked parameter arithmetic ------------------------------------------------------------------ */

/* the SDK's counter (llmc/ir_build.h); tc_count is llmc_irb_counter */
uint64_t tc_mul(tc_count *k, uint64_t a, uint64_t b) { return llmc_irb_count_mul(k, a, b); }
void tc_add(tc_count *k, llmc_component comp, uint64_t a, uint64_t b) { llmc_irb_count_add(k, comp, a, b); }
void tc_add_scaled(tc_count *k, const tc_count *part, uint64_t times) { llmc_irb_count_add_scaled(k, part, times); }
int tc_finish(tc_count *k, llmc_param_count *out) { return llmc_irb_count_finish(k, out); }

bool tc_geom_from_dims(const llmc_spec *s, const llmc_dims *d, tc_geom *g) {
    if (!tc_dims_complete(d, TC_NEED_SHAPE)) return false;
    g->H = d->v[LLMC_DIM_HIDDEN_SIZE];
    g->I = d->v[LLMC_DIM_INTERMEDIATE_SIZE];
    g->nh = d->v[LLMC_DIM_NUM_HEADS];
    g->nkv = d->v[LLMC_DIM_NUM_KV_HEADS];
    g->hd = d->v[LLMC_DIM_HEAD_DIM];
    g->V = s->vocab_size;
    g->P = s->context_length;
    return g->V >= 1 && g->P >= 1;
}

#define U(x) ((uint64_t)(x))

void tc_count_attention(const llmc_spec *s, const tc_geom *g, tc_count *k) {
    uint64_t q = tc_mul(k, U(g->nh), U(g->hd)), kv = tc_mul(k, U(g->nkv), U(g->hd));
    tc_add(k, LLMC_COMP_ATTENTION, U(g->H), q);                    /* q_proj */
    tc_add(k, LLMC_COMP_ATTENTION, U(g->H), tc_mul(k, 2, kv));     /* k_proj, v_proj */
    tc_add(k, LLMC_COMP_ATTENTION, q, U(g->H));                    /* o_proj */
    if (s->bias.qkv) {
        tc_add(k, LLMC_COMP_ATTENTION, q, 1);
        tc_add(k, LLMC_COMP_ATTENTION, kv, 2);
    }
    if (s->bias.attn_out) tc_add(k, LLMC_COMP_ATTENTION, U(g->H), 1);
}

void tc_count_mlp(const llmc_spec *s, const tc_geom *g, tc_count *k) {
    uint64_t in = llmc_activation_is_gated(s->activation) ? 2 : 1;   /* gate + up, or up */
    tc_add(k, LLMC_COMP_MLP, tc_mul(k, in, U(g->H)), U(g->I));
    tc_add(k, LLMC_COMP_MLP, U(g->H), U(g->I));                      /* down */
    if (s->bias.mlp) {
        tc_add(k, LLMC_COMP_MLP, in, U(g->I));
        tc_add(k, LLMC_COMP_MLP, U(g->H), 1);
    }
}

void tc_count_norm(const llmc_spec *s, const tc_geom *g, tc_count *k) {
    switch (s->norm) {
    case LLMC_NORM_RMSNORM: tc_add(k, LLMC_COMP_NORM, U(g->H), 1); break;
    case LLMC_NORM_LAYERNORM: tc_add(k, LLMC_COMP_NORM, U(g->H), s->bias.norm ? 2 : 1); break;
    default: break;
    }
}

int64_t tc_moe_intermediate(const llmc_spec *s, const tc_geom *g) {
    return s->moe.expert_intermediate_size ? s->moe.expert_intermediate_size : g->I;
}

void tc_count_moe(const llmc_spec *s, const tc_geom *g, tc_count *k) {
    uint64_t E = U(s->moe.num_experts), I = U(tc_moe_intermediate(s, g));
    tc_add(k, LLMC_COMP_MLP, E, U(g->H));                               /* router */
    uint64_t expert = tc_mul(k, tc_mul(k, 3, U(g->H)), I);              /* gate, up, down of one expert */
    tc_add(k, LLMC_COMP_MLP, E, expert);
    llmc_irb_count_inactive(k, E - U(s->moe.experts_per_token), expert);
    if (s->moe.num_shared_experts) { /* the shared expert (every token reads it) and its [1,H] scale */
        tc_add(k, LLMC_COMP_MLP, tc_mul(k, 3, U(g->H)), U(tc_shared_expert_intermediate(s, g)));
        if (s->moe.shared_expert_gate) tc_add(k, LLMC_COMP_MLP, U(g->H), 1);
    }
}

int64_t tc_shared_expert_intermediate(const llmc_spec *s, const tc_geom *g) {
    return s->moe.shared_expert_intermediate_size ? s->moe.shared_expert_intermediate_size : g->I;
}

void tc_check_moe(const llmc_spec *s, llmc_diags *d) {
    if (!s->moe.enabled) return;
    if (s->activation != LLMC_ACT_SWIGLU)
        tc_err(s, d, "moe", "experts are SwiGLU MLPs (Mixtral, Qwen2-MoE), which needs activation: swiglu (got %s)",
               llmc_activation_name(s->activation));
    if (s->bias.mlp)
        tc_err(s, d, "moe", "experts and router have no biases (Mixtral, Qwen2-MoE); set bias.mlp: false");
    if (s->moe.num_shared_experts > 1)
        tc_err(s, d, "moe.num_shared_experts",
               "one shared expert is built (Qwen2-MoE); more have no family here (expected 0 or 1, got %lld)",
               (long long)s->moe.num_shared_experts);
    if (s->moe.num_shared_experts == 1 && !s->moe.shared_expert_gate)
        tc_err(s, d, "moe.shared_expert_gate",
               "a shared expert without its sigmoid gate has no family here (Qwen2-MoE gates it; expected true, got "
               "false)");
}

/* ---- spec checks --------------------------------------------------------------------------------------- */

static void diag_at(const llmc_spec *s, llmc_diags *d, llmc_severity sev, const char *key, const char *fmt,
                    va_list ap) {
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    llmc_diag_add(d, sev, llmc_spec_loc(s, key), key, "%s", msg);
}

void tc_err(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_at(s, d, LLMC_SEV_ERROR, key, fmt, ap);
    va_end(ap);
}

void tc_warn(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_at(s, d, LLMC_SEV_WARNING, key, fmt, ap);
    va_end(ap);
}

void tc_check_pins(const llmc_spec *s, llmc_diags *d) {
    const llmc_dims *p = &s->dims;
    bool pH = pinned(s, LLMC_DIM_HIDDEN_SIZE), pNH = pinned(s, LLMC_DIM_NUM_HEADS), pHD = pinned(s, LLMC_DIM_HEAD_DIM);
    long long H = p->v[LLMC_DIM_HIDDEN_SIZE], hd = p->v[LLMC_DIM_HEAD_DIM], kv = p->v[LLMC_DIM_NUM_KV_HEADS];

    if (pH && pHD && !pNH) {
        if (H % hd != 0) {
            tc_err(s, d, "dims.hidden_size",
                   "must be a multiple of dims.head_dim when dims.num_heads is not given (%lld %% %lld = %lld)", H, hd,
                   H % hd);
        } else if (pinned(s, LLMC_DIM_NUM_KV_HEADS)) {
            long long nh = H / hd;
            if (kv > nh)
                tc_err(s, d, "dims.num_kv_heads", "must be <= num_heads = hidden_size / head_dim = %lld (got %lld)", nh,
                       kv);
            else if (nh % kv != 0)
                tc_err(s, d, "dims.num_kv_heads", "must divide num_heads = hidden_size / head_dim = %lld (%lld %% %lld = %lld)",
                       nh, nh, kv, nh % kv);
            else if (s->attention == LLMC_ATTN_MHA && kv != nh)
                tc_err(s, d, "attention",
                       "mha needs dims.num_kv_heads equal to num_heads = hidden_size / head_dim = %lld (got %lld; use gqa "
                       "for grouped heads)",
                       nh, kv);
        }
    }
    if (pH && s->positional == LLMC_POS_SINUSOIDAL && H % 2 != 0)
        tc_err(s, d, "dims.hidden_size",
               "must be even with positional_encoding: sinusoidal, half sines and half cosines (got %lld)", H);
}

/* Every name of the expression known from the spec alone (pins and spec values)? */
static bool all_pinned(const llmc_spec *s, const llmc_expr *e) {
    const char *names[32];
    size_t n = llmc_expr_names(e, names, 32);
    llmc_expr_env env = {s, &s->dims};
    for (size_t i = 0; i < n && i < 32; i++) {
        int64_t v;
        if (llmc_expr_env_lookup(&env, names[i], &v) != 0) return false;
    }
    return n <= 32;
}

void tc_check_derived(const llmc_spec *s, const llmc_dims *full, const char *tmpl, tc_count_fn count_fn,
                      llmc_diags *d) {
    /* user constraints that mention derived dims: the loader could not evaluate them */
    for (size_t i = 0; i < s->n_constraints; i++) {
        const llmc_constraint *c = &s->constraints[i];
        if (!c->expr || all_pinned(s, c->expr)) continue;
        llmc_expr_env env = {s, full};
        int64_t r = 0;
        char err[160];
        char key[48];
        snprintf(key, sizeof key, "constraints[%zu]", i);
        const char *names[32];
        size_t n = llmc_expr_names(c->expr, names, 32);
        char vals[256] = "";
        bool known = true;
        for (size_t j = 0; j < n && j < 32; j++) {
            int64_t v;
            if (llmc_expr_env_lookup(&env, names[j], &v) != 0) {
                known = false;
                break;
            }
            size_t used = strlen(vals);
            int dim = llmc_dim_from_name(names[j]);
            bool derived = dim >= 0 && !llmc_dims_has(&s->dims, (llmc_dim_id)dim);
            snprintf(vals + used, sizeof vals - used, "%s%s = %lld%s", used ? ", " : "", names[j], (long long)v,
                     derived ? " (derived)" : "");
        }
        if (!known) continue; /* e.g. sliding_window without a window: nothing to check */
        if (llmc_expr_eval(c->expr, llmc_expr_env_lookup, &env, &r, err, sizeof err) != 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, c->loc, key, "'%s' cannot be evaluated for the dims of this spec: %s",
                          c->text, err);
        else if (r == 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, c->loc, key, "'%s' is false for the dims template %s derives (%s)", c->text,
                          tmpl, vals);
    }
    llmc_param_count pc;
    if (count_fn(s, full, &pc) != 0)
        tc_err(s, d, "dims", "the parameter count of these dims does not fit in 64 bits (make the model smaller)");
}

void tc_check_fixed_budget(const llmc_spec *s, const llmc_dims *full, const char *tmpl, tc_count_fn count_fn,
                           llmc_diags *d) {
    tc_check_derived(s, full, tmpl, count_fn, d);
    llmc_param_count pc;
    if (count_fn(s, full, &pc) != 0 || s->target_params == 0) return; /* overflow: reported just above */
    uint64_t t = s->target_params;
    pc.total = LLMC_BUDGET_COUNT(s, pc); /* the count the budget names */
    double rel = (double)(pc.total > t ? pc.total - t : t - pc.total) / (double)t;
    if (rel <= s->tolerance) return;
    char a[32], b[32];
    tc_err(s, d, "target_params",
           "dims fix every dimension of template %s and give %s parameters, %.4g%% from target_params %s "
           "(tolerance %g%%); remove target_params, or unpin a dimension for the solver to choose",
           tmpl, llmc_fmt_count(pc.total, a, sizeof a), 100.0 * rel, llmc_fmt_count(t, b, sizeof b),
           100.0 * s->tolerance);
}

/* ---- IR building ---------------------------------------------------------------------------------------- */

llmc_dtype tc_dtype(const llmc_spec *s) {
    switch (s->precision) {
    case LLMC_PRECISION_FLOAT16: return LLMC_DTYPE_F16;
    case LLMC_PRECISION_BFLOAT16: return LLMC_DTYPE_BF16;
    default: return LLMC_DTYPE_F32;
    }
}

llmc_param_init tc_init(const tc_builder *b, tc_role role) {
    const llmc_spec *s = b->s;
    const tc_geom *g = &b->g;
    double std = s->weights.std;
    /* norm_weight_offset 1 (Gemma): the scale is 1 + w, so w starts at 0 */
    if (role == TC_ROLE_NORM)
        return (llmc_param_init){s->norm_weight_offset != 0.0 ? LLMC_PINIT_ZEROS : LLMC_PINIT_ONES, 0.0};
    if (role == TC_ROLE_BIAS) return (llmc_param_init){LLMC_PINIT_ZEROS, 0.0};
    if (s->weights.init == LLMC_INIT_T5) {
        /* HF T5 _init_weights with factor 1 */
        double H = (double)g->H;
        switch (role) {
        case TC_ROLE_EMBED:
        case TC_ROLE_HEAD: return llmc_pinit_normal(1.0);
        case TC_ROLE_Q: return llmc_pinit_normal(1.0 / sqrt(H * (double)g->hd));
        case TC_ROLE_K:
        case TC_ROLE_V:
        case TC_ROLE_MLP_IN:
        case TC_ROLE_REL_BIAS: return llmc_pinit_normal(1.0 / sqrt(H));
        case TC_ROLE_O: return llmc_pinit_normal(1.0 / sqrt((double)g->nh * (double)g->hd));
        case TC_ROLE_MLP_OUT: return llmc_pinit_normal(1.0 / sqrt((double)g->I));
        default: return llmc_pinit_normal(std); /* learned positions: T5 has none; weights.std */
        }
    }
    if (s->weights.init == LLMC_INIT_SCALED_NORMAL && (role == TC_ROLE_O || role == TC_ROLE_MLP_OUT) &&
        b->stack_layers >= 1)
        return llmc_pinit_normal(std / sqrt(2.0 * (double)b->stack_layers));
    return llmc_pinit_normal(std);
}

/* The SDK builder over b's graph (b->dt is the spec's precision: tc_dtype, as llmc_irb_init sets it). */
static llmc_irb irb(const tc_builder *b) {
    llmc_irb r;
    llmc_irb_init(&r, b->ir, b->s);
    r.dtype = b->dt;
    return r;
}

llmc_tid tc_param(tc_builder *b, const char *name, int rank, int64_t d0, int64_t d1, llmc_component comp,
                  llmc_stack st, int layer, tc_role init, llmc_param_role role, llmc_norm_site site) {
    llmc_irb r = irb(b);
    return llmc_irb_param(&r, name, d0, rank >= 2 ? d1 : 0, comp, st, layer, tc_init(b, init), role,
                          init == TC_ROLE_BIAS, site);
}

void tc_scope(tc_builder *b, llmc_stack st, int layer, llmc_op_role role) {
    llmc_irb r = irb(b);
    llmc_irb_scope(&r, st, layer, role);
}

void tc_block(tc_builder *b, llmc_stack st, int layer, llmc_residual residual, bool cross_attention) {
    llmc_irb r = irb(b);
    llmc_norm_placement pl = b->s->norm == LLMC_NORM_NONE ? LLMC_NORM_PLACEMENT_NONE
                             : b->s->sandwich_norm     ? LLMC_NORM_PLACEMENT_SANDWICH
                                                       : LLMC_NORM_PLACEMENT_PRE;
    llmc_irb_block(&r, st, layer, residual, pl, cross_attention);
}

llmc_tid tc_residual(tc_builder *b, const char *name, llmc_stack st, int layer, llmc_tid x, llmc_tid y) {
    llmc_irb r = irb(b);
    return llmc_irb_residual(&r, name, st, layer, x, y);
}

llmc_tid tc_op(tc_builder *b, llmc_op_type type, const char *name, const llmc_tid *in, int n_in,
               const llmc_attr *attrs, int n_attrs) {
    return llmc_ir_op(b->ir, type, name, in, n_in, attrs, n_attrs);
}

#define NAME_LEN 512
#define NAMEF(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

llmc_tid tc_linear(tc_builder *b, llmc_tid x, const char *prefix, int64_t out, int64_t in, bool bias,
                   llmc_component comp, llmc_stack st, int layer, tc_role init, llmc_param_role role) {
    llmc_irb r = irb(b);
    return llmc_irb_linear(&r, x, prefix, out, in, bias, comp, st, layer, tc_init(b, init), role);
}

llmc_tid tc_norm(tc_builder *b, llmc_tid x, const char *prefix, llmc_stack st, int layer, llmc_norm_site site) {
    llmc_irb r = irb(b);
    return llmc_irb_norm(&r, x, prefix, b->g.H, st, layer, site);
}

llmc_tid tc_reshape(tc_builder *b, llmc_tid x, const char *name, int64_t seq, int64_t a, int64_t c) {
    llmc_irb r = irb(b);
    return llmc_irb_reshape(&r, x, name, seq, a, c);
}

llmc_tid tc_add_op(tc_builder *b, const char *name, llmc_tid x, llmc_tid y) {
    llmc_irb r = irb(b);
    return llmc_irb_add(&r, name, x, y);
}

/* An expert stack [E, d0, d1]: llmc_irb_param has rank <= 2 */
static llmc_tid expert_param(tc_builder *b, const char *name, int64_t E, int64_t d0, int64_t d1, const tc_mlp *m,
                             tc_role init, llmc_param_role role) {
    llmc_param_desc p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.dtype = b->dt;
    p.rank = 3;
    p.shape[0] = E;
    p.shape[1] = d0;
    p.shape[2] = d1;
    p.component = LLMC_COMP_MLP;
    p.stack = m->stack;
    p.layer = m->layer;
    p.init = tc_init(b, init);
    p.role = role;
    p.norm_site = LLMC_NORM_SITE_NONE;
    return llmc_ir_param(b->ir, &p);
}

llmc_tid tc_moe_block(tc_builder *b, const tc_mlp *m) {
    const llmc_spec *s = b->s;
    const tc_geom *g = &b->g;
    int64_t E = s->moe.num_experts, I = tc_moe_intermediate(s, g);
    char n[NAME_LEN];
    tc_scope(b, m->stack, m->layer, LLMC_OPROLE_MLP);
    NAMEF(n, "%s.gate", m->op_prefix);
    llmc_tid logits = tc_linear(b, m->x, n, E, g->H, false, LLMC_COMP_MLP, m->stack, m->layer, TC_ROLE_MLP_IN,
                                LLMC_ROLE_MOE_ROUTER);
    llmc_attr ra[3] = {llmc_attr_int("experts_per_token", s->moe.experts_per_token),
                       llmc_attr_str("routing", llmc_moe_routing_name(s->moe.routing)),
                       llmc_attr_int("normalize", s->moe.normalize_topk ? 1 : 0)};
    NAMEF(n, "%s.route", m->op_prefix);
    llmc_tid weights = tc_op(b, LLMC_OP_MOE_ROUTE, n, &logits, 1, ra, 3);
    NAMEF(n, "%s.experts.gate_proj.weight", m->op_prefix);
    llmc_tid gate = expert_param(b, n, E, I, g->H, m, TC_ROLE_MLP_IN, LLMC_ROLE_EXPERT_GATE);
    NAMEF(n, "%s.experts.up_proj.weight", m->op_prefix);
    llmc_tid up = expert_param(b, n, E, I, g->H, m, TC_ROLE_MLP_IN, LLMC_ROLE_EXPERT_UP);
    NAMEF(n, "%s.experts.down_proj.weight", m->op_prefix);
    llmc_tid down = expert_param(b, n, E, g->H, I, m, TC_ROLE_MLP_OUT, LLMC_ROLE_EXPERT_DOWN);
    llmc_attr ea[2] = {llmc_attr_str("activation", "swiglu"), llmc_attr_int("experts_per_token", s->moe.experts_per_token)};
    llmc_tid in[5] = {m->x, weights, gate, up, down};
    NAMEF(n, "%s.experts", m->op_prefix);
    llmc_tid routed = tc_op(b, LLMC_OP_MOE_EXPERTS, n, in, 5, ea, 2);
    if (!s->moe.num_shared_experts) return routed;

    /* Qwen2-MoE: a SwiGLU MLP every token goes through, scaled by sigmoid(shared_expert_gate x), plus the routed sum */
    int64_t Is = tc_shared_expert_intermediate(s, g);
    char pre[NAME_LEN];
    NAMEF(pre, "%s.shared_expert.gate_proj", m->op_prefix);
    llmc_tid sg = tc_linear(b, m->x, pre, Is, g->H, false, LLMC_COMP_MLP, m->stack, m->layer, TC_ROLE_MLP_IN,
                            LLMC_ROLE_SHARED_EXPERT_GATE);
    NAMEF(pre, "%s.shared_expert.up_proj", m->op_prefix);
    llmc_tid su = tc_linear(b, m->x, pre, Is, g->H, false, LLMC_COMP_MLP, m->stack, m->layer, TC_ROLE_MLP_IN,
                            LLMC_ROLE_SHARED_EXPERT_UP);
    llmc_tid gu[2] = {sg, su};
    NAMEF(n, "%s.shared_expert.act", m->op_prefix);
    llmc_tid sh = tc_op(b, LLMC_OP_SWIGLU, n, gu, 2, NULL, 0);
    NAMEF(pre, "%s.shared_expert.down_proj", m->op_prefix);
    llmc_tid shared = tc_linear(b, sh, pre, g->H, Is, false, LLMC_COMP_MLP, m->stack, m->layer, TC_ROLE_MLP_OUT,
                                LLMC_ROLE_SHARED_EXPERT_DOWN);
    NAMEF(pre, "%s.shared_expert_gate", m->op_prefix);
    llmc_tid logit = tc_linear(b, m->x, pre, 1, g->H, false, LLMC_COMP_MLP, m->stack, m->layer, TC_ROLE_MLP_IN,
                               LLMC_ROLE_SHARED_EXPERT_SCALE);
    llmc_attr fn = llmc_attr_str("fn", "sigmoid");
    NAMEF(n, "%s.shared_expert_gate.sigmoid", m->op_prefix);
    llmc_tid scale = tc_op(b, LLMC_OP_ACTIVATION, n, &logit, 1, &fn, 1);
    llmc_tid sm[2] = {shared, scale};
    NAMEF(n, "%s.shared_expert.scaled", m->op_prefix);
    llmc_tid scaled = tc_op(b, LLMC_OP_MUL, n, sm, 2, NULL, 0);
    NAMEF(n, "%s.shared_sum", m->op_prefix);
    return tc_add_op(b, n, routed, scaled);
}

int tc_rope_attrs(const llmc_spec *s, llmc_attr *a) {
    const llmc_rope_params *r = &s->rope;
    int n = 0;
    a[n++] = llmc_attr_float("theta", r->theta);
    a[n++] = llmc_attr_str("scaling", llmc_rope_scaling_name(r->scaling));
    /* halves of the first fraction * head_dim dims (LLaMA / NeoX layout; Phi rotates 0.4 of a head) */
    a[n++] = llmc_attr_float("fraction", r->fraction);
    a[n++] = llmc_attr_str("style", "neox");
    if (r->scaling == LLMC_ROPE_SCALING_NONE) return n;
    a[n++] = llmc_attr_float("factor", r->factor);
    if (r->scaling == LLMC_ROPE_SCALING_LINEAR) return n;
    a[n++] = llmc_attr_float("original_context_length", (double)r->original_context_length);
    if (r->scaling == LLMC_ROPE_SCALING_LLAMA3) {
        a[n++] = llmc_attr_float("low_freq_factor", r->low_freq_factor);
        a[n++] = llmc_attr_float("high_freq_factor", r->high_freq_factor);
    } else if (r->scaling == LLMC_ROPE_SCALING_YARN) {
        a[n++] = llmc_attr_float("beta_fast", r->beta_fast);
        a[n++] = llmc_attr_float("beta_slow", r->beta_slow);
    }
    return n;
}

/* QK-norm: RMSNorm over the head dim of every head [B,S,n,hd], weight [hd] shared by the heads */
static llmc_tid head_norm(tc_builder *b, const tc_attn *a, llmc_tid x, const char *prefix, llmc_norm_site site) {
    char n[NAME_LEN];
    NAMEF(n, "%s.weight", prefix);
    llmc_tid w = tc_param(b, n, 1, b->g.hd, 0, LLMC_COMP_NORM, a->stack, a->layer, TC_ROLE_NORM, LLMC_ROLE_NORM, site);
    llmc_attr at[2] = {llmc_attr_float("eps", b->s->norm_eps), llmc_attr_float("weight_offset", b->s->norm_weight_offset)};
    llmc_tid in[2] = {x, w};
    return tc_op(b, LLMC_OP_RMSNORM, prefix, in, 2, at, b->s->norm_weight_offset != 0.0 ? 2 : 1);
}

llmc_tid tc_attention(tc_builder *b, const tc_attn *a) {
    const llmc_spec *s = b->s;
    const tc_geom *g = &b->g;
    int64_t qd = g->nh * g->hd, kvd = g->nkv * g->hd;
    char n[NAME_LEN];

    tc_scope(b, a->stack, a->layer, a->cross ? LLMC_OPROLE_CROSS_ATTENTION : LLMC_OPROLE_SELF_ATTENTION);
    llmc_tid q = tc_linear(b, a->x_q, a->q, qd, g->H, s->bias.qkv, LLMC_COMP_ATTENTION, a->stack, a->layer, TC_ROLE_Q,
                           a->cross ? LLMC_ROLE_CROSS_Q : LLMC_ROLE_ATTN_Q);
    llmc_tid k = tc_linear(b, a->x_kv, a->k, kvd, g->H, s->bias.qkv, LLMC_COMP_ATTENTION, a->stack, a->layer, TC_ROLE_K,
                           a->cross ? LLMC_ROLE_CROSS_K : LLMC_ROLE_ATTN_K);
    llmc_tid v = tc_linear(b, a->x_kv, a->v, kvd, g->H, s->bias.qkv, LLMC_COMP_ATTENTION, a->stack, a->layer, TC_ROLE_V,
                           a->cross ? LLMC_ROLE_CROSS_V : LLMC_ROLE_ATTN_V);
    NAMEF(n, "%s.q_heads", a->op_prefix);
    q = tc_reshape(b, q, n, a->q_seq, g->nh, g->hd);
    NAMEF(n, "%s.k_heads", a->op_prefix);
    k = tc_reshape(b, k, n, a->kv_seq, g->nkv, g->hd);
    NAMEF(n, "%s.v_heads", a->op_prefix);
    v = tc_reshape(b, v, n, a->kv_seq, g->nkv, g->hd);
    if (a->q_norm) q = head_norm(b, a, q, a->q_norm, LLMC_NORM_SITE_ATTN_Q);
    if (a->k_norm) k = head_norm(b, a, k, a->k_norm, LLMC_NORM_SITE_ATTN_K);

    if (a->rope) {
        llmc_attr ra[10];
        int nr = tc_rope_attrs(s, ra);
        NAMEF(n, "%s.q_rope", a->op_prefix);
        q = tc_op(b, LLMC_OP_ROPE, n, &q, 1, ra, nr);
        NAMEF(n, "%s.k_rope", a->op_prefix);
        k = tc_op(b, LLMC_OP_ROPE, n, &k, 1, ra, nr);
    }
    llmc_tid bias = a->bias;
    if (a->alibi) {
        llmc_tid in[2] = {q, k};
        llmc_attr mb = llmc_attr_float("max_bias", s->alibi_max_bias);
        NAMEF(n, "%s.alibi", a->op_prefix);
        bias = tc_op(b, LLMC_OP_ALIBI, n, in, 2, &mb, 1);
    }
    llmc_attr at[4];
    int na = 0;
    at[na++] = llmc_attr_str("mask", a->mask);
    at[na++] = llmc_attr_float("scale", a->scale);
    if (!strcmp(a->mask, "sliding_window")) at[na++] = llmc_attr_int("window", s->sliding_window);
    if (s->attention_softcap > 0) at[na++] = llmc_attr_float("softcap", s->attention_softcap);
    llmc_tid in[4] = {q, k, v, bias};
    NAMEF(n, "%s.attention", a->op_prefix);
    llmc_tid o = tc_op(b, LLMC_OP_ATTENTION, n, in, bias != LLMC_TID_NONE ? 4 : 3, at, na);
    NAMEF(n, "%s.merge_heads", a->op_prefix);
    o = tc_reshape(b, o, n, a->q_seq, qd, 0);
    return tc_linear(b, o, a->o, g->H, qd, s->bias.attn_out, LLMC_COMP_ATTENTION, a->stack, a->layer, TC_ROLE_O,
                     a->cross ? LLMC_ROLE_CROSS_O : LLMC_ROLE_ATTN_O);
}

llmc_tid tc_mlp_block(tc_builder *b, const tc_mlp *m) {
    const llmc_spec *s = b->s;
    const tc_geom *g = &b->g;
    char n[NAME_LEN];
    NAMEF(n, "%s.act", m->op_prefix);
    tc_scope(b, m->stack, m->layer, LLMC_OPROLE_MLP);
    llmc_tid h;
    if (llmc_activation_is_gated(s->activation)) {
        llmc_tid gate = tc_linear(b, m->x, m->gate, g->I, g->H, s->bias.mlp, LLMC_COMP_MLP, m->stack, m->layer,
                                  TC_ROLE_MLP_IN, LLMC_ROLE_MLP_GATE);
        llmc_tid up = tc_linear(b, m->x, m->up, g->I, g->H, s->bias.mlp, LLMC_COMP_MLP, m->stack, m->layer,
                                TC_ROLE_MLP_IN, LLMC_ROLE_MLP_UP);
        llmc_tid in[2] = {gate, up};
        if (s->activation == LLMC_ACT_SWIGLU) {
            h = tc_op(b, LLMC_OP_SWIGLU, n, in, 2, NULL, 0);
        } else {
            /* geglu gates with the tanh approximation of gelu (T5 v1.1 "gated-gelu") */
            llmc_attr ap = llmc_attr_int("approximate", 1);
            h = tc_op(b, LLMC_OP_GEGLU, n, in, 2, &ap, 1);
        }
    } else {
        llmc_tid up = tc_linear(b, m->x, m->up, g->I, g->H, s->bias.mlp, LLMC_COMP_MLP, m->stack, m->layer,
                                TC_ROLE_MLP_IN, LLMC_ROLE_MLP_UP);
        llmc_attr fn = llmc_attr_str("fn", llmc_activation_name(s->activation));
        h = tc_op(b, LLMC_OP_ACTIVATION, n, &up, 1, &fn, 1);
    }
    return tc_linear(b, h, m->down, g->H, g->I, s->bias.mlp, LLMC_COMP_MLP, m->stack, m->layer, TC_ROLE_MLP_OUT,
                     LLMC_ROLE_MLP_DOWN);
}

void tc_head(tc_builder *b, llmc_tid x, llmc_tid tied_weight) {
    const llmc_spec *s = b->s;
    tc_scope(b, LLMC_STACK_NONE, -1, LLMC_OPROLE_HEAD);
    /* a tied head is the embedding matrix itself: one tensor, counted once */
    llmc_tid w = s->tie_word_embeddings ? tied_weight
                                        : tc_param(b, "lm_head.weight", 2, b->g.V, b->g.H, LLMC_COMP_HEAD,
                                                   LLMC_STACK_NONE, -1, TC_ROLE_HEAD, LLMC_ROLE_OUTPUT_HEAD,
                                                   LLMC_NORM_SITE_NONE);
    llmc_tid hb = LLMC_TID_NONE;
    if (s->bias.lm_head)
        hb = tc_param(b, "lm_head.bias", 1, b->g.V, 0, LLMC_COMP_HEAD, LLMC_STACK_NONE, -1, TC_ROLE_BIAS,
                      LLMC_ROLE_OUTPUT_HEAD, LLMC_NORM_SITE_NONE);
    /* made raw so that the graph output is named "logits" rather than "lm_head:0" */
    int64_t logits_shape[3] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ, b->g.V};
    bool capped = s->final_logit_softcap > 0;
    /* with final_logit_softcap the head writes the raw logits and SOFTCAP writes "logits" */
    llmc_tid raw = capped ? llmc_ir_value(b->ir, "lm_head.raw_logits", b->dt, 3, logits_shape) : LLMC_TID_NONE;
    llmc_tid logits = llmc_ir_value(b->ir, "logits", b->dt, 3, logits_shape);
    llmc_tid head_out = capped ? raw : logits;
    if (x != LLMC_TID_NONE && w != LLMC_TID_NONE && head_out != LLMC_TID_NONE &&
        (!s->bias.lm_head || hb != LLMC_TID_NONE)) {
        llmc_tid hin[3] = {x, w, hb};
        llmc_ir_op_raw(b->ir, LLMC_OP_LINEAR, "lm_head", hin, s->bias.lm_head ? 3 : 2, &head_out, 1, NULL, 0);
    }
    if (capped && raw != LLMC_TID_NONE && logits != LLMC_TID_NONE) {
        llmc_attr cap = llmc_attr_float("cap", s->final_logit_softcap);
        llmc_ir_op_raw(b->ir, LLMC_OP_SOFTCAP, "final_logit_softcap", &raw, 1, &logits, 1, &cap, 1);
    }
    llmc_ir_mark_output(b->ir, logits);
}

void tc_count_head(const llmc_spec *s, const tc_geom *g, tc_count *k) {
    if (!s->tie_word_embeddings) tc_add(k, LLMC_COMP_HEAD, (uint64_t)g->V, (uint64_t)g->H);
    if (s->bias.lm_head) tc_add(k, LLMC_COMP_HEAD, (uint64_t)g->V, 1);
}
