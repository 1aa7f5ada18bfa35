#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/pack.h"

namespace facegen::data {

/// The audit of `facegen dataset stats` as JSON (layout in docs/dataset.md):
///   counts      per label column: age bands 0-9 ... 80+, named classes, attribute yes/no,
///               identity count and images per identity; absent when there are no labels
///   image       per-channel mean/std (0..255) and a 32-bin luma histogram
///   alignment   histograms of eye distance, roll, detector score, padding share, source scale
///   split, build  counts from the index (packed datasets only)
nlohmann::json dataset_stats(const PackedDataset& dataset, const core::ProgressCallback& progress = nullptr);

/// The same audit for a folder of images (e.g. generated faces): decoded, no labels or
/// alignment figures. Files that do not decode are counted under "skipped".
nlohmann::json folder_stats(const std::filesystem::path& folder, const core::ProgressCallback& progress = nullptr);

/// A grid of the first n_columns x n_rows images (evenly spaced through the dataset) as PNG bytes.
std::string preview_grid_png(const PackedDataset& dataset, int64_t n_columns = 12, int64_t n_rows = 6);

/// A self-contained HTML page (inline CSS and SVG charts, the optional preview PNG inlined
/// as a data URI; no scripts or external files).
std::string stats_html(const nlohmann::json& stats, const std::string& title, const std::string& preview_png = "");

}  // namespace facegen::data
