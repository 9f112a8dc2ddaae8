/* The design prior (llmc/prior.h): the table of published models, a prior fitted to it, and
 * the scoring of shapes for one spec and budget. The formulas are in docs/solvers.md ("The
 * shape prior"); the constants below are its bandwidths. */
#include "llmc/prior.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "util.h"

/* config/published_models.yaml, embedded by CMakeLists.txt */
extern const char llmc_published_models_yaml[];
extern const size_t llmc_published_models_yaml_len;

#define SIZE_BANDWIDTH 0.5       /* ln(non-embedding params): models within ~1.6x count as similar */
#define STYLE_MISMATCH 0.7       /* weight factor per family choice that differs from the spec's */
#define VOCAB_MISMATCH 0.1       /* ... for another vocabulary size (the tokenizer says the family) */
#define ROUND_WEIGHT 0.5         /* the three roundness terms are correlated: each counts half */
#define MLP_SIZE_BANDWIDTH 1.5   /* the MLP rule is the family's more than the size's */
#define TEMPLATE_MISMATCH 0.1    /* ... and for a model of the other template */
#define WIDTH_BANDWIDTH 0.35     /* ln(attention width) for head_dim */
#define ATTN_BANDWIDTH 0.1       /* ln(attention width / hidden_size) of heads that do not span the width */
#define HEADS_BANDWIDTH 0.35     /* ln(num_heads): published head counts near the size */
#define ATTN_WINDOW_DROP 6.0     /* attention widths tried: where the density of A / H is this close to its best */
#define RATIO_BANDWIDTH 0.05     /* ln(intermediate / hidden): 5 %, finer than the gaps between family rules */
#define SMOOTHING 1.0            /* pseudo-count spread over the candidate values of categorical terms */
#define FLOOR (-50.0)            /* log-densities never go below this */
#define GRID_STEP 0.004
#define LN_SQRT_2PI 0.91893853320467274
#define MLP_WINDOW_DROP 12.0     /* the MLP window ends where the ratio term is this far below its best */

/* ---- the table ------------------------------------------------------------------------------ */

struct llmc_model_table {
    llmc_published_model *rows;
    size_t n;
    char **strings;             /* every string the rows point to */
    size_t n_strings, cap_strings;
};

static const char *keep(llmc_model_table *t, const char *s) {
    if (!s) return NULL;
    if (t->n_strings == t->cap_strings) {
        size_t cap = t->cap_strings ? 2 * t->cap_strings : 64;
        char **p = realloc(t->strings, cap * sizeof *p);
        if (!p) return NULL;
        t->strings = p;
        t->cap_strings = cap;
    }
    char *c = llmc_strdup(s);
    if (c) t->strings[t->n_strings++] = c;
    return c;
}

void llmc_model_table_free(llmc_model_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_strings; i++) free(t->strings[i]);
    free(t->strings);
    free(t->rows);
    free(t);
}

size_t llmc_model_table_size(const llmc_model_table *t) { return t ? t->n : 0; }
const llmc_published_model *llmc_model_table_at(const llmc_model_table *t, size_t i) {
    return t && i < t->n ? &t->rows[i] : NULL;
}

typedef struct reader {
    const llmc_doc *doc;
    llmc_diags *d;
    int errors;
} reader;

static void bad(reader *r, const llmc_doc_node *n, const char *key, const char *what) {
    llmc_diag_add(r->d, LLMC_SEV_ERROR, llmc_doc_loc(r->doc, n), key, "%s", what);
    r->errors++;
}

static const llmc_doc_node *field(const llmc_doc_node *map, const char *key) {
    return llmc_doc_value(llmc_doc_map_find(map, key));
}

static bool read_int(reader *r, const llmc_doc_node *map, const char *key, int64_t min, int64_t *out) {
    const llmc_doc_node *n = field(map, key);
    if (!n) return false;
    char *end = NULL;
    long long v = n->kind == LLMC_DOC_SCALAR ? strtoll(n->text, &end, 10) : 0;
    if (n->kind != LLMC_DOC_SCALAR || end == n->text || *end || v < min) {
        bad(r, n, key, "expected an integer");
        return false;
    }
    *out = v;
    return true;
}

static bool read_bool(reader *r, const llmc_doc_node *map, const char *key, bool *out) {
    const llmc_doc_node *n = field(map, key);
    if (!n) return false;
    if (n->kind == LLMC_DOC_SCALAR && !strcmp(n->text, "true")) *out = true;
    else if (n->kind == LLMC_DOC_SCALAR && !strcmp(n->text, "false")) *out = false;
    else bad(r, n, key, "expected true or false");
    return true;
}

static int read_name(reader *r, const llmc_doc_node *map, const char *key, const char *(*name_of)(int), int count,
                     int dflt) {
    const llmc_doc_node *n = field(map, key);
    if (!n) return dflt;
    for (int k = 0; n->kind == LLMC_DOC_SCALAR && k < count; k++)
        if (!strcmp(n->text, name_of(k))) return k;
    bad(r, n, key, "unknown value");
    return dflt;
}

static const char *attention_of(int k) { return llmc_attention_name((llmc_attention_kind)k); }
static const char *activation_of(int k) { return llmc_activation_name((llmc_activation_kind)k); }
static const char *norm_of(int k) { return llmc_norm_name((llmc_norm_kind)k); }
static const char *positional_of(int k) { return llmc_positional_name((llmc_positional_kind)k); }

