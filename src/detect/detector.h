#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/image_io.h"
#include "detect/spectral_patches.h"
#include "facenet/calibration.h"
#include "facenet/face_cnn.h"

// A trained detector as a file (safetensors: the network's weights, with its calibration,
// threshold and training report in the metadata) and as an object that scores images.
// Two kinds: the face CNN on the centred square reduced to 64x64 (format version 1), and
// the patch detector on 64x64 patches at the image's own scale (version 2, which names
// its kind and carries the "uncertain" band).
namespace facegen::detect {

inline constexpr const char* kDetectorFormat = "facegen-detector";
inline constexpr int kDetectorFormatVersion = 2;

enum class DetectorKind { kFaceCnn, kSpectralPatches };
std::string to_string(DetectorKind kind);
/// "face-cnn" or "spectral-patches"; throws facegen::Error naming the text otherwise.
DetectorKind parse_detector_kind(const std::string& text);

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
    DetectorKind kind = DetectorKind::kFaceCnn;
    SpectralPatchNetOptions spectral{};
    /// Probabilities in [uncertain_below, threshold) are "uncertain", not "no sign of
    /// generation": evidence too weak either way.
    double uncertain_below = 0.2;
};

/// A detector's reading of one image: its logit and, for the patch detector, each patch's
/// logit on the patch grid (rows x cols, row-major) over the image at working scale.
struct ImageScore {
    double logit = 0;
    std::vector<double> patch_logits;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t width = 0;   // of the image the patches were read from
    int64_t height = 0;
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
    /// The score of one uint8 [H, W, 3] image (shorter side >= 64): the face CNN reads its
    /// centred square, the patch detector every patch at working scale.
    ImageScore score(const torch::Tensor& image_hwc);
    /// The score of a decoded image of any size, never holding more than the decoded pixels
    /// and a reduced copy in memory.
    ImageScore score(const data::RgbImage& image);
    double probability(double logit) const { return info_.calibration.probability(logit); }
    const DetectorInfo& info() const { return info_; }
    void set_calibration(Calibration calibration, double threshold) {
        info_.calibration = calibration;
        info_.threshold = threshold;
    }
    void set_report(std::string report_json) { info_.report_json = std::move(report_json); }
    void set_uncertain_below(double probability) { info_.uncertain_below = probability; }
    /// The face CNN (kind kFaceCnn only).
    facenet::FaceCnn& net();
    /// The patch network (kind kSpectralPatches only).
    SpectralPatchNet& spectral_net();

private:
    facenet::FaceCnn net_{nullptr};
    SpectralPatchNet spectral_{nullptr};
    DetectorInfo info_;
};

inline constexpr const char* kBundledDetectorFileName = "facegen-detector.safetensors";

/// The detector to use when none is given: $FACEGEN_DETECTOR when set (an error if it
/// names no file), else the shipped models/facegen-detector.safetensors, else nullopt.
std::optional<std::filesystem::path> default_detector_path();

}  // namespace facegen::detect
