/* SentencePiece model loading, encoding and decoding (see tok_spm_model.h). */
#include "tok_spm_model.h"

#include <stdlib.h>
#include <string.h>

#include "tok_charsmap.h"
#include "tok_spm_bpe.h"
#include "tok_trie.h"
#include "tok_unigram.h"
#include "util.h"

struct llmc_spm_tokenizer {
    llmc_spm_proto m;
    llmc_trie normal;        /* NORMAL, USER_DEFINED, UNUSED pieces -> id */
    llmc_trie reserved;      /* CONTROL, UNKNOWN, BYTE pieces -> id */
    llmc_trie user_defined;  /* USER_DEFINED pieces (kept whole by the normalizer and the splits) */
    bool has_user_defined;
    int32_t unk_id;
    int32_t byte_id[256];
    llmc_charsmap *charsmap, *denorm_charsmap;
    llmc_spm_normalizer *normalizer, *denormalizer;
    llmc_unigram *unigram;
    llmc_spm_bpe *bpe;
};

struct llmc_spm_work {
    llmc_tok_bytes normalized;
    llmc_unigram_work unigram;
    llmc_spm_bpe_work bpe;
};

llmc_spm_work *llmc_spm_work_create(void) { return calloc(1, sizeof(llmc_spm_work)); }

void llmc_spm_work_free(llmc_spm_work *w) {
    if (!w) return;
    llmc_tok_bytes_free(&w->normalized);
    llmc_unigram_work_free(&w->unigram);
    llmc_spm_bpe_work_free(&w->bpe);
    free(w);
}

void llmc_spm_tokenizer_free(llmc_spm_tokenizer *t) {
    if (!t) return;
    llmc_trie_free(&t->normal);
    llmc_trie_free(&t->reserved);
    llmc_trie_free(&t->user_defined);
    llmc_spm_normalizer_free(t->normalizer);
    llmc_spm_normalizer_free(t->denormalizer);
    llmc_charsmap_free(t->charsmap);
    llmc_charsmap_free(t->denorm_charsmap);
    llmc_unigram_free(t->unigram);
    llmc_spm_bpe_free(t->bpe);
    llmc_spm_proto_free(&t->m);
    free(t);
}

static llmc_unigram_kind kind_of(int32_t type) {
    switch (type) {
    case LLMC_SPM_NORMAL: return LLMC_UNIGRAM_NORMAL;
    case LLMC_SPM_USER_DEFINED: return LLMC_UNIGRAM_USER_DEFINED;
    case LLMC_SPM_UNUSED: return LLMC_UNIGRAM_UNUSED;
    default: return LLMC_UNIGRAM_RESERVED;
    }
}

/* build a trie over the pieces whose type passes keep() */
static bool build_trie(llmc_trie *t, const llmc_spm_proto *m, bool (*keep)(int32_t)) {
    size_t n = m->n_pieces, k = 0;
    const char **keys = malloc(n * sizeof *keys);
    size_t *lens = malloc(n * sizeof *lens);
    int32_t *vals = malloc(n * sizeof *vals);
    bool ok = keys && lens && vals;
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            if (!keep(m->pieces[i].type)) continue;
            keys[k] = m->pieces[i].piece.data;
            lens[k] = m->pieces[i].piece.len;
            vals[k] = (int32_t)i;
            k++;
        }
        ok = llmc_trie_build(t, keys, lens, vals, k);
    }
    free(keys);
    free(lens);
    free(vals);
    return ok;
}

static bool is_normal(int32_t type) { return kind_of(type) != LLMC_UNIGRAM_RESERVED; }
static bool is_reserved(int32_t type) { return kind_of(type) == LLMC_UNIGRAM_RESERVED; }
static bool is_user_defined(int32_t type) { return type == LLMC_SPM_USER_DEFINED; }

int32_t llmc_spm_tokenizer_piece_to_id(const llmc_spm_tokenizer *t, const char *piece, size_t len) {
    int32_t id = llmc_trie_find(&t->reserved, piece, len);
    if (id < 0) id = llmc_trie_find(&t->normal, piece, len);
    return id < 0 ? t->unk_id : id;
}

