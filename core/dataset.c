/* The spec's tokenizer and dataset at compile time (dataset.h). */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/output.h"
#include "outdir.h"
#include "pipeline.h"
#include "report.h"
#include "llmc/sha256.h"
#include "special_tokens.h"
#include "tok_corpus.h"
#include "tok_train.h"
#include "util.h"

#define CACHE_FORMAT "llmc-tokenizer-cache/1"
#define MAX_TOKENIZER_FILE (1u << 30)
#define CHINCHILLA_TOKENS_PER_PARAM 20 /* Hoffmann et al. 2022, "Training Compute-Optimal LLMs" */

/* ---- paths -------------------------------------------------------------------------------------------------------- */

/* a path written in the spec is relative to the spec file's directory; the result is absolute
 * (spec.json records it so, and a recompile of OUT/spec.json reads the same files) */
static int resolve(const char *spec_path, const char *rel, char *abs, size_t n) {
    char joined[PATH_MAX];
    const char *slash = spec_path ? strrchr(spec_path, '/') : NULL;
    if (rel[0] != '/' && slash)
        snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - spec_path), spec_path, rel);
    else
        snprintf(joined, sizeof joined, "%s", rel);
    char *r = realpath(joined, NULL);
    if (!r) return -1;
    int ok = strlen(r) < n;
    if (ok) memcpy(abs, r, strlen(r) + 1);
    free(r);
    if (!ok) errno = ENAMETOOLONG;
    return ok ? 0 : -1;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* the reader (core/tok_corpus.c) decides by the extension, .gz aside */
static const char *format_of(const char *path) {
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", path);
    if (ends_with(base, ".gz")) base[strlen(base) - 3] = '\0';
    return ends_with(base, ".jsonl") || ends_with(base, ".ndjson") || ends_with(base, ".json") ? "jsonl" : "text";
}

static int replace_string(char **slot, const char *value, llmc_diags *d) {
    char *c = llmc_strdup(value);
    if (!c) {
        llmc_error(d, NULL, "out of memory");
        return -1;
    }
    free(*slot);
    *slot = c;
    return 0;
}

static int resolve_paths(llmc_spec *spec, const char *spec_path, llmc_diags *d) {
    size_t errs = llmc_diags_errors(d);
    char abs[PATH_MAX];
    if (spec->tokenizer_path) {
        if (resolve(spec_path, spec->tokenizer_path, abs, sizeof abs) != 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "tokenizer.path"), "tokenizer.path",
                          "cannot read '%s': %s (expected a tokenizer.json, a tokenizer.model or a directory "
                          "holding one)", spec->tokenizer_path, llmc_read_file_error(spec->tokenizer_path, errno));
        else if (replace_string(&spec->tokenizer_path, abs, d))
            return LLMC_EXIT_IO;
    }
    llmc_dataset_spec *ds = &spec->data;
    for (size_t i = 0; i < ds->n_paths; i++) {
        char key[48];
        snprintf(key, sizeof key, "dataset.paths[%zu]", i);
        llmc_loc loc = llmc_spec_loc(spec, key);
        if (resolve(spec_path, ds->paths[i], abs, sizeof abs) != 0 || llmc_check_regular_file(abs) != 0) {
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "cannot read corpus file '%s': %s (expected a .txt, .jsonl "
                          "or .gz file)", ds->paths[i], llmc_read_file_error(ds->paths[i], errno));
            continue;
        }
        if (ds->format && strcmp(ds->format, format_of(abs))) {
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "'%s' is read as %s by its name, but dataset.format is %s "
                          "(name .jsonl files jsonl and others text, optionally .gz)", ds->paths[i], format_of(abs),
                          ds->format);
            continue;
        }
        if (replace_string(&ds->paths[i], abs, d)) return LLMC_EXIT_IO;
    }
    return llmc_diags_errors(d) > errs ? LLMC_EXIT_SPEC : 0;
}

