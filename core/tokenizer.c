/* llmc_tokenizer: loading, the encode pipeline (HF TokenizerImpl::encode: added tokens ->
 * normalizer -> normalized added tokens -> pre-tokenizer -> model -> truncation ->
 * post-processor -> padding) and decode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok_corpus.h"
#include "tok_internal.h"
#include "tok_unicode.h"
#include "util.h"

#if defined(__has_include)
#if __has_include("tok_spm.h")
#include "tok_spm.h"
#include "tok_spm_model.h"
#define LLMC_HAVE_SPM 1
#endif
#endif

/* ---- ids ---------------------------------------------------------------------------------------------------- */

int llmc_tok_ids_reserve(llmc_tok_ids *v, size_t cap) {
    if (cap <= v->cap) return 0;
    size_t nc = v->cap ? v->cap : 64;
    while (nc < cap) {
        if (nc > SIZE_MAX / 2 / sizeof *v->ids) return -1;
        nc *= 2;
    }
    uint32_t *p = realloc(v->ids, nc * sizeof *p);
    if (!p) return -1;
    v->ids = p;
    v->cap = nc;
    return 0;
}

int llmc_tok_ids_push(llmc_tok_ids *v, uint32_t id) {
    if (v->n == v->cap && llmc_tok_ids_reserve(v, v->n + 1)) return -1;
    v->ids[v->n++] = id;
    return 0;
}

void llmc_tok_ids_free(llmc_tok_ids *v) {
    free(v->ids);
    memset(v, 0, sizeof *v);
}

/* ---- handles -------------------------------------------------------------------------------------------------- */

void tok_work_free(tok_work *w) {
    tok_buf_free(&w->norm_a);
    tok_buf_free(&w->norm_b);
    tok_buf_free(&w->seg);
    tok_splits_free(&w->sp_a);
    tok_splits_free(&w->sp_b);
    free(w->cps);
    free(w->cps2);
    llmc_regex_scratch_free(&w->rx);
    free(w->segv);
    free(w->symbols);
    free(w->heap);
    tok_buf_free(&w->key);
    llmc_strmap_free(&w->cache);
    free(w->cache_ids);
    free(w->cache_span);
#ifdef LLMC_HAVE_SPM
    llmc_spm_work_free(w->spm);
#endif
    memset(w, 0, sizeof *w);
}

static llmc_tokenizer *handle_of(tok_core *c) {
    llmc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->core = c;
    return t;
}

llmc_tokenizer *llmc_tokenizer_clone(const llmc_tokenizer *t) {
    if (!t) return NULL;
    llmc_tokenizer *c = handle_of(t->core);
    if (c) __atomic_add_fetch(&t->core->refs, 1, __ATOMIC_SEQ_CST);
    return c;
}

void llmc_tokenizer_free(llmc_tokenizer *t) {
    if (!t) return;
    tok_work_free(&t->work);
    tok_core_release(t->core);
    free(t);
}

/* special tokens named in tokenizer_config.json / special_tokens_map.json */
static void roles_from_config(tok_core *c, const json_t *cfg) {
    static const char *const keys[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    if (!json_is_object(cfg)) return;
    for (int r = 0; r < 4; r++) {
        json_t *v = json_object_get(cfg, keys[r]);
        if (json_is_object(v)) v = json_object_get(v, "content");
        if (!json_is_string(v)) continue;
        llmc_tokenizer view = {.core = c};
        int64_t id = llmc_tokenizer_piece_to_id(&view, json_string_value(v), json_string_length(v));
        if (id >= 0) c->special[r] = id;
    }
}

static json_t *load_side_json(const char *dir, const char *file) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) return NULL;
    size_t len;
    char *text = llmc_read_file(path, 64u << 20, &len);
    if (!text) return NULL;
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    return j;
}

llmc_tokenizer *llmc_tokenizer_load_json(const char *json, size_t len, const char *name, llmc_diags *d) {
    json_error_t e;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (!doc) {
        llmc_loc loc = {name, e.line > 0 ? e.line : 0, e.column > 0 ? e.column : 0};
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "not valid JSON: %s", e.text);
        return NULL;
    }
    tok_core *c = tok_core_from_json(doc, name, d);
    if (!c) return NULL;
    llmc_tokenizer *t = handle_of(c);
    if (!t) {
        tok_core_release(c);
        llmc_error(d, NULL, "out of memory");
    }
    return t;
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

