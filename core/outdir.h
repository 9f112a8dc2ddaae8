/* The pipeline's side of emitter output: the registry of files emitters produced (for
 * compilation_report.json) and the atomic output directory (outdir.c). Internal to the core. */
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

/* The marker file llmc writes into every output directory: what makes `--force` willing to
 * replace a directory (docs/cli.md "Replacing an output"). */
#define LLMC_OUTPUT_MARKER ".llmc-output"

/* The atomic output directory OUT (docs/cli.md "Replacing an output").
 *
 * begin: refuses an OUT that is a symlink, not a directory, the current directory or one of its
 *   parents, $HOME or /; takes the lock "<parent>/.<base>.lock" (a second compile into the same
 *   OUT fails at once, naming the pid that holds it); removes temporary directories that dead
 *   compiles left beside OUT (and puts back an OUT that a killed fallback commit had moved
 *   aside); refuses an existing OUT that is not empty unless force, and with force one that llmc
 *   did not write (marker, spec hash, top-level entries) or cannot read; then creates the temp
 *   dir "<parent>/.<base>.tmp-XXXXXX", flock'ed while it lives.
 * seal: writes the marker (spec hash of spec.json, the top-level entries) and fsyncs every file
 *   and directory of the temp dir; polls llmc_interrupted() between files (returns 1 then).
 * commit: puts the temp dir at OUT so that OUT is, at every instant, the complete old or the
 *   complete new directory: rename over an absent or empty OUT, renameat2(RENAME_EXCHANGE) over
 *   an llmc output. Where the filesystem lacks RENAME_EXCHANGE it moves the old OUT aside to
 *   "<parent>/.<base>.old-XXXXXX" first (the next compile puts it back if the process was killed
 *   between the two renames). Every failure message says where each copy is.
 * abort: removes the temp dir. commit and abort release the lock and free o. */
typedef struct llmc_outdir llmc_outdir;
LLMC_API llmc_outdir *llmc_outdir_begin(const char *final_dir, bool force, llmc_diags *d);
LLMC_API const char *llmc_outdir_tmp(const llmc_outdir *o);
LLMC_API int llmc_outdir_seal(llmc_outdir *o, llmc_diags *d);
LLMC_API int llmc_outdir_commit(llmc_outdir *o, llmc_diags *d);  /* frees o */
LLMC_API void llmc_outdir_abort(llmc_outdir *o);                  /* frees o */

/* rm -rf (no symlink following); 0 on success */
LLMC_API int llmc_remove_tree(const char *path);

typedef enum llmc_dir_state {
    LLMC_DIR_MISSING = 0,   /* no such path */
    LLMC_DIR_EMPTY,
    LLMC_DIR_NONEMPTY,
    LLMC_DIR_UNREADABLE,    /* exists, but its entries cannot be listed (errno says why) */
    LLMC_DIR_NOT_A_DIR      /* exists and is not a directory (symlinks are not followed) */
} llmc_dir_state;
LLMC_API llmc_dir_state llmc_dir_state_of(const char *path);

#endif