/* ---- the cache ------------------------------------------------------------------------------------------------------ */

int llmc_cache_dir(char *buf, size_t n) {
    const char *own = getenv("LLMC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int w;
    if (own && own[0]) w = snprintf(buf, n, "%s", own);
    else if (xdg && xdg[0] == '/') w = snprintf(buf, n, "%s/llmc", xdg);
    else if (home && home[0] == '/') w = snprintf(buf, n, "%s/.cache/llmc", home);
    else return -1;
    return w > 0 && (size_t)w < n ? 0 : -1;
}

static int hash_file(const char *path, llmc_sha256 *h, uint64_t *size, llmc_diags *d) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        llmc_error(d, NULL, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(1u << 20);
    ssize_t r = 0;
    *size = 0;
    while (buf && (r = read(fd, buf, 1u << 20)) > 0) {
        llmc_sha256_update(h, buf, (size_t)r);
        *size += (uint64_t)r;
    }
    int err = errno;
    free(buf);
    close(fd);
    if (!buf || r < 0) {
        llmc_error(d, NULL, "%s: cannot read: %s", path, buf ? strerror(err) : "out of memory");
        return -1;
    }
    return 0;
}

static void hex32(const uint8_t b[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void add_line(llmc_sha256 *h, const char *k, const char *v) {
    /* key, value, each with its length: no two settings can hash alike by concatenation */
    char len[48];
    snprintf(len, sizeof len, "%zu:%zu:", strlen(k), v ? strlen(v) : (size_t)0);
    llmc_sha256_update(h, len, strlen(len));
    llmc_sha256_update(h, k, strlen(k));
    if (v) llmc_sha256_update(h, v, strlen(v));
}

static int cache_key(const llmc_spec *spec, const llmc_plugin *pl, uint32_t vocab, char key[65], llmc_diags *d) {
    llmc_sha256 h;
    llmc_sha256_init(&h);
    char num[64];
    add_line(&h, "format", CACHE_FORMAT);
    add_line(&h, "llmc", llmc_version());
    add_line(&h, "plugin", pl->name);
    add_line(&h, "plugin_version", pl->version);
    add_line(&h, "plugin_file", pl->file);
    struct stat st;
    if (pl->file && stat(pl->file, &st) == 0) { /* a rebuilt trainer invalidates what it trained */
        snprintf(num, sizeof num, "%lld.%09ld:%lld", (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
                 (long long)st.st_size);
        add_line(&h, "plugin_stat", num);
    }
    snprintf(num, sizeof num, "%u", vocab);
    add_line(&h, "vocab_size", num);
    add_line(&h, "pre_tokenizer", spec->tok.pre_tokenizer);
    snprintf(num, sizeof num, "%d", spec->tok.byte_fallback);
    add_line(&h, "byte_fallback", num);
    for (size_t i = 0; i < spec->tok.n_special; i++) add_line(&h, spec->tok.special_names[i], spec->tok.special_tokens[i]);
    add_line(&h, "normalization", spec->tok.normalization);
    add_line(&h, "text_field", spec->data.text_field ? spec->data.text_field : "text");
    for (size_t i = 0; i < spec->data.n_paths; i++) {
        /* the contents and the reading rule, not the name: a copy elsewhere hits the same entry */
        llmc_sha256 fh;
        llmc_sha256_init(&fh);
        uint64_t size;
        if (hash_file(spec->data.paths[i], &fh, &size, d)) return -1;
        uint8_t dig[32];
        char hex[65];
        llmc_sha256_final(&fh, dig);
        hex32(dig, hex);
        const char *p = spec->data.paths[i];
        add_line(&h, ends_with(p, ".gz") ? "file.gz" : "file", format_of(p));
        add_line(&h, "sha256", hex);
    }
    uint8_t dig[32];
    llmc_sha256_final(&h, dig);
    hex32(dig, key);
    return 0;
}

/* A training killed hard (SIGKILL, power loss) leaves its ".train-XXXXXX" directory in the cache.
 * Every live training holds a flock on its own directory, so one that can be locked has no owner
 * left and is removed; the cache is llmc's, but only names of that exact form, real directories
 * owned by this user, are touched. An empty one is left alone: its training may be between mkdtemp
 * and flock (a reaper that locked or removed it then made that compile fail; seen when two
 * compiles raced under ASan), and a training writes into its directory only once it holds the lock. */
static void reap_dead_trainings(const char *root) {
    DIR *dp = opendir(root);
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        const char *n = e->d_name;
        if (strlen(n) != 13 || strncmp(n, ".train-", 7)) continue;
        bool letters = true;
        for (int i = 7; i < 13; i++)
            if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9'))) letters = false;
        char path[PATH_MAX];
        struct stat st;
        if (!letters || (size_t)snprintf(path, sizeof path, "%s/%s", root, n) >= sizeof path) continue;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        if (llmc_dir_state_of(path) == LLMC_DIR_EMPTY) continue;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) llmc_remove_tree(path);
        close(fd);
    }
    closedir(dp);
}

/* Train into a private directory next to the entry and rename it into place. */
static int train_entry(const llmc_plugin *pl, const llmc_spec *spec, const llmc_dataset_params *p, uint32_t vocab,
                       const char *root, const char *entry, llmc_diags *d) {
    char work[PATH_MAX], out[PATH_MAX + 16];
    reap_dead_trainings(root);
    snprintf(work, sizeof work, "%s/.train-XXXXXX", root);
    if (!mkdtemp(work)) {
        llmc_error(d, NULL, "cannot create a directory in the tokenizer cache '%s': %s", root, strerror(errno));
        return LLMC_EXIT_IO;
    }
    /* held until the directory is gone: tells a later compile this one is alive */
    int lock = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
        llmc_error(d, NULL, "cannot lock '%s' in the tokenizer cache: %s", work, strerror(errno));
        if (lock >= 0) close(lock);
        llmc_remove_tree(work);
        return LLMC_EXIT_IO;
    }
    snprintf(out, sizeof out, "%s/tokenizer", work);

    llmc_tok_train_params tp;
    llmc_tok_train_default_params(&tp);
    tp.type = spec->tok.type;
    tp.vocab_size = vocab;
    tp.pre_tokenizer = spec->tok.pre_tokenizer;
    tp.threads = p->threads;
    tp.progress = p->progress;
    tp.normalizer = llmc_tok_normalization_json(spec->tok.normalization);
    llmc_tok_special *sp = calloc(spec->tok.n_special + 1, sizeof *sp);
    const char *options[1];
    if (!sp) {
        llmc_remove_tree(work);
        close(lock);
        llmc_error(d, NULL, "out of memory");
        return LLMC_EXIT_IO;
    }
    for (size_t i = 0; i < spec->tok.n_special; i++) sp[i] = (llmc_tok_special){spec->tok.special_names[i], spec->tok.special_tokens[i]};
    tp.specials = sp;
    tp.n_specials = spec->tok.n_special;
    /* as the CLI's --byte-fallback / --no-byte-fallback: the option tells "off" from "not given" */
    tp.byte_fallback = spec->tok.byte_fallback == 1;
    if (spec->tok.byte_fallback >= 0) {
        options[0] = spec->tok.byte_fallback ? "byte_fallback=true" : "byte_fallback=false";
        tp.options = options;
        tp.n_options = 1;
    }
    llmc_tok_corpus_params cp;
    llmc_tok_corpus_default_params(&cp);
    cp.paths = (const char *const *)spec->data.paths;
    cp.n_paths = spec->data.n_paths;
    if (spec->data.text_field) cp.text_field = spec->data.text_field;
    cp.threads = p->threads;
    cp.progress = p->progress;

    llmc_diags *mine = llmc_diags_create();
    llmc_tok_train_report rep;
    int rc = mine ? llmc_tok_train(pl->vtable, pl->name, &tp, &cp, out, false, &rep, mine) : LLMC_EXIT_IO;
    free(sp);
    if (rc == LLMC_EXIT_OK) {
        llmc_diags_take(d, mine);
        if (rename(out, entry) != 0 && errno != EEXIST && errno != ENOTEMPTY) {
            llmc_error(d, NULL, "cannot put the trained tokenizer into the cache at '%s': %s", entry, strerror(errno));
            rc = LLMC_EXIT_IO;
        }
        /* EEXIST / ENOTEMPTY: a concurrent compile put the same tokenizer there first */
    } else if (mine && rep.corpus_too_small) {
        /* the trainer's message speaks of --vocab-size; the spec's reader wants the key it wrote */
        const char *key = spec->tok.vocab_size ? "tokenizer.vocab_size" : "vocab_size";
        char a[32], b[32], c[32], e[32];
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, key), key,
                      "the dataset cannot fill %u ids: the '%s' tokenizer learned %u from %s documents (%s bytes, %s "
                      "characters of which %llu distinct, %s distinct words); lower %s to at most %u or add text",
                      vocab, pl->name, rep.vocab_size, llmc_fmt_count(rep.documents, a, sizeof a),
                      llmc_fmt_count(rep.bytes, b, sizeof b), llmc_fmt_count(rep.characters, c, sizeof c),
                      (unsigned long long)rep.distinct_characters, llmc_fmt_count(rep.unique_words, e, sizeof e), key,
                      rep.vocab_size);
        rc = LLMC_EXIT_SPEC;
    } else if (mine) {
        llmc_diags_take(d, mine);
    }
    llmc_diags_free(mine);
    llmc_remove_tree(work);
    close(lock);
    return rc;
}

