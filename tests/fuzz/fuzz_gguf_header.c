/* libFuzzer target for the GGUF header reader the gguf emitter's verify uses on files in OUT
 * (plugins/emitters/gguf/gguf_read.c): the input is a file's first bytes (from a copy, so ASan
 * sees reads past its end). A header that parses must be consistent: every key and value inside
 * the input, 1..4 dims per tensor, the data section after the header and aligned; rendering every
 * value and sizing every tensor must not read outside it. A refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    gguf_file f;
    char err[256] = "";
    if (gguf_read(copy, size, &f, err, sizeof err) != 0) {
        if (!err[0]) abort(); /* refused without a reason */
    } else {
        if (f.data_start < 24 || f.data_start % f.alignment) abort();
        char buf[160];
        for (uint64_t i = 0; i < f.n_kv; i++) {
            const gguf_rkv *kv = &f.kv[i];
            if ((const uint8_t *)kv->key < copy || (const uint8_t *)kv->key + kv->key_len > copy + size) abort();
            if (kv->val < copy || kv->val + kv->val_len > copy + size) abort();
            gguf_value_text(kv, buf, sizeof buf);
        }
        for (uint64_t i = 0; i < f.n_tensors; i++) {
            const gguf_rtensor *t = &f.t[i];
            if (t->n_dims < 1 || t->n_dims > 4) abort();
            if ((const uint8_t *)t->name + t->name_len > copy + size) abort();
            volatile uint64_t bytes = gguf_tensor_bytes(t->type, t->n_dims, t->ne);
            (void)bytes;
        }
    }
    gguf_file_free(&f);
    free(copy);
    return 0;
}
