/* Template plugins (decoder_only, encoder_decoder), loaded from the build tree as the host
 * loads them: exact counts of real architectures (closed form and IR), IR shape and naming
 * per feature, initialisation rules, validation messages, the sizing problem, and a
 * property test over random valid specs (closed form == IR count, IR validates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llmc/llmc.h"

/* ---- plugin loading ------------------------------------------------------------------------- */

static void *handles[3];
static const llmc_template_vtable *DEC, *ENCDEC;
static const llmc_solver_vtable *SEARCH;

static const void *load_plugin(int slot, const char *rel, uint32_t kind, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LLMC_BINARY_DIR, rel);
    handles[slot] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handles[slot]) return NULL;
    llmc_plugin_entry_fn entry;
    *(void **)&entry = dlsym(handles[slot], LLMC_PLUGIN_ENTRY_SYMBOL);
    if (!entry) return NULL;
    const llmc_plugin_manifest *m = entry();
    if (!m || m->abi_version != LLMC_ABI_VERSION) return NULL;
    for (uint32_t i = 0; i < m->n_plugins; i++)
        if (m->plugins[i].kind == kind && !strcmp(m->plugins[i].name, name)) return m->plugins[i].vtable;
    return NULL;
}

static int setup(void **state) {
    (void)state;
    DEC = load_plugin(0, "plugins/templates/decoder_only.so", LLMC_PLUGIN_TEMPLATE, "decoder_only");
    ENCDEC = load_plugin(1, "plugins/templates/encoder_decoder.so", LLMC_PLUGIN_TEMPLATE, "encoder_decoder");
    SEARCH = load_plugin(2, "plugins/solvers/search.so", LLMC_PLUGIN_SOLVER, "search");
    if (!DEC || !ENCDEC) {
        fprintf(stderr, "cannot load the template plugins from %s/plugins/templates: %s\n", LLMC_BINARY_DIR, dlerror());
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < 3; i++)
        if (handles[i]) dlclose(handles[i]);
    return 0;
}

static const llmc_template_vtable *vt_of(const llmc_spec *s) {
    return !strcmp(s->template_name, "encoder_decoder") ? ENCDEC : DEC;
}

/* ---- helpers ------------------------------------------------------------------------------- */


static llmc_spec *spec_text(const char *text) {
    llmc_diags *d = llmc_diags_create();
    llmc_spec *s = llmc_spec_load_string(text, strlen(text), "spec.yaml", LLMC_SPEC_FORMAT_AUTO, d);
    if (!s) {
        char *msg = test_all_diags(d);
        fail_msg("spec does not load:\n%s\n---\n%s", text, msg);
    }
    llmc_diags_free(d);
    return s;
}

static llmc_spec *spec_example(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/config/examples/%s", LLMC_SOURCE_DIR, file);
    llmc_diags *d = llmc_diags_create();
    llmc_spec *s = llmc_spec_load_file(path, d);
    if (!s) {
        char *msg = test_all_diags(d);
        fail_msg("example %s does not load:\n%s", file, msg);
    }
    llmc_diags_free(d);
    return s;
}

/* validate must pass without any diagnostic */
static void expect_valid(const llmc_spec *s) {
    llmc_diags *d = llmc_diags_create();
    int rc = vt_of(s)->validate(s, d);
    if (rc != 0 || llmc_diags_size(d) != 0) {
        char *msg = test_all_diags(d);
        fail_msg("validate(%s) = %d:\n%s", s->name, rc, msg);
    }
    llmc_diags_free(d);
}

/* validate must fail with exactly these diagnostics */
static void expect_invalid(const char *text, const char *want) {
    llmc_spec *s = spec_text(text);
    llmc_diags *d = llmc_diags_create();
    int rc = vt_of(s)->validate(s, d);
    char *got = test_all_diags(d);
    if (rc == 0 || strcmp(got, want) != 0)
        fail_msg("spec:\n%s--- validate = %d, got:\n%s\n--- want:\n%s", text, rc, got, want);
    free(got);
    llmc_diags_free(d);
    llmc_spec_free(s);
}

typedef struct built {
    llmc_spec *spec;
    llmc_dims dims;
    llmc_param_count closed, counted;
    llmc_ir *ir;
} built;

/* complete dims, closed-form count, IR, IR validation and IR count; both counts must agree
 * component by component */
static void build_dims(built *b, llmc_spec *s, const llmc_dims *dims) {
    memset(b, 0, sizeof *b);
    b->spec = s;
    const llmc_template_vtable *vt = vt_of(s);
    b->dims = *dims;
    llmc_diags *d = llmc_diags_create();
    if (vt->complete_dims(s, &b->dims, d) != 0) {
        char *msg = test_all_diags(d);
        fail_msg("complete_dims(%s):\n%s", s->name, msg);
    }
    assert_int_equal(vt->count(s, &b->dims, &b->closed), 0);
    b->ir = llmc_ir_create();
    assert_non_null(b->ir);
    int rc = vt->build_ir(s, &b->dims, b->ir, d);
    if (rc != 0 || llmc_ir_validate(b->ir, d) != 0 || llmc_ir_count_params(b->ir, &b->counted, d) != 0) {
        char *msg = test_all_diags(d);
        fail_msg("IR of %s does not validate:\n%s", s->name, msg);
    }
    llmc_diags_free(d);
    if (memcmp(&b->closed, &b->counted, sizeof b->closed) != 0) {
        char msg[1024];
        int n = snprintf(msg, sizeof msg, "closed form vs IR for %s: total %llu vs %llu", s->name,
                         (unsigned long long)b->closed.total, (unsigned long long)b->counted.total);
        for (int c = 0; c < LLMC_COMP_COUNT && n > 0 && (size_t)n < sizeof msg; c++)
            n += snprintf(msg + n, sizeof msg - (size_t)n, "; %s %llu vs %llu", llmc_component_name((llmc_component)c),
                          (unsigned long long)b->closed.component[c], (unsigned long long)b->counted.component[c]);
        fail_msg("%s", msg);
    }
}

static void build(built *b, llmc_spec *s) {
    expect_valid(s);
    build_dims(b, s, &s->dims);
}

static void built_free(built *b) {
    llmc_ir_free(b->ir);
    llmc_spec_free(b->spec);
}

static const llmc_tensor_info *T(const built *b, const char *name) {
    return llmc_ir_tensor(b->ir, llmc_ir_find(b->ir, name));
}

static void expect_shape(const built *b, const char *name, int64_t d0, int64_t d1) {
    const llmc_tensor_info *t = T(b, name);
    if (!t) fail_msg("%s: no tensor '%s'", b->spec->name, name);
    assert_int_equal(t->kind, LLMC_TENSOR_PARAM);
    assert_int_equal(t->rank, d1 ? 2 : 1);
    if (t->shape[0] != d0 || (d1 && t->shape[1] != d1))
        fail_msg("%s: %s is [%lld,%lld], want [%lld,%lld]", b->spec->name, name, (long long)t->shape[0],
                 (long long)(t->rank > 1 ? t->shape[1] : 0), (long long)d0, (long long)d1);
}

static void expect_absent(const built *b, const char *name) {
    if (llmc_ir_find(b->ir, name) != LLMC_TID_NONE) fail_msg("%s: tensor '%s' should not exist", b->spec->name, name);
}

static const llmc_op_info *op_named(const built *b, const char *name) {
    for (size_t i = 0; i < llmc_ir_num_ops(b->ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(b->ir, i);
        if (!strcmp(op->name, name)) return op;
    }
    return NULL;
}

static size_t ops_of_type(const built *b, llmc_op_type t) {
    size_t n = 0;
    for (size_t i = 0; i < llmc_ir_num_ops(b->ir); i++) n += llmc_ir_op_at(b->ir, i)->type == t;
    return n;
}

static size_t params_named_like(const built *b, const char *needle) {
    size_t n = 0;
    for (size_t i = 0; i < llmc_ir_num_tensors(b->ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(b->ir, (llmc_tid)i);
        n += t->kind == LLMC_TENSOR_PARAM && strstr(t->name, needle) != NULL;
    }
    return n;
}

/* ---- exact counts of real architectures -------------------------------------------------------------- */

static void expect_example_count(const char *file, uint64_t want) {
    built b;
    build(&b, spec_example(file));
    if (b.closed.total != want)
        fail_msg("%s: %llu parameters, want %llu", file, (unsigned long long)b.closed.total, (unsigned long long)want);
    assert_int_equal(b.counted.total, want);
    built_free(&b);
}

static void test_llama2_7b(void **state) {
    (void)state;
    expect_example_count("llama2-7b.yaml", 6738415616ull);
}

/* Qwen3-0.6B: QK-norm (2 x head_dim per layer), head_dim 128 != 1024 / 16, tied */
static void test_qwen3_0_6b(void **state) {
    (void)state;
    expect_example_count("qwen3-0.6b.yaml", 596049920ull);
}

/* Mixtral-8x7B: 8 SwiGLU experts of 14336 per layer, top-2; total and active (per token: 2 of the
 * 8 experts, the router and everything else) from the closed form and the IR */
static void test_mixtral_8x7b(void **state) {
    (void)state;
    expect_example_count("mixtral-8x7b.yaml", 46702792704ull);
    built b;
    build(&b, spec_example("mixtral-8x7b.yaml"));
    assert_int_equal(b.closed.active, 12879925248ull);
    assert_int_equal(b.counted.active, 12879925248ull);
    /* one layer: attention 41,943,040 + norms 8,192 + router 32,768 + 2 of 8 experts 352,321,536 */
    llmc_param_count l0;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, 0, &l0, d), 0);
    assert_int_equal(l0.total, 1451270144ull);
    assert_int_equal(l0.active, 394305536ull);
    llmc_diags_free(d);
    const llmc_tensor_info *g = T(&b, "model.layers.0.block_sparse_moe.experts.gate_proj.weight");
    assert_non_null(g);
    assert_int_equal(g->rank, 3);
    assert_int_equal(g->role, LLMC_ROLE_EXPERT_GATE);
    assert_int_equal(g->shape[0], 8);
    assert_int_equal(g->shape[1], 14336);
    assert_int_equal(g->shape[2], 4096);
    expect_shape(&b, "model.layers.31.block_sparse_moe.gate.weight", 8, 4096);
    assert_int_equal(T(&b, "model.layers.31.block_sparse_moe.gate.weight")->role, LLMC_ROLE_MOE_ROUTER);
    expect_absent(&b, "model.layers.0.mlp.gate_proj.weight");
    assert_int_equal(ops_of_type(&b, LLMC_OP_MOE_ROUTE), 32);
    assert_int_equal(ops_of_type(&b, LLMC_OP_MOE_EXPERTS), 32);
    const llmc_op_info *r = op_named(&b, "model.layers.0.block_sparse_moe.route");
    assert_non_null(r);
    assert_int_equal(llmc_op_attr(r, "experts_per_token")->i, 2);
    assert_string_equal(llmc_op_attr(r, "routing")->s, "softmax_topk");
    assert_int_equal(llmc_op_attr(r, "normalize")->i, 1);
    assert_true(llmc_ir_has_moe(b.ir));
    built_free(&b);
}

/* Qwen1.5-MoE-A2.7B: 60 SwiGLU experts of 1408 per layer, top-4 (not renormalised), a shared expert
 * of 5632 scaled by sigmoid(shared_expert_gate x), q/k/v biases; total and active from the closed
 * form and the IR (the shared expert and its gate are read by every token) */
