#pragma once

#include <torch/torch.h>

#include <cstdint>

// The StyleGAN2 loss terms (official training/loss.py, StyleGAN2Loss), as pure functions
// on tensors so each can be checked by hand. All return per-sample values [N].
namespace facegen::train {

/// Non-saturating generator loss (Goodfellow et al. 2014): softplus(-D(G(z))) = -log sigmoid.
/// logits [N, 1] -> [N]
torch::Tensor loss_g_main(const torch::Tensor& fake_logits);
/// Discriminator loss on fakes: softplus(D(G(z))) = -log(1 - sigmoid). logits [N, 1] -> [N]
torch::Tensor loss_d_fake(const torch::Tensor& fake_logits);
/// Discriminator loss on reals: softplus(-D(x)). logits [N, 1] -> [N]
torch::Tensor loss_d_real(const torch::Tensor& real_logits);

/// R1 penalty (Mescheder et al. 2018): |grad_x D(x)|^2 per sample, differentiable (double
/// backward). real_logits [N, 1] computed from real_images [N, C, H, W] (requires grad).
torch::Tensor r1_penalty(const torch::Tensor& real_logits, const torch::Tensor& real_images);

/// Path lengths (StyleGAN2 paper, sec. 3.2): |J_w^T y| with y = pl_noise, averaged over the
/// ws: sqrt(mean_i sum_j (d(img . y)/d ws[:, i, j])^2). images [N, C, H, W] made from
/// ws [N, num_ws, w_dim] (requires grad); pl_noise [N, C, H, W] ~ N(0, 1) / sqrt(H * W). -> [N]
torch::Tensor path_lengths(const torch::Tensor& images, const torch::Tensor& ws, const torch::Tensor& pl_noise);

/// Style-mixing crossover point drawn as the official loss.py does: cutoff uniform in
/// [1, num_ws), replaced by num_ws (= no mixing) unless rand() < prob. Uses torch's default
/// generator of `device`.
int64_t draw_mixing_cutoff(int64_t num_ws, double prob, const torch::Device& device);

}  // namespace facegen::train
