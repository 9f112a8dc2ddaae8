/* IR: builder and shape inference (one failing case or more per op type, each with its
 * exact message), NONE propagation, names, cycles, topological order, parameter counts,
 * ir.json round trip and reader errors, DOT output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc/ir.h"

/* ---- helpers --------------------------------------------------------------------------------- */

#define B_ LLMC_SYM_BATCH
#define S_ LLMC_SYM_SEQ
#define T_ LLMC_SYM_SRC_SEQ

/* shape / input / attr lists as (pointer, count) argument pairs */
#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}
#define TIDS(...) (const llmc_tid[]){__VA_ARGS__}, (int)(sizeof((llmc_tid[]){__VA_ARGS__}) / sizeof(llmc_tid))
#define ATTRS(...) (const llmc_attr[]){__VA_ARGS__}, (int)(sizeof((llmc_attr[]){__VA_ARGS__}) / sizeof(llmc_attr))
#define NOATTRS NULL, 0

static llmc_attr attr_ints(const char *key, int n, const int64_t *v) {
    llmc_attr a = {0};
    a.key = key;
    a.type = LLMC_ATTR_INTS;
    a.n_ints = n;
    for (int i = 0; i < n; i++) a.ints[i] = v[i];
    return a;
}
#define SHAPE_ATTR(...) attr_ints("shape", DIMS(__VA_ARGS__))

static llmc_tid param_full(llmc_ir *ir, const char *name, llmc_component c, llmc_stack s, int layer,
                           llmc_init_kind init, llmc_dtype dt, int rank, const int64_t *shape) {
    llmc_param_desc p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.dtype = dt;
    p.rank = rank;
    for (int i = 0; i < rank; i++) p.shape[i] = shape[i];
    p.component = c;
    p.stack = s;
    p.layer = layer;
    p.init.kind = init;
    p.init.std = init == LLMC_PINIT_NORMAL ? 0.02 : 0.0;
    /* a role that fits the component and rank (rank 1: the bias of the role) */
    static const llmc_param_role by_comp[LLMC_COMP_COUNT] = {LLMC_ROLE_TOKEN_EMBEDDING, LLMC_ROLE_POSITION_EMBEDDING,
                                                             LLMC_ROLE_ATTN_Q,          LLMC_ROLE_MLP_UP,
                                                             LLMC_ROLE_NORM,            LLMC_ROLE_OUTPUT_HEAD};
    if ((unsigned)c < LLMC_COMP_COUNT) p.role = by_comp[c];
    bool positional = c == LLMC_COMP_POSITIONAL;
    /* the projections the hand-built llama names */
    static const struct { const char *suffix; llmc_param_role role; } named[] = {
        {"k_proj.weight", LLMC_ROLE_ATTN_K},     {"v_proj.weight", LLMC_ROLE_ATTN_V},
        {"o_proj.weight", LLMC_ROLE_ATTN_O},     {"gate_proj.weight", LLMC_ROLE_MLP_GATE},
        {"down_proj.weight", LLMC_ROLE_MLP_DOWN}, {"rel", LLMC_ROLE_RELATIVE_BIAS}, {"wd", LLMC_ROLE_ATTN_O},
        {"proj", LLMC_ROLE_RELATIVE_BIAS}};
    for (size_t i = 0; name && i < sizeof named / sizeof *named; i++) {
        size_t n = strlen(name), k = strlen(named[i].suffix);
        if (n >= k && !strcmp(name + n - k, named[i].suffix)) p.role = named[i].role;
    }
    /* "proj" [8,3] is a zoo table read by matmul: a relative-bias-shaped table of its component */
    if (p.role == LLMC_ROLE_RELATIVE_BIAS && !positional) p.component = LLMC_COMP_POSITIONAL;
    p.is_bias = rank == 1 && p.role != LLMC_ROLE_NORM;
    if (p.role == LLMC_ROLE_NORM) p.norm_site = s == LLMC_STACK_NONE ? LLMC_NORM_SITE_FINAL : LLMC_NORM_SITE_ATTN_INPUT;
    if (s != LLMC_STACK_NONE && layer >= 0 && !llmc_ir_find_block(ir, s, layer)) {
        llmc_ir_block b = {s, layer, LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, true, false, true};
        llmc_ir_add_block(ir, &b);
    }
    return llmc_ir_param(ir, &p);
}
/* a normal-initialised f32 attention parameter outside any layer */
#define PARAM(ir, name, ...) \
    param_full(ir, name, LLMC_COMP_ATTENTION, LLMC_STACK_NONE, -1, LLMC_PINIT_NORMAL, LLMC_DTYPE_F32, DIMS(__VA_ARGS__))
#define IN(ir, name, dt, ...) llmc_ir_input(ir, name, dt, DIMS(__VA_ARGS__))


/* The graph must fail validation with exactly these diagnostics; frees the graph. */
static void expect_invalid(llmc_ir *ir, const char *want) {
    llmc_diags *d = llmc_diags_create();
    int rc = llmc_ir_validate(ir, d);
    char *got = test_all_diags(d);
    if (rc == 0 || strcmp(got, want) != 0)
        fail_msg("--- got (%s):\n%s\n--- want:\n%s", rc ? "invalid" : "valid", got, want);
    free(got);
    llmc_diags_free(d);
    llmc_ir_free(ir);
}

static void expect_valid(const llmc_ir *ir) {
    llmc_diags *d = llmc_diags_create();
    int rc = llmc_ir_validate(ir, d);
    char *got = test_all_diags(d);
    if (rc != 0 || llmc_diags_size(d) != 0) fail_msg("graph should be valid, got:\n%s", got);
    free(got);
    llmc_diags_free(d);
}

/* A graph with ids [B,S] i64 and x [B,S,512] f32; x is marked as an output so that
 * validation reports only what a test adds. */
static llmc_ir *fresh(void) {
    llmc_ir *ir = llmc_ir_create();
    assert_non_null(ir);
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_DECODER_ONLY);
    assert_int_equal(IN(ir, "ids", LLMC_DTYPE_I64, B_, S_), 0);
    assert_int_equal(IN(ir, "x", LLMC_DTYPE_F32, B_, S_, 512), 1);
    assert_int_equal(llmc_ir_mark_output(ir, 1), 0);
    return ir;
}
#define IDS 0
#define X 1

static void shape_is(const llmc_ir *ir, llmc_tid t, const char *dtype, int rank, const int64_t *shape) {
    const llmc_tensor_info *ti = llmc_ir_tensor(ir, t);
    assert_non_null(ti);
    assert_string_equal(llmc_dtype_name(ti->dtype), dtype);
    assert_int_equal(ti->rank, rank);
    for (int i = 0; i < rank; i++) assert_int_equal(ti->shape[i], shape[i]);
}

/* ---- the realistic model: llama-style decoder, 2 layers, GQA, tied head ------------------------- */

enum { V = 256, H = 64, NH = 4, NKV = 2, HD = 16, I = 176, L = 2 };

static llmc_tid layer_param(llmc_ir *ir, int layer, const char *suffix, llmc_component c, llmc_init_kind init,
                            int rank, const int64_t *shape) {
    char name[128];
    snprintf(name, sizeof name, "model.layers.%d.%s", layer, suffix);
    return param_full(ir, name, c, LLMC_STACK_DECODER, layer, init, LLMC_DTYPE_F32, rank, shape);
}

static llmc_tid layer_op(llmc_ir *ir, int layer, const char *suffix, llmc_op_type type, const llmc_tid *in, int n_in,
                         const llmc_attr *attrs, int n_attrs) {
    char name[128];
    snprintf(name, sizeof name, "model.layers.%d.%s", layer, suffix);
    llmc_tid t = llmc_ir_op(ir, type, name, in, n_in, attrs, n_attrs);
    if (t == LLMC_TID_NONE) fail_msg("op %s failed", name);
    return t;
}

static llmc_ir *build_llama(bool tied) {
    llmc_ir *ir = llmc_ir_create();
    assert_int_equal(llmc_ir_set_structure(ir, LLMC_STRUCTURE_DECODER_ONLY), 0);
    assert_int_equal(llmc_ir_set_meta(ir, "template", "decoder_only"), 0);
    assert_int_equal(llmc_ir_set_meta(ir, "spec", "tiny-llama"), 0);
    llmc_tid ids = IN(ir, "input_ids", LLMC_DTYPE_I64, B_, S_);
    llmc_tid embed = param_full(ir, "model.embed_tokens.weight", LLMC_COMP_EMBEDDING, LLMC_STACK_NONE, -1,
                                LLMC_PINIT_NORMAL, LLMC_DTYPE_F32, DIMS(V, H));
    llmc_tid x = llmc_ir_op(ir, LLMC_OP_EMBEDDING, "model.embed_tokens", TIDS(ids, embed), NOATTRS);
    const llmc_attr eps = llmc_attr_float("eps", 1e-5);
    for (int l = 0; l < L; l++) {
        llmc_tid ln1 = layer_param(ir, l, "input_layernorm.weight", LLMC_COMP_NORM, LLMC_PINIT_ONES, DIMS(H));
        llmc_tid h = layer_op(ir, l, "input_layernorm", LLMC_OP_RMSNORM, TIDS(x, ln1), &eps, 1);
        llmc_tid wq = layer_param(ir, l, "self_attn.q_proj.weight", LLMC_COMP_ATTENTION, LLMC_PINIT_NORMAL, DIMS(NH * HD, H));
        llmc_tid wk = layer_param(ir, l, "self_attn.k_proj.weight", LLMC_COMP_ATTENTION, LLMC_PINIT_NORMAL, DIMS(NKV * HD, H));
        llmc_tid wv = layer_param(ir, l, "self_attn.v_proj.weight", LLMC_COMP_ATTENTION, LLMC_PINIT_NORMAL, DIMS(NKV * HD, H));
        llmc_tid wo = layer_param(ir, l, "self_attn.o_proj.weight", LLMC_COMP_ATTENTION, LLMC_PINIT_NORMAL, DIMS(H, NH * HD));
        llmc_tid q = layer_op(ir, l, "self_attn.q_proj", LLMC_OP_LINEAR, TIDS(h, wq), NOATTRS);
        llmc_tid k = layer_op(ir, l, "self_attn.k_proj", LLMC_OP_LINEAR, TIDS(h, wk), NOATTRS);
        llmc_tid v = layer_op(ir, l, "self_attn.v_proj", LLMC_OP_LINEAR, TIDS(h, wv), NOATTRS);
        q = layer_op(ir, l, "self_attn.q_heads", LLMC_OP_RESHAPE, TIDS(q), ATTRS(SHAPE_ATTR(B_, S_, NH, HD)));
        k = layer_op(ir, l, "self_attn.k_heads", LLMC_OP_RESHAPE, TIDS(k), ATTRS(SHAPE_ATTR(B_, S_, NKV, HD)));
        v = layer_op(ir, l, "self_attn.v_heads", LLMC_OP_RESHAPE, TIDS(v), ATTRS(SHAPE_ATTR(B_, S_, NKV, HD)));
        q = layer_op(ir, l, "self_attn.q_rope", LLMC_OP_ROPE, TIDS(q), ATTRS(llmc_attr_float("theta", 10000.0)));
        k = layer_op(ir, l, "self_attn.k_rope", LLMC_OP_ROPE, TIDS(k), ATTRS(llmc_attr_float("theta", 10000.0)));
        llmc_tid a = layer_op(ir, l, "self_attn.attention", LLMC_OP_ATTENTION, TIDS(q, k, v),
                              ATTRS(llmc_attr_str("mask", "causal")));
        a = layer_op(ir, l, "self_attn.merge_heads", LLMC_OP_RESHAPE, TIDS(a), ATTRS(SHAPE_ATTR(B_, S_, NH * HD)));
        llmc_tid o = layer_op(ir, l, "self_attn.o_proj", LLMC_OP_LINEAR, TIDS(a, wo), NOATTRS);
        x = layer_op(ir, l, "attn_residual", LLMC_OP_ADD, TIDS(x, o), NOATTRS);
        llmc_tid ln2 = layer_param(ir, l, "post_attention_layernorm.weight", LLMC_COMP_NORM, LLMC_PINIT_ONES, DIMS(H));
        h = layer_op(ir, l, "post_attention_layernorm", LLMC_OP_RMSNORM, TIDS(x, ln2), &eps, 1);
        llmc_tid wg = layer_param(ir, l, "mlp.gate_proj.weight", LLMC_COMP_MLP, LLMC_PINIT_NORMAL, DIMS(I, H));
        llmc_tid wu = layer_param(ir, l, "mlp.up_proj.weight", LLMC_COMP_MLP, LLMC_PINIT_NORMAL, DIMS(I, H));
        llmc_tid wd = layer_param(ir, l, "mlp.down_proj.weight", LLMC_COMP_MLP, LLMC_PINIT_NORMAL, DIMS(H, I));
        llmc_tid g = layer_op(ir, l, "mlp.gate_proj", LLMC_OP_LINEAR, TIDS(h, wg), NOATTRS);
        llmc_tid u = layer_op(ir, l, "mlp.up_proj", LLMC_OP_LINEAR, TIDS(h, wu), NOATTRS);
        llmc_tid s = layer_op(ir, l, "mlp.act", LLMC_OP_SWIGLU, TIDS(g, u), NOATTRS);
        llmc_tid dn = layer_op(ir, l, "mlp.down_proj", LLMC_OP_LINEAR, TIDS(s, wd), NOATTRS);
        x = layer_op(ir, l, "mlp_residual", LLMC_OP_ADD, TIDS(x, dn), NOATTRS);
    }
    llmc_tid nw = param_full(ir, "model.norm.weight", LLMC_COMP_NORM, LLMC_STACK_NONE, -1, LLMC_PINIT_ONES,
                             LLMC_DTYPE_F32, DIMS(H));
    x = llmc_ir_op(ir, LLMC_OP_RMSNORM, "model.norm", TIDS(x, nw), &eps, 1);
    llmc_tid head = tied ? embed
                         : param_full(ir, "lm_head.weight", LLMC_COMP_HEAD, LLMC_STACK_NONE, -1, LLMC_PINIT_NORMAL,
                                      LLMC_DTYPE_F32, DIMS(V, H));
    llmc_tid logits = llmc_ir_op(ir, LLMC_OP_LINEAR, "lm_head", TIDS(x, head), NOATTRS);
    assert_int_equal(llmc_ir_mark_output(ir, logits), 0);
    return ir;
}

