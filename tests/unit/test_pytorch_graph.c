/* The pytorch emitter's generic decoder (plugins/emitters/pytorch/pt_graph.c): which graphs get
 * the built-in module trees, the tables it writes for a graph built here by hand, and the graphs
 * it refuses, each with the message naming what the package cannot compute. (The package's
 * numerics are tested end to end by tests/python/test_foreign_templates_pytorch.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/emitters/pytorch/pt_text.c"
#include "../../plugins/emitters/pytorch/pt_graph.c"
#include "testutil.h"

/* pt_text.c looks templates up here; these tests render none */
const llmc_embedded_file pt_templates[] = {{"unused", "", 0}};
const size_t pt_templates_count = 1;

#define H 8
#define V 16

static const char *SPEC = "name: t\ntemplate: x\nvocab_size: 16\ncontext_length: 32\nnorm: layernorm\n"
                          "activation: gelu\npositional_encoding: rope\ndims: {num_layers: 1, hidden_size: 8, num_heads: 2}\n";

/* what to get wrong in the graph */
typedef struct variant {
    llmc_residual residual;
    llmc_norm_placement placement;
    const char *rope_style;
    bool cross_attention;      /* declare a cross-attention sub-layer */
    bool stray_param;          /* a parameter no role slot of the block takes */
    bool encdec;
    bool embedding_scale;      /* a SCALE op after the embedding */
    const char *embed_name;
} variant;

static llmc_tid param(llmc_ir *ir, const char *name, int64_t r, int64_t c, llmc_component comp, int layer,
                      llmc_param_role role, bool bias, llmc_norm_site site) {
    llmc_param_desc p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.dtype = LLMC_DTYPE_F32;
    p.rank = c ? 2 : 1;
    p.shape[0] = r;
    p.shape[1] = c;
    p.component = comp;
    p.stack = layer >= 0 ? LLMC_STACK_DECODER : LLMC_STACK_NONE;
    p.layer = layer;
    p.init.kind = LLMC_PINIT_NORMAL;
    p.init.std = 0.02;
    p.role = role;
    p.is_bias = bias;
    p.norm_site = site;
    return llmc_ir_param(ir, &p);
}

static llmc_tid lin(llmc_ir *ir, llmc_tid x, const char *name, int64_t out, int64_t in, llmc_component comp,
                    llmc_param_role role) {
    char w[64];
    snprintf(w, sizeof w, "%s.weight", name);
    llmc_tid in2[2] = {x, param(ir, w, out, in, comp, 0, role, false, LLMC_NORM_SITE_NONE)};
    return llmc_ir_op(ir, LLMC_OP_LINEAR, name, in2, 2, NULL, 0);
}

static llmc_tid norm(llmc_ir *ir, llmc_tid x, const char *name, int layer, llmc_norm_site site) {
    char w[64];
    snprintf(w, sizeof w, "%s.weight", name);
    llmc_ir_set_scope(ir, layer >= 0 ? LLMC_STACK_DECODER : LLMC_STACK_NONE, layer, LLMC_OPROLE_NORM);
    llmc_tid in[2] = {x, param(ir, w, H, 0, LLMC_COMP_NORM, layer, LLMC_ROLE_NORM, false, site)};
    llmc_attr eps = llmc_attr_float("eps", 1e-5);
    return llmc_ir_op(ir, LLMC_OP_LAYERNORM, name, in, 2, &eps, 1);
}

static llmc_tid reshape(llmc_ir *ir, llmc_tid x, const char *name, int64_t a, int64_t c) {
    llmc_attr shape = {0};
    shape.key = "shape";
    shape.type = LLMC_ATTR_INTS;
    shape.ints[0] = LLMC_SYM_BATCH;
    shape.ints[1] = LLMC_SYM_SEQ;
    shape.ints[2] = a;
    shape.ints[3] = c;
    shape.n_ints = c ? 4 : 3;
    return llmc_ir_op(ir, LLMC_OP_RESHAPE, name, &x, 1, &shape, 1);
}

static llmc_tid add(llmc_ir *ir, const char *name, llmc_tid a, llmc_tid b) {
    llmc_tid in[2] = {a, b};
    return llmc_ir_op(ir, LLMC_OP_ADD, name, in, 2, NULL, 0);
}

