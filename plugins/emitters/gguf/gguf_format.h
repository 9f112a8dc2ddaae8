/* GGUF v3 container writing: typed metadata, tensor infos, alignment (docs/gguf.md).
 *
 * A file is: magic "GGUF", version 3, tensor count (u64), metadata count (u64), the metadata
 * key/value pairs, the tensor infos (name, dims in ggml order -- ne[0] is the row length --,
 * ggml type, offset into the data section), padding to general.alignment, then the data
 * section with every tensor starting at a multiple of the alignment, in info order.
 *
 * The metadata and infos are small and built in memory (gguf_meta); tensor data is streamed
 * by the caller after gguf_meta_write(), one tensor at a time, followed by gguf_write_pad(). */
#ifndef LLMC_GGUF_FORMAT_H
#define LLMC_GGUF_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/diag.h"

#define GGUF_VERSION 3
#define GGUF_ALIGNMENT 32u          /* written as general.alignment; llama.cpp's default */
#define GGUF_MAX_DIMS 4
#define GGUF_NAME_MAX 63            /* ggml's GGML_MAX_NAME (64) including the terminator */

/* metadata value types (gguf.h) */
typedef enum gguf_vtype {
    GGUF_T_UINT8 = 0, GGUF_T_INT8 = 1, GGUF_T_UINT16 = 2, GGUF_T_INT16 = 3, GGUF_T_UINT32 = 4,
    GGUF_T_INT32 = 5, GGUF_T_FLOAT32 = 6, GGUF_T_BOOL = 7, GGUF_T_STRING = 8, GGUF_T_ARRAY = 9,
    GGUF_T_UINT64 = 10, GGUF_T_INT64 = 11, GGUF_T_FLOAT64 = 12
} gguf_vtype;

/* the ggml tensor types this emitter writes (ggml.h numbering) */
typedef enum gguf_ttype {
    GGUF_TT_F32 = 0, GGUF_TT_F16 = 1, GGUF_TT_Q4_0 = 2, GGUF_TT_Q8_0 = 8, GGUF_TT_Q4_K = 12, GGUF_TT_Q5_K = 13,
    GGUF_TT_Q6_K = 14, GGUF_TT_BF16 = 30
} gguf_ttype;
const char *gguf_ttype_name(gguf_ttype t);
/* elements per block and bytes per block (1 and the element size for float types) */
uint32_t gguf_ttype_block(gguf_ttype t);
uint32_t gguf_ttype_block_bytes(gguf_ttype t);

typedef struct gguf_tinfo {
    char name[GGUF_NAME_MAX + 1];
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];   /* ggml order: ne[0] is the innermost (row) length */
    gguf_ttype type;
    uint64_t offset;              /* from the start of the data section, aligned */
    uint64_t nbytes;
} gguf_tinfo;

typedef struct gguf_meta {
    uint8_t *kv;                  /* encoded key/value pairs */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    char **keys;                  /* for the duplicate check */
    gguf_tinfo *tensors;
    size_t n_tensors, cap_tensors;
    uint64_t data_size;           /* bytes of the data section, including padding */
    bool oom;                     /* an allocation failed; reported by gguf_meta_write */
} gguf_meta;

void gguf_meta_init(gguf_meta *m);
void gguf_meta_free(gguf_meta *m);

/* Metadata setters. Each returns 0, or -1 with an error in d (duplicate key, bad string). */
int gguf_kv_u32(gguf_meta *m, const char *key, uint32_t v, llmc_diags *d);
int gguf_kv_i32(gguf_meta *m, const char *key, int32_t v, llmc_diags *d);
int gguf_kv_u64(gguf_meta *m, const char *key, uint64_t v, llmc_diags *d);
int gguf_kv_f32(gguf_meta *m, const char *key, float v, llmc_diags *d);
int gguf_kv_bool(gguf_meta *m, const char *key, bool v, llmc_diags *d);
int gguf_kv_str(gguf_meta *m, const char *key, const char *v, llmc_diags *d);
int gguf_kv_arr_i32(gguf_meta *m, const char *key, const int32_t *v, uint64_t n, llmc_diags *d);
int gguf_kv_arr_f32(gguf_meta *m, const char *key, const float *v, uint64_t n, llmc_diags *d);
int gguf_kv_arr_u8(gguf_meta *m, const char *key, const uint8_t *v, uint64_t n, llmc_diags *d);
/* n strings, the i-th given by get(user, i) (so large vocabularies need no pointer array) */
int gguf_kv_arr_str(gguf_meta *m, const char *key, uint64_t n, const char *(*get)(void *user, uint64_t i),
                    void *user, llmc_diags *d);

/* Add a tensor info: shape in ggml order (ne[0] = row length). ne[0] must be a multiple of the
 * type's block size. The offset is assigned here. Returns 0 or -1 with an error. */
int gguf_add_tensor(gguf_meta *m, const char *name, gguf_ttype type, uint32_t n_dims, const uint64_t *ne,
                    llmc_diags *d);

/* Bytes of the header + metadata + tensor infos + padding, i.e. where the data section starts. */
uint64_t gguf_meta_size(const gguf_meta *m);
/* Write everything up to the data section. rel names the file in messages. */
int gguf_meta_write(const gguf_meta *m, FILE *f, const char *rel, llmc_diags *d);
/* After writing tensor i's nbytes of data: zero padding up to the next tensor (or the end). */
int gguf_write_pad(const gguf_meta *m, size_t i, FILE *f, const char *rel, llmc_diags *d);

#endif
