/* bench/parse: spec parsing of 16 MiB documents (the largest a spec or config may be), in the
 * shapes that were quadratic before the key index: one huge mapping, long and deeply nested
 * lists, many small mappings. Each shape is generated as YAML and as JSON just under the size
 * limit and read with llmc_doc_parse (the document tree) and, where the shape is a valid spec,
 * with llmc_spec_load_string (tree + every spec check). The peer, measured in the same run on
 * the same bytes, is libyaml's event parser alone, the floor under the tree builder (for JSON
 * also jansson's json_loadb, which llmc runs first as its strict JSON check). Best of 3.
 *
 *   usage: bench_parse [--write DIR] [--shape NAME]
 *     --write DIR     also write the valid-spec shapes to DIR (for `llmc solve`)
 *     --shape NAME    only this shape (one_mapping, small_mappings, long_list, deep_lists,
 *                     deep_flow_yaml) */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "doc.h"
#include "llmc/spec.h"
#include "util.h"

#define RUNS 3

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void add(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof tmp) abort();
    if (b->n + (size_t)w + 1 > b->cap) {
        b->cap = (b->n + (size_t)w + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, tmp, (size_t)w + 1);
    b->n += (size_t)w;
}

/* room left for one more item of at most item bytes and the closing text */
static int room(const buf *b, size_t item) { return b->n + item + 64 < LLMC_DOC_MAX_BYTES; }

static const char spec_head_yaml[] =
    "name: bench-parse\nvocab_size: 512\ncontext_length: 64\n"
    "dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 256}\n";
static const char spec_head_json[] =
    "{\"name\": \"bench-parse\", \"vocab_size\": 512, \"context_length\": 64,\n"
    " \"dims\": {\"num_layers\": 2, \"hidden_size\": 64, \"num_heads\": 4, \"intermediate_size\": 256},\n";

/* one emitter's options: a single mapping with as many keys as fit */
static size_t gen_one_mapping(buf *b, int json) {
    size_t n = 0;
    add(b, "%s", json ? spec_head_json : spec_head_yaml);
    add(b, json ? " \"emit_options\": {\"bench\": {\n" : "emit_options:\n  bench:\n");
    for (; room(b, 48); n++)
        add(b, json ? "%s  \"key_%07zu\": \"value %zu\"" : "%s    key_%07zu: value %zu\n", json && n ? ",\n" : "", n, n);
    add(b, json ? "\n}}}\n" : "");
    return n;
}

/* many emitters, each a small mapping of three options */
static size_t gen_small_mappings(buf *b, int json) {
    size_t n = 0;
    add(b, "%s", json ? spec_head_json : spec_head_yaml);
    add(b, json ? " \"emit_options\": {\n" : "emit_options:\n");
    for (; room(b, 96); n++)
        add(b,
            json ? "%s  \"e%07zu\": {\"level\": %zu, \"mode\": \"fast\", \"tag\": \"t%zu\"}"
                 : "%s  e%07zu: {level: %zu, mode: fast, tag: t%zu}\n",
            json && n ? ",\n" : "", n, n % 10, n);
    add(b, json ? "\n}}\n" : "");
    return n;
}

/* one long list: the spec's constraints, one short expression per item */
static size_t gen_long_list(buf *b, int json) {
    size_t n = 0;
    add(b, "%s", json ? spec_head_json : spec_head_yaml);
    add(b, json ? " \"constraints\": [\n" : "constraints:\n");
    for (; room(b, 40); n++)
        add(b, json ? "%s  \"num_layers <= %zu\"" : "%s  - num_layers <= %zu\n", json && n ? ",\n" : "", n + 2);
    add(b, json ? "\n]}\n" : "");
    return n;
}

/* a long list of lists nested 60 deep (the depth limit is 64); not a spec. YAML in block style
 * ("- - - ... 7"), JSON in flow style ([[[...7]]]). */
