/* The model builder handed to tokenizer plugins (llmc/tokenizer.h): a tokenizer.json document
 * under construction plus a fast piece index; presets for the standard pipelines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tok_builder.h"
#include "tok_internal.h"
#include "tok_unicode.h"
#include "util.h"

struct llmc_tok_builder {
    json_t *doc;          /* normalizer, pre_tokenizer, post_processor, decoder, truncation, padding */
    json_t *model;        /* model options (type, unk_token, byte_fallback, ...) without vocab/merges */
    json_t *count_pretok; /* a pre-tokenizer used only to count words (presets without word splits) */
    llmc_strmap index;    /* piece -> id */
    tok_buf pool;
    uint64_t *off;
    uint32_t *len;
    double *score;
    size_t n, cap;
    uint32_t (*merges)[2];
    size_t n_merges, cap_merges;
    uint32_t *specials;
    size_t n_specials;
};

llmc_tok_builder *llmc_tok_builder_create(void) {
    llmc_tok_builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->doc = json_object();
    b->model = json_object();
    if (!b->doc || !b->model || json_object_set_new(b->model, "type", json_string("BPE"))) {
        llmc_tok_builder_free(b);
        return NULL;
    }
    return b;
}

void llmc_tok_builder_free(llmc_tok_builder *b) {
    if (!b) return;
    json_decref(b->doc);
    json_decref(b->model);
    json_decref(b->count_pretok);
    llmc_strmap_free(&b->index);
    tok_buf_free(&b->pool);
    free(b->off);
    free(b->len);
    free(b->score);
    free(b->merges);
    free(b->specials);
    free(b);
}

static json_t *parse(const char *json, const char *key, llmc_diags *d) {
    json_error_t e;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) llmc_error(d, key, "not valid JSON: %s (in '%.60s')", e.text, json);
    return v;
}

int llmc_tok_builder_prepend_normalizer(llmc_tok_builder *b, const char *json, llmc_diags *d) {
    json_t *mine = parse(json, "normalizer", d);
    if (!mine) return -1;
    const json_t *old = json_object_get(b->doc, "normalizer");
    json_t *result = mine;
    if (old && !json_is_null(old)) {
        json_t *list = json_array();
        const char *mine_type = json_string_value(json_object_get(mine, "type"));
        int bad = !list;
        if (!bad && mine_type && !strcmp(mine_type, "Sequence")) { /* flat, as HF writes it */
            bad = json_array_extend(list, json_object_get(mine, "normalizers"));
            json_decref(mine);
        } else if (!bad) {
            bad = json_array_append_new(list, mine);
        } else {
            json_decref(mine);
        }
        const char *type = json_string_value(json_object_get(old, "type"));
        if (type && !strcmp(type, "Sequence")) /* flat, as HF writes it */
            bad = bad || json_array_extend(list, json_object_get(old, "normalizers"));
        else
            bad = bad || json_array_append(list, (json_t *)old);
        result = bad ? NULL : json_pack("{s:s, s:o}", "type", "Sequence", "normalizers", list);
        if (bad) json_decref(list);
    }
    if (!result || json_object_set_new(b->doc, "normalizer", result)) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    return 0;
}

