/* tokenizer.model <-> tokenizer.json (the contract of core/tok_model.h).
 *
 * Reading: a ModelProto becomes the tokenizer.json document Hugging Face's converters would
 * produce, with a pipeline chosen so that the HF library encodes like sentencepiece:
 *   normalizer     Precompiled (when the model has a charsmap), then sentencepiece's whitespace
 *                  rules as Replace steps: leading spaces dropped ("\A +"), runs of spaces
 *                  collapsed (" {2,}" -> " "), spaces escaped (" " -> U+2581), trailing U+2581
 *                  dropped ("\u2581+\z"), then Prepend U+2581 (the dummy prefix; HF's Prepend
 *                  leaves an empty text empty, as sentencepiece does);
 *   pre_tokenizer  Metaspace, prepend_scheme "never", split at U+2581: a piece holds U+2581 only
 *                  as its first character (split_by_whitespace), so segmenting word by word gives
 *                  the segmentation of the whole sentence;
 *   decoder        U+2581 -> space, byte fallback, fuse, strip the dummy prefix's space.
 * CONTROL and UNKNOWN pieces become special added tokens, USER_DEFINED ones non-special added
 * tokens. BPE models get merges as HF's SentencePieceExtractor derives them (every split of a
 * piece into two pieces, by piece score).
 *
 * Writing: the inverse for a Unigram model, or a BPE model on a U+2581 pipeline (merged pieces
 * get score -rank so that sentencepiece merges in the same order). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok_charsmap.h"
#include "tok_model.h"
#include "tok_spm.h"
#include "tok_trie.h"
#include "util.h"

static const char kMeta[] = "\xe2\x96\x81"; /* U+2581 */

/* ---- base64 (the Precompiled normalizer's charsmap) ------------------------------------------------ */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *llmc_base64_encode(const void *data, size_t n) {
    const unsigned char *s = data;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        *o++ = b64chars[v >> 18 & 63];
        *o++ = b64chars[v >> 12 & 63];
        *o++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

unsigned char *llmc_base64_decode(const char *s, size_t n, size_t *out_len) {
    if (n % 4) return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i + k];
            const char *p = c ? strchr(b64chars, c) : NULL;
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                pad++;
                v <<= 6;
                continue;
            }
            if (!p || pad) {
                free(out);
                return NULL;
            }
            v = v << 6 | (uint32_t)(p - b64chars);
        }
        out[o++] = (unsigned char)(v >> 16);
        if (pad < 2) out[o++] = (unsigned char)(v >> 8);
        if (pad < 1) out[o++] = (unsigned char)v;
    }
    *out_len = o;
    return out;
}

llmc_charsmap *llmc_charsmap_from_base64(const char *b64, size_t len, const char *name, const char *key,
                                         llmc_diags *d) {
    size_t n = 0;
    unsigned char *blob = llmc_base64_decode(b64, len, &n);
    if (!blob) {
        llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){name, 0, 0}, key,
                      "precompiled_charsmap is not valid base64 (expected the standard alphabet with '=' padding)");
        return NULL;
    }
    llmc_charsmap *cm = llmc_charsmap_create(blob, n, name, key, d);
    free(blob);
    return cm;
}

/* ---- reading: ModelProto -> tokenizer.json --------------------------------------------------------- */


static json_t *jstr(const llmc_spm_str *s) { return json_stringn(s->data ? s->data : "", s->len); }

static json_t *replace_step(const char *kind, const char *pattern, const char *content) {
    return json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", kind, pattern, "content", content);
}

