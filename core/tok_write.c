/* Saving a tokenizer: tokenizer.json (HF layout: the document with its added_tokens as the HF
 * library assigned them, 2-space indent), tokenizer_config.json and special_tokens_map.json
 * (what transformers' PreTrainedTokenizerFast reads), vocab.txt for WordPiece, tokenizer.model
 * through core/tok_spm.c. Each file is written to a temporary name, synced, renamed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/sha256.h"
#include "tok_internal.h"
#include "util.h"

#if defined(__has_include)
#if __has_include("tok_spm.h")
#include "tok_spm.h"
#define LLMC_HAVE_SPM 1
#endif
#endif

char *tok_json_dump(const json_t *doc, size_t *len) {
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s && len) *len = strlen(s);
    return s;
}

static json_t *added_json(const tok_core *c) {
    json_t *a = json_array();
    if (!a) return NULL;
    /* sorted by id, as HF serializes them */
    size_t *order = malloc((c->n_added ? c->n_added : 1) * sizeof *order);
    if (!order) {
        json_decref(a);
        return NULL;
    }
    for (size_t i = 0; i < c->n_added; i++) order[i] = i;
    for (size_t i = 1; i < c->n_added; i++) {
        size_t v = order[i], j = i;
        while (j > 0 && c->added[order[j - 1]].id > c->added[v].id) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    for (size_t k = 0; k < c->n_added; k++) {
        const tok_added *t = &c->added[order[k]];
        json_t *o = json_object();
        if (!o || json_object_set_new(o, "id", json_integer(t->id)) ||
            json_object_set_new(o, "content", json_stringn(t->content, t->len)) ||
            json_object_set_new(o, "single_word", json_boolean(t->single_word)) ||
            json_object_set_new(o, "lstrip", json_boolean(t->lstrip)) ||
            json_object_set_new(o, "rstrip", json_boolean(t->rstrip)) ||
            json_object_set_new(o, "normalized", json_boolean(t->normalized)) ||
            json_object_set_new(o, "special", json_boolean(t->special)) || json_array_append_new(a, o)) {
            json_decref(o);
            json_decref(a);
            free(order);
            return NULL;
        }
    }
    free(order);
    return a;
}

/* the document as saved: HF's key order, effective added tokens */
static json_t *output_doc(const tok_core *c) {
    static const char *const keys[] = {"version", "truncation", "padding", "added_tokens", "normalizer",
                                       "pre_tokenizer", "post_processor", "decoder", "model"};
    json_t *o = json_object();
    if (!o) return NULL;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v;
        if (!strcmp(keys[i], "version")) v = json_string("1.0");
        else if (!strcmp(keys[i], "added_tokens")) v = added_json(c);
        else {
            v = json_object_get(c->doc, keys[i]);
            v = v ? json_incref(v) : json_null();
        }
        if (!v || json_object_set_new(o, keys[i], v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

char *llmc_tokenizer_to_json(const llmc_tokenizer *t, size_t *len, llmc_diags *d) {
    json_t *doc = output_doc(t->core);
    char *s = doc ? tok_json_dump(doc, len) : NULL;
    json_decref(doc);
    if (!s) llmc_error(d, NULL, "out of memory while writing tokenizer.json");
    return s;
}

int llmc_tokenizer_hash(const llmc_tokenizer *t, char hex[65]) {
    size_t len;
    llmc_diags *d = llmc_diags_create();
    char *s = llmc_tokenizer_to_json(t, &len, d);
    llmc_diags_free(d);
    if (!s) return -1;
    llmc_sha256_hex(s, len, hex);
    free(s);
    return 0;
}

/* write data to dir/name through a temporary file in dir */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len, llmc_diags *d) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        llmc_error(d, NULL, "%s/%s: path too long", dir, name);
        return -1;
    }
    return llmc_write_file_atomic(path, data, len, d);
}

static int write_json(const char *dir, const char *name, json_t *doc, llmc_diags *d) {
    size_t len;
    char *s = doc ? tok_json_dump(doc, &len) : NULL;
    if (!s) {
        llmc_error(d, NULL, "out of memory while writing %s", name);
        return -1;
    }
    /* end with a newline, like HF's files */
    char *t = realloc(s, len + 2);
    if (!t) {
        free(s);
        llmc_error(d, NULL, "out of memory while writing %s", name);
        return -1;
    }
    t[len++] = '\n';
    int rc = write_atomic(dir, name, t, len, d);
    free(t);
    return rc;
}

static const char *role_key[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};

