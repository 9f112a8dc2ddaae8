/* The checkpoint weight source: a safetensors file, or a sharded checkpoint described by a
 * "*.safetensors.index.json" ({"metadata": {"total_size": N}, "weight_map": {tensor: shard}}),
 * read back through a storage layout (the inverse of what the emitters write).
 *
 * Opening validates everything up front: each shard as untrusted safetensors
 * (safetensors_read.c), the index against its shards, and the stored tensors against the
 * layout, listing every missing, unexpected, mis-shaped and unreadable tensor in one error.
 * After that, reads only index into validated mappings, under a SIGBUS guard (map_guard.h): a
 * file truncated while it is read fails the read with an I/O error naming the file and the
 * tensor. Every value read is checked for NaN/Inf in the same pass that converts it (unless
 * allow_nonfinite); the first one fails the read, naming the file, tensor and element. */
#include <errno.h>
#include <math.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/strbuf.h"
#include "map_guard.h"
#include "util.h"
#include "weights_internal.h"

#define INDEX_MAX_BYTES (100u * 1024u * 1024u)

static const char *fmt_shape(int rank, const int64_t *shape, char *buf, size_t n) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* ---- stored values ------------------------------------------------------------------------------------ */

static int st_float_kind(const char *dtype, llmc_st_float *out) {
    if (!strcmp(dtype, "F32")) *out = LLMC_ST_F32;
    else if (!strcmp(dtype, "F16")) *out = LLMC_ST_F16;
    else if (!strcmp(dtype, "BF16")) *out = LLMC_ST_BF16;
    else if (!strcmp(dtype, "F64")) *out = LLMC_ST_F64;
    else return -1;
    return 0;
}

static size_t st_float_size(llmc_st_float st) { return st == LLMC_ST_F64 ? 8 : st == LLMC_ST_F32 ? 4 : 2; }

/* Stored elements [i0, i0 + n) as f32 (memcpy: the data may be unaligned). With check, the
 * values are tested for NaN/Inf block by block while they are still in cache; returns the offset
 * (in [0, n)) of the first non-finite one, or n when there is none (or no check). */
#define BLOCK 4096
static uint64_t decode(llmc_st_float st, const uint8_t *data, uint64_t i0, uint64_t n, float *out, bool check) {
    for (uint64_t b = 0; b < n; b += BLOCK) {
        size_t m = n - b < BLOCK ? (size_t)(n - b) : BLOCK;
        float *o = out + b;
        uint64_t first = i0 + b;
        switch (st) {
        case LLMC_ST_F32:
            memcpy(o, data + 4 * first, m * 4);
            break;
        case LLMC_ST_F16:
            llmc_convert_to_f32(data + 2 * first, m, LLMC_DTYPE_F16, o);
            break;
        case LLMC_ST_BF16:
            llmc_convert_to_f32(data + 2 * first, m, LLMC_DTYPE_BF16, o);
            break;
        case LLMC_ST_F64:
            for (size_t i = 0; i < m; i++) {
                double x;
                memcpy(&x, data + 8 * (first + i), 8);
                o[i] = (float)x; /* a finite double beyond float's range becomes inf: caught below */
            }
            break;
        }
        if (check) {
            size_t bad = llmc_first_nonfinite_f32(o, m);
            if (bad < m) return b + bad;
        }
    }
    return n;
}

static float decode_one(llmc_st_float st, const uint8_t *data, uint64_t i) {
    float f;
    decode(st, data, i, 1, &f, false);
    return f;
}

/* ---- reads ---------------------------------------------------------------------------------------------- */

/* A non-finite value met by a read: its stored element index and the value. */
typedef struct nonfinite {
    uint64_t index;
    float value;
} nonfinite;

/* Elements [off, off + count) of parameter t (at L) as f32, reading the mapping: the part of
 * llmc_ckpt_param_f32 that runs under the SIGBUS guard. 0, or 1 with *bad set. */
