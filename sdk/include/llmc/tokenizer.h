/* llmc — tokenizers.
 *
 * Two halves:
 *   1. The tokenizer itself (opaque llmc_tokenizer): load a Hugging Face tokenizer.json (or a
 *      SentencePiece tokenizer.model, or a directory holding either), encode text to ids exactly
 *      as the HF tokenizers library does for the same file, decode ids to text as HF's decoder
 *      does, save it back (tokenizer.json, tokenizer_config.json, special_tokens_map.json, plus
 *      vocab.txt for WordPiece and tokenizer.model for Unigram / SentencePiece-style BPE).
 *   2. The training interface of the `tokenizer` plugin kind (llmc/plugin.h): core reads and
 *      pre-tokenizes the corpus and hands the plugin the word counts (llmc_tok_corpus_stats);
 *      the plugin fills a model through an llmc_tok_builder; core serialises it.
 *
 * Ids are uint32_t. Every function that can fail reports to an llmc_diags and returns non-zero
 * (or NULL); a bad file is an error naming the JSON key path, never a crash.
 * Formats, supported components and the CLI: docs/tokenizers.md. */
#ifndef LLMC_TOKENIZER_H
#define LLMC_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== 1. the tokenizer ======================================================================== */

typedef struct llmc_tokenizer llmc_tokenizer;

/* A growable id buffer owned by the caller: reuse it across calls (encode appends). */
typedef struct llmc_tok_ids {
    uint32_t *ids;
    size_t n, cap;
} llmc_tok_ids;
LLMC_API int llmc_tok_ids_push(llmc_tok_ids *v, uint32_t id);   /* 0, or -1 when out of memory */
LLMC_API int llmc_tok_ids_reserve(llmc_tok_ids *v, size_t cap);  /* 0, or -1 */
LLMC_API void llmc_tok_ids_free(llmc_tok_ids *v);                /* frees ids, zeroes the struct */

/* path: a tokenizer.json, a tokenizer.model, or a directory holding tokenizer.json (preferred)
 * or tokenizer.model. The file is untrusted: sizes, ids, duplicate pieces and merges are
 * checked; an unsupported component is refused naming its key path and the supported list. */
LLMC_API llmc_tokenizer *llmc_tokenizer_load(const char *path, llmc_diags *d);
/* The same from tokenizer.json text in memory; name is used in messages ("tokenizer.json"). */
LLMC_API llmc_tokenizer *llmc_tokenizer_load_json(const char *json, size_t len, const char *name, llmc_diags *d);
/* A second handle on the same tables (shared, read-only, reference-counted) with its own
 * pre-token cache and scratch space: one handle per encoding thread. */
LLMC_API llmc_tokenizer *llmc_tokenizer_clone(const llmc_tokenizer *t);
LLMC_API void llmc_tokenizer_free(llmc_tokenizer *t);

/* Encode len bytes of text, appending ids to out (HF Tokenizer.encode(text, add_special_tokens)).
 * Text that is not valid UTF-8: byte-level and byte-fallback tokenizers encode the bytes as they
 * are; other tokenizers treat each invalid byte as U+FFFD (docs/tokenizers.md). A handle is used
 * by one thread at a time (llmc_tokenizer_clone for more). 0 on success. */
LLMC_API int llmc_tokenizer_encode(llmc_tokenizer *t, const char *text, size_t len, bool add_special_tokens,
                                   llmc_tok_ids *out, llmc_diags *d);
/* Decode ids (HF Tokenizer.decode(ids, skip_special_tokens)) into a malloc'd NUL-terminated
 * string *text of *len bytes (the caller frees it). An id out of range is an error. */
LLMC_API int llmc_tokenizer_decode(const llmc_tokenizer *t, const uint32_t *ids, size_t n, bool skip_special_tokens,
                                   char **text, size_t *len, llmc_diags *d);
/* The same without HF's repair of bytes that are not UTF-8 (HF: U+FFFD): the exact bytes the
 * ids stand for, so that decode_bytes(encode(x)) == x for any byte string x when
 * llmc_tokenizer_lossless() (the result may then be invalid UTF-8, as x was). */
LLMC_API int llmc_tokenizer_decode_bytes(const llmc_tokenizer *t, const uint32_t *ids, size_t n,
                                         bool skip_special_tokens, char **text, size_t *len, llmc_diags *d);

