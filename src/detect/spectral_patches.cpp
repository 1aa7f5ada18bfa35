#include "detect/spectral_patches.h"

#include <algorithm>
#include <cmath>

namespace facegen::detect {
namespace {

namespace F = torch::nn::functional;

constexpr int64_t kLumaRings = 16;
constexpr int64_t kColourRings = 8;
constexpr int64_t kHalfSpectrum = kPatchSide / 2 + 1;  // columns of rfft2

/// Spatial frequency (cycles per patch) of each rfft2 bin, [kPatchSide, kHalfSpectrum].
torch::Tensor frequency_radius() {
    torch::Tensor fy = torch::arange(kPatchSide, torch::kFloat32);
    fy = torch::where(fy > kPatchSide / 2, fy - kPatchSide, fy).unsqueeze(1);
    const torch::Tensor fx = torch::arange(kHalfSpectrum, torch::kFloat32).unsqueeze(0);
    return torch::sqrt(fy * fy + fx * fx);
}

/// [kPatchSide * kHalfSpectrum, rings]: averages the bins of each ring (DC left out; the
/// corners beyond the Nyquist radius join the outer ring).
torch::Tensor ring_averaging(int64_t rings) {
    const torch::Tensor radius = frequency_radius().flatten();
    const torch::Tensor ring =
        torch::clamp(torch::floor((radius - 1e-6) / (kPatchSide / 2.0) * rings), 0, rings - 1).to(torch::kLong);
    torch::Tensor matrix = F::one_hot(ring, rings).to(torch::kFloat32);
    matrix.index_put_({radius == 0}, 0.0);
    return matrix / matrix.sum(0, /*keepdim=*/true);
}

int64_t ring_of(double radius, int64_t rings) {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor((radius - 1e-6) / (kPatchSide / 2.0) * rings)), 0, rings - 1);
}

}  // namespace

torch::Tensor spectral_features(const torch::Tensor& patches) {
    TORCH_CHECK(patches.dim() == 4 && patches.size(1) == 3 && patches.size(2) == kPatchSide && patches.size(3) == kPatchSide,
                "expected patches [N, 3, ", kPatchSide, ", ", kPatchSide, "], got ", patches.sizes());
    static const torch::Tensor luma_rings = ring_averaging(kLumaRings);
    static const torch::Tensor colour_rings = ring_averaging(kColourRings);
    static const torch::Tensor window = torch::outer(torch::hann_window(kPatchSide, /*periodic=*/false),
                                                     torch::hann_window(kPatchSide, /*periodic=*/false));
    const torch::Tensor rgb = patches.to(torch::kFloat32);
    const torch::Tensor r = rgb.select(1, 0), g = rgb.select(1, 1), b = rgb.select(1, 2);
    const torch::Tensor luma = 0.299 * r + 0.587 * g + 0.114 * b;
    torch::Tensor channels = torch::stack({luma, b - luma, r - luma}, 1);
    channels = (channels - channels.mean({2, 3}, /*keepdim=*/true)) * window;
    // The floor keeps flat (e.g. clipped white) patches finite; far below any textured patch's power.
    const torch::Tensor log_power = torch::log(torch::fft::rfft2(channels).abs().square() + 1e-2);
    const int64_t n = patches.size(0);
    const torch::Tensor flat = log_power.reshape({n, 3, kPatchSide * kHalfSpectrum});
    const torch::Tensor luma_profile = flat.select(1, 0).matmul(luma_rings);
    const torch::Tensor colour_profile = flat.narrow(1, 1, 2).matmul(colour_rings);

    // 2x upsampling leaves peaks at the Nyquist frequency and (twice repeated) at half of it.
    const torch::Tensor luma_power = log_power.select(1, 0);
    std::vector<torch::Tensor> periodic;
    const int64_t nyquist = kPatchSide / 2, half = kPatchSide / 4;
    for (const auto& [fy, fx] : std::vector<std::pair<int64_t, int64_t>>{
             {nyquist, 0}, {0, nyquist}, {nyquist, nyquist}, {half, 0}, {0, half}, {half, half}}) {
        torch::Tensor peak = luma_power.select(1, fy).select(1, fx);
        if (fy != 0 && fy != nyquist) peak = 0.5 * (peak + luma_power.select(1, kPatchSide - fy).select(1, fx));
        const int64_t ring = ring_of(std::hypot(static_cast<double>(fy), static_cast<double>(fx)), kLumaRings);
        periodic.push_back(peak - luma_profile.select(1, ring));
    }
    return torch::cat({luma_profile - luma_profile.mean(1, /*keepdim=*/true),
                       colour_profile.select(1, 0) - colour_profile.select(1, 0).mean(1, /*keepdim=*/true),
                       colour_profile.select(1, 1) - colour_profile.select(1, 1).mean(1, /*keepdim=*/true),
                       torch::stack(periodic, 1)},
                      1);
}

