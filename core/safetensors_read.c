/* safetensors reading, treating the file as untrusted input.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section.
 * The JSON maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
 * the data section), plus an optional "__metadata__" string -> string map.
 *
 * Every number that comes from the file is checked before it is used: N against the file
 * size and a hard cap, shapes (non-negative, at most 8 dims, products without overflow),
 * byte sizes against data_offsets, offsets against the data section, and the tensors must
 * tile the data section exactly (no overlap, no gap, nothing after the last one), which is
 * the rule of the format's reference implementation. A file's header is read with pread and
 * the file memory-mapped read-only for its data; llmc_st_read copies data under a SIGBUS guard
 * (map_guard.h), so a file truncated while it is read gives an I/O error, not a crash. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map_guard.h"
#include "util.h"
#include "weights_internal.h"

#define ST_MAX_HEADER (100u * 1024u * 1024u) /* a header this large is not a real checkpoint */
#define ST_MAX_ERRORS 20                      /* per file; a fuzzed header can have millions */

struct llmc_st_file {
    char *name;
    const uint8_t *base;  /* whole file */
    size_t size;
    void *map;            /* mmap'd region, or NULL for a caller's buffer */
    const uint8_t *data;  /* data section */
    uint64_t data_len;
    llmc_st_tensor *tensors; /* header order */
    size_t n;
    size_t *by_name;      /* indices sorted by name, for llmc_st_find */
    char **meta;          /* key0, value0, key1, value1, ... */
    size_t n_meta;
};

static const struct { const char *name; size_t size; } st_dtypes[] = {
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
    {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2},
    {"I32", 4}, {"U32", 4}, {"F32", 4},
    {"I64", 8}, {"U64", 8}, {"F64", 8}, {"C64", 8},
};

size_t llmc_st_dtype_size(const char *dtype) {
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, dtype) == 0) return st_dtypes[i].size;
    return 0;
}

/* error collector: counts, stops recording after ST_MAX_ERRORS */
typedef struct {
    llmc_diags *d;
    const char *file;
    size_t n;
} st_err;

static void LLMC_PRINTF(3, 4) err_at(st_err *e, const char *tensor, const char *fmt, ...) {
    e->n++;
    if (!e->d) return;
    if (e->n > ST_MAX_ERRORS) {
        if (e->n == ST_MAX_ERRORS + 1)
            llmc_diag_add(e->d, LLMC_SEV_ERROR, (llmc_loc){e->file, 0, 0}, NULL,
                          "more errors in this safetensors header are not shown");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = llmc_vasprintf(fmt, ap);
    va_end(ap);
    char *key = tensor ? llmc_asprintf("tensor '%s'", tensor) : NULL;
    llmc_diag_add(e->d, LLMC_SEV_ERROR, (llmc_loc){e->file, 0, 0}, key, "%s", msg ? msg : "out of memory");
    free(key);
    free(msg);
}

void llmc_st_close(llmc_st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free((char *)f->tensors[i].name);
    free(f->tensors);
    free(f->by_name);
    for (size_t i = 0; i < 2 * f->n_meta; i++) free(f->meta[i]);
    free(f->meta);
    if (f->map) munmap(f->map, f->size);
    free(f->name);
    free(f);
}

/* a JSON integer in [0, 2^63) */
static bool get_u64(json_t *v, uint64_t *out) {
    if (!json_is_integer(v)) return false;
    json_int_t x = json_integer_value(v);
    if (x < 0) return false;
    *out = (uint64_t)x;
    return true;
}

/* Validate one tensor entry into t (name already set). */
static void parse_entry(st_err *e, const char *name, json_t *v, uint64_t data_len, llmc_st_tensor *t, bool *ok) {
    size_t before = e->n;
    if (!json_is_object(v)) {
        err_at(e, name, "entry is not an object (expected {\"dtype\", \"shape\", \"data_offsets\"})");
        *ok = false;
        return;
    }
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
            err_at(e, name, "unknown field '%s' (expected dtype, shape, data_offsets)", k);
    }
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    size_t esize = 0;
    if (!json_is_string(dt)) {
        err_at(e, name, "dtype is missing or not a string");
    } else {
        const char *s = json_string_value(dt);
        esize = llmc_st_dtype_size(s);
        if (!esize)
            err_at(e, name, "unknown dtype '%.16s' (expected one of BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, "
                            "I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64, C64)", s);
        else
            snprintf(t->dtype, sizeof t->dtype, "%s", s);
    }
    uint64_t numel = 1;
    bool shape_ok = false;
    if (!json_is_array(shape)) {
        err_at(e, name, "shape is missing or not an array");
    } else if (json_array_size(shape) > 8) {
        err_at(e, name, "shape has %zu dimensions (at most 8 supported)", json_array_size(shape));
    } else {
        shape_ok = true;
        t->rank = (int)json_array_size(shape);
        for (int i = 0; i < t->rank; i++) {
            uint64_t dim;
            if (!get_u64(json_array_get(shape, (size_t)i), &dim) || dim > (uint64_t)INT64_MAX) {
                err_at(e, name, "shape[%d] is not a non-negative integer", i);
                shape_ok = false;
                break;
            }
            t->shape[i] = (int64_t)dim;
            if (!llmc_mul_u64(numel, dim, &numel)) {
                err_at(e, name, "shape has more elements than fit in 64 bits");
                shape_ok = false;
                break;
            }
        }
    }
    bool offs_ok = false;
    if (!json_is_array(offs) || json_array_size(offs) != 2) {
        err_at(e, name, "data_offsets is missing or not a [begin, end] pair");
    } else if (!get_u64(json_array_get(offs, 0), &t->begin) || !get_u64(json_array_get(offs, 1), &t->end)) {
        err_at(e, name, "data_offsets must be non-negative integers");
    } else if (t->begin > t->end) {
        err_at(e, name, "data_offsets begin %llu is after end %llu", (unsigned long long)t->begin,
               (unsigned long long)t->end);
    } else if (t->end > data_len) {
        err_at(e, name, "data_offsets end %llu is past the data section (%llu bytes)", (unsigned long long)t->end,
               (unsigned long long)data_len);
    } else {
        offs_ok = true;
    }
    if (esize && shape_ok && offs_ok) {
        uint64_t bytes;
        if (!llmc_mul_u64(numel, esize, &bytes))
            err_at(e, name, "byte size of shape overflows 64 bits");
        else if (bytes != t->end - t->begin)
            err_at(e, name, "%s shape needs %llu bytes but data_offsets span %llu", t->dtype,
                   (unsigned long long)bytes, (unsigned long long)(t->end - t->begin));
    }
    if (e->n != before) *ok = false;
}

