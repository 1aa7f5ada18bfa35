#include "model/layers/layers.h"

#include <cmath>

namespace facegen::model::layers {

FullyConnectedLayerImpl::FullyConnectedLayerImpl(FullyConnectedLayerOptions options) : options_(options) {
    TORCH_CHECK(options.in_features() > 0 && options.out_features() > 0 && options.lr_multiplier() > 0,
                "FullyConnectedLayer: bad options in ", options.in_features(), " out ", options.out_features(),
                " lr_multiplier ", options.lr_multiplier());
    weight = register_parameter(
        "weight", torch::randn({options.out_features(), options.in_features()}) / options.lr_multiplier());
    if (options.bias()) {
        bias = register_parameter("bias", torch::full({options.out_features()}, options.bias_init()));
    }
}

torch::Tensor FullyConnectedLayerImpl::forward(const torch::Tensor& x) {
    TORCH_CHECK(x.dim() == 2 && x.size(1) == options_.in_features(), "FullyConnectedLayer: expected x [N, ",
                options_.in_features(), "], got ", x.sizes());
    // Equalised learning rate (ProGAN sec. 4.1): runtime scale lr_multiplier / sqrt(fan_in).
    const double weight_gain = options_.lr_multiplier() / std::sqrt(static_cast<double>(options_.in_features()));
    const torch::Tensor w = weight.to(x.dtype()) * weight_gain;
    torch::Tensor b;
    if (bias.defined()) {
        b = bias.to(x.dtype());
        if (options_.lr_multiplier() != 1.0) b = b * options_.lr_multiplier();
    }
    if (options_.activation() == Activation::Linear && b.defined()) return torch::addmm(b.unsqueeze(0), x, w.t());
    return bias_act(x.matmul(w.t()), b, options_.activation(), default_gain(options_.activation()));
}

Conv2dLayerImpl::Conv2dLayerImpl(Conv2dLayerOptions options) : options_(options) {
    TORCH_CHECK(options.down() == 1 || options.down() == 2, "Conv2dLayer: down must be 1 or 2, got ", options.down());
    weight = register_parameter("weight", torch::randn({options.out_channels(), options.in_channels(),
                                                        options.kernel_size(), options.kernel_size()}));
    if (options.bias()) bias = register_parameter("bias", torch::zeros({options.out_channels()}));
}

torch::Tensor Conv2dLayerImpl::forward(const torch::Tensor& x, double gain) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels(), "Conv2dLayer: expected x [N, ",
                options_.in_channels(), ", H, W], got ", x.sizes());
    const double weight_gain =
        1.0 / std::sqrt(static_cast<double>(options_.in_channels() * options_.kernel_size() * options_.kernel_size()));
    const torch::Tensor w = weight.to(x.dtype()) * weight_gain;
    const torch::Tensor y = conv2d_resample(x, w, /*up=*/1, options_.down());
    return bias_act(y, bias, options_.activation(), default_gain(options_.activation()) * gain,
                    options_.conv_clamp() * gain);
}

SynthesisLayerImpl::SynthesisLayerImpl(SynthesisLayerOptions options) : options_(options) {
    TORCH_CHECK(options.up() == 1 || options.up() == 2, "SynthesisLayer: up must be 1 or 2, got ", options.up());
    affine = register_module("affine", FullyConnectedLayer(FullyConnectedLayerOptions(options.w_dim(), options.in_channels())
                                                               .bias_init(1.0)));
    weight = register_parameter("weight", torch::randn({options.out_channels(), options.in_channels(), 3, 3}));
    noise_const = register_buffer("noise_const", torch::randn({options.resolution(), options.resolution()}));
    noise_strength = register_parameter("noise_strength", torch::zeros({}));
    bias = register_parameter("bias", torch::zeros({options.out_channels()}));
}

torch::Tensor SynthesisLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode noise_mode,
                                          const torch::Tensor& random_noise) {
    const int64_t in_resolution = options_.resolution() / options_.up();
    TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels() && x.size(2) == in_resolution &&
                    x.size(3) == in_resolution,
                "SynthesisLayer: expected x [N, ", options_.in_channels(), ", ", in_resolution, ", ", in_resolution,
                "], got ", x.sizes());
    TORCH_CHECK(w.dim() == 2 && w.size(0) == x.size(0), "SynthesisLayer: expected w [", x.size(0), ", ",
                options_.w_dim(), "], got ", w.sizes());
    const torch::Tensor styles = affine->forward(w);
    const int64_t r = options_.resolution();
    torch::Tensor noise;
    if (noise_mode == NoiseMode::Const) {
        noise = noise_const * noise_strength;
    } else if (noise_mode == NoiseMode::Random) {
        if (random_noise.defined()) {
            TORCH_CHECK(random_noise.dim() == 4 && random_noise.size(0) == x.size(0) && random_noise.size(1) == 1 &&
                            random_noise.size(2) == r && random_noise.size(3) == r,
                        "SynthesisLayer: expected noise [", x.size(0), ", 1, ", r, ", ", r, "], got ",
                        random_noise.sizes());
            noise = random_noise.to(x.device(), x.scalar_type()) * noise_strength;
        } else {
            noise = torch::randn({x.size(0), 1, r, r}, x.options().dtype(torch::kFloat32)) * noise_strength;
        }
    }
    const torch::Tensor y = modulated_conv2d(x, weight, styles, noise, options_.up(), /*demodulate=*/true);
    return bias_act(y, bias, Activation::LReLU, default_gain(Activation::LReLU), options_.conv_clamp());
}

ToRGBLayerImpl::ToRGBLayerImpl(ToRGBLayerOptions options) : options_(options) {
    affine = register_module("affine", FullyConnectedLayer(FullyConnectedLayerOptions(options.w_dim(), options.in_channels())
                                                               .bias_init(1.0)));
    weight = register_parameter("weight", torch::randn({options.out_channels(), options.in_channels(), 1, 1}));
    bias = register_parameter("bias", torch::zeros({options.out_channels()}));
}

torch::Tensor ToRGBLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels(), "ToRGBLayer: expected x [N, ",
                options_.in_channels(), ", H, W], got ", x.sizes());
    const double weight_gain = 1.0 / std::sqrt(static_cast<double>(options_.in_channels()));
    const torch::Tensor styles = affine->forward(w) * weight_gain;
    const torch::Tensor y = modulated_conv2d(x, weight, styles, /*noise=*/{}, /*up=*/1, /*demodulate=*/false);
    return bias_act(y, bias, Activation::Linear, /*gain=*/1.0, options_.conv_clamp());
}

}  // namespace facegen::model::layers
