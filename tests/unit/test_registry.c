/* Plugin registry: every load failure with its own message (skipped by default, an error
 * with strict_plugins), the good plugin (and calling its emitter through the loaded
 * vtable), allow/disable, duplicates, recursive sorted scanning, and the messages of
 * llmc_registry_require. Test plugins: tests/plugins/<name>/ -> LLMC_TEST_PLUGIN_DIR/<name>/<name>.so */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "plugin_check.h"
#include "registry.h"

/* ---- helpers ------------------------------------------------------------------------------- */


static llmc_config *config_from(const char *text) {
    llmc_diags *d = llmc_diags_create();
    llmc_config *c = llmc_config_load_string(text, strlen(text), "test.yaml", "/", "/nonexistent-exe-dir", d);
    if (!c) {
        char *got = test_all_diags(d);
        fail_msg("config refused:\n%s\n%s", text, got);
    }
    llmc_diags_free(d);
    return c;
}

/* Real path of the test plugin <name>.so (what the registry reports). */
static void plugin_file(const char *name, char *out) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s/%s.so", LLMC_TEST_PLUGIN_DIR, name, name);
    if (!realpath(p, out)) fail_msg("test plugin %s not built (%s)", name, p);
}

/* A config searching the folders of the named test plugins, plus extra YAML lines. */
static llmc_config *config_for(const char *const *names, const char *extra) {
    char text[8192];
    size_t o = (size_t)snprintf(text, sizeof text, "plugin_paths: [");
    for (size_t i = 0; names[i]; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s\"%s/%s\"", i ? ", " : "", LLMC_TEST_PLUGIN_DIR, names[i]);
    snprintf(text + o, sizeof text - o, "]\n%s", extra ? extra : "");
    return config_from(text);
}

typedef struct loaded {
    llmc_registry *r;
    llmc_config *c;
    char *diags;
    size_t failures;
} loaded;

static loaded load_plugins(const char *const *names, const char *extra) {
    loaded l;
    l.c = config_for(names, extra);
    l.r = llmc_registry_create();
    assert_non_null(l.r);
    llmc_diags *d = llmc_diags_create();
    l.failures = llmc_registry_load(l.r, l.c, d);
    l.diags = test_all_diags(d);
    llmc_diags_free(d);
    return l;
}

static void unload(loaded *l) {
    llmc_registry_free(l->r);
    llmc_config_free(l->c);
    free(l->diags);
}