static const char *text_of(const llmc_doc_node *map, const char *key) {
    const llmc_doc_node *n = field(map, key);
    return n && n->kind == LLMC_DOC_SCALAR ? n->text : NULL;
}

static void read_row(reader *r, llmc_model_table *t, const llmc_doc_node *item, llmc_published_model *m) {
    memset(m, 0, sizeof *m);
    if (item->kind != LLMC_DOC_MAP) {
        bad(r, item, "models", "each model is a mapping");
        return;
    }
    m->name = keep(t, text_of(item, "name"));
    m->family = keep(t, text_of(item, "family"));
    m->template_name = keep(t, text_of(item, "template") ? text_of(item, "template") : "decoder_only");
    m->source = keep(t, text_of(item, "source"));
    m->note = keep(t, text_of(item, "note"));
    if (!m->name || !m->family || !m->source) bad(r, item, "models", "name, family and source are required");
    int64_t v = 0;
    if (!read_int(r, item, "params", 1, &v)) bad(r, item, "params", "required: the exact published count");
    m->params = (uint64_t)v;
    if (read_int(r, item, "unmodelled", INT64_MIN, &v)) m->unmodelled = v;
    const llmc_doc_node *dims = field(item, "dims");
    if (!dims || dims->kind != LLMC_DOC_MAP) {
        bad(r, item, "dims", "required mapping of dims");
    } else {
        for (size_t i = 0; i < dims->n_entries; i++) {
            int id = llmc_dim_from_name(dims->entries[i].key);
            if (id < 0) {
                bad(r, dims->entries[i].value, dims->entries[i].key, "not a dimension name");
                continue;
            }
            if (read_int(r, dims, dims->entries[i].key, 1, &v)) llmc_dims_put(&m->dims, (llmc_dim_id)id, v);
        }
    }
    const llmc_doc_node *ch = field(item, "choices");
    if (!ch || ch->kind != LLMC_DOC_MAP) {
        bad(r, item, "choices", "required mapping of family choices");
        return;
    }
    if (!read_int(r, ch, "vocab_size", 1, &m->vocab_size)) bad(r, ch, "vocab_size", "required");
    m->context_length = 2048;
    read_int(r, ch, "context_length", 1, &m->context_length);
    m->attention = (llmc_attention_kind)read_name(r, ch, "attention", attention_of, LLMC_ATTN_COUNT, LLMC_ATTN_MHA);
    m->activation = (llmc_activation_kind)read_name(r, ch, "activation", activation_of, LLMC_ACT_COUNT, LLMC_ACT_SWIGLU);
    m->norm = (llmc_norm_kind)read_name(r, ch, "norm", norm_of, LLMC_NORM_COUNT, LLMC_NORM_RMSNORM);
    m->positional = (llmc_positional_kind)read_name(r, ch, "positional_encoding", positional_of, LLMC_POS_COUNT,
                                                    LLMC_POS_ROPE);
    read_bool(r, ch, "tie_word_embeddings", &m->tie_word_embeddings);
    m->bias.norm = true;
    const llmc_doc_node *b = field(ch, "bias");
    if (b && b->kind == LLMC_DOC_MAP) {
        read_bool(r, b, "qkv", &m->bias.qkv);
        read_bool(r, b, "attn_out", &m->bias.attn_out);
        read_bool(r, b, "mlp", &m->bias.mlp);
        read_bool(r, b, "norm", &m->bias.norm);
        read_bool(r, b, "lm_head", &m->bias.lm_head);
    }
}

llmc_model_table *llmc_model_table_load(const char *text, size_t len, const char *file, llmc_diags *d) {
    bool had = false;
    llmc_doc *doc = llmc_doc_parse(text, len, file, LLMC_DOC_YAML, d, &had);
    if (!doc) return NULL;
    llmc_model_table *t = calloc(1, sizeof *t);
    reader r = {doc, d, had ? 1 : 0};
    const llmc_doc_node *models = field(doc->root, "models");
    if (!t || !models || models->kind != LLMC_DOC_SEQ) {
        if (t) bad(&r, doc->root, "models", "expected a list 'models'");
        llmc_doc_free(doc);
        llmc_model_table_free(t);
        return NULL;
    }
    t->rows = calloc(models->n_items ? models->n_items : 1, sizeof *t->rows);
    for (size_t i = 0; t->rows && i < models->n_items; i++) read_row(&r, t, models->items[i], &t->rows[t->n++]);
    llmc_doc_free(doc);
    if (!t->rows || r.errors) {
        if (!t->rows) llmc_error(d, NULL, "out of memory reading %s", file);
        llmc_model_table_free(t);
        return NULL;
    }
    return t;
}

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static llmc_model_table *builtin_table;
static llmc_prior *builtin_prior;

static void make_builtin(void) {
    llmc_diags *d = llmc_diags_create();
    builtin_table = llmc_model_table_load(llmc_published_models_yaml, llmc_published_models_yaml_len,
                                          "published_models.yaml", d);
    llmc_diags_free(d);
    if (builtin_table) builtin_prior = llmc_prior_fit(builtin_table, NULL);
}

const llmc_model_table *llmc_model_table_builtin(void) {
    pthread_once(&builtin_once, make_builtin);
    return builtin_table;
}

const llmc_prior *llmc_prior_builtin(void) {
    pthread_once(&builtin_once, make_builtin);
    return builtin_prior;
}

/* ---- features of a shape ---------------------------------------------------------------------- */

/* largest power of two dividing x, as a class: 0 for odd ... cap */
static int two_adic(int64_t x, int cap) {
    int k = 0;
    while (x > 0 && x % 2 == 0 && k < cap) {
        x /= 2;
        k++;
    }
    return k;
}

