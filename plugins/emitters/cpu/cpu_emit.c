/* The cpu emitter plugin: OUT/cpu/ holds a C inference program specialised to the compiled model
 * (model_config.h + the fixed runtime sources + Makefile + README) and its packed weights
 * (model.bin). `make -C OUT/cpu` builds OUT/cpu/llmc-run; `llmc run OUT ...` builds and runs it.
 * docs/cpu.md describes the design, the file format and the measured speed. */
#include <stdio.h>
#include <string.h>

#include "cpu_emit.h"
#include "llmc/quant.h"

/* the spec's sizes, and whether the runtime computes what the graph says (block wiring, norms,
 * positions, parameter roles, Gemma's options as the IR states them: cpu_plan.c), before anything
 * is written */
static int check(const llmc_spec *spec, const llmc_ir *ir, llmc_diags *d) {
    cpu_model m;
    int rc = cpu_model_read(spec, ir, &m, d);
    if (cpu_check_spec(spec, d) || rc) return -1;
    /* the K-quant mixes choose each matrix's type from its shape and role: plan now, so that a
     * matrix llama.cpp would store in a type llmc does not write is refused before anything is written */
    llmc_kquant_mix mix;
    /* sparse experts: the plan checks the expert rows fit whole panels, before anything is written */
    if (llmc_quantize_kquant_mix(spec->quantize, &mix) && !llmc_ir_has_moe(ir)) return 0;
    cpu_plan plan;
    rc = cpu_plan_build(spec, NULL, ir, &plan, d);
    cpu_plan_free(&plan);
    return rc ? -1 : 0;
}

/* solved dims must fit the runtime's int sizes too */
static int check_dims(const llmc_dims *dm, llmc_diags *d) {
    for (int i = 0; i < LLMC_DIM_COUNT; i++)
        if (llmc_dims_has(dm, (llmc_dim_id)i) && dm->v[i] > ((int64_t)1 << 30)) {
            llmc_error(d, "cpu", "dims.%s = %lld is larger than the CPU runtime supports (2^30)",
                       llmc_dim_name((llmc_dim_id)i), (long long)dm->v[i]);
            return -1;
        }
    return 0;
}

static int emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    if (!ctx->weights) {
        llmc_error(d, "cpu", "no weight source: the cpu emitter writes weights and needs the pipeline's weight source");
        return -1;
    }
    if (check_dims(ctx->dims, d)) return -1;
    cpu_plan plan;
    int rc = cpu_plan_build(ctx->spec, ctx->dims, ctx->ir, &plan, d);
    if (!rc) rc = cpu_write_sources(ctx, &plan, d);   /* sets plan.config_hash for the header */
    if (!rc) rc = cpu_write_model(ctx, &plan, d);
    if (!rc) {
        char role[160];
        snprintf(role, sizeof role, "CPU runtime weights (%s matrices in 16-row panels)", plan.weight_name);
        if (llmc_out_register(ctx, "cpu/model.bin", role)) {
            llmc_error(d, "cpu", "could not record 'cpu/model.bin' in the compilation report");
            rc = -1;
        }
    }
    cpu_plan_free(&plan);
    return rc ? -1 : 0;
}

static const llmc_emitter_vtable vt = {sizeof vt, check, emit, cpu_verify};
static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, "cpu", "1.0.0",
     "C inference program specialised to the model (make -C OUT/cpu): F32/F16/BF16/Q8_0/Q4_0/Q6_K/Q5_K_M/Q4_K_M/Q5_K_S/Q4_K_S, AVX-512/AVX2/portable", &vt},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