json_t *llmc_tok_spm_pipeline(bool add_dummy_prefix, bool remove_extra_whitespaces, bool escape_whitespaces,
                              bool split_by_whitespace, bool byte_fallback, const char *charsmap_b64) {
    const char *sp = escape_whitespaces ? kMeta : " ";
    json_t *norms = json_array();
    if (charsmap_b64)
        json_array_append_new(norms, json_pack("{s:s, s:s}", "type", "Precompiled", "precompiled_charsmap", charsmap_b64));
    if (remove_extra_whitespaces) {
        json_array_append_new(norms, replace_step("Regex", "\\A +", ""));
        json_array_append_new(norms, replace_step("Regex", " {2,}", " "));
    }
    if (escape_whitespaces) json_array_append_new(norms, replace_step("String", " ", kMeta));
    if (remove_extra_whitespaces) {
        char *re = llmc_asprintf("%s+\\z", sp);
        json_array_append_new(norms, replace_step("Regex", re, ""));
        free(re);
    }
    if (add_dummy_prefix) json_array_append_new(norms, json_pack("{s:s, s:s}", "type", "Prepend", "prepend", sp));
    json_t *decs = json_array();
    if (escape_whitespaces) json_array_append_new(decs, replace_step("String", kMeta, " "));
    if (byte_fallback) json_array_append_new(decs, json_pack("{s:s}", "type", "ByteFallback"));
    json_array_append_new(decs, json_pack("{s:s}", "type", "Fuse"));
    if (add_dummy_prefix)
        json_array_append_new(decs, json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", " ", "start", 1,
                                              "stop", 0));
    json_t *pre = escape_whitespaces ? json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement", kMeta,
                                                 "prepend_scheme", "never", "split", split_by_whitespace)
                                     : json_null();
    return json_pack("{s:{s:s, s:o}, s:o, s:{s:s, s:o}}", "normalizer", "type", "Sequence", "normalizers", norms,
                     "pre_tokenizer", pre, "decoder", "type", "Sequence", "decoders", decs);
}