int llmc_tok_builder_set(llmc_tok_builder *b, const char *key_path, const char *json, llmc_diags *d) {
    if (!b || !key_path || !json) {
        llmc_error(d, NULL, "llmc_tok_builder_set: NULL argument");
        return -1;
    }
    json_t *v = parse(json, key_path, d);
    if (!v) return -1;
    if (!strcmp(key_path, "llmc.count_pre_tokenizer")) {
        json_decref(b->count_pretok);
        b->count_pretok = json_is_null(v) ? NULL : v;
        if (json_is_null(v)) json_decref(v);
        return 0;
    }
    json_t *target = b->doc;
    const char *k = key_path;
    if (!strncmp(k, "model.", 6)) {
        target = b->model;
        k += 6;
        if (!strcmp(k, "vocab") || !strcmp(k, "merges")) {
            json_decref(v);
            llmc_error(d, key_path, "set pieces with llmc_tok_builder_add_piece and merges with llmc_tok_builder_add_merge");
            return -1;
        }
    } else if (!strcmp(k, "model") || !strcmp(k, "added_tokens") || !strcmp(k, "version")) {
        json_decref(v);
        llmc_error(d, key_path, "cannot be set directly (use llmc_tok_builder_set_model / add_piece / add_special)");
        return -1;
    }
    /* walk / create intermediate objects */
    char buf[256];
    for (;;) {
        const char *dot = strchr(k, '.');
        if (!dot) break;
        size_t n = (size_t)(dot - k);
        if (n >= sizeof buf) {
            json_decref(v);
            llmc_error(d, key_path, "key too long");
            return -1;
        }
        memcpy(buf, k, n);
        buf[n] = '\0';
        json_t *next = json_object_get(target, buf);
        if (!json_is_object(next)) {
            next = json_object();
            if (!next || json_object_set_new(target, buf, next)) {
                json_decref(v);
                llmc_error(d, NULL, "out of memory");
                return -1;
            }
        }
        target = next;
        k = dot + 1;
    }
    if (json_object_set_new(target, k, v)) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    return 0;
}

