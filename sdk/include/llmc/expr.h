/* llmc — constraint expressions over dimension names and spec values.
 *
 * Grammar (integers only, 64-bit, overflow checked):
 *   expr   := or
 *   or     := and ( ("or" | "||") and )*
 *   and    := not ( ("and" | "&&") not )*
 *   not    := ("not" | "!") not | cmp
 *   cmp    := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum | "in" range | "in" set ]
 *   range  := "[" sum "," sum "]"          inclusive
 *   set    := "{" sum ("," sum)* "}"
 *   sum    := prod ( ("+" | "-") prod )*
 *   prod   := unary ( ("*" | "/" | "%") unary )*   "/" is exact-or-floor integer division
 *   unary  := "-" unary | atom
 *   atom   := INTEGER | NAME | "(" expr ")"      INTEGER accepts 7B/125M/1e9 forms too
 * A comparison yields 1 or 0; a constraint holds when its value is non-zero. */
#ifndef LLMC_EXPR_H
#define LLMC_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_expr llmc_expr;

/* Parse. On error returns NULL, sets *err_col to the 1-based column in text and writes
 * a message such as "expected ')' (got end of expression)" to err. */
LLMC_API llmc_expr *llmc_expr_parse(const char *text, int *err_col, char *err, size_t err_len);
LLMC_API void llmc_expr_free(llmc_expr *e);

/* Variable lookup: return 0 and set *out if name is known, non-zero otherwise. */
typedef int (*llmc_expr_lookup_fn)(void *user, const char *name, int64_t *out);

/* Evaluate. Returns 0 on success. Unknown names, division by zero and overflow are
 * errors (non-zero return, message in err). */
LLMC_API int llmc_expr_eval(const llmc_expr *e, llmc_expr_lookup_fn lookup, void *user,
                            int64_t *result, char *err, size_t err_len);

/* Names referenced by the expression, in first-use order. Returns how many there are;
 * writes at most max pointers (owned by e). */
LLMC_API size_t llmc_expr_names(const llmc_expr *e, const char **names, size_t max);

/* Standard lookup over dims + spec values (vocab_size, context_length, sliding_window,
 * target_params). user must point to an llmc_expr_env. */
typedef struct llmc_expr_env {
    const llmc_spec *spec;
    const llmc_dims *dims;
} llmc_expr_env;
LLMC_API int llmc_expr_env_lookup(void *user, const char *name, int64_t *out);
/* true if name is a dim name or a spec value the env lookup knows */
LLMC_API int llmc_expr_name_known(const char *name);

#ifdef __cplusplus
}
#endif
#endif
