/* The llmc commands. Each parses its own options, runs, prints diagnostics, returns an exit code. */
#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline_internal.h"
#include "util.h"

/* ---- option parsing ------------------------------------------------------------------------------------ */

typedef struct opt_reader {
    int argc, i;
    char **argv;
    const char *cmd;
    int bad;
} opt_reader;

/* "--name VALUE" or "--name=VALUE" (and a short alias such as -o). Returns the value or NULL. */
static const char *opt_value(opt_reader *r, const char *name, const char *alias) {
    const char *a = r->argv[r->i];
    size_t n = strlen(name);
    if (!strncmp(a, name, n) && a[n] == '=') return a + n + 1;
    if (strcmp(a, name) && (!alias || strcmp(a, alias))) return NULL;
    if (r->i + 1 >= r->argc) {
        fprintf(stderr, "llmc %s: %s needs a value\n", r->cmd, name);
        r->bad = 1;
        return NULL;
    }
    return r->argv[++r->i];
}

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "llmc %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    cli_command_usage(stderr, cli_find_command(cmd));
    return LLMC_EXIT_USAGE;
}

/* a positive count for the report options (--context 8192, --batch 4) */
static int parse_positive(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > INT64_C(2147483647)) return 1;
    *out = v;
    return 0;
}

static int parse_threads(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 256) return 1;
    *out = (int)v;
    return 0;
}

/* compile and solve share their options */
static int parse_build_opts(const char *cmd, int argc, char **argv, llmc_compile_params *p, bool *json) {
    opt_reader r = {argc, 0, argv, cmd, 0};
    for (r.i = 0; r.i < argc; r.i++) {
        const char *a = argv[r.i], *v;
        bool is_compile = !strcmp(cmd, "compile");
        if (is_compile && (v = opt_value(&r, "--output", "-o"))) p->out_dir = v;
        else if (is_compile && (v = opt_value(&r, "--emit", NULL))) p->emit = v;
        else if (is_compile && !strcmp(a, "--force")) p->force = true;
        else if (is_compile && !strcmp(a, "--allow-nonfinite")) p->allow_nonfinite = true;
        else if (is_compile && (v = opt_value(&r, "--weights", NULL))) p->weights = v;
        else if (is_compile && (v = opt_value(&r, "--dtype", NULL))) p->dtype = v;
        else if (is_compile && (v = opt_value(&r, "--threads", NULL))) {
            if (parse_threads(v, &p->threads)) return usage_error(cmd, "--threads: expected 1..256, got '%s'", v);
        } else if ((v = opt_value(&r, "--solver", NULL))) p->solver = v;
        else if (!strcmp(a, "--explain")) p->explain = true;
        /* the report's settings: solve only (compile writes the report at its defaults, which
         * `llmc validate` reproduces from OUT/spec.json) */
        else if (!is_compile && (v = opt_value(&r, "--kv-dtype", NULL))) {
            if (llmc_pipeline_parse_dtype(v, &p->design.kv_dtype))
                return usage_error(cmd, "--kv-dtype: expected bfloat16, float16 or float32, got '%s'", v);
        } else if (!is_compile && (v = opt_value(&r, "--context", NULL))) {
            if (parse_positive(v, &p->design.context)) return usage_error(cmd, "--context: expected tokens >= 1, got '%s'", v);
        } else if (!is_compile && (v = opt_value(&r, "--batch", NULL))) {
            if (parse_positive(v, &p->design.batch)) return usage_error(cmd, "--batch: expected sequences >= 1, got '%s'", v);
        } else if (!is_compile && (v = opt_value(&r, "--micro-batch", NULL))) {
            if (parse_positive(v, &p->design.micro_batch))
                return usage_error(cmd, "--micro-batch: expected sequences >= 1, got '%s'", v);
        } else if (!is_compile && (v = opt_value(&r, "--seq-len", NULL))) {
            if (parse_positive(v, &p->design.seq_len)) return usage_error(cmd, "--seq-len: expected tokens >= 1, got '%s'", v);
        }
        else if (!is_compile && json && !strcmp(a, "--json")) *json = true;
        else if (r.bad) return LLMC_EXIT_USAGE;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_command_usage(stdout, cli_find_command(cmd));
            return -1;
        } else if (a[0] == '-' && a[1]) return usage_error(cmd, "unknown option '%s'", a);
        else if (!p->spec_path) p->spec_path = a;
        else return usage_error(cmd, "unexpected argument '%s'", a);
        if (r.bad) return LLMC_EXIT_USAGE;
    }
    if (!p->spec_path) return usage_error(cmd, "%s", "no SPEC given");
    if (!strcmp(cmd, "compile") && !p->out_dir) return usage_error(cmd, "%s", "no output directory given (-o OUT)");
    return 0;
}

