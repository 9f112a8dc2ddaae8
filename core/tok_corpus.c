/* Corpus reading, word counting and corpus encoding (tok_corpus.h). One reader thread cuts the
 * input into chunks of whole documents; worker threads pre-tokenize (counting) or encode them;
 * at most a few chunks are in flight, so memory stays bounded by the chunk size, not by the
 * corpus (the word table grows with the number of distinct words only). */
#include "tok_corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "llmc/output.h"
#include "pipeline.h"
#include "tok_internal.h"
#include "tok_map.h"
#include "tok_unicode.h"
#include "util.h"

#define MAX_DOCUMENT (1u << 30)   /* one line / record */

void llmc_tok_corpus_default_params(llmc_tok_corpus_params *p) {
    memset(p, 0, sizeof *p);
    p->text_field = "text";
    p->threads = 1;
    p->chunk_bytes = 1u << 20;
    p->invalid_utf8 = LLMC_INVALID_UTF8_ERROR;
    p->max_words = (size_t)1 << 22;
}

/* ---- reader ---------------------------------------------------------------------------------------------------- */

struct llmc_corpus_reader {
    char *path;
    gzFile gz;
    bool jsonl;
    char *text_field;
    char *buf;
    size_t cap, start, end;
    bool eof;
    uint64_t buf_off;     /* uncompressed file offset of buf[0] */
    uint64_t line;        /* lines handed out */
    uint64_t file_size;
    json_t *last;         /* the current JSONL record (owns the string) */
    bool bad_content;     /* the last error was the file's content (a bad record), not reading it */
};

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

llmc_corpus_reader *llmc_corpus_open(const char *path, const char *text_field, llmc_diags *d) {
    llmc_corpus_reader *r = calloc(1, sizeof *r);
    if (!r) {
        llmc_error(d, NULL, "out of memory");
        return NULL;
    }
    bool is_stdin = !strcmp(path, "-");
    r->path = llmc_strdup(is_stdin ? "<stdin>" : path);
    char base[4096];
    snprintf(base, sizeof base, "%s", path);
    if (ends_with(base, ".gz")) base[strlen(base) - 3] = '\0';
    r->jsonl = ends_with(base, ".jsonl") || ends_with(base, ".ndjson") || ends_with(base, ".json") ||
               (is_stdin && text_field && strcmp(text_field, "text"));
    r->text_field = llmc_strdup(text_field ? text_field : "text");
    int fd = is_stdin ? dup(0) : open(path, O_RDONLY);
    if (fd < 0) {
        llmc_error(d, NULL, "%s: cannot open: %s", path, strerror(errno));
        llmc_corpus_close(r);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) r->file_size = (uint64_t)st.st_size;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        llmc_error(d, NULL, "%s: is a directory (expected a .txt, .jsonl or .gz file, or - for stdin)", path);
        close(fd);
        llmc_corpus_close(r);
        return NULL;
    }
    /* gzread reads uncompressed files transparently */
    r->gz = gzdopen(fd, "rb");
    r->cap = 1u << 20;
    r->buf = malloc(r->cap);
    if (!r->gz || !r->buf || !r->path || !r->text_field) {
        if (!r->gz) close(fd);
        llmc_error(d, NULL, "%s: out of memory", path);
        llmc_corpus_close(r);
        return NULL;
    }
    gzbuffer(r->gz, 1u << 17);
    return r;
}

void llmc_corpus_close(llmc_corpus_reader *r) {
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    json_decref(r->last);
    free(r->path);
    free(r->text_field);
    free(r->buf);
    free(r);
}

uint64_t llmc_corpus_bytes_read(const llmc_corpus_reader *r) {
    z_off_t o = gzoffset(r->gz);
    return o > 0 ? (uint64_t)o : 0;
}
uint64_t llmc_corpus_file_size(const llmc_corpus_reader *r) { return r->file_size; }

/* make room and read more; -1 on error */
static int fill(llmc_corpus_reader *r, llmc_diags *d) {
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->buf_off += r->start;
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= MAX_DOCUMENT) {
            llmc_error(d, NULL, "%s: byte %llu: a line longer than %u bytes", r->path, (unsigned long long)r->buf_off,
                       MAX_DOCUMENT);
            return -1;
        }
        char *b = realloc(r->buf, r->cap * 2);
        if (!b) {
            llmc_error(d, NULL, "%s: out of memory for a %zu-byte line", r->path, r->cap * 2);
            return -1;
        }
        r->buf = b;
        r->cap *= 2;
    }
    int got = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end > (1u << 30) ? (1u << 30) : r->cap - r->end));
    if (got < 0) {
        int err;
        const char *msg = gzerror(r->gz, &err);
        llmc_error(d, NULL, "%s: byte %llu: read error: %s", r->path, (unsigned long long)(r->buf_off + r->end),
                   err == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }
    if (got == 0) {
        r->eof = true;
        /* a truncated .gz file reads as a short stream: zlib reports it */
        int err;
        const char *msg = gzerror(r->gz, &err);
        if (err != Z_OK && err != Z_BUF_ERROR) {
            llmc_error(d, NULL, "%s: decompression error: %s", r->path, msg);
            return -1;
        }
        if (err == Z_BUF_ERROR) {
            llmc_error(d, NULL, "%s: the compressed stream is truncated", r->path);
            return -1;
        }
    }
    r->end += (size_t)got;
    return 0;
}