static int param_body(const llmc_weight_source *ws, const llmc_ckpt_loc *L, llmc_tid t, uint64_t off, uint64_t count,
                      float *out, nonfinite *bad) {
    const bool check = !ws->allow_nonfinite;
    const llmc_tensor_info *ti = llmc_ir_tensor(ws->ir, t);
    uint64_t numel;
    llmc_tensor_numel(ti, &numel);
    uint64_t C = numel / (uint64_t)ti->shape[0]; /* elements per row */
    uint64_t base = L->row0 * C;                 /* first element of this part in the concatenation */
    switch (L->view->transform) {
    case LLMC_VIEW_IDENTITY: {
        uint64_t k = decode(L->st, L->data, base + off, count, out, check);
        if (k == count) return 0;
        *bad = (nonfinite){base + off + k, out[k]};
        return 1;
    }
    case LLMC_VIEW_TRANSPOSE: {
        /* concat [R, C] is stored [C, R]: concat (r, c) is stored element c * R + r */
        uint64_t R = (uint64_t)L->view->shape[1];
        for (uint64_t k = 0; k < count; k++) {
            uint64_t e = off + k, r = L->row0 + e / C, c = e % C;
            out[k] = decode_one(L->st, L->data, c * R + r);
            if (check && !isfinite(out[k])) {
                *bad = (nonfinite){c * R + r, out[k]};
                return 1;
            }
        }
        return 0;
    }
    case LLMC_VIEW_EXPERT: { /* one expert's slice: the caller passes offsets within it */
        uint64_t k = decode(L->st, L->data, off, count, out, check);
        if (k == count) return 0;
        *bad = (nonfinite){off + k, out[k]};
        return 1;
    }
    case LLMC_VIEW_ROPE_PERMUTE: {
        /* concat row h*hd + j*hd/2 + i is stored row h*hd + 2i + j */
        uint64_t hd = (uint64_t)(L->view->shape[0] / L->view->n_head);
        uint64_t e = off, end = off + count;
        while (e < end) {
            uint64_t row = L->row0 + e / C, col = e % C;
            uint64_t stop = (e / C + 1) * C < end ? (e / C + 1) * C : end;
            uint64_t h = row / hd, q = row % hd, j = q / (hd / 2), i = q % (hd / 2);
            uint64_t srow = h * hd + 2 * i + j;
            uint64_t k = decode(L->st, L->data, srow * C + col, stop - e, out, check);
            if (k < stop - e) {
                *bad = (nonfinite){srow * C + col + k, out[k]};
                return 1;
            }
            out += stop - e;
            e = stop;
        }
        return 0;
    }
    }
    return 0;
}

/* Has a read of ws failed before? Then this one fails too, silently (the first said why). */
static bool source_failed(const llmc_weight_source *ws) { return __atomic_load_n(&ws->failure, __ATOMIC_ACQUIRE) != 0; }

/* Record the first failure of ws; true if this is it (and should be reported). */
static bool first_failure(const llmc_weight_source *ws, llmc_weights_error kind) {
    int none = 0;
    return __atomic_compare_exchange_n((int *)&ws->failure, &none, (int)kind, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

static void report_nonfinite(const llmc_weight_source *ws, const llmc_ckpt_loc *L, const nonfinite *bad,
                             llmc_diags *d) {
    if (!first_failure(ws, LLMC_WEIGHTS_BAD_DATA)) return;
    /* the element's index in the stored shape, e.g. [3, 17] */
    char idx[160];
    int64_t rest = (int64_t)bad->index, coord[8] = {0};
    for (int k = L->t->rank - 1; k >= 0; k--) {
        int64_t dim = L->t->shape[k] > 0 ? L->t->shape[k] : 1;
        coord[k] = rest % dim;
        rest /= dim;
    }
    fmt_shape(L->t->rank, coord, idx, sizeof idx);
    const char *what = isnan(bad->value) ? "NaN" : bad->value > 0 ? "+Inf" : "-Inf";
    if (L->st == LLMC_ST_F64 && !isnan(bad->value)) what = "infinite or beyond float32's range";
    char *key = llmc_asprintf("tensor '%s'", L->t->name);
    llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){llmc_st_name(L->f), 0, 0}, key,
                  "element %s (flat index %llu) is %s: the checkpoint holds non-finite weights (llmc compile "
                  "--allow-nonfinite imports them as they are)",
                  idx, (unsigned long long)bad->index, what);
    free(key);
}

