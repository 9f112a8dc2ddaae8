/* The training words: alphabet by character coverage, rare characters replaced (see ug_train.h).
 *
 * As spm_train's LoadSentences: characters are counted over all words (weighted by count);
 * sorted by (required first, count descending, code point), they join the alphabet until the
 * characters already taken cover character_coverage of all occurrences. Tab and space never
 * join (sentencepiece reserves tab and never sees spaces in normalized text). A word that
 * already holds U+2585 is dropped (sentencepiece drops such sentences), so is a word longer
 * than max_word_bytes, and a word that is not valid UTF-8 (the corpus reader never makes one). */
#include <stdlib.h>
#include <string.h>

#include "tok_buf.h"
#include "tok_unicode_script.h"
#include "ug_train.h"

#define MAX_CP 0x110000u

void ug_default_params(ug_params *p) {
    memset(p, 0, sizeof *p);
    p->vocab_size = 8000;
    p->character_coverage = 0.9995;
    p->max_piece_length = 16;
    p->seed_size = 1000000;
    p->shrinking_factor = 0.75;
    p->sub_iterations = 2;
    p->max_word_bytes = 4192;
    p->split_by_unicode_script = true;
    p->split_by_number = true;
    p->split_by_whitespace = true;
    p->threads = 1;
}

void ug_corpus_free(ug_corpus *c) {
    free(c->text);
    free(c->offset);
    free(c->count);
    free(c->cp);
    free(c->char_count);
    free(c->script);
    free(c->is_digit);
    free(c->id_of_cp);
    memset(c, 0, sizeof *c);
}

uint32_t ug_corpus_char_id(const ug_corpus *c, uint32_t cp) { return cp < MAX_CP ? c->id_of_cp[cp] : 0; }

typedef struct {
    uint32_t cp;
    bool required;
    uint64_t count;
} char_stat;

static int cmp_char_stat(const void *a, const void *b) {
    const char_stat *x = a, *y = b;
    if (x->required != y->required) return x->required ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

/* decode a whole word; false when it is not valid UTF-8 */
static bool word_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = llmc_tokbuf_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!l) return false;
        i += l;
    }
    return true;
}

static bool has_unk_char(const char *s, size_t n) {
    return n >= 3 && memmem(s, n, "\xe2\x96\x85", 3) != NULL;
}

static bool is_decimal_digit(uint32_t cp) { return (cp >= '0' && cp <= '9') || (cp >= 0xFF10 && cp <= 0xFF19); }

