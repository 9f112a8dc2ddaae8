/* The cpu emitter: a C program specialised to one model (docs/cpu.md).
 *
 *   cpu_plan.c    the IR -> what the model computes (block wiring, norms, positions, biases) and the
 *                 tensors of model.bin (slot, stack, layer, element type, offset), by role
 *   cpu_write.c   model.bin: header, records, tensors packed and quantized for the kernels (streamed)
 *   cpu_source.c  model_config.h, README.md and the runtime sources: the templates in rt/ (embedded)
 *                 rendered with this model's features (llmc/render.h: //@if sections), so the
 *                 sources hold only the code paths the model uses
 *   cpu_verify.c  llmc validate: the sources and model.bin's header and records against a rebuild
 *   cpu_emit.c    the plugin: check, emit, verify */
#ifndef LLMC_CPU_EMIT_H
#define LLMC_CPU_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/llmc.h"
#include "llmc/weights.h"
#include "rt/llmc_format.h.in"

/* the embedded runtime files, rt/NAME.in (names such as "model.c"; llmc_embed_files in plugin.cmake) */
extern const llmc_embedded_file cpu_rt_files[];
extern const size_t cpu_rt_files_count;
/* llmc-run's tokenizer, written to cpu/tokenizer/NAME (names such as "tok_json.c", "llmc/diag.h") */
extern const llmc_embedded_file cpu_tok_files[];
extern const size_t cpu_tok_files_count;

typedef enum cpu_kind {
    CPU_MATRIX = 0,   /* 16-row panels, float or Q8_0 */
    CPU_TABLE,        /* row-major, learned positions at the precision, relative bias at f32 */
    CPU_VECTOR        /* f32 */
} cpu_kind;

typedef struct cpu_tensor {
    llmc_tid tid;
    const char *name;        /* the IR name (owned by the IR) */
    uint32_t slot, stack;
    int32_t layer;
    cpu_kind kind;
    uint32_t dtype;          /* WT_* as stored */
    llmc_dtype read_dtype;   /* the IR parameter's dtype: values are read in it */
    uint64_t rows, cols;
    uint64_t panel_bytes;    /* CPU_MATRIX */
    uint64_t offset, nbytes;
    double norm_offset;      /* added to every value as written: the weight_offset of the rmsnorm op the
                              * vector scales (Gemma's 1 + w), so the runtime's norm multiplies by it */
} cpu_tensor;

/* What the model computes, read off the IR (its structure, block descriptors, roles, norm sites and
 * ops), never from the template's name or the parameters' names. */
typedef struct cpu_model {
    bool encdec;             /* LLMC_STRUCTURE_ENCODER_DECODER */
    bool parallel;           /* blocks: x += attn(n) + mlp(n') */
    bool post_norm;          /* blocks: x = norm(x + f(x)) */
    bool sandwich;           /* blocks: x += post_norm(f(norm(x))) (Gemma-2) */
    bool mlp_norm;           /* the MLP has a norm of its own (pre-norm blocks; parallel blocks with two) */
    bool final_norm;         /* a norm after the last block (per stack) */
    bool qk_norm;            /* per-head q and k RMSNorm before RoPE (norm sites attn_q, attn_k) */
    llmc_norm_kind norm;     /* of every norm op (LLMC_NORM_NONE: no norm op) */
    double norm_eps;
    bool norm_bias;
    llmc_activation_kind activation;
    llmc_positional_kind positional;
    llmc_rope_scaling_kind rope_scaling;
    double rope_theta, rope_factor, rope_original_context, rope_low_freq, rope_high_freq, rope_beta_fast,
        rope_beta_slow;
    double rope_fraction;    /* share of HEAD_DIM rotated (first dims, in halves), one for every ROPE op */
    double alibi_max_bias;
    int64_t rel_buckets, rel_max_distance;
    bool bias_qkv, bias_attn_out, bias_mlp, bias_lm_head;
    bool tied;               /* no output head parameter: the head is the token embedding */
    double norm_weight_offset;  /* of the rmsnorm ops (one for all): model.bin holds offset + w */
    double embed_scale;      /* the SCALE op after the embedding (Gemma: sqrt(hidden)), 0 = none */
    double attn_softcap;     /* every attention op's score cap, 0 = none */
    double logit_softcap;    /* the SOFTCAP op after the head, 0 = none */
    /* sparse experts (moe_route / moe_experts ops), one configuration for every layer */
    bool moe, moe_topk_softmax, moe_normalize;
    int64_t experts, experts_used, expert_ff;
    /* Qwen2-MoE's shared expert: a SwiGLU MLP of shared_ff every token goes through, its output times
     * sigmoid(w . x), added to the routed sum (roles shared_expert_gate/up/down/scale) */
    bool shared_expert;
    int64_t shared_ff;
    int64_t shared_scales;   /* sigmoid ops found wired as a shared expert's scale (one per layer) */
} cpu_model;

