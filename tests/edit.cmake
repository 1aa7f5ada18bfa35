# Attribute edits (src/edit): edit syntax, directions on a tiny model, conditioning, targets.
if(TARGET facegen_edit)
  facegen_add_test(NAME edit_unit_tests
    SOURCES unit/edit_test.cpp
    LIBS facegen_edit facegen_model
    LABELS unit)
endif()

# Character sheets (src/edit/character_sheet.h): layout, rows along their attributes, the
# identity limit, the files; on the tiny model with the shipped identity network.
if(TARGET facegen_edit)
  facegen_add_test(NAME character_sheet_tests
    SOURCES unit/character_sheet_test.cpp
    LIBS facegen_edit facegen_model
    LABELS unit
    TIMEOUT 300)
endif()
if(TARGET facegen_edit AND TARGET facegen)
  facegen_add_test(NAME character_sheet_cli_tests
    SOURCES integration/character_sheet_cli_test.cpp
    LIBS facegen_model facegen_core
    LABELS integration
    TIMEOUT 300)
  add_dependencies(character_sheet_cli_tests facegen)
endif()
