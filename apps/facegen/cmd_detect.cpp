// facegen detect: was an image generated? One JSON line per image (verdict and reasons:
// metadata label, watermark, detector probability) and a summary line. `detect train`
// trains the detector. Flags are parsed and checked here; the work is in src/detect.

#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "input_files.h"
#include "output_paths.h"
#include "core/device.h"
#include "core/error.h"
#include "core/atomic_file.h"
#include "core/progress.h"
#include "detect/heat_map.h"
#include "detect/inspect.h"
#include "detect/training.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;

struct DetectParams {
    std::vector<std::string> images;
    std::string detector;     // "" = $FACEGEN_DETECTOR or the shipped detector
    bool no_detector = false;
    double threshold = -1;    // < 0: the detector's own
    std::string explain;      // heat map: FILE.png for one image, else a folder
    int threads = 0;
};

/// Where the heat map of `image` goes: --explain itself for one image (a .png), else
/// <folder>/<image stem>.heat.png.
fs::path heat_map_path(const DetectParams& params, const std::string& image) {
    if (fs::path(params.explain).extension() == ".png") return params.explain;
    return fs::path(params.explain) / (fs::path(image).stem().string() + ".heat.png");
}

void write_heat_map(const fs::path& path, const detect::ImageVerdict& verdict, const detect::Detector& detector) {
    const data::RgbImage map = detect::render_heat_map(verdict.detector_view, *verdict.detector_score, detector.info());
    core::write_file_atomically(path, data::encode_png(map));
}

void run_detect(const DetectParams& params) {
    if (params.images.empty()) throw make_error("no images: give one or more image files (or `detect train`)");
    if (params.threshold >= 0 && !(params.threshold > 0 && params.threshold < 1)) {
        throw make_error("bad --threshold ", params.threshold, ": expected a probability in (0, 1)");
    }
    if (params.threshold < -1 || std::isnan(params.threshold)) throw make_error("bad --threshold ", params.threshold);
    if (params.no_detector && !params.detector.empty()) throw make_error("give --detector or --no-detector, not both");
    if (!params.explain.empty()) {
        if (params.no_detector) throw make_error("--explain shows the detector's evidence: it needs a detector");
        if (fs::path(params.explain).extension() == ".png") {
            if (params.images.size() != 1) {
                throw make_error("--explain ", params.explain, " names one heat map for ", params.images.size(),
                                 " images: give a folder instead");
            }
            check_output_file(params.explain, "--explain", "heat.png");
            create_output_folder(params.explain);
        } else {
            check_writable_folder(params.explain, "--explain");
            fs::create_directories(params.explain);
        }
    }
    core::set_cpu_threads(params.threads);

    std::optional<detect::Detector> detector;
    if (!params.no_detector) {
        std::optional<fs::path> path = params.detector.empty() ? detect::default_detector_path() : fs::path(params.detector);
        if (!path) {
            throw make_error("no detector given and none is shipped (models/", detect::kBundledDetectorFileName,
                             "): give --detector FILE, or --no-detector to use labels and watermark only");
        }
        detector = detect::Detector::load(*path);
    }
    const double threshold = params.threshold > 0 ? params.threshold : detector ? detector->info().threshold : 0.5;

    int64_t generated = 0, uncertain = 0, not_generated = 0, errors = 0, labelled = 0, watermarked = 0,
            flagged_by_detector = 0;
    for (const std::string& name : params.images) {
        detect::ImageVerdict verdict;
        try {
            verdict = detect::inspect_image(read_image_file(name), name, detector ? &*detector : nullptr, threshold);
        } catch (const std::exception& e) {
            verdict.name = name;
            verdict.error = e.what();
        }
        nlohmann::json line = detect::to_json(verdict);
        if (!params.explain.empty() && verdict.error.empty() && verdict.detector_score) {
            const fs::path path = heat_map_path(params, name);
            write_heat_map(path, verdict, *detector);
            line["detector"]["heat_map"] = path.string();
        }
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
        if (!verdict.error.empty()) {
            ++errors;
            continue;
        }
        (verdict.generated ? generated : verdict.uncertain ? uncertain : not_generated) += 1;
        labelled += verdict.metadata.found;
        watermarked += verdict.watermark && verdict.watermark->found;
        flagged_by_detector += verdict.probability && *verdict.probability >= threshold;
    }
    const nlohmann::json summary = {{"summary",
                                     {{"images", params.images.size()},
                                      {"generated", generated},
                                      {"uncertain", uncertain},
                                      {"no_sign_of_generation", not_generated},
                                      {"errors", errors},
                                      {"metadata_label", labelled},
                                      {"watermark", watermarked},
                                      {"detector_flagged", flagged_by_detector},
                                      {"threshold", threshold},
                                      {"detector", detector ? "on" : "off"}}}};
    std::printf("%s\n", summary.dump().c_str());
    if (errors > 0) throw make_error(errors, " of ", params.images.size(), " image(s) could not be judged (see their lines)");
}

