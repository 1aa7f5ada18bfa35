#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/progress.h"
#include "model/discriminator.h"
#include "model/generator.h"
#include "model/model_file.h"
#include "train/adam.h"
#include "train/checkpoint.h"  // the run folder's checkpoint files, for callers of the trainer
#include "train/distributed.h"
#include "train/image_source.h"
#include "train/options.h"

namespace facegen::train {

class AdaptiveAugmentController;

/// Applies the discriminator augmentation to a batch at strength p (differentiable wrt
/// the images to second order; random draws from torch's default generator).
using AugmentFn = std::function<torch::Tensor(const torch::Tensor& images, double p)>;

/// Named figures, e.g. {"swd_x1e3", 12.3}, logged with the tick that ran the evaluation.
using EvaluateFn = std::function<std::vector<std::pair<std::string, double>>(model::Generator& g_ema)>;

/// What one minibatch did (means over this rank's images; NaN for phases that did not run).
struct StepStats {
    double loss_g = NAN;      // softplus(-D(G(z)))
    double loss_d = NAN;      // softplus(D(G(z))) + softplus(-D(x))
    double loss_d_r1 = NAN;   // R1 penalty * gamma / 2
    double pl_penalty = NAN;  // (|J^T y| - a)^2
};

/// One line of log.jsonl.
struct TickReport {
    int64_t tick = 0;
    double kimg = 0;
    double img_per_s = 0;
    double sec_per_tick = 0;
    double loss_g = NAN, loss_d = NAN, loss_d_r1 = NAN, pl_penalty = NAN;
    double aug_p = 0;
    double r_t = NAN;
    double time_s = 0;         // wall clock of this session plus the resumed ones
    double peak_mem_mib = 0;   // peak resident memory of this process
    std::vector<std::pair<std::string, double>> metrics;
};

struct TrainerHooks {
    core::ProgressCallback progress;
    EvaluateFn evaluate;                       // every metrics_kimg (rank 0)
    std::function<bool()> stop_requested;      // e.g. a SIGINT/SIGTERM flag
    std::function<void(const std::string&)> log;  // human-readable messages
    std::function<void(const TickReport&)> on_tick;
    /// Called on every rank after each minibatch with the image count.
    std::function<void(int64_t cur_nimg)> on_step;
    /// Called after each checkpoint is written (tests use it to kill the process there).
    std::function<void(const std::filesystem::path&)> on_checkpoint;
};

struct TrainResult {
    int64_t cur_nimg = 0;
    bool interrupted = false;
    double seconds = 0;
    std::filesystem::path model_path;       // empty when there is no run folder
    std::filesystem::path last_checkpoint;  // idem
};

/// Where files of a run go (rank 0 writes them). An empty out_dir writes nothing.
struct RunFolder {
    std::filesystem::path out_dir;
    std::string hardware;  // provenance, e.g. "cpu: 2 threads"
    // Run settings kept outside TrainOptions (e.g. mirror), saved in config.json under
    // "settings" so that a resumed run can restore them.
    nlohmann::json settings = nlohmann::json::object();
};

/// D-only warm-up after starting from a generator-only model file. Measured on the bundled
/// 64 px model (docs/training.md): a fresh D stays at chance for about 7 kimg, then learns
/// within the next 6. Necessary but, so far, not sufficient: see docs/training.md.
inline constexpr double kAutoDWarmupKimg = 16;

/// D-only warm-up after growing a model: D's new top block and fromRGB start fresh and
/// feed the trained blocks below features they have not seen.
inline constexpr double kGrowDWarmupKimg = 4;

/// How a new run starts from a model file (Trainer::init_from_model).
struct InitFromModel {
    /// Image count (kimg) the run continues from; -1 = the file's recorded kimg (0 if it has
    /// none), so that --kimg stays the total and the schedule carries on; 0 for a fine-tune
    /// counted from zero.
    double kimg = -1;
    /// Train only the discriminator for this many kimg first, so that a fresh D learns
    /// before it steers G; -1 = 0 when the file holds a discriminator, else kAutoDWarmupKimg.
    double d_warmup_kimg = -1;
    /// The file is a lower-resolution model of the same architecture, grown into this run's
    /// resolution: every tensor that fits is copied, the new top blocks start fresh, the new
    /// toRGB layers at zero (so G first draws the smaller model's images upsampled), and D
    /// trains alone for d_warmup_kimg (auto: kGrowDWarmupKimg) while its new block learns.
    bool grow = false;
};

/// StyleGAN2-ADA training (official training_loop.py + loss.py StyleGAN2Loss):
/// phases Gmain, Greg, Dmain, Dreg (Gboth / Dboth with interval 0), lazy R1 and path
/// length regularisation, style mixing, G EMA with ramp-up, ADA, gradient accumulation
/// over --batch-gpu rounds, data-parallel over processes.
///
/// Deliberate differences from the reference, so that the result does not depend on how
/// the global minibatch is split into rounds and processes (1 process x 2 rounds ==
/// 2 processes x 1 round, up to float summation order):
///  - each round's loss is its share of the per-process mean (official: each round adds
///    its own mean, which scales gradients with the number of rounds);
///  - random numbers: before each round torch's default generator is seeded from (seed,
///    minibatch, phase, global round index), instead of one stream per process;
///  - the path-length target pl_mean is updated once per Greg phase from the mean over the
///    whole global batch, and the penalty uses the value from before the phase (official:
///    each round/process updates its own copy first and differentiates through it).
class Trainer {
public:
    /// `options` must be resolved (TrainOptions::resolve). `augment` may be empty when
    /// options.aug is None. `distributed` null = one process.
    Trainer(TrainOptions options, std::shared_ptr<ImageSource> data, torch::Device device, AugmentFn augment = {},
            std::shared_ptr<Distributed> distributed = nullptr, RunFolder folder = {});
    ~Trainer();

