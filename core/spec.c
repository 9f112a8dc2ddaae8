/* Spec loader: schema, types, ranges, defaults and contradictions (see docs/spec.md).
 *
 * Every check reports to the diagnostics list and carries on, so one run shows every
 * mistake in the file. A value that failed its own check is not used by later checks
 * (no follow-on noise); only values that passed take part in contradiction checks. */
#include "llmc/spec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doc.h"
#include "keyindex.h"
#include "llmc/expr.h"
#include "util.h"

#define MAX_DIM_VALUE INT64_C(2147483647) /* dims, vocab and context fit in int32 for every emitter */

static const char *const top_keys[] = {
    "name", "template", "solver", "target_params", "target_active_params", "dims", "vocab_size", "context_length", "attention",
    "sliding_window", "norm", "norm_eps", "activation", "positional_encoding", "rope", "alibi_max_bias",
    "relative_attention", "bias", "qk_norm", "moe", "parallel_residual", "norm_placement", "norm_weight_offset", "embedding_scale",
    "attention_softcap", "final_logit_softcap", "query_pre_attn_scalar", "sliding_window_pattern", "tie_word_embeddings", "precision", "quantize", "weights", "tokenizer",
    "dataset", "constraints", "tolerance", "emit", "emit_options", "solver_options",
};
static const char *const rope_keys[] = {"theta", "scaling", "fraction"};
static const char *const scaling_keys[] = {"type", "factor", "original_context_length", "low_freq_factor",
                                           "high_freq_factor", "beta_fast", "beta_slow"};
static const char *const relative_keys[] = {"num_buckets", "max_distance"};
static const char *const moe_keys[] = {"num_experts", "experts_per_token", "num_shared_experts",
                                       "shared_expert_intermediate_size", "shared_expert_gate",
                                       "expert_intermediate_size", "routing", "normalize_topk", "aux_loss_weight"};
static const char *const bias_keys[] = {"qkv", "attn_out", "mlp", "norm", "lm_head"};
static const char *const weights_keys[] = {"init", "std", "seed", "checkpoint"};
static const char *const tokenizer_keys[] = {"type", "vocab_size", "pre_tokenizer", "special_tokens", "byte_fallback",
                                             "normalization", "path"};
static const char *const normalization_names[] = {"none", "nfc", "nfd", "nfkc", "nfkd", "lowercase", "nfkc_lowercase",
                                                  "nmt_nfkc"};
static const char *const dataset_keys[] = {"name", "paths", "format", "text_field", "split"};
static const char *const pre_tokenizer_names[] = {"gpt2", "llama3", "metaspace", "whitespace", "bert", "char", "byte"};

#define COUNT_OF(a) (sizeof(a) / sizeof *(a))

/* ---- context and reporting ------------------------------------------------------------------ */

typedef struct ctx {
    llmc_spec *s;
    const llmc_doc *doc;
    llmc_diags *d;

    /* where things were written (NULL = not written or null) and whether they passed */
    const llmc_doc_entry *e_target, *e_dims, *e_vocab, *e_context, *e_attention, *e_sliding, *e_norm_eps;
    const llmc_doc_entry *e_positional, *e_rope, *e_alibi, *e_relative, *e_tolerance, *e_tokenizer, *e_norm;
    const llmc_doc_entry *e_qk_norm;
    const llmc_doc_entry *e_placement, *e_weight_offset, *e_pattern; /* Gemma-2 style blocks */
    const llmc_doc_entry *e_rope_fraction, *e_parallel;
    const llmc_doc_entry *e_dim[LLMC_DIM_COUNT];
    bool ok_vocab, ok_context, ok_attention, ok_sliding, ok_positional, ok_tokenizer, ok_norm, ok_scaling_ctx;
} ctx;

static llmc_loc top_loc(const ctx *c) {
    llmc_loc loc = {c->doc->file, 1, 1};
    return loc;
}

static void report(ctx *c, llmc_severity sev, llmc_loc loc, const char *key, const char *fmt, va_list ap) {
    if (loc.line <= 0) {
        /* nodes from the JSON fallback carry no position: point at the file */
        loc.line = 0;
        loc.col = 0;
    }
    llmc_diag_addv(c->d, sev, loc, key, fmt, ap);
}

static void err_at(ctx *c, llmc_loc loc, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void err_at(ctx *c, llmc_loc loc, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(c, LLMC_SEV_ERROR, loc, key, fmt, ap);
    va_end(ap);
}

static void warn_at(ctx *c, llmc_loc loc, const char *key, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void warn_at(ctx *c, llmc_loc loc, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(c, LLMC_SEV_WARNING, loc, key, fmt, ap);
    va_end(ap);
}

static llmc_loc node_loc(const ctx *c, const llmc_doc_node *n) { return llmc_doc_loc(c->doc, n); }
static llmc_loc key_loc(const ctx *c, const llmc_doc_entry *e) { return llmc_doc_key_loc(c->doc, e); }
static llmc_loc entry_loc(const ctx *c, const llmc_doc_entry *e) { return llmc_doc_entry_loc(c->doc, e); }


static const llmc_doc_entry *given(const llmc_doc_node *map, const char *key) {
    const llmc_doc_entry *e = llmc_doc_map_find(map, key);
    return llmc_doc_value(e) ? e : NULL;
}

/* "'abc'" / "the quoted string '32000'" / "a mapping" for "expected X, got Y" messages */
static const char *got(const llmc_doc_node *n, char *buf, size_t len) {
    if (!n || n->kind != LLMC_DOC_SCALAR || n->is_null) return llmc_doc_kind_desc(n);
    int show = n->len > 40 ? 40 : (int)n->len;
    snprintf(buf, len, "%s'%.*s%s'", n->quoted ? "the quoted string " : "", show, n->text, n->len > 40 ? "..." : "");
    return buf;
}

static void join_names(const char *const *names, size_t n, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++) {
        int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

static void path_join(char *out, size_t len, const char *prefix, const char *key) {
    if (prefix && prefix[0]) snprintf(out, len, "%s.%s", prefix, key);
    else snprintf(out, len, "%s", key);
}

/* ---- typed readers ------------------------------------------------------------------------------
 * Each returns V_ABSENT (not written, or null), V_OK (value stored) or V_BAD (error reported). */

typedef enum { V_ABSENT = 0, V_OK, V_BAD } vstate;

static void check_keys(ctx *c, const llmc_doc_node *map, const char *prefix, const char *const *keys, size_t n) {
    for (size_t i = 0; i < map->n_entries; i++) {
        const llmc_doc_entry *e = &map->entries[i];
        bool known = false;
        for (size_t k = 0; k < n && !known; k++) known = !strcmp(e->key, keys[k]);
        if (known) continue;
        char path[256];
        path_join(path, sizeof path, prefix, e->key);
        const char *close = llmc_closest(e->key, keys, n);
        if (close) {
            err_at(c, key_loc(c, e), path, "unknown key (did you mean '%s'?)", close);
        } else if (n <= 8) {
            char list[256];
            join_names(keys, n, list, sizeof list);
            err_at(c, key_loc(c, e), path, "unknown key (expected one of %s)", list);
        } else {
            err_at(c, key_loc(c, e), path, "unknown key (docs/spec.md lists the keys)");
        }
    }
}

static vstate read_map(ctx *c, const llmc_doc_entry *e, const char *path, const llmc_doc_node **out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    *out = NULL;
    if (!n) return V_ABSENT;
    if (n->reported) return V_BAD;
    if (n->kind != LLMC_DOC_MAP) {
        char buf[80];
        err_at(c, entry_loc(c, e), path, "expected a mapping of keys to values, got %s", got(n, buf, sizeof buf));
        return V_BAD;
    }
    *out = n;
    return V_OK;
}

/* Plain decimal integer (optional sign, '_' separators between digits). 1 = syntax, 2 = overflow. */
static int parse_int64(const char *t, int64_t *out) {
    const char *p = t;
    bool neg = false;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (!isdigit((unsigned char)*p)) return 1;
    uint64_t v = 0;
    bool overflow = false;
    for (; *p; p++) {
        if (*p == '_' && isdigit((unsigned char)p[1]) && p > t && isdigit((unsigned char)p[-1])) continue;
        if (!isdigit((unsigned char)*p)) return 1;
        if (!llmc_mul_u64(v, 10, &v) || !llmc_add_u64(v, (uint64_t)(*p - '0'), &v)) overflow = true;
    }
    if (overflow || v > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) return 2;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static vstate read_int(ctx *c, const llmc_doc_entry *e, const char *path, int64_t min, int64_t max, int64_t *out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n) return V_ABSENT;
    if (n->reported) return V_BAD;
    char buf[80];
    int64_t v = 0;
    int rc = n->kind == LLMC_DOC_SCALAR && !n->quoted ? parse_int64(n->text, &v) : 1;
    if (rc == 1) {
        err_at(c, entry_loc(c, e), path, "expected an integer, got %s", got(n, buf, sizeof buf));
        return V_BAD;
    }
    if (rc == 2 || v > max) {
        err_at(c, node_loc(c, n), path, "must be <= %lld (got %s)", (long long)max, n->text);
        return V_BAD;
    }
    if (v < min) {
        err_at(c, node_loc(c, n), path, "must be >= %lld (got %s)", (long long)min, n->text);
        return V_BAD;
    }
    *out = v;
    return V_OK;
}

/* A finite decimal number written plainly (no quotes, no hex, no .inf/.nan). */
static vstate read_number(ctx *c, const llmc_doc_entry *e, const char *path, double *out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n) return V_ABSENT;
    if (n->reported) return V_BAD;
    char buf[80];
    bool ok = n->kind == LLMC_DOC_SCALAR && !n->quoted && n->len > 0 && strcspn(n->text, "xXnN_ ") == n->len;
    double v = 0;
    if (ok) {
        char *end;
        errno = 0;
        v = strtod(n->text, &end);
        ok = *end == '\0' && (isdigit((unsigned char)n->text[0]) || n->text[0] == '-' || n->text[0] == '+' ||
                              n->text[0] == '.');
        if (ok && (errno == ERANGE || !isfinite(v))) {
            err_at(c, node_loc(c, n), path, "number is out of range (got %s)", n->text);
            return V_BAD;
        }
    }
    if (!ok) {
        err_at(c, entry_loc(c, e), path, "expected a number, got %s", got(n, buf, sizeof buf));
        return V_BAD;
    }
    *out = v;
    return V_OK;
}

/* read_number plus "> 0" */
static vstate read_positive(ctx *c, const llmc_doc_entry *e, const char *path, double *out) {
    double v;
    vstate st = read_number(c, e, path, &v);
    if (st != V_OK) return st;
    if (!(v > 0)) {
        err_at(c, node_loc(c, e->value), path, "must be > 0 (got %s)", e->value->text);
        return V_BAD;
    }
    *out = v;
    return V_OK;
}

static vstate read_bool(ctx *c, const llmc_doc_entry *e, const char *path, bool *out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n) return V_ABSENT;
    if (n->reported) return V_BAD;
    if (n->kind == LLMC_DOC_SCALAR && !n->quoted) {
        const char *t = n->text;
        if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) { *out = true; return V_OK; }
        if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) { *out = false; return V_OK; }
    }
    char buf[80];
    err_at(c, entry_loc(c, e), path, "expected true or false, got %s", got(n, buf, sizeof buf));
    return V_BAD;
}