static int train_cached(const llmc_registry *reg, const llmc_spec *spec, const llmc_dataset_params *p,
                        llmc_dataset *out, llmc_diags *d) {
    const llmc_plugin *pl = llmc_registry_require(reg, LLMC_PLUGIN_TOKENIZER, spec->tok.type, d);
    if (!pl) {
        llmc_diag_add(d, LLMC_SEV_NOTE, llmc_spec_loc(spec, "tokenizer.type"), "tokenizer.type",
                      "the tokenizer to train is a tokenizer plugin (`llmc plugins` lists them)");
        return LLMC_EXIT_PLUGIN;
    }
    uint32_t vocab = (uint32_t)(spec->tok.vocab_size ? spec->tok.vocab_size : spec->vocab_size);
    char key[65], root[PATH_MAX - 128], entry[PATH_MAX];
    if (cache_key(spec, pl, vocab, key, d)) return LLMC_EXIT_IO;
    if (llmc_cache_dir(root, sizeof root - 16) != 0) {
        llmc_error(d, NULL, "no place for the tokenizer cache: set LLMC_CACHE_DIR, XDG_CACHE_HOME or HOME");
        return LLMC_EXIT_IO;
    }
    strcat(root, "/tokenizers");
    if (llmc_mkdirs(root, d) != 0) return LLMC_EXIT_IO;
    snprintf(entry, sizeof entry, "%s/%s", root, key);
    out->source = "cached";
    if (llmc_dir_state_of(entry) == LLMC_DIR_NONEMPTY) {
        llmc_diags *mine = llmc_diags_create();
        out->tokenizer = mine ? llmc_tokenizer_load(entry, mine) : NULL;
        if (!out->tokenizer && mine) {
            /* a damaged entry (a disk error, a hand edit): set it aside and train again */
            char aside[PATH_MAX];
            snprintf(aside, sizeof aside, "%s/.damaged-XXXXXX", root);
            if (mkdtemp(aside)) {
                char dst[PATH_MAX + 16];
                snprintf(dst, sizeof dst, "%s/entry", aside);
                if (rename(entry, dst) == 0 || errno == ENOENT) llmc_remove_tree(aside);
            }
            llmc_warning(d, NULL, "tokenizer cache entry '%s' did not load; training again", entry);
        }
        llmc_diags_free(mine);
    }
    if (!out->tokenizer) {
        out->source = "trained";
        int rc = train_entry(pl, spec, p, vocab, root, entry, d);
        if (rc) return rc;
        out->tokenizer = llmc_tokenizer_load(entry, d);
        if (!out->tokenizer) {
            llmc_error(d, NULL, "the tokenizer just trained into '%s' does not load (see above)", entry);
            return LLMC_EXIT_PLUGIN;
        }
    }
    out->tokenizer_dir = llmc_strdup(entry);
    if (!out->tokenizer_dir) {
        llmc_error(d, NULL, "out of memory");
        return LLMC_EXIT_IO;
    }
    return 0;
}

