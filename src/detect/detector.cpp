#include "detect/detector.h"

#include <nlohmann/json.hpp>

#include <cstdlib>

#include "core/error.h"
#include "facenet/face_crop.h"
#include "facenet/net_file.h"
#include "generate/bundled_model.h"

namespace facegen::detect {

std::string to_string(DetectorKind kind) {
    return kind == DetectorKind::kFaceCnn ? "face-cnn" : "spectral-patches";
}

DetectorKind parse_detector_kind(const std::string& text) {
    if (text == "face-cnn") return DetectorKind::kFaceCnn;
    if (text == "spectral-patches") return DetectorKind::kSpectralPatches;
    throw make_error("unknown detector kind '", text, "' (expected face-cnn or spectral-patches)");
}

Detector::Detector(DetectorInfo info) : info_(std::move(info)) {
    if (info_.kind == DetectorKind::kFaceCnn) {
        net_ = facenet::FaceCnn(facenet::FaceCnnOptions{info_.net.width, 1});
        net_->eval();
    } else {
        spectral_ = SpectralPatchNet(info_.spectral);
        spectral_->eval();
    }
}

Detector Detector::load(const std::filesystem::path& path) {
    const facenet::NetFile file(path, "detector", kDetectorFormat, 1, kDetectorFormatVersion);
    DetectorInfo info;
    // Version 1 files are face CNNs and carry no band: "uncertain" starts at the default.
    if (file.version() >= 2) {
        try {
            info.kind = parse_detector_kind(file.text("kind"));
        } catch (const Error& e) {
            throw make_error(file.where(), ": ", e.what());
        }
        info.uncertain_below = file.number("uncertain_below");
    }
    if (info.kind == DetectorKind::kFaceCnn) {
        info.net.width = file.whole_number("width", 1, 1024);
    } else {
        info.spectral.hidden = file.whole_number("hidden", 0, 4096);
    }
    info.calibration.scale = file.number("calibration_scale");
    info.calibration.offset = file.number("calibration_offset");
    info.threshold = file.number("threshold");
    if (info.threshold <= 0 || info.threshold >= 1) {
        throw make_error(file.where(), ": threshold ", info.threshold, " is not in (0, 1)");
    }
    if (info.uncertain_below <= 0 || info.uncertain_below > info.threshold) {
        throw make_error(file.where(), ": uncertain_below ", info.uncertain_below, " is not in (0, threshold]");
    }
    info.report_json = file.text("report");
    if (!nlohmann::json::accept(info.report_json)) throw make_error(file.where(), ": report is not JSON");
    Detector detector(std::move(info));
    if (detector.info_.kind == DetectorKind::kFaceCnn) {
        file.load_into(*detector.net_);
    } else {
        file.load_into(*detector.spectral_);
    }
    return detector;
}

void Detector::save(const std::filesystem::path& path) const {
    std::map<std::string, std::string> metadata = {
        {"format", kDetectorFormat},
        {"format_version", std::to_string(kDetectorFormatVersion)},
        {"kind", to_string(info_.kind)},
        {"calibration_scale", facenet::number_text(info_.calibration.scale)},
        {"calibration_offset", facenet::number_text(info_.calibration.offset)},
        {"threshold", facenet::number_text(info_.threshold)},
        {"uncertain_below", facenet::number_text(info_.uncertain_below)},
        {"report", info_.report_json}};
    if (info_.kind == DetectorKind::kFaceCnn) {
        metadata["width"] = std::to_string(info_.net.width);
        metadata["input_side"] = std::to_string(facenet::kFaceInputSide);
        facenet::save_net_file(path, *net_, metadata);
    } else {
        metadata["hidden"] = std::to_string(info_.spectral.hidden);
        metadata["patch_side"] = std::to_string(kPatchSide);
        metadata["working_side"] = std::to_string(kPatchWorkingSide);
        facenet::save_net_file(path, *spectral_, metadata);
    }
}

facenet::FaceCnn& Detector::net() {
    TORCH_CHECK(net_, "this detector is a ", to_string(info_.kind), ", not a face CNN");
    return net_;
}

SpectralPatchNet& Detector::spectral_net() {
    TORCH_CHECK(spectral_, "this detector is a ", to_string(info_.kind), ", not a patch detector");
    return spectral_;
}

std::vector<double> Detector::logits(const torch::Tensor& images_nhwc) {
    torch::InferenceMode inference;
    std::vector<double> out;
    out.reserve(static_cast<size_t>(images_nhwc.size(0)));
    if (info_.kind == DetectorKind::kSpectralPatches) {
        for (int64_t i = 0; i < images_nhwc.size(0); ++i) out.push_back(score(images_nhwc[i]).logit);
        return out;
    }
    net_->eval();
    constexpr int64_t kBatch = 64;
    for (int64_t begin = 0; begin < images_nhwc.size(0); begin += kBatch) {
        const int64_t n = std::min(kBatch, images_nhwc.size(0) - begin);
        const torch::Tensor scores =
            net_->forward(facenet::face_cnn_input(images_nhwc.narrow(0, begin, n))).select(1, 0).to(torch::kFloat64);
        for (int64_t i = 0; i < n; ++i) out.push_back(scores[i].item<double>());
    }
    return out;
}

ImageScore Detector::score(const torch::Tensor& image_hwc) {
    TORCH_CHECK(image_hwc.dim() == 3 && image_hwc.size(2) == 3 && image_hwc.scalar_type() == torch::kUInt8,
                "expected a uint8 image [H, W, 3], got ", image_hwc.sizes());
    torch::InferenceMode inference;
    ImageScore result;
    if (info_.kind == DetectorKind::kFaceCnn) {
        const int64_t side = std::min(image_hwc.size(0), image_hwc.size(1));
        const torch::Tensor square = image_hwc.narrow(0, (image_hwc.size(0) - side) / 2, side)
                                         .narrow(1, (image_hwc.size(1) - side) / 2, side)
                                         .unsqueeze(0);
        result.logit = logits(square.contiguous()).front();
        result.patch_logits = {result.logit};
        result.rows = result.cols = 1;
        result.width = result.height = side;
        return result;
    }
    const torch::Tensor working = to_working_scale(image_hwc);
    const PatchGrid grid = patch_grid(working);
    spectral_->eval();
    const torch::Tensor patch_logits = spectral_->forward(spectral_features(grid.patches)).to(torch::kFloat64);
    result.logit = patch_logits.mean().item<double>();
    result.patch_logits.assign(patch_logits.data_ptr<double>(), patch_logits.data_ptr<double>() + patch_logits.numel());
    result.rows = grid.rows;
    result.cols = grid.cols;
    result.height = working.size(0);
    result.width = working.size(1);
    return result;
}

ImageScore Detector::score(const data::RgbImage& image) {
    if (info_.kind == DetectorKind::kFaceCnn) {
        ImageScore result = score(facenet::centre_square(image).squeeze(0));
        return result;
    }
    return score(to_working_scale(image));
}

std::optional<std::filesystem::path> default_detector_path() {
    if (const char* env = std::getenv("FACEGEN_DETECTOR"); env && *env) {
        if (!std::filesystem::is_regular_file(env)) throw make_error("FACEGEN_DETECTOR='", env, "' names no detector file");
        return std::filesystem::path(env);
    }
    return generate::find_shipped_file(kBundledDetectorFileName);
}

}  // namespace facegen::detect