static void test_qwen1_5_moe(void **state) {
    (void)state;
    expect_example_count("qwen1.5-moe-a2.7b.yaml", 14315784192ull);
    built b;
    build(&b, spec_example("qwen1.5-moe-a2.7b.yaml"));
    assert_int_equal(b.closed.active, 2689173504ull);
    assert_int_equal(b.counted.active, 2689173504ull);
    /* one layer: attention 16,783,360 + norms 4,096 + router 122,880 + 60 experts 519,045,120 + shared
     * expert 34,603,008 + its gate 2,048; active: 4 of the 60 experts */
    llmc_param_count l0;
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, 0, &l0, d), 0);
    assert_int_equal(l0.total, 570560512ull);
    assert_int_equal(l0.active, 86118400ull);
    llmc_diags_free(d);
    expect_shape(&b, "model.layers.0.mlp.gate.weight", 60, 2048);
    expect_shape(&b, "model.layers.0.mlp.shared_expert.gate_proj.weight", 5632, 2048);
    expect_shape(&b, "model.layers.0.mlp.shared_expert.down_proj.weight", 2048, 5632);
    expect_shape(&b, "model.layers.23.mlp.shared_expert_gate.weight", 1, 2048);
    assert_int_equal(T(&b, "model.layers.0.mlp.shared_expert.up_proj.weight")->role, LLMC_ROLE_SHARED_EXPERT_UP);
    assert_int_equal(T(&b, "model.layers.23.mlp.shared_expert_gate.weight")->role, LLMC_ROLE_SHARED_EXPERT_SCALE);
    const llmc_tensor_info *g = T(&b, "model.layers.0.mlp.experts.gate_proj.weight");
    assert_non_null(g);
    assert_int_equal(g->shape[0], 60);
    assert_int_equal(g->shape[1], 1408);
    expect_absent(&b, "model.layers.0.block_sparse_moe.gate.weight");
    const llmc_op_info *r = op_named(&b, "model.layers.0.mlp.route");
    assert_non_null(r);
    assert_int_equal(llmc_op_attr(r, "experts_per_token")->i, 4);
    assert_int_equal(llmc_op_attr(r, "normalize")->i, 0);
    const llmc_op_info *sg = op_named(&b, "model.layers.0.mlp.shared_expert_gate.sigmoid");
    assert_non_null(sg);
    assert_string_equal(llmc_op_attr(sg, "fn")->s, "sigmoid");
    assert_non_null(op_named(&b, "model.layers.0.mlp.shared_sum"));
    built_free(&b);
}

/* Gemma-2-2B: sandwich norms (4 x hidden per layer), head_dim 256 with GQA 8/4, tied */
static void test_gemma2_2b(void **state) {
    (void)state;
    expect_example_count("gemma-2-2b.yaml", 2614341888ull);
}

/* Phi-2: parallel blocks with one LayerNorm, every bias, untied head with a bias, partial rotary */
static void test_phi_2(void **state) {
    (void)state;
    expect_example_count("phi-2.yaml", 2779683840ull);
}

static void test_gpt2_124m(void **state) {
    (void)state;
    expect_example_count("gpt2-124m.yaml", 124439808ull);
}

static void test_t5_small(void **state) {
    (void)state;
    expect_example_count("t5-small.yaml", 60506624ull);
}

/* Two more published counts, as inline specs: Qwen2-0.5B (GQA 14/2, q/k/v biases, tied) and
 * Gemma-2B (head_dim 256 with hidden 2048 and 8 heads, MQA, GeGLU, tied). */
static void test_qwen2_gemma_counts(void **state) {
    (void)state;
    built b;
    build(&b, spec_text("name: qwen2-0.5b\nvocab_size: 151936\ncontext_length: 32768\n"
                        "dims: {num_layers: 24, hidden_size: 896, intermediate_size: 4864, num_heads: 14, "
                        "num_kv_heads: 2}\nattention: gqa\nbias: {qkv: true, norm: false}\n"
                        "rope: {theta: 1000000}\ntie_word_embeddings: true\n"));
    assert_int_equal(b.closed.total, 494032768ull);
    built_free(&b);
    build(&b, spec_text("name: gemma-2b\nvocab_size: 256000\ncontext_length: 8192\n"
                        "dims: {num_layers: 18, hidden_size: 2048, intermediate_size: 16384, num_heads: 8, "
                        "head_dim: 256}\nattention: mqa\nactivation: geglu\ntie_word_embeddings: true\n"));
    assert_int_equal(b.closed.total, 2506172416ull);
    built_free(&b);
}

/* every example loads, validates; explicit ones build a valid IR whose counts agree */
static void test_examples(void **state) {
    (void)state;
    static const struct { const char *file; uint64_t count; } ex[] = {
        {"llama-tiny-dims.yaml", 14944704ull}, {"llama2-7b.yaml", 6738415616ull}, {"gpt2-124m.yaml", 124439808ull},
        {"t5-small.yaml", 60506624ull},        {"mistral-tiny.yaml", 0},          {"qwen2-tiny.yaml", 0},
        {"gemma-tiny.yaml", 0},                {"bart-tiny.yaml", 0},             {"qwen3-0.6b.yaml", 596049920ull},
        {"mixtral-8x7b.yaml", 46702792704ull},
        {"qwen1.5-moe-a2.7b.yaml", 14315784192ull},
        {"gemma-2-2b.yaml", 2614341888ull},
        {"phi-2.yaml", 2779683840ull},
    };
    for (size_t i = 0; i < sizeof ex / sizeof *ex; i++) {
        built b;
        build(&b, spec_example(ex[i].file));
        if (ex[i].count) assert_int_equal(b.closed.total, ex[i].count);
        assert_int_equal(llmc_ir_num_outputs(b.ir), 1);
        const llmc_tensor_info *out = llmc_ir_tensor(b.ir, llmc_ir_output(b.ir, 0));
        assert_string_equal(out->name, "logits");
        assert_int_equal(out->rank, 3);
        assert_int_equal(out->shape[0], LLMC_SYM_BATCH);
        assert_int_equal(out->shape[1], LLMC_SYM_SEQ);
        assert_int_equal(out->shape[2], b.spec->vocab_size);
        /* ir.json round trip is exact, and the graph renders as DOT */
        char *json = llmc_ir_to_json(b.ir);
        assert_non_null(json);
        llmc_diags *d = llmc_diags_create();
        llmc_ir *back = llmc_ir_from_json(json, strlen(json), "ir.json", d);
        if (!back) {
            char *msg = test_all_diags(d);
            fail_msg("%s: ir.json does not read back:\n%s", ex[i].file, msg);
        }
        char *again = llmc_ir_to_json(back);
        assert_non_null(again);
        assert_true(strcmp(json, again) == 0);
        llmc_param_count c;
        assert_int_equal(llmc_ir_count_params(back, &c, d), 0);
        assert_int_equal(c.total, b.counted.total);
        assert_int_equal(c.active, b.counted.active);
        FILE *f = tmpfile();
        assert_non_null(f);
        assert_int_equal(llmc_ir_write_dot(back, f), 0);
        assert_true(ftell(f) > 0);
        fclose(f);
        free(again);
        free(json);
        llmc_ir_free(back);
        llmc_diags_free(d);
        built_free(&b);
    }
    /* the target_params example validates and defines a problem */
    llmc_spec *s = spec_example("llama-tiny.yaml");
    expect_valid(s);
    llmc_spec_free(s);
}

/* ---- IR shape per feature --------------------------------------------------------------------------------- */

#define SMALL "vocab_size: 1000\ncontext_length: 128\n"

static void test_gqa_mqa_shapes(void **state) {
    (void)state;
    built b;
    build(&b, spec_text(SMALL "dims: {num_layers: 2, hidden_size: 256, num_heads: 8, num_kv_heads: 2}\n"));
    assert_int_equal(b.spec->attention, LLMC_ATTN_GQA);
    expect_shape(&b, "model.layers.1.self_attn.q_proj.weight", 256, 256);
    expect_shape(&b, "model.layers.1.self_attn.k_proj.weight", 2 * 32, 256);
    expect_shape(&b, "model.layers.1.self_attn.v_proj.weight", 2 * 32, 256);
    expect_shape(&b, "model.layers.1.self_attn.o_proj.weight", 256, 256);
    assert_int_equal(b.dims.v[LLMC_DIM_HEAD_DIM], 32);
    built_free(&b);

    build(&b, spec_text(SMALL "attention: mqa\ndims: {num_layers: 1, hidden_size: 256, num_heads: 8}\n"));
    assert_int_equal(b.dims.v[LLMC_DIM_NUM_KV_HEADS], 1);
    expect_shape(&b, "model.layers.0.self_attn.k_proj.weight", 32, 256);
    expect_shape(&b, "model.layers.0.self_attn.v_proj.weight", 32, 256);
    /* k reshaped to one head: [B,S,1,32] */
    const llmc_tensor_info *k = T(&b, "model.layers.0.self_attn.k_heads:0");
    assert_non_null(k);
    assert_int_equal(k->shape[2], 1);
    assert_int_equal(k->shape[3], 32);
    built_free(&b);

    build(&b, spec_text(SMALL "dims: {num_layers: 1, hidden_size: 256, num_heads: 8}\n"));
    assert_int_equal(b.spec->attention, LLMC_ATTN_MHA);
    expect_shape(&b, "model.layers.0.self_attn.k_proj.weight", 256, 256);
    built_free(&b);
}

static void test_head_dim_independent(void **state) {
    (void)state;
    built b;
    /* 8 heads of 64 over a 1024-wide model: q is 512 wide, o maps 512 back to 1024 */
    build(&b, spec_text(SMALL "dims: {num_layers: 1, hidden_size: 1024, num_heads: 8, head_dim: 64, "
                              "num_kv_heads: 4}\n"));
    expect_shape(&b, "model.layers.0.self_attn.q_proj.weight", 512, 1024);
    expect_shape(&b, "model.layers.0.self_attn.k_proj.weight", 256, 1024);
    expect_shape(&b, "model.layers.0.self_attn.o_proj.weight", 1024, 512);
    built_free(&b);
    /* num_heads derived from hidden_size / head_dim */
    build(&b, spec_text(SMALL "dims: {num_layers: 1, hidden_size: 768, head_dim: 128}\n"));
    assert_int_equal(b.dims.v[LLMC_DIM_NUM_HEADS], 6);
    expect_shape(&b, "model.layers.0.self_attn.q_proj.weight", 768, 768);
    built_free(&b);
}

