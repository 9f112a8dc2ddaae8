/* GGUF header reading (gguf_read.h): magic, version, counts, metadata, tensor infos, alignment;
 * little-endian as the writer (gguf_format.c). */
#include "gguf_read.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_format.h"

typedef struct cursor {
    const uint8_t *p;
    size_t len, at;
} cursor;

static bool take(cursor *c, size_t n, const uint8_t **out) {
    if (n > c->len - c->at) return false;
    if (out) *out = c->p + c->at;
    c->at += n;
    return true;
}

static bool get_u32(cursor *c, uint32_t *v) {
    const uint8_t *p;
    if (!take(c, 4, &p)) return false;
    memcpy(v, p, 4);
    return true;
}

static bool get_u64(cursor *c, uint64_t *v) {
    const uint8_t *p;
    if (!take(c, 8, &p)) return false;
    memcpy(v, p, 8);
    return true;
}

static bool get_str(cursor *c, const char **s, size_t *n) {
    uint64_t len;
    const uint8_t *p;
    if (!get_u64(c, &len) || len > c->len - c->at || !take(c, (size_t)len, &p)) return false;
    *s = (const char *)p;
    *n = (size_t)len;
    return true;
}

static size_t scalar_size(uint32_t type) {
    switch (type) {
    case GGUF_T_UINT8: case GGUF_T_INT8: case GGUF_T_BOOL: return 1;
    case GGUF_T_UINT16: case GGUF_T_INT16: return 2;
    case GGUF_T_UINT32: case GGUF_T_INT32: case GGUF_T_FLOAT32: return 4;
    case GGUF_T_UINT64: case GGUF_T_INT64: case GGUF_T_FLOAT64: return 8;
    default: return 0;
    }
}

/* skip one value of `type`; arrays may nest once more (GGUF allows arrays of arrays) */
static bool skip_value(cursor *c, uint32_t type, int depth) {
    if (type == GGUF_T_STRING) {
        const char *s;
        size_t n;
        return get_str(c, &s, &n);
    }
    if (type == GGUF_T_ARRAY) {
        uint32_t et;
        uint64_t count;
        if (depth > 1 || !get_u32(c, &et) || !get_u64(c, &count)) return false;
        size_t es = scalar_size(et);
        if (es) {
            if (count > (c->len - c->at) / es) return false;
            return take(c, (size_t)count * es, NULL);
        }
        if (et != GGUF_T_STRING && et != GGUF_T_ARRAY) return false;
        /* each element needs at least 8 bytes: no loop longer than the buffer */
        if (count > (c->len - c->at) / 8) return false;
        for (uint64_t i = 0; i < count; i++)
            if (!skip_value(c, et, depth + 1)) return false;
        return true;
    }
    size_t n = scalar_size(type);
    return n && take(c, n, NULL);
}

static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

void gguf_file_free(gguf_file *f) {
    free(f->kv);
    free(f->t);
    memset(f, 0, sizeof *f);
}

int gguf_read(const uint8_t *buf, size_t len, gguf_file *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    cursor c = {buf, len, 0};
    const uint8_t *magic;
    if (!take(&c, 4, &magic)) return fail(err, errlen, "the file has %zu bytes, too few for a GGUF header", len);
    if (memcmp(magic, "GGUF", 4))
        return fail(err, errlen, "not a GGUF file (magic expected 'GGUF', got 0x%02x%02x%02x%02x)", magic[0], magic[1],
                    magic[2], magic[3]);
    if (!get_u32(&c, &f->version) || !get_u64(&c, &f->n_tensors) || !get_u64(&c, &f->n_kv))
        return fail(err, errlen, "the header is cut off after %zu bytes, before the counts", len);
    /* every key/value needs >= 12 bytes and every tensor info >= 24: counts beyond that are lies */
    if (f->n_kv > len / 12 || f->n_tensors > len / 24)
        return fail(err, errlen, "the header claims %" PRIu64 " metadata keys and %" PRIu64
                    " tensors, more than a %zu-byte header can hold", f->n_kv, f->n_tensors, len);
    f->kv = calloc(f->n_kv ? (size_t)f->n_kv : 1, sizeof *f->kv);
    f->t = calloc(f->n_tensors ? (size_t)f->n_tensors : 1, sizeof *f->t);
    if (!f->kv || !f->t) return fail(err, errlen, "out of memory");
    f->alignment = GGUF_ALIGNMENT;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_rkv *kv = &f->kv[i];
        size_t start;
        if (!get_str(&c, &kv->key, &kv->key_len) || !get_u32(&c, &kv->type) || (start = c.at, !skip_value(&c, kv->type, 0)))
            return fail(err, errlen, "the header is cut off or malformed in metadata key %" PRIu64 " of %" PRIu64 "%s%.*s%s",
                        i + 1, f->n_kv, kv->key ? " ('" : "", kv->key ? (int)(kv->key_len > 60 ? 60 : kv->key_len) : 0,
                        kv->key ? kv->key : "", kv->key ? "')" : "");
        kv->val = buf + start;
        kv->val_len = c.at - start;
        if (kv->key_len == 17 && !memcmp(kv->key, "general.alignment", 17) && kv->type == GGUF_T_UINT32) {
            uint32_t a;
            memcpy(&a, kv->val, 4);
            if (a == 0 || (a & (a - 1))) return fail(err, errlen, "general.alignment %u is not a power of two", a);
            f->alignment = a;
        }
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_rtensor *t = &f->t[i];
        if (!get_str(&c, &t->name, &t->name_len) || !get_u32(&c, &t->n_dims))
            return fail(err, errlen, "the header is cut off in tensor info %" PRIu64 " of %" PRIu64, i + 1, f->n_tensors);
        if (t->n_dims < 1 || t->n_dims > 4)
            return fail(err, errlen, "tensor info %" PRIu64 " ('%.*s') has %u dims (expected 1 to 4)", i + 1,
                        (int)(t->name_len > 60 ? 60 : t->name_len), t->name, t->n_dims);
        for (uint32_t k = 0; k < t->n_dims; k++)
            if (!get_u64(&c, &t->ne[k]))
                return fail(err, errlen, "the header is cut off in tensor info %" PRIu64 " of %" PRIu64, i + 1,
                            f->n_tensors);
        if (!get_u32(&c, &t->type) || !get_u64(&c, &t->offset))
            return fail(err, errlen, "the header is cut off in tensor info %" PRIu64 " of %" PRIu64, i + 1, f->n_tensors);
    }
    f->data_start = ((uint64_t)c.at + f->alignment - 1) / f->alignment * f->alignment;
    return 0;
}

