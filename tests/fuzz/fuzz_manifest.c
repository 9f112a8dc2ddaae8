/* libFuzzer target for OUT/manifest.json as `llmc validate` reads it (core/manifest.c): the input
 * is written to a file and loaded. A manifest that loads must be consistent: normalised relative
 * paths listed once, every tensor inside its file's size and after the one before; writing it
 * out and loading it again gives the same text. A refusal must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static int write_file(const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    return fclose(f) == 0 && w == size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) snprintf(path, sizeof path, "/tmp/llmc_fuzz_manifest.%d.json", (int)getpid());
    if (write_file(data, size) != 0) return 0;
    llmc_diags *d = llmc_diags_create();
    llmc_manifest *m = llmc_manifest_load(path, d);
    if (!m) {
        if (llmc_diags_errors(d) == 0) abort(); /* refused without a reason */
    } else {
        char norm[4096];
        for (size_t i = 0; i < llmc_manifest_num_files(m); i++) {
            const llmc_file_sum *f = llmc_manifest_file(m, i);
            if (llmc_manifest_norm_path(f->path, norm, sizeof norm) != 0 || strcmp(norm, f->path)) abort();
            if (llmc_manifest_find(m, f->path) != f) abort();
            uint64_t prev = 0;
            for (size_t k = 0; k < f->n_tensors; k++) {
                const llmc_tensor_sum *t = &f->tensors[k];
                if (t->offset < prev || t->offset + t->bytes > f->bytes || t->offset + t->bytes < t->offset) abort();
                prev = t->offset + t->bytes;
            }
        }
        char *text = llmc_manifest_to_json(m);
        if (!text || write_file(text, strlen(text)) != 0) abort();
        llmc_manifest *again = llmc_manifest_load(path, d);
        char *text2 = again ? llmc_manifest_to_json(again) : NULL;
        if (!text2 || strcmp(text, text2)) abort();
        free(text);
        free(text2);
        llmc_manifest_free(again);
        llmc_manifest_free(m);
    }
    llmc_diags_free(d);
    unlink(path);
    return 0;
}
