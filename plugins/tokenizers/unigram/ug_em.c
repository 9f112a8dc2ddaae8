/* EM over the word lattices, pruning, and the final vocabulary (see ug_train.h).
 *
 * A word's lattice holds, at every character, each piece that starts there (a walk of the
 * double-array trie over the word's bytes) and, where no one-character piece starts, an unknown
 * node scored min_score - 10. As in sentencepiece's trainer the unknown node carries id 0 (the
 * most frequent character), so the counts of characters outside the alphabet land there.
 * Lattice positions are byte offsets; nodes come out grouped by start, which is all the
 * forward pass, the backward pass and Viterbi need (a node's start is final before any node
 * starting there is visited).
 *
 * E-step: expected[id] += count x P(node) from forward-backward (log domain, double); the
 * objective is the average negative log likelihood. M-step: pieces expected fewer than 0.5 times
 * go; score = digamma(expected) - digamma(sum): the Bayesian (Dirichlet prior) update spm uses
 * instead of plain normalization, which shrinks rare pieces further.
 *
 * Pruning: for each piece, its best segmentation without itself (the alternatives); a piece whose
 * Viterbi segmentation is already split can go; a piece with no alternative (one character)
 * stays. The others are ranked by the loss of likelihood if their Viterbi frequency moved to the
 * alternatives, and the best shrinking_factor of the pieces (at least 1.1 x vocab_size) remain.
 * Work on words (E-step, Viterbi counts) and on pieces (alternatives) is split over --threads
 * threads, each with its own lattice and counts. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/output.h"
#include "tok_buf.h"
#include "tok_trie.h"
#include "ug_train.h"

#define UNK_PENALTY 10.0f
#define MIN_EXPECTED 0.5f        /* M-step: pieces expected less often are dropped */
#define REQUIRED_PENALTY 0.0001f /* finalize: spacing of the scores given to missing characters */

/* ---- the model of one round --------------------------------------------------------------------- */

typedef struct model {
    size_t n;
    uint32_t *sid;    /* seed index: text and length live in the seed list */
    float *score;
    llmc_trie trie;   /* piece bytes -> model index */
    float min_score;
    const ug_pieces *seed;
} model;

static void model_free(model *m) {
    free(m->sid);
    free(m->score);
    llmc_trie_free(&m->trie);
    m->sid = NULL;
    m->score = NULL;
    m->n = 0;
}

/* takes sid and score (malloc'd, n entries) */
static bool model_set(model *m, const ug_pieces *seed, uint32_t *sid, float *score, size_t n) {
    model_free(m);
    m->seed = seed;
    m->sid = sid;
    m->score = score;
    m->n = n;
    m->min_score = INFINITY;
    for (size_t i = 0; i < n; i++)
        if (score[i] < m->min_score) m->min_score = score[i];
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    int32_t *vals = malloc((n ? n : 1) * sizeof *vals);
    bool ok = keys && lens && vals;
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            keys[i] = seed->text[sid[i]];
            lens[i] = seed->len[sid[i]];
            vals[i] = (int32_t)i;
        }
        ok = llmc_trie_build(&m->trie, keys, lens, vals, n);
    }
    free(keys);
    free(lens);
    free(vals);
    return ok;
}

/* ---- lattices --------------------------------------------------------------------------------- */

typedef struct lattice {
    uint32_t *nb, *ne; /* node start and end (byte offsets) */
    int32_t *nid;
    float *ns;
    size_t nn, ncap;
    double *alpha, *beta, *best;
    int32_t *back;     /* Viterbi: node ending at each position */
    size_t pcap;
    int32_t *path;     /* Viterbi result, node indices */
    size_t np;
} lattice;

static void lattice_free(lattice *l) {
    free(l->nb);
    free(l->ne);
    free(l->nid);
    free(l->ns);
    free(l->alpha);
    free(l->beta);
    free(l->best);
    free(l->back);
    free(l->path);
    memset(l, 0, sizeof *l);
}