static bool is_open(const char *file) {
    void *h = dlopen(file, RTLD_NOW | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
}

/* One test plugin that must fail with exactly one failure: plugin_name (or NULL) and reason.
 * Checked both ways: warning by default, error with strict_plugins. */
static void expect_failure(const char *name, const char *want_plugin, const char *want_reason) {
    char file[PATH_MAX];
    plugin_file(name, file);
    const char *names[] = {name, NULL};
    for (int strict = 0; strict <= 1; strict++) {
        loaded l = load_plugins(names, strict ? "strict_plugins: true\n" : NULL);
        assert_int_equal(l.failures, 1);
        assert_int_equal(llmc_registry_failures(l.r), 1);
        const llmc_load_failure *f = llmc_registry_failure_at(l.r, 0);
        assert_non_null(f);
        assert_string_equal(f->file, file);
        if (want_plugin) assert_string_equal(f->plugin_name, want_plugin);
        else assert_null(f->plugin_name);
        assert_string_equal(f->reason, want_reason);
        char want[8192];
        snprintf(want, sizeof want, "%s: %s%s", file, strict ? "" : "warning: ", want_reason);
        assert_string_equal(l.diags, want);
        assert_int_equal(llmc_registry_count(l.r), 0);
        assert_false(is_open(file)); /* every plugin failed: the .so was dlclosed */
        unload(&l);
    }
}

/* ---- each failure ------------------------------------------------------------------------------- */

static void test_bad_abi(void **state) {
    (void)state;
    expect_failure("bad_abi", NULL,
                   "plugin built for llmc ABI 999, this llmc has ABI 2 (rebuild the plugin against this llmc's SDK)");
}

/* A plugin built against the ABI 1 SDK: refused before anything but abi_version is read. */
static void test_abi1_refused(void **state) {
    (void)state;
    expect_failure("abi1", NULL,
                   "plugin built for llmc ABI 1, this llmc has ABI 2: rebuild the plugin against the ABI 2 SDK "
                   "(sdk/README.md, \"Migrating from ABI 1 to ABI 2\", lists what to change)");
}

static void test_no_entry(void **state) {
    (void)state;
    expect_failure("no_entry", NULL,
                   "no entry symbol 'llmc_plugin_entry' (not an llmc plugin, or built without LLMC_DEFINE_PLUGIN_ENTRY)");
}

static void test_null_manifest(void **state) {
    (void)state;
    expect_failure("null_manifest", NULL, "llmc_plugin_entry() returned no manifest (NULL)");
}

static void test_empty_manifest(void **state) {
    (void)state;
    expect_failure("empty_manifest", NULL, "the manifest lists no plugins");
}

static void test_unknown_kind(void **state) {
    (void)state;
    expect_failure("unknown_kind", "mystery",
                   "plugin 'mystery' has unknown kind 42 (this llmc knows 1 = template, 2 = solver, 3 = emitter, 4 = tokenizer)");
}

static void test_missing_function(void **state) {
    (void)state;
    expect_failure("missing_fn", "missing_fn_emitter",
                   "emitter 'missing_fn_emitter' lacks required function emit (NULL in its vtable)");
}

static void test_small_vtable(void **state) {
    (void)state;
    char want[256];
    snprintf(want, sizeof want,
             "template 'small_template' has a vtable of %zu bytes, this llmc needs at least %zu (rebuild the plugin "
             "against this llmc's SDK)",
             offsetof(llmc_template_vtable, complete_dims), sizeof(llmc_template_vtable));
    expect_failure("small_vtable", "small_template", want);
}

/* LLMC_HAS_MEMBER: how hosts and plugins test for members appended after an ABI bump */
static void test_has_member(void **state) {
    (void)state;
    llmc_emit_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.struct_size = sizeof ctx;
    assert_true(LLMC_HAS_MEMBER(&ctx, llmc_emit_ctx, progress));
    ctx.struct_size = (uint32_t)offsetof(llmc_emit_ctx, progress); /* built before `progress` existed */
    assert_false(LLMC_HAS_MEMBER(&ctx, llmc_emit_ctx, progress));
    assert_true(LLMC_HAS_MEMBER(&ctx, llmc_emit_ctx, threads));
    llmc_template_vtable vt;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    assert_true(LLMC_HAS_MEMBER(&vt, llmc_template_vtable, build_ir));
    vt.struct_size = (uint32_t)offsetof(llmc_template_vtable, build_ir);
    assert_false(LLMC_HAS_MEMBER(&vt, llmc_template_vtable, build_ir));
}

static void test_not_a_shared_object(void **state) {
    (void)state;
    char dir[] = "/tmp/llmc_test_registry_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char so[PATH_MAX], real[PATH_MAX];
    snprintf(so, sizeof so, "%s/x.so", dir);
    FILE *f = fopen(so, "w");
    assert_non_null(f);
    for (int i = 0; i < 20; i++) fputs("this is a text file, not a plugin\n", f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(realpath(so, real));

    char text[PATH_MAX + 64];
    snprintf(text, sizeof text, "plugins: [\"%s\"]\n", so);
    llmc_config *c = config_from(text);
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_registry_load(r, c, d), 1);
    const llmc_load_failure *fl = llmc_registry_failure_at(r, 0);
    assert_string_equal(fl->file, real);
    assert_null(fl->plugin_name);
    /* our prefix, then dlopen's own words (without the path, which the diagnostic carries) */
    const char *prefix = "cannot be loaded as a shared object: ";
    assert_true(!strncmp(fl->reason, prefix, strlen(prefix)));
    assert_true(strlen(fl->reason) > strlen(prefix));
    assert_null(strstr(fl->reason, real));
    assert_non_null(strstr(fl->reason, "ELF")); /* glibc: "invalid ELF header" */
    char *got = test_all_diags(d), want[2 * PATH_MAX];
    snprintf(want, sizeof want, "%s: warning: %s", real, fl->reason);
    assert_string_equal(got, want);
    free(got);
    llmc_diags_free(d);
    llmc_registry_free(r);
    llmc_config_free(c);
    assert_int_equal(remove(so), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_file_missing(void **state) {
    (void)state;
    llmc_config *c = config_from("plugin_paths: []\nplugins: [/nonexistent/x.so]\n");
    for (int strict = 0; strict <= 1; strict++) {
        c->strict_plugins = strict;
        llmc_registry *r = llmc_registry_create();
        llmc_diags *d = llmc_diags_create();
        assert_int_equal(llmc_registry_load(r, c, d), 1);
        const llmc_load_failure *f = llmc_registry_failure_at(r, 0);
        assert_string_equal(f->file, "/nonexistent/x.so");
        assert_null(f->plugin_name);
        assert_string_equal(f->reason, "file missing (listed under 'plugins:' in test.yaml)");
        char *got = test_all_diags(d);
        assert_string_equal(got, strict ? "/nonexistent/x.so: file missing (listed under 'plugins:' in test.yaml)"
                                        : "/nonexistent/x.so: warning: file missing (listed under 'plugins:' in "
                                          "test.yaml)");
        assert_int_equal(llmc_diags_errors(d), strict ? 1 : 0);
        free(got);
        llmc_diags_free(d);
        llmc_registry_free(r);
    }
    llmc_config_free(c);
}

static void test_bad_descriptors_one_by_one(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("bad_descs", file);
    const char *names[] = {"bad_descs", NULL};
    loaded l = load_plugins(names, NULL);
    static const struct {
        const char *plugin, *reason;
    } want[] = {
        {NULL, "plugin #1 of the manifest has no name"},
        {NULL, "plugin #2 of the manifest has no name"},
        {NULL, "plugin #3 of the manifest has an invalid name 'bad name!' (expected 1-64 letters, digits, '_', '-' or "
               "'.')"},
        {"no_version", "plugin 'no_version' has no version"},
        {"empty_version", "plugin 'empty_version' has no version"},
        {"null_vtable", "solver 'null_vtable' has no vtable (NULL)"},
        {"half_template",
         "template 'half_template' lacks required functions complete_dims, define_problem, build_ir (NULL in its "
         "vtable)"},
        {"bad_descs_emitter",
         "plugin name 'bad_descs_emitter' appears twice in this file's manifest (the first, an emitter, is kept)"},
    };
    size_t n = sizeof want / sizeof *want;
    assert_int_equal(l.failures, n);
    assert_int_equal(llmc_registry_failures(l.r), n);
    char expected[8192];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const llmc_load_failure *f = llmc_registry_failure_at(l.r, i);
        assert_string_equal(f->file, file);
        if (want[i].plugin) assert_string_equal(f->plugin_name, want[i].plugin);
        else assert_null(f->plugin_name);
        assert_string_equal(f->reason, want[i].reason);
        o += (size_t)snprintf(expected + o, sizeof expected - o, "%s%s: warning: %s", i ? "\n" : "", file,
                              want[i].reason);
    }
    assert_string_equal(l.diags, expected);
    /* the one valid plugin is registered (check is optional) and the file stays open */
    assert_int_equal(llmc_registry_count(l.r), 1);
    const llmc_plugin *p = llmc_registry_at(l.r, 0);
    assert_int_equal(p->kind, LLMC_PLUGIN_EMITTER);
    assert_string_equal(p->name, "bad_descs_emitter");
    assert_string_equal(p->version, "0.1.0");
    assert_string_equal(p->description, "");
    assert_true(is_open(file));
    unload(&l);
    assert_false(is_open(file)); /* llmc_registry_free dlcloses */
}

/* ---- the good plugin ----------------------------------------------------------------------------- */

static void test_good_plugin(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("good", file);
    const char *names[] = {"good", NULL};
    loaded l = load_plugins(names, NULL);
    assert_int_equal(l.failures, 0);
    assert_string_equal(l.diags, "");
    assert_int_equal(llmc_registry_count(l.r), 3);
    static const struct {
        llmc_plugin_kind kind;
        const char *name, *description;
    } want[] = {
        {LLMC_PLUGIN_TEMPLATE, "good_template", "test template (refuses to build)"},
        {LLMC_PLUGIN_SOLVER, "good_solver", "test solver (refuses to solve)"},
        {LLMC_PLUGIN_EMITTER, "good_emitter", "test emitter (writes good_emitter.txt)"},
    };
    for (size_t i = 0; i < 3; i++) {
        const llmc_plugin *p = llmc_registry_at(l.r, i);
        assert_int_equal(p->kind, want[i].kind);
        assert_string_equal(p->name, want[i].name);
        assert_string_equal(p->version, "1.2.3");
        assert_string_equal(p->description, want[i].description);
        assert_string_equal(p->file, file);
        assert_non_null(p->vtable);
        assert_ptr_equal(llmc_registry_find(l.r, want[i].kind, want[i].name), p);
    }
    assert_null(llmc_registry_at(l.r, 3));
    assert_null(llmc_registry_find(l.r, LLMC_PLUGIN_SOLVER, "good_template")); /* kind must match */
    assert_true(is_open(file));

    /* the vtables are usable: run the emitter into a temp dir and read what it wrote */
    char dir[] = "/tmp/llmc_test_registry_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const llmc_plugin *em = llmc_registry_require(l.r, LLMC_PLUGIN_EMITTER, "good_emitter", NULL);
    assert_non_null(em);
    const llmc_emitter_vtable *vt = em->vtable;
    assert_true(vt->struct_size >= sizeof *vt);
    assert_null(vt->check);
    llmc_emit_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.struct_size = sizeof ctx;
    ctx.emitter_name = em->name;
    ctx.out_dir = dir;
    ctx.threads = 3;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(vt->emit(&ctx, d), 0);
    assert_int_equal(llmc_diags_size(d), 0);
    char out[PATH_MAX + 32], buf[128];
    snprintf(out, sizeof out, "%s/good_emitter.txt", dir);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "emitter=good_emitter\nthreads=3\n");
    assert_int_equal(remove(out), 0);
    assert_int_equal(rmdir(dir), 0);

    /* the solver is reachable too and reports through the host's diagnostics */
    const llmc_plugin *so = llmc_registry_require(l.r, LLMC_PLUGIN_SOLVER, "good_solver", d);
    const llmc_solver_vtable *svt = so->vtable;
    llmc_solution sol;
    assert_int_equal(svt->solve(NULL, &sol, d), LLMC_SOLVE_ERROR);
    char *got = test_all_diags(d);
    assert_string_equal(got, "llmc: solver: good_solver is a test plugin: it does not solve sizing problems");
    free(got);
    llmc_diags_free(d);
    unload(&l);
}

static void test_load_file_directly(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("good", file);
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    /* a relative path works, is reported as the real path, and a second load is a no-op */
    char old[PATH_MAX];
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(LLMC_TEST_PLUGIN_DIR), 0);
    assert_int_equal(llmc_registry_load_file(r, "good/good.so", NULL, d), 0);
    assert_int_equal(llmc_registry_load_file(r, "./good/../good/good.so", NULL, d), 0);
    assert_int_equal(chdir(old), 0);
    assert_int_equal(llmc_registry_count(r), 3);
    assert_string_equal(llmc_registry_at(r, 0)->file, file);
    /* a failing file: -1, without a config it is a warning */
    char bad[PATH_MAX];
    plugin_file("empty_manifest", bad);
    assert_int_equal(llmc_registry_load_file(r, bad, NULL, d), -1);
    assert_int_equal(llmc_registry_failures(r), 1);
    assert_int_equal(llmc_diags_errors(d), 0);
    assert_int_equal(llmc_diags_warnings(d), 1);
    assert_int_equal(llmc_registry_load_file(r, "/nonexistent/y.so", NULL, d), -1);
    assert_string_equal(llmc_registry_failure_at(r, 1)->reason, "file missing");
    llmc_diags_free(d);
    llmc_registry_free(r);
}

