/* torchscript emitter — text: Python literals, and the TorchScript templates.
 *
 * The archive's source is the files in ts/ (embedded into the plugin at build time), rendered with
 * the SDK's line templates (llmc/render.h): "#@if COND" / "#@elif" / "#@else" / "#@endif",
 * "#@include NAME", @@VAR@@. The C side only computes flags and values from the IR (roles, block
 * descriptors, dims); every line of TorchScript is in a template. A flag or variable a template
 * names that the caller did not declare is an error, never silent output. */
#ifndef TS_TEXT_H
#define TS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/strbuf.h"

/* a Python float literal that reads back as exactly v ("1e-05", "0.125", "10000.0") */
const char *ts_float(double v, char buf[40]);

#define TS_MAX_FLAGS 48
#define TS_MAX_VARS 64

/* The flags and variables of one rendering. */
typedef struct ts_vars {
    const char *flag_names[TS_MAX_FLAGS];
    bool flag_values[TS_MAX_FLAGS];
    int n_flags;
    const char *var_names[TS_MAX_VARS];
    char *var_values[TS_MAX_VARS]; /* owned */
    int n_vars;
    bool oom;
} ts_vars;

void ts_vars_free(ts_vars *v);
void ts_flag(ts_vars *v, const char *name, bool on);
void ts_var(ts_vars *v, const char *name, const char *value); /* copies value */
void ts_var_int(ts_vars *v, const char *name, int64_t value);
void ts_var_float(ts_vars *v, const char *name, double value); /* as ts_float spells it */
/* Takes the buffer's text as the value, without its last newline (so that a line holding only
 * @@NAME@@ gets the text's lines and no blank one). */
void ts_var_take(ts_vars *v, const char *name, llmc_strbuf *text);

/* Render template `name` (a file of ts/ without ".in": "llmc.py") with v, appending to out.
 * 0, or -1 with an error naming the template's file and line. */
int ts_render(const char *name, const ts_vars *v, llmc_strbuf *out, llmc_diags *d);
/* Render template `name` with v and bind the result to variable `var` of `into`
 * (ts_var_take). */
int ts_render_var(const char *name, const ts_vars *v, ts_vars *into, const char *var, llmc_diags *d);

#endif
