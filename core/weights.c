/* The weight source (weights.h): parameter and view reads, and the streaming writers.
 *
 * A read produces f32 first (the init generator's native type, or the checkpoint's values
 * decoded), then converts to the dtype asked for, in bounded pieces. Views are assembled
 * from their parts: a concatenation along dim 0 is a contiguous run of each part's
 * elements; a transpose gathers a column band of every source row; the RoPE permutation
 * moves whole rows. Nothing here mutates the source after creation, so any number of
 * threads may read at once.
 *
 * Writes run on a small pthread pool: workers fill numbered chunk buffers, the calling
 * thread writes them to the file strictly in order and recycles the buffers. Memory is
 * 2 * threads + 2 chunk buffers (about 2 MiB each for weights) whatever the model size. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "interrupt.h"
#include "llmc/output.h"
#include "util.h"
#include "weights_internal.h"

#define PIECE 4096               /* f32 staging on the stack for parameter reads */
#define VIEW_PIECE (1u << 20)    /* elements per staged view piece (4 MiB of f32) */
#define WRITE_CHUNK (1u << 20)   /* elements per write chunk */

/* ---- creation ---------------------------------------------------------------------------------- */

llmc_weight_source *llmc_weights_create_init(const llmc_ir *ir, uint64_t seed, llmc_diags *d) {
    if (!ir) {
        llmc_error(d, NULL, "weights: no IR to initialise");
        return NULL;
    }
    llmc_weight_source *ws = calloc(1, sizeof *ws);
    size_t n = llmc_ir_num_tensors(ir);
    if (ws) ws->streams = calloc(n ? n : 1, sizeof *ws->streams);
    if (!ws || !ws->streams) {
        free(ws);
        llmc_error(d, NULL, "out of memory creating the weight source");
        return NULL;
    }
    ws->kind = LLMC_WEIGHTS_INIT;
    ws->ir = ir;
    ws->seed = seed;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind != LLMC_TENSOR_PARAM) continue;
        ws->streams[i] = llmc_init_stream_for(seed, t->name);
        if ((unsigned)t->init.kind >= LLMC_PINIT_KIND_COUNT ||
            (t->init.kind == LLMC_PINIT_NORMAL && !(isfinite(t->init.std) && t->init.std >= 0.0))) {
            llmc_error(d, NULL, "weights: parameter '%s' has an invalid init rule (%s, std %g)", t->name,
                       llmc_init_kind_name(t->init.kind), t->init.std);
            bad = 1;
        }
    }
    if (bad) {
        llmc_weights_free(ws);
        return NULL;
    }
    return ws;
}

void llmc_weights_free(llmc_weight_source *ws) {
    if (!ws) return;
    free(ws->streams);
    llmc_ckpt_free(ws);
    free(ws->path);
    free(ws);
}

llmc_weight_source_kind llmc_weights_kind(const llmc_weight_source *ws) { return ws ? ws->kind : LLMC_WEIGHTS_INIT; }
uint64_t llmc_weights_seed(const llmc_weight_source *ws) { return ws ? ws->seed : 0; }
const char *llmc_weights_path(const llmc_weight_source *ws) { return ws ? ws->path : NULL; }

/* ---- parameter reads -------------------------------------------------------------------------------- */

static const llmc_tensor_info *param_info(const llmc_weight_source *ws, llmc_tid t, uint64_t *numel) {
    if (t < 0 || (size_t)t >= llmc_ir_num_tensors(ws->ir)) return NULL;
    const llmc_tensor_info *ti = llmc_ir_tensor(ws->ir, t);
    if (!ti || ti->kind != LLMC_TENSOR_PARAM || llmc_tensor_numel(ti, numel) != 0) return NULL;
    return ti;
}

