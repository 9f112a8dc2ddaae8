/* pytorch emitter — shared declarations of its files:
 *   pytorch.c     plugin entry, spec check, the facts the templates need
 *   pt_params.c   the parameters the generated modules will have, checked against the layout
 *   pt_package.c  template variables and the files written
 *   pt_graph.c    the generic decoder: any decoder-only graph, from its block descriptors and roles
 *   pt_text.c     text buffer and template renderer */
#ifndef PT_EMIT_H
#define PT_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc/ir.h"
#include "llmc/plugin.h"
#include "llmc/strbuf.h"
#include "llmc/weights.h"

typedef struct pt_model {
    const llmc_spec *spec;
    bool encdec;             /* template encoder_decoder (T5 module names) */
    bool generic;            /* not a graph of the built-in module trees: the generic decoder, IR names */
    bool qk_norm;            /* the IR has per-head q/k norms (norm sites attn_q, attn_k) */
    bool gpt2;               /* GPT-2 layout: wte/wpe/h.N, fused c_attn, Conv1D weights [in, out] */
    char family[64];         /* layout family ("llama", "gpt2", "t5", "llmc_decoder_only", ...) */
    char hf_architecture[64];
    int64_t V, ctx, H, I, n, m, d;
    int64_t L;               /* decoder-only layers */
    int64_t Le, Ld;          /* encoder / decoder layers */
    double attention_scale;  /* softmax(q k^T * scale) */
    bool has_output_scale;   /* hidden state scaled before the head (T5, tied) */
    double output_scale;
    char package[72];        /* Python package name */
    llmc_special_tokens tokens; /* the model's special tokens (llmc_emit_ctx.special_tokens) */
    /* sparse mixture of experts (MOE_ROUTE / MOE_EXPERTS ops), read off the IR */
    bool moe;
    int64_t experts, experts_per_token, expert_I;
    int64_t shared_I;   /* the shared expert's width (Qwen2-MoE), 0 without one */
    char moe_routing[32];
    bool moe_normalize;
} pt_model;

/* Is this a graph the built-in module trees compute (sequential pre-norm blocks holding the
 * llama-style or T5-style parameters)? Otherwise the package is the generic decoder. */
bool pt_builtin_graph(const llmc_ir *ir);

/* The generic decoder: check that the package computes every op and holds every parameter of
 * the graph (each difference is an error in d) and, with out, write the Python tables of the
 * model's structure (TOKEN_EMBEDDING ... BLOCKS, PARAMETERS). heads, kv_heads and head_dim (may
 * be NULL) receive the attention ops' head layout. 0 if the package computes the graph. */
int pt_graph_tables(const llmc_spec *s, const llmc_ir *ir, llmc_strbuf *out, int64_t *heads, int64_t *kv_heads,
                    int64_t *head_dim, llmc_diags *d);
/* the first block's wiring as a formula, for the docstring */
void pt_graph_wiring(const llmc_ir *ir, llmc_strbuf *out);

/* Rebuild the parameter list of the generated modules and compare it with the layout (names
 * and shapes) and its total with llmc's count. 0 if they agree; every difference otherwise. */
int pt_check_params(const pt_model *m, const llmc_layout *layout, const llmc_ir *ir,
                    const llmc_param_count *count, llmc_diags *d);

/* Render and write OUT/pytorch/<package>/ and OUT/pytorch/train.py; register them. With verify
 * (llmc validate) render them and compare with the files in OUT instead, reporting each difference. */
int pt_write_package(const llmc_emit_ctx *ctx, const pt_model *m, const llmc_layout *layout, bool verify,
                     llmc_diags *d);

#endif
