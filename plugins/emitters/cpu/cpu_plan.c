/* cpu_plan.c — which tensors model.bin holds, where, and in which element type.
 *
 * Every IR parameter becomes one record: its role (slot) is read from its canonical name (LLaMA
 * names for decoder_only, T5 names for encoder_decoder, docs/templates.md), so the runtime can
 * check it against the shapes it was compiled for. A parameter whose name maps to no slot is an
 * error (a template this emitter does not know yet), never silently dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"

const char *cpu_dtype_name(uint32_t dtype) {
    switch (dtype) {
    case WT_F32: return "f32";
    case WT_F16: return "f16";
    case WT_BF16: return "bf16";
    case WT_Q8_0: return "q8_0";
    case WT_Q4_0: return "q4_0";
    default: return "?";
    }
}

int cpu_check_spec(const llmc_spec *s, llmc_diags *d) {
    int rc = 0;
    if (s->quantize != LLMC_QUANT_NONE && s->quantize != LLMC_QUANT_Q8_0 && s->quantize != LLMC_QUANT_Q4_0) {
        /* the runtime's kernels read Q8_0 and Q4_0 blocks; K-quant kernels are not written yet */
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "quantize"), "quantize",
                      "the cpu runtime computes with q8_0 or q4_0 weights, not %s (use quantize: q8_0 or q4_0 for "
                      "emitter cpu; the gguf emitter writes %s)",
                      llmc_quantize_name(s->quantize), llmc_quantize_name(s->quantize));
        rc = -1;
    }
    /* the runtime holds sizes and ids in int: keep every count well inside it */
    const int64_t lim = (int64_t)1 << 30;
    if (s->vocab_size > lim) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "vocab_size"), "vocab_size",
                      "must be <= %lld for emitter cpu (got %lld)", (long long)lim, (long long)s->vocab_size);
        rc = -1;
    }
    if (s->context_length > lim) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "context_length"), "context_length",
                      "must be <= %lld for emitter cpu (got %lld)", (long long)lim, (long long)s->context_length);
        rc = -1;
    }
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        if (!llmc_dims_has(&s->dims, (llmc_dim_id)i) || s->dims.v[i] <= lim) continue;
        char key[64];
        snprintf(key, sizeof key, "dims.%s", llmc_dim_name((llmc_dim_id)i));
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, key), key, "must be <= %lld for emitter cpu (got %lld)",
                      (long long)lim, (long long)s->dims.v[i]);
        rc = -1;
    }
    return rc;
}

/* ---- names -> slots ------------------------------------------------------------------------------ */
typedef struct name_slot {
    const char *suffix;
    uint32_t slot;
} name_slot;

static const name_slot llama_layer[] = {
    {"input_layernorm.weight", SLOT_ATTN_NORM_W}, {"input_layernorm.bias", SLOT_ATTN_NORM_B},
    {"self_attn.q_proj.weight", SLOT_Q_W},        {"self_attn.q_proj.bias", SLOT_Q_B},
    {"self_attn.k_proj.weight", SLOT_K_W},        {"self_attn.k_proj.bias", SLOT_K_B},
    {"self_attn.v_proj.weight", SLOT_V_W},        {"self_attn.v_proj.bias", SLOT_V_B},
    {"self_attn.o_proj.weight", SLOT_O_W},        {"self_attn.o_proj.bias", SLOT_O_B},
    {"post_attention_layernorm.weight", SLOT_MLP_NORM_W}, {"post_attention_layernorm.bias", SLOT_MLP_NORM_B},
    {"mlp.gate_proj.weight", SLOT_GATE_W},        {"mlp.gate_proj.bias", SLOT_GATE_B},
    {"mlp.up_proj.weight", SLOT_UP_W},            {"mlp.up_proj.bias", SLOT_UP_B},
    {"mlp.down_proj.weight", SLOT_DOWN_W},        {"mlp.down_proj.bias", SLOT_DOWN_B},
};

