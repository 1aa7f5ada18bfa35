# Provenance (src/provenance): the watermark's round trip, its survival of the attacks it
# must withstand, no marks in unmarked images, the PSNR floor, bad input. A few seconds.
if(TARGET facegen_provenance)
  include(${CMAKE_CURRENT_SOURCE_DIR}/support/watermark_testkit.cmake)
  facegen_add_test(NAME provenance_unit_tests
    SOURCES unit/provenance_watermark_test.cpp
    LIBS facegen_provenance facegen_watermark_testkit
    LABELS unit)
endif()
