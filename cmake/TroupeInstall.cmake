# `cmake --install BUILD --prefix P`: headers, libraries, the `troupe` executable, a CMake package
# (find_package(Troupe) -> Troupe::troupe, Troupe::runtime, ...) and a pkg-config file (troupe.pc).
include(CMakePackageConfigHelpers)

set(TROUPE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/Troupe"
    CACHE STRING "Where TroupeConfig.cmake is installed, relative to the prefix")

get_property(_troupe_targets GLOBAL PROPERTY TROUPE_EXPORTED_TARGETS)
install(TARGETS ${_troupe_targets}
        EXPORT TroupeTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS troupe_app RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
foreach(dir runtime actors bridges observe cli)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/${dir}/troupe" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
          FILES_MATCHING PATTERN "*.hpp")
endforeach()

install(EXPORT TroupeTargets NAMESPACE Troupe:: DESTINATION "${TROUPE_INSTALL_CMAKEDIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/TroupeConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/TroupeConfig.cmake"
                              INSTALL_DESTINATION "${TROUPE_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/TroupeConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/TroupeConfig.cmake"
              "${PROJECT_BINARY_DIR}/TroupeConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/TroupeCAF.cmake"
        DESTINATION "${TROUPE_INSTALL_CMAKEDIR}")

# troupe.pc finds its prefix relative to its own directory, so `--prefix` at install time works.
file(RELATIVE_PATH TROUPE_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file("${PROJECT_SOURCE_DIR}/cmake/troupe.pc.in" "${PROJECT_BINARY_DIR}/troupe.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/troupe.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
