/* cpu_verify.c — the cpu emitter's verify (llmc validate). model_config.h, README.md and the fixed
 * runtime sources (this model's code paths) are rebuilt and compared; model.bin's header and record table are rebuilt and
 * compared byte for byte with the file's first bytes. When they differ, the file's header and
 * records are read as untrusted input and compared field by field, and the file's own record
 * table is checked against the file: every tensor aligned, inside the file, no two overlapping,
 * its byte size what its type and shape need. The tensor bytes are the core's business
 * (manifest.json checksums). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"

#define MODEL_REL "cpu/model.bin"
#define MAX_LISTED 20

static void mismatch_u64(const llmc_emit_ctx *ctx, llmc_diags *d, const char *what, uint64_t want, uint64_t got) {
    if (want != got)
        llmc_out_mismatch(ctx, MODEL_REL, d, "%s: expected %" PRIu64 ", got %" PRIu64, what, want, got);
}

/* bytes a record's tensor needs: panels for matrices, row-major otherwise; 0 if impossible */
static uint64_t record_bytes(const llmc_tensor_record *r, bool matrix) {
    uint64_t n;
    if (matrix) {
        uint64_t panel = llmc_panel_bytes(r->dtype, r->cols), panels = (r->rows + LLMC_PANEL - 1) / LLMC_PANEL;
        if (!panel || __builtin_mul_overflow(panel, panels, &n)) return 0;
        return n;
    }
    uint64_t es = r->dtype == WT_F32 ? 4 : r->dtype == WT_F16 || r->dtype == WT_BF16 ? 2 : 0;
    if (!es || __builtin_mul_overflow(r->rows, r->cols, &n) || __builtin_mul_overflow(n, es, &n)) return 0;
    return n;
}

static void compare_header(const llmc_emit_ctx *ctx, const llmc_file_header *w, const llmc_file_header *g,
                           llmc_diags *d) {
    if (memcmp(w->magic, g->magic, sizeof w->magic)) {
        llmc_out_mismatch(ctx, MODEL_REL, d, "not an llmc CPU model file (magic expected '%s', got '%.8s')", w->magic,
                          g->magic);
        return;
    }
    mismatch_u64(ctx, d, "header.version", w->version, g->version);
    mismatch_u64(ctx, d, "header.endian_mark", w->endian_mark, g->endian_mark);
    mismatch_u64(ctx, d, "header.file_bytes", w->file_bytes, g->file_bytes);
    mismatch_u64(ctx, d, "header.config_hash (model_config.h's LLMC_CONFIG_HASH)", w->config_hash, g->config_hash);
    mismatch_u64(ctx, d, "header.header_bytes", w->header_bytes, g->header_bytes);
    mismatch_u64(ctx, d, "header.n_tensors", w->n_tensors, g->n_tensors);
    mismatch_u64(ctx, d, "header.record_bytes", w->record_bytes, g->record_bytes);
    mismatch_u64(ctx, d, "header.vocab", w->vocab, g->vocab);
    mismatch_u64(ctx, d, "header.context", w->context, g->context);
    mismatch_u64(ctx, d, "header.hidden", w->hidden, g->hidden);
    mismatch_u64(ctx, d, "header.intermediate", w->intermediate, g->intermediate);
    mismatch_u64(ctx, d, "header.heads", w->heads, g->heads);
    mismatch_u64(ctx, d, "header.kv_heads", w->kv_heads, g->kv_heads);
    mismatch_u64(ctx, d, "header.head_dim", w->head_dim, g->head_dim);
    mismatch_u64(ctx, d, "header.layers", w->layers, g->layers);
    mismatch_u64(ctx, d, "header.encoder_layers", w->encoder_layers, g->encoder_layers);
}

