/* The compile pipeline (pipeline.h). Each step is timed and reported; any failure leaves
 * no output directory behind (outdir.h). */
#include "pipeline.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/weights.h"
#include "outdir.h"
#include "util.h"

llmc_compile_params llmc_compile_default_params(void) {
    llmc_compile_params p;
    memset(&p, 0, sizeof p);
    p.design = llmc_design_default_params();
    return p;
}

void llmc_model_free(llmc_model *m) {
    if (!m) return;
    llmc_spec_free(m->spec);
    llmc_ir_free(m->ir);
    free(m->explanation);
    memset(m, 0, sizeof *m);
}

static int parse_dtype(const char *s, llmc_precision *out) {
    if (!strcmp(s, "float32") || !strcmp(s, "f32") || !strcmp(s, "fp32")) *out = LLMC_PRECISION_FLOAT32;
    else if (!strcmp(s, "float16") || !strcmp(s, "f16") || !strcmp(s, "fp16")) *out = LLMC_PRECISION_FLOAT16;
    else if (!strcmp(s, "bfloat16") || !strcmp(s, "bf16")) *out = LLMC_PRECISION_BFLOAT16;
    else return 1;
    return 0;
}

static void describe_dims(const llmc_dims *dims, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        if (!llmc_dims_has(dims, (llmc_dim_id)i)) continue;
        int w = snprintf(buf + used, len - used, "%s%s=%lld", used ? " " : "", llmc_dim_name((llmc_dim_id)i),
                         (long long)dims->v[i]);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

static double rel_error(uint64_t params, uint64_t target) {
    if (target == 0) return 0.0;
    double diff = params > target ? (double)(params - target) : (double)(target - params);
    return diff / (double)target;
}

/* metadata carried in ir.json; validate rebuilds the IR the same way */
static void set_ir_meta(llmc_ir *ir, const llmc_plugin *tmpl, const llmc_spec *spec) {
    llmc_ir_set_meta(ir, "template", tmpl->name);
    llmc_ir_set_meta(ir, "name", spec->name);
    llmc_ir_set_meta(ir, "llmc_version", llmc_version());
}

/* ---- prepare: load, validate, solve, build, count ------------------------------------------------ */

static int solve_dims(llmc_host *h, const llmc_compile_params *p, llmc_model *m, llmc_diags *d) {
    const llmc_spec *spec = m->spec;
    const llmc_template_vtable *tv = m->tmpl->vtable;
    const char *solver_name = p->solver ? p->solver
                              : spec->solver ? spec->solver
                              : h->config && h->config->default_solver ? h->config->default_solver
                                                                       : "search";
    m->solver = llmc_registry_require(h->registry, LLMC_PLUGIN_SOLVER, solver_name, d);
    if (!m->solver) return LLMC_EXIT_PLUGIN;
    llmc_problem *prob = llmc_problem_create(spec, tv, d);
    if (!prob) return LLMC_EXIT_SPEC;
    const llmc_solver_vtable *sv = m->solver->vtable;
    llmc_solution *sol = &m->solution;
    memset(sol, 0, sizeof *sol);
    int status = sv->solve(prob, sol, d);
    int rc = LLMC_EXIT_OK;
    char dims_text[256];
    char tbuf[32], pbuf[32];
    switch (status) {
    case LLMC_SOLVE_OK:
        break;
    case LLMC_SOLVE_OUT_OF_TOLERANCE:
        describe_dims(&sol->dims, dims_text, sizeof dims_text);
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "target_params"), "target_params",
                      "no dimensions reach %s within the tolerance (%g%%%s); the closest found has %s parameters "
                      "(%.3g%% off): %s",
                      llmc_fmt_count(spec->target_params, tbuf, sizeof tbuf), 100.0 * spec->tolerance,
                      llmc_spec_has_key(spec, "tolerance") ? "" : ", the default for this size",
                      llmc_fmt_count(sol->params, pbuf, sizeof pbuf), 100.0 * sol->relative_error, dims_text);
        if (sol->note[0]) llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "%s", sol->note);
        llmc_explain_miss(spec, tv, sv, d);
        rc = LLMC_EXIT_SPEC;
        break;
    case LLMC_SOLVE_INFEASIBLE:
        if (llmc_diags_errors(d) == 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "target_params"), "target_params",
                          "no dimensions satisfy the constraints (solver %s gave no explanation)", m->solver->name);
        llmc_explain_miss(spec, tv, sv, d);
        rc = LLMC_EXIT_SPEC;
        break;
    default:
        if (llmc_diags_errors(d) == 0) llmc_error(d, NULL, "solver %s failed without a message", m->solver->name);
        rc = LLMC_EXIT_SPEC;
        break;
    }
    if (rc == LLMC_EXIT_OK) {
        /* never trust a solver: the core re-checks every pin, domain and constraint */
        llmc_diags *chk = llmc_diags_create();
        if (llmc_problem_check_solution(prob, &sol->dims, chk) != 0) {
            llmc_error(d, NULL, "solver %s returned dimensions that fail the core's independent check:",
                       m->solver->name);
            llmc_diags_take(d, chk);
            rc = LLMC_EXIT_SPEC;
        }
        llmc_diags_free(chk);
        m->dims = sol->dims;
        if (rc == LLMC_EXIT_OK && p->explain) {
            m->explanation = calloc(1, sizeof *m->explanation);
            if (!m->explanation || llmc_explain_solution(spec, tv, sv, &sol->dims, sol->params, m->explanation, d)) {
                free(m->explanation);
                m->explanation = NULL;
                if (llmc_diags_errors(d) == 0) llmc_error(d, NULL, "out of memory explaining the solution");
                rc = LLMC_EXIT_SPEC;
            }
        }
    }
    llmc_problem_free(prob);
    return rc;
}

