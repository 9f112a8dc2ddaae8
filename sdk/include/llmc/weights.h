/* llmc — the weight source: where every weight-carrying emitter gets tensor data.
 *
 * All emitters pull the *same* values for the same spec, so backends can be compared
 * logit for logit. Data is pulled in chunks (element ranges), converted to the dtype the
 * emitter asks for; nothing ever holds the whole model in memory.
 *
 * Two kinds of source:
 *  - init: element i of parameter T is a pure function of (seed, T's name, i), drawn with a
 *    counter-based generator (Philox-4x32-10) and shaped by T's init rule in the IR
 *    (normal(0, std), ones, zeros). Any element range can be produced independently, so
 *    results do not depend on chunk sizes, thread counts or order. Scheme: docs/weights.md.
 *  - checkpoint: a safetensors file or a sharded "*.safetensors.index.json", memory-mapped,
 *    validated as untrusted input, whose tensors are matched to the IR through the storage
 *    layout (below); dtype is converted on read, every value is checked for NaN/Inf on read
 *    (unless allow_nonfinite), and a file that shrinks while it is read fails the read with an
 *    error instead of SIGBUS.
 *
 * Storage layout ("views"). Artifacts do not always store a parameter exactly as the IR holds
 * it: GPT-2 checkpoints fuse q/k/v into one `c_attn` and store Conv1D weights transposed
 * ([in, out]); llama.cpp's `llama` arch wants Q/K rows permuted for its interleaved RoPE.
 * A view describes one stored tensor as a function of IR parameters: the concatenation of
 * 1..LLMC_VIEW_MAX_PARTS parameters along dim 0, then optionally a transform. The HF layout
 * (llmc_layout_hf) is what the safetensors emitter writes and the checkpoint reader reads.
 *
 * Every read function is thread-safe: several threads may read from one source at once. */
#ifndef LLMC_WEIGHTS_H
#define LLMC_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmc/diag.h"
#include "llmc/export.h"
#include "llmc/ir.h"
#include "llmc/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dtype conversion (round to nearest even; NaN stays NaN) ----------------------- */
LLMC_API uint16_t llmc_f32_to_f16(float f);
LLMC_API float llmc_f16_to_f32(uint16_t h);
LLMC_API uint16_t llmc_f32_to_bf16(float f);
LLMC_API float llmc_bf16_to_f32(uint16_t h);
/* Convert n floats to dt (F32, F16 or BF16) into out. Returns 0, or -1 for another dtype. */
LLMC_API int llmc_convert_from_f32(const float *in, size_t n, llmc_dtype dt, void *out);
/* n values of dt (F32, F16 or BF16; in may be unaligned) as float32 into out. out may start where in
 * starts (widening in place); no other overlap. Returns 0, or -1 for another dtype. */
LLMC_API int llmc_convert_to_f32(const void *in, size_t n, llmc_dtype dt, float *out);

/* ---- views: stored tensors as functions of IR parameters ---------------------------- */
#define LLMC_VIEW_MAX_PARTS 4
#define LLMC_VIEW_NAME_MAX 160

typedef enum llmc_view_transform {
    LLMC_VIEW_IDENTITY = 0,   /* stored = concat(parts) */
    LLMC_VIEW_TRANSPOSE,      /* 2-D: stored[c][r] = concat(parts)[r][c] (Conv1D [in, out]) */
    LLMC_VIEW_ROPE_PERMUTE,   /* 2-D [n_head*head_dim, in]: within each head, rows reordered from
                                 rotate-half order to interleaved pairs (llama.cpp `llama` arch):
                                 stored row h*d + 2*i + j = source row h*d + j*d/2 + i */
    LLMC_VIEW_EXPERT          /* one expert of a stacked [E, out, in] parameter (one part): stored
                                 [out, in] = part[index]; the E views of a stack cover it together */
} llmc_view_transform;

typedef struct llmc_tensor_view {
    char name[LLMC_VIEW_NAME_MAX];    /* stored name, e.g. "transformer.h.0.attn.c_attn.weight" */
    int rank;
    int64_t shape[LLMC_IR_MAX_RANK];  /* stored shape, row-major */
    int n_parts;
    llmc_tid parts[LLMC_VIEW_MAX_PARTS];
    llmc_view_transform transform;
    int64_t n_head;                   /* LLMC_VIEW_ROPE_PERMUTE: number of heads in the rows */
    int64_t index;                    /* LLMC_VIEW_EXPERT: which expert of the stack */
} llmc_tensor_view;

