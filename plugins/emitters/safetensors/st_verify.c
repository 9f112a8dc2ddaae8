/* safetensors emitter — verify (llmc validate): every shard's header is rebuilt from the spec and
 * compared with the file; when they differ the file's header is read as untrusted input
 * (llmc_st_open: offsets inside the file, dtype x shape = byte size, no overlap, no gap) and
 * compared tensor by tensor with the model's; the file size must be the header's end of data.
 * The shard index and config.json / generation_config.json are rebuilt and compared key by key.
 * The tensor bytes themselves are the core's business (manifest.json checksums). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "st_emit.h"

static void shape_text(const int64_t *shape, int rank, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && used + 24 < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
}

/* the header differs: say how, tensor by tensor */
static void compare_header(const llmc_emit_ctx *ctx, const st_plan *p, const st_shard *sf, const llmc_st_file *f,
                           llmc_diags *d) {
    const char *rel = sf->rel;
    const char *want_dt = st_dtype_name(p->dt);
    uint64_t off = 0;
    for (size_t k = 0; k < sf->n; k++) {
        const llmc_tensor_view *v = &p->layout.views[sf->idx[k]];
        uint64_t bytes = llmc_view_numel(v) * llmc_dtype_size(p->dt);
        const llmc_st_tensor *t = llmc_st_find(f, v->name);
        if (!t) {
            llmc_out_mismatch(ctx, rel, d, "tensor '%s' of the model is missing from the header", v->name);
        } else {
            char a[128], b[128];
            shape_text(v->shape, v->rank, a, sizeof a);
            shape_text(t->shape, t->rank, b, sizeof b);
            if (strcmp(t->dtype, want_dt))
                llmc_out_mismatch(ctx, rel, d, "tensor '%s': dtype expected %s, got %s", v->name, want_dt, t->dtype);
            if (strcmp(a, b) || t->rank != v->rank)
                llmc_out_mismatch(ctx, rel, d, "tensor '%s': shape expected [%s], got [%s]", v->name, a, b);
            if (t->begin != off || t->end != off + bytes)
                llmc_out_mismatch(ctx, rel, d, "tensor '%s': data_offsets expected [%llu, %llu], got [%llu, %llu]",
                                  v->name, (unsigned long long)off, (unsigned long long)(off + bytes),
                                  (unsigned long long)t->begin, (unsigned long long)t->end);
        }
        off += bytes;
    }
    for (size_t i = 0; i < llmc_st_num_tensors(f); i++) {
        const char *name = llmc_st_tensor_at(f, i)->name;
        bool known = false;
        for (size_t k = 0; k < sf->n && !known; k++) known = !strcmp(p->layout.views[sf->idx[k]].name, name);
        if (!known) llmc_out_mismatch(ctx, rel, d, "tensor '%s' in the header is not a tensor of the model", name);
    }
    for (size_t i = 0; i < p->n_meta; i++) {
        const char *got = llmc_st_metadata(f, p->meta[i].key);
        if (!got || strcmp(got, p->meta[i].value))
            llmc_out_mismatch(ctx, rel, d, "__metadata__.%s: expected '%s', got %s%s%s", p->meta[i].key,
                              p->meta[i].value, got ? "'" : "", got ? got : "nothing", got ? "'" : "");
    }
}

static void verify_shard(const llmc_emit_ctx *ctx, const st_plan *p, const st_shard *sf, llmc_diags *d) {
    uint64_t hlen;
    char *header = st_build_header(p, sf, &hlen);
    char *want = header ? malloc((size_t)hlen + 8) : NULL;
    if (!want) {
        free(header);
        llmc_error(d, "safetensors", "out of memory rebuilding the header of %s", sf->rel);
        return;
    }
    for (int i = 0; i < 8; i++) want[i] = (char)(uint8_t)(hlen >> (8 * i));
    memcpy(want + 8, header, (size_t)hlen);
    free(header);
    size_t got_len;
    uint64_t size;
    char *probe = llmc_out_read(ctx, sf->rel, 0, 0, &got_len, &size, d);
    if (!probe) { /* missing: said */
        free(want);
        return;
    }
    free(probe);
    if (llmc_out_verify(ctx, sf->rel, want, (size_t)hlen + 8, true, d) != 0) {
        char path[PATH_MAX];
        if (size >= 8 && llmc_out_path(ctx, sf->rel, path, sizeof path, d) == 0) {
            llmc_st_file *f = llmc_st_open(path, d); /* its own errors are located at the file */
            if (f) {
                compare_header(ctx, p, sf, f, d);
                llmc_st_close(f);
            }
        }
    } else {
        uint64_t end = hlen + 8 + st_shard_bytes(p, sf);
        if (size != end)
            llmc_out_mismatch(ctx, sf->rel, d, "%s: the header's tensors end at byte %llu (expected %llu bytes, got %llu)",
                              size < end ? "truncated" : "bytes after the last tensor", (unsigned long long)end,
                              (unsigned long long)end, (unsigned long long)size);
    }
    free(want);
}

int st_verify(const llmc_emit_ctx *ctx, llmc_diags *d) {
    st_plan p;
    if (st_plan_build(ctx, &p, d)) return -1;
    size_t before = llmc_diags_errors(d);
    for (size_t k = 0; k < p.n_shards; k++) verify_shard(ctx, &p, &p.shards[k], d);
    if (p.n_shards > 1) {
        char *text = st_index_text(&p);
        if (text) llmc_out_verify(ctx, "safetensors/model.safetensors.index.json", text, strlen(text), false, d);
        else llmc_error(d, "safetensors", "out of memory rebuilding the shard index");
        free(text);
    }
    st_config_file cf[2];
    int n = st_config_files(ctx, &p.layout, cf, d);
    for (int i = 0; i < n; i++) llmc_out_verify(ctx, cf[i].rel, cf[i].text, strlen(cf[i].text), false, d);
    if (n > 0) st_config_files_free(cf, (size_t)n);
    st_plan_free(&p);
    return llmc_diags_errors(d) > before || n < 0 ? -1 : 0;
}
