# Run by the facegen_version target on every build (cmake -P): writes version.cpp with the
# current `git describe`. configure_file leaves the file untouched when the text is the
# same, so an unchanged checkout recompiles nothing.
# Inputs: SOURCE_DIR, TEMPLATE, OUTPUT, FALLBACK, GIT_EXECUTABLE (may be empty).
set(FACEGEN_GIT_DESCRIBE "${FALLBACK}")
if(GIT_EXECUTABLE)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --tags --always --dirty
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE _describe OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _describe_rc ERROR_QUIET)
  if(_describe_rc EQUAL 0 AND _describe)
    set(FACEGEN_GIT_DESCRIBE "${_describe}")
  endif()
endif()
configure_file(${TEMPLATE} ${OUTPUT} @ONLY)