/* Every op type once, every attr type, T and absent optional inputs: the JSON zoo. */
static llmc_ir *build_zoo(void) {
    llmc_ir *ir = llmc_ir_create();
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_ENCODER_DECODER);
    llmc_ir_set_meta(ir, "template", "zoo");
    llmc_ir_set_meta(ir, "note", "quotes \" and \\ backslashes, tabs\t, ünïcödé");
    llmc_tid ids = IN(ir, "ids", LLMC_DTYPE_I64, B_, S_);
    llmc_tid src = IN(ir, "src_ids", LLMC_DTYPE_I32, B_, T_);
    llmc_tid table = param_full(ir, "embed", LLMC_COMP_EMBEDDING, LLMC_STACK_NONE, -1, LLMC_PINIT_NORMAL,
                                LLMC_DTYPE_F32, DIMS(100, 32));
    llmc_tid pos = param_full(ir, "pos", LLMC_COMP_POSITIONAL, LLMC_STACK_NONE, -1, LLMC_PINIT_NORMAL, LLMC_DTYPE_F32,
                              DIMS(64, 32));
    llmc_tid e = llmc_ir_op(ir, LLMC_OP_EMBEDDING, "embed", TIDS(ids, table), NOATTRS);
    llmc_tid es = llmc_ir_op(ir, LLMC_OP_EMBEDDING, "embed_src", TIDS(src, table), NOATTRS);
    llmc_tid p = llmc_ir_op(ir, LLMC_OP_POSITIONS_LEARNED, "pos", TIDS(ids, pos), NOATTRS);
    llmc_tid sp = llmc_ir_op(ir, LLMC_OP_POSITIONS_SINUSOIDAL, "sin", TIDS(ids),
                             ATTRS(llmc_attr_int("dim", 32), llmc_attr_str("dtype", "f32")));
    llmc_tid a = llmc_ir_op(ir, LLMC_OP_ADD, "add_pos", TIDS(e, p), NOATTRS);
    a = llmc_ir_op(ir, LLMC_OP_ADD, "add_sin", TIDS(a, sp), NOATTRS);
    llmc_tid lw = param_full(ir, "ln.weight", LLMC_COMP_NORM, LLMC_STACK_ENCODER, 0, LLMC_PINIT_ONES, LLMC_DTYPE_F32,
                             DIMS(32));
    llmc_tid lb = param_full(ir, "ln.bias", LLMC_COMP_NORM, LLMC_STACK_ENCODER, 0, LLMC_PINIT_ZEROS, LLMC_DTYPE_F32,
                             DIMS(32));
    llmc_tid ln = llmc_ir_op(ir, LLMC_OP_LAYERNORM, "ln", TIDS(a, lw, lb), ATTRS(llmc_attr_float("eps", 1e-6)));
    llmc_tid wq = PARAM(ir, "wq", 32, 32), bq = PARAM(ir, "bq", 32), wk = PARAM(ir, "wk", 16, 32),
             wv = PARAM(ir, "wv", 16, 32);
    llmc_tid q = llmc_ir_op(ir, LLMC_OP_LINEAR, "q", TIDS(ln, wq, bq), NOATTRS);
    llmc_tid k = llmc_ir_op(ir, LLMC_OP_LINEAR, "k", TIDS(ln, wk), NOATTRS);
    llmc_tid v = llmc_ir_op(ir, LLMC_OP_LINEAR, "v", TIDS(ln, wv, LLMC_TID_NONE), NOATTRS);
    llmc_tid kx = llmc_ir_op(ir, LLMC_OP_LINEAR, "k_src", TIDS(es, wk), NOATTRS);
    q = llmc_ir_op(ir, LLMC_OP_RESHAPE, "q4", TIDS(q), ATTRS(SHAPE_ATTR(B_, S_, 4, 8)));
    k = llmc_ir_op(ir, LLMC_OP_RESHAPE, "k4", TIDS(k), ATTRS(SHAPE_ATTR(B_, S_, 2, 8)));
    v = llmc_ir_op(ir, LLMC_OP_RESHAPE, "v4", TIDS(v), ATTRS(SHAPE_ATTR(S_, B_, 2, 8)));
    v = llmc_ir_op(ir, LLMC_OP_RESHAPE, "v4b", TIDS(v), ATTRS(SHAPE_ATTR(B_, S_, 2, 8)));
    kx = llmc_ir_op(ir, LLMC_OP_RESHAPE, "k_src4", TIDS(kx), ATTRS(SHAPE_ATTR(B_, T_, 2, 8)));
    llmc_tid qr = llmc_ir_op(ir, LLMC_OP_ROPE, "q_rope", TIDS(q),
                             ATTRS(llmc_attr_float("theta", 500000.0), llmc_attr_str("scaling", "llama3"),
                                   llmc_attr_float("factor", 8.0), llmc_attr_float("original_context_length", 8192.0),
                                   llmc_attr_float("low_freq_factor", 1.0), llmc_attr_float("high_freq_factor", 4.0)));
    llmc_tid kr = llmc_ir_op(ir, LLMC_OP_ROPE, "k_rope", TIDS(k),
                             ATTRS(llmc_attr_float("theta", 10000.0), llmc_attr_str("scaling", "yarn"),
                                   llmc_attr_float("factor", 4.0), llmc_attr_float("original_context_length", 4096.0),
                                   llmc_attr_float("beta_fast", 32.0), llmc_attr_float("beta_slow", 1.0)));
    llmc_tid kd = llmc_ir_op(ir, LLMC_OP_ROPE, "k_rope_dyn", TIDS(kr),
                             ATTRS(llmc_attr_float("theta", 10000.0), llmc_attr_str("scaling", "dynamic"),
                                   llmc_attr_float("factor", 2.0), llmc_attr_float("original_context_length", 2048.0)));
    llmc_tid kl = llmc_ir_op(ir, LLMC_OP_ROPE, "k_rope_lin", TIDS(kd),
                             ATTRS(llmc_attr_float("theta", 1e4), llmc_attr_str("scaling", "linear"),
                                   llmc_attr_float("factor", 0.1)));
    llmc_tid al = llmc_ir_op(ir, LLMC_OP_ALIBI, "alibi", TIDS(q, k), ATTRS(llmc_attr_float("max_bias", 8.0)));
    llmc_tid rt = param_full(ir, "rel", LLMC_COMP_POSITIONAL, LLMC_STACK_ENCODER, 0, LLMC_PINIT_NORMAL, LLMC_DTYPE_F32,
                             DIMS(32, 4));
    llmc_tid rb = llmc_ir_op(ir, LLMC_OP_RELATIVE_BIAS, "rel", TIDS(rt),
                             ATTRS(llmc_attr_int("num_buckets", 32), llmc_attr_int("max_distance", 128),
                                   llmc_attr_int("bidirectional", 1), llmc_attr_int("q_len_sym", S_),
                                   llmc_attr_int("k_len_sym", S_)));
    llmc_tid bias = llmc_ir_op(ir, LLMC_OP_ADD, "bias", TIDS(al, rb), NOATTRS);
    llmc_tid at = llmc_ir_op(ir, LLMC_OP_ATTENTION, "attn", TIDS(qr, kl, v, bias),
                             ATTRS(llmc_attr_str("mask", "sliding_window"), llmc_attr_int("window", 16),
                                   llmc_attr_float("scale", 0.125)));
    llmc_tid cx = llmc_ir_op(ir, LLMC_OP_ATTENTION, "cross", TIDS(at, kx, kx), ATTRS(llmc_attr_str("mask", "none")));
    cx = llmc_ir_op(ir, LLMC_OP_RESHAPE, "merge", TIDS(cx), ATTRS(SHAPE_ATTR(B_, S_, 32)));
    llmc_tid wg = PARAM(ir, "wg", 64, 32), wu = PARAM(ir, "wu", 64, 32), wd = PARAM(ir, "wd", 32, 64);
    llmc_tid g = llmc_ir_op(ir, LLMC_OP_LINEAR, "gate", TIDS(cx, wg), NOATTRS);
    llmc_tid u = llmc_ir_op(ir, LLMC_OP_LINEAR, "up", TIDS(cx, wu), NOATTRS);
    llmc_tid sw = llmc_ir_op(ir, LLMC_OP_SWIGLU, "swiglu", TIDS(g, u), NOATTRS);
    llmc_tid ge = llmc_ir_op(ir, LLMC_OP_GEGLU, "geglu", TIDS(g, u), ATTRS(llmc_attr_int("approximate", 1)));
    llmc_tid m = llmc_ir_op(ir, LLMC_OP_MUL, "mul", TIDS(sw, ge), NOATTRS);
    m = llmc_ir_op(ir, LLMC_OP_ACTIVATION, "act", TIDS(m), ATTRS(llmc_attr_str("fn", "relu_squared")));
    m = llmc_ir_op(ir, LLMC_OP_SCALE, "scale", TIDS(m), ATTRS(llmc_attr_float("factor", -0.5)));
    llmc_tid dn = llmc_ir_op(ir, LLMC_OP_LINEAR, "down", TIDS(m, wd), NOATTRS);
    llmc_tid out = llmc_ir_op(ir, LLMC_OP_RMSNORM, "final_norm", TIDS(dn), ATTRS(llmc_attr_float("eps", 1e-5)));
    llmc_tid pm = PARAM(ir, "proj", 8, 3);
    llmc_tid mm = llmc_ir_op(ir, LLMC_OP_MATMUL, "matmul", TIDS(qr, pm), NOATTRS);
    llmc_tid sm = llmc_ir_op(ir, LLMC_OP_SOFTMAX, "softmax", TIDS(mm), ATTRS(llmc_attr_int("axis", -1)));
    assert_int_equal(llmc_ir_mark_output(ir, out), 0);
    assert_int_equal(llmc_ir_mark_output(ir, sm), 0);
    return ir;
}

