/* The design prior and the published models it is fitted to (config/published_models.yaml):
 * every entry's exact count, and the leave-one-out evaluation of docs/solvers.md — each
 * published model solved again from its parameter count and family choices alone, with the
 * prior fitted to the other models, its (layers, hidden, heads, intermediate) compared with the
 * published ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "config.h"
#include "registry.h"
#include "plugin_fixture.h"
#include "testutil.h"

/* a published model as a spec: its family choices, and its dims when with_dims; else its count,
 * with its depth, hidden_size and head_dim pinned when pin_shape */
static void spec_text_pinned(const llmc_published_model *m, bool with_dims, bool kv_fixed, bool pin_shape, char *buf,
                             size_t len) {
    size_t n = 0;
#define OUT(...) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__)
    OUT("name: %s\ntemplate: %s\nvocab_size: %lld\ncontext_length: %lld\n", m->name, m->template_name,
        (long long)m->vocab_size, (long long)m->context_length);
    OUT("attention: %s\nactivation: %s\nnorm: %s\npositional_encoding: %s\ntie_word_embeddings: %s\n",
        llmc_attention_name(m->attention), llmc_activation_name(m->activation), llmc_norm_name(m->norm),
        llmc_positional_name(m->positional), m->tie_word_embeddings ? "true" : "false");
    OUT("bias: {qkv: %s, attn_out: %s, mlp: %s, norm: %s, lm_head: %s}\n", m->bias.qkv ? "true" : "false",
        m->bias.attn_out ? "true" : "false", m->bias.mlp ? "true" : "false", m->bias.norm ? "true" : "false",
        m->bias.lm_head ? "true" : "false");
    if (with_dims) {
        OUT("dims: {");
        bool first = true;
        for (int i = 0; i < LLMC_DIM_COUNT; i++)
            if (llmc_dims_has(&m->dims, (llmc_dim_id)i)) {
                OUT("%s%s: %lld", first ? "" : ", ", llmc_dim_name((llmc_dim_id)i), (long long)m->dims.v[i]);
                first = false;
            }
        OUT("}\n");
    } else {
        OUT("target_params: %llu\n", (unsigned long long)m->params);
        OUT("dims: {");
        if (kv_fixed) OUT("num_kv_heads: %lld, ", (long long)m->dims.v[LLMC_DIM_NUM_KV_HEADS]);
        /* the depth and head_dim pinned; hidden_size too when the heads span it, else as a
         * constraint (pinned, hidden_size and head_dim would fix num_heads = hidden_size / head_dim) */
        bool spans = m->dims.v[LLMC_DIM_NUM_HEADS] * m->dims.v[LLMC_DIM_HEAD_DIM] == m->dims.v[LLMC_DIM_HIDDEN_SIZE];
        if (pin_shape) {
            for (int i = 0; i < LLMC_DIM_COUNT; i++) {
                llmc_dim_id id = (llmc_dim_id)i;
                bool depth_dim = id == LLMC_DIM_NUM_LAYERS || id == LLMC_DIM_NUM_ENCODER_LAYERS ||
                                 id == LLMC_DIM_NUM_DECODER_LAYERS;
                if ((depth_dim || (id == LLMC_DIM_HIDDEN_SIZE && spans) || id == LLMC_DIM_HEAD_DIM) &&
                    llmc_dims_has(&m->dims, id))
                    OUT("%s: %lld, ", llmc_dim_name(id), (long long)m->dims.v[i]);
            }
        }
        OUT("}\n");
        if (pin_shape && !spans) OUT("constraints: [\"hidden_size == %lld\"]\n", (long long)m->dims.v[LLMC_DIM_HIDDEN_SIZE]);
    }
#undef OUT
}

static void spec_text(const llmc_published_model *m, bool with_dims, bool kv_fixed, char *buf, size_t len) {
    spec_text_pinned(m, with_dims, kv_fixed, false, buf, len);
}

/* Every entry loads as a spec with its dims, and llmc's exact count plus what the entry says the
 * template does not build is the published count. */
