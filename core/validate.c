/* llmc validate OUT (pipeline.h): is OUT what `llmc compile OUT/spec.json` writes?
 *
 *  1. every file in OUT/manifest.json: present, its size, its XXH64 checksum, and each tensor's
 *     checksum in the tensor files (one sequential read per file);
 *  2. spec.json's SHA-256 against the manifest's;
 *  3. a fresh prepare of OUT/spec.json (load, template checks, solve, IR, count): spec.json is
 *     its own normal form; solution.json (but an explanation, see with_explanation) and ir.json
 *     are the text compile writes; the report's
 *     deterministic fields (count, breakdown, per-layer, stats, weights and seed) are the fresh
 *     ones; the report lists the emitters spec.json names;
 *  4. each emitter's verify() (llmc/plugin.h): headers, tensor tables and configs rebuilt and
 *     compared with the files, offsets and sizes against the file sizes.
 * Every problem is reported, located at the file ("OUT/path: what is wrong (expected X, got Y)"),
 * in one run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/output.h"
#include "llmc/stats.h"
#include "llmc/weights.h"
#include "manifest.h"
#include "outdir.h"
#include "pipeline.h"
#include "report.h"
#include "llmc/sha256.h"
#include "util.h"
#include "verify.h"
#include "xxh64.h"

#define REPORT_FILE "compilation_report.json"
#define READ_CHUNK (4u << 20)

llmc_validate_params llmc_validate_default_params(void) {
    llmc_validate_params p;
    memset(&p, 0, sizeof p);
    return p;
}

typedef struct vstate {
    const char *out;        /* OUT as the user wrote it */
    FILE *f;                /* the running account */
    llmc_diags *d;
    bool io_error;          /* a read failed for a reason other than a missing file */
    char **missing;         /* "OUT/path" of the files step 1 found missing: said once, not again */
    size_t n_missing;
} vstate;

static void note_missing(vstate *V, const char *file) {
    char **m = realloc(V->missing, (V->n_missing + 1) * sizeof *m);
    if (!m) return; /* only a repeated message is at stake */
    V->missing = m;
    if ((m[V->n_missing] = llmc_strdup(file))) V->n_missing++;
}

static bool said_missing(const vstate *V, const char *file) {
    for (size_t i = 0; file && i < V->n_missing; i++)
        if (!strcmp(V->missing[i], file)) return true;
    return false;
}

/* "OUT/rel" (cut at PATH_MAX: such a path cannot be opened anyway, and the open says so) */
static void at(vstate *V, const char *rel, char *buf, size_t n) {
    int w = snprintf(buf, n, "%s/%s", V->out, rel);
    if (w < 0) buf[0] = '\0';
}

