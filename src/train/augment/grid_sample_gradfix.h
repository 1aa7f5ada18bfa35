#pragma once

#include <torch/torch.h>

namespace facegen::train {

/// grid_sample(input, grid) with mode bilinear, padding zeros, align_corners false, whose
/// gradient wrt `input` is differentiable again to any order (LibTorch's
/// grid_sampler_2d_backward has no derivative, so R1 through the augmentation would fail).
/// The op is linear in `input`, so the backward of its backward wrt the incoming gradient
/// is a grid_sample forward with the same grid. `grid` gets no gradient: it must not
/// require one (the augmentation grid is built from random draws, never learnt).
/// Same idea as the official torch_utils/ops/grid_sample_gradfix.py.
// input: [N, C, H_in, W_in], grid: [N, H_out, W_out, 2] in [-1, 1] -> [N, C, H_out, W_out]
torch::Tensor grid_sample_2d(const torch::Tensor& input, const torch::Tensor& grid);

}  // namespace facegen::train
