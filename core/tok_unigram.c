/* Unigram encoder (see tok_unigram.h).
 *
 * Viterbi over byte positions: best[j] is the best-scoring segmentation of s[0..j), kept as
 * (score, start of its last piece, that piece's id). From every character boundary i the trie
 * yields each piece that starts at i, which proposes best[i] + score to best[i + len]; a strictly
 * better score replaces, so among equal scores the earliest proposal stays (as both reference
 * implementations do). */
#include "tok_unigram.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok_model.h"
#include "tok_spm.h"

/* sentencepiece and HF both score an unknown character 10 below the least likely piece */
#define UNK_PENALTY 10.0

struct llmc_unigram {
    llmc_unigram_params p;
    llmc_trie trie;       /* pieces matched in text -> id */
    double *score;        /* by id */
    uint8_t *kind;        /* by id */
    int32_t n;
    double unk_score;
    float max_score;      /* SPM: scale of the user-defined bonus */
    int32_t byte_id[256]; /* id of <0xXX>, -1 when missing */
    bool all_bytes;       /* every byte has its piece */
    llmc_trie all;        /* HF: every piece -> its (last) id, for the fused-unknown lookup */
};

llmc_unigram_params llmc_unigram_default_params(void) {
    return (llmc_unigram_params){LLMC_UNIGRAM_SPM, 0, false};
}

void llmc_unigram_free(llmc_unigram *u) {
    if (!u) return;
    llmc_trie_free(&u->trie);
    llmc_trie_free(&u->all);
    free(u->score);
    free(u->kind);
    free(u);
}

llmc_unigram *llmc_unigram_create(const llmc_unigram_piece *pieces, size_t n, const llmc_unigram_params *p,
                                  const char *name, llmc_diags *d) {
    llmc_loc loc = {name, 0, 0};
    if (n == 0 || n > INT32_MAX) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "vocab", "a Unigram model needs between 1 and 2^31-1 pieces (got %zu)", n);
        return NULL;
    }
    if ((p->unk_id < 0 && p->flavor != LLMC_UNIGRAM_HF) || (p->unk_id >= 0 && (size_t)p->unk_id >= n)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "unk_id", "unk_id %d is not a piece id (the vocabulary has %zu pieces)",
                      p->unk_id, n);
        return NULL;
    }
    llmc_unigram *u = calloc(1, sizeof *u);
    const char **keys = malloc(n * sizeof *keys);
    size_t *lens = malloc(n * sizeof *lens);
    int32_t *vals = malloc(n * sizeof *vals);
    if (!u || !keys || !lens || !vals) goto oom;
    u->p = *p;
    u->n = (int32_t)n;
    u->score = malloc(n * sizeof *u->score);
    u->kind = malloc(n);
    if (!u->score || !u->kind) goto oom;
    bool hf = p->flavor == LLMC_UNIGRAM_HF;
    double min_score = INFINITY;
    float min_f = FLT_MAX, max_f = FLT_MIN; /* sentencepiece starts max at FLT_MIN, the smallest positive float */
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        const llmc_unigram_piece *pc = &pieces[i];
        u->score[i] = hf ? pc->score : (double)(float)pc->score;
        u->kind[i] = (uint8_t)(hf ? LLMC_UNIGRAM_NORMAL : pc->kind);
        if (hf) {
            if (pc->score < min_score) min_score = pc->score;
        } else if (pc->kind == LLMC_UNIGRAM_NORMAL) {
            float s = (float)pc->score;
            if (s < min_f) min_f = s;
            if (s > max_f) max_f = s;
        }
        if (hf || pc->kind != LLMC_UNIGRAM_RESERVED) {
            keys[nk] = pc->piece;
            lens[nk] = pc->len;
            vals[nk] = (int32_t)i;
            nk++;
        }
    }
    u->max_score = max_f;
    u->unk_score = hf ? min_score - UNK_PENALTY : (double)(float)(min_f - (float)UNK_PENALTY);
    if (!llmc_trie_build(&u->trie, keys, lens, vals, nk)) goto oom;
    /* byte pieces: sentencepiece looks the reserved (BYTE) pieces up first; HF takes the last entry */
    for (int b = 0; b < 256; b++) u->byte_id[b] = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            int b = llmc_spm_piece_to_byte(pieces[i].piece, pieces[i].len);
            if (b < 0) continue;
            if (hf) {
                if (pass == 0) u->byte_id[b] = (int32_t)i;
            } else if ((pass == 0) == (pieces[i].kind == LLMC_UNIGRAM_RESERVED) && u->byte_id[b] < 0) {
                u->byte_id[b] = (int32_t)i;
            }
        }
    }
    u->all_bytes = true;
    for (int b = 0; b < 256; b++)
        if (u->byte_id[b] < 0) u->all_bytes = false;
    if (p->byte_fallback && !u->all_bytes && !hf) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "vocab", "byte fallback needs the 256 pieces <0x00>..<0xFF>");
        llmc_unigram_free(u);
        u = NULL;
        goto done;
    }
    if (hf) {
        for (size_t i = 0; i < n; i++) {
            keys[i] = pieces[i].piece;
            lens[i] = pieces[i].len;
            vals[i] = (int32_t)i;
        }
        if (!llmc_trie_build(&u->all, keys, lens, vals, n)) goto oom;
    }
