#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace facegen::metrics {

/// Frechet distance between two Gaussians (FID, Heusel et al. 2017):
///   |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)),
/// in float64. tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues
/// of the symmetric PSD matrix S1^(1/2) S2 S1^(1/2) (it has the same eigenvalues as S1 S2),
/// with both eigendecompositions by torch::linalg_eigh and eigenvalues below zero (round-off
/// of rank-deficient covariances) clamped to 0. This avoids scipy.linalg.sqrtm's complex
/// intermediate results on near-singular products; the two agree to ~1e-6 relative.
/// mu: [D], sigma: [D, D] symmetric PSD.
double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                        const torch::Tensor& sigma2);

/// Kernel Inception Distance (Binkowski et al. 2018), official defaults.
struct KIDOptions {
    int64_t num_subsets = 100;       // official metrics/kernel_inception_distance.py
    int64_t max_subset_size = 1000;  // ditto
    void validate() const;
};

/// Unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, averaged over
/// num_subsets random subsets of m = min(N_a, N_b, max_subset_size) rows of each set
/// (drawn without replacement, seeded). float64 throughout.
/// features_a: [N_a, D], features_b: [N_b, D]
double kernel_inception_distance(const torch::Tensor& features_a, const torch::Tensor& features_b,
                                 const KIDOptions& options = {}, uint64_t seed = 0);

}  // namespace facegen::metrics
