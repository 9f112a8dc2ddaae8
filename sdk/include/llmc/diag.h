/* llmc — diagnostics: every error carries a location and a message a user can act on.
 *
 * Printed form:   file:line:col: key.path: what is wrong (expected X, got Y)
 * Warnings add "warning: " after the location; notes add "note: ".
 * A diagnostic without a location prints as "llmc: key.path: message". */
#ifndef LLMC_DIAG_H
#define LLMC_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum llmc_severity {
    LLMC_SEV_ERROR = 0,
    LLMC_SEV_WARNING = 1,
    LLMC_SEV_NOTE = 2
} llmc_severity;

/* A source location. line/col are 1-based; 0 means unknown. file may be NULL. */
typedef struct llmc_loc {
    const char *file;
    int line;
    int col;
} llmc_loc;

typedef struct llmc_diag {
    llmc_severity severity;
    llmc_loc loc;      /* loc.file points into the diag list's own storage */
    const char *key;   /* key path such as "rope.theta", or NULL */
    const char *message;
} llmc_diag;

typedef struct llmc_diags llmc_diags; /* opaque, growable list */

LLMC_API llmc_diags *llmc_diags_create(void);
LLMC_API void llmc_diags_free(llmc_diags *d);
LLMC_API void llmc_diags_clear(llmc_diags *d);

/* Append a diagnostic. file and key are copied. Never fails silently: on OOM it
 * records a fixed "out of memory" error instead. */
LLMC_API void llmc_diag_add(llmc_diags *d, llmc_severity sev, llmc_loc loc, const char *key,
                            const char *fmt, ...) LLMC_PRINTF(5, 6);
LLMC_API void llmc_diag_addv(llmc_diags *d, llmc_severity sev, llmc_loc loc, const char *key,
                             const char *fmt, va_list ap);
/* Shorthands: error/warning with no location. */
LLMC_API void llmc_error(llmc_diags *d, const char *key, const char *fmt, ...) LLMC_PRINTF(3, 4);
LLMC_API void llmc_warning(llmc_diags *d, const char *key, const char *fmt, ...) LLMC_PRINTF(3, 4);

LLMC_API size_t llmc_diags_size(const llmc_diags *d);
LLMC_API size_t llmc_diags_errors(const llmc_diags *d);   /* count of LLMC_SEV_ERROR */
LLMC_API size_t llmc_diags_warnings(const llmc_diags *d); /* count of LLMC_SEV_WARNING */
LLMC_API const llmc_diag *llmc_diags_get(const llmc_diags *d, size_t i);

/* Move every diagnostic of src to the end of dst (src is left empty). */
LLMC_API void llmc_diags_take(llmc_diags *dst, llmc_diags *src);
/* Same, in file order (line, then column; unlocated ones last; ties keep their order): checks
 * that run key by key still print top to bottom. */
LLMC_API void llmc_diags_take_sorted(llmc_diags *dst, llmc_diags *src);

/* Format one diagnostic in the printed form above (no trailing newline).
 * Returns the length it needed, like snprintf. */
LLMC_API int llmc_diag_format(const llmc_diag *g, char *buf, size_t n);
/* Print every diagnostic, one per line, in insertion order. */
LLMC_API void llmc_diags_print(const llmc_diags *d, FILE *f);

/* "1,234,567": an unsigned count with thousands separators, into buf (returns buf). */
LLMC_API const char *llmc_fmt_count(uint64_t v, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
