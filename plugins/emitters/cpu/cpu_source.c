/* cpu_source.c — the program's sources: the runtime files (rt/, embedded at build time) with the
 * code paths of this model only (llmc_render: //@if sections), model_config.h with its dimensions and features as
 * constants, and the README. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"
#include "llmc/sha256.h"

/* ---- generated text (llmc_strbuf) ---------------------------------------------------------------- */
static char *sb_take(llmc_strbuf *b, llmc_diags *d) {
    char *s = llmc_strbuf_take(b);
    if (!s) llmc_error(d, "cpu", "out of memory generating the runtime sources");
    return s;
}

/* a float or double literal that reads back to the same value */
static const char *num(char *buf, size_t n, double v, bool as_float) {
    snprintf(buf, n, "%.*g", as_float ? 9 : 17, as_float ? (double)(float)v : v);
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", n - strlen(buf) - 1);
    if (as_float) strncat(buf, "f", n - strlen(buf) - 1);
    return buf;
}

/* a C string literal body (the spec name) */
static void c_string(llmc_strbuf *b, const char *s) {
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') llmc_strbuf_printf(b, "\\%c", c);
        else if (c < 32 || c >= 127) llmc_strbuf_printf(b, "\\%03o", c);
        else llmc_strbuf_printf(b, "%c", c);
    }
}

static const char *norm_macro(llmc_norm_kind k) {
    return k == LLMC_NORM_RMSNORM ? "NORM_RMS" : k == LLMC_NORM_LAYERNORM ? "NORM_LAYER" : "NORM_NONE";
}

static const char *act_macro(llmc_activation_kind a) {
    static const char *const names[] = {"ACT_SWIGLU", "ACT_GEGLU", "ACT_GELU", "ACT_GELU_TANH",
                                        "ACT_RELU",   "ACT_SILU",  "ACT_RELU_SQUARED"};
    return a < LLMC_ACT_COUNT ? names[a] : "ACT_SWIGLU";
}

static const char *pos_macro(llmc_positional_kind p) {
    static const char *const names[] = {"POS_ROPE", "POS_ALIBI", "POS_LEARNED", "POS_SINUSOIDAL", "POS_RELATIVE",
                                        "POS_NONE"};
    return p < LLMC_POS_COUNT ? names[p] : "POS_NONE";
}

static const char *rope_macro(llmc_rope_scaling_kind k) {
    static const char *const names[] = {"ROPE_SCALING_NONE", "ROPE_SCALING_LINEAR", "ROPE_SCALING_DYNAMIC",
                                        "ROPE_SCALING_YARN", "ROPE_SCALING_LLAMA3"};
    return k < LLMC_ROPE_SCALING_COUNT ? names[k] : "ROPE_SCALING_NONE";
}

static const char *weight_type(const cpu_plan *p) { return p->weight_name; }

