/* The atomic output directory (core/outdir.c): what may be written over, the marker, the lock,
 * leftovers of killed compiles, and the stop-signal flag. The paths that need a paused or
 * failing rename are in tests/integration/test_reliability.sh (LD_PRELOAD shim). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interrupt.h"
#include "llmc/weights.h"
#include "outdir.h"
#include "llmc/sha256.h"
#include "testutil.h"
#include "util.h"

static char root[64]; /* a short mkdtemp path: every at() fits */

static int setup(void **state) {
    (void)state;
    snprintf(root, sizeof root, "/tmp/llmc_test_outdir_XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return llmc_remove_tree(root);
}

static const char *at(const char *rel) {
    static char buf[4][PATH_MAX];
    static int next;
    char *b = buf[next++ % 4];
    int w = snprintf(b, PATH_MAX, "%s/%s", root, rel);
    assert_true(w > 0 && w < PATH_MAX);
    return b;
}

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path) {
    size_t len;
    char *t = llmc_read_file(path, 1 << 20, &len);
    assert_non_null(t);
    return t;
}

/* every entry of root that a compile may leave behind (temp dirs, moved-aside copies, locks) */
static int count_leftovers(void) {
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -cE '^\\..+\\.(tmp-|old-|lock$)' >/dev/null", root);
    return system(cmd) == 0;
}

static void expect_diag(llmc_diags *d, const char *needle) {
    char *all = test_all_diags(d);
    if (!strstr(all, needle)) fail_msg("expected '%s' in:\n%s", needle, all);
    free(all);
}

/* a compile in miniature: spec.json with the given text, then seal + commit */
static int write_output(const char *out, bool force, const char *spec_text, llmc_diags *d) {
    llmc_outdir *o = llmc_outdir_begin(out, force, d);
    if (!o) return 1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/spec.json", llmc_outdir_tmp(o));
    put(path, spec_text);
    snprintf(path, sizeof path, "%s/emitter", llmc_outdir_tmp(o));
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/emitter/model.bin", llmc_outdir_tmp(o));
    put(path, "weights");
    if (llmc_outdir_seal(o, d) != 0) {
        llmc_outdir_abort(o);
        return 1;
    }
    return llmc_outdir_commit(o, d);
}

static void test_dir_states(void **state) {
    (void)state;
    assert_int_equal(llmc_dir_state_of(at("none")), LLMC_DIR_MISSING);
    assert_int_equal(mkdir(at("empty"), 0777), 0);
    assert_int_equal(llmc_dir_state_of(at("empty")), LLMC_DIR_EMPTY);
    put(at("file"), "x");
    assert_int_equal(llmc_dir_state_of(at("file")), LLMC_DIR_NOT_A_DIR);
    assert_int_equal(llmc_dir_state_of(at("file/below")), LLMC_DIR_MISSING);
    assert_int_equal(mkdir(at("full"), 0777), 0);
    put(at("full/a"), "x");
    assert_int_equal(llmc_dir_state_of(at("full")), LLMC_DIR_NONEMPTY);
    if (geteuid() != 0) { /* root lists any directory */
        assert_int_equal(chmod(at("full"), 0333), 0);
        assert_int_equal(llmc_dir_state_of(at("full")), LLMC_DIR_UNREADABLE);
        assert_int_equal(chmod(at("full"), 0755), 0);
    }
}

static void test_fresh_output_has_a_marker(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(write_output(at("out"), false, "{\"name\": \"a\"}\n", d), 0);
    char *marker = slurp(at("out/.llmc-output"));
    char hex[65];
    llmc_sha256_hex("{\"name\": \"a\"}\n", 14, hex);
    assert_non_null(strstr(marker, hex));
    assert_non_null(strstr(marker, "\"complete\": true"));
    assert_non_null(strstr(marker, "\"emitter\""));
    free(marker);
    assert_int_equal(count_leftovers(), 0);
    llmc_diags_free(d);
}