static void test_table_counts(void **state) {
    (void)state;
    const llmc_model_table *t = llmc_model_table_builtin();
    assert_non_null(t);
    assert_true(llmc_model_table_size(t) >= 80);
    size_t exact = 0;
    for (size_t i = 0; i < llmc_model_table_size(t); i++) {
        const llmc_published_model *m = llmc_model_table_at(t, i);
        char text[2048];
        spec_text(m, true, false, text, sizeof text);
        llmc_spec *spec = test_spec(text);
        llmc_dims dims = spec->dims;
        const llmc_template_vtable *tv = tmpl(spec->template_name);
        llmc_diags *d = llmc_diags_create();
        if (tv->validate(spec, d) != 0 || tv->complete_dims(spec, &dims, d) != 0)
            fail_msg("%s does not validate:\n%s", m->name, test_all_diags(d));
        llmc_param_count c;
        assert_int_equal(tv->count(spec, &dims, &c), 0);
        if ((int64_t)c.total + m->unmodelled != (int64_t)m->params)
            fail_msg("%s: llmc counts %llu, + unmodelled %lld != published %llu", m->name,
                     (unsigned long long)c.total, (long long)m->unmodelled, (unsigned long long)m->params);
        exact += m->unmodelled == 0;
        assert_non_null(m->source);
        assert_non_null(strstr(m->source, "https://"));
        llmc_diags_free(d);
        llmc_spec_free(spec);
    }
    print_message("%zu published models, %zu counted exactly by llmc's templates\n", llmc_model_table_size(t), exact);
}

/* published totals quoted by the model cards and papers, against the table */
static void test_table_known_totals(void **state) {
    (void)state;
    static const struct {
        const char *name;
        uint64_t params;
    } known[] = {{"llama2-7b", 6738415616ull}, {"gpt2", 124439808ull},       {"t5-small", 60506624ull},
                 {"qwen2-0.5b", 494032768ull}, {"gemma-2b", 2506172416ull},  {"pythia-70m", 70426624ull},
                 {"opt-125m", 125239296ull},   {"falcon-7b", 6921720704ull}, {"qwen3-0.6b", 596049920ull},
                 {"bart-base", 139420416ull}};
    const llmc_model_table *t = llmc_model_table_builtin();
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
        bool found = false;
        for (size_t i = 0; i < llmc_model_table_size(t); i++) {
            const llmc_published_model *m = llmc_model_table_at(t, i);
            if (strcmp(m->name, known[k].name)) continue;
            found = true;
            if (m->params != known[k].params)
                fail_msg("%s: table says %llu, published %llu", m->name, (unsigned long long)m->params,
                         (unsigned long long)known[k].params);
        }
        if (!found) fail_msg("%s missing from the table", known[k].name);
    }
}

static void test_table_errors_located(void **state) {
    (void)state;
    const char *bad = "models:\n  - name: x\n    family: y\n    source: https://example\n    params: many\n"
                      "    dims: {num_layers: 2}\n    choices: {vocab_size: 10}\n";
    llmc_diags *d = llmc_diags_create();
    llmc_model_table *t = llmc_model_table_load(bad, strlen(bad), "bad.yaml", d);
    assert_null(t);
    char *m = test_all_diags(d);
    if (!strstr(m, "bad.yaml:5:") || !strstr(m, "params")) fail_msg("%s", m);
    free(m);
    llmc_diags_free(d);
}

/* "KV heads when the family fixes them": every grouped-query model of the family (at least two)
 * has the same number of key/value heads */
static bool family_fixes_kv(const llmc_model_table *t, const llmc_published_model *m) {
    if (m->attention != LLMC_ATTN_GQA) return false;
    int n = 0;
    for (size_t i = 0; i < llmc_model_table_size(t); i++) {
        const llmc_published_model *o = llmc_model_table_at(t, i);
        if (strcmp(o->family, m->family) || o->attention != LLMC_ATTN_GQA) continue;
        if (o->dims.v[LLMC_DIM_NUM_KV_HEADS] != m->dims.v[LLMC_DIM_NUM_KV_HEADS]) return false;
        n++;
    }
    return n >= 2;
}

/* Whether the solver can give the published (depth, hidden_size, head_dim) at all: the problem of
 * the leave-one-out spec with those three fixed has an answer within the tolerance (hidden_size as
 * a constraint when the heads do not span it, num_heads being the solver's to choose; the
 * templates bound the MLP width and the prior the attention width, so some may not). */
static bool published_shape_reachable(const llmc_model_table *t, const llmc_published_model *m, const llmc_prior *prior);

static int64_t depth(const llmc_dims *d) {
    return llmc_dims_has(d, LLMC_DIM_NUM_LAYERS) ? d->v[LLMC_DIM_NUM_LAYERS] : d->v[LLMC_DIM_NUM_ENCODER_LAYERS];
}

