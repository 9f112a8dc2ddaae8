/* Plugin registry (see registry.h and docs/plugins.md).
 *
 * A plugin file goes through these gates, in order; the first that fails is its one
 * failure, recorded with the file and a reason a user can act on:
 *   exists -> ELF checks on the file (plugin_check.c: header, segments and tables inside the
 *   file, so a truncated copy cannot crash the dynamic loader) -> dlopen (RTLD_NOW |
 *   RTLD_LOCAL) -> entry symbol (a function of the plugin, not data) -> manifest != NULL and
 *   inside the plugin -> manifest->abi_version (read alone, before anything else) -> plugin
 *   count against the array the manifest points at (the size of its symbol).
 * Then each plugin of the manifest on its own:
 *   name -> allow/disable -> version -> kind -> vtable (inside the plugin, struct_size,
 *   required functions present and code of the plugin) -> not a duplicate -> registered.
 * Every pointer the plugin hands over is checked to lie inside the plugin's loaded image
 * before it is read, so a corrupt manifest is a load failure and not a crash.
 * A file none of whose plugins got registered is dlclosed again. */
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/strbuf.h"
#include "plugin_check.h"
#include "util.h"

const char *llmc_plugin_kind_name(llmc_plugin_kind k) {
    switch (k) {
    case LLMC_PLUGIN_TEMPLATE: return "template";
    case LLMC_PLUGIN_SOLVER: return "solver";
    case LLMC_PLUGIN_EMITTER: return "emitter";
    case LLMC_PLUGIN_TOKENIZER: return "tokenizer";
    }
    return "unknown kind";
}

/* "a template", "a solver", "an emitter" */
static const char *a_kind(llmc_plugin_kind k) {
    switch (k) {
    case LLMC_PLUGIN_TEMPLATE: return "a template";
    case LLMC_PLUGIN_SOLVER: return "a solver";
    case LLMC_PLUGIN_EMITTER: return "an emitter";
    case LLMC_PLUGIN_TOKENIZER: return "a tokenizer";
    }
    return "a plugin of unknown kind";
}

typedef struct lib {
    void *handle;
    char *file;              /* real path; llmc_plugin.file points here */
} lib;

typedef struct record {
    llmc_load_failure view;  /* strings below, owned */
} record;

typedef struct dir_state {
    char *path;
    bool exists;
} dir_state;

struct llmc_registry {
    llmc_plugin **plugins; size_t n_plugins;
    lib **libs; size_t n_libs;
    record **failures; size_t n_failures;
    record **skipped; size_t n_skipped;
    char **seen; size_t n_seen;          /* real paths already tried */
    dir_state *dirs; size_t n_dirs;      /* what llmc_registry_load searched */
    char **files; size_t n_files;        /* explicit plugin files it was given */
    char *config_path;                   /* for messages */
    char **allow; size_t n_allow;
    char **disable; size_t n_disable;
};

/* ---- small helpers ------------------------------------------------------------------------------ */

static int strv_push(char ***v, size_t *n, const char *s) {
    char *copy = llmc_strdup(s);
    if (!copy) return -1;
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) { free(copy); return -1; }
    nv[(*n)++] = copy;
    *v = nv;
    return 0;
}

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static bool strv_has(char *const *v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return true;
    return false;
}

static int ptr_push(void ***v, size_t *n, void *p) {
    void **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return -1;
    nv[(*n)++] = p;
    *v = nv;
    return 0;
}

/* A plugin-supplied string made safe to print: at most 64 bytes, control bytes as '?'. */
static const char *printable(const char *s, char *buf, size_t n) {
    size_t o = 0;
    for (; s[0] && o + 4 < n && o < 64; s++) buf[o++] = (unsigned char)s[0] < 0x20 || s[0] == 0x7f ? '?' : s[0];
    if (s[0]) { buf[o++] = '.'; buf[o++] = '.'; buf[o++] = '.'; }
    buf[o] = '\0';
    return buf;
}

/* ---- lifetime ------------------------------------------------------------------------------------ */

llmc_registry *llmc_registry_create(void) { return calloc(1, sizeof(llmc_registry)); }

static void record_free(record *rec) {
    if (!rec) return;
    free((char *)rec->view.file);
    free((char *)rec->view.plugin_name);
    free((char *)rec->view.reason);
    free(rec);
}

static void forget_config(llmc_registry *r) {
    for (size_t i = 0; i < r->n_dirs; i++) free(r->dirs[i].path);
    free(r->dirs);
    r->dirs = NULL;
    r->n_dirs = 0;
    strv_free(r->files, r->n_files);
    r->files = NULL;
    r->n_files = 0;
    free(r->config_path);
    r->config_path = NULL;
    strv_free(r->allow, r->n_allow);
    r->allow = NULL;
    r->n_allow = 0;
    strv_free(r->disable, r->n_disable);
    r->disable = NULL;
    r->n_disable = 0;
}

