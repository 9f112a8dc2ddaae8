/* llmc SDK — SHA-256 (FIPS 180-4): output checksums and the one provenance hash every artifact
 * carries (llmc_spec_sha256 in llmc/spec.h). */
#ifndef LLMC_SHA256_H
#define LLMC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "llmc/export.h"

typedef struct llmc_sha256 {
    uint32_t h[8];
    uint64_t len;       /* bytes hashed so far */
    uint8_t buf[64];
    size_t n;           /* bytes in buf */
} llmc_sha256;

LLMC_API void llmc_sha256_init(llmc_sha256 *s);
LLMC_API void llmc_sha256_update(llmc_sha256 *s, const void *data, size_t len);
LLMC_API void llmc_sha256_final(llmc_sha256 *s, uint8_t out[32]);
/* one-shot, as 64 lowercase hex digits + NUL */
LLMC_API void llmc_sha256_hex(const void *data, size_t len, char out[65]);

#endif
