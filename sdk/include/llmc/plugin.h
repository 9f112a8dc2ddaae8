/* llmc — the plugin ABI.
 *
 * A plugin is a shared object exporting one symbol, LLMC_PLUGIN_ENTRY_SYMBOL
 * ("llmc_plugin_entry"), a function returning a manifest. The manifest's first field is
 * the ABI version the plugin was built against; the host reads that field, compares it
 * with its own LLMC_ABI_VERSION and refuses the file on mismatch before touching anything
 * else. One .so may provide several plugins (templates, solvers and emitters mixed).
 *
 * ABI policy (see sdk/README.md): adding a function at the END of a vtable or context
 * struct (guarded by struct_size, tested with LLMC_HAS_MEMBER) is compatible; any other
 * layout change, a changed signature or changed semantics bumps LLMC_ABI_VERSION.
 *
 *   static const llmc_template_vtable vt = { sizeof vt, my_validate, ... };
 *   static const llmc_plugin_desc plugins[] = {
 *       { LLMC_PLUGIN_TEMPLATE, "my_template", "1.0.0", "what it builds", &vt },
 *   };
 *   LLMC_DEFINE_PLUGIN_ENTRY(plugins)
 */
#ifndef LLMC_PLUGIN_H
#define LLMC_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/ir.h"
#include "llmc/problem.h"
#include "llmc/spec.h"
#include "llmc/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LLMC_ABI_VERSION 2
#define LLMC_PLUGIN_ENTRY_SYMBOL "llmc_plugin_entry"

/* For the structs that start with uint32_t struct_size (the vtables, llmc_emit_ctx): does *p,
 * as its builder compiled it, include `member`? Read a member appended after the current ABI
 * version only when this holds: e.g. LLMC_HAS_MEMBER(ctx, llmc_emit_ctx, new_member). */
