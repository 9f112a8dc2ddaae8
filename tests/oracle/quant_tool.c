/* quant_tool — llmc's block quantizers on raw float32, for tests/python/test_kquant.py.
 *
 *   quant_tool quantize TYPE IN.f32 OUT     TYPE: q8_0 q4_0 q6_k q5_k q4_k; IN holds n float32
 *                                           (n a multiple of the block size), OUT the blocks
 *   quant_tool dequantize TYPE IN OUT.f32   the inverse: blocks in, float32 out
 *   quant_tool mix MIX ROLE LAYER N_LAYERS ROW_LEN TIED
 *                                           llmc_kquant_mix_type's choice, printed: MIX q6_k, q5_k_m,
 *                                           q4_k_m, q5_k_s, q4_k_s; ROLE token_embd, output, attn_v, ffn_down, other
 *
 * Exit status: 0 ok, 2 usage, 4 I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/quant.h"

typedef struct {
    const char *name;
    size_t block, bytes;
    void (*quantize)(const float *, size_t, void *);
    void (*dequantize)(const void *, size_t, float *);
} qtype;

static const qtype types[] = {
    {"q8_0", LLMC_QK, LLMC_Q8_0_BLOCK_BYTES, llmc_quantize_q8_0, llmc_dequantize_q8_0},
    {"q4_0", LLMC_QK, LLMC_Q4_0_BLOCK_BYTES, llmc_quantize_q4_0, llmc_dequantize_q4_0},
    {"q6_k", LLMC_QK_K, LLMC_Q6_K_BLOCK_BYTES, llmc_quantize_q6_k, llmc_dequantize_q6_k},
    {"q5_k", LLMC_QK_K, LLMC_Q5_K_BLOCK_BYTES, llmc_quantize_q5_k, llmc_dequantize_q5_k},
    {"q4_k", LLMC_QK_K, LLMC_Q4_K_BLOCK_BYTES, llmc_quantize_q4_k, llmc_dequantize_q4_k},
};

static void *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(4); }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) { fputs("quant_tool: out of memory\n", stderr); exit(4); }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    if (ferror(f)) { perror(path); exit(4); }
    fclose(f);
    *size = n;
    return buf;
}

static int cmd_mix(char **argv) {
    /* in llmc_kquant_mix order; the names llama.cpp's ftypes have */
    static const char *mixes[] = {"q6_k", "q5_k_m", "q4_k_m", "q5_k_s", "q4_k_s"};
    static const char *roles[] = {"token_embd", "output", "attn_v", "ffn_down", "other"};
    int mix = -1, role = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(argv[2], mixes[i])) mix = i;
    for (int i = 0; i < 5; i++)
        if (!strcmp(argv[3], roles[i])) role = i;
    if (mix < 0 || role < 0) {
        fprintf(stderr, "quant_tool: unknown mix '%s' or role '%s'\n", argv[2], argv[3]);
        return 2;
    }
    const llmc_qtype t = llmc_kquant_mix_type((llmc_kquant_mix)mix, (llmc_qrole)role, atoi(argv[4]), atoi(argv[5]),
                                              strtoull(argv[6], NULL, 10), atoi(argv[7]) != 0);
    puts(llmc_qtype_name(t));
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "mix")) return cmd_mix(argv);
    if (argc != 5 || (strcmp(argv[1], "quantize") && strcmp(argv[1], "dequantize"))) {
        fputs("usage: quant_tool quantize|dequantize TYPE IN OUT\n", stderr);
        return 2;
    }
    const qtype *t = NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].name, argv[2])) t = &types[i];
    if (!t) { fprintf(stderr, "quant_tool: unknown type '%s'\n", argv[2]); return 2; }
    const int quantize = !strcmp(argv[1], "quantize");
    size_t size;
    void *in = read_all(argv[3], &size);
    size_t unit = quantize ? t->block * sizeof(float) : t->bytes;
    if (size % unit) {
        fprintf(stderr, "quant_tool: %s: %zu bytes is not a whole number of %zu-byte %s\n", argv[3], size, unit,
                quantize ? "rows of a block" : "blocks");
        return 2;
    }
    size_t blocks = size / unit, n = blocks * t->block;
    size_t out_size = quantize ? blocks * t->bytes : n * sizeof(float);
    void *out = malloc(out_size ? out_size : 1);
    if (!out) { fputs("quant_tool: out of memory\n", stderr); return 4; }
    if (quantize) t->quantize(in, n, out);
    else t->dequantize(in, n, out);
    FILE *f = fopen(argv[4], "wb");
    if (!f || fwrite(out, 1, out_size, f) != out_size || fclose(f)) { perror(argv[4]); return 4; }
    free(in);
    free(out);
    return 0;
}
