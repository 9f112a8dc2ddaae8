/* The llmc command's pieces: global options, the command table, shared helpers. */
#ifndef LLMC_CLI_COMMANDS_H
#define LLMC_CLI_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pipeline.h"

typedef struct cli_globals {
    const char *config_path;
    const char **plugin_dirs;
    size_t n_plugin_dirs;
    bool strict_plugins;
} cli_globals;

typedef int (*cli_run_fn)(const cli_globals *g, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *args;
    const char *summary;
    bool needs_plugins;
    cli_run_fn run;
} cli_command;

const cli_command *cli_find_command(const char *name);
void cli_usage(FILE *f);
void cli_command_usage(FILE *f, const cli_command *c);
/* print diagnostics to stderr; returns the number of errors */
int cli_print_diags(const llmc_diags *d);
int cli_load_host(const cli_globals *g, llmc_host *h, llmc_diags *d);
void cli_free_host(llmc_host *h);

int cmd_compile(const cli_globals *g, int argc, char **argv);
int cmd_solve(const cli_globals *g, int argc, char **argv);
int cmd_templates(const cli_globals *g, int argc, char **argv);
int cmd_plugins(const cli_globals *g, int argc, char **argv);
int cmd_inspect(const cli_globals *g, int argc, char **argv);
int cmd_run(const cli_globals *g, int argc, char **argv);
int cmd_validate(const cli_globals *g, int argc, char **argv);
int cmd_tokenizer(const cli_globals *g, int argc, char **argv);
int cmd_tokenize(const cli_globals *g, int argc, char **argv);
int cmd_detokenize(const cli_globals *g, int argc, char **argv);
int cmd_import(const cli_globals *g, int argc, char **argv);
int cmd_version(const cli_globals *g, int argc, char **argv);
int cmd_help(const cli_globals *g, int argc, char **argv);

#endif
