/* The atomic output directory (outdir.h): what --force may replace, the lock beside OUT, the
 * clean-up of what dead compiles left, and a commit after which OUT is always complete. */
#include "outdir.h"

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
#include <sys/syscall.h>
#include <unistd.h>

#include "llmc/llmc.h"
#include "llmc/sha256.h"
#include "util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1u << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1u << 1)
#endif

#define MARKER_FORMAT "llmc-output"
#define MARKER_MAX_BYTES (16u << 20)

/* ---- small file-system helpers ------------------------------------------------------------------ */

/* Plain opendir/readdir recursion; it never follows symlinks (lstat), so it cannot leave the tree. */
int llmc_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    DIR *dir = opendir(path);
    if (!dir) return -1;
    int rc = 0;
    struct dirent *e;
    char child[PATH_MAX];
    while ((e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        int w = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        if (w < 0 || (size_t)w >= sizeof child) { rc = -1; continue; }
        if (llmc_remove_tree(child) != 0) rc = -1;
    }
    closedir(dir);
    if (rmdir(path) != 0) rc = -1;
    return rc;
}

llmc_dir_state llmc_dir_state_of(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? LLMC_DIR_MISSING : LLMC_DIR_UNREADABLE;
    if (!S_ISDIR(st.st_mode)) return LLMC_DIR_NOT_A_DIR;
    DIR *dir = opendir(path);
    if (!dir) return LLMC_DIR_UNREADABLE;
    bool any = false;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) { any = true; break; }
    int err = errno;
    closedir(dir);
    if (!any && err) {
        errno = err;
        return LLMC_DIR_UNREADABLE;
    }
    return any ? LLMC_DIR_NONEMPTY : LLMC_DIR_EMPTY;
}

/* renameat2 through glibc when it has the wrapper (2.28+), else the raw system call */
static int rename_flags(const char *from, const char *to, unsigned flags) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 28))
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, flags);
#elif defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
#else
    (void)from;
    (void)to;
    (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* the kernel or the filesystem has no renameat2 flags (old kernel, some network/FUSE filesystems) */
static bool rename_flags_unsupported(int e) { return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP; }

static bool same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static void split_parent(const char *path, char *parent, size_t plen, char *base, size_t blen) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = '\0';
    char *slash = strrchr(tmp, '/');
    if (!slash) {
        snprintf(parent, plen, ".");
        snprintf(base, blen, "%s", tmp);
    } else if (slash == tmp) {
        snprintf(parent, plen, "/");
        snprintf(base, blen, "%s", slash + 1);
    } else {
        *slash = '\0';
        snprintf(parent, plen, "%s", tmp);
        snprintf(base, blen, "%s", slash + 1);
    }
}

static int join(char *buf, size_t n, const char *dir, const char *name) {
    int w = snprintf(buf, n, "%s/%s", dir, name);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* What st is, if it is a directory llmc must never write over: the current directory or one of
 * its parents (found by walking ".." from the working directory, so symlinks and relative
 * spellings cannot hide them), $HOME, or /. NULL if none. */
static const char *protected_dir(const struct stat *st) {
    struct stat other;
    if (stat("/", &other) == 0 && same_file(&other, st)) return "the root directory";
    const char *home = getenv("HOME");
    if (home && *home && stat(home, &other) == 0 && same_file(&other, st)) return "your home directory";
    int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (int depth = 0; fd >= 0; depth++) {
        struct stat cur, up_st;
        if (fstat(fd, &cur) != 0) break;
        if (same_file(&cur, st)) {
            close(fd);
            return depth == 0 ? "the current directory" : "a parent of the current directory";
        }
        int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        fd = up;
        if (fd >= 0 && (fstat(fd, &up_st) != 0 || same_file(&up_st, &cur))) break; /* reached / */
    }
    if (fd >= 0) close(fd);
    return NULL;
}

/* ---- the marker ---------------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted top-level entry names of dir, without the marker. NULL + errno on failure. */
static char **list_entries(const char *dir, size_t *n_out) {
    DIR *dp = opendir(dir);
    if (!dp) return NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int err = 0;
    errno = 0;
    while ((e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, LLMC_OUTPUT_MARKER)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) { err = ENOMEM; break; }
            names = grown;
        }
        if (!(names[n] = llmc_strdup(e->d_name))) { err = ENOMEM; break; }
        n++;
        errno = 0;
    }
    if (!err) err = errno;
    closedir(dp);
    if (err) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        errno = err;
        return NULL;
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    *n_out = n;
    return names ? names : calloc(1, sizeof *names);
}

