#pragma once

#include <torch/torch.h>

#include <cstdint>

// The CNN that tells generated faces from photos: a small all-convolutional network whose
// first layer reads full resolution, where a generator's upsampling leaves its traces,
// then halves the size four times and averages (so it reads any crop position).
namespace facegen::detect {

/// Side of the square the network reads; larger images are reduced to it, smaller refused.
inline constexpr int64_t kDetectorInputSide = 64;

struct DetectorNetOptions {
    /// Channels of the full-resolution layer, doubled twice on the way down. 24 costs about
    /// 80 MFLOP per image, so a detector trains in minutes on two CPU cores.
    int64_t width = 24;
};

class DetectorNetImpl : public torch::nn::Module {
public:
    explicit DetectorNetImpl(DetectorNetOptions options = {});
    /// x: float [N, 3, 64, 64] in [-1, 1] (detector_input); returns logits [N] (> 0: generated).
    torch::Tensor forward(const torch::Tensor& x);
    const DetectorNetOptions& options() const { return options_; }

private:
    DetectorNetOptions options_;
    torch::nn::Sequential features_{nullptr};
    torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(DetectorNet);

/// Network input for 8-bit RGB images uint8 [N, H, W, 3] (H = W >= 64): reduced to 64x64 by
/// area averaging when larger, scaled to [-1, 1], as float [N, 3, 64, 64].
torch::Tensor detector_input(const torch::Tensor& images_nhwc);

}  // namespace facegen::detect
