# facegen_watermark_testkit: the attacks and test images of the watermark, for
# tests/provenance.cmake and bench/CMakeLists.txt; whichever comes first defines it. JPEG
# and photo decoding come from the dataset tools when they are built.
if(NOT TARGET facegen_watermark_testkit AND TARGET facegen_generate)
  set(_facegen_testkit_sources
    ${CMAKE_CURRENT_LIST_DIR}/watermark_attacks.cpp
    ${CMAKE_CURRENT_LIST_DIR}/watermark_images.cpp)
  add_library(facegen_watermark_testkit STATIC ${_facegen_testkit_sources})
  target_include_directories(facegen_watermark_testkit PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(facegen_watermark_testkit PUBLIC facegen_generate)
  facegen_set_warnings(facegen_watermark_testkit)
  if(TARGET facegen_data_tools)
    target_link_libraries(facegen_watermark_testkit PRIVATE facegen_data_tools)
    # On the sources, not the target: a target definition would not reuse facegen_core's PCH.
    set_property(SOURCE ${_facegen_testkit_sources} APPEND PROPERTY COMPILE_DEFINITIONS FACEGEN_HAVE_DATA_TOOLS)
  endif()
endif()
