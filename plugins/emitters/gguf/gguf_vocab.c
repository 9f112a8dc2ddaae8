/* tokenizer.ggml.* metadata: the model's tokenizer (llmc_emit_ctx.tokenizer) in the llama.cpp
 * tokenizer model that runs it (docs/gguf.md "Vocabulary"):
 *
 *   byte-level BPE (gpt2 / llama3 presets, tokenizer: byte)  "gpt2": tokens in GPT-2's byte
 *       alphabet, merges "a b" in rank order, tokenizer.ggml.pre naming the split: the GPT-2
 *       regex -> "gpt-2", the Llama 3 regex -> "llama-bpe"; without merges (the byte vocabulary)
 *       every split gives one token per byte and "qwen2" is used, whose detokenizer keeps spaces
 *       before punctuation as they were.
 *   SentencePiece-style BPE (metaspace, char)  "llama": scores (minus the rank of the merge that
 *       builds the piece, so that llama.cpp's highest-score-first bigram merging replays the merges
 *       in order), byte-fallback pieces <0xNN> typed BYTE. llama.cpp escapes every space of the
 *       text as U+2581, so a tokenizer without the metaspace pipeline (char) has its spaces spelled
 *       U+2581 in the GGUF pieces.
 *   Unigram  "t5": llama.cpp's UGM tokenizer, the one that runs Unigram's Viterbi search (for
 *       decoder-only models too; its "llama" tokenizer merges bigrams by score, which a Unigram
 *       vocabulary does not follow), scores = the log probabilities, with the normalizer's
 *       precompiled_charsmap when the tokenizer has one. llama.cpp's UGM has no byte fallback:
 *       a character outside the vocabulary becomes <unk> where llmc and HF give <0xNN> bytes
 *       (measured in docs/gguf.md).
 *   WordPiece  "bert": llama.cpp's spelling (a word-initial piece w as "\u2581w", a continuation
 *       "##x" as "x").
 * Token types: special added tokens CONTROL, other added tokens USER_DEFINED, the unk piece
 * UNKNOWN, byte-fallback pieces BYTE, the rest NORMAL. The special token ids and add_bos / add_eos
 * are the model's one set (llmc_emit_ctx.special_tokens). No tokenizer: "no_vocab" (llama.cpp
 * sizes the vocabulary from <arch>.vocab_size and takes ids only). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_arch.h"

/* llama_token_type */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_BYTE = 6 };

typedef enum { GV_GPT2, GV_LLAMA, GV_T5, GV_BERT } gguf_vocab_kind;

typedef struct vocab {
    uint64_t n;
    char **tokens;      /* NUL-terminated */
    int32_t *types;
    float *scores;
    char **merges;
    uint64_t n_merges;
} vocab;

static const char *token_at(void *user, uint64_t i) { return ((vocab *)user)->tokens[i]; }
static const char *merge_at(void *user, uint64_t i) { return ((vocab *)user)->merges[i]; }

static void vocab_free(vocab *v) {
    for (uint64_t i = 0; v->tokens && i < v->n; i++) free(v->tokens[i]);
    for (uint64_t i = 0; v->merges && i < v->n_merges; i++) free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->scores);
    free(v->merges);
}

