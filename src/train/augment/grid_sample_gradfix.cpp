#include "train/augment/grid_sample_gradfix.h"

#include <torch/version.h>

#include <tuple>

namespace facegen::train {
namespace {

constexpr int64_t kBilinear = 0;  // at::native::GridSamplerInterpolation::Bilinear
constexpr int64_t kZeros = 0;     // at::native::GridSamplerPadding::Zeros
constexpr bool kAlignCorners = false;

torch::Tensor grid_sample_input_gradient(const torch::Tensor& grad_output, const torch::Tensor& input,
                                         const torch::Tensor& grid) {
    // The output_mask argument (skip the grid gradient) arrived in PyTorch 1.11
    // (pytorch/pytorch#65986, a breaking change: #75018); LibTorch 1.13 and 2.x both have it.
#if TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR < 11
    return std::get<0>(at::grid_sampler_2d_backward(grad_output, input, grid, kBilinear, kZeros, kAlignCorners));
#else
    return std::get<0>(at::grid_sampler_2d_backward(grad_output, input, grid, kBilinear, kZeros, kAlignCorners,
                                                    {/*input=*/true, /*grid=*/false}));
#endif
}

struct GridSample2dForward : public torch::autograd::Function<GridSample2dForward> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                                 const torch::Tensor& grid);
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs);
};

// Maps grad_output -> grad_input; linear in grad_output, independent of input's values.
struct GridSample2dBackward : public torch::autograd::Function<GridSample2dBackward> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& grad_output,
                                 const torch::Tensor& input, const torch::Tensor& grid) {
        ctx->save_for_backward({grid});
        return grid_sample_input_gradient(grad_output.contiguous(), input, grid);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs) {
        const torch::Tensor grid = ctx->get_saved_variables()[0];
        torch::Tensor grad_grad_output;
        if (grad_outputs[0].defined()) grad_grad_output = GridSample2dForward::apply(grad_outputs[0], grid);
        return {grad_grad_output, torch::Tensor(), torch::Tensor()};
    }
};

torch::Tensor GridSample2dForward::forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                                           const torch::Tensor& grid) {
    ctx->save_for_backward({input, grid});
    return at::grid_sampler_2d(input, grid, kBilinear, kZeros, kAlignCorners);
}

torch::autograd::variable_list GridSample2dForward::backward(torch::autograd::AutogradContext* ctx,
                                                             torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& input = saved[0];
    const torch::Tensor& grid = saved[1];
    torch::Tensor grad_input;
    if (grad_outputs[0].defined()) grad_input = GridSample2dBackward::apply(grad_outputs[0], input, grid);
    return {grad_input, torch::Tensor()};
}

}  // namespace

torch::Tensor grid_sample_2d(const torch::Tensor& input, const torch::Tensor& grid) {
    TORCH_CHECK(input.dim() == 4, "grid_sample_2d: expected input [N, C, H, W], got ", input.sizes());
    TORCH_CHECK(grid.dim() == 4 && grid.size(0) == input.size(0) && grid.size(3) == 2,
                "grid_sample_2d: expected grid [", input.size(0), ", H_out, W_out, 2], got ", grid.sizes());
    TORCH_CHECK(!grid.requires_grad(), "grid_sample_2d: the grid must not require a gradient");
    TORCH_CHECK(input.scalar_type() == grid.scalar_type(), "grid_sample_2d: input dtype ", input.scalar_type(),
                " differs from grid dtype ", grid.scalar_type());
    return GridSample2dForward::apply(input, grid);
}

}  // namespace facegen::train
