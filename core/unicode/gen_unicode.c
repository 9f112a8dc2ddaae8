/* Build-time generator of llmc's Unicode tables (core/tok_unicode.h) from the Unicode
 * Character Database installed by Debian's unicode-data package (/usr/share/unicode).
 *
 *   llmc_unicode_gen UCD_DIR OUT.c
 *
 * Reads UnicodeData.txt, PropList.txt, DerivedCoreProperties.txt, SpecialCasing.txt,
 * CaseFolding.txt and DerivedNormalizationProps.txt, and writes compact tables:
 *   - per code point properties (general category, White_Space, Alphabetic, Join_Control,
 *     mapping flags) and canonical combining class, each a two-stage lookup (blocks of 128
 *     code points, identical blocks shared);
 *   - sorted mapping lists: lowercase (UnicodeData simple mapping + SpecialCasing's
 *     unconditional full mappings), simple case folding (C + S), full canonical and
 *     compatibility decompositions (recursively expanded), primary composites.
 * Nothing from the UCD is committed: the tables exist only in the build tree. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCP 0x110000u
#define BLOCK 128u

enum { GC_CN = 0 };
static const char *const gc_names[] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl",
                                       "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk",
                                       "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"};
#define N_GC (sizeof gc_names / sizeof *gc_names)

/* property bits above the 5-bit general category (must match core/tok_unicode.h) */
#define P_WHITE_SPACE (1u << 5)
#define P_ALPHABETIC (1u << 6)
#define P_JOIN_CONTROL (1u << 7)
#define P_HAS_LOWER (1u << 8)
#define P_HAS_FOLD (1u << 9)
#define P_HAS_DECOMP (1u << 10)     /* canonical or compatibility decomposition (not Hangul) */
#define P_COMP_EXCLUDED (1u << 11)  /* Full_Composition_Exclusion */

/* The normalization forms follow the HF library's unicode-normalization-alignments crate, whose
 * data is Unicode 9.0: decompositions and combining classes of later characters are left out
 * (they are unassigned there). */
#define NORMALIZATION_AGE 90

static uint16_t props[NCP];
static uint8_t ccc[NCP];
static uint8_t age10[NCP];           /* Unicode version that assigned it, major*10+minor (0 = unassigned) */
static uint8_t legacy_gc8[NCP];      /* general category as Unicode 8.0 had it (see read_age) */
static uint8_t legacy_gc9[NCP];      /* ... and as Unicode 9.0 had it */
static uint32_t lower_single[NCP];   /* 0 = none */
static uint32_t fold_single[NCP];    /* 0 = none */

typedef struct {
    uint32_t cp;
    int compat;
    int n;
    uint32_t to[18];
} raw_decomp;
static raw_decomp *decomps;
static size_t n_decomps, cap_decomps;
static int32_t decomp_index[NCP];    /* index into decomps or -1 */

static const char *ucd_dir;

static FILE *open_ucd(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ucd_dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "llmc_unicode_gen: cannot open %s: %s (install Debian's unicode-data package)\n", path,
                strerror(errno));
        exit(1);
    }
    return f;
}

static void die(const char *file, unsigned line, const char *what) {
    fprintf(stderr, "llmc_unicode_gen: %s/%s:%u: %s\n", ucd_dir, file, line, what);
    exit(1);
}

/* split a line on ';' into fields (trimmed), comment removed; returns the count */
static int fields(char *line, char **out, int max) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    int n = 0;
    char *p = line;
    while (n < max) {
        char *semi = strchr(p, ';');
        if (semi) *semi = '\0';
        while (isspace((unsigned char)*p)) p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = '\0';
        out[n++] = p;
        if (!semi) break;
        p = semi + 1;
    }
    return n;
}

static uint32_t hex(const char *s, const char *file, unsigned line) {
    char *end;
    unsigned long v = strtoul(s, &end, 16);
    if (end == s || v >= NCP) die(file, line, "bad code point");
    return (uint32_t)v;
}

/* "0041..005A" or "0041" */
static void range(const char *s, uint32_t *lo, uint32_t *hi, const char *file, unsigned line) {
    *lo = hex(s, file, line);
    const char *dots = strstr(s, "..");
    *hi = dots ? hex(dots + 2, file, line) : *lo;
    if (*hi < *lo) die(file, line, "bad range");
}

