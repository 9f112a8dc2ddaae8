# The unigram trainer uses libllmc's internal tokenizer pieces (core/tok_trie.h: the double-array
# trie; core/tok_unicode_script.h: Unicode scripts; core/tok_buf.h: UTF-8 helpers) and threads.
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/core)
find_package(Threads REQUIRED)
target_link_libraries(${PLUGIN_TARGET} PRIVATE Threads::Threads PkgConfig::JANSSON m)
