# Balanced synthetic datasets (src/synth): cells, counts, runs on a tiny model (balance,
# resume, bounded tries, edits, the memorisation check, refusals).
if(TARGET facegen_synth)
  facegen_add_test(NAME synth_unit_tests
    SOURCES unit/synth_test.cpp
    LIBS facegen_synth facegen_model
    LABELS unit
    TIMEOUT 300)
endif()