struct TrainParams {
    std::string real;
    std::vector<std::string> fakes;
    std::vector<std::string> held_out;
    std::string out;
    detect::DetectorTrainingOptions options;
    int threads = 0;
};

void run_detect_train(TrainParams params) {
    params.options.real_dataset = params.real;
    for (const std::string& text : params.fakes) params.options.fakes.push_back(detect::parse_fake_source(text));
    params.options.held_out = params.held_out;
    params.options.validate();
    if (params.out.empty()) throw make_error("no output: give --out FILE.safetensors");
    check_output_file(params.out, "--out", "detector.safetensors");
    core::set_cpu_threads(params.threads);

    // One progress line per stage (reading, generating, training, measuring).
    std::unique_ptr<core::ProgressLine> progress;
    std::string stage;
    core::ProgressReport last;
    detect::Detector detector = detect::train_detector(params.options, [&](const detect::TrainingProgress& p) {
        if (p.stage != stage) {
            if (progress) progress->finish(last);
            progress = std::make_unique<core::ProgressLine>("detect train: " + p.stage);
            stage = p.stage;
        }
        last = {p.stage == "training" ? "step" : "img", static_cast<double>(p.done), static_cast<double>(p.total), {}};
        if (p.stage == "training") last.figures = {{"loss", p.loss}};
        progress->update(last);
    });
    if (progress) progress->finish(last);
    create_output_folder(params.out);
    detector.save(params.out);
    std::printf("%s\n", detector.info().report_json.c_str());
    std::fprintf(stderr, "detect train: wrote %s\n", params.out.c_str());
}

struct MeasureParams {
    std::string detector;
    std::string real;
    std::vector<std::string> real_measure_only;
    std::vector<std::string> fakes;
    std::vector<std::string> held_out;
    int64_t eval_per_source = 400;
    uint64_t seed = 0;
    int threads = 0;
};

void run_detect_measure(const MeasureParams& params) {
    detect::DetectorMeasureOptions options;
    options.real_dataset = params.real;
    for (const std::string& dataset : params.real_measure_only) options.real_measure_only.emplace_back(dataset);
    for (const std::string& text : params.fakes) options.fakes.push_back(detect::parse_fake_source(text));
    options.held_out = params.held_out;
    options.eval_per_source = params.eval_per_source;
    options.seed = params.seed;
    core::set_cpu_threads(params.threads);
    detect::Detector detector = detect::Detector::load(params.detector);
    const nlohmann::json figures = detect::measure_detector(detector, options, /*calibrate=*/false);
    std::printf("%s\n", figures.dump().c_str());
}

}  // namespace

