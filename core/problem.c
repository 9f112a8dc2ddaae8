/* The sizing problem (problem.h): the template's variables and built-in constraints plus
 * the user's pins and constraints, an evaluator for solvers, and an independent check of
 * any solver's answer. */
#include "llmc/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/expr.h"
#include "llmc/plugin.h"
#include "util.h"

#define MAX_VARS LLMC_DIM_COUNT

typedef struct pconstraint {
    char *text;
    char *origin;          /* "decoder_only" (template), "constraints[2]" (user) or "explain" (host) */
    long builtin;          /* index among the template's constraints, or -1 */
    long user;             /* index in the spec's constraints, or -1 */
    llmc_expr *expr;       /* owned unless user (then borrowed from the spec) */
    bool owned;
    llmc_loc loc;          /* user constraints: where it is written */
    uint32_t dims_needed;  /* bit per llmc_dim_id referenced */
} pconstraint;

#define NAME_CACHE 64
typedef struct name_slot {
    const char *ptr;       /* a name string owned by one of the expressions */
    int dim;               /* its dim id, or -1 for a spec value */
} name_slot;

struct llmc_problem {
    const llmc_spec *spec;     /* &spec_copy */
    llmc_spec spec_copy;       /* the caller's spec, with the params' changes; borrows everything */
    llmc_constraint *kept;     /* the user's constraints that are kept (spec_copy.constraints) */
    size_t *kept_index;        /* their index in the caller's spec */
    const llmc_prior *prior;
    const char *objective;     /* solver option override, or NULL */
    long n_builtin;            /* template constraints seen so far (numbering for drop_builtin) */
    uint64_t drop_builtin;
    const llmc_template_vtable *tmpl;
    llmc_var_domain vars[MAX_VARS];
    size_t n_vars;
    pconstraint *cons;
    size_t n_cons, cap_cons;
    bool failed;           /* a template call was invalid (reported at creation) */
    llmc_diags *d;         /* only during creation */
    const char *tmpl_name;
    name_slot names[NAME_CACHE];
    size_t n_names;
};

static void cache_names(llmc_problem *p);

/* ---- template side ------------------------------------------------------------------------ */

static llmc_var_domain *var_slot(llmc_problem *p, llmc_dim_id dim) {
    if ((unsigned)dim >= LLMC_DIM_COUNT) {
        p->failed = true;
        llmc_error(p->d, NULL, "template %s declared an unknown dimension id %d", p->tmpl_name, (int)dim);
        return NULL;
    }
    if (llmc_dims_has(&p->spec->dims, dim)) return NULL; /* pinned by the user: not a variable */
    for (size_t i = 0; i < p->n_vars; i++)
        if (p->vars[i].dim == dim) {
            p->failed = true;
            llmc_error(p->d, NULL, "template %s declared variable %s twice", p->tmpl_name, llmc_dim_name(dim));
            return NULL;
        }
    llmc_var_domain *v = &p->vars[p->n_vars++];
    memset(v, 0, sizeof *v);
    v->dim = dim;
    return v;
}

