#include "core/device.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <thread>

#include "core/error.h"

namespace facegen::core {

torch::Device parse_device(const std::string& text) {
    if (text == "cpu") return torch::Device(torch::kCPU);
    if (text.rfind("cuda", 0) != 0) {
        throw make_error("bad device '", text, "': expected cpu, cuda or cuda:N");
    }
    int index = -1;
    if (text.size() > 4) {
        const std::string number = text.substr(text.size() > 5 ? 5 : 4);
        const bool digits = text[4] == ':' && !number.empty() && number.size() < 4 &&
                            number.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) throw make_error("bad device '", text, "': expected cpu, cuda or cuda:N");
        index = std::stoi(number);
    }
    if (!torch::cuda::is_available()) {
        throw make_error("device '", text, "' is not available: this facegen's LibTorch has no CUDA support or ",
                         "no CUDA GPU is visible; device 'cpu' works without one");
    }
    const int64_t n_gpus = static_cast<int64_t>(torch::cuda::device_count());
    if (index >= n_gpus) {
        throw make_error("device '", text, "' is not available: ", n_gpus, " CUDA GPU(s) visible");
    }
    return index < 0 ? torch::Device(torch::kCUDA) : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void set_cpu_threads(int threads, int processes_on_machine) {
    if (threads < 0) throw make_error("bad thread count ", threads, ": expected 0 (all cores) or more");
    if (threads == 0) {
        const int cores = static_cast<int>(std::thread::hardware_concurrency());
        threads = std::max(1, cores / std::max(1, processes_on_machine));
    }
    torch::set_num_threads(threads);
}

int cpu_threads() { return torch::get_num_threads(); }

}  // namespace facegen::core
