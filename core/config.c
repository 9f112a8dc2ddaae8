/* llmc.yaml loader: plugin search paths, allow/disable lists, defaults (see config.h and
 * docs/plugins.md). Read through the located document tree so every mistake is reported
 * as file:line:col: key: message, all of them in one run, in file order. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "keyindex.h"
#include "util.h"

/* Where the installed plugins and config are, relative to the folder of the llmc binary. The
 * build computes them from its install dirs (CMakeLists.txt: bindir -> libdir/llmc/plugins and
 * bindir -> datadir/llmc/llmc.yaml), so that an install under any prefix and libdir -- Debian's
 * /usr uses lib/<multiarch> -- finds its own files, and keeps finding them when moved. */
#ifndef LLMC_EXE_TO_PLUGIN_DIR
#define LLMC_EXE_TO_PLUGIN_DIR "../lib/llmc/plugins"
#endif
#ifndef LLMC_EXE_TO_CONFIG
#define LLMC_EXE_TO_CONFIG "../share/llmc/llmc.yaml"
#endif

static const char *const top_keys[] = {"plugin_paths", "plugins", "allow", "disable", "strict_plugins", "defaults"};
static const char *const defaults_keys[] = {"solver", "emit", "threads"};
/* the search path used when a config does not say (and by the embedded default) */
static const char *const default_paths[] = {"${exe_dir}/plugins", "${exe_dir}/" LLMC_EXE_TO_PLUGIN_DIR};

#define COUNT_OF(a) (sizeof(a) / sizeof *(a))

/* ---- small helpers ------------------------------------------------------------------------- */

bool llmc_plugin_name_valid(const char *s) {
    if (!s) return false;
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return false;
    return true;
}

static int strv_push(char ***v, size_t *n, char *s) {
    if (!s) return -1;
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) { free(s); return -1; }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static char *cwd_dup(void) {
    char buf[PATH_MAX];
    return getcwd(buf, sizeof buf) ? llmc_strdup(buf) : NULL;
}

/* Lexical clean-up in place: "//" -> "/", "/./" -> "/", no trailing "/" or "/.".
 * ".." is kept: resolving it without the file system would be wrong across symlinks. */
static void clean_path(char *p) {
    char *o = p;
    const char *s = p;
    while (*s) {
        if (s[0] == '/' && o > p && o[-1] == '/') { s++; continue; }
        if (s[0] == '.' && (o == p || o[-1] == '/') && (s[1] == '/' || s[1] == '\0') && o > p) {
            s += s[1] ? 2 : 1;
            continue;
        }
        *o++ = *s++;
    }
    while (o > p + 1 && o[-1] == '/') o--;
    *o = '\0';
}

/* base + "/" + p unless p is absolute; cleaned. base must be absolute. */
static char *abs_join(const char *base, const char *p) {
    char *out = p[0] == '/' ? llmc_strdup(p) : llmc_asprintf("%s/%s", base, p);
    if (out) clean_path(out);
    return out;
}

/* An absolute version of dir (relative ones against the current directory). */
static char *abs_dir(const char *dir) {
    if (dir[0] == '/') {
        char *out = llmc_strdup(dir);
        if (out) clean_path(out);
        return out;
    }
    char *cwd = cwd_dup();
    if (!cwd) return NULL;
    char *out = abs_join(cwd, dir);
    free(cwd);
    return out;
}

char *llmc_config_exe_dir(void) {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return NULL;
    if (slash == buf) slash[1] = '\0';
    else *slash = '\0';
    return llmc_strdup(buf);
}

/* ---- loading context and reporting ------------------------------------------------------------ */

typedef struct cctx {
    const llmc_doc *doc;
    llmc_diags *d;           /* private list, sorted into the caller's at the end */
    llmc_config *cfg;
    const char *base_dir;    /* absolute */
    char *exe_dir;           /* absolute, or NULL until needed */
    bool exe_dir_tried;
} cctx;

