/* Spec loader: every error class with its exact message and location, defaults, JSON specs,
 * normalised JSON output, key locations and the count/byte parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "llmc/expr.h"
#include "llmc/spec.h"

/* ---- helpers ------------------------------------------------------------------------------- */


static llmc_spec *load(const char *file, const char *text, char **diags_out) {
    llmc_diags *d = llmc_diags_create();
    llmc_spec *s = llmc_spec_load_string(text, strlen(text), file, LLMC_SPEC_FORMAT_AUTO, d);
    char *msgs = test_all_diags(d);
    if (diags_out) *diags_out = msgs;
    else free(msgs);
    llmc_diags_free(d);
    return s;
}

/* Loading must fail with exactly these diagnostics (newline separated). */
static void expect_errors(const char *file, const char *text, const char *want) {
    char *got;
    llmc_spec *s = load(file, text, &got);
    if (s || strcmp(got, want) != 0)
        fail_msg("spec:\n%s\n--- got (%s):\n%s\n--- want:\n%s", text, s ? "loaded" : "refused", got, want);
    free(got);
}

/* Loading must succeed; diagnostics (warnings) must be exactly want. */
static llmc_spec *expect_ok(const char *file, const char *text, const char *want_diags) {
    char *got;
    llmc_spec *s = load(file, text, &got);
    if (!s || strcmp(got, want_diags) != 0)
        fail_msg("spec:\n%s\n--- got (%s):\n%s\n--- want:\n%s", text, s ? "loaded" : "refused", got, want_diags);
    free(got);
    return s;
}

#define BASE "vocab_size: 32000\ntarget_params: 125M\n"

/* ---- defaults -------------------------------------------------------------------------------- */

static void test_defaults_filled(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("models/tiny-llama.yaml", BASE, "");
    assert_string_equal(s->source_path, "models/tiny-llama.yaml");
    assert_string_equal(s->name, "tiny-llama");
    assert_string_equal(s->template_name, "decoder_only");
    assert_null(s->solver);
    assert_true(s->has_target_params);
    assert_int_equal(s->target_params, 125000000);
    assert_int_equal(s->dims.set, 0);
    assert_int_equal(s->vocab_size, 32000);
    assert_int_equal(s->context_length, 2048);
    assert_int_equal(s->attention, LLMC_ATTN_MHA);
    assert_int_equal(s->sliding_window, 0);
    assert_int_equal(s->norm, LLMC_NORM_RMSNORM);
    assert_true(s->norm_eps == 1e-5);
    assert_int_equal(s->activation, LLMC_ACT_SWIGLU);
    assert_int_equal(s->positional, LLMC_POS_ROPE);
    assert_true(s->rope.theta == 10000.0);
    assert_int_equal(s->rope.scaling, LLMC_ROPE_SCALING_NONE);
    assert_true(s->rope.factor == 1.0);
    assert_int_equal(s->rope.original_context_length, 2048);
    assert_true(s->rope.low_freq_factor == 1.0 && s->rope.high_freq_factor == 4.0);
    assert_true(s->rope.beta_fast == 32.0 && s->rope.beta_slow == 1.0);
    assert_true(s->alibi_max_bias == 8.0);
    assert_int_equal(s->relative_num_buckets, 32);
    assert_int_equal(s->relative_max_distance, 128);
    assert_false(s->bias.qkv || s->bias.attn_out || s->bias.mlp || s->bias.lm_head);
    assert_true(s->bias.norm);
    assert_false(s->tie_word_embeddings);
    assert_int_equal(s->precision, LLMC_PRECISION_FLOAT32);
    assert_int_equal(s->quantize, LLMC_QUANT_NONE);
    assert_int_equal(s->weights.init, LLMC_INIT_NORMAL);
    assert_true(s->weights.std == 0.02);
    assert_int_equal(s->weights.seed, 0);
    assert_null(s->weights.checkpoint);
    assert_int_equal(s->tokenizer, LLMC_TOKENIZER_NONE);
    assert_null(s->tokenizer_path);
    assert_null(s->dataset);
    assert_int_equal(s->n_constraints, 0);
    assert_true(s->tolerance == 0.01);
    assert_int_equal(s->n_emit, 0);
    assert_int_equal(s->n_emit_options, 0);
    llmc_spec_free(s);

    /* in-memory spec without a file name */
    llmc_diags *d = llmc_diags_create();
    s = llmc_spec_load_string(BASE, strlen(BASE), NULL, LLMC_SPEC_FORMAT_YAML, d);
    assert_non_null(s);
    assert_string_equal(s->source_path, "<string>");
    assert_string_equal(s->name, "model");
    llmc_spec_free(s);
    llmc_diags_free(d);
}

static void test_every_key_read(void **state) {
    (void)state;
    const char *text =
        "name: my-model\n"
        "template: decoder_only\n"
        "solver: grid\n"
        "target_params: 1.5T\n"
        "dims:\n"
        "  num_layers: 4\n"
        "  hidden_size: 256\n"
        "  intermediate_size: 688\n"
        "  num_heads: 8\n"
        "  num_kv_heads: 2\n"
        "  head_dim: 32\n"
        "  num_encoder_layers: 2\n"
        "  num_decoder_layers: 3\n"
        "vocab_size: 50_257\n"
        "context_length: 8192\n"
        "attention: sliding_window\n"
        "sliding_window: 4096\n"
        "norm: layernorm\n"
        "norm_eps: 1e-6\n"
        "activation: gelu_tanh\n"
        "positional_encoding: rope\n"
        "rope:\n"
        "  theta: 500000\n"
        "  scaling: {type: yarn, factor: 4, original_context_length: 2048, beta_fast: 16, beta_slow: 2}\n"
        "bias: {qkv: true, attn_out: true, mlp: true, norm: false, lm_head: true}\n"
        "tie_word_embeddings: true\n"
        "precision: bfloat16\n"
        "quantize: q4_0\n"
        "weights: {init: scaled_normal, std: 0.01, seed: 1234, checkpoint: ckpt/model.safetensors}\n"
        "tokenizer: {type: byte, path: tok.json}\n"
        "dataset: data/tiny.txt\n"
        "constraints:\n"
        "  - hidden_size % 64 == 0\n"
        "  - 'num_layers in [2, 8]'\n"
        "tolerance: 0.05\n"
        "emit: [safetensors, gguf]\n"
        "emit_options:\n"
        "  gguf: {quant_block: 32, arch: llama}\n";
    llmc_spec *s = expect_ok("full.yaml", text, "");
    assert_string_equal(s->name, "my-model");
    assert_string_equal(s->solver, "grid");
    assert_int_equal(s->target_params, UINT64_C(1500000000000));
    assert_int_equal(s->dims.set, 0xff);
    assert_int_equal(s->dims.v[LLMC_DIM_INTERMEDIATE_SIZE], 688);
    assert_int_equal(s->dims.v[LLMC_DIM_NUM_DECODER_LAYERS], 3);
    assert_int_equal(s->vocab_size, 50257);
    assert_int_equal(s->context_length, 8192);
    assert_int_equal(s->attention, LLMC_ATTN_SLIDING_WINDOW);
    assert_int_equal(s->sliding_window, 4096);
    assert_int_equal(s->norm, LLMC_NORM_LAYERNORM);
    assert_true(s->norm_eps == 1e-6);
    assert_int_equal(s->activation, LLMC_ACT_GELU_TANH);
    assert_true(s->rope.theta == 500000.0);
    assert_int_equal(s->rope.scaling, LLMC_ROPE_SCALING_YARN);
    assert_true(s->rope.factor == 4.0);
    assert_int_equal(s->rope.original_context_length, 2048);
    assert_true(s->rope.beta_fast == 16.0 && s->rope.beta_slow == 2.0);
    assert_true(s->bias.qkv && s->bias.attn_out && s->bias.mlp && !s->bias.norm && s->bias.lm_head);
    assert_true(s->tie_word_embeddings);
    assert_int_equal(s->precision, LLMC_PRECISION_BFLOAT16);
    assert_int_equal(s->quantize, LLMC_QUANT_Q4_0);
    assert_int_equal(s->weights.init, LLMC_INIT_SCALED_NORMAL);
    assert_true(s->weights.std == 0.01);
    assert_int_equal(s->weights.seed, 1234);
    assert_string_equal(s->weights.checkpoint, "ckpt/model.safetensors");
    assert_int_equal(s->tokenizer, LLMC_TOKENIZER_BYTE);
    assert_string_equal(s->tokenizer_path, "tok.json");
    assert_string_equal(s->dataset, "data/tiny.txt");
    assert_int_equal(s->n_constraints, 2);
    assert_string_equal(s->constraints[0].text, "hidden_size % 64 == 0");
    assert_non_null(s->constraints[0].expr);
    assert_int_equal(s->constraints[0].loc.line, 33);
    assert_int_equal(s->constraints[0].loc.col, 5);
    assert_int_equal(s->constraints[1].loc.col, 6); /* inside the quotes */
    assert_string_equal(s->constraints[1].loc.file, "full.yaml");
    assert_true(s->tolerance == 0.05);
    assert_int_equal(s->n_emit, 2);
    assert_string_equal(s->emit[1], "gguf");
    const llmc_emit_option *o = llmc_spec_emit_option(s, "gguf", "quant_block");
    assert_non_null(o);
    assert_string_equal(o->value, "32");
    assert_int_equal(o->loc.line, 38);
    assert_int_equal(o->loc.col, 23);
    assert_string_equal(llmc_spec_emit_option(s, "gguf", "arch")->value, "llama");
    assert_null(llmc_spec_emit_option(s, "gguf", "nope"));
    assert_null(llmc_spec_emit_option(s, "safetensors", "quant_block"));
    llmc_spec_free(s);
}