static vstate read_enum(ctx *c, const llmc_doc_entry *e, const char *path, const char *(*name_of)(int), int first,
                        int count, int *out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n) return V_ABSENT;
    if (n->reported) return V_BAD;
    const char *names[16];
    int nn = 0;
    for (int i = first; i < count && nn < 16; i++) names[nn++] = name_of(i);
    if (n->kind == LLMC_DOC_SCALAR) {
        for (int i = 0; i < nn; i++)
            if (!strcmp(n->text, names[i])) { *out = first + i; return V_OK; }
    }
    char list[256], buf[80];
    join_names(names, (size_t)nn, list, sizeof list);
    if (n->kind == LLMC_DOC_SCALAR) {
        int show = n->len > 40 ? 40 : (int)n->len;
        err_at(c, node_loc(c, n), path, "unknown value '%.*s%s' (expected one of %s)", show, n->text,
               n->len > 40 ? "..." : "", list);
    } else {
        err_at(c, entry_loc(c, e), path, "expected one of %s, got %s", list, got(n, buf, sizeof buf));
    }
    return V_BAD;
}

/* adapters so read_enum can take every name table */
static const char *attention_name(int k) { return llmc_attention_name((llmc_attention_kind)k); }
static const char *norm_name(int k) { return llmc_norm_name((llmc_norm_kind)k); }
static const char *activation_name(int k) { return llmc_activation_name((llmc_activation_kind)k); }
static const char *positional_name(int k) { return llmc_positional_name((llmc_positional_kind)k); }
static const char *scaling_name(int k) { return llmc_rope_scaling_name((llmc_rope_scaling_kind)k); }
static const char *precision_name(int k) { return llmc_precision_name((llmc_precision)k); }
static const char *quantize_name(int k) { return llmc_quantize_name((llmc_quantize)k); }
static const char *init_name(int k) { return llmc_init_scheme_name((llmc_init_scheme)k); }
static const char *tokenizer_name(int k) { return llmc_tokenizer_name((llmc_tokenizer_kind)k); }
static const char *pre_tokenizer_name(int k) { return pre_tokenizer_names[k]; }
static const char *normalization_name(int k) { return normalization_names[k]; }
static const char *format_name(int k) { return k == 0 ? "text" : "jsonl"; }
static const char *moe_routing_name(int k) { return llmc_moe_routing_name((llmc_moe_routing)k); }

static vstate read_string(ctx *c, const llmc_doc_entry *e, const char *path, char **out) {
    const llmc_doc_node *n = llmc_doc_value(e);
    if (!n) return V_ABSENT;
    if (n->reported) return V_BAD;
    if (n->kind != LLMC_DOC_SCALAR) {
        err_at(c, key_loc(c, e), path, "expected a string, got %s", llmc_doc_kind_desc(n));
        return V_BAD;
    }
    if (strlen(n->text) != n->len || n->len == 0) {
        err_at(c, node_loc(c, n), path, n->len ? "must not contain a NUL character" : "must not be empty");
        return V_BAD;
    }
    char *s = llmc_strdup(n->text);
    if (!s) {
        err_at(c, node_loc(c, n), path, "out of memory");
        return V_BAD;
    }
    free(*out);
    *out = s;
    return V_OK;
}

/* Plugin names (template, solver, emitters) end up in file and symbol lookups: keep them plain. */
static bool plugin_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return false;
    return true;
}

static vstate read_plugin_name(ctx *c, const llmc_doc_entry *e, const char *path, char **out) {
    vstate st = read_string(c, e, path, out);
    if (st != V_OK) return st;
    if (!plugin_name_ok(*out)) {
        char buf[80];
        err_at(c, node_loc(c, e->value), path,
               "expected a plugin name (1-64 letters, digits, '_', '-' or '.'), got %s", got(e->value, buf, sizeof buf));
        free(*out);
        *out = NULL;
        return V_BAD;
    }
    return V_OK;
}

/* ---- sections -------------------------------------------------------------------------------- */

static bool name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !strcmp(s, ".") || !strcmp(s, "..")) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == '\\' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* file stem of the source path, made safe to use as a model name */
static char *default_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) len = (size_t)(dot - base);
    if (len == 0 || base[0] == '<') return llmc_strdup("model");
    if (len > 128) len = 128;
    char *name = llmc_strndup(base, len);
    if (!name) return NULL;
    for (char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') *p = '_';
    if (!name_ok(name)) { free(name); return llmc_strdup("model"); }
    return name;
}

static void read_target_params(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_entry *e = given(root, "target_params"), *ea = given(root, "target_active_params");
    if (e && ea) {
        err_at(c, key_loc(c, ea), "target_active_params",
               "a spec has one budget: target_params (every parameter) or target_active_params (what one token "
               "reads), not both");
        return;
    }
    const char *key = "target_params";
    if (ea) { /* the same count syntax; the budget measures the active parameters */
        e = ea;
        key = "target_active_params";
        c->s->target_active = true;
    }
    c->e_target = e;
    if (!e) return;
    const llmc_doc_node *n = e->value;
    char buf[80];
    if (n->reported) return;
    if (n->kind != LLMC_DOC_SCALAR) {
        err_at(c, key_loc(c, e), key, "expected a parameter count such as 7B, 125M or 7e9, got %s",
               got(n, buf, sizeof buf));
        return;
    }
    if (n->text[0] == '-') {
        err_at(c, node_loc(c, n), key, "must be >= 1 (got %s)", n->text);
        return;
    }
    if (!strcmp(n->text, "compute_optimal") && !c->s->target_active) {
        /* sized from the dataset once its tokens are counted (core/dataset.c) */
        c->s->has_target_params = true;
        c->s->target_compute_optimal = true;
        return;
    }
    uint64_t v = 0;
    int rc = llmc_parse_count(n->text, &v);
    if (rc == 3) {
        err_at(c, node_loc(c, n), key, "must be a whole number of parameters (got %s)", n->text);
    } else if (rc == 2 || (rc == 0 && v > (uint64_t)INT64_MAX)) {
        err_at(c, node_loc(c, n), key, "must be <= %lld (got %s)", (long long)INT64_MAX, n->text);
    } else if (rc != 0) {
        err_at(c, node_loc(c, n), key, "expected a parameter count such as 7B, 125M or 7e9, got %s",
               got(n, buf, sizeof buf));
    } else if (v == 0) {
        err_at(c, node_loc(c, n), key, "must be >= 1 (got %s)", n->text);
    } else {
        c->s->has_target_params = true;
        c->s->target_params = v;
    }
}

static void read_dims(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    const llmc_doc_entry *e = llmc_doc_map_find(root, "dims");
    if (read_map(c, e, "dims", &map) != V_OK) {
        if (llmc_doc_value(e)) c->e_dims = e; /* written, if wrongly: not "neither" */
        return;
    }
    const char *names[LLMC_DIM_COUNT];
    for (int i = 0; i < LLMC_DIM_COUNT; i++) names[i] = llmc_dim_name((llmc_dim_id)i);
    check_keys(c, map, "dims", names, LLMC_DIM_COUNT);
    bool any = false;
    for (int i = 0; i < LLMC_DIM_COUNT; i++) {
        const llmc_doc_entry *de = given(map, names[i]);
        if (!de) continue;
        any = true;
        char path[64];
        path_join(path, sizeof path, "dims", names[i]);
        int64_t v;
        if (read_int(c, de, path, 1, MAX_DIM_VALUE, &v) == V_OK) {
            llmc_dims_put(&c->s->dims, (llmc_dim_id)i, v);
            c->e_dim[i] = de;
        }
    }
    /* any written entry counts as "dims given", even a wrong one (no "neither" on top of its
     * error); entries written as null do not */
    for (size_t i = 0; i < map->n_entries && !any; i++) any = llmc_doc_value(&map->entries[i]) != NULL;
    if (any) c->e_dims = e;
}

