/* llmc import: config.json -> spec (see import_hf.h).
 *
 * Each family reads its keys through take_*(), which mark the key as consumed; what is left at the
 * end is either on the family's or the common ignore list (reported in one warning) or unknown
 * (reported in another). Defaults are those of the family's transformers configuration class, so
 * a config.json that omits a key means what it means to transformers. */
#include "import_hf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "llmc/strbuf.h"
#include "pipeline.h"
#include "util.h"

#define MAX_CONFIG_BYTES ((size_t)4 << 20)

/* the spec being built; 0 / NULL = not written (the spec's default applies) */
typedef struct spec_out {
    const char *template_name;
    int64_t vocab, context;
    int64_t layers, enc_layers, dec_layers, hidden, inter, heads, kv_heads, head_dim;
    const char *attention;
    int64_t window;
    const char *norm, *activation, *positional, *precision, *init;
    double eps, std;
    bool has_theta;
    double theta;
    const char *rope_type;  /* scaling */
    double factor, low_freq, high_freq, beta_fast, beta_slow;
    int64_t original_context;
    int64_t buckets, max_distance;
    bool bias_qkv, bias_out, bias_mlp, bias_norm, tie, qk_norm;
    /* Gemma: (1 + w) RMSNorm and embeddings times sqrt(hidden); Gemma-2: sandwich norms, soft-caps
     * (0: none), the query scale, the window pattern */
    bool gemma, sandwich;
    double attn_softcap, final_softcap, qpas;
    int64_t window_pattern;
    double rope_fraction;   /* 0: whole heads (the key is not written) */
    bool parallel, bias_lm_head;
    /* Mixtral: experts per layer (0: a dense MLP), experts per token, the load-balancing weight;
     * Qwen2-MoE: the experts' width, the shared expert's width (0: none), the renormalisation */
    int64_t moe_experts, moe_k;
    double moe_aux;
    int64_t moe_inter, moe_shared_inter;
    bool moe_normalize;
} spec_out;

typedef struct importer {
    const llmc_doc *doc;
    const llmc_doc_node *root;
    const char *model_type;
    bool *taken;            /* per root entry: read by the family's mapping */
    bool *no_effect;        /* per root entry: known, and without effect on the computation */
    llmc_diags *d;
} importer;

/* ---- reading keys ------------------------------------------------------------------------ */

static const llmc_doc_entry *find(importer *im, const char *key) {
    const llmc_doc_entry *e = llmc_doc_map_find(im->root, key);
    if (e) im->taken[e - im->root->entries] = true;
    return e;
}

static void err_at(importer *im, llmc_loc loc, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void err_at(importer *im, llmc_loc loc, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(im->d, LLMC_SEV_ERROR, loc, key, fmt, ap);
    va_end(ap);
}

/* a key the family knows but whose value does not change the computation here: listed as ignored */
static void no_effect(importer *im, const char *key) {
    const llmc_doc_entry *e = llmc_doc_map_find(im->root, key);
    if (e) im->no_effect[e - im->root->entries] = true;
}

static llmc_loc top(const importer *im) { return llmc_doc_loc(im->doc, im->root); }

/* where key is written, or the top of the file when the family's default stands for it */
static llmc_loc key_loc(const importer *im, const char *key) {
    const llmc_doc_entry *e = llmc_doc_map_find(im->root, key);
    return e ? llmc_doc_entry_loc(im->doc, e) : top(im);
}

/* the scalar value of key, or NULL when absent or null; a non-scalar is an error */
static const llmc_doc_node *scalar(importer *im, const char *key, const llmc_doc_entry **entry) {
    const llmc_doc_entry *e = find(im, key);
    if (entry) *entry = e;
    const llmc_doc_node *v = llmc_doc_value(e);
    if (v && v->kind != LLMC_DOC_SCALAR) {
        err_at(im, llmc_doc_entry_loc(im->doc, e), key, "expected a scalar, got %s", llmc_doc_kind_desc(v));
        return NULL;
    }
    return v;
}

static void missing(importer *im, const char *key) {
    err_at(im, top(im), key, "missing (model_type '%s' needs it)", im->model_type);
}

/* integer key in [lo, hi]; returns false (and reports) when malformed; *out untouched when absent */
static bool take_int(importer *im, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out) {
    const llmc_doc_entry *e;
    const llmc_doc_node *v = scalar(im, key, &e);
    if (!v) {
        if (required && !e) missing(im, key);
        else if (required) err_at(im, llmc_doc_entry_loc(im->doc, e), key, "is null (expected an integer)");
        return !required;
    }
    char *end;
    errno = 0;
    long long x = v->quoted ? 0 : strtoll(v->text, &end, 10);
    if (v->quoted || errno || end == v->text || *end || x < lo || x > hi) {
        err_at(im, llmc_doc_loc(im->doc, v), key, "expected an integer in [%lld, %lld], got '%s'", (long long)lo,
               (long long)hi, v->text);
        return false;
    }
    *out = x;
    return true;
}

static bool take_num(importer *im, const char *key, double lo_exclusive, double *out) {
    const llmc_doc_node *v = scalar(im, key, NULL);
    if (!v) return true;
    char *end;
    errno = 0;
    double x = v->quoted ? NAN : strtod(v->text, &end);
    if (v->quoted || errno || end == v->text || *end || !isfinite(x) || !(x > lo_exclusive)) {
        err_at(im, llmc_doc_loc(im->doc, v), key, "expected a number > %g, got '%s'", lo_exclusive, v->text);
        return false;
    }
    *out = x;
    return true;
}

static bool take_bool(importer *im, const char *key, bool *out) {
    const llmc_doc_node *v = scalar(im, key, NULL);
    if (!v) return true;
    if (!v->quoted && !strcmp(v->text, "true")) *out = true;
    else if (!v->quoted && !strcmp(v->text, "false")) *out = false;
    else {
        err_at(im, llmc_doc_loc(im->doc, v), key, "expected true or false, got '%s'", v->text);
        return false;
    }
    return true;
}

/* string key; *out is the text (owned by the doc) or stays as it was when absent */
static bool take_str(importer *im, const char *key, const char **out, const llmc_doc_node **node) {
    const llmc_doc_node *v = scalar(im, key, NULL);
    if (node) *node = v;
    if (!v) return true;
    *out = v->text;
    return true;
}

/* ---- what every family shares --------------------------------------------------------------- */

/* keys of transformers' PretrainedConfig and common bookkeeping: no effect on the forward pass */
static const char *const ignored_common[] = {
    "architectures", "transformers_version", "_name_or_path", "use_cache", "return_dict",
    "output_hidden_states", "output_attentions", "torchscript", "is_decoder", "add_cross_attention",
    "tie_encoder_decoder", "chunk_size_feed_forward", "id2label", "label2id", "num_labels", "problem_type",
    "tokenizer_class", "prefix", "task_specific_params", "finetuning_task", "bos_token_id", "eos_token_id",
    "pad_token_id", "sep_token_id", "decoder_start_token_id", "max_length", "min_length", "do_sample",
    "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p",
    "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size",
    "bad_words_ids", "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
    "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
    "begin_suppress_tokens", "pruned_heads", "cross_attention_hidden_size", "use_bfloat16", "tf_legacy_loss",
    "attention_dropout", "hidden_dropout", "dropout", "embd_pdrop", "attn_pdrop", "resid_pdrop", "dropout_rate",
    "classifier_dropout", "pretraining_tp", "quantization_config", "auto_map", "attn_implementation",
    "_attn_implementation_autoset", "gradient_checkpointing", "output_past", "initializer_factor",
};

static bool in_list(const char *key, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, list[i])) return true;
    return false;
}

