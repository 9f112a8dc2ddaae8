/* pytorch emitter — the template variables (flags for the features this model uses, texts such
 * as the config dataclass fields and the initialisation rules) and the files written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llmc/llmc.h"
#include "pt_emit.h"
#include "tok_unicode.h"
#include "pt_text.h"

/* Text safe inside a Python docstring, a comment and a TOML string: '"' becomes '\''. */
static void doc_text(llmc_strbuf *b, const char *s) {
    for (; *s; s++) llmc_strbuf_append(b, *s == '"' ? "'" : s, 1);
}

/* ---- configuration.py fields ---------------------------------------------------------------- */

static void comment_line(llmc_strbuf *b, const char *text) { llmc_strbuf_printf(b, "    # %s\n", text); }

static void f_str(llmc_strbuf *b, const char *name, const char *value, const char *comment) {
    llmc_strbuf_printf(b, "    %s: %s = ", name, value ? "str" : "Optional[str]");
    if (value) pt_put_pystr(b, value);
    else llmc_strbuf_puts(b, "None");
    llmc_strbuf_printf(b, "%s%s\n", comment ? "  # " : "", comment ? comment : "");
}

static void f_int(llmc_strbuf *b, const char *name, bool present, int64_t value, const char *comment) {
    llmc_strbuf_printf(b, "    %s: %s = ", name, present ? "int" : "Optional[int]");
    if (present) llmc_strbuf_printf(b, "%lld", (long long)value);
    else llmc_strbuf_puts(b, "None");
    llmc_strbuf_printf(b, "%s%s\n", comment ? "  # " : "", comment ? comment : "");
}

static void f_float(llmc_strbuf *b, const char *name, bool present, double value, const char *comment) {
    llmc_strbuf_printf(b, "    %s: %s = ", name, present ? "float" : "Optional[float]");
    if (present) pt_put_pyfloat(b, value);
    else llmc_strbuf_puts(b, "None");
    llmc_strbuf_printf(b, "%s%s\n", comment ? "  # " : "", comment ? comment : "");
}

static void f_bool(llmc_strbuf *b, const char *name, bool value, const char *comment) {
    llmc_strbuf_printf(b, "    %s: bool = %s%s%s\n", name, value ? "True" : "False", comment ? "  # " : "", comment ? comment : "");
}

