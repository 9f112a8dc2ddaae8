# The Python templates in py/ are embedded into the plugin: a build step turns them into a
# C table (pt_templates.c), regenerated whenever a template changes.
file(GLOB PT_TEMPLATES CONFIGURE_DEPENDS ${dir}/py/*.in)
set(PT_GEN ${CMAKE_BINARY_DIR}/plugins/emitters/pytorch_gen/pt_templates.c)
add_custom_command(
  OUTPUT ${PT_GEN}
  COMMAND ${CMAKE_COMMAND} -DOUT=${PT_GEN} -DTEMPLATE_DIR=${dir}/py -P ${dir}/embed.cmake
  DEPENDS ${PT_TEMPLATES} ${dir}/embed.cmake
  COMMENT "Embedding the pytorch emitter's Python templates"
  VERBATIM)
target_sources(${PLUGIN_TARGET} PRIVATE ${PT_GEN})
target_include_directories(${PLUGIN_TARGET} PRIVATE ${dir})
