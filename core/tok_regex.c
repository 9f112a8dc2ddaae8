/* The tokenizer's regex engine: pattern -> AST -> a small instruction program, run by a
 * backtracking VM (leftmost, first alternative wins, greedy by default: Oniguruma's semantics).
 * Lookahead and atomic groups run their sub-program recursively on the same stack. */
#include "tok_regex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_unicode.h"

#define MAX_PROGRAM 200000u      /* instructions (counted repetition can expand a pattern) */
#define MAX_REPEAT 1000u         /* {n,m} bounds */
#define MAX_DEPTH 200            /* nesting of groups */
#define INF_REPEAT UINT32_MAX

/* ---- classes ------------------------------------------------------------------------------------- */

typedef enum { AT_RANGE, AT_GC, AT_SPACE, AT_WORD, AT_DIGIT, AT_HEX, AT_ANY } atom_kind;
typedef struct {
    uint8_t kind;
    bool neg;
    uint32_t lo, hi;   /* AT_RANGE */
    uint32_t mask;     /* AT_GC */
} class_atom;

typedef struct {
    class_atom *atoms;
    size_t n, cap;
    bool negate;
    bool fold;          /* case-insensitive */
    uint64_t ascii[2];  /* precomputed membership for code points < 128 */
} char_class;

static bool atom_has(const class_atom *a, uint32_t cp) {
    bool r;
    switch (a->kind) {
    case AT_RANGE: r = cp >= a->lo && cp <= a->hi; break;
    case AT_GC: r = llmc_uc_gc_in(cp, a->mask); break;
    case AT_SPACE: r = llmc_uc_is_onig_space(cp); break;
    case AT_WORD: r = llmc_uc_is_onig_word(cp); break;
    case AT_DIGIT: r = llmc_uc_gc(cp) == LLMC_GC_Nd; break;
    case AT_HEX: r = (cp >= '0' && cp <= '9') || ((cp | 32) >= 'a' && (cp | 32) <= 'f'); break;
    default: r = true; break;
    }
    return r != a->neg;
}

static bool class_has_slow(const char_class *c, uint32_t cp) {
    bool in = false;
    for (size_t i = 0; i < c->n && !in; i++) in = atom_has(&c->atoms[i], cp);
    if (!in && c->fold) {
        uint32_t f = llmc_uc_fold(cp);
        for (size_t i = 0; i < c->n && !in; i++) in = atom_has(&c->atoms[i], f);
        if (!in && cp < 128 && ((cp | 32) >= 'a' && (cp | 32) <= 'z')) {
            uint32_t other = cp ^ 32;
            for (size_t i = 0; i < c->n && !in; i++) in = atom_has(&c->atoms[i], other);
        }
    }
    return in != c->negate;
}

/* an invalid UTF-8 byte matches as U+FFFD would (a symbol: not a letter, number or space) */
static inline bool class_has(const char_class *c, uint32_t cp) {
    if (cp < 128) return (c->ascii[cp >> 6] >> (cp & 63)) & 1u;
    if (cp & LLMC_UTF8_INVALID) cp = 0xFFFD;
    return class_has_slow(c, cp);
}

/* ---- program ----------------------------------------------------------------------------------- */

typedef enum {
    OP_CHAR, OP_CHAR_FOLD, OP_ANY, OP_CLASS, OP_SPLIT, OP_JMP, OP_MATCH, OP_LOOK,
    OP_BOL, OP_EOL, OP_BEGIN, OP_END, OP_END_NL, OP_WORDB, OP_NWORDB
} opcode;
enum { LOOK_NEG = 0, LOOK_POS = 1, LOOK_ATOMIC = 2 };

typedef struct {
    uint8_t op;
    uint32_t x, y;   /* CHAR: code point; CLASS: class index; SPLIT: preferred, other; JMP: target;
                        LOOK: sub-program start, kind */
} inst;

struct llmc_regex {
    inst *prog;
    size_t n, cap;
    char_class *classes;
    size_t n_classes, cap_classes;
    /* literal fast path (Split / Replace "String" patterns) */
    char *literal;
    size_t literal_len;
};

/* ---- AST ---------------------------------------------------------------------------------------- */

typedef enum { N_EMPTY, N_CHAR, N_ANY, N_CLASS, N_CAT, N_ALT, N_REP, N_LOOK, N_ANCHOR } node_kind;
typedef struct node {
    uint8_t kind;
    bool fold;             /* N_CHAR */
    bool greedy, possessive;
    uint32_t cp;           /* N_CHAR; N_CLASS: class index; N_LOOK: kind; N_ANCHOR: opcode */
    uint32_t min, max;     /* N_REP */
    struct node **kids;
    size_t nk, capk;
} node;

static void node_free(node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->nk; i++) node_free(n->kids[i]);
    free(n->kids);
    free(n);
}

static node *node_new(uint8_t kind) {
    node *n = calloc(1, sizeof *n);
    if (n) n->kind = kind;
    return n;
}

static int node_add(node *p, node *k) {
    if (!k) return -1;
    if (p->nk == p->capk) {
        size_t nc = p->capk ? p->capk * 2 : 4;
        node **q = realloc(p->kids, nc * sizeof *q);
        if (!q) {
            node_free(k);
            return -1;
        }
        p->kids = q;
        p->capk = nc;
    }
    p->kids[p->nk++] = k;
    return 0;
}