static void report_fault(const llmc_weight_source *ws, const llmc_ckpt_loc *L, uintptr_t fault, llmc_diags *d) {
    if (first_failure(ws, LLMC_WEIGHTS_IO_ERROR)) llmc_st_report_fault(L->f, L->t, fault, d);
}

/* What a guarded read does: param_body or view_body with their arguments. */
typedef struct guarded_read {
    llmc_tid t;                 /* param_body */
    llmc_dtype dt;              /* view_body */
    uint64_t off, count;
    void *out;
    bool view;
} guarded_read;

static int view_body(const llmc_weight_source *ws, const llmc_ckpt_loc *L, uint64_t off, uint64_t count,
                     llmc_dtype dt, void *out, nonfinite *bad);

/* Run one read of L's mapped file under the SIGBUS guard (a checkpoint truncated underneath gives an
 * I/O error, not a crash) and report what it found: 0, or -1 with the error in d. */
static int read_guarded(const llmc_weight_source *ws, const llmc_ckpt_loc *L, const guarded_read *r, llmc_diags *d) {
    const void *mapped;
    size_t mapped_size;
    llmc_st_bytes(L->f, &mapped, &mapped_size);
    nonfinite bad;
    llmc_map_guard g;
    if (sigsetjmp(g.jump, 0) != 0) {
        llmc_map_guard_leave(&g);
        report_fault(ws, L, g.fault, d);
        return -1;
    }
    llmc_map_guard_enter(&g, mapped, mapped_size);
    int found = r->view ? view_body(ws, L, r->off, r->count, r->dt, r->out, &bad)
                        : param_body(ws, L, r->t, r->off, r->count, r->out, &bad);
    llmc_map_guard_leave(&g);
    if (found) {
        report_nonfinite(ws, L, &bad, d);
        return -1;
    }
    return 0;
}

int llmc_ckpt_param_f32(const llmc_weight_source *ws, llmc_tid t, uint64_t off, uint64_t count, float *out,
                        llmc_diags *d) {
    if (source_failed(ws)) return -1;
    const llmc_ckpt_loc *L = &ws->loc[t];
    if (!L->view) {
        llmc_error(d, NULL, "weights: parameter '%s' is not in the checkpoint", llmc_ir_tensor(ws->ir, t)->name);
        return -1;
    }
    if (ws->expert_loc && ws->expert_loc[t]) { /* a stack read expert by expert */
        const llmc_tensor_info *ti = llmc_ir_tensor(ws->ir, t);
        uint64_t numel;
        llmc_tensor_numel(ti, &numel);
        uint64_t per = numel / (uint64_t)ti->shape[0];
        while (count > 0) {
            uint64_t e = off / per, in = off % per, n = per - in < count ? per - in : count;
            guarded_read r = {.t = t, .off = in, .count = n, .out = out};
            if (read_guarded(ws, &ws->expert_loc[t][e], &r, d)) return -1;
            off += n;
            count -= n;
            out += n;
        }
        return 0;
    }
    guarded_read r = {.t = t, .off = off, .count = count, .out = out};
    return read_guarded(ws, L, &r, d);
}

