/* llmc — the sizing problem a template declares and a solver solves.
 *
 * A template declares free variables (dims) with their domains, and built-in
 * constraints as expression text (see expr.h), e.g. "num_heads % num_kv_heads == 0".
 * The core adds the user's pins (spec dims) and `constraints`. A solver enumerates
 * assignments of the free variables and asks llmc_problem_evaluate() for the exact
 * parameter count of each; evaluate completes derived dims through the template,
 * checks every constraint and counts with the template's closed form, which the
 * pipeline later proves equal to the IR count. */
#ifndef LLMC_PROBLEM_H
#define LLMC_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/ir.h"
#include "llmc/prior.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmc_problem llmc_problem;

#define LLMC_DOMAIN_MAX_VALUES 64
typedef struct llmc_var_domain {
    llmc_dim_id dim;
    int64_t min, max;        /* inclusive */
    int64_t multiple_of;     /* >= 1; candidates are multiples of it in [min, max] */
    size_t n_values;         /* if > 0, the candidates are exactly values[0..n_values) (ascending) */
    int64_t values[LLMC_DOMAIN_MAX_VALUES];
} llmc_var_domain;

/* ---- template side (inside define_problem) -------------------------------------------- */
LLMC_API int llmc_problem_add_var(llmc_problem *p, llmc_dim_id dim, int64_t min, int64_t max, int64_t multiple_of);
LLMC_API int llmc_problem_add_values(llmc_problem *p, llmc_dim_id dim, const int64_t *values, size_t n);
/* origin says where a constraint comes from in messages, e.g. "decoder_only" */
LLMC_API int llmc_problem_add_constraint(llmc_problem *p, const char *expr_text, const char *origin);

/* ---- solver side ----------------------------------------------------------------------- */
LLMC_API const llmc_spec *llmc_problem_spec(const llmc_problem *p);
LLMC_API uint64_t llmc_problem_target(const llmc_problem *p);
LLMC_API double llmc_problem_tolerance(const llmc_problem *p);
LLMC_API const llmc_dims *llmc_problem_pinned(const llmc_problem *p);   /* the user's pins */
LLMC_API size_t llmc_problem_num_vars(const llmc_problem *p);
LLMC_API const llmc_var_domain *llmc_problem_var(const llmc_problem *p, size_t i);
LLMC_API size_t llmc_problem_num_constraints(const llmc_problem *p);
LLMC_API const char *llmc_problem_constraint_text(const llmc_problem *p, size_t i);
LLMC_API const char *llmc_problem_constraint_origin(const llmc_problem *p, size_t i);

typedef enum llmc_eval_status {
    LLMC_EVAL_OK = 0,
    LLMC_EVAL_INCOMPLETE,    /* the template cannot derive the remaining dims from these */
    LLMC_EVAL_VIOLATES,      /* a constraint does not hold (why names it) */
    LLMC_EVAL_OVERFLOW       /* count overflows 64 bits */
} llmc_eval_status;

/* dims in: pins + an assignment of free vars; out: complete dims. *count gets the exact
 * parameter count when OK. violated (may be NULL) gets the index of the first constraint
 * that does not hold (llmc_problem_constraint_text), or -1. why (may be NULL) gets the
 * failing constraint with the values involved, or the reason. */
LLMC_API llmc_eval_status llmc_problem_evaluate(const llmc_problem *p, llmc_dims *dims, uint64_t *count,
                                                long *violated, char *why, size_t why_len);
/* Check only the constraints whose names are all set in dims (for pruning partial assignments).
 * Returns true if none of them is violated. */
LLMC_API bool llmc_problem_partial_ok(const llmc_problem *p, const llmc_dims *dims);
/* Same check, returning the index of the first violated constraint, or -1 if none is. */
LLMC_API long llmc_problem_partial_violation(const llmc_problem *p, const llmc_dims *dims);
/* Per-component exact count through the template's closed form, ignoring constraints: pins
 * are applied and the remaining dims derived by the template (intermediate_size by its
 * convention when unset, ...). For bounds and explanations ("embeddings alone need ...").
 * 0 on success, non-zero if the dims cannot be completed or the count overflows. */
/* With target_active_params, out->total is the active count (the quantity the budget names) and
 * the components stay the full breakdown. */
LLMC_API int llmc_problem_count(const llmc_problem *p, const llmc_dims *dims, llmc_param_count *out);
/* Domain of dim if it is a free variable, else NULL. */
LLMC_API const llmc_var_domain *llmc_problem_domain(const llmc_problem *p, llmc_dim_id dim);
/* Candidate values of a domain in ascending order: returns how many there are (capped at max
 * written); values beyond max are not written but counted. */
LLMC_API size_t llmc_domain_values(const llmc_var_domain *v, int64_t *out, size_t max);
LLMC_API size_t llmc_domain_size(const llmc_var_domain *v);
LLMC_API int64_t llmc_domain_at(const llmc_var_domain *v, size_t i);   /* i < llmc_domain_size */
/* The design prior to score shapes with (llmc/prior.h): the host's choice, by default the one
 * fitted to the built-in table of published models. NULL only if that table failed to load. */
