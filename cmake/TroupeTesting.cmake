# troupe_add_unit_tests(NAME target SOURCES a.cpp b.cpp LIBS lib... SUITES suite...)
#
# Builds one CAF-test executable from SOURCES (plus the shared main) and registers every suite as
# its own CTest test with an anchored suite regex. A suite regex that matches nothing makes CAF print
# "tests: 0" and exit 0, so that output is treated as a failure.
function(troupe_add_unit_tests)
  cmake_parse_arguments(arg "" "NAME;TIMEOUT" "SOURCES;LIBS;SUITES" ${ARGN})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 60)
  endif()
  add_executable(${arg_NAME} ${arg_SOURCES} "${PROJECT_SOURCE_DIR}/tests/unit_test_main.cpp")
  target_link_libraries(${arg_NAME} PRIVATE ${arg_LIBS} CAF::core)
  target_include_directories(${arg_NAME} PRIVATE "${PROJECT_SOURCE_DIR}/tests")
  troupe_target_defaults(${arg_NAME})
  foreach(suite IN LISTS arg_SUITES)
    string(REPLACE "." "\\." suite_regex "${suite}")
    add_test(NAME ${suite} COMMAND ${arg_NAME} -r 60 -s "^${suite_regex}$")
    set_tests_properties(${suite} PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS unit
                         FAIL_REGULAR_EXPRESSION "tests: 0[^0-9]|failed: [1-9]")
  endforeach()
endfunction()
