/* SentencePiece's model file (tokenizer.model): the protobuf message ModelProto of
 * sentencepiece_model.proto, read and written by hand (the file format is the product, so no
 * protobuf library).
 *
 * The reader treats the file as untrusted: every varint, length and field is bounds-checked,
 * fields this version does not know are skipped by their wire type, and every refusal names the
 * field and the byte offset ("tokenizer.model: trainer_spec.vocab_size: truncated varint at
 * byte 123"). Fields that proto2 would merge (a message field given twice) are merged the same
 * way; a scalar given twice keeps the last value, as protobuf does.
 *
 * The structs below hold every field of the .proto (sentencepiece 0.2 and later), each with a
 * presence bit: a field absent from the file reads as its .proto default and is not written
 * back. Internal to llmc (core and in-tree plugins). */
#ifndef LLMC_CORE_TOK_SPM_H
#define LLMC_CORE_TOK_SPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "llmc/diag.h"
#include "llmc/export.h"

typedef enum llmc_spm_piece_type {
    LLMC_SPM_NORMAL = 1,
    LLMC_SPM_UNKNOWN = 2,
    LLMC_SPM_CONTROL = 3,
    LLMC_SPM_USER_DEFINED = 4,
    LLMC_SPM_UNUSED = 5,
    LLMC_SPM_BYTE = 6
} llmc_spm_piece_type;

typedef enum llmc_spm_model_type {
    LLMC_SPM_MODEL_UNIGRAM = 1,
    LLMC_SPM_MODEL_BPE = 2,
    LLMC_SPM_MODEL_WORD = 3,
    LLMC_SPM_MODEL_CHAR = 4
} llmc_spm_model_type;

/* A byte string (protobuf string or bytes). data is NUL-terminated (not counted in len) so a
 * piece can be used as a C string when it holds no NUL. data is NULL only when len is 0. */
typedef struct llmc_spm_str {
    char *data;
    size_t len;
} llmc_spm_str;

typedef struct llmc_spm_strs {
    llmc_spm_str *items;
    size_t n;
} llmc_spm_strs;

typedef struct llmc_spm_piece {
    uint32_t has;   /* LLMC_SPM_PIECE_HAS_* */
    llmc_spm_str piece;
    float score;
    int32_t type;   /* llmc_spm_piece_type; default NORMAL */
} llmc_spm_piece;
enum { LLMC_SPM_PIECE_HAS_PIECE = 1u << 0, LLMC_SPM_PIECE_HAS_SCORE = 1u << 1, LLMC_SPM_PIECE_HAS_TYPE = 1u << 2 };

