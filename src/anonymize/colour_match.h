#pragma once

#include <torch/torch.h>

// Matching a replacement face's colour and brightness to the face it replaces, so that skin
// tone and exposure carry over from the photo and the pasted face does not stand out.
namespace facegen::anonymize {

/// `face` (uint8 [R, R, 3]) with each channel's mean and spread, weighted by `weights`
/// (float [R, R]), moved to those of `reference` (uint8 [R, R, 3], the original face aligned
/// the same way). The spread ratio is kept within 0.5 .. 2 so that a flat or noisy
/// reference cannot blow up the face. Returns uint8 [R, R, 3].
torch::Tensor match_colour(const torch::Tensor& face, const torch::Tensor& reference, const torch::Tensor& weights);

}  // namespace facegen::anonymize