static bool same_view(const llmc_tensor_view *a, const llmc_tensor_view *b) {
    if (strncmp(a->name, b->name, LLMC_VIEW_NAME_MAX) || a->n_parts != b->n_parts || a->transform != b->transform ||
        a->rank != b->rank)
        return false;
    if (a->transform == LLMC_VIEW_ROPE_PERMUTE && a->n_head != b->n_head) return false;
    if (a->transform == LLMC_VIEW_EXPERT && a->index != b->index) return false;
    for (int i = 0; i < a->n_parts; i++)
        if (a->parts[i] != b->parts[i]) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* Stored elements [off, off + count) of L's tensor as dt: the part of llmc_ckpt_view_direct that
 * runs under the SIGBUS guard. 0, or 1 with *bad set. */
static int view_body(const llmc_weight_source *ws, const llmc_ckpt_loc *L, uint64_t off, uint64_t count,
                     llmc_dtype dt, void *out, nonfinite *bad) {
    const bool check = !ws->allow_nonfinite;
    if ((dt == LLMC_DTYPE_F32 && L->st == LLMC_ST_F32) || (dt == LLMC_DTYPE_F16 && L->st == LLMC_ST_F16) ||
        (dt == LLMC_DTYPE_BF16 && L->st == LLMC_ST_BF16)) {
        /* bit-exact copy (NaN payloads included), checked block by block while in cache */
        size_t es = st_float_size(L->st);
        for (uint64_t b = 0; b < count; b += BLOCK) {
            size_t m = count - b < BLOCK ? (size_t)(count - b) : BLOCK;
            char *o = (char *)out + b * es;
            memcpy(o, L->data + (off + b) * es, m * es);
            if (!check) continue;
            size_t k = L->st == LLMC_ST_F32    ? llmc_first_nonfinite_f32(o, m)
                       : L->st == LLMC_ST_F16 ? llmc_first_nonfinite_f16(o, m)
                                              : llmc_first_nonfinite_bf16(o, m);
            if (k < m) {
                *bad = (nonfinite){off + b + k, decode_one(L->st, L->data, off + b + k)};
                return 1;
            }
        }
        return 0;
    }
    float buf[BLOCK];
    size_t es = llmc_dtype_size(dt);
    for (uint64_t i = 0; i < count; i += BLOCK) {
        size_t n = count - i < BLOCK ? (size_t)(count - i) : BLOCK;
        uint64_t k = decode(L->st, L->data, off + i, n, buf, check);
        if (k < n) {
            *bad = (nonfinite){off + i + k, buf[k]};
            return 1;
        }
        llmc_convert_from_f32(buf, n, dt, (char *)out + i * es);
    }
    return 0;
}

int llmc_ckpt_view_direct(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t off, uint64_t count,
                          llmc_dtype dt, void *out, llmc_diags *d) {
    long k = llmc_layout_find(ws->layout, v->name);
    if (k < 0 || !same_view(&ws->layout->views[k], v)) return 0;
    if (source_failed(ws)) return -1;
    guarded_read r = {.dt = dt, .off = off, .count = count, .out = out, .view = true};
    const llmc_ckpt_loc *L = v->transform == LLMC_VIEW_EXPERT && ws->expert_loc && ws->expert_loc[v->parts[0]]
                                 ? &ws->expert_loc[v->parts[0]][v->index]
                                 : &ws->loc[v->parts[0]];
    return read_guarded(ws, L, &r, d) == 0 ? 1 : -1;
}

llmc_weights_error llmc_weights_failure(const llmc_weight_source *ws) {
    return ws ? (llmc_weights_error)__atomic_load_n(&ws->failure, __ATOMIC_ACQUIRE) : LLMC_WEIGHTS_OK;
}

void llmc_ckpt_free(llmc_weight_source *ws) {
    for (size_t i = 0; i < ws->n_files; i++) llmc_st_close(ws->files[i]);
    free(ws->files);
    free(ws->loc);
    if (ws->expert_loc)
        for (size_t i = 0; i < llmc_ir_num_tensors(ws->ir); i++) free(ws->expert_loc[i]);
    free(ws->expert_loc);
    ws->expert_loc = NULL;
    ws->files = NULL;
    ws->loc = NULL;
    ws->n_files = 0;
}

/* ---- the stored tensor set ---------------------------------------------------------------------------------- */

typedef struct stored {
    const char *name;
    const llmc_st_tensor *t;
    const llmc_st_file *f;
    bool used;
} stored;

static int cmp_stored(const void *a, const void *b) { return strcmp(((const stored *)a)->name, ((const stored *)b)->name); }

static stored *find_stored(stored *s, size_t n, const char *name) {
    stored key = {name, NULL, NULL, false};
    return n ? bsearch(&key, s, n, sizeof *s, cmp_stored) : NULL;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool shard_name_ok(const char *s) {
    return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '\\') && strlen(s) < 1024;
}

/* Open the shards an index names and list (tensor, shard) pairs. */
static int open_index(llmc_weight_source *ws, const char *path, stored **out, size_t *n_out, bool *io_error,
                      llmc_diags *d) {
    llmc_loc at = {path, 0, 0};
    size_t len;
    char *text = llmc_read_file(path, INDEX_MAX_BYTES, &len);
    if (!text) {
        llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "cannot read checkpoint index: %s",
                      errno == EFBIG ? "larger than 100 MB" : strerror(errno));
        *io_error = errno != EFBIG;
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){path, jerr.line, jerr.column}, NULL,
                      "checkpoint index is not valid JSON: %s", jerr.text);
        return -1;
    }
    int rc = -1;
    json_t *wm = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    if (!json_is_object(wm)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL,
                      "checkpoint index has no \"weight_map\" object (expected {\"weight_map\": {tensor: shard file}})");
        goto done;
    }
    /* directory of the index: shards live next to it */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = json_object_size(wm), n_bad = 0;
    stored *s = calloc(n ? n : 1, sizeof *s);
    ws->files = calloc(n ? n : 1, sizeof *ws->files);           /* NULL where a shard failed to open */
    char **file_names = calloc(n ? n : 1, sizeof *file_names);
    if (!s || !ws->files || !file_names) {
        llmc_error(d, NULL, "out of memory reading the checkpoint index");
        *io_error = true;
        free(s);
        free(file_names);
        goto done;
    }
    size_t k = 0;
    const char *name;
    json_t *v;
    json_object_foreach(wm, name, v) {
        const char *shard = json_is_string(v) ? json_string_value(v) : NULL;
        if (!shard || !shard_name_ok(shard)) {
            llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL,
                          "weight_map entry '%s' must name a shard file in the index's directory (got %s)", name,
                          shard ? "a path" : "a non-string");
            n_bad++;
            continue;
        }
        /* open each distinct shard once */
        size_t fi;
        for (fi = 0; fi < ws->n_files; fi++)
            if (!strcmp(file_names[fi], shard)) break;
        if (fi == ws->n_files) {
            char *full = llmc_asprintf("%.*s%s", (int)dir_len, path, shard);
            file_names[fi] = llmc_strdup(shard);
            bool shard_io = false;
            ws->files[fi] = full && file_names[fi] ? llmc_st_open_file(full, &shard_io, d) : NULL;
            ws->n_files++;
            if (shard_io) *io_error = true;
            if (!full || !file_names[fi]) {
                llmc_error(d, NULL, "out of memory reading the checkpoint index");
                *io_error = true;
            }
            free(full);
            if (!ws->files[fi]) n_bad++;
        }
        if (!ws->files[fi]) continue; /* already reported */
        const llmc_st_tensor *t = llmc_st_find(ws->files[fi], name);
        if (!t) {
            llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "weight_map puts tensor '%s' in '%s', which does not contain it",
                          name, shard);
            n_bad++;
            continue;
        }
        s[k] = (stored){t->name, t, ws->files[fi], false};
        k++;
    }
    /* every tensor of every shard must be in the map, pointing at that shard */
    for (size_t fi = 0; fi < ws->n_files; fi++) {
        for (size_t i = 0; ws->files[fi] && i < llmc_st_num_tensors(ws->files[fi]); i++) {
            const llmc_st_tensor *t = llmc_st_tensor_at(ws->files[fi], i);
            json_t *e = json_object_get(wm, t->name);
            if (!e || !json_is_string(e) || strcmp(json_string_value(e), file_names[fi])) {
                llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL,
                              "shard '%s' holds tensor '%s', which weight_map does not assign to it", file_names[fi],
                              t->name);
                n_bad++;
            }
        }
    }
    for (size_t fi = 0; fi < ws->n_files; fi++) free(file_names[fi]);
    free(file_names);
    if (n_bad) {
        free(s);
        goto done;
    }
    *out = s;
    *n_out = k;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* 1 when stored tensor a holds exactly b's dtype, shape and bytes; 0 when not; -1 when reading failed */
