/* Line templates (llmc/render.h): conditions over declared flags, includes, @@VAR@@ substitution,
 * and an error naming the template's file and line for anything the caller did not declare. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "llmc/render.h"

#define MAX_DEPTH 16
#define MAX_INCLUDE_DEPTH 4

typedef struct render_ctx {
    const llmc_render_params *p;
    size_t prefix_len;
    llmc_strbuf *out;
    llmc_diags *d;
    int include_depth;
} render_ctx;

llmc_render_params llmc_render_default_params(void) {
    llmc_render_params p;
    memset(&p, 0, sizeof p);
    p.directive = "#@";
    p.substitute = true;
    p.who = "llmc";
    return p;
}

static void tmpl_error(render_ctx *c, const char *file, int line, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void tmpl_error(render_ctx *c, const char *file, int line, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    llmc_error(c->d, c->p->who, "template %s:%d: %s (this is a bug in the %s plugin)", file, line, msg, c->p->who);
}

/* Evaluate "a and not b or c" over the declared flags: 0 or 1, -1 after an error. */
static int eval_cond(render_ctx *c, const char *file, int line, const char *s, size_t n) {
    bool any = false, conj = true, neg = false, have_term = false;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') j++;
        if (j == i) break;
        char word[64];
        size_t wl = j - i < sizeof word - 1 ? j - i : sizeof word - 1;
        memcpy(word, s + i, wl);
        word[wl] = '\0';
        i = j;
        if (!strcmp(word, "not")) { neg = !neg; continue; }
        if (!strcmp(word, "and") || !strcmp(word, "or")) {
            if (!have_term) { tmpl_error(c, file, line, "'%s' without a flag before it", word); return -1; }
            if (word[0] == 'o') {
                any = any || conj;
                conj = true;
            }
            have_term = false;
            continue;
        }
        size_t k = 0;
        while (k < c->p->n_flags && strcmp(c->p->flags[k].name, word)) k++;
        if (k == c->p->n_flags) { tmpl_error(c, file, line, "unknown flag '%s'", word); return -1; }
        conj = conj && (c->p->flags[k].on != neg);
        neg = false;
        have_term = true;
    }
    if (!have_term) { tmpl_error(c, file, line, "incomplete condition"); return -1; }
    return any || conj;
}

/* Copy one output line, replacing @@VAR@@ when the caller asked for substitution. */
static int put_line(render_ctx *c, const char *file, int line, const char *s, size_t n) {
    if (!c->p->substitute) {
        llmc_strbuf_append(c->out, s, n);
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        const char *at = NULL;
        for (size_t k = i; k + 1 < n; k++)
            if (s[k] == '@' && s[k + 1] == '@') { at = s + k; break; }
        if (!at) { llmc_strbuf_append(c->out, s + i, n - i); break; }
        llmc_strbuf_append(c->out, s + i, (size_t)(at - (s + i)));
        const char *name = at + 2;
        const char *end = NULL;
        for (const char *q = name; q + 1 < s + n; q++)
            if (q[0] == '@' && q[1] == '@') { end = q; break; }
        if (!end) { tmpl_error(c, file, line, "unterminated @@"); return -1; }
        size_t len = (size_t)(end - name);
        size_t k = 0;
        while (k < c->p->n_vars && !(strlen(c->p->vars[k].name) == len && !memcmp(c->p->vars[k].name, name, len))) k++;
        if (k == c->p->n_vars) {
            char word[64];
            size_t wl = len < sizeof word - 1 ? len : sizeof word - 1;
            memcpy(word, name, wl);
            word[wl] = '\0';
            tmpl_error(c, file, line, "no value for @@%s@@", word);
            return -1;
        }
        llmc_strbuf_puts(c->out, c->p->vars[k].value);
        i = (size_t)(end + 2 - s);
    }
    return 0;
}

static bool is_word(const char *kw, size_t kn, const char *word) { return kn == strlen(word) && !memcmp(kw, word, kn); }