int llmc_problem_add_var(llmc_problem *p, llmc_dim_id dim, int64_t min, int64_t max, int64_t multiple_of) {
    if (!p) return 1;
    if (min < 1 || max < min || multiple_of < 1) {
        p->failed = true;
        llmc_error(p->d, NULL, "template %s: invalid domain for %s ([%lld, %lld] multiple of %lld)", p->tmpl_name,
                   llmc_dim_name(dim), (long long)min, (long long)max, (long long)multiple_of);
        return 1;
    }
    if (llmc_dims_has(&p->spec->dims, dim)) return 0;
    llmc_var_domain *v = var_slot(p, dim);
    if (!v) return 1;
    v->min = min;
    v->max = max;
    v->multiple_of = multiple_of;
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int llmc_problem_add_values(llmc_problem *p, llmc_dim_id dim, const int64_t *values, size_t n) {
    if (!p) return 1;
    if (n == 0 || n > LLMC_DOMAIN_MAX_VALUES || !values) {
        p->failed = true;
        llmc_error(p->d, NULL, "template %s: %s needs 1..%d candidate values (got %zu)", p->tmpl_name,
                   llmc_dim_name(dim), LLMC_DOMAIN_MAX_VALUES, n);
        return 1;
    }
    if (llmc_dims_has(&p->spec->dims, dim)) return 0;
    llmc_var_domain *v = var_slot(p, dim);
    if (!v) return 1;
    memcpy(v->values, values, n * sizeof *values);
    qsort(v->values, n, sizeof *values, cmp_i64);
    size_t k = 0; /* drop repeats */
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v->values[k - 1] != v->values[i]) v->values[k++] = v->values[i];
    v->n_values = k;
    v->min = v->values[0];
    v->max = v->values[k - 1];
    v->multiple_of = 1;
    if (v->min < 1) {
        p->failed = true;
        llmc_error(p->d, NULL, "template %s: candidate values of %s must be >= 1", p->tmpl_name, llmc_dim_name(dim));
        return 1;
    }
    return 0;
}

static uint32_t dims_mask_of(const llmc_expr *e) {
    const char *names[32];
    size_t n = llmc_expr_names(e, names, 32);
    uint32_t m = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        int id = llmc_dim_from_name(names[i]);
        if (id >= 0) m |= 1u << id;
    }
    return m;
}

static pconstraint *push_constraint(llmc_problem *p) {
    if (p->n_cons == p->cap_cons) {
        size_t cap = p->cap_cons ? p->cap_cons * 2 : 16;
        pconstraint *c = realloc(p->cons, cap * sizeof *c);
        if (!c) return NULL;
        p->cons = c;
        p->cap_cons = cap;
    }
    pconstraint *c = &p->cons[p->n_cons++];
    memset(c, 0, sizeof *c);
    return c;
}

int llmc_problem_add_constraint(llmc_problem *p, const char *expr_text, const char *origin) {
    if (!p || !expr_text) return 1;
    long index = p->n_builtin++;
    if (index < 64 && (p->drop_builtin >> index) & 1u) return 0; /* left out on the host's request */
    char err[200];
    int col = 0;
    llmc_expr *e = llmc_expr_parse(expr_text, &col, err, sizeof err);
    if (!e) {
        p->failed = true;
        llmc_error(p->d, NULL, "template %s: built-in constraint '%s' does not parse at column %d: %s", p->tmpl_name,
                   expr_text, col, err);
        return 1;
    }
    const char *names[32];
    size_t n = llmc_expr_names(e, names, 32);
    for (size_t i = 0; i < n && i < 32; i++)
        if (!llmc_expr_name_known(names[i])) {
            p->failed = true;
            llmc_error(p->d, NULL, "template %s: built-in constraint '%s' names unknown '%s'", p->tmpl_name, expr_text,
                       names[i]);
            llmc_expr_free(e);
            return 1;
        }
    pconstraint *c = push_constraint(p);
    char *t = llmc_strdup(expr_text), *o = llmc_strdup(origin ? origin : p->tmpl_name);
    if (!c || !t || !o) {
        free(t);
        free(o);
        llmc_expr_free(e);
        if (c) p->n_cons--;
        p->failed = true;
        llmc_error(p->d, NULL, "out of memory adding a constraint");
        return 1;
    }
    c->text = t;
    c->origin = o;
    c->expr = e;
    c->owned = true;
    c->builtin = index;
    c->user = -1;
    c->dims_needed = dims_mask_of(e);
    return 0;
}

/* ---- host side ------------------------------------------------------------------------------ */

llmc_problem_params llmc_problem_default_params(void) {
    llmc_problem_params pp;
    memset(&pp, 0, sizeof pp);
    return pp;
}

