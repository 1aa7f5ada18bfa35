#include "data/build.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/dedup_split.h"
#include "data/pack.h"
#include "data/sources.h"

namespace facegen::data {
namespace fs = std::filesystem;
namespace {

constexpr size_t kBlockPerThread = 32;  // items decoded per thread between ordered writes
constexpr size_t kMaxListed = 200;      // unlabelled names listed in the report
// The FFHQ square puts the mouth up to 0.25 of its side below the centre (0.9 x eye-to-mouth
// on a side >= 3.6 x eye-to-mouth): below 0.5 the mouth can leave the crop.
constexpr double kMinCropScale = 0.5;
constexpr double kMaxCropScale = 2.0;

struct Candidate {
    RgbImage image;  // resolution x resolution
    nlohmann::json provenance;
    double pad_fraction = 0;
};

struct ItemResult {
    std::vector<Candidate> crops;
    std::string skip_reason;  // empty when crops were made
    bool decoded = false;
    int64_t n_faces = 0;
};

double round_to(double v, double step) { return std::nearbyint(v / step) * step; }

// The crop-dependent part of an image's `quality` provenance.
void set_crop_quality(nlohmann::json& quality, const CropReport& crop, double crop_scale) {
    quality["pad_fraction"] = round_to(crop.pad_fraction, 1e-4);
    quality["source_scale"] = round_to(crop.source_scale, 1e-3);
    quality["crop_scale"] = crop_scale;
}

nlohmann::json face_provenance(const FaceDetection& face, const FFHQQuad& quad, const CropReport& crop, double crop_scale) {
    nlohmann::json landmarks = nlohmann::json::array();
    for (const auto& p : face.landmarks) landmarks.push_back({round_to(p.x, 0.1), round_to(p.y, 0.1)});
    const double roll = std::atan2(quad.eye_to_eye.y, quad.eye_to_eye.x) * 180.0 / M_PI;
    nlohmann::json quality = {{"detector_score", round_to(face.score, 1e-4)},
                              {"eye_distance", round_to(std::hypot(quad.eye_to_eye.x, quad.eye_to_eye.y), 0.01)},
                              {"eye_to_mouth", round_to(std::hypot(quad.eye_to_mouth.x, quad.eye_to_mouth.y), 0.01)},
                              {"roll_deg", round_to(roll, 0.01)}};
    set_crop_quality(quality, crop, crop_scale);
    return {{"box", {face.left, face.top, face.right, face.bottom}}, {"landmarks", landmarks}, {"quality", quality}};
}

ItemResult process_item(const SourceItem& item, const std::string& read_error, const BuildOptions& options,
                        FaceDetector* detector) {
    ItemResult result;
    if (!read_error.empty()) {
        result.skip_reason = read_error;
        return result;
    }
    DecodedImage decoded;
    try {
        decoded = decode_image(item.bytes, item.display());
    } catch (const Error& e) {
        const std::string message = e.what();
        const auto colon = message.find("failed: ");
        result.skip_reason = colon == std::string::npos ? message : message.substr(colon + 8);
        return result;
    }
    result.decoded = true;
    nlohmann::json base = {{"source", item.path},
                           {"source_size", {decoded.image.width, decoded.image.height}},
                           {"format", to_string(decoded.format)}};
    if (!item.member.empty()) base["member"] = item.member;
    if (decoded.exif_orientation != 1) base["exif_orientation"] = decoded.exif_orientation;
    if (!decoded.notes.empty()) base["converted"] = decoded.notes;

    if (options.align == AlignMode::kNone) {
        if (decoded.image.width != decoded.image.height) {
            std::ostringstream reason;
            reason << "not square (" << decoded.image.width << "x" << decoded.image.height
                   << "); alignment none needs square images (center-crop takes their middle)";
            result.skip_reason = reason.str();
            return result;
        }
        RgbImage image = decoded.image.width == options.resolution
                             ? std::move(decoded.image)
                             : resize_area(decoded.image, options.resolution, options.resolution);
        result.crops.push_back({std::move(image), base, 0});
        return result;
    }
    if (options.align == AlignMode::kCenterCrop) {
        result.crops.push_back({center_crop(decoded.image, options.resolution), base, 0});
        return result;
    }
    const std::vector<FaceDetection> faces = detector->detect(decoded.image);
    result.n_faces = static_cast<int64_t>(faces.size());
    if (faces.empty()) {
        result.skip_reason = "no face found";
        return result;
    }
    if (faces.size() > 1 && options.faces == FacePolicy::kSkip) {
        result.skip_reason = std::to_string(faces.size()) + " faces (face policy skip)";
        return result;
    }
    const size_t n_use = options.faces == FacePolicy::kAll ? faces.size() : 1;
    for (size_t k = 0; k < n_use; ++k) {
        const FFHQQuad quad = ffhq_quad(faces[k].landmarks, options.crop_scale);
        CropReport crop;
        RgbImage image = ffhq_crop(decoded.image, quad, options.resolution, &crop);
        nlohmann::json provenance = base;
        provenance.update(face_provenance(faces[k], quad, crop, options.crop_scale));
        provenance["n_faces"] = faces.size();
        provenance["face_index"] = k;
        result.crops.push_back({std::move(image), std::move(provenance), crop.pad_fraction});
    }
    return result;
}

std::vector<uint8_t> to_chw(const RgbImage& image) {
    const size_t plane = static_cast<size_t>(image.width * image.height);
    std::vector<uint8_t> chw(plane * 3);
    for (size_t i = 0; i < plane; ++i) {
        for (size_t c = 0; c < 3; ++c) chw[c * plane + i] = image.pixels[i * 3 + c];
    }
    return chw;
}

std::string hex64(uint64_t v) {
    std::ostringstream out;
    out << std::hex << std::setw(16) << std::setfill('0') << v;
    return out.str();
}

// What realign needs of one image's provenance record.
struct RealignItem {
    std::string path;    // source file (the archive, for a member)
    std::string member;  // archive member, or empty
    int64_t width = 0, height = 0;  // recorded decoded size (0 = not recorded)
    std::vector<Point2> landmarks;
    std::string display() const { return member.empty() ? path : path + ":" + member; }
};

// Parses every record first, so a dataset without landmarks or with missing photos fails
// before anything is written.
std::vector<RealignItem> realign_items(const std::vector<nlohmann::json>& provenance, const fs::path& dataset) {
    std::vector<RealignItem> items(provenance.size());
    size_t n_missing = 0;
    std::string first_missing;
    for (size_t i = 0; i < provenance.size(); ++i) {
        const nlohmann::json& record = provenance[i];
        RealignItem& item = items[i];
        const auto* landmarks = record.contains("landmarks") ? &record["landmarks"] : nullptr;
        if (landmarks == nullptr || !landmarks->is_array() || landmarks->size() != 68 || !record.contains("source")) {
            throw make_error("realign: image ", i, " of '", dataset.string(),
                             "' has no source path and 68 landmarks in its provenance; realign needs a dataset built with ffhq alignment");
        }
        for (const auto& p : *landmarks) item.landmarks.push_back({p.at(0).get<double>(), p.at(1).get<double>()});
        item.path = record["source"].get<std::string>();
        item.member = record.value("member", std::string());
        if (record.contains("source_size")) {
            item.width = record["source_size"].at(0).get<int64_t>();
            item.height = record["source_size"].at(1).get<int64_t>();
        }
        if (!fs::is_regular_file(item.path)) {
            if (n_missing++ == 0) first_missing = "'" + item.path + "' (image " + std::to_string(i) + ")";
        }
    }
    if (n_missing > 0) {
        throw make_error("realign: source photo ", first_missing, " not found; ", n_missing, " of ", items.size(),
                         " sources of '", dataset.string(), "' are missing (realign re-reads the photos the dataset was built from)");
    }
    return items;
}

// Reads recorded sources: plain files directly, archive members by walking the archive
// forward (a dataset stores its images in walk order, so each archive is read about once).
class SourceReader {
public:
    std::string read(const RealignItem& item) {
        if (item.member.empty()) return core::read_file(item.path);
        for (int pass = 0; pass < 2; ++pass) {
            std::unique_ptr<SourceWalker>& walker = archives_[item.path];
            if (!walker || pass == 1) walker = std::make_unique<SourceWalker>(std::vector<fs::path>{item.path});
            SourceItem found;
            std::string error;
            while (walker->next(found, error)) {
                if (found.member != item.member) continue;
                if (!error.empty()) throw make_error("read '", item.display(), "' failed: ", error);
                return std::move(found.bytes);
            }
        }
        throw make_error("realign: member '", item.member, "' not found in archive '", item.path, "'");
    }

private:
    std::map<std::string, std::unique_ptr<SourceWalker>> archives_;
};

struct RealignResult {
    std::vector<uint8_t> chw;
    CropReport crop;
    uint64_t hash = 0;
    std::exception_ptr error;
};

RealignResult realign_one(const RealignItem& item, const std::string& bytes, int64_t index, int64_t resolution,
                          double crop_scale) {
    const DecodedImage decoded = decode_image(bytes, item.display());
    if (item.width > 0 && (decoded.image.width != item.width || decoded.image.height != item.height)) {
        throw make_error("realign: source '", item.display(), "' of image ", index, " is ", decoded.image.width, "x",
                         decoded.image.height, " but was ", item.width, "x", item.height,
                         " when the dataset was built (the photo changed; its landmarks no longer apply)");
    }
    RealignResult result;
    const RgbImage image = ffhq_crop(decoded.image, ffhq_quad(item.landmarks, crop_scale), resolution, &result.crop);
    result.chw = to_chw(image);
    result.hash = perceptual_hash(result.chw.data(), 3, resolution);
    return result;
}

}  // namespace

void RealignOptions::validate() const {
    if (source.empty()) throw make_error("no source dataset given");
    if (!fs::exists(source / kIndexFileName)) throw make_error("dataset '", source.string(), "' not found (no ", kIndexFileName, ")");
    if (out.empty()) throw make_error("no output folder given");
    if (fs::exists(out) && fs::equivalent(source, out)) {
        throw make_error("output folder '", out.string(), "' is the source dataset; realign into a new folder");
    }
    if (resolution != 0 && (resolution < 8 || resolution > 2048 || (resolution & (resolution - 1)) != 0)) {
        throw make_error("bad resolution ", resolution, " (0 = the source's, or a power of two from 8 to 2048)");
    }
    if (!(crop_scale >= kMinCropScale && crop_scale <= kMaxCropScale)) {
        throw make_error("bad crop scale ", crop_scale, " (", kMinCropScale, " to ", kMaxCropScale, ")");
    }
    if (n_threads < 1 || n_threads > 256) throw make_error("bad thread count ", n_threads, " (1 to 256)");
}

void BuildOptions::validate() const {
    if (inputs.empty()) throw make_error("no input folder or archive given");
    for (const auto& input : inputs) {
        if (!fs::exists(input)) throw make_error("input '", input.string(), "' not found");
    }
    if (out.empty()) throw make_error("no output folder given");
    if (resolution < 8 || resolution > 2048 || (resolution & (resolution - 1)) != 0) {
        throw make_error("bad resolution ", resolution, " (a power of two from 8 to 2048)");
    }
    if (!(val_fraction >= 0 && val_fraction < 1)) throw make_error("bad validation fraction ", val_fraction, " (0 <= f < 1)");
    if (!(crop_scale >= kMinCropScale && crop_scale <= kMaxCropScale)) {
        throw make_error("bad crop scale ", crop_scale, " (", kMinCropScale, " to ", kMaxCropScale, ")");
    }
    if (crop_scale != 1.0 && align != AlignMode::kFFHQ) {
        throw make_error("crop scale ", crop_scale, " needs ffhq alignment (got alignment ", to_string(align), ")");
    }
    if (n_threads < 1 || n_threads > 256) throw make_error("bad thread count ", n_threads, " (1 to 256)");
    if (dedup_threshold < -1 || dedup_threshold > 32) throw make_error("bad dedup threshold ", dedup_threshold, " (-1 to 32)");
    if (upsample < 0 || upsample > 3) throw make_error("bad detector upsampling ", upsample, " (0 to 3)");
    if (limit < 0) throw make_error("bad image limit ", limit);
}

nlohmann::json BuildReport::to_json() const {
    nlohmann::json skipped_json = nlohmann::json::array();
    std::map<std::string, int64_t> by_reason;
    for (const auto& s : skipped) {
        skipped_json.push_back({{"source", s.source}, {"reason", s.reason}});
        ++by_reason[s.reason.substr(0, s.reason.find(" ("))];
    }
    nlohmann::json duplicates_json = nlohmann::json::array();
    for (const auto& d : duplicates) {
        duplicates_json.push_back({{"source", d.source}, {"duplicate_of", d.duplicate_of}, {"distance", d.distance}});
    }
    return {{"n_inputs", n_inputs},       {"n_decoded", n_decoded},     {"n_faces", n_faces},
            {"n_aligned", n_aligned},     {"n_images", n_images},       {"n_train", n_train},
            {"n_val", n_val},             {"n_skipped", skipped.size()}, {"skipped_by_reason", by_reason},
            {"n_duplicates", duplicates.size()}, {"n_unlabelled", n_unlabelled}, {"labels", labels},
            {"seconds", seconds},         {"images_per_second", seconds > 0 ? static_cast<double>(n_inputs) / seconds : 0.0},
            {"n_padded", n_padded},       {"mean_pad_fraction", mean_pad_fraction},
            {"skipped", skipped_json},    {"duplicates", duplicates_json}};
}

namespace {

// The steps of build_dataset.

/// The label source, asked to recognise the first 200 file names.
std::unique_ptr<LabelProvider> open_labels(const BuildOptions& options, const SourceWalker& walker) {
    std::vector<std::string> sample_names;
    for (const auto& file : walker.files()) {
        if (sample_names.size() >= 200) break;
        sample_names.push_back(file.filename().string());
    }
    return make_label_provider(options.labels, options.inputs, sample_names);
}

/// The column of person identities (the split keeps a person's images together), or -1.
int64_t identity_column_of(const std::vector<LabelColumn>& columns) {
    for (size_t c = 0; c < columns.size(); ++c) {
        if (columns[c].name == "identity") return static_cast<int64_t>(c);
    }
    return -1;
}

/// One face detector per thread for FFHQ alignment; none otherwise.
std::vector<std::unique_ptr<FaceDetector>> make_detectors(const BuildOptions& options) {
    std::vector<std::unique_ptr<FaceDetector>> detectors;
    if (options.align == AlignMode::kFFHQ) {
        detectors.push_back(std::make_unique<FaceDetector>(options.landmarks_model, options.upsample));
        for (int64_t t = 1; t < options.n_threads; ++t) detectors.push_back(detectors[0]->clone());
    }
    return detectors;
}

/// Source files read in walk order, decoded together and then written in that order.
struct SourceBlock {
    std::vector<SourceItem> items;
    std::vector<std::string> errors;  // a read error per item ("" when read)
};

/// Reads up to `block_size` items; false when the walk (or options.limit) ends with it.
bool read_block(SourceWalker& walker, const BuildOptions& options, int64_t n_inputs_before, size_t block_size,
                SourceBlock& block) {
    while (block.items.size() < block_size) {
        if (options.limit > 0 && n_inputs_before + static_cast<int64_t>(block.items.size()) >= options.limit) return false;
        SourceItem item;
        std::string error;
        if (!walker.next(item, error)) return false;
        block.items.push_back(std::move(item));
        block.errors.push_back(std::move(error));
    }
    return true;
}

/// Decodes, detects and aligns every item of `block` on options.n_threads threads; an
/// item that throws is skipped with the reason.
std::vector<ItemResult> process_block(const SourceBlock& block, const BuildOptions& options,
                                      const std::vector<std::unique_ptr<FaceDetector>>& detectors) {
    std::vector<ItemResult> results(block.items.size());
    std::atomic<size_t> next{0};
    auto work = [&](size_t thread) {
        for (size_t i = next++; i < block.items.size(); i = next++) {
            try {
                results[i] = process_item(block.items[i], block.errors[i], options,
                                          detectors.empty() ? nullptr : detectors[thread].get());
            } catch (const std::exception& e) {
                results[i] = ItemResult{};
                results[i].skip_reason = std::string("failed: ") + e.what();
            }
        }
    };
    std::vector<std::thread> threads;
    const size_t n_threads = std::min(static_cast<size_t>(options.n_threads), std::max<size_t>(block.items.size(), 1));
    for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(work, t);
    work(0);
    for (auto& t : threads) t.join();
    return results;
}

/// The pack being written and what the report counts of it.
class PackBuilder {
public:
    PackBuilder(const BuildOptions& options, const LabelProvider* labels)
        : options_(options),
          labels_(labels),
          writer_(options.out, options.resolution, /*channels=*/3, options.overwrite),
          duplicates_(options.dedup_threshold) {
        report_.labels = labels ? labels->describe() : "none";
        index_.label_columns = labels ? labels->columns() : std::vector<LabelColumn>{};
    }