void llmc_registry_free(llmc_registry *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_plugins; i++) free(r->plugins[i]);
    free(r->plugins);
    for (size_t i = 0; i < r->n_libs; i++) {
        dlclose(r->libs[i]->handle);
        free(r->libs[i]->file);
        free(r->libs[i]);
    }
    free(r->libs);
    for (size_t i = 0; i < r->n_failures; i++) record_free(r->failures[i]);
    free(r->failures);
    for (size_t i = 0; i < r->n_skipped; i++) record_free(r->skipped[i]);
    free(r->skipped);
    strv_free(r->seen, r->n_seen);
    forget_config(r);
    free(r);
}

/* ---- failures ------------------------------------------------------------------------------------ */

static record *make_record(const char *file, const char *plugin_name, const char *fmt, va_list ap) {
    record *rec = calloc(1, sizeof *rec);
    if (!rec) return NULL;
    rec->view.file = llmc_strdup(file);
    rec->view.plugin_name = plugin_name ? llmc_strdup(plugin_name) : NULL;
    rec->view.reason = llmc_vasprintf(fmt, ap);
    if (!rec->view.file || !rec->view.reason || (plugin_name && !rec->view.plugin_name)) {
        record_free(rec);
        return NULL;
    }
    return rec;
}

/* Record a failure of file (plugin_name NULL = the whole file) and report it:
 * "file: warning: reason", or an error when strict. */
static void fail(llmc_registry *r, const llmc_config *c, llmc_diags *d, const char *file, const char *plugin_name,
                 const char *fmt, ...) LLMC_PRINTF(6, 7);
static void fail(llmc_registry *r, const llmc_config *c, llmc_diags *d, const char *file, const char *plugin_name,
                 const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    record *rec = make_record(file, plugin_name, fmt, ap);
    va_end(ap);
    llmc_loc loc = {file, 0, 0};
    llmc_severity sev = c && c->strict_plugins ? LLMC_SEV_ERROR : LLMC_SEV_WARNING;
    if (!rec || ptr_push((void ***)&r->failures, &r->n_failures, rec) != 0) {
        record_free(rec);
        /* the failure still counts; say what we could not record */
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "out of memory while recording a plugin load failure");
        return;
    }
    llmc_diag_add(d, sev, loc, NULL, "%s", rec->view.reason);
}

static void skip(llmc_registry *r, llmc_diags *d, const char *file, const char *name, const char *why) {
    record *rec = calloc(1, sizeof *rec);
    if (rec) {
        rec->view.file = llmc_strdup(file);
        rec->view.plugin_name = llmc_strdup(name);
        rec->view.reason = llmc_strdup(why);
    }
    if (!rec || !rec->view.file || !rec->view.plugin_name || !rec->view.reason ||
        ptr_push((void ***)&r->skipped, &r->n_skipped, rec) != 0) {
        record_free(rec);
        llmc_error(d, NULL, "out of memory while loading plugins");
    }
}

/* ---- checking one plugin descriptor ---------------------------------------------------------------- */

/* The smallest vtable this llmc accepts: the struct up to its last function as of the current
 * LLMC_ABI_VERSION. A function appended in a later minor version (sdk/README.md, "ABI policy")
 * is optional: plugins built before it have a smaller struct_size and keep loading, and the host
 * calls it only when LLMC_HAS_MEMBER says the plugin's vtable has it. */
#define END_OF(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
static size_t host_vtable_size(uint32_t kind) {
    switch (kind) {
    case LLMC_PLUGIN_TEMPLATE: return END_OF(llmc_template_vtable, build_ir);
    case LLMC_PLUGIN_SOLVER: return END_OF(llmc_solver_vtable, solve);
    case LLMC_PLUGIN_EMITTER: return END_OF(llmc_emitter_vtable, emit);
    case LLMC_PLUGIN_TOKENIZER: return END_OF(llmc_tokenizer_vtable, train);
    }
    return 0;
}

/* The functions of a vtable this llmc knows (all of them lie within host_vtable_size), with
 * whether each is required. Returns how many. */
typedef struct vt_fn {
    const char *name;
    const void *fn;    /* as an object pointer, for range checks (POSIX allows the conversion) */
    bool required;
} vt_fn;

#define FN(list, k, v, member, req)                                                 \
    do {                                                                            \
        list[k].name = #member;                                                     \
        memcpy(&list[k].fn, &(v)->member, sizeof list[k].fn);                      \
        list[k++].required = req;                                                   \
    } while (0)

