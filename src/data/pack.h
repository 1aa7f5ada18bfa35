#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

// The packed dataset: a folder holding
//   index.json        header, label columns, per-image labels and split, build report
//   images.u8         every image as raw uint8 CHW (channels x resolution x resolution),
//                     back to back, in index order: mmap-able, random access by offset
//   provenance.jsonl  one JSON object per image (source path, archive member, face box,
//                     landmarks, alignment quality); read only by audits, never by training
// The folder is written under a temporary name and renamed into place when complete.
// Format description: docs/dataset.md.
namespace facegen::data {

inline constexpr const char* kIndexFileName = "index.json";
inline constexpr const char* kImagesFileName = "images.u8";
inline constexpr const char* kProvenanceFileName = "provenance.jsonl";
inline constexpr const char* kFormatName = "facegen-dataset";
inline constexpr int kFormatVersion = 1;
/// Value of a label that an image does not have (e.g. UTKFace files without the race field).
inline constexpr int64_t kUnknownLabel = -1;

enum class Split { kTrain, kVal };
std::string to_string(Split split);
Split parse_split(const std::string& text);  // "train" | "val"

/// Which images a reader or loader sees.
enum class SplitSelection { kTrain, kVal, kAll };
std::string to_string(SplitSelection selection);
SplitSelection parse_split_selection(const std::string& text);  // "train" | "val" | "all"

/// One named label. Values are integers >= 0 (kUnknownLabel when absent); a categorical
/// column names its values in `classes` (value k means classes[k]), an integer column
/// (age in years, identity number) leaves `classes` empty.
struct LabelColumn {
    std::string name;
    std::vector<std::string> classes;
};

/// Everything in index.json.
struct PackIndex {
    int64_t resolution = 0;
    int64_t channels = 3;
    std::vector<LabelColumn> label_columns;
    std::vector<std::vector<int64_t>> labels;  // [n_images][n_label_columns]
    std::vector<Split> splits;                 // [n_images]
    nlohmann::json build = nlohmann::json::object();  // how it was built: params, counts, skipped, duplicates
    // Filled by the writer:
    int64_t images_file_bytes = 0;
    uint64_t images_checksum = 0;  // FNV-1a 64 of images.u8

    int64_t size() const { return static_cast<int64_t>(splits.size()); }
    int64_t image_bytes() const { return channels * resolution * resolution; }
    /// Position of a label column, or -1 when absent.
    int64_t column_index(const std::string& name) const;
    /// Indices of the images in `selection`, ascending.
    std::vector<int64_t> select(SplitSelection selection) const;
};
nlohmann::json to_json(const PackIndex& index);
/// Throws facegen::Error naming `where` when a field is missing or inconsistent.
PackIndex pack_index_from_json(const nlohmann::json& json, const std::string& where);

/// Incremental FNV-1a 64 (the images.u8 checksum).
uint64_t fnv1a64(const uint8_t* data, size_t n, uint64_t state = 0xcbf29ce484222325ULL);

/// Writes a packed dataset folder. Images are appended to a temporary sibling folder;
/// commit() writes the index and renames the folder into place. Destroyed without
/// commit() (an exception, a cancelled build), it removes the temporary folder, so a
/// half dataset never appears under the real name.
class PackWriter {
public:
    /// Throws facegen::Error when `dir` exists and `overwrite` is false.
    PackWriter(std::filesystem::path dir, int64_t resolution, int64_t channels, bool overwrite = false);
    ~PackWriter();
    PackWriter(const PackWriter&) = delete;
    PackWriter& operator=(const PackWriter&) = delete;

    /// Appends one uint8 CHW image of channels x resolution x resolution bytes; returns its index.
    int64_t append(const uint8_t* chw, const nlohmann::json& provenance);
    int64_t size() const { return n_images_; }
    /// Writes index.json (labels/splits must cover every appended image) and moves the
    /// folder to its real name (replacing an older dataset only when `overwrite`).
    void commit(PackIndex index);

private:
    std::filesystem::path dir_;
    std::filesystem::path tmp_dir_;
    int64_t resolution_;
    int64_t channels_;
    bool overwrite_;
    bool committed_ = false;
    int64_t n_images_ = 0;
    uint64_t checksum_;
    std::ofstream images_;
    std::ofstream provenance_;
};

/// A packed dataset opened for reading; images.u8 is memory-mapped, so opening is cheap and
/// image(i) is a pointer into the page cache. Thread-safe for concurrent readers.
class PackedDataset {
public:
    /// Throws facegen::Error naming the folder and the problem (missing, truncated, wrong
    /// format version, inconsistent index).
    explicit PackedDataset(const std::filesystem::path& dir);
    ~PackedDataset();
    PackedDataset(const PackedDataset&) = delete;
    PackedDataset& operator=(const PackedDataset&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    const PackIndex& index() const { return index_; }
    int64_t size() const { return index_.size(); }
    int64_t resolution() const { return index_.resolution; }
    int64_t channels() const { return index_.channels; }
    /// uint8 CHW pixels of image i (channels x resolution x resolution bytes).
    const uint8_t* image(int64_t i) const;
    /// Recomputes the images.u8 checksum; throws facegen::Error when it does not match.
    void verify() const;
    /// One JSON object per image from provenance.jsonl (empty objects when the file is absent).
    std::vector<nlohmann::json> read_provenance() const;
    /// The terms the images come with: a LICENSE / LICENSE.txt / license.txt file in the
    /// folder, else the "license" text of the build record; empty when neither exists.
    /// Training copies it into the model file, so it must travel with derived datasets.
    std::string license() const;

private:
    std::filesystem::path dir_;
    PackIndex index_;
    const uint8_t* data_ = nullptr;
    size_t mapped_bytes_ = 0;
};

}  // namespace facegen::data