/* ---- tokenizer: {...} and dataset: {...} (docs/spec.md "Tokenizer and dataset") ---------------------- */

static void test_tokenizer_and_dataset_keys(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("t.yaml",
                             "vocab_size: 1000\ntarget_params: compute_optimal\n"
                             "tokenizer:\n  type: unigram\n  vocab_size: 1000\n  pre_tokenizer: metaspace\n"
                             "  special_tokens: {unk: \"<unk>\", eos: \"</s>\"}\n  byte_fallback: false\n"
                             "dataset:\n  name: man pages\n  paths: [a.txt, b.jsonl.gz]\n  text_field: body\n"
                             "  split: train\n",
                             "");
    assert_string_equal(s->tok.type, "unigram");
    assert_int_equal(s->tokenizer, LLMC_TOKENIZER_NONE); /* the artifacts' byte vocabulary is not involved */
    assert_int_equal(s->tok.vocab_size, 1000);
    assert_string_equal(s->tok.pre_tokenizer, "metaspace");
    assert_int_equal(s->tok.n_special, 2);
    assert_string_equal(s->tok.special_names[1], "eos");
    assert_string_equal(s->tok.special_tokens[1], "</s>");
    assert_int_equal(s->tok.byte_fallback, 0);
    assert_null(s->tok.normalization); /* the pipeline's own */
    assert_string_equal(s->dataset, "man pages");
    assert_int_equal(s->data.n_paths, 2);
    assert_string_equal(s->data.paths[1], "b.jsonl.gz");
    assert_string_equal(s->data.text_field, "body");
    assert_string_equal(s->data.split, "train");
    assert_null(s->data.format);
    assert_true(s->has_target_params && s->target_compute_optimal);
    /* spec.json keeps every key, and reads back to the same text */
    char *j = llmc_spec_to_json(s, NULL);
    assert_non_null(strstr(j, "\"target_params\": \"compute_optimal\""));
    assert_non_null(strstr(j, "\"byte_fallback\": false"));
    llmc_spec *r = expect_ok("spec.json", j, "");
    char *j2 = llmc_spec_to_json(r, NULL);
    assert_string_equal(j, j2);
    free(j);
    free(j2);
    llmc_spec_free(r);
    llmc_spec_free(s);

    /* the older forms are untouched: a string dataset is a name, type none/byte keep the enum,
     * byte_fallback unset is -1 */
    s = expect_ok("t.yaml", BASE "tokenizer: {type: byte, path: tok.json}\ndataset: data/tiny.txt\n", "");
    assert_int_equal(s->tokenizer, LLMC_TOKENIZER_BYTE);
    assert_null(s->tok.type);
    assert_int_equal(s->tok.byte_fallback, -1);
    assert_int_equal(s->data.n_paths, 0);
    j = llmc_spec_to_json(s, NULL);
    assert_non_null(strstr(j, "\"tokenizer\": {\n    \"type\": \"byte\",\n    \"path\": \"tok.json\"\n  },\n  \"dataset\": \"data/tiny.txt\""));
    free(j);
    llmc_spec_free(s);

    /* one path without a list; format checked against the names at compile time */
    s = expect_ok("t.yaml", BASE "tokenizer: {type: bpe, normalization: nfkc_lowercase}\n"
                                 "dataset: {paths: corpus.txt, format: text}\n", "");
    assert_string_equal(s->tok.normalization, "nfkc_lowercase");
    assert_int_equal(s->data.n_paths, 1);
    assert_string_equal(s->data.format, "text");
    llmc_spec_free(s);

    /* sentencepiece-style tokenizers take NFKC (a precompiled charsmap in their tokenizer.model) */
    s = expect_ok("t.yaml", BASE "tokenizer: {type: unigram, normalization: nfkc}\ndataset: {paths: [c.txt]}\n", "");
    assert_string_equal(s->tok.normalization, "nfkc");
    llmc_spec_free(s);

    /* dataset.paths without a tokenizer to count with: accepted, with a warning that it is not read */
    s = expect_ok("t.yaml", BASE "dataset: {paths: [c.txt]}\n",
                  "t.yaml:3:1: warning: dataset.paths: not read: tokenizer is none (give tokenizer.type bpe, "
                  "unigram, wordpiece or char to train one, or tokenizer.path to load one)");
    llmc_spec_free(s);
}

/* qk_norm: a bool, RMSNorm only; written to spec.json only when set */
static void test_qk_norm(void **state) {
    (void)state;
    expect_errors("t.yaml", BASE "qk_norm: yes\n", "t.yaml:3:10: qk_norm: expected true or false, got 'yes'");
    expect_errors("t.yaml", BASE "norm: layernorm\nqk_norm: true\n",
                  "t.yaml:4:10: qk_norm: normalises each query and key head with RMSNorm, which needs norm: rmsnorm "
                  "(norm is layernorm)");
    expect_errors("t.yaml", BASE "qk_norm: true\nnorm: no_norm\n",
                  "t.yaml:3:10: qk_norm: normalises each query and key head with RMSNorm, which needs norm: rmsnorm "
                  "(norm is no_norm)");
    llmc_spec *s = expect_ok("t.yaml", BASE "qk_norm: true\n", "");
    assert_true(s->qk_norm);
    llmc_spec_free(s);
    s = expect_ok("t.yaml", BASE, "");
    assert_false(s->qk_norm);
    llmc_spec_free(s);
}

/* rope.fraction: a share in (0, 1] rotating an even number of a head's dims; parallel_residual: a bool */
static void test_partial_rotary_and_parallel(void **state) {
    (void)state;
    expect_errors("t.yaml", BASE "rope: {fraction: 0}\n",
                  "t.yaml:3:18: rope.fraction: must be in (0, 1], the share of each head's dims that RoPE rotates "
                  "(got 0)");
    expect_errors("t.yaml", BASE "rope: {fraction: 1.25}\n",
                  "t.yaml:3:18: rope.fraction: must be in (0, 1], the share of each head's dims that RoPE rotates "
                  "(got 1.25)");
    expect_errors("t.yaml", BASE "dims: {hidden_size: 512, num_heads: 8}\nrope: {fraction: 0.3}\n",
                  "t.yaml:4:18: rope.fraction: rotates 19.2 of the 64 dims of a head; RoPE rotates pairs of channels "
                  "(expected fraction * head_dim to be an even integer >= 2)");
    expect_errors("t.yaml", BASE "parallel_residual: yes\n",
                  "t.yaml:3:20: parallel_residual: expected true or false, got 'yes'");
    llmc_spec *s = expect_ok("t.yaml", BASE "dims: {hidden_size: 512, num_heads: 8}\nrope: {fraction: 0.25}\n"
                             "parallel_residual: true\n", "");
    assert_true(s->rope.fraction == 0.25);
    assert_true(s->parallel_residual);
    llmc_spec_free(s);
    s = expect_ok("t.yaml", BASE, "");
    assert_true(s->rope.fraction == 1.0);
    assert_false(s->parallel_residual);
    llmc_spec_free(s);
}