static void problem(vstate *V, const char *rel, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void problem(vstate *V, const char *rel, const char *key, const char *fmt, ...) {
    char file[PATH_MAX];
    at(V, rel, file, sizeof file);
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(V->d, LLMC_SEV_ERROR, (llmc_loc){file, 0, 0}, key, fmt, ap);
    va_end(ap);
}

/* ---- 1. sizes and checksums ------------------------------------------------------------------------------ */

static const char *hex(uint64_t h, char out[17]) {
    llmc_xxh64_hex(h, out);
    return out;
}

/* One pass over the file: the whole-file checksum and each recorded tensor's. */
static void check_sums(vstate *V, const llmc_file_sum *fs, bool quick) {
    char path[PATH_MAX], a[17], b[17], n1[32], n2[32];
    at(V, fs->path, path, sizeof path);
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) {
            problem(V, fs->path, NULL, "missing (manifest.json records %s bytes)", llmc_fmt_count(fs->bytes, n1, sizeof n1));
            note_missing(V, path);
        } else {
            problem(V, fs->path, NULL, "cannot stat: %s", strerror(errno));
            V->io_error = true;
        }
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        problem(V, fs->path, NULL, "not a regular file (manifest.json records a %s-byte file)",
                llmc_fmt_count(fs->bytes, n1, sizeof n1));
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    bool size_ok = size == fs->bytes;
    if (!size_ok)
        problem(V, fs->path, NULL, "%s (expected %s bytes, got %s)",
                size < fs->bytes ? "truncated" : "longer than written", llmc_fmt_count(fs->bytes, n1, sizeof n1),
                llmc_fmt_count(size, n2, sizeof n2));
    if (quick && fs->bytes > LLMC_VALIDATE_QUICK_BYTES) {
        if (size_ok) fprintf(V->f, "  size     %s (%s bytes; checksum skipped: --quick)\n", fs->path,
                             llmc_fmt_count(size, n1, sizeof n1));
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = fd >= 0 ? malloc(READ_CHUNK) : NULL;
    if (!buf) {
        problem(V, fs->path, NULL, "cannot read: %s", fd < 0 ? strerror(errno) : "out of memory");
        V->io_error = true;
        if (fd >= 0) close(fd);
        return;
    }
    llmc_xxh64_state whole, tensor;
    llmc_xxh64_init(&whole, 0);
    llmc_xxh64_init(&tensor, 0);
    size_t k = 0, bad_tensors = 0;
    uint64_t pos = 0;
    bool read_failed = false;
    for (;;) {
        ssize_t r = read(fd, buf, READ_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            problem(V, fs->path, NULL, "read error at byte %llu: %s", (unsigned long long)pos, strerror(errno));
            V->io_error = read_failed = true;
            break;
        }
        if (r == 0) break;
        llmc_xxh64_update(&whole, buf, (size_t)r);
        /* feed the tensors this chunk overlaps; finish the ones it completes */
        uint64_t end = pos + (uint64_t)r;
        while (k < fs->n_tensors) {
            const llmc_tensor_sum *t = &fs->tensors[k];
            uint64_t t_end = t->offset + t->bytes;
            uint64_t lo = t->offset > pos ? t->offset : pos, hi = t_end < end ? t_end : end;
            if (lo < hi) llmc_xxh64_update(&tensor, buf + (lo - pos), (size_t)(hi - lo));
            if (t_end > end) break;
            uint64_t got = llmc_xxh64_digest(&tensor);
            if (got != t->xxh64 && bad_tensors++ < LLMC_VERIFY_MAX_REPORTED)
                problem(V, fs->path, NULL,
                        "tensor '%s' (bytes %llu..%llu) differs from what was written (xxh64 expected %s, got %s)",
                        t->name, (unsigned long long)t->offset, (unsigned long long)t_end, hex(t->xxh64, a),
                        hex(got, b));
            llmc_xxh64_init(&tensor, 0);
            k++;
        }
        pos = end;
    }
    free(buf);
    close(fd);
    if (read_failed) return;
    size_t cut = fs->n_tensors - k;
    if (cut) {
        problem(V, fs->path, NULL, "%zu of its %zu tensors end past the end of the file, the first '%s' (ends at byte %llu, the file has %llu)",
                cut, fs->n_tensors, fs->tensors[k].name,
                (unsigned long long)(fs->tensors[k].offset + fs->tensors[k].bytes), (unsigned long long)pos);
    }
    if (bad_tensors > LLMC_VERIFY_MAX_REPORTED)
        problem(V, fs->path, NULL, "%zu tensors differ in all (%d listed)", bad_tensors, LLMC_VERIFY_MAX_REPORTED);
    uint64_t got = llmc_xxh64_digest(&whole);
    if (got != fs->xxh64) {
        if (size_ok && bad_tensors == 0)
            problem(V, fs->path, NULL, "content differs from what was written%s (xxh64 expected %s, got %s)",
                    fs->n_tensors ? ", outside the tensors (header or padding)" : "", hex(fs->xxh64, a), hex(got, b));
        else if (size_ok)
            problem(V, fs->path, NULL, "content differs from what was written (xxh64 expected %s, got %s)",
                    hex(fs->xxh64, a), hex(got, b));
        return;
    }
    if (!size_ok) return;
    if (fs->n_tensors)
        fprintf(V->f, "  ok       %s (%s bytes, xxh64 %s; %zu tensor checksums match)\n", fs->path,
                llmc_fmt_count(size, n1, sizeof n1), hex(got, a), fs->n_tensors);
    else
        fprintf(V->f, "  ok       %s (%s bytes, xxh64 %s)\n", fs->path, llmc_fmt_count(size, n1, sizeof n1), hex(got, a));
}

/* Files below OUT that the manifest does not list: not an error (llmc run builds OUT/cpu/llmc-run
 * there), but said, so that nobody takes them for compiled output. */
static void list_extras(vstate *V, const llmc_manifest *m, const char *rel, size_t *shown) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", V->out, *rel ? "/" : "", rel);
    DIR *dh = opendir(path);
    if (!dh) return;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child[PATH_MAX], full[PATH_MAX];
        int w = snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        int w2 = snprintf(full, sizeof full, "%s/%s", V->out, child);
        if (w < 0 || (size_t)w >= sizeof child || w2 < 0 || (size_t)w2 >= sizeof full) continue;
        struct stat st;
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            list_extras(V, m, child, shown);
            continue;
        }
        /* the report, the manifest, and the output marker (outdir.h) */
        if (!*rel && (!strcmp(e->d_name, REPORT_FILE) || !strcmp(e->d_name, LLMC_MANIFEST_FILE) ||
                      !strcmp(e->d_name, LLMC_OUTPUT_MARKER)))
            continue;
        if (llmc_manifest_find(m, child)) continue;
        if ((*shown)++ < LLMC_VERIFY_MAX_REPORTED)
            llmc_diag_add(V->d, LLMC_SEV_NOTE, (llmc_loc){full, 0, 0}, NULL,
                          "not written by the compile (not in manifest.json); not checked");
    }
    closedir(dh);
}

