/* The IR graph: storage, builder, readers, name tables and parameter counting.
 * Shape inference lives in ir_infer.c, checking in ir_validate.c, ir.json in ir_json.c.
 *
 * Storage: tensors and ops are allocated one by one and kept in pointer arrays, so the
 * llmc_tensor_info / llmc_op_info pointers handed out stay valid while the graph grows.
 * Every string (names, attr keys and values, meta) is owned by the graph. Names are
 * looked up through open-addressing hash tables so that building and reading a graph
 * with millions of tensors stays linear. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"
#include "util.h"

#define MAX_KEPT_ERRORS 1000  /* builder errors kept verbatim; more are only counted */
#define MAX_META 1000

typedef struct ir_op {
    llmc_op_info info;
    llmc_tid inputs[LLMC_IR_MAX_INPUTS];
    llmc_tid outputs[LLMC_IR_MAX_OUTPUTS];
    llmc_attr *attrs;
} ir_op;

/* name -> index, open addressing, linear probing; slots hold index+1 (0 = empty) */
typedef struct name_map {
    uint32_t *slots;
    size_t cap;   /* power of two, 0 before first insert */
    size_t n;
} name_map;

struct llmc_ir {
    llmc_tensor_info **tensors;
    size_t n_tensors, cap_tensors;
    ir_op **ops;
    size_t n_ops, cap_ops;
    llmc_tid *outputs;
    size_t n_outputs, cap_outputs;
    char **meta_keys, **meta_values;
    size_t n_meta, cap_meta;
    char **errors;
    size_t n_errors, cap_errors, dropped_errors;
    bool oom;
    name_map tensor_names, op_names;
    llmc_ir_block *blocks;
    size_t n_blocks, cap_blocks;
    llmc_ir_structure structure;
    llmc_stack scope_stack;   /* what llmc_ir_set_scope set; new ops take it */
    int scope_layer;
    llmc_op_role scope_role;
};

/* ---- name tables ------------------------------------------------------------------------- */

static const char *const dtype_names[LLMC_DTYPE_COUNT] = {"f32", "f16", "bf16", "i32", "i64", "bool"};
static const size_t dtype_sizes[LLMC_DTYPE_COUNT] = {4, 2, 2, 4, 8, 1};
static const char *const kind_names[LLMC_TENSOR_KIND_COUNT] = {"input", "param", "value"};
static const char *const component_names[LLMC_COMP_COUNT] = {"embedding", "positional", "attention",
                                                             "mlp",       "norm",       "head"};
static const char *const stack_names[] = {"none", "decoder", "encoder"};
#define STACK_COUNT ((int)(sizeof stack_names / sizeof *stack_names))
static const char *const init_names[LLMC_PINIT_KIND_COUNT] = {"normal", "ones", "zeros"};
static const char *const op_names[LLMC_OP_TYPE_COUNT] = {
    "embedding", "linear", "rmsnorm", "layernorm", "reshape", "rope", "alibi", "relative_bias",
    "attention", "swiglu", "geglu", "activation", "add", "mul", "scale", "matmul", "softmax",
    "positions_learned", "positions_sinusoidal", "moe_route", "moe_experts", "softcap"};

static const char *const role_names[LLMC_ROLE_COUNT] = {
    "none",     "token_embedding", "position_embedding", "relative_bias", "attn_q",   "attn_k",  "attn_v",
    "attn_qkv", "attn_o",          "cross_q",            "cross_k",       "cross_v",  "cross_o", "mlp_gate",
    "mlp_up",   "mlp_down",        "norm",               "output_head",   "moe_router", "expert_gate",
    "expert_up", "expert_down", "shared_expert_gate", "shared_expert_up", "shared_expert_down",
    "shared_expert_scale"};
static const char *const norm_site_names[LLMC_NORM_SITE_COUNT] = {
    "none",     "attn_input",      "cross_attn_input", "mlp_input", "block_input",
    "post_attn", "post_cross_attn", "post_mlp",         "embedding", "final",
    "attn_q",    "attn_k"};
static const char *const op_role_names[LLMC_OPROLE_COUNT] = {
    "none", "embedding", "positions", "norm", "self_attention", "cross_attention", "mlp", "residual", "head"};
static const char *const residual_names[LLMC_RESIDUAL_COUNT] = {"sequential", "parallel"};
static const char *const placement_names[LLMC_NORM_PLACEMENT_COUNT] = {"pre", "post", "sandwich", "none"};
static const char *const structure_names[LLMC_STRUCTURE_COUNT] = {"unset", "decoder_only", "encoder_decoder"};

