# The Python templates in py/*.in are embedded into the plugin (pt_templates[], llmc/output.h).
llmc_embed_files(${PLUGIN_TARGET} DIR ${dir}/py SYMBOL pt_templates)
target_include_directories(${PLUGIN_TARGET} PRIVATE ${dir})
# tokenizer.py carries the general categories of libllmc's Unicode tables (core/tok_unicode.h):
# the plugin links its own private copy of those self-contained, read-only tables from
# llmc_internal (not SDK symbols); --exclude-libs keeps them out of the plugin's exports.
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/core)
target_link_libraries(${PLUGIN_TARGET} PRIVATE llmc_internal)
target_link_options(${PLUGIN_TARGET} PRIVATE -Wl,--exclude-libs,libllmc_internal.a)
