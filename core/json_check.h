/* A one-pass, allocation-free check that a text is plainly valid JSON, so that the common
 * case (a valid spec) skips building jansson's tree just to learn that it is valid.
 *
 * Internal to the core (not part of the SDK). */
#ifndef LLMC_CORE_JSON_CHECK_H
#define LLMC_CORE_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc/export.h"

/* True only when text is RFC 8259 JSON that jansson's json_loadb (flags 0, which doc.c uses
 * with JSON_REJECT_DUPLICATES) accepts too: an object or array at the top, nested at most
 * max_depth deep, strings of valid UTF-8 without control characters, "\u0000" or surrogate
 * escapes, integers of at most 18 digits and reals that do not overflow a double. Duplicate
 * keys are not checked. False when the text is invalid, and also when it is merely unusual
 * (the caller then asks jansson, whose messages are the ones users see). */
LLMC_API bool llmc_json_plainly_valid(const char *text, size_t len, int max_depth);

#endif
