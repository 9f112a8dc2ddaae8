/* pytorch emitter — text building: Python literals, and the package's templates.
 *
 * Templates are the files in py/ (embedded into the plugin at build time), rendered with the SDK's
 * line templates (llmc/render.h): "#@if COND" / "#@elif" / "#@else" / "#@endif", "#@include FILE",
 * @@VAR@@. Every flag a template names must be declared (true or false), and every @@VAR@@ must
 * have a value: a typo in a template is an error, never silent output. */
#ifndef PT_TEXT_H
#define PT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc/diag.h"
#include "llmc/strbuf.h"

/* a Python float literal that reads back to exactly v ("1e-05", "10000.0", "0.125") */
void pt_put_pyfloat(llmc_strbuf *b, double v);
/* a Python string literal (double quotes, escapes for quotes, backslashes, control bytes) */
void pt_put_pystr(llmc_strbuf *b, const char *s);

#define PT_MAX_FLAGS 64
#define PT_MAX_VARS 48

typedef struct pt_vars {
    const char *flag_names[PT_MAX_FLAGS];
    bool flag_values[PT_MAX_FLAGS];
    int n_flags;
    const char *var_names[PT_MAX_VARS];
    char *var_values[PT_MAX_VARS];   /* owned */
    int n_vars;
    bool oom;
} pt_vars;

void pt_vars_free(pt_vars *v);
void pt_flag(pt_vars *v, const char *name, bool value);
void pt_var(pt_vars *v, const char *name, const char *value);       /* copies value */
void pt_var_take(pt_vars *v, const char *name, llmc_strbuf *value);       /* takes the buffer's text */

/* The embedded template `name` (e.g. "modeling_decoder.py.in"), or NULL. */
const char *pt_template_text(const char *name, size_t *len);

/* Render template `name` with v, appending to out. 0 on success; an error naming the
 * template file and line otherwise. */
int pt_render(const char *name, const pt_vars *v, llmc_strbuf *out, llmc_diags *d);

#endif
