/* A model's special tokens, and the `tokenizer: byte` vocabulary as a tokenizer (special_tokens.h). */
#include "special_tokens.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Does encoding with add_special_tokens put bos first / eos last? (the tokenizer's post-processor) */
static void probe_post_processor(const llmc_tokenizer *t, const llmc_special_tokens *st, bool *bos, bool *eos,
                                 bool *any) {
    *bos = *eos = *any = false;
    llmc_tokenizer *h = llmc_tokenizer_clone(t);
    llmc_diags *d = llmc_diags_create();
    llmc_tok_ids ids = {0};
    if (h && d && llmc_tokenizer_encode(h, "a", 1, true, &ids, d) == 0) {
        llmc_tok_ids plain = {0};
        if (llmc_tokenizer_encode(h, "a", 1, false, &plain, d) == 0 && ids.n > plain.n) {
            *any = true;
            *bos = st->bos >= 0 && ids.ids[0] == (uint32_t)st->bos;
            *eos = st->eos >= 0 && ids.ids[ids.n - 1] == (uint32_t)st->eos;
        }
        llmc_tok_ids_free(&plain);
    }
    llmc_tok_ids_free(&ids);
    llmc_diags_free(d);
    llmc_tokenizer_free(h);
}

void llmc_special_tokens_compute(const llmc_tokenizer *t, const char *family, bool encdec, llmc_special_tokens *out) {
    llmc_special_tokens st = {-1, -1, -1, -1, -1, false, false};
    if (!t) {
        /* ids only: an encoder-decoder still needs a first decoder token */
        st.decoder_start = encdec ? 0 : -1;
        *out = st;
        return;
    }
    st.bos = llmc_tokenizer_special_id(t, LLMC_TOK_BOS);
    st.eos = llmc_tokenizer_special_id(t, LLMC_TOK_EOS);
    st.pad = llmc_tokenizer_special_id(t, LLMC_TOK_PAD);
    st.unk = llmc_tokenizer_special_id(t, LLMC_TOK_UNK);
    const bool gpt2 = family && !strcmp(family, "gpt2");
    const bool llama_like = family && (!strcmp(family, "llama") || !strcmp(family, "mistral"));
    /* GPT-2's one <|endoftext|> both starts and ends a text */
    if (gpt2 && st.bos < 0) st.bos = st.eos;
    if (encdec) {
        /* T5 starts decoding from its pad token; without one, from bos, then eos (BART) */
        st.decoder_start = st.pad >= 0 ? st.pad : st.bos >= 0 ? st.bos : st.eos >= 0 ? st.eos : 0;
    }
    bool pbos, peos, any;
    probe_post_processor(t, &st, &pbos, &peos, &any);
    if (any) {
        /* the tokenizer's own post-processor decides (a loaded Llama or T5 tokenizer.json) */
        st.add_bos = pbos;
        st.add_eos = peos;
    } else if (encdec) {
        st.add_eos = st.eos >= 0;  /* T5: the encoder input ends with </s> */
    } else if (llama_like) {
        st.add_bos = st.bos >= 0;  /* Llama / Mistral: a prompt starts with <s> */
    }
    *out = st;
}

/* ---- the byte vocabulary ------------------------------------------------------------------------------------------ */

/* GPT-2's bytes_to_unicode: the code point that spells byte b */
static unsigned byte_codepoint(unsigned b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    unsigned n = 0; /* rank of b among the bytes that are not printable */
    for (unsigned c = 0; c < b; c++)
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))) n++;
    return 256 + n;
}

#define BYTE_LEVEL_NO_REGEX "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}"

