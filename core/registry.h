/* Plugin registry: loads plugin .so files (dlopen), checks the ABI version, manifests and
 * vtables, refuses duplicates, honours the config's allow/disable lists, and explains why a
 * plugin a command needs is not there.
 *
 * Internal to the core (not part of the SDK); functions are LLMC_API so unit tests and
 * the CLI can call them. Loading rules and messages: docs/plugins.md. */
#ifndef LLMC_CORE_REGISTRY_H
#define LLMC_CORE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/plugin.h"

#define LLMC_REGISTRY_MAX_PLUGINS_PER_FILE 1024  /* more is a corrupt manifest */
#define LLMC_REGISTRY_MAX_DEPTH 16               /* directory levels scanned below a search path */

typedef struct llmc_plugin {
    llmc_plugin_kind kind;
    const char *name, *version, *description;  /* description is "" when the plugin gave none */
    const char *file;          /* absolute path of the .so (symlinks resolved) */
    const void *vtable;        /* checked: struct_size and required functions */
} llmc_plugin;

typedef struct llmc_load_failure {
    const char *file;          /* the .so (or --plugins directory) that failed */
    const char *plugin_name;   /* or NULL when the whole file failed */
    const char *reason;        /* a sentence without the file name, e.g. "no entry symbol ..." */
} llmc_load_failure;

typedef struct llmc_registry llmc_registry;

LLMC_API llmc_registry *llmc_registry_create(void);
LLMC_API void llmc_registry_free(llmc_registry *r);   /* dlcloses everything */

/* Load every *.so under the config's plugin_paths (recursively, each path's files sorted by
 * path; hidden folders and symlinked folders are not entered) and then the explicit
 * plugin_files, honouring allow/disable. A file reached twice (same real path) is loaded
 * once. Each failure is recorded (llmc_registry_failure_at) and reported to d as a warning
 * (an error if strict_plugins), then skipped. A missing search directory is skipped
 * silently (the default search path names both the build-tree and the installed
 * location), except a --plugins directory, which is a failure. Returns the number of
 * failures this call recorded. */
LLMC_API size_t llmc_registry_load(llmc_registry *r, const llmc_config *c, llmc_diags *d);
/* Load one .so (c may be NULL: no allow/disable, not strict). 0 when every plugin in it
 * was registered or filtered out by the config (or the file was already loaded), -1 when
 * any failure was recorded. */
LLMC_API int llmc_registry_load_file(llmc_registry *r, const char *path, const llmc_config *c, llmc_diags *d);

LLMC_API size_t llmc_registry_count(const llmc_registry *r);
LLMC_API const llmc_plugin *llmc_registry_at(const llmc_registry *r, size_t i);  /* load order */
LLMC_API const llmc_plugin *llmc_registry_find(const llmc_registry *r, llmc_plugin_kind kind, const char *name);
LLMC_API size_t llmc_registry_failures(const llmc_registry *r);
LLMC_API const llmc_load_failure *llmc_registry_failure_at(const llmc_registry *r, size_t i);

/* Plugins that loaded fine but were not registered because of allow/disable
 * (for `llmc plugins`). reason is "disabled by the config" or "not in the config's allow list". */
LLMC_API size_t llmc_registry_skipped(const llmc_registry *r);
LLMC_API const llmc_load_failure *llmc_registry_skipped_at(const llmc_registry *r, size_t i);

/* The directories searched by llmc_registry_load, in order; *exists says whether it was there. */
LLMC_API size_t llmc_registry_dirs(const llmc_registry *r);
LLMC_API const char *llmc_registry_dir_at(const llmc_registry *r, size_t i, bool *exists);

/* For "a command needs plugin X": the plugin, or NULL + an error naming X, its kind and the
 * cause (failed to load from F because ..., disabled by the config, a plugin of another
 * kind, or not found in the search path, listing the paths). */
LLMC_API const llmc_plugin *llmc_registry_require(const llmc_registry *r, llmc_plugin_kind kind, const char *name,
                                                  llmc_diags *d);

#endif
