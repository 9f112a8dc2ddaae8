/* SentencePiece ModelProto reader and writer (see tok_spm.h).
 *
 * Protobuf wire format, as far as this file needs it: a message is a sequence of fields, each a
 * varint tag (field number << 3 | wire type) followed by the value: wire type 0 a varint, 1 eight
 * bytes, 2 a varint length and that many bytes (strings, bytes, embedded messages), 5 four bytes
 * (float). Types 3 and 4 are the long-deprecated groups, which no SentencePiece file contains;
 * they are refused. The schema is described by the tables below; one generic reader and one
 * generic writer walk them. */
#include "tok_spm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- the schema ------------------------------------------------------------------------------ */

typedef enum field_kind {
    F_INT32,   /* varint, two's complement truncated to 32 bits */
    F_UINT64,  /* varint */
    F_BOOL,    /* varint */
    F_ENUM,    /* varint, an int32 checked against [enum_min, enum_max] */
    F_FLOAT,   /* fixed32 */
    F_STRING,  /* length-delimited */
    F_STRINGS, /* repeated length-delimited */
    F_MESSAGE, /* embedded message, merged when repeated */
    F_MESSAGES /* repeated embedded message */
} field_kind;

typedef struct msg_desc msg_desc;

typedef struct field_desc {
    uint32_t num;
    field_kind kind;
    const char *name;
    size_t offset;        /* of the value in the struct (for F_MESSAGES: of the items pointer) */
    int has_bit;          /* index into the struct's presence word, -1 for repeated fields */
    int32_t enum_min, enum_max;
    const char *const *enum_names; /* enum_names[v - enum_min] */
    const msg_desc *sub;  /* F_MESSAGE, F_MESSAGES */
    size_t count_offset;  /* F_MESSAGES: of the size_t count */
} field_desc;

struct msg_desc {
    const char *name;
    const field_desc *fields; /* in field-number order: the writer writes them in this order */
    size_t n_fields;
    size_t has_offset;        /* of the presence word; SIZE_MAX when the message has none */
    int has_width;            /* 4 or 8 bytes */
    size_t size;              /* sizeof the struct (for F_MESSAGES elements) */
    void (*init)(void *);     /* sets the .proto defaults */
};

static const char *const piece_type_names[] = {"NORMAL", "UNKNOWN", "CONTROL", "USER_DEFINED", "UNUSED", "BYTE"};
static const char *const model_type_names[] = {"UNIGRAM", "BPE", "WORD", "CHAR"};

const char *llmc_spm_piece_type_name(int32_t type) {
    return type >= 1 && type <= 6 ? piece_type_names[type - 1] : "?";
}

static void piece_init(void *p) {
    llmc_spm_piece *x = p;
    memset(x, 0, sizeof *x);
    x->type = LLMC_SPM_NORMAL;
}

#define PF(num, kind, name, has) {num, kind, #name, offsetof(llmc_spm_piece, name), has, 0, 0, NULL, NULL, 0}
static const field_desc piece_fields[] = {
    PF(1, F_STRING, piece, 0),
    PF(2, F_FLOAT, score, 1),
    {3, F_ENUM, "type", offsetof(llmc_spm_piece, type), 2, 1, 6, piece_type_names, NULL, 0},
};
#undef PF
static const msg_desc piece_desc = {"SentencePiece", piece_fields, sizeof piece_fields / sizeof piece_fields[0],
                                    offsetof(llmc_spm_piece, has), 4, sizeof(llmc_spm_piece), piece_init};

static void str_set_literal(llmc_spm_str *s, const char *lit) {
    /* defaults are static strings; owned copies are made only when a field is read or set */
    s->data = (char *)lit;
    s->len = strlen(lit);
}

/* Default string values point at these literals; the free routine must not free them. */
static const char def_unk_piece[] = "<unk>", def_bos_piece[] = "<s>", def_eos_piece[] = "</s>",
                  def_pad_piece[] = "<pad>", def_unk_surface[] = " \xE2\x81\x87 ";

static bool is_default_literal(const char *p) {
    return p == def_unk_piece || p == def_bos_piece || p == def_eos_piece || p == def_pad_piece ||
           p == def_unk_surface;
}

static void trainer_spec_init(void *p) {
    llmc_spm_trainer_spec *t = p;
    memset(t, 0, sizeof *t);
    t->model_type = LLMC_SPM_MODEL_UNIGRAM;
    t->vocab_size = 8000;
    t->character_coverage = 0.9995f;
    t->shuffle_input_sentence = true;
    t->seed_sentencepiece_size = 1000000;
    t->shrinking_factor = 0.75f;
    t->max_sentence_length = 4192;
    t->num_threads = 16;
    t->num_sub_iterations = 2;
    t->max_sentencepiece_length = 16;
    t->split_by_unicode_script = true;
    t->split_by_number = true;
    t->split_by_whitespace = true;
    t->vocabulary_output_piece_score = true;
    t->hard_vocab_limit = true;
    t->unk_id = 0;
    t->bos_id = 1;
    t->eos_id = 2;
    t->pad_id = -1;
    str_set_literal(&t->unk_piece, def_unk_piece);
    str_set_literal(&t->bos_piece, def_bos_piece);
    str_set_literal(&t->eos_piece, def_eos_piece);
    str_set_literal(&t->pad_piece, def_pad_piece);
    str_set_literal(&t->unk_surface, def_unk_surface);
}