/* depth classes: odd, 2 x odd, 4 x odd, multiple of 8; and the share of each among integers */
#define DEPTH_CLASSES 4
static const double depth_base[DEPTH_CLASSES] = {0.5, 0.25, 0.125, 0.125};
static int depth_class(int64_t L) { return two_adic(L, 3); }

/* width classes (hidden and intermediate): not a multiple of 64, then multiples of 64, 128, 256,
 * 512, 1024 and more; the share of each among the multiples of 64 the templates' domains hold */
#define WIDTH_CLASSES 6
static const double width_base[WIDTH_CLASSES] = {1.0, 0.5, 0.25, 0.125, 0.0625, 0.0625};
static int width_class(int64_t x) {
    if (x % 64 != 0) return 0;
    return 1 + two_adic(x / 64, 4);
}

static bool is_encdec(const char *template_name) { return template_name && !strcmp(template_name, "encoder_decoder"); }

static double depth_of(const llmc_dims *d) {
    if (llmc_dims_has(d, LLMC_DIM_NUM_LAYERS)) return (double)d->v[LLMC_DIM_NUM_LAYERS];
    double s = 0;
    int k = 0;
    if (llmc_dims_has(d, LLMC_DIM_NUM_ENCODER_LAYERS)) { s += (double)d->v[LLMC_DIM_NUM_ENCODER_LAYERS]; k++; }
    if (llmc_dims_has(d, LLMC_DIM_NUM_DECODER_LAYERS)) { s += (double)d->v[LLMC_DIM_NUM_DECODER_LAYERS]; k++; }
    return k == 2 ? s / 2 : 0; /* an encoder-decoder depth is known once both stacks are */
}

/* token embedding, untied head, learned positions and head bias: what "non-embedding" leaves out */
static double embedding_params(int64_t V, int64_t P, double H, bool tied, bool learned, bool head_bias, bool encdec) {
    double e = (double)V * H * (tied ? 1.0 : 2.0);
    if (learned) e += (double)P * H * (encdec ? 2.0 : 1.0);
    if (head_bias) e += (double)V;
    return e;
}

/* ---- fitting ------------------------------------------------------------------------------------ */

typedef struct row {
    bool used;
    bool encdec, gated, tied, qkv_bias, gqa;
    int attention, activation, norm, positional;
    int64_t V, L, H, I, nh, kv, hd;
    bool coupled;               /* num_heads x head_dim == hidden_size */
    double ln_ne, ln_L, ln_H, ln_A, ln_attn, ln_nh, ln_ratio, t;   /* ln_A: ln(num_heads x head_dim); ln_attn: ln(A / H) */
} row;

struct llmc_prior {
    const llmc_model_table *table;
    row *rows;
    size_t n, n_used;
    double slope, intercept;    /* ln L = intercept + slope * ln(non-embedding params) */
    double depth_bw;            /* bandwidth of the depth mixture (Silverman's rule on the residuals) */
    double depth_lr[DEPTH_CLASSES], width_lr[WIDTH_CLASSES], mlp_lr[WIDTH_CLASSES];
    int64_t hd_values[16];      /* head_dim candidates: the published ones and 32, 64, 128, 256 */
    size_t n_hd;
};

static void class_ratios(const int *counts, size_t n, const double *base, int k, double *out) {
    for (int c = 0; c < k; c++)
        out[c] = ROUND_WEIGHT * log(((double)counts[c] + SMOOTHING) / ((double)n + k * SMOOTHING) / base[c]);
}

static void add_hd(llmc_prior *p, int64_t hd) {
    for (size_t i = 0; i < p->n_hd; i++)
        if (p->hd_values[i] == hd) return;
    if (p->n_hd < sizeof p->hd_values / sizeof *p->hd_values) p->hd_values[p->n_hd++] = hd;
}