/* the next line including its '\n' (the last line may lack it) */
static int next_line(llmc_corpus_reader *r, const char **line, size_t *len, uint64_t *off, llmc_diags *d) {
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl || (r->eof && r->end > r->start)) {
            size_t e = nl ? (size_t)(nl - r->buf) + 1 : r->end;
            *line = r->buf + r->start;
            *len = e - r->start;
            *off = r->buf_off + r->start;
            r->start = e;
            r->line++;
            return 1;
        }
        if (r->eof) return 0;
        if (fill(r, d)) return -1;
    }
}

int llmc_corpus_next(llmc_corpus_reader *r, const char **doc, size_t *len, uint64_t *offset, llmc_diags *d) {
    for (;;) {
        const char *line;
        size_t n;
        int k = next_line(r, &line, &n, offset, d);
        if (k <= 0) return k;
        if (!r->jsonl) {
            *doc = line;
            *len = n;
            return 1;
        }
        size_t t = n;
        while (t > 0 && (line[t - 1] == '\n' || line[t - 1] == '\r' || line[t - 1] == ' ' || line[t - 1] == '\t')) t--;
        size_t s = 0;
        while (s < t && (line[s] == ' ' || line[s] == '\t')) s++;
        if (s == t) continue; /* blank line */
        json_error_t e;
        json_decref(r->last);
        r->last = json_loadb(line + s, t - s, JSON_ALLOW_NUL, &e);
        if (!r->last) {
            llmc_loc loc = {r->path, (int)(r->line > INT32_MAX ? 0 : r->line), e.column > 0 ? e.column : 0};
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "not a JSON record: %s", e.text);
            r->bad_content = true;
            return -1;
        }
        json_t *v = json_is_object(r->last) ? json_object_get(r->last, r->text_field) : NULL;
        if (!json_is_string(v)) {
            llmc_loc loc = {r->path, (int)(r->line > INT32_MAX ? 0 : r->line), 1};
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, r->text_field,
                          json_is_object(r->last) ? (v ? "expected a string (--text-field names the text)"
                                                       : "missing in this record (--text-field names the text)")
                                                  : "the record is not a JSON object");
            r->bad_content = true;
            return -1;
        }
        *doc = json_string_value(v);
        *len = json_string_length(v);
        return 1;
    }
}

/* ---- chunks and the work queue ------------------------------------------------------------------------------ */

typedef struct chunk {
    uint64_t seq;
    tok_buf text;          /* documents back to back */
    size_t *doc_len;
    size_t n_docs, cap_docs;
    /* results */
    llmc_tok_ids ids;      /* encoding */
    bool done;
    int failed;
} chunk;

static void chunk_free(chunk *c) {
    if (!c) return;
    tok_buf_free(&c->text);
    free(c->doc_len);
    llmc_tok_ids_free(&c->ids);
    free(c);
}

static int chunk_add(chunk *c, const char *s, size_t n) {
    if (c->n_docs == c->cap_docs) {
        size_t nc = c->cap_docs ? c->cap_docs * 2 : 256;
        size_t *q = realloc(c->doc_len, nc * sizeof *q);
        if (!q) return -1;
        c->doc_len = q;
        c->cap_docs = nc;
    }
    if (tok_buf_put(&c->text, s, n)) return -1;
    c->doc_len[c->n_docs++] = n;
    return 0;
}

typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    chunk **items;          /* pending work, FIFO */
    size_t head, n, cap;
    bool closed;
    int in_flight;          /* queued + being processed */
} queue;

static void queue_init(queue *q, size_t cap) {
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_work, NULL);
    pthread_cond_init(&q->cv_done, NULL);
    q->items = calloc(cap, sizeof *q->items);
    q->cap = cap;
}

static void queue_destroy(queue *q) {
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv_work);
    pthread_cond_destroy(&q->cv_done);
    free(q->items);
}

