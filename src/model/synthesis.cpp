#include "model/synthesis.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

namespace facegen::model {

SynthesisBlockImpl::SynthesisBlockImpl(SynthesisBlockOptions options) : options_(options) {
    const int64_t r = options.resolution();
    if (options.in_channels() == 0) {
        const_input = register_parameter("const", torch::randn({options.out_channels(), r, r}));
    } else {
        conv0 = register_module("conv0", layers::SynthesisLayer(layers::SynthesisLayerOptions(
                                                                    options.in_channels(), options.out_channels(),
                                                                    options.w_dim(), r)
                                                                    .up(2)
                                                                    .conv_clamp(options.conv_clamp())));
    }
    conv1 = register_module("conv1", layers::SynthesisLayer(layers::SynthesisLayerOptions(
                                                                options.out_channels(), options.out_channels(),
                                                                options.w_dim(), r)
                                                                .conv_clamp(options.conv_clamp())));
    torgb = register_module(
        "torgb", layers::ToRGBLayer(layers::ToRGBLayerOptions(options.out_channels(), options.img_channels(), options.w_dim())
                                        .conv_clamp(options.conv_clamp())));
}

SynthesisBlockOutput SynthesisBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& img,
                                                 const torch::Tensor& ws, NoiseMode noise_mode,
                                                 const std::vector<torch::Tensor>& noise, torch::Dtype dtype) {
    const int64_t r = options_.resolution();
    TORCH_CHECK(ws.dim() == 3 && ws.size(1) == num_conv() + 1 && ws.size(2) == options_.w_dim(),
                "SynthesisBlock b", r, ": expected ws [N, ", num_conv() + 1, ", ", options_.w_dim(), "], got ",
                ws.sizes());
    TORCH_CHECK(noise.empty() || static_cast<int64_t>(noise.size()) == num_conv(), "SynthesisBlock b", r,
                ": expected ", num_conv(), " noise tensors, got ", noise.size());
    const auto layer_noise = [&](size_t i) { return noise.empty() ? torch::Tensor() : noise[i]; };
    SynthesisBlockOutput out;
    if (options_.in_channels() == 0) {
        torch::Tensor input = const_input.to(dtype).unsqueeze(0).expand({ws.size(0), -1, -1, -1});
        // Generation: channels-last activations let oneDNN use its fast CPU convolutions (about
        // 3x on the 64x64 benchmark); every following layer keeps the layout.
        if (!torch::GradMode::is_enabled()) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
        out.x = conv1->forward(input, ws.select(1, 0), noise_mode, layer_noise(0));
    } else {
        TORCH_CHECK(x.defined() && x.dim() == 4 && x.size(1) == options_.in_channels() && x.size(2) == r / 2,
                    "SynthesisBlock b", r, ": expected x [N, ", options_.in_channels(), ", ", r / 2, ", ", r / 2,
                    "], got ", x.defined() ? x.sizes() : torch::IntArrayRef{});
        torch::Tensor y = conv0->forward(x.to(dtype), ws.select(1, 0), noise_mode, layer_noise(0));
        out.x = conv1->forward(y, ws.select(1, 1), noise_mode, layer_noise(1));
    }
    torch::Tensor rgb = torgb->forward(out.x, ws.select(1, num_conv())).to(torch::kFloat32);
    if (img.defined()) {
        TORCH_CHECK(img.dim() == 4 && img.size(1) == options_.img_channels() && img.size(2) == r / 2,
                    "SynthesisBlock b", r, ": expected img [N, ", options_.img_channels(), ", ", r / 2, ", ", r / 2,
                    "], got ", img.sizes());
        out.img = layers::upsample2d(img);
        if (torch::GradMode::is_enabled()) {
            out.img = out.img + rgb;
        } else {
            out.img.add_(rgb);
        }
    } else {
        out.img = rgb;
    }
    return out;
}

SynthesisNetworkImpl::SynthesisNetworkImpl(const GeneratorConfig& config) : config_(config) {
    for (int64_t r : config.block_resolutions()) {
        const int64_t in_channels = r > 4 ? config.channels_at(r / 2) : 0;
        auto block = SynthesisBlock(SynthesisBlockOptions(in_channels, config.channels_at(r), config.w_dim, r)
                                        .img_channels(config.img_channels)
                                        .conv_clamp(config.conv_clamp));
        blocks_.push_back(register_module("b" + std::to_string(r), block));
    }
}

