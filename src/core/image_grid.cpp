#include "core/image_grid.h"

#include <c10/util/Exception.h>

#include <cmath>

namespace facegen::core {

torch::Tensor images_to_uint8_nchw(const torch::Tensor& images) {
    TORCH_CHECK(images.dim() == 4, "expected images [N, C, H, W], got ", images.sizes());
    return (images.to(torch::kFloat32) * 127.5 + 128).clamp(0, 255).to(torch::kUInt8);
}

torch::Tensor images_to_uint8(const torch::Tensor& images) {
    return images_to_uint8_nchw(images).permute({0, 2, 3, 1}).to(torch::kCPU).contiguous();
}

GridLayout grid_layout(int64_t n_images, int64_t n_columns) {
    TORCH_CHECK(n_images >= 1, "grid of ", n_images, " images");
    TORCH_CHECK(n_columns >= 0, "grid with ", n_columns, " columns");
    GridLayout layout;
    if (n_columns > 0) {
        layout.n_columns = std::min(n_columns, n_images);
    } else {
        layout.n_columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n_images))));
        while (layout.n_columns * layout.n_columns < n_images) ++layout.n_columns;  // guard sqrt rounding
        while ((layout.n_columns - 1) * (layout.n_columns - 1) >= n_images) --layout.n_columns;
    }
    layout.n_rows = (n_images + layout.n_columns - 1) / layout.n_columns;
    return layout;
}

torch::Tensor make_image_grid(const torch::Tensor& images, int64_t n_columns) {
    TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8, "expected uint8 images [N, H, W, C], got ",
                images.sizes(), " ", images.scalar_type());
    const int64_t n = images.size(0), h = images.size(1), w = images.size(2), c = images.size(3);
    const GridLayout layout = grid_layout(n, n_columns);
    torch::Tensor grid = torch::zeros({layout.n_rows * h, layout.n_columns * w, c}, images.options());
    for (int64_t i = 0; i < n; ++i) {
        const int64_t row = i / layout.n_columns, column = i % layout.n_columns;
        grid.slice(0, row * h, (row + 1) * h).slice(1, column * w, (column + 1) * w).copy_(images[i]);
    }
    return grid;
}

}  // namespace facegen::core
