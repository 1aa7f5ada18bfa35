#include "synth/synth.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "attributes/catalogue.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/png_io.h"
#include "data/dedup_split.h"
#include "data/stats.h"
#include "edit/directions.h"
#include "edit/latent_reach.h"
#include "metrics/image_sets.h"
#include "metrics/nearest.h"
#include "provenance/labelled_png.h"
#include "synth/balance.h"
#include "synth/balance_chart.h"
#include "synth/journal.h"
#include "synth/label_files.h"
#include "synth/record.h"
#include "synth/run_folder.h"

namespace facegen::synth {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kClassifierMinSide = 64;  // facenet reads 64x64 crops
constexpr int kMaxCopyRounds = 5;           // refills after removing copies of training faces
constexpr int64_t kNearestChunk = 1024;     // candidates held in memory per nearest search

// Why a drawn seed left no image.
constexpr const char* kCellFull = "cell_full";
constexpr const char* kEditMissed = "edit_missed";
constexpr const char* kDuplicate = "near_duplicate";
constexpr const char* kCopy = "copy_of_training_face";

/// Everything a run has done, rebuilt from the journal when it continues.
struct RunState {
    std::vector<ImageRecord> records;  // kept faces, in the order they were kept
    std::set<uint32_t> seeds_kept;
    uint32_t next_seed = 0;
    int64_t seeds_drawn = 0, edits_tried = 0, edits_kept = 0;
    std::map<std::string, int64_t> rejected;
    std::vector<int64_t> natural, edit_attempts, edit_hits;  // per cell
    double seconds = 0;

    json counters() const {
        return {{"next_seed", next_seed}, {"seeds_drawn", seeds_drawn}, {"edits_tried", edits_tried}, {"edits_kept", edits_kept},
                {"rejected", rejected},   {"natural", natural},         {"edit_attempts", edit_attempts},
                {"edit_hits", edit_hits}, {"seconds", seconds}};
    }
    void restore_counters(const json& j) {
        next_seed = j.at("next_seed").get<uint32_t>();
        seeds_drawn = j.at("seeds_drawn").get<int64_t>();
        edits_tried = j.at("edits_tried").get<int64_t>();
        edits_kept = j.at("edits_kept").get<int64_t>();
        rejected = j.at("rejected").get<std::map<std::string, int64_t>>();
        natural = j.at("natural").get<std::vector<int64_t>>();
        edit_attempts = j.at("edit_attempts").get<std::vector<int64_t>>();
        edit_hits = j.at("edit_hits").get<std::vector<int64_t>>();
        seconds = j.at("seconds").get<double>();
    }
    ImageRecord* find(const std::string& file) {
        for (ImageRecord& r : records) {
            if (r.file == file) return &r;
        }
        return nullptr;
    }
};

RunState replay(const Journal& journal, int64_t n_cells, uint32_t first_seed) {
    RunState state;
    state.next_seed = first_seed;
    state.natural.assign(static_cast<size_t>(n_cells), 0);
    state.edit_attempts = state.natural;
    state.edit_hits = state.natural;
    for (const json& event : journal.events()) {
        if (event.contains("accept")) {
            ImageRecord record = ImageRecord::from_json(event["accept"]);
            state.seeds_kept.insert(record.seed);
            state.records.push_back(std::move(record));
        } else if (event.contains("state")) {
            state.restore_counters(event["state"]);
        } else if (event.contains("nearest")) {
            if (ImageRecord* r = state.find(event["nearest"].at("file").get<std::string>())) {
                r->nearest_rms = event["nearest"].at("rms").get<double>();
                r->nearest_index = event["nearest"].at("index").get<int64_t>();
                r->nearest_mirrored = event["nearest"].at("mirrored").get<bool>();
            }
        } else if (event.contains("remove")) {
            const std::string file = event["remove"].at("file").get<std::string>();
            state.records.erase(std::remove_if(state.records.begin(), state.records.end(),
                                               [&](const ImageRecord& r) { return r.file == file; }),
                                state.records.end());
        }
    }
    return state;
}

/// One run: the loaded tools, the grid, the journal and the state, and the steps.
class Run {
public:
    Run(SynthTools& tools, const SynthOptions& options, const CellGrid& grid, std::vector<int64_t> requested,
        const core::ProgressCallback& progress)
        : tools_(tools),
          options_(options),
          grid_(grid),
          requested_(std::move(requested)),
          progress_(progress),
          journal_(options.out / kJournalFileName),
          state_(replay(journal_, grid.n_cells(), options.first_seed)),
          finder_(options.dedup_threshold) {
        std::set<std::string> kept;
        achieved_.assign(static_cast<size_t>(grid_.n_cells()), 0);
        for (const ImageRecord& r : state_.records) {
            kept.insert(r.file);
            finder_.check_and_add(r.phash, static_cast<int64_t>(kept.size()));
            ++achieved_[static_cast<size_t>(grid_.index_of(r.cell))];
        }
        remove_unrecorded_files(options_.out, kept);
        request_.truncation_psi = options_.truncation_psi;
    }