#define TF(num, kind, name, bit) \
    {num, kind, #name, offsetof(llmc_spm_trainer_spec, name), LLMC_SPM_TS_##bit, 0, 0, NULL, NULL, 0}
#define TFS(num, name, bit) {num, F_STRINGS, #name, offsetof(llmc_spm_trainer_spec, name), -1, 0, 0, NULL, NULL, 0}
static const field_desc trainer_fields[] = {
    TFS(1, input, INPUT),
    TF(2, F_STRING, model_prefix, MODEL_PREFIX),
    {3, F_ENUM, "model_type", offsetof(llmc_spm_trainer_spec, model_type), LLMC_SPM_TS_MODEL_TYPE, 1, 4,
     model_type_names, NULL, 0},
    TF(4, F_INT32, vocab_size, VOCAB_SIZE),
    TFS(5, accept_language, ACCEPT_LANGUAGE),
    TF(6, F_INT32, self_test_sample_size, SELF_TEST_SAMPLE_SIZE),
    TF(7, F_STRING, input_format, INPUT_FORMAT),
    TF(10, F_FLOAT, character_coverage, CHARACTER_COVERAGE),
    TF(11, F_UINT64, input_sentence_size, INPUT_SENTENCE_SIZE),
    TF(12, F_INT32, mining_sentence_size, MINING_SENTENCE_SIZE),
    TF(13, F_INT32, training_sentence_size, TRAINING_SENTENCE_SIZE),
    TF(14, F_INT32, seed_sentencepiece_size, SEED_SENTENCEPIECE_SIZE),
    TF(15, F_FLOAT, shrinking_factor, SHRINKING_FACTOR),
    TF(16, F_INT32, num_threads, NUM_THREADS),
    TF(17, F_INT32, num_sub_iterations, NUM_SUB_ITERATIONS),
    TF(18, F_INT32, max_sentence_length, MAX_SENTENCE_LENGTH),
    TF(19, F_BOOL, shuffle_input_sentence, SHUFFLE_INPUT_SENTENCE),
    TF(20, F_INT32, max_sentencepiece_length, MAX_SENTENCEPIECE_LENGTH),
    TF(21, F_BOOL, split_by_unicode_script, SPLIT_BY_UNICODE_SCRIPT),
    TF(22, F_BOOL, split_by_whitespace, SPLIT_BY_WHITESPACE),
    TF(23, F_BOOL, split_by_number, SPLIT_BY_NUMBER),
    TF(24, F_BOOL, treat_whitespace_as_suffix, TREAT_WHITESPACE_AS_SUFFIX),
    TF(25, F_BOOL, split_digits, SPLIT_DIGITS),
    TF(26, F_BOOL, allow_whitespace_only_pieces, ALLOW_WHITESPACE_ONLY_PIECES),
    TFS(30, control_symbols, CONTROL_SYMBOLS),
    TFS(31, user_defined_symbols, USER_DEFINED_SYMBOLS),
    TF(32, F_BOOL, vocabulary_output_piece_score, VOCABULARY_OUTPUT_PIECE_SCORE),
    TF(33, F_BOOL, hard_vocab_limit, HARD_VOCAB_LIMIT),
    TF(34, F_BOOL, use_all_vocab, USE_ALL_VOCAB),
    TF(35, F_BOOL, byte_fallback, BYTE_FALLBACK),
    TF(36, F_STRING, required_chars, REQUIRED_CHARS),
    TF(40, F_INT32, unk_id, UNK_ID),
    TF(41, F_INT32, bos_id, BOS_ID),
    TF(42, F_INT32, eos_id, EOS_ID),
    TF(43, F_INT32, pad_id, PAD_ID),
    TF(44, F_STRING, unk_surface, UNK_SURFACE),
    TF(45, F_STRING, unk_piece, UNK_PIECE),
    TF(46, F_STRING, bos_piece, BOS_PIECE),
    TF(47, F_STRING, eos_piece, EOS_PIECE),
    TF(48, F_STRING, pad_piece, PAD_PIECE),
    TF(49, F_BOOL, train_extremely_large_corpus, TRAIN_EXTREMELY_LARGE_CORPUS),
    TF(50, F_BOOL, enable_differential_privacy, ENABLE_DP),
    TF(51, F_FLOAT, differential_privacy_noise_level, DP_NOISE_LEVEL),
    TF(52, F_UINT64, differential_privacy_clipping_threshold, DP_CLIPPING_THRESHOLD),
    TF(53, F_STRING, pretokenization_delimiter, PRETOKENIZATION_DELIMITER),
    TF(54, F_STRING, seed_sentencepieces_file, SEED_SENTENCEPIECES_FILE),
};
#undef TF
#undef TFS
static const msg_desc trainer_desc = {"TrainerSpec", trainer_fields, sizeof trainer_fields / sizeof trainer_fields[0],
                                      offsetof(llmc_spm_trainer_spec, has), 8, sizeof(llmc_spm_trainer_spec),
                                      trainer_spec_init};

static void normalizer_spec_init(void *p) {
    llmc_spm_normalizer_spec *n = p;
    memset(n, 0, sizeof *n);
    n->add_dummy_prefix = true;
    n->remove_extra_whitespaces = true;
    n->escape_whitespaces = true;
}

#define NF(num, kind, name, bit) {num, kind, #name, offsetof(llmc_spm_normalizer_spec, name), bit, 0, 0, NULL, NULL, 0}
static const field_desc normalizer_fields[] = {
    NF(1, F_STRING, name, 0),
    NF(2, F_STRING, precompiled_charsmap, 1),
    NF(3, F_BOOL, add_dummy_prefix, 2),
    NF(4, F_BOOL, remove_extra_whitespaces, 3),
    NF(5, F_BOOL, escape_whitespaces, 4),
    NF(6, F_STRING, normalization_rule_tsv, 5),
};
#undef NF
static const msg_desc normalizer_desc = {"NormalizerSpec", normalizer_fields,
                                         sizeof normalizer_fields / sizeof normalizer_fields[0],
                                         offsetof(llmc_spm_normalizer_spec, has), 4,
                                         sizeof(llmc_spm_normalizer_spec), normalizer_spec_init};

static void sample_init(void *p) { memset(p, 0, sizeof(llmc_spm_self_test_sample)); }
static const field_desc sample_fields[] = {
    {1, F_STRING, "input", offsetof(llmc_spm_self_test_sample, input), 0, 0, 0, NULL, NULL, 0},
    {2, F_STRING, "expected", offsetof(llmc_spm_self_test_sample, expected), 1, 0, 0, NULL, NULL, 0},
};
static const msg_desc sample_desc = {"Sample", sample_fields, 2, offsetof(llmc_spm_self_test_sample, has), 4,
                                     sizeof(llmc_spm_self_test_sample), sample_init};

static void self_test_init(void *p) { memset(p, 0, sizeof(llmc_spm_self_test_data)); }
static const field_desc self_test_fields[] = {
    {1, F_MESSAGES, "samples", offsetof(llmc_spm_self_test_data, samples), -1, 0, 0, NULL, &sample_desc,
     offsetof(llmc_spm_self_test_data, n_samples)},
};
static const msg_desc self_test_desc = {"SelfTestData", self_test_fields, 1, SIZE_MAX, 0,
                                        sizeof(llmc_spm_self_test_data), self_test_init};

static void proto_init(void *p) {
    llmc_spm_proto *m = p;
    memset(m, 0, sizeof *m);
    trainer_spec_init(&m->trainer_spec);
    normalizer_spec_init(&m->normalizer_spec);
    normalizer_spec_init(&m->denormalizer_spec);
}

static const field_desc proto_fields[] = {
    {1, F_MESSAGES, "pieces", offsetof(llmc_spm_proto, pieces), -1, 0, 0, NULL, &piece_desc,
     offsetof(llmc_spm_proto, n_pieces)},
    {2, F_MESSAGE, "trainer_spec", offsetof(llmc_spm_proto, trainer_spec), 0, 0, 0, NULL, &trainer_desc, 0},
    {3, F_MESSAGE, "normalizer_spec", offsetof(llmc_spm_proto, normalizer_spec), 1, 0, 0, NULL, &normalizer_desc, 0},
    {4, F_MESSAGE, "self_test_data", offsetof(llmc_spm_proto, self_test_data), 2, 0, 0, NULL, &self_test_desc, 0},
    {5, F_MESSAGE, "denormalizer_spec", offsetof(llmc_spm_proto, denormalizer_spec), 3, 0, 0, NULL,
     &normalizer_desc, 0},
};
static const msg_desc proto_desc = {"ModelProto", proto_fields, sizeof proto_fields / sizeof proto_fields[0],
                                    offsetof(llmc_spm_proto, has), 4, sizeof(llmc_spm_proto), proto_init};

/* ---- presence bits ----------------------------------------------------------------------------- */

static void set_has(const msg_desc *md, void *obj, int bit) {
    if (bit < 0 || md->has_offset == SIZE_MAX) return;
    char *w = (char *)obj + md->has_offset;
    if (md->has_width == 8) *(uint64_t *)(void *)w |= UINT64_C(1) << bit;
    else *(uint32_t *)(void *)w |= UINT32_C(1) << bit;
}

static bool get_has(const msg_desc *md, const void *obj, int bit) {
    if (bit < 0 || md->has_offset == SIZE_MAX) return false;
    const char *w = (const char *)obj + md->has_offset;
    if (md->has_width == 8) return (*(const uint64_t *)(const void *)w >> bit) & 1;
    return (*(const uint32_t *)(const void *)w >> bit) & 1;
}

/* ---- freeing ----------------------------------------------------------------------------------- */

static void str_free(llmc_spm_str *s) {
    if (s->data && !is_default_literal(s->data)) free(s->data);
    s->data = NULL;
    s->len = 0;
}

static void msg_free(const msg_desc *md, void *obj) {
    for (size_t i = 0; i < md->n_fields; i++) {
        const field_desc *f = &md->fields[i];
        char *at = (char *)obj + f->offset;
        if (f->kind == F_STRING) {
            str_free((llmc_spm_str *)(void *)at);
        } else if (f->kind == F_STRINGS) {
            llmc_spm_strs *v = (llmc_spm_strs *)(void *)at;
            for (size_t k = 0; k < v->n; k++) str_free(&v->items[k]);
            free(v->items);
            v->items = NULL;
            v->n = 0;
        } else if (f->kind == F_MESSAGE) {
            msg_free(f->sub, at);
        } else if (f->kind == F_MESSAGES) {
            char **items = (char **)(void *)at;
            size_t *count = (size_t *)(void *)((char *)obj + f->count_offset);
            for (size_t k = 0; k < *count; k++) msg_free(f->sub, *items + k * f->sub->size);
            free(*items);
            *items = NULL;
            *count = 0;
        }
    }
}

void llmc_spm_proto_init(llmc_spm_proto *m) { proto_init(m); }

void llmc_spm_proto_free(llmc_spm_proto *m) {
    if (!m) return;
    msg_free(&proto_desc, m);
    proto_init(m);
}

/* ---- reading ----------------------------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *buf;
    size_t len;
    const char *name;
    llmc_diags *d;
    bool failed;
} reader;

static void LLMC_PRINTF(3, 4) fail(reader *r, const char *path, const char *fmt, ...) {
    if (r->failed) return; /* the first error is the one that explains the rest */
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    char *msg = llmc_vasprintf(fmt, ap);
    va_end(ap);
    llmc_diag_add(r->d, LLMC_SEV_ERROR, (llmc_loc){r->name, 0, 0}, path && *path ? path : NULL, "%s",
                  msg ? msg : "out of memory");
    free(msg);
}

