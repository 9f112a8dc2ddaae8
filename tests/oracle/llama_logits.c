/* llama_logits — the real-llama.cpp oracle for llmc's GGUF tests and benchmarks.
 *
 * Built only when the prebuilt llama.cpp of node-llama-cpp is present (scripts/setup-oracles.sh;
 * tests/CMakeLists.txt). It loads a GGUF with libllama exactly as a user would, with settings that
 * make the comparison exact rather than fast: K/V cache in F32 and flash attention off.
 *
 *   llama_logits logits MODEL.gguf --tokens 1,2,3 [--decoder-tokens 0,4] --out FILE [--threads N]
 *       Logits of every position, float32 row-major [positions x vocab], written to FILE.
 *       Decoder-only models: one batch of --tokens with logits for every position.
 *       Encoder-decoder models (T5): llama_encode(--tokens), then llama_decode(--decoder-tokens).
 *       Prints "positions P vocab V" on stdout.
 *   llama_logits tokenize MODEL.gguf TEXTFILE
 *       Token ids of the file's bytes (no specials added or parsed), space separated.
 *   llama_logits detokenize MODEL.gguf ID...
 *       The bytes of the ids (specials not rendered) on stdout, nothing else.
 *   llama_logits tokenize-lines MODEL.gguf TEXTFILE
 *       For every line of the file (without its '\n'): llama_tokenize (no specials added, special
 *       token text parsed as HF does), then the pieces of those ids (llama_token_to_piece, specials
 *       rendered) concatenated: "id id id<TAB>hex of the pieces' bytes", one output line per line.
 *   llama_logits vocab MODEL.gguf
 *       What llama.cpp read of the vocabulary, one "key value" per line: type, n_tokens, bos, eos,
 *       pad, sep, add_bos, add_eos, add_sep, decoder_start (-1 = none).
 *   llama_logits generate MODEL.gguf TEXTFILE [--max-new N] [--threads T]
 *       Greedy text generation as a user of libllama writes it: llama_tokenize the file's bytes (the
 *       vocabulary's own specials added, e.g. bos, special text not parsed), decode the prompt, then
 *       argmax of the last logits, one token per llama_decode, until an end-of-generation token
 *       (not printed) or N new tokens (default 32). Prints three lines: the prompt ids, the new ids
 *       (space separated), and the hex of llama_detokenize of the new ids (specials not rendered).
 *   llama_logits bench MODEL.gguf [--prompt N] [--gen M] [--threads T] [--reps R] [--no-pool]
 *       Prefill throughput for an N-token prompt and decode throughput for M generated tokens
 *       (greedy, one token per llama_decode), best of R runs, as one JSON line on stdout; also
 *       the first run's figures (a fresh process: cold caches and pool), the model load time and,
 *       when $LLMC_BENCH_SPAWN_NS holds the CLOCK_MONOTONIC time (ns) at which the caller started
 *       this process, the time to the first token from then (ttft_s). One ggml thread pool is
 *       created and attached to every context, as llama.cpp's own CLI and llama-bench do
 *       (--no-pool: ggml's per-graph threads instead).
 *   llama_logits quantize MODEL.gguf OUT.gguf TYPE [--threads T]
 *       llama_model_quantize with llama.cpp's defaults (as llama-quantize without an importance
 *       matrix), TYPE one of q8_0, q4_0, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k.
 *
 * Backends are loaded from the directory of the prebuilt libraries (LLMC_LLAMA_BACKEND_DIR at
 * build time, or $LLMC_LLAMA_BACKEND_DIR at run time). Exit status: 0 ok, 1 llama.cpp refused
 * the model or the input, 2 usage error. -v passes llama.cpp's log through to stderr. */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "llama.h"

#ifndef LLMC_LLAMA_BACKEND_DIR
#define LLMC_LLAMA_BACKEND_DIR ""
#endif

static bool g_verbose = false;

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    /* errors always reach the user; the rest only with -v */
    if (g_verbose || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static _Noreturn void die_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("llama_logits: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see the comment at the top of tests/oracle/llama_logits.c for usage)\n", stderr);
    va_end(ap);
    exit(2);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "1,2,3" -> ids; every id a non-negative int32 */
static llama_token *parse_ids(const char *text, int *n_out) {
    size_t cap = 16, n = 0;
    llama_token *ids = malloc(cap * sizeof *ids);
    const char *p = text;
    if (!ids) die_usage("out of memory");
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX) die_usage("bad token id list '%s'", text);
        if (n == cap) {
            cap *= 2;
            ids = realloc(ids, cap * sizeof *ids);
            if (!ids) die_usage("out of memory");
        }
        ids[n++] = (llama_token)v;
        p = end;
        if (*p == ',') p++;
        else if (*p) die_usage("bad token id list '%s'", text);
    }
    if (n == 0) die_usage("empty token id list");
    *n_out = (int)n;
    return ids;
}