/* blocks while the queue is full */
static void queue_push(queue *q, chunk *c) {
    pthread_mutex_lock(&q->mu);
    while (q->n == q->cap) pthread_cond_wait(&q->cv_done, &q->mu);
    q->items[(q->head + q->n) % q->cap] = c;
    q->n++;
    q->in_flight++;
    pthread_cond_signal(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

static chunk *queue_pop(queue *q) {
    pthread_mutex_lock(&q->mu);
    while (!q->n && !q->closed) pthread_cond_wait(&q->cv_work, &q->mu);
    chunk *c = NULL;
    if (q->n) {
        c = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
        pthread_cond_broadcast(&q->cv_done);
    }
    pthread_mutex_unlock(&q->mu);
    return c;
}

static void queue_close(queue *q) {
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

/* ---- reading all files into chunks ---------------------------------------------------------------------------- */

typedef struct feed {
    const llmc_tok_corpus_params *p;
    bool lossless;             /* the tokenizer takes any bytes */
    bool keep_line_endings;
    llmc_progress *progress;
    uint64_t total_size, done_size;
    uint64_t invalid_bytes;
    bool warned;
    uint64_t seq;
    int exit_code;             /* after a failure: 1 the corpus content, 4 reading it */
} feed;

/* first invalid byte of s[0..n), or n */
static size_t first_invalid(const char *s, size_t n) { return llmc_utf8_valid_prefix(s, n); }

typedef int (*chunk_sink)(void *ctx, chunk *c);

static int feed_all(feed *f, llmc_diags *d, chunk_sink sink, void *ctx) {
    const llmc_tok_corpus_params *p = f->p;
    for (size_t i = 0; i < p->n_paths; i++) {
        llmc_corpus_reader *r = llmc_corpus_open(p->paths[i], p->text_field, d);
        if (!r) {
            f->exit_code = LLMC_EXIT_IO;
            return -1;
        }
        f->total_size += llmc_corpus_file_size(r);
        llmc_corpus_close(r);
    }
    if (p->progress) f->progress = llmc_progress_create("reading corpus", f->total_size);
    int rc = 0;
    for (size_t i = 0; i < p->n_paths && !rc; i++) {
        llmc_corpus_reader *r = llmc_corpus_open(p->paths[i], p->text_field, d);
        if (!r) {
            rc = -1;
            break;
        }
        chunk *c = NULL;
        uint64_t base = f->done_size;
        for (;;) {
            const char *doc;
            size_t len;
            uint64_t off;
            int k = llmc_corpus_next(r, &doc, &len, &off, d);
            if (k < 0) {
                f->exit_code = r->bad_content ? LLMC_EXIT_SPEC : LLMC_EXIT_IO;
                rc = -1;
                break;
            }
            if (k == 0) break;
            if (!r->jsonl && !f->keep_line_endings) {
                if (len && doc[len - 1] == '\n') len--;
                if (len && doc[len - 1] == '\r') len--;
            }
            size_t bad = first_invalid(doc, len);
            if (bad < len) {
                if (!f->lossless && p->invalid_utf8 == LLMC_INVALID_UTF8_ERROR) {
                    llmc_error(d, NULL,
                               "%s: byte %llu: invalid UTF-8 (0x%02X); this tokenizer is not byte-level and has no "
                               "byte fallback, so it cannot represent it (--invalid-utf8 replace encodes each invalid "
                               "byte as U+FFFD)",
                               r->path, (unsigned long long)(r->jsonl ? off : off + bad), (unsigned char)doc[bad]);
                    f->exit_code = LLMC_EXIT_SPEC;
                    rc = -1;
                    break;
                }
                size_t cnt = 0;
                for (size_t j = bad; j < len;) {
                    uint32_t cp;
                    int k2 = llmc_utf8_decode((const unsigned char *)doc + j, len - j, &cp);
                    if (cp & LLMC_UTF8_INVALID) cnt++;
                    j += (size_t)k2;
                }
                if (!f->lossless && !f->warned) {
                    llmc_loc loc = {r->path, 0, 0};
                    llmc_diag_add(d, LLMC_SEV_WARNING, loc, NULL,
                                  "byte %llu: invalid UTF-8 (0x%02X) replaced by U+FFFD (and so is every invalid byte "
                                  "after it; the total is reported at the end)",
                                  (unsigned long long)(r->jsonl ? off : off + bad), (unsigned char)doc[bad]);
                    f->warned = true;
                }
                f->invalid_bytes += cnt;
            }
            if (!c) {
                c = calloc(1, sizeof *c);
                if (!c) {
                    llmc_error(d, NULL, "out of memory");
                    rc = -1;
                    break;
                }
                c->seq = f->seq++;
            }
            if (chunk_add(c, doc, len)) {
                llmc_error(d, NULL, "out of memory");
                rc = -1;
                break;
            }
            if (c->text.n >= p->chunk_bytes) {
                if (sink(ctx, c)) {
                    c = NULL;
                    rc = -1;
                    break;
                }
                c = NULL;
                if (f->progress) llmc_progress_update(f->progress, base + llmc_corpus_bytes_read(r));
            }
        }
        if (!rc && c) {
            if (sink(ctx, c)) rc = -1;
            c = NULL;
        }
        chunk_free(c);
        f->done_size = base + llmc_corpus_file_size(r);
        if (f->progress) llmc_progress_update(f->progress, f->done_size);
        llmc_corpus_close(r);
    }
    llmc_progress_free(f->progress);
    f->progress = NULL;
    return rc;
}

/* ---- counting ------------------------------------------------------------------------------------------------ */

typedef struct word_table {
    llmc_strmap map;       /* word -> index */
    uint64_t *counts;
    size_t n, cap;
} word_table;

static int table_add(word_table *t, const char *w, size_t n, uint64_t count) {
    bool inserted;
    uint32_t *v = llmc_strmap_upsert(&t->map, w, n, (uint32_t)t->n, &inserted);
    if (!v) return -1;
    if (inserted) {
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 1024;
            uint64_t *q = realloc(t->counts, nc * sizeof *q);
            if (!q) return -1;
            t->counts = q;
            t->cap = nc;
        }
        t->counts[t->n++] = 0;
    }
    t->counts[*v] += count;
    return 0;
}

static void table_free(word_table *t) {
    llmc_strmap_free(&t->map);
    free(t->counts);
    memset(t, 0, sizeof *t);
}

/* Memory bound (lossy counting, Manku & Motwani 2002): a table that reaches max_words distinct
 * words drops those counted at most *floor times, *floor doubling until at most half the table
 * is left. A corpus with fewer distinct words is counted exactly; a larger one loses only its
 * rarest words, and the counting memory stays bounded however large the corpus grows. */
static int table_prune(word_table *t, size_t max_words, uint64_t *floor) {
    for (;;) {
        word_table kept = {0};
        for (size_t s = 0; s < t->map.cap; s++) {
            const llmc_strmap_entry *e = &t->map.slots[s];
            if (!e->hash || t->counts[e->value] <= *floor) continue;
            if (table_add(&kept, llmc_strmap_key(&t->map, e), e->key_len, t->counts[e->value])) {
                table_free(&kept);
                return -1;
            }
        }
        table_free(t);
        *t = kept;
        if (t->n <= max_words / 2) return 0;
        *floor = *floor ? *floor * 2 : 1;
    }
}

typedef struct counter {
    llmc_tokenizer *t;
    word_table words;
    size_t max_words;      /* 0 = no bound */
    uint64_t floor;        /* words counted at most this often were dropped (0: none) */
    uint64_t byte_counts[256];
    uint64_t bytes, documents, characters;
    int failed;
    llmc_diags *d;
} counter;

static int on_word(void *ctx, const char *w, size_t n) {
    counter *k = ctx;
    if (table_add(&k->words, w, n, 1)) return -1;
    if (k->max_words && k->words.n >= k->max_words) {
        if (!k->floor) k->floor = 1;
        return table_prune(&k->words, k->max_words, &k->floor);
    }
    return 0;
}

typedef struct count_job {
    queue q;
    counter *workers;
    int n_workers;
} count_job;

static void count_chunk(counter *k, chunk *c) {
    size_t off = 0;
    for (size_t i = 0; i < c->n_docs && !k->failed; i++) {
        const char *s = c->text.p + off;
        size_t n = c->doc_len[i];
        off += n;
        k->documents++;
        k->bytes += n;
        for (size_t j = 0; j < n; j++) {
            unsigned char b = (unsigned char)s[j];
            k->byte_counts[b]++;
            k->characters += (b & 0xC0) != 0x80;
        }
        if (llmc_tok_words(k->t, s, n, on_word, k, k->d)) k->failed = 1;
    }
}

typedef struct worker_arg {
    count_job *job;
    counter *k;
} worker_arg;

static void *count_worker(void *arg) {
    worker_arg *a = arg;
    chunk *c;
    while ((c = queue_pop(&a->job->q))) {
        count_chunk(a->k, c);
        chunk_free(c);
    }
    return NULL;
}

static int count_sink(void *ctx, chunk *c) {
    count_job *j = ctx;
    if (j->n_workers == 0) {
        count_chunk(&j->workers[0], c);
        chunk_free(c);
        return j->workers[0].failed ? -1 : 0;
    }
    queue_push(&j->q, c);
    return 0;
}

struct llmc_tok_counts {
    llmc_tok_corpus_stats stats;
    word_table table;
    llmc_tok_word *words;
    llmc_tok_char_count *chars;
};

static int cmp_word(const void *a, const void *b) {
    const llmc_tok_word *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

void llmc_tok_counts_free(llmc_tok_counts *c) {
    if (!c) return;
    table_free(&c->table);
    free(c->words);
    free(c->chars);
    free(c);
}

const llmc_tok_corpus_stats *llmc_tok_counts_stats(const llmc_tok_counts *c) { return &c->stats; }

static int build_stats(llmc_tok_counts *res, counter *ks, int nk, size_t max_words, llmc_diags *d) {
    word_table *g = &res->table;
    uint64_t floor = 0;
    for (int i = 0; i < nk; i++)
        if (ks[i].floor > floor) floor = ks[i].floor;
    for (int i = 0; i < nk; i++) {
        counter *k = &ks[i];
        for (size_t s = 0; s < k->words.map.cap; s++) {
            const llmc_strmap_entry *e = &k->words.map.slots[s];
            if (!e->hash) continue;
            if (table_add(g, llmc_strmap_key(&k->words.map, e), e->key_len, k->words.counts[e->value]) ||
                (max_words && g->n >= max_words && table_prune(g, max_words, floor ? &floor : (floor = 1, &floor)))) {
                llmc_error(d, NULL, "out of memory while merging word counts");
                return -1;
            }
        }
        table_free(&k->words);
        for (int b = 0; b < 256; b++) res->stats.byte_counts[b] += k->byte_counts[b];
        res->stats.bytes += k->bytes;
        res->stats.documents += k->documents;
        res->stats.characters += k->characters;
    }
    if (floor)
        llmc_warning(d, NULL,
                     "the corpus has more than %zu distinct words: to keep memory bounded, words seen at most %llu "
                     "time(s) were left out of the counts",
                     max_words, (unsigned long long)floor);
    res->words = malloc((g->n ? g->n : 1) * sizeof *res->words);
    if (!res->words) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    size_t n = 0;
    uint64_t total = 0;
    for (size_t s = 0; s < g->map.cap; s++) {
        const llmc_strmap_entry *e = &g->map.slots[s];
        if (!e->hash) continue;
        res->words[n++] = (llmc_tok_word){llmc_strmap_key(&g->map, e), e->key_len, g->counts[e->value]};
        total += g->counts[e->value];
    }
    qsort(res->words, n, sizeof *res->words, cmp_word);
    /* characters of the words, weighted by count */
    llmc_strmap cmap = {0};
    uint64_t *ccount = NULL;
    size_t nc = 0, capc = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const unsigned char *u = (const unsigned char *)res->words[i].text;
        size_t len = res->words[i].len;
        for (size_t j = 0; j < len;) {
            uint32_t cp;
            int k = llmc_utf8_decode(u + j, len - j, &cp);
            j += (size_t)k;
            bool ins;
            uint32_t *slot = llmc_strmap_upsert(&cmap, (const char *)&cp, sizeof cp, (uint32_t)nc, &ins);
            if (!slot) {
                rc = -1;
                break;
            }
            if (ins) {
                if (nc == capc) {
                    capc = capc ? capc * 2 : 256;
                    uint64_t *q = realloc(ccount, capc * sizeof *q);
                    if (!q) {
                        rc = -1;
                        break;
                    }
                    ccount = q;
                }
                ccount[nc++] = 0;
            }
            ccount[*slot] += res->words[i].count;
        }
    }
    if (!rc) {
        res->chars = malloc((nc ? nc : 1) * sizeof *res->chars);
        if (!res->chars) rc = -1;
    }
    if (!rc) {
        size_t k = 0;
        for (size_t s = 0; s < cmap.cap; s++) {
            const llmc_strmap_entry *e = &cmap.slots[s];
            if (!e->hash) continue;
            uint32_t cp;
            memcpy(&cp, llmc_strmap_key(&cmap, e), sizeof cp);
            res->chars[k++] = (llmc_tok_char_count){cp, ccount[e->value]};
        }
        /* sort by code point */
        for (size_t i = 1; i < k; i++) {
            llmc_tok_char_count v = res->chars[i];
            size_t j = i;
            while (j > 0 && res->chars[j - 1].codepoint > v.codepoint) {
                res->chars[j] = res->chars[j - 1];
                j--;
            }
            res->chars[j] = v;
        }
        res->stats.chars = res->chars;
        res->stats.n_chars = k;
    }
    llmc_strmap_free(&cmap);
    free(ccount);
    if (rc) {
        llmc_error(d, NULL, "out of memory while counting characters");
        return -1;
    }
    res->stats.struct_size = sizeof res->stats;
    res->stats.words = res->words;
    res->stats.n_words = n;
    res->stats.total_words = total;
    return 0;
}

llmc_tok_counts *llmc_tok_count_corpus(const llmc_tokenizer *t, const llmc_tok_corpus_params *p,
                                       bool keep_line_endings, int *exit_code, llmc_diags *d) {
    if (exit_code) *exit_code = LLMC_EXIT_IO;
    int nt = p->threads < 1 ? 1 : p->threads;
    llmc_tok_counts *res = calloc(1, sizeof *res);
    count_job job = {0};
    job.workers = calloc((size_t)nt, sizeof *job.workers);
    worker_arg *args = calloc((size_t)nt, sizeof *args);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    if (!res || !job.workers || !args || !th) {
        free(res);
        free(job.workers);
        free(args);
        free(th);
        llmc_error(d, NULL, "out of memory");
        return NULL;
    }
    feed f = {0};
    f.p = p;
    f.lossless = llmc_tokenizer_lossless(t);
    f.keep_line_endings = keep_line_endings;
    int rc = 0;
    int started = 0;
    llmc_diags **wd = calloc((size_t)nt, sizeof *wd);
    for (int i = 0; i < nt && !rc; i++) {
        job.workers[i].t = llmc_tokenizer_clone(t);
        job.workers[i].max_words = p->max_words;
        wd[i] = llmc_diags_create();
        job.workers[i].d = wd[i];
        if (!job.workers[i].t || !wd[i]) rc = -1;
    }
    /* one thread: count in the reader thread; more: workers behind a queue of 2 chunks each */
    job.n_workers = nt > 1 ? nt : 0;
    if (!rc && job.n_workers) {
        queue_init(&job.q, (size_t)nt * 2);
        for (int i = 0; i < nt; i++) {
            args[i] = (worker_arg){&job, &job.workers[i]};
            if (pthread_create(&th[i], NULL, count_worker, &args[i]) == 0) started++;
        }
        if (started == 0) job.n_workers = 0;
    }
    if (!rc) rc = feed_all(&f, d, count_sink, &job);
    if (job.n_workers || started) {
        queue_close(&job.q);
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        queue_destroy(&job.q);
    }
    for (int i = 0; i < nt; i++) {
        if (job.workers[i].failed) rc = -1;
        if (wd[i]) {
            llmc_diags_take(d, wd[i]);
            llmc_diags_free(wd[i]);
        }
        llmc_tokenizer_free(job.workers[i].t);
    }
    free(wd);
    if (!rc) rc = build_stats(res, job.workers, nt, p->max_words, d);
    else
        for (int i = 0; i < nt; i++) table_free(&job.workers[i].words);
    res->stats.invalid_utf8 = f.invalid_bytes;
    if (!rc && f.invalid_bytes && !f.lossless) {
        llmc_warning(d, NULL, "%llu invalid UTF-8 byte(s) in the corpus were replaced by U+FFFD",
                     (unsigned long long)f.invalid_bytes);
    }
    free(job.workers);
    free(args);
    free(th);
    if (rc) {
        if (exit_code && f.exit_code) *exit_code = f.exit_code;
        llmc_tok_counts_free(res);
        return NULL;
    }
    return res;
}

/* ---- encoding a corpus ---------------------------------------------------------------------------------------- */

typedef struct enc_job {
    queue q;
    const llmc_tokenizer *t;
    int64_t separator;
    int64_t bos;            /* put before a document whose ids do not start with it; -1: none */
    bool add_special;
    /* results in order */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk **done;           /* by seq % cap */
    size_t cap;
    uint64_t next_write;
    FILE *out;
    bool u16;
    uint64_t tokens, documents;
    int failed;
    char failure[512];
    llmc_tokenizer *solo;   /* one-thread mode */
    int n_workers;
    uint64_t in_flight;
} enc_job;

static void encode_chunk(enc_job *j, llmc_tokenizer *t, chunk *c) {
    size_t off = 0;
    llmc_diags *d = llmc_diags_create();
    for (size_t i = 0; i < c->n_docs; i++) {
        if (j->separator >= 0 && llmc_tok_ids_push(&c->ids, (uint32_t)j->separator)) {
            c->failed = 1;
            break;
        }
        const size_t start = c->ids.n;
        if (llmc_tokenizer_encode(t, c->text.p + off, c->doc_len[i], j->add_special, &c->ids, d)) {
            c->failed = 1;
            break;
        }
        if (j->bos >= 0 && (c->ids.n == start || c->ids.ids[start] != (uint32_t)j->bos)) {
            if (llmc_tok_ids_push(&c->ids, 0)) {
                c->failed = 1;
                break;
            }
            memmove(c->ids.ids + start + 1, c->ids.ids + start, (c->ids.n - 1 - start) * sizeof *c->ids.ids);
            c->ids.ids[start] = (uint32_t)j->bos;
        }
        off += c->doc_len[i];
    }
    llmc_diags_free(d);
    tok_buf_free(&c->text);
}

static int write_chunk(enc_job *j, chunk *c) {
    if (c->failed) return -1;
    size_t n = c->ids.n;
    if (!j->out) { /* counting only (llmc_tok_count_tokens) */
        j->tokens += n;
        j->documents += c->n_docs;
        return 0;
    }
    if (j->u16) {
        uint16_t *b = malloc((n ? n : 1) * sizeof *b);
        if (!b) return -1;
        for (size_t i = 0; i < n; i++) {
            uint16_t v = (uint16_t)c->ids.ids[i];
            unsigned char le[2] = {(unsigned char)(v & 0xFF), (unsigned char)(v >> 8)};
            memcpy(&b[i], le, 2);
        }
        size_t w = fwrite(b, 2, n, j->out);
        free(b);
        if (w != n) return -1;
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t v = c->ids.ids[i];
            unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                                   (unsigned char)(v >> 24)};
            memcpy(&c->ids.ids[i], le, 4);
        }
        if (fwrite(c->ids.ids, 4, n, j->out) != n) return -1;
    }
    j->tokens += n;
    j->documents += c->n_docs;
    return 0;
}

