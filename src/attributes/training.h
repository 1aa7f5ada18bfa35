#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "attributes/classifier.h"
#include "facenet/photo_augment.h"

// Training the attribute classifier on labelled real faces, and what it scores on faces it
// never saw. Both datasets are packed datasets aligned like the generator's training data
// (facegen dataset build), so the classifier reads generated faces the way it learned.
namespace facegen::attributes {

struct ClassifierTrainingOptions {
    std::filesystem::path utkface;  // labels age, gender, race (facegen dataset build --labels utkface)
    std::filesystem::path celeba;   // CelebA's 40 attributes (--labels celeba; split by identity)
    int64_t steps = 8000;
    int64_t batch = 64;  // half from each dataset
    double learning_rate = 1e-3;
    int64_t width = 32;
    uint64_t seed = 0;
    /// Mild colour changes only: hair colour and lighting are attributes.
    facenet::AugmentOptions augment{0.5, 0.3, 0.2, 0.2, 0.3, 0.15};

    /// Throws facegen::Error naming the first bad value.
    void validate() const;
};

struct ClassifierProgress {
    std::string phase;
    int64_t done = 0;
    int64_t total = 0;
    double loss = 0;
};

/// Trains on the train splits and measures on the val splits (measure_classifier); the
/// report travels in the classifier file.
AttributeClassifier train_classifier(const ClassifierTrainingOptions& options,
                                     const std::function<void(const ClassifierProgress&)>& on_progress = {});

/// Held-out figures on the val splits: age MAE in years (overall and by decade), and per
/// binary attribute accuracy at 0.5, balanced accuracy, AUC and the majority-class baseline;
/// ethnicity: accuracy of the most likely group and recall per group.
nlohmann::json measure_classifier(AttributeClassifier& classifier, const std::filesystem::path& utkface,
                                  const std::filesystem::path& celeba);

}  // namespace facegen::attributes