/* the spec the problem reads: the caller's, changed as the params say */
static int copy_spec(llmc_problem *p, const llmc_spec *spec, const llmc_problem_params *pp) {
    p->spec_copy = *spec;
    llmc_spec *c = &p->spec_copy;
    c->dims.set &= ~pp->drop_pins;
    if (pp->has_target) {
        c->has_target_params = true;
        c->target_params = pp->target;
    }
    if (pp->vocab_size > 0) c->vocab_size = pp->vocab_size;
    if (pp->has_tolerance) c->tolerance = pp->tolerance;
    p->kept = calloc(spec->n_constraints ? spec->n_constraints : 1, sizeof *p->kept);
    p->kept_index = calloc(spec->n_constraints ? spec->n_constraints : 1, sizeof *p->kept_index);
    if (!p->kept || !p->kept_index) return 1;
    size_t n = 0;
    for (size_t i = 0; i < spec->n_constraints; i++) {
        if (i < 64 && (pp->drop_constraints >> i) & 1u) continue;
        p->kept[n] = spec->constraints[i];
        p->kept_index[n++] = i;
    }
    c->constraints = p->kept;
    c->n_constraints = n;
    p->spec = c;
    return 0;
}

static int add_extra(llmc_problem *p, const char *text, llmc_diags *d) {
    char err[200];
    int col = 0;
    llmc_expr *e = llmc_expr_parse(text, &col, err, sizeof err);
    if (!e) {
        llmc_error(d, NULL, "constraint '%s' does not parse at column %d: %s", text, col, err);
        return 1;
    }
    pconstraint *c = push_constraint(p);
    char *t = llmc_strdup(text), *o = llmc_strdup("explain");
    if (!c || !t || !o) {
        free(t);
        free(o);
        llmc_expr_free(e);
        if (c) p->n_cons--;
        llmc_error(d, NULL, "out of memory adding a constraint");
        return 1;
    }
    c->text = t;
    c->origin = o;
    c->expr = e;
    c->owned = true;
    c->builtin = -1;
    c->user = -1;
    c->dims_needed = dims_mask_of(e);
    return 0;
}

llmc_problem *llmc_problem_create(const llmc_spec *spec, const struct llmc_template_vtable *tmpl, llmc_diags *d) {
    llmc_problem_params pp = llmc_problem_default_params();
    return llmc_problem_create_with(spec, tmpl, &pp, d);
}

llmc_problem *llmc_problem_create_with(const llmc_spec *spec, const struct llmc_template_vtable *tmpl,
                                       const llmc_problem_params *pp, llmc_diags *d) {
    if (!spec || !tmpl || !pp) return NULL;
    llmc_problem *p = calloc(1, sizeof *p);
    if (!p || copy_spec(p, spec, pp) != 0) {
        llmc_error(d, NULL, "out of memory creating the sizing problem");
        llmc_problem_free(p);
        return NULL;
    }
    spec = p->spec;
    p->tmpl = tmpl;
    p->d = d;
    p->prior = pp->prior ? pp->prior : llmc_prior_builtin();
    p->objective = pp->objective;
    p->drop_builtin = pp->drop_builtin;
    p->tmpl_name = spec->template_name ? spec->template_name : "template";
    if (tmpl->define_problem(spec, p, d) != 0 && !p->failed) {
        p->failed = true;
        if (llmc_diags_errors(d) == 0)
            llmc_error(d, "template", "template %s could not define a sizing problem for this spec", p->tmpl_name);
    }
    for (size_t i = 0; i < spec->n_constraints && !p->failed; i++) {
        pconstraint *c = push_constraint(p);
        char origin[48];
        snprintf(origin, sizeof origin, "constraints[%zu]", p->kept_index[i]);
        if (!c || !(c->origin = llmc_strdup(origin))) {
            p->failed = true;
            llmc_error(d, NULL, "out of memory adding constraints");
            break;
        }
        c->text = llmc_strdup(spec->constraints[i].text);
        c->expr = spec->constraints[i].expr;
        c->owned = false;
        c->loc = spec->constraints[i].loc;
        c->builtin = -1;
        c->user = (long)p->kept_index[i];
        c->dims_needed = dims_mask_of(c->expr);
    }
    for (size_t i = 0; i < pp->n_extra && !p->failed; i++)
        if (add_extra(p, pp->extra[i], d) != 0) p->failed = true;
    p->d = NULL;
    if (!p->failed) cache_names(p);
    if (p->failed) {
        llmc_problem_free(p);
        return NULL;
    }
    return p;
}