    /// One minibatch: every due phase, EMA, ADA. Returns this rank's losses.
    StepStats step();
    /// Trains until options.kimg (or a stop request), writing the run folder.
    TrainResult run(const TrainerHooks& hooks = {});

    /// The whole training state as named tensors plus metadata (what a checkpoint holds).
    void save_checkpoint(const std::filesystem::path& path) const;
    /// Restores everything save_checkpoint wrote. facegen::Error (naming the file) for a
    /// truncated/corrupt file or one from another architecture; nothing is changed then.
    void load_checkpoint(const std::filesystem::path& path);
    /// Starts this fresh run from trained networks, as the official --resume=PKL does: G and
    /// G_ema from the model's generator, D from its discriminator when the file has one
    /// (else D keeps its fresh initialisation and G waits for the D warm-up); optimizers,
    /// augmentation p and the data order start afresh. The path-length target starts at the
    /// model's measured mean (official: at 0, which first pulls the path lengths down).
    /// facegen::Error (naming `path`) when the architecture differs from this run's.
    void init_from_model(const model::LoadedModel& loaded, const std::filesystem::path& path, InitFromModel init = {});
    /// The image count below which only D trains (the warm-up after init_from_model).
    int64_t g_frozen_until_nimg() const { return g_frozen_until_nimg_; }

    model::Generator& generator() { return g_; }
    model::Generator& generator_ema() { return g_ema_; }
    model::Discriminator& discriminator() { return d_; }
    Adam& adam_g() { return *adam_g_; }
    Adam& adam_d() { return *adam_d_; }
    const TrainOptions& options() const { return options_; }
    int64_t cur_nimg() const { return cur_nimg_; }
    int64_t batch_idx() const { return batch_idx_; }
    double pl_mean() const { return pl_mean_; }
    double aug_p() const;
    double last_r_t() const { return last_r_t_; }
    int64_t rank() const { return rank_; }
    int64_t world_size() const { return world_size_; }
    /// Benchmarks only: restarts the image and minibatch counters (the phase schedule and
    /// the EMA ramp-up follow them) without touching the networks.
    void set_position(int64_t cur_nimg, int64_t batch_idx) {
        cur_nimg_ = cur_nimg;
        batch_idx_ = batch_idx;
    }
    /// Every tensor of the state, by checkpoint name (tests compare runs with it).
    std::map<std::string, torch::Tensor> state_tensors() const;

private:
    struct Phase;
    struct Round;
    void build_phases();
    void run_phase(const Phase& phase, const std::vector<Round>& rounds, StepStats& stats);
    void phase_round(const Phase& phase, const Round& round, StepStats& stats, double& pl_sum, double& pl_count);
    torch::Tensor run_g(const torch::Tensor& z, bool update_w_avg);
    /// Path lengths |J_w^T y| of G at latents z (with style mixing), as Greg measures them.
    torch::Tensor g_path_lengths(const torch::Tensor& z, bool update_w_avg);
    torch::Tensor run_d(const torch::Tensor& images);
    void sync_gradients(torch::nn::Module& module);
    void broadcast_state();
    void seed_round(int64_t phase_index, int64_t global_round) const;
    void export_model(const std::filesystem::path& path, double wall_clock_s);
    double measure_mean_path_length();
    void write_sample_grid(const std::filesystem::path& path);
    void log_message(const TrainerHooks& hooks, const std::string& text) const;

    // The steps of run().
    struct RunSession;
    struct DueEvents;
    /// config.json (options, dataset, hardware, settings) and, at 0 kimg, fakes_init.png.
    void start_run_folder();
    DueEvents due_after_step(int64_t nimg_before, const RunSession& session, const TrainerHooks& hooks) const;
    void write_progress_sample_grid();
    /// Checkpoint, pruning of old ones, model.safetensors.
    void save_snapshot(double wall_clock, const TrainerHooks& hooks, TrainResult& result);
    /// The tick's log.jsonl line and on_tick report; starts the next tick.
    void end_tick(RunSession& session, double wall_clock, const TrainerHooks& hooks);
    void report_progress(const RunSession& session, const StepStats& stats, const TrainerHooks& hooks) const;

    TrainOptions options_;
    std::shared_ptr<ImageSource> data_;
    torch::Device device_;
    AugmentFn augment_;
    std::shared_ptr<Distributed> distributed_;
    RunFolder folder_;
    int64_t rank_ = 0, world_size_ = 1;

    model::Generator g_{nullptr}, g_ema_{nullptr};
    model::Discriminator d_{nullptr};
    std::unique_ptr<Adam> adam_g_, adam_d_;
    std::unique_ptr<AdaptiveAugmentController> ada_;
    std::vector<Phase> phases_;

    int64_t cur_nimg_ = 0;
    int64_t batch_idx_ = 0;
    int64_t tick_ = 0;
    double pl_mean_ = 0;
    double fixed_p_ = 0;
    double last_r_t_ = NAN;
    double previous_sessions_s_ = 0;  // wall clock of the sessions before a resume
    int64_t g_frozen_until_nimg_ = 0;   // D warm-up after init_from_model
    nlohmann::json initialized_from_;   // provenance of init_from_model (null when none)
};

}  // namespace facegen::train