char *cpu_config_text(const llmc_emit_ctx *ctx, cpu_plan *p, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    const llmc_dims *dm = ctx->dims;
    char n1[64];
    llmc_strbuf body = {0};
    /* everything below is hashed; the hash goes into model.bin and the header line above it */
    llmc_strbuf_printf(&body, "#define LLMC_MODEL_NAME \"");
    c_string(&body, s->name ? s->name : "model");
    llmc_strbuf_printf(&body, "\"\n");
    llmc_strbuf_printf(&body, "#define LLMC_WEIGHT_TYPE \"%s\"   /* matrices; norms, biases and tables are f32 */\n\n",
              weight_type(p));
    llmc_strbuf_printf(&body, "/* dimensions */\n");
    llmc_strbuf_printf(&body, "#define ENCODER_DECODER %d\n", p->encdec ? 1 : 0);
    llmc_strbuf_printf(&body, "#define VOCAB %lld\n", (long long)s->vocab_size);
    llmc_strbuf_printf(&body, "#define CONTEXT %lld\n", (long long)s->context_length);
    llmc_strbuf_printf(&body, "#define HIDDEN %lld\n", (long long)dm->v[LLMC_DIM_HIDDEN_SIZE]);
    llmc_strbuf_printf(&body, "#define INTERMEDIATE %lld\n", (long long)dm->v[LLMC_DIM_INTERMEDIATE_SIZE]);
    llmc_strbuf_printf(&body, "#define N_HEADS %lld\n", (long long)dm->v[LLMC_DIM_NUM_HEADS]);
    llmc_strbuf_printf(&body, "#define N_KV_HEADS %lld\n", (long long)dm->v[LLMC_DIM_NUM_KV_HEADS]);
    llmc_strbuf_printf(&body, "#define HEAD_DIM %lld\n", (long long)dm->v[LLMC_DIM_HEAD_DIM]);
    llmc_strbuf_printf(&body, "#define N_LAYERS %lld   /* %s */\n",
              (long long)(p->encdec ? dm->v[LLMC_DIM_NUM_DECODER_LAYERS] : dm->v[LLMC_DIM_NUM_LAYERS]),
              p->encdec ? "decoder layers" : "layers");
    llmc_strbuf_printf(&body, "#define N_ENCODER_LAYERS %lld\n\n", (long long)(p->encdec ? dm->v[LLMC_DIM_NUM_ENCODER_LAYERS] : 0));
    if (p->m.moe) {
        const cpu_model *mo = &p->m;
        llmc_strbuf_printf(&body, "#define N_EXPERTS %lld   /* sparse experts per layer */\n", (long long)mo->experts);
        llmc_strbuf_printf(&body, "#define N_EXPERTS_USED %lld   /* experts per token */\n", (long long)mo->experts_used);
        llmc_strbuf_printf(&body, "#define EXPERT_FF %lld   /* one expert's inner width */\n", (long long)mo->expert_ff);
        llmc_strbuf_printf(&body, "#define MOE_TOPK_SOFTMAX %d   /* 1: softmax of the kept logits; 0: softmax, keep */\n",
                           mo->moe_topk_softmax);
        llmc_strbuf_printf(&body, "#define MOE_NORMALIZE %d   /* the kept weights divided by their sum */\n%s",
                           mo->moe_normalize, mo->shared_expert ? "" : "\n");
        if (mo->shared_expert)
            llmc_strbuf_printf(&body, "#define SHARED_FF %lld   /* the shared expert's inner width (Qwen2-MoE) */\n\n",
                               (long long)mo->shared_ff);
    }
    llmc_strbuf_printf(&body, "/* features */\n");
    /* from the IR (cpu_plan.c): the block wiring and which norms exist, then the ops' settings */
    const cpu_model *m = &p->m;
    llmc_strbuf_printf(&body, "#define PARALLEL_RESIDUAL %d   /* 1: x += attn(n) + mlp(n); 0: x += attn, then x += mlp */\n",
                       m->parallel);
    llmc_strbuf_printf(&body, "#define POST_NORM %d   /* 1: x = norm(x + f(x)); 0: x + f(norm(x)) */\n", m->post_norm);
    if (m->sandwich)
        llmc_strbuf_printf(&body, "#define SANDWICH_NORM 1   /* x + norm'(f(norm(x))): each sub-layer's output normalised too */\n");
    llmc_strbuf_printf(&body, "#define MLP_NORM %d   /* the MLP has a norm of its own */\n", m->mlp_norm);
    llmc_strbuf_printf(&body, "#define FINAL_NORM %d   /* a norm after the last block */\n", m->final_norm);
    llmc_strbuf_printf(&body, "#define NORM %s\n", norm_macro(m->norm));
    llmc_strbuf_printf(&body, "#define NORM_EPS %s\n", num(n1, sizeof n1, m->norm_eps, true));
    llmc_strbuf_printf(&body, "#define BIAS_NORM %d\n", m->norm == LLMC_NORM_LAYERNORM && m->norm_bias);
    if (m->norm == LLMC_NORM_RMSNORM && m->norm_weight_offset != 0)
        llmc_strbuf_printf(&body, "#define NORM_WEIGHT_OFFSET %s   /* norms scale by (this + w): model.bin holds the sum */\n",
                           num(n1, sizeof n1, m->norm_weight_offset, true));
    if (m->embed_scale != 0)
        llmc_strbuf_printf(&body, "#define EMBED_SCALE %s   /* token embeddings times this (the IR's, in float32) */\n",
                           num(n1, sizeof n1, m->embed_scale, true));
    llmc_strbuf_printf(&body, "#define ACTIVATION %s\n", act_macro(m->activation));
    llmc_strbuf_printf(&body, "#define POSITIONAL %s\n", pos_macro(m->positional));
    if (m->positional == LLMC_POS_ROPE) {
        llmc_strbuf_printf(&body, "#define ROPE_THETA %s\n", num(n1, sizeof n1, m->rope_theta, false));
        /* partial rotary (Phi): the first ROPE_DIM dims of a head rotate, the rest pass through */
        llmc_strbuf_printf(&body, "#define ROPE_DIM %lld\n",
                           (long long)(m->rope_fraction * (double)dm->v[LLMC_DIM_HEAD_DIM] + 0.5));
        llmc_strbuf_printf(&body, "#define ROPE_SCALING %s\n", rope_macro(m->rope_scaling));
        llmc_strbuf_printf(&body, "#define ROPE_FACTOR %s\n", num(n1, sizeof n1, m->rope_factor, false));
        llmc_strbuf_printf(&body, "#define ROPE_ORIGINAL_CONTEXT %s\n", num(n1, sizeof n1, m->rope_original_context, false));
        llmc_strbuf_printf(&body, "#define ROPE_LOW_FREQ_FACTOR %s\n", num(n1, sizeof n1, m->rope_low_freq, false));
        llmc_strbuf_printf(&body, "#define ROPE_HIGH_FREQ_FACTOR %s\n", num(n1, sizeof n1, m->rope_high_freq, false));
        llmc_strbuf_printf(&body, "#define ROPE_BETA_FAST %s\n", num(n1, sizeof n1, m->rope_beta_fast, false));
        llmc_strbuf_printf(&body, "#define ROPE_BETA_SLOW %s\n", num(n1, sizeof n1, m->rope_beta_slow, false));
    }
    if (m->positional == LLMC_POS_ALIBI)
        llmc_strbuf_printf(&body, "#define ALIBI_MAX_BIAS %s\n", num(n1, sizeof n1, m->alibi_max_bias, false));
    if (m->positional == LLMC_POS_RELATIVE) {
        llmc_strbuf_printf(&body, "#define REL_BUCKETS %lld\n", (long long)m->rel_buckets);
        llmc_strbuf_printf(&body, "#define REL_MAX_DISTANCE %lld\n", (long long)m->rel_max_distance);
    }
    llmc_strbuf_printf(&body, "#define SLIDING_WINDOW %lld   /* 0: full causal attention */\n", (long long)p->sliding_window);
    if (p->windowed) {   /* sliding_window_pattern: the window on some layers, the whole past on the others */
        const int64_t layers = p->encdec ? dm->v[LLMC_DIM_NUM_DECODER_LAYERS] : dm->v[LLMC_DIM_NUM_LAYERS];
        if (p->n_windowed != layers) {
            llmc_strbuf_free(&body);
            llmc_error(d, "cpu", "the IR's attention ops name %lld layers, the model has %lld", (long long)p->n_windowed,
                       (long long)layers);
            return NULL;
        }
        llmc_strbuf_printf(&body, "#define LAYER_WINDOWED {");
        for (int64_t l = 0; l < p->n_windowed; l++)
            llmc_strbuf_printf(&body, "%s%d", l ? ", " : "", p->windowed[l]);
        llmc_strbuf_printf(&body, "}   /* per layer: 1 attends within SLIDING_WINDOW, 0 to the whole past */\n");
    }
    llmc_strbuf_printf(&body, "#define ATTN_SCALE %s\n", num(n1, sizeof n1, p->attn_scale, true));
    if (m->attn_softcap > 0)
        llmc_strbuf_printf(&body, "#define ATTN_SOFTCAP %s   /* scores = cap * tanh(score / cap) before the mask */\n",
                           num(n1, sizeof n1, m->attn_softcap, true));
    if (m->logit_softcap > 0)
        llmc_strbuf_printf(&body, "#define LOGIT_SOFTCAP %s   /* logits = cap * tanh(logits / cap) */\n",
                           num(n1, sizeof n1, m->logit_softcap, true));
    llmc_strbuf_printf(&body, "#define BIAS_QKV %d\n", m->bias_qkv);
    llmc_strbuf_printf(&body, "#define BIAS_ATTN_OUT %d\n", m->bias_attn_out);
    llmc_strbuf_printf(&body, "#define BIAS_MLP %d\n", m->bias_mlp);
    llmc_strbuf_printf(&body, "#define BIAS_LM_HEAD %d\n", m->bias_lm_head);
    llmc_strbuf_printf(&body, "#define TIED %d\n", m->tied);
    if (p->output_scaled)   /* T5 with a tied head */
        llmc_strbuf_printf(&body, "#define OUTPUT_SCALE %s   /* the decoder output times this before the head */\n",
                           num(n1, sizeof n1, p->output_scale, true));
    /* the model's special tokens (one set for every artifact; -1 = none) */
    const llmc_special_tokens tk = llmc_emit_special_tokens(ctx);
    llmc_strbuf_printf(&body, "#define DECODER_START_ID %lld\n", (long long)(tk.decoder_start >= 0 ? tk.decoder_start : 0));
    llmc_strbuf_printf(&body, "#define BOS_ID %lld\n", (long long)tk.bos);
    llmc_strbuf_printf(&body, "#define EOS_ID %lld\n", (long long)tk.eos);
    llmc_strbuf_printf(&body, "#define PAD_ID %lld\n", (long long)tk.pad);
    llmc_strbuf_printf(&body, "#define UNK_ID %lld\n", (long long)tk.unk);
    llmc_strbuf_printf(&body, "#define ADD_BOS %d\n", tk.add_bos ? 1 : 0);
    llmc_strbuf_printf(&body, "#define ADD_EOS %d\n", tk.add_eos ? 1 : 0);
    if (body.oom) return sb_take(&body, d);
    /* model.bin's compatibility check: the first 64 bits of the SHA-256 of the definitions below */
    uint8_t digest[32];
    llmc_sha256 sh;
    llmc_sha256_init(&sh);
    llmc_sha256_update(&sh, body.s, body.n);
    llmc_sha256_final(&sh, digest);
    p->config_hash = 0;
    for (int i = 0; i < 8; i++) p->config_hash = p->config_hash << 8 | digest[i];
    /* provenance: the one spec hash every artifact carries, computed once by core */
    const char *spec_hash = ctx->spec_sha256;
    if (!spec_hash) {
        free(body.s);
        llmc_error(d, "cpu", "internal error: the emit context carries no spec hash");
        return NULL;
    }

    llmc_strbuf out = {0};
    llmc_strbuf_printf(&out,
              "/* model_config.h — generated by llmc %s (emitter cpu) for '%s' from %s: do not edit.\n"
              " * Every dimension and feature of this model as a compile-time constant; model.bin carries\n"
              " * LLMC_CONFIG_HASH (a hash of the definitions below it) and the program refuses any other file.\n"
              " * LLMC_SPEC_SHA256 is the SHA-256 of spec.json, as in manifest.json and every other artifact. */\n"
              "#ifndef LLMC_MODEL_CONFIG_H\n#define LLMC_MODEL_CONFIG_H\n\n"
              "#define LLMC_SPEC_SHA256 \"%s\"\n"
              "#define LLMC_CONFIG_HASH 0x%016llxull\n",
              llmc_version(), s->name ? s->name : "model", "spec.json", spec_hash,
              (unsigned long long)p->config_hash);
    llmc_strbuf_printf(&out, "%.*s\n#endif\n", (int)body.n, body.s ? body.s : "");
    free(body.s);
    return sb_take(&out, d);
}