/* TrainerSpec. The presence bits are LLMC_SPM_TS_<FIELD> below. */
typedef struct llmc_spm_trainer_spec {
    uint64_t has;
    llmc_spm_strs input;                       /* 1 */
    llmc_spm_str input_format;                 /* 7 */
    llmc_spm_str model_prefix;                 /* 2 */
    int32_t model_type;                        /* 3, llmc_spm_model_type, default UNIGRAM */
    int32_t vocab_size;                        /* 4, default 8000 */
    llmc_spm_strs accept_language;             /* 5 */
    int32_t self_test_sample_size;             /* 6 */
    bool enable_differential_privacy;          /* 50 */
    float differential_privacy_noise_level;    /* 51 */
    uint64_t differential_privacy_clipping_threshold; /* 52 */
    float character_coverage;                  /* 10, default 0.9995 */
    uint64_t input_sentence_size;              /* 11 */
    bool shuffle_input_sentence;               /* 19, default true */
    int32_t mining_sentence_size;              /* 12 (deprecated) */
    int32_t training_sentence_size;            /* 13 (deprecated) */
    int32_t seed_sentencepiece_size;           /* 14, default 1000000 */
    float shrinking_factor;                    /* 15, default 0.75 */
    int32_t max_sentence_length;               /* 18, default 4192 */
    int32_t num_threads;                       /* 16, default 16 */
    int32_t num_sub_iterations;                /* 17, default 2 */
    int32_t max_sentencepiece_length;          /* 20, default 16 */
    bool split_by_unicode_script;              /* 21, default true */
    bool split_by_number;                      /* 23, default true */
    bool split_by_whitespace;                  /* 22, default true */
    bool treat_whitespace_as_suffix;           /* 24 */
    bool allow_whitespace_only_pieces;         /* 26 */
    bool split_digits;                         /* 25 */
    llmc_spm_str pretokenization_delimiter;    /* 53 */
    llmc_spm_strs control_symbols;             /* 30 */
    llmc_spm_strs user_defined_symbols;        /* 31 */
    llmc_spm_str required_chars;               /* 36 */
    bool byte_fallback;                        /* 35 */
    bool vocabulary_output_piece_score;        /* 32, default true */
    bool hard_vocab_limit;                     /* 33, default true */
    bool use_all_vocab;                        /* 34 */
    int32_t unk_id;                            /* 40, default 0 */
    int32_t bos_id;                            /* 41, default 1 */
    int32_t eos_id;                            /* 42, default 2 */
    int32_t pad_id;                            /* 43, default -1 */
    llmc_spm_str unk_piece;                    /* 45, default "<unk>" */
    llmc_spm_str bos_piece;                    /* 46, default "<s>" */
    llmc_spm_str eos_piece;                    /* 47, default "</s>" */
    llmc_spm_str pad_piece;                    /* 48, default "<pad>" */
    llmc_spm_str unk_surface;                  /* 44, default " \u2047 " */
    bool train_extremely_large_corpus;         /* 49 */
    llmc_spm_str seed_sentencepieces_file;     /* 54 */
} llmc_spm_trainer_spec;

#define LLMC_SPM_TS_BIT(n) (UINT64_C(1) << (n))
enum {
    LLMC_SPM_TS_INPUT, LLMC_SPM_TS_INPUT_FORMAT, LLMC_SPM_TS_MODEL_PREFIX, LLMC_SPM_TS_MODEL_TYPE,
    LLMC_SPM_TS_VOCAB_SIZE, LLMC_SPM_TS_ACCEPT_LANGUAGE, LLMC_SPM_TS_SELF_TEST_SAMPLE_SIZE,
    LLMC_SPM_TS_ENABLE_DP, LLMC_SPM_TS_DP_NOISE_LEVEL, LLMC_SPM_TS_DP_CLIPPING_THRESHOLD,
    LLMC_SPM_TS_CHARACTER_COVERAGE, LLMC_SPM_TS_INPUT_SENTENCE_SIZE, LLMC_SPM_TS_SHUFFLE_INPUT_SENTENCE,
    LLMC_SPM_TS_MINING_SENTENCE_SIZE, LLMC_SPM_TS_TRAINING_SENTENCE_SIZE, LLMC_SPM_TS_SEED_SENTENCEPIECE_SIZE,
    LLMC_SPM_TS_SHRINKING_FACTOR, LLMC_SPM_TS_MAX_SENTENCE_LENGTH, LLMC_SPM_TS_NUM_THREADS,
    LLMC_SPM_TS_NUM_SUB_ITERATIONS, LLMC_SPM_TS_MAX_SENTENCEPIECE_LENGTH, LLMC_SPM_TS_SPLIT_BY_UNICODE_SCRIPT,
    LLMC_SPM_TS_SPLIT_BY_NUMBER, LLMC_SPM_TS_SPLIT_BY_WHITESPACE, LLMC_SPM_TS_TREAT_WHITESPACE_AS_SUFFIX,
    LLMC_SPM_TS_ALLOW_WHITESPACE_ONLY_PIECES, LLMC_SPM_TS_SPLIT_DIGITS, LLMC_SPM_TS_PRETOKENIZATION_DELIMITER,
    LLMC_SPM_TS_CONTROL_SYMBOLS, LLMC_SPM_TS_USER_DEFINED_SYMBOLS, LLMC_SPM_TS_REQUIRED_CHARS,
    LLMC_SPM_TS_BYTE_FALLBACK, LLMC_SPM_TS_VOCABULARY_OUTPUT_PIECE_SCORE, LLMC_SPM_TS_HARD_VOCAB_LIMIT,
    LLMC_SPM_TS_USE_ALL_VOCAB, LLMC_SPM_TS_UNK_ID, LLMC_SPM_TS_BOS_ID, LLMC_SPM_TS_EOS_ID, LLMC_SPM_TS_PAD_ID,
    LLMC_SPM_TS_UNK_PIECE, LLMC_SPM_TS_BOS_PIECE, LLMC_SPM_TS_EOS_PIECE, LLMC_SPM_TS_PAD_PIECE,
    LLMC_SPM_TS_UNK_SURFACE, LLMC_SPM_TS_TRAIN_EXTREMELY_LARGE_CORPUS, LLMC_SPM_TS_SEED_SENTENCEPIECES_FILE
};