static void config_fields(llmc_strbuf *b, const pt_model *m) {
    const llmc_spec *s = m->spec;
    bool rope = s->positional == LLMC_POS_ROPE;
    llmc_rope_scaling_kind sc = rope ? s->rope.scaling : LLMC_ROPE_SCALING_NONE;
    comment_line(b, "model");
    f_str(b, "name", s->name, NULL);
    f_str(b, "template", s->template_name, NULL);
    f_str(b, "family", m->family, "parameter names: the Hugging Face layout of this family");
    comment_line(b, "dimensions");
    f_int(b, "vocab_size", true, m->V, NULL);
    f_int(b, "context_length", true, m->ctx, "longest sequence the model is built for");
    if (m->encdec) {
        f_int(b, "num_encoder_layers", true, m->Le, NULL);
        f_int(b, "num_decoder_layers", true, m->Ld, NULL);
    } else {
        f_int(b, "num_layers", true, m->L, NULL);
    }
    f_int(b, "hidden_size", true, m->H, NULL);
    f_int(b, "intermediate_size", true, m->I, "feed-forward inner width");
    f_int(b, "num_heads", true, m->n, "query heads");
    f_int(b, "num_kv_heads", true, m->m, "key/value heads (fewer than num_heads: grouped-query attention)");
    f_int(b, "head_dim", true, m->d, NULL);
    comment_line(b, "attention");
    f_str(b, "attention", llmc_attention_name(s->attention), NULL);
    f_int(b, "sliding_window", s->attention == LLMC_ATTN_SLIDING_WINDOW, s->sliding_window,
          "query i sees keys j with i - sliding_window < j <= i");
    f_float(b, "attention_scale", true, m->attention_scale, "scores = q . k * attention_scale");
    comment_line(b, "normalisation and feed-forward");
    f_str(b, "norm", llmc_norm_name(s->norm), NULL);
    f_float(b, "norm_eps", true, s->norm_eps, NULL);
    f_str(b, "activation", llmc_activation_name(s->activation), NULL);
    comment_line(b, "positions");
    f_str(b, "positional_encoding", llmc_positional_name(s->positional), NULL);
    f_float(b, "rope_theta", rope, s->rope.theta, NULL);
    f_int(b, "rotary_dim", rope, (int64_t)(s->rope.fraction * (double)m->d + 0.5),
          "RoPE rotates the first rotary_dim dims of each head (all of them unless partial rotary)");
    f_str(b, "rope_scaling", sc != LLMC_ROPE_SCALING_NONE ? llmc_rope_scaling_name(sc) : NULL, NULL);
    f_float(b, "rope_factor", sc != LLMC_ROPE_SCALING_NONE, s->rope.factor, NULL);
    f_int(b, "rope_original_context_length",
          sc == LLMC_ROPE_SCALING_DYNAMIC || sc == LLMC_ROPE_SCALING_YARN || sc == LLMC_ROPE_SCALING_LLAMA3,
          s->rope.original_context_length, NULL);
    f_float(b, "rope_low_freq_factor", sc == LLMC_ROPE_SCALING_LLAMA3, s->rope.low_freq_factor, NULL);
    f_float(b, "rope_high_freq_factor", sc == LLMC_ROPE_SCALING_LLAMA3, s->rope.high_freq_factor, NULL);
    f_float(b, "rope_beta_fast", sc == LLMC_ROPE_SCALING_YARN, s->rope.beta_fast, NULL);
    f_float(b, "rope_beta_slow", sc == LLMC_ROPE_SCALING_YARN, s->rope.beta_slow, NULL);
    f_float(b, "alibi_max_bias", s->positional == LLMC_POS_ALIBI, s->alibi_max_bias, NULL);
    f_int(b, "relative_num_buckets", s->positional == LLMC_POS_RELATIVE, s->relative_num_buckets, NULL);
    f_int(b, "relative_max_distance", s->positional == LLMC_POS_RELATIVE, s->relative_max_distance, NULL);
    comment_line(b, "biases and head");
    f_bool(b, "bias_qkv", s->bias.qkv, NULL);
    f_bool(b, "bias_attn_out", s->bias.attn_out, NULL);
    f_bool(b, "bias_mlp", s->bias.mlp, NULL);
    f_bool(b, "bias_norm", s->bias.norm, "layernorm only");
    f_bool(b, "bias_lm_head", s->bias.lm_head, NULL);
    f_bool(b, "tie_word_embeddings", s->tie_word_embeddings, "the head uses the embedding matrix");
    if (m->moe) {
        comment_line(b, "sparse mixture of experts (every layer's MLP)");
        f_int(b, "num_experts", true, m->experts, NULL);
        f_int(b, "experts_per_token", true, m->experts_per_token, "experts each token is routed to");
        f_int(b, "expert_intermediate_size", true, m->expert_I, "inner width of one expert");
        if (m->shared_I)
            f_int(b, "shared_expert_intermediate_size", true, m->shared_I,
                  "inner width of the shared expert every token goes through (Qwen2-MoE)");
        f_str(b, "moe_routing", m->moe_routing, "softmax_topk: softmax, keep top k; topk_softmax: softmax of top k");
        f_bool(b, "moe_normalize_topk", m->moe_normalize, "softmax_topk: divide the kept weights by their sum");
        f_float(b, "aux_loss_weight", true, s->moe.aux_loss_weight, "load-balancing loss weight in training");
    }
    if (m->encdec) {
        f_float(b, "decoder_output_scale", m->has_output_scale, m->output_scale,
                "decoder output scaled before the head (T5 with a tied head)");
        f_int(b, "decoder_start_token_id", true, m->tokens.decoder_start >= 0 ? m->tokens.decoder_start : 0,
              "first decoder token");
    }
    const llmc_special_tokens *t = &m->tokens;
    comment_line(b, "special tokens: the model's tokenizer (OUT/tokenizer/), one set for every artifact");
    f_int(b, "bos_token_id", t->bos >= 0, t->bos, NULL);
    f_int(b, "eos_token_id", t->eos >= 0, t->eos, "generation stops here");
    f_int(b, "pad_token_id", t->pad >= 0, t->pad, NULL);
    f_int(b, "unk_token_id", t->unk >= 0, t->unk, NULL);
    f_bool(b, "add_bos_token", t->add_bos, "a prompt's encoding starts with bos");
    f_bool(b, "add_eos_token", t->add_eos, "a prompt's encoding ends with eos");
    comment_line(b, "weights and training");
    f_str(b, "precision", llmc_precision_name(s->precision), "dtype of the emitted weights");
    f_str(b, "init", llmc_init_scheme_name(s->weights.init), NULL);
    f_float(b, "init_std", true, s->weights.std, NULL);
    f_bool(b, "gradient_checkpointing", false, NULL);
}

