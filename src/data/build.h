#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/face_align.h"
#include "data/labels.h"

namespace facegen::data {

/// What `facegen dataset build` does (docs/dataset.md).
struct BuildOptions {
    std::vector<std::filesystem::path> inputs;  // folders (recursive), image files, zip/tar archives
    std::filesystem::path out;                  // the packed dataset folder to create
    int64_t resolution = 256;                   // output side, a power of two
    AlignMode align = AlignMode::kFFHQ;
    double crop_scale = 1.0;                    // ffhq: side of the crop square / the FFHQ rule's (< 1 = tighter)
    LabelSpec labels;                           // default auto
    FacePolicy faces = FacePolicy::kLargest;
    int dedup_threshold = 4;                    // max pHash Hamming distance of duplicates; -1 = keep all
    double val_fraction = 0.05;
    uint64_t seed = 0;
    int64_t n_threads = 2;
    std::string landmarks_model = kDefaultPredictorPath;
    int upsample = 0;                           // detector pyramid-up steps (finds faces < 80 px)
    int64_t limit = 0;                          // stop after this many input files/members (0 = all)
    bool overwrite = false;
    std::string license;                        // terms of the photos, kept in the index (see PackedDataset::license)

    /// Throws facegen::Error naming the bad option and value.
    void validate() const;
};

struct SkippedItem {
    std::string source;  // path or path:member
    std::string reason;
};

struct DuplicateItem {
    std::string source;       // the dropped image
    std::string duplicate_of; // the kept one (its source)
    int distance = 0;
};

struct BuildReport {
    int64_t n_inputs = 0;      // files and archive members looked at
    int64_t n_decoded = 0;     // of which decoded as images
    int64_t n_faces = 0;       // faces found (ffhq)
    int64_t n_aligned = 0;     // crops produced (before dedup)
    int64_t n_images = 0;      // written to the dataset
    int64_t n_train = 0;
    int64_t n_val = 0;
    int64_t n_unlabelled = 0;  // written without a label entry
    std::vector<SkippedItem> skipped;      // not images, broken, no face, ...
    std::vector<DuplicateItem> duplicates;
    std::string labels;                    // provider description, or "none"
    double seconds = 0;
    double mean_pad_fraction = 0;          // ffhq: synthesised share of the crops
    int64_t n_padded = 0;                  // ffhq: crops with any synthesised pixels
    nlohmann::json to_json() const;
};

/// Builds the dataset; progress in "file" units. Throws facegen::Error for bad options or
/// output problems; bad input files are skipped and reported, never thrown.
BuildReport build_dataset(const BuildOptions& options, const core::ProgressCallback& progress = nullptr);

/// What `facegen dataset realign` does: crop again from the photos an ffhq dataset was
/// built from, using the landmarks stored in its provenance (no detection).
struct RealignOptions {
    std::filesystem::path source;  // an existing packed dataset built with --align ffhq
    std::filesystem::path out;     // the dataset to create
    int64_t resolution = 0;        // output side, a power of two; 0 = the source's
    double crop_scale = 1.0;       // as BuildOptions::crop_scale
    int64_t n_threads = 2;
    bool overwrite = false;

    /// Throws facegen::Error naming the bad option and value.
    void validate() const;
};

/// Re-crops every image of `options.source` from its recorded source photo (file or archive
/// member) and 68 landmarks; labels, split, provenance and the dedup decisions (which images
/// exist) are carried over, so image i of the result shows the same face as image i of the
/// source. Throws facegen::Error before writing anything when an image has no landmarks or a
/// source file is missing, and during the run when a source no longer decodes to its
/// recorded size. The report fills n_inputs, n_images, n_train, n_val, labels,
/// mean_pad_fraction, n_padded and seconds.
BuildReport realign_dataset(const RealignOptions& options, const core::ProgressCallback& progress = nullptr);

/// Derived datasets (realign, resize) keep the source's licence in their build record.
/// Makes a smaller copy of a packed dataset (area filter), keeping labels, splits and
/// provenance: the way lower resolutions of an aligned set are made (FFHQ's own 256/128
/// versions are resized from the 1024 crops). `resolution` must be a smaller power of two.
void resize_dataset(const std::filesystem::path& source, const std::filesystem::path& out, int64_t resolution,
                    bool overwrite, const core::ProgressCallback& progress = nullptr);

}  // namespace facegen::data
