#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "generate/session.h"

// How far an edit may go: the edge of the model's own W distribution along a direction.
// A linear step in W has no end, but the faces a model draws lie in a bounded cloud; a w
// pushed beyond its edge along a direction is not a face the model learned (a long age
// step gives orange and purple smears, not an older person). The edge is measured by
// sampling the model's w (untruncated: everything it can draw) and taking quantiles of
// their coordinate along the direction; edits are clamped to stay inside.
namespace facegen::edit {

struct LatentReachOptions {
    /// w sampled to find the edges (4,096: the 1% quantile of a coordinate to within
    /// about 0.05 standard deviations).
    int64_t samples = 4096;
    /// Seeds first_seed .. first_seed + samples - 1, apart from the seeds directions are
    /// fitted (0-19,999) and measured on (1,000,000-).
    uint32_t first_seed = 3'000'000;
    /// Fraction of the model's faces left outside at each end: an edit goes no further
    /// along its direction than the most extreme 1% of the model's own faces.
    double tail = 0.01;
};

class LatentReach {
public:
    /// Samples the model's untruncated w. Takes ~0.1 s for 4,096 (the mapping network only).
    static LatentReach sample(generate::Session& session, const LatentReachOptions& options = {});
    /// From w samples [N, w_dim] (N >= 10).
    LatentReach(torch::Tensor w_samples, double tail);

    /// [lo, hi]: the coordinate w . unit of all but the `tail` fraction at each end.
    std::pair<double, double> edges_along(const torch::Tensor& unit) const;

    /// Per face of ws [n, num_ws, w_dim], the interval [lo, hi] (float64 [n, 2]) of step
    /// lengths along `unit` that keep the face inside the edges (its coordinate averaged
    /// over layers). A face already outside may move back in but not further out.
    torch::Tensor step_limits(const torch::Tensor& ws, const torch::Tensor& unit) const;

private:
    torch::Tensor w_samples_;  // float32 [N, w_dim], CPU
    double tail_;
};

}  // namespace facegen::edit