static struct llama_model *load_model(const char *path) {
    const char *dir = getenv("LLMC_LLAMA_BACKEND_DIR");
    if (!dir || !*dir) dir = LLMC_LLAMA_BACKEND_DIR;
    if (*dir) ggml_backend_load_all_from_path(dir);
    else ggml_backend_load_all();
    if (ggml_backend_reg_count() == 0) {
        fprintf(stderr, "llama_logits: no ggml backend could be loaded from '%s'\n", dir);
        exit(1);
    }
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) {
        fprintf(stderr, "llama_logits: llama.cpp could not load '%s' (run with -v for its log)\n", path);
        exit(1);
    }
    return model;
}

static struct llama_context *make_context(struct llama_model *model, uint32_t n_tokens, int threads) {
    struct llama_context_params cp = llama_context_default_params();
    uint32_t n = n_tokens < 64 ? 64 : n_tokens;
    cp.n_ctx = n;
    cp.n_batch = n;
    cp.n_ubatch = n;          /* the encoder needs its whole input in one micro-batch */
    cp.n_seq_max = 1;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.type_k = GGML_TYPE_F32;  /* exact comparisons: no F16 rounding in the cache */
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "llama_logits: llama.cpp could not create a context (run with -v for its log)\n");
        exit(1);
    }
    return ctx;
}

/* one sequence, positions pos0.., logits for every token if all_logits else the last */
static struct llama_batch make_batch(const llama_token *ids, int n, int pos0, bool all_logits) {
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = ids[i];
        b.pos[i] = pos0 + i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = all_logits || i == n - 1;
    }
    b.n_tokens = n;
    return b;
}

static int cmd_logits(const char *model_path, const char *tokens, const char *dec_tokens, const char *out_path,
                      int threads) {
    int n_in = 0, n_dec = 0;
    llama_token *in = parse_ids(tokens, &n_in);
    llama_token *dec = dec_tokens ? parse_ids(dec_tokens, &n_dec) : NULL;
    struct llama_model *model = load_model(model_path);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    const bool encdec = llama_model_has_encoder(model);
    if (encdec && !dec) die_usage("'%s' is an encoder-decoder model: give --decoder-tokens", model_path);
    if (!encdec && dec) die_usage("'%s' is decoder-only: --decoder-tokens does not apply", model_path);
    for (int i = 0; i < n_in; i++)
        if (in[i] >= n_vocab) die_usage("token id %d is outside the vocabulary (%d)", in[i], n_vocab);
    for (int i = 0; i < n_dec; i++)
        if (dec[i] >= n_vocab) die_usage("token id %d is outside the vocabulary (%d)", dec[i], n_vocab);

    struct llama_context *ctx = make_context(model, (uint32_t)(n_in > n_dec ? n_in : n_dec), threads);
    const llama_token *run = in;
    int n_run = n_in;
    if (encdec) {
        struct llama_batch eb = make_batch(in, n_in, 0, true);
        int rc = llama_encode(ctx, eb);
        llama_batch_free(eb);
        if (rc != 0) {
            fprintf(stderr, "llama_logits: llama_encode failed (%d)\n", rc);
            return 1;
        }
        run = dec;
        n_run = n_dec;
    }
    struct llama_batch b = make_batch(run, n_run, 0, true);
    int rc = llama_decode(ctx, b);
    llama_batch_free(b);
    if (rc != 0) {
        fprintf(stderr, "llama_logits: llama_decode failed (%d)\n", rc);
        return 1;
    }
    FILE *f = fopen(out_path, "wb");
    if (!f) {
        fprintf(stderr, "llama_logits: cannot open '%s': %s\n", out_path, strerror(errno));
        return 1;
    }
    for (int i = 0; i < n_run; i++) {
        const float *row = llama_get_logits_ith(ctx, i);
        if (!row) {
            fprintf(stderr, "llama_logits: no logits for position %d\n", i);
            fclose(f);
            return 1;
        }
        if (fwrite(row, sizeof(float), (size_t)n_vocab, f) != (size_t)n_vocab) {
            fprintf(stderr, "llama_logits: write to '%s' failed\n", out_path);
            fclose(f);
            return 1;
        }
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "llama_logits: closing '%s' failed\n", out_path);
        return 1;
    }
    printf("positions %d vocab %d\n", n_run, n_vocab);
    llama_free(ctx);
    llama_model_free(model);
    free(in);
    free(dec);
    return 0;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die_usage("cannot open '%s': %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) die_usage("out of memory");
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die_usage("out of memory");
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int cmd_tokenize(const char *model_path, const char *text_path) {
    size_t len;
    char *text = read_file(text_path, &len);
    if (len > INT32_MAX / 2) die_usage("'%s' is too large", text_path);
    struct llama_model *model = load_model(model_path);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int32_t cap = (int32_t)len + 8;
    llama_token *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids) die_usage("out of memory");
    int32_t n = llama_tokenize(vocab, text, (int32_t)len, ids, cap, false, false);
    if (n < 0) {
        fprintf(stderr, "llama_logits: llama_tokenize failed (%d)\n", n);
        return 1;
    }
    for (int32_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids);
    free(text);
    llama_model_free(model);
    return 0;
}