/* Number of ids: the model's vocabulary plus added tokens (HF get_vocab_size(true)). */
LLMC_API uint32_t llmc_tokenizer_vocab_size(const llmc_tokenizer *t);
/* The piece of an id (model vocabulary or added token); NULL when out of range. Not
 * NUL-terminated in general: *len gives its length. */
LLMC_API const char *llmc_tokenizer_id_to_piece(const llmc_tokenizer *t, uint32_t id, size_t *len);
/* The id of a piece, or -1. */
LLMC_API int64_t llmc_tokenizer_piece_to_id(const llmc_tokenizer *t, const char *piece, size_t len);

typedef enum llmc_tok_role {
    LLMC_TOK_BOS = 0,
    LLMC_TOK_EOS = 1,
    LLMC_TOK_PAD = 2,
    LLMC_TOK_UNK = 3
} llmc_tok_role;
/* The id of a special token (from tokenizer_config.json / special_tokens_map.json when they
 * were next to the file, else from the model and the usual names), or -1. */
LLMC_API int64_t llmc_tokenizer_special_id(const llmc_tokenizer *t, llmc_tok_role role);
/* "BPE", "WordPiece", "WordLevel" or "Unigram". */
LLMC_API const char *llmc_tokenizer_model_type(const llmc_tokenizer *t);
/* True when every byte string encodes losslessly (byte-level or byte fallback): decode(encode(x)) == x. */
LLMC_API bool llmc_tokenizer_lossless(const llmc_tokenizer *t);

/* Write the tokenizer into the existing directory dir: tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, vocab.txt (WordPiece), tokenizer.model (Unigram, SentencePiece-style
 * BPE). Each file is written to a temporary name and renamed into place. */
LLMC_API int llmc_tokenizer_save(const llmc_tokenizer *t, const char *dir, llmc_diags *d);
/* The tokenizer.json text llmc_tokenizer_save writes (malloc'd, NUL-terminated). */
LLMC_API char *llmc_tokenizer_to_json(const llmc_tokenizer *t, size_t *len, llmc_diags *d);
/* SHA-256 (lower-case hex) of that tokenizer.json text: identifies a tokenizer in sidecars. */
LLMC_API int llmc_tokenizer_hash(const llmc_tokenizer *t, char hex[65]);

/* ==== 2. training: the tokenizer plugin kind ================================================== */

/* --special NAME=TOKEN. NAME is a role: bos, eos, pad, unk, cls, sep, mask, or any other word
 * (kept in tokenizer_config.json's additional_special_tokens). */
typedef struct llmc_tok_special {
    const char *name;
    const char *token;
} llmc_tok_special;

typedef struct llmc_tok_train_params {
    uint32_t struct_size;            /* sizeof(llmc_tok_train_params) as core built it */
    const char *type;                /* the plugin name: bpe, unigram, wordpiece, char, byte, ... */
    uint32_t vocab_size;             /* the final vocabulary, special tokens included */
    const char *pre_tokenizer;       /* gpt2, llama3, metaspace, whitespace, bert; NULL = plugin's default */
    const llmc_tok_special *specials;
    size_t n_specials;
    int threads;                     /* >= 1 */
    bool progress;                   /* stderr is a TTY: the plugin may show llmc_progress bars */
    bool byte_fallback;              /* --byte-fallback (metaspace BPE and unigram default to true) */
    uint64_t min_frequency;          /* pairs / pieces seen fewer times are not learned (0 = plugin default) */
    uint32_t max_piece_length;       /* in characters (0 = plugin default) */
    double character_coverage;       /* spm's: alphabet covers this fraction of characters (0 = default) */
    /* plugin-specific --option KEY=VALUE, in order given */
    const char *const *options;
    size_t n_options;
    /* a tokenizer.json normalizer (e.g. {"type":"NFKC"}) core puts before the pipeline's own
     * once the plugin's prepare ran (the spec's tokenizer.normalization); NULL = none */
    const char *normalizer;
} llmc_tok_train_params;
LLMC_API void llmc_tok_train_default_params(llmc_tok_train_params *p);
/* The value of --option KEY=VALUE (last one wins), or NULL. */
LLMC_API const char *llmc_tok_train_option(const llmc_tok_train_params *p, const char *key);

/* One unique pre-token ("word") of the corpus, after the normalizer and pre-tokenizer the
 * builder held when counting started: e.g. "Ġthe" for byte-level, "▁the" for metaspace. */
