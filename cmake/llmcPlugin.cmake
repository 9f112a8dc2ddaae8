# llmc_add_plugin(<name> SOURCES <file>... [TARGET <target>] [OUTPUT_DIRECTORY <dir>])
#
# Builds <name>.so, an llmc plugin: a MODULE library (loaded with dlopen, never linked against)
# without the "lib" prefix, compiled as C11 with position-independent code and hidden
# visibility, so that the only exported symbol is the entry point LLMC_DEFINE_PLUGIN_ENTRY
# defines. It links llmc::llmc (the SDK headers, and libllmc, which provides every LLMC_API
# function) and libm.
#
# The CMake target is <target> (default: <name>); add sources, include folders or libraries to
# it with the usual target_* commands. OUTPUT_DIRECTORY sets where the .so is built.
#
# This file is installed with the llmc CMake package (find_package(llmc) includes it), and llmc's
# own build uses it for the in-tree plugins.
function(llmc_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TARGET;OUTPUT_DIRECTORY" "SOURCES")
  set(usage "usage: llmc_add_plugin(<name> SOURCES <file>... [TARGET <target>] [OUTPUT_DIRECTORY <dir>])")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "llmc_add_plugin(${name}): unexpected arguments '${arg_UNPARSED_ARGUMENTS}' (${usage})")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "llmc_add_plugin(${name}): no SOURCES given (${usage})")
  endif()
  if(NOT name MATCHES "^[A-Za-z0-9_.-]+$")
    message(FATAL_ERROR "llmc_add_plugin(${name}): the file name may use only letters, digits, '_', '-' and '.'")
  endif()
  if(NOT TARGET llmc::llmc)
    message(FATAL_ERROR "llmc_add_plugin(${name}): there is no target llmc::llmc (call find_package(llmc) first)")
  endif()
  set(target ${name})
  if(arg_TARGET)
    set(target ${arg_TARGET})
  endif()

  add_library(${target} MODULE ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE llmc::llmc)
  if(UNIX)
    target_link_libraries(${target} PRIVATE m)
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX ""
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden)
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIRECTORY})
  endif()
endfunction()

# llmc_embed_files(<target> DIR <dir> SYMBOL <symbol>)
#
# Embeds every <dir>/*.in file (code templates, runtime sources) into <target>: a build step
# writes a C table `const llmc_embedded_file <symbol>[]` with `const size_t <symbol>_count`
# (llmc/output.h), regenerated whenever one of the files changes. Names drop the ".in".
set(LLMC_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/llmcEmbed.cmake)
function(llmc_embed_files target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DIR;SYMBOL" "")
  if(NOT arg_DIR OR NOT arg_SYMBOL OR arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "usage: llmc_embed_files(<target> DIR <dir> SYMBOL <symbol>)")
  endif()
  file(GLOB inputs CONFIGURE_DEPENDS ${arg_DIR}/*.in)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded/${arg_SYMBOL}.c)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DDIR=${arg_DIR} -DSYMBOL=${arg_SYMBOL} -P ${LLMC_EMBED_SCRIPT}
    DEPENDS ${inputs} ${LLMC_EMBED_SCRIPT}
    COMMENT "Embedding ${arg_DIR}/*.in into ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