/* ---- allow / disable ------------------------------------------------------------------------------ */

static void test_allow_list(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("good", file);
    const char *names[] = {"good", NULL};
    loaded l = load_plugins(names, "allow: [good_solver]\n");
    assert_int_equal(l.failures, 0);
    assert_string_equal(l.diags, "");
    assert_int_equal(llmc_registry_count(l.r), 1);
    assert_string_equal(llmc_registry_at(l.r, 0)->name, "good_solver");
    assert_int_equal(llmc_registry_skipped(l.r), 2);
    assert_string_equal(llmc_registry_skipped_at(l.r, 0)->plugin_name, "good_template");
    assert_string_equal(llmc_registry_skipped_at(l.r, 0)->reason, "not in the config's allow list");
    assert_string_equal(llmc_registry_skipped_at(l.r, 1)->plugin_name, "good_emitter");
    assert_string_equal(llmc_registry_skipped_at(l.r, 1)->file, file);

    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_registry_require(l.r, LLMC_PLUGIN_TEMPLATE, "good_template", d));
    char *got = test_all_diags(d);
    assert_string_equal(got, "llmc: template 'good_template' is not in the config's allow list (test.yaml: add it "
                             "under 'allow:')");
    free(got);
    llmc_diags_free(d);
    unload(&l);

    /* an allow list that names nothing in a file closes that file */
    loaded none = load_plugins(names, "allow: [something_else]\n");
    assert_int_equal(llmc_registry_count(none.r), 0);
    assert_false(is_open(file));
    unload(&none);
}

