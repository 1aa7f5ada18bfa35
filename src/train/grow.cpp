#include "train/grow.h"

#include "core/error.h"

namespace facegen::train {

GrowReport copy_matching_state(torch::nn::Module& target, const torch::nn::Module& source) {
    torch::NoGradGuard no_grad;
    GrowReport report;
    auto copy_all = [&](auto target_items, auto source_items) {
        for (auto& item : target_items) {
            const torch::Tensor* from = source_items.find(item.key());
            if (from != nullptr && from->sizes() == item.value().sizes()) {
                item.value().copy_(*from);
                report.copied.push_back(item.key());
            } else {
                report.fresh.push_back(item.key());
            }
        }
    };
    copy_all(target.named_parameters(true), source.named_parameters(true));
    copy_all(target.named_buffers(true), source.named_buffers(true));
    return report;
}

void silence_new_to_rgb(torch::nn::Module& generator, int64_t from_resolution, int64_t to_resolution) {
    torch::NoGradGuard no_grad;
    auto params = generator.named_parameters(true);
    for (int64_t res = from_resolution * 2; res <= to_resolution; res *= 2) {
        for (const char* field : {"weight", "bias"}) {
            const std::string name = "synthesis.b" + std::to_string(res) + ".torgb." + field;
            torch::Tensor* tensor = params.find(name);
            TORCH_CHECK(tensor != nullptr, "silence_new_to_rgb: the generator has no ", name);
            tensor->zero_();
        }
    }
}

namespace {

template <typename Config>
void check_growable_config(Config have, Config want, const std::string& path, const char* network) {
    if (have.resolution > want.resolution)
        throw make_error("model to grow '", path, "': its ", network, " is ", have.resolution, "x", have.resolution,
                         ", above the run's ", want.resolution, "x", want.resolution, " (a model only grows)");
    if (have.resolution == want.resolution)
        throw make_error("model to grow '", path, "': its ", network, " is already ", have.resolution, "x",
                         have.resolution, " (continue it at its own resolution instead of growing it)");
    have.resolution = want.resolution;
    have.conv_clamp = want.conv_clamp;
    if (have != want)
        throw make_error("model to grow '", path, "': its ", network, " ", model::to_json(have),
                         " differs from this run's ", model::to_json(want),
                         " in more than the resolution (give the model's channel_base, channel_max, map_layers, z_dim, w_dim)");
}

}  // namespace

void check_growable(const model::GeneratorConfig& have, const model::GeneratorConfig& want, const std::string& path) {
    check_growable_config(have, want, path, "generator");
}

void check_growable(const model::DiscriminatorConfig& have, const model::DiscriminatorConfig& want,
                    const std::string& path) {
    auto have_grouped = have;
    have_grouped.mbstd_group_size = want.mbstd_group_size;  // how D runs, not what it holds
    check_growable_config(have_grouped, want, path, "discriminator");
}

}  // namespace facegen::train
