#include "detect/detector.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "core/error.h"
#include "facenet/net_file.h"
#include "generate/bundled_model.h"

namespace facegen::detect {

Detector::Detector(DetectorInfo info)
    : net_(facenet::FaceCnnOptions{info.net.width, 1}), info_(std::move(info)) {
    net_->eval();
}

Detector Detector::load(const std::filesystem::path& path) {
    const facenet::NetFile file(path, "detector", kDetectorFormat, kDetectorFormatVersion);
    DetectorInfo info;
    info.net.width = file.whole_number("width", 1, 1024);
    info.calibration.scale = file.number("calibration_scale");
    info.calibration.offset = file.number("calibration_offset");
    info.threshold = file.number("threshold");
    if (info.threshold <= 0 || info.threshold >= 1) {
        throw make_error(file.where(), ": threshold ", info.threshold, " is not in (0, 1)");
    }
    info.report_json = file.text("report");
    if (!nlohmann::json::accept(info.report_json)) throw make_error(file.where(), ": report is not JSON");
    Detector detector(std::move(info));
    file.load_into(*detector.net_);
    return detector;
}

void Detector::save(const std::filesystem::path& path) const {
    facenet::save_net_file(path, *net_,
                           {{"format", kDetectorFormat},
                            {"format_version", std::to_string(kDetectorFormatVersion)},
                            {"width", std::to_string(info_.net.width)},
                            {"input_side", std::to_string(facenet::kFaceInputSide)},
                            {"calibration_scale", facenet::number_text(info_.calibration.scale)},
                            {"calibration_offset", facenet::number_text(info_.calibration.offset)},
                            {"threshold", facenet::number_text(info_.threshold)},
                            {"report", info_.report_json}});
}

std::vector<double> Detector::logits(const torch::Tensor& images_nhwc) {
    torch::InferenceMode inference;
    net_->eval();
    std::vector<double> out;
    out.reserve(static_cast<size_t>(images_nhwc.size(0)));
    constexpr int64_t kBatch = 64;
    for (int64_t begin = 0; begin < images_nhwc.size(0); begin += kBatch) {
        const int64_t n = std::min(kBatch, images_nhwc.size(0) - begin);
        const torch::Tensor scores =
            net_->forward(facenet::face_cnn_input(images_nhwc.narrow(0, begin, n))).select(1, 0).to(torch::kFloat64);
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