/* one block: attention (2 heads of 4, rope) and a gelu MLP, wired as the variant says */
static llmc_ir *build(const variant *v) {
    llmc_ir *ir = llmc_ir_create();
    llmc_ir_set_structure(ir, v->encdec ? LLMC_STRUCTURE_ENCODER_DECODER : LLMC_STRUCTURE_DECODER_ONLY);
    llmc_ir_block blk = {LLMC_STACK_DECODER, 0, v->residual, v->placement, true, v->cross_attention, true};
    llmc_ir_add_block(ir, &blk);
    int64_t ids_shape[2] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ};
    llmc_tid ids = llmc_ir_input(ir, "input_ids", LLMC_DTYPE_I64, 2, ids_shape);
    llmc_ir_set_scope(ir, LLMC_STACK_NONE, -1, LLMC_OPROLE_EMBEDDING);
    llmc_tid emb = param(ir, v->embed_name ? v->embed_name : "tok.weight", V, H, LLMC_COMP_EMBEDDING, -1,
                         LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE);
    llmc_tid in2[2] = {ids, emb};
    llmc_tid h = llmc_ir_op(ir, LLMC_OP_EMBEDDING, "tok", in2, 2, NULL, 0);
    if (v->embedding_scale) {
        llmc_attr f = llmc_attr_float("factor", 2.0);
        h = llmc_ir_op(ir, LLMC_OP_SCALE, "tok.scale", &h, 1, &f, 1);
    }
    bool pre = v->placement == LLMC_NORM_PLACEMENT_PRE;
    bool par = v->residual == LLMC_RESIDUAL_PARALLEL;
    llmc_tid x = pre ? norm(ir, h, "b.ln_in", 0, par ? LLMC_NORM_SITE_BLOCK_INPUT : LLMC_NORM_SITE_ATTN_INPUT) : h;
    llmc_ir_set_scope(ir, LLMC_STACK_DECODER, 0, LLMC_OPROLE_SELF_ATTENTION);
    llmc_tid q = reshape(ir, lin(ir, x, "b.q", H, H, LLMC_COMP_ATTENTION, LLMC_ROLE_ATTN_Q), "b.qh", 2, 4);
    llmc_tid k = reshape(ir, lin(ir, x, "b.k", H, H, LLMC_COMP_ATTENTION, LLMC_ROLE_ATTN_K), "b.kh", 2, 4);
    llmc_tid vv = reshape(ir, lin(ir, x, "b.v", H, H, LLMC_COMP_ATTENTION, LLMC_ROLE_ATTN_V), "b.vh", 2, 4);
    llmc_attr rope[2] = {llmc_attr_float("theta", 10000.0), llmc_attr_str("style", v->rope_style ? v->rope_style : "neox")};
    q = llmc_ir_op(ir, LLMC_OP_ROPE, "b.qr", &q, 1, rope, 2);
    k = llmc_ir_op(ir, LLMC_OP_ROPE, "b.kr", &k, 1, rope, 2);
    llmc_attr at[2] = {llmc_attr_str("mask", "causal"), llmc_attr_float("scale", 0.5)};
    llmc_tid qkv[3] = {q, k, vv};
    llmc_tid a = reshape(ir, llmc_ir_op(ir, LLMC_OP_ATTENTION, "b.att", qkv, 3, at, 2), "b.merge", H, 0);
    a = lin(ir, a, "b.o", H, H, LLMC_COMP_ATTENTION, LLMC_ROLE_ATTN_O);
    if (!par) {
        llmc_ir_set_scope(ir, LLMC_STACK_DECODER, 0, LLMC_OPROLE_RESIDUAL);
        h = add(ir, "b.res1", h, a);
        if (!pre) h = norm(ir, h, "b.ln_post1", 0, LLMC_NORM_SITE_POST_ATTN);
        x = pre ? norm(ir, h, "b.ln_mlp", 0, LLMC_NORM_SITE_MLP_INPUT) : h;
    }
    llmc_ir_set_scope(ir, LLMC_STACK_DECODER, 0, LLMC_OPROLE_MLP);
    llmc_tid u = lin(ir, x, "b.up", 4 * H, H, LLMC_COMP_MLP, LLMC_ROLE_MLP_UP);
    llmc_attr fn = llmc_attr_str("fn", "gelu");
    u = llmc_ir_op(ir, LLMC_OP_ACTIVATION, "b.act", &u, 1, &fn, 1);
    llmc_tid m = lin(ir, u, "b.down", H, 4 * H, LLMC_COMP_MLP, LLMC_ROLE_MLP_DOWN);
    llmc_ir_set_scope(ir, LLMC_STACK_DECODER, 0, LLMC_OPROLE_RESIDUAL);
    h = par ? add(ir, "b.res", h, add(ir, "b.sum", a, m)) : add(ir, "b.res2", h, m);
    if (!pre) h = norm(ir, h, par ? "b.ln_post" : "b.ln_post2", 0, par ? LLMC_NORM_SITE_POST_ATTN : LLMC_NORM_SITE_POST_MLP);
    if (pre) h = norm(ir, h, "final", -1, LLMC_NORM_SITE_FINAL);
    if (v->stray_param) /* a post-attention norm in a pre-norm block: no slot reads it */
        param(ir, "stray.weight", H, 0, LLMC_COMP_NORM, 0, LLMC_ROLE_NORM, false, LLMC_NORM_SITE_POST_ATTN);
    llmc_ir_set_scope(ir, LLMC_STACK_NONE, -1, LLMC_OPROLE_HEAD);
    llmc_tid head[2] = {h, emb};
    llmc_ir_mark_output(ir, llmc_ir_op(ir, LLMC_OP_LINEAR, "head", head, 2, NULL, 0));
    return ir;
}