static llmc_manifest *check_files(vstate *V, bool quick) {
    char path[PATH_MAX];
    at(V, LLMC_MANIFEST_FILE, path, sizeof path);
    if (access(path, F_OK) != 0) {
        problem(V, LLMC_MANIFEST_FILE, NULL,
                "missing: without it the files' sizes and checksums cannot be checked (compile the spec again to "
                "get one)");
        return NULL;
    }
    llmc_manifest *m = llmc_manifest_load(path, V->d);
    if (!m) return NULL;
    const char *core[] = {"spec.json", "solution.json", "ir.json"};
    for (size_t i = 0; i < 3; i++)
        if (!llmc_manifest_find(m, core[i])) problem(V, LLMC_MANIFEST_FILE, NULL, "does not list %s", core[i]);
    for (size_t i = 0; i < llmc_manifest_num_files(m); i++) check_sums(V, llmc_manifest_file(m, i), quick);
    size_t extras = 0;
    list_extras(V, m, "", &extras);
    if (extras > LLMC_VERIFY_MAX_REPORTED)
        llmc_diag_add(V->d, LLMC_SEV_NOTE, (llmc_loc){V->out, 0, 0}, NULL, "%zu more files not in manifest.json",
                      extras - LLMC_VERIFY_MAX_REPORTED);
    return m;
}

/* ---- 2. the spec hash -------------------------------------------------------------------------------------- */

static char *read_out_file(vstate *V, const char *rel, size_t *len) {
    char path[PATH_MAX];
    at(V, rel, path, sizeof path);
    char *text = llmc_read_file(path, (size_t)1 << 31, len);
    if (!text) {
        if (errno == ENOENT) {
            problem(V, rel, NULL, "missing");
        } else {
            problem(V, rel, NULL, "cannot read: %s", strerror(errno));
            V->io_error = true;
        }
    }
    return text;
}

static void check_spec_hash(vstate *V, const llmc_manifest *m, const char *spec_text, size_t len) {
    char got[65];
    llmc_sha256_hex(spec_text, len, got);
    if (m && strcmp(got, llmc_manifest_spec_sha256(m)))
        problem(V, "spec.json", NULL,
                "SHA-256 differs from the one recorded when it was compiled (manifest.json spec_sha256 expected %s, "
                "got %s)",
                llmc_manifest_spec_sha256(m), got);
    else if (m)
        fprintf(V->f, "  ok       spec.json SHA-256 %s, as recorded\n", got);
}

/* ---- 3. the documents against a fresh solve and count -------------------------------------------------------- */

/* a text llmc writes vs the file: bytes first, then key by key */
static void compare_text(vstate *V, const char *rel, const char *want, const char *what) {
    size_t len;
    char *got = read_out_file(V, rel, &len);
    if (!got) return;
    char file[PATH_MAX];
    at(V, rel, file, sizeof file);
    if (llmc_verify_bytes(file, got, len, len, want, strlen(want), 0, V->d) == 0)
        fprintf(V->f, "  ok       %s is %s\n", rel, what);
    free(got);
}

