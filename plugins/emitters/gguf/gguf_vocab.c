/* tokenizer.ggml.* metadata.
 *
 * No tokenizer in the spec: tokenizer.ggml.model = "no_vocab" (llama.cpp then sizes the vocabulary
 * from <arch>.vocab_size and feeds token ids only).
 *
 * tokenizer: byte -- a byte-level BPE vocabulary llama.cpp treats like GPT-2's ("gpt2" model):
 *   ids 0..255    the bytes, each spelled in GPT-2's byte-to-unicode alphabet (printable Latin-1
 *                 bytes stand for themselves, the other 68 map to U+0100.. in byte order), type NORMAL
 *   256, 257, 258 <|bos|>, <|eos|>, <|pad|> (CONTROL), as far as vocab_size allows
 *   259..V-1      <|unused_N|> fillers (UNUSED), so that the table has vocab_size rows
 * There are no merges, so every byte of the input is one token and detokenizing gives the bytes
 * back. The pre-tokenizer is "qwen2": a GPT-2-family split whose detokenizer does not "clean up"
 * spaces before punctuation (the default one would turn "a ." into "a."). BOS/EOS are not added. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_arch.h"

int64_t gguf_byte_vocab_special(int64_t vocab_size, int which) {
    int64_t id = 256 + which;
    return id < vocab_size ? id : -1;
}

/* GPT-2's bytes_to_unicode: the code point that spells byte b */
static unsigned byte_codepoint(unsigned b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    unsigned n = 0;   /* rank of b among the bytes that are not printable */
    for (unsigned c = 0; c < b; c++)
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))) n++;
    return 256 + n;
}

typedef struct vocab_ctx {
    int64_t n;
    char bytes[256][4];
    char buf[48];
} vocab_ctx;

static const char *token_text(void *user, uint64_t i) {
    vocab_ctx *v = user;
    if (i < 256) return v->bytes[i];
    static const char *const specials[3] = {"<|bos|>", "<|eos|>", "<|pad|>"};
    if (i < 259) return specials[i - 256];
    snprintf(v->buf, sizeof v->buf, "<|unused_%llu|>", (unsigned long long)(i - 259));
    return v->buf;
}

int gguf_vocab_metadata(const llmc_spec *s, gguf_arch a, gguf_meta *m, llmc_diags *d) {
    (void)a;
    if (s->tokenizer == LLMC_TOKENIZER_NONE)
        return gguf_kv_str(m, "tokenizer.ggml.model", "no_vocab", d);
    if (s->tokenizer != LLMC_TOKENIZER_BYTE) {
        llmc_error(d, "tokenizer", "internal error: tokenizer %s has no GGUF vocabulary", llmc_tokenizer_name(s->tokenizer));
        return -1;
    }
    const int64_t V = s->vocab_size;
    if (V < 256) {
        llmc_error(d, "vocab_size", "must be >= 256 with tokenizer: byte (got %lld)", (long long)V);
        return -1;
    }
    vocab_ctx *v = calloc(1, sizeof *v);
    int32_t *types = malloc((size_t)V * sizeof *types);
    if (!v || !types) {
        free(v);
        free(types);
        llmc_error(d, "gguf", "out of memory building the vocabulary");
        return -1;
    }
    v->n = V;
    for (unsigned b = 0; b < 256; b++) {
        unsigned cp = byte_codepoint(b);   /* < 0x800: one or two UTF-8 bytes */
        if (cp < 0x80) {
            v->bytes[b][0] = (char)cp;
        } else {
            v->bytes[b][0] = (char)(0xC0 | (cp >> 6));
            v->bytes[b][1] = (char)(0x80 | (cp & 0x3F));
        }
    }
    /* llama_token_type: NORMAL 1, CONTROL 3, UNUSED 5 */
    for (int64_t i = 0; i < V; i++) types[i] = i < 256 ? 1 : i < 259 ? 3 : 5;
    int rc = 0;
    rc |= gguf_kv_str(m, "tokenizer.ggml.model", "gpt2", d);
    rc |= gguf_kv_str(m, "tokenizer.ggml.pre", "qwen2", d);
    rc |= gguf_kv_arr_str(m, "tokenizer.ggml.tokens", (uint64_t)V, token_text, v, d);
    rc |= gguf_kv_arr_i32(m, "tokenizer.ggml.token_type", types, (uint64_t)V, d);
    rc |= gguf_kv_arr_str(m, "tokenizer.ggml.merges", 0, token_text, v, d);
    static const char *const keys[3] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                        "tokenizer.ggml.padding_token_id"};
    for (int w = 0; w < 3; w++) {
        int64_t id = gguf_byte_vocab_special(V, w);
        if (id >= 0) rc |= gguf_kv_u32(m, keys[w], (uint32_t)id, d);
    }
    rc |= gguf_kv_bool(m, "tokenizer.ggml.add_bos_token", false, d);
    rc |= gguf_kv_bool(m, "tokenizer.ggml.add_eos_token", false, d);
    free(types);
    free(v);
    return rc ? -1 : 0;
}