llmc_tokenizer *llmc_tokenizer_load(const char *path, llmc_diags *d) {
    char file[4096], dir[4096];
    if (is_dir(path)) {
        snprintf(dir, sizeof dir, "%s", path);
        if ((size_t)snprintf(file, sizeof file, "%s/tokenizer.json", path) >= sizeof file) {
            llmc_error(d, NULL, "path too long: %s", path);
            return NULL;
        }
        if (!exists(file)) {
            snprintf(file, sizeof file, "%s/tokenizer.model", path);
            if (!exists(file)) {
                llmc_error(d, NULL, "%s: no tokenizer.json or tokenizer.model in this directory", path);
                return NULL;
            }
        }
    } else {
        if ((size_t)snprintf(file, sizeof file, "%s", path) >= sizeof file) {
            llmc_error(d, NULL, "path too long: %s", path);
            return NULL;
        }
        const char *slash = strrchr(path, '/');
        if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        else snprintf(dir, sizeof dir, ".");
    }
    size_t len;
    char *text = llmc_read_file(file, LLMC_TOK_MAX_FILE, &len);
    if (!text) {
        llmc_error(d, NULL, "%s: cannot read: %s", file,
                   errno == EFBIG ? "larger than the 1 GiB limit for a tokenizer file" : strerror(errno));
        return NULL;
    }
    size_t k = 0;
    while (k < len && (text[k] == ' ' || text[k] == '\n' || text[k] == '\r' || text[k] == '\t')) k++;
    bool json = k < len && text[k] == '{';
    llmc_tokenizer *t = NULL;
    if (json) {
        t = llmc_tokenizer_load_json(text, len, file, d);
        free(text);
    } else {
        free(text);
#if defined(LLMC_HAVE_SPM) && !defined(LLMC_TOK_JSON_ONLY)
        json_t *doc = llmc_tok_spm_read(file, d);
        if (!doc) return NULL;
        /* sentencepiece's rules encode and decode it; the tokenizer.json equivalent (minus HF's
         * Precompiled normalizer, which the exact path applies itself) serves the rest */
        llmc_spm_tokenizer *spm = llmc_spm_tokenizer_load(file, d);
        tok_core *c = spm ? tok_core_from_json(llmc_tok_spm_runnable(doc), file, d) : NULL;
        if (c) {
            json_decref(c->doc);
            c->doc = doc; /* the whole equivalent, Precompiled included, is what save writes */
            c->spm = spm;
            t = handle_of(c);
        } else {
            json_decref(doc);
            llmc_spm_tokenizer_free(spm);
        }
        if (c && !t) {
            tok_core_release(c);
            llmc_error(d, NULL, "out of memory");
        }
#elif defined(LLMC_TOK_JSON_ONLY)
        /* the CPU runtime (llmc-run) carries the tokenizer.json reader only: `llmc compile` always
         * writes tokenizer.json into OUT/tokenizer */
        llmc_error(d, NULL,
                   "%s: not a tokenizer.json (no JSON object at its start); this program reads tokenizer.json "
                   "only (`llmc compile` writes OUT/tokenizer/tokenizer.json)",
                   file);
        return NULL;
#else
        llmc_error(d, NULL,
                   "%s: not a tokenizer.json (no JSON object); reading SentencePiece tokenizer.model files is not built "
                   "yet in this llmc (core/tok_spm.c has not landed)",
                   file);
        return NULL;
#endif
    }
    if (!t) return NULL;
    /* roles from the files HF writes next to tokenizer.json */
    json_t *cfg = load_side_json(dir, "tokenizer_config.json");
    json_t *map = load_side_json(dir, "special_tokens_map.json");
    roles_from_config(t->core, map);
    roles_from_config(t->core, cfg);
    t->core->config = cfg;
    json_decref(map);
    return t;
}

/* ---- lookups -------------------------------------------------------------------------------------------------- */

const char *tok_piece(const tok_core *c, uint32_t id, size_t *len) {
    if (id < c->n_added_of_id && c->added_of_id[id] >= 0) {
        const tok_added *a = &c->added[c->added_of_id[id]];
        *len = a->len;
        return a->content;
    }
    if (id < c->model.n_ids && c->model.piece_len[id] != UINT32_MAX) {
        *len = c->model.piece_len[id];
        return c->model.pool + c->model.piece_off[id];
    }
    return NULL;
}