/* OUT/tokenizer/tokenizer.json holds the tokenizer spec.json trains or loads: the same document
 * (its layout is the writer's: a cached one was written when it was trained) */
static void compare_tokenizer(vstate *V, const llmc_tokenizer *t) {
    const char *rel = "tokenizer/tokenizer.json";
    size_t len;
    char *text = llmc_tokenizer_to_json(t, &len, V->d);
    char *got = text ? read_out_file(V, rel, &len) : NULL;
    json_t *want = text ? json_loads(text, 0, NULL) : NULL, *file = got ? json_loads(got, 0, NULL) : NULL;
    if (got && !file) problem(V, rel, NULL, "not valid JSON");
    else if (want && file && !json_equal(want, file))
        problem(V, rel, NULL, "differs from the tokenizer spec.json trains or loads now (edited by hand, or the "
                "tokenizer plugin changed since the compile; compile OUT/spec.json again)");
    else if (want && file)
        fprintf(V->f, "  ok       %s is the tokenizer spec.json trains or loads\n", rel);
    json_decref(want);
    json_decref(file);
    free(text);
    free(got);
}

/* `compile --explain` puts the explanation of the solver's answer in solution.json. It explains
 * the original spec's free dims, which spec.json pins, so a fresh compile cannot reproduce it:
 * the fresh text takes the file's explanation, and everything else is compared. Takes fresh. */
static char *with_explanation(vstate *V, char *fresh) {
    char path[PATH_MAX];
    at(V, "solution.json", path, sizeof path);
    json_t *file = fresh ? json_load_file(path, 0, NULL) : NULL;
    json_t *e = file ? json_object_get(file, "explanation") : NULL;
    if (!e) {
        json_decref(file);
        return fresh;
    }
    json_t *f = json_loads(fresh, 0, NULL);
    char *text = NULL;
    if (f && json_object_set(f, "explanation", e) == 0) {
        text = llmc_json_text(f);
        f = NULL;
    }
    json_decref(f);
    json_decref(file);
    if (!text) return fresh;
    free(fresh);
    return text;
}

static void compare_report(vstate *V, const llmc_model *m, const llmc_model_stats *stats,
                           const llmc_manifest *man) {
    char path[PATH_MAX];
    at(V, REPORT_FILE, path, sizeof path);
    json_error_t jerr;
    json_t *rep = json_load_file(path, 0, &jerr);
    if (!rep || !json_is_object(rep)) {
        if (access(path, F_OK) != 0) problem(V, REPORT_FILE, NULL, "missing");
        else if (rep) problem(V, REPORT_FILE, NULL, "expected a JSON object, got %s", json_is_array(rep) ? "an array" : "a scalar");
        else llmc_diag_add(V->d, LLMC_SEV_ERROR, (llmc_loc){path, jerr.line, jerr.column}, NULL,
                           "JSON syntax error: %s", jerr.text);
        json_decref(rep);
        return;
    }
    size_t before = llmc_diags_errors(V->d);
    json_t *facts = llmc_report_facts(m, stats);
    size_t budget = LLMC_VERIFY_MAX_REPORTED, n = 0;
    const char *key;
    json_t *want;
    json_object_foreach(facts, key, want) {
        json_t *got = json_object_get(rep, key);
        if (!got) {
            problem(V, REPORT_FILE, key, "missing");
            n++;
            continue;
        }
        n += llmc_json_diff(want, got, path, key, V->d, &budget);
    }
    if (n > LLMC_VERIFY_MAX_REPORTED)
        llmc_diag_add(V->d, LLMC_SEV_NOTE, (llmc_loc){path, 0, 0}, NULL, "%zu more differences not listed",
                      n - LLMC_VERIFY_MAX_REPORTED);
    json_decref(facts);
    /* the emitters that ran are the ones spec.json names, and what they list is there */
    json_t *em = json_object_get(rep, "emitters");
    if (!json_is_object(em)) {
        problem(V, REPORT_FILE, "emitters", "missing or not an object");
    } else {
        size_t i = 0;
        json_t *v;
        json_object_foreach(em, key, v) {
            if (i >= m->spec->n_emit || strcmp(key, m->spec->emit[i]))
                problem(V, REPORT_FILE, "emitters", "lists '%s' where spec.json's emit has %s%s%s", key,
                        i < m->spec->n_emit ? "'" : "", i < m->spec->n_emit ? m->spec->emit[i] : "no more", i < m->spec->n_emit ? "'" : "");
            i++;
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(v, "outputs"), k, o) {
                const char *rel = json_string_value(json_object_get(o, "path"));
                char norm[PATH_MAX], full[PATH_MAX];
                struct stat st;
                if (!rel || llmc_manifest_norm_path(rel, norm, sizeof norm) != 0) {
                    problem(V, REPORT_FILE, "emitters", "%s: outputs[%zu].path is not a relative path inside OUT", key, k);
                    continue;
                }
                at(V, norm, full, sizeof full);
                if (stat(full, &st) != 0) {
                    if (!said_missing(V, full))
                        problem(V, REPORT_FILE, "emitters", "%s: output '%s' is missing from OUT", key, norm);
                }
                else if (man && S_ISREG(st.st_mode) && !llmc_manifest_find(man, norm))
                    problem(V, REPORT_FILE, "emitters", "%s: output '%s' is not in manifest.json", key, norm);
            }
        }
        if (i < m->spec->n_emit)
            problem(V, REPORT_FILE, "emitters", "lists %zu emitters, spec.json's emit names %zu", i, m->spec->n_emit);
    }
    json_decref(rep);
    if (llmc_diags_errors(V->d) == before)
        fprintf(V->f, "  ok       %s: count, breakdown, per-layer, stats, seed and emitters as compiled\n", REPORT_FILE);
}

