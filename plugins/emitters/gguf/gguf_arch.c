/* IR -> llama.cpp architecture: the choice, and the refusal, at its key, of every feature the
 * architecture cannot express. The tensor plan is in gguf_plan.c, the metadata in gguf_meta.c.
 * Sources read for names and conventions (llama.cpp as bundled with node-llama-cpp 3.22.1):
 * src/llama-arch.cpp (key and tensor names), src/llama-model.cpp (common hyperparameters),
 * src/models/{llama,qwen2,gpt2,t5}.cpp (per-arch keys, tensors, graphs), src/llama-context.cpp
 * (RoPE scaling), convert_hf_to_gguf.py / conversion/ (Q/K permutation, llama3 rope_freqs). */
#include "gguf_arch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const ARCH_NAMES[GA_COUNT] = {"llama", "qwen2", "gpt2", "t5"};

const char *gguf_arch_name(gguf_arch a) { return a >= 0 && a < GA_COUNT ? ARCH_NAMES[a] : "none"; }

static void refuse(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void refuse(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, key), key, "%s", msg);
}

/* a dim if known (pinned at validation time, always at emit time), else -1 */
static int64_t dim(const llmc_dims *dims, llmc_dim_id id) { return dims && llmc_dims_has(dims, id) ? dims->v[id] : -1; }

/* ---- options --------------------------------------------------------------------------------- */
static gguf_arch parse_options(const llmc_spec *s, llmc_diags *d, bool *bad) {
    gguf_arch forced = GA_NONE;
    for (size_t i = 0; i < s->n_emit_options; i++) {
        const llmc_emit_option *o = &s->emit_options[i];
        if (strcmp(o->emitter, "gguf") != 0) continue;
        char key[96];
        snprintf(key, sizeof key, "emit_options.gguf.%s", o->key);
        if (strcmp(o->key, "arch") == 0) {
            if (strcmp(o->value, "auto") == 0) continue;
            int found = -1;
            for (int a = 0; a < GA_COUNT; a++)
                if (strcmp(o->value, ARCH_NAMES[a]) == 0) found = a;
            if (found < 0) {
                llmc_diag_add(d, LLMC_SEV_ERROR, o->loc, key,
                              "unknown GGUF architecture '%s' (expected auto, llama, qwen2, gpt2 or t5)", o->value);
                *bad = true;
            } else {
                forced = (gguf_arch)found;
            }
        } else {
            llmc_diag_add(d, LLMC_SEV_ERROR, o->loc, key, "unknown option of emitter gguf (expected arch)");
            *bad = true;
        }
    }
    return forced;
}

/* ---- what each architecture can express ----------------------------------------------------- */
static const char *pos_name(const llmc_spec *s) { return llmc_positional_name(s->positional); }

/* RoPE scaling as llama.cpp's llama/qwen2 graphs apply it (ggml_rope_ext) */
static void check_rope(const llmc_spec *s, gguf_arch a, llmc_diags *d) {
    const llmc_rope_params *r = &s->rope;
    if (r->scaling == LLMC_ROPE_SCALING_DYNAMIC) {
        refuse(s, d, "rope.scaling.type",
               "dynamic (NTK) RoPE scaling changes the rotary base with the sequence length, which llama.cpp does not "
               "implement; nearest supported: rope.scaling.type: yarn or linear");
    } else if (r->scaling == LLMC_ROPE_SCALING_YARN && (r->beta_fast != 32.0 || r->beta_slow != 1.0)) {
        /* llama.cpp's llama/qwen2 do not read rope.scaling.yarn_beta_*: they always use 32 / 1 */
        refuse(s, d, "rope.scaling.beta_fast",
               "yarn with beta_fast = %g, beta_slow = %g: llama.cpp's %s architecture always uses beta_fast 32 and "
               "beta_slow 1; nearest supported: rope.scaling.beta_fast: 32, beta_slow: 1",
               r->beta_fast, r->beta_slow, gguf_arch_name(a));
    } else if (r->scaling == LLMC_ROPE_SCALING_LLAMA3 && a != GA_LLAMA) {
        refuse(s, d, "rope.scaling.type",
               "llama3 RoPE scaling needs per-frequency factors (rope_freqs), which only the llama architecture reads, "
               "not %s; nearest supported: drop bias.qkv and bias.lm_head (arch llama), or rope.scaling.type: yarn",
               gguf_arch_name(a));
    }
}

