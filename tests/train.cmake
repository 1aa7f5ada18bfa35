# Training area (src/train): recipe, checkpoints, multi-process.
if(TARGET facegen_train)
  facegen_add_test(NAME train_unit_tests
    SOURCES unit/train_recipe_test.cpp unit/train_checkpoint_test.cpp unit/train_learns_test.cpp
      unit/train_init_from_test.cpp unit/train_grow_test.cpp unit/train_loop_test.cpp
      unit/train_config_test.cpp
    LIBS facegen_train
    LABELS unit)
  target_include_directories(train_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  # Multi-process runs of the Trainer (kill -9 resume, 2 ranks == 1 rank, a dead rank):
  # about a minute, in the CI suite because they are what resume and data-parallel promise.
  # Its runs share 2 cores with the other test executables: minutes when the machine is busy.
  facegen_add_test(NAME train_process_tests
    SOURCES integration/train_process_test.cpp
    LIBS facegen_train
    LABELS integration
    TIMEOUT 1500)
  target_include_directories(train_process_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  # `facegen train` itself on tiny synthetic runs: help, run folder, resume, --init-from,
  # SIGTERM through --nproc, bad options. Part of the CI suite.
  if(TARGET facegen)
    facegen_add_test(NAME train_cli_tests
      SOURCES integration/train_cli_test.cpp
      LIBS facegen_train
      LABELS integration
      TIMEOUT 1500)
    add_dependencies(train_cli_tests facegen)
  endif()
endif()