static int render(render_ctx *c, const char *name, const char *text, size_t len) {
    if (++c->include_depth > MAX_INCLUDE_DEPTH) { tmpl_error(c, name, 0, "includes nested too deeply"); return -1; }
    /* per nesting level: is the enclosing level active, has a branch been taken */
    bool parent[MAX_DEPTH], taken[MAX_DEPTH];
    int depth = 0;
    bool active = true;
    int line = 0;
    size_t pos = 0;
    while (pos < len) {
        line++;
        size_t eol = pos;
        while (eol < len && text[eol] != '\n') eol++;
        size_t next = eol < len ? eol + 1 : eol;
        const char *s = text + pos;
        size_t n = eol - pos;
        size_t ind = 0;
        while (ind < n && (s[ind] == ' ' || s[ind] == '\t')) ind++;
        if (n - ind >= c->prefix_len && !memcmp(s + ind, c->p->directive, c->prefix_len)) {
            const char *kw = s + ind + c->prefix_len;
            size_t kn = 0;
            while (ind + c->prefix_len + kn < n && kw[kn] != ' ' && kw[kn] != '\r') kn++;
            const char *arg = kw + kn;
            size_t an = n - ind - c->prefix_len - kn;
            if (is_word(kw, kn, "if")) {
                if (depth == MAX_DEPTH) { tmpl_error(c, name, line, "%sif nested too deeply", c->p->directive); return -1; }
                int r = active ? eval_cond(c, name, line, arg, an) : 0;
                if (r < 0) return -1;
                parent[depth] = active;
                taken[depth] = r;
                depth++;
                active = r;
            } else if (is_word(kw, kn, "elif")) {
                if (!depth) { tmpl_error(c, name, line, "%selif without %sif", c->p->directive, c->p->directive); return -1; }
                int r = parent[depth - 1] && !taken[depth - 1] ? eval_cond(c, name, line, arg, an) : 0;
                if (r < 0) return -1;
                taken[depth - 1] = taken[depth - 1] || r;
                active = r;
            } else if (is_word(kw, kn, "else")) {
                if (!depth) { tmpl_error(c, name, line, "%selse without %sif", c->p->directive, c->p->directive); return -1; }
                active = parent[depth - 1] && !taken[depth - 1];
                taken[depth - 1] = true;
            } else if (is_word(kw, kn, "endif")) {
                if (!depth) { tmpl_error(c, name, line, "%sendif without %sif", c->p->directive, c->p->directive); return -1; }
                depth--;
                active = parent[depth];
            } else if (is_word(kw, kn, "include")) {
                if (active) {
                    char inc[128];
                    while (an && *arg == ' ') { arg++; an--; }
                    while (an && (arg[an - 1] == ' ' || arg[an - 1] == '\r')) an--;
                    if (an == 0 || an >= sizeof inc) { tmpl_error(c, name, line, "%sinclude without a name", c->p->directive); return -1; }
                    memcpy(inc, arg, an);
                    inc[an] = '\0';
                    size_t inc_len = 0;
                    const char *inc_text = c->p->lookup ? c->p->lookup(c->p->lookup_user, inc, &inc_len) : NULL;
                    if (!inc_text) { tmpl_error(c, name, line, "no template named '%s'", inc); return -1; }
                    if (render(c, inc, inc_text, inc_len)) return -1;
                }
            } else {
                tmpl_error(c, name, line, "unknown directive '%.*s'", (int)(n - ind), s + ind);
                return -1;
            }
        } else if (active) {
            if (put_line(c, name, line, s, n)) return -1;
            if (eol < len) llmc_strbuf_puts(c->out, "\n");
        }
        pos = next;
    }
    if (depth) { tmpl_error(c, name, line, "%sif without %sendif at the end of the file", c->p->directive, c->p->directive); return -1; }
    c->include_depth--;
    return 0;
}

int llmc_render(const char *file, const char *text, size_t len, const llmc_render_params *p, llmc_strbuf *out,
                llmc_diags *d) {
    llmc_render_params def = llmc_render_default_params();
    if (!p) p = &def;
    render_ctx c = {p, strlen(p->directive ? p->directive : ""), out, d, 0};
    if (c.prefix_len == 0) {
        llmc_error(d, p->who ? p->who : "llmc", "template %s: no directive prefix given", file);
        return -1;
    }
    if (render(&c, file, text, len)) return -1;
    if (out->oom) {
        llmc_error(d, p->who, "out of memory while rendering %s", file);
        return -1;
    }
    return 0;
}