/* ---- INIT_RULES: llmc's initialisation of each parameter, by name pattern --------------------- */

typedef struct init_entry {
    char pattern[LLMC_VIEW_NAME_MAX];
    const char *name;
    llmc_param_init init;
    size_t index;
    bool uniform;            /* every entry with this pattern has the same init */
} init_entry;

/* "model.layers.12.mlp.up_proj.weight" -> "model.layers.*.mlp.up_proj.weight" */
static void name_pattern(const char *name, char *out, size_t n) {
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < n;) {
        if ((p == name || p[-1] == '.') && *p >= '0' && *p <= '9') {
            const char *q = p;
            while (*q >= '0' && *q <= '9') q++;
            if (*q == '.' || *q == '\0') {
                out[k++] = '*';
                p = q;
                continue;
            }
        }
        out[k++] = *p++;
    }
    out[k] = '\0';
}

static int by_pattern(const void *a, const void *b) {
    const init_entry *x = *(const init_entry *const *)a, *y = *(const init_entry *const *)b;
    int c = strcmp(x->pattern, y->pattern);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int init_rules(llmc_strbuf *b, const llmc_layout *layout, const llmc_ir *ir, llmc_diags *d) {
    size_t n = layout->n_views;
    init_entry *e = n ? calloc(n, sizeof *e) : NULL;
    init_entry **order = n ? malloc(n * sizeof *order) : NULL;
    if (n && (!e || !order)) {
        free(e);
        free(order);
        llmc_error(d, "emit", "pytorch: out of memory listing initialisation rules");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const llmc_tensor_view *v = &layout->views[i];
        const llmc_tensor_info *t = v->n_parts > 0 ? llmc_ir_tensor(ir, v->parts[0]) : NULL;
        if (!t) {
            free(e);
            free(order);
            llmc_error(d, "emit", "pytorch: stored tensor '%s' names no IR parameter", v->name);
            return -1;
        }
        /* a fused view (GPT-2 c_attn) is one tensor in PyTorch: its parts share the rule of
         * the first (the templates give q, k and v the same init) */
        e[i].name = v->name;
        e[i].init = t->init;
        e[i].index = i;
        name_pattern(v->name, e[i].pattern, sizeof e[i].pattern);
        order[i] = &e[i];
    }
    if (n) qsort(order, n, sizeof *order, by_pattern);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        bool uniform = true;
        while (j < n && !strcmp(order[j]->pattern, order[i]->pattern)) {
            if (order[j]->init.kind != order[i]->init.kind ||
                (order[j]->init.kind == LLMC_PINIT_NORMAL && order[j]->init.std != order[i]->init.std))
                uniform = false;
            j++;
        }
        for (size_t k = i; k < j; k++) order[k]->uniform = uniform;
        i = j;
    }
    /* write in layout order: one wildcard rule per uniform pattern, exact names otherwise */
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        if (e[i].uniform)
            for (size_t k = 0; k < i && first; k++)
                if (!strcmp(e[k].pattern, e[i].pattern)) first = false;
        if (!first) continue;
        llmc_strbuf_puts(b, "    (");
        pt_put_pystr(b, e[i].uniform ? e[i].pattern : e[i].name);
        llmc_strbuf_puts(b, ", ");
        pt_put_pystr(b, llmc_init_kind_name(e[i].init.kind));
        llmc_strbuf_puts(b, ", ");
        pt_put_pyfloat(b, e[i].init.kind == LLMC_PINIT_NORMAL ? e[i].init.std : 0.0);
        llmc_strbuf_puts(b, "),\n");
    }
    if (b->n && b->s[b->n - 1] == '\n') b->s[--b->n] = '\0';
    free(e);
    free(order);
    return 0;
}

