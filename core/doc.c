/* Located document tree from YAML (libyaml event API) or JSON (a strict check, then libyaml;
 * jansson for what is not plainly valid).
 * Linear time: see doc.h. */
#include "doc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "json_check.h"
#include "util.h"

/* ---- arena ---------------------------------------------------------------------------------
 * Every node, key, text and array of a document lives in one arena, freed at once: a tree of
 * millions of small nodes costs no malloc per node. The only separate allocations are the key
 * tables of mappings with more than LLMC_KEY_INDEX_SMALL keys (keyindex.c). Memory of a node
 * dropped on an error (the value of a duplicate key) stays until the document is freed. */

#define ARENA_FIRST_CHUNK ((size_t)64 << 10)
#define ARENA_MAX_CHUNK ((size_t)8 << 20)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    max_align_t data[];
} arena_chunk;

struct llmc_doc_arena {
    arena_chunk *head;      /* the chunk being filled; older ones follow */
    size_t next_size;       /* size of the next ordinary chunk (doubles up to ARENA_MAX_CHUNK) */
};

static llmc_doc_arena *arena_create(void) {
    llmc_doc_arena *a = calloc(1, sizeof *a);
    if (a) a->next_size = ARENA_FIRST_CHUNK;
    return a;
}

static void arena_free(llmc_doc_arena *a) {
    if (!a) return;
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* n bytes aligned for any type (not zeroed); NULL when out of memory */
static void *arena_alloc(llmc_doc_arena *a, size_t n) {
    const size_t align = _Alignof(max_align_t);
    if (n > SIZE_MAX - align) return NULL;
    n = (n + align - 1) & ~(align - 1);
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        /* a request larger than an ordinary chunk gets a chunk of its own */
        size_t size = n > a->next_size ? n : a->next_size;
        if (size > SIZE_MAX - sizeof *c) return NULL;
        c = malloc(sizeof *c + size);
        if (!c) return NULL;
        c->size = size;
        c->used = 0;
        if (size == a->next_size && a->next_size < ARENA_MAX_CHUNK) a->next_size *= 2;
        if (a->head && size != n) {
            c->next = a->head;
            a->head = c;
        } else if (a->head) {
            /* a private chunk goes behind the current one, which may still have room */
            c->next = a->head->next;
            a->head->next = c;
            c->used = n;
            return c->data;
        } else {
            c->next = NULL;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void *arena_zalloc(llmc_doc_arena *a, size_t n) {
    void *p = arena_alloc(a, n);
    if (p) memset(p, 0, n);
    return p;
}

static char *arena_strndup(llmc_doc_arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* The arrays of a node have capacity 1, 2, 4, 8, ...: an array of n elements is full exactly
 * when n is 0 or a power of two, so the capacity need not be stored. Small arrays live in the
 * arena; from ARRAY_ON_HEAP bytes on, an array lives on the heap, where realloc grows it without
 * leaving the old copy behind (node_free frees it). */
#define ARRAY_ON_HEAP ((size_t)64 << 10)

static size_t array_capacity(size_t n) {
    size_t cap = 1;
    while (cap < n) cap *= 2;
    return n ? cap : 0;
}

static bool array_on_heap(size_t n, size_t elem) { return array_capacity(n) * elem >= ARRAY_ON_HEAP; }

/* Returns array with room for one more element (moved when it was full), or NULL when out of
 * memory (array is then unchanged). */
static void *room_for_one(llmc_doc_arena *a, void *array, size_t n, size_t elem) {
    if (n != 0 && (n & (n - 1)) != 0) return array;
    size_t cap = n ? n * 2 : 1;
    if (cap > SIZE_MAX / elem) return NULL;
    if (array_on_heap(n, elem)) return realloc(array, cap * elem);
    void *grown = cap * elem >= ARRAY_ON_HEAP ? malloc(cap * elem) : arena_alloc(a, cap * elem);
    if (grown && n) memcpy(grown, array, n * elem);
    return grown;
}

/* ---- tree ------------------------------------------------------------------------------------ */

typedef struct builder {
    yaml_parser_t parser;
    const char *file;
    llmc_diags *d;
    llmc_doc_arena *arena;
    bool errors;        /* any error reported (fatal or not) */
    bool fatal;         /* stop: the event stream can no longer be followed */
} builder;

static int mark_line(yaml_mark_t m) { return m.line > (size_t)1 << 30 ? 0 : (int)m.line + 1; }
static int mark_col(yaml_mark_t m) { return m.column > (size_t)1 << 30 ? 0 : (int)m.column + 1; }

static void b_error(builder *b, int line, int col, const char *fmt, ...) LLMC_PRINTF(4, 5);
static void b_error(builder *b, int line, int col, const char *fmt, ...) {
    llmc_loc loc = {b->file, line, col};
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_addv(b->d, LLMC_SEV_ERROR, loc, NULL, fmt, ap);
    va_end(ap);
    b->errors = true;
}

/* The memory of a subtree is the arena's, except the key tables and arrays of big mappings
 * and lists. */
static void node_free(llmc_doc_node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_entries; i++) node_free(n->entries[i].value);
    if (array_on_heap(n->n_entries, sizeof *n->entries)) free(n->entries);
    llmc_key_index_free(&n->key_index);
    for (size_t i = 0; i < n->n_items; i++) node_free(n->items[i]);
    if (array_on_heap(n->n_items, sizeof *n->items)) free(n->items);
}

void llmc_doc_free(llmc_doc *doc) {
    if (!doc) return;
    node_free(doc->root);
    arena_free(doc->arena);
    free(doc->file);
    free(doc);
}

static bool text_is_null(const char *t) {
    return !t[0] || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static llmc_doc_node *new_node(builder *b, llmc_doc_kind kind, int line, int col) {
    llmc_doc_node *n = arena_zalloc(b->arena, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = line;
    n->col = col;
    return n;
}

static llmc_doc_node *scalar_node(builder *b, const char *text, size_t len, bool quoted, int line, int col) {
    llmc_doc_node *n = new_node(b, LLMC_DOC_SCALAR, line, col);
    if (!n) return NULL;
    n->text = arena_strndup(b->arena, text, len);
    if (!n->text) return NULL;
    n->len = len;
    n->quoted = quoted;
    n->is_null = !quoted && text_is_null(n->text);
    return n;
}

static const char *entry_key_at(const void *entries, size_t pos) {
    return ((const llmc_doc_entry *)entries)[pos].key;
}

/* Append a key the caller has checked is new (llmc_doc_map_find). On failure nothing changes. */
static bool map_append(builder *b, llmc_doc_node *map, char *key, int line, int col, llmc_doc_node *value) {
    /* everything that can fail comes first: the array's place must match n_entries (node_free) */
    if (llmc_key_index_reserve(&map->key_index, map->n_entries, entry_key_at, map->entries) != 0) return false;
    llmc_doc_entry *entries = room_for_one(b->arena, map->entries, map->n_entries, sizeof *entries);
    if (!entries) return false;
    map->entries = entries;
    llmc_doc_entry *e = &entries[map->n_entries];
    e->key = key;
    e->line = line;
    e->col = col;
    e->value = value;
    llmc_key_index_insert(&map->key_index, map->n_entries, entry_key_at, map->entries);
    map->n_entries++;
    return true;
}

static bool seq_append(builder *b, llmc_doc_node *seq, llmc_doc_node *item) {
    llmc_doc_node **items = room_for_one(b->arena, seq->items, seq->n_items, sizeof *items);
    if (!items) return false;
    seq->items = items;
    items[seq->n_items++] = item;
    return true;
}

/* ---- YAML ------------------------------------------------------------------------------ */

static bool next_event(builder *b, yaml_event_t *ev) {
    if (yaml_parser_parse(&b->parser, ev)) return true;
    const yaml_parser_t *p = &b->parser;
    if (p->error == YAML_MEMORY_ERROR) {
        b_error(b, 0, 0, "out of memory while reading YAML");
    } else if (p->context) {
        b_error(b, mark_line(p->problem_mark), mark_col(p->problem_mark),
                "YAML syntax error: %s (%s at line %d, column %d)", p->problem ? p->problem : "invalid YAML",
                p->context, mark_line(p->context_mark), mark_col(p->context_mark));
    } else {
        b_error(b, mark_line(p->problem_mark), mark_col(p->problem_mark), "YAML syntax error: %s",
                p->problem ? p->problem : "invalid YAML");
    }
    b->fatal = true;
    return false;
}

/* Anchors and tags change meaning in ways the spec schema does not model; refuse them. */
static void check_anchor_tag(builder *b, const yaml_event_t *ev, const yaml_char_t *anchor, const yaml_char_t *tag) {
    int line = mark_line(ev->start_mark), col = mark_col(ev->start_mark);
    if (anchor) b_error(b, line, col, "YAML anchors are not supported (&%s); write the value out", (const char *)anchor);
    if (tag) {
        const char *t = (const char *)tag, *std = "tag:yaml.org,2002:";
        bool short_form = !strncmp(t, std, strlen(std));
        b_error(b, line, col, "YAML tags are not supported (%s%s); remove the tag", short_form ? "!!" : "",
                short_form ? t + strlen(std) : t);
    }
}

/* Build the node that starts with *ev (which this function consumes). NULL on fatal error. */
static llmc_doc_node *build_node(builder *b, yaml_event_t *ev, int depth);

static llmc_doc_node *build_mapping(builder *b, llmc_doc_node *map, int depth) {
    for (;;) {
        yaml_event_t kev;
        if (!next_event(b, &kev)) return NULL;
        if (kev.type == YAML_MAPPING_END_EVENT) { yaml_event_delete(&kev); return map; }
        int kline = mark_line(kev.start_mark), kcol = mark_col(kev.start_mark);
        char *key = NULL;
        if (kev.type == YAML_SCALAR_EVENT) {
            check_anchor_tag(b, &kev, kev.data.scalar.anchor, kev.data.scalar.tag);
            if (memchr(kev.data.scalar.value, '\0', kev.data.scalar.length))
                b_error(b, kline, kcol, "key contains a NUL character");
            key = arena_strndup(b->arena, (const char *)kev.data.scalar.value, kev.data.scalar.length);
            yaml_event_delete(&kev);
            if (!key) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; return NULL; }
        } else {
            /* complex key (mapping, list or alias as key): report, read and drop it */
            b_error(b, kline, kcol, "mapping keys must be plain strings");
            llmc_doc_node *k = build_node(b, &kev, depth + 1);
            if (!k) return NULL;
            node_free(k);
        }
        yaml_event_t vev;
        if (!next_event(b, &vev)) return NULL;
        llmc_doc_node *value = build_node(b, &vev, depth + 1);
        if (!value) return NULL;
        if (!key) { node_free(value); continue; }
        const llmc_doc_entry *prev = llmc_doc_map_find(map, key);
        if (prev) {
            llmc_loc loc = {b->file, kline, kcol};
            llmc_diag_add(b->d, LLMC_SEV_ERROR, loc, key, "duplicate key (first given at line %d, column %d)",
                          prev->line, prev->col);
            b->errors = true;
            node_free(value);
            continue;
        }
        if (!map_append(b, map, key, kline, kcol, value)) {
            node_free(value);
            b_error(b, 0, 0, "out of memory while reading the document");
            b->fatal = true;
            return NULL;
        }
    }
}

static llmc_doc_node *build_sequence(builder *b, llmc_doc_node *seq, int depth) {
    for (;;) {
        yaml_event_t iev;
        if (!next_event(b, &iev)) return NULL;
        if (iev.type == YAML_SEQUENCE_END_EVENT) { yaml_event_delete(&iev); return seq; }
        llmc_doc_node *item = build_node(b, &iev, depth + 1);
        if (!item) return NULL;
        if (!seq_append(b, seq, item)) {
            node_free(item);
            b_error(b, 0, 0, "out of memory while reading the document");
            b->fatal = true;
            return NULL;
        }
    }
}

static llmc_doc_node *build_node(builder *b, yaml_event_t *ev, int depth) {
    int line = mark_line(ev->start_mark), col = mark_col(ev->start_mark);
    if (depth > LLMC_DOC_MAX_DEPTH) {
        b_error(b, line, col, "document nested deeper than %d levels", LLMC_DOC_MAX_DEPTH);
        b->fatal = true;
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        check_anchor_tag(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
        const char *text = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        bool has_nul = memchr(text, '\0', len) != NULL;
        if (has_nul) b_error(b, line, col, "value contains a NUL character");
        yaml_scalar_style_t style = ev->data.scalar.style;
        llmc_doc_node *n = scalar_node(b, text, len, style != YAML_PLAIN_SCALAR_STYLE, line, col);
        if (n) {
            n->multiline = style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE ||
                           ev->end_mark.line != ev->start_mark.line;
            n->reported = has_nul;
        }
        yaml_event_delete(ev);
        if (!n) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; }
        return n;
    }
    case YAML_ALIAS_EVENT: {
        /* Refused, never expanded: this is what makes alias bombs harmless. */
        b_error(b, line, col, "YAML aliases are not supported (*%s); write the value out",
                (const char *)ev->data.alias.anchor);
        yaml_event_delete(ev);
        llmc_doc_node *n = scalar_node(b, "", 0, true, line, col);
        if (!n) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; }
        else n->reported = true;
        return n;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        if (is_map) check_anchor_tag(b, ev, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
        else check_anchor_tag(b, ev, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
        yaml_event_delete(ev);
        llmc_doc_node *n = new_node(b, is_map ? LLMC_DOC_MAP : LLMC_DOC_SEQ, line, col);
        if (!n) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; return NULL; }
        llmc_doc_node *r = is_map ? build_mapping(b, n, depth) : build_sequence(b, n, depth);
        if (!r) node_free(n);
        return r;
    }
    default:
        b_error(b, line, col, "unexpected YAML event");
        b->fatal = true;
        yaml_event_delete(ev);
        return NULL;
    }
}

static llmc_doc_node *parse_yaml_root(builder *b, const char *text, size_t len) {
    if (!yaml_parser_initialize(&b->parser)) {
        b_error(b, 0, 0, "out of memory while starting the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&b->parser, (const unsigned char *)text, len);
    llmc_doc_node *root = NULL;
    yaml_event_t ev;
    if (!next_event(b, &ev)) goto done;           /* STREAM-START */
    yaml_event_delete(&ev);
    if (!next_event(b, &ev)) goto done;
    if (ev.type == YAML_STREAM_END_EVENT) {       /* empty file */
        yaml_event_delete(&ev);
        b_error(b, 1, 1, "the document is empty");
        goto done;
    }
    yaml_event_delete(&ev);                       /* DOCUMENT-START */
    if (!next_event(b, &ev)) goto done;
    root = build_node(b, &ev, 1);
    if (!root) goto done;
    if (!next_event(b, &ev)) goto fail;           /* DOCUMENT-END */
    yaml_event_delete(&ev);
    if (!next_event(b, &ev)) goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        b_error(b, mark_line(ev.start_mark), mark_col(ev.start_mark),
                "only one YAML document is allowed (found a second '---')");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    goto done;
fail:
    node_free(root);
    root = NULL;
done:
    yaml_parser_delete(&b->parser);
    return root;
}

/* ---- JSON fallback ------------------------------------------------------------------------
 * libyaml reads almost every JSON document, but not all (a tab before the top-level '{',
 * surrogate-pair escapes). Such files are valid JSON, so they are still read — from
 * jansson's tree, whose nodes carry no locations. */

static llmc_doc_node *from_json(const json_t *j, int depth, builder *b) {
    if (depth > LLMC_DOC_MAX_DEPTH) {
        b_error(b, 0, 0, "document nested deeper than %d levels", LLMC_DOC_MAX_DEPTH);
        b->fatal = true;
        return NULL;
    }
    llmc_doc_node *n = NULL;
    char buf[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        n = new_node(b, LLMC_DOC_MAP, 0, 0);
        if (!n) break;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            llmc_doc_node *c = from_json(v, depth + 1, b);
            char *key = arena_strndup(b->arena, k, strlen(k));
            if (!c || !key || !map_append(b, n, key, 0, 0, c)) {
                node_free(c);
                node_free(n);
                return NULL;
            }
        }
        return n;
    }
    case JSON_ARRAY: {
        n = new_node(b, LLMC_DOC_SEQ, 0, 0);
        if (!n) break;
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            llmc_doc_node *c = from_json(v, depth + 1, b);
            if (!c || !seq_append(b, n, c)) { node_free(c); node_free(n); return NULL; }
        }
        return n;
    }
    case JSON_STRING:
        n = scalar_node(b, json_string_value(j), json_string_length(j), true, 0, 0);
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        n = scalar_node(b, buf, strlen(buf), false, 0, 0);
        break;
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
        n = scalar_node(b, buf, strlen(buf), false, 0, 0);
        break;
    case JSON_TRUE: n = scalar_node(b, "true", 4, false, 0, 0); break;
    case JSON_FALSE: n = scalar_node(b, "false", 5, false, 0, 0); break;
    case JSON_NULL: n = scalar_node(b, "null", 4, false, 0, 0); break;
    }
    if (!n && !b->fatal) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; }
    return n;
}

/* The located tree of a JSON text from libyaml, or NULL (nothing reported) if libyaml reports
 * anything: it reads JSON as YAML, and its view of a text jansson accepted does not count. */
static llmc_doc_node *located_tree_quietly(builder *b, const char *text, size_t len) {
    builder yb = *b;
    yb.d = llmc_diags_create();
    yb.arena = arena_create();
    llmc_doc_node *root = yb.d && yb.arena ? parse_yaml_root(&yb, text, len) : NULL;
    if (root && yb.errors) {
        node_free(root);
        root = NULL;
    }
    llmc_diags_free(yb.d);
    if (root) {
        arena_free(b->arena);
        b->arena = yb.arena;
    } else {
        arena_free(yb.arena);
    }
    return root;
}

/* JSON checked by jansson (syntax, duplicate keys: located messages), then the located tree
 * from libyaml, or jansson's own tree for the few valid texts libyaml cannot read. */
static llmc_doc_node *parse_json_checked(builder *b, const char *text, size_t len) {
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        b_error(b, jerr.line > 0 ? jerr.line : 0, jerr.column > 0 ? jerr.column : 0, "JSON syntax error: %s",
                jerr.text);
        return NULL;
    }
    llmc_doc_node *root = located_tree_quietly(b, text, len);
    if (!root) root = from_json(j, 1, b);
    json_decref(j);
    return root;
}

