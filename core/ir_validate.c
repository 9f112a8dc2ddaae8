/* Checking a finished graph: builder errors, structure (names, ids, producers), cycles and
 * a full re-run of shape/dtype inference in topological order. The builder already refuses
 * most inconsistencies; validation repeats every check so that a graph from any source
 * (builder, ir.json, a plugin poking at it) is judged by one set of rules. */
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"
#include "util.h"

#define MAX_REPORTED 200 /* a hostile graph can be wrong everywhere; say so once past this */

typedef struct vctx {
    const llmc_ir *ir;
    llmc_diags *d;
    llmc_loc loc;
    bool json_paths;
    size_t errors;
} vctx;

static void verr(vctx *v, const char *section, size_t index, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void verr(vctx *v, const char *section, size_t index, const char *fmt, ...) {
    v->errors++;
    if (v->errors > MAX_REPORTED) {
        if (v->errors == MAX_REPORTED + 1)
            llmc_diag_add(v->d, LLMC_SEV_ERROR, v->loc, NULL, "too many errors in the graph; stopping here");
        return;
    }
    char key[64];
    bool keyed = v->json_paths && section;
    if (keyed) snprintf(key, sizeof key, "%s[%zu]", section, index);
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(v->d, LLMC_SEV_ERROR, v->loc, keyed ? key : NULL, fmt, ap);
    va_end(ap);
}

/* ---- unique names ------------------------------------------------------------------------------ */

typedef struct named {
    const char *name;
    size_t index;
} named;

static int cmp_named(const void *a, const void *b) {
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Reports each duplicated name once, at its second occurrence. */
static void check_unique(vctx *v, named *items, size_t n, const char *section, const char *what) {
    qsort(items, n, sizeof *items, cmp_named);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(items[i].name, items[i - 1].name) && (i < 2 || strcmp(items[i].name, items[i - 2].name)))
            verr(v, section, items[i].index, "%s name '%s' is used more than once", what, items[i].name);
}

static bool names_unique(vctx *v) {
    const llmc_ir *ir = v->ir;
    size_t nt = llmc_ir_num_tensors(ir), no = llmc_ir_num_ops(ir), n = nt > no ? nt : no;
    named *items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        verr(v, NULL, 0, "out of memory while checking names");
        return false;
    }
    size_t before = v->errors, k = 0;
    for (size_t i = 0; i < nt; i++) {
        const char *nm = llmc_ir_tensor(ir, (llmc_tid)i)->name;
        if (nm) items[k++] = (named){nm, i};
    }
    check_unique(v, items, k, "tensors", "tensor");
    k = 0;
    for (size_t i = 0; i < no; i++) {
        const char *nm = llmc_ir_op_at(ir, i)->name;
        if (nm) items[k++] = (named){nm, i};
    }
    check_unique(v, items, k, "ops", "op");
    free(items);
    return v->errors == before;
}

/* ---- structure ------------------------------------------------------------------------------------ */

static bool is_float(llmc_dtype dt) { return dt == LLMC_DTYPE_F32 || dt == LLMC_DTYPE_F16 || dt == LLMC_DTYPE_BF16; }