static void err_at(cctx *c, llmc_loc loc, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void err_at(cctx *c, llmc_loc loc, const char *key, const char *fmt, ...) {
    if (loc.line <= 0) { loc.line = 0; loc.col = 0; }
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(c->d, LLMC_SEV_ERROR, loc, key, fmt, ap);
    va_end(ap);
}

static llmc_loc node_loc(const cctx *c, const llmc_doc_node *n) { return llmc_doc_loc(c->doc, n); }
static llmc_loc key_loc(const cctx *c, const llmc_doc_entry *e) { return llmc_doc_key_loc(c->doc, e); }
static llmc_loc entry_loc(const cctx *c, const llmc_doc_entry *e) { return llmc_doc_entry_loc(c->doc, e); }


static const char *got(const llmc_doc_node *n, char *buf, size_t len) {
    if (!n || n->kind != LLMC_DOC_SCALAR || n->is_null) return llmc_doc_kind_desc(n);
    int show = n->len > 40 ? 40 : (int)n->len;
    snprintf(buf, len, "%s'%.*s%s'", n->quoted ? "the quoted string " : "", show, n->text, n->len > 40 ? "..." : "");
    return buf;
}

static void oom(cctx *c, llmc_loc loc, const char *key) { err_at(c, loc, key, "out of memory while reading the config"); }

static void check_keys(cctx *c, const llmc_doc_node *map, const char *prefix, const char *const *keys, size_t n) {
    for (size_t i = 0; i < map->n_entries; i++) {
        const llmc_doc_entry *e = &map->entries[i];
        bool known = false;
        for (size_t k = 0; k < n && !known; k++) known = !strcmp(e->key, keys[k]);
        if (known) continue;
        char path[256];
        if (prefix) snprintf(path, sizeof path, "%s.%s", prefix, e->key);
        else snprintf(path, sizeof path, "%s", e->key);
        const char *close = llmc_closest(e->key, keys, n);
        if (close) {
            err_at(c, key_loc(c, e), path, "unknown key (did you mean '%s'?)", close);
        } else {
            char list[256];
            size_t o = 0;
            list[0] = '\0';
            for (size_t k = 0; k < n && o < sizeof list; k++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", keys[k]);
            err_at(c, key_loc(c, e), path, "unknown key (expected one of %s)", list);
        }
    }
}

/* ---- typed readers ----------------------------------------------------------------------------- */

/* The items of a list value; a single scalar is accepted as a one-item list. */
static void list_items(const llmc_doc_node *n, llmc_doc_node *one[1], llmc_doc_node *const **items, size_t *count) {
    if (n->kind == LLMC_DOC_SEQ) {
        *items = n->items;
        *count = n->n_items;
    } else {
        one[0] = (llmc_doc_node *)n;
        *items = one;
        *count = 1;
    }
}

/* Non-empty string without NUL; reports and returns false otherwise. */
static bool scalar_text_ok(cctx *c, const llmc_doc_node *n, llmc_loc where, const char *path, const char *what) {
    char buf[80];
    if (n->reported) return false;
    if (n->kind != LLMC_DOC_SCALAR || n->is_null) {
        err_at(c, where, path, "expected %s, got %s", what, got(n, buf, sizeof buf));
        return false;
    }
    if (n->len == 0 || strlen(n->text) != n->len) {
        err_at(c, node_loc(c, n), path, n->len ? "must not contain a NUL character" : "must not be empty");
        return false;
    }
    return true;
}

static const char *exe_dir_of(cctx *c) {
    if (!c->exe_dir && !c->exe_dir_tried) {
        c->exe_dir_tried = true;
        c->exe_dir = llmc_config_exe_dir();
    }
    return c->exe_dir;
}

/* Expand ${exe_dir}; any other ${...} is an error. Returns a malloc'd string or NULL (reported). */
static char *expand(cctx *c, const llmc_doc_node *n, const char *path) {
    const char *t = n->text;
    size_t cap = strlen(t) + 1, o = 0;
    char *out = malloc(cap);
    if (!out) { oom(c, node_loc(c, n), path); return NULL; }
    for (const char *p = t; *p;) {
        if (p[0] != '$' || p[1] != '{') { out[o++] = *p++; continue; }
        const char *close = strchr(p + 2, '}');
        if (!close) {
            err_at(c, node_loc(c, n), path, "unterminated '${' (the only variable is ${exe_dir})");
            free(out);
            return NULL;
        }
        size_t vlen = (size_t)(close - (p + 2));
        if (vlen != 7 || strncmp(p + 2, "exe_dir", 7) != 0) {
            int show = vlen > 40 ? 40 : (int)vlen;
            err_at(c, node_loc(c, n), path, "unknown variable '${%.*s}' (the only variable is ${exe_dir})", show, p + 2);
            free(out);
            return NULL;
        }
        const char *ed = exe_dir_of(c);
        if (!ed) {
            err_at(c, node_loc(c, n), path, "uses ${exe_dir} but the folder of the llmc binary is unknown");
            free(out);
            return NULL;
        }
        size_t el = strlen(ed);
        char *grown = realloc(out, cap + el);
        if (!grown) { free(out); oom(c, node_loc(c, n), path); return NULL; }
        out = grown;
        cap += el;
        memcpy(out + o, ed, el);
        o += el;
        p = close + 1;
    }
    out[o] = '\0';
    return out;
}

static char *resolve_path(cctx *c, const llmc_doc_node *n, const char *path) {
    char *x = expand(c, n, path);
    if (!x) return NULL;
    char *r = abs_join(c->base_dir, x);
    free(x);
    if (!r) oom(c, node_loc(c, n), path);
    return r;
}

/* One list item to a malloc'd string, or NULL after reporting why. */
typedef char *(*item_reader)(cctx *c, const llmc_doc_node *it, llmc_loc where, const char *path);

/* A list (or a single scalar) read item by item. Replaces *out only if every item was good;
 * returns false if anything was wrong (reported). With unique set, repeats are errors. */
static bool read_list(cctx *c, const llmc_doc_entry *e, const char *key, const char *list_what, item_reader item,
                      bool unique, char ***out, size_t *n_out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n) return true;
    if (n->reported) return false;
    char buf[80];
    if (n->kind == LLMC_DOC_MAP) {
        err_at(c, key_loc(c, e), key, "expected %s, got %s", list_what, got(n, buf, sizeof buf));
        return false;
    }
    llmc_doc_node *one[1], *const *items;
    size_t count;
    list_items(n, one, &items, &count);
    char **v = calloc(count ? count : 1, sizeof *v);
    if (!v) { oom(c, key_loc(c, e), key); return false; }
    size_t nv = 0;
    bool ok = true;
    llmc_key_index seen = llmc_key_index_init(); /* repeats found in O(1) each, not by a scan */
    for (size_t i = 0; i < count; i++) {
        char path[96];
        if (n->kind == LLMC_DOC_SEQ) snprintf(path, sizeof path, "%s[%zu]", key, i);
        else snprintf(path, sizeof path, "%s", key);
        const llmc_doc_node *it = items[i];
        char *text = item(c, it, n->kind == LLMC_DOC_SEQ ? node_loc(c, it) : entry_loc(c, e), path);
        if (!text) { ok = false; continue; }
        if (unique && llmc_key_index_find(&seen, nv, text, strlen(text), llmc_key_at_strv, v) != LLMC_KEY_INDEX_NONE) {
            err_at(c, node_loc(c, it), path, "'%s' is listed twice", text);
            free(text);
            ok = false;
            continue;
        }
        v[nv++] = text;
        if (unique && llmc_key_index_add(&seen, nv - 1, llmc_key_at_strv, v) != 0) {
            oom(c, node_loc(c, it), path);
            ok = false;
        }
    }
    llmc_key_index_free(&seen);
    if (!ok) { strv_free(v, nv); return false; }
    strv_free(*out, *n_out);
    *out = v;
    *n_out = nv;
    return true;
}

static char *read_dir_item(cctx *c, const llmc_doc_node *it, llmc_loc where, const char *path) {
    return scalar_text_ok(c, it, where, path, "a directory path") ? resolve_path(c, it, path) : NULL;
}

static char *read_file_item(cctx *c, const llmc_doc_node *it, llmc_loc where, const char *path) {
    return scalar_text_ok(c, it, where, path, "a plugin .so file path") ? resolve_path(c, it, path) : NULL;
}

static char *read_name(cctx *c, const llmc_doc_node *n, llmc_loc where, const char *path, const char *what) {
    if (!scalar_text_ok(c, n, where, path, what)) return NULL;
    if (!llmc_plugin_name_valid(n->text)) {
        char buf[80];
        err_at(c, node_loc(c, n), path, "expected a plugin name (1-64 letters, digits, '_', '-' or '.'), got %s",
               got(n, buf, sizeof buf));
        return NULL;
    }
    char *out = llmc_strdup(n->text);
    if (!out) oom(c, node_loc(c, n), path);
    return out;
}

static char *read_name_item(cctx *c, const llmc_doc_node *n, llmc_loc where, const char *path) {
    return read_name(c, n, where, path, "a plugin name");
}

static void read_bool(cctx *c, const llmc_doc_entry *e, const char *key, bool *out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n || n->reported) return;
    if (n->kind == LLMC_DOC_SCALAR && !n->quoted) {
        const char *t = n->text;
        if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) { *out = true; return; }
        if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) { *out = false; return; }
    }
    char buf[80];
    err_at(c, entry_loc(c, e), key, "expected true or false, got %s", got(n, buf, sizeof buf));
}

