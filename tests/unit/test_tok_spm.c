/* SentencePiece code in libllmc: the ModelProto reader's refusals (truncated input, bad varints,
 * lengths past the end, wrong wire types, groups, bad enum values), skipping of unknown fields,
 * the write -> read -> write round trip, the model checks, a hand-built precompiled charsmap, the
 * NFKC charsmap llmc builds (every code point against llmc's NFKC),
 * and the Unigram / BPE encoders on small vocabularies with known answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_charsmap.h"
#include "tok_internal.h"
#include "tok_spm.h"
#include "tok_spm_bpe.h"
#include "tok_spm_model.h"
#include "tok_unicode.h"
#include "tok_unigram.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

/* the formatted first error of d, or "" */
static const char *first_error(const llmc_diags *d, char *buf, size_t n) {
    buf[0] = '\0';
    for (size_t i = 0; i < llmc_diags_size(d); i++) {
        const llmc_diag *g = llmc_diags_get(d, i);
        if (g->severity == LLMC_SEV_ERROR) {
            llmc_diag_format(g, buf, n);
            break;
        }
    }
    return buf;
}

/* parse bytes; expect a failure whose message contains every needle */
static void expect_refusal(const uint8_t *data, size_t len, const char *needle1, const char *needle2) {
    llmc_diags *d = llmc_diags_create();
    llmc_spm_proto m;
    bool ok = llmc_spm_proto_parse(&m, data, len, "t.model", d);
    char buf[512];
    first_error(d, buf, sizeof buf);
    if (ok || !strstr(buf, needle1) || (needle2 && !strstr(buf, needle2)))
        fail_msg("expected a refusal mentioning '%s'%s%s, got %s: %s", needle1, needle2 ? " and " : "",
                 needle2 ? needle2 : "", ok ? "success" : "error", buf);
    assert_int_equal(m.n_pieces, 0); /* left empty */
    llmc_spm_proto_free(&m);
    llmc_diags_free(d);
}

/* A small but complete model: <unk> <s> </s>, some pieces, every kind of trainer field. */
static void build_model(llmc_spm_proto *m) {
    llmc_spm_proto_init(m);
    assert_true(llmc_spm_proto_add_piece(m, "<unk>", 5, 0.0f, LLMC_SPM_UNKNOWN) == 0);
    assert_true(llmc_spm_proto_add_piece(m, "<s>", 3, 0.0f, LLMC_SPM_CONTROL) == 1);
    assert_true(llmc_spm_proto_add_piece(m, "</s>", 4, 0.0f, LLMC_SPM_CONTROL) == 2);
    static const char *const pieces[] = {"\xe2\x96\x81", "a", "b", "c", "\xe2\x96\x81" "ab", "bc", "\xd0\xb6"};
    for (int i = 0; i < 7; i++)
        assert_true(llmc_spm_proto_add_piece(m, pieces[i], strlen(pieces[i]), -1.5f - (float)i, LLMC_SPM_NORMAL) >= 0);
    llmc_spm_trainer_spec *ts = &m->trainer_spec;
    m->has |= LLMC_SPM_HAS_TRAINER_SPEC | LLMC_SPM_HAS_NORMALIZER_SPEC;
    ts->vocab_size = 10;
    ts->pad_id = -1; /* a negative int32: ten bytes on the wire */
    ts->character_coverage = 0.9995f;
    ts->input_sentence_size = UINT64_C(1) << 40;
    ts->split_digits = true;
    ts->has |= LLMC_SPM_TS_BIT(LLMC_SPM_TS_VOCAB_SIZE) | LLMC_SPM_TS_BIT(LLMC_SPM_TS_PAD_ID) |
               LLMC_SPM_TS_BIT(LLMC_SPM_TS_CHARACTER_COVERAGE) | LLMC_SPM_TS_BIT(LLMC_SPM_TS_INPUT_SENTENCE_SIZE) |
               LLMC_SPM_TS_BIT(LLMC_SPM_TS_SPLIT_DIGITS);
    assert_true(llmc_spm_strs_push(&ts->input, "a.txt", 5));
    assert_true(llmc_spm_strs_push(&ts->input, "b.txt", 5));
    assert_true(llmc_spm_str_set(&ts->unk_surface, "??", 2));
    ts->has |= LLMC_SPM_TS_BIT(LLMC_SPM_TS_UNK_SURFACE);
    llmc_spm_normalizer_spec *ns = &m->normalizer_spec;
    assert_true(llmc_spm_str_set(&ns->name, "identity", 8));
    assert_true(llmc_spm_str_set(&ns->precompiled_charsmap, "\0\1\2", 3)); /* bytes with NULs */
    ns->add_dummy_prefix = false;
    ns->has |= LLMC_SPM_NS_NAME | LLMC_SPM_NS_PRECOMPILED_CHARSMAP | LLMC_SPM_NS_ADD_DUMMY_PREFIX;
}

