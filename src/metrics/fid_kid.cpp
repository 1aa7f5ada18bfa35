#include "metrics/fid_kid.h"

#include <algorithm>

#include "core/error.h"
#include "core/random_stream.h"

namespace facegen::metrics {
namespace {

// Symmetric PSD square root via eigh; tiny negative eigenvalues (round-off) clamp to 0.
torch::Tensor psd_sqrt(const torch::Tensor& sym) {
    const auto [values, vectors] = torch::linalg_eigh(sym);
    return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).mm(vectors.t());
}

torch::Tensor symmetrized(const torch::Tensor& m) { return (m + m.t()) * 0.5; }

}  // namespace

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                        const torch::Tensor& sigma2) {
    // mu: [D], sigma: [D, D]
    TORCH_CHECK(mu1.dim() == 1 && mu1.sizes() == mu2.sizes(), "frechet_distance: expected means [D], got ",
                mu1.sizes(), " and ", mu2.sizes());
    const int64_t d = mu1.size(0);
    TORCH_CHECK(sigma1.dim() == 2 && sigma1.size(0) == d && sigma1.size(1) == d && sigma2.sizes() == sigma1.sizes(),
                "frechet_distance: expected covariances [", d, ", ", d, "], got ", sigma1.sizes(), " and ",
                sigma2.sizes());
    torch::NoGradGuard no_grad;
    const auto m1 = mu1.to(torch::kCPU, torch::kDouble), m2 = mu2.to(torch::kCPU, torch::kDouble);
    const auto s1 = symmetrized(sigma1.to(torch::kCPU, torch::kDouble));
    const auto s2 = symmetrized(sigma2.to(torch::kCPU, torch::kDouble));
    const auto s1_half = psd_sqrt(s1);
    const auto product = symmetrized(s1_half.mm(s2).mm(s1_half));
    const auto eigenvalues = torch::linalg_eigvalsh(product);
    const double trace_sqrt = eigenvalues.clamp_min(0).sqrt().sum().item<double>();
    const double mean_term = (m1 - m2).square().sum().item<double>();
    return mean_term + s1.trace().item<double>() + s2.trace().item<double>() - 2.0 * trace_sqrt;
}

void KIDOptions::validate() const {
    if (num_subsets < 1) throw make_error("KID num_subsets must be >= 1, got ", num_subsets);
    if (max_subset_size < 2) throw make_error("KID max_subset_size must be >= 2, got ", max_subset_size);
}

double kernel_inception_distance(const torch::Tensor& features_a, const torch::Tensor& features_b,
                                 const KIDOptions& options, uint64_t seed) {
    // features: [N_a, D], [N_b, D]
    options.validate();
    TORCH_CHECK(features_a.dim() == 2 && features_b.dim() == 2 && features_a.size(1) == features_b.size(1),
                "kernel_inception_distance: expected features [N_a, D] and [N_b, D], got ", features_a.sizes(),
                " and ", features_b.sizes());
    const int64_t n_a = features_a.size(0), n_b = features_b.size(0);
    const int64_t m = std::min({n_a, n_b, options.max_subset_size});
    if (m < 2) throw make_error("KID needs at least 2 feature vectors per set, got ", n_a, " and ", n_b);
    torch::NoGradGuard no_grad;
    const auto a = features_a.to(torch::kCPU, torch::kDouble);
    const auto b = features_b.to(torch::kCPU, torch::kDouble);
    const double d = static_cast<double>(a.size(1));
    // t * t * t rather than pow(3): the generic pow kernel is ~20x slower on CPU.
    auto kernel = [d](const torch::Tensor& x, const torch::Tensor& y) {
        auto t = x.mm(y.t()).div_(d).add_(1.0);
        return t * t * t;
    };
    core::RandomStream stream(core::mix_seed(seed, 0x6b6964, 0));
    double total = 0;
    for (int64_t subset = 0; subset < options.num_subsets; ++subset) {
        const auto x = a.index_select(0, core::sample_without_replacement(n_a, m, stream));
        const auto y = b.index_select(0, core::sample_without_replacement(n_b, m, stream));
        const auto k_xx_yy = kernel(x, x) + kernel(y, y);
        const double within = (k_xx_yy.sum() - k_xx_yy.diagonal().sum()).item<double>() / static_cast<double>(m - 1);
        const double across = kernel(x, y).sum().item<double>() * 2.0 / static_cast<double>(m);
        total += within - across;
    }
    return total / static_cast<double>(options.num_subsets) / static_cast<double>(m);
}

}  // namespace facegen::metrics