llmc_tokenizer *llmc_byte_vocab_tokenizer(int64_t vocab_size, llmc_diags *d) {
    static const char *const specials[3] = {"<|bos|>", "<|eos|>", "<|pad|>"};
    if (vocab_size < 256 || vocab_size > (int64_t)UINT32_MAX) {
        llmc_error(d, "vocab_size", "must be >= 256 with tokenizer: byte (got %lld)", (long long)vocab_size);
        return NULL;
    }
    json_t *doc = json_object(), *vocab = json_object(), *added = json_array();
    json_error_t e;
    bool ok = doc && vocab && added;
    for (unsigned b = 0; ok && b < 256; b++) {
        unsigned cp = byte_codepoint(b); /* < 0x800: one or two UTF-8 bytes */
        char u[3] = {0};
        if (cp < 0x80) u[0] = (char)cp;
        else u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
        ok = json_object_set_new(vocab, u, json_integer(b)) == 0;
    }
    for (int64_t id = 256; ok && id < vocab_size; id++) {
        char name[48];
        if (id < 259) snprintf(name, sizeof name, "%s", specials[id - 256]);
        else snprintf(name, sizeof name, "<|unused_%lld|>", (long long)(id - 259));
        ok = json_object_set_new(vocab, name, json_integer(id)) == 0;
        if (ok && id < 259)
            ok = json_array_append_new(added, json_pack("{s:I, s:s, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)id,
                                                        "content", name, "single_word", 0, "lstrip", 0, "rstrip", 0,
                                                        "normalized", 0, "special", 1)) == 0;
    }
    json_t *pre = ok ? json_loads(BYTE_LEVEL_NO_REGEX, 0, &e) : NULL;
    json_t *dec = ok ? json_loads(BYTE_LEVEL_NO_REGEX, 0, &e) : NULL;
    json_t *model = ok ? json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:O, s:[]}", "type", "BPE", "dropout",
                                   "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                                   "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges")
                       : NULL;
    /* json_object_set_new takes its value even when it fails (and refuses NULL): no short cut, no leak */
    int bad = !ok;
    bad |= json_object_set_new(doc, "version", json_string("1.0"));
    bad |= json_object_set_new(doc, "truncation", json_null());
    bad |= json_object_set_new(doc, "padding", json_null());
    bad |= json_object_set(doc, "added_tokens", added);
    bad |= json_object_set_new(doc, "normalizer", json_null());
    bad |= json_object_set_new(doc, "pre_tokenizer", pre);
    bad |= json_object_set_new(doc, "post_processor", json_null());
    bad |= json_object_set_new(doc, "decoder", dec);
    bad |= json_object_set_new(doc, "model", model);
    ok = !bad;
    json_decref(vocab);
    json_decref(added);
    char *text = ok ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text) {
        llmc_error(d, "tokenizer", "out of memory building the byte vocabulary");
        return NULL;
    }
    llmc_tokenizer *t = llmc_tokenizer_load_json(text, strlen(text), "tokenizer: byte", d);
    free(text);
    return t;
}

/* ---- OUT/tokenizer/'s configuration files ------------------------------------------------------------------------- */

char *llmc_special_tokens_apply_config(const llmc_tokenizer *t, const llmc_special_tokens *st, const char *cfg_json,
                                       size_t len, bool with_flags, llmc_diags *d) {
    static const char *const keys[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    json_error_t e;
    json_t *cfg = json_loadb(cfg_json, len, JSON_ALLOW_NUL, &e);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        llmc_error(d, "tokenizer", "the tokenizer's configuration file is not a JSON object");
        return NULL;
    }
    const int64_t ids[4] = {st->bos, st->eos, st->pad, st->unk};
    bool ok = true;
    for (int r = 0; ok && r < 4; r++) {
        size_t plen = 0;
        const char *p = ids[r] >= 0 ? llmc_tokenizer_id_to_piece(t, (uint32_t)ids[r], &plen) : NULL;
        json_t *old = json_object_get(cfg, keys[r]);
        if (!p) {
            if (old) ok = json_object_del(cfg, keys[r]) == 0;
        } else if (json_is_object(old)) {
            ok = json_object_set_new(old, "content", json_stringn(p, plen)) == 0;
        } else {
            ok = json_object_set_new(cfg, keys[r], json_stringn(p, plen)) == 0;
        }
    }
    if (ok && with_flags) {
        ok = json_object_set_new(cfg, "add_bos_token", json_boolean(st->add_bos)) == 0 &&
             json_object_set_new(cfg, "add_eos_token", json_boolean(st->add_eos)) == 0;
    }
    char *text = ok ? json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(cfg);
    if (text) {
        size_t n = strlen(text);
        char *t2 = realloc(text, n + 2);
        if (!t2) {
            free(text);
            text = NULL;
        } else {
            text = t2;
            text[n] = '\n';
            text[n + 1] = '\0';
        }
    }
    if (!text) llmc_error(d, "tokenizer", "out of memory writing the tokenizer's configuration");
    return text;
}
