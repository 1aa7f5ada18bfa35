# The identity network (src/identity): file checks, shapes, gradients, the chip sampler; with
# the face aligner (facenet, dlib) also the CelebA check (a shared-data entry).
if(TARGET facegen_identity)
  set(_identity_test_libs facegen_identity)
  if(TARGET facegen_facenet)
    list(APPEND _identity_test_libs facegen_facenet)
    set_property(SOURCE unit/identity_test.cpp APPEND PROPERTY COMPILE_DEFINITIONS FACEGEN_IDENTITY_WITH_PHOTOS)
  endif()
  facegen_add_test(NAME identity_unit_tests
    SOURCES unit/identity_test.cpp
    LIBS ${_identity_test_libs}
    LABELS unit
    SHARED_DATA IdentityTest.TellsCelebAPeopleApartAt64Pixels)
endif()
