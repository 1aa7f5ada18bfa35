# Data area: packed format + loader (always), dataset tools and CLI (when facegen_data_tools is built).
facegen_add_test(NAME data_io_test
  SOURCES unit/data_io_test.cpp
  LIBS facegen_data_io
  LABELS unit)

if(TARGET facegen_data_tools)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(FACEGEN_TEST_CODECS REQUIRED IMPORTED_TARGET libjpeg libpng libwebp libexif libarchive)
  facegen_add_test(NAME data_tools_test
    SOURCES unit/data_tools_test.cpp
    LIBS facegen_data_tools PkgConfig::FACEGEN_TEST_CODECS
    LABELS unit
    SHARED_DATA DataToolsTest.RealPhotosDetectAndAlign)
  if(TARGET facegen)
    facegen_add_test(NAME data_cli_test
      SOURCES integration/data_cli_test.cpp
      LIBS facegen_data_tools
      LABELS integration)
  endif()
endif()