llmc_prior *llmc_prior_fit(const llmc_model_table *t, const bool *exclude) {
    if (!t || t->n == 0) return NULL;
    llmc_prior *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->table = t;
    p->rows = calloc(t->n, sizeof *p->rows);
    if (!p->rows) {
        free(p);
        return NULL;
    }
    p->n = t->n;
    int dcount[DEPTH_CLASSES] = {0}, wcount[WIDTH_CLASSES] = {0}, icount[WIDTH_CLASSES] = {0};
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    static const int64_t base_hd[] = {32, 64, 80, 96, 128, 256};
    for (size_t i = 0; i < 6; i++) add_hd(p, base_hd[i]);
    for (size_t i = 0; i < t->n; i++) {
        const llmc_published_model *m = &t->rows[i];
        row *r = &p->rows[i];
        double L = depth_of(&m->dims);
        const llmc_dims *d = &m->dims;
        if ((exclude && exclude[i]) || L < 1 || !llmc_dims_has(d, LLMC_DIM_HIDDEN_SIZE) ||
            !llmc_dims_has(d, LLMC_DIM_INTERMEDIATE_SIZE) || !llmc_dims_has(d, LLMC_DIM_NUM_HEADS) ||
            !llmc_dims_has(d, LLMC_DIM_NUM_KV_HEADS) || !llmc_dims_has(d, LLMC_DIM_HEAD_DIM))
            continue;
        r->used = true;
        r->encdec = is_encdec(m->template_name);
        r->gated = llmc_activation_is_gated(m->activation);
        r->tied = m->tie_word_embeddings;
        r->qkv_bias = m->bias.qkv;
        r->attention = m->attention;
        r->activation = m->activation;
        r->norm = m->norm;
        r->positional = m->positional;
        r->V = m->vocab_size;
        r->L = (int64_t)L;
        r->H = d->v[LLMC_DIM_HIDDEN_SIZE];
        r->I = d->v[LLMC_DIM_INTERMEDIATE_SIZE];
        r->nh = d->v[LLMC_DIM_NUM_HEADS];
        r->kv = d->v[LLMC_DIM_NUM_KV_HEADS];
        r->hd = d->v[LLMC_DIM_HEAD_DIM];
        r->gqa = r->kv > 1 && r->kv < r->nh;
        double ne = (double)m->params - embedding_params(m->vocab_size, m->context_length, (double)r->H, r->tied,
                                                          m->positional == LLMC_POS_LEARNED, m->bias.lm_head, r->encdec);
        r->ln_ne = log(ne > 1 ? ne : 1);
        r->ln_L = log(L);
        r->ln_H = log((double)r->H);
        r->coupled = r->nh * r->hd == r->H;
        r->ln_A = log((double)(r->nh * r->hd));
        r->ln_attn = r->ln_A - r->ln_H;
        r->ln_nh = log((double)r->nh);
        r->ln_ratio = log((double)r->I / (double)r->H);
        sx += r->ln_ne;
        sy += r->ln_L;
        sxx += r->ln_ne * r->ln_ne;
        sxy += r->ln_ne * r->ln_L;
        dcount[depth_class(r->L)]++;
        wcount[width_class(r->H)]++;
        icount[width_class(r->I)]++;
        add_hd(p, r->hd);
        p->n_used++;
    }
    if (p->n_used < 4) {
        llmc_prior_free(p);
        return NULL;
    }
    double n = (double)p->n_used;
    double var = sxx - sx * sx / n;
    p->slope = var > 0 ? (sxy - sx * sy / n) / var : 0.0;
    p->intercept = (sy - p->slope * sx) / n;
    double ss = 0;
    for (size_t i = 0; i < p->n; i++) {
        row *r = &p->rows[i];
        if (!r->used) continue;
        r->t = r->ln_L - p->slope * r->ln_ne;
        double res = r->ln_L - p->intercept - p->slope * r->ln_ne;
        ss += res * res;
    }
    /* Silverman's rule of thumb for a Gaussian kernel */
    p->depth_bw = 1.06 * sqrt(ss / n) * pow(n, -0.2);
    if (p->depth_bw < 0.02) p->depth_bw = 0.02;
    class_ratios(dcount, p->n_used, depth_base, DEPTH_CLASSES, p->depth_lr);
    class_ratios(wcount, p->n_used, width_base, WIDTH_CLASSES, p->width_lr);
    class_ratios(icount, p->n_used, width_base, WIDTH_CLASSES, p->mlp_lr);
    return p;
}

void llmc_prior_free(llmc_prior *p) {
    if (!p) return;
    free(p->rows);
    free(p);
}

const char *llmc_prior_term_name(llmc_prior_term t) {
    static const char *const names[LLMC_PRIOR_TERM_COUNT] = {"depth",   "depth_round", "width_round", "head_dim",
                                                              "kv_heads", "mlp_ratio",   "mlp_round"};
    return (unsigned)t < LLMC_PRIOR_TERM_COUNT ? names[t] : "?";
}

/* ---- the query ----------------------------------------------------------------------------------- */

/* A log-density over one feature, tabulated: ln(sum_i w_i exp(-(x - x_i)^2 / 2 bw^2) / sum_i w_i),
 * floored at FLOOR, on a grid of GRID_STEP; computed directly off the grid. */
typedef struct grid {
    const double *w;            /* row weights (0 = not used) */
    size_t field;               /* offsetof(row, feature) */
    double bw, norm;            /* bandwidth, ln(sum of weights) */
    double x0, step;
    size_t n;
    double *f;
    double max;
} grid;

struct llmc_prior_query {
    const llmc_prior *p;
    const llmc_spec *spec;
    bool encdec, gated, gqa, learned;
    double *w;                  /* per row: style x size weight, relative to the largest (0 = not used) */
    double *w_mlp;              /* the same, for the rows with this kind of MLP (gated or not) only */
    double *w_style;            /* per row: style weight only */
    grid depth, mlp;
    double mlp_lo, mlp_hi;
    double kv_lp[17], group_lp[17], kv_other, group_other, kv_max;
    double term_max[LLMC_PRIOR_TERM_COUNT];
    double *hd_cache;           /* head_dim term per (attention width / 64, head_dim index), filled on use; NAN = not yet */
    double *w_attn;             /* per row: style weight of the models whose heads do not span the width, else 0 */
    grid attn;                  /* over ln(A / H) of those models */
    grid heads;                 /* over ln(num_heads) of every weighted model */
    double decoupled_lo;        /* ln(p(decoupled) / p(coupled)) under the style weights */
    double attn_lo, attn_hi;    /* A / H worth trying (1, 1: none) */
};

#define HD_CACHE_WIDTHS 2048    /* hidden sizes 64 .. 131072 in steps of 64 */

