/* libFuzzer target for the SentencePiece side: the ModelProto reader, the model checks, the
 * encoders and the precompiled-charsmap normalizer, on untrusted bytes.
 *
 * The input is parsed as a tokenizer.model (from a copy, so ASan sees reads past its end). A
 * parse that succeeds must serialize and parse again to the same bytes; a model that passes
 * the checks is loaded and encodes and decodes a few texts (and the input itself as text).
 * A refusal must say why. The input is also tried as a precompiled charsmap blob. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok_charsmap.h"
#include "tok_spm.h"
#include "tok_spm_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const texts[] = {
    "", " ", "Hello  world", "  leading and trailing  ", "caf\xc3\xa9 \xd0\xb6\xd0\xb8\xd0\xb7\xd0\xbd\xd1\x8c",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", "tab\there\nnew line",
    "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd e\xcc\x81", "\xff\xfe bad utf-8 \xc3", "\xe2\x96\x81\xe2\x96\x81x 123",
};

static void exercise_model(llmc_spm_proto *m, const uint8_t *data, size_t size) {
    llmc_diags *d = llmc_diags_create();
    llmc_spm_tokenizer *t = llmc_spm_tokenizer_create(m, "fuzz.model", d);
    if (!t) {
        if (llmc_diags_errors(d) == 0) abort(); /* refused without a reason */
        llmc_diags_free(d);
        return;
    }
    llmc_spm_work *w = llmc_spm_work_create();
    llmc_tok_ids ids = {0};
    llmc_tok_bytes out = {0};
    size_t vocab = llmc_spm_tokenizer_size(t);
    for (size_t i = 0; i <= sizeof texts / sizeof texts[0]; i++) {
        const char *s = i < sizeof texts / sizeof texts[0] ? texts[i] : (const char *)data;
        size_t n = i < sizeof texts / sizeof texts[0] ? strlen(s) : (size < 512 ? size : 512);
        ids.n = 0;
        if (!llmc_spm_tokenizer_encode(t, w, s, n, &ids)) continue; /* out of memory */
        for (size_t k = 0; k < ids.n; k++)
            if (ids.ids[k] >= vocab) abort(); /* an id outside the vocabulary */
        llmc_diags *dd = llmc_diags_create();
        if (!llmc_spm_tokenizer_decode(t, ids.ids, ids.n, &out, dd) && llmc_diags_errors(dd) == 0) abort();
        llmc_diags_free(dd);
    }
    free(ids.ids);
    llmc_tok_bytes_free(&out);
    llmc_spm_work_free(w);
    llmc_spm_tokenizer_free(t);
    llmc_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    llmc_diags *d = llmc_diags_create();
    llmc_spm_proto m;
    if (llmc_spm_proto_parse(&m, copy, size, "fuzz.model", d)) {
        if (llmc_diags_errors(d) != 0) abort();
        uint8_t *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        /* (a model of unknown fields only writes as zero bytes, which the reader refuses as empty) */
        if (llmc_spm_proto_serialize(&m, &a, &alen) && alen > 0) {
            llmc_spm_proto r;
            if (!llmc_spm_proto_parse(&r, a, alen, "again.model", d)) abort(); /* our own output must read */
            if (!llmc_spm_proto_serialize(&r, &b, &blen)) abort();
            if (alen != blen || memcmp(a, b, alen) != 0) abort(); /* and write back identically */
            llmc_spm_proto_free(&r);
        }
        free(a);
        free(b);
        exercise_model(&m, copy, size);
        llmc_spm_proto_free(&m);
    } else if (llmc_diags_errors(d) == 0) {
        abort(); /* refused without a reason */
    }
    llmc_diags_clear(d);

    llmc_charsmap *cm = llmc_charsmap_create(copy, size, "fuzz.charsmap", "precompiled_charsmap", d);
    if (cm) {
        llmc_spm_normalizer_params p = llmc_spm_normalizer_default_params();
        p.charsmap = cm;
        llmc_spm_normalizer *nm = llmc_spm_normalizer_create(&p);
        llmc_tok_bytes out = {0};
        for (size_t i = 0; nm && i < sizeof texts / sizeof texts[0]; i++) {
            const char *r;
            size_t rl;
            (void)llmc_charsmap_first(cm, texts[i], strlen(texts[i]), &r, &rl);
            (void)llmc_spm_normalize(nm, texts[i], strlen(texts[i]), &out);
        }
        llmc_tok_bytes_free(&out);
        llmc_spm_normalizer_free(nm);
        llmc_charsmap_free(cm);
    } else if (llmc_diags_errors(d) == 0) {
        abort();
    }
    llmc_diags_free(d);
    free(copy);
    return 0;
}