/* ---- entry point ---------------------------------------------------------------------------- */

llmc_doc *llmc_doc_parse(const char *text, size_t len, const char *file, llmc_doc_format fmt, llmc_diags *d,
                         bool *had_errors) {
    builder b;
    memset(&b, 0, sizeof b);
    b.file = file ? file : "<string>";
    b.d = d;
    if (had_errors) *had_errors = false;

    llmc_doc_node *root = NULL;
    b.arena = arena_create();
    if (!b.arena) {
        b_error(&b, 0, 0, "out of memory while reading the document");
    } else if (len > LLMC_DOC_MAX_BYTES) {
        b_error(&b, 0, 0, "file is too large (%zu bytes; the limit is %zu MiB)", len, LLMC_DOC_MAX_BYTES >> 20);
    } else if (fmt == LLMC_DOC_JSON) {
        /* RFC 8259 lets parsers skip a UTF-8 byte order mark; editors on Windows write one */
        if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
            text += 3;
            len -= 3;
        }
        /* Plainly valid JSON (the common case) goes straight to the located tree; anything
         * else, and any problem while building the tree, takes the path through jansson, whose
         * messages users see. */
        if (llmc_json_plainly_valid(text, len, LLMC_DOC_MAX_DEPTH)) root = located_tree_quietly(&b, text, len);
        if (!root) root = parse_json_checked(&b, text, len);
    } else {
        root = parse_yaml_root(&b, text, len);
    }
    if (had_errors) *had_errors = b.errors;
    if (!root) {
        arena_free(b.arena);
        return NULL;
    }

    llmc_doc *doc = calloc(1, sizeof *doc);
    char *fname = llmc_strdup(b.file);
    if (!doc || !fname) {
        free(doc);
        free(fname);
        node_free(root);
        arena_free(b.arena);
        b_error(&b, 0, 0, "out of memory while reading the document");
        if (had_errors) *had_errors = true;
        return NULL;
    }
    doc->file = fname;
    doc->root = root;
    doc->arena = b.arena;
    return doc;
}

