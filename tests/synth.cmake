# Balanced synthetic datasets (src/synth): cells, counts, runs on a tiny model (balance,
# resume, bounded tries, edits, the memorisation check, refusals).
if(TARGET facegen_synth)
  facegen_add_test(NAME synth_unit_tests
    SOURCES unit/synth_test.cpp
    LIBS facegen_synth facegen_model
    LABELS unit
    TIMEOUT 300)
endif()
if(TARGET facegen_synth AND TARGET facegen)
  facegen_add_test(NAME synth_cli_tests
    SOURCES integration/synth_cli_test.cpp
    LIBS facegen_synth facegen_model
    LABELS integration
    TIMEOUT 300)
  add_dependencies(synth_cli_tests facegen)
endif()
