#include "identity/face_recognition.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/versioned_safetensors.h"

namespace facegen::identity {
namespace {

namespace F = torch::nn::functional;

constexpr const char* kFormat = "facegen-face-recognition";
constexpr int kFormatVersion = 1;

// dlib's input layer: mean RGB of its training faces; face-api divides by 255 where dlib
// divides by 256 (the weights were exported for face-api's input, so 255 it is).
constexpr double kMeanR = 122.782, kMeanG = 117.001, kMeanB = 104.298;
constexpr double kInputDivisor = 255.0;

// Chip geometry at crop_scale 1, in units of the FFHQ square's side: the offset of the chip's
// centre from the square's centre and the chip's side. dlib's get_face_chip_details (150 px,
// padding 0.25) fitted to the same 68 landmarks as data::ffhq_quad, averaged over CelebA-6k
// photos by bench/identity_verification ("chip_geometry"); dlib's mean face template alone
// gives (0.005, 0.107, 0.709). The chip reaches below the FFHQ square's centre, so at
// crop_scale 0.7 its bottom ~15% lies below the aligned image (filled by the border).
constexpr double kChipOffsetX = 0.003;
constexpr double kChipOffsetY = 0.105;
constexpr double kChipSideFraction = 0.690;

std::string where(const std::filesystem::path& path) { return "face recognition network '" + path.string() + "'"; }

const std::string& metadata_text(const core::SafetensorsFile& file, const std::filesystem::path& path,
                                 const std::string& key) {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw make_error(where(path), ": metadata has no '", key, "'");
    return it->second;
}

double metadata_number(const core::SafetensorsFile& file, const std::filesystem::path& path, const std::string& key) {
    const std::string& text = metadata_text(file, path, key);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value)) {
        throw make_error(where(path), ": metadata '", key, "' = '", text, "' is not a finite number");
    }
    return value;
}

// The float value of a stored tensor: uint8 codes are min + code * scale (per tensor).
torch::Tensor dequantized(const core::SafetensorsFile& file, const std::filesystem::path& path,
                          const std::string& name, const torch::Tensor& stored) {
    if (stored.scalar_type() == torch::kFloat32) return stored;
    if (stored.scalar_type() != torch::kUInt8) {
        throw make_error(where(path), ": tensor '", name, "' is ", stored.scalar_type(), ", expected U8 or F32");
    }
    const double scale = metadata_number(file, path, name + ".quant_scale");
    const double min = metadata_number(file, path, name + ".quant_min");
    return stored.to(torch::kFloat64).mul(scale).add(min).to(torch::kFloat32);
}

}  // namespace

ChannelScaleImpl::ChannelScaleImpl(int64_t channels) {
    weight_ = register_parameter("weight", torch::ones({channels}));
    bias_ = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelScaleImpl::forward(const torch::Tensor& x) {
    return x * weight_.view({1, -1, 1, 1}) + bias_.view({1, -1, 1, 1});
}

ConvLayerOptions::ConvLayerOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

ConvLayerImpl::ConvLayerImpl(ConvLayerOptions options) : options_(options) {
    // TensorFlow's 'same' for odd kernels at stride 1 is symmetric padding; stride 2 is 'valid'.
    const int64_t padding = options_.stride() == 1 ? options_.kernel_size() / 2 : 0;
    conv_ = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.in_channels(), options_.out_channels(),
                                                           options_.kernel_size())
                                      .stride(options_.stride())
                                      .padding(padding)));
    scale_ = register_module("scale", ChannelScale(options_.out_channels()));
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels(), "ConvLayer: expected x [N, ",
                options_.in_channels(), ", H, W], got ", x.sizes());
    torch::Tensor out = scale_(conv_(x));
    return options_.relu() ? torch::relu(out) : out;
}

