/* torchscript emitter — writes OUT/torchscript/model.pt, an archive torch.jit.load reads
 * (torch 1.13 and its C++ API, libtorch), with no Python and no torch involved here.
 *
 * Archive layout, as torch 1.13's torch.jit.save writes it (docs/torchscript.md):
 *   archive/extra/special_tokens.json  the model's special tokens (torch.jit.load _extra_files)
 *   archive/data/<key>          one entry per parameter, raw little-endian data, 64-byte aligned
 *   archive/data.pkl            the module tree: pickle protocol 2 (ts_pickle.h)
 *   archive/code/__torch__.py   the root class (CausalLM or Seq2SeqLM), TorchScript source
 *   archive/code/__torch__/llmc.py   every other class and the helper functions
 *   archive/constants.pkl       the code's tensor constants: none, an empty tuple
 *   archive/version             the file-format version torch 1.13 would write for this code
 * The debug_pkl files (source ranges for error messages) are optional and not written.
 *
 * Parameter names and shapes are those of the PyTorch package and the safetensors file (the
 * Hugging Face layout, llmc_layout_hf); values come from the weight source in the spec's
 * precision, streamed in chunks with their CRC-32 computed on the fly, so memory stays at a
 * few chunk buffers whatever the model size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_emit.h"
#include "ts_pickle.h"
#include "ts_zip.h"

#define TS_NAME "torchscript"
#define TS_REL "torchscript/model.pt"
#define TS_PREFIX "archive/"
#define CHUNK_ELEMS (1u << 20)

/* ---- validation ------------------------------------------------------------------------------------- */

/* head_dim as far as the spec pins it (0 when the solver or the template decides) */
static int64_t pinned_head_dim(const llmc_spec *s) {
    const llmc_dims *dm = &s->dims;
    if (llmc_dims_has(dm, LLMC_DIM_HEAD_DIM)) return dm->v[LLMC_DIM_HEAD_DIM];
    if (llmc_dims_has(dm, LLMC_DIM_HIDDEN_SIZE) && llmc_dims_has(dm, LLMC_DIM_NUM_HEADS) && dm->v[LLMC_DIM_NUM_HEADS] > 0)
        return dm->v[LLMC_DIM_HIDDEN_SIZE] / dm->v[LLMC_DIM_NUM_HEADS];
    return 0;
}

/* What the archive cannot express, refused before anything is written. The template plugins
 * already refuse feature combinations no backend builds (decoder-only relative buckets,
 * encoder-decoder ALiBi or sliding windows); they are not repeated here. */
static int ts_check(const llmc_spec *s, const llmc_ir *ir, llmc_diags *d) {
    int rc = 0;
    /* decoder-only models are written from the IR (ts_generic.c): what that code cannot express is
     * refused now. Encoder-decoder graphs are T5's tree or nothing. */
    if (llmc_ir_get_structure(ir) == LLMC_STRUCTURE_DECODER_ONLY ||
        llmc_ir_first_block_not_pre_sequential(ir))
        if (ts_generic_check(s, ir, d)) rc = -1;
    for (size_t i = 0; i < s->n_emit_options; i++) {
        const llmc_emit_option *o = &s->emit_options[i];
        if (strcmp(o->emitter, TS_NAME)) continue;
        char key[160];
        snprintf(key, sizeof key, "emit_options.%s.%s", TS_NAME, o->key);
        llmc_diag_add(d, LLMC_SEV_ERROR, o->loc, key, "unknown option for emitter %s (it takes no options)", TS_NAME);
        rc = -1;
    }
    int64_t hd = pinned_head_dim(s);
    if (s->positional == LLMC_POS_ROPE && s->rope.scaling == LLMC_ROPE_SCALING_DYNAMIC && hd > 0 && hd <= 2) {
        llmc_diag_add(d, LLMC_SEV_ERROR, llmc_spec_loc(s, "rope.scaling"), "rope.scaling",
                      "the torchscript emitter cannot express dynamic rope scaling with head_dim %lld (the base "
                      "grows with the power head_dim / (head_dim - 2)); use head_dim >= 4 or another scaling",
                      (long long)hd);
        rc = -1;
    }
    if (s->quantize != LLMC_QUANT_NONE)
        llmc_diag_add(d, LLMC_SEV_WARNING, llmc_spec_loc(s, "quantize"), "quantize",
                      "%s is not applied to the TorchScript archive: its weights are stored at precision %s",
                      llmc_quantize_name(s->quantize), llmc_precision_name(s->precision));
    return rc;
}

