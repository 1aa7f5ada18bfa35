# facegen --version prints `git describe`; outside a git checkout it falls back to the
# project version. Evaluated at configure time.
find_package(Git QUIET)
set(FACEGEN_GIT_DESCRIBE "v${PROJECT_VERSION}")
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --tags --always --dirty
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                  OUTPUT_VARIABLE _describe OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _describe_rc ERROR_QUIET)
  if(_describe_rc EQUAL 0 AND _describe)
    set(FACEGEN_GIT_DESCRIBE "${_describe}")
  endif()
endif()
configure_file(${CMAKE_SOURCE_DIR}/src/core/version.h.in ${CMAKE_BINARY_DIR}/generated/facegen/core/version.h @ONLY)