/* A varint at *pos (< end). Protobuf allows at most 10 bytes, and the tenth may only carry bit 63. */
static bool read_varint(reader *r, size_t *pos, size_t end, uint64_t *out, const char *path, const char *what) {
    uint64_t v = 0;
    size_t start = *pos;
    for (int i = 0; i < 10; i++) {
        if (*pos >= end) {
            fail(r, path, "truncated varint (%s) at byte %zu: the %s ends inside it", what, start,
                 end == r->len ? "file" : "enclosing message");
            return false;
        }
        uint8_t b = r->buf[(*pos)++];
        if (i == 9 && b > 1) {
            fail(r, path, "bad varint (%s) at byte %zu: longer than 10 bytes or more than 64 bits", what, start);
            return false;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false; /* not reached: the tenth byte ends every varint */
}

static const char *wire_name(unsigned w) {
    static const char *const names[] = {"varint", "64-bit", "length-delimited", "group start",
                                        "group end", "32-bit", "invalid (6)", "invalid (7)"};
    return names[w & 7];
}

static unsigned expected_wire(field_kind k) {
    switch (k) {
    case F_INT32: case F_UINT64: case F_BOOL: case F_ENUM: return 0;
    case F_FLOAT: return 5;
    default: return 2;
    }
}

static bool copy_str(llmc_spm_str *s, const uint8_t *p, size_t n) {
    char *c = malloc(n + 1);
    if (!c) return false;
    if (n) memcpy(c, p, n);
    c[n] = '\0';
    str_free(s);
    s->data = c;
    s->len = n;
    return true;
}

static bool parse_msg(reader *r, const msg_desc *md, void *obj, size_t pos, size_t end, const char *path);

/* Skip the value of an unknown field. */
static bool skip_value(reader *r, unsigned wire, size_t *pos, size_t end, const char *path, uint64_t num,
                       size_t tag_at) {
    uint64_t v;
    switch (wire) {
    case 0: return read_varint(r, pos, end, &v, path, "unknown field's value");
    case 1:
    case 5: {
        size_t n = wire == 1 ? 8 : 4;
        if (end - *pos < n) {
            fail(r, path, "field %llu at byte %zu: %zu-byte value runs past the end of the %s", (unsigned long long)num,
                 tag_at, n, end == r->len ? "file" : "enclosing message");
            return false;
        }
        *pos += n;
        return true;
    }
    case 2:
        if (!read_varint(r, pos, end, &v, path, "length")) return false;
        if (v > end - *pos) {
            fail(r, path, "field %llu at byte %zu: length %llu runs past the end of the %s (%zu bytes left)",
                 (unsigned long long)num, tag_at, (unsigned long long)v, end == r->len ? "file" : "enclosing message",
                 end - *pos);
            return false;
        }
        *pos += (size_t)v;
        return true;
    default:
        fail(r, path, "field %llu at byte %zu has wire type %u (%s), which SentencePiece files never use",
             (unsigned long long)num, tag_at, wire, wire_name(wire));
        return false;
    }
}

static bool parse_field(reader *r, const msg_desc *md, void *obj, const field_desc *f, size_t *pos, size_t end,
                        const char *fpath, size_t tag_at) {
    char *at = (char *)obj + f->offset;
    uint64_t v;
    switch (f->kind) {
    case F_INT32:
    case F_UINT64:
    case F_BOOL:
    case F_ENUM:
        if (!read_varint(r, pos, end, &v, fpath, "value")) return false;
        if (f->kind == F_INT32) {
            *(int32_t *)(void *)at = (int32_t)(uint32_t)v;
        } else if (f->kind == F_UINT64) {
            *(uint64_t *)(void *)at = v;
        } else if (f->kind == F_BOOL) {
            *(bool *)(void *)at = v != 0;
        } else {
            int32_t e = (int32_t)(uint32_t)v;
            if (e < f->enum_min || e > f->enum_max) {
                char allowed[160];
                size_t k = 0;
                allowed[0] = '\0';
                for (int32_t x = f->enum_min; x <= f->enum_max && k < sizeof allowed; x++)
                    k += (size_t)snprintf(allowed + k, sizeof allowed - k, "%s%d %s", x == f->enum_min ? "" : ", ", x,
                                          f->enum_names[x - f->enum_min]);
                fail(r, fpath, "unknown value %d at byte %zu (expected one of %s)", e, tag_at, allowed);
                return false;
            }
            *(int32_t *)(void *)at = e;
        }
        break;
    case F_FLOAT: {
        if (end - *pos < 4) {
            fail(r, fpath, "truncated float at byte %zu: %zu of its 4 bytes are left in the %s", *pos, end - *pos,
                 end == r->len ? "file" : "enclosing message");
            return false;
        }
        const uint8_t *p = r->buf + *pos;
        uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(at, &bits, 4);
        *pos += 4;
        break;
    }
    default: {
        if (!read_varint(r, pos, end, &v, fpath, "length")) return false;
        if (v > end - *pos) {
            fail(r, fpath, "length %llu at byte %zu runs past the end of the %s (%zu bytes left)", (unsigned long long)v,
                 tag_at, end == r->len ? "file" : "enclosing message", end - *pos);
            return false;
        }
        size_t n = (size_t)v, begin = *pos;
        *pos += n;
        if (f->kind == F_STRING) {
            if (!copy_str((llmc_spm_str *)(void *)at, r->buf + begin, n)) goto oom;
        } else if (f->kind == F_STRINGS) {
            llmc_spm_strs *vec = (llmc_spm_strs *)(void *)at;
            if (!llmc_spm_strs_push(vec, (const char *)r->buf + begin, n)) goto oom;
        } else if (f->kind == F_MESSAGE) {
            if (!parse_msg(r, f->sub, at, begin, begin + n, fpath)) return false;
        } else { /* F_MESSAGES */
            char **items = (char **)(void *)at;
            size_t *count = (size_t *)(void *)((char *)obj + f->count_offset);
            if (*count >= LLMC_SPM_MAX_PIECES) {
                fail(r, fpath, "more than %u entries (at byte %zu); this is not a SentencePiece model",
                     LLMC_SPM_MAX_PIECES, tag_at);
                return false;
            }
            /* grow by doubling: the count is a power of two or zero exactly when the buffer is full */
            if ((*count & (*count - 1)) == 0) {
                size_t cap = *count ? 2 * *count : 1;
                char *grown = realloc(*items, cap * f->sub->size);
                if (!grown) goto oom;
                *items = grown;
            }
            char *elem = *items + *count * f->sub->size;
            f->sub->init(elem);
            (*count)++;
            char epath[288];
            snprintf(epath, sizeof epath, "%s[%zu]", fpath, *count - 1);
            if (!parse_msg(r, f->sub, elem, begin, begin + n, epath)) return false;
        }
        break;
    }
    }
    set_has(md, obj, f->has_bit);
    return true;
oom:
    fail(r, fpath, "out of memory");
    return false;
}

static bool parse_msg(reader *r, const msg_desc *md, void *obj, size_t pos, size_t end, const char *path) {
    while (pos < end) {
        size_t tag_at = pos;
        uint64_t tag;
        if (!read_varint(r, &pos, end, &tag, path, "field tag")) return false;
        uint64_t num = tag >> 3;
        unsigned wire = (unsigned)(tag & 7);
        if (num == 0 || num > (UINT64_C(1) << 29) - 1) {
            fail(r, path, "invalid field number %llu at byte %zu (expected 1 to 536870911)", (unsigned long long)num,
                 tag_at);
            return false;
        }
        const field_desc *f = NULL;
        for (size_t i = 0; i < md->n_fields; i++)
            if (md->fields[i].num == num) { f = &md->fields[i]; break; }
        char fpath[256];
        if (f) snprintf(fpath, sizeof fpath, "%s%s%s", path, *path ? "." : "", f->name);
        if (!f) {
            if (!skip_value(r, wire, &pos, end, path, num, tag_at)) return false;
            continue;
        }
        unsigned want = expected_wire(f->kind);
        if (wire != want) {
            fail(r, fpath, "wrong wire type %u (%s) at byte %zu (expected %u, %s, for field %u of %s)", wire,
                 wire_name(wire), tag_at, want, wire_name(want), f->num, md->name);
            return false;
        }
        if (!parse_field(r, md, obj, f, &pos, end, fpath, tag_at)) return false;
    }
    return true;
}

bool llmc_spm_proto_parse(llmc_spm_proto *m, const void *data, size_t len, const char *name, llmc_diags *d) {
    proto_init(m);
    reader r = {data, len, name ? name : "<buffer>", d, false};
    if (len > LLMC_SPM_MAX_FILE_BYTES) {
        fail(&r, NULL, "%zu bytes is larger than any SentencePiece model (at most %llu)", len,
             (unsigned long long)LLMC_SPM_MAX_FILE_BYTES);
        return false;
    }
    if (len == 0) {
        fail(&r, NULL, "empty file: a SentencePiece model holds at least its pieces");
        return false;
    }
    if (!parse_msg(&r, &proto_desc, m, 0, len, "")) {
        llmc_spm_proto_free(m);
        return false;
    }
    return true;
}

bool llmc_spm_proto_read_file(llmc_spm_proto *m, const char *path, llmc_diags *d) {
    proto_init(m);
    size_t len = 0;
    char *buf = llmc_read_file(path, (size_t)LLMC_SPM_MAX_FILE_BYTES, &len);
    if (!buf) {
        int e = errno;
        llmc_diag_add(d, LLMC_SEV_ERROR, (llmc_loc){path, 0, 0}, NULL, "cannot read the SentencePiece model: %s",
                      e == EFBIG ? "larger than 2 GiB, which is not a SentencePiece model" : strerror(e));
        return false;
    }
    bool ok = llmc_spm_proto_parse(m, buf, len, path, d);
    free(buf);
    return ok;
}

/* ---- checks ------------------------------------------------------------------------------------ */

int llmc_spm_piece_to_byte(const char *piece, size_t len) {
    if (len != 6 || memcmp(piece, "<0x", 3) != 0 || piece[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = piece[i];
        int x = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (x < 0) return -1;
        v = v * 16 + x;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid (overlong, surrogate,
 * above U+10FFFF, truncated). */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t k;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { k = 2; cp = c & 0x1f; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 3; cp = c & 0x0f; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 4; cp = c & 0x07; }
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return k;
}

/* hash set of piece strings, per class, for the duplicate check */
typedef struct {
    uint32_t *slots; /* piece index + 1, 0 = empty */
    size_t mask;
} piece_set;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* inserts piece i; returns the index of an equal piece already there, or -1 */
static long piece_set_insert(piece_set *ps, const llmc_spm_piece *pieces, size_t i) {
    const llmc_spm_str *s = &pieces[i].piece;
    size_t h = (size_t)hash_bytes(s->data, s->len) & ps->mask;
    while (ps->slots[h]) {
        const llmc_spm_str *o = &pieces[ps->slots[h] - 1].piece;
        if (o->len == s->len && memcmp(o->data, s->data, s->len) == 0) return (long)ps->slots[h] - 1;
        h = (h + 1) & ps->mask;
    }
    ps->slots[h] = (uint32_t)i + 1;
    return -1;
}

bool llmc_spm_proto_check(const llmc_spm_proto *m, const char *name, llmc_diags *d) {
    size_t errors = llmc_diags_errors(d);
    llmc_loc loc = {name, 0, 0};
    const llmc_spm_trainer_spec *ts = &m->trainer_spec;
    if (ts->model_type != LLMC_SPM_MODEL_UNIGRAM && ts->model_type != LLMC_SPM_MODEL_BPE &&
        ts->model_type != LLMC_SPM_MODEL_WORD && ts->model_type != LLMC_SPM_MODEL_CHAR)
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "trainer_spec.model_type", "unknown model type %d", ts->model_type);
    if (m->n_pieces == 0) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "the model has no pieces");
        return false;
    }
    size_t cap = 16;
    while (cap < 2 * m->n_pieces) cap *= 2;
    piece_set normal = {calloc(cap, sizeof(uint32_t)), cap - 1}, reserved = {calloc(cap, sizeof(uint32_t)), cap - 1};
    if (!normal.slots || !reserved.slots) {
        free(normal.slots);
        free(reserved.slots);
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "out of memory");
        return false;
    }
    long unk = -1;
    bool byte_seen[256] = {false};
    size_t n_normal = 0, shown = 0;
    for (size_t i = 0; i < m->n_pieces && shown < 20; i++) {
        const llmc_spm_piece *p = &m->pieces[i];
        char key[48];
        snprintf(key, sizeof key, "pieces[%zu]", i);
        size_t before = llmc_diags_errors(d);
        if (p->piece.len == 0) {
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "empty piece (every piece needs at least one byte)");
            shown++;
            continue;
        }
        for (size_t k = 0; k < p->piece.len;) {
            size_t l = utf8_valid_len((const unsigned char *)p->piece.data + k, p->piece.len - k);
            if (!l) {
                llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "piece is not valid UTF-8 (byte %zu of the piece)", k);
                break;
            }
            k += l;
        }
        bool normal_kind = p->type == LLMC_SPM_NORMAL || p->type == LLMC_SPM_USER_DEFINED || p->type == LLMC_SPM_UNUSED;
        if (normal_kind) n_normal++;
        long dup = piece_set_insert(normal_kind ? &normal : &reserved, m->pieces, i);
        if (dup >= 0)
            llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "piece '%s' is already defined as pieces[%ld]", p->piece.data,
                          dup);
        if (p->type == LLMC_SPM_UNKNOWN) {
            if (unk >= 0)
                llmc_diag_add(d, LLMC_SEV_ERROR, loc, key,
                              "a second UNKNOWN piece '%s' (pieces[%ld] '%s' is the first; a model has exactly one)",
                              p->piece.data, unk, m->pieces[unk].piece.data);
            else
                unk = (long)i;
        }
        if (p->type == LLMC_SPM_BYTE) {
            int b = llmc_spm_piece_to_byte(p->piece.data, p->piece.len);
            if (!ts->byte_fallback)
                llmc_diag_add(d, LLMC_SEV_ERROR, loc, key,
                              "byte piece '%s' in a model whose trainer_spec.byte_fallback is false", p->piece.data);
            else if (b < 0)
                llmc_diag_add(d, LLMC_SEV_ERROR, loc, key, "BYTE piece '%s' is not of the form <0xXX>", p->piece.data);
            else
                byte_seen[b] = true;
        }
        if (llmc_diags_errors(d) > before) shown++;
    }
    free(normal.slots);
    free(reserved.slots);
    if (shown >= 20) {
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "more errors in the pieces are not shown");
        return false;
    }
    if (unk < 0)
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "no UNKNOWN piece (type 2): a model needs exactly one, e.g. <unk>");
    if (ts->byte_fallback) {
        for (int b = 0; b < 256; b++)
            if (!byte_seen[b]) {
                llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces",
                              "trainer_spec.byte_fallback is true but there is no BYTE piece <0x%02X> (all 256 are needed)",
                              b);
                break;
            }
    }
    if ((ts->model_type == LLMC_SPM_MODEL_UNIGRAM || ts->model_type == LLMC_SPM_MODEL_BPE) && n_normal == 0)
        llmc_diag_add(d, LLMC_SEV_ERROR, loc, "pieces", "no NORMAL, USER_DEFINED or UNUSED piece to encode text with");
    return llmc_diags_errors(d) == errors;
}

