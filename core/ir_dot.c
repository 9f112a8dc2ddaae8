/* Graphviz DOT view of the IR: ops as boxes, parameters as ellipses labelled with their
 * shapes, graph inputs as parallelograms, outputs as double octagons, every edge labelled
 * with the shape flowing along it. Ops and parameters of one layer are grouped into a
 * cluster: an op belongs to where its first parameter belongs (a layer, or outside any
 * stack), or without parameters to the deepest layer any of its inputs comes from (so
 * attention, rope and residual adds land in their layer). */
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"

/* A cluster key: 0 = outside any stack; else ordered by (stack, layer) with the encoder
 * before the decoder, because an encoder-decoder's decoder reads the encoder's output. */
static int64_t cluster_key(llmc_stack s, int layer) {
    if (s == LLMC_STACK_NONE || layer < 0) return 0;
    return (s == LLMC_STACK_ENCODER ? 1 : 2) * ((int64_t)1 << 32) + layer + 1;
}

static llmc_stack key_stack(int64_t k) { return k >> 32 == 1 ? LLMC_STACK_ENCODER : LLMC_STACK_DECODER; }
static int key_layer(int64_t k) { return (int)((k & 0xffffffff) - 1); }

/* DOT double-quoted string body: quotes and backslashes escaped, control bytes dropped. */
static void put_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c >= 0x20 && c != 0x7f)
            fputc(c, f);
    }
}

static void put_shape(FILE *f, const llmc_tensor_info *t) {
    char b[LLMC_IR_SHAPE_BUF];
    fputs(llmc_ir_fmt_shape(t->rank, t->shape, b, sizeof b), f);
}

static void tensor_node(FILE *f, const llmc_tensor_info *t, llmc_tid id) {
    const char *shape = t->kind == LLMC_TENSOR_PARAM ? "ellipse" : "parallelogram";
    fprintf(f, "    t%d [shape=%s, label=\"", (int)id, shape);
    put_escaped(f, t->name);
    fputs("\\n", f);
    put_shape(f, t);
    fprintf(f, " %s\"];\n", llmc_dtype_name(t->dtype));
}

static void op_node(FILE *f, const llmc_op_info *op, size_t i) {
    fprintf(f, "    op%zu [shape=box, label=\"", i);
    put_escaped(f, op->name);
    fprintf(f, "\\n%s\"];\n", llmc_op_type_name(op->type));
}