LLMC_API const llmc_prior *llmc_problem_prior(const llmc_problem *p);
/* A solver option (solver_options: {key: value} in the spec, or set by the host), or NULL. */
LLMC_API const char *llmc_problem_option(const llmc_problem *p, const char *key);
/* Where to point errors about a solver option: the spec's solver_options.<key>, or its top. */
LLMC_API llmc_loc llmc_problem_option_loc(const llmc_problem *p, const char *key);

/* Bisection over one variable, using that the count is nondecreasing in every dim: the
 * smallest i with llmc_problem_count(dims + {v->dim: at(v, i)}) >= target, or size if none.
 * Constraints are not checked. dims[v->dim] is left at the last probe. */
LLMC_API size_t llmc_problem_bisect(const llmc_problem *p, llmc_dims *dims, const llmc_var_domain *v);

/* Exhaustive branch and bound over the whole lattice (domains, pins, every constraint), using
 * that the count is nondecreasing in every dim: the feasible assignment whose count is the
 * largest <= limit (above = false) or the smallest >= limit (above = true). limit 0 with above
 * gives the smallest model the problem allows, UINT64_MAX without it the largest. Stops after
 * max_steps counts and constraint checks (0 = no limit); *exhaustive (may be NULL) says whether
 * it finished. Returns true and fills *dims (complete) and *count when one was found. */
LLMC_API bool llmc_problem_nearest(const llmc_problem *p, uint64_t limit, bool above, uint64_t max_steps,
                                   llmc_dims *dims, uint64_t *count, bool *exhaustive);

/* ---- host side (the pipeline) -------------------------------------------------------- */
struct llmc_template_vtable;
/* Build the problem for a spec: the template's define_problem + the user's pins and
 * constraints. Returns NULL with errors in d. */
LLMC_API llmc_problem *llmc_problem_create(const llmc_spec *spec, const struct llmc_template_vtable *tmpl, llmc_diags *d);

/* Variants of a spec's problem, for explanations: the same spec with some of the user's pins or
 * constraints left out, extra constraints, another target or vocabulary. The problem reads a
 * copy of the spec that borrows everything from it: spec must outlive the problem. */
typedef struct llmc_problem_params {
    const llmc_prior *prior;          /* NULL: the built-in prior */
    uint32_t drop_pins;               /* bit (1u << dim): leave that pin out */
    uint64_t drop_constraints;        /* bit i: leave the user's constraints[i] out (i < 64) */
    uint64_t drop_builtin;            /* bit i: leave the template's i-th constraint out (i < 64) */
    const char *const *extra;         /* more constraints, expression text (origin "explain") */
    size_t n_extra;
    bool has_target;                  /* replace target_params by target */
    uint64_t target;
    int64_t vocab_size;               /* > 0: replace vocab_size */
    const char *objective;            /* non-NULL: the solver option "objective" */
    bool has_tolerance;               /* replace tolerance */
    double tolerance;
} llmc_problem_params;
LLMC_API llmc_problem_params llmc_problem_default_params(void);
LLMC_API llmc_problem *llmc_problem_create_with(const llmc_spec *spec, const struct llmc_template_vtable *tmpl,
                                                const llmc_problem_params *params, llmc_diags *d);
/* Index among the template's own constraints of constraint i, or -1 (a user or extra one). */
LLMC_API long llmc_problem_builtin_index(const llmc_problem *p, size_t i);
/* Index in spec->constraints of constraint i, or -1 (the template's or an extra one). */
LLMC_API long llmc_problem_user_index(const llmc_problem *p, size_t i);
LLMC_API void llmc_problem_free(llmc_problem *p);
/* Independent check of a solver's answer: dims complete, pins honoured, every constraint
 * (built-in and user) holds. Each violation is one error naming the constraint and values. */
LLMC_API int llmc_problem_check_solution(const llmc_problem *p, const llmc_dims *dims, llmc_diags *d);

/* ---- solution -------------------------------------------------------------------------- */
typedef struct llmc_solution {
    llmc_dims dims;          /* complete */
    uint64_t params;         /* exact count */
    double relative_error;   /* |params - target| / target */
    uint64_t evaluated;      /* how many assignments the solver evaluated */
    char note[256];          /* solver remarks (e.g. why the error could not be smaller) */
} llmc_solution;

typedef enum llmc_solve_status {
    LLMC_SOLVE_OK = 0,             /* found, relative_error <= tolerance */
    LLMC_SOLVE_OUT_OF_TOLERANCE,   /* best found is in *out, but above tolerance */
    LLMC_SOLVE_INFEASIBLE,         /* nothing satisfies the constraints; diags explain */
    LLMC_SOLVE_ERROR
} llmc_solve_status;

#ifdef __cplusplus
}
#endif
#endif
