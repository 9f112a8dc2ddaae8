/* The core's side of llmc_tok_builder (the plugin-facing functions are in llmc/tokenizer.h). */
#ifndef LLMC_CORE_TOK_BUILDER_H
#define LLMC_CORE_TOK_BUILDER_H

#include <jansson.h>
#include <stdbool.h>

#include "llmc/export.h"
#include "llmc/tokenizer.h"

LLMC_API llmc_tok_builder *llmc_tok_builder_create(void);
LLMC_API void llmc_tok_builder_free(llmc_tok_builder *b);
/* The tokenizer.json document (new reference). for_counting: the pipeline that counts words
 * (the counting pre-tokenizer when a preset set one, the special tokens, a placeholder model). */
LLMC_API json_t *llmc_tok_builder_document(const llmc_tok_builder *b, bool for_counting);
/* Does counting go through a ByteLevel pre-tokenizer (documents keep their line endings)? */
LLMC_API bool llmc_tok_builder_counts_bytes(const llmc_tok_builder *b);
/* Will the tokenizer take any bytes (byte-level pipeline, or byte fallback)? Then the corpus is
 * counted as bytes, invalid UTF-8 included. */
LLMC_API bool llmc_tok_builder_lossless(const llmc_tok_builder *b);
/* Put a normalizer (tokenizer.json text, e.g. {"type":"NFKC"}) before the pipeline's own, as a
 * Sequence (the spec's tokenizer.normalization). 0, or -1 with an error. */
LLMC_API int llmc_tok_builder_prepend_normalizer(llmc_tok_builder *b, const char *json, llmc_diags *d);
/* Was a pre_tokenizer set (possibly null) by a preset or the plugin? */
LLMC_API bool llmc_tok_builder_has_pre_tokenizer(const llmc_tok_builder *b);

#endif