/* Merge sort of tensor indices by offsets or by name (qsort has no context argument, and
 * several threads may open files at once). */
static void msort(size_t *idx, size_t *tmp, size_t n, const llmc_st_tensor *t, int by_name) {
    if (n < 2) return;
    size_t h = n / 2;
    msort(idx, tmp, h, t, by_name);
    msort(idx + h, tmp, n - h, t, by_name);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        const llmc_st_tensor *x = &t[idx[i]], *y = &t[idx[j]];
        int c;
        if (by_name)
            c = strcmp(x->name, y->name);
        else
            c = x->begin != y->begin ? (x->begin < y->begin ? -1 : 1) : x->end != y->end ? (x->end < y->end ? -1 : 1) : 0;
        tmp[k++] = c <= 0 ? idx[i++] : idx[j++];
    }
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

/* The 8-byte little-endian header length at p, checked against a file of len bytes. */
static bool header_length(st_err *e, const uint8_t p[8], uint64_t len, uint64_t *out) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
    if (n > len - 8) {
        err_at(e, NULL, "header length %llu is past the end of the file (%llu bytes after the length field)",
               (unsigned long long)n, (unsigned long long)(len - 8));
        return false;
    }
    if (n > ST_MAX_HEADER) {
        err_at(e, NULL, "header length %llu exceeds the %u-byte limit", (unsigned long long)n, ST_MAX_HEADER);
        return false;
    }
    if (n < 2) {
        err_at(e, NULL, "header does not start with '{' (not a safetensors file?)");
        return false;
    }
    *out = n;
    return true;
}

/* Parse and validate the n-byte JSON header of a file whose data section has data_len bytes.
 * The caller points base, size, data (and map) at the bytes. */