int ug_corpus_prepare(const ug_params *p, const llmc_tok_word *words, size_t n_words, ug_corpus *c, llmc_diags *d) {
    memset(c, 0, sizeof *c);
    uint64_t *counts = calloc(MAX_CP, sizeof *counts);
    bool *required = calloc(MAX_CP, sizeof *required);
    bool *keep = calloc(n_words ? n_words : 1, sizeof *keep);
    char_stat *stats = NULL;
    c->id_of_cp = calloc(MAX_CP, sizeof *c->id_of_cp);
    if (!counts || !required || !keep || !c->id_of_cp) goto oom;
    /* pass 1: which words, and the character counts */
    size_t bytes = 0;
    for (size_t i = 0; i < n_words; i++) {
        const llmc_tok_word *w = &words[i];
        if (w->len == 0 || w->count == 0) continue;
        if (w->len > p->max_word_bytes || has_unk_char(w->text, w->len) || !word_ok(w->text, w->len)) {
            c->dropped++;
            continue;
        }
        keep[i] = true;
        c->n++;
        bytes += w->len;
        c->total_count += w->count;
        for (size_t k = 0; k < w->len;) {
            uint32_t cp = 0;
            k += llmc_tokbuf_utf8_decode((const unsigned char *)w->text + k, w->len - k, &cp);
            counts[cp] += w->count;
        }
    }
    if (p->required_chars) {
        const char *r = p->required_chars;
        size_t n = strlen(r);
        for (size_t k = 0; k < n;) {
            uint32_t cp = 0;
            size_t l = llmc_tokbuf_utf8_decode((const unsigned char *)r + k, n - k, &cp);
            if (!l) {
                llmc_error(d, "required_chars", "not valid UTF-8 at byte %zu", k);
                goto fail;
            }
            if (cp) required[cp] = true;
            k += l;
        }
    }
    /* the alphabet */
    size_t n_stats = 0;
    uint64_t all = 0;
    for (uint32_t cp = 1; cp < MAX_CP; cp++) {
        if (counts[cp] || required[cp]) n_stats++;
        all += counts[cp];
    }
    stats = malloc((n_stats ? n_stats : 1) * sizeof *stats);
    if (!stats) goto oom;
    n_stats = 0;
    for (uint32_t cp = 1; cp < MAX_CP; cp++)
        if (counts[cp] || required[cp]) stats[n_stats++] = (char_stat){cp, required[cp], counts[cp]};
    qsort(stats, n_stats, sizeof *stats, cmp_char_stat);
    c->cp = malloc((n_stats + 2) * sizeof *c->cp);
    c->char_count = malloc((n_stats + 2) * sizeof *c->char_count);
    c->script = malloc((n_stats + 2) * sizeof *c->script);
    c->is_digit = malloc((n_stats + 2) * sizeof *c->is_digit);
    if (!c->cp || !c->char_count || !c->script || !c->is_digit) goto oom;
    uint64_t covered = 0;
    uint32_t n_chars = 0;
    const float coverage_target = (float)p->character_coverage; /* spm compares in float */
    for (size_t i = 0; i < n_stats; i++) {
        const float coverage = all ? (float)(1.0 * (double)covered / (double)all) : 1.0f;
        if (coverage >= coverage_target && !(coverage_target >= 1.0f)) break;
        covered += stats[i].count;
        if (stats[i].cp == '\t' || stats[i].cp == ' ' || stats[i].cp == UG_UNK_CHAR) continue;
        n_chars++;
        c->cp[n_chars] = stats[i].cp;
        c->char_count[n_chars] = stats[i].count;
        c->id_of_cp[stats[i].cp] = n_chars;
    }
    c->n_chars = n_chars;
    c->unk_char_id = n_chars + 1;
    c->cp[n_chars + 1] = UG_UNK_CHAR;
    c->char_count[n_chars + 1] = 0;
    c->id_of_cp[UG_UNK_CHAR] = n_chars + 1;
    /* per-character facts for the piece rules: kana and the prolonged sound mark count as Han */
    int han = llmc_unicode_script_id("Han"), hira = llmc_unicode_script_id("Hiragana"),
        kata = llmc_unicode_script_id("Katakana");
    for (uint32_t id = 1; id <= n_chars + 1; id++) {
        uint32_t cp = c->cp[id];
        int s = llmc_unicode_script(cp);
        if (s == hira || s == kata || cp == 0x30FC) s = han;
        c->script[id] = s;
        c->is_digit[id] = is_decimal_digit(cp);
    }
    c->script[0] = LLMC_SCRIPT_COMMON;
    c->is_digit[0] = false;
    /* pass 2: the words, rare characters as U+2585 (3 bytes in UTF-8, like any character here
     * but ASCII and 2-byte ones, so allow for growth) */
    c->offset = malloc((c->n + 1) * sizeof *c->offset);
    c->count = malloc((c->n ? c->n : 1) * sizeof *c->count);
    c->text = malloc(bytes * 3 + 1);
    if (!c->offset || !c->count || !c->text) goto oom;
    size_t o = 0, wi = 0;
    for (size_t i = 0; i < n_words; i++) {
        if (!keep[i]) continue;
        const llmc_tok_word *w = &words[i];
        c->offset[wi] = o;
        c->count[wi] = w->count;
        for (size_t k = 0; k < w->len;) {
            uint32_t cp = 0;
            size_t l = llmc_tokbuf_utf8_decode((const unsigned char *)w->text + k, w->len - k, &cp);
            if (c->id_of_cp[cp] && c->id_of_cp[cp] != c->unk_char_id) {
                memcpy(c->text + o, w->text + k, l);
                o += l;
            } else {
                memcpy(c->text + o, "\xe2\x96\x85", 3);
                o += 3;
            }
            k += l;
        }
        wi++;
    }
    c->offset[wi] = o;
    free(counts);
    free(required);
    free(keep);
    free(stats);
    return 0;
oom:
    llmc_error(d, NULL, "out of memory preparing the training words");
fail:
    free(counts);
    free(required);
    free(keep);
    free(stats);
    ug_corpus_free(c);
    return -1;
}

bool ug_valid_piece(const ug_params *p, const ug_corpus *c, const uint32_t *ids, size_t n) {
    if (n == 0 || n > p->max_piece_length) return false;
    const int any = -1;
    int prev = any;
    for (size_t pos = 0; pos < n; pos++) {
        uint32_t id = ids[pos];
        if (id == 0 || id >= c->unk_char_id) return false; /* outside the alphabet, or U+2585 */
        uint32_t cp = c->cp[id];
        if (cp == UG_WS_CHAR) {
            /* whitespace only as a prefix (split_by_whitespace), else never as the suffix */
            if (p->split_by_whitespace ? pos > 0 : (pos > 0 && pos == n - 1)) return false;
            continue;
        }
        int s = c->script[id];
        if (s == LLMC_SCRIPT_INHERITED) s = prev;
        if (!p->split_by_number && c->is_digit[id]) s = any;
        if (p->split_digits && c->is_digit[id] && n > 1) return false;
        if (p->split_by_unicode_script && s != any && prev != any && prev != s) return false;
        prev = s;
    }
    return true;
}
