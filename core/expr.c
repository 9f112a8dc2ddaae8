/* Constraint expressions: recursive-descent parser and checked int64 evaluator (see expr.h). */
#include "llmc/expr.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Bounds keep both the parser's and the evaluator's recursion shallow on hostile input. */
#define EXPR_MAX_NESTING 100
#define EXPR_MAX_NODES 4096

typedef enum { N_NUM, N_NAME, N_NEG, N_NOT, N_BIN, N_IN_RANGE, N_IN_SET } node_kind;
typedef enum { OP_OR, OP_AND, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD } bin_op;

static const char *const op_text[] = {"or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"};

typedef struct enode {
    node_kind kind;
    bin_op op;
    int64_t num;
    size_t name;              /* index into llmc_expr.names */
    struct enode *a, *b;      /* operands; for N_IN_*: a = subject */
    struct enode **list;      /* N_IN_RANGE: 2 bounds; N_IN_SET: members */
    size_t n_list;
} enode;

struct llmc_expr {
    enode *root;
    char **names;
    size_t n_names;
};

/* ---- tokens ------------------------------------------------------------------------------- */

typedef enum {
    T_END, T_NUM, T_NAME, T_OR, T_AND, T_NOT, T_IN,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT,
    T_LPAREN, T_RPAREN, T_LBRACKET, T_RBRACKET, T_LBRACE, T_RBRACE, T_COMMA,
    T_BAD
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t start, len;        /* byte span in the text */
    int64_t num;
} token;

typedef struct parser {
    const char *text;
    size_t pos;
    token tok;                /* current token */
    llmc_expr *e;
    char *err;
    size_t err_len;
    int err_col;
    bool failed;
    int depth;
    size_t nodes;
} parser;

static void fail_at(parser *p, size_t offset, const char *fmt, ...) LLMC_PRINTF(3, 4);
static void fail_at(parser *p, size_t offset, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    p->err_col = (int)(offset + 1);
    if (p->err && p->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->err_len, fmt, ap);
        va_end(ap);
    }
}

static bool is_name_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Text of the current token for messages: "end of expression" or 'tok' (shortened). */
static const char *tok_desc(const parser *p, char *buf, size_t n) {
    if (p->tok.kind == T_END) return "end of expression";
    int len = p->tok.len > 24 ? 24 : (int)p->tok.len;
    snprintf(buf, n, "'%.*s%s'", len, p->text + p->tok.start, p->tok.len > 24 ? "..." : "");
    return buf;
}

