/* libFuzzer target for the checks on a plugin file before dlopen (core/plugin_check.c).
 *
 * A random byte string is almost never an ELF file, so the input edits a real shared object
 * (libdl.so.2 or libm): its first 4 bytes (little-endian) give the length to keep
 * (modulo the file's size + 1; 0xffffffff keeps it whole), then each 4 bytes are one patch
 * (24-bit offset, modulo the kept length; 8-bit value). The result goes to a memfd, which
 * llmc_elf_file_check reads through /proc/self/fd like any plugin path. It must never crash or
 * leak, and a refusal must say why. */
#include <dlfcn.h>
#include <link.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plugin_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *base;
static size_t base_size;

static void *small_lib; /* kept open: its path stays valid */

static void load_base(void) {
    /* a small shared object keeps the runs fast: libdl.so.2 (a stub since glibc 2.34), else libm */
    const char *path = NULL;
    struct link_map *lm = NULL;
    small_lib = dlopen("libdl.so.2", RTLD_LAZY);
    if (small_lib && dlinfo(small_lib, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
        path = lm->l_name;
    Dl_info info;
    if (!path) {
        double (*volatile fn)(double) = cos;
        void *addr;
        memcpy(&addr, (const void *)&fn, sizeof addr);
        if (!dladdr(addr, &info) || !info.dli_fname) abort();
        path = info.dli_fname;
    }
    FILE *f = fopen(path, "rb");
    if (!f) abort();
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    base = malloc((size_t)n);
    if (!base || fread(base, 1, (size_t)n, f) != (size_t)n) abort();
    fclose(f);
    base_size = (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!base) load_base();
    if (size < 4) return 0;
    uint32_t keep;
    memcpy(&keep, data, 4);
    size_t n = keep == 0xffffffffu ? base_size : keep % (base_size + 1);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return 0;
    memcpy(copy, base, n);
    for (size_t i = 4; n && i + 4 <= size; i += 4) {
        uint32_t off = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16;
        copy[off % n] = data[i + 3];
    }
    int fd = memfd_create("fuzz_plugin.so", MFD_CLOEXEC);
    if (fd < 0) abort();
    if (n && write(fd, copy, n) != (ssize_t)n) abort();
    char path[64], why[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    llmc_elf_file *f = llmc_elf_file_check(path, why, sizeof why);
    if (!f && !why[0]) abort(); /* refused without a reason */
    if (f) {
        uint64_t start, len;
        (void)llmc_elf_object_at(f, (uint64_t)(off_t)n / 2, &start, &len);
        llmc_elf_file_free(f);
    }
    close(fd);
    free(copy);
    return 0;
}
