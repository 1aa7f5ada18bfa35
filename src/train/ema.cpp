#include "train/ema.h"

#include <algorithm>
#include <cmath>

namespace facegen::train {

double ema_beta(int64_t batch, double ema_kimg, double ema_rampup, int64_t cur_nimg) {
    double ema_nimg = ema_kimg * 1000.0;
    if (ema_rampup > 0) ema_nimg = std::min(ema_nimg, double(cur_nimg) * ema_rampup);
    return std::pow(0.5, double(batch) / std::max(ema_nimg, 1e-8));
}

void update_ema(model::Generator& g_ema, model::Generator& g, double beta) {
    torch::NoGradGuard no_grad;
    const auto ema_params = g_ema->named_parameters(/*recurse=*/true);
    const auto params = g->named_parameters(/*recurse=*/true);
    TORCH_CHECK(ema_params.size() == params.size(), "update_ema: generators differ (", ema_params.size(), " vs ",
                params.size(), " parameters)");
    for (const auto& item : params) {
        torch::Tensor target = ema_params[item.key()];
        target.copy_(item.value().lerp(target, beta));
    }
    const auto ema_buffers = g_ema->named_buffers(/*recurse=*/true);
    for (const auto& item : g->named_buffers(/*recurse=*/true)) {
        torch::Tensor target = ema_buffers[item.key()];
        target.copy_(item.value());
    }
}

}  // namespace facegen::train