/* a feature the runtime templates test with //@if (rendered by llmc_render, llmc/render.h) */
typedef llmc_render_flag cpu_flag;
#define CPU_MAX_FLAGS 40

typedef struct cpu_plan {
    cpu_tensor *t;
    size_t n;
    cpu_model m;
    bool encdec;             /* m.encdec */
    double attn_scale;       /* from the IR's attention ops */
    bool output_scaled;      /* T5 with a tied head: the decoder output is scaled before the head */
    double output_scale;
    int64_t sliding_window;  /* 0 = none */
    unsigned char *windowed; /* per decoder layer: 1 when its attention has the window (mixed windows
                              * only, else NULL: every layer alike) */
    int64_t n_windowed;
    uint32_t matrix_dtype;   /* WT_* of the matrices whose rows allow it (K-quant mixes: per tensor) */
    const char *weight_name; /* the matrices' type as users name it: "q8_0", "q4_k_m", "f32", ... */
    uint64_t header_bytes, file_bytes;
    uint64_t config_hash;    /* set by cpu_config_text */
} cpu_plan;

/* Is the spec something this emitter runs? (validation time) */
int cpu_check_spec(const llmc_spec *s, llmc_diags *d);
/* What the IR's model computes, or an error naming what the runtime cannot compute (validation
 * time and emit time) */
int cpu_model_read(const llmc_spec *s, const llmc_ir *ir, cpu_model *m, llmc_diags *d);
/* the //@if features of a model; returns their number (<= CPU_MAX_FLAGS) */
size_t cpu_feature_flags(const cpu_model *m, int64_t sliding_window, bool mixed_windows, bool output_scaled,
                         cpu_flag *flags);
int cpu_plan_build(const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir, cpu_plan *p, llmc_diags *d);
void cpu_plan_free(cpu_plan *p);
const char *cpu_dtype_name(uint32_t dtype);

/* model_config.h text (malloc'd); sets p->config_hash */
char *cpu_config_text(const llmc_emit_ctx *ctx, cpu_plan *p, llmc_diags *d);
/* README.md text (malloc'd) */
char *cpu_readme_text(const llmc_emit_ctx *ctx, const cpu_plan *p, llmc_diags *d);
/* runtime file f with this model's code paths only (malloc'd) */
char *cpu_source_text(const cpu_plan *p, const llmc_embedded_file *f, llmc_diags *d);
/* write the runtime files, the config and the README under cpu/ */
int cpu_write_sources(const llmc_emit_ctx *ctx, cpu_plan *p, llmc_diags *d);
/* write cpu/model.bin */
int cpu_write_model(const llmc_emit_ctx *ctx, const cpu_plan *p, llmc_diags *d);
/* model.bin's header, records and padding up to the data (p->header_bytes bytes) */
int cpu_write_header(const llmc_emit_ctx *ctx, const cpu_plan *p, FILE *f, llmc_diags *d);
/* verify (llmc validate): sources and model.bin's header and record table against a rebuild */
int cpu_verify(const llmc_emit_ctx *ctx, llmc_diags *d);

#endif