static void test_disable_list(void **state) {
    (void)state;
    const char *names[] = {"good", "bad_descs", NULL};
    /* a disabled plugin is neither registered nor checked: half_template's problem goes unreported */
    loaded l = load_plugins(names, "disable: [good_emitter, half_template]\n");
    assert_int_equal(llmc_registry_count(l.r), 3);
    assert_non_null(llmc_registry_find(l.r, LLMC_PLUGIN_TEMPLATE, "good_template"));
    assert_non_null(llmc_registry_find(l.r, LLMC_PLUGIN_SOLVER, "good_solver"));
    assert_null(llmc_registry_find(l.r, LLMC_PLUGIN_EMITTER, "good_emitter"));
    assert_non_null(llmc_registry_find(l.r, LLMC_PLUGIN_EMITTER, "bad_descs_emitter"));
    assert_int_equal(l.failures, 7);
    for (size_t i = 0; i < llmc_registry_failures(l.r); i++) {
        const char *pn = llmc_registry_failure_at(l.r, i)->plugin_name;
        assert_true(!pn || strcmp(pn, "half_template") != 0);
    }
    assert_null(strstr(l.diags, "half_template"));
    assert_int_equal(llmc_registry_skipped(l.r), 2);
    assert_string_equal(llmc_registry_skipped_at(l.r, 0)->reason, "disabled by the config");

    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_registry_require(l.r, LLMC_PLUGIN_EMITTER, "good_emitter", d));
    /* disabled wins over "failed": the user asked for it to be off */
    assert_null(llmc_registry_require(l.r, LLMC_PLUGIN_TEMPLATE, "half_template", d));
    char *got = test_all_diags(d);
    assert_string_equal(got, "llmc: emitter 'good_emitter' is disabled by the config (test.yaml lists it under "
                             "'disable:')\n"
                             "llmc: template 'half_template' is disabled by the config (test.yaml lists it under "
                             "'disable:')");
    free(got);
    llmc_diags_free(d);
    unload(&l);
}

/* ---- duplicates ------------------------------------------------------------------------------------- */

static void test_duplicates_name_both_files(void **state) {
    (void)state;
    char a[PATH_MAX], b[PATH_MAX];
    plugin_file("dup_a", a);
    plugin_file("dup_b", b);
    const char *names[] = {"dup_a", "dup_b", NULL};
    for (int strict = 0; strict <= 1; strict++) {
        loaded l = load_plugins(names, strict ? "strict_plugins: true\n" : NULL);
        assert_int_equal(l.failures, 1);
        assert_int_equal(llmc_registry_count(l.r), 1);
        const llmc_plugin *p = llmc_registry_at(l.r, 0);
        assert_string_equal(p->file, a); /* the first one found is kept */
        assert_int_equal(p->kind, LLMC_PLUGIN_SOLVER);
        const llmc_load_failure *f = llmc_registry_failure_at(l.r, 0);
        assert_string_equal(f->file, b);
        assert_string_equal(f->plugin_name, "dup_plugin");
        char want[4 * PATH_MAX];
        snprintf(want, sizeof want,
                 "plugin name 'dup_plugin' is already taken by the solver from %s; %s provides it too (remove one of "
                 "the files or rename one plugin)",
                 a, b);
        assert_string_equal(f->reason, want);
        char diag[6 * PATH_MAX];
        snprintf(diag, sizeof diag, "%s: %s%s", b, strict ? "" : "warning: ", want);
        assert_string_equal(l.diags, diag);
        assert_true(is_open(a));
        assert_false(is_open(b));

        /* asking for the emitter of that name: it exists, but as a solver from dup_a */
        llmc_diags *d = llmc_diags_create();
        assert_null(llmc_registry_require(l.r, LLMC_PLUGIN_EMITTER, "dup_plugin", d));
        char *got = test_all_diags(d);
        snprintf(want, sizeof want, "llmc: emitter 'dup_plugin' not found: the plugin named 'dup_plugin' in %s is a solver",
                 a);
        assert_string_equal(got, want);
        free(got);
        llmc_diags_free(d);
        unload(&l);
    }
}