static int index_of(const char *const *names, int n, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

/* Out-of-range enums print as "invalid" rather than NULL so that "%s" never crashes. */
const char *llmc_dtype_name(llmc_dtype t) { return (unsigned)t < LLMC_DTYPE_COUNT ? dtype_names[t] : "invalid"; }
int llmc_dtype_from_name(const char *name) { return index_of(dtype_names, LLMC_DTYPE_COUNT, name); }
size_t llmc_dtype_size(llmc_dtype t) { return (unsigned)t < LLMC_DTYPE_COUNT ? dtype_sizes[t] : 0; }
const char *llmc_tensor_kind_name(llmc_tensor_kind k) {
    return (unsigned)k < LLMC_TENSOR_KIND_COUNT ? kind_names[k] : "invalid";
}
int llmc_tensor_kind_from_name(const char *name) { return index_of(kind_names, LLMC_TENSOR_KIND_COUNT, name); }
const char *llmc_component_name(llmc_component c) {
    return (unsigned)c < LLMC_COMP_COUNT ? component_names[c] : "invalid";
}
int llmc_component_from_name(const char *name) { return index_of(component_names, LLMC_COMP_COUNT, name); }
const char *llmc_stack_name(llmc_stack s) { return (unsigned)s < (unsigned)STACK_COUNT ? stack_names[s] : "invalid"; }
int llmc_stack_from_name(const char *name) { return index_of(stack_names, STACK_COUNT, name); }
const char *llmc_init_kind_name(llmc_init_kind k) {
    return (unsigned)k < LLMC_PINIT_KIND_COUNT ? init_names[k] : "invalid";
}
int llmc_init_kind_from_name(const char *name) { return index_of(init_names, LLMC_PINIT_KIND_COUNT, name); }
#define NAME_TABLE(fn, type, table, count)                                                         \
    const char *fn##_name(type v) { return (unsigned)v < (unsigned)(count) ? table[v] : "invalid"; } \
    int fn##_from_name(const char *name) { return index_of(table, (int)(count), name); }
NAME_TABLE(llmc_param_role, llmc_param_role, role_names, LLMC_ROLE_COUNT)
NAME_TABLE(llmc_norm_site, llmc_norm_site, norm_site_names, LLMC_NORM_SITE_COUNT)
NAME_TABLE(llmc_op_role, llmc_op_role, op_role_names, LLMC_OPROLE_COUNT)
NAME_TABLE(llmc_residual, llmc_residual, residual_names, LLMC_RESIDUAL_COUNT)
NAME_TABLE(llmc_norm_placement, llmc_norm_placement, placement_names, LLMC_NORM_PLACEMENT_COUNT)
NAME_TABLE(llmc_ir_structure, llmc_ir_structure, structure_names, LLMC_STRUCTURE_COUNT)
#undef NAME_TABLE
const char *llmc_op_type_name(llmc_op_type t) { return (unsigned)t < LLMC_OP_TYPE_COUNT ? op_names[t] : "invalid"; }
int llmc_op_type_from_name(const char *name) { return index_of(op_names, LLMC_OP_TYPE_COUNT, name); }

/* ---- shape formatting ---------------------------------------------------------------------- */

char llmc_ir_sym_letter(int64_t d) {
    switch (d) {
    case LLMC_SYM_BATCH: return 'B';
    case LLMC_SYM_SEQ: return 'S';
    case LLMC_SYM_SRC_SEQ: return 'T';
    default: return 0;
    }
}

const char *llmc_ir_fmt_dim(int64_t d, char *buf, size_t n) {
    char c = llmc_ir_sym_letter(d);
    if (c)
        snprintf(buf, n, "%c", c);
    else
        snprintf(buf, n, "%lld", (long long)d);
    return buf;
}

const char *llmc_ir_fmt_shape(int rank, const int64_t *shape, char *buf, size_t n) {
    if (n == 0) return buf;
    size_t len = 0;
    buf[0] = '\0';
    if (rank < 0 || rank > LLMC_IR_MAX_RANK) {
        snprintf(buf, n, "[rank %d]", rank);
        return buf;
    }
    len += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && len < n; i++) {
        char d[32];
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", llmc_ir_fmt_dim(shape[i], d, sizeof d));
    }
    if (len < n) snprintf(buf + len, n - len, "]");
    return buf;
}

/* ---- small helpers ---------------------------------------------------------------------------- */

bool llmc_ir_utf8_ok(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int extra;
        uint32_t cp, min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80) return false; /* also stops at the terminating NUL */
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        p += extra + 1;
    }
    return true;
}

const char *llmc_ir_name_problem(const char *name, size_t max_len) {
    if (!name) return "is missing";
    if (!name[0]) return "is empty";
    size_t len = strlen(name);
    if (len > max_len) return "is too long";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) return "contains a control character";
    }
    if (!llmc_ir_utf8_ok(name)) return "is not valid UTF-8";
    return NULL;
}

/* Grow a pointer-sized array so that one more element fits. */
static bool grow(void **items, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, nc * elem);
    if (!p) return false;
    *items = p;
    *cap = nc;
    return true;
}

static bool has_errors(const llmc_ir *ir) { return ir->n_errors > 0 || ir->dropped_errors > 0 || ir->oom; }

static void record_error(llmc_ir *ir, const char *fmt, ...) LLMC_PRINTF(2, 3);
static void record_error(llmc_ir *ir, const char *fmt, ...) {
    if (ir->n_errors >= MAX_KEPT_ERRORS) {
        ir->dropped_errors++;
        return;
    }
    if (!grow((void **)&ir->errors, &ir->cap_errors, ir->n_errors, sizeof *ir->errors)) {
        ir->oom = true;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = llmc_vasprintf(fmt, ap);
    va_end(ap);
    if (!msg) {
        ir->oom = true;
        return;
    }
    ir->errors[ir->n_errors++] = msg;
}

/* Takes ownership of msg (NULL = out of memory). */
static void record_owned(llmc_ir *ir, char *msg) {
    if (!msg) {
        ir->oom = true;
        return;
    }
    record_error(ir, "%s", msg);
    free(msg);
}

size_t llmc_ir_num_errors(const llmc_ir *ir) { return ir ? ir->n_errors : 0; }
const char *llmc_ir_error_at(const llmc_ir *ir, size_t i) { return ir && i < ir->n_errors ? ir->errors[i] : NULL; }
size_t llmc_ir_dropped_errors(const llmc_ir *ir) { return ir ? ir->dropped_errors : 0; }
bool llmc_ir_out_of_memory(const llmc_ir *ir) { return ir && ir->oom; }

/* ---- name maps ------------------------------------------------------------------------------ */

typedef const char *(*name_of_fn)(const llmc_ir *ir, uint32_t i);
static const char *tensor_name_of(const llmc_ir *ir, uint32_t i) { return ir->tensors[i]->name; }
static const char *op_name_of(const llmc_ir *ir, uint32_t i) { return ir->ops[i]->info.name; }

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static long map_find(const name_map *m, const llmc_ir *ir, name_of_fn name_of, const char *name) {
    if (!m->cap || !name) return -1;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash_name(name) & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s) return -1;
        if (!strcmp(name_of(ir, s - 1), name)) return (long)(s - 1);
    }
}

