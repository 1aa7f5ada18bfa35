# `facegen serve`: the built binary on a free loopback port, started and stopped by the
# tests themselves. Only when the server is built (cpp-httplib found).
if(TARGET facegen_serve AND TARGET facegen)
  facegen_add_test(NAME serve_unit_tests
    SOURCES unit/serve_request_parsing_test.cpp
            unit/serve_batcher_test.cpp
            unit/serve_metrics_test.cpp
            unit/serve_connection_pool_test.cpp
    LIBS facegen_serve
    LABELS unit)

  # The tests talk HTTP with cpp-httplib's client; its definitions go on the file only
  # (see src/serve/CMakeLists.txt).
  facegen_add_test(NAME serve_api_tests
    SOURCES integration/serve_api_test.cpp
    LIBS facegen_generate facegen_provenance ${FACEGEN_HTTPLIB_LINK_LIBRARIES}
    LABELS integration
    SHARED_DATA ServeApiTest.ProjectTurnsAPhotoIntoLatentsThatGenerateRenders)
  set_source_files_properties(integration/serve_api_test.cpp PROPERTIES COMPILE_OPTIONS "${FACEGEN_HTTPLIB_CFLAGS}")
  add_dependencies(serve_api_tests facegen)

  # GET /v1/sheet.png: character sheets of the bundled model (a server of its own).
  facegen_add_test(NAME serve_sheet_tests
    SOURCES integration/serve_sheet_test.cpp
    LIBS facegen_model facegen_core ${FACEGEN_HTTPLIB_LINK_LIBRARIES}
    LABELS integration
    TIMEOUT 300)
  set_source_files_properties(integration/serve_sheet_test.cpp PROPERTIES COMPILE_OPTIONS "${FACEGEN_HTTPLIB_CFLAGS}")
  add_dependencies(serve_sheet_tests facegen)

  # The page in a real browser (puppeteer-core driving Debian's chromium). Skips when
  # chromium or node is missing; scripts/setup.sh installs both and runs `npm ci` in
  # tests/browser.
  facegen_add_test(NAME serve_browser_tests
    SOURCES integration/serve_browser_test.cpp
    LIBS facegen_core
    LABELS integration browser)
  add_dependencies(serve_browser_tests facegen)
endif()