static int check_range(const char *what, uint64_t numel, uint64_t off, uint64_t count, llmc_diags *d) {
    uint64_t end;
    if (!llmc_add_u64(off, count, &end) || end > numel) {
        llmc_error(d, NULL, "weights: elements [%llu, +%llu) are outside '%s' (%llu elements)",
                   (unsigned long long)off, (unsigned long long)count, what, (unsigned long long)numel);
        return -1;
    }
    return 0;
}

/* f32 values of parameter t, range checked by the caller */
static int param_f32(const llmc_weight_source *ws, llmc_tid t, uint64_t off, uint64_t count, float *out,
                     llmc_diags *d) {
    if (ws->kind == LLMC_WEIGHTS_CHECKPOINT) return llmc_ckpt_param_f32(ws, t, off, count, out, d);
    const llmc_tensor_info *ti = llmc_ir_tensor(ws->ir, t);
    switch (ti->init.kind) {
    case LLMC_PINIT_NORMAL:
        llmc_init_normal_fill(&ws->streams[t], ti->init.std, off, count, out);
        return 0;
    case LLMC_PINIT_ONES:
        for (uint64_t i = 0; i < count; i++) out[i] = 1.0f;
        return 0;
    case LLMC_PINIT_ZEROS:
        memset(out, 0, count * sizeof *out);
        return 0;
    default:
        llmc_error(d, NULL, "weights: parameter '%s' has an unknown init kind %d", ti->name, (int)ti->init.kind);
        return -1;
    }
}

/* values of parameter t in dt (F32, F16, BF16), range checked by the caller */
static int param_out(const llmc_weight_source *ws, llmc_tid t, uint64_t off, uint64_t count, llmc_dtype dt,
                     void *out, llmc_diags *d) {
    if (dt == LLMC_DTYPE_F32) return param_f32(ws, t, off, count, out, d);
    if (dt == LLMC_DTYPE_BF16 && ws->kind == LLMC_WEIGHTS_INIT &&
        llmc_ir_tensor(ws->ir, t)->init.kind == LLMC_PINIT_NORMAL) {
        llmc_init_normal_fill_bf16(&ws->streams[t], llmc_ir_tensor(ws->ir, t)->init.std, off, count, out);
        return 0;
    }
    float buf[PIECE];
    size_t es = llmc_dtype_size(dt);
    for (uint64_t k = 0; k < count; k += PIECE) {
        size_t n = count - k < PIECE ? (size_t)(count - k) : PIECE;
        if (param_f32(ws, t, off + k, n, buf, d)) return -1;
        llmc_convert_from_f32(buf, n, dt, (char *)out + k * es);
    }
    return 0;
}

static int check_dtype(llmc_dtype dt, llmc_diags *d) {
    if (dt == LLMC_DTYPE_F32 || dt == LLMC_DTYPE_F16 || dt == LLMC_DTYPE_BF16) return 0;
    llmc_error(d, NULL, "weights: cannot produce dtype %s (expected f32, f16 or bf16)", llmc_dtype_name(dt));
    return -1;
}

int llmc_weights_read(llmc_weight_source *ws, llmc_tid t, uint64_t offset, uint64_t count, llmc_dtype dt,
                      void *out, llmc_diags *d) {
    uint64_t numel;
    if (!ws || !out) {
        llmc_error(d, NULL, "weights: read without a source or an output buffer");
        return -1;
    }
    const llmc_tensor_info *ti = param_info(ws, t, &numel);
    if (!ti) {
        llmc_error(d, NULL, "weights: tensor id %d is not a parameter of the IR", (int)t);
        return -1;
    }
    if (check_dtype(dt, d) || check_range(ti->name, numel, offset, count, d)) return -1;
    return param_out(ws, t, offset, count, dt, out, d);
}

/* ---- view reads ------------------------------------------------------------------------------------------ */