/* ---- README ------------------------------------------------------------------------------------------- */
static const llmc_embedded_file *rt_file(const char *name) {
    for (size_t i = 0; i < cpu_rt_files_count; i++)
        if (!strcmp(cpu_rt_files[i].name, name)) return &cpu_rt_files[i];
    return NULL;
}

char *cpu_readme_text(const llmc_emit_ctx *ctx, const cpu_plan *p, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    const llmc_dims *dm = ctx->dims;
    const llmc_embedded_file *tpl = rt_file("README.md");
    if (!tpl) {
        llmc_error(d, "cpu", "internal: the README template is not embedded");
        return NULL;
    }
    char cnt[64];
    llmc_strbuf sum = {0};
    llmc_strbuf_printf(&sum, "| template | %s |\n", p->encdec ? "encoder_decoder" : "decoder_only");
    llmc_strbuf_printf(&sum, "| parameters | %s |\n", llmc_fmt_count(ctx->count->total, cnt, sizeof cnt));
    if (p->encdec)
        llmc_strbuf_printf(&sum, "| layers | %lld encoder, %lld decoder |\n", (long long)dm->v[LLMC_DIM_NUM_ENCODER_LAYERS],
                  (long long)dm->v[LLMC_DIM_NUM_DECODER_LAYERS]);
    else
        llmc_strbuf_printf(&sum, "| layers | %lld |\n", (long long)dm->v[LLMC_DIM_NUM_LAYERS]);
    llmc_strbuf_printf(&sum, "| hidden / intermediate | %lld / %lld |\n", (long long)dm->v[LLMC_DIM_HIDDEN_SIZE],
              (long long)dm->v[LLMC_DIM_INTERMEDIATE_SIZE]);
    llmc_strbuf_printf(&sum, "| heads | %lld (%lld key/value heads, head_dim %lld) |\n", (long long)dm->v[LLMC_DIM_NUM_HEADS],
              (long long)dm->v[LLMC_DIM_NUM_KV_HEADS], (long long)dm->v[LLMC_DIM_HEAD_DIM]);
    llmc_strbuf_printf(&sum, "| vocabulary / context | %lld / %lld |\n", (long long)s->vocab_size, (long long)s->context_length);
    llmc_strbuf_printf(&sum, "| attention / positions | %s / %s |\n", llmc_attention_name(s->attention),
              llmc_positional_name(p->m.positional));
    llmc_strbuf_printf(&sum, "| blocks | %s, %s norms |\n", p->m.parallel ? "parallel (x + attn(n) + mlp(n))" : "sequential",
                       p->m.norm == LLMC_NORM_NONE ? "no" : p->m.post_norm ? "post" : p->m.sandwich ? "sandwich" : "pre");
    llmc_strbuf_printf(&sum, "| norm / activation | %s / %s |\n", llmc_norm_name(p->m.norm), llmc_activation_name(p->m.activation));
    /* Gemma's options, only when the IR has them */
    const cpu_model *gm = &p->m;
    if (gm->norm_weight_offset != 0 || gm->embed_scale != 0 || gm->attn_softcap > 0 || gm->logit_softcap > 0 || p->windowed) {
        llmc_strbuf_puts(&sum, "| Gemma options |");
        const char *sep = " ";
        if (gm->norm_weight_offset != 0)
            llmc_strbuf_printf(&sum, "%snorms scale by (%g + w)", sep, gm->norm_weight_offset), sep = ", ";
        if (gm->embed_scale != 0) llmc_strbuf_printf(&sum, "%sembeddings times %g", sep, gm->embed_scale), sep = ", ";
        if (gm->attn_softcap > 0) llmc_strbuf_printf(&sum, "%sattention scores capped at %g", sep, gm->attn_softcap), sep = ", ";
        if (gm->logit_softcap > 0) llmc_strbuf_printf(&sum, "%slogits capped at %g", sep, gm->logit_softcap), sep = ", ";
        if (p->windowed) {
            int64_t nw = 0;
            for (int64_t l = 0; l < p->n_windowed; l++) nw += p->windowed[l];
            llmc_strbuf_printf(&sum, "%s%lld of %lld layers windowed, the others global", sep, (long long)nw,
                               (long long)p->n_windowed);
        }
        llmc_strbuf_puts(&sum, " |\n");
    }
    llmc_strbuf_printf(&sum, "| weights | %s, %.1f MB |", weight_type(p), (double)p->file_bytes / 1e6);
    if (sum.oom) return sb_take(&sum, d);

    char weights[160];
    snprintf(weights, sizeof weights, "%s matrices in 16-row panels, f32 norms and biases (%.1f MB)", weight_type(p),
             (double)p->file_bytes / 1e6);
    char vocab[32], context[32];
    snprintf(vocab, sizeof vocab, "%lld", (long long)s->vocab_size);
    snprintf(context, sizeof context, "%lld", (long long)s->context_length);
    const llmc_render_var vars[] = {{"NAME", s->name ? s->name : "model"},
                                    {"VERSION", llmc_version()},
                                    /* OUT/spec.json, not the path the spec was read from: a recompile
                                     * of OUT/spec.json gives the same bytes */
                                    {"SPEC_FILE", "../spec.json"},
                                    {"SUMMARY", sum.s},
                                    {"START", "0"},
                                    {"VOCAB", vocab},
                                    {"CONTEXT", context},
                                    {"WEIGHTS", weights}};
    llmc_render_params rp = llmc_render_default_params();
    rp.directive = "//@";
    rp.vars = vars;
    rp.n_vars = sizeof vars / sizeof vars[0];
    rp.who = "cpu";
    llmc_strbuf out = {0};
    if (llmc_render("README.md", tpl->text, tpl->len, &rp, &out, d)) {
        free(sum.s);
        llmc_strbuf_free(&out);
        return NULL;
    }
    free(sum.s);
    return sb_take(&out, d);
}