static void test_tokenizer_and_dataset_errors(void **state) {
    (void)state;
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, vocab_sise: 10}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:24: tokenizer.vocab_sise: unknown key (did you mean 'vocab_size'?)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, vocab_size: 40000}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:36: tokenizer.vocab_size: differs from the model's vocab_size (expected 32000, got "
                  "40000): the embedding has one row per token id; set both to the same value (or drop "
                  "tokenizer.vocab_size)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, vocab_size: 800}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:36: tokenizer.vocab_size: differs from the model's vocab_size (expected 32000, got "
                  "800): the embedding has one row per token id; set both to the same value (or drop "
                  "tokenizer.vocab_size)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, pre_tokenizer: gpt3}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:39: tokenizer.pre_tokenizer: unknown value 'gpt3' (expected one of gpt2, llama3, "
                  "metaspace, whitespace, bert, char, byte)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, byte_fallback: maybe}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:39: tokenizer.byte_fallback: expected true or false, got 'maybe'");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, special_tokens: [eos]}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:24: tokenizer.special_tokens: expected a mapping of keys to values, got a list");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, special_tokens: {bos: \"<s>\", eos: \"<s>\"}}\n"
                                 "dataset: {paths: [c.txt]}\n",
                  "t.yaml:3:58: tokenizer.special_tokens.eos: token '<s>' is already special_tokens.bos");
    expect_errors("t.yaml", BASE "tokenizer: {type: unigram, normalization: nfkc_lowercase}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:43: tokenizer.normalization: nfkc_lowercase cannot be written into the tokenizer.model "
                  "that unigram and metaspace BPE ship (sentencepiece normalizes with a precompiled character map, "
                  "which llmc builds for NFKC); expected none, nfkc or nmt_nfkc with them, or another type or pre_tokenizer "
                  "(gpt2, llama3, whitespace, bert, char)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, pre_tokenizer: metaspace, normalization: nfc}\n"
                                 "dataset: {paths: [c.txt]}\n",
                  "t.yaml:3:65: tokenizer.normalization: nfc cannot be written into the tokenizer.model "
                  "that unigram and metaspace BPE ship (sentencepiece normalizes with a precompiled character map, "
                  "which llmc builds for NFKC); expected none, nfkc or nmt_nfkc with them, or another type or pre_tokenizer "
                  "(gpt2, llama3, whitespace, bert, char)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, normalization: nfkx}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:39: tokenizer.normalization: unknown value 'nfkx' (expected one of none, nfc, nfd, nfkc, "
                  "nfkd, lowercase, nfkc_lowercase, nmt_nfkc)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe}\n",
                  "t.yaml:3:19: tokenizer.type: 'bpe' is trained from a corpus: give dataset.paths (or "
                  "tokenizer.path to load a trained one)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe, path: tok.json}\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:3:13: tokenizer.type: 'bpe' trains a tokenizer, but tokenizer.path loads one: give one of "
                  "them (expected type: none or byte with path)");
    expect_errors("t.yaml", BASE "tokenizer: {type: byte, vocab_size: 300}\n",
                  "t.yaml:3:25: tokenizer.vocab_size: applies to a trained tokenizer only (tokenizer.type is byte; "
                  "expected a tokenizer plugin such as bpe, unigram, wordpiece or char)");
    expect_errors("t.yaml", "vocab_size: 32000\ntarget_params: compute_optimal\n",
                  "t.yaml:2:16: target_params: compute_optimal sizes the model at the dataset's tokens / 20, which "
                  "needs dataset.paths (the corpus files)");
    expect_errors("t.yaml", "vocab_size: 32000\ntarget_params: compute_optimal\ndataset: {paths: [c.txt]}\n",
                  "t.yaml:2:16: target_params: compute_optimal sizes the model at the dataset's tokens / 20, which "
                  "needs a tokenizer to count them (tokenizer.type bpe, unigram, ... or tokenizer.path)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe}\ndataset: {paths: [], formt: text}\n",
                  "t.yaml:4:11: dataset.paths: must name at least one corpus file\n"
                  "t.yaml:4:22: dataset.formt: unknown key (did you mean 'format'?)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe}\ndataset: {paths: [c.txt], format: csv}\n",
                  "t.yaml:4:35: dataset.format: unknown value 'csv' (expected one of text, jsonl)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe}\ndataset: {paths: [c.txt], format: text, text_field: body}\n",
                  "t.yaml:4:41: dataset.text_field: applies to format: jsonl only (format is text)");
    expect_errors("t.yaml", BASE "tokenizer: {type: bpe}\ndataset: {paths: [c.txt, null]}\n",
                  "t.yaml:4:26: dataset.paths[1]: expected a file path, got null");
    expect_errors("t.yaml", BASE "dataset: {name: x, text_field: body}\n",
                  "t.yaml:3:20: dataset.text_field: describes the files of dataset.paths, which is not given");
}

static void test_shorthands_and_nulls(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("s.yaml",
                             BASE "tokenizer: byte\nemit: safetensors\nsolver: ~\ndataset: null\nrope:\n"
                                  "sliding_window: null\n",
                             "");
    assert_int_equal(s->tokenizer, LLMC_TOKENIZER_BYTE);
    assert_int_equal(s->n_emit, 1);
    assert_string_equal(s->emit[0], "safetensors");
    assert_null(s->solver);
    assert_null(s->dataset);
    assert_int_equal(s->sliding_window, 0);
    assert_false(llmc_spec_has_key(s, "rope"));
    assert_false(llmc_spec_has_key(s, "solver"));
    assert_true(llmc_spec_has_key(s, "tokenizer"));
    llmc_spec_free(s);
}

static void test_attention_default(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("a.yaml", BASE "dims: {num_heads: 32, num_kv_heads: 8}\n", "");
    assert_int_equal(s->attention, LLMC_ATTN_GQA);
    llmc_spec_free(s);
    s = expect_ok("a.yaml", BASE "dims: {num_heads: 32, num_kv_heads: 32}\n", "");
    assert_int_equal(s->attention, LLMC_ATTN_MHA);
    llmc_spec_free(s);
    s = expect_ok("a.yaml", BASE "dims: {num_kv_heads: 4}\n", "");
    assert_int_equal(s->attention, LLMC_ATTN_GQA);
    llmc_spec_free(s);
    s = expect_ok("a.yaml", BASE "sliding_window: 512\n", "");
    assert_int_equal(s->attention, LLMC_ATTN_SLIDING_WINDOW);
    llmc_spec_free(s);
    s = expect_ok("a.yaml", BASE "attention: mqa\ndims: {num_heads: 8, num_kv_heads: 1}\n", "");
    assert_int_equal(s->attention, LLMC_ATTN_MQA);
    llmc_spec_free(s);
    s = expect_ok("a.yaml", BASE "attention: mqa\n", "");
    assert_int_equal(s->attention, LLMC_ATTN_MQA);
    assert_false(llmc_dims_has(&s->dims, LLMC_DIM_NUM_KV_HEADS)); /* dims stay as written */
    llmc_spec_free(s);
}

/* ---- the five-mistake spec ------------------------------------------------------------------- */

static void test_five_mistakes_all_reported(void **state) {
    (void)state;
    expect_errors("spec.yaml",
                  "name: bad\n"
                  "template: decoder_only\n"
                  "atention: gqa\n"
                  "vocab_size: abc\n"
                  "dims:\n"
                  "  hidden_size: 0\n"
                  "  num_heads: 8\n"
                  "norm: rmsnrm\n"
                  "constraints:\n"
                  "  - hidden_size % 128 = 0\n",
                  "spec.yaml:3:1: atention: unknown key (did you mean 'attention'?)\n"
                  "spec.yaml:4:13: vocab_size: expected an integer, got 'abc'\n"
                  "spec.yaml:6:16: dims.hidden_size: must be >= 1 (got 0)\n"
                  "spec.yaml:8:7: norm: unknown value 'rmsnrm' (expected one of rmsnorm, layernorm, no_norm)\n"
                  "spec.yaml:10:23: constraints[0]: unexpected '=' (use '==' to compare)");
}

/* ---- unknown keys ----------------------------------------------------------------------------- */

static void test_unknown_keys(void **state) {
    (void)state;
    expect_errors("spec.yaml", BASE "atention: gqa\n",
                  "spec.yaml:3:1: atention: unknown key (did you mean 'attention'?)");
    expect_errors("spec.yaml", BASE "rope:\n  thetta: 10000\n",
                  "spec.yaml:4:3: rope.thetta: unknown key (did you mean 'theta'?)");
    expect_errors("spec.yaml", BASE "dims:\n  hiden_size: 64\n",
                  "spec.yaml:4:3: dims.hiden_size: unknown key (did you mean 'hidden_size'?)");
    expect_errors("spec.yaml", BASE "rope: {scaling: {type: linear, factr: 2, factor: 2}}\n",
                  "spec.yaml:3:32: rope.scaling.factr: unknown key (did you mean 'factor'?)");
    expect_errors("spec.yaml", BASE "bias: {everything: true}\n",
                  "spec.yaml:3:8: bias.everything: unknown key (expected one of qkv, attn_out, mlp, norm, lm_head)");
    expect_errors("spec.yaml", BASE "colour: blue\n",
                  "spec.yaml:3:1: colour: unknown key (docs/spec.md lists the keys)");
    expect_errors("spec.yaml", BASE "weights: {seeds: 1}\n",
                  "spec.yaml:3:11: weights.seeds: unknown key (did you mean 'seed'?)");
}

/* ---- wrong types ------------------------------------------------------------------------------ */

