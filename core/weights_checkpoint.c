/* The checkpoint weight source: a safetensors file, or a sharded checkpoint described by a
 * "*.safetensors.index.json" ({"metadata": {"total_size": N}, "weight_map": {tensor: shard}}),
 * read back through a storage layout (the inverse of what the emitters write).
 *
 * Opening validates everything up front: each shard as untrusted safetensors
 * (safetensors_read.c), the index against its shards, and the stored tensors against the
 * layout, listing every missing, unexpected, mis-shaped and unreadable tensor in one error.
 * After that, reads cannot fail on the data: they only index into validated mappings. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "weights_internal.h"

#define INDEX_MAX_BYTES (100u * 1024u * 1024u)

/* ---- a growable message ---------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void LLMC_PRINTF(2, 3) sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    char *s = llmc_vasprintf(fmt, ap);
    va_end(ap);
    size_t k = s ? strlen(s) : 0;
    if (s && b->n + k + 1 > b->cap) {
        size_t cap = (b->n + k + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p) { b->p = p; b->cap = cap; } else { free(s); s = NULL; }
    }
    if (!s) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->n, s, k + 1);
    b->n += k;
    free(s);
}

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

/* stored elements [i0, i0 + n) as f32 (memcpy per element: the data may be unaligned) */
static void decode(llmc_st_float st, const uint8_t *data, uint64_t i0, uint64_t n, float *out) {
    switch (st) {
    case LLMC_ST_F32:
        memcpy(out, data + 4 * i0, (size_t)n * 4);
        break;
    case LLMC_ST_F16:
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, data + 2 * (i0 + i), 2);
            out[i] = llmc_f16_to_f32(h);
        }
        break;
    case LLMC_ST_BF16:
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, data + 2 * (i0 + i), 2);
            out[i] = llmc_bf16_to_f32(h);
        }
        break;
    case LLMC_ST_F64:
        for (uint64_t i = 0; i < n; i++) {
            double x;
            memcpy(&x, data + 8 * (i0 + i), 8);
            out[i] = (float)x;
        }
        break;
    }
}

static float decode_one(llmc_st_float st, const uint8_t *data, uint64_t i) {
    float f;
    decode(st, data, i, 1, &f);
    return f;
}

/* ---- reads ---------------------------------------------------------------------------------------------- */

int llmc_ckpt_param_f32(const llmc_weight_source *ws, llmc_tid t, uint64_t off, uint64_t count, float *out,
                        llmc_diags *d) {
    const llmc_ckpt_loc *L = &ws->loc[t];
    if (!L->view) {
        llmc_error(d, NULL, "weights: parameter '%s' is not in the checkpoint", llmc_ir_tensor(ws->ir, t)->name);
        return -1;
    }
    const llmc_tensor_info *ti = llmc_ir_tensor(ws->ir, t);
    uint64_t numel;
    llmc_tensor_numel(ti, &numel);
    uint64_t C = numel / (uint64_t)ti->shape[0]; /* elements per row */
    uint64_t base = L->row0 * C;                 /* first element of this part in the concatenation */
    switch (L->view->transform) {
    case LLMC_VIEW_IDENTITY:
        decode(L->st, L->data, base + off, count, out);
        return 0;
    case LLMC_VIEW_TRANSPOSE: {
        /* concat [R, C] is stored [C, R]: concat (r, c) is stored element c * R + r */
        uint64_t R = (uint64_t)L->view->shape[1];
        for (uint64_t k = 0; k < count; k++) {
            uint64_t e = off + k, r = L->row0 + e / C, c = e % C;
            out[k] = decode_one(L->st, L->data, c * R + r);
        }
        return 0;
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
            decode(L->st, L->data, srow * C + col, stop - e, out);
            out += stop - e;
            e = stop;
        }
        return 0;
    }
    }
    llmc_error(d, NULL, "weights: unknown view transform %d", (int)L->view->transform);
    return -1;
}

