#include "model/precision.h"

#include <algorithm>

#include "core/error.h"

namespace facegen::model {

torch::Dtype MixedPrecision::dtype_at(int64_t block_resolution, int64_t resolution) const {
    if (!enabled()) return torch::kFloat32;
    // Official: fp16_resolution = max(2 ** (log2(resolution) + 1 - num_fp16_res), 8).
    int64_t threshold = resolution;
    for (int64_t i = 1; i < num_res && threshold > 8; ++i) threshold /= 2;
    threshold = std::max<int64_t>(threshold, 8);
    return block_resolution >= threshold ? dtype : torch::kFloat32;
}

torch::Dtype parse_compute_dtype(const std::string& text) {
    if (text == "fp32") return torch::kFloat32;
    if (text == "fp16") return torch::kFloat16;
    if (text == "bf16") return torch::kBFloat16;
    throw make_error("unknown precision '", text, "': expected fp32, fp16 or bf16");
}

std::string compute_dtype_name(torch::Dtype dtype) {
    switch (dtype) {
        case torch::kFloat32: return "fp32";
        case torch::kFloat16: return "fp16";
        case torch::kBFloat16: return "bf16";
        default: throw make_error("no precision name for dtype ", c10::toString(dtype));
    }
}

}  // namespace facegen::model
