/* tokenizer.json reader: the Hugging Face tokenizers serialization (version "1.0") into a
 * tok_core. The file is untrusted: every field is type-checked, every size and id bounded,
 * duplicate pieces and ids refused, merges must name pieces of the vocabulary. Anything we do
 * not implement is refused naming its key path and what is supported. Semantics of defaults and
 * legacy fields follow the HF deserializers (e.g. Metaspace add_prefix_space, BPE merges as
 * "a b" strings, added token ids assigned as HF's AddedVocabulary does). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_unicode.h"
#include "util.h"

#if defined(__has_include)
#if __has_include("tok_spm_model.h")
#include "tok_spm_model.h"
#endif
#if __has_include("tok_unigram.h")
#include "tok_unigram.h"
#define LLMC_HAVE_UNIGRAM 1
#endif
#endif

const char tok_supported_normalizers[] =
    "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Prepend, Replace, BertNormalizer, ByteLevel";
const char tok_supported_pretokenizers[] = "Sequence, ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, "
                                           "BertPreTokenizer, Digits, Punctuation, CharDelimiterSplit";
const char tok_supported_models[] = "BPE, WordPiece, WordLevel, Unigram";
const char tok_supported_decoders[] =
    "Sequence, ByteLevel, Metaspace, WordPiece, ByteFallback, Fuse, Strip, Replace, BPEDecoder, CTC";
const char tok_supported_post[] = "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence";

typedef struct reader {
    const char *name;
    llmc_diags *d;
    int errors;
} reader;

static void rerr(reader *r, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rerr(reader *r, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_loc loc = {r->name, 0, 0};
    llmc_diag_addv(r->d, LLMC_SEV_ERROR, loc, path, fmt, ap);
    va_end(ap);
    r->errors++;
}

static const char *jtype(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* key paths: truncated (never overflowing) when absurdly deep */
static void pathf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}
static void sub(char *out, size_t n, const char *path, const char *key) {
    pathf(out, n, "%s%s%s", path, path[0] ? "." : "", key);
}
static void idx(char *out, size_t n, const char *path, size_t i) { pathf(out, n, "%s[%zu]", path, i); }

/* optional bool: absent or null -> def */
static bool get_bool(reader *r, const json_t *o, const char *key, bool def, const char *path) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return def;
    if (!json_is_boolean(v)) {
        char p[512];
        sub(p, sizeof p, path, key);
        rerr(r, p, "expected a boolean, got %s", jtype(v));
        return def;
    }
    return json_is_true(v);
}

/* optional string: NULL when absent/null (or wrong type: diagnosed) */
static const char *get_str(reader *r, const json_t *o, const char *key, const char *path, size_t *len) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        char p[512];
        sub(p, sizeof p, path, key);
        rerr(r, p, "expected a string, got %s", jtype(v));
        return NULL;
    }
    if (len) *len = json_string_length(v);
    return json_string_value(v);
}

static const char *req_str(reader *r, const json_t *o, const char *key, const char *path, size_t *len) {
    json_t *v = json_object_get(o, key);
    if (!v) {
        char p[512];
        sub(p, sizeof p, path, key);
        rerr(r, p, "missing (expected a string)");
        return NULL;
    }
    return get_str(r, o, key, path, len);
}

