/* safetensors emitter: OUT/safetensors/model.safetensors (or transformers-style shards with
 * model.safetensors.index.json), config.json and generation_config.json.
 *
 * File format (https://github.com/huggingface/safetensors, "Format"): u64 little-endian
 * header size N, N bytes of JSON starting with '{' and padded with spaces to a multiple of 8,
 * then the tensors back to back in header order, data_offsets relative to the end of the
 * header. Tensor names and layouts are those of the spec's Hugging Face family
 * (llmc_layout_hf); values are streamed from the weight source in the spec's precision, so
 * the emitter never holds more than the weight source's chunk buffers.
 *
 * Options (emit_options: {safetensors: {...}}):
 *   max_shard_size   e.g. 5GB: split as transformers does; default: one file */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_emit.h"

#define ST_NAME "safetensors"

static llmc_dtype out_dtype(const llmc_spec *s) {
    return s->precision == LLMC_PRECISION_FLOAT16 ? LLMC_DTYPE_F16
           : s->precision == LLMC_PRECISION_BFLOAT16 ? LLMC_DTYPE_BF16
                                                       : LLMC_DTYPE_F32;
}

const char *st_dtype_name(llmc_dtype dt) {
    return dt == LLMC_DTYPE_F16 ? "F16" : dt == LLMC_DTYPE_BF16 ? "BF16" : "F32";
}

/* ---- options ------------------------------------------------------------------------------------- */

static int parse_options(const llmc_spec *s, uint64_t *max_shard, llmc_diags *d) {
    int rc = 0;
    *max_shard = 0;
    for (size_t i = 0; i < s->n_emit_options; i++) {
        const llmc_emit_option *o = &s->emit_options[i];
        if (strcmp(o->emitter, ST_NAME)) continue;
        char key[160];
        snprintf(key, sizeof key, "emit_options.%s.%s", ST_NAME, o->key);
        if (strcmp(o->key, "max_shard_size") == 0) {
            if (llmc_parse_bytes(o->value, max_shard) != 0 || *max_shard == 0) {
                llmc_diag_add(d, LLMC_SEV_ERROR, o->loc, key,
                              "expected a byte size such as 5GB, 500MB or 2GiB (got '%s')", o->value);
                rc = -1;
            }
        } else {
            llmc_diag_add(d, LLMC_SEV_ERROR, o->loc, key, "unknown option for emitter %s (expected max_shard_size)",
                          ST_NAME);
            rc = -1;
        }
    }
    return rc;
}

/* Every IR can be stored as safetensors; only the options can be wrong. */
static int st_check(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    (void)ir; /* stores every parameter of any graph */
    uint64_t max_shard;
    return parse_options(s, &max_shard, d);
}

/* ---- the header ----------------------------------------------------------------------------------------- */

/* JSON string body (names are printable ASCII in practice; escape anyway) */
static void hput_str(llmc_strbuf *b, const char *s) {
    llmc_strbuf_printf(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') llmc_strbuf_printf(b, "\\%c", *c);
        else if (*c < 0x20) llmc_strbuf_printf(b, "\\u%04x", *c);
        else llmc_strbuf_printf(b, "%c", *c);
    }
    llmc_strbuf_printf(b, "\"");
}

/* {"__metadata__":{...},"name":{"dtype":..,"shape":[..],"data_offsets":[b,e]},...} padded with
 * spaces so that 8 + N is a multiple of 8 (the data then starts 8-byte aligned). */
