/* Checks on a plugin file around dlopen (see plugin_check.h). */
#include "plugin_check.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* the architecture this llmc was built for (0: unknown here, the dynamic loader checks it) */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__powerpc__)
#define HOST_MACHINE EM_PPC
#elif defined(__s390__)
#define HOST_MACHINE EM_S390
#elif defined(__mips__)
#define HOST_MACHINE EM_MIPS
#else
#define HOST_MACHINE 0
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif
#define HOST_CLASS (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)

/* Limits on what a plugin file may declare; beyond them it is corrupt, not a plugin. */
#define MAX_PHDRS 1024
#define MAX_SECTIONS 65536
#define MAX_DYNAMIC_BYTES (1u << 20)
#define MAX_SHSTRTAB_BYTES (1u << 20)
#define MAX_SYMTAB_BYTES (64u << 20)

struct llmc_elf_file {
    struct object {
        uint64_t start, size;
    } *objects;
    size_t n_objects;
};

/* ---- reading the file ---------------------------------------------------------------------------- */

typedef struct reader {
    int fd;
    uint64_t size;       /* at the check's start (a file that shrinks meanwhile reads short) */
    char *why;
    size_t why_size;
} reader;

static bool LLMC_PRINTF(2, 3) refuse(reader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, r->why_size, fmt, ap);
    va_end(ap);
    return false;
}

static bool in_file(const reader *r, uint64_t off, uint64_t len) {
    uint64_t end;
    return llmc_add_u64(off, len, &end) && end <= r->size;
}

/* n bytes at off into buf (the range is in the file as it was): false with a reason if the
 * read fails or comes up short */
static bool read_at(reader *r, uint64_t off, void *buf, size_t n, const char *what) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(r->fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return refuse(r, "cannot read its %s: %s", what, strerror(errno));
        if (k == 0) return refuse(r, "the file shrank while its %s was read (truncated by another process?)", what);
        got += (size_t)k;
    }
    return true;
}

static const char *machine_name(unsigned m, char *buf, size_t n) {
    switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "AArch64";
    case EM_ARM: return "ARM";
    case EM_RISCV: return "RISC-V";
    case EM_PPC64: return "PowerPC64";
    case EM_PPC: return "PowerPC";
    case EM_S390: return "S/390";
    case EM_MIPS: return "MIPS";
    }
    snprintf(buf, n, "ELF machine %u", m);
    return buf;
}

static const char *segment_name(uint32_t type, char *buf, size_t n) {
    switch (type) {
    case PT_LOAD: return "LOAD";
    case PT_DYNAMIC: return "DYNAMIC";
    case PT_INTERP: return "INTERP";
    case PT_NOTE: return "NOTE";
    case PT_PHDR: return "PHDR";
    case PT_TLS: return "TLS";
    case PT_GNU_EH_FRAME: return "GNU_EH_FRAME";
    case PT_GNU_STACK: return "GNU_STACK";
    case PT_GNU_RELRO: return "GNU_RELRO";
#ifdef PT_GNU_PROPERTY
    case PT_GNU_PROPERTY: return "GNU_PROPERTY";
#endif
    }
    snprintf(buf, n, "type 0x%x", (unsigned)type);
    return buf;
}

/* ---- the ELF header ----------------------------------------------------------------------------------- */