int llmc_tok_builder_set_model(llmc_tok_builder *b, const char *type, llmc_diags *d) {
    if (!type || (strcmp(type, "BPE") && strcmp(type, "WordPiece") && strcmp(type, "WordLevel") &&
                  strcmp(type, "Unigram"))) {
        llmc_error(d, "model.type", "unsupported '%s' (supported: %s)", type ? type : "(null)", tok_supported_models);
        return -1;
    }
    json_t *m = json_object();
    if (!m || json_object_set_new(m, "type", json_string(type))) {
        json_decref(m);
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    json_decref(b->model);
    b->model = m;
    return 0;
}

int64_t llmc_tok_builder_add_piece(llmc_tok_builder *b, const char *piece, size_t len, double score, llmc_diags *d) {
    if (!llmc_utf8_valid(piece, len)) {
        llmc_error(d, "model.vocab", "piece %zu is not valid UTF-8 (tokenizer.json stores text)", b->n);
        return -1;
    }
    if (memchr(piece, '\0', len)) {
        llmc_error(d, "model.vocab", "piece %zu holds U+0000, which not every tokenizer.json reader takes as a key "
                   "(leave it to byte fallback or the unknown token)", b->n);
        return -1;
    }
    if (len > LLMC_TOK_MAX_PIECE || b->n >= LLMC_TOK_MAX_VOCAB) {
        llmc_error(d, "model.vocab", "piece too long or vocabulary too large (%zu pieces)", b->n);
        return -1;
    }
    if (!isfinite(score)) {
        llmc_error(d, "model.vocab", "piece %zu has a score that is not finite", b->n);
        return -1;
    }
    uint32_t existing;
    int r = llmc_strmap_put(&b->index, piece, len, (uint32_t)b->n, &existing);
    if (r < 0) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    if (r == 0) {
        llmc_error(d, "model.vocab", "duplicate piece \"%.*s\" (already id %u)", (int)(len > 60 ? 60 : len), piece,
                   existing);
        return -1;
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        uint64_t *o = realloc(b->off, nc * sizeof *o);
        if (o) b->off = o;
        uint32_t *l = o ? realloc(b->len, nc * sizeof *l) : NULL;
        if (l) b->len = l;
        double *s = l ? realloc(b->score, nc * sizeof *s) : NULL;
        if (!s) {
            llmc_error(d, NULL, "out of memory");
            return -1;
        }
        b->score = s;
        b->cap = nc;
    }
    b->off[b->n] = b->pool.n;
    b->len[b->n] = (uint32_t)len;
    b->score[b->n] = score;
    if (tok_buf_put(&b->pool, piece, len)) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    return (int64_t)b->n++;
}

int64_t llmc_tok_builder_find_piece(const llmc_tok_builder *b, const char *piece, size_t len) {
    return llmc_strmap_get(&b->index, piece, len);
}

size_t llmc_tok_builder_n_pieces(const llmc_tok_builder *b) { return b->n; }

const char *llmc_tok_builder_piece(const llmc_tok_builder *b, int64_t id, size_t *len) {
    if (id < 0 || (size_t)id >= b->n) return NULL;
    if (len) *len = b->len[id];
    return b->pool.p + b->off[id];
}

int llmc_tok_builder_add_merge(llmc_tok_builder *b, int64_t left, int64_t right, llmc_diags *d) {
    if (left < 0 || right < 0 || (size_t)left >= b->n || (size_t)right >= b->n) {
        llmc_error(d, "model.merges", "merge %zu names an id that is not a piece (%lld, %lld; %zu pieces)", b->n_merges,
                   (long long)left, (long long)right, b->n);
        return -1;
    }
    if (b->n_merges == b->cap_merges) {
        size_t nc = b->cap_merges ? b->cap_merges * 2 : 1024;
        uint32_t(*m)[2] = realloc(b->merges, nc * sizeof *m);
        if (!m) {
            llmc_error(d, NULL, "out of memory");
            return -1;
        }
        b->merges = m;
        b->cap_merges = nc;
    }
    b->merges[b->n_merges][0] = (uint32_t)left;
    b->merges[b->n_merges][1] = (uint32_t)right;
    b->n_merges++;
    return 0;
}

int64_t llmc_tok_builder_add_special(llmc_tok_builder *b, const char *token, llmc_diags *d) {
    size_t len = strlen(token);
    if (!len) {
        llmc_error(d, "--special", "empty special token");
        return -1;
    }
    int64_t id = llmc_tok_builder_find_piece(b, token, len);
    if (id < 0) id = llmc_tok_builder_add_piece(b, token, len, 0.0, d);
    if (id < 0) return -1;
    for (size_t i = 0; i < b->n_specials; i++)
        if (b->specials[i] == (uint32_t)id) return id;
    uint32_t *s = realloc(b->specials, (b->n_specials + 1) * sizeof *s);
    if (!s) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    b->specials = s;
    b->specials[b->n_specials++] = (uint32_t)id;
    return id;
}

/* ---- presets ----------------------------------------------------------------------------------------------------- */

#define GPT2_BYTE_LEVEL "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}"
#define LLAMA3_PATTERN                                                                                                \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|" \
    "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"

int llmc_tok_builder_preset(llmc_tok_builder *b, const char *name, llmc_diags *d) {
    typedef struct {
        const char *key, *json;
    } kv;
    kv set[8];
    size_t n = 0;
    if (!strcmp(name, "gpt2")) {
        set[n++] = (kv){"normalizer", "null"};
        set[n++] = (kv){"pre_tokenizer", GPT2_BYTE_LEVEL};
        set[n++] = (kv){"post_processor", GPT2_BYTE_LEVEL};
        set[n++] = (kv){"decoder", GPT2_BYTE_LEVEL};
    } else if (!strcmp(name, "llama3")) {
        set[n++] = (kv){"normalizer", "null"};
        set[n++] = (kv){"pre_tokenizer",
                                    "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
                                    "\"" LLAMA3_PATTERN "\"},\"behavior\":\"Isolated\",\"invert\":false},"
                                    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
                                    "\"use_regex\":false}]}"};
        set[n++] = (kv){"post_processor", GPT2_BYTE_LEVEL};
        set[n++] = (kv){"decoder", GPT2_BYTE_LEVEL};
    } else if (!strcmp(name, "metaspace")) {
        /* SentencePiece's layout: a dummy prefix before the text, spaces as U+2581, words split
         * before each U+2581; decoding undoes it (the Llama 2 tokenizer.json layout) */
        set[n++] = (kv){"normalizer",
                                    "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"},"
                                    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]}"};
        set[n++] = (kv){"pre_tokenizer",
                                    "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"never\","
                                    "\"split\":true}"};
        set[n++] = (kv){"post_processor", "null"};
        set[n++] = (kv){"decoder",
                                    "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"
                                    "\"\\u2581\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
                                    "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}"};
    } else if (!strcmp(name, "whitespace")) {
        set[n++] = (kv){"normalizer", "null"};
        set[n++] = (kv){"pre_tokenizer", "{\"type\":\"Whitespace\"}"};
        set[n++] = (kv){"post_processor", "null"};
        set[n++] = (kv){"decoder", "null"};
    } else if (!strcmp(name, "bert")) {
        set[n++] = (kv){"normalizer",
                                    "{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
                                    "\"strip_accents\":null,\"lowercase\":true}"};
        set[n++] = (kv){"pre_tokenizer", "{\"type\":\"BertPreTokenizer\"}"};
        set[n++] = (kv){"post_processor", "null"};
        set[n++] = (kv){"decoder", "{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true}"};
    } else if (!strcmp(name, "char")) {
        /* the model sees whole texts; words are counted on whitespace runs only */
        set[n++] = (kv){"normalizer", "null"};
        set[n++] = (kv){"pre_tokenizer", "null"};
        set[n++] = (kv){"post_processor", "null"};
        set[n++] = (kv){"decoder", "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},"
                                               "{\"type\":\"Fuse\"}]}"};
        set[n++] = (kv){"llmc.count_pre_tokenizer",
                                    "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+|\\\\S+\"},\"behavior\":"
                                    "\"Isolated\",\"invert\":false}"};
    } else if (!strcmp(name, "byte")) {
        set[n++] = (kv){"normalizer", "null"};
        set[n++] = (kv){"pre_tokenizer",
                                    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
                                    "\"use_regex\":false}"};
        set[n++] = (kv){"post_processor", "null"};
        set[n++] = (kv){"decoder", GPT2_BYTE_LEVEL};
        set[n++] = (kv){"llmc.count_pre_tokenizer", GPT2_BYTE_LEVEL};
    } else {
        llmc_error(d, "--pre-tokenizer", "unknown '%s' (expected gpt2, llama3, metaspace, whitespace, bert, char or byte)",
                   name);
        return -1;
    }
    if (strcmp(name, "char") && strcmp(name, "byte") && llmc_tok_builder_set(b, "llmc.count_pre_tokenizer", "null", d))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (llmc_tok_builder_set(b, set[i].key, set[i].json, d)) return -1;
    return 0;
}