static void map_place(uint32_t *slots, size_t cap, const char *name, uint32_t idx) {
    size_t mask = cap - 1;
    size_t i = (size_t)hash_name(name) & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = idx + 1;
}

/* The caller has checked the name is not present. */
static bool map_insert(name_map *m, const llmc_ir *ir, name_of_fn name_of, uint32_t idx) {
    if ((m->n + 1) * 2 > m->cap) { /* keep the load at most 1/2 */
        size_t nc = m->cap ? m->cap * 2 : 64;
        uint32_t *slots = calloc(nc, sizeof *slots);
        if (!slots) return false;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i]) map_place(slots, nc, name_of(ir, m->slots[i] - 1), m->slots[i] - 1);
        free(m->slots);
        m->slots = slots;
        m->cap = nc;
    }
    map_place(m->slots, m->cap, name_of(ir, idx), idx);
    m->n++;
    return true;
}

/* ---- create / free ----------------------------------------------------------------------------- */

llmc_ir *llmc_ir_create(void) {
    llmc_ir *ir = calloc(1, sizeof(llmc_ir));
    if (ir) ir->scope_layer = -1;
    return ir;
}

static void free_attrs(llmc_attr *attrs, int n) {
    if (!attrs) return;
    for (int i = 0; i < n; i++) {
        free((char *)attrs[i].key);
        free((char *)attrs[i].s);
    }
    free(attrs);
}

static void free_op(ir_op *op) {
    if (!op) return;
    free((char *)op->info.name);
    free_attrs(op->attrs, op->info.n_attrs);
    free(op);
}

void llmc_ir_free(llmc_ir *ir) {
    if (!ir) return;
    for (size_t i = 0; i < ir->n_tensors; i++) {
        free((char *)ir->tensors[i]->name);
        free(ir->tensors[i]);
    }
    free(ir->tensors);
    for (size_t i = 0; i < ir->n_ops; i++) free_op(ir->ops[i]);
    free(ir->ops);
    free(ir->outputs);
    for (size_t i = 0; i < ir->n_meta; i++) {
        free(ir->meta_keys[i]);
        free(ir->meta_values[i]);
    }
    free(ir->meta_keys);
    free(ir->meta_values);
    for (size_t i = 0; i < ir->n_errors; i++) free(ir->errors[i]);
    free(ir->errors);
    free(ir->tensor_names.slots);
    free(ir->op_names.slots);
    free(ir->blocks);
    free(ir);
}

/* ---- metadata ------------------------------------------------------------------------------ */

int llmc_ir_set_meta(llmc_ir *ir, const char *key, const char *value) {
    if (!ir) return -1;
    const char *why = llmc_ir_name_problem(key, LLMC_IR_NAME_MAX);
    if (why) {
        record_error(ir, "meta key '%s' %s", key ? key : "(null)", why);
        return -1;
    }
    if (!value || strlen(value) > LLMC_IR_STRING_MAX || !llmc_ir_utf8_ok(value)) {
        record_error(ir, "meta '%s': value %s", key,
                     !value ? "is missing" : strlen(value) > LLMC_IR_STRING_MAX ? "is too long" : "is not valid UTF-8");
        return -1;
    }
    char *v = llmc_strdup(value);
    if (!v) {
        ir->oom = true;
        return -1;
    }
    for (size_t i = 0; i < ir->n_meta; i++) {
        if (!strcmp(ir->meta_keys[i], key)) {
            free(ir->meta_values[i]);
            ir->meta_values[i] = v;
            return 0;
        }
    }
    if (ir->n_meta >= MAX_META) {
        free(v);
        record_error(ir, "meta '%s': too many meta entries (at most %d)", key, MAX_META);
        return -1;
    }
    char *k = llmc_strdup(key);
    size_t ck = ir->cap_meta;
    if (!k || !grow((void **)&ir->meta_keys, &ck, ir->n_meta, sizeof(char *)) ||
        !grow((void **)&ir->meta_values, &ir->cap_meta, ir->n_meta, sizeof(char *))) {
        free(k);
        free(v);
        ir->oom = true;
        return -1;
    }
    ir->meta_keys[ir->n_meta] = k;
    ir->meta_values[ir->n_meta] = v;
    ir->n_meta++;
    return 0;
}

const char *llmc_ir_get_meta(const llmc_ir *ir, const char *key) {
    if (!ir || !key) return NULL;
    for (size_t i = 0; i < ir->n_meta; i++)
        if (!strcmp(ir->meta_keys[i], key)) return ir->meta_values[i];
    return NULL;
}

size_t llmc_ir_num_meta(const llmc_ir *ir) { return ir ? ir->n_meta : 0; }
void llmc_ir_meta_at(const llmc_ir *ir, size_t i, const char **key, const char **value) {
    *key = ir && i < ir->n_meta ? ir->meta_keys[i] : NULL;
    *value = ir && i < ir->n_meta ? ir->meta_values[i] : NULL;
}

/* ---- structure, blocks and scopes ------------------------------------------------------------- */

/* a layer fits its stack: -1 outside stacks, >= 0 inside */
static bool layer_fits(llmc_stack st, int layer) { return st == LLMC_STACK_NONE ? layer == -1 : layer >= 0; }

int llmc_ir_set_scope(llmc_ir *ir, llmc_stack stack, int layer, llmc_op_role role) {
    if (!ir) return -1;
    if ((unsigned)stack > (unsigned)LLMC_STACK_ENCODER || (unsigned)role >= LLMC_OPROLE_COUNT ||
        !layer_fits(stack, layer)) {
        record_error(ir, "scope (stack %d, layer %d, role %d) is invalid (expected a layer >= 0 inside a stack, -1 "
                         "outside)", (int)stack, layer, (int)role);
        return -1;
    }
    ir->scope_stack = stack;
    ir->scope_layer = layer;
    ir->scope_role = role;
    return 0;
}

