#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "detect/detector.h"
#include "detect/training.h"
#include "detect/world_data.h"

// `facegen detect train-world` and `detect measure-world`: the patch detector trained on
// faces from the world (scripts/prepare_detector_data.sh) and measured on generator
// families it never saw. Whole families are held out (never one source split across
// training and test); real photos are split by a hash of their path. Every image of both
// classes is re-encoded alike (world_data.h), and a check shows that size, JPEG tables and
// colour alone no longer tell the classes apart.
namespace facegen::detect {

struct WorldTrainingOptions {
    std::filesystem::path folder;
    /// Generated families to learn from (e.g. "stylegan"); empty = every family not held out.
    std::vector<std::string> train_families;
    /// Generated families only measured (e.g. "diffusion"); may be empty.
    std::vector<std::string> held_out_families;
    int64_t train_per_source = 800;   // images per source to learn from
    /// Share of a source within its class, relative to the others (default 1 each): e.g.
    /// real photos at the generators' resolution weighted up against small ones.
    std::map<std::string, double> source_weights;
    int64_t calibrate_per_source = 200;
    int64_t test_per_source = 300;
    int64_t reencodings = 2;          // re-encoded copies of each training image
    int64_t steps = 600;              // full-batch Adam steps on the patch features
    double learning_rate = 1e-2;
    double weight_decay = 1e-3;
    SpectralPatchNetOptions net;
    WildReencodeOptions wild;
    uint64_t seed = 0;

    /// Throws facegen::Error naming the first bad value.
    void validate() const;
};

/// Trains the patch detector, calibrates it (Platt, on images of the training families and
/// real photos it did not learn from) and, when families are held out, measures it on them
/// (measure_world_detector). The figures are in the detector's report.
Detector train_world_detector(const WorldTrainingOptions& options,
                              const std::function<void(const TrainingProgress&)>& on_progress = {});

/// Measures any detector (either kind, with its stored calibration and band) on the
/// held-out families against held-out real photos: per family and per source, AUC, AP,
/// accuracy at the threshold, calibration error, the shares called generated / uncertain /
/// no sign; as published (centre square), re-encoded ("clean"), then JPEG 75 and half
/// size and back; the shortcut check; images per second.
nlohmann::json measure_world_detector(Detector& detector, const WorldTrainingOptions& options,
                                      const std::function<void(const TrainingProgress&)>& on_progress = {});

}  // namespace facegen::detect
