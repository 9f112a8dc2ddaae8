/* The tokenizer's internal model: the pipeline components read from tokenizer.json (normalizer,
 * pre-tokenizer, model, post-processor, decoder, added tokens) and the per-handle work space.
 * The component semantics follow the Hugging Face tokenizers library (0.23) step by step; each
 * file says which part it implements. Internal to the core. */
#ifndef LLMC_CORE_TOK_INTERNAL_H
#define LLMC_CORE_TOK_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/tokenizer.h"
#include "tok_map.h"
#include "tok_model.h"
#include "tok_regex.h"

#define LLMC_TOK_MAX_FILE (1u << 30)       /* tokenizer.json / tokenizer.model size limit */
#define LLMC_TOK_MAX_VOCAB (1u << 24)      /* ids */
#define LLMC_TOK_MAX_PIECE (1u << 16)      /* bytes in one piece */
#define LLMC_TOK_MAX_DEPTH 32              /* nesting of Sequence components */

/* ---- growable buffers ------------------------------------------------------------------------------- */
typedef struct tok_buf {
    char *p;
    size_t n, cap;
} tok_buf;
int tok_buf_reserve(tok_buf *b, size_t extra);    /* room for n + extra bytes; 0 / -1 */
int tok_buf_put(tok_buf *b, const void *s, size_t n);
int tok_buf_putc(tok_buf *b, char c);
int tok_buf_put_cp(tok_buf *b, uint32_t cp);       /* UTF-8; an LLMC_UTF8_INVALID pseudo code point as its byte */
void tok_buf_free(tok_buf *b);

/* a piece of text inside some tok_buf */
typedef struct tok_split {
    size_t off, len;
    bool at_start;     /* starts at original offset 0 (Metaspace prepend_scheme "first") */
} tok_split;

typedef struct tok_splits {
    tok_split *v;
    size_t n, cap;
    tok_buf text;
} tok_splits;
int tok_splits_add(tok_splits *s, const char *p, size_t n, bool at_start);  /* copies p into text */
void tok_splits_free(tok_splits *s);

/* ---- components ------------------------------------------------------------------------------------- */
typedef enum {
    SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_WITH_PREVIOUS, SPLIT_MERGED_WITH_NEXT, SPLIT_CONTIGUOUS
} tok_split_behavior;

typedef enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } tok_prepend_scheme;

typedef enum {
    NORM_SEQUENCE, NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWERCASE, NORM_STRIP, NORM_STRIP_ACCENTS,
    NORM_PREPEND, NORM_REPLACE, NORM_BERT, NORM_BYTE_LEVEL
} tok_norm_type;

typedef struct tok_normalizer {
    tok_norm_type type;
    struct tok_normalizer *items;   /* NORM_SEQUENCE */
    size_t n_items;
    bool left, right;               /* NORM_STRIP */
    char *text;                     /* NORM_PREPEND: prepend; NORM_REPLACE: content */
    size_t text_len;
    llmc_regex *re;                 /* NORM_REPLACE */
    bool clean_text, chinese, lowercase;  /* NORM_BERT */
    int strip_accents;              /* NORM_BERT: -1 = follow lowercase */
} tok_normalizer;

typedef enum {
    PRE_SEQUENCE, PRE_BYTE_LEVEL, PRE_SPLIT, PRE_METASPACE, PRE_WHITESPACE, PRE_WHITESPACE_SPLIT, PRE_BERT,
    PRE_DIGITS, PRE_PUNCTUATION, PRE_CHAR_DELIMITER
} tok_pre_type;

typedef struct tok_pretok {
    tok_pre_type type;
    struct tok_pretok *items;       /* PRE_SEQUENCE */
    size_t n_items;
    bool add_prefix_space, use_regex;   /* PRE_BYTE_LEVEL */
    llmc_regex *re;                 /* PRE_SPLIT (and the GPT-2 regex for PRE_BYTE_LEVEL) */
    tok_split_behavior behavior;    /* PRE_SPLIT, PRE_PUNCTUATION */
    bool invert;                    /* PRE_SPLIT */
    uint32_t replacement;           /* PRE_METASPACE: code point; PRE_CHAR_DELIMITER: delimiter */
    tok_prepend_scheme prepend;     /* PRE_METASPACE */
    bool split;                     /* PRE_METASPACE */
    bool individual_digits;         /* PRE_DIGITS */
} tok_pretok;

