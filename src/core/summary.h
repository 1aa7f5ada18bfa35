#pragma once

#include <cstddef>
#include <vector>

// Summary figures of a list of measurements (distances, scores, times), computed one way
// for every report: the dataset statistics, the benchmarks and the measure commands.
namespace facegen::core {

/// Quantile q (0..1) of sorted, non-empty values, interpolated linearly between the two
/// nearest ranks (numpy's default rule, so figures match a notebook's).
double quantile_of_sorted(const std::vector<double>& sorted, double q);

struct Summary {
    size_t n = 0;
    double mean = 0;
    double min = 0;
    double p05 = 0;
    double p10 = 0;
    double median = 0;
    double p95 = 0;
    double max = 0;
};

/// The summary of `values` in any order; all figures 0 when there are none (n = 0).
Summary summarize(std::vector<double> values);

}  // namespace facegen::core
