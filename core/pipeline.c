/* The compile pipeline (pipeline.h). Each step is timed and reported; any failure leaves
 * no output directory behind (outdir.h). */
#include "pipeline.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "interrupt.h"
#include "special_tokens.h"
#include "llmc/weights.h"
#include "manifest.h"
#include "outdir.h"
#include "report.h"
#include "sha256.h"
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
    llmc_dataset_free(&m->dataset);
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

/* metadata carried in ir.json; validate rebuilds the IR the same way */
static void set_ir_meta(llmc_ir *ir, const llmc_plugin *tmpl, const llmc_spec *spec) {
    llmc_ir_set_meta(ir, "template", tmpl->name);
    llmc_ir_set_meta(ir, "name", spec->name);
    llmc_ir_set_meta(ir, "llmc_version", llmc_version());
}

static int effective_threads(const llmc_host *h, const llmc_compile_params *p);

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

    /* the tokenizer and the dataset: loaded or trained, counted, checked against the spec; this
     * fills target_params for compute_optimal, so it comes before the solver */
    llmc_dataset_params dp = {p->spec_path, effective_threads(h, p), p->progress};
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
        return LLMC_EXIT_PLUGIN;
    }
    /* the one set of special tokens every artifact writes (special_tokens.h) */
    llmc_layout hf;
    memset(&hf, 0, sizeof hf);
    if (llmc_layout_hf(spec, m->ir, &hf, d) != 0) return LLMC_EXIT_PLUGIN;
    snprintf(m->family, sizeof m->family, "%s", hf.family);
    llmc_layout_free(&hf);
    llmc_special_tokens_compute(m->dataset.tokenizer, m->family, llmc_dims_has(&m->dims, LLMC_DIM_NUM_DECODER_LAYERS),
                                &m->special_tokens);
    if (m->solver) {
        m->solution.params = m->count.total;
        m->solution.relative_error = llmc_relative_error(m->count.total, spec->target_params);
    }
    m->step_ms[3] = llmc_now_ms() - t0;
    return LLMC_EXIT_OK;
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
    if (spec->emit) { /* given, possibly empty (emit: [] runs none) */
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

/* One of llmc's own files: written, and recorded in the manifest when one is given. */
static int write_text(const char *dir, const char *rel, const char *text, llmc_manifest *mf, llmc_diags *d) {
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
    if (mf && llmc_manifest_add_bytes(mf, NULL, rel, text, n) != 0) {
        fclose(f);
        llmc_error(d, NULL, "out of memory recording '%s' in %s", rel, LLMC_MANIFEST_FILE);
        return 1;
    }
    return llmc_out_close(f, rel, d);
}

/* spec.json lists the emitters that ran (--emit and the config's default included; [] for none),
 * so that compiling it again runs the same ones */
static int set_spec_emit(llmc_spec *s, const char *const *names, size_t n) {
    char **list = calloc(n ? n : 1, sizeof *list);
    if (!list) return -1;
    for (size_t i = 0; i < n; i++)
        if (!(list[i] = llmc_strdup(names[i]))) {
            for (size_t k = 0; k < i; k++) free(list[k]);
            free(list);
            return -1;
        }
    for (size_t i = 0; i < s->n_emit; i++) free(s->emit[i]);
    free(s->emit);
    s->emit = list;
    s->n_emit = n;
    return 0;
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
    if (llmc_check_regular_file(ck) != 0) {
        const char *why = llmc_read_file_error(ck, errno);
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(m->spec, "weights.checkpoint"), "weights.checkpoint",
                      "cannot read checkpoint '%s': %s", ck, why);
        *rc = LLMC_EXIT_IO;
        return NULL;
    }
    /* spec.json records the checkpoint by absolute path: read from OUT/spec.json, a relative
     * path would resolve against OUT */
    char *abs = realpath(ck, NULL);
    if (abs) {
        free(m->spec->weights.checkpoint);
        m->spec->weights.checkpoint = abs;
        ck = abs;
    }
    if (llmc_layout_hf(m->spec, m->ir, layout, d) != 0) {
        *rc = LLMC_EXIT_SPEC;
        return NULL;
    }
    /* a checkpoint's problems are located in the checkpoint: bad content exits 1, I/O 4 */
    llmc_checkpoint_params cp = llmc_checkpoint_default_params();
    cp.allow_nonfinite = p->allow_nonfinite;
    llmc_weights_error why;
    llmc_weight_source *ws = llmc_weights_open_checkpoint_with(ck, m->ir, layout, &cp, &why, d);
    if (!ws) *rc = why == LLMC_WEIGHTS_IO_ERROR ? LLMC_EXIT_IO : LLMC_EXIT_SPEC;
    return ws;
}

