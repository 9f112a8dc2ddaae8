/* torchscript emitter — a pickle (protocol 2) writer for the subset TorchScript's unpickler
 * reads (torch/csrc/jit/serialization/unpickler.cpp): strings, ints, bools, None, tuples,
 * dicts, GLOBAL, NEWOBJ, BUILD, REDUCE and persistent ids. Like torch's own pickler it
 * memoizes every string and global it writes (BINPUT) and refers to repeats with BINGET, so a
 * module tree of thousands of tensors stays compact. The bytes go to a growable buffer. */
#ifndef LLMC_TS_PICKLE_H
#define LLMC_TS_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* opcodes used directly by callers */
#define TP_MARK '('
#define TP_STOP '.'
#define TP_TUPLE 't'
#define TP_EMPTY_TUPLE ')'
#define TP_EMPTY_DICT '}'
#define TP_SETITEMS 'u'
#define TP_BUILD 'b'
#define TP_REDUCE 'R'
#define TP_NEWOBJ '\x81'
#define TP_BINPERSID 'Q'

typedef struct tp_memo_slot {
    char *key;       /* kind byte + text; NULL = empty */
    uint32_t id;
} tp_memo_slot;

typedef struct ts_pickle {
    unsigned char *p;
    size_t n, cap;
    bool oom;                 /* an allocation failed: the bytes are incomplete */
    tp_memo_slot *memo;       /* open addressing, power-of-two size */
    size_t memo_cap, memo_n;
    uint32_t next_id;
} ts_pickle;

void tp_init(ts_pickle *t);   /* writes PROTO 2 */
void tp_free(ts_pickle *t);
void tp_op(ts_pickle *t, unsigned char op);
void tp_str(ts_pickle *t, const char *s);                        /* BINUNICODE, memoized */
void tp_global(ts_pickle *t, const char *module, const char *name); /* GLOBAL, memoized */
void tp_int(ts_pickle *t, int64_t v);   /* BININT1 / BININT2 / BININT / LONG1, as torch picks */
void tp_bool(ts_pickle *t, bool v);
void tp_none(ts_pickle *t);
void tp_memoize(ts_pickle *t);          /* BINPUT the object on top of the stack */

#endif