typedef struct llmc_spm_normalizer_spec {
    uint32_t has;                      /* LLMC_SPM_NS_* bits */
    llmc_spm_str name;                 /* 1 */
    llmc_spm_str precompiled_charsmap; /* 2 */
    bool add_dummy_prefix;             /* 3, default true */
    bool remove_extra_whitespaces;     /* 4, default true */
    bool escape_whitespaces;           /* 5, default true */
    llmc_spm_str normalization_rule_tsv; /* 6 */
} llmc_spm_normalizer_spec;
enum {
    LLMC_SPM_NS_NAME = 1u << 0, LLMC_SPM_NS_PRECOMPILED_CHARSMAP = 1u << 1, LLMC_SPM_NS_ADD_DUMMY_PREFIX = 1u << 2,
    LLMC_SPM_NS_REMOVE_EXTRA_WHITESPACES = 1u << 3, LLMC_SPM_NS_ESCAPE_WHITESPACES = 1u << 4,
    LLMC_SPM_NS_NORMALIZATION_RULE_TSV = 1u << 5
};

typedef struct llmc_spm_self_test_sample {
    uint32_t has;        /* 1: input, 2: expected */
    llmc_spm_str input;
    llmc_spm_str expected;
} llmc_spm_self_test_sample;

typedef struct llmc_spm_self_test_data {
    llmc_spm_self_test_sample *samples; /* 1 */
    size_t n_samples;
} llmc_spm_self_test_data;

typedef struct llmc_spm_proto {
    llmc_spm_piece *pieces;  /* 1 */
    size_t n_pieces;
    uint32_t has;            /* LLMC_SPM_HAS_* for the message fields */
    llmc_spm_trainer_spec trainer_spec;          /* 2 */
    llmc_spm_normalizer_spec normalizer_spec;    /* 3 */
    llmc_spm_self_test_data self_test_data;      /* 4 */
    llmc_spm_normalizer_spec denormalizer_spec;  /* 5 */
} llmc_spm_proto;
enum {
    LLMC_SPM_HAS_TRAINER_SPEC = 1u << 0, LLMC_SPM_HAS_NORMALIZER_SPEC = 1u << 1,
    LLMC_SPM_HAS_SELF_TEST_DATA = 1u << 2, LLMC_SPM_HAS_DENORMALIZER_SPEC = 1u << 3
};

/* Limits on what the reader accepts (a larger file is not a real model). */
#define LLMC_SPM_MAX_FILE_BYTES (UINT64_C(1) << 31)
#define LLMC_SPM_MAX_PIECES (1u << 24)

/* An empty ModelProto: every field absent, every value at its .proto default. */
LLMC_API void llmc_spm_proto_init(llmc_spm_proto *m);
LLMC_API void llmc_spm_proto_free(llmc_spm_proto *m); /* frees what m owns; m itself is the caller's */

