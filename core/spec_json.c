/* Spec queries (locations, written keys, emitter options) and the normalised JSON form.
 *
 * The JSON form is itself a valid spec: blocks that do not apply (rope without rope
 * positions, sliding_window without sliding-window attention, ...) are written as null,
 * which the loader reads as "not given". */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "llmc/sha256.h"
#include "llmc/spec.h"
#include "util.h"

llmc_loc llmc_spec_loc(const llmc_spec *s, const char *key_path) {
    llmc_loc loc = {s ? s->source_path : NULL, 1, 1};
    if (!s || !s->doc) return loc;
    llmc_doc_lookup(s->doc, key_path, &loc);
    loc.file = s->source_path;
    return loc;
}

bool llmc_spec_has_key(const llmc_spec *s, const char *key_path) {
    if (!s || !s->doc || !key_path) return false;
    const llmc_doc_node *n = llmc_doc_lookup(s->doc, key_path, NULL);
    return n && !(n->kind == LLMC_DOC_SCALAR && n->is_null);
}

const llmc_emit_option *llmc_spec_emit_option(const llmc_spec *s, const char *emitter, const char *key) {
    if (!s || !emitter || !key) return NULL;
    for (size_t i = 0; i < s->n_emit_options; i++)
        if (!strcmp(s->emit_options[i].emitter, emitter) && !strcmp(s->emit_options[i].key, key))
            return &s->emit_options[i];
    return NULL;
}

const llmc_solver_option *llmc_spec_solver_option(const llmc_spec *s, const char *key) {
    if (!s || !key) return NULL;
    for (size_t i = 0; i < s->n_solver_options; i++)
        if (!strcmp(s->solver_options[i].key, key)) return &s->solver_options[i];
    return NULL;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

/* Fewest significant digits (1..17) that print d so that it reads back exactly, and at
 * least all integer digits, so that 500000 prints as 500000.0 and not 5e5. */
static int shortest_digits(double d) {
    char buf[40];
    int first = 1;
    for (double a = d < 0 ? -d : d; a >= 10 && first < 16; a /= 10) first++;
    for (int p = first; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) return p;
    }
    return 17;
}

/* jansson prints every real with one precision; pick the smallest that is exact for all of
 * them, so 1e-05 prints as 1e-05 rather than 1.0000000000000001e-05. */
static int max_digits(const json_t *j) {
    int best = 1, p;
    const char *k;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_REAL: return shortest_digits(json_real_value(j));
    case JSON_OBJECT:
        json_object_foreach((json_t *)j, k, v) if ((p = max_digits(v)) > best) best = p;
        return best;
    case JSON_ARRAY:
        json_array_foreach(j, i, v) if ((p = max_digits(v)) > best) best = p;
        return best;
    default: return 1;
    }
}

/* Set helpers: jansson's _new variants take the reference; a NULL value (OOM) is caught at the end. */
static void put_checked(bool *ok, json_t *obj, const char *key, json_t *v) {
    if (!v || json_object_set_new(obj, key, v) != 0) *ok = false;
}
#define put(obj, key, v) put_checked(ok, obj, key, v)
static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* Emitter options keep their text; plain scalars that read as numbers or booleans become those. */
static json_t *scalar_value(const llmc_spec *s, const char *block, const llmc_emit_option *o) {
    char path[512];
    if (o->emitter) snprintf(path, sizeof path, "%s.%s.%s", block, o->emitter, o->key);
    else snprintf(path, sizeof path, "%s.%s", block, o->key);
    const llmc_doc_node *n = s->doc ? llmc_doc_lookup(s->doc, path, NULL) : NULL;
    if (!n || n->kind != LLMC_DOC_SCALAR || n->quoted) return json_string(o->value);
    if (n->is_null) return json_null();
    if (!strcmp(o->value, "true")) return json_true();
    if (!strcmp(o->value, "false")) return json_false();
    char *end;
    errno = 0;
    long long ll = strtoll(o->value, &end, 10);
    if (end != o->value && !*end && errno != ERANGE && strcspn(o->value, "_") == strlen(o->value))
        return json_integer(ll);
    return json_string(o->value);
}