static double style_weight(const llmc_spec *s, bool encdec, const row *r) {
    double w = 1.0;
    if (r->encdec != encdec) w *= TEMPLATE_MISMATCH;
    if (r->V != s->vocab_size) w *= VOCAB_MISMATCH;
    int mismatches = (r->activation != (int)s->activation) + (r->norm != (int)s->norm) +
                     (r->positional != (int)s->positional) + (r->tied != s->tie_word_embeddings) +
                     (r->qkv_bias != s->bias.qkv);
    bool s_gqa = s->attention == LLMC_ATTN_GQA, s_mqa = s->attention == LLMC_ATTN_MQA;
    bool r_mqa = r->kv == 1 && r->nh > 1;
    mismatches += (r->gqa != s_gqa) || (r_mqa != s_mqa);
    return w * pow(STYLE_MISMATCH, mismatches);
}

static double mixture(const llmc_prior *p, const grid *g, double x) {
    double s = 0, cut = 8 * g->bw;
    for (size_t i = 0; i < p->n; i++) {
        if (g->w[i] <= 0) continue;
        double z = x - *(const double *)((const char *)&p->rows[i] + g->field);
        if (z > cut || z < -cut) continue;
        s += g->w[i] * exp(-0.5 * z * z / (g->bw * g->bw));
    }
    double l = s > 0 ? log(s) - g->norm : FLOOR;
    return l < FLOOR ? FLOOR : l;
}

/* tabulate over the features of the weighted rows, widened by 8 bandwidths; 1 on OOM */
static int grid_fill(grid *g, const llmc_prior *p, const double *w, size_t field, double bw) {
    memset(g, 0, sizeof *g);
    g->w = w;
    g->field = field;
    g->bw = bw;
    double s = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        if (w[i] <= 0) continue;
        double x = *(const double *)((const char *)&p->rows[i] + field);
        s += w[i];
        lo = fmin(lo, x);
        hi = fmax(hi, x);
    }
    g->max = FLOOR;
    if (s <= 0) return 0; /* nothing to tabulate: every value scores FLOOR */
    g->norm = log(s);
    g->x0 = lo - 8 * bw;
    g->step = GRID_STEP;
    g->n = (size_t)((hi - lo + 16 * bw) / GRID_STEP) + 2;
    g->f = malloc(g->n * sizeof *g->f);
    if (!g->f) return 1;
    for (size_t i = 0; i < g->n; i++) {
        g->f[i] = mixture(p, g, g->x0 + (double)i * GRID_STEP);
        if (g->f[i] > g->max) g->max = g->f[i];
    }
    return 0;
}

static double grid_at(const llmc_prior *p, const grid *g, double x) {
    if (!g->f) return FLOOR;
    double u = (x - g->x0) / g->step;
    if (u < 0 || u >= (double)(g->n - 1)) return mixture(p, g, x);
    size_t i = (size_t)u;
    double f = u - (double)i;
    return g->f[i] * (1 - f) + g->f[i + 1] * f;
}

/* the largest value for x in [a, b] */
static double grid_max_over(const llmc_prior *p, const grid *g, double a, double b) {
    double best = fmax(grid_at(p, g, a), grid_at(p, g, b));
    if (!g->f) return best;
    double ua = (a - g->x0) / g->step, ub = (b - g->x0) / g->step;
    if (ub < 0 || ua > (double)(g->n - 1)) return best;
    size_t i0 = ua < 0 ? 0 : (size_t)ua + 1, i1 = ub > (double)(g->n - 1) ? g->n - 1 : (size_t)ub;
    for (size_t i = i0; i <= i1 && i < g->n; i++)
        if (g->f[i] > best) best = g->f[i];
    return best;
}

static double ln_or_floor(double x) { return x > 0 ? fmax(log(x), FLOOR) : FLOOR; }

static double emb_of(const llmc_prior_query *q, double H) {
    const llmc_spec *s = q->spec;
    return embedding_params(s->vocab_size, s->context_length, H, s->tie_word_embeddings, q->learned, s->bias.lm_head,
                            q->encdec);
}

/* the weighted share of grouped-query models per key/value head count and per group size */
static void fit_kv(llmc_prior_query *q) {
    const llmc_prior *p = q->p;
    double kv[17] = {0}, grp[17] = {0}, other_kv = 0, other_g = 0, s = 0;
    for (size_t i = 0; i < p->n; i++) {
        const row *r = &p->rows[i];
        if (q->w[i] <= 0 || !r->gqa) continue;
        s += q->w[i];
        int64_t g = r->nh % r->kv == 0 ? r->nh / r->kv : 0;
        if (r->kv <= 16) kv[r->kv] += q->w[i];
        else other_kv += q->w[i];
        if (g >= 2 && g <= 16) grp[g] += q->w[i];
        else other_g += q->w[i];
    }
    /* pseudo-counts spread over 1..16 key/value heads and groups of 2..16 */
    double kv_alpha = SMOOTHING / 16, g_alpha = SMOOTHING / 15;
    for (int k = 1; k <= 16; k++) {
        q->kv_lp[k] = ln_or_floor((kv[k] + kv_alpha) / (s + 2 * SMOOTHING));
        q->group_lp[k] = ln_or_floor((grp[k] + (k >= 2 ? g_alpha : 0)) / (s + 2 * SMOOTHING));
    }
    q->kv_other = ln_or_floor((other_kv + kv_alpha) / (s + 2 * SMOOTHING));
    q->group_other = ln_or_floor((other_g + g_alpha) / (s + 2 * SMOOTHING));
    double mk = q->kv_other, mg = q->group_other;
    for (int k = 1; k <= 16; k++) {
        mk = fmax(mk, q->kv_lp[k]);
        mg = fmax(mg, q->group_lp[k]);
    }
    q->kv_max = mk + mg;
}