    void fill();
    /// The memorisation check of faces not checked yet; true when copies were removed.
    bool remove_copies(const metrics::ImageSet& training);
    SynthResult finish();

private:
    bool wants(int64_t cell) const { return achieved_[static_cast<size_t>(cell)] < requested_[static_cast<size_t>(cell)]; }
    bool given_up(int64_t cell) const {
        return state_.edit_attempts[static_cast<size_t>(cell)] >= options_.max_tries * requested_[static_cast<size_t>(cell)];
    }
    bool any_open_cell() const;
    /// The cell an edit of a face from `from` aims at: the nearest (fewest groups to change)
    /// of those that want faces, then the one missing most; -1 when none.
    int64_t edit_target(int64_t from) const;
    void draw(uint32_t seed, const torch::Tensor& ws, const torch::Tensor& pixels, const attributes::AttributeScores& scores);
    bool keep(uint32_t seed, const torch::Tensor& ws, const torch::Tensor& pixels, const attributes::AttributeScores& scores,
              int64_t cell, const std::string& edit);
    void report_progress() const;
    json report_json() const;

    SynthTools& tools_;
    const SynthOptions& options_;
    const CellGrid& grid_;
    std::vector<int64_t> requested_;
    core::ProgressCallback progress_;
    Journal journal_;
    RunState state_;
    data::DuplicateFinder finder_;
    std::vector<int64_t> achieved_;
    generate::Request request_;
    /// Faces this run kept and still holds (a copy of a training face removed is not one).
    std::set<std::string> kept_this_run_;
    double seconds_this_run_ = 0;
};

bool Run::any_open_cell() const {
    for (int64_t c = 0; c < grid_.n_cells(); ++c) {
        if (wants(c) && !(tools_.editor && options_.edit && given_up(c))) return true;
    }
    return false;
}

int64_t Run::edit_target(int64_t from) const {
    int64_t best = -1;
    for (int64_t c = 0; c < grid_.n_cells(); ++c) {
        if (!wants(c) || given_up(c)) continue;
        const auto missing = [&](int64_t cell) {
            return requested_[static_cast<size_t>(cell)] - achieved_[static_cast<size_t>(cell)];
        };
        if (best < 0 || grid_.distance(from, c) < grid_.distance(from, best) ||
            (grid_.distance(from, c) == grid_.distance(from, best) && missing(c) > missing(best))) {
            best = c;
        }
    }
    return best;
}

bool Run::keep(uint32_t seed, const torch::Tensor& ws, const torch::Tensor& pixels, const attributes::AttributeScores& scores,
               int64_t cell, const std::string& edit) {
    const torch::Tensor chw = pixels.permute({2, 0, 1}).contiguous();
    const uint64_t hash = data::perceptual_hash(chw.data_ptr<uint8_t>(), chw.size(0), chw.size(1));
    if (finder_.check_and_add(hash, static_cast<int64_t>(state_.records.size()) + 1)) {
        ++state_.rejected[kDuplicate];
        return false;
    }
    ImageRecord record;
    record.cell = grid_.name(cell);
    record.file = record.cell + "/" + image_file_name(seed);
    record.seed = seed;
    record.edit = edit;
    record.scores = scores;
    record.phash = hash;
    const torch::Tensor w = ws[0].to(torch::kFloat32).contiguous();
    record.w.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());