uint32_t llmc_tokenizer_vocab_size(const llmc_tokenizer *t) { return t->core->vocab_size; }

const char *llmc_tokenizer_id_to_piece(const llmc_tokenizer *t, uint32_t id, size_t *len) {
    size_t l = 0;
    const char *p = tok_piece(t->core, id, &l);
    if (len) *len = l;
    return p;
}

int64_t llmc_tokenizer_piece_to_id(const llmc_tokenizer *t, const char *piece, size_t len) {
    const tok_core *c = t->core;
    for (size_t i = 0; i < c->n_added; i++)
        if (c->added[i].len == len && !memcmp(c->added[i].content, piece, len)) return c->added[i].id;
    return llmc_strmap_get(&c->model.piece_to_id, piece, len);
}

int64_t llmc_tokenizer_special_id(const llmc_tokenizer *t, llmc_tok_role role) {
    if ((unsigned)role > 3) return -1;
    return t->core->special[role];
}

const char *llmc_tokenizer_model_type(const llmc_tokenizer *t) {
    static const char *const names[] = {"BPE", "WordPiece", "WordLevel", "Unigram"};
    return names[t->core->model.type];
}

bool llmc_tokenizer_lossless(const llmc_tokenizer *t) { return t->core->lossless; }

/* ---- added tokens: AddedVocabulary::find_matches ------------------------------------------------------------ */

/* longest token starting at i, or -1; *end gets its end */
static int32_t trie_longest(const tok_trie *t, const char *s, size_t n, size_t i, size_t *end) {
    uint32_t node = 0;
    int32_t best = -1;
    for (size_t k = i; k < n; k++) {
        const tok_trie_node *nd = &t->nodes[node];
        uint8_t b = (uint8_t)s[k];
        uint32_t lo = nd->first_child, hi = lo + nd->n_children, next = UINT32_MAX;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (t->edge_byte[mid] == b) {
                next = t->edge_node[mid];
                break;
            }
            if (t->edge_byte[mid] < b) lo = mid + 1;
            else hi = mid;
        }
        if (next == UINT32_MAX) break;
        node = next;
        if (t->nodes[node].token >= 0) {
            best = t->nodes[node].token;
            *end = k + 1;
        }
    }
    return best;
}

static uint32_t cp_before(const char *s, size_t pos) {
    size_t b = pos - 1;
    while (b > 0 && pos - b < 4 && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
    uint32_t cp;
    int k = llmc_utf8_decode((const unsigned char *)s + b, pos - b, &cp);
    if ((size_t)k != pos - b) return LLMC_UTF8_INVALID;
    return cp;
}

static bool word_cp(uint32_t cp) { return !(cp & LLMC_UTF8_INVALID) && llmc_uc_is_rust_word(cp); }
static bool space_cp(uint32_t cp) { return !(cp & LLMC_UTF8_INVALID) && llmc_uc_is_whitespace(cp); }

typedef int (*piece_fn)(void *ctx, const char *s, size_t off, size_t len, int32_t token);

/* Split s into text pieces and added-token matches (leftmost-longest, non-overlapping) */
static int split_added(const tok_core *c, const tok_trie *trie, const char *s, size_t n, piece_fn fn, void *ctx) {
    size_t start_offset = 0, pos = 0;
    const tok_trie_node *root = &trie->nodes[0];
    bool first_byte[256] = {false};
    for (uint32_t e = 0; e < root->n_children; e++) first_byte[trie->edge_byte[root->first_child + e]] = true;
    while (pos < n) {
        size_t i = pos, end = 0;
        int32_t tok = -1;
        for (; i < n; i++) {
            if (!first_byte[(uint8_t)s[i]]) continue;
            tok = trie_longest(trie, s, n, i, &end);
            if (tok >= 0) break;
        }
        if (tok < 0) break;
        pos = end;
        const tok_added *a = &c->added[tok];
        size_t start = i, stop = end;
        if (a->single_word) {
            bool start_space = start == 0 || !word_cp(cp_before(s, start));
            uint32_t after = 0;
            if (stop < n) llmc_utf8_decode((const unsigned char *)s + stop, n - stop, &after);
            bool stop_space = stop == n || !word_cp(after);
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                uint32_t cp = cp_before(s, ns);
                if (!space_cp(cp)) break;
                char u[4];
                ns -= (size_t)llmc_utf8_encode(cp, u);
            }
            start = ns > start_offset ? ns : start_offset;
        }
        if (a->rstrip) {
            while (stop < n) {
                uint32_t cp;
                int k = llmc_utf8_decode((const unsigned char *)s + stop, n - stop, &cp);
                if (!space_cp(cp)) break;
                stop += (size_t)k;
            }
        }
        if (start < start_offset) start = start_offset;
        int rc;
        if (start_offset < start && (rc = fn(ctx, s, start_offset, start - start_offset, -1))) return rc;
        if ((rc = fn(ctx, s, start, stop - start, tok))) return rc;
        start_offset = stop;
        if (pos < stop) pos = stop;
    }
    if (start_offset < n) return fn(ctx, s, start_offset, n - start_offset, -1);
    return 0;
}

