/* Why the solver's answer is what it is, and why a budget cannot be met (docs/solvers.md,
 * "Explanations"). Works for any solver: it asks the same solver again on variants of the
 * problem (a dimension held away from its value, a user constraint left out) and scores every
 * shape with the design prior. Internal to the core. */
#ifndef LLMC_CORE_EXPLAIN_H
#define LLMC_CORE_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/llmc.h"

#define LLMC_EXPLAIN_RUNNER_UPS 5

typedef struct llmc_shape {
    llmc_dims dims;           /* complete */
    uint64_t params;
    double relative_error;
    double plausibility;      /* the prior's score (llmc/prior.h) */
    double score;             /* what the plausible objective maximises: plausibility - 1/2 (error / (tolerance / 2))^2 */
} llmc_shape;

typedef enum llmc_decider {
    LLMC_DECIDED_PIN = 0,     /* the user pinned it */
    LLMC_DECIDED_CONSTRAINT,  /* a user constraint rules out every other value */
    LLMC_DECIDED_FAMILY,      /* the template derives it, or its built-in rules rule out the rest */
    LLMC_DECIDED_PRIOR,       /* other values fit the budget but are less plausible */
    LLMC_DECIDED_BUDGET       /* no other value reaches the target within the tolerance (or: closer count) */
} llmc_decider;
LLMC_API const char *llmc_decider_name(llmc_decider k);   /* "pin", "constraint", "family rule", "prior", "budget" */

typedef struct llmc_dim_reason {
    llmc_dim_id dim;
    int64_t value;
    llmc_decider by;
    char detail[320];         /* what exactly: the pin, the constraint, the derivation, the next best */
    bool has_alternative;     /* the best answer with this dim at another value */
    llmc_shape alternative;
} llmc_dim_reason;

typedef struct llmc_explanation {
    const char *objective;    /* "plausible" or "closest" (what the solver was asked) */
    llmc_shape answer;
    double terms[LLMC_PRIOR_TERM_COUNT];
    llmc_dim_reason dims[LLMC_DIM_COUNT];
    size_t n_dims;
    llmc_shape runner_ups[LLMC_EXPLAIN_RUNNER_UPS];
    size_t n_runner_ups;
} llmc_explanation;

/* Explain a solved answer (dims complete, exact count params). 0 on success. */
LLMC_API int llmc_explain_solution(const llmc_spec *spec, const llmc_template_vtable *tv, const llmc_solver_vtable *sv,
                          const llmc_dims *answer, uint64_t params, llmc_explanation *out, llmc_diags *d);

/* A budget the solver could not meet within the tolerance: add to d (notes after the error the
 * caller reports) the smallest and largest counts reachable under the user's pins and
 * constraints, the nearest counts around the target, the smallest sets of the user's pins and
 * constraints whose removal makes the target reachable, and the largest vocabulary with which
 * it is. */
LLMC_API void llmc_explain_miss(const llmc_spec *spec, const llmc_template_vtable *tv, const llmc_solver_vtable *sv,
                       llmc_diags *d);

#endif