    /// Writes the crops of a processed block in walk order: labels looked up, near
    /// duplicates of a kept image left out, skips recorded.
    void add(const SourceBlock& block, std::vector<ItemResult>& results) {
        for (size_t i = 0; i < block.items.size(); ++i) {
            const SourceItem& item = block.items[i];
            ++report_.n_inputs;
            ItemResult& r = results[i];
            report_.n_decoded += r.decoded ? 1 : 0;
            report_.n_faces += r.n_faces;
            if (!r.skip_reason.empty()) {
                report_.skipped.push_back({item.display(), r.skip_reason});
                continue;
            }
            std::optional<std::vector<int64_t>> row;
            if (labels_) row = labels_->lookup(item.base_name(), item.member.empty() ? item.path : item.member);
            if (labels_ && !row) {
                ++report_.n_unlabelled;
                if (unlabelled_.size() < kMaxListed) unlabelled_.push_back(item.display());
            }
            for (auto& crop : r.crops) add_crop(item, crop, row);
        }
    }

    void report_progress(const core::ProgressCallback& progress, double total) const {
        if (!progress) return;
        core::ProgressReport p{"file", static_cast<double>(report_.n_inputs), total, {}};
        p.figures = {{"kept", static_cast<double>(writer_.size())},
                     {"skipped", static_cast<double>(report_.skipped.size())},
                     {"dups", static_cast<double>(report_.duplicates.size())}};
        progress(p);
    }

