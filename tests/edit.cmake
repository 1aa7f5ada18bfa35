# Attribute edits (src/edit): edit syntax, directions on a tiny model, conditioning, targets.
if(TARGET facegen_edit)
  facegen_add_test(NAME edit_unit_tests
    SOURCES unit/edit_test.cpp
    LIBS facegen_edit facegen_model
    LABELS unit)
endif()