static int gc_of(const char *name, const char *file, unsigned line) {
    for (unsigned i = 0; i < N_GC; i++)
        if (!strcmp(gc_names[i], name)) return (int)i;
    die(file, line, "unknown general category");
    return 0;
}

static void read_unicode_data(void) {
    FILE *f = open_ucd("UnicodeData.txt");
    char buf[1024];
    unsigned line = 0;
    uint32_t range_start = 0;
    int in_range = 0;
    for (uint32_t i = 0; i < NCP; i++) decomp_index[i] = -1;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *fl[16];
        if (fields(buf, fl, 16) < 15) continue;
        uint32_t cp = hex(fl[0], "UnicodeData.txt", line);
        int gc = gc_of(fl[2], "UnicodeData.txt", line);
        int cc = atoi(fl[3]);
        if (strstr(fl[1], ", First>")) {
            range_start = cp;
            in_range = 1;
            continue;
        }
        uint32_t lo = in_range ? range_start : cp;
        in_range = 0;
        for (uint32_t c = lo; c <= cp; c++) {
            props[c] = (uint16_t)((props[c] & ~0x1Fu) | (unsigned)gc);
            ccc[c] = age10[c] <= NORMALIZATION_AGE ? (uint8_t)cc : 0;
        }
        if (fl[13][0]) {
            lower_single[cp] = hex(fl[13], "UnicodeData.txt", line);
            props[cp] |= P_HAS_LOWER;
        }
        if (fl[5][0] && age10[cp] <= NORMALIZATION_AGE) {
            raw_decomp r = {cp, 0, 0, {0}};
            const char *p = fl[5];
            if (*p == '<') {
                r.compat = 1;
                p = strchr(p, '>');
                if (!p) die("UnicodeData.txt", line, "bad decomposition tag");
                p++;
            }
            while (*p) {
                while (*p == ' ') p++;
                if (!*p) break;
                if (r.n == 18) die("UnicodeData.txt", line, "decomposition too long");
                r.to[r.n++] = hex(p, "UnicodeData.txt", line);
                while (*p && *p != ' ') p++;
            }
            if (n_decomps == cap_decomps) {
                cap_decomps = cap_decomps ? cap_decomps * 2 : 4096;
                decomps = realloc(decomps, cap_decomps * sizeof *decomps);
                if (!decomps) die("UnicodeData.txt", line, "out of memory");
            }
            decomp_index[cp] = (int32_t)n_decomps;
            decomps[n_decomps++] = r;
            props[cp] |= P_HAS_DECOMP;
        }
    }
    fclose(f);
}

static void read_binary_props(const char *file, const char *prop, uint16_t bit) {
    FILE *f = open_ucd(file);
    char buf[1024];
    unsigned line = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *fl[4];
        if (fields(buf, fl, 4) < 2 || !fl[0][0]) continue;
        if (strcmp(fl[1], prop)) continue;
        uint32_t lo, hi;
        range(fl[0], &lo, &hi, file, line);
        for (uint32_t c = lo; c <= hi; c++) props[c] |= bit;
    }
    fclose(f);
}

/* DerivedAge.txt. The HF tokenizers library classifies some characters with crates whose tables
 * are older than Debian's UCD: unicode_categories (punctuation, "other", non-spacing marks) is
 * Unicode 8.0, unicode-normalization-alignments (combining marks) is Unicode 9.0. In those,
 * characters assigned later are unassigned (Cn). The few characters whose general category
 * changed since are given their old category here, each with the version that changed it. */
typedef struct {
    uint32_t cp;
    uint8_t gc8, gc9; /* the category in 8.0 and in 9.0 (indexes into gc_names) */
} old_category;
enum { OLD_Lo = 5, OLD_Mn = 6, OLD_Mc = 7, OLD_Po = 18 };
static const old_category old_categories[] = {
    {0x1734, OLD_Mn, OLD_Mn},  /* HANUNOO SIGN PAMUDPOD: Mn -> Mc in 14.0 */
    {0x1885, OLD_Lo, OLD_Mn},  /* MONGOLIAN LETTER ALI GALI BALUDA: Lo -> Mn in 9.0 */
    {0x1886, OLD_Lo, OLD_Mn},  /* MONGOLIAN LETTER ALI GALI THREE BALUDA: Lo -> Mn in 9.0 */
    {0x166D, OLD_Po, OLD_Po},  /* CANADIAN SYLLABICS CHI SIGN: Po -> So in 12.0 */
    {0x1CF2, OLD_Mc, OLD_Mc},  /* VEDIC SIGN ARDHAVISARGA: Mc -> Lo in 10.0 */
    {0x1CF3, OLD_Mc, OLD_Mc},  /* VEDIC SIGN ROTATED ARDHAVISARGA: Mc -> Lo in 10.0 */
    {0x111C9, OLD_Po, OLD_Po}, /* SHARADA SANDHI MARK: Po -> Mn in 11.0 */
    {0xA9BD, OLD_Mc, OLD_Mc},  /* JAVANESE CONSONANT SIGN KERET: Mc -> Mn in 12.0 */
};