long llmc_problem_builtin_index(const llmc_problem *p, size_t i) { return p && i < p->n_cons ? p->cons[i].builtin : -1; }
long llmc_problem_user_index(const llmc_problem *p, size_t i) { return p && i < p->n_cons ? p->cons[i].user : -1; }

void llmc_problem_free(llmc_problem *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_cons; i++) {
        free(p->cons[i].text);
        free(p->cons[i].origin);
        if (p->cons[i].owned) llmc_expr_free(p->cons[i].expr);
    }
    free(p->cons);
    free(p->kept);
    free(p->kept_index);
    free(p);
}

/* ---- solver side ---------------------------------------------------------------------------- */

const llmc_spec *llmc_problem_spec(const llmc_problem *p) { return p ? p->spec : NULL; }
uint64_t llmc_problem_target(const llmc_problem *p) { return p && p->spec->has_target_params ? p->spec->target_params : 0; }
double llmc_problem_tolerance(const llmc_problem *p) { return p ? p->spec->tolerance : 0; }
const llmc_dims *llmc_problem_pinned(const llmc_problem *p) { return p ? &p->spec->dims : NULL; }
size_t llmc_problem_num_vars(const llmc_problem *p) { return p ? p->n_vars : 0; }
const llmc_var_domain *llmc_problem_var(const llmc_problem *p, size_t i) {
    return p && i < p->n_vars ? &p->vars[i] : NULL;
}
size_t llmc_problem_num_constraints(const llmc_problem *p) { return p ? p->n_cons : 0; }
const char *llmc_problem_constraint_text(const llmc_problem *p, size_t i) {
    return p && i < p->n_cons ? p->cons[i].text : NULL;
}
const char *llmc_problem_constraint_origin(const llmc_problem *p, size_t i) {
    return p && i < p->n_cons ? p->cons[i].origin : NULL;
}

const llmc_prior *llmc_problem_prior(const llmc_problem *p) { return p ? p->prior : NULL; }

const char *llmc_problem_option(const llmc_problem *p, const char *key) {
    if (!p || !key) return NULL;
    if (p->objective && !strcmp(key, "objective")) return p->objective;
    const llmc_solver_option *o = llmc_spec_solver_option(p->spec, key);
    return o ? o->value : NULL;
}

llmc_loc llmc_problem_option_loc(const llmc_problem *p, const char *key) {
    char path[128];
    snprintf(path, sizeof path, "solver_options.%s", key ? key : "");
    return llmc_spec_loc(p->spec, path);
}

const llmc_var_domain *llmc_problem_domain(const llmc_problem *p, llmc_dim_id dim) {
    if (!p) return NULL;
    for (size_t i = 0; i < p->n_vars; i++)
        if (p->vars[i].dim == dim) return &p->vars[i];
    return NULL;
}

static int64_t domain_first(const llmc_var_domain *v) {
    int64_t m = v->multiple_of > 0 ? v->multiple_of : 1;
    return ((v->min + m - 1) / m) * m;
}

size_t llmc_domain_size(const llmc_var_domain *v) {
    if (!v) return 0;
    if (v->n_values) return v->n_values;
    int64_t m = v->multiple_of > 0 ? v->multiple_of : 1;
    int64_t first = domain_first(v);
    return first > v->max ? 0 : (size_t)((v->max - first) / m) + 1;
}

int64_t llmc_domain_at(const llmc_var_domain *v, size_t i) {
    if (v->n_values) return v->values[i];
    return domain_first(v) + (int64_t)i * (v->multiple_of > 0 ? v->multiple_of : 1);
}

size_t llmc_domain_values(const llmc_var_domain *v, int64_t *out, size_t max) {
    size_t n = llmc_domain_size(v);
    for (size_t i = 0; i < n && i < max; i++) out[i] = llmc_domain_at(v, i);
    return n;
}