static json_t *added_token(size_t id, const llmc_spm_str *s, bool special) {
    return json_pack("{s:I, s:o, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)id, "content", jstr(s), "single_word",
                     0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", special);
}

static json_t *bpe_model(const llmc_spm_proto *m, int32_t unk) {
    size_t n = m->n_pieces;
    json_t *vocab = json_object(), *merges = json_array();
    const char **keys = malloc(n * sizeof *keys);
    size_t *lens = malloc(n * sizeof *lens);
    int32_t *vals = malloc(n * sizeof *vals);
    llmc_trie idx = {0};
    typedef struct { int32_t left, right, piece; } merge;
    merge *mg = NULL;
    size_t nm = 0, cap = 0;
    bool ok = vocab && merges && keys && lens && vals;
    for (size_t i = 0; ok && i < n; i++) {
        keys[i] = m->pieces[i].piece.data;
        lens[i] = m->pieces[i].piece.len;
        vals[i] = (int32_t)i;
        ok = json_object_setn_new(vocab, m->pieces[i].piece.data, m->pieces[i].piece.len, json_integer((json_int_t)i)) == 0;
    }
    ok = ok && llmc_trie_build(&idx, keys, lens, vals, n);
    /* every split of a piece into two pieces is a merge; splits at character boundaries only */
    for (size_t i = 0; ok && i < n; i++) {
        const llmc_spm_str *p = &m->pieces[i].piece;
        for (size_t k = 1; k < p->len; k++) {
            if (((unsigned char)p->data[k] & 0xC0) == 0x80) continue;
            int32_t l = llmc_trie_find(&idx, p->data, k), r = llmc_trie_find(&idx, p->data + k, p->len - k);
            if (l < 0 || r < 0) continue;
            if (nm == cap) {
                cap = cap ? 2 * cap : 256;
                merge *g = realloc(mg, cap * sizeof *g);
                if (!g) { ok = false; break; }
                mg = g;
            }
            mg[nm++] = (merge){l, r, (int32_t)i};
        }
    }
    if (ok) {
        /* HF sorts by (left id, right id) within a piece, then stably by piece score, highest first */
        for (size_t i = 1; i < nm; i++) { /* insertion sort keeps it stable; merges per piece are few */
            merge x = mg[i];
            size_t j = i;
            while (j > 0) {
                const merge *y = &mg[j - 1];
                float sx = m->pieces[x.piece].score, sy = m->pieces[y->piece].score;
                bool before = sx > sy || (sx == sy && x.piece == y->piece &&
                                          (x.left < y->left || (x.left == y->left && x.right < y->right)));
                if (!before) break;
                mg[j] = mg[j - 1];
                j--;
            }
            mg[j] = x;
        }
        for (size_t i = 0; ok && i < nm; i++)
            ok = json_array_append_new(merges, json_pack("[o,o]", jstr(&m->pieces[mg[i].left].piece),
                                                         jstr(&m->pieces[mg[i].right].piece))) == 0;
    }
    free(keys);
    free(lens);
    free(vals);
    free(mg);
    llmc_trie_free(&idx);
    if (!ok) {
        json_decref(vocab);
        json_decref(merges);
        return NULL;
    }
    return json_pack("{s:s, s:n, s:o, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
                     jstr(&m->pieces[unk].piece), "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 1,
                     "byte_fallback", m->trainer_spec.byte_fallback, "ignore_merges", 0, "vocab", vocab, "merges",
                     merges);
}

json_t *llmc_tok_spm_read(const char *path, llmc_diags *d) {
    llmc_spm_proto m;
    if (!llmc_spm_proto_read_file(&m, path, d)) return NULL;
    json_t *doc = NULL;
    llmc_loc loc = {path, 0, 0};
    if (!llmc_spm_proto_check(&m, path, d)) goto done;
    const llmc_spm_trainer_spec *ts = &m.trainer_spec;
    const llmc_spm_normalizer_spec *ns = &m.normalizer_spec;
    if (ts->model_type != LLMC_SPM_MODEL_UNIGRAM && ts->model_type != LLMC_SPM_MODEL_BPE) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "trainer_spec.model_type",
                      "model type %s has no tokenizer.json equivalent (expected UNIGRAM or BPE)",
                      ts->model_type == LLMC_SPM_MODEL_WORD ? "WORD" : "CHAR");
        goto done;
    }
    if (ts->treat_whitespace_as_suffix) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "trainer_spec.treat_whitespace_as_suffix",
                      "whitespace as a suffix has no tokenizer.json equivalent (expected false)");
        goto done;
    }
    if (ns->normalization_rule_tsv.len && !ns->precompiled_charsmap.len) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "normalizer_spec.normalization_rule_tsv",
                      "normalization rules given as TSV without their precompiled_charsmap cannot be applied");
        goto done;
    }
    int32_t unk = -1;
    json_t *added = json_array();
    for (size_t i = 0; i < m.n_pieces; i++) {
        int32_t type = m.pieces[i].type;
        if (type == LLMC_SPM_UNKNOWN) unk = (int32_t)i;
        if (type == LLMC_SPM_UNKNOWN || type == LLMC_SPM_CONTROL || type == LLMC_SPM_USER_DEFINED)
            json_array_append_new(added, added_token(i, &m.pieces[i].piece, type != LLMC_SPM_USER_DEFINED));
    }
    json_t *model;
    if (ts->model_type == LLMC_SPM_MODEL_UNIGRAM) {
        json_t *vocab = json_array();
        for (size_t i = 0; i < m.n_pieces; i++)
            json_array_append_new(vocab, json_pack("[o,f]", jstr(&m.pieces[i].piece), (double)m.pieces[i].score));
        model = json_pack("{s:s, s:I, s:o, s:b}", "type", "Unigram", "unk_id", (json_int_t)unk, "vocab", vocab,
                          "byte_fallback", ts->byte_fallback);
    } else {
        model = bpe_model(&m, unk);
    }
    char *b64 = ns->precompiled_charsmap.len
                    ? llmc_base64_encode(ns->precompiled_charsmap.data, ns->precompiled_charsmap.len)
                    : NULL;
    json_t *pipe = llmc_tok_spm_pipeline(ns->add_dummy_prefix, ns->remove_extra_whitespaces, ns->escape_whitespaces,
                                         ts->split_by_whitespace, ts->byte_fallback, b64);
    free(b64);
    json_t *norm = json_incref(json_object_get(pipe, "normalizer")), *pre = json_incref(json_object_get(pipe, "pre_tokenizer")),
           *dec = json_incref(json_object_get(pipe, "decoder"));
    json_decref(pipe);
    doc = json_pack("{s:s, s:n, s:n, s:o, s:o, s:o, s:n, s:o, s:o}", "version", "1.0", "truncation", "padding",
                    "added_tokens", added, "normalizer", norm, "pre_tokenizer", pre, "post_processor", "decoder", dec,
                    "model", model);
    if (!doc) llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "out of memory converting the model to tokenizer.json");
