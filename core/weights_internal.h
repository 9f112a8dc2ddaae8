/* Internal pieces of the weight source shared between core/weights*.c, core/layout.c and
 * core/safetensors_read.c (not part of the SDK). LLMC_API only where unit tests call them. */
#ifndef LLMC_CORE_WEIGHTS_INTERNAL_H
#define LLMC_CORE_WEIGHTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc/weights.h"

/* ---- init generator (weights_init.c) ----------------------------------------------------- */
/* The Philox key and the two fixed counter words of one parameter's stream. */
typedef struct llmc_init_stream {
    uint32_t key[2];
    uint32_t ctr_hi[2];   /* counter words 2 and 3; words 0 and 1 hold the pair index */
} llmc_init_stream;

LLMC_API uint64_t llmc_fnv1a64(const char *s);
LLMC_API uint64_t llmc_splitmix64(uint64_t x);
LLMC_API void llmc_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
LLMC_API llmc_init_stream llmc_init_stream_for(uint64_t seed, const char *name);
/* out[k] = element (offset + k) of normal(0, std) under stream s, for k < count. */
LLMC_API void llmc_init_normal_fill(const llmc_init_stream *s, double std, uint64_t offset, uint64_t count,
                                    float *out);
/* The same values rounded to bfloat16 (== llmc_f32_to_bf16 of the f32 values), in one pass. */
LLMC_API void llmc_init_normal_fill_bf16(const llmc_init_stream *s, double std, uint64_t offset, uint64_t count,
                                         uint16_t *out);
/* The scalar reference of the same values (slow, used by tests to check the fast path). */
LLMC_API float llmc_init_normal_ref(const llmc_init_stream *s, double std, uint64_t i);
/* Which Philox implementation to use (tests compare them); returns -1 if the CPU lacks it. */
enum { LLMC_INIT_ISA_AUTO = 0, LLMC_INIT_ISA_PORTABLE, LLMC_INIT_ISA_AVX2, LLMC_INIT_ISA_AVX512 };
LLMC_API int llmc_init_force_isa(int isa);
/* log(u) and (cos, sin)(2*pi*u) as the generator computes them, exposed for accuracy tests. */
LLMC_API double llmc_init_log(double u);
LLMC_API void llmc_init_sincos2pi(double u, double *c, double *s);

/* ---- the source object (weights.c, weights_checkpoint.c) ------------------------------------ */
typedef enum { LLMC_ST_F32 = 0, LLMC_ST_F16, LLMC_ST_BF16, LLMC_ST_F64 } llmc_st_float;

/* where an IR parameter lives in a checkpoint */
typedef struct llmc_ckpt_loc {
    const llmc_tensor_view *view; /* checkpoint layout view holding it */
    const llmc_st_file *f;        /* the file (shard) holding it */
    const llmc_st_tensor *t;      /* the stored tensor of that view */
    const uint8_t *data;          /* its bytes */
    llmc_st_float st;             /* its dtype */
    uint64_t row0;                /* first row of this part in the view's concatenation */
} llmc_ckpt_loc;

struct llmc_weight_source {
    llmc_weight_source_kind kind;
    const llmc_ir *ir;
    /* init */
    uint64_t seed;
    llmc_init_stream *streams;    /* per tensor id (parameters only) */
    /* checkpoint */
    char *path;
    const llmc_layout *layout;
    llmc_st_file **files;
    size_t n_files;
    llmc_ckpt_loc *loc;           /* per tensor id (parameters only) */
    llmc_ckpt_loc **expert_loc;   /* per tensor id: a stacked expert parameter's E locations (one stored
                                     tensor per expert, LLMC_VIEW_EXPERT), NULL for the others */
    bool allow_nonfinite;         /* import NaN/Inf as they are (else the first is a read error) */
    int failure;                  /* llmc_weights_error of the first failed read (atomic); reads of a
                                     failed source fail at once, without repeating the error */
};

/* Elements [off, off + count) of parameter t as f32 (range already checked). 0, or -1 with an
 * error naming the checkpoint file and tensor: the file shrank while it was read (SIGBUS
 * guarded), or a value is NaN/Inf (unless allow_nonfinite). */
int llmc_ckpt_param_f32(const llmc_weight_source *ws, llmc_tid t, uint64_t off, uint64_t count, float *out,
                        llmc_diags *d);
/* If v is exactly a view of the checkpoint's layout, read its stored bytes directly (raw copy
 * when dt is the stored dtype) and return 1; 0 if v is not stored as such; -1 on a failure as
 * above. */
int llmc_ckpt_view_direct(const llmc_weight_source *ws, const llmc_tensor_view *v, uint64_t off, uint64_t count,
                          llmc_dtype dt, void *out, llmc_diags *d);
void llmc_ckpt_free(llmc_weight_source *ws);

/* ---- safetensors files (safetensors_read.c) ---------------------------------------------- */
/* Bytes per element of a safetensors dtype name, or 0 if unknown. */
size_t llmc_st_dtype_size(const char *dtype);
/* llmc_st_open, telling whether a failure was an I/O error (cannot open, read or map the
 * file; *io_error = true) or bad content (false). */
llmc_st_file *llmc_st_open_file(const char *path, bool *io_error, llmc_diags *d);
/* The whole file as mapped (the range a SIGBUS guard covers) and its path. */
void llmc_st_bytes(const llmc_st_file *f, const void **base, size_t *size);
const char *llmc_st_name(const llmc_st_file *f);
/* Report a SIGBUS at address fault while reading tensor t of f (the file shrank). */
void llmc_st_report_fault(const llmc_st_file *f, const llmc_st_tensor *t, uintptr_t fault, llmc_diags *d);

/* ---- finite checks (weights_convert.c) ---------------------------------------------------- */
/* Index of the first NaN or infinity among n values at x (f32, f16 or bf16 bits; any
 * alignment), or n when all are finite. */
LLMC_API size_t llmc_first_nonfinite_f32(const void *x, size_t n);
LLMC_API size_t llmc_first_nonfinite_f16(const void *x, size_t n);
LLMC_API size_t llmc_first_nonfinite_bf16(const void *x, size_t n);

#endif
