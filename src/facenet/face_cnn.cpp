#include "facenet/face_cnn.h"

namespace facegen::facenet {
namespace {

namespace nn = torch::nn;

/// A 3x3 convolution and its activation, appended to `layers`.
void add_conv(nn::Sequential& layers, int64_t in, int64_t out, int64_t stride) {
    layers->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1)));
    layers->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
}

}  // namespace

FaceCnnImpl::FaceCnnImpl(FaceCnnOptions options) : options_(options) {
    const int64_t c = options.width;
    // No normalisation layers: batch statistics would make a verdict depend on the other
    // images of the batch, and the input scale is fixed anyway.
    nn::Sequential layers;
    add_conv(layers, 3, c, 1);          // 64x64
    add_conv(layers, c, c, 2);          // 32x32
    add_conv(layers, c, 2 * c, 1);      // 32x32
    add_conv(layers, 2 * c, 2 * c, 2);  // 16x16
    add_conv(layers, 2 * c, 4 * c, 1);  // 16x16
    add_conv(layers, 4 * c, 4 * c, 2);  // 8x8
    add_conv(layers, 4 * c, 4 * c, 2);  // 4x4
    features_ = register_module("features", layers);
    head_ = register_module("head", nn::Linear(4 * c, options.outputs));
}

torch::Tensor FaceCnnImpl::forward(const torch::Tensor& x) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == kFaceInputSide && x.size(3) == kFaceInputSide,
                "FaceCnn: expected input [N, 3, 64, 64], got ", x.sizes());
    return head_(features_->forward(x).mean({2, 3}));
}

torch::Tensor face_cnn_input(const torch::Tensor& images_nhwc) {
    TORCH_CHECK(images_nhwc.dim() == 4 && images_nhwc.size(3) == 3 && images_nhwc.scalar_type() == torch::kUInt8 &&
                    images_nhwc.size(1) == images_nhwc.size(2) && images_nhwc.size(1) >= kFaceInputSide,
                "face_cnn_input: expected uint8 [N, S, S, 3] with S >= 64, got ", images_nhwc.scalar_type(), " ",
                images_nhwc.sizes());
    torch::Tensor x = images_nhwc.permute({0, 3, 1, 2}).to(torch::kFloat32);
    if (x.size(2) != kFaceInputSide) {
        x = torch::nn::functional::interpolate(
            x, torch::nn::functional::InterpolateFuncOptions()
                   .size(std::vector<int64_t>{kFaceInputSide, kFaceInputSide})
                   .mode(torch::kArea));
    }
    return x / 127.5 - 1.0;
}

}  // namespace facegen::facenet