static void take_precision(importer *im, spec_out *s) {
    const char *dt = NULL;
    const llmc_doc_node *v = NULL, *v2 = NULL;
    take_str(im, "torch_dtype", &dt, &v);
    take_str(im, "dtype", &dt, &v2);   /* transformers >= 4.56 writes "dtype" */
    if (v2) v = v2;
    if (!dt) return;
    if (!strcmp(dt, "float32") || !strcmp(dt, "float16") || !strcmp(dt, "bfloat16")) s->precision = dt;
    else
        err_at(im, llmc_doc_loc(im->doc, v), v2 ? "dtype" : "torch_dtype",
               "expected float32, float16 or bfloat16, got '%s'", dt);
}

static void take_heads(importer *im, spec_out *s, const char *heads_key, const char *kv_key) {
    if (!take_int(im, heads_key, true, 1, INT32_MAX, &s->heads)) return;
    s->kv_heads = s->heads;
    if (kv_key && !take_int(im, kv_key, false, 1, INT32_MAX, &s->kv_heads)) return;
    if (s->heads && s->kv_heads && s->heads % s->kv_heads != 0)
        err_at(im, key_loc(im, kv_key), kv_key,
               "%lld key/value heads do not divide %lld attention heads (expected a divisor of %s)",
               (long long)s->kv_heads, (long long)s->heads, heads_key);
    s->attention = s->kv_heads == s->heads ? "mha" : s->kv_heads == 1 ? "mqa" : "gqa";
}

/* head_dim given, or hidden / heads (which must then divide) */
static void take_head_dim(importer *im, spec_out *s, const char *hidden_key, const char *heads_key, const char *key) {
    int64_t hd = 0;
    if (key && !take_int(im, key, false, 1, INT32_MAX, &hd)) return;
    if (hd) {
        if (!s->heads || !s->hidden || hd * s->heads != s->hidden) s->head_dim = hd;  /* pinned only when it differs */
        return;
    }
    if (s->heads && s->hidden && s->hidden % s->heads != 0)
        err_at(im, key_loc(im, heads_key), heads_key,
               "%lld heads do not divide %s %lld (expected a divisor, or a head_dim key)", (long long)s->heads,
               hidden_key, (long long)s->hidden);
}

static void take_rope_scaling(importer *im, spec_out *s) {
    const llmc_doc_entry *e = find(im, "rope_scaling");
    const llmc_doc_node *m = llmc_doc_value(e);
    if (!m) return;
    if (m->kind != LLMC_DOC_MAP) {
        err_at(im, llmc_doc_entry_loc(im->doc, e), "rope_scaling", "expected a mapping or null, got %s",
               llmc_doc_kind_desc(m));
        return;
    }
    /* read the mapping with the same helpers: a nested importer over it */
    bool taken[64] = {false}, unused[64] = {false};
    if (m->n_entries > 64) {
        err_at(im, llmc_doc_key_loc(im->doc, e), "rope_scaling", "has %zu keys (expected at most 64)", m->n_entries);
        return;
    }
    importer sub = {im->doc, m, im->model_type, taken, unused, im->d};
    const char *type = NULL;
    const llmc_doc_node *tn = NULL, *tn2 = NULL;
    take_str(&sub, "rope_type", &type, &tn);
    take_str(&sub, "type", &type, &tn2);
    if (!tn && tn2) tn = tn2;
    static const char *const types[] = {"linear", "dynamic", "yarn", "llama3"};
    if (!type) {
        err_at(im, llmc_doc_key_loc(im->doc, e), "rope_scaling.rope_type", "missing (expected one of linear, dynamic, yarn, llama3)");
        return;
    }
    if (!strcmp(type, "default")) return;  /* no scaling */
    if (!in_list(type, types, 4)) {
        const char *near = llmc_closest(type, types, 4);
        err_at(im, llmc_doc_loc(im->doc, tn), "rope_scaling.rope_type",
               "'%s' is not a scaling llmc computes (expected linear, dynamic, yarn or llama3%s%s)", type,
               near ? "; nearest: " : "", near ? near : "");
        return;
    }
    s->rope_type = type;
    s->factor = 0;
    if (!take_num(&sub, "factor", 0, &s->factor)) return;
    if (s->factor == 0) {
        err_at(im, llmc_doc_key_loc(im->doc, e), "rope_scaling.factor", "missing (a %s scaling needs its factor)", type);
        return;
    }
    if (strcmp(type, "linear") != 0) take_int(&sub, "original_max_position_embeddings", false, 1, INT32_MAX, &s->original_context);
    if (!strcmp(type, "llama3")) {
        take_num(&sub, "low_freq_factor", 0, &s->low_freq);
        take_num(&sub, "high_freq_factor", 0, &s->high_freq);
    }
    if (!strcmp(type, "yarn")) {
        take_num(&sub, "beta_fast", 0, &s->beta_fast);
        take_num(&sub, "beta_slow", 0, &s->beta_slow);
    }
    for (size_t i = 0; i < m->n_entries; i++)
        if (!taken[i]) {
            char key[160];
            snprintf(key, sizeof key, "rope_scaling.%s", m->entries[i].key);
            err_at(im, llmc_doc_key_loc(im->doc, &m->entries[i]), key,
                   "not computed by llmc's %s scaling (it changes the rotary frequencies; remove it or use a "
                   "model without it)", type);
        }
}

