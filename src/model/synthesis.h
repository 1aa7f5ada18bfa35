#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/layers/layers.h"
#include "model/precision.h"

namespace facegen::model {

struct SynthesisOptions {
    NoiseMode noise_mode = NoiseMode::Random;
    /// Random mode only: one seed per sample makes each image's noise independent of the
    /// batch it is in and of the device (drawn on the CPU from a generator seeded with the
    /// sample's seed, then moved); empty = draw from torch's default generator (training).
    std::vector<uint64_t> noise_seeds;
    /// Random mode only: the noise itself, one [N, 1, R, R] per conv layer in order (b4.conv1,
    /// b8.conv0, b8.conv1, ...), e.g. noise being optimised by a projection; overrides
    /// noise_seeds.
    std::vector<torch::Tensor> noise;
};

/// Named intermediate tensors ("b8.x", "b8.img", ...) recorded by the networks on request,
/// for golden tests and debugging.
using Intermediates = std::map<std::string, torch::Tensor>;

struct SynthesisBlockOptions {
    SynthesisBlockOptions(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution)
        : in_channels_(in_channels), out_channels_(out_channels), w_dim_(w_dim), resolution_(resolution) {}
    /// 0 = first block (learned 4x4 constant input, no conv0).
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, w_dim);
    TORCH_ARG(int64_t, resolution);
    /// Default: 3
    TORCH_ARG(int64_t, img_channels) = 3;
    /// Default: 0 (no clamp)
    TORCH_ARG(double, conv_clamp) = 0.0;
};

struct SynthesisBlockOutput {
    torch::Tensor x;    // [N, out_channels, R, R]
    torch::Tensor img;  // [N, img_channels, R, R]
};

/// Official SynthesisBlock with the 'skip' architecture: [const | conv0 (up 2)] -> conv1 ->
/// ToRGB added to the FIR-upsampled image of the previous block.
class SynthesisBlockImpl : public torch::nn::Module {
public:
    explicit SynthesisBlockImpl(SynthesisBlockOptions options);
    // x [N, in, R/2, R/2] and img [N, img_channels, R/2, R/2] (both undefined for the first
    // block), ws [N, num_conv + 1, w_dim]; noise: one [N, 1, R, R] per conv layer or empty.
    // The convolutions run in `dtype` (out.x has it); out.img is always float32.
    SynthesisBlockOutput forward(const torch::Tensor& x, const torch::Tensor& img, const torch::Tensor& ws,
                                 NoiseMode noise_mode, const std::vector<torch::Tensor>& noise = {},
                                 torch::Dtype dtype = torch::kFloat32);
    int64_t num_conv() const { return options_.in_channels() == 0 ? 1 : 2; }
    const SynthesisBlockOptions& options() const { return options_; }

    torch::Tensor const_input;  // "const" [out, 4, 4], first block only
    layers::SynthesisLayer conv0{nullptr};
    layers::SynthesisLayer conv1{nullptr};
    layers::ToRGBLayer torgb{nullptr};

private:
    SynthesisBlockOptions options_;
};
TORCH_MODULE(SynthesisBlock);

/// Official SynthesisNetwork: blocks b4 ... b{resolution}. Keys: b4.const, b8.conv0.weight, ...
class SynthesisNetworkImpl : public torch::nn::Module {
public:
    explicit SynthesisNetworkImpl(const GeneratorConfig& config);
    // ws [N, num_ws, w_dim] -> img [N, img_channels, R, R]. When `intermediates` is given,
    // records "b<r>.x" and "b<r>.img" for every block.
    torch::Tensor forward(const torch::Tensor& ws, const SynthesisOptions& options = {},
                          Intermediates* intermediates = nullptr);
    std::vector<SynthesisBlock> blocks() const { return blocks_; }
    /// Runs the highest-resolution blocks in reduced precision (training on CUDA); default off.
    void set_mixed_precision(const MixedPrecision& precision) { precision_ = precision; }
    const MixedPrecision& mixed_precision() const { return precision_; }

private:
    /// Random mode with seeds: per-layer noise [N, 1, R, R] for every conv layer in order.
    /// Options::noise split per block.
    std::vector<std::vector<torch::Tensor>> given_noise(const SynthesisOptions& options) const;
    std::vector<std::vector<torch::Tensor>> seeded_noise(const SynthesisOptions& options, int64_t batch_size,
                                                        const torch::Device& device) const;
    GeneratorConfig config_;
    std::vector<SynthesisBlock> blocks_;
    MixedPrecision precision_;
};
TORCH_MODULE(SynthesisNetwork);

}  // namespace facegen::model
