/* llmc — the design prior: how plausible a shape is, fitted to published models.
 *
 * config/published_models.yaml lists released checkpoints (dims, family choices, exact count,
 * source); libllmc embeds it. A prior fitted to such a table scores complete dims for one spec
 * and parameter budget: a sum of log-plausibility terms (depth for the size, round depths and
 * widths, head_dim for the width, key/value grouping, the MLP width rule of the family), each
 * estimated from the table with the published models weighted by how much they resemble the
 * spec (same vocabulary, activation, norm, positions, tying, attention kind, template) and the
 * size. docs/solvers.md has the formulas. Solvers get the prior of their problem with
 * llmc_problem_prior(); scoring goes through a query made once per solve. */
#ifndef LLMC_PRIOR_H
#define LLMC_PRIOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the table of published models ------------------------------------------------------ */

typedef struct llmc_published_model {
    const char *name, *family, *template_name, *source, *note;
    uint64_t params;                /* exact count of the published checkpoint */
    int64_t unmodelled;             /* params minus llmc's count of these dims */
    llmc_dims dims;                 /* every dim the template needs */
    int64_t vocab_size, context_length;
    llmc_attention_kind attention;
    llmc_activation_kind activation;
    llmc_norm_kind norm;
    llmc_positional_kind positional;
    bool tie_word_embeddings;
    llmc_bias_flags bias;
} llmc_published_model;

typedef struct llmc_model_table llmc_model_table;

/* Parse a table (the format of config/published_models.yaml). NULL with located errors in d. */
LLMC_API llmc_model_table *llmc_model_table_load(const char *text, size_t len, const char *file, llmc_diags *d);
LLMC_API void llmc_model_table_free(llmc_model_table *t);
/* The table libllmc was built with (config/published_models.yaml); parsed once, never freed. */
LLMC_API const llmc_model_table *llmc_model_table_builtin(void);
LLMC_API size_t llmc_model_table_size(const llmc_model_table *t);
LLMC_API const llmc_published_model *llmc_model_table_at(const llmc_model_table *t, size_t i);

/* ---- the fitted prior ---------------------------------------------------------------------- */

typedef struct llmc_prior llmc_prior;

/* Fit to the rows of t for which exclude[i] is false (exclude may be NULL). The prior keeps a
 * pointer to t. NULL when fewer than 4 rows remain or out of memory. */
LLMC_API llmc_prior *llmc_prior_fit(const llmc_model_table *t, const bool *exclude);
LLMC_API void llmc_prior_free(llmc_prior *p);
/* Fitted to the built-in table; made once, never freed. NULL only if the table is unusable. */
LLMC_API const llmc_prior *llmc_prior_builtin(void);

typedef enum llmc_prior_term {
    LLMC_PRIOR_DEPTH = 0,      /* depth for the non-embedding size, as similar published models */
    LLMC_PRIOR_DEPTH_ROUND,    /* depth a multiple of 2, 4, 8, as published depths are */
    LLMC_PRIOR_WIDTH_ROUND,    /* hidden_size a multiple of 128 ... 1024 */
    LLMC_PRIOR_HEAD_DIM,       /* head_dim for this hidden_size */
    LLMC_PRIOR_KV,             /* key/value heads and query heads per group (gqa only) */
    LLMC_PRIOR_MLP_RATIO,      /* intermediate_size / hidden_size of the family's MLP */
    LLMC_PRIOR_MLP_ROUND,      /* intermediate_size a multiple of 128 ... 1024 */
    LLMC_PRIOR_TERM_COUNT
} llmc_prior_term;
LLMC_API const char *llmc_prior_term_name(llmc_prior_term t);   /* "depth", "head_dim", ... */

/* ---- scoring shapes for one spec and budget ----------------------------------------------- */

typedef struct llmc_prior_query llmc_prior_query;

/* Precompute what scoring needs for spec and target (its parameter budget). NULL on OOM. */
LLMC_API llmc_prior_query *llmc_prior_query_create(const llmc_prior *p, const llmc_spec *spec, uint64_t target);
LLMC_API void llmc_prior_query_free(llmc_prior_query *q);

/* Log-plausibility of complete dims whose exact count is params: the sum of the terms (each
 * <= its llmc_prior_query_term_max; higher is more plausible). terms (may be NULL) receives each. */
LLMC_API double llmc_prior_query_score(const llmc_prior_query *q, const llmc_dims *dims, uint64_t params,
                                       double terms[LLMC_PRIOR_TERM_COUNT]);
/* An upper bound of llmc_prior_query_score over every completion of the partial dims whose
 * non-embedding count lies in [ne_lo, ne_hi] (for branch and bound); terms (may be NULL)
 * receives the bound of each term. */
LLMC_API double llmc_prior_query_bound(const llmc_prior_query *q, const llmc_dims *partial, double ne_lo,
                                       double ne_hi, double terms[LLMC_PRIOR_TERM_COUNT]);
/* An upper bound of the two MLP terms over intermediate sizes in [i_lo, i_hi] at hidden_size H. */
LLMC_API double llmc_prior_query_mlp_bound(const llmc_prior_query *q, int64_t H, double i_lo, double i_hi);
/* The largest value one term takes over every shape. */
LLMC_API double llmc_prior_query_term_max(const llmc_prior_query *q, llmc_prior_term t);
/* intermediate_size / hidden_size outside [lo, hi] scores at least 12 below the best MLP ratio:
 * where a solver may stop looking (the published ratios of this MLP kind, widened). */
LLMC_API void llmc_prior_query_mlp_window(const llmc_prior_query *q, double *lo, double *hi);
/* Heads that need not span the width: the ratios (num_heads x head_dim) / hidden_size a solver
 * may try apart from 1: where the density of that ratio among the weighted published models
 * whose heads do not span the width is within 6 of its largest (lo = hi = 1: none). */
LLMC_API void llmc_prior_query_attention_window(const llmc_prior_query *q, double *lo, double *hi);
/* The decoupling part of the head_dim term for num_heads x head_dim != hidden_size (0 when they
 * span it): the rest of that term is a log-probability, so this plus the other terms' bounds
 * bounds such a shape. */
LLMC_API double llmc_prior_query_attention_term(const llmc_prior_query *q, int64_t nh, int64_t hd, int64_t H);
/* An upper bound of that term over every width for num_heads = nh (decreasing in nh). */
LLMC_API double llmc_prior_query_attention_bound(const llmc_prior_query *q, int64_t nh);
/* Non-embedding parameters of dims with this total count (total minus the token embedding,
 * an untied head, learned position tables and the head bias), as the prior measures size. */
LLMC_API double llmc_prior_query_non_embedding(const llmc_prior_query *q, const llmc_dims *dims, uint64_t params);

#ifdef __cplusplus
}
#endif
#endif
