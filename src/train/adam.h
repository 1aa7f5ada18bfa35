#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace facegen::train {

/// Adam hyper-parameters after the lazy-regularisation correction (StyleGAN2 paper,
/// sec. 3.1; official training_loop.py): when the regulariser runs every `interval`
/// minibatches, mb_ratio = interval / (interval + 1), lr *= mb_ratio, betas **= mb_ratio.
/// interval 0 (no lazy regularisation) leaves the values unchanged.
struct AdamHyper {
    double lr = 0.0025;
    double beta1 = 0;
    double beta2 = 0.99;
    double eps = 1e-8;
};
AdamHyper lazy_regularization_corrected(AdamHyper hyper, int64_t reg_interval);

/// Per-parameter Adam state, as torch.optim.Adam keeps it.
struct AdamParamState {
    int64_t step = 0;
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
};

/// Adam with exactly torch.optim.Adam's update (bias-corrected, eps added after the square
/// root) over named parameters. Owned here rather than torch::optim::Adam so the state is
/// addressable by parameter name for checkpoints and identical across LibTorch versions.
/// Parameters whose grad is undefined are skipped (their step count does not advance).
class Adam {
public:
    Adam(std::vector<std::pair<std::string, torch::Tensor>> params, AdamHyper hyper);
    void zero_grad();
    /// Replaces NaN/inf in the grads (official misc.nan_to_num: nan 0, +-1e5), then updates.
    void step();
    const AdamHyper& hyper() const { return hyper_; }
    const std::vector<std::pair<std::string, torch::Tensor>>& params() const { return params_; }
    std::map<std::string, AdamParamState>& state() { return state_; }
    const std::map<std::string, AdamParamState>& state() const { return state_; }

private:
    std::vector<std::pair<std::string, torch::Tensor>> params_;
    AdamHyper hyper_;
    std::map<std::string, AdamParamState> state_;
};

}  // namespace facegen::train