static size_t vtable_functions(uint32_t kind, const void *vtable, vt_fn *list) {
    size_t k = 0;
    if (kind == LLMC_PLUGIN_TEMPLATE) {
        const llmc_template_vtable *v = vtable;
        FN(list, k, v, validate, true);
        FN(list, k, v, complete_dims, true);
        FN(list, k, v, define_problem, true);
        FN(list, k, v, count, true);
        FN(list, k, v, build_ir, true);
    } else if (kind == LLMC_PLUGIN_SOLVER) {
        const llmc_solver_vtable *v = vtable;
        FN(list, k, v, solve, true);
    } else if (kind == LLMC_PLUGIN_EMITTER) {
        const llmc_emitter_vtable *v = vtable;
        FN(list, k, v, check, false);
        FN(list, k, v, emit, true);
    } else if (kind == LLMC_PLUGIN_TOKENIZER) {
        const llmc_tokenizer_vtable *v = vtable;
        FN(list, k, v, prepare, false);
        FN(list, k, v, train, true);
    }
    return k;
}
#undef FN

/* Names of the functions of list that are missing (required and NULL) or, with outside,
 * set but not code of the plugin: comma separated into buf ("" = none). */
static void function_names(const vt_fn *list, size_t n, const llmc_plugin_image *img, bool outside, char *buf,
                           size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < size; i++) {
        bool hit = outside ? list[i].fn && !llmc_image_code(img, list[i].fn) : list[i].required && !list[i].fn;
        if (hit) o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", list[i].name);
    }
}

static const llmc_plugin *find_any_kind(const llmc_registry *r, const char *name) {
    for (size_t i = 0; i < r->n_plugins; i++)
        if (!strcmp(r->plugins[i]->name, name)) return r->plugins[i];
    return NULL;
}

/* Check desc i of file; register it (pointing at l) or record why not.
 * Returns true if it was registered. */
static bool add_plugin(llmc_registry *r, const llmc_config *c, llmc_diags *d, lib *l, const llmc_plugin_image *img,
                       uint32_t i, const llmc_plugin_desc *desc) {
    const char *file = l->file;
    char shown[80];
    if (desc->name && !llmc_image_string(img, desc->name)) {
        fail(r, c, d, file, NULL,
             "plugin #%u of the manifest: its name is not a string inside the plugin (a corrupt manifest?)", i + 1);
        return false;
    }
    if (!desc->name || !desc->name[0]) {
        fail(r, c, d, file, NULL, "plugin #%u of the manifest has no name", i + 1);
        return false;
    }
    if (!llmc_plugin_name_valid(desc->name)) {
        fail(r, c, d, file, NULL,
             "plugin #%u of the manifest has an invalid name '%s' (expected 1-64 letters, digits, '_', '-' or '.')",
             i + 1, printable(desc->name, shown, sizeof shown));
        return false;
    }
    const char *name = desc->name;
    if (c && strv_has(c->disable, c->n_disable, name)) {
        skip(r, d, file, name, "disabled by the config");
        return false;
    }
    if (c && c->n_allow && !strv_has(c->allow, c->n_allow, name)) {
        skip(r, d, file, name, "not in the config's allow list");
        return false;
    }
    if (desc->version && !llmc_image_string(img, desc->version)) {
        fail(r, c, d, file, name, "plugin '%s': its version is not a string inside the plugin (a corrupt manifest?)",
             name);
        return false;
    }
    if (!desc->version || !desc->version[0]) {
        fail(r, c, d, file, name, "plugin '%s' has no version", name);
        return false;
    }
    if (desc->description && !llmc_image_string(img, desc->description)) {
        fail(r, c, d, file, name,
             "plugin '%s': its description is not a string inside the plugin (a corrupt manifest?)", name);
        return false;
    }
    uint32_t kind = desc->kind;
    size_t need = host_vtable_size(kind);
    if (need == 0) {
        fail(r, c, d, file, name,
             "plugin '%s' has unknown kind %u (this llmc knows 1 = template, 2 = solver, 3 = emitter, "
             "4 = tokenizer)",
             name, kind);
        return false;
    }
    const char *kname = llmc_plugin_kind_name((llmc_plugin_kind)kind);
    if (!desc->vtable) {
        fail(r, c, d, file, name, "%s '%s' has no vtable (NULL)", kname, name);
        return false;
    }
    /* every vtable starts with uint32_t struct_size: read that alone before trusting the rest */
    if (!llmc_image_holds(img, desc->vtable, sizeof(uint32_t))) {
        fail(r, c, d, file, name, "%s '%s': its vtable pointer does not point inside the plugin (a corrupt manifest?)",
             kname, name);
        return false;
    }
    uint32_t size;
    memcpy(&size, desc->vtable, sizeof size);
    if (size < need) {
        fail(r, c, d, file, name,
             "%s '%s' has a vtable of %u bytes, this llmc needs at least %zu (rebuild the plugin against this "
             "llmc's SDK)",
             kname, name, size, need);
        return false;
    }
    if (!llmc_image_holds(img, desc->vtable, need)) {
        fail(r, c, d, file, name, "%s '%s': its vtable is cut off by the end of the plugin's data (a corrupt manifest?)",
             kname, name);
        return false;
    }
    vt_fn fns[8];
    size_t n_fns = vtable_functions(kind, desc->vtable, fns);
    char names[128];
    function_names(fns, n_fns, img, false, names, sizeof names);
    if (names[0]) {
        fail(r, c, d, file, name, "%s '%s' lacks required function%s %s (NULL in its vtable)", kname, name,
             strchr(names, ',') ? "s" : "", names);
        return false;
    }
    function_names(fns, n_fns, img, true, names, sizeof names);
    if (names[0]) {
        fail(r, c, d, file, name, "%s '%s': function%s %s of its vtable %s not point at code of the plugin (a corrupt "
             "vtable?)", kname, name, strchr(names, ',') ? "s" : "", names, strchr(names, ',') ? "do" : "does");
        return false;
    }
    const llmc_plugin *other = find_any_kind(r, name);
    if (other) {
        if (other->file == file)
            fail(r, c, d, file, name, "plugin name '%s' appears twice in this file's manifest (the first, %s, is kept)",
                 name, a_kind(other->kind));
        else
            fail(r, c, d, file, name,
                 "plugin name '%s' is already taken by the %s from %s; %s provides it too (remove one of the files "
                 "or rename one plugin)",
                 name, llmc_plugin_kind_name(other->kind), other->file, file);
        return false;
    }
    llmc_plugin *p = calloc(1, sizeof *p);
    if (!p || ptr_push((void ***)&r->plugins, &r->n_plugins, p) != 0) {
        free(p);
        fail(r, c, d, file, name, "out of memory while registering plugin '%s'", name);
        return false;
    }
    p->kind = (llmc_plugin_kind)kind;
    p->name = name;
    p->version = desc->version;
    p->description = desc->description ? desc->description : "";
    p->file = file;
    p->vtable = desc->vtable;
    return true;
}

