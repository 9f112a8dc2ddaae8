# Shared template code (dims derivation, sizing plan, checked counts, IR blocks).
target_sources(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/plugins/common/tmpl_common.c)
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/plugins/common)
