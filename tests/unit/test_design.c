/* The designer's report (core/design.h, docs/solvers.md "The report"): parameter split, weight
 * bytes, KV cache, training memory and FLOPs, checked against hand computations and against a
 * published figure — the FLOP ratios of Hoffmann et al. 2022 (Chinchilla), Table A4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "config.h"
#include "design.h"
#include "registry.h"
#include "plugin_fixture.h"
#include "testutil.h"

/* the report of a spec with complete dims */
static llmc_design design_of(const char *text, const llmc_design_params *params) {
    llmc_spec *spec = test_spec(text);
    const llmc_plugin *tp = llmc_registry_find(reg, LLMC_PLUGIN_TEMPLATE, spec->template_name);
    if (!tp) fail_msg("template %s not loaded", spec->template_name);
    const llmc_template_vtable *tv = tp->vtable;
    llmc_diags *d = llmc_diags_create();
    llmc_dims dims = spec->dims;
    if (tv->complete_dims(spec, &dims, d) != 0) fail_msg("%s", test_all_diags(d));
    llmc_ir *ir = llmc_ir_create();
    if (tv->build_ir(spec, &dims, ir, d) != 0) fail_msg("%s", test_all_diags(d));
    llmc_param_count c;
    assert_int_equal(llmc_ir_count_params(ir, &c, d), 0);
    llmc_design g;
    if (llmc_design_compute(spec, &dims, ir, &c, params, &g, d) != 0) fail_msg("%s", test_all_diags(d));
    llmc_ir_free(ir);
    llmc_diags_free(d);
    llmc_spec_free(spec);
    return g;
}

static void test_llama2_7b(void **state) {
    (void)state;
    llmc_design_params p = llmc_design_default_params();
    p.context = 4096;
    p.batch = 8;
    llmc_design g = design_of("vocab_size: 32000\ncontext_length: 4096\n"
                              "dims: {num_layers: 32, hidden_size: 4096, num_heads: 32, intermediate_size: 11008}\n",
                              &p);
    assert_true(g.total == 6738415616ull);
    assert_true(g.embedding == 32000ull * 4096);
    assert_true(g.head == 32000ull * 4096);
    assert_false(g.tied);
    assert_true(g.non_embedding == 6738415616ull - 2 * 32000ull * 4096);
    /* K and V of 32 layers, 4096 wide, bf16 */
    assert_true(g.kv_bytes_per_token == 32ull * 2 * 4096 * 2);
    assert_true(g.kv_bytes == g.kv_bytes_per_token * 4096 * 8);
    assert_true(g.weight_bytes[0] == 4 * g.total);
    assert_true(g.weight_bytes[2] == 2 * g.total);
    /* q4_0: 18 bytes per 32 values for the matrices, f32 for the 65 norm vectors of 4096 */
    uint64_t vectors = 65ull * 4096, matrices = g.total - vectors;
    assert_true(g.weight_bytes[4] == matrices / 32 * 18 + 4 * vectors);
    assert_true(g.weight_bytes[3] == matrices / 32 * 34 + 4 * vectors);
    /* mixed-precision Adam: 2 + 2 + 12 bytes per parameter */
    assert_true(g.train_weights + g.train_grads + g.train_adam == 16 * g.total);
    assert_true(g.act_bytes_checkpointed < g.act_bytes);
    /* forward: 2 FLOPs per matrix weight (the head too), attention over 4096 positions */
    assert_true(g.matmul_params == g.total - g.embedding - 65ull * 4096);
    uint64_t attn = 32ull * (2 * 4096 * 32 * (128 + 128) + 3 * 4096 * 32);
    assert_true(g.fwd_attention_flops == attn);
    assert_true(g.fwd_flops == 2 * g.matmul_params + attn);
    assert_true(g.train_flops == 3 * g.fwd_flops);
}

static void test_tied_and_kv_dtype(void **state) {
    (void)state;
    llmc_design_params p = llmc_design_default_params();
    p.kv_dtype = LLMC_PRECISION_FLOAT32;
    llmc_design g = design_of("vocab_size: 50257\ncontext_length: 1024\npositional_encoding: learned\n"
                              "norm: layernorm\nactivation: gelu_tanh\ntie_word_embeddings: true\n"
                              "bias: {qkv: true, attn_out: true, mlp: true}\n"
                              "dims: {num_layers: 12, hidden_size: 768, num_heads: 12, intermediate_size: 3072}\n",
                              &p);
    assert_true(g.total == 124439808ull);
    assert_true(g.tied);
    assert_true(g.head == 0);
    assert_true(g.positional == 1024ull * 768);
    assert_true(g.kv_bytes_per_token == 12ull * 2 * 768 * 4);
    assert_true(g.in.context == 1024 && g.in.seq_len == 1024 && g.in.batch == 1);
}