static bool add_node(lattice *l, uint32_t b, uint32_t e, int32_t id, float s) {
    if (l->nn == l->ncap) {
        size_t cap = l->ncap ? 2 * l->ncap : 1024;
        uint32_t *nb = realloc(l->nb, cap * sizeof *nb);
        if (nb) l->nb = nb;
        uint32_t *ne = realloc(l->ne, cap * sizeof *ne);
        if (ne) l->ne = ne;
        int32_t *nid = realloc(l->nid, cap * sizeof *nid);
        if (nid) l->nid = nid;
        float *ns = realloc(l->ns, cap * sizeof *ns);
        if (ns) l->ns = ns;
        if (!nb || !ne || !nid || !ns) return false;
        l->ncap = cap;
    }
    l->nb[l->nn] = b;
    l->ne[l->nn] = e;
    l->nid[l->nn] = id;
    l->ns[l->nn] = s;
    l->nn++;
    return true;
}

static bool lattice_reserve(lattice *l, size_t len) {
    if (len + 1 <= l->pcap) return true;
    size_t cap = l->pcap ? l->pcap : 256;
    while (cap < len + 1) cap *= 2;
    double *a = realloc(l->alpha, cap * sizeof *a);
    if (a) l->alpha = a;
    double *b = realloc(l->beta, cap * sizeof *b);
    if (b) l->beta = b;
    double *best = realloc(l->best, cap * sizeof *best);
    if (best) l->best = best;
    int32_t *back = realloc(l->back, cap * sizeof *back);
    if (back) l->back = back;
    int32_t *path = realloc(l->path, cap * sizeof *path);
    if (path) l->path = path;
    if (!a || !b || !best || !back || !path) return false;
    l->pcap = cap;
    return true;
}

/* All pieces starting at every character of s[0..len), plus unknown nodes (id 0). skip_id: a
 * node spanning the whole string with this id is left out (-1: none). */
static bool populate(lattice *l, const model *m, const char *s, size_t len, int32_t skip_id) {
    l->nn = 0;
    if (!lattice_reserve(l, len)) return false;
    const float unk_score = m->min_score - UNK_PENALTY;
    const llmc_trie_unit *units = m->trie.units;
    const uint32_t tsize = m->trie.size;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t b = 0; b < len;) {
        size_t mblen = llmc_utf8_lead_len(u[b]);
        if (mblen > len - b) mblen = len - b;
        bool single = false;
        int32_t st = 0;
        for (size_t k = b; k < len; k++) {
            uint32_t nx = (uint32_t)units[st].base + u[k];
            if (nx >= tsize || units[nx].check != st) break;
            st = (int32_t)nx;
            int32_t id = units[st].value;
            if (id < 0) continue;
            if (b == 0 && k + 1 == len && id == skip_id) continue;
            if (!add_node(l, (uint32_t)b, (uint32_t)(k + 1), id, m->score[id])) return false;
            if (k + 1 - b == mblen) single = true;
        }
        if (!single && !add_node(l, (uint32_t)b, (uint32_t)(b + mblen), 0, unk_score)) return false;
        b += mblen;
    }
    return true;
}

static inline double log_sum_exp(double x, double y) {
    if (x < y) {
        double t = x;
        x = y;
        y = t;
    }
    if (y == -INFINITY) return x;
    double diff = y - x;
    if (diff < -50.0) return x; /* exp(-50) is below double's resolution of 1 */
    return x + log1p(exp(diff));
}

/* forward-backward; adds count x marginal to expected; returns log Z */
static double marginals(lattice *l, size_t len, double count, double *expected) {
    double *alpha = l->alpha, *beta = l->beta;
    for (size_t i = 0; i <= len; i++) {
        alpha[i] = -INFINITY;
        beta[i] = -INFINITY;
    }
    alpha[0] = 0.0;
    beta[len] = 0.0;
    for (size_t k = 0; k < l->nn; k++) alpha[l->ne[k]] = log_sum_exp(alpha[l->ne[k]], alpha[l->nb[k]] + l->ns[k]);
    for (size_t k = l->nn; k-- > 0;) beta[l->nb[k]] = log_sum_exp(beta[l->nb[k]], l->ns[k] + beta[l->ne[k]]);
    const double z = alpha[len];
    for (size_t k = 0; k < l->nn; k++)
        expected[l->nid[k]] += count * exp(alpha[l->nb[k]] + l->ns[k] + beta[l->ne[k]] - z);
    return z;
}

