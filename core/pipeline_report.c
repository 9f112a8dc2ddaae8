/* The `llmc solve` table (pipeline.h llmc_print_solve_table): dims, parameters per component and
 * layer, the designer's report, the explanation. */
#include <stdio.h>
#include <string.h>

#include "pipeline_internal.h"
#include "report.h"
#include "util.h"

void llmc_pipeline_describe_dims(const llmc_dims *dims, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        if (!llmc_dims_has(dims, (llmc_dim_id)i)) continue;
        int w = snprintf(buf + used, len - used, "%s%s=%lld", used ? " " : "", llmc_dim_name((llmc_dim_id)i),
                         (long long)dims->v[i]);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

/* ---- the solve table ------------------------------------------------------------------------------------- */

static const char *fmt_bytes(uint64_t b, char *buf, size_t n) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 5) { v /= 1024.0; u++; }
    if (u == 0) snprintf(buf, n, "%llu B", (unsigned long long)b);
    else snprintf(buf, n, "%.2f %s", v, unit[u]);
    return buf;
}

static const char *fmt_flops(uint64_t f, char *buf, size_t n) {
    const char *unit[] = {"", "K", "M", "G", "T", "P", "E"};
    double v = (double)f;
    int u = 0;
    while (v >= 1000.0 && u < 6) { v /= 1000.0; u++; }
    snprintf(buf, n, "%.3g %sFLOP", v, unit[u]);
    return buf;
}

static void print_explanation(FILE *f, const llmc_explanation *e) {
    char a[32], dt[256];
    fprintf(f, "\nwhy these dims (objective %s; score %.2f, plausibility %.2f =", e->objective, e->answer.score,
            e->answer.plausibility);
    for (int k = 0; k < LLMC_PRIOR_TERM_COUNT; k++)
        fprintf(f, "%s %s %.2f", k ? " +" : "", llmc_prior_term_name((llmc_prior_term)k), e->terms[k]);
    fprintf(f, "):\n");
    for (size_t i = 0; i < e->n_dims; i++) {
        const llmc_dim_reason *r = &e->dims[i];
        fprintf(f, "  %-20s %8lld  %-11s %s\n", llmc_dim_name(r->dim), (long long)r->value, llmc_decider_name(r->by),
                r->detail);
    }
    if (e->n_runner_ups) fprintf(f, "runner-up shapes:\n");
    for (size_t i = 0; i < e->n_runner_ups; i++) {
        const llmc_shape *sh = &e->runner_ups[i];
        llmc_pipeline_describe_dims(&sh->dims, dt, sizeof dt);
        fprintf(f, "  %zu. %s parameters (%.3f%% off), plausibility %.2f, score %.2f: %s\n", i + 1,
                llmc_fmt_count(sh->params, a, sizeof a), 100 * sh->relative_error, sh->plausibility, sh->score, dt);
    }
}

