/* XXH64 and OUT/manifest.json: the hash against published values (and xxhsum), streaming in any
 * pieces, the checksumming output stream (sizes, tensor marks, refused seeks), files written
 * without it, the JSON form read back, and malformed manifests refused with located errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "testutil.h"
#include "util.h"
#include "xxh64.h"

/* ---- XXH64 --------------------------------------------------------------------------------------------- */

static void test_xxh64_vectors(void **state) {
    (void)state;
    /* values xxhsum -H1 / libxxhash's XXH64() give */
    assert_true(llmc_xxh64("", 0, 0) == 0xef46db3751d8e999ull);
    assert_true(llmc_xxh64("a", 1, 0) == 0xd24ec4f1a98c6e5bull);
    assert_true(llmc_xxh64("abc", 3, 0) == 0x44bc2cf5ad770999ull);
    assert_true(llmc_xxh64("abc", 3, 1) == 0xbea9ca8199328908ull);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    assert_true(llmc_xxh64(fox, strlen(fox), 0) == 0x0b242d361fda71bcull);
    uint8_t b[100];
    for (int i = 0; i < 100; i++) b[i] = (uint8_t)i;
    assert_true(llmc_xxh64(b, sizeof b, 0x9E3779B185EBCA87ull) == 0x00278bda0ee3f586ull);
    char hex[17];
    llmc_xxh64_hex(0xef46db3751d8e999ull, hex);
    assert_string_equal(hex, "ef46db3751d8e999");
}

static void test_xxh64_streaming(void **state) {
    (void)state;
    uint8_t b[700];
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)(i * 131 + (i >> 3));
    for (size_t len = 0; len <= sizeof b; len += 7) {
        uint64_t one = llmc_xxh64(b, len, 42);
        for (size_t piece = 1; piece <= 65; piece += 8) {
            llmc_xxh64_state s;
            llmc_xxh64_init(&s, 42);
            for (size_t at = 0; at < len; at += piece) llmc_xxh64_update(&s, b + at, len - at < piece ? len - at : piece);
            assert_true(llmc_xxh64_digest(&s) == one);
        }
    }
}

/* ---- paths ----------------------------------------------------------------------------------------------- */

static void test_norm_path(void **state) {
    (void)state;
    char buf[64];
    assert_int_equal(llmc_manifest_norm_path("a//b/./c", buf, sizeof buf), 0);
    assert_string_equal(buf, "a/b/c");
    assert_int_equal(llmc_manifest_norm_path("./x.json", buf, sizeof buf), 0);
    assert_string_equal(buf, "x.json");
    assert_int_equal(llmc_manifest_norm_path("/etc/passwd", buf, sizeof buf), -1);
    assert_int_equal(llmc_manifest_norm_path("a/../b", buf, sizeof buf), -1);
    assert_int_equal(llmc_manifest_norm_path("", buf, sizeof buf), -1);
    assert_int_equal(llmc_manifest_norm_path("./", buf, sizeof buf), -1);
    assert_int_equal(llmc_manifest_norm_path("abcdef", buf, 4), -1);
}

/* ---- the stream ------------------------------------------------------------------------------------------- */

