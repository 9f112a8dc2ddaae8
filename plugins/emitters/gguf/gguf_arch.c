/* IR -> llama.cpp architecture mapping: choice and refusals, tensor plan, hyperparameter keys.
 * Sources read for names and conventions (llama.cpp as bundled with node-llama-cpp 3.22.1):
 * src/llama-arch.cpp (key and tensor names), src/llama-model.cpp (common hyperparameters),
 * src/models/{llama,qwen2,gpt2,t5}.cpp (per-arch keys, tensors, graphs), src/llama-context.cpp
 * (RoPE scaling), convert_hf_to_gguf.py / conversion/ (Q/K permutation, llama3 rope_freqs). */
#include "gguf_arch.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

gguf_arch gguf_arch_select(const llmc_spec *s, const llmc_dims *dims, llmc_diags *d) {
    const size_t errs0 = llmc_diags_errors(d);
    bool bad = false;
    gguf_arch forced = parse_options(s, d, &bad);
    const bool encdec = strcmp(s->template_name, "encoder_decoder") == 0;
    const bool deconly = strcmp(s->template_name, "decoder_only") == 0;
    if (!encdec && !deconly) {
        refuse(s, d, "template",
               "template %s has no GGUF mapping (GGUF arches exist for templates decoder_only and encoder_decoder)",
               s->template_name);
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

/* ---- the tensor plan ------------------------------------------------------------------------ */
typedef struct builder {
    const llmc_spec *s;
    const llmc_ir *ir;
    gguf_plan *p;
    bool *used;               /* per IR tensor: consumed by a view */
    llmc_diags *d;
    int failed;
    gguf_ttype fmat;          /* matrices (embeddings, projections, head) */
    gguf_ttype ffloat;        /* float tensors that are never quantized (position tables) */
} builder;

static gguf_ttype float_type(llmc_precision p) {
    return p == LLMC_PRECISION_FLOAT16 ? GGUF_TT_F16 : p == LLMC_PRECISION_BFLOAT16 ? GGUF_TT_BF16 : GGUF_TT_F32;
}

static gguf_plan_tensor *add(builder *b, const char *name) {
    gguf_plan *p = b->p;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        gguf_plan_tensor *nt = realloc(p->t, cap * sizeof *nt);
        if (!nt) {
            llmc_error(b->d, "gguf", "out of memory planning the tensors");
            b->failed = 1;
            return NULL;
        }
        p->t = nt;
        p->cap = cap;
    }
    gguf_plan_tensor *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->scale = 1.0f;
    return t;
}

/* A view over 1..4 IR parameters concatenated along dim 0, stored as ggml type `type`. Types:
 * MAT = quantizable matrix, FLOAT = unquantized float at the model precision, F32 = always F32.
 * 1-D tensors (norms, biases) are always F32. */
enum { K_MAT, K_HEAD, K_FLOAT, K_F32 };

static gguf_plan_tensor *add_view(builder *b, const char *gname, int kind, llmc_view_transform tr, int64_t n_head,
                                  const char *const *irnames, int n_parts) {
    if (b->failed) return NULL;
    gguf_plan_tensor *t = add(b, gname);
    if (!t) return NULL;
    llmc_tensor_view *v = &t->view;
    snprintf(v->name, sizeof v->name, "%s", gname);
    v->transform = tr;
    v->n_head = n_head;
    v->n_parts = n_parts;
    for (int i = 0; i < n_parts; i++) {
        llmc_tid id = llmc_ir_find(b->ir, irnames[i]);
        const llmc_tensor_info *ti = id == LLMC_TID_NONE ? NULL : llmc_ir_tensor(b->ir, id);
        if (!ti || ti->kind != LLMC_TENSOR_PARAM) {
            llmc_error(b->d, "gguf", "internal error: the IR has no parameter '%s' (needed for GGUF tensor '%s')",
                       irnames[i], gname);
            b->failed = 1;
            return NULL;
        }
        if (b->used[id]) {
            llmc_error(b->d, "gguf", "internal error: IR parameter '%s' mapped twice", irnames[i]);
            b->failed = 1;
            return NULL;
        }
        b->used[id] = true;
        if (i == 0) {
            v->rank = ti->rank;
            for (int k = 0; k < ti->rank; k++) v->shape[k] = ti->shape[k];
            t->read_dtype = ti->dtype;
        } else {
            bool same = ti->rank == v->rank && ti->dtype == t->read_dtype;
            for (int k = 1; same && k < ti->rank; k++) same = ti->shape[k] == v->shape[k];
            if (!same) {
                llmc_error(b->d, "gguf", "internal error: '%s' cannot be concatenated into '%s'", irnames[i], gname);
                b->failed = 1;
                return NULL;
            }
            v->shape[0] += ti->shape[0];
        }
        v->parts[i] = id;
    }
    if (v->rank < 1 || v->rank > 2) {
        llmc_error(b->d, "gguf", "internal error: GGUF tensor '%s' would have rank %d", gname, v->rank);
        b->failed = 1;
        return NULL;
    }
    t->src = GS_PARAMS;
    t->n_dims = (uint32_t)v->rank;
    t->ne[0] = (uint64_t)v->shape[v->rank - 1];
    if (v->rank == 2) t->ne[1] = (uint64_t)v->shape[0];
    if (v->rank == 1 || kind == K_F32) {
        t->type = GGUF_TT_F32;
    } else if (kind == K_FLOAT) {
        t->type = b->ffloat;
    } else {
        gguf_ttype q = b->fmat;
        /* Q4_0 files keep the head at Q8_0, as llama-quantize keeps output.weight at a higher
         * precision (Q6_K there); rows that are not whole blocks stay at the float precision */
        if (kind == K_HEAD && q == GGUF_TT_Q4_0) q = GGUF_TT_Q8_0;
        if (t->ne[0] % gguf_ttype_block(q) != 0) q = b->ffloat;
        t->type = q;
    }
    return t;
}

static gguf_plan_tensor *view1(builder *b, const char *gname, int kind, const char *irname) {
    const char *n[1] = {irname};
    return add_view(b, gname, kind, LLMC_VIEW_IDENTITY, 0, n, 1);
}

static bool has_param(const builder *b, const char *name) {
    llmc_tid id = llmc_ir_find(b->ir, name);
    return id != LLMC_TID_NONE && llmc_ir_tensor(b->ir, id)->kind == LLMC_TENSOR_PARAM;
}

/* the IR parameter if the model has it, else a zero vector of n F32 values */
static void view_or_zeros(builder *b, const char *gname, const char *irname, int64_t n) {
    if (b->failed) return;
    if (has_param(b, irname)) {
        view1(b, gname, K_F32, irname);
        return;
    }
    gguf_plan_tensor *t = add(b, gname);
    if (!t) return;
    t->src = GS_ZEROS;
    t->type = GGUF_TT_F32;
    t->n_dims = 1;
    t->ne[0] = (uint64_t)n;
}

static void opt_view(builder *b, const char *gname, int kind, const char *irname) {
    if (has_param(b, irname)) view1(b, gname, kind, irname);
}

/* a tensor name that does not fit its buffer fails the plan instead of naming the wrong tensor */
#define FMT(buf, ...)                                                                              \
    do {                                                                                           \
        if ((size_t)snprintf(buf, sizeof buf, __VA_ARGS__) >= sizeof buf && !b->failed) {         \
            llmc_error(b->d, "gguf", "internal error: tensor name '%s...' is too long", buf);      \
            b->failed = 1;                                                                         \
        }                                                                                          \
    } while (0)

static void plan_llama_like(builder *b, const llmc_dims *dims, gguf_arch a) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS], nh = dims->v[LLMC_DIM_NUM_HEADS],
                  nkv = dims->v[LLMC_DIM_NUM_KV_HEADS];
    const bool tied = b->s->tie_word_embeddings;
    view1(b, "token_embd.weight", tied ? K_HEAD : K_MAT, "model.embed_tokens.weight");
    if (a == GA_LLAMA && b->s->rope.scaling == LLMC_ROPE_SCALING_LLAMA3) {
        gguf_plan_tensor *t = add(b, "rope_freqs.weight");
        if (t) {
            t->src = GS_ROPE_FREQS;
            t->type = GGUF_TT_F32;
            t->n_dims = 1;
            t->ne[0] = (uint64_t)dims->v[LLMC_DIM_HEAD_DIM] / 2;
        }
    }
    for (int64_t i = 0; i < L && !b->failed; i++) {
        char g[64], n[128];
        const llmc_view_transform tr = a == GA_LLAMA ? LLMC_VIEW_ROPE_PERMUTE : LLMC_VIEW_IDENTITY;
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.input_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "blk.%lld.attn_q.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.q_proj.weight", (long long)i);
        const char *qn[1] = {n};
        add_view(b, g, K_MAT, tr, nh, qn, 1);
        FMT(g, "blk.%lld.attn_k.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.k_proj.weight", (long long)i);
        add_view(b, g, K_MAT, tr, nkv, qn, 1);
        FMT(g, "blk.%lld.attn_v.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.v_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        static const char *const qkv[3] = {"q", "k", "v"};
        for (int j = 0; j < 3; j++) {   /* qwen2 only (llama refuses bias.qkv) */
            FMT(g, "blk.%lld.attn_%s.bias", (long long)i, qkv[j]);
            FMT(n, "model.layers.%lld.self_attn.%s_proj.bias", (long long)i, qkv[j]);
            opt_view(b, g, K_F32, n);
        }
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.attn_output.bias", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.bias", (long long)i);
        opt_view(b, g, K_F32, n);
        FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.post_attention_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        static const char *const mlp[3][2] = {{"gate", "gate_proj"}, {"up", "up_proj"}, {"down", "down_proj"}};
        for (int j = 0; j < 3; j++) {
            FMT(g, "blk.%lld.ffn_%s.weight", (long long)i, mlp[j][0]);
            FMT(n, "model.layers.%lld.mlp.%s.weight", (long long)i, mlp[j][1]);
            view1(b, g, K_MAT, n);
            FMT(g, "blk.%lld.ffn_%s.bias", (long long)i, mlp[j][0]);
            FMT(n, "model.layers.%lld.mlp.%s.bias", (long long)i, mlp[j][1]);
            opt_view(b, g, K_F32, n);
        }
    }
    view1(b, "output_norm.weight", K_F32, "model.norm.weight");
    if (!tied) view1(b, "output.weight", K_HEAD, "lm_head.weight");
    opt_view(b, "output.bias", K_F32, "lm_head.bias");
}