/* ---- name tables ------------------------------------------------------------------------------ */

static void test_name_tables(void **state) {
    (void)state;
    static const char *const dts[] = {"f32", "f16", "bf16", "i32", "i64", "bool"};
    static const size_t sizes[] = {4, 2, 2, 4, 8, 1};
    for (int i = 0; i < LLMC_DTYPE_COUNT; i++) {
        assert_string_equal(llmc_dtype_name((llmc_dtype)i), dts[i]);
        assert_int_equal(llmc_dtype_from_name(dts[i]), i);
        assert_int_equal(llmc_dtype_size((llmc_dtype)i), sizes[i]);
    }
    assert_int_equal(llmc_dtype_from_name("f64"), -1);
    assert_int_equal(llmc_dtype_from_name(NULL), -1);
    assert_string_equal(llmc_dtype_name(LLMC_DTYPE_COUNT), "invalid");
    assert_int_equal(llmc_dtype_size(LLMC_DTYPE_COUNT), 0);
    static const char *const ops[] = {"embedding", "linear",  "rmsnorm", "layernorm", "reshape",
                                      "rope",      "alibi",   "relative_bias", "attention", "swiglu",
                                      "geglu",     "activation", "add",  "mul",       "scale",
                                      "matmul",    "softmax", "positions_learned", "positions_sinusoidal",
                                      "moe_route", "moe_experts", "softcap"};
    assert_int_equal(sizeof ops / sizeof *ops, LLMC_OP_TYPE_COUNT);
    for (int i = 0; i < LLMC_OP_TYPE_COUNT; i++) {
        assert_string_equal(llmc_op_type_name((llmc_op_type)i), ops[i]);
        assert_int_equal(llmc_op_type_from_name(ops[i]), i);
    }
    assert_int_equal(llmc_op_type_from_name("conv"), -1);
    assert_string_equal(llmc_op_type_name((llmc_op_type)-1), "invalid");
    static const char *const comps[] = {"embedding", "positional", "attention", "mlp", "norm", "head"};
    for (int i = 0; i < LLMC_COMP_COUNT; i++) assert_string_equal(llmc_component_name((llmc_component)i), comps[i]);
    assert_string_equal(llmc_tensor_kind_name(LLMC_TENSOR_INPUT), "input");
    assert_string_equal(llmc_tensor_kind_name(LLMC_TENSOR_PARAM), "param");
    assert_string_equal(llmc_tensor_kind_name(LLMC_TENSOR_VALUE), "value");
    assert_string_equal(llmc_stack_name(LLMC_STACK_NONE), "none");
    assert_string_equal(llmc_stack_name(LLMC_STACK_DECODER), "decoder");
    assert_string_equal(llmc_stack_name(LLMC_STACK_ENCODER), "encoder");
    assert_string_equal(llmc_init_kind_name(LLMC_PINIT_NORMAL), "normal");
    assert_string_equal(llmc_init_kind_name(LLMC_PINIT_ONES), "ones");
    assert_string_equal(llmc_init_kind_name(LLMC_PINIT_ZEROS), "zeros");
}

/* ---- building the realistic model ----------------------------------------------------------------- */

static void test_llama_builds_and_validates(void **state) {
    (void)state;
    llmc_ir *ir = build_llama(true);
    expect_valid(ir);
    /* per layer 19 ops (norm, q/k/v, 3 reshapes, 2 ropes, attention, merge, o, add, norm,
     * gate, up, act, down, add) plus embedding, final norm and head */
    assert_int_equal(llmc_ir_num_ops(ir), 1 + L * 19 + 2);
    assert_int_equal(llmc_ir_num_outputs(ir), 1);
    llmc_tid logits = llmc_ir_output(ir, 0);
    assert_int_equal(logits, llmc_ir_find(ir, "lm_head:0"));
    shape_is(ir, logits, "f32", 3, (const int64_t[]){B_, S_, V});
    const llmc_tensor_info *ti = llmc_ir_tensor(ir, logits);
    assert_int_equal(ti->kind, LLMC_TENSOR_VALUE);
    const llmc_op_info *head = llmc_ir_op_at(ir, (size_t)ti->producer);
    assert_string_equal(head->name, "lm_head");
    assert_int_equal(head->type, LLMC_OP_LINEAR);
    /* the head reads the embedding table (tied) and has its absent bias as NONE */
    assert_int_equal(head->n_inputs, 3);
    assert_int_equal(head->inputs[1], llmc_ir_find(ir, "model.embed_tokens.weight"));
    assert_int_equal(head->inputs[2], LLMC_TID_NONE);
    assert_null(llmc_op_attr(head, "eps"));

    llmc_tid q = llmc_ir_find(ir, "model.layers.1.self_attn.q_rope:0");
    shape_is(ir, q, "f32", 4, (const int64_t[]){B_, S_, NH, HD});
    llmc_tid a = llmc_ir_find(ir, "model.layers.1.self_attn.attention:0");
    shape_is(ir, a, "f32", 4, (const int64_t[]){B_, S_, NH, HD});
    const llmc_op_info *att = llmc_ir_op_at(ir, (size_t)llmc_ir_tensor(ir, a)->producer);
    const llmc_attr *mask = llmc_op_attr(att, "mask");
    assert_non_null(mask);
    assert_int_equal(mask->type, LLMC_ATTR_STRING);
    assert_string_equal(mask->s, "causal");
    const llmc_tensor_info *wk = llmc_ir_tensor(ir, llmc_ir_find(ir, "model.layers.1.self_attn.k_proj.weight"));
    assert_int_equal(wk->kind, LLMC_TENSOR_PARAM);
    assert_int_equal(wk->component, LLMC_COMP_ATTENTION);
    assert_int_equal(wk->stack, LLMC_STACK_DECODER);
    assert_int_equal(wk->layer, 1);
    assert_int_equal(wk->producer, -1);
    assert_int_equal(wk->shape[0], NKV * HD);
    assert_true(wk->init.kind == LLMC_PINIT_NORMAL && wk->init.std == 0.02);
    assert_string_equal(llmc_ir_get_meta(ir, "template"), "decoder_only");
    assert_null(llmc_ir_get_meta(ir, "nope"));
    assert_int_equal(llmc_ir_find(ir, "nope"), LLMC_TID_NONE);
    assert_null(llmc_ir_tensor(ir, (llmc_tid)llmc_ir_num_tensors(ir)));
    assert_null(llmc_ir_tensor(ir, LLMC_TID_NONE));
    assert_null(llmc_ir_op_at(ir, llmc_ir_num_ops(ir)));
    assert_int_equal(llmc_ir_output(ir, 1), LLMC_TID_NONE);

    /* built in dependency order: the topological order is the insertion order */
    size_t n = llmc_ir_num_ops(ir);
    int32_t *order = malloc(n * sizeof *order);
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_ir_topo_order(ir, order, d), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(order[i], (int32_t)i);
    free(order);
    llmc_diags_free(d);
    llmc_ir_free(ir);

    ir = build_llama(false);
    expect_valid(ir);
    llmc_ir_free(ir);
    /* the zoo uses every op type and is valid too */
    ir = build_zoo();
    expect_valid(ir);
    shape_is(ir, llmc_ir_find(ir, "rel:0"), "f32", 3, (const int64_t[]){4, S_, S_});
    shape_is(ir, llmc_ir_find(ir, "cross:0"), "f32", 4, (const int64_t[]){B_, S_, 4, 8});
    shape_is(ir, llmc_ir_find(ir, "matmul:0"), "f32", 4, (const int64_t[]){B_, S_, 4, 3});
    shape_is(ir, llmc_ir_find(ir, "embed_src:0"), "f32", 3, (const int64_t[]){B_, T_, 32});
    llmc_ir_free(ir);
}

/* ---- counting -------------------------------------------------------------------------------------- */

static void test_counts(void **state) {
    (void)state;
    /* By hand: embedding V*H = 16384. Per layer: 2 norms 2*64, q 64*64 = 4096, k and v
     * 32*64 = 2048 each, o 4096, gate/up/down 176*64 = 11264 each: 128 + 12288 + 33792 =
     * 46208. Final norm 64. Tied head: nothing more. */
    llmc_ir *ir = build_llama(true);
    llmc_diags *d = llmc_diags_create();
    llmc_param_count c;
    assert_int_equal(llmc_ir_count_params(ir, &c, d), 0);
    assert_int_equal(c.total, 16384 + 2 * 46208 + 64);
    assert_int_equal(c.total, 108864);
    assert_int_equal(c.component[LLMC_COMP_EMBEDDING], 16384);
    assert_int_equal(c.component[LLMC_COMP_POSITIONAL], 0);
    assert_int_equal(c.component[LLMC_COMP_ATTENTION], 2 * 12288);
    assert_int_equal(c.component[LLMC_COMP_MLP], 2 * 33792);
    assert_int_equal(c.component[LLMC_COMP_NORM], 2 * 128 + 64);
    assert_int_equal(c.component[LLMC_COMP_HEAD], 0);
    for (int l = 0; l < L; l++) {
        assert_int_equal(llmc_ir_count_layer(ir, LLMC_STACK_DECODER, l, &c, d), 0);
        assert_int_equal(c.total, 46208);
        assert_int_equal(c.component[LLMC_COMP_ATTENTION], 12288);
        assert_int_equal(c.component[LLMC_COMP_MLP], 33792);
        assert_int_equal(c.component[LLMC_COMP_NORM], 128);
        assert_int_equal(c.component[LLMC_COMP_EMBEDDING], 0);
    }
    /* parameters outside any stack: embedding + final norm */
    assert_int_equal(llmc_ir_count_layer(ir, LLMC_STACK_NONE, -1, &c, d), 0);
    assert_int_equal(c.total, 16384 + 64);
    /* a layer that does not exist holds nothing */
    assert_int_equal(llmc_ir_count_layer(ir, LLMC_STACK_DECODER, 2, &c, d), 0);
    assert_int_equal(c.total, 0);
    assert_int_equal(llmc_ir_count_layer(ir, LLMC_STACK_ENCODER, 0, &c, d), 0);
    assert_int_equal(c.total, 0);
    assert_int_equal(llmc_diags_size(d), 0);
    /* nonsense layer arguments are errors */
    assert_int_not_equal(llmc_ir_count_layer(ir, LLMC_STACK_DECODER, -1, &c, d), 0);
    assert_int_not_equal(llmc_ir_count_layer(ir, LLMC_STACK_NONE, 0, &c, d), 0);
    char *got = test_all_diags(d);
    assert_string_equal(got,
                        "llmc: layer count: layer -1 of stack decoder does not exist (expected a layer index >= 0)\n"
                        "llmc: layer count: layer 0 of stack none does not exist (expected layer -1)");
    free(got);
    llmc_ir_free(ir);

    /* untied: one more V*H tensor, in the head component */
    ir = build_llama(false);
    llmc_diags_clear(d);
    assert_int_equal(llmc_ir_count_params(ir, &c, d), 0);
    assert_int_equal(c.total, 108864 + 16384);
    assert_int_equal(c.component[LLMC_COMP_HEAD], 16384);
    llmc_ir_free(ir);
    llmc_diags_free(d);
}