int llmc_ir_add_block(llmc_ir *ir, const llmc_ir_block *b) {
    if (!ir) return -1;
    if (!b || b->stack == LLMC_STACK_NONE || (unsigned)b->stack > (unsigned)LLMC_STACK_ENCODER || b->layer < 0 ||
        (unsigned)b->residual >= LLMC_RESIDUAL_COUNT || (unsigned)b->norm_placement >= LLMC_NORM_PLACEMENT_COUNT) {
        record_error(ir, "block descriptor is invalid (expected stack decoder or encoder, layer >= 0, a residual "
                         "wiring and a norm placement)");
        return -1;
    }
    if (llmc_ir_find_block(ir, b->stack, b->layer)) {
        record_error(ir, "block %s %d is declared twice", llmc_stack_name(b->stack), b->layer);
        return -1;
    }
    if (ir->n_blocks >= LLMC_IR_MAX_ITEMS) {
        record_error(ir, "too many blocks (at most %d)", LLMC_IR_MAX_ITEMS);
        return -1;
    }
    if (!grow((void **)&ir->blocks, &ir->cap_blocks, ir->n_blocks, sizeof *ir->blocks)) {
        ir->oom = true;
        return -1;
    }
    ir->blocks[ir->n_blocks++] = *b;
    return 0;
}

int llmc_ir_set_structure(llmc_ir *ir, llmc_ir_structure st) {
    if (!ir) return -1;
    if ((unsigned)st >= LLMC_STRUCTURE_COUNT) {
        record_error(ir, "structure %d is invalid", (int)st);
        return -1;
    }
    ir->structure = st;
    return 0;
}

llmc_ir_structure llmc_ir_get_structure(const llmc_ir *ir) { return ir ? ir->structure : LLMC_STRUCTURE_UNSET; }
size_t llmc_ir_num_blocks(const llmc_ir *ir) { return ir ? ir->n_blocks : 0; }
const llmc_ir_block *llmc_ir_block_at(const llmc_ir *ir, size_t i) {
    return ir && i < ir->n_blocks ? &ir->blocks[i] : NULL;
}
const llmc_ir_block *llmc_ir_find_block(const llmc_ir *ir, llmc_stack stack, int layer) {
    if (!ir) return NULL;
    for (size_t i = 0; i < ir->n_blocks; i++)
        if (ir->blocks[i].stack == stack && ir->blocks[i].layer == layer) return &ir->blocks[i];
    return NULL;
}

const llmc_ir_block *llmc_ir_first_block_not_pre_sequential(const llmc_ir *ir) {
    for (size_t i = 0; ir && i < ir->n_blocks; i++) {
        const llmc_ir_block *b = &ir->blocks[i];
        if (b->residual != LLMC_RESIDUAL_SEQUENTIAL ||
            (b->norm_placement != LLMC_NORM_PLACEMENT_PRE && b->norm_placement != LLMC_NORM_PLACEMENT_NONE))
            return b;
    }
    return NULL;
}

llmc_tid llmc_ir_find_param(const llmc_ir *ir, llmc_param_role role, bool is_bias, llmc_stack stack, int layer,
                            llmc_norm_site site) {
    if (!ir) return LLMC_TID_NONE;
    for (size_t i = 0; i < ir->n_tensors; i++) {
        const llmc_tensor_info *t = ir->tensors[i];
        if (t->kind == LLMC_TENSOR_PARAM && t->role == role && t->is_bias == is_bias && t->stack == stack &&
            t->layer == layer && (site == LLMC_NORM_SITE_NONE || t->norm_site == site))
            return (llmc_tid)i;
    }
    return LLMC_TID_NONE;
}

/* ---- tensors ------------------------------------------------------------------------------- */

/* Checks shared by every tensor declaration; records the first problem. `what` is
 * "input", "parameter" or "value". */
static bool check_decl(llmc_ir *ir, const char *what, const char *name, llmc_dtype dt, int rank,
                       const int64_t *shape) {
    const char *why = llmc_ir_name_problem(name, LLMC_IR_NAME_MAX);
    if (why) {
        bool show = name && name[0];
        record_error(ir, "%s name %s%s%.64s%s", what, why, show ? " ('" : "", show ? name : "", show ? "')" : "");
        return false;
    }
    if ((unsigned)dt >= LLMC_DTYPE_COUNT) {
        record_error(ir, "%s '%s': invalid dtype %d", what, name, (int)dt);
        return false;
    }
    if (rank < 0 || rank > LLMC_IR_MAX_RANK) {
        record_error(ir, "%s '%s': rank %d is out of range (expected 0 to %d)", what, name, rank, LLMC_IR_MAX_RANK);
        return false;
    }
    if (rank > 0 && !shape) {
        record_error(ir, "%s '%s': shape is missing for rank %d", what, name, rank);
        return false;
    }
    for (int i = 0; i < rank; i++) {
        if (!llmc_ir_dim_ok(shape[i])) {
            record_error(ir, "%s '%s': dim %d is %lld (expected a positive size or a symbolic dim B, S, T)", what,
                         name, i, (long long)shape[i]);
            return false;
        }
    }
    if (map_find(&ir->tensor_names, ir, tensor_name_of, name) >= 0) {
        record_error(ir, "%s '%s': a tensor with this name already exists", what, name);
        return false;
    }
    if (ir->n_tensors >= LLMC_IR_MAX_ITEMS) {
        record_error(ir, "%s '%s': too many tensors (at most %d)", what, name, LLMC_IR_MAX_ITEMS);
        return false;
    }
    return true;
}

