/* pytorch emitter — text building: Python literals and the package templates (pt_text.h). */
#include "llmc/output.h"
#include "llmc/render.h"
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

/* ---- rendering: the SDK's line templates (llmc/render.h) over the embedded py/ files ---------- */

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

static const char *lookup(void *user, const char *name, size_t *len) {
    (void)user;
    return pt_template_text(name, len);
}

int pt_render(const char *name, const pt_vars *v, llmc_strbuf *out, llmc_diags *d) {
    if (v->oom) { llmc_error(d, "pytorch", "out of memory while preparing the templates"); return -1; }
    size_t len;
    const char *text = pt_template_text(name, &len);
    if (!text) {
        llmc_error(d, "pytorch", "template %s:0: no embedded template named '%s' (this is a bug in the pytorch plugin)",
                   name, name);
        return -1;
    }
    llmc_render_flag flags[PT_MAX_FLAGS];
    llmc_render_var vars[PT_MAX_VARS];
    for (int i = 0; i < v->n_flags; i++) flags[i] = (llmc_render_flag){v->flag_names[i], v->flag_values[i]};
    for (int i = 0; i < v->n_vars; i++) vars[i] = (llmc_render_var){v->var_names[i], v->var_values[i]};
    llmc_render_params p = llmc_render_default_params();   /* "#@" directives, @@VAR@@ substitution */
    p.flags = flags;
    p.n_flags = (size_t)v->n_flags;
    p.vars = vars;
    p.n_vars = (size_t)v->n_vars;
    p.lookup = lookup;
    p.who = "pytorch";
    return llmc_render(name, text, len, &p, out, d);
}
