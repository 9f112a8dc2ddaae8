/* The compile pipeline (pipeline.h). Each step is timed and reported; any failure leaves
 * no output directory behind (outdir.h). */
#include "pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interrupt.h"
#include "llmc/weights.h"
#include "manifest.h"
#include "outdir.h"
#include "pipeline_internal.h"
#include "report.h"
#include "llmc/sha256.h"
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
    llmc_layout_free(&m->hf_layout);
    free(m->spec_json);
    free(m->explanation);
    llmc_dataset_free(&m->dataset);
    memset(m, 0, sizeof *m);
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

int llmc_pipeline_threads(const llmc_host *h, const llmc_compile_params *p) {
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

/* A model folder as Hugging Face lays it out: its sharded index (model.safetensors.index.json, or
 * the one *.safetensors.index.json), else its only *.safetensors file. path is replaced in place. */
static int checkpoint_in_folder(char *path, size_t n, const llmc_spec *spec, llmc_diags *d) {
    DIR *dir = opendir(path);
    if (!dir) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "weights.checkpoint"), "weights.checkpoint",
                      "cannot read checkpoint folder '%s': %s", path, strerror(errno));
        return -1;
    }
    char index[256] = "", single[256] = "";
    size_t n_index = 0, n_single = 0;
    bool has_model_index = false;
    for (struct dirent *e; (e = readdir(dir));) {
        size_t len = strlen(e->d_name);
        if (len >= sizeof index || e->d_name[0] == '.') continue;
        if (len > 23 && !strcmp(e->d_name + len - 23, ".safetensors.index.json")) {
            if (!strcmp(e->d_name, "model.safetensors.index.json")) has_model_index = true;
            snprintf(index, sizeof index, "%s", e->d_name);
            n_index++;
        } else if (len > 12 && !strcmp(e->d_name + len - 12, ".safetensors")) {
            snprintf(single, sizeof single, "%s", e->d_name);
            n_single++;
        }
    }
    closedir(dir);
    const char *pick = has_model_index ? "model.safetensors.index.json" : n_index == 1 ? index
                       : n_index == 0 && n_single == 1                  ? single
                                                                        : NULL;
    if (!pick) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "weights.checkpoint"), "weights.checkpoint",
                      "checkpoint folder '%s' holds %zu *.safetensors.index.json and %zu *.safetensors files "
                      "(expected model.safetensors.index.json, one index, or one .safetensors file; name the file)",
                      path, n_index, n_single);
        return -1;
    }
    size_t used = strlen(path);
    if (used + 1 + strlen(pick) + 1 > n) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "weights.checkpoint"), "weights.checkpoint",
                      "checkpoint folder '%s': path too long", path);
        return -1;
    }
    snprintf(path + used, n - used, "/%s", pick);
    return 0;
}

/* The weight source for the emitters: a checkpoint when one is named, else deterministic init.
 * A checkpoint is matched through the HF layout (the one the safetensors emitter writes). */
static llmc_weight_source *open_weights(const llmc_model *m, const llmc_compile_params *p, int *rc, llmc_diags *d) {
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
    struct stat st;
    if (stat(ck, &st) == 0 && S_ISDIR(st.st_mode) && checkpoint_in_folder(path, sizeof path, m->spec, d) != 0) {
        *rc = LLMC_EXIT_IO;
        return NULL;
    }
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
    /* a checkpoint's problems are located in the checkpoint: bad content exits 1, I/O 4 */
    llmc_checkpoint_params cp = llmc_checkpoint_default_params();
    cp.allow_nonfinite = p->allow_nonfinite;
    llmc_weights_error why;
    llmc_weight_source *ws = llmc_weights_open_checkpoint_with(ck, m->ir, &m->hf_layout, &cp, &why, d);
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
        if (ev->check && ev->check(m.spec, m.ir, d) != 0 && llmc_diags_errors(d) == errs)
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
        ws = open_weights(&m, p, &wrc, d);
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
    /* the spec as emitters see it: after open_weights made the checkpoint path absolute */
    free(m.spec_json);
    m.spec_json = llmc_spec_to_json(m.spec, &m.dims);
    if (!m.spec_json || write_text(tmp, "spec.json", m.spec_json, outs->manifest, d)) goto fail;
    llmc_sha256_hex(m.spec_json, strlen(m.spec_json), m.spec_sha256);
    llmc_manifest_set_spec_sha256(outs->manifest, m.spec_sha256);
    text = llmc_solution_json(&m);
    if (!text || write_text(tmp, "solution.json", text, outs->manifest, d)) goto fail;
    free(text);
    text = llmc_ir_to_json(m.ir);
    if (!text || write_text(tmp, "ir.json", text, outs->manifest, d)) goto fail;
    free(text);
    text = NULL;
    if (llmc_dataset_write(&m.dataset, &m.special_tokens, tmp, outs->manifest, d)) goto fail;
    steps[n_steps++] = (llmc_step_rec){"write_model_files", "ok", llmc_now_ms() - t0};

    int threads = llmc_pipeline_threads(h, p);
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
        ctx.family = m.family;
        ctx.hf_layout = &m.hf_layout;
        ctx.model_dims = &m.model_dims;
        ctx.spec_json = m.spec_json;
        ctx.spec_sha256 = m.spec_sha256;
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
        printf("compiled %s: %s parameters", m.spec->name, llmc_fmt_count(m.count.total, a, sizeof a));
        if (m.count.active != m.count.total) printf(", %s active", llmc_fmt_count(m.count.active, a, sizeof a));
        printf(" (template %s", m.tmpl->name);
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
    llmc_outputs_free(outs);
    llmc_model_free(&m);
    return rc;
}
