# The safetensors emitter uses libllmc's internal SHA-256 (core/sha256.h) for the spec hash
# and jansson to build config.json.
target_include_directories(${PLUGIN_TARGET} PRIVATE ${CMAKE_SOURCE_DIR}/core)
target_link_libraries(${PLUGIN_TARGET} PRIVATE PkgConfig::JANSSON)