static json_t *build(const llmc_spec *s, const llmc_dims *solved, bool *ok) {
    json_t *root = json_object();
    if (!root) return NULL;
    put(root, "name", str_or_null(s->name));
    put(root, "template", str_or_null(s->template_name));
    put(root, "solver", str_or_null(s->solver));
    /* the budget under the key it was given: target_active_params counts what one token reads */
    put(root, s->target_active ? "target_active_params" : "target_params",
        s->target_compute_optimal ? json_string("compute_optimal")
                               : s->has_target_params    ? json_integer((json_int_t)s->target_params)
                                                         : json_null());

    const llmc_dims *dims = solved ? solved : &s->dims;
    json_t *jd = json_object();
    if (jd)
        for (int i = 0; i < LLMC_DIM_COUNT; i++)
            if (llmc_dims_has(dims, (llmc_dim_id)i)) put(jd, llmc_dim_name((llmc_dim_id)i), json_integer(dims->v[i]));
    put(root, "dims", jd);

    put(root, "vocab_size", json_integer(s->vocab_size));
    put(root, "context_length", json_integer(s->context_length));
    put(root, "attention", json_string(llmc_attention_name(s->attention)));
    put(root, "sliding_window", s->sliding_window > 0 ? json_integer(s->sliding_window) : json_null());
    put(root, "norm", json_string(llmc_norm_name(s->norm)));
    put(root, "norm_eps", json_real(s->norm_eps));
    put(root, "activation", json_string(llmc_activation_name(s->activation)));
    put(root, "positional_encoding", json_string(llmc_positional_name(s->positional)));

    if (s->positional == LLMC_POS_ROPE) {
        json_t *rope = json_object();
        if (rope) {
            put(rope, "theta", json_real(s->rope.theta));
            const llmc_rope_params *r = &s->rope;
            if (r->scaling == LLMC_ROPE_SCALING_NONE) {
                put(rope, "scaling", json_null());
            } else {
                json_t *sc = json_object();
                if (sc) {
                    put(sc, "type", json_string(llmc_rope_scaling_name(r->scaling)));
                    put(sc, "factor", json_real(r->factor));
                    if (r->scaling != LLMC_ROPE_SCALING_LINEAR)
                        put(sc, "original_context_length", json_integer(r->original_context_length));
                    if (r->scaling == LLMC_ROPE_SCALING_LLAMA3) {
                        put(sc, "low_freq_factor", json_real(r->low_freq_factor));
                        put(sc, "high_freq_factor", json_real(r->high_freq_factor));
                    }
                    if (r->scaling == LLMC_ROPE_SCALING_YARN) {
                        put(sc, "beta_fast", json_real(r->beta_fast));
                        put(sc, "beta_slow", json_real(r->beta_slow));
                    }
                }
                put(rope, "scaling", sc);
            }
            if (r->fraction != 1.0) /* only when partial: other models' spec.json stays as it was */
                put(rope, "fraction", json_real(r->fraction));
        }
        put(root, "rope", rope);
    } else {
        put(root, "rope", json_null());
    }
    put(root, "alibi_max_bias", s->positional == LLMC_POS_ALIBI ? json_real(s->alibi_max_bias) : json_null());
    if (s->positional == LLMC_POS_RELATIVE) {
        json_t *rel = json_object();
        if (rel) {
            put(rel, "num_buckets", json_integer(s->relative_num_buckets));
            put(rel, "max_distance", json_integer(s->relative_max_distance));
        }
        put(root, "relative_attention", rel);
    } else {
        put(root, "relative_attention", json_null());
    }

    json_t *bias = json_object();
    if (bias) {
        put(bias, "qkv", json_boolean(s->bias.qkv));
        put(bias, "attn_out", json_boolean(s->bias.attn_out));
        put(bias, "mlp", json_boolean(s->bias.mlp));
        put(bias, "norm", json_boolean(s->bias.norm));
        put(bias, "lm_head", json_boolean(s->bias.lm_head));
    }
    put(root, "bias", bias);
    if (s->qk_norm) /* written only when set: the spec.json of models without it stays as it was */
        put(root, "qk_norm", json_true());
    if (s->moe.enabled) { /* likewise: only a mixture-of-experts spec has the mapping */
        json_t *moe = json_object();
        if (moe) {
            put(moe, "num_experts", json_integer(s->moe.num_experts));
            put(moe, "experts_per_token", json_integer(s->moe.experts_per_token));
            put(moe, "num_shared_experts", json_integer(s->moe.num_shared_experts));
            if (s->moe.num_shared_experts) {
                if (s->moe.shared_expert_intermediate_size)
                    put(moe, "shared_expert_intermediate_size", json_integer(s->moe.shared_expert_intermediate_size));
                put(moe, "shared_expert_gate", json_boolean(s->moe.shared_expert_gate));
            }
            if (s->moe.expert_intermediate_size)
                put(moe, "expert_intermediate_size", json_integer(s->moe.expert_intermediate_size));
            put(moe, "routing", json_string(llmc_moe_routing_name(s->moe.routing)));
            put(moe, "normalize_topk", json_boolean(s->moe.normalize_topk));
            put(moe, "aux_loss_weight", json_real(s->moe.aux_loss_weight));
        }
        put(root, "moe", moe);
    }
    /* Gemma-2 style blocks: likewise written only when set */
    if (s->sandwich_norm) put(root, "norm_placement", json_string("sandwich"));
    if (s->norm_weight_offset != 0.0) put(root, "norm_weight_offset", json_real(s->norm_weight_offset));
    if (s->embedding_scale_sqrt_hidden) put(root, "embedding_scale", json_string("sqrt_hidden"));
    if (s->attention_softcap > 0) put(root, "attention_softcap", json_real(s->attention_softcap));
    if (s->final_logit_softcap > 0) put(root, "final_logit_softcap", json_real(s->final_logit_softcap));
    if (s->query_pre_attn_scalar > 0) put(root, "query_pre_attn_scalar", json_real(s->query_pre_attn_scalar));
    if (s->sliding_window_pattern > 0) put(root, "sliding_window_pattern", json_integer(s->sliding_window_pattern));
    if (s->parallel_residual) /* likewise */
        put(root, "parallel_residual", json_true());
    put(root, "tie_word_embeddings", json_boolean(s->tie_word_embeddings));
    put(root, "precision", json_string(llmc_precision_name(s->precision)));
    put(root, "quantize", json_string(llmc_quantize_name(s->quantize)));

    json_t *w = json_object();
    if (w) {
        put(w, "init", json_string(llmc_init_scheme_name(s->weights.init)));
        put(w, "std", json_real(s->weights.std));
        put(w, "seed", json_integer((json_int_t)s->weights.seed));
        put(w, "checkpoint", str_or_null(s->weights.checkpoint));
    }
    put(root, "weights", w);

    json_t *tok = json_object();
    if (tok) {
        const llmc_tokenizer_spec *t = &s->tok;
        put(tok, "type", json_string(t->type ? t->type : llmc_tokenizer_name(s->tokenizer)));
        if (t->type) { /* the training keys, written only for a trained tokenizer (older spec.json stay as they were) */
            put(tok, "vocab_size", json_integer((json_int_t)(t->vocab_size ? t->vocab_size : s->vocab_size)));
            put(tok, "pre_tokenizer", str_or_null(t->pre_tokenizer));
            json_t *sp = json_object();
            for (size_t i = 0; sp && i < t->n_special; i++) put(sp, t->special_names[i], json_string(t->special_tokens[i]));
            put(tok, "special_tokens", sp);
            put(tok, "byte_fallback", t->byte_fallback < 0 ? json_null() : json_boolean(t->byte_fallback));
            put(tok, "normalization", json_string(t->normalization ? t->normalization : "none"));
        }
        put(tok, "path", str_or_null(s->tokenizer_path));
    }
    put(root, "tokenizer", tok);
    if (s->data.n_paths) {
        json_t *ds = json_object();
        if (ds) {
            put(ds, "name", str_or_null(s->dataset));
            json_t *paths = json_array();
            for (size_t i = 0; paths && i < s->data.n_paths; i++)
                if (json_array_append_new(paths, json_string(s->data.paths[i])) != 0) *ok = false;
            put(ds, "paths", paths);
            put(ds, "format", str_or_null(s->data.format));
            put(ds, "text_field", str_or_null(s->data.text_field));
            put(ds, "split", str_or_null(s->data.split));
        }
        put(root, "dataset", ds);
    } else {
        put(root, "dataset", str_or_null(s->dataset));
    }

    json_t *cons = json_array();
    if (cons)
        for (size_t i = 0; i < s->n_constraints; i++)
            if (json_array_append_new(cons, json_string(s->constraints[i].text)) != 0) *ok = false;
    put(root, "constraints", cons);
    /* a tolerance without a budget means nothing (and would warn when spec.json is reloaded) */
    put(root, "tolerance", s->has_target_params ? json_real(s->tolerance) : json_null());

    if (s->emit) { /* given, possibly empty: [] runs no emitter */
        json_t *emit = json_array();
        if (emit)
            for (size_t i = 0; i < s->n_emit; i++)
                if (json_array_append_new(emit, json_string(s->emit[i])) != 0) *ok = false;
        put(root, "emit", emit);
    } else {
        put(root, "emit", json_null());
    }

    json_t *eo = json_object();
    if (eo) {
        for (size_t i = 0; i < s->n_emit_options; i++) {
            const llmc_emit_option *o = &s->emit_options[i];
            json_t *per = json_object_get(eo, o->emitter);
            if (!per) {
                per = json_object();
                put(eo, o->emitter, per);
                per = json_object_get(eo, o->emitter);
            }
            if (per) put(per, o->key, scalar_value(s, "emit_options", o));
        }
    }
    put(root, "emit_options", eo);

    json_t *so = json_object();
    if (so)
        for (size_t i = 0; i < s->n_solver_options; i++) {
            const llmc_solver_option *o = &s->solver_options[i];
            llmc_emit_option as_emit = {NULL, o->key, o->value, o->loc};
            put(so, o->key, scalar_value(s, "solver_options", &as_emit));
        }
    put(root, "solver_options", so);
    return root;
}

char *llmc_spec_to_json(const llmc_spec *s, const llmc_dims *solved) {
    if (!s) return NULL;
    bool ok = true;
    json_t *root = build(s, solved, &ok);
    if (!root || !ok) {
        json_decref(root);
        return NULL;
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(max_digits(root)));
    json_decref(root);
    return text;
}

int llmc_spec_sha256(const llmc_spec *s, const llmc_dims *solved, char hex[65]) {
    hex[0] = '\0';
    char *json = llmc_spec_to_json(s, solved);
    if (!json) return -1;
    llmc_sha256_hex(json, strlen(json), hex);
    free(json);
    return 0;
}
