/* IR -> llama.cpp architecture: the choice, and the refusal, at its key, of every feature the
 * architecture cannot express. The tensor plan is in gguf_plan.c, the metadata in gguf_meta.c.
 * Sources read for names and conventions (llama.cpp as bundled with node-llama-cpp 3.22.1):
 * src/llama-arch.cpp (key and tensor names), src/llama-model.cpp (common hyperparameters),
 * src/models/{llama,qwen2,qwen3,gpt2,t5}.cpp (per-arch keys, tensors, graphs), src/llama-context.cpp
 * (RoPE scaling), convert_hf_to_gguf.py / conversion/ (Q/K permutation, llama3 rope_freqs). */
#include "gguf_arch.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const ARCH_NAMES[GA_COUNT] = {"llama", "qwen2",  "gpt2",   "t5",       "gptneox",
                                                 "phi2",  "qwen3", "gemma2", "qwen2moe", "gemma"};

const char *gguf_arch_name(gguf_arch a) { return a >= 0 && a < GA_COUNT ? ARCH_NAMES[a] : "none"; }

/* an error at the spec key `key` (gguf_arch.h) */
void gguf_refuse(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) {
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
                              "unknown GGUF architecture '%s' (expected auto, llama, qwen2, gpt2, t5, gptneox, phi2, qwen3, "
                              "gemma, gemma2 or qwen2moe)", o->value);
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
        gguf_refuse(s, d, "rope.scaling.type",
               "dynamic (NTK) RoPE scaling changes the rotary base with the sequence length, which llama.cpp does not "
               "implement; nearest supported: rope.scaling.type: yarn or linear");
    } else if (r->scaling == LLMC_ROPE_SCALING_YARN && (r->beta_fast != 32.0 || r->beta_slow != 1.0)) {
        /* llama.cpp's llama/qwen2 do not read rope.scaling.yarn_beta_*: they always use 32 / 1 */
        gguf_refuse(s, d, "rope.scaling.beta_fast",
               "yarn with beta_fast = %g, beta_slow = %g: llama.cpp's %s architecture always uses beta_fast 32 and "
               "beta_slow 1; nearest supported: rope.scaling.beta_fast: 32, beta_slow: 1",
               r->beta_fast, r->beta_slow, gguf_arch_name(a));
    } else if (r->scaling == LLMC_ROPE_SCALING_LLAMA3 && a != GA_LLAMA) {
        gguf_refuse(s, d, "rope.scaling.type",
               "llama3 RoPE scaling needs per-frequency factors (rope_freqs), which only the llama architecture reads, "
               "not %s; nearest supported: drop bias.qkv and bias.lm_head (arch llama), or rope.scaling.type: yarn",
               gguf_arch_name(a));
    }
}

