#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "facenet/calibration.h"
#include "facenet/face_cnn.h"

// A trained detector as a file (safetensors: the network's weights, with its calibration,
// threshold and training report in the metadata) and as an object that scores images.
namespace facegen::detect {

inline constexpr const char* kDetectorFormat = "facegen-detector";
inline constexpr int kDetectorFormatVersion = 1;

using facenet::Calibration;

/// The detector's network: the face CNN with one output, the logit (> 0: generated).
struct DetectorNetOptions {
    int64_t width = 24;
};

/// What travels with the weights.
struct DetectorInfo {
    DetectorNetOptions net;
    Calibration calibration;
    /// Probability at or above which `facegen detect` says "generated" by default.
    double threshold = 0.5;
    /// JSON: how it was trained and what it scored on held-out images (training.h).
    std::string report_json = "{}";
};

class Detector {
public:
    /// A detector with the untrained network `info.net` describes.
    explicit Detector(DetectorInfo info);
    /// Loads and checks a detector file. Throws facegen::Error naming the file for one that
    /// is missing, truncated, corrupt, of another format or version, or whose weights do not
    /// fit its stated network.
    static Detector load(const std::filesystem::path& path);
    /// Writes the detector atomically.
    void save(const std::filesystem::path& path) const;

    /// Raw scores for uint8 [N, S, S, 3] images (S >= 64), batch by batch, no gradient.
    std::vector<double> logits(const torch::Tensor& images_nhwc);
    double probability(double logit) const { return info_.calibration.probability(logit); }
    const DetectorInfo& info() const { return info_; }
    void set_calibration(Calibration calibration, double threshold) {
        info_.calibration = calibration;
        info_.threshold = threshold;
    }
    void set_report(std::string report_json) { info_.report_json = std::move(report_json); }
    facenet::FaceCnn& net() { return net_; }

private:
    facenet::FaceCnn net_;
    DetectorInfo info_;
};

inline constexpr const char* kBundledDetectorFileName = "facegen-detector.safetensors";

/// The detector to use when none is given: $FACEGEN_DETECTOR when set (an error if it
/// names no file), else the shipped models/facegen-detector.safetensors, else nullopt.
std::optional<std::filesystem::path> default_detector_path();

}  // namespace facegen::detect
