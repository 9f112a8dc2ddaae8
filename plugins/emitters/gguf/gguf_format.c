/* GGUF v3 container writing (see gguf_format.h). Little-endian throughout, as GGUF is on
 * every platform llama.cpp runs on; we only build for little-endian hosts (checked below). */
#include "gguf_format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/quant.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF writer assumes a little-endian host"
#endif

const char *gguf_ttype_name(gguf_ttype t) {
    switch (t) {
    case GGUF_TT_F32: return "F32";
    case GGUF_TT_F16: return "F16";
    case GGUF_TT_BF16: return "BF16";
    case GGUF_TT_Q8_0: return "Q8_0";
    case GGUF_TT_Q4_0: return "Q4_0";
    case GGUF_TT_Q4_K: return "Q4_K";
    case GGUF_TT_Q5_K: return "Q5_K";
    case GGUF_TT_Q6_K: return "Q6_K";
    }
    return "?";
}

uint32_t gguf_ttype_block(gguf_ttype t) {
    switch (t) {
    case GGUF_TT_Q8_0:
    case GGUF_TT_Q4_0: return LLMC_QK;
    case GGUF_TT_Q4_K:
    case GGUF_TT_Q5_K:
    case GGUF_TT_Q6_K: return LLMC_QK_K;
    default: return 1;
    }
}

uint32_t gguf_ttype_block_bytes(gguf_ttype t) {
    switch (t) {
    case GGUF_TT_F32: return 4;
    case GGUF_TT_F16:
    case GGUF_TT_BF16: return 2;
    case GGUF_TT_Q8_0: return 2 + 32;       /* f16 scale + 32 int8 */
    case GGUF_TT_Q4_0: return 2 + 16;       /* f16 scale + 32 nibbles */
    case GGUF_TT_Q4_K: return LLMC_Q4_K_BLOCK_BYTES;
    case GGUF_TT_Q5_K: return LLMC_Q5_K_BLOCK_BYTES;
    case GGUF_TT_Q6_K: return LLMC_Q6_K_BLOCK_BYTES;
    }
    return 0;
}

void gguf_meta_init(gguf_meta *m) { memset(m, 0, sizeof *m); }

void gguf_meta_free(gguf_meta *m) {
    for (uint64_t i = 0; i < m->n_kv; i++) free(m->keys[i]);
    free(m->keys);
    free(m->kv);
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

/* ---- raw encoding into the metadata buffer ----------------------------------------------- */
static void put(gguf_meta *m, const void *p, size_t n) {
    if (m->oom) return;
    if (m->kv_len + n > m->kv_cap) {
        size_t cap = m->kv_cap ? m->kv_cap : 4096;
        while (cap < m->kv_len + n) {
            if (cap > SIZE_MAX / 2) { m->oom = true; return; }
            cap *= 2;
        }
        uint8_t *nb = realloc(m->kv, cap);
        if (!nb) { m->oom = true; return; }
        m->kv = nb;
        m->kv_cap = cap;
    }
    memcpy(m->kv + m->kv_len, p, n);
    m->kv_len += n;
}
static void put_u32(gguf_meta *m, uint32_t v) { put(m, &v, 4); }
static void put_u64(gguf_meta *m, uint64_t v) { put(m, &v, 8); }
static void put_str(gguf_meta *m, const char *s) {
    uint64_t n = strlen(s);
    put_u64(m, n);
    put(m, s, (size_t)n);
}

/* every key once, non-empty, ASCII without control characters (gguf.cpp rejects duplicates) */
static int begin_kv(gguf_meta *m, const char *key, gguf_vtype t, llmc_diags *d) {
    if (!key[0] || strlen(key) > 65535) {
        llmc_error(d, "gguf", "internal error: invalid metadata key '%s'", key);
        return -1;
    }
    for (uint64_t i = 0; i < m->n_kv; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            llmc_error(d, "gguf", "internal error: metadata key '%s' written twice", key);
            return -1;
        }
    }
    char **nk = realloc(m->keys, (size_t)(m->n_kv + 1) * sizeof *nk);
    char *copy = nk ? strdup(key) : NULL;
    if (!nk || !copy) {
        if (nk) m->keys = nk;
        free(copy);
        m->oom = true;
        llmc_error(d, "gguf", "out of memory building the metadata");
        return -1;
    }
    m->keys = nk;
    m->keys[m->n_kv++] = copy;
    put_str(m, key);
    put_u32(m, (uint32_t)t);
    return 0;
}