static bool check_header(reader *r, ElfW(Ehdr) *eh) {
    if (r->size < sizeof *eh)
        return refuse(r, "%llu bytes, too short for an ELF header (a truncated copy?)",
                      (unsigned long long)r->size);
    if (!read_at(r, 0, eh, sizeof *eh, "ELF header")) return false;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return refuse(r, "not an ELF file (it does not start with the ELF magic number)");
    if (eh->e_ident[EI_CLASS] != HOST_CLASS)
        return refuse(r, "a %s ELF file; this llmc is %s (rebuild the plugin for this machine)",
                      eh->e_ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : eh->e_ident[EI_CLASS] == ELFCLASS64 ? "64-bit"
                                                                                                  : "corrupt (unknown class)",
                      HOST_CLASS == ELFCLASS64 ? "64-bit" : "32-bit");
    if (eh->e_ident[EI_DATA] != HOST_DATA)
        return refuse(r, "an ELF file of %s byte order; this machine is %s",
                      eh->e_ident[EI_DATA] == ELFDATA2LSB ? "little-endian" : eh->e_ident[EI_DATA] == ELFDATA2MSB
                                                                                 ? "big-endian"
                                                                                 : "unknown",
                      HOST_DATA == ELFDATA2LSB ? "little-endian" : "big-endian");
    if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return refuse(r, "a corrupt ELF header (ELF version %u, expected %u)", (unsigned)eh->e_version, EV_CURRENT);
    switch (eh->e_type) {
    case ET_DYN: break;
    case ET_EXEC: return refuse(r, "it is an executable program, not a library (link the plugin with -shared)");
    case ET_REL: return refuse(r, "it is an object file (.o), not a library (link the plugin with -shared)");
    case ET_CORE: return refuse(r, "it is a core dump");
    default: return refuse(r, "ELF file type %u is not a shared library", (unsigned)eh->e_type);
    }
    if (HOST_MACHINE != 0 && eh->e_machine != HOST_MACHINE) {
        char a[32], b[32];
        return refuse(r, "built for %s; this llmc runs on %s (rebuild the plugin for this machine)",
                      machine_name(eh->e_machine, a, sizeof a), machine_name(HOST_MACHINE, b, sizeof b));
    }
    return true;
}

/* ---- program headers ------------------------------------------------------------------------------------ */

typedef struct loads {
    ElfW(Phdr) *ph;
    size_t n;
} loads;

/* the PT_LOAD holding link-time range [vaddr, vaddr + len) in memory (file_only: in its file bytes) */
static const ElfW(Phdr) *load_holding(const loads *L, uint64_t vaddr, uint64_t len, bool file_only) {
    for (size_t i = 0; i < L->n; i++) {
        const ElfW(Phdr) *p = &L->ph[i];
        uint64_t extent = file_only ? p->p_filesz : p->p_memsz, end;
        if (vaddr >= p->p_vaddr && llmc_add_u64(vaddr, len, &end) && end - p->p_vaddr <= extent) return p;
    }
    return NULL;
}

static bool check_segments(reader *r, const ElfW(Ehdr) *eh, ElfW(Phdr) **out, loads *L) {
    if (eh->e_phentsize != sizeof(ElfW(Phdr)))
        return refuse(r, "a corrupt ELF header (program header entries of %u bytes, expected %zu)",
                      (unsigned)eh->e_phentsize, sizeof(ElfW(Phdr)));
    if (eh->e_phnum == 0) return refuse(r, "it has no program headers (nothing to load)");
    if (eh->e_phnum > MAX_PHDRS)
        return refuse(r, "a corrupt ELF header (%u program headers, at most %d expected)", (unsigned)eh->e_phnum,
                      MAX_PHDRS);
    uint64_t bytes = (uint64_t)eh->e_phnum * sizeof(ElfW(Phdr));
    if (!in_file(r, eh->e_phoff, bytes))
        return refuse(r, "its program headers (file bytes [%llu, +%llu)) lie past the end of the %llu-byte file "
                         "(a truncated copy?)",
                      (unsigned long long)eh->e_phoff, (unsigned long long)bytes, (unsigned long long)r->size);
    ElfW(Phdr) *ph = malloc((size_t)bytes);
    if (!ph) return refuse(r, "out of memory reading its program headers");
    *out = ph;
    if (!read_at(r, eh->e_phoff, ph, (size_t)bytes, "program headers")) return false;
    L->ph = malloc((size_t)bytes);
    if (!L->ph) return refuse(r, "out of memory reading its program headers");
    size_t n_dynamic = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const ElfW(Phdr) *p = &ph[i];
        char tn[24];
        if (p->p_type == PT_NULL) continue;
        if (p->p_filesz > 0 && !in_file(r, p->p_offset, p->p_filesz))
            return refuse(r, "segment %u (%s) needs file bytes [%llu, %llu), but the file has %llu bytes (a truncated "
                             "copy?)",
                          i, segment_name(p->p_type, tn, sizeof tn), (unsigned long long)p->p_offset,
                          (unsigned long long)p->p_offset + (unsigned long long)p->p_filesz,
                          (unsigned long long)r->size);
        if (p->p_type == PT_DYNAMIC) n_dynamic++;
        if (p->p_type != PT_LOAD) continue;
        uint64_t end;
        if (p->p_filesz > p->p_memsz || !llmc_add_u64(p->p_vaddr, p->p_memsz, &end))
            return refuse(r, "segment %u (LOAD) is corrupt (%llu file bytes, %llu memory bytes at 0x%llx)", i,
                          (unsigned long long)p->p_filesz, (unsigned long long)p->p_memsz,
                          (unsigned long long)p->p_vaddr);
        if (p->p_align > 1 && ((p->p_align & (p->p_align - 1)) != 0 || (p->p_vaddr - p->p_offset) % p->p_align != 0))
            return refuse(r, "segment %u (LOAD) is corrupt (address 0x%llx and file offset 0x%llx disagree with "
                             "its alignment %llu)",
                          i, (unsigned long long)p->p_vaddr, (unsigned long long)p->p_offset,
                          (unsigned long long)p->p_align);
        L->ph[L->n++] = *p;
    }
    if (L->n == 0) return refuse(r, "it has no loadable segment");
    if (n_dynamic == 0) return refuse(r, "it has no dynamic section");
    return true;
}

