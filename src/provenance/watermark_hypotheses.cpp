#include "provenance/watermark_hypotheses.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace facegen::provenance::detail {
namespace {

constexpr int kN = kAnalysisSize;
constexpr double kWatermarkMinSideForRotation = 16;

/// One application of the contrast S-curve to a brightness in [0, 1] (sign +1: more
/// contrast, -1: less), ImageMagick 6.9 enhance.c Contrast().
double contrast_curve(double brightness, int sign) {
    return std::clamp(brightness + 0.5 * sign * (0.5 * (std::sin(M_PI * (brightness - 0.5)) + 1.0) - brightness), 0.0, 1.0);
}

double apply_steps(double brightness, int steps) {
    for (int i = 0; i < std::abs(steps); ++i) brightness = contrast_curve(brightness, steps > 0 ? 1 : -1);
    return brightness;
}

/// Per 8-bit received brightness: the factor that takes the pixel back to its brightness
/// before the curve (bisection: the curve is increasing).
std::array<double, 256> uncontrast_factors(int steps) {
    std::array<double, 256> factors{};
    for (int v = 1; v < 256; ++v) {
        const double target = v / 255.0;
        double lo = 0, hi = 1;
        for (int it = 0; it < 50; ++it) {
            const double mid = 0.5 * (lo + hi);
            (apply_steps(mid, steps) < target ? lo : hi) = mid;
        }
        factors[static_cast<size_t>(v)] = 0.5 * (lo + hi) / target;
    }
    return factors;
}

}  // namespace

std::vector<double> uncontrasted_analysis_channel(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels,
                                                  int contrast_steps) {
    const std::array<double, 256> factors = uncontrast_factors(contrast_steps);
    std::vector<double> channel = analysis_channel(pixels, width, height, channels);
    for (int64_t i = 0; i < width * height; ++i) {
        const uint8_t* p = pixels + i * channels;
        const uint8_t brightness = channels >= 3 ? std::max({p[0], p[1], p[2]}) : p[0];
        channel[static_cast<size_t>(i)] *= factors[brightness];
    }
    return channel;
}

ReducedChannel mirrored(const ReducedChannel& channel) {
    ReducedChannel out = channel;
    for (int64_t y = 0; y < channel.height; ++y) {
        const double* from = channel.values.data() + y * channel.width;
        std::reverse_copy(from, from + channel.width, out.values.data() + y * channel.width);
    }
    return out;
}

std::vector<double> unrotated_analysis_image(const ReducedChannel& channel, int64_t received_width, int64_t received_height,
                                             double original_width, double original_height, double degrees) {
    const double angle = degrees * M_PI / 180.0, cos_a = std::cos(angle), sin_a = std::sin(angle);
    const double scale_x = static_cast<double>(channel.reduction_x), scale_y = static_cast<double>(channel.reduction_y);
    std::vector<double> out(static_cast<size_t>(kN * kN));
    for (int y = 0; y < kN; ++y) {
        for (int x = 0; x < kN; ++x) {
            // Original pixel-centre coordinates relative to the centre, rotated clockwise.
            const double ox = (x + 0.5) * original_width / kN - original_width / 2;
            const double oy = (y + 0.5) * original_height / kN - original_height / 2;
            const double rx = (cos_a * ox - sin_a * oy + received_width / 2.0) / scale_x - 0.5;
            const double ry = (sin_a * ox + cos_a * oy + received_height / 2.0) / scale_y - 0.5;
            const double cx = std::clamp(rx, 0.0, static_cast<double>(channel.width - 1));
            const double cy = std::clamp(ry, 0.0, static_cast<double>(channel.height - 1));
            const auto x0 = std::min(static_cast<int64_t>(cx), channel.width - 2), y0 = std::min(static_cast<int64_t>(cy), channel.height - 2);
            const double fx = cx - static_cast<double>(x0), fy = cy - static_cast<double>(y0);
            const auto at = [&](int64_t yy, int64_t xx) { return channel.values[static_cast<size_t>(yy * channel.width + xx)]; };
            out[static_cast<size_t>(y * kN + x)] =
                (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        }
    }
    return out;
}

std::vector<std::pair<double, double>> unrotated_sizes(int64_t received_width, int64_t received_height, double degrees) {
    const double angle = degrees * M_PI / 180.0, c = std::cos(angle), s = std::abs(std::sin(angle));
    const auto w = static_cast<double>(received_width), h = static_cast<double>(received_height);
    std::vector<std::pair<double, double>> sizes{{w, h}};
    // Grown canvas: w = W c + H s rounded up, plus a pixel where needed for parity, so
    // W c + H s lies in [w - 2, w); the two whole sizes either side of the middle.
    const double det = c * c - s * s;
    const double mid_w = ((w - 1) * c - (h - 1) * s) / det, mid_h = ((h - 1) * c - (w - 1) * s) / det;
    for (double ow : {std::floor(mid_w), std::ceil(mid_w)}) {
        for (double oh : {std::floor(mid_h), std::ceil(mid_h)}) {
            const bool fits_w = ow * c + oh * s >= w - 2 && ow * c + oh * s < w;
            const bool fits_h = oh * c + ow * s >= h - 2 && oh * c + ow * s < h;
            const bool seen = std::find(sizes.begin(), sizes.end(), std::make_pair(ow, oh)) != sizes.end();
            if (fits_w && fits_h && !seen && ow >= kWatermarkMinSideForRotation && oh >= kWatermarkMinSideForRotation) sizes.push_back({ow, oh});
        }
    }
    return sizes;
}

}  // namespace facegen::provenance::detail