static void read_rope(ctx *c, const llmc_doc_node *root) {
    llmc_rope_params *r = &c->s->rope;
    const llmc_doc_node *map;
    c->e_rope = given(root, "rope");
    if (read_map(c, c->e_rope, "rope", &map) != V_OK) return;
    check_keys(c, map, "rope", rope_keys, COUNT_OF(rope_keys));
    read_positive(c, given(map, "theta"), "rope.theta", &r->theta);
    c->e_rope_fraction = given(map, "fraction");
    double fr;
    if (read_number(c, c->e_rope_fraction, "rope.fraction", &fr) == V_OK) {
        if (fr > 0 && fr <= 1)
            r->fraction = fr;
        else
            err_at(c, node_loc(c, c->e_rope_fraction->value), "rope.fraction",
                   "must be in (0, 1], the share of each head's dims that RoPE rotates (got %s)",
                   c->e_rope_fraction->value->text);
    }

    const llmc_doc_node *sc;
    const llmc_doc_entry *se = given(map, "scaling");
    if (read_map(c, se, "rope.scaling", &sc) != V_OK) return;
    check_keys(c, sc, "rope.scaling", scaling_keys, COUNT_OF(scaling_keys));
    const llmc_doc_entry *te = given(sc, "type");
    int kind = LLMC_ROPE_SCALING_NONE;
    vstate st = read_enum(c, te, "rope.scaling.type", scaling_name, LLMC_ROPE_SCALING_LINEAR, LLMC_ROPE_SCALING_COUNT,
                          &kind);
    if (st == V_ABSENT) {
        err_at(c, key_loc(c, se), "rope.scaling.type",
               "required when rope.scaling is given (expected one of linear, dynamic, yarn, llama3)");
    }
    const llmc_doc_entry *fe = given(sc, "factor");
    vstate fst = read_positive(c, fe, "rope.scaling.factor", &r->factor);
    if (st == V_OK && fst == V_ABSENT)
        err_at(c, node_loc(c, te->value), "rope.scaling.factor", "required when rope.scaling.type is %s (a number > 0)",
               llmc_rope_scaling_name((llmc_rope_scaling_kind)kind));

    const llmc_doc_entry *oe = given(sc, "original_context_length");
    const llmc_doc_entry *lo = given(sc, "low_freq_factor"), *hi = given(sc, "high_freq_factor");
    const llmc_doc_entry *bf = given(sc, "beta_fast"), *bs = given(sc, "beta_slow");
    bool ok_lo = read_positive(c, lo, "rope.scaling.low_freq_factor", &r->low_freq_factor) == V_OK;
    bool ok_hi = read_positive(c, hi, "rope.scaling.high_freq_factor", &r->high_freq_factor) == V_OK;
    bool ok_bf = read_positive(c, bf, "rope.scaling.beta_fast", &r->beta_fast) == V_OK;
    bool ok_bs = read_positive(c, bs, "rope.scaling.beta_slow", &r->beta_slow) == V_OK;
    c->ok_scaling_ctx = read_int(c, oe, "rope.scaling.original_context_length", 1, MAX_DIM_VALUE,
                                 &r->original_context_length) == V_OK;
    if (st != V_OK) return;
    r->scaling = (llmc_rope_scaling_kind)kind;
    const char *tname = llmc_rope_scaling_name(r->scaling);

    /* keys that belong to another scaling type are a contradiction, not silently ignored */
    if (oe && r->scaling == LLMC_ROPE_SCALING_LINEAR)
        err_at(c, key_loc(c, oe), "rope.scaling.original_context_length",
               "only applies to rope.scaling.type dynamic, yarn or llama3 (type is %s)", tname);
    if (r->scaling != LLMC_ROPE_SCALING_LLAMA3) {
        if (lo) err_at(c, key_loc(c, lo), "rope.scaling.low_freq_factor", "only applies to rope.scaling.type llama3 (type is %s)", tname);
        if (hi) err_at(c, key_loc(c, hi), "rope.scaling.high_freq_factor", "only applies to rope.scaling.type llama3 (type is %s)", tname);
    } else if (r->high_freq_factor <= r->low_freq_factor && (ok_lo || ok_hi) && !(lo && !ok_lo) && !(hi && !ok_hi)) {
        err_at(c, hi ? key_loc(c, hi) : key_loc(c, lo), "rope.scaling.high_freq_factor",
               "must be greater than rope.scaling.low_freq_factor (got %g <= %g)", r->high_freq_factor, r->low_freq_factor);
    }
    if (r->scaling != LLMC_ROPE_SCALING_YARN) {
        if (bf) err_at(c, key_loc(c, bf), "rope.scaling.beta_fast", "only applies to rope.scaling.type yarn (type is %s)", tname);
        if (bs) err_at(c, key_loc(c, bs), "rope.scaling.beta_slow", "only applies to rope.scaling.type yarn (type is %s)", tname);
    } else if (r->beta_fast <= r->beta_slow && (ok_bf || ok_bs) && !(bf && !ok_bf) && !(bs && !ok_bs)) {
        err_at(c, bf ? key_loc(c, bf) : key_loc(c, bs), "rope.scaling.beta_fast",
               "must be greater than rope.scaling.beta_slow (got %g <= %g)", r->beta_fast, r->beta_slow);
    }
}

static void read_relative(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    c->e_relative = given(root, "relative_attention");
    if (read_map(c, c->e_relative, "relative_attention", &map) != V_OK) return;
    check_keys(c, map, "relative_attention", relative_keys, COUNT_OF(relative_keys));
    /* T5 bucketing halves the buckets per direction and again for the exact range */
    bool ok_nb = read_int(c, given(map, "num_buckets"), "relative_attention.num_buckets", 4, 1 << 20,
                          &c->s->relative_num_buckets) != V_BAD;
    const llmc_doc_entry *md = given(map, "max_distance");
    bool ok_md = read_int(c, md, "relative_attention.max_distance", 1, MAX_DIM_VALUE, &c->s->relative_max_distance) != V_BAD;
    if (ok_nb && ok_md && c->s->relative_max_distance <= c->s->relative_num_buckets / 2)
        err_at(c, md ? node_loc(c, md->value) : key_loc(c, c->e_relative), "relative_attention.max_distance",
               "must be greater than relative_attention.num_buckets / 2, where log-spaced buckets start (got %lld <= %lld)",
               (long long)c->s->relative_max_distance, (long long)(c->s->relative_num_buckets / 2));
}

/* moe: {num_experts, experts_per_token, ...}: both counts are required (no published default) */
#define MAX_EXPERTS 4096
static void read_moe(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    const llmc_doc_entry *me = given(root, "moe");
    if (read_map(c, me, "moe", &map) != V_OK) return;
    check_keys(c, map, "moe", moe_keys, COUNT_OF(moe_keys));
    llmc_moe_spec *m = &c->s->moe;
    m->enabled = true;
    const llmc_doc_entry *ne = given(map, "num_experts"), *ke = given(map, "experts_per_token");
    vstate n_st = read_int(c, ne, "moe.num_experts", 2, MAX_EXPERTS, &m->num_experts);
    if (n_st == V_ABSENT)
        err_at(c, key_loc(c, me), "moe.num_experts", "is required in a moe mapping (expected 2..%d experts)", MAX_EXPERTS);
    const llmc_doc_node *kn = llmc_doc_value(ke);
    int64_t k = 0;
    vstate k_st = read_int(c, ke, "moe.experts_per_token", 1, MAX_EXPERTS, &k);
    if (k_st == V_ABSENT)
        err_at(c, key_loc(c, me), "moe.experts_per_token", "is required in a moe mapping (expected 1..num_experts)");
    else if (k_st == V_OK && n_st == V_OK && k > m->num_experts)
        err_at(c, node_loc(c, kn), "moe.experts_per_token",
               "a token cannot be routed to more experts than there are (expected 1..%lld, got %lld)",
               (long long)m->num_experts, (long long)k);
    if (k_st == V_OK) m->experts_per_token = k;
    /* Qwen2-MoE's one shared expert; more than one has no family here (DeepSeek's are one wider MLP) */
    read_int(c, given(map, "num_shared_experts"), "moe.num_shared_experts", 0, 1, &m->num_shared_experts);
    const llmc_doc_entry *se = given(map, "shared_expert_intermediate_size"), *sg = given(map, "shared_expert_gate");
    read_int(c, se, "moe.shared_expert_intermediate_size", 1, MAX_DIM_VALUE, &m->shared_expert_intermediate_size);
    read_bool(c, sg, "moe.shared_expert_gate", &m->shared_expert_gate);
    if (m->num_shared_experts == 0 && (se || sg))
        err_at(c, key_loc(c, se ? se : sg), se ? "moe.shared_expert_intermediate_size" : "moe.shared_expert_gate",
               "describes the shared expert, which needs moe.num_shared_experts: 1 (got 0)");
    read_int(c, given(map, "expert_intermediate_size"), "moe.expert_intermediate_size", 1, MAX_DIM_VALUE,
             &m->expert_intermediate_size);
    int r;
    if (read_enum(c, given(map, "routing"), "moe.routing", moe_routing_name, 0, LLMC_MOE_ROUTING_COUNT, &r) == V_OK)
        m->routing = (llmc_moe_routing)r;
    read_bool(c, given(map, "normalize_topk"), "moe.normalize_topk", &m->normalize_topk);
    const llmc_doc_entry *ae = given(map, "aux_loss_weight");
    double w;
    if (read_number(c, ae, "moe.aux_loss_weight", &w) == V_OK) {
        if (w >= 0 && w <= 1) m->aux_loss_weight = w;
        else err_at(c, node_loc(c, ae->value), "moe.aux_loss_weight", "must be in [0, 1] (got %s)", ae->value->text);
    }
}