int llmc_model_prepare(llmc_host *h, const llmc_compile_params *p, llmc_model *m, llmc_diags *d) {
    memset(m, 0, sizeof *m);
    m->design = p->design;
    double t0 = llmc_now_ms();
    if (access(p->spec_path, R_OK) != 0) {
        llmc_error(d, NULL, "cannot read spec '%s': %s", p->spec_path, strerror(errno));
        return LLMC_EXIT_IO;
    }
    m->spec = llmc_spec_load_file(p->spec_path, d);
    if (!m->spec) return LLMC_EXIT_SPEC;
    llmc_spec *spec = m->spec;
    if (p->dtype && parse_dtype(p->dtype, &spec->precision) != 0) {
        llmc_error(d, "--dtype", "unknown dtype '%s' (expected float32, float16 or bfloat16)", p->dtype);
        return LLMC_EXIT_USAGE;
    }
    if (p->weights) {
        char *c = llmc_strdup(p->weights);
        if (!c) return LLMC_EXIT_IO;
        free(spec->weights.checkpoint);
        spec->weights.checkpoint = c;
    }
    m->step_ms[0] = llmc_now_ms() - t0;

    t0 = llmc_now_ms();
    m->tmpl = llmc_registry_require(h->registry, LLMC_PLUGIN_TEMPLATE, spec->template_name, d);
    if (!m->tmpl) return LLMC_EXIT_PLUGIN;
    const llmc_template_vtable *tv = m->tmpl->vtable;
    size_t errs = llmc_diags_errors(d);
    if (tv->validate(spec, d) != 0 || llmc_diags_errors(d) > errs) {
        if (llmc_diags_errors(d) == errs) llmc_error(d, "template", "template %s refused the spec", m->tmpl->name);
        return LLMC_EXIT_SPEC;
    }
    m->step_ms[1] = llmc_now_ms() - t0;

    t0 = llmc_now_ms();
    if (spec->has_target_params) {
        int rc = solve_dims(h, p, m, d);
        if (rc != LLMC_EXIT_OK) return rc;
    } else {
        m->dims = spec->dims;
        errs = llmc_diags_errors(d);
        if (tv->complete_dims(spec, &m->dims, d) != 0) {
            if (llmc_diags_errors(d) == errs)
                llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "dims"), "dims",
                              "the pinned dims are not complete for template %s and no target_params is given",
                              m->tmpl->name);
            return LLMC_EXIT_SPEC;
        }
    }
    m->step_ms[2] = llmc_now_ms() - t0;

    t0 = llmc_now_ms();
    m->ir = llmc_ir_create();
    if (!m->ir) {
        llmc_error(d, NULL, "out of memory");
        return LLMC_EXIT_IO;
    }
    set_ir_meta(m->ir, m->tmpl, spec);
    errs = llmc_diags_errors(d);
    if (tv->build_ir(spec, &m->dims, m->ir, d) != 0 || llmc_diags_errors(d) > errs || llmc_ir_validate(m->ir, d) != 0) {
        llmc_error(d, NULL, "template %s built an invalid IR for this spec (a template bug; please report it)",
                   m->tmpl->name);
        return LLMC_EXIT_SPEC;
    }
    if (llmc_ir_count_params(m->ir, &m->count, d) != 0) return LLMC_EXIT_SPEC;
    /* The IR count is the truth; the template's closed form (which the solver used) must
     * agree exactly, component by component. */
    llmc_param_count closed;
    if (tv->count(spec, &m->dims, &closed) != 0) {
        llmc_error(d, NULL, "template %s: closed-form parameter count overflows", m->tmpl->name);
        return LLMC_EXIT_SPEC;
    }
    bool same = closed.total == m->count.total;
    for (int c = 0; c < LLMC_COMP_COUNT; c++) same = same && closed.component[c] == m->count.component[c];
    if (!same) {
        char a[32], b[32];
        llmc_error(d, NULL,
                   "template %s: closed-form count %s != IR count %s (a template bug; refusing to emit a model whose "
                   "numbers disagree)",
                   m->tmpl->name, llmc_fmt_count(closed.total, a, sizeof a), llmc_fmt_count(m->count.total, b, sizeof b));
        for (int c = 0; c < LLMC_COMP_COUNT; c++)
            if (closed.component[c] != m->count.component[c])
                llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "%s: closed form %llu, IR %llu",
                              llmc_component_name((llmc_component)c), (unsigned long long)closed.component[c],
                              (unsigned long long)m->count.component[c]);
        return LLMC_EXIT_SPEC;
    }
    if (m->solver) {
        m->solution.params = m->count.total;
        m->solution.relative_error = rel_error(m->count.total, spec->target_params);
    }
    m->step_ms[3] = llmc_now_ms() - t0;
    return LLMC_EXIT_OK;
}

/* ---- JSON documents --------------------------------------------------------------------------------- */

static json_t *dims_json(const llmc_dims *dims) {
    json_t *o = json_object();
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(dims, (llmc_dim_id)i))
            json_object_set_new(o, llmc_dim_name((llmc_dim_id)i), json_integer(dims->v[i]));
    return o;
}

static json_t *count_json(const llmc_param_count *c) {
    json_t *o = json_object();
    for (int i = 0; i < LLMC_COMP_COUNT; i++)
        json_object_set_new(o, llmc_component_name((llmc_component)i), json_integer((json_int_t)c->component[i]));
    json_object_set_new(o, "total", json_integer((json_int_t)c->total));
    return o;
}

static char *dump(json_t *j) {
    /* 10 significant digits: exact enough for errors and timings, and prints 0.0036864 rather
     * than 0.0036863999999999998 */
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!s) return NULL;
    /* trailing newline: these are files people cat */
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) { free(s); return NULL; }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