/* ---- loading one file -------------------------------------------------------------------------------- */

/* dlerror() text without a leading "path: " (the diagnostic names the file already). */
static const char *dl_reason(const char *path) {
    const char *e = dlerror();
    if (!e) return "unknown dlopen error";
    size_t n = strlen(path);
    if (!strncmp(e, path, n) && e[n] == ':' && e[n + 1] == ' ') return e + n + 2;
    return e;
}

/* What kind of symbol an ELF symbol type is, for messages. */
static const char *symbol_kind(unsigned type) {
    switch (type) {
    case STT_OBJECT: return "a data object";
    case STT_TLS: return "a thread-local variable";
    case STT_NOTYPE: return "a symbol without a type";
    case STT_SECTION: return "a section symbol";
    case STT_FILE: return "a file symbol";
    case STT_COMMON: return "a common data object";
    }
    return "not a function";
}

/* How many descriptors the array at p really holds: from the size of the data symbol p lies in
 * (the dynamic symbol table through dladdr1, else the file's own symbol tables), else up to the
 * end of its segment (*exact = false). */
static size_t descriptors_at(const void *p, const llmc_plugin_image *img, const llmc_elf_file *elf, bool *exact) {
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    uintptr_t a = (uintptr_t)p;
    *exact = true;
    if (dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && info.dli_saddr &&
        ELF64_ST_TYPE(sym->st_info) == STT_OBJECT) {
        uintptr_t start = (uintptr_t)info.dli_saddr;
        if (a >= start && a - start < sym->st_size) return (size_t)((start + sym->st_size - a) / sizeof(llmc_plugin_desc));
    }
    uint64_t start, size;
    if (a >= img->base && llmc_elf_object_at(elf, a - img->base, &start, &size))
        return (size_t)((start + size - (a - img->base)) / sizeof(llmc_plugin_desc));
    *exact = false;
    return llmc_image_room(img, p) / sizeof(llmc_plugin_desc);
}