/* ---- the dynamic section ---------------------------------------------------------------------------------- */

static const char *dyn_tag_name(ElfW(Sxword) tag) {
    switch (tag) {
    case DT_STRTAB: return "DT_STRTAB";
    case DT_SYMTAB: return "DT_SYMTAB";
    case DT_HASH: return "DT_HASH";
    case DT_GNU_HASH: return "DT_GNU_HASH";
    case DT_RELA: return "DT_RELA";
    case DT_REL: return "DT_REL";
    case DT_JMPREL: return "DT_JMPREL";
    case DT_INIT: return "DT_INIT";
    case DT_FINI: return "DT_FINI";
    case DT_INIT_ARRAY: return "DT_INIT_ARRAY";
    case DT_FINI_ARRAY: return "DT_FINI_ARRAY";
    case DT_VERSYM: return "DT_VERSYM";
    case DT_VERDEF: return "DT_VERDEF";
    case DT_VERNEED: return "DT_VERNEED";
    case DT_PLTGOT: return "DT_PLTGOT";
    }
    return NULL;
}

/* the size tag of a table's address tag (0 = none) */
static ElfW(Sxword) dyn_size_tag(ElfW(Sxword) tag) {
    switch (tag) {
    case DT_STRTAB: return DT_STRSZ;
    case DT_RELA: return DT_RELASZ;
    case DT_REL: return DT_RELSZ;
    case DT_JMPREL: return DT_PLTRELSZ;
    case DT_INIT_ARRAY: return DT_INIT_ARRAYSZ;
    case DT_FINI_ARRAY: return DT_FINI_ARRAYSZ;
    }
    return 0;
}

