/* cpu_render.c — the runtime sources are templates: a line `//@if EXPR` ... `//@elif EXPR` ...
 * `//@else` ... `//@endif` keeps the lines of the first branch whose EXPR holds for this model and
 * drops the others and the directive lines, so the written program holds only the code paths the
 * model uses (a decoder-only model has no cross-attention code, a pre-norm model no post-norm
 * branch). EXPR is `name`, `!name`, joined by `&&` and then `||` (no parentheses); the names are the
 * features the plan derived from the IR (cpu_feature_flags). A directive naming an unknown feature or
 * an unbalanced block is an error in the template, reported with its file and line. Plain C `#if`s
 * stay for what the compiling machine decides (the kernels' instruction set). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cpu_emit.h"

#define MAX_DEPTH 16

static int flag_value(const cpu_flag *flags, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len)) return flags[i].on ? 1 : 0;
    return -1;
}

/* EXPR in [s, end): 1 true, 0 false, -1 unknown name or empty factor */
static int eval(const char *s, const char *end, const cpu_flag *flags, size_t n) {
    int any = 0;
    while (s < end) {
        int all = 1;
        for (;;) {   /* one && term */
            while (s < end && isspace((unsigned char)*s)) s++;
            bool neg = s < end && *s == '!';
            if (neg) s++;
            const char *w = s;
            while (s < end && (isalnum((unsigned char)*s) || *s == '_')) s++;
            int v = flag_value(flags, n, w, (size_t)(s - w));
            if (v < 0) return -1;
            all &= neg ? !v : v;
            while (s < end && isspace((unsigned char)*s)) s++;
            if (end - s >= 2 && s[0] == '&' && s[1] == '&') { s += 2; continue; }
            break;
        }
        any |= all;
        if (end - s >= 2 && s[0] == '|' && s[1] == '|') { s += 2; continue; }
        if (s < end) return -1;
    }
    return any;
}

int cpu_render(const char *file, const char *text, size_t len, const cpu_flag *flags, size_t n_flags, llmc_strbuf *out,
               llmc_diags *d) {
    /* per open block: is the enclosing text emitted, has a branch been taken, is this branch emitted */
    struct { bool outer, taken, on; } st[MAX_DEPTH];
    int depth = 0;
    bool on = true;
    size_t line_no = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl + 1 : end;
        line_no++;
        const char *s = p;
        while (s < eol && (*s == ' ' || *s == '\t')) s++;
        if (eol - s >= 3 && !strncmp(s, "//@", 3)) {
            s += 3;
            const char *le = nl ? nl : end;
            const char *w = s;
            while (s < le && isalpha((unsigned char)*s)) s++;
            size_t wl = (size_t)(s - w);
            int v = 1;
            if ((wl == 2 && !strncmp(w, "if", 2)) || (wl == 4 && !strncmp(w, "elif", 4))) {
                v = eval(s, le, flags, n_flags);
                if (v < 0) {
                    llmc_error(d, "cpu", "internal: %s:%zu: unknown feature in '%.*s'", file, line_no, (int)(le - p), p);
                    return -1;
                }
            }
            if (wl == 2 && !strncmp(w, "if", 2)) {
                if (depth == MAX_DEPTH) {
                    llmc_error(d, "cpu", "internal: %s:%zu: //@if nested deeper than %d", file, line_no, MAX_DEPTH);
                    return -1;
                }
                st[depth].outer = on;
                st[depth].taken = v;
                st[depth].on = on && v;
                on = st[depth++].on;
            } else if (depth > 0 && wl == 4 && !strncmp(w, "elif", 4)) {
                st[depth - 1].on = st[depth - 1].outer && !st[depth - 1].taken && v;
                st[depth - 1].taken |= v;
                on = st[depth - 1].on;
            } else if (depth > 0 && wl == 4 && !strncmp(w, "else", 4)) {
                st[depth - 1].on = st[depth - 1].outer && !st[depth - 1].taken;
                st[depth - 1].taken = true;
                on = st[depth - 1].on;
            } else if (depth > 0 && wl == 5 && !strncmp(w, "endif", 5)) {
                on = st[--depth].outer;
            } else {
                llmc_error(d, "cpu", "internal: %s:%zu: bad directive '%.*s'", file, line_no, (int)(le - p), p);
                return -1;
            }
        } else if (on) {
            llmc_strbuf_append(out, p, (size_t)(eol - p));
        }
        p = eol;
    }
    if (depth) {
        llmc_error(d, "cpu", "internal: %s: %d //@if without //@endif", file, depth);
        return -1;
    }
    return 0;
}
