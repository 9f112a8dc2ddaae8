/* bench/weights: weight generation without the file system. Loads an ir.json, initialises
 * every parameter (llmc_weights_create_init) and writes every view of the identity layout as
 * bf16 to /dev/null through llmc_weights_write_view, timing it for a given thread count.
 *   usage: bench_weights_gen IR_JSON THREADS [SEED]
 * Prints: seconds bytes */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "llmc/llmc.h"
#include "llmc/weights.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s IR_JSON THREADS [SEED]\n", argv[0]);
        return 2;
    }
    llmc_diags *d = llmc_diags_create();
    llmc_ir *ir = llmc_ir_load_json_file(argv[1], d);
    llmc_layout l;
    llmc_weight_source *ws = ir ? llmc_weights_create_init(ir, argc > 3 ? strtoull(argv[3], NULL, 10) : 0, d) : NULL;
    if (!ws || llmc_layout_identity(ir, &l, d) != 0) {
        llmc_diags_print(d, stderr);
        return 1;
    }
    FILE *f = fopen("/dev/null", "wb");
    if (!f) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long long bytes = 0;
    for (size_t i = 0; i < l.n_views; i++) {
        if (llmc_weights_write_view(ws, &l.views[i], LLMC_DTYPE_BF16, f, atoi(argv[2]), NULL, d) != 0) {
            llmc_diags_print(d, stderr);
            return 1;
        }
        bytes += llmc_view_numel(&l.views[i]) * 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.3f %llu\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), bytes);
    fclose(f);
    llmc_layout_free(&l);
    llmc_weights_free(ws);
    llmc_ir_free(ir);
    llmc_diags_free(d);
    return 0;
}
