/* Spec vocabulary: dimension and enumeration names, and the count/byte-size parsers. */
#include <ctype.h>
#include <string.h>

#include "llmc/spec.h"
#include "util.h"

/* ---- names ------------------------------------------------------------------------------- */

static const char *const dim_names[LLMC_DIM_COUNT] = {
    "num_layers", "hidden_size", "intermediate_size", "num_heads",
    "num_kv_heads", "head_dim", "num_encoder_layers", "num_decoder_layers",
};

const char *llmc_dim_name(llmc_dim_id id) { return (unsigned)id < LLMC_DIM_COUNT ? dim_names[id] : "?"; }

int llmc_dim_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (!strcmp(name, dim_names[i])) return i;
    return -1;
}

#define NAME_FN(fn, type, count, ...)                                          \
    const char *fn(type k) {                                                   \
        static const char *const names[count] = {__VA_ARGS__};                 \
        return (unsigned)k < (unsigned)(count) ? names[k] : "?";               \
    }

NAME_FN(llmc_attention_name, llmc_attention_kind, LLMC_ATTN_COUNT, "mha", "mqa", "gqa", "sliding_window")
NAME_FN(llmc_norm_name, llmc_norm_kind, LLMC_NORM_COUNT, "rmsnorm", "layernorm", "no_norm")
NAME_FN(llmc_activation_name, llmc_activation_kind, LLMC_ACT_COUNT, "swiglu", "geglu", "gelu", "gelu_tanh", "relu",
        "silu", "relu_squared")
NAME_FN(llmc_positional_name, llmc_positional_kind, LLMC_POS_COUNT, "rope", "alibi", "learned", "sinusoidal",
        "relative", "none")
NAME_FN(llmc_rope_scaling_name, llmc_rope_scaling_kind, LLMC_ROPE_SCALING_COUNT, "none", "linear", "dynamic", "yarn",
        "llama3")
NAME_FN(llmc_precision_name, llmc_precision, LLMC_PRECISION_COUNT, "float32", "float16", "bfloat16")
NAME_FN(llmc_quantize_name, llmc_quantize, LLMC_QUANT_COUNT, "none", "q8_0", "q4_0", "q6_k", "q5_k_m", "q4_k_m", "q5_k",
        "q4_k")
NAME_FN(llmc_init_scheme_name, llmc_init_scheme, LLMC_INIT_COUNT, "normal", "scaled_normal", "t5")
NAME_FN(llmc_tokenizer_name, llmc_tokenizer_kind, LLMC_TOKENIZER_COUNT, "none", "byte")
NAME_FN(llmc_moe_routing_name, llmc_moe_routing, LLMC_MOE_ROUTING_COUNT, "softmax_topk", "topk_softmax")

/* ---- counts -------------------------------------------------------------------------------
 * Return codes of the parsers (any non-zero is failure, as the header says):
 *   1 = not a number of this form, 2 = does not fit in 64 bits, 3 = not a whole number. */

/* Reads "123", "1_000", "1.5", "7e9", "1.5e+3" at *s. The value is digits * 10^exp10,
 * exactly (no floating point), with digits stripped of trailing zeros where possible. */
static int scan_decimal(const char **s, uint64_t *digits, int *exp10) {
    const char *p = *s;
    char buf[40];
    size_t n = 0;
    int frac = 0;
    bool seen_dot = false, any = false;
    while (isdigit((unsigned char)*p) || *p == '_' || *p == '.') {
        if (*p == '_') {
            /* separators only between digits */
            if (!any || !isdigit((unsigned char)p[1])) return 1;
        } else if (*p == '.') {
            if (seen_dot || !any || !isdigit((unsigned char)p[1])) return 1;
            seen_dot = true;
        } else {
            any = true;
            if (n == 0 && *p == '0' && !seen_dot) { p++; continue; } /* leading zeros carry nothing */
            if (n >= sizeof buf - 1) return 2;
            buf[n++] = *p;
            if (seen_dot) frac++;
        }
        p++;
    }
    if (!any) return 1;
    long exp = -(long)frac;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        int sign = 1;
        if (*q == '+' || *q == '-') { sign = *q == '-' ? -1 : 1; q++; }
        if (!isdigit((unsigned char)*q)) return 1;
        long e = 0;
        while (isdigit((unsigned char)*q)) {
            if (e < 100000) e = e * 10 + (*q - '0');
            q++;
        }
        exp += sign * e;
        p = q;
    }
    /* drop trailing zeros of the digit string into the exponent */
    while (n > 0 && buf[n - 1] == '0') { n--; exp++; }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!llmc_mul_u64(v, 10, &v) || !llmc_add_u64(v, (uint64_t)(buf[i] - '0'), &v)) return 2;
    }
    if (v == 0) exp = 0;
    if (exp > 1000) exp = 1000;
    if (exp < -1000) exp = -1000;
    *digits = v;
    *exp10 = (int)exp;
    *s = p;
    return 0;
}

/* digits * 10^exp10 * mult, exactly, or an error code. */
static int scale_exact(uint64_t digits, int exp10, uint64_t mult, uint64_t *out) {
    uint64_t v = digits;
    if (v == 0) { *out = 0; return 0; }
    if (!llmc_mul_u64(v, mult, &v)) return 2;
    for (; exp10 > 0; exp10--)
        if (!llmc_mul_u64(v, 10, &v)) return 2;
    for (; exp10 < 0; exp10++) {
        if (v % 10 != 0) return 3;
        v /= 10;
    }
    *out = v;
    return 0;
}

int llmc_parse_count(const char *text, uint64_t *out) {
    if (!text || !out) return 1;
    const char *p = text;
    uint64_t digits;
    int exp10;
    int rc = scan_decimal(&p, &digits, &exp10);
    if (rc) return rc;
    switch (*p) {
    case '\0': break;
    case 'k': case 'K': exp10 += 3; p++; break;
    case 'm': case 'M': exp10 += 6; p++; break;
    case 'b': case 'B': case 'g': case 'G': exp10 += 9; p++; break;
    case 't': case 'T': exp10 += 12; p++; break;
    default: return 1;
    }
    if (*p) return 1;
    return scale_exact(digits, exp10, 1, out);
}

int llmc_parse_bytes(const char *text, uint64_t *out) {
    if (!text || !out) return 1;
    const char *p = text;
    uint64_t digits;
    int exp10;
    int rc = scan_decimal(&p, &digits, &exp10);
    if (rc) return rc;
    while (*p == ' ') p++;
    static const struct { const char *unit; int exp10; unsigned shift; } units[] = {
        {"", 0, 0}, {"B", 0, 0},
        {"k", 3, 0}, {"K", 3, 0}, {"kB", 3, 0}, {"KB", 3, 0},
        {"M", 6, 0}, {"MB", 6, 0}, {"G", 9, 0}, {"GB", 9, 0}, {"T", 12, 0}, {"TB", 12, 0},
        {"KiB", 0, 10}, {"MiB", 0, 20}, {"GiB", 0, 30}, {"TiB", 0, 40},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcmp(p, units[i].unit) != 0) continue;
        return scale_exact(digits, exp10 + units[i].exp10, (uint64_t)1 << units[i].shift, out);
    }
    return 1;
}
