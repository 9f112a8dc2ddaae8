/* ir.json: the IR as a JSON document (format in docs/ir.md).
 *
 * Writing is canonical: keys in a fixed order, tensors in id order, ops in insertion
 * order, every op with its full input list (null for an absent optional input), reals
 * printed with the fewest digits that read back to the same double. So
 * to_json(from_json(to_json(g))) is byte-identical to to_json(g).
 *
 * Reading treats the text as untrusted: every type, range, count and name reference is
 * checked and reported at its JSON path ("ir.json: ops[3].inputs[1]: unknown tensor 'foo'");
 * the graph is then built through the ordinary builder and validated as a whole. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir_internal.h"
#include "util.h"

#define IR_JSON_MAX_BYTES (1u << 30)  /* 1 GiB: far above any real graph */
#define MAX_READ_ERRORS 50
#define MAX_META_ENTRIES 1000

/* ---- writing ------------------------------------------------------------------------------------ */

/* Fewest significant digits (1..17) that print x so that it reads back exactly; at least
 * the integer digits, so 500000.0 does not print as 5e+05. */
static int digits_needed(double x) {
    int p = 1;
    for (double a = fabs(x); a >= 10 && p < 17; a /= 10) p++;
    char buf[64];
    for (; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return p;
    }
    return 17;
}

/* jansson prints every real with one precision: use the largest any real needs. */
static int doc_digits(const json_t *j) {
    int best = 1, p;
    const char *k;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_REAL: return digits_needed(json_real_value(j));
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, k, v) if ((p = doc_digits(v)) > best) best = p;
        return best;
    case JSON_ARRAY:
        json_array_foreach(j, i, v) if ((p = doc_digits(v)) > best) best = p;
        return best;
    default: return 1;
    }
}

/* jansson's *_new setters take the reference even on failure; a NULL value (out of
 * memory) turns *ok false and the document is dropped at the end. */
static void put(bool *ok, json_t *obj, const char *key, json_t *v) {
    if (!obj || !v || json_object_set_new(obj, key, v) != 0) *ok = false;
}
static void push(bool *ok, json_t *arr, json_t *v) {
    if (!arr || !v || json_array_append_new(arr, v) != 0) *ok = false;
}

static json_t *dim_json(int64_t d) {
    char c = llmc_ir_sym_letter(d);
    if (c) {
        char s[2] = {c, '\0'};
        return json_string(s);
    }
    return json_integer((json_int_t)d);
}

static json_t *tensor_json(const llmc_tensor_info *t, bool *ok) {
    json_t *o = json_object();
    put(ok, o, "name", json_string(t->name));
    put(ok, o, "kind", json_string(llmc_tensor_kind_name(t->kind)));
    put(ok, o, "dtype", json_string(llmc_dtype_name(t->dtype)));
    json_t *shape = json_array();
    for (int i = 0; i < t->rank; i++) push(ok, shape, dim_json(t->shape[i]));
    put(ok, o, "shape", shape);
    if (t->kind == LLMC_TENSOR_PARAM) {
        put(ok, o, "component", json_string(llmc_component_name(t->component)));
        put(ok, o, "stack", json_string(llmc_stack_name(t->stack)));
        put(ok, o, "layer", t->layer >= 0 ? json_integer(t->layer) : json_null());
        json_t *init = json_object();
        put(ok, init, "kind", json_string(llmc_init_kind_name(t->init.kind)));
        put(ok, init, "std", json_real(t->init.std));
        put(ok, o, "init", init);
        put(ok, o, "role", json_string(llmc_param_role_name(t->role)));
        put(ok, o, "is_bias", json_boolean(t->is_bias));
        put(ok, o, "norm_site", json_string(llmc_norm_site_name(t->norm_site)));
    }
    return o;
}

static json_t *block_json(const llmc_ir_block *b, bool *ok) {
    json_t *o = json_object();
    put(ok, o, "stack", json_string(llmc_stack_name(b->stack)));
    put(ok, o, "layer", json_integer(b->layer));
    put(ok, o, "residual", json_string(llmc_residual_name(b->residual)));
    put(ok, o, "norm_placement", json_string(llmc_norm_placement_name(b->norm_placement)));
    put(ok, o, "self_attention", json_boolean(b->self_attention));
    put(ok, o, "cross_attention", json_boolean(b->cross_attention));
    put(ok, o, "mlp", json_boolean(b->mlp));
    return o;
}

