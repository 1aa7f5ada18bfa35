# Core I/O used by generation: numpy-compatible RNG, seed lists, .npy/.npz, PNG + metadata,
# image grids, latents files. All fast.
facegen_add_test(NAME core_unit_tests
  SOURCES unit/core_numpy_rng_test.cpp
          unit/core_seed_list_test.cpp
          unit/core_npy_test.cpp
          unit/core_png_test.cpp
          unit/core_image_grid_test.cpp
          unit/core_latents_test.cpp
          unit/core_heap_tuning_test.cpp
  LIBS facegen_core
  LABELS unit)
