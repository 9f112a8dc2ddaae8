/* llmc tokenize / llmc detokenize: text <-> ids with a tokenizer directory or file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "llmc/tokenizer.h"
#include "tok_corpus.h"
#include "tok_unicode.h"
#include "util.h"

static int usage(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "llmc %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    cli_command_usage(stderr, cli_find_command(cmd));
    return LLMC_EXIT_USAGE;
}

/* read all of a stream */
static char *read_stream(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    if (!p) return NULL;
    for (;;) {
        if (n == cap) {
            char *q = cap > SIZE_MAX / 2 ? NULL : realloc(p, cap * 2);
            if (!q) {
                free(p);
                return NULL;
            }
            p = q;
            cap *= 2;
        }
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

static int print_ids(const llmc_tok_ids *ids, size_t from) {
    for (size_t i = from; i < ids->n; i++) printf(i > from ? ",%u" : "%u", ids->ids[i]);
    putchar('\n');
    return ferror(stdout) ? -1 : 0;
}

int cmd_tokenize(const cli_globals *g, int argc, char **argv) {
    (void)g;
    const char *dir = NULL, *text = NULL, *file = NULL, *out = NULL, *text_field = NULL, *separator = NULL;
    bool no_special = false, whole = false, force = false, json_lines = false, add_bos = false;
    int threads = 1;
    const char **corpus = calloc((size_t)argc + 1, sizeof *corpus);
    size_t n_corpus = 0;
    bool corpus_mode = false;
    if (!corpus) return LLMC_EXIT_IO;
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define OPT(name) (!strcmp(a, name) ? (i + 1 < argc ? (val = argv[++i]) : NULL) : (!strncmp(a, name "=", sizeof name) ? (val = a + sizeof name) : NULL))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_command_usage(stdout, cli_find_command("tokenize"));
            free(corpus);
            return 0;
        } else if (!strcmp(a, "--no-special")) no_special = true;
        else if (!strcmp(a, "--json")) json_lines = true;
        else if (!strcmp(a, "--whole")) whole = true;
        else if (!strcmp(a, "--force")) force = true;
        else if (!strcmp(a, "--bos")) add_bos = true;
        else if (!strcmp(a, "--corpus")) corpus_mode = true;
        else if (!strcmp(a, "--file") || !strncmp(a, "--file=", 7)) {
            if (!OPT("--file")) { rc = usage("tokenize", "%s needs a value", "--file"); break; }
            file = val;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strncmp(a, "--output=", 9)) {
            if (!strcmp(a, "-o")) {
                if (i + 1 >= argc) { rc = usage("tokenize", "%s needs a value", "-o"); break; }
                out = argv[++i];
            } else if (!OPT("--output")) { rc = usage("tokenize", "%s needs a value", "--output"); break; }
            else out = val;
        } else if (!strcmp(a, "--text-field") || !strncmp(a, "--text-field=", 13)) {
            if (!OPT("--text-field")) { rc = usage("tokenize", "%s needs a value", "--text-field"); break; }
            text_field = val;
        } else if (!strcmp(a, "--separator") || !strncmp(a, "--separator=", 12)) {
            if (!OPT("--separator")) { rc = usage("tokenize", "%s needs a value", "--separator"); break; }
            separator = val;
        } else if (!strcmp(a, "--threads") || !strncmp(a, "--threads=", 10)) {
            if (!OPT("--threads")) { rc = usage("tokenize", "%s needs a value", "--threads"); break; }
            char *end;
            long v = strtol(val, &end, 10);
            if (*end || v < 1 || v > 256) { rc = usage("tokenize", "--threads: expected 1..256, got '%s'", val); break; }
            threads = (int)v;
        } else if (a[0] == '-' && a[1] && strcmp(a, "-")) {
            rc = usage("tokenize", "unknown option '%s'", a);
            break;
        } else if (!dir) dir = a;
        else if (corpus_mode) corpus[n_corpus++] = a;
        else if (!text) text = a;
        else { rc = usage("tokenize", "unexpected argument '%s'", a); break; }
#undef OPT
    }
    if (!rc && !dir) rc = usage("tokenize", "%s", "no tokenizer given (a directory, tokenizer.json or tokenizer.model)");
    if (!rc && corpus_mode && (!n_corpus || !out))
        rc = usage("tokenize", "%s", "--corpus needs corpus files and -o OUT.bin");
    if (!rc && !corpus_mode && (out || text_field || separator || add_bos))
        rc = usage("tokenize", "%s", "-o, --text-field, --separator and --bos go with --corpus");
    if (!rc && text && file) rc = usage("tokenize", "%s", "give TEXT or --file, not both");
    if (!rc && json_lines && whole) rc = usage("tokenize", "%s", "--json and --whole do not go together");
    if (rc) {
        free(corpus);
        return rc;
    }
    llmc_diags *d = llmc_diags_create();
    llmc_tokenizer *t = llmc_tokenizer_load(dir, d);
    if (!t) {
        cli_print_diags(d);
        llmc_diags_free(d);
        free(corpus);
        return LLMC_EXIT_SPEC;
    }
    if (corpus_mode) {
        llmc_tok_corpus_params cp;
        llmc_tok_corpus_default_params(&cp);
        cp.paths = corpus;
        cp.n_paths = n_corpus;
        cp.text_field = text_field;
        cp.threads = threads;
        rc = llmc_tok_encode_corpus(t, &cp, out, separator, !no_special, add_bos, force, d);
        cli_print_diags(d);
        llmc_tokenizer_free(t);
        llmc_diags_free(d);
        free(corpus);
        return rc;
    }
    free(corpus);
    size_t len = 0;
    char *buf = NULL;
    if (text) {
        len = strlen(text);
        buf = llmc_strndup(text, len);
    } else if (file) {
        buf = llmc_read_file(file, SIZE_MAX / 2, &len);
        if (!buf) {
            llmc_error(d, NULL, "%s: cannot read: %s", file, strerror(errno));
            cli_print_diags(d);
            llmc_tokenizer_free(t);
            llmc_diags_free(d);
            return LLMC_EXIT_IO;
        }
    } else {
        buf = read_stream(stdin, &len);
        if (!buf) {
            llmc_error(d, NULL, "cannot read the standard input: %s", strerror(errno));
            cli_print_diags(d);
            llmc_tokenizer_free(t);
            llmc_diags_free(d);
            return LLMC_EXIT_IO;
        }
    }
    llmc_tok_ids ids = {0};
    rc = 0;
    if (buf && !json_lines && !llmc_tokenizer_lossless(t)) {
        /* the encoder reads each invalid byte as U+FFFD (docs/tokenizers.md): say so, and where */
        size_t ok = llmc_utf8_valid_prefix(buf, len);
        if (ok < len)
            llmc_warning(d, NULL, "%s: byte %zu: invalid UTF-8 (0x%02X) read as U+FFFD, as every invalid byte: this "
                         "tokenizer is neither byte-level nor byte-fallback, so it cannot represent it",
                         file ? file : text ? "TEXT" : "<stdin>", ok, (unsigned char)buf[ok]);
    }
    if (!buf) rc = LLMC_EXIT_IO;
    else if (whole) {
        if (llmc_tokenizer_encode(t, buf, len, !no_special, &ids, d)) rc = LLMC_EXIT_IO;
        else if (print_ids(&ids, 0)) rc = LLMC_EXIT_IO;
    } else {
        size_t start = 0, line = 0;
        while (start < len && !rc) {
            const char *nl = memchr(buf + start, '\n', len - start);
            size_t end = nl ? (size_t)(nl - buf) : len;
            const char *s = buf + start;
            size_t n = end - start;
            json_t *j = NULL;
            line++;
            if (json_lines) {
                /* each line is a JSON string: any text, newlines included */
                json_error_t e;
                j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
                if (!json_is_string(j)) {
                    llmc_loc loc = {file ? file : text ? "TEXT" : "<stdin>", (int)line, e.column > 0 ? e.column : 1};
                    llmc_diag_add(d, LLMC_SEV_ERROR, loc, "--json", "expected a JSON string per line%s%s",
                                  j ? "" : ": ", j ? "" : e.text);
                    json_decref(j);
                    rc = LLMC_EXIT_USAGE;
                    break;
                }
                s = json_string_value(j);
                n = json_string_length(j);
            }
            ids.n = 0;
            if (llmc_tokenizer_encode(t, s, n, !no_special, &ids, d)) rc = LLMC_EXIT_SPEC;
            else if (print_ids(&ids, 0)) rc = LLMC_EXIT_IO;
            json_decref(j);
            start = end + 1;
        }
    }
    if (fflush(stdout) != 0 && !rc) {
        llmc_error(d, NULL, "cannot write the standard output: %s", strerror(errno));
        rc = LLMC_EXIT_IO;
    }
    free(buf);
    llmc_tok_ids_free(&ids);
    cli_print_diags(d);
    llmc_tokenizer_free(t);
    llmc_diags_free(d);
    return rc;
}

