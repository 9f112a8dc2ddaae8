/* bench/checksum: what OUT/manifest.json costs (docs/benchmarks.md "checksums").
 *
 *  1. hash throughput over a 512 MiB buffer in memory: llmc's XXH64 against the peer, Debian's
 *     libxxhash XXH64 (loaded with dlopen when installed), and llmc's portable SHA-256 (why the
 *     manifest does not use it);
 *  2. writing 1 GiB in 4 MiB fwrite calls (what llmc_write_chunks_ordered does) into $TMPDIR:
 *     the checksumming stream of llmc_out_open (one tensor mark per 64 MiB) against plain
 *     fopen + fwrite, the peer. Page cache, no fsync: the case where hashing shows most.
 * Each measurement is the median of 5 runs, alternating; `uptime` is printed first. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "llmc/sha256.h"
#include "util.h"
#include "xxh64.h"

#define RUNS 5
#define HASH_BYTES ((size_t)512 << 20)
#define WRITE_BYTES ((size_t)1 << 30)
#define CHUNK ((size_t)4 << 20)
#define TENSOR ((size_t)64 << 20)

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v) {
    qsort(v, RUNS, sizeof *v, cmp_double);
    return v[RUNS / 2];
}

typedef unsigned long long (*xxh64_fn)(const void *, size_t, unsigned long long);

static volatile uint64_t sink;

static double time_llmc_xxh64(const uint8_t *b) {
    double t = now_s();
    sink = llmc_xxh64(b, HASH_BYTES, 0);
    return now_s() - t;
}

static double time_lib_xxh64(xxh64_fn f, const uint8_t *b) {
    double t = now_s();
    sink = f(b, HASH_BYTES, 0);
    return now_s() - t;
}

static double time_sha256(const uint8_t *b) {
    llmc_sha256 s;
    uint8_t out[32];
    size_t n = HASH_BYTES / 8; /* 64 MiB: SHA-256 is slow */
    double t = now_s();
    llmc_sha256_init(&s);
    llmc_sha256_update(&s, b, n);
    llmc_sha256_final(&s, out);
    sink = out[0];
    return (now_s() - t) * 8; /* scaled to HASH_BYTES */
}

static double time_write(const char *path, const uint8_t *b, llmc_manifest *m) {
    llmc_diags *d = llmc_diags_create();
    double t = now_s();
    FILE *f = m ? llmc_manifest_open(m, "bench", path, "bench.bin", d) : fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    for (size_t at = 0; at < WRITE_BYTES; at += CHUNK) {
        if (m && at % TENSOR == 0) llmc_manifest_tensor_begin(f, "t", d);
        if (fwrite(b + at % HASH_BYTES, 1, CHUNK, f) != CHUNK) {
            fprintf(stderr, "write failed\n");
            exit(1);
        }
        if (m && (at + CHUNK) % TENSOR == 0) llmc_manifest_tensor_end(f, d);
    }
    if (fclose(f) != 0) exit(1);
    double s = now_s() - t;
    llmc_diags_free(d);
    unlink(path);
    return s;
}

int main(void) {
    fflush(stdout);
    if (system("uptime") != 0) printf("(uptime unavailable)\n");
    uint8_t *b = malloc(HASH_BYTES);
    if (!b) return 1;
    for (size_t i = 0; i < HASH_BYTES; i++) b[i] = (uint8_t)(i * 2654435761u >> 13);

    void *lib = dlopen("libxxhash.so.0", RTLD_NOW);
    void *sym = lib ? dlsym(lib, "XXH64") : NULL;
    xxh64_fn peer = NULL;
    if (sym) memcpy(&peer, &sym, sizeof peer); /* object -> function pointer, the POSIX way */
    if (peer && peer(b, 4096, 7) != llmc_xxh64(b, 4096, 7)) {
        fprintf(stderr, "libxxhash and llmc disagree\n");
        return 1;
    }
    double ours[RUNS], theirs[RUNS], sha[RUNS];
    for (int r = 0; r < RUNS; r++) {
        ours[r] = time_llmc_xxh64(b);
        theirs[r] = peer ? time_lib_xxh64(peer, b) : 0;
        sha[r] = time_sha256(b);
    }
    double mo = median(ours), mt = median(theirs), ms = median(sha);
    printf("hash, 512 MiB in memory (median of %d):\n", RUNS);
    printf("  llmc xxh64        %7.0f MB/s\n", HASH_BYTES / mo / 1e6);
    if (peer) printf("  libxxhash xxh64   %7.0f MB/s   (llmc / libxxhash = %.2f)\n", HASH_BYTES / mt / 1e6, mt / mo);
    else printf("  libxxhash xxh64   not installed (no peer)\n");
    printf("  llmc sha256       %7.0f MB/s   (xxh64 is %.0fx faster)\n", HASH_BYTES / ms / 1e6, ms / mo);

    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/llmc_bench_checksum.%d", tmp, (int)getpid());
    double plain[RUNS], hashed[RUNS];
    for (int r = 0; r < RUNS; r++) {
        plain[r] = time_write(path, b, NULL);
        llmc_manifest *m = llmc_manifest_create();
        hashed[r] = time_write(path, b, m);
        llmc_manifest_free(m);
    }
    double mp = median(plain), mh = median(hashed);
    printf("write 1 GiB in 4 MiB fwrites to %s (page cache, median of %d):\n", tmp, RUNS);
    printf("  fopen + fwrite            %7.0f MB/s\n", WRITE_BYTES / mp / 1e6);
    printf("  llmc_out_open (checksum)  %7.0f MB/s   (time ratio checksummed / plain = %.3f)\n",
           WRITE_BYTES / mh / 1e6, mh / mp);
    free(b);
    return 0;
}