/* Viterbi: l->path gets the node indices of the best path, in order; returns their number */
static size_t viterbi(lattice *l, size_t len) {
    for (size_t i = 0; i <= len; i++) l->back[i] = -1;
    l->best[0] = 0.0;
    for (size_t k = 0; k < l->nn; k++) {
        uint32_t b = l->nb[k], e = l->ne[k];
        if (b != 0 && l->back[b] < 0) continue; /* unreachable start */
        double cand = l->best[b] + l->ns[k];
        if (l->back[e] < 0 || cand > l->best[e]) {
            l->best[e] = cand;
            l->back[e] = (int32_t)k;
        }
    }
    size_t n = 0;
    for (size_t e = len; e > 0 && l->back[e] >= 0; e = l->nb[l->back[e]]) l->path[n++] = l->back[e];
    for (size_t i = 0; i < n / 2; i++) {
        int32_t t = l->path[i];
        l->path[i] = l->path[n - 1 - i];
        l->path[n - 1 - i] = t;
    }
    l->np = n;
    return n;
}

/* ---- threads ------------------------------------------------------------------------------------ */

typedef struct work {
    const ug_corpus *c;
    const model *m;
    int index, threads;
    lattice lat;
    double *acc;      /* per piece: expected counts or Viterbi frequencies */
    double obj;
    bool failed;
    /* alternatives */
    bool *always_keep;
    int32_t *alt;     /* max_piece_length entries per piece */
    uint8_t *alt_n;
    uint32_t alt_width;
    llmc_progress *bar;
} work;

static void *estep_worker(void *arg) {
    work *w = arg;
    const ug_corpus *c = w->c;
    const double total = (double)c->total_count;
    size_t done = 0;
    for (size_t i = (size_t)w->index; i < c->n; i += (size_t)w->threads) {
        size_t len = c->offset[i + 1] - c->offset[i];
        if (!populate(&w->lat, w->m, c->text + c->offset[i], len, -1)) { w->failed = true; break; }
        double z = marginals(&w->lat, len, (double)c->count[i], w->acc);
        w->obj -= (double)c->count[i] * z / total;
        if (w->bar && ++done == 4096) {
            llmc_progress_add(w->bar, done);
            done = 0;
        }
    }
    if (w->bar && done) llmc_progress_add(w->bar, done);
    return NULL;
}

static void *viterbi_worker(void *arg) {
    work *w = arg;
    const ug_corpus *c = w->c;
    for (size_t i = (size_t)w->index; i < c->n; i += (size_t)w->threads) {
        size_t len = c->offset[i + 1] - c->offset[i];
        if (!populate(&w->lat, w->m, c->text + c->offset[i], len, -1)) { w->failed = true; break; }
        size_t n = viterbi(&w->lat, len);
        for (size_t k = 0; k < n; k++) w->acc[w->lat.nid[w->lat.path[k]]] += (double)c->count[i];
    }
    return NULL;
}

