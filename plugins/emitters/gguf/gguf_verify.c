/* gguf emitter — verify (gguf_verify.h). The header (metadata and tensor table) is rebuilt exactly
 * as emit builds it and compared byte for byte with the file's first bytes; the tensor data is
 * the core's business (per-tensor checksums in manifest.json). When the header differs, both
 * headers are parsed (gguf_read.c) and compared key by key and tensor by tensor, and the file's
 * own table is checked against the file size, so that the message says what changed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_read.h"
#include "gguf_verify.h"

#define MAX_LISTED 20   /* differences listed per kind; the rest are counted */

static void shape_text(uint32_t n_dims, const uint64_t *ne, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n_dims && i < 4 && used + 24 < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%" PRIu64, i ? ", " : "", ne[i]);
}

static const gguf_rkv *find_kv(const gguf_file *f, const char *key, size_t len) {
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (f->kv[i].key_len == len && !memcmp(f->kv[i].key, key, len)) return &f->kv[i];
    return NULL;
}

static const gguf_rtensor *find_tensor(const gguf_file *f, const char *name, size_t len) {
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->t[i].name_len == len && !memcmp(f->t[i].name, name, len)) return &f->t[i];
    return NULL;
}

static void compare_kv(const llmc_emit_ctx *ctx, const gguf_file *want, const gguf_file *got, llmc_diags *d) {
    size_t listed = 0;
    for (uint64_t i = 0; i < want->n_kv; i++) {
        const gguf_rkv *w = &want->kv[i], *g = find_kv(got, w->key, w->key_len);
        char a[128], b[128];
        int kl = (int)w->key_len;
        if (g && g->type == w->type && g->val_len == w->val_len && !memcmp(g->val, w->val, w->val_len)) continue;
        if (listed++ >= MAX_LISTED) continue;
        gguf_value_text(w, a, sizeof a);
        if (!g) {
            llmc_out_mismatch(ctx, GGUF_REL, d, "metadata '%.*s' is missing (expected %s)", kl, w->key, a);
            continue;
        }
        gguf_value_text(g, b, sizeof b);
        if (!strcmp(a, b)) /* same rendering: an array's items, or a long string's tail */
            llmc_out_mismatch(ctx, GGUF_REL, d, "metadata '%.*s': %s differs from what llmc writes", kl, w->key, a);
        else
            llmc_out_mismatch(ctx, GGUF_REL, d, "metadata '%.*s': expected %s, got %s", kl, w->key, a, b);
    }
    for (uint64_t i = 0; i < got->n_kv; i++)
        if (!find_kv(want, got->kv[i].key, got->kv[i].key_len) && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "metadata '%.*s' is not a key llmc writes for this model",
                              (int)(got->kv[i].key_len > 80 ? 80 : got->kv[i].key_len), got->kv[i].key);
    if (listed > MAX_LISTED)
        llmc_out_mismatch(ctx, GGUF_REL, d, "%zu metadata differences in all (%d listed)", listed, MAX_LISTED);
}

static void compare_tensors(const llmc_emit_ctx *ctx, const gguf_file *want, const gguf_file *got, llmc_diags *d) {
    size_t listed = 0;
    for (uint64_t i = 0; i < want->n_tensors; i++) {
        const gguf_rtensor *w = &want->t[i], *g = find_tensor(got, w->name, w->name_len);
        int nl = (int)w->name_len;
        char a[128], b[128];
        if (!g) {
            if (listed++ < MAX_LISTED)
                llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s' of the model is missing from the tensor table", nl,
                                  w->name);
            continue;
        }
        shape_text(w->n_dims, w->ne, a, sizeof a);
        shape_text(g->n_dims, g->ne, b, sizeof b);
        if ((strcmp(a, b) || g->n_dims != w->n_dims) && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s': shape expected [%s], got [%s]", nl, w->name, a, b);
        if (g->type != w->type && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s': type expected %s, got %u", nl, w->name,
                              gguf_ttype_name((gguf_ttype)w->type), g->type);
        if (g->offset != w->offset && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s': offset expected %" PRIu64 ", got %" PRIu64, nl,
                              w->name, w->offset, g->offset);
    }
    for (uint64_t i = 0; i < got->n_tensors; i++)
        if (!find_tensor(want, got->t[i].name, got->t[i].name_len) && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s' in the tensor table is not a tensor of the model",
                              (int)(got->t[i].name_len > 80 ? 80 : got->t[i].name_len), got->t[i].name);
    if (listed > MAX_LISTED)
        llmc_out_mismatch(ctx, GGUF_REL, d, "%zu tensor table differences in all (%d listed)", listed, MAX_LISTED);
}