static json_t *special_map(const llmc_tokenizer *t) {
    json_t *m = json_object();
    if (!m) return NULL;
    for (int r = 0; r < 4; r++) {
        int64_t id = t->core->special[r];
        size_t len;
        const char *p = id >= 0 ? tok_piece(t->core, (uint32_t)id, &len) : NULL;
        if (p && json_object_set_new(m, role_key[r], json_stringn(p, len))) {
            json_decref(m);
            return NULL;
        }
    }
    /* the other special added tokens */
    json_t *extra = json_array();
    for (size_t i = 0; extra && i < t->core->n_added; i++) {
        const tok_added *a = &t->core->added[i];
        bool role = false;
        for (int r = 0; r < 4; r++) role |= t->core->special[r] == (int64_t)a->id;
        if (a->special && !role) json_array_append_new(extra, json_stringn(a->content, a->len));
    }
    if (extra && json_array_size(extra)) json_object_set_new(m, "additional_special_tokens", extra);
    else json_decref(extra);
    return m;
}

static json_t *tokenizer_config(const llmc_tokenizer *t) {
    json_t *c = json_object(), *dec = json_object();
    if (!c || !dec) {
        json_decref(c);
        json_decref(dec);
        return NULL;
    }
    for (size_t i = 0; i < t->core->n_added; i++) {
        const tok_added *a = &t->core->added[i];
        json_t *o = json_object();
        char key[16];
        snprintf(key, sizeof key, "%u", a->id);
        json_object_set_new(o, "content", json_stringn(a->content, a->len));
        json_object_set_new(o, "lstrip", json_boolean(a->lstrip));
        json_object_set_new(o, "normalized", json_boolean(a->normalized));
        json_object_set_new(o, "rstrip", json_boolean(a->rstrip));
        json_object_set_new(o, "single_word", json_boolean(a->single_word));
        json_object_set_new(o, "special", json_boolean(a->special));
        json_object_set_new(dec, key, o);
    }
    json_object_set_new(c, "added_tokens_decoder", dec);
    json_t *m = special_map(t);
    if (m) {
        json_object_update(c, m);
        json_decref(m);
    }
    json_object_set_new(c, "clean_up_tokenization_spaces", json_false());
    json_object_set_new(c, "model_max_length", json_integer(1000000000000000000LL));
    json_object_set_new(c, "tokenizer_class", json_string("PreTrainedTokenizerFast"));
    return c;
}

static int write_vocab_txt(const llmc_tokenizer *t, const char *dir, llmc_diags *d) {
    const tok_core *c = t->core;
    tok_buf b = {0};
    for (uint32_t id = 0; id < c->vocab_size; id++) {
        size_t len;
        const char *p = tok_piece(c, id, &len);
        if (!p) {
            tok_buf_free(&b);
            llmc_error(d, NULL, "vocab.txt: id %u has no piece (the vocabulary has a hole); vocab.txt lists ids 0..%u",
                       id, c->vocab_size - 1);
            return -1;
        }
        if (memchr(p, '\n', len)) {
            tok_buf_free(&b);
            llmc_error(d, NULL, "vocab.txt: piece %u contains a newline and cannot be written one per line", id);
            return -1;
        }
        if (tok_buf_put(&b, p, len) || tok_buf_putc(&b, '\n')) {
            tok_buf_free(&b);
            llmc_error(d, NULL, "out of memory while writing vocab.txt");
            return -1;
        }
    }
    int rc = write_atomic(dir, "vocab.txt", b.p ? b.p : "", b.n, d);
    tok_buf_free(&b);
    return rc;
}

int llmc_tokenizer_save(const llmc_tokenizer *t, const char *dir, llmc_diags *d) {
    json_t *doc = output_doc(t->core);
    if (!doc) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    int rc = write_json(dir, "tokenizer.json", doc, d);
    json_t *cfg = t->core->config ? json_incref(t->core->config) : tokenizer_config(t);
    if (!rc) rc = write_json(dir, "tokenizer_config.json", cfg, d);
    json_decref(cfg);
    json_t *map = special_map(t);
    if (!rc) rc = write_json(dir, "special_tokens_map.json", map, d);
    json_decref(map);
    if (!rc && t->core->model.type == MODEL_WORDPIECE) rc = write_vocab_txt(t, dir, d);
#ifdef LLMC_HAVE_SPM
    if (!rc && llmc_tok_spm_can_write(doc)) {
        char tmp[4096], path[4096];
        snprintf(path, sizeof path, "%s/tokenizer.model", dir);
        snprintf(tmp, sizeof tmp, "%s/.tokenizer.model.tmp", dir);
        rc = llmc_tok_spm_write(doc, tmp, d);
        if (!rc && rename(tmp, path) != 0) {
            llmc_error(d, NULL, "%s: cannot rename into place: %s", path, strerror(errno));
            rc = -1;
        }
        if (rc) unlink(tmp);
    }
#endif
    json_decref(doc);
    return rc;
}