static size_t utf8_chars(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static void *alternatives_worker(void *arg) {
    work *w = arg;
    const model *m = w->m;
    for (size_t i = (size_t)w->index; i < m->n; i += (size_t)w->threads) {
        const char *s = m->seed->text[m->sid[i]];
        size_t len = m->seed->len[m->sid[i]];
        w->alt_n[i] = 0;
        w->always_keep[i] = true;
        if (utf8_chars(s, len) <= 1) continue; /* the only path: always kept, no alternative */
        if (!populate(&w->lat, m, s, len, -1)) { w->failed = true; break; }
        if (viterbi(&w->lat, len) >= 2) { /* already split by its best segmentation: can go */
            w->always_keep[i] = false;
            continue;
        }
        if (!populate(&w->lat, m, s, len, (int32_t)i)) { w->failed = true; break; }
        size_t n = viterbi(&w->lat, len);
        if (n > w->alt_width) n = w->alt_width;
        for (size_t k = 0; k < n; k++) w->alt[i * w->alt_width + k] = w->lat.nid[w->lat.path[k]];
        w->alt_n[i] = (uint8_t)n;
    }
    return NULL;
}

/* run fn on p->threads workers (the calling thread is one); false when one failed */
static bool run_workers(const ug_params *p, work *ws, void *(*fn)(void *)) {
    int nt = p->threads > 1 ? p->threads : 1;
    pthread_t *th = malloc((size_t)nt * sizeof *th);
    int started = 0;
    if (th)
        for (int t = 1; t < nt; t++, started++)
            if (pthread_create(&th[started], NULL, fn, &ws[t]) != 0) break;
    /* threads that could not start: their share runs here */
    for (int t = 1 + started; t < nt; t++) fn(&ws[t]);
    fn(&ws[0]);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    free(th);
    bool ok = true;
    for (int t = 0; t < nt; t++) ok = ok && !ws[t].failed;
    return ok;
}

/* ---- EM steps ---------------------------------------------------------------------------------- */

static double digamma(double x) {
    double r = 0.0;
    for (; x < 7; ++x) r -= 1 / x;
    x -= 1.0 / 2.0;
    const double xx = 1.0 / x, xx2 = xx * xx, xx4 = xx2 * xx2;
    r += log(x) + (1.0 / 24.0) * xx2 - (7.0 / 960.0) * xx4 + (31.0 / 8064.0) * xx4 * xx2 - (127.0 / 30720.0) * xx4 * xx4;
    return r;
}

/* sum the per-thread accumulators into ws[0].acc */
static void reduce(work *ws, int nt, size_t n) {
    for (int t = 1; t < nt; t++) {
        for (size_t k = 0; k < n; k++) ws[0].acc[k] += ws[t].acc[k];
        ws[0].obj += ws[t].obj;
    }
}

static bool prepare_work(const ug_params *p, const ug_corpus *c, const model *m, work *ws, size_t n_acc) {
    int nt = p->threads > 1 ? p->threads : 1;
    for (int t = 0; t < nt; t++) {
        ws[t].c = c;
        ws[t].m = m;
        ws[t].index = t;
        ws[t].threads = nt;
        ws[t].obj = 0.0;
        ws[t].failed = false;
        free(ws[t].acc);
        ws[t].acc = calloc(n_acc ? n_acc : 1, sizeof *ws[t].acc);
        if (!ws[t].acc) return false;
    }
    return true;
}

/* E-step + M-step; replaces the model's pieces */
static bool em_iteration(const ug_params *p, const ug_corpus *c, model *m, work *ws, double *obj, const char *label) {
    int nt = p->threads > 1 ? p->threads : 1;
    if (!prepare_work(p, c, m, ws, m->n)) return false;
    llmc_progress *bar = p->progress ? llmc_progress_create(label, c->n) : NULL;
    for (int t = 0; t < nt; t++) ws[t].bar = bar;
    bool ok = run_workers(p, ws, estep_worker);
    if (bar) llmc_progress_free(bar);
    for (int t = 0; t < nt; t++) ws[t].bar = NULL;
    if (!ok) return false;
    reduce(ws, nt, m->n);
    *obj = ws[0].obj;
    const double *expected = ws[0].acc;
    size_t kept = 0;
    float sum = 0.0f;
    for (size_t i = 0; i < m->n; i++)
        if ((float)expected[i] >= MIN_EXPECTED) {
            kept++;
            sum += (float)expected[i];
        }
    uint32_t *sid = malloc((kept ? kept : 1) * sizeof *sid);
    float *score = malloc((kept ? kept : 1) * sizeof *score);
    if (!sid || !score) {
        free(sid);
        free(score);
        return false;
    }
    const double logsum = digamma(sum);
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        float f = (float)expected[i];
        if (f < MIN_EXPECTED) continue;
        sid[k] = m->sid[i];
        score[k] = (float)(digamma(f) - logsum);
        k++;
    }
    return model_set(m, m->seed, sid, score, kept);
}

