#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/config.h"
#include "model/layers/ops.h"

// Parameterised StyleGAN2 layers with equalised learning rate (ProGAN sec. 4.1): weights
// are stored as N(0, 1) / lr_multiplier and scaled by lr_multiplier / sqrt(fan_in) at run
// time. Parameter names follow the official checkpoints (weight, bias, affine.weight, ...).
namespace facegen::model::layers {

struct FullyConnectedLayerOptions {
    FullyConnectedLayerOptions(int64_t in_features, int64_t out_features)
        : in_features_(in_features), out_features_(out_features) {}
    TORCH_ARG(int64_t, in_features);
    TORCH_ARG(int64_t, out_features);
    /// Default: true
    TORCH_ARG(bool, bias) = true;
    /// Default: Linear
    TORCH_ARG(Activation, activation) = Activation::Linear;
    /// Learning-rate multiplier (mapping network: 0.01). Default: 1
    TORCH_ARG(double, lr_multiplier) = 1.0;
    /// Initial bias value (affine layers of the synthesis network: 1). Default: 0
    TORCH_ARG(double, bias_init) = 0.0;
};

class FullyConnectedLayerImpl : public torch::nn::Module {
public:
    explicit FullyConnectedLayerImpl(FullyConnectedLayerOptions options);
    // x [N, in_features] -> [N, out_features]
    torch::Tensor forward(const torch::Tensor& x);
    const FullyConnectedLayerOptions& options() const { return options_; }

    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out] or undefined

private:
    FullyConnectedLayerOptions options_;
};
TORCH_MODULE(FullyConnectedLayer);

struct Conv2dLayerOptions {
    Conv2dLayerOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
        : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, kernel_size);
    /// Default: true
    TORCH_ARG(bool, bias) = true;
    /// Default: Linear
    TORCH_ARG(Activation, activation) = Activation::Linear;
    /// 1 or 2 (FIR downsampling). Default: 1
    TORCH_ARG(int64_t, down) = 1;
    /// Clamp of the output, 0 = none. Default: 0
    TORCH_ARG(double, conv_clamp) = 0.0;
};

/// Official Conv2dLayer (discriminator convolutions), "same" padding.
class Conv2dLayerImpl : public torch::nn::Module {
public:
    explicit Conv2dLayerImpl(Conv2dLayerOptions options);
    // x [N, in, H, W] -> [N, out, H / down, W / down]; gain multiplies activation gain and clamp
    torch::Tensor forward(const torch::Tensor& x, double gain = 1.0);
    const Conv2dLayerOptions& options() const { return options_; }

    torch::Tensor weight;  // [out, in, k, k]
    torch::Tensor bias;    // [out] or undefined

private:
    Conv2dLayerOptions options_;
};
TORCH_MODULE(Conv2dLayer);

struct SynthesisLayerOptions {
    SynthesisLayerOptions(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution)
        : in_channels_(in_channels), out_channels_(out_channels), w_dim_(w_dim), resolution_(resolution) {}
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, w_dim);
    /// Output resolution of the layer.
    TORCH_ARG(int64_t, resolution);
    /// 1 or 2 (transposed conv + FIR). Default: 1
    TORCH_ARG(int64_t, up) = 1;
    /// Clamp of the output, 0 = none. Default: 0
    TORCH_ARG(double, conv_clamp) = 0.0;
};

/// Official SynthesisLayer: affine(w) -> modulated, demodulated 3x3 conv (optionally
/// upsampling) -> + noise * noise_strength -> bias, leaky ReLU * sqrt(2), clamp.
class SynthesisLayerImpl : public torch::nn::Module {
public:
    explicit SynthesisLayerImpl(SynthesisLayerOptions options);
    // x [N, in, R/up, R/up], w [N, w_dim], random_noise [N, 1, R, R] (Random mode; undefined
    // = draw from the default generator) -> [N, out, R, R]
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode noise_mode,
                          const torch::Tensor& random_noise = {});
    const SynthesisLayerOptions& options() const { return options_; }

    FullyConnectedLayer affine{nullptr};
    torch::Tensor weight;          // [out, in, 3, 3]
    torch::Tensor bias;            // [out]
    torch::Tensor noise_strength;  // [] (parameter)
    torch::Tensor noise_const;     // [R, R] (buffer)

private:
    SynthesisLayerOptions options_;
};
TORCH_MODULE(SynthesisLayer);

struct ToRGBLayerOptions {
    ToRGBLayerOptions(int64_t in_channels, int64_t out_channels, int64_t w_dim)
        : in_channels_(in_channels), out_channels_(out_channels), w_dim_(w_dim) {}
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, w_dim);
    /// Clamp of the output, 0 = none. Default: 0
    TORCH_ARG(double, conv_clamp) = 0.0;
};

/// Official ToRGBLayer: 1x1 modulated conv without demodulation, styles * 1/sqrt(in).
class ToRGBLayerImpl : public torch::nn::Module {
public:
    explicit ToRGBLayerImpl(ToRGBLayerOptions options);
    // x [N, in, H, W], w [N, w_dim] -> [N, out, H, W]
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w);
    const ToRGBLayerOptions& options() const { return options_; }

    FullyConnectedLayer affine{nullptr};
    torch::Tensor weight;  // [out, in, 1, 1]
    torch::Tensor bias;    // [out]

private:
    ToRGBLayerOptions options_;
};
TORCH_MODULE(ToRGBLayer);

}  // namespace facegen::model::layers
