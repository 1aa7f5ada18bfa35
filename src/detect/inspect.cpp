#include "detect/inspect.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "core/error.h"
#include "data/image_io.h"
#include "facenet/face_cnn.h"
#include "facenet/face_crop.h"
#include "provenance/image_provenance.h"

namespace facegen::detect {
namespace {

/// The model id after facegen's PNG tEXt keyword (keyword, NUL, 16 hex digits), or "".
std::string png_model_id(const std::string& bytes) {
    const std::string key = std::string("facegen:model_id") + '\0';
    const size_t at = bytes.find(key);
    if (at == std::string::npos || at + key.size() + 16 > bytes.size()) return "";
    const std::string value = bytes.substr(at + key.size(), 16);
    const bool hex = std::all_of(value.begin(), value.end(), [](unsigned char ch) { return std::isxdigit(ch) != 0; });
    return hex ? value : "";
}

std::string percent(double p) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * p);
    return text;
}

}  // namespace

MetadataLabel find_metadata_label(const std::string& bytes) {
    MetadataLabel label;
    // IPTC digital source types for generated media, in XMP (PNG iTXt, JPEG APP1, WebP XMP).
    for (const char* type : {"compositeWithTrainedAlgorithmicMedia", "trainedAlgorithmicMedia",
                             "algorithmicMedia"}) {
        const std::string needle = std::string("digitalsourcetype/") + type;
        if (bytes.find(needle) != std::string::npos) {
            label.labels.push_back(std::string("XMP DigitalSourceType ") + type);
            break;
        }
    }
    const std::string model_id = png_model_id(bytes);
    if (!model_id.empty()) {
        label.model_id = model_id;
        label.labels.push_back("PNG text facegen:model_id " + model_id);
    }
    label.found = !label.labels.empty();
    return label;
}

ImageVerdict inspect_image(const std::string& bytes, const std::string& name, Detector* detector, double threshold) {
    ImageVerdict verdict;
    verdict.name = name;
    try {
        verdict.metadata = find_metadata_label(bytes);
        const data::DecodedImage decoded = data::decode_image(bytes, name);
        const data::RgbImage& image = decoded.image;
        verdict.width = image.width;
        verdict.height = image.height;
        verdict.format = data::to_string(decoded.format);
        verdict.notes = decoded.notes;
        if (image.width < kMinInspectSide || image.height < kMinInspectSide) {
            throw make_error("image '", name, "' is ", image.width, "x", image.height, ", too small to judge (at least ",
                             kMinInspectSide, "x", kMinInspectSide, ")");
        }
        verdict.watermark = provenance::read_watermark(image.pixels.data(), image.width, image.height, 3);
        if (detector == nullptr) {
            verdict.detector_note = "no detector";
        } else if (std::min(image.width, image.height) < facenet::kFaceInputSide) {
            verdict.detector_note = "image under 64 px: the detector reads at least 64x64";
        } else {
            verdict.logit = detector->logits(facenet::centre_square(image)).front();
            verdict.probability = detector->probability(*verdict.logit);
        }
    } catch (const std::exception& e) {
        verdict.error = e.what();
        return verdict;
    }
    if (verdict.metadata.found) verdict.reasons.push_back("metadata label: " + verdict.metadata.labels.front());
    if (verdict.watermark && verdict.watermark->found) {
        verdict.reasons.push_back("facegen watermark " + provenance::to_string(verdict.watermark->payload) + " (" +
                                  std::to_string(verdict.watermark->bit_errors) + " bit errors)");
    }
    if (verdict.probability && *verdict.probability >= threshold) {
        verdict.reasons.push_back("detector: " + percent(*verdict.probability) + " likely generated");
    }
    verdict.generated = !verdict.reasons.empty();
    return verdict;
}

nlohmann::json to_json(const ImageVerdict& verdict) {
    nlohmann::json out = {{"file", verdict.name}};
    if (!verdict.error.empty()) {
        out["error"] = verdict.error;
        return out;
    }
    out["verdict"] = verdict.generated ? "generated" : "no sign of generation";
    out["generated"] = verdict.generated;
    out["reasons"] = verdict.reasons;
    out["image"] = {{"width", verdict.width}, {"height", verdict.height}, {"format", verdict.format},
                    {"notes", verdict.notes}};
    out["metadata_label"] = {{"found", verdict.metadata.found}, {"labels", verdict.metadata.labels}};
    if (!verdict.metadata.model_id.empty()) out["metadata_label"]["model_id"] = verdict.metadata.model_id;
    if (verdict.watermark) {
        const provenance::WatermarkReading& mark = *verdict.watermark;
        out["watermark"] = {{"found", mark.found}, {"score", mark.score}};
        if (mark.found) {
            out["watermark"]["payload"] = provenance::to_string(mark.payload);
            out["watermark"]["model_prefix"] = provenance::to_string(mark.payload).substr(0, 8);
            out["watermark"]["bit_errors"] = mark.bit_errors;
        }
    }
    if (verdict.probability) {
        out["detector"] = {{"probability_generated", *verdict.probability}, {"logit", *verdict.logit}};
    } else {
        out["detector"] = {{"probability_generated", nullptr}, {"note", verdict.detector_note}};
    }
    return out;
}

}  // namespace facegen::detect