static void read_bias(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    if (read_map(c, given(root, "bias"), "bias", &map) != V_OK) return;
    check_keys(c, map, "bias", bias_keys, COUNT_OF(bias_keys));
    llmc_bias_flags *b = &c->s->bias;
    bool *flags[] = {&b->qkv, &b->attn_out, &b->mlp, &b->norm, &b->lm_head};
    for (size_t i = 0; i < COUNT_OF(bias_keys); i++) {
        char path[64];
        path_join(path, sizeof path, "bias", bias_keys[i]);
        read_bool(c, given(map, bias_keys[i]), path, flags[i]);
    }
}

static void read_weights(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    llmc_weights_params *w = &c->s->weights;
    if (read_map(c, given(root, "weights"), "weights", &map) != V_OK) return;
    check_keys(c, map, "weights", weights_keys, COUNT_OF(weights_keys));
    int init = w->init;
    if (read_enum(c, given(map, "init"), "weights.init", init_name, 0, LLMC_INIT_COUNT, &init) == V_OK)
        w->init = (llmc_init_scheme)init;
    read_positive(c, given(map, "std"), "weights.std", &w->std);
    int64_t seed;
    if (read_int(c, given(map, "seed"), "weights.seed", 0, INT64_MAX, &seed) == V_OK) w->seed = (uint64_t)seed;
    read_string(c, given(map, "checkpoint"), "weights.checkpoint", &w->checkpoint);
}

/* special_tokens: {bos: "<s>", eos: "</s>", ...}: role or free name -> token text */
static void read_special_tokens(ctx *c, const llmc_doc_entry *e) {
    const llmc_doc_node *map;
    llmc_tokenizer_spec *t = &c->s->tok;
    if (read_map(c, e, "tokenizer.special_tokens", &map) != V_OK) return;
    size_t n = map->n_entries ? map->n_entries : 1;
    t->special_names = calloc(n, sizeof *t->special_names);
    t->special_tokens = calloc(n, sizeof *t->special_tokens);
    if (!t->special_names || !t->special_tokens) { err_at(c, key_loc(c, e), "tokenizer.special_tokens", "out of memory"); return; }
    for (size_t i = 0; i < map->n_entries; i++) {
        const llmc_doc_entry *x = &map->entries[i];
        char path[192];
        snprintf(path, sizeof path, "tokenizer.special_tokens.%.64s", x->key);
        for (size_t k = 0; k < t->n_special; k++)
            if (!strcmp(t->special_tokens[k], x->value && x->value->kind == LLMC_DOC_SCALAR ? x->value->text : ""))
                err_at(c, node_loc(c, x->value), path, "token '%s' is already special_tokens.%s",
                       t->special_tokens[k], t->special_names[k]);
        char *tok = NULL;
        vstate st = read_string(c, x, path, &tok);
        if (st == V_ABSENT) err_at(c, key_loc(c, x), path, "expected the token text, got null");
        if (st != V_OK) continue;
        char *name = llmc_strdup(x->key);
        if (!name) { free(tok); err_at(c, key_loc(c, x), path, "out of memory"); return; }
        t->special_names[t->n_special] = name;
        t->special_tokens[t->n_special++] = tok;
    }
}

static void read_tokenizer(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_entry *e = given(root, "tokenizer");
    c->e_tokenizer = e;
    c->ok_tokenizer = true;
    if (!e) return;
    int kind = LLMC_TOKENIZER_NONE;
    if (e->value->reported) { c->ok_tokenizer = false; return; }
    if (e->value->kind == LLMC_DOC_SCALAR) {
        /* shorthand: tokenizer: byte */
        if (read_enum(c, e, "tokenizer", tokenizer_name, 0, LLMC_TOKENIZER_COUNT, &kind) == V_OK)
            c->s->tokenizer = (llmc_tokenizer_kind)kind;
        else c->ok_tokenizer = false;
        return;
    }
    const llmc_doc_node *map;
    if (read_map(c, e, "tokenizer", &map) != V_OK) { c->ok_tokenizer = false; return; }
    check_keys(c, map, "tokenizer", tokenizer_keys, COUNT_OF(tokenizer_keys));
    llmc_tokenizer_spec *t = &c->s->tok;
    /* type: none and byte as before; any other name is a tokenizer plugin to train */
    const llmc_doc_entry *te = given(map, "type");
    char *type = NULL;
    vstate st = read_plugin_name(c, te, "tokenizer.type", &type);
    if (st == V_OK) {
        bool builtin = false;
        for (int k = 0; k < LLMC_TOKENIZER_COUNT; k++)
            if (!strcmp(type, tokenizer_name(k))) {
                c->s->tokenizer = (llmc_tokenizer_kind)k;
                builtin = true;
            }
        if (builtin) free(type);
        else t->type = type;
    }
    if (st == V_BAD) c->ok_tokenizer = false;
    const llmc_doc_entry *ve = given(map, "vocab_size");
    /* (refused below for a tokenizer that is not trained: one message is enough) */
    if (read_int(c, ve, "tokenizer.vocab_size", 1, MAX_DIM_VALUE, &t->vocab_size) == V_OK && c->ok_vocab && t->type &&
        t->vocab_size != c->s->vocab_size)
        err_at(c, node_loc(c, ve->value), "tokenizer.vocab_size",
               "differs from the model's vocab_size (expected %lld, got %lld): the embedding has one row per token "
               "id; set both to the same value (or drop tokenizer.vocab_size)",
               (long long)c->s->vocab_size, (long long)t->vocab_size);
    const llmc_doc_entry *pe = given(map, "pre_tokenizer");
    int pk;
    if (read_enum(c, pe, "tokenizer.pre_tokenizer", pre_tokenizer_name, 0, (int)COUNT_OF(pre_tokenizer_names), &pk) == V_OK) {
        t->pre_tokenizer = llmc_strdup(pre_tokenizer_names[pk]);
        if (!t->pre_tokenizer) err_at(c, key_loc(c, pe), "tokenizer.pre_tokenizer", "out of memory");
    }
    read_special_tokens(c, given(map, "special_tokens"));
    bool bf;
    const llmc_doc_entry *be = given(map, "byte_fallback");
    if (read_bool(c, be, "tokenizer.byte_fallback", &bf) == V_OK) t->byte_fallback = bf;
    const llmc_doc_entry *ne = given(map, "normalization");
    int nk;
    if (read_enum(c, ne, "tokenizer.normalization", normalization_name, 0, (int)COUNT_OF(normalization_names), &nk) ==
            V_OK && nk > 0) {
        /* sentencepiece normalizes with a precompiled character map, which llmc builds for NFKC
         * only: a tokenizer.model could not say what tokenizer.json does with the others */
        bool spm = (t->type && !strcmp(t->type, "unigram")) ||
                   (t->pre_tokenizer && !strcmp(t->pre_tokenizer, "metaspace"));
        if (spm && strcmp(normalization_names[nk], "nfkc") != 0 && strcmp(normalization_names[nk], "nmt_nfkc") != 0)
            err_at(c, node_loc(c, ne->value), "tokenizer.normalization",
                   "%s cannot be written into the tokenizer.model that unigram and metaspace BPE ship "
                   "(sentencepiece normalizes with a precompiled character map, which llmc builds for NFKC); "
                   "expected none, nfkc or nmt_nfkc with them, or another type or pre_tokenizer (gpt2, llama3, whitespace, "
                   "bert, char)", normalization_names[nk]);
        else if (!(t->normalization = llmc_strdup(normalization_names[nk])))
            err_at(c, key_loc(c, ne), "tokenizer.normalization", "out of memory");
    }
    read_string(c, given(map, "path"), "tokenizer.path", &c->s->tokenizer_path);

    /* the training keys mean something only to a trained tokenizer */
    const char *train_keys[] = {"vocab_size", "pre_tokenizer", "special_tokens", "byte_fallback", "normalization"};
    for (size_t i = 0; i < COUNT_OF(train_keys); i++) {
        const llmc_doc_entry *x = given(map, train_keys[i]);
        char path[64];
        path_join(path, sizeof path, "tokenizer", train_keys[i]);
        if (x && !t->type && st == V_OK)
            err_at(c, key_loc(c, x), path, "applies to a trained tokenizer only (tokenizer.type is %s; expected a "
                   "tokenizer plugin such as bpe, unigram, wordpiece or char)", tokenizer_name(c->s->tokenizer));
        else if (x && t->type && c->s->tokenizer_path)
            err_at(c, key_loc(c, x), path, "applies to training, but tokenizer.path loads an existing tokenizer");
    }
    if (t->type && c->s->tokenizer_path)
        err_at(c, key_loc(c, te), "tokenizer.type",
               "'%s' trains a tokenizer, but tokenizer.path loads one: give one of them (expected type: none or byte "
               "with path)", t->type);
}

