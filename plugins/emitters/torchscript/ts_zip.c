/* torchscript emitter — the zip writer (ts_zip.h) and CRC-32.
 *
 * Record layouts are those of PKWARE's APPNOTE.TXT (local file header 4.3.7, data descriptor
 * 4.3.9, central directory header 4.3.12, ZIP64 end of central directory record 4.3.14 and
 * locator 4.3.15, end of central directory record 4.3.16, ZIP64 extra field 4.5.3). All
 * integers are little-endian. */
#include "ts_zip.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-32 ------------------------------------------------------------------------------------ */

#define CRC_POLY 0xEDB88320u /* 0x04C11DB7 bit-reversed: bit 31 is x^0 */

/* Polynomials below 32 bits are "reflected" as the CRC register holds them: bit i is the
 * coefficient of x^(31-i). */

/* a(x) * b(x) mod P(x) over GF(2) */
static uint32_t gf2_mulmod(uint32_t a, uint32_t b) {
    uint32_t m = 1u << 31, p = 0;
    while (m) {
        if (a & m) p ^= b;
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ CRC_POLY : b >> 1;
    }
    return p;
}

/* x^e mod P(x), from the squares x^(2^k) */
static uint32_t gf2_xpow(uint64_t e) {
    uint32_t sq = 1u << 30, r = 1u << 31; /* x^1, x^0 */
    for (; e; e >>= 1) {
        if (e & 1) r = gf2_mulmod(r, sq);
        sq = gf2_mulmod(sq, sq);
    }
    return r;
}

/* Slicing-by-16 tables: tab[k][b] is the CRC contribution of byte b followed by k zero bytes,
 * so 16 input bytes are folded with 16 independent lookups per step. */
static uint32_t crc_tab[16][256];

static inline uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The register c (no pre/post inversion) run over p[0..n): returns the new register. */
static uint32_t crc_tables(uint32_t c, const unsigned char *p, size_t n) {
    while (n >= 16) {
        uint32_t a = le32(p) ^ c, b = le32(p + 4), e = le32(p + 8), f = le32(p + 12);
        c = crc_tab[15][a & 0xFF] ^ crc_tab[14][(a >> 8) & 0xFF] ^ crc_tab[13][(a >> 16) & 0xFF] ^
            crc_tab[12][a >> 24] ^ crc_tab[11][b & 0xFF] ^ crc_tab[10][(b >> 8) & 0xFF] ^
            crc_tab[9][(b >> 16) & 0xFF] ^ crc_tab[8][b >> 24] ^ crc_tab[7][e & 0xFF] ^ crc_tab[6][(e >> 8) & 0xFF] ^
            crc_tab[5][(e >> 16) & 0xFF] ^ crc_tab[4][e >> 24] ^ crc_tab[3][f & 0xFF] ^ crc_tab[2][(f >> 8) & 0xFF] ^
            crc_tab[1][(f >> 16) & 0xFF] ^ crc_tab[0][f >> 24];
        p += 16;
        n -= 16;
    }
    while (n--) c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xFF];
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define TS_CRC_CLMUL 1
#include <immintrin.h>

/* Carry-less multiplication (PCLMULQDQ) folding, 64 bytes per step.
 *
 * A 16-byte block loaded little-endian is a polynomial of degree < 128 with bit i the
 * coefficient of x^(127-i) (the first bit of the message has the highest power). Split into its
 * low lane L (bits 0..63, the powers x^127..x^64) and high lane H, moving it D bits further down
 * the message multiplies it by x^D: L*x^(D+64) + H*x^D == L*K_L + H*K_H (mod P) with
 * K = x^e mod P, of degree < 32. With the 64-bit lane bit i meaning x^(63-i) and the constant
 * stored as x*(x^(e-1) mod P) with bit j meaning x^(64-j), i.e. (x^(e-1) mod P) << 32 in the
 * reflected 32-bit form, PCLMULQDQ's product bit i+j means x^(127-(i+j)): the folded block lands
 * in the same 128-bit form and is xor-ed onto the block D bits later. What remains at the end,
 * 16 bytes congruent to everything folded so far, is finished with the tables. */
static __m128i fold_k[2]; /* by 512 bits (4 blocks) and by 128 bits (1 block): {K_L, K_H} */

static __m128i fold_constants(uint64_t d) {
    uint64_t kl = (uint64_t)gf2_xpow(d + 63) << 32, kh = (uint64_t)gf2_xpow(d - 1) << 32;
    return _mm_set_epi64x((long long)kh, (long long)kl);
}

