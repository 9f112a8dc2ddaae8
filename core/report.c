/* solution.json and compilation_report.json (report.h). */
#include "report.h"

#include <math.h>
#include <string.h>

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

char *llmc_solution_json(const llmc_model *m) {
    json_t *o = json_object();
    json_object_set_new(o, "dims", dims_json(&m->dims));
    json_object_set_new(o, "parameters", json_integer((json_int_t)m->count.total));
    if (m->spec->has_target_params) {
        json_object_set_new(o, "target_params", json_integer((json_int_t)m->spec->target_params));
        json_object_set_new(o, "relative_error", json_real(llmc_relative_error(m->count.total, m->spec->target_params)));
    } else {
        json_object_set_new(o, "target_params", json_null());
        json_object_set_new(o, "relative_error", json_null());
    }
    json_object_set_new(o, "solver", m->solver ? json_string(m->solver->name) : json_null());
    json_object_set_new(o, "breakdown", count_json(&m->count));
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
    json_object_set_new(o, "breakdown", count_json(&m->count));
    json_object_set_new(o, "per_layer", per_layer_json(m->ir));
    json_object_set_new(o, "stats", stats_json(stats));
    json_object_set_new(o, "weights", weights_json(m->spec));
    return o;
}

static void copy_fact(json_t *to, json_t *facts, const char *key) {
    json_object_set(to, key, json_object_get(facts, key));
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
    const char *rest[] = {"parameters", "breakdown", "per_layer", "stats", "weights"};
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