/* A list of views covering parameters of an IR (each parameter in exactly one view). */
typedef struct llmc_layout {
    llmc_tensor_view *views;
    size_t n_views;
    char family[64];          /* "llama", "mistral", "qwen2", "gpt2", "t5", or "llmc_<template>" */
    char hf_architecture[64]; /* "LlamaForCausalLM", ... or "" when no transformers class fits */
} llmc_layout;

/* Identity layout: one view per IR parameter, in IR order, with IR names. */
LLMC_API int llmc_layout_identity(const llmc_ir *ir, llmc_layout *out, llmc_diags *d);
/* The Hugging Face layout of the family the spec matches (docs/weights.md lists the rules):
 * llama/mistral/qwen2 keep IR names; gpt2 renames, fuses q/k/v into c_attn and transposes
 * Conv1D weights; t5 keeps IR names. Specs no transformers class expresses keep IR names and
 * get family "llmc_<template>" with an empty hf_architecture. */
LLMC_API int llmc_layout_hf(const llmc_spec *spec, const llmc_ir *ir, llmc_layout *out, llmc_diags *d);
LLMC_API void llmc_layout_free(llmc_layout *l);
LLMC_API uint64_t llmc_view_numel(const llmc_tensor_view *v);
/* Is the view with this name in the layout? index or -1 */
LLMC_API long llmc_layout_find(const llmc_layout *l, const char *name);

/* ---- the source ------------------------------------------------------------------------- */
typedef struct llmc_weight_source llmc_weight_source;

typedef enum llmc_weight_source_kind { LLMC_WEIGHTS_INIT = 0, LLMC_WEIGHTS_CHECKPOINT } llmc_weight_source_kind;

/* Deterministic initialisation of every parameter of ir, per its init rule, from seed. */
LLMC_API llmc_weight_source *llmc_weights_create_init(const llmc_ir *ir, uint64_t seed, llmc_diags *d);
/* Open a checkpoint: a .safetensors file or a *.safetensors.index.json. Its tensors are
 * matched against `layout` (usually llmc_layout_hf of the same spec): every missing,
 * unexpected or mis-shaped tensor is listed in d in one go, and NULL is returned. The
 * layout must outlive the source. */
LLMC_API llmc_weight_source *llmc_weights_open_checkpoint(const char *path, const llmc_ir *ir,
                                                          const llmc_layout *layout, llmc_diags *d);

/* What a failed checkpoint open or read ran into: bad content of the input (exit 1 in llmc) or
 * an I/O error (exit 4). */
typedef enum llmc_weights_error {
    LLMC_WEIGHTS_OK = 0,
    LLMC_WEIGHTS_BAD_DATA,   /* malformed safetensors, tensors that do not match, NaN/Inf values */
    LLMC_WEIGHTS_IO_ERROR    /* cannot open, read or map a file, or it shrank while it was read */
} llmc_weights_error;

typedef struct llmc_checkpoint_params {
    /* Import NaN and infinities as they are. By default every value read from the checkpoint is
     * checked (fused into the conversion pass) and the first NaN/Inf fails the read with an
     * error naming the file, the tensor and the element. */
    bool allow_nonfinite;
} llmc_checkpoint_params;
LLMC_API llmc_checkpoint_params llmc_checkpoint_default_params(void);

/* llmc_weights_open_checkpoint with options (p NULL: the defaults). On failure, *why (when
 * why is not NULL) says which kind of error it was. */
LLMC_API llmc_weight_source *llmc_weights_open_checkpoint_with(const char *path, const llmc_ir *ir,
                                                               const llmc_layout *layout,
                                                               const llmc_checkpoint_params *p,
                                                               llmc_weights_error *why, llmc_diags *d);
/* The kind of the first failed read of ws, LLMC_WEIGHTS_OK while none failed. A checkpoint
 * read that failed is reported once; later reads of the same source fail without repeating it. */