/* optional non-negative integer */
static bool get_uint(reader *r, const json_t *o, const char *key, uint64_t max, uint64_t *out, const char *path) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return false;
    char p[512];
    sub(p, sizeof p, path, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        rerr(r, p, "expected an integer in 0..%llu, got %s", (unsigned long long)max, jtype(v));
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* one code point given as a one-character string */
static bool get_char(reader *r, const json_t *o, const char *key, const char *path, uint32_t *cp) {
    size_t len;
    const char *s = req_str(r, o, key, path, &len);
    if (!s) return false;
    uint32_t c;
    int k = len ? llmc_utf8_decode((const unsigned char *)s, len, &c) : 0;
    if (!len || (size_t)k != len || (c & LLMC_UTF8_INVALID)) {
        char p[512];
        sub(p, sizeof p, path, key);
        rerr(r, p, "expected a single character, got \"%.*s\"", (int)(len > 40 ? 40 : len), s);
        return false;
    }
    *cp = c;
    return true;
}

static char *dup_bytes(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static const char *type_of(reader *r, const json_t *v, const char *path, const char *what) {
    if (!json_is_object(v)) {
        rerr(r, path, "expected %s object, got %s", what, jtype(v));
        return NULL;
    }
    size_t len;
    const char *t = req_str(r, v, "type", path, &len);
    return t;
}

static bool behavior_of(reader *r, const json_t *o, const char *key, const char *path, tok_split_behavior def,
                        tok_split_behavior *out) {
    size_t len;
    const char *b = get_str(r, o, key, path, &len);
    if (!b) {
        if (json_object_get(o, key) && !json_is_null(json_object_get(o, key))) return false;
        *out = def;
        return true;
    }
    static const struct {
        const char *name;
        tok_split_behavior v;
    } names[] = {{"Removed", SPLIT_REMOVED},
                 {"Isolated", SPLIT_ISOLATED},
                 {"MergedWithPrevious", SPLIT_MERGED_WITH_PREVIOUS},
                 {"MergedWithNext", SPLIT_MERGED_WITH_NEXT},
                 {"Contiguous", SPLIT_CONTIGUOUS}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(b, names[i].name)) {
            *out = names[i].v;
            return true;
        }
    char p[512];
    sub(p, sizeof p, path, key);
    rerr(r, p, "unknown behavior '%s' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)",
         b);
    return false;
}

/* {"String": "..."} or {"Regex": "..."} */
static llmc_regex *pattern_of(reader *r, const json_t *o, const char *path) {
    char p[512];
    sub(p, sizeof p, path, "pattern");
    json_t *pat = json_object_get(o, "pattern");
    if (!json_is_object(pat)) {
        rerr(r, p, "expected {\"String\": ...} or {\"Regex\": ...}, got %s", pat ? jtype(pat) : "nothing");
        return NULL;
    }
    json_t *s = json_object_get(pat, "String"), *re = json_object_get(pat, "Regex");
    if (json_is_string(s)) {
        llmc_regex *x = llmc_regex_literal(json_string_value(s), json_string_length(s));
        if (!x) rerr(r, p, "out of memory");
        return x;
    }
    if (json_is_string(re)) {
        char err[256];
        llmc_regex *x = llmc_regex_compile(json_string_value(re), json_string_length(re), err, sizeof err);
        if (!x) {
            char q[600];
            pathf(q, sizeof q, "%s.Regex", p);
            rerr(r, q, "%s", err);
        }
        return x;
    }
    rerr(r, p, "expected {\"String\": \"...\"} or {\"Regex\": \"...\"}");
    return NULL;
}

/* ---- normalizers ------------------------------------------------------------------------------------------- */

/* A component's "type", refusing nesting deeper than LLMC_TOK_MAX_DEPTH (NULL after an error). */
static const char *component_type(reader *r, const json_t *v, const char *path, int depth, const char *what) {
    const char *t = type_of(r, v, path, what);
    if (t && depth > LLMC_TOK_MAX_DEPTH) {
        rerr(r, path, "Sequence nested deeper than %d", LLMC_TOK_MAX_DEPTH);
        return NULL;
    }
    return t;
}

/* A Sequence's array member `key` (path of it in p) and room for its items, zeroed; NULL after
 * an error. The caller reads the items, counting each before reading it so that a partly read
 * item is freed with the rest. */
static json_t *sequence_items(reader *r, const json_t *v, const char *path, const char *key, char *p, size_t psize,
                              size_t item_size, void **items) {
    json_t *a = json_object_get(v, key);
    sub(p, psize, path, key);
    if (!json_is_array(a)) {
        rerr(r, p, "expected an array, got %s", a ? jtype(a) : "nothing");
        return NULL;
    }
    size_t n = json_array_size(a);
    *items = calloc(n ? n : 1, item_size);
    if (!*items) {
        rerr(r, p, "out of memory");
        return NULL;
    }
    return a;
}

static void normalizer_clear(tok_normalizer *n) {
    for (size_t i = 0; i < n->n_items; i++) normalizer_clear(&n->items[i]);
    free(n->items);
    free(n->text);
    llmc_regex_free(n->re);
    memset(n, 0, sizeof *n);
}

static bool read_normalizer(reader *r, const json_t *v, const char *path, int depth, tok_normalizer *out) {
    memset(out, 0, sizeof *out);
    const char *t = component_type(r, v, path, depth, "a normalizer");
    if (!t) return false;
    char p[512];
    if (!strcmp(t, "Sequence")) {
        out->type = NORM_SEQUENCE;
        json_t *a = sequence_items(r, v, path, "normalizers", p, sizeof p, sizeof *out->items, (void **)&out->items);
        if (!a) return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            char q[512];
            idx(q, sizeof q, p, i);
            out->n_items++;
            if (!read_normalizer(r, json_array_get(a, i), q, depth + 1, &out->items[out->n_items - 1])) return false;
        }
        return true;
    }
    if (!strcmp(t, "NFC")) out->type = NORM_NFC;
    else if (!strcmp(t, "NFD")) out->type = NORM_NFD;
    else if (!strcmp(t, "NFKC")) out->type = NORM_NFKC;
    else if (!strcmp(t, "NFKD")) out->type = NORM_NFKD;
    else if (!strcmp(t, "Lowercase")) out->type = NORM_LOWERCASE;
    else if (!strcmp(t, "StripAccents")) out->type = NORM_STRIP_ACCENTS;
    else if (!strcmp(t, "ByteLevel")) out->type = NORM_BYTE_LEVEL;
    else if (!strcmp(t, "Strip")) {
        out->type = NORM_STRIP;
        out->left = get_bool(r, v, "strip_left", false, path);
        out->right = get_bool(r, v, "strip_right", false, path);
    } else if (!strcmp(t, "Prepend")) {
        out->type = NORM_PREPEND;
        size_t len;
        const char *s = req_str(r, v, "prepend", path, &len);
        if (!s) return false;
        out->text = dup_bytes(s, len);
        out->text_len = len;
    } else if (!strcmp(t, "Replace")) {
        out->type = NORM_REPLACE;
        size_t len;
        const char *s = req_str(r, v, "content", path, &len);
        if (!s) return false;
        out->text = dup_bytes(s, len);
        out->text_len = len;
        out->re = pattern_of(r, v, path);
        if (!out->re) return false;
    } else if (!strcmp(t, "BertNormalizer")) {
        out->type = NORM_BERT;
        out->clean_text = get_bool(r, v, "clean_text", true, path);
        out->chinese = get_bool(r, v, "handle_chinese_chars", true, path);
        out->lowercase = get_bool(r, v, "lowercase", true, path);
        json_t *sa = json_object_get(v, "strip_accents");
        out->strip_accents = (!sa || json_is_null(sa)) ? -1 : json_is_true(sa) ? 1 : 0;
        if (sa && !json_is_null(sa) && !json_is_boolean(sa)) {
            sub(p, sizeof p, path, "strip_accents");
            rerr(r, p, "expected a boolean or null, got %s", jtype(sa));
        }
    } else {
        sub(p, sizeof p, path, "type");
        rerr(r, p, "unsupported '%s' (supported: %s)", t, tok_supported_normalizers);
        return false;
    }
    if (out->text == NULL && (out->type == NORM_PREPEND || out->type == NORM_REPLACE)) {
        rerr(r, path, "out of memory");
        return false;
    }
    return true;
}

/* ---- pre-tokenizers ------------------------------------------------------------------------------------- */

static void pretok_clear(tok_pretok *n) {
    for (size_t i = 0; i < n->n_items; i++) pretok_clear(&n->items[i]);
    free(n->items);
    if (n->type != PRE_BYTE_LEVEL) llmc_regex_free(n->re); /* ByteLevel's is the shared GPT-2 regex */
    memset(n, 0, sizeof *n);
}

static bool prepend_scheme_of(reader *r, const json_t *v, const char *path, tok_prepend_scheme *out) {
    /* HF: prepend_scheme defaults to "always"; legacy add_prefix_space false means "never" and
     * contradicts any other explicit scheme */
    size_t len;
    const char *s = get_str(r, v, "prepend_scheme", path, &len);
    tok_prepend_scheme ps = PREPEND_ALWAYS;
    if (s) {
        if (!strcmp(s, "always")) ps = PREPEND_ALWAYS;
        else if (!strcmp(s, "first")) ps = PREPEND_FIRST;
        else if (!strcmp(s, "never")) ps = PREPEND_NEVER;
        else {
            char p[512];
            sub(p, sizeof p, path, "prepend_scheme");
            rerr(r, p, "unknown '%s' (expected first, always or never)", s);
            return false;
        }
    }
    json_t *aps = json_object_get(v, "add_prefix_space");
    if (aps && json_is_false(aps)) {
        if (ps != PREPEND_NEVER && s) {
            char p[512];
            sub(p, sizeof p, path, "add_prefix_space");
            rerr(r, p, "add_prefix_space false does not match prepend_scheme '%s'", s);
            return false;
        }
        ps = PREPEND_NEVER;
    }
    *out = ps;
    return true;
}

static bool read_pretok(reader *r, const json_t *v, const char *path, int depth, tok_pretok *out) {
    memset(out, 0, sizeof *out);
    const char *t = component_type(r, v, path, depth, "a pre-tokenizer");
    if (!t) return false;
    char p[512];
    if (!strcmp(t, "Sequence")) {
        out->type = PRE_SEQUENCE;
        json_t *a = sequence_items(r, v, path, "pretokenizers", p, sizeof p, sizeof *out->items, (void **)&out->items);
        if (!a) return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            char q[512];
            idx(q, sizeof q, p, i);
            out->n_items++;
            if (!read_pretok(r, json_array_get(a, i), q, depth + 1, &out->items[out->n_items - 1])) return false;
        }
        return true;
    }
    if (!strcmp(t, "ByteLevel")) {
        out->type = PRE_BYTE_LEVEL;
        out->add_prefix_space = get_bool(r, v, "add_prefix_space", true, path);
        out->use_regex = get_bool(r, v, "use_regex", true, path);
        out->re = (llmc_regex *)tok_gpt2_regex();
        if (!out->re) {
            rerr(r, path, "out of memory");
            return false;
        }
    } else if (!strcmp(t, "Split")) {
        out->type = PRE_SPLIT;
        json_t *inv = json_object_get(v, "invert");
        if (!json_is_boolean(inv)) {
            sub(p, sizeof p, path, "invert");
            rerr(r, p, "expected a boolean, got %s", inv ? jtype(inv) : "nothing");
            return false;
        }
        out->invert = json_is_true(inv);
        if (!json_object_get(v, "behavior")) {
            sub(p, sizeof p, path, "behavior");
            rerr(r, p, "missing (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
            return false;
        }
        if (!behavior_of(r, v, "behavior", path, SPLIT_ISOLATED, &out->behavior)) return false;
        out->re = pattern_of(r, v, path);
        if (!out->re) return false;
    } else if (!strcmp(t, "Metaspace")) {
        out->type = PRE_METASPACE;
        if (!get_char(r, v, "replacement", path, &out->replacement)) return false;
        if (!prepend_scheme_of(r, v, path, &out->prepend)) return false;
        out->split = get_bool(r, v, "split", true, path);
    } else if (!strcmp(t, "Whitespace")) {
        out->type = PRE_WHITESPACE;
    } else if (!strcmp(t, "WhitespaceSplit")) {
        out->type = PRE_WHITESPACE_SPLIT;
    } else if (!strcmp(t, "BertPreTokenizer")) {
        out->type = PRE_BERT;
    } else if (!strcmp(t, "Digits")) {
        out->type = PRE_DIGITS;
        out->individual_digits = get_bool(r, v, "individual_digits", false, path);
    } else if (!strcmp(t, "Punctuation")) {
        out->type = PRE_PUNCTUATION;
        if (!behavior_of(r, v, "behavior", path, SPLIT_ISOLATED, &out->behavior)) return false;
    } else if (!strcmp(t, "CharDelimiterSplit")) {
        out->type = PRE_CHAR_DELIMITER;
        if (!get_char(r, v, "delimiter", path, &out->replacement)) return false;
    } else {
        sub(p, sizeof p, path, "type");
        rerr(r, p, "unsupported '%s' (supported: %s)", t, tok_supported_pretokenizers);
        return false;
    }
    return true;
}

/* ---- decoders -------------------------------------------------------------------------------------------------- */

static void decoder_clear(tok_decoder *n) {
    for (size_t i = 0; i < n->n_items; i++) decoder_clear(&n->items[i]);
    free(n->items);
    free(n->text);
    free(n->text2);
    llmc_regex_free(n->re);
    memset(n, 0, sizeof *n);
}

static bool set_text(reader *r, const char *path, const char *s, size_t len, char **out, size_t *out_len) {
    *out = dup_bytes(s, len);
    *out_len = len;
    if (!*out) rerr(r, path, "out of memory");
    return *out != NULL;
}

static bool read_decoder(reader *r, const json_t *v, const char *path, int depth, tok_decoder *out) {
    memset(out, 0, sizeof *out);
    const char *t = component_type(r, v, path, depth, "a decoder");
    if (!t) return false;
    char p[512];
    size_t len;
    const char *s;
    if (!strcmp(t, "Sequence")) {
        out->type = DEC_SEQUENCE;
        json_t *a = sequence_items(r, v, path, "decoders", p, sizeof p, sizeof *out->items, (void **)&out->items);
        if (!a) return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            char q[512];
            idx(q, sizeof q, p, i);
            out->n_items++;
            if (!read_decoder(r, json_array_get(a, i), q, depth + 1, &out->items[out->n_items - 1])) return false;
        }
        return true;
    }
    if (!strcmp(t, "ByteLevel")) out->type = DEC_BYTE_LEVEL;
    else if (!strcmp(t, "ByteFallback")) out->type = DEC_BYTE_FALLBACK;
    else if (!strcmp(t, "Fuse")) out->type = DEC_FUSE;
    else if (!strcmp(t, "Metaspace")) {
        out->type = DEC_METASPACE;
        if (!get_char(r, v, "replacement", path, &out->replacement)) return false;
        if (!prepend_scheme_of(r, v, path, &out->prepend)) return false;
    } else if (!strcmp(t, "WordPiece")) {
        out->type = DEC_WORDPIECE;
        s = get_str(r, v, "prefix", path, &len);
        if (!s) s = "##", len = 2;
        if (!set_text(r, path, s, len, &out->text, &out->text_len)) return false;
        out->cleanup = get_bool(r, v, "cleanup", true, path);
    } else if (!strcmp(t, "Strip")) {
        out->type = DEC_STRIP;
        if (!get_char(r, v, "content", path, &out->replacement)) return false;
        uint64_t a = 0, b = 0;
        get_uint(r, v, "start", 1u << 20, &a, path);
        get_uint(r, v, "stop", 1u << 20, &b, path);
        out->start = (size_t)a;
        out->stop = (size_t)b;
    } else if (!strcmp(t, "Replace")) {
        out->type = DEC_REPLACE;
        s = req_str(r, v, "content", path, &len);
        if (!s || !set_text(r, path, s, len, &out->text, &out->text_len)) return false;
        out->re = pattern_of(r, v, path);
        if (!out->re) return false;
    } else if (!strcmp(t, "BPEDecoder")) {
        out->type = DEC_BPE;
        s = get_str(r, v, "suffix", path, &len);
        if (!s) s = "</w>", len = 4;
        if (!set_text(r, path, s, len, &out->text, &out->text_len)) return false;
    } else if (!strcmp(t, "CTC")) {
        out->type = DEC_CTC;
        s = get_str(r, v, "pad_token", path, &len);
        if (!s) s = "<pad>", len = 5;
        if (!set_text(r, path, s, len, &out->text, &out->text_len)) return false;
        s = get_str(r, v, "word_delimiter_token", path, &len);
        if (!s) s = "|", len = 1;
        if (!set_text(r, path, s, len, &out->text2, &out->text2_len)) return false;
        out->cleanup = get_bool(r, v, "cleanup", true, path);
    } else {
        sub(p, sizeof p, path, "type");
        rerr(r, p, "unsupported '%s' (supported: %s)", t, tok_supported_decoders);
        return false;
    }
    return true;
}

