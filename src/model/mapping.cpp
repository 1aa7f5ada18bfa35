#include "model/mapping.h"

#include "model/truncation.h"

#include <string>

namespace facegen::model {

MappingNetworkImpl::MappingNetworkImpl(MappingNetworkOptions options) : options_(options) {
    TORCH_CHECK(options.z_dim() > 0 || options.c_dim() > 0, "MappingNetwork: needs z_dim or c_dim > 0");
    TORCH_CHECK(options.n_layers() > 0, "MappingNetwork: n_layers must be positive, got ", options.n_layers());
    const int64_t embed_features = options.c_dim() > 0 ? options.w_dim() : 0;
    if (options.c_dim() > 0) {
        embed = register_module("embed", layers::FullyConnectedLayer(
                                             layers::FullyConnectedLayerOptions(options.c_dim(), embed_features)));
    }
    int64_t in_features = options.z_dim() + embed_features;
    for (int64_t i = 0; i < options.n_layers(); ++i) {
        auto layer = layers::FullyConnectedLayer(layers::FullyConnectedLayerOptions(in_features, options.w_dim())
                                                     .activation(layers::Activation::LReLU)
                                                     .lr_multiplier(options.lr_multiplier()));
        register_module("fc" + std::to_string(i), layer);
        fcs->push_back(layer);
        in_features = options.w_dim();
    }
    if (options.w_avg_beta() > 0) w_avg = register_buffer("w_avg", torch::zeros({options.w_dim()}));
}

torch::Tensor MappingNetworkImpl::forward(const torch::Tensor& z, const torch::Tensor& c, double truncation_psi,
                                          std::optional<int64_t> truncation_cutoff, bool update_w_avg) {
    torch::Tensor x;
    if (options_.z_dim() > 0) {
        TORCH_CHECK(z.defined() && z.dim() == 2 && z.size(1) == options_.z_dim(), "MappingNetwork: expected z [N, ",
                    options_.z_dim(), "], got ", z.defined() ? z.sizes() : torch::IntArrayRef{});
        x = layers::normalize_2nd_moment(z.to(torch::kFloat32));
    }
    if (options_.c_dim() > 0) {
        TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(1) == options_.c_dim() && (!x.defined() || c.size(0) == x.size(0)),
                    "MappingNetwork: expected c [N, ", options_.c_dim(), "], got ",
                    c.defined() ? c.sizes() : torch::IntArrayRef{});
        torch::Tensor y = layers::normalize_2nd_moment(embed->forward(c.to(torch::kFloat32)));
        x = x.defined() ? torch::cat({x, y}, /*dim=*/1) : y;
    }
    for (const auto& module : *fcs) x = module->as<layers::FullyConnectedLayerImpl>()->forward(x);

    if (update_w_avg && w_avg.defined()) {
        torch::NoGradGuard no_grad;
        w_avg.copy_(x.detach().mean(/*dim=*/0).lerp(w_avg, options_.w_avg_beta()));
    }
    if (options_.num_ws() > 0) x = x.unsqueeze(1).repeat({1, options_.num_ws(), 1});

    if (truncation_psi != 1.0) {
        TORCH_CHECK(w_avg.defined(), "MappingNetwork: truncation needs the tracked w_avg (w_avg_beta > 0)");
        x = truncate(x, w_avg, truncation_psi, truncation_cutoff);
    }
    return x;
}

}  // namespace facegen::model