ResidualBlockImpl::ResidualBlockImpl(int64_t in_channels, int64_t out_channels, bool down) : down_(down) {
    TORCH_CHECK(down || in_channels == out_channels, "ResidualBlock: channels change only when going down");
    conv1_ = register_module(
        "conv1", ConvLayer(ConvLayerOptions(in_channels, out_channels, /*kernel_size=*/3).stride(down ? 2 : 1)));
    conv2_ = register_module("conv2",
                             ConvLayer(ConvLayerOptions(out_channels, out_channels, /*kernel_size=*/3).relu(false)));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
    torch::Tensor out = conv2_(conv1_(x));
    if (!down_) return torch::relu(out + x);
    torch::Tensor shortcut = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2));
    // An odd size leaves the 'valid' stride-2 convolution one row and column short of the
    // pooled shortcut; face-api appends zeros at the bottom and right (dlib's add_prev
    // likewise adds over the overlapping top-left region).
    if (out.size(2) != shortcut.size(2) || out.size(3) != shortcut.size(3)) {
        out = F::pad(out, F::PadFuncOptions({0, shortcut.size(3) - out.size(3), 0, shortcut.size(2) - out.size(2)}));
    }
    if (shortcut.size(1) != out.size(1)) {
        shortcut = F::pad(shortcut, F::PadFuncOptions({0, 0, 0, 0, 0, out.size(1) - shortcut.size(1)}));
    }
    return torch::relu(out + shortcut);
}

FaceRecognitionNetImpl::FaceRecognitionNetImpl() {
    conv32_down_ = register_module("conv32_down",
                                   ConvLayer(ConvLayerOptions(3, 32, /*kernel_size=*/7).stride(2)));
    struct Stage {
        const char* name;
        int64_t in_channels, out_channels;
        bool down;
    };
    // face-api's FaceRecognitionNet.forwardInput, in order.
    const Stage stages[] = {
        {"conv32_1", 32, 32, false},       {"conv32_2", 32, 32, false},     {"conv32_3", 32, 32, false},
        {"conv64_down", 32, 64, true},     {"conv64_1", 64, 64, false},     {"conv64_2", 64, 64, false},
        {"conv64_3", 64, 64, false},       {"conv128_down", 64, 128, true}, {"conv128_1", 128, 128, false},
        {"conv128_2", 128, 128, false},    {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
        {"conv256_2", 256, 256, false},    {"conv256_down_out", 256, 256, true},
    };
    blocks_ = torch::nn::ModuleList();
    for (const Stage& stage : stages) {
        // Registered by the file's names; blocks_ keeps the order for forward().
        auto block = register_module(stage.name, ResidualBlock(stage.in_channels, stage.out_channels, stage.down));
        blocks_->push_back(block);
    }
    fc_ = register_module("fc", torch::nn::Linear(torch::nn::LinearOptions(256, kDescriptorDim).bias(false)));
}

torch::Tensor FaceRecognitionNetImpl::forward(const torch::Tensor& x) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == kChipSide && x.size(3) == kChipSide,
                "FaceRecognitionNet: expected x [N, 3, ", kChipSide, ", ", kChipSide, "] RGB 0..255, got ", x.sizes());
    const torch::Tensor mean = torch::tensor({kMeanR, kMeanG, kMeanB}, x.options()).view({1, 3, 1, 1});
    torch::Tensor out = conv32_down_((x - mean) / kInputDivisor);
    out = F::max_pool2d(out, F::MaxPool2dFuncOptions(3).stride(2));
    for (const auto& block : *blocks_) out = block->as<ResidualBlockImpl>()->forward(out);
    return fc_(out.mean({2, 3}));
}