static llmc_spm_normalizer *make_normalizer(const llmc_spm_normalizer_spec *ns, bool suffix, llmc_charsmap **cm,
                                            const llmc_trie *user_defined, const char *name, const char *key,
                                            llmc_diags *d) {
    llmc_spm_normalizer_params p = llmc_spm_normalizer_default_params();
    p.add_dummy_prefix = ns->add_dummy_prefix;
    p.remove_extra_whitespaces = ns->remove_extra_whitespaces;
    p.escape_whitespaces = ns->escape_whitespaces;
    p.treat_whitespace_as_suffix = suffix;
    p.user_defined = user_defined;
    if (ns->precompiled_charsmap.len) {
        *cm = llmc_charsmap_create(ns->precompiled_charsmap.data, ns->precompiled_charsmap.len, name, key, d);
        if (!*cm) return NULL;
        p.charsmap = *cm;
    } else if (ns->name.len && strcmp(ns->name.data, "identity") != 0 && ns->normalization_rule_tsv.len == 0) {
        /* sentencepiece compiles named rules into the charsmap when it trains; a name without one
         * behaves as identity there too, so say so rather than refuse */
        llmc_diag_add(d, LLMC_SEV_WARNING, (llmc_loc){name, 0, 0}, key,
                      "normalizer '%s' has no precompiled_charsmap: text is not normalized (as in sentencepiece)",
                      ns->name.data);
    }
    llmc_spm_normalizer *nm = llmc_spm_normalizer_create(&p);
    if (!nm) llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){name, 0, 0}, key, "out of memory");
    return nm;
}

llmc_spm_tokenizer *llmc_spm_tokenizer_create(llmc_spm_proto *m, const char *name, llmc_diags *d) {
    llmc_loc loc = {name, 0, 0};
    if (!llmc_spm_proto_check(m, name, d)) return NULL;
    llmc_spm_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "out of memory");
        return NULL;
    }
    t->m = *m;
    llmc_spm_proto_init(m); /* moved */
    const llmc_spm_proto *p = &t->m;
    const llmc_spm_trainer_spec *ts = &p->trainer_spec;
    size_t n = p->n_pieces;
    llmc_unigram_piece *pieces = malloc(n * sizeof *pieces);
    if (!pieces || !build_trie(&t->normal, p, is_normal) || !build_trie(&t->reserved, p, is_reserved) ||
        !build_trie(&t->user_defined, p, is_user_defined)) {
        free(pieces);
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "out of memory");
        llmc_spm_tokenizer_free(t);
        return NULL;
    }
    t->unk_id = -1;
    for (size_t i = 0; i < n; i++) {
        pieces[i] = (llmc_unigram_piece){p->pieces[i].piece.data, p->pieces[i].piece.len, p->pieces[i].score,
                                         kind_of(p->pieces[i].type)};
        if (p->pieces[i].type == LLMC_SPM_UNKNOWN) t->unk_id = (int32_t)i;
        if (p->pieces[i].type == LLMC_SPM_USER_DEFINED) t->has_user_defined = true;
    }
    for (int b = 0; b < 256; b++) {
        char piece[7];
        snprintf(piece, sizeof piece, "<0x%02X>", b);
        t->byte_id[b] = llmc_spm_tokenizer_piece_to_id(t, piece, 6);
    }
    const llmc_trie *ud = t->has_user_defined ? &t->user_defined : NULL;
    t->normalizer = make_normalizer(&p->normalizer_spec, ts->treat_whitespace_as_suffix, &t->charsmap, ud, name,
                                    "normalizer_spec", d);
    bool ok = t->normalizer != NULL;
    if (ok && (p->has & LLMC_SPM_HAS_DENORMALIZER_SPEC) && p->denormalizer_spec.precompiled_charsmap.len) {
        t->denormalizer = make_normalizer(&p->denormalizer_spec, false, &t->denorm_charsmap, NULL, name,
                                          "denormalizer_spec", d);
        ok = t->denormalizer != NULL;
    }
    if (ok && ts->model_type == LLMC_SPM_MODEL_UNIGRAM) {
        llmc_unigram_params up = llmc_unigram_default_params();
        up.flavor = LLMC_UNIGRAM_SPM;
        up.unk_id = t->unk_id;
        up.byte_fallback = ts->byte_fallback;
        t->unigram = llmc_unigram_create(pieces, n, &up, name, d);
        ok = t->unigram != NULL;
    } else if (ok && ts->model_type == LLMC_SPM_MODEL_BPE) {
        t->bpe = llmc_spm_bpe_create(pieces, n, t->unk_id, ts->byte_fallback, ud, name, d);
        ok = t->bpe != NULL;
    }
    free(pieces);
    if (!ok) {
        llmc_spm_tokenizer_free(t);
        return NULL;
    }
    return t;
}