size_t llmc_problem_bisect(const llmc_problem *p, llmc_dims *dims, const llmc_var_domain *v) {
    uint64_t target = llmc_problem_target(p);
    size_t lo = 0, hi = llmc_domain_size(v);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims_put(dims, v->dim, llmc_domain_at(v, mid));
        llmc_param_count c;
        /* an assignment the template cannot complete or count is treated as too big */
        if (llmc_problem_count(p, dims, &c) != 0 || c.total >= target) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Describe the values a constraint mentions: "hidden_size = 1000, num_heads = 12". */
static void describe_values(const llmc_problem *p, const pconstraint *c, const llmc_dims *dims, char *buf,
                            size_t len) {
    const char *names[32];
    size_t n = llmc_expr_names(c->expr, names, 32);
    llmc_expr_env env = {p->spec, dims};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 32; i++) {
        int64_t v;
        if (llmc_expr_env_lookup(&env, names[i], &v) != 0) continue;
        int w = snprintf(buf + used, len - used, "%s%s = %lld", used ? ", " : "", names[i], (long long)v);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* Name lookup for the solver's hot loop. Each expression owns its name strings and passes the
 * same pointers on every evaluation, so names resolve once to a dim id (or a spec value) and
 * later lookups compare pointers instead of strings. */
typedef struct fast_env {
    const llmc_problem *p;
    const llmc_dims *dims;
} fast_env;

static int fast_lookup(void *user, const char *name, int64_t *out) {
    const fast_env *fe = user;
    const llmc_problem *p = fe->p;
    for (size_t i = 0; i < p->n_names; i++) {
        if (p->names[i].ptr != name || p->names[i].dim < 0) continue;
        if (!llmc_dims_has(fe->dims, (llmc_dim_id)p->names[i].dim)) return 1;
        *out = fe->dims->v[p->names[i].dim];
        return 0;
    }
    llmc_expr_env env = {p->spec, fe->dims}; /* spec values, and names past the cache */
    return llmc_expr_env_lookup(&env, name, out);
}

/* filled once, when the problem is complete; read-only afterwards, so evaluation is thread-safe */
static void cache_names(llmc_problem *p) {
    for (size_t i = 0; i < p->n_cons; i++) {
        const char *names[32];
        size_t n = llmc_expr_names(p->cons[i].expr, names, 32);
        for (size_t k = 0; k < n && k < 32 && p->n_names < NAME_CACHE; k++) {
            p->names[p->n_names].ptr = names[k];
            p->names[p->n_names].dim = llmc_dim_from_name(names[k]);
            p->n_names++;
        }
    }
}

/* 1 = holds, 0 = violated, -1 = cannot be evaluated (message in err) */
static int constraint_holds(const llmc_problem *p, const pconstraint *c, const llmc_dims *dims, char *err,
                            size_t err_len) {
    fast_env env = {p, dims};
    int64_t r = 0;
    if (llmc_expr_eval(c->expr, fast_lookup, &env, &r, err, err_len) != 0) return -1;
    return r != 0;
}

llmc_eval_status llmc_problem_evaluate(const llmc_problem *p, llmc_dims *dims, uint64_t *count, long *violated,
                                       char *why, size_t why_len) {
    if (why && why_len) why[0] = '\0';
    if (violated) *violated = -1;
    /* pins always win over whatever the solver put there */
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(&p->spec->dims, (llmc_dim_id)i)) llmc_dims_put(dims, (llmc_dim_id)i, p->spec->dims.v[i]);
    if (p->tmpl->complete_dims(p->spec, dims, NULL) != 0) {
        if (why) snprintf(why, why_len, "the template cannot derive the remaining dims from these");
        return LLMC_EVAL_INCOMPLETE;
    }
    for (size_t i = 0; i < p->n_cons; i++) {
        char err[160];
        int h = constraint_holds(p, &p->cons[i], dims, err, sizeof err);
        if (h != 1) {
            if (violated) *violated = (long)i;
            if (why) {
                char vals[200];
                describe_values(p, &p->cons[i], dims, vals, sizeof vals);
                snprintf(why, why_len, "%s '%s' %s (%s)", p->cons[i].origin, p->cons[i].text,
                         h == 0 ? "does not hold" : err, vals);
            }
            return LLMC_EVAL_VIOLATES;
        }
    }
    llmc_param_count pc;
    if (p->tmpl->count(p->spec, dims, &pc) != 0) {
        if (why) snprintf(why, why_len, "the parameter count overflows 64 bits");
        return LLMC_EVAL_OVERFLOW;
    }
    if (count) *count = LLMC_BUDGET_COUNT(p->spec, pc); /* what the budget counts */
    return LLMC_EVAL_OK;
}

long llmc_problem_partial_violation(const llmc_problem *p, const llmc_dims *dims) {
    /* the pins take part: a constraint over a pinned dim and a free one prunes too */
    llmc_dims full = *dims;
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(&p->spec->dims, (llmc_dim_id)i)) llmc_dims_put(&full, (llmc_dim_id)i, p->spec->dims.v[i]);
    /* and so do the dims the template derives from what is set (num_heads = hidden_size /
     * head_dim, ...), but not a free variable it would fill with its convention meanwhile */
    llmc_dims derived = full;
    p->tmpl->complete_dims(p->spec, &derived, NULL);
    for (size_t v = 0; v < p->n_vars; v++)
        if (!llmc_dims_has(&full, p->vars[v].dim)) derived.set &= ~(1u << p->vars[v].dim);
    full = derived;
    for (size_t i = 0; i < p->n_cons; i++) {
        const pconstraint *c = &p->cons[i];
        if ((c->dims_needed & full.set) != c->dims_needed) continue;
        if (constraint_holds(p, c, &full, NULL, 0) != 1) return (long)i;
    }
    return -1;
}