/* T5 block: layer.0 self-attention, (decoder) layer.1 cross-attention, then the feed-forward */
static const name_slot t5_attn[] = {
    {"layer.0.layer_norm.weight", SLOT_ATTN_NORM_W}, {"layer.0.layer_norm.bias", SLOT_ATTN_NORM_B},
    {"layer.0.SelfAttention.q.weight", SLOT_Q_W},    {"layer.0.SelfAttention.q.bias", SLOT_Q_B},
    {"layer.0.SelfAttention.k.weight", SLOT_K_W},    {"layer.0.SelfAttention.k.bias", SLOT_K_B},
    {"layer.0.SelfAttention.v.weight", SLOT_V_W},    {"layer.0.SelfAttention.v.bias", SLOT_V_B},
    {"layer.0.SelfAttention.o.weight", SLOT_O_W},    {"layer.0.SelfAttention.o.bias", SLOT_O_B},
};
static const name_slot t5_cross[] = {
    {"layer.1.layer_norm.weight", SLOT_CROSS_NORM_W}, {"layer.1.layer_norm.bias", SLOT_CROSS_NORM_B},
    {"layer.1.EncDecAttention.q.weight", SLOT_CQ_W},  {"layer.1.EncDecAttention.q.bias", SLOT_CQ_B},
    {"layer.1.EncDecAttention.k.weight", SLOT_CK_W},  {"layer.1.EncDecAttention.k.bias", SLOT_CK_B},
    {"layer.1.EncDecAttention.v.weight", SLOT_CV_W},  {"layer.1.EncDecAttention.v.bias", SLOT_CV_B},
    {"layer.1.EncDecAttention.o.weight", SLOT_CO_W},  {"layer.1.EncDecAttention.o.bias", SLOT_CO_B},
};
static const name_slot t5_ffn[] = {   /* after "layer.<j>." */
    {"layer_norm.weight", SLOT_MLP_NORM_W},        {"layer_norm.bias", SLOT_MLP_NORM_B},
    {"DenseReluDense.wi.weight", SLOT_UP_W},       {"DenseReluDense.wi.bias", SLOT_UP_B},
    {"DenseReluDense.wi_0.weight", SLOT_GATE_W},   {"DenseReluDense.wi_0.bias", SLOT_GATE_B},
    {"DenseReluDense.wi_1.weight", SLOT_UP_W},     {"DenseReluDense.wi_1.bias", SLOT_UP_B},
    {"DenseReluDense.wo.weight", SLOT_DOWN_W},     {"DenseReluDense.wo.bias", SLOT_DOWN_B},
};

static bool find(const name_slot *t, size_t n, const char *s, uint32_t *slot) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].suffix, s)) {
            *slot = t[i].slot;
            return true;
        }
    return false;
}
#define FIND(table, s, slot) find(table, sizeof table / sizeof table[0], s, slot)

/* "<prefix><int>.<rest>" -> layer and rest */
static bool layer_name(const char *name, const char *prefix, int32_t *layer, const char **rest) {
    const size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0) return false;
    const char *p = name + n;
    if (*p < '0' || *p > '9') return false;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v < 1000000) v = v * 10 + (*p++ - '0');
    if (*p != '.') return false;
    *layer = (int32_t)v;
    *rest = p + 1;
    return true;
}