llmc_spm_tokenizer *llmc_spm_tokenizer_load(const char *path, llmc_diags *d) {
    llmc_spm_proto m;
    if (!llmc_spm_proto_read_file(&m, path, d)) return NULL;
    llmc_spm_tokenizer *t = llmc_spm_tokenizer_create(&m, path, d);
    llmc_spm_proto_free(&m);
    return t;
}

const llmc_spm_proto *llmc_spm_tokenizer_proto(const llmc_spm_tokenizer *t) { return &t->m; }
size_t llmc_spm_tokenizer_size(const llmc_spm_tokenizer *t) { return t->m.n_pieces; }

/* ---- encoding ---------------------------------------------------------------------------------- */

/* the processor's treatment of unknown pieces: bytes with byte fallback, else runs fused into one */
static bool emit(const llmc_spm_tokenizer *t, int32_t id, const unsigned char *piece, size_t len, bool *prev_unk,
                 llmc_tok_ids *out) {
    bool unk = id == t->unk_id, ok = true;
    if (unk && t->m.trainer_spec.byte_fallback) {
        for (size_t i = 0; i < len && ok; i++) ok = llmc_tokbuf_ids_put(out, t->byte_id[piece[i]]);
    } else if (!(unk && *prev_unk)) {
        ok = llmc_tokbuf_ids_put(out, id);
    }
    *prev_unk = unk;
    return ok;
}

static bool is_space_symbol(const unsigned char *s, size_t n) {
    return n == 3 && s[0] == 0xE2 && s[1] == 0x96 && s[2] == 0x81;
}

/* WORD model: SplitIntoWords (each word starts at a U+2581), each word one piece */
static bool encode_words(const llmc_spm_tokenizer *t, const unsigned char *s, size_t n, llmc_tok_ids *out) {
    bool prev_unk = false;
    size_t begin = 0;
    for (size_t at = 0; at < n;) {
        size_t len = llmc_utf8_lead_len(s[at]);
        if (len > n - at) len = n - at;
        if (at > 0 && is_space_symbol(s + at, len)) {
            if (!emit(t, llmc_spm_tokenizer_piece_to_id(t, (const char *)s + begin, at - begin), s + begin, at - begin,
                      &prev_unk, out))
                return false;
            begin = at;
        }
        at += len;
    }
    return emit(t, llmc_spm_tokenizer_piece_to_id(t, (const char *)s + begin, n - begin), s + begin, n - begin,
                &prev_unk, out);
}

/* CHAR model: one piece per character (or user-defined piece) */
static bool encode_chars(const llmc_spm_tokenizer *t, const unsigned char *s, size_t n, llmc_tok_ids *out) {
    bool prev_unk = false;
    for (size_t at = 0; at < n;) {
        size_t len = 0;
        if (t->has_user_defined) {
            int32_t st = 0;
            for (size_t k = at; k < n; k++) {
                st = llmc_trie_next(&t->user_defined, st, s[k]);
                if (st < 0) break;
                if (llmc_trie_value(&t->user_defined, st) >= 0) len = k + 1 - at;
            }
        }
        if (!len) {
            len = llmc_utf8_lead_len(s[at]);
            if (len > n - at) len = n - at;
        }
        if (!emit(t, llmc_spm_tokenizer_piece_to_id(t, (const char *)s + at, len), s + at, len, &prev_unk, out))
            return false;
        at += len;
    }
    return true;
}

bool llmc_spm_tokenizer_normalize(const llmc_spm_tokenizer *t, llmc_spm_work *w, const char *text, size_t n,
                                  llmc_tok_bytes *out) {
    (void)w;
    return llmc_spm_normalize(t->normalizer, text, n, out);
}

bool llmc_spm_tokenizer_encode(const llmc_spm_tokenizer *t, llmc_spm_work *w, const char *text, size_t n,
                               llmc_tok_ids *out) {
    if (!llmc_spm_normalize(t->normalizer, text, n, &w->normalized)) return false;
    const char *s = w->normalized.p;
    size_t len = w->normalized.n;
    if (len == 0) return true;
    if (t->unigram) return llmc_unigram_encode(t->unigram, &w->unigram, s, len, out) == 0;
    if (t->bpe) return llmc_spm_bpe_encode(t->bpe, &w->bpe, s, len, out);
    if (t->m.trainer_spec.model_type == LLMC_SPM_MODEL_WORD) return encode_words(t, (const unsigned char *)s, len, out);
    return encode_chars(t, (const unsigned char *)s, len, out);
}

