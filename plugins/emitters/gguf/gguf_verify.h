/* The gguf emitter's shared build step and its verify (llmc validate). */
#ifndef LLMC_GGUF_VERIFY_H
#define LLMC_GGUF_VERIFY_H

#include "gguf_arch.h"
#include "gguf_format.h"
#include "llmc/llmc.h"

#define GGUF_REL "gguf/model.gguf"

/* The plan and the metadata + tensor table emit writes (gguf_emit.c); on failure both are freed. */
int gguf_build(const llmc_emit_ctx *ctx, gguf_plan *plan, gguf_meta *m, llmc_diags *d);

/* Rebuild the header, compare it with OUT/gguf/model.gguf; when they differ, read the file's
 * header as untrusted input and name every differing key and tensor; check the tensor table
 * against the file size (offsets aligned, in bounds, no overlap). */
int gguf_verify(const llmc_emit_ctx *ctx, llmc_diags *d);

#endif
