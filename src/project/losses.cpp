#include "project/losses.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace facegen::project {

namespace {

namespace F = torch::nn::functional;

/// Normalised 2-D Gaussian [C, 1, k, k] for a depthwise convolution.
torch::Tensor gaussian_window(int64_t size, double sigma, int64_t channels, const torch::TensorOptions& options) {
    torch::Tensor x = torch::arange(size, options) - static_cast<double>(size - 1) / 2.0;
    torch::Tensor g = torch::exp(-(x * x) / (2.0 * sigma * sigma));
    g = g / g.sum();
    return torch::outer(g, g).expand({channels, 1, size, size}).contiguous();
}

/// 1 - SSIM averaged over scales, per image: the 7-px window fits images down to 16 px.
torch::Tensor multiscale_ssim_loss(const torch::Tensor& a, const torch::Tensor& b) {
    torch::Tensor x = a, y = b;
    torch::Tensor sum = torch::zeros({a.size(0)}, a.options());
    int64_t scales = 0;
    for (; scales < 4 && x.size(-1) >= 16; ++scales) {
        sum = sum + (1.0 - ssim(x, y, /*data_range=*/2.0, /*window=*/7));
        x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2));
        y = F::avg_pool2d(y, F::AvgPool2dFuncOptions(2));
    }
    if (scales == 0) sum = 1.0 - ssim(a, b, 2.0, std::min<int64_t>(7, a.size(-1)));
    return sum / static_cast<double>(std::max<int64_t>(scales, 1));
}

/// Unit length across channels at every position (LPIPS's normalisation).
torch::Tensor unit_channels(const torch::Tensor& features) {
    return features / (features.pow(2).sum(1, /*keepdim=*/true).sqrt() + 1e-8);
}

}  // namespace

torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b, double data_range, int64_t window) {
    TORCH_CHECK(a.dim() == 4 && a.sizes() == b.sizes(), "ssim: expected two [N, C, H, W] of one shape, got ", a.sizes(),
                " and ", b.sizes());
    const int64_t channels = a.size(1);
    window = std::min({window, a.size(2), a.size(3)});
    const torch::Tensor kernel = gaussian_window(window, 1.5, channels, a.options());
    const auto blur = [&](const torch::Tensor& t) {
        return F::conv2d(t, kernel, F::Conv2dFuncOptions().groups(channels));
    };
    const double c1 = std::pow(0.01 * data_range, 2), c2 = std::pow(0.03 * data_range, 2);
    const torch::Tensor mu_a = blur(a), mu_b = blur(b);
    const torch::Tensor var_a = blur(a * a) - mu_a * mu_a;
    const torch::Tensor var_b = blur(b * b) - mu_b * mu_b;
    const torch::Tensor cov = blur(a * b) - mu_a * mu_b;
    const torch::Tensor map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
    return map.flatten(1).mean(1);
}

torch::Tensor psnr(const torch::Tensor& a, const torch::Tensor& b) {
    TORCH_CHECK(a.sizes() == b.sizes(), "psnr: shapes differ: ", a.sizes(), " and ", b.sizes());
    const torch::Tensor mse = (a.to(torch::kFloat64) - b.to(torch::kFloat64)).pow(2).flatten(1).mean(1);
    return 10.0 * torch::log10(255.0 * 255.0 / mse.clamp_min(1e-10));
}

ReconstructionLoss::ReconstructionLoss(LossWeights weights, model::Discriminator discriminator,
                                       IdentityEmbedder identity)
    : weights_(weights), discriminator_(std::move(discriminator)), identity_(std::move(identity)) {
    for (const double w : {weights.pixel, weights.ssim, weights.discriminator, weights.identity}) {
        if (!(w >= 0.0) || !std::isfinite(w)) throw make_error("loss weight ", w, " is not a finite number >= 0");
    }
    if (weights.pixel + weights.ssim + weights.discriminator + weights.identity <= 0.0) {
        throw make_error("every loss weight is 0: nothing to minimise");
    }
    if (weights.discriminator > 0.0 && !discriminator_) {
        throw make_error("the discriminator loss needs a model file that holds its discriminator");
    }
    if (weights.identity > 0.0 && !identity_) throw make_error("the identity loss needs the face-recognition network");
    if (discriminator_) {
        for (auto& parameter : discriminator_->parameters()) parameter.set_requires_grad(false);
        discriminator_->eval();
    }
}

std::vector<torch::Tensor> ReconstructionLoss::discriminator_features(const torch::Tensor& images) const {
    // The block outputs only: the epilogue (4x4 and below, minibatch statistics) judges the
    // whole image and would tie the photos of a batch together.
    std::vector<torch::Tensor> features;
    for (const torch::Tensor& output : discriminator_->block_outputs(images)) features.push_back(unit_channels(output));
    return features;
}

void ReconstructionLoss::set_targets(const torch::Tensor& targets) {
    torch::NoGradGuard no_grad;
    targets_ = targets.detach();
    target_features_.clear();
    if (weights_.discriminator > 0.0) target_features_ = discriminator_features(targets_);
    if (weights_.identity > 0.0) target_identity_ = identity_(targets_).detach();
}

torch::Tensor ReconstructionLoss::operator()(const torch::Tensor& images,
                                             std::map<std::string, torch::Tensor>* terms) const {
    TORCH_CHECK(targets_.defined(), "ReconstructionLoss: set_targets first");
    TORCH_CHECK(images.sizes() == targets_.sizes(), "ReconstructionLoss: expected images ", targets_.sizes(), ", got ",
                images.sizes());
    torch::Tensor total = torch::zeros({images.size(0)}, images.options());
    const auto add = [&](const char* name, double weight, const torch::Tensor& value) {
        const torch::Tensor weighted = weight * value;
        total = total + weighted;
        if (terms != nullptr) (*terms)[name] = weighted.detach();
    };
    if (weights_.pixel > 0.0) add("pixel", weights_.pixel, (images - targets_).pow(2).flatten(1).mean(1));
    if (weights_.ssim > 0.0) add("ssim", weights_.ssim, multiscale_ssim_loss(images, targets_));
    if (weights_.discriminator > 0.0) {
        const std::vector<torch::Tensor> features = discriminator_features(images);
        torch::Tensor distance = torch::zeros_like(total);
        for (size_t i = 0; i < features.size(); ++i) {
            // Sum over channels (unit vectors differ by at most 2), mean over positions.
            distance = distance + (features[i] - target_features_[i]).pow(2).sum(1).flatten(1).mean(1);
        }
        add("discriminator", weights_.discriminator, distance / static_cast<double>(features.size()));
    }
    if (weights_.identity > 0.0) add("identity", weights_.identity, (identity_(images) - target_identity_).pow(2).sum(1));
    return total;
}

}  // namespace facegen::project
