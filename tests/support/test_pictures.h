#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace facegen::test {

/// A smooth, photo-like RGB image uint8 [S, S, 3] that differs with `seed`: something for
/// augmentations, detectors and classifiers to read that is neither flat nor noise.
inline torch::Tensor smooth_picture(int64_t side, int64_t seed) {
    const auto y = torch::linspace(0, 1, side).view({side, 1, 1});
    const auto x = torch::linspace(0, 1, side).view({1, side, 1});
    const double phase = 0.37 * static_cast<double>(seed);
    const auto c = torch::tensor({0.9, 0.7, 0.6}).view({1, 1, 3});
    const auto value = 120 + 60 * c * torch::sin(6.0 * x + 3.0 * y + phase) + 40 * torch::cos(11.0 * x * y + phase) * c;
    return value.round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace facegen::test
