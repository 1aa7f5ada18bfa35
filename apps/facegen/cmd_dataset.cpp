// `facegen dataset build|realign|stats|info|resize|bench|synth`: photos -> aligned, labelled, audited packed
// dataset; synth: a balanced, labelled dataset of generated faces.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.h"
#include "core/atomic_file.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/build.h"
#include "data/loader.h"
#include "data/pack.h"
#include "data/stats.h"
#ifdef FACEGEN_HAVE_SYNTH
#include "synth/synth.h"
#endif

namespace facegen::app {
namespace {

namespace fs = std::filesystem;

// --license: the text itself, or @FILE to read it from a file (a dataset's README, say).
std::string read_license_option(const std::string& value) {
    if (value.empty() || value[0] != '@') return value;
    try {
        return core::read_file(value.substr(1));
    } catch (const Error& e) {
        throw make_error("--license: ", e.what());
    }
}

struct DatasetBuildParams {
    std::vector<std::string> input;
    std::string out;
    int64_t resolution = 256;
    std::string align = "ffhq";
    double crop_scale = 1.0;
    std::string labels = "auto";
    std::string faces = "largest";
    int dedup_threshold = 4;
    double val_fraction = 0.05;
    uint64_t seed = 0;
    int64_t threads = 2;
    std::string landmarks_model = data::kDefaultPredictorPath;
    int upsample = 0;
    int64_t limit = 0;
    bool overwrite = false;
    std::string report;  // optional JSON file with the full build report
    std::string license;  // terms of the photos (text, or @FILE)

    data::BuildOptions to_options() const {
        data::BuildOptions o;
        for (const auto& i : input) o.inputs.emplace_back(i);
        o.out = out;
        o.resolution = resolution;
        o.align = data::parse_align_mode(align);
        o.crop_scale = crop_scale;
        o.labels = data::parse_label_spec(labels);
        o.faces = data::parse_face_policy(faces);
        o.dedup_threshold = dedup_threshold;
        o.val_fraction = val_fraction;
        o.seed = seed;
        o.n_threads = threads;
        o.landmarks_model = landmarks_model;
        o.upsample = upsample;
        o.limit = limit;
        o.overwrite = overwrite;
        o.license = read_license_option(license);
        return o;
    }
    void validate() const { to_options().validate(); }
    std::string to_string() const {
        std::ostringstream s;
        s << "dataset build: input=[";
        for (size_t i = 0; i < input.size(); ++i) s << (i ? ", " : "") << input[i];
        s << "] out=" << out << " resolution=" << resolution << " align=" << align << " crop_scale=" << crop_scale << " labels=" << labels
          << " faces=" << faces << " dedup_threshold=" << dedup_threshold << " val_fraction=" << val_fraction
          << " seed=" << seed << " threads=" << threads << " landmarks_model=" << landmarks_model
          << " upsample=" << upsample << " limit=" << limit << " overwrite=" << overwrite
          << " license=" << (license.empty() ? "(none)" : license.substr(0, 40));
        return s.str();
    }
};

struct DatasetRealignParams {
    std::string path;  // the source dataset
    std::string out;
    int64_t resolution = 0;
    double crop_scale = 1.0;
    int64_t threads = 2;
    bool overwrite = false;
    std::string report;