static void advance(parser *p) {
    const char *s = p->text;
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r') p->pos++;
    token t = {T_END, p->pos, 0, 0};
    char c = s[p->pos];
    if (!c) { p->tok = t; return; }
    if (isdigit((unsigned char)c)) {
        /* a number token runs over everything a count may contain: 125M, 1.5e9, 1_000 */
        size_t i = p->pos;
        while (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' ||
               ((s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E') && isdigit((unsigned char)s[i + 1])))
            i++;
        t.kind = T_NUM;
        t.len = i - p->pos;
        char buf[64];
        uint64_t v = 0;
        int rc = 1;
        if (t.len < sizeof buf) {
            memcpy(buf, s + p->pos, t.len);
            buf[t.len] = '\0';
            rc = llmc_parse_count(buf, &v);
        }
        if (rc == 0 && v > (uint64_t)INT64_MAX) rc = 2;
        if (rc != 0) {
            fail_at(p, p->pos, rc == 2 ? "number '%.*s' is too large (the limit is 2^63-1)" : "invalid number '%.*s'",
                    (int)(t.len > 40 ? 40 : t.len), s + p->pos);
            t.kind = T_BAD;
        }
        t.num = (int64_t)v;
        p->pos = i;
        p->tok = t;
        return;
    }
    if (is_name_start(c)) {
        size_t i = p->pos;
        while (is_name_char(s[i])) i++;
        t.kind = T_NAME;
        t.len = i - p->pos;
        const char *w = s + p->pos;
        if (t.len == 2 && !memcmp(w, "or", 2)) t.kind = T_OR;
        else if (t.len == 3 && !memcmp(w, "and", 3)) t.kind = T_AND;
        else if (t.len == 3 && !memcmp(w, "not", 3)) t.kind = T_NOT;
        else if (t.len == 2 && !memcmp(w, "in", 2)) t.kind = T_IN;
        p->pos = i;
        p->tok = t;
        return;
    }
    char d = s[p->pos + 1];
    t.len = 1;
    switch (c) {
    case '=':
        if (d == '=') { t.kind = T_EQ; t.len = 2; }
        else { fail_at(p, p->pos, "unexpected '=' (use '==' to compare)"); t.kind = T_BAD; }
        break;
    case '!':
        if (d == '=') { t.kind = T_NE; t.len = 2; } else t.kind = T_NOT;
        break;
    case '<':
        if (d == '=') { t.kind = T_LE; t.len = 2; } else t.kind = T_LT;
        break;
    case '>':
        if (d == '=') { t.kind = T_GE; t.len = 2; } else t.kind = T_GT;
        break;
    case '&':
        if (d == '&') { t.kind = T_AND; t.len = 2; }
        else { fail_at(p, p->pos, "unexpected '&' (use '&&' or 'and')"); t.kind = T_BAD; }
        break;
    case '|':
        if (d == '|') { t.kind = T_OR; t.len = 2; }
        else { fail_at(p, p->pos, "unexpected '|' (use '||' or 'or')"); t.kind = T_BAD; }
        break;
    case '+': t.kind = T_PLUS; break;
    case '-': t.kind = T_MINUS; break;
    case '*': t.kind = T_STAR; break;
    case '/': t.kind = T_SLASH; break;
    case '%': t.kind = T_PERCENT; break;
    case '(': t.kind = T_LPAREN; break;
    case ')': t.kind = T_RPAREN; break;
    case '[': t.kind = T_LBRACKET; break;
    case ']': t.kind = T_RBRACKET; break;
    case '{': t.kind = T_LBRACE; break;
    case '}': t.kind = T_RBRACE; break;
    case ',': t.kind = T_COMMA; break;
    default:
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            fail_at(p, p->pos, "unexpected character '%c'", c);
        else
            fail_at(p, p->pos, "unexpected character (byte 0x%02x)", (unsigned char)c);
        t.kind = T_BAD;
        break;
    }
    p->pos += t.len;
    p->tok = t;
}

/* ---- tree ---------------------------------------------------------------------------------- */

static void node_free(enode *n) {
    if (!n) return;
    node_free(n->a);
    node_free(n->b);
    for (size_t i = 0; i < n->n_list; i++) node_free(n->list[i]);
    free(n->list);
    free(n);
}

static enode *new_node(parser *p, node_kind kind) {
    if (p->failed) return NULL;
    if (++p->nodes > EXPR_MAX_NODES) {
        fail_at(p, p->tok.start, "expression is too long (more than %d terms)", EXPR_MAX_NODES);
        return NULL;
    }
    enode *n = calloc(1, sizeof *n);
    if (!n) fail_at(p, p->tok.start, "out of memory");
    else n->kind = kind;
    return n;
}

static enode *binary(parser *p, bin_op op, enode *a, enode *b) {
    if (!a || !b) { node_free(a); node_free(b); return NULL; }
    enode *n = new_node(p, N_BIN);
    if (!n) { node_free(a); node_free(b); return NULL; }
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static bool intern_name(parser *p, const char *s, size_t len, size_t *index) {
    for (size_t i = 0; i < p->e->n_names; i++)
        if (strlen(p->e->names[i]) == len && !memcmp(p->e->names[i], s, len)) { *index = i; return true; }
    char **names = realloc(p->e->names, (p->e->n_names + 1) * sizeof *names);
    if (!names) return false;
    p->e->names = names;
    names[p->e->n_names] = llmc_strndup(s, len);
    if (!names[p->e->n_names]) return false;
    *index = p->e->n_names++;
    return true;
}

/* ---- grammar ------------------------------------------------------------------------------- */

static enode *parse_or(parser *p);
static enode *parse_sum(parser *p);

static bool enter(parser *p) {
    if (++p->depth > EXPR_MAX_NESTING) {
        fail_at(p, p->tok.start, "expression is nested too deeply (more than %d levels)", EXPR_MAX_NESTING);
        return false;
    }
    return true;
}

static enode *parse_atom(parser *p) {
    char buf[64];
    if (p->failed) return NULL;
    switch (p->tok.kind) {
    case T_NUM: {
        enode *n = new_node(p, N_NUM);
        if (n) n->num = p->tok.num;
        advance(p);
        return n;
    }
    case T_NAME: {
        enode *n = new_node(p, N_NAME);
        if (n && !intern_name(p, p->text + p->tok.start, p->tok.len, &n->name)) {
            fail_at(p, p->tok.start, "out of memory");
            free(n);
            return NULL;
        }
        advance(p);
        return n;
    }
    case T_LPAREN: {
        size_t open = p->tok.start;
        advance(p);
        enode *n = parse_or(p);
        if (!n) return NULL;
        if (p->tok.kind != T_RPAREN) {
            fail_at(p, p->tok.start, "expected ')' to close the '(' at column %zu (got %s)", open + 1,
                    tok_desc(p, buf, sizeof buf));
            node_free(n);
            return NULL;
        }
        advance(p);
        return n;
    }
    default:
        fail_at(p, p->tok.start, "expected a number, a name or '(' (got %s)", tok_desc(p, buf, sizeof buf));
        return NULL;
    }
}

static enode *parse_unary(parser *p) {
    if (p->tok.kind != T_MINUS) return parse_atom(p);
    if (!enter(p)) return NULL;
    advance(p);
    enode *operand = parse_unary(p);
    p->depth--;
    if (!operand) return NULL;
    enode *n = new_node(p, N_NEG);
    if (!n) { node_free(operand); return NULL; }
    n->a = operand;
    return n;
}

static enode *parse_prod(parser *p) {
    enode *left = parse_unary(p);
    while (left && (p->tok.kind == T_STAR || p->tok.kind == T_SLASH || p->tok.kind == T_PERCENT)) {
        bin_op op = p->tok.kind == T_STAR ? OP_MUL : p->tok.kind == T_SLASH ? OP_DIV : OP_MOD;
        advance(p);
        left = binary(p, op, left, parse_unary(p));
    }
    return left;
}

static enode *parse_sum(parser *p) {
    enode *left = parse_prod(p);
    while (left && (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS)) {
        bin_op op = p->tok.kind == T_PLUS ? OP_ADD : OP_SUB;
        advance(p);
        left = binary(p, op, left, parse_prod(p));
    }
    return left;
}

static bool is_cmp(tok_kind k) { return k == T_EQ || k == T_NE || k == T_LT || k == T_LE || k == T_GT || k == T_GE; }

/* "in [lo, hi]" or "in {a, b, ...}" after the subject */
static enode *parse_in(parser *p, enode *subject) {
    char buf[64];
    bool range = p->tok.kind == T_LBRACKET;
    if (p->tok.kind != T_LBRACKET && p->tok.kind != T_LBRACE) {
        fail_at(p, p->tok.start, "expected '[' or '{' after 'in' (got %s)", tok_desc(p, buf, sizeof buf));
        node_free(subject);
        return NULL;
    }
    enode *n = new_node(p, range ? N_IN_RANGE : N_IN_SET);
    if (!n) { node_free(subject); return NULL; }
    n->a = subject;
    advance(p);
    for (;;) {
        enode *member = parse_sum(p);
        if (!member) { node_free(n); return NULL; }
        enode **list = realloc(n->list, (n->n_list + 1) * sizeof *list);
        if (!list) { node_free(member); node_free(n); fail_at(p, p->tok.start, "out of memory"); return NULL; }
        n->list = list;
        list[n->n_list++] = member;
        if (p->tok.kind == T_COMMA) {
            if (range && n->n_list == 2) {
                fail_at(p, p->tok.start, "a range 'in [lo, hi]' has exactly two bounds (got a third)");
                node_free(n);
                return NULL;
            }
            advance(p);
            continue;
        }
        tok_kind close = range ? T_RBRACKET : T_RBRACE;
        if (p->tok.kind == close) {
            if (range && n->n_list != 2) {
                fail_at(p, p->tok.start, "a range 'in [lo, hi]' needs two bounds (got one)");
                node_free(n);
                return NULL;
            }
            advance(p);
            return n;
        }
        fail_at(p, p->tok.start, "expected ',' or '%c' (got %s)", range ? ']' : '}', tok_desc(p, buf, sizeof buf));
        node_free(n);
        return NULL;
    }
}

static enode *parse_cmp(parser *p) {
    enode *left = parse_sum(p);
    if (!left) return NULL;
    if (p->tok.kind == T_IN) {
        advance(p);
        return parse_in(p, left);
    }
    if (is_cmp(p->tok.kind)) {
        tok_kind k = p->tok.kind;
        bin_op op = k == T_EQ ? OP_EQ : k == T_NE ? OP_NE : k == T_LT ? OP_LT : k == T_LE ? OP_LE : k == T_GT ? OP_GT : OP_GE;
        advance(p);
        left = binary(p, op, left, parse_sum(p));
        if (left && (is_cmp(p->tok.kind) || p->tok.kind == T_IN)) {
            fail_at(p, p->tok.start, "comparisons cannot be chained (write 'a < b and b < c')");
            node_free(left);
            return NULL;
        }
    }
    return left;
}

static enode *parse_not(parser *p) {
    if (p->tok.kind != T_NOT) return parse_cmp(p);
    if (!enter(p)) return NULL;
    advance(p);
    enode *operand = parse_not(p);
    p->depth--;
    if (!operand) return NULL;
    enode *n = new_node(p, N_NOT);
    if (!n) { node_free(operand); return NULL; }
    n->a = operand;
    return n;
}

static enode *parse_and(parser *p) {
    enode *left = parse_not(p);
    while (left && p->tok.kind == T_AND) {
        advance(p);
        left = binary(p, OP_AND, left, parse_not(p));
    }
    return left;
}

static enode *parse_or(parser *p) {
    if (!enter(p)) return NULL;
    enode *left = parse_and(p);
    while (left && p->tok.kind == T_OR) {
        advance(p);
        left = binary(p, OP_OR, left, parse_and(p));
    }
    p->depth--;
    return left;
}

void llmc_expr_free(llmc_expr *e) {
    if (!e) return;
    node_free(e->root);
    for (size_t i = 0; i < e->n_names; i++) free(e->names[i]);
    free(e->names);
    free(e);
}

llmc_expr *llmc_expr_parse(const char *text, int *err_col, char *err, size_t err_len) {
    if (err_col) *err_col = 0;
    if (err && err_len) err[0] = '\0';
    parser p;
    memset(&p, 0, sizeof p);
    p.text = text ? text : "";
    p.err = err;
    p.err_len = err_len;
    p.e = calloc(1, sizeof *p.e);
    if (!p.e) {
        if (err && err_len) snprintf(err, err_len, "out of memory");
        if (err_col) *err_col = 1;
        return NULL;
    }
    advance(&p);
    if (!p.failed && p.tok.kind == T_END) fail_at(&p, 0, "empty expression");
    enode *root = p.failed ? NULL : parse_or(&p);
    if (root && !p.failed && p.tok.kind != T_END) {
        char buf[64];
        if (p.tok.kind == T_RPAREN)
            fail_at(&p, p.tok.start, "unmatched ')'");
        else
            fail_at(&p, p.tok.start, "unexpected %s (expected an operator or the end of the expression)",
                    tok_desc(&p, buf, sizeof buf));
    }
    if (p.failed || !root) {
        if (!p.failed) fail_at(&p, p.tok.start, "invalid expression");
        node_free(root);
        llmc_expr_free(p.e);
        if (err_col) *err_col = p.err_col;
        return NULL;
    }
    p.e->root = root;
    return p.e;
}

size_t llmc_expr_names(const llmc_expr *e, const char **names, size_t max) {
    if (!e) return 0;
    for (size_t i = 0; i < e->n_names && i < max; i++) names[i] = e->names[i];
    return e->n_names;
}

/* ---- evaluation --------------------------------------------------------------------------- */

typedef struct evaluator {
    const llmc_expr *e;
    llmc_expr_lookup_fn lookup;
    void *user;
    char *err;
    size_t err_len;
} evaluator;

static int eval_fail(evaluator *ev, const char *fmt, ...) LLMC_PRINTF(2, 3);
static int eval_fail(evaluator *ev, const char *fmt, ...) {
    if (ev->err && ev->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ev->err, ev->err_len, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/* floor division and modulo: the remainder has the sign of the divisor, as in Python */
static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}
static int64_t floor_mod(int64_t a, int64_t b) {
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

static int eval_node(evaluator *ev, const enode *n, int64_t *out) {
    int64_t a, b;
    switch (n->kind) {
    case N_NUM:
        *out = n->num;
        return 0;
    case N_NAME:
        if (!ev->lookup || ev->lookup(ev->user, ev->e->names[n->name], out) != 0)
            return eval_fail(ev, "unknown name '%s'", ev->e->names[n->name]);
        return 0;
    case N_NEG:
        if (eval_node(ev, n->a, &a)) return 1;
        if (a == INT64_MIN) return eval_fail(ev, "integer overflow in negation");
        *out = -a;
        return 0;
    case N_NOT:
        if (eval_node(ev, n->a, &a)) return 1;
        *out = a == 0;
        return 0;
    case N_IN_RANGE: {
        int64_t lo, hi;
        if (eval_node(ev, n->a, &a) || eval_node(ev, n->list[0], &lo) || eval_node(ev, n->list[1], &hi)) return 1;
        *out = a >= lo && a <= hi;
        return 0;
    }
    case N_IN_SET:
        if (eval_node(ev, n->a, &a)) return 1;
        *out = 0;
        for (size_t i = 0; i < n->n_list; i++) {
            if (eval_node(ev, n->list[i], &b)) return 1;
            if (a == b) *out = 1;
        }
        return 0;
    case N_BIN:
        break;
    }
    if (eval_node(ev, n->a, &a)) return 1;
    /* and/or short-circuit, so "num_kv_heads > 0 and num_heads % num_kv_heads == 0" is safe */
    if (n->op == OP_AND && a == 0) { *out = 0; return 0; }
    if (n->op == OP_OR && a != 0) { *out = 1; return 0; }
    if (eval_node(ev, n->b, &b)) return 1;
    switch (n->op) {
    case OP_OR: case OP_AND: *out = b != 0; return 0;
    case OP_EQ: *out = a == b; return 0;
    case OP_NE: *out = a != b; return 0;
    case OP_LT: *out = a < b; return 0;
    case OP_LE: *out = a <= b; return 0;
    case OP_GT: *out = a > b; return 0;
    case OP_GE: *out = a >= b; return 0;
    case OP_ADD:
        if (!llmc_add_i64(a, b, out)) return eval_fail(ev, "integer overflow in %lld + %lld", (long long)a, (long long)b);
        return 0;
    case OP_SUB:
        if (!llmc_sub_i64(a, b, out)) return eval_fail(ev, "integer overflow in %lld - %lld", (long long)a, (long long)b);
        return 0;
    case OP_MUL:
        if (!llmc_mul_i64(a, b, out)) return eval_fail(ev, "integer overflow in %lld * %lld", (long long)a, (long long)b);
        return 0;
    case OP_DIV:
    case OP_MOD:
        if (b == 0) return eval_fail(ev, "division by zero in %lld %s 0", (long long)a, op_text[n->op]);
        if (a == INT64_MIN && b == -1) {
            if (n->op == OP_MOD) { *out = 0; return 0; }
            return eval_fail(ev, "integer overflow in %lld / -1", (long long)a);
        }
        *out = n->op == OP_DIV ? floor_div(a, b) : floor_mod(a, b);
        return 0;
    }
    return eval_fail(ev, "invalid expression");
}

int llmc_expr_eval(const llmc_expr *e, llmc_expr_lookup_fn lookup, void *user, int64_t *result, char *err,
                   size_t err_len) {
    if (err && err_len) err[0] = '\0';
    if (!e || !e->root) {
        if (err && err_len) snprintf(err, err_len, "no expression");
        return 1;
    }
    evaluator ev = {e, lookup, user, err, err_len};
    int64_t v = 0;
    if (eval_node(&ev, e->root, &v)) return 1;
    if (result) *result = v;
    return 0;
}

/* ---- standard environment ---------------------------------------------------------------- */

static const char *const spec_value_names[] = {"vocab_size", "context_length", "sliding_window", "target_params"};

int llmc_expr_name_known(const char *name) {
    if (!name) return 0;
    if (llmc_dim_from_name(name) >= 0) return 1;
    for (size_t i = 0; i < sizeof spec_value_names / sizeof *spec_value_names; i++)
        if (!strcmp(name, spec_value_names[i])) return 1;
    return 0;
}

int llmc_expr_env_lookup(void *user, const char *name, int64_t *out) {
    const llmc_expr_env *env = user;
    if (!env || !name || !out) return 1;
    int dim = llmc_dim_from_name(name);
    if (dim >= 0) {
        const llmc_dims *dims = env->dims ? env->dims : env->spec ? &env->spec->dims : NULL;
        if (!dims || !llmc_dims_has(dims, (llmc_dim_id)dim)) return 1;
        *out = dims->v[dim];
        return 0;
    }
    const llmc_spec *s = env->spec;
    if (!s) return 1;
    if (!strcmp(name, "vocab_size")) { *out = s->vocab_size; return 0; }
    if (!strcmp(name, "context_length")) { *out = s->context_length; return 0; }
    if (!strcmp(name, "sliding_window")) {
        if (s->sliding_window <= 0) return 1;
        *out = s->sliding_window;
        return 0;
    }
    if (!strcmp(name, "target_params")) {
        if (!s->has_target_params || s->target_params > (uint64_t)INT64_MAX) return 1;
        *out = (int64_t)s->target_params;
        return 0;
    }
    return 1;
}