static void test_positions(void **state) {
    (void)state;
    built b;
    build(&b, spec_text(SMALL "positional_encoding: learned\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    expect_shape(&b, "model.embed_positions.weight", 128, 64);
    assert_int_equal(T(&b, "model.embed_positions.weight")->component, LLMC_COMP_POSITIONAL);
    assert_int_equal(b.counted.component[LLMC_COMP_POSITIONAL], 128 * 64);
    assert_int_equal(ops_of_type(&b, LLMC_OP_POSITIONS_LEARNED), 1);
    assert_int_equal(ops_of_type(&b, LLMC_OP_ROPE), 0);
    built_free(&b);

    build(&b, spec_text(SMALL "positional_encoding: sinusoidal\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    assert_int_equal(b.counted.component[LLMC_COMP_POSITIONAL], 0);
    const llmc_op_info *op = op_named(&b, "model.embed_positions");
    assert_non_null(op);
    assert_int_equal(op->type, LLMC_OP_POSITIONS_SINUSOIDAL);
    assert_int_equal(llmc_op_attr(op, "dim")->i, 64);
    built_free(&b);

    /* rope: q and k rotated in every layer with the spec's attrs */
    build(&b, spec_text(SMALL "dims: {num_layers: 2, hidden_size: 64, num_heads: 2}\n"
                              "rope: {theta: 500000, scaling: {type: llama3, factor: 8, original_context_length: 64}}\n"));
    assert_int_equal(ops_of_type(&b, LLMC_OP_ROPE), 4);
    op = op_named(&b, "model.layers.1.self_attn.k_rope");
    assert_non_null(op);
    assert_true(llmc_op_attr(op, "theta")->f == 500000.0);
    assert_string_equal(llmc_op_attr(op, "scaling")->s, "llama3");
    assert_true(llmc_op_attr(op, "factor")->f == 8.0);
    assert_true(llmc_op_attr(op, "original_context_length")->f == 64.0);
    assert_true(llmc_op_attr(op, "low_freq_factor")->f == 1.0);
    assert_true(llmc_op_attr(op, "high_freq_factor")->f == 4.0);
    built_free(&b);

    /* alibi: a bias per layer feeding attention, no parameters */
    build(&b, spec_text(SMALL "positional_encoding: alibi\nalibi_max_bias: 4\n"
                              "dims: {num_layers: 2, hidden_size: 64, num_heads: 4}\n"));
    assert_int_equal(ops_of_type(&b, LLMC_OP_ALIBI), 2);
    op = op_named(&b, "model.layers.0.self_attn.attention");
    assert_int_equal(op->n_inputs, 4);
    assert_true(op->inputs[3] == llmc_ir_find(b.ir, "model.layers.0.self_attn.alibi:0"));
    assert_true(llmc_op_attr(op_named(&b, "model.layers.0.self_attn.alibi"), "max_bias")->f == 4.0);
    built_free(&b);

    build(&b, spec_text(SMALL "positional_encoding: none\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    assert_int_equal(ops_of_type(&b, LLMC_OP_ROPE) + ops_of_type(&b, LLMC_OP_ALIBI), 0);
    assert_int_equal(b.counted.component[LLMC_COMP_POSITIONAL], 0);
    built_free(&b);
}

static void test_attention_masks(void **state) {
    (void)state;
    built b;
    build(&b, spec_text(SMALL "sliding_window: 32\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    const llmc_op_info *op = op_named(&b, "model.layers.0.self_attn.attention");
    assert_string_equal(llmc_op_attr(op, "mask")->s, "sliding_window");
    assert_int_equal(llmc_op_attr(op, "window")->i, 32);
    assert_true(fabs(llmc_op_attr(op, "scale")->f - 1.0 / sqrt(32.0)) < 1e-15);
    built_free(&b);
    build(&b, spec_text(SMALL "dims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    op = op_named(&b, "model.layers.0.self_attn.attention");
    assert_string_equal(llmc_op_attr(op, "mask")->s, "causal");
    assert_null(llmc_op_attr(op, "window"));
    built_free(&b);
}

static void test_tied_head(void **state) {
    (void)state;
    built untied, tied;
    build(&untied, spec_text(SMALL "dims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    build(&tied, spec_text(SMALL "tie_word_embeddings: true\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    expect_shape(&untied, "lm_head.weight", 1000, 64);
    assert_int_equal(T(&untied, "lm_head.weight")->component, LLMC_COMP_HEAD);
    expect_absent(&tied, "lm_head.weight");
    assert_int_equal(tied.counted.total, untied.counted.total - 1000 * 64);
    assert_int_equal(tied.counted.component[LLMC_COMP_HEAD], 0);
    /* the head LINEAR reads the embedding matrix */
    const llmc_op_info *head = op_named(&tied, "lm_head");
    assert_non_null(head);
    assert_true(head->inputs[1] == llmc_ir_find(tied.ir, "model.embed_tokens.weight"));
    assert_true(head->outputs[0] == llmc_ir_find(tied.ir, "logits"));
    built_free(&untied);
    built_free(&tied);

    /* a head bias exists even when the weight is tied */
    build(&tied, spec_text(SMALL "tie_word_embeddings: true\nbias: {lm_head: true}\n"
                                 "dims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    expect_shape(&tied, "lm_head.bias", 1000, 0);
    assert_int_equal(tied.counted.component[LLMC_COMP_HEAD], 1000);
    built_free(&tied);
}

static void test_biases_and_norms(void **state) {
    (void)state;
    built b;
    build(&b, spec_text(SMALL "norm: layernorm\nbias: {qkv: true, attn_out: true, mlp: true, norm: true}\n"
                              "activation: gelu\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2, "
                              "intermediate_size: 100}\n"));
    expect_shape(&b, "model.layers.0.self_attn.q_proj.bias", 64, 0);
    expect_shape(&b, "model.layers.0.self_attn.k_proj.bias", 64, 0);
    expect_shape(&b, "model.layers.0.self_attn.v_proj.bias", 64, 0);
    expect_shape(&b, "model.layers.0.self_attn.o_proj.bias", 64, 0);
    expect_shape(&b, "model.layers.0.mlp.up_proj.bias", 100, 0);
    expect_shape(&b, "model.layers.0.mlp.down_proj.bias", 64, 0);
    expect_shape(&b, "model.layers.0.input_layernorm.bias", 64, 0);
    expect_shape(&b, "model.layers.0.post_attention_layernorm.bias", 64, 0);
    expect_shape(&b, "model.norm.bias", 64, 0);
    assert_int_equal(T(&b, "model.norm.bias")->init.kind, LLMC_PINIT_ZEROS);
    assert_int_equal(T(&b, "model.norm.weight")->init.kind, LLMC_PINIT_ONES);
    assert_int_equal(T(&b, "model.layers.0.mlp.up_proj.bias")->init.kind, LLMC_PINIT_ZEROS);
    expect_absent(&b, "model.layers.0.mlp.gate_proj.weight");
    expect_absent(&b, "lm_head.bias");
    assert_int_equal(ops_of_type(&b, LLMC_OP_LAYERNORM), 3);
    built_free(&b);

    /* only qkv: attn_out, mlp stay without bias */
    build(&b, spec_text(SMALL "bias: {qkv: true}\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    expect_shape(&b, "model.layers.0.self_attn.k_proj.bias", 64, 0);
    expect_absent(&b, "model.layers.0.self_attn.o_proj.bias");
    expect_absent(&b, "model.layers.0.mlp.down_proj.bias");
    /* RMSNorm has no bias even though bias.norm defaults to true */
    assert_true(b.spec->bias.norm);
    expect_absent(&b, "model.layers.0.input_layernorm.bias");
    expect_shape(&b, "model.layers.0.input_layernorm.weight", 64, 0);
    built_free(&b);

    /* layernorm without bias */
    build(&b, spec_text(SMALL "norm: layernorm\nbias: {norm: false}\ndims: {num_layers: 1, hidden_size: 64, "
                              "num_heads: 2}\n"));
    expect_absent(&b, "model.norm.bias");
    assert_int_equal(b.counted.component[LLMC_COMP_NORM], 3 * 64);
    built_free(&b);

    /* no_norm: no norm parameters and no norm ops */
    build(&b, spec_text(SMALL "norm: no_norm\ndims: {num_layers: 2, hidden_size: 64, num_heads: 2}\n"));
    assert_int_equal(b.counted.component[LLMC_COMP_NORM], 0);
    assert_int_equal(ops_of_type(&b, LLMC_OP_RMSNORM) + ops_of_type(&b, LLMC_OP_LAYERNORM), 0);
    assert_int_equal(params_named_like(&b, "norm"), 0);
    built_free(&b);
}

static void test_mlp_kinds(void **state) {
    (void)state;
    built b;
    build(&b, spec_text(SMALL "dims: {num_layers: 1, hidden_size: 96, num_heads: 2}\n"));
    /* swiglu convention: 256 * ceil(8 * 96 / 768) = 256 */
    assert_int_equal(b.dims.v[LLMC_DIM_INTERMEDIATE_SIZE], 256);
    expect_shape(&b, "model.layers.0.mlp.gate_proj.weight", 256, 96);
    expect_shape(&b, "model.layers.0.mlp.up_proj.weight", 256, 96);
    expect_shape(&b, "model.layers.0.mlp.down_proj.weight", 96, 256);
    assert_int_equal(ops_of_type(&b, LLMC_OP_SWIGLU), 1);
    built_free(&b);

    build(&b, spec_text(SMALL "activation: geglu\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    const llmc_op_info *op = op_named(&b, "model.layers.0.mlp.act");
    assert_int_equal(op->type, LLMC_OP_GEGLU);
    assert_int_equal(llmc_op_attr(op, "approximate")->i, 1);
    built_free(&b);

    static const char *const plain[] = {"gelu", "gelu_tanh", "relu", "silu", "relu_squared"};
    for (size_t i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof text, SMALL "activation: %s\ndims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n",
                 plain[i]);
        build(&b, spec_text(text));
        assert_int_equal(b.dims.v[LLMC_DIM_INTERMEDIATE_SIZE], 256); /* 4 * hidden */
        expect_absent(&b, "model.layers.0.mlp.gate_proj.weight");
        expect_shape(&b, "model.layers.0.mlp.up_proj.weight", 256, 64);
        op = op_named(&b, "model.layers.0.mlp.act");
        assert_int_equal(op->type, LLMC_OP_ACTIVATION);
        assert_string_equal(llmc_op_attr(op, "fn")->s, plain[i]);
        assert_int_equal(b.counted.component[LLMC_COMP_MLP], 2 * 64 * 256);
        built_free(&b);
    }
}

static void test_param_metadata(void **state) {
    (void)state;
    built b;
    build(&b, spec_text(SMALL "precision: bfloat16\nweights: {init: scaled_normal, std: 0.05}\n"
                              "dims: {num_layers: 8, hidden_size: 64, num_heads: 2}\n"));
    const llmc_tensor_info *t = T(&b, "model.layers.3.self_attn.q_proj.weight");
    assert_int_equal(t->dtype, LLMC_DTYPE_BF16);
    assert_int_equal(t->component, LLMC_COMP_ATTENTION);
    assert_int_equal(t->stack, LLMC_STACK_DECODER);
    assert_int_equal(t->layer, 3);
    assert_int_equal(t->init.kind, LLMC_PINIT_NORMAL);
    assert_true(t->init.std == 0.05);
    assert_true(T(&b, "model.layers.3.self_attn.o_proj.weight")->init.std == 0.05 / sqrt(16.0));
    assert_true(T(&b, "model.layers.3.mlp.down_proj.weight")->init.std == 0.05 / sqrt(16.0));
    assert_true(T(&b, "model.layers.3.mlp.up_proj.weight")->init.std == 0.05);
    t = T(&b, "model.embed_tokens.weight");
    assert_int_equal(t->stack, LLMC_STACK_NONE);
    assert_int_equal(t->layer, -1);
    assert_int_equal(t->component, LLMC_COMP_EMBEDDING);
    assert_true(t->init.std == 0.05);
    t = T(&b, "model.layers.7.post_attention_layernorm.weight");
    assert_int_equal(t->component, LLMC_COMP_NORM);
    assert_int_equal(t->layer, 7);
    assert_int_equal(T(&b, "model.norm.weight")->stack, LLMC_STACK_NONE);
    assert_int_equal(llmc_ir_tensor(b.ir, llmc_ir_find(b.ir, "input_ids"))->dtype, LLMC_DTYPE_I64);
    assert_string_equal(llmc_ir_get_meta(b.ir, "template"), "decoder_only");
    /* per-layer counts are equal */
    llmc_param_count l0, l7;
    assert_int_equal(llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, 0, &l0, NULL), 0);
    assert_int_equal(llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, 7, &l7, NULL), 0);
    assert_int_equal(l0.total, l7.total);
    assert_int_equal(l0.total, 4 * 64 * 64 + 3 * 64 * 256 + 2 * 64);
    built_free(&b);
}

/* ---- parameter roles (IR format 2) ------------------------------------------------------------------------ */

typedef struct role_rule {
    const char *suffix;     /* the end of the parameter's name */
    llmc_param_role role;
    bool is_bias;
    llmc_norm_site site;
} role_rule;

/* Every parameter of the example's graph matches exactly the rule of its name's suffix (the
 * longest one that matches), and is in the block its name says. Returns how many it checked. */
static size_t expect_roles(const char *file, const role_rule *rules, size_t n_rules, llmc_ir_structure structure) {
    built b;
    build(&b, spec_example(file));
    assert_int_equal(llmc_ir_get_structure(b.ir), structure);
    size_t checked = 0;
    for (size_t i = 0; i < llmc_ir_num_tensors(b.ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(b.ir, (llmc_tid)i);
        if (t->kind != LLMC_TENSOR_PARAM) continue;
        const role_rule *best = NULL;
        size_t n = strlen(t->name);
        for (size_t k = 0; k < n_rules; k++) {
            size_t m = strlen(rules[k].suffix);
            if (m <= n && !strcmp(t->name + n - m, rules[k].suffix) && (!best || m > strlen(best->suffix)))
                best = &rules[k];
        }
        if (!best) fail_msg("%s: no expected role for '%s'", file, t->name);
        if (t->role != best->role || t->is_bias != best->is_bias || t->norm_site != best->site)
            fail_msg("%s: '%s' is %s%s (norm site %s), want %s%s (%s)", file, t->name, llmc_param_role_name(t->role),
                     t->is_bias ? " bias" : "", llmc_norm_site_name(t->norm_site), llmc_param_role_name(best->role),
                     best->is_bias ? " bias" : "", llmc_norm_site_name(best->site));
        if (t->stack != LLMC_STACK_NONE && !llmc_ir_find_block(b.ir, t->stack, t->layer))
            fail_msg("%s: '%s' is in block %s %d, which has no descriptor", file, t->name, llmc_stack_name(t->stack),
                     t->layer);
        checked++;
    }
    /* every block: sequential, pre-norm (sandwich when the spec says so), attention + MLP;
     * cross-attention exactly in the decoder of an encoder-decoder */
    assert_true(llmc_ir_num_blocks(b.ir) > 0);
    for (size_t i = 0; i < llmc_ir_num_blocks(b.ir); i++) {
        const llmc_ir_block *blk = llmc_ir_block_at(b.ir, i);
        assert_int_equal(blk->residual, LLMC_RESIDUAL_SEQUENTIAL);
        assert_int_equal(blk->norm_placement, b.spec->sandwich_norm ? LLMC_NORM_PLACEMENT_SANDWICH : LLMC_NORM_PLACEMENT_PRE);
        assert_true(blk->self_attention && blk->mlp);
        assert_int_equal(blk->cross_attention,
                         structure == LLMC_STRUCTURE_ENCODER_DECODER && blk->stack == LLMC_STACK_DECODER);
    }
    /* ir.json carries all of it: the graph read back has the same roles, scopes and blocks, and writes the same text */
    char *text = llmc_ir_to_json(b.ir);
    assert_non_null(text);
    llmc_diags *d = llmc_diags_create();
    llmc_ir *back = llmc_ir_from_json(text, strlen(text), file, d);
    if (!back) fail_msg("%s: ir.json does not read back:\n%s", file, test_all_diags(d));
    assert_int_equal(llmc_ir_get_structure(back), structure);
    assert_int_equal(llmc_ir_num_blocks(back), llmc_ir_num_blocks(b.ir));
    assert_memory_equal(llmc_ir_block_at(back, 0), llmc_ir_block_at(b.ir, 0), sizeof(llmc_ir_block));
    for (size_t i = 0; i < llmc_ir_num_tensors(b.ir); i++) {
        const llmc_tensor_info *x = llmc_ir_tensor(b.ir, (llmc_tid)i), *y = llmc_ir_tensor(back, (llmc_tid)i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->role, y->role);
        assert_int_equal(x->is_bias, y->is_bias);
        assert_int_equal(x->norm_site, y->norm_site);
    }
    for (size_t i = 0; i < llmc_ir_num_ops(b.ir); i++) {
        const llmc_op_info *x = llmc_ir_op_at(b.ir, i), *y = llmc_ir_op_at(back, i);
        assert_int_equal(x->stack, y->stack);
        assert_int_equal(x->layer, y->layer);
        assert_int_equal(x->role, y->role);
    }
    char *again = llmc_ir_to_json(back);
    assert_string_equal(text, again);
    free(again);
    free(text);
    llmc_ir_free(back);
    llmc_diags_free(d);
    built_free(&b);
    return checked;
}

#define N_RULES(r) (sizeof(r) / sizeof *(r))

static void test_roles_llama(void **state) {
    (void)state;
    static const role_rule llama[] = {
        {"model.embed_tokens.weight", LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE},
        {"self_attn.q_proj.weight", LLMC_ROLE_ATTN_Q, false, LLMC_NORM_SITE_NONE},
        {"self_attn.k_proj.weight", LLMC_ROLE_ATTN_K, false, LLMC_NORM_SITE_NONE},
        {"self_attn.v_proj.weight", LLMC_ROLE_ATTN_V, false, LLMC_NORM_SITE_NONE},
        {"self_attn.o_proj.weight", LLMC_ROLE_ATTN_O, false, LLMC_NORM_SITE_NONE},
        {"mlp.gate_proj.weight", LLMC_ROLE_MLP_GATE, false, LLMC_NORM_SITE_NONE},
        {"mlp.up_proj.weight", LLMC_ROLE_MLP_UP, false, LLMC_NORM_SITE_NONE},
        {"mlp.down_proj.weight", LLMC_ROLE_MLP_DOWN, false, LLMC_NORM_SITE_NONE},
        {"input_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_INPUT},
        /* HF's name; in a pre-norm block it normalises the MLP's input */
        {"post_attention_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_MLP_INPUT},
        {"model.norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_FINAL},
        {"lm_head.weight", LLMC_ROLE_OUTPUT_HEAD, false, LLMC_NORM_SITE_NONE}};
    assert_int_equal(expect_roles("llama2-7b.yaml", llama, N_RULES(llama), LLMC_STRUCTURE_DECODER_ONLY), 2 + 32 * 9 + 1);
}

/* QK-norm: q_norm / k_norm are norms at sites attn_q / attn_k, [head_dim], and their RMSNORM
 * ops sit between the head reshape and the rotary of q and k */
static void test_roles_qwen3(void **state) {
    (void)state;
    static const role_rule qwen3[] = {
        {"model.embed_tokens.weight", LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE},
        {"self_attn.q_proj.weight", LLMC_ROLE_ATTN_Q, false, LLMC_NORM_SITE_NONE},
        {"self_attn.k_proj.weight", LLMC_ROLE_ATTN_K, false, LLMC_NORM_SITE_NONE},
        {"self_attn.v_proj.weight", LLMC_ROLE_ATTN_V, false, LLMC_NORM_SITE_NONE},
        {"self_attn.o_proj.weight", LLMC_ROLE_ATTN_O, false, LLMC_NORM_SITE_NONE},
        {"self_attn.q_norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_Q},
        {"self_attn.k_norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_K},
        {"mlp.gate_proj.weight", LLMC_ROLE_MLP_GATE, false, LLMC_NORM_SITE_NONE},
        {"mlp.up_proj.weight", LLMC_ROLE_MLP_UP, false, LLMC_NORM_SITE_NONE},
        {"mlp.down_proj.weight", LLMC_ROLE_MLP_DOWN, false, LLMC_NORM_SITE_NONE},
        {"input_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_INPUT},
        {"post_attention_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_MLP_INPUT},
        {"model.norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_FINAL}};
    assert_int_equal(expect_roles("qwen3-0.6b.yaml", qwen3, N_RULES(qwen3), LLMC_STRUCTURE_DECODER_ONLY),
                     1 + 28 * 11 + 1);
    built b;
    build(&b, spec_example("qwen3-0.6b.yaml"));
    static const char *const heads[2][3] = {
        {"model.layers.5.self_attn.q_heads:0", "model.layers.5.self_attn.q_norm", "model.layers.5.self_attn.q_rope"},
        {"model.layers.5.self_attn.k_heads:0", "model.layers.5.self_attn.k_norm", "model.layers.5.self_attn.k_rope"}};
    for (int h = 0; h < 2; h++) {
        const llmc_op_info *norm = NULL, *rope = NULL;
        for (size_t i = 0; i < llmc_ir_num_ops(b.ir); i++) {
            const llmc_op_info *op = llmc_ir_op_at(b.ir, i);
            if (!strcmp(op->name, heads[h][1])) norm = op;
            if (!strcmp(op->name, heads[h][2])) rope = op;
        }
        assert_non_null(norm);
        assert_non_null(rope);
        assert_int_equal(norm->type, LLMC_OP_RMSNORM);
        assert_string_equal(llmc_ir_tensor(b.ir, norm->inputs[0])->name, heads[h][0]);
        const llmc_tensor_info *w = llmc_ir_tensor(b.ir, norm->inputs[1]);
        assert_int_equal(w->rank, 1);
        assert_int_equal(w->shape[0], 128);
        assert_int_equal(w->norm_site, h ? LLMC_NORM_SITE_ATTN_K : LLMC_NORM_SITE_ATTN_Q);
        assert_true(llmc_attr_number(llmc_op_attr(norm, "eps")) == 1e-6);
        assert_int_equal(rope->inputs[0], norm->outputs[0]);
    }
    built_free(&b);
}

/* Gemma-2: the four norms of a sandwich block at their sites (their RMSNORMs scale by 1 + w, w
 * starting at 0), the embedding scaled by sqrt(2304) = 48, soft-capped scores (50) and logits
 * (30), scale 256^-0.5, and the window on even layers only (layer 0 windowed, 1 global) */
static void test_roles_gemma2(void **state) {
    (void)state;
    static const role_rule gemma2[] = {
        {"model.embed_tokens.weight", LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE},
        {"self_attn.q_proj.weight", LLMC_ROLE_ATTN_Q, false, LLMC_NORM_SITE_NONE},
        {"self_attn.k_proj.weight", LLMC_ROLE_ATTN_K, false, LLMC_NORM_SITE_NONE},
        {"self_attn.v_proj.weight", LLMC_ROLE_ATTN_V, false, LLMC_NORM_SITE_NONE},
        {"self_attn.o_proj.weight", LLMC_ROLE_ATTN_O, false, LLMC_NORM_SITE_NONE},
        {"mlp.gate_proj.weight", LLMC_ROLE_MLP_GATE, false, LLMC_NORM_SITE_NONE},
        {"mlp.up_proj.weight", LLMC_ROLE_MLP_UP, false, LLMC_NORM_SITE_NONE},
        {"mlp.down_proj.weight", LLMC_ROLE_MLP_DOWN, false, LLMC_NORM_SITE_NONE},
        {"input_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_INPUT},
        {"post_attention_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_POST_ATTN},
        {"pre_feedforward_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_MLP_INPUT},
        {"post_feedforward_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_POST_MLP},
        {"model.norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_FINAL}};
    assert_int_equal(expect_roles("gemma-2-2b.yaml", gemma2, N_RULES(gemma2), LLMC_STRUCTURE_DECODER_ONLY),
                     1 + 26 * 11 + 1);
    built b;
    build(&b, spec_example("gemma-2-2b.yaml"));
    for (size_t i = 0; i < llmc_ir_num_blocks(b.ir); i++)
        assert_int_equal(llmc_ir_block_at(b.ir, i)->norm_placement, LLMC_NORM_PLACEMENT_SANDWICH);
    const llmc_op_info *es = op_named(&b, "model.embed_scale");
    assert_non_null(es);
    assert_int_equal(es->type, LLMC_OP_SCALE);
    assert_true(llmc_attr_number(llmc_op_attr(es, "factor")) == 48.0);
    for (int layer = 0; layer < 4; layer++) {
        char name[96];
        snprintf(name, sizeof name, "model.layers.%d.self_attn.attention", layer);
        const llmc_op_info *at = op_named(&b, name);
        assert_non_null(at);
        assert_string_equal(llmc_op_attr(at, "mask")->s, layer % 2 == 0 ? "sliding_window" : "causal");
        if (layer % 2 == 0) assert_int_equal(llmc_op_attr(at, "window")->i, 4096);
        else assert_null(llmc_op_attr(at, "window"));
        assert_true(llmc_attr_number(llmc_op_attr(at, "softcap")) == 50.0);
        assert_true(llmc_attr_number(llmc_op_attr(at, "scale")) == 1.0 / 16.0);
        snprintf(name, sizeof name, "model.layers.%d.post_feedforward_layernorm", layer);
        const llmc_op_info *n = op_named(&b, name);
        assert_non_null(n);
        assert_true(llmc_attr_number(llmc_op_attr(n, "weight_offset")) == 1.0);
        assert_int_equal(llmc_ir_tensor(b.ir, n->inputs[1])->init.kind, LLMC_PINIT_ZEROS);
    }
    const llmc_op_info *cap = op_named(&b, "final_logit_softcap");
    assert_non_null(cap);
    assert_int_equal(cap->type, LLMC_OP_SOFTCAP);
    assert_true(llmc_attr_number(llmc_op_attr(cap, "cap")) == 30.0);
    assert_int_equal(cap->outputs[0], llmc_ir_output(b.ir, 0));
    built_free(&b);
}

/* parallel_residual: every block parallel and pre-norm with one norm (site block_input), Phi's
 * names and roles (dense, fc1, fc2, final_layernorm), every ROPE op rotating 0.4 of the head */
static void test_roles_phi(void **state) {
    (void)state;
    built b;
    build(&b, spec_example("phi-2.yaml"));
    static const struct { const char *suffix; llmc_param_role role; llmc_norm_site site; } want[] = {
        {"input_layernorm.weight", LLMC_ROLE_NORM, LLMC_NORM_SITE_BLOCK_INPUT},
        {"self_attn.q_proj.weight", LLMC_ROLE_ATTN_Q, LLMC_NORM_SITE_NONE},
        {"self_attn.dense.weight", LLMC_ROLE_ATTN_O, LLMC_NORM_SITE_NONE},
        {"mlp.fc1.weight", LLMC_ROLE_MLP_UP, LLMC_NORM_SITE_NONE},
        {"mlp.fc2.weight", LLMC_ROLE_MLP_DOWN, LLMC_NORM_SITE_NONE},
        {"model.final_layernorm.weight", LLMC_ROLE_NORM, LLMC_NORM_SITE_FINAL},
        {"lm_head.bias", LLMC_ROLE_OUTPUT_HEAD, LLMC_NORM_SITE_NONE}};
    size_t params = 0, matched = 0, ropes = 0;
    for (size_t i = 0; i < llmc_ir_num_tensors(b.ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(b.ir, (llmc_tid)i);
        if (t->kind != LLMC_TENSOR_PARAM) continue;
        params++;
        assert_null(strstr(t->name, "post_attention_layernorm"));
        for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
            size_t n = strlen(t->name), m = strlen(want[k].suffix);
            if (m > n || strcmp(t->name + n - m, want[k].suffix)) continue;
            assert_int_equal(t->role, want[k].role);
            assert_int_equal(t->norm_site, want[k].site);
            matched++;
        }
    }
    assert_int_equal(params, 1 + 32 * 14 + 2 + 2);
    assert_int_equal(matched, 32 * 5 + 2);
    assert_int_equal(llmc_ir_num_blocks(b.ir), 32);
    for (size_t i = 0; i < llmc_ir_num_blocks(b.ir); i++) {
        const llmc_ir_block *blk = llmc_ir_block_at(b.ir, i);
        assert_int_equal(blk->residual, LLMC_RESIDUAL_PARALLEL);
        assert_int_equal(blk->norm_placement, LLMC_NORM_PLACEMENT_PRE);
    }
    for (size_t i = 0; i < llmc_ir_num_ops(b.ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(b.ir, i);
        if (op->type != LLMC_OP_ROPE) continue;
        ropes++;
        assert_true(llmc_attr_number(llmc_op_attr(op, "fraction")) == 0.4);
    }
    assert_int_equal(ropes, 2 * 32);
    built_free(&b);
}

static void test_roles_gpt2(void **state) {
    (void)state;
    static const role_rule gpt2[] = {
        {"model.embed_tokens.weight", LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE},
        {"model.embed_positions.weight", LLMC_ROLE_POSITION_EMBEDDING, false, LLMC_NORM_SITE_NONE},
        {"q_proj.weight", LLMC_ROLE_ATTN_Q, false, LLMC_NORM_SITE_NONE},
        {"q_proj.bias", LLMC_ROLE_ATTN_Q, true, LLMC_NORM_SITE_NONE},
        {"k_proj.weight", LLMC_ROLE_ATTN_K, false, LLMC_NORM_SITE_NONE},
        {"k_proj.bias", LLMC_ROLE_ATTN_K, true, LLMC_NORM_SITE_NONE},
        {"v_proj.weight", LLMC_ROLE_ATTN_V, false, LLMC_NORM_SITE_NONE},
        {"v_proj.bias", LLMC_ROLE_ATTN_V, true, LLMC_NORM_SITE_NONE},
        {"o_proj.weight", LLMC_ROLE_ATTN_O, false, LLMC_NORM_SITE_NONE},
        {"o_proj.bias", LLMC_ROLE_ATTN_O, true, LLMC_NORM_SITE_NONE},
        {"up_proj.weight", LLMC_ROLE_MLP_UP, false, LLMC_NORM_SITE_NONE},
        {"up_proj.bias", LLMC_ROLE_MLP_UP, true, LLMC_NORM_SITE_NONE},
        {"down_proj.weight", LLMC_ROLE_MLP_DOWN, false, LLMC_NORM_SITE_NONE},
        {"down_proj.bias", LLMC_ROLE_MLP_DOWN, true, LLMC_NORM_SITE_NONE},
        {"input_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_INPUT},
        {"input_layernorm.bias", LLMC_ROLE_NORM, true, LLMC_NORM_SITE_ATTN_INPUT},
        {"post_attention_layernorm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_MLP_INPUT},
        {"post_attention_layernorm.bias", LLMC_ROLE_NORM, true, LLMC_NORM_SITE_MLP_INPUT},
        {"model.norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_FINAL},
        {"model.norm.bias", LLMC_ROLE_NORM, true, LLMC_NORM_SITE_FINAL}};
    /* tied: no lm_head */
    assert_int_equal(expect_roles("gpt2-124m.yaml", gpt2, N_RULES(gpt2), LLMC_STRUCTURE_DECODER_ONLY), 2 + 12 * 16 + 2);
}

static void test_roles_t5(void **state) {
    (void)state;
    static const role_rule t5[] = {
        {"shared.weight", LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_NORM_SITE_NONE},
        {"SelfAttention.q.weight", LLMC_ROLE_ATTN_Q, false, LLMC_NORM_SITE_NONE},
        {"SelfAttention.k.weight", LLMC_ROLE_ATTN_K, false, LLMC_NORM_SITE_NONE},
        {"SelfAttention.v.weight", LLMC_ROLE_ATTN_V, false, LLMC_NORM_SITE_NONE},
        {"SelfAttention.o.weight", LLMC_ROLE_ATTN_O, false, LLMC_NORM_SITE_NONE},
        {"relative_attention_bias.weight", LLMC_ROLE_RELATIVE_BIAS, false, LLMC_NORM_SITE_NONE},
        {"EncDecAttention.q.weight", LLMC_ROLE_CROSS_Q, false, LLMC_NORM_SITE_NONE},
        {"EncDecAttention.k.weight", LLMC_ROLE_CROSS_K, false, LLMC_NORM_SITE_NONE},
        {"EncDecAttention.v.weight", LLMC_ROLE_CROSS_V, false, LLMC_NORM_SITE_NONE},
        {"EncDecAttention.o.weight", LLMC_ROLE_CROSS_O, false, LLMC_NORM_SITE_NONE},
        {"DenseReluDense.wi.weight", LLMC_ROLE_MLP_UP, false, LLMC_NORM_SITE_NONE},
        {"DenseReluDense.wo.weight", LLMC_ROLE_MLP_DOWN, false, LLMC_NORM_SITE_NONE},
        {"layer.0.layer_norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_ATTN_INPUT},
        {"final_layer_norm.weight", LLMC_ROLE_NORM, false, LLMC_NORM_SITE_FINAL}};
    /* the norm of layer 1 is the MLP's in the encoder and cross-attention's in the decoder */
    role_rule all[N_RULES(t5) + 12 + 6];
    size_t n = 0;
    for (size_t i = 0; i < N_RULES(t5); i++) all[n++] = t5[i];
    static char names[18][64];
    for (int i = 0; i < 6; i++) {
        snprintf(names[3 * i], sizeof names[0], "encoder.block.%d.layer.1.layer_norm.weight", i);
        all[n++] = (role_rule){names[3 * i], LLMC_ROLE_NORM, false, LLMC_NORM_SITE_MLP_INPUT};
        snprintf(names[3 * i + 1], sizeof names[0], "decoder.block.%d.layer.1.layer_norm.weight", i);
        all[n++] = (role_rule){names[3 * i + 1], LLMC_ROLE_NORM, false, LLMC_NORM_SITE_CROSS_ATTN_INPUT};
        snprintf(names[3 * i + 2], sizeof names[0], "decoder.block.%d.layer.2.layer_norm.weight", i);
        all[n++] = (role_rule){names[3 * i + 2], LLMC_ROLE_NORM, false, LLMC_NORM_SITE_MLP_INPUT};
    }
    /* 6 + 6 blocks: encoder 4 + 2 norms + 2 MLP, decoder 8 + 3 norms + 2 MLP; a bias table per stack; shared, 2 final norms */
    assert_int_equal(expect_roles("t5-small.yaml", all, n, LLMC_STRUCTURE_ENCODER_DECODER), 6 * 8 + 6 * 13 + 2 + 3);
}

/* ---- encoder-decoder ------------------------------------------------------------------------------------------- */

static void test_t5_structure(void **state) {
    (void)state;
    built b;
    build(&b, spec_example("t5-small.yaml"));
    /* the bias table only in block 0 of each stack */
    expect_shape(&b, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 32, 8);
    expect_shape(&b, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 32, 8);
    expect_absent(&b, "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight");
    expect_absent(&b, "decoder.block.5.layer.0.SelfAttention.relative_attention_bias.weight");
    assert_int_equal(params_named_like(&b, "relative_attention_bias"), 2);
    assert_int_equal(ops_of_type(&b, LLMC_OP_RELATIVE_BIAS), 2);
    const llmc_tensor_info *t = T(&b, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    assert_int_equal(t->component, LLMC_COMP_POSITIONAL);
    assert_int_equal(t->stack, LLMC_STACK_DECODER);
    assert_int_equal(t->layer, 0);
    const llmc_op_info *rb = op_named(&b, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias");
    assert_int_equal(llmc_op_attr(rb, "bidirectional")->i, 1);
    assert_int_equal(llmc_op_attr(rb, "q_len_sym")->i, LLMC_SYM_SRC_SEQ);
    rb = op_named(&b, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias");
    assert_int_equal(llmc_op_attr(rb, "bidirectional")->i, 0);
    assert_int_equal(llmc_op_attr(rb, "k_len_sym")->i, LLMC_SYM_SEQ);
    /* every decoder self-attention uses the decoder table's bias */
    llmc_tid bias = llmc_ir_find(b.ir, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias:0");
    const llmc_op_info *a = op_named(&b, "decoder.block.4.layer.0.SelfAttention.attention");
    assert_true(a->inputs[3] == bias);
    assert_string_equal(llmc_op_attr(a, "mask")->s, "causal");
    assert_true(llmc_op_attr(a, "scale")->f == 1.0);
    a = op_named(&b, "encoder.block.2.layer.0.SelfAttention.attention");
    assert_string_equal(llmc_op_attr(a, "mask")->s, "none");
    a = op_named(&b, "decoder.block.2.layer.1.EncDecAttention.attention");
    assert_string_equal(llmc_op_attr(a, "mask")->s, "none");
    assert_true(a->n_inputs < 4 || a->inputs[3] == LLMC_TID_NONE);
    /* cross-attention keys come from the encoder output (source length T) */
    const llmc_tensor_info *k = T(&b, "decoder.block.2.layer.1.EncDecAttention.k_heads:0");
    assert_int_equal(k->shape[1], LLMC_SYM_SRC_SEQ);
    /* names and shapes */
    expect_shape(&b, "shared.weight", 32128, 512);
    expect_absent(&b, "lm_head.weight");
    expect_shape(&b, "encoder.block.5.layer.1.DenseReluDense.wi.weight", 2048, 512);
    expect_shape(&b, "encoder.block.5.layer.1.DenseReluDense.wo.weight", 512, 2048);
    expect_shape(&b, "decoder.block.5.layer.2.DenseReluDense.wi.weight", 2048, 512);
    expect_shape(&b, "decoder.block.5.layer.1.EncDecAttention.o.weight", 512, 512);
    expect_shape(&b, "decoder.block.5.layer.2.layer_norm.weight", 512, 0);
    expect_shape(&b, "encoder.final_layer_norm.weight", 512, 0);
    expect_shape(&b, "decoder.final_layer_norm.weight", 512, 0);
    expect_absent(&b, "encoder.block.0.layer.0.layer_norm.bias");
    assert_int_equal(T(&b, "encoder.block.3.layer.0.SelfAttention.q.weight")->stack, LLMC_STACK_ENCODER);
    assert_int_equal(T(&b, "decoder.block.3.layer.1.EncDecAttention.q.weight")->stack, LLMC_STACK_DECODER);
    assert_int_equal(T(&b, "decoder.block.3.layer.1.EncDecAttention.q.weight")->layer, 3);
    /* the tied head rescales by hidden_size^-0.5 */
    const llmc_op_info *sc = op_named(&b, "decoder.tied_head_scale");
    assert_non_null(sc);
    assert_true(llmc_op_attr(sc, "factor")->f == 1.0 / sqrt(512.0));
    assert_true(op_named(&b, "lm_head")->inputs[1] == llmc_ir_find(b.ir, "shared.weight"));
    /* inputs */
    const llmc_tensor_info *in = T(&b, "input_ids");
    assert_int_equal(in->shape[1], LLMC_SYM_SRC_SEQ);
    in = T(&b, "decoder_input_ids");
    assert_int_equal(in->shape[1], LLMC_SYM_SEQ);
    /* t5 initialisation */
    assert_true(T(&b, "shared.weight")->init.std == 1.0);
    assert_true(T(&b, "encoder.block.0.layer.0.SelfAttention.q.weight")->init.std == 1.0 / sqrt(512.0 * 64.0));
    assert_true(T(&b, "encoder.block.0.layer.0.SelfAttention.k.weight")->init.std == 1.0 / sqrt(512.0));
    assert_true(T(&b, "decoder.block.0.layer.1.EncDecAttention.v.weight")->init.std == 1.0 / sqrt(512.0));
    assert_true(T(&b, "encoder.block.0.layer.0.SelfAttention.o.weight")->init.std == 1.0 / sqrt(512.0));
    assert_true(T(&b, "encoder.block.0.layer.1.DenseReluDense.wi.weight")->init.std == 1.0 / sqrt(512.0));
    assert_true(T(&b, "encoder.block.0.layer.1.DenseReluDense.wo.weight")->init.std == 1.0 / sqrt(2048.0));
    assert_true(T(&b, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")->init.std ==
                1.0 / sqrt(512.0));
    assert_int_equal(T(&b, "encoder.final_layer_norm.weight")->init.kind, LLMC_PINIT_ONES);
    /* layer 0 of each stack holds its bias table: 256 more than the other layers */
    llmc_param_count l0, l1;
    llmc_ir_count_layer(b.ir, LLMC_STACK_ENCODER, 0, &l0, NULL);
    llmc_ir_count_layer(b.ir, LLMC_STACK_ENCODER, 1, &l1, NULL);
    assert_int_equal(l0.total, l1.total + 256);
    assert_int_equal(l1.total, 3146752);
    llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, 1, &l1, NULL);
    assert_int_equal(l1.total, 4195840);
    built_free(&b);
}

static void test_encdec_variants(void **state) {
    (void)state;
    built b;
    /* gated T5 v1.1 style, untied: wi_0 / wi_1, lm_head, no rescaling, gqa cross-attention */
    build(&b, spec_text("template: encoder_decoder\n" SMALL "positional_encoding: relative\nactivation: geglu\n"
                        "dims: {num_layers: 2, hidden_size: 64, num_heads: 4, num_kv_heads: 2, intermediate_size: 96}\n"));
    assert_int_equal(b.dims.v[LLMC_DIM_NUM_ENCODER_LAYERS], 2);
    assert_int_equal(b.dims.v[LLMC_DIM_NUM_DECODER_LAYERS], 2);
    expect_shape(&b, "encoder.block.1.layer.1.DenseReluDense.wi_0.weight", 96, 64);
    expect_shape(&b, "encoder.block.1.layer.1.DenseReluDense.wi_1.weight", 96, 64);
    expect_absent(&b, "encoder.block.1.layer.1.DenseReluDense.wi.weight");
    expect_shape(&b, "decoder.block.1.layer.1.EncDecAttention.k.weight", 32, 64);
    expect_shape(&b, "lm_head.weight", 1000, 64);
    assert_null(op_named(&b, "decoder.tied_head_scale"));
    built_free(&b);

    /* BART style: learned positions per stack, layernorm with bias, biases, 1/sqrt(d) scale,
     * tied head without rescaling, different stack depths */
    build(&b, spec_text("template: encoder_decoder\n" SMALL "positional_encoding: learned\nnorm: layernorm\n"
                        "activation: gelu\nbias: {qkv: true, attn_out: true, mlp: true, norm: true}\n"
                        "tie_word_embeddings: true\n"
                        "dims: {num_encoder_layers: 3, num_decoder_layers: 1, hidden_size: 64, num_heads: 4}\n"));
    expect_shape(&b, "encoder.embed_positions.weight", 128, 64);
    expect_shape(&b, "decoder.embed_positions.weight", 128, 64);
    expect_shape(&b, "encoder.block.2.layer.0.SelfAttention.q.bias", 64, 0);
    expect_shape(&b, "decoder.block.0.layer.1.EncDecAttention.o.bias", 64, 0);
    expect_shape(&b, "decoder.block.0.layer.2.DenseReluDense.wi.bias", 256, 0);
    expect_shape(&b, "decoder.block.0.layer.2.layer_norm.bias", 64, 0);
    expect_shape(&b, "encoder.final_layer_norm.bias", 64, 0);
    expect_absent(&b, "encoder.block.3.layer.0.SelfAttention.q.weight");
    expect_absent(&b, "decoder.block.1.layer.0.SelfAttention.q.weight");
    assert_null(op_named(&b, "decoder.tied_head_scale"));
    assert_true(fabs(llmc_op_attr(op_named(&b, "decoder.block.0.layer.1.EncDecAttention.attention"), "scale")->f -
                     0.25) < 1e-15);
    assert_int_equal(b.counted.component[LLMC_COMP_POSITIONAL], 2 * 128 * 64);
    built_free(&b);

    /* rope in an encoder-decoder: self-attention only */
    build(&b, spec_text("template: encoder_decoder\n" SMALL "dims: {num_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    assert_non_null(op_named(&b, "encoder.block.0.layer.0.SelfAttention.q_rope"));
    assert_non_null(op_named(&b, "decoder.block.0.layer.0.SelfAttention.k_rope"));
    assert_null(op_named(&b, "decoder.block.0.layer.1.EncDecAttention.q_rope"));
    assert_int_equal(ops_of_type(&b, LLMC_OP_ROPE), 4);
    built_free(&b);

    /* one pinned stack depth plus num_layers for the other */
    build(&b, spec_text("template: encoder_decoder\n" SMALL
                        "dims: {num_layers: 3, num_decoder_layers: 1, hidden_size: 64, num_heads: 2}\n"));
    assert_int_equal(b.dims.v[LLMC_DIM_NUM_ENCODER_LAYERS], 3);
    assert_int_equal(b.dims.v[LLMC_DIM_NUM_DECODER_LAYERS], 1);
    built_free(&b);
}

/* ---- validation ------------------------------------------------------------------------------------------------ */

static void test_validate_decoder_only(void **state) {
    (void)state;
    expect_invalid("vocab_size: 1000\ntarget_params: 10M\npositional_encoding: relative\nweights: {init: t5}\n"
                   "dims: {num_encoder_layers: 2, num_decoder_layers: 2}\n",
                   "spec.yaml:3:22: positional_encoding: relative is not supported by template decoder_only "
                   "(T5-style relative position buckets need template: encoder_decoder); use rope or alibi\n"
                   "spec.yaml:4:17: weights.init: t5 applies only to template encoder_decoder (use normal or "
                   "scaled_normal with decoder_only)\n"
                   "spec.yaml:5:28: dims.num_encoder_layers: does not apply to template decoder_only (use "
                   "dims.num_layers)\n"
                   "spec.yaml:5:51: dims.num_decoder_layers: does not apply to template decoder_only (use "
                   "dims.num_layers)");
    expect_invalid("vocab_size: 1000\ntarget_params: 10M\n"
                   "dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}\n",
                   "spec.yaml:2:16: target_params: dims fix every dimension of template decoder_only and give "
                   "210,240 parameters, 97.9% from target_params 10,000,000 (tolerance 3.16228%); remove target_params, "
                   "or unpin a dimension for the solver to choose");
    /* ... but within tolerance the budget is only checked: that is OUT/spec.json of a solved compile */
    llmc_spec *fixed = spec_text("vocab_size: 1000\ntarget_params: 210K\n"
                                 "dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}\n");
    expect_valid(fixed);
    llmc_spec_free(fixed);
    expect_invalid("vocab_size: 1000\ndims: {num_layers: 2}\n",
                   "spec.yaml:2:1: dims: incomplete without target_params: missing hidden_size, num_heads (or "
                   "head_dim) (pin them, or set target_params for the solver to choose)");
    expect_invalid("vocab_size: 1000\nattention: gqa\ndims: {hidden_size: 64, head_dim: 32}\n",
                   "spec.yaml:3:1: dims: incomplete without target_params: missing num_layers, num_kv_heads "
                   "(attention: gqa needs it) (pin them, or set target_params for the solver to choose)");
    expect_invalid("vocab_size: 1000\ndims: {num_layers: 1, hidden_size: 1000, head_dim: 64}\n",
                   "spec.yaml:2:36: dims.hidden_size: must be a multiple of dims.head_dim when dims.num_heads is "
                   "not given (1000 % 64 = 40)");
    expect_invalid("vocab_size: 1000\ndims: {num_layers: 1, hidden_size: 1280, head_dim: 64, num_kv_heads: 8}\n",
                   "spec.yaml:2:70: dims.num_kv_heads: must divide num_heads = hidden_size / head_dim = 20 "
                   "(20 % 8 = 4)");
    expect_invalid("vocab_size: 1000\nattention: mha\ndims: {num_layers: 1, hidden_size: 256, head_dim: 64, "
                   "num_kv_heads: 2}\n",
                   "spec.yaml:2:12: attention: mha needs dims.num_kv_heads equal to num_heads = hidden_size / "
                   "head_dim = 4 (got 2; use gqa for grouped heads)");
    expect_invalid("vocab_size: 1000\npositional_encoding: sinusoidal\ndims: {num_layers: 1, hidden_size: 9, "
                   "num_heads: 3}\n",
                   "spec.yaml:3:36: dims.hidden_size: must be even with positional_encoding: sinusoidal, half sines "
                   "and half cosines (got 9)");
    /* a constraint over a derived dim, which the loader could not check */
    expect_invalid("vocab_size: 1000\ndims: {num_layers: 1, hidden_size: 256, num_heads: 2}\n"
                   "constraints:\n  - head_dim == 64\n",
                   "spec.yaml:4:5: constraints[0]: 'head_dim == 64' is false for the dims template decoder_only "
                   "derives (head_dim = 128 (derived))");
    expect_invalid("vocab_size: 1000\ndims: {num_layers: 5000, hidden_size: 64, num_heads: 1}\n",
                   "spec.yaml:2:20: dims.num_layers: must be <= 4096 for template decoder_only (got 5000)");
    /* 64-bit overflow of the count */
    expect_invalid("vocab_size: 2147483647\ndims: {num_layers: 4096, hidden_size: 2147483646, num_heads: 1}\n",
                   "spec.yaml:2:1: dims: the parameter count of these dims does not fit in 64 bits (make the model "
                   "smaller)");
}

static void test_validate_encoder_decoder(void **state) {
    (void)state;
    expect_invalid("template: encoder_decoder\nvocab_size: 1000\ntarget_params: 10M\nqk_norm: true\n",
                   "spec.yaml:4:10: qk_norm: is not supported by template encoder_decoder (T5 and BART have no "
                   "per-head query/key norm; use template: decoder_only, or qk_norm: false)");
    expect_invalid("template: encoder_decoder\nvocab_size: 1000\ntarget_params: 10M\npositional_encoding: alibi\n"
                   "attention: sliding_window\nsliding_window: 64\n",
                   "spec.yaml:4:22: positional_encoding: alibi is not supported by template encoder_decoder (use "
                   "relative for T5-style buckets, learned for BART-style positions, or rope, sinusoidal, none)\n"
                   "spec.yaml:5:12: attention: sliding-window attention is not supported by template "
                   "encoder_decoder (the encoder and cross-attention see the whole input; use attention: mha, mqa "
                   "or gqa)");
    /* attention defaulted from the sliding_window key: the error points at that key */
    expect_invalid("template: encoder_decoder\nvocab_size: 1000\ntarget_params: 10M\nsliding_window: 64\n",
                   "spec.yaml:4:17: sliding_window: sliding-window attention is not supported by template "
                   "encoder_decoder (the encoder and cross-attention see the whole input; use attention: mha, mqa "
                   "or gqa)");
    expect_invalid("template: encoder_decoder\nvocab_size: 1000\ndims: {num_encoder_layers: 2, hidden_size: 64}\n",
                   "spec.yaml:3:1: dims: incomplete without target_params: missing num_decoder_layers, num_heads "
                   "(or head_dim) (pin them, or set target_params for the solver to choose)");
    expect_invalid("template: encoder_decoder\nvocab_size: 1000\ndims: {hidden_size: 64}\n",
                   "spec.yaml:3:1: dims: incomplete without target_params: missing num_layers (or "
                   "num_encoder_layers and num_decoder_layers), num_heads (or head_dim) (pin them, or set "
                   "target_params for the solver to choose)");
    expect_invalid("template: encoder_decoder\nvocab_size: 1000\ntarget_params: 1M\n"
                   "dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}\n",
                   "spec.yaml:3:16: target_params: dims fix every dimension of template encoder_decoder and give "
                   "325,376 parameters, 67.46% from target_params 1,000,000 (tolerance 10%); remove target_params, "
                   "or unpin a dimension for the solver to choose");
    llmc_spec *fixed = spec_text("template: encoder_decoder\nvocab_size: 1000\ntarget_params: 325376\n"
                                 "tolerance: 0.001\n"
                                 "dims: {num_layers: 2, hidden_size: 64, num_heads: 2, intermediate_size: 128}\n");
    expect_valid(fixed);
    llmc_spec_free(fixed);
    /* num_layers next to both stack depths is only a warning */
    llmc_spec *s = spec_text("template: encoder_decoder\nvocab_size: 1000\n"
                             "dims: {num_layers: 2, num_encoder_layers: 1, num_decoder_layers: 1, hidden_size: 64, "
                             "num_heads: 2}\n");
    llmc_diags *d = llmc_diags_create();
    assert_int_equal(ENCDEC->validate(s, d), 0);
    char *got = test_all_diags(d);
    assert_string_equal(got, "spec.yaml:3:20: warning: dims.num_layers: ignored: dims.num_encoder_layers and "
                             "dims.num_decoder_layers are both given");
    free(got);
    llmc_diags_free(d);
    llmc_spec_free(s);
}

static void test_complete_dims_reason(void **state) {
    (void)state;
    llmc_spec *s = spec_text("vocab_size: 1000\ntarget_params: 1M\n");
    llmc_dims dims;
    memset(&dims, 0, sizeof dims);
    llmc_dims_put(&dims, LLMC_DIM_HIDDEN_SIZE, 64);
    llmc_diags *d = llmc_diags_create();
    assert_int_not_equal(DEC->complete_dims(s, &dims, d), 0);
    char *got = test_all_diags(d);
    assert_string_equal(got, "llmc: dims: template decoder_only cannot complete the dims: missing num_layers, "
                             "num_heads (or head_dim)");
    free(got);
    /* NULL diags is allowed (the solver's evaluate path) */
    assert_int_not_equal(DEC->complete_dims(s, &dims, NULL), 0);
    /* the count refuses incomplete dims */
    llmc_param_count c;
    assert_int_not_equal(DEC->count(s, &dims, &c), 0);
    llmc_dims_put(&dims, LLMC_DIM_NUM_LAYERS, 2);
    llmc_dims_put(&dims, LLMC_DIM_HEAD_DIM, 64);
    assert_int_equal(DEC->complete_dims(s, &dims, NULL), 0);
    assert_int_equal(dims.v[LLMC_DIM_NUM_HEADS], 1);
    assert_int_equal(dims.v[LLMC_DIM_NUM_KV_HEADS], 1);
    assert_int_equal(dims.v[LLMC_DIM_INTERMEDIATE_SIZE], 256);
    /* complete dims are a fixed point (the solution check relies on it) */
    llmc_dims again = dims;
    assert_int_equal(DEC->complete_dims(s, &again, NULL), 0);
    assert_memory_equal(&again, &dims, sizeof dims);
    /* overflow is reported, never wrapped */
    llmc_dims_put(&dims, LLMC_DIM_NUM_LAYERS, INT64_C(1) << 40);
    llmc_dims_put(&dims, LLMC_DIM_HIDDEN_SIZE, INT64_C(1) << 30);
    llmc_dims_put(&dims, LLMC_DIM_INTERMEDIATE_SIZE, INT64_C(1) << 30);
    assert_int_not_equal(DEC->count(s, &dims, &c), 0);
    llmc_diags_free(d);
    llmc_spec_free(s);
}

/* ---- the sizing problem ----------------------------------------------------------------------------------------- */

static char *problem_text(const llmc_problem *p) {
    char *out = calloc(1, 4096);
    size_t n = 0;
    for (size_t i = 0; i < llmc_problem_num_vars(p); i++) {
        const llmc_var_domain *v = llmc_problem_var(p, i);
        if (v->n_values) {
            n += (size_t)snprintf(out + n, 4096 - n, "%s in {", llmc_dim_name(v->dim));
            for (size_t k = 0; k < v->n_values; k++)
                n += (size_t)snprintf(out + n, 4096 - n, "%s%lld", k ? "," : "", (long long)v->values[k]);
            n += (size_t)snprintf(out + n, 4096 - n, "}\n");
        } else {
            n += (size_t)snprintf(out + n, 4096 - n, "%s in [%lld,%lld] step %lld\n", llmc_dim_name(v->dim),
                                  (long long)v->min, (long long)v->max, (long long)v->multiple_of);
        }
    }
    for (size_t i = 0; i < llmc_problem_num_constraints(p); i++)
        n += (size_t)snprintf(out + n, 4096 - n, "%s: %s\n", llmc_problem_constraint_origin(p, i),
                              llmc_problem_constraint_text(p, i));
    return out;
}

static void expect_problem(const char *spec, const char *want) {
    llmc_spec *s = spec_text(spec);
    expect_valid(s);
    llmc_diags *d = llmc_diags_create();
    llmc_problem *p = llmc_problem_create(s, vt_of(s), d);
    if (!p) {
        char *msg = test_all_diags(d);
        fail_msg("problem: %s", msg);
    }
    char *got = problem_text(p);
    if (strcmp(got, want) != 0) fail_msg("spec:\n%s--- got:\n%s--- want:\n%s", spec, got, want);
    free(got);
    llmc_problem_free(p);
    llmc_diags_free(d);
    llmc_spec_free(s);
}

static void test_problem(void **state) {
    (void)state;
    expect_problem("vocab_size: 32000\ntarget_params: 15M\n",
                   "num_layers in [1,256] step 1\n"
                   "hidden_size in [64,65536] step 64\n"
                   "head_dim in {32,64,80,96,128,256}\n"
                   "intermediate_size in [64,524288] step 64\n"
                   "decoder_only: hidden_size % head_dim == 0\n"
                   "decoder_only: intermediate_size in [2 * hidden_size, 8 * hidden_size]\n"
                   "decoder_only: hidden_size in [8 * num_layers, 1024 * num_layers]\n");
    expect_problem("vocab_size: 32000\ntarget_params: 1B\nattention: gqa\nactivation: gelu\ndims: {num_heads: 16}\n",
                   "num_layers in [1,256] step 1\n"
                   "hidden_size in [64,65536] step 64\n"
                   "num_kv_heads in {1,2,4,8,16}\n"
                   "intermediate_size in [64,1048576] step 64\n"
                   "decoder_only: hidden_size % num_heads == 0\n"
                   "decoder_only: head_dim % 2 == 0\n"
                   "decoder_only: num_heads % num_kv_heads == 0\n"
                   "decoder_only: num_heads in [2 * num_kv_heads, 16 * num_kv_heads]\n"
                   "decoder_only: intermediate_size in [2 * hidden_size, 16 * hidden_size]\n"
                   "decoder_only: hidden_size in [8 * num_layers, 1024 * num_layers]\n");
    /* gqa with head_dim free: the grouping over hidden_size / head_dim, prunable before derivation */
    expect_problem("vocab_size: 32000\ntarget_params: 7B\nattention: gqa\ndims: {num_layers: 32}\n",
                   "hidden_size in [64,65536] step 64\n"
                   "head_dim in {32,64,80,96,128,256}\n"
                   "num_kv_heads in {1,2,4,8,16}\n"
                   "intermediate_size in [64,524288] step 64\n"
                   "decoder_only: hidden_size % (head_dim * num_kv_heads) == 0\n"
                   "decoder_only: hidden_size in [2 * num_kv_heads * head_dim, 16 * num_kv_heads * head_dim]\n"
                   "decoder_only: intermediate_size in [2 * hidden_size, 8 * hidden_size]\n");
    /* num_heads derived from a pinned head_dim, num_kv_heads pinned: the grouping must hold */
    expect_problem("vocab_size: 32000\ntarget_params: 7B\nattention: gqa\n"
                   "dims: {head_dim: 128, num_kv_heads: 8, intermediate_size: 11008}\n",
                   "num_layers in [1,256] step 1\n"
                   "hidden_size in [64,65536] step 64\n"
                   "decoder_only: hidden_size % head_dim == 0\n"
                   "decoder_only: num_heads % num_kv_heads == 0\n"
                   "decoder_only: hidden_size in [8 * num_layers, 1024 * num_layers]\n");
    expect_problem("template: encoder_decoder\nvocab_size: 32128\ntarget_params: 60M\npositional_encoding: relative\n"
                   "dims: {head_dim: 64, intermediate_size: 2048}\nconstraints: [hidden_size <= 1024]\n",
                   "num_encoder_layers in [1,256] step 1\n"
                   "num_decoder_layers in [1,256] step 1\n"
                   "hidden_size in [64,65536] step 64\n"
                   "encoder_decoder: hidden_size % head_dim == 0\n"
                   "encoder_decoder: num_decoder_layers == num_encoder_layers\n"
                   "encoder_decoder: hidden_size in [8 * num_encoder_layers, 1024 * num_encoder_layers]\n"
                   "encoder_decoder: hidden_size in [8 * num_decoder_layers, 1024 * num_decoder_layers]\n"
                   "constraints[0]: hidden_size <= 1024\n");
    expect_problem("template: encoder_decoder\nvocab_size: 32128\ntarget_params: 60M\n"
                   "dims: {num_layers: 6, hidden_size: 512, num_heads: 8, num_kv_heads: 8}\n",
                   "intermediate_size in [64,524288] step 64\n"
                   "encoder_decoder: intermediate_size in [2 * hidden_size, 8 * hidden_size]\n");
}

/* The search solver over each template's problem: targets 10M..1T are met within tolerance,
 * the answer passes the independent check, and its IR count equals the solver's count. */
static void solve_and_check(const char *text, double *ms) {
    llmc_spec *s = spec_text(text);
    expect_valid(s);
    llmc_diags *d = llmc_diags_create();
    llmc_problem *p = llmc_problem_create(s, vt_of(s), d);
    assert_non_null(p);
    llmc_solution sol;
    memset(&sol, 0, sizeof sol);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = SEARCH->solve(p, &sol, d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (st != LLMC_SOLVE_OK) {
        char *msg = test_all_diags(d);
        fail_msg("solve:\n%s--- status %d, error %g, note %s\n%s", text, st, sol.relative_error, sol.note, msg);
    }
    assert_int_equal(llmc_problem_check_solution(p, &sol.dims, d), 0);
    built b;
    build_dims(&b, s, &sol.dims);
    assert_int_equal(b.counted.total, sol.params);
    llmc_ir_free(b.ir);
    llmc_problem_free(p);
    llmc_diags_free(d);
    llmc_spec_free(s);
}

static void test_solve_targets(void **state) {
    (void)state;
    if (!SEARCH) skip();
    static const char *const targets[] = {"10M", "15M", "125M", "350M", "1B", "7B", "13B", "70B", "175B", "1T"};
    static const char *const variants[] = {
        "vocab_size: 32000\n",
        "vocab_size: 128256\nattention: gqa\ntie_word_embeddings: true\n",
        "vocab_size: 50257\nnorm: layernorm\nactivation: gelu_tanh\npositional_encoding: learned\n"
        "bias: {qkv: true, attn_out: true, mlp: true}\ntie_word_embeddings: true\n",
        "template: encoder_decoder\nvocab_size: 32128\npositional_encoding: relative\nactivation: relu\n"
        "tie_word_embeddings: true\n",
    };
    /* the 128k vocabulary alone (tied, at least two heads of 64 for gqa) needs 16M: start at 125M */
    static const size_t first[] = {0, 2, 0, 0};
    double worst = 0;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
        for (size_t t = first[v]; t < sizeof targets / sizeof *targets; t++) {
            char text[512];
            snprintf(text, sizeof text, "%starget_params: %s\n", variants[v], targets[t]);
            double ms;
            solve_and_check(text, &ms);
            if (ms > worst) worst = ms;
        }
    print_message("slowest solve: %.1f ms\n", worst);
}

/* ---- property test: random valid specs ------------------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) { /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}
static int64_t pick(int64_t lo, int64_t hi) { return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1)); }
static bool coin(void) { return next() & 1; }
#define ONE_OF(arr) (arr)[next() % (sizeof(arr) / sizeof *(arr))]

#define CAT(...) n += snprintf(buf + n, len - n, __VA_ARGS__)

/* one random valid spec over every feature, with small dims */
static void random_spec(bool encdec, char *buf, size_t len) {
    size_t n = 0;
    CAT("template: %s\n", encdec ? "encoder_decoder" : "decoder_only");
    int64_t vocab = pick(1, 300), ctx = pick(1, 48);
    CAT("vocab_size: %lld\ncontext_length: %lld\n", (long long)vocab, (long long)ctx);

    static const char *const dec_pos[] = {"rope", "alibi", "learned", "sinusoidal", "none"};
    static const char *const ed_pos[] = {"rope", "relative", "learned", "sinusoidal", "none"};
    const char *pos = encdec ? ONE_OF(ed_pos) : ONE_OF(dec_pos);
    CAT("positional_encoding: %s\n", pos);

    /* heads */
    int64_t nh = ONE_OF(((int64_t[]){1, 2, 3, 4, 6, 8}));
    int64_t hd = 2 * pick(1, 8);
    static const char *const dec_attn[] = {"mha", "mqa", "gqa", "sliding_window"};
    static const char *const ed_attn[] = {"mha", "mqa", "gqa"};
    const char *attn = encdec ? ONE_OF(ed_attn) : ONE_OF(dec_attn);
    if (!strcmp(attn, "gqa") && nh == 1) attn = "mha";
    int64_t kv = 0;
    if (!strcmp(attn, "gqa")) {
        do kv = pick(1, nh - 1);
        while (nh % kv != 0);
    } else if (!strcmp(attn, "sliding_window") && coin()) {
        do kv = pick(1, nh);
        while (nh % kv != 0);
    }
    CAT("attention: %s\n", attn);
    if (!strcmp(attn, "sliding_window")) CAT("sliding_window: %lld\n", (long long)pick(1, ctx));

    /* width: head_dim derived from hidden/heads, heads derived from hidden/head_dim, or all
     * three pinned with head_dim independent of the width */
    CAT("dims:\n");
    int64_t H;
    switch (pick(0, 2)) {
    case 0:
        H = nh * hd;
        CAT("  hidden_size: %lld\n  num_heads: %lld\n", (long long)H, (long long)nh);
        break;
    case 1:
        H = nh * hd;
        CAT("  hidden_size: %lld\n  head_dim: %lld\n", (long long)H, (long long)hd);
        break;
    default:
        H = 2 * pick(1, 40);
        CAT("  hidden_size: %lld\n  num_heads: %lld\n  head_dim: %lld\n", (long long)H, (long long)nh, (long long)hd);
        break;
    }
    if (kv) CAT("  num_kv_heads: %lld\n", (long long)kv);
    else if (!strcmp(attn, "mha") && coin()) CAT("  num_kv_heads: %lld\n", (long long)nh);
    if (coin()) CAT("  intermediate_size: %lld\n", (long long)pick(1, 80));
    if (encdec) {
        switch (pick(0, 2)) {
        case 0: CAT("  num_layers: %lld\n", (long long)pick(1, 3)); break;
        case 1:
            CAT("  num_encoder_layers: %lld\n  num_decoder_layers: %lld\n", (long long)pick(1, 3), (long long)pick(1, 3));
            break;
        default: CAT("  num_layers: %lld\n  num_decoder_layers: %lld\n", (long long)pick(1, 3), (long long)pick(1, 3));
        }
    } else {
        CAT("  num_layers: %lld\n", (long long)pick(1, 3));
    }

    static const char *const norms[] = {"rmsnorm", "layernorm", "no_norm"};
    const char *norm = ONE_OF(norms);
    CAT("norm: %s\n", norm);
    if (strcmp(norm, "no_norm") != 0 && coin()) CAT("norm_eps: 1e-6\n");
    static const char *const acts[] = {"swiglu", "geglu", "gelu", "gelu_tanh", "relu", "silu", "relu_squared"};
    CAT("activation: %s\n", ONE_OF(acts));

    if (!strcmp(pos, "rope") && coin()) {
        CAT("rope:\n  theta: %lld\n", (long long)ONE_OF(((int64_t[]){10000, 500000, 1000000})));
        switch (pick(0, 4)) {
        case 1: CAT("  scaling: {type: linear, factor: 2}\n"); break;
        case 2: CAT("  scaling: {type: dynamic, factor: 2.5}\n"); break;
        case 3: CAT("  scaling: {type: yarn, factor: 4, beta_fast: 32, beta_slow: 1}\n"); break;
        case 4:
            CAT("  scaling: {type: llama3, factor: 8, original_context_length: 16, low_freq_factor: 1, "
                "high_freq_factor: 4}\n");
            break;
        default: break;
        }
    }
    if (!strcmp(pos, "alibi") && coin()) CAT("alibi_max_bias: %lld\n", (long long)pick(1, 16));
    if (!strcmp(pos, "relative") && coin()) {
        int64_t nb = pick(4, 40);
        CAT("relative_attention: {num_buckets: %lld, max_distance: %lld}\n", (long long)nb,
            (long long)(nb / 2 + pick(1, 100)));
    }
    CAT("bias: {qkv: %s, attn_out: %s, mlp: %s, norm: %s, lm_head: %s}\n", coin() ? "true" : "false",
        coin() ? "true" : "false", coin() ? "true" : "false", coin() ? "true" : "false", coin() ? "true" : "false");
    CAT("tie_word_embeddings: %s\n", coin() ? "true" : "false");
    static const char *const precs[] = {"float32", "float16", "bfloat16"};
    CAT("precision: %s\n", ONE_OF(precs));
    static const char *const inits_dec[] = {"normal", "scaled_normal"};
    static const char *const inits_ed[] = {"normal", "scaled_normal", "t5"};
    CAT("weights: {init: %s, std: 0.0%lld}\n", encdec ? ONE_OF(inits_ed) : ONE_OF(inits_dec), (long long)pick(1, 9));
}

static void property(bool encdec, long count) {
    char text[2048];
    for (long i = 0; i < count; i++) {
        random_spec(encdec, text, sizeof text);
        llmc_spec *s = spec_text(text);
        built b;
        build(&b, s); /* validates, completes, counts both ways, checks IR validity and equality */
        /* every layer of a stack has the same size (T5 bias tables aside) */
        const llmc_dims *dm = &b.dims;
        int64_t last = encdec ? dm->v[LLMC_DIM_NUM_DECODER_LAYERS] : dm->v[LLMC_DIM_NUM_LAYERS];
        if (last > 1) {
            llmc_param_count a, c;
            llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, 1, &a, NULL);
            llmc_ir_count_layer(b.ir, LLMC_STACK_DECODER, (int)last - 1, &c, NULL);
            if (a.total != c.total) fail_msg("layers differ in size:\n%s", text);
        }
        assert_int_equal(llmc_ir_num_outputs(b.ir), 1);
        built_free(&b);
    }
}

static long property_count(void) {
    const char *e = getenv("LLMC_TEMPLATES_PROPERTY_N"); /* e.g. smaller under valgrind */
    long n = e ? strtol(e, NULL, 10) : 10000;
    return n > 0 ? n : 10000;
}

static void test_property_decoder_only(void **state) {
    (void)state;
    property(false, property_count());
}

static void test_property_encoder_decoder(void **state) {
    (void)state;
    property(true, property_count());
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama2_7b),
        cmocka_unit_test(test_qwen3_0_6b),
        cmocka_unit_test(test_mixtral_8x7b),
        cmocka_unit_test(test_qwen1_5_moe),
        cmocka_unit_test(test_gemma2_2b),
        cmocka_unit_test(test_phi_2),
        cmocka_unit_test(test_gpt2_124m),
        cmocka_unit_test(test_t5_small),
        cmocka_unit_test(test_qwen2_gemma_counts),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_gqa_mqa_shapes),
        cmocka_unit_test(test_head_dim_independent),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_attention_masks),
        cmocka_unit_test(test_tied_head),
        cmocka_unit_test(test_biases_and_norms),
        cmocka_unit_test(test_mlp_kinds),
        cmocka_unit_test(test_param_metadata),
        cmocka_unit_test(test_roles_llama),
        cmocka_unit_test(test_roles_qwen3),
        cmocka_unit_test(test_roles_gemma2),
        cmocka_unit_test(test_roles_phi),
        cmocka_unit_test(test_roles_gpt2),
        cmocka_unit_test(test_roles_t5),
        cmocka_unit_test(test_t5_structure),
        cmocka_unit_test(test_encdec_variants),
        cmocka_unit_test(test_validate_decoder_only),
        cmocka_unit_test(test_validate_encoder_decoder),
        cmocka_unit_test(test_complete_dims_reason),
        cmocka_unit_test(test_problem),
        cmocka_unit_test(test_solve_targets),
        cmocka_unit_test(test_property_decoder_only),
        cmocka_unit_test(test_property_encoder_decoder),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