static json_t *design_json(const llmc_design *g, const llmc_spec *s) {
    json_t *o = json_object(), *pc = json_object(), *w = json_object(), *kv = json_object(), *tr = json_object(),
           *fl = json_object();
    json_object_set_new(pc, "total", json_integer((json_int_t)g->total));
    json_object_set_new(pc, "non_embedding", json_integer((json_int_t)g->non_embedding));
    json_object_set_new(pc, "embedding", json_integer((json_int_t)g->embedding));
    json_object_set_new(pc, "head", g->tied && g->head == 0 ? json_string("tied") : json_integer((json_int_t)g->head));
    json_object_set_new(pc, "positional", json_integer((json_int_t)g->positional));
    json_object_set_new(o, "parameters", pc);
    for (int k = 0; k < 5; k++) json_object_set_new(w, llmc_design_dtype_names[k], json_integer((json_int_t)g->weight_bytes[k]));
    json_object_set_new(o, "weight_bytes", w);
    json_object_set_new(kv, "dtype", json_string(llmc_precision_name(g->in.kv_dtype)));
    json_object_set_new(kv, "bytes_per_token", json_integer((json_int_t)g->kv_bytes_per_token));
    json_object_set_new(kv, "context", json_integer(g->in.context));
    json_object_set_new(kv, "batch", json_integer(g->in.batch));
    json_object_set_new(kv, "bytes", json_integer((json_int_t)g->kv_bytes));
    json_object_set_new(o, "kv_cache", kv);
    json_object_set_new(tr, "micro_batch", json_integer(g->in.micro_batch));
    json_object_set_new(tr, "seq_len", json_integer(g->in.seq_len));
    json_object_set_new(tr, "weights_bf16", json_integer((json_int_t)g->train_weights));
    json_object_set_new(tr, "gradients_bf16", json_integer((json_int_t)g->train_grads));
    json_object_set_new(tr, "adam_fp32", json_integer((json_int_t)g->train_adam));
    json_object_set_new(tr, "activations", json_integer((json_int_t)g->act_bytes));
    json_object_set_new(tr, "activations_checkpointed", json_integer((json_int_t)g->act_bytes_checkpointed));
    json_object_set_new(tr, "total", json_integer((json_int_t)g->train_bytes));
    json_object_set_new(tr, "total_checkpointed", json_integer((json_int_t)g->train_bytes_checkpointed));
    json_object_set_new(o, "training_memory", tr);
    json_object_set_new(fl, "matmul_params", json_integer((json_int_t)g->matmul_params));
    json_object_set_new(fl, "forward", json_integer((json_int_t)g->fwd_flops));
    json_object_set_new(fl, "forward_attention", json_integer((json_int_t)g->fwd_attention_flops));
    json_object_set_new(fl, "training", json_integer((json_int_t)g->train_flops));
    json_object_set_new(fl, "training_attention", json_integer((json_int_t)g->train_attention_flops));
    json_object_set_new(o, "flops_per_token", fl);
    if (g->in.dataset_tokens) {
        json_t *ds = json_object();
        json_object_set_new(ds, "tokens", json_integer((json_int_t)g->in.dataset_tokens));
        json_object_set_new(ds, "tokens_per_parameter", json_real(g->tokens_per_param));
        json_object_set_new(o, "dataset", ds);
    } else {
        /* the dataset's token count needs its tokenizer (spec.dataset is kept as written) */
        json_object_set_new(o, "dataset", s->dataset ? json_string(s->dataset) : json_null());
    }
    return o;
}

static json_t *shape_json(const llmc_shape *sh) {
    json_t *o = json_object();
    json_object_set_new(o, "dims", dims_json(&sh->dims));
    json_object_set_new(o, "parameters", json_integer((json_int_t)sh->params));
    json_object_set_new(o, "relative_error", json_real(sh->relative_error));
    json_object_set_new(o, "plausibility", json_real(round(sh->plausibility * 1000) / 1000));
    json_object_set_new(o, "score", json_real(round(sh->score * 1000) / 1000));
    return o;
}

static json_t *explanation_json(const llmc_explanation *e) {
    json_t *o = json_object(), *terms = json_object(), *dims = json_object(), *ru = json_array();
    json_object_set_new(o, "objective", json_string(e->objective));
    json_object_set_new(o, "plausibility", json_real(round(e->answer.plausibility * 1000) / 1000));
    json_object_set_new(o, "score", json_real(round(e->answer.score * 1000) / 1000));
    for (int k = 0; k < LLMC_PRIOR_TERM_COUNT; k++)
        json_object_set_new(terms, llmc_prior_term_name((llmc_prior_term)k), json_real(round(e->terms[k] * 1000) / 1000));
    json_object_set_new(o, "terms", terms);
    for (size_t i = 0; i < e->n_dims; i++) {
        const llmc_dim_reason *r = &e->dims[i];
        json_t *x = json_object();
        json_object_set_new(x, "value", json_integer(r->value));
        json_object_set_new(x, "decided_by", json_string(llmc_decider_name(r->by)));
        json_object_set_new(x, "detail", json_string(r->detail));
        json_object_set_new(x, "alternative", r->has_alternative ? shape_json(&r->alternative) : json_null());
        json_object_set_new(dims, llmc_dim_name(r->dim), x);
    }
    json_object_set_new(o, "dims", dims);
    for (size_t i = 0; i < e->n_runner_ups; i++) json_array_append_new(ru, shape_json(&e->runner_ups[i]));
    json_object_set_new(o, "runner_ups", ru);
    return o;
}

char *llmc_solution_json(const llmc_model *m) {
    json_t *o = json_object();
    json_object_set_new(o, "dims", dims_json(&m->dims));
    json_object_set_new(o, "parameters", json_integer((json_int_t)m->count.total));
    if (m->spec->has_target_params) {
        json_object_set_new(o, "target_params", json_integer((json_int_t)m->spec->target_params));
        json_object_set_new(o, "relative_error", json_real(rel_error(m->count.total, m->spec->target_params)));
    } else {
        json_object_set_new(o, "target_params", json_null());
        json_object_set_new(o, "relative_error", json_null());
    }
    json_object_set_new(o, "solver", m->solver ? json_string(m->solver->name) : json_null());
    json_object_set_new(o, "tolerance", m->spec->has_target_params ? json_real(m->spec->tolerance) : json_null());
    json_object_set_new(o, "breakdown", count_json(&m->count));
    llmc_design g;
    llmc_diags *scratch = llmc_diags_create();
    if (llmc_design_compute(m->spec, &m->dims, m->ir, &m->count, &m->design, &g, scratch) == 0)
        json_object_set_new(o, "report", design_json(&g, m->spec));
    llmc_diags_free(scratch);
    if (m->explanation) json_object_set_new(o, "explanation", explanation_json(m->explanation));
    return dump(o);
}

static json_t *stats_json(const llmc_model_stats *s) {
    json_t *o = json_object();
    json_object_set_new(o, "weight_bytes_f32", json_integer((json_int_t)s->weight_bytes_f32));
    json_object_set_new(o, "weight_bytes_f16", json_integer((json_int_t)s->weight_bytes_f16));
    json_object_set_new(o, "weight_bytes_bf16", json_integer((json_int_t)s->weight_bytes_bf16));
    json_object_set_new(o, "weight_bytes_q8_0", json_integer((json_int_t)s->weight_bytes_q8_0));
    json_object_set_new(o, "kv_bytes_per_token", json_integer((json_int_t)s->kv_bytes_per_token));
    json_object_set_new(o, "kv_bytes_full_context", json_integer((json_int_t)s->kv_bytes_full_context));
    json_object_set_new(o, "flops_per_token", json_integer((json_int_t)s->flops_per_token));
    return o;
}

