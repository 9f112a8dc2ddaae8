/* Comparing OUT's files with what llmc would write (verify.h, llmc/output.h). */
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/output.h"
#include "llmc/plugin.h"

/* ---- JSON ------------------------------------------------------------------------------------------ */

/* compact JSON of v, cut to fit buf; a real in the fewest digits that read back exactly */
static const char *show(const json_t *v, char *buf, size_t n) {
    if (!v) return "nothing";
    if (json_is_real(v)) {
        double x = json_real_value(v);
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, n, "%.*g", p, x);
            if (strtod(buf, NULL) == x) break;
        }
        return buf;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!s) return "?";
    size_t len = strlen(s);
    if (len < n) memcpy(buf, s, len + 1);
    else snprintf(buf, n, "%.*s...", (int)(n - 4), s);
    free(s);
    return buf;
}

static void diff_error(const char *file, const char *path, llmc_diags *d, size_t *budget, const char *fmt, ...)
    LLMC_PRINTF(5, 6);
static void diff_error(const char *file, const char *path, llmc_diags *d, size_t *budget, const char *fmt, ...) {
    if (*budget == 0) return;
    (*budget)--;
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(d, LLMC_SEV_ERROR, (llmc_loc){file, 0, 0}, path && *path ? path : NULL, fmt, ap);
    va_end(ap);
}

static void child_path(char *out, size_t n, const char *path, const char *key, long index) {
    if (key) snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
    else snprintf(out, n, "%s[%ld]", path, index);
}

size_t llmc_json_diff(const json_t *want, const json_t *got, const char *file, const char *path, llmc_diags *d,
                      size_t *budget) {
    char a[96], b[96], sub[512];
    if (json_is_object(want) && json_is_object(got)) {
        size_t n = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            child_path(sub, sizeof sub, path, k, 0);
            json_t *g = json_object_get(got, k);
            if (!g) {
                diff_error(file, sub, d, budget, "missing (expected %s)", show(v, a, sizeof a));
                n++;
            } else {
                n += llmc_json_diff(v, g, file, sub, d, budget);
            }
        }
        json_object_foreach((json_t *)got, k, v) {
            if (json_object_get(want, k)) continue;
            child_path(sub, sizeof sub, path, k, 0);
            diff_error(file, sub, d, budget, "unexpected key (got %s)", show(v, a, sizeof a));
            n++;
        }
        return n;
    }
    if (json_is_array(want) && json_is_array(got)) {
        size_t nw = json_array_size(want), ng = json_array_size(got), n = 0;
        if (nw != ng) {
            diff_error(file, path, d, budget, "expected %zu entries, got %zu", nw, ng);
            n++;
        }
        for (size_t i = 0; i < nw && i < ng; i++) {
            child_path(sub, sizeof sub, path, NULL, (long)i);
            n += llmc_json_diff(json_array_get(want, i), json_array_get(got, i), file, sub, d, budget);
        }
        return n;
    }
    /* integers and reals that are the same number are equal (1 and 1.0) */
    if (json_is_number(want) && json_is_number(got) && json_number_value(want) == json_number_value(got) &&
        json_is_integer(want) == json_is_integer(got))
        return 0;
    if (json_equal((json_t *)want, (json_t *)got)) return 0;
    diff_error(file, path, d, budget, "expected %s, got %s", show(want, a, sizeof a), show(got, b, sizeof b));
    return 1;
}

/* ---- bytes ------------------------------------------------------------------------------------------ */

static bool is_text(const char *s, size_t n) { return memchr(s, '\0', n) == NULL; }

/* line number (1-based) and the line around byte `at` */
static void line_at(const char *s, size_t n, size_t at, int *line, char *buf, size_t bn) {
    *line = 1;
    size_t start = 0;
    for (size_t i = 0; i < at && i < n; i++)
        if (s[i] == '\n') {
            (*line)++;
            start = i + 1;
        }
    size_t end = start;
    while (end < n && s[end] != '\n') end++;
    size_t len = end - start;
    if (len >= bn) snprintf(buf, bn, "%.*s...", (int)(bn - 4), s + start);
    else snprintf(buf, bn, "%.*s", (int)len, s + start);
}