static void read_dataset(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_entry *e = given(root, "dataset");
    if (!e || e->value->reported) return;
    llmc_spec *s = c->s;
    if (e->value->kind == LLMC_DOC_SCALAR) {
        /* shorthand: dataset: NAME (a label; nothing is read) */
        read_string(c, e, "dataset", &s->dataset);
        return;
    }
    const llmc_doc_node *map;
    if (read_map(c, e, "dataset", &map) != V_OK) return;
    check_keys(c, map, "dataset", dataset_keys, COUNT_OF(dataset_keys));
    llmc_dataset_spec *ds = &s->data;
    read_string(c, given(map, "name"), "dataset.name", &s->dataset);
    const llmc_doc_entry *pe = given(map, "paths");
    if (pe && pe->value->kind == LLMC_DOC_SCALAR) {
        /* one path written without a list */
        char *p = NULL;
        if (read_string(c, pe, "dataset.paths", &p) == V_OK) {
            ds->paths = malloc(sizeof *ds->paths);
            if (!ds->paths) { free(p); err_at(c, key_loc(c, pe), "dataset.paths", "out of memory"); }
            else { ds->paths[0] = p; ds->n_paths = 1; }
        }
    } else if (pe && pe->value->kind == LLMC_DOC_SEQ) {
        const llmc_doc_node *n = pe->value;
        if (n->n_items == 0) err_at(c, key_loc(c, pe), "dataset.paths", "must name at least one corpus file");
        ds->paths = calloc(n->n_items ? n->n_items : 1, sizeof *ds->paths);
        if (!ds->paths) { err_at(c, key_loc(c, pe), "dataset.paths", "out of memory"); return; }
        for (size_t i = 0; i < n->n_items; i++) {
            char path[48];
            snprintf(path, sizeof path, "dataset.paths[%zu]", i);
            llmc_doc_entry item = {NULL, n->items[i]->line, n->items[i]->col, n->items[i]};
            char *p = NULL;
            vstate st = read_string(c, &item, path, &p);
            if (st == V_ABSENT) err_at(c, node_loc(c, n->items[i]), path, "expected a file path, got null");
            if (st == V_OK) ds->paths[ds->n_paths++] = p;
        }
    } else if (pe) {
        err_at(c, key_loc(c, pe), "dataset.paths", "expected a list of corpus files, got %s", llmc_doc_kind_desc(pe->value));
    }
    const llmc_doc_entry *fe = given(map, "format");
    static const char *const formats[] = {"text", "jsonl"};
    int fk;
    if (read_enum(c, fe, "dataset.format", format_name, 0, 2, &fk) == V_OK) {
        ds->format = llmc_strdup(formats[fk]);
        if (!ds->format) err_at(c, key_loc(c, fe), "dataset.format", "out of memory");
    }
    const llmc_doc_entry *tf = given(map, "text_field");
    read_string(c, tf, "dataset.text_field", &ds->text_field);
    read_string(c, given(map, "split"), "dataset.split", &ds->split);
    if (tf && ds->format && !strcmp(ds->format, "text"))
        err_at(c, key_loc(c, tf), "dataset.text_field", "applies to format: jsonl only (format is text)");
    if (!pe) {
        const char *const data_keys[] = {"format", "text_field"};
        for (size_t i = 0; i < COUNT_OF(data_keys); i++) {
            const llmc_doc_entry *x = given(map, data_keys[i]);
            char path[48];
            path_join(path, sizeof path, "dataset", data_keys[i]);
            if (x) err_at(c, key_loc(c, x), path, "describes the files of dataset.paths, which is not given");
        }
    }
}

static void read_emit(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_entry *e = given(root, "emit");
    if (!e) return;
    const llmc_doc_node *n = e->value;
    llmc_spec *s = c->s;
    if (n->reported) return;
    if (n->kind == LLMC_DOC_SCALAR) {
        /* shorthand: emit: safetensors */
        char *one = NULL;
        if (read_plugin_name(c, e, "emit", &one) != V_OK) return;
        s->emit = malloc(sizeof *s->emit);
        if (!s->emit) { free(one); err_at(c, key_loc(c, e), "emit", "out of memory"); return; }
        s->emit[0] = one;
        s->n_emit = 1;
        return;
    }
    if (n->kind != LLMC_DOC_SEQ) {
        err_at(c, key_loc(c, e), "emit", "expected a list of emitter names, got %s", llmc_doc_kind_desc(n));
        return;
    }
    s->emit = calloc(n->n_items ? n->n_items : 1, sizeof *s->emit);
    if (!s->emit) { err_at(c, key_loc(c, e), "emit", "out of memory"); return; }
    llmc_key_index listed = llmc_key_index_init(); /* repeats found in O(1) each */
    for (size_t i = 0; i < n->n_items; i++) {
        char path[48];
        snprintf(path, sizeof path, "emit[%zu]", i);
        llmc_doc_entry item = {NULL, n->items[i]->line, n->items[i]->col, n->items[i]};
        char *name = NULL;
        vstate st = read_plugin_name(c, &item, path, &name);
        if (st == V_ABSENT) err_at(c, node_loc(c, n->items[i]), path, "expected an emitter name, got null");
        if (st != V_OK) continue;
        if (llmc_key_index_find(&listed, s->n_emit, name, strlen(name), llmc_key_at_strv, s->emit) !=
            LLMC_KEY_INDEX_NONE) {
            err_at(c, node_loc(c, n->items[i]), path, "emitter '%s' is listed twice", name);
            free(name);
            continue;
        }
        s->emit[s->n_emit++] = name;
        if (llmc_key_index_add(&listed, s->n_emit - 1, llmc_key_at_strv, s->emit) != 0)
            err_at(c, node_loc(c, n->items[i]), path, "out of memory");
    }
    llmc_key_index_free(&listed);
}

static void read_emit_options(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    if (read_map(c, given(root, "emit_options"), "emit_options", &map) != V_OK) return;
    llmc_spec *s = c->s;
    size_t total = 0;
    for (size_t i = 0; i < map->n_entries; i++) {
        const llmc_doc_node *v = map->entries[i].value;
        if (v && v->kind == LLMC_DOC_MAP) total += v->n_entries;
    }
    s->emit_options = calloc(total ? total : 1, sizeof *s->emit_options);
    if (!s->emit_options) { err_at(c, top_loc(c), "emit_options", "out of memory"); return; }
    for (size_t i = 0; i < map->n_entries; i++) {
        const llmc_doc_entry *em = &map->entries[i];
        char path[256];
        path_join(path, sizeof path, "emit_options", em->key);
        if (!plugin_name_ok(em->key)) {
            err_at(c, key_loc(c, em), path, "expected an emitter name (1-64 letters, digits, '_', '-' or '.')");
            continue;
        }
        const llmc_doc_node *opts;
        if (read_map(c, em, path, &opts) != V_OK) continue;
        for (size_t k = 0; k < opts->n_entries; k++) {
            const llmc_doc_entry *oe = &opts->entries[k];
            char opath[512];
            snprintf(opath, sizeof opath, "%s.%s", path, oe->key);
            if (oe->value && oe->value->reported) continue;
            if (!oe->value || oe->value->kind != LLMC_DOC_SCALAR) {
                err_at(c, key_loc(c, oe), opath, "expected a single value, got %s", llmc_doc_kind_desc(oe->value));
                continue;
            }
            /* the strings are the source tree's (s->doc), which lives as long as the spec */
            llmc_emit_option *o = &s->emit_options[s->n_emit_options++];
            o->emitter = em->key;
            o->key = oe->key;
            o->value = oe->value->text;
            o->loc = entry_loc(c, oe);
            o->loc.file = s->source_path;
        }
    }
}

static void read_solver_options(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_node *map;
    if (read_map(c, given(root, "solver_options"), "solver_options", &map) != V_OK) return;
    llmc_spec *s = c->s;
    s->solver_options = calloc(map->n_entries ? map->n_entries : 1, sizeof *s->solver_options);
    if (!s->solver_options) { err_at(c, top_loc(c), "solver_options", "out of memory"); return; }
    for (size_t i = 0; i < map->n_entries; i++) {
        const llmc_doc_entry *oe = &map->entries[i];
        char path[256];
        path_join(path, sizeof path, "solver_options", oe->key);
        if (oe->value && oe->value->reported) continue;
        if (!oe->value || oe->value->kind != LLMC_DOC_SCALAR) {
            err_at(c, key_loc(c, oe), path, "expected a single value, got %s", llmc_doc_kind_desc(oe->value));
            continue;
        }
        /* the strings are the source tree's (s->doc), which lives as long as the spec */
        llmc_solver_option *o = &s->solver_options[s->n_solver_options++];
        o->key = oe->key;
        o->value = oe->value->text;
        o->loc = entry_loc(c, oe);
        o->loc.file = s->source_path;
    }
}

double llmc_default_tolerance(uint64_t target_params) {
    if (target_params == 0) return 0.01;
    double t = 0.01 * sqrt(1e8 / (double)target_params);
    return t < 0.01 ? 0.01 : t > 0.1 ? 0.1 : t;
}

/* ---- constraints -------------------------------------------------------------------------------- */

/* offset of the first whole-word occurrence of name in text (0 if not found) */
static size_t word_offset(const char *text, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (left && right) return (size_t)(p - text);
    }
    return 0;
}

static const char *const expr_names[] = {
    "num_layers", "hidden_size", "intermediate_size", "num_heads", "num_kv_heads", "head_dim",
    "num_encoder_layers", "num_decoder_layers", "vocab_size", "context_length", "sliding_window", "target_params",
};

/* Column in the file of byte offset off inside a constraint scalar. Quoted scalars start one
 * column before their text. Block and multi-line scalars were folded, so offsets no longer match
 * columns: point at the scalar's start instead. (Escapes in one-line quoted scalars are rare
 * enough in expressions to ignore.) */
static llmc_loc text_loc(const ctx *c, const llmc_doc_node *n, size_t off) {
    llmc_loc loc = node_loc(c, n);
    if (loc.line > 0 && !n->multiline) loc.col += (int)off + (n->quoted ? 1 : 0);
    return loc;
}

