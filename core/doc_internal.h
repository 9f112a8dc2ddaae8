/* Building a document tree (doc_tree.c), shared by the YAML reader and the JSON fallback
 * (doc.c) and the direct JSON reader (doc_json.c). Internal to the document code.
 *
 * Every node, key and text of a tree lives in its arena and is freed with it; what a node owns
 * outside the arena (the key table and arrays of a big mapping or list) is released by
 * llmc_doc_node_release, which a reader calls on a subtree it drops. */
#ifndef LLMC_CORE_DOC_INTERNAL_H
#define LLMC_CORE_DOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "doc.h"

llmc_doc_arena *llmc_doc_arena_create(void);
void llmc_doc_arena_free(llmc_doc_arena *a);

/* A NUL-terminated copy of s[0..n) in the arena; NULL when out of memory. */
char *llmc_doc_arena_text(llmc_doc_arena *a, const char *s, size_t n);
/* n bytes in the arena for text written in place (no alignment); NULL when out of memory. */
char *llmc_doc_arena_bytes(llmc_doc_arena *a, size_t n);

/* A mapping or list node with no children; NULL when out of memory. */
llmc_doc_node *llmc_doc_node_new(llmc_doc_arena *a, llmc_doc_kind kind, int line, int col);
/* A scalar node over text, which is already in the arena and NUL-terminated at len. */
llmc_doc_node *llmc_doc_scalar_new(llmc_doc_arena *a, char *text, size_t len, bool quoted, int line, int col);

/* Append to a mapping a key (in the arena) that llmc_doc_map_find says is new; to a list an
 * item. False when out of memory (then nothing changed). */
bool llmc_doc_map_append(llmc_doc_arena *a, llmc_doc_node *map, char *key, int line, int col, llmc_doc_node *value);
bool llmc_doc_seq_append(llmc_doc_arena *a, llmc_doc_node *seq, llmc_doc_node *item);

/* Free what the subtree n owns outside its arena. */
void llmc_doc_node_release(llmc_doc_node *n);

/* The direct JSON reader (doc_json.c): the located tree of a JSON text that is plainly valid
 * (see there), built in a; NULL, with nothing reported, for anything else, which the caller then
 * reads the careful way (jansson, libyaml). What a NULL return leaves in a is garbage. */
llmc_doc_node *llmc_doc_read_plain_json(llmc_doc_arena *a, const char *text, size_t len);

#endif
