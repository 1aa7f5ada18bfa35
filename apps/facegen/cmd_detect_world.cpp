// facegen detect train-world / measure-world: the patch detector trained on faces from the
// world (scripts/prepare_detector_data.sh) and measured on generator families held out of
// training. Flags are parsed and checked here; the work is in src/detect/world_training.

#include <cstdio>
#include <memory>

#include "commands.h"
#include "output_paths.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "detect/world_training.h"

namespace facegen::app {
namespace {

struct WorldParams {
    std::string data = "data/detect-world";
    std::string detector;  // measure-world: the detector to measure
    std::string out;       // train-world: the detector to write
    std::vector<std::string> source_weights;  // train-world: SOURCE=W
    detect::WorldTrainingOptions options;
    int threads = 1;
};

/// One progress line per stage, as `detect train` shows them.
class StageProgress {
public:
    void operator()(const detect::TrainingProgress& p) {
        if (p.stage != stage_) {
            finish();
            line_ = std::make_unique<core::ProgressLine>("detect: " + p.stage);
            stage_ = p.stage;
        }
        last_ = {p.stage == "training" ? "step" : "img", static_cast<double>(p.done), static_cast<double>(p.total), {}};
        if (p.stage == "training") last_.figures = {{"loss", p.loss}};
        line_->update(last_);
    }
    void finish() {
        if (line_) line_->finish(last_);
        line_.reset();
    }

private:
    std::unique_ptr<core::ProgressLine> line_;
    std::string stage_;
    core::ProgressReport last_;
};

void prepare(WorldParams& params) {
    params.options.folder = params.data;
    params.options.validate();
    core::set_cpu_threads(params.threads);
}

void run_train_world(WorldParams params) {
    for (const std::string& text : params.source_weights) {
        const size_t at = text.find('=');
        if (at == std::string::npos || at == 0) throw make_error("bad --source-weight '", text, "': expected SOURCE=W");
        try {
            params.options.source_weights[text.substr(0, at)] = std::stod(text.substr(at + 1));
        } catch (const std::exception&) {
            throw make_error("bad --source-weight '", text, "': the weight is not a number");
        }
    }
    prepare(params);
    if (params.out.empty()) throw make_error("no output: give --out FILE.safetensors");
    check_output_file(params.out, "--out", "detector.safetensors");
    StageProgress progress;
    detect::Detector detector =
        detect::train_world_detector(params.options, [&](const detect::TrainingProgress& p) { progress(p); });
    progress.finish();
    create_output_folder(params.out);
    detector.save(params.out);
    std::printf("%s\n", detector.info().report_json.c_str());
    std::fprintf(stderr, "detect train-world: wrote %s\n", params.out.c_str());
}

void run_measure_world(WorldParams params) {
    prepare(params);
    if (params.options.held_out_families.empty()) throw make_error("give --hold-out FAMILY: the families to measure on");
    detect::Detector detector = detect::Detector::load(params.detector);
    StageProgress progress;
    const nlohmann::json figures =
        detect::measure_world_detector(detector, params.options, [&](const detect::TrainingProgress& p) { progress(p); });
    progress.finish();
    std::printf("%s\n", figures.dump().c_str());
}

void add_shared_options(CLI::App* cmd, WorldParams& params) {
    cmd->add_option("--data", params.data, "Folder of scripts/prepare_detector_data.sh (manifest.tsv)")
        ->capture_default_str();
    cmd->add_option("--hold-out", params.options.held_out_families,
                    "Generated family only measured, never trained on (e.g. diffusion); repeat for several");
    cmd->add_option("--test-per-source", params.options.test_per_source, "Held-out images measured per source")
        ->capture_default_str();
    cmd->add_option("--source-min-side", params.options.wild.source_min_side,
                    "Re-encoding: images over --source-max-side are first reduced to a side in this range")
        ->capture_default_str();
    cmd->add_option("--source-max-side", params.options.wild.source_max_side,
                    "Re-encoding: largest side entering the crop and resize (0 = no source scale and no JPEG there)")
        ->capture_default_str();
    cmd->add_option("--source-min-quality", params.options.wild.source_min_quality,
                    "Re-encoding: lowest JPEG quality every image is saved at, at the source scale")
        ->capture_default_str();
    cmd->add_option("--source-max-quality", params.options.wild.source_max_quality,
                    "Re-encoding: highest JPEG quality at the source scale")
        ->capture_default_str();
    cmd->add_option("--seed", params.options.seed, "Seed of the re-encodings")->capture_default_str();
    cmd->add_option("--threads", params.threads, "CPU threads (0 = all cores)")->capture_default_str();
}

}  // namespace

std::vector<CLI::App*> add_detect_world_commands(CLI::App& detect) {
    auto train = std::make_shared<WorldParams>();
    CLI::App* train_cmd = detect.add_subcommand(
        "train-world", "Train the patch detector on faces from the world, calibrate it, measure held-out families");
    add_shared_options(train_cmd, *train);
    train_cmd->add_option("--train-family", train->options.train_families,
                          "Generated family to learn from (default: every family not held out); repeat for several");
    train_cmd->add_option("--out", train->out, "Detector file to write (.safetensors)")->required();
    train_cmd->add_option("--train-per-source", train->options.train_per_source, "Images per source to learn from")
        ->capture_default_str();
    train_cmd->add_option("--source-weight", train->source_weights,
                          "SOURCE=W: that source's share within its class, relative to the others' 1; repeat for several");
    train_cmd->add_option("--calibrate-per-source", train->options.calibrate_per_source,
                          "Images per source for Platt calibration (never learnt from)")
        ->capture_default_str();
    train_cmd->add_option("--reencodings", train->options.reencodings, "Re-encoded copies of each training image")
        ->capture_default_str();
    train_cmd->add_option("--steps", train->options.steps, "Full-batch Adam steps")->capture_default_str();
    train_cmd->add_option("--lr", train->options.learning_rate, "Adam learning rate")->capture_default_str();
    train_cmd->add_option("--weight-decay", train->options.weight_decay, "Adam weight decay")->capture_default_str();
    train_cmd->add_option("--hidden", train->options.net.hidden, "Hidden units (0 = logistic regression)")
        ->capture_default_str();
    train_cmd->callback([train] { run_train_world(*train); });

    auto measure = std::make_shared<WorldParams>();
    CLI::App* measure_cmd = detect.add_subcommand(
        "measure-world", "Measure a detector (either kind) on held-out generator families from the world");
    add_shared_options(measure_cmd, *measure);
    measure_cmd->add_option("--detector", measure->detector, "Detector file")->required();
    measure_cmd->callback([measure] { run_measure_world(*measure); });
    return {train_cmd, measure_cmd};
}

}  // namespace facegen::app