bool llmc_problem_partial_ok(const llmc_problem *p, const llmc_dims *dims) {
    return llmc_problem_partial_violation(p, dims) < 0;
}

int llmc_problem_count(const llmc_problem *p, const llmc_dims *dims, llmc_param_count *out) {
    if (!p || !dims || !out) return 1;
    llmc_dims full = *dims;
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(&p->spec->dims, (llmc_dim_id)i)) llmc_dims_put(&full, (llmc_dim_id)i, p->spec->dims.v[i]);
    if (p->tmpl->complete_dims(p->spec, &full, NULL) != 0) return 1;
    int rc = p->tmpl->count(p->spec, &full, out);
    /* the solvers size total to the budget: with target_active_params that is the active count */
    if (rc == 0 && p->spec->target_active) out->total = out->active;
    return rc;
}

/* ---- independent check of an answer ---------------------------------------------------------- */

static bool in_domain(const llmc_var_domain *v, int64_t x) {
    if (x < v->min || x > v->max) return false;
    if (v->n_values) {
        for (size_t i = 0; i < v->n_values; i++)
            if (v->values[i] == x) return true;
        return false;
    }
    return x % v->multiple_of == 0;
}

int llmc_problem_check_solution(const llmc_problem *p, const llmc_dims *dims, llmc_diags *d) {
    size_t before = llmc_diags_errors(d);
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        llmc_dim_id id = (llmc_dim_id)i;
        if (!llmc_dims_has(&p->spec->dims, id)) continue;
        if (!llmc_dims_has(dims, id) || dims->v[i] != p->spec->dims.v[i]) {
            char key[64];
            snprintf(key, sizeof key, "dims.%s", llmc_dim_name(id));
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(p->spec, key), key,
                          "the solver did not honour the pinned value (pinned %lld, got %lld)",
                          (long long)p->spec->dims.v[i], llmc_dims_has(dims, id) ? (long long)dims->v[i] : -1LL);
        }
    }
    for (size_t i = 0; i < p->n_vars; i++) {
        const llmc_var_domain *v = &p->vars[i];
        if (!llmc_dims_has(dims, v->dim)) {
            llmc_error(d, llmc_dim_name(v->dim), "the solver left this dimension unset");
        } else if (!in_domain(v, dims->v[v->dim])) {
            llmc_error(d, llmc_dim_name(v->dim), "solver answer %lld is outside the template's domain ([%lld, %lld]%s)",
                       (long long)dims->v[v->dim], (long long)v->min, (long long)v->max,
                       v->n_values ? ", listed values" : "");
        }
    }
    llmc_dims full = *dims;
    if (p->tmpl->complete_dims(p->spec, &full, NULL) != 0) {
        llmc_error(d, "dims", "the solver's answer is not a complete set of dimensions for template %s", p->tmpl_name);
        return 1;
    }
    if (full.set != dims->set || memcmp(full.v, dims->v, sizeof full.v) != 0) {
        for (int i = 0; i < LLMC_DIM_COUNT; i++)
            if (llmc_dims_has(&full, (llmc_dim_id)i) &&
                (!llmc_dims_has(dims, (llmc_dim_id)i) || full.v[i] != dims->v[i]))
                llmc_error(d, llmc_dim_name((llmc_dim_id)i),
                           "the solver's answer is not closed under the template's derivations (derived %lld)",
                           (long long)full.v[i]);
    }
    for (size_t i = 0; i < p->n_cons; i++) {
        const pconstraint *c = &p->cons[i];
        char err[160];
        int h = constraint_holds(p, c, &full, err, sizeof err);
        if (h == 1) continue;
        char vals[200];
        describe_values(p, c, &full, vals, sizeof vals);
        if (c->owned)
            llmc_error(d, NULL, "the answer violates %s's constraint '%s' (%s%s%s)", c->origin, c->text, vals,
                       h < 0 ? "; " : "", h < 0 ? err : "");
        else
            llmc_diag_add(d, LLMC_SEV_ERROR, c->loc, c->origin, "'%s' does not hold for the solution (%s%s%s)", c->text,
                          vals, h < 0 ? "; " : "", h < 0 ? err : "");
    }
    return llmc_diags_errors(d) > before;
}

