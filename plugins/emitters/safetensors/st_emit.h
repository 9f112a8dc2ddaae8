/* safetensors emitter — shared declarations (internal to the plugin). */
#ifndef LLMC_ST_EMIT_H
#define LLMC_ST_EMIT_H

#include <jansson.h>

#include "llmc/llmc.h"
#include "llmc/weights.h"

/* JSON text the way Python's json.dumps(obj, indent=2, sort_keys=True) writes it (what
 * transformers uses for config.json and the shard index): keys sorted, 2-space indent,
 * floats in shortest round-trip form with a ".0" when integral. Caller frees. */
char *st_json_dump(const json_t *root);

/* config.json (+ generation_config.json) for the layout's family, as text: returns how many
 * (1 or 2), or -1 with an error. */
typedef struct st_config_file {
    const char *rel;
    char *text;
    char role[160];
} st_config_file;
int st_config_files(const llmc_emit_ctx *ctx, const llmc_layout *layout, st_config_file out[2], llmc_diags *d);
void st_config_files_free(st_config_file *f, size_t n);
/* writes and registers them */
int st_write_configs(const llmc_emit_ctx *ctx, const llmc_layout *layout, llmc_diags *d);

/* ---- the plan: what emit writes and verify checks ---- */
typedef struct st_meta {
    const char *key, *value;
} st_meta;

typedef struct st_shard {
    char rel[96];
    size_t *idx;   /* views in this shard, in layout order */
    size_t n;
} st_shard;

typedef struct st_plan {
    llmc_layout layout;
    llmc_dtype dt;
    st_shard *shards;
    size_t n_shards;
    uint64_t total;          /* data bytes of all shards */
    char hash[65], seed[32];
    st_meta meta[6];         /* __metadata__ of every shard */
    size_t n_meta;
} st_plan;

int st_plan_build(const llmc_emit_ctx *ctx, st_plan *p, llmc_diags *d);
void st_plan_free(st_plan *p);
/* the header of one shard (JSON padded to 8 bytes, without the length prefix); NULL on OOM */
char *st_build_header(const st_plan *p, const st_shard *sf, uint64_t *header_len);
/* data bytes of a shard */
uint64_t st_shard_bytes(const st_plan *p, const st_shard *sf);
/* "F32", "F16", "BF16" */
const char *st_dtype_name(llmc_dtype dt);
/* model.safetensors.index.json text (sharded plans); NULL on OOM */
char *st_index_text(const st_plan *p);

/* the emitter's verify (st_verify.c) */
int st_verify(const llmc_emit_ctx *ctx, llmc_diags *d);

#endif
