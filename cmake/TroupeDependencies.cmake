# Third-party dependencies. Debian ships no CMake config for CAF 0.17: TroupeCAF.cmake wraps it.
# The installed TroupeConfig.cmake finds the same packages (see TroupeInstall.cmake).
find_package(Threads REQUIRED)

include(TroupeCAF)

find_package(spdlog REQUIRED)
find_package(toml11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(cppzmq REQUIRED)
find_package(nlohmann_json 3 REQUIRED) # header-only, used inside runtime/troupe/json.cpp only
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

# As a sub-project, the imported targets found here must be visible to the parent, which links
# Troupe's targets and so needs theirs (imported targets are otherwise local to this directory).
if(NOT TROUPE_TOP_LEVEL)
  foreach(dep CAF::core CAF::io spdlog::spdlog fmt::fmt toml11::toml11 CLI11::CLI11 cppzmq libzmq
              msgpackc-cxx)
    if(TARGET ${dep})
      get_target_property(_imported ${dep} IMPORTED)
      get_target_property(_global ${dep} IMPORTED_GLOBAL)
      if(_imported AND NOT _global)
        set_target_properties(${dep} PROPERTIES IMPORTED_GLOBAL TRUE)
      endif()
    endif()
  endforeach()
endif()