int llmc_compile(llmc_host *h, const llmc_compile_params *p, llmc_diags *d) {
    llmc_model m;
    llmc_step_rec steps[16 + MAX_EMITTERS];
    size_t n_steps = 0;
    int rc = llmc_model_prepare(h, p, &m, d);
    if (rc != LLMC_EXIT_OK) {
        llmc_model_free(&m);
        return rc;
    }
    steps[n_steps++] = (llmc_step_rec){"load_spec", "ok", m.step_ms[0]};
    steps[n_steps++] = (llmc_step_rec){"validate", "ok", m.step_ms[1]};
    steps[n_steps++] = (llmc_step_rec){m.solver ? "solve" : "complete_dims", "ok", m.step_ms[2]};
    steps[n_steps++] = (llmc_step_rec){"build_ir", "ok", m.step_ms[3]};
    if (m.dataset.tokenizer)  /* "cached": the tokenizer came from the training cache (dataset.h) */
        steps[n_steps++] = (llmc_step_rec){"tokenizer_and_dataset", m.dataset.source, m.dataset.ms};

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
    bool signals_armed = false;

    rc = resolve_emitters(h, p, m.spec, emit_names, &n_emit, scratch, sizeof scratch, d);
    if (rc) goto fail;
    for (size_t i = 0; i < n_emit; i++) {
        emitters[i] = llmc_registry_require(h->registry, LLMC_PLUGIN_EMITTER, emit_names[i], d);
        if (!emitters[i]) rc = LLMC_EXIT_PLUGIN;
    }
    if (rc) goto fail;
    if (set_spec_emit(m.spec, emit_names, n_emit) != 0) {
        llmc_error(d, NULL, "out of memory");
        rc = LLMC_EXIT_IO;
        goto fail;
    }
    for (size_t i = 0; i < n_emit; i++) emit_names[i] = m.spec->emit[i]; /* the old list is freed */
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
        steps[n_steps++] = (llmc_step_rec){"open_weights", "ok", llmc_now_ms() - t0};
    }

    t0 = llmc_now_ms();
    /* from here on a stop signal only sets a flag; the steps below poll it and clean up */
    llmc_stop_signals_arm();
    signals_armed = true;
    od = llmc_outdir_begin(p->out_dir, p->force, d);
    if (!od) {
        rc = LLMC_EXIT_IO;
        goto fail;
    }
    const char *tmp = llmc_outdir_tmp(od);
    rc = LLMC_EXIT_IO;
    outs = llmc_outputs_create();
    if (!outs) {
        llmc_error(d, NULL, "out of memory");
        goto fail;
    }
    text = llmc_spec_to_json(m.spec, &m.dims);
    if (!text || write_text(tmp, "spec.json", text, outs->manifest, d)) goto fail;
    char spec_hash[65];
    llmc_sha256_hex(text, strlen(text), spec_hash);
    llmc_manifest_set_spec_sha256(outs->manifest, spec_hash);
    free(text);
    text = llmc_solution_json(&m);
    if (!text || write_text(tmp, "solution.json", text, outs->manifest, d)) goto fail;
    free(text);
    text = llmc_ir_to_json(m.ir);
    if (!text || write_text(tmp, "ir.json", text, outs->manifest, d)) goto fail;
    free(text);
    text = NULL;
    if (llmc_dataset_write(&m.dataset, &m.special_tokens, tmp, outs->manifest, d)) goto fail;
    steps[n_steps++] = (llmc_step_rec){"write_model_files", "ok", llmc_now_ms() - t0};

    int threads = effective_threads(h, p);
    /* the report and the manifest are written last, the marker is the output directory's own; no emitter
     * may take their names, and the manifest does not list them */
    const char *const reserved[] = {"compilation_report.json", LLMC_MANIFEST_FILE, LLMC_OUTPUT_MARKER, NULL};
    for (size_t i = 0; i < n_emit; i++) {
        if (llmc_interrupted()) goto interrupted;
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
        ctx.special_tokens = &m.special_tokens;
        ctx.tokenizer = m.dataset.tokenizer;
        t0 = llmc_now_ms();
        errs = llmc_diags_errors(d);
        const llmc_emitter_vtable *ev = emitters[i]->vtable;
        if (ev->emit(&ctx, d) != 0 || llmc_diags_errors(d) > errs) {
            if (llmc_interrupted()) goto interrupted;
            if (llmc_diags_errors(d) == errs) llmc_error(d, "emit", "emitter %s failed", emitters[i]->name);
            llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "emitter %s failed; nothing was written to '%s'",
                          emitters[i]->name, p->out_dir);
            if (llmc_weights_failure(ws) == LLMC_WEIGHTS_BAD_DATA) rc = LLMC_EXIT_SPEC; /* NaN/Inf in the checkpoint */
            goto fail;
        }
        /* files the emitter wrote without llmc_out_open are checksummed by reading them back */
        if (llmc_manifest_scan(outs->manifest, tmp, emitters[i]->name, reserved, d) != 0) goto fail;
        for (size_t r = 0; reserved[r]; r++) {
            if (!strcmp(reserved[r], LLMC_OUTPUT_MARKER)) continue; /* outdir's own, there from the start */
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", tmp, reserved[r]);
            if (access(path, F_OK) == 0) {
                llmc_error(d, "emit", "emitter %s wrote '%s', a name llmc reserves for its own file",
                           emitters[i]->name, reserved[r]);
                goto fail;
            }
        }
        emit_ms[i] = llmc_now_ms() - t0;
        if (n_steps < sizeof steps / sizeof *steps) {
            snprintf(step_names[i], sizeof step_names[i], "emit:%s", emitters[i]->name);
            steps[n_steps++] = (llmc_step_rec){step_names[i], "ok", emit_ms[i]};
        }
    }
    if (llmc_interrupted()) goto interrupted;
    text = llmc_report_json(&m, steps, n_steps, &stats, d, outs, emit_names, n_emit, emit_ms, threads);
    if (!text || write_text(tmp, "compilation_report.json", text, NULL, d)) goto fail;
    free(text);
    text = llmc_manifest_to_json(outs->manifest);
    if (!text || write_text(tmp, LLMC_MANIFEST_FILE, text, NULL, d)) goto fail;
    /* the marker, and every file on disk before the rename that publishes them */
    int sealed = llmc_outdir_seal(od, d);
    if (llmc_interrupted()) goto interrupted;
    if (sealed != 0) goto fail;
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
    if (llmc_interrupted())
        llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL, "%s arrived after the new output was complete: '%s' "
                      "holds it", llmc_signal_name(llmc_interrupted()), p->out_dir);
    rc = LLMC_EXIT_OK;
    goto fail;
