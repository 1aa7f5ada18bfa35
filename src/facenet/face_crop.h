#pragma once

#include <torch/torch.h>

#include "data/face_align.h"
#include "data/image_io.h"

namespace facegen::facenet {

/// The square at the centre of a decoded image (faces are framed square) as uint8
/// [1, S, S, 3], box-averaged by a whole factor first when it is over four times the
/// network's input, so a 10000x10000 photo never becomes a float tensor of its full size.
torch::Tensor centre_square(const data::RgbImage& image);

/// The largest face dlib finds in a photo, aligned by the FFHQ rule at `crop_scale` (as
/// `facegen dataset build --align ffhq` makes training sets) to uint8 [1, side, side, 3].
/// Throws facegen::Error naming `name` when no face is found.
torch::Tensor aligned_face(const data::RgbImage& image, const std::string& name, data::FaceDetector& detector,
                           double crop_scale, int64_t side, data::FaceDetection* found = nullptr);

}  // namespace facegen::facenet