static bool check_dynamic(reader *r, const ElfW(Phdr) *dyn, const loads *L) {
    if (!load_holding(L, dyn->p_vaddr, dyn->p_filesz, true))
        return refuse(r, "its dynamic section (0x%llx, %llu bytes) is not inside a loaded segment (a corrupt file)",
                      (unsigned long long)dyn->p_vaddr, (unsigned long long)dyn->p_filesz);
    if (dyn->p_filesz > MAX_DYNAMIC_BYTES)
        return refuse(r, "its dynamic section is implausibly large (%llu bytes)", (unsigned long long)dyn->p_filesz);
    size_t n = (size_t)dyn->p_filesz / sizeof(ElfW(Dyn));
    ElfW(Dyn) *d = malloc(n ? n * sizeof *d : 1);
    if (!d) return refuse(r, "out of memory reading its dynamic section");
    bool ok = read_at(r, dyn->p_offset, d, n * sizeof *d, "dynamic section");
    size_t end = n;
    for (size_t i = 0; ok && i < n; i++)
        if (d[i].d_tag == DT_NULL) { end = i; break; }
    if (ok && end == n) ok = refuse(r, "its dynamic section has no terminating DT_NULL entry (a corrupt file)");
    uint64_t strsz = 0;
    for (size_t i = 0; ok && i < end; i++)
        if (d[i].d_tag == DT_STRSZ) strsz = d[i].d_un.d_val;
    for (size_t i = 0; ok && i < end; i++) {
        ElfW(Sxword) tag = d[i].d_tag;
        if (tag == DT_NEEDED || tag == DT_SONAME || tag == DT_RPATH || tag == DT_RUNPATH) {
            if (d[i].d_un.d_val >= strsz)
                ok = refuse(r, "its dynamic section names a string at %llu, past its %llu-byte string table (a "
                               "corrupt file)",
                            (unsigned long long)d[i].d_un.d_val, (unsigned long long)strsz);
            continue;
        }
        const char *name = dyn_tag_name(tag);
        if (!name) continue;
        uint64_t len = 1;
        ElfW(Sxword) size_tag = dyn_size_tag(tag);
        for (size_t k = 0; size_tag && k < end; k++)
            if (d[k].d_tag == size_tag) len = d[k].d_un.d_val;
        if (len == 0) continue;
        if (!load_holding(L, d[i].d_un.d_ptr, len, false))
            ok = refuse(r, "its dynamic section's %s (0x%llx, %llu bytes) points outside the loaded segments (a "
                           "corrupt file)",
                        name, (unsigned long long)d[i].d_un.d_ptr, (unsigned long long)len);
    }
    free(d);
    return ok;
}

/* ---- section headers and symbols ---------------------------------------------------------------------------- */

/* the name of section i (into buf), from the section-name table if it is readable */
static const char *section_name(const ElfW(Shdr) *sh, size_t i, const char *names, size_t names_len, char *buf,
                                size_t n) {
    if (names && sh[i].sh_name < names_len && memchr(names + sh[i].sh_name, 0, names_len - sh[i].sh_name))
        snprintf(buf, n, "section %zu (%s)", i, names + sh[i].sh_name);
    else
        snprintf(buf, n, "section %zu", i);
    return buf;
}

static bool add_objects(reader *r, llmc_elf_file *f, const ElfW(Shdr) *s) {
    if (s->sh_entsize != sizeof(ElfW(Sym)) || s->sh_size > MAX_SYMTAB_BYTES) return true; /* unusable: not needed */
    size_t n = (size_t)s->sh_size / sizeof(ElfW(Sym));
    if (n == 0) return true;
    ElfW(Sym) *sym = malloc(n * sizeof *sym);
    if (!sym) return refuse(r, "out of memory reading its symbol table");
    if (!read_at(r, s->sh_offset, sym, n * sizeof *sym, "symbol table")) {
        free(sym);
        return false;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ELF64_ST_TYPE(sym[i].st_info) == STT_OBJECT && sym[i].st_size > 0 && sym[i].st_shndx != SHN_UNDEF &&
            sym[i].st_shndx < SHN_LORESERVE)
            k++;
    struct object *o = realloc(f->objects, (f->n_objects + k + 1) * sizeof *o);
    if (!o) {
        free(sym);
        return refuse(r, "out of memory reading its symbol table");
    }
    f->objects = o;
    for (size_t i = 0; i < n; i++)
        if (ELF64_ST_TYPE(sym[i].st_info) == STT_OBJECT && sym[i].st_size > 0 && sym[i].st_shndx != SHN_UNDEF &&
            sym[i].st_shndx < SHN_LORESERVE)
            f->objects[f->n_objects++] = (struct object){sym[i].st_value, sym[i].st_size};
    free(sym);
    return true;
}