/* Elements [e0, e0 + n) of the concatenation of v's parts (before the transform), in dt. */
static int concat_out(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t e0, uint64_t n, llmc_dtype dt,
                      void *out, llmc_diags *d) {
    uint64_t base = 0;
    size_t es = llmc_dtype_size(dt);
    char *o = out;
    for (int i = 0; i < v->n_parts && n; i++) {
        uint64_t pn;
        llmc_tensor_numel(llmc_ir_tensor(ws->ir, v->parts[i]), &pn);
        if (e0 < base + pn) {
            uint64_t a = e0 - base, k = pn - a < n ? pn - a : n;
            if (param_out(ws, v->parts[i], a, k, dt, o, d)) return -1;
            o += k * es;
            e0 += k;
            n -= k;
        }
        base += pn;
    }
    return 0;
}

static int concat_f32(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t e0, uint64_t n, float *out,
                      llmc_diags *d) {
    return concat_out(ws, v, e0, n, LLMC_DTYPE_F32, out, d);
}

/* ---- reusable buffers ----------------------------------------------------------------------------------
 * Chunk and staging buffers are megabytes each and needed for every view written. Fresh
 * malloc'd memory of that size comes from mmap and is zero-filled page by page on first
 * touch, which costs as much kernel time as writing the data; so freed buffers are kept
 * (at most CACHE_SLOTS of them, CACHE_MAX_BYTES in total) and handed out again. */
#define CACHE_SLOTS 32
#define CACHE_MAX_BUF (64u << 20)
#define CACHE_MAX_BYTES (256u << 20)

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { void *p; size_t cap; } cache[CACHE_SLOTS];
static size_t cache_bytes;

static void *buf_get(size_t n, size_t *cap) {
    pthread_mutex_lock(&cache_mu);
    int best = -1;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].p && cache[i].cap >= n && (best < 0 || cache[i].cap < cache[best].cap)) best = i;
    void *p = NULL;
    if (best >= 0) {
        p = cache[best].p;
        *cap = cache[best].cap;
        cache_bytes -= cache[best].cap;
        cache[best].p = NULL;
    }
    pthread_mutex_unlock(&cache_mu);
    if (!p) {
        p = malloc(n ? n : 1);
        *cap = n;
    }
    return p;
}

static void buf_put(void *p, size_t cap) {
    if (!p) return;
    pthread_mutex_lock(&cache_mu);
    if (cap <= CACHE_MAX_BUF && cache_bytes + cap <= CACHE_MAX_BYTES) {
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (!cache[i].p) {
                cache[i].p = p;
                cache[i].cap = cap;
                cache_bytes += cap;
                p = NULL;
                break;
            }
        }
    }
    pthread_mutex_unlock(&cache_mu);
    free(p);
}

__attribute__((destructor)) static void cache_release(void) {
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(cache[i].p);
        cache[i].p = NULL;
    }
    cache_bytes = 0;
}

typedef struct scratch {
    float *p;
    size_t cap;   /* floats */
} scratch;

static float *scratch_get(scratch *s, uint64_t n, llmc_diags *d) {
    if (n > s->cap) {
        buf_put(s->p, s->cap * sizeof(float));
        s->p = NULL;
        s->cap = 0;
        size_t bytes = 0;
        float *p = n <= SIZE_MAX / sizeof(float) ? buf_get((size_t)n * sizeof(float), &bytes) : NULL;
        if (!p) {
            llmc_error(d, NULL, "weights: out of memory for a %llu-element staging buffer", (unsigned long long)n);
            return NULL;
        }
        s->p = p;
        s->cap = bytes / sizeof(float);
    }
    return s->p;
}

static void scratch_release(scratch *s) {
    buf_put(s->p, s->cap * sizeof(float));
    s->p = NULL;
    s->cap = 0;
}