static json_t *attr_json(const llmc_attr *a) {
    switch (a->type) {
    case LLMC_ATTR_INT: return json_integer((json_int_t)a->i);
    case LLMC_ATTR_FLOAT: return json_real(a->f);
    case LLMC_ATTR_STRING: return json_string(a->s);
    case LLMC_ATTR_INTS: {
        json_t *arr = json_array();
        bool ok = true;
        for (int i = 0; i < a->n_ints && i < LLMC_ATTR_MAX_INTS; i++) push(&ok, arr, json_integer((json_int_t)a->ints[i]));
        if (!ok) {
            json_decref(arr);
            return NULL;
        }
        return arr;
    }
    }
    return NULL;
}

static json_t *tensor_ref(const llmc_ir *ir, llmc_tid t) {
    const llmc_tensor_info *ti = llmc_ir_tensor(ir, t);
    return ti ? json_string(ti->name) : json_null();
}

static json_t *op_json(const llmc_ir *ir, const llmc_op_info *op, bool *ok) {
    json_t *o = json_object();
    put(ok, o, "type", json_string(llmc_op_type_name(op->type)));
    put(ok, o, "name", json_string(op->name));
    json_t *in = json_array();
    for (int i = 0; i < op->n_inputs; i++) push(ok, in, tensor_ref(ir, op->inputs[i]));
    put(ok, o, "inputs", in);
    json_t *out = json_array();
    for (int i = 0; i < op->n_outputs; i++) push(ok, out, tensor_ref(ir, op->outputs[i]));
    put(ok, o, "outputs", out);
    json_t *attrs = json_object();
    for (int i = 0; i < op->n_attrs; i++) put(ok, attrs, op->attrs[i].key, attr_json(&op->attrs[i]));
    put(ok, o, "attrs", attrs);
    json_t *scope = json_object();
    put(ok, scope, "stack", json_string(llmc_stack_name(op->stack)));
    put(ok, scope, "layer", op->layer >= 0 ? json_integer(op->layer) : json_null());
    put(ok, scope, "role", json_string(llmc_op_role_name(op->role)));
    put(ok, o, "scope", scope);
    return o;
}

char *llmc_ir_to_json(const llmc_ir *ir) {
    if (!ir) return NULL;
    bool ok = true;
    json_t *root = json_object();
    put(&ok, root, "format_version", json_integer(LLMC_IR_FORMAT_VERSION));
    put(&ok, root, "structure", json_string(llmc_ir_structure_name(llmc_ir_get_structure(ir))));
    json_t *meta = json_object();
    for (size_t i = 0; i < llmc_ir_num_meta(ir); i++) {
        const char *k, *v;
        llmc_ir_meta_at(ir, i, &k, &v);
        put(&ok, meta, k, json_string(v));
    }
    put(&ok, root, "meta", meta);
    json_t *blocks = json_array();
    for (size_t i = 0; i < llmc_ir_num_blocks(ir) && ok; i++) push(&ok, blocks, block_json(llmc_ir_block_at(ir, i), &ok));
    put(&ok, root, "blocks", blocks);
    json_t *tensors = json_array();
    for (size_t i = 0; i < llmc_ir_num_tensors(ir) && ok; i++)
        push(&ok, tensors, tensor_json(llmc_ir_tensor(ir, (llmc_tid)i), &ok));
    put(&ok, root, "tensors", tensors);
    json_t *ops = json_array();
    for (size_t i = 0; i < llmc_ir_num_ops(ir) && ok; i++) push(&ok, ops, op_json(ir, llmc_ir_op_at(ir, i), &ok));
    put(&ok, root, "ops", ops);
    json_t *outs = json_array();
    for (size_t i = 0; i < llmc_ir_num_outputs(ir); i++) push(&ok, outs, tensor_ref(ir, llmc_ir_output(ir, i)));
    put(&ok, root, "outputs", outs);
    char *text = NULL;
    if (ok && root)
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(doc_digits(root)));
    json_decref(root);
    return text;
}

/* ---- reading ------------------------------------------------------------------------------------ */

typedef struct reader {
    llmc_diags *d;
    const char *file;
    llmc_ir *ir;
    size_t errors;
    size_t forwarded;  /* builder errors already reported */
    bool oom_reported;
} reader;

#define PATH_LEN 1200