/* ---- the runtime sources ------------------------------------------------------------------------------- */
char *cpu_source_text(const cpu_plan *p, const llmc_embedded_file *f, llmc_diags *d) {
    cpu_flag flags[CPU_MAX_FLAGS];
    const size_t n = cpu_feature_flags(&p->m, p->sliding_window, p->windowed != NULL, p->output_scaled, flags);
    llmc_strbuf out = {0};
    llmc_render_params rp = llmc_render_default_params();
    rp.directive = "//@";
    rp.flags = flags;
    rp.n_flags = n;
    rp.substitute = false;   /* C source: copied as it is */
    rp.who = "cpu";
    if (llmc_render(f->name, f->text, f->len, &rp, &out, d)) {
        llmc_strbuf_free(&out);
        return NULL;
    }
    if (!out.s && !out.oom) llmc_strbuf_puts(&out, "");
    return sb_take(&out, d);
}

/* ---- writing ------------------------------------------------------------------------------------------- */
static int write_registered(const llmc_emit_ctx *ctx, const char *rel, const char *text, size_t len, const char *role,
                            llmc_diags *d) {
    if (llmc_out_write_file(ctx, rel, text, len, d)) return -1;
    if (llmc_out_register(ctx, rel, role)) {
        llmc_error(d, "cpu", "could not record '%s' in the compilation report", rel);
        return -1;
    }
    return 0;
}

