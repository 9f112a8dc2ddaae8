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

/* Nodes refer to each other by index into one array. The parser builds the arrays in scratch
 * space and llmc_expr_parse copies the result into a single allocation: a spec may hold hundreds of
 * thousands of constraints, and one malloc per node and per name made parsing them malloc-bound. */
#define NO_NODE UINT32_MAX

typedef struct enode {
    uint8_t kind;             /* node_kind */
    uint8_t op;               /* bin_op */
    uint32_t a, b;            /* operands; N_NAME: a = name index; N_IN_*: a = subject, b = first list slot */
    uint32_t n_list;          /* N_IN_RANGE: 2 bounds; N_IN_SET: members, at list[b .. b + n_list) */
    int64_t num;
} enode;

struct llmc_expr {
    uint32_t root;
    uint32_t n_names;
    const char **names;       /* into this allocation */
    const enode *nodes;
    const uint32_t *list;
};

/* A growable array that starts in a fixed buffer inside the parser. */
typedef struct scratch {
    void *data;
    size_t n, cap, elem;
    bool heap;
} scratch;

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
    scratch nodes;            /* enode */
    scratch list;             /* uint32_t: node indices of the bounds and members of "in" */
    scratch names;            /* name_span: distinct names, in first-use order */
    char *err;
    size_t err_len;
    int err_col;
    bool failed;
    int depth;
} parser;

typedef struct name_span {
    size_t start, len;        /* in the text */
} name_span;

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

static void *scratch_push(parser *p, scratch *s) {
    if (s->n == s->cap) {
        size_t cap = s->cap * 2;
        void *d = malloc(cap * s->elem);
        if (!d) { fail_at(p, p->tok.start, "out of memory"); return NULL; }
        memcpy(d, s->data, s->n * s->elem);
        if (s->heap) free(s->data);
        s->data = d;
        s->cap = cap;
        s->heap = true;
    }
    return (char *)s->data + s->n++ * s->elem;
}

static enode *node_at(parser *p, uint32_t i) { return (enode *)p->nodes.data + i; }

static uint32_t new_node(parser *p, node_kind kind) {
    if (p->failed) return NO_NODE;
    if (p->nodes.n >= EXPR_MAX_NODES) {
        fail_at(p, p->tok.start, "expression is too long (more than %d terms)", EXPR_MAX_NODES);
        return NO_NODE;
    }
    enode *n = scratch_push(p, &p->nodes);
    if (!n) return NO_NODE;
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->a = n->b = NO_NODE;
    return (uint32_t)(p->nodes.n - 1);
}

static uint32_t unary_node(parser *p, node_kind kind, uint32_t operand) {
    if (operand == NO_NODE) return NO_NODE;
    uint32_t n = new_node(p, kind);
    if (n != NO_NODE) node_at(p, n)->a = operand;
    return n;
}

static uint32_t binary(parser *p, bin_op op, uint32_t a, uint32_t b) {
    if (a == NO_NODE || b == NO_NODE) return NO_NODE;
    uint32_t n = new_node(p, N_BIN);
    if (n == NO_NODE) return NO_NODE;
    enode *x = node_at(p, n);
    x->op = (uint8_t)op;
    x->a = a;
    x->b = b;
    return n;
}

static bool intern_name(parser *p, size_t start, size_t len, uint32_t *index) {
    const name_span *names = p->names.data;
    for (size_t i = 0; i < p->names.n; i++)
        if (names[i].len == len && !memcmp(p->text + names[i].start, p->text + start, len)) {
            *index = (uint32_t)i;
            return true;
        }
    name_span *s = scratch_push(p, &p->names);
    if (!s) return false;
    s->start = start;
    s->len = len;
    *index = (uint32_t)(p->names.n - 1);
    return true;
}

/* ---- grammar ------------------------------------------------------------------------------- */

static uint32_t parse_or(parser *p);
static uint32_t parse_sum(parser *p);

