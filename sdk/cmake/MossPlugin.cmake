# moss_add_plugin(<name> SOURCES <file>... [LINK_LIBRARIES <lib>...])
#
# Builds a moss plugin: a MODULE library <name>.so with hidden visibility, linked against
# moss::sdk. Works the same in the moss source tree and with an installed SDK.
include_guard(GLOBAL)

# The compile flags every plugin gets. The evolution Builder uses the same list.
set(MOSS_PLUGIN_COMPILE_OPTIONS -fPIC -fvisibility=hidden -fvisibility-inlines-hidden)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # STB_GNU_UNIQUE symbols make a library impossible to dlclose, which defeats hot swap.
  list(APPEND MOSS_PLUGIN_COMPILE_OPTIONS -fno-gnu-unique)
endif()

function(moss_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;LINK_LIBRARIES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "moss_add_plugin(${name}): SOURCES is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "moss_add_plugin(${name}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE moss::sdk ${ARG_LINK_LIBRARIES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_compile_options(${name} PRIVATE ${MOSS_PLUGIN_COMPILE_OPTIONS})
  set_target_properties(${name} PROPERTIES PREFIX "")
  # Refuse undefined symbols at link time rather than at load time. Sanitizer runtimes live
  # in the host executable, so sanitized builds cannot use it.
  if(NOT MOSS_SANITIZE)
    target_link_options(${name} PRIVATE -Wl,-z,defs)
  endif()
endfunction()