/* pt_graph_tables on the variant: its return code, the tables or the diagnostics */
static int tables(const variant *v, char **text) {
    llmc_spec *s = test_spec(SPEC);
    llmc_ir *ir = build(v);
    llmc_diags *d = llmc_diags_create();
    llmc_strbuf b = {0};
    int64_t n = 0, m = 0, hd = 0;
    int rc = pt_graph_tables(s, ir, &b, &n, &m, &hd, d);
    if (rc == 0) {
        assert_int_equal(n, 2);
        assert_int_equal(m, 2);
        assert_int_equal(hd, 4);
        *text = b.s ? b.s : strdup("");
        b.s = NULL;
    } else {
        *text = test_all_diags(d);
    }
    llmc_strbuf_free(&b);
    llmc_diags_free(d);
    llmc_ir_free(ir);
    llmc_spec_free(s);
    return rc;
}

static void expect_refused(const variant *v, const char *what) {
    char *text = NULL;
    int rc = tables(v, &text);
    if (rc == 0 || !strstr(text, what)) fail_msg("expected a refusal containing '%s', got rc %d:\n%s", what, rc, text);
    free(text);
}

static void test_builtin_or_generic(void **state) {
    (void)state;
    variant pre = {LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, NULL, false, false, false, false, NULL};
    llmc_ir *ir = build(&pre);
    assert_false(pt_builtin_graph(ir)); /* foreign names: the generic decoder even for pre-norm blocks */
    llmc_ir_free(ir);
    pre.embed_name = "model.embed_tokens.weight";
    ir = build(&pre);
    assert_true(pt_builtin_graph(ir)); /* the built-in module tree's embedding, sequential pre-norm */
    llmc_ir_free(ir);
    variant par = {LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_PRE, NULL, false, false, false, false,
                   "model.embed_tokens.weight"};
    ir = build(&par);
    assert_false(pt_builtin_graph(ir)); /* parallel blocks are not the built-in modules' */
    llmc_ir_free(ir);
}

static void test_tables(void **state) {
    (void)state;
    char *t = NULL;
    variant par = {LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_PRE, NULL, false, false, false, false, NULL};
    assert_int_equal(tables(&par, &t), 0);
    assert_non_null(strstr(t, "TOKEN_EMBEDDING = \"tok.weight\""));
    assert_non_null(strstr(t, "HEAD = (\"tok.weight\", None)")); /* tied: the head reads the embedding */
    assert_non_null(strstr(t, "FINAL_NORM = (\"final.weight\", None)"));
    assert_non_null(strstr(t, "\"residual\": \"parallel\", \"norm_placement\": \"pre\""));
    assert_non_null(strstr(t, "\"norms\": {\"block_input\": (\"b.ln_in.weight\", None)}"));
    assert_non_null(strstr(t, "\"q\": (\"b.q.weight\", None)"));
    assert_non_null(strstr(t, "\"mlp\": {\"up\": (\"b.up.weight\", None), \"down\": (\"b.down.weight\", None)}"));
    assert_non_null(strstr(t, "(\"b.up.weight\", (32, 8)),"));
    assert_non_null(strstr(t, "(\"final.weight\", (8, )),"));
    free(t);
    variant post = {LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_POST, NULL, false, false, false, false, NULL};
    assert_int_equal(tables(&post, &t), 0);
    assert_non_null(strstr(t, "FINAL_NORM = None"));
    assert_non_null(strstr(t, "\"norms\": {\"post_attn\": (\"b.ln_post1.weight\", None), \"post_mlp\": (\"b.ln_post2.weight\", None)}"));
    free(t);
}

static void test_refusals(void **state) {
    (void)state;
    variant v = {LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_POST, NULL, false, false, false, false, NULL};
    expect_refused(&v, "is parallel with post norms");
    variant gptj = {LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_PRE, "gptj", false, false, false, false, NULL};
    expect_refused(&gptj, "op 'b.qr' has rope style 'gptj'");
    variant stray = {LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, NULL, false, true, false, false, NULL};
    expect_refused(&stray, "parameter 'stray.weight' (norm, decoder 0) has no place in the generated block");
    variant scale = {LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, NULL, false, false, false, true, NULL};
    /* a scale after the embedding (Gemma's sqrt(hidden)) is computed since the Gemma-2 work: read off the op */
    char *scaled = NULL;
    assert_int_equal(tables(&scale, &scaled), 0);
    if (!strstr(scaled, "EMBEDDING_SCALE = 2  #")) fail_msg("the embedding scale is not in the tables:\n%s", scaled);
    free(scaled);
    variant cross = {LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, NULL, true, false, false, false, NULL};
    expect_refused(&cross, "has cross-attention");
    variant encdec = {LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, NULL, false, false, true, false, NULL};
    expect_refused(&encdec, "computes decoder-only graphs");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_or_generic),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