static bool enter(parser *p) {
    if (++p->depth > EXPR_MAX_NESTING) {
        fail_at(p, p->tok.start, "expression is nested too deeply (more than %d levels)", EXPR_MAX_NESTING);
        return false;
    }
    return true;
}

static uint32_t parse_atom(parser *p) {
    char buf[64];
    if (p->failed) return NO_NODE;
    switch (p->tok.kind) {
    case T_NUM: {
        uint32_t n = new_node(p, N_NUM);
        if (n != NO_NODE) node_at(p, n)->num = p->tok.num;
        advance(p);
        return n;
    }
    case T_NAME: {
        uint32_t n = new_node(p, N_NAME), name;
        if (n == NO_NODE || !intern_name(p, p->tok.start, p->tok.len, &name)) return NO_NODE;
        node_at(p, n)->a = name;
        advance(p);
        return n;
    }
    case T_LPAREN: {
        size_t open = p->tok.start;
        advance(p);
        uint32_t n = parse_or(p);
        if (n == NO_NODE) return NO_NODE;
        if (p->tok.kind != T_RPAREN) {
            fail_at(p, p->tok.start, "expected ')' to close the '(' at column %zu (got %s)", open + 1,
                    tok_desc(p, buf, sizeof buf));
            return NO_NODE;
        }
        advance(p);
        return n;
    }
    default:
        fail_at(p, p->tok.start, "expected a number, a name or '(' (got %s)", tok_desc(p, buf, sizeof buf));
        return NO_NODE;
    }
}

static uint32_t parse_unary(parser *p) {
    if (p->tok.kind != T_MINUS) return parse_atom(p);
    if (!enter(p)) return NO_NODE;
    advance(p);
    uint32_t operand = parse_unary(p);
    p->depth--;
    return unary_node(p, N_NEG, operand);
}

static uint32_t parse_prod(parser *p) {
    uint32_t left = parse_unary(p);
    while (left != NO_NODE && (p->tok.kind == T_STAR || p->tok.kind == T_SLASH || p->tok.kind == T_PERCENT)) {
        bin_op op = p->tok.kind == T_STAR ? OP_MUL : p->tok.kind == T_SLASH ? OP_DIV : OP_MOD;
        advance(p);
        left = binary(p, op, left, parse_unary(p));
    }
    return left;
}

static uint32_t parse_sum(parser *p) {
    uint32_t left = parse_prod(p);
    while (left != NO_NODE && (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS)) {
        bin_op op = p->tok.kind == T_PLUS ? OP_ADD : OP_SUB;
        advance(p);
        left = binary(p, op, left, parse_prod(p));
    }
    return left;
}

static bool is_cmp(tok_kind k) { return k == T_EQ || k == T_NE || k == T_LT || k == T_LE || k == T_GT || k == T_GE; }

/* "in [lo, hi]" or "in {a, b, ...}" after the subject. A member may itself hold an "in" (inside
 * parentheses), so the members are collected here and appended to the list array together. */
