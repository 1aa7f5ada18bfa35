# Engine (src/model) and safetensors tests. All fast; golden ones read tests/golden/fixtures.
facegen_add_test(NAME model_unit_tests
  SOURCES unit/model_layers_test.cpp
          unit/model_generator_test.cpp
          unit/model_discriminator_test.cpp
          unit/model_file_test.cpp
          unit/model_precision_test.cpp
          unit/core_safetensors_test.cpp
  LIBS facegen_model
  LABELS unit)
facegen_add_test(NAME model_golden_tests
  SOURCES golden/model_golden_test.cpp
  LIBS facegen_model
  LABELS golden)
