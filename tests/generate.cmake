# Generation as a library (src/generate) and the labels of generated images
# (src/provenance): seeds, latents, truncation, provenance. All fast.
facegen_add_test(NAME generate_unit_tests
  SOURCES unit/generate_numpy_rng_test.cpp
          unit/generate_seed_list_test.cpp
          unit/generate_latents_test.cpp
          unit/generate_session_test.cpp
          unit/provenance_label_test.cpp
  LIBS facegen_generate
  LABELS unit)
