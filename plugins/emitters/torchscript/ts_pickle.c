/* torchscript emitter — the pickle writer (ts_pickle.h). Opcode values and encodings are
 * those of CPython's Lib/pickle.py (protocol 2). */
#include "ts_pickle.h"

#include <stdlib.h>
#include <string.h>

static void raw(ts_pickle *t, const void *p, size_t n) {
    if (t->oom) return;
    if (t->n + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->n + n) {
            if (cap > SIZE_MAX / 2) {
                t->oom = true;
                return;
            }
            cap *= 2;
        }
        unsigned char *q = realloc(t->p, cap);
        if (!q) {
            t->oom = true;
            return;
        }
        t->p = q;
        t->cap = cap;
    }
    memcpy(t->p + t->n, p, n);
    t->n += n;
}

static void le(ts_pickle *t, uint64_t v, int bytes) {
    unsigned char b[8];
    for (int i = 0; i < bytes; i++) b[i] = (unsigned char)(v >> (8 * i));
    raw(t, b, (size_t)bytes);
}

void tp_init(ts_pickle *t) {
    memset(t, 0, sizeof *t);
    const unsigned char proto[2] = {0x80, 2};
    raw(t, proto, 2);
}

void tp_free(ts_pickle *t) {
    for (size_t i = 0; i < t->memo_cap; i++) free(t->memo[i].key);
    free(t->memo);
    free(t->p);
    memset(t, 0, sizeof *t);
}

void tp_op(ts_pickle *t, unsigned char op) { raw(t, &op, 1); }

void tp_memoize(ts_pickle *t) {
    uint32_t id = t->next_id++;
    if (id < 256) {
        tp_op(t, 'q'); /* BINPUT */
        le(t, id, 1);
    } else {
        tp_op(t, 'r'); /* LONG_BINPUT */
        le(t, id, 4);
    }
}

static void get(ts_pickle *t, uint32_t id) {
    if (id < 256) {
        tp_op(t, 'h'); /* BINGET */
        le(t, id, 1);
    } else {
        tp_op(t, 'j'); /* LONG_BINGET */
        le(t, id, 4);
    }
}

static uint64_t hash(const char *s) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool memo_grow(ts_pickle *t) {
    size_t cap = t->memo_cap ? t->memo_cap * 2 : 256;
    tp_memo_slot *m = calloc(cap, sizeof *m);
    if (!m) return false;
    for (size_t i = 0; i < t->memo_cap; i++) {
        if (!t->memo[i].key) continue;
        size_t j = hash(t->memo[i].key) & (cap - 1);
        while (m[j].key) j = (j + 1) & (cap - 1);
        m[j] = t->memo[i];
    }
    free(t->memo);
    t->memo = m;
    t->memo_cap = cap;
    return true;
}

/* The memo id of key, or write it with `emit` and remember the id it gets. */
static void memoized(ts_pickle *t, const char *key, void (*emit)(ts_pickle *, const char *), const char *arg) {
    if (t->oom) return;
    if ((t->memo_n + 1) * 2 > t->memo_cap && !memo_grow(t)) {
        t->oom = true;
        return;
    }
    size_t j = hash(key) & (t->memo_cap - 1);
    while (t->memo[j].key) {
        if (!strcmp(t->memo[j].key, key)) {
            get(t, t->memo[j].id);
            return;
        }
        j = (j + 1) & (t->memo_cap - 1);
    }
    char *k = strdup(key);
    if (!k) {
        t->oom = true;
        return;
    }
    emit(t, arg);
    t->memo[j].key = k;
    t->memo[j].id = t->next_id;
    t->memo_n++;
    tp_memoize(t);
}

static void emit_str(ts_pickle *t, const char *s) {
    size_t n = strlen(s);
    tp_op(t, 'X'); /* BINUNICODE: u32 length + UTF-8 */
    le(t, n, 4);
    raw(t, s, n);
}

static void emit_global(ts_pickle *t, const char *module_nl_name) {
    tp_op(t, 'c'); /* GLOBAL "module\nname\n" */
    raw(t, module_nl_name, strlen(module_nl_name));
    tp_op(t, '\n');
}

static char *join(char kind, const char *a, const char *b) {
    size_t na = strlen(a), nb = b ? strlen(b) : 0;
    char *k = malloc(na + nb + 3);
    if (!k) return NULL;
    k[0] = kind;
    memcpy(k + 1, a, na);
    if (b) {
        k[1 + na] = '\n';
        memcpy(k + 2 + na, b, nb);
        k[2 + na + nb] = '\0';
    } else {
        k[1 + na] = '\0';
    }
    return k;
}

void tp_str(ts_pickle *t, const char *s) {
    char *k = join('s', s, NULL);
    if (!k) {
        t->oom = true;
        return;
    }
    memoized(t, k, emit_str, s);
    free(k);
}

void tp_global(ts_pickle *t, const char *module, const char *name) {
    char *k = join('g', module, name);
    if (!k) {
        t->oom = true;
        return;
    }
    memoized(t, k, emit_global, k + 1);
    free(k);
}

void tp_int(ts_pickle *t, int64_t v) {
    if (v >= 0 && v <= 0xFF) {
        tp_op(t, 'K');
        le(t, (uint64_t)v, 1);
    } else if (v >= 0 && v <= 0xFFFF) {
        tp_op(t, 'M');
        le(t, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        tp_op(t, 'J');
        le(t, (uint64_t)(uint32_t)(int32_t)v, 4);
    } else {
        tp_op(t, 0x8a); /* LONG1: one length byte, then two's complement little-endian */
        le(t, 8, 1);
        le(t, (uint64_t)v, 8);
    }
}

void tp_bool(ts_pickle *t, bool v) { tp_op(t, v ? 0x88 : 0x89); }

void tp_none(ts_pickle *t) { tp_op(t, 'N'); }