done:
    free(keys);
    free(lens);
    free(vals);
    return u;
oom:
    llmc_diag_add(d, LLMC_SEV_ERROR, loc, "vocab", "out of memory building the Unigram model");
    llmc_unigram_free(u);
    u = NULL;
    goto done;
}

double llmc_unigram_unk_score(const llmc_unigram *u) { return u->unk_score; }
const llmc_trie *llmc_unigram_trie(const llmc_unigram *u) { return &u->trie; }

void llmc_unigram_work_free(llmc_unigram_work *w) {
    free(w->score);
    free(w->start);
    free(w->id);
    free(w->path);
    memset(w, 0, sizeof *w);
}

static bool work_reserve(llmc_unigram_work *w, size_t n) {
    if (n + 1 <= w->cap) return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < n + 1) cap *= 2;
    double *s = realloc(w->score, cap * sizeof *s);
    if (!s) return false;
    w->score = s;
    int32_t *st = realloc(w->start, cap * sizeof *st);
    if (!st) return false;
    w->start = st;
    int32_t *id = realloc(w->id, cap * sizeof *id);
    if (!id) return false;
    w->id = id;
    int32_t *path = realloc(w->path, 2 * cap * sizeof *path);
    if (!path) return false;
    w->path = path;
    w->cap = cap;
    w->path_cap = 2 * cap;
    return true;
}

static inline void propose(llmc_unigram_work *w, size_t end, double cand, double stored, int32_t start, int32_t id) {
    if (w->start[end] == -1 || cand > w->score[end]) {
        w->score[end] = stored;
        w->start[end] = start;
        w->id[end] = id;
    }
}

/* Viterbi; leaves the best path in w->path as (start, id) pairs from the end backwards and
 * returns the number of pairs. */
static size_t viterbi(const llmc_unigram *u, llmc_unigram_work *w, const unsigned char *s, size_t n) {
    const bool hf = u->p.flavor == LLMC_UNIGRAM_HF;
    for (size_t i = 0; i <= n; i++) w->start[i] = -1;
    w->score[0] = 0.0;
    const llmc_trie_unit *units = u->trie.units;
    const uint32_t tsize = u->trie.size;
    size_t at = 0;
    while (at < n) {
        const double till = w->score[at];
        size_t mblen = llmc_utf8_lead_len(s[at]);
        if (mblen > n - at) mblen = n - at;
        bool has_single = false;
        int32_t st = 0;
        for (size_t k = at; k < n; k++) {
            uint32_t nx = (uint32_t)units[st].base + s[k];
            if (nx >= tsize || units[nx].check != st) break;
            st = (int32_t)nx;
            int32_t id = units[st].value;
            if (id < 0) continue;
            size_t end = k + 1, length = end - at;
            if (hf) {
                double cand = u->score[id] + till;
                propose(w, end, cand, cand, (int32_t)at, id);
            } else {
                uint8_t kind = u->kind[id];
                if (kind == LLMC_UNIGRAM_UNUSED) continue;
                /* sentencepiece: the piece's score is a double there (the user-defined bonus,
                 * length * max_score - 0.1, makes the conditional expression double), so the
                 * candidate is compared as a double and stored as a float */
                double score = kind == LLMC_UNIGRAM_USER_DEFINED ? (double)((float)length * u->max_score) - 0.1
                                                                 : u->score[id];
                double cand = score + till;
                propose(w, end, cand, (double)(float)cand, (int32_t)at, id);
            }
            if (length == mblen) has_single = true;
        }
        if (!has_single) {
            double cand = hf ? u->unk_score + till : (double)(float)(u->unk_score + till);
            propose(w, at + mblen, cand, cand, (int32_t)at, u->p.unk_id);
        }
        at += mblen;
    }
    size_t np = 0;
    for (size_t end = n; end > 0;) {
        int32_t start = w->start[end];
        w->path[2 * np] = start;
        w->path[2 * np + 1] = w->id[end];
        np++;
        end = (size_t)start;
    }
    return np;
}

static bool push_bytes(const llmc_unigram *u, const unsigned char *s, size_t n, llmc_tok_ids *out) {
    if (!llmc_tokbuf_ids_need(out, n)) return false;
    for (size_t i = 0; i < n; i++) out->ids[out->n++] = u->byte_id[s[i]];
    return true;
}

/* HF falls back to bytes only when every byte of the string has its piece */
static bool has_byte_pieces(const llmc_unigram *u, const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (u->byte_id[s[i]] < 0) return false;
    return true;
}