/* ---- post-processors ---------------------------------------------------------------------------------------- */

static void post_clear(tok_post *n) {
    for (size_t i = 0; i < n->n_items; i++) post_clear(&n->items[i]);
    free(n->items);
    free(n->before);
    free(n->after);
    memset(n, 0, sizeof *n);
}

static bool push_id(uint32_t **v, size_t *n, uint32_t id) {
    uint32_t *q = realloc(*v, (*n + 1) * sizeof *q);
    if (!q) return false;
    q[(*n)++] = id;
    *v = q;
    return true;
}

/* ["[CLS]", 101] */
static bool token_pair(reader *r, const json_t *v, const char *key, const char *path, uint32_t *id) {
    char p[512];
    sub(p, sizeof p, path, key);
    json_t *a = json_object_get(v, key);
    if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_string(json_array_get(a, 0)) ||
        !json_is_integer(json_array_get(a, 1)) || json_integer_value(json_array_get(a, 1)) < 0 ||
        json_integer_value(json_array_get(a, 1)) >= (json_int_t)LLMC_TOK_MAX_VOCAB) {
        rerr(r, p, "expected [\"token\", id] with an id below %u", LLMC_TOK_MAX_VOCAB);
        return false;
    }
    *id = (uint32_t)json_integer_value(json_array_get(a, 1));
    return true;
}

static bool read_post(reader *r, const json_t *v, const char *path, int depth, tok_post *out) {
    memset(out, 0, sizeof *out);
    const char *t = component_type(r, v, path, depth, "a post-processor");
    if (!t) return false;
    char p[512];
    if (!strcmp(t, "Sequence")) {
        out->type = POST_SEQUENCE;
        json_t *a = sequence_items(r, v, path, "processors", p, sizeof p, sizeof *out->items, (void **)&out->items);
        if (!a) return false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            char q[512];
            idx(q, sizeof q, p, i);
            out->n_items++;
            if (!read_post(r, json_array_get(a, i), q, depth + 1, &out->items[out->n_items - 1])) return false;
        }
        return true;
    }
    if (!strcmp(t, "ByteLevel")) {
        out->type = POST_BYTE_LEVEL;
        return true;
    }
    if (!strcmp(t, "BertProcessing") || !strcmp(t, "RobertaProcessing")) {
        out->type = t[0] == 'B' ? POST_BERT : POST_ROBERTA;
        uint32_t cls, sep;
        if (!token_pair(r, v, "cls", path, &cls) || !token_pair(r, v, "sep", path, &sep)) return false;
        if (!push_id(&out->before, &out->n_before, cls) || !push_id(&out->after, &out->n_after, sep)) {
            rerr(r, path, "out of memory");
            return false;
        }
        return true;
    }
    if (!strcmp(t, "TemplateProcessing")) {
        out->type = POST_TEMPLATE;
        json_t *single = json_object_get(v, "single"), *specials = json_object_get(v, "special_tokens");
        sub(p, sizeof p, path, "single");
        if (!json_is_array(single)) {
            rerr(r, p, "expected an array of {\"SpecialToken\": ...} / {\"Sequence\": ...}, got %s",
                 single ? jtype(single) : "nothing");
            return false;
        }
        if (specials && !json_is_object(specials) && !json_is_null(specials)) {
            char q[512];
            sub(q, sizeof q, path, "special_tokens");
            rerr(r, q, "expected an object, got %s", jtype(specials));
            return false;
        }
        bool seen_a = false;
        for (size_t i = 0; i < json_array_size(single); i++) {
            char q[512];
            idx(q, sizeof q, p, i);
            json_t *piece = json_array_get(single, i);
            json_t *st = json_object_get(piece, "SpecialToken"), *sq = json_object_get(piece, "Sequence");
            if (json_is_object(sq)) {
                size_t len;
                char q2[600];
                pathf(q2, sizeof q2, "%s.Sequence", q);
                const char *id = req_str(r, sq, "id", q2, &len);
                if (!id) return false;
                if (strcmp(id, "A") || seen_a) {
                    rerr(r, q2, "a single-sequence template holds the sequence A exactly once (got '%s')", id);
                    return false;
                }
                seen_a = true;
            } else if (json_is_object(st)) {
                size_t len;
                char q2[600];
                pathf(q2, sizeof q2, "%s.SpecialToken", q);
                const char *name = req_str(r, st, "id", q2, &len);
                if (!name) return false;
                json_t *tok = specials ? json_object_get(specials, name) : NULL;
                json_t *ids = tok ? json_object_get(tok, "ids") : NULL;
                if (!json_is_array(ids)) {
                    char q3[600];
                    pathf(q3, sizeof q3, "%s.special_tokens", path);
                    rerr(r, q3, "no entry for '%s' with an \"ids\" array (the template at %s uses it)", name, q2);
                    return false;
                }
                for (size_t k = 0; k < json_array_size(ids); k++) {
                    json_t *x = json_array_get(ids, k);
                    if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                        json_integer_value(x) >= (json_int_t)LLMC_TOK_MAX_VOCAB) {
                        char q3[600];
                        pathf(q3, sizeof q3, "%s.special_tokens.%s.ids[%zu]", path, name, k);
                        rerr(r, q3, "expected an id in 0..%u", LLMC_TOK_MAX_VOCAB - 1);
                        return false;
                    }
                    bool ok = seen_a ? push_id(&out->after, &out->n_after, (uint32_t)json_integer_value(x))
                                     : push_id(&out->before, &out->n_before, (uint32_t)json_integer_value(x));
                    if (!ok) {
                        rerr(r, path, "out of memory");
                        return false;
                    }
                }
            } else {
                rerr(r, q, "expected {\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
                return false;
            }
        }
        if (!seen_a) {
            rerr(r, p, "the template has no {\"Sequence\": {\"id\": \"A\"}}");
            return false;
        }
        return true;
    }
    sub(p, sizeof p, path, "type");
    rerr(r, p, "unsupported '%s' (supported: %s)", t, tok_supported_post);
    return false;
}

