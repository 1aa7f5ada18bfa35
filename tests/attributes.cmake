# The attribute classifier (src/attributes): catalogue, file, units, lighting, a toy training.
if(TARGET facegen_attributes AND TARGET facegen_detect)
  facegen_add_test(NAME attributes_unit_tests
    SOURCES unit/attributes_test.cpp unit/head_pose_test.cpp
    LIBS facegen_attributes facegen_detect
    LABELS unit
    SHARED_DATA HeadPoseTest.*)
endif()
if(TARGET facegen_edit AND TARGET facegen)
  facegen_add_test(NAME attributes_cli_tests
    SOURCES integration/attributes_cli_test.cpp
    LIBS facegen_core facegen_data_tools
    LABELS integration
    SHARED_DATA AttributesCliTest.AlignedPhotosReadCloseToTheirLabels)
  add_dependencies(attributes_cli_tests facegen)
endif()