static void plan_gpt2(builder *b, const llmc_dims *dims) {
    const int64_t L = dims->v[LLMC_DIM_NUM_LAYERS], H = dims->v[LLMC_DIM_HIDDEN_SIZE],
                  I = dims->v[LLMC_DIM_INTERMEDIATE_SIZE],
                  qkv_rows = (dims->v[LLMC_DIM_NUM_HEADS] + 2 * dims->v[LLMC_DIM_NUM_KV_HEADS]) * dims->v[LLMC_DIM_HEAD_DIM];
    const bool tied = b->s->tie_word_embeddings;
    view1(b, "token_embd.weight", tied ? K_HEAD : K_MAT, "model.embed_tokens.weight");
    view1(b, "position_embd.weight", K_FLOAT, "model.embed_positions.weight");
    for (int64_t i = 0; i < L && !b->failed; i++) {
        char g[64], n[128], n1[128], n2[128];
        FMT(g, "blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.input_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "blk.%lld.attn_norm.bias", (long long)i);
        FMT(n, "model.layers.%lld.input_layernorm.bias", (long long)i);
        view_or_zeros(b, g, n, H);
        /* fused [q; k; v] rows, as llama.cpp's build_qkv splits them */
        FMT(g, "blk.%lld.attn_qkv.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.q_proj.weight", (long long)i);
        FMT(n1, "model.layers.%lld.self_attn.k_proj.weight", (long long)i);
        FMT(n2, "model.layers.%lld.self_attn.v_proj.weight", (long long)i);
        const char *parts[3] = {n, n1, n2};
        add_view(b, g, K_MAT, LLMC_VIEW_IDENTITY, 0, parts, 3);
        FMT(g, "blk.%lld.attn_qkv.bias", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.q_proj.bias", (long long)i);
        FMT(n1, "model.layers.%lld.self_attn.k_proj.bias", (long long)i);
        FMT(n2, "model.layers.%lld.self_attn.v_proj.bias", (long long)i);
        if (has_param(b, n)) add_view(b, g, K_F32, LLMC_VIEW_IDENTITY, 0, parts, 3);
        else view_or_zeros(b, g, n, qkv_rows);
        FMT(g, "blk.%lld.attn_output.weight", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.attn_output.bias", (long long)i);
        FMT(n, "model.layers.%lld.self_attn.o_proj.bias", (long long)i);
        view_or_zeros(b, g, n, H);
        FMT(g, "blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "model.layers.%lld.post_attention_layernorm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "blk.%lld.ffn_norm.bias", (long long)i);
        FMT(n, "model.layers.%lld.post_attention_layernorm.bias", (long long)i);
        view_or_zeros(b, g, n, H);
        FMT(g, "blk.%lld.ffn_up.weight", (long long)i);
        FMT(n, "model.layers.%lld.mlp.up_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.ffn_up.bias", (long long)i);
        FMT(n, "model.layers.%lld.mlp.up_proj.bias", (long long)i);
        view_or_zeros(b, g, n, I);
        FMT(g, "blk.%lld.ffn_down.weight", (long long)i);
        FMT(n, "model.layers.%lld.mlp.down_proj.weight", (long long)i);
        view1(b, g, K_MAT, n);
        FMT(g, "blk.%lld.ffn_down.bias", (long long)i);
        FMT(n, "model.layers.%lld.mlp.down_proj.bias", (long long)i);
        view_or_zeros(b, g, n, H);
    }
    view1(b, "output_norm.weight", K_F32, "model.norm.weight");
    view_or_zeros(b, "output_norm.bias", "model.norm.bias", H);
    if (!tied) view1(b, "output.weight", K_HEAD, "lm_head.weight");
}

static void plan_t5_attn(builder *b, const char *gpre, const char *irpre) {
    static const char *const p[4] = {"q", "k", "v", "o"};
    for (int j = 0; j < 4 && !b->failed; j++) {
        char g[64], n[160];
        FMT(g, "%s_%s.weight", gpre, p[j]);
        FMT(n, "%s.%s.weight", irpre, p[j]);
        view1(b, g, K_MAT, n);
    }
}

static void plan_t5_ffn(builder *b, const char *gpre, const char *irpre) {
    char g[64], n[160];
    if (b->s->activation == LLMC_ACT_GEGLU) {
        FMT(g, "%s.ffn_gate.weight", gpre);
        FMT(n, "%s.DenseReluDense.wi_0.weight", irpre);
        view1(b, g, K_MAT, n);
        FMT(g, "%s.ffn_up.weight", gpre);
        FMT(n, "%s.DenseReluDense.wi_1.weight", irpre);
        view1(b, g, K_MAT, n);
    } else {
        FMT(g, "%s.ffn_up.weight", gpre);
        FMT(n, "%s.DenseReluDense.wi.weight", irpre);
        view1(b, g, K_MAT, n);
    }
    FMT(g, "%s.ffn_down.weight", gpre);
    FMT(n, "%s.DenseReluDense.wo.weight", irpre);
    view1(b, g, K_MAT, n);
}

static void plan_t5(builder *b, const llmc_dims *dims) {
    const int64_t E = dims->v[LLMC_DIM_NUM_ENCODER_LAYERS], D = dims->v[LLMC_DIM_NUM_DECODER_LAYERS];
    const bool tied = b->s->tie_word_embeddings;
    view1(b, "token_embd.weight", K_MAT, "shared.weight");
    /* block 0's relative bias table serves every layer of its stack (llama.cpp falls back to
     * layers[0] as HF T5 does); stored [buckets, heads] row-major = ggml {heads, buckets} */
    view1(b, "enc.blk.0.attn_rel_b.weight", K_F32, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    view1(b, "dec.blk.0.attn_rel_b.weight", K_F32, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    for (int64_t i = 0; i < E && !b->failed; i++) {
        char g[64], n[160];
        FMT(g, "enc.blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "encoder.block.%lld.layer.0.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "enc.blk.%lld.attn", (long long)i);
        FMT(n, "encoder.block.%lld.layer.0.SelfAttention", (long long)i);
        plan_t5_attn(b, g, n);
        FMT(g, "enc.blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "encoder.block.%lld.layer.1.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "enc.blk.%lld", (long long)i);
        FMT(n, "encoder.block.%lld.layer.1", (long long)i);
        plan_t5_ffn(b, g, n);
    }
    view1(b, "enc.output_norm.weight", K_F32, "encoder.final_layer_norm.weight");
    for (int64_t i = 0; i < D && !b->failed; i++) {
        char g[64], n[160];
        FMT(g, "dec.blk.%lld.attn_norm.weight", (long long)i);
        FMT(n, "decoder.block.%lld.layer.0.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "dec.blk.%lld.attn", (long long)i);
        FMT(n, "decoder.block.%lld.layer.0.SelfAttention", (long long)i);
        plan_t5_attn(b, g, n);
        FMT(g, "dec.blk.%lld.cross_attn_norm.weight", (long long)i);
        FMT(n, "decoder.block.%lld.layer.1.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "dec.blk.%lld.cross_attn", (long long)i);
        FMT(n, "decoder.block.%lld.layer.1.EncDecAttention", (long long)i);
        plan_t5_attn(b, g, n);
        FMT(g, "dec.blk.%lld.ffn_norm.weight", (long long)i);
        FMT(n, "decoder.block.%lld.layer.2.layer_norm.weight", (long long)i);
        view1(b, g, K_F32, n);
        FMT(g, "dec.blk.%lld", (long long)i);
        FMT(n, "decoder.block.%lld.layer.2", (long long)i);
        plan_t5_ffn(b, g, n);
    }
    view1(b, "dec.output_norm.weight", K_F32, "decoder.final_layer_norm.weight");
    if (tied) {
        /* HF T5 scales the decoder output by hidden^-0.5 before a tied head; llama.cpp's t5 graph does
         * not, and uses output.weight when present: so the file carries the head pre-scaled. The
         * shared table is already used by token_embd, hence no IR parameter is consumed here. */
        gguf_plan_tensor *t = add(b, "output.weight");
        if (t && !b->failed) {
            const gguf_plan_tensor *emb = &b->p->t[0];
            t->src = GS_PARAMS;
            t->view = emb->view;
            snprintf(t->view.name, sizeof t->view.name, "output.weight");
            t->read_dtype = emb->read_dtype;
            t->n_dims = 2;
            t->ne[0] = emb->ne[0];
            t->ne[1] = emb->ne[1];
            t->scale = (float)(1.0 / sqrt((double)dims->v[LLMC_DIM_HIDDEN_SIZE]));
            gguf_ttype q = b->fmat == GGUF_TT_Q4_0 ? GGUF_TT_Q8_0 : b->fmat;
            t->type = t->ne[0] % gguf_ttype_block(q) ? b->ffloat : q;
        }
    } else {
        view1(b, "output.weight", K_HEAD, "lm_head.weight");
    }
}

/* llama3 factors exactly as convert_hf_to_gguf computes them (float64, stored float32):
 * the rotary frequency of pair k is divided by factors[k] */
static float *llama3_factors(const llmc_spec *s, int64_t hd) {
    const llmc_rope_params *r = &s->rope;
    float *f = malloc((size_t)(hd / 2) * sizeof *f);
    if (!f) return NULL;
    const double orig = (double)r->original_context_length;
    const double low_wl = orig / r->low_freq_factor, high_wl = orig / r->high_freq_factor;
    for (int64_t k = 0; k < hd / 2; k++) {
        const double freq = 1.0 / pow(r->theta, (double)(2 * k) / (double)hd);
        const double wl = 2.0 * M_PI / freq;
        double v;
        if (wl < high_wl) v = 1.0;
        else if (wl > low_wl) v = r->factor;
        else {
            const double smooth = (orig / wl - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
            v = 1.0 / ((1.0 - smooth) / r->factor + smooth);
        }
        f[k] = (float)v;
    }
    return f;
}

int gguf_plan_build(const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir, gguf_arch a, gguf_plan *out,
                    llmc_diags *d) {
    memset(out, 0, sizeof *out);
    out->arch = a;
    builder b = {s, ir, out, calloc(llmc_ir_num_tensors(ir) + 1, sizeof(bool)), d, 0, GGUF_TT_F32, GGUF_TT_F32};
    if (!b.used) {
        llmc_error(d, "gguf", "out of memory planning the tensors");
        return -1;
    }
    b.ffloat = float_type(s->precision);
    b.fmat = s->quantize == LLMC_QUANT_Q8_0 ? GGUF_TT_Q8_0 : s->quantize == LLMC_QUANT_Q4_0 ? GGUF_TT_Q4_0 : b.ffloat;
    /* llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_BF16 32 */
    out->file_type = s->quantize == LLMC_QUANT_Q8_0   ? 7
                     : s->quantize == LLMC_QUANT_Q4_0 ? 2
                     : b.ffloat == GGUF_TT_F16        ? 1
                     : b.ffloat == GGUF_TT_BF16       ? 32
                                                      : 0;
    switch (a) {
    case GA_LLAMA:
    case GA_QWEN2: plan_llama_like(&b, dims, a); break;
    case GA_GPT2: plan_gpt2(&b, dims); break;
    case GA_T5: plan_t5(&b, dims); break;
    default:
        llmc_error(d, "gguf", "internal error: no architecture chosen");
        b.failed = 1;
    }
    if (!b.failed && a == GA_LLAMA && s->rope.scaling == LLMC_ROPE_SCALING_LLAMA3) {
        out->rope_freqs = llama3_factors(s, dims->v[LLMC_DIM_HEAD_DIM]);
        if (!out->rope_freqs) {
            llmc_error(d, "gguf", "out of memory");
            b.failed = 1;
        }
    }
    /* every parameter has a place in the file: a template change that adds one must not be dropped */
    for (size_t i = 0; !b.failed && i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)i);
        if (ti->kind == LLMC_TENSOR_PARAM && !b.used[i]) {
            llmc_error(d, "gguf", "IR parameter '%s' has no place in GGUF arch %s (an llmc bug: refusing to write an "
                       "incomplete model)", ti->name, gguf_arch_name(a));
            b.failed = 1;
        }
    }
    free(b.used);
    if (b.failed) {
        gguf_plan_free(out);
        return -1;
    }
    return 0;
}

void gguf_plan_free(gguf_plan *p) {
    free(p->t);
    free(p->rope_freqs);
    memset(p, 0, sizeof *p);
}

/* ---- hyperparameters -------------------------------------------------------------------------- */
int gguf_arch_metadata(const llmc_spec *s, const llmc_dims *dims, const gguf_plan *p,
                       const llmc_special_tokens *tokens, gguf_meta *m, llmc_diags *d) {
    const char *an = gguf_arch_name(p->arch);
    char k[96];
    int rc = 0;
#define KEY(suffix) (snprintf(k, sizeof k, "%s.%s", an, suffix), k)
    const uint32_t H = (uint32_t)dims->v[LLMC_DIM_HIDDEN_SIZE], nh = (uint32_t)dims->v[LLMC_DIM_NUM_HEADS],
                   nkv = (uint32_t)dims->v[LLMC_DIM_NUM_KV_HEADS], hd = (uint32_t)dims->v[LLMC_DIM_HEAD_DIM],
                   I = (uint32_t)dims->v[LLMC_DIM_INTERMEDIATE_SIZE];
    rc |= gguf_kv_u32(m, KEY("vocab_size"), (uint32_t)s->vocab_size, d);
    rc |= gguf_kv_u32(m, KEY("context_length"), (uint32_t)s->context_length, d);
    rc |= gguf_kv_u32(m, KEY("embedding_length"), H, d);
    rc |= gguf_kv_u32(m, KEY("feed_forward_length"), I, d);
    rc |= gguf_kv_u32(m, KEY("attention.head_count"), nh, d);
    rc |= gguf_kv_u32(m, KEY("attention.head_count_kv"), nkv, d);
    rc |= gguf_kv_u32(m, KEY("attention.key_length"), hd, d);
    rc |= gguf_kv_u32(m, KEY("attention.value_length"), hd, d);
    if (p->arch == GA_T5) {
        rc |= gguf_kv_u32(m, KEY("block_count"), (uint32_t)dims->v[LLMC_DIM_NUM_ENCODER_LAYERS], d);
        rc |= gguf_kv_u32(m, KEY("decoder_block_count"), (uint32_t)dims->v[LLMC_DIM_NUM_DECODER_LAYERS], d);
        rc |= gguf_kv_f32(m, KEY("attention.layer_norm_rms_epsilon"), (float)s->norm_eps, d);
        rc |= gguf_kv_u32(m, KEY("attention.relative_buckets_count"), (uint32_t)s->relative_num_buckets, d);
        /* the model's decoder start (T5: its pad token), from the one set of special tokens */
        if (tokens->decoder_start >= 0)
            rc |= gguf_kv_u32(m, KEY("decoder_start_token_id"), (uint32_t)tokens->decoder_start, d);
    } else {
        rc |= gguf_kv_u32(m, KEY("block_count"), (uint32_t)dims->v[LLMC_DIM_NUM_LAYERS], d);
    }
    if (p->arch == GA_GPT2) {
        rc |= gguf_kv_f32(m, KEY("attention.layer_norm_epsilon"), (float)s->norm_eps, d);
    } else if (p->arch == GA_LLAMA || p->arch == GA_QWEN2) {
        const llmc_rope_params *r = &s->rope;
        rc |= gguf_kv_f32(m, KEY("attention.layer_norm_rms_epsilon"), (float)s->norm_eps, d);
        rc |= gguf_kv_u32(m, KEY("rope.dimension_count"), hd, d);
        rc |= gguf_kv_f32(m, KEY("rope.freq_base"), (float)r->theta, d);
        switch (r->scaling) {
        case LLMC_ROPE_SCALING_LINEAR:
            rc |= gguf_kv_str(m, KEY("rope.scaling.type"), "linear", d);
            rc |= gguf_kv_f32(m, KEY("rope.scaling.factor"), (float)r->factor, d);
            break;
        case LLMC_ROPE_SCALING_YARN:
            rc |= gguf_kv_str(m, KEY("rope.scaling.type"), "yarn", d);
            rc |= gguf_kv_f32(m, KEY("rope.scaling.factor"), (float)r->factor, d);
            rc |= gguf_kv_u32(m, KEY("rope.scaling.original_context_length"), (uint32_t)r->original_context_length, d);
            break;
        default:
            /* none; llama3 is carried by the rope_freqs tensor, as convert_hf_to_gguf does */
            rc |= gguf_kv_str(m, KEY("rope.scaling.type"), "none", d);
            break;
        }
    }
#undef KEY
    return rc ? -1 : 0;
}
