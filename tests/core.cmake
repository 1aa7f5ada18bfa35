# Core: .npy/.npz, PNG, image grids, heap tuning, the SplitMix64 stream, summary figures. All fast.
facegen_add_test(NAME core_unit_tests
  SOURCES unit/core_npy_test.cpp
          unit/core_png_test.cpp
          unit/core_image_grid_test.cpp
          unit/core_heap_tuning_test.cpp
          unit/core_random_stream_test.cpp
          unit/core_summary_test.cpp
          unit/core_versioned_safetensors_test.cpp
  LIBS facegen_core
  LABELS unit)