/* ---- model ----------------------------------------------------------------------------------------------------- */

static void model_clear(tok_model *m) {
    free(m->piece_off);
    free(m->piece_len);
    free(m->scores);
    free(m->pool);
    llmc_strmap_free(&m->piece_to_id);
    free(m->unk_token);
    llmc_pairmap_free(&m->merges);
    free(m->prefix);
    free(m->suffix);
#ifdef LLMC_HAVE_UNIGRAM
    if (m->unigram) llmc_tok_unigram_free(m->unigram);
#endif
    memset(m, 0, sizeof *m);
}

/* add piece -> id; the id table grows to max id + 1 */
static bool model_add_piece(reader *r, tok_model *m, const char *piece, size_t len, uint64_t id, const char *path) {
    if (len > LLMC_TOK_MAX_PIECE) {
        rerr(r, path, "piece of %zu bytes (at most %u)", len, LLMC_TOK_MAX_PIECE);
        return false;
    }
    if (id >= LLMC_TOK_MAX_VOCAB) {
        rerr(r, path, "id %llu out of range (at most %u)", (unsigned long long)id, LLMC_TOK_MAX_VOCAB - 1);
        return false;
    }
    uint32_t existing;
    int put = llmc_strmap_put(&m->piece_to_id, piece, len, (uint32_t)id, &existing);
    if (put < 0) {
        rerr(r, path, "out of memory");
        return false;
    }
    if (put == 0) {
        rerr(r, path, "duplicate piece \"%.*s\" (ids %u and %llu)", (int)(len > 60 ? 60 : len), piece, existing,
             (unsigned long long)id);
        return false;
    }
    /* both tables grow geometrically: a vocabulary is read one piece at a time (under ASan every
     * realloc copies, so growing by one entry made a 30,000-piece load take minutes) */
    if (id >= m->n_ids) {
        size_t nn = (size_t)id + 1, old = m->n_ids;
        if (nn > m->ids_cap) {
            size_t cap = m->ids_cap ? m->ids_cap : 1024;
            while (cap < nn) cap *= 2;
            if (cap > LLMC_TOK_MAX_VOCAB) cap = LLMC_TOK_MAX_VOCAB;
            uint64_t *po = realloc(m->piece_off, cap * sizeof *po);
            if (po) m->piece_off = po;
            uint32_t *pl = po ? realloc(m->piece_len, cap * sizeof *pl) : NULL;
            if (!po || !pl) {
                rerr(r, path, "out of memory");
                return false;
            }
            m->piece_len = pl;
            m->ids_cap = (uint32_t)cap;
        }
        for (size_t i = old; i < nn; i++) m->piece_len[i] = UINT32_MAX;
        m->n_ids = (uint32_t)nn;
    } else if (m->piece_len[id] != UINT32_MAX) {
        rerr(r, path, "id %llu given to two pieces", (unsigned long long)id);
        return false;
    }
    m->piece_len[id] = (uint32_t)len;
    /* pool */
    size_t need = m->pool_len + len + 1;
    if (need > m->pool_cap) {
        size_t cap = m->pool_cap ? m->pool_cap : (size_t)1 << 16;
        while (cap < need) cap *= 2;
        char *pool = realloc(m->pool, cap);
        if (!pool) {
            rerr(r, path, "out of memory");
            return false;
        }
        m->pool = pool;
        m->pool_cap = cap;
    }
    memcpy(m->pool + m->pool_len, piece, len);
    m->pool[m->pool_len + len] = '\0';
    m->piece_off[id] = m->pool_len;
    m->pool_len += len + 1;
    m->n_pieces++;
    return true;
}

static bool read_vocab_object(reader *r, tok_model *m, const json_t *vocab, const char *path) {
    if (!json_is_object(vocab)) {
        rerr(r, path, "expected an object {\"piece\": id, ...}, got %s", vocab ? jtype(vocab) : "nothing");
        return false;
    }
    size_t n = json_object_size(vocab);
    if (n > LLMC_TOK_MAX_VOCAB) {
        rerr(r, path, "%zu pieces (at most %u)", n, LLMC_TOK_MAX_VOCAB);
        return false;
    }
    /* with holes allowed, bound the id table by the piece count */
    const char *key;
    json_t *val;
    void *iter = json_object_iter((json_t *)vocab);
    while (iter) {
        key = json_object_iter_key(iter);
        val = json_object_iter_value(iter);
        size_t klen = json_object_iter_key_len(iter);
        char q[512];
        pathf(q, sizeof q, "%s[\"%.*s\"]", path, (int)(klen > 40 ? 40 : klen), key);
        if (!json_is_integer(val) || json_integer_value(val) < 0) {
            rerr(r, q, "expected a non-negative integer id, got %s", jtype(val));
            return false;
        }
        uint64_t id = (uint64_t)json_integer_value(val);
        if (id >= 4 * (uint64_t)n + 65536) {
            rerr(r, q, "id %llu far beyond the %zu pieces of the vocabulary", (unsigned long long)id, n);
            return false;
        }
        if (!model_add_piece(r, m, key, klen, id, q)) return false;
        iter = json_object_iter_next((json_t *)vocab, iter);
    }
    return true;
}

/* The vocabulary strings must be valid UTF-8 (JSON guarantees it for well-formed files) */