/* ---- encode ------------------------------------------------------------------------------------------------- */

typedef struct enc_ctx {
    llmc_tokenizer *t;
    llmc_tok_ids *out;
    bool at_start;       /* the current raw piece starts at original offset 0 */
    llmc_tok_word_fn word_fn;   /* llmc_tok_words: pre-tokens go here instead of the model */
    void *word_ctx;
} enc_ctx;

/* pre-tokenize + model over one normalized piece */
static int encode_normalized(enc_ctx *e, const char *s, size_t n, bool at_start) {
    tok_core *c = e->t->core;
    tok_work *w = &e->t->work;
    if (!c->pretok) return e->word_fn ? e->word_fn(e->word_ctx, s, n) : tok_model_encode(c, w, s, n, e->out);
    tok_splits *sp = &w->sp_a, *other = &w->sp_b;
    sp->n = 0;
    sp->text.n = 0;
    if (tok_splits_add(sp, s, n, at_start)) return -1;
    if (tok_pretokenize(c->pretok, &sp, &other, w)) return -1;
    for (size_t i = 0; i < sp->n; i++) {
        const char *word = sp->text.p + sp->v[i].off;
        int rc = e->word_fn ? e->word_fn(e->word_ctx, word, sp->v[i].len) : tok_model_encode(c, w, word, sp->v[i].len, e->out);
        if (rc) return rc;
    }
    return 0;
}

static int on_norm_piece(void *ctx, const char *s, size_t off, size_t len, int32_t token) {
    enc_ctx *e = ctx;
    if (token >= 0) return e->word_fn ? 0 : llmc_tok_ids_push(e->out, e->t->core->added[token].id);
    return encode_normalized(e, s + off, len, e->at_start && off == 0);
}

static int on_raw_piece(void *ctx, const char *s, size_t off, size_t len, int32_t token) {
    enc_ctx *e = ctx;
    tok_core *c = e->t->core;
    tok_work *w = &e->t->work;
    if (token >= 0) return e->word_fn ? 0 : llmc_tok_ids_push(e->out, c->added[token].id);
    const char *p = s + off;
    size_t n = len;
    if (c->normalizer) {
        if (tok_normalize(c->normalizer, p, n, &w->norm_a, w)) return -1;
        p = w->norm_a.p ? w->norm_a.p : "";
        n = w->norm_a.n;
        if (n == 0) return 0;
    }
    e->at_start = off == 0;
    if (!c->has_norm_added) return encode_normalized(e, p, n, e->at_start);
    /* the normalized text must survive the nested calls (which reuse norm_a) */
    char *copy = malloc(n + 1);
    if (!copy) return -1;
    memcpy(copy, p, n);
    int rc = split_added(c, &c->trie_norm, copy, n, on_norm_piece, e);
    free(copy);
    return rc;
}

static size_t post_added(const tok_post *p, bool *ok) {
    if (p->type == POST_SEQUENCE) {
        size_t k = 0;
        for (size_t i = 0; i < p->n_items; i++) k += post_added(&p->items[i], ok);
        return k;
    }
    return p->n_before + p->n_after;
}

