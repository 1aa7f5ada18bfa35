#pragma once

#include <torch/torch.h>

#include <cstdint>

// The small CNN that facegen trains to read 64x64 face crops: the detector (generated or
// not, one output) and the attribute classifier (age, gender, smile, ..., one output each)
// are this network with different heads. All-convolutional: the first layer reads full
// resolution, where a generator's upsampling leaves its traces, then the size halves four
// times and the features are averaged, so any crop position reads the same way.
namespace facegen::facenet {

/// Side of the square the network reads; larger images are reduced to it, smaller refused.
inline constexpr int64_t kFaceInputSide = 64;

struct FaceCnnOptions {
    /// Channels of the full-resolution layer, doubled twice on the way down. 24 costs about
    /// 80 MFLOP per image, so a network trains in minutes on two CPU cores.
    int64_t width = 24;
    /// Values the linear head returns per image.
    int64_t outputs = 1;
};

class FaceCnnImpl : public torch::nn::Module {
public:
    explicit FaceCnnImpl(FaceCnnOptions options = {});
    /// x: float [N, 3, 64, 64] in [-1, 1] (face_cnn_input); returns [N, outputs].
    torch::Tensor forward(const torch::Tensor& x);
    const FaceCnnOptions& options() const { return options_; }

private:
    FaceCnnOptions options_;
    torch::nn::Sequential features_{nullptr};
    torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(FaceCnn);

/// Network input for 8-bit RGB images uint8 [N, H, W, 3] (H = W >= 64): reduced to 64x64 by
/// area averaging when larger, scaled to [-1, 1], as float [N, 3, 64, 64].
torch::Tensor face_cnn_input(const torch::Tensor& images_nhwc);

}  // namespace facegen::facenet
