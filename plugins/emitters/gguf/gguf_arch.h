/* The mapping from llmc's IR to llama.cpp architectures (docs/gguf.md has the table).
 *
 *   decoder_only, rope, rmsnorm, swiglu                 -> llama  (Q/K rows permuted to pairs)
 *   ... with bias.qkv or bias.lm_head                   -> qwen2  (rotate-half RoPE, no permute)
 *   ... with per-head q/k norms (QK-norm), no biases     -> qwen3  (rotate-half RoPE, attn_{q,k}_norm)
 *   ... with sparse experts                              -> llama  (Mixtral: ffn_gate_inp, ffn_*_exps)
 *   ... with sparse experts and a shared expert          -> qwen2moe (+ ffn_*_shexp, ffn_gate_inp_shexp)
 *   decoder_only, learned positions, layernorm, gelu_tanh -> gpt2 (fused attn_qkv)
 *   encoder_decoder, relative buckets, rmsnorm, relu/geglu -> t5
 *   ... pre-norm, geglu (tanh), embeddings times sqrt(H), tied head    -> gemma (Gemma-1; gguf_gemma.c)
 *   ... sequential sandwich blocks (Gemma-2's options)                 -> gemma2 (gguf_gemma.c)
 *   parallel residual, rope (neox style, any rotary share), layernorm, gelu_tanh -> gptneox
 *   ... with an output bias (GPT-J's lm_head.bias)           -> phi2 (one norm per block)
 *
 * Block structure comes from the IR's block descriptors, and the tensor plan reads parameters by
 * role (llmc_ir_find_param), never by name, so a template llmc has never seen maps too. A
 * post-norm block, or a sandwich one outside gemma2, has no llama.cpp decoder architecture: it is
 * refused naming the block and its norm op.
 *
 * Anything else is refused at validation time with the feature and the nearest supported
 * combination: a file llama.cpp loads but computes differently from our model is never written.
 * Selection is gguf_arch.c, the tensor plan gguf_plan.c, the metadata gguf_meta.c. */
#ifndef LLMC_GGUF_ARCH_H
#define LLMC_GGUF_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf_format.h"
#include "llmc/llmc.h"
#include "llmc/weights.h"

typedef enum gguf_arch { GA_NONE = -1, GA_LLAMA = 0, GA_QWEN2, GA_GPT2, GA_T5, GA_GPTNEOX, GA_PHI2, GA_QWEN3, GA_GEMMA2,
                         GA_QWEN2MOE, GA_GEMMA, GA_COUNT } gguf_arch;
const char *gguf_arch_name(gguf_arch a);

/* Validate the emitter's options (emit_options.gguf) and pick the architecture, reporting at its
 * key every feature the architecture cannot express. dims may be partial (validation time: only
 * what the spec pins is checked) or complete (emit time). Returns the arch, or GA_NONE. */
gguf_arch gguf_arch_select(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, llmc_diags *d);

/* The dims the tensor plan needs, read off the IR (blocks, the first attention op's q/k shapes,
 * parameter shapes) over the spec's pins: at validation time the check callback builds the
 * whole plan from them, so a graph whose parameters do not fill the arch is refused before
 * anything is written. */
void gguf_ir_dims(const llmc_spec *s, const llmc_ir *ir, llmc_dims *out);
/* rotated dims per head of the graph's first ROPE op (0 without one) */
int64_t gguf_ir_rope_dims(const llmc_ir *ir);

typedef enum gguf_src {
    GS_PARAMS = 0,   /* a view over IR parameters (concat along dim 0, optional RoPE permute) */
    GS_ZEROS,        /* a bias the architecture requires and the model does not have */
    GS_ROPE_FREQS    /* llama3 frequency factors, computed from the spec */
} gguf_src;

typedef struct gguf_plan_tensor {
    char name[GGUF_NAME_MAX + 1];
    gguf_ttype type;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];   /* ggml order */
    gguf_src src;
    llmc_tensor_view view;        /* GS_PARAMS; the view's shape is row-major [ne[1], ne[0]] */
    llmc_dtype read_dtype;        /* GS_PARAMS: the IR parameters' dtype (values are read in it) */
    float scale;                  /* GS_PARAMS: multiply by this (1 except T5's tied head) */
    float offset;                 /* GS_PARAMS: then add this (0 except gemma/gemma2's (1 + w) norms) */
    bool quantizable;             /* a matrix that quantize may store in a block type */
} gguf_plan_tensor;