/* ---- scanning --------------------------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void test_recursive_sorted_deduplicated_scan(void **state) {
    (void)state;
    char root[] = "/tmp/llmc_test_registry_XXXXXX";
    assert_non_null(mkdtemp(root));
    char real_root[PATH_MAX];
    assert_non_null(realpath(root, real_root));
    char src[PATH_MAX], p[PATH_MAX + 64];
    /* root/
     *   a/bad_abi.so          loaded first (sorted), fails
     *   b/z/good.so           loaded second, at depth 2
     *   link.so -> b/z/good.so  same real file: loaded once
     *   .hidden/dup_a.so      hidden folders are not entered
     *   notes.txt, c/empty    not .so: ignored */
    const char *dirs[] = {"a", "b", "b/z", ".hidden", "c", "c/empty"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    plugin_file("bad_abi", src);
    snprintf(p, sizeof p, "%s/a/bad_abi.so", root);
    copy_file(src, p);
    plugin_file("good", src);
    snprintf(p, sizeof p, "%s/b/z/good.so", root);
    copy_file(src, p);
    plugin_file("dup_a", src);
    snprintf(p, sizeof p, "%s/.hidden/dup_a.so", root);
    copy_file(src, p);
    snprintf(p, sizeof p, "%s/link.so", root);
    assert_int_equal(symlink("b/z/good.so", p), 0);
    snprintf(p, sizeof p, "%s/notes.txt", root);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("not a plugin\n", f);
    fclose(f);

    /* root twice and a folder inside it: every file is still loaded once */
    char text[4 * PATH_MAX];
    snprintf(text, sizeof text, "plugin_paths: [\"%s\", \"%s/b\", \"%s\", \"%s/missing\"]\n", root, root, root, root);
    llmc_config *c = config_from(text);
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_registry_load(r, c, d), 1);
    char want_bad[PATH_MAX + 32], want_good[PATH_MAX + 32];
    snprintf(want_bad, sizeof want_bad, "%s/a/bad_abi.so", real_root);
    snprintf(want_good, sizeof want_good, "%s/b/z/good.so", real_root);
    assert_string_equal(llmc_registry_failure_at(r, 0)->file, want_bad);
    assert_int_equal(llmc_registry_count(r), 3);
    for (size_t i = 0; i < 3; i++) assert_string_equal(llmc_registry_at(r, i)->file, want_good);
    assert_null(llmc_registry_find(r, LLMC_PLUGIN_SOLVER, "dup_plugin"));
    /* a missing search folder is skipped silently (only --plugins folders are failures) */
    assert_int_equal(llmc_diags_size(d), 1);
    assert_int_equal(llmc_registry_dirs(r), 4);
    bool exists = true;
    snprintf(p, sizeof p, "%s/missing", root);
    assert_string_equal(llmc_registry_dir_at(r, 3, &exists), p);
    assert_false(exists);
    assert_non_null(llmc_registry_dir_at(r, 0, &exists));
    assert_true(exists);
    assert_null(llmc_registry_dir_at(r, 4, &exists));
    llmc_diags_free(d);
    llmc_registry_free(r);
    llmc_config_free(c);

    const char *files[] = {"a/bad_abi.so", "b/z/good.so", ".hidden/dup_a.so", "link.so", "notes.txt", "c/empty",
                           "c", "b/z", "b", "a", ".hidden"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        if (remove(p) != 0) fail_msg("cannot remove %s", p);
    }
    assert_int_equal(rmdir(root), 0);
}

static void test_plugins_dirs_from_the_command_line(void **state) {
    (void)state;
    llmc_config *c = config_from("plugin_paths: [/nonexistent/config-dir]\n");
    assert_int_equal(llmc_config_prepend_plugin_path(c, "/nonexistent/cli-dir"), 0);
    char good_dir[PATH_MAX + 16];
    snprintf(good_dir, sizeof good_dir, "%s/good", LLMC_TEST_PLUGIN_DIR);
    assert_int_equal(llmc_config_prepend_plugin_path(c, good_dir), 0);
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    /* a --plugins folder the user typed must exist; the config's may be absent */
    assert_int_equal(llmc_registry_load(r, c, d), 1);
    char *got = test_all_diags(d);
    assert_string_equal(got, "/nonexistent/cli-dir: warning: plugin directory does not exist (given with --plugins)");
    free(got);
    assert_int_equal(llmc_registry_count(r), 3);
    /* a file where a folder is expected */
    char file[PATH_MAX];
    plugin_file("good", file);
    llmc_config *c2 = config_from("plugin_paths: []\n");
    assert_int_equal(llmc_config_prepend_plugin_path(c2, file), 0);
    llmc_registry *r2 = llmc_registry_create();
    llmc_diags_clear(d);
    assert_int_equal(llmc_registry_load(r2, c2, d), 1);
    assert_string_equal(llmc_registry_failure_at(r2, 0)->reason,
                        "is not a directory (plugin_paths lists folders; list single files under plugins:)");
    llmc_registry_free(r2);
    llmc_config_free(c2);
    llmc_diags_free(d);
    llmc_registry_free(r);
    llmc_config_free(c);
}

/* ---- require ----------------------------------------------------------------------------------------- */

static void test_require_messages(void **state) {
    (void)state;
    char good[PATH_MAX], abi[PATH_MAX], miss[PATH_MAX];
    plugin_file("good", good);
    plugin_file("bad_abi", abi);
    plugin_file("missing_fn", miss);
    char text[4 * PATH_MAX];
    snprintf(text, sizeof text,
             "plugin_paths: [\"%s/good\", \"%s/bad_abi\", \"%s/missing_fn\", /nonexistent/dir]\n"
             "plugins: [/nonexistent/extra.so]\n",
             LLMC_TEST_PLUGIN_DIR, LLMC_TEST_PLUGIN_DIR, LLMC_TEST_PLUGIN_DIR);
    llmc_config *c = config_from(text);
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_registry_load(r, c, d), 3);
    llmc_diags_clear(d);

    assert_non_null(llmc_registry_require(r, LLMC_PLUGIN_TEMPLATE, "good_template", d));
    assert_int_equal(llmc_diags_size(d), 0);
    /* failed to load, named by its manifest */
    assert_null(llmc_registry_require(r, LLMC_PLUGIN_EMITTER, "missing_fn_emitter", d));
    /* failed before its plugins could be named: matched by file stem */
    assert_null(llmc_registry_require(r, LLMC_PLUGIN_SOLVER, "bad_abi", d));
    /* not found: close name, the search path (missing folders marked), explicit files, what is loaded */
    assert_null(llmc_registry_require(r, LLMC_PLUGIN_TEMPLATE, "good_templat", d));
    assert_null(llmc_registry_require(r, LLMC_PLUGIN_EMITTER, "gguf", d));
    char *got = test_all_diags(d);
    char want[16384];
    snprintf(want, sizeof want,
             "llmc: emitter 'missing_fn_emitter' failed to load from %s: emitter 'missing_fn_emitter' lacks required "
             "function emit (NULL in its vtable)\n"
             "llmc: solver 'bad_abi' failed to load from %s: plugin built for llmc ABI 999, this llmc has ABI 2 "
             "(rebuild the plugin against this llmc's SDK)\n"
             "llmc: template 'good_templat' not found (did you mean 'good_template'?) in the plugin search path of "
             "test.yaml: %s/good, %s/bad_abi, %s/missing_fn, /nonexistent/dir (missing), /nonexistent/extra.so; "
             "loaded templates: good_template\n"
             "llmc: emitter 'gguf' not found in the plugin search path of test.yaml: %s/good, %s/bad_abi, "
             "%s/missing_fn, /nonexistent/dir (missing), /nonexistent/extra.so; loaded emitters: good_emitter",
             miss, abi, LLMC_TEST_PLUGIN_DIR, LLMC_TEST_PLUGIN_DIR, LLMC_TEST_PLUGIN_DIR, LLMC_TEST_PLUGIN_DIR,
             LLMC_TEST_PLUGIN_DIR, LLMC_TEST_PLUGIN_DIR);
    assert_string_equal(got, want);
    free(got);
    llmc_diags_free(d);
    llmc_registry_free(r);
    llmc_config_free(c);

    /* nothing to search at all */
    c = config_from("plugin_paths: []\n");
    r = llmc_registry_create();
    d = llmc_diags_create();
    assert_int_equal(llmc_registry_load(r, c, d), 0);
    assert_null(llmc_registry_require(r, LLMC_PLUGIN_SOLVER, "search", d));
    got = test_all_diags(d);
    assert_string_equal(got, "llmc: solver 'search' not found: test.yaml lists no plugin_paths and no plugins; no "
                             "solver is loaded");
    free(got);
    llmc_diags_free(d);
    llmc_registry_free(r);
    llmc_config_free(c);
}

