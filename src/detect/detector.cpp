#include "detect/detector.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/safetensors.h"
#include "generate/bundled_model.h"

namespace facegen::detect {
namespace {

std::string number_text(double value) {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
}

const std::string& metadata_field(const core::SafetensorsFile& file, const std::filesystem::path& path,
                                  const std::string& key) {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw make_error("detector '", path.string(), "': metadata has no '", key, "'");
    return it->second;
}

double finite_number(const core::SafetensorsFile& file, const std::filesystem::path& path, const std::string& key) {
    const std::string& text = metadata_field(file, path, key);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value)) {
        throw make_error("detector '", path.string(), "': metadata '", key, "' = '", text, "' is not a finite number");
    }
    return value;
}

}  // namespace

Detector::Detector(DetectorNet net, DetectorInfo info) : net_(std::move(net)), info_(std::move(info)) {
    net_->eval();
}

Detector Detector::load(const std::filesystem::path& path) {
    const core::SafetensorsFile file = core::read_safetensors(path);
    if (metadata_field(file, path, "format") != kDetectorFormat) {
        throw make_error("detector '", path.string(), "' is not a facegen detector (format '",
                         metadata_field(file, path, "format"), "')");
    }
    if (metadata_field(file, path, "format_version") != std::to_string(kDetectorFormatVersion)) {
        throw make_error("detector '", path.string(), "' has format version ", metadata_field(file, path, "format_version"),
                         "; this facegen reads version ", kDetectorFormatVersion);
    }
    DetectorInfo info;
    const double width = finite_number(file, path, "width");
    if (width < 1 || width > 1024 || width != std::floor(width)) {
        throw make_error("detector '", path.string(), "': width ", width, " is not a channel count");
    }
    info.net.width = static_cast<int64_t>(width);
    info.calibration.scale = finite_number(file, path, "calibration_scale");
    info.calibration.offset = finite_number(file, path, "calibration_offset");
    info.threshold = finite_number(file, path, "threshold");
    if (info.threshold <= 0 || info.threshold >= 1) {
        throw make_error("detector '", path.string(), "': threshold ", info.threshold, " is not in (0, 1)");
    }
    info.report_json = metadata_field(file, path, "report");
    if (!nlohmann::json::accept(info.report_json)) throw make_error("detector '", path.string(), "': report is not JSON");

    DetectorNet net(info.net);
    torch::NoGradGuard no_grad;
    size_t used = 0;
    for (auto& item : net->named_parameters()) {
        const auto it = file.tensors.find(item.key());
        if (it == file.tensors.end()) throw make_error("detector '", path.string(), "' lacks tensor '", item.key(), "'");
        if (it->second.sizes() != item.value().sizes() || it->second.scalar_type() != torch::kFloat32) {
            throw make_error("detector '", path.string(), "': tensor '", item.key(), "' is ", it->second.scalar_type(), " ",
                             it->second.sizes(), ", expected float ", item.value().sizes());
        }
        if (!torch::isfinite(it->second).all().item<bool>()) {
            throw make_error("detector '", path.string(), "': tensor '", item.key(), "' holds NaN or infinity");
        }
        item.value().copy_(it->second);
        ++used;
    }
    if (used != file.tensors.size()) {
        throw make_error("detector '", path.string(), "' holds ", file.tensors.size() - used, " tensor(s) its network lacks");
    }
    return Detector(std::move(net), std::move(info));
}

void Detector::save(const std::filesystem::path& path) const {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& item : net_->named_parameters()) tensors[item.key()] = item.value().detach().cpu();
    const std::map<std::string, std::string> metadata = {
        {"format", kDetectorFormat},
        {"format_version", std::to_string(kDetectorFormatVersion)},
        {"width", std::to_string(info_.net.width)},
        {"input_side", std::to_string(kDetectorInputSide)},
        {"calibration_scale", number_text(info_.calibration.scale)},
        {"calibration_offset", number_text(info_.calibration.offset)},
        {"threshold", number_text(info_.threshold)},
        {"report", info_.report_json},
    };
    core::write_safetensors(path, tensors, metadata);
}

std::vector<double> Detector::logits(const torch::Tensor& images_nhwc) {
    torch::InferenceMode inference;
    net_->eval();
    std::vector<double> out;
    out.reserve(static_cast<size_t>(images_nhwc.size(0)));
    constexpr int64_t kBatch = 64;
    for (int64_t begin = 0; begin < images_nhwc.size(0); begin += kBatch) {
        const int64_t n = std::min(kBatch, images_nhwc.size(0) - begin);
        const torch::Tensor scores = net_->forward(detector_input(images_nhwc.narrow(0, begin, n))).to(torch::kFloat64);
        for (int64_t i = 0; i < n; ++i) out.push_back(scores[i].item<double>());
    }
    return out;
}

std::optional<std::filesystem::path> default_detector_path() {
    if (const char* env = std::getenv("FACEGEN_DETECTOR"); env && *env) {
        if (!std::filesystem::is_regular_file(env)) throw make_error("FACEGEN_DETECTOR='", env, "' names no detector file");
        return std::filesystem::path(env);
    }
    return generate::find_shipped_file(kBundledDetectorFileName);
}

}  // namespace facegen::detect