static void check_decoder_common(const llmc_spec *s, llmc_diags *d) {
    if (s->attention == LLMC_ATTN_SLIDING_WINDOW) {
        gguf_refuse(s, d, llmc_spec_has_key(s, "attention") ? "attention" : "sliding_window",
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
        gguf_refuse(s, d, "positional_encoding",
               "%s: GGUF arch llama rotates queries and keys (RoPE); nearest supported: positional_encoding: rope",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        gguf_refuse(s, d, "norm",
               "%s: GGUF arch llama normalises with RMSNorm; nearest supported: norm: rmsnorm (or activation: "
               "gelu_tanh without bias.lm_head, arch gptneox; or positional_encoding: learned with norm: layernorm "
               "and activation: gelu_tanh, arch gpt2)",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_SWIGLU)
        gguf_refuse(s, d, "activation",
               "%s: GGUF arch llama computes a SwiGLU MLP; nearest supported: activation: swiglu (or positional_encoding: "
               "learned with norm: layernorm and activation: gelu_tanh, arch gpt2)",
               llmc_activation_name(s->activation));
    if (s->bias.qkv)
        gguf_refuse(s, d, "bias.qkv",
               "GGUF arch llama stores q/k rows permuted for its RoPE, which llmc does not do for biases; nearest "
               "supported: the qwen2 arch (emit_options.gguf.arch: auto) or bias.qkv: false");
    if (s->bias.lm_head)
        gguf_refuse(s, d, "bias.lm_head",
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
        gguf_refuse(s, d, "positional_encoding",
               "%s: GGUF arch qwen2 rotates queries and keys (RoPE); nearest supported: positional_encoding: rope",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        gguf_refuse(s, d, "norm", "%s: GGUF arch qwen2 normalises with RMSNorm; nearest supported: norm: rmsnorm",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_SWIGLU)
        gguf_refuse(s, d, "activation", "%s: GGUF arch qwen2 computes a SwiGLU MLP; nearest supported: activation: swiglu",
               llmc_activation_name(s->activation));
    if (s->bias.attn_out)
        gguf_refuse(s, d, "bias.attn_out",
               "GGUF arch qwen2 (chosen for bias.qkv or bias.lm_head) has no attention output bias; nearest "
               "supported: bias.attn_out: false, or bias.qkv: false and bias.lm_head: false (arch llama)");
    if (s->bias.mlp)
        gguf_refuse(s, d, "bias.mlp",
               "GGUF arch qwen2 (chosen for bias.qkv or bias.lm_head) has no MLP biases; nearest supported: "
               "bias.mlp: false, or bias.qkv: false and bias.lm_head: false (arch llama)");
    const int64_t H = dim(dims, LLMC_DIM_HIDDEN_SIZE), nh = dim(dims, LLMC_DIM_NUM_HEADS),
                  hd = dim(dims, LLMC_DIM_HEAD_DIM);
    if (H > 0 && nh > 0 && hd > 0 && nh * hd != H)
        gguf_refuse(s, d, "dims.head_dim",
               "GGUF arch qwen2 needs num_heads * head_dim == hidden_size (got %lld * %lld != %lld); nearest "
               "supported: head_dim = hidden_size / num_heads, or no q/k/v and head biases (arch llama)",
               (long long)nh, (long long)hd, (long long)H);
    if (s->positional == LLMC_POS_ROPE) check_rope(s, GA_QWEN2, d);
}

/* qwen3 (src/models/qwen3.cpp): llama's blocks with an RMSNorm of every q and k head (weights
 * [head_dim]) before rotate-half RoPE as stored; no biases; head_dim free of hidden_size. */
static void check_qwen3(const llmc_spec *s, llmc_diags *d) {
    check_decoder_common(s, d);
    if (s->positional != LLMC_POS_ROPE)
        gguf_refuse(s, d, "positional_encoding",
               "%s: GGUF arch qwen3 (chosen for qk_norm) rotates queries and keys (RoPE); nearest supported: "
               "positional_encoding: rope",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        gguf_refuse(s, d, "norm", "%s: GGUF arch qwen3 normalises with RMSNorm; nearest supported: norm: rmsnorm",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_SWIGLU)
        gguf_refuse(s, d, "activation", "%s: GGUF arch qwen3 computes a SwiGLU MLP; nearest supported: activation: swiglu",
               llmc_activation_name(s->activation));
    static const char *const keys[4] = {"bias.qkv", "bias.attn_out", "bias.mlp", "bias.lm_head"};
    const bool on[4] = {s->bias.qkv, s->bias.attn_out, s->bias.mlp, s->bias.lm_head};
    for (int i = 0; i < 4; i++)
        if (on[i])
            gguf_refuse(s, d, keys[i],
                   "GGUF arch qwen3 (the llama.cpp architecture with qk_norm) has no such bias; nearest supported: "
                   "%s: false, or qk_norm: false",
                   keys[i]);
    if (s->positional == LLMC_POS_ROPE) check_rope(s, GA_QWEN3, d);
}

/* gpt2: learned positions, LayerNorm, GELU (tanh form, as ggml_gelu), fused q/k/v; every bias is
 * required by llama.cpp (absent ones are written as zeros), no head bias. */
static void check_gpt2(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    check_decoder_common(s, d);
    if (s->positional != LLMC_POS_LEARNED)
        gguf_refuse(s, d, "positional_encoding",
               "%s: GGUF arch gpt2 adds learned position embeddings; nearest supported: positional_encoding: learned",
               pos_name(s));
    if (s->norm != LLMC_NORM_LAYERNORM)
        gguf_refuse(s, d, "norm",
               "%s: GGUF arch gpt2 (learned positions) normalises with LayerNorm; nearest supported: norm: layernorm "
               "(or positional_encoding: rope with rmsnorm and swiglu, arch llama)",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_GELU_TANH) {
        if (s->activation == LLMC_ACT_GELU)
            gguf_refuse(s, d, "activation",
                   "gelu (exact erf form): GGUF arch gpt2 computes GELU with the tanh approximation; nearest "
                   "supported: activation: gelu_tanh");
        else
            gguf_refuse(s, d, "activation",
                   "%s: GGUF arch gpt2 (learned positions) computes a plain GELU MLP (tanh form); nearest supported: "
                   "activation: gelu_tanh (or positional_encoding: rope with rmsnorm and swiglu, arch llama)",
                   llmc_activation_name(s->activation));
    }
    if (s->bias.lm_head)
        gguf_refuse(s, d, "bias.lm_head", "GGUF arch gpt2 has no output bias; nearest supported: bias.lm_head: false");
    const int64_t H = dim(dims, LLMC_DIM_HIDDEN_SIZE), nh = dim(dims, LLMC_DIM_NUM_HEADS),
                  hd = dim(dims, LLMC_DIM_HEAD_DIM);
    if (H > 0 && nh > 0 && hd > 0 && nh * hd != H)
        gguf_refuse(s, d, "dims.head_dim",
               "GGUF arch gpt2 needs num_heads * head_dim == hidden_size (got %lld * %lld != %lld); nearest "
               "supported: head_dim = hidden_size / num_heads",
               (long long)nh, (long long)hd, (long long)H);
}

/* t5: relative position buckets (max distance fixed at 128 in llama.cpp), RMSNorm without any bias,
 * ReLU or gated-GELU (tanh) MLP, one key/value head per query head, attention scale 1. */
static void check_t5(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    if (s->positional != LLMC_POS_RELATIVE)
        gguf_refuse(s, d, "positional_encoding",
               "%s: llama.cpp's only encoder-decoder architecture is t5, which uses T5 relative position buckets "
               "(BART-style learned or sinusoidal positions have no GGUF architecture); nearest supported: "
               "positional_encoding: relative with norm: rmsnorm, activation: relu or geglu and no biases",
               pos_name(s));
    if (s->norm != LLMC_NORM_RMSNORM)
        gguf_refuse(s, d, "norm", "%s: GGUF arch t5 normalises with RMSNorm (T5 LayerNorm); nearest supported: norm: rmsnorm",
               llmc_norm_name(s->norm));
    if (s->activation != LLMC_ACT_RELU && s->activation != LLMC_ACT_GEGLU)
        gguf_refuse(s, d, "activation",
               "%s: GGUF arch t5 computes a ReLU MLP (T5) or a gated GELU one (Flan-T5); nearest supported: "
               "activation: relu or geglu",
               llmc_activation_name(s->activation));
    static const char *const bias_keys[] = {"bias.qkv", "bias.attn_out", "bias.mlp", "bias.lm_head"};
    const bool biases[] = {s->bias.qkv, s->bias.attn_out, s->bias.mlp, s->bias.lm_head};
    for (int i = 0; i < 4; i++)
        if (biases[i])
            gguf_refuse(s, d, bias_keys[i], "GGUF arch t5 has no bias vectors; nearest supported: %s: false",
                   bias_keys[i] + 5);
    if (s->attention == LLMC_ATTN_MQA || s->attention == LLMC_ATTN_GQA)
        gguf_refuse(s, d, "attention",
               "%s: GGUF arch t5 sizes its query projection by the key/value heads, so it needs one key/value head "
               "per query head; nearest supported: attention: mha",
               llmc_attention_name(s->attention));
    const int64_t nh = dim(dims, LLMC_DIM_NUM_HEADS), nkv = dim(dims, LLMC_DIM_NUM_KV_HEADS);
    if (s->attention != LLMC_ATTN_MQA && s->attention != LLMC_ATTN_GQA && nh > 0 && nkv > 0 && nh != nkv)
        gguf_refuse(s, d, "dims.num_kv_heads",
               "GGUF arch t5 needs num_kv_heads == num_heads (got %lld and %lld); nearest supported: attention: mha",
               (long long)nkv, (long long)nh);
    const int64_t E = dim(dims, LLMC_DIM_NUM_ENCODER_LAYERS), D = dim(dims, LLMC_DIM_NUM_DECODER_LAYERS);
    if (E > 0 && D > E)
        gguf_refuse(s, d, "dims.num_decoder_layers",
               "GGUF arch t5: llama.cpp sizes its per-layer tables by the encoder depth and fails to load a decoder "
               "deeper than the encoder (got %lld decoder and %lld encoder layers); nearest supported: "
               "num_decoder_layers <= num_encoder_layers",
               (long long)D, (long long)E);
    if (s->positional == LLMC_POS_RELATIVE && s->relative_max_distance != 128)
        gguf_refuse(s, d, "relative_attention.max_distance",
               "GGUF arch t5 fixes the bucket range at 128 (llama.cpp hard-codes it); nearest supported: "
               "relative_attention.max_distance: 128 (got %lld)",
               (long long)s->relative_max_distance);
}

/* ---- block structure, from the IR's block descriptors ------------------------------------------ */

/* The norm op of block b that makes it post-norm or sandwich: the first norm op scoped in the
 * block whose scale sits at a post_* site (what no llama.cpp decoder computes), else its first
 * norm op; NULL when the block has none. */
static const llmc_op_info *obstacle_norm_op(const llmc_ir *ir, const llmc_ir_block *b) {
    const llmc_op_info *first = NULL;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->stack != b->stack || op->layer != b->layer) continue;
        if (op->type != LLMC_OP_LAYERNORM && op->type != LLMC_OP_RMSNORM) continue;
        if (!first) first = op;
        const llmc_tensor_info *w = op->n_inputs > 1 ? llmc_ir_tensor(ir, op->inputs[1]) : NULL;
        if (w && (w->norm_site == LLMC_NORM_SITE_POST_ATTN || w->norm_site == LLMC_NORM_SITE_POST_MLP ||
                  w->norm_site == LLMC_NORM_SITE_POST_CROSS_ATTN))
            return op;
    }
    return first;
}

/* "pre-norm sequential" | "pre-norm parallel" blocks the arches compute; anything else refused at
 * "template" naming the block and the op. Returns 0 sequential, 1 parallel, -1 refused. */
static int block_structure(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    const llmc_ir_block *first = NULL;
    for (size_t i = 0; i < llmc_ir_num_blocks(ir); i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->norm_placement == LLMC_NORM_PLACEMENT_POST || b->norm_placement == LLMC_NORM_PLACEMENT_SANDWICH) {
            const llmc_op_info *op = obstacle_norm_op(ir, b);
            const llmc_tensor_info *w = op && op->n_inputs > 1 ? llmc_ir_tensor(ir, op->inputs[1]) : NULL;
            const llmc_tensor_info *x = op && op->n_inputs > 0 ? llmc_ir_tensor(ir, op->inputs[0]) : NULL;
            const llmc_op_info *src = x && x->producer >= 0 ? llmc_ir_op_at(ir, (size_t)x->producer) : NULL;
            char what[320] = "";
            if (op)
                snprintf(what, sizeof what, " (op '%s', %s at norm site %s, normalises the output of op '%s', %s)",
                         op->name, llmc_op_type_name(op->type), w ? llmc_norm_site_name(w->norm_site) : "none",
                         src ? src->name : "(input)", src ? llmc_op_role_name(src->role) : "-");
            gguf_refuse(s, d, "template",
                   "template %s: block %s %d has %s norms%s; no llama.cpp decoder architecture computes it (every "
                   "one normalises a sub-layer's input, x + f(norm(x)); its post-norm bert family is an encoder "
                   "without a language-model head); nearest supported: pre-norm blocks (template decoder_only, "
                   "sequential, or parallel_residual)",
                   s->template_name, llmc_stack_name(b->stack), b->layer, llmc_norm_placement_name(b->norm_placement),
                   what);
            return -1;
        }
        if (!first) {
            first = b;
        } else if (b->residual != first->residual) {
            gguf_refuse(s, d, "template",
                   "template %s: block %s %d is %s but block %s %d is %s; a llama.cpp architecture wires every block "
                   "alike; nearest supported: one residual wiring for all blocks",
                   s->template_name, llmc_stack_name(b->stack), b->layer, llmc_residual_name(b->residual),
                   llmc_stack_name(first->stack), first->layer, llmc_residual_name(first->residual));
            return -1;
        }
    }
    return first && first->residual == LLMC_RESIDUAL_PARALLEL ? 1 : 0;
}

/* ---- gptneox / phi2: what the IR computes, op by op ------------------------------------------- */
static const char *attr_s(const llmc_op_info *op, const char *key, const char *dflt) {
    const llmc_attr *a = llmc_op_attr(op, key);
    return a && a->type == LLMC_ATTR_STRING && a->s ? a->s : dflt;
}

int64_t gguf_ir_rope_dims(const llmc_ir *ir) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_ROPE || op->n_inputs < 1) continue;
        const llmc_tensor_info *x = llmc_ir_tensor(ir, op->inputs[0]);
        const llmc_attr *fr = llmc_op_attr(op, "fraction");
        if (!x || x->rank != 4) return 0;
        return (int64_t)llround((fr ? llmc_attr_number(fr) : 1.0) * (double)x->shape[3]);
    }
    return 0;
}

