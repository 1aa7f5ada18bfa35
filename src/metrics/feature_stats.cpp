#include "metrics/feature_stats.h"

#include "core/error.h"

namespace facegen::metrics {

void FeatureStats::append(const torch::Tensor& features) {
    // features: [N, D]
    TORCH_CHECK(features.dim() == 2, "FeatureStats: expected features [N, D], got ", features.sizes());
    TORCH_CHECK(features.is_floating_point(), "FeatureStats: expected float features, got ",
                features.scalar_type());
    if (dim_ < 0) {
        dim_ = features.size(1);
        if (capture_mean_cov_) {
            raw_sum_ = torch::zeros({dim_}, torch::kDouble);
            raw_cov_ = torch::zeros({dim_, dim_}, torch::kDouble);
        }
    }
    TORCH_CHECK(features.size(1) == dim_, "FeatureStats: expected features [N, ", dim_, "], got ",
                features.sizes());
    if (features.size(0) == 0) return;
    const auto x = features.detach().to(torch::kCPU, torch::kDouble);
    if (!torch::isfinite(x).all().item<bool>())
        throw make_error("feature network returned non-finite features (NaN or Inf)");
    if (capture_mean_cov_) {
        raw_sum_ += x.sum(0);
        raw_cov_ += x.t().mm(x);
    }
    if (capture_all_) rows_.push_back(x.to(torch::kFloat32));
    n_ += features.size(0);
}

torch::Tensor FeatureStats::mean() const {
    TORCH_CHECK(capture_mean_cov_ && n_ > 0, "FeatureStats::mean: no statistics captured");
    return raw_sum_ / static_cast<double>(n_);
}

torch::Tensor FeatureStats::covariance() const {
    TORCH_CHECK(capture_mean_cov_ && n_ > 0, "FeatureStats::covariance: no statistics captured");
    const auto mu = mean();
    return raw_cov_ / static_cast<double>(n_) - torch::outer(mu, mu);
}

torch::Tensor FeatureStats::all() const {
    TORCH_CHECK(capture_all_ && n_ > 0, "FeatureStats::all: no features captured");
    return torch::cat(rows_, 0);
}

}  // namespace facegen::metrics
