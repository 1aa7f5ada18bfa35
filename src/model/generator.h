#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>

#include "model/config.h"
#include "model/mapping.h"
#include "model/synthesis.h"

namespace facegen::model {

/// StyleGAN2 generator (Karras et al. 2020), exactly the official training/networks.py
/// Generator with the 'skip' synthesis architecture. Parameters and buffers carry the
/// official state-dict names (mapping.fc0.weight, mapping.w_avg, synthesis.b4.const,
/// synthesis.b8.conv0.affine.weight, synthesis.b8.conv0.noise_const, ...), so official
/// weights map one to one. Works on CPU and CUDA; fully differentiable (double backward).
/// For inference wrap calls in `torch::InferenceMode guard;`.
class GeneratorImpl : public torch::nn::Module {
public:
    /// Validates the config (facegen::Error on a bad field) and initialises the weights the
    /// official way (N(0, 1) / lr_multiplier, biases 0, affine biases 1).
    explicit GeneratorImpl(GeneratorConfig config);

    // z [N, z_dim] (any float dtype), c [N, c_dim] or undefined when c_dim == 0
    // -> ws [N, num_ws, w_dim]. update_w_avg: training only (tracks the average used by truncation).
    torch::Tensor map(const torch::Tensor& z, const torch::Tensor& c, double truncation_psi = 1.0,
                      std::optional<int64_t> truncation_cutoff = std::nullopt, bool update_w_avg = false);
    // ws [N, num_ws, w_dim] -> images [N, img_channels, resolution, resolution], roughly [-1, 1]
    torch::Tensor synthesize(const torch::Tensor& ws, const SynthesisOptions& options = {},
                             Intermediates* intermediates = nullptr);
    torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& c, double truncation_psi = 1.0,
                          std::optional<int64_t> truncation_cutoff = std::nullopt,
                          const SynthesisOptions& options = {});

    const GeneratorConfig& config() const { return config_; }
    torch::Tensor w_avg() const;  // [w_dim]
    MappingNetwork& mapping() { return mapping_; }
    SynthesisNetwork& synthesis() { return synthesis_; }

private:
    GeneratorConfig config_;
    SynthesisNetwork synthesis_{nullptr};
    MappingNetwork mapping_{nullptr};
};
TORCH_MODULE(Generator);

}  // namespace facegen::model
