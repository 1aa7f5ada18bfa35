#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace facegen::model {

/// Mixed precision (official networks.py num_fp16_res): the blocks at the `num_res` highest
/// resolutions run their activations in `dtype`; parameters, the RGB/skip image path, the
/// blocks below 8x8 and the discriminator epilogue stay float32. float16 is what speeds up
/// CUDA (tensor cores) and needs conv_clamp (official 256) against overflow; bfloat16 has
/// float32's range and is what a CPU can run (LibTorch has no float16 CPU convolutions).
struct MixedPrecision {
    torch::Dtype dtype = torch::kFloat32;
    int64_t num_res = 0;

    bool enabled() const { return dtype != torch::kFloat32 && num_res > 0; }
    /// The activation dtype of the block at `block_resolution` in a network whose output
    /// (generator) or input (discriminator) is `resolution`: blocks at resolutions
    /// >= max(resolution / 2^(num_res - 1), 8) use `dtype`.
    torch::Dtype dtype_at(int64_t block_resolution, int64_t resolution) const;
};

/// "fp32" | "fp16" | "bf16"; throws facegen::Error naming the bad value.
torch::Dtype parse_compute_dtype(const std::string& text);
/// The inverse of parse_compute_dtype.
std::string compute_dtype_name(torch::Dtype dtype);

}  // namespace facegen::model