    provenance::ImageProvenance info = tools_.session.provenance_for(request_);
    info.seed = seed;
    info.edit = edit;
    fs::create_directories(options_.out / record.cell);
    provenance::write_labelled_png(options_.out / record.file, pixels, info);
    journal_.append({{"accept", record.to_json(/*with_latent=*/true)}});
    state_.seeds_kept.insert(seed);
    kept_this_run_.insert(record.file);
    state_.records.push_back(std::move(record));
    ++achieved_[static_cast<size_t>(cell)];
    return true;
}

void Run::draw(uint32_t seed, const torch::Tensor& ws, const torch::Tensor& pixels, const attributes::AttributeScores& scores) {
    const int64_t cell = grid_.cell_of(scores);
    ++state_.natural[static_cast<size_t>(cell)];
    if (wants(cell)) {
        keep(seed, ws, pixels, scores, cell, "");
        return;
    }
    const int64_t target = options_.edit && tools_.editor ? edit_target(cell) : -1;
    if (target < 0) {
        ++state_.rejected[kCellFull];
        return;
    }
    const std::vector<edit::AttributeEdit> targets = grid_.targets(cell, target);
    ++state_.edits_tried;
    ++state_.edit_attempts[static_cast<size_t>(target)];
    const torch::Tensor edited = tools_.editor->apply(tools_.session, ws.unsqueeze(0), targets);
    const torch::Tensor edited_pixels = tools_.session.synthesize(edited, model::NoiseMode::Const);
    const attributes::AttributeScores edited_scores = tools_.classifier.score(edited_pixels)[0];
    const int64_t landed = grid_.cell_of(edited_scores);
    if (!wants(landed)) {
        ++state_.rejected[kEditMissed];
        return;
    }
    if (keep(seed, edited[0], edited_pixels[0], edited_scores, landed, tools_.editor->describe(targets))) {
        ++state_.edits_kept;
        if (landed == target) ++state_.edit_hits[static_cast<size_t>(target)];
    }
}

void Run::fill() {
    torch::NoGradGuard no_grad;
    const int64_t max_seeds = options_.max_tries * options_.count;
    while (any_open_cell() && state_.seeds_drawn < max_seeds) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<uint32_t> seeds;
        while (static_cast<int64_t>(seeds.size()) < std::min(options_.batch, max_seeds - state_.seeds_drawn)) {
            const uint32_t seed = state_.next_seed++;
            // A face kept just before an interruption, whose batch was not finished.
            if (!state_.seeds_kept.count(seed)) seeds.push_back(seed);
        }
        request_.seeds = seeds;
        const torch::Tensor ws = tools_.session.ws_for(request_, 0, static_cast<int64_t>(seeds.size()));
        const torch::Tensor pixels = tools_.session.synthesize(ws, model::NoiseMode::Const);
        const std::vector<attributes::AttributeScores> scores = tools_.classifier.score(pixels);
        for (size_t i = 0; i < seeds.size(); ++i) {
            ++state_.seeds_drawn;
            draw(seeds[i], ws[static_cast<int64_t>(i)], pixels[static_cast<int64_t>(i)], scores[i]);
            if (!any_open_cell()) break;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        state_.seconds += seconds;
        seconds_this_run_ += seconds;
        journal_.append({{"state", state_.counters()}});
        report_progress();
    }
}

