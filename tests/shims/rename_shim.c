/* LD_PRELOAD shim for tests/integration/test_reliability.sh: makes the commit of an output
 * directory observable and its filesystem configurable.
 *
 *   LLMC_SHIM_NO_RENAME_FLAGS=1   renameat2() with any flag fails with EINVAL, as on a filesystem
 *                                 without RENAME_EXCHANGE / RENAME_NOREPLACE (llmc's fallback path)
 *   LLMC_SHIM_PAUSE_MS=N          after the first successful rename()/renameat2() of the process,
 *                                 append "<call> <from> <to> <flags>" to $LLMC_SHIM_LOG and sleep
 *                                 N ms (signals do not cut the sleep short), so that the test can
 *                                 look at OUT and send signals between the renames of a commit */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat2_fn)(int, const char *, int, const char *, unsigned int);

static int paused;

/* dlsym returns an object pointer; ISO C has no cast to a function pointer, a memcpy is exact */
static void *next_symbol(const char *name, void *fn, size_t size) {
    void *sym = dlsym(RTLD_NEXT, name);
    if (sym) memcpy(fn, &sym, size);
    return sym;
}

static void after_rename(const char *call, const char *from, const char *to, unsigned flags) {
    const char *ms = getenv("LLMC_SHIM_PAUSE_MS");
    if (!ms || paused) return;
    paused = 1;
    const char *log = getenv("LLMC_SHIM_LOG");
    if (log) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "%s %s %s %u\n", call, from, to, flags);
            fclose(f);
        }
    }
    long n = strtol(ms, NULL, 10);
    struct timespec left = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) continue;
}

int rename(const char *from, const char *to) {
    rename_fn real;
    if (!next_symbol("rename", &real, sizeof real)) {
        errno = ENOSYS;
        return -1;
    }
    int rc = real(from, to);
    int e = errno;
    if (rc == 0) after_rename("rename", from, to, 0);
    errno = e;
    return rc;
}

int renameat2(int olddirfd, const char *from, int newdirfd, const char *to, unsigned int flags) {
    const char *no_flags = getenv("LLMC_SHIM_NO_RENAME_FLAGS");
    if (flags && no_flags && *no_flags == '1') {
        errno = EINVAL;
        return -1;
    }
    renameat2_fn real;
    if (!next_symbol("renameat2", &real, sizeof real)) {
        errno = ENOSYS;
        return -1;
    }
    int rc = real(olddirfd, from, newdirfd, to, flags);
    int e = errno;
    if (rc == 0) after_rename("renameat2", from, to, flags);
    errno = e;
    return rc;
}