static bool has_op(const llmc_ir *ir, llmc_op_type type) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++)
        if (llmc_ir_op_at(ir, i)->type == type) return true;
    return false;
}

static bool has_role(const llmc_ir *ir, llmc_param_role role, bool is_bias) {
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind == LLMC_TENSOR_PARAM && t->role == role && t->is_bias == is_bias) return true;
    }
    return false;
}

/* a ROPE op that rotates only part of a head (Phi's partial rotary) */
static bool has_partial_rotary(const llmc_ir *ir) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        const llmc_attr *fr = op->type == LLMC_OP_ROPE ? llmc_op_attr(op, "fraction") : NULL;
        if (fr && llmc_attr_number(fr) != 1.0) return true;
    }
    return false;
}

/* per-head q/k norms (QK-norm): only llama.cpp's qwen3 reads them */
static bool has_qk_norm(const llmc_ir *ir) {
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *t = llmc_ir_tensor(ir, (llmc_tid)i);
        if (t->kind == LLMC_TENSOR_PARAM && t->role == LLMC_ROLE_NORM &&
            (t->norm_site == LLMC_NORM_SITE_ATTN_Q || t->norm_site == LLMC_NORM_SITE_ATTN_K))
            return true;
    }
    return false;
}

/* gptneox and phi2 (llama.cpp src/models/gptneox.cpp, phi2.cpp): LayerNorm (bias written as zeros
 * when absent), fused q/k/v, NEOX RoPE over the first rope.dimension_count dims of each head,
 * causal attention scaled 1/sqrt(head_dim), a plain GELU MLP (tanh form), every bias (zeros when
 * absent). gptneox has no output bias, phi2 one norm per block and only parallel blocks. */
