/* Seed pieces for EM (see ug_train.h).
 *
 * spm_train builds an enhanced suffix array over the whole corpus and takes the internal nodes
 * of the suffix tree (substrings that occur at least twice and are followed by two different
 * characters somewhere: "right-maximal"), scored frequency x length. Here the corpus is word
 * counts, and pieces never cross words (split_by_whitespace) and never exceed max_piece_length
 * characters, so the same candidates come from the suffixes of the distinct words truncated to
 * max_piece_length + 1 characters: sorted (3-way radix quicksort, buckets by first character on
 * --threads threads), adjacent common prefixes give the LCP intervals, i.e. the right-maximal
 * substrings, each occurrence weighted by its word's count, so the frequency is the corpus
 * frequency. A substring that ends its word counts as right-maximal (in the corpus the next word
 * follows), so a word suffix met in one distinct word only is a candidate when that word occurs
 * at least twice. This costs 8 bytes per character of the distinct words instead of the suffix
 * array's 20 per character of the corpus.
 *
 * The seeds are every character of the alphabet seen in the words, then the best substrings
 * (by score, ties by the substring's order) up to seed_size in all; their scores become log
 * probabilities (score / sum of scores). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/output.h"
#include "tok_buf.h"
#include "ug_train.h"

void ug_pieces_free(ug_pieces *v) {
    for (size_t i = 0; i < v->n; i++) free(v->text[i]);
    free(v->text);
    free(v->len);
    free(v->score);
    memset(v, 0, sizeof *v);
}

/* ---- the truncated suffixes ---------------------------------------------------------------------- */

typedef struct seed_text {
    uint32_t *T;        /* char ids of every word, each followed by 0 */
    size_t nT;
    uint32_t *wstart;   /* T index of each word's first char, plus nT at the end */
    const uint64_t *count;
    size_t n_words;
    uint32_t D;         /* compare at most this many characters: max_piece_length + 1 */
} seed_text;

static inline int cmp_from(const seed_text *s, uint32_t a, uint32_t b, uint32_t depth) {
    for (uint32_t k = depth; k < s->D; k++) {
        uint32_t x = s->T[a + k], y = s->T[b + k];
        if (x != y) return x < y ? -1 : 1;
        if (x == 0) return 0;
    }
    return 0;
}

static inline uint32_t lcp(const seed_text *s, uint32_t a, uint32_t b) {
    uint32_t k = 0;
    while (k < s->D && s->T[a + k] == s->T[b + k] && s->T[a + k] != 0) k++;
    return k;
}

typedef struct {
    uint32_t *a;
    size_t n;
    uint32_t depth;
} sort_task;

/* Bentley-Sedgewick multikey quicksort of positions by their strings from `depth` on, with an
 * explicit stack (no recursion depth to worry about); strings end at 0 or after D characters. */
static bool mkqs(const seed_text *s, uint32_t *a0, size_t n0, uint32_t depth0) {
    size_t cap = 64, sp = 0;
    sort_task *st = malloc(cap * sizeof *st);
    if (!st) return false;
    st[sp++] = (sort_task){a0, n0, depth0};
    while (sp) {
        sort_task t = st[--sp];
        uint32_t *a = t.a;
        size_t n = t.n;
        uint32_t depth = t.depth;
        if (n < 2 || depth >= s->D) continue;
        if (n < 16) {
            for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && cmp_from(s, a[j - 1], a[j], depth) > 0; j--) {
                    uint32_t x = a[j];
                    a[j] = a[j - 1];
                    a[j - 1] = x;
                }
            continue;
        }
        const uint32_t *T = s->T + depth;
        uint32_t k0 = T[a[0]], k1 = T[a[n / 2]], k2 = T[a[n - 1]];
        uint32_t pivot = k0 < k1 ? (k1 < k2 ? k1 : (k0 < k2 ? k2 : k0)) : (k0 < k2 ? k0 : (k1 < k2 ? k2 : k1));
        /* Dijkstra 3-way partition: [0,lt) < pivot, [lt,i) == pivot, (gt,n) > pivot */
        size_t lt = 0, i = 0, gt = n;
        while (i < gt) {
            uint32_t k = T[a[i]];
            if (k < pivot) {
                uint32_t x = a[lt]; a[lt] = a[i]; a[i] = x;
                lt++;
                i++;
            } else if (k > pivot) {
                gt--;
                uint32_t x = a[gt]; a[gt] = a[i]; a[i] = x;
            } else {
                i++;
            }
        }
        if (sp + 3 > cap) {
            cap *= 2;
            sort_task *g = realloc(st, cap * sizeof *g);
            if (!g) { free(st); return false; }
            st = g;
        }
        st[sp++] = (sort_task){a, lt, depth};
        st[sp++] = (sort_task){a + gt, n - gt, depth};
        if (pivot != 0) st[sp++] = (sort_task){a + lt, gt - lt, depth + 1};
    }
    free(st);
    return true;
}