static void serialize(const llmc_spm_proto *m, uint8_t **buf, size_t *len) {
    assert_true(llmc_spm_proto_serialize(m, buf, len));
    assert_non_null(*buf);
}

/* ---- the wire format ----------------------------------------------------------------------------- */

static void test_round_trip(void **state) {
    (void)state;
    llmc_spm_proto m;
    build_model(&m);
    uint8_t *a;
    size_t alen;
    serialize(&m, &a, &alen);
    llmc_diags *d = llmc_diags_create();
    llmc_spm_proto r;
    assert_true(llmc_spm_proto_parse(&r, a, alen, "t.model", d));
    assert_int_equal(llmc_diags_size(d), 0);
    assert_int_equal(r.n_pieces, 10);
    assert_string_equal(r.pieces[0].piece.data, "<unk>");
    assert_int_equal(r.pieces[0].type, LLMC_SPM_UNKNOWN);
    assert_int_equal(r.pieces[5].type, LLMC_SPM_NORMAL);
    assert_false(r.pieces[5].has & LLMC_SPM_PIECE_HAS_TYPE); /* NORMAL is not written, as sentencepiece does */
    assert_true(r.pieces[9].score == -7.5f);
    assert_string_equal(r.pieces[9].piece.data, "\xd0\xb6");
    assert_int_equal(r.trainer_spec.vocab_size, 10);
    assert_int_equal(r.trainer_spec.pad_id, -1);
    assert_true(r.trainer_spec.character_coverage == 0.9995f);
    assert_true(r.trainer_spec.input_sentence_size == UINT64_C(1) << 40);
    assert_true(r.trainer_spec.split_digits);
    assert_int_equal(r.trainer_spec.input.n, 2);
    assert_string_equal(r.trainer_spec.input.items[1].data, "b.txt");
    assert_string_equal(r.trainer_spec.unk_surface.data, "??");
    /* absent fields read as their .proto defaults */
    assert_int_equal(r.trainer_spec.model_type, LLMC_SPM_MODEL_UNIGRAM);
    assert_int_equal(r.trainer_spec.bos_id, 1);
    assert_string_equal(r.trainer_spec.eos_piece.data, "</s>");
    assert_true(r.normalizer_spec.remove_extra_whitespaces);
    assert_false(r.normalizer_spec.add_dummy_prefix);
    assert_int_equal(r.normalizer_spec.precompiled_charsmap.len, 3);
    assert_memory_equal(r.normalizer_spec.precompiled_charsmap.data, "\0\1\2", 3);
    assert_false(r.has & LLMC_SPM_HAS_DENORMALIZER_SPEC);
    /* and written again, byte for byte */
    uint8_t *b;
    size_t blen;
    serialize(&r, &b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    free(a);
    free(b);
    llmc_spm_proto_free(&m);
    llmc_spm_proto_free(&r);
    llmc_diags_free(d);
}

static void test_truncated(void **state) {
    (void)state;
    llmc_spm_proto m;
    build_model(&m);
    uint8_t *a;
    size_t alen;
    serialize(&m, &a, &alen);
    /* every prefix either parses (it ended between fields) or is refused with a reason */
    size_t refused = 0;
    for (size_t cut = 1; cut < alen; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, a, cut);
        llmc_diags *d = llmc_diags_create();
        llmc_spm_proto r;
        if (!llmc_spm_proto_parse(&r, copy, cut, "t.model", d)) {
            refused++;
            assert_true(llmc_diags_errors(d) > 0);
        }
        llmc_spm_proto_free(&r);
        llmc_diags_free(d);
        free(copy);
    }
    assert_true(refused > alen / 2);
    /* a cut inside the first piece's string: its length runs past the end of that message */
    expect_refusal(a, 6, "pieces", "runs past the end");
    free(a);
    llmc_spm_proto_free(&m);
    expect_refusal((const uint8_t *)"", 0, "empty file", NULL);
}