static char *make_dir(void) {
    char *t = strdup("/tmp/llmc_manifest_XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static void remove_dir(const char *dir) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_stream_records_sizes_and_tensors(void **state) {
    (void)state;
    char *dir = make_dir();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/w.bin", dir);
    llmc_manifest *m = llmc_manifest_create();
    llmc_diags *d = llmc_diags_create();
    FILE *f = llmc_manifest_open(m, "emx", path, "./w.bin", d);
    assert_non_null(f);
    /* a header, two tensors with padding between them, a trailer; large writes bypass the buffer */
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
    fprintf(f, "HEADER %d\n", 42);
    assert_int_equal(llmc_manifest_tensor_begin(f, "t0", d), 0);
    assert_int_equal(fwrite(big, 1, 1000, f), 1000);
    assert_int_equal(llmc_manifest_tensor_end(f, d), 0);
    fputs("pad", f);
    assert_int_equal(llmc_manifest_tensor_begin(f, "t1", d), 0);
    assert_int_equal(fwrite(big, 1, sizeof big, f), sizeof big);
    assert_int_equal(llmc_manifest_tensor_end(f, d), 0);
    assert_int_equal((long long)ftello(f), 10 + 1000 + 3 + (long long)sizeof big);
    /* nesting and seeking are refused: they would break the checksums */
    assert_int_equal(llmc_manifest_tensor_begin(f, "a", d), 0);
    assert_int_equal(llmc_manifest_tensor_begin(f, "b", d), -1);
    assert_int_equal(llmc_manifest_tensor_end(f, d), 0);
    assert_int_not_equal(fseeko(f, 0, SEEK_SET), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(llmc_diags_errors(d), 1);  /* the nested begin */
    /* the marks do nothing on a FILE that did not come from the manifest */
    FILE *plain = tmpfile();
    assert_int_equal(llmc_manifest_tensor_begin(plain, "x", d), 0);
    assert_int_equal(llmc_manifest_tensor_end(plain, d), 0);
    fclose(plain);

    size_t len;
    char *data = llmc_read_file(path, 1 << 20, &len);
    assert_non_null(data);
    const llmc_file_sum *fs = llmc_manifest_find(m, "w.bin");
    assert_non_null(fs);
    assert_string_equal(fs->emitter, "emx");
    assert_int_equal(fs->bytes, len);
    assert_true(fs->xxh64 == llmc_xxh64(data, len, 0));
    assert_int_equal(fs->n_tensors, 3);
    assert_string_equal(fs->tensors[0].name, "t0");
    assert_int_equal(fs->tensors[0].offset, 10);
    assert_int_equal(fs->tensors[0].bytes, 1000);
    assert_true(fs->tensors[0].xxh64 == llmc_xxh64(big, 1000, 0));
    assert_string_equal(fs->tensors[1].name, "t1");
    assert_int_equal(fs->tensors[1].offset, 1013);
    assert_true(fs->tensors[1].xxh64 == llmc_xxh64(big, sizeof big, 0));
    assert_int_equal(fs->tensors[2].bytes, 0);
    free(data);

    /* a file written with plain stdio is found by the scan; skipped names stay out */
    snprintf(path, sizeof path, "%s/sub/plain.txt", dir);
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(llmc_mkdirs(sub, d), 0);
    FILE *p = fopen(path, "wb");
    fputs("hello", p);
    fclose(p);
    snprintf(path, sizeof path, "%s/skip.json", dir);
    p = fopen(path, "wb");
    fputs("{}", p);
    fclose(p);
    const char *skip[] = {"skip.json", NULL};
    assert_int_equal(llmc_manifest_scan(m, dir, "late", skip, d), 0);
    assert_int_equal(llmc_manifest_num_files(m), 2);
    fs = llmc_manifest_find(m, "sub/plain.txt");
    assert_non_null(fs);
    assert_string_equal(fs->emitter, "late");
    assert_true(fs->xxh64 == llmc_xxh64("hello", 5, 0));
    assert_null(llmc_manifest_find(m, "skip.json"));

    /* the JSON form reads back to the same records, sorted by path */
    assert_int_equal(llmc_manifest_add_bytes(m, NULL, "spec.json", "{}", 2), 0);
    llmc_manifest_set_spec_sha256(m, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    char *text = llmc_manifest_to_json(m);
    assert_non_null(text);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    p = fopen(path, "wb");
    fputs(text, p);
    fclose(p);
    llmc_manifest *back = llmc_manifest_load(path, d);
    assert_non_null(back);
    assert_int_equal(llmc_manifest_num_files(back), 3);
    assert_string_equal(llmc_manifest_file(back, 0)->path, "spec.json");
    assert_string_equal(llmc_manifest_file(back, 0)->emitter, "");
    assert_string_equal(llmc_manifest_file(back, 1)->path, "sub/plain.txt");
    const llmc_file_sum *w = llmc_manifest_find(back, "w.bin");
    assert_int_equal(w->n_tensors, 3);
    assert_true(w->tensors[1].xxh64 == llmc_xxh64(big, sizeof big, 0));
    assert_string_equal(llmc_manifest_spec_sha256(back), llmc_manifest_spec_sha256(m));
    char *again = llmc_manifest_to_json(back);
    assert_string_equal(again, text);
    free(again);
    free(text);
    llmc_manifest_free(back);
    llmc_manifest_free(m);
    llmc_diags_free(d);
    remove_dir(dir);
    free(dir);
}

/* ---- malformed manifests ---------------------------------------------------------------------------------- */

static void expect_refused(const char *json, const char *want) {
    char *dir = make_dir();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "wb");
    fputs(json, f);
    fclose(f);
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_manifest_load(path, d));
    char *got = test_all_diags(d);
    char *expect = llmc_asprintf("%s%s%s", path, want[0] >= '0' && want[0] <= '9' ? ":" : ": ", want);
    if (!strstr(got, expect)) fail_msg("got:\n%s\nwant a line starting:\n%s", got, expect);
    free(expect);
    free(got);
    llmc_diags_free(d);
    remove_dir(dir);
    free(dir);
}

#define HEAD "{\"format\": \"llmc-manifest/1\", \"checksum\": \"xxh64\", \"spec_sha256\": " \
             "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", \"files\": "

static void test_load_refuses_bad_manifests(void **state) {
    (void)state;
    expect_refused("{\"format\": \"other\"}", "format: expected \"llmc-manifest/1\" (got other)");
    expect_refused(HEAD "[{\"path\": \"../x\", \"emitter\": null, \"bytes\": 1, \"xxh64\": \"0000000000000000\"}]}",
                   "files[0]: path: expected a normalised relative path inside OUT (got ../x)");
    expect_refused(HEAD "[{\"path\": \"a\", \"emitter\": null, \"bytes\": -1, \"xxh64\": \"0000000000000000\"}]}",
                   "files[0]: bytes: expected a non-negative integer");
    expect_refused(HEAD "[{\"path\": \"a\", \"emitter\": null, \"bytes\": 1, \"xxh64\": \"XYZ\"}]}",
                   "files[0]: xxh64: expected 16 lowercase hex digits");
    expect_refused(HEAD "[{\"path\": \"a\", \"emitter\": \"e\", \"bytes\": 100, \"xxh64\": \"0000000000000000\", "
                        "\"tensors\": [{\"name\": \"t\", \"offset\": 90, \"bytes\": 20, \"xxh64\": \"0000000000000000\"}]}]}",
                   "files[0].tensors[0]: tensor 't' at bytes [90, +20) is outside the 100-byte file");
    expect_refused(HEAD "[{\"path\": \"a\", \"emitter\": null, \"bytes\": 1, \"xxh64\": \"0000000000000000\"},"
                        " {\"path\": \"a\", \"emitter\": null, \"bytes\": 1, \"xxh64\": \"0000000000000000\"}]}",
                   "files[1]: 'a' is listed twice");
    expect_refused("{\"format\": ", "1:11: JSON syntax error: unexpected token near end of file");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xxh64_vectors),
        cmocka_unit_test(test_xxh64_streaming),
        cmocka_unit_test(test_norm_path),
        cmocka_unit_test(test_stream_records_sizes_and_tensors),
        cmocka_unit_test(test_load_refuses_bad_manifests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
