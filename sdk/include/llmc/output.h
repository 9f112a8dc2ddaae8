/* llmc — output helpers for emitters. Emitters write only below ctx->out_dir, a
 * temporary directory that the pipeline renames into place when every step succeeded,
 * so a failed compile never leaves a half-written model. */
#ifndef LLMC_OUTPUT_H
#define LLMC_OUTPUT_H

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
