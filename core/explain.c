/* Explanations of solver answers and of missed budgets (explain.h, docs/solvers.md). */
#include "explain.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NEAREST_STEPS 3000000u  /* exact nearest-count searches stop here (a few hundred ms) */
#define MISS_BUDGET_MS 3000.0   /* the search for constraints to leave out stops after this */
#define MAX_ITEMS 24            /* user pins and constraints considered for leaving out */

const char *llmc_decider_name(llmc_decider k) {
    static const char *const names[] = {"pin", "constraint", "family rule", "prior", "budget"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

static double rel_err(uint64_t n, uint64_t t) {
    if (t == 0) return 0;
    return (n > t ? (double)(n - t) : (double)(t - n)) / (double)t;
}

/* whole-word occurrence of name in text */
static bool mentions(const char *text, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (left && right) return true;
    }
    return false;
}

typedef struct ctx {
    const llmc_spec *spec;
    const llmc_template_vtable *tv;
    const llmc_solver_vtable *sv;
    llmc_prior_query *q;
    uint64_t target;
} ctx;

static double plaus(const ctx *c, const llmc_dims *d, uint64_t n, double *terms) {
    return c->q ? llmc_prior_query_score(c->q, d, n, terms) : 0.0;
}

static double score_of(const ctx *c, const llmc_shape *sh) {
    double z = sh->relative_error / (c->spec->tolerance / 2);
    return sh->plausibility - 0.5 * z * z;
}

/* solve a variant of the problem; the solver's messages are dropped */
static int solve_variant(const ctx *c, const llmc_problem_params *pp, llmc_shape *out) {
    llmc_diags *scratch = llmc_diags_create();
    llmc_problem *p = llmc_problem_create_with(c->spec, c->tv, pp, scratch);
    int st = LLMC_SOLVE_ERROR;
    if (p) {
        llmc_solution sol;
        memset(&sol, 0, sizeof sol);
        st = c->sv->solve(p, &sol, scratch);
        if (st == LLMC_SOLVE_OK || st == LLMC_SOLVE_OUT_OF_TOLERANCE) {
            /* never trust a solver: the same independent check as the pipeline's */
            llmc_diags *chk = llmc_diags_create();
            if (llmc_problem_check_solution(p, &sol.dims, chk) != 0) st = LLMC_SOLVE_ERROR;
            llmc_diags_free(chk);
            out->dims = sol.dims;
            out->params = sol.params;
            out->relative_error = rel_err(sol.params, c->target);
            out->plausibility = plaus(c, &sol.dims, sol.params, NULL);
            out->score = score_of(c, out);
        }
        llmc_problem_free(p);
    }
    llmc_diags_free(scratch);
    return st;
}

static void shape_text(const llmc_dims *d, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < LLMC_DIM_COUNT && used < len; i++) {
        if (!llmc_dims_has(d, (llmc_dim_id)i)) continue;
        int w = snprintf(buf + used, len - used, "%s%s %lld", used ? ", " : "", llmc_dim_name((llmc_dim_id)i),
                         (long long)d->v[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* ---- a solved answer ---------------------------------------------------------------------------- */

static void derived_detail(const llmc_spec *s, const llmc_dims *d, llmc_dim_id id, char *buf, size_t len) {
    const int64_t *v = d->v;
    switch (id) {
    case LLMC_DIM_NUM_HEADS:
        snprintf(buf, len, "hidden_size / head_dim = %lld / %lld", (long long)v[LLMC_DIM_HIDDEN_SIZE],
                 (long long)v[LLMC_DIM_HEAD_DIM]);
        break;
    case LLMC_DIM_HEAD_DIM:
        snprintf(buf, len, "hidden_size / num_heads = %lld / %lld", (long long)v[LLMC_DIM_HIDDEN_SIZE],
                 (long long)v[LLMC_DIM_NUM_HEADS]);
        break;
    case LLMC_DIM_NUM_KV_HEADS:
        if (s->attention == LLMC_ATTN_MQA) snprintf(buf, len, "1 with attention: mqa");
        else snprintf(buf, len, "num_heads with attention: %s", llmc_attention_name(s->attention));
        break;
    case LLMC_DIM_INTERMEDIATE_SIZE:
        snprintf(buf, len, "%s", llmc_activation_is_gated(s->activation)
                                     ? "the gated-MLP convention: 8/3 x hidden_size rounded up to a multiple of 256"
                                     : "the MLP convention: 4 x hidden_size");
        break;
    case LLMC_DIM_NUM_ENCODER_LAYERS:
    case LLMC_DIM_NUM_DECODER_LAYERS: snprintf(buf, len, "num_layers"); break;
    default: snprintf(buf, len, "derived from the other dims"); break;
    }
}

/* Which of the problem's constraints mention dim name: user ones (mask over spec constraints)
 * and built-in ones (mask over the template's), from the problem as built for the spec. */
static void constraint_masks(const llmc_problem *p, const char *name, uint64_t *user, uint64_t *builtin) {
    *user = *builtin = 0;
    for (size_t i = 0; i < llmc_problem_num_constraints(p); i++) {
        if (!mentions(llmc_problem_constraint_text(p, i), name)) continue;
        long u = llmc_problem_user_index(p, i), b = llmc_problem_builtin_index(p, i);
        if (u >= 0 && u < 64) *user |= 1ull << u;
        if (b >= 0 && b < 64) *builtin |= 1ull << b;
    }
}

static void explain_variable(const ctx *c, const llmc_problem *p, const char *objective, llmc_dim_reason *r) {
    const char *name = llmc_dim_name(r->dim);
    char extra[96];
    snprintf(extra, sizeof extra, "%s != %lld", name, (long long)r->value);
    const char *ex[1] = {extra};
    llmc_problem_params pp = llmc_problem_default_params();
    pp.extra = ex;
    pp.n_extra = 1;
    llmc_shape alt;
    char a[32];
    if (solve_variant(c, &pp, &alt) == LLMC_SOLVE_OK) {
        r->has_alternative = true;
        r->alternative = alt;
        bool closest = !strcmp(objective, "closest");
        r->by = closest ? LLMC_DECIDED_BUDGET : LLMC_DECIDED_PRIOR;
        snprintf(r->detail, sizeof r->detail,
                 "%s: the best with another %s has %s = %lld (%s parameters, %.3f%% off, plausibility %.2f, "
                 "score %.2f)",
                 closest ? "closest count" : "most plausible within the tolerance", name, name,
                 (long long)alt.dims.v[r->dim], llmc_fmt_count(alt.params, a, sizeof a), 100 * alt.relative_error,
                 alt.plausibility, alt.score);
        return;
    }
    uint64_t user, builtin;
    constraint_masks(p, name, &user, &builtin);
    /* one of the user's constraints on it alone? */
    for (size_t i = 0; i < c->spec->n_constraints && i < 64; i++) {
        if (!((user >> i) & 1)) continue;
        pp.drop_constraints = 1ull << i;
        if (solve_variant(c, &pp, &alt) == LLMC_SOLVE_OK) {
            r->by = LLMC_DECIDED_CONSTRAINT;
            snprintf(r->detail, sizeof r->detail, "your constraints[%zu] '%s' rules out every other value", i,
                     c->spec->constraints[i].text);
            r->has_alternative = true;
            r->alternative = alt;
            return;
        }
    }
    if (c->spec->n_constraints) {
        pp.drop_constraints = ~0ull;
        if (solve_variant(c, &pp, &alt) == LLMC_SOLVE_OK) {
            r->by = LLMC_DECIDED_CONSTRAINT;
            snprintf(r->detail, sizeof r->detail, "your constraints together rule out every other value");
            r->has_alternative = true;
            r->alternative = alt;
            return;
        }
        pp.drop_constraints = 0;
    }
    if (builtin) {
        pp.drop_builtin = builtin;
        if (solve_variant(c, &pp, &alt) == LLMC_SOLVE_OK) {
            r->by = LLMC_DECIDED_FAMILY;
            size_t used = (size_t)snprintf(r->detail, sizeof r->detail, "the template's rule%s",
                                           (builtin & (builtin - 1)) ? "s" : "");
            for (size_t i = 0; i < llmc_problem_num_constraints(p) && used < sizeof r->detail; i++) {
                long b = llmc_problem_builtin_index(p, i);
                if (b < 0 || b >= 64 || !((builtin >> b) & 1)) continue;
                used += (size_t)snprintf(r->detail + used, sizeof r->detail - used, " '%s'",
                                         llmc_problem_constraint_text(p, i));
            }
            if (used < sizeof r->detail)
                snprintf(r->detail + used, sizeof r->detail - used, " rule%s out every other value",
                         (builtin & (builtin - 1)) ? "" : "s");
            r->has_alternative = true;
            r->alternative = alt;
            return;
        }
    }
    r->by = LLMC_DECIDED_BUDGET;
    snprintf(r->detail, sizeof r->detail, "no other %s reaches target_params %s within the tolerance (%g%%)", name,
             llmc_fmt_count(c->target, a, sizeof a), 100 * c->spec->tolerance);
}

/* "not (num_layers == 32 and hidden_size == 4096)" over the shape's key dims */
static void exclusion(const llmc_problem *p, const llmc_dims *d, char *buf, size_t len) {
    size_t n_vars = llmc_problem_num_vars(p), used = (size_t)snprintf(buf, len, "not (");
    bool any = false, only_fine = true;
    for (size_t i = 0; i < n_vars; i++)
        if (llmc_problem_var(p, i)->dim != LLMC_DIM_INTERMEDIATE_SIZE) only_fine = false;
    for (size_t i = 0; i < n_vars && used < len; i++) {
        llmc_dim_id id = llmc_problem_var(p, i)->dim;
        if (id == LLMC_DIM_INTERMEDIATE_SIZE && !only_fine) continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s == %lld", any ? " and " : "", llmc_dim_name(id),
                                 (long long)d->v[id]);
        any = true;
    }
    if (used < len) snprintf(buf + used, len - used, ")");
}

int llmc_explain_solution(const llmc_spec *spec, const llmc_template_vtable *tv, const llmc_solver_vtable *sv,
                          const llmc_dims *answer, uint64_t params, llmc_explanation *out, llmc_diags *d) {
    memset(out, 0, sizeof *out);
    const llmc_prior *prior = llmc_prior_builtin();
    ctx c = {spec, tv, sv, prior ? llmc_prior_query_create(prior, spec, spec->target_params) : NULL,
             spec->target_params};
    const llmc_solver_option *o = llmc_spec_solver_option(spec, "objective");
    out->objective = o && !strcmp(o->value, "closest") ? "closest" : "plausible";
    out->answer.dims = *answer;
    out->answer.params = params;
    out->answer.relative_error = rel_err(params, c.target);
    out->answer.plausibility = plaus(&c, answer, params, out->terms);
    out->answer.score = score_of(&c, &out->answer);
    llmc_problem *p = llmc_problem_create(spec, tv, d);
    if (!p) {
        llmc_prior_query_free(c.q);
        return 1;
    }
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        llmc_dim_id id = (llmc_dim_id)i;
        if (!llmc_dims_has(answer, id)) continue;
        llmc_dim_reason *r = &out->dims[out->n_dims++];
        r->dim = id;
        r->value = answer->v[i];
        if (llmc_dims_has(&spec->dims, id)) {
            r->by = LLMC_DECIDED_PIN;
            snprintf(r->detail, sizeof r->detail, "dims.%s: %lld in your spec", llmc_dim_name(id),
                     (long long)spec->dims.v[i]);
        } else if (llmc_problem_domain(p, id)) {
            explain_variable(&c, p, out->objective, r);
        } else if (id == LLMC_DIM_NUM_HEADS && llmc_dims_has(answer, LLMC_DIM_HEAD_DIM) &&
                   llmc_dims_has(answer, LLMC_DIM_HIDDEN_SIZE) &&
                   answer->v[id] * answer->v[LLMC_DIM_HEAD_DIM] != answer->v[LLMC_DIM_HIDDEN_SIZE]) {
            /* heads that do not span the width: the solver chose the attention width apart */
            r->by = LLMC_DECIDED_PRIOR;
            snprintf(r->detail, sizeof r->detail,
                     "attention width num_heads x head_dim = %lld, apart from hidden_size %lld (the prior's "
                     "decoupling term, docs/solvers.md)",
                     (long long)(answer->v[id] * answer->v[LLMC_DIM_HEAD_DIM]),
                     (long long)answer->v[LLMC_DIM_HIDDEN_SIZE]);
        } else {
            r->by = LLMC_DECIDED_FAMILY;
            char how[200];
            derived_detail(spec, answer, id, how, sizeof how);
            snprintf(r->detail, sizeof r->detail, "template %s derives it: %s", spec->template_name, how);
        }
    }
    /* runner-ups: the next best shapes, each excluded in turn */
    char excl[LLMC_EXPLAIN_RUNNER_UPS + 1][256];
    const char *ex[LLMC_EXPLAIN_RUNNER_UPS + 1];
    llmc_dims cur = *answer;
    for (size_t k = 0; k < LLMC_EXPLAIN_RUNNER_UPS && llmc_problem_num_vars(p) > 0; k++) {
        exclusion(p, &cur, excl[k], sizeof excl[k]);
        ex[k] = excl[k];
        llmc_problem_params pp = llmc_problem_default_params();
        pp.extra = ex;
        pp.n_extra = k + 1;
        llmc_shape next;
        if (solve_variant(&c, &pp, &next) != LLMC_SOLVE_OK) break;
        out->runner_ups[out->n_runner_ups++] = next;
        cur = next.dims;
    }
    llmc_problem_free(p);
    llmc_prior_query_free(c.q);
    return 0;
}

/* ---- a missed budget --------------------------------------------------------------------------------- */

typedef struct item {
    bool pin;
    llmc_dim_id dim;          /* pin */
    size_t index;             /* constraint */
    char text[160];
} item;

/* the smallest count a variant allows (false if nothing is feasible or the search gave up) */
static bool variant_min(const ctx *c, const llmc_problem_params *pp, uint64_t *min) {
    llmc_diags *scratch = llmc_diags_create();
    llmc_problem *p = llmc_problem_create_with(c->spec, c->tv, pp, scratch);
    bool found = false;
    if (p) found = llmc_problem_nearest(p, 0, true, NEAREST_STEPS, NULL, min, NULL);
    llmc_problem_free(p);
    llmc_diags_free(scratch);
    return found;
}

static bool within(const ctx *c, uint64_t n) { return rel_err(n, c->target) <= c->spec->tolerance; }

/* does leaving out these items make the target reachable within the tolerance? */
static bool reachable_without(const ctx *c, const item *items, const size_t *which, size_t k, bool below_min,
                              uint64_t *new_min) {
    llmc_problem_params pp = llmc_problem_default_params();
    for (size_t j = 0; j < k; j++) {
        const item *it = &items[which[j]];
        if (it->pin) pp.drop_pins |= 1u << it->dim;
        else pp.drop_constraints |= 1ull << it->index;
    }
    uint64_t m = 0;
    if (below_min) { /* the target is below the smallest model: only the new smallest matters */
        if (!variant_min(c, &pp, &m) || m > (uint64_t)((double)c->target * (1 + c->spec->tolerance))) return false;
        *new_min = m;
    }
    llmc_shape s;
    return solve_variant(c, &pp, &s) == LLMC_SOLVE_OK && within(c, s.params);
}

static void items_text(const item *items, const size_t *which, size_t k, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < k && used < len; j++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", j ? " and " : "", items[which[j]].text);
}

void llmc_explain_miss(const llmc_spec *spec, const llmc_template_vtable *tv, const llmc_solver_vtable *sv,
                       llmc_diags *d) {
    if (!spec->has_target_params) return;
    const llmc_prior *prior = llmc_prior_builtin();
    ctx c = {spec, tv, sv, prior ? llmc_prior_query_create(prior, spec, spec->target_params) : NULL,
             spec->target_params};
    llmc_diags *scratch = llmc_diags_create();
    llmc_problem *p = llmc_problem_create(spec, tv, scratch);
    llmc_diags_free(scratch);
    if (!p) {
        llmc_prior_query_free(c.q);
        return;
    }
    char a[32], b[32], t[32], dt[320];
    llmc_loc none = {0};
    llmc_dims min_dims, max_dims;
    uint64_t min = 0, max = 0;
    bool ex_min = false, ex_max = false;
    bool have_min = llmc_problem_nearest(p, 0, true, NEAREST_STEPS, &min_dims, &min, &ex_min);
    bool have_max = llmc_problem_nearest(p, UINT64_MAX, false, NEAREST_STEPS, &max_dims, &max, &ex_max);
    if (!have_min) {
        llmc_diag_add(d, LLMC_SEV_NOTE, none, NULL, "%s",
                      ex_min ? "no assignment of the dims satisfies every constraint, at any size"
                             : "no assignment satisfying every constraint was found (the search stopped early)");
    } else {
        shape_text(&min_dims, dt, sizeof dt);
        llmc_param_count pc;
        llmc_problem_count(p, &min_dims, &pc);
        uint64_t emb = pc.component[LLMC_COMP_EMBEDDING] + pc.component[LLMC_COMP_HEAD] +
                       pc.component[LLMC_COMP_POSITIONAL];
        char upto[64] = "";
        if (have_max)
            snprintf(upto, sizeof upto, " to %s%s", ex_max ? "" : "at least ", llmc_fmt_count(max, b, sizeof b));
        llmc_diag_add(d, LLMC_SEV_NOTE, none, NULL,
                      "under your pins and constraints the counts reachable run from %s%s (%s; embeddings, "
                      "positions and head %s of it)%s",
                      ex_min ? "" : "at most ", llmc_fmt_count(min, a, sizeof a), dt,
                      llmc_fmt_count(emb, t, sizeof t), upto);
        /* the nearest counts on either side of the target */
        uint64_t below = 0, above = 0;
        llmc_dims bd, ad;
        bool hb = false, ha = false;
        if (spec->target_params <= min) {
            ha = true;
            above = min;
            ad = min_dims;
        } else if (have_max && spec->target_params >= max) {
            hb = true;
            below = max;
            bd = max_dims;
        } else {
            hb = llmc_problem_nearest(p, spec->target_params, false, NEAREST_STEPS, &bd, &below, NULL);
            ha = llmc_problem_nearest(p, spec->target_params, true, NEAREST_STEPS, &ad, &above, NULL);
        }
        if (hb || ha) {
            char lo[400] = "", hi[400] = "";
            if (hb) {
                shape_text(&bd, dt, sizeof dt);
                snprintf(lo, sizeof lo, "%s (%.2f%% below: %s)", llmc_fmt_count(below, a, sizeof a),
                         100 * rel_err(below, spec->target_params), dt);
            }
            if (ha) {
                shape_text(&ad, dt, sizeof dt);
                snprintf(hi, sizeof hi, "%s (%.2f%% above: %s)", llmc_fmt_count(above, b, sizeof b),
                         100 * rel_err(above, spec->target_params), dt);
            }
            llmc_diag_add(d, LLMC_SEV_NOTE, none, NULL, "the nearest counts reachable: %s%s%s", lo,
                          hb && ha ? " and " : "", hi);
        }
    }

    /* the smallest sets of the user's pins and constraints whose removal makes the target reachable */
    item items[MAX_ITEMS];
    size_t n = 0;
    for (int i = 0; i < LLMC_DIM_COUNT && n < MAX_ITEMS; i++)
        if (llmc_dims_has(&spec->dims, (llmc_dim_id)i)) {
            items[n].pin = true;
            items[n].dim = (llmc_dim_id)i;
            snprintf(items[n].text, sizeof items[n].text, "dims.%s: %lld", llmc_dim_name((llmc_dim_id)i),
                     (long long)spec->dims.v[i]);
            n++;
        }
    for (size_t i = 0; i < spec->n_constraints && i < 64 && n < MAX_ITEMS; i++) {
        items[n].pin = false;
        items[n].index = i;
        snprintf(items[n].text, sizeof items[n].text, "constraints[%zu] '%s'", i, spec->constraints[i].text);
        n++;
    }
    bool below_min = have_min && min > (uint64_t)((double)spec->target_params * (1 + spec->tolerance));
    double t0 = llmc_now_ms();
    char fixes[1024] = "";
    size_t used = 0, n_fixes = 0;
    /* one item left out, then two: the smallest sets that work, all of that size */
    for (size_t k = 1; k <= 2 && n_fixes == 0; k++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = k == 2 ? i + 1 : 0; j < (k == 2 ? n : 1); j++) {
                size_t which[2] = {i, j};
                uint64_t new_min = 0;
                if (llmc_now_ms() - t0 >= MISS_BUDGET_MS) goto searched;
                if (!reachable_without(&c, items, which, k, below_min, &new_min)) continue;
                char what[400];
                items_text(items, which, k, what, sizeof what);
                if (used < sizeof fixes)
                    used += (size_t)snprintf(fixes + used, sizeof fixes - used, "%swithout %s", n_fixes ? "; or " : "",
                                             what);
                if (below_min && used < sizeof fixes)
                    used += (size_t)snprintf(fixes + used, sizeof fixes - used, " (smallest then %s)",
                                             llmc_fmt_count(new_min, a, sizeof a));
                n_fixes++;
            }
searched:
    if (n_fixes)
        llmc_diag_add(d, LLMC_SEV_NOTE, none, NULL, "target_params %s becomes reachable %s",
                      llmc_fmt_count(spec->target_params, t, sizeof t), fixes);
    else if (n)
        llmc_diag_add(d, LLMC_SEV_NOTE, none, NULL,
                      "leaving out any one or two of your pins and constraints does not make the target reachable");

    /* a smaller vocabulary, when the embeddings are what make the model too big */
    if (below_min) {
        int64_t lo = 1, hi = spec->vocab_size - 1, best = 0;
        uint64_t hi_count = (uint64_t)((double)spec->target_params * (1 + spec->tolerance));
        while (lo <= hi && llmc_now_ms() - t0 < 2 * MISS_BUDGET_MS) {
            int64_t mid = lo + (hi - lo) / 2;
            llmc_problem_params pp = llmc_problem_default_params();
            pp.vocab_size = mid;
            uint64_t m;
            if (variant_min(&c, &pp, &m) && m <= hi_count) {
                best = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (best > 0)
            llmc_diag_add(d, LLMC_SEV_NOTE, none, NULL,
                          "with these pins and constraints, a vocabulary of at most %s tokens leaves room for it "
                          "(vocab_size is %s)",
                          llmc_fmt_count((uint64_t)best, a, sizeof a),
                          llmc_fmt_count((uint64_t)spec->vocab_size, b, sizeof b));
    }
    llmc_problem_free(p);
    llmc_prior_query_free(c.q);
}