static bool check_sections(reader *r, const ElfW(Ehdr) *eh, llmc_elf_file *f) {
    if (eh->e_shoff == 0 && eh->e_shnum == 0) return true; /* no section headers: allowed, nothing to check */
    if (eh->e_shentsize != sizeof(ElfW(Shdr)))
        return refuse(r, "a corrupt ELF header (section header entries of %u bytes, expected %zu)",
                      (unsigned)eh->e_shentsize, sizeof(ElfW(Shdr)));
    uint64_t n = eh->e_shnum;
    if (!in_file(r, eh->e_shoff, sizeof(ElfW(Shdr))))
        return refuse(r, "its section headers (from byte %llu) lie past the end of the %llu-byte file (a truncated "
                         "copy?)",
                      (unsigned long long)eh->e_shoff, (unsigned long long)r->size);
    if (n == 0) { /* more than SHN_LORESERVE sections: the count is in section 0 */
        ElfW(Shdr) s0;
        if (!read_at(r, eh->e_shoff, &s0, sizeof s0, "section headers")) return false;
        n = s0.sh_size;
    }
    if (n > MAX_SECTIONS)
        return refuse(r, "a corrupt ELF header (%llu sections, at most %d expected)", (unsigned long long)n,
                      MAX_SECTIONS);
    uint64_t bytes = n * sizeof(ElfW(Shdr));
    if (!in_file(r, eh->e_shoff, bytes))
        return refuse(r, "its section headers (file bytes [%llu, +%llu)) lie past the end of the %llu-byte file (a "
                         "truncated copy?)",
                      (unsigned long long)eh->e_shoff, (unsigned long long)bytes, (unsigned long long)r->size);
    ElfW(Shdr) *sh = malloc((size_t)bytes);
    if (!sh) return refuse(r, "out of memory reading its section headers");
    bool ok = read_at(r, eh->e_shoff, sh, (size_t)bytes, "section headers");
    /* section names, for messages */
    char *names = NULL;
    size_t names_len = 0;
    size_t shstrndx = eh->e_shstrndx == SHN_XINDEX && n ? (size_t)sh[0].sh_link : eh->e_shstrndx;
    if (ok && shstrndx < n && sh[shstrndx].sh_type == SHT_STRTAB && sh[shstrndx].sh_size <= MAX_SHSTRTAB_BYTES &&
        in_file(r, sh[shstrndx].sh_offset, sh[shstrndx].sh_size)) {
        names_len = (size_t)sh[shstrndx].sh_size;
        names = malloc(names_len ? names_len : 1);
        if (names && !read_at(r, sh[shstrndx].sh_offset, names, names_len, "section names")) ok = false;
    }
    for (size_t i = 0; ok && i < n; i++) {
        if (sh[i].sh_type == SHT_NOBITS || sh[i].sh_type == SHT_NULL || sh[i].sh_size == 0) continue;
        if (!in_file(r, sh[i].sh_offset, sh[i].sh_size)) {
            char sn[96];
            ok = refuse(r, "%s needs file bytes [%llu, %llu), but the file has %llu bytes (a truncated copy?)",
                        section_name(sh, i, names, names_len, sn, sizeof sn), (unsigned long long)sh[i].sh_offset,
                        (unsigned long long)sh[i].sh_offset + (unsigned long long)sh[i].sh_size,
                        (unsigned long long)r->size);
        }
    }
    for (size_t i = 0; ok && i < n; i++)
        if (sh[i].sh_type == SHT_SYMTAB || sh[i].sh_type == SHT_DYNSYM) ok = add_objects(r, f, &sh[i]);
    free(names);
    free(sh);
    return ok;
}

/* ---- the file ------------------------------------------------------------------------------------------------- */