typedef struct {
    size_t index;
    float loss;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->loss != y->loss) return x->loss > y->loss ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static bool prune(const ug_params *p, const ug_corpus *c, model *m, work *ws, size_t desired) {
    int nt = p->threads > 1 ? p->threads : 1;
    size_t n = m->n;
    uint32_t width = p->max_piece_length ? p->max_piece_length : 16;
    bool *always_keep = malloc((n ? n : 1) * sizeof *always_keep);
    int32_t *alt = malloc((n ? n : 1) * width * sizeof *alt);
    uint8_t *alt_n = malloc(n ? n : 1);
    ranked *cands = malloc((n ? n : 1) * sizeof *cands);
    uint32_t *sid = malloc((n ? n : 1) * sizeof *sid);
    float *score = malloc((n ? n : 1) * sizeof *score);
    bool ok = always_keep && alt && alt_n && cands && sid && score;
    /* alternatives of every piece */
    if (ok) ok = prepare_work(p, c, m, ws, 1);
    if (ok) {
        for (int t = 0; t < nt; t++) {
            ws[t].always_keep = always_keep;
            ws[t].alt = alt;
            ws[t].alt_n = alt_n;
            ws[t].alt_width = width;
        }
        ok = run_workers(p, ws, alternatives_worker);
    }
    /* Viterbi frequencies over the corpus */
    if (ok) ok = prepare_work(p, c, m, ws, n) && run_workers(p, ws, viterbi_worker);
    if (!ok) goto done;
    reduce(ws, nt, n);
    const double *freq = ws[0].acc;
    double vsum = (double)c->total_count, dsum = 0.0;
    for (size_t i = 0; i < n; i++) dsum += freq[i];
    const float sum = (float)dsum;
    const float logsum = (float)log((double)sum);
    size_t kept = 0, n_cands = 0;
    for (size_t i = 0; i < n; i++) {
        if (freq[i] == 0 || !always_keep[i]) continue; /* unused, or its own best path splits it */
        if (alt_n[i] == 0) {
            sid[kept] = m->sid[i];
            score[kept] = m->score[i];
            kept++;
            continue;
        }
        /* the loss if its frequency moved to its alternatives (each then seen freq[i] more often).
         * The new total is sum + freq[i] x (k - 1); spm_train 0.1.97 (Debian's, the reference
         * for quality here) takes k as the number of pieces instead of the number of
         * alternatives, which keeps the pieces that would break into more pieces and so gives
         * fewer tokens; sentencepiece 0.2 counts the alternatives. We follow 0.1.97. */
        const float fi = (float)freq[i];
        const float F = (float)(freq[i] / vsum); /* an occurrence weighs its word's count */
        const float logprob_sp = (float)(log((double)fi) - logsum);
        const float logsum_alt = (float)log((double)(sum + fi * (float)(n - 1)));
        float logprob_alt = 0.0f;
        for (uint32_t k = 0; k < alt_n[i]; k++) {
            int32_t a = alt[i * width + k];
            logprob_alt += (float)(log((double)((float)freq[a] + fi)) - logsum_alt);
        }
        cands[n_cands++] = (ranked){i, F * (logprob_sp - logprob_alt)};
    }
    size_t target = (size_t)(p->shrinking_factor * (double)n);
    if (target < desired) target = desired;
    qsort(cands, n_cands, sizeof *cands, cmp_ranked);
    for (size_t k = 0; k < n_cands && kept < target; k++) {
        sid[kept] = m->sid[cands[k].index];
        score[kept] = m->score[cands[k].index];
        kept++;
    }
    ok = model_set(m, m->seed, sid, score, kept);
    sid = NULL;
    score = NULL;
done:
    free(always_keep);
    free(alt);
    free(alt_n);
    free(cands);
    free(sid);
    free(score);
    for (int t = 0; t < nt; t++) {
        ws[t].always_keep = NULL;
        ws[t].alt = NULL;
        ws[t].alt_n = NULL;
    }
    return ok;
}

/* ---- the final vocabulary ------------------------------------------------------------------------ */

typedef struct {
    const char *text;
    uint32_t len;
    float score;
} final_piece;

static int cmp_final(const void *a, const void *b) {
    const final_piece *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->text, y->text, n);
    if (r) return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

typedef struct {
    uint32_t cp;
    uint64_t count;
} req_char;

