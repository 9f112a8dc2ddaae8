/* Internal helpers: strings, checked file reading, edit distance, clocks. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *llmc_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

char *llmc_strndup(const char *s, size_t n) {
    if (!s) return NULL;
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *llmc_vasprintf(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *llmc_asprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = llmc_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* Why path is not a regular file, for messages (NULL if it is one or cannot be examined). */
static const char *special_kind(mode_t mode) {
    if (S_ISREG(mode)) return NULL;
    if (S_ISDIR(mode)) return "is a directory";
    if (S_ISFIFO(mode)) return "is a FIFO (named pipe), not a regular file";
    if (S_ISSOCK(mode)) return "is a socket, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device, not a regular file";
    return "is not a regular file";
}

const char *llmc_read_file_error(const char *path, int err) {
    if (err == EISDIR) return "is a directory";
    if (err == ENOTSUP && path) {
        struct stat st;
        const char *kind = stat(path, &st) == 0 ? special_kind(st.st_mode) : NULL;
        return kind ? kind : "is not a regular file";
    }
    return strerror(err);
}

int llmc_check_regular_file(const char *path) {
    struct stat st;
    if (!path) { errno = EINVAL; return -1; }
    if (stat(path, &st) != 0) return -1;
    if (special_kind(st.st_mode)) { errno = S_ISDIR(st.st_mode) ? EISDIR : ENOTSUP; return -1; }
    return access(path, R_OK);
}

static char *fail_closing(int fd, char *buf, int err) {
    free(buf);
    if (fd >= 0) close(fd);
    errno = err;
    return NULL;
}

char *llmc_read_file(const char *path, size_t max_bytes, size_t *len) {
    if (!path) { errno = EINVAL; return NULL; }
    /* Look before opening: opening a device can have effects, and a FIFO without a writer would
     * block an ordinary open forever. */
    struct stat st;
    if (stat(path, &st) != 0) return NULL;
    if (special_kind(st.st_mode)) { errno = S_ISDIR(st.st_mode) ? EISDIR : ENOTSUP; return NULL; }
    /* O_NONBLOCK: if the path was swapped for a FIFO since, open and read return at once */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return NULL;
    if (fstat(fd, &st) != 0) return fail_closing(fd, NULL, errno);
    if (special_kind(st.st_mode)) return fail_closing(fd, NULL, S_ISDIR(st.st_mode) ? EISDIR : ENOTSUP);
    if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes) return fail_closing(fd, NULL, EFBIG);
    /* the size from fstat, plus room to notice a file that grows while it is read */
    size_t cap = (size_t)st.st_size + 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return fail_closing(fd, NULL, ENOMEM);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_bytes + 1) return fail_closing(fd, buf, EFBIG);
            char *nb = realloc(buf, cap * 2);
            if (!nb) return fail_closing(fd, buf, ENOMEM);
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0) {
            if (errno == EINTR) continue;
            return fail_closing(fd, buf, errno);
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n > max_bytes) return fail_closing(fd, buf, EFBIG);
    }
    close(fd);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

size_t llmc_edit_distance(const char *a, const char *b, size_t cap) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return cap + 1;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        size_t row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            size_t m = sub < del ? sub : del;
            cur[j] = m < ins ? m : ins;
            if (cur[j] < row_min) row_min = cur[j];
        }
        if (row_min > cap) return cap + 1;
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb] > cap ? cap + 1 : prev[lb];
}

const char *llmc_closest(const char *word, const char *const *candidates, size_t n) {
    size_t limit = strlen(word) / 3;
    if (limit < 2) limit = 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = llmc_edit_distance(word, candidates[i], limit);
        if (d < best_d) { best_d = d; best = candidates[i]; }
    }
    return best;
}

const char *llmc_fmt_count(uint64_t v, char *buf, size_t n) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    char out[48];
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, n, "%s", out);
    return buf;
}

double llmc_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int llmc_write_temp_beside(const char *path, const void *data, size_t len, char *tmp, size_t tmp_len,
                           llmc_diags *d) {
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(tmp, tmp_len, "%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1)
                  : snprintf(tmp, tmp_len, ".%s.tmp-XXXXXX", path);
    if (n < 0 || (size_t)n >= tmp_len) {
        llmc_error(d, NULL, "%s: path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        llmc_error(d, NULL, "%s: cannot create a file beside it: %s", path, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            llmc_error(d, NULL, "%s: write failed: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        llmc_error(d, NULL, "%s: cannot finish writing: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int llmc_write_file_atomic(const char *path, const void *data, size_t len, llmc_diags *d) {
    char tmp[4096];
    if (llmc_write_temp_beside(path, data, len, tmp, sizeof tmp, d) != 0) return -1;
    if (rename(tmp, path) != 0) {
        llmc_error(d, NULL, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
