/* Located document tree: what a YAML or JSON file says, with line:col for every node
 * and every mapping key, so that later checks can point errors at the exact spot.
 *
 * Internal to the core (not part of the SDK); functions are LLMC_API so unit tests
 * and other core modules (config, ir.json reader) can use them.
 *
 * Parsing is linear in the size of the text: mappings and lists grow geometrically, mapping
 * keys are hashed (duplicate checks and lookups in O(1) expected time), and the tree lives in
 * one arena (no malloc per node).
 *
 * Safety limits: files over LLMC_DOC_MAX_BYTES, nesting deeper than LLMC_DOC_MAX_DEPTH,
 * YAML aliases, anchors and explicit tags, duplicate keys, non-scalar keys and
 * multi-document streams are refused with located errors. Aliases are refused rather
 * than expanded, so "billion laughs" inputs cost nothing. */
#ifndef LLMC_CORE_DOC_H
#define LLMC_CORE_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "keyindex.h"
#include "llmc/diag.h"
#include "llmc/export.h"

#define LLMC_DOC_MAX_BYTES ((size_t)16 << 20)
#define LLMC_DOC_MAX_DEPTH 64

typedef enum llmc_doc_kind { LLMC_DOC_SCALAR = 0, LLMC_DOC_MAP, LLMC_DOC_SEQ } llmc_doc_kind;

typedef enum llmc_doc_format { LLMC_DOC_YAML = 0, LLMC_DOC_JSON } llmc_doc_format;

typedef struct llmc_doc_node llmc_doc_node;

typedef struct llmc_doc_entry {
    char *key;              /* NUL-terminated key text */
    int line, col;          /* where the key starts (1-based; 0 = unknown) */
    llmc_doc_node *value;
} llmc_doc_entry;

struct llmc_doc_node {
    llmc_doc_kind kind;
    int line, col;          /* where the node starts (1-based; 0 = unknown) */
    bool quoted;            /* scalar written quoted ('..' or "..") or as a block scalar (| or >) */
    bool multiline;         /* block scalar or spread over several lines: offsets in text are not columns */
    bool is_null;           /* plain "", "~", "null", "Null" or "NULL" */
    bool reported;          /* stands for something already reported (an alias): checks skip it */

    /* scalar */
    char *text;             /* NUL-terminated; len bytes (a NUL inside is reported as an error) */
    size_t len;

    /* mapping: keys in file order, found in O(1) by llmc_doc_map_find */
    llmc_doc_entry *entries;
    size_t n_entries;
    llmc_key_index *key_index; /* private: NULL while the mapping has at most LLMC_KEY_INDEX_SMALL keys */

    /* sequence */
    llmc_doc_node **items;
    size_t n_items;
};

typedef struct llmc_doc_arena llmc_doc_arena;

typedef struct llmc_doc {
    char *file;             /* name used in locations */
    llmc_doc_node *root;    /* never NULL in a returned doc */
    llmc_doc_arena *arena;  /* owns every node, key and text of the tree */
} llmc_doc;

/* Parse text as YAML or JSON. JSON that is plainly valid is read directly, with locations
 * (doc_json.c); any other JSON is checked strictly with jansson (syntax and duplicate keys,
 * located), then read with libyaml so every key has a location.
 * Returns NULL on a fatal error (syntax, depth, size). Non-fatal problems (duplicate
 * keys, aliases, anchors, tags) are reported to d and the doc is still returned, so a
 * caller can report everything at once; *had_errors says whether any were reported. */
LLMC_API llmc_doc *llmc_doc_parse(const char *text, size_t len, const char *file, llmc_doc_format fmt,
                                  llmc_diags *d, bool *had_errors);
LLMC_API void llmc_doc_free(llmc_doc *doc);
/* JSON read only the careful way (jansson's check, then libyaml's located tree or jansson's
 * tree), as llmc_doc_parse reads what its direct JSON reader does not take. For tests and the
 * fuzzer, which compare the two. */
LLMC_API llmc_doc *llmc_doc_parse_json_careful(const char *text, size_t len, const char *file, llmc_diags *d,
                                               bool *had_errors);

/* Entry of key in a mapping node (NULL if n is not a mapping or has no such key); O(1) expected. */
LLMC_API const llmc_doc_entry *llmc_doc_map_find(const llmc_doc_node *map, const char *key);
/* The same for the key key[0..len), which need not be NUL-terminated. */
LLMC_API const llmc_doc_entry *llmc_doc_map_find_n(const llmc_doc_node *map, const char *key, size_t len);

/* The value of an entry, or NULL if the entry is absent or written as null (= "not given"). */
LLMC_API const llmc_doc_node *llmc_doc_value(const llmc_doc_entry *e);
/* Where to point for an entry as a whole: at its value if that is a scalar, else at its key. */
LLMC_API llmc_loc llmc_doc_entry_loc(const llmc_doc *doc, const llmc_doc_entry *e);

/* Location of a node / of a key entry, with file set to doc->file. */
LLMC_API llmc_loc llmc_doc_loc(const llmc_doc *doc, const llmc_doc_node *n);
LLMC_API llmc_loc llmc_doc_key_loc(const llmc_doc *doc, const llmc_doc_entry *e);

/* Resolve a key path such as "rope.scaling.factor", "constraints[2]" or "a.b[0].c".
 * Returns the node, or NULL if the path is absent or malformed. If loc is non-NULL it
 * receives the location of the deepest part of the path that is present (the key's
 * location for entries whose value is a mapping or list, the value's otherwise), or
 * the top of the file. */
LLMC_API const llmc_doc_node *llmc_doc_lookup(const llmc_doc *doc, const char *path, llmc_loc *loc);

/* Short description of a node's kind for messages: "a mapping", "a list", "null", "a string". */
LLMC_API const char *llmc_doc_kind_desc(const llmc_doc_node *n);

#endif