static void test_numel_overflow(void **state) {
    (void)state;
    /* one parameter with 2^80 elements: refused when declared */
    llmc_ir *ir = fresh();
    assert_int_equal(PARAM(ir, "huge", (int64_t)1 << 40, (int64_t)1 << 40), LLMC_TID_NONE);
    expect_invalid(ir, "llmc: parameter 'huge': shape [1099511627776,1099511627776] has more elements than 64 bits "
                       "can count");
    llmc_tensor_info t = {0};
    t.rank = 2;
    t.shape[0] = t.shape[1] = (int64_t)1 << 40;
    uint64_t n = 7;
    assert_int_not_equal(llmc_tensor_numel(&t, &n), 0);
    assert_int_equal(n, 0);
    t.shape[0] = t.shape[1] = (int64_t)1 << 31;
    assert_int_equal(llmc_tensor_numel(&t, &n), 0);
    assert_int_equal(n, (uint64_t)1 << 62);
    t.shape[1] = LLMC_SYM_SEQ;
    assert_int_not_equal(llmc_tensor_numel(&t, &n), 0);
    t.rank = 0;
    assert_int_equal(llmc_tensor_numel(&t, &n), 0);
    assert_int_equal(n, 1);
    /* 2^62 f32 elements are 2^64 bytes: refused as well */
    ir = fresh();
    assert_int_equal(PARAM(ir, "big", (int64_t)1 << 31, (int64_t)1 << 31), LLMC_TID_NONE);
    llmc_ir_free(ir);

    /* each fits (bf16: 2^63 bytes), four of them sum to 2^64 elements: the count overflows */
    ir = fresh();
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        assert_int_not_equal(param_full(ir, name, LLMC_COMP_MLP, LLMC_STACK_NONE, -1, LLMC_PINIT_ZEROS,
                                        LLMC_DTYPE_BF16, DIMS((int64_t)1 << 31, (int64_t)1 << 31)),
                             LLMC_TID_NONE);
    }
    llmc_diags *d = llmc_diags_create();
    llmc_param_count c;
    assert_int_not_equal(llmc_ir_count_params(ir, &c, d), 0);
    assert_int_equal(c.total, 0);
    char *got = test_all_diags(d);
    assert_string_equal(got, "llmc: parameter count overflows 64 bits when adding 'p3' [2147483648,2147483648]");
    free(got);
    llmc_diags_free(d);
    llmc_ir_free(ir);
}

/* ---- shape errors, one or more per op type ----------------------------------------------------------- */

static void test_shape_errors_embedding_linear_norms(void **state) {
    (void)state;
    llmc_ir *ir = fresh();
    assert_int_equal(llmc_ir_op(ir, LLMC_OP_EMBEDDING, "emb", TIDS(X, PARAM(ir, "table", 100, 512)), NOATTRS),
                     LLMC_TID_NONE);
    expect_invalid(ir, "llmc: embedding 'emb': ids [B,S,512] must be an integer (i32 or i64) tensor (got f32)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_EMBEDDING, "emb", TIDS(IDS, PARAM(ir, "table", 100, 512, 1)), NOATTRS);
    expect_invalid(ir, "llmc: embedding 'emb': table [100,512,1] must have rank 2 (got rank 3)\n"
                       "llmc: parameter 'table': a attn_q has rank 2 (got rank 3)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LINEAR, "model.layers.0.self_attn.q_proj", TIDS(X, PARAM(ir, "w", 1024, 768)), NOATTRS);
    expect_invalid(ir, "llmc: linear 'model.layers.0.self_attn.q_proj': input [B,S,512] does not match weight "
                       "[1024,768] (expected last dim 768, got 512)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LINEAR, "l", TIDS(X, PARAM(ir, "w", 1024, 512), PARAM(ir, "b", 512)), NOATTRS);
    expect_invalid(ir, "llmc: linear 'l': bias [512] does not match weight [1024,512] (expected [1024])");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LINEAR, "l", TIDS(X, PARAM(ir, "w", 512)), NOATTRS);
    expect_invalid(ir, "llmc: linear 'l': weight [512] must have rank 2 (got rank 1)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LINEAR, "l",
               TIDS(X, param_full(ir, "w", LLMC_COMP_MLP, LLMC_STACK_NONE, -1, LLMC_PINIT_NORMAL, LLMC_DTYPE_BF16,
                                  DIMS(8, 512))),
               NOATTRS);
    expect_invalid(ir, "llmc: linear 'l': weight dtype bf16 does not match input dtype f32");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RMSNORM, "n", TIDS(X, PARAM(ir, "w", 256)), ATTRS(llmc_attr_float("eps", 1e-5)));
    expect_invalid(ir, "llmc: rmsnorm 'n': weight [256] does not match input [B,S,512] (expected [512])");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RMSNORM, "n", TIDS(X), ATTRS(llmc_attr_float("eps", 0.0)));
    expect_invalid(ir, "llmc: rmsnorm 'n': attr 'eps' is 0 (expected > 0)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LAYERNORM, "n", TIDS(X, PARAM(ir, "w", 512), PARAM(ir, "b", 511)),
               ATTRS(llmc_attr_float("eps", 1e-5)));
    expect_invalid(ir, "llmc: layernorm 'n': bias [511] does not match input [B,S,512] (expected [512])");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LAYERNORM, "n", TIDS(X), NOATTRS);
    expect_invalid(ir, "llmc: layernorm 'n': attr 'eps' (a float) is required");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LAYERNORM, "n", TIDS(X), ATTRS(llmc_attr_int("eps", 1)));
    expect_invalid(ir, "llmc: layernorm 'n': attr 'eps' must be a float (got an int)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RMSNORM, "n", TIDS(X), ATTRS(llmc_attr_float("eps", 1e-5), llmc_attr_float("epsilon", 1)));
    expect_invalid(ir, "llmc: rmsnorm 'n': unknown attr 'epsilon' (expected one of: eps, weight_offset)");
}

static void test_shape_errors_reshape_rope_alibi_relative(void **state) {
    (void)state;
    llmc_ir *ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RESHAPE, "r", TIDS(X), ATTRS(SHAPE_ATTR(B_, S_, 8, 63)));
    expect_invalid(ir, "llmc: reshape 'r': input [B,S,512] cannot be reshaped to [B,S,8,63] (element count B*S*512 vs "
                       "B*S*504)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RESHAPE, "r", TIDS(X), ATTRS(SHAPE_ATTR(B_, T_, 512)));
    expect_invalid(ir, "llmc: reshape 'r': input [B,S,512] cannot be reshaped to [B,T,512] (element count B*S*512 vs "
                       "B*T*512)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RESHAPE, "r", TIDS(X), ATTRS(SHAPE_ATTR(B_, S_, 0)));
    expect_invalid(ir, "llmc: reshape 'r': attr 'shape' dim 2 is 0 (expected a positive size or a symbolic dim B=-1, "
                       "S=-2, T=-3)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RESHAPE, "r", TIDS(X), ATTRS(SHAPE_ATTR(1, 1, B_, S_, 512)));
    expect_invalid(ir, "llmc: reshape 'r': attr 'shape' has 5 dims (at most 4)");

    ir = fresh();
    llmc_tid x4 = IN(ir, "x4", LLMC_DTYPE_F32, B_, S_, 8, 63);
    llmc_ir_op(ir, LLMC_OP_ROPE, "rope", TIDS(x4), ATTRS(llmc_attr_float("theta", 1e4)));
    expect_invalid(ir, "llmc: rope 'rope': input [B,S,8,63] has an odd head dim 63 (rotary pairs need an even one)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_ROPE, "rope", TIDS(X), ATTRS(llmc_attr_float("theta", 1e4)));
    expect_invalid(ir, "llmc: rope 'rope': input [B,S,512] must have rank 4 (got rank 3)");

    ir = fresh();
    x4 = IN(ir, "x4", LLMC_DTYPE_F32, B_, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ROPE, "rope", TIDS(x4), ATTRS(llmc_attr_float("theta", 1e4), llmc_attr_str("scaling", "ntk")));
    expect_invalid(ir, "llmc: rope 'rope': attr 'scaling' is 'ntk' (expected none, linear, dynamic, yarn or llama3)");

    ir = fresh();
    x4 = IN(ir, "x4", LLMC_DTYPE_F32, B_, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ROPE, "rope", TIDS(x4),
               ATTRS(llmc_attr_float("theta", 1e4), llmc_attr_str("scaling", "llama3"), llmc_attr_float("factor", 8),
                     llmc_attr_float("original_context_length", 8192), llmc_attr_float("low_freq_factor", 4),
                     llmc_attr_float("high_freq_factor", 4)));
    expect_invalid(ir, "llmc: rope 'rope': attr 'high_freq_factor' is 4 (expected > low_freq_factor 4)");

    ir = fresh();
    x4 = IN(ir, "x4", LLMC_DTYPE_F32, B_, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ROPE, "rope", TIDS(x4),
               ATTRS(llmc_attr_float("theta", 1e4), llmc_attr_str("scaling", "yarn"), llmc_attr_float("factor", 4)));
    expect_invalid(ir, "llmc: rope 'rope': attr 'original_context_length' (a float) is required");

    ir = fresh();
    x4 = IN(ir, "x4", LLMC_DTYPE_F32, B_, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ROPE, "rope", TIDS(x4), ATTRS(llmc_attr_float("theta", -1)));
    expect_invalid(ir, "llmc: rope 'rope': attr 'theta' is -1 (expected > 0)");

    ir = fresh();
    llmc_tid q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, 1, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ALIBI, "alibi", TIDS(q, k), ATTRS(llmc_attr_float("max_bias", 8)));
    expect_invalid(ir, "llmc: alibi 'alibi': k [1,S,8,64] does not match q [B,S,8,64] (expected batch B, got 1)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ALIBI, "alibi", TIDS(q, k), NOATTRS);
    expect_invalid(ir, "llmc: alibi 'alibi': attr 'max_bias' (a float) is required");

    const llmc_attr rel[] = {llmc_attr_int("num_buckets", 32), llmc_attr_int("max_distance", 128),
                             llmc_attr_int("bidirectional", 1), llmc_attr_int("q_len_sym", S_),
                             llmc_attr_int("k_len_sym", T_)};
    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RELATIVE_BIAS, "rel", TIDS(PARAM(ir, "table", 16, 8)), rel, 5);
    expect_invalid(ir, "llmc: relative_bias 'rel': table [16,8] does not match attr 'num_buckets' (expected 32 rows, "
                       "got 16)");

    ir = fresh();
    llmc_attr rel2[5];
    memcpy(rel2, rel, sizeof rel2);
    rel2[4] = llmc_attr_int("k_len_sym", B_);
    llmc_ir_op(ir, LLMC_OP_RELATIVE_BIAS, "rel", TIDS(PARAM(ir, "table", 32, 8)), rel2, 5);
    expect_invalid(ir, "llmc: relative_bias 'rel': attr 'k_len_sym' is -1 (expected a sequence symbol: S=-2 or T=-3)");

    ir = fresh();
    memcpy(rel2, rel, sizeof rel2);
    rel2[1] = llmc_attr_int("max_distance", 8);
    llmc_ir_op(ir, LLMC_OP_RELATIVE_BIAS, "rel", TIDS(PARAM(ir, "table", 32, 8)), rel2, 5);
    expect_invalid(ir, "llmc: relative_bias 'rel': attr 'max_distance' is 8 (expected > 8, the exact-distance buckets)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_RELATIVE_BIAS, "rel", TIDS(PARAM(ir, "table", 32, 8)), rel, 4);
    expect_invalid(ir, "llmc: relative_bias 'rel': attr 'k_len_sym' (an int) is required");
}

static void test_shape_errors_attention(void **state) {
    (void)state;
    const llmc_attr causal = llmc_attr_str("mask", "causal");
    llmc_ir *ir = fresh();
    llmc_tid q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 12, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, S_, 5, 64),
             v = IN(ir, "v", LLMC_DTYPE_F32, B_, S_, 5, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': q [B,S,12,64] has 12 heads, not a multiple of the 5 heads of k [B,S,5,64]");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, T_, 2, 32),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, T_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': k [B,T,2,32] does not match q [B,S,8,64] (expected head dim 64, got 32)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, T_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, S_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': v [B,S,2,64] does not match k [B,T,2,64] (expected length T, got S)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, 2, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, 2, T_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, 3, T_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': v [3,T,2,64] does not match q [2,S,8,64] (expected batch 2, got 3)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, T_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, T_, 4, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': v [B,T,4,64] does not match k [B,T,2,64] (expected head count 2, got 4)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, T_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, T_, 2, 64);
    llmc_tid bias = IN(ir, "bias", LLMC_DTYPE_F32, 8, S_, S_);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v, bias), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': bias [8,S,S] does not match q [B,S,8,64] and k [B,T,2,64] (expected "
                       "[8,S,T])");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, S_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, S_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), ATTRS(llmc_attr_str("mask", "sliding_window")));
    expect_invalid(ir, "llmc: attention 'a': attr 'window' (an int) is required for mask 'sliding_window'");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, S_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, S_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v),
               ATTRS(llmc_attr_str("mask", "sliding_window"), llmc_attr_int("window", 0)));
    expect_invalid(ir, "llmc: attention 'a': attr 'window' is 0 (expected >= 1)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, S_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, S_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), ATTRS(llmc_attr_str("mask", "bidirectional")));
    expect_invalid(ir, "llmc: attention 'a': attr 'mask' is 'bidirectional' (expected none, causal or sliding_window)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F32, B_, S_, 2, 64),
    v = IN(ir, "v", LLMC_DTYPE_F32, B_, S_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, v), ATTRS(causal, llmc_attr_float("scale", 0)));
    expect_invalid(ir, "llmc: attention 'a': attr 'scale' is 0 (expected > 0)");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64), k = IN(ir, "k", LLMC_DTYPE_F16, B_, S_, 2, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, k, k), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': k dtype f16 does not match q dtype f32");

    ir = fresh();
    q = IN(ir, "q", LLMC_DTYPE_F32, B_, S_, 8, 64);
    llmc_ir_op(ir, LLMC_OP_ATTENTION, "a", TIDS(q, q), &causal, 1);
    expect_invalid(ir, "llmc: attention 'a': expects 3 to 4 inputs, got 2");
}

