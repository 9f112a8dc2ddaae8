# The runtime sources in rt/ are embedded into the plugin: a build step turns them into a C table
# (cpu_rt_files.c), regenerated whenever one of them changes.
file(GLOB CPU_RT_FILES CONFIGURE_DEPENDS ${dir}/rt/*.in)
set(CPU_RT_GEN ${CMAKE_BINARY_DIR}/plugins/emitters/cpu_gen/cpu_rt_files.c)
add_custom_command(
  OUTPUT ${CPU_RT_GEN}
  COMMAND ${CMAKE_COMMAND} -DOUT=${CPU_RT_GEN} -DRT_DIR=${dir}/rt -P ${dir}/embed.cmake
  DEPENDS ${CPU_RT_FILES} ${dir}/embed.cmake
  COMMENT "Embedding the cpu emitter's runtime sources"
  VERBATIM)
target_sources(${PLUGIN_TARGET} PRIVATE ${CPU_RT_GEN})
target_include_directories(${PLUGIN_TARGET} PRIVATE ${dir})