/* ---- statistics ------------------------------------------------------------------------------------------------------ */

static int read_stats(const llmc_spec *spec, const llmc_dataset_params *p, llmc_dataset *out, llmc_diags *d) {
    llmc_tok_corpus_params cp;
    llmc_tok_corpus_default_params(&cp);
    cp.paths = (const char *const *)spec->data.paths;
    cp.n_paths = spec->data.n_paths;
    if (spec->data.text_field) cp.text_field = spec->data.text_field;
    cp.threads = p->threads;
    cp.progress = p->progress;
    /* words and tokens as `llmc tokenize DIR --corpus` reads the files: lines with their endings */
    int ec = LLMC_EXIT_IO;
    llmc_tok_counts *counts = llmc_tok_count_corpus(out->tokenizer, &cp, true, &ec, d);
    if (!counts) return ec;
    const llmc_tok_corpus_stats *st = llmc_tok_counts_stats(counts);
    llmc_dataset_stats *s = &out->stats;
    s->bytes = st->bytes;
    s->documents = st->documents;
    s->characters = st->characters;
    s->unique_words = st->n_words;
    s->invalid_utf8 = st->invalid_utf8;
    llmc_tok_counts_free(counts);
    int rc = llmc_tok_count_tokens(out->tokenizer, &cp, true, &s->tokens, d);
    if (rc) return rc;
    out->has_stats = true;
    return 0;
}