static void read_threads(cctx *c, const llmc_doc_entry *e, const char *key, int *out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n || n->reported) return;
    char buf[80];
    const char *t = n->kind == LLMC_DOC_SCALAR && !n->quoted ? n->text : NULL;
    const char *p = t;
    if (p && (*p == '-' || *p == '+')) p++;
    bool digits = p && *p;
    for (const char *q = p; digits && *q; q++) digits = isdigit((unsigned char)*q) != 0;
    if (!digits) {
        err_at(c, entry_loc(c, e), key, "expected an integer, got %s", got(n, buf, sizeof buf));
        return;
    }
    /* long enough to tell "too big" from "fits": anything past 9 digits is out of range anyway */
    bool neg = t[0] == '-';
    long v = strlen(p) > 9 ? LONG_MAX : strtol(p, NULL, 10);
    if (neg || v > LLMC_CONFIG_MAX_THREADS) {
        err_at(c, node_loc(c, n), key, "must be between 0 and %d (0 = one thread per online CPU), got %s",
               LLMC_CONFIG_MAX_THREADS, t);
        return;
    }
    *out = (int)v;
}

/* ---- the document --------------------------------------------------------------------------------- */

static void read_defaults(cctx *c, const llmc_doc_node *root) {
    const llmc_doc_entry *e = llmc_doc_map_find(root, "defaults");
    const llmc_doc_node *map = llmc_doc_value(e);
    if (!map || map->reported) return;
    if (map->kind != LLMC_DOC_MAP) {
        char buf[80];
        err_at(c, entry_loc(c, e), "defaults", "expected a mapping with keys solver, emit, threads, got %s",
               got(map, buf, sizeof buf));
        return;
    }
    check_keys(c, map, "defaults", defaults_keys, COUNT_OF(defaults_keys));
    llmc_config *cfg = c->cfg;
    const llmc_doc_entry *se = llmc_doc_map_find(map, "solver");
    if (llmc_doc_value(se)) {
        char *s = read_name(c, se->value, entry_loc(c, se), "defaults.solver", "a solver name");
        if (s) {
            free(cfg->default_solver);
            cfg->default_solver = s;
        }
    }
    read_list(c, llmc_doc_map_find(map, "emit"), "defaults.emit", "a list of emitter names", read_name_item, true,
              &cfg->default_emit, &cfg->n_default_emit);
    read_threads(c, llmc_doc_map_find(map, "threads"), "defaults.threads", &cfg->threads);
}

