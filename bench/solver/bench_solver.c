/* bench/solver: both solvers over 200 log-spaced targets from 10M to 1T, for both templates;
 * `search` with each objective (plausible, the default, and closest). Prints time per solve and
 * the relative-error distribution; `search` is compared with `closed_form` (the fast analytic
 * peer) in the same run.
 *   usage: bench_solver PLUGIN_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "registry.h"
#include "util.h"

#define N_TARGETS 200

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, int n, double q) { return sorted[(int)floor(q * (n - 1))]; }

/* the 1-minute load average (as `uptime` prints it): the machine is shared */
static void print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    double l1 = -1;
    if (f) {
        if (fscanf(f, "%lf", &l1) != 1) l1 = -1;
        fclose(f);
    }
    printf("load average (1 min) %s: %.2f\n", when, l1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PLUGIN_DIR\n", argv[0]);
        return 2;
    }
    llmc_diags *d = llmc_diags_create();
    llmc_config *cfg = llmc_config_load_string("plugin_paths: []\n", 17, "bench", ".", ".", d);
    if (!cfg || llmc_config_prepend_plugin_path(cfg, argv[1]) != 0) return 3;
    llmc_registry *reg = llmc_registry_create();
    llmc_registry_load(reg, cfg, d);
    const char *templates[][2] = {
        {"decoder_only", "target_params: %llu\nvocab_size: 32000\n"},
        {"decoder_only/gqa", "target_params: %llu\nvocab_size: 128256\nattention: gqa\n"},
        {"encoder_decoder", "template: encoder_decoder\ntarget_params: %llu\nvocab_size: 32128\n"
                            "positional_encoding: relative\nactivation: relu\ntie_word_embeddings: true\n"},
    };
    const char *solvers[] = {"search", "search", "closed_form"};
    const char *options[] = {"", "solver_options: {objective: closest}\n", ""};
    const char *labels[] = {"search", "search/closest", "closed_form"};
    print_load("before");
    printf("%-16s %-14s %10s %10s %10s %10s %10s %10s %8s %8s\n", "template", "solver", "mean ms", "p50 ms", "max ms",
           "mean err%", "p90 err%", "max err%", ">0.1%", "no ans.");
    double mean_ms[3][3];
    for (int t = 0; t < 3; t++) {
        for (int s = 0; s < 3; s++) {
            char tname[64];
            snprintf(tname, sizeof tname, "%s", templates[t][0]);
            tname[strcspn(tname, "/")] = '\0';
            const llmc_plugin *tp = llmc_registry_find(reg, LLMC_PLUGIN_TEMPLATE, tname);
            const llmc_plugin *sp = llmc_registry_find(reg, LLMC_PLUGIN_SOLVER, solvers[s]);
            if (!tp || !sp) {
                fprintf(stderr, "missing plugin %s or %s under %s\n", templates[t][0], solvers[s], argv[1]);
                return 3;
            }
            double ms[N_TARGETS], err[N_TARGETS], sum_ms = 0, sum_err = 0;
            int over = 0, answered = 0, none = 0;
            for (int i = 0; i < N_TARGETS; i++) {
                double lt = log(1e7) + (log(1e12) - log(1e7)) * i / (N_TARGETS - 1);
                char text[512];
                int w = snprintf(text, sizeof text, templates[t][1], (unsigned long long)llround(exp(lt)));
                snprintf(text + w, sizeof text - (size_t)w, "%s", options[s]);
                llmc_spec *spec = llmc_spec_load_string(text, strlen(text), "bench.yaml", LLMC_SPEC_FORMAT_YAML, d);
                const llmc_template_vtable *tv = tp->vtable;
                double t0 = llmc_now_ms();
                llmc_problem *p = llmc_problem_create(spec, tv, d);
                llmc_solution sol;
                memset(&sol, 0, sizeof sol);
                int st = p ? ((const llmc_solver_vtable *)sp->vtable)->solve(p, &sol, d) : LLMC_SOLVE_ERROR;
                ms[i] = llmc_now_ms() - t0;
                sum_ms += ms[i];
                if (st == LLMC_SOLVE_OK || st == LLMC_SOLVE_OUT_OF_TOLERANCE) {
                    /* error statistics over the targets that have an answer */
                    err[answered++] = sol.relative_error;
                    sum_err += sol.relative_error;
                    over += sol.relative_error > 1e-3;
                } else {
                    none++;
                }
                llmc_problem_free(p);
                llmc_spec_free(spec);
                llmc_diags_clear(d);
            }
            qsort(ms, N_TARGETS, sizeof *ms, cmp_double);
            qsort(err, (size_t)answered, sizeof *err, cmp_double);
            mean_ms[t][s] = sum_ms / N_TARGETS;
            printf("%-16s %-14s %10.3f %10.3f %10.3f %10.5f %10.5f %10.5f %8d %8d\n", templates[t][0], labels[s],
                   mean_ms[t][s], pct(ms, N_TARGETS, 0.5), ms[N_TARGETS - 1],
                   answered ? 100 * sum_err / answered : 0.0, answered ? 100 * pct(err, answered, 0.9) : 0.0,
                   answered ? 100 * err[answered - 1] : 0.0, over, none);
        }
        printf("%-16s search / closed_form mean time ratio: %.1fx (closest: %.1fx)\n", templates[t][0],
               mean_ms[t][0] / mean_ms[t][2], mean_ms[t][1] / mean_ms[t][2]);
    }
    print_load("after");
    llmc_registry_free(reg);
    llmc_config_free(cfg);
    llmc_diags_free(d);
    return 0;
}