bool Run::remove_copies(const metrics::ImageSet& training) {
    std::vector<size_t> unchecked;
    for (size_t i = 0; i < state_.records.size(); ++i) {
        if (!state_.records[i].nearest_rms) unchecked.push_back(i);
    }
    std::set<std::string> copies;
    for (size_t begin = 0; begin < unchecked.size(); begin += kNearestChunk) {
        const size_t n = std::min<size_t>(kNearestChunk, unchecked.size() - begin);
        std::vector<torch::Tensor> images;
        for (size_t k = 0; k < n; ++k) {
            const core::PngImage png = core::read_png(options_.out / state_.records[unchecked[begin + k]].file);
            images.push_back(torch::from_blob(const_cast<uint8_t*>(png.pixels.data()), {png.height, png.width, png.channels}, torch::kUInt8)
                                 .permute({2, 0, 1})
                                 .clone());
        }
        const metrics::NearestNeighbours nn =
            metrics::find_nearest(training, metrics::tensor_images(torch::stack(images), "synthetic faces"));
        for (size_t k = 0; k < n; ++k) {
            ImageRecord& r = state_.records[unchecked[begin + k]];
            const auto i = static_cast<int64_t>(k);
            r.nearest_rms = nn.distance[i].item<double>();
            r.nearest_index = nn.index[i].item<int64_t>();
            r.nearest_mirrored = nn.mirrored[i].item<bool>();
            journal_.append({{"nearest", {{"file", r.file}, {"rms", *r.nearest_rms}, {"index", r.nearest_index},
                                          {"mirrored", r.nearest_mirrored}}}});
            if (*r.nearest_rms < options_.copy_threshold) copies.insert(r.file);
        }
    }
    for (const std::string& file : copies) {
        journal_.append({{"remove", {{"file", file}, {"reason", kCopy}}}});
        fs::remove(options_.out / file);
        // A cell folder left empty would be a class without images to ImageFolder loaders.
        const fs::path cell_folder = (options_.out / file).parent_path();
        if (fs::is_empty(cell_folder)) fs::remove(cell_folder);
        ++state_.rejected[kCopy];
        --achieved_[static_cast<size_t>(grid_.index_of(state_.find(file)->cell))];
        kept_this_run_.erase(file);
    }
    state_.records.erase(std::remove_if(state_.records.begin(), state_.records.end(),
                                        [&](const ImageRecord& r) { return copies.count(r.file) > 0; }),
                         state_.records.end());
    if (!copies.empty()) journal_.append({{"state", state_.counters()}});
    return !copies.empty();
}

void Run::report_progress() const {
    if (!progress_) return;
    int64_t kept = 0;
    for (int64_t n : achieved_) kept += n;
    int64_t rejected = 0;
    for (const auto& [reason, n] : state_.rejected) rejected += n;
    progress_({"img", static_cast<double>(kept), static_cast<double>(options_.count),
               {{"seeds", static_cast<double>(state_.seeds_drawn)},
                {"rejected", static_cast<double>(rejected)},
                {"edited", static_cast<double>(state_.edits_kept)}}});
}

json Run::report_json() const {
    json cells = json::array();
    std::vector<std::string> short_cells;
    int64_t kept = 0, edited = 0;
    for (const ImageRecord& r : state_.records) edited += !r.edit.empty();
    for (int64_t c = 0; c < grid_.n_cells(); ++c) {
        const auto i = static_cast<size_t>(c);
        kept += achieved_[i];
        cells.push_back({{"cell", grid_.name(c)},
                         {"classes", grid_.describe(c)},
                         {"requested", requested_[i]},
                         {"achieved", achieved_[i]},
                         {"natural_draws", state_.natural[i]},
                         {"natural_share", state_.seeds_drawn ? static_cast<double>(state_.natural[i]) / static_cast<double>(state_.seeds_drawn) : 0.0},
                         {"edits_aimed", state_.edit_attempts[i]},
                         {"edits_landed", state_.edit_hits[i]}});
    }
    json nearest = {{"checked", !options_.training.empty()}};
    if (!options_.training.empty()) {
        std::vector<double> rms;
        for (const ImageRecord& r : state_.records) {
            if (r.nearest_rms) rms.push_back(*r.nearest_rms);
        }
        std::sort(rms.begin(), rms.end());
        nearest["training"] = fs::absolute(options_.training).string();
        nearest["copy_threshold"] = options_.copy_threshold;
        nearest["copies_removed"] = state_.rejected.count(kCopy) ? state_.rejected.at(kCopy) : 0;
        if (!rms.empty()) {
            nearest["rms_min"] = rms.front();
            nearest["rms_p05"] = rms[rms.size() / 20];
            nearest["rms_median"] = rms[rms.size() / 2];
        }
    }
    int64_t rejected = 0;
    for (const auto& [reason, n] : state_.rejected) rejected += n;
    return {{"out", fs::absolute(options_.out).string()},
            {"model_id", tools_.session.metadata().model_id},
            {"classifier", tools_.classifier_name},
            {"balance", options_.balance},
            {"requested", options_.count},
            {"achieved", kept},
            {"cells", cells},
            {"seeds_drawn", state_.seeds_drawn},
            {"edits_tried", state_.edits_tried},
            {"edited_images", edited},
            {"rejected", state_.rejected},
            {"rejection_rate", state_.seeds_drawn ? static_cast<double>(rejected) / static_cast<double>(state_.seeds_drawn) : 0.0},
            {"nearest", nearest},
            {"seconds", state_.seconds},
            {"images_per_second", state_.seconds > 0 ? static_cast<double>(kept) / state_.seconds : 0.0},
            {"seconds_this_run", seconds_this_run_},
            {"images_this_run", static_cast<int64_t>(kept_this_run_.size())}};
}