#define LLMC_HAS_MEMBER(p, type, member) \
    ((size_t)(p)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

typedef enum llmc_plugin_kind {
    LLMC_PLUGIN_TEMPLATE = 1,
    LLMC_PLUGIN_SOLVER = 2,
    LLMC_PLUGIN_EMITTER = 3,
    LLMC_PLUGIN_TOKENIZER = 4
} llmc_plugin_kind;
/* "template", "solver", "emitter", "tokenizer" */
LLMC_API const char *llmc_plugin_kind_name(llmc_plugin_kind k);

/* ---- templates ------------------------------------------------------------------------ */
typedef struct llmc_template_vtable {
    uint32_t struct_size;    /* sizeof(llmc_template_vtable) as the plugin was built */
    /* Template-specific checks of a loaded spec (feature combinations, which dims it needs,
     * target_params vs complete dims). Report every problem at its key. 0 = valid. */
    int (*validate)(const llmc_spec *spec, llmc_diags *d);
    /* Fill the dims that follow from the given ones (head_dim = hidden/heads, kv heads from
     * the attention kind, encoder/decoder layers from num_layers, ...). Returns 0 when dims
     * are complete afterwards, non-zero (with a reason in d if d != NULL) otherwise. */
    int (*complete_dims)(const llmc_spec *spec, llmc_dims *dims, llmc_diags *d);
    /* Declare free variables, domains and built-in constraints for a target_params spec. */
    int (*define_problem)(const llmc_spec *spec, llmc_problem *p, llmc_diags *d);
    /* Exact closed-form parameter count for complete dims. 0 on success, non-zero on overflow. */
    int (*count)(const llmc_spec *spec, const llmc_dims *dims, llmc_param_count *out);
    /* Build the full IR for complete dims. */
    int (*build_ir)(const llmc_spec *spec, const llmc_dims *dims, llmc_ir *ir, llmc_diags *d);
} llmc_template_vtable;

/* ---- solvers -------------------------------------------------------------------------- */
typedef struct llmc_solver_vtable {
    uint32_t struct_size;
    /* Find complete dims minimising |count - target|/target. Returns an llmc_solve_status.
     * For OK and OUT_OF_TOLERANCE *out holds the best solution found. */
    int (*solve)(const llmc_problem *p, llmc_solution *out, llmc_diags *d);
} llmc_solver_vtable;

/* ---- emitters ------------------------------------------------------------------------- */
struct llmc_weight_source;   /* weights.h (streaming weight source) */
struct llmc_outputs;         /* the pipeline's output registry */

/* The model's dims unpacked (from llmc_dims, complete): what every emitter used to read one by
 * one. A stack the model does not have has 0 layers. */
typedef struct llmc_model_dims {
    int64_t hidden, intermediate, heads, kv_heads, head_dim;
    int64_t layers;          /* decoder-only: num_layers; encoder-decoder: the decoder's layers */
    int64_t encoder_layers;  /* 0 for decoder-only */
    int64_t decoder_layers;  /* == layers */
    int64_t vocab, context;
} llmc_model_dims;

struct llmc_layout;          /* weights.h (storage views) */

typedef struct llmc_emit_ctx {
    uint32_t struct_size;
    const char *emitter_name;
    /* the model */
    const llmc_spec *spec;
    const llmc_dims *dims;              /* complete */
    const llmc_ir *ir;                  /* validated (roles, scopes, blocks, structure: ir.h) */
    const llmc_param_count *count;      /* from the IR */
    /* facts core computes once per compile and hands to every emitter (ABI 2): read these, never
     * re-derive them from the spec or the template's name */
    const char *family;                 /* "llama", "mistral", "qwen2", "gpt2", "t5", or "llmc_<template>" */
    const struct llmc_layout *hf_layout;/* the Hugging Face storage layout (llmc_layout_hf) of the model */
    const llmc_model_dims *model_dims;
    const char *spec_json;              /* llmc_spec_to_json(spec, dims): the text of OUT/spec.json */
    const llmc_special_tokens *special_tokens; /* from the tokenizer and family; never NULL */
    const llmc_tokenizer *tokenizer;    /* NULL when the spec has none */
    /* where and how to write */
    const char *out_dir;                /* temporary output directory; write only below it */
    struct llmc_weight_source *weights; /* NULL if the pipeline has none */
    struct llmc_outputs *outputs;       /* use llmc_out_register() */
    int threads;                        /* worker threads the emitter may use (>= 1) */
    bool progress;                      /* show a progress bar (stderr is a TTY) */
    /* the one provenance hash: SHA-256 (hex) of spec_json, as OUT/manifest.json records it; every
     * artifact that carries a spec hash writes this one (appended: older fields keep their offsets) */
    const char *spec_sha256;
} llmc_emit_ctx;

/* The model's special tokens from the context (all -1 when a test context has none). */
static inline llmc_special_tokens llmc_emit_special_tokens(const llmc_emit_ctx *ctx) {
    llmc_special_tokens none = {-1, -1, -1, -1, -1, false, false};
    if (!LLMC_HAS_MEMBER(ctx, llmc_emit_ctx, special_tokens) || !ctx->special_tokens) return none;
    return *ctx->special_tokens;
}
/* The model's tokenizer from the context, or NULL. */
static inline const llmc_tokenizer *llmc_emit_tokenizer(const llmc_emit_ctx *ctx) {
    return LLMC_HAS_MEMBER(ctx, llmc_emit_ctx, tokenizer) ? ctx->tokenizer : NULL;
}

typedef struct llmc_emitter_vtable {
    uint32_t struct_size;
    /* Optional (may be NULL): refuse, before anything is written, what this emitter cannot
     * express, naming the feature and the nearest supported combination. ir is the validated
     * graph (ABI 2): decide from its structure, blocks and roles, never from the template's name. */
    int (*check)(const llmc_spec *spec, const llmc_ir *ir, llmc_diags *d);
    int (*emit)(const llmc_emit_ctx *ctx, llmc_diags *d);
    /* Optional (may be NULL; appended within ABI 1, read only when LLMC_HAS_MEMBER says so):
     * `llmc validate` calls it on a finished OUT: ctx->out_dir is OUT (read it, never write),
     * ctx->outputs is NULL, ctx->weights is the init weight source, or NULL when the spec names a
     * checkpoint (validate does not read it; its path and kind are in ctx->spec). Rebuild what emit writes apart from tensor values -- headers, tensor
     * tables, configs, code -- and compare it with the files (llmc_out_verify); check every offset
     * and size read from a file against the file's size; report each problem with
     * llmc_out_mismatch. The core checks every byte against the checksums taken at emit time.
     * Returns 0 when everything matches. */
    int (*verify)(const llmc_emit_ctx *ctx, llmc_diags *d);
} llmc_emitter_vtable;

/* ---- tokenizers (trainers) --------------------------------------------------------------
 * `llmc tokenizer train --type NAME` uses the tokenizer plugin called NAME:
 *   1. core creates a builder and installs the preset pipeline of params->pre_tokenizer when
 *      one was given (llmc_tok_builder_preset);
 *   2. prepare (optional) sets the plugin's pipeline: its default preset when the user gave none,
 *      normalizer / decoder / model flags. Refuse unsupported parameters here;
 *   3. core streams the corpus through that normalizer + pre-tokenizer and counts words
 *      (multi-threaded), giving llmc_tok_corpus_stats;
 *   4. train fills the vocabulary (special tokens included, in the order the plugin wants them;
 *      core appends any --special token the plugin did not add), merges or scores;
 *   5. core checks the result by loading it as a tokenizer and writes the output directory. */
typedef struct llmc_tokenizer_vtable {
    uint32_t struct_size;
    int (*prepare)(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d);  /* optional */
    int (*train)(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *stats, llmc_tok_builder *b,
                 llmc_diags *d);
} llmc_tokenizer_vtable;

/* ---- descriptors ---------------------------------------------------------------------- */
typedef struct llmc_plugin_desc {
    uint32_t kind;           /* llmc_plugin_kind */
    const char *name;        /* unique across all loaded plugins of every kind */
    const char *version;     /* the plugin's own version, e.g. "1.0.0" */
    const char *description;
    const void *vtable;      /* llmc_template_vtable / _solver_ / _emitter_ / llmc_tokenizer_vtable */
} llmc_plugin_desc;

typedef struct llmc_plugin_manifest {
    uint32_t abi_version;    /* MUST stay the first field: read before anything else */
    uint32_t n_plugins;
    const llmc_plugin_desc *plugins;
} llmc_plugin_manifest;

typedef const llmc_plugin_manifest *(*llmc_plugin_entry_fn)(void);

#define LLMC_DEFINE_PLUGIN_ENTRY(desc_array)                                                   \
    LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);                   \
    LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {                  \
        static const llmc_plugin_manifest m = {LLMC_ABI_VERSION,                              \
                                               (uint32_t)(sizeof(desc_array) / sizeof((desc_array)[0])), \
                                               (desc_array)};                                  \
        return &m;                                                                             \
    }

#ifdef __cplusplus
}
#endif
#endif
