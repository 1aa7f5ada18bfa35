#pragma once

namespace facegen::core {

// Make the C heap keep freed memory for reuse instead of handing it back to the kernel.
//
// Why: glibc serves every allocation above 32 MiB (and, until its adaptive threshold has
// grown, far smaller ones) with a fresh mmap, and trims the top of the heap on every large
// free. A tensor workload allocates and frees the same large activations on every layer,
// so each one is page-faulted in anew: on the 64x64 benchmark at batch 32 that page
// faulting took three quarters of the generation time. Keeping the pages costs nothing but
// holding the process's peak memory until it exits.
//
// Call once at the start of main, before the first tensor. No effect outside glibc.
// Returns true when the settings were applied.
bool keep_freed_memory_for_reuse();

}  // namespace facegen::core