static char *dataset_json(const llmc_spec *spec, const llmc_dataset *ds, llmc_diags *d) {
    const llmc_dataset_stats *s = &ds->stats;
    json_t *o = json_object(), *files = json_array(), *tok = json_object();
    json_object_set_new(o, "format", json_string("llmc-dataset/1"));
    json_object_set_new(o, "name", spec->dataset ? json_string(spec->dataset) : json_null());
    json_object_set_new(o, "split", spec->data.split ? json_string(spec->data.split) : json_null());
    for (size_t i = 0; i < spec->data.n_paths; i++) {
        llmc_sha256 h;
        llmc_sha256_init(&h);
        uint64_t size;
        if (hash_file(spec->data.paths[i], &h, &size, d)) {
            json_decref(o);
            json_decref(files);
            json_decref(tok);
            return NULL;
        }
        uint8_t dig[32];
        char hex[65];
        llmc_sha256_final(&h, dig);
        hex32(dig, hex);
        json_t *f = json_object();
        json_object_set_new(f, "path", json_string(spec->data.paths[i]));
        json_object_set_new(f, "format", json_string(format_of(spec->data.paths[i])));
        json_object_set_new(f, "bytes", json_integer((json_int_t)size));
        json_object_set_new(f, "sha256", json_string(hex));
        json_array_append_new(files, f);
    }
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "text_field", json_string(spec->data.text_field ? spec->data.text_field : "text"));
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(o, "documents", json_integer((json_int_t)s->documents));
    json_object_set_new(o, "characters", json_integer((json_int_t)s->characters));
    json_object_set_new(o, "unique_words", json_integer((json_int_t)s->unique_words));
    json_object_set_new(o, "invalid_utf8_bytes", json_integer((json_int_t)s->invalid_utf8));
    char hash[65];
    if (llmc_tokenizer_hash(ds->tokenizer, hash)) hash[0] = '\0';
    json_object_set_new(tok, "from", json_string(spec->tokenizer_path ? "path" : "trained"));
    json_object_set_new(tok, "type", spec->tok.type ? json_string(spec->tok.type) : json_null());
    json_object_set_new(tok, "model", json_string(llmc_tokenizer_model_type(ds->tokenizer)));
    json_object_set_new(tok, "vocab_size", json_integer(llmc_tokenizer_vocab_size(ds->tokenizer)));
    json_object_set_new(tok, "tokenizer_hash", json_string(hash));
    json_object_set_new(o, "tokenizer", tok);
    json_object_set_new(o, "add_special_tokens", json_true());
    json_object_set_new(o, "tokens", json_integer((json_int_t)s->tokens));
    json_object_set_new(o, "bytes_per_token", s->tokens ? json_real((double)s->bytes / (double)s->tokens) : json_null());
    json_object_set_new(o, "compute_optimal_parameters",
                        json_integer((json_int_t)(s->tokens / CHINCHILLA_TOKENS_PER_PARAM)));
    char *text = llmc_json_text(o);
    if (!text) llmc_error(d, NULL, "out of memory");
    return text;
}

