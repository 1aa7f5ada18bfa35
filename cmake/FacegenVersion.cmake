# facegen --version, model files and checkpoints record `git describe` of the checkout;
# outside a git checkout the project version. The header is fixed (written at configure
# time); the value lives in a generated version.cpp that the facegen_version target
# refreshes on every build, so the recorded version never goes stale after a commit.
find_package(Git QUIET)
configure_file(${CMAKE_SOURCE_DIR}/src/core/version.h.in ${CMAKE_BINARY_DIR}/generated/facegen/core/version.h COPYONLY)
set(FACEGEN_VERSION_CPP ${CMAKE_BINARY_DIR}/generated/version.cpp)
set(_write_version ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
    -DTEMPLATE=${CMAKE_SOURCE_DIR}/src/core/version.cpp.in -DOUTPUT=${FACEGEN_VERSION_CPP}
    -DFALLBACK=v${PROJECT_VERSION} -DGIT_EXECUTABLE=${GIT_EXECUTABLE}
    -P ${CMAKE_SOURCE_DIR}/cmake/WriteVersion.cmake)
execute_process(COMMAND ${_write_version})  # exists before the first build
add_custom_target(facegen_version COMMAND ${_write_version} BYPRODUCTS ${FACEGEN_VERSION_CPP}
                  COMMENT "facegen version (git describe)" VERBATIM)