static bool map_name(const char *name, bool encdec, cpu_tensor *t) {
    t->layer = -1;
    t->stack = STACK_GLOBAL;
    const char *rest;
    if (!encdec) {
        if (!strcmp(name, "model.embed_tokens.weight")) return t->slot = SLOT_EMBED, true;
        if (!strcmp(name, "lm_head.weight")) return t->slot = SLOT_HEAD_W, true;
        if (!strcmp(name, "lm_head.bias")) return t->slot = SLOT_HEAD_B, true;
        t->stack = STACK_DECODER;
        if (!strcmp(name, "model.embed_positions.weight")) return t->slot = SLOT_POS, true;
        if (!strcmp(name, "model.norm.weight")) return t->slot = SLOT_FINAL_NORM_W, true;
        if (!strcmp(name, "model.norm.bias")) return t->slot = SLOT_FINAL_NORM_B, true;
        return layer_name(name, "model.layers.", &t->layer, &rest) && FIND(llama_layer, rest, &t->slot);
    }
    if (!strcmp(name, "shared.weight")) return t->slot = SLOT_EMBED, true;
    if (!strcmp(name, "lm_head.weight")) return t->slot = SLOT_HEAD_W, true;
    if (!strcmp(name, "lm_head.bias")) return t->slot = SLOT_HEAD_B, true;
    for (int s = 0; s < 2; s++) {
        const char *stack = s ? "decoder" : "encoder";
        const size_t n = strlen(stack);
        if (strncmp(name, stack, n) != 0 || name[n] != '.') continue;
        t->stack = s ? STACK_DECODER : STACK_ENCODER;
        const char *r = name + n + 1;
        if (!strcmp(r, "embed_positions.weight")) return t->slot = SLOT_POS, true;
        if (!strcmp(r, "final_layer_norm.weight")) return t->slot = SLOT_FINAL_NORM_W, true;
        if (!strcmp(r, "final_layer_norm.bias")) return t->slot = SLOT_FINAL_NORM_B, true;
        char bprefix[32];
        snprintf(bprefix, sizeof bprefix, "%s.block.", stack);
        if (!layer_name(name, bprefix, &t->layer, &rest)) return false;
        if (!strcmp(rest, "layer.0.SelfAttention.relative_attention_bias.weight")) {
            if (t->layer != 0) return false;
            t->layer = -1;   /* one table per stack, kept in block 0 */
            return t->slot = SLOT_REL_BIAS, true;
        }
        if (FIND(t5_attn, rest, &t->slot)) return true;
        if (s == 1 && FIND(t5_cross, rest, &t->slot)) return true;
        const char *ffn = s ? "layer.2." : "layer.1.";
        return strncmp(rest, ffn, 8) == 0 && FIND(t5_ffn, rest + 8, &t->slot);
    }
    return false;
}

static bool is_matrix_slot(uint32_t slot) {
    switch (slot) {
    case SLOT_EMBED: case SLOT_HEAD_W:
    case SLOT_Q_W: case SLOT_K_W: case SLOT_V_W: case SLOT_O_W:
    case SLOT_CQ_W: case SLOT_CK_W: case SLOT_CV_W: case SLOT_CO_W:
    case SLOT_GATE_W: case SLOT_UP_W: case SLOT_DOWN_W:
        return true;
    default:
        return false;
    }
}

static uint32_t float_type(llmc_precision p) {
    return p == LLMC_PRECISION_FLOAT16 ? WT_F16 : p == LLMC_PRECISION_BFLOAT16 ? WT_BF16 : WT_F32;
}

static uint64_t align_up(uint64_t v) { return (v + LLMC_ALIGN - 1) / LLMC_ALIGN * LLMC_ALIGN; }

