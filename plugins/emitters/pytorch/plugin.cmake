# The Python templates in py/*.in are embedded into the plugin (pt_templates[], llmc/output.h).
llmc_embed_files(${PLUGIN_TARGET} DIR ${dir}/py SYMBOL pt_templates)
target_include_directories(${PLUGIN_TARGET} PRIVATE ${dir})
# tokenizer.py carries the general categories of libllmc's Unicode tables (core/tok_unicode.h).
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/core)