static void read_config(cctx *c) {
    const llmc_doc_node *root = c->doc->root;
    llmc_config *cfg = c->cfg;
    if (root->kind == LLMC_DOC_SCALAR && root->is_null) return; /* "~" or "null": all defaults */
    if (root->kind != LLMC_DOC_MAP) {
        err_at(c, node_loc(c, root), NULL, "a config file must be a mapping of keys to values (got %s)",
               llmc_doc_kind_desc(root));
        return;
    }
    check_keys(c, root, NULL, top_keys, COUNT_OF(top_keys));
    read_list(c, llmc_doc_map_find(root, "plugin_paths"), "plugin_paths", "a list of directories", read_dir_item, false,
              &cfg->plugin_paths, &cfg->n_plugin_paths);
    read_list(c, llmc_doc_map_find(root, "plugins"), "plugins", "a list of plugin .so files", read_file_item, false,
              &cfg->plugin_files, &cfg->n_plugin_files);
    const llmc_doc_entry *ae = llmc_doc_map_find(root, "allow"), *de = llmc_doc_map_find(root, "disable");
    bool allow_ok = read_list(c, ae, "allow", "a list of plugin names", read_name_item, true, &cfg->allow, &cfg->n_allow);
    bool disable_ok =
        read_list(c, de, "disable", "a list of plugin names", read_name_item, true, &cfg->disable, &cfg->n_disable);
    if (allow_ok && disable_ok && cfg->n_allow && cfg->n_disable) {
        /* both lists were read whole: name i of a list is its item i */
        const llmc_doc_node *al = llmc_doc_value(ae), *dl = llmc_doc_value(de);
        llmc_key_index allowed = llmc_key_index_init();
        for (size_t i = 0; i < cfg->n_allow; i++)
            if (llmc_key_index_add(&allowed, i, llmc_key_at_strv, cfg->allow) != 0) {
                oom(c, key_loc(c, ae), "allow");
                break;
            }
        for (size_t i = 0; i < cfg->n_disable; i++) {
            size_t k = llmc_key_index_find(&allowed, cfg->n_allow, cfg->disable[i], strlen(cfg->disable[i]),
                                           llmc_key_at_strv, cfg->allow);
            if (k == LLMC_KEY_INDEX_NONE) continue;
            const llmc_doc_node *in_allow = al->kind == LLMC_DOC_SEQ ? al->items[k] : al;
            const llmc_doc_node *in_disable = dl->kind == LLMC_DOC_SEQ ? dl->items[i] : dl;
            char path[96];
            if (dl->kind == LLMC_DOC_SEQ) snprintf(path, sizeof path, "disable[%zu]", i);
            else snprintf(path, sizeof path, "disable");
            err_at(c, node_loc(c, in_disable), path,
                   "'%s' is also in allow (line %d): a plugin cannot be both allowed and disabled", cfg->disable[i],
                   in_allow->line);
        }
        llmc_key_index_free(&allowed);
    }
    read_bool(c, llmc_doc_map_find(root, "strict_plugins"), "strict_plugins", &cfg->strict_plugins);
    read_defaults(c, root);
}

