/* Shared by the pytorch, torchscript, gguf and cpu emitters: until they generate code from the
 * IR graph (issue 18, point 3) they write the graphs of the built-in templates -- sequential
 * pre-norm blocks, llama-style or T5-style parameter names. This check refuses any other graph
 * before anything is written, saying what differs, from the graph's declared structure, blocks
 * and roles rather than from the template's name. */
#ifndef LLMC_EMIT_BUILTIN_H
#define LLMC_EMIT_BUILTIN_H

#include <string.h>

#include "llmc/plugin.h"

static inline int emit_builtin_graph_check(const llmc_spec *s, const llmc_ir *ir, const char *emitter,
                                           llmc_diags *d) {
    llmc_ir_structure st = llmc_ir_get_structure(ir);
    const llmc_ir_block *odd = llmc_ir_first_block_not_pre_sequential(ir);
    if (odd) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "template"), "template",
                      "the %s emitter writes sequential pre-norm blocks; block %s %d of template %s is %s with %s "
                      "norms (emit safetensors and ir.json for it)",
                      emitter, llmc_stack_name(odd->stack), odd->layer, s->template_name,
                      llmc_residual_name(odd->residual), llmc_norm_placement_name(odd->norm_placement));
        return -1;
    }
    const char *want = st == LLMC_STRUCTURE_ENCODER_DECODER ? "shared.weight" : "model.embed_tokens.weight";
    llmc_tid e = llmc_ir_find_param(ir, LLMC_ROLE_TOKEN_EMBEDDING, false, LLMC_STACK_NONE, -1, LLMC_NORM_SITE_NONE);
    const llmc_tensor_info *t = llmc_ir_tensor(ir, e);
    if (st == LLMC_STRUCTURE_UNSET || !t || strcmp(t->name, want)) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "template"), "template",
                      "the %s emitter writes the parameter layout of the decoder_only and encoder_decoder templates "
                      "(token embedding '%s'); template %s names it '%s' (emit safetensors and ir.json for it)",
                      emitter, want, s->template_name, t ? t->name : "(none)");
        return -1;
    }
    return 0;
}

#endif