static bool published_shape_reachable(const llmc_model_table *t, const llmc_published_model *m, const llmc_prior *prior) {
    char text[2048];
    spec_text_pinned(m, false, family_fixes_kv(t, m), true, text, sizeof text);
    llmc_spec *spec = test_spec(text);
    llmc_diags *d = llmc_diags_create();
    llmc_problem_params pp = llmc_problem_default_params();
    pp.prior = prior;
    llmc_problem *p = llmc_problem_create_with(spec, tmpl(spec->template_name), &pp, d);
    bool ok = false;
    if (p) {
        llmc_solution sol;
        memset(&sol, 0, sizeof sol);
        ok = solver("search")->solve(p, &sol, d) == LLMC_SOLVE_OK;
        llmc_problem_free(p);
    }
    llmc_diags_free(d);
    llmc_spec_free(spec);
    return ok;
}

typedef struct loo_result {
    int n, exact_lh, head_dim_equal, within15, intermediate_equal, reachable;
    double worst_l, worst_h;
} loo_result;

/* Solve every published model from its count and family choices with the prior fitted without
 * it (and, when same_shape_out, without every model of the same layers and hidden size). */
static loo_result leave_one_out(bool same_shape_out, bool print_rows) {
    const llmc_model_table *t = llmc_model_table_builtin();
    size_t n = llmc_model_table_size(t);
    bool *exclude = calloc(n, sizeof *exclude);
    assert_non_null(exclude);
    loo_result r;
    memset(&r, 0, sizeof r);
    if (print_rows)
        printf("| model | params | layers | hidden | heads | head_dim | intermediate | solved: layers | hidden | heads | "
               "head_dim | intermediate | error | published shape reachable |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const llmc_published_model *m = llmc_model_table_at(t, i);
        for (size_t j = 0; j < n; j++) {
            const llmc_published_model *o = llmc_model_table_at(t, j);
            exclude[j] = j == i || (same_shape_out && depth(&o->dims) == depth(&m->dims) &&
                                    o->dims.v[LLMC_DIM_HIDDEN_SIZE] == m->dims.v[LLMC_DIM_HIDDEN_SIZE]);
        }
        llmc_prior *prior = llmc_prior_fit(t, exclude);
        assert_non_null(prior);
        char text[2048];
        spec_text(m, false, family_fixes_kv(t, m), text, sizeof text);
        llmc_spec *spec = test_spec(text);
        llmc_diags *d = llmc_diags_create();
        llmc_problem_params pp = llmc_problem_default_params();
        pp.prior = prior;
        llmc_problem *p = llmc_problem_create_with(spec, tmpl(spec->template_name), &pp, d);
        if (!p) fail_msg("%s: %s", m->name, test_all_diags(d));
        llmc_solution sol;
        memset(&sol, 0, sizeof sol);
        int st = solver("search")->solve(p, &sol, d);
        if (st != LLMC_SOLVE_OK) fail_msg("%s: status %d\n%s", m->name, st, test_all_diags(d));
        llmc_diags *chk = llmc_diags_create();
        if (llmc_problem_check_solution(p, &sol.dims, chk) != 0) fail_msg("%s: %s", m->name, test_all_diags(chk));
        llmc_diags_free(chk);
        const llmc_dims *a = &sol.dims, *b = &m->dims;
        const char *dbg = getenv("LLMC_PRIOR_DEBUG");
        if (dbg && !strcmp(dbg, m->name)) { /* the terms of the answer and of the published shape */
            llmc_prior_query *q = llmc_prior_query_create(prior, spec, m->params);
            for (int w = 0; w < 2; w++) {
                double terms[LLMC_PRIOR_TERM_COUNT];
                llmc_dims full = w ? *b : *a;
                uint64_t cnt = w ? (uint64_t)((int64_t)m->params - m->unmodelled) : sol.params;
                double tot = llmc_prior_query_score(q, &full, cnt, terms);
                printf("%s L%lld H%lld I%lld hd%lld kv%lld total %.3f:", w ? "published" : "answer",
                       (long long)depth(&full), (long long)full.v[LLMC_DIM_HIDDEN_SIZE],
                       (long long)full.v[LLMC_DIM_INTERMEDIATE_SIZE], (long long)full.v[LLMC_DIM_HEAD_DIM],
                       (long long)full.v[LLMC_DIM_NUM_KV_HEADS], tot);
                for (int k = 0; k < LLMC_PRIOR_TERM_COUNT; k++)
                    printf(" %s %.3f", llmc_prior_term_name((llmc_prior_term)k), terms[k]);
                printf("\n");
            }
            llmc_prior_query_free(q);
        }
        bool reach = published_shape_reachable(t, m, prior);
        r.reachable += reach;
        int64_t L = depth(a), H = a->v[LLMC_DIM_HIDDEN_SIZE], pL = depth(b), pH = b->v[LLMC_DIM_HIDDEN_SIZE];
        double el = fabs((double)(L - pL)) / (double)pL, eh = fabs((double)(H - pH)) / (double)pH;
        r.n++;
        r.exact_lh += L == pL && H == pH;
        r.head_dim_equal += a->v[LLMC_DIM_HEAD_DIM] == b->v[LLMC_DIM_HEAD_DIM];
        r.intermediate_equal += a->v[LLMC_DIM_INTERMEDIATE_SIZE] == b->v[LLMC_DIM_INTERMEDIATE_SIZE];
        r.within15 += el <= 0.15 && eh <= 0.15;
        r.worst_l = fmax(r.worst_l, el);
        r.worst_h = fmax(r.worst_h, eh);
        if (print_rows) {
            char c[32];
            printf("| %s | %s | %lld | %lld | %lld | %lld | %lld | %s%lld | %s%lld | %lld | %s%lld | %lld | %.2f%% | %s |\n",
                   m->name, llmc_fmt_count(m->params, c, sizeof c), (long long)pL, (long long)pH,
                   (long long)b->v[LLMC_DIM_NUM_HEADS], (long long)b->v[LLMC_DIM_HEAD_DIM],
                   (long long)b->v[LLMC_DIM_INTERMEDIATE_SIZE], L == pL ? "" : "**", (long long)L,
                   H == pH ? "" : "**", (long long)H, (long long)a->v[LLMC_DIM_NUM_HEADS],
                   a->v[LLMC_DIM_HEAD_DIM] == b->v[LLMC_DIM_HEAD_DIM] ? "" : "**",
                   (long long)a->v[LLMC_DIM_HEAD_DIM], (long long)a->v[LLMC_DIM_INTERMEDIATE_SIZE],
                   100 * sol.relative_error, reach ? "yes" : "**no**");
        }
        llmc_problem_free(p);
        llmc_diags_free(d);
        llmc_spec_free(spec);
        llmc_prior_free(prior);
    }
    free(exclude);
    return r;
}