/* ---- construction ---------------------------------------------------------------------------------- */

void llmc_config_free(llmc_config *c) {
    if (!c) return;
    free(c->path);
    free(c->origin);
    strv_free(c->plugin_paths, c->n_plugin_paths);
    strv_free(c->plugin_files, c->n_plugin_files);
    strv_free(c->allow, c->n_allow);
    strv_free(c->disable, c->n_disable);
    free(c->default_solver);
    strv_free(c->default_emit, c->n_default_emit);
    free(c);
}

/* A config holding the defaults: solver search, emit [safetensors], threads 0, and the
 * default search path if exe_dir is known. NULL when out of memory. */
static llmc_config *config_with_defaults(const char *path, const char *exe_dir) {
    llmc_config *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->path = llmc_strdup(path);
    c->origin = llmc_strdup(path);
    c->default_solver = llmc_strdup("search");
    if (!c->path || !c->origin || !c->default_solver || strv_push(&c->default_emit, &c->n_default_emit, llmc_strdup("safetensors")) != 0) {
        llmc_config_free(c);
        return NULL;
    }
    if (exe_dir) {
        for (size_t i = 0; i < COUNT_OF(default_paths); i++) {
            /* default_paths[i] is "${exe_dir}/rest" */
            char *p = llmc_asprintf("%s%s", exe_dir, default_paths[i] + strlen("${exe_dir}"));
            if (p) clean_path(p);
            if (strv_push(&c->plugin_paths, &c->n_plugin_paths, p) != 0) {
                llmc_config_free(c);
                return NULL;
            }
        }
    }
    return c;
}

