#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "detect/detector.h"
#include "provenance/watermark.h"

// One image file in, a verdict out: was it generated, and why we think so. Three kinds of
// evidence, strongest first: a metadata label (IPTC "trainedAlgorithmicMedia" XMP, facegen's
// PNG text), the invisible watermark (survives re-saves that strip metadata), and the
// detector's calibrated probability (for images that carry neither).
namespace facegen::detect {

/// Images smaller than this on either side are refused: too few pixels to judge.
inline constexpr int64_t kMinInspectSide = 32;

struct MetadataLabel {
    bool found = false;
    std::vector<std::string> labels;  // e.g. "XMP DigitalSourceType trainedAlgorithmicMedia"
    std::string model_id;             // from facegen's PNG text, when present
};

struct ImageVerdict {
    std::string name;
    std::string error;  // non-empty: the file could not be judged (and why)
    int64_t width = 0;
    int64_t height = 0;
    std::string format;
    std::vector<std::string> notes;  // decoder conversions: "alpha", "grayscale", "cmyk", ...
    MetadataLabel metadata;
    std::optional<provenance::WatermarkReading> watermark;  // absent: not checked
    std::optional<double> logit;        // absent: no detector, or the image is under 64 px
    std::optional<double> probability;  // calibrated P(generated)
    std::string detector_note;          // why the detector did not run, when it did not
    std::optional<ImageScore> detector_score;  // the patch logits behind `logit`
    torch::Tensor detector_view;        // uint8 [H, W, 3]: the image as the detector read it
    bool generated = false;
    /// No label, no watermark, and a detector probability in the band [uncertain_below,
    /// threshold): the evidence is too weak to say "no sign of generation".
    bool uncertain = false;
    std::vector<std::string> reasons;
};

/// Judges the image in `bytes` (JPEG, PNG or WebP). `detector` may be null (evidence from
/// labels and watermark only); `threshold` is the probability at or above which the
/// detector alone says generated, `uncertain_below` where its "uncertain" band starts (< 0:
/// the detector's own). Never throws for a bad file: the verdict's error says what is
/// wrong with it.
ImageVerdict inspect_image(const std::string& bytes, const std::string& name, Detector* detector, double threshold,
                           double uncertain_below = -1);

/// "generated", "uncertain" or "no sign of generation".
std::string verdict_text(const ImageVerdict& verdict);

/// Labels found in the raw bytes of an image file (no decoding, so any format).
MetadataLabel find_metadata_label(const std::string& bytes);

nlohmann::json to_json(const ImageVerdict& verdict);

}  // namespace facegen::detect
