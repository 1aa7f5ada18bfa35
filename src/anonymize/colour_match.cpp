#include "anonymize/colour_match.h"

namespace facegen::anonymize {
namespace {

struct ChannelStats {
    torch::Tensor mean;    // [3]
    torch::Tensor spread;  // [3]
};

ChannelStats weighted_stats(const torch::Tensor& image, const torch::Tensor& weights) {
    const torch::Tensor w = weights.unsqueeze(-1);
    const torch::Tensor total = w.sum().clamp_min(1e-6);
    const torch::Tensor mean = (image * w).sum(torch::IntArrayRef{0, 1}) / total;
    const torch::Tensor variance = ((image - mean).pow(2) * w).sum(torch::IntArrayRef{0, 1}) / total;
    return {mean, variance.sqrt().clamp_min(1.0)};
}

}  // namespace

torch::Tensor match_colour(const torch::Tensor& face, const torch::Tensor& reference, const torch::Tensor& weights) {
    TORCH_CHECK(face.sizes() == reference.sizes() && face.dim() == 3 && face.size(2) == 3,
                "match_colour: expected two faces [R, R, 3] of one size, got ", face.sizes(), " and ", reference.sizes());
    TORCH_CHECK(weights.dim() == 2 && weights.size(0) == face.size(0) && weights.size(1) == face.size(1),
                "match_colour: expected weights [R, R], got ", weights.sizes());
    const torch::Tensor f = face.to(torch::kFloat32), r = reference.to(torch::kFloat32);
    const ChannelStats from = weighted_stats(f, weights), to = weighted_stats(r, weights);
    const torch::Tensor gain = (to.spread / from.spread).clamp(0.5, 2.0);
    return ((f - from.mean) * gain + to.mean).round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace facegen::anonymize