static void check_neox(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, gguf_arch a, bool parallel,
                       llmc_diags *d) {
    const char *an = gguf_arch_name(a);
    bool said_pos = false, said_norm = false, said_act = false, said_rope = false, said_attn = false;
    int64_t rot = -1;
    const char *rot_op = NULL;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        switch (op->type) {
        case LLMC_OP_POSITIONS_LEARNED:
        case LLMC_OP_POSITIONS_SINUSOIDAL:
        case LLMC_OP_ALIBI:
        case LLMC_OP_RELATIVE_BIAS:
            if (!said_pos)
                gguf_refuse(s, d, "positional_encoding",
                       "op '%s' (%s): GGUF arch %s rotates queries and keys (RoPE) and has no other positions; nearest "
                       "supported: positional_encoding: rope",
                       op->name, llmc_op_type_name(op->type), an);
            said_pos = true;
            break;
        case LLMC_OP_RMSNORM:
            if (!said_norm)
                gguf_refuse(s, d, "norm",
                       "rmsnorm (op '%s'): GGUF arch %s normalises with LayerNorm; nearest supported: norm: layernorm",
                       op->name, an);
            said_norm = true;
            break;
        case LLMC_OP_SWIGLU:
        case LLMC_OP_GEGLU:
            if (!said_act)
                gguf_refuse(s, d, "activation",
                       "%s (op '%s'): GGUF arch %s computes a plain (ungated) GELU MLP; nearest supported: activation: "
                       "gelu_tanh",
                       llmc_op_type_name(op->type), op->name, an);
            said_act = true;
            break;
        case LLMC_OP_ACTIVATION: {
            const char *fn = attr_s(op, "fn", "?");
            if (strcmp(fn, "gelu_tanh") != 0 && !said_act)
                gguf_refuse(s, d, "activation",
                       "%s (op '%s'): GGUF arch %s computes GELU with the tanh approximation; nearest supported: "
                       "activation: gelu_tanh",
                       fn, op->name, an);
            if (strcmp(fn, "gelu_tanh") != 0) said_act = true;
            break;
        }
        case LLMC_OP_ROPE: {
            const char *style = attr_s(op, "style", "neox");
            if (strcmp(style, "neox") != 0 && !said_rope) {
                gguf_refuse(s, d, "template",
                       "template %s: op '%s' rotates %s-style (interleaved pairs); GGUF arch %s rotates halves "
                       "(llama.cpp's NEOX RoPE); nearest supported: RoPE style neox",
                       s->template_name, op->name, style, an);
                said_rope = true;
            }
            const llmc_tensor_info *x = llmc_ir_tensor(ir, op->inputs[0]);
            const llmc_attr *fr = llmc_op_attr(op, "fraction");
            int64_t r = x && x->rank == 4 ? (int64_t)llround((fr ? llmc_attr_number(fr) : 1.0) * (double)x->shape[3]) : -1;
            if (rot < 0) {
                rot = r;
                rot_op = op->name;
            } else if (r != rot && !said_rope) {
                gguf_refuse(s, d, "template",
                       "template %s: op '%s' rotates %lld dims per head but op '%s' %lld; GGUF has one "
                       "rope.dimension_count; nearest supported: one rotary share for every layer",
                       s->template_name, op->name, (long long)r, rot_op, (long long)rot);
                said_rope = true;
            }
            break;
        }
        case LLMC_OP_ATTENTION: {
            const char *mask = attr_s(op, "mask", "none");
            if (strcmp(mask, "causal") != 0 && !said_attn) {
                gguf_refuse(s, d, llmc_spec_has_key(s, "attention") ? "attention" : "sliding_window",
                       "op '%s' masks %s: GGUF arch %s attends causally to the whole context; nearest supported: "
                       "attention: gqa (or mha, mqa) with full causal attention",
                       op->name, mask, an);
                said_attn = true;
            }
            const llmc_tensor_info *q = llmc_ir_tensor(ir, op->inputs[0]);
            const llmc_attr *sc = llmc_op_attr(op, "scale");
            if (q && q->rank == 4 && sc && !said_attn) {
                double want = 1.0 / sqrt((double)q->shape[3]), got = llmc_attr_number(sc);
                if (fabs(got - want) > 1e-6 * want) {
                    gguf_refuse(s, d, "template",
                           "template %s: op '%s' scales attention by %g; GGUF arch %s by 1/sqrt(head_dim) = %g; "
                           "nearest supported: attention scale 1/sqrt(head_dim)",
                           s->template_name, op->name, got, an, want);
                    said_attn = true;
                }
            }
            break;
        }
        default: break;
        }
    }
    if (rot < 0 && !said_pos)
        gguf_refuse(s, d, "positional_encoding",
               "the graph has no rope op: GGUF arch %s rotates queries and keys; nearest supported: "
               "positional_encoding: rope",
               an);
    if (s->positional == LLMC_POS_ROPE) check_rope(s, a, d);
    if (a == GA_GPTNEOX && has_role(ir, LLMC_ROLE_OUTPUT_HEAD, true))
        gguf_refuse(s, d, "bias.lm_head",
               "GGUF arch gptneox has no output bias; nearest supported: bias.lm_head: false, or "
               "emit_options.gguf.arch: phi2 (auto picks it for a parallel-residual graph with an output bias)");
    if (a == GA_PHI2 && !parallel)
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch phi2 computes parallel-residual blocks and template %s's are sequential; nearest supported: "
               "arch gptneox (or auto)",
               s->template_name);
    if (a == GA_PHI2 && llmc_ir_find_param(ir, LLMC_ROLE_NORM, false, LLMC_STACK_DECODER, 0, LLMC_NORM_SITE_MLP_INPUT) !=
                            LLMC_TID_NONE)
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch phi2 has one norm per block (GPT-J's) and template %s normalises the MLP input separately "
               "(GPT-NeoX's); nearest supported: arch gptneox with bias.lm_head: false",
               s->template_name);
    /* q/k/v biases are fused into one attn_qkv.bias: all three or none */
    const bool bq = has_role(ir, LLMC_ROLE_ATTN_Q, true), bk = has_role(ir, LLMC_ROLE_ATTN_K, true),
               bv = has_role(ir, LLMC_ROLE_ATTN_V, true);
    if ((bq || bk || bv) && !(bq && bk && bv))
        gguf_refuse(s, d, "bias.qkv",
               "GGUF arch %s fuses the q, k and v biases into one attn_qkv.bias, and the graph has some of them; "
               "nearest supported: bias.qkv: true or false for all three",
               an);
    const int64_t H = dim(dims, LLMC_DIM_HIDDEN_SIZE), nh = dim(dims, LLMC_DIM_NUM_HEADS),
                  hd = dim(dims, LLMC_DIM_HEAD_DIM);
    if (H > 0 && nh > 0 && hd > 0 && nh * hd != H)
        gguf_refuse(s, d, "dims.head_dim",
               "GGUF arch %s needs num_heads * head_dim == hidden_size (got %lld * %lld != %lld); nearest "
               "supported: head_dim = hidden_size / num_heads",
               an, (long long)nh, (long long)hd, (long long)H);
}