static bool read_bpe(reader *r, tok_model *m, const json_t *v, const char *path) {
    char p[512];
    sub(p, sizeof p, path, "vocab");
    if (!read_vocab_object(r, m, json_object_get(v, "vocab"), p)) return false;
    json_t *dropout = json_object_get(v, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0.0)) {
        sub(p, sizeof p, path, "dropout");
        rerr(r, p, "unsupported dropout %g (llmc encodes deterministically: expected null)",
             json_is_number(dropout) ? json_number_value(dropout) : NAN);
        return false;
    }
    size_t len;
    const char *s;
    if ((s = get_str(r, v, "unk_token", path, &len))) m->unk_token = dup_bytes(s, len);
    if ((s = get_str(r, v, "continuing_subword_prefix", path, &len))) {
        m->prefix = dup_bytes(s, len);
        m->prefix_len = len;
    }
    if ((s = get_str(r, v, "end_of_word_suffix", path, &len))) {
        m->suffix = dup_bytes(s, len);
        m->suffix_len = len;
    }
    m->fuse_unk = get_bool(r, v, "fuse_unk", false, path);
    m->byte_fallback = get_bool(r, v, "byte_fallback", false, path);
    m->ignore_merges = get_bool(r, v, "ignore_merges", false, path);
    json_t *merges = json_object_get(v, "merges");
    sub(p, sizeof p, path, "merges");
    if (!json_is_array(merges)) {
        rerr(r, p, "expected an array of [\"a\", \"b\"] pairs, got %s", merges ? jtype(merges) : "nothing");
        return false;
    }
    size_t nm = json_array_size(merges);
    if (nm > LLMC_TOK_MAX_VOCAB) {
        rerr(r, p, "%zu merges (at most %u)", nm, LLMC_TOK_MAX_VOCAB);
        return false;
    }
    tok_buf joined = {0};
    for (size_t i = 0; i < nm; i++) {
        char q[512];
        idx(q, sizeof q, p, i);
        json_t *e = json_array_get(merges, i);
        const char *a, *b;
        size_t la, lb;
        if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
            json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            la = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            lb = json_string_length(json_array_get(e, 1));
        } else if (json_is_string(e)) {
            /* legacy "a b": exactly one space */
            const char *t = json_string_value(e);
            size_t lt = json_string_length(e);
            const char *sp = memchr(t, ' ', lt);
            if (!sp || memchr(sp + 1, ' ', lt - (size_t)(sp - t) - 1)) {
                rerr(r, q, "expected \"a b\" with exactly one space, got \"%.*s\"", (int)(lt > 60 ? 60 : lt), t);
                tok_buf_free(&joined);
                return false;
            }
            a = t;
            la = (size_t)(sp - t);
            b = sp + 1;
            lb = lt - la - 1;
        } else {
            rerr(r, q, "expected [\"a\", \"b\"] or \"a b\", got %s", jtype(e));
            tok_buf_free(&joined);
            return false;
        }
        int64_t ia = llmc_strmap_get(&m->piece_to_id, a, la), ib = llmc_strmap_get(&m->piece_to_id, b, lb);
        if (ia < 0 || ib < 0) {
            rerr(r, q, "merge refers to \"%.*s\", which is not in model.vocab", (int)((ia < 0 ? la : lb) > 60 ? 60 : (ia < 0 ? la : lb)),
                 ia < 0 ? a : b);
            tok_buf_free(&joined);
            return false;
        }
        /* the merged piece: a + b without b's continuing_subword_prefix */
        size_t strip = 0;
        if (m->prefix_len) {
            if (lb < m->prefix_len || memcmp(b, m->prefix, m->prefix_len)) {
                rerr(r, q, "the right piece \"%.*s\" does not start with continuing_subword_prefix \"%s\"",
                     (int)(lb > 60 ? 60 : lb), b, m->prefix);
                tok_buf_free(&joined);
                return false;
            }
            strip = m->prefix_len;
        }
        joined.n = 0;
        if (tok_buf_put(&joined, a, la) || tok_buf_put(&joined, b + strip, lb - strip)) {
            rerr(r, q, "out of memory");
            tok_buf_free(&joined);
            return false;
        }
        int64_t im = llmc_strmap_get(&m->piece_to_id, joined.p, joined.n);
        if (im < 0) {
            rerr(r, q, "the merged piece \"%.*s\" is not in model.vocab", (int)(joined.n > 60 ? 60 : joined.n), joined.p);
            tok_buf_free(&joined);
            return false;
        }
        if (llmc_pairmap_put(&m->merges, (uint32_t)ia, (uint32_t)ib, (uint32_t)i, (uint32_t)im)) {
            rerr(r, q, "out of memory");
            tok_buf_free(&joined);
            return false;
        }
    }
    tok_buf_free(&joined);
    m->n_merges = (uint32_t)nm;
    /* an unk_token missing from the vocabulary is an error only when a text needs it (as in HF) */
    if (m->unk_token) {
        m->unk_id = llmc_strmap_get(&m->piece_to_id, m->unk_token, strlen(m->unk_token));
        m->unk_missing = m->unk_id < 0;
    }
    return true;
}

static bool read_wordpiece(reader *r, tok_model *m, const json_t *v, const char *path, bool wordlevel) {
    char p[512];
    sub(p, sizeof p, path, "vocab");
    if (!read_vocab_object(r, m, json_object_get(v, "vocab"), p)) return false;
    size_t len;
    const char *s = get_str(r, v, "unk_token", path, &len);
    if (!s) {
        s = wordlevel ? "<unk>" : "[UNK]";
        len = strlen(s);
    }
    m->unk_token = dup_bytes(s, len);
    if (!m->unk_token) {
        rerr(r, path, "out of memory");
        return false;
    }
    m->unk_id = llmc_strmap_get(&m->piece_to_id, s, len);
    m->unk_missing = m->unk_id < 0;
    if (!wordlevel) {
        s = get_str(r, v, "continuing_subword_prefix", path, &len);
        if (!s) s = "##", len = 2;
        m->prefix = dup_bytes(s, len);
        m->prefix_len = len;
        uint64_t mx = 100;
        get_uint(r, v, "max_input_chars_per_word", UINT32_MAX, &mx, path);
        m->max_input_chars_per_word = (uint32_t)mx;
    }
    return true;
}

