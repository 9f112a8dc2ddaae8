/* The document tree's memory and construction (see doc_internal.h) and its queries (doc.h).
 *
 * Linear time: a mapping's keys are hashed (keyindex.c) so that duplicate checks and lookups
 * cost O(1) expected; arrays grow by doubling; nodes, keys and texts are carved from an arena,
 * so a tree of millions of nodes costs no malloc per node. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "doc_internal.h"
#include "util.h"

/* ---- arena ---------------------------------------------------------------------------------
 * Every node, key, text and small array of a document lives in one arena, freed at once. What
 * lives outside (the key tables of mappings with more than LLMC_KEY_INDEX_SMALL keys, arrays of
 * ARRAY_ON_HEAP bytes or more) belongs to nodes the arena lists and releases when it is freed,
 * so a reader can drop a subtree (the value of a duplicate key) or a whole half-built tree
 * without walking it. */

#define ARENA_FIRST_CHUNK ((size_t)64 << 10)
#define ARENA_MAX_CHUNK ((size_t)8 << 20)
/* Chunks this big are mapped directly and marked for transparent huge pages: a 16 MiB spec's
 * tree touches a few hundred MB, and one page fault per 2 MiB instead of per 4 KiB is most of
 * the difference between a fast and a slow parse on a virtual machine. */
#define ARENA_MAP_CHUNK ((size_t)2 << 20)
#define WORD_ALIGN _Alignof(llmc_doc_node)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size;        /* bytes of the chunk, this header included */
    size_t used;        /* bytes used from its start, this header included */
    bool mapped;        /* from mmap (else malloc) */
} arena_chunk;

typedef struct heap_owner {
    llmc_doc_node *node;
    struct heap_owner *next;
} heap_owner;

struct llmc_doc_arena {
    arena_chunk *head;      /* the chunk being filled; older ones follow */
    size_t next_size;       /* size of the next ordinary chunk (doubles up to ARENA_MAX_CHUNK) */
    heap_owner *owners;     /* nodes with memory outside the arena */
};

static arena_chunk *chunk_new(size_t size) {
    arena_chunk *c;
    bool mapped = size >= ARENA_MAP_CHUNK;
    if (mapped) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
        (void)madvise(p, size, MADV_HUGEPAGE); /* a hint: without it, ordinary pages */
#endif
        c = p;
    } else {
        c = malloc(size);
        if (!c) return NULL;
    }
    c->next = NULL;
    c->size = size;
    c->used = sizeof *c;
    c->mapped = mapped;
    return c;
}

static void chunk_free(arena_chunk *c) {
    if (c->mapped) munmap(c, c->size);
    else free(c);
}

llmc_doc_arena *llmc_doc_arena_create(void) {
    llmc_doc_arena *a = calloc(1, sizeof *a);
    if (a) a->next_size = ARENA_FIRST_CHUNK;
    return a;
}

static void release(llmc_doc_node *n);

void llmc_doc_arena_free(llmc_doc_arena *a) {
    if (!a) return;
    for (heap_owner *o = a->owners; o; o = o->next) release(o->node);
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        chunk_free(c);
    }
    free(a);
}

/* n bytes aligned to align (a power of two, at most WORD_ALIGN; not zeroed); NULL when out of
 * memory */
static void *arena_alloc_aligned(llmc_doc_arena *a, size_t n, size_t align) {
    const size_t slack = sizeof(arena_chunk) + WORD_ALIGN;
    if (n > SIZE_MAX - slack) return NULL;
    arena_chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->size || c->size - at < n) {
        if (n + slack > a->next_size) {
            /* a request larger than an ordinary chunk gets a chunk of its own, behind the
             * current one, which may still have room */
            arena_chunk *own = chunk_new(n + slack);
            if (!own) return NULL;
            if (c) {
                own->next = c->next;
                c->next = own;
            } else {
                a->head = own;
            }
            at = (own->used + align - 1) & ~(align - 1);
            own->used = at + n;
            return (char *)own + at;
        }
        c = chunk_new(a->next_size);
        if (!c) return NULL;
        if (a->next_size < ARENA_MAX_CHUNK) a->next_size *= 2;
        c->next = a->head;
        a->head = c;
        at = (c->used + align - 1) & ~(align - 1);
    }
    c->used = at + n;
    return (char *)c + at;
}