static void compare_records(const llmc_emit_ctx *ctx, const cpu_plan *p, const llmc_tensor_record *want,
                            const llmc_tensor_record *got, size_t n_got, uint64_t size, llmc_diags *d) {
    size_t listed = 0;
    for (size_t i = 0; i < p->n && i < n_got; i++) {
        const llmc_tensor_record *w = &want[i], *g = &got[i];
        char name[LLMC_NAME_BYTES + 1];
        memcpy(name, g->name, LLMC_NAME_BYTES);
        name[LLMC_NAME_BYTES] = '\0';
        if (!memcmp(w, g, sizeof *w)) continue;
        if (listed++ >= MAX_LISTED) continue;
        if (strcmp(w->name, name))
            llmc_out_mismatch(ctx, MODEL_REL, d, "record %zu: name expected '%s', got '%s'", i, w->name, name);
        else
            llmc_out_mismatch(ctx, MODEL_REL, d,
                              "record %zu ('%s'): expected %s %" PRIu64 "x%" PRIu64 " at %" PRIu64 " (%" PRIu64
                              " bytes), got %s %" PRIu64 "x%" PRIu64 " at %" PRIu64 " (%" PRIu64 " bytes)%s",
                              i, w->name, cpu_dtype_name(w->dtype), w->rows, w->cols, w->offset, w->nbytes,
                              g->dtype < WT_COUNT ? cpu_dtype_name(g->dtype) : "?", g->rows, g->cols, g->offset,
                              g->nbytes,
                              w->slot != g->slot || w->stack != g->stack || w->layer != g->layer
                                  ? " (and its slot, stack or layer)" : "");
    }
    /* the file's own table: aligned, inside the file, no overlap, sizes its shapes need */
    uint64_t prev_end = p->header_bytes;
    for (size_t i = 0; i < n_got; i++) {
        const llmc_tensor_record *g = &got[i];
        bool matrix = i < p->n && p->t[i].kind == CPU_MATRIX;
        uint64_t need = record_bytes(g, matrix), end;
        if (g->offset % LLMC_ALIGN && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, MODEL_REL, d, "record %zu: offset %" PRIu64 " is not a multiple of %u", i,
                              g->offset, LLMC_ALIGN);
        if ((!need || need != g->nbytes) && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, MODEL_REL, d, "record %zu: %" PRIu64 " bytes do not hold its %s %" PRIu64 "x%" PRIu64,
                              i, g->nbytes, g->dtype < WT_COUNT ? cpu_dtype_name(g->dtype) : "unknown type", g->rows,
                              g->cols);
        if (__builtin_add_overflow(g->offset, g->nbytes, &end) || end > size) {
            if (listed++ < MAX_LISTED)
                llmc_out_mismatch(ctx, MODEL_REL, d,
                                  "record %zu: bytes %" PRIu64 "..%" PRIu64 " end past the end of the file "
                                  "(expected at least %" PRIu64 " bytes, got %" PRIu64 ")",
                                  i, g->offset, g->offset + g->nbytes, g->offset + g->nbytes, size);
            continue;
        }
        if (g->offset < prev_end && listed++ < MAX_LISTED)
            llmc_out_mismatch(ctx, MODEL_REL, d, "record %zu: offset %" PRIu64 " overlaps what comes before (up to %" PRIu64 ")",
                              i, g->offset, prev_end);
        if (end > prev_end) prev_end = end;
    }
    if (listed > MAX_LISTED)
        llmc_out_mismatch(ctx, MODEL_REL, d, "%zu record problems in all (%d listed)", listed, MAX_LISTED);
}