/* ---- parser --------------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *s;
    size_t n, i;
    llmc_regex *re;
    char *err;
    size_t errn;
    bool failed;
    int depth;
} parser;

static void perr(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(parser *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    if (!p->err || !p->errn) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errn, fmt, ap);
    va_end(ap);
}

static bool at_end(const parser *p) { return p->i >= p->n; }
static unsigned peek(const parser *p) { return p->i < p->n ? p->s[p->i] : 0; }

static uint32_t next_cp(parser *p) {
    uint32_t cp;
    int k = llmc_utf8_decode(p->s + p->i, p->n - p->i, &cp);
    if (cp & LLMC_UTF8_INVALID) {
        perr(p, "invalid UTF-8 at offset %zu", p->i);
        p->i++;
        return 0;
    }
    p->i += (size_t)k;
    return cp;
}

static int new_class(parser *p) {
    llmc_regex *re = p->re;
    if (re->n_classes == re->cap_classes) {
        size_t nc = re->cap_classes ? re->cap_classes * 2 : 8;
        char_class *c = realloc(re->classes, nc * sizeof *c);
        if (!c) {
            perr(p, "out of memory");
            return -1;
        }
        re->classes = c;
        re->cap_classes = nc;
    }
    memset(&re->classes[re->n_classes], 0, sizeof *re->classes);
    return (int)re->n_classes++;
}

static void class_add(parser *p, char_class *c, class_atom a) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        class_atom *q = realloc(c->atoms, nc * sizeof *q);
        if (!q) {
            perr(p, "out of memory");
            return;
        }
        c->atoms = q;
        c->cap = nc;
    }
    c->atoms[c->n++] = a;
}

static void class_finish(char_class *c) {
    c->ascii[0] = c->ascii[1] = 0;
    for (uint32_t cp = 0; cp < 128; cp++)
        if (class_has_slow(c, cp)) c->ascii[cp >> 6] |= 1ull << (cp & 63);
}

/* general category names for \p{..} */
static const struct {
    const char *name;
    uint32_t mask;
} gc_props[] = {
    {"L", LLMC_GCM_L}, {"Letter", LLMC_GCM_L}, {"Lu", LLMC_GCM(LLMC_GC_Lu)}, {"Uppercase_Letter", LLMC_GCM(LLMC_GC_Lu)},
    {"Ll", LLMC_GCM(LLMC_GC_Ll)}, {"Lowercase_Letter", LLMC_GCM(LLMC_GC_Ll)}, {"Lt", LLMC_GCM(LLMC_GC_Lt)},
    {"Titlecase_Letter", LLMC_GCM(LLMC_GC_Lt)}, {"Lm", LLMC_GCM(LLMC_GC_Lm)}, {"Modifier_Letter", LLMC_GCM(LLMC_GC_Lm)},
    {"Lo", LLMC_GCM(LLMC_GC_Lo)}, {"Other_Letter", LLMC_GCM(LLMC_GC_Lo)},
    {"LC", LLMC_GCM(LLMC_GC_Lu) | LLMC_GCM(LLMC_GC_Ll) | LLMC_GCM(LLMC_GC_Lt)},
    {"M", LLMC_GCM_M}, {"Mark", LLMC_GCM_M}, {"Combining_Mark", LLMC_GCM_M}, {"Mn", LLMC_GCM(LLMC_GC_Mn)},
    {"Nonspacing_Mark", LLMC_GCM(LLMC_GC_Mn)}, {"Mc", LLMC_GCM(LLMC_GC_Mc)}, {"Spacing_Mark", LLMC_GCM(LLMC_GC_Mc)},
    {"Me", LLMC_GCM(LLMC_GC_Me)}, {"Enclosing_Mark", LLMC_GCM(LLMC_GC_Me)},
    {"N", LLMC_GCM_N}, {"Number", LLMC_GCM_N}, {"Nd", LLMC_GCM(LLMC_GC_Nd)}, {"Decimal_Number", LLMC_GCM(LLMC_GC_Nd)},
    {"Nl", LLMC_GCM(LLMC_GC_Nl)}, {"Letter_Number", LLMC_GCM(LLMC_GC_Nl)}, {"No", LLMC_GCM(LLMC_GC_No)},
    {"Other_Number", LLMC_GCM(LLMC_GC_No)},
    {"P", LLMC_GCM_P}, {"Punctuation", LLMC_GCM_P}, {"Pc", LLMC_GCM(LLMC_GC_Pc)}, {"Connector_Punctuation", LLMC_GCM(LLMC_GC_Pc)},
    {"Pd", LLMC_GCM(LLMC_GC_Pd)}, {"Dash_Punctuation", LLMC_GCM(LLMC_GC_Pd)}, {"Ps", LLMC_GCM(LLMC_GC_Ps)},
    {"Open_Punctuation", LLMC_GCM(LLMC_GC_Ps)}, {"Pe", LLMC_GCM(LLMC_GC_Pe)}, {"Close_Punctuation", LLMC_GCM(LLMC_GC_Pe)},
    {"Pi", LLMC_GCM(LLMC_GC_Pi)}, {"Initial_Punctuation", LLMC_GCM(LLMC_GC_Pi)}, {"Pf", LLMC_GCM(LLMC_GC_Pf)},
    {"Final_Punctuation", LLMC_GCM(LLMC_GC_Pf)}, {"Po", LLMC_GCM(LLMC_GC_Po)}, {"Other_Punctuation", LLMC_GCM(LLMC_GC_Po)},
    {"S", LLMC_GCM_S}, {"Symbol", LLMC_GCM_S}, {"Sm", LLMC_GCM(LLMC_GC_Sm)}, {"Math_Symbol", LLMC_GCM(LLMC_GC_Sm)},
    {"Sc", LLMC_GCM(LLMC_GC_Sc)}, {"Currency_Symbol", LLMC_GCM(LLMC_GC_Sc)}, {"Sk", LLMC_GCM(LLMC_GC_Sk)},
    {"Modifier_Symbol", LLMC_GCM(LLMC_GC_Sk)}, {"So", LLMC_GCM(LLMC_GC_So)}, {"Other_Symbol", LLMC_GCM(LLMC_GC_So)},
    {"Z", LLMC_GCM_Z}, {"Separator", LLMC_GCM_Z}, {"Zs", LLMC_GCM(LLMC_GC_Zs)}, {"Space_Separator", LLMC_GCM(LLMC_GC_Zs)},
    {"Zl", LLMC_GCM(LLMC_GC_Zl)}, {"Line_Separator", LLMC_GCM(LLMC_GC_Zl)}, {"Zp", LLMC_GCM(LLMC_GC_Zp)},
    {"Paragraph_Separator", LLMC_GCM(LLMC_GC_Zp)},
    {"C", LLMC_GCM_C}, {"Other", LLMC_GCM_C}, {"Cc", LLMC_GCM(LLMC_GC_Cc)}, {"Control", LLMC_GCM(LLMC_GC_Cc)},
    {"Cf", LLMC_GCM(LLMC_GC_Cf)}, {"Format", LLMC_GCM(LLMC_GC_Cf)}, {"Cn", LLMC_GCM(LLMC_GC_Cn)},
    {"Unassigned", LLMC_GCM(LLMC_GC_Cn)}, {"Co", LLMC_GCM(LLMC_GC_Co)}, {"Private_Use", LLMC_GCM(LLMC_GC_Co)},
    {"Cs", LLMC_GCM(LLMC_GC_Cs)}, {"Surrogate", LLMC_GCM(LLMC_GC_Cs)},
};

