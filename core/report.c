/* solution.json and compilation_report.json (report.h). */
#include "report.h"

#include <math.h>
#include <string.h>

#include "design.h"
#include "explain.h"
#include "llmc/weights.h"

double llmc_relative_error(uint64_t params, uint64_t target) {
    if (target == 0) return 0.0;
    double diff = params > target ? (double)(params - target) : (double)(target - params);
    return diff / (double)target;
}

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
    /* only models with sparse experts read fewer parameters per token than they have */
    if (c->active != c->total) json_object_set_new(o, "active", json_integer((json_int_t)c->active));
    return o;
}

char *llmc_json_text(json_t *j) {
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
        /* rounded so that the 10 digits the report keeps read back as the same number (validate) */
        json_object_set_new(ds, "tokens_per_parameter", json_real(round(g->tokens_per_param * 1e4) / 1e4));
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
    if (m->count.active != m->count.total) /* mixture of experts: what one token's forward pass reads */
        json_object_set_new(o, "active_parameters", json_integer((json_int_t)m->count.active));
    if (m->spec->has_target_params) {
        json_object_set_new(o, "target_params", json_integer((json_int_t)m->spec->target_params));
        json_object_set_new(o, "relative_error",
                            json_real(llmc_relative_error(LLMC_BUDGET_COUNT(m->spec, m->count), m->spec->target_params)));
        if (m->spec->target_active) json_object_set_new(o, "budget", json_string("active"));
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
    return llmc_json_text(o);
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

int llmc_ir_stack_layers(const llmc_ir *ir, llmc_stack st) {
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
        int n = llmc_ir_stack_layers(ir, stacks[s]);
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

static json_t *weights_json(const llmc_spec *s) {
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(s->weights.checkpoint ? "checkpoint" : "init"));
    json_object_set_new(o, "init", json_string(llmc_init_scheme_name(s->weights.init)));
    json_object_set_new(o, "seed", json_integer((json_int_t)s->weights.seed));
    json_object_set_new(o, "checkpoint", s->weights.checkpoint ? json_string(s->weights.checkpoint) : json_null());
    return o;
}

json_t *llmc_report_facts(const llmc_model *m, const llmc_model_stats *stats) {
    json_t *o = json_object();
    json_object_set_new(o, "llmc_version", json_string(llmc_version()));
    json_object_set_new(o, "name", json_string(m->spec->name));
    json_object_set_new(o, "template", json_string(m->tmpl->name));
    json_object_set_new(o, "template_version", json_string(m->tmpl->version));
    json_object_set_new(o, "solver", m->solver ? json_string(m->solver->name) : json_null());
    json_object_set_new(o, "parameters", json_integer((json_int_t)m->count.total));
    if (m->count.active != m->count.total) /* mixture of experts: what one token's forward pass reads */
        json_object_set_new(o, "active_parameters", json_integer((json_int_t)m->count.active));
    json_object_set_new(o, "breakdown", count_json(&m->count));
    json_object_set_new(o, "per_layer", per_layer_json(m->ir));
    json_object_set_new(o, "stats", stats_json(stats));
    llmc_design g;
    llmc_diags *scratch = llmc_diags_create();
    if (llmc_design_compute(m->spec, &m->dims, m->ir, &m->count, &m->design, &g, scratch) == 0)
        json_object_set_new(o, "design", design_json(&g, m->spec));
    llmc_diags_free(scratch);
    json_object_set_new(o, "weights", weights_json(m->spec));
    return o;
}

static void copy_fact(json_t *to, json_t *facts, const char *key) {
    json_t *v = json_object_get(facts, key);
    if (v) json_object_set(to, key, v); /* optional facts (active_parameters) are absent when they do not apply */
}

char *llmc_report_json(const llmc_model *m, const llmc_step_rec *steps, size_t n_steps, const llmc_model_stats *stats,
                       const llmc_diags *d, const llmc_outputs *outs, const char *const *emitters, size_t n_emit,
                       const double *emit_ms, int threads) {
    json_t *facts = llmc_report_facts(m, stats);
    json_t *o = json_object();
    copy_fact(o, facts, "llmc_version");
    json_object_set_new(o, "spec", json_string(m->spec->source_path ? m->spec->source_path : ""));
    copy_fact(o, facts, "name");
    copy_fact(o, facts, "template");
    copy_fact(o, facts, "template_version");
    copy_fact(o, facts, "solver");
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
    const char *rest[] = {"parameters", "active_parameters", "breakdown", "per_layer", "stats", "design", "weights"};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++) copy_fact(o, facts, rest[i]);
    json_decref(facts);
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
    return llmc_json_text(o);
}
