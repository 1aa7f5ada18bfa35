#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "data/face_align.h"

// The photo a projection reproduces: decoded, its face found and aligned exactly as the
// training set was (the FFHQ rule at the model's crop scale).
namespace facegen::project {

/// What became of a photo on its way to a target.
struct TargetFace {
    torch::Tensor pixels;  // uint8 [1, R, R, 3], aligned
    int64_t photo_width = 0, photo_height = 0;
    int faces_found = 0;        // the largest one is used (a documented choice)
    double face_size_px = 0;    // side of the aligned square in the photo, pixels
    double pad_fraction = 0;    // share of the target synthesised beyond the photo's edge
};

/// Faces whose aligned square is smaller than this share of the model's side are refused:
/// the target would be mostly upsampling blur.
inline constexpr double kMinFaceShareOfResolution = 0.5;

/// Photos larger than this (longer side, pixels) are searched for faces on a reduced copy;
/// the landmarks are then refined and the crop taken on the full photo.
inline constexpr int64_t kDetectionMaxSide = 1024;

/// Reads `path` (JPEG, PNG, WebP; grayscale, CMYK, alpha composited on white) and aligns
/// its largest face to `resolution` by the FFHQ rule at `crop_scale`. Throws facegen::Error
/// naming the file for an unreadable or truncated image, a photo with no face, and a face
/// too small for the model.
TargetFace load_target_face(const std::string& path, int64_t resolution, double crop_scale,
                            data::FaceDetector& detector, const data::LandmarkPredictor& predictor);

/// The same for an image already decoded; `name` names it in errors.
TargetFace align_target_face(const data::RgbImage& photo, const std::string& name, int64_t resolution,
                             double crop_scale, data::FaceDetector& detector,
                             const data::LandmarkPredictor& predictor);

}  // namespace facegen::project