static void test_shape_errors_elementwise_and_rest(void **state) {
    (void)state;
    llmc_ir *ir = fresh();
    llmc_tid u = IN(ir, "u", LLMC_DTYPE_F32, B_, S_, 256);
    llmc_ir_op(ir, LLMC_OP_SWIGLU, "act", TIDS(X, u), NOATTRS);
    expect_invalid(ir, "llmc: swiglu 'act': up [B,S,256] does not match gate [B,S,512] (expected the same shape)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_GEGLU, "act", TIDS(X, X), ATTRS(llmc_attr_int("approximate", 2)));
    expect_invalid(ir, "llmc: geglu 'act': attr 'approximate' is 2 (expected 0 or 1)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SWIGLU, "act", TIDS(X, X), ATTRS(llmc_attr_int("approximate", 0)));
    expect_invalid(ir, "llmc: swiglu 'act': unknown attr 'approximate' (swiglu takes no attrs)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_ACTIVATION, "act", TIDS(X), ATTRS(llmc_attr_str("fn", "swish")));
    expect_invalid(ir, "llmc: activation 'act': attr 'fn' is 'swish' (expected gelu, gelu_tanh, relu, silu, "
                       "relu_squared or sigmoid)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_ACTIVATION, "act", TIDS(IDS), ATTRS(llmc_attr_str("fn", "relu")));
    expect_invalid(ir, "llmc: activation 'act': input [B,S] must be a float tensor (got i64)");

    ir = fresh();
    u = IN(ir, "u", LLMC_DTYPE_F32, S_, 256);
    llmc_ir_op(ir, LLMC_OP_ADD, "res", TIDS(X, u), NOATTRS);
    expect_invalid(ir, "llmc: add 'res': b [S,256] does not broadcast with a [B,S,512] (dim 1 from the end: 256 vs 512)");

    ir = fresh();
    u = IN(ir, "u", LLMC_DTYPE_F32, T_, 1);
    llmc_ir_op(ir, LLMC_OP_ADD, "res", TIDS(X, u), NOATTRS);
    expect_invalid(ir, "llmc: add 'res': b [T,1] does not broadcast with a [B,S,512] (dim 2 from the end: T vs S)");

    ir = fresh();
    u = IN(ir, "u", LLMC_DTYPE_F16, B_, S_, 512);
    llmc_ir_op(ir, LLMC_OP_MUL, "gate", TIDS(X, u), NOATTRS);
    expect_invalid(ir, "llmc: mul 'gate': b dtype f16 does not match a dtype f32");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X), ATTRS(llmc_attr_int("factor", 2)));
    expect_invalid(ir, "llmc: scale 's': attr 'factor' must be a float (got an int)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X), ATTRS(llmc_attr_float("factor", INFINITY)));
    expect_invalid(ir, "llmc: scale 's': attr 'factor' is inf (expected a finite number)");

    ir = fresh();
    llmc_tid a = IN(ir, "a", LLMC_DTYPE_F32, B_, 8, S_, 64), b = IN(ir, "b", LLMC_DTYPE_F32, B_, 8, T_, 64);
    llmc_ir_op(ir, LLMC_OP_MATMUL, "scores", TIDS(a, b), NOATTRS);
    expect_invalid(ir, "llmc: matmul 'scores': b [B,8,T,64] does not match a [B,8,S,64] (expected dim -2 of b to equal "
                       "the last dim of a, 64, got T)");

    ir = fresh();
    a = IN(ir, "a", LLMC_DTYPE_F32, B_, 8, S_, 64), b = IN(ir, "b", LLMC_DTYPE_F32, B_, 4, 64, T_);
    llmc_ir_op(ir, LLMC_OP_MATMUL, "scores", TIDS(a, b), NOATTRS);
    expect_invalid(ir, "llmc: matmul 'scores': b [B,4,64,T] does not broadcast with a [B,8,S,64] in the batch dims "
                       "(dim 3 from the end: 4 vs 8)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SOFTMAX, "sm", TIDS(X), ATTRS(llmc_attr_int("axis", 3)));
    expect_invalid(ir, "llmc: softmax 'sm': attr 'axis' is 3, out of range for input [B,S,512] (expected -3 to 2)");

    ir = fresh();
    llmc_tid ids3 = IN(ir, "ids3", LLMC_DTYPE_I32, B_, S_, 1);
    llmc_ir_op(ir, LLMC_OP_POSITIONS_LEARNED, "pos", TIDS(ids3, PARAM(ir, "table", 2048, 512)), NOATTRS);
    expect_invalid(ir, "llmc: positions_learned 'pos': ids [B,S,1] must have rank 2 (got rank 3)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_POSITIONS_SINUSOIDAL, "pos", TIDS(IDS), ATTRS(llmc_attr_int("dim", 511)));
    expect_invalid(ir, "llmc: positions_sinusoidal 'pos': attr 'dim' is 511 (expected an even size >= 2: half sines, "
                       "half cosines)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_POSITIONS_SINUSOIDAL, "pos", TIDS(IDS),
               ATTRS(llmc_attr_int("dim", 512), llmc_attr_str("dtype", "i32")));
    expect_invalid(ir, "llmc: positions_sinusoidal 'pos': attr 'dtype' is 'i32' (expected f32, f16 or bf16)");

    /* op-level problems */
    ir = fresh();
    llmc_ir_op(ir, (llmc_op_type)99, "mystery", TIDS(X), NOATTRS);
    expect_invalid(ir, "llmc: op 'mystery': unknown op type 99");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "", TIDS(X), ATTRS(llmc_attr_float("factor", 2)));
    expect_invalid(ir, "llmc: scale op name is empty");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X, X), ATTRS(llmc_attr_float("factor", 2)));
    expect_invalid(ir, "llmc: scale 's': expects 1 input, got 2");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(42), ATTRS(llmc_attr_float("factor", 2)));
    expect_invalid(ir, "llmc: scale 's': input 0 (input) is not a tensor of this graph (id 42)");

    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X), ATTRS(llmc_attr_float("factor", 2), llmc_attr_float("factor", 3)));
    expect_invalid(ir, "llmc: scale 's': attr 'factor' is given twice");
}

/* ---- error propagation and names ------------------------------------------------------------------- */

static void test_none_propagation(void **state) {
    (void)state;
    llmc_ir *ir = fresh();
    llmc_tid w = PARAM(ir, "w", 1024, 768);
    llmc_tid bad = llmc_ir_op(ir, LLMC_OP_LINEAR, "proj", TIDS(X, w), NOATTRS);
    assert_int_equal(bad, LLMC_TID_NONE);
    /* everything downstream yields NONE without a word */
    llmc_tid n = llmc_ir_op(ir, LLMC_OP_RMSNORM, "norm", TIDS(bad), ATTRS(llmc_attr_float("eps", 1e-5)));
    assert_int_equal(n, LLMC_TID_NONE);
    llmc_tid s = llmc_ir_op(ir, LLMC_OP_ADD, "res", TIDS(X, n), NOATTRS);
    assert_int_equal(s, LLMC_TID_NONE);
    assert_int_not_equal(llmc_ir_mark_output(ir, s), 0);
    /* independent mistakes are still reported */
    llmc_ir_op(ir, LLMC_OP_SCALE, "s2", TIDS(X), NOATTRS);
    assert_int_equal(llmc_ir_num_ops(ir), 0);
    expect_invalid(ir, "llmc: linear 'proj': input [B,S,512] does not match weight [1024,768] (expected last dim 768, "
                       "got 512)\n"
                       "llmc: scale 's2': attr 'factor' (a float) is required");

    /* a NONE input without any earlier error is a caller bug, and said so */
    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_LINEAR, "proj", TIDS(X, LLMC_TID_NONE), NOATTRS);
    expect_invalid(ir, "llmc: linear 'proj': input 1 (weight) is required but absent (LLMC_TID_NONE)");
    ir = fresh();
    llmc_ir_mark_output(ir, LLMC_TID_NONE);
    expect_invalid(ir, "llmc: graph output is absent (LLMC_TID_NONE)");

    /* a failed parameter propagates too */
    ir = fresh();
    llmc_tid p = PARAM(ir, "w", B_, 512);
    assert_int_equal(p, LLMC_TID_NONE);
    assert_int_equal(llmc_ir_op(ir, LLMC_OP_LINEAR, "proj", TIDS(X, p), NOATTRS), LLMC_TID_NONE);
    expect_invalid(ir, "llmc: parameter 'w': shape [B,512] has a symbolic dim (parameters need concrete sizes)");
}

