#include "model/discriminator.h"

#include <cmath>
#include <string>

namespace facegen::model {
namespace {

// Residual branches are summed with gain sqrt(1/2) to keep the variance (official
// DiscriminatorBlock, 'resnet' architecture).
const double kResidualGain = std::sqrt(0.5);

}  // namespace

DiscriminatorBlockImpl::DiscriminatorBlockImpl(int64_t in_channels, int64_t tmp_channels, int64_t out_channels,
                                               int64_t resolution, const DiscriminatorConfig& config)
    : in_channels_(in_channels), resolution_(resolution) {
    using layers::Activation;
    using layers::Conv2dLayerOptions;
    if (in_channels == 0) {
        fromrgb = register_module("fromrgb", layers::Conv2dLayer(Conv2dLayerOptions(config.img_channels, tmp_channels, 1)
                                                                     .activation(Activation::LReLU)
                                                                     .conv_clamp(config.conv_clamp)));
    }
    conv0 = register_module("conv0", layers::Conv2dLayer(Conv2dLayerOptions(tmp_channels, tmp_channels, 3)
                                                             .activation(Activation::LReLU)
                                                             .conv_clamp(config.conv_clamp)));
    conv1 = register_module("conv1", layers::Conv2dLayer(Conv2dLayerOptions(tmp_channels, out_channels, 3)
                                                             .activation(Activation::LReLU)
                                                             .down(2)
                                                             .conv_clamp(config.conv_clamp)));
    skip = register_module("skip", layers::Conv2dLayer(Conv2dLayerOptions(tmp_channels, out_channels, 1).bias(false).down(2)));
}

torch::Tensor DiscriminatorBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& img, torch::Dtype dtype) {
    torch::Tensor h = x.defined() ? x.to(dtype) : x;
    if (in_channels_ == 0) {
        TORCH_CHECK(img.defined() && img.dim() == 4 && img.size(2) == resolution_ && img.size(3) == resolution_,
                    "DiscriminatorBlock b", resolution_, ": expected img [N, C, ", resolution_, ", ", resolution_,
                    "], got ", img.defined() ? img.sizes() : torch::IntArrayRef{});
        h = fromrgb->forward(img.to(dtype));
    }
    const torch::Tensor y = skip->forward(h, kResidualGain);
    h = conv0->forward(h);
    h = conv1->forward(h, kResidualGain);
    return y + h;
}

DiscriminatorEpilogueImpl::DiscriminatorEpilogueImpl(int64_t in_channels, const DiscriminatorConfig& config)
    : in_channels_(in_channels), config_(config) {
    using layers::Activation;
    conv = register_module("conv", layers::Conv2dLayer(layers::Conv2dLayerOptions(in_channels + config.mbstd_num_channels,
                                                                                  in_channels, 3)
                                                           .activation(Activation::LReLU)
                                                           .conv_clamp(config.conv_clamp)));
    fc = register_module("fc", layers::FullyConnectedLayer(layers::FullyConnectedLayerOptions(in_channels * 4 * 4, in_channels)
                                                               .activation(Activation::LReLU)));
    const int64_t cmap_dim = config.effective_cmap_dim();
    out = register_module("out", layers::FullyConnectedLayer(layers::FullyConnectedLayerOptions(in_channels, cmap_dim > 0 ? cmap_dim : 1)));
}

torch::Tensor DiscriminatorEpilogueImpl::forward(const torch::Tensor& x, const torch::Tensor& cmap,
                                                 Intermediates* intermediates) {
    TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels_ && x.size(2) == 4 && x.size(3) == 4,
                "DiscriminatorEpilogue: expected x [N, ", in_channels_, ", 4, 4], got ", x.sizes());
    torch::Tensor h = x.to(torch::kFloat32);  // the epilogue always runs in float32 (official)
    if (config_.mbstd_num_channels > 0) {
        h = layers::minibatch_stddev(h, config_.mbstd_group_size, config_.mbstd_num_channels);
        if (intermediates) (*intermediates)["b4.mbstd"] = h;
    }
    h = conv->forward(h);
    if (intermediates) (*intermediates)["b4.conv"] = h;
    h = fc->forward(h.flatten(1));
    if (intermediates) (*intermediates)["b4.fc"] = h;
    h = out->forward(h);
    const int64_t cmap_dim = config_.effective_cmap_dim();
    if (cmap_dim > 0) {
        TORCH_CHECK(cmap.defined() && cmap.dim() == 2 && cmap.size(1) == cmap_dim, "DiscriminatorEpilogue: expected cmap [N, ",
                    cmap_dim, "]");
        h = (h * cmap).sum(/*dim=*/1, /*keepdim=*/true) * (1.0 / std::sqrt(static_cast<double>(cmap_dim)));
    }
    return h;
}

DiscriminatorImpl::DiscriminatorImpl(DiscriminatorConfig config) : config_(std::move(config)) {
    config_.validate();
    for (int64_t r = config_.resolution; r >= 8; r /= 2) {
        const int64_t in_channels = r < config_.resolution ? config_.channels_at(r) : 0;
        auto block = DiscriminatorBlock(in_channels, config_.channels_at(r), config_.channels_at(r / 2), r, config_);
        blocks_.push_back(register_module("b" + std::to_string(r), block));
    }
    if (config_.c_dim > 0) {
        mapping_ = register_module("mapping", MappingNetwork(MappingNetworkOptions(0, config_.c_dim, config_.effective_cmap_dim())
                                                                 .num_ws(0)
                                                                 .n_layers(config_.n_mapping_layers)
                                                                 .lr_multiplier(config_.mapping_lr_multiplier)
                                                                 .w_avg_beta(0)));
    }
    epilogue_ = register_module("b4", DiscriminatorEpilogue(config_.channels_at(4), config_));
}

std::vector<torch::Tensor> DiscriminatorImpl::block_outputs(const torch::Tensor& img) {
    const int64_t r = config_.resolution;
    TORCH_CHECK(img.dim() == 4 && img.size(1) == config_.img_channels && img.size(2) == r && img.size(3) == r,
                "Discriminator: expected img [N, ", config_.img_channels, ", ", r, ", ", r, "], got ", img.sizes());
    std::vector<torch::Tensor> outputs;
    torch::Tensor x;
    for (auto& block : blocks_) {
        const int64_t block_resolution = r >> (&block - &blocks_[0]);
        x = block->forward(x, img.to(torch::kFloat32), precision_.dtype_at(block_resolution, r));
        outputs.push_back(x);
    }
    return outputs;
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& img, const torch::Tensor& c, Intermediates* intermediates) {
    const std::vector<torch::Tensor> outputs = block_outputs(img);
    if (intermediates) {
        for (size_t i = 0; i < outputs.size(); ++i) {
            (*intermediates)["b" + std::to_string(config_.resolution >> i) + ".x"] = outputs[i];
        }
    }
    torch::Tensor x = outputs.back();
    torch::Tensor cmap;
    if (config_.c_dim > 0) {
        TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(0) == img.size(0) && c.size(1) == config_.c_dim,
                    "Discriminator: expected c [", img.size(0), ", ", config_.c_dim, "]");
        cmap = mapping_->forward(/*z=*/{}, c);
        if (intermediates) (*intermediates)["mapping.cmap"] = cmap;
    }
    torch::Tensor logits = epilogue_->forward(x, cmap, intermediates);
    if (intermediates) (*intermediates)["logits"] = logits;
    return logits;
}

}  // namespace facegen::model
