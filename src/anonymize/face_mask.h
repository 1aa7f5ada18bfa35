#pragma once

#include <torch/torch.h>

#include <cstdint>

// The soft mask of the inner face, in the coordinates of a face aligned by the FFHQ rule:
// what of a photo's face is replaced, and how the replacement fades into the photo.
namespace facegen::anonymize {

/// An ellipse over brows, eyes, nose, mouth and chin, as fractions of the aligned image's
/// side (x right, y down), with a feathered rim: weight 1 inside (1 - feather) of the
/// radius, falling smoothly to 0 at the ellipse. Outside it the weight is exactly 0, so the
/// photo's pixels there are never touched.
struct FaceMask {
    double centre_x = 0.5;
    double centre_y = 0.5;
    double radius_x = 0.3;
    double radius_y = 0.4;
    double feather = 0.3;

    /// Weight 0..1 at aligned position (u, v), fractions of the side.
    double weight(double u, double v) const;
    /// The weights sampled at the pixel centres of an aligned image of `side`: float [side, side].
    torch::Tensor sampled(int64_t side) const;
};

/// The mask for faces aligned at `crop_scale`: measured on FFHQ-rule geometry (eyes at 0.47,
/// mouth at 0.70, chin near 0.86 of the crop-scale-1 square) and scaled by 1 / crop_scale
/// about the square's centre, as the face is.
FaceMask face_mask_for(double crop_scale);

}  // namespace facegen::anonymize
