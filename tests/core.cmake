# Core I/O: .npy/.npz, PNG, image grids, heap tuning. All fast.
facegen_add_test(NAME core_unit_tests
  SOURCES unit/core_npy_test.cpp
          unit/core_png_test.cpp
          unit/core_image_grid_test.cpp
          unit/core_heap_tuning_test.cpp
  LIBS facegen_core
  LABELS unit)
