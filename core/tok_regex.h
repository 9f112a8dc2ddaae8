/* A small backtracking regular-expression engine with Oniguruma's (Ruby syntax) semantics for
 * the constructs tokenizer.json files use: the GPT-2, Llama-3, Qwen and similar pre-tokenizer
 * patterns, Replace / Split patterns. Matching is on UTF-8 text by code point; the first
 * alternative that leads to a match wins (not the longest), as in Oniguruma.
 *
 * Supported: literals and escapes (\t \n \r \f \v \e \a \0 \xHH \x{H..} \uHHHH, escaped
 * punctuation), . \s \S \d \D \w \W \h \H, \p{..} \P{..} \p{^..} with general categories
 * (L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P.. S.. Z.. C..) and their long names, bracket
 * classes with ranges, negation and nested escapes, groups ( ) (?: ) (?i: ) (?-i: ), inline
 * (?i) / (?-i), lookahead (?= ) (?! ), atomic groups (?> ), quantifiers ? * + {n} {n,} {n,m}
 * {,m}, lazy (??, *?, +?, {..}?) and possessive (?+ *+ ++), anchors ^ $ \A \z \Z \b \B.
 * Anything else is refused at compile time with the offset and the construct. Internal. */
#ifndef LLMC_CORE_TOK_REGEX_H
#define LLMC_CORE_TOK_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

typedef struct llmc_regex llmc_regex;

/* Per-thread matching state (backtracking stack); zero-initialise, free with _free. */
typedef struct llmc_regex_scratch {
    void *stack;
    size_t cap;
} llmc_regex_scratch;
LLMC_API void llmc_regex_scratch_free(llmc_regex_scratch *s);

/* Compile pattern[0..len). NULL on error, with a message in err ("unsupported construct
 * '(?<' at offset 3", "unbalanced ')' at offset 9", ...). */
LLMC_API llmc_regex *llmc_regex_compile(const char *pattern, size_t len, char *err, size_t errn);
/* A regex matching the literal string s (Split / Replace "String" patterns). */
LLMC_API llmc_regex *llmc_regex_literal(const char *s, size_t len);
LLMC_API void llmc_regex_free(llmc_regex *re);

/* Leftmost match in s[0..n) starting at or after `from` (a code point boundary).
 * 1 = found (*ms, *me), 0 = none, -1 = out of memory or step budget exhausted (a
 * pathological pattern; *me is set to 0). */
LLMC_API int llmc_regex_search(const llmc_regex *re, const char *s, size_t n, size_t from, size_t *ms, size_t *me,
                               llmc_regex_scratch *scratch);

/* Callback form of find_iter (Rust's / the onig crate's iteration: after an empty match the next
 * search starts one character later, and an empty match right where the previous match ended is
 * skipped). fn returns non-zero to stop. Returns 0, or -1 as llmc_regex_search. */
typedef int (*llmc_regex_match_fn)(void *ctx, size_t start, size_t end);
LLMC_API int llmc_regex_find_all(const llmc_regex *re, const char *s, size_t n, llmc_regex_scratch *scratch,
                                 llmc_regex_match_fn fn, void *ctx);

#endif