static void check_decoder_common(const llmc_spec *s, llmc_diags *d) {
    if (s->attention == LLMC_ATTN_SLIDING_WINDOW) {
        refuse(s, d, llmc_spec_has_key(s, "attention") ? "attention" : "sliding_window",
               "sliding-window attention: no llama.cpp architecture of the llama, qwen2 or gpt2 kind applies a window "
               "(they attend to the whole context; llama.cpp's phi3 ignores its window), so the file would compute "
               "something else; nearest supported: attention: gqa (or mha, mqa) with full causal attention");
    }
}

/* llama: RMSNorm, SwiGLU, rotate-half RoPE stored as interleaved pairs; optional attn_out and MLP
 * biases; no q/k/v bias (those take the qwen2 path) and no head bias. */
static void check_llama(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    check_decoder_common(s, d);
    if (s->positional != LLMC_POS_ROPE)
        refuse(s, d, "positional_encoding",
               "%s: GGUF arch llama rotates queries and keys (RoPE); nearest supported: positional_encoding: rope",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        refuse(s, d, "norm",
               "%s: GGUF arch llama normalises with RMSNorm; nearest supported: norm: rmsnorm (or positional_encoding: "
               "learned with norm: layernorm and activation: gelu_tanh, arch gpt2)",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_SWIGLU)
        refuse(s, d, "activation",
               "%s: GGUF arch llama computes a SwiGLU MLP; nearest supported: activation: swiglu (or positional_encoding: "
               "learned with norm: layernorm and activation: gelu_tanh, arch gpt2)",
               llmc_activation_name(s->activation));
    if (s->bias.qkv)
        refuse(s, d, "bias.qkv",
               "GGUF arch llama stores q/k rows permuted for its RoPE, which llmc does not do for biases; nearest "
               "supported: the qwen2 arch (emit_options.gguf.arch: auto) or bias.qkv: false");
    if (s->bias.lm_head)
        refuse(s, d, "bias.lm_head",
               "GGUF arch llama has no output bias; nearest supported: the qwen2 arch (emit_options.gguf.arch: auto) or "
               "bias.lm_head: false");
    (void)dims;
    if (s->positional == LLMC_POS_ROPE) check_rope(s, GA_LLAMA, d);
}

/* qwen2: llama's blocks with rotate-half RoPE as stored, optional q/k/v and head biases, no
 * attn_out/MLP biases, q and o square (num_heads * head_dim == hidden_size). */
static void check_qwen2(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    check_decoder_common(s, d);
    if (s->positional != LLMC_POS_ROPE)
        refuse(s, d, "positional_encoding",
               "%s: GGUF arch qwen2 rotates queries and keys (RoPE); nearest supported: positional_encoding: rope",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        refuse(s, d, "norm", "%s: GGUF arch qwen2 normalises with RMSNorm; nearest supported: norm: rmsnorm",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_SWIGLU)
        refuse(s, d, "activation", "%s: GGUF arch qwen2 computes a SwiGLU MLP; nearest supported: activation: swiglu",
               llmc_activation_name(s->activation));
    if (s->bias.attn_out)
        refuse(s, d, "bias.attn_out",
               "GGUF arch qwen2 (chosen for bias.qkv or bias.lm_head) has no attention output bias; nearest "
               "supported: bias.attn_out: false, or bias.qkv: false and bias.lm_head: false (arch llama)");
    if (s->bias.mlp)
        refuse(s, d, "bias.mlp",
               "GGUF arch qwen2 (chosen for bias.qkv or bias.lm_head) has no MLP biases; nearest supported: "
               "bias.mlp: false, or bias.qkv: false and bias.lm_head: false (arch llama)");
    const int64_t H = dim(dims, LLMC_DIM_HIDDEN_SIZE), nh = dim(dims, LLMC_DIM_NUM_HEADS),
                  hd = dim(dims, LLMC_DIM_HEAD_DIM);
    if (H > 0 && nh > 0 && hd > 0 && nh * hd != H)
        refuse(s, d, "dims.head_dim",
               "GGUF arch qwen2 needs num_heads * head_dim == hidden_size (got %lld * %lld != %lld); nearest "
               "supported: head_dim = hidden_size / num_heads, or no q/k/v and head biases (arch llama)",
               (long long)nh, (long long)hd, (long long)H);
    if (s->positional == LLMC_POS_ROPE) check_rope(s, GA_QWEN2, d);
}

/* gpt2: learned positions, LayerNorm, GELU (tanh form, as ggml_gelu), fused q/k/v; every bias is
 * required by llama.cpp (absent ones are written as zeros), no head bias. */
static void check_gpt2(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    check_decoder_common(s, d);
    if (s->positional != LLMC_POS_LEARNED)
        refuse(s, d, "positional_encoding",
               "%s: GGUF arch gpt2 adds learned position embeddings; nearest supported: positional_encoding: learned",
               pos_name(s));
    if (s->norm != LLMC_NORM_LAYERNORM)
        refuse(s, d, "norm",
               "%s: GGUF arch gpt2 (learned positions) normalises with LayerNorm; nearest supported: norm: layernorm "
               "(or positional_encoding: rope with rmsnorm and swiglu, arch llama)",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_GELU_TANH) {
        if (s->activation == LLMC_ACT_GELU)
            refuse(s, d, "activation",
                   "gelu (exact erf form): GGUF arch gpt2 computes GELU with the tanh approximation; nearest "
                   "supported: activation: gelu_tanh");
        else
            refuse(s, d, "activation",
                   "%s: GGUF arch gpt2 (learned positions) computes a plain GELU MLP (tanh form); nearest supported: "
                   "activation: gelu_tanh (or positional_encoding: rope with rmsnorm and swiglu, arch llama)",
                   llmc_activation_name(s->activation));
    }
    if (s->bias.lm_head)
        refuse(s, d, "bias.lm_head", "GGUF arch gpt2 has no output bias; nearest supported: bias.lm_head: false");
    const int64_t H = dim(dims, LLMC_DIM_HIDDEN_SIZE), nh = dim(dims, LLMC_DIM_NUM_HEADS),
                  hd = dim(dims, LLMC_DIM_HEAD_DIM);
    if (H > 0 && nh > 0 && hd > 0 && nh * hd != H)
        refuse(s, d, "dims.head_dim",
               "GGUF arch gpt2 needs num_heads * head_dim == hidden_size (got %lld * %lld != %lld); nearest "
               "supported: head_dim = hidden_size / num_heads",
               (long long)nh, (long long)hd, (long long)H);
}

/* t5: relative position buckets (max distance fixed at 128 in llama.cpp), RMSNorm without any bias,
 * ReLU or gated-GELU (tanh) MLP, one key/value head per query head, attention scale 1. */
static void check_t5(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    if (s->positional != LLMC_POS_RELATIVE)
        refuse(s, d, "positional_encoding",
               "%s: llama.cpp's only encoder-decoder architecture is t5, which uses T5 relative position buckets "
               "(BART-style learned or sinusoidal positions have no GGUF architecture); nearest supported: "
               "positional_encoding: relative with norm: rmsnorm, activation: relu or geglu and no biases",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        refuse(s, d, "norm", "%s: GGUF arch t5 normalises with RMSNorm (T5 LayerNorm); nearest supported: norm: rmsnorm",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_RELU && s->activation != LLMC_ACT_GEGLU)
        refuse(s, d, "activation",
               "%s: GGUF arch t5 computes a ReLU MLP (T5) or a gated GELU one (Flan-T5); nearest supported: "
               "activation: relu or geglu",
               llmc_activation_name(s->activation));
    static const char *const bias_keys[] = {"bias.qkv", "bias.attn_out", "bias.mlp", "bias.lm_head"};
    const bool biases[] = {s->bias.qkv, s->bias.attn_out, s->bias.mlp, s->bias.lm_head};
    for (int i = 0; i < 4; i++)
        if (biases[i])
            refuse(s, d, bias_keys[i], "GGUF arch t5 has no bias vectors; nearest supported: %s: false",
                   bias_keys[i] + 5);
    if (s->attention == LLMC_ATTN_MQA || s->attention == LLMC_ATTN_GQA)
        refuse(s, d, "attention",
               "%s: GGUF arch t5 sizes its query projection by the key/value heads, so it needs one key/value head "
               "per query head; nearest supported: attention: mha",
               llmc_attention_name(s->attention));
    const int64_t nh = dim(dims, LLMC_DIM_NUM_HEADS), nkv = dim(dims, LLMC_DIM_NUM_KV_HEADS);
    if (s->attention != LLMC_ATTN_MQA && s->attention != LLMC_ATTN_GQA && nh > 0 && nkv > 0 && nh != nkv)
        refuse(s, d, "dims.num_kv_heads",
               "GGUF arch t5 needs num_kv_heads == num_heads (got %lld and %lld); nearest supported: attention: mha",
               (long long)nkv, (long long)nh);
    const int64_t E = dim(dims, LLMC_DIM_NUM_ENCODER_LAYERS), D = dim(dims, LLMC_DIM_NUM_DECODER_LAYERS);
    if (E > 0 && D > E)
        refuse(s, d, "dims.num_decoder_layers",
               "GGUF arch t5: llama.cpp sizes its per-layer tables by the encoder depth and fails to load a decoder "
               "deeper than the encoder (got %lld decoder and %lld encoder layers); nearest supported: "
               "num_decoder_layers <= num_encoder_layers",
               (long long)D, (long long)E);
    if (s->positional == LLMC_POS_RELATIVE && s->relative_max_distance != 128)
        refuse(s, d, "relative_attention.max_distance",
               "GGUF arch t5 fixes the bucket range at 128 (llama.cpp hard-codes it); nearest supported: "
               "relative_attention.max_distance: 128 (got %lld)",
               (long long)s->relative_max_distance);
}

/* every hyperparameter llama.cpp reads as u32 must fit one */
static void check_u32_dims(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        int64_t v = dim(dims, (llmc_dim_id)i);
        if (v > (int64_t)UINT32_MAX) {
            char key[64];
            snprintf(key, sizeof key, "dims.%s", llmc_dim_name((llmc_dim_id)i));
            refuse(s, d, key, "GGUF stores this as a 32-bit count (got %lld)", (long long)v);
        }
    }
    if (s->vocab_size > (int64_t)INT32_MAX)
        refuse(s, d, "vocab_size", "llama.cpp token ids are 32-bit (got %lld)", (long long)s->vocab_size);
    if (s->context_length > (int64_t)UINT32_MAX)
        refuse(s, d, "context_length", "GGUF stores this as a 32-bit count (got %lld)", (long long)s->context_length);
}

gguf_arch gguf_arch_select(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, llmc_diags *d) {
    const size_t errs0 = llmc_diags_errors(d);
    bool bad = false;
    gguf_arch forced = parse_options(s, d, &bad);
    /* what the graph declares, not the template's name */
    const bool encdec = llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER;
    const llmc_ir_block *odd = llmc_ir_first_block_not_pre_sequential(ir);
    if (odd) {
        refuse(s, d, "template",
               "template %s: block %s %d is %s with %s norms; the GGUF arches written here (llama, qwen2, gpt2, t5) "
               "compute sequential pre-norm blocks",
               s->template_name, llmc_stack_name(odd->stack), odd->layer, llmc_residual_name(odd->residual),
               llmc_norm_placement_name(odd->norm_placement));
        return GA_NONE;
    }
    gguf_arch a = forced;
    if (forced != GA_NONE) {
        if (encdec != (forced == GA_T5)) {
            refuse(s, d, "emit_options.gguf.arch",
                   "GGUF arch %s needs template %s (this spec is %s); nearest supported: arch auto",
                   gguf_arch_name(forced), forced == GA_T5 ? "encoder_decoder" : "decoder_only", s->template_name);
            return GA_NONE;
        }
    } else if (encdec) {
        a = GA_T5;
    } else if (s->positional == LLMC_POS_ROPE) {
        a = s->bias.qkv || s->bias.lm_head ? GA_QWEN2 : GA_LLAMA;
    } else if (s->positional == LLMC_POS_LEARNED) {
        a = GA_GPT2;
    } else {
        if (s->positional == LLMC_POS_ALIBI)
            refuse(s, d, "positional_encoding",
                   "alibi: no llama.cpp architecture expresses ALiBi with %s and %s blocks (its ALiBi architectures, "
                   "bloom and mpt, have their own norms and tensors); nearest supported: positional_encoding: rope "
                   "with norm: rmsnorm and activation: swiglu (arch llama), or learned with layernorm and gelu_tanh "
                   "(arch gpt2)",
                   llmc_activation_name(s->activation), llmc_norm_name(s->norm));
        else
            refuse(s, d, "positional_encoding",
                   "%s: no llama.cpp architecture of the llama or gpt2 kind uses %s positions; nearest supported: "
                   "positional_encoding: rope with norm: rmsnorm and activation: swiglu (arch llama), or learned with "
                   "layernorm and gelu_tanh (arch gpt2)",
                   pos_name(s), pos_name(s));
        return GA_NONE;
    }
    switch (a) {
    case GA_LLAMA: check_llama(s, dims, d); break;
    case GA_QWEN2: check_qwen2(s, dims, d); break;
    case GA_GPT2: check_gpt2(s, dims, d); break;
    case GA_T5: check_t5(s, dims, d); break;
    default: break;
    }
    check_u32_dims(s, dims, d);
    return bad || llmc_diags_errors(d) > errs0 ? GA_NONE : a;
}