static void read_age(void) {
    FILE *f = open_ucd("DerivedAge.txt");
    char buf[1024];
    unsigned line = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *fl[4];
        if (fields(buf, fl, 4) < 2 || !fl[0][0]) continue;
        uint32_t lo, hi;
        range(fl[0], &lo, &hi, "DerivedAge.txt", line);
        unsigned major = 0, minor = 0;
        if (sscanf(fl[1], "%u.%u", &major, &minor) != 2 || major > 25 || minor > 9)
            die("DerivedAge.txt", line, "bad version");
        for (uint32_t c = lo; c <= hi; c++) age10[c] = (uint8_t)(major * 10 + minor);
    }
    fclose(f);
}

static void legacy_categories(void) {
    for (uint32_t c = 0; c < NCP; c++) {
        uint8_t gc = (uint8_t)(props[c] & 31u);
        legacy_gc8[c] = (age10[c] && age10[c] <= 80) ? gc : GC_CN;
        legacy_gc9[c] = (age10[c] && age10[c] <= 90) ? gc : GC_CN;
    }
    for (size_t i = 0; i < sizeof old_categories / sizeof *old_categories; i++) {
        legacy_gc8[old_categories[i].cp] = old_categories[i].gc8;
        legacy_gc9[old_categories[i].cp] = old_categories[i].gc9;
    }
}

/* SpecialCasing.txt: unconditional (no condition field) full lowercase mappings */
typedef struct {
    uint32_t cp;
    int n;
    uint32_t to[3];
} multi_map;
static multi_map special_lower[64];
static size_t n_special_lower;

static void read_special_casing(void) {
    FILE *f = open_ucd("SpecialCasing.txt");
    char buf[1024];
    unsigned line = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *fl[6];
        int n = fields(buf, fl, 6);
        if (n < 4 || !fl[0][0]) continue;
        if (n >= 5 && fl[4][0]) continue; /* conditional */
        uint32_t cp = hex(fl[0], "SpecialCasing.txt", line);
        multi_map m = {cp, 0, {0}};
        const char *p = fl[1];
        while (*p) {
            while (*p == ' ') p++;
            if (!*p) break;
            if (m.n == 3) die("SpecialCasing.txt", line, "mapping too long");
            m.to[m.n++] = hex(p, "SpecialCasing.txt", line);
            while (*p && *p != ' ') p++;
        }
        if (m.n == 1) {
            lower_single[cp] = m.to[0];
            props[cp] |= P_HAS_LOWER;
        } else if (m.n > 1) {
            if (n_special_lower == 64) die("SpecialCasing.txt", line, "too many multi-character mappings");
            special_lower[n_special_lower++] = m;
            props[cp] |= P_HAS_LOWER;
        } else if (m.n == 0) {
            /* maps to nothing: not in Unicode 15 for lowercase; refuse rather than guess */
            die("SpecialCasing.txt", line, "empty lowercase mapping");
        }
    }
    fclose(f);
}

static void read_case_folding(void) {
    FILE *f = open_ucd("CaseFolding.txt");
    char buf[1024];
    unsigned line = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *fl[4];
        if (fields(buf, fl, 4) < 3 || !fl[0][0]) continue;
        if (strcmp(fl[1], "C") && strcmp(fl[1], "S")) continue;
        uint32_t cp = hex(fl[0], "CaseFolding.txt", line);
        fold_single[cp] = hex(fl[2], "CaseFolding.txt", line);
        props[cp] |= P_HAS_FOLD;
    }
    fclose(f);
}

