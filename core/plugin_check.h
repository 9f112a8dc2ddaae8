/* Checks on a plugin file that the registry runs around dlopen (core/registry.c).
 *
 * Before dlopen: the file is read (pread, never mapped) as untrusted ELF. The header must be a
 * shared object (ET_DYN) of this machine's class, byte order and architecture; every program
 * header and section header, and every file range they name, must lie inside the file; the
 * dynamic section must lie inside a loaded segment and the tables it points at (strings, symbols,
 * hashes, relocations, init/fini arrays) inside the loaded image. A truncated or cut-short copy
 * is refused here with a message instead of crashing the dynamic loader, which maps the
 * segments and touches them without looking at the file's size.
 *
 * After dlopen: the plugin's loaded image (its PT_LOAD segments as mapped) answers whether a
 * pointer the plugin handed over (manifest, descriptor array, strings, vtables, functions) lies
 * inside it, and the file's symbol tables give the size of the object a pointer falls in (how
 * many descriptors the manifest's array really holds).
 *
 * Internal to the core; LLMC_API only for the unit tests. */
#ifndef LLMC_CORE_PLUGIN_CHECK_H
#define LLMC_CORE_PLUGIN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

typedef struct llmc_elf_file llmc_elf_file;

/* Check path as a shared object this process can load. NULL when it is not, with the reason
 * (a sentence without the path) in why. */
LLMC_API llmc_elf_file *llmc_elf_file_check(const char *path, char *why, size_t why_size);
LLMC_API void llmc_elf_file_free(llmc_elf_file *f);

/* The data object (STT_OBJECT of the file's .symtab or .dynsym) that holds link-time address
 * vaddr: its start and size. false when no symbol covers it (a stripped file). */
LLMC_API bool llmc_elf_object_at(const llmc_elf_file *f, uint64_t vaddr, uint64_t *start, uint64_t *size);

#define LLMC_IMAGE_MAX_SEGMENTS 32

/* The loaded segments of one dlopen'ed object. */
typedef struct llmc_plugin_image {
    uintptr_t base;                 /* load bias: run-time address = base + link-time address */
    size_t n;
    struct {
        uintptr_t lo, hi;           /* [lo, hi) */
        bool read, exec;            /* PF_R, PF_X */
    } seg[LLMC_IMAGE_MAX_SEGMENTS];
} llmc_plugin_image;

/* The image of a dlopen handle. 0, or -1 when the loader does not say. */
LLMC_API int llmc_plugin_image_of(void *handle, llmc_plugin_image *img);
/* Does [p, p + n) lie inside one segment of the image? */
LLMC_API bool llmc_image_holds(const llmc_plugin_image *img, const void *p, size_t n);
/* Is s a NUL-terminated string inside one segment of the image? */
LLMC_API bool llmc_image_string(const llmc_plugin_image *img, const char *s);
/* Is fn the address of code of the image (inside an executable segment)? */
LLMC_API bool llmc_image_code(const llmc_plugin_image *img, const void *fn);
/* The bytes from p to the end of the segment holding p (0 if none). */
LLMC_API size_t llmc_image_room(const llmc_plugin_image *img, const void *p);

#endif