    data::RealignOptions to_options() const {
        data::RealignOptions o;
        o.source = path;
        o.out = out;
        o.resolution = resolution;
        o.crop_scale = crop_scale;
        o.n_threads = threads;
        o.overwrite = overwrite;
        return o;
    }
    void validate() const { to_options().validate(); }
    std::string to_string() const {
        std::ostringstream s;
        s << "dataset realign: path=" << path << " out=" << out << " resolution=" << resolution
          << " crop_scale=" << crop_scale << " threads=" << threads << " overwrite=" << overwrite << " report=" << report;
        return s.str();
    }
};

struct DatasetStatsParams {
    std::string path;   // packed dataset or folder of images
    std::string json;   // also write the JSON here
    std::string html;   // write the HTML report here
    std::string preview;  // write the sample grid PNG here
    void validate() const {
        if (!fs::exists(path)) throw make_error("stats: '", path, "' not found");
    }
    std::string to_string() const { return "dataset stats: path=" + path + " json=" + json + " html=" + html; }
};

struct DatasetResizeParams {
    std::string path;
    std::string out;
    int64_t resolution = 64;
    bool overwrite = false;
    std::string to_string() const {
        return "dataset resize: path=" + path + " out=" + out + " resolution=" + std::to_string(resolution) +
               " overwrite=" + std::to_string(overwrite);
    }
};

struct DatasetBenchParams {
    std::string path;
    int64_t batch_size = 32;
    int64_t threads = 2;
    bool x_flip = true;
    double seconds = 5;
    void validate() const {
        if (batch_size < 1) throw make_error("bad --batch-size ", batch_size);
        if (threads < 1) throw make_error("bad --threads ", threads);
        if (!(seconds > 0)) throw make_error("bad --seconds ", seconds);
    }
};

#ifdef FACEGEN_HAVE_SYNTH
struct DatasetSynthParams {
    std::string out;
    int64_t count = 1000;
    std::string balance = "age,gender,ethnicity";
    std::vector<double> age_bands = {10, 20, 30, 40, 50, 60, 70};
    std::string distribution;  // JSON file {"CELL": weight}
    std::string model;
    std::string classifier;
    std::string directions;
    std::string training;
    uint32_t first_seed = 0;
    std::optional<double> truncation_psi;
    int64_t batch = 16;
    bool no_edit = false;
    int64_t max_tries = 20;
    int dedup_threshold = 4;
    double copy_threshold = 10.0;
    bool overwrite = false;
    bool allow_short = false;
    int threads = 0;  // 0 = all logical cores