/* Appends a checked tensor; NULL on out of memory. */
static llmc_tensor_info *add_tensor(llmc_ir *ir, llmc_tensor_kind kind, const char *name, llmc_dtype dt, int rank,
                                    const int64_t *shape) {
    llmc_tensor_info *t = calloc(1, sizeof *t);
    char *nm = llmc_strdup(name);
    if (!t || !nm || !grow((void **)&ir->tensors, &ir->cap_tensors, ir->n_tensors, sizeof *ir->tensors)) {
        free(t);
        free(nm);
        ir->oom = true;
        return NULL;
    }
    t->name = nm;
    t->kind = kind;
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->shape[i] = shape[i];
    t->producer = -1;
    t->component = LLMC_COMP_EMBEDDING;
    t->stack = LLMC_STACK_NONE;
    t->layer = -1;
    t->init.kind = LLMC_PINIT_ZEROS;
    t->init.std = 0.0;
    ir->tensors[ir->n_tensors] = t;
    if (!map_insert(&ir->tensor_names, ir, tensor_name_of, (uint32_t)ir->n_tensors)) {
        free(nm);
        free(t);
        ir->oom = true;
        return NULL;
    }
    ir->n_tensors++;
    return t;
}

llmc_tid llmc_ir_input(llmc_ir *ir, const char *name, llmc_dtype dt, int rank, const int64_t *shape) {
    if (!ir || !check_decl(ir, "input", name, dt, rank, shape)) return LLMC_TID_NONE;
    return add_tensor(ir, LLMC_TENSOR_INPUT, name, dt, rank, shape) ? (llmc_tid)(ir->n_tensors - 1) : LLMC_TID_NONE;
}

llmc_tid llmc_ir_value(llmc_ir *ir, const char *name, llmc_dtype dt, int rank, const int64_t *shape) {
    if (!ir || !check_decl(ir, "value", name, dt, rank, shape)) return LLMC_TID_NONE;
    return add_tensor(ir, LLMC_TENSOR_VALUE, name, dt, rank, shape) ? (llmc_tid)(ir->n_tensors - 1) : LLMC_TID_NONE;
}

static bool is_float(llmc_dtype dt) { return dt == LLMC_DTYPE_F32 || dt == LLMC_DTYPE_F16 || dt == LLMC_DTYPE_BF16; }

int llmc_tensor_numel(const llmc_tensor_info *t, uint64_t *out) {
    if (out) *out = 0;
    if (!t || !out || t->rank < 0 || t->rank > LLMC_IR_MAX_RANK) return -1;
    uint64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        if (t->shape[i] < 1 || !llmc_mul_u64(n, (uint64_t)t->shape[i], &n)) return -1;
    *out = n;
    return 0;
}

llmc_tid llmc_ir_param(llmc_ir *ir, const llmc_param_desc *p) {
    if (!ir) return LLMC_TID_NONE;
    if (!p) {
        record_error(ir, "parameter description is missing");
        return LLMC_TID_NONE;
    }
    if (!check_decl(ir, "parameter", p->name, p->dtype, p->rank, p->shape)) return LLMC_TID_NONE;
    char sb[LLMC_IR_SHAPE_BUF];
    const char *n = p->name;
    if (!is_float(p->dtype)) {
        record_error(ir, "parameter '%s': dtype %s is not a float type (expected f32, f16 or bf16)", n,
                     llmc_dtype_name(p->dtype));
        return LLMC_TID_NONE;
    }
    for (int i = 0; i < p->rank; i++) {
        if (p->shape[i] < 1) {
            record_error(ir, "parameter '%s': shape %s has a symbolic dim (parameters need concrete sizes)", n,
                         llmc_ir_fmt_shape(p->rank, p->shape, sb, sizeof sb));
            return LLMC_TID_NONE;
        }
    }
    /* the byte size must fit in 64 bits too, so that every emitter can address it */
    llmc_tensor_info probe = {0};
    probe.rank = p->rank;
    memcpy(probe.shape, p->shape, sizeof probe.shape);
    uint64_t numel, bytes;
    if (llmc_tensor_numel(&probe, &numel) != 0 || !llmc_mul_u64(numel, llmc_dtype_size(p->dtype), &bytes)) {
        record_error(ir, "parameter '%s': shape %s has more elements than 64 bits can count", n,
                     llmc_ir_fmt_shape(p->rank, p->shape, sb, sizeof sb));
        return LLMC_TID_NONE;
    }
    if ((unsigned)p->component >= LLMC_COMP_COUNT) {
        record_error(ir, "parameter '%s': invalid component %d", n, (int)p->component);
        return LLMC_TID_NONE;
    }
    if ((unsigned)p->stack >= (unsigned)STACK_COUNT) {
        record_error(ir, "parameter '%s': invalid stack %d", n, (int)p->stack);
        return LLMC_TID_NONE;
    }
    if (p->stack == LLMC_STACK_NONE ? p->layer != -1 : p->layer < 0) {
        record_error(ir, "parameter '%s': layer %d does not fit stack %s (expected %s)", n, p->layer,
                     llmc_stack_name(p->stack), p->stack == LLMC_STACK_NONE ? "-1" : "a layer index >= 0");
        return LLMC_TID_NONE;
    }
    if ((unsigned)p->init.kind >= LLMC_PINIT_KIND_COUNT) {
        record_error(ir, "parameter '%s': invalid init kind %d", n, (int)p->init.kind);
        return LLMC_TID_NONE;
    }
    if ((unsigned)p->role >= LLMC_ROLE_COUNT || (unsigned)p->norm_site >= LLMC_NORM_SITE_COUNT) {
        record_error(ir, "parameter '%s': invalid role %d or norm site %d", n, (int)p->role, (int)p->norm_site);
        return LLMC_TID_NONE;
    }
    if (!isfinite(p->init.std) || p->init.std < 0 || (p->init.kind == LLMC_PINIT_NORMAL && p->init.std <= 0)) {
        record_error(ir, "parameter '%s': init std %g is invalid (expected a finite value%s)", n, p->init.std,
                     p->init.kind == LLMC_PINIT_NORMAL ? " > 0" : " >= 0");
        return LLMC_TID_NONE;
    }
    llmc_tensor_info *t = add_tensor(ir, LLMC_TENSOR_PARAM, n, p->dtype, p->rank, p->shape);
    if (!t) return LLMC_TID_NONE;
    t->component = p->component;
    t->stack = p->stack;
    t->layer = p->layer;
    t->init = p->init;
    t->role = p->role;
    t->is_bias = p->is_bias;
    t->norm_site = p->norm_site;
    return (llmc_tid)(ir->n_tensors - 1);
}

