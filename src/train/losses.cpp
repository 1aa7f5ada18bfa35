#include "train/losses.h"

namespace facegen::train {

namespace {
torch::Tensor flat_logits(const torch::Tensor& logits, const char* what) {
    TORCH_CHECK(logits.dim() == 2 && logits.size(1) == 1, what, ": expected logits [N, 1], got ", logits.sizes());
    return logits.squeeze(1);
}
}  // namespace

torch::Tensor loss_g_main(const torch::Tensor& fake_logits) {
    return torch::nn::functional::softplus(-flat_logits(fake_logits, "loss_g_main"));
}

torch::Tensor loss_d_fake(const torch::Tensor& fake_logits) {
    return torch::nn::functional::softplus(flat_logits(fake_logits, "loss_d_fake"));
}

torch::Tensor loss_d_real(const torch::Tensor& real_logits) {
    return torch::nn::functional::softplus(-flat_logits(real_logits, "loss_d_real"));
}

torch::Tensor r1_penalty(const torch::Tensor& real_logits, const torch::Tensor& real_images) {
    TORCH_CHECK(real_images.dim() == 4, "r1_penalty: expected images [N, C, H, W], got ", real_images.sizes());
    TORCH_CHECK(real_images.requires_grad(), "r1_penalty: real images must require grad");
    const auto grads = torch::autograd::grad({real_logits.sum()}, {real_images}, /*grad_outputs=*/{},
                                             /*retain_graph=*/true, /*create_graph=*/true)[0];
    return grads.square().sum({1, 2, 3});
}

torch::Tensor path_lengths(const torch::Tensor& images, const torch::Tensor& ws, const torch::Tensor& pl_noise) {
    TORCH_CHECK(ws.dim() == 3, "path_lengths: expected ws [N, num_ws, w_dim], got ", ws.sizes());
    TORCH_CHECK(images.sizes() == pl_noise.sizes(), "path_lengths: images ", images.sizes(), " and noise ",
                pl_noise.sizes(), " differ");
    const auto grads = torch::autograd::grad({(images * pl_noise).sum()}, {ws}, /*grad_outputs=*/{},
                                             /*retain_graph=*/true, /*create_graph=*/true)[0];
    return grads.square().sum(2).mean(1).sqrt();
}

int64_t draw_mixing_cutoff(int64_t num_ws, double prob, const torch::Device& device) {
    TORCH_CHECK(num_ws >= 2, "draw_mixing_cutoff: need num_ws >= 2, got ", num_ws);
    const auto options = torch::TensorOptions().device(device);
    const int64_t cutoff = torch::empty({}, options.dtype(torch::kInt64)).random_(1, num_ws).item<int64_t>();
    const bool mix = torch::rand({}, options.dtype(torch::kFloat32)).item<float>() < prob;
    return mix ? cutoff : num_ws;
}

}  // namespace facegen::train