FaceRecognitionNet load_face_recognition(const std::filesystem::path& path, const torch::Device& device) {
    const core::SafetensorsFile file =
        core::read_versioned_safetensors(path, {kFormat, "face recognition network", kFormatVersion, kFormatVersion, ""})
            .file;
    FaceRecognitionNet net;
    size_t used = 0;
    {
        torch::NoGradGuard no_grad;
        for (auto& item : net->named_parameters()) {
            const auto it = file.tensors.find(item.key());
            if (it == file.tensors.end()) throw make_error(where(path), " lacks tensor '", item.key(), "'");
            if (it->second.sizes() != item.value().sizes()) {
                throw make_error(where(path), ": tensor '", item.key(), "' has shape ", it->second.sizes(),
                                 ", expected ", item.value().sizes());
            }
            const torch::Tensor value = dequantized(file, path, item.key(), it->second);
            if (!torch::isfinite(value).all().item<bool>()) {
                throw make_error(where(path), ": tensor '", item.key(), "' holds NaN or infinity");
            }
            item.value().copy_(value);
            ++used;
        }
    }
    if (used != file.tensors.size()) {
        throw make_error(where(path), " holds ", file.tensors.size() - used, " tensor(s) the network lacks");
    }
    net->to(device);
    net->eval();
    return net;
}

ChipBox chip_box(double crop_scale) {
    TORCH_CHECK(crop_scale > 0, "chip_box: crop_scale must be > 0, got ", crop_scale);
    return {0.5 + kChipOffsetX / crop_scale, 0.5 + kChipOffsetY / crop_scale, kChipSideFraction / crop_scale};
}

torch::Tensor face_chips(const torch::Tensor& images, const ChipBox& box) {
    TORCH_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == images.size(3) && images.size(2) > 1,
                "face_chips: expected images [N, 3, S, S] in [-1, 1], got ", images.sizes());
    TORCH_CHECK(images.is_floating_point(), "face_chips: expected float images, got ", images.scalar_type());
    TORCH_CHECK(box.side > 0, "face_chips: chip side must be > 0, got ", box.side);
    torch::Tensor source = images;
    // Bilinear taps alias when a chip pixel covers several source pixels; an integer area
    // reduction first keeps each tap's footprint about one pixel.
    const auto chip_source_side = static_cast<double>(images.size(2)) * box.side;
    const auto factor = static_cast<int64_t>(std::floor(chip_source_side / static_cast<double>(kChipSide)));
    if (factor >= 2) {
        const int64_t reduced = std::max<int64_t>(2, (images.size(2) + factor / 2) / factor);
        source = F::interpolate(images, F::InterpolateFuncOptions()
                                            .size(std::vector<int64_t>{reduced, reduced})
                                            .mode(torch::kArea));
    }
    // affine_grid with align_corners=false maps [-1, 1] to the outer pixel edges, so box
    // fractions of the image side map linearly: input = (2 * centre - 1) + side * output.
    const int64_t n = images.size(0);
    const torch::Tensor theta = torch::tensor({box.side, 0.0, 2.0 * box.center_x - 1.0, 0.0, box.side,
                                               2.0 * box.center_y - 1.0},
                                              images.options())
                                    .view({1, 2, 3})
                                    .expand({n, 2, 3});
    const torch::Tensor grid = F::affine_grid(theta, {n, 3, kChipSide, kChipSide}, /*align_corners=*/false);
    const torch::Tensor chips = F::grid_sample(source, grid, F::GridSampleFuncOptions()
                                                                 .mode(torch::kBilinear)
                                                                 .padding_mode(torch::kBorder)
                                                                 .align_corners(false));
    return (chips + 1.0) * 127.5;
}

torch::Tensor face_chips(const torch::Tensor& images, double crop_scale) {
    return face_chips(images, chip_box(crop_scale));
}

torch::Tensor embed_aligned_faces(FaceRecognitionNet& net, const torch::Tensor& images, double crop_scale) {
    return net->forward(face_chips(images, crop_scale));
}

torch::Tensor descriptor_distance(const torch::Tensor& a, const torch::Tensor& b) {
    TORCH_CHECK(a.dim() == 2 && a.sizes() == b.sizes(), "descriptor_distance: expected a, b [N, D] of one shape, got ",
                a.sizes(), " and ", b.sizes());
    // The epsilon keeps the gradient finite at a == b; it moves distances by 1e-6 at most.
    return torch::sqrt((a - b).pow(2).sum(1) + 1e-12);
}

}  // namespace facegen::identity