int gguf_kv_u32(gguf_meta *m, const char *key, uint32_t v, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_UINT32, d)) return -1;
    put_u32(m, v);
    return 0;
}
int gguf_kv_i32(gguf_meta *m, const char *key, int32_t v, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_INT32, d)) return -1;
    put(m, &v, 4);
    return 0;
}
int gguf_kv_u64(gguf_meta *m, const char *key, uint64_t v, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_UINT64, d)) return -1;
    put_u64(m, v);
    return 0;
}
int gguf_kv_f32(gguf_meta *m, const char *key, float v, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_FLOAT32, d)) return -1;
    put(m, &v, 4);
    return 0;
}
int gguf_kv_bool(gguf_meta *m, const char *key, bool v, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_BOOL, d)) return -1;
    uint8_t b = v ? 1 : 0;
    put(m, &b, 1);
    return 0;
}
int gguf_kv_str(gguf_meta *m, const char *key, const char *v, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_STRING, d)) return -1;
    put_str(m, v);
    return 0;
}
int gguf_kv_arr_i32(gguf_meta *m, const char *key, const int32_t *v, uint64_t n, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_ARRAY, d)) return -1;
    put_u32(m, GGUF_T_INT32);
    put_u64(m, n);
    put(m, v, (size_t)n * 4);
    return 0;
}
int gguf_kv_arr_f32(gguf_meta *m, const char *key, const float *v, uint64_t n, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_ARRAY, d)) return -1;
    put_u32(m, GGUF_T_FLOAT32);
    put_u64(m, n);
    put(m, v, (size_t)n * 4);
    return 0;
}
int gguf_kv_arr_u8(gguf_meta *m, const char *key, const uint8_t *v, uint64_t n, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_ARRAY, d)) return -1;
    put_u32(m, GGUF_T_UINT8);
    put_u64(m, n);
    put(m, v, (size_t)n);
    return 0;
}
int gguf_kv_arr_str(gguf_meta *m, const char *key, uint64_t n, const char *(*get)(void *user, uint64_t i),
                    void *user, llmc_diags *d) {
    if (begin_kv(m, key, GGUF_T_ARRAY, d)) return -1;
    put_u32(m, GGUF_T_STRING);
    put_u64(m, n);
    for (uint64_t i = 0; i < n; i++) put_str(m, get(user, i));
    return 0;
}

static uint64_t align_up(uint64_t x) { return (x + GGUF_ALIGNMENT - 1) / GGUF_ALIGNMENT * GGUF_ALIGNMENT; }

