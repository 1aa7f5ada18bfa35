#include "model/generator.h"

namespace facegen::model {

GeneratorImpl::GeneratorImpl(GeneratorConfig config) : config_(std::move(config)) {
    config_.validate();
    synthesis_ = register_module("synthesis", SynthesisNetwork(config_));
    mapping_ = register_module("mapping", MappingNetwork(MappingNetworkOptions(config_.z_dim, config_.c_dim, config_.w_dim)
                                                             .num_ws(config_.num_ws())
                                                             .n_layers(config_.n_mapping_layers)
                                                             .lr_multiplier(config_.mapping_lr_multiplier)
                                                             .w_avg_beta(config_.w_avg_beta)));
}

torch::Tensor GeneratorImpl::map(const torch::Tensor& z, const torch::Tensor& c, double truncation_psi,
                                 std::optional<int64_t> truncation_cutoff, bool update_w_avg) {
    return mapping_->forward(z, c, truncation_psi, truncation_cutoff, update_w_avg);
}

torch::Tensor GeneratorImpl::synthesize(const torch::Tensor& ws, const SynthesisOptions& options,
                                        Intermediates* intermediates) {
    return synthesis_->forward(ws, options, intermediates);
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& c, double truncation_psi,
                                     std::optional<int64_t> truncation_cutoff, const SynthesisOptions& options) {
    return synthesize(map(z, c, truncation_psi, truncation_cutoff), options);
}

torch::Tensor GeneratorImpl::w_avg() const {
    TORCH_CHECK(mapping_->w_avg.defined(), "Generator: no w_avg tracked (w_avg_beta == 0)");
    return mapping_->w_avg;
}

}  // namespace facegen::model