static void test_wrong_types(void **state) {
    (void)state;
    expect_errors("spec.yaml", "target_params: 1B\nvocab_size: abc\n",
                  "spec.yaml:2:13: vocab_size: expected an integer, got 'abc'");
    expect_errors("spec.yaml", "target_params: 1B\nvocab_size: \"32000\"\n",
                  "spec.yaml:2:13: vocab_size: expected an integer, got the quoted string '32000'");
    expect_errors("spec.yaml", "target_params: 1B\nvocab_size: 3.5\n",
                  "spec.yaml:2:13: vocab_size: expected an integer, got '3.5'");
    expect_errors("spec.yaml", "target_params: 1B\nvocab_size: [1, 2]\n",
                  "spec.yaml:2:1: vocab_size: expected an integer, got a list");
    expect_errors("spec.yaml", BASE "norm_eps: tiny\n", "spec.yaml:3:11: norm_eps: expected a number, got 'tiny'");
    expect_errors("spec.yaml", BASE "norm_eps: .nan\n", "spec.yaml:3:11: norm_eps: expected a number, got '.nan'");
    expect_errors("spec.yaml", BASE "norm_eps: 1e999\n", "spec.yaml:3:11: norm_eps: number is out of range (got 1e999)");
    expect_errors("spec.yaml", BASE "tie_word_embeddings: yes\n",
                  "spec.yaml:3:22: tie_word_embeddings: expected true or false, got 'yes'");
    expect_errors("spec.yaml", BASE "name: [a]\n", "spec.yaml:3:1: name: expected a string, got a list");
    expect_errors("spec.yaml", BASE "rope: 10000\n",
                  "spec.yaml:3:7: rope: expected a mapping of keys to values, got '10000'");
    expect_errors("spec.yaml", BASE "dims: [1, 2]\n", "spec.yaml:3:1: dims: expected a mapping of keys to values, got a list");
    expect_errors("spec.yaml", BASE "attention: {kind: gqa}\n",
                  "spec.yaml:3:1: attention: expected one of mha, mqa, gqa, sliding_window, got a mapping");
    expect_errors("spec.yaml", BASE "target_params: [7B]\n",
                  "spec.yaml:3:1: target_params: duplicate key (first given at line 2, column 1)");
    expect_errors("spec.yaml", "vocab_size: 8\ntarget_params: [7B]\n",
                  "spec.yaml:2:1: target_params: expected a parameter count such as 7B, 125M or 7e9, got a list");
    expect_errors("spec.yaml", "vocab_size: 8\ntarget_params: lots\n",
                  "spec.yaml:2:16: target_params: expected a parameter count such as 7B, 125M or 7e9, got 'lots'");
    expect_errors("spec.yaml", "vocab_size: 8\ntarget_params: 1.2345k\n",
                  "spec.yaml:2:16: target_params: must be a whole number of parameters (got 1.2345k)");
    expect_errors("spec.yaml", "vocab_size: 8\ntarget_params: 1e30\n",
                  "spec.yaml:2:16: target_params: must be <= 9223372036854775807 (got 1e30)");
    expect_errors("spec.yaml", BASE "constraints: hidden_size > 1\n",
                  "spec.yaml:3:14: constraints: expected a list of expressions such as 'hidden_size % 128 == 0', got "
                  "'hidden_size > 1'");
    expect_errors("spec.yaml", BASE "constraints:\n  - {a: 1}\n",
                  "spec.yaml:4:5: constraints[0]: expected an expression such as 'num_layers <= 48', got a mapping");
    expect_errors("spec.yaml", BASE "emit: {a: 1}\n", "spec.yaml:3:1: emit: expected a list of emitter names, got a mapping");
    expect_errors("spec.yaml", BASE "emit: [safetensors, \"../x\", safetensors]\n",
                  "spec.yaml:3:21: emit[1]: expected a plugin name (1-64 letters, digits, '_', '-' or '.'), got the "
                  "quoted string '../x'\n"
                  "spec.yaml:3:29: emit[2]: emitter 'safetensors' is listed twice");
    expect_errors("spec.yaml", BASE "emit_options: {gguf: {a: [1]}, x: 3}\n",
                  "spec.yaml:3:23: emit_options.gguf.a: expected a single value, got a list\n"
                  "spec.yaml:3:35: emit_options.x: expected a mapping of keys to values, got '3'");
    expect_errors("spec.yaml", BASE "name: a/b\n",
                  "spec.yaml:3:7: name: must be 1-128 characters without '/', '\\' or control characters, and not '.' or "
                  "'..'");
    expect_errors("spec.yaml", BASE "template: \"\"\n", "spec.yaml:3:11: template: must not be empty");
}

/* ---- out of range ----------------------------------------------------------------------------- */

static void test_out_of_range(void **state) {
    (void)state;
    expect_errors("spec.yaml", BASE "dims:\n  hidden_size: 0\n", "spec.yaml:4:16: dims.hidden_size: must be >= 1 (got 0)");
    expect_errors("spec.yaml", BASE "dims:\n  num_layers: -3\n", "spec.yaml:4:15: dims.num_layers: must be >= 1 (got -3)");
    expect_errors("spec.yaml", BASE "dims:\n  num_layers: 99999999999999999999999\n",
                  "spec.yaml:4:15: dims.num_layers: must be <= 2147483647 (got 99999999999999999999999)");
    expect_errors("spec.yaml", BASE "context_length: 0\n", "spec.yaml:3:17: context_length: must be >= 1 (got 0)");
    expect_errors("spec.yaml", "target_params: 1B\nvocab_size: 0\n", "spec.yaml:2:13: vocab_size: must be >= 1 (got 0)");
    expect_errors("spec.yaml", BASE "norm_eps: 0\n", "spec.yaml:3:11: norm_eps: must be > 0 (got 0)");
    expect_errors("spec.yaml", BASE "weights: {std: -0.5}\n", "spec.yaml:3:16: weights.std: must be > 0 (got -0.5)");
    expect_errors("spec.yaml", BASE "weights: {seed: -1}\n", "spec.yaml:3:17: weights.seed: must be >= 0 (got -1)");
    expect_errors("spec.yaml", BASE "tolerance: 0\n", "spec.yaml:3:12: tolerance: must be > 0 and < 1 (got 0)");
    expect_errors("spec.yaml", BASE "tolerance: 1\n", "spec.yaml:3:12: tolerance: must be > 0 and < 1 (got 1)");
    expect_errors("spec.yaml", BASE "sliding_window: 0\n", "spec.yaml:3:17: sliding_window: must be >= 1 (got 0)");
    expect_errors("spec.yaml", BASE "rope: {theta: 0}\n", "spec.yaml:3:15: rope.theta: must be > 0 (got 0)");
    expect_errors("spec.yaml", BASE "positional_encoding: alibi\nalibi_max_bias: -8\n",
                  "spec.yaml:4:17: alibi_max_bias: must be > 0 (got -8)");
    expect_errors("spec.yaml", "vocab_size: 8\ntarget_params: 0\n", "spec.yaml:2:16: target_params: must be >= 1 (got 0)");
    expect_errors("spec.yaml", "vocab_size: 8\ntarget_params: -7B\n", "spec.yaml:2:16: target_params: must be >= 1 (got -7B)");
    expect_errors("spec.yaml", BASE "positional_encoding: relative\nrelative_attention: {num_buckets: 2}\n",
                  "spec.yaml:4:35: relative_attention.num_buckets: must be >= 4 (got 2)");
}

/* ---- enumerations ----------------------------------------------------------------------------- */

static void test_unknown_enum_values(void **state) {
    (void)state;
    expect_errors("spec.yaml", BASE "attention: gqa2\n",
                  "spec.yaml:3:12: attention: unknown value 'gqa2' (expected one of mha, mqa, gqa, sliding_window)");
    expect_errors("spec.yaml", BASE "activation: swish\n",
                  "spec.yaml:3:13: activation: unknown value 'swish' (expected one of swiglu, geglu, gelu, gelu_tanh, "
                  "relu, silu, relu_squared)");
    expect_errors("spec.yaml", BASE "positional_encoding: xpos\n",
                  "spec.yaml:3:22: positional_encoding: unknown value 'xpos' (expected one of rope, alibi, learned, "
                  "sinusoidal, relative, none)");
    expect_errors("spec.yaml", BASE "precision: fp16\n",
                  "spec.yaml:3:12: precision: unknown value 'fp16' (expected one of float32, float16, bfloat16)");
    expect_errors("spec.yaml", BASE "quantize: q2_k\n",
                  "spec.yaml:3:11: quantize: unknown value 'q2_k' (expected one of none, q8_0, q4_0, q6_k, q5_k_m, q4_k_m, q5_k, q4_k)");
    expect_errors("spec.yaml", BASE "weights: {init: xavier}\n",
                  "spec.yaml:3:17: weights.init: unknown value 'xavier' (expected one of normal, scaled_normal, t5)");
    expect_errors("spec.yaml", BASE "tokenizer: bpe\n",
                  "spec.yaml:3:12: tokenizer: unknown value 'bpe' (expected one of none, byte)");
    expect_errors("spec.yaml", BASE "rope: {scaling: {type: ntk, factor: 2}}\n",
                  "spec.yaml:3:24: rope.scaling.type: unknown value 'ntk' (expected one of linear, dynamic, yarn, llama3)");
}

/* ---- contradictions --------------------------------------------------------------------------- */

