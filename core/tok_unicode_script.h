/* The Unicode Script property (UAX #24) of a code point, from a table generated out of the
 * Unicode Character Database by scripts/gen_unicode_scripts.py (core/tok_unicode_script.c).
 * The unigram trainer uses it for sentencepiece's rule that a piece does not mix scripts. */
#ifndef LLMC_CORE_TOK_UNICODE_SCRIPT_H
#define LLMC_CORE_TOK_UNICODE_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

#define LLMC_SCRIPT_COMMON 0    /* also every code point the database does not list */
#define LLMC_SCRIPT_INHERITED 1 /* combining marks: the script of the character before */

/* The script id of cp: LLMC_SCRIPT_COMMON, LLMC_SCRIPT_INHERITED, or another id >= 2. */
LLMC_API int llmc_unicode_script(uint32_t cp);
/* The name of a script id ("Latin"), NULL when out of range; and the id of a name, or -1. */
LLMC_API const char *llmc_unicode_script_name(int script);
LLMC_API int llmc_unicode_script_id(const char *name);

#endif