static void verify_model(const llmc_emit_ctx *ctx, const cpu_plan *p, llmc_diags *d) {
    char *want = NULL;
    size_t want_len = 0;
    FILE *mem = open_memstream(&want, &want_len);
    int rc = mem ? cpu_write_header(ctx, p, mem, d) : -1;
    if (mem && fclose(mem) != 0) rc = -1;
    if (rc || want_len != p->header_bytes) {
        if (!rc) llmc_error(d, "cpu", "internal: the rebuilt header has %zu bytes, planned %" PRIu64, want_len,
                            p->header_bytes);
        else llmc_error(d, "cpu", "out of memory rebuilding model.bin's header");
        free(want);
        return;
    }
    size_t got_len;
    uint64_t size;
    char *got = llmc_out_read(ctx, MODEL_REL, 0, want_len, &got_len, &size, d);
    if (!got) {
        free(want);
        return;
    }
    if (got_len == want_len && !memcmp(got, want, want_len)) {
        if (size != p->file_bytes)
            llmc_out_mismatch(ctx, MODEL_REL, d,
                              "%s: the header and records say %" PRIu64 " bytes (expected %" PRIu64 " bytes, got %" PRIu64
                              ")",
                              size < p->file_bytes ? "truncated" : "bytes after the last tensor", p->file_bytes,
                              p->file_bytes, size);
    } else if (got_len < sizeof(llmc_file_header)) {
        llmc_out_mismatch(ctx, MODEL_REL, d, "truncated inside the header (expected at least %zu bytes, got %" PRIu64 ")",
                          sizeof(llmc_file_header), size);
    } else {
        llmc_file_header w, g;
        memcpy(&w, want, sizeof w);
        memcpy(&g, got, sizeof g);
        compare_header(ctx, &w, &g, d);
        if (!memcmp(w.magic, g.magic, sizeof w.magic)) {
            /* the file's record count, bounded by what it holds */
            size_t room = (got_len - sizeof g) / sizeof(llmc_tensor_record);
            size_t n_got = g.n_tensors < room ? g.n_tensors : room;
            if (n_got < g.n_tensors)
                llmc_out_mismatch(ctx, MODEL_REL, d, "the header claims %u records, the first %zu bytes hold %zu",
                                  g.n_tensors, got_len, room);
            llmc_tensor_record *recs = calloc(n_got ? n_got : 1, sizeof *recs);
            if (recs) {
                memcpy(recs, got + sizeof g, n_got * sizeof *recs);
                compare_records(ctx, p, (const llmc_tensor_record *)(want + sizeof w), recs, n_got, size, d);
                free(recs);
            }
            if (g.file_bytes != size)
                llmc_out_mismatch(ctx, MODEL_REL, d, "header.file_bytes says %" PRIu64 " bytes, the file has %" PRIu64,
                                  g.file_bytes, size);
        }
    }
    free(got);
    free(want);
}

int cpu_verify(const llmc_emit_ctx *ctx, llmc_diags *d) {
    cpu_plan plan;
    if (cpu_plan_build(ctx->spec, ctx->dims, ctx->ir, &plan, d)) {
        cpu_plan_free(&plan);
        return -1;
    }
    size_t before = llmc_diags_errors(d);
    char *cfg = cpu_config_text(ctx, &plan, d); /* sets plan.config_hash, which the header carries */
    if (cfg) llmc_out_verify(ctx, "cpu/model_config.h", cfg, strlen(cfg), false, d);
    free(cfg);
    char *readme = cpu_readme_text(ctx, &plan, d);
    if (readme) llmc_out_verify(ctx, "cpu/README.md", readme, strlen(readme), false, d);
    free(readme);
    for (size_t i = 0; i < cpu_rt_files_count; i++) {
        const llmc_embedded_file *f = &cpu_rt_files[i];
        if (!strcmp(f->name, "README.md")) continue;
        char rel[128];
        snprintf(rel, sizeof rel, "cpu/%s", f->name);
        char *text = cpu_source_text(&plan, f, d);
        if (text) llmc_out_verify(ctx, rel, text, strlen(text), false, d);
        free(text);
    }
    for (size_t i = 0; i < cpu_tok_files_count; i++) {
        const llmc_embedded_file *f = &cpu_tok_files[i];
        char rel[160];
        snprintf(rel, sizeof rel, "cpu/tokenizer/%s", f->name);
        llmc_out_verify(ctx, rel, f->text, f->len, false, d);
    }
    if (cfg) verify_model(ctx, &plan, d);
    cpu_plan_free(&plan);
    return llmc_diags_errors(d) > before ? -1 : 0;
}
