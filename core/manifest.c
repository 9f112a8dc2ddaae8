/* OUT/manifest.json (manifest.h): checksumming output streams, the file records, and the JSON
 * form, written at compile time and read back by `llmc validate`.
 *
 * The stream is a glibc cookie FILE over a file descriptor: emitters keep using fwrite,
 * fprintf and llmc_write_chunks_ordered, and every byte is hashed in the writing thread as it
 * goes to the kernel, so the weights are never read back. */
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "xxh64.h"

struct llmc_manifest {
    pthread_mutex_t mu;    /* records may come from streams closed on different threads */
    llmc_file_sum *files;
    size_t n, cap;
    char spec_sha256[65];
};

llmc_manifest *llmc_manifest_create(void) {
    llmc_manifest *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void file_sum_clear(llmc_file_sum *f) {
    free(f->path);
    free(f->emitter);
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

void llmc_manifest_free(llmc_manifest *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) file_sum_clear(&m->files[i]);
    free(m->files);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

size_t llmc_manifest_num_files(const llmc_manifest *m) { return m ? m->n : 0; }
const llmc_file_sum *llmc_manifest_file(const llmc_manifest *m, size_t i) { return m && i < m->n ? &m->files[i] : NULL; }
const char *llmc_manifest_spec_sha256(const llmc_manifest *m) { return m ? m->spec_sha256 : ""; }
void llmc_manifest_set_spec_sha256(llmc_manifest *m, const char *hex) {
    if (m) snprintf(m->spec_sha256, sizeof m->spec_sha256, "%s", hex ? hex : "");
}

static long find_locked(const llmc_manifest *m, const char *path) {
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->files[i].path, path)) return (long)i;
    return -1;
}

const llmc_file_sum *llmc_manifest_find(const llmc_manifest *m, const char *path) {
    if (!m || !path) return NULL;
    long i = find_locked(m, path);
    return i < 0 ? NULL : &m->files[i];
}

int llmc_manifest_norm_path(const char *rel, char *buf, size_t n) {
    if (!rel || !*rel || rel[0] == '/' || n == 0) return -1;
    size_t used = 0;
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return -1;
        if (len && !(len == 1 && p[0] == '.')) {
            if (used + (used ? 1 : 0) + len + 1 > n) return -1;
            if (used) buf[used++] = '/';
            memcpy(buf + used, p, len);
            used += len;
        }
        p += len;
        while (*p == '/') p++;
    }
    if (!used) return -1;
    buf[used] = '\0';
    return 0;
}

/* Takes ownership of *rec (moved in; *rec is zeroed). A file recorded twice keeps the last. */
static int add_record(llmc_manifest *m, llmc_file_sum *rec) {
    pthread_mutex_lock(&m->mu);
    int rc = 0;
    long at = find_locked(m, rec->path);
    if (at >= 0) {
        file_sum_clear(&m->files[at]);
        m->files[at] = *rec;
    } else {
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 16;
            llmc_file_sum *f = realloc(m->files, cap * sizeof *f);
            if (f) {
                m->files = f;
                m->cap = cap;
            } else {
                rc = -1;
            }
        }
        if (!rc) m->files[m->n++] = *rec;
    }
    pthread_mutex_unlock(&m->mu);
    if (rc) file_sum_clear(rec);
    else memset(rec, 0, sizeof *rec);
    return rc;
}

static int new_record(llmc_file_sum *rec, const char *emitter, const char *rel) {
    char norm[PATH_MAX];
    memset(rec, 0, sizeof *rec);
    if (llmc_manifest_norm_path(rel, norm, sizeof norm) != 0) return -1;
    rec->path = llmc_strdup(norm);
    rec->emitter = llmc_strdup(emitter ? emitter : "");
    if (!rec->path || !rec->emitter) {
        file_sum_clear(rec);
        return -1;
    }
    return 0;
}

int llmc_manifest_add_bytes(llmc_manifest *m, const char *emitter, const char *rel, const void *data, size_t len) {
    if (!m) return -1;
    llmc_file_sum rec;
    if (new_record(&rec, emitter, rel) != 0) return -1;
    rec.bytes = len;
    rec.xxh64 = llmc_xxh64(data, len, 0);
    return add_record(m, &rec);
}

/* ---- the checksumming stream ---------------------------------------------------------------------- */

typedef struct hstream {
    llmc_manifest *m;
    FILE *f;
    int fd;
    llmc_file_sum rec;        /* path, emitter, tensors so far */
    size_t cap_tensors;
    uint64_t pos;             /* bytes handed to the kernel */
    llmc_xxh64_state file;
    bool in_tensor;
    llmc_xxh64_state tensor;
    uint64_t tensor_at;
    char *tensor_name;
    bool failed;              /* a write or an allocation failed: nothing is recorded */
} hstream;

