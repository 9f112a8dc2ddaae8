/* SentencePiece BPE encoder (see tok_spm_bpe.h). Symbols form a doubly linked list over the
 * text; candidate merges wait in a max-heap on (score, -left). A heap entry goes stale when one
 * of its symbols changes; symbols only grow or vanish, so an entry is current exactly when both
 * symbols are alive and their lengths still add up to the entry's length. */
#include "tok_spm_bpe.h"

#include <stdlib.h>
#include <string.h>

#include "tok_spm.h"

struct bpe_symbol {
    int32_t prev, next; /* -1 at the ends */
    uint32_t start, len; /* len 0: merged away */
    bool freeze;
};

struct bpe_pair {
    float score;
    int32_t left, right;
    uint32_t len;
};

struct llmc_spm_bpe {
    llmc_trie pieces;   /* NORMAL, USER_DEFINED and UNUSED pieces -> id */
    llmc_trie reserved; /* CONTROL, UNKNOWN and BYTE pieces -> id (looked up first, as PieceToId does) */
    float *score;
    uint8_t *kind;
    int32_t unk_id;
    bool byte_fallback;
    int32_t byte_id[256];
    const llmc_trie *user_defined;
};

void llmc_spm_bpe_free(llmc_spm_bpe *b) {
    if (!b) return;
    llmc_trie_free(&b->pieces);
    llmc_trie_free(&b->reserved);
    free(b->score);
    free(b->kind);
    free(b);
}

llmc_spm_bpe *llmc_spm_bpe_create(const llmc_unigram_piece *pieces, size_t n, int32_t unk_id, bool byte_fallback,
                                  const llmc_trie *user_defined, const char *name, llmc_diags *d) {
    llmc_loc loc = {name, 0, 0};
    if (n == 0 || n > INT32_MAX || unk_id < 0 || (size_t)unk_id >= n) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "a BPE model needs pieces and an unknown piece among them");
        return NULL;
    }
    llmc_spm_bpe *b = calloc(1, sizeof *b);
    const char **keys = malloc(n * sizeof *keys);
    size_t *lens = malloc(n * sizeof *lens);
    int32_t *vals = malloc(n * sizeof *vals);
    if (!b || !keys || !lens || !vals) goto oom;
    b->score = malloc(n * sizeof *b->score);
    b->kind = malloc(n);
    if (!b->score || !b->kind) goto oom;
    b->unk_id = unk_id;
    b->byte_fallback = byte_fallback;
    b->user_defined = user_defined;
    for (int pass = 0; pass < 2; pass++) {
        size_t nk = 0;
        for (size_t i = 0; i < n; i++) {
            bool reserved = pieces[i].kind == LLMC_UNIGRAM_RESERVED;
            if (reserved != (pass == 1)) continue;
            keys[nk] = pieces[i].piece;
            lens[nk] = pieces[i].len;
            vals[nk] = (int32_t)i;
            nk++;
        }
        if (!llmc_trie_build(pass == 0 ? &b->pieces : &b->reserved, keys, lens, vals, nk)) goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        b->score[i] = (float)pieces[i].score;
        b->kind[i] = (uint8_t)pieces[i].kind;
    }
    for (int v = 0; v < 256; v++) {
        char piece[8];
        static const char hex[] = "0123456789ABCDEF";
        memcpy(piece, "<0x", 3);
        piece[3] = hex[v >> 4];
        piece[4] = hex[v & 15];
        piece[5] = '>';
        int32_t id = llmc_trie_find(&b->reserved, piece, 6);
        if (id < 0) id = llmc_trie_find(&b->pieces, piece, 6);
        b->byte_id[v] = id < 0 ? unk_id : id;
    }
    free(keys);
    free(lens);
    free(vals);
    return b;
oom:
    free(keys);
    free(lens);
    free(vals);
    llmc_spm_bpe_free(b);
    llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "out of memory building the BPE model");
    return NULL;
}