int llmc_ir_write_dot(const llmc_ir *ir, FILE *f) {
    if (!ir || !f) return -1;
    size_t nt = llmc_ir_num_tensors(ir), no = llmc_ir_num_ops(ir);
    int64_t *op_key = calloc(no ? no : 1, sizeof *op_key);
    int32_t *order = malloc((no ? no : 1) * sizeof *order);
    if (!op_key || !order) {
        free(op_key);
        free(order);
        return -1;
    }
    /* a graph with a cycle cannot be ordered: fall back to insertion order (clusters of a
     * broken graph are only a hint) */
    llmc_diags *quiet = llmc_diags_create();
    if (!quiet || llmc_ir_topo_order(ir, order, quiet) != 0)
        for (size_t i = 0; i < no; i++) order[i] = (int32_t)i;
    llmc_diags_free(quiet);

    for (size_t k = 0; k < no; k++) {
        size_t i = (size_t)order[k];
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        int64_t own = -1, inherited = 0;
        for (int j = 0; j < op->n_inputs; j++) {
            const llmc_tensor_info *t = llmc_ir_tensor(ir, op->inputs[j]);
            if (!t) continue;
            if (t->kind == LLMC_TENSOR_PARAM && own < 0) own = cluster_key(t->stack, t->layer);
            if (t->kind == LLMC_TENSOR_VALUE && t->producer >= 0 && (size_t)t->producer < no &&
                op_key[t->producer] > inherited)
                inherited = op_key[t->producer];
        }
        op_key[i] = own >= 0 ? own : inherited;
    }

    fputs("digraph llmc_ir {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=8];\n",
          f);
    /* nodes outside any layer */
    for (size_t i = 0; i < nt; i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind == LLMC_TENSOR_INPUT || (t->kind == LLMC_TENSOR_PARAM && !cluster_key(t->stack, t->layer)))
            tensor_node(f, t, (llmc_tid)i);
    }
    for (size_t i = 0; i < no; i++)
        if (!op_key[i]) op_node(f, llmc_ir_op_at(ir, i), i);
    /* one cluster per layer, in order of first appearance (layers are few: a linear scan
     * of the keys seen so far is enough) */
    int64_t *keys = malloc((no ? no : 1) * sizeof *keys);
    size_t n_keys = 0;
    if (!keys) {
        free(op_key);
        free(order);
        return -1;
    }
    for (size_t i = 0; i < no; i++) {
        bool seen = op_key[i] == 0;
        for (size_t k = 0; k < n_keys && !seen; k++) seen = keys[k] == op_key[i];
        if (!seen) keys[n_keys++] = op_key[i];
    }
    for (size_t k = 0; k < n_keys; k++) {
        int64_t key = keys[k];
        llmc_stack s = key_stack(key);
        int layer = key_layer(key);
        fprintf(f, "  subgraph cluster_%s_%d {\n    label=\"%s layer %d\";\n    style=rounded;\n",
                llmc_stack_name(s), layer, llmc_stack_name(s), layer);
        for (size_t j = 0; j < nt; j++) {
            const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)j);
            if (t->kind == LLMC_TENSOR_PARAM && cluster_key(t->stack, t->layer) == key) tensor_node(f, t, (llmc_tid)j);
        }
        for (size_t j = 0; j < no; j++)
            if (op_key[j] == key) op_node(f, llmc_ir_op_at(ir, j), j);
        fputs("  }\n", f);
    }
    /* parameters of a layer no op belongs to still get a node */
    for (size_t i = 0; i < nt; i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        int64_t key = t->kind == LLMC_TENSOR_PARAM ? cluster_key(t->stack, t->layer) : 0;
        if (!key) continue;
        bool placed = false;
        for (size_t k = 0; k < n_keys && !placed; k++) placed = keys[k] == key;
        if (!placed) tensor_node(f, t, (llmc_tid)i);
    }
    free(keys);
    /* edges: from the producing op (values) or the tensor node, labelled with the shape */
    for (size_t i = 0; i < no; i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        for (int j = 0; j < op->n_inputs; j++) {
            const llmc_tensor_info *t = llmc_ir_tensor(ir, op->inputs[j]);
            if (!t) continue;
            if (t->kind == LLMC_TENSOR_VALUE) {
                if (t->producer < 0 || (size_t)t->producer >= no) continue; /* broken graph: no source */
                fprintf(f, "  op%d -> op%zu [label=\"", (int)t->producer, i);
            } else {
                fprintf(f, "  t%d -> op%zu [label=\"", (int)op->inputs[j], i);
            }
            put_shape(f, t);
            fputs("\"];\n", f);
        }
    }
    for (size_t i = 0; i < llmc_ir_num_outputs(ir); i++) {
        llmc_tid id = llmc_ir_output(ir, i);
        const llmc_tensor_info *t = llmc_ir_tensor(ir, id);
        if (!t) continue;
        fprintf(f, "  out%zu [shape=doubleoctagon, label=\"", i);
        put_escaped(f, t->name);
        fputs("\"];\n", f);
        if (t->kind == LLMC_TENSOR_VALUE && t->producer >= 0 && (size_t)t->producer < no)
            fprintf(f, "  op%d -> out%zu [label=\"", (int)t->producer, i);
        else if (t->kind != LLMC_TENSOR_VALUE)
            fprintf(f, "  t%d -> out%zu [label=\"", (int)id, i);
        else
            continue;
        put_shape(f, t);
        fputs("\"];\n", f);
    }
    fputs("}\n", f);
    free(op_key);
    free(order);
    return ferror(f) ? -1 : 0;
}
