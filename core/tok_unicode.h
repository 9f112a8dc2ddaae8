/* Unicode for the tokenizer: UTF-8 decoding/encoding, general categories and the properties the
 * Hugging Face tokenizers library consults (Rust's char::is_whitespace / is_alphabetic /
 * is_numeric / to_lowercase, Oniguruma's \s \w \p{..}), case folding, and the four normalization
 * forms. The tables are generated at build time from Debian's unicode-data package
 * (core/unicode/gen_unicode.c). Internal to the core. */
#ifndef LLMC_CORE_TOK_UNICODE_H
#define LLMC_CORE_TOK_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

/* general categories (the generator's order) */
typedef enum llmc_gc {
    LLMC_GC_Cn, LLMC_GC_Lu, LLMC_GC_Ll, LLMC_GC_Lt, LLMC_GC_Lm, LLMC_GC_Lo, LLMC_GC_Mn, LLMC_GC_Mc,
    LLMC_GC_Me, LLMC_GC_Nd, LLMC_GC_Nl, LLMC_GC_No, LLMC_GC_Pc, LLMC_GC_Pd, LLMC_GC_Ps, LLMC_GC_Pe,
    LLMC_GC_Pi, LLMC_GC_Pf, LLMC_GC_Po, LLMC_GC_Sm, LLMC_GC_Sc, LLMC_GC_Sk, LLMC_GC_So, LLMC_GC_Zs,
    LLMC_GC_Zl, LLMC_GC_Zp, LLMC_GC_Cc, LLMC_GC_Cf, LLMC_GC_Cs, LLMC_GC_Co,
    LLMC_GC_COUNT
} llmc_gc;

#define LLMC_GCM(gc) (1u << (gc))
#define LLMC_GCM_L (LLMC_GCM(LLMC_GC_Lu) | LLMC_GCM(LLMC_GC_Ll) | LLMC_GCM(LLMC_GC_Lt) | LLMC_GCM(LLMC_GC_Lm) | LLMC_GCM(LLMC_GC_Lo))
#define LLMC_GCM_M (LLMC_GCM(LLMC_GC_Mn) | LLMC_GCM(LLMC_GC_Mc) | LLMC_GCM(LLMC_GC_Me))
#define LLMC_GCM_N (LLMC_GCM(LLMC_GC_Nd) | LLMC_GCM(LLMC_GC_Nl) | LLMC_GCM(LLMC_GC_No))
#define LLMC_GCM_P (LLMC_GCM(LLMC_GC_Pc) | LLMC_GCM(LLMC_GC_Pd) | LLMC_GCM(LLMC_GC_Ps) | LLMC_GCM(LLMC_GC_Pe) | \
                    LLMC_GCM(LLMC_GC_Pi) | LLMC_GCM(LLMC_GC_Pf) | LLMC_GCM(LLMC_GC_Po))
#define LLMC_GCM_S (LLMC_GCM(LLMC_GC_Sm) | LLMC_GCM(LLMC_GC_Sc) | LLMC_GCM(LLMC_GC_Sk) | LLMC_GCM(LLMC_GC_So))
#define LLMC_GCM_Z (LLMC_GCM(LLMC_GC_Zs) | LLMC_GCM(LLMC_GC_Zl) | LLMC_GCM(LLMC_GC_Zp))
#define LLMC_GCM_C (LLMC_GCM(LLMC_GC_Cn) | LLMC_GCM(LLMC_GC_Cc) | LLMC_GCM(LLMC_GC_Cf) | LLMC_GCM(LLMC_GC_Cs) | LLMC_GCM(LLMC_GC_Co))

/* property bits (must match the generator) */
#define LLMC_UP_WHITE_SPACE (1u << 5)
#define LLMC_UP_ALPHABETIC (1u << 6)
#define LLMC_UP_JOIN_CONTROL (1u << 7)
#define LLMC_UP_HAS_LOWER (1u << 8)
#define LLMC_UP_HAS_FOLD (1u << 9)
#define LLMC_UP_HAS_DECOMP (1u << 10)

extern const uint16_t llmc_uc_props_stage1[];
extern const uint16_t llmc_uc_props_stage2[];

static inline uint16_t llmc_uc_props(uint32_t cp) {
    if (cp >= 0x110000u) return 0;
    return llmc_uc_props_stage2[((uint32_t)llmc_uc_props_stage1[cp >> 7] << 7) | (cp & 127u)];
}
static inline llmc_gc llmc_uc_gc(uint32_t cp) { return (llmc_gc)(llmc_uc_props(cp) & 31u); }
static inline bool llmc_uc_gc_in(uint32_t cp, uint32_t mask) { return (mask >> (llmc_uc_props(cp) & 31u)) & 1u; }

