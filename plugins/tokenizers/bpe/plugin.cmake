# The BPE merge learner shared with the wordpiece plugin.
target_sources(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/plugins/common/tok_bpe_train.c)
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/plugins/common)
