/* llmc — output helpers for emitters. Emitters write only below ctx->out_dir, a
 * temporary directory that the pipeline renames into place when every step succeeded,
 * so a failed compile never leaves a half-written model. */
#ifndef LLMC_OUTPUT_H
#define LLMC_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct llmc_emit_ctx;

/* mkdir -p; error names the path and errno text */
LLMC_API int llmc_mkdirs(const char *dir, llmc_diags *d);
/* out_dir + "/" + rel into buf; error if it does not fit or rel escapes out_dir ("..", absolute) */
LLMC_API int llmc_out_path(const struct llmc_emit_ctx *ctx, const char *rel, char *buf, size_t n, llmc_diags *d);
/* open rel (creating parent dirs) for writing in binary mode */
LLMC_API FILE *llmc_out_open(const struct llmc_emit_ctx *ctx, const char *rel, llmc_diags *d);
/* fflush + ferror + fclose, each checked; rel is used in the message */
LLMC_API int llmc_out_close(FILE *f, const char *rel, llmc_diags *d);
/* write a whole file */
LLMC_API int llmc_out_write_file(const struct llmc_emit_ctx *ctx, const char *rel, const void *data, size_t n, llmc_diags *d);
/* record an output in compilation_report.json: emitter name, relative path, what it is */
LLMC_API int llmc_out_register(const struct llmc_emit_ctx *ctx, const char *rel, const char *role);

/* Non-zero (the signal number) once the user asked a compile to stop with SIGINT, SIGTERM or
 * SIGHUP; 0 otherwise. The signal handler only records the signal: an emitter doing long work
 * polls this (e.g. once per tensor or chunk) and returns 1 when it is set; the pipeline then
 * removes the temporary output directory. Threads a plugin starts must block these signals
 * (pthread_sigmask before pthread_create) so that they are delivered to llmc's main thread. */
LLMC_API int llmc_interrupted(void);

/* Checksums. Every file opened with llmc_out_open (or written with llmc_out_write_file) is
 * checksummed while it is written; its size and checksum go into OUT/manifest.json, which
 * `llmc validate` checks. A file that holds tensors marks each tensor's bytes, so that validate
 * names the tensor that changed: begin right before the tensor's first byte, end right after its
 * last (padding outside). Both return 0, or -1 with an error; on a FILE that llmc_out_open did
 * not open they do nothing. The stream refuses fseek: write files front to back. */
LLMC_API int llmc_out_tensor_begin(FILE *f, const char *name, llmc_diags *d);
LLMC_API int llmc_out_tensor_end(FILE *f, llmc_diags *d);

/* Verification: helpers for an emitter's verify() (llmc/plugin.h), which `llmc validate` calls
 * with ctx->out_dir set to the finished OUT. Messages are located at "OUT/rel". */
/* an error "OUT/rel: <message>"; say what is wrong as "(expected X, got Y)" */
LLMC_API void llmc_out_mismatch(const struct llmc_emit_ctx *ctx, const char *rel, llmc_diags *d, const char *fmt,
                                ...) LLMC_PRINTF(4, 5);
/* Compare OUT/rel with `expected`: the whole file (prefix false: same size and bytes) or its
 * first n bytes (prefix true, e.g. a header rebuilt in memory). JSON files are compared key by
 * key, each differing key reported ("hidden_size: expected 64, got 65"); other text by its first
 * differing line; binary by its first differing byte. A missing file is one error. Returns the
 * number of differences reported (0 = identical). */
LLMC_API int llmc_out_verify(const struct llmc_emit_ctx *ctx, const char *rel, const void *expected, size_t n,
                             bool prefix, llmc_diags *d);
/* Up to max bytes of OUT/rel from offset (fewer at the end of the file; *len says how many) in a
 * malloc'd, NUL-terminated buffer; *file_size gets the file's size. NULL with an error located at
 * OUT/rel when it is missing or unreadable. */
LLMC_API void *llmc_out_read(const struct llmc_emit_ctx *ctx, const char *rel, uint64_t offset, size_t max,
                             size_t *len, uint64_t *file_size, llmc_diags *d);

/* A file embedded in a plugin at build time (CMake: llmc_embed_files): code templates,
 * runtime sources. text is NUL-terminated; len excludes the NUL. */
typedef struct llmc_embedded_file {
    const char *name;   /* the file name without its ".in" */
    const char *text;
    size_t len;
} llmc_embedded_file;

/* Progress bar on stderr when it is a TTY; silent otherwise. */
typedef struct llmc_progress llmc_progress;
LLMC_API llmc_progress *llmc_progress_create(const char *label, uint64_t total);
LLMC_API void llmc_progress_update(llmc_progress *p, uint64_t done);   /* absolute */
LLMC_API void llmc_progress_add(llmc_progress *p, uint64_t delta);     /* relative; thread-safe */
LLMC_API void llmc_progress_free(llmc_progress *p);   /* finishes the line */

#ifdef __cplusplus
}
#endif
#endif