/* fully expand a decomposition (compat: follow compatibility mappings too) */
static int expand(uint32_t cp, int compat, uint32_t *out, int max) {
    int32_t i = decomp_index[cp];
    if (i < 0 || (decomps[i].compat && !compat)) {
        if (max < 1) return -1;
        out[0] = cp;
        return 1;
    }
    int n = 0;
    for (int k = 0; k < decomps[i].n; k++) {
        int m = expand(decomps[i].to[k], compat, out + n, max - n);
        if (m < 0) return -1;
        n += m;
    }
    return n;
}

/* ---- output --------------------------------------------------------------------------------- */

static FILE *out;

/* separator before item i of a list printed per items to a line */
static const char *sep(size_t i, size_t per) { return i == 0 ? "\n" : i % per ? "," : ",\n"; }

static void emit_two_stage_u16(const char *name, const uint16_t *v) {
    size_t nblocks = NCP / BLOCK;
    uint16_t *stage1 = malloc(nblocks * sizeof *stage1);
    uint16_t *blocks = malloc(NCP * sizeof *blocks);
    size_t nb = 0;
    for (size_t b = 0; b < nblocks; b++) {
        const uint16_t *src = v + b * BLOCK;
        size_t k;
        for (k = 0; k < nb; k++)
            if (!memcmp(blocks + k * BLOCK, src, BLOCK * sizeof *src)) break;
        if (k == nb) memcpy(blocks + nb++ * BLOCK, src, BLOCK * sizeof *src);
        stage1[b] = (uint16_t)k;
    }
    fprintf(out, "const uint16_t %s_stage1[%zu] = {", name, nblocks);
    for (size_t b = 0; b < nblocks; b++) fprintf(out, "%s%u", sep(b, 24), stage1[b]);
    fprintf(out, "};\nconst uint16_t %s_stage2[%zu] = {", name, nb * BLOCK);
    for (size_t i = 0; i < nb * BLOCK; i++) fprintf(out, "%s%u", sep(i, 24), blocks[i]);
    fprintf(out, "};\n");
    free(stage1);
    free(blocks);
}

static void emit_two_stage_u8(const char *name, const uint8_t *v) {
    size_t nblocks = NCP / BLOCK;
    uint16_t *stage1 = malloc(nblocks * sizeof *stage1);
    uint8_t *blocks = malloc(NCP);
    size_t nb = 0;
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *src = v + b * BLOCK;
        size_t k;
        for (k = 0; k < nb; k++)
            if (!memcmp(blocks + k * BLOCK, src, BLOCK)) break;
        if (k == nb) memcpy(blocks + nb++ * BLOCK, src, BLOCK);
        stage1[b] = (uint16_t)k;
    }
    fprintf(out, "const uint16_t %s_stage1[%zu] = {", name, nblocks);
    for (size_t b = 0; b < nblocks; b++) fprintf(out, "%s%u", sep(b, 24), stage1[b]);
    fprintf(out, "};\nconst uint8_t %s_stage2[%zu] = {", name, nb * BLOCK);
    for (size_t i = 0; i < nb * BLOCK; i++) fprintf(out, "%s%u", sep(i, 32), blocks[i]);
    fprintf(out, "};\n");
    free(stage1);
    free(blocks);
}

static void emit_pairs(const char *name, const uint32_t *map) {
    size_t n = 0;
    for (uint32_t c = 0; c < NCP; c++)
        if (map[c]) n++;
    fprintf(out, "const uint32_t %s[%zu][2] = {", name, n ? n : 1);
    size_t k = 0;
    for (uint32_t c = 0; c < NCP; c++)
        if (map[c]) fprintf(out, "%s{0x%X,0x%X}", sep(k++, 6), c, map[c]);
    if (!n) fprintf(out, "{0,0}");
    fprintf(out, "};\nconst size_t %s_count = %zu;\n", name, n);
}