/* The entry symbol's manifest, every file-level check passed; NULL after recording why not. */
static const llmc_plugin_manifest *read_manifest(llmc_registry *r, const llmc_config *c, llmc_diags *d,
                                                 const char *real, void *handle, const llmc_plugin_image *img,
                                                 const llmc_elf_file *elf) {
    dlerror();
    void *sym = dlsym(handle, LLMC_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        fail(r, c, d, real, NULL,
             "no entry symbol '" LLMC_PLUGIN_ENTRY_SYMBOL "' (not an llmc plugin, or built without "
             "LLMC_DEFINE_PLUGIN_ENTRY)");
        return NULL;
    }
    /* the entry must be a function of the plugin: calling data would crash */
    Dl_info info;
    const ElfW(Sym) *esym = NULL;
    if (dladdr1(sym, &info, (void **)&esym, RTLD_DL_SYMENT) && esym && info.dli_saddr == sym) {
        unsigned type = ELF64_ST_TYPE(esym->st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC) {
            fail(r, c, d, real, NULL,
                 "the entry symbol '" LLMC_PLUGIN_ENTRY_SYMBOL "' is %s, not a function (define it with "
                 "LLMC_DEFINE_PLUGIN_ENTRY)",
                 symbol_kind(type));
            return NULL;
        }
    }
    if (!llmc_image_code(img, sym)) {
        fail(r, c, d, real, NULL,
             "the entry symbol '" LLMC_PLUGIN_ENTRY_SYMBOL "' is not code of the plugin (define it with "
             "LLMC_DEFINE_PLUGIN_ENTRY)");
        return NULL;
    }
    llmc_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, the POSIX way */
    const llmc_plugin_manifest *m = entry();
    if (!m) {
        fail(r, c, d, real, NULL, LLMC_PLUGIN_ENTRY_SYMBOL "() returned no manifest (NULL)");
        return NULL;
    }
    if (!llmc_image_holds(img, m, sizeof(uint32_t))) {
        fail(r, c, d, real, NULL,
             LLMC_PLUGIN_ENTRY_SYMBOL "() returned a manifest that is not inside the plugin (it must be static data "
             "of the plugin, as LLMC_DEFINE_PLUGIN_ENTRY makes it)");
        return NULL;
    }
    /* The first field is the only one whose meaning every ABI version shares. */
    uint32_t abi;
    memcpy(&abi, m, sizeof abi);
    if (abi < LLMC_ABI_VERSION) {
        fail(r, c, d, real, NULL,
             "plugin built for llmc ABI %u, this llmc has ABI %u: rebuild the plugin against the ABI %u SDK "
             "(sdk/README.md, \"Migrating from ABI 1 to ABI 2\", lists what to change)",
             abi, (unsigned)LLMC_ABI_VERSION, (unsigned)LLMC_ABI_VERSION);
        return NULL;
    }
    if (abi != LLMC_ABI_VERSION) {
        fail(r, c, d, real, NULL,
             "plugin built for llmc ABI %u, this llmc has ABI %u (rebuild the plugin against this llmc's SDK)", abi,
             (unsigned)LLMC_ABI_VERSION);
        return NULL;
    }
    if (!llmc_image_holds(img, m, sizeof *m)) {
        fail(r, c, d, real, NULL, "the manifest is cut off by the end of the plugin's data (a corrupt manifest?)");
        return NULL;
    }
    if (m->n_plugins == 0) {
        fail(r, c, d, real, NULL, "the manifest lists no plugins");
        return NULL;
    }
    if (m->n_plugins > LLMC_REGISTRY_MAX_PLUGINS_PER_FILE) {
        fail(r, c, d, real, NULL, "the manifest claims %u plugins (more than %d: a corrupt manifest?)", m->n_plugins,
             LLMC_REGISTRY_MAX_PLUGINS_PER_FILE);
        return NULL;
    }
    if (!m->plugins) {
        fail(r, c, d, real, NULL, "the manifest lists %u plugins but its plugin array is NULL", m->n_plugins);
        return NULL;
    }
    bool exact;
    size_t holds = descriptors_at(m->plugins, img, elf, &exact);
    if (holds == 0 && !exact) {
        fail(r, c, d, real, NULL, "the manifest's plugin array is not inside the plugin (a corrupt manifest?)");
        return NULL;
    }
    if (m->n_plugins > holds) {
        if (exact)
            fail(r, c, d, real, NULL,
                 "the manifest claims %u plugins, but its plugin array holds %zu (a corrupt manifest: "
                 "LLMC_DEFINE_PLUGIN_ENTRY counts the array for you)",
                 m->n_plugins, holds);
        else
            fail(r, c, d, real, NULL,
                 "the manifest claims %u plugins, but the plugin's data ends after %zu descriptors (a corrupt "
                 "manifest: LLMC_DEFINE_PLUGIN_ENTRY counts the array for you)",
                 m->n_plugins, holds);
        return NULL;
    }
    return m;
}

