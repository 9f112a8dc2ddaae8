/* Facts code-generating backends read off a built IR (ir.h, llmc_ir_read_facts). */
#include <math.h>
#include <string.h>

#include "llmc/ir.h"

double llmc_attr_number(const llmc_attr *a) { return a->type == LLMC_ATTR_FLOAT ? a->f : (double)a->i; }

/* The op producing the head's input, if it is a SCALE op. */
static const llmc_op_info *head_scale_op(const llmc_ir *ir) {
    if (llmc_ir_num_outputs(ir) == 0) return NULL;
    const llmc_tensor_info *out = llmc_ir_tensor(ir, llmc_ir_output(ir, 0));
    if (!out || out->producer < 0) return NULL;
    const llmc_op_info *head = llmc_ir_op_at(ir, (size_t)out->producer);
    if (!head || head->n_inputs < 1 || head->inputs[0] == LLMC_TID_NONE) return NULL;
    const llmc_tensor_info *x = llmc_ir_tensor(ir, head->inputs[0]);
    if (!x || x->producer < 0) return NULL;
    const llmc_op_info *op = llmc_ir_op_at(ir, (size_t)x->producer);
    return op && op->type == LLMC_OP_SCALE ? op : NULL;
}

int llmc_ir_read_facts(const llmc_ir *ir, llmc_ir_facts *out, llmc_diags *d) {
    memset(out, 0, sizeof *out);
    out->output_scale = 1.0;
    const char *scale_op = NULL, *window_op = NULL;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_ATTENTION) continue;
        const llmc_attr *a = llmc_op_attr(op, "scale");
        const llmc_tensor_info *q = op->n_inputs > 0 ? llmc_ir_tensor(ir, op->inputs[0]) : NULL;
        double s = a ? llmc_attr_number(a) : q && q->rank == 4 ? 1.0 / sqrt((double)q->shape[3]) : 1.0;
        if (scale_op && s != out->attention_scale) {
            llmc_error(d, "emit", "the IR's attention ops use different scales (%g in '%s', %g in '%s'); the "
                       "generated code has one", s, op->name, out->attention_scale, scale_op);
            return 1;
        }
        out->attention_scale = s;
        scale_op = op->name;
        const llmc_attr *mask = llmc_op_attr(op, "mask");
        if (mask && mask->type == LLMC_ATTR_STRING && mask->s && !strcmp(mask->s, "sliding_window")) {
            const llmc_attr *w = llmc_op_attr(op, "window");
            int64_t win = w ? (int64_t)llmc_attr_number(w) : 0;
            if (window_op && win != out->sliding_window) {
                llmc_error(d, "emit", "the IR's attention ops use different windows (%lld in '%s', %lld in '%s'); "
                           "the generated code has one", (long long)win, op->name, (long long)out->sliding_window,
                           window_op);
                return 1;
            }
            out->sliding_window = win;
            window_op = op->name;
        }
    }
    if (!scale_op) {
        llmc_error(d, "emit", "the IR has no attention op");
        return 1;
    }
    const llmc_op_info *sc = head_scale_op(ir);
    const llmc_attr *f = sc ? llmc_op_attr(sc, "factor") : NULL;
    if (f) {
        out->has_output_scale = true;
        out->output_scale = llmc_attr_number(f);
    }
    return 0;
}