typedef struct gguf_plan {
    gguf_arch arch;
    gguf_plan_tensor *t;
    size_t n, cap;
    float *rope_freqs;            /* GS_ROPE_FREQS data (head_dim / 2 values) */
    int64_t rope_dims;            /* rotated dims per head (the ROPE ops' fraction * head_dim) */
    bool parallel_residual;       /* gptneox: use_parallel_residual */
    uint32_t file_type;           /* general.file_type (llama_ftype) */
    /* sparse experts (0 without): experts per layer, experts per token, one expert's width */
    int64_t experts, experts_used, expert_ff;
    int64_t shared_ff;            /* qwen2moe: the shared expert's width */
    struct gguf_gemma_facts {     /* gemma and gemma2 only (gguf_gemma.c) */
        double attn_softcap, final_softcap; /* gemma2 */
        int64_t window;           /* gemma2: attention.sliding_window */
        uint32_t swa_pattern;     /* gemma2: layer il windowed when il % N < N - 1 (0: all, 1: none) */
        float norm_offset;        /* added to every norm weight written (HF Gemma scales by 1 + w) */
    } gemma;
} gguf_plan;

typedef struct gguf_gemma_facts gguf_gemma_facts;
/* Decoder-only graphs whose blocks are all sequential with the norm placement of arch a (GA_GEMMA:
 * pre-norm, GA_GEMMA2: sandwich; llama.cpp's gemma2 is the one decoder with sandwich blocks). */
bool gguf_gemma_graph(const llmc_ir *ir, gguf_arch a);
/* A graph with any of Gemma's marks (a GeGLU MLP, a scaled embedding, a (1 + w) RMSNorm): auto
 * selection sends a pre-norm one to arch gemma, whose reader then refuses what llama.cpp's gemma
 * would compute differently. */
bool gguf_gemma_like(const llmc_ir *ir);
/* What llama.cpp's gemma (a == GA_GEMMA) or gemma2 (GA_GEMMA2) computes, checked against the IR op by
 * op (refusals at the spec key with the nearest supported value); fills out. 0, or -1 after reporting. */
int gguf_gemma_read(const llmc_spec *s, const llmc_ir *ir, const llmc_dims *dims, gguf_arch a, gguf_gemma_facts *out,
                    llmc_diags *d);

/* Every tensor of the file, in file order, each IR parameter used exactly once (gguf_plan.c). */
int gguf_plan_build(const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir, gguf_arch a, gguf_plan *out,
                    llmc_diags *d);
void gguf_plan_free(gguf_plan *p);

/* K-quant file types (gguf_kquant.c): give each quantizable tensor of a plan its block type and the
 * plan its llama_ftype, or refuse (at `quantize`) a model llama.cpp's mix would store in a block type
 * llmc does not write. Does nothing unless the spec's quantize is a K-quant. */
/* An error located at the spec's `key`: the arch readers' refusals (gguf_arch.c, gguf_gemma.c) */
void gguf_refuse(const llmc_spec *s, llmc_diags *d, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
int gguf_plan_kquant(const llmc_spec *s, const llmc_ir *ir, gguf_plan *p, llmc_diags *d);

/* general.* and llmc.* (provenance) keys (gguf_meta.c). */
int gguf_general_metadata(const llmc_emit_ctx *ctx, const gguf_plan *p, gguf_meta *m, llmc_diags *d);

/* The architecture's hyperparameter keys, typed as llama.cpp reads them (gguf_meta.c). */
int gguf_arch_metadata(const llmc_spec *s, const llmc_dims *dims, const gguf_plan *p,
                       const llmc_special_tokens *tokens, gguf_meta *m, llmc_diags *d);

/* tokenizer.ggml.*: "no_vocab" without a tokenizer, else the model's tokenizer in the llama.cpp
 * tokenizer model that runs it (gguf_vocab.c; docs/gguf.md "Vocabulary"). */
int gguf_vocab_metadata(const llmc_emit_ctx *ctx, const llmc_special_tokens *tokens, gguf_meta *m,
                        llmc_diags *d);

#endif