/* ---- tokenizer.py: llmc's general categories as runs ---------------------------------------- */

static const char *const gc_names[LLMC_GC_COUNT] = {
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps",
    "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"};

/* "<hex start><category>" for each run of equal category, as Python string literals of about
 * 100 characters a line (tokenizer.py parses them back; the same table on every Python) */
static void category_runs(llmc_strbuf *b, llmc_gc (*gc)(uint32_t)) {
    char line[160];
    size_t n = 0;
    int prev = -1;
    for (uint32_t cp = 0; cp < 0x110000u; cp++) {
        int c = (int)gc(cp);
        if (c == prev) continue;
        prev = c;
        n += (size_t)snprintf(line + n, sizeof line - n, "%x%s", (unsigned)cp, gc_names[c < LLMC_GC_COUNT ? c : 0]);
        if (n >= 96) {
            llmc_strbuf_printf(b, "    \"%s\"\n", line);
            n = 0;
        }
    }
    if (n) llmc_strbuf_printf(b, "    \"%s\"\n", line);
    if (b->n && b->s[b->n - 1] == '\n') b->s[--b->n] = '\0';
}

/* ---- feature flags and texts --------------------------------------------------------------- */

static void summary(llmc_strbuf *b, const pt_model *m, uint64_t total) {
    const llmc_spec *s = m->spec;
    char cnt[32];
    if (m->encdec)
        llmc_strbuf_printf(b, "%lld encoder + %lld decoder layers", (long long)m->Le, (long long)m->Ld);
    else
        llmc_strbuf_printf(b, "%lld layers", (long long)m->L);
    llmc_strbuf_printf(b, ", hidden %lld, %lld heads", (long long)m->H, (long long)m->n);
    if (m->m != m->n) llmc_strbuf_printf(b, " / %lld kv heads", (long long)m->m);
    llmc_strbuf_printf(b, " of %lld, %s", (long long)m->d, llmc_attention_name(s->attention));
    if (s->attention == LLMC_ATTN_SLIDING_WINDOW) llmc_strbuf_printf(b, " %lld", (long long)s->sliding_window);
    llmc_strbuf_printf(b, " attention, %s positions", llmc_positional_name(s->positional));
    if (s->positional == LLMC_POS_ROPE && s->rope.scaling != LLMC_ROPE_SCALING_NONE)
        llmc_strbuf_printf(b, " (%s scaling)", llmc_rope_scaling_name(s->rope.scaling));
    llmc_strbuf_printf(b, ", %s, %s MLP %lld, %s head, %s parameters", llmc_norm_name(s->norm),
              llmc_activation_name(s->activation), (long long)m->I, s->tie_word_embeddings ? "tied" : "untied",
              llmc_fmt_count(total, cnt, sizeof cnt));
}