/* ---- nearest feasible counts ------------------------------------------------------------------ */

typedef struct nearest {
    const llmc_problem *p;
    const llmc_var_domain *order[MAX_VARS];   /* smallest domains first; the last one is bisected */
    size_t n;
    uint64_t limit;
    bool above;
    uint64_t steps, max_steps;
    bool stopped, found;
    uint64_t best;
    llmc_dims best_dims;
} nearest;

static bool step(nearest *nc) {
    if (nc->max_steps && ++nc->steps > nc->max_steps) nc->stopped = true;
    return !nc->stopped;
}

/* count with the variables from k on at their smallest (hi = false) or largest value; counts
 * that cannot be made are 0 for a lower bound and UINT64_MAX for an upper one */
static uint64_t count_rest(nearest *nc, llmc_dims dims, size_t k, bool hi) {
    for (size_t j = k; j < nc->n; j++) {
        const llmc_var_domain *v = nc->order[j];
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, hi ? llmc_domain_size(v) - 1 : 0));
    }
    llmc_param_count c;
    step(nc);
    if (llmc_problem_count(nc->p, &dims, &c) != 0) return hi ? UINT64_MAX : 0;
    return c.total;
}

static bool better_count(const nearest *nc, uint64_t n) { return !nc->found || (nc->above ? n < nc->best : n > nc->best); }

/* the last variable: its crossing of the limit, then the nearest feasible value on the side wanted */
static void nearest_last(nearest *nc, llmc_dims dims) {
    const llmc_var_domain *v = nc->order[nc->n - 1];
    size_t n = llmc_domain_size(v), lo = 0, hi = n;
    while (lo < hi) { /* first index whose count is >= limit (above) or > limit (below) */
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, mid));
        llmc_param_count c;
        if (!step(nc)) return;
        bool reached = llmc_problem_count(nc->p, &dims, &c) != 0 ||
                       (nc->above ? c.total >= nc->limit : c.total > nc->limit);
        if (reached) hi = mid;
        else lo = mid + 1;
    }
    for (long i = nc->above ? (long)lo : (long)lo - 1; i >= 0 && (size_t)i < n; i += nc->above ? 1 : -1) {
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, (size_t)i));
        llmc_dims full = dims;
        uint64_t count = 0;
        if (!step(nc)) return;
        llmc_eval_status st = llmc_problem_evaluate(nc->p, &full, &count, NULL, NULL, 0);
        if (st == LLMC_EVAL_OK) {
            if (better_count(nc, count)) {
                nc->found = true;
                nc->best = count;
                nc->best_dims = full;
            }
            return;
        }
        llmc_param_count c; /* infeasible: go on only while a feasible value further out could still win */
        if (llmc_problem_count(nc->p, &full, &c) == 0 && !better_count(nc, c.total)) return;
    }
}