static void test_contradictions(void **state) {
    (void)state;
    expect_errors("spec.yaml", "vocab_size: 32000\n",
                  "spec.yaml:1:1: neither target_params nor dims is given (set target_params, e.g. 125M, or pin dims "
                  "such as num_layers and hidden_size)");
    expect_errors("spec.yaml", "vocab_size: 32000\ndims: {}\n",
                  "spec.yaml:1:1: neither target_params nor dims is given (set target_params, e.g. 125M, or pin dims "
                  "such as num_layers and hidden_size)");
    expect_errors("spec.yaml", "vocab_size: 32000\ndims:\n  num_layers:\n",
                  "spec.yaml:1:1: neither target_params nor dims is given (set target_params, e.g. 125M, or pin dims "
                  "such as num_layers and hidden_size)");
    expect_errors("spec.yaml", "target_params: 7B\n", "spec.yaml:1:1: vocab_size: required key is missing (e.g. vocab_size: 32000)");
    expect_errors("spec.yaml", "target_params: 7B\nvocab_size:\n", "spec.yaml:2:1: vocab_size: required, got null (e.g. vocab_size: 32000)");
    expect_errors("spec.yaml", BASE "context_length: 4096\nsliding_window: 8192\n",
                  "spec.yaml:4:17: sliding_window: must be <= context_length (got 8192 > 4096)");
    expect_errors("spec.yaml", BASE "dims: {num_heads: 32, num_kv_heads: 6}\n",
                  "spec.yaml:3:37: dims.num_kv_heads: must divide dims.num_heads (32 % 6 = 2; each key/value head serves "
                  "a whole group of query heads)");
    expect_errors("spec.yaml", BASE "dims: {num_heads: 8, num_kv_heads: 16}\n",
                  "spec.yaml:3:36: dims.num_kv_heads: must be <= dims.num_heads (got 16 > 8)");
    expect_errors("spec.yaml", BASE "attention: mqa\ndims: {num_heads: 8, num_kv_heads: 2}\n",
                  "spec.yaml:3:12: attention: mqa needs dims.num_kv_heads = 1 (got 2)");
    expect_errors("spec.yaml", BASE "attention: mha\ndims: {num_heads: 8, num_kv_heads: 2}\n",
                  "spec.yaml:3:12: attention: mha needs dims.num_kv_heads equal to dims.num_heads (got 2 and 8; use gqa "
                  "for grouped heads)");
    expect_errors("spec.yaml", BASE "attention: sliding_window\n",
                  "spec.yaml:3:12: attention: sliding_window attention needs the sliding_window key (window size in tokens)");
    expect_errors("spec.yaml", BASE "attention: gqa\nsliding_window: 512\n",
                  "spec.yaml:4:1: sliding_window: only applies to attention: sliding_window (attention is gqa)");
    expect_errors("spec.yaml", BASE "positional_encoding: alibi\nrope: {theta: 500000}\n",
                  "spec.yaml:4:1: rope: only applies to positional_encoding: rope (positional_encoding is alibi)");
    expect_errors("spec.yaml", BASE "relative_attention: {num_buckets: 32}\n",
                  "spec.yaml:3:1: relative_attention: only applies to positional_encoding: relative (positional_encoding "
                  "is rope, the default)");
    expect_errors("spec.yaml", BASE "positional_encoding: learned\nalibi_max_bias: 8\n",
                  "spec.yaml:4:1: alibi_max_bias: only applies to positional_encoding: alibi (positional_encoding is learned)");
    expect_errors("spec.yaml", BASE "dims: {hidden_size: 1000, num_heads: 12}\n",
                  "spec.yaml:3:21: dims.hidden_size: must be a multiple of dims.num_heads when dims.head_dim is not given "
                  "(1000 % 12 = 4)");
    expect_errors("spec.yaml", BASE "dims: {head_dim: 63}\n",
                  "spec.yaml:3:18: dims.head_dim: must be even with positional_encoding: rope, which rotates pairs of "
                  "channels (got 63)");
    expect_errors("spec.yaml", BASE "dims: {hidden_size: 567, num_heads: 9}\n",
                  "spec.yaml:3:21: dims.hidden_size: gives an odd head size hidden_size / num_heads = 63, but "
                  "positional_encoding: rope needs it even");
    expect_errors("spec.yaml", BASE "rope:\n  scaling:\n    type: linear\n",
                  "spec.yaml:5:11: rope.scaling.factor: required when rope.scaling.type is linear (a number > 0)");
    expect_errors("spec.yaml", BASE "rope:\n  scaling:\n    factor: 2\n",
                  "spec.yaml:4:3: rope.scaling.type: required when rope.scaling is given (expected one of linear, "
                  "dynamic, yarn, llama3)");
    expect_errors("spec.yaml", BASE "rope: {scaling: {type: dynamic, factor: 0}}\n",
                  "spec.yaml:3:41: rope.scaling.factor: must be > 0 (got 0)");
    expect_errors("spec.yaml", BASE "rope: {scaling: {type: llama3, factor: 8, low_freq_factor: 4, high_freq_factor: 2}}\n",
                  "spec.yaml:3:63: rope.scaling.high_freq_factor: must be greater than rope.scaling.low_freq_factor (got 2 <= 4)");
    expect_errors("spec.yaml", BASE "rope: {scaling: {type: yarn, factor: 4, beta_fast: 1, beta_slow: 1}}\n",
                  "spec.yaml:3:41: rope.scaling.beta_fast: must be greater than rope.scaling.beta_slow (got 1 <= 1)");
    expect_errors("spec.yaml", BASE "rope: {scaling: {type: linear, factor: 2, beta_fast: 8, original_context_length: 8}}\n",
                  "spec.yaml:3:43: rope.scaling.beta_fast: only applies to rope.scaling.type yarn (type is linear)\n"
                  "spec.yaml:3:57: rope.scaling.original_context_length: only applies to rope.scaling.type dynamic, "
                  "yarn or llama3 (type is linear)");
    expect_errors("spec.yaml", "target_params: 1M\nvocab_size: 100\ntokenizer: byte\n",
                  "spec.yaml:2:13: vocab_size: must be >= 256 with tokenizer: byte, one id per byte value (got 100)");
    expect_errors("spec.yaml", BASE "positional_encoding: relative\nrelative_attention: {num_buckets: 32, max_distance: 16}\n",
                  "spec.yaml:4:53: relative_attention.max_distance: must be greater than relative_attention.num_buckets "
                  "/ 2, where log-spaced buckets start (got 16 <= 16)");
}

