/* Test and benchmark driver for the unigram trainer (plugins/tokenizers/unigram) without the
 * tokenizer CLI: counts words the way sentencepiece does with identity normalization (each line
 * normalized: spaces trimmed and collapsed, U+2581 for spaces and in front; a word starts at
 * every U+2581), trains, and writes tokenizer.model as spm_train lays it out (<unk> <s> </s>,
 * the byte pieces with --byte-fallback, then the pieces by score).
 *
 *   unigram_train_tool --vocab-size N [--threads T] [--byte-fallback] [--coverage X]
 *                      [--seed-size N] -o OUT.model CORPUS...
 *
 * Prints the alphabet size, the words used, the EM rounds and the seconds spent on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok_charsmap.h"
#include "tok_spm.h"
#include "ug_train.h"

typedef struct {
    char **key;
    uint32_t *len;
    uint64_t *count;
    size_t n, cap;
} word_map;

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void grow(word_map *m);

static void count_word(word_map *m, const char *s, size_t n) {
    if (2 * (m->n + 1) > m->cap) grow(m);
    size_t i = (size_t)hash(s, n) & (m->cap - 1);
    while (m->key[i]) {
        if (m->len[i] == n && memcmp(m->key[i], s, n) == 0) {
            m->count[i]++;
            return;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->key[i] = malloc(n + 1);
    if (!m->key[i]) { perror("malloc"); exit(4); }
    memcpy(m->key[i], s, n);
    m->key[i][n] = '\0';
    m->len[i] = (uint32_t)n;
    m->count[i] = 1;
    m->n++;
}

static void grow(word_map *m) {
    word_map g = {0};
    g.cap = m->cap ? 2 * m->cap : 1 << 16;
    g.key = calloc(g.cap, sizeof *g.key);
    g.len = calloc(g.cap, sizeof *g.len);
    g.count = calloc(g.cap, sizeof *g.count);
    if (!g.key || !g.len || !g.count) { perror("calloc"); exit(4); }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->key[i]) continue;
        size_t j = (size_t)hash(m->key[i], m->len[i]) & (g.cap - 1);
        while (g.key[j]) j = (j + 1) & (g.cap - 1);
        g.key[j] = m->key[i];
        g.len[j] = m->len[i];
        g.count[j] = m->count[i];
        g.n++;
    }
    free(m->key);
    free(m->len);
    free(m->count);
    *m = g;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    ug_params p;
    ug_default_params(&p);
    uint32_t vocab = 8000;
    bool byte_fallback = false;
    const char *out = NULL;
    int first_input = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vocab-size") && i + 1 < argc) vocab = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) p.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--coverage") && i + 1 < argc) p.character_coverage = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seed-size") && i + 1 < argc) p.seed_size = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--byte-fallback")) byte_fallback = true;
        else if (!strcmp(argv[i], "--verbose")) p.verbose = true;
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "unigram_train_tool: unknown option %s\n", argv[i]);
            return 2;
        } else {
            first_input = i;
            break;
        }
    }
    if (!out || !first_input) {
        fprintf(stderr, "usage: unigram_train_tool --vocab-size N [--threads T] [--byte-fallback] [--coverage X] "
                        "-o OUT.model CORPUS...\n");
        return 2;
    }
    double t0 = now();
    llmc_spm_normalizer_params np = llmc_spm_normalizer_default_params();
    llmc_spm_normalizer *nm = llmc_spm_normalizer_create(&np);
    llmc_tok_bytes norm = {0};
    word_map words = {0};
    grow(&words);
    char *line = NULL;
    size_t cap = 0;
    for (int i = first_input; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 4;
        }
        ssize_t got;
        while ((got = getline(&line, &cap, f)) >= 0) {
            size_t n = (size_t)got;
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
            llmc_spm_normalize(nm, line, n, &norm);
            size_t start = 0;
            for (size_t k = 3; k <= norm.n; k++) {
                if (k == norm.n || (k + 3 <= norm.n && memcmp(norm.p + k, "\xe2\x96\x81", 3) == 0)) {
                    if (k > start) count_word(&words, norm.p + start, k - start);
                    start = k;
                }
            }
        }
        fclose(f);
    }
    free(line);
    llmc_tok_bytes_free(&norm);
    llmc_spm_normalizer_free(nm);
    llmc_tok_word *list = malloc(words.n * sizeof *list);
    size_t nw = 0;
    for (size_t i = 0; i < words.cap; i++)
        if (words.key[i]) list[nw++] = (llmc_tok_word){words.key[i], words.len[i], words.count[i]};
    double t1 = now();

    uint32_t reserved = 3 + (byte_fallback ? 256 : 0);
    p.vocab_size = vocab - reserved;
    p.reserved_pieces = reserved;
    p.progress = false;
    llmc_diags *d = llmc_diags_create();
    ug_result r;
    int rc = ug_train(&p, list, nw, &r, d);
    llmc_diags_print(d, stderr);
    if (rc) return 1;
    double t2 = now();

    llmc_spm_proto m;
    llmc_spm_proto_init(&m);
    llmc_spm_proto_add_piece(&m, "<unk>", 5, 0.0f, LLMC_SPM_UNKNOWN);
    llmc_spm_proto_add_piece(&m, "<s>", 3, 0.0f, LLMC_SPM_CONTROL);
    llmc_spm_proto_add_piece(&m, "</s>", 4, 0.0f, LLMC_SPM_CONTROL);
    if (byte_fallback)
        for (int v = 0; v < 256; v++) {
            char piece[8];
            snprintf(piece, sizeof piece, "<0x%02X>", v);
            llmc_spm_proto_add_piece(&m, piece, 6, 0.0f, LLMC_SPM_BYTE);
        }
    for (size_t i = 0; i < r.n; i++) llmc_spm_proto_add_piece(&m, r.pieces[i].text, r.pieces[i].len, r.pieces[i].score, LLMC_SPM_NORMAL);
    m.has = LLMC_SPM_HAS_TRAINER_SPEC | LLMC_SPM_HAS_NORMALIZER_SPEC;
    m.trainer_spec.vocab_size = (int32_t)m.n_pieces;
    m.trainer_spec.byte_fallback = byte_fallback;
    m.trainer_spec.has = LLMC_SPM_TS_BIT(LLMC_SPM_TS_MODEL_TYPE) | LLMC_SPM_TS_BIT(LLMC_SPM_TS_VOCAB_SIZE) |
                         LLMC_SPM_TS_BIT(LLMC_SPM_TS_BYTE_FALLBACK);
    llmc_spm_str_set(&m.normalizer_spec.name, "identity", 8);
    m.normalizer_spec.has = LLMC_SPM_NS_NAME | LLMC_SPM_NS_ADD_DUMMY_PREFIX | LLMC_SPM_NS_REMOVE_EXTRA_WHITESPACES |
                            LLMC_SPM_NS_ESCAPE_WHITESPACES;
    uint8_t *buf;
    size_t len;
    if (!llmc_spm_proto_check(&m, out, d) || !llmc_spm_proto_serialize(&m, &buf, &len)) {
        llmc_diags_print(d, stderr);
        return 1;
    }
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", out, strerror(errno));
        return 4;
    }
    fprintf(stderr, "unigram_train_tool: %zu distinct words (%llu used, %llu dropped), alphabet %llu, %u EM rounds, "
                    "%zu pieces; counting %.2f s, training %.2f s\n",
            nw, (unsigned long long)r.words_used, (unsigned long long)r.words_dropped, (unsigned long long)r.alphabet,
            r.em_rounds, m.n_pieces, t1 - t0, t2 - t1);
    free(buf);
    llmc_spm_proto_free(&m);
    ug_result_free(&r);
    llmc_diags_free(d);
    return 0;
}