void llmc_spm_bpe_work_free(llmc_spm_bpe_work *w) {
    free(w->sym);
    free(w->heap);
    free(w->rev_key);
    free(w->rev_left);
    free(w->stack);
    memset(w, 0, sizeof *w);
}

/* ---- the merge heap ---------------------------------------------------------------------------- */

static inline bool pair_less(const struct bpe_pair *a, const struct bpe_pair *b) {
    return a->score < b->score || (a->score == b->score && a->left > b->left);
}

static bool heap_push(llmc_spm_bpe_work *w, struct bpe_pair p) {
    if (w->heap_n == w->heap_cap) {
        size_t cap = w->heap_cap ? 2 * w->heap_cap : 256;
        struct bpe_pair *g = realloc(w->heap, cap * sizeof *g);
        if (!g) return false;
        w->heap = g;
        w->heap_cap = cap;
    }
    size_t i = w->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_less(&w->heap[parent], &p)) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = p;
    return true;
}

static struct bpe_pair heap_pop(llmc_spm_bpe_work *w) {
    struct bpe_pair top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_less(&w->heap[c], &w->heap[c + 1])) c++;
        if (!pair_less(&last, &w->heap[c])) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* ---- UNUSED-piece resegmentation map (id -> left length), open addressing ------------------------- */

static bool rev_put(llmc_spm_bpe_work *w, size_t nsym, int32_t id, int32_t left_len) {
    if (!w->rev_cap) {
        size_t cap = 64;
        while (cap < 2 * nsym) cap *= 2;
        w->rev_key = malloc(cap * sizeof *w->rev_key);
        w->rev_left = malloc(cap * sizeof *w->rev_left);
        if (!w->rev_key || !w->rev_left) return false;
        w->rev_cap = cap;
        for (size_t i = 0; i < cap; i++) w->rev_key[i] = -1;
    }
    size_t mask = w->rev_cap - 1, h = ((uint32_t)id * 2654435761u) & mask;
    while (w->rev_key[h] >= 0 && w->rev_key[h] != id) h = (h + 1) & mask;
    w->rev_key[h] = id;
    w->rev_left[h] = left_len; /* the last merge that formed this piece decides, as in sentencepiece */
    return true;
}