/* "1,2,3" or "1 2 3" */
static int parse_ids(const char *s, llmc_tok_ids *ids, llmc_diags *d) {
    ids->n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        if (*p < '0' || *p > '9') {
            llmc_error(d, "IDS", "expected non-negative integers separated by ',' or spaces, got '%.20s'", p);
            return -1;
        }
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v > UINT32_MAX) {
            llmc_error(d, "IDS", "id '%.*s' out of range", (int)(end - p), p);
            return -1;
        }
        if (llmc_tok_ids_push(ids, (uint32_t)v)) {
            llmc_error(d, NULL, "out of memory");
            return -1;
        }
        p = end;
        if (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\r') {
            llmc_error(d, "IDS", "expected ',' or a space after an id, got '%c'", *p);
            return -1;
        }
    }
    return 0;
}

int cmd_detokenize(const cli_globals *g, int argc, char **argv) {
    (void)g;
    const char *dir = NULL, *ids_arg = NULL;
    bool skip = false, bytes = false, json_out = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_command_usage(stdout, cli_find_command("detokenize"));
            return 0;
        } else if (!strcmp(a, "--skip-special")) skip = true;
        else if (!strcmp(a, "--bytes")) bytes = true;
        else if (!strcmp(a, "--json")) json_out = true;
        else if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) return usage("detokenize", "unknown option '%s'", a);
        else if (!dir) dir = a;
        else if (!ids_arg) ids_arg = a;
        else return usage("detokenize", "unexpected argument '%s'", a);
    }
    if (!dir) return usage("detokenize", "%s", "no tokenizer given (a directory, tokenizer.json or tokenizer.model)");
    llmc_diags *d = llmc_diags_create();
    llmc_tokenizer *t = llmc_tokenizer_load(dir, d);
    if (!t) {
        cli_print_diags(d);
        llmc_diags_free(d);
        return LLMC_EXIT_SPEC;
    }
    int rc = 0;
    llmc_tok_ids ids = {0};
    char *in = NULL;
    size_t in_len = 0;
    if (!ids_arg) {
        in = read_stream(stdin, &in_len);
        if (!in) {
            llmc_error(d, NULL, "cannot read the standard input: %s", strerror(errno));
            rc = LLMC_EXIT_IO;
        }
    }
    /* IDS: one list; from stdin: one list per line, one text per line */
    size_t start = 0;
    while (!rc) {
        char *line;
        if (ids_arg) {
            line = llmc_strdup(ids_arg);
        } else {
            if (start >= in_len) break;
            const char *nl = memchr(in + start, '\n', in_len - start);
            size_t end = nl ? (size_t)(nl - in) : in_len;
            line = llmc_strndup(in + start, end - start);
            start = end + 1;
        }
        if (!line) {
            rc = LLMC_EXIT_IO;
            break;
        }
        char *text = NULL;
        size_t len = 0;
        if (parse_ids(line, &ids, d)) rc = LLMC_EXIT_USAGE;
        else if ((bytes ? llmc_tokenizer_decode_bytes : llmc_tokenizer_decode)(t, ids.ids, ids.n, skip, &text, &len, d))
            rc = LLMC_EXIT_SPEC;
        else if (json_out) {
            /* a JSON string per line (invalid UTF-8, from --bytes, cannot be JSON: an error) */
            json_t *j = json_stringn(text, len);
            char *js = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
            if (!js) {
                llmc_error(d, "--json", "the decoded text is not valid UTF-8 (drop --bytes or --json)");
                rc = LLMC_EXIT_SPEC;
            } else {
                puts(js);
            }
            free(js);
            json_decref(j);
        } else {
            fwrite(text, 1, len, stdout);
            putchar('\n');
        }
        free(text);
        free(line);
        if (ids_arg) break;
    }
    if (fflush(stdout) != 0 && !rc) {
        llmc_error(d, NULL, "cannot write the standard output: %s", strerror(errno));
        rc = LLMC_EXIT_IO;
    }
    free(in);
    llmc_tok_ids_free(&ids);
    cli_print_diags(d);
    llmc_tokenizer_free(t);
    llmc_diags_free(d);
    return rc;
}