char *st_build_header(const st_plan *p, const st_shard *sf, uint64_t *header_len) {
    llmc_strbuf b = LLMC_STRBUF_INIT;
    llmc_strbuf_printf(&b, "{\"__metadata__\":{");
    for (size_t i = 0; i < p->n_meta; i++) {
        if (i) llmc_strbuf_printf(&b, ",");
        hput_str(&b, p->meta[i].key);
        llmc_strbuf_printf(&b, ":");
        hput_str(&b, p->meta[i].value);
    }
    llmc_strbuf_printf(&b, "}");
    uint64_t off = 0;
    for (size_t k = 0; k < sf->n; k++) {
        const llmc_tensor_view *v = &p->layout.views[sf->idx[k]];
        uint64_t bytes = llmc_view_numel(v) * llmc_dtype_size(p->dt);
        llmc_strbuf_printf(&b, ",");
        hput_str(&b, v->name);
        llmc_strbuf_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(p->dt));
        for (int r = 0; r < v->rank; r++) llmc_strbuf_printf(&b, "%s%lld", r ? "," : "", (long long)v->shape[r]);
        llmc_strbuf_printf(&b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    llmc_strbuf_printf(&b, "}");
    while (!b.oom && b.n % 8) llmc_strbuf_printf(&b, " ");
    *header_len = b.n;
    return llmc_strbuf_take(&b); /* NULL when out of memory */
}

uint64_t st_shard_bytes(const st_plan *p, const st_shard *sf) {
    uint64_t total = 0;
    for (size_t k = 0; k < sf->n; k++) total += llmc_view_numel(&p->layout.views[sf->idx[k]]) * llmc_dtype_size(p->dt);
    return total;
}

/* ---- shards ------------------------------------------------------------------------------------------------ */

/* transformers' rule (huggingface_hub split_torch_state_dict_into_shards): walk the tensors
 * in order; a tensor larger than the limit gets a shard of its own right away; otherwise
 * start a new shard when the current one would overflow. shard_of[i] = shard of view i. */
static size_t plan_shards(const uint64_t *bytes, size_t n, uint64_t max_shard, size_t *shard_of) {
    size_t n_shards = 0, current = SIZE_MAX;
    uint64_t current_size = 0;
    for (size_t i = 0; i < n; i++) {
        if (max_shard && bytes[i] > max_shard) {
            shard_of[i] = n_shards++;
            continue;
        }
        if (current == SIZE_MAX || (max_shard && current_size + bytes[i] > max_shard)) {
            current = n_shards++;
            current_size = 0;
        }
        shard_of[i] = current;
        current_size += bytes[i];
    }
    return n_shards;
}

void st_plan_free(st_plan *p) {
    for (size_t k = 0; p->shards && k < p->n_shards; k++) free(p->shards[k].idx);
    free(p->shards);
    llmc_layout_free(&p->layout);
    memset(p, 0, sizeof *p);
}

int st_plan_build(const llmc_emit_ctx *ctx, st_plan *p, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    memset(p, 0, sizeof *p);
    uint64_t max_shard;
    if (parse_options(s, &max_shard, d)) return -1;
    if (llmc_layout_hf(s, ctx->ir, &p->layout, d) != 0) return -1;
    p->dt = out_dtype(s);
    size_t n = p->layout.n_views;
    uint64_t *bytes = calloc(n ? n : 1, sizeof *bytes);
    size_t *shard_of = calloc(n ? n : 1, sizeof *shard_of);
    if (!bytes || !shard_of) goto oom;
    for (size_t i = 0; i < n; i++) {
        bytes[i] = llmc_view_numel(&p->layout.views[i]) * llmc_dtype_size(p->dt);
        p->total += bytes[i];
    }
    p->n_shards = plan_shards(bytes, n, max_shard, shard_of);
    if (p->n_shards == 0) p->n_shards = 1; /* a model without parameters still gets a (valid, empty) file */
    p->shards = calloc(p->n_shards, sizeof *p->shards);
    if (!p->shards) goto oom;
    for (size_t k = 0; k < p->n_shards; k++) {
        st_shard *sf = &p->shards[k];
        if (p->n_shards == 1)
            snprintf(sf->rel, sizeof sf->rel, "safetensors/model.safetensors");
        else
            snprintf(sf->rel, sizeof sf->rel, "safetensors/model-%05zu-of-%05zu.safetensors", k + 1, p->n_shards);
        if (!(sf->idx = calloc(n ? n : 1, sizeof *sf->idx))) goto oom;
    }
    for (size_t i = 0; i < n; i++) p->shards[shard_of[i]].idx[p->shards[shard_of[i]].n++] = i;

    /* provenance: the one spec hash (llmc_spec_sha256: the SHA-256 of OUT/spec.json); the weight
     * source follows from the spec (a checkpoint when it names one) */
    if (!ctx->spec_sha256) {
        llmc_error(d, "emit", "safetensors: internal error: the emit context carries no spec hash");
        free(bytes);
        free(shard_of);
        st_plan_free(p);
        return -1;
    }
    snprintf(p->hash, sizeof p->hash, "%s", ctx->spec_sha256);
    snprintf(p->seed, sizeof p->seed, "%llu", (unsigned long long)s->weights.seed);
    const st_meta m[] = {{"format", "pt"},
                         {"llmc_version", llmc_version()},
                         {"llmc_spec_hash", p->hash},
                         {"llmc_seed", p->seed},
                         {"llmc_weights", s->weights.checkpoint ? "checkpoint" : "init"},
                         {"llmc_family", p->layout.family}};
    memcpy(p->meta, m, sizeof m);
    p->n_meta = sizeof m / sizeof m[0];
    free(bytes);
    free(shard_of);
    return 0;
oom:
    llmc_error(d, "emit", "safetensors: out of memory");
    free(bytes);
    free(shard_of);
    st_plan_free(p);
    return -1;
}

/* ---- writing --------------------------------------------------------------------------------------------- */

static int write_shard(const llmc_emit_ctx *ctx, const st_plan *p, const st_shard *sf, llmc_progress *prog,
                       llmc_diags *d) {
    uint64_t hlen;
    char *header = st_build_header(p, sf, &hlen);
    if (!header) {
        llmc_error(d, "emit", "safetensors: out of memory building the header of %s", sf->rel);
        return -1;
    }
    FILE *f = llmc_out_open(ctx, sf->rel, d);
    if (!f) {
        free(header);
        return -1;
    }
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (uint8_t)(hlen >> (8 * i));
    int rc = 0;
    if (fwrite(len_le, 1, 8, f) != 8 || fwrite(header, 1, (size_t)hlen, f) != hlen) {
        llmc_error(d, "emit", "safetensors: cannot write %s: %s", sf->rel, strerror(errno));
        rc = -1;
    }
    free(header);
    uint64_t expect = 8 + hlen + st_shard_bytes(p, sf);
    for (size_t k = 0; rc == 0 && k < sf->n; k++) {
        const llmc_tensor_view *v = &p->layout.views[sf->idx[k]];
        if (llmc_out_tensor_begin(f, v->name, d) != 0 ||
            llmc_weights_write_view(ctx->weights, v, p->dt, f, ctx->threads, prog, d) != 0 ||
            llmc_out_tensor_end(f, d) != 0) {
            llmc_error(d, "emit", "safetensors: writing tensor '%s' to %s failed", v->name, sf->rel);
            rc = -1;
        }
    }
    if (rc == 0) {
        long long pos = (long long)ftello(f);
        if (pos < 0 || (uint64_t)pos != expect) {
            llmc_error(d, "emit", "safetensors: %s has %lld bytes, expected %llu", sf->rel, pos,
                       (unsigned long long)expect);
            rc = -1;
        }
    }
    if (llmc_out_close(f, sf->rel, d) != 0) rc = -1;
    if (rc == 0) llmc_out_register(ctx, sf->rel, "weights (safetensors)");
    return rc;
}

/* model.safetensors.index.json as transformers writes it */
char *st_index_text(const st_plan *p) {
    json_t *root = json_object(), *md = json_object(), *wm = json_object();
    json_object_set_new(md, "total_size", json_integer((json_int_t)p->total));
    for (size_t s = 0; s < p->n_shards; s++)
        for (size_t k = 0; k < p->shards[s].n; k++)
            json_object_set_new(wm, p->layout.views[p->shards[s].idx[k]].name,
                                json_string(strrchr(p->shards[s].rel, '/') + 1));
    json_object_set_new(root, "metadata", md);
    json_object_set_new(root, "weight_map", wm);
    char *text = st_json_dump(root);
    json_decref(root);
    return text;
}

static int write_index(const llmc_emit_ctx *ctx, const st_plan *p, llmc_diags *d) {
    char *text = st_index_text(p);
    if (!text) {
        llmc_error(d, "emit", "safetensors: out of memory writing the shard index");
        return -1;
    }
    const char *rel = "safetensors/model.safetensors.index.json";
    int rc = llmc_out_write_file(ctx, rel, text, strlen(text), d);
    free(text);
    if (rc == 0) llmc_out_register(ctx, rel, "shard index (transformers)");
    return rc;
}

static int st_emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    if (!ctx->weights) {
        llmc_error(d, "emit", "safetensors: the pipeline gave no weight source");
        return -1;
    }
    st_plan p;
    if (st_plan_build(ctx, &p, d)) return -1;
    int rc = -1;
    llmc_progress *prog = ctx->progress ? llmc_progress_create("safetensors", p.total) : NULL;
    for (size_t k = 0; k < p.n_shards; k++)
        if (write_shard(ctx, &p, &p.shards[k], prog, d)) goto done;
    if (p.n_shards > 1 && write_index(ctx, &p, d)) goto done;
    if (st_write_configs(ctx, &p.layout, d)) goto done;
    rc = 0;
done:
    llmc_progress_free(prog);
    st_plan_free(&p);
    return rc;
}

static const llmc_emitter_vtable vt = {sizeof vt, st_check, st_emit, st_verify};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, ST_NAME, "1.0.0",
     "Hugging Face safetensors weights (sharded on request) with config.json for the transformers family", &vt},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