/* write every finished chunk that is next in order (caller holds mu) */
static void drain_locked(enc_job *j) {
    for (;;) {
        chunk *c = j->done[j->next_write % j->cap];
        if (!c || c->seq != j->next_write) break;
        j->done[j->next_write % j->cap] = NULL;
        if (!j->failed && write_chunk(j, c)) {
            j->failed = 1;
            snprintf(j->failure, sizeof j->failure, "%s", c->failed ? "encoding failed (out of memory)" : strerror(errno));
        }
        chunk_free(c);
        j->next_write++;
        j->in_flight--;
        pthread_cond_broadcast(&j->cv);
    }
}

static void *enc_worker(void *arg) {
    enc_job *j = ((void **)arg)[0];
    llmc_tokenizer *t = ((void **)arg)[1];
    chunk *c;
    while ((c = queue_pop(&j->q))) {
        encode_chunk(j, t, c);
        pthread_mutex_lock(&j->mu);
        j->done[c->seq % j->cap] = c;
        drain_locked(j);
        pthread_mutex_unlock(&j->mu);
    }
    return NULL;
}

static int enc_sink(void *ctx, chunk *c) {
    enc_job *j = ctx;
    if (!j->n_workers) {
        encode_chunk(j, j->solo, c);
        int rc = write_chunk(j, c);
        if (rc) snprintf(j->failure, sizeof j->failure, "%s", c->failed ? "encoding failed" : strerror(errno));
        chunk_free(c);
        return rc;
    }
    /* bound the chunks in flight (queued, encoding, or waiting to be written in order) */
    pthread_mutex_lock(&j->mu);
    while (j->in_flight >= j->cap) pthread_cond_wait(&j->cv, &j->mu);
    j->in_flight++;
    bool failed = j->failed;
    pthread_mutex_unlock(&j->mu);
    if (failed) {
        chunk_free(c);
        return -1;
    }
    queue_push(&j->q, c);
    return 0;
}