static void check_tensor(vctx *v, size_t i) {
    const llmc_ir *ir = v->ir;
    const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
    const char *why = llmc_ir_name_problem(t->name, LLMC_IR_NAME_MAX);
    if (why) {
        verr(v, "tensors", i, "tensor %zu: name %s", i, why);
        return;
    }
    if ((unsigned)t->kind >= LLMC_TENSOR_KIND_COUNT || (unsigned)t->dtype >= LLMC_DTYPE_COUNT ||
        t->rank < 0 || t->rank > LLMC_IR_MAX_RANK) {
        verr(v, "tensors", i, "tensor '%s': invalid kind, dtype or rank", t->name);
        return;
    }
    char sb[LLMC_IR_SHAPE_BUF];
    for (int k = 0; k < t->rank; k++)
        if (!llmc_ir_dim_ok(t->shape[k])) {
            verr(v, "tensors", i, "tensor '%s': dim %d is %lld (expected a positive size or B, S, T)", t->name, k,
                 (long long)t->shape[k]);
            return;
        }
    if (t->kind == LLMC_TENSOR_PARAM) {
        uint64_t n;
        if (!is_float(t->dtype))
            verr(v, "tensors", i, "parameter '%s': dtype %s is not a float type", t->name, llmc_dtype_name(t->dtype));
        else if (llmc_tensor_numel(t, &n) != 0)
            verr(v, "tensors", i, "parameter '%s': shape %s must be concrete with at most 2^64 elements", t->name,
                 llmc_ir_fmt_shape(t->rank, t->shape, sb, sizeof sb));
        else if ((unsigned)t->component >= LLMC_COMP_COUNT || (unsigned)t->stack > LLMC_STACK_ENCODER ||
                 (t->stack == LLMC_STACK_NONE ? t->layer != -1 : t->layer < 0) ||
                 (unsigned)t->init.kind >= LLMC_PINIT_KIND_COUNT)
            verr(v, "tensors", i, "parameter '%s': invalid component, stack/layer or init", t->name);
    }
    if (t->kind == LLMC_TENSOR_VALUE) {
        const llmc_op_info *op = t->producer >= 0 ? llmc_ir_op_at(ir, (size_t)t->producer) : NULL;
        bool listed = false;
        for (int k = 0; op && k < op->n_outputs; k++) listed |= op->outputs[k] == (llmc_tid)i;
        if (!op)
            verr(v, "tensors", i, "value '%s' is not produced by any op", t->name);
        else if (!listed)
            verr(v, "tensors", i, "value '%s' names op '%s' as its producer, which does not write it", t->name,
                 op->name);
    } else if (t->producer != -1) {
        verr(v, "tensors", i, "%s '%s' is written by an op (graph inputs and parameters never are)",
             t->kind == LLMC_TENSOR_INPUT ? "input" : "parameter", t->name);
    }
}

static void check_op(vctx *v, size_t i) {
    const llmc_ir *ir = v->ir;
    const llmc_op_info *op = llmc_ir_op_at(ir, i);
    int lo, hi;
    if (!llmc_ir_op_arity(op->type, &lo, &hi)) {
        verr(v, "ops", i, "op %zu: unknown op type %d", i, (int)op->type);
        return;
    }
    const char *tn = llmc_op_type_name(op->type);
    const char *why = llmc_ir_name_problem(op->name, LLMC_IR_NAME_MAX);
    if (why) {
        verr(v, "ops", i, "%s op %zu: name %s", tn, i, why);
        return;
    }
    if (op->n_inputs != hi || op->n_outputs != LLMC_IR_MAX_OUTPUTS) {
        verr(v, "ops", i, "%s '%s': has %d inputs and %d outputs (expected %d and %d)", tn, op->name, op->n_inputs,
             op->n_outputs, hi, LLMC_IR_MAX_OUTPUTS);
        return;
    }
    size_t nt = llmc_ir_num_tensors(ir);
    for (int k = 0; k < op->n_inputs; k++) {
        llmc_tid t = op->inputs[k];
        if (t != LLMC_TID_NONE && (t < 0 || (size_t)t >= nt))
            verr(v, "ops", i, "%s '%s': input %d refers to tensor id %d, which does not exist", tn, op->name, k, (int)t);
    }
    for (int k = 0; k < op->n_outputs; k++) {
        llmc_tid t = op->outputs[k];
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, t);
        if (!ti)
            verr(v, "ops", i, "%s '%s': output %d refers to tensor id %d, which does not exist", tn, op->name, k, (int)t);
        else if (ti->kind != LLMC_TENSOR_VALUE)
            verr(v, "ops", i, "%s '%s': writes %s '%s' (graph inputs and parameters are never written by ops)", tn,
                 op->name, llmc_tensor_kind_name(ti->kind), ti->name);
        else if (ti->producer != (int32_t)i)
            verr(v, "ops", i, "%s '%s': writes value '%s', which op '%s' writes too (one producer per value)", tn,
                 op->name, ti->name,
                 ti->producer >= 0 && llmc_ir_op_at(ir, (size_t)ti->producer) ? llmc_ir_op_at(ir, (size_t)ti->producer)->name
                                                                               : "?");
    }
    char *msg = llmc_ir_check_attrs(op->attrs, op->n_attrs);
    if (msg) {
        verr(v, "ops", i, "%s '%s': %s", tn, op->name, msg);
        free(msg);
    }
}