/* ---- prepare ----------------------------------------------------------------------------------------------------------- */

int llmc_dataset_prepare(const llmc_registry *reg, llmc_spec *spec, const llmc_dataset_params *p, llmc_dataset *out,
                         llmc_diags *d) {
    memset(out, 0, sizeof *out);
    double t0 = llmc_now_ms();
    if (!spec->tokenizer_path && !spec->tok.type) {
        /* tokenizer none: nothing; tokenizer byte: the fixed byte vocabulary, nothing is read */
        if (spec->tokenizer != LLMC_TOKENIZER_BYTE) return 0;
        out->tokenizer = llmc_byte_vocab_tokenizer(spec->vocab_size, d);
        if (!out->tokenizer) return LLMC_EXIT_SPEC;
        out->source = "byte";
        out->ms = llmc_now_ms() - t0;
        return 0;
    }
    /* one vocabulary: every id of the tokenizer has an embedding row and every row an id */
    if (spec->tok.vocab_size && spec->tok.vocab_size != spec->vocab_size) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "tokenizer.vocab_size"), "tokenizer.vocab_size",
                      "differs from the model's vocab_size (expected %lld, got %lld): the embedding has one row per "
                      "token id; set both to the same value (or drop tokenizer.vocab_size)",
                      (long long)spec->vocab_size, (long long)spec->tok.vocab_size);
        return LLMC_EXIT_SPEC;
    }
    int rc = resolve_paths(spec, p->spec_path, d);
    if (rc) return rc;

    if (spec->tokenizer_path) {
        llmc_diags *mine = llmc_diags_create();
        out->tokenizer = mine ? llmc_tokenizer_load(spec->tokenizer_path, mine) : NULL;
        out->source = "path";
        if (!out->tokenizer) {
            char why[512] = "out of memory";
            for (size_t i = 0; mine && i < llmc_diags_size(mine); i++) {
                const llmc_diag *g = llmc_diags_get(mine, i);
                if (g && g->severity == LLMC_SEV_ERROR) {
                    llmc_diag_format(g, why, sizeof why);
                    break;
                }
            }
            const char *msg = strncmp(why, "llmc: ", 6) ? why : why + 6; /* an unlocated message's prefix */
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "tokenizer.path"), "tokenizer.path",
                          "cannot load the tokenizer '%s': %s", spec->tokenizer_path, msg);
            llmc_diags_free(mine);
            return LLMC_EXIT_SPEC;
        }
        llmc_diags_free(mine);
    } else {
        rc = train_cached(reg, spec, p, out, d);
        if (rc) return rc;
    }

    /* every id the tokenizer gives has a row in the embedding, and every row is a token: the GGUF
     * vocabulary, config.json and the runtimes' samplers all assume the two are one table */
    uint32_t vs = llmc_tokenizer_vocab_size(out->tokenizer);
    if ((int64_t)vs != spec->vocab_size) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "vocab_size"), "vocab_size",
                      "must be %u, the number of ids of the tokenizer '%s' (got %lld): set vocab_size: %u", vs,
                      spec->tokenizer_path ? spec->tokenizer_path : out->tokenizer_dir,
                      (long long)spec->vocab_size, vs);
        return LLMC_EXIT_SPEC;
    }

    if (spec->data.n_paths) {
        rc = read_stats(spec, p, out, d);
        if (rc) return rc;
        out->json = dataset_json(spec, out, d);
        if (!out->json) return LLMC_EXIT_IO;
    }

    if (spec->target_compute_optimal) {
        uint64_t target = out->stats.tokens / CHINCHILLA_TOKENS_PER_PARAM;
        if (target < 1) {
            char a[32];
            llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(spec, "target_params"), "target_params",
                          "compute_optimal: the dataset has %s tokens, too few for a model of even 1 parameter at %d "
                          "tokens per parameter", llmc_fmt_count(out->stats.tokens, a, sizeof a),
                          CHINCHILLA_TOKENS_PER_PARAM);
            return LLMC_EXIT_SPEC;
        }
        spec->target_params = target;
        if (!llmc_spec_has_key(spec, "tolerance")) spec->tolerance = llmc_default_tolerance(target);
    }
    out->ms = llmc_now_ms() - t0;
    return 0;
}