/* explicit: listed under plugins: (a missing file then names the config) */
static int load_one(llmc_registry *r, const char *path, const llmc_config *c, llmc_diags *d, bool explicit) {
    size_t failures_before = r->n_failures;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && explicit && c)
            fail(r, c, d, path, NULL, "file missing (listed under 'plugins:' in %s)", c->path);
        else if (errno == ENOENT)
            fail(r, c, d, path, NULL, "file missing");
        else
            fail(r, c, d, path, NULL, "cannot access the file: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(r, c, d, path, NULL, "not a regular file (a plugin is a .so file)");
        return -1;
    }
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        fail(r, c, d, path, NULL, "cannot resolve the file's path: %s", strerror(errno));
        return -1;
    }
    if (strv_has(r->seen, r->n_seen, real)) return 0; /* reached twice (nested paths, symlink): load once */
    if (strv_push(&r->seen, &r->n_seen, real) != 0) {
        fail(r, c, d, real, NULL, "out of memory while loading the plugin");
        return -1;
    }

    char why[512];
    llmc_elf_file *elf = llmc_elf_file_check(real, why, sizeof why);
    if (!elf) {
        fail(r, c, d, real, NULL, "cannot be loaded as a shared object: %s", why);
        return -1;
    }
    dlerror();
    void *handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fail(r, c, d, real, NULL, "cannot be loaded as a shared object: %s", dl_reason(real));
        llmc_elf_file_free(elf);
        return -1;
    }
    llmc_plugin_image img;
    const llmc_plugin_manifest *m = NULL;
    if (llmc_plugin_image_of(handle, &img) != 0)
        fail(r, c, d, real, NULL, "the dynamic loader does not say where it loaded the file (cannot check the plugin)");
    else
        m = read_manifest(r, c, d, real, handle, &img, elf);
    llmc_elf_file_free(elf);
    if (!m) {
        dlclose(handle);
        return -1;
    }

    lib *l = calloc(1, sizeof *l);
    if (!l || !(l->file = llmc_strdup(real))) {
        free(l);
        fail(r, c, d, real, NULL, "out of memory while loading the plugin");
        dlclose(handle);
        return -1;
    }
    l->handle = handle;
    size_t registered = 0;
    for (uint32_t i = 0; i < m->n_plugins; i++) registered += add_plugin(r, c, d, l, &img, i, &m->plugins[i]);
    if (registered == 0 || ptr_push((void ***)&r->libs, &r->n_libs, l) != 0) {
        if (registered) {
            /* could not keep the library: take its plugins back out before closing it */
            size_t k = 0;
            for (size_t i = 0; i < r->n_plugins; i++) {
                if (r->plugins[i]->file == l->file) free(r->plugins[i]);
                else r->plugins[k++] = r->plugins[i];
            }
            r->n_plugins = k;
            fail(r, c, d, real, NULL, "out of memory while loading the plugin");
        }
        dlclose(handle);
        free(l->file);
        free(l);
    }
    return r->n_failures > failures_before ? -1 : 0;
}

int llmc_registry_load_file(llmc_registry *r, const char *path, const llmc_config *c, llmc_diags *d) {
    if (!r || !path || !path[0]) {
        llmc_error(d, NULL, "no plugin file given");
        return -1;
    }
    if (path[0] == '/') return load_one(r, path, c, d, false);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        fail(r, c, d, path, NULL, "cannot resolve the file's path: %s", strerror(errno));
        return -1;
    }
    char *abs = llmc_asprintf("%s/%s", cwd, path);
    if (!abs) {
        fail(r, c, d, path, NULL, "out of memory while loading the plugin");
        return -1;
    }
    int rc = load_one(r, abs, c, d, false);
    free(abs);
    return rc;
}

/* ---- directories ------------------------------------------------------------------------------------ */

static bool ends_with_so(const char *name) {
    size_t n = strlen(name);
    return n > 3 && !strcmp(name + n - 3, ".so");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Collect the .so files below dir into *files. Hidden entries and symlinked folders are
 * not entered (a symlink loop cannot trap us); symlinks to files are followed. */
static void collect(llmc_registry *r, const llmc_config *c, llmc_diags *d, const char *dir, int depth, char ***files,
                    size_t *n) {
    DIR *dh = opendir(dir);
    if (!dh) {
        fail(r, c, d, dir, NULL, "cannot read the plugin directory: %s", strerror(errno));
        return;
    }
    struct dirent *ent;
    while ((ent = readdir(dh)) != NULL) {
        if (ent->d_name[0] == '.') continue;
        char *full = llmc_asprintf("%s/%s", dir, ent->d_name);
        if (!full) {
            fail(r, c, d, dir, NULL, "out of memory while scanning the plugin directory");
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0) {
            free(full);
            continue; /* vanished while we looked */
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth < LLMC_REGISTRY_MAX_DEPTH)
                collect(r, c, d, full, depth + 1, files, n);
            else
                fail(r, c, d, full, NULL, "not searched: more than %d folder levels below the plugin path",
                     LLMC_REGISTRY_MAX_DEPTH);
        } else if (ends_with_so(ent->d_name)) {
            bool regular = S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && stat(full, &st) == 0 && S_ISREG(st.st_mode));
            if (regular && strv_push(files, n, full) != 0)
                fail(r, c, d, full, NULL, "out of memory while scanning the plugin directory");
        }
        free(full);
    }
    closedir(dh);
}