static int cmd_detokenize(const char *model_path, int n, char **args) {
    llama_token *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    if (!ids) die_usage("out of memory");
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long v = strtol(args[i], &end, 10);
        if (*end || end == args[i] || errno || v < 0 || v > INT32_MAX) die_usage("bad token id '%s'", args[i]);
        ids[i] = (llama_token)v;
    }
    struct llama_model *model = load_model(model_path);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int32_t cap = 64 * (n + 1);
    char *text = malloc((size_t)cap);
    if (!text) die_usage("out of memory");
    int32_t got = llama_detokenize(vocab, ids, n, text, cap, false, false);
    if (got < 0) {
        fprintf(stderr, "llama_logits: llama_detokenize failed (%d)\n", got);
        return 1;
    }
    fwrite(text, 1, (size_t)got, stdout);
    free(text);
    free(ids);
    llama_model_free(model);
    return 0;
}

static int cmd_tokenize_lines(const char *model_path, const char *text_path) {
    size_t len;
    char *text = read_file(text_path, &len);
    if (len > INT32_MAX / 2) die_usage("'%s' is too large", text_path);
    struct llama_model *model = load_model(model_path);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int32_t cap = (int32_t)len + 8;
    llama_token *ids = malloc((size_t)cap * sizeof *ids);
    char piece[1024];
    if (!ids) die_usage("out of memory");
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        int32_t n = llama_tokenize(vocab, text + start, (int32_t)(end - start), ids, cap, false, true);
        if (n < 0) {
            fprintf(stderr, "llama_logits: llama_tokenize failed (%d)\n", n);
            return 1;
        }
        for (int32_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\t');
        for (int32_t i = 0; i < n; i++) {
            int32_t k = llama_token_to_piece(vocab, ids[i], piece, (int32_t)sizeof piece, 0, true);
            if (k < 0) {
                fprintf(stderr, "llama_logits: llama_token_to_piece(%d) failed (%d)\n", ids[i], k);
                return 1;
            }
            for (int32_t j = 0; j < k; j++) printf("%02x", (unsigned char)piece[j]);
        }
        putchar('\n');
        start = end + 1;
    }
    free(ids);
    free(text);
    llama_model_free(model);
    return 0;
}

static int cmd_vocab(const char *model_path) {
    struct llama_model *model = load_model(model_path);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    printf("type %d\n", (int)llama_vocab_type(vocab));
    printf("n_tokens %d\n", llama_vocab_n_tokens(vocab));
    printf("bos %d\neos %d\npad %d\nsep %d\n", llama_vocab_bos(vocab), llama_vocab_eos(vocab), llama_vocab_pad(vocab),
           llama_vocab_sep(vocab));
    printf("add_bos %d\nadd_eos %d\nadd_sep %d\n", llama_vocab_get_add_bos(vocab), llama_vocab_get_add_eos(vocab),
           llama_vocab_get_add_sep(vocab));
    printf("decoder_start %d\n", llama_model_has_encoder(model) ? llama_model_decoder_start_token(model) : -1);
    llama_model_free(model);
    return 0;
}

static llama_token argmax(const float *row, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (row[i] > row[best]) best = i;
    return best;
}

static void print_ids(const llama_token *ids, int n) {
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
}