typedef struct {
    const seed_text *s;
    uint32_t *P;
    const size_t *bucket_start; /* [n_buckets + 1] */
    const uint32_t *order;      /* buckets, largest first */
    size_t n_buckets;
    atomic_size_t next;
    atomic_bool failed;
    llmc_progress *bar;
} sort_job;

static void *sort_worker(void *arg) {
    sort_job *j = arg;
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n_buckets) break;
        uint32_t b = j->order[k];
        size_t lo = j->bucket_start[b], hi = j->bucket_start[b + 1];
        if (!mkqs(j->s, j->P + lo, hi - lo, 1)) atomic_store(&j->failed, true);
        if (j->bar) llmc_progress_add(j->bar, hi - lo);
    }
    return NULL;
}

static const size_t *g_bucket_start; /* for sorting the bucket order; set under the single caller */

static int cmp_bucket_size(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t sx = g_bucket_start[x + 1] - g_bucket_start[x], sy = g_bucket_start[y + 1] - g_bucket_start[y];
    if (sx != sy) return sx > sy ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* ---- the best candidates: a bounded min-heap on (score, then later rank is worse) --------------------- */

typedef struct {
    uint64_t score;
    uint32_t rank; /* index in the sorted order: the substring's lexicographic place */
    uint32_t pos;  /* T index of its first character */
    uint32_t len;  /* characters */
} cand;

static inline bool worse(const cand *a, const cand *b) {
    return a->score < b->score || (a->score == b->score && a->rank > b->rank);
}

typedef struct {
    cand *h;
    size_t n, cap;
} cand_heap;

static void heap_offer(cand_heap *hp, cand c) {
    if (hp->cap == 0) return;
    if (hp->n < hp->cap) {
        size_t i = hp->n++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(&c, &hp->h[p])) break;
            hp->h[i] = hp->h[p];
            i = p;
        }
        hp->h[i] = c;
        return;
    }
    if (!worse(&hp->h[0], &c)) return; /* not better than the worst kept */
    size_t i = 0, n = hp->n;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n) break;
        size_t m = l + 1 < n && worse(&hp->h[l + 1], &hp->h[l]) ? l + 1 : l;
        if (!worse(&hp->h[m], &c)) break;
        hp->h[i] = hp->h[m];
        i = m;
    }
    hp->h[i] = c;
}

static int cmp_cand_best_first(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static uint64_t weight_of(const seed_text *s, uint32_t pos) {
    size_t lo = 0, hi = s->n_words; /* the last word whose start is <= pos */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->wstart[mid] <= pos) lo = mid;
        else hi = mid;
    }
    return s->count[lo];
}

typedef struct {
    uint32_t depth;
    size_t lb;
    uint64_t w_before; /* sum of weights of the sorted positions before lb */
} interval;

/* ---- seeds ---------------------------------------------------------------------------------------- */

typedef struct {
    uint32_t id, cp;
    uint64_t count;
} char_seed;