/* Every in-tree plugin (build/plugins/<kind>/<name>.so) passes the loader, and each file
 * provides a plugin named after it, of the kind its folder says. */
static void test_in_tree_plugins_load_cleanly(void **state) {
    (void)state;
    llmc_config *c = config_from("plugin_paths: [\"" LLMC_BINARY_DIR "/plugins\"]\n");
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    size_t failures = llmc_registry_load(r, c, d);
    char *got = test_all_diags(d);
    if (failures || got[0]) fail_msg("in-tree plugins failed to load:\n%s", got);
    free(got);
    static const struct {
        const char *folder;
        llmc_plugin_kind kind;
    } kinds[] = {{"templates", LLMC_PLUGIN_TEMPLATE}, {"solvers", LLMC_PLUGIN_SOLVER}, {"emitters", LLMC_PLUGIN_EMITTER},
                 {"tokenizers", LLMC_PLUGIN_TOKENIZER}};
    for (size_t i = 0; i < llmc_registry_count(r); i++) {
        const llmc_plugin *p = llmc_registry_at(r, i);
        char stem[256];
        const char *base = strrchr(p->file, '/') + 1;
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(base) - 3), base);
        const llmc_plugin *named = NULL;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds && !named; k++) {
            char needle[64];
            snprintf(needle, sizeof needle, "/plugins/%s/", kinds[k].folder);
            if (strstr(p->file, needle)) named = llmc_registry_find(r, kinds[k].kind, stem);
        }
        if (!named) fail_msg("%s provides no plugin named '%s' of its folder's kind", p->file, stem);
    }
    /* every built file contributed (each provides at least its namesake) */
    glob_t g;
    size_t n_files = 0;
    if (glob(LLMC_BINARY_DIR "/plugins/*/*.so", 0, NULL, &g) == 0) n_files = g.gl_pathc;
    for (size_t i = 0; i < n_files; i++) {
        char real[PATH_MAX];
        assert_non_null(realpath(g.gl_pathv[i], real));
        bool found = false;
        for (size_t k = 0; k < llmc_registry_count(r) && !found; k++) found = !strcmp(llmc_registry_at(r, k)->file, real);
        if (!found) fail_msg("%s was not registered", real);
    }
    if (n_files) globfree(&g);
    llmc_diags_free(d);
    llmc_registry_free(r);
    llmc_config_free(c);
}

/* ---- corrupt files and manifests (never a crash) ------------------------------------------------ */

static void test_entry_symbol_is_data(void **state) {
    (void)state;
    expect_failure("data_entry", NULL,
                   "the entry symbol 'llmc_plugin_entry' is a data object, not a function (define it with "
                   "LLMC_DEFINE_PLUGIN_ENTRY)");
}

static void test_manifest_count_larger_than_its_array(void **state) {
    (void)state;
    expect_failure("overcount", NULL,
                   "the manifest claims 5 plugins, but its plugin array holds 1 (a corrupt manifest: "
                   "LLMC_DEFINE_PLUGIN_ENTRY counts the array for you)");
}

/* Stripped: no symbol gives the array's size; the end of the plugin's data still bounds it. */
static void test_manifest_count_past_the_data_of_a_stripped_plugin(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("overcount_stripped", file);
    const char *names[] = {"overcount_stripped", NULL};
    loaded l = load_plugins(names, NULL);
    assert_int_equal(l.failures, 1);
    const llmc_load_failure *f = llmc_registry_failure_at(l.r, 0);
    assert_string_equal(f->file, file);
    const char *prefix = "the manifest claims 1000 plugins, but the plugin's data ends after ";
    if (strncmp(f->reason, prefix, strlen(prefix)) != 0 || !strstr(f->reason, " descriptors (a corrupt manifest"))
        fail_msg("unexpected reason: %s", f->reason);
    assert_int_equal(llmc_registry_count(l.r), 0);
    assert_false(is_open(file));
    unload(&l);
}

static void test_manifest_outside_the_plugin(void **state) {
    (void)state;
    expect_failure("wild_manifest", NULL,
                   "llmc_plugin_entry() returned a manifest that is not inside the plugin (it must be static data of "
                   "the plugin, as LLMC_DEFINE_PLUGIN_ENTRY makes it)");
}