/* ---- data.pkl ---------------------------------------------------------------------------------------- */

typedef struct pickler {
    ts_pickle t;
    const llmc_layout *l;
    const char *storage;   /* "FloatStorage", "HalfStorage", "BFloat16Storage" */
    long *order;           /* view index of storage key k */
    size_t n;
} pickler;

/* torch._utils._rebuild_tensor_v2(persistent_load(('storage', <Storage>, key, 'cpu', numel)),
 *                                  0, size, stride, requires_grad, OrderedDict()) */
static void pickle_tensor(pickler *p, long view) {
    const llmc_tensor_view *v = &p->l->views[view];
    ts_pickle *t = &p->t;
    char key[24];
    snprintf(key, sizeof key, "%zu", p->n);
    p->order[p->n++] = view;
    tp_global(t, "torch._utils", "_rebuild_tensor_v2");
    tp_op(t, TP_MARK);
    tp_op(t, TP_MARK);
    tp_str(t, "storage");
    tp_global(t, "torch", p->storage);
    tp_str(t, key);
    tp_str(t, "cpu");
    tp_int(t, (int64_t)llmc_view_numel(v));
    tp_op(t, TP_TUPLE);
    tp_op(t, TP_BINPERSID);
    tp_memoize(t);
    tp_int(t, 0); /* storage offset */
    int64_t stride[LLMC_IR_MAX_RANK], prod = 1; /* contiguous, row-major */
    for (int r = v->rank - 1; r >= 0; r--) {
        stride[r] = prod;
        prod *= v->shape[r];
    }
    tp_op(t, TP_MARK);
    for (int r = 0; r < v->rank; r++) tp_int(t, v->shape[r]);
    tp_op(t, TP_TUPLE);
    tp_op(t, TP_MARK);
    for (int r = 0; r < v->rank; r++) tp_int(t, stride[r]);
    tp_op(t, TP_TUPLE);
    tp_bool(t, true); /* a parameter */
    tp_global(t, "collections", "OrderedDict");
    tp_op(t, TP_EMPTY_TUPLE);
    tp_op(t, TP_REDUCE);
    tp_op(t, TP_TUPLE);
    tp_op(t, TP_REDUCE);
    tp_memoize(t);
}

/* GLOBAL '<module> <Class>', EMPTY_TUPLE, NEWOBJ, then its attributes applied with BUILD */
static void pickle_module(pickler *p, const ts_node *n, bool root) {
    ts_pickle *t = &p->t;
    tp_global(t, root ? "__torch__" : TS_NS, n->cls);
    tp_op(t, TP_EMPTY_TUPLE);
    tp_op(t, TP_NEWOBJ);
    tp_op(t, TP_EMPTY_DICT);
    tp_op(t, TP_MARK);
    for (int i = 0; i < n->n_params; i++) {
        tp_str(t, n->params[i].attr);
        pickle_tensor(p, n->params[i].view);
    }
    tp_str(t, "training");
    tp_bool(t, false); /* eval mode */
    for (size_t i = 0; i < n->n_kids; i++) {
        tp_str(t, n->kids[i]->attr);
        pickle_module(p, n->kids[i], false);
    }
    tp_op(t, TP_SETITEMS);
    tp_op(t, TP_BUILD);
    tp_memoize(t);
}

/* ---- tensor data ---------------------------------------------------------------------------------------- */

typedef struct data_job {
    llmc_weight_source *ws;
    const llmc_tensor_view *v;
    llmc_dtype dt;
    uint64_t numel;
    uint32_t *crc;         /* per chunk, combined in order afterwards */
} data_job;

static int produce_chunk(void *user, uint64_t idx, void *buf, size_t *len, llmc_diags *d) {
    data_job *j = user;
    uint64_t off = idx * CHUNK_ELEMS, n = j->numel - off < CHUNK_ELEMS ? j->numel - off : CHUNK_ELEMS;
    if (llmc_weights_read_view(j->ws, j->v, off, n, j->dt, buf, d) != 0) return -1;
    *len = (size_t)n * llmc_dtype_size(j->dt);
    j->crc[idx] = ts_crc32(0, buf, *len);
    return 0;
}

