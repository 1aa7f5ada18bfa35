#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>

// How facegen's face CNNs are optimised: Adam (beta2 0.99) with a cosine decay to zero, so
// that the last steps settle instead of bouncing between minima.
namespace facegen::facenet {

inline torch::optim::Adam make_optimizer(torch::nn::Module& net, double learning_rate) {
    return torch::optim::Adam(net.parameters(), torch::optim::AdamOptions(learning_rate).betas({0.9, 0.99}));
}

/// Sets the learning rate of `step` of `steps` on the cosine from `learning_rate` to 0.
inline void set_cosine_learning_rate(torch::optim::Adam& optimizer, double learning_rate, int64_t step, int64_t steps) {
    const double lr = learning_rate * 0.5 * (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(steps)));
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

/// One optimizer step down `loss`; returns the loss value.
inline double descend(torch::optim::Optimizer& optimizer, const torch::Tensor& loss) {
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    return loss.item<double>();
}

/// Exponential average of the recent losses, which progress lines and reports show
/// (a single batch's loss is too noisy to read).
class RecentLoss {
public:
    void add(double loss) {
        value_ = started_ ? 0.98 * value_ + 0.02 * loss : loss;
        started_ = true;
    }
    double value() const { return value_; }

private:
    double value_ = 0;
    bool started_ = false;
};

}  // namespace facegen::facenet
