/* The torchscript emitter's generic (IR-driven) code: what it refuses, and the code its templates
 * render for sandwich blocks. Graphs built by hand with the IR builder; ts_generic_check must name
 * the block or op it cannot write, and accept the wirings it writes (the logits of those are
 * compared with ir_reference.py by tests/python/test_foreign_templates_torchscript.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/emitters/torchscript/ts_code.c"
#include "../../plugins/emitters/torchscript/ts_generic.c"
#include "../../plugins/emitters/torchscript/ts_model.c"
#include "../../plugins/emitters/torchscript/ts_text.c"
#include "testutil.h"

#define H 8
#define V 16

static llmc_spec *spec(void) {
    static const char text[] = "name: t\ntemplate: post_norm\ndims: {num_layers: 1, hidden_size: 8, num_heads: 2}\n"
                               "vocab_size: 16\ncontext_length: 8\nnorm: rmsnorm\nactivation: gelu\n"
                               "positional_encoding: none\n";
    llmc_diags *d = llmc_diags_create();
    llmc_spec *s = llmc_spec_load_string(text, sizeof text - 1, "t.yaml", LLMC_SPEC_FORMAT_YAML, d);
    if (!s) {
        char *got = test_all_diags(d);
        fail_msg("spec: %s", got);
    }
    llmc_diags_free(d);
    return s;
}

static llmc_tid par(llmc_ir *ir, const char *name, int64_t r, int64_t c, llmc_param_role role, bool bias, int layer,
                    llmc_norm_site site) {
    llmc_param_desc p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.dtype = LLMC_DTYPE_F32;
    p.rank = c ? 2 : 1;
    p.shape[0] = r;
    p.shape[1] = c;
    p.component = role == LLMC_ROLE_NORM ? LLMC_COMP_NORM
                  : role == LLMC_ROLE_TOKEN_EMBEDDING ? LLMC_COMP_EMBEDDING
                  : role >= LLMC_ROLE_MLP_GATE && role <= LLMC_ROLE_MLP_DOWN ? LLMC_COMP_MLP
                                                                             : LLMC_COMP_ATTENTION;
    p.stack = layer >= 0 ? LLMC_STACK_DECODER : LLMC_STACK_NONE;
    p.layer = layer;
    p.init.kind = LLMC_PINIT_ONES;
    p.role = role;
    p.is_bias = bias;
    p.norm_site = site;
    return llmc_ir_param(ir, &p);
}

static llmc_tid op2(llmc_ir *ir, llmc_op_type t, const char *name, llmc_tid a, llmc_tid b) {
    llmc_tid in[2] = {a, b};
    llmc_attr eps = llmc_attr_float("eps", 1e-6);
    return llmc_ir_op(ir, t, name, in, 2, t == LLMC_OP_RMSNORM ? &eps : NULL, t == LLMC_OP_RMSNORM ? 1 : 0);
}

/* One decoder block with attention (q, k, v, o) and a plain MLP, norms at the given sites, the
 * descriptor as given; h flows through norm ops so that each norm parameter has its op. The
 * sub-layer ops are linears only: the check reads roles, sites and op kinds. */
static llmc_ir *graph(llmc_residual res, llmc_norm_placement place, const llmc_norm_site *sites, int n_sites) {
    llmc_ir *ir = llmc_ir_create();
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_DECODER_ONLY);
    llmc_ir_block b = {LLMC_STACK_DECODER, 0, res, place, true, false, true};
    llmc_ir_add_block(ir, &b);
    int64_t shape[2] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ};
    llmc_tid ids = llmc_ir_input(ir, "ids", LLMC_DTYPE_I64, 2, shape);
    llmc_tid e = par(ir, "emb.weight", V, H, LLMC_ROLE_TOKEN_EMBEDDING, false, -1, LLMC_NORM_SITE_NONE);
    llmc_tid h = op2(ir, LLMC_OP_EMBEDDING, "emb", ids, e);
    static const char *const names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < n_sites && i < 4; i++) {
        char n[32];
        snprintf(n, sizeof n, "l.0.n%s.weight", names[i]);
        h = op2(ir, LLMC_OP_RMSNORM, n, h, par(ir, n, H, 0, LLMC_ROLE_NORM, false, 0, sites[i]));
    }
    static const struct { const char *n; llmc_param_role r; } lin[] = {
        {"l.0.q", LLMC_ROLE_ATTN_Q}, {"l.0.k", LLMC_ROLE_ATTN_K}, {"l.0.v", LLMC_ROLE_ATTN_V},
        {"l.0.o", LLMC_ROLE_ATTN_O}, {"l.0.up", LLMC_ROLE_MLP_UP}, {"l.0.down", LLMC_ROLE_MLP_DOWN}};
    for (size_t i = 0; i < 6; i++) h = op2(ir, LLMC_OP_LINEAR, lin[i].n, h, par(ir, lin[i].n, H, H, lin[i].r, false, 0, LLMC_NORM_SITE_NONE));
    llmc_ir_mark_output(ir, op2(ir, LLMC_OP_LINEAR, "head", h, e));
    return ir;
}

