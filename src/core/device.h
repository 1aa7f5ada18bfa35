#pragma once

#include <torch/types.h>

#include <string>

namespace facegen::core {

/// Parses "cpu", "cuda" or "cuda:N" and checks the device can be used here; throws
/// facegen::Error naming the value when it is malformed or CUDA is not available.
torch::Device parse_device(const std::string& text);

/// Sets the number of intra-op CPU threads LibTorch uses; 0 = every logical core shared by
/// `processes_on_machine` processes (LibTorch's own default counts physical cores only,
/// which halves the speed on machines whose cores are hyper-threads or vCPUs).
/// Throws facegen::Error for a negative count.
void set_cpu_threads(int threads, int processes_on_machine = 1);

/// Threads LibTorch will use for intra-op work now.
int cpu_threads();

}  // namespace facegen::core