static llmc_st_file *parse_header(st_err *e, const char *text, uint64_t n, uint64_t data_len, const char *name) {
    if (text[0] != '{') {
        err_at(e, NULL, "header does not start with '{' (not a safetensors file?)");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        err_at(e, NULL, "header is not valid JSON at byte %d: %s", jerr.position, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        err_at(e, NULL, "header is not a JSON object");
        json_decref(root);
        return NULL;
    }

    llmc_st_file *f = calloc(1, sizeof *f);
    if (!f) goto oom;
    f->name = llmc_strdup(name);
    f->data_len = data_len;
    size_t cap = json_object_size(root);
    f->tensors = calloc(cap ? cap : 1, sizeof *f->tensors);
    if (!f->name || !f->tensors) goto oom;

    bool ok = true;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                err_at(e, NULL, "__metadata__ is not an object of strings");
                ok = false;
                continue;
            }
            size_t m = json_object_size(val);
            f->meta = calloc(2 * m + 1, sizeof *f->meta);
            if (!f->meta) goto oom;
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    err_at(e, NULL, "__metadata__ value of '%s' is not a string (the format allows strings only)", mk);
                    ok = false;
                    continue;
                }
                f->meta[2 * f->n_meta] = llmc_strdup(mk);
                f->meta[2 * f->n_meta + 1] = llmc_strdup(json_string_value(mv));
                f->n_meta++;
                if (!f->meta[2 * f->n_meta - 2] || !f->meta[2 * f->n_meta - 1]) goto oom;
            }
            continue;
        }
        llmc_st_tensor *t = &f->tensors[f->n];
        t->name = llmc_strdup(key);
        if (!t->name) goto oom;
        f->n++;
        parse_entry(e, key, val, f->data_len, t, &ok);
    }
    json_decref(root);
    root = NULL;
    if (!ok) goto fail;

    /* the tensors must tile the data section: sort by offsets and walk */
    size_t *idx = malloc((f->n ? f->n : 1) * sizeof *idx), *tmp = malloc((f->n ? f->n : 1) * sizeof *tmp);
    if (!idx || !tmp) { free(idx); free(tmp); goto oom; }
    for (size_t i = 0; i < f->n; i++) idx[i] = i;
    msort(idx, tmp, f->n, f->tensors, 0);
    uint64_t expect = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const llmc_st_tensor *t = &f->tensors[idx[i]];
        if (t->begin < expect) {
            err_at(e, t->name, "data_offsets [%llu, %llu) overlap tensor '%s'", (unsigned long long)t->begin,
                   (unsigned long long)t->end, prev ? prev : "?");
        } else if (t->begin > expect) {
            err_at(e, t->name, "data_offsets begin at %llu, leaving a gap of %llu unused bytes before it",
                   (unsigned long long)t->begin, (unsigned long long)(t->begin - expect));
        }
        if (t->end > expect) { expect = t->end; prev = t->name; }
    }
    if (e->n == 0 && expect != f->data_len)
        err_at(e, NULL, "data section has %llu bytes but the tensors cover only %llu (trailing bytes)",
               (unsigned long long)f->data_len, (unsigned long long)expect);
    if (e->n) { free(idx); free(tmp); goto fail; }
    /* name index for llmc_st_find */
    for (size_t i = 0; i < f->n; i++) idx[i] = i;
    msort(idx, tmp, f->n, f->tensors, 1);
    free(tmp);
    f->by_name = idx;
    return f;

oom:
    err_at(e, NULL, "out of memory reading the header");
fail:
    json_decref(root);
    llmc_st_close(f); /* f->map is still NULL: the caller owns the bytes until we succeed */
    return NULL;
}

llmc_st_file *llmc_st_open_buffer(const void *data, size_t len, const char *name, llmc_diags *d) {
    if (!name) name = "<buffer>";
    st_err e = {d, name, 0};
    const uint8_t *p = data;
    if (len < 8) {
        err_at(&e, NULL, "not a safetensors file: %zu bytes, too short for the 8-byte header length", len);
        return NULL;
    }
    uint64_t n;
    if (!header_length(&e, p, len, &n)) return NULL;
    llmc_st_file *f = parse_header(&e, (const char *)p + 8, n, len - 8 - n, name);
    if (!f) return NULL;
    f->base = p;
    f->size = len;
    f->data = p + 8 + n;
    return f;
}

/* n bytes at off, all of them (false + errno; errno 0 when the file ended first) */
static bool pread_all(int fd, void *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = 0;
            return false;
        }
        got += (size_t)k;
    }
    return true;
}

static void read_failed(st_err *e, bool *io_error, const char *what) {
    if (errno)
        err_at(e, NULL, "cannot read the %s: %s", what, strerror(errno));
    else
        err_at(e, NULL, "cannot read the %s: the file shrank while it was read (truncated by another process?)",
               what);
    if (io_error) *io_error = true;
}