static int remember_dir(llmc_registry *r, const char *path, bool exists) {
    dir_state *nd = realloc(r->dirs, (r->n_dirs + 1) * sizeof *nd);
    if (!nd) return -1;
    r->dirs = nd;
    nd[r->n_dirs].path = llmc_strdup(path);
    if (!nd[r->n_dirs].path) return -1;
    nd[r->n_dirs++].exists = exists;
    return 0;
}

static void load_dir(llmc_registry *r, const llmc_config *c, llmc_diags *d, size_t index) {
    const char *dir = c->plugin_paths[index];
    bool from_cli = index < c->n_prepended;
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    int err = errno;
    if (remember_dir(r, dir, exists) != 0) llmc_error(d, NULL, "out of memory while loading plugins");
    if (!exists) {
        if (err != ENOENT && err != ENOTDIR)
            fail(r, c, d, dir, NULL, "cannot access the plugin directory: %s", strerror(err));
        else if (from_cli)
            fail(r, c, d, dir, NULL, "plugin directory does not exist (given with --plugins)");
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        fail(r, c, d, dir, NULL, "is not a directory (plugin_paths lists folders; list single files under plugins:)");
        return;
    }
    char **files = NULL;
    size_t n = 0;
    collect(r, c, d, dir, 1, &files, &n);
    if (n) qsort(files, n, sizeof *files, cmp_str);
    for (size_t i = 0; i < n; i++) load_one(r, files[i], c, d, false);
    strv_free(files, n);
}

size_t llmc_registry_load(llmc_registry *r, const llmc_config *c, llmc_diags *d) {
    if (!r || !c) {
        llmc_error(d, NULL, "no plugin registry or config given");
        return 1;
    }
    size_t before = r->n_failures;
    /* keep what require() needs to explain a missing plugin */
    forget_config(r);
    bool ok = (r->config_path = llmc_strdup(c->path ? c->path : "<config>")) != NULL;
    for (size_t i = 0; ok && i < c->n_plugin_files; i++) ok = strv_push(&r->files, &r->n_files, c->plugin_files[i]) == 0;
    for (size_t i = 0; ok && i < c->n_allow; i++) ok = strv_push(&r->allow, &r->n_allow, c->allow[i]) == 0;
    for (size_t i = 0; ok && i < c->n_disable; i++) ok = strv_push(&r->disable, &r->n_disable, c->disable[i]) == 0;
    if (!ok) llmc_error(d, NULL, "out of memory while loading plugins");

    for (size_t i = 0; i < c->n_plugin_paths; i++) load_dir(r, c, d, i);
    for (size_t i = 0; i < c->n_plugin_files; i++) load_one(r, c->plugin_files[i], c, d, true);
    return r->n_failures - before;
}

/* ---- queries ------------------------------------------------------------------------------------------- */

size_t llmc_registry_count(const llmc_registry *r) { return r ? r->n_plugins : 0; }

const llmc_plugin *llmc_registry_at(const llmc_registry *r, size_t i) {
    return r && i < r->n_plugins ? r->plugins[i] : NULL;
}

const llmc_plugin *llmc_registry_find(const llmc_registry *r, llmc_plugin_kind kind, const char *name) {
    if (!r || !name) return NULL;
    for (size_t i = 0; i < r->n_plugins; i++)
        if (r->plugins[i]->kind == kind && !strcmp(r->plugins[i]->name, name)) return r->plugins[i];
    return NULL;
}

size_t llmc_registry_failures(const llmc_registry *r) { return r ? r->n_failures : 0; }

const llmc_load_failure *llmc_registry_failure_at(const llmc_registry *r, size_t i) {
    return r && i < r->n_failures ? &r->failures[i]->view : NULL;
}

size_t llmc_registry_skipped(const llmc_registry *r) { return r ? r->n_skipped : 0; }

