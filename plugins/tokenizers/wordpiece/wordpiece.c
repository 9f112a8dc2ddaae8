/* The wordpiece tokenizer plugin: BERT's WordPiece, trained as HF's WordPieceTrainer does (BPE
 * merges over words whose non-initial characters carry the "##" continuing-subword prefix; the
 * resulting vocabulary is the WordPiece vocabulary). BERT pipeline by default: BertNormalizer
 * (lowercase, accents stripped), BertPreTokenizer, [CLS] text [SEP] when encoding with special
 * tokens, the WordPiece decoder. */
#include <stdio.h>
#include <string.h>

#include "llmc/llmc.h"
#include "llmc/tokenizer.h"
#include "tok_bpe_train.h"

static const char *special_of(const llmc_tok_train_params *p, const char *name) {
    for (size_t i = 0; i < p->n_specials; i++)
        if (!strcmp(p->specials[i].name, name)) return p->specials[i].token;
    return NULL;
}

static int json_string_of(char *out, size_t n, const char *s, llmc_diags *d) {
    if (strchr(s, '"') || strchr(s, '\\')) {
        llmc_error(d, "--special", "'%s': quotes and backslashes are not supported in special tokens", s);
        return -1;
    }
    snprintf(out, n, "\"%s\"", s);
    return 0;
}

static int prepare(const llmc_tok_train_params *p, llmc_tok_builder *b, llmc_diags *d) {
    if (!p->pre_tokenizer && llmc_tok_builder_preset(b, "bert", d)) return -1;
    if (p->pre_tokenizer && (!strcmp(p->pre_tokenizer, "gpt2") || !strcmp(p->pre_tokenizer, "llama3") ||
                             !strcmp(p->pre_tokenizer, "byte") || !strcmp(p->pre_tokenizer, "char"))) {
        llmc_error(d, "--pre-tokenizer", "wordpiece works on words: use bert, whitespace or metaspace, not '%s'",
                   p->pre_tokenizer);
        return -1;
    }
    if (llmc_tok_builder_set_model(b, "WordPiece", d)) return -1;
    char json[600];
    const char *unk = special_of(p, "unk");
    if (json_string_of(json, sizeof json, unk ? unk : "[UNK]", d) || llmc_tok_builder_set(b, "model.unk_token", json, d))
        return -1;
    return llmc_tok_builder_set(b, "model.continuing_subword_prefix", "\"##\"", d);
}

static int train(const llmc_tok_train_params *p, const llmc_tok_corpus_stats *st, llmc_tok_builder *b,
                 llmc_diags *d) {
    /* BERT's special tokens unless the user named their own */
    if (!p->n_specials) {
        static const char *const bert[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
        for (int i = 0; i < 5; i++)
            if (llmc_tok_builder_add_special(b, bert[i], d) < 0) return -1;
    }
    for (size_t i = 0; i < p->n_specials; i++)
        if (llmc_tok_builder_add_special(b, p->specials[i].token, d) < 0) return -1;
    const char *unk = special_of(p, "unk");
    if (!unk) unk = "[UNK]";
    if (llmc_tok_builder_find_piece(b, unk, strlen(unk)) < 0 && llmc_tok_builder_add_special(b, unk, d) < 0) return -1;
    /* HF's BertWordPieceTokenizer keeps the 1000 most frequent characters (limit_alphabet) */
    uint64_t total = 0, acc = 0;
    llmc_tok_corpus_stats s = *st;
    double cov = p->character_coverage;
    if (cov <= 0 && st->n_chars > 1000) {
        /* the coverage of the 1000 most frequent characters */
        uint64_t counts[1000] = {0};
        for (size_t i = 0; i < st->n_chars; i++) {
            total += st->chars[i].count;
            uint64_t c = st->chars[i].count;
            for (int k = 0; k < 1000; k++)
                if (c > counts[k]) {
                    uint64_t t = counts[k];
                    counts[k] = c;
                    c = t;
                }
        }
        for (int k = 0; k < 1000; k++) acc += counts[k];
        cov = total ? (double)acc / (double)total : 1.0;
    }
    if (tok_bpe_add_alphabet(&s, b, cov > 0 && cov < 1 ? cov : 1.0, 0, d) < 0) return -1;
    if (llmc_tok_builder_n_pieces(b) > p->vocab_size) {
        llmc_error(d, "--vocab-size", "%u is smaller than the %zu special tokens and characters the vocabulary starts with",
                   p->vocab_size, llmc_tok_builder_n_pieces(b));
        return -1;
    }
    tok_bpe_opts o = {0};
    o.vocab_size = p->vocab_size;
    o.min_frequency = p->min_frequency;
    o.max_piece_chars = p->max_piece_length;
    o.prefix = "##";
    o.progress = p->progress;
    if (tok_bpe_train(st, b, &o, d)) return -1;
    /* [CLS] text [SEP] */
    const char *cls = special_of(p, "cls"), *sep = special_of(p, "sep");
    if (!cls && !p->n_specials) cls = "[CLS]";
    if (!sep && !p->n_specials) sep = "[SEP]";
    if (cls && sep) {
        int64_t ic = llmc_tok_builder_find_piece(b, cls, strlen(cls)), is = llmc_tok_builder_find_piece(b, sep, strlen(sep));
        char a[300], c[300], json[800];
        if (json_string_of(a, sizeof a, cls, d) || json_string_of(c, sizeof c, sep, d)) return -1;
        snprintf(json, sizeof json, "{\"type\":\"BertProcessing\",\"sep\":[%s,%lld],\"cls\":[%s,%lld]}", c, (long long)is,
                 a, (long long)ic);
        if (ic >= 0 && is >= 0 && llmc_tok_builder_set(b, "post_processor", json, d)) return -1;
    }
    return 0;
}

static const llmc_tokenizer_vtable vtable = {sizeof(llmc_tokenizer_vtable), prepare, train};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TOKENIZER, "wordpiece", "1.0.0", "BERT WordPiece, trained as HF's WordPieceTrainer", &vtable},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
