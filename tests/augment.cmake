# ADA augmentation (src/train/augment). Guarded: facegen_augment joins the build through
# src/train/CMakeLists.txt.
if(TARGET facegen_augment)
  facegen_add_test(NAME augment_tests
    SOURCES
      ${CMAKE_CURRENT_LIST_DIR}/unit/augment_ada_test.cpp
      ${CMAKE_CURRENT_LIST_DIR}/unit/augment_gradfix_test.cpp
      ${CMAKE_CURRENT_LIST_DIR}/unit/augment_options_test.cpp
      ${CMAKE_CURRENT_LIST_DIR}/unit/augment_pipe_test.cpp
    LIBS facegen_augment
    LABELS unit)
  # Fixture written by scripts/make_augment_fixture.py from the official AugmentPipe.
  facegen_add_test(NAME augment_golden_tests
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/augment_golden_test.cpp
    LIBS facegen_augment
    LABELS golden)
  facegen_add_test(NAME augment_gpu_tests
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/augment_cuda_test.cpp
    LIBS facegen_augment
    LABELS gpu)
endif()