done:
    llmc_spm_proto_free(&m);
    return doc;
}

json_t *llmc_tok_spm_runnable(const json_t *doc) {
    json_t *copy = json_deep_copy(doc);
    json_t *list = json_object_get(json_object_get(copy, "normalizer"), "normalizers");
    for (size_t i = json_array_size(list); i-- > 0;) {
        const char *type = json_string_value(json_object_get(json_array_get(list, i), "type"));
        if (type && strcmp(type, "Precompiled") == 0) json_array_remove(list, i);
    }
    return copy;
}

/* ---- writing: tokenizer.json -> ModelProto --------------------------------------------------------- */

/* does the pipeline put U+2581 in front of the text (Prepend, or Metaspace prepending)? */
static bool prepends_meta(const json_t *node) {
    if (!json_is_object(node)) return false;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) return false;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *list = json_object_get(node, "normalizers");
        if (!list) list = json_object_get(node, "pretokenizers");
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) if (prepends_meta(x)) return true;
        return false;
    }
    if (strcmp(type, "Prepend") == 0) {
        const char *p = json_string_value(json_object_get(node, "prepend"));
        return p && strcmp(p, kMeta) == 0;
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *scheme = json_string_value(json_object_get(node, "prepend_scheme"));
        const json_t *aps = json_object_get(node, "add_prefix_space"); /* older files */
        return scheme ? strcmp(scheme, "never") != 0 : json_is_true(aps);
    }
    return false;
}

/* does the pipeline use U+2581 for spaces (a Metaspace pre-tokenizer or a Replace to U+2581)? */
static bool uses_meta(const json_t *node) {
    if (!json_is_object(node)) return false;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) return false;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *list = json_object_get(node, "normalizers");
        if (!list) list = json_object_get(node, "pretokenizers");
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) if (uses_meta(x)) return true;
        return false;
    }
    if (strcmp(type, "Metaspace") == 0) return true;
    if (strcmp(type, "Replace") == 0) {
        const char *c = json_string_value(json_object_get(node, "content"));
        return c && strcmp(c, kMeta) == 0;
    }
    return prepends_meta(node);
}

/* Does the normalizer start with NFKC (what --normalization nfkc puts first)? 2: with nmt_nfkc's
 * two Replace steps after it (--normalization nmt_nfkc); 1: NFKC alone; 0: neither. */
static int starts_with_nfkc(const json_t *node) {
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) return 0;
    if (strcmp(type, "NFKC") == 0) return 1;
    if (strcmp(type, "Sequence") != 0) return 0;
    const json_t *list = json_object_get(node, "normalizers");
    const char *first = json_string_value(json_object_get(json_array_get(list, 0), "type"));
    if (!first || strcmp(first, "NFKC") != 0) return 0;
    json_t *del = json_loads(LLMC_NMT_DELETE_JSON, 0, NULL), *sp = json_loads(LLMC_NMT_SPACE_JSON, 0, NULL);
    bool nmt = del && sp && json_equal(json_array_get(list, 1), del) && json_equal(json_array_get(list, 2), sp);
    json_decref(del);
    json_decref(sp);
    return nmt ? 2 : 1;
}

/* the Precompiled normalizer's charsmap (base64), if any */
static const char *find_charsmap(const json_t *node) {
    if (!json_is_object(node)) return NULL;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) return NULL;
    if (strcmp(type, "Precompiled") == 0) return json_string_value(json_object_get(node, "precompiled_charsmap"));
    if (strcmp(type, "Sequence") == 0) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(node, "normalizers"), i, x) {
            const char *c = find_charsmap(x);
            if (c) return c;
        }
    }
    return NULL;
}

/* does the normalizer collapse runs of spaces (sentencepiece's remove_extra_whitespaces)? */
static bool collapses_spaces(const json_t *node) {
    if (!json_is_object(node)) return false;
    const char *type = json_string_value(json_object_get(node, "type"));
    if (!type) return false;
    if (strcmp(type, "Sequence") == 0) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(node, "normalizers"), i, x) if (collapses_spaces(x)) return true;
        return false;
    }
    if (strcmp(type, "Replace") == 0) {
        const char *re = json_string_value(json_object_get(json_object_get(node, "pattern"), "Regex"));
        return re && strcmp(re, " {2,}") == 0;
    }
    return false;
}