/* ts_generic_check's result and diagnostics; want NULL: accepted, else a part of the message */
static void expect(llmc_ir *ir, const char *want) {
    llmc_spec *s = spec();
    llmc_diags *d = llmc_diags_create();
    int rc = ts_generic_check(s, ir, d);
    char *got = test_all_diags(d);
    if (!want && rc != 0) fail_msg("should be accepted, got:\n%s", got);
    if (want && (rc == 0 || !strstr(got, want))) fail_msg("should be refused with '%s', got (rc %d):\n%s", want, rc, got);
    free(got);
    llmc_diags_free(d);
    llmc_spec_free(s);
    llmc_ir_free(ir);
}

static void test_accepted_wirings(void **state) {
    (void)state;
    const llmc_norm_site pre[] = {LLMC_NORM_SITE_ATTN_INPUT, LLMC_NORM_SITE_MLP_INPUT};
    const llmc_norm_site one[] = {LLMC_NORM_SITE_BLOCK_INPUT};
    const llmc_norm_site post[] = {LLMC_NORM_SITE_POST_ATTN, LLMC_NORM_SITE_POST_MLP};
    const llmc_norm_site sandwich[] = {LLMC_NORM_SITE_ATTN_INPUT, LLMC_NORM_SITE_MLP_INPUT, LLMC_NORM_SITE_POST_ATTN,
                                       LLMC_NORM_SITE_POST_MLP};
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, pre, 2), NULL);
    expect(graph(LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_PRE, one, 1), NULL);
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_POST, post, 2), NULL);
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_SANDWICH, sandwich, 4), NULL);
    expect(graph(LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_SANDWICH, sandwich, 4), NULL);
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_NONE, NULL, 0), NULL);
}

static void test_refused_wirings(void **state) {
    (void)state;
    const llmc_norm_site post[] = {LLMC_NORM_SITE_POST_ATTN, LLMC_NORM_SITE_POST_MLP};
    const llmc_norm_site pre[] = {LLMC_NORM_SITE_ATTN_INPUT, LLMC_NORM_SITE_MLP_INPUT};
    const llmc_norm_site attn_only[] = {LLMC_NORM_SITE_ATTN_INPUT};
    expect(graph(LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_POST, post, 2),
           "block decoder 0 (parallel residual, post norms): a post norm of the parallel sum has no norm site");
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, attn_only, 1),
           "block decoder 0 (sequential residual, pre norms): no norm parameter at site mlp_input or block_input");
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_POST, pre, 2),
           "input norms in a block whose norms follow the sub-layers");
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, post, 2), "no norm parameter at site attn_input");
    expect(graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_NONE, pre, 2),
           "it declares no norms but has norm parameters");
}

/* a flag's value in v, or -1 when v does not declare it */
static int flag_of(const ts_vars *v, const char *name) {
    for (int i = 0; i < v->n_flags; i++)
        if (!strcmp(v->flag_names[i], name)) return v->flag_values[i];
    return -1;
}

static void test_refused_graphs(void **state) {
    (void)state;
    const llmc_norm_site pre[] = {LLMC_NORM_SITE_ATTN_INPUT, LLMC_NORM_SITE_MLP_INPUT};
    /* a parameter the code would not read */
    llmc_ir *ir = graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, pre, 2);
    par(ir, "l.0.table", 4, 2, LLMC_ROLE_RELATIVE_BIAS, false, 0, LLMC_NORM_SITE_NONE);
    expect(ir, "parameter 'l.0.table' (role relative_bias, decoder 0) has no place in the generic code");
    /* an op the code does not write */
    ir = graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, pre, 2);
    llmc_tid x = llmc_ir_find(ir, "head:0");
    llmc_attr f = llmc_attr_float("factor", 2.0);
    llmc_ir_op(ir, LLMC_OP_SCALE, "scaled", &x, 1, &f, 1);
    expect(ir, "op 'scaled' (scale): a scale the generic code does not write"); /* only the embedding's is */
    /* fused q/k/v */
    ir = graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, pre, 2);
    par(ir, "l.0.qkv", 3 * H, H, LLMC_ROLE_ATTN_QKV, false, 0, LLMC_NORM_SITE_NONE);
    expect(ir, "fused q/k/v projections (role attn_qkv) are not expressed by the generic code");
    /* encoder-decoder graphs are the T5 tree's or nothing */
    ir = graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, pre, 2);
    llmc_ir_set_structure(ir, LLMC_STRUCTURE_ENCODER_DECODER);
    expect(ir, "the generic code writes decoder-only models");
    /* an activation other than the spec's (gelu) */
    ir = graph(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_PRE, pre, 2);
    x = llmc_ir_find(ir, "head:0");
    llmc_attr fn = llmc_attr_str("fn", "relu");
    llmc_ir_op(ir, LLMC_OP_ACTIVATION, "act", &x, 1, &fn, 1);
    expect(ir, "op 'act' (activation): an activation other than the spec's");
}