static int tied_copy(const stored *a, const stored *b, llmc_diags *d) {
    if (strcmp(a->t->dtype, b->t->dtype) != 0 || a->t->rank != b->t->rank) return 0;
    for (int k = 0; k < a->t->rank; k++)
        if (a->t->shape[k] != b->t->shape[k]) return 0;
    const uint64_t size = a->t->end - a->t->begin;
    if (size != b->t->end - b->t->begin) return 0;
    enum { CHUNK = 1 << 20 };
    unsigned char *x = malloc(CHUNK), *y = malloc(CHUNK);
    int rc = x && y ? 1 : -1;
    if (rc < 0) llmc_error(d, NULL, "out of memory comparing '%s' with '%s'", a->name, b->name);
    for (uint64_t off = 0; rc == 1 && off < size; off += CHUNK) {
        size_t len = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        if (llmc_st_read(a->f, a->t, off, len, x, d) != 0 || llmc_st_read(b->f, b->t, off, len, y, d) != 0) rc = -1;
        else if (memcmp(x, y, len) != 0) rc = 0;
    }
    free(x);
    free(y);
    return rc;
}

llmc_checkpoint_params llmc_checkpoint_default_params(void) {
    llmc_checkpoint_params p;
    memset(&p, 0, sizeof p);
    return p;
}