__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i x, __m128i k) {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

/* n >= 64; c is the register (already inverted) */
__attribute__((target("pclmul,sse2"))) static uint32_t crc_clmul(uint32_t c, const unsigned char *p, size_t n) {
    __m128i x0 = _mm_loadu_si128((const __m128i *)p), x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32)), x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)c)); /* the register enters with the first bytes */
    p += 64;
    n -= 64;
    const __m128i k4 = fold_k[0], k1 = fold_k[1];
    while (n >= 64) {
        x0 = _mm_xor_si128(fold(x0, k4), _mm_loadu_si128((const __m128i *)p));
        x1 = _mm_xor_si128(fold(x1, k4), _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = _mm_xor_si128(fold(x2, k4), _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = _mm_xor_si128(fold(x3, k4), _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        n -= 64;
    }
    x1 = _mm_xor_si128(fold(x0, k1), x1);
    x2 = _mm_xor_si128(fold(x1, k1), x2);
    __m128i x = _mm_xor_si128(fold(x2, k1), x3);
    while (n >= 16) {
        x = _mm_xor_si128(fold(x, k1), _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    unsigned char rest[16];
    _mm_storeu_si128((__m128i *)rest, x);
    return crc_tables(crc_tables(0, rest, 16), p, n);
}
#endif

static bool crc_use_clmul;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC_POLY : c >> 1;
        crc_tab[0][b] = c;
    }
    for (int k = 1; k < 16; k++)
        for (uint32_t b = 0; b < 256; b++)
            crc_tab[k][b] = (crc_tab[k - 1][b] >> 8) ^ crc_tab[0][crc_tab[k - 1][b] & 0xFF];
#ifdef TS_CRC_CLMUL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("pclmul")) {
        fold_k[0] = fold_constants(512);
        fold_k[1] = fold_constants(128);
        crc_use_clmul = true;
    }
#endif
}

uint32_t ts_crc32(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_init);
#ifdef TS_CRC_CLMUL
    if (crc_use_clmul && n >= 64) return ~crc_clmul(~crc, data, n);
#endif
    return ~crc_tables(~crc, data, n);
}

/* Appending len_b bytes B to A turns crc(A) into crc(A) * x^(8 len_b) mod P, xor-ed with
 * crc(B) (the pre- and post-inversions cancel out). x^(8n) = (x^n)^8: three squarings. */
uint32_t ts_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
    uint32_t xn = gf2_xpow(len_b);
    for (int k = 0; k < 3; k++) xn = gf2_mulmod(xn, xn);
    return gf2_mulmod(xn, crc_a) ^ crc_b;
}

/* ---- layout ------------------------------------------------------------------------------------ */

#define LOCAL_HEADER 30u
#define CENTRAL_HEADER 46u
#define ZIP64_LOCAL_EXTRA 20u  /* id, length, uncompressed size, compressed size */
#define PAD_RECORD 4u          /* "FB" + length */
#define DESCRIPTOR32 16u
#define DESCRIPTOR64 24u
#define EOCD64 56u
#define EOCD64_LOCATOR 20u
#define EOCD 22u

int ts_zip_plan(uint64_t offset, size_t name_len, uint64_t size, ts_zip_local *out) {
    memset(out, 0, sizeof *out);
    out->zip64 = size >= TS_ZIP_MAX32;
    uint64_t start;
    if (__builtin_add_overflow(offset, (uint64_t)LOCAL_HEADER + name_len + (out->zip64 ? ZIP64_LOCAL_EXTRA : 0) +
                                           PAD_RECORD, &start))
        return -1;
    out->pad = (uint16_t)((TS_ZIP_ALIGN - start % TS_ZIP_ALIGN) % TS_ZIP_ALIGN);
    out->extra_len = (uint16_t)((out->zip64 ? ZIP64_LOCAL_EXTRA : 0) + PAD_RECORD + out->pad);
    out->data_at = start + out->pad;
    if (__builtin_add_overflow(out->data_at, size, &out->end) ||
        __builtin_add_overflow(out->end, (uint64_t)(out->zip64 ? DESCRIPTOR64 : DESCRIPTOR32), &out->end))
        return -1;
    return 0;
}

/* ---- the writer ---------------------------------------------------------------------------------- */

typedef struct cd_entry {
    char *name;
    uint64_t header_at, size;
    uint32_t crc;
} cd_entry;

struct ts_zip {
    FILE *f;
    char *label;
    uint64_t pos;          /* bytes written so far = offset of the next record */
    cd_entry *e;
    size_t n, cap;
    bool in_entry;         /* between ts_zip_begin and ts_zip_end */
    ts_zip_local cur;
    uint64_t cur_size;
    bool failed;           /* a write failed: the file is unusable */
};