static void set_flags(pt_vars *v, const pt_model *m) {
    const llmc_spec *s = m->spec;
    bool rope = s->positional == LLMC_POS_ROPE;
    pt_flag(v, "encdec", m->encdec);
    pt_flag(v, "generic", m->generic);
    pt_flag(v, "gpt2_names", m->gpt2);
    pt_flag(v, "qk_norm", m->qk_norm);
    pt_flag(v, "moe", m->moe);
    pt_flag(v, "moe_shared", m->moe && m->shared_I > 0);
    pt_flag(v, "rope", rope);
    pt_flag(v, "rope_none", rope && s->rope.scaling == LLMC_ROPE_SCALING_NONE);
    pt_flag(v, "rope_linear", rope && s->rope.scaling == LLMC_ROPE_SCALING_LINEAR);
    pt_flag(v, "rope_dynamic", rope && s->rope.scaling == LLMC_ROPE_SCALING_DYNAMIC);
    pt_flag(v, "rope_yarn", rope && s->rope.scaling == LLMC_ROPE_SCALING_YARN);
    pt_flag(v, "rope_llama3", rope && s->rope.scaling == LLMC_ROPE_SCALING_LLAMA3);
    pt_flag(v, "alibi", s->positional == LLMC_POS_ALIBI);
    pt_flag(v, "learned", s->positional == LLMC_POS_LEARNED);
    pt_flag(v, "sinusoidal", s->positional == LLMC_POS_SINUSOIDAL);
    pt_flag(v, "relative", s->positional == LLMC_POS_RELATIVE);
    pt_flag(v, "rmsnorm", s->norm == LLMC_NORM_RMSNORM);
    pt_flag(v, "layernorm", s->norm == LLMC_NORM_LAYERNORM);
    pt_flag(v, "no_norm", s->norm == LLMC_NORM_NONE);
    pt_flag(v, "gated", llmc_activation_is_gated(s->activation));
    pt_flag(v, "act_swiglu", s->activation == LLMC_ACT_SWIGLU);
    pt_flag(v, "act_geglu", s->activation == LLMC_ACT_GEGLU);
    pt_flag(v, "act_gelu", s->activation == LLMC_ACT_GELU);
    pt_flag(v, "act_gelu_tanh", s->activation == LLMC_ACT_GELU_TANH);
    pt_flag(v, "act_relu", s->activation == LLMC_ACT_RELU);
    pt_flag(v, "act_silu", s->activation == LLMC_ACT_SILU);
    pt_flag(v, "act_relu_squared", s->activation == LLMC_ACT_RELU_SQUARED);
    pt_flag(v, "grouped_kv", m->m != m->n);
    pt_flag(v, "sliding", s->attention == LLMC_ATTN_SLIDING_WINDOW);
    pt_flag(v, "tied", s->tie_word_embeddings);
    pt_flag(v, "lm_head_bias", s->bias.lm_head);
    pt_flag(v, "decoder_output_scale", m->has_output_scale);
}