typedef struct pinned_env {
    const llmc_spec *spec;
    bool vocab_ok, context_ok;
} pinned_env;

/* What is known at load time: pinned dims and the spec values that passed their checks. */
static int pinned_lookup(void *user, const char *name, int64_t *out) {
    const pinned_env *pe = user;
    if (!strcmp(name, "vocab_size") && !pe->vocab_ok) return 1;
    if (!strcmp(name, "context_length") && !pe->context_ok) return 1;
    llmc_expr_env env = {pe->spec, &pe->spec->dims};
    return llmc_expr_env_lookup(&env, name, out);
}

static void read_constraints(ctx *c, const llmc_doc_node *root) {
    const llmc_doc_entry *e = given(root, "constraints");
    if (!e) return;
    const llmc_doc_node *list = e->value;
    if (list->reported) return;
    if (list->kind != LLMC_DOC_SEQ) {
        char buf[80];
        err_at(c, entry_loc(c, e), "constraints", "expected a list of expressions such as 'hidden_size %% 128 == 0', got %s",
               got(list, buf, sizeof buf));
        return;
    }
    llmc_spec *s = c->s;
    s->constraints = calloc(list->n_items ? list->n_items : 1, sizeof *s->constraints);
    if (!s->constraints) { err_at(c, key_loc(c, e), "constraints", "out of memory"); return; }
    pinned_env pe = {s, c->ok_vocab, c->ok_context};
    for (size_t i = 0; i < list->n_items; i++) {
        const llmc_doc_node *n = list->items[i];
        char path[48];
        snprintf(path, sizeof path, "constraints[%zu]", i);
        if (n->reported) continue;
        if (n->kind != LLMC_DOC_SCALAR || n->is_null) {
            err_at(c, node_loc(c, n), path, "expected an expression such as 'num_layers <= 48', got %s",
                   llmc_doc_kind_desc(n));
            continue;
        }
        if (strlen(n->text) != n->len) {
            err_at(c, node_loc(c, n), path, "expression contains a NUL character");
            continue;
        }
        char msg[256];
        int col = 0;
        llmc_expr *x = llmc_expr_parse(n->text, &col, msg, sizeof msg);
        if (!x) {
            err_at(c, text_loc(c, n, col > 0 ? (size_t)col - 1 : 0), path, "%s", msg);
            continue;
        }
        const char *names[32];
        size_t nn = llmc_expr_names(x, names, 32);
        bool names_ok = true;
        for (size_t k = 0; k < nn && k < 32; k++) {
            if (llmc_expr_name_known(names[k])) continue;
            names_ok = false;
            const char *close = llmc_closest(names[k], expr_names, COUNT_OF(expr_names));
            llmc_loc loc = text_loc(c, n, word_offset(n->text, names[k]));
            if (close)
                err_at(c, loc, path, "unknown name '%s' (did you mean '%s'?)", names[k], close);
            else
                err_at(c, loc, path, "unknown name '%s' (expected a dimension such as hidden_size, or vocab_size, "
                       "context_length, sliding_window, target_params)", names[k]);
        }
        if (nn > 32) names_ok = false;
        llmc_constraint *k = &s->constraints[s->n_constraints];
        k->text = llmc_strdup(n->text);
        if (!k->text) { llmc_expr_free(x); err_at(c, node_loc(c, n), path, "out of memory"); continue; }
        k->expr = x;
        k->loc = text_loc(c, n, 0);
        k->loc.file = s->source_path;
        s->n_constraints++;

        /* a constraint over values that are all pinned can be checked now */
        if (!names_ok) continue;
        bool all_known = true;
        for (size_t j = 0; j < nn && all_known; j++) {
            int64_t v;
            all_known = pinned_lookup(&pe, names[j], &v) == 0;
        }
        if (!all_known) continue;
        int64_t result;
        char err[160];
        if (llmc_expr_eval(x, pinned_lookup, &pe, &result, err, sizeof err) != 0) {
            err_at(c, text_loc(c, n, 0), path, "'%s' cannot be evaluated: %s", n->text, err);
        } else if (result == 0) {
            char vals[256];
            size_t o = 0;
            vals[0] = '\0';
            for (size_t j = 0; j < nn && o < sizeof vals; j++) {
                int64_t v = 0;
                pinned_lookup(&pe, names[j], &v);
                int w = snprintf(vals + o, sizeof vals - o, "%s%s = %lld", j ? ", " : "", names[j], (long long)v);
                if (w < 0) break;
                o += (size_t)w;
            }
            if (nn == 0)
                err_at(c, text_loc(c, n, 0), path, "'%s' is always false", n->text);
            else
                err_at(c, text_loc(c, n, 0), path, "'%s' is false for the values in this spec (%s)", n->text, vals);
        }
    }
}

/* ---- contradictions between keys ----------------------------------------------------------------- */

static int64_t dim(const ctx *c, llmc_dim_id id) { return c->s->dims.v[id]; }
static bool pinned(const ctx *c, llmc_dim_id id) { return llmc_dims_has(&c->s->dims, id); }

static void check_block_options(ctx *c);

static void check_contradictions(ctx *c) {
    llmc_spec *s = c->s;

    if (!c->e_target && !c->e_dims)
        err_at(c, top_loc(c), NULL,
               "neither target_params nor dims is given (set target_params, e.g. 125M, or pin dims such as "
               "num_layers and hidden_size)");

    if (!c->e_vocab && !llmc_doc_map_find(c->doc->root, "vocab_size"))
        err_at(c, top_loc(c), "vocab_size", "required key is missing (e.g. vocab_size: 32000)");
    else if (!c->e_vocab)
        err_at(c, entry_loc(c, llmc_doc_map_find(c->doc->root, "vocab_size")), "vocab_size",
               "required, got null (e.g. vocab_size: 32000)");

    /* heads */
    bool heads = pinned(c, LLMC_DIM_NUM_HEADS), kv = pinned(c, LLMC_DIM_NUM_KV_HEADS);
    int64_t nh = dim(c, LLMC_DIM_NUM_HEADS), nkv = dim(c, LLMC_DIM_NUM_KV_HEADS);
    bool heads_consistent = true;
    if (heads && kv) {
        const llmc_doc_entry *ke = c->e_dim[LLMC_DIM_NUM_KV_HEADS];
        if (nkv > nh) {
            err_at(c, node_loc(c, ke->value), "dims.num_kv_heads", "must be <= dims.num_heads (got %lld > %lld)",
                   (long long)nkv, (long long)nh);
            heads_consistent = false;
        } else if (nh % nkv != 0) {
            err_at(c, node_loc(c, ke->value), "dims.num_kv_heads",
                   "must divide dims.num_heads (%lld %% %lld = %lld; each key/value head serves a whole group of query heads)",
                   (long long)nh, (long long)nkv, (long long)(nh % nkv));
            heads_consistent = false;
        }
    }

    /* attention kind: explicit, or derived */
    bool sliding_given = c->e_sliding != NULL;
    if (c->e_attention && c->ok_attention) {
        llmc_loc at = node_loc(c, c->e_attention->value);
        switch (s->attention) {
        case LLMC_ATTN_MQA:
            if (kv && nkv != 1)
                err_at(c, at, "attention", "mqa needs dims.num_kv_heads = 1 (got %lld)", (long long)nkv);
            break;
        case LLMC_ATTN_MHA:
            if (kv && heads && nkv != nh && heads_consistent)
                err_at(c, at, "attention",
                       "mha needs dims.num_kv_heads equal to dims.num_heads (got %lld and %lld; use gqa for grouped heads)",
                       (long long)nkv, (long long)nh);
            break;
        case LLMC_ATTN_SLIDING_WINDOW:
            if (!sliding_given)
                err_at(c, at, "attention", "sliding_window attention needs the sliding_window key (window size in tokens)");
            break;
        default:
            break;
        }
        if (sliding_given && s->attention != LLMC_ATTN_SLIDING_WINDOW)
            err_at(c, key_loc(c, c->e_sliding), "sliding_window", "only applies to attention: sliding_window (attention is %s)",
                   llmc_attention_name(s->attention));
    } else if (!c->e_attention) {
        if (sliding_given) s->attention = LLMC_ATTN_SLIDING_WINDOW;
        else if (kv && (!heads || nkv < nh)) s->attention = LLMC_ATTN_GQA;
        else s->attention = LLMC_ATTN_MHA;
    }
    if (c->ok_sliding && c->ok_context && s->sliding_window > s->context_length)
        err_at(c, node_loc(c, c->e_sliding->value), "sliding_window", "must be <= context_length (got %lld > %lld)",
               (long long)s->sliding_window, (long long)s->context_length);

    /* positional encoding and its blocks */
    if (c->ok_positional) {
        const char *pos = llmc_positional_name(s->positional);
        const char *dflt = c->e_positional ? "" : ", the default";
        if (c->e_rope && s->positional != LLMC_POS_ROPE)
            err_at(c, key_loc(c, c->e_rope), "rope", "only applies to positional_encoding: rope (positional_encoding is %s%s)",
                   pos, dflt);
        if (c->e_alibi && s->positional != LLMC_POS_ALIBI)
            err_at(c, key_loc(c, c->e_alibi), "alibi_max_bias",
                   "only applies to positional_encoding: alibi (positional_encoding is %s%s)", pos, dflt);
        if (c->e_relative && s->positional != LLMC_POS_RELATIVE)
            err_at(c, key_loc(c, c->e_relative), "relative_attention",
                   "only applies to positional_encoding: relative (positional_encoding is %s%s)", pos, dflt);
    }

    /* head size */
    bool hidden = pinned(c, LLMC_DIM_HIDDEN_SIZE), hd = pinned(c, LLMC_DIM_HEAD_DIM);
    bool rope = c->ok_positional && s->positional == LLMC_POS_ROPE;
    if (hd) {
        if (rope && dim(c, LLMC_DIM_HEAD_DIM) % 2 != 0)
            err_at(c, node_loc(c, c->e_dim[LLMC_DIM_HEAD_DIM]->value), "dims.head_dim",
                   "must be even with positional_encoding: rope, which rotates pairs of channels (got %lld)",
                   (long long)dim(c, LLMC_DIM_HEAD_DIM));
    } else if (hidden && heads) {
        int64_t h = dim(c, LLMC_DIM_HIDDEN_SIZE);
        llmc_loc hl = node_loc(c, c->e_dim[LLMC_DIM_HIDDEN_SIZE]->value);
        if (h % nh != 0)
            err_at(c, hl, "dims.hidden_size",
                   "must be a multiple of dims.num_heads when dims.head_dim is not given (%lld %% %lld = %lld)",
                   (long long)h, (long long)nh, (long long)(h % nh));
        else if (rope && (h / nh) % 2 != 0)
            err_at(c, hl, "dims.hidden_size",
                   "gives an odd head size hidden_size / num_heads = %lld, but positional_encoding: rope needs it even",
                   (long long)(h / nh));
    }

    /* partial rotary: the rotated share of a head is whole pairs of channels */
    int64_t head = hd ? dim(c, LLMC_DIM_HEAD_DIM)
                 : hidden && heads && dim(c, LLMC_DIM_HIDDEN_SIZE) % nh == 0 ? dim(c, LLMC_DIM_HIDDEN_SIZE) / nh
                                                                           : 0;
    if (rope && c->e_rope_fraction && head > 0 && s->rope.fraction > 0 && s->rope.fraction <= 1) {
        double rotated = s->rope.fraction * (double)head;
        if (rotated != floor(rotated) || (int64_t)rotated % 2 != 0 || rotated < 2)
            err_at(c, node_loc(c, c->e_rope_fraction->value), "rope.fraction",
                   "rotates %g of the %lld dims of a head; RoPE rotates pairs of channels (expected fraction * "
                   "head_dim to be an even integer >= 2)",
                   rotated, (long long)head);
    }

    /* tokenizer vs vocabulary */
    if (c->ok_tokenizer && c->ok_vocab && s->tokenizer == LLMC_TOKENIZER_BYTE && s->vocab_size < 256)
        err_at(c, node_loc(c, c->e_vocab->value), "vocab_size",
               "must be >= 256 with tokenizer: byte, one id per byte value (got %lld)", (long long)s->vocab_size);

    /* ignored values: warn rather than fail */
    if (c->e_tolerance && !c->e_target)
        warn_at(c, key_loc(c, c->e_tolerance), "tolerance", "ignored without target_params (no parameter budget to meet)");
    if (c->e_norm_eps && c->ok_norm && s->norm == LLMC_NORM_NONE)
        warn_at(c, key_loc(c, c->e_norm_eps), "norm_eps", "ignored with norm: no_norm");

    /* the per-head norm is the block norm's kind; only RMSNorm (Qwen3, OLMo-2) is defined */
    if (s->qk_norm && c->ok_norm && s->norm != LLMC_NORM_RMSNORM)
        err_at(c, entry_loc(c, c->e_qk_norm), "qk_norm",
               "normalises each query and key head with RMSNorm, which needs norm: rmsnorm (norm is %s)",
               llmc_norm_name(s->norm));
    check_block_options(c);
}

