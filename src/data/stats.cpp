#include "data/stats.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/image_grid.h"
#include "core/png_io.h"
#include "core/summary.h"
#include "data/image_io.h"
#include "data/sources.h"

namespace facegen::data {
namespace {

constexpr int kBrightnessBins = 32;

// Running per-channel moments and a luma histogram over 0..255 pixels.
struct PixelStats {
    double sum[3] = {0, 0, 0};
    double sum_sq[3] = {0, 0, 0};
    double n = 0;
    std::vector<int64_t> luma_hist = std::vector<int64_t>(kBrightnessBins, 0);

    void add_chw(const uint8_t* chw, int64_t plane) {
        // Sums per image in integers, then into doubles: exact and fast.
        int64_t s[3] = {0, 0, 0}, q[3] = {0, 0, 0};
        for (int64_t i = 0; i < plane; ++i) {
            const int r = chw[i], g = chw[plane + i], b = chw[2 * plane + i];
            s[0] += r, s[1] += g, s[2] += b;
            q[0] += r * r, q[1] += g * g, q[2] += b * b;
            const int luma = (299 * r + 587 * g + 114 * b) / 1000;  // ITU-R BT.601
            ++luma_hist[static_cast<size_t>(luma * kBrightnessBins / 256)];
        }
        for (int c = 0; c < 3; ++c) sum[c] += static_cast<double>(s[c]), sum_sq[c] += static_cast<double>(q[c]);
        n += static_cast<double>(plane);
    }
    void add_hwc(const RgbImage& image) {
        const int64_t plane = image.width * image.height;
        std::vector<uint8_t> chw(static_cast<size_t>(plane * 3));
        for (int64_t i = 0; i < plane; ++i) {
            for (int64_t c = 0; c < 3; ++c) chw[static_cast<size_t>(c * plane + i)] = image.pixels[static_cast<size_t>(i * 3 + c)];
        }
        add_chw(chw.data(), plane);
    }
    nlohmann::json to_json() const {
        nlohmann::json mean = nlohmann::json::array(), stddev = nlohmann::json::array();
        for (int c = 0; c < 3; ++c) {
            const double m = n > 0 ? sum[c] / n : 0;
            mean.push_back(m);
            stddev.push_back(n > 0 ? std::sqrt(std::max(0.0, sum_sq[c] / n - m * m)) : 0);
        }
        return {{"channels", {"r", "g", "b"}},
                {"mean", mean},
                {"std", stddev},
                {"brightness_histogram", {{"lo", 0}, {"hi", 256}, {"counts", luma_hist}}}};
    }
};

nlohmann::json histogram(std::vector<double> values, int n_bins, std::optional<std::pair<double, double>> range = {}) {
    if (values.empty()) return {{"n", 0}};
    std::sort(values.begin(), values.end());
    double lo = range ? range->first : values.front();
    double hi = range ? range->second : values.back();
    if (hi <= lo) hi = lo + 1;
    std::vector<int64_t> counts(static_cast<size_t>(n_bins), 0);
    for (double v : values) {
        const auto bin = static_cast<int64_t>(std::floor((v - lo) / (hi - lo) * n_bins));
        ++counts[static_cast<size_t>(std::clamp<int64_t>(bin, 0, n_bins - 1))];
    }
    const core::Summary s = core::summarize(std::move(values));
    return {{"n", s.n},           {"mean", s.mean}, {"min", s.min}, {"p05", s.p05},    {"median", s.median},
            {"p95", s.p95},       {"max", s.max},   {"lo", lo},     {"hi", hi},        {"counts", counts}};
}

std::string age_band(int64_t age) {
    if (age >= 80) return "80+";
    const int64_t lo = age / 10 * 10;
    return std::to_string(lo) + "-" + std::to_string(lo + 9);
}

nlohmann::json label_counts(const PackIndex& index) {
    nlohmann::json counts = nlohmann::json::object();
    for (size_t c = 0; c < index.label_columns.size(); ++c) {
        const LabelColumn& column = index.label_columns[c];
        std::map<std::string, int64_t> by_value;
        int64_t unknown = 0;
        std::map<int64_t, int64_t> per_identity;
        for (const auto& row : index.labels) {
            const int64_t v = row[c];
            if (v == kUnknownLabel) {
                ++unknown;
            } else if (!column.classes.empty()) {
                ++by_value[v < static_cast<int64_t>(column.classes.size()) ? column.classes[static_cast<size_t>(v)] : std::to_string(v)];
            } else if (column.name == "age") {
                ++by_value[age_band(v)];
            } else if (column.name == "identity") {
                ++per_identity[v];
            } else {
                ++by_value[std::to_string(v)];
            }
        }
        nlohmann::json entry;
        if (column.name == "identity") {
            std::vector<double> sizes;
            for (const auto& [id, n] : per_identity) sizes.push_back(static_cast<double>(n));
            entry = {{"kind", "identity"}, {"n_identities", per_identity.size()},
                     {"images_per_identity", histogram(sizes, 10)}};
        } else {
            nlohmann::json values = nlohmann::json::object();
            if (column.name == "age" && column.classes.empty()) {
                // Bands in age order, including empty ones, so charts of two datasets line up.
                for (int64_t lo = 0; lo <= 80; lo += 10) {
                    const std::string band = age_band(lo);
                    values[band] = by_value.count(band) ? by_value[band] : 0;
                }
                entry["kind"] = "age_bands";
                entry["order"] = {"0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"};
            } else if (!column.classes.empty()) {
                for (const auto& name : column.classes) values[name] = by_value.count(name) ? by_value[name] : 0;
                entry["kind"] = "classes";
                entry["order"] = column.classes;
            } else {
                for (const auto& [name, n] : by_value) values[name] = n;
                entry["kind"] = "values";
            }
            entry["counts"] = values;
        }
        entry["unknown"] = unknown;
        counts[column.name] = entry;
    }
    return counts;
}

nlohmann::json alignment_stats(const std::vector<nlohmann::json>& provenance) {
    std::vector<double> eye, roll, score, pad, scale;
    std::map<std::string, int64_t> conversions;
    int64_t n_exif = 0;
    for (const auto& p : provenance) {
        if (p.contains("quality")) {
            const auto& q = p["quality"];
            eye.push_back(q.value("eye_distance", 0.0));
            roll.push_back(q.value("roll_deg", 0.0));
            score.push_back(q.value("detector_score", 0.0));
            pad.push_back(q.value("pad_fraction", 0.0));
            scale.push_back(q.value("source_scale", 0.0));
        }
        if (p.contains("converted")) {
            for (const auto& c : p["converted"]) ++conversions[c.get<std::string>()];
        }
        if (p.contains("exif_orientation")) ++n_exif;
    }
    nlohmann::json out = {{"n_with_face", eye.size()}, {"n_exif_rotated", n_exif}, {"conversions", conversions}};
    if (!eye.empty()) {
        out["eye_distance_px"] = histogram(eye, 20);
        out["roll_deg"] = histogram(roll, 18, std::make_pair(-45.0, 45.0));
        out["detector_score"] = histogram(score, 20);
        out["pad_fraction"] = histogram(pad, 10, std::make_pair(0.0, 1.0));
        out["source_scale"] = histogram(scale, 20);
    }
    return out;
}

}  // namespace

nlohmann::json dataset_stats(const PackedDataset& dataset, const core::ProgressCallback& progress) {
    const PackIndex& index = dataset.index();
    PixelStats pixels;
    const int64_t plane = index.resolution * index.resolution;
    for (int64_t i = 0; i < dataset.size(); ++i) {
        if (index.channels == 3) {
            pixels.add_chw(dataset.image(i), plane);
        } else {
            std::vector<uint8_t> rgb(static_cast<size_t>(3 * plane));
            for (int c = 0; c < 3; ++c) std::copy(dataset.image(i), dataset.image(i) + plane, rgb.begin() + c * plane);
            pixels.add_chw(rgb.data(), plane);
        }
        if (progress && (i + 1) % 1024 == 0) progress({"img", static_cast<double>(i + 1), static_cast<double>(dataset.size()), {}});
    }
    nlohmann::json stats = {
        {"source", "dataset"},
        {"path", dataset.dir().string()},
        {"n_images", dataset.size()},
        {"resolution", index.resolution},
        {"split", {{"train", index.select(SplitSelection::kTrain).size()}, {"val", index.select(SplitSelection::kVal).size()}}},
        {"counts", label_counts(index)},
        {"image", pixels.to_json()},
        {"alignment", alignment_stats(dataset.read_provenance())},
    };
    nlohmann::json build = nlohmann::json::object();
    for (const char* key : {"n_inputs", "n_decoded", "n_faces", "n_aligned", "n_skipped", "skipped_by_reason", "n_duplicates",
                            "n_unlabelled", "labels", "seconds", "images_per_second", "n_padded", "mean_pad_fraction", "params",
                            "split_by"}) {
        if (index.build.contains(key)) build[key] = index.build[key];
    }
    stats["build"] = build;
    return stats;
}

nlohmann::json folder_stats(const std::filesystem::path& folder, const core::ProgressCallback& progress) {
    SourceWalker walker({folder});
    PixelStats pixels;
    std::vector<double> widths, heights;
    std::map<std::string, int64_t> skipped;
    int64_t n = 0, n_seen = 0;
    SourceItem item;
    std::string error;
    while (walker.next(item, error)) {
        ++n_seen;
        if (!error.empty()) {
            ++skipped[error];
            continue;
        }
        try {
            const DecodedImage decoded = decode_image(item.bytes, item.display());
            pixels.add_hwc(decoded.image);
            widths.push_back(static_cast<double>(decoded.image.width));
            heights.push_back(static_cast<double>(decoded.image.height));
            ++n;
        } catch (const Error& e) {
            const std::string message = e.what();
            const auto at = message.find("failed: ");
            ++skipped[at == std::string::npos ? message : message.substr(at + 8)];
        }
        if (progress && n_seen % 256 == 0) progress({"img", static_cast<double>(n_seen), static_cast<double>(walker.files().size()), {}});
    }
    return {{"source", "folder"},
            {"path", folder.string()},
            {"n_images", n},
            {"n_skipped", n_seen - n},
            {"skipped_by_reason", skipped},
            {"size", {{"width", histogram(widths, 10)}, {"height", histogram(heights, 10)}}},
            {"counts", nlohmann::json::object()},
            {"image", pixels.to_json()},
            {"alignment", nlohmann::json::object()}};
}

namespace {

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string base64(const std::string& bytes) {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (size_t i = 0; i < bytes.size(); i += 3) {
        uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
    }
    return out;
}

std::string fmt(double v, int precision = 3) {
    std::ostringstream out;
    out << std::setprecision(precision) << v;
    return out.str();
}

// Horizontal bars: one row per (label, count).
std::string bar_chart(const std::vector<std::pair<std::string, double>>& rows) {
    double max_value = 1;
    for (const auto& [label, v] : rows) max_value = std::max(max_value, v);
    double total = 0;
    for (const auto& [label, v] : rows) total += v;
    const int row_h = 18, label_w = 150, bar_w = 360;
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << label_w + bar_w + 110 << "' height='" << row_h * rows.size() + 4 << "'>";
    for (size_t i = 0; i < rows.size(); ++i) {
        const double w = rows[i].second / max_value * bar_w;
        const size_t y = i * row_h;
        svg << "<text x='" << label_w - 6 << "' y='" << y + 13 << "' text-anchor='end'>" << escape(rows[i].first) << "</text>"
            << "<rect x='" << label_w << "' y='" << y + 2 << "' width='" << fmt(w, 6) << "' height='" << row_h - 4 << "' fill='#4a7bd0'/>"
            << "<text x='" << label_w + w + 4 << "' y='" << y + 13 << "'>" << fmt(rows[i].second, 10);
        if (total > 0) svg << " (" << fmt(100.0 * rows[i].second / total, 3) << "%)";
        svg << "</text>";
    }
    svg << "</svg>";
    return svg.str();
}

// Vertical bars of a histogram JSON ({lo, hi, counts}).
std::string histogram_chart(const nlohmann::json& h, const std::string& unit) {
    if (!h.contains("counts")) return "<p>no data</p>";
    const auto counts = h["counts"].get<std::vector<double>>();
    const double lo = h["lo"].get<double>(), hi = h["hi"].get<double>();
    double max_count = 1;
    for (double c : counts) max_count = std::max(max_count, c);
    const int w = 480, ht = 140, pad = 30;
    const double bw = static_cast<double>(w) / static_cast<double>(counts.size());
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w + 2 * pad << "' height='" << ht + 40 << "'>";
    for (size_t i = 0; i < counts.size(); ++i) {
        const double bh = counts[i] / max_count * ht;
        svg << "<rect x='" << fmt(pad + static_cast<double>(i) * bw, 6) << "' y='" << fmt(ht - bh + 5, 6) << "' width='"
            << fmt(std::max(1.0, bw - 1), 6) << "' height='" << fmt(bh, 6) << "' fill='#4a7bd0'><title>"
            << fmt(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(counts.size()), 4) << " .. "
            << fmt(lo + (hi - lo) * static_cast<double>(i + 1) / static_cast<double>(counts.size()), 4) << ": "
            << fmt(counts[i], 10) << "</title></rect>";
    }
    svg << "<line x1='" << pad << "' y1='" << ht + 5 << "' x2='" << w + pad << "' y2='" << ht + 5 << "' stroke='#333'/>"
        << "<text x='" << pad << "' y='" << ht + 22 << "'>" << fmt(lo, 4) << "</text>"
        << "<text x='" << w + pad << "' y='" << ht + 22 << "' text-anchor='end'>" << fmt(hi, 4) << "</text>"
        << "<text x='" << pad + w / 2 << "' y='" << ht + 36 << "' text-anchor='middle'>" << escape(unit) << "</text></svg>";
    return svg.str();
}

std::string summary_line(const nlohmann::json& h) {
    if (!h.contains("mean")) return "";
    return "<p class='s'>n " + fmt(h["n"].get<double>(), 10) + ", mean " + fmt(h["mean"].get<double>()) + ", median " +
           fmt(h["median"].get<double>()) + ", 5-95% " + fmt(h["p05"].get<double>()) + " .. " + fmt(h["p95"].get<double>()) +
           ", range " + fmt(h["min"].get<double>()) + " .. " + fmt(h["max"].get<double>()) + "</p>";
}

}  // namespace

std::string preview_grid_png(const PackedDataset& dataset, int64_t n_columns, int64_t n_rows) {
    const int64_t r = dataset.resolution();
    const int64_t n = std::min(dataset.size(), n_columns * n_rows);
    TORCH_CHECK(n > 0, "preview_grid_png: empty dataset");
    torch::Tensor images = torch::empty({n, r, r, 3}, torch::kUInt8);
    for (int64_t k = 0; k < n; ++k) {
        const torch::Tensor chw =
            torch::from_blob(const_cast<uint8_t*>(dataset.image(k * dataset.size() / n)), {dataset.channels(), r, r},
                             torch::kUInt8);
        images[k].copy_(chw.permute({1, 2, 0}).expand({r, r, 3}));  // a gray image fills all three channels
    }
    const torch::Tensor grid = core::make_image_grid(images, n_columns);
    return core::encode_png(grid.data_ptr<uint8_t>(), grid.size(1), grid.size(0), grid.size(2));
}

std::string stats_html(const nlohmann::json& stats, const std::string& title, const std::string& preview_png) {
    std::ostringstream html;
    html << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>facegen dataset report: " << escape(title)
         << "</title><style>body{font-family:sans-serif;margin:2em;max-width:1100px}svg{font-size:11px}"
            "h2{border-bottom:1px solid #ccc}.s{color:#555;font-size:13px}table{border-collapse:collapse}"
            "td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}.grid{display:flex;flex-wrap:wrap;gap:24px}</style></head><body>";
    html << "<h1>Dataset report: " << escape(title) << "</h1><p>" << escape(stats.value("path", "")) << " &mdash; "
         << stats.value("n_images", 0) << " images";
    if (stats.contains("resolution")) html << " at " << stats["resolution"] << "x" << stats["resolution"];
    if (stats.contains("split")) html << "; train " << stats["split"]["train"] << ", validation " << stats["split"]["val"];
    html << "</p>";
    if (!preview_png.empty()) {
        html << "<h2>Sample</h2><img alt='sample images' style='max-width:100%;image-rendering:pixelated' src='data:image/png;base64,"
             << base64(preview_png) << "'>";
    }

    if (stats.contains("build") && !stats["build"].empty()) {
        const auto& b = stats["build"];
        html << "<h2>Build</h2><table>";
        for (const char* key : {"n_inputs", "n_decoded", "n_faces", "n_aligned", "n_skipped", "n_duplicates", "n_unlabelled",
                                "n_padded", "mean_pad_fraction", "seconds", "images_per_second", "labels", "split_by"}) {
            if (b.contains(key)) html << "<tr><th>" << key << "</th><td>" << escape(b[key].is_string() ? b[key].get<std::string>() : b[key].dump()) << "</td></tr>";
        }
        html << "</table>";
        if (b.contains("skipped_by_reason") && !b["skipped_by_reason"].empty()) {
            std::vector<std::pair<std::string, double>> rows;
            for (const auto& [reason, n] : b["skipped_by_reason"].items()) rows.emplace_back(reason, n.get<double>());
            html << "<h3>Skipped, by reason</h3>" << bar_chart(rows);
        }
    }

    html << "<h2>Labels</h2>";
    if (!stats.contains("counts") || stats["counts"].empty()) html << "<p>No labels.</p>";
    html << "<div class='grid'>";
    const nlohmann::json counts = stats.value("counts", nlohmann::json::object());
    for (const auto& [name, entry] : counts.items()) {
        html << "<div><h3>" << escape(name) << "</h3>";
        if (entry.value("kind", "") == "identity") {
            html << "<p>" << entry["n_identities"] << " identities</p>" << summary_line(entry["images_per_identity"])
                 << histogram_chart(entry["images_per_identity"], "images per identity");
        } else {
            std::vector<std::pair<std::string, double>> rows;
            if (entry.contains("order")) {
                for (const auto& key : entry["order"]) rows.emplace_back(key.get<std::string>(), entry["counts"][key.get<std::string>()].get<double>());
            } else {
                for (const auto& [key, n] : entry["counts"].items()) rows.emplace_back(key, n.get<double>());
            }
            if (entry.value("unknown", 0) > 0) rows.emplace_back("unknown", entry["unknown"].get<double>());
            html << bar_chart(rows);
        }
        html << "</div>";
    }
    html << "</div>";

    if (stats.contains("image")) {
        const auto& im = stats["image"];
        html << "<h2>Pixels</h2><table><tr><th></th><th>R</th><th>G</th><th>B</th></tr><tr><th>mean</th>";
        for (const auto& v : im["mean"]) html << "<td>" << fmt(v.get<double>(), 4) << "</td>";
        html << "</tr><tr><th>std</th>";
        for (const auto& v : im["std"]) html << "<td>" << fmt(v.get<double>(), 4) << "</td>";
        html << "</tr></table><h3>Brightness (luma) histogram</h3>" << histogram_chart(im["brightness_histogram"], "luma 0..255");
    }

    const auto alignment = stats.value("alignment", nlohmann::json::object());
    if (alignment.contains("eye_distance_px")) {
        html << "<h2>Alignment</h2><p>" << alignment["n_with_face"] << " aligned faces, " << alignment.value("n_exif_rotated", 0)
             << " EXIF-rotated sources</p><div class='grid'>";
        const std::pair<const char*, const char*> charts[] = {
            {"eye_distance_px", "eye distance in the source, px"}, {"roll_deg", "roll (eye line), degrees"},
            {"detector_score", "detector score"}, {"pad_fraction", "share of the crop synthesised by padding"},
            {"source_scale", "source px per output px (< 1: upsampled)"}};
        for (const auto& [key, unit] : charts) {
            html << "<div><h3>" << key << "</h3>" << summary_line(alignment[key]) << histogram_chart(alignment[key], unit) << "</div>";
        }
        html << "</div>";
    }
    html << "<p class='s'>Made by facegen dataset stats.</p></body></html>\n";
    return html.str();
}

}  // namespace facegen::data
