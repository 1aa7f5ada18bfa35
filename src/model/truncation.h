#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

namespace facegen::model {

/// The truncation trick (Karras et al. 2019, sec. 3; the official MappingNetwork):
/// w' = w_avg + psi * (w - w_avg), which pulls latents towards the average face, trading
/// variety for typical, cleaner images. Works on any latent of the W space, so mapped
/// seeds, projected photos and edited latents are truncated alike.
/// w: [N, w_dim] or ws: [N, num_ws, w_dim]; w_avg: [w_dim]. `cutoff` (ws only) truncates
/// the first `cutoff` layers and keeps the rest; absent = every layer. psi 1 returns `w`.
torch::Tensor truncate(const torch::Tensor& w, const torch::Tensor& w_avg, double psi,
                       std::optional<int64_t> cutoff = std::nullopt);

}  // namespace facegen::model
