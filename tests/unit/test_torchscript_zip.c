/* The torchscript emitter's zip and pickle writers (plugins/emitters/torchscript/ts_zip.c,
 * ts_pickle.c, compiled into this test): CRC-32 against a bit-at-a-time reference and the
 * standard check value, CRC combination, the local header plan (64-byte alignment, the ZIP64
 * boundary, overflow), whole archives parsed back by an independent reader written here
 * (signatures, offsets, data descriptors, CRCs, central directory, ZIP64 end records), a
 * 4 GiB entry followed by entries beyond 4 GiB (sparse file: ZIP64 sizes and offsets), and the
 * pickle opcodes torch's unpickler reads (int widths, memoized strings and globals, long memo
 * ids). The end-to-end check, torch.jit.load on real archives, is tests/python/test_torchscript.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../plugins/emitters/torchscript/ts_pickle.c"
#include "../../plugins/emitters/torchscript/ts_zip.c"

/* ---- CRC ------------------------------------------------------------------------------------ */

static uint32_t crc_bitwise(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (unsigned char)(seed >> 56);
    }
}

static void test_crc32(void **state) {
    (void)state;
    assert_int_equal(ts_crc32(0, "123456789", 9), 0xCBF43926u); /* the CRC-32/ISO-HDLC check value */
    assert_int_equal(ts_crc32(0, "", 0), 0);
    unsigned char buf[1000];
    fill_random(buf, sizeof buf, 1);
    for (size_t n = 0; n <= sizeof buf; n += (n < 40 ? 1 : 37)) {
        assert_int_equal(ts_crc32(0, buf, n), crc_bitwise(buf, n));
        for (size_t cut = 0; cut <= n; cut += 13) /* incremental = whole */
            assert_int_equal(ts_crc32(ts_crc32(0, buf, cut), buf + cut, n - cut), crc_bitwise(buf, n));
    }
    /* unaligned starts */
    for (size_t off = 1; off < 16; off++) assert_int_equal(ts_crc32(0, buf + off, 500), crc_bitwise(buf + off, 500));
    /* both implementations, whichever ts_crc32 picks on this CPU: the tables, and the
     * carry-less multiplication folding (64-byte steps, 16-byte steps, a tail) */
    for (size_t n = 0; n <= sizeof buf; n++) {
        uint32_t want = crc_bitwise(buf, n);
        assert_int_equal(~crc_tables(~0u, buf, n), want);
#ifdef TS_CRC_CLMUL
        if (crc_use_clmul && n >= 64) assert_int_equal(~crc_clmul(~0u, buf, n), want);
#endif
    }
#ifdef TS_CRC_CLMUL
    print_message("carry-less multiplication CRC path: %s\n", crc_use_clmul ? "tested" : "not available on this CPU");
#endif
}

static void test_crc32_combine(void **state) {
    (void)state;
    enum { N = 5000 };
    unsigned char *buf = malloc(N);
    assert_non_null(buf);
    fill_random(buf, N, 7);
    size_t cuts[] = {0, 1, 3, 16, 17, 255, 256, 1000, 4095, 4999, 5000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t c = cuts[i];
        uint32_t a = ts_crc32(0, buf, c), b = ts_crc32(0, buf + c, N - c);
        assert_int_equal(ts_crc32_combine(a, b, N - c), crc_bitwise(buf, N));
    }
    /* three pieces, folded left to right as the emitter folds its chunks */
    uint32_t acc = ts_crc32(0, buf, 1234);
    acc = ts_crc32_combine(acc, ts_crc32(0, buf + 1234, 2000), 2000);
    acc = ts_crc32_combine(acc, ts_crc32(0, buf + 3234, N - 3234), N - 3234);
    assert_int_equal(acc, crc_bitwise(buf, N));
    free(buf);
}

/* CRC of n zero bytes from the CRC of one, by doubling (for the 4 GiB sparse entry) */
static uint32_t crc_zeros(uint64_t n) {
    uint32_t acc = 0, block = ts_crc32(0, "\0", 1);
    for (uint64_t blen = 1; n; n >>= 1, blen *= 2) {
        if (n & 1) acc = ts_crc32_combine(acc, block, blen);
        block = ts_crc32_combine(block, block, blen);
    }
    return acc;
}