static void report(const char *what, const loo_result *r) {
    printf("[ prior ] %s: %d models: (layers, hidden) exact %d (%.0f%%), head_dim equal %d (%.0f%%), intermediate "
           "equal %d (%.0f%%), within 15%% on both %d (%.0f%%); worst layers %.0f%%, hidden %.0f%%; published (depth, "
           "hidden, head_dim) reachable for %d\n",
           what, r->n, r->exact_lh, 100.0 * r->exact_lh / r->n, r->head_dim_equal, 100.0 * r->head_dim_equal / r->n,
           r->intermediate_equal, 100.0 * r->intermediate_equal / r->n, r->within15, 100.0 * r->within15 / r->n,
           100 * r->worst_l, 100 * r->worst_h, r->reachable);
}

/* The goals are 60% exact (layers, hidden), all within 15%, 80% head_dim; docs/solvers.md
 * reports what is reached (74%, 81%, 70%). The floors below are those figures: a change to the
 * prior or the table that loses ground fails here. With the attention width searched on its own,
 * 87 published shapes are within the solver's reach; T5-11B (a 64 H MLP) and Flan-T5-small
 * (attention 0.75 x the width, outside the window fitted without it) are not (docs/solvers.md). */
static void test_leave_one_out(void **state) {
    (void)state;
    loo_result r = leave_one_out(false, getenv("LLMC_PRIOR_TABLE") != NULL);
    report("leave-one-out", &r);
    assert_true(r.n == 89);
    assert_true(r.exact_lh * 100 >= 60 * r.n); /* the goal, met */
    assert_true(r.exact_lh >= 66);
    assert_true(r.within15 >= 72);
    assert_true(r.head_dim_equal >= 62);
    assert_true(r.reachable >= 87);
}

/* the harder variant: every model with the same (layers, hidden) left out too (Llama 1 and 2 7B,
 * Qwen2 and Qwen2.5, ...), so that no twin gives the answer away */
static void test_leave_shape_out(void **state) {
    (void)state;
    loo_result r = leave_one_out(true, false);
    report("leave-shape-out", &r);
    assert_true(r.exact_lh >= 52 && r.within15 >= 62 && r.head_dim_equal >= 63);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_counts),
        cmocka_unit_test(test_table_known_totals),
        cmocka_unit_test(test_table_errors_located),
        cmocka_unit_test(test_leave_one_out),
        cmocka_unit_test(test_leave_shape_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