/* The forward the templates render for graph(res, place, ...) (ts/causal_lm.py.in with the
 * plugin's own ts/ templates, embedded into this test by tests/CMakeLists.txt). */
static char *forward(llmc_residual res, llmc_norm_placement place, const llmc_norm_site *sites, int n_sites) {
    llmc_ir *ir = graph(res, place, sites, n_sites);
    llmc_spec *s = spec();
    llmc_diags *d = llmc_diags_create();
    llmc_layout layout;
    assert_int_equal(llmc_layout_identity(ir, &layout, d), 0);
    ts_facts f;
    memset(&f, 0, sizeof f);
    f.s = s;
    f.ir = ir;
    f.layout = &layout;
    f.generic = true;
    ts_vars v = {0}, helpers = {0};
    ts_flag(&v, "learned", false);
    ts_flag(&v, "sinusoidal", false);
    ts_flag(&v, "rope", false);
    llmc_strbuf out = {0};
    if (ts_generic_forward(&v, &helpers, &f, d) || ts_render("causal_lm.py", &v, &out, d)) {
        char *got = test_all_diags(d);
        fail_msg("the forward did not render:\n%s", got);
    }
    /* rms_norm, the graph's one norm kind; no moe, no soft-cap, no (1 + w) norm */
    assert_int_equal(flag_of(&helpers, "rms_norm"), 1);
    assert_int_equal(flag_of(&helpers, "layer_norm"), 0);
    assert_int_equal(flag_of(&helpers, "moe"), 0);
    assert_int_equal(flag_of(&helpers, "softcap"), 0);
    assert_int_equal(flag_of(&helpers, "rms_norm_offset"), 0);
    ts_vars_free(&v);
    ts_vars_free(&helpers);
    llmc_layout_free(&layout);
    llmc_diags_free(d);
    llmc_spec_free(s);
    llmc_ir_free(ir);
    return llmc_strbuf_take(&out);
}

static void expect_lines(const char *code, const char *const *lines, size_t n) {
    const char *at = code;
    for (size_t i = 0; i < n; i++) {
        const char *hit = strstr(at, lines[i]);
        if (!hit) fail_msg("expected, in this order, line '%s' in:\n%s", lines[i], code);
        at = hit + strlen(lines[i]);
    }
}

/* Sandwich blocks (no built-in or test template builds one): pre norm, sub-layer, its own post
 * norm, residual add -- sequential and parallel. */
static void test_sandwich_code(void **state) {
    (void)state;
    const llmc_norm_site sandwich[] = {LLMC_NORM_SITE_ATTN_INPUT, LLMC_NORM_SITE_MLP_INPUT, LLMC_NORM_SITE_POST_ATTN,
                                       LLMC_NORM_SITE_POST_MLP};
    char *code = forward(LLMC_RESIDUAL_SEQUENTIAL, LLMC_NORM_PLACEMENT_SANDWICH, sandwich, 4);
    static const char *const seq[] = {
        "    # block 0: sequential residual, sandwich norms\n",
        "    block0 = getattr(self.l, \"0\")\n",
        "    x = block0.na.weight * __torch__.llmc.rms_norm(h, 1e-06)\n",
        "    y = __torch__.llmc.self_attention(x, block0.q, None, block0.k, None, block0.v, None, block0.o, None, bias)\n",
        "    y = block0.nc.weight * __torch__.llmc.rms_norm(y, 1e-06)\n",
        "    h = h + y\n",
        "    x = block0.nb.weight * __torch__.llmc.rms_norm(h, 1e-06)\n",
        "    y = __torch__.llmc.mlp(x, block0.up, None, block0.down, None)\n",
        "    y = block0.nd.weight * __torch__.llmc.rms_norm(y, 1e-06)\n",
        "    h = h + y\n",
        "    return torch.linear(h, self.emb.weight, None)\n"};
    expect_lines(code, seq, sizeof seq / sizeof seq[0]);
    free(code);
    code = forward(LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_SANDWICH, sandwich, 4);
    static const char *const par_lines[] = {
        "    # block 0: parallel residual, sandwich norms\n",
        "    xa = block0.na.weight * __torch__.llmc.rms_norm(h, 1e-06)\n",
        "    xm = block0.nb.weight * __torch__.llmc.rms_norm(h, 1e-06)\n",
        "    a = __torch__.llmc.self_attention(xa, block0.q, None, block0.k, None, block0.v, None, block0.o, None, bias)\n",
        "    a = block0.nc.weight * __torch__.llmc.rms_norm(a, 1e-06)\n",
        "    m = __torch__.llmc.mlp(xm, block0.up, None, block0.down, None)\n",
        "    m = block0.nd.weight * __torch__.llmc.rms_norm(m, 1e-06)\n",
        "    h = h + a + m\n"};
    expect_lines(code, par_lines, sizeof par_lines / sizeof par_lines[0]);
    free(code);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandwich_code),
        cmocka_unit_test(test_accepted_wirings),
        cmocka_unit_test(test_refused_wirings),
        cmocka_unit_test(test_refused_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