static void rerr(reader *r, const char *path, const char *fmt, ...) LLMC_PRINTF(3, 4);
static void rerr(reader *r, const char *path, const char *fmt, ...) {
    r->errors++;
    if (r->errors > MAX_READ_ERRORS) return;
    llmc_loc loc = {r->file, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(r->d, LLMC_SEV_ERROR, loc, path, fmt, ap);
    va_end(ap);
    if (r->errors == MAX_READ_ERRORS) llmc_diag_add(r->d, LLMC_SEV_ERROR, loc, NULL, "too many errors; stopping here");
}

static bool stop(const reader *r) { return r->errors >= MAX_READ_ERRORS; }

/* Report the builder's new errors at path. Returns false if there were any. */
static bool forward(reader *r, const char *path) {
    bool ok = true;
    for (size_t n = llmc_ir_num_errors(r->ir); r->forwarded < n; r->forwarded++) {
        rerr(r, path, "%s", llmc_ir_error_at(r->ir, r->forwarded));
        ok = false;
    }
    if (llmc_ir_out_of_memory(r->ir)) {
        if (!r->oom_reported) rerr(r, path, "out of memory");
        r->oom_reported = true;
        r->errors = MAX_READ_ERRORS; /* nothing sensible can follow */
        ok = false;
    }
    return ok;
}

static const char *jtype(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

static const char *want_name(json_type t) {
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    default: return "a number";
    }
}

/* key paths only label messages: a path longer than PATH_LEN is cut short, which is harmless */
static void subpath(char *out, const char *path, const char *key) {
    int n = path && path[0] ? snprintf(out, PATH_LEN, "%s.%.1024s", path, key) : snprintf(out, PATH_LEN, "%.1024s", key);
    if (n < 0) out[0] = '\0';
    else if (n >= PATH_LEN) memcpy(out + PATH_LEN - 4, "...", 4);
}

static void indexpath(char *out, const char *path, const char *key, size_t i) {
    snprintf(out, PATH_LEN, "%s%s%s[%zu]", path, path[0] ? "." : "", key, i);
}

/* Only the listed keys may appear. */
static bool check_keys(reader *r, json_t *obj, const char *path, const char *const *keys, int n) {
    const char *k;
    json_t *v;
    bool ok = true;
    json_object_foreach(obj, k, v) {
        bool known = false;
        for (int i = 0; i < n; i++) known |= !strcmp(keys[i], k);
        if (known) continue;
        char list[256] = "";
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", keys[i]);
        const char *close = llmc_closest(k, keys, (size_t)n);
        if (close)
            rerr(r, path, "unknown key '%.64s' (did you mean '%s'?)", k, close);
        else
            rerr(r, path, "unknown key '%.64s' (expected %s)", k, list);
        ok = false;
    }
    return ok;
}

/* obj[key] of the given type (JSON_REAL means any number), or NULL after an error. */
static json_t *need(reader *r, json_t *obj, const char *path, const char *key, json_type type) {
    json_t *v = json_object_get(obj, key);
    if (!v) {
        rerr(r, path, "missing key '%s'", key);
        return NULL;
    }
    bool good = type == JSON_REAL ? json_is_number(v) : json_typeof(v) == type;
    if (!good) {
        char p[PATH_LEN];
        subpath(p, path, key);
        rerr(r, p, "expected %s, got %s", want_name(type), jtype(v));
        return NULL;
    }
    return v;
}

/* A string of bounded length: names and enum spellings. */
static const char *need_string(reader *r, json_t *obj, const char *path, const char *key, size_t max_len) {
    json_t *v = need(r, obj, path, key, JSON_STRING);
    if (!v) return NULL;
    if (json_string_length(v) > max_len) {
        char p[PATH_LEN];
        subpath(p, path, key);
        rerr(r, p, "string of %zu bytes is longer than the limit of %zu", json_string_length(v), max_len);
        return NULL;
    }
    return json_string_value(v);
}

/* Enum by name; unknown names get the list of valid ones (or a close match). */
static int need_enum(reader *r, json_t *obj, const char *path, const char *key, const char *what,
                     const char *(*name_of)(int), int count) {
    const char *s = need_string(r, obj, path, key, 64);
    if (!s) return -1;
    const char *names[32];
    for (int i = 0; i < count && i < 32; i++) {
        names[i] = name_of(i);
        if (!strcmp(names[i], s)) return i;
    }
    char p[PATH_LEN], list[512] = "";
    subpath(p, path, key);
    size_t len = 0;
    for (int i = 0; i < count && i < 32 && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i == 0 ? "" : i == count - 1 ? " or " : ", ",
                                names[i]);
    const char *close = count > 6 ? llmc_closest(s, names, (size_t)count) : NULL;
    if (close)
        rerr(r, p, "unknown %s '%.64s' (did you mean '%s'?)", what, s, close);
    else
        rerr(r, p, "unknown %s '%.64s' (expected %s)", what, s, list);
    return -1;
}

static const char *dtype_at(int i) { return llmc_dtype_name((llmc_dtype)i); }
static const char *kind_at(int i) { return llmc_tensor_kind_name((llmc_tensor_kind)i); }
static const char *component_at(int i) { return llmc_component_name((llmc_component)i); }
static const char *stack_at(int i) { return llmc_stack_name((llmc_stack)i); }
static const char *init_at(int i) { return llmc_init_kind_name((llmc_init_kind)i); }
static const char *op_type_at(int i) { return llmc_op_type_name((llmc_op_type)i); }
static const char *role_at(int i) { return llmc_param_role_name((llmc_param_role)i); }
static const char *norm_site_at(int i) { return llmc_norm_site_name((llmc_norm_site)i); }
static const char *op_role_at(int i) { return llmc_op_role_name((llmc_op_role)i); }
static const char *residual_at(int i) { return llmc_residual_name((llmc_residual)i); }
static const char *placement_at(int i) { return llmc_norm_placement_name((llmc_norm_placement)i); }
static const char *structure_at(int i) { return llmc_ir_structure_name((llmc_ir_structure)i); }

/* A layer index: null outside stacks (-1), else 0..INT32_MAX. */
static bool read_layer(reader *r, json_t *obj, const char *path, int *out) {
    json_t *layer = json_object_get(obj, "layer");
    char p2[PATH_LEN];
    if (!layer) {
        rerr(r, path, "missing key 'layer'");
        return false;
    }
    if (json_is_null(layer)) {
        *out = -1;
        return true;
    }
    if (json_is_integer(layer) && json_integer_value(layer) >= 0 && json_integer_value(layer) <= INT32_MAX) {
        *out = (int)json_integer_value(layer);
        return true;
    }
    subpath(p2, path, "layer");
    if (json_is_integer(layer))
        rerr(r, p2, "layer %lld is out of range (expected 0 to %d, or null)", (long long)json_integer_value(layer),
             INT32_MAX);
    else
        rerr(r, p2, "expected an integer or null, got %s", jtype(layer));
    return false;
}

static bool need_bool(reader *r, json_t *obj, const char *path, const char *key, bool *out) {
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_boolean(v)) {
        char p2[PATH_LEN];
        subpath(p2, path, key);
        rerr(r, p2, "expected true or false, got %s", v ? jtype(v) : "nothing");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

static void read_block(reader *r, json_t *b, size_t i) {
    char path[64];
    snprintf(path, sizeof path, "blocks[%zu]", i);
    if (!json_is_object(b)) {
        rerr(r, path, "expected an object, got %s", jtype(b));
        return;
    }
    static const char *const keys[] = {"stack",          "layer",           "residual", "norm_placement",
                                       "self_attention", "cross_attention", "mlp"};
    if (!check_keys(r, b, path, keys, 7)) return;
    llmc_ir_block blk;
    memset(&blk, 0, sizeof blk);
    int stack = need_enum(r, b, path, "stack", "stack", stack_at, LLMC_STACK_ENCODER + 1);
    int res = need_enum(r, b, path, "residual", "residual wiring", residual_at, LLMC_RESIDUAL_COUNT);
    int pl = need_enum(r, b, path, "norm_placement", "norm placement", placement_at, LLMC_NORM_PLACEMENT_COUNT);
    bool ok = read_layer(r, b, path, &blk.layer);
    ok = need_bool(r, b, path, "self_attention", &blk.self_attention) && ok;
    ok = need_bool(r, b, path, "cross_attention", &blk.cross_attention) && ok;
    ok = need_bool(r, b, path, "mlp", &blk.mlp) && ok;
    if (!ok || stack < 0 || res < 0 || pl < 0) return;
    blk.stack = (llmc_stack)stack;
    blk.residual = (llmc_residual)res;
    blk.norm_placement = (llmc_norm_placement)pl;
    llmc_ir_add_block(r->ir, &blk);
    forward(r, path);
}

static bool read_shape(reader *r, json_t *t, const char *path, int *rank, int64_t *shape) {
    json_t *s = need(r, t, path, "shape", JSON_ARRAY);
    if (!s) return false;
    char p[PATH_LEN];
    subpath(p, path, "shape");
    if (json_array_size(s) > LLMC_IR_MAX_RANK) {
        rerr(r, p, "rank %zu exceeds the maximum %d", json_array_size(s), LLMC_IR_MAX_RANK);
        return false;
    }
    *rank = (int)json_array_size(s);
    for (int i = 0; i < *rank; i++) {
        json_t *d = json_array_get(s, (size_t)i);
        char q[PATH_LEN + 16];
        snprintf(q, sizeof q, "%s[%d]", p, i);
        const char *sym = json_string_value(d);
        if (sym && (!strcmp(sym, "B") || !strcmp(sym, "S") || !strcmp(sym, "T"))) {
            shape[i] = sym[0] == 'B' ? LLMC_SYM_BATCH : sym[0] == 'S' ? LLMC_SYM_SEQ : LLMC_SYM_SRC_SEQ;
        } else if (json_is_integer(d) && json_integer_value(d) >= 1) {
            shape[i] = (int64_t)json_integer_value(d);
        } else if (json_is_integer(d)) {
            rerr(r, q, "dim %lld is invalid (expected a positive size or \"B\", \"S\", \"T\")",
                 (long long)json_integer_value(d));
            return false;
        } else {
            rerr(r, q, "expected a positive integer or \"B\", \"S\", \"T\", got %s%s%.16s%s", jtype(d),
                 sym ? " '" : "", sym ? sym : "", sym ? "'" : "");
            return false;
        }
    }
    return true;
}

static void read_tensor(reader *r, json_t *t, size_t i) {
    char path[64];
    snprintf(path, sizeof path, "tensors[%zu]", i);
    if (!json_is_object(t)) {
        rerr(r, path, "expected an object, got %s", jtype(t));
        return;
    }
    static const char *const keys[] = {"name",  "kind", "dtype", "shape",   "component", "stack",
                                       "layer", "init", "role",  "is_bias", "norm_site"};
    if (!check_keys(r, t, path, keys, 11)) return;
    const char *name = need_string(r, t, path, "name", LLMC_IR_NAME_MAX);
    int kind = need_enum(r, t, path, "kind", "tensor kind", kind_at, LLMC_TENSOR_KIND_COUNT);
    int dtype = need_enum(r, t, path, "dtype", "dtype", dtype_at, LLMC_DTYPE_COUNT);
    int rank = 0;
    int64_t shape[LLMC_IR_MAX_RANK] = {0};
    bool shape_ok = read_shape(r, t, path, &rank, shape);
    if (!name || kind < 0 || dtype < 0 || !shape_ok) return;
    if (kind != LLMC_TENSOR_PARAM) {
        for (int k = 4; k < 11; k++)
            if (json_object_get(t, keys[k])) {
                rerr(r, path, "key '%s' is only allowed on parameters (this is %s %s)", keys[k],
                     kind == LLMC_TENSOR_INPUT ? "an" : "a", llmc_tensor_kind_name((llmc_tensor_kind)kind));
                return;
            }
        if (kind == LLMC_TENSOR_INPUT)
            llmc_ir_input(r->ir, name, (llmc_dtype)dtype, rank, shape);
        else
            llmc_ir_value(r->ir, name, (llmc_dtype)dtype, rank, shape);
        forward(r, path);
        return;
    }
    llmc_param_desc p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.dtype = (llmc_dtype)dtype;
    p.rank = rank;
    memcpy(p.shape, shape, sizeof p.shape);
    int comp = need_enum(r, t, path, "component", "component", component_at, LLMC_COMP_COUNT);
    int stack = need_enum(r, t, path, "stack", "stack", stack_at, LLMC_STACK_ENCODER + 1);
    char p2[PATH_LEN];
    bool layer_ok = read_layer(r, t, path, &p.layer);
    json_t *init = need(r, t, path, "init", JSON_OBJECT);
    int ik = -1;
    json_t *std = NULL;
    if (init) {
        subpath(p2, path, "init");
        static const char *const ikeys[] = {"kind", "std"};
        if (check_keys(r, init, p2, ikeys, 2)) {
            ik = need_enum(r, init, p2, "kind", "init kind", init_at, LLMC_PINIT_KIND_COUNT);
            std = need(r, init, p2, "std", JSON_REAL);
        }
    }
    int role = need_enum(r, t, path, "role", "parameter role", role_at, LLMC_ROLE_COUNT);
    json_t *is_bias = json_object_get(t, "is_bias");
    if (!is_bias || !json_is_boolean(is_bias)) {
        subpath(p2, path, "is_bias");
        rerr(r, p2, "expected true or false, got %s", is_bias ? jtype(is_bias) : "nothing");
    }
    int site = need_enum(r, t, path, "norm_site", "norm site", norm_site_at, LLMC_NORM_SITE_COUNT);
    if (comp < 0 || stack < 0 || !layer_ok || ik < 0 || !std || role < 0 || site < 0 || !json_is_boolean(is_bias))
        return;
    p.role = (llmc_param_role)role;
    p.is_bias = json_is_true(is_bias);
    p.norm_site = (llmc_norm_site)site;
    p.component = (llmc_component)comp;
    p.stack = (llmc_stack)stack;
    p.init.kind = (llmc_init_kind)ik;
    p.init.std = json_number_value(std);
    llmc_ir_param(r->ir, &p);
    forward(r, path);
}

/* A tensor reference by name; *ok false after an error. */
static llmc_tid ref(reader *r, json_t *v, const char *path, bool allow_null, bool *ok) {
    if (allow_null && json_is_null(v)) return LLMC_TID_NONE;
    if (!json_is_string(v)) {
        rerr(r, path, "expected a tensor name%s, got %s", allow_null ? " or null" : "", jtype(v));
        *ok = false;
        return LLMC_TID_NONE;
    }
    llmc_tid t = llmc_ir_find(r->ir, json_string_value(v));
    if (t == LLMC_TID_NONE) {
        rerr(r, path, "unknown tensor '%.200s'", json_string_value(v));
        *ok = false;
    }
    return t;
}

static bool read_attr(reader *r, const char *key, json_t *v, const char *path, llmc_attr *a) {
    memset(a, 0, sizeof *a);
    a->key = key;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        a->type = LLMC_ATTR_INT;
        a->i = (int64_t)json_integer_value(v);
        return true;
    case JSON_REAL:
        a->type = LLMC_ATTR_FLOAT;
        a->f = json_real_value(v);
        return true;
    case JSON_STRING:
        if (json_string_length(v) > LLMC_IR_STRING_MAX || strlen(json_string_value(v)) != json_string_length(v)) {
            rerr(r, path, "string attr is longer than %d bytes or contains a NUL", LLMC_IR_STRING_MAX);
            return false;
        }
        a->type = LLMC_ATTR_STRING;
        a->s = json_string_value(v);
        return true;
    case JSON_ARRAY: {
        if (json_array_size(v) > LLMC_ATTR_MAX_INTS) {
            rerr(r, path, "list of %zu ints is longer than the limit of %d", json_array_size(v), LLMC_ATTR_MAX_INTS);
            return false;
        }
        a->type = LLMC_ATTR_INTS;
        a->n_ints = (int)json_array_size(v);
        for (int i = 0; i < a->n_ints; i++) {
            json_t *e = json_array_get(v, (size_t)i);
            if (!json_is_integer(e)) {
                char p[PATH_LEN + 16];
                snprintf(p, sizeof p, "%s[%d]", path, i);
                rerr(r, p, "expected an integer, got %s", jtype(e));
                return false;
            }
            a->ints[i] = (int64_t)json_integer_value(e);
        }
        return true;
    }
    default:
        rerr(r, path, "expected an integer, real, string or list of integers, got %s", jtype(v));
        return false;
    }
}

static void read_op(reader *r, json_t *o, size_t i) {
    char path[64], p[PATH_LEN];
    snprintf(path, sizeof path, "ops[%zu]", i);
    if (!json_is_object(o)) {
        rerr(r, path, "expected an object, got %s", jtype(o));
        return;
    }
    static const char *const keys[] = {"type", "name", "inputs", "outputs", "attrs", "scope"};
    if (!check_keys(r, o, path, keys, 6)) return;
    json_t *scope = need(r, o, path, "scope", JSON_OBJECT);
    if (!scope) return;
    subpath(p, path, "scope");
    static const char *const skeys[] = {"stack", "layer", "role"};
    if (!check_keys(r, scope, p, skeys, 3)) return;
    int sstack = need_enum(r, scope, p, "stack", "stack", stack_at, LLMC_STACK_ENCODER + 1);
    int srole = need_enum(r, scope, p, "role", "op role", op_role_at, LLMC_OPROLE_COUNT);
    int slayer = -1;
    if (!read_layer(r, scope, p, &slayer) || sstack < 0 || srole < 0) return;
    if (llmc_ir_set_scope(r->ir, (llmc_stack)sstack, slayer, (llmc_op_role)srole) != 0) {
        forward(r, p);
        return;
    }
    int type = need_enum(r, o, path, "type", "op type", op_type_at, LLMC_OP_TYPE_COUNT);
    const char *name = need_string(r, o, path, "name", LLMC_IR_NAME_MAX);
    json_t *jin = need(r, o, path, "inputs", JSON_ARRAY);
    json_t *jout = need(r, o, path, "outputs", JSON_ARRAY);
    json_t *jattrs = need(r, o, path, "attrs", JSON_OBJECT);
    if (type < 0 || !name || !jin || !jout || !jattrs) return;
    bool ok = true;
    llmc_tid in[LLMC_IR_MAX_INPUTS], out[LLMC_IR_MAX_INPUTS];
    size_t n_in = json_array_size(jin), n_out = json_array_size(jout);
    if (n_in > LLMC_IR_MAX_INPUTS) {
        subpath(p, path, "inputs");
        rerr(r, p, "%zu inputs is more than any op takes (at most %d)", n_in, LLMC_IR_MAX_INPUTS);
        return;
    }
    if (n_out > LLMC_IR_MAX_INPUTS) {
        subpath(p, path, "outputs");
        rerr(r, p, "%zu outputs is more than any op writes (%d)", n_out, LLMC_IR_MAX_OUTPUTS);
        return;
    }
    for (size_t k = 0; k < n_in; k++) {
        indexpath(p, path, "inputs", k);
        in[k] = ref(r, json_array_get(jin, k), p, true, &ok);
    }
    for (size_t k = 0; k < n_out; k++) {
        indexpath(p, path, "outputs", k);
        out[k] = ref(r, json_array_get(jout, k), p, false, &ok);
    }
    size_t n_attrs = json_object_size(jattrs);
    if (n_attrs > LLMC_IR_MAX_ATTRS) {
        subpath(p, path, "attrs");
        rerr(r, p, "%zu attrs is more than the limit of %d", n_attrs, LLMC_IR_MAX_ATTRS);
        return;
    }
    llmc_attr attrs[LLMC_IR_MAX_ATTRS];
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(jattrs, key, v) {
        char ap[PATH_LEN];
        snprintf(ap, sizeof ap, "%s.attrs.%.1024s", path, key);
        if (!read_attr(r, key, v, ap, &attrs[k])) ok = false;
        k++;
    }
    if (!ok) return;
    llmc_ir_op_raw(r->ir, (llmc_op_type)type, name, in, (int)n_in, out, (int)n_out, attrs, (int)n_attrs);
    forward(r, path);
}

/* Reads root into r->ir; errors are counted in r->errors. */
static void read_root(reader *r, json_t *root) {
    if (!json_is_object(root)) {
        rerr(r, NULL, "expected a JSON object at the top level, got %s", jtype(root));
        return;
    }
    static const char *const keys[] = {"format_version", "structure", "meta", "blocks", "tensors", "ops", "outputs"};
    json_t *ver = need(r, root, "", "format_version", JSON_INTEGER);
    if (!ver) return;
    if (json_integer_value(ver) == 1) {
        rerr(r, "format_version",
             "ir.json format 1 (llmc before plugin ABI 2) has no parameter roles, op scopes or block descriptors, "
             "which backends now read; compile the spec again with this llmc to get format %d",
             LLMC_IR_FORMAT_VERSION);
        return;
    }
    if (!check_keys(r, root, "", keys, 7)) return;
    if (json_integer_value(ver) != LLMC_IR_FORMAT_VERSION) {
        rerr(r, "format_version", "unsupported version %lld (expected %d)", (long long)json_integer_value(ver),
             LLMC_IR_FORMAT_VERSION);
        return;
    }
    int structure = need_enum(r, root, "", "structure", "structure", structure_at, LLMC_STRUCTURE_COUNT);
    if (structure < 0) return;
    llmc_ir_set_structure(r->ir, (llmc_ir_structure)structure);
    json_t *blocks = need(r, root, "", "blocks", JSON_ARRAY);
    json_t *meta = need(r, root, "", "meta", JSON_OBJECT);
    json_t *tensors = need(r, root, "", "tensors", JSON_ARRAY);
    json_t *ops = need(r, root, "", "ops", JSON_ARRAY);
    json_t *outs = need(r, root, "", "outputs", JSON_ARRAY);
    if (!blocks || !meta || !tensors || !ops || !outs) return;
    if (json_array_size(blocks) > LLMC_IR_MAX_ITEMS) {
        rerr(r, "blocks", "%zu entries is more than the limit of %d", json_array_size(blocks), LLMC_IR_MAX_ITEMS);
        return;
    }
    for (size_t i = 0; i < json_array_size(blocks) && !stop(r); i++) read_block(r, json_array_get(blocks, i), i);
    if (json_object_size(meta) > MAX_META_ENTRIES) {
        rerr(r, "meta", "%zu entries is more than the limit of %d", json_object_size(meta), MAX_META_ENTRIES);
        return;
    }
    const char *k;
    json_t *v;
    char p[PATH_LEN];
    json_object_foreach(meta, k, v) {
        subpath(p, "meta", k);
        if (!json_is_string(v)) {
            rerr(r, p, "expected a string, got %s", jtype(v));
            continue;
        }
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            rerr(r, p, "string contains a NUL");
            continue;
        }
        llmc_ir_set_meta(r->ir, k, json_string_value(v));
        forward(r, p);
    }
    const char *sect[3] = {"tensors", "ops", "outputs"};
    json_t *arrs[3] = {tensors, ops, outs};
    for (int s = 0; s < 3; s++)
        if (json_array_size(arrs[s]) > LLMC_IR_MAX_ITEMS) {
            rerr(r, sect[s], "%zu entries is more than the limit of %d", json_array_size(arrs[s]), LLMC_IR_MAX_ITEMS);
            return;
        }
    for (size_t i = 0; i < json_array_size(tensors) && !stop(r); i++) read_tensor(r, json_array_get(tensors, i), i);
    if (r->errors) return; /* ops would only repeat "unknown tensor" for every broken one */
    for (size_t i = 0; i < json_array_size(ops) && !stop(r); i++) read_op(r, json_array_get(ops, i), i);
    for (size_t i = 0; i < json_array_size(outs) && !stop(r); i++) {
        snprintf(p, sizeof p, "outputs[%zu]", i);
        bool ok = true;
        llmc_tid t = ref(r, json_array_get(outs, i), p, false, &ok);
        if (!ok) continue;
        llmc_ir_mark_output(r->ir, t);
        forward(r, p);
    }
}