/* ---- ops ----------------------------------------------------------------------------------- */

static llmc_attr *copy_attrs(const llmc_attr *attrs, int n) {
    if (n == 0) return NULL;
    llmc_attr *out = calloc((size_t)n, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = attrs[i];
        out[i].key = llmc_strdup(attrs[i].key);
        out[i].s = attrs[i].type == LLMC_ATTR_STRING ? llmc_strdup(attrs[i].s) : NULL;
        if (!out[i].key || (attrs[i].type == LLMC_ATTR_STRING && !out[i].s)) {
            free_attrs(out, i + 1);
            return NULL;
        }
    }
    return out;
}

/* Checks common to llmc_ir_op and llmc_ir_op_raw: type, name, input count and ids, attrs.
 * Fills padded[] (max inputs, absent = NONE). Records the problem and returns false. */
static bool check_op_common(llmc_ir *ir, llmc_op_type type, const char *name, const llmc_tid *inputs, int n_inputs,
                            const llmc_attr *attrs, int n_attrs, llmc_tid *padded, int *n_padded) {
    int lo, hi;
    if (!llmc_ir_op_arity(type, &lo, &hi)) {
        record_error(ir, "op '%.64s': unknown op type %d", name ? name : "(null)", (int)type);
        return false;
    }
    const char *tn = llmc_op_type_name(type);
    const char *why = llmc_ir_name_problem(name, LLMC_IR_NAME_MAX);
    if (why) {
        bool show = name && name[0];
        record_error(ir, "%s op name %s%s%.64s%s", tn, why, show ? " ('" : "", show ? name : "", show ? "')" : "");
        return false;
    }
    if (n_inputs < lo || n_inputs > hi || (n_inputs > 0 && !inputs)) {
        if (lo == hi)
            record_error(ir, "%s '%s': expects %d input%s, got %d", tn, name, lo, lo == 1 ? "" : "s", n_inputs);
        else
            record_error(ir, "%s '%s': expects %d to %d inputs, got %d", tn, name, lo, hi, n_inputs);
        return false;
    }
    for (int i = 0; i < hi; i++) {
        padded[i] = i < n_inputs ? inputs[i] : LLMC_TID_NONE;
        if (padded[i] != LLMC_TID_NONE && (padded[i] < 0 || (size_t)padded[i] >= ir->n_tensors)) {
            record_error(ir, "%s '%s': input %d (%s) is not a tensor of this graph (id %d)", tn, name, i,
                         llmc_ir_input_role(type, i), (int)padded[i]);
            return false;
        }
    }
    *n_padded = hi;
    if (n_attrs < 0 || n_attrs > LLMC_IR_MAX_ATTRS || (n_attrs > 0 && !attrs)) {
        record_error(ir, "%s '%s': %d attrs is out of range (expected 0 to %d)", tn, name, n_attrs,
                     LLMC_IR_MAX_ATTRS);
        return false;
    }
    char *msg = llmc_ir_check_attrs(attrs, n_attrs);
    if (msg) {
        record_error(ir, "%s '%s': %s", tn, name, msg);
        free(msg);
        return false;
    }
    if (map_find(&ir->op_names, ir, op_name_of, name) >= 0) {
        record_error(ir, "%s '%s': an op with this name already exists", tn, name);
        return false;
    }
    if (ir->n_ops >= LLMC_IR_MAX_ITEMS) {
        record_error(ir, "%s '%s': too many ops (at most %d)", tn, name, LLMC_IR_MAX_ITEMS);
        return false;
    }
    return true;
}

/* Appends a checked op and makes it the producer of its outputs. -1 on out of memory. */
static int add_op(llmc_ir *ir, llmc_op_type type, const char *name, const llmc_tid *padded, int n_padded,
                  const llmc_tid *outputs, int n_outputs, const llmc_attr *attrs, int n_attrs) {
    ir_op *op = calloc(1, sizeof *op);
    if (!op) goto oom;
    op->info.name = llmc_strdup(name);
    op->attrs = copy_attrs(attrs, n_attrs);
    if (!op->info.name || (n_attrs > 0 && !op->attrs)) goto oom;
    op->info.type = type;
    op->info.n_inputs = n_padded;
    op->info.inputs = op->inputs;
    memcpy(op->inputs, padded, (size_t)n_padded * sizeof *padded);
    op->info.n_outputs = n_outputs;
    op->info.outputs = op->outputs;
    memcpy(op->outputs, outputs, (size_t)n_outputs * sizeof *outputs);
    op->info.n_attrs = n_attrs;
    op->info.attrs = op->attrs;
    op->info.stack = ir->scope_stack;
    op->info.layer = ir->scope_layer;
    op->info.role = ir->scope_role;
    if (!grow((void **)&ir->ops, &ir->cap_ops, ir->n_ops, sizeof *ir->ops)) goto oom;
    ir->ops[ir->n_ops] = op;
    if (!map_insert(&ir->op_names, ir, op_name_of, (uint32_t)ir->n_ops)) goto oom;
    for (int i = 0; i < n_outputs; i++) ir->tensors[outputs[i]]->producer = (int32_t)ir->n_ops;
    ir->n_ops++;
    return 0;
oom:
    free_op(op);
    ir->oom = true;
    return -1;
}