llmc_weight_source *llmc_weights_open_checkpoint(const char *path, const llmc_ir *ir, const llmc_layout *layout,
                                                  llmc_diags *d) {
    return llmc_weights_open_checkpoint_with(path, ir, layout, NULL, NULL, d);
}

llmc_weight_source *llmc_weights_open_checkpoint_with(const char *path, const llmc_ir *ir, const llmc_layout *layout,
                                                       const llmc_checkpoint_params *p, llmc_weights_error *why,
                                                       llmc_diags *d) {
    llmc_weights_error dummy;
    if (!why) why = &dummy;
    *why = LLMC_WEIGHTS_IO_ERROR; /* until the files are open */
    if (!path || !ir || !layout) {
        llmc_error(d, NULL, "weights: opening a checkpoint needs a path, an IR and a layout");
        return NULL;
    }
    llmc_loc at = {path, 0, 0};
    llmc_weight_source *ws = calloc(1, sizeof *ws);
    if (!ws || !(ws->path = llmc_strdup(path)) || !(ws->loc = calloc(llmc_ir_num_tensors(ir) + 1, sizeof *ws->loc))) {
        llmc_error(d, NULL, "out of memory opening checkpoint '%s'", path);
        llmc_weights_free(ws);
        return NULL;
    }
    ws->kind = LLMC_WEIGHTS_CHECKPOINT;
    ws->ir = ir;
    ws->layout = layout;
    ws->allow_nonfinite = p && p->allow_nonfinite;
    /* reads run under SIGBUS guards (the files may shrink while they are read) */
    if (llmc_map_guard_install() != 0) {
        llmc_error(d, NULL, "cannot install the SIGBUS handler that guards reads of checkpoint '%s': %s", path,
                   strerror(errno));
        llmc_weights_free(ws);
        return NULL;
    }

    stored *s = NULL;
    size_t n = 0;
    bool io_error = false;
    if (ends_with(path, ".json")) {
        if (open_index(ws, path, &s, &n, &io_error, d)) {
            if (!io_error) *why = LLMC_WEIGHTS_BAD_DATA;
            goto fail;
        }
    } else {
        ws->files = calloc(1, sizeof *ws->files);
        if (!ws->files) goto fail;
        if (!(ws->files[0] = llmc_st_open_file(path, &io_error, d))) {
            if (!io_error) *why = LLMC_WEIGHTS_BAD_DATA;
            goto fail;
        }
        ws->n_files = 1;
        n = llmc_st_num_tensors(ws->files[0]);
        s = calloc(n ? n : 1, sizeof *s);
        if (!s) goto fail;
        for (size_t i = 0; i < n; i++) {
            const llmc_st_tensor *t = llmc_st_tensor_at(ws->files[0], i);
            s[i] = (stored){t->name, t, ws->files[0], false};
        }
    }
    qsort(s, n, sizeof *s, cmp_stored);

    /* match against the layout; collect every problem, report once */
    llmc_strbuf missing = LLMC_STRBUF_INIT, shaped = LLMC_STRBUF_INIT, dtyped = LLMC_STRBUF_INIT, unexpected = LLMC_STRBUF_INIT;
    size_t n_missing = 0, n_shaped = 0, n_dtyped = 0, n_unexpected = 0;
    for (size_t i = 0; i < layout->n_views; i++) {
        const llmc_tensor_view *v = &layout->views[i];
        stored *e = find_stored(s, n, v->name);
        if (!e) {
            llmc_strbuf_printf(&missing, "%s%s", n_missing++ ? ", " : "", v->name);
            continue;
        }
        e->used = true;
        bool same = e->t->rank == v->rank;
        for (int k = 0; same && k < v->rank; k++) same = e->t->shape[k] == v->shape[k];
        if (!same) {
            char a[160], b[160];
            llmc_strbuf_printf(&shaped, "%s%s (expected %s, got %s)", n_shaped++ ? ", " : "", v->name,
                      fmt_shape(v->rank, v->shape, a, sizeof a), fmt_shape(e->t->rank, e->t->shape, b, sizeof b));
            continue;
        }
        llmc_st_float st;
        if (st_float_kind(e->t->dtype, &st)) {
            llmc_strbuf_printf(&dtyped, "%s%s (%s)", n_dtyped++ ? ", " : "", v->name, e->t->dtype);
            continue;
        }
        if (v->transform == LLMC_VIEW_EXPERT) { /* expert `index` of a stack: one location of E */
            llmc_tid t = v->parts[0];
            const llmc_tensor_info *ti = llmc_ir_tensor(ir, t);
            if (!ws->expert_loc && !(ws->expert_loc = calloc(llmc_ir_num_tensors(ir) + 1, sizeof *ws->expert_loc)))
                io_error = true;
            else if (!ws->expert_loc[t] && !(ws->expert_loc[t] = calloc((size_t)ti->shape[0], sizeof **ws->expert_loc)))
                io_error = true;
            if (io_error) {
                llmc_error(d, NULL, "out of memory opening checkpoint '%s'", path);
                break;
            }
            ws->expert_loc[t][v->index] = (llmc_ckpt_loc){v, e->f, e->t, llmc_st_data(e->f, e->t), st, 0};
            ws->loc[t].view = v; /* marks the parameter as stored */
            continue;
        }
        /* every part of the view now reads from this tensor */
        uint64_t row0 = 0;
        for (int k = 0; k < v->n_parts; k++) {
            llmc_ckpt_loc *L = &ws->loc[v->parts[k]];
            L->view = v;
            L->f = e->f;
            L->t = e->t;
            L->data = llmc_st_data(e->f, e->t);
            L->st = st;
            L->row0 = row0;
            row0 += (uint64_t)llmc_ir_tensor(ir, v->parts[k])->shape[0];
        }
    }
    /* a tensor no view reads may be a stored copy of the tied token embedding (T5's
     * encoder/decoder embed_tokens beside shared.weight, a tied lm_head.weight): accepted when it is
     * byte for byte the tensor the embedding view reads, listed in a note */
    const stored *embed = NULL;
    for (size_t i = 0; i < layout->n_views && !embed && !io_error; i++) {
        const llmc_tensor_view *v = &layout->views[i];
        if (v->n_parts >= 1 && llmc_ir_tensor(ir, v->parts[0])->role == LLMC_ROLE_TOKEN_EMBEDDING)
            embed = find_stored(s, n, v->name);
    }
    llmc_strbuf copies = LLMC_STRBUF_INIT;
    for (size_t i = 0; embed && i < n; i++) {
        if (s[i].used) continue;
        int same = tied_copy(&s[i], embed, d);
        if (same < 0) {
            io_error = true;
            break;
        }
        if (same) {
            s[i].used = true;
            llmc_strbuf_printf(&copies, "%s%s", copies.n ? ", " : "", s[i].name);
        }
    }
    if (io_error) {
        free(copies.s);
        free(missing.s);
        free(shaped.s);
        free(dtyped.s);
        goto fail;
    }
    if (copies.n)
        llmc_diag_add(d, LLMC_SEV_NOTE, at, NULL, "%s: stored copies of the tied embedding '%s', read as it", copies.s,
                      embed->name);
    free(copies.s);
    bool head_unexpected = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i].used) continue;
        llmc_strbuf_printf(&unexpected, "%s%s", n_unexpected++ ? ", " : "", s[i].name);
        if (!strcmp(s[i].name, "lm_head.weight")) head_unexpected = true;
    }
    int bad = n_missing || n_shaped || n_dtyped || n_unexpected;
    if (bad) {
        llmc_strbuf m = LLMC_STRBUF_INIT;
        llmc_strbuf_printf(&m, "checkpoint does not match the model (layout %s):", layout->family);
        if (n_missing) llmc_strbuf_printf(&m, " %zu missing: %s;", n_missing, missing.s);
        if (n_unexpected) llmc_strbuf_printf(&m, " %zu unexpected: %s;", n_unexpected, unexpected.s);
        if (n_shaped) llmc_strbuf_printf(&m, " %zu mis-shaped: %s;", n_shaped, shaped.s);
        if (n_dtyped) llmc_strbuf_printf(&m, " %zu in a dtype llmc does not read (F32, F16, BF16, F64 are read): %s;",
                                n_dtyped, dtyped.s);
        if (m.oom || missing.oom || unexpected.oom || shaped.oom || dtyped.oom)
            llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "checkpoint does not match the model (out of memory listing how)");
        else {
            m.s[m.n - 1] = '\0'; /* drop the last ';' */
            llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "%s", m.s);
        }
        if (head_unexpected && llmc_layout_find(layout, "lm_head.weight") < 0)
            llmc_diag_add(d, LLMC_SEV_NOTE, at, NULL,
                          "the checkpoint has an untied lm_head.weight; the spec ties it to the embedding "
                          "(set tie_word_embeddings: false to import it)");
        free(m.s);
    }
    free(missing.s);
    free(shaped.s);
    free(dtyped.s);
    free(unexpected.s);
    free(s);
    if (bad) {
        *why = LLMC_WEIGHTS_BAD_DATA;
        llmc_weights_free(ws);
        return NULL;
    }
    *why = LLMC_WEIGHTS_OK;
    return ws;
fail:
    free(s);
    llmc_weights_free(ws);
    return NULL;
}