size_t llmc_verify_bytes(const char *file, const char *got, size_t got_len, uint64_t file_size, const char *want,
                         size_t want_len, int prefix, llmc_diags *d) {
    size_t common = got_len < want_len ? got_len : want_len;
    size_t first = 0;
    while (first < common && got[first] == want[first]) first++;
    bool same_bytes = first == want_len && (prefix ? got_len >= want_len : file_size == want_len);
    if (same_bytes) return 0;
    llmc_loc loc = {file, 0, 0};
    if (!prefix) {
        json_t *w = json_loadb(want, want_len, 0, NULL);
        json_t *g = w ? json_loadb(got, got_len, 0, NULL) : NULL;
        if (w && g) {
            size_t budget = LLMC_VERIFY_MAX_REPORTED;
            size_t n = llmc_json_diff(w, g, file, "", d, &budget);
            if (n > LLMC_VERIFY_MAX_REPORTED)
                llmc_diag_add(d, LLMC_SEV_NOTE, loc, NULL, "%zu more differences not listed",
                              n - LLMC_VERIFY_MAX_REPORTED);
            if (n == 0) {
                llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL,
                              "holds the same values, but not the text llmc writes (reformatted or reordered)");
                n = 1;
            }
            json_decref(w);
            json_decref(g);
            return n;
        }
        json_decref(w);
        if (w && !g) {
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "is no longer valid JSON (expected the %zu-byte file llmc writes)",
                          want_len);
            return 1;
        }
        if (is_text(want, want_len) && is_text(got, got_len) && first < common) {
            int line;
            char wl[100], gl[100];
            line_at(want, want_len, first, &line, wl, sizeof wl);
            line_at(got, got_len, first, &line, gl, sizeof gl);
            llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){file, line, 0}, NULL, "differs from what llmc writes (expected '%s', got '%s')",
                          wl, gl);
            return 1;
        }
    }
    if (first < common) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL,
                      "%s differs from what llmc writes from byte %zu on (expected 0x%02x, got 0x%02x)",
                      prefix ? "the header" : "content", first, (unsigned char)want[first], (unsigned char)got[first]);
    } else if (got_len < want_len) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "%s: the file has %llu bytes, llmc writes %zu%s",
                      prefix ? "truncated inside the header" : "truncated", (unsigned long long)file_size, want_len,
                      prefix ? " before the data" : "");
    } else {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "the file has %llu bytes, llmc writes %zu (extra bytes at the end)",
                      (unsigned long long)file_size, want_len);
    }
    return 1;
}

/* ---- the emitter-facing helpers (llmc/output.h) ---------------------------------------------------------- */

static void located(const struct llmc_emit_ctx *ctx, const char *rel, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", ctx && ctx->out_dir ? ctx->out_dir : ".", rel ? rel : "");
}

void llmc_out_mismatch(const struct llmc_emit_ctx *ctx, const char *rel, llmc_diags *d, const char *fmt, ...) {
    char file[PATH_MAX];
    located(ctx, rel, file, sizeof file);
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(d, LLMC_SEV_ERROR, (llmc_loc){file, 0, 0}, NULL, fmt, ap);
    va_end(ap);
}

void *llmc_out_read(const struct llmc_emit_ctx *ctx, const char *rel, uint64_t offset, size_t max, size_t *len,
                    uint64_t *file_size, llmc_diags *d) {
    char file[PATH_MAX];
    located(ctx, rel, file, sizeof file);
    *len = 0;
    *file_size = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EISDIR;
        llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){file, 0, 0}, NULL, "%s",
                      e == ENOENT ? "missing" : fd < 0 ? strerror(e) : "not a regular file");
        if (fd >= 0) close(fd);
        return NULL;
    }
    *file_size = (uint64_t)st.st_size;
    uint64_t avail = offset < *file_size ? *file_size - offset : 0;
    size_t want = avail < max ? (size_t)avail : max;
    char *buf = malloc(want + 1);
    if (!buf) {
        close(fd);
        llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){file, 0, 0}, NULL, "out of memory reading %zu bytes", want);
        return NULL;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){file, 0, 0}, NULL, "read error: %s", strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0) break; /* shrank underneath us: the caller sees the short length */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

int llmc_out_verify(const struct llmc_emit_ctx *ctx, const char *rel, const void *expected, size_t n, bool prefix,
                    llmc_diags *d) {
    char file[PATH_MAX];
    located(ctx, rel, file, sizeof file);
    size_t got_len;
    uint64_t size;
    /* a whole-file comparison reads a little past the expected end, to see a longer file */
    char *got = llmc_out_read(ctx, rel, 0, prefix ? n : n + 4096, &got_len, &size, d);
    if (!got) return 1;
    size_t bad = llmc_verify_bytes(file, got, got_len, size, expected, n, prefix, d);
    free(got);
    return (int)bad;
}
