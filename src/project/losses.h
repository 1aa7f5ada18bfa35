#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "model/discriminator.h"

// What a projection minimises: how far a generated face is from its target photo. The
// official projector uses LPIPS on VGG16, whose weights cannot be had here; these terms use
// what facegen has (docs/project.md compares them on held-out photos).
namespace facegen::project {

/// Weight of each term; 0 leaves a term out (and its network unused).
struct LossWeights {
    /// Mean squared error of the pixels in [-1, 1].
    double pixel = 1.0;
    /// 1 - SSIM (7x7 Gaussian window, sigma 1.5) averaged over up to 4 scales (halving down
    /// to 16 px): structure and contrast, insensitive to a uniform shift in brightness.
    double ssim = 0.0;
    /// The model's own discriminator as a perceptual network: its block outputs at every
    /// resolution above 4x4, each normalised to unit length across channels at every
    /// position (as LPIPS does), squared distance averaged per layer.
    double discriminator = 0.0;
    /// Squared distance of face-recognition descriptors (src/identity), when available.
    double identity = 0.0;
};

/// Maps images [N, 3, R, R] in [-1, 1] to identity descriptors [N, D] (differentiably);
/// empty when no identity network is loaded.
using IdentityEmbedder = std::function<torch::Tensor(const torch::Tensor& images)>;

/// SSIM per image [N] of a and b [N, C, H, W] with values spanning `data_range`, a Gaussian
/// window of `window` pixels (sigma 1.5) and no padding (Wang et al. 2004's constants).
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b, double data_range, int64_t window = 11);

/// PSNR per image [N] in dB of uint8-valued a and b [N, ...] (peak 255).
torch::Tensor psnr(const torch::Tensor& a, const torch::Tensor& b);

/// The loss against fixed targets; per image, so that a batch of photos is projected as
/// independent problems at once.
class ReconstructionLoss {
public:
    /// `discriminator` is needed when weights.discriminator > 0 and `identity` when
    /// weights.identity > 0 (facegen::Error otherwise). Neither network is trained.
    ReconstructionLoss(LossWeights weights, model::Discriminator discriminator, IdentityEmbedder identity);

    /// Targets [N, 3, R, R] in [-1, 1]; their features are computed once here.
    void set_targets(const torch::Tensor& targets);

    /// Per-image loss [N] of images [N, 3, R, R] in [-1, 1] against the targets, and each
    /// weighted term's value per image in `terms` (when given).
    torch::Tensor operator()(const torch::Tensor& images, std::map<std::string, torch::Tensor>* terms = nullptr) const;

    const LossWeights& weights() const { return weights_; }

private:
    std::vector<torch::Tensor> discriminator_features(const torch::Tensor& images) const;

    LossWeights weights_;
    mutable model::Discriminator discriminator_;  // forward() is not const in LibTorch
    IdentityEmbedder identity_;
    torch::Tensor targets_;
    std::vector<torch::Tensor> target_features_;
    torch::Tensor target_identity_;
};

}  // namespace facegen::project