static int finish(llmc_diags *d, llmc_host *h, int rc) {
    cli_print_diags(d);
    llmc_diags_free(d);
    if (h) cli_free_host(h);
    return rc;
}

/* ---- compile / solve --------------------------------------------------------------------------------------- */

int cmd_compile(const cli_globals *g, int argc, char **argv) {
    llmc_compile_params p = llmc_compile_default_params();
    int rc = parse_build_opts("compile", argc, argv, &p, NULL);
    if (rc) return rc < 0 ? 0 : rc;
    p.progress = true; /* the bar itself checks for a TTY */
    llmc_diags *d = llmc_diags_create();
    llmc_host h;
    rc = cli_load_host(g, &h, d);
    if (rc) return finish(d, &h, rc);
    rc = llmc_compile(&h, &p, d);
    return finish(d, &h, rc);
}

int cmd_solve(const cli_globals *g, int argc, char **argv) {
    llmc_compile_params p = llmc_compile_default_params();
    bool json = false;
    int rc = parse_build_opts("solve", argc, argv, &p, &json);
    if (rc) return rc < 0 ? 0 : rc;
    llmc_diags *d = llmc_diags_create();
    llmc_host h;
    rc = cli_load_host(g, &h, d);
    if (rc) return finish(d, &h, rc);
    llmc_model m;
    rc = llmc_model_prepare(&h, &p, &m, d);
    if (rc == LLMC_EXIT_OK) {
        if (json) {
            char *s = llmc_solution_json(&m);
            if (s) fputs(s, stdout);
            else rc = LLMC_EXIT_IO;
            free(s);
        } else if (llmc_print_solve_table(stdout, &m, d) != 0) {
            rc = LLMC_EXIT_SPEC;
        }
    }
    llmc_model_free(&m);
    return finish(d, &h, rc);
}

/* ---- listings ------------------------------------------------------------------------------------------------ */

static int no_args(const char *cmd, int argc, char **argv) {
    if (argc > 0) {
        if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
            cli_command_usage(stdout, cli_find_command(cmd));
            return -1;
        }
        return usage_error(cmd, "unexpected argument '%s'", argv[0]);
    }
    return 0;
}