/* ---- writing -------------------------------------------------------------------------------------------------------------- */

static int write_file(const char *dir, const char *rel, const void *data, size_t len, llmc_manifest *mf,
                      llmc_diags *d) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path) {
        llmc_error(d, NULL, "path too long: %s/%s", dir, rel);
        return LLMC_EXIT_IO;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        llmc_error(d, NULL, "cannot write '%s': %s", path, strerror(errno));
        return LLMC_EXIT_IO;
    }
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        llmc_error(d, NULL, "cannot write '%s': %s", path, strerror(errno));
        return LLMC_EXIT_IO;
    }
    if (mf && llmc_manifest_add_bytes(mf, NULL, rel, data, len) != 0) {
        fclose(f);
        llmc_error(d, NULL, "out of memory recording '%s' in %s", rel, LLMC_MANIFEST_FILE);
        return LLMC_EXIT_IO;
    }
    return llmc_out_close(f, rel, d) ? LLMC_EXIT_IO : 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the files of a directory (regular, not hidden), copied byte for byte to dir/sub and recorded;
 * with copy false src is dir/sub already and its files are only recorded */
static int copy_dir(const char *src, const char *dir, const char *sub, bool copy, llmc_manifest *mf, llmc_diags *d) {
    DIR *dh = opendir(src);
    if (!dh) {
        llmc_error(d, NULL, "cannot read the tokenizer '%s': %s", src, strerror(errno));
        return LLMC_EXIT_IO;
    }
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) && n < 64) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", src, e->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (!(names[n] = llmc_strdup(e->d_name))) break;
        n++;
    }
    closedir(dh);
    qsort(names, n, sizeof *names, cmp_str); /* the manifest sorts too; this keeps errors in order */
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], rel[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", src, names[i]);
        snprintf(rel, sizeof rel, "%s/%s", sub, names[i]);
        size_t len = 0;
        char *data = rc ? NULL : llmc_read_file(path, MAX_TOKENIZER_FILE, &len);
        if (!rc && !data) {
            llmc_error(d, NULL, "cannot read '%s': %s", path, llmc_read_file_error(path, errno));
            rc = LLMC_EXIT_IO;
        }
        if (!rc && copy) rc = write_file(dir, rel, data, len, mf, d);
        if (!rc && !copy && llmc_manifest_add_bytes(mf, NULL, rel, data, len) != 0) {
            llmc_error(d, NULL, "out of memory recording '%s' in %s", rel, LLMC_MANIFEST_FILE);
            rc = LLMC_EXIT_IO;
        }
        free(data);
        free(names[i]);
    }
    return rc;
}