static void test_names_and_declarations(void **state) {
    (void)state;
    llmc_ir *ir = fresh();
    assert_int_not_equal(PARAM(ir, "w", 4), LLMC_TID_NONE);
    assert_int_equal(PARAM(ir, "w", 4), LLMC_TID_NONE);
    assert_int_equal(IN(ir, "x", LLMC_DTYPE_F32, 4), LLMC_TID_NONE);
    expect_invalid(ir, "llmc: parameter 'w': a tensor with this name already exists\n"
                       "llmc: input 'x': a tensor with this name already exists");

    ir = fresh();
    const llmc_attr f = llmc_attr_float("factor", 2);
    assert_int_not_equal(llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X), &f, 1), LLMC_TID_NONE);
    assert_int_equal(llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X), &f, 1), LLMC_TID_NONE);
    expect_invalid(ir, "llmc: scale 's': an op with this name already exists");

    /* the output name "<op>:0" must be free */
    ir = fresh();
    IN(ir, "s:0", LLMC_DTYPE_F32, 4);
    assert_int_equal(llmc_ir_op(ir, LLMC_OP_SCALE, "s", TIDS(X), &f, 1), LLMC_TID_NONE);
    expect_invalid(ir, "llmc: scale 's': output name 's:0' is already used by another tensor");

    ir = fresh();
    IN(ir, "bad\nname", LLMC_DTYPE_F32, 4);
    IN(ir, "bad\xff", LLMC_DTYPE_F32, 4);
    assert_int_not_equal(llmc_ir_input(ir, "scalar", LLMC_DTYPE_F32, 0, NULL), LLMC_TID_NONE); /* rank 0 is fine */
    llmc_ir_input(ir, "z", LLMC_DTYPE_F32, 5, (const int64_t[]){1, 2, 3, 4, 5});
    IN(ir, "u", LLMC_DTYPE_F32, -4, 2);
    IN(ir, "dt", (llmc_dtype)17, 2);
    param_full(ir, "ids_table", LLMC_COMP_EMBEDDING, LLMC_STACK_NONE, -1, LLMC_PINIT_NORMAL, LLMC_DTYPE_I32, DIMS(4));
    param_full(ir, "lay", LLMC_COMP_MLP, LLMC_STACK_DECODER, -1, LLMC_PINIT_NORMAL, LLMC_DTYPE_F32, DIMS(4));
    param_full(ir, "lay2", LLMC_COMP_MLP, LLMC_STACK_NONE, 3, LLMC_PINIT_NORMAL, LLMC_DTYPE_F32, DIMS(4));
    llmc_param_desc pd = {"std0",           LLMC_DTYPE_F32, 1, {4}, LLMC_COMP_MLP, LLMC_STACK_NONE, -1, {LLMC_PINIT_NORMAL, 0},
                          LLMC_ROLE_MLP_UP, true,           LLMC_NORM_SITE_NONE};
    llmc_ir_param(ir, &pd);
    llmc_ir_mark_output(ir, X);
    expect_invalid(ir, "llmc: input name contains a control character ('bad\nname')\n"
                       "llmc: input name is not valid UTF-8 ('bad\xff')\n"
                       "llmc: input 'z': rank 5 is out of range (expected 0 to 4)\n"
                       "llmc: input 'u': dim 0 is -4 (expected a positive size or a symbolic dim B, S, T)\n"
                       "llmc: input 'dt': invalid dtype 17\n"
                       "llmc: parameter 'ids_table': dtype i32 is not a float type (expected f32, f16 or bf16)\n"
                       "llmc: parameter 'lay': layer -1 does not fit stack decoder (expected a layer index >= 0)\n"
                       "llmc: parameter 'lay2': layer 3 does not fit stack none (expected -1)\n"
                       "llmc: parameter 'std0': init std 0 is invalid (expected a finite value > 0)\n"
                       "llmc: tensor 'x' is marked as a graph output twice");

    /* meta */
    ir = fresh();
    assert_int_equal(llmc_ir_set_meta(ir, "k", "v1"), 0);
    assert_int_equal(llmc_ir_set_meta(ir, "k", "v2"), 0);
    assert_string_equal(llmc_ir_get_meta(ir, "k"), "v2");
    assert_int_not_equal(llmc_ir_set_meta(ir, "", "v"), 0);
    assert_int_not_equal(llmc_ir_set_meta(ir, "k2", NULL), 0);
    expect_invalid(ir, "llmc: meta key '' is empty\nllmc: meta 'k2': value is missing");

    /* no outputs */
    ir = llmc_ir_create();
    expect_invalid(ir, "llmc: the graph has no outputs (mark at least one with llmc_ir_mark_output)\n"
                       "llmc: the graph declares no structure (a template sets decoder_only or encoder_decoder with "
                       "llmc_ir_set_structure)");
    expect_invalid(NULL, "llmc: no graph to validate");
}

/* ---- raw construction: producers, cycles, topological order -------------------------------------------- */

static void test_raw_structure(void **state) {
    (void)state;
    const llmc_attr f = llmc_attr_float("factor", 2);
    /* a declared value nobody writes */
    llmc_ir *ir = fresh();
    llmc_ir_value(ir, "orphan", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    expect_invalid(ir, "llmc: value 'orphan' is not produced by any op");

    /* ops may not write inputs, parameters or already-written values */
    ir = fresh();
    llmc_tid v = llmc_ir_value(ir, "v", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    llmc_tid w = PARAM(ir, "w", 4);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "a", TIDS(X), TIDS(v), &f, 1), 0);
    assert_int_not_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "b", TIDS(X), TIDS(v), &f, 1), 0);
    assert_int_not_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "c", TIDS(X), TIDS(X), &f, 1), 0);
    assert_int_not_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "d", TIDS(X), TIDS(w), &f, 1), 0);
    assert_int_not_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "e", TIDS(X), TIDS(v, v), &f, 1), 0);
    assert_int_equal(llmc_ir_num_ops(ir), 1);
    expect_invalid(ir, "llmc: scale 'b': output 0 'v' is already produced by op 'a'\n"
                       "llmc: scale 'c': output 0 'x' is a graph input and cannot be produced by an op\n"
                       "llmc: scale 'd': output 0 'w' is a parameter and cannot be produced by an op\n"
                       "llmc: scale 'e': expects 1 output, got 2");

    /* a raw op whose recorded output disagrees with inference */
    ir = fresh();
    v = llmc_ir_value(ir, "v", LLMC_DTYPE_F32, DIMS(B_, S_, 256));
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "a", TIDS(X), TIDS(v), &f, 1), 0);
    expect_invalid(ir, "llmc: scale 'a': output 'v' is recorded as [B,S,256] f32 but the op gives [B,S,512] f32");

    /* a raw op with a required input missing is caught by validation */
    ir = fresh();
    v = llmc_ir_value(ir, "v", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_LINEAR, "l", TIDS(X, LLMC_TID_NONE), TIDS(v), NULL, 0), 0);
    expect_invalid(ir, "llmc: linear 'l': input 1 (weight) is required but absent");
}

static void test_cycles(void **state) {
    (void)state;
    const llmc_attr f = llmc_attr_float("factor", 2);
    /* first: a -> b, second: b -> a */
    llmc_ir *ir = fresh();
    llmc_tid a = llmc_ir_value(ir, "a", LLMC_DTYPE_F32, DIMS(4));
    llmc_tid b = llmc_ir_value(ir, "b", LLMC_DTYPE_F32, DIMS(4));
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "first", TIDS(a), TIDS(b), &f, 1), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "second", TIDS(b), TIDS(a), &f, 1), 0);
    int32_t order[8];
    llmc_diags *d = llmc_diags_create();
    assert_int_not_equal(llmc_ir_topo_order(ir, order, d), 0);
    char *got = test_all_diags(d);
    assert_string_equal(got, "llmc: scale 'first' is on a cycle: 'first' -> 'second' -> 'first'");
    free(got);
    llmc_diags_free(d);
    expect_invalid(ir, "llmc: scale 'first' is on a cycle: 'first' -> 'second' -> 'first'");

    /* an op reading its own output */
    ir = fresh();
    a = llmc_ir_value(ir, "a", LLMC_DTYPE_F32, DIMS(4));
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "self", TIDS(a), TIDS(a), &f, 1), 0);
    expect_invalid(ir, "llmc: scale 'self' is on a cycle: 'self' -> 'self'");

    /* the first stuck op ("tail") only hangs off the cycle: the op named must be on it */
    ir = fresh();
    llmc_tid c = llmc_ir_value(ir, "c", LLMC_DTYPE_F32, DIMS(4));
    llmc_tid t = llmc_ir_value(ir, "t", LLMC_DTYPE_F32, DIMS(4));
    a = llmc_ir_value(ir, "a", LLMC_DTYPE_F32, DIMS(4));
    b = llmc_ir_value(ir, "b", LLMC_DTYPE_F32, DIMS(4));
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "tail", TIDS(c), TIDS(t), &f, 1), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_ADD, "p", TIDS(X, b), TIDS(a), NULL, 0), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "q", TIDS(a), TIDS(b), &f, 1), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "r", TIDS(b), TIDS(c), &f, 1), 0);
    expect_invalid(ir, "llmc: scale 'q' is on a cycle: 'q' -> 'p' -> 'q'");

    /* a long cycle is abbreviated */
    ir = fresh();
    llmc_tid vals[12];
    for (int i = 0; i < 12; i++) {
        char name[8];
        snprintf(name, sizeof name, "v%d", i);
        vals[i] = llmc_ir_value(ir, name, LLMC_DTYPE_F32, DIMS(4));
    }
    for (int i = 0; i < 12; i++) {
        char name[8];
        snprintf(name, sizeof name, "op%d", i);
        assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, name, TIDS(vals[i]), TIDS(vals[(i + 1) % 12]), &f, 1), 0);
    }
    expect_invalid(ir, "llmc: scale 'op0' is on a cycle: 'op0' -> ... (a cycle of 12 ops) -> 'op0'");
}