static int write_tensor(ts_zip *z, FILE *f, const llmc_emit_ctx *ctx, const llmc_tensor_view *v, size_t key,
                        llmc_dtype dt, llmc_progress *prog, llmc_diags *d) {
    char name[64];
    snprintf(name, sizeof name, TS_PREFIX "data/%zu", key);
    uint64_t numel = llmc_view_numel(v), bytes;
    if (__builtin_mul_overflow(numel, (uint64_t)llmc_dtype_size(dt), &bytes)) {
        llmc_error(d, "emit", "torchscript: tensor '%s' is too large", v->name);
        return -1;
    }
    uint64_t n_chunks = (numel + CHUNK_ELEMS - 1) / CHUNK_ELEMS;
    data_job j = {ctx->weights, v, dt, numel, calloc(n_chunks ? n_chunks : 1, sizeof(uint32_t))};
    if (!j.crc) {
        llmc_error(d, "emit", "torchscript: out of memory for the checksums of '%s'", v->name);
        return -1;
    }
    int rc = ts_zip_begin(z, name, bytes, d);
    if (!rc) rc = llmc_out_tensor_begin(f, v->name, d); /* the entry's data: its checksum in manifest.json */
    if (!rc)
        rc = llmc_write_chunks_ordered(f, n_chunks, (size_t)CHUNK_ELEMS * llmc_dtype_size(dt), produce_chunk, &j,
                                       ctx->threads, prog, d);
    if (!rc) rc = llmc_out_tensor_end(f, d);
    if (rc) {
        if (llmc_diags_errors(d) == 0) llmc_error(d, "emit", "torchscript: writing tensor '%s' failed", v->name);
    } else {
        uint32_t crc = 0;
        for (uint64_t c = 0; c < n_chunks; c++) {
            uint64_t len = (c + 1 < n_chunks ? CHUNK_ELEMS : numel - c * CHUNK_ELEMS) * llmc_dtype_size(dt);
            crc = c ? ts_crc32_combine(crc, j.crc[c], len) : j.crc[c];
        }
        rc = ts_zip_end(z, crc, d);
    }
    free(j.crc);
    return rc;
}

/* ---- the archive ------------------------------------------------------------------------------------------- */

static const char *storage_class(llmc_dtype dt) {
    return dt == LLMC_DTYPE_F16 ? "HalfStorage" : dt == LLMC_DTYPE_BF16 ? "BFloat16Storage" : "FloatStorage";
}

/* archive/extra/special_tokens.json: the model's special tokens (null = none), read with
 * torch.jit.load(path, _extra_files={"special_tokens.json": ""}) */
static void special_tokens_json(const llmc_emit_ctx *ctx, char *buf, size_t n) {
    const llmc_special_tokens t = llmc_emit_special_tokens(ctx);
    const int64_t v[5] = {t.bos, t.eos, t.pad, t.unk, t.decoder_start};
    static const char *const k[5] = {"bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id",
                                     "decoder_start_token_id"};
    size_t o = (size_t)snprintf(buf, n, "{");
    for (int i = 0; i < 5 && o < n; i++) {
        if (v[i] >= 0) o += (size_t)snprintf(buf + o, n - o, "\"%s\": %lld, ", k[i], (long long)v[i]);
        else o += (size_t)snprintf(buf + o, n - o, "\"%s\": null, ", k[i]);
    }
    if (o < n)
        snprintf(buf + o, n - o, "\"add_bos_token\": %s, \"add_eos_token\": %s}\n", t.add_bos ? "true" : "false",
                 t.add_eos ? "true" : "false");
}

