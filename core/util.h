/* Small internal helpers shared by the core (not part of the SDK). */
#ifndef LLMC_CORE_UTIL_H
#define LLMC_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"

LLMC_API char *llmc_strdup(const char *s);                /* NULL on OOM or NULL input */
LLMC_API char *llmc_strndup(const char *s, size_t n);
LLMC_API char *llmc_vasprintf(const char *fmt, va_list ap); /* malloc'd, NULL on OOM */
LLMC_API char *llmc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* checked 64-bit unsigned arithmetic: return false on overflow */
static inline bool llmc_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool llmc_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool llmc_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool llmc_add_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool llmc_sub_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_sub_overflow(a, b, out); }

/* Read a whole regular file (NUL-terminated copy, *len excludes the NUL). NULL + errno on
 * failure. Refuses files larger than max_bytes (errno = EFBIG), a directory (EISDIR) and a
 * FIFO, socket or device (ENOTSUP) without waiting on it. */
LLMC_API char *llmc_read_file(const char *path, size_t max_bytes, size_t *len);
/* 0 if path is a regular file this process may read; else -1 and errno as llmc_read_file
 * would set it (EISDIR, ENOTSUP for a FIFO, socket or device, ENOENT, EACCES, ...). */
LLMC_API int llmc_check_regular_file(const char *path);
/* What went wrong for a message "cannot read 'path': ...": "is a directory", "is a FIFO (named
 * pipe), not a regular file", ..., else strerror(err). */
LLMC_API const char *llmc_read_file_error(const char *path, int err);

/* Write len bytes as a new file beside path (same directory: ".NAME.tmp-XXXXXX"), mode 0644,
 * fsynced and closed; its name goes to tmp. The caller moves it into place (rename / link) or
 * unlinks it. 0, or -1 with an error naming path (nothing left behind). */
LLMC_API int llmc_write_temp_beside(const char *path, const void *data, size_t len, char *tmp, size_t tmp_len,
                                    llmc_diags *d);
/* path written atomically: llmc_write_temp_beside, then rename over path. */
LLMC_API int llmc_write_file_atomic(const char *path, const void *data, size_t len, llmc_diags *d);

/* Levenshtein distance, capped at cap+1 (for "did you mean"). */
LLMC_API size_t llmc_edit_distance(const char *a, const char *b, size_t cap);
/* The candidate closest to word within distance max(2, strlen(word)/3), or NULL. */
LLMC_API const char *llmc_closest(const char *word, const char *const *candidates, size_t n);

/* llmc_fmt_count ("1,234,567") is public: llmc/diag.h */

/* monotonic milliseconds */
LLMC_API double llmc_now_ms(void);

#endif
