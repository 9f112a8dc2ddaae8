/* libFuzzer target for the safetensors reader: the input is opened as a safetensors file
 * (from a copy, so ASan sees reads past its end). A file that opens must be internally
 * consistent: every tensor's bytes lie inside the input, its byte size matches its shape,
 * llmc_st_find finds it, and its bytes convert through the weight conversions. A failed
 * open must have said why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/weights.h"
#include "weights_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    llmc_diags *d = llmc_diags_create();
    llmc_st_file *f = llmc_st_open_buffer(copy, size, "fuzz.safetensors", d);
    char buf[256];
    for (size_t i = 0; i < llmc_diags_size(d); i++) llmc_diag_format(llmc_diags_get(d, i), buf, sizeof buf);
    if (!f) {
        if (llmc_diags_errors(d) == 0) abort(); /* refused without a reason */
    } else {
        if (llmc_diags_errors(d) != 0) abort();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < llmc_st_num_tensors(f); i++) {
            const llmc_st_tensor *t = llmc_st_tensor_at(f, i);
            if (llmc_st_find(f, t->name) != t) abort();
            uint64_t numel = 1;
            for (int k = 0; k < t->rank; k++) numel *= (uint64_t)t->shape[k];
            if (numel * llmc_st_dtype_size(t->dtype) != t->end - t->begin) abort();
            const uint8_t *p = llmc_st_data(f, t);
            if (p < copy || p + (t->end - t->begin) > copy + size) abort();
            if (t->end > t->begin) sink ^= p[0] ^ p[t->end - t->begin - 1];
            /* decode a few elements the way the checkpoint reader does */
            size_t es = llmc_st_dtype_size(t->dtype);
            for (uint64_t k = 0; k < numel && k < 4; k++) {
                uint16_t h;
                float v;
                if (strcmp(t->dtype, "F16") == 0) { memcpy(&h, p + 2 * k, 2); v = llmc_f16_to_f32(h); }
                else if (strcmp(t->dtype, "BF16") == 0) { memcpy(&h, p + 2 * k, 2); v = llmc_bf16_to_f32(h); }
                else if (strcmp(t->dtype, "F32") == 0) memcpy(&v, p + 4 * k, 4);
                else { sink ^= p[k * es]; continue; }
                sink ^= (uint8_t)(llmc_f32_to_f16(v) ^ llmc_f32_to_bf16(v));
            }
        }
        (void)llmc_st_metadata(f, "format");
        (void)llmc_st_find(f, "");
        (void)sink;
        llmc_st_close(f);
    }
    llmc_diags_free(d);
    free(copy);
    return 0;
}