    /// Splits the images (by identity when the labels have one), records the build in the
    /// index and commits the pack.
    BuildReport commit(std::chrono::steady_clock::time_point start) {
        report_.n_images = writer_.size();
        if (report_.n_images == 0) {
            throw make_error("no images to write: ", report_.n_inputs, " inputs, ", report_.skipped.size(),
                             " skipped (first: ",
                             report_.skipped.empty() ? "-" : report_.skipped[0].source + ": " + report_.skipped[0].reason,
                             ")");
        }
        const int64_t identity_column = identity_column_of(index_.label_columns);
        std::vector<int64_t> identities;
        if (identity_column >= 0) {
            for (const auto& row : index_.labels) identities.push_back(row[static_cast<size_t>(identity_column)]);
        }
        index_.splits = make_split(report_.n_images, identities, options_.val_fraction, options_.seed);
        for (Split s : index_.splits) (s == Split::kTrain ? report_.n_train : report_.n_val)++;
        report_.mean_pad_fraction = pad_sum_ / static_cast<double>(report_.n_images);
        report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        nlohmann::json inputs = nlohmann::json::array();
        for (const auto& input : options_.inputs) inputs.push_back(fs::absolute(input).string());
        index_.build = report_.to_json();
        index_.build["unlabelled"] = unlabelled_;
        index_.build["params"] = {{"inputs", inputs},
                                  {"resolution", options_.resolution},
                                  {"align", to_string(options_.align)},
                                  {"crop_scale", options_.crop_scale},
                                  {"labels", to_string(options_.labels)},
                                  {"faces", to_string(options_.faces)},
                                  {"dedup_threshold", options_.dedup_threshold},
                                  {"val_fraction", options_.val_fraction},
                                  {"seed", options_.seed},
                                  {"landmarks_model", options_.landmarks_model},
                                  {"upsample", options_.upsample},
                                  {"limit", options_.limit}};
        index_.build["split_by"] = identity_column >= 0 ? "identity" : "image";
        if (!options_.license.empty()) index_.build["license"] = options_.license;
        writer_.commit(std::move(index_));
        return report_;
    }

private:
    void add_crop(const SourceItem& item, Candidate& crop, const std::optional<std::vector<int64_t>>& row) {
        ++report_.n_aligned;
        const std::vector<uint8_t> chw = to_chw(crop.image);
        const uint64_t hash = perceptual_hash(chw.data(), 3, options_.resolution);
        const auto candidate_index = static_cast<int64_t>(kept_sources_.size());
        if (auto match = duplicates_.check_and_add(hash, candidate_index)) {
            report_.duplicates.push_back(
                {item.display(), kept_sources_[static_cast<size_t>(match->index)], match->distance});
            return;
        }
        crop.provenance["phash"] = hex64(hash);
        writer_.append(chw.data(), crop.provenance);
        kept_sources_.push_back(item.display());
        index_.labels.push_back(row ? *row : std::vector<int64_t>(index_.label_columns.size(), kUnknownLabel));
        pad_sum_ += crop.pad_fraction;
        report_.n_padded += crop.pad_fraction > 0 ? 1 : 0;
    }