static void test_consistent_specs_load(void **state) {
    (void)state;
    /* each of these is the "right" version of a contradiction above */
    const char *ok[] = {
        BASE "context_length: 4096\nsliding_window: 4096\n",
        BASE "dims: {num_heads: 32, num_kv_heads: 8}\nattention: gqa\n",
        BASE "dims: {num_heads: 32, num_kv_heads: 32}\nattention: mha\n",
        BASE "dims: {hidden_size: 1000, num_heads: 8, head_dim: 120}\n",
        BASE "dims: {hidden_size: 567, num_heads: 9}\npositional_encoding: learned\n",
        BASE "positional_encoding: alibi\nalibi_max_bias: 16\n",
        BASE "positional_encoding: relative\nrelative_attention: {num_buckets: 32, max_distance: 128}\n",
        BASE "rope: {scaling: {type: llama3, factor: 8, original_context_length: 8192}}\n",
        BASE "rope: {scaling: null}\n",
        "dims: {num_layers: 2, hidden_size: 64, num_heads: 4}\nvocab_size: 256\ntokenizer: {type: byte}\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) llmc_spec_free(expect_ok("ok.yaml", ok[i], ""));
}

static void test_warnings_do_not_fail(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("w.yaml", "vocab_size: 8\ndims: {num_layers: 2}\ntolerance: 0.1\nnorm: no_norm\nnorm_eps: 1e-6\n",
                             "w.yaml:3:1: warning: tolerance: ignored without target_params (no parameter budget to meet)\n"
                             "w.yaml:5:1: warning: norm_eps: ignored with norm: no_norm");
    llmc_spec_free(s);

    /* errors already in the list from elsewhere do not make a good spec fail */
    llmc_diags *d = llmc_diags_create();
    llmc_error(d, NULL, "unrelated earlier error");
    s = llmc_spec_load_string(BASE, strlen(BASE), "x.yaml", LLMC_SPEC_FORMAT_YAML, d);
    assert_non_null(s);
    assert_int_equal(llmc_diags_size(d), 1);
    llmc_spec_free(s);
    llmc_diags_free(d);
}

/* ---- constraints ------------------------------------------------------------------------------ */

static void test_constraint_errors(void **state) {
    (void)state;
    expect_errors("spec.yaml", BASE "constraints:\n  - \"num_layers <= (48\"\n",
                  "spec.yaml:4:23: constraints[0]: expected ')' to close the '(' at column 15 (got end of expression)");
    expect_errors("spec.yaml", BASE "constraints: ['hidden_size %% 2 == 0']\n",
                  "spec.yaml:3:29: constraints[0]: expected a number, a name or '(' (got '%')");
    expect_errors("spec.yaml", BASE "constraints:\n  - num_layers <= 48\n  - hiden_size % 128 == 0\n",
                  "spec.yaml:5:5: constraints[1]: unknown name 'hiden_size' (did you mean 'hidden_size'?)");
    expect_errors("spec.yaml", BASE "constraints:\n  - 2 * num_layer <= 48\n",
                  "spec.yaml:4:9: constraints[0]: unknown name 'num_layer' (did you mean 'num_layers'?)");
    expect_errors("spec.yaml", BASE "constraints:\n  - depth <= 48\n",
                  "spec.yaml:4:5: constraints[0]: unknown name 'depth' (expected a dimension such as hidden_size, or "
                  "vocab_size, context_length, sliding_window, target_params)");
    expect_errors("spec.yaml", BASE "dims: {hidden_size: 1000}\nconstraints:\n  - hidden_size % 128 == 0\n",
                  "spec.yaml:5:5: constraints[0]: 'hidden_size % 128 == 0' is false for the values in this spec "
                  "(hidden_size = 1000)");
    expect_errors("spec.yaml", BASE "constraints:\n  - vocab_size / (context_length - 2048) > 1\n",
                  "spec.yaml:4:5: constraints[0]: 'vocab_size / (context_length - 2048) > 1' cannot be evaluated: "
                  "division by zero in 32000 / 0");
    expect_errors("spec.yaml", BASE "constraints:\n  - 1 > 2\n", "spec.yaml:4:5: constraints[0]: '1 > 2' is always false");

    /* not yet decidable (hidden_size is for the solver) or true: fine */
    llmc_spec *s = expect_ok("spec.yaml",
                             BASE "dims: {num_layers: 12}\nconstraints:\n  - hidden_size % 128 == 0\n  - num_layers <= 48\n"
                                  "  - vocab_size in {32000, 50257}\n  - target_params >= 100M\n",
                             "");
    assert_int_equal(s->n_constraints, 4);
    int64_t v;
    char err[128];
    llmc_expr_env env = {s, NULL};
    assert_int_equal(llmc_expr_eval(s->constraints[3].expr, llmc_expr_env_lookup, &env, &v, err, sizeof err), 0);
    assert_int_equal(v, 1);
    llmc_spec_free(s);
}

/* ---- JSON specs ------------------------------------------------------------------------------- */

static void test_json_located_errors(void **state) {
    (void)state;
    expect_errors("spec.json",
                  "{\n"
                  "  \"vocab_size\": 32000,\n"
                  "  \"target_params\": \"7B\",\n"
                  "  \"atention\": \"gqa\",\n"
                  "  \"attention\": \"gqa2\",\n"
                  "  \"dims\": {\"hidden_size\": 0, \"num_heads\": \"8\"},\n"
                  "  \"bias\": {\"qkv\": \"yes\"}\n"
                  "}\n",
                  "spec.json:4:3: atention: unknown key (did you mean 'attention'?)\n"
                  "spec.json:5:16: attention: unknown value 'gqa2' (expected one of mha, mqa, gqa, sliding_window)\n"
                  "spec.json:6:27: dims.hidden_size: must be >= 1 (got 0)\n"
                  "spec.json:6:43: dims.num_heads: expected an integer, got the quoted string '8'\n"
                  "spec.json:7:19: bias.qkv: expected true or false, got the quoted string 'yes'");
}

static void test_json_syntax_errors(void **state) {
    (void)state;
    expect_errors("spec.json", "{\n  \"vocab_size\": 32000,\n  \"dims\" {}\n}\n",
                  "spec.json:3:10: JSON syntax error: ':' expected near '{'");
    expect_errors("spec.json", "{\n  \"vocab_size\": 1,\n  \"vocab_size\": 2\n}\n",
                  "spec.json:3:14: JSON syntax error: duplicate object key near '\"vocab_size\"'");
    expect_errors("spec.json", "{\"vocab_size\": 1,}", "spec.json:1:18: JSON syntax error: string or '}' expected near '}'");
    expect_errors("spec.json", "", "spec.json:1:1: JSON syntax error: '[' or '{' expected near end of file");
    expect_errors("spec.json", "[1, 2]", "spec.json:1:1: a spec must be a mapping of keys to values (got a list)");
}

static void test_json_libyaml_fallback(void **state) {
    (void)state;
    /* valid JSON libyaml cannot read: tab before '{' and a surrogate pair escape */
    llmc_spec *s = expect_ok("spec.json", "\t{\"vocab_size\": 32000, \"target_params\": 1000000, \"name\": \"\\ud83e\\udd99\"}", "");
    assert_string_equal(s->name, "\xf0\x9f\xa6\x99");
    assert_int_equal(s->vocab_size, 32000);
    llmc_spec_free(s);
    /* errors in what only jansson reads are still reported, without a position */
    expect_errors("spec.json", "\t{\"vocab_size\": 0, \"target_params\": 1000000, \"name\": \"\\ud83e\\udd99\"}",
                  "spec.json: vocab_size: must be >= 1 (got 0)");
    /* the direct JSON reader takes the tab (a column of one character, as libyaml counts) */
    expect_errors("spec.json", "\t{\"vocab_size\": 0, \"target_params\": 1000000}",
                  "spec.json:1:17: vocab_size: must be >= 1 (got 0)");
}

static void test_scalar_edge_cases(void **state) {
    (void)state;
    /* UTF-8 byte order mark before JSON */
    llmc_spec *s = expect_ok("bom.json", "\xef\xbb\xbf{\"vocab_size\": 5, \"target_params\": \"7B\"}", "");
    assert_int_equal(s->target_params, UINT64_C(7000000000));
    llmc_spec_free(s);
    /* a NUL inside a value is one error, not two */
    expect_errors("nul.yaml", BASE "name: \"a\\0b\"\n", "nul.yaml:3:7: value contains a NUL character");
    /* block and folded scalars: offsets are not columns, so point at the scalar */
    expect_errors("spec.yaml", BASE "constraints:\n  - |\n    num_layers <= (48\n",
                  "spec.yaml:4:5: constraints[0]: expected ')' to close the '(' at column 15 (got end of expression)");
    expect_errors("spec.yaml", BASE "constraints:\n  - num_layers <= 48 and\n    hiden_size > 0\n",
                  "spec.yaml:4:5: constraints[0]: unknown name 'hiden_size' (did you mean 'hidden_size'?)");
    /* counts written as JSON reals */
    s = expect_ok("r.json", "{\"vocab_size\": 5, \"target_params\": 7000000000.0}", "");
    assert_int_equal(s->target_params, UINT64_C(7000000000));
    llmc_spec_free(s);
}

/* ---- YAML reader ------------------------------------------------------------------------------- */

static void test_yaml_syntax_errors(void **state) {
    (void)state;
    expect_errors("spec.yaml", "vocab_size: 32000\ndims: [1,\n",
                  "spec.yaml:3:1: YAML syntax error: did not find expected node content (while parsing a flow node at "
                  "line 3, column 1)");
    expect_errors("spec.yaml", "vocab_size: 32000\n  dims: 4\n",
                  "spec.yaml:2:7: YAML syntax error: mapping values are not allowed in this context");
    expect_errors("spec.yaml", "name: \"unterminated\nvocab_size: 1\n",
                  "spec.yaml:3:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at "
                  "line 1, column 7)");
    expect_errors("spec.yaml", "", "spec.yaml:1:1: the document is empty");
    expect_errors("spec.yaml", "- a\n- b\n", "spec.yaml:1:1: a spec must be a mapping of keys to values (got a list)");
    expect_errors("spec.yaml", BASE "---\nvocab_size: 2\n",
                  "spec.yaml:3:1: only one YAML document is allowed (found a second '---')");
}

static void test_yaml_refusals(void **state) {
    (void)state;
    expect_errors("spec.yaml", "vocab_size: &v 32000\ntarget_params: *v\n",
                  "spec.yaml:1:13: YAML anchors are not supported (&v); write the value out\n"
                  "spec.yaml:2:16: YAML aliases are not supported (*v); write the value out");
    expect_errors("spec.yaml", BASE "name: !!str 12\n", "spec.yaml:3:7: YAML tags are not supported (!!str); remove the tag");
    expect_errors("spec.yaml", BASE "vocab_size: 2\n",
                  "spec.yaml:3:1: vocab_size: duplicate key (first given at line 1, column 1)");
    expect_errors("spec.yaml", BASE "? [a]\n: 1\n", "spec.yaml:3:3: mapping keys must be plain strings");

    /* classic alias bomb: refused at the first alias, nothing expanded */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    char *got;
    assert_null(load("bomb.yaml", bomb, &got));
    assert_non_null(strstr(got, "bomb.yaml:2:8: YAML aliases are not supported (*a)"));
    free(got);
}

static void test_depth_and_size_limits(void **state) {
    (void)state;
    char text[512];
    size_t n = (size_t)sprintf(text, "vocab_size: 1\ndims: ");
    for (int i = 0; i < 70; i++) text[n++] = '[';
    for (int i = 0; i < 70; i++) text[n++] = ']';
    text[n] = '\0';
    expect_errors("deep.yaml", text, "deep.yaml:2:70: document nested deeper than 64 levels");

    size_t big = LLMC_DOC_MAX_BYTES + 1;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[big] = '\0';
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_spec_load_string(huge, big, "huge.yaml", LLMC_SPEC_FORMAT_YAML, d));
    char *got = test_all_diags(d);
    assert_string_equal(got, "huge.yaml: file is too large (16777217 bytes; the limit is 16 MiB)");
    free(got);
    llmc_diags_free(d);
    free(huge);
}