/* Heads that do not span the width (Gemma, Qwen3, T5-3B): the style-weighted share of such
 * models against the others, and the spread of their ratio A / H (A = num_heads x head_dim).
 * The attention widths worth trying are where the density of A / H is within ATTN_WINDOW_DROP
 * of its largest value; 1 on OOM. */
static int fit_attention(llmc_prior_query *q) {
    const llmc_prior *p = q->p;
    double s_dec = 0, s_all = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!p->rows[i].used) continue;
        s_all += q->w_style[i];
        if (!p->rows[i].coupled) {
            s_dec += q->w_style[i];
            q->w_attn[i] = q->w[i];
        }
    }
    q->decoupled_lo = log((s_dec + SMOOTHING / 2) / (s_all - s_dec + SMOOTHING / 2));
    q->attn_lo = q->attn_hi = 1;
    if (grid_fill(&q->attn, p, q->w_attn, offsetof(row, ln_attn), ATTN_BANDWIDTH) ||
        grid_fill(&q->heads, p, q->w, offsetof(row, ln_nh), HEADS_BANDWIDTH))
        return 1;
    if (!q->attn.f) return 0;
    /* the ratios whose density is within ATTN_WINDOW_DROP of the most likely one (as the MLP window) */
    double floor_f = q->attn.max - ATTN_WINDOW_DROP;
    size_t lo = q->attn.n, hi = 0;
    for (size_t i = 0; i < q->attn.n; i++)
        if (q->attn.f[i] >= floor_f) {
            if (lo == q->attn.n) lo = i;
            hi = i;
        }
    if (lo < q->attn.n) {
        q->attn_lo = exp(q->attn.x0 + (double)lo * q->attn.step);
        q->attn_hi = exp(q->attn.x0 + (double)hi * q->attn.step);
    }
    return 0;
}

llmc_prior_query *llmc_prior_query_create(const llmc_prior *p, const llmc_spec *spec, uint64_t target) {
    if (!p || !spec) return NULL;
    llmc_prior_query *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->p = p;
    q->spec = spec;
    q->encdec = is_encdec(spec->template_name);
    q->gated = llmc_activation_is_gated(spec->activation);
    q->gqa = spec->attention == LLMC_ATTN_GQA;
    q->learned = spec->positional == LLMC_POS_LEARNED;
    q->w = calloc(p->n, sizeof *q->w);
    q->w_mlp = calloc(p->n, sizeof *q->w_mlp);
    q->w_style = calloc(p->n, sizeof *q->w_style);
    q->w_attn = calloc(p->n, sizeof *q->w_attn);
    q->hd_cache = malloc((size_t)HD_CACHE_WIDTHS * p->n_hd * sizeof *q->hd_cache);
    if (!q->w || !q->w_mlp || !q->w_style || !q->w_attn || !q->hd_cache) goto oom;
    for (size_t i = 0; i < (size_t)HD_CACHE_WIDTHS * p->n_hd; i++) q->hd_cache[i] = NAN;

    /* the non-embedding size the budget leaves, for the size kernel: depth from the fitted
     * trend, width from the usual ~12 H^2 parameters per layer, a few rounds */
    double T = target ? (double)target : 1e8, ne = T;
    for (int it = 0; it < 8; it++) {
        double L = exp(p->intercept + p->slope * log(ne));
        double H = sqrt(ne / (12.0 * (L > 1 ? L : 1)));
        double next = T - emb_of(q, H);
        ne = next > 0.05 * T ? next : 0.05 * T;
    }
    double ln_ref = log(ne), max_lw = -INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        const row *r = &p->rows[i];
        if (!r->used) continue;
        q->w_style[i] = style_weight(spec, q->encdec, r);
        double z = (ln_ref - r->ln_ne) / SIZE_BANDWIDTH;
        q->w[i] = log(q->w_style[i]) - 0.5 * z * z; /* log for now */
        if (q->w[i] > max_lw) max_lw = q->w[i];
    }
    for (size_t i = 0; i < p->n; i++) q->w[i] = p->rows[i].used ? exp(q->w[i] - max_lw) : 0.0;
    for (size_t i = 0; i < p->n; i++) {
        const row *r = &p->rows[i];
        double z = (ln_ref - r->ln_ne) / MLP_SIZE_BANDWIDTH;
        q->w_mlp[i] = r->used && r->gated == q->gated ? q->w_style[i] * exp(-0.5 * z * z) : 0.0;
    }

    /* depth: over t = ln L - slope * ln(non-embedding params); MLP: over ln(I / H) */
    if (grid_fill(&q->depth, p, q->w, offsetof(row, t), p->depth_bw) ||
        grid_fill(&q->mlp, p, q->w_mlp, offsetof(row, ln_ratio), RATIO_BANDWIDTH))
        goto oom;
    if (!q->mlp.f) { /* no published model with this kind of MLP: every ratio alike */
        q->mlp.max = 0;
        q->mlp_lo = 0.5;
        q->mlp_hi = 16;
    } else { /* the window: where the ratio term is within MLP_WINDOW_DROP of its best */
        size_t lo = q->mlp.n, hi = 0;
        for (size_t i = 0; i < q->mlp.n; i++)
            if (q->mlp.f[i] >= q->mlp.max - MLP_WINDOW_DROP) {
                if (lo == q->mlp.n) lo = i;
                hi = i;
            }
        q->mlp_lo = exp(q->mlp.x0 + (double)lo * q->mlp.step);
        q->mlp_hi = exp(q->mlp.x0 + (double)hi * q->mlp.step);
    }
    if (q->gqa) fit_kv(q);
    if (fit_attention(q)) goto oom;

    /* the largest value of each term */
    q->term_max[LLMC_PRIOR_DEPTH] = q->depth.max;
    double m = FLOOR;
    for (int c = 0; c < DEPTH_CLASSES; c++) m = fmax(m, p->depth_lr[c]);
    q->term_max[LLMC_PRIOR_DEPTH_ROUND] = m;
    m = FLOOR;
    for (int c = 0; c < WIDTH_CLASSES; c++) m = fmax(m, p->width_lr[c]);
    q->term_max[LLMC_PRIOR_WIDTH_ROUND] = m;
    q->term_max[LLMC_PRIOR_HEAD_DIM] = 0.0; /* a log-probability */
    q->term_max[LLMC_PRIOR_KV] = q->gqa ? q->kv_max : 0.0;
    q->term_max[LLMC_PRIOR_MLP_RATIO] = q->mlp.max;
    m = FLOOR;
    for (int c = 0; c < WIDTH_CLASSES; c++) m = fmax(m, p->mlp_lr[c]);
    q->term_max[LLMC_PRIOR_MLP_ROUND] = m;
    return q;
