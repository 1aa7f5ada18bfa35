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

/// Animated images: libwebp's still-image decoder cannot read an animated WebP, and libpng
/// reads an animated PNG's default image (its first frame). "" for a still image.
std::string animation_of(const std::string& bytes) {
    // RIFF <size> WEBP VP8X <chunk size> <flags>: bit 1 of the flags marks an animation.
    if (bytes.size() > 20 && bytes.compare(0, 4, "RIFF") == 0 && bytes.compare(8, 8, "WEBPVP8X") == 0 &&
        (static_cast<unsigned char>(bytes[20]) & 0x02) != 0) {
        return "webp";
    }
    if (bytes.size() > 8 && bytes.compare(1, 3, "PNG") == 0) {
        const size_t actl = bytes.find("acTL"), idat = bytes.find("IDAT");
        if (actl != std::string::npos && (idat == std::string::npos || actl < idat)) return "png";
    }
    return "";
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

ImageVerdict inspect_image(const std::string& bytes, const std::string& name, Detector* detector, double threshold,
                           double uncertain_below) {
    ImageVerdict verdict;
    verdict.name = name;
    try {
        verdict.metadata = find_metadata_label(bytes);
        const std::string animation = animation_of(bytes);
        if (animation == "webp") {
            throw make_error("image '", name, "' is an animated WebP: save one frame as a still image to judge it");
        }
        const data::DecodedImage decoded = data::decode_image(bytes, name);
        const data::RgbImage& image = decoded.image;
        verdict.width = image.width;
        verdict.height = image.height;
        verdict.format = data::to_string(decoded.format);
        verdict.notes = decoded.notes;
        if (animation == "png") verdict.notes.push_back("animated: first frame judged");
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
            verdict.detector_view = detector->info().kind == DetectorKind::kFaceCnn
                                        ? facenet::centre_square(image).squeeze(0)
                                        : to_working_scale(image);
            verdict.detector_score = detector->score(verdict.detector_view);
            verdict.logit = verdict.detector_score->logit;
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
    if (!verdict.generated && verdict.probability) {
        const double band_start = uncertain_below >= 0 ? uncertain_below : std::min(detector->info().uncertain_below, threshold);
        verdict.uncertain = *verdict.probability >= band_start;
        if (verdict.uncertain) {
            verdict.reasons.push_back("detector: " + percent(*verdict.probability) +
                                      " likely generated, too weak to call either way");
        }
    }
    return verdict;
}

std::string verdict_text(const ImageVerdict& verdict) {
    return verdict.generated ? "generated" : verdict.uncertain ? "uncertain" : "no sign of generation";
}

nlohmann::json to_json(const ImageVerdict& verdict) {
    nlohmann::json out = {{"file", verdict.name}};
    if (!verdict.error.empty()) {
        out["error"] = verdict.error;
        return out;
    }
    out["verdict"] = verdict_text(verdict);
    out["generated"] = verdict.generated;
    out["uncertain"] = verdict.uncertain;
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
        if (verdict.detector_score && verdict.detector_score->patch_logits.size() > 1) {
            const std::vector<double>& patches = verdict.detector_score->patch_logits;
            out["detector"]["patches"] = patches.size();
            out["detector"]["patch_logit_max"] = *std::max_element(patches.begin(), patches.end());
        }
    } else {
        out["detector"] = {{"probability_generated", nullptr}, {"note", verdict.detector_note}};
    }
    return out;
}

}  // namespace facegen::detect
