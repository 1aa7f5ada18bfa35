#pragma once

// Front door of the ADA augmentation library (facegen_augment): the pipeline, its options
// and presets, the adaptive p controller, and the executors of the individual stages.

#include "train/augment/ada_controller.h"
#include "train/augment/augment_options.h"
#include "train/augment/grid_sample_gradfix.h"
#include "train/augment/transforms.h"

#include <torch/torch.h>

namespace facegen::train {

/// The discriminator augmentation pipeline of StyleGAN2-ADA (Karras et al. 2020, App. B),
/// with the official semantics: each enabled transformation is applied to each sample
/// independently with probability p * its multiplier. The geometric ones are composed into
/// one 3x3 matrix and executed by a single resampling (apply_geometric_transform), the
/// colour ones into one 4x4 matrix (apply_color_transform), then image-space filtering,
/// additive noise and cutout follow, in this order.
///
/// Differentiable wrt the images to any order (R1 through the augmentation needs the
/// second order). Random draws come from `generator` when given, otherwise from torch's
/// default generator of the images' device, and follow the official draw order, so that
/// checkpointing that generator makes a resumed run draw the same augmentations.
///
/// Deliberate difference from the official pipeline: with p == 0 (or no transformation
/// enabled) the images are returned unchanged, instead of being resampled by an identity
/// matrix and consuming random numbers.
class AugmentPipeImpl : public torch::nn::Module {
public:
    /// Throws facegen::Error when options.validate() does.
    explicit AugmentPipeImpl(AugmentOptions options = {});

    /// The overall probability multiplier; must be >= 0 (values above 1 saturate the
    /// per-transform probabilities, as in the official pipeline).
    void set_p(double p);
    double p() const { return p_; }

    const AugmentOptions& options() const { return options_; }

    // images: [N, C, H, W] floating (C = 3 or 1 when colour transforms are enabled; H, W > 21
    // when imgfilter is enabled) -> [N, C, H, W], same dtype and device.
    torch::Tensor forward(const torch::Tensor& images, const at::Generator& generator = {});

private:
    AugmentOptions options_;
    double p_ = 0;
};
TORCH_MODULE(AugmentPipe);

}  // namespace facegen::train
