#include "edit/latent_reach.h"

#include <algorithm>

#include "core/error.h"

namespace facegen::edit {

LatentReach LatentReach::sample(generate::Session& session, const LatentReachOptions& options) {
    if (options.samples < 10) throw make_error("bad reach samples ", options.samples, ": at least 10");
    generate::Request request;
    for (int64_t i = 0; i < options.samples; ++i) request.seeds.push_back(options.first_seed + static_cast<uint32_t>(i));
    request.truncation_psi = 1.0;
    request.batch = 512;
    session.check(request);
    torch::InferenceMode inference;
    std::vector<torch::Tensor> parts;
    for (int64_t begin = 0; begin < options.samples; begin += request.batch) {
        const int64_t n = std::min(request.batch, options.samples - begin);
        parts.push_back(session.ws_for(request, begin, n).select(1, 0).to(torch::kCPU, torch::kFloat32));
    }
    return LatentReach(torch::cat(parts), options.tail);
}

LatentReach::LatentReach(torch::Tensor w_samples, double tail) : w_samples_(std::move(w_samples)), tail_(tail) {
    TORCH_CHECK(w_samples_.dim() == 2 && w_samples_.size(0) >= 10, "expected w samples [N >= 10, w_dim], got ",
                w_samples_.sizes());
    TORCH_CHECK(tail_ > 0 && tail_ < 0.5, "expected a tail in (0, 0.5), got ", tail_);
    w_samples_ = w_samples_.to(torch::kCPU, torch::kFloat32).contiguous();
}

std::pair<double, double> LatentReach::edges_along(const torch::Tensor& unit) const {
    TORCH_CHECK(unit.dim() == 1 && unit.size(0) == w_samples_.size(1), "expected a direction [", w_samples_.size(1),
                "], got ", unit.sizes());
    const torch::Tensor coordinates = w_samples_.mv(unit.to(torch::kCPU, torch::kFloat32));
    const torch::Tensor q = torch::quantile(coordinates.to(torch::kFloat64),
                                            torch::tensor({tail_, 1 - tail_}, torch::kFloat64));
    return {q[0].item<double>(), q[1].item<double>()};
}

torch::Tensor LatentReach::step_limits(const torch::Tensor& ws, const torch::Tensor& unit) const {
    TORCH_CHECK(ws.dim() == 3 && ws.size(2) == w_samples_.size(1), "expected ws [n, num_ws, ", w_samples_.size(1),
                "], got ", ws.sizes());
    const auto [lo, hi] = edges_along(unit);
    const torch::Tensor coordinate =
        ws.to(torch::kCPU, torch::kFloat64).matmul(unit.to(torch::kCPU, torch::kFloat64)).mean(1);  // [n]
    const torch::Tensor down = (lo - coordinate).clamp_max(0);
    const torch::Tensor up = (hi - coordinate).clamp_min(0);
    return torch::stack({down, up}, 1);
}

}  // namespace facegen::edit