static int by_offset(const void *x, const void *y) {
    const gguf_rtensor *a = *(const gguf_rtensor *const *)x, *b = *(const gguf_rtensor *const *)y;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* the file's own table against the file: alignment, bounds, overlap */
static void check_table(const llmc_emit_ctx *ctx, const gguf_file *g, uint64_t size, llmc_diags *d) {
    const gguf_rtensor **order = calloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof *order);
    if (!order) return;
    size_t listed = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) order[i] = &g->t[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, by_offset);
    uint64_t prev_end = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_rtensor *t = order[i];
        int nl = (int)(t->name_len > 80 ? 80 : t->name_len);
        uint64_t bytes = gguf_tensor_bytes(t->type, t->n_dims, t->ne), begin, end;
        if (!bytes) {
            if (listed++ < MAX_LISTED)
                llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s': type %u with this shape is not one llmc writes", nl,
                                  t->name, t->type);
            continue;
        }
        if (t->offset % g->alignment && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s': offset %" PRIu64 " is not a multiple of the alignment %u",
                              nl, t->name, t->offset, g->alignment);
        if (__builtin_add_overflow(g->data_start, t->offset, &begin) || __builtin_add_overflow(begin, bytes, &end) ||
            end > size) {
            if (listed++ < MAX_LISTED)
                llmc_out_mismatch(ctx, GGUF_REL, d,
                                  "tensor '%.*s' (%" PRIu64 " bytes at data offset %" PRIu64 ") ends past the end of the "
                                  "file (expected at least %" PRIu64 " bytes, got %" PRIu64 ")",
                                  nl, t->name, bytes, t->offset, g->data_start + t->offset + bytes, size);
            continue;
        }
        if (t->offset < prev_end && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, GGUF_REL, d, "tensor '%.*s' overlaps the tensor before it (data offset %" PRIu64
                              " < %" PRIu64 ")", nl, t->name, t->offset, prev_end);
        if (t->offset + bytes > prev_end) prev_end = t->offset + bytes;
    }
    if (listed > MAX_LISTED)
        llmc_out_mismatch(ctx, GGUF_REL, d, "%zu tensor table problems in all (%d listed)", listed, MAX_LISTED);
    free(order);
}

int gguf_verify(const llmc_emit_ctx *ctx, llmc_diags *d) {
    gguf_plan plan;
    gguf_meta m;
    if (gguf_build(ctx, &plan, &m, d)) return -1;
    size_t before = llmc_diags_errors(d);
    char *want = NULL;
    size_t want_len = 0;
    FILE *mem = open_memstream(&want, &want_len);
    int rc = mem ? gguf_meta_write(&m, mem, GGUF_REL, d) : -1;
    if (mem && fclose(mem) != 0) rc = -1;
    uint64_t want_size = gguf_meta_size(&m) + m.data_size;
    if (rc) {
        if (llmc_diags_errors(d) == before) llmc_error(d, "gguf", "out of memory rebuilding the header");
        goto out;
    }
    size_t got_len;
    uint64_t size;
    /* the file's header may be longer than ours if it was edited: read generously */
    char *got = llmc_out_read(ctx, GGUF_REL, 0, want_len + (16u << 20), &got_len, &size, d);
    if (!got) goto out;
    if (got_len >= want_len && !memcmp(got, want, want_len)) {
        if (size != want_size)
            llmc_out_mismatch(ctx, GGUF_REL, d,
                              "%s: the tensor table's data ends at byte %" PRIu64 " (expected %" PRIu64
                              " bytes, got %" PRIu64 ")",
                              size < want_size ? "truncated" : "bytes after the last tensor", want_size, want_size, size);
        free(got);
        goto out;
    }
    gguf_file fw, fg;
    char err[256];
    if (gguf_read((const uint8_t *)want, want_len, &fw, err, sizeof err) != 0) {
        llmc_error(d, "gguf", "internal: the rebuilt header does not parse: %s", err);
    } else if (gguf_read((const uint8_t *)got, got_len, &fg, err, sizeof err) != 0) {
        llmc_out_mismatch(ctx, GGUF_REL, d, "%s (expected the %zu-byte header llmc writes)", err, want_len);
        gguf_file_free(&fg);
    } else {
        size_t found = llmc_diags_errors(d);
        if (fg.version != fw.version)
            llmc_out_mismatch(ctx, GGUF_REL, d, "GGUF version expected %u, got %u", fw.version, fg.version);
        compare_kv(ctx, &fw, &fg, d);
        compare_tensors(ctx, &fw, &fg, d);
        check_table(ctx, &fg, size, d);
        if (llmc_diags_errors(d) == found)
            llmc_out_mismatch(ctx, GGUF_REL, d, "the header holds the same keys and tensors as llmc writes, but not "
                              "the same bytes (reordered or re-padded)");
        gguf_file_free(&fg);
    }
    gguf_file_free(&fw);
    free(got);
out:
    free(want);
    gguf_meta_free(&m);
    gguf_plan_free(&plan);
    return llmc_diags_errors(d) > before ? -1 : 0;
}
