/* pytorch emitter — writes OUT/pytorch/<package>/ (a readable, trainable PyTorch package of
 * the model) and OUT/pytorch/train.py.
 *
 * The Python code comes from the templates in py/, rendered with the features this spec uses
 * (pt_text.h): a llama-style spec gets RMSNorm, rotary embeddings and SwiGLU and nothing
 * else. Parameter names are those of the Hugging Face layout llmc_layout_hf() gives the
 * safetensors emitter; before writing anything, the emitter rebuilds the list of parameters
 * the generated modules will have (pt_expected_params) and checks it against that layout name
 * by name and shape, and its total against llmc's count, so the package and the weights file
 * cannot disagree.
 *
 * Those module trees are the built-in templates' (sequential pre-norm blocks, llama-style or
 * T5-style names). Any other decoder-only graph -- parallel residuals, post or sandwich norms,
 * a third-party template's names -- gets the generic decoder (pt_graph.c): one Block class
 * driven by each block's descriptor, parameters found by role and kept under their IR names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/llmc.h"
#include "llmc/weights.h"
#include "pt_emit.h"
#include "pt_text.h"

/* ---- facts about the model the templates need ---------------------------------------------- */

/* Python identifier from the spec name: lower-case letters, digits and '_'; never a keyword
 * or the name of a module the package or train.py imports. */
static void package_name(const char *name, char *out, size_t n) {
    static const char *const reserved[] = {
        "false", "none", "true", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
        "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
        "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case",
        "torch", "numpy", "math", "json", "os", "sys", "struct", "time", "typing", "dataclasses", "fnmatch",
        "argparse", "train", "test", "tests", "setuptools", "configuration", "modeling", "generation",
        "safetensors", "safetensors_io"};
    size_t k = 0;
    bool last_us = true; /* collapse runs of '_' and drop leading ones */
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 1 < n; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[k++] = (char)c;
            last_us = false;
        } else if (!last_us) {
            out[k++] = '_';
            last_us = true;
        }
    }
    while (k > 0 && out[k - 1] == '_') k--;
    out[k] = '\0';
    if (k > 48) out[k = 48] = '\0';
    if (k == 0) snprintf(out, n, "model");
    if (out[0] >= '0' && out[0] <= '9') { /* identifiers cannot start with a digit */
        size_t len = strlen(out);
        if (len + 7 <= n) {
            memmove(out + 6, out, len + 1);
            memcpy(out, "model_", 6);
        }
    }
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcmp(out, reserved[i])) {
            size_t len = strlen(out);
            snprintf(out + len, n - len, "_model");
            break;
        }
}

/* The mixture as the IR has it: every layer's route and expert stacks alike (one config for all). */
static int moe_facts(const llmc_ir *ir, pt_model *m, llmc_diags *d) {
    int routes = 0;
    for (size_t i = 0; i < llmc_ir_num_ops(ir); i++) {
        const llmc_op_info *op = llmc_ir_op_at(ir, i);
        if (op->type != LLMC_OP_MOE_ROUTE) continue;
        const llmc_tensor_info *lg = llmc_ir_tensor(ir, op->inputs[0]);
        int64_t E = lg->shape[lg->rank - 1], k = llmc_op_attr(op, "experts_per_token")->i;
        const char *r = llmc_op_attr(op, "routing")->s;
        bool nz = llmc_op_attr(op, "normalize")->i != 0;
        llmc_tid g = llmc_ir_find_param(ir, LLMC_ROLE_EXPERT_GATE, false, op->stack, op->layer, LLMC_NORM_SITE_NONE);
        int64_t I = g != LLMC_TID_NONE ? llmc_ir_tensor(ir, g)->shape[1] : 0;
        llmc_tid sg = llmc_ir_find_param(ir, LLMC_ROLE_SHARED_EXPERT_GATE, false, op->stack, op->layer,
                                         LLMC_NORM_SITE_NONE);
        int64_t Is = sg != LLMC_TID_NONE ? llmc_ir_tensor(ir, sg)->shape[0] : 0;
        if (routes++ == 0) {
            m->experts = E;
            m->experts_per_token = k;
            m->expert_I = I;
            m->shared_I = Is;
            snprintf(m->moe_routing, sizeof m->moe_routing, "%s", r);
            m->moe_normalize = nz;
        } else if (E != m->experts || k != m->experts_per_token || I != m->expert_I || Is != m->shared_I ||
                   strcmp(r, m->moe_routing) ||
                   nz != m->moe_normalize) {
            llmc_error(d, "moe", "pytorch: op '%s' routes differently from the first layer's (the package has one "
                       "mixture configuration for every layer)", op->name);
            return -1;
        }
    }
    if (routes != (int)m->L || m->expert_I < 1) {
        llmc_error(d, "moe", "pytorch: the package computes a mixture of experts in every layer (got %d routed layers "
                   "of %lld)", routes, (long long)m->L);
        return -1;
    }
    return 0;
}