llmc_tid llmc_ir_op(llmc_ir *ir, llmc_op_type type, const char *name, const llmc_tid *inputs, int n_inputs,
                    const llmc_attr *attrs, int n_attrs) {
    if (!ir) return LLMC_TID_NONE;
    /* A required input that is NONE is the trace of an earlier failure: stay silent so
     * that only its first cause is reported. Without an earlier error it is a bug in the
     * caller and reported as such. */
    int lo, hi;
    if (llmc_ir_op_arity(type, &lo, &hi) && inputs && n_inputs >= lo && n_inputs <= hi) {
        for (int i = 0; i < lo; i++) {
            if (inputs[i] != LLMC_TID_NONE) continue;
            if (has_errors(ir)) return LLMC_TID_NONE;
            record_error(ir, "%s '%.64s': input %d (%s) is required but absent (LLMC_TID_NONE)",
                         llmc_op_type_name(type), name ? name : "(null)", i, llmc_ir_input_role(type, i));
            return LLMC_TID_NONE;
        }
    }
    llmc_tid padded[LLMC_IR_MAX_INPUTS];
    int n_padded;
    if (!check_op_common(ir, type, name, inputs, n_inputs, attrs, n_attrs, padded, &n_padded)) return LLMC_TID_NONE;
    llmc_ir_result r;
    char *err = NULL;
    if (llmc_ir_infer(ir, type, name, padded, n_padded, attrs, n_attrs, &r, &err) != 0) {
        record_owned(ir, err);
        return LLMC_TID_NONE;
    }
    char *out_name = llmc_asprintf("%s:0", name);
    if (!out_name) {
        ir->oom = true;
        return LLMC_TID_NONE;
    }
    if (map_find(&ir->tensor_names, ir, tensor_name_of, out_name) >= 0) {
        record_error(ir, "%s '%s': output name '%s' is already used by another tensor", llmc_op_type_name(type),
                     name, out_name);
        free(out_name);
        return LLMC_TID_NONE;
    }
    if (ir->n_tensors >= LLMC_IR_MAX_ITEMS) {
        record_error(ir, "%s '%s': too many tensors (at most %d)", llmc_op_type_name(type), name, LLMC_IR_MAX_ITEMS);
        free(out_name);
        return LLMC_TID_NONE;
    }
    llmc_tensor_info *t = add_tensor(ir, LLMC_TENSOR_VALUE, out_name, r.dtype, r.rank, r.shape);
    free(out_name);
    if (!t) return LLMC_TID_NONE;
    llmc_tid out = (llmc_tid)(ir->n_tensors - 1);
    if (add_op(ir, type, name, padded, n_padded, &out, 1, attrs, n_attrs) != 0) {
        /* leave the tensor in place without a producer: the graph is marked out of memory */
        return LLMC_TID_NONE;
    }
    return out;
}

int llmc_ir_op_raw(llmc_ir *ir, llmc_op_type type, const char *name, const llmc_tid *inputs, int n_inputs,
                   const llmc_tid *outputs, int n_outputs, const llmc_attr *attrs, int n_attrs) {
    if (!ir) return -1;
    llmc_tid padded[LLMC_IR_MAX_INPUTS];
    int n_padded;
    if (!check_op_common(ir, type, name, inputs, n_inputs, attrs, n_attrs, padded, &n_padded)) return -1;
    const char *tn = llmc_op_type_name(type);
    if (n_outputs != LLMC_IR_MAX_OUTPUTS || !outputs) {
        record_error(ir, "%s '%s': expects %d output, got %d", tn, name, LLMC_IR_MAX_OUTPUTS, n_outputs);
        return -1;
    }
    for (int i = 0; i < n_outputs; i++) {
        llmc_tid o = outputs[i];
        if (o < 0 || (size_t)o >= ir->n_tensors) {
            record_error(ir, "%s '%s': output %d is not a tensor of this graph (id %d)", tn, name, i, (int)o);
            return -1;
        }
        const llmc_tensor_info *t = ir->tensors[o];
        if (t->kind != LLMC_TENSOR_VALUE) {
            record_error(ir, "%s '%s': output %d '%s' is a %s and cannot be produced by an op", tn, name, i,
                         t->name, t->kind == LLMC_TENSOR_INPUT ? "graph input" : "parameter");
            return -1;
        }
        if (t->producer >= 0) {
            record_error(ir, "%s '%s': output %d '%s' is already produced by op '%s'", tn, name, i, t->name,
                         ir->ops[t->producer]->info.name);
            return -1;
        }
    }
    return add_op(ir, type, name, padded, n_padded, outputs, n_outputs, attrs, n_attrs);
}

int llmc_ir_mark_output(llmc_ir *ir, llmc_tid t) {
    if (!ir) return -1;
    if (t == LLMC_TID_NONE) {
        if (has_errors(ir)) return -1; /* trace of an earlier failure */
        record_error(ir, "graph output is absent (LLMC_TID_NONE)");
        return -1;
    }
    if (t < 0 || (size_t)t >= ir->n_tensors) {
        record_error(ir, "graph output %d is not a tensor of this graph", (int)t);
        return -1;
    }
    for (size_t i = 0; i < ir->n_outputs; i++) {
        if (ir->outputs[i] == t) {
            record_error(ir, "tensor '%s' is marked as a graph output twice", ir->tensors[t]->name);
            return -1;
        }
    }
    if (ir->n_outputs >= LLMC_IR_MAX_ITEMS) {
        record_error(ir, "too many graph outputs (at most %d)", LLMC_IR_MAX_ITEMS);
        return -1;
    }
    if (!grow((void **)&ir->outputs, &ir->cap_outputs, ir->n_outputs, sizeof *ir->outputs)) {
        ir->oom = true;
        return -1;
    }
    ir->outputs[ir->n_outputs++] = t;
    return 0;
}

/* ---- readers ------------------------------------------------------------------------------- */

size_t llmc_ir_num_tensors(const llmc_ir *ir) { return ir ? ir->n_tensors : 0; }

const llmc_tensor_info *llmc_ir_tensor(const llmc_ir *ir, llmc_tid t) {
    if (!ir || t < 0 || (size_t)t >= ir->n_tensors) return NULL;
    return ir->tensors[t];
}

