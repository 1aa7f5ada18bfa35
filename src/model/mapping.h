#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>

#include "model/layers/layers.h"

namespace facegen::model {

struct MappingNetworkOptions {
    MappingNetworkOptions(int64_t z_dim, int64_t c_dim, int64_t w_dim)
        : z_dim_(z_dim), c_dim_(c_dim), w_dim_(w_dim) {}
    /// 0 = no latent input (the discriminator's label mapping).
    TORCH_ARG(int64_t, z_dim);
    /// 0 = unconditional (no `embed` layer).
    TORCH_ARG(int64_t, c_dim);
    TORCH_ARG(int64_t, w_dim);
    /// Copies of w in the output ([N, num_ws, w_dim]); 0 = output [N, w_dim]. Default: 0
    TORCH_ARG(int64_t, num_ws) = 0;
    /// Default: 8 (StyleGAN paper sec. 2)
    TORCH_ARG(int64_t, n_layers) = 8;
    /// Default: 0.01 (StyleGAN paper, Appendix C)
    TORCH_ARG(double, lr_multiplier) = 0.01;
    /// Decay of the tracked W average (buffer `w_avg`); 0 = no tracking, no buffer. Default: 0.995
    TORCH_ARG(double, w_avg_beta) = 0.995;
};

/// Official MappingNetwork: normalised z (and normalised label embedding) -> n_layers FC
/// layers with leaky ReLU -> w, broadcast to num_ws copies, optional truncation toward
/// w_avg. Keys: embed.*, fc0.* ... fc{n-1}.*, w_avg.
class MappingNetworkImpl : public torch::nn::Module {
public:
    explicit MappingNetworkImpl(MappingNetworkOptions options);
    // z [N, z_dim] (undefined when z_dim == 0), c [N, c_dim] (undefined when c_dim == 0)
    // -> [N, num_ws, w_dim] (or [N, w_dim] when num_ws == 0).
    // truncation: w' = w_avg + psi (w - w_avg) on the first `cutoff` ws (all when nullopt).
    // update_w_avg (training): w_avg <- lerp(mean_n w, w_avg, beta), never differentiated.
    torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& c, double truncation_psi = 1.0,
                          std::optional<int64_t> truncation_cutoff = std::nullopt, bool update_w_avg = false);
    const MappingNetworkOptions& options() const { return options_; }

    layers::FullyConnectedLayer embed{nullptr};
    torch::nn::ModuleList fcs;  // registered individually as fc0, fc1, ...
    torch::Tensor w_avg;        // [w_dim] buffer (undefined when w_avg_beta == 0)

private:
    MappingNetworkOptions options_;
};
TORCH_MODULE(MappingNetwork);

}  // namespace facegen::model