/// dataset stats' figures of the folder, with the balanced groups as its label counts.
json stats_of(const fs::path& out, const CellGrid& grid, const std::vector<ImageRecord>& records) {
    json stats = data::folder_stats(out);
    for (const BalanceGroup& group : grid.groups()) {
        json counts = json::object();
        for (const std::string& c : group.classes) counts[c] = 0;
        for (const ImageRecord& r : records) {
            const std::string c = grid.describe(grid.index_of(r.cell))[group.name].get<std::string>();
            counts[c] = counts[c].get<int64_t>() + 1;
        }
        stats["counts"][group.name] = {{"kind", "classes"}, {"order", group.classes}, {"counts", counts}, {"unknown", 0}};
    }
    return stats;
}

SynthResult Run::finish() {
    std::vector<ImageRecord> records = state_.records;
    std::sort(records.begin(), records.end(), [](const ImageRecord& a, const ImageRecord& b) { return a.file < b.file; });
    const fs::path& out = options_.out;
    write_labels_csv(out / "labels.csv", records, grid_);
    write_labels_json(out / "labels.json", records, grid_);
    write_latents_npy(out / "latents.npy", records, tools_.session.config().num_ws());
    SynthResult result;
    result.report = report_json();
    for (int64_t c = 0; c < grid_.n_cells(); ++c) {
        if (wants(c)) result.short_cells.push_back(grid_.name(c));
    }
    result.report["short_cells"] = result.short_cells;
    const json stats = stats_of(out, grid_, records);
    result.report["stats"] = stats;
    core::write_file_atomically(out / "report.json", result.report.dump(2) + "\n");
    core::write_file_atomically(out / "report.html", data::stats_html(stats, "synthetic faces: " + out.filename().string()));
    core::write_file_atomically(
        out / "balance.svg",
        balance_chart_svg(grid_, requested_, achieved_,
                          "Synthetic faces: achieved vs requested per class and cell (" + options_.balance + ", " +
                              std::to_string(result.report["achieved"].get<int64_t>()) + " of " + std::to_string(options_.count) + ")"));
    return result;
}

/// The training images at the model's size: a set made at a multiple of it (the 128 px
/// dataset a 64 px model was resized from) is area-reduced as `dataset resize` does.
metrics::ImageSet at_resolution(metrics::ImageSet set, int64_t side, const fs::path& where) {
    if (set.resolution == side) return set;
    if (set.resolution < side || set.resolution % side != 0) {
        throw make_error("training dataset '", where.string(), "' holds ", set.resolution, " px images, the model makes ", side,
                         " px: the memorisation check needs that size or a multiple of it");
    }
    const int64_t factor = set.resolution / side;
    set.read = [read = set.read, factor](int64_t begin, int64_t count) {
        return torch::avg_pool2d(read(begin, count).to(torch::kFloat32), factor).round().to(torch::kUInt8);
    };
    set.description += " reduced to " + std::to_string(side) + " px";
    set.resolution = side;
    return set;
}

}  // namespace