int cmd_templates(const cli_globals *g, int argc, char **argv) {
    int rc = no_args("templates", argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    llmc_diags *d = llmc_diags_create();
    llmc_host h;
    rc = cli_load_host(g, &h, d);
    if (rc) return finish(d, &h, rc);
    size_t n = 0;
    for (size_t i = 0; i < llmc_registry_count(h.registry); i++) {
        const llmc_plugin *pl = llmc_registry_at(h.registry, i);
        if (pl->kind != LLMC_PLUGIN_TEMPLATE) continue;
        printf("%-20s %-8s %s\n%-20s %-8s %s\n", pl->name, pl->version, pl->description, "", "", pl->file);
        n++;
    }
    if (n == 0) printf("no templates loaded (see 'llmc plugins')\n");
    return finish(d, &h, rc);
}

int cmd_plugins(const cli_globals *g, int argc, char **argv) {
    int rc = no_args("plugins", argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    llmc_diags *d = llmc_diags_create();
    llmc_host h;
    rc = cli_load_host(g, &h, d);
    if (rc && !h.registry) return finish(d, &h, rc);
    printf("config: %s%s%s%s\n", h.config && h.config->path ? h.config->path : "(none)",
           h.config && h.config->origin ? " (" : "", h.config && h.config->origin ? h.config->origin : "",
           h.config && h.config->origin ? ")" : "");
    for (size_t i = 0; i < llmc_registry_dirs(h.registry); i++) {
        bool exists = false;
        const char *dir = llmc_registry_dir_at(h.registry, i, &exists);
        printf("search: %s%s\n", dir, exists ? "" : " (missing)");
    }
    if (h.config) { /* what a spec without solver/emit gets: per-team configs differ here */
        printf("defaults: solver %s, emit [", h.config->default_solver ? h.config->default_solver : "search");
        for (size_t i = 0; i < h.config->n_default_emit; i++) printf("%s%s", i ? ", " : "", h.config->default_emit[i]);
        printf("]\n");
    }
    printf("\n%-9s %-20s %-8s %s\n", "KIND", "NAME", "VERSION", "FILE");
    for (size_t i = 0; i < llmc_registry_count(h.registry); i++) {
        const llmc_plugin *pl = llmc_registry_at(h.registry, i);
        printf("%-9s %-20s %-8s %s\n", llmc_plugin_kind_name(pl->kind), pl->name, pl->version, pl->file);
    }
    size_t nf = llmc_registry_failures(h.registry);
    if (nf) {
        printf("\nfailed to load:\n");
        for (size_t i = 0; i < nf; i++) {
            const llmc_load_failure *f = llmc_registry_failure_at(h.registry, i);
            printf("  %s%s%s%s: %s\n", f->file, f->plugin_name ? " (" : "", f->plugin_name ? f->plugin_name : "",
                   f->plugin_name ? ")" : "", f->reason);
        }
    }
    size_t ns = llmc_registry_skipped(h.registry);
    if (ns) {
        printf("\nskipped by the config (allow/disable):\n");
        for (size_t i = 0; i < ns; i++) {
            const llmc_load_failure *f = llmc_registry_skipped_at(h.registry, i);
            printf("  %s%s%s%s: %s\n", f->file, f->plugin_name ? " (" : "", f->plugin_name ? f->plugin_name : "",
                   f->plugin_name ? ")" : "", f->reason);
        }
    }
    /* the failures were already listed on stdout; keep stderr for other problems */
    llmc_diags *rest = llmc_diags_create();
    for (size_t i = 0; i < llmc_diags_size(d); i++) {
        const llmc_diag *x = llmc_diags_get(d, i);
        if (x->severity == LLMC_SEV_ERROR)
            llmc_diag_add(rest, x->severity, x->loc, x->key, "%s", x->message);
    }
    llmc_diags_free(d);
    return finish(rest, &h, rc);
}

/* ---- inspect ------------------------------------------------------------------------------------------------- */

int cmd_inspect(const cli_globals *g, int argc, char **argv) {
    (void)g;
    const char *target = NULL, *dot_file = NULL;
    bool dot = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dot")) {
            dot = true;
            if (i + 1 < argc && argv[i + 1][0] != '-' && target) dot_file = argv[++i];
        } else if (!strncmp(a, "--dot=", 6)) {
            dot = true;
            dot_file = a + 6;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_command_usage(stdout, cli_find_command("inspect"));
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("inspect", "unknown option '%s'", a);
        } else if (!target) {
            target = a;
        } else if (dot && !dot_file) {
            dot_file = a;
        } else {
            return usage_error("inspect", "unexpected argument '%s'", a);
        }
    }
    if (!target) return usage_error("inspect", "%s", "no OUT directory or ir.json given");
    char path[PATH_MAX];
    struct stat st;
    if (stat(target, &st) != 0) {
        fprintf(stderr, "llmc: cannot read '%s': %s\n", target, strerror(errno));
        return LLMC_EXIT_IO;
    }
    if (S_ISDIR(st.st_mode)) snprintf(path, sizeof path, "%s/ir.json", target);
    else snprintf(path, sizeof path, "%s", target);
    /* unreadable (missing, a directory, a FIFO: refused at once) is I/O; read but wrong is 1 */
    if (llmc_check_regular_file(path) != 0) {
        fprintf(stderr, "llmc: cannot read '%s': %s\n", path, llmc_read_file_error(path, errno));
        return LLMC_EXIT_IO;
    }
    llmc_diags *d = llmc_diags_create();
    llmc_ir *ir = llmc_ir_load_json_file(path, d);
    if (!ir) return finish(d, NULL, LLMC_EXIT_SPEC);
    int rc = LLMC_EXIT_OK;
    if (dot) {
        FILE *f = dot_file ? fopen(dot_file, "w") : stdout;
        if (!f) {
            llmc_error(d, "--dot", "cannot write '%s': %s", dot_file, strerror(errno));
            rc = LLMC_EXIT_IO;
        } else {
            if (llmc_ir_write_dot(ir, f) != 0) rc = LLMC_EXIT_IO;
            if (dot_file && llmc_out_close(f, dot_file, d) != 0) rc = LLMC_EXIT_IO;
            if (dot_file && rc == 0) printf("wrote %s\n", dot_file);
        }
    } else {
        llmc_param_count c;
        if (llmc_ir_count_params(ir, &c, d) != 0) {
            rc = LLMC_EXIT_SPEC;
        } else {
            char a[32];
            const char *name = llmc_ir_get_meta(ir, "name"), *tmpl = llmc_ir_get_meta(ir, "template");
            printf("%s (template %s)\n", name ? name : "?", tmpl ? tmpl : "?");
            size_t n_params = 0, n_inputs = 0;
            for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
                const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
                n_params += ti->kind == LLMC_TENSOR_PARAM;
                n_inputs += ti->kind == LLMC_TENSOR_INPUT;
            }
            printf("tensors %zu (%zu parameters, %zu inputs), ops %zu, outputs %zu\n", llmc_ir_num_tensors(ir),
                   n_params, n_inputs, llmc_ir_num_ops(ir), llmc_ir_num_outputs(ir));
            printf("parameters %s\n", llmc_fmt_count(c.total, a, sizeof a));
            if (c.active != c.total) printf("active parameters %s\n", llmc_fmt_count(c.active, a, sizeof a));
            for (int k = 0; k < LLMC_COMP_COUNT; k++)
                printf("  %-12s %16s\n", llmc_component_name((llmc_component)k),
                       llmc_fmt_count(c.component[k], a, sizeof a));
            size_t per_type[LLMC_OP_TYPE_COUNT] = {0};
            for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) per_type[llmc_ir_op_at(ir, i)->type]++;
            printf("ops by type:\n");
            for (int k = 0; k < LLMC_OP_TYPE_COUNT; k++)
                if (per_type[k]) printf("  %-22s %zu\n", llmc_op_type_name((llmc_op_type)k), per_type[k]);
        }
    }
    llmc_ir_free(ir);
    return finish(d, NULL, rc);
}

