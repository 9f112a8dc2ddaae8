/* Unicode lookups over the generated tables, and the normalization forms (UAX #15: full
 * decomposition, canonical ordering, canonical composition; Hangul algorithmically). */
#include "tok_unicode.h"

#include <stdlib.h>
#include <string.h>

extern const uint16_t llmc_uc_legacy_gc8_stage1[];
extern const uint8_t llmc_uc_legacy_gc8_stage2[];
extern const uint16_t llmc_uc_legacy_gc9_stage1[];
extern const uint8_t llmc_uc_legacy_gc9_stage2[];
extern const uint16_t llmc_uc_ccc_stage1[];
extern const uint8_t llmc_uc_ccc_stage2[];
extern const uint32_t llmc_uc_lower_map[][2];
extern const size_t llmc_uc_lower_map_count;
extern const uint32_t llmc_uc_lower_multi[][4];
extern const size_t llmc_uc_lower_multi_count;
extern const uint32_t llmc_uc_fold_map[][2];
extern const size_t llmc_uc_fold_map_count;
extern const uint32_t llmc_uc_canon_pool[];
extern const uint32_t llmc_uc_canon[][3];
extern const size_t llmc_uc_canon_count;
extern const uint32_t llmc_uc_compat_pool[];
extern const uint32_t llmc_uc_compat[][3];
extern const size_t llmc_uc_compat_count;
extern const uint32_t llmc_uc_compose[][3];
extern const size_t llmc_uc_compose_count;

uint8_t llmc_uc_ccc(uint32_t cp) {
    if (cp >= 0x110000u) return 0;
    return llmc_uc_ccc_stage2[((uint32_t)llmc_uc_ccc_stage1[cp >> 7] << 7) | (cp & 127u)];
}

llmc_gc llmc_uc_gc8(uint32_t cp) {
    if (cp >= 0x110000u) return LLMC_GC_Cn;
    return (llmc_gc)llmc_uc_legacy_gc8_stage2[((uint32_t)llmc_uc_legacy_gc8_stage1[cp >> 7] << 7) | (cp & 127u)];
}

llmc_gc llmc_uc_gc_current(uint32_t cp) { return llmc_uc_gc(cp); }

llmc_gc llmc_uc_gc9(uint32_t cp) {
    if (cp >= 0x110000u) return LLMC_GC_Cn;
    return (llmc_gc)llmc_uc_legacy_gc9_stage2[((uint32_t)llmc_uc_legacy_gc9_stage1[cp >> 7] << 7) | (cp & 127u)];
}

/* binary search in a table sorted by its first column; returns the row or -1 */
static long find_row(const uint32_t *table, size_t stride, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t v = table[mid * stride];
        if (v == cp) return (long)mid;
        if (v < cp) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int llmc_uc_lower(uint32_t cp, uint32_t out[3]) {
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    if (!(llmc_uc_props(cp) & LLMC_UP_HAS_LOWER)) {
        out[0] = cp;
        return 1;
    }
    for (size_t i = 0; i < llmc_uc_lower_multi_count; i++)
        if (llmc_uc_lower_multi[i][0] == cp) {
            int n = 0;
            for (int k = 1; k < 4 && llmc_uc_lower_multi[i][k]; k++) out[n++] = llmc_uc_lower_multi[i][k];
            return n;
        }
    long r = find_row(&llmc_uc_lower_map[0][0], 2, llmc_uc_lower_map_count, cp);
    out[0] = r >= 0 ? llmc_uc_lower_map[r][1] : cp;
    return 1;
}

uint32_t llmc_uc_fold(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    if (!(llmc_uc_props(cp) & LLMC_UP_HAS_FOLD)) return cp;
    long r = find_row(&llmc_uc_fold_map[0][0], 2, llmc_uc_fold_map_count, cp);
    return r >= 0 ? llmc_uc_fold_map[r][1] : cp;
}

size_t llmc_utf8_valid_prefix(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII run, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int k = llmc_utf8_decode(u + i, n - i, &cp);
        if (cp & LLMC_UTF8_INVALID) return i;
        i += (size_t)k;
    }
    return n;
}

/* ---- normalization ------------------------------------------------------------------------------- */

enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21, TCOUNT = 28,
       NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

static int push(uint32_t **out, size_t *cap, size_t *n, uint32_t cp) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint32_t *p = realloc(*out, nc * sizeof *p);
        if (!p) return -1;
        *out = p;
        *cap = nc;
    }
    (*out)[(*n)++] = cp;
    return 0;
}

static int decompose_one(uint32_t cp, bool compat, uint32_t **out, size_t *cap, size_t *n) {
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t s = cp - SBASE;
        if (push(out, cap, n, LBASE + s / NCOUNT) || push(out, cap, n, VBASE + (s % NCOUNT) / TCOUNT)) return -1;
        if (s % TCOUNT && push(out, cap, n, TBASE + s % TCOUNT)) return -1;
        return 0;
    }
    if (llmc_uc_props(cp) & LLMC_UP_HAS_DECOMP) {
        const uint32_t(*table)[3] = compat ? llmc_uc_compat : llmc_uc_canon;
        const uint32_t *pool = compat ? llmc_uc_compat_pool : llmc_uc_canon_pool;
        size_t count = compat ? llmc_uc_compat_count : llmc_uc_canon_count;
        long r = find_row(&table[0][0], 3, count, cp);
        if (r >= 0) {
            for (uint32_t k = 0; k < table[r][2]; k++)
                if (push(out, cap, n, pool[table[r][1] + k])) return -1;
            return 0;
        }
    }
    return push(out, cap, n, cp);
}

static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    size_t lo = 0, hi = llmc_uc_compose_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const uint32_t *e = llmc_uc_compose[mid];
        if (e[0] == a && e[1] == b) return e[2];
        if (e[0] < a || (e[0] == a && e[1] < b)) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

long llmc_uc_normalize(llmc_nf form, const uint32_t *in, size_t n, uint32_t **out, size_t *cap) {
    bool compat = form == LLMC_NFKD || form == LLMC_NFKC;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (decompose_one(in[i], compat, out, cap, &m)) return -1;
    if (m == 0) return 0;
    uint32_t *s = *out;
    /* canonical ordering: stable insertion sort of each run of non-starters by ccc */
    for (size_t i = 1; i < m; i++) {
        uint8_t c = llmc_uc_ccc(s[i]);
        if (!c) continue;
        size_t j = i;
        uint32_t v = s[i];
        while (j > 0) {
            uint8_t pc = llmc_uc_ccc(s[j - 1]);
            if (pc <= c) break;
            s[j] = s[j - 1];
            j--;
        }
        s[j] = v;
    }
    if (form == LLMC_NFD || form == LLMC_NFKD) return (long)m;
    /* canonical composition */
    size_t starter = 0, w = 1;
    bool have_starter = llmc_uc_ccc(s[0]) == 0;
    int last_ccc = have_starter ? 0 : 256;
    for (size_t i = 1; i < m; i++) {
        uint32_t c = s[i];
        int cc = llmc_uc_ccc(c);
        if (have_starter) {
            bool blocked = last_ccc != 0 && last_ccc >= cc;
            /* a starter directly after the starter is not blocked; last_ccc == 0 then only
             * when nothing was kept between them (w == starter + 1) */
            if (last_ccc == 0 && w != starter + 1) blocked = true;
            if (!blocked) {
                uint32_t comp = compose_pair(s[starter], c);
                if (comp) {
                    s[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) {
            starter = w;
            have_starter = true;
            last_ccc = 0;
        } else {
            last_ccc = cc;
        }
        s[w++] = c;
    }
    return (long)w;
}