uint64_t gguf_tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne) {
    uint32_t blk, blk_bytes;
    switch (type) {
    case GGUF_TT_F32: blk = 1; blk_bytes = 4; break;
    case GGUF_TT_F16: case GGUF_TT_BF16: blk = 1; blk_bytes = 2; break;
    case GGUF_TT_Q8_0: blk = 32; blk_bytes = 34; break;
    case GGUF_TT_Q4_0: blk = 32; blk_bytes = 18; break;
    case GGUF_TT_Q4_K: blk = 256; blk_bytes = 144; break;
    case GGUF_TT_Q5_K: blk = 256; blk_bytes = 176; break;
    case GGUF_TT_Q6_K: blk = 256; blk_bytes = 210; break;
    default: return 0;
    }
    if (n_dims < 1 || n_dims > 4 || ne[0] == 0 || ne[0] % blk) return 0;
    uint64_t n = ne[0] / blk;
    if (__builtin_mul_overflow(n, (uint64_t)blk_bytes, &n)) return 0;
    for (uint32_t i = 1; i < n_dims; i++)
        if (__builtin_mul_overflow(n, ne[i], &n)) return 0;
    return n;
}

static const char *vtype_name(uint32_t t) {
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64",
                                  "i64", "f64"};
    return t < sizeof names / sizeof *names ? names[t] : "unknown";
}

void gguf_value_text(const gguf_rkv *kv, char *buf, size_t n) {
    const uint8_t *v = kv->val;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32; uint64_t u64;
            int64_t i64; double f64; } x;
    size_t sz = scalar_size(kv->type);
    if (sz) memcpy(&x, v, sz);
    switch (kv->type) {
    case GGUF_T_UINT8: snprintf(buf, n, "%u", x.u8); return;
    case GGUF_T_INT8: snprintf(buf, n, "%d", x.i8); return;
    case GGUF_T_UINT16: snprintf(buf, n, "%u", x.u16); return;
    case GGUF_T_INT16: snprintf(buf, n, "%d", x.i16); return;
    case GGUF_T_UINT32: snprintf(buf, n, "%" PRIu32, x.u32); return;
    case GGUF_T_INT32: snprintf(buf, n, "%" PRId32, x.i32); return;
    case GGUF_T_FLOAT32: snprintf(buf, n, "%.9g", (double)x.f32); return;
    case GGUF_T_BOOL: snprintf(buf, n, "%s", x.u8 ? "true" : "false"); return;
    case GGUF_T_UINT64: snprintf(buf, n, "%" PRIu64, x.u64); return;
    case GGUF_T_INT64: snprintf(buf, n, "%" PRId64, x.i64); return;
    case GGUF_T_FLOAT64: snprintf(buf, n, "%.17g", x.f64); return;
    case GGUF_T_STRING: {
        uint64_t len;
        memcpy(&len, v, 8);
        /* one line: control characters (the JSON in llmc.spec has newlines) shown as spaces */
        size_t shown = len > 60 ? 60 : (size_t)len, o = 0;
        if (n < 8) return;
        buf[o++] = '\'';
        for (size_t i = 0; i < shown && o + 6 < n; i++) {
            char ch = (char)v[8 + i];
            buf[o++] = (unsigned char)ch < 0x20 ? ' ' : ch;
        }
        snprintf(buf + o, n - o, "'%s", len > shown ? "..." : "");
        return;
    }
    case GGUF_T_ARRAY: {
        uint32_t et;
        uint64_t count;
        memcpy(&et, v, 4);
        memcpy(&count, v + 4, 8);
        snprintf(buf, n, "an array of %" PRIu64 " %s", count, vtype_name(et));
        return;
    }
    default: snprintf(buf, n, "a value of unknown type %u", kv->type);
    }
}
