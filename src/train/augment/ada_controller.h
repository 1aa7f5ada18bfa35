#pragma once

#include <torch/torch.h>

namespace facegen::train {

/// Options of the adaptive augmentation heuristic (Karras et al. 2020, sec. 3).
struct AdaOptions {
    /// Target of r_t = E[sign(D(real))]. Default: 0.6 (ADA paper, sec. 3; official --target)
    TORCH_ARG(double, target) = 0.6;
    /// Minibatches between two adjustments of p. Default: 4 (official ada_interval)
    TORCH_ARG(int64_t, interval) = 4;
    /// Thousands of images it takes p to move by one unit. Default: 500 (official ada_kimg;
    /// the official train.py uses 100 when resuming from a pickle, for transfer learning)
    TORCH_ARG(double, kimg) = 500;

public:
    /// Throws facegen::Error naming the field and value when out of range.
    void validate() const;
};

/// Checkpointable state of the controller (host values).
struct AdaState {
    double p = 0;
    double sign_sum = 0;  // sum of sign(D(real logits)) since the last adjustment
    double count = 0;     // number of logits summed
};

/// What one adjustment did.
struct AdaAdjustment {
    bool adjusted = false;  // false when no logits were accumulated (p unchanged)
    double r_t = 0;         // mean sign of the real logits over the interval
    double step = 0;        // signed change before the clamp at 0
    double p = 0;           // p after the adjustment
};

/// The ADA p update of the official training loop: accumulate sign(D(real)) over the
/// interval, then p <- max(0, p + sign(r_t - target) * batch_size * interval / (kimg * 1000)).
/// p is only clamped below, as in the official code.
///
/// Distributed training: call accumulate() on every rank, then all-reduce (sum)
/// accumulators() in place on every rank before adjust(), passing the global batch size.
class AdaptiveAugmentController {
public:
    explicit AdaptiveAugmentController(AdaOptions options = {}, double initial_p = 0);

    /// Adds the signs of a batch of real-image logits; stays on the logits' device (no
    /// host synchronisation). The official loop reports them in both the D main and the R1
    /// phases; call it wherever the trainer evaluates D on reals, to match.
    void accumulate(const torch::Tensor& real_logits);

    /// True when `n_batches_done` (minibatches finished, counted from 1) ends an interval.
    bool due(int64_t n_batches_done) const;

    /// Applies the update from the accumulated signs and clears the accumulators.
    /// batch_size: images per minibatch over all ranks.
    AdaAdjustment adjust(int64_t batch_size);

    /// [2] float64 tensor {sign_sum, count} on the device of the last accumulated logits
    /// (CPU before the first call); all-reduce it in place across ranks.
    torch::Tensor& accumulators() { return accumulators_; }

    double p() const { return p_; }
    void set_p(double p);
    const AdaOptions& options() const { return options_; }

    AdaState state() const;
    void load_state(const AdaState& state);

private:
    AdaOptions options_;
    double p_ = 0;
    torch::Tensor accumulators_;
};

}  // namespace facegen::train