void add_detect_command(CLI::App& app) {
    auto params = std::make_shared<DetectParams>();
    CLI::App* cmd = app.add_subcommand(
        "detect", "Tell generated images from photos: metadata label, facegen watermark, detector probability (JSON lines)");
    cmd->add_option("images", params->images, "Image files (JPEG, PNG, WebP)");
    cmd->add_option("--detector", params->detector,
                    "Detector file; default: $FACEGEN_DETECTOR, else the shipped models/facegen-detector.safetensors");
    cmd->add_flag("--no-detector", params->no_detector, "Judge by metadata label and watermark only");
    cmd->add_option("--threshold", params->threshold,
                    "Probability at or above which the detector alone says generated (default: the detector's own)");
    cmd->add_option("--explain", params->explain,
                    "Write a heat map of the detector's patch scores: FILE.png for one image, else a folder "
                    "(one <name>.heat.png per image)");
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();

    auto train = std::make_shared<TrainParams>();
    CLI::App* train_cmd = cmd->add_subcommand("train", "Train, calibrate and measure a detector");
    train_cmd->add_option("--real", train->real, "Packed dataset of real faces (train split learns, val split measures)")
        ->required();
    train_cmd->add_option("--real-measure-only", train->options.real_measure_only,
                          "Other packed datasets of real faces, only measured (false positives on unseen photos)");
    train_cmd->add_option("--fake", train->fakes, "Generator as NAME=MODEL[@PSI]; repeat for several")->required();
    train_cmd->add_option("--hold-out", train->held_out, "NAME of a --fake kept out of training, only measured");
    train_cmd->add_option("--out", train->out, "Detector file to write (.safetensors)")->required();
    train_cmd->add_option("--train-per-source", train->options.train_per_source, "Generated training faces per source")
        ->capture_default_str();
    train_cmd->add_option("--real-train", train->options.real_train, "Real training faces (0 = as many as generated)")
        ->capture_default_str();
    train_cmd->add_option("--eval-per-source", train->options.eval_per_source,
                          "Generated faces per source to calibrate and measure")
        ->capture_default_str();
    train_cmd->add_option("--steps", train->options.steps, "Training steps")->capture_default_str();
    train_cmd->add_option("--batch", train->options.batch, "Images per step (half real, half generated)")
        ->capture_default_str();
    train_cmd->add_option("--lr", train->options.learning_rate, "Adam learning rate (cosine decay)")->capture_default_str();
    train_cmd->add_option("--width", train->options.net.width, "Channels of the first layer")->capture_default_str();
    train_cmd->add_option("--seed", train->options.seed, "Seed of the network and the sampling")->capture_default_str();
    train_cmd->add_option("--threads", train->threads, "CPU threads (0 = all cores)")->capture_default_str();
    train_cmd->callback([train] { run_detect_train(*train); });

    auto measure = std::make_shared<MeasureParams>();
    CLI::App* measure_cmd =
        cmd->add_subcommand("measure", "Measure a trained detector, with its stored calibration, on held-out faces");
    measure_cmd->add_option("--detector", measure->detector, "Detector file")->required();
    measure_cmd->add_option("--real", measure->real, "Packed dataset of real faces (its val split is measured)")
        ->required();
    measure_cmd->add_option("--real-measure-only", measure->real_measure_only, "Other packed datasets of real faces");
    measure_cmd->add_option("--fake", measure->fakes, "Generator as NAME=MODEL[@PSI]; repeat for several")->required();
    measure_cmd->add_option("--hold-out", measure->held_out, "NAME of a --fake left out of the training-generator figures");
    measure_cmd->add_option("--eval-per-source", measure->eval_per_source, "Generated faces per source (half measured)")
        ->capture_default_str();
    measure_cmd->add_option("--seed", measure->seed, "Seed of the real-face subset")->capture_default_str();
    measure_cmd->add_option("--threads", measure->threads, "CPU threads (0 = all cores)")->capture_default_str();
    measure_cmd->callback([measure] { run_detect_measure(*measure); });

    const std::vector<CLI::App*> world_cmds = add_detect_world_commands(*cmd);
    cmd->callback([params, train_cmd, measure_cmd, world_cmds] {
        if (train_cmd->parsed() || measure_cmd->parsed()) return;
        for (const CLI::App* world_cmd : world_cmds) {
            if (world_cmd->parsed()) return;
        }
        run_detect(*params);
    });
}

}  // namespace facegen::app
