/* LD_PRELOAD shim for tests: makes "a file changes while the program reads it" deterministic.
 *
 * When the process first memory-maps the file LLMC_FAULT_FILE, the shim, right after the mapping
 * is made (so after the program has read and checked the file's header and size, before it reads
 * the data through the mapping):
 *   LLMC_FAULT_TRUNCATE=N       truncates the file to N bytes (a rewrite in place cut short),
 *   LLMC_FAULT_REWRITE=1        writes its first byte again (a rewrite in place, same size), or
 *   LLMC_FAULT_REPLACE_WITH=P   renames file P over it (an atomic replacement).
 * It acts once per process and writes "shim: ..." to stderr when it did. Used by
 * tests/python/test_input_faults.py (llmc compile --weights, llmc-run). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static int done;

static void act(int fd) {
    const char *target = getenv("LLMC_FAULT_FILE");
    if (done || fd < 0 || !target) return;
    char want[PATH_MAX], link[64], have[PATH_MAX];
    if (!realpath(target, want)) return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, have, sizeof have - 1);
    if (n <= 0) return;
    have[n] = '\0';
    if (strcmp(have, want) != 0) return;
    done = 1;
    const char *size = getenv("LLMC_FAULT_TRUNCATE"), *with = getenv("LLMC_FAULT_REPLACE_WITH");
    const char *rewrite = getenv("LLMC_FAULT_REWRITE");
    int wfd = rewrite ? open(want, O_WRONLY) : -1;
    char first;
    if (size && truncate(want, (off_t)strtoll(size, NULL, 10)) == 0)
        fprintf(stderr, "shim: truncated %s to %s bytes after it was mapped\n", want, size);
    else if (wfd >= 0 && pread(fd, &first, 1, 0) == 1 && pwrite(wfd, &first, 1, 0) == 1)
        fprintf(stderr, "shim: rewrote the first byte of %s after it was mapped\n", want);
    else if (with && rename(with, want) == 0)
        fprintf(stderr, "shim: renamed %s over %s after it was mapped\n", with, want);
    else
        fprintf(stderr, "shim: could not change %s\n", want);
    if (wfd >= 0) close(wfd);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    static mmap_fn real;
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "mmap");
        memcpy(&real, &sym, sizeof real);
    }
    void *p = real(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED) act(fd);
    return p;
}
