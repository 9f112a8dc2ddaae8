/* llmc run OUT [ARGS...]: run the CPU runtime a compile emitted (--emit cpu, docs/cpu.md).
 *
 * OUT/cpu/llmc-run is (re)built with `make -C OUT/cpu` when it is missing or older than any of its
 * sources (*.c, *.h, Makefile; also in cpu/tokenizer/), then exec'd with ARGS: its output, errors and exit code are the
 * program's own (OUT/cpu/README.md). make's own output goes to stderr so that stdout carries only
 * what llmc-run prints. $MAKE names another make; CFLAGS in the environment reach the Makefile. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"

static int run_error(llmc_diags *d, int code) {
    cli_print_diags(d);
    llmc_diags_free(d);
    return code;
}

static bool newer(const struct stat *a, const struct stat *b) {
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

/* Is any source of dir newer than the program (or the program missing)? A missing dir is not
 * (an OUT from before the runtime carried a tokenizer). */
static bool needs_build(const char *dir, const char *exe) {
    struct stat pst;
    if (stat(exe, &pst) != 0) return true;
    DIR *dp = opendir(dir);
    if (!dp) return errno != ENOENT;
    bool stale = false;
    struct dirent *e;
    while (!stale && (e = readdir(dp)) != NULL) {
        const size_t n = strlen(e->d_name);
        const bool src = !strcmp(e->d_name, "Makefile") ||
                         (n > 2 && e->d_name[n - 2] == '.' && (e->d_name[n - 1] == 'c' || e->d_name[n - 1] == 'h'));
        if (!src) continue;
        char path[PATH_MAX];
        struct stat sst;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || stat(path, &sst) != 0) continue;
        if (newer(&sst, &pst)) stale = true;
    }
    closedir(dp);
    return stale;
}

/* make -C dir, its stdout sent to stderr; returns 0 or fills d */
static int build(const char *dir, llmc_diags *d) {
    const char *make = getenv("MAKE");
    if (!make || !*make) make = "make";
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        llmc_error(d, "run", "cannot start '%s': %s", make, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execlp(make, make, "-s", "-C", dir, (char *)NULL);
        fprintf(stderr, "llmc: run: cannot execute '%s': %s\n", make, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            llmc_error(d, "run", "waiting for '%s' failed: %s", make, strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        llmc_error(d, "run", "'%s' could not be run: building the CPU runtime needs make and a C compiler", make);
    else if (WIFEXITED(status))
        llmc_error(d, "run", "building '%s' failed (%s exited with %d; the compiler's messages are above)", dir, make,
                   WEXITSTATUS(status));
    else
        llmc_error(d, "run", "building '%s' failed (%s was killed by signal %d)", dir, make, WTERMSIG(status));
    return -1;
}

int cmd_run(const cli_globals *g, int argc, char **argv) {
    (void)g;
    const cli_command *self = cli_find_command("run");
    if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        cli_command_usage(argc < 1 ? stderr : stdout, self);
        if (argc < 1) fprintf(stderr, "llmc: run: no OUT directory given\n");
        return argc < 1 ? LLMC_EXIT_USAGE : LLMC_EXIT_OK;
    }
    llmc_diags *d = llmc_diags_create();
    char dir[PATH_MAX], exe[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/cpu", argv[0]) >= (int)sizeof dir ||
        snprintf(exe, sizeof exe, "%s/cpu/llmc-run", argv[0]) >= (int)sizeof exe) {
        llmc_error(d, "run", "path '%s' is too long", argv[0]);
        return run_error(d, LLMC_EXIT_IO);
    }
    struct stat st;
    if (stat(argv[0], &st) != 0 || !S_ISDIR(st.st_mode)) {
        llmc_error(d, "run", "'%s' is not a compile output directory (%s)", argv[0],
                   errno ? strerror(errno) : "not a directory");
        return run_error(d, LLMC_EXIT_IO);
    }
    char makefile[PATH_MAX + 16];
    snprintf(makefile, sizeof makefile, "%s/Makefile", dir);
    if (stat(makefile, &st) != 0) {
        llmc_error(d, "run", "'%s' has no CPU runtime (no %s); compile with --emit cpu", argv[0], makefile);
        return run_error(d, LLMC_EXIT_IO);
    }
    char tokdir[PATH_MAX + 16];
    snprintf(tokdir, sizeof tokdir, "%s/tokenizer", dir);   /* --prompt's tokenizer sources */
    if ((needs_build(dir, exe) || needs_build(tokdir, exe)) && build(dir, d) != 0) return run_error(d, LLMC_EXIT_IO);
    llmc_diags_free(d);
    /* the program's own argv: its path, then everything after OUT */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        fprintf(stderr, "llmc: run: out of memory\n");
        return LLMC_EXIT_IO;
    }
    args[0] = exe;
    for (int i = 1; i < argc; i++) args[i] = argv[i];
    /* what llmc printed must be out before the program takes stdout over (main checks it
     * for every other command) */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "llmc: error writing standard output: %s\n", strerror(errno ? errno : EIO));
        free(args);
        return LLMC_EXIT_IO;
    }
    execv(exe, args);
    d = llmc_diags_create();
    llmc_error(d, "run", "cannot execute '%s': %s", exe, strerror(errno));
    free(args);
    return run_error(d, LLMC_EXIT_IO);
}
