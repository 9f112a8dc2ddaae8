/* GGUF arches gemma and gemma2 (llama.cpp src/models/gemma.cpp, gemma2.cpp), one reader for both.
 * Both compute sequential blocks of RMSNorm, embeddings times sqrtf(n_embd), NEOX RoPE (no q/k
 * permute), GeGLU with the tanh GELU, a tied head and no biases; llama.cpp scales by the stored
 * norm weight, so a (1 + w) norm is written as 1 + w, as convert_hf_to_gguf.py does.
 *   gemma:  pre-norm blocks (attn_norm, ffn_norm), Q scaled by 1/sqrt(head_dim), no soft-caps,
 *           causal attention over the whole context.
 *   gemma2: sandwich blocks (+ post_attention_norm, post_ffw_norm), Q scaled by 1/sqrt(head_dim)
 *           (1/sqrt(n_embd / n_head) for the 46-layer model), scores and logits always soft-capped,
 *           windowed layers by attention.sliding_window_pattern (layer il windowed when
 *           il % N < N - 1).
 * Everything is read off the IR; what llama.cpp's graph would compute differently is refused at
 * the spec key with the nearest supported value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_arch.h"

static double num(const llmc_op_info *op, const char *key, double dflt) {
    const llmc_attr *a = llmc_op_attr(op, key);
    return a && (a->type == LLMC_ATTR_INT || a->type == LLMC_ATTR_FLOAT) ? llmc_attr_number(a) : dflt;
}

static const char *str(const llmc_op_info *op, const char *key, const char *dflt) {
    const llmc_attr *a = llmc_op_attr(op, key);
    return a && a->type == LLMC_ATTR_STRING && a->s ? a->s : dflt;
}

bool gguf_gemma_graph(const llmc_ir *ir, gguf_arch a) {
    const llmc_norm_placement want = a == GA_GEMMA2 ? LLMC_NORM_PLACEMENT_SANDWICH : LLMC_NORM_PLACEMENT_PRE;
    size_t n = llmc_ir_num_blocks(ir);
    if (llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY || n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        const llmc_ir_block *b = llmc_ir_block_at(ir, i);
        if (b->residual != LLMC_RESIDUAL_SEQUENTIAL || b->norm_placement != want) return false;
    }
    return true;
}

bool gguf_gemma_like(const llmc_ir *ir) {
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type == LLMC_OP_GEGLU || (op->type == LLMC_OP_SCALE && op->role == LLMC_OPROLE_EMBEDDING) ||
            (op->type == LLMC_OP_RMSNORM && num(op, "weight_offset", 0) != 0))
            return true;
    }
    return false;
}

static bool windowed(uint32_t pattern, int64_t il) {
    return pattern == 0 || (uint32_t)(il % pattern) < pattern - 1;
}

int gguf_gemma_read(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, gguf_arch a, gguf_gemma_facts *out,
                    llmc_diags *d) {
    const size_t errs0 = llmc_diags_errors(d);
    const bool g2 = a == GA_GEMMA2;
    const char *an = gguf_arch_name(a);
    memset(out, 0, sizeof *out);
    const int64_t L = llmc_dims_has(dims, LLMC_DIM_NUM_LAYERS) ? dims->v[LLMC_DIM_NUM_LAYERS] : 0;
    const int64_t H = llmc_dims_has(dims, LLMC_DIM_HIDDEN_SIZE) ? dims->v[LLMC_DIM_HIDDEN_SIZE] : 0;
    const int64_t nh = llmc_dims_has(dims, LLMC_DIM_NUM_HEADS) ? dims->v[LLMC_DIM_NUM_HEADS] : 0;
    if (s->qk_norm)
        gguf_refuse(s, d, "qk_norm", "GGUF arch %s has no per-head query/key norm; nearest supported: qk_norm: false", an);
    if (llmc_ir_has_moe(ir))
        gguf_refuse(s, d, "moe", "GGUF arch %s computes one dense GeGLU MLP per block, no sparse experts; nearest "
                            "supported: no moe", an);
    if (s->positional != LLMC_POS_ROPE)
        gguf_refuse(s, d, "positional_encoding",
               "%s: GGUF arch %s rotates queries and keys (RoPE); nearest supported: positional_encoding: rope",
               llmc_positional_name(s->positional), an);
    if (s->rope.scaling != LLMC_ROPE_SCALING_NONE)
        gguf_refuse(s, d, "rope.scaling.type",
               "%s: llmc writes no RoPE scaling for GGUF arch %s; nearest supported: no rope.scaling",
               llmc_rope_scaling_name(s->rope.scaling), an);
    if (s->bias.qkv || s->bias.attn_out || s->bias.mlp || s->bias.lm_head)
        gguf_refuse(s, d, "bias", "GGUF arch %s has no biases; nearest supported: bias: {qkv: false, attn_out: false, "
                             "mlp: false, lm_head: false}", an);
    if (llmc_ir_find_param(ir, LLMC_ROLE_OUTPUT_HEAD, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE) != LLMC_TID_NONE)
        gguf_refuse(s, d, "tie_word_embeddings",
               "false: llama.cpp's %s uses the token embedding as its head; nearest supported: "
               "tie_word_embeddings: true", an);
    if (!g2 && s->sliding_window_pattern > 0)
        gguf_refuse(s, d, "sliding_window_pattern",
               "GGUF arch gemma attends to the whole context in every layer; nearest supported: no "
               "sliding_window_pattern, or norm_placement: sandwich (arch gemma2)");

    bool embed_scaled = false, capped = false, said_norm = false, said_cap = false, said_scale = false, said_act = false;
    bool offset_seen = false, said_mask = false;
    /* llama.cpp's gemma2 special-cases its 46-layer model; gemma always scales by 1/sqrt(head_dim) */
    double want_scale = g2 && L == 46 && nh > 0 ? 1.0 / sqrt((double)H / (double)nh) : 0;
    bool *is_swa = calloc((size_t)(L > 0 ? L : 1), sizeof *is_swa);
    if (!is_swa) {
        llmc_error(d, "gguf", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        switch (op->type) {
        case LLMC_OP_LAYERNORM:
            if (!said_norm)
                gguf_refuse(s, d, "norm", "layernorm (op '%s'): GGUF arch %s normalises with RMSNorm; nearest "
                                     "supported: norm: rmsnorm", op->name, an);
            said_norm = true;
            break;
        case LLMC_OP_RMSNORM: {
            double off = num(op, "weight_offset", 0);
            if (num(op, "eps", s->norm_eps) != s->norm_eps || (offset_seen && off != out->norm_offset)) {
                if (!said_norm)
                    gguf_refuse(s, d, "norm_weight_offset",
                           "op '%s' differs from the other norms (eps %g, scale offset %g); GGUF stores one epsilon "
                           "and llmc one offset; nearest supported: every norm alike",
                           op->name, num(op, "eps", 0), off);
                said_norm = true;
            }
            out->norm_offset = (float)off;
            offset_seen = true;
            break;
        }
        case LLMC_OP_SCALE:
            if (op->role == LLMC_OPROLE_EMBEDDING) {
                double f = num(op, "factor", 1), want = sqrt((double)H);
                /* llama.cpp multiplies by sqrtf(n_embd) in f32; llmc's factor is rounded to the
                 * model's dtype as HF Gemma does: they agree within bf16's precision */
                if (fabs(f - want) > want * 0x1p-8)
                    gguf_refuse(s, d, "embedding_scale",
                           "op '%s' scales the embedding by %g; llama.cpp's %s scales it by sqrt(n_embd) = %g; "
                           "nearest supported: embedding_scale: sqrt_hidden",
                           op->name, f, an, want);
                embed_scaled = true;
            }
            break;
        case LLMC_OP_SOFTCAP:
            if (!g2)
                gguf_refuse(s, d, "final_logit_softcap",
                       "op '%s' soft-caps the logits; GGUF arch gemma does not; nearest supported: no "
                       "final_logit_softcap, or norm_placement: sandwich (arch gemma2)", op->name);
            out->final_softcap = num(op, "cap", 0);
            capped = true;
            break;
        case LLMC_OP_GEGLU:
            if (num(op, "approximate", 0) != 1 && !said_act)
                gguf_refuse(s, d, "activation", "op '%s' is GeGLU with the exact GELU; llama.cpp's %s uses the tanh form; "
                                           "nearest supported: activation: geglu", op->name, an);
            said_act = true;
            break;
        case LLMC_OP_SWIGLU:
        case LLMC_OP_ACTIVATION:
            if (!said_act)
                gguf_refuse(s, d, "activation", "%s (op '%s'): GGUF arch %s computes a GeGLU MLP (tanh GELU); nearest "
                                           "supported: activation: geglu", llmc_op_type_name(op->type), op->name, an);
            said_act = true;
            break;
        case LLMC_OP_ROPE:
            if (strcmp(str(op, "style", "neox"), "neox") || num(op, "fraction", 1) != 1)
                gguf_refuse(s, d, "template", "template %s: op '%s' rotates %s-style over %g of each head; GGUF arch %s "
                                         "rotates halves of the whole head; nearest supported: RoPE style neox, "
                                         "fraction 1", s->template_name, op->name, str(op, "style", "neox"),
                       num(op, "fraction", 1), an);
            break;
        case LLMC_OP_ATTENTION: {
            const llmc_tensor_info *q = op->n_inputs > 0 ? llmc_ir_tensor(ir, op->inputs[0]) : NULL;
            double hd = q && q->rank == 4 ? (double)q->shape[3] : 1;
            double want = want_scale > 0 ? want_scale : 1.0 / sqrt(hd);
            double sc = num(op, "scale", 1.0 / sqrt(hd)), cap = num(op, "softcap", 0);
            const char *mask = str(op, "mask", "causal");
            if (fabs(sc - want) > want * 1e-6 && !said_scale) {
                gguf_refuse(s, d, "query_pre_attn_scalar",
                       "op '%s' scales scores by %g; llama.cpp's %s scales them by %g (1/sqrt(%s)); nearest "
                       "supported: query_pre_attn_scalar: %g",
                       op->name, sc, an, want, want_scale > 0 ? "hidden_size / num_heads" : "head_dim",
                       1.0 / (want * want));
                said_scale = true;
            }
            if (!g2) {
                if (cap > 0 && !said_cap)
                    gguf_refuse(s, d, "attention_softcap",
                           "op '%s' soft-caps its scores; GGUF arch gemma does not; nearest supported: no "
                           "attention_softcap, or norm_placement: sandwich (arch gemma2)", op->name);
                if (strcmp(mask, "causal") && !said_mask)
                    gguf_refuse(s, d, llmc_spec_has_key(s, "attention") ? "attention" : "sliding_window",
                           "op '%s' masks %s; GGUF arch gemma attends causally to the whole context; nearest "
                           "supported: attention: gqa (or mha, mqa), or norm_placement: sandwich (arch gemma2)",
                           op->name, mask);
                said_cap |= cap > 0;
                said_mask |= strcmp(mask, "causal") != 0;
                break;
            }
            if ((cap <= 0 || (out->attn_softcap > 0 && cap != out->attn_softcap)) && !said_cap) {
                gguf_refuse(s, d, "attention_softcap",
                       "op '%s' has %s; llama.cpp's gemma2 soft-caps every layer's scores with one cap; nearest "
                       "supported: attention_softcap: 50.0",
                       op->name, cap > 0 ? "another cap than the first layer" : "no soft-cap");
                said_cap = true;
            }
            if (cap > 0 && out->attn_softcap == 0) out->attn_softcap = cap;
            if (op->layer >= 0 && op->layer < L && !strcmp(mask, "sliding_window")) {
                int64_t w = (int64_t)num(op, "window", 0);
                if (out->window && w != out->window)
                    gguf_refuse(s, d, "sliding_window", "op '%s' has window %lld, another layer %lld; GGUF has one window",
                           op->name, (long long)w, (long long)out->window);
                out->window = w;
                is_swa[op->layer] = true;
            } else if (strcmp(mask, "causal") && strcmp(mask, "sliding_window")) {
                gguf_refuse(s, d, "attention", "op '%s' has mask '%s'; GGUF arch gemma2 is causal; nearest supported: "
                                          "attention: sliding_window or gqa", op->name, mask);
            }
            break;
        }
        case LLMC_OP_ALIBI:
        case LLMC_OP_POSITIONS_LEARNED:
        case LLMC_OP_POSITIONS_SINUSOIDAL:
        case LLMC_OP_RELATIVE_BIAS:
            break; /* refused above at positional_encoding */
        default: break;
        }
    }
    if (!embed_scaled)
        gguf_refuse(s, d, "embedding_scale", "none: llama.cpp's %s multiplies the embeddings by sqrt(n_embd); nearest "
                                        "supported: embedding_scale: sqrt_hidden", an);
    if (g2 && (!capped || out->final_softcap <= 0))
        gguf_refuse(s, d, "final_logit_softcap", "none: llama.cpp's gemma2 always soft-caps the logits; nearest supported: "
                                            "final_logit_softcap: 30.0");
    if (g2) {
        /* the window pattern: the spec's, or every layer / no layer windowed */
        int64_t n_swa = 0;
        for (int64_t i = 0; i < L; i++) n_swa += is_swa[i];
        out->swa_pattern = s->sliding_window_pattern > 0 ? (uint32_t)s->sliding_window_pattern : n_swa == L ? 0 : 1;
        for (int64_t i = 0; i < L; i++)
            if (is_swa[i] != windowed(out->swa_pattern, i)) {
                gguf_refuse(s, d, "sliding_window_pattern",
                       "layer %lld is %s in the IR but %s by llama.cpp's rule (il %% %u < %u); nearest supported: "
                       "sliding_window_pattern N, layer i global when (i + 1) %% N == 0",
                       (long long)i, is_swa[i] ? "windowed" : "global", is_swa[i] ? "global" : "windowed",
                       out->swa_pattern, out->swa_pattern ? out->swa_pattern - 1 : 0);
                break;
            }
        if (out->window == 0) out->window = s->context_length; /* no windowed layer: the window never binds */
    }
    free(is_swa);
    return llmc_diags_errors(d) > errs0 ? -1 : 0;
}
