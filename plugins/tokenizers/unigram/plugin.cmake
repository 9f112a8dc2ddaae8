# The unigram trainer uses libllmc's internal tokenizer pieces (core/tok_trie.h: the double-array
# trie; core/tok_unicode_script.h: Unicode scripts; core/tok_buf.h: UTF-8 helpers) and threads.
# They are not SDK symbols (the cpu runtime copies the same files by name), so the plugin links
# its own private copy of those self-contained objects from llmc_internal; --exclude-libs keeps
# them out of the plugin's exports.
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/core)
find_package(Threads REQUIRED)
target_link_libraries(${PLUGIN_TARGET} PRIVATE llmc_internal Threads::Threads PkgConfig::JANSSON m)
target_link_options(${PLUGIN_TARGET} PRIVATE -Wl,--exclude-libs,libllmc_internal.a)
