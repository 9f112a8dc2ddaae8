/* SentencePiece's precompiled character map and its text normalizer.
 *
 * A precompiled_charsmap (NormalizerSpec.precompiled_charsmap in a tokenizer.model, or base64 in
 * the "Precompiled" normalizer of a tokenizer.json) is
 *     u32 little-endian T, T bytes of a Darts-clone double-array trie (T/4 u32 units),
 *     then the replacement strings, each ended by a NUL byte.
 * The trie maps UTF-8 byte sequences to the offset of their replacement string. sentencepiece's
 * default "nmt_nfkc" rules (NFKC plus whitespace and control-character clean-up) are shipped this
 * way. Both readers use the functions below: sentencepiece replaces the longest matching prefix
 * (llmc_charsmap_longest); Hugging Face tokenizers replaces a whole grapheme (or character) by
 * the shortest rule matching its start (llmc_charsmap_first).
 *
 * The blob is untrusted: its header is checked when it is loaded, and every trie step and every
 * replacement offset is bounds-checked when it is used (a damaged trie just matches less). */
#ifndef LLMC_CORE_TOK_CHARSMAP_H
#define LLMC_CORE_TOK_CHARSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "tok_buf.h"
#include "tok_spm.h"
#include "tok_trie.h"

typedef struct llmc_charsmap llmc_charsmap;

/* Copies the blob. name and key locate errors ("tokenizer.model", "normalizer_spec.precompiled_charsmap"). */
LLMC_API llmc_charsmap *llmc_charsmap_create(const void *blob, size_t len, const char *name, const char *key,
                                             llmc_diags *d);
LLMC_API void llmc_charsmap_free(llmc_charsmap *cm);

/* sentencepiece (normalizer.cc): the longest of the first 32 rules that match a prefix of s[0..n).
 * Returns the number of input bytes the rule covers (0: no rule matches) and its replacement in
 * *out / *out_len (not NUL-terminated; may be empty: the rule deletes). */
LLMC_API size_t llmc_charsmap_longest(const llmc_charsmap *cm, const char *s, size_t n, const char **out,
                                      size_t *out_len);
/* Hugging Face tokenizers (spm_precompiled's transform): the replacement of the shortest rule that
 * matches a prefix of chunk (the caller replaces the whole chunk with it). False: no rule. */
LLMC_API bool llmc_charsmap_first(const llmc_charsmap *cm, const char *chunk, size_t n, const char **out,
                                  size_t *out_len);

/* The same from the base64 text of a tokenizer.json "Precompiled" normalizer. */
LLMC_API llmc_charsmap *llmc_charsmap_from_base64(const char *b64, size_t len, const char *name, const char *key,
                                                  llmc_diags *d);
/* SentencePiece's "nfkc" rules derived from llmc's Unicode tables (core/tok_charsmap_build.c), as
 * a precompiled charsmap blob: malloc'd into *blob / *len. nmt: plus the rules of its "nmt_nfkc"
 * (below), except that U+FF5E FULLWIDTH TILDE still becomes "~" (sentencepiece keeps it; a
 * tokenizer.json's NFKC cannot). False only on out of memory. */
LLMC_API bool llmc_charsmap_build_nfkc(bool nmt, unsigned char **blob, size_t *len);

/* nmt_nfkc's additions to NFKC: characters that become a space, characters deleted; and the same
 * as the tokenizer.json Replace steps that follow NFKC (--normalization nmt_nfkc) */
#define LLMC_NMT_SPACE_CHARS                                                                            \
    {0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B, 0x200C, 0x200E, 0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD}
#define LLMC_NMT_DELETED_CHARS                                                                          \
    {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, \
     0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x7F, 0x8F, 0x9F}
#define LLMC_NMT_DELETE_JSON                                                                            \
    "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[\\u0001-\\u0008\\u000b\\u000e-\\u001f\\u007f\\u008f\\u009f]\"}," \
    "\"content\":\"\"}"
#define LLMC_NMT_SPACE_JSON                                                                             \
    "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[\\t\\n\\f\\r\\u1680\\u200b\\u200c\\u200e\\u200f\\u2028\\u2029\\u2581\\ufeff\\ufffd]\"}," \
    "\"content\":\" \"}"

/* Standard base64 (RFC 4648, '=' padding). encode: malloc'd NUL-terminated text; decode: malloc'd
 * bytes in *out_len, NULL when the text is not base64. */
LLMC_API char *llmc_base64_encode(const void *data, size_t n);
LLMC_API unsigned char *llmc_base64_decode(const char *s, size_t n, size_t *out_len);

/* sentencepiece's Normalizer: the charsmap (if any), whitespace handling and the U+2581 escape. */
typedef struct llmc_spm_normalizer llmc_spm_normalizer;

typedef struct llmc_spm_normalizer_params {
    bool add_dummy_prefix;          /* NormalizerSpec fields */
    bool remove_extra_whitespaces;
    bool escape_whitespaces;
    bool treat_whitespace_as_suffix; /* TrainerSpec field: the dummy whitespace goes at the end */
    const llmc_charsmap *charsmap;   /* borrowed; NULL: identity */
    const llmc_trie *user_defined;   /* borrowed; pieces never split by the normalizer; NULL: none */
} llmc_spm_normalizer_params;

LLMC_API llmc_spm_normalizer_params llmc_spm_normalizer_default_params(void);
LLMC_API llmc_spm_normalizer *llmc_spm_normalizer_create(const llmc_spm_normalizer_params *p);
LLMC_API void llmc_spm_normalizer_free(llmc_spm_normalizer *nm);

/* Normalize text[0..n) into out (cleared first). Invalid UTF-8 becomes U+FFFD, one per bad
 * byte, as in sentencepiece. False only on out of memory. */
LLMC_API bool llmc_spm_normalize(const llmc_spm_normalizer *nm, const char *text, size_t n, llmc_tok_bytes *out);

#endif