llmc_st_file *llmc_st_open_file(const char *path, bool *io_error, llmc_diags *d) {
    st_err e = {d, path, 0};
    if (io_error) *io_error = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block us */
    if (fd < 0) {
        err_at(&e, NULL, "cannot open: %s", strerror(errno));
        if (io_error) *io_error = true;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_at(&e, NULL, "cannot stat: %s", strerror(errno));
        if (io_error) *io_error = true;
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        err_at(&e, NULL, "not a regular file");
        if (io_error) *io_error = true;
        close(fd);
        return NULL;
    }
    if (st.st_size < 8) {
        err_at(&e, NULL, "not a safetensors file: %lld bytes, too short for the 8-byte header length",
               (long long)st.st_size);
        close(fd);
        return NULL;
    }
    /* the header through pread: a file that shrinks meanwhile reads short instead of faulting */
    uint64_t size = (uint64_t)st.st_size, n;
    uint8_t len8[8];
    char *text = NULL;
    llmc_st_file *f = NULL;
    if (!pread_all(fd, len8, 8, 0)) {
        read_failed(&e, io_error, "header length");
    } else if (header_length(&e, len8, size, &n)) {
        text = malloc((size_t)n);
        if (!text)
            err_at(&e, NULL, "out of memory for the %llu-byte header", (unsigned long long)n);
        else if (!pread_all(fd, text, (size_t)n, 8))
            read_failed(&e, io_error, "header");
        else
            f = parse_header(&e, text, n, size - 8 - n, path);
    }
    free(text);
    if (!f) {
        close(fd);
        return NULL;
    }
    void *map = size > (uint64_t)SIZE_MAX ? MAP_FAILED : mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int merr = size > (uint64_t)SIZE_MAX ? EFBIG : errno;
    close(fd);
    if (map == MAP_FAILED) {
        err_at(&e, NULL, "cannot map %llu bytes: %s", (unsigned long long)size, strerror(merr));
        if (io_error) *io_error = true;
        llmc_st_close(f);
        return NULL;
    }
    f->map = map;
    f->base = map;
    f->size = (size_t)size;
    f->data = f->base + 8 + n;
    return f;
}

llmc_st_file *llmc_st_open(const char *path, llmc_diags *d) { return llmc_st_open_file(path, NULL, d); }

void llmc_st_bytes(const llmc_st_file *f, const void **base, size_t *size) {
    *base = f ? f->base : NULL;
    *size = f ? f->size : 0;
}

const char *llmc_st_name(const llmc_st_file *f) { return f ? f->name : NULL; }

/* the copy, alone in its frame (nothing it changes is read after a fault's jump) */
static void copy_bytes(void *out, const uint8_t *from, size_t n) { memcpy(out, from, n); }

int llmc_st_read(const llmc_st_file *f, const llmc_st_tensor *t, uint64_t offset, size_t n, void *out,
                 llmc_diags *d) {
    uint64_t end;
    if (!f || !t || !out || !llmc_add_u64(offset, n, &end) || end > t->end - t->begin) {
        llmc_error(d, NULL, "safetensors: read of bytes [%llu, +%zu) outside tensor '%s'", (unsigned long long)offset,
                   n, t && t->name ? t->name : "?");
        return -1;
    }
    if (n == 0) return 0;
    if (llmc_map_guard_install() != 0) {
        llmc_error(d, NULL, "safetensors: cannot install the SIGBUS handler that guards mapped reads: %s",
                   strerror(errno));
        return -1;
    }
    llmc_map_guard g;
    if (sigsetjmp(g.jump, 0) != 0) {
        llmc_map_guard_leave(&g);
        llmc_st_report_fault(f, t, g.fault, d);
        return -1;
    }
    llmc_map_guard_enter(&g, f->base, f->size);
    copy_bytes(out, f->data + t->begin + offset, n);
    llmc_map_guard_leave(&g);
    return 0;
}

void llmc_st_report_fault(const llmc_st_file *f, const llmc_st_tensor *t, uintptr_t fault, llmc_diags *d) {
    unsigned long long at = (unsigned long long)(fault - (uintptr_t)f->base);
    struct stat st;
    char now[64] = "";
    if (stat(f->name, &st) == 0) snprintf(now, sizeof now, "; it now has %lld", (long long)st.st_size);
    char *key = llmc_asprintf("tensor '%s'", t ? t->name : "?");
    llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){f->name, 0, 0}, key,
                  "cannot read byte %llu of the file: it shrank while it was being read (it had %zu bytes%s; "
                  "truncated or rewritten in place by another process?)",
                  at, f->size, now);
    free(key);
}

size_t llmc_st_num_tensors(const llmc_st_file *f) { return f ? f->n : 0; }

const llmc_st_tensor *llmc_st_tensor_at(const llmc_st_file *f, size_t i) {
    return f && i < f->n ? &f->tensors[i] : NULL;
}

const llmc_st_tensor *llmc_st_find(const llmc_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[f->by_name[mid]].name, name);
        if (c == 0) return &f->tensors[f->by_name[mid]];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

const void *llmc_st_data(const llmc_st_file *f, const llmc_st_tensor *t) {
    if (!f || !t) return NULL;
    return f->data + t->begin;
}

const char *llmc_st_metadata(const llmc_st_file *f, const char *key) {
    if (!f || !key) return NULL;
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
    return NULL;
}