static void test_crc_zeros_helper(void **state) {
    (void)state;
    unsigned char *z = calloc(1, 100000);
    assert_non_null(z);
    uint64_t sizes[] = {0, 1, 4095, 4096, 4097, 12288, 99999, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        assert_int_equal(crc_zeros(sizes[i]), crc_bitwise(z, sizes[i]));
    free(z);
}

/* ---- the local header plan ---------------------------------------------------------------------- */

/* torch 1.13's getPadding (caffe2/serialize/inline_container.cc), restated: the data starts
 * after the 30-byte header, the name, the ZIP64 record torch's miniz adds (4 + 16 bytes for a
 * large size) and the 4-byte "FB" record, rounded up to 64. */
static uint64_t torch_data_start(uint64_t cursor, size_t name_len, uint64_t size) {
    uint64_t start = cursor + 30 + name_len + 4;
    if (size >= 0xFFFFFFFFu) start += 4 + 16;
    return (start + 63) / 64 * 64;
}

static void test_plan(void **state) {
    (void)state;
    ts_zip_local l;
    for (uint64_t off = 0; off < 200; off += 7) {
        for (size_t nl = 1; nl < 90; nl += 11) {
            uint64_t sizes[] = {0, 5, 0xFFFFFFFEu, 0xFFFFFFFFu, 0x100000000ull};
            for (size_t i = 0; i < 5; i++) {
                assert_int_equal(ts_zip_plan(off, nl, sizes[i], &l), 0);
                assert_int_equal(l.data_at % 64, 0);
                assert_true(l.pad < 64);
                assert_int_equal(l.zip64, sizes[i] >= 0xFFFFFFFFu);
                assert_int_equal(l.extra_len, (l.zip64 ? 20 : 0) + 4 + l.pad);
                assert_int_equal(l.data_at, off + 30 + nl + l.extra_len);
                assert_int_equal(l.data_at, torch_data_start(off, nl, sizes[i]));
                assert_int_equal(l.end, l.data_at + sizes[i] + (l.zip64 ? 24 : 16));
            }
        }
    }
    assert_int_not_equal(ts_zip_plan(UINT64_MAX - 40, 10, 0, &l), 0);
    assert_int_not_equal(ts_zip_plan(0, 10, UINT64_MAX - 10, &l), 0);
}

/* ---- an independent reader ---------------------------------------------------------------------- */

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

typedef struct rentry {
    char name[128];
    uint64_t header_at, data_at, size;
    uint32_t crc;
    bool zip64_local;
} rentry;

/* Parse an archive written by ts_zip: end records, central directory, local headers, data
 * descriptors. check_crc reads the data. Returns the number of entries. */
static size_t parse(const unsigned char *b, uint64_t n, bool check_crc, rentry *out, size_t max) {
    assert_true(n >= 22 + 20 + 56);
    const unsigned char *e = b + n - 22;
    assert_int_equal(rd32(e), 0x06054b50);
    const unsigned char *loc = e - 20;
    assert_int_equal(rd32(loc), 0x07064b50);
    assert_int_equal(rd32(loc + 16), 1);
    uint64_t z64 = rd64(loc + 8);
    assert_int_equal(z64 + 56, (uint64_t)(loc - b));
    const unsigned char *r = b + z64;
    assert_int_equal(rd32(r), 0x06064b50);
    assert_int_equal(rd64(r + 4), 44);
    uint64_t count = rd64(r + 24), cd_size = rd64(r + 40), cd_at = rd64(r + 48);
    assert_int_equal(rd64(r + 32), count);
    assert_int_equal(cd_at + cd_size, z64);
    /* the classic record: exact or saturated */
    assert_int_equal(rd16(e + 10), count >= 0xFFFF ? 0xFFFF : count);
    assert_int_equal(rd32(e + 12), cd_size >= 0xFFFFFFFFu ? 0xFFFFFFFFu : cd_size);
    assert_int_equal(rd32(e + 16), cd_at >= 0xFFFFFFFFu ? 0xFFFFFFFFu : cd_at);
    assert_true(count <= max);
    const unsigned char *p = b + cd_at;
    uint64_t expect_at = 0;
    for (size_t i = 0; i < count; i++) {
        rentry *x = &out[i];
        assert_int_equal(rd32(p), 0x02014b50);
        assert_int_equal(rd16(p + 8), 0x0808);
        assert_int_equal(rd16(p + 10), 0);
        uint32_t csz = rd32(p + 20), usz = rd32(p + 24), lho = rd32(p + 42);
        size_t nl = rd16(p + 28), xl = rd16(p + 30);
        assert_true(nl < sizeof x->name);
        memcpy(x->name, p + 46, nl);
        x->name[nl] = '\0';
        x->crc = rd32(p + 16);
        x->size = usz;
        x->header_at = lho;
        const unsigned char *xp = p + 46 + nl;
        bool big = usz == 0xFFFFFFFFu, far = lho == 0xFFFFFFFFu;
        assert_int_equal(csz, usz);
        if (big || far) {
            assert_int_equal(rd16(xp), 1);
            assert_int_equal(rd16(xp + 2), (big ? 16 : 0) + (far ? 8 : 0));
            assert_int_equal(xl, 4 + rd16(xp + 2));
            size_t k = 4;
            if (big) {
                x->size = rd64(xp + k);
                assert_int_equal(rd64(xp + k + 8), x->size);
                k += 16;
            }
            if (far) x->header_at = rd64(xp + k);
            assert_int_equal(rd16(p + 6), 45);
        } else {
            assert_int_equal(xl, 0);
        }
        assert_int_equal(x->header_at, expect_at); /* entries back to back, in order */
        /* the local header */
        const unsigned char *h = b + x->header_at;
        assert_int_equal(rd32(h), 0x04034b50);
        assert_int_equal(rd16(h + 6), 0x0808);
        assert_int_equal(rd32(h + 14), 0);
        assert_int_equal(rd16(h + 26), nl);
        assert_memory_equal(h + 30, x->name, nl);
        size_t lx = rd16(h + 28);
        const unsigned char *lxp = h + 30 + nl;
        x->zip64_local = x->size >= 0xFFFFFFFFu;
        if (x->zip64_local) {
            assert_int_equal(rd32(h + 18), 0xFFFFFFFFu);
            assert_int_equal(rd16(lxp), 1);
            assert_int_equal(rd16(lxp + 2), 16);
            assert_int_equal(rd64(lxp + 4), x->size);
            assert_int_equal(rd64(lxp + 12), x->size);
            lxp += 20;
            lx -= 20;
        } else {
            assert_int_equal(rd32(h + 18), 0);
        }
        assert_true(lxp[0] == 'F' && lxp[1] == 'B');
        assert_int_equal(rd16(lxp + 2), lx - 4);
        for (size_t k = 4; k < lx; k++) assert_int_equal(lxp[k], 'Z');
        x->data_at = (uint64_t)(lxp + lx - b);
        assert_int_equal(x->data_at % 64, 0);
        const unsigned char *dd = b + x->data_at + x->size;
        assert_int_equal(rd32(dd), 0x08074b50);
        assert_int_equal(rd32(dd + 4), x->crc);
        if (x->zip64_local) {
            assert_int_equal(rd64(dd + 8), x->size);
            assert_int_equal(rd64(dd + 16), x->size);
            expect_at = x->data_at + x->size + 24;
        } else {
            assert_int_equal(rd32(dd + 8), x->size);
            assert_int_equal(rd32(dd + 12), x->size);
            expect_at = x->data_at + x->size + 16;
        }
        if (check_crc) assert_int_equal(crc_bitwise(b + x->data_at, x->size), x->crc);
        p += 46 + nl + xl;
    }
    assert_int_equal(expect_at, cd_at);
    assert_ptr_equal(p, b + z64);
    return count;
}

/* ---- archives ----------------------------------------------------------------------------------- */

static unsigned char *slurp(FILE *f, uint64_t *n) {
    fflush(f);
    off_t end = ftello(f);
    assert_true(end > 0);
    unsigned char *b = malloc((size_t)end);
    assert_non_null(b);
    rewind(f);
    assert_int_equal(fread(b, 1, (size_t)end, f), (size_t)end);
    *n = (uint64_t)end;
    return b;
}

static void test_small_archive(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    FILE *f = tmpfile();
    assert_non_null(f);
    ts_zip *z = ts_zip_create(f, "test.pt", d);
    assert_non_null(z);
    unsigned char data[3000];
    fill_random(data, sizeof data, 3);
    /* a streamed entry written in pieces, as the emitter writes tensors */
    assert_int_equal(ts_zip_begin(z, "archive/data/0", sizeof data, d), 0);
    uint32_t crc = 0;
    for (size_t at = 0; at < sizeof data; at += 1000) {
        assert_int_equal(fwrite(data + at, 1, 1000, f), 1000);
        crc = at ? ts_crc32_combine(crc, ts_crc32(0, data + at, 1000), 1000) : ts_crc32(0, data, 1000);
    }
    assert_int_equal(ts_zip_end(z, crc, d), 0);
    assert_int_equal(ts_zip_add(z, "archive/data.pkl", data, 17, d), 0);
    assert_int_equal(ts_zip_add(z, "archive/empty", "", 0, d), 0);
    assert_int_equal(ts_zip_add(z, "archive/version", "4\n", 2, d), 0);
    assert_int_equal(ts_zip_finish(z, d), 0);
    assert_int_equal(llmc_diags_errors(d), 0);
    ts_zip_free(z);
    uint64_t n;
    unsigned char *b = slurp(f, &n);
    rentry e[8];
    assert_int_equal(parse(b, n, true, e, 8), 4);
    assert_string_equal(e[0].name, "archive/data/0");
    assert_int_equal(e[0].size, sizeof data);
    assert_memory_equal(b + e[0].data_at, data, sizeof data);
    assert_int_equal(e[0].data_at, 64); /* 30 + 14 + 4 = 48, padded to 64 as torch pads */
    assert_string_equal(e[3].name, "archive/version");
    assert_memory_equal(b + e[3].data_at, "4\n", 2);
    assert_int_equal(e[2].size, 0);
    free(b);
    fclose(f);
    llmc_diags_free(d);
}

static void test_misuse(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    FILE *f = tmpfile();
    assert_non_null(f);
    ts_zip *z = ts_zip_create(f, "test.pt", d);
    /* fewer bytes than announced: caught at the end of the entry, the archive refuses to go on */
    assert_int_equal(ts_zip_begin(z, "archive/data/0", 100, d), 0);
    assert_int_equal(fwrite("abc", 1, 3, f), 3);
    assert_int_not_equal(ts_zip_end(z, 0, d), 0);
    assert_int_not_equal(ts_zip_finish(z, d), 0);
    char line[512];
    llmc_diag_format(llmc_diags_get(d, 0), line, sizeof line);
    assert_non_null(strstr(line, "entry 'archive/data/0' should end at byte"));
    ts_zip_free(z);
    /* nesting and empty names */
    llmc_diags_clear(d);
    rewind(f);
    z = ts_zip_create(f, "test.pt", d);
    assert_int_equal(ts_zip_begin(z, "a/b", 0, d), 0);
    assert_int_not_equal(ts_zip_begin(z, "a/c", 0, d), 0);
    assert_int_not_equal(ts_zip_add(z, "", "", 0, d), 0);
    assert_int_equal(ts_zip_end(z, 0, d), 0);
    assert_int_not_equal(ts_zip_end(z, 0, d), 0);
    ts_zip_free(z);
    fclose(f);
    llmc_diags_free(d);
}

/* A 4 GiB entry (a hole in a sparse file: the writer only checks the file position), then
 * entries whose local headers sit beyond 4 GiB. */
static void test_zip64(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    FILE *f = tmpfile();
    assert_non_null(f);
    ts_zip *z = ts_zip_create(f, "big.pt", d);
    const uint64_t big = 0x100000000ull; /* >= 0xFFFFFFFF: a ZIP64 entry */
    assert_int_equal(ts_zip_add(z, "archive/data/0", "hello", 5, d), 0);
    assert_int_equal(ts_zip_begin(z, "archive/data/1", big, d), 0);
    if (fseeko(f, (off_t)big, SEEK_CUR) != 0) skip();
    assert_int_equal(ts_zip_end(z, crc_zeros(big), d), 0);
    assert_int_equal(ts_zip_begin(z, "archive/data/2", 0xFFFFFFFEull, d), 0); /* just below: classic sizes */
    if (fseeko(f, (off_t)0xFFFFFFFEull, SEEK_CUR) != 0) skip();
    assert_int_equal(ts_zip_end(z, crc_zeros(0xFFFFFFFEull), d), 0);
    assert_int_equal(ts_zip_add(z, "archive/version", "4\n", 2, d), 0);
    assert_int_equal(ts_zip_finish(z, d), 0);
    assert_int_equal(llmc_diags_errors(d), 0);
    ts_zip_free(z);
    fflush(f);
    off_t n = ftello(f);
    unsigned char *b = mmap(NULL, (size_t)n, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    assert_true(b != MAP_FAILED);
    rentry e[8];
    assert_int_equal(parse(b, (uint64_t)n, false, e, 8), 4);
    assert_false(e[0].zip64_local);
    assert_true(e[1].zip64_local);
    assert_int_equal(e[1].size, big);
    assert_true(e[1].header_at < 0xFFFFFFFFull);    /* a ZIP64 size, a 32-bit offset */
    assert_false(e[2].zip64_local);                 /* a 32-bit size ... */
    assert_true(e[2].header_at > 0xFFFFFFFFull);    /* ... found through a ZIP64 offset */
    assert_true(e[3].header_at > 0x1FFFFFFFFull);
    assert_memory_equal(b + e[3].data_at, "4\n", 2);
    assert_memory_equal(b + e[0].data_at, "hello", 5);
    /* the central directory itself starts beyond 4 GiB: the classic record saturates */
    assert_int_equal(rd32(b + n - 22 + 16), 0xFFFFFFFFu);
    munmap(b, (size_t)n);
    fclose(f);
    llmc_diags_free(d);
}

/* ---- pickle -------------------------------------------------------------------------------------- */

static void expect_bytes(const ts_pickle *t, size_t from, const char *want, size_t n) {
    assert_false(t->oom);
    assert_int_equal(t->n - from, n);
    assert_memory_equal(t->p + from, want, n);
}

static void test_pickle_ints(void **state) {
    (void)state;
    ts_pickle t;
    tp_init(&t);
    expect_bytes(&t, 0, "\x80\x02", 2);
    struct {
        int64_t v;
        const char *bytes;
        size_t n;
    } cases[] = {
        {0, "K\x00", 2},
        {255, "K\xff", 2},
        {256, "M\x00\x01", 3},
        {65535, "M\xff\xff", 3},
        {65536, "J\x00\x00\x01\x00", 5},
        {-1, "J\xff\xff\xff\xff", 5},
        {INT32_MIN, "J\x00\x00\x00\x80", 5},
        {INT32_MAX, "J\xff\xff\xff\x7f", 5},
        {(int64_t)1 << 31, "\x8a\x08\x00\x00\x00\x80\x00\x00\x00\x00", 10},
        {6738415616, "\x8a\x08\x00\x10\xa4\x91\x01\x00\x00\x00", 10}, /* Llama 2 7B parameters */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t at = t.n;
        tp_int(&t, cases[i].v);
        expect_bytes(&t, at, cases[i].bytes, cases[i].n);
    }
    size_t at = t.n;
    tp_bool(&t, true);
    tp_bool(&t, false);
    tp_none(&t);
    expect_bytes(&t, at, "\x88\x89N", 3);
    tp_free(&t);
}

static void test_pickle_memo(void **state) {
    (void)state;
    ts_pickle t;
    tp_init(&t);
    tp_str(&t, "weight");
    expect_bytes(&t, 2, "X\x06\x00\x00\x00weightq\x00", 13);
    size_t at = t.n;
    tp_global(&t, "torch", "FloatStorage");
    expect_bytes(&t, at, "ctorch\nFloatStorage\nq\x01", 22);
    at = t.n;
    tp_str(&t, "weight"); /* repeats are BINGETs */
    tp_global(&t, "torch", "FloatStorage");
    expect_bytes(&t, at, "h\x00h\x01", 4);
    at = t.n;
    tp_str(&t, "torch\nFloatStorage"); /* a string never matches a global */
    assert_int_equal(t.p[at], 'X');
    /* past 255 memo entries: LONG_BINPUT / LONG_BINGET with 4-byte ids */
    char s[16];
    for (int i = 0; i < 300; i++) {
        snprintf(s, sizeof s, "%d", i);
        tp_str(&t, s);
    }
    at = t.n;
    tp_str(&t, "299");
    uint32_t id = 3 + 299; /* "weight", the global, the odd string, then "0".."299" */
    char want[5] = {'j', (char)(id & 0xFF), (char)(id >> 8), 0, 0};
    expect_bytes(&t, at, want, 5);
    at = t.n;
    tp_str(&t, "new");
    assert_int_equal(t.p[t.n - 5], 'r');
    assert_int_equal(rd32(t.p + t.n - 4), 3 + 300);
    (void)at;
    tp_op(&t, TP_STOP);
    assert_false(t.oom);
    tp_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_crc32_combine),
        cmocka_unit_test(test_crc_zeros_helper),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_small_archive),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_zip64),
        cmocka_unit_test(test_pickle_ints),
        cmocka_unit_test(test_pickle_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
