/* llmc SDK — a growable string for generated text (JSON, source code, file headers).
 *
 * Appending never reports an error at the call: an allocation failure or a size that would
 * overflow sets oom, later appends do nothing, and llmc_strbuf_take returns NULL, so a writer
 * checks once at the end. s is NUL-terminated whenever it is non-NULL.
 *
 *     llmc_strbuf b = LLMC_STRBUF_INIT;
 *     llmc_strbuf_printf(&b, "#define HIDDEN %d\n", hidden);
 *     char *text = llmc_strbuf_take(&b);   // NULL: out of memory
 */
#ifndef LLMC_STRBUF_H
#define LLMC_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "llmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_strbuf {
    char *s;      /* the text so far, NUL-terminated (NULL while empty) */
    size_t n;     /* its length */
    size_t cap;   /* bytes allocated */
    bool oom;     /* an allocation failed or a size overflowed: the text is incomplete */
} llmc_strbuf;

#define LLMC_STRBUF_INIT {NULL, 0, 0, false}

LLMC_API void llmc_strbuf_append(llmc_strbuf *b, const char *s, size_t n);
LLMC_API void llmc_strbuf_puts(llmc_strbuf *b, const char *s);
LLMC_API void llmc_strbuf_printf(llmc_strbuf *b, const char *fmt, ...) LLMC_PRINTF(2, 3);
LLMC_API void llmc_strbuf_vprintf(llmc_strbuf *b, const char *fmt, va_list ap);
/* The text (the caller frees it; "" for an empty buffer), or NULL after an allocation failure.
 * Either way b is empty afterwards and may be reused. */
LLMC_API char *llmc_strbuf_take(llmc_strbuf *b);
LLMC_API void llmc_strbuf_free(llmc_strbuf *b);

#ifdef __cplusplus
}
#endif
#endif
