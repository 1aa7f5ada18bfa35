#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "synth/balance.h"

namespace facegen::synth {

/// A self-contained SVG bar chart of achieved against requested images: one panel per
/// balanced group (its classes' totals), then one panel with every cell.
std::string balance_chart_svg(const CellGrid& grid, const std::vector<int64_t>& requested,
                              const std::vector<int64_t>& achieved, const std::string& title);

}  // namespace facegen::synth