/* ---- Gemma-2 style blocks: sandwich norms, (offset + w) RMSNorm, scaled embeddings, soft-capping,
 * the query scale and a per-layer window pattern ---- */
static const char *placement_name(int k) { return k == 0 ? "pre" : "sandwich"; }
static const char *embedding_scale_name(int k) { return k == 0 ? "none" : "sqrt_hidden"; }

static void read_block_options(ctx *c, const llmc_doc_node *root) {
    llmc_spec *s = c->s;
    int k;
    c->e_placement = given(root, "norm_placement");
    if (read_enum(c, c->e_placement, "norm_placement", placement_name, 0, 2, &k) == V_OK) s->sandwich_norm = k == 1;
    c->e_weight_offset = given(root, "norm_weight_offset");
    double off;
    if (read_number(c, c->e_weight_offset, "norm_weight_offset", &off) == V_OK) {
        if (off == 0.0 || off == 1.0) s->norm_weight_offset = off;
        else err_at(c, node_loc(c, c->e_weight_offset->value), "norm_weight_offset",
                    "must be 0 (norm scales by w) or 1 (by 1 + w, Gemma) (got %s)", c->e_weight_offset->value->text);
    }
    if (read_enum(c, given(root, "embedding_scale"), "embedding_scale", embedding_scale_name, 0, 2, &k) == V_OK)
        s->embedding_scale_sqrt_hidden = k == 1;
    read_positive(c, given(root, "attention_softcap"), "attention_softcap", &s->attention_softcap);
    read_positive(c, given(root, "final_logit_softcap"), "final_logit_softcap", &s->final_logit_softcap);
    read_positive(c, given(root, "query_pre_attn_scalar"), "query_pre_attn_scalar", &s->query_pre_attn_scalar);
    c->e_pattern = given(root, "sliding_window_pattern");
    if (read_int(c, c->e_pattern, "sliding_window_pattern", 2, MAX_DIM_VALUE, &s->sliding_window_pattern) != V_OK)
        s->sliding_window_pattern = 0;
}

static void check_block_options(ctx *c) {
    llmc_spec *s = c->s;
    if (s->norm_weight_offset != 0.0 && c->ok_norm && s->norm != LLMC_NORM_RMSNORM)
        err_at(c, node_loc(c, c->e_weight_offset->value), "norm_weight_offset",
               "applies to RMSNorm's scale (1 + w), which needs norm: rmsnorm (norm is %s; expected 0)",
               llmc_norm_name(s->norm));
    if (s->sandwich_norm && c->ok_norm && s->norm == LLMC_NORM_NONE)
        err_at(c, node_loc(c, c->e_placement->value), "norm_placement",
               "sandwich puts norms around each sub-layer, which needs a norm (norm is no_norm; expected pre)");
    if (c->e_pattern && s->sliding_window_pattern && (!c->e_attention || c->ok_attention) &&
        s->attention != LLMC_ATTN_SLIDING_WINDOW)
        err_at(c, key_loc(c, c->e_pattern), "sliding_window_pattern",
               "mixes windowed and global layers, which needs attention: sliding_window and sliding_window "
               "(attention is %s)",
               llmc_attention_name(s->attention));
}

static bool paths_written(const llmc_doc_node *root) {
    const llmc_doc_node *dm = llmc_doc_value(given(root, "dataset"));
    return dm && dm->kind == LLMC_DOC_MAP && given(dm, "paths");
}

/* compute_optimal needs tokens to count; dataset.paths need a tokenizer to count them with */
static void check_dataset_use(ctx *c, const llmc_doc_node *root) {
    const llmc_spec *s = c->s;
    bool counts = s->tok.type || s->tokenizer_path;
    if (s->target_compute_optimal && (!s->data.n_paths || !counts))
        err_at(c, node_loc(c, c->e_target->value), "target_params",
               "compute_optimal sizes the model at the dataset's tokens / 20, which needs %s",
               !s->data.n_paths ? "dataset.paths (the corpus files)"
                                : "a tokenizer to count them (tokenizer.type bpe, unigram, ... or tokenizer.path)");
    else if (s->tok.type && !s->data.n_paths && !paths_written(root)) { /* a bad paths said so already */
        const llmc_doc_node *tm = llmc_doc_value(given(root, "tokenizer"));
        err_at(c, node_loc(c, llmc_doc_value(given(tm, "type"))), "tokenizer.type",
               "'%s' is trained from a corpus: give dataset.paths (or tokenizer.path to load a trained one)",
               s->tok.type);
    } else if (s->data.n_paths && !counts && c->ok_tokenizer) {
        const llmc_doc_entry *de = given(root, "dataset");
        warn_at(c, key_loc(c, de), "dataset.paths",
                "not read: tokenizer is %s (give tokenizer.type bpe, unigram, wordpiece or char to train one, or "
                "tokenizer.path to load one)", llmc_tokenizer_name(s->tokenizer));
    }
}

/* ---- load ----------------------------------------------------------------------------------------- */

static void set_defaults(llmc_spec *s) {
    s->context_length = 2048;
    s->attention = LLMC_ATTN_MHA;
    s->norm = LLMC_NORM_RMSNORM;
    s->norm_eps = 1e-5;
    s->activation = LLMC_ACT_SWIGLU;
    s->positional = LLMC_POS_ROPE;
    s->rope.theta = 10000.0;
    s->rope.scaling = LLMC_ROPE_SCALING_NONE;
    s->rope.factor = 1.0;
    s->rope.low_freq_factor = 1.0;
    s->rope.high_freq_factor = 4.0;
    s->rope.beta_fast = 32.0;
    s->rope.beta_slow = 1.0;
    s->rope.fraction = 1.0;
    s->alibi_max_bias = 8.0;
    s->relative_num_buckets = 32;
    s->relative_max_distance = 128;
    s->bias.norm = true;
    s->precision = LLMC_PRECISION_FLOAT32;
    s->quantize = LLMC_QUANT_NONE;
    s->weights.init = LLMC_INIT_NORMAL;
    s->weights.std = 0.02;
    s->tokenizer = LLMC_TOKENIZER_NONE;
    s->moe.routing = LLMC_MOE_ROUTING_SOFTMAX_TOPK;
    s->moe.normalize_topk = true;
    s->moe.aux_loss_weight = 0.02;
    s->moe.shared_expert_gate = true;
    s->tok.byte_fallback = -1;
    s->tolerance = 0.01;
}