static bool read_unigram(reader *r, tok_model *m, const json_t *v, const char *path) {
    char p[512];
    sub(p, sizeof p, path, "vocab");
    json_t *vocab = json_object_get(v, "vocab");
    if (!json_is_array(vocab)) {
        rerr(r, p, "expected an array of [\"piece\", score], got %s", vocab ? jtype(vocab) : "nothing");
        return false;
    }
    size_t n = json_array_size(vocab);
    if (n > LLMC_TOK_MAX_VOCAB) {
        rerr(r, p, "%zu pieces (at most %u)", n, LLMC_TOK_MAX_VOCAB);
        return false;
    }
    m->scores = malloc((n ? n : 1) * sizeof *m->scores);
    if (!m->scores) {
        rerr(r, p, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char q[512];
        idx(q, sizeof q, p, i);
        json_t *e = json_array_get(vocab, i);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(json_array_get(e, 0)) ||
            !json_is_number(json_array_get(e, 1)) || !isfinite(json_number_value(json_array_get(e, 1)))) {
            rerr(r, q, "expected [\"piece\", finite score]");
            return false;
        }
        if (!model_add_piece(r, m, json_string_value(json_array_get(e, 0)), json_string_length(json_array_get(e, 0)),
                             i, q))
            return false;
        m->scores[i] = llmc_tok_score_as_hf_reads(json_number_value(json_array_get(e, 1)));
    }
    m->unk_id = -1;
    uint64_t unk;
    if (get_uint(r, v, "unk_id", UINT32_MAX, &unk, path)) {
        if (unk >= n) {
            sub(p, sizeof p, path, "unk_id");
            rerr(r, p, "%llu is not an id of the %zu pieces", (unsigned long long)unk, n);
            return false;
        }
        m->unk_id = (int64_t)unk;
    }
    m->byte_fallback = get_bool(r, v, "byte_fallback", false, path);
#ifdef LLMC_HAVE_UNIGRAM
    llmc_tok_piece *pieces = malloc((n ? n : 1) * sizeof *pieces);
    if (!pieces) {
        rerr(r, path, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        pieces[i] = (llmc_tok_piece){m->pool + m->piece_off[i], m->piece_len[i], m->scores[i]};
    llmc_loc loc = {r->name, 0, 0};
    (void)loc;
    m->unigram = llmc_tok_unigram_create(pieces, n, m->unk_id, m->byte_fallback, r->d);
    free(pieces);
    if (!m->unigram) {
        r->errors++;
        return false;
    }
    return true;
#else
    sub(p, sizeof p, path, "type");
    rerr(r, p, "'Unigram' is not built yet in this llmc (the Unigram encoder, core/tok_unigram.c, has not landed)");
    return false;
#endif
}

static bool read_model(reader *r, tok_model *m, const json_t *v, const char *path) {
    memset(m, 0, sizeof *m);
    m->unk_id = -1;
    for (int i = 0; i < 256; i++) m->byte_ids[i] = UINT32_MAX;
    if (!json_is_object(v)) {
        rerr(r, path, "expected the model object, got %s", v ? jtype(v) : "nothing");
        return false;
    }
    size_t len;
    const char *t = get_str(r, v, "type", path, &len);
    if (!t) {
        /* HF accepts a model without "type" by trying each kind: infer it the same way */
        json_t *vocab = json_object_get(v, "vocab");
        if (json_object_get(v, "merges")) t = "BPE";
        else if (json_is_array(vocab)) t = "Unigram";
        else if (json_object_get(v, "continuing_subword_prefix") || json_object_get(v, "max_input_chars_per_word"))
            t = "WordPiece";
        else if (vocab) t = "WordLevel";
        else {
            char p[512];
            sub(p, sizeof p, path, "type");
            rerr(r, p, "missing (expected one of %s)", tok_supported_models);
            return false;
        }
    }
    bool ok;
    if (!strcmp(t, "BPE")) {
        m->type = MODEL_BPE;
        ok = read_bpe(r, m, v, path);
    } else if (!strcmp(t, "WordPiece")) {
        m->type = MODEL_WORDPIECE;
        ok = read_wordpiece(r, m, v, path, false);
    } else if (!strcmp(t, "WordLevel")) {
        m->type = MODEL_WORDLEVEL;
        ok = read_wordpiece(r, m, v, path, true);
    } else if (!strcmp(t, "Unigram")) {
        m->type = MODEL_UNIGRAM;
        ok = read_unigram(r, m, v, path);
    } else {
        char p[512];
        sub(p, sizeof p, path, "type");
        rerr(r, p, "unsupported '%s' (supported: %s)", t, tok_supported_models);
        return false;
    }
    if (!ok) return false;
    /* byte pieces <0x00>..<0xFF> for byte fallback */
    int have = 0;
    for (int b = 0; b < 256; b++) {
        char key[8];
        snprintf(key, sizeof key, "<0x%02X>", b);
        int64_t id = llmc_strmap_get(&m->piece_to_id, key, 6);
        if (id >= 0) {
            m->byte_ids[b] = (uint32_t)id;
            have++;
        }
    }
    m->has_all_bytes = have == 256;
    return true;
}

/* ---- added tokens ---------------------------------------------------------------------------------------------- */

static int trie_build(tok_trie *t, const tok_added *added, size_t n, bool normalized_set) {
    /* naive construction: node 0 is the root; children kept sorted; fine for thousands of tokens */
    memset(t, 0, sizeof *t);
    size_t cap = 64;
    t->nodes = calloc(cap, sizeof *t->nodes);
    if (!t->nodes) return -1;
    t->nodes[0].token = -1;
    t->n_nodes = 1;
    /* build with temporary per-node child lists, then flatten */
    typedef struct {
        uint8_t b;
        uint32_t node;
    } edge;
    edge **kids = calloc(cap, sizeof *kids);
    uint32_t *nk = calloc(cap, sizeof *nk);
    if (!kids || !nk) {
        free(kids);
        free(nk);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (added[i].normalized != normalized_set) continue;
        const char *s = normalized_set && added[i].norm ? added[i].norm : added[i].content;
        size_t len = normalized_set && added[i].norm ? added[i].norm_len : added[i].len;
        if (!len) continue;
        uint32_t cur = 0;
        for (size_t k = 0; k < len && !rc; k++) {
            uint8_t b = (uint8_t)s[k];
            uint32_t next = UINT32_MAX;
            for (uint32_t e = 0; e < nk[cur]; e++)
                if (kids[cur][e].b == b) next = kids[cur][e].node;
            if (next == UINT32_MAX) {
                if (t->n_nodes == cap) {
                    size_t nc = cap * 2;
                    tok_trie_node *q = realloc(t->nodes, nc * sizeof *q);
                    edge **kq = q ? realloc(kids, nc * sizeof *kq) : NULL;
                    if (q) t->nodes = q;
                    if (kq) kids = kq;
                    uint32_t *nq = (q && kq) ? realloc(nk, nc * sizeof *nq) : NULL;
                    if (!q || !kq || !nq) {
                        rc = -1;
                        break;
                    }
                    nk = nq;
                    memset(kids + cap, 0, (nc - cap) * sizeof *kids);
                    memset(nk + cap, 0, (nc - cap) * sizeof *nk);
                    cap = nc;
                }
                next = (uint32_t)t->n_nodes++;
                t->nodes[next].token = -1;
                edge *ke = realloc(kids[cur], (nk[cur] + 1) * sizeof *ke);
                if (!ke) {
                    rc = -1;
                    break;
                }
                kids[cur] = ke;
                size_t pos = nk[cur];
                while (pos > 0 && ke[pos - 1].b > b) {
                    ke[pos] = ke[pos - 1];
                    pos--;
                }
                ke[pos] = (edge){b, next};
                nk[cur]++;
            }
            cur = next;
        }
        /* a later token with the same content replaces the earlier (HF: one entry per content) */
        if (!rc) t->nodes[cur].token = (int32_t)i;
    }
    if (!rc) {
        size_t total = 0;
        for (size_t i = 0; i < t->n_nodes; i++) total += nk[i];
        t->edge_byte = malloc(total ? total : 1);
        t->edge_node = malloc((total ? total : 1) * sizeof *t->edge_node);
        if (!t->edge_byte || !t->edge_node) rc = -1;
        size_t o = 0;
        for (size_t i = 0; i < t->n_nodes && !rc; i++) {
            t->nodes[i].first_child = (uint32_t)o;
            t->nodes[i].n_children = nk[i];
            for (uint32_t e = 0; e < nk[i]; e++) {
                t->edge_byte[o] = kids[i][e].b;
                t->edge_node[o] = kids[i][e].node;
                o++;
            }
        }
        t->n_edges = total;
    }
    for (size_t i = 0; i < cap; i++) free(kids[i]);
    free(kids);
    free(nk);
    return rc;
}

static void trie_free(tok_trie *t) {
    free(t->nodes);
    free(t->edge_byte);
    free(t->edge_node);
    memset(t, 0, sizeof *t);
}

static bool read_added(reader *r, tok_core *c, const json_t *a, tok_work *w) {
    if (!a || json_is_null(a)) return true;
    if (!json_is_array(a)) {
        rerr(r, "added_tokens", "expected an array, got %s", jtype(a));
        return false;
    }
    size_t n = json_array_size(a);
    if (n > LLMC_TOK_MAX_VOCAB) {
        rerr(r, "added_tokens", "%zu tokens (at most %u)", n, LLMC_TOK_MAX_VOCAB);
        return false;
    }
    c->added = calloc(n ? n : 1, sizeof *c->added);
    if (!c->added) {
        rerr(r, "added_tokens", "out of memory");
        return false;
    }
    /* HF AddedVocabulary::add_tokens: the id is the token's id in the added vocabulary or the
     * model, else the next free id (the file's "id" is only checked, as HF warns about it) */
    const tok_model *m = &c->model;
    uint32_t next_id = m->n_pieces; /* computed once per add_tokens call, as HF does */
    llmc_strmap by_content = {0};
    for (size_t i = 0; i < n; i++) {
        char p[512];
        idx(p, sizeof p, "added_tokens", i);
        json_t *e = json_array_get(a, i);
        if (!json_is_object(e)) {
            rerr(r, p, "expected an object, got %s", jtype(e));
            llmc_strmap_free(&by_content);
            return false;
        }
        size_t len;
        const char *content = req_str(r, e, "content", p, &len);
        if (!content) {
            llmc_strmap_free(&by_content);
            return false;
        }
        if (len > LLMC_TOK_MAX_PIECE) {
            rerr(r, p, "content of %zu bytes (at most %u)", len, LLMC_TOK_MAX_PIECE);
            llmc_strmap_free(&by_content);
            return false;
        }
        bool special = get_bool(r, e, "special", false, p);
        tok_added t = {0};
        t.special = special;
        t.single_word = get_bool(r, e, "single_word", false, p);
        t.lstrip = get_bool(r, e, "lstrip", false, p);
        t.rstrip = get_bool(r, e, "rstrip", false, p);
        t.normalized = get_bool(r, e, "normalized", !special, p);
        if (len == 0) continue; /* HF ignores empty tokens */
        int64_t prev = llmc_strmap_get(&by_content, content, len);
        int64_t id = prev >= 0 ? (int64_t)c->added[prev].id : llmc_strmap_get(&m->piece_to_id, content, len);
        if (id < 0) id = next_id++;
        if (id >= (int64_t)LLMC_TOK_MAX_VOCAB) {
            rerr(r, p, "id %lld out of range", (long long)id);
            llmc_strmap_free(&by_content);
            return false;
        }
        uint64_t file_id;
        if (get_uint(r, e, "id", UINT32_MAX, &file_id, p) && file_id != (uint64_t)id) {
            char q[600];
            pathf(q, sizeof q, "%s.id", p);
            llmc_loc loc = {r->name, 0, 0};
            llmc_diag_add(r->d, LLMC_SEV_WARNING, loc, q,
                          "'%.*s' is given id %llu but gets id %lld (as the HF library assigns it: the model's id for "
                          "the piece, else the next free id)",
                          (int)(len > 60 ? 60 : len), content, (unsigned long long)file_id, (long long)id);
        }
        t.content = dup_bytes(content, len);
        t.len = len;
        t.id = (uint32_t)id;
        if (!t.content) {
            rerr(r, p, "out of memory");
            llmc_strmap_free(&by_content);
            return false;
        }
        if (t.normalized && c->normalizer) {
            tok_buf out = {0};
            if (tok_normalize(c->normalizer, content, len, &out, w)) {
                free(t.content);
                tok_buf_free(&out);
                rerr(r, p, "out of memory");
                llmc_strmap_free(&by_content);
                return false;
            }
            if (out.n != len || memcmp(out.p, content, len)) {
                t.norm = out.p;
                t.norm_len = out.n;
                out.p = NULL;
            }
            tok_buf_free(&out);
        }
        if (prev >= 0) {
            /* same content again: the later definition replaces the earlier */
            free(c->added[prev].content);
            free(c->added[prev].norm);
            c->added[prev] = t;
        } else {
            if (llmc_strmap_put(&by_content, content, len, (uint32_t)c->n_added, NULL) < 0) {
                free(t.content);
                free(t.norm);
                rerr(r, p, "out of memory");
                llmc_strmap_free(&by_content);
                return false;
            }
            c->added[c->n_added++] = t;
        }
    }
    llmc_strmap_free(&by_content);
    return true;
}

/* ---- roles (bos/eos/pad/unk) --------------------------------------------------------------------------------- */

static int64_t piece_id(const tok_core *c, const char *s, size_t len) {
    for (size_t i = 0; i < c->n_added; i++)
        if (c->added[i].len == len && !memcmp(c->added[i].content, s, len)) return c->added[i].id;
    return llmc_strmap_get(&c->model.piece_to_id, s, len);
}

/* ---- Unigram scores as the HF library reads them ------------------------------------------------
 * The HF library parses tokenizer.json with serde_json's default float reader, which is not
 * correctly rounded: it reads the decimal's digits as an integer D and its exponent E and computes
 * (double)D / 10^-E (or * 10^E), two roundings. Its writer prints the shortest decimal that reads
 * back exactly (ryu). A score can therefore live in HF's memory one unit in the last place away from
 * the value strtod gives for the same text, and Viterbi ties between segmentations (sums of the
 * same scores in a different order) then break the other way. llmc reads a score as HF does, and
 * writes only scores that both readings agree on, so every reader of its files sees one value. */

/* printf's "%e" text of a positive number as digits D and exponent E (text == D * 10^E) */
static void decimal_parts(const char *text, uint64_t *digits, int *exponent) {
    uint64_t d = 0;
    int frac = 0;
    const char *c = text;
    for (bool point = false; *c && *c != 'e'; c++) {
        if (*c == '.') { point = true; continue; }
        d = d * 10 + (uint64_t)(*c - '0');
        if (point) frac++;
    }
    *digits = d;
    *exponent = (*c == 'e' ? atoi(c + 1) : 0) - frac;
}

/* the shortest decimal that reads back as x > 0, as digits D and exponent E (x == D * 10^E read
 * correctly rounded) */
static void shortest_decimal(double x, uint64_t *digits, int *exponent) {
    char buf[48];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    decimal_parts(buf, digits, exponent);
}

static double pow10_of(int n) {
    char buf[16];
    snprintf(buf, sizeof buf, "1e%d", n);
    return strtod(buf, NULL);
}

/* serde_json's reading of digits * 10^exponent (its f64_from_parts without float_roundtrip) */
static double serde_f64_from_parts(uint64_t digits, int exponent) {
    double f = (double)digits;
    for (;;) {
        int a = exponent < 0 ? -exponent : exponent;
        if (a <= 308) {
            if (exponent >= 0) f *= pow10_of(a);
            else f /= pow10_of(a);
            return f;
        }
        if (f == 0.0 || exponent >= 0) return f;
        f /= 1e308;
        exponent += 308;
    }
}

double llmc_tok_score_as_hf_reads(double x) {
    if (x == 0.0 || !isfinite(x)) return x;
    uint64_t d;
    int e;
    shortest_decimal(fabs(x), &d, &e);
    double f = serde_f64_from_parts(d, e);
    return x < 0 ? -f : f;
}

/* the same for the 17 significant digits jansson writes (json_dumps without JSON_REAL_PRECISION) */
static double score_as_hf_reads_17(double x) {
    char buf[48];
    snprintf(buf, sizeof buf, "%.16e", fabs(x));
    uint64_t d;
    int e;
    decimal_parts(buf, &d, &e);
    double f = serde_f64_from_parts(d, e);
    return x < 0 ? -f : f;
}

static bool score_is_stable(double x) { return llmc_tok_score_as_hf_reads(x) == x && score_as_hf_reads_17(x) == x; }

double llmc_tok_score_stable(double x) {
    if (x == 0.0 || !isfinite(x) || score_is_stable(x)) return x;
    double below = x, above = x;   /* the nearest stable neighbour, one unit in the last place at a time */
    for (int i = 0; i < 32; i++) {
        below = nextafter(below, -INFINITY);
        if (score_is_stable(below)) return below;
        above = nextafter(above, INFINITY);
        if (score_is_stable(above)) return above;
    }
    return x;
}

static void guess_roles(tok_core *c) {
    static const char *const names[4][7] = {
        {"<s>", "<|begin_of_text|>", "<|startoftext|>", "[CLS]", "<bos>", "<|bos|>", NULL},
        {"</s>", "<|end_of_text|>", "<|endoftext|>", "[SEP]", "<eos>", "<|eos|>", NULL},
        {"<pad>", "[PAD]", "<|pad|>", "<|finetune_right_pad_id|>", NULL, NULL},
        {"<unk>", "[UNK]", "<|unk|>", NULL, NULL, NULL},
    };
    for (int role = 0; role < 4; role++) {
        c->special[role] = -1;
        for (int k = 0; names[role][k] && c->special[role] < 0; k++)
            c->special[role] = piece_id(c, names[role][k], strlen(names[role][k]));
    }
    if (c->model.unk_id >= 0) c->special[LLMC_TOK_UNK] = c->model.unk_id;
}

/* ---- the whole document ----------------------------------------------------------------------------------------- */

void tok_core_release(tok_core *c) {
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_SEQ_CST) > 0) return;
    free(c->name);
    json_decref(c->doc);
    json_decref(c->config);
    if (c->normalizer) normalizer_clear(c->normalizer);
    free(c->normalizer);
    if (c->pretok) pretok_clear(c->pretok);
    free(c->pretok);
    model_clear(&c->model);
    if (c->post) post_clear(c->post);
    free(c->post);
    if (c->decoder) decoder_clear(c->decoder);
    free(c->decoder);
    for (size_t i = 0; i < c->n_added; i++) {
        free(c->added[i].content);
        free(c->added[i].norm);
    }
    free(c->added);
    trie_free(&c->trie_raw);
    trie_free(&c->trie_norm);
    free(c->added_of_id);
#if __has_include("tok_spm_model.h")
    llmc_spm_tokenizer_free(c->spm);
#endif
    free(c);
}

