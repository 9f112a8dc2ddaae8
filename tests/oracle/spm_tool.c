/* Test driver for the SentencePiece code in libllmc, used by tests/python/test_tok_unigram.py to
 * compare llmc with sentencepiece line by line.
 *
 *   spm_tool encode MODEL      stdin lines -> one line of comma-separated ids per line
 *   spm_tool decode MODEL      stdin lines of comma-separated ids -> one decoded line each
 *   spm_tool normalize MODEL   stdin lines -> the normalized line (U+2581 for spaces)
 *   spm_tool roundtrip MODEL OUT   parse MODEL and serialize it again to OUT
 *   spm_tool tojson MODEL          print the equivalent tokenizer.json (llmc_tok_spm_read)
 *   spm_tool fromjson JSON OUT     write tokenizer.model for a tokenizer.json (llmc_tok_spm_write)
 *   spm_tool unigram JSON          stdin lines are pre-tokens: ids from the JSON's Unigram model
 *                                  alone (llmc_tok_unigram, the HF flavor)
 *
 * Lines are split on '\n' only, so a line may carry '\r', tabs and any other byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_model.h"
#include "tok_spm.h"
#include "tok_spm_model.h"
#include "tok_unigram.h"

static int usage(void) {
    fprintf(stderr, "usage: spm_tool encode|decode|normalize MODEL < input\n       spm_tool roundtrip|fromjson MODEL OUT\n       spm_tool tojson MODEL\n       spm_tool unigram JSON < pre-tokens\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    const char *cmd = argv[1], *path = argv[2];
    llmc_diags *d = llmc_diags_create();
    if (strcmp(cmd, "roundtrip") == 0) {
        if (argc != 4) return usage();
        llmc_spm_proto m;
        if (!llmc_spm_proto_read_file(&m, path, d)) {
            llmc_diags_print(d, stderr);
            return 1;
        }
        uint8_t *buf;
        size_t len;
        if (!llmc_spm_proto_serialize(&m, &buf, &len)) return 1;
        FILE *f = fopen(argv[3], "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "%s: %s\n", argv[3], strerror(errno));
            return 4;
        }
        free(buf);
        llmc_spm_proto_free(&m);
        llmc_diags_free(d);
        return 0;
    }
    if (strcmp(cmd, "tojson") == 0) {
        json_t *doc = llmc_tok_spm_read(path, d);
        llmc_diags_print(d, stderr);
        if (!doc) return 1;
        json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
        putchar('\n');
        json_decref(doc);
        llmc_diags_free(d);
        return 0;
    }
    if (strcmp(cmd, "fromjson") == 0) {
        if (argc != 4) return usage();
        json_error_t err;
        json_t *doc = json_load_file(path, 0, &err);
        if (!doc) {
            fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
            return 1;
        }
        int rc = llmc_tok_spm_write(doc, argv[3], d);
        llmc_diags_print(d, stderr);
        json_decref(doc);
        llmc_diags_free(d);
        return rc ? 1 : 0;
    }
    if (strcmp(cmd, "unigram") == 0) {
        json_error_t err;
        json_t *doc = json_load_file(path, 0, &err);
        const json_t *model = json_object_get(doc, "model"), *vocab = json_object_get(model, "vocab");
        size_t n = json_array_size(vocab);
        llmc_tok_piece *pieces = calloc(n ? n : 1, sizeof *pieces);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(vocab, i);
            pieces[i] = (llmc_tok_piece){json_string_value(json_array_get(e, 0)),
                                         (uint32_t)json_string_length(json_array_get(e, 0)),
                                         json_number_value(json_array_get(e, 1))};
        }
        const json_t *unk = json_object_get(model, "unk_id");
        llmc_tok_unigram *u = llmc_tok_unigram_create(pieces, n, json_is_integer(unk) ? json_integer_value(unk) : -1,
                                                      json_is_true(json_object_get(model, "byte_fallback")), d);
        llmc_diags_print(d, stderr);
        if (!u) return 1;
        llmc_tok_ids ids = {0};
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        while ((got = getline(&line, &cap, stdin)) >= 0) {
            size_t len = (size_t)got;
            if (len && line[len - 1] == '\n') len--;
            ids.n = 0;
            int rc = llmc_tok_unigram_encode(u, line, len, &ids);
            if (rc == -2) printf("ERR");
            for (size_t i = 0; i < ids.n; i++) printf("%s%u", i ? "," : "", ids.ids[i]);
            putchar('\n');
        }
        free(line);
        free(ids.ids);
        llmc_tok_unigram_free(u);
        free(pieces);
        json_decref(doc);
        llmc_diags_free(d);
        return 0;
    }
    llmc_spm_tokenizer *t = llmc_spm_tokenizer_load(path, d);
    llmc_diags_print(d, stderr);
    if (!t) return 1;
    llmc_spm_work *w = llmc_spm_work_create();
    llmc_tok_ids ids = {0};
    llmc_tok_bytes bytes = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        size_t n = (size_t)got;
        if (n && line[n - 1] == '\n') n--;
        if (strcmp(cmd, "encode") == 0) {
            ids.n = 0;
            if (!llmc_spm_tokenizer_encode(t, w, line, n, &ids)) { rc = 1; break; }
            for (size_t i = 0; i < ids.n; i++) printf("%s%u", i ? "," : "", ids.ids[i]);
            putchar('\n');
        } else if (strcmp(cmd, "normalize") == 0) {
            if (!llmc_spm_tokenizer_normalize(t, w, line, n, &bytes)) { rc = 1; break; }
            fwrite(bytes.p, 1, bytes.n, stdout);
            putchar('\n');
        } else if (strcmp(cmd, "decode") == 0) {
            ids.n = 0;
            line[n] = '\0';
            for (char *p = line; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p) break;
                llmc_tokbuf_ids_put(&ids, (uint32_t)v);
                p = *end == ',' ? end + 1 : end;
            }
            if (!llmc_spm_tokenizer_decode(t, ids.ids, ids.n, &bytes, d)) {
                llmc_diags_print(d, stderr);
                rc = 1;
                break;
            }
            fwrite(bytes.p, 1, bytes.n, stdout);
            putchar('\n');
        } else {
            rc = usage();
            break;
        }
    }
    free(line);
    free(ids.ids);
    llmc_tok_bytes_free(&bytes);
    llmc_spm_work_free(w);
    llmc_spm_tokenizer_free(t);
    llmc_diags_free(d);
    return rc;
}
