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

/* config.json (+ generation_config.json) for the layout's family; writes and registers them. */
int st_write_configs(const llmc_emit_ctx *ctx, const llmc_layout *layout, llmc_diags *d);

#endif
