#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "attributes/classifier.h"
#include "generate/session.h"

// Who does a model draw? The bias audit scores generated faces with the attribute classifier
// and sets their age bands, genders and ethnic groups beside the training set's: its labels,
// and the classifier's reading of its images (the fair comparison: the same reader, with the
// same errors, on both sides).
namespace facegen::attributes {

struct AuditOptions {
    int64_t count = 2000;
    uint32_t first_seed = 3'000'000;  // away from the seeds directions are fitted on
    std::optional<double> truncation_psi;  // absent: the model's recommended psi
    int64_t batch = 32;
    /// Training images read by the classifier (a seeded sample of the dataset; 0 = none).
    int64_t dataset_images = 2000;
};

/// The audit as JSON: per group (age_band, gender, ethnicity) the share of each class in
/// "generated", "training_labels" and "training_classified" (the latter two only with a
/// dataset), plus means of the classifier's age and gender. `dataset` may be empty.
nlohmann::json audit_outputs(generate::Session& session, AttributeClassifier& classifier,
                             const std::filesystem::path& dataset, const AuditOptions& options,
                             const std::function<void(int64_t done, int64_t total)>& progress = {});

/// A grouped bar chart of an audit (SVG text, self-contained): one panel per group, one bar
/// per source and class.
std::string audit_chart_svg(const nlohmann::json& audit);

}  // namespace facegen::attributes