/* out == NULL: count the tokens into *counted without writing anything */
static int encode_corpus(const llmc_tokenizer *t, const llmc_tok_corpus_params *p, const char *out,
                         const char *separator, bool add_special_tokens, bool add_bos, bool force, uint64_t *counted,
                         llmc_diags *d) {
    char side[4096], tmp[4096], side_tmp[4096];
    side[0] = tmp[0] = side_tmp[0] = '\0';
    if (out && ((size_t)snprintf(side, sizeof side, "%s.json", out) >= sizeof side ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out) >= sizeof tmp ||
        (size_t)snprintf(side_tmp, sizeof side_tmp, "%s.json.tmp-XXXXXX", out) >= sizeof side_tmp)) {
        llmc_error(d, "-o", "path too long");
        return LLMC_EXIT_USAGE;
    }
    struct stat st;
    if (out && !force && (stat(out, &st) == 0 || stat(side, &st) == 0)) {
        llmc_error(d, "-o", "%s exists (add --force to replace it and %s)", stat(out, &st) == 0 ? out : side, side);
        return LLMC_EXIT_IO;
    }
    enc_job j = {0};
    j.t = t;
    j.add_special = add_special_tokens;
    j.separator = -1;
    j.bos = -1;
    if (add_bos && (j.bos = llmc_tokenizer_special_id(t, LLMC_TOK_BOS)) < 0) {
        llmc_error(d, "--bos", "this tokenizer has no bos token (train it with --special bos=TOKEN, or drop --bos)");
        return LLMC_EXIT_USAGE;
    }
    if (separator) {
        j.separator = llmc_tokenizer_piece_to_id(t, separator, strlen(separator));
        if (j.separator < 0) {
            llmc_error(d, "--separator", "'%s' is not a token of this tokenizer", separator);
            return LLMC_EXIT_USAGE;
        }
    }
    uint32_t vs = llmc_tokenizer_vocab_size(t);
    j.u16 = vs <= 65536;
    int fd = out ? mkstemp(tmp) : 0;
    if (out && (fd < 0 || !(j.out = fdopen(fd, "wb")))) {
        llmc_error(d, "-o", "%s: cannot create: %s", out, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return LLMC_EXIT_IO;
    }
    int nt = p->threads < 1 ? 1 : p->threads;
    j.n_workers = nt > 1 ? nt : 0;
    j.cap = (size_t)nt * 3 + 1;
    j.done = calloc(j.cap, sizeof *j.done);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    llmc_tokenizer **clones = calloc((size_t)nt, sizeof *clones);
    void *(*args)[2] = calloc((size_t)nt, sizeof *args);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    int started = 0, rc = 0;
    if (!j.done || !clones || !args || !th) rc = -1;
    for (int i = 0; i < nt && !rc; i++)
        if (!(clones[i] = llmc_tokenizer_clone(t))) rc = -1;
    if (!rc && j.n_workers) {
        queue_init(&j.q, (size_t)nt * 2);
        for (int i = 0; i < nt; i++) {
            args[i][0] = &j;
            args[i][1] = clones[i];
            if (pthread_create(&th[i], NULL, enc_worker, args[i]) == 0) started++;
        }
        if (!started) {
            queue_destroy(&j.q);
            j.n_workers = 0;
        }
    }
    j.solo = clones ? clones[0] : NULL;
    feed f = {0};
    f.p = p;
    f.lossless = llmc_tokenizer_lossless(t);
    f.keep_line_endings = true;
    if (!rc) rc = feed_all(&f, d, enc_sink, &j);
    if (j.n_workers) {
        queue_close(&j.q);
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        queue_destroy(&j.q);
    }
    if (j.failed) rc = -1;
    if (rc && j.failure[0]) llmc_error(d, out ? "-o" : NULL, "%s: %s", out ? out : "counting tokens", j.failure);
    int fail_code = f.exit_code ? f.exit_code : LLMC_EXIT_IO;
    for (int i = 0; i < nt && clones; i++) llmc_tokenizer_free(clones[i]);
    free(clones);
    free(args);
    free(th);
    free(j.done);
    pthread_mutex_destroy(&j.mu);
    pthread_cond_destroy(&j.cv);
    if (!out) {
        if (!rc && counted) *counted = j.tokens;
        if (rc && !j.failure[0] && !llmc_diags_errors(d)) llmc_error(d, NULL, "encoding the corpus failed (out of memory)");
        return rc ? fail_code : 0;
    }
    if (!rc && (fflush(j.out) != 0 || fsync(fileno(j.out)) != 0)) {
        llmc_error(d, "-o", "%s: cannot write: %s", out, strerror(errno));
        rc = -1;
    }
    if (fclose(j.out) != 0 && !rc) {
        llmc_error(d, "-o", "%s: cannot write: %s", out, strerror(errno));
        rc = -1;
    }
    if (rc) {
        unlink(tmp);
        return fail_code;
    }
    /* the sidecar */
    char hash[65];
    json_t *s = json_object();
    json_t *files = json_array();
    for (size_t i = 0; i < p->n_paths; i++) json_array_append_new(files, json_string(p->paths[i]));
    if (llmc_tokenizer_hash(t, hash)) hash[0] = '\0';
    json_object_set_new(s, "format", json_string("llmc-tokens-v1: flat little-endian token ids, no header"));
    json_object_set_new(s, "dtype", json_string(j.u16 ? "uint16" : "uint32"));
    json_object_set_new(s, "tokens", json_integer((json_int_t)j.tokens));
    json_object_set_new(s, "documents", json_integer((json_int_t)j.documents));
    json_object_set_new(s, "bytes", json_integer((json_int_t)f.done_size));
    json_object_set_new(s, "vocab_size", json_integer(vs));
    json_object_set_new(s, "tokenizer_hash", json_string(hash));
    json_object_set_new(s, "tokenizer_model", json_string(llmc_tokenizer_model_type(t)));
    json_object_set_new(s, "add_special_tokens", json_boolean(add_special_tokens));
    json_object_set_new(s, "separator", separator ? json_string(separator) : json_null());
    json_object_set_new(s, "bos", json_boolean(add_bos));
    json_object_set_new(s, "invalid_utf8_bytes", json_integer((json_int_t)f.invalid_bytes));
    json_object_set_new(s, "files", files);
    char *text = json_dumps(s, JSON_INDENT(2));
    json_decref(s);
    int sfd = text ? mkstemp(side_tmp) : -1;
    size_t tl = text ? strlen(text) : 0;
    bool ok = sfd >= 0 && write(sfd, text, tl) == (ssize_t)tl && write(sfd, "\n", 1) == 1 && fsync(sfd) == 0;
    if (sfd >= 0 && close(sfd) != 0) ok = false;
    free(text);
    if (!ok || rename(tmp, out) != 0 || rename(side_tmp, side) != 0) {
        llmc_error(d, "-o", "%s: cannot write: %s", ok ? out : side, strerror(errno));
        unlink(tmp);
        if (sfd >= 0) unlink(side_tmp);
        return LLMC_EXIT_IO;
    }
    if (f.invalid_bytes && !f.lossless)
        llmc_warning(d, NULL, "%llu invalid UTF-8 byte(s) were encoded as U+FFFD", (unsigned long long)f.invalid_bytes);
    return 0;
}

int llmc_tok_encode_corpus(const llmc_tokenizer *t, const llmc_tok_corpus_params *p, const char *out,
                           const char *separator, bool add_special_tokens, bool add_bos, bool force, llmc_diags *d) {
    if (!out) {
        llmc_error(d, "-o", "no output file given");
        return LLMC_EXIT_USAGE;
    }
    return encode_corpus(t, p, out, separator, add_special_tokens, add_bos, force, NULL, d);
}

int llmc_tok_count_tokens(const llmc_tokenizer *t, const llmc_tok_corpus_params *p, bool add_special_tokens,
                          uint64_t *tokens, llmc_diags *d) {
    *tokens = 0;
    return encode_corpus(t, p, NULL, NULL, add_special_tokens, false, false, tokens, d);
}