/* ---- 4. the emitters' own checks --------------------------------------------------------------------------------- */

static void verify_emitters(vstate *V, llmc_host *h, const llmc_model *m) {
    if (m->spec->n_emit == 0) return;
    /* an init source costs nothing to create; a checkpoint is not read: everything an emitter
     * writes about it (path, kind) follows from spec.json, and its values are in the checksums */
    llmc_weight_source *ws = m->spec->weights.checkpoint ? NULL : llmc_weights_create_init(m->ir, m->spec->weights.seed, NULL);
    for (size_t i = 0; i < m->spec->n_emit; i++) {
        const char *name = m->spec->emit[i];
        const llmc_plugin *pl = llmc_registry_find(h->registry, LLMC_PLUGIN_EMITTER, name);
        if (!pl) {
            char file[PATH_MAX];
            at(V, "spec.json", file, sizeof file);
            llmc_diag_add(V->d, LLMC_SEV_WARNING, (llmc_loc){file, 0, 0}, "emit",
                          "emitter %s is not loaded: its files were checked against manifest.json only", name);
            continue;
        }
        const llmc_emitter_vtable *ev = pl->vtable;
        if (!LLMC_HAS_MEMBER(ev, llmc_emitter_vtable, verify) || !ev->verify) {
            fprintf(V->f, "  note     emitter %s has no format check; its files were checked against manifest.json\n",
                    name);
            continue;
        }
        llmc_emit_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.struct_size = sizeof ctx;
        ctx.emitter_name = name;
        ctx.spec = m->spec;
        ctx.dims = &m->dims;
        ctx.ir = m->ir;
        ctx.count = &m->count;
        ctx.family = m->family;
        ctx.hf_layout = &m->hf_layout;
        ctx.model_dims = &m->model_dims;
        ctx.spec_json = m->spec_json;
        ctx.spec_sha256 = m->spec_sha256;
        ctx.out_dir = V->out;
        ctx.weights = ws;
        ctx.threads = 1;
        ctx.special_tokens = &m->special_tokens;
        ctx.tokenizer = m->dataset.tokenizer;
        llmc_diags *vd = llmc_diags_create();
        int rc = ev->verify(&ctx, vd);
        size_t found = llmc_diags_errors(vd);
        /* a file step 1 found missing is not reported missing again */
        for (size_t k = 0; k < llmc_diags_size(vd); k++) {
            const llmc_diag *g = llmc_diags_get(vd, k);
            if (!strcmp(g->message, "missing") && said_missing(V, g->loc.file)) continue;
            llmc_diag_add(V->d, g->severity, g->loc, g->key, "%s", g->message);
        }
        llmc_diags_free(vd);
        if (rc != 0 && found == 0)
            llmc_diag_add(V->d, LLMC_SEV_ERROR, (llmc_loc){V->out, 0, 0}, "emit",
                          "emitter %s found its files wrong without saying why", name);
        else if (rc == 0 && found == 0)
            fprintf(V->f, "  ok       %s: headers, tables, configs and code are what it writes for spec.json\n", name);
    }
    llmc_weights_free(ws);
}