typedef struct llmc_tok_word {
    const char *text;     /* UTF-8, not NUL-terminated */
    uint32_t len;         /* bytes */
    uint64_t count;
} llmc_tok_word;

typedef struct llmc_tok_char_count {
    uint32_t codepoint;
    uint64_t count;       /* occurrences in all words, weighted by word count */
} llmc_tok_char_count;

typedef struct llmc_tok_corpus_stats {
    uint32_t struct_size;
    const llmc_tok_word *words;      /* unique words, sorted by bytes (a deterministic order) */
    size_t n_words;
    const llmc_tok_char_count *chars;/* characters of the words, sorted by codepoint */
    size_t n_chars;
    uint64_t byte_counts[256];       /* bytes of the raw corpus text */
    uint64_t bytes;                  /* raw corpus bytes read (text fields only for .jsonl) */
    uint64_t documents;              /* lines of .txt, records of .jsonl */
    uint64_t characters;             /* code points of the raw text */
    uint64_t total_words;            /* sum of word counts */
    uint64_t invalid_utf8;           /* bytes that were not valid UTF-8 */
} llmc_tok_corpus_stats;

/* The model under construction: a tokenizer.json document plus a fast piece index. Owned by
 * core; a plugin only calls these functions on it. */
typedef struct llmc_tok_builder llmc_tok_builder;

/* Install the standard pipeline for a named pre-tokenizer (normalizer, pre_tokenizer, decoder,
 * and model flags): gpt2, llama3, metaspace, whitespace, bert, char, byte. docs/tokenizers.md. */
LLMC_API int llmc_tok_builder_preset(llmc_tok_builder *b, const char *name, llmc_diags *d);
/* Set any key of the tokenizer.json document from JSON text: ("model.type", "\"BPE\""),
 * ("model.byte_fallback", "true"), ("normalizer", "{\"type\":\"NFKC\"}"), ("decoder", "null"). */
LLMC_API int llmc_tok_builder_set(llmc_tok_builder *b, const char *key_path, const char *json, llmc_diags *d);
/* Model type: "BPE", "WordPiece", "WordLevel" or "Unigram" (also resets model options). */
LLMC_API int llmc_tok_builder_set_model(llmc_tok_builder *b, const char *type, llmc_diags *d);
/* Append a piece (valid UTF-8) to the model vocabulary; returns its id, or -1 when it is
 * already there, is not valid UTF-8, or memory ran out (diagnosed in d). score is used by
 * Unigram (log probability) and ignored otherwise. */
LLMC_API int64_t llmc_tok_builder_add_piece(llmc_tok_builder *b, const char *piece, size_t len, double score,
                                           llmc_diags *d);
LLMC_API int64_t llmc_tok_builder_find_piece(const llmc_tok_builder *b, const char *piece, size_t len);
LLMC_API size_t llmc_tok_builder_n_pieces(const llmc_tok_builder *b);
/* The piece of an id (not NUL-terminated; *len its bytes), or NULL. */
LLMC_API const char *llmc_tok_builder_piece(const llmc_tok_builder *b, int64_t id, size_t *len);
/* BPE: append the merge (left, right) by piece ids; the merged piece must be in the vocab. */
LLMC_API int llmc_tok_builder_add_merge(llmc_tok_builder *b, int64_t left, int64_t right, llmc_diags *d);
/* Mark a piece as a special added token (HF added_tokens, special: true); appended to the
 * vocabulary when not there yet. Returns the id or -1. */
LLMC_API int64_t llmc_tok_builder_add_special(llmc_tok_builder *b, const char *token, llmc_diags *d);

/* ==== 3. a model's special tokens ============================================================== */

/* The one set of special tokens of a compiled model. Core computes it once, from the model's
 * tokenizer and the model's family (docs/tokenizers.md "Special tokens of a model"), and hands it
 * to every emitter (llmc_emit_ctx.special_tokens): config.json, generation_config.json, the GGUF
 * keys, the PyTorch package, TorchScript, the CPU runtime and OUT/tokenizer/ all write these ids.
 * -1 = the model has no such token. */
typedef struct llmc_special_tokens {
    int64_t bos, eos, pad, unk;
    int64_t decoder_start;   /* encoder-decoder: the decoder's first input token; -1 for decoder-only */
    bool add_bos;            /* a prompt's encoding starts with bos (llama-style families) */
    bool add_eos;            /* a prompt's encoding ends with eos (T5's encoder input) */
} llmc_special_tokens;

#ifdef __cplusplus
}
#endif
#endif
