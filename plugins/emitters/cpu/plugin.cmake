# The runtime sources in rt/*.in are embedded into the plugin (cpu_rt_files[], llmc/output.h).
llmc_embed_files(${PLUGIN_TARGET} DIR ${dir}/rt SYMBOL cpu_rt_files)
target_include_directories(${PLUGIN_TARGET} PRIVATE ${dir})