/* Elements [off, off + count) of the stored view as f32. */
static int view_f32(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t off, uint64_t count,
                    float *out, scratch *sc, llmc_diags *d) {
    if (count == 0) return 0;
    switch (v->transform) {
    case LLMC_VIEW_IDENTITY:
        return concat_f32(ws, v, off, count, out, d);
    case LLMC_VIEW_EXPERT: /* expert `index` is the index-th block of numel(view) elements of the stack */
        return concat_f32(ws, v, (uint64_t)v->index * llmc_view_numel(v) + off, count, out, d);
    case LLMC_VIEW_TRANSPOSE: {
        /* stored [C, R] = concat [R, C]^T: stored element s = c * R + r. Gather the band of
         * concat columns c0..c1 from every concat row, then pick. */
        uint64_t R = (uint64_t)v->shape[1], C = (uint64_t)v->shape[0];
        uint64_t c0 = off / R, c1 = (off + count - 1) / R, w = c1 - c0 + 1;
        float *band = scratch_get(sc, R * w, d);
        if (!band) return -1;
        for (uint64_t r = 0; r < R; r++)
            if (concat_f32(ws, v, r * C + c0, w, band + r * w, d)) return -1;
        uint64_t s = off, end = off + count;
        while (s < end) {
            uint64_t c = s / R, r = s % R;
            uint64_t stop = (c + 1) * R < end ? (c + 1) * R : end;
            const float *col = band + (c - c0);
            for (; s < stop; s++, r++) *out++ = col[r * w];
        }
        return 0;
    }
    case LLMC_VIEW_ROPE_PERMUTE: {
        /* rows permuted within each head: stored row h*hd + 2i + j = source row h*hd + j*hd/2 + i */
        uint64_t N = (uint64_t)v->shape[0], C = v->rank == 2 ? (uint64_t)v->shape[1] : 1;
        uint64_t nh = (uint64_t)v->n_head, hd = nh ? N / nh : 0;
        uint64_t s = off, end = off + count;
        while (s < end) {
            uint64_t row = s / C, col = s % C;
            uint64_t stop = (row + 1) * C < end ? (row + 1) * C : end;
            uint64_t h = row / hd, q = row % hd, i = q / 2, j = q % 2;
            uint64_t src = h * hd + j * (hd / 2) + i;
            if (concat_f32(ws, v, src * C + col, stop - s, out, d)) return -1;
            out += stop - s;
            s = stop;
        }
        return 0;
    }
    }
    llmc_error(d, NULL, "weights: view '%s' has an unknown transform %d", v->name, (int)v->transform);
    return -1;
}

/* The view must be a consistent function of IR parameters. */
static int check_view(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t *numel, llmc_diags *d) {
    if (v->n_parts < 1 || v->n_parts > LLMC_VIEW_MAX_PARTS || v->rank < 1 || v->rank > LLMC_IR_MAX_RANK) {
        llmc_error(d, NULL, "weights: view '%.*s' is malformed (%d parts, rank %d)", LLMC_VIEW_NAME_MAX, v->name,
                   v->n_parts, v->rank);
        return -1;
    }
    uint64_t sum = 0, pn;
    int64_t rows = 0;
    const llmc_tensor_info *first = NULL;
    for (int i = 0; i < v->n_parts; i++) {
        const llmc_tensor_info *t = param_info(ws, v->parts[i], &pn);
        if (!t) {
            llmc_error(d, NULL, "weights: view '%.*s' part %d is not a parameter of the IR", LLMC_VIEW_NAME_MAX,
                       v->name, i);
            return -1;
        }
        if (!first) first = t;
        bool same = t->rank == first->rank;
        for (int k = 1; same && k < t->rank; k++) same = t->shape[k] == first->shape[k];
        if (!same) {
            llmc_error(d, NULL, "weights: view '%.*s' concatenates '%s' and '%s', whose trailing dims differ",
                       LLMC_VIEW_NAME_MAX, v->name, first->name, t->name);
            return -1;
        }
        sum += pn;
        rows += t->shape[0];
    }
    *numel = llmc_view_numel(v);
    bool shape_ok = *numel == sum;
    if (v->transform == LLMC_VIEW_EXPERT)
        shape_ok = v->n_parts == 1 && first->rank == 3 && v->rank == 2 && v->shape[0] == first->shape[1] &&
                   v->shape[1] == first->shape[2] && v->index >= 0 && v->index < first->shape[0];
    else if (shape_ok && v->transform == LLMC_VIEW_TRANSPOSE)
        shape_ok = v->rank == 2 && first->rank == 2 && v->shape[1] == rows && v->shape[0] == first->shape[1];
    else if (shape_ok)
        shape_ok = v->rank == first->rank && v->shape[0] == rows;
    if (!shape_ok) {
        llmc_error(d, NULL, "weights: view '%.*s' has a shape that does not match its parts", LLMC_VIEW_NAME_MAX,
                   v->name);
        return -1;
    }
    if (v->transform == LLMC_VIEW_ROPE_PERMUTE &&
        (v->n_head < 1 || v->shape[0] % v->n_head != 0 || (v->shape[0] / v->n_head) % 2 != 0)) {
        llmc_error(d, NULL, "weights: view '%.*s': %lld rows do not split into %lld heads of even size",
                   LLMC_VIEW_NAME_MAX, v->name, (long long)v->shape[0], (long long)v->n_head);
        return -1;
    }
    if ((unsigned)v->transform > LLMC_VIEW_EXPERT) {
        llmc_error(d, NULL, "weights: view '%.*s' has an unknown transform %d", LLMC_VIEW_NAME_MAX, v->name,
                   (int)v->transform);
        return -1;
    }
    return 0;
}