static int set_vars(pt_vars *v, const llmc_emit_ctx *ctx, const pt_model *m, const llmc_layout *layout,
                    llmc_diags *d) {
    const llmc_spec *s = m->spec;
    llmc_strbuf b = {0};
    char cnt[32];
    uint64_t total = ctx->count ? ctx->count->total : 0;

    doc_text(&b, s->name);
    pt_var_take(v, "NAME", &b);
    /* the normalised spec beside the output (OUT/spec.json), not the path the spec was read
     * from: compiling OUT/spec.json again must give the same bytes */
    pt_var(v, "SPEC_FILE", "spec.json");
    pt_var(v, "LLMC_VERSION", llmc_version());
    pt_var(v, "PACKAGE", m->package);
    pt_var(v, "DIST_NAME", m->package);
    doc_text(&b, m->family);
    if (m->hf_architecture[0]) llmc_strbuf_printf(&b, " (transformers' %s)", m->hf_architecture);
    pt_var_take(v, "FAMILY", &b);
    pt_var(v, "MODEL_CLASS", m->encdec ? "Seq2SeqLM" : "CausalLM");
    llmc_strbuf_printf(&b, "%llu", (unsigned long long)total);
    pt_var_take(v, "NUM_PARAMETERS", &b);
    pt_var(v, "NUM_PARAMETERS_FMT", llmc_fmt_count(total, cnt, sizeof cnt));
    pt_var(v, "PRECISION", llmc_precision_name(s->precision));
    pt_var(v, "INIT_SCHEME", llmc_init_scheme_name(s->weights.init));

    summary(&b, m, total);
    pt_var_take(v, "SUMMARY", &b);

    config_fields(&b, m);
    if (b.n && b.s[b.n - 1] == '\n') b.s[--b.n] = '\0';
    pt_var_take(v, "CONFIG_FIELDS", &b);
    if (init_rules(&b, layout, ctx->ir, d)) {
        llmc_strbuf_free(&b);
        return -1;
    }
    pt_var_take(v, "INIT_RULES", &b);

    if (s->positional == LLMC_POS_ROPE && s->rope.scaling != LLMC_ROPE_SCALING_NONE)
        llmc_strbuf_printf(&b, " for rope scaling '%s'", llmc_rope_scaling_name(s->rope.scaling));
    pt_var_take(v, "ROPE_KIND", &b);

    if (m->m == m->n) llmc_strbuf_printf(&b, "%lld heads of %lld", (long long)m->n, (long long)m->d);
    else if (m->m == 1) llmc_strbuf_printf(&b, "%lld query heads sharing one key/value head (multi-query), head_dim %lld", (long long)m->n, (long long)m->d);
    else llmc_strbuf_printf(&b, "%lld query heads in %lld groups sharing a key/value head (grouped-query), head_dim %lld",
                   (long long)m->n, (long long)m->m, (long long)m->d);
    pt_var_take(v, "ATTENTION_KIND", &b);

    llmc_strbuf_puts(&b, "j <= i");
    if (s->attention == LLMC_ATTN_SLIDING_WINDOW)
        llmc_strbuf_printf(&b, " and i - j < sliding_window (%lld)%s", (long long)s->sliding_window,
                           s->sliding_window_pattern > 0 ? " in the blocks whose window is set (BLOCKS)" : "");
    if (s->positional == LLMC_POS_ALIBI)
        llmc_strbuf_puts(&b, ";\n        ALiBi adds -slope_h * (i - j) to the score of head h");
    pt_var_take(v, "VISIBILITY", &b);

    bool rope = s->positional == LLMC_POS_ROPE;
    pt_var(v, "RELATIVE_IN_BLOCK", s->positional == LLMC_POS_RELATIVE ? "layer_idx == 0" : "False");
    pt_var(v, "ROPE_PARAMS", rope ? ", cos: torch.Tensor, sin: torch.Tensor" : "");
    pt_var(v, "ROPE_ARGS", rope ? ", cos, sin" : "");
    if (s->positional == LLMC_POS_RELATIVE)
        llmc_strbuf_puts(&b, "The T5 relative position bias of each\n        (key - query) distance, "
                   "bidirectional in the encoder; the decoder also hides later keys (-inf).");
    else
        llmc_strbuf_puts(&b, "The encoder sees every key; the decoder hides\n        the keys after each query.");
    pt_var_take(v, "STACK_BIAS_DOC", &b);

    if (m->encdec) {
        pt_var(v, "FORWARD_SHAPE", "model(input_ids, decoder_input_ids) -> [batch, target_seq, vocab]");
        long long start = m->tokens.decoder_start >= 0 ? (long long)m->tokens.decoder_start : 0;
        char usage[640], tgt[64];
        snprintf(tgt, sizeof tgt, "tgt = torch.tensor([[%lld, 5]])", start);
        snprintf(usage, sizeof usage,
                 "src = torch.tensor([[1, 2, 3]])\n"
                 "%-46s# starts with decoder_start_token_id (%lld)\n"
                 "logits = model(src, tgt)                      # [1, 2, vocab_size]\n"
                 "loss, logits = model(src, labels=tgt)         # cross-entropy of predicting tgt\n"
                 "out = model.generate(src, max_new_tokens=20)  # greedy, encoder once, decoder KV cache",
                 tgt, start);
        pt_var(v, "USAGE", usage);
        pt_var(v, "TRAIN_TASK", "Encoder-decoder task: the first half of each window is the encoder input, the\n"
                                "decoder learns to continue with the second half.");
        pt_var(v, "TRAIN_WINDOW", "2 * args.seq_len");
    } else {
        pt_var(v, "FORWARD_SHAPE", "model(input_ids) -> [batch, seq, vocab]");
        pt_var(v, "USAGE",
               "ids = torch.tensor([[1, 2, 3]])\n"
               "logits = model(ids)                           # [1, 3, vocab_size]\n"
               "loss, logits = model(ids, labels=ids)         # next-token cross-entropy\n"
               "out = model.generate(ids, max_new_tokens=20)  # greedy, with a KV cache");
        pt_var(v, "TRAIN_TASK", "Task: next-token prediction on windows of --seq-len bytes.");
        pt_var(v, "TRAIN_WINDOW", "args.seq_len");
    }
    if (m->generic && pt_graph_tables(s, ctx->ir, &b, NULL, NULL, NULL, d)) {
        llmc_strbuf_free(&b);
        return -1;
    }
    pt_var_take(v, "GRAPH_TABLES", &b);
    if (m->generic) pt_graph_wiring(ctx->ir, &b);
    pt_var_take(v, "BLOCK_WIRING", &b);
    category_runs(&b, llmc_uc_gc_current);
    pt_var_take(v, "UNICODE_RUNS_NOW", &b);
    category_runs(&b, llmc_uc_gc8);
    pt_var_take(v, "UNICODE_RUNS_V8", &b);
    category_runs(&b, llmc_uc_gc9);
    pt_var_take(v, "UNICODE_RUNS_V9", &b);

    set_flags(v, m);
    if (v->oom) {
        llmc_error(d, "emit", "pytorch: out of memory preparing the package");
        return -1;
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------------------------ */

/* render one file and write it, or (verify) compare it with the file in OUT */
static int write_one(const llmc_emit_ctx *ctx, const pt_vars *v, const char *tmpl, const char *rel,
                     const char *role, bool verify, llmc_diags *d) {
    llmc_strbuf out = {0};
    if (pt_render(tmpl, v, &out, d)) {
        llmc_strbuf_free(&out);
        return -1;
    }
    if (verify) { /* differences are reported in d; keep going to list them all */
        llmc_out_verify(ctx, rel, out.s ? out.s : "", out.n, false, d);
        llmc_strbuf_free(&out);
        return 0;
    }
    int rc = llmc_out_write_file(ctx, rel, out.s ? out.s : "", out.n, d);
    llmc_strbuf_free(&out);
    if (rc) return -1;
    if (llmc_out_register(ctx, rel, role)) {
        llmc_error(d, "emit", "pytorch: could not record %s in the compilation report", rel);
        return -1;
    }
    return 0;
}

int pt_write_package(const llmc_emit_ctx *ctx, const pt_model *m, const llmc_layout *layout, bool verify,
                     llmc_diags *d) {
    pt_vars v;
    memset(&v, 0, sizeof v);
    int rc = set_vars(&v, ctx, m, layout, d);
    struct { const char *tmpl, *file, *role; } files[] = {
        {"init.py.in", "__init__.py", "python package entry (from_pretrained, ModelConfig)"},
        {"configuration.py.in", "configuration.py", "model configuration dataclass"},
        {NULL, "modeling.py", "model code (nn.Module per block)"},
        {"generation.py.in", "generation.py", "KV cache and sampling"},
        {"tokenizer.py.in", "tokenizer.py", "tokenizer (standard library only; reads OUT/tokenizer/tokenizer.json)"},
        {"generate.py.in", "generate.py", "text generation from the command line (python -m PACKAGE.generate OUT \"prompt\")"},
        {"safetensors_io.py.in", "safetensors_io.py", "safetensors reader and writer"},
        {"pyproject.toml.in", "pyproject.toml", "pip project"},
        {"README.md.in", "README.md", "package documentation"},
    };
    char rel[256], role[256];
    for (size_t i = 0; !rc && i < sizeof files / sizeof files[0]; i++) {
        const char *tmpl = files[i].tmpl ? files[i].tmpl
                           : m->encdec ? "modeling_encdec.py.in"
                           : m->generic ? "modeling_graph.py.in" : "modeling_decoder.py.in";
        snprintf(rel, sizeof rel, "pytorch/%s/%s", m->package, files[i].file);
        rc = write_one(ctx, &v, tmpl, rel, files[i].role, verify, d);
    }
    if (!rc) rc = write_one(ctx, &v, "train.py.in", "pytorch/train.py", "training script (torchrun / DDP)", verify, d);
    if (!rc && !verify) {
        /* train.py is a script: make it executable */
        char path[4096];
        if (llmc_out_path(ctx, "pytorch/train.py", path, sizeof path, d)) rc = -1;
        else if (chmod(path, 0755))
            llmc_warning(d, "emit", "pytorch: could not make %s executable: %s (run it with python3)", path,
                         strerror(errno));
        snprintf(rel, sizeof rel, "pytorch/%s", m->package);
        snprintf(role, sizeof role, "python package '%s' (import %s)", m->package, m->package);
        if (llmc_out_register(ctx, rel, role)) {
            llmc_error(d, "emit", "pytorch: could not record %s in the compilation report", rel);
            rc = -1;
        }
    }
    pt_vars_free(&v);
    return rc;
}