/* the layers of a stack: how many, from the IR's parameter annotations */
static int stack_layers(const llmc_ir *ir, llmc_stack st) {
    int n = 0;
    for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
        if (ti->kind == LLMC_TENSOR_PARAM && ti->stack == st && ti->layer + 1 > n) n = ti->layer + 1;
    }
    return n;
}

static json_t *per_layer_json(const llmc_ir *ir) {
    json_t *a = json_array();
    const llmc_stack stacks[] = {LLMC_STACK_ENCODER, LLMC_STACK_DECODER};
    for (int s = 0; s < 2; s++) {
        int n = stack_layers(ir, stacks[s]);
        for (int l = 0; l < n; l++) {
            llmc_param_count c;
            if (llmc_ir_count_layer(ir, stacks[s], l, &c, NULL) != 0) continue;
            json_t *o = json_object();
            json_object_set_new(o, "stack", json_string(llmc_stack_name(stacks[s])));
            json_object_set_new(o, "layer", json_integer(l));
            json_object_set_new(o, "parameters", count_json(&c));
            json_array_append_new(a, o);
        }
    }
    return a;
}

typedef struct step_rec {
    const char *name;
    const char *status;
    double ms;
} step_rec;

static char *report_json(const llmc_model *m, const step_rec *steps, size_t n_steps, const llmc_model_stats *stats,
                         const llmc_diags *d, const llmc_outputs *outs, const char *const *emitters, size_t n_emit,
                         const double *emit_ms, int threads) {
    json_t *o = json_object();
    json_object_set_new(o, "llmc_version", json_string(llmc_version()));
    json_object_set_new(o, "spec", json_string(m->spec->source_path ? m->spec->source_path : ""));
    json_object_set_new(o, "name", json_string(m->spec->name));
    json_object_set_new(o, "template", json_string(m->tmpl->name));
    json_object_set_new(o, "template_version", json_string(m->tmpl->version));
    json_object_set_new(o, "solver", m->solver ? json_string(m->solver->name) : json_null());
    json_object_set_new(o, "threads", json_integer(threads));
    json_t *sa = json_array();
    for (size_t i = 0; i < n_steps; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "name", json_string(steps[i].name));
        json_object_set_new(s, "status", json_string(steps[i].status));
        json_object_set_new(s, "ms", json_real(round(steps[i].ms * 1000.0) / 1000.0));
        json_array_append_new(sa, s);
    }
    json_object_set_new(o, "steps", sa);
    json_object_set_new(o, "parameters", json_integer((json_int_t)m->count.total));
    json_object_set_new(o, "breakdown", count_json(&m->count));
    json_object_set_new(o, "per_layer", per_layer_json(m->ir));
    json_object_set_new(o, "stats", stats_json(stats));
    llmc_design g;
    llmc_diags *scratch = llmc_diags_create();
    if (llmc_design_compute(m->spec, &m->dims, m->ir, &m->count, &m->design, &g, scratch) == 0)
        json_object_set_new(o, "design", design_json(&g, m->spec));
    llmc_diags_free(scratch);
    json_t *w = json_array();
    for (size_t i = 0; i < llmc_diags_size(d); i++) {
        const llmc_diag *g = llmc_diags_get(d, i);
        if (g->severity != LLMC_SEV_WARNING) continue;
        char buf[1024];
        llmc_diag_format(g, buf, sizeof buf);
        json_array_append_new(w, json_string(buf));
    }
    json_object_set_new(o, "warnings", w);
    json_t *eo = json_object();
    for (size_t e = 0; e < n_emit; e++) {
        json_t *x = json_object();
        json_object_set_new(x, "status", json_string("ok"));
        json_object_set_new(x, "ms", json_real(round(emit_ms[e] * 1000.0) / 1000.0));
        json_t *files = json_array();
        for (size_t i = 0; i < outs->n; i++) {
            if (strcmp(outs->items[i].emitter, emitters[e])) continue;
            json_t *f = json_object();
            json_object_set_new(f, "path", json_string(outs->items[i].path));
            json_object_set_new(f, "role", json_string(outs->items[i].role));
            json_array_append_new(files, f);
        }
        json_object_set_new(x, "outputs", files);
        json_object_set_new(eo, emitters[e], x);
    }
    json_object_set_new(o, "emitters", eo);
    return dump(o);
}

/* ---- compile ------------------------------------------------------------------------------------------ */

#define MAX_EMITTERS 32

/* Which emitters run: --emit, else the spec's emit, else the config's default. */
static int resolve_emitters(llmc_host *h, const llmc_compile_params *p, const llmc_spec *spec, const char **names,
                            size_t *n, char *scratch, size_t scratch_len, llmc_diags *d) {
    *n = 0;
    if (p->emit) {
        snprintf(scratch, scratch_len, "%s", p->emit);
        if (!strcmp(scratch, "none") || !*scratch) return 0;
        for (char *tok = strtok(scratch, ","); tok; tok = strtok(NULL, ",")) {
            while (*tok == ' ') tok++;
            if (!*tok) continue;
            for (size_t i = 0; i < *n; i++)
                if (!strcmp(names[i], tok)) {
                    llmc_error(d, "--emit", "emitter '%s' is listed twice", tok);
                    return LLMC_EXIT_USAGE;
                }
            if (*n == MAX_EMITTERS) {
                llmc_error(d, "--emit", "too many emitters (at most %d)", MAX_EMITTERS);
                return LLMC_EXIT_USAGE;
            }
            names[(*n)++] = tok;
        }
        return 0;
    }
    if (spec->n_emit) {
        for (size_t i = 0; i < spec->n_emit && *n < MAX_EMITTERS; i++) names[(*n)++] = spec->emit[i];
        return 0;
    }
    if (h->config)
        for (size_t i = 0; i < h->config->n_default_emit && *n < MAX_EMITTERS; i++)
            names[(*n)++] = h->config->default_emit[i];
    return 0;
}