static void put16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t clamp32(uint64_t v) { return v >= TS_ZIP_MAX32 ? TS_ZIP_MAX32 : (uint32_t)v; }

static int put(ts_zip *z, const void *p, size_t n, llmc_diags *d) {
    if (z->failed) return -1;
    if (n && fwrite(p, 1, n, z->f) != n) {
        llmc_error(d, "emit", "torchscript: cannot write %s: %s", z->label, strerror(errno));
        z->failed = true;
        return -1;
    }
    z->pos += n;
    return 0;
}

ts_zip *ts_zip_create(FILE *f, const char *label, llmc_diags *d) {
    ts_zip *z = calloc(1, sizeof *z);
    if (z) z->label = strdup(label ? label : "archive");
    if (!z || !z->label) {
        llmc_error(d, "emit", "torchscript: out of memory starting the archive");
        if (z) free(z);
        return NULL;
    }
    z->f = f;
    return z;
}

void ts_zip_free(ts_zip *z) {
    if (!z) return;
    for (size_t i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e);
    free(z->label);
    free(z);
}

int ts_zip_begin(ts_zip *z, const char *name, uint64_t size, llmc_diags *d) {
    if (z->failed) return -1;
    size_t nl = strlen(name);
    if (z->in_entry || nl == 0 || nl > 0xFFFF) {
        llmc_error(d, "emit", "torchscript: internal: zip entry '%s' %s", name,
                   z->in_entry ? "started inside another entry" : "has an invalid name length");
        return -1;
    }
    if (ts_zip_plan(z->pos, nl, size, &z->cur) != 0) {
        llmc_error(d, "emit", "torchscript: entry '%s' (%llu bytes) does not fit a 64-bit archive offset", name,
                   (unsigned long long)size);
        return -1;
    }
    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 64;
        cd_entry *e = realloc(z->e, cap * sizeof *e);
        if (!e) {
            llmc_error(d, "emit", "torchscript: out of memory for the zip directory");
            return -1;
        }
        z->e = e;
        z->cap = cap;
    }
    cd_entry *e = &z->e[z->n];
    if (!(e->name = strdup(name))) {
        llmc_error(d, "emit", "torchscript: out of memory for the zip directory");
        return -1;
    }
    e->header_at = z->pos;
    e->size = size;
    e->crc = 0;
    z->n++;

    unsigned char h[LOCAL_HEADER];
    put32(h, 0x04034b50);
    put16(h + 4, z->cur.zip64 ? 45 : 0);           /* version needed: 4.5 for ZIP64 */
    put16(h + 6, 0x0808);                           /* UTF-8 name; CRC and sizes in the descriptor */
    put16(h + 8, 0);                                /* stored */
    put16(h + 10, 0);                               /* time */
    put16(h + 12, 0);                               /* date */
    put32(h + 14, 0);                               /* CRC: in the descriptor */
    put32(h + 18, z->cur.zip64 ? TS_ZIP_MAX32 : 0); /* sizes: in the descriptor (ZIP64: the extra) */
    put32(h + 22, z->cur.zip64 ? TS_ZIP_MAX32 : 0);
    put16(h + 26, (uint16_t)nl);
    put16(h + 28, z->cur.extra_len);
    unsigned char x[ZIP64_LOCAL_EXTRA + PAD_RECORD + TS_ZIP_ALIGN];
    size_t xn = 0;
    if (z->cur.zip64) {
        put16(x, 0x0001);
        put16(x + 2, 16);
        put64(x + 4, size);  /* uncompressed */
        put64(x + 12, size); /* compressed = stored */
        xn = ZIP64_LOCAL_EXTRA;
    }
    x[xn] = 'F';
    x[xn + 1] = 'B';
    put16(x + xn + 2, z->cur.pad);
    memset(x + xn + PAD_RECORD, 'Z', z->cur.pad);
    xn += PAD_RECORD + z->cur.pad;
    if (put(z, h, sizeof h, d) || put(z, name, nl, d) || put(z, x, xn, d)) return -1;
    z->in_entry = true;
    z->cur_size = size;
    return 0;
}

