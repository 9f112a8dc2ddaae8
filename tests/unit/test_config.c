/* llmc.yaml: defaults, every error with its exact located message, ${exe_dir} and relative
 * paths, discovery order (temp dirs + chdir), --plugins prepend order, and that the
 * repository's config/llmc.yaml says the same as the embedded default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* ---- helpers ------------------------------------------------------------------------------- */


#define BASE_DIR "/etc/llmc"
#define EXE_DIR "/opt/llmc/bin"
/* the installed plugin folder relative to the binary, as the build computed it from its install
 * dirs ("../lib/llmc/plugins", or "../lib/x86_64-linux-gnu/llmc/plugins" for Debian's /usr) */
#define INSTALLED_PLUGINS EXE_DIR "/" LLMC_EXE_TO_PLUGIN_DIR

static llmc_config *load(const char *text, char **diags_out) {
    llmc_diags *d = llmc_diags_create();
    llmc_config *c = llmc_config_load_string(text, strlen(text), "llmc.yaml", BASE_DIR, EXE_DIR, d);
    char *msgs = test_all_diags(d);
    if (diags_out) *diags_out = msgs;
    else free(msgs);
    llmc_diags_free(d);
    return c;
}

static void expect_errors(const char *text, const char *want) {
    char *got;
    llmc_config *c = load(text, &got);
    if (c || strcmp(got, want) != 0)
        fail_msg("config:\n%s\n--- got (%s):\n%s\n--- want:\n%s", text, c ? "loaded" : "refused", got, want);
    free(got);
}

static llmc_config *expect_ok(const char *text) {
    char *got;
    llmc_config *c = load(text, &got);
    if (!c || got[0]) fail_msg("config:\n%s\n--- got (%s):\n%s", text, c ? "loaded" : "refused", got);
    free(got);
    return c;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A fresh temporary directory that the test chdirs into; restored and removed by leave(). */
typedef struct tmpdir {
    char path[PATH_MAX];
    char old_cwd[PATH_MAX];
} tmpdir;

static void enter(tmpdir *t) {
    assert_non_null(getcwd(t->old_cwd, sizeof t->old_cwd));
    char tmpl[] = "/tmp/llmc_test_config_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    /* physical path, so it compares equal to what getcwd() reports after chdir */
    assert_non_null(realpath(tmpl, t->path));
    assert_int_equal(chdir(t->path), 0);
}

static void leave(tmpdir *t, const char *const *files) {
    for (size_t i = 0; files && files[i]; i++) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/%s", t->path, files[i]);
        if (remove(p) != 0) fail_msg("cannot remove %s", p);
    }
    assert_int_equal(chdir(t->old_cwd), 0);
    assert_int_equal(rmdir(t->path), 0);
}

static void assert_strv(char *const *v, size_t n, const char *const *want) {
    size_t k = 0;
    while (want[k]) k++;
    if (n != k) fail_msg("got %zu items, want %zu (first: %s)", n, k, n ? v[0] : "-");
    for (size_t i = 0; i < n; i++) assert_string_equal(v[i], want[i]);
}

/* ---- defaults and valid configs ------------------------------------------------------------------ */

static void test_empty_config_is_all_defaults(void **state) {
    (void)state;
    const char *texts[] = {"", "# only a comment\n\n   # another\n", "~\n", "{}\n"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        llmc_config *c = expect_ok(texts[i]);
        assert_string_equal(c->path, "llmc.yaml");
        const char *paths[] = {EXE_DIR "/plugins", INSTALLED_PLUGINS, NULL};
        assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
        assert_int_equal(c->n_prepended, 0);
        assert_int_equal(c->n_plugin_files, 0);
        assert_int_equal(c->n_allow, 0);
        assert_int_equal(c->n_disable, 0);
        assert_false(c->strict_plugins);
        assert_string_equal(c->default_solver, "search");
        const char *emit[] = {"safetensors", NULL};
        assert_strv(c->default_emit, c->n_default_emit, emit);
        assert_int_equal(c->threads, 0);
        llmc_config_free(c);
    }
}

