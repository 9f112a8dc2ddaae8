/* pytorch emitter — growable text buffer and the line-based template renderer (pt_text.h). */
#include "llmc/output.h"
#include "pt_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------------------------- */

void pt_put_pyfloat(llmc_strbuf *b, double v) {
    char tmp[64];
    if (!isfinite(v)) { /* never produced by a validated spec; keep the output valid Python */
        llmc_strbuf_puts(b, isnan(v) ? "float(\"nan\")" : v > 0 ? "float(\"inf\")" : "-float(\"inf\")");
        return;
    }
    /* the shortest decimal that reads back to v, laid out as Python's repr() does: positional
     * for exponents -4 .. 15, scientific otherwise */
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(tmp, 'e') + 1);
    if (v != 0.0 && (exp10 < -4 || exp10 >= 16)) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        llmc_strbuf_puts(b, tmp);
        return;
    }
    int decimals = prec - 1 - exp10;
    snprintf(tmp, sizeof tmp, "%.*f", decimals > 0 ? decimals : 0, v);
    llmc_strbuf_puts(b, tmp);
    if (!strchr(tmp, '.')) llmc_strbuf_puts(b, ".0"); /* "10000" -> "10000.0": keep it a float */
}

void pt_put_pystr(llmc_strbuf *b, const char *s) {
    llmc_strbuf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') llmc_strbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) llmc_strbuf_printf(b, "\\x%02x", *p);
        else llmc_strbuf_append(b, (const char *)p, 1);
    }
    llmc_strbuf_puts(b, "\"");
}

/* ---- variables ------------------------------------------------------------------------------ */

void pt_vars_free(pt_vars *v) {
    for (int i = 0; i < v->n_vars; i++) free(v->var_values[i]);
    v->n_vars = 0;
}

void pt_flag(pt_vars *v, const char *name, bool value) {
    for (int i = 0; i < v->n_flags; i++)
        if (!strcmp(v->flag_names[i], name)) { v->flag_values[i] = value; return; }
    if (v->n_flags == PT_MAX_FLAGS) { v->oom = true; return; }
    v->flag_names[v->n_flags] = name;
    v->flag_values[v->n_flags++] = value;
}

static void set_var(pt_vars *v, const char *name, char *owned) {
    if (!owned) { v->oom = true; return; }
    for (int i = 0; i < v->n_vars; i++)
        if (!strcmp(v->var_names[i], name)) { free(v->var_values[i]); v->var_values[i] = owned; return; }
    if (v->n_vars == PT_MAX_VARS) { free(owned); v->oom = true; return; }
    v->var_names[v->n_vars] = name;
    v->var_values[v->n_vars++] = owned;
}

void pt_var(pt_vars *v, const char *name, const char *value) {
    size_t n = strlen(value);
    char *s = malloc(n + 1);
    if (s) memcpy(s, value, n + 1);
    set_var(v, name, s);
}

void pt_var_take(pt_vars *v, const char *name, llmc_strbuf *value) {
    if (value->oom) { llmc_strbuf_free(value); v->oom = true; return; }
    if (!value->s) { pt_var(v, name, ""); return; }
    set_var(v, name, value->s);
    value->s = NULL;
    value->n = value->cap = 0;
}

/* ---- rendering ------------------------------------------------------------------------------- */

#define MAX_DEPTH 16
#define MAX_INCLUDE_DEPTH 4

typedef struct render_ctx {
    const pt_vars *v;
    llmc_strbuf *out;
    llmc_diags *d;
    int include_depth;
} render_ctx;

static void tmpl_error(render_ctx *c, const char *file, int line, const char *fmt, const char *arg) {
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    llmc_error(c->d, "pytorch", "template %s:%d: %s (this is a bug in the pytorch emitter)", file, line, msg);
}

/* Evaluate "a and not b or c" over the declared flags. -1 on an unknown word. */
static int eval_cond(render_ctx *c, const char *file, int line, const char *s, size_t n) {
    bool any = false, conj = true, neg = false, have_term = false;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t') j++;
        if (j == i) break;
        char word[64];
        size_t wl = j - i < sizeof word - 1 ? j - i : sizeof word - 1;
        memcpy(word, s + i, wl);
        word[wl] = '\0';
        i = j;
        if (!strcmp(word, "not")) { neg = !neg; continue; }
        if (!strcmp(word, "and")) {
            if (!have_term) { tmpl_error(c, file, line, "'and' without a flag before it in '%s'", word); return -1; }
            have_term = false;
            continue;
        }
        if (!strcmp(word, "or")) {
            if (!have_term) { tmpl_error(c, file, line, "'or' without a flag before it in '%s'", word); return -1; }
            any = any || conj;
            conj = true;
            have_term = false;
            continue;
        }
        int k = -1;
        for (int f = 0; f < c->v->n_flags; f++)
            if (!strcmp(c->v->flag_names[f], word)) { k = f; break; }
        if (k < 0) { tmpl_error(c, file, line, "unknown flag '%s'", word); return -1; }
        conj = conj && (c->v->flag_values[k] != neg);
        neg = false;
        have_term = true;
    }
    if (!have_term) { tmpl_error(c, file, line, "incomplete condition%s", ""); return -1; }
    return any || conj;
}

