#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "core/progress.h"
#include "edit/editor.h"
#include "generate/session.h"

// `facegen dataset synth`: a labelled dataset of generated faces whose joint distribution
// over classifier-read groups (age bands x gender x ethnicity by default) is chosen. Seeds
// are drawn in order and each face goes to the cell its scores fall in while that cell
// wants more; a face whose cell is full is edited (src/edit targets) toward the nearest
// cell that still wants faces, and kept when the classifier then reads it there. Near-
// duplicates (perceptual hash) and copies of training faces (metrics::find_nearest) are
// left out. The folder is ImageFolder-shaped (DIR/<cell>/<seed>.png) with labels.csv,
// labels.json, latents.npy, report.json and balance.svg beside the cell folders; a journal
// makes an interrupted run resumable. Layout and figures: docs/dataset.md, "Synthetic".
namespace facegen::synth {

inline constexpr const char* kManifestFileName = "synth.json";
inline constexpr const char* kJournalFileName = "synth-journal.jsonl";

struct SynthOptions {
    std::filesystem::path out;
    int64_t count = 1000;
    std::string balance = "age,gender,ethnicity";
    /// Upper edges of the age bands in years: 0-9, 10-19, ..., 60-69, 70+.
    std::vector<double> age_band_edges = {10, 20, 30, 40, 50, 60, 70};
    /// Weight per cell name (JSON object); null = uniform over the cells.
    nlohmann::json distribution;
    uint32_t first_seed = 0;
    std::optional<double> truncation_psi;  // absent: the model's recommended psi
    int64_t batch = 16;
    /// Edit faces whose cell is full toward cells that want more (needs an editor).
    bool edit = true;
    /// Bounds: seeds drawn <= max_tries x count, and edits aimed at a cell <= max_tries x
    /// its requested count; a cell still short then is given up and reported.
    int64_t max_tries = 20;
    /// A face within this many bits (of 64) of a kept face's perceptual hash is a
    /// near-duplicate; -1 keeps all.
    int dedup_threshold = 4;
    /// Packed training dataset for the memorisation check ("" = not checked).
    std::filesystem::path training;
    /// A face nearer than this RMS pixel distance (uint8 units) to a training face (or its
    /// mirror image) is a copy and is replaced. Held-out real faces measure >= 5 to the
    /// bundled model's training set, two different faces about 30 (docs/model-card.md).
    double copy_threshold = 10.0;
    /// Replace a folder that is not this run (another synth run, or anything else).
    bool overwrite = false;

    /// Throws facegen::Error naming the value (count, bounds, balance, distribution).
    void validate() const;
};

/// What a run needs loaded: the model, the classifier whose scores decide the cells, and
/// (for SynthOptions::edit) an editor with targets (it must hold the same classifier).
struct SynthTools {
    generate::Session& session;
    attributes::AttributeClassifier& classifier;
    edit::Editor* editor = nullptr;
    /// Recorded in the manifest, so that a resumed run uses the same one.
    std::string classifier_name;
};

/// The run's outcome: report.json's content ("requested", "achieved", "tries",
/// "rejected", "short_cells", "nearest", "stats", timing), also written to out/.
struct SynthResult {
    nlohmann::json report;
    std::vector<std::string> short_cells;  // cells that got fewer faces than requested
    bool complete() const { return short_cells.empty(); }
};

/// Makes (or continues) the dataset at options.out. Throws facegen::Error before writing
/// anything for bad options, an existing folder that is not this run (unless overwrite),
/// or a model whose images are too small for the classifier (64 px).
SynthResult synthesize_dataset(SynthTools& tools, const SynthOptions& options,
                               const core::ProgressCallback& progress = nullptr);

/// Loads the model (empty = bundled), the classifier (empty = shipped) and, when
/// options.edit, the directions (empty = beside the model) on the CPU, then runs
/// synthesize_dataset. Throws facegen::Error naming a missing or mismatched file.
SynthResult synthesize_dataset(const std::filesystem::path& model, const std::filesystem::path& classifier,
                               const std::filesystem::path& directions, const SynthOptions& options,
                               const core::ProgressCallback& progress = nullptr);

}  // namespace facegen::synth