static int read_view_checked(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t off, uint64_t count,
                             llmc_dtype dt, void *out, scratch *band, scratch *stage, llmc_diags *d) {
    if (ws->kind == LLMC_WEIGHTS_CHECKPOINT) {
        int direct = llmc_ckpt_view_direct(ws, v, off, count, dt, out, d);
        if (direct != 0) return direct > 0 ? 0 : -1;
    }
    if (dt == LLMC_DTYPE_F32) return view_f32(ws, v, off, count, out, band, d);
    size_t es = llmc_dtype_size(dt);
    if (v->transform == LLMC_VIEW_IDENTITY) return concat_out(ws, v, off, count, dt, out, d);
    for (uint64_t k = 0; k < count; k += VIEW_PIECE) {
        uint64_t n = count - k < VIEW_PIECE ? count - k : VIEW_PIECE;
        float *buf = scratch_get(stage, n, d);
        if (!buf || view_f32(ws, v, off + k, n, buf, band, d)) return -1;
        llmc_convert_from_f32(buf, (size_t)n, dt, (char *)out + k * es);
    }
    return 0;
}

int llmc_weights_read_view(llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t offset, uint64_t count,
                           llmc_dtype dt, void *out, llmc_diags *d) {
    uint64_t numel;
    if (!ws || !v || !out) {
        llmc_error(d, NULL, "weights: view read without a source, a view or an output buffer");
        return -1;
    }
    if (check_dtype(dt, d) || check_view(ws, v, &numel, d) || check_range(v->name, numel, offset, count, d))
        return -1;
    scratch band = {0}, stage = {0};
    int rc = read_view_checked(ws, v, offset, count, dt, out, &band, &stage, d);
    scratch_release(&band);
    scratch_release(&stage);
    return rc;
}

/* ---- ordered parallel writes ------------------------------------------------------------------------------- */

enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_READY };

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* any slot changed state, or stop */
    uint64_t n_chunks, next;    /* next chunk index to hand out */
    size_t n_slots, chunk_bytes;
    unsigned char **buf;
    size_t *len;
    int *state;
    int stop, rc;
    llmc_chunk_fn produce;
    void *user;
} pool;

