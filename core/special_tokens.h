/* A model's special tokens (llmc_special_tokens, llmc/tokenizer.h): computed once from the
 * model's tokenizer and family, then handed to every emitter and written into OUT/tokenizer/.
 * Also the legacy `tokenizer: byte` vocabulary as a real tokenizer, so that it takes the same
 * path as a trained or loaded one. Internal to the core; the rules are in docs/tokenizers.md
 * ("Special tokens of a model"). */
#ifndef LLMC_CORE_SPECIAL_TOKENS_H
#define LLMC_CORE_SPECIAL_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/tokenizer.h"

/* t may be NULL (a model without a tokenizer: no special tokens, an encoder-decoder starts
 * decoding from id 0). family is llmc_layout_hf's ("llama", "mistral", "qwen2", "gpt2", "t5",
 * "llmc_<template>"); encdec: the model has an encoder and a decoder. */
LLMC_API void llmc_special_tokens_compute(const llmc_tokenizer *t, const char *family, bool encdec,
                                          llmc_special_tokens *out);

/* The `tokenizer: byte` vocabulary of vocab_size ids (>= 256): ids 0..255 the bytes, spelled in
 * GPT-2's byte alphabet; 256, 257, 258 <|bos|>, <|eos|>, <|pad|> as far as vocab_size allows;
 * then <|unused_N|> fillers, which no text encodes to. A byte-level BPE without merges: every
 * byte is one token and decoding gives the bytes back. */
LLMC_API llmc_tokenizer *llmc_byte_vocab_tokenizer(int64_t vocab_size, llmc_diags *d);

/* tokenizer_config.json / special_tokens_map.json text (malloc'd) with the roles and add_bos /
 * add_eos of st: cfg_json is the file as the tokenizer wrote it (its other keys are kept). */
LLMC_API char *llmc_special_tokens_apply_config(const llmc_tokenizer *t, const llmc_special_tokens *st,
                                                const char *cfg_json, size_t len, bool with_flags, llmc_diags *d);

#endif
