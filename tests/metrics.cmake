# Metrics (src/metrics): maths on known distributions, the TorchScript feature-network path
# (tests/golden/metrics_tiny_detector.pt from scripts/make_metrics_fixture.py) and the CLI.
if(TARGET facegen_metrics)
  facegen_add_test(NAME metrics_unit_tests
    SOURCES unit/metrics_swd_test.cpp unit/metrics_fid_kid_test.cpp unit/metrics_nearest_test.cpp
    LIBS facegen_metrics
    LABELS unit)
  if(TARGET facegen_data_io)
    facegen_add_test(NAME metrics_integration_tests
      SOURCES integration/metrics_cli_test.cpp
      LIBS facegen_metrics facegen_data_io
      LABELS integration)
    if(TARGET facegen)
      add_dependencies(metrics_integration_tests facegen)
    endif()
  endif()
endif()
