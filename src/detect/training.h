#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "facenet/photo_augment.h"
#include "detect/detector.h"

// `facegen detect train`: a detector trained on real faces (a packed dataset, the same
// alignment as the generators' training data, so framing gives nothing away) against faces
// of several generators, then calibrated and measured on images it never saw, including
// one generator held out of training entirely.
namespace facegen::detect {

/// A generator whose faces are "generated" examples: a model file at one truncation psi.
struct FakeSource {
    std::string name;
    std::filesystem::path model;
    double truncation_psi = 1.0;
};

/// Parses "NAME=MODEL" or "NAME=MODEL@PSI". Throws facegen::Error naming the text.
FakeSource parse_fake_source(const std::string& text);

/// What a detector is measured on (measure_detector).
struct DetectorMeasureOptions {
    std::filesystem::path real_dataset;  // its val split is measured
    std::vector<std::filesystem::path> real_measure_only;
    std::vector<FakeSource> fakes;
    std::vector<std::string> held_out;  // left out of calibration and the training-generator figures
    int64_t eval_per_source = 400;
    uint64_t seed = 0;
};

struct DetectorTrainingOptions {
    std::filesystem::path real_dataset;  // packed dataset: train split to learn, val split to measure
    /// Other real faces, only measured (all their images): photos of another source must
    /// not be flagged just for looking unlike the training photos.
    std::vector<std::filesystem::path> real_measure_only;
    std::vector<FakeSource> fakes;
    /// Names of fake sources kept out of training and only measured (may be empty).
    std::vector<std::string> held_out;
    int64_t train_per_source = 3000;  // generated training images per training source
    int64_t real_train = 0;           // real training images; 0 = as many as all training fakes
    int64_t eval_per_source = 400;    // generated images per source to calibrate and measure
    int64_t steps = 1500;
    int64_t batch = 64;
    double learning_rate = 1e-3;
    DetectorNetOptions net;
    facenet::AugmentOptions augment;
    uint64_t seed = 0;

    /// Throws facegen::Error naming the first bad value.
    void validate() const;
    DetectorMeasureOptions measure_options() const;
};

struct TrainingProgress {
    std::string stage;  // "reading real faces", "generating <name>", "training", "measuring"
    int64_t done = 0;
    int64_t total = 0;
    double loss = 0;    // training: running mean of the last steps
};

/// Trains, calibrates (Platt scaling on half of the held-out images) and measures (on the
/// other half: clean, JPEG 75, half size and back; per source, held-out generators apart).
/// The returned detector's info().report_json holds every figure.
Detector train_detector(const DetectorTrainingOptions& options,
                        const std::function<void(const TrainingProgress&)>& on_progress = {});

/// Scores the real validation faces and eval_per_source new faces of every source, clean,
/// after JPEG 75 and after half size and back. With `calibrate`, fits Platt scaling on the
/// even rows (held-out sources excluded) into `detector`; either way measures on the odd
/// rows: per condition AUC, average precision, accuracy and balanced accuracy at the
/// threshold, share flagged, calibration error, for the training sources together and per
/// source, and the share of other real photos flagged. Returns the figures as JSON.
nlohmann::json measure_detector(Detector& detector, const DetectorMeasureOptions& options, bool calibrate,
                                const std::function<void(const TrainingProgress&)>& on_progress = {});

}  // namespace facegen::detect
