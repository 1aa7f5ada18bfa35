#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/model_file.h"
#include "train/augment_factory.h"
#include "train/distributed.h"
#include "train/image_source.h"
#include "train/trainer.h"

#ifdef FACEGEN_HAVE_METRICS
#include "metrics/image_sets.h"
#include "metrics/metrics.h"
#endif

namespace facegen::app {
namespace {

struct TrainParams {
    std::string data;                // packed dataset folder or synthetic:blobs:N
    std::string out;                 // run folder
    std::string resume;              // "", "latest" or a checkpoint path
    std::string init_from;           // model file to start a new run from
    std::string grow_from;           // lower-resolution model file to grow into this run's resolution
    double init_kimg = -1;           // -1 = the model's kimg
    double d_warmup_kimg = -1;       // -1 = 0 with the model's discriminator, else train::kAutoDWarmupKimg
    std::string device = "cpu";
    int threads = 0;
    int nproc = 1;
    double dist_timeout_s = 1800;
    bool mirror = false;
    int64_t metrics_images = 1024;
    train::TrainOptions options;

    void validate() const {
        if (data.empty()) throw Error("--data is required (on --resume it comes from the run's config.json)");
        if (out.empty()) throw Error("--out is required");
        if (nproc < 1) throw make_error("--nproc ", nproc, " must be >= 1");
        if (threads < 0) throw make_error("--threads ", threads, " must be >= 0");
        if (dist_timeout_s <= 0) throw make_error("--dist-timeout-s ", dist_timeout_s, " must be > 0");
        if (metrics_images < 2) throw make_error("--metrics-images ", metrics_images, " must be >= 2");
        if (!resume.empty() && !init_from.empty())
            throw Error("--resume and --init-from exclude each other: --resume continues a run from its checkpoint, "
                        "--init-from starts a new run from a model file");
        if (!grow_from.empty() && (!resume.empty() || !init_from.empty()))
            throw Error("--grow-from excludes --resume and --init-from: it starts a new run from a smaller model");
        if (init_kimg < -1) throw make_error("--init-kimg ", init_kimg, " must be >= 0 (or -1 = the model's)");
        if (d_warmup_kimg < -1) throw make_error("--d-warmup-kimg ", d_warmup_kimg, " must be >= 0 (or -1 = auto)");
    }
    std::string to_string() const {
        std::ostringstream s;
        s << "train:\n  data = " << data << "\n  out = " << out << "\n  resume = " << resume << "\n  init_from = " << init_from
          << "\n  grow_from = " << grow_from
          << "\n  init_kimg = " << init_kimg << "\n  d_warmup_kimg = " << d_warmup_kimg << "\n  device = " << device
          << "\n  threads = " << threads << "\n  mirror = " << mirror << "\n  metrics_images = " << metrics_images << "\n"
          << train::to_string(options);
        return s.str();
    }
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int signal_number) {
    g_stop.store(true);
    // A second signal kills at once.
    std::signal(signal_number, SIG_DFL);
}

std::vector<std::string> own_command_line_without_nproc() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    std::string arg;
    while (std::getline(in, arg, '\0')) args.push_back(arg);
    std::vector<std::string> out;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--nproc") {
            ++i;
            continue;
        }
        if (args[i].rfind("--nproc=", 0) == 0) continue;
        out.push_back(args[i]);
    }
    return out;
}

// --resume: every option not given on the command line takes the value the run was
// started with (config.json in --out), so `facegen train --out RUN --resume latest`
// continues a run exactly as it began; options given explicitly still win.
void restore_unset_options(CLI::App& cmd, TrainParams& params) {
    const std::filesystem::path path = std::filesystem::path(params.out) / "config.json";
    if (!std::filesystem::is_regular_file(path)) return;  // a checkpoint path into a new folder
    nlohmann::json config;
    try {
        std::ifstream in(path);
        config = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
        throw make_error("--resume: cannot read the run's settings '", path.string(), "': ", e.what());
    }
    if (params.data.empty() && config.contains("dataset")) params.data = config["dataset"].get<std::string>();
    nlohmann::json saved = config.value("options", nlohmann::json::object());
    // Named: a range-for over `config.value(...).items()` would iterate a destroyed temporary.
    const nlohmann::json settings = config.value("settings", nlohmann::json::object());
    for (const auto& [key, value] : settings.items()) saved[key] = value;
    for (CLI::Option* option : cmd.get_options()) {
        if (option->count() > 0 || option->get_lnames().empty()) continue;
        std::string key = option->get_lnames().front();
        std::replace(key.begin(), key.end(), '-', '_');
        const auto it = saved.find(key);
        if (it == saved.end() || key == "out" || key == "resume" || key == "data") continue;
        option->add_result(it->is_string() ? it->get<std::string>() : it->dump());
        option->run_callback();
    }
}