static void test_full_config(void **state) {
    (void)state;
    llmc_config *c = expect_ok("# every key\n"
                               "plugin_paths: [\"${exe_dir}/plugins\", local/plugins, /abs//dir/./x/, ../shared]\n"
                               "plugins: [extra/my.so, \"${exe_dir}/../other.so\"]\n"
                               "allow: [decoder_only, search, safetensors, gguf]\n"
                               "disable: [torchscript]\n"
                               "strict_plugins: true\n"
                               "defaults:\n"
                               "  solver: grid\n"
                               "  emit: [gguf, safetensors]\n"
                               "  threads: 8\n");
    const char *paths[] = {EXE_DIR "/plugins", BASE_DIR "/local/plugins", "/abs/dir/x", BASE_DIR "/../shared", NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
    const char *files[] = {BASE_DIR "/extra/my.so", EXE_DIR "/../other.so", NULL};
    assert_strv(c->plugin_files, c->n_plugin_files, files);
    const char *allow[] = {"decoder_only", "search", "safetensors", "gguf", NULL};
    assert_strv(c->allow, c->n_allow, allow);
    const char *disable[] = {"torchscript", NULL};
    assert_strv(c->disable, c->n_disable, disable);
    assert_true(c->strict_plugins);
    assert_string_equal(c->default_solver, "grid");
    const char *emit[] = {"gguf", "safetensors", NULL};
    assert_strv(c->default_emit, c->n_default_emit, emit);
    assert_int_equal(c->threads, 8);
    llmc_config_free(c);
}

static void test_lists_empty_null_and_shorthand(void **state) {
    (void)state;
    /* [] means none; null means "not given" (the default); a single value is a one-item list */
    llmc_config *c = expect_ok("plugin_paths: []\nplugins: ~\nallow: good_solver\ndefaults: {emit: [], threads: 1024}\n");
    assert_int_equal(c->n_plugin_paths, 0);
    assert_int_equal(c->n_plugin_files, 0);
    const char *allow[] = {"good_solver", NULL};
    assert_strv(c->allow, c->n_allow, allow);
    assert_int_equal(c->n_default_emit, 0);
    assert_string_equal(c->default_solver, "search");
    assert_int_equal(c->threads, 1024);
    llmc_config_free(c);

    c = expect_ok("plugin_paths: ~\nplugins: only.so\n");
    const char *paths[] = {EXE_DIR "/plugins", INSTALLED_PLUGINS, NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
    const char *files[] = {BASE_DIR "/only.so", NULL};
    assert_strv(c->plugin_files, c->n_plugin_files, files);
    llmc_config_free(c);
}

static void test_exe_dir_expansion(void **state) {
    (void)state;
    /* every occurrence; a '$' that does not start "${" is an ordinary character */
    llmc_config *c = expect_ok("plugin_paths: [\"${exe_dir}/a/${exe_dir}\", \"cost$5\", \"${exe_dir}\"]\n");
    const char *paths[] = {EXE_DIR "/a" EXE_DIR, BASE_DIR "/cost$5", EXE_DIR, NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
    llmc_config_free(c);

    /* a relative exe_dir is made absolute against the current directory */
    char cwd[PATH_MAX], want[PATH_MAX + 32];
    assert_non_null(getcwd(cwd, sizeof cwd));
    llmc_diags *d = llmc_diags_create();
    const char *text = "plugin_paths: [\"${exe_dir}/p\"]\n";
    c = llmc_config_load_string(text, strlen(text), "x.yaml", "/base", "bin", d);
    assert_non_null(c);
    snprintf(want, sizeof want, "%s/bin/p", cwd);
    assert_string_equal(c->plugin_paths[0], want);
    llmc_config_free(c);

    /* exe_dir NULL: the folder of the running binary (this test, in build/tests) */
    char *exe = llmc_config_exe_dir();
    assert_non_null(exe);
    size_t n = strlen(exe);
    assert_true(n > 6 && !strcmp(exe + n - 6, "/tests"));
    c = llmc_config_load_string(text, strlen(text), "x.yaml", "/base", NULL, d);
    assert_non_null(c);
    snprintf(want, sizeof want, "%s/p", exe);
    assert_string_equal(c->plugin_paths[0], want);
    assert_int_equal(llmc_diags_size(d), 0);
    llmc_config_free(c);
    free(exe);
    llmc_diags_free(d);
}

static void test_relative_paths_follow_the_file(void **state) {
    (void)state;
    tmpdir t;
    enter(&t);
    assert_int_equal(mkdir("conf", 0700), 0);
    write_text("conf/my.yaml", "plugin_paths: [plugins, ../up, /abs]\nplugins: [x.so]\n");
    llmc_diags *d = llmc_diags_create();
    llmc_config *c = llmc_config_load_file("conf/my.yaml", EXE_DIR, d);
    assert_non_null(c);
    assert_int_equal(llmc_diags_size(d), 0);
    assert_string_equal(c->path, "conf/my.yaml");
    char p0[PATH_MAX + 32], p1[PATH_MAX + 32], f0[PATH_MAX + 32];
    snprintf(p0, sizeof p0, "%s/conf/plugins", t.path);
    snprintf(p1, sizeof p1, "%s/conf/../up", t.path);
    snprintf(f0, sizeof f0, "%s/conf/x.so", t.path);
    const char *paths[] = {p0, p1, "/abs", NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
    const char *files[] = {f0, NULL};
    assert_strv(c->plugin_files, c->n_plugin_files, files);
    llmc_config_free(c);

    /* load_string without a base dir: relative to the current directory */
    const char *text = "plugins: [y.so]\n";
    c = llmc_config_load_string(text, strlen(text), "mem", NULL, EXE_DIR, d);
    assert_non_null(c);
    snprintf(f0, sizeof f0, "%s/y.so", t.path);
    assert_string_equal(c->plugin_files[0], f0);
    llmc_config_free(c);
    llmc_diags_free(d);

    const char *const files_to_remove[] = {"conf/my.yaml", "conf", NULL};
    leave(&t, files_to_remove);
}

/* ---- errors ------------------------------------------------------------------------------------------ */

static void test_unknown_keys(void **state) {
    (void)state;
    expect_errors("plugin_path: [a]\n", "llmc.yaml:1:1: plugin_path: unknown key (did you mean 'plugin_paths'?)");
    expect_errors("strict: true\n", "llmc.yaml:1:1: strict: unknown key (expected one of plugin_paths, plugins, allow, "
                                    "disable, strict_plugins, defaults)");
    expect_errors("defaults:\n  solvr: search\n  emits: [gguf]\n",
                  "llmc.yaml:2:3: defaults.solvr: unknown key (did you mean 'solver'?)\n"
                  "llmc.yaml:3:3: defaults.emits: unknown key (did you mean 'emit'?)");
    expect_errors("defaults: {colour: red}\n",
                  "llmc.yaml:1:12: defaults.colour: unknown key (expected one of solver, emit, threads)");
}

static void test_wrong_types(void **state) {
    (void)state;
    expect_errors("plugin_paths: {a: b}\n", "llmc.yaml:1:1: plugin_paths: expected a list of directories, got a mapping");
    expect_errors("plugin_paths:\n  - ok\n  - [nested]\n  - ~\n",
                  "llmc.yaml:3:5: plugin_paths[1]: expected a directory path, got a list\n"
                  "llmc.yaml:4:5: plugin_paths[2]: expected a directory path, got null");
    expect_errors("plugins: {x: 1}\n", "llmc.yaml:1:1: plugins: expected a list of plugin .so files, got a mapping");
    expect_errors("plugins: [\"\"]\n", "llmc.yaml:1:11: plugins[0]: must not be empty");
    expect_errors("allow: {a: 1}\n", "llmc.yaml:1:1: allow: expected a list of plugin names, got a mapping");
    expect_errors("disable: [[x]]\n", "llmc.yaml:1:11: disable[0]: expected a plugin name, got a list");
    expect_errors("strict_plugins: yes\n", "llmc.yaml:1:17: strict_plugins: expected true or false, got 'yes'");
    expect_errors("strict_plugins: \"true\"\n",
                  "llmc.yaml:1:17: strict_plugins: expected true or false, got the quoted string 'true'");
    expect_errors("defaults: [search]\n",
                  "llmc.yaml:1:1: defaults: expected a mapping with keys solver, emit, threads, got a list");
    expect_errors("defaults: fast\n",
                  "llmc.yaml:1:11: defaults: expected a mapping with keys solver, emit, threads, got 'fast'");
    expect_errors("defaults: {solver: [a, b]}\n", "llmc.yaml:1:12: defaults.solver: expected a solver name, got a list");
    expect_errors("defaults: {emit: {gguf: 1}}\n",
                  "llmc.yaml:1:12: defaults.emit: expected a list of emitter names, got a mapping");
    expect_errors("defaults: {threads: four}\n", "llmc.yaml:1:21: defaults.threads: expected an integer, got 'four'");
    expect_errors("defaults: {threads: \"4\"}\n",
                  "llmc.yaml:1:21: defaults.threads: expected an integer, got the quoted string '4'");
    expect_errors("defaults: {threads: 2.5}\n", "llmc.yaml:1:21: defaults.threads: expected an integer, got '2.5'");
    expect_errors("- a\n- b\n", "llmc.yaml:1:1: a config file must be a mapping of keys to values (got a list)");
}

static void test_out_of_range_and_invalid_names(void **state) {
    (void)state;
    /* the example in the brief: an error points at the value, under its full key path */
    expect_errors("strict_plugins: false\n"
                  "defaults:\n"
                  "    solver: my/solver\n",
                  "llmc.yaml:3:13: defaults.solver: expected a plugin name (1-64 letters, digits, '_', '-' or '.'), "
                  "got 'my/solver'");
    expect_errors("defaults: {threads: -1}\n",
                  "llmc.yaml:1:21: defaults.threads: must be between 0 and 1024 (0 = one thread per online CPU), got -1");
    expect_errors("defaults: {threads: 1025}\n",
                  "llmc.yaml:1:21: defaults.threads: must be between 0 and 1024 (0 = one thread per online CPU), got "
                  "1025");
    expect_errors("defaults: {threads: 99999999999999999999999}\n",
                  "llmc.yaml:1:21: defaults.threads: must be between 0 and 1024 (0 = one thread per online CPU), got "
                  "99999999999999999999999");
    expect_errors("allow: [good, \"bad name\", x2345678901234567890123456789012345678901234567890123456789012345]\n",
                  "llmc.yaml:1:15: allow[1]: expected a plugin name (1-64 letters, digits, '_', '-' or '.'), got the "
                  "quoted string 'bad name'\n"
                  "llmc.yaml:1:27: allow[2]: expected a plugin name (1-64 letters, digits, '_', '-' or '.'), got "
                  "'x234567890123456789012345678901234567890...'");
    expect_errors("defaults: {emit: [gguf, gguf]}\n", "llmc.yaml:1:25: defaults.emit[1]: 'gguf' is listed twice");
    expect_errors("disable: [a, b, a]\n", "llmc.yaml:1:17: disable[2]: 'a' is listed twice");
}

static void test_allow_and_disable_overlap(void **state) {
    (void)state;
    expect_errors("allow: [gguf, search]\n"
                  "disable:\n"
                  "  - torchscript\n"
                  "  - search\n",
                  "llmc.yaml:4:5: disable[1]: 'search' is also in allow (line 1): a plugin cannot be both allowed and "
                  "disabled");
    expect_errors("allow: gguf\ndisable: gguf\n",
                  "llmc.yaml:2:10: disable: 'gguf' is also in allow (line 1): a plugin cannot be both allowed and "
                  "disabled");
}

static void test_variables(void **state) {
    (void)state;
    expect_errors("plugin_paths: [\"${HOME}/plugins\"]\n",
                  "llmc.yaml:1:16: plugin_paths[0]: unknown variable '${HOME}' (the only variable is ${exe_dir})");
    expect_errors("plugins: \"${exe_dir/x.so\"\n",
                  "llmc.yaml:1:10: plugins: unterminated '${' (the only variable is ${exe_dir})");
    expect_errors("plugin_paths: [\"${}\"]\n",
                  "llmc.yaml:1:16: plugin_paths[0]: unknown variable '${}' (the only variable is ${exe_dir})");
}

static void test_syntax_and_duplicate_keys(void **state) {
    (void)state;
    char *got;
    llmc_config *c = load("plugin_paths: [a, b\n", &got);
    assert_null(c);
    /* libyaml's message, located in this file */
    assert_true(!strncmp(got, "llmc.yaml:", 10));
    assert_null(strchr(got, '\n'));
    free(got);

    c = load("strict_plugins: true\nstrict_plugins: false\n", &got);
    assert_null(c);
    assert_true(!strncmp(got, "llmc.yaml:2:1: strict_plugins:", 30));
    free(got);
}

static void test_every_error_in_file_order(void **state) {
    (void)state;
    expect_errors("defaults:\n"
                  "  threads: lots\n"
                  "pluginz: []\n"
                  "strict_plugins: 1\n"
                  "plugin_paths: [\"${nope}\"]\n",
                  "llmc.yaml:2:12: defaults.threads: expected an integer, got 'lots'\n"
                  "llmc.yaml:3:1: pluginz: unknown key (did you mean 'plugins'?)\n"
                  "llmc.yaml:4:17: strict_plugins: expected true or false, got '1'\n"
                  "llmc.yaml:5:16: plugin_paths[0]: unknown variable '${nope}' (the only variable is ${exe_dir})");
}

static void test_missing_file(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_config_load_file("/nonexistent/llmc.yaml", EXE_DIR, d));
    char *got = test_all_diags(d);
    assert_string_equal(got, "/nonexistent/llmc.yaml: cannot read the config file: No such file or directory");
    free(got);
    llmc_diags_free(d);
}

/* ---- embedded default and the repository's config file ------------------------------------------------ */

static void test_embedded_default(void **state) {
    (void)state;
    llmc_config *c = llmc_config_embedded_default(EXE_DIR);
    assert_non_null(c);
    assert_string_equal(c->path, LLMC_CONFIG_EMBEDDED_NAME);
    const char *paths[] = {EXE_DIR "/plugins", INSTALLED_PLUGINS, NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
    assert_string_equal(c->default_solver, "search");
    assert_int_equal(c->n_default_emit, 1);
    assert_false(c->strict_plugins);

    /* config/llmc.yaml must describe exactly the same setup; it names the installed plugin folder
     * in its generic form, which the build rewrites for its libdir into the llmc.yaml it installs */
    const char *generic[] = {EXE_DIR "/plugins", EXE_DIR "/../lib/llmc/plugins", NULL};
    const char *files[] = {LLMC_SOURCE_DIR "/config/llmc.yaml", LLMC_BINARY_DIR "/install/llmc.yaml"};
    for (size_t i = 0; i < 2; i++) {
        llmc_diags *d = llmc_diags_create();
        llmc_config *repo = llmc_config_load_file(files[i], EXE_DIR, d);
        char *got = test_all_diags(d);
        assert_string_equal(got, "");
        free(got);
        assert_non_null(repo);
        assert_strv(repo->plugin_paths, repo->n_plugin_paths, i == 0 ? generic : paths);
        assert_int_equal(repo->n_plugin_files, 0);
        assert_int_equal(repo->n_allow, 0);
        assert_int_equal(repo->n_disable, 0);
        assert_false(repo->strict_plugins);
        assert_string_equal(repo->default_solver, c->default_solver);
        assert_strv(repo->default_emit, repo->n_default_emit, (const char *const[]){"safetensors", NULL});
        assert_int_equal(repo->threads, c->threads);
        llmc_config_free(repo);
        llmc_diags_free(d);
    }
    llmc_config_free(c);
}

/* the installed config is found next to the binary, through the build's relative path */
static void test_installed_path(void **state) {
    (void)state;
    char *p = llmc_config_installed_path(EXE_DIR);
    assert_non_null(p);
    assert_string_equal(p, EXE_DIR "/" LLMC_EXE_TO_CONFIG);
    free(p);
    p = llmc_config_installed_path("/opt/llmc/bin/");
    assert_non_null(p);
    assert_string_equal(p, EXE_DIR "/" LLMC_EXE_TO_CONFIG);
    free(p);
    /* no folder given: the running executable's */
    char *exe = llmc_config_exe_dir();
    assert_non_null(exe);
    p = llmc_config_installed_path(NULL);
    assert_non_null(p);
    assert_int_equal(strncmp(p, exe, strlen(exe)), 0);
    assert_string_equal(p + strlen(exe), "/" LLMC_EXE_TO_CONFIG);
    free(p);
    free(exe);
}

/* ---- discovery ------------------------------------------------------------------------------------------- */

static llmc_config *discover(const char *explicit_path, const char *installed, char **diags) {
    llmc_diags *d = llmc_diags_create();
    llmc_config *c = llmc_config_discover_with(explicit_path, EXE_DIR, installed, d);
    *diags = test_all_diags(d);
    llmc_diags_free(d);
    return c;
}

static void test_discovery_order(void **state) {
    (void)state;
    tmpdir t;
    enter(&t);
    char installed[PATH_MAX + 32], *got;
    snprintf(installed, sizeof installed, "%s/installed.yaml", t.path);

    /* nothing anywhere: the embedded default */
    llmc_config *c = discover(NULL, installed, &got);
    assert_non_null(c);
    assert_string_equal(got, "");
    assert_string_equal(c->path, LLMC_CONFIG_EMBEDDED_NAME);
    char want[2 * PATH_MAX];
    snprintf(want, sizeof want, "embedded default (no --config, no ./llmc.yaml, no %s)", installed);
    assert_string_equal(c->origin, want);
    llmc_config_free(c);
    free(got);

    /* an installed config exists: it wins over the embedded default */
    write_text(installed, "defaults: {solver: from_installed}\n");
    c = discover(NULL, installed, &got);
    assert_non_null(c);
    assert_string_equal(c->path, installed);
    assert_string_equal(c->default_solver, "from_installed");
    snprintf(want, sizeof want, "installed config %s", installed);
    assert_string_equal(c->origin, want);
    llmc_config_free(c);
    free(got);

    /* ./llmc.yaml wins over the installed one */
    write_text("llmc.yaml", "defaults: {solver: from_cwd}\n");
    c = discover(NULL, installed, &got);
    assert_non_null(c);
    assert_string_equal(c->path, "llmc.yaml");
    assert_string_equal(c->default_solver, "from_cwd");
    assert_string_equal(c->origin, "./llmc.yaml (current directory)");
    llmc_config_free(c);
    free(got);

    /* --config wins over everything */
    write_text("explicit.yaml", "defaults: {solver: from_flag}\n");
    c = discover("explicit.yaml", installed, &got);
    assert_non_null(c);
    assert_string_equal(c->default_solver, "from_flag");
    assert_string_equal(c->origin, "--config explicit.yaml");
    llmc_config_free(c);
    free(got);

    /* a missing --config file is an error even though others exist */
    c = discover("missing.yaml", installed, &got);
    assert_null(c);
    assert_string_equal(got, "missing.yaml: cannot read the config file: No such file or directory");
    free(got);

    /* a broken ./llmc.yaml is an error, not a silent fall-back to the installed one */
    write_text("llmc.yaml", "defaults: {solver: 3 4}\n");
    c = discover(NULL, installed, &got);
    assert_null(c);
    assert_string_equal(got, "llmc.yaml:1:20: defaults.solver: expected a plugin name (1-64 letters, digits, '_', "
                             "'-' or '.'), got '3 4'");
    free(got);

    /* no installed path at all */
    const char *const files[] = {"llmc.yaml", "explicit.yaml", "installed.yaml", NULL};
    leave(&t, files);
    enter(&t);
    c = discover(NULL, NULL, &got);
    assert_non_null(c);
    assert_string_equal(c->origin, "embedded default (no --config, no ./llmc.yaml)");
    llmc_config_free(c);
    free(got);
    leave(&t, NULL);
}

/* ---- --plugins ----------------------------------------------------------------------------------------- */

static void test_prepend_plugin_paths(void **state) {
    (void)state;
    llmc_config *c = expect_ok("plugin_paths: [/cfg/a, /cfg/b]\n");
    assert_int_equal(llmc_config_prepend_plugin_path(c, "/cli/first"), 0);
    assert_int_equal(llmc_config_prepend_plugin_path(c, "cli/second/"), 0);
    assert_int_equal(llmc_config_prepend_plugin_path(c, "/cli/third"), 0);
    char cwd[PATH_MAX], second[PATH_MAX + 32];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(second, sizeof second, "%s/cli/second", cwd);
    const char *paths[] = {"/cli/first", second, "/cli/third", "/cfg/a", "/cfg/b", NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, paths);
    assert_int_equal(c->n_prepended, 3);
    assert_int_equal(llmc_config_prepend_plugin_path(c, ""), -1);
    assert_int_equal(c->n_plugin_paths, 5);
    llmc_config_free(c);

    /* onto an empty search path */
    c = expect_ok("plugin_paths: []\n");
    assert_int_equal(llmc_config_prepend_plugin_path(c, "/only"), 0);
    const char *only[] = {"/only", NULL};
    assert_strv(c->plugin_paths, c->n_plugin_paths, only);
    llmc_config_free(c);
}

static void test_plugin_name_rule(void **state) {
    (void)state;
    assert_true(llmc_plugin_name_valid("decoder_only"));
    assert_true(llmc_plugin_name_valid("gguf-v3.1"));
    assert_false(llmc_plugin_name_valid(""));
    assert_false(llmc_plugin_name_valid(NULL));
    assert_false(llmc_plugin_name_valid("a b"));
    assert_false(llmc_plugin_name_valid("a/b"));
    char long_name[66];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    assert_false(llmc_plugin_name_valid(long_name));
    long_name[64] = '\0';
    assert_true(llmc_plugin_name_valid(long_name));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_config_is_all_defaults),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_lists_empty_null_and_shorthand),
        cmocka_unit_test(test_exe_dir_expansion),
        cmocka_unit_test(test_relative_paths_follow_the_file),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range_and_invalid_names),
        cmocka_unit_test(test_allow_and_disable_overlap),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_syntax_and_duplicate_keys),
        cmocka_unit_test(test_every_error_in_file_order),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_embedded_default),
        cmocka_unit_test(test_installed_path),
        cmocka_unit_test(test_discovery_order),
        cmocka_unit_test(test_prepend_plugin_paths),
        cmocka_unit_test(test_plugin_name_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