static int post_process(const tok_post *p, llmc_tok_ids *out, size_t mark) {
    if (p->type == POST_SEQUENCE) {
        for (size_t i = 0; i < p->n_items; i++)
            if (post_process(&p->items[i], out, mark)) return -1;
        return 0;
    }
    if (!p->n_before && !p->n_after) return 0;
    size_t n = out->n - mark;
    if (llmc_tok_ids_reserve(out, out->n + p->n_before + p->n_after)) return -1;
    memmove(out->ids + mark + p->n_before, out->ids + mark, n * sizeof *out->ids);
    if (p->n_before) memcpy(out->ids + mark, p->before, p->n_before * sizeof *out->ids);
    if (p->n_after) memcpy(out->ids + mark + p->n_before + n, p->after, p->n_after * sizeof *out->ids);
    out->n += p->n_before + p->n_after;
    return 0;
}

/* replace each invalid UTF-8 byte with U+FFFD (the documented rule for tokenizers that are not lossless) */
static int replace_invalid(const char *s, size_t n, tok_buf *out) {
    out->n = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = llmc_utf8_decode(u + i, n - i, &cp);
        if (cp & LLMC_UTF8_INVALID) {
            if (tok_buf_put(out, "\xEF\xBF\xBD", 3)) return -1;
        } else if (tok_buf_put(out, s + i, (size_t)k)) {
            return -1;
        }
        i += (size_t)k;
    }
    return tok_buf_reserve(out, 1);
}

#ifdef LLMC_HAVE_SPM
/* a tokenizer.model: sentencepiece's EncodeAsIds (no BOS/EOS: its converted pipeline has none) */
static int spm_encode(llmc_tokenizer *t, const char *text, size_t len, llmc_tok_ids *out, llmc_diags *d) {
    if (!t->work.spm && !(t->work.spm = llmc_spm_work_create())) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    if (!llmc_spm_tokenizer_encode(t->core->spm, t->work.spm, text, len, out)) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    return 0;
}
#endif

int llmc_tokenizer_encode(llmc_tokenizer *t, const char *text, size_t len, bool add_special_tokens,
                          llmc_tok_ids *out, llmc_diags *d) {
    tok_core *c = t->core;
#ifdef LLMC_HAVE_SPM
    if (c->spm) return spm_encode(t, text, len, out, d);
#endif
    size_t mark = out->n;
    tok_buf fixed = {0};
    if (!c->lossless && !llmc_utf8_valid(text, len)) {
        if (replace_invalid(text, len, &fixed)) goto oom;
        text = fixed.p;
        len = fixed.n;
    }
    enc_ctx e = {t, out, true, NULL, NULL};
    int rc = c->has_raw_added ? split_added(c, &c->trie_raw, text, len, on_raw_piece, &e)
                              : (len ? on_raw_piece(&e, text, 0, len, -1) : 0);
    if (rc == TOK_ERR_UNK) {
        tok_buf_free(&fixed);
        out->n = mark;
        llmc_loc loc = {c->name, 0, 0};
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "model.unk_token",
                      "the text has a piece the vocabulary lacks, and the unknown token %s%s%s is not in model.vocab",
                      c->model.unk_token ? "\"" : "", c->model.unk_token ? c->model.unk_token : "(none)",
                      c->model.unk_token ? "\"" : "");
        return -1;
    }
    if (rc) goto oom;
    tok_buf_free(&fixed);
    bool ok = true;
    size_t n_added = (c->post && add_special_tokens) ? post_added(c->post, &ok) : 0;
    if (c->truncation.on) {
        if (c->truncation.max_length < n_added) {
            llmc_error(d, "truncation.max_length", "%zu is smaller than the %zu special tokens the post-processor adds",
                       c->truncation.max_length, n_added);
            out->n = mark;
            return -1;
        }
        size_t keep = c->truncation.max_length - n_added, n = out->n - mark;
        if (n > keep) {
            if (c->truncation.left) memmove(out->ids + mark, out->ids + mark + (n - keep), keep * sizeof *out->ids);
            out->n = mark + keep;
        }
    }
    if (c->post && add_special_tokens && post_process(c->post, out, mark)) goto oom;
    if (c->padding.on) {
        size_t n = out->n - mark, target = c->padding.fixed ? c->padding.length : n;
        if (c->padding.multiple && target % c->padding.multiple)
            target += c->padding.multiple - target % c->padding.multiple;
        if (n < target) {
            size_t pad = target - n;
            if (llmc_tok_ids_reserve(out, out->n + pad)) goto oom;
            if (c->padding.left) memmove(out->ids + mark + pad, out->ids + mark, n * sizeof *out->ids);
            size_t at = c->padding.left ? mark : mark + n;
            for (size_t i = 0; i < pad; i++) out->ids[at + i] = c->padding.pad_id;
            out->n += pad;
        }
    }
    return 0;
