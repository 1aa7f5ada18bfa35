#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/config.h"
#include "model/layers/layers.h"
#include "model/mapping.h"
#include "model/precision.h"
#include "model/synthesis.h"

namespace facegen::model {

/// Official DiscriminatorBlock with the 'resnet' architecture: [fromrgb (first block)] ->
/// conv0 -> conv1 (FIR down 2, gain sqrt(.5)) + skip (1x1, FIR down 2, gain sqrt(.5)).
class DiscriminatorBlockImpl : public torch::nn::Module {
public:
    DiscriminatorBlockImpl(int64_t in_channels, int64_t tmp_channels, int64_t out_channels, int64_t resolution,
                           const DiscriminatorConfig& config);
    // x [N, tmp, R, R] (undefined for the first block, which reads img [N, img_channels, R, R])
    // -> [N, out, R/2, R/2], computed in `dtype`
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& img, torch::Dtype dtype = torch::kFloat32);

    layers::Conv2dLayer fromrgb{nullptr};
    layers::Conv2dLayer conv0{nullptr};
    layers::Conv2dLayer conv1{nullptr};
    layers::Conv2dLayer skip{nullptr};

private:
    int64_t in_channels_, resolution_;
};
TORCH_MODULE(DiscriminatorBlock);

/// Official DiscriminatorEpilogue ("b4"): minibatch stddev -> conv -> fc -> out, projected
/// on the mapped label when conditional.
class DiscriminatorEpilogueImpl : public torch::nn::Module {
public:
    DiscriminatorEpilogueImpl(int64_t in_channels, const DiscriminatorConfig& config);
    // x [N, C, 4, 4], cmap [N, cmap_dim] or undefined -> [N, 1]
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cmap, Intermediates* intermediates = nullptr);

    layers::Conv2dLayer conv{nullptr};
    layers::FullyConnectedLayer fc{nullptr};
    layers::FullyConnectedLayer out{nullptr};

private:
    int64_t in_channels_;
    DiscriminatorConfig config_;
};
TORCH_MODULE(DiscriminatorEpilogue);

/// StyleGAN2 residual discriminator (official Discriminator, architecture 'resnet'). Keys:
/// b{R}.fromrgb.weight, b{r}.conv0.weight, b{r}.skip.weight, b4.conv.weight, b4.fc.weight,
/// b4.out.bias, mapping.embed.weight (conditional) ... Fully differentiable (R1 needs
/// double backward through it).
class DiscriminatorImpl : public torch::nn::Module {
public:
    explicit DiscriminatorImpl(DiscriminatorConfig config);
    // img [N, img_channels, res, res], c [N, c_dim] or undefined -> logits [N, 1].
    // When `intermediates` is given, records "b<r>.x" (block outputs), "b4.x" ... .
    torch::Tensor forward(const torch::Tensor& img, const torch::Tensor& c = {}, Intermediates* intermediates = nullptr);
    /// The blocks' outputs without the epilogue, highest resolution first: img [N, C, res,
    /// res] -> one [N, C_r, r, r] per block. No minibatch statistics are involved, so each
    /// image's features are its own whatever the batch (projection uses them as a
    /// perceptual feature stack).
    std::vector<torch::Tensor> block_outputs(const torch::Tensor& img);
    const DiscriminatorConfig& config() const { return config_; }
    /// Runs the highest-resolution blocks in reduced precision (training on CUDA); default off.
    void set_mixed_precision(const MixedPrecision& precision) { precision_ = precision; }
    const MixedPrecision& mixed_precision() const { return precision_; }

private:
    DiscriminatorConfig config_;
    MixedPrecision precision_;
    std::vector<DiscriminatorBlock> blocks_;
    MappingNetwork mapping_{nullptr};
    DiscriminatorEpilogue epilogue_{nullptr};
};
TORCH_MODULE(Discriminator);

}  // namespace facegen::model