static uint32_t parse_in(parser *p, uint32_t subject) {
    char buf[64];
    bool range = p->tok.kind == T_LBRACKET;
    if (p->tok.kind != T_LBRACKET && p->tok.kind != T_LBRACE) {
        fail_at(p, p->tok.start, "expected '[' or '{' after 'in' (got %s)", tok_desc(p, buf, sizeof buf));
        return NO_NODE;
    }
    uint32_t n = new_node(p, range ? N_IN_RANGE : N_IN_SET);
    if (n == NO_NODE) return NO_NODE;
    node_at(p, n)->a = subject;
    advance(p);
    uint32_t fixed[16];
    scratch members = {fixed, 0, sizeof fixed / sizeof *fixed, sizeof *fixed, false};
    uint32_t result = NO_NODE;
    for (;;) {
        uint32_t member = parse_sum(p);
        if (member == NO_NODE) break;
        uint32_t *slot = scratch_push(p, &members);
        if (!slot) break;
        *slot = member;
        if (p->tok.kind == T_COMMA) {
            if (range && members.n == 2) {
                fail_at(p, p->tok.start, "a range 'in [lo, hi]' has exactly two bounds (got a third)");
                break;
            }
            advance(p);
            continue;
        }
        tok_kind close = range ? T_RBRACKET : T_RBRACE;
        if (p->tok.kind != close) {
            fail_at(p, p->tok.start, "expected ',' or '%c' (got %s)", range ? ']' : '}', tok_desc(p, buf, sizeof buf));
            break;
        }
        if (range && members.n != 2) {
            fail_at(p, p->tok.start, "a range 'in [lo, hi]' needs two bounds (got one)");
            break;
        }
        advance(p);
        size_t first = p->list.n;
        bool ok = true;
        for (size_t i = 0; i < members.n && ok; i++) {
            uint32_t *at = scratch_push(p, &p->list);
            if (at) *at = ((uint32_t *)members.data)[i];
            else ok = false;
        }
        if (!ok) break;
        node_at(p, n)->b = (uint32_t)first;
        node_at(p, n)->n_list = (uint32_t)members.n;
        result = n;
        break;
    }
    if (members.heap) free(members.data);
    return result;
}

static uint32_t parse_cmp(parser *p) {
    uint32_t left = parse_sum(p);
    if (left == NO_NODE) return NO_NODE;
    if (p->tok.kind == T_IN) {
        advance(p);
        return parse_in(p, left);
    }
    if (is_cmp(p->tok.kind)) {
        tok_kind k = p->tok.kind;
        bin_op op = k == T_EQ ? OP_EQ : k == T_NE ? OP_NE : k == T_LT ? OP_LT : k == T_LE ? OP_LE : k == T_GT ? OP_GT : OP_GE;
        advance(p);
        left = binary(p, op, left, parse_sum(p));
        if (left != NO_NODE && (is_cmp(p->tok.kind) || p->tok.kind == T_IN)) {
            fail_at(p, p->tok.start, "comparisons cannot be chained (write 'a < b and b < c')");
            return NO_NODE;
        }
    }
    return left;
}

static uint32_t parse_not(parser *p) {
    if (p->tok.kind != T_NOT) return parse_cmp(p);
    if (!enter(p)) return NO_NODE;
    advance(p);
    uint32_t operand = parse_not(p);
    p->depth--;
    return unary_node(p, N_NOT, operand);
}

static uint32_t parse_and(parser *p) {
    uint32_t left = parse_not(p);
    while (left != NO_NODE && p->tok.kind == T_AND) {
        advance(p);
        left = binary(p, OP_AND, left, parse_not(p));
    }
    return left;
}

static uint32_t parse_or(parser *p) {
    if (!enter(p)) return NO_NODE;
    uint32_t left = parse_and(p);
    while (left != NO_NODE && p->tok.kind == T_OR) {
        advance(p);
        left = binary(p, OP_OR, left, parse_and(p));
    }
    p->depth--;
    return left;
}

void llmc_expr_free(llmc_expr *e) { free(e); }