/* After "\p" or "\P": {Name} or {^Name}. Fills a. */
static bool parse_property(parser *p, bool upper, class_atom *a) {
    size_t at = p->i - 2;
    if (peek(p) != '{') {
        perr(p, "expected '{' after '\\%c' at offset %zu", upper ? 'P' : 'p', at);
        return false;
    }
    p->i++;
    bool neg = upper;
    if (peek(p) == '^') {
        neg = !neg;
        p->i++;
    }
    size_t start = p->i;
    while (!at_end(p) && peek(p) != '}') p->i++;
    if (at_end(p)) {
        perr(p, "unterminated property name at offset %zu", at);
        return false;
    }
    char name[64];
    size_t len = p->i - start;
    p->i++;
    /* Oniguruma ignores case, spaces, '_' and '-' in property names */
    size_t k = 0;
    for (size_t j = 0; j < len && k + 1 < sizeof name; j++) {
        unsigned char c = p->s[start + j];
        if (c == ' ' || c == '_' || c == '-') continue;
        name[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    name[k] = '\0';
    for (size_t g = 0; g < sizeof gc_props / sizeof *gc_props; g++) {
        char want[64];
        size_t w = 0;
        for (const char *q = gc_props[g].name; *q && w + 1 < sizeof want; q++)
            if (*q != '_') want[w++] = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
        want[w] = '\0';
        if (!strcmp(want, name)) {
            *a = (class_atom){AT_GC, neg, 0, 0, gc_props[g].mask};
            return true;
        }
    }
    if (!strcmp(name, "any")) {
        *a = (class_atom){AT_ANY, neg, 0, 0, 0};
        return true;
    }
    perr(p, "unsupported property '\\%c{%.*s}' at offset %zu (supported: general categories such as L, Lu, N, Nd, P, "
            "S, Z, C)",
         upper ? 'P' : 'p', (int)len, (const char *)p->s + start, at);
    return false;
}

static uint32_t parse_hex(parser *p, size_t min_digits, size_t max_digits, size_t at) {
    uint32_t v = 0;
    size_t k = 0;
    while (k < max_digits && !at_end(p)) {
        unsigned c = peek(p);
        unsigned d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if ((c | 32) >= 'a' && (c | 32) <= 'f') d = (c | 32) - 'a' + 10;
        else break;
        v = v * 16 + d;
        p->i++;
        k++;
    }
    if (k < min_digits || v >= 0x110000u) perr(p, "bad hexadecimal escape at offset %zu", at);
    return v;
}

/* An escape after '\'. Either a single code point (*cp, returns 1) or a class atom (*a, returns 2). */
static int parse_escape(parser *p, uint32_t *cp, class_atom *a, bool in_class) {
    size_t at = p->i - 1;
    if (at_end(p)) {
        perr(p, "trailing '\\' at offset %zu", at);
        return 0;
    }
    unsigned c = peek(p);
    p->i++;
    switch (c) {
    case 't': *cp = '\t'; return 1;
    case 'n': *cp = '\n'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'v': *cp = '\v'; return 1;
    case 'a': *cp = 7; return 1;
    case 'e': *cp = 27; return 1;
    case '0': *cp = 0; return 1;
    case 'x':
        if (peek(p) == '{') {
            p->i++;
            *cp = parse_hex(p, 1, 8, at);
            if (peek(p) != '}') perr(p, "unterminated '\\x{' at offset %zu", at);
            else p->i++;
        } else {
            *cp = parse_hex(p, 1, 2, at);
        }
        return 1;
    case 'u': *cp = parse_hex(p, 4, 4, at); return 1;
    case 's': *a = (class_atom){AT_SPACE, false, 0, 0, 0}; return 2;
    case 'S': *a = (class_atom){AT_SPACE, true, 0, 0, 0}; return 2;
    case 'd': *a = (class_atom){AT_DIGIT, false, 0, 0, 0}; return 2;
    case 'D': *a = (class_atom){AT_DIGIT, true, 0, 0, 0}; return 2;
    case 'w': *a = (class_atom){AT_WORD, false, 0, 0, 0}; return 2;
    case 'W': *a = (class_atom){AT_WORD, true, 0, 0, 0}; return 2;
    case 'h': *a = (class_atom){AT_HEX, false, 0, 0, 0}; return 2;
    case 'H': *a = (class_atom){AT_HEX, true, 0, 0, 0}; return 2;
    case 'p':
    case 'P': return parse_property(p, c == 'P', a) ? 2 : 0;
    default: break;
    }
    if (c < 128 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9'))) {
        if (!in_class && (c == 'A' || c == 'z' || c == 'Z' || c == 'b' || c == 'B')) {
            p->i--; /* anchors: the caller handles them */
            return 3;
        }
        perr(p, "unsupported escape '\\%c' at offset %zu", c, at);
        return 0;
    }
    p->i--;
    *cp = next_cp(p);
    return 1;
}

static node *class_node(parser *p, class_atom a, bool fold) {
    int ci = new_class(p);
    if (ci < 0) return NULL;
    char_class *c = &p->re->classes[ci];
    c->fold = fold;
    class_add(p, c, a);
    class_finish(c);
    node *n = node_new(N_CLASS);
    if (n) n->cp = (uint32_t)ci;
    return n;
}

static node *parse_bracket(parser *p, bool fold) {
    size_t at = p->i - 1;
    int ci = new_class(p);
    if (ci < 0) return NULL;
    char_class cls = {0};
    cls.fold = fold;
    if (peek(p) == '^') {
        cls.negate = true;
        p->i++;
    }
    bool first = true;
    while (!p->failed) {
        if (at_end(p)) {
            perr(p, "unterminated '[' at offset %zu", at);
            break;
        }
        unsigned c = peek(p);
        if (c == ']' && !first) {
            p->i++;
            break;
        }
        first = false;
        if (c == '[') {
            perr(p, "unsupported nested class '[' at offset %zu", p->i);
            break;
        }
        if (c == '&' && p->i + 1 < p->n && p->s[p->i + 1] == '&') {
            perr(p, "unsupported class intersection '&&' at offset %zu", p->i);
            break;
        }
        uint32_t lo;
        class_atom a;
        if (c == '\\') {
            p->i++;
            int k = parse_escape(p, &lo, &a, true);
            if (k == 0) break;
            if (k == 2) {
                class_add(p, &cls, a);
                continue;
            }
        } else {
            lo = next_cp(p);
        }
        uint32_t hi = lo;
        if (peek(p) == '-' && p->i + 1 < p->n && p->s[p->i + 1] != ']') {
            size_t dash = p->i;
            p->i++;
            if (peek(p) == '\\') {
                p->i++;
                int k = parse_escape(p, &hi, &a, true);
                if (k != 1) {
                    perr(p, "bad range end at offset %zu", dash);
                    break;
                }
            } else {
                hi = next_cp(p);
            }
            if (hi < lo) {
                perr(p, "empty range at offset %zu", dash);
                break;
            }
        }
        class_add(p, &cls, (class_atom){AT_RANGE, false, lo, hi, 0});
    }
    class_finish(&cls);
    p->re->classes[ci] = cls;
    if (p->failed) return NULL;
    node *n = node_new(N_CLASS);
    if (n) n->cp = (uint32_t)ci;
    return n;
}

static node *parse_alt(parser *p, bool *fold);

static node *parse_group(parser *p, bool fold) {
    size_t at = p->i - 1;
    if (++p->depth > MAX_DEPTH) {
        perr(p, "groups nested deeper than %d at offset %zu", MAX_DEPTH, at);
        return NULL;
    }
    node *inner = NULL, *wrap = NULL;
    bool inner_fold = fold;
    if (peek(p) == '?') {
        p->i++;
        unsigned c = peek(p);
        if (c == ':') {
            p->i++;
        } else if (c == '=' || c == '!' || c == '>') {
            p->i++;
            wrap = node_new(N_LOOK);
            if (!wrap) {
                perr(p, "out of memory");
                return NULL;
            }
            wrap->cp = c == '!' ? LOOK_NEG : c == '=' ? LOOK_POS : LOOK_ATOMIC;
        } else if (c == 'i' || c == '-') {
            bool on = true;
            while (!at_end(p) && (peek(p) == 'i' || peek(p) == '-')) {
                if (peek(p) == '-') on = false;
                else inner_fold = on;
                p->i++;
            }
            if (peek(p) == ')') {
                /* (?i) alone: applies to the rest of the enclosing group */
                p->i++;
                p->depth--;
                node *n = node_new(N_EMPTY);
                if (n) n->fold = inner_fold, n->greedy = true; /* greedy marks "flag change" */
                return n;
            }
            if (peek(p) != ':') {
                perr(p, "unsupported group flags at offset %zu (supported: (?i: ), (?-i: ), (?i))", at);
                return NULL;
            }
            p->i++;
        } else {
            perr(p, "unsupported group '(?%c' at offset %zu (supported: (?: ), (?i: ), (?= ), (?! ), (?> ))", c ? c : ' ',
                 at);
            return NULL;
        }
    }
    inner = parse_alt(p, &inner_fold);
    if (!inner) {
        node_free(wrap);
        return NULL;
    }
    if (peek(p) != ')') {
        perr(p, "missing ')' for the group at offset %zu", at);
        node_free(inner);
        node_free(wrap);
        return NULL;
    }
    p->i++;
    p->depth--;
    if (wrap) {
        if (node_add(wrap, inner)) {
            node_free(wrap);
            perr(p, "out of memory");
            return NULL;
        }
        return wrap;
    }
    return inner;
}

static bool parse_count(parser *p, uint32_t *v) {
    if (!(peek(p) >= '0' && peek(p) <= '9')) return false;
    uint32_t x = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        x = x * 10 + (peek(p) - '0');
        if (x > MAX_REPEAT) x = MAX_REPEAT + 1;
        p->i++;
    }
    *v = x;
    return true;
}

/* {n}, {n,}, {n,m}, {,m}: returns true and the bounds, or false (then '{' is a literal) */
static bool parse_braces(parser *p, uint32_t *min, uint32_t *max) {
    size_t save = p->i;
    p->i++; /* '{' */
    uint32_t a = 0, b = 0;
    bool has_a = parse_count(p, &a);
    if (peek(p) == '}') {
        if (!has_a) goto literal;
        p->i++;
        *min = *max = a;
        return true;
    }
    if (peek(p) != ',') goto literal;
    p->i++;
    bool has_b = parse_count(p, &b);
    if (peek(p) != '}' || (!has_a && !has_b)) goto literal;
    p->i++;
    *min = has_a ? a : 0;
    *max = has_b ? b : INF_REPEAT;
    return true;
literal:
    p->i = save;
    return false;
}

static node *parse_atom(parser *p, bool *fold) {
    unsigned c = peek(p);
    size_t at = p->i;
    if (c == '(') {
        p->i++;
        node *g = parse_group(p, *fold);
        if (g && g->kind == N_EMPTY && g->greedy) { /* (?i) flag change */
            *fold = g->fold;
            g->greedy = false;
        }
        return g;
    }
    if (c == '[') {
        p->i++;
        return parse_bracket(p, *fold);
    }
    if (c == '.') {
        p->i++;
        return node_new(N_ANY);
    }
    if (c == '^' || c == '$') {
        p->i++;
        node *n = node_new(N_ANCHOR);
        if (n) n->cp = c == '^' ? OP_BOL : OP_EOL;
        return n;
    }
    if (c == '\\') {
        p->i++;
        uint32_t cp;
        class_atom a;
        int k = parse_escape(p, &cp, &a, false);
        if (k == 0) return NULL;
        if (k == 2) return class_node(p, a, *fold);
        if (k == 3) {
            unsigned e = peek(p);
            p->i++;
            node *n = node_new(N_ANCHOR);
            if (n) n->cp = e == 'A' ? OP_BEGIN : e == 'z' ? OP_END : e == 'Z' ? OP_END_NL : e == 'b' ? OP_WORDB : OP_NWORDB;
            return n;
        }
        node *n = node_new(N_CHAR);
        if (n) {
            n->cp = cp;
            n->fold = *fold;
        }
        return n;
    }
    if (c == '*' || c == '+' || c == '?') {
        perr(p, "nothing to repeat before '%c' at offset %zu", c, at);
        return NULL;
    }
    uint32_t cp = next_cp(p);
    if (p->failed) return NULL;
    node *n = node_new(N_CHAR);
    if (n) {
        n->cp = cp;
        n->fold = *fold;
    }
    return n;
}

static node *parse_repeat(parser *p, bool *fold) {
    node *a = parse_atom(p, fold);
    if (!a) {
        if (!p->failed) perr(p, "out of memory");
        return NULL;
    }
    for (;;) {
        unsigned c = peek(p);
        uint32_t min, max;
        size_t at = p->i;
        if (c == '*') min = 0, max = INF_REPEAT, p->i++;
        else if (c == '+') min = 1, max = INF_REPEAT, p->i++;
        else if (c == '?') min = 0, max = 1, p->i++;
        else if (c == '{' && parse_braces(p, &min, &max)) {
            if ((min > MAX_REPEAT) || (max != INF_REPEAT && max > MAX_REPEAT) || max < min) {
                perr(p, "repetition bounds at offset %zu out of range (at most %u, min <= max)", at, MAX_REPEAT);
                node_free(a);
                return NULL;
            }
        } else
            break;
        if (a->kind == N_ANCHOR || a->kind == N_LOOK) {
            perr(p, "nothing to repeat at offset %zu", at);
            node_free(a);
            return NULL;
        }
        node *r = node_new(N_REP);
        if (!r || node_add(r, a)) {
            free(r);
            perr(p, "out of memory");
            return NULL;
        }
        r->min = min;
        r->max = max;
        r->greedy = true;
        if (peek(p) == '?') {
            r->greedy = false;
            p->i++;
        } else if (peek(p) == '+' && c != '{') {
            r->possessive = true;
            p->i++;
        }
        a = r;
    }
    return a;
}

static node *parse_concat(parser *p, bool *fold) {
    node *cat = node_new(N_CAT);
    if (!cat) {
        perr(p, "out of memory");
        return NULL;
    }
    while (!at_end(p) && peek(p) != '|' && peek(p) != ')') {
        node *r = parse_repeat(p, fold);
        if (!r || node_add(cat, r)) {
            node_free(cat);
            if (!p->failed) perr(p, "out of memory");
            return NULL;
        }
    }
    return cat;
}

static node *parse_alt(parser *p, bool *fold) {
    node *alt = node_new(N_ALT);
    if (!alt) {
        perr(p, "out of memory");
        return NULL;
    }
    for (;;) {
        node *c = parse_concat(p, fold);
        if (!c || node_add(alt, c)) {
            node_free(alt);
            if (!p->failed) perr(p, "out of memory");
            return NULL;
        }
        if (peek(p) != '|') break;
        p->i++;
    }
    return alt;
}

/* ---- compiler ------------------------------------------------------------------------------------- */

typedef struct {
    llmc_regex *re;
    bool failed;
} compiler;

static size_t emit(compiler *c, uint8_t op, uint32_t x, uint32_t y) {
    llmc_regex *re = c->re;
    if (c->failed) return 0;
    if (re->n >= MAX_PROGRAM) {
        c->failed = true;
        return 0;
    }
    if (re->n == re->cap) {
        size_t nc = re->cap ? re->cap * 2 : 64;
        inst *q = realloc(re->prog, nc * sizeof *q);
        if (!q) {
            c->failed = true;
            return 0;
        }
        re->prog = q;
        re->cap = nc;
    }
    re->prog[re->n] = (inst){op, x, y};
    return re->n++;
}

static bool nullable(const node *n) {
    switch (n->kind) {
    case N_EMPTY:
    case N_LOOK:
    case N_ANCHOR: return true;
    case N_CAT:
        for (size_t i = 0; i < n->nk; i++)
            if (!nullable(n->kids[i])) return false;
        return true;
    case N_ALT:
        for (size_t i = 0; i < n->nk; i++)
            if (nullable(n->kids[i])) return true;
        return false;
    case N_REP: return n->min == 0 || nullable(n->kids[0]);
    default: return false;
    }
}

static void compile_node(compiler *c, const node *n);

static void compile_rep(compiler *c, const node *n) {
    const node *x = n->kids[0];
    uint32_t max = n->max;
    /* a repeated sub-pattern that can match empty would loop forever: once is as good */
    if (max == INF_REPEAT && nullable(x)) max = n->min > 1 ? n->min : 1;
    for (uint32_t i = 0; i < n->min; i++) compile_node(c, x);
    if (max == INF_REPEAT) {
        size_t loop = emit(c, OP_SPLIT, 0, 0);
        compile_node(c, x);
        emit(c, OP_JMP, (uint32_t)loop, 0);
        if (c->failed) return;
        size_t out = c->re->n;
        c->re->prog[loop].x = n->greedy ? (uint32_t)(loop + 1) : (uint32_t)out;
        c->re->prog[loop].y = n->greedy ? (uint32_t)out : (uint32_t)(loop + 1);
        return;
    }
    size_t splits[MAX_REPEAT + 1];
    size_t ns = 0;
    for (uint32_t i = n->min; i < max; i++) {
        splits[ns++] = emit(c, OP_SPLIT, 0, 0);
        compile_node(c, x);
    }
    if (c->failed) return;
    size_t out = c->re->n;
    for (size_t i = 0; i < ns; i++) {
        size_t s = splits[i];
        c->re->prog[s].x = n->greedy ? (uint32_t)(s + 1) : (uint32_t)out;
        c->re->prog[s].y = n->greedy ? (uint32_t)out : (uint32_t)(s + 1);
    }
}

/* LOOK at pc; JMP over the sub-program at pc+1; sub-program at pc+2 ending in MATCH */
static void compile_look(compiler *c, uint32_t kind, const node *body, bool body_is_rep) {
    size_t look = emit(c, OP_LOOK, 0, kind);
    size_t jmp = emit(c, OP_JMP, 0, 0);
    if (body_is_rep) {
        node tmp = *body;
        tmp.possessive = false;
        compile_rep(c, &tmp);
    } else {
        compile_node(c, body);
    }
    emit(c, OP_MATCH, 0, 0);
    if (c->failed) return;
    c->re->prog[look].x = (uint32_t)(look + 2);
    c->re->prog[jmp].x = (uint32_t)c->re->n;
}

static void compile_node(compiler *c, const node *n) {
    if (c->failed) return;
    switch (n->kind) {
    case N_EMPTY: break;
    case N_CHAR:
        if (n->fold && llmc_uc_fold(n->cp) != n->cp) emit(c, OP_CHAR_FOLD, llmc_uc_fold(n->cp), 0);
        else if (n->fold && n->cp < 128 && ((n->cp | 32) >= 'a' && (n->cp | 32) <= 'z'))
            emit(c, OP_CHAR_FOLD, n->cp | 32, 0);
        else if (n->fold) {
            /* a character others fold to (e.g. 's' <- U+017F): compare folded */
            emit(c, OP_CHAR_FOLD, llmc_uc_fold(n->cp), 0);
        } else
            emit(c, OP_CHAR, n->cp, 0);
        break;
    case N_ANY: emit(c, OP_ANY, 0, 0); break;
    case N_CLASS: emit(c, OP_CLASS, n->cp, 0); break;
    case N_ANCHOR: emit(c, (uint8_t)n->cp, 0, 0); break;
    case N_CAT:
        for (size_t i = 0; i < n->nk; i++) compile_node(c, n->kids[i]);
        break;
    case N_ALT: {
        if (n->nk == 1) {
            compile_node(c, n->kids[0]);
            break;
        }
        size_t jumps[4096];
        size_t nj = 0;
        if (n->nk > 4096) {
            c->failed = true;
            break;
        }
        for (size_t i = 0; i < n->nk; i++) {
            if (i + 1 < n->nk) {
                size_t split = emit(c, OP_SPLIT, 0, 0);
                compile_node(c, n->kids[i]);
                jumps[nj++] = emit(c, OP_JMP, 0, 0);
                if (c->failed) return;
                c->re->prog[split].x = (uint32_t)(split + 1);
                c->re->prog[split].y = (uint32_t)c->re->n;
            } else {
                compile_node(c, n->kids[i]);
            }
        }
        if (c->failed) return;
        for (size_t i = 0; i < nj; i++) c->re->prog[jumps[i]].x = (uint32_t)c->re->n;
        break;
    }
    case N_REP:
        if (n->possessive) compile_look(c, LOOK_ATOMIC, n, true);
        else compile_rep(c, n);
        break;
    case N_LOOK: compile_look(c, n->cp, n->kids[0], false); break;
    default: c->failed = true; break;
    }
}

void llmc_regex_free(llmc_regex *re) {
    if (!re) return;
    for (size_t i = 0; i < re->n_classes; i++) free(re->classes[i].atoms);
    free(re->classes);
    free(re->prog);
    free(re->literal);
    free(re);
}

llmc_regex *llmc_regex_compile(const char *pattern, size_t len, char *err, size_t errn) {
    if (err && errn) err[0] = '\0';
    llmc_regex *re = calloc(1, sizeof *re);
    if (!re) {
        if (err && errn) snprintf(err, errn, "out of memory");
        return NULL;
    }
    parser p = {(const unsigned char *)pattern, len, 0, re, err, errn, false, 0};
    bool fold = false;
    node *root = parse_alt(&p, &fold);
    if (root && !p.failed && !at_end(&p)) perr(&p, "unbalanced ')' at offset %zu", p.i);
    if (!root || p.failed) {
        if (!p.failed) perr(&p, "out of memory");
        node_free(root);
        llmc_regex_free(re);
        return NULL;
    }
    compiler c = {re, false};
    compile_node(&c, root);
    emit(&c, OP_MATCH, 0, 0);
    node_free(root);
    if (c.failed) {
        if (err && errn) snprintf(err, errn, "pattern too large once compiled (over %u instructions)", MAX_PROGRAM);
        llmc_regex_free(re);
        return NULL;
    }
    return re;
}

llmc_regex *llmc_regex_literal(const char *s, size_t len) {
    llmc_regex *re = calloc(1, sizeof *re);
    if (!re) return NULL;
    re->literal = malloc(len ? len : 1);
    if (!re->literal) {
        free(re);
        return NULL;
    }
    memcpy(re->literal, s, len);
    re->literal_len = len;
    return re;
}

/* ---- matcher ---------------------------------------------------------------------------------------- */

typedef struct {
    uint32_t pc;
    size_t pos;
} frame;

typedef struct {
    const llmc_regex *re;
    const unsigned char *s;
    size_t n;
    llmc_regex_scratch *sc;
    size_t top;
    uint64_t budget;
    bool oom;
} vm;

static bool vm_push(vm *m, uint32_t pc, size_t pos) {
    if (m->top == m->sc->cap) {
        size_t nc = m->sc->cap ? m->sc->cap * 2 : 256;
        frame *q = realloc(m->sc->stack, nc * sizeof *q);
        if (!q) {
            m->oom = true;
            return false;
        }
        m->sc->stack = q;
        m->sc->cap = nc;
    }
    ((frame *)m->sc->stack)[m->top++] = (frame){pc, pos};
    return true;
}

static inline int decode_at(const vm *m, size_t pos, uint32_t *cp) {
    if (m->s[pos] < 0x80) {
        *cp = m->s[pos];
        return 1;
    }
    return llmc_utf8_decode(m->s + pos, m->n - pos, cp);
}

/* the code point before pos (pos > 0) */
static uint32_t cp_before(const vm *m, size_t pos) {
    size_t b = pos - 1;
    while (b > 0 && pos - b < 4 && (m->s[b] & 0xC0) == 0x80) b--;
    uint32_t cp;
    int k = llmc_utf8_decode(m->s + b, m->n - b, &cp);
    if ((size_t)k != pos - b) return LLMC_UTF8_INVALID | m->s[pos - 1];
    return cp;
}

static bool is_word_at(const vm *m, size_t pos, bool before) {
    if (before ? pos == 0 : pos >= m->n) return false;
    uint32_t cp;
    if (before) cp = cp_before(m, pos);
    else decode_at(m, pos, &cp);
    if (cp & LLMC_UTF8_INVALID) return false;
    return llmc_uc_is_onig_word(cp);
}

/* Run the program from pc at pos. Returns the end of the first match, -1 when none, -2 on
 * out of memory or budget exhausted. Backtrack entries above `base` belong to this call. */
static long vm_run(vm *m, uint32_t pc, size_t pos) {
    const inst *prog = m->re->prog;
    size_t base = m->top;
    for (;;) {
        if (m->budget-- == 0) return -2;
        const inst *I = &prog[pc];
        uint32_t cp;
        int k;
        switch (I->op) {
        case OP_CHAR:
            if (pos >= m->n) goto fail;
            k = decode_at(m, pos, &cp);
            if (cp != I->x) goto fail;
            pos += (size_t)k;
            pc++;
            continue;
        case OP_CHAR_FOLD:
            if (pos >= m->n) goto fail;
            k = decode_at(m, pos, &cp);
            if (cp & LLMC_UTF8_INVALID || llmc_uc_fold(cp) != I->x) goto fail;
            pos += (size_t)k;
            pc++;
            continue;
        case OP_ANY:
            if (pos >= m->n) goto fail;
            k = decode_at(m, pos, &cp);
            if (cp == '\n') goto fail;
            pos += (size_t)k;
            pc++;
            continue;
        case OP_CLASS:
            if (pos >= m->n) goto fail;
            k = decode_at(m, pos, &cp);
            if (!class_has(&m->re->classes[I->x], cp)) goto fail;
            pos += (size_t)k;
            pc++;
            continue;
        case OP_SPLIT:
            if (!vm_push(m, I->y, pos)) return -2;
            pc = I->x;
            continue;
        case OP_JMP: pc = I->x; continue;
        case OP_MATCH: m->top = base; return (long)pos;
        case OP_LOOK: {
            long r = vm_run(m, I->x, pos);
            if (r == -2) return -2;
            if (I->y == LOOK_NEG) {
                if (r >= 0) goto fail;
            } else if (r < 0) {
                goto fail;
            } else if (I->y == LOOK_ATOMIC) {
                pos = (size_t)r;
            }
            pc++;
            continue;
        }
        case OP_BOL:
            if (pos != 0 && m->s[pos - 1] != '\n') goto fail;
            pc++;
            continue;
        case OP_EOL:
            if (pos != m->n && m->s[pos] != '\n') goto fail;
            pc++;
            continue;
        case OP_BEGIN:
            if (pos != 0) goto fail;
            pc++;
            continue;
        case OP_END:
            if (pos != m->n) goto fail;
            pc++;
            continue;
        case OP_END_NL:
            if (pos != m->n && !(pos + 1 == m->n && m->s[pos] == '\n')) goto fail;
            pc++;
            continue;
        case OP_WORDB:
        case OP_NWORDB: {
            bool b = is_word_at(m, pos, true) != is_word_at(m, pos, false);
            if (b != (I->op == OP_WORDB)) goto fail;
            pc++;
            continue;
        }
        default: return -2;
        }
    fail:
        if (m->top == base) return -1;
        m->top--;
        frame f = ((frame *)m->sc->stack)[m->top];
        pc = f.pc;
        pos = f.pos;
    }
}

static size_t next_char(const unsigned char *s, size_t n, size_t pos) {
    uint32_t cp;
    return pos + (size_t)llmc_utf8_decode(s + pos, n - pos, &cp);
}

int llmc_regex_search(const llmc_regex *re, const char *s, size_t n, size_t from, size_t *ms, size_t *me,
                      llmc_regex_scratch *scratch) {
    if (re->literal) {
        size_t L = re->literal_len;
        if (L == 0) {
            if (from > n) return 0;
            *ms = *me = from;
            return 1;
        }
        for (size_t i = from; i + L <= n; i++) {
            const void *hit = memchr(s + i, re->literal[0], n - i - L + 1);
            if (!hit) return 0;
            i = (size_t)((const char *)hit - s);
            if (!memcmp(s + i, re->literal, L)) {
                *ms = i;
                *me = i + L;
                return 1;
            }
        }
        return 0;
    }
    vm m = {re, (const unsigned char *)s, n, scratch, 0, 0, false};
    /* a generous step budget: linear patterns need a few dozen steps per byte */
    m.budget = 100000u + (uint64_t)(n - from) * 20000u;
    for (size_t start = from; start <= n;) {
        long r = vm_run(&m, 0, start);
        if (r >= 0) {
            *ms = start;
            *me = (size_t)r;
            return 1;
        }
        if (r == -2) {
            *me = 0;
            return -1;
        }
        if (start == n) break;
        start = next_char(m.s, n, start);
    }
    return 0;
}

int llmc_regex_find_all(const llmc_regex *re, const char *s, size_t n, llmc_regex_scratch *scratch,
                        llmc_regex_match_fn fn, void *ctx) {
    size_t last_end = 0;
    bool have_last = false;
    size_t last_match = 0;
    while (last_end <= n) {
        size_t ms, me;
        int r = llmc_regex_search(re, s, n, last_end, &ms, &me, scratch);
        if (r < 0) return -1;
        if (r == 0) break;
        if (ms == me) {
            last_end = me < n ? next_char((const unsigned char *)s, n, me) : n + 1;
            if (have_last && last_match == me) continue;
        } else {
            last_end = me;
        }
        have_last = true;
        last_match = me;
        if (fn(ctx, ms, me)) break;
    }
    return 0;
}

void llmc_regex_scratch_free(llmc_regex_scratch *s) {
    if (!s) return;
    free(s->stack);
    s->stack = NULL;
    s->cap = 0;
}