static void check_outputs(vctx *v) {
    const llmc_ir *ir = v->ir;
    size_t n = llmc_ir_num_outputs(ir);
    if (n == 0) verr(v, NULL, 0, "the graph has no outputs (mark at least one with llmc_ir_mark_output)");
    for (size_t i = 0; i < n; i++) {
        llmc_tid t = llmc_ir_output(ir, i);
        if (!llmc_ir_tensor(ir, t)) {
            verr(v, "outputs", i, "graph output %zu refers to tensor id %d, which does not exist", i, (int)t);
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (llmc_ir_output(ir, k) == t)
                verr(v, "outputs", i, "tensor '%s' is marked as a graph output twice", llmc_ir_tensor(ir, t)->name);
    }
}

/* ---- topological order ------------------------------------------------------------------------------ */

/* binary min-heap of op indices: Kahn's algorithm taking the lowest ready index first, so
 * that a graph built in dependency order comes back in insertion order */
static void heap_push(int32_t *h, size_t *n, int32_t x) {
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int32_t heap_pop(int32_t *h, size_t *n) {
    int32_t top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = x;
    return top;
}

/* Producer op of input k of op j, or -1 (graph input, parameter, absent or broken id). */
static int32_t producer_of(const llmc_ir *ir, const llmc_op_info *op, int k) {
    const llmc_tensor_info *t = llmc_ir_tensor(ir, op->inputs[k]);
    if (!t || t->producer < 0 || (size_t)t->producer >= llmc_ir_num_ops(ir)) return -1;
    return t->producer;
}

/* After Kahn stalls, every op left has an unprocessed producer. Walking producers back
 * from one of them must revisit an op: that op lies on a cycle. */
static void report_cycle(vctx *v, const uint32_t *indeg, int32_t *mark, size_t n) {
    const llmc_ir *ir = v->ir;
    int32_t start = -1;
    for (size_t i = 0; i < n && start < 0; i++)
        if (indeg[i] > 0) start = (int32_t)i;
    for (size_t i = 0; i < n; i++) mark[i] = -1;
    int32_t x = start;
    for (int32_t step = 0; mark[x] < 0; step++) {
        mark[x] = step;
        const llmc_op_info *op = llmc_ir_op_at(ir, (size_t)x);
        int32_t next = -1;
        for (int k = 0; k < op->n_inputs && next < 0; k++) {
            int32_t p = producer_of(ir, op, k);
            if (p >= 0 && indeg[p] > 0) next = p;
        }
        if (next < 0) break; /* cannot happen in a stalled Kahn run; stop rather than loop */
        x = next;
    }
    /* x is on the cycle; collect it walking backwards, then print in data-flow order */
    int32_t cyc[9];
    int len = 0, total = 0;
    int32_t y = x;
    do {
        if (len < 9) cyc[len++] = y;
        total++;
        const llmc_op_info *op = llmc_ir_op_at(ir, (size_t)y);
        int32_t next = -1;
        for (int k = 0; k < op->n_inputs && next < 0; k++) {
            int32_t p = producer_of(ir, op, k);
            if (p >= 0 && indeg[p] > 0 && mark[p] >= 0) next = p;
        }
        if (next < 0) break;
        y = next;
    } while (y != x && total <= (int)n);
    char path[1024];
    size_t pl = 0;
    pl += (size_t)snprintf(path, sizeof path, "'%.100s'", llmc_ir_op_at(ir, (size_t)x)->name);
    if (total > len) {
        pl += (size_t)snprintf(path + pl, sizeof path - pl, " -> ... (a cycle of %d ops)", total);
    } else {
        for (int k = len - 1; k >= 1 && pl < sizeof path; k--)
            pl += (size_t)snprintf(path + pl, sizeof path - pl, " -> '%.100s'", llmc_ir_op_at(ir, (size_t)cyc[k])->name);
    }
    if (pl < sizeof path)
        snprintf(path + pl, sizeof path - pl, " -> '%.100s'", llmc_ir_op_at(ir, (size_t)x)->name);
    const llmc_op_info *op = llmc_ir_op_at(ir, (size_t)x);
    verr(v, "ops", (size_t)x, "%s '%s' is on a cycle: %s", llmc_op_type_name(op->type), op->name, path);
}

static int topo(vctx *v, int32_t *order) {
    const llmc_ir *ir = v->ir;
    size_t n = llmc_ir_num_ops(ir);
    if (n == 0) return 0;
    uint32_t *indeg = calloc(n, sizeof *indeg);
    size_t *start = calloc(n + 1, sizeof *start);
    int32_t *heap = malloc(n * sizeof *heap);
    size_t n_edges = 0;
    for (size_t j = 0; j < n; j++) n_edges += (size_t)llmc_ir_op_at(ir, j)->n_inputs;
    int32_t *adj = malloc((n_edges ? n_edges : 1) * sizeof *adj);
    size_t *fill = calloc(n, sizeof *fill);
    int rc = 0;
    if (!indeg || !start || !heap || !adj || !fill) {
        verr(v, NULL, 0, "out of memory while ordering ops");
        rc = -1;
        goto done;
    }
    /* consumers of each op in CSR form: adj[start[p] .. start[p+1]) */
    for (size_t j = 0; j < n; j++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, j);
        for (int k = 0; k < op->n_inputs; k++) {
            int32_t p = producer_of(ir, op, k);
            if (p < 0) continue;
            indeg[j]++;
            start[p + 1]++;
        }
    }
    for (size_t p = 0; p < n; p++) start[p + 1] += start[p];
    for (size_t j = 0; j < n; j++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, j);
        for (int k = 0; k < op->n_inputs; k++) {
            int32_t p = producer_of(ir, op, k);
            if (p >= 0) adj[start[p] + fill[p]++] = (int32_t)j;
        }
    }
    size_t hn = 0, done_n = 0;
    for (size_t j = 0; j < n; j++)
        if (indeg[j] == 0) heap_push(heap, &hn, (int32_t)j);
    while (hn) {
        int32_t x = heap_pop(heap, &hn);
        order[done_n++] = x;
        for (size_t e = start[x]; e < start[x + 1]; e++)
            if (--indeg[adj[e]] == 0) heap_push(heap, &hn, adj[e]);
    }
    if (done_n < n) {
        report_cycle(v, indeg, heap, n);
        rc = -1;
    }
done:
    free(indeg);
    free(start);
    free(heap);
    free(adj);
    free(fill);
    return rc;
}

