#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

// facegen::identity: who a face is, as dlib's face recognition ResNet (Davis King) sees it.
// The network maps a 150x150 RGB face chip to a 128-D descriptor; two photos show the same
// person when their descriptors are closer than 0.6 (Euclidean). The weights come from the
// npm package @vladmandic/face-api (converted by scripts/convert_face_recognition.py); the
// network is plain LibTorch, so the distance is differentiable and can serve as a loss.
namespace facegen::identity {

/// Side of the face chip the network reads (dlib's face chips: 150 px).
inline constexpr int64_t kChipSide = 150;
/// Length of a descriptor.
inline constexpr int64_t kDescriptorDim = 128;
/// Same person below this distance (dlib's convention for this network).
inline constexpr double kSamePersonDistance = 0.6;
/// The shipped network file, relative to the project folder.
inline constexpr const char* kDefaultFaceRecognitionPath = "models/facegen-face-recognition.safetensors";

/// Per-channel affine map after each convolution (what dlib's batch norm became at inference).
class ChannelScaleImpl : public torch::nn::Module {
public:
    explicit ChannelScaleImpl(int64_t channels);
    // x: [N, C, H, W] -> x * weight + bias, per channel
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::Tensor weight_, bias_;
};
TORCH_MODULE(ChannelScale);

/// Convolution + bias, channel scale, then ReLU unless `relu` is false. Stride 2 convolutions
/// use no padding ('valid'), stride 1 pads to keep the size ('same').
struct ConvLayerOptions {
    ConvLayerOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size);
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, kernel_size);
    /// Default: 1
    TORCH_ARG(int64_t, stride) = 1;
    /// Default: true
    TORCH_ARG(bool, relu) = true;
};

class ConvLayerImpl : public torch::nn::Module {
public:
    explicit ConvLayerImpl(ConvLayerOptions options);
    // x: [N, C_in, H, W] -> [N, C_out, H', W']
    torch::Tensor forward(const torch::Tensor& x);

private:
    ConvLayerOptions options_;
    torch::nn::Conv2d conv_{nullptr};
    ChannelScale scale_{nullptr};
};
TORCH_MODULE(ConvLayer);

/// Two 3x3 convolutions with a shortcut. With `down`, the first convolution has stride 2 and
/// the shortcut is a 2x2 average pool whose missing channels are zeros.
class ResidualBlockImpl : public torch::nn::Module {
public:
    ResidualBlockImpl(int64_t in_channels, int64_t out_channels, bool down);
    // x: [N, C_in, H, W] -> [N, C_out, H or H / 2, W or W / 2]
    torch::Tensor forward(const torch::Tensor& x);

private:
    bool down_;
    ConvLayer conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(ResidualBlock);

/// dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1) in the layout of
/// face-api's FaceRecognitionNet; parameter names are the converted file's tensor names
/// ("conv32_1.conv1.conv.weight").
class FaceRecognitionNetImpl : public torch::nn::Module {
public:
    FaceRecognitionNetImpl();
    /// x: float [N, 3, 150, 150], RGB in 0..255 -> descriptors [N, 128].
    torch::Tensor forward(const torch::Tensor& x);

private:
    ConvLayer conv32_down_{nullptr};
    torch::nn::ModuleList blocks_{nullptr};
    torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(FaceRecognitionNet);

/// Reads a network file written by scripts/convert_face_recognition.py (uint8 tensors
/// dequantized with the scale and min in its metadata) onto `device`, in eval mode. Throws
/// facegen::Error naming the file when it is missing, truncated or corrupt, of another
/// format, or when a tensor is missing, extra or of the wrong shape.
FaceRecognitionNet load_face_recognition(const std::filesystem::path& path,
                                         const torch::Device& device = torch::kCPU);

/// Where dlib's face chip lies in a face aligned by the FFHQ rule, as fractions of the
/// aligned image's side (x to the right, y down). Parts may lie outside [0, 1].
struct ChipBox {
    double center_x = 0;
    double center_y = 0;
    double side = 0;
};

/// The chip box for faces aligned by data::ffhq_quad at `crop_scale` (facegen's data and
/// generator outputs: 0.7). Measured on CelebA photos (bench/identity_verification, see
/// docs/identity.md); scales as 1 / crop_scale about the aligned image's centre.
ChipBox chip_box(double crop_scale);

/// The network's input for aligned faces: images float [N, 3, S, S] in [-1, 1] (the
/// generator's range, any S) aligned at `crop_scale` -> chips [N, 3, 150, 150] in 0..255.
/// Bilinear and differentiable; where the chip leaves the image it repeats the border.
/// Images more than twice the chip's resolution are area-reduced first.
torch::Tensor face_chips(const torch::Tensor& images, double crop_scale);
/// The same with an explicit box (for measuring other framings).
torch::Tensor face_chips(const torch::Tensor& images, const ChipBox& box);

/// Descriptors [N, 128] of aligned faces (see face_chips); differentiable in `images`.
torch::Tensor embed_aligned_faces(FaceRecognitionNet& net, const torch::Tensor& images, double crop_scale);

/// Euclidean distance per row: a, b [N, D] -> [N]. Differentiable (also at a == b).
torch::Tensor descriptor_distance(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace facegen::identity
