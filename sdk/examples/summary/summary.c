/* summary — an example out-of-tree emitter: writes OUT/summary/MODEL_CARD.md, a Markdown
 * model card with the architecture, the dims, a parameter table per component (whole model
 * and one layer of each stack), and memory and FLOPs from llmc_model_stats_compute().
 *
 * It reads the spec, the solved dims and the IR; it needs no weights. Like every emitter it
 * writes only below ctx->out_dir (a temporary folder the pipeline renames into place when the
 * whole compile succeeded), checks every write (llmc_out_close), and registers its output for
 * compilation_report.json. */
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"

#define NAME "summary"
#define CARD "summary/MODEL_CARD.md"

static const char *bytes(uint64_t b, char *buf, size_t n) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 5) { v /= 1024.0; u++; }
    if (u == 0) snprintf(buf, n, "%llu B", (unsigned long long)b);
    else snprintf(buf, n, "%.2f %s", v, unit[u]);
    return buf;
}

/* layers of a stack: one more than the highest layer index of its parameters */
static int stack_layers(const llmc_ir *ir, llmc_stack st) {
    int n = 0;
    for (size_t t = 0; t < llmc_ir_num_tensors(ir); t++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)t);
        if (ti->kind == LLMC_TENSOR_PARAM && ti->stack == st && ti->layer + 1 > n) n = ti->layer + 1;
    }
    return n;
}

static void write_card(FILE *f, const llmc_emit_ctx *ctx, const llmc_model_stats *st, const llmc_param_count *layer,
                       const int *layers) {
    const llmc_spec *s = ctx->spec;
    const llmc_param_count *pc = ctx->count;
    const char *tmpl = llmc_ir_get_meta(ctx->ir, "template");
    char a[32], b[32];

    fprintf(f, "# %s\n\n", s->name);
    fprintf(f, "A %s-parameter model (template `%s`), compiled by llmc %s.\n\n", llmc_fmt_count(pc->total, a, sizeof a),
            tmpl ? tmpl : s->template_name, llmc_version());
    if (s->has_target_params)
        fprintf(f, "Sized for a budget of %s parameters (tolerance %g%%).\n\n",
                llmc_fmt_count(s->target_params, a, sizeof a), 100.0 * s->tolerance);

    fprintf(f, "## Architecture\n\n| | |\n|---|---|\n");
    fprintf(f, "| attention | %s |\n", llmc_attention_name(s->attention));
    if (s->attention == LLMC_ATTN_SLIDING_WINDOW) fprintf(f, "| sliding window | %lld |\n", (long long)s->sliding_window);
    fprintf(f, "| positions | %s |\n", llmc_positional_name(s->positional));
    fprintf(f, "| norm | %s |\n| activation | %s |\n", llmc_norm_name(s->norm), llmc_activation_name(s->activation));
    fprintf(f, "| tied embeddings | %s |\n| precision | %s |\n\n", s->tie_word_embeddings ? "yes" : "no",
            llmc_precision_name(s->precision));

    fprintf(f, "## Dimensions\n\n| dim | value |\n|---|---:|\n");
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(ctx->dims, (llmc_dim_id)i))
            fprintf(f, "| %s | %lld |\n", llmc_dim_name((llmc_dim_id)i), (long long)ctx->dims->v[i]);
    fprintf(f, "| vocab_size | %lld |\n| context_length | %lld |\n\n", (long long)s->vocab_size,
            (long long)s->context_length);

    /* one column per stack that has layers: the parameters of its layer 0 */
    static const llmc_stack stacks[2] = {LLMC_STACK_ENCODER, LLMC_STACK_DECODER};
    fprintf(f, "## Parameters\n\n| component |");
    for (int k = 0; k < 2; k++)
        if (layers[k]) fprintf(f, " per %s layer (x%d) |", llmc_stack_name(stacks[k]), layers[k]);
    fprintf(f, " total | share |\n|---|");
    for (int k = 0; k < 2; k++)
        if (layers[k]) fprintf(f, "---:|");
    fprintf(f, "---:|---:|\n");
    for (int c = 0; c < LLMC_COMP_COUNT; c++) {
        if (pc->component[c] == 0) continue;
        fprintf(f, "| %s |", llmc_component_name((llmc_component)c));
        for (int k = 0; k < 2; k++)
            if (layers[k]) fprintf(f, " %s |", llmc_fmt_count(layer[k].component[c], a, sizeof a));
        fprintf(f, " %s | %.2f%% |\n", llmc_fmt_count(pc->component[c], b, sizeof b),
                100.0 * (double)pc->component[c] / (double)pc->total);
    }
    fprintf(f, "| **total** |");
    for (int k = 0; k < 2; k++)
        if (layers[k]) fprintf(f, " %s |", llmc_fmt_count(layer[k].total, a, sizeof a));
    fprintf(f, " **%s** | 100%% |\n\n", llmc_fmt_count(pc->total, b, sizeof b));

    fprintf(f, "## Memory and compute\n\n| | |\n|---|---:|\n");
    fprintf(f, "| weights, f32 | %s |\n", bytes(st->weight_bytes_f32, a, sizeof a));
    fprintf(f, "| weights, f16 / bf16 | %s |\n", bytes(st->weight_bytes_f16, a, sizeof a));
    fprintf(f, "| weights, q8_0 | %s |\n", bytes(st->weight_bytes_q8_0, a, sizeof a));
    fprintf(f, "| KV cache per token (%s) | %s |\n", llmc_precision_name(s->precision),
            bytes(st->kv_bytes_per_token, a, sizeof a));
    fprintf(f, "| KV cache at full context (%lld tokens) | %s |\n", (long long)s->context_length,
            bytes(st->kv_bytes_full_context, a, sizeof a));
    fprintf(f, "| forward FLOPs per token at full context | %s |\n\n", llmc_fmt_count(st->flops_per_token, a, sizeof a));
    fprintf(f, "Counts are exact (the template's closed form equals the IR count). Memory and FLOPs follow\n"
               "llmc's documented formulas: a multiply-add is 2 FLOPs, the KV cache holds K and V of every\n"
               "causal self-attention layer.\n");
}

static int emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    llmc_model_stats st;
    if (llmc_model_stats_compute(ctx->spec, ctx->dims, ctx->ir, &st, d) != 0) return 1;
    static const llmc_stack stacks[2] = {LLMC_STACK_ENCODER, LLMC_STACK_DECODER};
    llmc_param_count layer[2];
    int layers[2];
    memset(layer, 0, sizeof layer);
    for (int k = 0; k < 2; k++) {
        layers[k] = stack_layers(ctx->ir, stacks[k]);
        if (layers[k] && llmc_ir_count_layer(ctx->ir, stacks[k], 0, &layer[k], d) != 0) return 1;
    }
    FILE *f = llmc_out_open(ctx, CARD, d); /* creates OUT/summary/ */
    if (!f) return 1;
    write_card(f, ctx, &st, layer, layers);
    if (llmc_out_close(f, CARD, d) != 0) return 1; /* a full disk is an error, not a short file */
    return llmc_out_register(ctx, CARD, "model card (Markdown)");
}

static const llmc_emitter_vtable vtable = {sizeof(llmc_emitter_vtable), NULL /* check: any spec is fine */, emit,
                                                  NULL /* verify: validate checks the checksums only */};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, NAME, "1.0.0", "example out-of-tree emitter: a Markdown model card (summary/MODEL_CARD.md)",
     &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
