#include "train/adam.h"

#include <cmath>

namespace facegen::train {

AdamHyper lazy_regularization_corrected(AdamHyper hyper, int64_t reg_interval) {
    if (reg_interval <= 0) return hyper;
    const double mb_ratio = double(reg_interval) / double(reg_interval + 1);
    hyper.lr *= mb_ratio;
    hyper.beta1 = std::pow(hyper.beta1, mb_ratio);
    hyper.beta2 = std::pow(hyper.beta2, mb_ratio);
    return hyper;
}

Adam::Adam(std::vector<std::pair<std::string, torch::Tensor>> params, AdamHyper hyper)
    : params_(std::move(params)), hyper_(hyper) {
    for (const auto& [name, param] : params_) {
        TORCH_CHECK(param.defined(), "Adam: parameter '", name, "' is undefined");
        state_[name] = AdamParamState{0, torch::zeros_like(param, torch::MemoryFormat::Preserve),
                                      torch::zeros_like(param, torch::MemoryFormat::Preserve)};
    }
}

void Adam::zero_grad() {
    for (auto& [name, param] : params_) param.mutable_grad() = torch::Tensor();
}

void Adam::step() {
    torch::NoGradGuard no_grad;
    for (auto& [name, param] : params_) {
        torch::Tensor grad = param.grad();
        if (!grad.defined()) continue;
        torch::nan_to_num_(grad, /*nan=*/0.0, /*posinf=*/1e5, /*neginf=*/-1e5);
        AdamParamState& s = state_.at(name);
        s.step += 1;
        const double bias_correction1 = 1.0 - std::pow(hyper_.beta1, double(s.step));
        const double bias_correction2 = 1.0 - std::pow(hyper_.beta2, double(s.step));
        s.exp_avg.mul_(hyper_.beta1).add_(grad, 1.0 - hyper_.beta1);
        s.exp_avg_sq.mul_(hyper_.beta2).addcmul_(grad, grad, 1.0 - hyper_.beta2);
        const torch::Tensor denom = (s.exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(hyper_.eps);
        param.addcdiv_(s.exp_avg, denom, -hyper_.lr / bias_correction1);
    }
}

}  // namespace facegen::train