bool llmc_tok_spm_can_write(const json_t *tj) {
    const json_t *model = json_object_get(tj, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    if (!type) return false;
    if (strcmp(type, "Unigram") == 0) return json_is_integer(json_object_get(model, "unk_id"));
    if (strcmp(type, "BPE") == 0)
        return json_is_string(json_object_get(model, "unk_token")) &&
               (uses_meta(json_object_get(tj, "pre_tokenizer")) || uses_meta(json_object_get(tj, "normalizer")));
    return false;
}

/* special added tokens, by id */
static json_t *special_ids(const json_t *tj) {
    json_t *set = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(tj, "added_tokens"), i, x) {
        if (!json_is_true(json_object_get(x, "special"))) continue;
        const char *content = json_string_value(json_object_get(x, "content"));
        if (content) json_object_set_new(set, content, json_integer(json_integer_value(json_object_get(x, "id"))));
    }
    return set;
}

static int fail_write(llmc_diags *d, const char *path, const char *key, const char *msg) {
    llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){path, 0, 0}, key, "%s", msg);
    return -1;
}

int llmc_tok_spm_write(const json_t *tj, const char *path, llmc_diags *d) {
    if (!llmc_tok_spm_can_write(tj))
        return fail_write(d, path, "model", "only a Unigram model with an unk_id, or a BPE model on a U+2581 "
                                            "(metaspace) pipeline, can be written as tokenizer.model");
    const json_t *model = json_object_get(tj, "model");
    bool unigram = strcmp(json_string_value(json_object_get(model, "type")), "Unigram") == 0;
    bool byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    llmc_spm_proto m;
    llmc_spm_proto_init(&m);
    json_t *specials = special_ids(tj);
    int rc = -1;
    size_t n = 0;
    const char **pieces = NULL;
    double *scores = NULL;
    int64_t unk = -1;
    if (unigram) {
        const json_t *vocab = json_object_get(model, "vocab");
        n = json_array_size(vocab);
        pieces = calloc(n ? n : 1, sizeof *pieces);
        scores = calloc(n ? n : 1, sizeof *scores);
        if (!pieces || !scores) goto oom;
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(vocab, i);
            pieces[i] = json_string_value(json_array_get(e, 0));
            scores[i] = json_number_value(json_array_get(e, 1));
            if (!pieces[i] || !json_is_number(json_array_get(e, 1))) {
                char key[64];
                snprintf(key, sizeof key, "model.vocab[%zu]", i);
                fail_write(d, path, key, "expected [piece, score]");
                goto done;
            }
        }
        unk = json_integer_value(json_object_get(model, "unk_id"));
    } else {
        /* BPE: ids from the vocab map, scores from the merge ranks */
        const json_t *vocab = json_object_get(model, "vocab");
        n = json_object_size(vocab);
        pieces = calloc(n ? n : 1, sizeof *pieces);
        scores = calloc(n ? n : 1, sizeof *scores);
        if (!pieces || !scores) goto oom;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)vocab, k, v) {
            json_int_t id = json_integer_value(v);
            if (!json_is_integer(v) || id < 0 || (size_t)id >= n || pieces[id]) {
                fail_write(d, path, "model.vocab", "ids are not 0..n-1, each once");
                goto done;
            }
            pieces[id] = k;
        }
        size_t n_merges = json_array_size(json_object_get(model, "merges"));
        for (size_t i = 0; i < n; i++) scores[i] = -(double)(n_merges + i); /* unmerged pieces after all merges */
        size_t i;
        json_t *mrg;
        json_array_foreach(json_object_get(model, "merges"), i, mrg) {
            const char *l, *r;
            char *joined = NULL;
            if (json_is_array(mrg)) {
                l = json_string_value(json_array_get(mrg, 0));
                r = json_string_value(json_array_get(mrg, 1));
                if (l && r) joined = llmc_asprintf("%s%s", l, r);
            } else if (json_is_string(mrg)) { /* "left right" (older files) */
                const char *s = json_string_value(mrg), *space = strchr(s, ' ');
                if (space) joined = llmc_asprintf("%.*s%s", (int)(space - s), s, space + 1);
            }
            if (!joined) {
                char key[64];
                snprintf(key, sizeof key, "model.merges[%zu]", i);
                fail_write(d, path, key, "expected [left, right] or \"left right\"");
                goto done;
            }
            json_t *id = json_object_get(vocab, joined);
            free(joined);
            if (json_is_integer(id) && scores[json_integer_value(id)] < -(double)i) scores[json_integer_value(id)] = -(double)i;
        }
        const char *unk_token = json_string_value(json_object_get(model, "unk_token"));
        json_t *uid = json_object_get(vocab, unk_token);
        unk = json_is_integer(uid) ? json_integer_value(uid) : -1;
    }
    if (unk < 0 || (size_t)unk >= n) {
        fail_write(d, path, unigram ? "model.unk_id" : "model.unk_token",
                   "a SentencePiece model needs an unknown piece in its vocabulary");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        llmc_spm_piece_type type = LLMC_SPM_NORMAL;
        bool special = json_object_get(specials, pieces[i]) != NULL;
        if ((int64_t)i == unk) type = LLMC_SPM_UNKNOWN;
        else if (special) type = LLMC_SPM_CONTROL;
        else if (byte_fallback && llmc_spm_piece_to_byte(pieces[i], strlen(pieces[i])) >= 0) type = LLMC_SPM_BYTE;
        float score = type == LLMC_SPM_NORMAL || type == LLMC_SPM_USER_DEFINED ? (float)scores[i] : 0.0f;
        if (llmc_spm_proto_add_piece(&m, pieces[i], strlen(pieces[i]), score, type) < 0) goto oom;
    }
    /* special added tokens past the model vocabulary become CONTROL pieces with their ids */
    for (size_t id = n;; id++) {
        const char *k;
        json_t *v;
        const char *found = NULL;
        json_object_foreach(specials, k, v) if (json_integer_value(v) == (json_int_t)id) found = k;
        if (!found) break;
        if (llmc_spm_proto_add_piece(&m, found, strlen(found), 0.0f, LLMC_SPM_CONTROL) < 0) goto oom;
    }
    llmc_spm_trainer_spec *ts = &m.trainer_spec;
    m.has |= LLMC_SPM_HAS_TRAINER_SPEC | LLMC_SPM_HAS_NORMALIZER_SPEC;
    ts->model_type = unigram ? LLMC_SPM_MODEL_UNIGRAM : LLMC_SPM_MODEL_BPE;
    ts->vocab_size = (int32_t)m.n_pieces;
    ts->byte_fallback = byte_fallback;
    ts->has |= LLMC_SPM_TS_BIT(LLMC_SPM_TS_MODEL_TYPE) | LLMC_SPM_TS_BIT(LLMC_SPM_TS_VOCAB_SIZE) |
               LLMC_SPM_TS_BIT(LLMC_SPM_TS_BYTE_FALLBACK);
    /* the meta pieces: ids by their usual names, -1 when absent (the .proto defaults are 1, 2) */
    static const struct { const char *name; int id_bit, piece_bit; size_t id_off, piece_off; } metas[] = {
        {"<unk>", LLMC_SPM_TS_UNK_ID, LLMC_SPM_TS_UNK_PIECE, offsetof(llmc_spm_trainer_spec, unk_id),
         offsetof(llmc_spm_trainer_spec, unk_piece)},
        {"<s>", LLMC_SPM_TS_BOS_ID, LLMC_SPM_TS_BOS_PIECE, offsetof(llmc_spm_trainer_spec, bos_id),
         offsetof(llmc_spm_trainer_spec, bos_piece)},
        {"</s>", LLMC_SPM_TS_EOS_ID, LLMC_SPM_TS_EOS_PIECE, offsetof(llmc_spm_trainer_spec, eos_id),
         offsetof(llmc_spm_trainer_spec, eos_piece)},
        {"<pad>", LLMC_SPM_TS_PAD_ID, LLMC_SPM_TS_PAD_PIECE, offsetof(llmc_spm_trainer_spec, pad_id),
         offsetof(llmc_spm_trainer_spec, pad_piece)},
    };
    for (size_t k = 0; k < 4; k++) {
        int32_t *idp = (int32_t *)(void *)((char *)ts + metas[k].id_off);
        llmc_spm_str *pp = (llmc_spm_str *)(void *)((char *)ts + metas[k].piece_off);
        int64_t id = -1;
        if (k == 0) id = unk;
        else
            for (size_t i = 0; i < m.n_pieces; i++)
                if (m.pieces[i].type == LLMC_SPM_CONTROL && strcmp(m.pieces[i].piece.data, metas[k].name) == 0) id = (int64_t)i;
        *idp = (int32_t)id;
        ts->has |= LLMC_SPM_TS_BIT(metas[k].id_bit);
        const char *piece = id >= 0 ? m.pieces[id].piece.data : metas[k].name;
        if (!llmc_spm_str_set(pp, piece, strlen(piece))) goto oom;
        ts->has |= LLMC_SPM_TS_BIT(metas[k].piece_bit);
    }
    llmc_spm_normalizer_spec *ns = &m.normalizer_spec;
    const json_t *normalizer = json_object_get(tj, "normalizer"), *pre = json_object_get(tj, "pre_tokenizer");
    const char *b64 = find_charsmap(normalizer);
    if (b64) {
        size_t blen = 0;
        unsigned char *blob = llmc_base64_decode(b64, strlen(b64), &blen);
        if (!blob) {
            fail_write(d, path, "normalizer.precompiled_charsmap", "not valid base64");
            goto done;
        }
        bool ok = llmc_spm_str_set(&ns->precompiled_charsmap, (const char *)blob, blen);
        free(blob);
        if (!ok) goto oom;
        ns->has |= LLMC_SPM_NS_PRECOMPILED_CHARSMAP;
    }
    int nfkc = b64 ? 0 : starts_with_nfkc(normalizer);
    if (nfkc) {
        /* sentencepiece's own NFKC rules, derived from the same Unicode tables as llmc's NFKC */
        unsigned char *blob;
        size_t blen;
        if (!llmc_charsmap_build_nfkc(nfkc == 2, &blob, &blen)) goto oom;
        bool ok = llmc_spm_str_set(&ns->precompiled_charsmap, (const char *)blob, blen);
        free(blob);
        if (!ok) goto oom;
        ns->has |= LLMC_SPM_NS_PRECOMPILED_CHARSMAP;
    }
    const char *rule = b64 ? "user_defined" : nfkc == 2 ? "nmt_nfkc" : nfkc ? "nfkc" : "identity";
    if (!llmc_spm_str_set(&ns->name, rule, strlen(rule))) goto oom;
    ns->add_dummy_prefix = prepends_meta(normalizer) || prepends_meta(pre);
    ns->remove_extra_whitespaces = collapses_spaces(normalizer);
    ns->escape_whitespaces = true;
    ns->has |= LLMC_SPM_NS_NAME | LLMC_SPM_NS_ADD_DUMMY_PREFIX | LLMC_SPM_NS_REMOVE_EXTRA_WHITESPACES |
               LLMC_SPM_NS_ESCAPE_WHITESPACES;
    if (!llmc_spm_proto_check(&m, path, d)) goto done;
    uint8_t *buf;
    size_t len;
    if (!llmc_spm_proto_serialize(&m, &buf, &len)) goto oom;
    FILE *f = fopen(path, "wb");
    bool wrote = f && fwrite(buf, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (f && fclose(f) != 0 && wrote) {
        wrote = false;
        err = errno;
    }
    free(buf);
    if (!wrote) {
        llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){path, 0, 0}, NULL, "cannot write tokenizer.model: %s",
                      strerror(err));
        goto done;
    }
    rc = 0;
    goto done;
oom:
    fail_write(d, path, NULL, "out of memory writing tokenizer.model");
done:
    free(pieces);
    free(scores);
    json_decref(specials);
    llmc_spm_proto_free(&m);
    return rc;
}
