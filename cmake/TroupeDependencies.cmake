# Third-party dependencies. Debian ships no CMake config for CAF 0.17, so it is wrapped here.
find_package(Threads REQUIRED)

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
if(NOT TARGET CAF::core)
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io SHARED IMPORTED)
  set_target_properties(CAF::io PROPERTIES
    IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "CAF::core;Threads::Threads")
endif()

find_package(spdlog REQUIRED)
find_package(toml11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(cppzmq REQUIRED)
# Debian's msgpack-cxx installs msgpack-config.cmake (target msgpack-cxx) under cmake/msgpackc-cxx.
find_package(msgpack REQUIRED CONFIG PATH_SUFFIXES msgpackc-cxx)

# One precompiled header with the CAF headers nearly every Troupe file includes; every target reuses
# it through troupe_target_defaults(). CAF's all.hpp stays out of public headers.
option(TROUPE_PCH "Use a precompiled header for CAF" ON)
if(TROUPE_PCH)
  file(WRITE "${CMAKE_BINARY_DIR}/troupe_caf_pch.cpp" "// precompiled-header carrier\n")
  add_library(troupe_caf_pch STATIC "${CMAKE_BINARY_DIR}/troupe_caf_pch.cpp")
  target_link_libraries(troupe_caf_pch PUBLIC CAF::io troupe_warnings)
  target_compile_definitions(troupe_caf_pch PUBLIC MSGPACK_NO_BOOST)
  target_precompile_headers(troupe_caf_pch PRIVATE
    <caf/actor_system.hpp> <caf/actor_system_config.hpp> <caf/event_based_actor.hpp>
    <caf/stateful_actor.hpp> <caf/scoped_actor.hpp> <caf/send.hpp> <caf/message.hpp>
    <caf/behavior.hpp> <caf/atom.hpp> <caf/error.hpp> <caf/expected.hpp>
    <caf/io/middleman.hpp> <string> <vector> <map> <memory> <chrono>)
endif()