int llmc_ir_topo_order(const llmc_ir *ir, int32_t *order, llmc_diags *d) {
    vctx v = {ir, d, {NULL, 0, 0}, false, 0};
    if (!ir || (!order && llmc_ir_num_ops(ir) > 0)) {
        llmc_error(d, NULL, "topological order: %s is missing", ir ? "order array" : "graph");
        return -1;
    }
    return topo(&v, order);
}

/* ---- validate --------------------------------------------------------------------------------------- */

static bool same_result(const llmc_ir_result *r, const llmc_tensor_info *t) {
    if (r->dtype != t->dtype || r->rank != t->rank) return false;
    for (int i = 0; i < r->rank; i++)
        if (r->shape[i] != t->shape[i]) return false;
    return true;
}

/* ---- roles, scopes and blocks ------------------------------------------------------------------- */

/* The component a role is counted under (the breakdown and the roles must tell one story). */
static llmc_component role_component(llmc_param_role r) {
    switch (r) {
    case LLMC_ROLE_TOKEN_EMBEDDING: return LLMC_COMP_EMBEDDING;
    case LLMC_ROLE_POSITION_EMBEDDING:
    case LLMC_ROLE_RELATIVE_BIAS: return LLMC_COMP_POSITIONAL;
    case LLMC_ROLE_MLP_GATE:
    case LLMC_ROLE_MLP_UP:
    case LLMC_ROLE_MLP_DOWN:
    case LLMC_ROLE_MOE_ROUTER:
    case LLMC_ROLE_EXPERT_GATE:
    case LLMC_ROLE_EXPERT_UP:
    case LLMC_ROLE_EXPERT_DOWN:
    case LLMC_ROLE_SHARED_EXPERT_GATE:
    case LLMC_ROLE_SHARED_EXPERT_UP:
    case LLMC_ROLE_SHARED_EXPERT_DOWN:
    case LLMC_ROLE_SHARED_EXPERT_SCALE: return LLMC_COMP_MLP;
    case LLMC_ROLE_NORM: return LLMC_COMP_NORM;
    case LLMC_ROLE_OUTPUT_HEAD: return LLMC_COMP_HEAD;
    default: return LLMC_COMP_ATTENTION;
    }
}

static bool is_cross(llmc_param_role r) { return r >= LLMC_ROLE_CROSS_Q && r <= LLMC_ROLE_CROSS_O; }