/* ---- families -------------------------------------------------------------------------------- */

/* llama, mistral, mixtral, qwen2, qwen3: RMSNorm, gated MLP, RoPE (qwen3: per-head q/k RMSNorm;
 * mixtral: Mistral's attention with its own defaults, the experts are map_mixtral's) */
static void map_llama_like(importer *im, spec_out *s) {
    const bool mixtral = !strcmp(im->model_type, "mixtral");
    /* Qwen2-MoE's attention is Qwen2's (its experts are map_qwen2_moe's) */
    const bool mistral = !strcmp(im->model_type, "mistral"),
               qwen2 = !strcmp(im->model_type, "qwen2") || !strcmp(im->model_type, "qwen2_moe");
    const bool qwen3 = !strcmp(im->model_type, "qwen3");
    s->template_name = "decoder_only";
    take_int(im, "vocab_size", true, 1, INT32_MAX, &s->vocab);
    take_int(im, "hidden_size", true, 1, INT32_MAX, &s->hidden);
    take_int(im, "intermediate_size", true, 1, INT32_MAX, &s->inter);
    take_int(im, "num_hidden_layers", true, 1, INT32_MAX, &s->layers);
    take_heads(im, s, "num_attention_heads", "num_key_value_heads");
    if (qwen3 && !llmc_doc_value(llmc_doc_map_find(im->root, "head_dim"))) {
        s->head_dim = 128;  /* Qwen3Config's default, independent of hidden / heads */
        if (s->heads && s->hidden && s->head_dim * s->heads == s->hidden) s->head_dim = 0;
        find(im, "head_dim");
    } else {
        take_head_dim(im, s, "hidden_size", "num_attention_heads", "head_dim");
    }
    s->qk_norm = qwen3;
    s->context = mistral || mixtral ? 4096 * 32 : qwen2 || qwen3 ? 32768 : 2048;
    take_int(im, "max_position_embeddings", false, 1, INT32_MAX, &s->context);
    s->norm = "rmsnorm";
    s->eps = mixtral ? 1e-5 : 1e-6;   /* MixtralConfig's default; the others' 1e-6 */
    take_num(im, "rms_norm_eps", 0, &s->eps);
    const char *act = "silu";
    const llmc_doc_node *an = NULL;
    take_str(im, "hidden_act", &act, &an);
    if (!strcmp(act, "silu") || !strcmp(act, "swish")) s->activation = "swiglu";
    else if (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_new")) s->activation = "geglu";
    else
        err_at(im, an ? llmc_doc_loc(im->doc, an) : top(im), "hidden_act",
               "'%s' gating is not computed by llmc (expected silu -> swiglu, or gelu_pytorch_tanh / gelu_new -> "
               "geglu, the tanh-approximated gelu llmc's geglu computes)", act);
    s->positional = "rope";
    s->has_theta = true;
    s->theta = mixtral ? 1e6 : 10000;
    take_num(im, "rope_theta", 0, &s->theta);
    take_rope_scaling(im, s);
    if (qwen2 || qwen3) {
        s->bias_qkv = qwen2;  /* Qwen2's q/k/v projections always carry a bias */
        if (!strcmp(im->model_type, "qwen2_moe")) {
            const llmc_doc_node *qb = scalar(im, "qkv_bias", NULL);
            take_bool(im, "qkv_bias", &s->bias_qkv);  /* Qwen2MoeConfig's (default true) */
            if (!s->bias_qkv)
                err_at(im, llmc_doc_loc(im->doc, qb), "qkv_bias",
                       "Qwen2-MoE without q/k/v biases has no family in llmc's layouts (expected true, got false)");
        }
        if (qwen3) {
            take_bool(im, "attention_bias", &s->bias_qkv);  /* Qwen3Attention's: q, k, v and o */
            s->bias_out = s->bias_qkv;
        }
        bool swa = false;
        const llmc_doc_entry *e;
        take_bool(im, "use_sliding_window", &swa);
        e = llmc_doc_map_find(im->root, "use_sliding_window");
        if (swa)
            err_at(im, llmc_doc_entry_loc(im->doc, e), "use_sliding_window",
                   "Qwen2 / Qwen3's sliding window applies to the layers from max_window_layers on, a per-layer pattern "
                   "llmc's templates do not build (expected false)");
        no_effect(im, "sliding_window");     /* only read when use_sliding_window is true */
        no_effect(im, "max_window_layers");
    } else {
        take_bool(im, "attention_bias", &s->bias_qkv);
        s->bias_out = s->bias_qkv;     /* LlamaAttention's attention_bias: q, k, v and o */
        take_bool(im, "mlp_bias", &s->bias_mlp);
    }
    if (mistral || mixtral) {
        /* MistralConfig's default window is 4096 (v0.2+ writes null to turn it off); MixtralConfig's is none */
        const llmc_doc_entry *e = llmc_doc_map_find(im->root, "sliding_window");
        int64_t w = e || mixtral ? 0 : 4096;
        take_int(im, "sliding_window", false, 1, INT32_MAX, &w);
        if (w && w < s->context) {
            s->attention = "sliding_window";
            s->window = w;
        }
    }
    s->tie = false;
    take_bool(im, "tie_word_embeddings", &s->tie);
    s->std = 0.02;
    take_num(im, "initializer_range", 0, &s->std);
    take_precision(im, s);
}

/* mixtral (MixtralForCausalLM): Mistral's attention, every MLP a sparse mixture of num_local_experts
 * SwiGLU experts of intermediate_size; the router's softmax over all experts, the top
 * num_experts_per_tok kept and renormalised (MixtralSparseMoeBlock): llmc's moe routing softmax_topk
 * with normalize_topk. router_aux_loss_coef weighs the load-balancing loss in training. */
static void map_mixtral(importer *im, spec_out *s) {
    map_llama_like(im, s);
    s->moe_experts = 8;
    s->moe_k = 2;
    take_int(im, "num_local_experts", false, 2, 4096, &s->moe_experts);
    take_int(im, "num_experts_per_tok", false, 1, 4096, &s->moe_k);
    if (s->moe_k > s->moe_experts)
        err_at(im, key_loc(im, "num_experts_per_tok"), "num_experts_per_tok",
               "routes each token to %lld experts of %lld (expected 1..num_local_experts)", (long long)s->moe_k,
               (long long)s->moe_experts);
    s->moe_aux = 0.001;   /* MixtralConfig's default */
    if (take_num(im, "router_aux_loss_coef", -1, &s->moe_aux) && (s->moe_aux < 0 || s->moe_aux > 1))
        err_at(im, key_loc(im, "router_aux_loss_coef"), "router_aux_loss_coef",
               "expected a weight in [0, 1] (llmc's moe.aux_loss_weight), got %g", s->moe_aux);
    double jitter = 0;
    if (take_num(im, "router_jitter_noise", -1, &jitter) && jitter != 0)
        err_at(im, key_loc(im, "router_jitter_noise"), "router_jitter_noise",
               "multiplies the router's input by uniform noise while training, which llmc's train.py does not "
               "(expected 0, got %g)", jitter);
    no_effect(im, "output_router_logits");   /* whether the forward also returns the router's logits */
}

/* qwen2_moe (Qwen2MoeForCausalLM): Qwen2's attention; every MLP (decoder_sparse_step 1, no
 * mlp_only_layers) a sparse mixture of num_experts SwiGLU experts of moe_intermediate_size, the
 * router's softmax over all experts with the top num_experts_per_tok kept (renormalised only with
 * norm_topk_prob), plus one shared expert of shared_expert_intermediate_size scaled by
 * sigmoid(shared_expert_gate x) (Qwen2MoeSparseMoeBlock). Defaults are Qwen2MoeConfig's. */
static void map_qwen2_moe(importer *im, spec_out *s) {
    map_llama_like(im, s);
    s->moe_experts = 60;
    s->moe_k = 4;
    take_int(im, "num_experts", false, 2, 4096, &s->moe_experts);
    take_int(im, "num_experts_per_tok", false, 1, 4096, &s->moe_k);
    if (s->moe_k > s->moe_experts)
        err_at(im, key_loc(im, "num_experts_per_tok"), "num_experts_per_tok",
               "routes each token to %lld experts of %lld (expected 1..num_experts)", (long long)s->moe_k,
               (long long)s->moe_experts);
    s->moe_inter = 1408;
    take_int(im, "moe_intermediate_size", false, 1, INT32_MAX, &s->moe_inter);
    s->moe_shared_inter = 5632;
    take_int(im, "shared_expert_intermediate_size", false, 1, INT32_MAX, &s->moe_shared_inter);
    s->moe_normalize = false;
    take_bool(im, "norm_topk_prob", &s->moe_normalize);
    s->moe_aux = 0.001;
    if (take_num(im, "router_aux_loss_coef", -1, &s->moe_aux) && (s->moe_aux < 0 || s->moe_aux > 1))
        err_at(im, key_loc(im, "router_aux_loss_coef"), "router_aux_loss_coef",
               "expected a weight in [0, 1] (llmc's moe.aux_loss_weight), got %g", s->moe_aux);
    int64_t step = 1;
    if (take_int(im, "decoder_sparse_step", false, 1, INT32_MAX, &step) && step != 1)
        err_at(im, key_loc(im, "decoder_sparse_step"), "decoder_sparse_step",
               "makes the layers whose index + 1 is not a multiple of %lld dense MLPs, which llmc's templates do not "
               "build (expected 1, every layer sparse)", (long long)step);
    const llmc_doc_entry *ml = find(im, "mlp_only_layers");
    const llmc_doc_node *mv = llmc_doc_value(ml);
    if (mv && (mv->kind != LLMC_DOC_SEQ || mv->n_items != 0))
        err_at(im, llmc_doc_entry_loc(im->doc, ml), "mlp_only_layers",
               "dense layers among sparse ones are not built by llmc's templates (expected [] or null, got %s)",
               mv->kind == LLMC_DOC_SEQ ? "a non-empty list" : llmc_doc_kind_desc(mv));
    no_effect(im, "output_router_logits");   /* whether the forward also returns the router's logits */
}

/* a soft-cap key: the family default when absent, none when null */
static void take_softcap(importer *im, const char *key, double dflt, double *out) {
    const llmc_doc_entry *e = llmc_doc_map_find(im->root, key);
    *out = e ? 0 : dflt;
    take_num(im, key, 0, out);
    if (e && !llmc_doc_value(e)) find(im, key);   /* null: no cap */
}

/* gemma, gemma2 (GemmaForCausalLM, Gemma2ForCausalLM): llama's keys, and Gemma's fixed computation:
 * RMSNorm scaling by (1 + w), embeddings times sqrt(hidden_size), GeGLU with the tanh GELU
 * (hidden_activation; Gemma's hidden_act is overridden by transformers). Gemma-2 adds sandwich
 * norms, attn_logit_softcapping / final_logit_softcapping (null: none), query_pre_attn_scalar and
 * sliding_window on the even layers (Gemma2's layer_idx % 2 rule: llmc's sliding_window_pattern 2). */
static void map_gemma(importer *im, spec_out *s) {
    const bool g2 = !strcmp(im->model_type, "gemma2");
    s->template_name = "decoder_only";
    s->vocab = 256000;
    take_int(im, "vocab_size", false, 1, INT32_MAX, &s->vocab);
    take_int(im, "hidden_size", true, 1, INT32_MAX, &s->hidden);
    take_int(im, "intermediate_size", true, 1, INT32_MAX, &s->inter);
    take_int(im, "num_hidden_layers", true, 1, INT32_MAX, &s->layers);
    take_heads(im, s, "num_attention_heads", "num_key_value_heads");
    s->head_dim = 256;  /* GemmaConfig's and Gemma2Config's default, independent of hidden / heads */
    take_int(im, "head_dim", false, 1, INT32_MAX, &s->head_dim);
    if (s->heads && s->hidden && s->head_dim * s->heads == s->hidden) s->head_dim = 0;
    s->context = 8192;
    take_int(im, "max_position_embeddings", false, 1, INT32_MAX, &s->context);
    s->norm = "rmsnorm";
    s->eps = 1e-6;
    take_num(im, "rms_norm_eps", 0, &s->eps);
    s->gemma = true;
    const char *act = "gelu_pytorch_tanh";
    const llmc_doc_node *an = NULL;
    take_str(im, "hidden_activation", &act, &an);
    no_effect(im, "hidden_act");   /* transformers' Gemma MLPs read hidden_activation */
    if (strcmp(act, "gelu_pytorch_tanh") && strcmp(act, "gelu_new"))
        err_at(im, an ? llmc_doc_loc(im->doc, an) : top(im), "hidden_activation",
               "'%s' gating is not computed by llmc (expected gelu_pytorch_tanh: llmc's geglu uses the tanh GELU)", act);
    s->activation = "geglu";
    s->positional = "rope";
    s->has_theta = true;
    s->theta = 10000;
    take_num(im, "rope_theta", 0, &s->theta);
    take_rope_scaling(im, s);
    take_bool(im, "attention_bias", &s->bias_qkv);  /* q, k, v and o */
    s->bias_out = s->bias_qkv;
    if (g2) {
        s->sandwich = true;
        s->qpas = 256;
        take_num(im, "query_pre_attn_scalar", 0, &s->qpas);
        take_softcap(im, "attn_logit_softcapping", 50.0, &s->attn_softcap);
        take_softcap(im, "final_logit_softcapping", 30.0, &s->final_softcap);
        int64_t w = 4096;
        const llmc_doc_entry *e = llmc_doc_map_find(im->root, "sliding_window");
        if (!take_int(im, "sliding_window", false, 1, INT32_MAX, &w)) w = 0;
        if (e && !llmc_doc_value(e))
            err_at(im, llmc_doc_entry_loc(im->doc, e), "sliding_window",
                   "is null; Gemma-2 windows its even layers (expected an integer)");
        if (w && w < s->context) { /* a window as long as the context never hides a key */
            s->attention = "sliding_window";
            s->window = w;
            s->window_pattern = 2;
        }
        no_effect(im, "cache_implementation");
    }
    s->tie = true;
    take_bool(im, "tie_word_embeddings", &s->tie);
    s->std = 0.02;
    take_num(im, "initializer_range", 0, &s->std);
    take_precision(im, s);
}

static void map_gpt2(importer *im, spec_out *s) {
    s->template_name = "decoder_only";
    s->vocab = 50257;
    take_int(im, "vocab_size", false, 1, INT32_MAX, &s->vocab);
    s->context = 1024;
    take_int(im, "n_positions", false, 1, INT32_MAX, &s->context);
    int64_t n_ctx = s->context;
    take_int(im, "n_ctx", false, 1, INT32_MAX, &n_ctx);  /* legacy duplicate of n_positions */
    if (n_ctx != s->context)
        err_at(im, key_loc(im, "n_ctx"), "n_ctx",
               "%lld contradicts n_positions %lld (expected equal)", (long long)n_ctx, (long long)s->context);
    s->hidden = 768;
    take_int(im, "n_embd", false, 1, INT32_MAX, &s->hidden);
    s->layers = 12;
    take_int(im, "n_layer", false, 1, INT32_MAX, &s->layers);
    s->heads = 12;
    take_int(im, "n_head", false, 1, INT32_MAX, &s->heads);
    s->kv_heads = s->heads;
    s->attention = "mha";
    take_head_dim(im, s, "n_embd", "n_head", NULL);
    s->inter = 0;
    take_int(im, "n_inner", false, 1, INT32_MAX, &s->inter);
    if (!s->inter) s->inter = 4 * s->hidden;
    s->norm = "layernorm";
    s->eps = 1e-5;
    take_num(im, "layer_norm_epsilon", 0, &s->eps);
    const char *act = "gelu_new";
    const llmc_doc_node *an = NULL;
    take_str(im, "activation_function", &act, &an);
    if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh")) s->activation = "gelu_tanh";
    else if (!strcmp(act, "gelu")) s->activation = "gelu";
    else if (!strcmp(act, "relu")) s->activation = "relu";
    else if (!strcmp(act, "silu") || !strcmp(act, "swish")) s->activation = "silu";
    else
        err_at(im, an ? llmc_doc_loc(im->doc, an) : top(im), "activation_function",
               "'%s' is not computed by llmc (expected gelu_new, gelu, relu or silu)", act);
    bool scale = true, inverse_layer = false;
    take_bool(im, "scale_attn_weights", &scale);
    if (!scale)
        err_at(im, key_loc(im, "scale_attn_weights"), "scale_attn_weights",
               "unscaled attention scores are not computed by llmc (expected true: 1/sqrt(head_dim))");
    take_bool(im, "scale_attn_by_inverse_layer_idx", &inverse_layer);
    if (inverse_layer)
        err_at(im, key_loc(im, "scale_attn_by_inverse_layer_idx"),
               "scale_attn_by_inverse_layer_idx", "a per-layer attention scale is not computed by llmc (expected false)");
    no_effect(im, "reorder_and_upcast_attn");  /* float32 attention: numerics, not the function computed */
    s->positional = "learned";
    s->bias_qkv = s->bias_out = s->bias_mlp = s->bias_norm = true;
    s->tie = true;
    take_bool(im, "tie_word_embeddings", &s->tie);
    s->init = "scaled_normal";
    s->std = 0.02;
    take_num(im, "initializer_range", 0, &s->std);
    take_precision(im, s);
}

static void map_t5(importer *im, spec_out *s) {
    s->template_name = "encoder_decoder";
    s->vocab = 32128;
    take_int(im, "vocab_size", false, 1, INT32_MAX, &s->vocab);
    s->hidden = 512;
    take_int(im, "d_model", false, 1, INT32_MAX, &s->hidden);
    s->head_dim = 64;
    take_int(im, "d_kv", false, 1, INT32_MAX, &s->head_dim);
    s->inter = 2048;
    take_int(im, "d_ff", false, 1, INT32_MAX, &s->inter);
    s->enc_layers = 6;
    take_int(im, "num_layers", false, 1, INT32_MAX, &s->enc_layers);
    s->dec_layers = s->enc_layers;
    take_int(im, "num_decoder_layers", false, 1, INT32_MAX, &s->dec_layers);
    s->heads = 8;
    take_int(im, "num_heads", false, 1, INT32_MAX, &s->heads);
    s->kv_heads = s->heads;
    s->attention = "mha";
    s->context = 512;
    take_int(im, "n_positions", false, 1, INT32_MAX, &s->context);
    s->buckets = 32;
    take_int(im, "relative_attention_num_buckets", false, 4, 1 << 20, &s->buckets);
    s->max_distance = 128;
    take_int(im, "relative_attention_max_distance", false, 1, INT32_MAX, &s->max_distance);
    s->norm = "rmsnorm";
    s->eps = 1e-6;
    take_num(im, "layer_norm_epsilon", 0, &s->eps);
    const char *ff = "relu";
    const llmc_doc_node *fn = NULL;
    take_str(im, "feed_forward_proj", &ff, &fn);
    if (!strcmp(ff, "relu")) s->activation = "relu";
    else if (!strcmp(ff, "gated-gelu")) s->activation = "geglu";
    else
        err_at(im, fn ? llmc_doc_loc(im->doc, fn) : top(im), "feed_forward_proj",
               "'%s' is not computed by llmc's encoder_decoder (expected relu or gated-gelu)", ff);
    no_effect(im, "is_gated_act");   /* derived from feed_forward_proj by old configs */
    no_effect(im, "dense_act_fn");
    bool encdec = true;
    take_bool(im, "is_encoder_decoder", &encdec);
    if (!encdec)
        err_at(im, key_loc(im, "is_encoder_decoder"), "is_encoder_decoder",
               "an encoder-only T5 is not built by llmc's templates (expected true)");
    s->positional = "relative";
    s->tie = true;
    take_bool(im, "tie_word_embeddings", &s->tie);
    s->init = "t5";
    take_precision(im, s);
}

/* phi (Phi-1, Phi-1.5, Phi-2): one LayerNorm feeding attention and the MLP in parallel, every
 * linear map, norm and the head with a bias, gelu_new, RoPE on partial_rotary_factor of each head */
static void map_phi(importer *im, spec_out *s) {
    s->template_name = "decoder_only";
    s->parallel = true;
    s->vocab = 51200;   /* PhiConfig's defaults (Phi-1.5's sizes) where a key is absent */
    take_int(im, "vocab_size", false, 1, INT32_MAX, &s->vocab);
    s->hidden = 2048;
    take_int(im, "hidden_size", false, 1, INT32_MAX, &s->hidden);
    s->inter = 8192;
    take_int(im, "intermediate_size", false, 1, INT32_MAX, &s->inter);
    s->layers = 24;
    take_int(im, "num_hidden_layers", false, 1, INT32_MAX, &s->layers);
    s->heads = 32;
    take_int(im, "num_attention_heads", false, 1, INT32_MAX, &s->heads);
    s->kv_heads = s->heads;
    take_int(im, "num_key_value_heads", false, 1, INT32_MAX, &s->kv_heads);
    if (s->heads % s->kv_heads != 0)
        err_at(im, key_loc(im, "num_key_value_heads"), "num_key_value_heads",
               "%lld key/value heads do not divide %lld attention heads (expected a divisor of num_attention_heads)",
               (long long)s->kv_heads, (long long)s->heads);
    s->attention = s->kv_heads == s->heads ? "mha" : s->kv_heads == 1 ? "mqa" : "gqa";
    take_head_dim(im, s, "hidden_size", "num_attention_heads", NULL);  /* PhiAttention: hidden / heads */
    s->context = 2048;
    take_int(im, "max_position_embeddings", false, 1, INT32_MAX, &s->context);
    s->norm = "layernorm";
    s->bias_norm = true;
    s->eps = 1e-5;
    take_num(im, "layer_norm_eps", 0, &s->eps);
    const char *act = "gelu_new";
    const llmc_doc_node *an = NULL;
    take_str(im, "hidden_act", &act, &an);
    if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh")) s->activation = "gelu_tanh";
    else if (!strcmp(act, "gelu")) s->activation = "gelu";
    else
        err_at(im, an ? llmc_doc_loc(im->doc, an) : top(im), "hidden_act",
               "'%s' is not computed by llmc's parallel block (expected gelu_new, gelu_pytorch_tanh or gelu)", act);
    s->positional = "rope";
    s->has_theta = true;
    s->theta = 10000;
    take_num(im, "rope_theta", 0, &s->theta);
    take_rope_scaling(im, s);
    s->rope_fraction = 0.5;
    const llmc_doc_node *fv = NULL;
    if (take_num(im, "partial_rotary_factor", 0, &s->rope_fraction)) {
        fv = llmc_doc_value(llmc_doc_map_find(im->root, "partial_rotary_factor"));
        /* PhiAttention rotates int(factor * head_dim) dims; llmc rotates exactly fraction * head_dim */
        const double hd = s->heads ? (double)s->hidden / (double)s->heads : 0, rot = s->rope_fraction * hd;
        if (s->rope_fraction > 1 || (hd > 0 && (rot != floor(rot) || (int64_t)rot % 2 != 0 || rot < 2)))
            err_at(im, fv ? llmc_doc_loc(im->doc, fv) : top(im), "partial_rotary_factor",
                   "%g of a %g-dim head rotates %g dims (expected at most 1, rotating an even number of dims)",
                   s->rope_fraction, hd, rot);
    }
    bool qk_ln = false;
    take_bool(im, "qk_layernorm", &qk_ln);
    if (qk_ln)
        err_at(im, key_loc(im, "qk_layernorm"), "qk_layernorm",
               "per-head LayerNorm of q and k in a parallel block is not built by llmc's templates (expected false)");
    s->bias_qkv = s->bias_out = s->bias_mlp = s->bias_lm_head = true;
    s->tie = false;
    take_bool(im, "tie_word_embeddings", &s->tie);
    s->std = 0.02;
    take_num(im, "initializer_range", 0, &s->std);
    take_precision(im, s);
}

typedef struct family {
    const char *model_type;
    void (*map)(importer *im, spec_out *s);
    const char *const *ignored;    /* the family's own keys without effect on the forward pass */
} family;

static const char *const ignored_gpt2[] = {"summary_type", "summary_use_proj", "summary_activation",
                                           "summary_proj_to_labels", "summary_first_dropout", NULL};
static const char *const ignored_none[] = {NULL};

static const family families[] = {
    {"llama", map_llama_like, ignored_none},
    {"mistral", map_llama_like, ignored_none},
    {"qwen2", map_llama_like, ignored_none},
    {"qwen3", map_llama_like, ignored_none},
    {"gemma", map_gemma, ignored_none},
    {"gemma2", map_gemma, ignored_none},
    {"gpt2", map_gpt2, ignored_gpt2},
    {"t5", map_t5, ignored_none},
    {"phi", map_phi, ignored_none},
    {"mixtral", map_mixtral, ignored_none},
    {"qwen2_moe", map_qwen2_moe, ignored_none},
};

/* ---- writing the spec ------------------------------------------------------------------------ */

/* the shortest decimal that reads back as x */
static void put_num(llmc_strbuf *b, double x) {
    char buf[40];
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", x);  /* 500000, not 5e+05 */
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, x);
            if (strtod(buf, NULL) == x) break;
        }
    }
    llmc_strbuf_puts(b, buf);
}