static void nearest_rec(nearest *nc, llmc_dims dims, size_t k) {
    if (nc->stopped) return;
    if (k + 1 == nc->n) {
        nearest_last(nc, dims);
        return;
    }
    const llmc_var_domain *v = nc->order[k];
    size_t n = llmc_domain_size(v);
    /* Values whose far end cannot reach the limit form a prefix (above: rest at max still below
     * it) or a suffix (below: rest at min already above it): bisect past them. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, mid));
        uint64_t far_end = count_rest(nc, dims, k + 1, nc->above);
        bool past = nc->above ? far_end >= nc->limit : far_end > nc->limit;
        if (past) hi = mid;
        else lo = mid + 1;
        if (nc->stopped) return;
    }
    size_t start = nc->above ? lo : n - lo; /* values skipped, counted from the end searched first */
    for (size_t step_i = start; step_i < n && !nc->stopped; step_i++) {
        size_t i = nc->above ? step_i : n - 1 - step_i;
        llmc_dims_put(&dims, v->dim, llmc_domain_at(v, i));
        /* counts only grow with the value: once the nearest end cannot win, neither can the rest */
        uint64_t near_end = count_rest(nc, dims, k + 1, !nc->above);
        if (nc->found && !better_count(nc, near_end)) break;
        uint64_t far_end = count_rest(nc, dims, k + 1, nc->above);
        if (nc->above ? far_end < nc->limit : far_end > nc->limit) continue;
        if (!step(nc) || !llmc_problem_partial_ok(nc->p, &dims)) continue;
        nearest_rec(nc, dims, k + 1);
    }
}

static int by_domain_size(const void *a, const void *b) {
    const llmc_var_domain *u = *(const llmc_var_domain *const *)a, *v = *(const llmc_var_domain *const *)b;
    size_t x = llmc_domain_size(u), y = llmc_domain_size(v);
    if (x != y) return (x > y) - (x < y);
    return (u->dim > v->dim) - (u->dim < v->dim);
}

bool llmc_problem_nearest(const llmc_problem *p, uint64_t limit, bool above, uint64_t max_steps, llmc_dims *dims,
                          uint64_t *count, bool *exhaustive) {
    nearest nc;
    memset(&nc, 0, sizeof nc);
    nc.p = p;
    nc.limit = limit;
    nc.above = above;
    nc.max_steps = max_steps;
    for (size_t i = 0; i < p->n_vars; i++) {
        if (llmc_domain_size(&p->vars[i]) == 0) {
            if (exhaustive) *exhaustive = true;
            return false;
        }
        nc.order[nc.n++] = &p->vars[i];
    }
    qsort(nc.order, nc.n, sizeof *nc.order, by_domain_size);
    llmc_dims start;
    memset(&start, 0, sizeof start);
    if (nc.n == 0) {
        llmc_dims full = start;
        uint64_t c = 0;
        if (llmc_problem_evaluate(p, &full, &c, NULL, NULL, 0) == LLMC_EVAL_OK &&
            (above ? c >= limit : c <= limit)) {
            nc.found = true;
            nc.best = c;
            nc.best_dims = full;
        }
    } else {
        nearest_rec(&nc, start, 0);
    }
    if (exhaustive) *exhaustive = !nc.stopped;
    if (!nc.found) return false;
    if (dims) *dims = nc.best_dims;
    if (count) *count = nc.best;
    return true;
}