SpectralPatchNetImpl::SpectralPatchNetImpl(SpectralPatchNetOptions options) : options_(options) {
    TORCH_CHECK(options_.hidden >= 0, "hidden units must be >= 0, got ", options_.hidden);
    feature_mean_ = register_parameter("feature_mean", torch::zeros({kSpectralFeatureCount}), /*requires_grad=*/false);
    feature_std_ = register_parameter("feature_std", torch::ones({kSpectralFeatureCount}), /*requires_grad=*/false);
    if (options_.hidden > 0) {
        hidden_ = register_module("hidden", torch::nn::Linear(kSpectralFeatureCount, options_.hidden));
        out_ = register_module("out", torch::nn::Linear(options_.hidden, 1));
    } else {
        out_ = register_module("out", torch::nn::Linear(kSpectralFeatureCount, 1));
    }
}

torch::Tensor SpectralPatchNetImpl::forward(const torch::Tensor& features) {
    TORCH_CHECK(features.dim() == 2 && features.size(1) == kSpectralFeatureCount, "expected features [N, ",
                kSpectralFeatureCount, "], got ", features.sizes());
    torch::Tensor x = (features - feature_mean_) / feature_std_;
    if (hidden_) x = torch::relu(hidden_->forward(x));
    return out_->forward(x).squeeze(1);
}

void SpectralPatchNetImpl::fit_standardisation(const torch::Tensor& features) {
    torch::NoGradGuard no_grad;
    feature_mean_.copy_(features.mean(0));
    feature_std_.copy_(features.std(0).clamp_min(1e-4));
}

PatchGrid patch_grid(const torch::Tensor& image_hwc) {
    TORCH_CHECK(image_hwc.dim() == 3 && image_hwc.size(2) == 3 && image_hwc.size(0) >= kPatchSide &&
                    image_hwc.size(1) >= kPatchSide,
                "expected an RGB image [H, W, 3] of at least ", kPatchSide, " px, got ", image_hwc.sizes());
    const int64_t height = image_hwc.size(0), width = image_hwc.size(1);
    PatchGrid grid;
    grid.rows = (height - kPatchSide + kPatchStride - 1) / kPatchStride + 1;
    grid.cols = (width - kPatchSide + kPatchStride - 1) / kPatchStride + 1;
    const torch::Tensor chw = image_hwc.permute({2, 0, 1}).to(torch::kFloat32);
    std::vector<torch::Tensor> patches;
    patches.reserve(static_cast<size_t>(grid.rows * grid.cols));
    for (int64_t row = 0; row < grid.rows; ++row) {
        const int64_t y = std::min(row * kPatchStride, height - kPatchSide);
        for (int64_t col = 0; col < grid.cols; ++col) {
            const int64_t x = std::min(col * kPatchStride, width - kPatchSide);
            patches.push_back(chw.narrow(1, y, kPatchSide).narrow(2, x, kPatchSide));
        }
    }
    grid.patches = torch::stack(patches);
    return grid;
}

torch::Tensor to_working_scale(const torch::Tensor& image_hwc) {
    const int64_t height = image_hwc.size(0), width = image_hwc.size(1);
    const int64_t shorter = std::min(height, width);
    if (shorter <= kPatchWorkingSide) return image_hwc;
    const double scale = static_cast<double>(kPatchWorkingSide) / static_cast<double>(shorter);
    const std::vector<int64_t> size = {std::max<int64_t>(kPatchWorkingSide, std::llround(height * scale)),
                                       std::max<int64_t>(kPatchWorkingSide, std::llround(width * scale))};
    const torch::Tensor nchw = image_hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
    return F::interpolate(nchw, F::InterpolateFuncOptions().size(size).mode(torch::kArea))
        .squeeze(0)
        .permute({1, 2, 0})
        .round()
        .clamp(0, 255)
        .to(torch::kUInt8)
        .contiguous();
}

torch::Tensor to_working_scale(const data::RgbImage& image) {
    const int64_t factor = std::max<int64_t>(1, std::min(image.width, image.height) / kPatchWorkingSide);
    const int64_t width = image.width / factor, height = image.height / factor;
    torch::Tensor reduced = torch::empty({height, width, 3}, torch::kUInt8);
    uint8_t* dst = reduced.data_ptr<uint8_t>();
    std::vector<uint32_t> sums(static_cast<size_t>(width) * 3);
    const uint32_t area = static_cast<uint32_t>(factor * factor);
    for (int64_t oy = 0; oy < height; ++oy) {
        std::fill(sums.begin(), sums.end(), 0u);
        for (int64_t y = oy * factor; y < (oy + 1) * factor; ++y) {
            const uint8_t* row = image.at(0, y);
            for (int64_t x = 0; x < width * factor; ++x) {
                for (int64_t c = 0; c < 3; ++c) sums[static_cast<size_t>((x / factor) * 3 + c)] += row[x * 3 + c];
            }
        }
        for (size_t i = 0; i < sums.size(); ++i) {
            dst[oy * width * 3 + static_cast<int64_t>(i)] = static_cast<uint8_t>((sums[i] + area / 2) / area);
        }
    }
    return to_working_scale(reduced);
}

}  // namespace facegen::detect