static int model_facts(const llmc_emit_ctx *ctx, const llmc_layout *layout, pt_model *m, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    const llmc_dims *dm = ctx->dims;
    memset(m, 0, sizeof *m);
    m->spec = s;
    m->tokens = llmc_emit_special_tokens(ctx);
    m->encdec = llmc_ir_get_structure(ctx->ir) == LLMC_STRUCTURE_ENCODER_DECODER;
    m->generic = !pt_builtin_graph(ctx->ir);
    snprintf(m->family, sizeof m->family, "%s", layout->family);
    snprintf(m->hf_architecture, sizeof m->hf_architecture, "%s", layout->hf_architecture);
    m->gpt2 = !strcmp(layout->family, "gpt2");
    m->qk_norm = llmc_ir_find_param(ctx->ir, LLMC_ROLE_NORM, false, LLMC_STACK_DECODER, 0, LLMC_NORM_SITE_ATTN_Q) !=
                 LLMC_TID_NONE;
    m->V = s->vocab_size;
    m->ctx = s->context_length;
    m->H = dm->v[LLMC_DIM_HIDDEN_SIZE];
    m->I = dm->v[LLMC_DIM_INTERMEDIATE_SIZE];
    m->n = dm->v[LLMC_DIM_NUM_HEADS];
    m->m = dm->v[LLMC_DIM_NUM_KV_HEADS];
    m->d = dm->v[LLMC_DIM_HEAD_DIM];
    if (m->encdec) {
        m->Le = dm->v[LLMC_DIM_NUM_ENCODER_LAYERS];
        m->Ld = dm->v[LLMC_DIM_NUM_DECODER_LAYERS];
    } else {
        m->L = dm->v[LLMC_DIM_NUM_LAYERS];
    }
    m->moe = llmc_ir_has_moe(ctx->ir);
    if (m->moe && moe_facts(ctx->ir, m, d)) return -1;
    llmc_ir_facts facts;
    if (llmc_ir_read_facts(ctx->ir, &facts, d)) return -1;
    m->attention_scale = facts.attention_scale;
    m->has_output_scale = facts.has_output_scale;
    m->output_scale = facts.output_scale;
    if (m->has_output_scale && !m->encdec) {
        llmc_error(d, "emit", "pytorch: the IR scales the final hidden state by %g before the head; the "
                   "decoder-only package has no such step", m->output_scale);
        return -1;
    }
    if (s->positional == LLMC_POS_ROPE && s->rope.scaling == LLMC_ROPE_SCALING_DYNAMIC && m->d <= 2) {
        llmc_error(d, "rope.scaling.type", "pytorch: dynamic rope scaling needs head_dim > 2 (its base grows "
                   "with the power head_dim / (head_dim - 2)); got head_dim %lld", (long long)m->d);
        return -1;
    }
    package_name(s->name, m->package, sizeof m->package);
    return 0;
}

/* ---- the emitter ------------------------------------------------------------------------------- */

/* Validation-time check. The templates already refuse the combinations the built-in modules
 * cannot express (decoder_only + relative, encoder_decoder + alibi or sliding window);
 * repeating those here would report each problem twice. Any other graph must be one the generic
 * decoder computes. */
static int pytorch_check(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    if (llmc_ir_has_moe(ir) && (!pt_builtin_graph(ir) || llmc_ir_get_structure(ir) != LLMC_STRUCTURE_DECODER_ONLY)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "moe"), "moe",
                      "pytorch: sparse experts are computed in the built-in decoder (sequential pre-norm blocks, "
                      "llama-style names) only");
        return 1;
    }
    if (pt_builtin_graph(ir)) return 0;
    return pt_graph_tables(s, ir, NULL, NULL, NULL, NULL, d) ? 1 : 0;
}

/* The generic decoder's state_dict holds the IR's names: the weights file must store exactly
 * those, unchanged, and the attention ops must have the config's head layout. */