static void read_spec(ctx *c) {
    llmc_spec *s = c->s;
    const llmc_doc_node *root = c->doc->root;
    if (root->kind != LLMC_DOC_MAP) {
        err_at(c, node_loc(c, root), NULL, "a spec must be a mapping of keys to values (got %s)", llmc_doc_kind_desc(root));
        return;
    }
    check_keys(c, root, NULL, top_keys, COUNT_OF(top_keys));

    const llmc_doc_entry *e = given(root, "name");
    if (read_string(c, e, "name", &s->name) == V_OK && !name_ok(s->name))
        err_at(c, node_loc(c, e->value), "name",
               "must be 1-128 characters without '/', '\\' or control characters, and not '.' or '..'");
    read_plugin_name(c, given(root, "template"), "template", &s->template_name);
    read_plugin_name(c, given(root, "solver"), "solver", &s->solver);
    read_target_params(c, root);
    read_dims(c, root);

    c->e_vocab = given(root, "vocab_size");
    c->ok_vocab = read_int(c, c->e_vocab, "vocab_size", 1, MAX_DIM_VALUE, &s->vocab_size) == V_OK;
    c->e_context = given(root, "context_length");
    c->ok_context = read_int(c, c->e_context, "context_length", 1, MAX_DIM_VALUE, &s->context_length) != V_BAD;

    int k;
    c->e_attention = given(root, "attention");
    c->ok_attention = read_enum(c, c->e_attention, "attention", attention_name, 0, LLMC_ATTN_COUNT, &k) == V_OK;
    if (c->ok_attention) s->attention = (llmc_attention_kind)k;
    c->e_sliding = given(root, "sliding_window");
    c->ok_sliding = read_int(c, c->e_sliding, "sliding_window", 1, MAX_DIM_VALUE, &s->sliding_window) == V_OK;

    c->e_norm = given(root, "norm");
    vstate st = read_enum(c, c->e_norm, "norm", norm_name, 0, LLMC_NORM_COUNT, &k);
    if (st == V_OK) s->norm = (llmc_norm_kind)k;
    c->ok_norm = st != V_BAD;
    c->e_norm_eps = given(root, "norm_eps");
    read_positive(c, c->e_norm_eps, "norm_eps", &s->norm_eps);
    if (read_enum(c, given(root, "activation"), "activation", activation_name, 0, LLMC_ACT_COUNT, &k) == V_OK)
        s->activation = (llmc_activation_kind)k;

    c->e_positional = given(root, "positional_encoding");
    st = read_enum(c, c->e_positional, "positional_encoding", positional_name, 0, LLMC_POS_COUNT, &k);
    if (st == V_OK) s->positional = (llmc_positional_kind)k;
    c->ok_positional = st != V_BAD;
    read_rope(c, root);
    c->e_alibi = given(root, "alibi_max_bias");
    read_positive(c, c->e_alibi, "alibi_max_bias", &s->alibi_max_bias);
    read_relative(c, root);
    read_bias(c, root);
    c->e_qk_norm = given(root, "qk_norm");
    read_bool(c, c->e_qk_norm, "qk_norm", &s->qk_norm);
    read_moe(c, root);
    read_block_options(c, root);
    c->e_parallel = given(root, "parallel_residual");
    read_bool(c, c->e_parallel, "parallel_residual", &s->parallel_residual);
    read_bool(c, given(root, "tie_word_embeddings"), "tie_word_embeddings", &s->tie_word_embeddings);
    if (read_enum(c, given(root, "precision"), "precision", precision_name, 0, LLMC_PRECISION_COUNT, &k) == V_OK)
        s->precision = (llmc_precision)k;
    if (read_enum(c, given(root, "quantize"), "quantize", quantize_name, 0, LLMC_QUANT_COUNT, &k) == V_OK)
        s->quantize = (llmc_quantize)k;
    read_weights(c, root);
    read_tokenizer(c, root);
    read_dataset(c, root);

    c->e_tolerance = given(root, "tolerance");
    double tol;
    if (read_number(c, c->e_tolerance, "tolerance", &tol) == V_OK) {
        if (tol > 0 && tol < 1) s->tolerance = tol;
        else err_at(c, node_loc(c, c->e_tolerance->value), "tolerance", "must be > 0 and < 1 (got %s)",
                    c->e_tolerance->value->text);
    }
    /* compute_optimal: the default follows the budget once the dataset gives it (core/dataset.c) */
    if (!c->e_tolerance && s->has_target_params && !s->target_compute_optimal)
        s->tolerance = llmc_default_tolerance(s->target_params);
    read_emit(c, root);
    read_emit_options(c, root);
    read_solver_options(c, root);

    /* dependent defaults */
    if (!c->ok_scaling_ctx) s->rope.original_context_length = s->context_length;

    check_dataset_use(c, root);
    check_contradictions(c);
    read_constraints(c, root);
}

void llmc_spec_free(llmc_spec *s) {
    if (!s) return;
    free(s->source_path);
    free(s->name);
    free(s->template_name);
    free(s->solver);
    free(s->weights.checkpoint);
    free(s->tokenizer_path);
    free(s->dataset);
    free(s->tok.type);
    free(s->tok.pre_tokenizer);
    free(s->tok.normalization);
    for (size_t i = 0; i < s->tok.n_special; i++) {
        free(s->tok.special_names[i]);
        free(s->tok.special_tokens[i]);
    }
    free(s->tok.special_names);
    free(s->tok.special_tokens);
    for (size_t i = 0; i < s->data.n_paths; i++) free(s->data.paths[i]);
    free(s->data.paths);
    free(s->data.format);
    free(s->data.text_field);
    free(s->data.split);
    for (size_t i = 0; i < s->n_constraints; i++) {
        free(s->constraints[i].text);
        llmc_expr_free(s->constraints[i].expr);
    }
    free(s->constraints);
    for (size_t i = 0; i < s->n_emit; i++) free(s->emit[i]);
    free(s->emit);
    free(s->emit_options); /* their strings are s->doc's */
    free(s->solver_options); /* so are these */
    llmc_doc_free(s->doc);
    free(s);
}

static bool ends_with_json(const char *name) {
    size_t n = name ? strlen(name) : 0;
    return n >= 5 && !strcasecmp(name + n - 5, ".json");
}

static llmc_spec *load_into(const char *text, size_t len, const char *file, llmc_spec_format fmt, llmc_diags *mine) {
    if (fmt == LLMC_SPEC_FORMAT_AUTO) fmt = ends_with_json(file) ? LLMC_SPEC_FORMAT_JSON : LLMC_SPEC_FORMAT_YAML;
    bool doc_errors = false;
    llmc_doc *doc = llmc_doc_parse(text, len, file, fmt == LLMC_SPEC_FORMAT_JSON ? LLMC_DOC_JSON : LLMC_DOC_YAML, mine,
                                   &doc_errors);
    if (!doc) return NULL;
    llmc_spec *s = calloc(1, sizeof *s);
    if (!s || !(s->source_path = llmc_strdup(file))) {
        free(s);
        llmc_doc_free(doc);
        llmc_error(mine, NULL, "out of memory while loading the spec");
        return NULL;
    }
    s->doc = doc;
    set_defaults(s);
    ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.doc = doc;
    c.d = mine;
    read_spec(&c);
    if (!s->name) s->name = default_name(file);
    if (!s->template_name) s->template_name = llmc_strdup("decoder_only");
    if (!s->name || !s->template_name) llmc_error(mine, NULL, "out of memory while loading the spec");
    if (doc_errors || llmc_diags_errors(mine) > 0) {
        llmc_spec_free(s);
        return NULL;
    }
    return s;
}

llmc_spec *llmc_spec_load_string(const char *text, size_t len, const char *name, llmc_spec_format fmt, llmc_diags *d) {
    const char *file = name && name[0] ? name : "<string>";
    if (!text) {
        llmc_loc loc = {file, 0, 0};
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "no spec text given");
        return NULL;
    }
    /* A private list: "was there an error" must not depend on what d held before, and the
     * messages are handed over in file order. */
    llmc_diags *mine = llmc_diags_create();
    if (!mine) {
        llmc_error(d, NULL, "out of memory while loading the spec");
        return NULL;
    }
    llmc_spec *s = load_into(text, len, file, fmt, mine);
    llmc_diags_take_sorted(d, mine);
    llmc_diags_free(mine);
    return s;
}

llmc_spec *llmc_spec_load_file(const char *path, llmc_diags *d) {
    if (!path) {
        llmc_error(d, NULL, "no spec file given");
        return NULL;
    }
    size_t len = 0;
    char *text = llmc_read_file(path, LLMC_DOC_MAX_BYTES, &len);
    if (!text) {
        llmc_loc loc = {path, 0, 0};
        if (errno == EFBIG)
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "spec file is larger than %zu MiB", LLMC_DOC_MAX_BYTES >> 20);
        else
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, NULL, "cannot read the spec file: %s",
                          llmc_read_file_error(path, errno));
        return NULL;
    }
    llmc_spec *s = llmc_spec_load_string(text, len, path, LLMC_SPEC_FORMAT_AUTO, d);
    free(text);
    return s;
}
