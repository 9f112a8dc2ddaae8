/* torchscript emitter — text: Python float literals and rendering of the ts/ templates (ts_text.h). */
#include "ts_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/output.h"
#include "llmc/render.h"

/* The shortest decimal that reads back as exactly v, spelled as Python's repr() spells floats:
 * fixed notation for exponents -4 .. 15 ("10000.0", "0.125"), else "1e-05". */
const char *ts_float(double v, char buf[40]) {
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, 40, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, 40, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(buf, 40, "%.*f", decimals > 1 ? decimals : 1, v);
    } else {
        snprintf(buf, 40, "%.*g", prec, v);
    }
    return buf;
}

/* ---- variables ------------------------------------------------------------------------------ */

void ts_vars_free(ts_vars *v) {
    for (int i = 0; i < v->n_vars; i++) free(v->var_values[i]);
    v->n_vars = 0;
    v->n_flags = 0;
    v->oom = false;
}

void ts_flag(ts_vars *v, const char *name, bool on) {
    for (int i = 0; i < v->n_flags; i++)
        if (!strcmp(v->flag_names[i], name)) {
            v->flag_values[i] = on;
            return;
        }
    if (v->n_flags == TS_MAX_FLAGS) {
        v->oom = true;
        return;
    }
    v->flag_names[v->n_flags] = name;
    v->flag_values[v->n_flags++] = on;
}

static void set_var(ts_vars *v, const char *name, char *owned) {
    if (!owned) {
        v->oom = true;
        return;
    }
    for (int i = 0; i < v->n_vars; i++)
        if (!strcmp(v->var_names[i], name)) {
            free(v->var_values[i]);
            v->var_values[i] = owned;
            return;
        }
    if (v->n_vars == TS_MAX_VARS) {
        free(owned);
        v->oom = true;
        return;
    }
    v->var_names[v->n_vars] = name;
    v->var_values[v->n_vars++] = owned;
}

void ts_var(ts_vars *v, const char *name, const char *value) {
    size_t n = strlen(value);
    char *s = malloc(n + 1);
    if (s) memcpy(s, value, n + 1);
    set_var(v, name, s);
}

void ts_var_int(ts_vars *v, const char *name, int64_t value) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)value);
    ts_var(v, name, buf);
}

void ts_var_float(ts_vars *v, const char *name, double value) {
    char buf[40];
    ts_var(v, name, ts_float(value, buf));
}

void ts_var_take(ts_vars *v, const char *name, llmc_strbuf *text) {
    if (text->oom) {
        llmc_strbuf_free(text);
        v->oom = true;
        return;
    }
    if (!text->s) {
        ts_var(v, name, "");
        return;
    }
    if (text->n && text->s[text->n - 1] == '\n') text->s[--text->n] = '\0';
    set_var(v, name, text->s);
    text->s = NULL;
    text->n = text->cap = 0;
}

/* ---- rendering: the SDK's line templates over the embedded ts/ files --------------------------- */

/* the table llmc_embed_files generates from the ts folder (names without ".in") */
extern const llmc_embedded_file ts_templates[];
extern const size_t ts_templates_count;

static const char *lookup(void *user, const char *name, size_t *len) {
    (void)user;
    for (size_t i = 0; i < ts_templates_count; i++)
        if (!strcmp(ts_templates[i].name, name)) {
            *len = ts_templates[i].len;
            return ts_templates[i].text;
        }
    return NULL;
}

int ts_render(const char *name, const ts_vars *v, llmc_strbuf *out, llmc_diags *d) {
    if (v->oom) {
        llmc_error(d, "emit", "torchscript: out of memory (or too many template variables) preparing %s", name);
        return -1;
    }
    size_t len;
    const char *text = lookup(NULL, name, &len);
    if (!text) {
        llmc_error(d, "emit", "torchscript: internal: no embedded template named '%s'", name);
        return -1;
    }
    llmc_render_flag flags[TS_MAX_FLAGS];
    llmc_render_var vars[TS_MAX_VARS];
    for (int i = 0; i < v->n_flags; i++) flags[i] = (llmc_render_flag){v->flag_names[i], v->flag_values[i]};
    for (int i = 0; i < v->n_vars; i++) vars[i] = (llmc_render_var){v->var_names[i], v->var_values[i]};
    llmc_render_params p = llmc_render_default_params(); /* "#@" directives, @@VAR@@ substitution */
    p.flags = flags;
    p.n_flags = (size_t)v->n_flags;
    p.vars = vars;
    p.n_vars = (size_t)v->n_vars;
    p.lookup = lookup;
    p.who = "torchscript";
    return llmc_render(name, text, len, &p, out, d);
}

int ts_render_var(const char *name, const ts_vars *v, ts_vars *into, const char *var, llmc_diags *d) {
    llmc_strbuf out = {0};
    if (ts_render(name, v, &out, d)) {
        llmc_strbuf_free(&out);
        return -1;
    }
    ts_var_take(into, var, &out);
    return 0;
}
