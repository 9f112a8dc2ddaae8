# The safetensors emitter uses jansson to build config.json.
target_link_libraries(${PLUGIN_TARGET} PRIVATE PkgConfig::JANSSON)