/* ---- queries ------------------------------------------------------------------------------- */

const llmc_doc_entry *llmc_doc_map_find_n(const llmc_doc_node *map, const char *key, size_t len) {
    if (!map || map->kind != LLMC_DOC_MAP || !key) return NULL;
    size_t pos = llmc_key_index_find(&map->key_index, map->n_entries, key, len, entry_key_at, map->entries);
    return pos == LLMC_KEY_INDEX_NONE ? NULL : &map->entries[pos];
}

const llmc_doc_entry *llmc_doc_map_find(const llmc_doc_node *map, const char *key) {
    return key ? llmc_doc_map_find_n(map, key, strlen(key)) : NULL;
}

llmc_loc llmc_doc_loc(const llmc_doc *doc, const llmc_doc_node *n) {
    llmc_loc loc = {doc ? doc->file : NULL, n ? n->line : 0, n ? n->col : 0};
    return loc;
}

llmc_loc llmc_doc_key_loc(const llmc_doc *doc, const llmc_doc_entry *e) {
    llmc_loc loc = {doc ? doc->file : NULL, e ? e->line : 0, e ? e->col : 0};
    return loc;
}

const char *llmc_doc_kind_desc(const llmc_doc_node *n) {
    if (!n) return "nothing";
    switch (n->kind) {
    case LLMC_DOC_MAP: return "a mapping";
    case LLMC_DOC_SEQ: return "a list";
    case LLMC_DOC_SCALAR: return n->is_null ? "null" : "a string";
    }
    return "a value";
}