static size_t gen_deep_lists(buf *b, int json) {
    size_t n = 0;
    add(b, json ? "{\"deep\": [\n" : "deep:\n");
    for (; room(b, 260); n++) {
        add(b, json ? "%s " : "%s- ", json && n ? ",\n" : "");
        for (int d = 0; d < 60; d++) add(b, json ? "[" : "- ");
        add(b, "%zu", n);
        if (json)
            for (int d = 0; d < 60; d++) add(b, "]");
        else
            add(b, "\n");
    }
    add(b, json ? "\n]}\n" : "");
    return n;
}

/* the same in YAML flow style: libyaml's scanner does work proportional to the flow depth for
 * every token, so this shape is slow in libyaml itself (the peer row shows how slow) */
static size_t gen_deep_flow_yaml(buf *b, int json) {
    size_t n = 0;
    (void)json;
    add(b, "deep:\n");
    for (; room(b, 260); n++) {
        add(b, "- ");
        for (int d = 0; d < 60; d++) add(b, "[");
        add(b, "%zu", n);
        for (int d = 0; d < 60; d++) add(b, "]");
        add(b, "\n");
    }
    return n;
}

typedef struct shape {
    const char *name;
    const char *what;
    size_t (*gen)(buf *b, int json);
    int is_spec;
    int yaml_only;
} shape;

static const shape shapes[] = {
    {"one_mapping", "keys in emit_options.bench", gen_one_mapping, 1, 0},
    {"small_mappings", "emitters of 3 options", gen_small_mappings, 1, 0},
    {"long_list", "constraints", gen_long_list, 1, 0},
    {"deep_lists", "lists nested 60 deep", gen_deep_lists, 0, 0},
    {"deep_flow_yaml", "lists nested 60 deep, flow style", gen_deep_flow_yaml, 0, 1},
};

/* libyaml's event stream over text, nothing kept: the cost floor of the tree builder */
static int libyaml_events(const char *text, size_t len) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return -1;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = -1;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) break;
        int end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (end) { rc = 0; break; }
    }
    yaml_parser_delete(&p);
    return rc;
}

static int run_libyaml(const char *text, size_t len) { return libyaml_events(text, len); }

static int run_jansson(const char *text, size_t len) {
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    json_decref(j);
    return j ? 0 : -1;
}

static int run_doc(const char *text, size_t len, int json) {
    llmc_diags *d = llmc_diags_create();
    bool errs = false;
    llmc_doc *doc = llmc_doc_parse(text, len, "bench", json ? LLMC_DOC_JSON : LLMC_DOC_YAML, d, &errs);
    int rc = doc && !errs ? 0 : -1;
    if (rc) llmc_diags_print(d, stderr);
    llmc_doc_free(doc);
    llmc_diags_free(d);
    return rc;
}

static int run_spec(const char *text, size_t len, int json) {
    llmc_diags *d = llmc_diags_create();
    llmc_spec *s = llmc_spec_load_string(text, len, json ? "bench.json" : "bench.yaml",
                                         json ? LLMC_SPEC_FORMAT_JSON : LLMC_SPEC_FORMAT_YAML, d);
    int rc = s && llmc_diags_errors(d) == 0 ? 0 : -1;
    if (rc) llmc_diags_print(d, stderr);
    llmc_spec_free(s);
    llmc_diags_free(d);
    return rc;
}

typedef int (*runner)(const char *text, size_t len, int json);

static int wrap_libyaml(const char *t, size_t n, int json) { (void)json; return run_libyaml(t, n); }
static int wrap_jansson(const char *t, size_t n, int json) { (void)json; return run_jansson(t, n); }

typedef struct timing {
    double wall, cpu;   /* seconds, best of RUNS; wall < 0 on failure */
} timing;

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static timing best_time(runner r, const char *text, size_t len, int json) {
    timing best = {-1, -1};
    for (int i = 0; i < RUNS; i++) {
        double t0 = llmc_now_ms(), c0 = cpu_seconds();
        if (r(text, len, json) != 0) {
            best.wall = -1;
            return best;
        }
        double wall = (llmc_now_ms() - t0) / 1e3, cpu = cpu_seconds() - c0;
        if (best.wall < 0 || wall < best.wall) best.wall = wall;
        if (best.cpu < 0 || cpu < best.cpu) best.cpu = cpu;
    }
    return best;
}