/* Parse a serialized ModelProto. name is used in messages (a path or "<buffer>"). On failure
 * returns false, m is left empty (initialised) and d has an error naming the field. This only
 * checks the wire format; llmc_spm_proto_check checks the meaning. */
LLMC_API bool llmc_spm_proto_parse(llmc_spm_proto *m, const void *data, size_t len, const char *name,
                                   llmc_diags *d);
/* Read a file (at most LLMC_SPM_MAX_FILE_BYTES) and parse it. */
LLMC_API bool llmc_spm_proto_read_file(llmc_spm_proto *m, const char *path, llmc_diags *d);

/* The checks sentencepiece makes when it loads a model: pieces non-empty and valid UTF-8, no
 * piece defined twice, exactly one UNKNOWN piece, BYTE pieces only with byte_fallback and then
 * all 256 of them (<0x00>..<0xFF>), a model type this llmc encodes. Errors go to d. */
LLMC_API bool llmc_spm_proto_check(const llmc_spm_proto *m, const char *name, llmc_diags *d);

/* Serialize m (fields in field-number order, only the present ones). *out is malloc'd.
 * Returns false only on out of memory or a message over 2 GiB. */
LLMC_API bool llmc_spm_proto_serialize(const llmc_spm_proto *m, uint8_t **out, size_t *out_len);

/* Setters used by writers: copy a string into a field and mark it present. False on OOM. */
LLMC_API bool llmc_spm_str_set(llmc_spm_str *s, const char *data, size_t len);
LLMC_API bool llmc_spm_strs_push(llmc_spm_strs *v, const char *data, size_t len);
/* Append a piece (copied); returns its index or -1 on OOM. */
LLMC_API long llmc_spm_proto_add_piece(llmc_spm_proto *m, const char *piece, size_t len, float score,
                                       llmc_spm_piece_type type);

/* "<0x41>" -> 0x41; -1 when piece is not exactly a byte piece of that form (upper-case hex). */
LLMC_API int llmc_spm_piece_to_byte(const char *piece, size_t len);
/* name of a piece type ("NORMAL", ...) or "?" */
LLMC_API const char *llmc_spm_piece_type_name(int32_t type);

/* ---- tokenizer.json equivalence (the contract of core/tok_model.h; core/tok_spm_json.c) ---- */

/* Read a tokenizer.model and return the equivalent tokenizer.json document: a Unigram or BPE
 * model with a pipeline (normalizer, pre_tokenizer, decoder, added_tokens) under which Hugging
 * Face tokenizers encodes like sentencepiece. NULL + a message naming the field on a bad or
 * unsupported file (WORD and CHAR models, whitespace as a suffix). */
LLMC_API json_t *llmc_tok_spm_read(const char *path, llmc_diags *d);
/* Write tokenizer.model (at path, as is: the caller renames it into place) for a tokenizer.json
 * document holding a Unigram model, or a BPE model on a U+2581 pipeline. 0, or -1 + a message. */
LLMC_API int llmc_tok_spm_write(const json_t *tokenizer_json, const char *path, llmc_diags *d);
/* The tokenizer.json pipeline under which HF tokenizers encodes like sentencepiece with these
 * normalizer settings: {"normalizer": ..., "pre_tokenizer": ..., "decoder": ...} (new reference).
 * charsmap_b64: a Precompiled charsmap (base64) or NULL. The unigram trainer installs it too. */
LLMC_API json_t *llmc_tok_spm_pipeline(bool add_dummy_prefix, bool remove_extra_whitespaces, bool escape_whitespaces,
                                       bool split_by_whitespace, bool byte_fallback, const char *charsmap_b64);
/* A copy of a llmc_tok_spm_read document without its Precompiled normalizer step, for a core that
 * encodes with the exact sentencepiece path (tok_spm_model.h) and keeps the rest (new reference). */
LLMC_API json_t *llmc_tok_spm_runnable(const json_t *doc);
/* Can llmc_tok_spm_write write this document? */
LLMC_API bool llmc_tok_spm_can_write(const json_t *tokenizer_json);

#endif