/* Open streams, so that the tensor marks can find a stream from its FILE. */
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static hstream **open_streams;
static size_t n_open, cap_open;

static int register_stream(hstream *s) {
    pthread_mutex_lock(&open_mu);
    int rc = 0;
    if (n_open == cap_open) {
        size_t cap = cap_open ? cap_open * 2 : 8;
        hstream **p = realloc(open_streams, cap * sizeof *p);
        if (!p) rc = -1;
        else {
            open_streams = p;
            cap_open = cap;
        }
    }
    if (!rc) open_streams[n_open++] = s;
    pthread_mutex_unlock(&open_mu);
    return rc;
}

static void unregister_stream(hstream *s) {
    pthread_mutex_lock(&open_mu);
    for (size_t i = 0; i < n_open; i++)
        if (open_streams[i] == s) {
            open_streams[i] = open_streams[--n_open];
            break;
        }
    if (n_open == 0) {
        free(open_streams);
        open_streams = NULL;
        cap_open = 0;
    }
    pthread_mutex_unlock(&open_mu);
}

static hstream *lookup_stream(FILE *f) {
    hstream *s = NULL;
    pthread_mutex_lock(&open_mu);
    for (size_t i = 0; i < n_open && !s; i++)
        if (open_streams[i]->f == f) s = open_streams[i];
    pthread_mutex_unlock(&open_mu);
    return s;
}

static ssize_t hs_write(void *cookie, const char *buf, size_t size) {
    hstream *s = cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(s->fd, buf + done, size - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;
        }
        done += (size_t)w;
    }
    llmc_xxh64_update(&s->file, buf, done);
    if (s->in_tensor) llmc_xxh64_update(&s->tensor, buf, done);
    s->pos += done;
    if (done < size) {
        int e = errno;
        s->failed = true;
        errno = e ? e : EIO;
        return done ? (ssize_t)done : -1;
    }
    return (ssize_t)done;
}

/* Only "where am I" (ftello): a real seek would rewrite bytes that are already hashed. */
static int hs_seek(void *cookie, off64_t *off, int whence) {
    hstream *s = cookie;
    if ((whence == SEEK_CUR && *off == 0) || (whence == SEEK_SET && *off >= 0 && (uint64_t)*off == s->pos)) {
        *off = (off64_t)s->pos;
        return 0;
    }
    errno = ESPIPE;
    return -1;
}

static int push_tensor(hstream *s) {
    if (s->rec.n_tensors == s->cap_tensors) {
        size_t cap = s->cap_tensors ? s->cap_tensors * 2 : 64;
        llmc_tensor_sum *t = realloc(s->rec.tensors, cap * sizeof *t);
        if (!t) return -1;
        s->rec.tensors = t;
        s->cap_tensors = cap;
    }
    llmc_tensor_sum *t = &s->rec.tensors[s->rec.n_tensors++];
    t->name = s->tensor_name;
    t->offset = s->tensor_at;
    t->bytes = s->pos - s->tensor_at;
    t->xxh64 = llmc_xxh64_digest(&s->tensor);
    s->tensor_name = NULL;
    s->in_tensor = false;
    return 0;
}

static int hs_close(void *cookie) {
    hstream *s = cookie;
    int rc = 0, e = 0;
    if (close(s->fd) != 0) {
        e = errno;
        s->failed = true;
        rc = -1;
    }
    unregister_stream(s);
    if (s->in_tensor && push_tensor(s) != 0) s->failed = true; /* an unended tensor ends at EOF */
    if (!s->failed) {
        s->rec.bytes = s->pos;
        s->rec.xxh64 = llmc_xxh64_digest(&s->file);
        if (add_record(s->m, &s->rec) != 0) {
            e = ENOMEM;
            rc = -1;
        }
    }
    file_sum_clear(&s->rec);
    free(s->tensor_name);
    free(s);
    if (rc) errno = e ? e : EIO;
    return rc;
}