static int cmd_generate(const char *model_path, const char *text_path, int n_new, int threads) {
    size_t len;
    char *text = read_file(text_path, &len);
    if (len > INT32_MAX / 2) die_usage("'%s' is too large", text_path);
    struct llama_model *model = load_model(model_path);
    if (llama_model_has_encoder(model)) {
        fprintf(stderr, "llama_logits: generate supports decoder-only models\n");
        return 1;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    int32_t cap = (int32_t)len + 8;
    llama_token *prompt = malloc((size_t)cap * sizeof *prompt);
    llama_token *out = calloc((size_t)n_new + 1, sizeof *out);
    if (!prompt || !out) die_usage("out of memory");
    int32_t n_prompt = llama_tokenize(vocab, text, (int32_t)len, prompt, cap, true, false);
    if (n_prompt <= 0) {
        fprintf(stderr, "llama_logits: llama_tokenize gave %d tokens for the prompt\n", n_prompt);
        return 1;
    }
    struct llama_context *ctx = make_context(model, (uint32_t)(n_prompt + n_new), threads);
    struct llama_batch b = make_batch(prompt, n_prompt, 0, false);
    int rc = llama_decode(ctx, b);
    llama_batch_free(b);
    int n_out = 0;
    while (rc == 0 && n_out < n_new) {
        llama_token next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        if (llama_vocab_is_eog(vocab, next)) break;
        out[n_out++] = next;
        if (n_out == n_new) break;
        struct llama_batch g = make_batch(&next, 1, n_prompt + n_out - 1, true);
        rc = llama_decode(ctx, g);
        llama_batch_free(g);
    }
    if (rc != 0) {
        fprintf(stderr, "llama_logits: llama_decode failed (%d)\n", rc);
        return 1;
    }
    print_ids(prompt, n_prompt);
    print_ids(out, n_out);
    /* the continuation as one text, as a user of libllama detokenizes it (with a metaspace
     * vocabulary the first piece's prefix space is dropped, as HF decodes) */
    int32_t cap_text = 64 + 256 * n_out;
    char *gen_text = malloc((size_t)cap_text);
    if (!gen_text) die_usage("out of memory");
    int32_t k = n_out ? llama_detokenize(vocab, out, n_out, gen_text, cap_text, false, false) : 0;
    if (k < 0) {
        fprintf(stderr, "llama_logits: llama_detokenize failed (%d)\n", k);
        return 1;
    }
    for (int32_t j = 0; j < k; j++) printf("%02x", (unsigned char)gen_text[j]);
    putchar('\n');
    free(gen_text);
    llama_free(ctx);
    free(out);
    free(prompt);
    free(text);
    llama_model_free(model);
    return 0;
}

/* the caller's spawn time, for the time to first token; negative when not given */
static double spawn_time_s(void) {
    const char *v = getenv("LLMC_BENCH_SPAWN_NS");
    if (!v || !*v) return -1.0;
    char *end;
    errno = 0;
    unsigned long long ns = strtoull(v, &end, 10);
    if (*end || errno) die_usage("LLMC_BENCH_SPAWN_NS must be an integer (got '%s')", v);
    return (double)ns * 1e-9;
}

/* A persistent pool as llama.cpp's CLI attaches it. The CPU backend is loaded dynamically, so its
 * functions are looked up through the registry rather than linked. */
static struct ggml_threadpool *make_pool(int threads) {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!cpu) {
        fprintf(stderr, "llama_logits: the CPU backend is not loaded\n");
        exit(1);
    }
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
    typedef struct ggml_threadpool *(*pool_new_fn)(struct ggml_threadpool_params *);
    void *sym = ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
    pool_new_fn pool_new = NULL;
    memcpy(&pool_new, &sym, sizeof pool_new); /* ISO C has no object-to-function pointer cast */
    if (!pool_new) {
        fprintf(stderr, "llama_logits: the CPU backend has no ggml_threadpool_new\n");
        exit(1);
    }
    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
    struct ggml_threadpool *tp = pool_new(&tpp);
    if (!tp) {
        fprintf(stderr, "llama_logits: could not create a thread pool of %d threads\n", threads);
        exit(1);
    }
    return tp;
}

static void free_pool(struct ggml_threadpool *tp) {
    if (!tp) return;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU));
    typedef void (*pool_free_fn)(struct ggml_threadpool *);
    void *sym = ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
    pool_free_fn pool_free = NULL;
    memcpy(&pool_free, &sym, sizeof pool_free);
    if (pool_free) pool_free(tp);
}

