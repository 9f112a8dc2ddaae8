# The TorchScript templates in ts/*.in are embedded into the plugin (ts_templates[], llmc/output.h).
llmc_embed_files(${PLUGIN_TARGET} DIR ${dir}/ts SYMBOL ts_templates)