static bool pretok_has_byte_level(const tok_pretok *p) {
    if (!p) return false;
    if (p->type == PRE_BYTE_LEVEL) return true;
    for (size_t i = 0; i < p->n_items; i++)
        if (pretok_has_byte_level(&p->items[i])) return true;
    return false;
}

static bool read_truncation(reader *r, tok_core *c, const json_t *v) {
    if (!v || json_is_null(v)) return true;
    if (!json_is_object(v)) {
        rerr(r, "truncation", "expected an object or null, got %s", jtype(v));
        return false;
    }
    uint64_t mx;
    if (!get_uint(r, v, "max_length", UINT32_MAX, &mx, "truncation")) {
        rerr(r, "truncation.max_length", "missing (expected a non-negative integer)");
        return false;
    }
    size_t len;
    const char *dir = get_str(r, v, "direction", "truncation", &len);
    c->truncation.on = true;
    c->truncation.max_length = (size_t)mx;
    c->truncation.left = dir && !strcmp(dir, "Left");
    return true;
}

static bool read_padding(reader *r, tok_core *c, const json_t *v) {
    if (!v || json_is_null(v)) return true;
    if (!json_is_object(v)) {
        rerr(r, "padding", "expected an object or null, got %s", jtype(v));
        return false;
    }
    c->padding.on = true;
    json_t *st = json_object_get(v, "strategy");
    if (json_is_object(st) && json_object_get(st, "Fixed")) {
        json_t *f = json_object_get(st, "Fixed");
        if (!json_is_integer(f) || json_integer_value(f) < 0 || json_integer_value(f) > (json_int_t)(1u << 30)) {
            rerr(r, "padding.strategy.Fixed", "expected a length in 0..%u", 1u << 30);
            return false;
        }
        c->padding.fixed = true;
        c->padding.length = (size_t)json_integer_value(f);
    } else if (!(json_is_string(st) && !strcmp(json_string_value(st), "BatchLongest"))) {
        rerr(r, "padding.strategy", "expected \"BatchLongest\" or {\"Fixed\": n}");
        return false;
    }
    uint64_t x = 0;
    if (get_uint(r, v, "pad_to_multiple_of", 1u << 20, &x, "padding")) c->padding.multiple = (size_t)x;
    x = 0;
    get_uint(r, v, "pad_id", UINT32_MAX, &x, "padding");
    c->padding.pad_id = (uint32_t)x;
    size_t len;
    const char *dir = get_str(r, v, "direction", "padding", &len);
    c->padding.left = dir && !strcmp(dir, "Left");
    return true;
}