static int write_archive(const llmc_emit_ctx *ctx, const ts_facts *f, const llmc_layout *l, const pickler *p,
                         const llmc_strbuf *root_src, const llmc_strbuf *ns_src, unsigned version, llmc_diags *d) {
    FILE *fp = llmc_out_open(ctx, TS_REL, d);
    if (!fp) return -1;
    ts_zip *z = ts_zip_create(fp, TS_REL, d);
    int rc = z ? 0 : -1;
    uint64_t total = 0;
    for (size_t k = 0; k < p->n; k++) total += llmc_view_numel(&l->views[p->order[k]]) * llmc_dtype_size(f->dt);
    llmc_progress *prog = ctx->progress ? llmc_progress_create("torchscript", total) : NULL;
    /* torch 1.13's order: extra files, tensor data (written while pickling), data.pkl, code, constants, version */
    char tokens[512];
    special_tokens_json(ctx, tokens, sizeof tokens);
    if (!rc) rc = ts_zip_add(z, TS_PREFIX "extra/special_tokens.json", tokens, strlen(tokens), d);
    for (size_t k = 0; rc == 0 && k < p->n; k++)
        rc = write_tensor(z, fp, ctx, &l->views[p->order[k]], k, f->dt, prog, d);
    llmc_progress_free(prog);
    static const unsigned char constants[] = {0x80, 2, ')', '.'}; /* PROTO 2, EMPTY_TUPLE, STOP */
    char vtext[16];
    snprintf(vtext, sizeof vtext, "%u\n", version);
    if (!rc) rc = ts_zip_add(z, TS_PREFIX "data.pkl", p->t.p, p->t.n, d);
    if (!rc) rc = ts_zip_add(z, TS_PREFIX TS_ROOT_FILE, root_src->s, root_src->n, d);
    if (!rc) rc = ts_zip_add(z, TS_PREFIX TS_NS_FILE, ns_src->s, ns_src->n, d);
    if (!rc) rc = ts_zip_add(z, TS_PREFIX "constants.pkl", constants, sizeof constants, d);
    if (!rc) rc = ts_zip_add(z, TS_PREFIX "version", vtext, strlen(vtext), d);
    if (!rc) rc = ts_zip_finish(z, d);
    ts_zip_free(z);
    if (llmc_out_close(fp, TS_REL, d) != 0) rc = -1;
    if (!rc) llmc_out_register(ctx, TS_REL, "TorchScript archive (torch.jit.load)");
    return rc;
}

static int ts_emit(const llmc_emit_ctx *ctx, llmc_diags *d) {
    const llmc_spec *s = ctx->spec;
    if (!ctx->weights) {
        llmc_error(d, "emit", "torchscript: the pipeline gave no weight source");
        return -1;
    }
    ts_facts f;
    ts_tree tree = {0};
    llmc_strbuf root_src = {0}, ns_src = {0};
    pickler p;
    memset(&p, 0, sizeof p);
    unsigned version = 0;
    int rc = -1;
    const llmc_layout *layout = ctx->hf_layout;   /* computed once by core */
    if (ts_facts_init(&f, s, ctx->dims, ctx->ir, layout, d)) goto out;
    /* A decoder-only model is generated from the IR (its blocks, roles and norm sites:
     * ts_generic.c), whatever template built it and whichever layout stores it. An encoder-decoder
     * model gets the package's T5 module tree, which must hold exactly its tensors and compute its
     * blocks. */
    f.generic = !f.encdec;
    if (f.generic) {
        if (ts_generic_tree(&tree, &f, d)) goto out;
    } else {
        if (ts_tree_build(&tree, &f, d)) goto out;
        const llmc_ir_block *odd = llmc_ir_first_block_not_pre_sequential(ctx->ir);
        if (odd || !ts_tree_covers(&tree, layout)) {
            llmc_error(d, "emit", "torchscript: this encoder-decoder graph is not one the T5 module tree computes (%s)",
                       odd ? "its blocks are not sequential pre-norm" : "its tensors are not T5's");
            goto out;
        }
    }
    if (ts_tree_bind(&tree, layout, d)) goto out;
    if (ts_code(&f, &tree, &root_src, &ns_src, &version, d)) goto out;

    tp_init(&p.t);
    p.l = layout;
    p.storage = storage_class(f.dt);
    p.order = calloc(layout->n_views + 1, sizeof *p.order);
    if (!p.order) {
        llmc_error(d, "emit", "torchscript: out of memory");
        goto out;
    }
    pickle_module(&p, tree.root, true);
    tp_op(&p.t, TP_STOP);
    if (p.t.oom) {
        llmc_error(d, "emit", "torchscript: out of memory writing data.pkl");
        goto out;
    }
    rc = write_archive(ctx, &f, layout, &p, &root_src, &ns_src, version, d);
out:
    tp_free(&p.t);
    free(p.order);
    free(root_src.s);
    free(ns_src.s);
    ts_tree_free(&tree);
    return rc;
}

static const llmc_emitter_vtable ts_vt = {sizeof ts_vt, ts_check, ts_emit, NULL};

static const llmc_plugin_desc plugins[] = {
    {LLMC_PLUGIN_EMITTER, TS_NAME, "1.0.0",
     "TorchScript archive for torch.jit.load / libtorch (model code and weights, written without torch)", &ts_vt},
};
LLMC_DEFINE_PLUGIN_ENTRY(plugins)