static void test_bad_varint(void **state) {
    (void)state;
    /* eleven continuation bytes */
    uint8_t eleven[12];
    memset(eleven, 0xFF, sizeof eleven);
    expect_refusal(eleven, sizeof eleven, "bad varint", "field tag");
    /* an unknown field's value whose tenth byte carries more than bit 63 */
    uint8_t overflow[] = {0xA0, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
    expect_refusal(overflow, sizeof overflow, "bad varint", "more than 64 bits");
    /* a tag that stops in the middle */
    uint8_t tag[] = {0x80};
    expect_refusal(tag, sizeof tag, "truncated varint", "field tag");
    /* trainer_spec { vocab_size = <varint cut short> } */
    uint8_t inner[] = {0x12, 0x02, 0x20, 0x80, 0x1A, 0x00}; /* then an empty normalizer_spec */
    expect_refusal(inner, sizeof inner, "trainer_spec.vocab_size", "enclosing message");
}

static void test_length_past_end(void **state) {
    (void)state;
    uint8_t piece[] = {0x0A, 100, 0x0A, 0x01, 'a'};
    expect_refusal(piece, sizeof piece, "pieces", "length 100");
    /* a length inside a piece that runs past the piece's own message */
    uint8_t inner[] = {0x0A, 0x03, 0x0A, 0x05, 'a', 'b', 'c', 'd', 'e'};
    expect_refusal(inner, sizeof inner, "pieces[0].piece", "enclosing message");
    /* a float with two of its four bytes */
    uint8_t fl[] = {0x0A, 0x03, 0x15, 0x00, 0x00};
    expect_refusal(fl, sizeof fl, "pieces[0].score", "truncated float");
    /* an unknown length-delimited field that runs past the end */
    uint8_t unknown[] = {0xBA, 0x06, 0x09, 'x'}; /* field 103, wire type 2, length 9 */
    expect_refusal(unknown, sizeof unknown, "field 103", "runs past the end");
}

static void test_wrong_wire_type(void **state) {
    (void)state;
    uint8_t pieces_varint[] = {0x08, 0x01}; /* field 1 (pieces, a message) as a varint */
    expect_refusal(pieces_varint, sizeof pieces_varint, "pieces", "wrong wire type 0");
    uint8_t vocab_string[] = {0x12, 0x03, 0x22, 0x01, 'x'}; /* trainer_spec.vocab_size as bytes */
    expect_refusal(vocab_string, sizeof vocab_string, "trainer_spec.vocab_size", "expected 0, varint");
    uint8_t score_varint[] = {0x0A, 0x02, 0x10, 0x01}; /* pieces[0].score as a varint */
    expect_refusal(score_varint, sizeof score_varint, "pieces[0].score", "expected 5, 32-bit");
    uint8_t group[] = {0x0B, 0x0C}; /* field 1 as a group */
    expect_refusal(group, sizeof group, "pieces", "wrong wire type 3");
    uint8_t unknown_group[] = {0xCB, 0x06}; /* unknown field 105 as a group */
    expect_refusal(unknown_group, sizeof unknown_group, "field 105", "never use");
    uint8_t field0[] = {0x00, 0x00};
    expect_refusal(field0, sizeof field0, "invalid field number 0", NULL);
    uint8_t bad_enum[] = {0x0A, 0x02, 0x18, 0x09}; /* pieces[0].type = 9 */
    expect_refusal(bad_enum, sizeof bad_enum, "pieces[0].type", "unknown value 9");
    uint8_t bad_model[] = {0x12, 0x02, 0x18, 0x07}; /* trainer_spec.model_type = 7 */
    expect_refusal(bad_model, sizeof bad_model, "trainer_spec.model_type", "1 UNIGRAM");
}

static void test_unknown_fields_skipped(void **state) {
    (void)state;
    /* pieces { piece: "a" score: 1.0 [field 200: varint] [field 201: fixed64] } then unknown
     * top-level fields of every skippable wire type, then trainer_spec { vocab_size: 5 } */
    uint8_t data[] = {0x0A, 0x16, 0x0A, 0x01, 'a', 0x15, 0x00, 0x00, 0x80, 0x3F, 0xC0, 0x0C, 0x96, 0x01,
                      0xC9, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8,
                      0xB8, 0x06, 0x05,                         /* 103: varint */
                      0xB9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,       /* 103: fixed64 */
                      0xBA, 0x06, 0x02, 'z', 'z',               /* 103: bytes */
                      0xBD, 0x06, 1, 2, 3, 4,                   /* 103: fixed32 */
                      0x12, 0x02, 0x20, 0x05};
    llmc_diags *d = llmc_diags_create();
    llmc_spm_proto m;
    char buf[256];
    if (!llmc_spm_proto_parse(&m, data, sizeof data, "t.model", d)) fail_msg("%s", first_error(d, buf, sizeof buf));
    assert_int_equal(m.n_pieces, 1);
    assert_string_equal(m.pieces[0].piece.data, "a");
    assert_true(m.pieces[0].score == 1.0f);
    assert_int_equal(m.trainer_spec.vocab_size, 5);
    llmc_spm_proto_free(&m);
    llmc_diags_free(d);
}

static void test_merge_and_last_wins(void **state) {
    (void)state;
    /* trainer_spec three times: { vocab_size: 5 } { byte_fallback: true } { vocab_size: 7 }.
     * A message field given twice is merged; the later scalar wins. */
    uint8_t data[] = {0x12, 0x02, 0x20, 0x05, 0x12, 0x03, 0x98, 0x02, 0x01, 0x12, 0x02, 0x20, 0x07};
    llmc_diags *d = llmc_diags_create();
    llmc_spm_proto m;
    char buf[256];
    if (!llmc_spm_proto_parse(&m, data, sizeof data, "t.model", d)) fail_msg("%s", first_error(d, buf, sizeof buf));
    assert_int_equal(m.trainer_spec.vocab_size, 7);
    assert_true(m.trainer_spec.byte_fallback);
    assert_true(m.trainer_spec.has & LLMC_SPM_TS_BIT(LLMC_SPM_TS_BYTE_FALLBACK));
    llmc_spm_proto_free(&m);
    llmc_diags_free(d);
}

/* ---- the model checks ------------------------------------------------------------------------------- */

static void expect_check_error(llmc_spm_proto *m, const char *needle) {
    llmc_diags *d = llmc_diags_create();
    bool ok = llmc_spm_proto_check(m, "t.model", d);
    char buf[512] = "";
    bool found = false;
    for (size_t i = 0; i < llmc_diags_size(d); i++) {
        llmc_diag_format(llmc_diags_get(d, i), buf, sizeof buf);
        if (strstr(buf, needle)) found = true;
    }
    if (ok || !found) fail_msg("expected a check error mentioning '%s' (last: %s)", needle, buf);
    llmc_diags_free(d);
    llmc_spm_proto_free(m);
}

static void test_model_checks(void **state) {
    (void)state;
    llmc_spm_proto m;
    build_model(&m);
    llmc_diags *d = llmc_diags_create();
    assert_true(llmc_spm_proto_check(&m, "t.model", d));
    llmc_diags_free(d);
    llmc_spm_proto_free(&m);

    build_model(&m);
    llmc_spm_proto_add_piece(&m, "a", 1, -1.0f, LLMC_SPM_NORMAL);
    expect_check_error(&m, "piece 'a' is already defined as pieces[4]");

    build_model(&m);
    m.pieces[0].type = LLMC_SPM_NORMAL;
    expect_check_error(&m, "no UNKNOWN piece");

    build_model(&m);
    llmc_spm_proto_add_piece(&m, "<0x41>", 6, 0.0f, LLMC_SPM_BYTE);
    expect_check_error(&m, "byte_fallback is false");

    build_model(&m);
    m.trainer_spec.byte_fallback = true;
    llmc_spm_proto_add_piece(&m, "<0x00>", 6, 0.0f, LLMC_SPM_BYTE);
    expect_check_error(&m, "no BYTE piece <0x01>");

    build_model(&m);
    llmc_spm_proto_add_piece(&m, "", 0, 0.0f, LLMC_SPM_NORMAL);
    expect_check_error(&m, "empty piece");

    build_model(&m);
    llmc_spm_proto_add_piece(&m, "\xC3\x28", 2, 0.0f, LLMC_SPM_NORMAL);
    expect_check_error(&m, "not valid UTF-8");
}

/* ---- precompiled charsmap ---------------------------------------------------------------------------- */

/* A Darts-clone array by hand: "a" -> "b", "ab" -> "X". Root offset 1; 'a' at 1^97 = 96 with
 * offset 4 (leaf at 100, child 'b' at 100^98 = 6); 'b' at 6 with offset 8 (leaf at 14). */
static size_t tiny_charsmap(uint8_t *blob) {
    uint32_t units[101] = {0};
    units[0] = 1u << 10;
    units[96] = 97u | (1u << 8) | (4u << 10);
    units[100] = 0x80000000u | 0; /* "b" at offset 0 */
    units[6] = 98u | (1u << 8) | (8u << 10);
    units[14] = 0x80000000u | 2; /* "X" at offset 2 */
    uint32_t size = sizeof units;
    size_t o = 0;
    for (int i = 0; i < 4; i++) blob[o++] = (uint8_t)(size >> (8 * i));
    for (size_t k = 0; k < 101; k++)
        for (int i = 0; i < 4; i++) blob[o++] = (uint8_t)(units[k] >> (8 * i));
    memcpy(blob + o, "b\0X\0", 4);
    return o + 4;
}

static void test_charsmap(void **state) {
    (void)state;
    uint8_t blob[4 + 404 + 4];
    size_t len = tiny_charsmap(blob);
    llmc_diags *d = llmc_diags_create();
    llmc_charsmap *cm = llmc_charsmap_create(blob, len, "t.model", "normalizer_spec.precompiled_charsmap", d);
    assert_non_null(cm);
    const char *out;
    size_t out_len;
    assert_int_equal(llmc_charsmap_longest(cm, "abz", 3, &out, &out_len), 2);
    assert_int_equal(out_len, 1);
    assert_memory_equal(out, "X", 1);
    assert_int_equal(llmc_charsmap_longest(cm, "az", 2, &out, &out_len), 1);
    assert_memory_equal(out, "b", 1);
    assert_int_equal(llmc_charsmap_longest(cm, "z", 1, &out, &out_len), 0);
    assert_true(llmc_charsmap_first(cm, "ab", 2, &out, &out_len)); /* HF: the shortest rule */
    assert_memory_equal(out, "b", 1);
    assert_false(llmc_charsmap_first(cm, "b", 1, &out, &out_len));

    /* sentencepiece's normalizer around it: spaces, dummy prefix, the rules, bad UTF-8 */
    llmc_spm_normalizer_params p = llmc_spm_normalizer_default_params();
    p.charsmap = cm;
    llmc_spm_normalizer *nm = llmc_spm_normalizer_create(&p);
    llmc_tok_bytes nb = {0};
    const char *in = "  ab   a \xFF ";
    assert_true(llmc_spm_normalize(nm, in, strlen(in), &nb));
    const char *want = "\xe2\x96\x81X\xe2\x96\x81" "b\xe2\x96\x81\xEF\xBF\xBD";
    assert_int_equal(nb.n, strlen(want));
    assert_memory_equal(nb.p, want, nb.n);
    assert_true(llmc_spm_normalize(nm, "   ", 3, &nb));
    assert_int_equal(nb.n, 0);
    llmc_tok_bytes_free(&nb);
    llmc_spm_normalizer_free(nm);
    llmc_charsmap_free(cm);

    /* base64 as tokenizer.json carries it */
    char *b64 = llmc_base64_encode(blob, len);
    cm = llmc_charsmap_from_base64(b64, strlen(b64), "tokenizer.json", "normalizer.precompiled_charsmap", d);
    assert_non_null(cm);
    llmc_charsmap_free(cm);
    free(b64);
    assert_int_equal(llmc_diags_errors(d), 0);

    /* broken headers are refused with a reason */
    blob[0] = 0xFF; /* trie size larger than the blob */
    assert_null(llmc_charsmap_create(blob, len, "t.model", "k", d));
    blob[0] = 3; blob[1] = 0; /* not a multiple of 4 */
    assert_null(llmc_charsmap_create(blob, len, "t.model", "k", d));
    assert_null(llmc_charsmap_create(blob, 3, "t.model", "k", d));
    assert_int_equal(llmc_diags_errors(d), 3);
    char buf[256];
    assert_non_null(strstr(first_error(d, buf, sizeof buf), "runs past the end of the blob"));
    assert_null(llmc_charsmap_from_base64("abc", 3, "t.json", "k", d));
    llmc_diags_free(d);
}

/* the NFKC charsmap: each character maps to its NFKC form (no rule when that is itself), and the
 * decomposed spellings of composed characters compose */
static void test_charsmap_nfkc(void **state) {
    (void)state;
    unsigned char *blob;
    size_t len;
    assert_true(llmc_charsmap_build_nfkc(false, &blob, &len));
    llmc_diags *d = llmc_diags_create();
    llmc_charsmap *cm = llmc_charsmap_create(blob, len, "t.model", "normalizer_spec.precompiled_charsmap", d);
    free(blob);
    assert_non_null(cm);
    uint32_t *nf = NULL;
    size_t cap = 0, mapped = 0;
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if ((cp >= 0xD800 && cp <= 0xDFFF) || (cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF)) continue;
        char key[4], want[4 * 32];
        size_t kn = (size_t)llmc_utf8_encode(cp, key), wn = 0;
        long n = llmc_uc_normalize(LLMC_NFKC, &cp, 1, &nf, &cap);
        assert_true(n > 0 && n <= 32);
        for (long i = 0; i < n; i++) wn += (size_t)llmc_utf8_encode(nf[i], want + wn);
        const char *out;
        size_t out_len;
        size_t used = llmc_charsmap_longest(cm, key, kn, &out, &out_len);
        if (n == 1 && nf[0] == cp) {
            if (used) fail_msg("U+%04X is its own NFKC form but has a rule", cp);
            continue;
        }
        if (used != kn || out_len != wn || memcmp(out, want, wn)) fail_msg("U+%04X: wrong or no rule", cp);
        mapped++;
    }
    free(nf);
    assert_true(mapped > 4000);
    static const struct { const char *in, *out; size_t used; } cases[] = {
        {"\xef\xac\x81x", "fi", 3},                          /* U+FB01 ligature */
        {"\xef\xbc\xa1", "A", 3},                            /* full-width A */
        {"e\xcc\x81", "\xc3\xa9", 3},                         /* e + U+0301 -> U+00E9 */
        {"\xef\xbd\x85\xcc\x81", "\xc3\xa9", 5},             /* full-width e + U+0301 */
        {"\xe3\x84\xb1\xe3\x85\x8f", "\xea\xb0\x80", 6},     /* compatibility jamo -> U+AC00 */
        {"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81", 9}, /* L V T jamo -> U+AC01 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *out;
        size_t out_len;
        size_t used = llmc_charsmap_longest(cm, cases[i].in, strlen(cases[i].in), &out, &out_len);
        assert_int_equal(used, cases[i].used);
        assert_int_equal(out_len, strlen(cases[i].out));
        assert_memory_equal(out, cases[i].out, out_len);
    }
    llmc_charsmap_free(cm);

    /* nmt_nfkc: the same plus whitespace to spaces and control characters deleted */
    assert_true(llmc_charsmap_build_nfkc(true, &blob, &len));
    cm = llmc_charsmap_create(blob, len, "t.model", "normalizer_spec.precompiled_charsmap", d);
    free(blob);
    assert_non_null(cm);
    static const struct { const char *in, *out; } nmt[] = {
        {"\t", " "}, {"\n", " "}, {"\r", " "}, {"\xe2\x80\x8b", " "}, {"\xef\xbb\xbf", " "}, {"\xe2\x96\x81", " "},
        {"\x01", ""}, {"\x1f", ""}, {"\x7f", ""}, {"\xc2\x9f", ""},
        {"\xef\xac\x81", "fi"}, {"\xef\xbd\x9e", "~"}, /* U+FF5E: NFKC's "~" (sentencepiece keeps it) */
    };
    for (size_t i = 0; i < sizeof nmt / sizeof *nmt; i++) {
        const char *out;
        size_t out_len;
        assert_int_equal(llmc_charsmap_longest(cm, nmt[i].in, strlen(nmt[i].in), &out, &out_len), strlen(nmt[i].in));
        assert_int_equal(out_len, strlen(nmt[i].out));
        assert_memory_equal(out, nmt[i].out, out_len);
    }
    const char *out;
    size_t out_len;
    assert_int_equal(llmc_charsmap_longest(cm, " ", 1, &out, &out_len), 0); /* a space stays */
    llmc_charsmap_free(cm);
    llmc_diags_free(d);
}

/* ---- encoders ------------------------------------------------------------------------------------- */

static void expect_ids(const llmc_tok_ids *ids, const uint32_t *want, size_t n) {
    char got[256] = "";
    size_t o = 0;
    for (size_t i = 0; i < ids->n && o < sizeof got - 12; i++) o += (size_t)snprintf(got + o, sizeof got - o, "%u ", ids->ids[i]);
    if (ids->n != n) fail_msg("expected %zu ids, got %zu: %s", n, ids->n, got);
    for (size_t i = 0; i < n; i++)
        if (ids->ids[i] != want[i]) fail_msg("id %zu: expected %u, got: %s", i, want[i], got);
}

static void test_unigram_viterbi(void **state) {
    (void)state;
    /* the example of HF's Unigram documentation: "abcdacdxx" -> abcd a cd xx(unk, fused) */
    llmc_unigram_piece pieces[] = {
        {"<unk>", 5, 0.0, LLMC_UNIGRAM_RESERVED}, {"a", 1, 0.0, 0}, {"b", 1, 0.0, 0}, {"c", 1, 0.0, 0},
        {"d", 1, 0.0, 0}, {"cd", 2, 1.0, 0}, {"ab", 2, 2.0, 0}, {"abc", 3, 5.0, 0}, {"abcd", 4, 10.0, 0},
    };
    llmc_diags *d = llmc_diags_create();
    for (int flavor = 0; flavor < 2; flavor++) {
        llmc_unigram_params p = llmc_unigram_default_params();
        p.flavor = flavor ? LLMC_UNIGRAM_HF : LLMC_UNIGRAM_SPM;
        llmc_unigram *u = llmc_unigram_create(pieces, 9, &p, "t", d);
        assert_non_null(u);
        llmc_unigram_work w = {0};
        llmc_tok_ids ids = {0};
        assert_int_equal(llmc_unigram_encode(u, &w, "abcdacdxx", 9, &ids), 0);
        expect_ids(&ids, (const uint32_t[]){8, 1, 5, 0}, 4);
        /* unk scores min - 10: SPM's min is over NORMAL pieces (0), HF's over all (0) */
        assert_true(llmc_unigram_unk_score(u) == -10.0);
        free(ids.ids);
        llmc_unigram_work_free(&w);
        llmc_unigram_free(u);
    }
    llmc_diags_free(d);
}

static void test_unigram_byte_fallback(void **state) {
    (void)state;
    /* <unk>, 256 byte pieces, then "a" and "\xe2\x96\x81" */
    llmc_unigram_piece pieces[259];
    char names[256][7];
    pieces[0] = (llmc_unigram_piece){"<unk>", 5, 0.0, LLMC_UNIGRAM_RESERVED};
    for (int b = 0; b < 256; b++) {
        snprintf(names[b], sizeof names[b], "<0x%02X>", b);
        pieces[1 + b] = (llmc_unigram_piece){names[b], 6, 0.0, LLMC_UNIGRAM_RESERVED};
    }
    pieces[257] = (llmc_unigram_piece){"a", 1, -1.0, 0};
    pieces[258] = (llmc_unigram_piece){"\xe2\x96\x81", 3, -2.0, 0};
    llmc_diags *d = llmc_diags_create();
    llmc_unigram_params p = llmc_unigram_default_params();
    p.byte_fallback = true;
    llmc_unigram *u = llmc_unigram_create(pieces, 259, &p, "t", d);
    assert_non_null(u);
    llmc_unigram_work w = {0};
    llmc_tok_ids ids = {0};
    /* "a" "ж"(unknown: D0 B6 as bytes) "a" "ab"(b unknown) */
    assert_int_equal(llmc_unigram_encode(u, &w, "a\xd0\xb6" "ab", 5, &ids), 0);
    expect_ids(&ids, (const uint32_t[]){257, 1 + 0xD0, 1 + 0xB6, 257, 1 + 'b'}, 5);
    /* without byte fallback: a run of unknown characters is one <unk> */
    llmc_unigram_free(u);
    p.byte_fallback = false;
    u = llmc_unigram_create(pieces, 259, &p, "t", d);
    ids.n = 0;
    assert_int_equal(llmc_unigram_encode(u, &w, "a\xd0\xb6" "bxa", 6, &ids), 0);
    expect_ids(&ids, (const uint32_t[]){257, 0, 257}, 3);
    free(ids.ids);
    llmc_unigram_work_free(&w);
    llmc_unigram_free(u);
    llmc_diags_free(d);
}

static void test_spm_bpe(void **state) {
    (void)state;
    /* merges by piece score: "ab" (-1) before "bc" (-2); "abc" (-3) after both */
    llmc_unigram_piece pieces[] = {
        {"<unk>", 5, 0.0, LLMC_UNIGRAM_RESERVED}, {"ab", 2, -1.0, 0}, {"bc", 2, -2.0, 0}, {"abc", 3, -3.0, 0},
        {"a", 1, -4.0, 0}, {"b", 1, -5.0, 0}, {"c", 1, -6.0, 0},
    };
    llmc_diags *d = llmc_diags_create();
    llmc_spm_bpe *b = llmc_spm_bpe_create(pieces, 7, 0, false, NULL, "t", d);
    assert_non_null(b);
    llmc_spm_bpe_work w = {0};
    llmc_tok_ids ids = {0};
    assert_true(llmc_spm_bpe_encode(b, &w, "abcbcxxa", 8, &ids));
    /* a b c b c x x a -> ab c bc x x a -> abc bc <unk> a (the two x fused) */
    expect_ids(&ids, (const uint32_t[]){3, 2, 0, 4}, 4);
    llmc_spm_bpe_free(b);
    /* an UNUSED merged piece is split back into the pieces it came from */
    pieces[3].kind = LLMC_UNIGRAM_UNUSED;
    b = llmc_spm_bpe_create(pieces, 7, 0, false, NULL, "t", d);
    ids.n = 0;
    assert_true(llmc_spm_bpe_encode(b, &w, "abc", 3, &ids));
    expect_ids(&ids, (const uint32_t[]){1, 6}, 2);
    free(ids.ids);
    llmc_spm_bpe_work_free(&w);
    llmc_spm_bpe_free(b);
    llmc_diags_free(d);
}

static void test_model_encode_decode(void **state) {
    (void)state;
    llmc_spm_proto m;
    build_model(&m);
    /* no charsmap (the built one is three junk bytes), default whitespace rules */
    llmc_spm_str_set(&m.normalizer_spec.precompiled_charsmap, "", 0);
    m.normalizer_spec.add_dummy_prefix = true;
    llmc_diags *d = llmc_diags_create();
    llmc_spm_tokenizer *t = llmc_spm_tokenizer_create(&m, "t.model", d);
    char buf[256];
    if (!t) fail_msg("%s", first_error(d, buf, sizeof buf));
    llmc_spm_work *w = llmc_spm_work_create();
    llmc_tok_ids ids = {0};
    const char *text = "  ab  c\xd0\xb6zz";
    assert_true(llmc_spm_tokenizer_encode(t, w, text, strlen(text), &ids));
    /* "▁ab" "▁" "c" "ж" <unk>(zz) */
    expect_ids(&ids, (const uint32_t[]){7, 3, 6, 9, 0}, 5);
    llmc_tok_bytes out = {0};
    assert_true(llmc_spm_tokenizer_decode(t, ids.ids, ids.n, &out, d));
    assert_int_equal(out.n, strlen("ab c\xd0\xb6??"));
    assert_memory_equal(out.p, "ab c\xd0\xb6??", out.n); /* <unk> decodes to unk_surface */
    uint32_t bad = 99;
    assert_false(llmc_spm_tokenizer_decode(t, &bad, 1, &out, d));
    assert_non_null(strstr(first_error(d, buf, sizeof buf), "token id 99"));
    free(ids.ids);
    llmc_tok_bytes_free(&out);
    llmc_spm_work_free(w);
    llmc_spm_tokenizer_free(t);
    llmc_spm_proto_free(&m);
    llmc_diags_free(d);
}


/* Unigram scores: HF's JSON reader (serde_json, two roundings) reads the shortest decimal
 * "-3.7467351734612158" as -3.746735173461216; llmc reads scores as HF does, and writes only scores
 * that strtod and HF's reader both read back exactly (from the shortest or the 17-digit form). */
static void test_unigram_scores_as_hf_reads(void **state) {
    (void)state;
    assert_true(llmc_tok_score_as_hf_reads(-3.7467351734612158) == -3.746735173461216);
    assert_true(llmc_tok_score_as_hf_reads(-7.7900335227124184) == -7.790033522712419);
    assert_true(llmc_tok_score_as_hf_reads(-2.5) == -2.5);
    assert_true(llmc_tok_score_as_hf_reads(0.0) == 0.0);
    char buf[48];
    for (int i = 0; i < 20000; i++) {
        double x = -2.0 - 13.0 * (double)((i * 2654435761u) % 1000003u) / 1000003.0 - (double)i * 1e-9;
        double y = llmc_tok_score_stable(x);
        assert_true(fabs(y - x) <= 64 * fabs(nextafter(x, 0) - x));
        assert_true(llmc_tok_score_as_hf_reads(y) == y);
        snprintf(buf, sizeof buf, "%.17g", y);
        assert_true(strtod(buf, NULL) == y);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_varint),
        cmocka_unit_test(test_length_past_end),
        cmocka_unit_test(test_wrong_wire_type),
        cmocka_unit_test(test_unknown_fields_skipped),
        cmocka_unit_test(test_merge_and_last_wins),
        cmocka_unit_test(test_model_checks),
        cmocka_unit_test(test_charsmap),
        cmocka_unit_test(test_charsmap_nfkc),
        cmocka_unit_test(test_unigram_viterbi),
        cmocka_unit_test(test_unigram_byte_fallback),
        cmocka_unit_test(test_spm_bpe),
        cmocka_unit_test(test_model_encode_decode),
        cmocka_unit_test(test_unigram_scores_as_hf_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