LLMC_API llmc_weights_error llmc_weights_failure(const llmc_weight_source *ws);
LLMC_API void llmc_weights_free(llmc_weight_source *ws);
LLMC_API llmc_weight_source_kind llmc_weights_kind(const llmc_weight_source *ws);
LLMC_API uint64_t llmc_weights_seed(const llmc_weight_source *ws);        /* init sources */
LLMC_API const char *llmc_weights_path(const llmc_weight_source *ws);     /* checkpoint sources */

/* Elements [offset, offset + count) of IR parameter t, row-major in the IR shape, as dt
 * (F32, F16 or BF16). Returns 0, or non-zero with an error in d (d may be NULL). */
LLMC_API int llmc_weights_read(llmc_weight_source *ws, llmc_tid t, uint64_t offset, uint64_t count,
                               llmc_dtype dt, void *out, llmc_diags *d);
/* Same, for the elements of a stored view (row-major in the view's shape). */
LLMC_API int llmc_weights_read_view(llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t offset,
                                    uint64_t count, llmc_dtype dt, void *out, llmc_diags *d);

/* ---- streaming writes -------------------------------------------------------------------- */
/* Write the whole view as dt to f, generating/converting chunks on `threads` threads and
 * writing them in order; memory stays at a few chunk buffers per thread. If progress is
 * non-NULL it is advanced by the bytes written. Returns 0, or non-zero with an error in d. */
struct llmc_progress;
LLMC_API int llmc_weights_write_view(llmc_weight_source *ws, const llmc_tensor_view *v, llmc_dtype dt, FILE *f,
                                     int threads, struct llmc_progress *progress, llmc_diags *d);

/* Generic ordered parallel producer for emitters with their own encodings (quantized blocks,
 * packed layouts): produce(user, chunk_index, buf, &len) fills buf (capacity chunk_bytes) for
 * chunk_index in [0, n_chunks) on worker threads; the chunks are written to f in index order.
 * produce returns 0 on success; a non-zero return stops the run and is returned. */
typedef int (*llmc_chunk_fn)(void *user, uint64_t chunk_index, void *buf, size_t *len, llmc_diags *d);
LLMC_API int llmc_write_chunks_ordered(FILE *f, uint64_t n_chunks, size_t chunk_bytes, llmc_chunk_fn produce,
                                       void *user, int threads, struct llmc_progress *progress, llmc_diags *d);

/* ---- safetensors reading (untrusted input) ------------------------------------------------- */
typedef struct llmc_st_file llmc_st_file;
typedef struct llmc_st_tensor {
    const char *name;
    char dtype[8];            /* "F32", "F16", "BF16", "F64", "I64", ... as written */
    int rank;
    int64_t shape[8];
    uint64_t begin, end;      /* data_offsets, relative to the data section */
} llmc_st_tensor;
/* Open and validate: header length within the file, JSON object, every entry a known dtype,
 * shapes whose byte size matches data_offsets without overflow, offsets inside the file,
 * no overlaps, no gaps (the spec's rule), __metadata__ string -> string. Errors name the tensor. */
LLMC_API llmc_st_file *llmc_st_open(const char *path, llmc_diags *d);
/* Same over a memory buffer (for the fuzzer); the buffer must outlive the handle. */
LLMC_API llmc_st_file *llmc_st_open_buffer(const void *data, size_t len, const char *name, llmc_diags *d);
LLMC_API void llmc_st_close(llmc_st_file *f);
LLMC_API size_t llmc_st_num_tensors(const llmc_st_file *f);
LLMC_API const llmc_st_tensor *llmc_st_tensor_at(const llmc_st_file *f, size_t i);
LLMC_API const llmc_st_tensor *llmc_st_find(const llmc_st_file *f, const char *name);
/* The tensor's bytes in the file's mapping. Reading them faults (SIGBUS) if another process
 * truncates the file meanwhile; llmc_st_read does not. */
LLMC_API const void *llmc_st_data(const llmc_st_file *f, const llmc_st_tensor *t); /* begin of its bytes */
/* Copy bytes [offset, offset + n) of tensor t's data into out. 0, or -1 with an error naming
 * the file and the tensor when the range is outside the tensor or the file shrank underneath. */
LLMC_API int llmc_st_read(const llmc_st_file *f, const llmc_st_tensor *t, uint64_t offset, size_t n, void *out,
                          llmc_diags *d);
LLMC_API const char *llmc_st_metadata(const llmc_st_file *f, const char *key);      /* or NULL */

#ifdef __cplusplus
}
#endif
#endif
