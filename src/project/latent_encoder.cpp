#include "project/latent_encoder.h"

#include <nlohmann/json.hpp>

#include <map>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/versioned_safetensors.h"

namespace facegen::project {

namespace {

constexpr double kLeakySlope = 0.2;  // StyleGAN's leaky ReLU slope

int64_t halvings_to_4(int64_t resolution) {
    int64_t count = 0;
    for (int64_t r = resolution; r > 4; r /= 2) ++count;
    return count;
}

bool is_power_of_two(int64_t value) { return value >= 8 && (value & (value - 1)) == 0; }

core::FileFormat encoder_file_format() {
    return {kEncoderFormat, "encoder file", kEncoderFormatVersion, kEncoderFormatVersion,
            ": train one with facegen encoder train"};
}

}  // namespace

LatentEncoderImpl::LatentEncoderImpl(LatentEncoderOptions options) : options_(options) {
    TORCH_CHECK(is_power_of_two(options_.resolution()), "encoder resolution ", options_.resolution(),
                " is not a power of two >= 8");
    TORCH_CHECK(options_.w_dim() > 0 && options_.channels_first() > 0 && options_.channels_max() > 0 &&
                    options_.hidden() > 0,
                "encoder sizes must be positive");
    namespace nn = torch::nn;
    const auto lrelu = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeakySlope)); };
    nn::Sequential features;
    int64_t channels = options_.channels_first();
    features->push_back(nn::Conv2d(nn::Conv2dOptions(3, channels, /*kernel_size=*/3).padding(1)));
    features->push_back(lrelu());
    for (int64_t i = 0; i < halvings_to_4(options_.resolution()); ++i) {
        const int64_t next = std::min(channels * 2, options_.channels_max());
        features->push_back(nn::Conv2d(nn::Conv2dOptions(channels, next, /*kernel_size=*/3).stride(2).padding(1)));
        features->push_back(lrelu());
        features->push_back(nn::Conv2d(nn::Conv2dOptions(next, next, /*kernel_size=*/3).padding(1)));
        features->push_back(lrelu());
        channels = next;
    }
    features_ = register_module("features", features);
    hidden_ = register_module("hidden", nn::Linear(channels * 4 * 4, options_.hidden()));
    out_ = register_module("out", nn::Linear(options_.hidden(), options_.w_dim()));
    // Starts at the average face: the first guesses are the projector's old starting point.
    torch::NoGradGuard no_grad;
    out_->weight.mul_(0.1);
    out_->bias.zero_();
    w_avg = register_buffer("w_avg", torch::zeros({options_.w_dim()}));
}

torch::Tensor LatentEncoderImpl::forward(const torch::Tensor& images) {
    const int64_t r = options_.resolution();
    TORCH_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == r && images.size(3) == r,
                "LatentEncoder: expected images [N, 3, ", r, ", ", r, "], got ", images.sizes());
    torch::Tensor x = features_->forward(images).flatten(1);
    x = torch::leaky_relu(hidden_->forward(x), kLeakySlope);
    return w_avg.unsqueeze(0) + out_->forward(x);
}

void save_encoder(const std::filesystem::path& path, LatentEncoder& encoder, const std::string& model_id,
                  const std::string& provenance_json) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& item : encoder->named_parameters()) tensors[item.key()] = item.value().detach().cpu().to(torch::kFloat32);
    for (const auto& item : encoder->named_buffers()) tensors[item.key()] = item.value().detach().cpu().to(torch::kFloat32);
    const LatentEncoderOptions& o = encoder->options();
    const nlohmann::json config = {{"resolution", o.resolution()},
                                   {"w_dim", o.w_dim()},
                                   {"channels_first", o.channels_first()},
                                   {"channels_max", o.channels_max()},
                                   {"hidden", o.hidden()}};
    std::map<std::string, std::string> metadata = core::format_metadata(encoder_file_format(), kEncoderFormatVersion);
    metadata["model_id"] = model_id;
    metadata["config"] = config.dump();
    metadata["provenance"] = provenance_json;
    core::write_safetensors(path, tensors, metadata);
}

EncoderFile load_encoder(const std::filesystem::path& path, const std::string& model_id, torch::Device device) {
    const std::string name = path.string();
    if (!std::filesystem::is_regular_file(path)) throw make_error("encoder '", name, "' is not a file");
    const core::SafetensorsFile file = core::read_versioned_safetensors(path, encoder_file_format()).file;
    const auto text = [&](const std::string& key) {
        const auto it = file.metadata.find(key);
        if (it == file.metadata.end()) throw make_error("encoder '", name, "': metadata has no '", key, "'");
        return it->second;
    };
    EncoderFile out;
    out.model_id = text("model_id");
    if (!model_id.empty() && out.model_id != model_id) {
        throw make_error("encoder '", name, "' was made for model ", out.model_id, ", not for model ", model_id,
                         ": train one for this model with facegen encoder train");
    }
    out.provenance_json = file.metadata.count("provenance") ? file.metadata.at("provenance") : "{}";
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(text("config"));
        out.encoder = LatentEncoder(LatentEncoderOptions(config.at("resolution").get<int64_t>(), config.at("w_dim").get<int64_t>())
                                        .channels_first(config.at("channels_first").get<int64_t>())
                                        .channels_max(config.at("channels_max").get<int64_t>())
                                        .hidden(config.at("hidden").get<int64_t>()));
    } catch (const nlohmann::json::exception& e) {
        throw make_error("encoder '", name, "': bad config: ", e.what());
    } catch (const c10::Error&) {
        throw make_error("encoder '", name, "': config ", text("config"), " describes no valid encoder");
    }
    torch::NoGradGuard no_grad;
    size_t used = 0;
    const auto fill = [&](const std::string& key, torch::Tensor& target) {
        const auto it = file.tensors.find(key);
        if (it == file.tensors.end()) throw make_error("encoder '", name, "' lacks tensor '", key, "'");
        if (it->second.sizes() != target.sizes()) {
            throw make_error("encoder '", name, "': tensor '", key, "' has shape ", it->second.sizes(), ", expected ",
                             target.sizes());
        }
        target.copy_(it->second.to(torch::kFloat32));
        ++used;
    };
    for (auto& item : out.encoder->named_parameters()) fill(item.key(), item.value());
    for (auto& item : out.encoder->named_buffers()) fill(item.key(), item.value());
    if (used != file.tensors.size()) throw make_error("encoder '", name, "' holds tensors this encoder does not have");
    out.encoder->to(device);
    out.encoder->eval();
    return out;
}

std::filesystem::path encoder_path_for(const std::filesystem::path& model_path) {
    return model_path.parent_path() / (model_path.stem().string() + ".encoder.safetensors");
}

}  // namespace facegen::project