static void free_entries(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* SHA-256 of a file as hex; -1 + errno on failure */
static int hash_file(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    llmc_sha256 s;
    llmc_sha256_init(&s);
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) llmc_sha256_update(&s, buf, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        errno = EIO;
        return -1;
    }
    uint8_t digest[32];
    llmc_sha256_final(&s, digest);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

/* Write dir/.llmc-output. An unfinished one marks a temp dir as llmc's (stale clean-up); the
 * finished one records the spec hash and the top-level entries that --force checks. */
static int write_marker(const char *dir, bool complete, llmc_diags *d) {
    char path[PATH_MAX], spec[PATH_MAX], hex[65];
    if (join(path, sizeof path, dir, LLMC_OUTPUT_MARKER) || join(spec, sizeof spec, dir, "spec.json")) {
        llmc_error(d, NULL, "output path '%s' is too long", dir);
        return 1;
    }
    json_t *m = json_object();
    json_t *entries = complete ? json_array() : NULL;
    int rc = 1;
    char *text = NULL;
    if (!m || (complete && !entries)) goto oom;
    json_object_set_new(m, "format", json_string(MARKER_FORMAT));
    json_object_set_new(m, "version", json_integer(1));
    json_object_set_new(m, "complete", json_boolean(complete));
    if (complete) {
        json_object_set_new(m, "llmc_version", json_string(llmc_version()));
        if (hash_file(spec, hex) == 0) json_object_set_new(m, "spec_sha256", json_string(hex));
        else if (errno == ENOENT) json_object_set_new(m, "spec_sha256", json_null());
        else {
            llmc_error(d, NULL, "cannot read '%s' to record its hash: %s", spec, strerror(errno));
            goto out;
        }
        size_t n = 0;
        char **names = list_entries(dir, &n);
        if (!names) {
            llmc_error(d, NULL, "cannot list '%s': %s", dir, strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < n; i++) json_array_append_new(entries, json_string(names[i]));
        free_entries(names, n);
        json_object_set(m, "entries", entries);
    }
    text = json_dumps(m, JSON_INDENT(2));
    if (!text) goto oom;
    FILE *f = fopen(path, "wb");
    if (!f) {
        llmc_error(d, NULL, "cannot create '%s': %s", path, strerror(errno));
        goto out;
    }
    size_t len = strlen(text);
    bool bad = fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF;
    int e = bad ? errno : 0;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (bad) {
        llmc_error(d, NULL, "error writing '%s': %s", path, strerror(e ? e : EIO));
        goto out;
    }
    rc = 0;
    goto out;
oom:
    llmc_error(d, NULL, "out of memory writing the output marker");
out:
    free(text);
    json_decref(entries);
    json_decref(m);
    return rc;
}

typedef enum marker_kind { MARKER_NONE, MARKER_FOREIGN, MARKER_UNFINISHED, MARKER_COMPLETE } marker_kind;

/* Read dir's marker; *out gets the parsed object when it is an llmc marker (caller decrefs). */
static marker_kind read_marker(const char *dir, json_t **out, int *err) {
    char path[PATH_MAX];
    *out = NULL;
    *err = 0;
    if (join(path, sizeof path, dir, LLMC_OUTPUT_MARKER)) {
        *err = ENAMETOOLONG;
        return MARKER_NONE;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        *err = errno;
        return MARKER_NONE;
    }
    if (!S_ISREG(st.st_mode)) return MARKER_FOREIGN;
    size_t len;
    char *text = llmc_read_file(path, MARKER_MAX_BYTES, &len);
    if (!text) {
        *err = errno;
        return MARKER_NONE;
    }
    json_t *m = json_loadb(text, len, 0, NULL);
    free(text);
    const char *format = json_string_value(json_object_get(m, "format"));
    if (!json_is_object(m) || !format || strcmp(format, MARKER_FORMAT)) {
        json_decref(m);
        return MARKER_FOREIGN;
    }
    *out = m;
    return json_is_true(json_object_get(m, "complete")) ? MARKER_COMPLETE : MARKER_UNFINISHED;
}

/* 0 when dir is an output directory llmc finished writing and nothing was added at its top level
 * since: its marker is complete, spec.json has the hash the marker recorded, and every top-level
 * entry is one the marker lists. Otherwise 1 and, in why, what makes it someone else's. */
static int verify_llmc_output(const char *dir, char *why, size_t wn) {
    json_t *m = NULL;
    int err;
    marker_kind k = read_marker(dir, &m, &err);
    if (k == MARKER_NONE) {
        if (err == ENOENT) snprintf(why, wn, "has no %s marker, so llmc did not write it", LLMC_OUTPUT_MARKER);
        else snprintf(why, wn, "has a %s marker that cannot be read (%s)", LLMC_OUTPUT_MARKER, strerror(err));
        return 1;
    }
    if (k == MARKER_FOREIGN) {
        snprintf(why, wn, "has a %s that is not an llmc output marker", LLMC_OUTPUT_MARKER);
        return 1;
    }
    int rc = 1;
    char spec[PATH_MAX], hex[65];
    json_t *want = json_object_get(m, "spec_sha256"), *entries = json_object_get(m, "entries");
    char **names = NULL;
    size_t n = 0;
    if (k == MARKER_UNFINISHED) {
        snprintf(why, wn, "is marked by %s as an unfinished compile", LLMC_OUTPUT_MARKER);
        goto out;
    }
    if (!json_is_array(entries) || !(json_is_string(want) || json_is_null(want))) {
        snprintf(why, wn, "has a %s marker without its spec hash or entry list", LLMC_OUTPUT_MARKER);
        goto out;
    }
    if (json_is_string(want)) {
        if (join(spec, sizeof spec, dir, "spec.json") || hash_file(spec, hex) != 0) {
            snprintf(why, wn, "has a spec.json that cannot be read (%s), so llmc cannot check it against its marker",
                     strerror(errno));
            goto out;
        }
        if (strcmp(hex, json_string_value(want))) {
            snprintf(why, wn, "has a spec.json that differs from the one llmc wrote (its SHA-256 is not the one "
                     "recorded in %s): it was edited since", LLMC_OUTPUT_MARKER);
            goto out;
        }
    }
    if (!(names = list_entries(dir, &n))) {
        snprintf(why, wn, "cannot be listed (%s)", strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        bool listed = false;
        for (size_t j = 0; !listed && j < json_array_size(entries); j++) {
            const char *s = json_string_value(json_array_get(entries, j));
            listed = s && !strcmp(s, names[i]);
        }
        if (!listed) {
            snprintf(why, wn, "holds '%s', which llmc did not write", names[i]);
            goto out;
        }
    }
    rc = 0;
out:
    free_entries(names, n);
    json_decref(m);
    return rc;
}

/* ---- what may be written over ---------------------------------------------------------------------------- */

/* 0 when the compile may go on writing to final_dir: it is absent or an empty directory, or
 * (with force) an output llmc wrote; never a symlink, a file, an unreadable directory or a
 * protected one. appeared: final_dir was absent or empty when the compile began. */
static int check_target(const char *final_dir, bool force, bool appeared, llmc_diags *d) {
    struct stat st;
    if (lstat(final_dir, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        llmc_error(d, NULL, "cannot inspect the output directory '%s': %s", final_dir, strerror(errno));
        return 1;
    }
    if (S_ISLNK(st.st_mode)) {
        llmc_error(d, NULL, "output path '%s' is a symbolic link; llmc does not write through or over links "
                   "(give the directory itself)", final_dir);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        llmc_error(d, NULL, "output path '%s' exists and is not a directory", final_dir);
        return 1;
    }
    const char *prot = protected_dir(&st);
    if (prot) {
        char real[PATH_MAX];
        llmc_error(d, NULL, "refusing to write the output to '%s': it is %s ('%s'), which llmc never replaces",
                   final_dir, prot, realpath(final_dir, real) ? real : final_dir);
        return 1;
    }
    llmc_dir_state state = llmc_dir_state_of(final_dir);
    if (state == LLMC_DIR_EMPTY || state == LLMC_DIR_MISSING) return 0;
    if (state == LLMC_DIR_UNREADABLE) {
        llmc_error(d, NULL, "output directory '%s' exists but cannot be read (%s): llmc cannot tell whether it "
                   "holds your files, so it counts as not empty and is left untouched", final_dir, strerror(errno));
        return 1;
    }
    if (state != LLMC_DIR_NONEMPTY) {
        llmc_error(d, NULL, "output path '%s' exists and is not a directory", final_dir);
        return 1;
    }
    if (!force) {
        if (appeared)
            llmc_error(d, NULL, "output directory '%s' appeared while compiling and is not empty (use --force to "
                       "replace it)", final_dir);
        else
            llmc_error(d, NULL, "output directory '%s' exists and is not empty (use --force to replace it)", final_dir);
        return 1;
    }
    char why[PATH_MAX + 256];
    if (verify_llmc_output(final_dir, why, sizeof why) != 0) {
        llmc_error(d, NULL, "--force refused: '%s' %s; --force replaces only an empty directory or an output llmc "
                   "wrote (move your files out of it, or remove it yourself)", final_dir, why);
        return 1;
    }
    return 0;
}

/* ---- the lock beside OUT -------------------------------------------------------------------------------- */

/* flock on "<parent>/.<base>.lock", which holds the owner's pid. The holder unlinks it before
 * unlocking; a process that locked a file that was unlinked meanwhile sees another inode at the
 * path and tries again, so two compiles never both believe they hold the lock. */
static int lock_acquire(const char *lock_path, const char *final_dir, llmc_diags *d) {
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) {
            llmc_error(d, NULL, "cannot write in the folder of '%s' (creating the lock file '%s': %s)", final_dir,
                       lock_path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char text[32] = "";
            ssize_t got = e == EWOULDBLOCK ? pread(fd, text, sizeof text - 1, 0) : -1;
            close(fd);
            if (e != EWOULDBLOCK) {
                llmc_error(d, NULL, "cannot lock '%s': %s", lock_path, strerror(e));
                return -1;
            }
            long pid = got > 0 ? strtol(text, NULL, 10) : 0;
            char who[48] = "";
            if (pid > 0) snprintf(who, sizeof who, " (pid %ld)", pid);
            llmc_error(d, NULL, "another llmc compile%s is writing '%s' (it holds the lock '%s'); wait for it to "
                       "finish, or write to another directory", who, final_dir, lock_path);
            return -1;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(lock_path, &now) == 0 && same_file(&held, &now)) {
            char text[32];
            int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
                /* the pid is only for the other compile's message; the lock holds without it */
            }
            return fd;
        }
        close(fd); /* the previous holder unlinked it after we opened it: take the new one */
    }
    llmc_error(d, NULL, "cannot take the lock '%s': it keeps being replaced", lock_path);
    return -1;
}

static void lock_release(int fd, const char *lock_path) {
    if (fd < 0) return;
    struct stat held, now;
    if (fstat(fd, &held) == 0 && stat(lock_path, &now) == 0 && same_file(&held, &now)) unlink(lock_path);
    close(fd);
}

/* ---- what dead compiles left --------------------------------------------------------------------------- */

/* "tmp" or "old" when name is ".<some base>.<kind>-XXXXXX" (XXXXXX: mkdtemp's six letters or
 * digits), else NULL; *own: <some base> is base. */
static const char *leftover_kind(const char *name, const char *base, bool *own) {
    enum { SUFFIX = 11 }; /* ".tmp-XXXXXX" */
    size_t n = strlen(name);
    if (n < SUFFIX + 2 || name[0] != '.') return NULL;
    const char *suffix = name + n - SUFFIX;
    const char *kind = !strncmp(suffix, ".tmp-", 5) ? "tmp" : !strncmp(suffix, ".old-", 5) ? "old" : NULL;
    for (int i = 5; kind && i < SUFFIX; i++) {
        char c = suffix[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) kind = NULL;
    }
    size_t bl = n - 1 - SUFFIX;
    *own = bl == strlen(base) && !strncmp(name + 1, base, bl);
    return kind;
}

/* Open path (a directory of ours, no symlink) and try to flock it. Returns the fd when no live
 * process holds it, -1 when one does or it is not ours to touch. */
static int claim_leftover(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) return -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Is this leftover entirely llmc's? Empty (killed right after mkdtemp), an unfinished compile's
 * temp dir, or a finished output nobody added to. */
static bool leftover_is_llmc(const char *path) {
    if (llmc_dir_state_of(path) == LLMC_DIR_EMPTY) return true;
    json_t *m;
    int err;
    marker_kind k = read_marker(path, &m, &err);
    json_decref(m);
    if (k == MARKER_UNFINISHED) return true;
    char why[PATH_MAX + 256];
    return k == MARKER_COMPLETE && verify_llmc_output(path, why, sizeof why) == 0;
}

/* Leftovers of final_dir's own compiles: called with its lock held, so no live llmc compile into
 * final_dir owns them (the flock of each directory guards against one that runs without the lock
 * file, removed by hand). Temp dirs of other outputs in the same folder are removed too, but only
 * unmistakable ones: with an llmc marker and no flock. Every live compile flocks its temp dir
 * before writing the marker into it, and the old output it is replacing before moving it, so an
 * unlocked, marked directory has no live owner. */
static void clean_leftovers(const char *parent, const char *base, const char *final_dir, llmc_diags *d) {
    DIR *dp = opendir(parent);
    if (!dp) return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    bool own;
    while ((e = readdir(dp)) != NULL) {
        if (!leftover_kind(e->d_name, base, &own)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) break;
            names = grown;
        }
        if (!(names[n] = llmc_strdup(e->d_name))) break;
        n++;
    }
    closedir(dp);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    struct stat st;
    bool out_missing = lstat(final_dir, &st) != 0 && errno == ENOENT;
    /* An OUT moved aside by a fallback commit that was killed before the new one took its place:
     * put it back first, so that nothing below counts it as garbage. */
    for (size_t i = 0; out_missing && i < n; i++) {
        char path[PATH_MAX];
        const char *kind = leftover_kind(names[i], base, &own);
        if (!own || strcmp(kind, "old") || join(path, sizeof path, parent, names[i])) continue;
        int fd = claim_leftover(path);
        if (fd < 0) continue;
        json_t *m;
        int err;
        marker_kind k = read_marker(path, &m, &err);
        json_decref(m);
        if (k == MARKER_COMPLETE || llmc_dir_state_of(path) == LLMC_DIR_EMPTY) {
            if (rename(path, final_dir) == 0) {
                llmc_warning(d, NULL, "restored '%s' from '%s', where an llmc compile that was killed while "
                             "replacing it had left it", final_dir, path);
                out_missing = false;
                names[i][0] = '\0';
            } else {
                llmc_warning(d, NULL, "'%s' is missing and its previous contents are in '%s', but they cannot be "
                             "put back (%s); move them back yourself", final_dir, path, strerror(errno));
            }
        }
        close(fd);
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (!names[i][0] || join(path, sizeof path, parent, names[i])) continue;
        const char *kind = leftover_kind(names[i], base, &own);
        /* another output's: only its unfinished or finished temp dirs, never a moved-aside copy */
        if (!own && (strcmp(kind, "tmp") || llmc_dir_state_of(path) != LLMC_DIR_NONEMPTY)) continue;
        /* while OUT is missing, an old copy may be the only one: keep it */
        if (own && out_missing && !strcmp(kind, "old")) {
            llmc_warning(d, NULL, "'%s' is missing; left '%s' (a copy of it that an interrupted compile moved aside) "
                         "as it is", final_dir, path);
            continue;
        }
        int fd = claim_leftover(path);
        if (fd < 0) continue; /* a live process holds it, or it is not ours */
        if (!leftover_is_llmc(path)) {
            if (own)
                llmc_warning(d, NULL, "left '%s' as it is: it is named like an llmc temporary directory, but has no "
                             "llmc marker or holds files llmc did not write (an older llmc leaves no marker); "
                             "remove it yourself if it is not yours", path);
        } else if (llmc_remove_tree(path) == 0) {
            llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL,
                          "removed '%s', left behind by an llmc compile that was killed", path);
        } else {
            llmc_warning(d, NULL, "cannot fully remove '%s', left behind by an llmc compile that was killed: %s",
                         path, strerror(errno));
        }
        close(fd);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ---- durability -------------------------------------------------------------------------------------------- */

/* fsync every regular file and directory below path, so that the renames that publish it cannot
 * reach the disk before its contents. 0 ok, 1 interrupted, -1 error (in d). */
static int sync_tree(const char *path, llmc_diags *d) {
    DIR *dp = opendir(path);
    if (!dp) {
        llmc_error(d, NULL, "cannot open '%s' to flush it to disk: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dp)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (llmc_interrupted()) {
            rc = 1;
            break;
        }
        char child[PATH_MAX];
        struct stat st;
        if (join(child, sizeof child, path, e->d_name) || fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
            llmc_error(d, NULL, "cannot inspect '%s/%s': %s", path, e->d_name, strerror(errno ? errno : ENAMETOOLONG));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = sync_tree(child, d);
        } else if (S_ISREG(st.st_mode)) {
            int fd = openat(dirfd(dp), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
                llmc_error(d, NULL, "cannot flush '%s' to disk: %s", child, strerror(errno));
                rc = -1;
            }
            if (fd >= 0) close(fd);
        }
    }
    if (rc == 0 && fsync(dirfd(dp)) != 0 && errno != EINVAL) {
        llmc_error(d, NULL, "cannot flush directory '%s' to disk: %s", path, strerror(errno));
        rc = -1;
    }
    closedir(dp);
    return rc;
}

static void sync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd); /* best effort: the renames are done and cannot be undone by a failure here */
    close(fd);
}