static int cmp_req(const void *a, const void *b) {
    const req_char *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

static int finalize(const ug_params *p, const ug_corpus *c, const model *m, ug_result *out, llmc_diags *d) {
    size_t budget = p->vocab_size;
    final_piece *fin = malloc((budget + c->n_chars + 1) * sizeof *fin);
    bool *taken = calloc(m->n ? m->n : 1, sizeof *taken);
    req_char *req = malloc((c->n_chars + 1) * sizeof *req);
    char (*req_text)[5] = malloc((c->n_chars + 1) * sizeof *req_text);
    int rc = -1;
    if (!fin || !taken || !req || !req_text) {
        llmc_error(d, NULL, "out of memory finishing the unigram vocabulary");
        goto done;
    }
    /* every character of the alphabet, most frequent first; one the model lost gets a score
     * just above the lowest, the rarer the higher (as sentencepiece spaces them) */
    for (uint32_t id = 1; id <= c->n_chars; id++) req[id - 1] = (req_char){c->cp[id], c->char_count[id]};
    qsort(req, c->n_chars, sizeof *req, cmp_req);
    size_t nf = 0;
    float penalty = 0.0f;
    for (uint32_t k = 0; k < c->n_chars; k++) {
        uint32_t cp = req[k].cp;
        char *s = req_text[k];
        size_t l = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (l == 1) s[0] = (char)cp;
        else if (l == 2) { s[0] = (char)(0xC0 | cp >> 6); s[1] = (char)(0x80 | (cp & 0x3F)); }
        else if (l == 3) { s[0] = (char)(0xE0 | cp >> 12); s[1] = (char)(0x80 | (cp >> 6 & 0x3F)); s[2] = (char)(0x80 | (cp & 0x3F)); }
        else {
            s[0] = (char)(0xF0 | cp >> 18); s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
            s[2] = (char)(0x80 | (cp >> 6 & 0x3F)); s[3] = (char)(0x80 | (cp & 0x3F));
        }
        s[l] = '\0';
        int32_t i = llmc_trie_find(&m->trie, s, l);
        float sc;
        if (i >= 0) {
            taken[i] = true;
            sc = m->score[i];
        } else {
            sc = m->min_score + penalty;
            penalty += REQUIRED_PENALTY;
        }
        fin[nf++] = (final_piece){s, (uint32_t)l, sc};
    }
    if (nf > budget) {
        llmc_error(d, "vocab_size",
                   "the vocabulary (%u) is smaller than the alphabet: %zu characters cover %.4f%% of the corpus "
                   "(plus %u special and byte pieces); raise vocab_size or lower character_coverage",
                   p->vocab_size + p->reserved_pieces, nf, 100.0 * p->character_coverage, p->reserved_pieces);
        goto done;
    }
    /* then the pieces by score */
    final_piece *by_score = malloc((m->n ? m->n : 1) * sizeof *by_score);
    size_t *order_index = malloc((m->n ? m->n : 1) * sizeof *order_index);
    if (!by_score || !order_index) {
        free(by_score);
        free(order_index);
        llmc_error(d, NULL, "out of memory finishing the unigram vocabulary");
        goto done;
    }
    size_t nb = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!taken[i]) by_score[nb++] = (final_piece){m->seed->text[m->sid[i]], m->seed->len[m->sid[i]], m->score[i]};
    qsort(by_score, nb, sizeof *by_score, cmp_final);
    for (size_t i = 0; i < nb && nf < budget; i++) fin[nf++] = by_score[i];
    free(by_score);
    free(order_index);
    if (nf < budget) {
        llmc_error(d, "vocab_size",
                   "the corpus yields only %zu pieces, so the vocabulary can have at most %zu entries (with %u "
                   "special and byte pieces); vocab_size %u cannot be filled: lower it or give more text",
                   nf, nf + p->reserved_pieces, p->reserved_pieces, p->vocab_size + p->reserved_pieces);
        goto done;
    }
    for (size_t i = 0; i < nf; i++) fin[i].score = ug_quantize_score(fin[i].score);
    qsort(fin, nf, sizeof *fin, cmp_final);
    out->pieces = calloc(nf, sizeof *out->pieces);
    if (!out->pieces) {
        llmc_error(d, NULL, "out of memory finishing the unigram vocabulary");
        goto done;
    }
    for (size_t i = 0; i < nf; i++) {
        char *t = malloc(fin[i].len + 1);
        if (!t) {
            llmc_error(d, NULL, "out of memory finishing the unigram vocabulary");
            goto done;
        }
        memcpy(t, fin[i].text, fin[i].len);
        t[fin[i].len] = '\0';
        out->pieces[i] = (ug_piece){t, fin[i].len, fin[i].score};
        out->n++;
    }
    rc = 0;
done:
    free(fin);
    free(taken);
    free(req);
    free(req_text);
    return rc;
}