static void test_load_file(void **state) {
    (void)state;
    llmc_diags *d = llmc_diags_create();
    assert_null(llmc_spec_load_file("/nonexistent/spec.yaml", d));
    char *got = test_all_diags(d);
    assert_string_equal(got, "/nonexistent/spec.yaml: cannot read the spec file: No such file or directory");
    free(got);
    llmc_diags_clear(d);

    char path[] = "/tmp/llmc_test_spec_XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    const char *json = "{\"vocab_size\": 100, \"dims\": {\"num_layers\": 2, \"hidden_size\": 0}}";
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    assert_null(llmc_spec_load_file(path, d)); /* .json picks the JSON reader */
    got = test_all_diags(d);
    char want[256];
    snprintf(want, sizeof want, "%s:1:62: dims.hidden_size: must be >= 1 (got 0)", path);
    assert_string_equal(got, want);
    free(got);
    unlink(path);
    llmc_diags_free(d);
}

/* ---- locations ---------------------------------------------------------------------------------- */

static void test_spec_loc_and_has_key(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("loc.yaml",
                             "vocab_size: 32000\n"              /* 1 */
                             "dims:\n"                          /* 2 */
                             "  hidden_size: 512\n"             /* 3 */
                             "rope:\n"                          /* 4 */
                             "  theta: 500000\n"                /* 5 */
                             "  scaling:\n"                     /* 6 */
                             "    type: linear\n"               /* 7 */
                             "    factor: 2\n"                  /* 8 */
                             "constraints:\n"                   /* 9 */
                             "  - num_layers <= 48\n"           /* 10 */
                             "  - hidden_size % 64 == 0\n"      /* 11 */
                             "  - \"num_heads in {8, 16}\"\n",  /* 12 */
                             "");
    llmc_loc l = llmc_spec_loc(s, "rope.theta");
    assert_string_equal(l.file, "loc.yaml");
    assert_int_equal(l.line, 5);
    assert_int_equal(l.col, 10);
    l = llmc_spec_loc(s, "dims.hidden_size");
    assert_int_equal(l.line, 3);
    assert_int_equal(l.col, 16);
    l = llmc_spec_loc(s, "constraints[2]");
    assert_int_equal(l.line, 12);
    assert_int_equal(l.col, 5);
    l = llmc_spec_loc(s, "rope.scaling.factor");
    assert_int_equal(l.line, 8);
    assert_int_equal(l.col, 13);
    l = llmc_spec_loc(s, "rope.scaling");      /* a block: the key */
    assert_int_equal(l.line, 6);
    assert_int_equal(l.col, 3);
    l = llmc_spec_loc(s, "dims.num_heads");    /* absent: closest present ancestor */
    assert_int_equal(l.line, 2);
    assert_int_equal(l.col, 1);
    l = llmc_spec_loc(s, "constraints[7]");
    assert_int_equal(l.line, 9);
    l = llmc_spec_loc(s, "weights.std");       /* nothing present: top of the file */
    assert_int_equal(l.line, 1);
    assert_int_equal(l.col, 1);
    assert_true(llmc_spec_has_key(s, "rope.theta"));
    assert_true(llmc_spec_has_key(s, "rope.scaling.factor"));
    assert_true(llmc_spec_has_key(s, "constraints[2]"));
    assert_true(llmc_spec_has_key(s, "dims"));
    assert_false(llmc_spec_has_key(s, "constraints[3]"));
    assert_false(llmc_spec_has_key(s, "dims.num_heads"));
    assert_false(llmc_spec_has_key(s, "weights"));
    assert_false(llmc_spec_has_key(s, "rope..theta"));
    assert_false(llmc_spec_has_key(s, "constraints[x]"));
    llmc_spec_free(s);
}

/* ---- normalised JSON --------------------------------------------------------------------------- */

static const char *const schema_order[] = {
    "name", "template", "solver", "target_params", "dims", "vocab_size", "context_length", "attention",
    "sliding_window", "norm", "norm_eps", "activation", "positional_encoding", "rope", "alibi_max_bias",
    "relative_attention", "bias", "tie_word_embeddings", "precision", "quantize", "weights", "tokenizer",
    "dataset", "constraints", "tolerance", "emit", "emit_options", "solver_options",
};

static json_t *parse_json(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("to_json output does not parse: %s at %d:%d\n%s", e.text, e.line, e.column, text);
    return j;
}

static void test_to_json_defaults(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("tiny.yaml", BASE "dims: {num_layers: 4}\n", "");
    char *text = llmc_spec_to_json(s, NULL);
    assert_non_null(text);
    json_t *j = parse_json(text);
    /* every key, in schema order */
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        assert_true(i < sizeof schema_order / sizeof *schema_order);
        assert_string_equal(key, schema_order[i]);
        i++;
    }
    assert_int_equal(i, sizeof schema_order / sizeof *schema_order);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "tiny");
    assert_string_equal(json_string_value(json_object_get(j, "template")), "decoder_only");
    assert_true(json_is_null(json_object_get(j, "solver")));
    assert_int_equal(json_integer_value(json_object_get(j, "target_params")), 125000000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "dims"), "num_layers")), 4);
    assert_int_equal(json_object_size(json_object_get(j, "dims")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "context_length")), 2048);
    assert_string_equal(json_string_value(json_object_get(j, "attention")), "mha");
    assert_true(json_is_null(json_object_get(j, "sliding_window")));
    assert_string_equal(json_string_value(json_object_get(j, "norm")), "rmsnorm");
    assert_true(json_real_value(json_object_get(j, "norm_eps")) == 1e-5);
    assert_string_equal(json_string_value(json_object_get(j, "activation")), "swiglu");
    assert_string_equal(json_string_value(json_object_get(j, "positional_encoding")), "rope");
    json_t *rope = json_object_get(j, "rope");
    assert_true(json_real_value(json_object_get(rope, "theta")) == 10000.0);
    assert_true(json_is_null(json_object_get(rope, "scaling")));
    assert_true(json_is_null(json_object_get(j, "alibi_max_bias")));
    assert_true(json_is_null(json_object_get(j, "relative_attention")));
    json_t *bias = json_object_get(j, "bias");
    assert_true(json_is_false(json_object_get(bias, "qkv")));
    assert_true(json_is_true(json_object_get(bias, "norm")));
    assert_int_equal(json_object_size(bias), 5);
    assert_true(json_is_false(json_object_get(j, "tie_word_embeddings")));
    assert_string_equal(json_string_value(json_object_get(j, "precision")), "float32");
    assert_string_equal(json_string_value(json_object_get(j, "quantize")), "none");
    json_t *w = json_object_get(j, "weights");
    assert_string_equal(json_string_value(json_object_get(w, "init")), "normal");
    assert_true(json_real_value(json_object_get(w, "std")) == 0.02);
    assert_int_equal(json_integer_value(json_object_get(w, "seed")), 0);
    assert_true(json_is_null(json_object_get(w, "checkpoint")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "tokenizer"), "type")), "none");
    assert_true(json_is_null(json_object_get(j, "dataset")));
    assert_int_equal(json_array_size(json_object_get(j, "constraints")), 0);
    assert_true(json_real_value(json_object_get(j, "tolerance")) == 0.01);
    assert_true(json_is_null(json_object_get(j, "emit")));
    assert_int_equal(json_object_size(json_object_get(j, "emit_options")), 0);
    /* short exact reals, integral ones written as such */
    assert_non_null(strstr(text, "\"norm_eps\": 1e-05") ? strstr(text, "\"norm_eps\": 1e-05") : strstr(text, "\"norm_eps\": 1e-5"));
    assert_non_null(strstr(text, "\"theta\": 10000.0"));
    assert_non_null(strstr(text, "\"std\": 0.02"));
    json_decref(j);
    free(text);
    llmc_spec_free(s);
}

static void test_to_json_solved_and_blocks(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("t.yaml",
                             "vocab_size: 256\ndims: {num_layers: 2}\npositional_encoding: relative\n"
                             "relative_attention: {num_buckets: 16}\nrope:\nemit: [gguf]\n"
                             "emit_options: {gguf: {block: 32, flag: true, label: '7', ratio: 0.5, huge: 99999999999999999999}}\n"
                             "norm_eps: 0.1\nweights: {std: 0.006, seed: 9007199254740993}\n",
                             "");
    llmc_dims solved;
    memset(&solved, 0, sizeof solved);
    llmc_dims_put(&solved, LLMC_DIM_NUM_LAYERS, 2);
    llmc_dims_put(&solved, LLMC_DIM_HIDDEN_SIZE, 128);
    llmc_dims_put(&solved, LLMC_DIM_NUM_HEADS, 4);
    char *text = llmc_spec_to_json(s, &solved);
    json_t *j = parse_json(text);
    json_t *dims = json_object_get(j, "dims");
    assert_int_equal(json_object_size(dims), 3);
    assert_int_equal(json_integer_value(json_object_get(dims, "hidden_size")), 128);
    assert_true(json_is_null(json_object_get(j, "target_params")));
    assert_true(json_is_null(json_object_get(j, "rope")));
    json_t *rel = json_object_get(j, "relative_attention");
    assert_int_equal(json_integer_value(json_object_get(rel, "num_buckets")), 16);
    assert_int_equal(json_integer_value(json_object_get(rel, "max_distance")), 128);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "emit"), 0)), "gguf");
    json_t *g = json_object_get(json_object_get(j, "emit_options"), "gguf");
    assert_int_equal(json_integer_value(json_object_get(g, "block")), 32);
    assert_true(json_is_true(json_object_get(g, "flag")));
    assert_string_equal(json_string_value(json_object_get(g, "label")), "7");
    assert_string_equal(json_string_value(json_object_get(g, "ratio")), "0.5");
    assert_string_equal(json_string_value(json_object_get(g, "huge")), "99999999999999999999"); /* not clamped */
    assert_true(json_real_value(json_object_get(j, "norm_eps")) == 0.1);
    assert_true(json_real_value(json_object_get(json_object_get(j, "weights"), "std")) == 0.006);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "weights"), "seed")), INT64_C(9007199254740993));
    json_decref(j);
    free(text);
    llmc_spec_free(s);
}