int ts_zip_end(ts_zip *z, uint32_t crc, llmc_diags *d) {
    if (z->failed) return -1;
    if (!z->in_entry) {
        llmc_error(d, "emit", "torchscript: internal: zip entry ended without being started");
        return -1;
    }
    z->in_entry = false;
    cd_entry *e = &z->e[z->n - 1];
    /* the caller wrote the data: check that the file is where the plan says */
    off_t at = ftello(z->f);
    if (at < 0 || (uint64_t)at != z->cur.data_at + z->cur_size) {
        llmc_error(d, "emit", "torchscript: %s: entry '%s' should end at byte %llu, the file is at %lld", z->label,
                   e->name, (unsigned long long)(z->cur.data_at + z->cur_size), (long long)at);
        z->failed = true;
        return -1;
    }
    z->pos = (uint64_t)at;
    e->crc = crc;
    unsigned char dd[DESCRIPTOR64];
    put32(dd, 0x08074b50);
    put32(dd + 4, crc);
    size_t n;
    if (z->cur.zip64) {
        put64(dd + 8, e->size);
        put64(dd + 16, e->size);
        n = DESCRIPTOR64;
    } else {
        put32(dd + 8, (uint32_t)e->size);
        put32(dd + 12, (uint32_t)e->size);
        n = DESCRIPTOR32;
    }
    return put(z, dd, n, d);
}

int ts_zip_add(ts_zip *z, const char *name, const void *data, size_t n, llmc_diags *d) {
    if (ts_zip_begin(z, name, n, d)) return -1;
    if (n && fwrite(data, 1, n, z->f) != n) {
        llmc_error(d, "emit", "torchscript: cannot write %s: %s", z->label, strerror(errno));
        z->failed = true;
        return -1;
    }
    return ts_zip_end(z, ts_crc32(0, data, n), d);
}

int ts_zip_finish(ts_zip *z, llmc_diags *d) {
    if (z->failed) return -1;
    if (z->in_entry) {
        llmc_error(d, "emit", "torchscript: internal: archive finished inside an entry");
        return -1;
    }
    uint64_t cd_at = z->pos;
    for (size_t i = 0; i < z->n; i++) {
        const cd_entry *e = &z->e[i];
        bool big = e->size >= TS_ZIP_MAX32, far = e->header_at >= TS_ZIP_MAX32;
        size_t nl = strlen(e->name);
        unsigned char h[CENTRAL_HEADER], x[28];
        uint16_t xn = 0;
        if (big || far) {
            put16(x, 0x0001);
            xn = 4;
            if (big) {
                put64(x + xn, e->size);
                put64(x + xn + 8, e->size);
                xn += 16;
            }
            if (far) {
                put64(x + xn, e->header_at);
                xn += 8;
            }
            put16(x + 2, (uint16_t)(xn - 4));
        }
        put32(h, 0x02014b50);
        put16(h + 4, xn ? 45 : 0); /* version made by */
        put16(h + 6, xn ? 45 : 0); /* version needed */
        put16(h + 8, 0x0808);
        put16(h + 10, 0);
        put16(h + 12, 0);
        put16(h + 14, 0);
        put32(h + 16, e->crc);
        put32(h + 20, clamp32(e->size));
        put32(h + 24, clamp32(e->size));
        put16(h + 28, (uint16_t)nl);
        put16(h + 30, xn);
        put16(h + 32, 0); /* comment */
        put16(h + 34, 0); /* disk */
        put16(h + 36, 0); /* internal attributes */
        put32(h + 38, 0); /* external attributes */
        put32(h + 42, clamp32(e->header_at));
        if (put(z, h, sizeof h, d) || put(z, e->name, nl, d) || put(z, x, xn, d)) return -1;
    }
    uint64_t cd_size = z->pos - cd_at, eocd64_at = z->pos;
    unsigned char r[EOCD64 + EOCD64_LOCATOR + EOCD];
    unsigned char *p = r;
    put32(p, 0x06064b50);
    put64(p + 4, EOCD64 - 12); /* size of the rest of the record */
    put16(p + 12, 0x031E);     /* made by: as torch (miniz) writes it */
    put16(p + 14, 45);
    put32(p + 16, 0);
    put32(p + 20, 0);
    put64(p + 24, z->n);
    put64(p + 32, z->n);
    put64(p + 40, cd_size);
    put64(p + 48, cd_at);
    p += EOCD64;
    put32(p, 0x07064b50);
    put32(p + 4, 0);
    put64(p + 8, eocd64_at);
    put32(p + 16, 1);
    p += EOCD64_LOCATOR;
    put32(p, 0x06054b50);
    put16(p + 4, 0);
    put16(p + 6, 0);
    put16(p + 8, z->n >= 0xFFFF ? 0xFFFF : (uint16_t)z->n);
    put16(p + 10, z->n >= 0xFFFF ? 0xFFFF : (uint16_t)z->n);
    put32(p + 12, clamp32(cd_size));
    put32(p + 16, clamp32(cd_at));
    put16(p + 20, 0);
    return put(z, r, sizeof r, d);
}