static bool check_post_ids(reader *r, const tok_core *c, const tok_post *p, const char *path) {
    for (size_t i = 0; i < p->n_before + p->n_after; i++) {
        uint32_t id = i < p->n_before ? p->before[i] : p->after[i - p->n_before];
        size_t len;
        if (id >= c->vocab_size || !tok_piece(c, id, &len)) {
            rerr(r, path, "special token id %u is not in the vocabulary (%u ids)", id, c->vocab_size);
            return false;
        }
    }
    for (size_t i = 0; i < p->n_items; i++) {
        char q[512];
        pathf(q, sizeof q, "%s.processors[%zu]", path, i);
        if (!check_post_ids(r, c, &p->items[i], q)) return false;
    }
    return true;
}

tok_core *tok_core_from_json(json_t *doc, const char *name, llmc_diags *d) {
    reader r = {name, d, 0};
    tok_core *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(doc);
        llmc_error(d, NULL, "out of memory");
        return NULL;
    }
    c->refs = 1;
    c->doc = doc;
    c->name = llmc_strdup(name);
    tok_work w = {0};
    if (!c->name) goto oom;
    if (!json_is_object(doc)) {
        rerr(&r, NULL, "expected a JSON object (a Hugging Face tokenizer.json), got %s", jtype(doc));
        goto fail;
    }
    json_t *version = json_object_get(doc, "version");
    if (version && !(json_is_string(version) && !strcmp(json_string_value(version), "1.0"))) {
        rerr(&r, "version", "unknown tokenizer version (expected \"1.0\")");
        goto fail;
    }
    if (!read_truncation(&r, c, json_object_get(doc, "truncation")) ||
        !read_padding(&r, c, json_object_get(doc, "padding")))
        goto fail;
    json_t *v = json_object_get(doc, "normalizer");
    if (v && !json_is_null(v)) {
        c->normalizer = calloc(1, sizeof *c->normalizer);
        if (!c->normalizer) goto oom;
        if (!read_normalizer(&r, v, "normalizer", 0, c->normalizer)) goto fail;
    }
    v = json_object_get(doc, "pre_tokenizer");
    if (v && !json_is_null(v)) {
        c->pretok = calloc(1, sizeof *c->pretok);
        if (!c->pretok) goto oom;
        if (!read_pretok(&r, v, "pre_tokenizer", 0, c->pretok)) goto fail;
    }
    v = json_object_get(doc, "decoder");
    if (v && !json_is_null(v)) {
        c->decoder = calloc(1, sizeof *c->decoder);
        if (!c->decoder) goto oom;
        if (!read_decoder(&r, v, "decoder", 0, c->decoder)) goto fail;
    }
    v = json_object_get(doc, "post_processor");
    if (v && !json_is_null(v)) {
        c->post = calloc(1, sizeof *c->post);
        if (!c->post) goto oom;
        if (!read_post(&r, v, "post_processor", 0, c->post)) goto fail;
    }
    if (!json_object_get(doc, "model")) {
        rerr(&r, "model", "missing (expected the model object: %s)", tok_supported_models);
        goto fail;
    }
    if (!read_model(&r, &c->model, json_object_get(doc, "model"), "model")) goto fail;
    if (!read_added(&r, c, json_object_get(doc, "added_tokens"), &w)) goto fail;
    if (r.errors) goto fail;
    /* ids: the model's table and the added tokens */
    uint32_t vs = c->model.n_ids;
    for (size_t i = 0; i < c->n_added; i++)
        if (c->added[i].id + 1 > vs) vs = c->added[i].id + 1;
    c->vocab_size = vs;
    c->n_added_of_id = vs;
    c->added_of_id = malloc((vs ? vs : 1) * sizeof *c->added_of_id);
    if (!c->added_of_id) goto oom;
    for (uint32_t i = 0; i < vs; i++) c->added_of_id[i] = -1;
    for (size_t i = 0; i < c->n_added; i++) c->added_of_id[c->added[i].id] = (int32_t)i;
    for (size_t i = 0; i < c->n_added; i++) {
        if (c->added[i].normalized) c->has_norm_added = true;
        else c->has_raw_added = true;
    }
    if (trie_build(&c->trie_raw, c->added, c->n_added, false) || trie_build(&c->trie_norm, c->added, c->n_added, true))
        goto oom;
    if (c->post && !check_post_ids(&r, c, c->post, "post_processor")) goto fail;
    size_t pad_len;
    if (c->padding.on && (c->padding.pad_id >= c->vocab_size || !tok_piece(c, c->padding.pad_id, &pad_len))) {
        rerr(&r, "padding.pad_id", "%u is not in the vocabulary (%u ids)", c->padding.pad_id, c->vocab_size);
        goto fail;
    }
    c->byte_level = pretok_has_byte_level(c->pretok);
    c->lossless = c->byte_level || (c->model.byte_fallback && c->model.has_all_bytes);
    guess_roles(c);
    tok_work_free(&w);
    return c;
oom:
    rerr(&r, NULL, "out of memory");
fail:
    tok_work_free(&w);
    tok_core_release(c);
    return NULL;
}