static int32_t rev_get(const llmc_spm_bpe_work *w, int32_t id) {
    if (!w->rev_cap) return -1;
    size_t mask = w->rev_cap - 1, h = ((uint32_t)id * 2654435761u) & mask;
    while (w->rev_key[h] >= 0) {
        if (w->rev_key[h] == id) return w->rev_left[h];
        h = (h + 1) & mask;
    }
    return -1;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

/* the id sentencepiece's PieceToId gives: reserved pieces first, then the others, else <unk> */
static int32_t piece_to_id(const llmc_spm_bpe *b, const char *s, size_t n) {
    int32_t id = llmc_trie_find(&b->reserved, s, n);
    if (id < 0) id = llmc_trie_find(&b->pieces, s, n);
    return id < 0 ? b->unk_id : id;
}

static bool maybe_add_pair(const llmc_spm_bpe *b, llmc_spm_bpe_work *w, const char *s, size_t nsym, int32_t left,
                           int32_t right) {
    if (left < 0 || right < 0) return true;
    const struct bpe_symbol *l = &w->sym[left], *r = &w->sym[right];
    if (l->freeze || r->freeze) return true;
    uint32_t len = l->len + r->len;
    int32_t id = llmc_trie_find(&b->pieces, s + l->start, len);
    if (id < 0) return true;
    if (!heap_push(w, (struct bpe_pair){b->score[id], left, right, len})) return false;
    if (b->kind[id] == LLMC_UNIGRAM_UNUSED && !rev_put(w, nsym, id, (int32_t)l->len)) return false;
    return true;
}

static bool emit(const llmc_spm_bpe *b, int32_t id, const unsigned char *piece, size_t len, bool *prev_unk,
                 llmc_tok_ids *out) {
    bool unk = id == b->unk_id;
    bool ok = true;
    if (unk && b->byte_fallback) {
        for (size_t i = 0; i < len && ok; i++) ok = llmc_tokbuf_ids_put(out, b->byte_id[piece[i]]);
    } else if (!(unk && *prev_unk)) {
        ok = llmc_tokbuf_ids_put(out, id);
    }
    *prev_unk = unk;
    return ok;
}

bool llmc_spm_bpe_encode(const llmc_spm_bpe *b, llmc_spm_bpe_work *w, const char *text, size_t n, llmc_tok_ids *out) {
    if (n == 0) return true;
    if (n >= INT32_MAX) return false;
    if (n > w->sym_cap) {
        struct bpe_symbol *g = realloc(w->sym, n * sizeof *g);
        if (!g) return false;
        w->sym = g;
        w->sym_cap = n;
    }
    const unsigned char *s = (const unsigned char *)text;
    size_t nsym = 0;
    for (size_t at = 0; at < n;) {
        size_t len = 0;
        bool freeze = false;
        if (b->user_defined) {
            int32_t st = 0;
            for (size_t k = at; k < n; k++) {
                st = llmc_trie_next(b->user_defined, st, s[k]);
                if (st < 0) break;
                if (llmc_trie_value(b->user_defined, st) >= 0) len = k + 1 - at;
            }
            freeze = len > 0;
        }
        if (!len) {
            len = llmc_utf8_lead_len(s[at]);
            if (len > n - at) len = n - at;
        }
        w->sym[nsym] = (struct bpe_symbol){(int32_t)nsym - 1, at + len < n ? (int32_t)nsym + 1 : -1, (uint32_t)at,
                                           (uint32_t)len, freeze};
        nsym++;
        at += len;
    }
    w->heap_n = 0;
    if (w->rev_cap) {
        /* the map is sized for the text it was made for; drop it between calls */
        free(w->rev_key);
        free(w->rev_left);
        w->rev_key = w->rev_left = NULL;
        w->rev_cap = 0;
    }
    for (size_t i = 1; i < nsym; i++)
        if (!maybe_add_pair(b, w, text, nsym, (int32_t)i - 1, (int32_t)i)) return false;
    while (w->heap_n) {
        struct bpe_pair top = heap_pop(w);
        struct bpe_symbol *l = &w->sym[top.left], *r = &w->sym[top.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != top.len) continue; /* stale */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = top.left;
        r->len = 0;
        if (!maybe_add_pair(b, w, text, nsym, l->prev, top.left)) return false;
        if (!maybe_add_pair(b, w, text, nsym, top.left, l->next)) return false;
    }
    bool prev_unk = false;
    for (int32_t i = 0; i >= 0; i = w->sym[i].next) {
        /* resegment UNUSED pieces into the pieces they were merged from, left first */
        size_t sp = 0;
        if (w->stack_cap < 2) {
            w->stack = realloc(w->stack, 64 * sizeof *w->stack);
            if (!w->stack) { w->stack_cap = 0; return false; }
            w->stack_cap = 64;
        }
        w->stack[sp++] = (int32_t)w->sym[i].start;
        w->stack[sp++] = (int32_t)w->sym[i].len;
        while (sp) {
            int32_t len = w->stack[--sp], start = w->stack[--sp];
            int32_t id = piece_to_id(b, text + start, (size_t)len);
            int32_t left = b->kind[id] == LLMC_UNIGRAM_UNUSED ? rev_get(w, id) : -1;
            if (left <= 0 || left >= len) {
                if (!emit(b, id, s + start, (size_t)len, &prev_unk, out)) return false;
                continue;
            }
            if (sp + 4 > w->stack_cap) {
                int32_t *g = realloc(w->stack, 2 * w->stack_cap * sizeof *g);
                if (!g) return false;
                w->stack = g;
                w->stack_cap *= 2;
            }
            /* right part below the left one, so the left one comes out first */
            w->stack[sp++] = start + left;
            w->stack[sp++] = len - left;
            w->stack[sp++] = start;
            w->stack[sp++] = left;
        }
    }
    return true;
}