/* ---- the finished document ------------------------------------------------------------------------------------- */

static json_t *get_or_null(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return v ? json_incref(v) : json_null();
}

static json_t *model_json(const llmc_tok_builder *b) {
    const char *type = json_string_value(json_object_get(b->model, "type"));
    bool bpe = !strcmp(type, "BPE"), uni = !strcmp(type, "Unigram"), wp = !strcmp(type, "WordPiece");
    json_t *m = json_object();
    if (!m) return NULL;
    json_object_set_new(m, "type", json_string(type));
    static const char *const bpe_keys[] = {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                                           "fuse_unk", "byte_fallback", "ignore_merges"};
    if (bpe) {
        for (size_t i = 0; i < sizeof bpe_keys / sizeof *bpe_keys; i++) {
            json_t *v = json_object_get(b->model, bpe_keys[i]);
            if (!v) v = (i >= 4) ? json_false() : json_null();
            else json_incref(v);
            json_object_set_new(m, bpe_keys[i], v);
        }
    } else if (uni) {
        json_object_set_new(m, "unk_id", get_or_null(b->model, "unk_id"));
    } else if (wp) {
        json_object_set_new(m, "unk_token", get_or_null(b->model, "unk_token"));
        json_t *p = json_object_get(b->model, "continuing_subword_prefix");
        json_object_set_new(m, "continuing_subword_prefix", p ? json_incref(p) : json_string("##"));
        json_t *x = json_object_get(b->model, "max_input_chars_per_word");
        json_object_set_new(m, "max_input_chars_per_word", x ? json_incref(x) : json_integer(100));
    }
    /* the plugin's other model keys (not overriding the ones above) */
    const char *k;
    json_t *v;
    json_object_foreach(b->model, k, v) {
        if (!json_object_get(m, k)) json_object_set(m, k, v);
    }
    json_t *vocab = uni ? json_array() : json_object();
    for (size_t i = 0; vocab && i < b->n; i++) {
        const char *p = b->pool.p + b->off[i];
        if (uni) {
            json_t *e = json_array();
            json_array_append_new(e, json_stringn(p, b->len[i]));
            json_array_append_new(e, json_real(llmc_tok_score_stable(b->score[i])));
            json_array_append_new(vocab, e);
        } else {
            char *key = llmc_strndup(p, b->len[i]);
            if (key) json_object_setn_new(vocab, key, b->len[i], json_integer((json_int_t)i));
            free(key);
        }
    }
    json_object_set_new(m, "vocab", vocab);
    if (uni) {
        json_t *bf = json_object_get(b->model, "byte_fallback");
        json_object_set_new(m, "byte_fallback", bf ? json_incref(bf) : json_false());
    }
    if (bpe) {
        json_t *merges = json_array();
        for (size_t i = 0; merges && i < b->n_merges; i++) {
            json_t *e = json_array();
            for (int s = 0; s < 2; s++) {
                uint32_t id = b->merges[i][s];
                json_array_append_new(e, json_stringn(b->pool.p + b->off[id], b->len[id]));
            }
            json_array_append_new(merges, e);
        }
        json_object_set_new(m, "merges", merges);
    }
    return m;
}