const llmc_load_failure *llmc_registry_skipped_at(const llmc_registry *r, size_t i) {
    return r && i < r->n_skipped ? &r->skipped[i]->view : NULL;
}

size_t llmc_registry_dirs(const llmc_registry *r) { return r ? r->n_dirs : 0; }

const char *llmc_registry_dir_at(const llmc_registry *r, size_t i, bool *exists) {
    if (!r || i >= r->n_dirs) return NULL;
    if (exists) *exists = r->dirs[i].exists;
    return r->dirs[i].path;
}

/* ---- require: explain a missing plugin ------------------------------------------------------------------ */

/* stem of a path: "/a/b/gguf.so" -> "gguf" (into buf) */
static const char *file_stem(const char *path, char *buf, size_t n) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (ends_with_so(base)) len -= 3;
    snprintf(buf, n, "%.*s", (int)len, base);
    return buf;
}

static const llmc_load_failure *failure_for(const llmc_registry *r, const char *name) {
    for (size_t i = 0; i < r->n_failures; i++)
        if (r->failures[i]->view.plugin_name && !strcmp(r->failures[i]->view.plugin_name, name))
            return &r->failures[i]->view;
    /* a file that failed before its plugins could be named: in-tree plugins are <name>.so */
    for (size_t i = 0; i < r->n_failures; i++) {
        char stem[256];
        if (!r->failures[i]->view.plugin_name && !strcmp(file_stem(r->failures[i]->view.file, stem, sizeof stem), name))
            return &r->failures[i]->view;
    }
    return NULL;
}

const llmc_plugin *llmc_registry_require(const llmc_registry *r, llmc_plugin_kind kind, const char *name,
                                         llmc_diags *d) {
    const char *kname = llmc_plugin_kind_name(kind);
    if (!r || !name) {
        llmc_error(d, NULL, "no %s name given", kname);
        return NULL;
    }
    const llmc_plugin *p = llmc_registry_find(r, kind, name);
    if (p) return p;
    const char *config = r->config_path ? r->config_path : "the config";

    const llmc_plugin *other = find_any_kind(r, name);
    if (other) {
        llmc_error(d, NULL, "%s '%s' not found: the plugin named '%s' in %s is %s", kname, name, name, other->file,
                   a_kind(other->kind));
        return NULL;
    }
    if (strv_has(r->disable, r->n_disable, name)) {
        llmc_error(d, NULL, "%s '%s' is disabled by the config (%s lists it under 'disable:')", kname, name, config);
        return NULL;
    }
    if (r->n_allow && !strv_has(r->allow, r->n_allow, name)) {
        llmc_error(d, NULL, "%s '%s' is not in the config's allow list (%s: add it under 'allow:')", kname, name,
                   config);
        return NULL;
    }
    const llmc_load_failure *f = failure_for(r, name);
    if (f) {
        llmc_error(d, NULL, "%s '%s' failed to load from %s: %s", kname, name, f->file, f->reason);
        return NULL;
    }

    /* not found: say where we looked and what there is */
    llmc_strbuf b = LLMC_STRBUF_INIT; /* on OOM it keeps what it has */
    const char *names[256];
    size_t nn = 0;
    for (size_t i = 0; i < r->n_plugins && nn < 256; i++)
        if (r->plugins[i]->kind == kind) names[nn++] = r->plugins[i]->name;
    const char *close = llmc_closest(name, names, nn);
    llmc_strbuf_printf(&b, "%s '%s' not found", kname, name);
    if (close) llmc_strbuf_printf(&b, " (did you mean '%s'?)", close);
    if (r->n_dirs == 0 && r->n_files == 0) {
        llmc_strbuf_printf(&b, ": %s lists no plugin_paths and no plugins", config);
    } else {
        llmc_strbuf_printf(&b, " in the plugin search path of %s:", config);
        for (size_t i = 0; i < r->n_dirs; i++)
            llmc_strbuf_printf(&b, "%s %s%s", i ? "," : "", r->dirs[i].path, r->dirs[i].exists ? "" : " (missing)");
        for (size_t i = 0; i < r->n_files; i++) llmc_strbuf_printf(&b, "%s %s", i || r->n_dirs ? "," : "", r->files[i]);
    }
    if (nn) {
        llmc_strbuf_printf(&b, "; loaded %ss:", kname);
        for (size_t i = 0; i < nn; i++) llmc_strbuf_printf(&b, "%s %s", i ? "," : "", names[i]);
    } else {
        llmc_strbuf_printf(&b, "; no %s is loaded", kname);
    }
    if (b.s) llmc_error(d, NULL, "%s", b.s);
    else llmc_error(d, NULL, "%s '%s' not found", kname, name);
    free(b.s);
    return NULL;
}