oom:
    tok_buf_free(&fixed);
    out->n = mark;
    llmc_error(d, NULL, "out of memory while encoding (or a Split/Replace regex exceeded its step budget)");
    return -1;
}

/* ---- decode ------------------------------------------------------------------------------------------------- */

static bool is_special_content(const tok_core *c, const char *s, size_t n) {
    for (size_t i = 0; i < c->n_added; i++)
        if (c->added[i].special && c->added[i].len == n && !memcmp(c->added[i].content, s, n)) return true;
    return false;
}

static int decode_impl(const llmc_tokenizer *t, const uint32_t *ids, size_t n, bool skip_special, bool lossy,
                       char **text, size_t *len, llmc_diags *d) {
    const tok_core *c = t->core;
#ifdef LLMC_HAVE_SPM
    if (c->spm) { /* sentencepiece's DecodeIds: control pieces vanish, <unk> reads " \u2047 " */
        llmc_tok_bytes out = {0};
        if (!llmc_spm_tokenizer_decode(c->spm, ids, n, &out, d) || !llmc_tok_bytes_append(&out, "", 1)) {
            llmc_tok_bytes_free(&out);
            if (!llmc_diags_errors(d)) llmc_error(d, NULL, "out of memory");
            return -1;
        }
        *text = out.p;
        *len = out.n - 1;
        return 0;
    }
#endif
    const char **toks = malloc((n ? n : 1) * sizeof *toks);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!toks || !lens) {
        free(toks);
        free(lens);
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *p;
        uint32_t id = ids[i];
        if (id < c->n_added_of_id && c->added_of_id[id] >= 0) {
            /* HF's simple_id_to_token: the normalized form of a normalized added token */
            const tok_added *a = &c->added[c->added_of_id[id]];
            p = a->norm ? a->norm : a->content;
            l = a->norm ? a->norm_len : a->len;
        } else {
            p = tok_piece(c, id, &l);
        }
        if (!p) {
            free(toks);
            free(lens);
            llmc_error(d, NULL, "id %u is not in the vocabulary (%u ids)", id, c->vocab_size);
            return -1;
        }
        if (skip_special && is_special_content(c, p, l)) continue;
        toks[k] = p;
        lens[k] = l;
        k++;
    }
    tok_buf out = {0};
    int rc = tok_decode_tokens(c->decoder, toks, lens, k, lossy, &out);
    free(toks);
    free(lens);
    if (rc) {
        tok_buf_free(&out);
        llmc_error(d, NULL, "out of memory while decoding");
        return -1;
    }
    *text = out.p;
    *len = out.n;
    return 0;
}

int llmc_tokenizer_decode(const llmc_tokenizer *t, const uint32_t *ids, size_t n, bool skip_special_tokens,
                          char **text, size_t *len, llmc_diags *d) {
    return decode_impl(t, ids, n, skip_special_tokens, true, text, len, d);
}

int llmc_tokenizer_decode_bytes(const llmc_tokenizer *t, const uint32_t *ids, size_t n, bool skip_special_tokens,
                                char **text, size_t *len, llmc_diags *d) {
    return decode_impl(t, ids, n, skip_special_tokens, false, text, len, d);
}

int llmc_tok_words(llmc_tokenizer *t, const char *text, size_t len, llmc_tok_word_fn fn, void *ctx, llmc_diags *d) {
    tok_core *c = t->core;
    enc_ctx e = {t, NULL, true, fn, ctx};
    tok_buf fixed = {0};
    if (!c->lossless && !llmc_utf8_valid(text, len)) {
        if (replace_invalid(text, len, &fixed)) {
            llmc_error(d, NULL, "out of memory");
            return -1;
        }
        text = fixed.p;
        len = fixed.n;
    }
    int rc = c->has_raw_added ? split_added(c, &c->trie_raw, text, len, on_raw_piece, &e)
                              : (len ? on_raw_piece(&e, text, 0, len, -1) : 0);
    tok_buf_free(&fixed);
    if (rc) llmc_error(d, NULL, "out of memory while pre-tokenizing (or a Split regex exceeded its step budget)");
    return rc;
}