int cpu_plan_build(const llmc_spec *s, const llmc_dims *dims, const llmc_ir *ir, cpu_plan *p, llmc_diags *d) {
    (void)dims;
    memset(p, 0, sizeof *p);
    p->encdec = llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER;
    p->matrix_dtype = s->quantize == LLMC_QUANT_Q8_0   ? WT_Q8_0
                      : s->quantize == LLMC_QUANT_Q4_0 ? WT_Q4_0
                                                       : float_type(s->precision);
    const bool tied = s->tie_word_embeddings;
    /* the attention scale, the window and the T5 output scale as the IR states them */
    llmc_ir_facts facts;
    if (llmc_ir_read_facts(ir, &facts, d)) return -1;
    p->attn_scale = facts.attention_scale;
    p->sliding_window = facts.sliding_window;
    p->output_scaled = facts.has_output_scale;
    p->output_scale = facts.output_scale;

    size_t n_params = 0;
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++)
        if (llmc_ir_tensor(ir, (llmc_tid)i)->kind == LLMC_TENSOR_PARAM) n_params++;
    p->t = calloc(n_params ? n_params : 1, sizeof *p->t);
    if (!p->t) {
        llmc_error(d, "cpu", "out of memory planning %zu tensors", n_params);
        return -1;
    }
    uint64_t off = align_up(sizeof(llmc_file_header) + (uint64_t)n_params * sizeof(llmc_tensor_record));
    p->header_bytes = off;
    for (size_t i = 0; i < llmc_ir_num_tensors(ir); i++) {
        const llmc_tensor_info *ti = llmc_ir_tensor(ir, (llmc_tid)i);
        if (ti->kind != LLMC_TENSOR_PARAM) continue;
        cpu_tensor *t = &p->t[p->n++];
        t->tid = (llmc_tid)i;
        t->name = ti->name;
        t->read_dtype = ti->dtype;
        if (strlen(ti->name) >= LLMC_NAME_BYTES) {
            llmc_error(d, "cpu", "parameter name '%s' is longer than %d bytes", ti->name, LLMC_NAME_BYTES - 1);
            return -1;
        }
        if (!map_name(ti->name, p->encdec, t)) {
            llmc_error(d, "cpu", "parameter '%s' has no place in the CPU runtime (template %s); emitter cpu knows "
                       "the decoder_only and encoder_decoder parameter names", ti->name, s->template_name);
            return -1;
        }
        if (ti->rank == 2) {
            t->rows = (uint64_t)ti->shape[0];
            t->cols = (uint64_t)ti->shape[1];
        } else if (ti->rank == 1) {
            t->rows = (uint64_t)ti->shape[0];
            t->cols = 1;
        } else {
            llmc_error(d, "cpu", "parameter '%s' has rank %d (expected 1 or 2)", ti->name, ti->rank);
            return -1;
        }
        if (ti->dtype != LLMC_DTYPE_F32 && ti->dtype != LLMC_DTYPE_F16 && ti->dtype != LLMC_DTYPE_BF16) {
            llmc_error(d, "cpu", "parameter '%s' has dtype %s (expected f32, f16 or bf16)", ti->name,
                       llmc_dtype_name(ti->dtype));
            return -1;
        }
        if (is_matrix_slot(t->slot)) {
            t->kind = CPU_MATRIX;
            t->dtype = p->matrix_dtype;
            /* Q4_0 keeps the head at Q8_0 (as llama-quantize keeps output.weight at a higher type) */
            if (t->dtype == WT_Q4_0 && (t->slot == SLOT_HEAD_W || (tied && t->slot == SLOT_EMBED))) t->dtype = WT_Q8_0;
            /* quantized rows must be whole blocks */
            if ((t->dtype == WT_Q8_0 || t->dtype == WT_Q4_0) && t->cols % LLMC_QBLOCK != 0) t->dtype = float_type(s->precision);
            t->panel_bytes = llmc_panel_bytes(t->dtype, t->cols);
            t->nbytes = (t->rows + LLMC_PANEL - 1) / LLMC_PANEL * t->panel_bytes;
        } else if (t->slot == SLOT_POS) {
            t->kind = CPU_TABLE;
            t->dtype = float_type(s->precision);
            t->nbytes = t->rows * t->cols * (t->dtype == WT_F32 ? 4 : 2);
        } else {
            t->kind = t->slot == SLOT_REL_BIAS ? CPU_TABLE : CPU_VECTOR;
            t->dtype = WT_F32;
            t->nbytes = t->rows * t->cols * 4;
        }
        t->offset = off;
        off = align_up(off + t->nbytes);
    }
    p->file_bytes = off;
    return 0;
}

void cpu_plan_free(cpu_plan *p) {
    free(p->t);
    memset(p, 0, sizeof *p);
}