void SynthOptions::validate() const {
    if (out.empty()) throw make_error("no output folder given");
    if (count < 1) throw make_error("count ", count, " is not a positive number of images");
    if (batch < 1) throw make_error("batch ", batch, " must be at least 1");
    if (max_tries < 1) throw make_error("max tries ", max_tries, " must be at least 1");
    if (dedup_threshold < -1 || dedup_threshold > 64) throw make_error("dedup threshold ", dedup_threshold, " is not within -1..64 bits");
    if (!(copy_threshold >= 0)) throw make_error("copy threshold ", copy_threshold, " must be >= 0");
    if (truncation_psi && !(*truncation_psi >= 0 && *truncation_psi <= 2)) throw make_error("truncation psi ", *truncation_psi, " is not within 0..2");
    const CellGrid grid(parse_balance(balance, age_band_edges));
    check_every_cell_reached(count, distribution.is_null() ? std::vector<double>{} : weights_from_json(distribution, grid), grid);
    if (!training.empty() && !fs::exists(training)) throw make_error("training dataset '", training.string(), "' not found");
}

SynthResult synthesize_dataset(SynthTools& tools, const SynthOptions& options, const core::ProgressCallback& progress) {
    options.validate();
    const CellGrid grid(parse_balance(options.balance, options.age_band_edges));
    const std::vector<double> weights = options.distribution.is_null() ? std::vector<double>{} : weights_from_json(options.distribution, grid);
    const std::vector<int64_t> requested = requested_counts(options.count, weights, grid.n_cells());
    const int64_t side = tools.session.config().resolution;
    if (side < kClassifierMinSide) {
        throw make_error("model '", tools.session.model_path().string(), "' makes ", side, "x", side,
                         " images; the attribute classifier needs at least ", kClassifierMinSide, "x", kClassifierMinSide);
    }
    if (options.edit && !tools.editor) throw make_error("edits toward under-filled cells need attribute directions and none were given");
    std::optional<metrics::ImageSet> training;
    if (!options.training.empty()) {
        training = at_resolution(metrics::dataset_images(options.training), side, options.training);
    }
    generate::Request probe;
    probe.truncation_psi = options.truncation_psi;
    const json definition = {{"count", options.count},
                             {"balance", options.balance},
                             {"age_band_edges", options.age_band_edges},
                             {"distribution", options.distribution},
                             {"first_seed", options.first_seed},
                             {"truncation_psi", tools.session.truncation_psi_for(probe)},
                             {"edit", options.edit},
                             {"dedup_threshold", options.dedup_threshold},
                             {"training", options.training.empty() ? "" : fs::absolute(options.training).string()},
                             {"copy_threshold", options.copy_threshold},
                             {"model_id", tools.session.metadata().model_id},
                             {"classifier", tools.classifier_name}};
    prepare_run_folder(options.out, definition, options.overwrite);
    Run run(tools, options, grid, requested, progress);
    run.fill();
    for (int round = 0; training && round < kMaxCopyRounds && run.remove_copies(*training); ++round) run.fill();
    return run.finish();
}

SynthResult synthesize_dataset(const fs::path& model, const fs::path& classifier, const fs::path& directions,
                               const SynthOptions& options, const core::ProgressCallback& progress) {
    options.validate();
    generate::Session session(model);
    const std::optional<fs::path> classifier_path = classifier.empty() ? attributes::default_classifier_path() : std::optional<fs::path>(classifier);
    if (!classifier_path) {
        throw make_error("the cells are read by the attribute classifier, and none is shipped (models/",
                         attributes::kBundledClassifierFileName, "): give one");
    }
    attributes::AttributeClassifier scorer = attributes::AttributeClassifier::load(*classifier_path);
    std::unique_ptr<edit::Editor> editor;
    if (options.edit) {
        const fs::path path = directions.empty() ? edit::directions_path_for(session.model_path()) : directions;
        if (!fs::exists(path)) {
            throw make_error("no attribute directions for model '", session.model_path().string(), "' (looked for '", path.string(),
                             "'): make them with facegen attributes directions, or synthesise without edits");
        }
        editor = std::make_unique<edit::Editor>(edit::AttributeDirections::load(path, session.metadata().model_id), &scorer);
        editor->set_reach(edit::LatentReach::sample(session));
    }
    SynthTools tools{session, scorer, editor.get(), classifier_path->filename().string()};
    return synthesize_dataset(tools, options, progress);
}

}  // namespace facegen::synth