static bool same_view(const llmc_tensor_view *a, const llmc_tensor_view *b) {
    if (strncmp(a->name, b->name, LLMC_VIEW_NAME_MAX) || a->n_parts != b->n_parts || a->transform != b->transform ||
        a->rank != b->rank)
        return false;
    if (a->transform == LLMC_VIEW_ROPE_PERMUTE && a->n_head != b->n_head) return false;
    for (int i = 0; i < a->n_parts; i++)
        if (a->parts[i] != b->parts[i]) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

int llmc_ckpt_view_direct(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t off, uint64_t count,
                          llmc_dtype dt, void *out) {
    long k = llmc_layout_find(ws->layout, v->name);
    if (k < 0 || !same_view(&ws->layout->views[k], v)) return 0;
    const llmc_ckpt_loc *L = &ws->loc[v->parts[0]];
    if ((dt == LLMC_DTYPE_F32 && L->st == LLMC_ST_F32) || (dt == LLMC_DTYPE_F16 && L->st == LLMC_ST_F16) ||
        (dt == LLMC_DTYPE_BF16 && L->st == LLMC_ST_BF16)) {
        size_t es = st_float_size(L->st);
        memcpy(out, L->data + off * es, (size_t)count * es); /* bit-exact, NaN payloads included */
        return 1;
    }
    float buf[4096];
    size_t es = llmc_dtype_size(dt);
    for (uint64_t i = 0; i < count; i += 4096) {
        size_t n = count - i < 4096 ? (size_t)(count - i) : 4096;
        decode(L->st, L->data, off + i, n, buf);
        llmc_convert_from_f32(buf, n, dt, (char *)out + i * es);
    }
    return 1;
}

void llmc_ckpt_free(llmc_weight_source *ws) {
    for (size_t i = 0; i < ws->n_files; i++) llmc_st_close(ws->files[i]);
    free(ws->files);
    free(ws->loc);
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
static int open_index(llmc_weight_source *ws, const char *path, stored **out, size_t *n_out, llmc_diags *d) {
    llmc_loc at = {path, 0, 0};
    size_t len;
    char *text = llmc_read_file(path, INDEX_MAX_BYTES, &len);
    if (!text) {
        llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "cannot read checkpoint index: %s",
                      errno == EFBIG ? "larger than 100 MB" : strerror(errno));
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
            ws->files[fi] = full && file_names[fi] ? llmc_st_open(full, d) : NULL;
            ws->n_files++;
            if (!full || !file_names[fi]) llmc_error(d, NULL, "out of memory reading the checkpoint index");
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

llmc_weight_source *llmc_weights_open_checkpoint(const char *path, const llmc_ir *ir, const llmc_layout *layout,
                                                  llmc_diags *d) {
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

    stored *s = NULL;
    size_t n = 0;
    if (ends_with(path, ".json")) {
        if (open_index(ws, path, &s, &n, d)) goto fail;
    } else {
        ws->files = calloc(1, sizeof *ws->files);
        if (!ws->files) goto fail;
        if (!(ws->files[0] = llmc_st_open(path, d))) goto fail;
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
    sbuf missing = {0}, shaped = {0}, dtyped = {0}, unexpected = {0};
    size_t n_missing = 0, n_shaped = 0, n_dtyped = 0, n_unexpected = 0;
    for (size_t i = 0; i < layout->n_views; i++) {
        const llmc_tensor_view *v = &layout->views[i];
        stored *e = find_stored(s, n, v->name);
        if (!e) {
            sb_printf(&missing, "%s%s", n_missing++ ? ", " : "", v->name);
            continue;
        }
        e->used = true;
        bool same = e->t->rank == v->rank;
        for (int k = 0; same && k < v->rank; k++) same = e->t->shape[k] == v->shape[k];
        if (!same) {
            char a[160], b[160];
            sb_printf(&shaped, "%s%s (expected %s, got %s)", n_shaped++ ? ", " : "", v->name,
                      fmt_shape(v->rank, v->shape, a, sizeof a), fmt_shape(e->t->rank, e->t->shape, b, sizeof b));
            continue;
        }
        llmc_st_float st;
        if (st_float_kind(e->t->dtype, &st)) {
            sb_printf(&dtyped, "%s%s (%s)", n_dtyped++ ? ", " : "", v->name, e->t->dtype);
            continue;
        }
        /* every part of the view now reads from this tensor */
        uint64_t row0 = 0;
        for (int k = 0; k < v->n_parts; k++) {
            llmc_ckpt_loc *L = &ws->loc[v->parts[k]];
            L->view = v;
            L->t = e->t;
            L->data = llmc_st_data(e->f, e->t);
            L->st = st;
            L->row0 = row0;
            row0 += (uint64_t)llmc_ir_tensor(ir, v->parts[k])->shape[0];
        }
    }
    bool head_unexpected = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i].used) continue;
        sb_printf(&unexpected, "%s%s", n_unexpected++ ? ", " : "", s[i].name);
        if (!strcmp(s[i].name, "lm_head.weight")) head_unexpected = true;
    }
    int bad = n_missing || n_shaped || n_dtyped || n_unexpected;
    if (bad) {
        sbuf m = {0};
        sb_printf(&m, "checkpoint does not match the model (layout %s):", layout->family);
        if (n_missing) sb_printf(&m, " %zu missing: %s;", n_missing, missing.p);
        if (n_unexpected) sb_printf(&m, " %zu unexpected: %s;", n_unexpected, unexpected.p);
        if (n_shaped) sb_printf(&m, " %zu mis-shaped: %s;", n_shaped, shaped.p);
        if (n_dtyped) sb_printf(&m, " %zu in a dtype llmc does not read (F32, F16, BF16, F64 are read): %s;",
                                n_dtyped, dtyped.p);
        if (m.oom || missing.oom || unexpected.oom || shaped.oom || dtyped.oom)
            llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "checkpoint does not match the model (out of memory listing how)");
        else {
            m.p[m.n - 1] = '\0'; /* drop the last ';' */
            llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "%s", m.p);
        }
        if (head_unexpected && llmc_layout_find(layout, "lm_head.weight") < 0)
            llmc_diag_add(d, LLMC_SEV_NOTE, at, NULL,
                          "the checkpoint has an untied lm_head.weight; the spec ties it to the embedding "
                          "(set tie_word_embeddings: false to import it)");
        free(m.p);
    }
    free(missing.p);
    free(shaped.p);
    free(dtyped.p);
    free(unexpected.p);
    free(s);
    if (bad) {
        llmc_weights_free(ws);
        return NULL;
    }
    return ws;
fail:
    free(s);
    llmc_weights_free(ws);
    return NULL;
}
