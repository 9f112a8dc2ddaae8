/* Test plugin: a template built against the ABI 1 SDK (manifest abi_version 1, the ABI 1
 * template vtable). ABI 2 changed llmc_param_desc, llmc_tensor_info, llmc_op_info and
 * llmc_emit_ctx, so the host must refuse it after reading only abi_version and tell the
 * author to rebuild against the ABI 2 SDK. */
#include "llmc/plugin.h"

static int build_ir(const llmc_spec *spec, const llmc_dims *dims, llmc_ir *ir, llmc_diags *d) {
    (void)spec;
    (void)dims;
    (void)ir;
    llmc_error(d, "template", "abi1 must never be called");
    return 1;
}

static const llmc_template_vtable vt = {sizeof vt, NULL, NULL, NULL, NULL, build_ir};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_TEMPLATE, "abi1_template", "1.0.0", "built against the ABI 1 SDK", &vt}};

LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void);
LLMC_PLUGIN_EXPORT const llmc_plugin_manifest *llmc_plugin_entry(void) {
    static const llmc_plugin_manifest m = {1, 1, plugins};
    return &m;
}
