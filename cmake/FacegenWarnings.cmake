# Applied to facegen's own targets: warnings on, and the LibTorch precompiled header built
# once by facegen_core is reused (a LibTorch include costs ~15 s per file otherwise).
function(facegen_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(NOT target STREQUAL "facegen_core")
    target_precompile_headers(${target} REUSE_FROM facegen_core)
  endif()
endfunction()
