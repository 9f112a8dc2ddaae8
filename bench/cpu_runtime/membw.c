/* membw — the read bandwidth of this machine, for the CPU runtime benchmark's bound.
 *
 *   membw [THREADS] [MiB]     default: 2 threads, 1024 MiB
 *
 * THREADS threads each stream through their share of a buffer far larger than the last-level
 * cache (summing 64-bit words, which the compiler vectorises), as decode streams the weights once
 * per token. Three loops take turns, and the best pass of any is the machine's read bandwidth:
 *   plain        one sequential stream per thread, the hardware prefetcher alone;
 *   prefetching  the same, prefetching 64 KiB ahead into L2;
 *   panels       4 streams 48 KiB apart per thread, as llmc-run reads its panel-major matrices.
 * On a Zen 3 core the first keeps too few lines in flight (one thread: 12.8-15.9 GB/s plain,
 * 15.2-16.9 prefetching, 16.5-21.7 over panels), and llmc-run's F32 decode streamed at 21-24 GB/s:
 * a bound from the plain loop alone would be one a kernel can beat. Prints the best of 9 passes in
 * GB/s (1e9 bytes per second), with the best of each loop. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFETCH_AHEAD 65536 /* bytes */
#define PANEL_WORDS (49152 / 8)
#define LOOPS 3

typedef struct part {
    const uint64_t *p;
    size_t n;
    int loop; /* 0 plain, 1 prefetching, 2 panels */
    uint64_t sum;
} part;

static void *reader(void *v) {
    part *a = v;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    if (a->loop == 2)
        for (; i + 4 * PANEL_WORDS <= a->n; i += 4 * PANEL_WORDS)
            for (size_t k = 0; k < PANEL_WORDS; k += 8) {
                const uint64_t *q = a->p + i + k;
                for (int j = 0; j < 8; j++) s0 += q[j];
                for (int j = 0; j < 8; j++) s1 += q[PANEL_WORDS + j];
                for (int j = 0; j < 8; j++) s2 += q[2 * PANEL_WORDS + j];
                for (int j = 0; j < 8; j++) s3 += q[3 * PANEL_WORDS + j];
            }
    if (a->loop == 1)
        for (; i + 8 <= a->n; i += 8) {
            __builtin_prefetch(a->p + i + PREFETCH_AHEAD / 8, 0, 2);
            s0 += a->p[i];
            s1 += a->p[i + 1];
            s2 += a->p[i + 2];
            s3 += a->p[i + 3];
            s0 += a->p[i + 4];
            s1 += a->p[i + 5];
            s2 += a->p[i + 6];
            s3 += a->p[i + 7];
        }
    for (; i + 4 <= a->n; i += 4) {
        s0 += a->p[i];
        s1 += a->p[i + 1];
        s2 += a->p[i + 2];
        s3 += a->p[i + 3];
    }
    for (; i < a->n; i++) s0 += a->p[i];
    a->sum = s0 + s1 + s2 + s3;
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (threads < 1 || threads > 256 || mib < 64) {
        fprintf(stderr, "usage: membw [THREADS 1..256] [MiB >= 64]\n");
        return 2;
    }
    const size_t bytes = mib << 20, words = bytes / 8;
    uint64_t *buf = aligned_alloc(4096, bytes);
    if (!buf) {
        fprintf(stderr, "membw: out of memory for %zu MiB\n", mib);
        return 1;
    }
    memset(buf, 1, bytes);   /* touch every page before timing */
    double best[LOOPS] = {0}; /* plain, prefetching, panels */
    uint64_t check = 0;
    for (int pass = 0; pass < 3 * LOOPS; pass++) {
        pthread_t tid[256];
        part parts[256];
        const double t0 = now();
        for (int t = 0; t < threads; t++) {
            parts[t].p = buf + words / threads * t;
            parts[t].n = t == threads - 1 ? words - words / threads * t : words / threads;
            parts[t].loop = pass % LOOPS;
            pthread_create(&tid[t], NULL, reader, &parts[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            check += parts[t].sum;
        }
        const double gbs = (double)bytes / (now() - t0) / 1e9;
        if (gbs > best[pass % LOOPS]) best[pass % LOOPS] = gbs;
    }
    double all = 0.0;
    for (int l = 0; l < LOOPS; l++) all = best[l] > all ? best[l] : all;
    printf("{\"threads\": %d, \"mib\": %zu, \"read_gb_s\": %.2f, \"plain_gb_s\": %.2f, \"prefetching_gb_s\": %.2f, "
           "\"panels_gb_s\": %.2f, \"checksum\": %llu}\n",
           threads, mib, all, best[0], best[1], best[2], (unsigned long long)(check & 0xffff));
    free(buf);
    return 0;
}