static void row(const char *shape, const char *fmt, const char *reader, size_t len, timing t, timing floor) {
    if (t.wall < 0) {
        printf("%-15s %-5s %-22s %6.2f  FAILED\n", shape, fmt, reader, len / 1048576.0);
        return;
    }
    printf("%-15s %-5s %-22s %6.2f %8.3f %8.3f %8.1f", shape, fmt, reader, len / 1048576.0, t.wall, t.cpu,
           len / 1e6 / t.wall);
    if (floor.wall > 0) printf(" %9.2fx", t.wall / floor.wall);
    printf("\n");
}

static int write_file(const char *dir, const char *name, const char *ext, const buf *b) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return -1; }
    size_t w = fwrite(b->p, 1, b->n, f);
    if (fclose(f) != 0 || w != b->n) { perror(path); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    const char *write_dir = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--write") && i + 1 < argc) write_dir = argv[++i];
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--write DIR] [--shape NAME]\n", argv[0]);
            return 2;
        }
    }
    FILE *up = popen("uptime", "r");
    char load[256] = "";
    if (up) {
        if (!fgets(load, sizeof load, up)) load[0] = '\0';
        pclose(up);
    }
    printf("uptime: %s", load[0] ? load : "(unavailable)\n");
    printf("best of %d runs (wall and CPU seconds separately); MB/s from wall time; ratio = wall time over\n"
           "libyaml's event parser alone (the peer) on the same bytes in the same run\n", RUNS);
    printf("%-15s %-5s %-22s %6s %8s %8s %8s %10s\n", "shape", "fmt", "reader", "MiB", "wall s", "CPU s", "MB/s",
           "vs libyaml");
    int failed = 0;
    timing worst = {0, 0};
    char worst_what[96] = "";
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const shape *sh = &shapes[i];
        if (only && strcmp(only, sh->name)) continue;
        for (int json = 0; json <= !sh->yaml_only; json++) {
            buf b = {NULL, 0, 0};
            size_t count = sh->gen(&b, json);
            const char *fmt = json ? "json" : "yaml";
            printf("%s, %s: %zu %s\n", sh->name, fmt, count, sh->what);
            const timing none = {0, 0};
            timing floor = best_time(wrap_libyaml, b.p, b.n, json);
            row(sh->name, fmt, "libyaml events (peer)", b.n, floor, none);
            if (json) row(sh->name, fmt, "jansson json_loadb", b.n, best_time(wrap_jansson, b.p, b.n, json), floor);
            for (int spec = 0; spec <= sh->is_spec; spec++) {
                timing t = best_time(spec ? run_spec : run_doc, b.p, b.n, json);
                row(sh->name, fmt, spec ? "llmc_spec_load_string" : "llmc_doc_parse", b.n, t, floor);
                failed |= t.wall < 0;
                if (sh->yaml_only) continue; /* libyaml's own limit: reported on its rows */
                if (t.wall > worst.wall) {
                    worst = t;
                    snprintf(worst_what, sizeof worst_what, "%s %s %s", sh->name, fmt,
                             spec ? "llmc_spec_load_string" : "llmc_doc_parse");
                }
            }
            if (sh->is_spec) {
                if (write_dir && write_file(write_dir, sh->name, fmt, &b) != 0) failed = 1;
            }
            free(b.p);
        }
    }
    printf("slowest llmc read of a 16 MiB document (all shapes but deep_flow_yaml): %s, %.3f s wall, %.3f s CPU: %s\n",
           worst_what, worst.wall, worst.cpu,
           worst.wall < 1.0 ? "under a second"
           : worst.cpu < 1.0 ? "under a second of CPU, not of wall clock: the machine is loaded"
                             : "OVER a second");
    return failed ? 1 : 0;
}
