#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace facegen::metrics {

/// Streaming statistics of feature vectors [N, D]: running sum and sum of outer products
/// in float64 (as the official metric_utils.FeatureStats), and optionally every feature
/// row (KID needs them; 8 KB per image for 2048-D float32 features).
class FeatureStats {
public:
    explicit FeatureStats(bool capture_all = true, bool capture_mean_cov = true)
        : capture_all_(capture_all), capture_mean_cov_(capture_mean_cov) {}
    /// features: [N, D], any float dtype and device; D fixed by the first call.
    void append(const torch::Tensor& features);
    int64_t n() const { return n_; }
    int64_t dim() const { return dim_; }
    /// float64 [D]
    torch::Tensor mean() const;
    /// float64 [D, D]: population covariance (divides by N, as the official get_mean_cov).
    torch::Tensor covariance() const;
    /// float32 [N, D]: every captured row, in order.
    torch::Tensor all() const;

private:
    bool capture_all_;
    bool capture_mean_cov_;
    int64_t n_ = 0;
    int64_t dim_ = -1;
    torch::Tensor raw_sum_;  // [D] float64
    torch::Tensor raw_cov_;  // [D, D] float64, sum of x x^T
    std::vector<torch::Tensor> rows_;
};

}  // namespace facegen::metrics