/* ---- setters ----------------------------------------------------------------------------------- */

bool llmc_spm_str_set(llmc_spm_str *s, const char *data, size_t len) {
    return copy_str(s, (const uint8_t *)data, len);
}

bool llmc_spm_strs_push(llmc_spm_strs *v, const char *data, size_t len) {
    if ((v->n & (v->n - 1)) == 0) {
        size_t cap = v->n ? 2 * v->n : 1;
        llmc_spm_str *grown = realloc(v->items, cap * sizeof *grown);
        if (!grown) return false;
        v->items = grown;
    }
    llmc_spm_str *s = &v->items[v->n];
    s->data = NULL;
    s->len = 0;
    if (!copy_str(s, (const uint8_t *)data, len)) return false;
    v->n++;
    return true;
}

long llmc_spm_proto_add_piece(llmc_spm_proto *m, const char *piece, size_t len, float score, llmc_spm_piece_type type) {
    if ((m->n_pieces & (m->n_pieces - 1)) == 0) {
        size_t cap = m->n_pieces ? 2 * m->n_pieces : 1;
        llmc_spm_piece *grown = realloc(m->pieces, cap * sizeof *grown);
        if (!grown) return -1;
        m->pieces = grown;
    }
    llmc_spm_piece *p = &m->pieces[m->n_pieces];
    piece_init(p);
    if (!copy_str(&p->piece, (const uint8_t *)piece, len)) return -1;
    p->score = score;
    p->type = type;
    /* as sentencepiece writes them: the type only when it is not the default */
    p->has = LLMC_SPM_PIECE_HAS_PIECE | LLMC_SPM_PIECE_HAS_SCORE | (type != LLMC_SPM_NORMAL ? LLMC_SPM_PIECE_HAS_TYPE : 0);
    return (long)m->n_pieces++;
}