/* ---- dims off the IR ------------------------------------------------------------------------- */
void gguf_ir_dims(const llmc_spec *s, const llmc_ir *ir, llmc_dims *out) {
    *out = s->dims;
    int64_t dec = 0, enc = 0;
    for (size_t i = 0; i < llmc_ir_num_blocks(ir); i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->stack == LLMC_STACK_ENCODER) enc++;
        else if (b->stack == LLMC_STACK_DECODER) dec++;
    }
    if (llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER) {
        llmc_dims_put(out, LLMC_DIM_NUM_ENCODER_LAYERS, enc);
        llmc_dims_put(out, LLMC_DIM_NUM_DECODER_LAYERS, dec);
    } else {
        llmc_dims_put(out, LLMC_DIM_NUM_LAYERS, dec);
    }
    const llmc_tensor_info *e =
        llmc_ir_tensor(ir, llmc_ir_find_param(ir, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1,
                                              LLMC_NORM_SITE_NONE));
    if (e && e->rank == 2) llmc_dims_put(out, LLMC_DIM_HIDDEN_SIZE, e->shape[1]);
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_ATTENTION || op->n_inputs < 2) continue;
        const llmc_tensor_info *q = llmc_ir_tensor(ir, op->inputs[0]), *k = llmc_ir_tensor(ir, op->inputs[1]);
        if (q && k && q->rank == 4 && k->rank == 4) {
            llmc_dims_put(out, LLMC_DIM_NUM_HEADS, q->shape[2]);
            llmc_dims_put(out, LLMC_DIM_HEAD_DIM, q->shape[3]);
            llmc_dims_put(out, LLMC_DIM_NUM_KV_HEADS, k->shape[2]);
        }
        break;
    }
    const llmc_stack st = enc ? LLMC_STACK_ENCODER : LLMC_STACK_DECODER;
    const llmc_tensor_info *down =
        llmc_ir_tensor(ir, llmc_ir_find_param(ir, LLMC_ROLE_MLP_DOWN, false, st, 0, LLMC_NORM_SITE_NONE));
    if (down && down->rank == 2) llmc_dims_put(out, LLMC_DIM_INTERMEDIATE_SIZE, down->shape[1]);
}