static void *arena_alloc(llmc_doc_arena *a, size_t n) { return arena_alloc_aligned(a, n, WORD_ALIGN); }

char *llmc_doc_arena_bytes(llmc_doc_arena *a, size_t n) { return arena_alloc_aligned(a, n, 1); }

char *llmc_doc_arena_text(llmc_doc_arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = arena_alloc_aligned(a, n + 1, 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* The arrays of a node grow by doubling from a minimum capacity (4 entries for a mapping, 1
 * item for a list: many lists hold one item): an array of n elements is full exactly when n is
 * 0, or a power of two at least the minimum, so the capacity need not be stored. Small arrays
 * live in the arena; from ARRAY_ON_HEAP bytes on, an array lives on the malloc heap, and from
 * ARRAY_MAPPED bytes on it is mapped directly (huge pages, and mremap grows it without copying).
 * Where an array lives is a function of its capacity, so release() knows how to free it. */
#define ARRAY_ON_HEAP ((size_t)64 << 10)
#define ARRAY_MAPPED ((size_t)4 << 20)
#define MIN_ENTRIES 4
#define MIN_ITEMS 1

static size_t array_capacity(size_t n, size_t min) {
    size_t cap = min;
    while (cap < n) cap *= 2;
    return n ? cap : 0;
}

static bool array_on_heap(size_t n, size_t min, size_t elem) { return array_capacity(n, min) * elem >= ARRAY_ON_HEAP; }

static void *mapped(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it, ordinary pages */
#endif
    return p;
}

/* array (old bytes, or NULL and 0) grown to new bytes outside the arena; NULL when out of
 * memory (array unchanged) */
static void *heap_array_grow(void *array, size_t old, size_t bytes) {
    if (bytes < ARRAY_MAPPED) return realloc(array, bytes);
    if (old >= ARRAY_MAPPED) {
        void *p = mremap(array, old, bytes, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
        (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
        return p;
    }
    void *p = mapped(bytes);
    if (!p) return NULL;
    if (old) memcpy(p, array, old);
    free(array);
    return p;
}

static void heap_array_free(void *array, size_t bytes) {
    if (!array) return;
    if (bytes >= ARRAY_MAPPED) munmap(array, bytes);
    else free(array);
}

/* Returns array with room for one more element (moved when it was full), or NULL when out of
 * memory (array is then unchanged). */
static void *room_for_one(llmc_doc_arena *a, void *array, size_t n, size_t min, size_t elem) {
    if (n != 0 && (n < min || (n & (n - 1)) != 0)) return array;
    size_t cap = n ? n * 2 : min;
    if (cap > SIZE_MAX / elem) return NULL;
    if (array_on_heap(n, min, elem)) return heap_array_grow(array, n * elem, cap * elem);
    void *grown = cap * elem >= ARRAY_ON_HEAP ? heap_array_grow(NULL, 0, cap * elem) : arena_alloc(a, cap * elem);
    if (grown && n) memcpy(grown, array, n * elem);
    return grown;
}

/* ---- nodes ----------------------------------------------------------------------------------- */

/* What n owns outside the arena: its key table, its arrays once they moved to the heap. */
static void release(llmc_doc_node *n) {
    llmc_key_index_free(n->key_index);
    if (array_on_heap(n->n_entries, MIN_ENTRIES, sizeof *n->entries))
        heap_array_free(n->entries, array_capacity(n->n_entries, MIN_ENTRIES) * sizeof *n->entries);
    if (array_on_heap(n->n_items, MIN_ITEMS, sizeof *n->items))
        heap_array_free(n->items, array_capacity(n->n_items, MIN_ITEMS) * sizeof *n->items);
    n->entries = NULL;
    n->n_entries = 0;
    n->items = NULL;
    n->n_items = 0;
}

/* Put n on the arena's list, at the one moment it first takes memory outside the arena (so it
 * is never listed twice): a mapping when it gets its key table, a list when its array moves. */
static bool own_heap(llmc_doc_arena *a, llmc_doc_node *n) {
    heap_owner *o = arena_alloc(a, sizeof *o);
    if (!o) return false;
    o->node = n;
    o->next = a->owners;
    a->owners = o;
    return true;
}

void llmc_doc_free(llmc_doc *doc) {
    if (!doc) return;
    llmc_doc_arena_free(doc->arena);
    free(doc->file);
    free(doc);
}

static bool text_is_null(const char *t) {
    return !t[0] || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

llmc_doc_node *llmc_doc_node_new(llmc_doc_arena *a, llmc_doc_kind kind, int line, int col) {
    llmc_doc_node *n = arena_alloc(a, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = line;
    n->col = col;
    return n;
}

llmc_doc_node *llmc_doc_scalar_new(llmc_doc_arena *a, char *text, size_t len, bool quoted, int line, int col) {
    llmc_doc_node *n = llmc_doc_node_new(a, LLMC_DOC_SCALAR, line, col);
    if (!n) return NULL;
    n->text = text;
    n->len = len;
    n->quoted = quoted;
    n->is_null = !quoted && text_is_null(text);
    return n;
}

static const char *entry_key_at(const void *entries, size_t pos) {
    return ((const llmc_doc_entry *)entries)[pos].key;
}

bool llmc_doc_map_append(llmc_doc_arena *a, llmc_doc_node *map, char *key, int line, int col, llmc_doc_node *value) {
    /* everything that can fail comes first: the array's place must match n_entries (release);
     * the key table, when the mapping outgrows a scan, comes before the array leaves the arena */
    if (map->n_entries == LLMC_KEY_INDEX_SMALL) {
        llmc_key_index *ix = arena_alloc(a, sizeof *ix);
        if (!ix || !own_heap(a, map)) return false;
        *ix = llmc_key_index_init();
        map->key_index = ix;
    }
    if (map->key_index && llmc_key_index_reserve(map->key_index, map->n_entries, entry_key_at, map->entries) != 0)
        return false;
    llmc_doc_entry *entries = room_for_one(a, map->entries, map->n_entries, MIN_ENTRIES, sizeof *entries);
    if (!entries) return false;
    map->entries = entries;
    llmc_doc_entry *e = &entries[map->n_entries];
    e->key = key;
    e->line = line;
    e->col = col;
    e->value = value;
    if (map->key_index) llmc_key_index_insert(map->key_index, map->n_entries, entry_key_at, map->entries);
    map->n_entries++;
    return true;
}

bool llmc_doc_seq_append(llmc_doc_arena *a, llmc_doc_node *seq, llmc_doc_node *item) {
    size_t n = seq->n_items;
    if (!array_on_heap(n, MIN_ITEMS, sizeof *seq->items) && array_on_heap(n + 1, MIN_ITEMS, sizeof *seq->items) &&
        !own_heap(a, seq))
        return false;
    llmc_doc_node **items = room_for_one(a, seq->items, n, MIN_ITEMS, sizeof *items);
    if (!items) return false;
    seq->items = items;
    items[seq->n_items++] = item;
    return true;
}

/* ---- queries ------------------------------------------------------------------------------- */

const llmc_doc_entry *llmc_doc_map_find_n(const llmc_doc_node *map, const char *key, size_t len) {
    if (!map || map->kind != LLMC_DOC_MAP || !key) return NULL;
    static const llmc_key_index scan = {NULL, 0}; /* a few keys: no table, a scan */
    size_t pos = llmc_key_index_find(map->key_index ? map->key_index : &scan, map->n_entries, key, len, entry_key_at,
                                     map->entries);
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

