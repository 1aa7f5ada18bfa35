#include "core/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <c10/util/Exception.h>

namespace facegen::core {

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
    TORCH_CHECK(!sorted.empty(), "quantile_of_sorted: no values");
    TORCH_CHECK(q >= 0 && q <= 1, "quantile_of_sorted: q ", q, " outside 0..1");
    const double at = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(at));
    const size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - static_cast<double>(lo));
}

Summary summarize(std::vector<double> values) {
    Summary summary;
    if (values.empty()) return summary;
    std::sort(values.begin(), values.end());
    summary.n = values.size();
    summary.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    summary.min = values.front();
    summary.p05 = quantile_of_sorted(values, 0.05);
    summary.p10 = quantile_of_sorted(values, 0.10);
    summary.median = quantile_of_sorted(values, 0.5);
    summary.p95 = quantile_of_sorted(values, 0.95);
    summary.max = values.back();
    return summary;
}

}  // namespace facegen::core
