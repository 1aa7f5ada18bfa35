#include "train/augment/ada_controller.h"

#include "core/error.h"

#include <cmath>

namespace facegen::train {

void AdaOptions::validate() const {
    if (!(target_ >= -1 && target_ <= 1)) throw make_error("ADA target must be in [-1, 1], got ", target_);
    if (interval_ < 1) throw make_error("ADA interval must be >= 1 minibatch, got ", interval_);
    if (!(kimg_ > 0)) throw make_error("ADA kimg must be > 0, got ", kimg_);
}

AdaptiveAugmentController::AdaptiveAugmentController(AdaOptions options, double initial_p)
    : options_(std::move(options)), accumulators_(torch::zeros({2}, torch::kFloat64)) {
    options_.validate();
    set_p(initial_p);
}

void AdaptiveAugmentController::set_p(double p) {
    TORCH_CHECK(p >= 0 && std::isfinite(p), "AdaptiveAugmentController: p must be finite and >= 0, got ", p);
    p_ = p;
}

void AdaptiveAugmentController::accumulate(const torch::Tensor& real_logits) {
    TORCH_CHECK(real_logits.defined() && real_logits.is_floating_point(),
                "AdaptiveAugmentController::accumulate: expected floating real logits, got ",
                real_logits.defined() ? real_logits.sizes() : at::IntArrayRef{});
    const torch::Tensor logits = real_logits.detach();
    if (accumulators_.device() != logits.device()) accumulators_ = accumulators_.to(logits.device());
    const torch::Tensor sign_sum = logits.sign().sum().to(torch::kFloat64);
    accumulators_.select(0, 0).add_(sign_sum);
    accumulators_.select(0, 1).add_(static_cast<double>(logits.numel()));
}

bool AdaptiveAugmentController::due(int64_t n_batches_done) const {
    return n_batches_done > 0 && n_batches_done % options_.interval() == 0;
}

AdaAdjustment AdaptiveAugmentController::adjust(int64_t batch_size) {
    TORCH_CHECK(batch_size > 0, "AdaptiveAugmentController::adjust: batch_size must be > 0, got ", batch_size);
    const torch::Tensor host = accumulators_.to(torch::kCPU);
    const double sign_sum = host[0].item<double>(), count = host[1].item<double>();
    accumulators_.zero_();
    AdaAdjustment result;
    result.p = p_;
    if (count <= 0) return result;
    result.adjusted = true;
    result.r_t = sign_sum / count;
    const double direction = static_cast<double>((result.r_t > options_.target()) - (result.r_t < options_.target()));
    result.step = direction * static_cast<double>(batch_size * options_.interval()) / (options_.kimg() * 1000);
    p_ = std::max(p_ + result.step, 0.0);
    result.p = p_;
    return result;
}

AdaState AdaptiveAugmentController::state() const {
    const torch::Tensor host = accumulators_.to(torch::kCPU);
    return AdaState{p_, host[0].item<double>(), host[1].item<double>()};
}

void AdaptiveAugmentController::load_state(const AdaState& state) {
    set_p(state.p);
    TORCH_CHECK(state.count >= 0, "AdaptiveAugmentController::load_state: negative count ", state.count);
    accumulators_ = torch::tensor({state.sign_sum, state.count}, torch::kFloat64).to(accumulators_.device());
}

}  // namespace facegen::train