typedef enum {
    DEC_SEQUENCE, DEC_BYTE_LEVEL, DEC_METASPACE, DEC_WORDPIECE, DEC_BYTE_FALLBACK, DEC_FUSE, DEC_STRIP, DEC_REPLACE,
    DEC_BPE, DEC_CTC
} tok_dec_type;

typedef struct tok_decoder {
    tok_dec_type type;
    struct tok_decoder *items;
    size_t n_items;
    uint32_t replacement;           /* DEC_METASPACE; DEC_STRIP: content */
    tok_prepend_scheme prepend;     /* DEC_METASPACE */
    char *text;                     /* DEC_WORDPIECE prefix; DEC_REPLACE content; DEC_BPE suffix; DEC_CTC pad */
    size_t text_len;
    char *text2;                    /* DEC_CTC word delimiter */
    size_t text2_len;
    bool cleanup;                   /* DEC_WORDPIECE, DEC_CTC */
    size_t start, stop;             /* DEC_STRIP */
    llmc_regex *re;                 /* DEC_REPLACE */
} tok_decoder;

typedef enum { POST_TEMPLATE, POST_BERT, POST_ROBERTA, POST_BYTE_LEVEL, POST_SEQUENCE } tok_post_type;

typedef struct tok_post {
    tok_post_type type;
    struct tok_post *items;
    size_t n_items;
    /* the ids a single sequence gets before and after it (add_special_tokens) */
    uint32_t *before, *after;
    size_t n_before, n_after;
} tok_post;

typedef enum { MODEL_BPE, MODEL_WORDPIECE, MODEL_WORDLEVEL, MODEL_UNIGRAM } tok_model_type;

typedef struct tok_model {
    tok_model_type type;
    /* vocabulary: ids 0..n_ids-1 (holes have len UINT32_MAX) */
    uint32_t n_ids;          /* table size: max id + 1 */
    uint32_t n_pieces;       /* entries (HF get_vocab_size of the model) */
    uint64_t *piece_off;     /* into pool */
    uint32_t *piece_len;
    uint32_t ids_cap;        /* allocated entries of piece_off and piece_len */
    double *scores;          /* Unigram */
    char *pool;
    size_t pool_len, pool_cap;
    llmc_strmap piece_to_id;
    int64_t unk_id;          /* -1: none */
    char *unk_token;         /* as written (BPE / WordPiece / WordLevel) */
    bool unk_missing;        /* unk_token names no piece: an error when a text needs it (HF) */
    /* BPE */
    llmc_pairmap merges;
    uint32_t n_merges;
    char *prefix, *suffix;   /* continuing_subword_prefix (also WordPiece), end_of_word_suffix */
    size_t prefix_len, suffix_len;
    bool byte_fallback, fuse_unk, ignore_merges;
    uint32_t byte_ids[256];  /* <0xNN> pieces, UINT32_MAX when absent */
    bool has_all_bytes;
    /* WordPiece */
    uint32_t max_input_chars_per_word;
    /* Unigram (core/tok_unigram.c) */
    void *unigram;
} tok_model;

typedef struct tok_added {
    char *content;
    size_t len;
    uint32_t id;
    bool single_word, lstrip, rstrip, normalized, special;
    char *norm;              /* normalized content (normalized tokens whose content changes), or NULL */
    size_t norm_len;
} tok_added;

/* a byte trie for leftmost-longest matching of added tokens */
typedef struct tok_trie_node {
    uint32_t first_child, n_children;   /* children sorted by byte, in the edges array */
    int32_t token;                      /* index into added, or -1 */
} tok_trie_node;
typedef struct tok_trie {
    tok_trie_node *nodes;
    size_t n_nodes;
    uint8_t *edge_byte;
    uint32_t *edge_node;
    size_t n_edges;
} tok_trie;

typedef struct tok_truncation {
    bool on;
    size_t max_length;
    bool left;               /* direction Left */
} tok_truncation;

typedef struct tok_padding {
    bool on;
    bool fixed;
    size_t length;           /* Fixed */
    size_t multiple;         /* pad_to_multiple_of, 0 = none */
    bool left;
    uint32_t pad_id;
} tok_padding;

