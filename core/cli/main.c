/* The llmc command: global options, then one command. A thin layer over the pipeline;
 * every message goes through llmc_diags so its shape is the same everywhere. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "llmc/llmc.h"
#include "util.h"

static const cli_command commands[] = {
    {"compile", "SPEC -o OUT [--emit a,b] [--force] [--solver S] [--weights PATH] [--allow-nonfinite] [--dtype D] "
                "[--threads N] [--explain]",
     "validate, solve, build the IR, count and emit; OUT is written atomically", true, cmd_compile},
    {"solve",
     "SPEC [--json] [--solver S] [--explain] [--kv-dtype D] [--context N] [--batch N] [--micro-batch N] [--seq-len N]",
     "dims, exact parameter count, per-component table, memory, training and FLOPs (no emission); --explain: why "
     "each dim, and the runner-up shapes",
     true, cmd_solve},
    {"templates", "", "list the loaded templates", true, cmd_templates},
    {"plugins", "", "list loaded plugins (kind, name, version, file) and the ones that failed, with why", true,
     cmd_plugins},
    {"inspect", "OUT|ir.json [--dot [FILE]]", "summarise a compiled model or an IR; Graphviz DOT output", false,
     cmd_inspect},
    {"run", "OUT [--prompt-ids 1,2,3] [-n N] [...]",
     "build OUT/cpu/llmc-run (make) when missing or stale and run it with the remaining arguments", false, cmd_run},
    {"validate", "OUT [--quick]",
     "re-check a compiled output: every file's size and checksum, headers and tensor tables, configs, counts", true,
     cmd_validate},
    {"tokenizer",
     "train --type T --vocab-size N [--pre-tokenizer P] [--normalization N] [--special NAME=TOKEN]... [--threads N] "
     "-o DIR CORPUS...",
     "train a tokenizer (bpe, unigram, wordpiece, char, byte) from a corpus into DIR", true, cmd_tokenizer},
    {"tokenize", "DIR [TEXT] [--file F] [--whole|--json] [--no-special] | DIR --corpus FILES... -o OUT.bin [--separator TOKEN] [--bos] [--threads N]",
     "encode text to ids (one line of ids per input line), or a corpus to a flat token file", false, cmd_tokenize},
    {"detokenize", "DIR [IDS] [--skip-special] [--bytes] [--json]", "decode ids (1,2,3) to text", false,
     cmd_detokenize},
    {"import", "HF_DIR|config.json -o SPEC.yaml [--name NAME] [--scale F | --target-params N] [--vocab-size V] [--force] | HF_DIR --compile -o OUT [--emit a,b] [--dtype D] [--quantize Q] [--threads N] [--force]",
     "turn a Hugging Face model's config.json into the spec that reproduces it (checked to build)", true, cmd_import},
    {"version", "", "print the llmc version and plugin ABI version", false, cmd_version},
    {"help", "[COMMAND]", "show help for llmc or one command", false, cmd_help},
};
static const size_t n_commands = sizeof commands / sizeof *commands;

const cli_command *cli_find_command(const char *name) {
    for (size_t i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

void cli_usage(FILE *f) {
    fprintf(f,
            "usage: llmc [--config FILE] [--plugins DIR]... [--strict-plugins] COMMAND [ARGS]\n\n"
            "commands:\n");
    for (size_t i = 0; i < n_commands; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nglobal options:\n"
            "  --config FILE      read this llmc.yaml (default: ./llmc.yaml, the installed config, or the built-in\n"
            "                     default that searches the plugins folder next to the llmc binary)\n"
            "  --plugins DIR      search DIR for plugins before the configured paths (repeatable)\n"
            "  --strict-plugins   any plugin load failure is fatal (exit 3)\n"
            "\nexit codes: 0 ok, 1 spec invalid or unsolvable, 2 usage, 3 plugin or config error, 4 I/O error\n"
            "run 'llmc help COMMAND' for a command's options\n");
}

void cli_command_usage(FILE *f, const cli_command *c) {
    fprintf(f, "usage: llmc %s %s\n  %s\n", c->name, c->args, c->summary);
}

int cli_print_diags(const llmc_diags *d) {
    llmc_diags_print(d, stderr);
    return (int)llmc_diags_errors(d);
}

int cli_load_host(const cli_globals *g, llmc_host *h, llmc_diags *d) {
    memset(h, 0, sizeof *h);
    bool unreadable = false;
    h->config = llmc_config_discover(g->config_path, NULL, d, &unreadable); /* NULL: the folder of this binary */
    if (!h->config) return unreadable ? LLMC_EXIT_IO : LLMC_EXIT_PLUGIN;
    /* --plugins DIR: first in the search path, in the order given */
    for (size_t i = g->n_plugin_dirs; i-- > 0;) {
        struct stat st;
        if (stat(g->plugin_dirs[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            llmc_error(d, "--plugins", "'%s' is not a directory", g->plugin_dirs[i]);
            return LLMC_EXIT_PLUGIN;
        }
        if (llmc_config_prepend_plugin_path(h->config, g->plugin_dirs[i]) != 0) {
            llmc_error(d, "--plugins", "cannot add '%s' to the plugin search path", g->plugin_dirs[i]);
            return LLMC_EXIT_PLUGIN;
        }
    }
    if (g->strict_plugins) h->config->strict_plugins = true;
    h->registry = llmc_registry_create();
    if (!h->registry) {
        llmc_error(d, NULL, "out of memory");
        return LLMC_EXIT_IO;
    }
    size_t failures = llmc_registry_load(h->registry, h->config, d);
    if (failures && h->config->strict_plugins) {
        llmc_error(d, "strict_plugins", "%zu plugin(s) failed to load and strict_plugins is on", failures);
        return LLMC_EXIT_PLUGIN;
    }
    return LLMC_EXIT_OK;
}

void cli_free_host(llmc_host *h) {
    llmc_registry_free(h->registry);
    llmc_config_free(h->config);
    memset(h, 0, sizeof *h);
}

static int run_cli(int argc, char **argv) {
    cli_globals g;
    memset(&g, 0, sizeof g);
    const char *plugin_dirs[64];
    g.plugin_dirs = plugin_dirs;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config") || !strcmp(a, "--plugins")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "llmc: %s needs an argument\n", a);
                return LLMC_EXIT_USAGE;
            }
            if (a[2] == 'c') {
                g.config_path = argv[++i];
            } else {
                if (g.n_plugin_dirs == 64) {
                    fprintf(stderr, "llmc: too many --plugins (at most 64)\n");
                    return LLMC_EXIT_USAGE;
                }
                g.plugin_dirs[g.n_plugin_dirs++] = argv[++i];
            }
        } else if (!strncmp(a, "--config=", 9)) {
            g.config_path = a + 9;
        } else if (!strncmp(a, "--plugins=", 10)) {
            if (g.n_plugin_dirs == 64) {
                fprintf(stderr, "llmc: too many --plugins (at most 64)\n");
                return LLMC_EXIT_USAGE;
            }
            g.plugin_dirs[g.n_plugin_dirs++] = a + 10;
        } else if (!strcmp(a, "--strict-plugins")) {
            g.strict_plugins = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_usage(stdout);
            return LLMC_EXIT_OK;
        } else if (!strcmp(a, "--version")) {
            return cmd_version(&g, 0, NULL);
        } else if (a[0] == '-') {
            fprintf(stderr, "llmc: unknown global option '%s'\n\n", a);
            cli_usage(stderr);
            return LLMC_EXIT_USAGE;
        } else {
            break;
        }
    }
    if (i >= argc) {
        cli_usage(stderr);
        return LLMC_EXIT_USAGE;
    }
    const cli_command *c = cli_find_command(argv[i]);
    if (!c) {
        const char *names[16];
        for (size_t k = 0; k < n_commands; k++) names[k] = commands[k].name;
        fprintf(stderr, "llmc: unknown command '%s'", argv[i]);
        const char *near = llmc_closest(argv[i], names, n_commands);
        if (near) fprintf(stderr, " (did you mean '%s'?)", near);
        fprintf(stderr, "\n\n");
        cli_usage(stderr);
        return LLMC_EXIT_USAGE;
    }
    return c->run(&g, argc - i - 1, argv + i + 1);
}

/* Whatever a command printed must have reached stdout: a full disk, a closed pipe or an I/O
 * error there is an I/O error (exit 4), not a success that lost its output. */
static int check_stdout(int rc) {
    errno = 0;
    int err = fflush(stdout) != 0 ? errno : 0;
    if (ferror(stdout) && !err) err = errno ? errno : EIO;
    if (fclose(stdout) != 0 && !err) err = errno ? errno : EIO;
    if (!err) return rc;
    fprintf(stderr, "llmc: error writing standard output: %s\n", strerror(err));
    return rc ? rc : LLMC_EXIT_IO;
}

int llmc_main(int argc, char **argv) { return check_stdout(run_cli(argc, argv)); }
