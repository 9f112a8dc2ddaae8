/* Training a tokenizer with a tokenizer plugin: pipeline (preset + the plugin's prepare), word
 * counts of the corpus, the plugin's train, the special tokens, a check that the result loads
 * and has the vocabulary size asked for, and the output directory written atomically. */
#include "tok_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outdir.h"
#include "pipeline.h"
#include "tok_charsmap.h"
#include "tok_builder.h"
#include "tok_corpus.h"
#include "tok_internal.h"
#include "util.h"

void llmc_tok_train_default_params(llmc_tok_train_params *p) {
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->threads = 1;
}

const char *llmc_tok_train_option(const llmc_tok_train_params *p, const char *key) {
    const char *r = NULL;
    size_t k = strlen(key);
    for (size_t i = 0; i < p->n_options; i++)
        if (!strncmp(p->options[i], key, k) && p->options[i][k] == '=') r = p->options[i] + k + 1;
    return r;
}

static const char *const normalizations[][2] = {
    {"none", NULL},
    {"nfc", "{\"type\":\"NFC\"}"},
    {"nfd", "{\"type\":\"NFD\"}"},
    {"nfkc", "{\"type\":\"NFKC\"}"},
    {"nfkd", "{\"type\":\"NFKD\"}"},
    {"lowercase", "{\"type\":\"Lowercase\"}"},
    {"nmt_nfkc", "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"}," LLMC_NMT_DELETE_JSON ","
                 LLMC_NMT_SPACE_JSON "]}"},
    {"nfkc_lowercase", "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Lowercase\"}]}"},
};

bool llmc_tok_normalization_known(const char *name) {
    for (size_t i = 0; name && i < sizeof normalizations / sizeof *normalizations; i++)
        if (!strcmp(name, normalizations[i][0])) return true;
    return false;
}

const char *llmc_tok_normalization_json(const char *name) {
    for (size_t i = 0; name && i < sizeof normalizations / sizeof *normalizations; i++)
        if (!strcmp(name, normalizations[i][0])) return normalizations[i][1];
    return NULL;
}

bool llmc_tok_normalization_spm_ok(const char *name) {
    return !name || !strcmp(name, "none") || !strcmp(name, "nfkc") || !strcmp(name, "nmt_nfkc");
}

static llmc_tokenizer *tokenizer_of(json_t *doc, const char *name, llmc_diags *d) {
    tok_core *c = tok_core_from_json(doc, name, d);
    if (!c) return NULL;
    llmc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        tok_core_release(c);
        llmc_error(d, NULL, "out of memory");
        return NULL;
    }
    t->core = c;
    return t;
}