int cpu_write_sources(const llmc_emit_ctx *ctx, cpu_plan *p, llmc_diags *d) {
    char *cfg = cpu_config_text(ctx, p, d);
    if (!cfg) return -1;
    int rc = write_registered(ctx, "cpu/model_config.h", cfg, strlen(cfg), "CPU runtime: this model's configuration", d);
    free(cfg);
    if (rc) return -1;
    char *readme = cpu_readme_text(ctx, p, d);
    if (!readme) return -1;
    rc = write_registered(ctx, "cpu/README.md", readme, strlen(readme), "CPU runtime: README", d);
    free(readme);
    if (rc) return -1;
    for (size_t i = 0; i < cpu_rt_files_count; i++) {
        const llmc_embedded_file *f = &cpu_rt_files[i];
        if (!strcmp(f->name, "README.md")) continue;
        char rel[128], role[160];
        snprintf(rel, sizeof rel, "cpu/%s", f->name);
        snprintf(role, sizeof role, "CPU runtime: %s", !strcmp(f->name, "Makefile") ? "build (make -C cpu)" : "source");
        char *text = cpu_source_text(p, f, d);
        if (!text) return -1;
        rc = write_registered(ctx, rel, text, strlen(text), role, d);
        free(text);
        if (rc) return -1;
    }
    for (size_t i = 0; i < cpu_tok_files_count; i++) {
        const llmc_embedded_file *f = &cpu_tok_files[i];
        char rel[160];
        snprintf(rel, sizeof rel, "cpu/tokenizer/%s", f->name);
        if (write_registered(ctx, rel, f->text, f->len, "CPU runtime: tokenizer source (llmc's own, for --prompt)", d))
            return -1;
    }
    return 0;
}