/* ---- the whole check ------------------------------------------------------------------------------------------------ */

int llmc_validate_output(llmc_host *h, const llmc_validate_params *p, FILE *f, llmc_diags *d) {
    struct stat st;
    if (!p || !p->out_dir || stat(p->out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        const char *out = p && p->out_dir ? p->out_dir : "";
        llmc_error(d, NULL, "'%s' is not a directory%s%s", out, errno == ENOENT ? "" : ": ",
                   errno == ENOENT ? "" : strerror(errno));
        return LLMC_EXIT_IO;
    }
    vstate V = {p->out_dir, f, d, false, NULL, 0};
    fprintf(f, "validating %s\n", V.out);

    llmc_manifest *man = check_files(&V, p->quick);

    size_t spec_len = 0;
    char *spec_text = read_out_file(&V, "spec.json", &spec_len);
    if (spec_text) check_spec_hash(&V, man, spec_text, spec_len);

    int rc = LLMC_EXIT_OK;
    llmc_model m;
    memset(&m, 0, sizeof m);
    char spec_path[PATH_MAX];
    at(&V, "spec.json", spec_path, sizeof spec_path);
    if (spec_text) {
        llmc_compile_params cp = llmc_compile_default_params();
        cp.spec_path = spec_path;
        size_t before = llmc_diags_errors(d);
        int prc = llmc_model_prepare(h, &cp, &m, d);
        if (prc == LLMC_EXIT_PLUGIN) rc = prc;
        if (prc != LLMC_EXIT_OK) {
            if (llmc_diags_errors(d) == before) problem(&V, "spec.json", NULL, "does not compile");
            llmc_model_free(&m);
            memset(&m, 0, sizeof m);
        }
    }
    if (m.ir) {
        char a[32];
        fprintf(f, "  ok       spec.json compiles: %s parameters (template %s%s%s)\n",
                llmc_fmt_count(m.count.total, a, sizeof a), m.tmpl->name, m.solver ? ", solver " : "",
                m.solver ? m.solver->name : "");
        char *text = llmc_spec_to_json(m.spec, &m.dims);
        if (text) {
            char file[PATH_MAX];
            at(&V, "spec.json", file, sizeof file);
            if (llmc_verify_bytes(file, spec_text, spec_len, spec_len, text, strlen(text), 0, d) == 0)
                fprintf(f, "  ok       spec.json is in normal form\n");
        }
        free(text);
        text = with_explanation(&V, llmc_solution_json(&m));
        if (text) compare_text(&V, "solution.json", text, "the fresh solve's");
        free(text);
        text = llmc_ir_to_json(m.ir);
        if (text) compare_text(&V, "ir.json", text, "the IR the template builds from spec.json");
        free(text);
        /* the tokenizer and the dataset's numbers, counted afresh (the cache gives the tokenizer) */
        if (m.dataset.json) compare_text(&V, "dataset.json", m.dataset.json, "the dataset counted afresh");
        if (m.dataset.tokenizer) compare_tokenizer(&V, m.dataset.tokenizer);
        llmc_model_stats stats;
        if (llmc_model_stats_compute(m.spec, &m.dims, m.ir, &stats, d) == 0) compare_report(&V, &m, &stats, man);
        verify_emitters(&V, h, &m);
    }
    free(spec_text);
    llmc_manifest_free(man);
    llmc_model_free(&m);
    for (size_t i = 0; i < V.n_missing; i++) free(V.missing[i]);
    free(V.missing);

    size_t errors = llmc_diags_errors(d);
    if (errors == 0) {
        fprintf(f, "valid\n");
        return LLMC_EXIT_OK;
    }
    fprintf(f, "invalid: %zu problem%s (listed on stderr)\n", errors, errors == 1 ? "" : "s");
    if (rc != LLMC_EXIT_OK) return rc;
    return V.io_error ? LLMC_EXIT_IO : LLMC_EXIT_SPEC;
}