static int cmd_bench(const char *model_path, int n_prompt, int n_gen, int threads, int reps, bool use_pool) {
    const double spawn = spawn_time_s();
    const double t_load0 = now_s();
    struct llama_model *model = load_model(model_path);
    const double load_s = now_s() - t_load0;
    if (llama_model_has_encoder(model)) {
        fprintf(stderr, "llama_logits: bench supports decoder-only models\n");
        return 1;
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_token *prompt = malloc((size_t)n_prompt * sizeof *prompt);
    if (!prompt) die_usage("out of memory");
    /* a fixed pseudo-random prompt: the same work on every run */
    uint32_t s = 12345u;
    for (int i = 0; i < n_prompt; i++) {
        s = s * 1664525u + 1013904223u;
        prompt[i] = (llama_token)(s % (uint32_t)n_vocab);
    }
    struct ggml_threadpool *tp = use_pool ? make_pool(threads) : NULL;
    double best_prefill = DBL_MAX, best_decode = DBL_MAX, first_prefill = 0, first_decode = 0, ttft = -1.0;
    for (int r = 0; r < reps; r++) {
        struct llama_context *ctx = make_context(model, (uint32_t)(n_prompt + n_gen), threads);
        if (tp) llama_attach_threadpool(ctx, tp, tp);
        struct llama_batch b = make_batch(prompt, n_prompt, 0, false);
        double t0 = now_s();
        int rc = llama_decode(ctx, b);
        double t1 = now_s();
        llama_batch_free(b);
        if (rc != 0) {
            fprintf(stderr, "llama_logits: llama_decode (prompt) failed (%d)\n", rc);
            return 1;
        }
        llama_token next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        double t2 = now_s();
        if (r == 0 && spawn >= 0) ttft = t2 - spawn;
        for (int i = 0; i < n_gen; i++) {
            struct llama_batch g = make_batch(&next, 1, n_prompt + i, true);
            rc = llama_decode(ctx, g);
            llama_batch_free(g);
            if (rc != 0) {
                fprintf(stderr, "llama_logits: llama_decode (generation) failed (%d)\n", rc);
                return 1;
            }
            next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        }
        double t3 = now_s();
        if (r == 0) {
            first_prefill = t1 - t0;
            first_decode = t3 - t2;
        }
        if (t1 - t0 < best_prefill) best_prefill = t1 - t0;
        if (t3 - t2 < best_decode) best_decode = t3 - t2;
        if (tp) llama_detach_threadpool(ctx);
        llama_free(ctx);
    }
    printf("{\"prompt_tokens\": %d, \"prefill_s\": %.6f, \"prefill_tok_s\": %.2f, "
           "\"gen_tokens\": %d, \"decode_s\": %.6f, \"decode_tok_s\": %.2f, \"threads\": %d, \"reps\": %d, "
           "\"first_prefill_tok_s\": %.2f, \"first_decode_tok_s\": %.2f, \"load_s\": %.6f, \"ttft_s\": %.6f, "
           "\"pool\": \"%s\"}\n",
           n_prompt, best_prefill, n_prompt / best_prefill, n_gen, best_decode,
           n_gen > 0 ? n_gen / best_decode : 0.0, threads, reps, n_prompt / first_prefill,
           n_gen > 0 ? n_gen / first_decode : 0.0, load_s, ttft, tp ? "persistent" : "per-graph");
    free_pool(tp);
    free(prompt);
    llama_model_free(model);
    return 0;
}

static int parse_int(const char *s, const char *what, int lo, int hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || end == s || errno || v < lo || v > hi) die_usage("%s must be an integer in [%d, %d] (got '%s')", what, lo, hi, s);
    return (int)v;
}