static int effective_threads(const llmc_host *h, const llmc_compile_params *p) {
    int t = p->threads > 0 ? p->threads : h->config && h->config->threads > 0 ? h->config->threads : 0;
    if (t <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n > 0 ? (int)n : 1;
    }
    return t > 256 ? 256 : t;
}

static int write_text(const char *dir, const char *rel, const char *text, llmc_diags *d) {
    char path[PATH_MAX];
    int w = snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (w < 0 || (size_t)w >= sizeof path) {
        llmc_error(d, NULL, "path too long: %s/%s", dir, rel);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        llmc_error(d, NULL, "cannot write '%s': %s", path, strerror(errno));
        return 1;
    }
    size_t n = strlen(text);
    if (fwrite(text, 1, n, f) != n) {
        fclose(f);
        llmc_error(d, NULL, "cannot write '%s': %s", path, strerror(errno));
        return 1;
    }
    return llmc_out_close(f, rel, d);
}

/* The weight source for the emitters: a checkpoint when one is named, else deterministic init.
 * A checkpoint is matched through the HF layout (the one the safetensors emitter writes). */
static llmc_weight_source *open_weights(const llmc_model *m, const llmc_compile_params *p, llmc_layout *layout,
                                        int *rc, llmc_diags *d) {
    const char *ck = m->spec->weights.checkpoint;
    if (!ck) {
        llmc_weight_source *ws = llmc_weights_create_init(m->ir, m->spec->weights.seed, d);
        if (!ws) *rc = LLMC_EXIT_IO;
        return ws;
    }
    /* a path written in the spec is relative to the spec file; --weights to the working directory */
    char path[PATH_MAX];
    const char *slash = strrchr(p->spec_path, '/');
    if (!p->weights && ck[0] != '/' && slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - p->spec_path), p->spec_path, ck);
    else
        snprintf(path, sizeof path, "%s", ck);
    ck = path;
    if (access(ck, R_OK) != 0) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(m->spec, "weights.checkpoint"), "weights.checkpoint",
                      "cannot read checkpoint '%s': %s", ck, strerror(errno));
        *rc = LLMC_EXIT_IO;
        return NULL;
    }
    if (llmc_layout_hf(m->spec, m->ir, layout, d) != 0) {
        *rc = LLMC_EXIT_SPEC;
        return NULL;
    }
    llmc_weight_source *ws = llmc_weights_open_checkpoint(ck, m->ir, layout, d);
    if (!ws) *rc = LLMC_EXIT_SPEC;
    return ws;
}

int llmc_compile(llmc_host *h, const llmc_compile_params *p, llmc_diags *d) {
    llmc_model m;
    step_rec steps[16 + MAX_EMITTERS];
    size_t n_steps = 0;
    int rc = llmc_model_prepare(h, p, &m, d);
    if (rc != LLMC_EXIT_OK) {
        llmc_model_free(&m);
        return rc;
    }
    steps[n_steps++] = (step_rec){"load_spec", "ok", m.step_ms[0]};
    steps[n_steps++] = (step_rec){"validate", "ok", m.step_ms[1]};
    steps[n_steps++] = (step_rec){m.solver ? "solve" : "complete_dims", "ok", m.step_ms[2]};
    steps[n_steps++] = (step_rec){"build_ir", "ok", m.step_ms[3]};

    const char *emit_names[MAX_EMITTERS];
    const llmc_plugin *emitters[MAX_EMITTERS];
    double emit_ms[MAX_EMITTERS];
    char step_names[MAX_EMITTERS][80];
    size_t n_emit = 0;
    char scratch[1024];
    llmc_outdir *od = NULL;
    llmc_weight_source *ws = NULL;
    llmc_layout layout;
    memset(&layout, 0, sizeof layout);
    llmc_outputs *outs = NULL;
    char *text = NULL;

    rc = resolve_emitters(h, p, m.spec, emit_names, &n_emit, scratch, sizeof scratch, d);
    if (rc) goto fail;
    for (size_t i = 0; i < n_emit; i++) {
        emitters[i] = llmc_registry_require(h->registry, LLMC_PLUGIN_EMITTER, emit_names[i], d);
        if (!emitters[i]) rc = LLMC_EXIT_PLUGIN;
    }
    if (rc) goto fail;
    /* every emitter refuses what it cannot express before anything is written */
    size_t errs = llmc_diags_errors(d);
    for (size_t i = 0; i < n_emit; i++) {
        const llmc_emitter_vtable *ev = emitters[i]->vtable;
        if (ev->check && ev->check(m.spec, d) != 0 && llmc_diags_errors(d) == errs)
            llmc_error(d, "emit", "emitter %s cannot express this spec", emitters[i]->name);
    }
    if (llmc_diags_errors(d) > errs) {
        rc = LLMC_EXIT_SPEC;
        goto fail;
    }

    llmc_model_stats stats;
    if (llmc_model_stats_compute(m.spec, &m.dims, m.ir, &stats, d) != 0) {
        rc = LLMC_EXIT_SPEC;
        goto fail;
    }

    /* the weight source, opened before the output directory so that a checkpoint that does
     * not match fails without side effects */
    double t0 = llmc_now_ms();
    if (n_emit > 0) {
        int wrc = LLMC_EXIT_IO;
        ws = open_weights(&m, p, &layout, &wrc, d);
        if (!ws) {
            rc = wrc;
            goto fail;
        }
        steps[n_steps++] = (step_rec){"open_weights", "ok", llmc_now_ms() - t0};
    }

    t0 = llmc_now_ms();
    od = llmc_outdir_begin(p->out_dir, p->force, d);
    if (!od) {
        rc = LLMC_EXIT_IO;
        goto fail;
    }
    const char *tmp = llmc_outdir_tmp(od);
    rc = LLMC_EXIT_IO;
    text = llmc_spec_to_json(m.spec, &m.dims);
    if (!text || write_text(tmp, "spec.json", text, d)) goto fail;
    free(text);
    text = llmc_solution_json(&m);
    if (!text || write_text(tmp, "solution.json", text, d)) goto fail;
    free(text);
    text = llmc_ir_to_json(m.ir);
    if (!text || write_text(tmp, "ir.json", text, d)) goto fail;
    free(text);
    text = NULL;
    steps[n_steps++] = (step_rec){"write_model_files", "ok", llmc_now_ms() - t0};

    outs = llmc_outputs_create();
    int threads = effective_threads(h, p);
    for (size_t i = 0; i < n_emit; i++) {
        llmc_emit_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.struct_size = sizeof ctx;
        ctx.emitter_name = emitters[i]->name;
        ctx.spec = m.spec;
        ctx.dims = &m.dims;
        ctx.ir = m.ir;
        ctx.count = &m.count;
        ctx.out_dir = tmp;
        ctx.weights = ws;
        ctx.outputs = outs;
        ctx.threads = threads;
        ctx.progress = p->progress;
        t0 = llmc_now_ms();
        errs = llmc_diags_errors(d);
        const llmc_emitter_vtable *ev = emitters[i]->vtable;
        if (ev->emit(&ctx, d) != 0 || llmc_diags_errors(d) > errs) {
            if (llmc_diags_errors(d) == errs) llmc_error(d, "emit", "emitter %s failed", emitters[i]->name);
            llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "emitter %s failed; nothing was written to '%s'",
                          emitters[i]->name, p->out_dir);
            goto fail;
        }
        emit_ms[i] = llmc_now_ms() - t0;
        if (n_steps < sizeof steps / sizeof *steps) {
            snprintf(step_names[i], sizeof step_names[i], "emit:%s", emitters[i]->name);
            steps[n_steps++] = (step_rec){step_names[i], "ok", emit_ms[i]};
        }
    }
    text = report_json(&m, steps, n_steps, &stats, d, outs, emit_names, n_emit, emit_ms, threads);
    if (!text || write_text(tmp, "compilation_report.json", text, d)) goto fail;
    if (llmc_outdir_commit(od, d) != 0) {
        od = NULL;
        goto fail;
    }
    od = NULL;
    if (!p->quiet) {
        char a[32];
        printf("compiled %s: %s parameters (template %s", m.spec->name, llmc_fmt_count(m.count.total, a, sizeof a),
               m.tmpl->name);
        if (m.solver) printf(", solver %s, relative error %.3g%%", m.solver->name, 100.0 * m.solution.relative_error);
        printf(") -> %s", p->out_dir);
        for (size_t i = 0; i < n_emit; i++) printf("%s%s", i ? ", " : " [", emit_names[i]);
        printf("%s\n", n_emit ? "]" : "");
    }
    rc = LLMC_EXIT_OK;
