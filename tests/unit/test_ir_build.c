/* The SDK's IR building blocks (llmc/ir_build.h): the tensors and ops a linear and each norm kind
 * make (names, shapes, roles, init, is_bias, norm site, scope), no_norm adding nothing, a
 * parameter outside a stack, a name too long to build, and the counter's overflow: sticky,
 * carried over by add_scaled, and an unknown component. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llmc/ir_build.h"

static llmc_spec spec_with(llmc_norm_kind norm, bool norm_bias, llmc_precision precision) {
    llmc_spec s;
    memset(&s, 0, sizeof s);
    s.norm = norm;
    s.norm_eps = 1e-6;
    s.bias.norm = norm_bias;
    s.precision = precision;
    return s;
}

/* an activation [B, S, H] of the builder's dtype (ops refuse mixed dtypes) */
static llmc_tid input(const llmc_irb *b, int64_t H) {
    int64_t shape[3] = {LLMC_SYM_BATCH, LLMC_SYM_SEQ, H};
    return llmc_ir_input(b->ir, "x", b->dtype, 3, shape);
}

static const llmc_op_info *op_named(const llmc_ir *ir, const char *name) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++)
        if (!strcmp(llmc_ir_op_at(ir, i)->name, name)) return llmc_ir_op_at(ir, i);
    return NULL;
}

static void test_linear_with_bias(void **state) {
    (void)state;
    llmc_spec s = spec_with(LLMC_NORM_RMSNORM, false, LLMC_PRECISION_BFLOAT16);
    llmc_ir *ir = llmc_ir_create();
    llmc_irb b;
    llmc_irb_init(&b, ir, &s);
    assert_int_equal(b.dtype, LLMC_DTYPE_BF16);
    llmc_tid x = input(&b, 8);
    llmc_irb_scope(&b, LLMC_STACK_DECODER, 2, LLMC_OPROLE_MLP);
    llmc_tid y = llmc_irb_linear(&b, x, "m.up", 12, 8, true, LLMC_COMP_MLP, LLMC_STACK_DECODER, 2,
                                 llmc_pinit_normal(0.5), LLMC_ROLE_MLP_UP);
    assert_int_not_equal(y, LLMC_TID_NONE);
    const llmc_tensor_info *out = llmc_ir_tensor(ir, y);
    assert_int_equal(out->shape[2], 12);

    const llmc_tensor_info *w = llmc_ir_tensor(ir, llmc_ir_find(ir, "m.up.weight"));
    assert_non_null(w);
    assert_int_equal(w->rank, 2);
    assert_int_equal(w->shape[0], 12);
    assert_int_equal(w->shape[1], 8);
    assert_int_equal(w->dtype, LLMC_DTYPE_BF16);
    assert_int_equal(w->init.kind, LLMC_PINIT_NORMAL);
    assert_true(w->init.std == 0.5);
    assert_int_equal(w->role, LLMC_ROLE_MLP_UP);
    assert_false(w->is_bias);
    assert_int_equal(w->stack, LLMC_STACK_DECODER);
    assert_int_equal(w->layer, 2);

    const llmc_tensor_info *bt = llmc_ir_tensor(ir, llmc_ir_find(ir, "m.up.bias"));
    assert_non_null(bt);
    assert_int_equal(bt->rank, 1);
    assert_int_equal(bt->shape[0], 12);
    assert_int_equal(bt->init.kind, LLMC_PINIT_ZEROS);
    assert_int_equal(bt->role, LLMC_ROLE_MLP_UP);
    assert_true(bt->is_bias);

    const llmc_op_info *op = op_named(ir, "m.up");
    assert_non_null(op);
    assert_int_equal(op->type, LLMC_OP_LINEAR);
    assert_int_equal(op->n_inputs, 3);
    assert_int_equal(op->role, LLMC_OPROLE_MLP); /* the caller's scope */
    assert_int_equal(op->layer, 2);
    llmc_ir_free(ir);
}

