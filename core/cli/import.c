/* llmc import: a Hugging Face model folder (or its config.json) -> a spec file.
 *
 * The spec is written to a temporary file beside OUT, compiled there as far as the count (so a spec
 * llmc cannot build is never left behind), and only then moved into place: without --force an
 * existing OUT is refused, and --force replaces only a file an earlier `llmc import` wrote.
 * --scale F / --target-params N keep the family's choices and leave the dims to the solver. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "import_hf.h"
#include "util.h"

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "llmc import: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    cli_command_usage(stderr, cli_find_command("import"));
    return LLMC_EXIT_USAGE;
}

static int finish(llmc_diags *d, llmc_host *h, int rc) {
    cli_print_diags(d);
    llmc_diags_free(d);
    if (h) cli_free_host(h);
    return rc;
}

/* whether the file at path starts with the line every imported spec starts with */
static bool written_by_import(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[64] = {0};
    bool yes = fgets(line, sizeof line, f) && !strncmp(line, LLMC_IMPORT_HEADER, strlen(LLMC_IMPORT_HEADER));
    fclose(f);
    return yes;
}

/* move tmp to out: link() refuses an existing out atomically; --force renames over a spec import wrote */
static int place(const char *tmp, const char *out, bool force, llmc_diags *d) {
    struct stat st;
    if (lstat(out, &st) == 0) {
        if (!force) {
            llmc_error(d, NULL, "%s: exists (use --force to replace a spec written by llmc import)", out);
            return -1;
        }
        if (!S_ISREG(st.st_mode) || !written_by_import(out)) {
            llmc_error(d, NULL, "%s: --force refused: not a spec written by llmc import (its first line is not "
                                "\"%s ...\"); move it away or choose another -o", out, LLMC_IMPORT_HEADER);
            return -1;
        }
        if (rename(tmp, out) != 0) {
            llmc_error(d, NULL, "%s: cannot replace: %s", out, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (link(tmp, out) != 0) {
        llmc_error(d, NULL, "%s: cannot create: %s", out,
                   errno == EEXIST ? "it appeared while llmc import ran (not replaced)" : strerror(errno));
        return -1;
    }
    unlink(tmp);
    return 0;
}

static bool file_in(const char *dir, const char *name) {
    char p[4200];
    struct stat st;
    return snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* --compile: the spec names the folder as its checkpoint (and tokenizer, when the folder has one)
 * and is compiled straight away; OUT/spec.json keeps it. The spec lives in a temporary file meanwhile. */
static int import_and_compile(const cli_globals *g, const char *config, const char *dir, llmc_import_params *ip,
                              llmc_compile_params *cp) {
    llmc_diags *d = llmc_diags_create();
    char *folder = realpath(dir, NULL);
    if (!folder) {
        llmc_error(d, NULL, "%s: %s", dir, strerror(errno));
        return finish(d, NULL, LLMC_EXIT_IO);
    }
    ip->checkpoint = folder;
    if (file_in(folder, "tokenizer.json") || file_in(folder, "tokenizer.model")) ip->tokenizer = folder;
    int rc = LLMC_EXIT_OK;
    char *yaml = llmc_import_hf_config(config, dir, ip, &rc, d);
    if (!yaml) {
        free(folder);
        return finish(d, NULL, rc);
    }
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/llmc-import-XXXXXX.yaml", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemps(tmp, 5);
    size_t len = strlen(yaml);
    bool ok = fd >= 0 && write(fd, yaml, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0) ok = false;
    if (!ok) {
        llmc_error(d, NULL, "%s: cannot write the imported spec: %s", tmp, strerror(errno));
        if (fd >= 0) unlink(tmp);
        free(yaml);
        free(folder);
        return finish(d, NULL, LLMC_EXIT_IO);
    }
    llmc_host h;
    rc = cli_load_host(g, &h, d);
    if (!rc) {
        cp->spec_path = tmp;
        rc = llmc_compile(&h, cp, d);
        if (rc == LLMC_EXIT_SPEC)
            llmc_error(d, NULL, "%s: the spec imported from %s (above, as a temporary file, removed) reads:\n%s", cp->out_dir,
                       config, yaml);
    }
    unlink(tmp);
    free(yaml);
    free(folder);
    return finish(d, &h, rc);
}

int cmd_import(const cli_globals *g, int argc, char **argv) {
    const char *src = NULL, *out = NULL;
    llmc_import_params ip = llmc_import_default_params();
    bool force = false, compile = false, allow_nonfinite = false;
    double scale = 0;
    const char *emit = NULL, *dtype = NULL;
    int threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_command_usage(stdout, cli_find_command("import"));
            return LLMC_EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--name") || !strcmp(a, "--scale") || !strcmp(a, "--target-params") ||
                   !strcmp(a, "--vocab-size")) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "-o")) out = v;
            else if (!strcmp(a, "--name")) ip.name = v;
            else if (!strcmp(a, "--scale")) {
                char *end;
                errno = 0;
                scale = strtod(v, &end);
                if (errno || end == v || *end || !(scale > 0) || scale > 1e6)
                    return usage_error("--scale must be a number in (0, 1e6] (got '%s')", v);
            } else if (!strcmp(a, "--vocab-size")) {
                char *end;
                errno = 0;
                long long n = strtoll(v, &end, 10);
                if (errno || end == v || *end || n < 1 || n > INT32_MAX)
                    return usage_error("--vocab-size must be an integer in [1, 2147483647] (got '%s')", v);
                ip.vocab_size = n;
            } else if (llmc_parse_count(v, &ip.target_params) != 0 || ip.target_params == 0) {
                return usage_error("--target-params must be a parameter count such as 1M or 5e8 (got '%s')", v);
            }
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "--compile")) {
            compile = true;
        } else if (!strcmp(a, "--allow-nonfinite")) {
            allow_nonfinite = true;
        } else if (!strcmp(a, "--emit") || !strcmp(a, "--dtype") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--quantize")) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--emit")) emit = v;
            else if (!strcmp(a, "--quantize")) ip.quantize = v;  /* checked as the spec's quantize: key */
            else if (!strcmp(a, "--dtype")) dtype = v;
            else {
                char *end;
                errno = 0;
                long t = strtol(v, &end, 10);
                if (errno || end == v || *end || t < 1 || t > 256)
                    return usage_error("--threads: expected 1..256, got '%s'", v);
                threads = (int)t;
            }
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (src) {
            return usage_error("unexpected argument '%s'", a);
        } else {
            src = a;
        }
    }
    if (!src) return usage_error("%s", "expected a model folder or its config.json");
    if (!out) return usage_error("%s", compile ? "expected -o OUT" : "expected -o SPEC.yaml");
    if (!compile && (emit || dtype || threads || allow_nonfinite))
        return usage_error("%s", "--emit, --dtype, --threads and --allow-nonfinite go with --compile");
    if (compile && (scale > 0 || ip.target_params))
        return usage_error("%s", "--compile imports the checkpoint, whose dims are the config's: no --scale or --target-params");
    if (scale > 0 && ip.target_params) return usage_error("%s", "give --scale or --target-params, not both");

    /* a folder holds config.json; a file is the config itself, its folder names the model */
    char config[4096], dir[4096];
    struct stat st;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(src);
        while (n > 1 && src[n - 1] == '/') n--;
        if (snprintf(config, sizeof config, "%.*s/config.json", (int)n, src) >= (int)sizeof config ||
            snprintf(dir, sizeof dir, "%.*s", (int)n, src) >= (int)sizeof dir)
            return usage_error("path too long: '%s'", src);
    } else {
        if (snprintf(config, sizeof config, "%s", src) >= (int)sizeof config) return usage_error("path too long: '%s'", src);
        const char *slash = strrchr(src, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - src) : 1, slash ? src : ".");
        if (!slash) {
            char *cwd = getcwd(NULL, 0);
            if (cwd) snprintf(dir, sizeof dir, "%s", cwd);
            free(cwd);
        }
    }

    if (compile) {
        llmc_compile_params cp = llmc_compile_default_params();
        cp.out_dir = out;
        cp.force = force;
        cp.emit = emit;
        cp.dtype = dtype;
        cp.threads = threads;
        cp.allow_nonfinite = allow_nonfinite;
        return import_and_compile(g, config, dir, &ip, &cp);
    }

    llmc_diags *d = llmc_diags_create();
    int rc = LLMC_EXIT_OK;
    uint64_t target = ip.target_params;
    ip.target_params = 0;   /* the config's own dims first: --scale needs their count */
    char *yaml = llmc_import_hf_config(config, dir, &ip, &rc, d);
    if (!yaml) return finish(d, NULL, rc);

    llmc_host h;
    rc = cli_load_host(g, &h, d);
    if (rc) {
        free(yaml);
        return finish(d, &h, rc);
    }
    char tmp[4200];
    llmc_model m;
    uint64_t original = 0;
    for (int pass = 0;; pass++) {
        if (llmc_write_temp_beside(out, yaml, strlen(yaml), tmp, sizeof tmp, d) != 0) {
            free(yaml);
            return finish(d, &h, LLMC_EXIT_IO);
        }
        /* build it as far as the count: what import writes must compile */
        llmc_compile_params cp = llmc_compile_default_params();
        cp.spec_path = tmp;
        rc = llmc_model_prepare(&h, &cp, &m, d);
        if (rc != LLMC_EXIT_OK) {
            unlink(tmp);
            /* the locations above are in this text (a temporary file beside OUT, removed) */
            llmc_error(d, NULL, "%s: the spec imported from %s does not build (above; nothing written); it reads:\n%s",
                       out, config, yaml);
            free(yaml);
            return finish(d, &h, rc);
        }
        free(yaml);
        yaml = NULL;
        if (pass == 1 || (scale == 0 && target == 0)) break;
        /* a new budget: the same choices, the dims left to the solver */
        original = m.count.total;
        if (scale > 0) {
            double t = (double)original * scale;
            if (!(t >= 1) || t > 9.2e18) {
                llmc_error(d, NULL, "--scale %g: %llu x %g parameters is out of range", scale,
                           (unsigned long long)original, scale);
                llmc_model_free(&m);
                unlink(tmp);
                return finish(d, &h, LLMC_EXIT_USAGE);
            }
            target = (uint64_t)llround(t);
        }
        llmc_model_free(&m);
        unlink(tmp);
        ip.target_params = target;
        llmc_diags *again = llmc_diags_create();  /* the config's warnings were printed once already */
        yaml = llmc_import_hf_config(config, dir, &ip, &rc, again);
        llmc_diags_free(again);
        if (!yaml) return finish(d, &h, rc);
    }
    char count[64];
    llmc_fmt_count(m.count.total, count, sizeof count);
    const char *family = m.family;
    if (place(tmp, out, force, d) != 0) {
        unlink(tmp);
        llmc_model_free(&m);
        return finish(d, &h, LLMC_EXIT_IO);
    }
    if (original) {
        char was[64], want[64];
        llmc_fmt_count(original, was, sizeof was);
        llmc_fmt_count(target, want, sizeof want);
        printf("%s: %s parameters (%s, HF family %s; target %s, the config's dims %s)\n", out, count,
               m.spec->template_name, family, want, was);
    } else {
        printf("%s: %s parameters (%s, HF family %s)\n", out, count, m.spec->template_name, family);
    }
    llmc_model_free(&m);
    if (fflush(stdout) != 0 || ferror(stdout)) rc = LLMC_EXIT_IO;
    return finish(d, &h, rc);
}
