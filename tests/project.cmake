# Projection of photos (src/project): losses, the optimisation on a tiny model, alignment.
if(TARGET facegen_project)
  facegen_add_test(NAME project_unit_tests
    SOURCES unit/project_test.cpp
    LIBS facegen_project facegen_model
    LABELS unit
    SHARED_DATA TargetFaceTest.AFaceIsAlignedAndAHugeOrTinyCopyIsHandled
                TargetFaceTest.SeveralFacesGiveTheLargestAndGreyPhotosAreAligned)
endif()
if(TARGET facegen_project)
  facegen_add_test(NAME project_encoder_tests
    SOURCES unit/project_encoder_test.cpp
    LIBS facegen_project facegen_model
    LABELS unit
    TIMEOUT 300)
endif()
if(TARGET facegen_project AND TARGET facegen)
  facegen_add_test(NAME project_cli_tests
    SOURCES integration/project_cli_test.cpp
    LIBS facegen_core facegen_data_tools
    LABELS integration
    SHARED_DATA ProjectCliTest.*
    TIMEOUT 1500)  # projections of real photos: minutes on a busy 2-core machine
  add_dependencies(project_cli_tests facegen)
endif()
if(TARGET facegen_project AND TARGET facegen)
  facegen_add_test(NAME encoder_cli_tests
    SOURCES integration/encoder_cli_test.cpp
    LIBS facegen_model facegen_core
    LABELS integration
    SHARED_DATA EncoderCliTest.ProjectStartsFromTheEncoderAndSaysSo
    TIMEOUT 600)
  add_dependencies(encoder_cli_tests facegen)
endif()