/* a double-quoted YAML scalar (paths may hold anything) */
static void put_str(llmc_strbuf *b, const char *prefix, const char *v) {
    llmc_strbuf_printf(b, "%s\"", prefix);
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if (*c == '"' || *c == '\\') llmc_strbuf_printf(b, "\\%c", *c);
        else if (*c < 0x20) llmc_strbuf_printf(b, "\\x%02x", *c);
        else llmc_strbuf_append(b, (const char *)c, 1);
    }
    llmc_strbuf_puts(b, "\"\n");
}

static void put_kv_int(llmc_strbuf *b, const char *indent, const char *key, int64_t v) {
    if (v) llmc_strbuf_printf(b, "%s%s: %lld\n", indent, key, (long long)v);
}

static char *render(const spec_out *s, const char *name, const char *source, const char *model_type,
                    uint64_t target, const llmc_import_params *p) {
    llmc_strbuf b = LLMC_STRBUF_INIT;
    llmc_strbuf_printf(&b, "%s from %s (model_type: %s)%s.\n", LLMC_IMPORT_HEADER, source, model_type,
                       target ? ", the family's choices at a new budget" : "");
    llmc_strbuf_printf(&b, "name: %s\ntemplate: %s\n", name, s->template_name);
    llmc_strbuf_printf(&b, "vocab_size: %lld\ncontext_length: %lld\n", (long long)s->vocab, (long long)s->context);
    if (target) {
        /* the solver chooses every dim (its prior: shapes people train); the choices below stay */
        llmc_strbuf_printf(&b, "target_params: %llu\n", (unsigned long long)target);
        goto choices;
    }
    llmc_strbuf_puts(&b, "dims:\n");
    put_kv_int(&b, "  ", "num_layers", s->layers);
    put_kv_int(&b, "  ", "num_encoder_layers", s->enc_layers);
    put_kv_int(&b, "  ", "num_decoder_layers", s->dec_layers);
    put_kv_int(&b, "  ", "hidden_size", s->hidden);
    put_kv_int(&b, "  ", "intermediate_size", s->inter);
    put_kv_int(&b, "  ", "num_heads", s->heads);
    if (s->kv_heads != s->heads) put_kv_int(&b, "  ", "num_kv_heads", s->kv_heads);
    put_kv_int(&b, "  ", "head_dim", s->head_dim);
choices:
    llmc_strbuf_printf(&b, "attention: %s\n", s->attention);
    put_kv_int(&b, "", "sliding_window", s->window);
    put_kv_int(&b, "", "sliding_window_pattern", s->window_pattern);
    llmc_strbuf_printf(&b, "norm: %s\nnorm_eps: ", s->norm);
    put_num(&b, s->eps);
    llmc_strbuf_printf(&b, "\nactivation: %s\npositional_encoding: %s\n", s->activation, s->positional);
    if (s->has_theta || s->rope_type) {
        llmc_strbuf_puts(&b, "rope:\n  theta: ");
        put_num(&b, s->theta);
        llmc_strbuf_puts(&b, "\n");
        if (s->rope_fraction > 0 && s->rope_fraction != 1) {
            llmc_strbuf_puts(&b, "  fraction: ");
            put_num(&b, s->rope_fraction);
            llmc_strbuf_puts(&b, "\n");
        }
        if (s->rope_type) {
            llmc_strbuf_printf(&b, "  scaling:\n    type: %s\n    factor: ", s->rope_type);
            put_num(&b, s->factor);
            llmc_strbuf_puts(&b, "\n");
            put_kv_int(&b, "    ", "original_context_length", s->original_context);
            const struct {
                const char *key;
                double v;
            } extra[] = {{"low_freq_factor", s->low_freq}, {"high_freq_factor", s->high_freq},
                         {"beta_fast", s->beta_fast}, {"beta_slow", s->beta_slow}};
            for (size_t i = 0; i < 4; i++)
                if (extra[i].v > 0) {
                    llmc_strbuf_printf(&b, "    %s: ", extra[i].key);
                    put_num(&b, extra[i].v);
                    llmc_strbuf_puts(&b, "\n");
                }
        }
    }
    if (s->qk_norm) llmc_strbuf_puts(&b, "qk_norm: true\n");
    if (s->sandwich) llmc_strbuf_puts(&b, "norm_placement: sandwich\n");
    if (s->gemma) llmc_strbuf_puts(&b, "norm_weight_offset: 1\nembedding_scale: sqrt_hidden\n");
    const struct {
        const char *key;
        double v;
    } gemma2[] = {{"attention_softcap", s->attn_softcap}, {"final_logit_softcap", s->final_softcap},
                  {"query_pre_attn_scalar", s->qpas}};
    for (size_t i = 0; i < 3; i++)
        if (gemma2[i].v > 0) {
            llmc_strbuf_printf(&b, "%s: ", gemma2[i].key);
            put_num(&b, gemma2[i].v);
            llmc_strbuf_puts(&b, "\n");
        }
    if (s->parallel) llmc_strbuf_puts(&b, "parallel_residual: true\n");
    if (s->moe_experts) {
        bool shared = s->moe_shared_inter > 0; /* Qwen2-MoE; Mixtral always renormalises */
        llmc_strbuf_printf(&b, "moe:\n  num_experts: %lld\n  experts_per_token: %lld\n", (long long)s->moe_experts,
                           (long long)s->moe_k);
        put_kv_int(&b, "  ", "expert_intermediate_size", s->moe_inter);
        if (shared)
            llmc_strbuf_printf(&b, "  num_shared_experts: 1\n  shared_expert_intermediate_size: %lld\n"
                               "  shared_expert_gate: true\n", (long long)s->moe_shared_inter);
        llmc_strbuf_printf(&b, "  routing: softmax_topk\n  normalize_topk: %s\n  aux_loss_weight: ",
                           !shared || s->moe_normalize ? "true" : "false");
        put_num(&b, s->moe_aux);
        llmc_strbuf_puts(&b, "\n");
    }
    if (s->buckets)
        llmc_strbuf_printf(&b, "relative_attention:\n  num_buckets: %lld\n  max_distance: %lld\n", (long long)s->buckets,
                           (long long)s->max_distance);
    llmc_strbuf_printf(&b, "bias: {qkv: %s, attn_out: %s, mlp: %s, norm: %s, lm_head: %s}\n",
                       s->bias_qkv ? "true" : "false", s->bias_out ? "true" : "false", s->bias_mlp ? "true" : "false",
                       s->bias_norm ? "true" : "false", s->bias_lm_head ? "true" : "false");
    llmc_strbuf_printf(&b, "tie_word_embeddings: %s\n", s->tie ? "true" : "false");
    if (s->precision) llmc_strbuf_printf(&b, "precision: %s\n", s->precision);
    if (p && p->quantize) put_str(&b, "quantize: ", p->quantize);
    const char *ckpt = p ? p->checkpoint : NULL, *tok = p ? p->tokenizer : NULL;
    if (s->init || s->std > 0 || ckpt) {
        llmc_strbuf_puts(&b, "weights:\n");
        if (s->init) llmc_strbuf_printf(&b, "  init: %s\n", s->init);
        if (s->std > 0) {
            llmc_strbuf_puts(&b, "  std: ");
            put_num(&b, s->std);
            llmc_strbuf_puts(&b, "\n");
        }
        if (ckpt) put_str(&b, "  checkpoint: ", ckpt);
    }
    if (tok) put_str(&b, "tokenizer:\n  path: ", tok);
    if (b.oom) {
        llmc_strbuf_free(&b);
        return NULL;
    }
    return llmc_strbuf_take(&b);
}