llmc_elf_file *llmc_elf_file_check(const char *path, char *why, size_t why_size) {
    reader r = {-1, 0, why, why_size};
    if (why_size) why[0] = '\0';
    r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block us */
    if (r.fd < 0) {
        refuse(&r, "cannot open the file: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(r.fd, &st) != 0) {
        refuse(&r, "cannot stat the file: %s", strerror(errno));
        close(r.fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        refuse(&r, "not a regular file (a plugin is a .so file)");
        close(r.fd);
        return NULL;
    }
    r.size = (uint64_t)st.st_size;
    llmc_elf_file *f = calloc(1, sizeof *f);
    ElfW(Ehdr) eh;
    ElfW(Phdr) *ph = NULL;
    loads L = {NULL, 0};
    bool ok = f != NULL || refuse(&r, "out of memory checking the file");
    ok = ok && check_header(&r, &eh) && check_segments(&r, &eh, &ph, &L);
    for (unsigned i = 0; ok && i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_DYNAMIC) ok = check_dynamic(&r, &ph[i], &L);
    ok = ok && check_sections(&r, &eh, f);
    free(ph);
    free(L.ph);
    close(r.fd);
    if (!ok) {
        llmc_elf_file_free(f);
        return NULL;
    }
    return f;
}

void llmc_elf_file_free(llmc_elf_file *f) {
    if (!f) return;
    free(f->objects);
    free(f);
}

bool llmc_elf_object_at(const llmc_elf_file *f, uint64_t vaddr, uint64_t *start, uint64_t *size) {
    for (size_t i = 0; f && i < f->n_objects; i++) {
        const struct object *o = &f->objects[i];
        if (vaddr >= o->start && vaddr - o->start < o->size) {
            *start = o->start;
            *size = o->size;
            return true;
        }
    }
    return false;
}

/* ---- the loaded image ------------------------------------------------------------------------------------------- */

typedef struct find_image {
    uintptr_t base;
    const char *name;
    llmc_plugin_image *img;
    bool found;
} find_image;

static int on_object(struct dl_phdr_info *info, size_t size, void *user) {
    (void)size;
    find_image *c = user;
    if ((uintptr_t)info->dlpi_addr != c->base || !info->dlpi_name || strcmp(info->dlpi_name, c->name) != 0) return 0;
    llmc_plugin_image *img = c->img;
    for (size_t i = 0; i < info->dlpi_phnum && img->n < LLMC_IMAGE_MAX_SEGMENTS; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
        uintptr_t lo = c->base + (uintptr_t)p->p_vaddr;
        img->seg[img->n].lo = lo;
        img->seg[img->n].hi = lo + (uintptr_t)p->p_memsz;
        img->seg[img->n].read = (p->p_flags & PF_R) != 0;
        img->seg[img->n].exec = (p->p_flags & PF_X) != 0;
        img->n++;
    }
    c->found = true;
    return 1;
}

int llmc_plugin_image_of(void *handle, llmc_plugin_image *img) {
    memset(img, 0, sizeof *img);
    struct link_map *lm = NULL;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_name) return -1;
    find_image c = {(uintptr_t)lm->l_addr, lm->l_name, img, false};
    img->base = c.base;
    dl_iterate_phdr(on_object, &c);
    return c.found && img->n > 0 ? 0 : -1;
}

static int segment_of(const llmc_plugin_image *img, uintptr_t a) {
    for (size_t i = 0; i < img->n; i++)
        if (a >= img->seg[i].lo && a < img->seg[i].hi) return (int)i;
    return -1;
}

size_t llmc_image_room(const llmc_plugin_image *img, const void *p) {
    int s = segment_of(img, (uintptr_t)p);
    return s >= 0 && img->seg[s].read ? (size_t)(img->seg[s].hi - (uintptr_t)p) : 0;
}

bool llmc_image_holds(const llmc_plugin_image *img, const void *p, size_t n) {
    return n > 0 && llmc_image_room(img, p) >= n;
}

bool llmc_image_string(const llmc_plugin_image *img, const char *s) {
    size_t room = llmc_image_room(img, s);
    return room > 0 && memchr(s, 0, room) != NULL;
}

bool llmc_image_code(const llmc_plugin_image *img, const void *fn) {
    int s = segment_of(img, (uintptr_t)fn);
#if defined(__powerpc64__) && (!defined(_CALL_ELF) || _CALL_ELF == 1)
    return s >= 0; /* ELFv1: a function pointer is a descriptor in a data segment */
#else
    return s >= 0 && img->seg[s].exec;
#endif
}