/* The normalised JSON is a spec itself, and normalising it again changes nothing. */
static void test_to_json_round_trip(void **state) {
    (void)state;
    const char *specs[] = {
        BASE,
        BASE "dims: {num_heads: 32, num_kv_heads: 8}\ncontext_length: 8192\nsliding_window: 4096\n"
             "rope: {theta: 1e6, scaling: {type: llama3, factor: 8, original_context_length: 8192, high_freq_factor: 3.3}}\n"
             "constraints: ['hidden_size % 128 == 0']\nemit: [safetensors]\nweights: {checkpoint: a.safetensors}\n"
             "tokenizer: {type: byte, path: t.json}\ndataset: d.txt\nsolver: grid\nnorm_eps: 3.14159e-7\n",
        BASE "positional_encoding: alibi\nalibi_max_bias: 4\nrope:\nnorm: layernorm\nactivation: gelu\n",
        BASE "rope: {scaling: {type: yarn, factor: 4, beta_fast: 16}}\nquantize: q8_0\nprecision: float16\n",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        llmc_spec *s = expect_ok("rt.yaml", specs[i], "");
        char *first = llmc_spec_to_json(s, NULL);
        llmc_spec *again = expect_ok("rt.json", first, "");
        char *second = llmc_spec_to_json(again, NULL);
        assert_string_equal(first, second);
        free(first);
        free(second);
        llmc_spec_free(again);
        llmc_spec_free(s);
    }
}

/* ---- counts and sizes -------------------------------------------------------------------------- */

static void test_parse_count(void **state) {
    (void)state;
    struct { const char *text; uint64_t want; } good[] = {
        {"7B", UINT64_C(7000000000)}, {"125M", 125000000}, {"1.5T", UINT64_C(1500000000000)},
        {"7e9", UINT64_C(7000000000)}, {"124439808", 124439808}, {"350k", 350000}, {"350K", 350000},
        {"1.5e9", 1500000000}, {"7E+9", UINT64_C(7000000000)}, {"1_000_000", 1000000}, {"0", 0},
        {"2.50M", 2500000}, {"0.5B", 500000000}, {"7G", UINT64_C(7000000000)}, {"125m", 125000000},
        {"18446744073709551615", UINT64_MAX}, {"1e19", UINT64_C(10000000000000000000)}, {"0007", 7},
        {"1000e-3", 1},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t v = 0;
        if (llmc_parse_count(good[i].text, &v) != 0 || v != good[i].want)
            fail_msg("'%s': got %llu", good[i].text, (unsigned long long)v);
    }
    struct { const char *text; int rc; } bad[] = {
        {"", 1}, {"abc", 1}, {"7X", 1}, {"-5", 1}, {"7 B", 1}, {"1.", 1}, {".5B", 1}, {"1e", 1},
        {"_1", 1}, {"1__0", 1}, {"7BB", 1}, {"1.2.3", 1},
        {"18446744073709551616", 2}, {"1e20", 2}, {"20000000T", 2}, {"1e99999999999", 2},
        {"1.2345k", 3}, {"0.5", 3}, {"1e-3", 3}, {"1500e-3", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 77;
        int rc = llmc_parse_count(bad[i].text, &v);
        if (rc != bad[i].rc || v != 77) fail_msg("'%s': rc %d (want %d), value %llu", bad[i].text, rc, bad[i].rc, (unsigned long long)v);
    }
    assert_int_not_equal(llmc_parse_count(NULL, NULL), 0);
}

static void test_parse_bytes(void **state) {
    (void)state;
    struct { const char *text; uint64_t want; } good[] = {
        {"5GB", UINT64_C(5000000000)}, {"500MB", 500000000}, {"2GiB", UINT64_C(2147483648)},
        {"1.5GiB", UINT64_C(1610612736)}, {"5 GB", UINT64_C(5000000000)}, {"123", 123}, {"123B", 123},
        {"4KiB", 4096}, {"1TiB", UINT64_C(1099511627776)}, {"10kB", 10000}, {"3M", 3000000}, {"1e3", 1000},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t v = 0;
        if (llmc_parse_bytes(good[i].text, &v) != 0 || v != good[i].want)
            fail_msg("'%s': got %llu", good[i].text, (unsigned long long)v);
    }
    const char *bad[] = {"", "5XB", "GB", "5 gb", "-1GB", "1.5B", "99999999999TiB", "5GiBs"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v;
        if (llmc_parse_bytes(bad[i], &v) == 0) fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
    }
}

/* solver_options: passed through as written, in spec.json too; the default tolerance grows for
 * small budgets */
static void test_solver_options_and_default_tolerance(void **state) {
    (void)state;
    llmc_spec *s = expect_ok("o.yaml", BASE "solver_options: {objective: closest, depth: 3}\n", "");
    assert_int_equal(s->n_solver_options, 2);
    assert_string_equal(llmc_spec_solver_option(s, "objective")->value, "closest");
    assert_int_equal(llmc_spec_solver_option(s, "objective")->loc.line, 3);
    assert_int_equal(llmc_spec_solver_option(s, "objective")->loc.col, 29);
    assert_null(llmc_spec_solver_option(s, "speed"));
    char *text = llmc_spec_to_json(s, NULL);
    json_t *j = parse_json(text);
    json_t *so = json_object_get(j, "solver_options");
    assert_string_equal(json_string_value(json_object_get(so, "objective")), "closest");
    assert_int_equal(json_integer_value(json_object_get(so, "depth")), 3);
    json_decref(j);
    free(text);
    llmc_spec_free(s);
    expect_errors("o.yaml", BASE "solver_options: {objective: [a, b]}\n",
                  "o.yaml:3:18: solver_options.objective: expected a single value, got a list");
    expect_errors("o.yaml", BASE "solver_options: closest\n", "o.yaml:3:17: solver_options: expected a mapping of keys to values, got 'closest'");
    s = expect_ok("t.yaml", "vocab_size: 256\ntarget_params: 1M\n", "");
    assert_true(fabs(s->tolerance - 0.1) < 1e-12);
    llmc_spec_free(s);
    s = expect_ok("t.yaml", "vocab_size: 256\ntarget_params: 4M\n", "");
    assert_true(fabs(s->tolerance - 0.05) < 1e-12);
    llmc_spec_free(s);
    s = expect_ok("t.yaml", "vocab_size: 256\ntarget_params: 4M\ntolerance: 0.001\n", "");
    assert_true(s->tolerance == 0.001);
    llmc_spec_free(s);
}

static void test_name_tables(void **state) {
    (void)state;
    for (int i = 0; i < LLMC_DIM_COUNT; i++) assert_int_equal(llmc_dim_from_name(llmc_dim_name((llmc_dim_id)i)), i);
    assert_string_equal(llmc_dim_name(LLMC_DIM_HIDDEN_SIZE), "hidden_size");
    assert_string_equal(llmc_dim_name(LLMC_DIM_NUM_DECODER_LAYERS), "num_decoder_layers");
    assert_int_equal(llmc_dim_from_name("hidden"), -1);
    assert_int_equal(llmc_dim_from_name(NULL), -1);
    assert_string_equal(llmc_attention_name(LLMC_ATTN_SLIDING_WINDOW), "sliding_window");
    assert_string_equal(llmc_norm_name(LLMC_NORM_NONE), "no_norm");
    assert_string_equal(llmc_activation_name(LLMC_ACT_RELU_SQUARED), "relu_squared");
    assert_string_equal(llmc_positional_name(LLMC_POS_SINUSOIDAL), "sinusoidal");
    assert_string_equal(llmc_rope_scaling_name(LLMC_ROPE_SCALING_LLAMA3), "llama3");
    assert_string_equal(llmc_precision_name(LLMC_PRECISION_BFLOAT16), "bfloat16");
    assert_string_equal(llmc_quantize_name(LLMC_QUANT_NONE), "none");
    assert_string_equal(llmc_init_scheme_name(LLMC_INIT_T5), "t5");
    assert_string_equal(llmc_tokenizer_name(LLMC_TOKENIZER_BYTE), "byte");
    assert_string_equal(llmc_attention_name((llmc_attention_kind)99), "?");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_filled),
        cmocka_unit_test(test_every_key_read),
        cmocka_unit_test(test_shorthands_and_nulls),
        cmocka_unit_test(test_tokenizer_and_dataset_keys),
        cmocka_unit_test(test_tokenizer_and_dataset_errors),
        cmocka_unit_test(test_attention_default),
        cmocka_unit_test(test_five_mistakes_all_reported),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_unknown_enum_values),
        cmocka_unit_test(test_contradictions),
        cmocka_unit_test(test_consistent_specs_load),
        cmocka_unit_test(test_warnings_do_not_fail),
        cmocka_unit_test(test_constraint_errors),
        cmocka_unit_test(test_json_located_errors),
        cmocka_unit_test(test_json_syntax_errors),
        cmocka_unit_test(test_json_libyaml_fallback),
        cmocka_unit_test(test_scalar_edge_cases),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_yaml_refusals),
        cmocka_unit_test(test_depth_and_size_limits),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_spec_loc_and_has_key),
        cmocka_unit_test(test_to_json_defaults),
        cmocka_unit_test(test_to_json_solved_and_blocks),
        cmocka_unit_test(test_to_json_round_trip),
        cmocka_unit_test(test_parse_count),
        cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_name_tables),
        cmocka_unit_test(test_qk_norm),
        cmocka_unit_test(test_partial_rotary_and_parallel),
        cmocka_unit_test(test_solver_options_and_default_tolerance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