static void check_role(vctx *v, size_t i, const llmc_tensor_info *t) {
    const char *n = t->name;
    llmc_param_role r = t->role;
    if (r == LLMC_ROLE_NONE || (unsigned)r >= LLMC_ROLE_COUNT) {
        verr(v, "tensors", i,
             "parameter '%s' has no role (every parameter needs one: set llmc_param_desc.role, e.g. attn_q, "
             "mlp_down, norm)", n);
        return;
    }
    const char *rn = llmc_param_role_name(r);
    if (role_component(r) != t->component)
        verr(v, "tensors", i, "parameter '%s': role %s belongs to component %s (got %s)", n, rn,
             llmc_component_name(role_component(r)), llmc_component_name(t->component));
    bool table = r == LLMC_ROLE_TOKEN_EMBEDDING || r == LLMC_ROLE_POSITION_EMBEDDING || r == LLMC_ROLE_RELATIVE_BIAS;
    if (table && t->is_bias) verr(v, "tensors", i, "parameter '%s': role %s has no bias vector", n, rn);
    bool expert = r == LLMC_ROLE_EXPERT_GATE || r == LLMC_ROLE_EXPERT_UP || r == LLMC_ROLE_EXPERT_DOWN;
    int want_rank = t->is_bias || r == LLMC_ROLE_NORM ? 1 : expert ? 3 : 2; /* experts stacked [E, out, in] */
    if (t->rank != want_rank)
        verr(v, "tensors", i, "parameter '%s': a %s%s has rank %d (got rank %d)", n, rn, t->is_bias ? " bias" : "",
             want_rank, t->rank);
    if ((r == LLMC_ROLE_NORM) != (t->norm_site != LLMC_NORM_SITE_NONE) || (unsigned)t->norm_site >= LLMC_NORM_SITE_COUNT)
        verr(v, "tensors", i, "parameter '%s': %s (role %s, norm site %s)", n,
             r == LLMC_ROLE_NORM ? "a norm parameter needs a norm site (attn_input, mlp_input, final, ...)"
                                 : "only norm parameters have a norm site",
             rn, llmc_norm_site_name(t->norm_site));
    if (is_cross(r) && t->stack != LLMC_STACK_DECODER)
        verr(v, "tensors", i, "parameter '%s': cross-attention (%s) is in the decoder stack (got %s)", n, rn,
             llmc_stack_name(t->stack));
    bool block_norm = t->norm_site != LLMC_NORM_SITE_NONE && t->norm_site != LLMC_NORM_SITE_FINAL &&
                      t->norm_site != LLMC_NORM_SITE_EMBEDDING;
    if (block_norm && t->stack == LLMC_STACK_NONE)
        verr(v, "tensors", i, "parameter '%s': norm site %s is inside a block (got stack none)", n,
             llmc_norm_site_name(t->norm_site));
    if (t->stack != LLMC_STACK_NONE && t->layer >= 0 && !llmc_ir_find_block(v->ir, t->stack, t->layer))
        verr(v, "tensors", i, "parameter '%s': block %s %d has no descriptor (declare it with llmc_ir_add_block)", n,
             llmc_stack_name(t->stack), t->layer);
}

/* Shapes of the projections agree with each other within a block: q/k/v read the width the
 * token embedding has, o writes it back. */
static void check_role_shapes(vctx *v) {
    const llmc_ir *ir = v->ir;
    llmc_tid e = llmc_ir_find_param(ir, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE);
    if (e == LLMC_TID_NONE) return;
    int64_t H = llmc_ir_tensor(ir, e)->shape[1];
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind != LLMC_TENSOR_PARAM || t->is_bias || t->rank != 2) continue;
        int dim; /* which dim must equal the hidden size: 1 for maps that read the stream, 0 for writers */
        switch (t->role) {
        case LLMC_ROLE_ATTN_O:
        case LLMC_ROLE_CROSS_O:
        case LLMC_ROLE_MLP_DOWN:
        case LLMC_ROLE_SHARED_EXPERT_DOWN: dim = 0; break;
        case LLMC_ROLE_RELATIVE_BIAS:
        case LLMC_ROLE_TOKEN_EMBEDDING: dim = -1; break;
        default: dim = 1; break;
        }
        if (dim >= 0 && t->shape[dim] != H)
            verr(v, "tensors", i, "parameter '%s': a %s %s dim %d of %lld, the hidden size of '%s' (got %lld)",
                 t->name, llmc_param_role_name(t->role), dim == 1 ? "reads" : "writes", dim, (long long)H,
                 llmc_ir_tensor(ir, e)->name, (long long)t->shape[dim]);
    }
}