std::vector<std::vector<torch::Tensor>> SynthesisNetworkImpl::seeded_noise(const SynthesisOptions& options,
                                                                          int64_t batch_size,
                                                                          const torch::Device& device) const {
    TORCH_CHECK(static_cast<int64_t>(options.noise_seeds.size()) == batch_size, "SynthesisNetwork: got ",
                options.noise_seeds.size(), " noise seeds for a batch of ", batch_size);
    // per_sample[i][layer]: drawn in layer order from the sample's own CPU generator, so the
    // noise of an image depends only on its seed (not on the batch or the device).
    std::vector<std::vector<torch::Tensor>> per_layer;
    for (const auto& block : blocks_) {
        for (int64_t j = 0; j < block->num_conv(); ++j) per_layer.emplace_back();
    }
    for (int64_t i = 0; i < batch_size; ++i) {
        at::Generator generator = at::detail::createCPUGenerator(options.noise_seeds[static_cast<size_t>(i)]);
        size_t layer = 0;
        for (const auto& block : blocks_) {
            const int64_t r = block->options().resolution();
            for (int64_t j = 0; j < block->num_conv(); ++j) {
                per_layer[layer++].push_back(torch::randn({1, 1, r, r}, generator, torch::kFloat32));
            }
        }
    }
    std::vector<std::vector<torch::Tensor>> per_block;
    size_t layer = 0;
    for (const auto& block : blocks_) {
        std::vector<torch::Tensor> noise;
        for (int64_t j = 0; j < block->num_conv(); ++j) noise.push_back(torch::cat(per_layer[layer++]).to(device));
        per_block.push_back(std::move(noise));
    }
    return per_block;
}

std::vector<std::vector<torch::Tensor>> SynthesisNetworkImpl::given_noise(const SynthesisOptions& options) const {
    int64_t n_layers = 0;
    for (const auto& block : blocks_) n_layers += block->num_conv();
    TORCH_CHECK(static_cast<int64_t>(options.noise.size()) == n_layers, "SynthesisNetwork: expected ", n_layers,
                " noise tensors (one per conv layer), got ", options.noise.size());
    std::vector<std::vector<torch::Tensor>> per_block;
    size_t layer = 0;
    for (const auto& block : blocks_) {
        std::vector<torch::Tensor> noise;
        for (int64_t j = 0; j < block->num_conv(); ++j) noise.push_back(options.noise[layer++]);
        per_block.push_back(std::move(noise));
    }
    return per_block;
}

torch::Tensor SynthesisNetworkImpl::forward(const torch::Tensor& ws, const SynthesisOptions& options,
                                            Intermediates* intermediates) {
    TORCH_CHECK(ws.dim() == 3 && ws.size(1) == config_.num_ws() && ws.size(2) == config_.w_dim,
                "SynthesisNetwork: expected ws [N, ", config_.num_ws(), ", ", config_.w_dim, "], got ", ws.sizes());
    const torch::Tensor ws32 = ws.to(torch::kFloat32);
    std::vector<std::vector<torch::Tensor>> noise;
    if (options.noise_mode == NoiseMode::Random && !options.noise.empty()) {
        noise = given_noise(options);
    } else if (options.noise_mode == NoiseMode::Random && !options.noise_seeds.empty()) {
        noise = seeded_noise(options, ws.size(0), ws.device());
    }
    torch::Tensor x, img;
    int64_t w_index = 0;
    for (size_t i = 0; i < blocks_.size(); ++i) {
        auto& block = blocks_[i];
        const torch::Tensor block_ws = ws32.narrow(1, w_index, block->num_conv() + 1);
        w_index += block->num_conv();
        auto out = block->forward(x, img, block_ws, options.noise_mode,
                                  noise.empty() ? std::vector<torch::Tensor>{} : noise[i],
                                  precision_.dtype_at(block->options().resolution(), config_.resolution));
        x = std::move(out.x);
        img = std::move(out.img);
        if (intermediates) {
            const std::string name = "b" + std::to_string(block->options().resolution());
            (*intermediates)[name + ".x"] = x;
            (*intermediates)[name + ".img"] = img;
        }
    }
    return img.contiguous();
}

}  // namespace facegen::model