/* One layer by hand: activations kept for the backward pass, 16-bit, FlashAttention-style. */
static void test_activations(void **state) {
    (void)state;
    llmc_design_params p = llmc_design_default_params();
    p.micro_batch = 2;
    p.seq_len = 16;
    llmc_design g = design_of("vocab_size: 100\ncontext_length: 64\n"
                              "dims: {num_layers: 3, hidden_size: 64, num_heads: 4, intermediate_size: 128}\n",
                              &p);
    uint64_t attn = 2 * (2 * 64 + 2 * 64 + 2 * 64) + 4 * 4; /* x, norm(x), q, k, v, out; softmax stats */
    uint64_t mlp = 2 * (2 * 64 + 3 * 128);                  /* x, norm(x), gate, up, act */
    uint64_t outer = 2 * 64 + 4 * 64 + 4 * 100;             /* embedding out, final norm in/out, fp32 logits */
    assert_true(g.act_bytes == (3 * (attn + mlp) + outer) * 2 * 16);
    assert_true(g.act_bytes_checkpointed == (3 * 2 * 64 + attn + mlp + outer) * 2 * 16);
    assert_true(g.train_bytes == 16 * g.total + g.act_bytes);
}

/* Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models"), Appendix F, Table A4:
 * the ratio of their FLOP count per sequence to 6ND for six models (seq_len 2048, vocab 32000).
 * Their count covers attention (q/k/v and output projections, the logits, a softmax of 3 FLOPs per
 * score, the weighted sum) and the dense blocks, over the full sequence, with the backward pass
 * twice the forward; the table's ratios leave out the embedding and logit matrices (the authors'
 * correction, reproduced by nanoGPT's scaling_laws notebook). N is the parameter count of their
 * models (Table A9's parameterisation: biases, relative-position keys d_model^2 + 2 d_model per
 * layer, two LayerNorms, and the output matrix). llmc's training FLOPs per token for the same
 * shapes, minus the head's 6 V H, over 6 N must give the published ratios. */
static void test_chinchilla_table_a4(void **state) {
    (void)state;
    static const struct {
        int64_t layers, d_model, ffw, heads;
        double ratio;
    } rows[] = {{10, 640, 2560, 10, 1.03},  {20, 1024, 4096, 16, 1.10}, {24, 1280, 5120, 10, 1.08},
                {26, 1792, 7168, 14, 1.04}, {28, 2048, 8192, 16, 1.03}, {40, 3584, 14336, 28, 0.99}};
    const int64_t V = 32000, S = 2048;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        int64_t L = rows[i].layers, d = rows[i].d_model, f = rows[i].ffw;
        char text[512];
        snprintf(text, sizeof text,
                 "vocab_size: %lld\ncontext_length: %lld\nactivation: gelu\n"
                 "dims: {num_layers: %lld, hidden_size: %lld, num_heads: %lld, intermediate_size: %lld}\n",
                 (long long)V, (long long)S, (long long)L, (long long)d, (long long)rows[i].heads, (long long)f);
        llmc_design_params p = llmc_design_default_params();
        llmc_design g = design_of(text, &p);
        double per_layer = (3.0 * d * d + 3 * d) + (1.0 * d * d + 2 * d) + (1.0 * d * d + d) + (1.0 * d * f + f) +
                           (1.0 * f * d + d) + 4.0 * d;
        double N = (double)L * per_layer + 2.0 * d + (double)d * V;
        double ours = (double)g.train_flops - 6.0 * (double)V * (double)d;
        double ratio = ours / (6.0 * N);
        print_message("d_model %lld: llmc %.4f, published %.2f\n", (long long)d, ratio, rows[i].ratio);
        assert_true(fabs(ratio - rows[i].ratio) <= 0.005 + 1e-9);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama2_7b),
        cmocka_unit_test(test_tied_and_kv_dtype),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_chinchilla_table_a4),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
