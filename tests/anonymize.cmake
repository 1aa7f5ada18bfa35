# Anonymising photos (src/anonymize): mask, paste, colour, labels; whole photos with the
# bundled models (a generated face, and a UTKFace photo as a shared-data entry).
if(TARGET facegen_anonymize)
  facegen_add_test(NAME anonymize_unit_tests
    SOURCES unit/anonymize_test.cpp
    LIBS facegen_anonymize
    LABELS unit
    SHARED_DATA AnonymizerTest.AUTKFacePhotoIsReplacedAndTheRestIsUntouched
    TIMEOUT 600)
endif()