/// Registers a TrainOptions field (train::for_each_train_option) as the flag --<name
/// kebab-cased>.
struct AddTrainFlag {
    CLI::App* cmd;

    static std::string flag_of(const char* name) {
        std::string flag = std::string("--") + name;
        std::replace(flag.begin(), flag.end(), '_', '-');
        return flag;
    }
    template <typename T>
    void operator()(const char* name, T& field, const char* help) const {
        if (*help != '\0') cmd->add_option(flag_of(name), field, help)->capture_default_str();
    }
    void operator()(const char* name, train::AugmentMode& mode, const char* help) const {
        cmd->add_option_function<std::string>(
               flag_of(name), [&mode](const std::string& text) { mode = train::parse_augment_mode(text); }, help)
            ->default_str(train::to_string(mode));
    }
};

std::string hardware_description(const torch::Device& device) {
    std::ostringstream s;
    s << device.str() << ", " << at::get_num_threads() << " threads, " << std::thread::hardware_concurrency()
      << " cores";
    return s.str();
}

void run_train(TrainParams params) {
    params.validate();
    const bool launched = std::getenv("WORLD_SIZE") != nullptr;
    if (params.nproc > 1 && !launched) {
        const int code = train::launch_local_processes(params.nproc, own_command_line_without_nproc());
        if (code != 0) throw make_error("training with --nproc ", params.nproc, " failed: a process exited with code ", code);
        return;
    }
    const auto env = train::DistributedEnv::from_environment();
    auto device = core::parse_device(params.device);
    if (device.is_cuda() && !device.has_index()) device = torch::Device(torch::kCUDA, int(env.local_rank));
    core::set_cpu_threads(params.threads, int(env.local_world_size));
    if (params.options.precision == "fp16" && !device.is_cuda())
        throw Error("--precision fp16 needs --device cuda: LibTorch has no float16 convolutions on the CPU (bf16 runs there)");

    const auto [resolution, channels] = train::probe_image_source(params.data, params.options.resolution);
    params.options.resolution = resolution;
    params.options.img_channels = channels;
    params.options.resolve(env.world_size, device.is_cuda());
    if (env.rank == 0) std::fprintf(stderr, "%s", params.to_string().c_str());

    std::shared_ptr<train::Distributed> distributed;
    if (env.world_size > 1) {
        distributed = train::connect_distributed(
            env, device, std::chrono::milliseconds(int64_t(params.dist_timeout_s * 1000)));
    }
    std::shared_ptr<train::ImageSource> data =
        train::open_image_source(params.data, resolution, params.options.batch_per_rank(env.world_size),
                                 params.options.seed, env.rank, env.world_size, params.mirror);
    train::AugmentFn augment;
    if (params.options.aug != train::AugmentMode::None) augment = train::make_augment_fn(params.options.augpipe, device);
    train::RunFolder folder{params.out, hardware_description(device)};
    folder.settings = {{"mirror", params.mirror}, {"metrics_images", params.metrics_images}};
    train::Trainer trainer(params.options, data, device, augment, distributed, folder);
    if (!params.resume.empty()) {
        const auto path = train::resolve_resume(params.resume, params.out);
        trainer.load_checkpoint(path);
        if (env.rank == 0)
            std::fprintf(stderr, "resumed from %s at %.3f kimg\n", path.c_str(), double(trainer.cur_nimg()) / 1000.0);
    } else if (!params.init_from.empty() || !params.grow_from.empty()) {
        const bool grow = !params.grow_from.empty();
        const std::string& from = grow ? params.grow_from : params.init_from;
        const auto loaded = model::load_model_file(from, device, /*with_discriminator=*/true);
        trainer.init_from_model(loaded, from, {params.init_kimg, params.d_warmup_kimg, grow});
        if (grow && env.rank == 0)
            std::fprintf(stderr, "grew %s from %lldx%lld to %lldx%lld\n", from.c_str(),
                         static_cast<long long>(loaded.config.resolution), static_cast<long long>(loaded.config.resolution),
                         static_cast<long long>(resolution), static_cast<long long>(resolution));
        if (env.rank == 0)
            std::fprintf(stderr, "started from %s (%s) at %.3f kimg; %s; only D trains until %.3f kimg\n",
                         from.c_str(), loaded.discriminator_config ? "generator + discriminator" : "generator only",
                         double(trainer.cur_nimg()) / 1000.0,
                         loaded.discriminator_config ? "D from the file" : "D freshly initialised",
                         double(trainer.g_frozen_until_nimg()) / 1000.0);
    }

    const int64_t start_nimg = trainer.cur_nimg();
    train::TrainerHooks hooks;
    // Made once training starts (below), so that the SWD reference's build does not count
    // in the rate and ETA.
    std::optional<core::ProgressLine> progress;
    hooks.progress = [&](const core::ProgressReport& report) { progress->update(report); };
    hooks.log = [](const std::string& text) { std::fprintf(stderr, "\n%s\n", text.c_str()); };
    hooks.stop_requested = [] { return g_stop.load(); };
#ifdef FACEGEN_HAVE_METRICS
    std::optional<metrics::SWDReference> reference;
    if (params.options.metrics_kimg > 0 && env.rank == 0) {
        std::fprintf(stderr, "building the SWD reference from %lld real images...\n",
                     static_cast<long long>(params.metrics_images));
        if (params.data.rfind("synthetic:", 0) == 0) {
            auto reals = train::make_blob_images(params.metrics_images, resolution, 3, /*seed=*/12345);
            reals = reals.add(1).mul(127.5).round().clamp(0, 255).to(torch::kUInt8);
            reference = metrics::build_swd_reference(metrics::tensor_images(reals, params.data));
        } else {
            metrics::DatasetImagesOptions images;
            images.max_images = params.metrics_images;
            reference = metrics::build_swd_reference(metrics::dataset_images(params.data, images));
        }
        hooks.evaluate = [&](model::Generator& g_ema) { return metrics::evaluate_swd(g_ema, *reference).figures(); };
    }
#endif

    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    progress.emplace("train", std::chrono::milliseconds(1000));
    const auto result = trainer.run(hooks);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);

    core::ProgressReport final_report;
    final_report.unit = "kimg";
    final_report.done = double(result.cur_nimg - start_nimg) / 1000.0;  // this session's, for the rate
    final_report.figures = {{"kimg", double(result.cur_nimg) / 1000.0},
                            {"img/s", result.seconds > 0 ? double(result.cur_nimg - start_nimg) / result.seconds : 0.0}};
    progress->finish(final_report);
    if (env.rank == 0) {
        if (result.interrupted)
            std::fprintf(stderr, "interrupted; continue with: facegen train ... --out %s --resume latest\n",
                         params.out.c_str());
        if (!result.model_path.empty()) std::printf("%s\n", result.model_path.c_str());
    }
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto params = std::make_shared<TrainParams>();
    CLI::App* cmd = app.add_subcommand("train", "Train a StyleGAN2-ADA generator (official recipe; resumable, multi-process)");
    cmd->add_option("--data", params->data,
                    "Packed dataset folder (facegen dataset) or synthetic:blobs:N (on --resume: the run's)");
    cmd->add_option("--out", params->out, "Run folder: config.json, log.jsonl, sample grids, checkpoints/, model.safetensors")
        ->required();
    cmd->add_option("--resume", params->resume,
                    "Continue from 'latest' (newest checkpoint in --out) or a checkpoint path; options not given "
                    "are those in --out/config.json");
    cmd->add_option("--init-from", params->init_from,
                    "Start a new run from a model file's networks (official --resume=PKL): G and G_ema from its "
                    "generator, D from its discriminator if it has one; fresh optimizers");
    cmd->add_option("--grow-from", params->grow_from,
                    "Start a new run by growing a lower-resolution model file (same channel_base/max, G and D) "
                    "to the data's resolution: blocks that fit are copied, the new top blocks start fresh with G's "
                    "new toRGB at zero (first images = the model's, upsampled), then D trains alone for "
                    "--d-warmup-kimg (auto " + std::to_string(int(train::kGrowDWarmupKimg)) + ")");
    cmd->add_option("--init-kimg", params->init_kimg,
                    "With --init-from or --grow-from: kimg to count from; -1 = the model's recorded kimg (0 = a fine-tune from zero)")
        ->capture_default_str();
    cmd->add_option("--d-warmup-kimg", params->d_warmup_kimg,
                    "With --init-from or --grow-from: train only D this many kimg first; -1 = auto (growing: " + std::to_string(int(train::kGrowDWarmupKimg)) + "; 0 if the file has a "
                    "discriminator, else " + std::to_string(int(train::kAutoDWarmupKimg)) + ")")
        ->capture_default_str();
    // Every training option is a flag named after its field, with the table's help and
    // the field's default.
    train::for_each_train_option(params->options, AddTrainFlag{cmd});
    cmd->add_option("--device", params->device, "cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads per process (0 = all cores shared by the processes)")
        ->capture_default_str();
    cmd->add_option("--nproc", params->nproc, "Processes to launch on this machine (data parallel)")->capture_default_str();
    cmd->add_option("--dist-timeout-s", params->dist_timeout_s, "Seconds a process waits for the others before failing")
        ->capture_default_str();
    cmd->add_flag("--mirror", params->mirror, "Add left-right mirrored copies of the images (official --mirror)");
    cmd->add_option("--metrics-images", params->metrics_images, "Real/fake images per SWD evaluation")
        ->capture_default_str();
    cmd->callback([params, cmd] {
        if (!params->resume.empty()) restore_unset_options(*cmd, *params);
        run_train(*params);
    });
}

}  // namespace facegen::app
