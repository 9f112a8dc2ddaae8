/* The pipeline's side of emitter output: the registry of files emitters produced (for
 * compilation_report.json) and the atomic output directory (temp dir beside OUT, renamed
 * into place only when every step succeeded). Internal to the core. */
#ifndef LLMC_CORE_OUTDIR_H
#define LLMC_CORE_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc/diag.h"
#include "llmc/export.h"

typedef struct llmc_output_entry {
    char *emitter;
    char *path;   /* relative to OUT */
    char *role;
} llmc_output_entry;

struct llmc_outputs {
    llmc_output_entry *items;
    size_t n, cap;
    struct llmc_manifest *manifest;   /* every file written, with checksums (manifest.h) */
};
typedef struct llmc_outputs llmc_outputs;

LLMC_API llmc_outputs *llmc_outputs_create(void);
LLMC_API void llmc_outputs_free(llmc_outputs *o);
LLMC_API int llmc_outputs_add(llmc_outputs *o, const char *emitter, const char *path, const char *role);

/* Atomic output directory. begin: refuses an existing non-empty final dir unless force,
 * creates "<parent>/.<base>.tmp-XXXXXX" and arms SIGINT/SIGTERM/SIGHUP cleanup of it.
 * commit: renames it into place (replacing the old dir when forced). abort: removes it. */
typedef struct llmc_outdir llmc_outdir;
LLMC_API llmc_outdir *llmc_outdir_begin(const char *final_dir, bool force, llmc_diags *d);
LLMC_API const char *llmc_outdir_tmp(const llmc_outdir *o);
LLMC_API int llmc_outdir_commit(llmc_outdir *o, llmc_diags *d);  /* frees o */
LLMC_API void llmc_outdir_abort(llmc_outdir *o);                  /* frees o */

/* rm -rf (no symlink following); 0 on success */
LLMC_API int llmc_remove_tree(const char *path);
/* true if path is an existing directory with entries other than . and .. */
LLMC_API bool llmc_dir_nonempty(const char *path);

#endif