static int cmd_quantize(const char *in, const char *out, const char *type, int threads) {
    static const struct { const char *name; enum llama_ftype ftype; } types[] = {
        {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},     {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
        {"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M},
        {"q5_k_s", LLAMA_FTYPE_MOSTLY_Q5_K_S}, {"q5_k_m", LLAMA_FTYPE_MOSTLY_Q5_K_M},
        {"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K},
    };
    struct llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.nthread = threads;
    size_t i = 0;
    while (i < sizeof types / sizeof types[0] && strcmp(types[i].name, type) != 0) i++;
    if (i == sizeof types / sizeof types[0]) die_usage("unknown quantization type '%s'", type);
    qp.ftype = types[i].ftype;
    if (llama_model_quantize(in, out, &qp) != 0) {
        fprintf(stderr, "llama_logits: llama_model_quantize failed on '%s' (run with -v for its log)\n", in);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    /* pull -v out first so that it may appear anywhere */
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) g_verbose = true;
        else argv[++n] = argv[i];
    }
    argc = n + 1;
    if (argc < 3) die_usage("expected a command (logits, tokenize, tokenize-lines, detokenize, vocab, generate, bench, quantize) and a model");
    llama_log_set(quiet_log, NULL);
    llama_backend_init();
    const char *cmd = argv[1], *model = argv[2];
    int rc;
    if (strcmp(cmd, "logits") == 0) {
        const char *tokens = NULL, *dec = NULL, *out = NULL;
        int threads = 1;
        for (int i = 3; i < argc; i++) {
            if (i + 1 >= argc) die_usage("option '%s' needs a value", argv[i]);
            if (strcmp(argv[i], "--tokens") == 0) tokens = argv[++i];
            else if (strcmp(argv[i], "--decoder-tokens") == 0) dec = argv[++i];
            else if (strcmp(argv[i], "--out") == 0) out = argv[++i];
            else if (strcmp(argv[i], "--threads") == 0) threads = parse_int(argv[++i], "--threads", 1, 256);
            else die_usage("unknown option '%s'", argv[i]);
        }
        if (!tokens || !out) die_usage("logits needs --tokens and --out");
        rc = cmd_logits(model, tokens, dec, out, threads);
    } else if (strcmp(cmd, "tokenize") == 0) {
        if (argc != 4) die_usage("tokenize needs MODEL TEXTFILE");
        rc = cmd_tokenize(model, argv[3]);
    } else if (strcmp(cmd, "tokenize-lines") == 0) {
        if (argc != 4) die_usage("tokenize-lines needs MODEL TEXTFILE");
        rc = cmd_tokenize_lines(model, argv[3]);
    } else if (strcmp(cmd, "vocab") == 0) {
        if (argc != 3) die_usage("vocab needs MODEL");
        rc = cmd_vocab(model);
    } else if (strcmp(cmd, "detokenize") == 0) {
        rc = cmd_detokenize(model, argc - 3, argv + 3);
    } else if (strcmp(cmd, "generate") == 0) {
        if (argc < 4) die_usage("generate needs MODEL TEXTFILE");
        int gen = 32, threads = 1;
        for (int i = 4; i < argc; i++) {
            if (i + 1 >= argc) die_usage("option '%s' needs a value", argv[i]);
            if (strcmp(argv[i], "--max-new") == 0) gen = parse_int(argv[++i], "--max-new", 0, 1 << 20);
            else if (strcmp(argv[i], "--threads") == 0) threads = parse_int(argv[++i], "--threads", 1, 256);
            else die_usage("unknown option '%s'", argv[i]);
        }
        rc = cmd_generate(model, argv[3], gen, threads);
    } else if (strcmp(cmd, "quantize") == 0) {
        if (argc != 5 && !(argc == 7 && strcmp(argv[5], "--threads") == 0))
            die_usage("quantize needs MODEL OUT TYPE [--threads T]");
        rc = cmd_quantize(model, argv[3], argv[4], argc == 7 ? parse_int(argv[6], "--threads", 1, 256) : 1);
    } else if (strcmp(cmd, "bench") == 0) {
        int prompt = 128, gen = 32, threads = 2, reps = 3;
        bool use_pool = true;
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--no-pool") == 0) {
                use_pool = false;
                continue;
            }
            if (i + 1 >= argc) die_usage("option '%s' needs a value", argv[i]);
            if (strcmp(argv[i], "--prompt") == 0) prompt = parse_int(argv[++i], "--prompt", 1, 1 << 20);
            else if (strcmp(argv[i], "--gen") == 0) gen = parse_int(argv[++i], "--gen", 0, 1 << 20);
            else if (strcmp(argv[i], "--threads") == 0) threads = parse_int(argv[++i], "--threads", 1, 256);
            else if (strcmp(argv[i], "--reps") == 0) reps = parse_int(argv[++i], "--reps", 1, 1000);
            else die_usage("unknown option '%s'", argv[i]);
        }
        rc = cmd_bench(model, prompt, gen, threads, reps, use_pool);
    } else {
        die_usage("unknown command '%s'", cmd);
    }
    llama_backend_free();
    return rc;
}