/* by count, then (as sentencepiece sorts the UTF-8 strings) by code point */
static int cmp_char_seed(const void *a, const void *b) {
    const char_seed *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

static char *utf8_of(const ug_corpus *c, const uint32_t *ids, size_t n, uint32_t *len_out) {
    char *s = malloc(4 * n + 1);
    if (!s) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = c->cp[ids[i]];
        if (cp < 0x80) s[o++] = (char)cp;
        else if (cp < 0x800) { s[o++] = (char)(0xC0 | cp >> 6); s[o++] = (char)(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) {
            s[o++] = (char)(0xE0 | cp >> 12); s[o++] = (char)(0x80 | (cp >> 6 & 0x3F)); s[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            s[o++] = (char)(0xF0 | cp >> 18); s[o++] = (char)(0x80 | (cp >> 12 & 0x3F));
            s[o++] = (char)(0x80 | (cp >> 6 & 0x3F)); s[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    s[o] = '\0';
    *len_out = (uint32_t)o;
    return s;
}

int ug_seed(const ug_params *p, const ug_corpus *c, ug_pieces *out, llmc_diags *d) {
    memset(out, 0, sizeof *out);
    seed_text s = {0};
    s.count = c->count;
    s.n_words = c->n;
    s.D = p->max_piece_length + 1;
    uint32_t *P = NULL, *order = NULL;
    size_t *bucket_start = NULL;
    cand_heap heap = {0};
    interval *stack = NULL;
    char_seed *chars = NULL;
    int rc = -1;
    /* T: char ids, 0 after every word */
    size_t nT = 0;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = c->offset[i]; k < c->offset[i + 1]; k += llmc_utf8_lead_len((unsigned char)c->text[k])) nT++;
        nT++;
    }
    if (nT + s.D >= UINT32_MAX) {
        llmc_error(d, NULL, "the distinct words hold %zu characters; the seed search handles at most 4 billion "
                   "(train on a sample of the corpus)", nT);
        return -1;
    }
    s.T = malloc((nT + s.D) * sizeof *s.T);
    s.wstart = malloc((c->n + 1) * sizeof *s.wstart);
    if (!s.T || !s.wstart) goto oom;
    size_t t = 0, n_pos = 0;
    for (size_t i = 0; i < c->n; i++) {
        s.wstart[i] = (uint32_t)t;
        for (size_t k = c->offset[i]; k < c->offset[i + 1];) {
            uint32_t cp = 0;
            k += llmc_tokbuf_utf8_decode((const unsigned char *)c->text + k, c->offset[i + 1] - k, &cp);
            uint32_t id = ug_corpus_char_id(c, cp);
            s.T[t++] = id;
            if (id != c->unk_char_id) n_pos++;
        }
        s.T[t++] = 0;
    }
    s.wstart[c->n] = (uint32_t)t;
    for (uint32_t k = 0; k < s.D; k++) s.T[t + k] = 0; /* padding: no read runs off the end */
    s.nT = nT;
    /* bucket the start positions by first character, sort buckets in parallel */
    size_t n_buckets = (size_t)c->unk_char_id + 1;
    bucket_start = calloc(n_buckets + 1, sizeof *bucket_start);
    order = malloc(n_buckets * sizeof *order);
    P = malloc((n_pos ? n_pos : 1) * sizeof *P);
    if (!bucket_start || !order || !P) goto oom;
    for (size_t i = 0; i < nT; i++)
        if (s.T[i] && s.T[i] != c->unk_char_id) bucket_start[s.T[i] + 1]++;
    for (size_t b = 0; b < n_buckets; b++) bucket_start[b + 1] += bucket_start[b];
    {
        size_t *fill = malloc(n_buckets * sizeof *fill);
        if (!fill) goto oom;
        memcpy(fill, bucket_start, n_buckets * sizeof *fill);
        for (size_t i = 0; i < nT; i++)
            if (s.T[i] && s.T[i] != c->unk_char_id) P[fill[s.T[i]]++] = (uint32_t)i;
        free(fill);
    }
    for (size_t b = 0; b < n_buckets; b++) order[b] = (uint32_t)b;
    g_bucket_start = bucket_start;
    qsort(order, n_buckets, sizeof *order, cmp_bucket_size);
    {
        sort_job job = {&s, P, bucket_start, order, n_buckets, 0, false, NULL};
        if (p->progress) job.bar = llmc_progress_create("unigram: sorting substrings", n_pos);
        int nt = p->threads > 1 ? p->threads : 1;
        pthread_t *th = malloc((size_t)nt * sizeof *th);
        int started = 0;
        if (th)
            for (; started < nt - 1; started++)
                if (pthread_create(&th[started], NULL, sort_worker, &job) != 0) break;
        sort_worker(&job);
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        free(th);
        if (job.bar) llmc_progress_free(job.bar);
        if (atomic_load(&job.failed)) goto oom;
    }
    free(order);
    order = NULL;
    free(bucket_start);
    bucket_start = NULL;

    /* the alphabet's characters come first */
    size_t n_chars = 0;
    chars = malloc((c->n_chars + 1) * sizeof *chars);
    if (!chars) goto oom;
    for (uint32_t id = 1; id <= c->n_chars; id++)
        if (c->char_count[id]) chars[n_chars++] = (char_seed){id, c->cp[id], c->char_count[id]};
    qsort(chars, n_chars, sizeof *chars, cmp_char_seed);
    heap.cap = p->seed_size > n_chars ? p->seed_size - n_chars : 0;
    heap.h = malloc((heap.cap ? heap.cap : 1) * sizeof *heap.h);
    size_t scap = 64, sp = 0;
    stack = malloc(scap * sizeof *stack);
    if (!heap.h || !stack) goto oom;

    /* LCP intervals of the sorted positions, bottom-up; each interval is a right-maximal substring
     * occurring at all its positions; word-final substrings of a single distinct word as well */
    stack[sp++] = (interval){0, 0, 0};
    uint64_t wsum = 0;
    uint32_t prev_l = 0;
    const uint32_t maxlen = p->max_piece_length;
    for (size_t i = 1; i <= n_pos; i++) {
        uint32_t pos = P[i - 1];
        uint64_t w = weight_of(&s, pos);
        wsum += w;
        uint32_t l = i < n_pos ? lcp(&s, P[i - 1], P[i]) : 0;
        /* the word suffix at pos, if no neighbour shares all of it */
        uint32_t to_end = 0;
        while (to_end < s.D && s.T[pos + to_end] != 0) to_end++;
        if (w >= 2 && to_end >= 2 && to_end <= maxlen && to_end > prev_l && to_end > l &&
            ug_valid_piece(p, c, s.T + pos, to_end))
            heap_offer(&heap, (cand){w * to_end, (uint32_t)(i - 1), pos, to_end});
        size_t lb = i - 1;
        uint64_t before = wsum - w;
        while (l < stack[sp - 1].depth) {
            interval e = stack[--sp];
            uint64_t freq = wsum - e.w_before;
            if (e.depth >= 2 && e.depth <= maxlen && ug_valid_piece(p, c, s.T + P[e.lb], e.depth))
                heap_offer(&heap, (cand){freq * e.depth, (uint32_t)e.lb, P[e.lb], e.depth});
            lb = e.lb;
            before = e.w_before;
        }
        if (l > stack[sp - 1].depth) {
            if (sp == scap) {
                scap *= 2;
                interval *g = realloc(stack, scap * sizeof *g);
                if (!g) goto oom;
                stack = g;
            }
            stack[sp++] = (interval){l, lb, before};
        }
        prev_l = l;
    }
    free(P);
    P = NULL;
    qsort(heap.h, heap.n, sizeof *heap.h, cmp_cand_best_first);

    size_t n = n_chars + heap.n;
    out->text = calloc(n ? n : 1, sizeof *out->text);
    out->len = malloc((n ? n : 1) * sizeof *out->len);
    out->score = malloc((n ? n : 1) * sizeof *out->score);
    if (!out->text || !out->len || !out->score) goto oom;
    double sum = 0.0;
    for (size_t i = 0; i < n_chars; i++) {
        out->text[i] = utf8_of(c, &chars[i].id, 1, &out->len[i]);
        if (!out->text[i]) goto oom;
        out->score[i] = (float)chars[i].count;
        out->n++;
    }
    for (size_t i = 0; i < heap.n; i++) {
        size_t k = n_chars + i;
        out->text[k] = utf8_of(c, s.T + heap.h[i].pos, heap.h[i].len, &out->len[k]);
        if (!out->text[k]) goto oom;
        out->score[k] = (float)heap.h[i].score;
        out->n++;
    }
    for (size_t i = 0; i < n; i++) sum += out->score[i];
    const double logsum = log(sum);
    for (size_t i = 0; i < n; i++) out->score[i] = (float)(log((double)out->score[i]) - logsum);
    rc = 0;
    goto done;
oom:
    llmc_error(d, NULL, "out of memory while seeding the unigram pieces");
    ug_pieces_free(out);
done:
    free(s.T);
    free(s.wstart);
    free(P);
    free(order);
    free(bucket_start);
    free(heap.h);
    free(stack);
    free(chars);
    return rc;
}
