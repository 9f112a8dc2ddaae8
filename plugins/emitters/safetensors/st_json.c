/* safetensors emitter — JSON text as Python's json.dumps(obj, indent=2, sort_keys=True)
 * writes it, which is how transformers writes config.json, generation_config.json and
 * model.safetensors.index.json. Matching it keeps our files diff-able against real ones. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_emit.h"

static void indent(llmc_strbuf *b, int level) {
    llmc_strbuf_puts(b, "\n");
    for (int i = 0; i < level; i++) llmc_strbuf_puts(b, "  ");
}

/* Python's repr(float): the shortest digits that read back to the same double, fixed
 * notation for exponents in [-4, 16), else d.ddde+XX; integral values get ".0". */
static void put_real(llmc_strbuf *b, double x) {
    char out[64], tmp[40];
    if (!isfinite(x)) { /* JSON has no inf/nan; Python would write Infinity/NaN */
        llmc_strbuf_puts(b, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (x == 0) {
        llmc_strbuf_puts(b, signbit(x) ? "-0.0" : "0.0");
        return;
    }
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        if (strtod(tmp, NULL) == x) break;
    }
    /* tmp = [-]d[.ddd]e[+-]XX */
    char digits[24];
    size_t nd = 0;
    const char *c = tmp;
    int neg = *c == '-';
    if (neg) c++;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') digits[nd++] = *c;
    int e = atoi(c + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    size_t k = 0;
    if (neg) out[k++] = '-';
    if (e >= -4 && e < 16) {
        if (e >= 0) {
            for (int i = 0; i <= e; i++) out[k++] = (size_t)i < nd ? digits[i] : '0';
            out[k++] = '.';
            if ((size_t)e + 1 < nd)
                for (size_t i = (size_t)e + 1; i < nd; i++) out[k++] = digits[i];
            else
                out[k++] = '0';
        } else {
            out[k++] = '0';
            out[k++] = '.';
            for (int i = 0; i < -e - 1; i++) out[k++] = '0';
            for (size_t i = 0; i < nd; i++) out[k++] = digits[i];
        }
        out[k] = '\0';
    } else {
        out[k++] = digits[0];
        if (nd > 1) {
            out[k++] = '.';
            for (size_t i = 1; i < nd; i++) out[k++] = digits[i];
        }
        snprintf(out + k, sizeof out - k, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    llmc_strbuf_puts(b, out);
}

/* JSON string with ensure_ascii (non-ASCII as \uXXXX, surrogate pairs above U+FFFF) */
static void put_string(llmc_strbuf *b, const char *s) {
    llmc_strbuf_puts(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    char u[16];
    while (*p) {
        unsigned cp = *p;
        int len = 1;
        if (cp >= 0x80) {
            int need = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : -1;
            cp = need == 3 ? cp & 0x07 : need == 2 ? cp & 0x0f : cp & 0x1f;
            for (int i = 1; need > 0 && i <= need; i++) {
                if ((p[i] & 0xc0) != 0x80) { need = -1; break; }
                cp = (cp << 6) | (p[i] & 0x3f);
            }
            if (need < 0) cp = 0xfffd; else len = need + 1;
        }
        if (cp == '"') llmc_strbuf_puts(b, "\\\"");
        else if (cp == '\\') llmc_strbuf_puts(b, "\\\\");
        else if (cp == '\n') llmc_strbuf_puts(b, "\\n");
        else if (cp == '\r') llmc_strbuf_puts(b, "\\r");
        else if (cp == '\t') llmc_strbuf_puts(b, "\\t");
        else if (cp == '\b') llmc_strbuf_puts(b, "\\b");
        else if (cp == '\f') llmc_strbuf_puts(b, "\\f");
        else if (cp < 0x20 || (cp >= 0x80 && cp < 0x10000)) {
            snprintf(u, sizeof u, "\\u%04x", cp);
            llmc_strbuf_puts(b, u);
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            snprintf(u, sizeof u, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            llmc_strbuf_puts(b, u);
        } else {
            char ch = (char)cp;
            llmc_strbuf_append(b, &ch, 1);
        }
        p += len;
    }
    llmc_strbuf_puts(b, "\"");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void dump(llmc_strbuf *b, const json_t *v, int level) {
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        if (!n) { llmc_strbuf_puts(b, "{}"); return; }
        const char **keys = malloc(n * sizeof *keys);
        if (!keys) { b->oom = true; return; }
        size_t k = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        qsort(keys, n, sizeof *keys, cmp_str);
        llmc_strbuf_puts(b, "{");
        for (size_t i = 0; i < n; i++) {
            indent(b, level + 1);
            put_string(b, keys[i]);
            llmc_strbuf_puts(b, ": ");
            dump(b, json_object_get(v, keys[i]), level + 1);
            if (i + 1 < n) llmc_strbuf_puts(b, ",");
        }
        indent(b, level);
        llmc_strbuf_puts(b, "}");
        free(keys);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (!n) { llmc_strbuf_puts(b, "[]"); return; }
        llmc_strbuf_puts(b, "[");
        for (size_t i = 0; i < n; i++) {
            indent(b, level + 1);
            dump(b, json_array_get(v, i), level + 1);
            if (i + 1 < n) llmc_strbuf_puts(b, ",");
        }
        indent(b, level);
        llmc_strbuf_puts(b, "]");
        return;
    }
    case JSON_STRING: put_string(b, json_string_value(v)); return;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        llmc_strbuf_puts(b, num);
        return;
    case JSON_REAL: put_real(b, json_real_value(v)); return;
    case JSON_TRUE: llmc_strbuf_puts(b, "true"); return;
    case JSON_FALSE: llmc_strbuf_puts(b, "false"); return;
    case JSON_NULL: llmc_strbuf_puts(b, "null"); return;
    }
}

char *st_json_dump(const json_t *root) {
    llmc_strbuf b = LLMC_STRBUF_INIT;
    dump(&b, root, 0);
    llmc_strbuf_puts(&b, "\n");
    return llmc_strbuf_take(&b); /* NULL when out of memory */
}
