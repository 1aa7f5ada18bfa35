#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "anonymize/face_mask.h"
#include "data/face_align.h"
#include "data/image_io.h"

// Putting a face back into its photo: the aligned face is carried through the inverse of
// the FFHQ alignment (data::ffhq_project) and blended under the soft mask. Only pixels
// where the mask's weight is above zero are written; every other pixel keeps its bytes.
namespace facegen::anonymize {

/// Pixel box [left, right) x [top, bottom) of a photo.
struct PixelBox {
    int64_t left = 0, top = 0, right = 0, bottom = 0;
    int64_t area() const { return (right - left) * (bottom - top); }
};

/// Where the mask of the face aligned by `quad` can be non-zero in a photo of this size.
PixelBox mask_box(const data::FFHQQuad& quad, const FaceMask& mask, int64_t photo_width, int64_t photo_height);

/// The mask's weight at every pixel of `box`: float [box height, box width].
torch::Tensor mask_in_photo(const data::FFHQQuad& quad, const FaceMask& mask, const PixelBox& box);

/// Blends `aligned_face` (uint8 [R, R, 3], aligned by `quad`) into `photo` under the mask.
/// Returns the number of pixels whose bytes changed.
int64_t paste_face(data::RgbImage& photo, const data::FFHQQuad& quad, const FaceMask& mask,
                   const torch::Tensor& aligned_face);

/// The fallback for faces that are not replaced: the masked region blurred (a Gaussian of
/// a sixth of the face's width, strong enough that no one is recognised). Returns the
/// number of pixels whose bytes changed.
int64_t blur_face(data::RgbImage& photo, const data::FFHQQuad& quad, const FaceMask& mask);

}  // namespace facegen::anonymize
