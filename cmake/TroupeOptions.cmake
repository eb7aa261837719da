# Build options and the warning set every Troupe target uses.
# Tests and benchmarks default to on only when Troupe is the top-level project.
option(TROUPE_BUILD_TESTS "Build the unit and integration tests" ${TROUPE_TOP_LEVEL})
option(TROUPE_BUILD_BENCH "Build the benchmarks" ${TROUPE_TOP_LEVEL})
if(DEFINED ENV{CI} AND "$ENV{CI}" STREQUAL "true")
  set(_troupe_werror_default ON)
else()
  set(_troupe_werror_default OFF)
endif()
option(TROUPE_WERROR "Treat warnings as errors" ${_troupe_werror_default})

find_program(TROUPE_CCACHE ccache)
if(TROUPE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${TROUPE_CCACHE}")
endif()

add_library(troupe_warnings INTERFACE)
target_compile_options(troupe_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
                                                 -Wpedantic)
if(TROUPE_WERROR)
  target_compile_options(troupe_warnings INTERFACE -Werror)
endif()

# Applies the warning set and (when available) the shared CAF precompiled header.
# The warning set is a build-only requirement: it never reaches an installed target's interface.
function(troupe_target_defaults target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:troupe_warnings>)
  target_compile_definitions(${target} PRIVATE MSGPACK_NO_BOOST)
  if(TARGET troupe_caf_pch AND NOT target STREQUAL "troupe_caf_pch")
    target_precompile_headers(${target} REUSE_FROM troupe_caf_pch)
  endif()
endfunction()

include(GNUInstallDirs)

# troupe_export(target name): the library `target` is known as Troupe::name (and, as before,
# troupe::name) in this tree, and exported and installed under that name.
function(troupe_export target name)
  add_library(Troupe::${name} ALIAS ${target})
  add_library(troupe::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  set_property(GLOBAL APPEND PROPERTY TROUPE_EXPORTED_TARGETS ${target})
endfunction()