float ug_quantize_score(float score) { return (float)(round((double)score * UG_SCORE_STEPS) / UG_SCORE_STEPS); }

/* ---- the loop ---------------------------------------------------------------------------------- */

int ug_em(const ug_params *p, const ug_corpus *c, ug_pieces *seed, ug_result *out, llmc_diags *d) {
    int nt = p->threads > 1 ? p->threads : 1;
    model m = {0};
    work *ws = calloc((size_t)nt, sizeof *ws);
    uint32_t *sid = malloc((seed->n ? seed->n : 1) * sizeof *sid);
    float *score = malloc((seed->n ? seed->n : 1) * sizeof *score);
    int rc = -1;
    if (!ws || !sid || !score) {
        free(sid);
        free(score);
        goto oom;
    }
    for (size_t i = 0; i < seed->n; i++) {
        sid[i] = (uint32_t)i;
        score[i] = seed->score[i];
    }
    if (!model_set(&m, seed, sid, score, seed->n)) goto oom;
    const size_t desired = (size_t)((double)(p->vocab_size + p->reserved_pieces) * 1.1);
    for (uint32_t round = 1;; round++) {
        for (uint32_t it = 0; it < p->sub_iterations; it++) {
            char label[96];
            snprintf(label, sizeof label, "unigram EM %u.%u (%zu pieces)", round, it + 1, m.n);
            double obj = 0.0;
            size_t before = m.n;
            if (!em_iteration(p, c, &m, ws, &obj, label)) goto oom;
            if (p->verbose)
                fprintf(stderr, "unigram: EM round %u.%u: %zu -> %zu pieces, objective %.4f\n", round, it + 1, before,
                        m.n, obj);
        }
        out->em_rounds = round;
        if (m.n <= desired) break;
        size_t before = m.n;
        if (!prune(p, c, &m, ws, desired)) goto oom;
        if (p->verbose) fprintf(stderr, "unigram: pruned %zu -> %zu pieces\n", before, m.n);
    }
    rc = finalize(p, c, &m, out, d);
    goto done;
oom:
    llmc_error(d, NULL, "out of memory during unigram EM");
done:
    if (ws)
        for (int t = 0; t < nt; t++) {
            lattice_free(&ws[t].lat);
            free(ws[t].acc);
        }
    free(ws);
    model_free(&m);
    return rc;
}

/* ---- the whole training ------------------------------------------------------------------------- */

void ug_result_free(ug_result *r) {
    for (size_t i = 0; i < r->n; i++) free(r->pieces[i].text);
    free(r->pieces);
    memset(r, 0, sizeof *r);
}

int ug_train(const ug_params *p, const llmc_tok_word *words, size_t n_words, ug_result *out, llmc_diags *d) {
    memset(out, 0, sizeof *out);
    ug_corpus c;
    if (ug_corpus_prepare(p, words, n_words, &c, d) != 0) return -1;
    out->alphabet = c.n_chars;
    out->words_used = c.n;
    out->words_dropped = c.dropped;
    int rc = -1;
    if (c.n == 0) {
        llmc_error(d, "corpus", "no words to train on (%llu dropped: longer than %u bytes or holding U+2585)",
                   (unsigned long long)c.dropped, p->max_word_bytes);
        goto done;
    }
    if (c.n_chars > p->vocab_size) {
        llmc_error(d, "vocab_size",
                   "the vocabulary (%u) is smaller than the alphabet: %u characters cover %.4f%% of the corpus "
                   "(plus %u special and byte pieces); raise vocab_size or lower character_coverage",
                   p->vocab_size + p->reserved_pieces, c.n_chars, 100.0 * p->character_coverage, p->reserved_pieces);
        goto done;
    }
    ug_pieces seed;
    if (ug_seed(p, &c, &seed, d) != 0) goto done;
    if (p->verbose)
        fprintf(stderr, "unigram: %zu words (%llu dropped), alphabet %u, %zu seed pieces\n", c.n,
                (unsigned long long)c.dropped, c.n_chars, seed.n);
    rc = ug_em(p, &c, &seed, out, d);
    ug_pieces_free(&seed);
done:
    ug_corpus_free(&c);
    return rc;
}