interrupted:
    rc = 128 + llmc_interrupted();
    llmc_error(d, NULL, "interrupted by %s: nothing was written to '%s' (an existing one is left as it was) and the "
               "temporary directory was removed", llmc_signal_name(llmc_interrupted()), p->out_dir);
fail:
    free(text);
    if (od) llmc_outdir_abort(od);
    if (signals_armed) llmc_stop_signals_disarm();
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
        nl[k] = llmc_ir_stack_layers(m->ir, stacks[k]);
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
                llmc_fmt_count(s->target_params, a, sizeof a), 100.0 * llmc_relative_error(m->count.total, s->target_params),
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
    if (m->dataset.has_stats) {
        const llmc_dataset_stats *st = &m->dataset.stats;
        fprintf(f, "dataset:    %s%s%s tokens (%s documents, %s bytes, %.3f bytes per token): %.2f tokens per parameter "
                   "(compute-optimal: 20, Hoffmann et al. 2022)\n",
                s->dataset ? s->dataset : "", s->dataset ? ": " : "", llmc_fmt_count(st->tokens, a, sizeof a),
                llmc_fmt_count(st->documents, b, sizeof b), llmc_fmt_count(st->bytes, c, sizeof c),
                st->tokens ? (double)st->bytes / (double)st->tokens : 0.0, g.tokens_per_param);
    } else if (s->dataset) {
        fprintf(f, "dataset:    %s (not read: give dataset.paths and a tokenizer to count its tokens)\n", s->dataset);
    }
    if (m->explanation) print_explanation(f, m->explanation);
    return 0;
}