    const BuildOptions& options_;
    const LabelProvider* labels_;
    PackWriter writer_;
    BuildReport report_;
    PackIndex index_;
    std::vector<std::string> kept_sources_;  // the source of each kept image, to name duplicates
    std::vector<std::string> unlabelled_;
    DuplicateFinder duplicates_;
    double pad_sum_ = 0;
};

}  // namespace

BuildReport build_dataset(const BuildOptions& options, const core::ProgressCallback& progress) {
    options.validate();
    const auto start = std::chrono::steady_clock::now();
    SourceWalker walker(options.inputs);
    const std::unique_ptr<LabelProvider> labels = open_labels(options, walker);
    const std::vector<std::unique_ptr<FaceDetector>> detectors = make_detectors(options);
    PackBuilder pack(options, labels.get());
    const bool has_archives = std::any_of(walker.files().begin(), walker.files().end(),
                                          [](const fs::path& p) { return is_archive_name(p); });
    const double total = has_archives ? 0.0 : static_cast<double>(walker.files().size());
    const size_t block_size = kBlockPerThread * static_cast<size_t>(options.n_threads);
    int64_t n_inputs = 0;
    for (bool more = true; more;) {
        SourceBlock block;
        more = read_block(walker, options, n_inputs, block_size, block);
        std::vector<ItemResult> results = process_block(block, options, detectors);
        n_inputs += static_cast<int64_t>(block.items.size());
        pack.add(block, results);
        pack.report_progress(progress, total);
    }
    return pack.commit(start);
}

BuildReport realign_dataset(const RealignOptions& options, const core::ProgressCallback& progress) {
    options.validate();
    const auto start = std::chrono::steady_clock::now();
    const PackedDataset dataset(options.source);
    const int64_t resolution = options.resolution > 0 ? options.resolution : dataset.resolution();
    std::vector<nlohmann::json> provenance = dataset.read_provenance();
    if (static_cast<int64_t>(provenance.size()) != dataset.size()) {
        throw make_error("realign: '", options.source.string(), "' has ", provenance.size(), " provenance records for ",
                         dataset.size(), " images");
    }
    const std::vector<RealignItem> items = realign_items(provenance, options.source);

    PackWriter writer(options.out, resolution, /*channels=*/3, options.overwrite);
    SourceReader reader;
    BuildReport report;
    double pad_sum = 0;
    const size_t n = items.size();
    const size_t block_size = kBlockPerThread * static_cast<size_t>(options.n_threads);
    for (size_t begin = 0; begin < n; begin += block_size) {
        const size_t end = std::min(n, begin + block_size);
        std::vector<std::string> bytes(end - begin);
        for (size_t i = begin; i < end; ++i) bytes[i - begin] = reader.read(items[i]);
        std::vector<RealignResult> results(end - begin);
        std::atomic<size_t> next{0};
        auto work = [&] {
            for (size_t k = next++; k < results.size(); k = next++) {
                try {
                    results[k] = realign_one(items[begin + k], bytes[k], static_cast<int64_t>(begin + k), resolution,
                                             options.crop_scale);
                } catch (...) {
                    results[k].error = std::current_exception();
                }
            }
        };
        std::vector<std::thread> threads;
        for (int64_t t = 1; t < std::min<int64_t>(options.n_threads, static_cast<int64_t>(results.size())); ++t) threads.emplace_back(work);
        work();
        for (auto& t : threads) t.join();
        for (size_t k = 0; k < results.size(); ++k) {
            if (results[k].error) std::rethrow_exception(results[k].error);
            nlohmann::json record = std::move(provenance[begin + k]);
            record.erase("resized_from");  // cropped directly at this resolution now
            set_crop_quality(record["quality"], results[k].crop, options.crop_scale);
            record["phash"] = hex64(results[k].hash);
            writer.append(results[k].chw.data(), record);
            pad_sum += results[k].crop.pad_fraction;
            report.n_padded += results[k].crop.pad_fraction > 0 ? 1 : 0;
        }
        if (progress) progress({"img", static_cast<double>(end), static_cast<double>(n), {}});
    }

    PackIndex index = dataset.index();
    report.n_inputs = report.n_images = writer.size();
    for (Split s : index.splits) (s == Split::kTrain ? report.n_train : report.n_val)++;
    report.labels = index.build.value("labels", std::string("none"));
    report.mean_pad_fraction = n > 0 ? pad_sum / static_cast<double>(n) : 0.0;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double source_crop_scale =
        index.build.contains("params") ? index.build["params"].value("crop_scale", 1.0) : 1.0;
    index.build["realigned_from"] = {{"path", fs::absolute(options.source).string()},
                                     {"resolution", dataset.resolution()},
                                     {"crop_scale", source_crop_scale},
                                     {"mean_pad_fraction", index.build.value("mean_pad_fraction", 0.0)},
                                     {"seconds", report.seconds}};
    index.build.erase("resized_from");
    if (const std::string license = dataset.license(); !license.empty()) index.build["license"] = license;
    index.build["params"]["resolution"] = resolution;
    index.build["params"]["crop_scale"] = options.crop_scale;
    index.build["mean_pad_fraction"] = report.mean_pad_fraction;
    index.build["n_padded"] = report.n_padded;
    writer.commit(std::move(index));
    return report;
}

void resize_dataset(const fs::path& source, const fs::path& out, int64_t resolution, bool overwrite,
                    const core::ProgressCallback& progress) {
    const PackedDataset dataset(source);
    if (resolution < 8 || resolution >= dataset.resolution() || (resolution & (resolution - 1)) != 0) {
        throw make_error("bad resolution ", resolution, " (a power of two from 8 to below the dataset's ",
                         dataset.resolution(), ")");
    }
    if (dataset.channels() != 3) throw make_error("resize: dataset '", source.string(), "' has ", dataset.channels(), " channels; need 3");
    const std::vector<nlohmann::json> provenance = dataset.read_provenance();
    PackWriter writer(out, resolution, /*channels=*/3, overwrite);
    const int64_t r = dataset.resolution(), plane = r * r;
    for (int64_t i = 0; i < dataset.size(); ++i) {
        RgbImage image(r, r);
        const uint8_t* chw = dataset.image(i);
        for (int64_t p = 0; p < plane; ++p) {
            for (int64_t c = 0; c < 3; ++c) image.pixels[static_cast<size_t>(p * 3 + c)] = chw[c * plane + p];
        }
        nlohmann::json record = provenance[static_cast<size_t>(i)];
        record["resized_from"] = r;
        writer.append(to_chw(resize_area(image, resolution, resolution)).data(), record);
        if (progress && (i + 1) % 1024 == 0) progress({"img", static_cast<double>(i + 1), static_cast<double>(dataset.size()), {}});
    }
    PackIndex index = dataset.index();
    index.build["resized_from"] = {{"path", fs::absolute(source).string()}, {"resolution", r}};
    if (const std::string license = dataset.license(); !license.empty()) index.build["license"] = license;
    if (index.build.contains("params")) index.build["params"]["resolution"] = resolution;
    writer.commit(std::move(index));
}

}  // namespace facegen::data