fail:
    free(text);
    if (od) llmc_outdir_abort(od);
    llmc_weights_free(ws);
    llmc_layout_free(&layout);
    llmc_outputs_free(outs);
    llmc_model_free(&m);
    return rc;
}

/* ---- the solve table ------------------------------------------------------------------------------------- */

static const char *fmt_bytes(uint64_t b, char *buf, size_t n) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 5) { v /= 1024.0; u++; }
    if (u == 0) snprintf(buf, n, "%llu B", (unsigned long long)b);
    else snprintf(buf, n, "%.2f %s", v, unit[u]);
    return buf;
}

static const char *fmt_flops(uint64_t f, char *buf, size_t n) {
    const char *unit[] = {"", "K", "M", "G", "T", "P", "E"};
    double v = (double)f;
    int u = 0;
    while (v >= 1000.0 && u < 6) { v /= 1000.0; u++; }
    snprintf(buf, n, "%.3g %sFLOP", v, unit[u]);
    return buf;
}

static void print_explanation(FILE *f, const llmc_explanation *e) {
    char a[32], dt[256];
    fprintf(f, "\nwhy these dims (objective %s; score %.2f, plausibility %.2f =", e->objective, e->answer.score,
            e->answer.plausibility);
    for (int k = 0; k < LLMC_PRIOR_TERM_COUNT; k++)
        fprintf(f, "%s %s %.2f", k ? " +" : "", llmc_prior_term_name((llmc_prior_term)k), e->terms[k]);
    fprintf(f, "):\n");
    for (size_t i = 0; i < e->n_dims; i++) {
        const llmc_dim_reason *r = &e->dims[i];
        fprintf(f, "  %-20s %8lld  %-11s %s\n", llmc_dim_name(r->dim), (long long)r->value, llmc_decider_name(r->by),
                r->detail);
    }
    if (e->n_runner_ups) fprintf(f, "runner-up shapes:\n");
    for (size_t i = 0; i < e->n_runner_ups; i++) {
        const llmc_shape *sh = &e->runner_ups[i];
        describe_dims(&sh->dims, dt, sizeof dt);
        fprintf(f, "  %zu. %s parameters (%.3f%% off), plausibility %.2f, score %.2f: %s\n", i + 1,
                llmc_fmt_count(sh->params, a, sizeof a), 100 * sh->relative_error, sh->plausibility, sh->score, dt);
    }
}