static void check_scopes(vctx *v) {
    const llmc_ir *ir = v->ir;
    if (llmc_ir_get_structure(ir) == LLMC_STRUCTURE_UNSET)
        verr(v, NULL, 0, "the graph declares no structure (a template sets decoder_only or encoder_decoder with "
                         "llmc_ir_set_structure)");
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if ((unsigned)op->role >= LLMC_OPROLE_COUNT || (unsigned)op->stack > (unsigned)LLMC_STACK_ENCODER ||
            (op->stack == LLMC_STACK_NONE ? op->layer != -1 : op->layer < 0))
            verr(v, "ops", i, "op '%s': scope (stack %d, layer %d, role %d) is invalid", op->name, (int)op->stack,
                 op->layer, (int)op->role);
        else if (op->stack != LLMC_STACK_NONE && !llmc_ir_find_block(ir, op->stack, op->layer))
            verr(v, "ops", i, "op '%s': block %s %d has no descriptor (declare it with llmc_ir_add_block)", op->name,
                 llmc_stack_name(op->stack), op->layer);
    }
    for (size_t i = 0; i < llmc_ir_num_blocks(ir); i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->cross_attention && b->stack != LLMC_STACK_DECODER)
            verr(v, NULL, 0, "block %s %d: cross-attention is in the decoder stack", llmc_stack_name(b->stack), b->layer);
        if (b->residual == LLMC_RESIDUAL_PARALLEL && (!b->self_attention || !b->mlp))
            verr(v, NULL, 0, "block %s %d: parallel residual wiring needs self-attention and an MLP",
                 llmc_stack_name(b->stack), b->layer);
    }
}

int llmc_ir_validate_at(const llmc_ir *ir, llmc_diags *d, const char *file, bool json_paths) {
    vctx v = {ir, d, {file, 0, 0}, json_paths, 0};
    if (!ir) {
        verr(&v, NULL, 0, "no graph to validate");
        return -1;
    }
    if (llmc_ir_out_of_memory(ir)) verr(&v, NULL, 0, "out of memory while building the graph");
    for (size_t i = 0; i < llmc_ir_num_errors(ir); i++) verr(&v, NULL, 0, "%s", llmc_ir_error_at(ir, i));
    if (llmc_ir_dropped_errors(ir))
        verr(&v, NULL, 0, "... and %zu more errors while building the graph", llmc_ir_dropped_errors(ir));

    size_t nt = llmc_ir_num_tensors(ir), no = llmc_ir_num_ops(ir);
    size_t before = v.errors;
    for (size_t i = 0; i < nt; i++) check_tensor(&v, i);
    for (size_t i = 0; i < no; i++) check_op(&v, i);
    check_outputs(&v);
    for (size_t i = 0; i < nt; i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t && t->kind == LLMC_TENSOR_PARAM) check_role(&v, i, t);
    }
    if (v.errors == before) check_role_shapes(&v);
    check_scopes(&v);
    /* inference reads ids and names: only worth running on a structurally sound graph */
    if (v.errors != before || !names_unique(&v)) return -1;

    int32_t *order = malloc((no ? no : 1) * sizeof *order);
    if (!order) {
        verr(&v, NULL, 0, "out of memory while validating");
        return -1;
    }
    if (topo(&v, order) != 0) {
        free(order);
        return -1;
    }
    for (size_t k = 0; k < no; k++) {
        size_t i = (size_t)order[k];
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        llmc_ir_result r;
        char *err = NULL;
        if (llmc_ir_infer(ir, op->type, op->name, op->inputs, op->n_inputs, op->attrs, op->n_attrs, &r, &err) != 0) {
            verr(&v, "ops", i, "%s", err ? err : "out of memory during shape inference");
            free(err);
            continue;
        }
        const llmc_tensor_info *t = llmc_ir_tensor(ir, op->outputs[0]);
        if (!same_result(&r, t)) {
            char want[LLMC_IR_SHAPE_BUF], got[LLMC_IR_SHAPE_BUF];
            verr(&v, "ops", i, "%s '%s': output '%s' is recorded as %s %s but the op gives %s %s",
                 llmc_op_type_name(op->type), op->name, t->name, llmc_ir_fmt_shape(t->rank, t->shape, got, sizeof got),
                 llmc_dtype_name(t->dtype), llmc_ir_fmt_shape(r.rank, r.shape, want, sizeof want),
                 llmc_dtype_name(r.dtype));
        }
    }
    free(order);
    return v.errors ? -1 : 0;
}

int llmc_ir_validate(const llmc_ir *ir, llmc_diags *d) { return llmc_ir_validate_at(ir, d, NULL, false); }