/* Only blanks and comments: an empty config means "all defaults" (libyaml calls it an error). */
static bool blank_yaml(const char *text, size_t len) {
    bool in_comment = false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '\n') { in_comment = false; continue; }
        if (in_comment || ch == ' ' || ch == '\t' || ch == '\r') continue;
        if (ch == '#') { in_comment = true; continue; }
        return false;
    }
    return true;
}

static llmc_config *load_into(const char *text, size_t len, const char *file, const char *base_abs,
                              const char *exe_dir, llmc_diags *mine) {
    cctx c;
    memset(&c, 0, sizeof c);
    c.d = mine;
    c.base_dir = base_abs;
    if (exe_dir) {
        c.exe_dir = abs_dir(exe_dir);
        c.exe_dir_tried = true;
        if (!c.exe_dir) { llmc_error(mine, NULL, "out of memory while reading the config"); return NULL; }
    } else {
        exe_dir_of(&c);
    }
    llmc_config *cfg = config_with_defaults(file, c.exe_dir);
    if (!cfg) {
        free(c.exe_dir);
        llmc_error(mine, NULL, "out of memory while reading the config");
        return NULL;
    }
    c.cfg = cfg;
    if (!blank_yaml(text, len)) {
        bool doc_errors = false;
        llmc_doc *doc = llmc_doc_parse(text, len, file, LLMC_DOC_YAML, mine, &doc_errors);
        if (doc) {
            c.doc = doc;
            read_config(&c);
            llmc_doc_free(doc);
        }
        if (!doc && llmc_diags_errors(mine) == 0) llmc_error(mine, NULL, "the config file could not be read");
    }
    free(c.exe_dir);
    if (llmc_diags_errors(mine) > 0) {
        llmc_config_free(cfg);
        return NULL;
    }
    return cfg;
}

llmc_config *llmc_config_load_string(const char *text, size_t len, const char *name, const char *base_dir,
                                     const char *exe_dir, llmc_diags *d) {
    const char *file = name && name[0] ? name : "<string>";
    if (!text) {
        llmc_loc loc = {file, 0, 0};
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "no config text given");
        return NULL;
    }
    char *base = base_dir ? abs_dir(base_dir) : cwd_dup();
    llmc_diags *mine = llmc_diags_create();
    if (!base || !mine) {
        free(base);
        llmc_diags_free(mine);
        llmc_error(d, NULL, "out of memory while reading the config");
        return NULL;
    }
    llmc_config *cfg = load_into(text, len, file, base, exe_dir, mine);
    llmc_diags_take_sorted(d, mine);
    llmc_diags_free(mine);
    free(base);
    return cfg;
}

/* llmc_config_load_file; *unreadable (if given) says whether a NULL return was an I/O error */
static llmc_config *load_file(const char *path, const char *exe_dir, llmc_diags *d, bool *unreadable) {
    if (unreadable) *unreadable = false;
    if (!path || !path[0]) {
        llmc_error(d, NULL, "no config file given");
        return NULL;
    }
    size_t len = 0;
    char *text = llmc_read_file(path, LLMC_DOC_MAX_BYTES, &len);
    if (!text) {
        if (unreadable) *unreadable = errno != EFBIG;
        llmc_loc loc = {path, 0, 0};
        if (errno == EFBIG)
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "config file is larger than %zu MiB", LLMC_DOC_MAX_BYTES >> 20);
        else
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "cannot read the config file: %s",
                          llmc_read_file_error(path, errno));
        return NULL;
    }
    /* relative paths inside are relative to the file's folder */
    char *abs = abs_dir(path);
    char *slash = abs ? strrchr(abs, '/') : NULL;
    if (slash == abs && abs) slash[1] = '\0';
    else if (slash) *slash = '\0';
    llmc_config *cfg = NULL;
    if (!abs) llmc_error(d, NULL, "out of memory while reading the config");
    else cfg = llmc_config_load_string(text, len, path, abs, exe_dir, d);
    free(abs);
    free(text);
    return cfg;
}

