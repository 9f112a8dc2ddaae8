/* llmc.yaml: where plugins are searched, which are allowed or disabled, and defaults.
 *
 * Internal to the core (not part of the SDK); functions are LLMC_API so unit tests and
 * the CLI can call them. The schema is documented in docs/plugins.md.
 *
 *   plugin_paths: ["${exe_dir}/plugins", "${exe_dir}/../lib/llmc/plugins"]
 *                  (the second is the installed plugin folder, relative to the installed binary:
 *                   "../lib/x86_64-linux-gnu/llmc/plugins" with Debian's /usr, see LLMC_EXE_TO_PLUGIN_DIR)
 *   plugins: []            # explicit .so files
 *   allow: []              # if not empty: only these plugin names are registered
 *   disable: []            # these plugin names are not registered
 *   strict_plugins: false  # a plugin that fails to load is an error, not a warning
 *   defaults: {solver: search, emit: [safetensors], threads: 0}
 *
 * Paths: "${exe_dir}" is the folder of the llmc binary; relative paths are relative to
 * the config file's folder. After loading every path is absolute. */
#ifndef LLMC_CORE_CONFIG_H
#define LLMC_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc/diag.h"
#include "llmc/export.h"

#define LLMC_CONFIG_EMBEDDED_NAME "<embedded default>"
#define LLMC_CONFIG_MAX_THREADS 1024

typedef struct llmc_config {
    char *path;               /* file it was read from, or "<embedded default>" */
    char *origin;             /* how it was chosen, for `llmc plugins` / --verbose: "--config F",
                               * "./llmc.yaml", "installed config F", "embedded default (...)" */
    char **plugin_paths; size_t n_plugin_paths;  /* directories, searched in order (absolute) */
    size_t n_prepended;       /* the first n_prepended plugin_paths came from --plugins */
    char **plugin_files; size_t n_plugin_files;  /* explicit .so files to load too (absolute) */
    char **allow; size_t n_allow;      /* if n_allow > 0: only plugins with these names are registered */
    char **disable; size_t n_disable;  /* plugins with these names are not registered */
    bool strict_plugins;
    char *default_solver;              /* "search" unless the config says otherwise; NULL = "search" */
    char **default_emit; size_t n_default_emit;  /* ["safetensors"] unless the config says otherwise */
    int threads;                       /* 0 = number of online CPUs */
} llmc_config;

/* Read a config file. NULL + located diagnostics on any error (for the CLI a bad config is exit
 * code 3, one that cannot be read at all 4: llmc_config_discover says which). exe_dir may be
 * NULL: it is then found from /proc/self/exe when the file uses ${exe_dir}. */
LLMC_API llmc_config *llmc_config_load_file(const char *path, const char *exe_dir, llmc_diags *d);
/* Same from memory. name is used in locations; relative paths are relative to base_dir
 * (NULL = the current directory). */
LLMC_API llmc_config *llmc_config_load_string(const char *text, size_t len, const char *name, const char *base_dir,
                                              const char *exe_dir, llmc_diags *d);
/* Search <exe_dir>/plugins, then the installed plugin folder <exe_dir>/LLMC_EXE_TO_PLUGIN_DIR
 * (normally <exe_dir>/../lib/llmc/plugins); defaults as above.
 * NULL only when out of memory. */
LLMC_API llmc_config *llmc_config_embedded_default(const char *exe_dir);

/* The installed config: <exe_dir>/LLMC_EXE_TO_CONFIG, normally <exe_dir>/../share/llmc/llmc.yaml
 * (exe_dir NULL = the folder of the running executable). Malloc'd; NULL if that folder is unknown. */
LLMC_API char *llmc_config_installed_path(const char *exe_dir);

/* Resolution order: explicit path (--config) if non-NULL (missing file = error); else
 * ./llmc.yaml if it exists; else the installed config (llmc_config_installed_path) if it exists;
 * else the embedded default. The choice is described in config->origin. When NULL is returned,
 * *unreadable (if not NULL) says whether the chosen file could not be read at all (missing, a
 * directory, a FIFO, no permission: an I/O error, exit code 4) rather than read and refused
 * (a bad config, exit code 3). */
LLMC_API llmc_config *llmc_config_discover(const char *explicit_path, const char *exe_dir, llmc_diags *d,
                                           bool *unreadable);
/* The same with the installed config's path given (tests; NULL = none installed). */
LLMC_API llmc_config *llmc_config_discover_with(const char *explicit_path, const char *exe_dir,
                                                const char *installed_path, llmc_diags *d);

/* --plugins DIR: searched before the config's own paths. Repeated calls keep command-line
 * order (later calls go after earlier ones, still before the config's paths). dir is made
 * absolute against the current directory. 0 on success, -1 when out of memory. */
LLMC_API int llmc_config_prepend_plugin_path(llmc_config *c, const char *dir);

LLMC_API void llmc_config_free(llmc_config *c);

/* Folder of the running executable (from /proc/self/exe), malloc'd; NULL if unknown. */
LLMC_API char *llmc_config_exe_dir(void);

/* Plugin names: 1-64 of A-Z a-z 0-9 '_' '-' '.' (the same rule as spec names). */
LLMC_API bool llmc_plugin_name_valid(const char *name);

#endif
