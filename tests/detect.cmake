# Detection (src/detect): the detector file, verdicts on
# labelled, re-saved and broken images, a toy training that must learn. Under a minute.
if(TARGET facegen_detect)
  facegen_add_test(NAME detect_unit_tests
    SOURCES unit/detect_test.cpp
    LIBS facegen_detect facegen_data_tools
    LABELS unit)
  facegen_add_test(NAME detect_world_tests
    SOURCES unit/detect_world_test.cpp
    LIBS facegen_detect facegen_data_tools
    LABELS unit)
endif()
if(TARGET facegen_detect AND TARGET facegen)
  facegen_add_test(NAME detect_cli_tests
    SOURCES integration/detect_cli_test.cpp
    LIBS facegen_data_tools
    LABELS integration
    SHARED_DATA DetectCliTest.ARealPhotoShowsNoSign)
  add_dependencies(detect_cli_tests facegen)
  facegen_add_test(NAME detect_explain_tests
    SOURCES integration/detect_explain_test.cpp
    LIBS facegen_detect facegen_data_tools
    LABELS integration)
  add_dependencies(detect_explain_tests facegen)
endif()