/* a spec name from the folder: the characters the spec's name allows, others as '-' */
static void default_name(const char *dir, char *out, size_t n) {
    const char *base = dir ? strrchr(dir, '/') : NULL;
    base = base ? base + 1 : dir;
    size_t len = base ? strlen(base) : 0;
    while (len && base[len - 1] == '/') len--;
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < n && k < 128; i++) {
        char c = base[i];
        out[k++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.')
                       ? c
                       : '-';
    }
    out[k] = 0;
    if (!k || !strcmp(out, ".") || !strcmp(out, "..")) snprintf(out, n, "model");
}

/* ---- the entry point ------------------------------------------------------------------------- */

llmc_import_params llmc_import_default_params(void) {
    llmc_import_params p = {NULL, 0, 0, NULL, NULL, NULL};
    return p;
}

char *llmc_import_hf_config(const char *config_path, const char *model_dir, const llmc_import_params *p,
                            int *exit_code, llmc_diags *d) {
    *exit_code = LLMC_EXIT_SPEC;
    size_t len = 0;
    char *text = llmc_check_regular_file(config_path) == 0 ? llmc_read_file(config_path, MAX_CONFIG_BYTES, &len) : NULL;
    if (!text) {
        int err = errno;
        llmc_error(d, NULL, "%s: cannot read: %s", config_path,
                   err == EFBIG ? "larger than 4 MiB (not a config.json)" : llmc_read_file_error(config_path, err));
        *exit_code = LLMC_EXIT_IO;
        return NULL;
    }
    bool had_errors = false;
    llmc_doc *doc = llmc_doc_parse(text, len, config_path, LLMC_DOC_JSON, d, &had_errors);
    free(text);
    if (!doc || had_errors) {
        llmc_doc_free(doc);
        return NULL;
    }
    char *out = NULL;
    bool *taken = NULL, *unused = NULL;
    const size_t errors_before = llmc_diags_errors(d);
    if (doc->root->kind != LLMC_DOC_MAP) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_doc_loc(doc, doc->root), NULL, "expected a JSON object, got %s",
                      llmc_doc_kind_desc(doc->root));
        goto done;
    }
    taken = calloc(doc->root->n_entries + 1, sizeof *taken);
    unused = calloc(doc->root->n_entries + 1, sizeof *unused);
    if (!taken || !unused) {
        llmc_error(d, NULL, "out of memory");
        goto done;
    }
    importer im = {doc, doc->root, NULL, taken, unused, d};
    const char *mt = NULL;
    const llmc_doc_node *mtn = NULL;
    take_str(&im, "model_type", &mt, &mtn);
    if (!mt) {
        err_at(&im, top(&im), "model_type", "missing (expected one of llama, mistral, qwen2, qwen3, gpt2, t5, phi)");
        goto done;
    }
    im.model_type = mt;
    const family *fam = NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (!strcmp(families[i].model_type, mt)) fam = &families[i];
    if (!fam) {
        static const char *const known[] = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3",
                                            "gemma", "gemma2", "gpt2", "t5", "phi"};
        const char *near = llmc_closest(mt, known, 11);
        err_at(&im, llmc_doc_loc(doc, mtn), "model_type", "unknown model type '%s' (expected one of llama, mistral, mixtral, "
               "qwen2, qwen2_moe, qwen3, gemma, gemma2, gpt2, t5, phi%s%s)", mt, near ? "; did you mean " : "", near ? near : "");
        goto done;
    }
    spec_out s;
    memset(&s, 0, sizeof s);
    fam->map(&im, &s);
    if (llmc_diags_errors(d) > errors_before) goto done;

    llmc_strbuf ign = LLMC_STRBUF_INIT, unk = LLMC_STRBUF_INIT;
    for (size_t i = 0; i < doc->root->n_entries; i++) {
        const char *k = doc->root->entries[i].key;
        if (taken[i] && !unused[i]) continue;
        size_t n_fam = 0;
        while (fam->ignored[n_fam]) n_fam++;
        bool known = unused[i] || in_list(k, ignored_common, sizeof ignored_common / sizeof ignored_common[0]) ||
                     in_list(k, fam->ignored, n_fam);
        llmc_strbuf *b = known ? &ign : &unk;
        llmc_strbuf_printf(b, "%s%s", b->n ? ", " : "", k);
    }
    if (ign.n)
        llmc_diag_add(d, LLMC_SEV_WARNING, top(&im), NULL,
                      "ignored (no effect on the architecture or its forward computation: token ids, dropout, "
                      "generation defaults, bookkeeping): %s", ign.s);
    if (unk.n)
        llmc_diag_add(d, LLMC_SEV_WARNING, top(&im), NULL,
                      "not known to llmc for model_type '%s', ignored (if one changes the computation, the spec "
                      "does not reproduce the model): %s", mt, unk.s);
    llmc_strbuf_free(&ign);
    llmc_strbuf_free(&unk);

    char name[160];
    if (!s.precision) s.precision = "float32";
    if (p && p->vocab_size > 0) s.vocab = p->vocab_size;  /* transformers loads a config without a dtype in float32 */
    if (p && p->name) snprintf(name, sizeof name, "%s", p->name);
    else default_name(model_dir, name, sizeof name);
    out = render(&s, name, config_path, mt, p ? p->target_params : 0, p);
    if (!out) llmc_error(d, NULL, "out of memory");
    else *exit_code = LLMC_EXIT_OK;
done:
    free(taken);
    free(unused);
    llmc_doc_free(doc);
    return out;
}
