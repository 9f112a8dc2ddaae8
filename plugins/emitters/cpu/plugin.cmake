# The runtime sources in rt/*.in are embedded into the plugin (cpu_rt_files[], llmc/output.h).
llmc_embed_files(${PLUGIN_TARGET} DIR ${dir}/rt SYMBOL cpu_rt_files)
# llmc-run's tokenizer (cpu/tokenizer/): the core's own tokenizer.json encoder and decoder, the same
# sources libllmc builds (so ids equal `llmc tokenize`), its generated Unicode tables, and a small
# JSON reader in place of jansson (rt/tok/) so the program still needs libc only.
set(cpu_tok_core tok_internal.h tok_map.h tok_map.c tok_model.h tok_regex.h tok_regex.c tok_unicode.h tok_unicode.c
    tok_json.c tokenizer.c tok_normalize.c tok_pretok.c tok_models.c tok_decode.c tok_unigram.h tok_unigram.c
    tok_trie.h tok_trie.c tok_buf.h tok_spm.h tok_spm.c tok_spm_model.h tok_spm_model.c tok_spm_bpe.h tok_spm_bpe.c
    tok_charsmap.h tok_charsmap.c tok_corpus.h tok_unicode_script.h tok_unicode_script.c util.h util.c diag.c)
set(cpu_tok_files jansson.h=${dir}/rt/tok/jansson.h.in json_read.c=${dir}/rt/tok/json_read.c.in
    llmc_unicode_tables.c=${LLMC_UNICODE_TABLES})
foreach(f ${cpu_tok_core})
  list(APPEND cpu_tok_files ${f}=${PROJECT_SOURCE_DIR}/core/${f})
endforeach()
foreach(f diag.h export.h tokenizer.h)
  list(APPEND cpu_tok_files llmc/${f}=${LLMC_SDK_INCLUDE}/llmc/${f})
endforeach()
llmc_embed_files(${PLUGIN_TARGET} SYMBOL cpu_tok_files FILES ${cpu_tok_files})
add_dependencies(${PLUGIN_TARGET} llmc_unicode_tables)
target_include_directories(${PLUGIN_TARGET} PRIVATE ${dir})