static void test_norm_kinds(void **state) {
    (void)state;
    /* rmsnorm: a weight only, whatever bias.norm says */
    llmc_spec rms = spec_with(LLMC_NORM_RMSNORM, true, LLMC_PRECISION_FLOAT32);
    llmc_ir *ir = llmc_ir_create();
    llmc_irb b;
    llmc_irb_init(&b, ir, &rms);
    assert_int_equal(b.dtype, LLMC_DTYPE_F32);
    llmc_tid n = llmc_irb_norm(&b, input(&b, 8), "ln", 8, LLMC_STACK_DECODER, 0, LLMC_NORM_SITE_BLOCK_INPUT);
    assert_int_not_equal(n, LLMC_TID_NONE);
    const llmc_op_info *op = op_named(ir, "ln");
    assert_int_equal(op->type, LLMC_OP_RMSNORM);
    assert_int_equal(op->n_inputs, 2);
    assert_int_equal(op->role, LLMC_OPROLE_NORM);
    assert_true(llmc_op_attr(op, "eps")->f == 1e-6);
    assert_int_equal(llmc_ir_find(ir, "ln.bias"), LLMC_TID_NONE);
    const llmc_tensor_info *w = llmc_ir_tensor(ir, llmc_ir_find(ir, "ln.weight"));
    assert_int_equal(w->init.kind, LLMC_PINIT_ONES);
    assert_int_equal(w->role, LLMC_ROLE_NORM);
    assert_int_equal(w->norm_site, LLMC_NORM_SITE_BLOCK_INPUT);
    assert_int_equal(w->component, LLMC_COMP_NORM);
    llmc_ir_free(ir);

    /* layernorm with bias.norm: weight and bias, outside a stack (final norm): layer -1 */
    llmc_spec ln = spec_with(LLMC_NORM_LAYERNORM, true, LLMC_PRECISION_FLOAT16);
    ir = llmc_ir_create();
    llmc_irb_init(&b, ir, &ln);
    assert_int_equal(b.dtype, LLMC_DTYPE_F16);
    n = llmc_irb_norm(&b, input(&b, 8), "ln_f", 8, LLMC_STACK_NONE, 7, LLMC_NORM_SITE_FINAL);
    assert_int_not_equal(n, LLMC_TID_NONE);
    op = op_named(ir, "ln_f");
    assert_int_equal(op->type, LLMC_OP_LAYERNORM);
    assert_int_equal(op->n_inputs, 3);
    assert_int_equal(op->layer, -1);
    const llmc_tensor_info *bt = llmc_ir_tensor(ir, llmc_ir_find(ir, "ln_f.bias"));
    assert_non_null(bt);
    assert_true(bt->is_bias);
    assert_int_equal(bt->init.kind, LLMC_PINIT_ZEROS);
    assert_int_equal(bt->norm_site, LLMC_NORM_SITE_FINAL);
    assert_int_equal(bt->layer, -1);
    assert_int_equal(bt->stack, LLMC_STACK_NONE);
    llmc_ir_free(ir);

    /* no_norm: x itself, nothing added */
    llmc_spec none = spec_with(LLMC_NORM_NONE, true, LLMC_PRECISION_FLOAT32);
    ir = llmc_ir_create();
    llmc_irb_init(&b, ir, &none);
    llmc_tid x = input(&b, 8);
    size_t tensors = llmc_ir_num_tensors(ir);
    assert_int_equal(llmc_irb_norm(&b, x, "ln", 8, LLMC_STACK_DECODER, 0, LLMC_NORM_SITE_ATTN_INPUT), x);
    assert_int_equal(llmc_ir_num_tensors(ir), tensors);
    assert_int_equal(llmc_ir_num_ops(ir), 0);
    llmc_ir_free(ir);
}

static void test_reshape_add_residual_block(void **state) {
    (void)state;
    llmc_spec s = spec_with(LLMC_NORM_RMSNORM, false, LLMC_PRECISION_FLOAT32);
    llmc_ir *ir = llmc_ir_create();
    llmc_irb b;
    llmc_irb_init(&b, ir, &s);
    llmc_tid x = input(&b, 8);
    llmc_tid heads = llmc_irb_reshape(&b, x, "heads", LLMC_SYM_SEQ, 2, 4);
    const llmc_tensor_info *t = llmc_ir_tensor(ir, heads);
    assert_int_equal(t->rank, 4);
    assert_int_equal(t->shape[2], 2);
    assert_int_equal(t->shape[3], 4);
    llmc_tid flat = llmc_irb_reshape(&b, heads, "flat", LLMC_SYM_SEQ, 8, 0);
    assert_int_equal(llmc_ir_tensor(ir, flat)->rank, 3);
    llmc_tid r = llmc_irb_residual(&b, "res", LLMC_STACK_DECODER, 1, x, flat);
    assert_int_not_equal(r, LLMC_TID_NONE);
    const llmc_op_info *op = op_named(ir, "res");
    assert_int_equal(op->type, LLMC_OP_ADD);
    assert_int_equal(op->role, LLMC_OPROLE_RESIDUAL);
    assert_int_equal(op->layer, 1);
    llmc_irb_add(&b, "sum", r, x);
    assert_int_equal(op_named(ir, "sum")->role, LLMC_OPROLE_RESIDUAL); /* the scope stays */

    assert_int_equal(llmc_irb_block(&b, LLMC_STACK_DECODER, 1, LLMC_RESIDUAL_PARALLEL, LLMC_NORM_PLACEMENT_PRE, false), 0);
    const llmc_ir_block *blk = llmc_ir_find_block(ir, LLMC_STACK_DECODER, 1);
    assert_non_null(blk);
    assert_int_equal(blk->residual, LLMC_RESIDUAL_PARALLEL);
    assert_int_equal(blk->norm_placement, LLMC_NORM_PLACEMENT_PRE);
    assert_true(blk->self_attention && blk->mlp && !blk->cross_attention);
    llmc_ir_free(ir);
}