oom:
    llmc_prior_query_free(q);
    return NULL;
}

void llmc_prior_query_free(llmc_prior_query *q) {
    if (!q) return;
    free(q->w);
    free(q->w_mlp);
    free(q->w_style);
    free(q->hd_cache);
    free(q->w_attn);
    free(q->attn.f);
    free(q->heads.f);
    free(q->depth.f);
    free(q->mlp.f);
    free(q);
}

double llmc_prior_query_term_max(const llmc_prior_query *q, llmc_prior_term t) {
    return q && (unsigned)t < LLMC_PRIOR_TERM_COUNT ? q->term_max[t] : 0.0;
}

void llmc_prior_query_attention_window(const llmc_prior_query *q, double *lo, double *hi) {
    *lo = q->attn_lo;
    *hi = q->attn_hi;
}

void llmc_prior_query_mlp_window(const llmc_prior_query *q, double *lo, double *hi) {
    *lo = q->mlp_lo;
    *hi = q->mlp_hi;
}

double llmc_prior_query_non_embedding(const llmc_prior_query *q, const llmc_dims *dims, uint64_t params) {
    if (!llmc_dims_has(dims, LLMC_DIM_HIDDEN_SIZE)) return (double)params;
    double ne = (double)params - emb_of(q, (double)dims->v[LLMC_DIM_HIDDEN_SIZE]);
    return ne > 1 ? ne : 1;
}

/* p(head_dim | attention width A = num_heads x head_dim, which is hidden_size when the heads
 * span the width): kernel-weighted share of the published models with that head_dim */
static double head_dim_compute(const llmc_prior_query *q, int64_t hd, int64_t A) {
    const llmc_prior *p = q->p;
    double lnA = log((double)A), num_hd = 0, den = 0, cut = 6 * WIDTH_BANDWIDTH;
    for (size_t i = 0; i < p->n; i++) {
        if (q->w_style[i] <= 0 || !p->rows[i].used) continue;
        double z = lnA - p->rows[i].ln_H;
        if (z > cut || z < -cut) continue;
        double k = q->w_style[i] * exp(-0.5 * z * z / (WIDTH_BANDWIDTH * WIDTH_BANDWIDTH));
        den += k;
        if (p->rows[i].hd == hd) num_hd += k;
    }
    double alpha = SMOOTHING / (double)p->n_hd;
    return ln_or_floor((num_hd + alpha) / (den + SMOOTHING));
}

/* the same, remembered for the widths and head sizes of the templates' domains (a query serves
 * one thread) */
static double head_dim_term(const llmc_prior_query *q, int64_t hd, int64_t H) {
    size_t k = q->p->n_hd;
    for (size_t i = 0; i < q->p->n_hd; i++)
        if (q->p->hd_values[i] == hd) k = i;
    if (k == q->p->n_hd || H % 64 != 0 || H / 64 < 1 || H / 64 > HD_CACHE_WIDTHS) return head_dim_compute(q, hd, H);
    double *slot = &q->hd_cache[(size_t)(H / 64 - 1) * q->p->n_hd + k];
    if (isnan(*slot)) *slot = head_dim_compute(q, hd, H);
    return *slot;
}

/* Heads that do not span the width, against heads that do: ln(p(decoupled) / p(coupled)) +
 * ln p(num_heads | decoupled, head_dim, H), the latter the kernel density of ln(A / H) over the
 * weighted decoupled models times the step one head moves ln A by (1 / num_heads), and the head
 * count against the published ones near the size (their kernel mixture over ln num_heads,
 * relative to its best: 2 heads where models of the size have 8-12 cost ~8); at most 0. */
static double attention_term(const llmc_prior_query *q, int64_t nh, int64_t hd, int64_t H) {
    if (!q->attn.f || nh < 1) return FLOOR;
    double f = grid_at(q->p, &q->attn, log((double)(nh * hd) / (double)H));
    double heads = q->heads.f ? grid_at(q->p, &q->heads, log((double)nh)) - q->heads.max : 0.0;
    double lp = q->decoupled_lo + f - (LN_SQRT_2PI + log(ATTN_BANDWIDTH)) - log((double)nh) + heads;
    return fmin(lp, 0.0);
}

double llmc_prior_query_attention_term(const llmc_prior_query *q, int64_t nh, int64_t hd, int64_t H) {
    return q && hd > 0 && H > 0 && nh * hd != H ? attention_term(q, nh, hd, H) : 0.0;
}