llmc_tid llmc_ir_find(const llmc_ir *ir, const char *name) {
    if (!ir) return LLMC_TID_NONE;
    long i = map_find(&ir->tensor_names, ir, tensor_name_of, name);
    return i < 0 ? LLMC_TID_NONE : (llmc_tid)i;
}

size_t llmc_ir_num_ops(const llmc_ir *ir) { return ir ? ir->n_ops : 0; }

const llmc_op_info *llmc_ir_op_at(const llmc_ir *ir, size_t i) {
    if (!ir || i >= ir->n_ops) return NULL;
    return &ir->ops[i]->info;
}

size_t llmc_ir_num_outputs(const llmc_ir *ir) { return ir ? ir->n_outputs : 0; }

llmc_tid llmc_ir_output(const llmc_ir *ir, size_t i) {
    if (!ir || i >= ir->n_outputs) return LLMC_TID_NONE;
    return ir->outputs[i];
}

const llmc_attr *llmc_op_attr(const llmc_op_info *op, const char *key) {
    if (!op || !key) return NULL;
    for (int i = 0; i < op->n_attrs; i++)
        if (op->attrs[i].key && !strcmp(op->attrs[i].key, key)) return &op->attrs[i];
    return NULL;
}

bool llmc_ir_has_moe(const llmc_ir *ir) {
    for (size_t i = 0; ir && i < ir->n_ops; i++)
        if (llmc_ir_op_at(ir, i)->type == LLMC_OP_MOE_EXPERTS) return true;
    return false;
}

/* ---- counting ------------------------------------------------------------------------------- */

/* Sum of numel over PARAM tensors (all, or those of one stack/layer). A tied weight is one
 * tensor used by two ops, so it is counted once by construction. */
static int count_impl(const llmc_ir *ir, bool filter, llmc_stack stack, int layer, llmc_param_count *out,
                      llmc_diags *d) {
    llmc_param_count c;
    memset(&c, 0, sizeof c);
    if (out) memset(out, 0, sizeof *out);
    if (!ir || !out) {
        llmc_error(d, NULL, "parameter count: %s is missing", ir ? "result" : "graph");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < ir->n_tensors; i++) {
        const llmc_tensor_info *t = ir->tensors[i];
        if (t->kind != LLMC_TENSOR_PARAM) continue;
        if (filter && (t->stack != stack || t->layer != layer)) continue;
        char sb[LLMC_IR_SHAPE_BUF];
        llmc_ir_fmt_shape(t->rank, t->shape, sb, sizeof sb);
        bool symbolic = false;
        for (int k = 0; k < t->rank && k < LLMC_IR_MAX_RANK; k++) symbolic |= t->shape[k] < 1;
        uint64_t n;
        if (symbolic) {
            llmc_error(d, NULL, "parameter '%s' %s has a symbolic dim and cannot be counted", t->name, sb);
            rc = -1;
            continue;
        }
        if (llmc_tensor_numel(t, &n) != 0) {
            llmc_error(d, NULL, "parameter '%s' %s: element count overflows 64 bits", t->name, sb);
            rc = -1;
            continue;
        }
        if ((unsigned)t->component >= LLMC_COMP_COUNT) {
            llmc_error(d, NULL, "parameter '%s': invalid component %d", t->name, (int)t->component);
            rc = -1;
            continue;
        }
        if (!llmc_add_u64(c.total, n, &c.total) ||
            !llmc_add_u64(c.component[t->component], n, &c.component[t->component])) {
            llmc_error(d, NULL, "parameter count overflows 64 bits when adding '%s' %s", t->name, sb);
            return -1;
        }
    }
    /* active: a token reads k of the E experts of each MOE_EXPERTS op (the router and everything
     * else it reads whole) */
    uint64_t inactive = 0;
    for (size_t i = 0; rc == 0 && i < ir->n_ops; i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_MOE_EXPERTS || op->n_inputs != 5) continue;
        if (filter && (op->stack != stack || op->layer != layer)) continue;
        const llmc_attr *ka = llmc_op_attr(op, "experts_per_token");
        for (int j = 2; j < 5; j++) {
            const llmc_tensor_info *t = llmc_ir_tensor(ir, op->inputs[j]);
            uint64_t n, off;
            if (!t || t->kind != LLMC_TENSOR_PARAM || t->rank != 3 || !ka || ka->i < 1 || ka->i > t->shape[0] ||
                llmc_tensor_numel(t, &n) != 0) {
                llmc_error(d, NULL, "op '%s': expert weights or experts_per_token cannot be counted", op->name);
                return -1;
            }
            /* n / E is exact: the experts are stacked on dim 0 */
            if (!llmc_mul_u64(n / (uint64_t)t->shape[0], (uint64_t)(t->shape[0] - ka->i), &off) ||
                !llmc_add_u64(inactive, off, &inactive) || inactive > c.total) {
                llmc_error(d, NULL, "op '%s': active parameter count overflows", op->name);
                return -1;
            }
        }
    }
    c.active = c.total - inactive;
    if (rc == 0) *out = c;
    return rc;
}

int llmc_ir_count_params(const llmc_ir *ir, llmc_param_count *out, llmc_diags *d) {
    return count_impl(ir, false, LLMC_STACK_NONE, -1, out, d);
}

int llmc_ir_count_layer(const llmc_ir *ir, llmc_stack stack, int layer, llmc_param_count *out, llmc_diags *d) {
    if (out) memset(out, 0, sizeof *out);
    if ((unsigned)stack >= (unsigned)STACK_COUNT || (stack == LLMC_STACK_NONE ? layer != -1 : layer < 0)) {
        llmc_error(d, NULL, "layer count: layer %d of stack %s does not exist (expected %s)", layer,
                   llmc_stack_name(stack), stack == LLMC_STACK_NONE ? "layer -1" : "a layer index >= 0");
        return -1;
    }
    return count_impl(ir, true, stack, layer, out, d);
}