int llmc_unigram_encode(const llmc_unigram *u, llmc_unigram_work *w, const char *text, size_t n, llmc_tok_ids *out) {
    if (n == 0) return 0;
    if (n >= INT32_MAX || !work_reserve(w, n)) return -1;
    const unsigned char *s = (const unsigned char *)text;
    size_t np = viterbi(u, w, s, n);
    if (!llmc_tokbuf_ids_need(out, np)) return -1;
    const int32_t unk = u->p.unk_id;
    if (unk < 0)
        for (size_t k = 0; k < np; k++)
            if (w->path[2 * k + 1] < 0) return -2; /* an unknown character and no unknown piece */
    if (u->p.flavor == LLMC_UNIGRAM_SPM) {
        bool prev_unk = false;
        for (size_t k = np; k-- > 0;) {
            int32_t start = w->path[2 * k], id = w->path[2 * k + 1];
            size_t end = k > 0 ? (size_t)w->path[2 * (k - 1)] : n;
            if (id == unk) {
                if (u->p.byte_fallback) {
                    if (!push_bytes(u, s + start, end - (size_t)start, out)) return -1;
                } else if (!prev_unk) {
                    if (!llmc_tokbuf_ids_put(out, unk)) return -1;
                }
                prev_unk = true;
            } else {
                if (!llmc_tokbuf_ids_put(out, id)) return -1;
                prev_unk = false;
            }
        }
        return 0;
    }
    /* HF: fuse runs of unknown pieces into one string, then map it */
    for (size_t k = np; k-- > 0;) {
        int32_t start = w->path[2 * k], id = w->path[2 * k + 1];
        size_t end = k > 0 ? (size_t)w->path[2 * (k - 1)] : n;
        if (id != unk) {
            if (!llmc_tokbuf_ids_put(out, id)) return -1;
            continue;
        }
        while (k > 0 && w->path[2 * (k - 1) + 1] == unk) {
            k--;
            end = k > 0 ? (size_t)w->path[2 * (k - 1)] : n;
        }
        int32_t known = llmc_trie_find(&u->all, text + start, end - (size_t)start);
        if (known >= 0) {
            if (!llmc_tokbuf_ids_put(out, known)) return -1;
        } else if (u->p.byte_fallback && has_byte_pieces(u, s + start, end - (size_t)start)) {
            if (!push_bytes(u, s + start, end - (size_t)start, out)) return -1;
        } else if (!llmc_tokbuf_ids_put(out, unk)) {
            return -1;
        }
    }
    return 0;
}

/* ---- the core's Unigram model ------------------------------------------------------------------ */

struct llmc_tok_unigram {
    llmc_unigram *u;
};

static pthread_key_t work_key;
static pthread_once_t work_once = PTHREAD_ONCE_INIT;
static bool work_key_ok;

static void work_destroy(void *p) {
    llmc_unigram_work_free(p);
    free(p);
}

static void work_key_create(void) { work_key_ok = pthread_key_create(&work_key, work_destroy) == 0; }

static llmc_unigram_work *thread_work(void) {
    pthread_once(&work_once, work_key_create);
    if (!work_key_ok) return NULL;
    llmc_unigram_work *w = pthread_getspecific(work_key);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (w && pthread_setspecific(work_key, w) != 0) {
            free(w);
            w = NULL;
        }
    }
    return w;
}

llmc_tok_unigram *llmc_tok_unigram_create(const llmc_tok_piece *pieces, size_t n, int64_t unk_id, bool byte_fallback,
                                          llmc_diags *d) {
    if (unk_id < -1 || unk_id >= (int64_t)n || unk_id > INT32_MAX) {
        llmc_error(d, "model.unk_id", "unk_id %lld is not a piece id (the vocabulary has %zu pieces)",
                   (long long)unk_id, n);
        return NULL;
    }
    llmc_unigram_piece *ps = malloc((n ? n : 1) * sizeof *ps);
    llmc_tok_unigram *t = calloc(1, sizeof *t);
    if (!ps || !t) {
        free(ps);
        free(t);
        llmc_error(d, "model.vocab", "out of memory building the Unigram model");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) ps[i] = (llmc_unigram_piece){pieces[i].text, pieces[i].len, pieces[i].score,
                                                                LLMC_UNIGRAM_NORMAL};
    llmc_unigram_params p = llmc_unigram_default_params();
    p.flavor = LLMC_UNIGRAM_HF;
    p.unk_id = (int32_t)unk_id;
    p.byte_fallback = byte_fallback;
    t->u = llmc_unigram_create(ps, n, &p, NULL, d);
    free(ps);
    if (!t->u) {
        free(t);
        return NULL;
    }
    return t;
}

void llmc_tok_unigram_free(llmc_tok_unigram *t) {
    if (!t) return;
    llmc_unigram_free(t->u);
    free(t);
}

int llmc_tok_unigram_encode(const llmc_tok_unigram *t, const char *text, size_t len, llmc_tok_ids *out) {
    llmc_unigram_work *w = thread_work();
    if (!w) return -1;
    return llmc_unigram_encode(t->u, w, text, len, out);
}