static void test_descriptor_pointers_outside_the_plugin(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("wild_pointers", file);
    const char *names[] = {"wild_pointers", NULL};
    loaded l = load_plugins(names, NULL);
    static const struct {
        const char *plugin, *reason;
    } want[] = {
        {NULL, "plugin #1 of the manifest: its name is not a string inside the plugin (a corrupt manifest?)"},
        {"wild_version", "plugin 'wild_version': its version is not a string inside the plugin (a corrupt manifest?)"},
        {"wild_description",
         "plugin 'wild_description': its description is not a string inside the plugin (a corrupt manifest?)"},
        {"wild_vtable", "solver 'wild_vtable': its vtable pointer does not point inside the plugin (a corrupt manifest?)"},
        {"wild_function",
         "solver 'wild_function': function solve of its vtable does not point at code of the plugin (a corrupt "
         "vtable?)"},
    };
    size_t n = sizeof want / sizeof *want;
    assert_int_equal(l.failures, n);
    for (size_t i = 0; i < n; i++) {
        const llmc_load_failure *f = llmc_registry_failure_at(l.r, i);
        assert_string_equal(f->file, file);
        if (want[i].plugin) assert_string_equal(f->plugin_name, want[i].plugin);
        else assert_null(f->plugin_name);
        assert_string_equal(f->reason, want[i].reason);
    }
    assert_int_equal(llmc_registry_count(l.r), 1);
    assert_string_equal(llmc_registry_at(l.r, 0)->name, "wild_pointers_ok");
    unload(&l);
}

/* dir/x.so := the first n bytes of src, patched by patch (may be NULL); load it alone and
 * return the one failure's reason (caller frees) */
static char *load_variant(const char *dir, const char *src, size_t n, void (*patch)(unsigned char *, size_t)) {
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    unsigned char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, n, in), n);
    fclose(in);
    if (patch) patch(buf, n);
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/x.so", dir);
    FILE *out = fopen(so, "wb");
    assert_non_null(out);
    if (n) assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(fclose(out), 0);
    free(buf);
    llmc_registry *r = llmc_registry_create();
    llmc_diags *d = llmc_diags_create();
    int rc = llmc_registry_load_file(r, so, NULL, d);
    char *reason = NULL;
    if (rc == -1 && llmc_registry_failures(r) == 1) {
        reason = strdup(llmc_registry_failure_at(r, 0)->reason);
        assert_int_equal(llmc_registry_count(r), 0);
    } else {
        reason = strdup(rc == 0 && llmc_registry_count(r) > 0 ? "(loaded)" : "(unexpected)");
    }
    llmc_diags_free(d);
    llmc_registry_free(r);
    assert_int_equal(remove(so), 0);
    return reason;
}

static void expect_reason(char *got, const char *needle) {
    const char *prefix = "cannot be loaded as a shared object: ";
    if (strncmp(got, prefix, strlen(prefix)) != 0 || !strstr(got, needle))
        fail_msg("expected '%s...%s', got '%s'", prefix, needle, got);
    free(got);
}

static long file_size(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* A plugin file cut short (an interrupted copy) is refused before dlopen, which would map the
 * missing bytes and die of SIGBUS on touching them. */
static void test_truncated_shared_object(void **state) {
    (void)state;
    char dir[] = "/tmp/llmc_test_registry_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char src[PATH_MAX];
    plugin_file("good", src);
    size_t size = (size_t)file_size(src);
    expect_reason(load_variant(dir, src, 0, NULL), "0 bytes, too short for an ELF header (a truncated copy?)");
    expect_reason(load_variant(dir, src, 40, NULL), "40 bytes, too short for an ELF header");
    expect_reason(load_variant(dir, src, 100, NULL), "its program headers (file bytes [64, +");
    expect_reason(load_variant(dir, src, 4096, NULL), "but the file has 4096 bytes (a truncated copy?)");
    expect_reason(load_variant(dir, src, size / 2, NULL), "(a truncated copy?)");
    expect_reason(load_variant(dir, src, size - 1, NULL), "(a truncated copy?)");
    char *whole = load_variant(dir, src, size, NULL); /* the same bytes, complete: fine */
    assert_string_equal(whole, "(loaded)");
    free(whole);
    assert_int_equal(rmdir(dir), 0);
}

static ElfW(Ehdr) *ehdr(unsigned char *b) { return (ElfW(Ehdr) *)(void *)b; }
static ElfW(Phdr) *phdr_of_type(unsigned char *b, uint32_t type) {
    ElfW(Ehdr) *eh = ehdr(b);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        ElfW(Phdr) *p = (ElfW(Phdr) *)(void *)(b + eh->e_phoff + (size_t)i * sizeof(ElfW(Phdr)));
        if (p->p_type == type) return p;
    }
    fail_msg("no program header of type %u", (unsigned)type);
    return NULL;
}
static void make_executable(unsigned char *b, size_t n) { (void)n; ehdr(b)->e_type = ET_EXEC; }
static void make_object(unsigned char *b, size_t n) { (void)n; ehdr(b)->e_type = ET_REL; }
static void make_foreign(unsigned char *b, size_t n) {
    (void)n;
    ehdr(b)->e_machine = ehdr(b)->e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
}
static void make_other_class(unsigned char *b, size_t n) {
    (void)n;
    b[EI_CLASS] = b[EI_CLASS] == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64;
}
static void make_other_byte_order(unsigned char *b, size_t n) {
    (void)n;
    b[EI_DATA] = b[EI_DATA] == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
}
static void make_not_elf(unsigned char *b, size_t n) { (void)n; b[1] = 'X'; }
static void move_phdrs_away(unsigned char *b, size_t n) { ehdr(b)->e_phoff = (ElfW(Off))n - 8; }
static void grow_a_segment(unsigned char *b, size_t n) {
    ElfW(Phdr) *p = phdr_of_type(b, PT_LOAD);
    p->p_filesz = p->p_memsz = (ElfW(Xword))n * 2;
}
static void move_dynamic_away(unsigned char *b, size_t n) {
    (void)n;
    phdr_of_type(b, PT_DYNAMIC)->p_vaddr += (ElfW(Addr))1 << 40;
}
static void drop_dynamic(unsigned char *b, size_t n) {
    (void)n;
    phdr_of_type(b, PT_DYNAMIC)->p_type = PT_NULL;
}
static void move_sections_away(unsigned char *b, size_t n) { ehdr(b)->e_shoff = (ElfW(Off))n; }
static void corrupt_symtab_pointer(unsigned char *b, size_t n) {
    (void)n;
    ElfW(Phdr) *dyn = phdr_of_type(b, PT_DYNAMIC);
    for (ElfW(Dyn) *d = (ElfW(Dyn) *)(void *)(b + dyn->p_offset); d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_SYMTAB) d->d_un.d_ptr = (ElfW(Addr))1 << 40;
}