int gguf_add_tensor(gguf_meta *m, const char *name, gguf_ttype type, uint32_t n_dims, const uint64_t *ne,
                    llmc_diags *d) {
    if (strlen(name) > GGUF_NAME_MAX || !name[0]) {
        llmc_error(d, "gguf", "internal error: tensor name '%s' is empty or longer than %d bytes", name, GGUF_NAME_MAX);
        return -1;
    }
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) {
        llmc_error(d, "gguf", "internal error: tensor '%s' has %u dims", name, n_dims);
        return -1;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (strcmp(m->tensors[i].name, name) == 0) {
            llmc_error(d, "gguf", "internal error: tensor '%s' added twice", name);
            return -1;
        }
    }
    const uint32_t blk = gguf_ttype_block(type);
    if (ne[0] % blk != 0) {
        llmc_error(d, "gguf", "internal error: tensor '%s' row length %llu is not a multiple of the %s block (%u)",
                   name, (unsigned long long)ne[0], gguf_ttype_name(type), blk);
        return -1;
    }
    /* bytes = ne0/blk * block_bytes * ne1 * ..., overflow checked */
    uint64_t nbytes = ne[0] / blk;
    bool ok = !__builtin_mul_overflow(nbytes, (uint64_t)gguf_ttype_block_bytes(type), &nbytes);
    for (uint32_t i = 1; i < n_dims && ok; i++) {
        if (ne[i] == 0 || ne[i] > INT64_MAX) ok = false;
        else ok = !__builtin_mul_overflow(nbytes, ne[i], &nbytes);
    }
    uint64_t end;
    if (!ok || ne[0] == 0 || __builtin_add_overflow(m->data_size, nbytes, &end) || end > UINT64_MAX - GGUF_ALIGNMENT) {
        llmc_error(d, "gguf", "tensor '%s' is too large for a GGUF file", name);
        return -1;
    }
    if (m->n_tensors == m->cap_tensors) {
        size_t cap = m->cap_tensors ? m->cap_tensors * 2 : 64;
        gguf_tinfo *nt = realloc(m->tensors, cap * sizeof *nt);
        if (!nt) {
            m->oom = true;
            llmc_error(d, "gguf", "out of memory building the tensor table");
            return -1;
        }
        m->tensors = nt;
        m->cap_tensors = cap;
    }
    gguf_tinfo *t = &m->tensors[m->n_tensors++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, strlen(name) + 1);
    t->n_dims = n_dims;
    for (uint32_t i = 0; i < n_dims; i++) t->ne[i] = ne[i];
    t->type = type;
    t->offset = m->data_size;          /* already aligned: every tensor is padded */
    t->nbytes = nbytes;
    m->data_size = align_up(end);
    return 0;
}

static uint64_t infos_size(const gguf_meta *m) {
    uint64_t n = 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        n += 8 + strlen(m->tensors[i].name) + 4 + 8ull * m->tensors[i].n_dims + 4 + 8;
    return n;
}

uint64_t gguf_meta_size(const gguf_meta *m) { return align_up(4 + 4 + 8 + 8 + m->kv_len + infos_size(m)); }

static int write_all(FILE *f, const void *p, size_t n, const char *rel, llmc_diags *d) {
    if (n && fwrite(p, 1, n, f) != n) {
        llmc_error(d, "gguf", "writing '%s' failed: %s", rel, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_zeros(FILE *f, uint64_t n, const char *rel, llmc_diags *d) {
    static const uint8_t zeros[GGUF_ALIGNMENT];
    while (n > 0) {
        size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
        if (write_all(f, zeros, k, rel, d)) return -1;
        n -= k;
    }
    return 0;
}

int gguf_meta_write(const gguf_meta *m, FILE *f, const char *rel, llmc_diags *d) {
    if (m->oom) {
        llmc_error(d, "gguf", "out of memory building the metadata of '%s'", rel);
        return -1;
    }
    const uint32_t magic_version[2] = {0x46554747u /* "GGUF" */, GGUF_VERSION};
    const uint64_t counts[2] = {(uint64_t)m->n_tensors, m->n_kv};
    if (write_all(f, magic_version, sizeof magic_version, rel, d) || write_all(f, counts, sizeof counts, rel, d) ||
        write_all(f, m->kv, m->kv_len, rel, d))
        return -1;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gguf_tinfo *t = &m->tensors[i];
        const uint64_t len = strlen(t->name);
        const uint32_t type = (uint32_t)t->type;
        if (write_all(f, &len, 8, rel, d) || write_all(f, t->name, (size_t)len, rel, d) ||
            write_all(f, &t->n_dims, 4, rel, d) || write_all(f, t->ne, 8u * t->n_dims, rel, d) ||
            write_all(f, &type, 4, rel, d) || write_all(f, &t->offset, 8, rel, d))
            return -1;
    }
    const uint64_t used = 4 + 4 + 8 + 8 + m->kv_len + infos_size(m);
    return write_zeros(f, gguf_meta_size(m) - used, rel, d);
}

int gguf_write_pad(const gguf_meta *m, size_t i, FILE *f, const char *rel, llmc_diags *d) {
    const gguf_tinfo *t = &m->tensors[i];
    const uint64_t next = i + 1 < m->n_tensors ? m->tensors[i + 1].offset : m->data_size;
    return write_zeros(f, next - t->offset - t->nbytes, rel, d);
}
