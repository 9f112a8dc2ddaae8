# The GGUF emitter reads the model's tokenizer.json (llmc_tokenizer_to_json) with jansson to
# write the vocabulary.
target_link_libraries(${PLUGIN_TARGET} PRIVATE PkgConfig::JANSSON)