/* ---- validate ------------------------------------------------------------------------------------------------ */

int cmd_validate(const cli_globals *g, int argc, char **argv) {
    llmc_validate_params vp = llmc_validate_default_params();
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_command_usage(stdout, cli_find_command("validate"));
            return 0;
        }
        if (!strcmp(argv[i], "--quick")) vp.quick = true;
        else if (argv[i][0] == '-') return usage_error("validate", "unknown option '%s'", argv[i]);
        else if (vp.out_dir) return usage_error("validate", "%s", "expected exactly one OUT directory");
        else vp.out_dir = argv[i];
    }
    if (!vp.out_dir) return usage_error("validate", "%s", "expected exactly one OUT directory");
    llmc_diags *d = llmc_diags_create();
    llmc_host h;
    int rc = cli_load_host(g, &h, d);
    if (rc) return finish(d, &h, rc);
    rc = llmc_validate_output(&h, &vp, stdout, d);
    return finish(d, &h, rc);
}

/* ---- version / help ----------------------------------------------------------------------------------------------- */

int cmd_version(const cli_globals *g, int argc, char **argv) {
    (void)g;
    (void)argc;
    (void)argv;
    printf("llmc %s (plugin ABI %u)\n", llmc_version(), llmc_abi_version());
    return 0;
}

int cmd_help(const cli_globals *g, int argc, char **argv) {
    (void)g;
    if (argc == 0) {
        cli_usage(stdout);
        return 0;
    }
    const cli_command *c = cli_find_command(argv[0]);
    if (!c) {
        fprintf(stderr, "llmc help: unknown command '%s'\n", argv[0]);
        return LLMC_EXIT_USAGE;
    }
    cli_command_usage(stdout, c);
    return 0;
}