FILE *llmc_manifest_open(llmc_manifest *m, const char *emitter, const char *path, const char *rel, llmc_diags *d) {
    hstream *s = calloc(1, sizeof *s);
    if (!s || new_record(&s->rec, emitter, rel) != 0) {
        free(s);
        llmc_error(d, emitter, "out of memory opening '%s' (or the path is not relative)", rel);
        return NULL;
    }
    s->m = m;
    llmc_xxh64_init(&s->file, 0);
    s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (s->fd < 0) {
        llmc_error(d, emitter, "cannot open '%s' for writing: %s", rel, strerror(errno));
        file_sum_clear(&s->rec);
        free(s);
        return NULL;
    }
    cookie_io_functions_t io = {NULL, hs_write, hs_seek, hs_close};
    s->f = fopencookie(s, "wb", io);
    if (!s->f || register_stream(s) != 0) {
        llmc_error(d, emitter, "cannot open '%s' for writing: out of memory", rel);
        if (s->f) {
            s->failed = true;
            fclose(s->f); /* hs_close frees s */
        } else {
            close(s->fd);
            file_sum_clear(&s->rec);
            free(s);
        }
        return NULL;
    }
    setvbuf(s->f, NULL, _IOFBF, 1 << 16);
    return s->f;
}

int llmc_manifest_tensor_begin(FILE *f, const char *name, llmc_diags *d) {
    hstream *s = lookup_stream(f);
    if (!s) return 0;
    if (s->in_tensor) {
        llmc_error(d, s->rec.emitter, "internal: tensor '%s' begins inside tensor '%s' in '%s'", name,
                   s->tensor_name, s->rec.path);
        return -1;
    }
    if (fflush(f) != 0) {
        llmc_error(d, s->rec.emitter, "error writing '%s': %s", s->rec.path, strerror(errno));
        return -1;
    }
    s->tensor_name = llmc_strdup(name ? name : "");
    if (!s->tensor_name) {
        s->failed = true;
        llmc_error(d, s->rec.emitter, "out of memory");
        return -1;
    }
    s->in_tensor = true;
    s->tensor_at = s->pos;
    llmc_xxh64_init(&s->tensor, 0);
    return 0;
}

int llmc_manifest_tensor_end(FILE *f, llmc_diags *d) {
    hstream *s = lookup_stream(f);
    if (!s) return 0;
    if (!s->in_tensor) {
        llmc_error(d, s->rec.emitter, "internal: tensor end without a begin in '%s'", s->rec.path);
        return -1;
    }
    if (fflush(f) != 0) {
        llmc_error(d, s->rec.emitter, "error writing '%s': %s", s->rec.path, strerror(errno));
        return -1;
    }
    if (push_tensor(s) != 0) {
        s->failed = true;
        llmc_error(d, s->rec.emitter, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- files written without the stream ------------------------------------------------------------------- */

static int hash_file(const char *path, uint64_t *bytes, uint64_t *sum) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    llmc_xxh64_state s;
    llmc_xxh64_init(&s, 0);
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, cap);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0) break;
        llmc_xxh64_update(&s, buf, (size_t)r);
    }
    int e = errno;
    free(buf);
    close(fd);
    *bytes = s.total;
    *sum = llmc_xxh64_digest(&s);
    errno = e;
    return rc;
}

static bool skipped(const char *rel, const char *const *skip) {
    for (size_t i = 0; skip && skip[i]; i++)
        if (!strcmp(rel, skip[i])) return true;
    return false;
}

