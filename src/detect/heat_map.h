#pragma once

#include <torch/torch.h>

#include "data/image_io.h"
#include "detect/detector.h"

// `facegen detect --explain`: where in the image the detector saw its evidence.
namespace facegen::detect {

/// The image as the detector read it (uint8 [H, W, 3]), in grey, under a colour per pixel
/// for the calibrated probability of the patches covering it (the mean of their logits):
/// blue below the "uncertain" band, yellow inside it, red at or above the threshold,
/// shading between. Enlarged by a whole factor so its shorter side is at least 256 px.
data::RgbImage render_heat_map(const torch::Tensor& view_hwc, const ImageScore& score, const DetectorInfo& info);

}  // namespace facegen::detect