int llmc_print_solve_table(FILE *f, const llmc_model *m, llmc_diags *d) {
    char a[32], b[32], c[32];
    const llmc_spec *s = m->spec;
    fprintf(f, "%s (template %s", s->name, m->tmpl->name);
    if (m->solver) fprintf(f, ", solver %s", m->solver->name);
    fprintf(f, ")\n\ndims:\n");
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(&m->dims, (llmc_dim_id)i))
            fprintf(f, "  %-20s %lld\n", llmc_dim_name((llmc_dim_id)i), (long long)m->dims.v[i]);
    fprintf(f, "  %-20s %lld\n  %-20s %lld\n", "vocab_size", (long long)s->vocab_size, "context_length",
            (long long)s->context_length);

    /* per component: one layer of each stack, the layer counts, the total */
    const llmc_stack stacks[] = {LLMC_STACK_ENCODER, LLMC_STACK_DECODER};
    int nl[2];
    llmc_param_count layer0[2];
    for (int k = 0; k < 2; k++) {
        nl[k] = llmc_ir_stack_layers(m->ir, stacks[k]);
        memset(&layer0[k], 0, sizeof layer0[k]);
        if (nl[k] > 0 && llmc_ir_count_layer(m->ir, stacks[k], 0, &layer0[k], d) != 0) return 1;
    }
    fprintf(f, "\nparameters:\n  %-12s", "component");
    for (int k = 0; k < 2; k++)
        if (nl[k]) fprintf(f, " %16s", k == 0 ? "per enc. layer" : nl[0] ? "per dec. layer" : "per layer");
    fprintf(f, " %16s %8s\n", "total", "share");
    for (int comp = 0; comp < LLMC_COMP_COUNT; comp++) {
        fprintf(f, "  %-12s", llmc_component_name((llmc_component)comp));
        for (int k = 0; k < 2; k++)
            if (nl[k]) fprintf(f, " %16s", llmc_fmt_count(layer0[k].component[comp], a, sizeof a));
        double share = m->count.total ? 100.0 * (double)m->count.component[comp] / (double)m->count.total : 0.0;
        if (comp == LLMC_COMP_HEAD && s->tie_word_embeddings && m->count.component[comp] == 0)
            fprintf(f, " %16s %8s\n", "tied", "");   /* the embedding matrix, counted there */
        else
            fprintf(f, " %16s %7.2f%%\n", llmc_fmt_count(m->count.component[comp], b, sizeof b), share);
    }
    fprintf(f, "  %-12s", "total");
    for (int k = 0; k < 2; k++)
        if (nl[k]) fprintf(f, " %16s", llmc_fmt_count(layer0[k].total, a, sizeof a));
    fprintf(f, " %16s\n", llmc_fmt_count(m->count.total, b, sizeof b));
    if (m->count.active != m->count.total)
        fprintf(f, "  active per token %s (%.2f%%: the experts a token is routed to, and every other parameter)\n",
                llmc_fmt_count(m->count.active, b, sizeof b),
                m->count.total ? 100.0 * (double)m->count.active / (double)m->count.total : 0.0);
    for (int k = 0; k < 2; k++)
        if (nl[k]) fprintf(f, "  layers (%s): %d\n", llmc_stack_name(stacks[k]), nl[k]);
    if (s->has_target_params)
        fprintf(f, "\n%s %s, relative error %.4f%% (tolerance %g%%)\n",
                s->target_active ? "target_active_params" : "target_params", llmc_fmt_count(s->target_params, a, sizeof a),
                100.0 * llmc_relative_error(LLMC_BUDGET_COUNT(s, m->count), s->target_params),
                100.0 * s->tolerance);

    llmc_design g;
    if (llmc_design_compute(s, &m->dims, m->ir, &m->count, &m->design, &g, d) != 0) return 1;
    char e[32], x[32];
    fprintf(f, "\nparameters: %s total, %s non-embedding, embedding %s, head %s", llmc_fmt_count(g.total, a, sizeof a),
            llmc_fmt_count(g.non_embedding, b, sizeof b), llmc_fmt_count(g.embedding, c, sizeof c),
            g.tied && g.head == 0 ? "tied" : llmc_fmt_count(g.head, e, sizeof e));
    if (g.positional) fprintf(f, ", positions %s", llmc_fmt_count(g.positional, a, sizeof a));
    fprintf(f, "\nweights:    ");
    for (int k = 0; k < 5; k++) fprintf(f, "%s%s %s", k ? "   " : "", llmc_design_dtype_names[k], fmt_bytes(g.weight_bytes[k], a, sizeof a));
    fprintf(f, "\nKV cache:   %s per token (%s), %s at context %lld x batch %lld\n", fmt_bytes(g.kv_bytes_per_token, a, sizeof a),
            llmc_precision_name(g.in.kv_dtype), fmt_bytes(g.kv_bytes, b, sizeof b), (long long)g.in.context,
            (long long)g.in.batch);
    fprintf(f, "training:   mixed-precision Adam, micro-batch %lld x %lld tokens: weights %s + gradients %s + Adam %s\n",
            (long long)g.in.micro_batch, (long long)g.in.seq_len, fmt_bytes(g.train_weights, a, sizeof a),
            fmt_bytes(g.train_grads, b, sizeof b), fmt_bytes(g.train_adam, c, sizeof c));
    fprintf(f, "            + activations %s = %s; with activation checkpointing %s = %s\n",
            fmt_bytes(g.act_bytes, a, sizeof a), fmt_bytes(g.train_bytes, b, sizeof b),
            fmt_bytes(g.act_bytes_checkpointed, c, sizeof c), fmt_bytes(g.train_bytes_checkpointed, e, sizeof e));
    fprintf(f, "FLOPs:      forward %s per token (attention %s at %lld tokens); training %s per token = 6N %s + "
               "attention %s (N = %s in matrix products)\n",
            fmt_flops(g.fwd_flops, a, sizeof a), fmt_flops(g.fwd_attention_flops, b, sizeof b), (long long)g.in.seq_len,
            fmt_flops(g.train_flops, c, sizeof c), fmt_flops(g.train_flops - g.train_attention_flops, e, sizeof e),
            fmt_flops(g.train_attention_flops, x, sizeof x), llmc_fmt_count(g.matmul_params, (char[32]){0}, 32));
    if (m->dataset.has_stats) {
        const llmc_dataset_stats *st = &m->dataset.stats;
        fprintf(f, "dataset:    %s%s%s tokens (%s documents, %s bytes, %.3f bytes per token): %.2f tokens per parameter "
                   "(compute-optimal: 20, Hoffmann et al. 2022)\n",
                s->dataset ? s->dataset : "", s->dataset ? ": " : "", llmc_fmt_count(st->tokens, a, sizeof a),
                llmc_fmt_count(st->documents, b, sizeof b), llmc_fmt_count(st->bytes, c, sizeof c),
                st->tokens ? (double)st->bytes / (double)st->tokens : 0.0, g.tokens_per_param);
    } else if (s->dataset) {
        fprintf(f, "dataset:    %s (not read: give dataset.paths and a tokenizer to count its tokens)\n", s->dataset);
    }
    if (m->explanation) print_explanation(f, m->explanation);
    return 0;
}