/* Copy one output line, replacing @@VAR@@. */
static int put_line(render_ctx *c, const char *file, int line, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const char *at = NULL;
        for (size_t k = i; k + 1 < n; k++)
            if (s[k] == '@' && s[k + 1] == '@') { at = s + k; break; }
        if (!at) { llmc_strbuf_append(c->out, s + i, n - i); break; }
        llmc_strbuf_append(c->out, s + i, (size_t)(at - (s + i)));
        const char *name = at + 2;
        const char *end = NULL;
        for (const char *p = name; p + 1 < s + n; p++)
            if (p[0] == '@' && p[1] == '@') { end = p; break; }
        if (!end) { tmpl_error(c, file, line, "unterminated @@%s", ""); return -1; }
        size_t len = (size_t)(end - name);
        int k = -1;
        for (int f = 0; f < c->v->n_vars; f++)
            if (strlen(c->v->var_names[f]) == len && !memcmp(c->v->var_names[f], name, len)) { k = f; break; }
        if (k < 0) {
            char word[64];
            size_t wl = len < sizeof word - 1 ? len : sizeof word - 1;
            memcpy(word, name, wl);
            word[wl] = '\0';
            tmpl_error(c, file, line, "no value for @@%s@@", word);
            return -1;
        }
        llmc_strbuf_puts(c->out, c->v->var_values[k]);
        i = (size_t)(end + 2 - s);
    }
    return 0;
}

/* the table llmc_embed_files generates from the py folder (names without ".in") */
extern const llmc_embedded_file pt_templates[];
extern const size_t pt_templates_count;

const char *pt_template_text(const char *name, size_t *len) {
    size_t n = strlen(name);
    if (n > 3 && !strcmp(name + n - 3, ".in")) n -= 3; /* templates are named by their file, py/x.in */
    for (size_t i = 0; i < pt_templates_count; i++)
        if (strlen(pt_templates[i].name) == n && !strncmp(pt_templates[i].name, name, n)) {
            *len = pt_templates[i].len;
            return pt_templates[i].text;
        }
    return NULL;
}

static int render(render_ctx *c, const char *name) {
    size_t len;
    const char *text = pt_template_text(name, &len);
    if (!text) { tmpl_error(c, name, 0, "no embedded template named '%s'", name); return -1; }
    if (++c->include_depth > MAX_INCLUDE_DEPTH) { tmpl_error(c, name, 0, "includes nested too deeply%s", ""); return -1; }

    /* per nesting level: is the enclosing level active, has a branch been taken, is this one active */
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
        if (n - ind >= 2 && s[ind] == '#' && s[ind + 1] == '@') {
            const char *kw = s + ind + 2;
            size_t kn = 0;
            while (ind + 2 + kn < n && kw[kn] != ' ') kn++;
            const char *arg = kw + kn;
            size_t an = n - ind - 2 - kn;
#define IS(word) (kn == strlen(word) && !memcmp(kw, word, kn))
            if (IS("if")) {
                if (depth == MAX_DEPTH) { tmpl_error(c, name, line, "#@if nested too deeply%s", ""); return -1; }
                int r = active ? eval_cond(c, name, line, arg, an) : 0;
                if (r < 0) return -1;
                parent[depth] = active;
                taken[depth] = r;
                depth++;
                active = r;
            } else if (IS("elif")) {
                if (!depth) { tmpl_error(c, name, line, "#@elif without #@if%s", ""); return -1; }
                int r = parent[depth - 1] && !taken[depth - 1] ? eval_cond(c, name, line, arg, an) : 0;
                if (r < 0) return -1;
                taken[depth - 1] = taken[depth - 1] || r;
                active = r;
            } else if (IS("else")) {
                if (!depth) { tmpl_error(c, name, line, "#@else without #@if%s", ""); return -1; }
                active = parent[depth - 1] && !taken[depth - 1];
                taken[depth - 1] = true;
            } else if (IS("endif")) {
                if (!depth) { tmpl_error(c, name, line, "#@endif without #@if%s", ""); return -1; }
                depth--;
                active = parent[depth];
            } else if (IS("include")) {
                if (active) {
                    char inc[128];
                    while (an && *arg == ' ') { arg++; an--; }
                    while (an && (arg[an - 1] == ' ' || arg[an - 1] == '\r')) an--;
                    if (an == 0 || an >= sizeof inc) { tmpl_error(c, name, line, "bad #@include%s", ""); return -1; }
                    memcpy(inc, arg, an);
                    inc[an] = '\0';
                    if (render(c, inc)) return -1;
                }
            } else {
                tmpl_error(c, name, line, "unknown directive%s", "");
                return -1;
            }
#undef IS
        } else if (active) {
            if (put_line(c, name, line, s, n)) return -1;
            if (eol < len) llmc_strbuf_puts(c->out, "\n");
        }
        pos = next;
    }
    if (depth) { tmpl_error(c, name, line, "#@if without #@endif at the end of the file%s", ""); return -1; }
    c->include_depth--;
    return 0;
}

int pt_render(const char *name, const pt_vars *v, llmc_strbuf *out, llmc_diags *d) {
    if (v->oom) { llmc_error(d, "pytorch", "out of memory while preparing the templates"); return -1; }
    render_ctx c = {v, out, d, 0};
    if (render(&c, name)) return -1;
    if (out->oom) { llmc_error(d, "pytorch", "out of memory while rendering %s", name); return -1; }
    return 0;
}
