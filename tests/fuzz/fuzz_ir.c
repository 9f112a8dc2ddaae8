/* libFuzzer target for the ir.json reader: the input is read as ir.json and every
 * diagnostic is formatted. A graph that reads must be valid, must survive counting,
 * ordering and DOT output, and must round-trip exactly: to_json, read back, to_json again
 * gives the same text and the same parameter count. Anything else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc/ir.h"

static void format_all(const llmc_diags *d) {
    char buf[256];
    for (size_t i = 0; i < llmc_diags_size(d); i++) llmc_diag_format(llmc_diags_get(d, i), buf, sizeof buf);
}

static void check_graph(const llmc_ir *ir) {
    llmc_diags *d = llmc_diags_create();
    if (llmc_ir_validate(ir, d) != 0) abort(); /* the reader only returns valid graphs */
    size_t n = llmc_ir_num_ops(ir);
    int32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order || llmc_ir_topo_order(ir, order, d) != 0) abort();
    free(order);
    llmc_param_count c1, c2;
    int rc1 = llmc_ir_count_params(ir, &c1, d);

    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (devnull && llmc_ir_write_dot(ir, devnull) != 0) abort();

    char *first = llmc_ir_to_json(ir);
    if (!first) abort();
    llmc_ir *again = llmc_ir_from_json(first, strlen(first), "again.json", d);
    if (!again) abort(); /* what we write, we read */
    char *second = llmc_ir_to_json(again);
    if (!second || strcmp(first, second) != 0) abort();
    int rc2 = llmc_ir_count_params(again, &c2, d);
    if (rc1 != rc2 || (rc1 == 0 && memcmp(&c1, &c2, sizeof c1) != 0)) abort();
    format_all(d);
    free(first);
    free(second);
    llmc_ir_free(again);
    llmc_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llmc_diags *d = llmc_diags_create();
    llmc_ir *ir = llmc_ir_from_json((const char *)data, size, "fuzz.json", d);
    format_all(d);
    if (ir) check_graph(ir);
    else if (llmc_diags_errors(d) == 0) abort(); /* refused without a reason */
    llmc_ir_free(ir);
    llmc_diags_free(d);
    return 0;
}
