#include "detect/heat_map.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace facegen::detect {
namespace {

using Colour = std::array<double, 3>;

Colour mix(const Colour& a, const Colour& b, double t) {
    t = std::clamp(t, 0.0, 1.0);
    return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

/// Blue (no sign) -> yellow (uncertain) -> red (generated), the bends at the band's edges.
Colour colour_of(double probability, const DetectorInfo& info) {
    const Colour blue = {40, 90, 230}, yellow = {245, 210, 40}, red = {230, 30, 30};
    if (probability < info.uncertain_below) return mix(blue, yellow, probability / info.uncertain_below);
    if (probability < info.threshold) return yellow;
    return mix(yellow, red, (probability - info.threshold) / std::max(1e-9, 1.0 - info.threshold));
}

}  // namespace

data::RgbImage render_heat_map(const torch::Tensor& view_hwc, const ImageScore& score, const DetectorInfo& info) {
    TORCH_CHECK(view_hwc.dim() == 3 && view_hwc.size(2) == 3 && view_hwc.scalar_type() == torch::kUInt8,
                "expected a uint8 image [H, W, 3], got ", view_hwc.sizes());
    const int64_t height = view_hwc.size(0), width = view_hwc.size(1);
    TORCH_CHECK(score.rows * score.cols == static_cast<int64_t>(score.patch_logits.size()) && score.rows > 0,
                "score holds ", score.patch_logits.size(), " patch logits for a ", score.rows, "x", score.cols, " grid");
    // Mean logit of the patches over each pixel (a 1x1 grid covers the whole view).
    std::vector<double> sum(static_cast<size_t>(height * width), 0.0), count(sum.size(), 0.0);
    const bool whole = score.rows == 1 && score.cols == 1;
    for (int64_t row = 0; row < score.rows; ++row) {
        const int64_t y0 = whole ? 0 : std::min(row * kPatchStride, height - kPatchSide);
        const int64_t y1 = whole ? height : y0 + kPatchSide;
        for (int64_t col = 0; col < score.cols; ++col) {
            const int64_t x0 = whole ? 0 : std::min(col * kPatchStride, width - kPatchSide);
            const int64_t x1 = whole ? width : x0 + kPatchSide;
            const double logit = score.patch_logits[static_cast<size_t>(row * score.cols + col)];
            for (int64_t y = y0; y < y1; ++y) {
                for (int64_t x = x0; x < x1; ++x) {
                    sum[static_cast<size_t>(y * width + x)] += logit;
                    count[static_cast<size_t>(y * width + x)] += 1;
                }
            }
        }
    }
    const int64_t zoom = std::max<int64_t>(1, (256 + std::min(height, width) - 1) / std::min(height, width));
    data::RgbImage out(width * zoom, height * zoom);
    const torch::Tensor pixels = view_hwc.contiguous();
    const uint8_t* src = pixels.data_ptr<uint8_t>();
    for (int64_t y = 0; y < height; ++y) {
        for (int64_t x = 0; x < width; ++x) {
            const size_t at = static_cast<size_t>(y * width + x);
            const uint8_t* p = src + at * 3;
            const double grey = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            const Colour tint = colour_of(info.calibration.probability(sum[at] / std::max(1.0, count[at])), info);
            uint8_t rgb[3];
            for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(std::lround(0.45 * grey + 0.55 * tint[static_cast<size_t>(c)]));
            for (int64_t dy = 0; dy < zoom; ++dy) {
                for (int64_t dx = 0; dx < zoom; ++dx) std::copy_n(rgb, 3, out.at(x * zoom + dx, y * zoom + dy));
            }
        }
    }
    return out;
}

}  // namespace facegen::detect