static void emit_decomps(const char *name, int compat) {
    /* entries: cp, pool offset, length; pool: the expanded code points */
    size_t n = 0, pool = 0;
    uint32_t buf[64];
    for (uint32_t c = 0; c < NCP; c++) {
        int32_t i = decomp_index[c];
        if (i < 0 || (decomps[i].compat && !compat)) continue;
        int m = expand(c, compat, buf, 64);
        if (m < 0) {
            fprintf(stderr, "llmc_unicode_gen: decomposition of U+%04X too long\n", c);
            exit(1);
        }
        n++;
        pool += (size_t)m;
    }
    fprintf(out, "const uint32_t %s_pool[%zu] = {", name, pool);
    size_t k = 0;
    for (uint32_t c = 0; c < NCP; c++) {
        int32_t i = decomp_index[c];
        if (i < 0 || (decomps[i].compat && !compat)) continue;
        int m = expand(c, compat, buf, 64);
        for (int j = 0; j < m; j++) fprintf(out, "%s0x%X", sep(k++, 10), buf[j]);
    }
    fprintf(out, "};\nconst uint32_t %s[%zu][3] = {", name, n);
    size_t off = 0;
    k = 0;
    for (uint32_t c = 0; c < NCP; c++) {
        int32_t i = decomp_index[c];
        if (i < 0 || (decomps[i].compat && !compat)) continue;
        int m = expand(c, compat, buf, 64);
        fprintf(out, "%s{0x%X,%zu,%d}", sep(k++, 6), c, off, m);
        off += (size_t)m;
    }
    fprintf(out, "};\nconst size_t %s_count = %zu;\n", name, n);
}

static int cmp_comp(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    if (x[1] != y[1]) return x[1] < y[1] ? -1 : 1;
    return 0;
}

static void emit_compositions(void) {
    /* primary composites: canonical decompositions of exactly two code points, not excluded */
    uint32_t(*c3)[3] = malloc(n_decomps * sizeof *c3);
    size_t n = 0;
    for (size_t i = 0; i < n_decomps; i++) {
        const raw_decomp *r = &decomps[i];
        if (r->compat || r->n != 2 || (props[r->cp] & P_COMP_EXCLUDED)) continue;
        c3[n][0] = r->to[0];
        c3[n][1] = r->to[1];
        c3[n][2] = r->cp;
        n++;
    }
    qsort(c3, n, sizeof *c3, cmp_comp);
    fprintf(out, "const uint32_t llmc_uc_compose[%zu][3] = {", n);
    for (size_t i = 0; i < n; i++) fprintf(out, "%s{0x%X,0x%X,0x%X}", sep(i, 5), c3[i][0], c3[i][1], c3[i][2]);
    fprintf(out, "};\nconst size_t llmc_uc_compose_count = %zu;\n", n);
    free(c3);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: llmc_unicode_gen UCD_DIR OUT.c\n");
        return 2;
    }
    ucd_dir = argv[1];
    read_age();
    read_unicode_data();
    read_binary_props("PropList.txt", "White_Space", P_WHITE_SPACE);
    read_binary_props("PropList.txt", "Join_Control", P_JOIN_CONTROL);
    read_binary_props("DerivedCoreProperties.txt", "Alphabetic", P_ALPHABETIC);
    read_binary_props("DerivedNormalizationProps.txt", "Full_Composition_Exclusion", P_COMP_EXCLUDED);
    read_special_casing();
    read_case_folding();
    legacy_categories();

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "llmc_unicode_gen: cannot write %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    fprintf(out, "/* Generated by core/unicode/gen_unicode.c from %s. Do not edit. */\n", ucd_dir);
    fprintf(out, "#include <stddef.h>\n#include <stdint.h>\n\n");
    emit_two_stage_u16("llmc_uc_props", props);
    emit_two_stage_u8("llmc_uc_ccc", ccc);
    emit_two_stage_u8("llmc_uc_legacy_gc8", legacy_gc8);
    emit_two_stage_u8("llmc_uc_legacy_gc9", legacy_gc9);
    emit_pairs("llmc_uc_lower_map", lower_single);
    fprintf(out, "const uint32_t llmc_uc_lower_multi[%zu][4] = {", n_special_lower ? n_special_lower : 1);
    for (size_t i = 0; i < n_special_lower; i++)
        fprintf(out, "%s{0x%X,0x%X,0x%X,0x%X}", i ? "," : "", special_lower[i].cp, special_lower[i].to[0],
                special_lower[i].to[1], special_lower[i].n > 2 ? special_lower[i].to[2] : 0);
    if (!n_special_lower) fprintf(out, "{0,0,0,0}");
    fprintf(out, "};\nconst size_t llmc_uc_lower_multi_count = %zu;\n", n_special_lower);
    emit_pairs("llmc_uc_fold_map", fold_single);
    emit_decomps("llmc_uc_canon", 0);
    emit_decomps("llmc_uc_compat", 1);
    emit_compositions();
    if (fclose(out) != 0 || rename(tmp, argv[2]) != 0) {
        fprintf(stderr, "llmc_unicode_gen: cannot write %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    return 0;
}
