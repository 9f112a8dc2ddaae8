/* Corpora for tokenizers: streamed reading of .txt, .jsonl (--text-field), their .gz forms and
 * stdin ("-"); multi-threaded word counting through a tokenizer's normalizer and pre-tokenizer
 * (for training); multi-threaded encoding into a flat token file (llm.c / nanoGPT layout) with
 * a JSON sidecar. Internal to the core (the CLI and the training driver use it).
 *
 * Documents: a line of a .txt file (with its line ending for byte-level pipelines, as HF's
 * trainer reads files; without it otherwise, as SentencePiece does), a record of a .jsonl file
 * (the string at text_field). */
#ifndef LLMC_CORE_TOK_CORPUS_H
#define LLMC_CORE_TOK_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/tokenizer.h"

typedef enum llmc_invalid_utf8 {
    LLMC_INVALID_UTF8_ERROR = 0,     /* refuse, naming the file and byte offset (non-lossless tokenizers) */
    LLMC_INVALID_UTF8_REPLACE = 1    /* U+FFFD per invalid byte, with a warning naming the first one */
} llmc_invalid_utf8;

typedef struct llmc_tok_corpus_params {
    const char *const *paths;   /* files, or "-" for stdin */
    size_t n_paths;
    const char *text_field;     /* .jsonl: the field holding the text (default "text") */
    int threads;
    bool progress;              /* a progress bar on stderr (only when it is a TTY) */
    size_t chunk_bytes;         /* documents are handed to workers in chunks of about this size */
    llmc_invalid_utf8 invalid_utf8;
    size_t max_words;           /* counting: at most this many distinct words are held (lossy counting
                                 * drops the rarest beyond it, with a warning); 0 = no bound.
                                 * Default 2^22 (about 100 bytes a word, per counting thread) */
} llmc_tok_corpus_params;
LLMC_API void llmc_tok_corpus_default_params(llmc_tok_corpus_params *p);

/* ---- streamed reading -------------------------------------------------------------------------------------- */
typedef struct llmc_corpus_reader llmc_corpus_reader;
LLMC_API llmc_corpus_reader *llmc_corpus_open(const char *path, const char *text_field, llmc_diags *d);
LLMC_API void llmc_corpus_close(llmc_corpus_reader *r);
/* The next document: *doc points into the reader's buffer until the next call; *offset is its
 * byte offset in the (uncompressed) file. 1 = a document, 0 = end, -1 = error (diagnosed). */
LLMC_API int llmc_corpus_next(llmc_corpus_reader *r, const char **doc, size_t *len, uint64_t *offset, llmc_diags *d);
LLMC_API uint64_t llmc_corpus_bytes_read(const llmc_corpus_reader *r);   /* compressed bytes consumed */
LLMC_API uint64_t llmc_corpus_file_size(const llmc_corpus_reader *r);    /* 0 when unknown (stdin) */

/* ---- counting (training statistics) --------------------------------------------------------------------------- */
typedef struct llmc_tok_counts llmc_tok_counts;
/* Count the words of every document through t's added tokens, normalizer and pre-tokenizer
 * (the model is not used). keep_line_endings: see "Documents" above. On failure *exit_code says
 * whose fault: 1 the corpus content (invalid UTF-8, a bad record), 4 reading it. */
LLMC_API llmc_tok_counts *llmc_tok_count_corpus(const llmc_tokenizer *t, const llmc_tok_corpus_params *p,
                                                bool keep_line_endings, int *exit_code, llmc_diags *d);
LLMC_API const llmc_tok_corpus_stats *llmc_tok_counts_stats(const llmc_tok_counts *c);
LLMC_API void llmc_tok_counts_free(llmc_tok_counts *c);

/* ---- encoding a corpus ---------------------------------------------------------------------------------------- */
/* Returns an exit code (0; 1 bad corpus content; 2 bad separator; 4 I/O).
 * Write every document's ids to out (uint16 little-endian when the vocabulary has at most 65536
 * ids, else uint32) and out + ".json" (dtype, tokens, documents, tokenizer hash, files); both
 * written to temporary names and renamed. separator: a token placed before every document
 * (e.g. "<|endoftext|>", llm.c's convention), or NULL. add_bos: the tokenizer's bos before every
 * document whose ids (after add_special_tokens) do not start with it -- how a model with
 * add_bos_token reads a prompt (Llama); exit 2 when the tokenizer has no bos. An existing out is
 * refused unless force. */
LLMC_API int llmc_tok_encode_corpus(const llmc_tokenizer *t, const llmc_tok_corpus_params *p, const char *out,
                                    const char *separator, bool add_special_tokens, bool add_bos, bool force,
                                    llmc_diags *d);

/* The number of ids llmc_tok_encode_corpus(t, p, ..., separator NULL, add_special_tokens) writes,
 * without writing them. Returns an exit code as llmc_tok_encode_corpus does. */
LLMC_API int llmc_tok_count_tokens(const llmc_tokenizer *t, const llmc_tok_corpus_params *p, bool add_special_tokens,
                                   uint64_t *tokens, llmc_diags *d);

/* Words of one text through t's pipeline (internal; the counting workers use it). fn gets each
 * pre-token; added tokens are skipped. */
typedef int (*llmc_tok_word_fn)(void *ctx, const char *word, size_t len);
LLMC_API int llmc_tok_words(llmc_tokenizer *t, const char *text, size_t len, llmc_tok_word_fn fn, void *ctx,
                            llmc_diags *d);

#endif