/* every hyperparameter llama.cpp reads as u32 must fit one */
static void check_u32_dims(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        int64_t v = dim(dims, (llmc_dim_id)i);
        if (v > (int64_t)UINT32_MAX) {
            char key[64];
            snprintf(key, sizeof key, "dims.%s", llmc_dim_name((llmc_dim_id)i));
            gguf_refuse(s, d, key, "GGUF stores this as a 32-bit count (got %lld)", (long long)v);
        }
    }
    if (s->vocab_size > (int64_t)INT32_MAX)
        gguf_refuse(s, d, "vocab_size", "llama.cpp token ids are 32-bit (got %lld)", (long long)s->vocab_size);
    if (s->context_length > (int64_t)UINT32_MAX)
        gguf_refuse(s, d, "context_length", "GGUF stores this as a 32-bit count (got %lld)", (long long)s->context_length);
}

/* qwen2moe (src/models/qwen2moe.cpp): qwen2's attention (optional q/k/v biases, rotate-half RoPE
 * as stored), every MLP routed experts (softmax over all router logits, top-k, weights NOT
 * renormalised) plus a shared expert scaled by sigmoid(ffn_gate_inp_shexp x); untied head */
static void check_qwen2moe(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, llmc_diags *d) {
    check_qwen2(s, dims, d);
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_MOE_ROUTE) continue;
        const llmc_attr *r = llmc_op_attr(op, "routing"), *n = llmc_op_attr(op, "normalize");
        if (r && !strcmp(r->s, "topk_softmax")) {
            gguf_refuse(s, d, "moe.routing",
                   "topk_softmax: llama.cpp's qwen2moe arch takes the softmax over all router logits, then the top k; "
                   "nearest supported: moe.routing: softmax_topk with normalize_topk: false");
            break;
        }
        if (n && n->i) {
            gguf_refuse(s, d, "moe.normalize_topk",
                   "llama.cpp's qwen2moe arch keeps the top-k softmax weights as they are (Qwen2-MoE's norm_topk_prob: "
                   "false); nearest supported: moe.normalize_topk: false");
            break;
        }
    }
    if (s->tie_word_embeddings)
        gguf_refuse(s, d, "tie_word_embeddings",
               "llama.cpp's qwen2moe arch reads its own output.weight (no tied head); nearest supported: "
               "tie_word_embeddings: false");
}

