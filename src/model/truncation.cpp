#include "model/truncation.h"

#include <torch/torch.h>

namespace facegen::model {

torch::Tensor truncate(const torch::Tensor& w, const torch::Tensor& w_avg, double psi, std::optional<int64_t> cutoff) {
    if (psi == 1.0) return w;
    TORCH_CHECK(w.dim() == 2 || w.dim() == 3, "truncate: expected w [N, w_dim] or ws [N, num_ws, w_dim], got ",
                w.sizes());
    TORCH_CHECK(w_avg.defined() && w_avg.dim() == 1 && w_avg.size(0) == w.size(-1), "truncate: expected w_avg [",
                w.size(-1), "], got ", w_avg.defined() ? w_avg.sizes() : torch::IntArrayRef{});
    TORCH_CHECK(!cutoff || *cutoff >= 0, "truncate: cutoff must be >= 0, got ", *cutoff);
    const torch::Tensor avg = w_avg.to(w.dtype());
    const int64_t num_ws = w.dim() == 3 ? w.size(1) : 0;
    if (num_ws == 0 || !cutoff || *cutoff >= num_ws) return avg.lerp(w, psi);
    const torch::Tensor head = avg.lerp(w.narrow(1, 0, *cutoff), psi);
    return torch::cat({head, w.narrow(1, *cutoff, num_ws - *cutoff)}, /*dim=*/1);
}

}  // namespace facegen::model
