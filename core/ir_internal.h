/* Internal interface between the IR modules (ir.c, ir_infer.c, ir_validate.c, ir_json.c,
 * ir_dot.c). Not part of the SDK. */
#ifndef LLMC_CORE_IR_INTERNAL_H
#define LLMC_CORE_IR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/ir.h"

/* Limits on everything a graph holds. They keep a hostile ir.json from exhausting memory
 * and keep every count comfortably inside int32 (tensor ids are int32). */
#define LLMC_IR_NAME_MAX     1024      /* bytes in a tensor, op or attr name, or a meta key */
#define LLMC_IR_STRING_MAX   65536     /* bytes in a string attr or a meta value */
#define LLMC_IR_MAX_ITEMS    10000000  /* tensors, ops, outputs, meta entries each */
#define LLMC_IR_MAX_INPUTS   5         /* inputs of the widest op (moe_experts) */
#define LLMC_IR_MAX_OUTPUTS  1         /* every op type produces one tensor */
#define LLMC_IR_MAX_ATTRS    32        /* attrs on one op */

/* ---- ir.c ------------------------------------------------------------------------------- */
/* Builder errors recorded on the graph (reported by llmc_ir_validate). */
size_t llmc_ir_num_errors(const llmc_ir *ir);
const char *llmc_ir_error_at(const llmc_ir *ir, size_t i);
size_t llmc_ir_dropped_errors(const llmc_ir *ir); /* recorded beyond the kept maximum */
bool llmc_ir_out_of_memory(const llmc_ir *ir);
size_t llmc_ir_num_meta(const llmc_ir *ir);
void llmc_ir_meta_at(const llmc_ir *ir, size_t i, const char **key, const char **value);

/* Name checks shared by the builder and the reader: NULL when fine, else a static reason. */
const char *llmc_ir_name_problem(const char *name, size_t max_len);
/* Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF): what
 * ir.json can carry. */
bool llmc_ir_utf8_ok(const char *s);
/* A dim is a positive size or one of the three symbols. */
static inline bool llmc_ir_dim_ok(int64_t d) { return d >= 1 || d == LLMC_SYM_BATCH || d == LLMC_SYM_SEQ || d == LLMC_SYM_SRC_SEQ; }

/* Reverse name tables (or -1). */
int llmc_tensor_kind_from_name(const char *name);
int llmc_component_from_name(const char *name);
int llmc_stack_from_name(const char *name);
int llmc_init_kind_from_name(const char *name);

/* "[B,S,512]" into buf (always NUL-terminated); returns buf. */
#define LLMC_IR_SHAPE_BUF 128
const char *llmc_ir_fmt_shape(int rank, const int64_t *shape, char *buf, size_t n);
/* "B", "S", "T" or the decimal value */
const char *llmc_ir_fmt_dim(int64_t d, char *buf, size_t n);
/* Symbol letter of a symbolic dim ('B', 'S', 'T'), 0 otherwise. */
char llmc_ir_sym_letter(int64_t d);

/* ---- ir_infer.c --------------------------------------------------------------------------- */
typedef struct llmc_ir_result {
    llmc_dtype dtype;
    int rank;
    int64_t shape[LLMC_IR_MAX_RANK];
} llmc_ir_result;

/* Inputs an op type takes: [min, max]; the stored op always has max entries (absent
 * optional ones are LLMC_TID_NONE). Returns false for an unknown type. */
bool llmc_ir_op_arity(llmc_op_type type, int *min_inputs, int *max_inputs);
/* Role of input i of an op type ("input", "weight", "bias", "q", ...). */
const char *llmc_ir_input_role(llmc_op_type type, int i);
/* Structural attr checks (keys, types, counts, finite floats, unique keys): whatever is
 * needed for the attrs to be stored and serialised. NULL when fine, else a malloc'd
 * message "attr 'x': ..." (or "attrs: ..."). */
char *llmc_ir_check_attrs(const llmc_attr *attrs, int n_attrs);
/* Shape/dtype inference of one op over the graph's recorded tensors. inputs has n_inputs
 * entries (LLMC_TID_NONE = absent, missing trailing ones are absent too). Returns 0 and
 * fills *out, or -1 with *err set to a malloc'd message naming the op and the shapes
 * ("linear 'q': input [B,S,512] does not match weight [1024,768] (...)"); *err is NULL
 * only when memory ran out. */
int llmc_ir_infer(const llmc_ir *ir, llmc_op_type type, const char *name, const llmc_tid *inputs, int n_inputs,
                  const llmc_attr *attrs, int n_attrs, llmc_ir_result *out, char **err);

/* ---- ir_validate.c -------------------------------------------------------------------------- */
/* llmc_ir_validate with a location: with json_paths, errors about one tensor or op carry
 * the key "tensors[i]" / "ops[i]" (used by the ir.json reader). */
int llmc_ir_validate_at(const llmc_ir *ir, llmc_diags *d, const char *file, bool json_paths);

#endif