/* true if the graph has a shared expert (Qwen2-MoE) */
static bool has_shared_expert(const llmc_ir *ir) { return has_role(ir, LLMC_ROLE_SHARED_EXPERT_SCALE, false); }

/* every MOE_ROUTE op keeps Mixtral's weights: softmax of the top-k logits */
static bool moe_routing_renormalised(const llmc_ir *ir) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_MOE_ROUTE) continue;
        const llmc_attr *r = llmc_op_attr(op, "routing"), *n = llmc_op_attr(op, "normalize");
        if (!(r && !strcmp(r->s, "topk_softmax")) && !(n && n->i == 1)) return false;
    }
    return true;
}

gguf_arch gguf_arch_select(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, llmc_diags *d) {
    const size_t errs0 = llmc_diags_errors(d);
    bool bad = false;
    gguf_arch forced = parse_options(s, d, &bad);
    /* what the graph declares, not the template's name */
    const bool encdec = llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER;
    /* sandwich blocks: llama.cpp's gemma2; pre-norm blocks with Gemma's marks (or forced): gemma.
     * gguf_gemma.c checks the rest op by op */
    const bool sandwich = gguf_gemma_graph(ir, GA_GEMMA2), gemma_pre = gguf_gemma_graph(ir, GA_GEMMA);
    const gguf_arch gemma = sandwich && (forced == GA_NONE || forced == GA_GEMMA2) ? GA_GEMMA2
                            : gemma_pre && (forced == GA_GEMMA || (forced == GA_NONE && gguf_gemma_like(ir)))
                                ? GA_GEMMA
                                : GA_NONE;
    if (gemma != GA_NONE) {
        gguf_gemma_facts f;
        if (gguf_gemma_read(s, ir, dims, gemma, &f, d) || bad) return GA_NONE;
        check_u32_dims(s, dims, d);
        return llmc_diags_errors(d) > errs0 ? GA_NONE : gemma;
    }
    if (forced == GA_GEMMA2) {
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch gemma2 computes sequential sandwich blocks (a norm before and after attention and the MLP); "
               "nearest supported: norm_placement: sandwich, or arch auto");
        return GA_NONE;
    }
    if (forced == GA_GEMMA) {
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch gemma computes a decoder of sequential pre-norm blocks and template %s's are not; nearest "
               "supported: %s",
               s->template_name, sandwich ? "arch gemma2 (sandwich blocks), or arch auto" : "arch auto");
        return GA_NONE;
    }
    /* every other arch computes none of Gemma-2's options */
    if (llmc_spec_refuse_block_options(s, "GGUF arch llama/qwen2/qwen3/gpt2/t5/gptneox/phi2", false, d)) return GA_NONE;
    const int structure = block_structure(s, ir, d);
    if (structure < 0) return GA_NONE;
    const bool parallel = structure == 1, neox_like = forced == GA_GPTNEOX || forced == GA_PHI2;
    if (parallel && forced != GA_NONE && !neox_like) {
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch %s computes sequential blocks and template %s's are parallel (x + attn(n) + mlp(n)); "
               "nearest supported: arch gptneox, phi2 or auto",
               gguf_arch_name(forced), s->template_name);
        return GA_NONE;
    }
    const bool qk_norm = has_qk_norm(ir);
    if (qk_norm && ((forced != GA_NONE && forced != GA_QWEN3) || parallel || encdec)) {
        gguf_refuse(s, d, "qk_norm",
               "GGUF arch %s has no per-head query/key norm; nearest supported: emit_options.gguf.arch: auto "
               "(qwen3: sequential pre-norm decoder, rope, rmsnorm, swiglu, no biases), or qk_norm: false",
               forced != GA_NONE ? gguf_arch_name(forced) : parallel ? "gptneox/phi2" : "t5");
        return GA_NONE;
    }
    /* sparse experts: llama.cpp's llama arch (Mixtral's GGUF): ffn_gate_inp, ffn_{gate,up,down}_exps,
     * softmax over the router logits, top-k, weights renormalised */
    const bool moe = llmc_ir_has_moe(ir), shared = moe && has_shared_expert(ir);
    const gguf_arch moe_arch = shared ? GA_QWEN2MOE : GA_LLAMA;
    if (moe && ((forced != GA_NONE && forced != moe_arch) || parallel || encdec || qk_norm)) {
        gguf_refuse(s, d, shared ? "moe.num_shared_experts" : "moe",
               "GGUF arch %s has no %s; nearest supported: emit_options.gguf.arch: auto (%s: sequential "
               "pre-norm decoder, rope, rmsnorm, swiglu, %s, no qk_norm)",
               forced != GA_NONE ? gguf_arch_name(forced) : qk_norm ? "qwen3" : parallel ? "gptneox/phi2" : "t5",
               shared ? "shared expert beside its sparse experts" : "sparse experts", gguf_arch_name(moe_arch),
               shared ? "optional q/k/v biases" : "no biases");
        return GA_NONE;
    }
    if (!moe && forced == GA_QWEN2MOE) {
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch qwen2moe computes sparse experts and a shared expert in every layer; nearest supported: "
               "moe with num_shared_experts: 1, or arch auto");
        return GA_NONE;
    }
    if (moe && !shared && !moe_routing_renormalised(ir))
        gguf_refuse(s, d, "moe.normalize_topk",
               "llama.cpp's llama arch divides the kept top-k router weights by their sum; nearest supported: "
               "moe.normalize_topk: true (or moe.routing: topk_softmax)");
    if (forced == GA_QWEN3 && !qk_norm) {
        gguf_refuse(s, d, "emit_options.gguf.arch",
               "GGUF arch qwen3 requires per-head query/key norms (attn_q_norm, attn_k_norm); nearest supported: "
               "qk_norm: true, or arch auto");
        return GA_NONE;
    }
    if (parallel || neox_like) {
        gguf_arch pa = forced != GA_NONE ? forced : has_role(ir, LLMC_ROLE_OUTPUT_HEAD, true) ? GA_PHI2 : GA_GPTNEOX;
        if (encdec) {
            gguf_refuse(s, d, "emit_options.gguf.arch",
                   "GGUF arch %s is a decoder-only architecture and template %s is encoder_decoder; nearest "
                   "supported: arch auto (t5)",
                   gguf_arch_name(pa), s->template_name);
            return GA_NONE;
        }
        check_neox(s, ir, dims, pa, parallel, d);
        check_u32_dims(s, dims, d);
        return bad || llmc_diags_errors(d) > errs0 ? GA_NONE : pa;
    }
    gguf_arch a = forced;
    if (forced != GA_NONE) {
        if (encdec != (forced == GA_T5)) {
            gguf_refuse(s, d, "emit_options.gguf.arch",
                   "GGUF arch %s needs template %s (this spec is %s); nearest supported: arch auto",
                   gguf_arch_name(forced), forced == GA_T5 ? "encoder_decoder" : "decoder_only", s->template_name);
            return GA_NONE;
        }
    } else if (encdec) {
        a = GA_T5;
    } else if (qk_norm) {
        a = GA_QWEN3;
    } else if (moe) {
        /* check_llama refuses what the llama arch cannot hold (q/k biases, a head bias) */
        a = moe_arch;
    } else if (s->positional == LLMC_POS_ROPE) {
        /* LayerNorm with a plain MLP and no head bias is GPT-NeoX's block, run sequentially */
        if (has_op(ir, LLMC_OP_LAYERNORM) && !has_role(ir, LLMC_ROLE_MLP_GATE, false) &&
            !has_role(ir, LLMC_ROLE_OUTPUT_HEAD, true))
            a = GA_GPTNEOX;
        else
            a = s->bias.qkv || s->bias.lm_head ? GA_QWEN2 : GA_LLAMA;
    } else if (s->positional == LLMC_POS_LEARNED) {
        a = GA_GPT2;
    } else {
        if (s->positional == LLMC_POS_ALIBI)
            gguf_refuse(s, d, "positional_encoding",
                   "alibi: no llama.cpp architecture expresses ALiBi with %s and %s blocks (its ALiBi architectures, "
                   "bloom and mpt, have their own norms and tensors); nearest supported: positional_encoding: rope "
                   "with norm: rmsnorm and activation: swiglu (arch llama), or learned with layernorm and gelu_tanh "
                   "(arch gpt2)",
                   llmc_activation_name(s->activation), llmc_norm_name(s->norm));
        else
            gguf_refuse(s, d, "positional_encoding",
                   "%s: no llama.cpp architecture of the llama or gpt2 kind uses %s positions; nearest supported: "
                   "positional_encoding: rope with norm: rmsnorm and activation: swiglu (arch llama), or learned with "
                   "layernorm and gelu_tanh (arch gpt2)",
                   pos_name(s), pos_name(s));
        return GA_NONE;
    }
    if ((a == GA_LLAMA || a == GA_QWEN2 || a == GA_QWEN3 || a == GA_QWEN2MOE) && has_partial_rotary(ir))
        gguf_refuse(s, d, "rope.fraction",
               "GGUF arch %s rotates every dim of a head; nearest supported: rope.fraction: 1, or a LayerNorm block "
               "with a plain MLP (arch gptneox, or phi2 with parallel_residual and bias.lm_head)",
               gguf_arch_name(a));
    switch (a) {
    case GA_LLAMA: check_llama(s, dims, d); break;
    case GA_QWEN2: check_qwen2(s, dims, d); break;
    case GA_QWEN3: check_qwen3(s, d); break;
    case GA_QWEN2MOE: check_qwen2moe(s, ir, dims, d); break;
    case GA_GPT2: check_gpt2(s, dims, d); break;
    case GA_T5: check_t5(s, dims, d); break;
    case GA_GPTNEOX: check_neox(s, ir, dims, a, false, d); break;
    default: break;
    }
    check_u32_dims(s, dims, d);
    return bad || llmc_diags_errors(d) > errs0 ? GA_NONE : a;
}