static void test_topo_order(void **state) {
    (void)state;
    const llmc_attr f = llmc_attr_float("factor", 2);
    /* inserted as C (needs B), B (needs A), A, D: Kahn with the lowest ready index first */
    llmc_ir *ir = fresh();
    llmc_tid a = llmc_ir_value(ir, "a", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    llmc_tid b = llmc_ir_value(ir, "b", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    llmc_tid c = llmc_ir_value(ir, "c", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    llmc_tid d = llmc_ir_value(ir, "d", LLMC_DTYPE_F32, DIMS(B_, S_, 512));
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_ADD, "C", TIDS(b, a), TIDS(c), NULL, 0), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "B", TIDS(a), TIDS(b), &f, 1), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "A", TIDS(X), TIDS(a), &f, 1), 0);
    assert_int_equal(llmc_ir_op_raw(ir, LLMC_OP_SCALE, "D", TIDS(X), TIDS(d), &f, 1), 0);
    assert_int_equal(llmc_ir_mark_output(ir, c), 0);
    assert_int_equal(llmc_ir_mark_output(ir, d), 0);
    int32_t order[4];
    llmc_diags *dg = llmc_diags_create();
    assert_int_equal(llmc_ir_topo_order(ir, order, dg), 0);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 0);
    assert_int_equal(order[3], 3);
    /* out of insertion order, but consistent: valid */
    assert_int_equal(llmc_ir_validate(ir, dg), 0);
    assert_int_equal(llmc_diags_size(dg), 0);
    llmc_diags_free(dg);
    llmc_ir_free(ir);
}

/* ---- ir.json ------------------------------------------------------------------------------------------- */

static char *round_trip(const char *text, const char *name) {
    llmc_diags *d = llmc_diags_create();
    llmc_ir *ir = llmc_ir_from_json(text, strlen(text), name, d);
    if (!ir) {
        char *got = test_all_diags(d);
        fail_msg("%s does not read back:\n%s", name, got);
    }
    assert_int_equal(llmc_diags_size(d), 0);
    char *again = llmc_ir_to_json(ir);
    assert_non_null(again);
    llmc_ir_free(ir);
    llmc_diags_free(d);
    return again;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void test_json_round_trip(void **state) {
    (void)state;
    char dir[] = LLMC_BINARY_DIR "/test_ir_json";
    mkdir(dir, 0755);
    struct {
        const char *file;
        llmc_ir *ir;
    } graphs[] = {{"llama_tied.json", build_llama(true)}, {"llama_untied.json", build_llama(false)},
                  {"zoo.json", build_zoo()}};
    for (size_t g = 0; g < sizeof graphs / sizeof *graphs; g++) {
        char *first = llmc_ir_to_json(graphs[g].ir);
        assert_non_null(first);
        char *second = round_trip(first, graphs[g].file);
        if (strcmp(first, second) != 0) fail_msg("round trip of %s differs", graphs[g].file);
        /* the same graph, read back, counts the same */
        llmc_diags *d = llmc_diags_create();
        llmc_ir *back = llmc_ir_from_json(first, strlen(first), graphs[g].file, d);
        llmc_param_count c1, c2;
        assert_int_equal(llmc_ir_count_params(graphs[g].ir, &c1, d), 0);
        assert_int_equal(llmc_ir_count_params(back, &c2, d), 0);
        assert_memory_equal(&c1, &c2, sizeof c1);
        assert_int_equal(llmc_ir_num_tensors(back), llmc_ir_num_tensors(graphs[g].ir));
        assert_int_equal(llmc_ir_num_ops(back), llmc_ir_num_ops(graphs[g].ir));
        /* written for the fuzz seed corpus (tests/fuzz/corpus/fuzz_ir) and for a look by eye */
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, graphs[g].file);
        write_text(path, first);
        llmc_ir *loaded = llmc_ir_load_json_file(path, d);
        assert_non_null(loaded);
        assert_int_equal(llmc_diags_size(d), 0);
        llmc_ir_free(loaded);
        llmc_ir_free(back);
        llmc_diags_free(d);
        free(first);
        free(second);
    }
    /* a few exact fragments of the format */
    char *text = llmc_ir_to_json(graphs[0].ir);
    const char *head = "{\n  \"format_version\": 2,\n  \"structure\": \"decoder_only\",\n  \"meta\": {\n    "
                       "\"template\": \"decoder_only\",\n";
    assert_true(strncmp(text, head, strlen(head)) == 0);
    assert_non_null(strstr(text, "    {\n      \"name\": \"input_ids\",\n      \"kind\": \"input\",\n      \"dtype\": "
                                 "\"i64\",\n      \"shape\": [\n        \"B\",\n        \"S\"\n      ]\n    },"));
    assert_non_null(strstr(text, "\"name\": \"model.norm.weight\",\n      \"kind\": \"param\",\n      \"dtype\": \"f32\",\n"
                                 "      \"shape\": [\n        64\n      ],\n      \"component\": \"norm\",\n      "
                                 "\"stack\": \"none\",\n      \"layer\": null,\n      \"init\": {\n        \"kind\": "
                                 "\"ones\",\n        \"std\": 0.0\n      }"));
    assert_non_null(strstr(text, "\"inputs\": [\n        \"model.norm:0\",\n        \"model.embed_tokens.weight\",\n"
                                 "        null\n      ],"));
    assert_non_null(strstr(text, "\"eps\": 1e-5"));
    assert_non_null(strstr(text, "\"theta\": 10000.0"));
    assert_non_null(strstr(text, "\"std\": 0.02"));
    assert_non_null(strstr(text, "\"outputs\": [\n    \"lm_head:0\"\n  ]\n}"));
    free(text);
    text = llmc_ir_to_json(graphs[2].ir);
    assert_non_null(strstr(text, "\"note\": \"quotes \\\" and \\\\ backslashes, tabs\\t, ünïcödé\""));
    assert_non_null(strstr(text, "\"theta\": 500000.0"));
    assert_non_null(strstr(text, "\"k_len_sym\": -2"));
    assert_non_null(strstr(text, "\"shape\": [\n          -1,\n          -2,\n          4,\n          8\n        ]"));
    free(text);
    for (size_t g = 0; g < sizeof graphs / sizeof *graphs; g++) llmc_ir_free(graphs[g].ir);

    /* every valid seed in the fuzz corpus reads back to itself */
    DIR *dd = opendir(LLMC_SOURCE_DIR "/tests/fuzz/corpus/fuzz_ir");
    if (dd) {
        struct dirent *e;
        while ((e = readdir(dd))) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".json") || !strncmp(e->d_name, "bad_", 4)) continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", LLMC_SOURCE_DIR "/tests/fuzz/corpus/fuzz_ir", e->d_name);
            char *seed = read_text(path);
            char *back = round_trip(seed, e->d_name);
            if (strcmp(seed, back) != 0) fail_msg("seed %s does not read back to itself", e->d_name);
            free(seed);
            free(back);
        }
        closedir(dd);
    }
}

static const char base_json[] =
    "{\"format_version\": 2, \"meta\": {\"template\": \"t\"}, \"tensors\": [\n"
    " {\"name\": \"x\", \"kind\": \"input\", \"dtype\": \"f32\", \"shape\": [\"B\", \"S\", 8]},\n"
    " {\"name\": \"w\", \"kind\": \"param\", \"dtype\": \"f32\", \"shape\": [4, 8], \"component\": \"attention\",\n"
    "  \"stack\": \"none\", \"layer\": null, \"init\": {\"kind\": \"normal\", \"std\": 0.02}, \"role\": \"attn_q\",\n"
    "  \"is_bias\": false, \"norm_site\": \"none\"},\n"
    " {\"name\": \"l:0\", \"kind\": \"value\", \"dtype\": \"f32\", \"shape\": [\"B\", \"S\", 4]}],\n"
    " \"ops\": [{\"type\": \"linear\", \"name\": \"l\", \"inputs\": [\"x\", \"w\", null], \"outputs\": [\"l:0\"], "
    "\"attrs\": {},\n"
    "  \"scope\": {\"stack\": \"none\", \"layer\": null, \"role\": \"none\"}}],\n"
    " \"outputs\": [\"l:0\"], \"structure\": \"decoder_only\", \"blocks\": []}\n";

/* base_json with one replacement; the result must be refused with exactly want */
static void expect_json_error(const char *from, const char *to, const char *want) {
    const char *at = strstr(base_json, from);
    if (!at) fail_msg("'%s' not in the base document", from);
    size_t n = strlen(base_json) - strlen(from) + strlen(to) + 1;
    char *text = malloc(n);
    snprintf(text, n, "%.*s%s%s", (int)(at - base_json), base_json, to, at + strlen(from));
    llmc_diags *d = llmc_diags_create();
    llmc_ir *ir = llmc_ir_from_json(text, strlen(text), "ir.json", d);
    char *got = test_all_diags(d);
    if (ir || strcmp(got, want) != 0)
        fail_msg("document:\n%s\n--- got (%s):\n%s\n--- want:\n%s", text, ir ? "read" : "refused", got, want);
    free(got);
    free(text);
    llmc_diags_free(d);
}