static int scan_dir(llmc_manifest *m, const char *dir, const char *rel, const char *emitter, const char *const *skip,
                    llmc_diags *d) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *dh = opendir(path);
    if (!dh) {
        llmc_error(d, NULL, "cannot list '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child_rel[PATH_MAX], child[PATH_MAX];
        int w = snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        int w2 = snprintf(child, sizeof child, "%s/%s", dir, child_rel);
        if (w < 0 || (size_t)w >= sizeof child_rel || w2 < 0 || (size_t)w2 >= sizeof child) {
            llmc_error(d, NULL, "path too long below '%s'", dir);
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(child, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            rc = scan_dir(m, dir, child_rel, emitter, skip, d);
            continue;
        }
        if (!S_ISREG(st.st_mode) || skipped(child_rel, skip)) continue;
        pthread_mutex_lock(&m->mu);
        bool known = find_locked(m, child_rel) >= 0;
        pthread_mutex_unlock(&m->mu);
        if (known) continue;
        llmc_file_sum rec;
        if (new_record(&rec, emitter, child_rel) != 0) {
            llmc_error(d, NULL, "out of memory");
            rc = -1;
            break;
        }
        if (hash_file(child, &rec.bytes, &rec.xxh64) != 0) {
            llmc_error(d, emitter, "cannot read back '%s' to checksum it: %s", child_rel, strerror(errno));
            file_sum_clear(&rec);
            rc = -1;
            break;
        }
        if (add_record(m, &rec) != 0) {
            llmc_error(d, NULL, "out of memory");
            rc = -1;
        }
    }
    closedir(dh);
    return rc;
}

int llmc_manifest_scan(llmc_manifest *m, const char *dir, const char *emitter, const char *const *skip, llmc_diags *d) {
    if (!m || !dir) return -1;
    return scan_dir(m, dir, "", emitter, skip, d);
}

/* ---- JSON ------------------------------------------------------------------------------------------------- */

static int by_path(const void *a, const void *b) {
    const llmc_file_sum *x = *(const llmc_file_sum *const *)a, *y = *(const llmc_file_sum *const *)b;
    return strcmp(x->path, y->path);
}

static json_t *hex_json(uint64_t h) {
    char hex[17];
    llmc_xxh64_hex(h, hex);
    return json_string(hex);
}

char *llmc_manifest_to_json(const llmc_manifest *m) {
    if (!m) return NULL;
    const llmc_file_sum **order = calloc(m->n ? m->n : 1, sizeof *order);
    json_t *root = json_object(), *files = json_array();
    bool ok = order && root && files;
    for (size_t i = 0; ok && i < m->n; i++) order[i] = &m->files[i];
    if (ok) qsort(order, m->n, sizeof *order, by_path);
    if (ok) {
        ok &= !json_object_set_new(root, "format", json_string(LLMC_MANIFEST_FORMAT));
        ok &= !json_object_set_new(root, "checksum", json_string("xxh64"));
        ok &= !json_object_set_new(root, "spec_sha256", json_string(m->spec_sha256));
    }
    for (size_t i = 0; ok && i < m->n; i++) {
        const llmc_file_sum *f = order[i];
        json_t *o = json_object();
        ok &= o && !json_array_append_new(files, o);
        if (!ok) break;
        ok &= !json_object_set_new(o, "path", json_string(f->path));
        ok &= !json_object_set_new(o, "emitter", *f->emitter ? json_string(f->emitter) : json_null());
        ok &= !json_object_set_new(o, "bytes", json_integer((json_int_t)f->bytes));
        ok &= !json_object_set_new(o, "xxh64", hex_json(f->xxh64));
        if (!f->n_tensors) continue;
        json_t *ts = json_array();
        ok &= ts && !json_object_set_new(o, "tensors", ts);
        for (size_t k = 0; ok && k < f->n_tensors; k++) {
            const llmc_tensor_sum *t = &f->tensors[k];
            json_t *to = json_object();
            ok &= to && !json_array_append_new(ts, to);
            if (!ok) break;
            ok &= !json_object_set_new(to, "name", json_string(t->name));
            ok &= !json_object_set_new(to, "offset", json_integer((json_int_t)t->offset));
            ok &= !json_object_set_new(to, "bytes", json_integer((json_int_t)t->bytes));
            ok &= !json_object_set_new(to, "xxh64", hex_json(t->xxh64));
        }
    }
    if (ok) ok &= !json_object_set_new(root, "files", files);
    else json_decref(files);
    free(order);
    char *s = ok ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!s) return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

/* ---- loading --------------------------------------------------------------------------------------------- */

typedef struct loader {
    const char *path;
    llmc_diags *d;
    size_t errors;
} loader;

static void bad(loader *L, const char *key, const char *fmt, ...) LLMC_PRINTF(3, 4);
static void bad(loader *L, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(L->d, LLMC_SEV_ERROR, (llmc_loc){L->path, 0, 0}, key, fmt, ap);
    va_end(ap);
    L->errors++;
}

static bool get_u64(loader *L, json_t *o, const char *field, const char *key, uint64_t *out) {
    json_t *v = json_object_get(o, field);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        bad(L, key, "%s: expected a non-negative integer", field);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool get_hex(loader *L, json_t *o, const char *key, uint64_t *out) {
    const char *s = json_string_value(json_object_get(o, "xxh64"));
    char *end = NULL;
    if (s && strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16) {
        errno = 0;
        *out = strtoull(s, &end, 16);
        if (!errno && end && !*end) return true;
    }
    bad(L, key, "xxh64: expected 16 lowercase hex digits");
    return false;
}

static bool load_file_entry(loader *L, json_t *o, size_t i, llmc_file_sum *rec) {
    char key[64];
    snprintf(key, sizeof key, "files[%zu]", i);
    if (!json_is_object(o)) {
        bad(L, key, "expected an object");
        return false;
    }
    const char *path = json_string_value(json_object_get(o, "path"));
    json_t *em = json_object_get(o, "emitter");
    char norm[PATH_MAX];
    if (!path || llmc_manifest_norm_path(path, norm, sizeof norm) != 0 || strcmp(norm, path)) {
        bad(L, key, "path: expected a normalised relative path inside OUT (got %s)", path ? path : "none");
        return false;
    }
    if (!json_is_null(em) && !json_is_string(em)) {
        bad(L, key, "emitter: expected a string or null");
        return false;
    }
    if (new_record(rec, json_is_string(em) ? json_string_value(em) : "", path) != 0) {
        bad(L, key, "out of memory");
        return false;
    }
    if (!get_u64(L, o, "bytes", key, &rec->bytes) || !get_hex(L, o, key, &rec->xxh64)) return false;
    json_t *ts = json_object_get(o, "tensors");
    if (!ts) return true;
    if (!json_is_array(ts)) {
        bad(L, key, "tensors: expected an array");
        return false;
    }
    size_t n = json_array_size(ts);
    rec->tensors = calloc(n ? n : 1, sizeof *rec->tensors);
    if (!rec->tensors) {
        bad(L, key, "out of memory");
        return false;
    }
    uint64_t end_prev = 0;
    for (size_t k = 0; k < n; k++) {
        json_t *t = json_array_get(ts, k);
        char tkey[96];
        snprintf(tkey, sizeof tkey, "files[%zu].tensors[%zu]", i, k);
        llmc_tensor_sum *ts_k = &rec->tensors[k];
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!json_is_object(t) || !name) {
            bad(L, tkey, "expected an object with a string 'name'");
            return false;
        }
        if (!(ts_k->name = llmc_strdup(name))) return false;
        rec->n_tensors = k + 1;
        if (!get_u64(L, t, "offset", tkey, &ts_k->offset) || !get_u64(L, t, "bytes", tkey, &ts_k->bytes) ||
            !get_hex(L, t, tkey, &ts_k->xxh64))
            return false;
        uint64_t end;
        if (!llmc_add_u64(ts_k->offset, ts_k->bytes, &end) || end > rec->bytes || ts_k->offset < end_prev) {
            bad(L, tkey, "tensor '%s' at bytes [%llu, +%llu) is outside the %llu-byte file or overlaps the one before",
                name, (unsigned long long)ts_k->offset, (unsigned long long)ts_k->bytes,
                (unsigned long long)rec->bytes);
            return false;
        }
        end_prev = end;
    }
    return true;
}

llmc_manifest *llmc_manifest_load(const char *path, llmc_diags *d) {
    loader L = {path, d, 0};
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line > 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){path, jerr.line, jerr.column}, NULL, "JSON syntax error: %s",
                          jerr.text);
        else
            llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){path, 0, 0}, NULL, "%s", jerr.text);
        return NULL;
    }
    llmc_manifest *m = llmc_manifest_create();
    const char *fmt = json_string_value(json_object_get(root, "format"));
    const char *sum = json_string_value(json_object_get(root, "checksum"));
    const char *spec = json_string_value(json_object_get(root, "spec_sha256"));
    json_t *files = json_object_get(root, "files");
    if (!m) bad(&L, NULL, "out of memory");
    else if (!json_is_object(root) || !fmt || strcmp(fmt, LLMC_MANIFEST_FORMAT))
        bad(&L, "format", "expected \"%s\" (got %s)", LLMC_MANIFEST_FORMAT, fmt ? fmt : "none");
    else if (!sum || strcmp(sum, "xxh64"))
        bad(&L, "checksum", "expected \"xxh64\" (got %s)", sum ? sum : "none");
    else if (!spec || strlen(spec) != 64 || strspn(spec, "0123456789abcdef") != 64)
        bad(&L, "spec_sha256", "expected 64 lowercase hex digits");
    else if (!json_is_array(files))
        bad(&L, "files", "expected an array");
    if (L.errors) {
        json_decref(root);
        llmc_manifest_free(m);
        return NULL;
    }
    llmc_manifest_set_spec_sha256(m, spec);
    for (size_t i = 0; i < json_array_size(files); i++) {
        llmc_file_sum rec;
        memset(&rec, 0, sizeof rec);
        if (!load_file_entry(&L, json_array_get(files, i), i, &rec)) {
            file_sum_clear(&rec);
            continue;
        }
        if (find_locked(m, rec.path) >= 0) {
            char key[64];
            snprintf(key, sizeof key, "files[%zu]", i);
            bad(&L, key, "'%s' is listed twice", rec.path);
            file_sum_clear(&rec);
            continue;
        }
        if (add_record(m, &rec) != 0) bad(&L, NULL, "out of memory");
    }
    json_decref(root);
    if (L.errors) {
        llmc_manifest_free(m);
        return NULL;
    }
    return m;
}
