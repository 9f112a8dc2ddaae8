/* OUT/manifest.json: the size and XXH64 checksum (xxh64.h says why not SHA-256) of every file a
 * compile writes, and of every tensor inside the tensor files, recorded while the files are
 * written; `llmc validate` re-reads the files and compares. compilation_report.json (it holds
 * timings) and manifest.json itself are not listed, so that a recompile of OUT/spec.json gives
 * a byte-identical manifest. Internal to the core. */
#ifndef LLMC_CORE_MANIFEST_H
#define LLMC_CORE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#define LLMC_MANIFEST_FILE "manifest.json"
#define LLMC_MANIFEST_FORMAT "llmc-manifest/1"

typedef struct llmc_tensor_sum {
    char *name;
    uint64_t offset, bytes;    /* the tensor's bytes in its file */
    uint64_t xxh64;
} llmc_tensor_sum;

typedef struct llmc_file_sum {
    char *path;                /* relative to OUT, '/'-separated, no "." or empty components */
    char *emitter;             /* "" for llmc's own files (spec.json, solution.json, ir.json) */
    uint64_t bytes, xxh64;
    llmc_tensor_sum *tensors;  /* in file order; none for files without tensors */
    size_t n_tensors;
} llmc_file_sum;

typedef struct llmc_manifest llmc_manifest;

LLMC_API llmc_manifest *llmc_manifest_create(void);
LLMC_API void llmc_manifest_free(llmc_manifest *m);
LLMC_API size_t llmc_manifest_num_files(const llmc_manifest *m);
LLMC_API const llmc_file_sum *llmc_manifest_file(const llmc_manifest *m, size_t i);
LLMC_API const llmc_file_sum *llmc_manifest_find(const llmc_manifest *m, const char *path);
LLMC_API const char *llmc_manifest_spec_sha256(const llmc_manifest *m);   /* "" when unknown */
LLMC_API void llmc_manifest_set_spec_sha256(llmc_manifest *m, const char *hex);

/* ---- recording (compile) ---- */

/* Open dir/rel for writing through a checksumming stream: every byte written is hashed on its
 * way to the file; fclose() records {rel, emitter, size, checksum, tensors} in m. Seeking is
 * refused (the checksum would no longer match the file); ftello works. NULL + error in d. */
LLMC_API FILE *llmc_manifest_open(llmc_manifest *m, const char *emitter, const char *path, const char *rel,
                                  llmc_diags *d);
/* Tensor marks on such a stream (llmc_out_tensor_begin/end): 0, or -1 with an error. For a FILE
 * that did not come from llmc_manifest_open they do nothing and return 0. */
LLMC_API int llmc_manifest_tensor_begin(FILE *f, const char *name, llmc_diags *d);
LLMC_API int llmc_manifest_tensor_end(FILE *f, llmc_diags *d);
/* Record a file whose bytes the caller wrote itself (the core's text files). */
LLMC_API int llmc_manifest_add_bytes(llmc_manifest *m, const char *emitter, const char *rel, const void *data,
                                     size_t len);
/* Record every regular file below dir that is not recorded yet (a plugin that wrote with plain
 * fopen), hashing it by reading it back, as written by `emitter`. Files named in `skip` (NULL-
 * terminated, relative) are left out. 0, or -1 with an error in d. */
LLMC_API int llmc_manifest_scan(llmc_manifest *m, const char *dir, const char *emitter, const char *const *skip,
                                llmc_diags *d);
/* manifest.json text (files sorted by path), caller frees; NULL on OOM */
LLMC_API char *llmc_manifest_to_json(const llmc_manifest *m);

/* ---- reading (validate) ---- */

/* Parse manifest.json; every structural problem is an error located in `path`. NULL on failure. */
LLMC_API llmc_manifest *llmc_manifest_load(const char *path, llmc_diags *d);

/* Normalise a relative path ("a//b/./c" -> "a/b/c") into buf. 0, or -1 if it is empty, absolute,
 * contains "..", or does not fit. */
LLMC_API int llmc_manifest_norm_path(const char *rel, char *buf, size_t n);

#endif