/* Location for an entry reached by key: the key itself for collections (their own start
 * is often on the next line), the value for scalars (that is what is wrong). */
static llmc_loc entry_loc(const llmc_doc *doc, const llmc_doc_entry *e) {
    if (e->value && e->value->kind == LLMC_DOC_SCALAR && e->value->line > 0) return llmc_doc_loc(doc, e->value);
    return llmc_doc_key_loc(doc, e);
}

const llmc_doc_node *llmc_doc_lookup(const llmc_doc *doc, const char *path, llmc_loc *loc) {
    llmc_loc best = {doc ? doc->file : NULL, 1, 1};
    if (loc) *loc = best;
    if (!doc || !path) return NULL;
    const llmc_doc_node *n = doc->root;
    const char *p = path;
    while (*p) {
        if (*p == '[') {
            char *end;
            unsigned long long idx = strtoull(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || !n || n->kind != LLMC_DOC_SEQ || idx >= n->n_items) return NULL;
            n = n->items[idx];
            if (loc && n->line > 0) { best = llmc_doc_loc(doc, n); *loc = best; }
            p = end + 1;
            if (*p == '.') p++;
            continue;
        }
        size_t klen = strcspn(p, ".[");
        if (klen == 0 || !n || n->kind != LLMC_DOC_MAP) return NULL;
        const llmc_doc_entry *e = llmc_doc_map_find_n(n, p, klen);
        if (!e) return NULL;
        n = e->value;
        if (loc && e->line > 0) { best = entry_loc(doc, e); *loc = best; }
        p += klen;
        if (*p == '.') {
            p++;
            if (!*p) return NULL;
        }
    }
    return n;
}

const llmc_doc_node *llmc_doc_value(const llmc_doc_entry *e) {
    if (!e || !e->value) return NULL;
    if (e->value->kind == LLMC_DOC_SCALAR && e->value->is_null) return NULL;
    return e->value;
}

llmc_loc llmc_doc_entry_loc(const llmc_doc *doc, const llmc_doc_entry *e) {
    if (e->value && e->value->kind == LLMC_DOC_SCALAR && !e->value->is_null && e->value->line > 0)
        return llmc_doc_loc(doc, e->value);
    return llmc_doc_key_loc(doc, e);
}
