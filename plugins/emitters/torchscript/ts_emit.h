/* torchscript emitter — shared declarations.
 *
 * The archive describes one module tree. ts_generic.c builds it from the layout's names and
 * computes the forward from the IR's blocks and roles for decoder-only models; ts_model.c builds
 * the PyTorch package's T5 tree for encoder-decoder models; ts_code.c renders the TorchScript
 * source of each class in it from the ts/ templates (ts_text.h); torchscript.c pickles the tree
 * into data.pkl and streams the parameters from the weight source into data/<key>. */
#ifndef LLMC_TS_EMIT_H
#define LLMC_TS_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/llmc.h"
#include "llmc/weights.h"
#include "ts_text.h"

#define TS_NS "__torch__.llmc"   /* qualified name prefix of every class except the root */
#define TS_NS_FILE "code/__torch__/llmc.py"
#define TS_ROOT_FILE "code/__torch__.py"

/* ---- facts about the model --------------------------------------------------------------------- */
typedef struct ts_facts {
    const llmc_spec *s;
    const llmc_ir *ir;
    const llmc_layout *layout;/* the storage layout (names of the archive's parameters) */
    bool encdec;
    bool generic;             /* decoder-only: generated from the IR's blocks and roles (ts_generic.c);
                               * encoder-decoder: the PyTorch package's T5 module tree (ts_model.c) */
    int64_t V, P, H, I;       /* vocab, context, hidden, intermediate */
    int64_t n, m, d;          /* heads, kv heads, head_dim */
    int64_t L, E, D;          /* decoder-only layers; encoder / decoder layers */
    double scale;             /* attention scale (from the IR's attention ops) */
    bool has_out_scale;       /* T5 with a tied head: the decoder output is scaled first */
    double out_scale;
    llmc_dtype dt;            /* parameter dtype: F32, F16 or BF16 */
} ts_facts;

int ts_facts_init(ts_facts *f, const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir,
                  const llmc_layout *layout, llmc_diags *d);

/* ---- the module tree --------------------------------------------------------------------------- */
typedef struct ts_param {
    char attr[64];           /* "weight", "bias" */
    int rank;
    int64_t shape[LLMC_IR_MAX_RANK]; /* what the module's code expects */
    long view;               /* index into the layout, set by ts_tree_bind */
} ts_param;

#define TS_NODE_MAX_PARAMS 8
typedef struct ts_node {
    const char *cls;         /* class name: the root's in __torch__, every other in __torch__.llmc */
    char *own_cls;           /* cls when the tree allocated it (generic classes), freed with the node */
    char attr[LLMC_VIEW_NAME_MAX]; /* attribute name in the parent ("model", "0", "SelfAttention", ...) */
    ts_param params[TS_NODE_MAX_PARAMS];
    int n_params;
    struct ts_node **kids;
    size_t n_kids, cap;
} ts_node;

typedef struct ts_tree {
    ts_node *root;
    bool oom;
} ts_tree;

/* Build the module tree of an encoder-decoder model (names and shapes as the PyTorch package has them). */
int ts_tree_build(ts_tree *t, const ts_facts *f, llmc_diags *d);
void ts_tree_free(ts_tree *t);
/* Match every parameter of the tree to a view of the layout by its dotted path, checking
 * shapes; every view must be used exactly once. */
int ts_tree_bind(ts_tree *t, const llmc_layout *l, llmc_diags *d);
/* Does the tree hold exactly the layout's tensors (every parameter a view of its path and shape,
 * every view once)? The same match as ts_tree_bind, without diagnostics. */
bool ts_tree_covers(ts_tree *t, const llmc_layout *l);
ts_node *ts_node_new(ts_tree *t, const char *cls, const char *attr);
ts_node *ts_node_add(ts_tree *t, ts_node *parent, ts_node *kid);

/* ---- the generic model (ts_generic.c) ------------------------------------------------------------ */
/* What the generic code cannot express in this graph, as errors (decoder-only graphs only). */
int ts_generic_check(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d);
/* Can the generic code read this stored tensor (IR parameters as they are, concatenated along
 * dim 0, or transposed)? */
bool ts_generic_reads(const llmc_tensor_view *v);
/* The module tree of the layout's names: one module per dotted prefix, parameters at the leaves. */
int ts_generic_tree(ts_tree *t, const ts_facts *f, llmc_diags *d);
/* The flags and variables of the root's forward (ts/causal_lm.py.in): the parameters it reads,
 * found by role, and every block (ts/block.py.in) wired as its descriptor says; in `helpers`,
 * which norm helpers of ts/generic_helpers.py.in it calls. */
int ts_generic_forward(ts_vars *v, ts_vars *helpers, const ts_facts *f, llmc_diags *d);
/* whether the graph has QK-norm (per-head RMSNorm of q and k, norm sites attn_q / attn_k) */
bool ts_generic_has_qk_norm(const llmc_ir *ir);

/* ---- code ----------------------------------------------------------------------------------------- */
/* The two source files: TS_ROOT_FILE (the root class) and TS_NS_FILE (every other class and
 * the helper functions), with declarations derived from the tree. *version gets the archive
 * version torch 1.13 would write for this code (see docs/torchscript.md). */
int ts_code(const ts_facts *f, const ts_tree *t, llmc_strbuf *root_src, llmc_strbuf *ns_src, unsigned *version,
            llmc_diags *d);

#endif
