/* Reading a document: YAML through libyaml's event API; JSON through the direct reader
 * (doc_json.c) when it is plainly valid, else checked by jansson (its messages are the ones
 * users see) and read with libyaml for locations, or from jansson's tree for the few valid
 * texts libyaml cannot read. The tree itself: doc_tree.c. */
#include "doc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "doc_internal.h"
#include "util.h"

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

/* Subtrees a reader drops (a duplicate key's value, a complex key) need no freeing: the arena
 * owns them. */
static llmc_doc_node *scalar_node(builder *b, const char *text, size_t len, bool quoted, int line, int col) {
    char *copy = llmc_doc_arena_text(b->arena, text, len);
    return copy ? llmc_doc_scalar_new(b->arena, copy, len, quoted, line, col) : NULL;
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
            key = llmc_doc_arena_text(b->arena, (const char *)kev.data.scalar.value, kev.data.scalar.length);
            yaml_event_delete(&kev);
            if (!key) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; return NULL; }
        } else {
            /* complex key (mapping, list or alias as key): report, read and drop it */
            b_error(b, kline, kcol, "mapping keys must be plain strings");
            if (!build_node(b, &kev, depth + 1)) return NULL; /* dropped: the arena keeps it */
        }
        yaml_event_t vev;
        if (!next_event(b, &vev)) return NULL;
        llmc_doc_node *value = build_node(b, &vev, depth + 1);
        if (!value) return NULL;
        if (!key) continue;
        const llmc_doc_entry *prev = llmc_doc_map_find(map, key);
        if (prev) {
            llmc_loc loc = {b->file, kline, kcol};
            llmc_diag_add(b->d, LLMC_SEV_ERROR, loc, key, "duplicate key (first given at line %d, column %d)",
                          prev->line, prev->col);
            b->errors = true;
            continue; /* the value is dropped (the arena keeps it) */
        }
        if (!llmc_doc_map_append(b->arena, map, key, kline, kcol, value)) {
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
        if (!llmc_doc_seq_append(b->arena, seq, item)) {
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
        llmc_doc_node *n = llmc_doc_node_new(b->arena, is_map ? LLMC_DOC_MAP : LLMC_DOC_SEQ, line, col);
        if (!n) { b_error(b, 0, 0, "out of memory while reading the document"); b->fatal = true; return NULL; }
        return is_map ? build_mapping(b, n, depth) : build_sequence(b, n, depth);
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
        n = llmc_doc_node_new(b->arena, LLMC_DOC_MAP, 0, 0);
        if (!n) break;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            llmc_doc_node *c = from_json(v, depth + 1, b);
            char *key = llmc_doc_arena_text(b->arena, k, strlen(k));
            if (!c || !key || !llmc_doc_map_append(b->arena, n, key, 0, 0, c)) {
                n = NULL;
                break;
            }
        }
        break;
    }
    case JSON_ARRAY: {
        n = llmc_doc_node_new(b->arena, LLMC_DOC_SEQ, 0, 0);
        if (!n) break;
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            llmc_doc_node *c = from_json(v, depth + 1, b);
            if (!c || !llmc_doc_seq_append(b->arena, n, c)) {
                n = NULL;
                break;
            }
        }
        break;
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
    yb.arena = llmc_doc_arena_create();
    llmc_doc_node *root = yb.d && yb.arena ? parse_yaml_root(&yb, text, len) : NULL;
    if (yb.errors) root = NULL;
    llmc_diags_free(yb.d);
    if (root) {
        llmc_doc_arena_free(b->arena);
        b->arena = yb.arena;
    } else {
        llmc_doc_arena_free(yb.arena);
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

static llmc_doc *parse(const char *text, size_t len, const char *file, llmc_doc_format fmt, bool careful,
                       llmc_diags *d, bool *had_errors) {
    builder b;
    memset(&b, 0, sizeof b);
    b.file = file ? file : "<string>";
    b.d = d;
    if (had_errors) *had_errors = false;

    llmc_doc_node *root = NULL;
    b.arena = llmc_doc_arena_create();
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
        /* Plainly valid JSON (the common case) is read directly; anything else takes the path
         * through jansson, whose messages users see. */
        root = careful ? NULL : llmc_doc_read_plain_json(b.arena, text, len);
        if (!root) {
            llmc_doc_arena_free(b.arena); /* what the direct reader left */
            b.arena = llmc_doc_arena_create();
            root = b.arena ? parse_json_checked(&b, text, len) : NULL;
        }
    } else {
        root = parse_yaml_root(&b, text, len);
    }
    if (had_errors) *had_errors = b.errors;
    if (!root) {
        llmc_doc_arena_free(b.arena);
        return NULL;
    }

    llmc_doc *doc = calloc(1, sizeof *doc);
    char *fname = llmc_strdup(b.file);
    if (!doc || !fname) {
        free(doc);
        free(fname);
        llmc_doc_arena_free(b.arena);
        b_error(&b, 0, 0, "out of memory while reading the document");
        if (had_errors) *had_errors = true;
        return NULL;
    }
    doc->file = fname;
    doc->root = root;
    doc->arena = b.arena;
    return doc;
}

llmc_doc *llmc_doc_parse(const char *text, size_t len, const char *file, llmc_doc_format fmt, llmc_diags *d,
                         bool *had_errors) {
    return parse(text, len, file, fmt, false, d, had_errors);
}

llmc_doc *llmc_doc_parse_json_careful(const char *text, size_t len, const char *file, llmc_diags *d,
                                      bool *had_errors) {
    return parse(text, len, file, LLMC_DOC_JSON, true, d, had_errors);
}