/* ---- writing ----------------------------------------------------------------------------------- */

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool bad; /* out of memory or over 2 GiB */
} wbuf;

static void put(wbuf *w, const void *data, size_t n) {
    if (w->bad) return;
    if (n > (size_t)INT32_MAX - w->n) { w->bad = true; return; }
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n) cap *= 2;
        uint8_t *g = realloc(w->p, cap);
        if (!g) { w->bad = true; return; }
        w->p = g;
        w->cap = cap;
    }
    if (n) memcpy(w->p + w->n, data, n);
    w->n += n;
}

static void put_varint(wbuf *w, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    put(w, b, n);
}

static void put_tag(wbuf *w, uint32_t num, unsigned wire) { put_varint(w, (uint64_t)num << 3 | wire); }

static void put_bytes_field(wbuf *w, uint32_t num, const void *data, size_t n) {
    put_tag(w, num, 2);
    put_varint(w, n);
    put(w, data, n);
}

static void write_msg(wbuf *w, const msg_desc *md, const void *obj);

static void write_sub(wbuf *w, uint32_t num, const msg_desc *md, const void *obj) {
    wbuf sub = {0};
    write_msg(&sub, md, obj);
    if (sub.bad) w->bad = true;
    else put_bytes_field(w, num, sub.p, sub.n);
    free(sub.p);
}

