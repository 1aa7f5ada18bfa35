# The face CNN's shared parts (src/facenet): augmentations, the network, calibration figures.
if(TARGET facegen_facenet)
  facegen_add_test(NAME facenet_unit_tests
    SOURCES unit/facenet_calibration_test.cpp
            unit/facenet_test.cpp
    LIBS facegen_facenet
    LABELS unit)
endif()