/* tokenizer_config.json / special_tokens_map.json in dir/tokenizer: the model's special tokens */
static int write_special_config(const llmc_dataset *ds, const llmc_special_tokens *st, const char *dir,
                                const char *name, bool with_flags, llmc_diags *d) {
    char path[PATH_MAX], tmp[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer/%s", dir, name) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/tokenizer/.%s.tmp", dir, name) >= sizeof tmp) {
        llmc_error(d, NULL, "path too long: %s/tokenizer/%s", dir, name);
        return LLMC_EXIT_IO;
    }
    size_t len = 0;
    char *old = llmc_read_file(path, MAX_TOKENIZER_FILE, &len);
    if (!old) {
        llmc_error(d, NULL, "cannot read '%s': %s", path, llmc_read_file_error(path, errno));
        return LLMC_EXIT_IO;
    }
    char *text = llmc_special_tokens_apply_config(ds->tokenizer, st, old, len, with_flags, d);
    free(old);
    if (!text) return LLMC_EXIT_IO;
    FILE *f = fopen(tmp, "wb");
    size_t n = strlen(text);
    int rc = f && fwrite(text, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0) rc = -1;
    if (!rc && rename(tmp, path) != 0) rc = -1;
    if (rc) {
        llmc_error(d, NULL, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    free(text);
    return rc ? LLMC_EXIT_IO : 0;
}

int llmc_dataset_write(const llmc_dataset *ds, const llmc_special_tokens *st, const char *dir, llmc_manifest *mf,
                       llmc_diags *d) {
    if (!ds->tokenizer) return 0;
    char tdir[PATH_MAX];
    snprintf(tdir, sizeof tdir, "%s/tokenizer", dir);
    if (llmc_mkdirs(tdir, d) != 0) return LLMC_EXIT_IO;
    int rc;
    if (ds->tokenizer_dir) {
        /* copied as trained, then the two configuration files say the model's special tokens */
        static const char *const names[2] = {"tokenizer_config.json", "special_tokens_map.json"};
        rc = copy_dir(ds->tokenizer_dir, dir, "tokenizer", true, NULL, d);
        for (int i = 0; !rc && i < 2; i++) rc = write_special_config(ds, st, dir, names[i], i == 0, d);
        if (!rc) rc = copy_dir(tdir, dir, "tokenizer", false, mf, d);
    } else {
        /* a loaded tokenizer, written in llmc's layout (what `llmc tokenize OUT/tokenizer` reads) */
        if (llmc_tokenizer_save(ds->tokenizer, tdir, d) != 0) return LLMC_EXIT_IO;
        static const char *const names[2] = {"tokenizer_config.json", "special_tokens_map.json"};
        rc = 0;
        for (int i = 0; !rc && i < 2; i++) rc = write_special_config(ds, st, dir, names[i], i == 0, d);
        if (!rc) rc = copy_dir(tdir, dir, "tokenizer", false, mf, d);
    }
    if (!rc && ds->json) rc = write_file(dir, "dataset.json", ds->json, strlen(ds->json), mf, d);
    return rc;
}

void llmc_dataset_free(llmc_dataset *ds) {
    if (!ds) return;
    llmc_tokenizer_free(ds->tokenizer);
    free(ds->tokenizer_dir);
    free(ds->json);
    memset(ds, 0, sizeof *ds);
}