/* ---- the atomic output directory --------------------------------------------------------------------------- */

struct llmc_outdir {
    char final_dir[PATH_MAX];
    char parent[PATH_MAX];
    char base[PATH_MAX];
    char tmp[PATH_MAX];
    char lock_path[PATH_MAX];
    int tmp_fd;      /* flock'ed while the temp dir is ours: the next compile's clean-up skips it */
    int lock_fd;
    bool force, sealed;
};

static void outdir_release(llmc_outdir *o) {
    if (o->tmp_fd >= 0) close(o->tmp_fd);
    lock_release(o->lock_fd, o->lock_path);
    free(o);
}

llmc_outdir *llmc_outdir_begin(const char *final_dir, bool force, llmc_diags *d) {
    if (!final_dir || !*final_dir) {
        llmc_error(d, NULL, "no output directory given (use -o OUT)");
        return NULL;
    }
    if (strlen(final_dir) > PATH_MAX - 64) {
        llmc_error(d, NULL, "output directory path is too long");
        return NULL;
    }
    llmc_outdir *o = calloc(1, sizeof *o);
    if (!o) {
        llmc_error(d, NULL, "out of memory");
        return NULL;
    }
    o->tmp_fd = o->lock_fd = -1;
    o->force = force;
    /* "out/" would make lstat follow a symlink named out: the checks see the name itself */
    snprintf(o->final_dir, sizeof o->final_dir, "%s", final_dir);
    for (size_t n = strlen(o->final_dir); n > 1 && o->final_dir[n - 1] == '/'; n--) o->final_dir[n - 1] = '\0';
    final_dir = o->final_dir;
    split_parent(final_dir, o->parent, sizeof o->parent, o->base, sizeof o->base);
    /* refuse early, before creating anything (checked again under the lock): this also names
     * what '.', '..' or '/' are */
    if (check_target(final_dir, force, false, d) != 0) goto fail;
    if (!*o->base || !strcmp(o->base, ".") || !strcmp(o->base, "..")) {
        llmc_error(d, NULL, "output directory '%s' must name a directory (not '.' or '..')", final_dir);
        goto fail;
    }
    if (strlen(o->base) > NAME_MAX - 16) {
        llmc_error(d, NULL, "output directory name '%s' is too long", o->base);
        goto fail;
    }
    if (llmc_mkdirs(o->parent, d) != 0) goto fail;
    int w = snprintf(o->lock_path, sizeof o->lock_path, "%s/.%s.lock", o->parent, o->base);
    if (w < 0 || (size_t)w >= sizeof o->lock_path) {
        llmc_error(d, NULL, "output directory path is too long");
        goto fail;
    }
    if ((o->lock_fd = lock_acquire(o->lock_path, final_dir, d)) < 0) goto fail;
    clean_leftovers(o->parent, o->base, final_dir, d);
    if (check_target(final_dir, force, false, d) != 0) goto fail;

    w = snprintf(o->tmp, sizeof o->tmp, "%s/.%s.tmp-XXXXXX", o->parent, o->base);
    if (w < 0 || (size_t)w >= sizeof o->tmp || !mkdtemp(o->tmp)) {
        llmc_error(d, NULL, "cannot create a temporary directory in '%s': %s", o->parent, strerror(errno));
        goto fail;
    }
    if ((o->tmp_fd = open(o->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || flock(o->tmp_fd, LOCK_EX) != 0) {
        llmc_error(d, NULL, "cannot open the temporary directory '%s': %s", o->tmp, strerror(errno));
        goto fail_tmp;
    }
    /* mkdtemp makes it 0700; the finished directory gets the usual permissions */
    mode_t um = umask(0);
    umask(um);
    if (chmod(o->tmp, 0777 & ~um) != 0) {
        llmc_error(d, NULL, "cannot set the permissions of '%s': %s", o->tmp, strerror(errno));
        goto fail_tmp;
    }
    if (write_marker(o->tmp, false, d) != 0) goto fail_tmp;
    return o;
fail_tmp:
    llmc_remove_tree(o->tmp);
fail:
    outdir_release(o);
    return NULL;
}

const char *llmc_outdir_tmp(const llmc_outdir *o) { return o ? o->tmp : NULL; }

int llmc_outdir_seal(llmc_outdir *o, llmc_diags *d) {
    if (!o) return -1;
    if (write_marker(o->tmp, true, d) != 0) return -1;
    int rc = sync_tree(o->tmp, d);
    if (rc == 0) o->sealed = true;
    return rc;
}

/* The previous OUT, now at old, is no longer needed. A failure here leaves the new OUT in place. */
static void remove_previous(const llmc_outdir *o, const char *old, llmc_diags *d) {
    if (llmc_remove_tree(old) != 0)
        llmc_warning(d, NULL, "the new output is in '%s', but the previous one could not be fully removed from "
                     "'%s' (%s); the next compile into '%s' removes it", o->final_dir, old, strerror(errno),
                     o->final_dir);
}

/* OUT holds an output llmc wrote and force is on: swap the temp dir in. 0 done, 1 failed (in d;
 * *keep_tmp when the temp dir now holds something that must not be deleted). */
static int swap_in(llmc_outdir *o, bool *keep_tmp, llmc_diags *d) {
    const char *out = o->final_dir;
    char why[PATH_MAX + 256];
    if (rename_flags(o->tmp, out, RENAME_EXCHANGE) == 0) {
        /* the previous OUT is at o->tmp now; delete it only if it still is llmc's alone */
        if (verify_llmc_output(o->tmp, why, sizeof why) != 0) {
            if (rename_flags(o->tmp, out, RENAME_EXCHANGE) == 0) {
                llmc_error(d, NULL, "'%s' changed while compiling (it %s); it was left as it is and the new output "
                           "was discarded", out, why);
                return 1;
            }
            llmc_error(d, NULL, "'%s' changed while compiling (it %s), and swapping it back failed (%s): the new "
                       "output is in '%s', the previous contents are in '%s'; nothing was deleted", out, why,
                       strerror(errno), out, o->tmp);
            *keep_tmp = true;
            return 1;
        }
        remove_previous(o, o->tmp, d);
        return 0;
    }
    if (!rename_flags_unsupported(errno)) {
        llmc_error(d, NULL, "cannot replace '%s' with the new output: %s; '%s' still holds the previous output and "
                   "the new output was discarded", out, strerror(errno), out);
        return 1;
    }
    /* No RENAME_EXCHANGE on this filesystem: move the old OUT aside, then the new one in. For the
     * two system calls in between OUT is missing; a signal cannot stop us there (the handler only
     * sets a flag), and if the process is killed the next compile puts the old one back. */
    char old[PATH_MAX];
    int w = snprintf(old, sizeof old, "%s/.%s.old-XXXXXX", o->parent, o->base);
    if (w < 0 || (size_t)w >= sizeof old || !mkdtemp(old)) {
        llmc_error(d, NULL, "cannot replace '%s': cannot create a directory in '%s' to move it aside: %s; '%s' "
                   "still holds the previous output and the new output was discarded", out, o->parent,
                   strerror(errno), out);
        return 1;
    }
    if (rename(out, old) != 0) { /* over the empty placeholder mkdtemp made */
        int e = errno;
        rmdir(old);
        llmc_error(d, NULL, "cannot move the previous output aside from '%s' to '%s': %s; '%s' still holds it and "
                   "the new output was discarded", out, old, strerror(e), out);
        return 1;
    }
    if (verify_llmc_output(old, why, sizeof why) != 0) {
        if (rename(old, out) == 0) {
            llmc_error(d, NULL, "'%s' changed while compiling (it %s); it was left as it is and the new output "
                       "was discarded", out, why);
            return 1;
        }
        llmc_error(d, NULL, "'%s' changed while compiling (it %s), and moving it back failed (%s): its contents are "
                   "in '%s', the new output is in '%s'; nothing was deleted", out, why, strerror(errno), old, o->tmp);
        *keep_tmp = true;
        return 1;
    }
    if (rename(o->tmp, out) != 0) {
        int e = errno;
        if (rename(old, out) == 0) {
            llmc_error(d, NULL, "cannot move the new output into '%s': %s; '%s' holds the previous output again and "
                       "the new output was discarded", out, strerror(e), out);
            return 1;
        }
        llmc_error(d, NULL, "cannot move the new output into '%s' (%s) nor put the previous output back (%s): the "
                   "previous output is in '%s' and the new one in '%s'; nothing was deleted, and the next compile "
                   "into '%s' puts the previous output back", out, strerror(e), strerror(errno), old, o->tmp,
                   o->parent);
        *keep_tmp = true;
        return 1;
    }
    remove_previous(o, old, d);
    return 0;
}

/* swap_in with the old OUT flock'ed until it is gone, so that no compile into another directory of
 * the same folder takes it, moved aside or swapped out, for a dead compile's leftover */
static int replace_existing(llmc_outdir *o, bool *keep_tmp, llmc_diags *d) {
    int fd = open(o->final_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        llmc_error(d, NULL, "cannot replace '%s': %s; it was left as it is and the new output was discarded",
                   o->final_dir, errno == EWOULDBLOCK ? "another process holds a lock on it" : strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
    }
    int rc = swap_in(o, keep_tmp, d);
    close(fd);
    return rc;
}

int llmc_outdir_commit(llmc_outdir *o, llmc_diags *d) {
    if (!o) return 1;
    bool keep_tmp = false;
    int rc = 1;
    if (!o->sealed && llmc_outdir_seal(o, d) != 0) goto fail;
    const char *out = o->final_dir;
    /* OUT can change between the checks and the renames only by someone else's hand (the lock
     * keeps other compiles out): every rename below refuses to clobber what it did not check. */
    for (int attempt = 0; attempt < 4; attempt++) {
        llmc_dir_state state = llmc_dir_state_of(out);
        if (state == LLMC_DIR_MISSING) {
            if (rename_flags(o->tmp, out, RENAME_NOREPLACE) == 0) goto done;
            /* without renameat2 flags, rename() can only replace an empty directory, never a full one */
            if (rename_flags_unsupported(errno) && rename(o->tmp, out) == 0) goto done;
            if (errno == EEXIST || errno == ENOTEMPTY) continue; /* appeared meanwhile: look again */
            llmc_error(d, NULL, "cannot move the new output into '%s': %s; nothing was written there and the new "
                       "output was discarded", out, strerror(errno));
            goto fail;
        }
        if (check_target(out, o->force, true, d) != 0) {
            llmc_diag_add(d, LLMC_SEV_NOTE, (llmc_loc){0}, NULL,
                          "'%s' changed while compiling; it was left as it is and the new output was discarded", out);
            goto fail;
        }
        if (state == LLMC_DIR_EMPTY) {
            if (rename(o->tmp, out) == 0) goto done;
            if (errno == EEXIST || errno == ENOTEMPTY) continue; /* filled meanwhile */
            llmc_error(d, NULL, "cannot move the new output into '%s': %s; it was left as it is and the new output "
                       "was discarded", out, strerror(errno));
            goto fail;
        }
        if (replace_existing(o, &keep_tmp, d) == 0) goto done;
        goto fail;
    }
    llmc_error(d, NULL, "'%s' keeps changing while llmc tries to replace it; it was left as it is and the new output "
               "was discarded", out);
    goto fail;
done:
    sync_dir(o->parent);
    outdir_release(o);
    return 0;
fail:
    if (keep_tmp) outdir_release(o);
    else llmc_outdir_abort(o);
    return rc;
}

void llmc_outdir_abort(llmc_outdir *o) {
    if (!o) return;
    llmc_remove_tree(o->tmp);
    outdir_release(o);
}