double llmc_prior_query_attention_bound(const llmc_prior_query *q, int64_t nh) {
    if (!q || !q->attn.f || nh < 1) return FLOOR;
    return fmin(q->decoupled_lo + q->attn.max - (LN_SQRT_2PI + log(ATTN_BANDWIDTH)) - log((double)nh), 0.0);
}

static double kv_term(const llmc_prior_query *q, int64_t kv, int64_t nh, bool know_nh) {
    double lk = kv >= 1 && kv <= 16 ? q->kv_lp[kv] : q->kv_other;
    if (!know_nh) {
        double mg = q->group_other;
        for (int k = 1; k <= 16; k++) mg = fmax(mg, q->group_lp[k]);
        return lk + mg;
    }
    int64_t g = kv > 0 && nh % kv == 0 ? nh / kv : 0;
    return lk + (g >= 1 && g <= 16 ? q->group_lp[g] : q->group_other);
}

/* Every term from what dims tells; an unknown term takes its largest value. The depth term is
 * maximised over non-embedding sizes in [ne_lo, ne_hi]. */
static double terms_of(const llmc_prior_query *q, const llmc_dims *d, double ne_lo, double ne_hi,
                       double out[LLMC_PRIOR_TERM_COUNT]) {
    const llmc_prior *p = q->p;
    double t[LLMC_PRIOR_TERM_COUNT];
    memcpy(t, q->term_max, sizeof t);
    bool hH = llmc_dims_has(d, LLMC_DIM_HIDDEN_SIZE), hI = llmc_dims_has(d, LLMC_DIM_INTERMEDIATE_SIZE);
    int64_t H = hH ? d->v[LLMC_DIM_HIDDEN_SIZE] : 0, I = hI ? d->v[LLMC_DIM_INTERMEDIATE_SIZE] : 0;
    double L = depth_of(d);
    if (L >= 1) {
        double lnL = log(L), a = lnL - p->slope * log(ne_hi), b = lnL - p->slope * log(ne_lo);
        if (a > b) {
            double x = a;
            a = b;
            b = x;
        }
        t[LLMC_PRIOR_DEPTH] = a == b ? grid_at(p, &q->depth, a) : grid_max_over(p, &q->depth, a, b);
        int64_t Li = (int64_t)llround(L);
        t[LLMC_PRIOR_DEPTH_ROUND] = fabs(L - (double)Li) < 1e-9 ? p->depth_lr[depth_class(Li)] : p->depth_lr[0];
    }
    if (hH) t[LLMC_PRIOR_WIDTH_ROUND] = p->width_lr[width_class(H)];
    int64_t hd = llmc_dims_has(d, LLMC_DIM_HEAD_DIM) ? d->v[LLMC_DIM_HEAD_DIM] : 0;
    bool hNH = llmc_dims_has(d, LLMC_DIM_NUM_HEADS);
    int64_t nh = hNH ? d->v[LLMC_DIM_NUM_HEADS] : 0;
    if (!hd && hH && hNH && nh > 0 && H % nh == 0) hd = H / nh;
    if (!hNH && hH && hd > 0 && H % hd == 0) {
        nh = H / hd;
        hNH = true;
    }
    if (hd > 0 && hH) {
        bool coupled = !hNH || nh * hd == H;
        t[LLMC_PRIOR_HEAD_DIM] = head_dim_term(q, hd, coupled ? H : nh * hd);
        if (!coupled) t[LLMC_PRIOR_HEAD_DIM] += attention_term(q, nh, hd, H);
    }
    if (q->gqa && llmc_dims_has(d, LLMC_DIM_NUM_KV_HEADS))
        t[LLMC_PRIOR_KV] = kv_term(q, d->v[LLMC_DIM_NUM_KV_HEADS], nh, hNH);
    if (hI) t[LLMC_PRIOR_MLP_ROUND] = p->mlp_lr[width_class(I)];
    if (hI && hH && q->mlp.f) t[LLMC_PRIOR_MLP_RATIO] = grid_at(p, &q->mlp, log((double)I / (double)H));
    double total = 0;
    for (int k = 0; k < LLMC_PRIOR_TERM_COUNT; k++) total += t[k];
    if (out) memcpy(out, t, sizeof t);
    return total;
}

double llmc_prior_query_mlp_bound(const llmc_prior_query *q, int64_t H, double i_lo, double i_hi) {
    const llmc_prior *p = q->p;
    double round = q->term_max[LLMC_PRIOR_MLP_ROUND];
    if (!q->mlp.f || H < 1) return q->term_max[LLMC_PRIOR_MLP_RATIO] + round;
    if (i_lo < 1) i_lo = 1;
    if (i_hi < i_lo) i_hi = i_lo;
    return grid_max_over(p, &q->mlp, log(i_lo / (double)H), log(i_hi / (double)H)) + round;
}

double llmc_prior_query_score(const llmc_prior_query *q, const llmc_dims *dims, uint64_t params,
                              double terms[LLMC_PRIOR_TERM_COUNT]) {
    double ne = llmc_prior_query_non_embedding(q, dims, params);
    return terms_of(q, dims, ne, ne, terms);
}

double llmc_prior_query_bound(const llmc_prior_query *q, const llmc_dims *partial, double ne_lo, double ne_hi,
                              double terms[LLMC_PRIOR_TERM_COUNT]) {
    if (ne_lo < 1) ne_lo = 1;
    if (ne_hi < ne_lo) ne_hi = ne_lo;
    return terms_of(q, partial, ne_lo, ne_hi, terms);
}