llmc_config *llmc_config_load_file(const char *path, const char *exe_dir, llmc_diags *d) {
    return load_file(path, exe_dir, d, NULL);
}

llmc_config *llmc_config_embedded_default(const char *exe_dir) {
    char *ed = exe_dir ? abs_dir(exe_dir) : llmc_config_exe_dir();
    if (exe_dir && !ed) return NULL;
    llmc_config *c = config_with_defaults(LLMC_CONFIG_EMBEDDED_NAME, ed);
    free(ed);
    return c;
}

static int set_origin(llmc_config *c, char *origin) {
    if (!c) { free(origin); return 0; }
    if (!origin) return -1;
    free(c->origin);
    c->origin = origin;
    return 0;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static llmc_config *discover(const char *explicit_path, const char *exe_dir, const char *installed_path, llmc_diags *d,
                             bool *unreadable) {
    llmc_config *c;
    char *origin;
    if (unreadable) *unreadable = false;
    if (explicit_path) {
        c = load_file(explicit_path, exe_dir, d, unreadable);
        origin = llmc_asprintf("--config %s", explicit_path);
    } else if (exists("llmc.yaml")) {
        c = load_file("llmc.yaml", exe_dir, d, unreadable);
        origin = llmc_strdup("./llmc.yaml (current directory)");
    } else if (installed_path && exists(installed_path)) {
        c = load_file(installed_path, exe_dir, d, unreadable);
        origin = llmc_asprintf("installed config %s", installed_path);
    } else {
        c = llmc_config_embedded_default(exe_dir);
        if (!c) llmc_error(d, NULL, "out of memory while setting up the default config");
        origin = installed_path ? llmc_asprintf("embedded default (no --config, no ./llmc.yaml, no %s)", installed_path)
                                : llmc_strdup("embedded default (no --config, no ./llmc.yaml)");
    }
    if (set_origin(c, origin) != 0) {
        llmc_config_free(c);
        llmc_error(d, NULL, "out of memory while setting up the config");
        return NULL;
    }
    return c;
}

char *llmc_config_installed_path(const char *exe_dir) {
    char *ed = exe_dir ? abs_dir(exe_dir) : llmc_config_exe_dir();
    if (!ed) return NULL;
    char *p = abs_join(ed, LLMC_EXE_TO_CONFIG);
    free(ed);
    return p;
}

llmc_config *llmc_config_discover_with(const char *explicit_path, const char *exe_dir, const char *installed_path,
                                       llmc_diags *d) {
    return discover(explicit_path, exe_dir, installed_path, d, NULL);
}

llmc_config *llmc_config_discover(const char *explicit_path, const char *exe_dir, llmc_diags *d, bool *unreadable) {
    char *installed = llmc_config_installed_path(exe_dir); /* NULL if the binary's folder is unknown */
    llmc_config *c = discover(explicit_path, exe_dir, installed, d, unreadable);
    free(installed);
    return c;
}

int llmc_config_prepend_plugin_path(llmc_config *c, const char *dir) {
    if (!c || !dir || !dir[0]) return -1;
    char *p = abs_dir(dir);
    if (!p) return -1;
    char **nv = realloc(c->plugin_paths, (c->n_plugin_paths + 1) * sizeof *nv);
    if (!nv) { free(p); return -1; }
    c->plugin_paths = nv;
    /* after the earlier --plugins directories, before the config's own */
    memmove(nv + c->n_prepended + 1, nv + c->n_prepended, (c->n_plugin_paths - c->n_prepended) * sizeof *nv);
    nv[c->n_prepended] = p;
    c->n_plugin_paths++;
    c->n_prepended++;
    return 0;
}