/* The shared, read-only part of a tokenizer. */
typedef struct tok_core {
    int refs;
    char *name;              /* for messages: the file it came from */
    json_t *doc;             /* the tokenizer.json document (canonical; save writes it) */
    json_t *config;          /* tokenizer_config.json when it was next to the file, or NULL */
    tok_normalizer *normalizer;
    tok_pretok *pretok;
    tok_model model;
    tok_post *post;
    tok_decoder *decoder;
    tok_added *added;
    size_t n_added;
    tok_trie trie_raw, trie_norm;     /* non-normalized / normalized added tokens */
    bool has_raw_added, has_norm_added;
    tok_truncation truncation;
    tok_padding padding;
    bool byte_level;         /* a ByteLevel pre-tokenizer: every byte string round-trips */
    bool lossless;           /* byte_level or BPE byte_fallback with all 256 byte pieces */
    int64_t special[4];      /* llmc_tok_role */
    uint32_t vocab_size;     /* model pieces + added tokens beyond them (HF get_vocab_size(true)) */
    /* id -> added token index (or -1) for ids >= model table, and added tokens in the table */
    int32_t *added_of_id;
    uint32_t n_added_of_id;
    /* loaded from a tokenizer.model: sentencepiece's own encoder and decoder (tok_spm_model.h),
     * used instead of the tokenizer.json pipeline, which HF's library runs slightly differently */
    struct llmc_spm_tokenizer *spm;
} tok_core;

/* Per-handle work space: nothing here is shared between threads. */
typedef struct tok_work {
    struct llmc_spm_work *spm;  /* scratch of tok_core.spm, made on first use */
    tok_buf norm_a, norm_b, seg;
    tok_splits sp_a, sp_b;
    uint32_t *cps, *cps2;
    size_t cps_cap, cps2_cap;
    llmc_regex_scratch rx;
    void *segv;              /* tok_pretok.c's match list */
    size_t segv_cap;
    /* BPE */
    void *symbols, *heap;
    size_t symbols_cap, heap_cap;
    tok_buf key;
    /* pre-token cache: word -> ids span in cache_ids */
    llmc_strmap cache;
    uint32_t *cache_ids;
    size_t cache_ids_n, cache_ids_cap;
    uint64_t *cache_span;    /* per cache entry value: (offset << 16) | count */
    size_t cache_span_n, cache_span_cap;
} tok_work;

struct llmc_tokenizer {
    tok_core *core;
    tok_work work;
};

/* ---- functions across the tok_*.c files ----------------------------------------------------------------- */

/* tok_json.c: build a core from a parsed tokenizer.json document (takes ownership of doc) */
tok_core *tok_core_from_json(json_t *doc, const char *name, llmc_diags *d);
void tok_core_release(tok_core *c);

/* tok_normalize.c: normalize s[0..n) into out (cleared first). work gives scratch. 0 / -1 (OOM). */
int tok_normalize(const tok_normalizer *nm, const char *s, size_t n, tok_buf *out, tok_work *w);

/* tok_pretok.c: pre-tokenize in-place: *sp holds the splits (in sp->text); other is scratch. */
int tok_pretokenize(const tok_pretok *pt, tok_splits **sp, tok_splits **other, tok_work *w);
/* the GPT-2 regex (compiled once, shared) */
const llmc_regex *tok_gpt2_regex(void);
/* the ByteLevel byte <-> char maps */
extern const uint16_t tok_byte_to_char[256];
int tok_char_to_byte(uint32_t cp);   /* -1 when cp is not one of the 256 */

/* tok_models.c: append the ids of one pre-token. 0, -1 out of memory, TOK_ERR_UNK when the text
 * needs the unknown token and the model's unk_token is not in its vocabulary */
#define TOK_ERR_UNK (-2)
int tok_model_encode(const tok_core *c, tok_work *w, const char *s, size_t n, llmc_tok_ids *out);

/* A Unigram score as the HF library holds it after reading the shortest decimal of x from
 * tokenizer.json (serde_json's reader rounds twice), and the nearest score every reader (HF's,
 * strtod, llmc's) reads back exactly from what llmc writes (tok_json.c). */
LLMC_API double llmc_tok_score_as_hf_reads(double x);
LLMC_API double llmc_tok_score_stable(double x);

/* tok_decode.c: tokens -> text (HF decode); lossy = HF's replacement of invalid UTF-8 */
int tok_decode_tokens(const tok_decoder *dec, const char *const *tok, const size_t *len, size_t n, bool lossy,
                      tok_buf *out);

/* tokenizer.c */
void tok_work_free(tok_work *w);
const char *tok_piece(const tok_core *c, uint32_t id, size_t *len);   /* added or model piece, or NULL */

/* tok_write.c */
char *tok_json_dump(const json_t *doc, size_t *len);   /* HF's layout: 2-space indent, key order kept */

/* the supported component lists, for messages and docs */
extern const char tok_supported_normalizers[], tok_supported_pretokenizers[], tok_supported_models[],
    tok_supported_decoders[], tok_supported_post[];

#endif