static void test_json_reader_errors(void **state) {
    (void)state;
    /* the base document itself is fine */
    llmc_diags *d = llmc_diags_create();
    llmc_ir *ir = llmc_ir_from_json(base_json, strlen(base_json), "ir.json", d);
    assert_non_null(ir);
    assert_int_equal(llmc_diags_size(d), 0);
    assert_string_equal(llmc_ir_get_meta(ir, "template"), "t");
    llmc_ir_free(ir);
    llmc_diags_free(d);

    /* malformed */
    expect_json_error("\"tensors\": [", "\"tensors\": [,", "ir.json:1:62: invalid JSON: unexpected token near ','");
    expect_json_error("\"blocks\": []}", "\"blocks\": []",
                      "ir.json:10:1: invalid JSON: '}' expected near end of file");
    expect_json_error("\"name\": \"x\", \"kind\"", "\"name\": \"x\", \"name\": \"y\", \"kind\"",
                      "ir.json:2:21: invalid JSON: duplicate object key near '\"name\"'");
    expect_json_error("[4, 8]", "[4, 99999999999999999999]", "ir.json:3:81: invalid JSON: too big integer near "
                                                           "'99999999999999999999'");
    /* wrong types */
    expect_json_error("\"tensors\": [", "\"tensors\": {}, \"x\": [", "ir.json: unknown key 'x' (expected format_version, "
                                                                     "structure, meta, blocks, tensors, ops, outputs)");
    expect_json_error("{\"format_version\": 2,", "{\"format_version\": \"2\",",
                      "ir.json: format_version: expected an integer, got a string");
    expect_json_error("{\"format_version\": 2,", "{\"format_version\": 3,",
                      "ir.json: format_version: unsupported version 3 (expected 2)");
    expect_json_error("\"meta\": {\"template\": \"t\"}", "\"meta\": {\"template\": 7}",
                      "ir.json: meta.template: expected a string, got an integer");
    expect_json_error("\"name\": \"x\"", "\"name\": 12", "ir.json: tensors[0].name: expected a string, got an integer");
    expect_json_error("\"name\": \"x\"", "\"nmae\": \"x\"", "ir.json: tensors[0]: unknown key 'nmae' (did you mean 'name'?)");
    expect_json_error("\"kind\": \"input\", \"dtype\": \"f32\"", "\"dtype\": \"f32\"",
                      "ir.json: tensors[0]: missing key 'kind'");
    expect_json_error("\"kind\": \"input\"", "\"kind\": \"constant\"",
                      "ir.json: tensors[0].kind: unknown tensor kind 'constant' (expected input, param or value)");
    /* bad dtype, bad shapes */
    expect_json_error("\"dtype\": \"f32\", \"shape\": [\"B\", \"S\", 8]", "\"dtype\": \"f64\", \"shape\": [\"B\", \"S\", 8]",
                      "ir.json: tensors[0].dtype: unknown dtype 'f64' (expected f32, f16, bf16, i32, i64 or bool)");
    expect_json_error("[\"B\", \"S\", 8]", "[\"B\", \"S\", 8, 1, 1]", "ir.json: tensors[0].shape: rank 5 exceeds the "
                                                                       "maximum 4");
    expect_json_error("[\"B\", \"S\", 8]", "[\"B\", \"S\", 0]",
                      "ir.json: tensors[0].shape[2]: dim 0 is invalid (expected a positive size or \"B\", \"S\", \"T\")");
    expect_json_error("[\"B\", \"S\", 8]", "[\"B\", \"Q\", 8]",
                      "ir.json: tensors[0].shape[1]: expected a positive integer or \"B\", \"S\", \"T\", got a string "
                      "'Q'");
    expect_json_error("[\"B\", \"S\", 8]", "[\"B\", \"S\", 8.0]",
                      "ir.json: tensors[0].shape[2]: expected a positive integer or \"B\", \"S\", \"T\", got a real");
    expect_json_error("\"shape\": [4, 8]", "\"shape\": [\"B\", 8]",
                      "ir.json: tensors[1]: parameter 'w': shape [B,8] has a symbolic dim (parameters need concrete "
                      "sizes)");
    expect_json_error("[\"B\", \"S\", 8]}", "[\"B\", \"S\", 8], \"layer\": 0}",
                      "ir.json: tensors[0]: key 'layer' is only allowed on parameters (this is an input)");
    expect_json_error("\"layer\": null", "\"layer\": -1", "ir.json: tensors[1].layer: layer -1 is out of range (expected 0 "
                                                          "to 2147483647, or null)");
    expect_json_error("\"std\": 0.02", "\"std\": \"0.02\"", "ir.json: tensors[1].init.std: expected a number, got a string");
    expect_json_error("\"name\": \"w\"", "\"name\": \"x\"", "ir.json: tensors[1]: parameter 'x': a tensor with this name "
                                                            "already exists");
    /* references */
    expect_json_error("[\"x\", \"w\", null]", "[\"x\", \"foo\", null]", "ir.json: ops[0].inputs[1]: unknown tensor 'foo'");
    expect_json_error("[\"x\", \"w\", null]", "[\"x\", \"w\", 3]",
                      "ir.json: ops[0].inputs[2]: expected a tensor name or null, got an integer");
    expect_json_error("[\"x\", \"w\", null]", "[\"x\", \"w\", null, null, null, null]",
                      "ir.json: ops[0].inputs: 6 inputs is more than any op takes (at most 5)");
    expect_json_error("[\"x\", \"w\", null]", "[\"x\", \"w\", null, null]", "ir.json: ops[0]: linear 'l': expects 2 to 3 "
                                                                            "inputs, got 4");
    expect_json_error("\"outputs\": [\"l:0\"], \"attrs\"", "\"outputs\": [\"x\"], \"attrs\"",
                      "ir.json: ops[0]: linear 'l': output 0 'x' is a graph input and cannot be produced by an op");
    expect_json_error("\n \"outputs\": [\"l:0\"],", "\n \"outputs\": [\"nope\"],", "ir.json: outputs[0]: unknown tensor 'nope'");
    expect_json_error("\"type\": \"linear\"", "\"type\": \"lineer\"",
                      "ir.json: ops[0].type: unknown op type 'lineer' (did you mean 'linear'?)");
    expect_json_error("\"attrs\": {}", "\"attrs\": {\"x\": true}",
                      "ir.json: ops[0].attrs.x: expected an integer, real, string or list of integers, got true");
    expect_json_error("\"attrs\": {}", "\"attrs\": {\"x\": [1, 2.5]}", "ir.json: ops[0].attrs.x[1]: expected an integer, "
                                                                       "got a real");
    /* whole-graph validation, located at the op */
    expect_json_error("\"attrs\": {}", "\"attrs\": {\"eps\": 1e-5}",
                      "ir.json: ops[0]: linear 'l': unknown attr 'eps' (linear takes no attrs)");
    expect_json_error("[\"B\", \"S\", 4]", "[\"B\", \"S\", 5]",
                      "ir.json: ops[0]: linear 'l': output 'l:0' is recorded as [B,S,5] f32 but the op gives [B,S,4] f32");
    expect_json_error("\n \"outputs\": [\"l:0\"],", "\n \"outputs\": [],",
                      "ir.json: the graph has no outputs (mark at least one with llmc_ir_mark_output)");

    /* format 2: roles, scopes, blocks, structure */
    expect_json_error("\"format_version\": 2", "\"format_version\": 1",
                      "ir.json: format_version: ir.json format 1 (llmc before plugin ABI 2) has no parameter roles, op "
                      "scopes or block descriptors, which backends now read; compile the spec again with this llmc to "
                      "get format 2");
    expect_json_error("\"role\": \"attn_q\"", "\"role\": \"none\"",
                      "ir.json: tensors[1]: parameter 'w' has no role (every parameter needs one: set "
                      "llmc_param_desc.role, e.g. attn_q, mlp_down, norm)");
    expect_json_error("\"role\": \"attn_q\"", "\"role\": \"mlp_down\"",
                      "ir.json: tensors[1]: parameter 'w': role mlp_down belongs to component mlp (got attention)");
    expect_json_error("\"role\": \"attn_q\"", "\"role\": \"atn_q\"",
                      "ir.json: tensors[1].role: unknown parameter role 'atn_q' (did you mean 'attn_q'?)");
    expect_json_error("\"is_bias\": false", "\"is_bias\": true",
                      "ir.json: tensors[1]: parameter 'w': a attn_q bias has rank 1 (got rank 2)");
    expect_json_error("\"norm_site\": \"none\"", "\"norm_site\": \"final\"",
                      "ir.json: tensors[1]: parameter 'w': only norm parameters have a norm site (role attn_q, norm "
                      "site final)");
    expect_json_error("\"structure\": \"decoder_only\"", "\"structure\": \"unset\"",
                      "ir.json: the graph declares no structure (a template sets decoder_only or encoder_decoder "
                      "with llmc_ir_set_structure)");
    expect_json_error("\"stack\": \"none\", \"layer\": null, \"role\": \"none\"",
                      "\"stack\": \"decoder\", \"layer\": 3, \"role\": \"mlp\"",
                      "ir.json: ops[0]: op 'l': block decoder 3 has no descriptor (declare it with llmc_ir_add_block)");
    expect_json_error("\"blocks\": []", "\"blocks\": [{\"stack\": \"decoder\", \"layer\": 0, \"residual\": "
                      "\"parallel\", \"norm_placement\": \"pre\", \"self_attention\": true, \"cross_attention\": "
                      "false, \"mlp\": false}]",
                      "ir.json: block decoder 0: parallel residual wiring needs self-attention and an MLP");

    /* top level and odd inputs */
    d = llmc_diags_create();
    assert_null(llmc_ir_from_json("[]", 2, "ir.json", d));
    assert_null(llmc_ir_from_json("", 0, NULL, d));
    assert_null(llmc_ir_from_json(NULL, 0, "ir.json", d));
    assert_null(llmc_ir_load_json_file("/nonexistent/ir.json", d));
    char *got = test_all_diags(d);
    assert_string_equal(got, "ir.json: expected a JSON object at the top level, got an array\n"
                             "<string>:1:1: invalid JSON: '[' or '{' expected near end of file\n"
                             "ir.json: no text to read\n"
                             "/nonexistent/ir.json: cannot read: No such file or directory");
    free(got);
    llmc_diags_free(d);
}

/* ---- DOT ------------------------------------------------------------------------------------------------ */

static char *dot_of(const llmc_ir *ir) {
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(llmc_ir_write_dot(ir, f), 0);
    long n = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

static void test_dot(void **state) {
    (void)state;
    llmc_ir *ir = build_llama(true);
    char *text = dot_of(ir);
    assert_true(strncmp(text, "digraph llmc_ir {\n", 18) == 0);
    assert_non_null(strstr(text, "subgraph cluster_decoder_0 {\n    label=\"decoder layer 0\";"));
    assert_non_null(strstr(text, "subgraph cluster_decoder_1 {"));
    assert_non_null(strstr(text, "shape=ellipse, label=\"model.layers.1.mlp.down_proj.weight\\n[64,176] f32\""));
    assert_non_null(strstr(text, "[shape=box, label=\"model.layers.0.self_attn.attention\\nattention\"]"));
    assert_non_null(strstr(text, "[shape=doubleoctagon, label=\"lm_head:0\"]"));
    assert_non_null(strstr(text, "[label=\"[B,S,256]\"]"));
    assert_int_equal(text[strlen(text) - 2], '}');
    /* the attention op sits inside its layer's cluster (it has no parameters of its own) */
    const char *cl1 = strstr(text, "subgraph cluster_decoder_1 {");
    const char *att1 = strstr(text, "label=\"model.layers.1.self_attn.attention\\nattention\"");
    const char *end1 = cl1 ? strstr(cl1, "\n  }\n") : NULL;
    assert_true(cl1 && att1 && end1 && cl1 < att1 && att1 < end1);
    /* the final norm and the head read parameters outside any stack: outside the clusters */
    const char *fnorm = strstr(text, "label=\"model.norm\\nrmsnorm\"");
    const char *first_cluster = strstr(text, "subgraph cluster_");
    assert_true(fnorm && first_cluster && fnorm < first_cluster);
    free(text);
    llmc_ir_free(ir);

    /* names with quotes and backslashes are escaped */
    ir = fresh();
    llmc_ir_op(ir, LLMC_OP_SCALE, "say \"hi\" \\o/", TIDS(X), ATTRS(llmc_attr_float("factor", 2)));
    text = dot_of(ir);
    assert_non_null(strstr(text, "label=\"say \\\"hi\\\" \\\\o/\\nscale\""));
    free(text);
    llmc_ir_free(ir);

    /* when graphviz is installed, it must accept what we write */
    if (system("command -v dot >/dev/null 2>&1") == 0) {
        const llmc_ir *graphs[2];
        llmc_ir *g1 = build_zoo(), *g2 = fresh();
        llmc_ir_op(g2, LLMC_OP_SCALE, "say \"hi\" \\o/", TIDS(X), ATTRS(llmc_attr_float("factor", 2)));
        graphs[0] = g1;
        graphs[1] = g2;
        for (int i = 0; i < 2; i++) {
            char path[] = LLMC_BINARY_DIR "/test_ir_dot.dot";
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            assert_int_equal(llmc_ir_write_dot(graphs[i], f), 0);
            fclose(f);
            assert_int_equal(system("dot -Tsvg " LLMC_BINARY_DIR "/test_ir_dot.dot -o /dev/null"), 0);
            remove(path);
        }
        llmc_ir_free(g1);
        llmc_ir_free(g2);
    } else {
        print_message("graphviz 'dot' not installed: DOT text checked, rendering not\n");
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_tables),
        cmocka_unit_test(test_llama_builds_and_validates),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_numel_overflow),
        cmocka_unit_test(test_shape_errors_embedding_linear_norms),
        cmocka_unit_test(test_shape_errors_reshape_rope_alibi_relative),
        cmocka_unit_test(test_shape_errors_attention),
        cmocka_unit_test(test_shape_errors_elementwise_and_rest),
        cmocka_unit_test(test_none_propagation),
        cmocka_unit_test(test_names_and_declarations),
        cmocka_unit_test(test_raw_structure),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_topo_order),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_reader_errors),
        cmocka_unit_test(test_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