static char *dup_n(const char *s, size_t n) {
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static const char *str_of(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* ---- what the tokenizer.json pipeline is ---------------------------------------------------------- */

/* the ByteLevel pre-tokenizer of pre (itself or in a Sequence), or NULL; *split: a Split before it */
static const json_t *byte_level(const json_t *pre, const json_t **split) {
    *split = NULL;
    const char *t = str_of(pre, "type");
    if (!t) return NULL;
    if (!strcmp(t, "ByteLevel")) return pre;
    if (strcmp(t, "Sequence")) return NULL;
    size_t i;
    const json_t *p, *bl = NULL;
    json_array_foreach(json_object_get(pre, "pretokenizers"), i, p) {
        const char *pt = str_of(p, "type");
        if (pt && !strcmp(pt, "ByteLevel")) bl = p;
        else if (pt && !strcmp(pt, "Split")) *split = p;
    }
    return bl;
}

/* does the pipeline put U+2581 before the text (SentencePiece's dummy prefix)? */
static bool adds_space_prefix(const json_t *doc) {
    const json_t *pre = json_object_get(doc, "pre_tokenizer");
    const char *t = str_of(pre, "type");
    if (t && !strcmp(t, "Metaspace")) {
        const char *scheme = str_of(pre, "prepend_scheme");
        if (scheme ? strcmp(scheme, "never") != 0 : json_is_true(json_object_get(pre, "add_prefix_space"))) return true;
    }
    const json_t *norm = json_object_get(doc, "normalizer");
    const char *nt = str_of(norm, "type");
    const json_t *list = nt && !strcmp(nt, "Sequence") ? json_object_get(norm, "normalizers") : NULL;
    size_t i;
    const json_t *n;
    if (nt && !strcmp(nt, "Prepend")) return true;
    json_array_foreach(list, i, n) {
        const char *x = str_of(n, "type");
        if (x && !strcmp(x, "Prepend")) return true;
    }
    return false;
}

/* the base64 "precompiled_charsmap" of a Precompiled normalizer (itself or in a Sequence), or NULL */
static const char *charsmap_b64(const json_t *doc) {
    const json_t *norm = json_object_get(doc, "normalizer");
    const char *nt = str_of(norm, "type");
    if (nt && !strcmp(nt, "Precompiled")) return str_of(norm, "precompiled_charsmap");
    size_t i;
    const json_t *n;
    json_array_foreach(nt && !strcmp(nt, "Sequence") ? json_object_get(norm, "normalizers") : NULL, i, n) {
        const char *x = str_of(n, "type");
        if (x && !strcmp(x, "Precompiled")) return str_of(n, "precompiled_charsmap");
    }
    return NULL;
}

static int b64_value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* standard base64 to bytes (malloc'd); NULL when it is not base64 */
static uint8_t *b64_decode(const char *s, size_t *out_len) {
    size_t n = strlen(s);
    uint8_t *o = malloc(n / 4 * 3 + 3);
    if (!o) return NULL;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') break;
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(o);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = k;
    return o;
}

static bool is_byte_piece(const char *p, size_t n) {
    return n == 6 && p[0] == '<' && p[1] == '0' && p[2] == 'x' && p[5] == '>';
}

/* ---- building the tables ----------------------------------------------------------------------------- */

/* p with every ' ' spelled U+2581 (malloc'd) */
static char *escape_spaces(const char *p, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += p[i] == ' ' ? 3 : 1;
    char *o = malloc(n + 1), *w = o;
    if (!o) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == ' ') memcpy(w, "\xe2\x96\x81", 3), w += 3;
        else *w++ = p[i];
    }
    *w = '\0';
    return o;
}

static int fill_tokens(const llmc_tokenizer *t, const json_t *doc, gguf_vocab_kind kind, bool byte_fallback,
                       bool spaces_escaped, int64_t unk, vocab *v, llmc_diags *d) {
    const json_t *added = json_object_get(doc, "added_tokens");
    for (uint64_t id = 0; id < v->n; id++) {
        size_t len = 0;
        const char *p = llmc_tokenizer_id_to_piece(t, (uint32_t)id, &len);
        if (!p) {
            llmc_error(d, "tokenizer", "gguf: token id %llu has no piece (the vocabulary has a hole)",
                       (unsigned long long)id);
            return -1;
        }
        if (memchr(p, '\0', len)) {
            llmc_error(d, "tokenizer", "gguf: token %llu contains a NUL byte, which GGUF strings cannot hold",
                       (unsigned long long)id);
            return -1;
        }
        v->types[id] = (int64_t)id == unk ? TT_UNKNOWN
                       : byte_fallback && kind != GV_GPT2 && is_byte_piece(p, len) ? TT_BYTE
                                                                                   : TT_NORMAL;
        if (kind == GV_BERT && v->types[id] == TT_NORMAL) {
            /* llama.cpp's WordPiece: words start with a phantom U+2581, continuations are bare */
            if (len >= 2 && p[0] == '#' && p[1] == '#') v->tokens[id] = dup_n(p + 2, len - 2);
            else {
                v->tokens[id] = malloc(len + 4);
                if (v->tokens[id]) {
                    memcpy(v->tokens[id], "\xe2\x96\x81", 3);
                    memcpy(v->tokens[id] + 3, p, len);
                    v->tokens[id][len + 3] = '\0';
                }
            }
        } else if (spaces_escaped && v->types[id] == TT_NORMAL) {
            v->tokens[id] = escape_spaces(p, len);
        } else {
            v->tokens[id] = dup_n(p, len);
        }
        if (!v->tokens[id]) {
            llmc_error(d, "gguf", "out of memory building the vocabulary");
            return -1;
        }
    }
    size_t i;
    const json_t *a;
    json_array_foreach(added, i, a) {
        json_int_t id = json_integer_value(json_object_get(a, "id"));
        if (id < 0 || (uint64_t)id >= v->n) continue;
        if ((int64_t)id == unk) continue;
        v->types[id] = json_is_true(json_object_get(a, "special")) ? TT_CONTROL : TT_USER_DEFINED;
        if (kind == GV_BERT) { /* added tokens keep their text */
            size_t len = 0;
            const char *p = llmc_tokenizer_id_to_piece(t, (uint32_t)id, &len);
            char *c = dup_n(p, len);
            if (!c) {
                llmc_error(d, "gguf", "out of memory building the vocabulary");
                return -1;
            }
            free(v->tokens[id]);
            v->tokens[id] = c;
        }
    }
    return 0;
}

/* merges as "left right", in rank order; BPE scores: minus the rank of the merge building a piece */
static int fill_merges(const llmc_tokenizer *t, const json_t *model, vocab *v, bool want_strings, llmc_diags *d) {
    const json_t *merges = json_object_get(model, "merges");
    size_t n = json_array_size(merges);
    if (want_strings && n) {
        v->merges = calloc(n, sizeof *v->merges);
        if (!v->merges) goto oom;
    }
    for (size_t r = 0; r < n; r++) {
        const json_t *e = json_array_get(merges, r);
        const char *l = NULL, *rt = NULL;
        size_t ll = 0, rl = 0;
        char *joined = NULL;
        if (json_is_array(e) && json_array_size(e) == 2) {
            l = json_string_value(json_array_get(e, 0));
            rt = json_string_value(json_array_get(e, 1));
            ll = json_string_length(json_array_get(e, 0));
            rl = json_string_length(json_array_get(e, 1));
        } else if (json_is_string(e)) {
            const char *s = json_string_value(e), *sp = strchr(s + (s[0] ? 1 : 0), ' ');
            if (sp) l = s, ll = (size_t)(sp - s), rt = sp + 1, rl = strlen(sp + 1);
        }
        if (!l || !rt) {
            llmc_error(d, "tokenizer", "gguf: model.merges[%zu] is not a pair of pieces", r);
            return -1;
        }
        joined = malloc(ll + rl + 2);
        if (!joined) goto oom;
        if (want_strings) {
            memcpy(joined, l, ll);
            joined[ll] = ' ';
            memcpy(joined + ll + 1, rt, rl);
            joined[ll + rl + 1] = '\0';
            v->merges[v->n_merges++] = joined;
        }
        if (v->scores) {
            char *cat = want_strings ? malloc(ll + rl + 1) : joined;
            if (!cat) goto oom;
            memcpy(cat, l, ll);
            memcpy(cat + ll, rt, rl);
            int64_t id = llmc_tokenizer_piece_to_id(t, cat, ll + rl);
            /* the first merge building a piece decides when llama.cpp's bigram merge forms it */
            if (id >= 0 && (uint64_t)id < v->n && v->scores[id] == 0.0f) v->scores[id] = -(float)(r + 1);
            if (want_strings) free(cat);
        }
        if (!want_strings) free(joined);
    }
    return 0;
oom:
    llmc_error(d, "gguf", "out of memory building the merges");
    return -1;
}

static int fill_unigram_scores(const json_t *model, vocab *v, llmc_diags *d) {
    const json_t *list = json_object_get(model, "vocab");
    if (json_array_size(list) > v->n) {
        llmc_error(d, "tokenizer", "gguf: model.vocab has %zu pieces, more than the %llu ids", json_array_size(list),
                   (unsigned long long)v->n);
        return -1;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e) v->scores[i] = (float)json_number_value(json_array_get(e, 1));
    return 0;
}

int gguf_vocab_metadata(const llmc_emit_ctx *ctx, const llmc_special_tokens *tokens, gguf_meta *m,
                        llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    const llmc_tokenizer *t = llmc_emit_tokenizer(ctx);
    if (!t) return gguf_kv_str(m, "tokenizer.ggml.model", "no_vocab", d);
    const uint64_t V = llmc_tokenizer_vocab_size(t);
    if ((int64_t)V != s->vocab_size) {
        llmc_error(d, "vocab_size", "gguf: the tokenizer has %llu ids, the model %lld rows (they must be equal)",
                   (unsigned long long)V, (long long)s->vocab_size);
        return -1;
    }
    size_t jlen = 0;
    char *text = llmc_tokenizer_to_json(t, &jlen, d);
    json_error_t je;
    json_t *doc = text ? json_loadb(text, jlen, JSON_ALLOW_NUL, &je) : NULL;
    free(text);
    if (!doc) {
        llmc_error(d, "tokenizer", "gguf: cannot read the model's tokenizer.json");
        return -1;
    }
    const json_t *model = json_object_get(doc, "model");
    const char *mt = str_of(model, "type");
    const json_t *split = NULL, *bl = byte_level(json_object_get(doc, "pre_tokenizer"), &split);
    const bool byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    const bool merges_empty = json_array_size(json_object_get(model, "merges")) == 0;
    gguf_vocab_kind kind;
    const char *model_name, *pre = NULL;
    int rc = -1;
    vocab v = {0};
    if (mt && !strcmp(mt, "BPE") && bl) {
        kind = GV_GPT2;
        model_name = "gpt2";
        const bool regex = json_is_true(json_object_get(bl, "use_regex"));
        const char *pat = split ? str_of(json_object_get(split, "pattern"), "Regex") : NULL;
        if (merges_empty && !split) pre = "qwen2";                          /* bytes: any split is exact */
        else if (regex && !split) pre = "gpt-2";                             /* GPT-2's regex */
        else if (!regex && pat && !strncmp(pat, "(?i:'s|'t|'re|'ve|'m|'ll|'d)|", 28)) pre = "llama-bpe";
        else {
            llmc_error(d, "tokenizer", "gguf: llama.cpp has no pre-tokenizer for this byte-level split (%s); the "
                                       "gpt2 and llama3 pre-tokenizers have one", pat ? pat : "ByteLevel");
            goto out;
        }
    } else if (mt && !strcmp(mt, "BPE")) {
        kind = GV_LLAMA;
        model_name = "llama";
    } else if (mt && !strcmp(mt, "Unigram")) {
        /* llama.cpp's UGM runs Unigram's Viterbi search; its "llama" (SPM) tokenizer merges
         * bigrams by score instead and disagrees on many more lines (docs/gguf.md) */
        kind = GV_T5;
        model_name = "t5";
    } else if (mt && !strcmp(mt, "WordPiece")) {
        kind = GV_BERT;
        model_name = "bert";
    } else {
        llmc_error(d, "tokenizer", "gguf: llama.cpp has no tokenizer for a %s model (BPE, Unigram and WordPiece have one)",
                   mt ? mt : "(untyped)");
        goto out;
    }
    v.n = V;
    v.tokens = calloc(V, sizeof *v.tokens);
    v.types = calloc(V, sizeof *v.types);
    if (kind == GV_LLAMA || kind == GV_T5) v.scores = calloc(V, sizeof *v.scores);
    if (!v.tokens || !v.types || ((kind == GV_LLAMA || kind == GV_T5) && !v.scores)) {
        llmc_error(d, "gguf", "out of memory building the vocabulary");
        goto out;
    }
    /* llama.cpp's SPM escapes the text's spaces; a pipeline that does not (char) gets its pieces' spaces escaped */
    const bool metaspace = adds_space_prefix(doc);
    if (fill_tokens(t, doc, kind, byte_fallback, kind == GV_LLAMA && !metaspace, tokens->unk, &v, d)) goto out;
    if (mt && !strcmp(mt, "Unigram")) {
        if (fill_unigram_scores(model, &v, d)) goto out;
    } else if (kind == GV_GPT2 || kind == GV_LLAMA) {
        if (fill_merges(t, model, &v, kind == GV_GPT2, d)) goto out;
    }
    rc = 0;
    rc |= gguf_kv_str(m, "tokenizer.ggml.model", model_name, d);
    if (pre) rc |= gguf_kv_str(m, "tokenizer.ggml.pre", pre, d);
    else rc |= gguf_kv_str(m, "tokenizer.ggml.pre", "default", d);
    rc |= gguf_kv_arr_str(m, "tokenizer.ggml.tokens", V, token_at, &v, d);
    if (v.scores) rc |= gguf_kv_arr_f32(m, "tokenizer.ggml.scores", v.scores, V, d);
    rc |= gguf_kv_arr_i32(m, "tokenizer.ggml.token_type", v.types, V, d);
    if (kind == GV_GPT2) rc |= gguf_kv_arr_str(m, "tokenizer.ggml.merges", v.n_merges, merge_at, &v, d);
    if (kind == GV_LLAMA || kind == GV_T5) {
        rc |= gguf_kv_bool(m, "tokenizer.ggml.add_space_prefix", metaspace, d);
        rc |= gguf_kv_bool(m, "tokenizer.ggml.remove_extra_whitespaces", false, d);
    }
    if (kind == GV_T5) {
        const char *b64 = charsmap_b64(doc);
        if (b64) {
            size_t n = 0;
            uint8_t *blob = b64_decode(b64, &n);
            if (!blob) {
                llmc_error(d, "tokenizer", "gguf: the Precompiled normalizer's precompiled_charsmap is not base64");
                rc = -1;
            } else {
                rc |= gguf_kv_arr_u8(m, "tokenizer.ggml.precompiled_charsmap", blob, n, d);
                free(blob);
            }
        }
    }
    /* the model's one set of special tokens */
    if (tokens->bos >= 0) rc |= gguf_kv_u32(m, "tokenizer.ggml.bos_token_id", (uint32_t)tokens->bos, d);
    if (tokens->eos >= 0) rc |= gguf_kv_u32(m, "tokenizer.ggml.eos_token_id", (uint32_t)tokens->eos, d);
    if (tokens->pad >= 0) rc |= gguf_kv_u32(m, "tokenizer.ggml.padding_token_id", (uint32_t)tokens->pad, d);
    if (tokens->unk >= 0) rc |= gguf_kv_u32(m, "tokenizer.ggml.unknown_token_id", (uint32_t)tokens->unk, d);
    if (kind == GV_BERT) {
        /* BERT ends a sequence with [SEP]: llama.cpp's separator, added with add_sep */
        if (tokens->eos >= 0) rc |= gguf_kv_u32(m, "tokenizer.ggml.seperator_token_id", (uint32_t)tokens->eos, d);
        rc |= gguf_kv_bool(m, "tokenizer.ggml.add_sep_token", tokens->add_eos, d);
        rc |= gguf_kv_bool(m, "tokenizer.ggml.add_bos_token", tokens->add_bos, d);
        rc |= gguf_kv_bool(m, "tokenizer.ggml.add_eos_token", false, d);
    } else {
        rc |= gguf_kv_bool(m, "tokenizer.ggml.add_bos_token", tokens->add_bos, d);
        rc |= gguf_kv_bool(m, "tokenizer.ggml.add_eos_token", tokens->add_eos, d);
    }
out:
    vocab_free(&v);
    json_decref(doc);
    return rc ? -1 : 0;
}
