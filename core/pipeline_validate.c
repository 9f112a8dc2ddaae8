/* The model the pipeline compiles (pipeline.h llmc_model_prepare): the spec loaded and validated by
 * its template, the dims solved (and re-checked) or completed, the IR built and validated, its count
 * checked against the template's closed form. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "llmc/sha256.h"
#include "llmc/weights.h"
#include "pipeline_internal.h"
#include "report.h"
#include "special_tokens.h"
#include "util.h"

int llmc_pipeline_parse_dtype(const char *s, llmc_precision *out) {
    if (!strcmp(s, "float32") || !strcmp(s, "f32") || !strcmp(s, "fp32")) *out = LLMC_PRECISION_FLOAT32;
    else if (!strcmp(s, "float16") || !strcmp(s, "f16") || !strcmp(s, "fp16")) *out = LLMC_PRECISION_FLOAT16;
    else if (!strcmp(s, "bfloat16") || !strcmp(s, "bf16")) *out = LLMC_PRECISION_BFLOAT16;
    else return 1;
    return 0;
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
    /* spec.json names the solver that ran (--solver or the config's default included), so that
     * compiling it again runs the same one */
    if (!spec->solver || strcmp(spec->solver, m->solver->name)) {
        char *name = llmc_strdup(m->solver->name);
        if (!name) {
            llmc_error(d, NULL, "out of memory");
            return LLMC_EXIT_IO;
        }
        free(m->spec->solver);
        m->spec->solver = name;
    }
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
        llmc_pipeline_describe_dims(&sol->dims, dims_text, sizeof dims_text);
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
        rc = LLMC_EXIT_SPEC;
        if (llmc_diags_errors(d) == 0) { /* nothing the spec's author can act on: the plugin's fault */
            llmc_error(d, NULL, "solver %s failed without a message", m->solver->name);
            rc = LLMC_EXIT_PLUGIN;
        }
        break;
    }
    if (rc == LLMC_EXIT_OK) {
        /* never trust a solver: the core re-checks every pin, domain and constraint */
        llmc_diags *chk = llmc_diags_create();
        if (llmc_problem_check_solution(prob, &sol->dims, chk) != 0) {
            llmc_error(d, NULL, "solver %s returned dimensions that fail the core's independent check:",
                       m->solver->name);
            llmc_diags_take(d, chk);
            rc = LLMC_EXIT_PLUGIN; /* a plugin that lies is a plugin error, not a spec error */
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

static int64_t dim_or_zero(const llmc_dims *d, llmc_dim_id id) { return llmc_dims_has(d, id) ? d->v[id] : 0; }

static void unpack_dims(const llmc_spec *s, const llmc_dims *d, llmc_model_dims *out) {
    memset(out, 0, sizeof *out);
    out->hidden = dim_or_zero(d, LLMC_DIM_HIDDEN_SIZE);
    out->intermediate = dim_or_zero(d, LLMC_DIM_INTERMEDIATE_SIZE);
    out->heads = dim_or_zero(d, LLMC_DIM_NUM_HEADS);
    out->kv_heads = dim_or_zero(d, LLMC_DIM_NUM_KV_HEADS);
    out->head_dim = dim_or_zero(d, LLMC_DIM_HEAD_DIM);
    out->encoder_layers = dim_or_zero(d, LLMC_DIM_NUM_ENCODER_LAYERS);
    out->decoder_layers = llmc_dims_has(d, LLMC_DIM_NUM_DECODER_LAYERS) ? d->v[LLMC_DIM_NUM_DECODER_LAYERS]
                                                                         : dim_or_zero(d, LLMC_DIM_NUM_LAYERS);
    out->layers = out->decoder_layers;
    out->vocab = s->vocab_size;
    out->context = s->context_length;
}

int llmc_model_prepare(llmc_host *h, const llmc_compile_params *p, llmc_model *m, llmc_diags *d) {
    memset(m, 0, sizeof *m);
    m->design = p->design;
    double t0 = llmc_now_ms();
    /* A spec that cannot be read is an I/O error (4); one that is read but wrong, or too large,
     * is a spec error (1). A FIFO, socket or device is refused at once, never waited on. */
    size_t len = 0;
    char *text = llmc_read_file(p->spec_path, LLMC_DOC_MAX_BYTES, &len);
    if (!text && errno != EFBIG) {
        llmc_error(d, NULL, "cannot read spec '%s': %s", p->spec_path, llmc_read_file_error(p->spec_path, errno));
        return LLMC_EXIT_IO;
    }
    m->spec = text ? llmc_spec_load_string(text, len, p->spec_path, LLMC_SPEC_FORMAT_AUTO, d)
                   : llmc_spec_load_file(p->spec_path, d); /* reports the size limit */
    free(text);
    if (!m->spec) return LLMC_EXIT_SPEC;
    llmc_spec *spec = m->spec;
    if (p->dtype && llmc_pipeline_parse_dtype(p->dtype, &spec->precision) != 0) {
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

    /* the tokenizer and the dataset: loaded or trained, counted, checked against the spec; this
     * fills target_params for compute_optimal, so it comes before the solver */
    llmc_dataset_params dp = {p->spec_path, llmc_pipeline_threads(h, p), p->progress};
    int drc = llmc_dataset_prepare(h->registry, spec, &dp, &m->dataset, d);
    if (drc != LLMC_EXIT_OK) return drc;
    if (m->dataset.has_stats) m->design.dataset_tokens = m->dataset.stats.tokens;

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
        return LLMC_EXIT_PLUGIN;
    }
    if (llmc_ir_count_params(m->ir, &m->count, d) != 0) return LLMC_EXIT_SPEC;
    /* The IR count is the truth; the template's closed form (which the solver used) must
     * agree exactly, component by component. */
    llmc_param_count closed;
    if (tv->count(spec, &m->dims, &closed) != 0) {
        llmc_error(d, NULL, "template %s: closed-form parameter count overflows", m->tmpl->name);
        return LLMC_EXIT_SPEC;
    }
    bool same = closed.total == m->count.total && closed.active == m->count.active;
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
        if (closed.active != m->count.active)
            llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "active: closed form %llu, IR %llu",
                          (unsigned long long)closed.active, (unsigned long long)m->count.active);
        return LLMC_EXIT_PLUGIN;
    }
    /* facts computed once for every emitter: the HF layout and family (from the IR's declared
     * structure and the spec's features), the unpacked dims, the spec's JSON text */
    if (llmc_layout_hf(spec, m->ir, &m->hf_layout, d) != 0) return LLMC_EXIT_PLUGIN;
    snprintf(m->family, sizeof m->family, "%s", m->hf_layout.family);
    unpack_dims(spec, &m->dims, &m->model_dims);
    m->spec_json = llmc_spec_to_json(spec, &m->dims);
    if (!m->spec_json) {
        llmc_error(d, NULL, "out of memory");
        return LLMC_EXIT_IO;
    }
    llmc_sha256_hex(m->spec_json, strlen(m->spec_json), m->spec_sha256);
    /* the one set of special tokens every artifact writes (special_tokens.h) */
    llmc_special_tokens_compute(m->dataset.tokenizer, m->family, llmc_dims_has(&m->dims, LLMC_DIM_NUM_DECODER_LAYERS),
                                &m->special_tokens);
    if (m->solver) {
        m->solution.params = LLMC_BUDGET_COUNT(spec, m->count);
        m->solution.relative_error = llmc_relative_error(LLMC_BUDGET_COUNT(spec, m->count), spec->target_params);
    }
    m->step_ms[3] = llmc_now_ms() - t0;
    return LLMC_EXIT_OK;
}
