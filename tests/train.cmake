# Training area (src/train): recipe, checkpoints, multi-process.
if(TARGET facegen_train)
  facegen_add_test(NAME train_unit_tests
    SOURCES unit/train_recipe_test.cpp unit/train_checkpoint_test.cpp unit/train_learns_test.cpp
    LIBS facegen_train
    LABELS unit)
  target_include_directories(train_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  facegen_add_test(NAME train_process_tests
    SOURCES integration/train_process_test.cpp integration/train_cli_test.cpp
    LIBS facegen_train
    LABELS integration slow)
  target_include_directories(train_process_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
endif()