static void test_force_replaces_only_llmc_outputs(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(write_output(at("out"), false, "old\n", d), 0);
    /* no --force: refused */
    assert_int_not_equal(write_output(at("out"), false, "new\n", d), 0);
    expect_diag(d, "exists and is not empty (use --force to replace it)");
    llmc_diags_clear(d);
    /* --force over an llmc output: replaced */
    assert_int_equal(write_output(at("out"), true, "new\n", d), 0);
    char *spec = slurp(at("out/spec.json"));
    assert_string_equal(spec, "new\n");
    free(spec);
    assert_int_equal(count_leftovers(), 0);
    /* a file added at the top: refused, kept */
    put(at("out/notes.txt"), "mine");
    assert_int_not_equal(write_output(at("out"), true, "newer\n", d), 0);
    expect_diag(d, "holds 'notes.txt', which llmc did not write");
    assert_int_equal(access(at("out/notes.txt"), F_OK), 0);
    unlink(at("out/notes.txt"));
    llmc_diags_clear(d);
    /* spec.json edited: refused */
    put(at("out/spec.json"), "edited\n");
    assert_int_not_equal(write_output(at("out"), true, "newer\n", d), 0);
    expect_diag(d, "has a spec.json that differs from the one llmc wrote");
    llmc_diags_clear(d);
    /* a directory llmc did not write */
    assert_int_equal(mkdir(at("foreign"), 0777), 0);
    put(at("foreign/data.txt"), "data");
    assert_int_not_equal(write_output(at("foreign"), true, "x\n", d), 0);
    expect_diag(d, "has no .llmc-output marker, so llmc did not write it");
    assert_int_equal(access(at("foreign/data.txt"), F_OK), 0);
    llmc_diags_clear(d);
    /* a symlink to an llmc output */
    assert_int_equal(symlink(at("out"), at("link")), 0);
    assert_int_not_equal(write_output(at("link"), true, "x\n", d), 0);
    expect_diag(d, "is a symbolic link");
    /* an empty directory is used without --force */
    llmc_diags_clear(d);
    assert_int_equal(mkdir(at("empty"), 0777), 0);
    assert_int_equal(write_output(at("empty"), false, "x\n", d), 0);
    assert_int_equal(count_leftovers(), 0);
    llmc_diags_free(d);
}

static void test_never_cwd_or_its_parents(void **state) {
    (void)state;
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(mkdir(at("here"), 0777), 0);
    assert_int_equal(mkdir(at("here/sub"), 0777), 0);
    assert_int_equal(chdir(at("here/sub")), 0);
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_outdir_begin("../sub", true, d));
    expect_diag(d, "it is the current directory");
    llmc_diags_clear(d);
    assert_null(llmc_outdir_begin("..", true, d));
    expect_diag(d, "it is a parent of the current directory");
    llmc_diags_clear(d);
    assert_null(llmc_outdir_begin(root, true, d));
    expect_diag(d, "it is a parent of the current directory");
    llmc_diags_clear(d);
    assert_null(llmc_outdir_begin("/", true, d));
    expect_diag(d, "it is the root directory");
    assert_int_equal(chdir(cwd), 0);
    llmc_diags_free(d);
}

static void test_lock_names_the_holder(void **state) {
    (void)state;
    int fd = open(at(".out.lock"), O_RDWR | O_CREAT, 0666);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(write(fd, "4242\n", 5), 5);
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_outdir_begin(at("out"), false, d));
    expect_diag(d, "another llmc compile (pid 4242) is writing");
    close(fd);
    unlink(at(".out.lock"));
    llmc_diags_clear(d);
    /* released: begin + abort leave nothing, the lock file included */
    llmc_outdir *o = llmc_outdir_begin(at("out"), false, d);
    assert_non_null(o);
    llmc_outdir_abort(o);
    assert_int_equal(count_leftovers(), 0);
    assert_int_equal(access(at("out"), F_OK), -1);
    llmc_diags_free(d);
}

