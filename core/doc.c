/* Located document tree from YAML (libyaml event API) or JSON (jansson check + libyaml). */
#include "doc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

typedef struct builder {
    yaml_parser_t parser;
    const char *file;
    llmc_diags *d;
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

static void node_free(llmc_doc_node *n) {
    if (!n) return;
    free(n->text);
    for (size_t i = 0; i < n->n_entries; i++) {
        free(n->entries[i].key);
        node_free(n->entries[i].value);
    }
    free(n->entries);
    for (size_t i = 0; i < n->n_items; i++) node_free(n->items[i]);
    free(n->items);
    free(n);
}

void llmc_doc_free(llmc_doc *doc) {
    if (!doc) return;
    node_free(doc->root);
    free(doc->file);
    free(doc);
}

static bool text_is_null(const char *t) {
    return !t[0] || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static llmc_doc_node *scalar_node(const char *text, size_t len, bool quoted, int line, int col) {
    llmc_doc_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = LLMC_DOC_SCALAR;
    n->line = line;
    n->col = col;
    n->text = llmc_strndup(text, len);
    if (!n->text) { free(n); return NULL; }
    n->len = len;
    n->quoted = quoted;
    n->is_null = !quoted && text_is_null(n->text);
    return n;
}

static bool map_append(llmc_doc_node *map, char *key, int line, int col, llmc_doc_node *value) {
    llmc_doc_entry *e = realloc(map->entries, (map->n_entries + 1) * sizeof *e);
    if (!e) return false;
    map->entries = e;
    e[map->n_entries].key = key;
    e[map->n_entries].line = line;
    e[map->n_entries].col = col;
    e[map->n_entries].value = value;
    map->n_entries++;
    return true;
}

static bool seq_append(llmc_doc_node *seq, llmc_doc_node *item) {
    llmc_doc_node **items = realloc(seq->items, (seq->n_items + 1) * sizeof *items);
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
            key = llmc_strndup((const char *)kev.data.scalar.value, kev.data.scalar.length);
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
        if (!next_event(b, &vev)) { free(key); return NULL; }
        llmc_doc_node *value = build_node(b, &vev, depth + 1);
        if (!value) { free(key); return NULL; }
        if (!key) { node_free(value); continue; }
        const llmc_doc_entry *prev = llmc_doc_map_find(map, key);
        if (prev) {
            llmc_loc loc = {b->file, kline, kcol};
            llmc_diag_add(b->d, LLMC_SEV_ERROR, loc, key, "duplicate key (first given at line %d, column %d)",
                          prev->line, prev->col);
            b->errors = true;
            free(key);
            node_free(value);
            continue;
        }
        if (!map_append(map, key, kline, kcol, value)) {
            free(key);
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
        if (!seq_append(seq, item)) {
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
        llmc_doc_node *n = scalar_node(text, len, style != YAML_PLAIN_SCALAR_STYLE, line, col);
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
        llmc_doc_node *n = scalar_node("", 0, true, line, col);
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
        llmc_doc_node *n = calloc(1, sizeof *n);
        if (!n) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; return NULL; }
        n->kind = is_map ? LLMC_DOC_MAP : LLMC_DOC_SEQ;
        n->line = line;
        n->col = col;
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
        n = calloc(1, sizeof *n);
        if (!n) break;
        n->kind = LLMC_DOC_MAP;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            llmc_doc_node *c = from_json(v, depth + 1, b);
            char *key = llmc_strdup(k);
            if (!c || !key || !map_append(n, key, 0, 0, c)) {
                node_free(c);
                free(key);
                node_free(n);
                return NULL;
            }
        }
        return n;
    }
    case JSON_ARRAY: {
        n = calloc(1, sizeof *n);
        if (!n) break;
        n->kind = LLMC_DOC_SEQ;
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            llmc_doc_node *c = from_json(v, depth + 1, b);
            if (!c || !seq_append(n, c)) { node_free(c); node_free(n); return NULL; }
        }
        return n;
    }
    case JSON_STRING:
        n = scalar_node(json_string_value(j), json_string_length(j), true, 0, 0);
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        n = scalar_node(buf, strlen(buf), false, 0, 0);
        break;
    case JSON_REAL:
        snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
        n = scalar_node(buf, strlen(buf), false, 0, 0);
        break;
    case JSON_TRUE: n = scalar_node("true", 4, false, 0, 0); break;
    case JSON_FALSE: n = scalar_node("false", 5, false, 0, 0); break;
    case JSON_NULL: n = scalar_node("null", 4, false, 0, 0); break;
    }
    if (!n && !b->fatal) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; }
    return n;
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
    if (len > LLMC_DOC_MAX_BYTES) {
        b_error(&b, 0, 0, "file is too large (%zu bytes; the limit is %zu MiB)", len, LLMC_DOC_MAX_BYTES >> 20);
    } else if (fmt == LLMC_DOC_JSON) {
        /* RFC 8259 lets parsers skip a UTF-8 byte order mark; editors on Windows write one */
        if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
            text += 3;
            len -= 3;
        }
        json_error_t jerr;
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
            b_error(&b, jerr.line > 0 ? jerr.line : 0, jerr.column > 0 ? jerr.column : 0, "JSON syntax error: %s",
                    jerr.text);
        } else {
            /* Located tree from libyaml; its own errors are discarded if jansson accepted the file. */
            llmc_diags *quiet = llmc_diags_create();
            builder yb = b;
            yb.d = quiet;
            root = quiet ? parse_yaml_root(&yb, text, len) : NULL;
            if (root && yb.errors) { node_free(root); root = NULL; }
            llmc_diags_free(quiet);
            if (!root) root = from_json(j, 1, &b);
            json_decref(j);
        }
    } else {
        root = parse_yaml_root(&b, text, len);
    }
    if (had_errors) *had_errors = b.errors;
    if (!root) return NULL;

    llmc_doc *doc = calloc(1, sizeof *doc);
    char *fname = llmc_strdup(b.file);
    if (!doc || !fname) {
        free(doc);
        free(fname);
        node_free(root);
        b_error(&b, 0, 0, "out of memory while reading the document");
        if (had_errors) *had_errors = true;
        return NULL;
    }
    doc->file = fname;
    doc->root = root;
    return doc;
}

/* ---- queries ------------------------------------------------------------------------------- */

const llmc_doc_entry *llmc_doc_map_find(const llmc_doc_node *map, const char *key) {
    if (!map || map->kind != LLMC_DOC_MAP || !key) return NULL;
    for (size_t i = 0; i < map->n_entries; i++)
        if (!strcmp(map->entries[i].key, key)) return &map->entries[i];
    return NULL;
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
        const llmc_doc_entry *e = NULL;
        for (size_t i = 0; i < n->n_entries; i++)
            if (strlen(n->entries[i].key) == klen && !memcmp(n->entries[i].key, p, klen)) { e = &n->entries[i]; break; }
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
