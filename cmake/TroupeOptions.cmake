# Build options and the warning set every Troupe target uses.
option(TROUPE_BUILD_TESTS "Build the unit and integration tests" ON)
option(TROUPE_BUILD_BENCH "Build the benchmarks" ON)
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
function(troupe_target_defaults target)
  target_link_libraries(${target} PRIVATE troupe_warnings)
  target_compile_definitions(${target} PRIVATE MSGPACK_NO_BOOST)
  if(TARGET troupe_caf_pch AND NOT target STREQUAL "troupe_caf_pch")
    target_precompile_headers(${target} REUSE_FROM troupe_caf_pch)
  endif()
endfunction()
