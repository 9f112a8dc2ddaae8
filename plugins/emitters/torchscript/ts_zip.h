/* torchscript emitter — a small streaming zip writer, laid out as torch's PyTorchStreamWriter
 * (caffe2/serialize/inline_container.cc, miniz underneath) writes its archives:
 *
 *   - every entry stored (method 0), general purpose flags 0x0808 (UTF-8 name, sizes and CRC in
 *     a data descriptor after the data), DOS time and date 0;
 *   - the local header's extra field ends with a "FB" record of 'Z' bytes that pads the entry's
 *     data to a multiple of 64 bytes from the start of the file (torch's kFieldAlignment), so a
 *     reader can map tensor data in place;
 *   - ZIP64 where a size or an offset needs it: an entry of 0xFFFFFFFF bytes or more gets a
 *     ZIP64 extra record (sizes) in its local header and a 64-bit data descriptor; the central
 *     directory carries a ZIP64 extra record for every field that does not fit 32 bits (the
 *     32-bit field then holds 0xFFFFFFFF); the archive always ends with a ZIP64 end-of-central-
 *     directory record and locator before the classic end record, as torch writes it.
 *
 * Entries are written front to back and never revisited: an entry's data is streamed straight
 * to the FILE (by the caller, between ts_zip_begin and ts_zip_end) and its CRC-32 and size go
 * in the data descriptor, so nothing is ever held whole in memory or patched afterwards. The
 * central directory (a few dozen bytes per entry) is kept until ts_zip_finish. */
#ifndef LLMC_TS_ZIP_H
#define LLMC_TS_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/diag.h"

#define TS_ZIP_ALIGN 64u                 /* data alignment of every entry */
#define TS_ZIP_MAX32 0xFFFFFFFFu         /* a 32-bit field at this value defers to ZIP64 */

/* ---- CRC-32 (ISO-HDLC, the zip polynomial 0x04C11DB7 reflected) ---------------------------- */
/* crc of the bytes so far (start with 0), extended by p[0..n) */
uint32_t ts_crc32(uint32_t crc, const void *p, size_t n);
/* crc(A || B) from crc(A), crc(B) and the length of B, in O(log len_b) */
uint32_t ts_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* ---- layout rules (pure; exposed for the unit test) ------------------------------------------- */
typedef struct ts_zip_local {
    bool zip64;          /* size >= 0xFFFFFFFF: ZIP64 extra record + 64-bit data descriptor */
    uint16_t extra_len;  /* local extra field: [ZIP64 record (20 bytes)] + "FB" record (4 + pad) */
    uint16_t pad;        /* 'Z' bytes in the "FB" record */
    uint64_t data_at;    /* file offset of the entry's first data byte (a multiple of 64) */
    uint64_t end;        /* file offset after the data descriptor */
} ts_zip_local;
/* Where the pieces of an entry with a name of name_len bytes and size bytes of data go when its
 * local header starts at offset. Returns -1 if a field would overflow 64 bits. */
int ts_zip_plan(uint64_t offset, size_t name_len, uint64_t size, ts_zip_local *out);

/* ---- the writer ----------------------------------------------------------------------------------- */
typedef struct ts_zip ts_zip;

/* f: opened for writing, positioned at 0. label names the file in messages. */
ts_zip *ts_zip_create(FILE *f, const char *label, llmc_diags *d);
void ts_zip_free(ts_zip *z);

/* Start an entry of exactly `size` bytes: writes its local header. The caller then writes the
 * data to the FILE itself (in any number of writes) and calls ts_zip_end with its CRC-32. */
int ts_zip_begin(ts_zip *z, const char *name, uint64_t size, llmc_diags *d);
/* Checks that exactly `size` bytes were written, then writes the data descriptor. */
int ts_zip_end(ts_zip *z, uint32_t crc, llmc_diags *d);
/* An entry from memory (begin, write, end). */
int ts_zip_add(ts_zip *z, const char *name, const void *data, size_t n, llmc_diags *d);
/* The central directory and the end records. Does not close the FILE. */
int ts_zip_finish(ts_zip *z, llmc_diags *d);

#endif