/* A prefix too long for a parameter name is an error on the graph, never a name cut short. */
static void test_name_too_long(void **state) {
    (void)state;
    llmc_spec s = spec_with(LLMC_NORM_RMSNORM, false, LLMC_PRECISION_FLOAT32);
    llmc_ir *ir = llmc_ir_create();
    llmc_irb b;
    llmc_irb_init(&b, ir, &s);
    char *prefix = malloc(5000);
    assert_non_null(prefix);
    memset(prefix, 'p', 4999);
    prefix[4999] = '\0';
    llmc_tid y = llmc_irb_linear(&b, input(&b, 8), prefix, 4, 8, false, LLMC_COMP_MLP, LLMC_STACK_DECODER, 0,
                                 llmc_pinit_normal(0.02), LLMC_ROLE_MLP_UP);
    assert_int_equal(y, LLMC_TID_NONE);
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++)
        assert_true(strlen(llmc_ir_tensor(ir, (llmc_tid)i)->name) < 2000); /* nothing cut to fit */
    llmc_diags *d = llmc_diags_create();
    assert_int_not_equal(llmc_ir_validate(ir, d), 0);
    bool said_too_long = false;
    for (size_t i = 0; i < llmc_diags_size(d); i++)
        if (strstr(llmc_diags_get(d, i)->message, "is too long")) said_too_long = true;
    assert_true(said_too_long);
    llmc_diags_free(d);
    free(prefix);
    llmc_ir_free(ir);
}

static void test_counter(void **state) {
    (void)state;
    llmc_irb_counter layer = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add(&layer, LLMC_COMP_ATTENTION, 4, 8);
    llmc_irb_count_add(&layer, LLMC_COMP_NORM, 8, 1);
    llmc_irb_counter k = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add(&k, LLMC_COMP_EMBEDDING, 10, 8);
    llmc_irb_count_add_scaled(&k, &layer, 3);
    llmc_param_count pc;
    assert_int_equal(llmc_irb_count_finish(&k, &pc), 0);
    assert_int_equal(pc.component[LLMC_COMP_EMBEDDING], 80);
    assert_int_equal(pc.component[LLMC_COMP_ATTENTION], 96);
    assert_int_equal(pc.component[LLMC_COMP_NORM], 24);
    assert_int_equal(pc.total, 200);

    /* a product that does not fit: 0, and the flag sticks through finish */
    llmc_irb_counter o = LLMC_IRB_COUNTER_INIT;
    assert_int_equal(llmc_irb_count_mul(&o, UINT64_MAX / 2, 3), 0);
    assert_true(o.overflow);
    assert_int_equal(llmc_irb_count_finish(&o, NULL), 1);

    /* a sum that does not fit adds nothing */
    llmc_irb_counter a = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add(&a, LLMC_COMP_MLP, UINT64_MAX, 1);
    assert_false(a.overflow);
    llmc_irb_count_add(&a, LLMC_COMP_MLP, 1, 1);
    assert_true(a.overflow);
    assert_true(a.c.component[LLMC_COMP_MLP] == UINT64_MAX);

    /* the total overflows though every component fits */
    llmc_irb_counter t = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add(&t, LLMC_COMP_MLP, UINT64_MAX, 1);
    llmc_irb_count_add(&t, LLMC_COMP_HEAD, 1, 1);
    assert_int_equal(llmc_irb_count_finish(&t, &pc), 1);

    /* a part that overflowed makes the whole overflow, even times 0 */
    llmc_irb_counter whole = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add_scaled(&whole, &o, 0);
    assert_int_equal(llmc_irb_count_finish(&whole, &pc), 1);

    /* not a component */
    llmc_irb_counter bad = LLMC_IRB_COUNTER_INIT;
    llmc_irb_count_add(&bad, (llmc_component)LLMC_COMP_COUNT, 1, 1);
    assert_int_equal(llmc_irb_count_finish(&bad, &pc), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_with_bias),
        cmocka_unit_test(test_norm_kinds),
        cmocka_unit_test(test_reshape_add_residual_block),
        cmocka_unit_test(test_name_too_long),
        cmocka_unit_test(test_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