/* Rust char methods (tokenizers' pre-tokenizers and normalizers) */
static inline bool llmc_uc_is_whitespace(uint32_t cp) { return llmc_uc_props(cp) & LLMC_UP_WHITE_SPACE; }
static inline bool llmc_uc_is_alphabetic(uint32_t cp) { return llmc_uc_props(cp) & LLMC_UP_ALPHABETIC; }
static inline bool llmc_uc_is_numeric(uint32_t cp) { return llmc_uc_gc_in(cp, LLMC_GCM_N); }
/* Rust regex's \w: Alphabetic, M, Nd, Pc, Join_Control */
static inline bool llmc_uc_is_rust_word(uint32_t cp) {
    uint16_t p = llmc_uc_props(cp);
    return (p & (LLMC_UP_ALPHABETIC | LLMC_UP_JOIN_CONTROL)) ||
           ((LLMC_GCM_M | LLMC_GCM(LLMC_GC_Nd) | LLMC_GCM(LLMC_GC_Pc)) >> (p & 31u) & 1u);
}
/* Oniguruma's \s for UTF-8: 0x09-0x0D, 0x85, Zs, Zl, Zp */
static inline bool llmc_uc_is_onig_space(uint32_t cp) {
    return (cp >= 9 && cp <= 13) || cp == 0x85 || llmc_uc_gc_in(cp, LLMC_GCM_Z);
}
/* Oniguruma's \w for UTF-8: L, M, Nd, Pc */
static inline bool llmc_uc_is_onig_word(uint32_t cp) {
    return llmc_uc_gc_in(cp, LLMC_GCM_L | LLMC_GCM_M | LLMC_GCM(LLMC_GC_Nd) | LLMC_GCM(LLMC_GC_Pc));
}

LLMC_API uint8_t llmc_uc_ccc(uint32_t cp);
/* The general category as Unicode 8.0 had it (the unicode_categories crate: HF's BertNormalizer
 * is_other and non-spacing marks, BertPreTokenizer and Punctuation) and as 9.0 had it
 * (unicode-normalization-alignments' is_combining_mark: HF's StripAccents). */
LLMC_API llmc_gc llmc_uc_gc8(uint32_t cp);
/* llmc_uc_gc() for code outside libllmc (the PyTorch emitter writes the table into tokenizer.py) */
LLMC_API llmc_gc llmc_uc_gc_current(uint32_t cp);
LLMC_API llmc_gc llmc_uc_gc9(uint32_t cp);
/* Rust's char::to_lowercase: up to 3 code points into out, returns the count (>= 1) */
LLMC_API int llmc_uc_lower(uint32_t cp, uint32_t out[3]);
/* simple case folding (CaseFolding C + S); cp itself when it has none */
LLMC_API uint32_t llmc_uc_fold(uint32_t cp);

/* ---- UTF-8 ---------------------------------------------------------------------------------- */
/* Decode one code point from s[0..n) (n >= 1). Returns its length (1..4) and the code point in
 * *cp; for an invalid or truncated sequence returns 1 and *cp = LLMC_UTF8_INVALID | the byte. */
#define LLMC_UTF8_INVALID 0x80000000u
static inline int llmc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF && n >= 2 && (s[1] & 0xC0) == 0x80) {
        *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        uint32_t v = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            *cp = v;
            return 3;
        }
    } else if (c >= 0xF0 && c <= 0xF4 && n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
               (s[3] & 0xC0) == 0x80) {
        uint32_t v = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
        if (v >= 0x10000 && v <= 0x10FFFF) {
            *cp = v;
            return 4;
        }
    }
    *cp = LLMC_UTF8_INVALID | c;
    return 1;
}
/* Encode cp (< 0x110000) into out; returns the length. */
static inline int llmc_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
/* Length of the longest valid UTF-8 prefix of s[0..n). */
LLMC_API size_t llmc_utf8_valid_prefix(const char *s, size_t n);
static inline bool llmc_utf8_valid(const char *s, size_t n) { return llmc_utf8_valid_prefix(s, n) == n; }

/* ---- normalization ---------------------------------------------------------------------------- */
typedef enum llmc_nf { LLMC_NFD, LLMC_NFC, LLMC_NFKD, LLMC_NFKC } llmc_nf;
/* Normalize code points in[0..n) into *out (realloc'd as needed; *cap its capacity in code
 * points); returns the count, or -1 when out of memory. */
LLMC_API long llmc_uc_normalize(llmc_nf form, const uint32_t *in, size_t n, uint32_t **out, size_t *cap);

#endif