/* ---- decoding ---------------------------------------------------------------------------------- */

static const char kSpace[] = "\xe2\x96\x81";

/* bytes of consecutive byte pieces: valid UTF-8 characters as they are, each bad byte as U+FFFD */
static bool flush_bytes(llmc_tok_bytes *bytes, llmc_tok_bytes *out) {
    for (size_t i = 0; i < bytes->n;) {
        uint32_t cp;
        size_t l = llmc_tokbuf_utf8_decode((const unsigned char *)bytes->p + i, bytes->n - i, &cp);
        bool ok = l ? llmc_tok_bytes_append(out, bytes->p + i, l) : llmc_tok_bytes_append(out, "\xEF\xBF\xBD", 3);
        if (!ok) return false;
        i += l ? l : 1;
    }
    bytes->n = 0;
    return true;
}

bool llmc_spm_tokenizer_decode(const llmc_spm_tokenizer *t, const uint32_t *ids, size_t n, llmc_tok_bytes *out,
                               llmc_diags *d) {
    out->n = 0;
    const llmc_spm_proto *m = &t->m;
    const llmc_spm_normalizer_spec *ns = &m->normalizer_spec;
    llmc_tok_bytes bytes = {0};
    bool is_bos_ws = true, bos_ws_seen = false, ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (ids[i] >= m->n_pieces) {
            llmc_error(d, NULL, "token id %u at position %zu is not in the vocabulary (0 to %zu)", ids[i], i,
                       m->n_pieces - 1);
            ok = false;
            break;
        }
        const llmc_spm_piece *pc = &m->pieces[ids[i]];
        if (pc->type == LLMC_SPM_BYTE) {
            ok = llmc_tok_bytes_append(&bytes, (char[]){(char)llmc_spm_piece_to_byte(pc->piece.data, pc->piece.len)}, 1);
            continue;
        }
        ok = flush_bytes(&bytes, out);
        if (bos_ws_seen || out->n) is_bos_ws = false;
        /* sentencepiece decodes the piece string again through PieceToId */
        int32_t id = llmc_spm_tokenizer_piece_to_id(t, pc->piece.data, pc->piece.len);
        int32_t type = m->pieces[id].type;
        bos_ws_seen = false;
        if (type == LLMC_SPM_CONTROL) continue;
        if (type == LLMC_SPM_UNKNOWN) {
            if ((uint32_t)id == ids[i] || strcmp(m->pieces[id].piece.data, pc->piece.data) == 0)
                ok = llmc_tok_bytes_append(out, m->trainer_spec.unk_surface.data, m->trainer_spec.unk_surface.len);
            else
                ok = llmc_tok_bytes_append(out, pc->piece.data, pc->piece.len);
            continue;
        }
        const char *s = pc->piece.data;
        size_t len = pc->piece.len;
        if (is_bos_ws && (ns->add_dummy_prefix || ns->remove_extra_whitespaces) && len >= 3 &&
            memcmp(s, kSpace, 3) == 0) {
            s += 3;
            len -= 3;
            bos_ws_seen = !ns->remove_extra_whitespaces; /* with that option every leading space goes */
        }
        for (size_t k = 0; k < len && ok;) {
            if (len - k >= 3 && memcmp(s + k, kSpace, 3) == 0) {
                ok = llmc_tok_bytes_append(out, " ", 1);
                k += 3;
            } else {
                ok = llmc_tok_bytes_append(out, s + k, 1);
                k++;
            }
        }
    }
    if (ok) ok = flush_bytes(&bytes, out);
    llmc_tok_bytes_free(&bytes);
    if (!ok) {
        if (llmc_diags_errors(d) == 0) llmc_error(d, NULL, "out of memory while decoding");
        return false;
    }
    if (t->denormalizer) {
        llmc_tok_bytes den = {0};
        ok = llmc_spm_normalize(t->denormalizer, out->p, out->n, &den);
        if (ok) {
            free(out->p);
            *out = den;
        } else {
            llmc_tok_bytes_free(&den);
            llmc_error(d, NULL, "out of memory while decoding");
        }
    }
    return ok;
}
