/* llmc — line templates for code generators: the one renderer the pytorch package (py/ files),
 * the TorchScript archive's source (ts/ files) and the C CPU runtime (rt/ files) are generated
 * with, for any emitter that writes source code.
 *
 * A template is text whose directive lines start, after blanks, with a prefix the caller chooses
 * ("#@" for Python, "//@" for C); directive lines never reach the output:
 *   PREFIXif COND, PREFIXelif COND, PREFIXelse, PREFIXendif    nestable (16 deep)
 *   PREFIXinclude NAME                                          renders template NAME in place (4 deep)
 * COND is flag names joined by "and" / "or" ("and" binds tighter), each optionally preceded by
 * "not". Every other line of a branch that holds is copied with each @@VAR@@ replaced by its
 * value. A flag or variable the template names but the caller did not declare, an unbalanced
 * block or an unknown directive is an error naming the template's file and line: a typo in a
 * template is never silent output. So the generated code holds exactly the paths the model uses. */
#ifndef LLMC_RENDER_H
#define LLMC_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/strbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_render_flag {
    const char *name;
    bool on;
} llmc_render_flag;

typedef struct llmc_render_var {
    const char *name;    /* without the @@ */
    const char *value;
} llmc_render_var;

/* The text of template `name` for an include, or NULL when there is none. */
typedef const char *(*llmc_render_lookup_fn)(void *user, const char *name, size_t *len);

typedef struct llmc_render_params {
    const char *directive;            /* the directive prefix: "#@" by default */
    const llmc_render_flag *flags;
    size_t n_flags;
    const llmc_render_var *vars;
    size_t n_vars;
    bool substitute;                  /* replace @@VAR@@ (default true); false copies lines as they are */
    llmc_render_lookup_fn lookup;     /* for includes; NULL: an include is an error */
    void *lookup_user;
    const char *who;                  /* the plugin named in errors ("pytorch"); default "llmc" */
} llmc_render_params;

LLMC_API llmc_render_params llmc_render_default_params(void);
/* Render `text` (len bytes; `file` names it in errors), appending to out. 0, or -1 with an error. */
LLMC_API int llmc_render(const char *file, const char *text, size_t len, const llmc_render_params *p, llmc_strbuf *out, llmc_diags *d);

#ifdef __cplusplus
}
#endif
#endif
