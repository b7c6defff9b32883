# moss_add_plugin(<name> SOURCES <file>... [LINK_LIBRARIES <lib>...])
#
# Builds a moss plugin: a MODULE library <name>.so with hidden visibility, linked against
# moss::sdk. Works the same in the moss source tree and with an installed SDK.
include_guard(GLOBAL)

# moss_plugin_compile_options(<out-var>): the compile flags every plugin gets. A function,
# not a variable set at include time, so every directory that calls moss_add_plugin gets
# them (include_guard would otherwise leave the variable in the first includer's scope).
function(moss_plugin_compile_options out)
  set(options -fPIC -fvisibility=hidden -fvisibility-inlines-hidden)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # STB_GNU_UNIQUE symbols make a library impossible to dlclose, which defeats hot swap.
    list(APPEND options -fno-gnu-unique)
  endif()
  set(${out} ${options} PARENT_SCOPE)
endfunction()

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
  moss_plugin_compile_options(options)
  target_compile_options(${name} PRIVATE ${options})
  set_target_properties(${name} PROPERTIES PREFIX "")
  # Export the entry and nothing else.
  set(map "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/moss-plugin.map")
  target_link_options(${name} PRIVATE "-Wl,--version-script=${map}")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${map}")
  # Refuse undefined symbols at link time rather than at load time. Sanitizer runtimes live
  # in the host executable, so sanitized builds cannot use it.
  if(NOT MOSS_SANITIZE)
    target_link_options(${name} PRIVATE -Wl,-z,defs)
  endif()
endfunction()
