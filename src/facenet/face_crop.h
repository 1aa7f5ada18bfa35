#pragma once

#include <torch/torch.h>

#include "data/image_io.h"

namespace facegen::facenet {

/// The square at the centre of a decoded image (faces are framed square) as uint8
/// [1, S, S, 3], box-averaged by a whole factor first when it is over four times the
/// network's input, so a 10000x10000 photo never becomes a float tensor of its full size.
torch::Tensor centre_square(const data::RgbImage& image);

}  // namespace facegen::facenet