static void write_msg(wbuf *w, const msg_desc *md, const void *obj) {
    for (size_t i = 0; i < md->n_fields && !w->bad; i++) {
        const field_desc *f = &md->fields[i];
        const char *at = (const char *)obj + f->offset;
        if (f->kind == F_STRINGS) {
            const llmc_spm_strs *v = (const llmc_spm_strs *)(const void *)at;
            for (size_t k = 0; k < v->n; k++) put_bytes_field(w, f->num, v->items[k].data, v->items[k].len);
            continue;
        }
        if (f->kind == F_MESSAGES) {
            const char *items = *(char *const *)(const void *)at;
            size_t count = *(const size_t *)(const void *)((const char *)obj + f->count_offset);
            for (size_t k = 0; k < count; k++) write_sub(w, f->num, f->sub, items + k * f->sub->size);
            continue;
        }
        if (!get_has(md, obj, f->has_bit)) continue;
        switch (f->kind) {
        case F_INT32:
        case F_ENUM:
            put_tag(w, f->num, 0);
            /* negative int32 values are sign-extended to 64 bits on the wire (10 bytes) */
            put_varint(w, (uint64_t)(int64_t) * (const int32_t *)(const void *)at);
            break;
        case F_UINT64:
            put_tag(w, f->num, 0);
            put_varint(w, *(const uint64_t *)(const void *)at);
            break;
        case F_BOOL:
            put_tag(w, f->num, 0);
            put_varint(w, *(const bool *)(const void *)at ? 1 : 0);
            break;
        case F_FLOAT: {
            uint32_t bits;
            memcpy(&bits, at, 4);
            uint8_t b[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16), (uint8_t)(bits >> 24)};
            put_tag(w, f->num, 5);
            put(w, b, 4);
            break;
        }
        case F_STRING: {
            const llmc_spm_str *s = (const llmc_spm_str *)(const void *)at;
            put_bytes_field(w, f->num, s->data, s->len);
            break;
        }
        case F_MESSAGE:
            write_sub(w, f->num, f->sub, at);
            break;
        default:
            break;
        }
    }
}

bool llmc_spm_proto_serialize(const llmc_spm_proto *m, uint8_t **out, size_t *out_len) {
    wbuf w = {0};
    write_msg(&w, &proto_desc, m);
    if (w.bad) {
        free(w.p);
        *out = NULL;
        *out_len = 0;
        return false;
    }
    *out = w.p;
    *out_len = w.n;
    return true;
}