int llmc_print_solve_table(FILE *f, const llmc_model *m, llmc_diags *d) {
    char a[32], b[32], c[32];
    const llmc_spec *s = m->spec;
    fprintf(f, "%s (template %s", s->name, m->tmpl->name);
    if (m->solver) fprintf(f, ", solver %s", m->solver->name);
    fprintf(f, ")\n\ndims:\n");
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(&m->dims, (llmc_dim_id)i))
            fprintf(f, "  %-20s %lld\n", llmc_dim_name((llmc_dim_id)i), (long long)m->dims.v[i]);
    fprintf(f, "  %-20s %lld\n  %-20s %lld\n", "vocab_size", (long long)s->vocab_size, "context_length",
            (long long)s->context_length);

    /* per component: one layer of each stack, the layer counts, the total */
    const llmc_stack stacks[] = {LLMC_STACK_ENCODER, LLMC_STACK_DECODER};
    int nl[2];
    llmc_param_count layer0[2];
    for (int k = 0; k < 2; k++) {
        nl[k] = stack_layers(m->ir, stacks[k]);
        memset(&layer0[k], 0, sizeof layer0[k]);
        if (nl[k] > 0 && llmc_ir_count_layer(m->ir, stacks[k], 0, &layer0[k], d) != 0) return 1;
    }
    fprintf(f, "\nparameters:\n  %-12s", "component");
    for (int k = 0; k < 2; k++)
        if (nl[k]) fprintf(f, " %16s", k == 0 ? "per enc. layer" : nl[0] ? "per dec. layer" : "per layer");
    fprintf(f, " %16s %8s\n", "total", "share");
    for (int comp = 0; comp < LLMC_COMP_COUNT; comp++) {
        fprintf(f, "  %-12s", llmc_component_name((llmc_component)comp));
        for (int k = 0; k < 2; k++)
            if (nl[k]) fprintf(f, " %16s", llmc_fmt_count(layer0[k].component[comp], a, sizeof a));
        double share = m->count.total ? 100.0 * (double)m->count.component[comp] / (double)m->count.total : 0.0;
        if (comp == LLMC_COMP_HEAD && s->tie_word_embeddings && m->count.component[comp] == 0)
            fprintf(f, " %16s %8s\n", "tied", "");   /* the embedding matrix, counted there */
        else
            fprintf(f, " %16s %7.2f%%\n", llmc_fmt_count(m->count.component[comp], b, sizeof b), share);
    }
    fprintf(f, "  %-12s", "total");
    for (int k = 0; k < 2; k++)
        if (nl[k]) fprintf(f, " %16s", llmc_fmt_count(layer0[k].total, a, sizeof a));
    fprintf(f, " %16s\n", llmc_fmt_count(m->count.total, b, sizeof b));
    for (int k = 0; k < 2; k++)
        if (nl[k]) fprintf(f, "  layers (%s): %d\n", llmc_stack_name(stacks[k]), nl[k]);
    if (s->has_target_params)
        fprintf(f, "\ntarget_params %s, relative error %.4f%% (tolerance %g%%)\n",
                llmc_fmt_count(s->target_params, a, sizeof a), 100.0 * rel_error(m->count.total, s->target_params),
                100.0 * s->tolerance);

    llmc_design g;
    if (llmc_design_compute(s, &m->dims, m->ir, &m->count, &m->design, &g, d) != 0) return 1;
    char e[32], x[32];
    fprintf(f, "\nparameters: %s total, %s non-embedding, embedding %s, head %s", llmc_fmt_count(g.total, a, sizeof a),
            llmc_fmt_count(g.non_embedding, b, sizeof b), llmc_fmt_count(g.embedding, c, sizeof c),
            g.tied && g.head == 0 ? "tied" : llmc_fmt_count(g.head, e, sizeof e));
    if (g.positional) fprintf(f, ", positions %s", llmc_fmt_count(g.positional, a, sizeof a));
    fprintf(f, "\nweights:    ");
    for (int k = 0; k < 5; k++) fprintf(f, "%s%s %s", k ? "   " : "", llmc_design_dtype_names[k], fmt_bytes(g.weight_bytes[k], a, sizeof a));
    fprintf(f, "\nKV cache:   %s per token (%s), %s at context %lld x batch %lld\n", fmt_bytes(g.kv_bytes_per_token, a, sizeof a),
            llmc_precision_name(g.in.kv_dtype), fmt_bytes(g.kv_bytes, b, sizeof b), (long long)g.in.context,
            (long long)g.in.batch);
    fprintf(f, "training:   mixed-precision Adam, micro-batch %lld x %lld tokens: weights %s + gradients %s + Adam %s\n",
            (long long)g.in.micro_batch, (long long)g.in.seq_len, fmt_bytes(g.train_weights, a, sizeof a),
            fmt_bytes(g.train_grads, b, sizeof b), fmt_bytes(g.train_adam, c, sizeof c));
    fprintf(f, "            + activations %s = %s; with activation checkpointing %s = %s\n",
            fmt_bytes(g.act_bytes, a, sizeof a), fmt_bytes(g.train_bytes, b, sizeof b),
            fmt_bytes(g.act_bytes_checkpointed, c, sizeof c), fmt_bytes(g.train_bytes_checkpointed, e, sizeof e));
    fprintf(f, "FLOPs:      forward %s per token (attention %s at %lld tokens); training %s per token = 6N %s + "
               "attention %s (N = %s in matrix products)\n",
            fmt_flops(g.fwd_flops, a, sizeof a), fmt_flops(g.fwd_attention_flops, b, sizeof b), (long long)g.in.seq_len,
            fmt_flops(g.train_flops, c, sizeof c), fmt_flops(g.train_flops - g.train_attention_flops, e, sizeof e),
            fmt_flops(g.train_attention_flops, x, sizeof x), llmc_fmt_count(g.matmul_params, (char[32]){0}, 32));
    if (s->dataset)
        fprintf(f, "dataset:    %s (tokens per parameter once the tokenizer counts its tokens)\n", s->dataset);
    if (m->explanation) print_explanation(f, m->explanation);
    return 0;
}

/* ---- validate OUT ------------------------------------------------------------------------------------------ */

static int check_file(const char *dir, const char *rel, FILE *f, llmc_diags *d) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        llmc_error(d, rel, "missing from '%s'", dir);
        return 1;
    }
    fprintf(f, "  present  %s (%lld bytes)\n", rel, (long long)st.st_size);
    return 0;
}

