/* GGUF header reading, for the emitter's verify (llmc validate): the file is untrusted input.
 * Every count, length and offset is checked against the bytes available before it is used. */
#ifndef LLMC_GGUF_READ_H
#define LLMC_GGUF_READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct gguf_rkv {
    const char *key;          /* not NUL-terminated: key_len bytes */
    size_t key_len;
    uint32_t type;            /* gguf_vtype */
    const uint8_t *val;       /* the encoded value (for arrays: element type, count, items) */
    size_t val_len;
} gguf_rkv;

typedef struct gguf_rtensor {
    const char *name;         /* not NUL-terminated */
    size_t name_len;
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;            /* ggml type */
    uint64_t offset;          /* in the data section */
} gguf_rtensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_rkv *kv;
    gguf_rtensor *t;
    uint32_t alignment;       /* general.alignment, else 32 */
    uint64_t data_start;      /* where the data section starts */
} gguf_file;

/* Parse the header in buf[0, len). 0 on success; -1 with a reason in err ("the header is cut
 * off in metadata key 12 of 40 ('tokenizer.ggml.tokens')") otherwise. Free with gguf_file_free
 * either way. */
int gguf_read(const uint8_t *buf, size_t len, gguf_file *out, char *err, size_t errlen);
void gguf_file_free(gguf_file *f);

/* Bytes of a tensor of this ggml type and shape (the types llmc writes: F32, F16, BF16, Q8_0,
 * Q4_0); 0 for another type, a row not made of whole blocks, or an overflow. */
uint64_t gguf_tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne);

/* A value for messages: scalars and strings printed, arrays as "array of N <type>" */
void gguf_value_text(const gguf_rkv *kv, char *buf, size_t n);

#endif