static int generic_check(const llmc_emit_ctx *ctx, const pt_model *m, const llmc_layout *layout, llmc_diags *d) {
    size_t params = 0;
    for (size_t i = 0; i < llmc_ir_num_tensors(ctx->ir); i++)
        if (llmc_ir_tensor(ctx->ir, (llmc_tid)i)->kind == LLMC_TENSOR_PARAM) params++;
    int bad = params != layout->n_views;
    for (size_t i = 0; !bad && i < layout->n_views; i++) {
        const llmc_tensor_view *v = &layout->views[i];
        const llmc_tensor_info *t = v->n_parts == 1 ? llmc_ir_tensor(ctx->ir, v->parts[0]) : NULL;
        bad = !t || v->transform != LLMC_VIEW_IDENTITY || strcmp(t->name, v->name);
    }
    if (bad) {
        llmc_error(d, "emit", "pytorch: the %s weight layout renames or fuses parameters; the generic package "
                   "holds them under their IR names", layout->family);
        return -1;
    }
    int64_t n = 0, kv = 0, hd = 0;
    if (pt_graph_tables(m->spec, ctx->ir, NULL, &n, &kv, &hd, d)) return -1;
    if (n != m->n || kv != m->m || hd != m->d) {
        llmc_error(d, "emit", "pytorch: the attention ops have %lld heads, %lld kv heads of %lld; the dims say "
                   "%lld, %lld of %lld", (long long)n, (long long)kv, (long long)hd, (long long)m->n,
                   (long long)m->m, (long long)m->d);
        return -1;
    }
    return 0;
}

/* Features the templates of the generated package do not have. The template plugins refuse
 * them first; this guards against a template that starts accepting them. */
static int unsupported(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    bool encdec = llmc_ir_get_structure(ir) == LLMC_STRUCTURE_ENCODER_DECODER;
    const char *what = NULL;
    if (!encdec && s->positional == LLMC_POS_RELATIVE) what = "decoder-only relative position bias";
    else if (encdec && s->positional == LLMC_POS_ALIBI) what = "encoder-decoder ALiBi";
    else if (encdec && s->attention == LLMC_ATTN_SLIDING_WINDOW) what = "encoder-decoder sliding-window attention";
    if (!what) return 0;
    llmc_error(d, "emit", "pytorch: the generated package has no %s", what);
    return 1;
}

/* emit, or (verify, for llmc validate) render every file again and compare it with OUT's */
static int package(const llmc_emit_ctx *ctx, bool verify, llmc_diags *d) {
    if (pytorch_check(ctx->spec, ctx->ir, d) || unsupported(ctx->spec, ctx->ir, d)) return -1;
    const llmc_layout *layout = ctx->hf_layout;   /* computed once by core */
    size_t before = llmc_diags_errors(d);
    pt_model m;
    int rc = model_facts(ctx, layout, &m, d);
    if (!rc && !m.generic) {
        /* A graph in the built-in shape whose parameters the built-in modules do not hold (a
         * third-party template with some llama-style names) gets the generic decoder, when its
         * weights keep their IR names. Otherwise a difference is an emitter bug: report it. */
        llmc_diags *mismatch = llmc_diags_create();
        if (!mismatch) {
            llmc_error(d, "emit", "pytorch: out of memory");
            return -1;
        }
        rc = pt_check_params(&m, layout, ctx->ir, ctx->count, mismatch);
        if (rc && !m.encdec && !m.hf_architecture[0]) {
            m.generic = true;
            rc = 0;
        } else {
            llmc_diags_take(d, mismatch);
        }
        llmc_diags_free(mismatch);
    }
    if (!rc && m.generic) rc = generic_check(ctx, &m, layout, d);
    if (!rc) rc = pt_write_package(ctx, &m, layout, verify, d);
    return rc || llmc_diags_errors(d) > before ? -1 : 0;
}

static int pytorch_emit(const llmc_emit_ctx *ctx, llmc_diags *d) { return package(ctx, false, d); }
static int pytorch_verify(const llmc_emit_ctx *ctx, llmc_diags *d) { return package(ctx, true, d); }

static const llmc_emitter_vtable pytorch_vt = {sizeof pytorch_vt, pytorch_check, pytorch_emit, pytorch_verify};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, "pytorch", "1.0.0",
     "PyTorch package (readable nn.Module code, safetensors loader, KV-cache generation) and train.py",
     &pytorch_vt},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