int llmc_validate_output(llmc_host *h, const char *out_dir, FILE *f, llmc_diags *d) {
    struct stat st;
    if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        llmc_error(d, NULL, "'%s' is not a directory", out_dir);
        return LLMC_EXIT_IO;
    }
    fprintf(f, "validating %s\n", out_dir);
    const char *files[] = {"spec.json", "solution.json", "ir.json", "compilation_report.json"};
    int missing = 0;
    for (size_t i = 0; i < 4; i++) missing += check_file(out_dir, files[i], f, d);
    if (missing) return LLMC_EXIT_IO;

    char path[PATH_MAX];
    int rc = LLMC_EXIT_SPEC;
    llmc_spec *spec = NULL;
    llmc_ir *ir = NULL, *rebuilt = NULL;
    json_t *sol = NULL, *rep = NULL;
    json_error_t jerr;

    snprintf(path, sizeof path, "%s/spec.json", out_dir);
    spec = llmc_spec_load_file(path, d);
    if (!spec) goto out;
    fprintf(f, "  ok       spec.json loads as a spec\n");

    snprintf(path, sizeof path, "%s/solution.json", out_dir);
    sol = json_load_file(path, 0, &jerr);
    if (!sol || !json_is_object(sol)) {
        llmc_error(d, "solution.json", "%s:%d:%d: not a JSON object: %s", path, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    json_t *jp = json_object_get(sol, "parameters"), *jd = json_object_get(sol, "dims");
    if (!json_is_integer(jp) || !json_is_object(jd)) {
        llmc_error(d, "solution.json", "needs integer 'parameters' and object 'dims'");
        goto out;
    }
    uint64_t sol_params = (uint64_t)json_integer_value(jp);
    llmc_dims dims;
    memset(&dims, 0, sizeof dims);
    const char *k;
    json_t *v;
    json_object_foreach(jd, k, v) {
        int id = llmc_dim_from_name(k);
        if (id < 0 || !json_is_integer(v) || json_integer_value(v) < 1) {
            llmc_error(d, "solution.json", "dims.%s: not a known dimension with a positive integer value", k);
            goto out;
        }
        llmc_dims_put(&dims, (llmc_dim_id)id, json_integer_value(v));
    }
    /* spec.json carries the solved dims: they must be the solution's */
    if (spec->dims.set != dims.set || memcmp(spec->dims.v, dims.v, sizeof dims.v) != 0) {
        for (int i = 0; i < LLMC_DIM_COUNT; i++)
            if (llmc_dims_has(&dims, (llmc_dim_id)i) != llmc_dims_has(&spec->dims, (llmc_dim_id)i) ||
                (llmc_dims_has(&dims, (llmc_dim_id)i) && dims.v[i] != spec->dims.v[i]))
                llmc_error(d, "dims", "%s differs between spec.json and solution.json", llmc_dim_name((llmc_dim_id)i));
        goto out;
    }
    json_t *jt = json_object_get(sol, "target_params");
    if (spec->has_target_params != json_is_integer(jt) ||
        (json_is_integer(jt) && (uint64_t)json_integer_value(jt) != spec->target_params)) {
        llmc_error(d, "target_params", "differs between spec.json and solution.json");
        goto out;
    }
    fprintf(f, "  ok       spec.json and solution.json agree on dims and target_params\n");

    snprintf(path, sizeof path, "%s/ir.json", out_dir);
    ir = llmc_ir_load_json_file(path, d);
    if (!ir) goto out;
    llmc_param_count ir_count;
    if (llmc_ir_count_params(ir, &ir_count, d) != 0) goto out;
    char a[32], b[32];
    if (ir_count.total != sol_params) {
        llmc_error(d, "parameters", "ir.json counts %s parameters, solution.json says %s",
                   llmc_fmt_count(ir_count.total, a, sizeof a), llmc_fmt_count(sol_params, b, sizeof b));
        goto out;
    }
    fprintf(f, "  ok       ir.json validates and counts %s parameters, as solution.json says\n",
            llmc_fmt_count(ir_count.total, a, sizeof a));

    const llmc_plugin *tmpl = llmc_registry_require(h->registry, LLMC_PLUGIN_TEMPLATE, spec->template_name, d);
    if (!tmpl) {
        rc = LLMC_EXIT_PLUGIN;
        goto out;
    }
    const llmc_template_vtable *tv = tmpl->vtable;
    llmc_param_count closed;
    if (tv->count(spec, &dims, &closed) != 0 || closed.total != sol_params) {
        llmc_error(d, "parameters", "template %s's closed form gives %s for these dims, solution.json says %s",
                   tmpl->name, llmc_fmt_count(closed.total, a, sizeof a), llmc_fmt_count(sol_params, b, sizeof b));
        goto out;
    }
    rebuilt = llmc_ir_create();
    if (rebuilt) set_ir_meta(rebuilt, tmpl, spec);
    llmc_param_count rb;
    if (!rebuilt || tv->build_ir(spec, &dims, rebuilt, d) != 0 || llmc_ir_count_params(rebuilt, &rb, d) != 0 ||
        rb.total != sol_params) {
        llmc_error(d, "parameters", "rebuilding the IR from spec.json with template %s does not give %s parameters",
                   tmpl->name, llmc_fmt_count(sol_params, b, sizeof b));
        goto out;
    }
    char *j1 = llmc_ir_to_json(ir), *j2 = llmc_ir_to_json(rebuilt);
    bool same_ir = j1 && j2 && !strcmp(j1, j2);
    free(j1);
    free(j2);
    if (!same_ir) {
        llmc_error(d, "ir.json", "differs from the IR template %s builds from spec.json", tmpl->name);
        goto out;
    }
    fprintf(f, "  ok       template %s: closed form = rebuilt IR = ir.json = %s parameters\n", tmpl->name,
            llmc_fmt_count(sol_params, a, sizeof a));

    snprintf(path, sizeof path, "%s/compilation_report.json", out_dir);
    rep = json_load_file(path, 0, &jerr);
    if (!rep || !json_is_object(rep)) {
        llmc_error(d, "compilation_report.json", "%s:%d:%d: not a JSON object: %s", path, jerr.line, jerr.column,
                   jerr.text);
        goto out;
    }
    json_t *rp = json_object_get(rep, "parameters");
    if (!json_is_integer(rp) || (uint64_t)json_integer_value(rp) != sol_params) {
        llmc_error(d, "compilation_report.json", "parameters differ from solution.json");
        goto out;
    }
    json_t *em = json_object_get(rep, "emitters");
    size_t n_files = 0;
    int bad = 0;
    json_object_foreach(em, k, v) {
        json_t *outs = json_object_get(v, "outputs");
        size_t i;
        json_t *o;
        json_array_foreach(outs, i, o) {
            const char *rel = json_string_value(json_object_get(o, "path"));
            if (!rel) continue;
            snprintf(path, sizeof path, "%s/%s", out_dir, rel);
            if (stat(path, &st) != 0) {
                llmc_error(d, k, "output '%s' listed in compilation_report.json is missing", rel);
                bad = 1;
            }
            n_files++;
        }
    }
    if (bad) goto out;
    fprintf(f, "  ok       compilation_report.json agrees; %zu emitter outputs present\n", n_files);
    fprintf(f, "valid\n");
    rc = LLMC_EXIT_OK;
out:
    json_decref(sol);
    json_decref(rep);
    llmc_ir_free(ir);
    llmc_ir_free(rebuilt);
    llmc_spec_free(spec);
    return rc;
}
