/* bench/import/bench_scan: the NaN/Inf check of imported weights on its own, against its peer, a
 * plain copy of the same bytes. A checkpoint import copies (or converts) each 4096-element block
 * from the mapped file into a staging buffer and, with the check, scans the block while it is in
 * L1 (core/weights_checkpoint.c); this measures exactly that loop over 256 MiB of finite values,
 * for f32, bf16 and f16 blocks, as process CPU time (best of 9 passes: steadier than wall time on
 * a shared machine). Prints the ratio checked / copy-only and the load average. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weights_internal.h"

#define BYTES ((size_t)256 << 20)
#define BLOCK 4096

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* one pass: copy src to a block-sized staging buffer block by block, scanning each block when
 * es != 0 (element size 4: f32, 2: bf16 or f16 as f16_kind says) */
static size_t pass(const unsigned char *src, unsigned char *stage, size_t es, int f16_kind) {
    size_t bad = 0, block_bytes = BLOCK * (es ? es : 4);
    for (size_t off = 0; off < BYTES; off += block_bytes) {
        memcpy(stage, src + off, block_bytes);
        if (es == 4) bad += llmc_first_nonfinite_f32(stage, BLOCK) != BLOCK;
        else if (es == 2) bad += (f16_kind ? llmc_first_nonfinite_f16(stage, BLOCK) : llmc_first_nonfinite_bf16(stage, BLOCK)) != BLOCK;
    }
    return bad;
}

int main(void) {
    unsigned char *src = malloc(BYTES), *stage = malloc(BLOCK * 4);
    if (!src || !stage) return 1;
    /* finite values of every dtype: small random f32 (their halves are finite bf16/f16 too) */
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < BYTES / 4; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        float v = (float)((int64_t)(x >> 40) - (1 << 23)) * 1e-7f;
        uint32_t u;
        memcpy(&u, &v, 4);
        u &= 0xbfffbfffu; /* clear the top exponent bit of both 16-bit halves: finite as f16/bf16 */
        memcpy(src + 4 * i, &u, 4);
    }
    const struct { const char *name; size_t es; int f16; } v[] = {{"f32", 4, 0}, {"bf16", 2, 0}, {"f16", 2, 1}};
    printf("%-5s %12s %12s %8s %10s\n", "dtype", "copy ms", "copy+check", "ratio", "check GB/s");
    volatile size_t sink = 0;
    for (size_t k = 0; k < 3; k++) {
        double best_copy = 1e9, best_check = 1e9;
        for (int rep = 0; rep < 9; rep++) {
            double t0 = cpu_s();
            sink += pass(src, stage, 0, 0);
            double t1 = cpu_s();
            sink += pass(src, stage, v[k].es, v[k].f16);
            double t2 = cpu_s();
            if (t1 - t0 < best_copy) best_copy = t1 - t0;
            if (t2 - t1 < best_check) best_check = t2 - t1;
        }
        double extra = best_check - best_copy;
        printf("%-5s %12.1f %12.1f %8.3f %10.1f\n", v[k].name, best_copy * 1e3, best_check * 1e3, best_check / best_copy,
               extra > 0 ? (double)BYTES / extra / 1e9 : 0.0);
    }
    if (sink) printf("(non-finite values found: the data generator is broken)\n");
    FILE *u = popen("uptime", "r");
    char line[256];
    if (u && fgets(line, sizeof line, u)) printf("uptime: %s", line);
    if (u) pclose(u);
    free(src);
    free(stage);
    return 0;
}