typedef struct worker {
    pool *p;
    llmc_diags *d;              /* own list: llmc_diags is not thread-safe */
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    pool *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next < p->n_chunks && p->state[p->next % p->n_slots] != SLOT_FREE)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || p->next >= p->n_chunks) break;
        if (llmc_interrupted()) { /* SIGINT/SIGTERM/SIGHUP: stop producing; the writer reports it */
            p->stop = 1;
            pthread_cond_broadcast(&p->cv);
            break;
        }
        uint64_t idx = p->next++;
        size_t s = (size_t)(idx % p->n_slots);
        p->state[s] = SLOT_BUSY;
        pthread_mutex_unlock(&p->mu);
        size_t len = p->chunk_bytes;
        int rc = p->produce(p->user, idx, p->buf[s], &len, w->d);
        if (rc == 0 && len > p->chunk_bytes) {
            llmc_error(w->d, NULL, "internal: chunk %llu produced %zu bytes, more than its %zu-byte buffer",
                       (unsigned long long)idx, len, p->chunk_bytes);
            rc = -1;
        }
        pthread_mutex_lock(&p->mu);
        if (rc != 0) {
            if (!p->stop) p->rc = rc;
            p->stop = 1;
        } else {
            p->len[s] = len;
            p->state[s] = SLOT_READY;
        }
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int llmc_write_chunks_ordered(FILE *f, uint64_t n_chunks, size_t chunk_bytes, llmc_chunk_fn produce, void *user,
                              int threads, struct llmc_progress *progress, llmc_diags *d) {
    if (!f || !produce || chunk_bytes == 0) {
        llmc_error(d, NULL, "internal: chunked write without a file, a producer or a chunk size");
        return -1;
    }
    if (n_chunks == 0) return 0;
    if (threads < 1) threads = 1;
    if ((uint64_t)threads > n_chunks) threads = (int)n_chunks;
    if (threads == 1 && n_chunks == 1) { /* nothing to overlap: do it here */
        size_t cap;
        void *buf = buf_get(chunk_bytes, &cap);
        if (!buf) {
            llmc_error(d, NULL, "out of memory for a %zu-byte write buffer", chunk_bytes);
            return -1;
        }
        size_t len = chunk_bytes;
        int rc = produce(user, 0, buf, &len, d);
        if (rc == 0 && len > chunk_bytes) {
            llmc_error(d, NULL, "internal: chunk 0 produced %zu bytes, more than its %zu-byte buffer", len,
                       chunk_bytes);
            rc = -1;
        }
        if (rc == 0 && len && fwrite(buf, 1, len, f) != len) {
            llmc_error(d, NULL, "write failed: %s", strerror(errno));
            rc = -1;
        }
        if (rc == 0) llmc_progress_add(progress, len);
        buf_put(buf, cap);
        return rc;
    }

    pool p;
    memset(&p, 0, sizeof p);
    p.n_chunks = n_chunks;
    p.chunk_bytes = chunk_bytes;
    p.n_slots = (size_t)threads * 2 + 2;
    if (p.n_slots > n_chunks) p.n_slots = (size_t)n_chunks;
    p.produce = produce;
    p.user = user;
    p.buf = calloc(p.n_slots, sizeof *p.buf);
    p.len = calloc(p.n_slots, sizeof *p.len);
    p.state = calloc(p.n_slots, sizeof *p.state);
    worker *ws = calloc((size_t)threads, sizeof *ws);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int rc = 0, started = 0;
    if (!p.buf || !p.len || !p.state || !ws || !tid) rc = -1;
    size_t *caps = calloc(p.n_slots, sizeof *caps);
    if (!caps) rc = -1;
    for (size_t i = 0; rc == 0 && i < p.n_slots; i++)
        if (!(p.buf[i] = buf_get(chunk_bytes, &caps[i]))) rc = -1;
    if (rc) {
        llmc_error(d, NULL, "out of memory for %zu write buffers of %zu bytes", p.n_slots, chunk_bytes);
        goto out;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    /* workers inherit a mask that blocks the stop signals: they are delivered to this thread */
    sigset_t old_mask;
    llmc_block_stop_signals(&old_mask);
    for (int i = 0; i < threads; i++) {
        ws[i].p = &p;
        ws[i].d = llmc_diags_create();
        if (!ws[i].d || pthread_create(&tid[i], NULL, worker_main, &ws[i]) != 0) {
            llmc_diags_free(ws[i].d);
            ws[i].d = NULL;
            break;
        }
        started++;
    }
    llmc_restore_signal_mask(&old_mask);
    if (started == 0) {
        llmc_error(d, NULL, "cannot start a worker thread");
        rc = -1;
        goto destroy;
    }

    /* the writer: this thread, in chunk order */
    uint64_t w = 0;
    for (; w < n_chunks; w++) {
        size_t s = (size_t)(w % p.n_slots);
        pthread_mutex_lock(&p.mu);
        while (!p.stop && p.state[s] != SLOT_READY) pthread_cond_wait(&p.cv, &p.mu);
        int stopped = p.stop;
        pthread_mutex_unlock(&p.mu);
        if (stopped) break;
        if (llmc_interrupted()) break; /* reported below, after the workers stopped */
        if (p.len[s] && fwrite(p.buf[s], 1, p.len[s], f) != p.len[s]) {
            llmc_error(d, NULL, "write failed: %s", strerror(errno));
            pthread_mutex_lock(&p.mu);
            if (!p.stop) p.rc = -1;
            p.stop = 1;
            pthread_cond_broadcast(&p.cv);
            pthread_mutex_unlock(&p.mu);
            break;
        }
        llmc_progress_add(progress, p.len[s]);
        pthread_mutex_lock(&p.mu);
        p.state[s] = SLOT_FREE;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = 1; /* release workers still waiting (only after an error or a signal) */
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    rc = p.rc;
    if (rc == 0 && w < n_chunks) { /* stopped early on a signal: the file is incomplete */
        llmc_error(d, NULL, "interrupted by %s before the write finished", llmc_signal_name(llmc_interrupted()));
        rc = -1;
    }
    for (int i = 0; i < started; i++) llmc_diags_take(d, ws[i].d);
destroy:
    for (int i = 0; i < started; i++) llmc_diags_free(ws[i].d);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
out:
    for (size_t i = 0; p.buf && caps && i < p.n_slots; i++) buf_put(p.buf[i], caps[i]);
    free(caps);
    free(p.buf);
    free(p.len);
    free(p.state);
    free(ws);
    free(tid);
    return rc;
}

/* ---- writing a view ------------------------------------------------------------------------------------------ */

typedef struct view_job {
    const llmc_weight_source *ws;
    const llmc_tensor_view *v;
    llmc_dtype dt;
    uint64_t numel, chunk;
} view_job;

static int produce_view_chunk(void *user, uint64_t idx, void *buf, size_t *len, llmc_diags *d) {
    const view_job *j = user;
    uint64_t off = idx * j->chunk, n = j->numel - off < j->chunk ? j->numel - off : j->chunk;
    scratch band = {0}, stage = {0};
    int rc = read_view_checked(j->ws, j->v, off, n, j->dt, buf, &band, &stage, d);
    scratch_release(&band);
    scratch_release(&stage);
    *len = (size_t)n * llmc_dtype_size(j->dt);
    return rc;
}

int llmc_weights_write_view(llmc_weight_source *ws, const llmc_tensor_view *v, llmc_dtype dt, FILE *f, int threads,
                            struct llmc_progress *progress, llmc_diags *d) {
    uint64_t numel;
    if (!ws || !v || !f) {
        llmc_error(d, NULL, "weights: view write without a source, a view or a file");
        return -1;
    }
    if (check_dtype(dt, d) || check_view(ws, v, &numel, d)) return -1;
    view_job j = {ws, v, dt, numel, WRITE_CHUNK};
    uint64_t n_chunks = (numel + WRITE_CHUNK - 1) / WRITE_CHUNK;
    int rc = llmc_write_chunks_ordered(f, n_chunks, (size_t)WRITE_CHUNK * llmc_dtype_size(dt), produce_view_chunk,
                                       &j, threads, progress, d);
    if (rc && llmc_diags_errors(d) == 0) llmc_error(d, NULL, "weights: writing '%s' failed", v->name);
    return rc;
}