static void test_leftovers_of_dead_compiles(void **state) {
    (void)state;
    /* a killed compile's temp dir (unfinished marker), one named like it but not llmc's, one that
     * a live process holds */
    assert_int_equal(mkdir(at(".out.tmp-dead01"), 0777), 0);
    put(at(".out.tmp-dead01/.llmc-output"), "{\"format\": \"llmc-output\", \"version\": 1, \"complete\": false}\n");
    put(at(".out.tmp-dead01/partial.bin"), "xx");
    assert_int_equal(mkdir(at(".out.tmp-users1"), 0777), 0);
    put(at(".out.tmp-users1/mine.txt"), "mine");
    assert_int_equal(mkdir(at(".out.tmp-alive1"), 0777), 0);
    /* another output's in the same folder: a dead temp dir goes; an empty one (its compile may be
     * between mkdtemp and flock) and a moved-aside copy stay */
    assert_int_equal(mkdir(at(".other.tmp-dead02"), 0777), 0);
    put(at(".other.tmp-dead02/.llmc-output"), "{\"format\": \"llmc-output\", \"version\": 1, \"complete\": false}\n");
    assert_int_equal(mkdir(at(".other.tmp-empty1"), 0777), 0);
    assert_int_equal(mkdir(at(".other.old-abc123"), 0777), 0);
    put(at(".other.old-abc123/.llmc-output"), "{\"format\": \"llmc-output\", \"version\": 1, \"complete\": false}\n");
    int live = open(at(".out.tmp-alive1"), O_RDONLY | O_DIRECTORY);
    assert_true(live >= 0);
    assert_int_equal(flock(live, LOCK_EX), 0);
    llmc_diags *d = llmc_diags_create();
    llmc_outdir *o = llmc_outdir_begin(at("out"), false, d);
    assert_non_null(o);
    llmc_outdir_abort(o);
    expect_diag(d, "removed '");
    expect_diag(d, ".out.tmp-dead01', left behind by an llmc compile that was killed");
    expect_diag(d, ".out.tmp-users1' as it is");
    assert_int_equal(access(at(".out.tmp-dead01"), F_OK), -1);
    assert_int_equal(access(at(".out.tmp-users1/mine.txt"), F_OK), 0);
    assert_int_equal(access(at(".out.tmp-alive1"), F_OK), 0);
    assert_int_equal(access(at(".other.tmp-dead02"), F_OK), -1);
    assert_int_equal(access(at(".other.tmp-empty1"), F_OK), 0);
    assert_int_equal(access(at(".other.old-abc123"), F_OK), 0);
    close(live);
    llmc_diags_free(d);
}

static void test_moved_aside_output_is_put_back(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(write_output(at("out"), false, "old\n", d), 0);
    /* what a fallback commit killed between its two renames leaves */
    assert_int_equal(rename(at("out"), at(".out.old-abc123")), 0);
    assert_null(llmc_outdir_begin(at("out"), false, d)); /* put back, then: not empty, no --force */
    expect_diag(d, "restored '");
    expect_diag(d, "exists and is not empty");
    char *spec = slurp(at("out/spec.json"));
    assert_string_equal(spec, "old\n");
    free(spec);
    assert_int_equal(count_leftovers(), 0);
    llmc_diags_free(d);
}

static void test_stop_signal_only_sets_the_flag(void **state) {
    (void)state;
    llmc_stop_signals_arm();
    assert_int_equal(llmc_interrupted(), 0);
    raise(SIGTERM);
    raise(SIGINT); /* the first one wins */
    assert_int_equal(llmc_interrupted(), SIGTERM);
    llmc_stop_signals_disarm();
    assert_string_equal(llmc_signal_name(SIGINT), "SIGINT");
    /* arming again clears it */
    llmc_stop_signals_arm();
    assert_int_equal(llmc_interrupted(), 0);
    llmc_stop_signals_disarm();
}

/* a producer that raises SIGINT at chunk 3 of 64, from a worker thread, and notes a worker that
 * does not block the stop signals */
static int unblocked_worker;

static int produce_and_interrupt(void *user, uint64_t idx, void *buf, size_t *len, llmc_diags *d) {
    (void)d;
    int *produced = user;
    __atomic_add_fetch(produced, 1, __ATOMIC_RELAXED);
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    if (!sigismember(&mask, SIGINT) || !sigismember(&mask, SIGTERM) || !sigismember(&mask, SIGHUP))
        __atomic_store_n(&unblocked_worker, 1, __ATOMIC_RELAXED);
    if (idx == 3) kill(getpid(), SIGINT); /* process-directed: workers block it, the main thread takes it */
    memset(buf, (int)idx, *len);
    return 0;
}

static void test_chunk_writer_stops_on_the_flag(void **state) {
    (void)state;
    FILE *f = fopen(at("chunks.bin"), "wb");
    assert_non_null(f);
    llmc_diags *d = llmc_diags_create();
    int produced = 0;
    llmc_stop_signals_arm();
    int rc = llmc_write_chunks_ordered(f, 64, 4096, produce_and_interrupt, &produced, 2, NULL, d);
    int sig = llmc_interrupted();
    llmc_stop_signals_disarm();
    fclose(f);
    assert_int_equal(sig, SIGINT);
    assert_int_not_equal(rc, 0);
    expect_diag(d, "interrupted by SIGINT before the write finished");
    assert_true(produced < 64);
    assert_int_equal(unblocked_worker, 0);
    llmc_diags_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dir_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_output_has_a_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_force_replaces_only_llmc_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_cwd_or_its_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_names_the_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftovers_of_dead_compiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_aside_output_is_put_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_signal_only_sets_the_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_writer_stops_on_the_flag, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