/* One allocation: the header, the name pointers, the nodes, the list slots, the name strings. */
static llmc_expr *pack(const parser *p, uint32_t root) {
    const name_span *spans = p->names.data;
    size_t chars = 0;
    for (size_t i = 0; i < p->names.n; i++) chars += spans[i].len + 1;   /* each <= strlen(text) */
    size_t off_names = sizeof(llmc_expr);
    size_t off_nodes = off_names + p->names.n * sizeof(char *);
    off_nodes = (off_nodes + _Alignof(enode) - 1) / _Alignof(enode) * _Alignof(enode);
    size_t off_list = off_nodes + p->nodes.n * sizeof(enode);
    size_t off_chars = off_list + p->list.n * sizeof(uint32_t);
    if (chars > SIZE_MAX - off_chars) return NULL;
    char *block = malloc(off_chars + chars);
    if (!block) return NULL;
    llmc_expr *e = (llmc_expr *)block;
    const char **names = (const char **)(block + off_names);
    char *text = block + off_chars;
    for (size_t i = 0; i < p->names.n; i++) {
        memcpy(text, p->text + spans[i].start, spans[i].len);
        text[spans[i].len] = '\0';
        names[i] = text;
        text += spans[i].len + 1;
    }
    memcpy(block + off_nodes, p->nodes.data, p->nodes.n * sizeof(enode));
    if (p->list.n) memcpy(block + off_list, p->list.data, p->list.n * sizeof(uint32_t));
    e->root = root;
    e->n_names = (uint32_t)p->names.n;
    e->names = names;
    e->nodes = (const enode *)(block + off_nodes);
    e->list = (const uint32_t *)(block + off_list);
    return e;
}

llmc_expr *llmc_expr_parse(const char *text, int *err_col, char *err, size_t err_len) {
    if (err_col) *err_col = 0;
    if (err && err_len) err[0] = '\0';
    enode fixed_nodes[32];
    uint32_t fixed_list[32];
    name_span fixed_names[8];
    parser p;
    memset(&p, 0, sizeof p);
    p.text = text ? text : "";
    p.err = err;
    p.err_len = err_len;
    p.nodes = (scratch){fixed_nodes, 0, sizeof fixed_nodes / sizeof *fixed_nodes, sizeof *fixed_nodes, false};
    p.list = (scratch){fixed_list, 0, sizeof fixed_list / sizeof *fixed_list, sizeof *fixed_list, false};
    p.names = (scratch){fixed_names, 0, sizeof fixed_names / sizeof *fixed_names, sizeof *fixed_names, false};
    advance(&p);
    if (!p.failed && p.tok.kind == T_END) fail_at(&p, 0, "empty expression");
    uint32_t root = p.failed ? NO_NODE : parse_or(&p);
    if (root != NO_NODE && !p.failed && p.tok.kind != T_END) {
        char buf[64];
        if (p.tok.kind == T_RPAREN)
            fail_at(&p, p.tok.start, "unmatched ')'");
        else
            fail_at(&p, p.tok.start, "unexpected %s (expected an operator or the end of the expression)",
                    tok_desc(&p, buf, sizeof buf));
    }
    llmc_expr *e = NULL;
    if (!p.failed && root != NO_NODE) {
        e = pack(&p, root);
        if (!e) fail_at(&p, 0, "out of memory");
    } else if (!p.failed) {
        fail_at(&p, p.tok.start, "invalid expression");
    }
    if (p.nodes.heap) free(p.nodes.data);
    if (p.list.heap) free(p.list.data);
    if (p.names.heap) free(p.names.data);
    if (!e && err_col) *err_col = p.err_col;
    return e;
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

static int eval_node(evaluator *ev, uint32_t i, int64_t *out) {
    const enode *n = &ev->e->nodes[i];
    const uint32_t *list = ev->e->list + (n->kind == N_IN_RANGE || n->kind == N_IN_SET ? n->b : 0);
    int64_t a, b;
    switch (n->kind) {
    case N_NUM:
        *out = n->num;
        return 0;
    case N_NAME:
        if (!ev->lookup || ev->lookup(ev->user, ev->e->names[n->a], out) != 0)
            return eval_fail(ev, "unknown name '%s'", ev->e->names[n->a]);
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
        if (eval_node(ev, n->a, &a) || eval_node(ev, list[0], &lo) || eval_node(ev, list[1], &hi)) return 1;
        *out = a >= lo && a <= hi;
        return 0;
    }
    case N_IN_SET:
        if (eval_node(ev, n->a, &a)) return 1;
        *out = 0;
        for (size_t k = 0; k < n->n_list; k++) {
            if (eval_node(ev, list[k], &b)) return 1;
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
    if (!e) {
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
