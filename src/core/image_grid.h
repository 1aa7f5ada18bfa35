#pragma once

#include <torch/types.h>

namespace facegen::core {

/// Generator output [N, C, H, W] (roughly [-1, 1]) -> uint8 [N, C, H, W] on the same
/// device, exactly as the official generate.py and metrics: (img * 127.5 + 128).clamp(0, 255)
/// then a truncating cast, in float32. The one float-to-pixel conversion of facegen.
torch::Tensor images_to_uint8_nchw(const torch::Tensor& images);

/// The same conversion, laid out for image files: uint8 [N, H, W, C], contiguous on the CPU.
torch::Tensor images_to_uint8(const torch::Tensor& images);

/// Rows and columns of a grid of `n_images`: `n_columns` when > 0, else
/// ceil(sqrt(n_images)) columns; rows as needed.
struct GridLayout {
    int64_t n_rows = 0;
    int64_t n_columns = 0;
};
GridLayout grid_layout(int64_t n_images, int64_t n_columns = 0);

/// Tiles uint8 images [N, H, W, C] row by row into one [rows*H, columns*W, C] image;
/// unused cells stay black.
torch::Tensor make_image_grid(const torch::Tensor& images, int64_t n_columns = 0);

}  // namespace facegen::core
