# CLI integration tests: run the built facegen binary (FACEGEN_BIN) on a tiny random model
# that the test makes with the engine's library. A few seconds in all.
if(TARGET facegen)
  facegen_add_test(NAME cli_integration_tests
    SOURCES integration/cli_generate_test.cpp
    LIBS facegen_generate
    LABELS integration)
  add_dependencies(cli_integration_tests facegen)
endif()
