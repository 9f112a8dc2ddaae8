/* membw — the read bandwidth of this machine, for the CPU runtime benchmark's bound.
 *
 *   membw [THREADS] [MiB]     default: 2 threads, 1024 MiB
 *
 * THREADS threads each stream through their share of a buffer far larger than the last-level
 * cache (summing 64-bit words, which the compiler vectorises), as decode streams the weights once
 * per token. Prints the best of 5 passes in GB/s (1e9 bytes per second). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct part {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} part;

static void *reader(void *v) {
    part *a = v;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
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
    double best = 0.0;
    uint64_t check = 0;
    for (int pass = 0; pass < 5; pass++) {
        pthread_t tid[256];
        part parts[256];
        const double t0 = now();
        for (int t = 0; t < threads; t++) {
            parts[t].p = buf + words / threads * t;
            parts[t].n = t == threads - 1 ? words - words / threads * t : words / threads;
            pthread_create(&tid[t], NULL, reader, &parts[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            check += parts[t].sum;
        }
        const double gbs = (double)bytes / (now() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("{\"threads\": %d, \"mib\": %zu, \"read_gb_s\": %.2f, \"checksum\": %llu}\n", threads, mib, best,
           (unsigned long long)(check & 0xffff));
    free(buf);
    return 0;
}
