/* llmc tokenizer train: options -> llmc_tok_train with the tokenizer plugin named by --type. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "registry.h"
#include "tok_train.h"
#include "util.h"

static int usage(const char *fmt, const char *arg) {
    fprintf(stderr, "llmc tokenizer train: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    cli_command_usage(stderr, cli_find_command("tokenizer"));
    return LLMC_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-') return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

int cmd_tokenizer(const cli_globals *g, int argc, char **argv) {
    if (argc == 0 || strcmp(argv[0], "train")) {
        if (argc && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
            cli_command_usage(stdout, cli_find_command("tokenizer"));
            return 0;
        }
        return usage("%s", argc ? "unknown subcommand (expected 'train')" : "expected 'train'");
    }
    llmc_tok_train_params p;
    llmc_tok_train_default_params(&p);
    llmc_tok_corpus_params cp;
    llmc_tok_corpus_default_params(&cp);
    const char *out = NULL;
    bool force = false, have_vocab = false;
    int byte_fallback = -1;
    const char *normalization = NULL;
    llmc_tok_special *specials = calloc((size_t)argc + 1, sizeof *specials);
    const char **options = calloc((size_t)argc + 1, sizeof *options);
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    char **owned = calloc((size_t)argc + 1, sizeof *owned);
    size_t n_owned = 0;
    if (!specials || !options || !paths || !owned) {
        free(specials);
        free(options);
        free(paths);
        free(owned);
        return LLMC_EXIT_IO;
    }
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *v = NULL;
        /* --name VALUE or --name=VALUE */
        static const char *const with_value[] = {"--type", "--vocab-size", "--pre-tokenizer", "--special",
                                                 "--threads", "--text-field", "-o", "--output", "--min-frequency",
                                                 "--max-piece-length", "--character-coverage", "--option",
                                                 "--invalid-utf8", "--max-words", "--normalization"};
        const char *name = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) {
            size_t n = strlen(with_value[k]);
            if (!strcmp(a, with_value[k])) {
                name = with_value[k];
                if (i + 1 >= argc) {
                    rc = usage("%s needs a value", a);
                    break;
                }
                v = argv[++i];
            } else if (!strncmp(a, with_value[k], n) && a[n] == '=') {
                name = with_value[k];
                v = a + n + 1;
            }
            if (name) break;
        }
        if (rc) break;
        uint64_t x = 0;
        if (!name) {
            if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                cli_command_usage(stdout, cli_find_command("tokenizer"));
                rc = -1;
            } else if (!strcmp(a, "--force")) force = true;
            else if (!strcmp(a, "--byte-fallback")) byte_fallback = 1;
            else if (!strcmp(a, "--no-byte-fallback")) byte_fallback = 0;
            else if (a[0] == '-' && a[1]) rc = usage("unknown option '%s'", a);
            else paths[cp.n_paths++] = a;
        } else if (!strcmp(name, "--type")) p.type = v;
        else if (!strcmp(name, "--vocab-size")) {
            if (!parse_u64(v, 1u << 24, &x) || x == 0) rc = usage("--vocab-size: expected 1..16777216, got '%s'", v);
            p.vocab_size = (uint32_t)x;
            have_vocab = true;
        } else if (!strcmp(name, "--pre-tokenizer")) p.pre_tokenizer = v;
        else if (!strcmp(name, "--special")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) rc = usage("--special: expected NAME=TOKEN, got '%s'", v);
            else {
                char *nm = llmc_strndup(v, (size_t)(eq - v));
                owned[n_owned++] = nm;
                specials[p.n_specials++] = (llmc_tok_special){nm, eq + 1};
            }
        } else if (!strcmp(name, "--threads")) {
            if (!parse_u64(v, 256, &x) || x == 0) rc = usage("--threads: expected 1..256, got '%s'", v);
            p.threads = cp.threads = (int)x;
        } else if (!strcmp(name, "--text-field")) cp.text_field = v;
        else if (!strcmp(name, "-o") || !strcmp(name, "--output")) out = v;
        else if (!strcmp(name, "--min-frequency")) {
            if (!parse_u64(v, UINT64_MAX, &x)) rc = usage("--min-frequency: expected a count, got '%s'", v);
            p.min_frequency = x;
        } else if (!strcmp(name, "--max-piece-length")) {
            if (!parse_u64(v, 1u << 16, &x) || x == 0) rc = usage("--max-piece-length: expected 1..65536, got '%s'", v);
            p.max_piece_length = (uint32_t)x;
        } else if (!strcmp(name, "--character-coverage")) {
            char *end;
            double c = strtod(v, &end);
            if (*end || !(c > 0 && c <= 1)) rc = usage("--character-coverage: expected a number in (0, 1], got '%s'", v);
            p.character_coverage = c;
        } else if (!strcmp(name, "--option")) {
            if (!strchr(v, '=')) rc = usage("--option: expected KEY=VALUE, got '%s'", v);
            options[p.n_options++] = v;
        } else if (!strcmp(name, "--max-words")) {
            if (!parse_u64(v, SIZE_MAX / 2, &x) || x < 2) rc = usage("--max-words: expected a count >= 2, got '%s'", v);
            cp.max_words = (size_t)x;
        } else if (!strcmp(name, "--normalization")) {
            if (!llmc_tok_normalization_known(v))
                rc = usage("--normalization: expected none, nfc, nfd, nfkc, nmt_nfkc, nfkd, lowercase or nfkc_lowercase, "
                           "got '%s'", v);
            normalization = v;
        } else if (!strcmp(name, "--invalid-utf8")) {
            if (!strcmp(v, "error")) cp.invalid_utf8 = LLMC_INVALID_UTF8_ERROR;
            else if (!strcmp(v, "replace")) cp.invalid_utf8 = LLMC_INVALID_UTF8_REPLACE;
            else rc = usage("--invalid-utf8: expected error or replace, got '%s'", v);
        }
    }
    if (!rc && !p.type) rc = usage("%s", "--type is required (bpe, unigram, wordpiece, char, byte)");
    /* a tokenizer.model carries NFKC only (sentencepiece's precompiled character map) */
    if (!rc && normalization && !llmc_tok_normalization_spm_ok(normalization) &&
        (!strcmp(p.type, "unigram") || (p.pre_tokenizer && !strcmp(p.pre_tokenizer, "metaspace"))))
        rc = usage("--normalization %s cannot be written into the tokenizer.model of a unigram or metaspace BPE "
                   "tokenizer (expected none, nfkc or nmt_nfkc with them)", normalization);
    p.normalizer = llmc_tok_normalization_json(normalization);
    if (!rc && !have_vocab) rc = usage("%s", "--vocab-size is required");
    if (!rc && !out) rc = usage("%s", "-o DIR is required");
    if (!rc && !cp.n_paths) rc = usage("%s", "no corpus given (files, or - for stdin)");
    if (rc) {
        for (size_t i = 0; i < n_owned; i++) free(owned[i]);
        free(owned);
        free(specials);
        free(options);
        free(paths);
        return rc < 0 ? 0 : rc;
    }
    p.specials = specials;
    p.options = options;
    p.byte_fallback = byte_fallback == 1;
    if (byte_fallback < 0) p.options = options; /* the plugin's default */
    cp.paths = paths;
    p.progress = cp.progress = isatty(2);

    llmc_diags *d = llmc_diags_create();
    llmc_host h;
    rc = cli_load_host(g, &h, d);
    const llmc_plugin *pl = NULL;
    if (!rc) pl = llmc_registry_require(h.registry, LLMC_PLUGIN_TOKENIZER, p.type, d);
    if (!rc && !pl) rc = LLMC_EXIT_PLUGIN;
    if (!rc) {
        /* --byte-fallback / --no-byte-fallback reach plugins as the option byte_fallback=... too,
         * so a plugin can tell "not given" from "off" */
        if (byte_fallback >= 0) options[p.n_options++] = byte_fallback ? "byte_fallback=true" : "byte_fallback=false";
        llmc_tok_train_report rep;
        rc = llmc_tok_train(pl->vtable, p.type, &p, &cp, out, force, &rep, d);
        if (!rc) {
            char b1[32], b2[32], b3[32];
            fprintf(stderr, "llmc: trained '%s': %u ids from %s documents (%s bytes, %s distinct words) in %.1f s -> %s\n",
                    p.type, rep.vocab_size, llmc_fmt_count(rep.documents, b1, sizeof b1),
                    llmc_fmt_count(rep.bytes, b2, sizeof b2), llmc_fmt_count(rep.unique_words, b3, sizeof b3),
                    rep.total_ms / 1000.0, out);
        }
    }
    cli_print_diags(d);
    llmc_diags_free(d);
    if (h.registry || h.config) cli_free_host(&h);
    for (size_t i = 0; i < n_owned; i++) free(owned[i]);
    free(owned);
    free(specials);
    free(options);
    free(paths);
    return rc;
}