/* Headers that lie: each refused with its own reason, before dlopen. */
static void test_corrupt_elf_headers(void **state) {
    (void)state;
    char dir[] = "/tmp/llmc_test_registry_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char src[PATH_MAX];
    plugin_file("good", src);
    size_t n = (size_t)file_size(src);
    expect_reason(load_variant(dir, src, n, make_not_elf), "not an ELF file (it does not start with the ELF magic");
    expect_reason(load_variant(dir, src, n, make_executable),
                  "it is an executable program, not a library (link the plugin with -shared)");
    expect_reason(load_variant(dir, src, n, make_object), "it is an object file (.o), not a library");
    expect_reason(load_variant(dir, src, n, make_foreign), "(rebuild the plugin for this machine)");
    expect_reason(load_variant(dir, src, n, make_other_class), "ELF file; this llmc is");
    expect_reason(load_variant(dir, src, n, make_other_byte_order), "byte order; this machine is");
    expect_reason(load_variant(dir, src, n, move_phdrs_away), "its program headers (file bytes [");
    expect_reason(load_variant(dir, src, n, grow_a_segment), "segment 0 (LOAD) needs file bytes [");
    expect_reason(load_variant(dir, src, n, move_dynamic_away), "is not inside a loaded segment (a corrupt file)");
    expect_reason(load_variant(dir, src, n, drop_dynamic), "it has no dynamic section");
    expect_reason(load_variant(dir, src, n, move_sections_away), "its section headers (");
    expect_reason(load_variant(dir, src, n, corrupt_symtab_pointer),
                  "its dynamic section's DT_SYMTAB (0x10000000000, 1 bytes) points outside the loaded segments");
    assert_int_equal(rmdir(dir), 0);
}

/* The plugin image: what the pointer checks accept */
static void test_plugin_image(void **state) {
    (void)state;
    char file[PATH_MAX];
    plugin_file("good", file);
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    llmc_plugin_image img;
    assert_int_equal(llmc_plugin_image_of(h, &img), 0);
    void *entry = dlsym(h, "llmc_plugin_entry");
    assert_non_null(entry);
    assert_true(llmc_image_code(&img, entry));
    llmc_plugin_entry_fn fn;
    memcpy(&fn, &entry, sizeof fn);
    const llmc_plugin_manifest *m = fn();
    assert_true(llmc_image_holds(&img, m, sizeof *m));
    assert_false(llmc_image_code(&img, m));          /* data is not code */
    assert_true(llmc_image_string(&img, m->plugins[0].name));
    static const char outside[] = "a string of the test program";
    assert_false(llmc_image_string(&img, outside));
    assert_false(llmc_image_holds(&img, outside, 1));
    assert_false(llmc_image_holds(&img, m, 0));
    assert_false(llmc_image_holds(&img, (const void *)(uintptr_t)64, 1));
    assert_int_equal(llmc_plugin_image_of(NULL, &img), -1);
    dlclose(h);
}

static void test_kind_names(void **state) {
    (void)state;
    assert_string_equal(llmc_plugin_kind_name(LLMC_PLUGIN_TEMPLATE), "template");
    assert_string_equal(llmc_plugin_kind_name(LLMC_PLUGIN_SOLVER), "solver");
    assert_string_equal(llmc_plugin_kind_name(LLMC_PLUGIN_EMITTER), "emitter");
    assert_string_equal(llmc_plugin_kind_name((llmc_plugin_kind)42), "unknown kind");
    /* an empty registry answers every query without crashing */
    llmc_registry *r = llmc_registry_create();
    assert_int_equal(llmc_registry_count(r), 0);
    assert_null(llmc_registry_at(r, 0));
    assert_null(llmc_registry_failure_at(r, 0));
    assert_null(llmc_registry_find(r, LLMC_PLUGIN_SOLVER, "x"));
    llmc_registry_free(r);
    llmc_registry_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_abi),
        cmocka_unit_test(test_abi1_refused),
        cmocka_unit_test(test_no_entry),
        cmocka_unit_test(test_null_manifest),
        cmocka_unit_test(test_empty_manifest),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_missing_function),
        cmocka_unit_test(test_small_vtable),
        cmocka_unit_test(test_has_member),
        cmocka_unit_test(test_not_a_shared_object),
        cmocka_unit_test(test_file_missing),
        cmocka_unit_test(test_bad_descriptors_one_by_one),
        cmocka_unit_test(test_good_plugin),
        cmocka_unit_test(test_load_file_directly),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_disable_list),
        cmocka_unit_test(test_duplicates_name_both_files),
        cmocka_unit_test(test_recursive_sorted_deduplicated_scan),
        cmocka_unit_test(test_plugins_dirs_from_the_command_line),
        cmocka_unit_test(test_require_messages),
        cmocka_unit_test(test_in_tree_plugins_load_cleanly),
        cmocka_unit_test(test_entry_symbol_is_data),
        cmocka_unit_test(test_manifest_count_larger_than_its_array),
        cmocka_unit_test(test_manifest_count_past_the_data_of_a_stripped_plugin),
        cmocka_unit_test(test_manifest_outside_the_plugin),
        cmocka_unit_test(test_descriptor_pointers_outside_the_plugin),
        cmocka_unit_test(test_truncated_shared_object),
        cmocka_unit_test(test_corrupt_elf_headers),
        cmocka_unit_test(test_plugin_image),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