int llmc_tok_train(const llmc_tokenizer_vtable *vt, const char *plugin, const llmc_tok_train_params *p,
                   const llmc_tok_corpus_params *cp, const char *out_dir, bool force, llmc_tok_train_report *report,
                   llmc_diags *d) {
    double t0 = llmc_now_ms();
    if (report) memset(report, 0, sizeof *report);
    llmc_tok_builder *b = llmc_tok_builder_create();
    if (!b) {
        llmc_error(d, NULL, "out of memory");
        return LLMC_EXIT_IO;
    }
    int rc = LLMC_EXIT_SPEC;
    llmc_tokenizer *counting = NULL, *result = NULL;
    llmc_tok_counts *counts = NULL;
    if (p->pre_tokenizer && llmc_tok_builder_preset(b, p->pre_tokenizer, d)) goto done;
    if (vt->prepare && vt->prepare(p, b, d)) goto done;
    if (p->normalizer && llmc_tok_builder_prepend_normalizer(b, p->normalizer, d)) goto done;
    if (!llmc_tok_builder_has_pre_tokenizer(b)) {
        llmc_error(d, "--pre-tokenizer", "the '%s' tokenizer chose no pipeline: give --pre-tokenizer", plugin);
        goto done;
    }
    /* the special tokens cut the corpus text as they will cut encoded text */
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) goto done;
    json_t *cdoc = llmc_tok_builder_document(b, true);
    counting = cdoc ? tokenizer_of(cdoc, "the counting pipeline", d) : NULL;
    if (!counting) goto done;
    /* a byte-fallback model will take invalid UTF-8 as bytes: count it as it is */
    if (llmc_tok_builder_lossless(b)) counting->core->lossless = true;
    int count_rc;
    counts = llmc_tok_count_corpus(counting, cp, llmc_tok_builder_counts_bytes(b), &count_rc, d);
    if (!counts) {
        rc = count_rc;
        goto done;
    }
    const llmc_tok_corpus_stats *st = llmc_tok_counts_stats(counts);
    double t1 = llmc_now_ms();
    if (st->n_words == 0) {
        llmc_error(d, NULL, "the corpus has no text to learn from (%llu documents, %llu bytes)",
                   (unsigned long long)st->documents, (unsigned long long)st->bytes);
        goto done;
    }
    /* the builder starts again from the pipeline: the plugin decides the order of the vocabulary
     * (its special tokens first, as HF's and SentencePiece's trainers do) */
    llmc_tok_builder_free(b);
    b = llmc_tok_builder_create();
    if (!b) {
        llmc_error(d, NULL, "out of memory");
        goto done;
    }
    if (p->pre_tokenizer && llmc_tok_builder_preset(b, p->pre_tokenizer, d)) goto done;
    if (vt->prepare && vt->prepare(p, b, d)) goto done;
    if (p->normalizer && llmc_tok_builder_prepend_normalizer(b, p->normalizer, d)) goto done;
    if (vt->train(p, st, b, d)) {
        if (!llmc_diags_errors(d)) llmc_error(d, NULL, "the '%s' tokenizer plugin failed without saying why", plugin);
        goto done;
    }
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) goto done;
    json_t *doc = llmc_tok_builder_document(b, false);
    if (!doc) {
        llmc_error(d, NULL, "out of memory");
        goto done;
    }
    result = tokenizer_of(doc, "the trained tokenizer", d);
    if (!result) {
        llmc_error(d, NULL, "the '%s' plugin produced a tokenizer that does not load (see above)", plugin);
        goto done;
    }
    /* roles */
    for (size_t i = 0; i < p->n_specials; i++) {
        static const char *const roles[4] = {"bos", "eos", "pad", "unk"};
        for (int r = 0; r < 4; r++)
            if (!strcmp(p->specials[i].name, roles[r]))
                result->core->special[r] = llmc_tokenizer_piece_to_id(result, p->specials[i].token,
                                                                      strlen(p->specials[i].token));
    }
    uint32_t vs = llmc_tokenizer_vocab_size(result);
    if (report) {
        report->documents = st->documents;
        report->bytes = st->bytes;
        report->unique_words = st->n_words;
        report->characters = st->characters;
        report->distinct_characters = st->n_chars;
    }
    if (vs != p->vocab_size) {
        if (vs < p->vocab_size && report) {
            report->corpus_too_small = true;
            report->vocab_size = vs;
        }
        if (vs < p->vocab_size)
            llmc_error(d, "--vocab-size",
                       "the corpus is too small for %u ids: '%s' learned %u (%s distinct words, %zu distinct "
                       "characters, %s bytes); lower --vocab-size to at most %u or add text",
                       p->vocab_size, plugin, vs, llmc_fmt_count(st->n_words, (char[32]){0}, 32), st->n_chars,
                       llmc_fmt_count(st->bytes, (char[32]){0}, 32), vs);
        else
            llmc_error(d, "--vocab-size", "the '%s' plugin produced %u ids, more than the %u asked for", plugin, vs,
                       p->vocab_size);
        goto done;
    }
    llmc_outdir *o = llmc_outdir_begin(out_dir, force, d);
    if (!o) {
        rc = LLMC_EXIT_IO;
        goto done;
    }
    if (llmc_tokenizer_save(result, llmc_outdir_tmp(o), d)) {
        llmc_outdir_abort(o);
        rc = LLMC_EXIT_IO;
        goto done;
    }
    if (llmc_outdir_commit(o, d)) {
        rc = LLMC_EXIT_IO;
        goto done;
    }
    if (report) {
        report->vocab_size = vs;
        report->count_ms = t1 - t0;
        report->total_ms = llmc_now_ms() - t0;
    }
    rc = LLMC_EXIT_OK;
done:
    llmc_tokenizer_free(result);
    llmc_tokenizer_free(counting);
    llmc_tok_counts_free(counts);
    llmc_tok_builder_free(b);
    return rc;
}