llmc_ir *llmc_ir_from_json(const char *text, size_t len, const char *source_name, llmc_diags *d) {
    const char *file = source_name ? source_name : "<string>";
    llmc_loc loc = {file, 0, 0};
    if (!text) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "no text to read");
        return NULL;
    }
    json_error_t je;
    /* duplicate keys would make the document ambiguous; jansson bounds nesting depth */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        llmc_loc at = {file, je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0};
        llmc_diag_add(d, LLMC_SEV_ERROR, at, NULL, "invalid JSON: %s", je.text);
        return NULL;
    }
    reader r = {d, file, llmc_ir_create(), 0, 0, false};
    if (!r.ir) {
        json_decref(root);
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "out of memory");
        return NULL;
    }
    read_root(&r, root);
    json_decref(root);
    if (r.errors || llmc_ir_validate_at(r.ir, d, file, true) != 0) {
        llmc_ir_free(r.ir);
        return NULL;
    }
    return r.ir;
}

llmc_ir *llmc_ir_load_json_file(const char *path, llmc_diags *d) {
    llmc_loc loc = {path, 0, 0};
    if (!path) {
        llmc_error(d, NULL, "ir.json: no path given");
        return NULL;
    }
    size_t len;
    char *text = llmc_read_file(path, IR_JSON_MAX_BYTES, &len);
    if (!text) {
        if (errno == EFBIG)
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "file is larger than the limit of %u bytes", IR_JSON_MAX_BYTES);
        else
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "cannot read: %s", llmc_read_file_error(path, errno));
        return NULL;
    }
    llmc_ir *ir = llmc_ir_from_json(text, len, path, d);
    free(text);
    return ir;
}
