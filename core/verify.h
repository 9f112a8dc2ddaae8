/* Comparing what is in OUT with what llmc would write: the emitter-facing helpers of
 * llmc/output.h (llmc_out_verify, llmc_out_mismatch, llmc_out_read) and a JSON comparison that
 * names every differing key. Internal to the core. */
#ifndef LLMC_CORE_VERIFY_H
#define LLMC_CORE_VERIFY_H

#include <jansson.h>
#include <stddef.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#define LLMC_VERIFY_MAX_REPORTED 20   /* differences listed per file; the rest are counted */

/* Compare want with got, recursively; every difference is an error located at `file` with
 * key `path` (e.g. "breakdown.embedding: expected 16384, got 16385"), at most *budget of them
 * (decremented; the caller reports the rest). Returns the number of differences found. */
LLMC_API size_t llmc_json_diff(const json_t *want, const json_t *got, const char *file, const char *path,
                               llmc_diags *d, size_t *budget);

/* Compare a file's bytes with `want` (whole file, or its first want_len bytes when prefix):
 * JSON by key (llmc_json_diff), other text by first differing line, binary by first differing
 * byte. `file` is the name used in messages. Returns the number of differences reported. */
LLMC_API size_t llmc_verify_bytes(const char *file, const char *got, size_t got_len, uint64_t file_size,
                                  const char *want, size_t want_len, int prefix, llmc_diags *d);

#endif
