/* Output helpers for emitters (output.h), the output registry (outdir.h) and the TTY progress
 * bar. The atomic output directory itself is outdir.c. */
#include "llmc/output.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/plugin.h"
#include "manifest.h"
#include "outdir.h"
#include "util.h"

/* ---- directories and files ------------------------------------------------------------------- */

int llmc_mkdirs(const char *dir, llmc_diags *d) {
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        llmc_error(d, NULL, "cannot create directory '%s': path is %s", dir, n ? "too long" : "empty");
        return 1;
    }
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            llmc_error(d, NULL, "cannot create directory '%s': %s", path, strerror(errno));
            return 1;
        }
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        llmc_error(d, NULL, "cannot create directory '%s': %s", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        llmc_error(d, NULL, "cannot create directory '%s': a file of that name is in the way", path);
        return 1;
    }
    return 0;
}

int llmc_out_path(const struct llmc_emit_ctx *ctx, const char *rel, char *buf, size_t n, llmc_diags *d) {
    if (!rel || !*rel || rel[0] == '/') {
        llmc_error(d, ctx ? ctx->emitter_name : NULL, "output path '%s' must be relative to the output directory",
                   rel ? rel : "(null)");
        return 1;
    }
    /* no ".." component: an emitter writes only below its output directory */
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            llmc_error(d, ctx->emitter_name, "output path '%s' leaves the output directory", rel);
            return 1;
        }
        p += len;
        while (*p == '/') p++;
    }
    int w = snprintf(buf, n, "%s/%s", ctx->out_dir, rel);
    if (w < 0 || (size_t)w >= n) {
        llmc_error(d, ctx->emitter_name, "output path '%s/%s' is too long", ctx->out_dir, rel);
        return 1;
    }
    return 0;
}

FILE *llmc_out_open(const struct llmc_emit_ctx *ctx, const char *rel, llmc_diags *d) {
    char path[PATH_MAX];
    if (llmc_out_path(ctx, rel, path, sizeof path, d) != 0) return NULL;
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        int r = llmc_mkdirs(path, d);
        *slash = '/';
        if (r != 0) return NULL;
    }
    /* through the pipeline: checksummed on the way out, for OUT/manifest.json */
    if (ctx->outputs && ctx->outputs->manifest)
        return llmc_manifest_open(ctx->outputs->manifest, ctx->emitter_name, path, rel, d);
    FILE *f = fopen(path, "wb");
    if (!f) llmc_error(d, ctx->emitter_name, "cannot open '%s' for writing: %s", rel, strerror(errno));
    return f;
}

int llmc_out_tensor_begin(FILE *f, const char *name, llmc_diags *d) { return llmc_manifest_tensor_begin(f, name, d); }

int llmc_out_tensor_end(FILE *f, llmc_diags *d) { return llmc_manifest_tensor_end(f, d); }

int llmc_out_close(FILE *f, const char *rel, llmc_diags *d) {
    if (!f) return 1;
    int bad = 0;
    int e = 0;
    if (fflush(f) != 0) { bad = 1; e = errno; }
    if (ferror(f)) { bad = 1; if (!e) e = errno ? errno : EIO; }
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) llmc_error(d, NULL, "error writing '%s': %s", rel, strerror(e ? e : EIO));
    return bad;
}

int llmc_out_write_file(const struct llmc_emit_ctx *ctx, const char *rel, const void *data, size_t n, llmc_diags *d) {
    FILE *f = llmc_out_open(ctx, rel, d);
    if (!f) return 1;
    if (n && fwrite(data, 1, n, f) != n) {
        llmc_error(d, ctx->emitter_name, "error writing '%s': %s", rel, strerror(errno ? errno : EIO));
        fclose(f);
        return 1;
    }
    return llmc_out_close(f, rel, d);
}

/* ---- the output registry ----------------------------------------------------------------------- */

llmc_outputs *llmc_outputs_create(void) {
    llmc_outputs *o = calloc(1, sizeof(llmc_outputs));
    if (o && !(o->manifest = llmc_manifest_create())) {
        free(o);
        o = NULL;
    }
    return o;
}

void llmc_outputs_free(llmc_outputs *o) {
    if (!o) return;
    llmc_manifest_free(o->manifest);
    for (size_t i = 0; i < o->n; i++) {
        free(o->items[i].emitter);
        free(o->items[i].path);
        free(o->items[i].role);
    }
    free(o->items);
    free(o);
}

static pthread_mutex_t outputs_lock = PTHREAD_MUTEX_INITIALIZER;

int llmc_outputs_add(llmc_outputs *o, const char *emitter, const char *path, const char *role) {
    if (!o) return 1;
    pthread_mutex_lock(&outputs_lock);
    int rc = 1;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        llmc_output_entry *it = realloc(o->items, cap * sizeof *it);
        if (!it) goto done;
        o->items = it;
        o->cap = cap;
    }
    llmc_output_entry *e = &o->items[o->n];
    e->emitter = llmc_strdup(emitter ? emitter : "");
    e->path = llmc_strdup(path ? path : "");
    e->role = llmc_strdup(role ? role : "");
    if (!e->emitter || !e->path || !e->role) {
        free(e->emitter);
        free(e->path);
        free(e->role);
        goto done;
    }
    o->n++;
    rc = 0;
done:
    pthread_mutex_unlock(&outputs_lock);
    return rc;
}

int llmc_out_register(const struct llmc_emit_ctx *ctx, const char *rel, const char *role) {
    if (!ctx || !ctx->outputs) return 1;
    return llmc_outputs_add(ctx->outputs, ctx->emitter_name, rel, role);
}

/* ---- progress bar ---------------------------------------------------------------------------------- */

struct llmc_progress {
    char label[48];
    uint64_t total, done;
    bool tty;
    double start_ms, last_draw_ms;
    int last_pct;
    pthread_mutex_t lock;
};

llmc_progress *llmc_progress_create(const char *label, uint64_t total) {
    llmc_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    p->tty = isatty(STDERR_FILENO) && !getenv("LLMC_NO_PROGRESS");
    p->start_ms = llmc_now_ms();
    p->last_pct = -1;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

static void draw(llmc_progress *p, bool final) {
    int pct = p->total ? (int)(p->done * 100 / p->total) : 100;
    double now = llmc_now_ms();
    if (!final && pct == p->last_pct && now - p->last_draw_ms < 250) return;
    p->last_pct = pct;
    p->last_draw_ms = now;
    int width = 30, fill = pct * width / 100;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double secs = (now - p->start_ms) / 1000.0;
    double mb = (double)p->done / 1e6;
    fprintf(stderr, "\r%-20s [%s] %3d%%  %.0f MB  %.1f MB/s", p->label, bar, pct, mb, secs > 0 ? mb / secs : 0.0);
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

void llmc_progress_update(llmc_progress *p, uint64_t done) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->done = done > p->total ? p->total : done;
    if (p->tty) draw(p, false);
    pthread_mutex_unlock(&p->lock);
}

void llmc_progress_add(llmc_progress *p, uint64_t delta) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->done = delta > p->total - p->done ? p->total : p->done + delta;
    if (p->tty) draw(p, false);
    pthread_mutex_unlock(&p->lock);
}

void llmc_progress_free(llmc_progress *p) {
    if (!p) return;
    if (p->tty) draw(p, true);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