json_t *llmc_tok_builder_document(const llmc_tok_builder *b, bool for_counting) {
    json_t *doc = json_object();
    if (!doc) return NULL;
    json_object_set_new(doc, "version", json_string("1.0"));
    json_object_set_new(doc, "truncation", get_or_null(b->doc, "truncation"));
    json_object_set_new(doc, "padding", get_or_null(b->doc, "padding"));
    json_t *added = json_array();
    for (size_t i = 0; added && i < b->n_specials; i++) {
        uint32_t id = b->specials[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(id));
        json_object_set_new(o, "content", json_stringn(b->pool.p + b->off[id], b->len[id]));
        json_object_set_new(o, "single_word", json_false());
        json_object_set_new(o, "lstrip", json_false());
        json_object_set_new(o, "rstrip", json_false());
        json_object_set_new(o, "normalized", json_false());
        json_object_set_new(o, "special", json_true());
        json_array_append_new(added, o);
    }
    json_object_set_new(doc, "added_tokens", added);
    json_object_set_new(doc, "normalizer", get_or_null(b->doc, "normalizer"));
    if (for_counting && b->count_pretok) json_object_set(doc, "pre_tokenizer", b->count_pretok);
    else json_object_set_new(doc, "pre_tokenizer", get_or_null(b->doc, "pre_tokenizer"));
    json_object_set_new(doc, "post_processor", for_counting ? json_null() : get_or_null(b->doc, "post_processor"));
    json_object_set_new(doc, "decoder", for_counting ? json_null() : get_or_null(b->doc, "decoder"));
    if (for_counting) {
        /* only the pipeline matters for counting: a one-piece word-level model */
        json_t *m = json_object(), *v = json_object();
        json_object_set_new(v, "<unk>", json_integer(0));
        json_object_set_new(m, "type", json_string("WordLevel"));
        json_object_set_new(m, "vocab", v);
        json_object_set_new(m, "unk_token", json_string("<unk>"));
        json_object_set_new(doc, "model", m);
        /* the special tokens still cut the text (as they will when encoding); ids as the loader
         * assigns them (a special token "<unk>" is the model's piece 0), so it has nothing to warn about */
        json_t *a = json_object_get(doc, "added_tokens");
        size_t i;
        json_t *o;
        json_int_t next = 1;
        json_array_foreach(a, i, o) {
            bool is_unk = !strcmp(json_string_value(json_object_get(o, "content")), "<unk>");
            json_object_set_new(o, "id", json_integer(is_unk ? 0 : next++));
        }
    } else {
        json_object_set_new(doc, "model", model_json(b));
    }
    return doc;
}

bool llmc_tok_builder_counts_bytes(const llmc_tok_builder *b) {
    json_t *pt = b->count_pretok ? b->count_pretok : json_object_get(b->doc, "pre_tokenizer");
    char *s = pt ? json_dumps(pt, JSON_COMPACT) : NULL;
    bool r = s && strstr(s, "\"ByteLevel\"");
    free(s);
    return r;
}

bool llmc_tok_builder_has_pre_tokenizer(const llmc_tok_builder *b) { return json_object_get(b->doc, "pre_tokenizer") != NULL; }

bool llmc_tok_builder_lossless(const llmc_tok_builder *b) {
    return llmc_tok_builder_counts_bytes(b) || json_is_true(json_object_get(b->model, "byte_fallback"));
}