    synth::SynthOptions to_options() const {
        synth::SynthOptions o;
        o.out = out;
        o.count = count;
        o.balance = balance;
        o.age_band_edges = age_bands;
        if (!distribution.empty()) {
            try {
                o.distribution = nlohmann::json::parse(core::read_file(distribution));
            } catch (const nlohmann::json::exception& e) {
                throw make_error("--distribution '", distribution, "' is not JSON: ", e.what());
            }
        }
        o.first_seed = first_seed;
        o.truncation_psi = truncation_psi;
        o.batch = batch;
        o.edit = !no_edit;
        o.max_tries = max_tries;
        o.dedup_threshold = dedup_threshold;
        o.training = training;
        o.copy_threshold = copy_threshold;
        o.overwrite = overwrite;
        return o;
    }
    void validate() const {
        if (threads < 0) throw make_error("dataset synth: bad --threads ", threads, ": expected 0 (all cores) or more");
        try {
            to_options().validate();
        } catch (const Error& e) {
            throw make_error("dataset synth: ", e.what());
        }
    }
    std::string to_string() const {
        std::ostringstream s;
        s << "dataset synth: out=" << out << " count=" << count << " balance=" << balance << " age_bands=";
        for (size_t i = 0; i < age_bands.size(); ++i) s << (i ? "," : "") << age_bands[i];
        s << " distribution=" << (distribution.empty() ? "(uniform)" : distribution) << " model=" << (model.empty() ? "(bundled)" : model)
          << " classifier=" << (classifier.empty() ? "(shipped)" : classifier) << " directions=" << (directions.empty() ? "(beside the model)" : directions)
          << " training=" << (training.empty() ? "(no memorisation check)" : training) << " first_seed=" << first_seed
          << " truncation_psi=" << (truncation_psi ? std::to_string(*truncation_psi) : "(model's)") << " batch=" << batch
          << " edit=" << !no_edit << " max_tries=" << max_tries << " dedup_threshold=" << dedup_threshold
          << " copy_threshold=" << copy_threshold << " overwrite=" << overwrite << " allow_short=" << allow_short << " threads=" << threads;
        return s.str();
    }
};
#endif

struct DatasetInfoParams {
    std::string path;
    bool verify = false;
};

void run_build(const DatasetBuildParams& params) {
    params.validate();
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    core::ProgressLine line("dataset build");
    data::BuildReport report = data::build_dataset(params.to_options(), [&](const core::ProgressReport& p) { line.update(p); });
    line.finish({"file", static_cast<double>(report.n_inputs), 0, {{"kept", static_cast<double>(report.n_images)}}});
    nlohmann::json summary = report.to_json();
    summary.erase("skipped");
    summary.erase("duplicates");
    summary["out"] = fs::absolute(params.out).string();
    if (!params.report.empty()) core::write_file_atomically(params.report, report.to_json().dump(2) + "\n");
    std::cout << summary.dump(2) << std::endl;
}

void run_realign(const DatasetRealignParams& params) {
    params.validate();
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    core::ProgressLine line("dataset realign");
    const data::BuildReport report =
        data::realign_dataset(params.to_options(), [&](const core::ProgressReport& p) { line.update(p); });
    line.finish({"img", static_cast<double>(report.n_images), 0, {}});
    const data::PackedDataset realigned(params.out);
    nlohmann::json summary = {{"out", fs::absolute(params.out).string()},
                              {"source", fs::absolute(params.path).string()},
                              {"resolution", realigned.resolution()},
                              {"crop_scale", params.crop_scale},
                              {"n_images", report.n_images},
                              {"n_train", report.n_train},
                              {"n_val", report.n_val},
                              {"n_padded", report.n_padded},
                              {"mean_pad_fraction", report.mean_pad_fraction},
                              {"seconds", report.seconds}};
    if (!params.report.empty()) core::write_file_atomically(params.report, summary.dump(2) + "\n");
    std::cout << summary.dump(2) << std::endl;
}

void run_stats(const DatasetStatsParams& params) {
    params.validate();
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    core::ProgressLine line("dataset stats");
    auto on_progress = [&](const core::ProgressReport& p) { line.update(p); };
    nlohmann::json stats;
    std::string preview;
    if (fs::exists(fs::path(params.path) / data::kIndexFileName)) {
        data::PackedDataset dataset(params.path);
        stats = data::dataset_stats(dataset, on_progress);
        if (!params.html.empty() || !params.preview.empty()) preview = data::preview_grid_png(dataset);
    } else {
        stats = data::folder_stats(params.path, on_progress);
    }
    line.finish({"img", stats.value("n_images", 0.0), 0, {}});
    const std::string text = stats.dump(2) + "\n";
    if (!params.json.empty()) core::write_file_atomically(params.json, text);
    if (!params.html.empty()) {
        core::write_file_atomically(params.html, data::stats_html(stats, fs::path(params.path).filename().string(), preview));
        std::fprintf(stderr, "dataset stats: HTML report in %s\n", params.html.c_str());
    }
    if (!params.preview.empty() && !preview.empty()) core::write_file_atomically(params.preview, preview);
    std::cout << text;
}

void run_resize(const DatasetResizeParams& params) {
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    core::ProgressLine line("dataset resize");
    data::resize_dataset(params.path, params.out, params.resolution, params.overwrite,
                         [&](const core::ProgressReport& p) { line.update(p); });
    const data::PackedDataset resized(params.out);
    line.finish({"img", static_cast<double>(resized.size()), 0, {}});
    std::cout << nlohmann::json{{"out", fs::absolute(params.out).string()}, {"n_images", resized.size()},
                                {"resolution", resized.resolution()}}.dump(2)
              << std::endl;
}

// Measures the training Loader: batches of float [-1, 1] tensors on the CPU, as training gets them.
void run_bench(const DatasetBenchParams& params) {
    params.validate();
    auto dataset = std::make_shared<const data::PackedDataset>(params.path);
    data::Loader loader(dataset, data::LoaderOptions()
                                     .batch_size(params.batch_size)
                                     .n_threads(params.threads)
                                     .x_flip(params.x_flip)
                                     .split(data::SplitSelection::kAll));
    loader.next();  // warm-up: threads started, pages mapped
    const auto start = std::chrono::steady_clock::now();
    int64_t n_images = 0;
    double elapsed = 0;
    double checksum = 0;
    while (elapsed < params.seconds) {
        const data::Batch batch = loader.next();
        checksum += batch.images[0][0][0][0].item<double>();
        n_images += batch.images.size(0);
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::cout << nlohmann::json{{"path", fs::absolute(params.path).string()},
                                {"resolution", dataset->resolution()},
                                {"batch_size", params.batch_size},
                                {"threads", params.threads},
                                {"images", n_images},
                                {"seconds", elapsed},
                                {"images_per_second", static_cast<double>(n_images) / elapsed}}.dump(2)
              << std::endl;
}

#ifdef FACEGEN_HAVE_SYNTH
void run_synth(const DatasetSynthParams& params) {
    params.validate();
    core::set_cpu_threads(params.threads);
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    core::ProgressLine line("dataset synth");
    double kept = 0;
    const synth::SynthResult result =
        synth::synthesize_dataset(params.model, params.classifier, params.directions, params.to_options(),
                                  [&](const core::ProgressReport& p) { line.update(p), kept = p.done; });
    line.finish({"img", result.report.value("images_this_run", 0.0), 0, {{"kept", kept}}});
    nlohmann::json summary = result.report;
    summary.erase("stats");
    summary.erase("cells");
    std::cout << summary.dump(2) << std::endl;
    if (!result.complete() && !params.allow_short) {
        std::ostringstream cells;
        for (const auto& cell : result.report["cells"]) {
            if (cell["achieved"] < cell["requested"]) {
                cells << (cells.tellp() > 0 ? ", " : "") << cell["cell"].get<std::string>() << " " << cell["achieved"] << "/"
                      << cell["requested"] << " (drawn " << cell["natural_draws"] << "x, " << cell["edits_landed"] << " of "
                      << cell["edits_aimed"] << " edits landed)";
            }
        }
        throw make_error("dataset synth: ", result.short_cells.size(), " cells fell short after the bounded tries (--max-tries ",
                         params.max_tries, "): ", cells.str(), ". The dataset in '", params.out,
                         "' is complete otherwise; rerun with a larger --max-tries to continue it, or --allow-short to accept it");
    }
}
#endif

void run_info(const DatasetInfoParams& params) {
    data::PackedDataset dataset(params.path);
    if (params.verify) dataset.verify();
    const auto& index = dataset.index();
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& c : index.label_columns) columns.push_back(c.name);
    nlohmann::json info = {{"path", fs::absolute(params.path).string()},
                           {"n_images", index.size()},
                           {"resolution", index.resolution},
                           {"channels", index.channels},
                           {"n_train", index.select(data::SplitSelection::kTrain).size()},
                           {"n_val", index.select(data::SplitSelection::kVal).size()},
                           {"label_columns", columns},
                           {"images_file_bytes", index.images_file_bytes},
                           {"verified", params.verify}};
    for (const char* key : {"params", "n_inputs", "n_skipped", "n_duplicates", "seconds", "labels", "split_by"}) {
        if (index.build.contains(key)) info["build"][key] = index.build[key];
    }
    std::cout << info.dump(2) << std::endl;
}

}  // namespace

void add_dataset_command(CLI::App& app) {
    CLI::App* dataset = app.add_subcommand("dataset", "Build, audit and inspect training datasets");
    dataset->require_subcommand(1);

    auto build_params = std::make_shared<DatasetBuildParams>();
    CLI::App* build = dataset->add_subcommand("build", "Photos (folders, zip/tar) -> aligned, labelled packed dataset");
    build->add_option("--input", build_params->input, "Folders (recursive), image files, zip/tar archives")->required();
    build->add_option("--out", build_params->out, "Dataset folder to create (written atomically)")->required();
    build->add_option("--resolution", build_params->resolution, "Output side in pixels (power of two)")->capture_default_str();
    build->add_option("--align", build_params->align, "ffhq | center-crop | none")->capture_default_str();
    build->add_option("--crop-scale", build_params->crop_scale,
                      "ffhq: crop square side relative to the FFHQ rule (< 1 = tighter framing, less synthesised border; 0.5 to 2)")
        ->capture_default_str();
    build->add_option("--labels", build_params->labels, "auto | none | utkface | celeba | csv:FILE | json:FILE")->capture_default_str();
    build->add_option("--faces", build_params->faces, "Photos with several faces: largest | all | skip")->capture_default_str();
    build->add_option("--dedup-threshold", build_params->dedup_threshold,
                      "Max perceptual-hash distance (bits of 64) of duplicates; -1 keeps all")->capture_default_str();
    build->add_option("--val-fraction", build_params->val_fraction, "Share of images for validation (by person when identities exist)")->capture_default_str();
    build->add_option("--seed", build_params->seed, "Seed of the split")->capture_default_str();
    build->add_option("--threads", build_params->threads, "Worker threads")->capture_default_str();
    build->add_option("--landmarks-model", build_params->landmarks_model, "dlib 68-point shape predictor")->capture_default_str();
    build->add_option("--upsample", build_params->upsample, "Detector upsampling steps (finds faces smaller than 80 px; 4x slower each)")->capture_default_str();
    build->add_option("--limit", build_params->limit, "Stop after this many input files (0 = all)")->capture_default_str();
    build->add_flag("--overwrite", build_params->overwrite, "Replace an existing dataset at --out");
    build->add_option("--license", build_params->license,
                      "Terms of the photos, as text or @FILE (e.g. the source's README); training copies it into model files");
    build->add_option("--report", build_params->report, "Also write the full build report (skipped files, duplicates) as JSON");
    build->callback([build_params] { run_build(*build_params); });

    auto realign_params = std::make_shared<DatasetRealignParams>();
    CLI::App* realign = dataset->add_subcommand(
        "realign", "Re-crop an ffhq dataset from its photos and stored landmarks (no detection; labels, split, provenance kept)");
    realign->add_option("path", realign_params->path, "Source packed dataset (built with --align ffhq)")->required();
    realign->add_option("--out", realign_params->out, "Dataset folder to create (written atomically)")->required();
    realign->add_option("--resolution", realign_params->resolution, "Output side (power of two); 0 = the source's")->capture_default_str();
    realign->add_option("--crop-scale", realign_params->crop_scale, "Crop square side relative to the FFHQ rule (< 1 = tighter; 0.5 to 2)")
        ->capture_default_str();
    realign->add_option("--threads", realign_params->threads, "Worker threads")->capture_default_str();
    realign->add_flag("--overwrite", realign_params->overwrite, "Replace an existing dataset at --out");
    realign->add_option("--report", realign_params->report, "Also write the summary JSON to this file");
    realign->callback([realign_params] { run_realign(*realign_params); });

    auto stats_params = std::make_shared<DatasetStatsParams>();
    CLI::App* stats = dataset->add_subcommand("stats", "Audit a dataset (or a folder of images): label counts, image and alignment statistics");
    stats->add_option("path", stats_params->path, "Packed dataset folder, or a folder of images")->required();
    stats->add_option("--json", stats_params->json, "Also write the JSON report to this file");
    stats->add_option("--html", stats_params->html, "Write a self-contained HTML report with charts");
    stats->add_option("--preview", stats_params->preview, "Write a PNG grid of sample images (packed datasets)");
    stats->callback([stats_params] { run_stats(*stats_params); });

    auto resize_params = std::make_shared<DatasetResizeParams>();
    CLI::App* resize = dataset->add_subcommand("resize", "Smaller copy of a packed dataset (area filter; labels, splits, provenance kept)");
    resize->add_option("path", resize_params->path, "Packed dataset folder")->required();
    resize->add_option("--out", resize_params->out, "Dataset folder to create")->required();
    resize->add_option("--resolution", resize_params->resolution, "New side (smaller power of two)")->capture_default_str();
    resize->add_flag("--overwrite", resize_params->overwrite, "Replace an existing dataset at --out");
    resize->callback([resize_params] { run_resize(*resize_params); });

    auto bench_params = std::make_shared<DatasetBenchParams>();
    CLI::App* bench = dataset->add_subcommand("bench", "Measure the training loader (images/s)");
    bench->add_option("path", bench_params->path, "Packed dataset folder")->required();
    bench->add_option("--batch-size", bench_params->batch_size, "Images per batch")->capture_default_str();
    bench->add_option("--threads", bench_params->threads, "Loader threads")->capture_default_str();
    bench->add_option("--x-flip", bench_params->x_flip, "Mirror augmentation")->capture_default_str();
    bench->add_option("--seconds", bench_params->seconds, "How long to measure")->capture_default_str();
    bench->callback([bench_params] { run_bench(*bench_params); });

#ifdef FACEGEN_HAVE_SYNTH
    auto synth_params = std::make_shared<DatasetSynthParams>();
    CLI::App* synth = dataset->add_subcommand(
        "synth", "A labelled dataset of generated faces balanced over classifier-read groups (ImageFolder layout + labels)");
    synth->add_option("--out", synth_params->out, "Dataset folder to create, or a synth run to continue")->required();
    synth->add_option("--count", synth_params->count, "Images wanted")->capture_default_str();
    synth->add_option("--balance", synth_params->balance,
                      "Groups to balance over: age, gender, ethnicity, or yes/no attributes (smiling, eyeglasses, ...)")
        ->capture_default_str();
    synth->add_option("--age-bands", synth_params->age_bands, "Upper edges of the age bands in years (10,20,...,70: 0-9 ... 70+)")
        ->delimiter(',')
        ->capture_default_str();
    synth->add_option("--distribution", synth_params->distribution,
                      "JSON file {\"CELL\": weight, ...} (cells left out get none); default: uniform over the cells");
    synth->add_option("--model", synth_params->model, "Model file (default: the bundled model)");
    synth->add_option("--classifier", synth_params->classifier, "Attribute classifier (default: the shipped one)");
    synth->add_option("--directions", synth_params->directions, "Attribute directions for the edits (default: beside the model)");
    synth->add_option("--training", synth_params->training,
                      "Packed training dataset of the model: faces too close to one of its faces are replaced (memorisation check)");
    synth->add_option("--first-seed", synth_params->first_seed, "First seed drawn; seeds follow in order")->capture_default_str();
    synth->add_option("--truncation-psi", synth_params->truncation_psi, "Truncation psi (default: the model's)");
    synth->add_option("--batch", synth_params->batch, "Faces per forward pass")->capture_default_str();
    synth->add_flag("--no-edit", synth_params->no_edit, "Only draw seeds: no edits toward under-filled cells");
    synth->add_option("--max-tries", synth_params->max_tries,
                      "Seeds drawn <= this x --count, edits aimed at a cell <= this x its count; then short cells are reported")
        ->capture_default_str();
    synth->add_option("--dedup-threshold", synth_params->dedup_threshold,
                      "Max perceptual-hash distance (bits of 64) of near-duplicates; -1 keeps all")
        ->capture_default_str();
    synth->add_option("--copy-threshold", synth_params->copy_threshold,
                      "RMS pixel distance (uint8) under which a face counts as a copy of a training face")
        ->capture_default_str();
    synth->add_flag("--overwrite", synth_params->overwrite, "Replace a folder at --out that is not this run");
    synth->add_flag("--allow-short", synth_params->allow_short, "Exit 0 even when some cells fell short");
    synth->add_option("--threads", synth_params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    synth->callback([synth_params] { run_synth(*synth_params); });
#endif

    auto info_params = std::make_shared<DatasetInfoParams>();
    CLI::App* info = dataset->add_subcommand("info", "Summary of a packed dataset");
    info->add_option("path", info_params->path, "Packed dataset folder")->required();
    info->add_flag("--verify", info_params->verify, "Recompute the image checksum");
    info->callback([info_params] { run_info(*info_params); });
}

}  // namespace facegen::app
