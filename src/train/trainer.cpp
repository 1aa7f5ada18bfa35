#include "train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/image_grid.h"
#include "core/png_io.h"
#include "core/random_stream.h"
#include "core/atomic_file.h"
#include "facegen/core/version.h"
#include "model/model_file.h"
#include "provenance/labelled_png.h"
#include "train/augment/ada_controller.h"
#include "train/checkpoint.h"
#include "train/ema.h"
#include "train/grow.h"
#include "train/losses.h"

namespace facegen::train {

namespace {

void set_requires_grad(torch::nn::Module& module, bool value) {
    for (auto& p : module.parameters()) p.set_requires_grad(value);
}

std::vector<std::pair<std::string, torch::Tensor>> named_params(torch::nn::Module& module) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
    return out;
}

double peak_memory_mib() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;
}

/// Keeps torch's default CPU generator untouched by what runs in its scope (sample grids,
/// evaluations), so they never change the training's random stream.
class DefaultGeneratorGuard {
public:
    DefaultGeneratorGuard() {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        state_ = gen.get_state();
    }
    ~DefaultGeneratorGuard() {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(state_);
    }

private:
    torch::Tensor state_;
};

bool crossed(int64_t before, int64_t after, double interval_kimg) {
    if (interval_kimg <= 0) return false;
    const auto step = std::max<int64_t>(1, int64_t(std::llround(interval_kimg * 1000)));
    return after / step > before / step;
}

double nan_mean(double sum, double count) { return count > 0 ? sum / count : NAN; }

}  // namespace

struct Trainer::Phase {
    std::string name;  // Gmain, Greg, Gboth, Dmain, Dreg, Dboth
    bool is_g = false;
    bool do_main = false;
    bool do_reg = false;
    int64_t interval = 1;
    int64_t index = 0;  // fixed per name: keys the per-round random seeds
    double gain = 1;
};

struct Trainer::Round {
    torch::Tensor real;
    int64_t global_index = 0;
};

Trainer::Trainer(TrainOptions options, std::shared_ptr<ImageSource> data, torch::Device device, AugmentFn augment,
                 std::shared_ptr<Distributed> distributed, RunFolder folder)
    : options_(std::move(options)),
      data_(std::move(data)),
      device_(device),
      augment_(std::move(augment)),
      distributed_(std::move(distributed)),
      folder_(std::move(folder)) {
    if (distributed_) {
        rank_ = distributed_->rank();
        world_size_ = distributed_->world_size();
    }
    options_.validate(world_size_);
    TORCH_CHECK(data_ != nullptr, "Trainer: no data source");
    if (data_->resolution() != options_.resolution || data_->channels() != options_.img_channels)
        throw make_error("dataset '", data_->description(), "' has ", data_->channels(), "x", data_->resolution(), "x",
                         data_->resolution(), " images but the run is configured for ", options_.img_channels, "x",
                         options_.resolution, "x", options_.resolution);
    if (options_.aug != AugmentMode::None && !augment_)
        throw make_error("augmentation '", to_string(options_.aug), "' requested but this build has no augmentation ",
                         "pipeline (only 'noaug' runs)");

    torch::manual_seed(options_.seed);
    g_ = model::Generator(options_.generator_config());
    d_ = model::Discriminator(options_.discriminator_config());
    g_ema_ = model::Generator(options_.generator_config());
    g_->to(device_);
    d_->to(device_);
    g_ema_->to(device_);
    // G_ema (samples, metrics, the exported model) stays float32: only training uses the
    // reduced precision.
    g_->synthesis()->set_mixed_precision(options_.mixed_precision());
    d_->set_mixed_precision(options_.mixed_precision());
    g_->train();
    d_->train();
    g_ema_->eval();
    set_requires_grad(*g_, false);
    set_requires_grad(*d_, false);
    set_requires_grad(*g_ema_, false);
    update_ema(g_ema_, g_, /*beta=*/0.0);

    AdamHyper g_hyper{options_.g_lr, options_.adam_beta1, options_.adam_beta2, options_.adam_eps};
    AdamHyper d_hyper{options_.d_lr, options_.adam_beta1, options_.adam_beta2, options_.adam_eps};
    adam_g_ = std::make_unique<Adam>(named_params(*g_), lazy_regularization_corrected(g_hyper, options_.g_reg_interval));
    adam_d_ = std::make_unique<Adam>(named_params(*d_), lazy_regularization_corrected(d_hyper, options_.d_reg_interval));
    if (options_.aug == AugmentMode::ADA)
        ada_ = std::make_unique<AdaptiveAugmentController>(
            AdaOptions().target(options_.target).interval(options_.ada_interval).kimg(options_.ada_kimg),
            options_.aug_p);
    fixed_p_ = options_.aug == AugmentMode::Fixed ? options_.aug_p : 0.0;
    build_phases();
    broadcast_state();
}

Trainer::~Trainer() = default;

void Trainer::build_phases() {
    // Official training_loop.py: lazy regularisation splits each network's step into a
    // main phase every minibatch and a regularisation phase every `interval` minibatches,
    // with the regulariser's gradient scaled by the interval (gain).
    auto add = [&](bool is_g, int64_t reg_interval, bool reg_enabled) {
        const std::string who = is_g ? "G" : "D";
        const int64_t base = is_g ? 0 : 2;
        if (reg_interval == 0) {
            phases_.push_back({who + "both", is_g, true, reg_enabled, 1, base, 1.0});
        } else {
            phases_.push_back({who + "main", is_g, true, false, 1, base, 1.0});
            if (reg_enabled) phases_.push_back({who + "reg", is_g, false, true, reg_interval, base + 1, double(reg_interval)});
        }
    };
    add(/*is_g=*/true, options_.g_reg_interval, options_.pl_weight != 0);
    add(/*is_g=*/false, options_.d_reg_interval, options_.gamma != 0);
}

double Trainer::aug_p() const { return ada_ ? ada_->p() : fixed_p_; }

void Trainer::seed_round(int64_t phase_index, int64_t global_round) const {
    uint64_t h = core::splitmix64(options_.seed);
    h = core::splitmix64(h ^ uint64_t(batch_idx_));
    h = core::splitmix64(h ^ uint64_t(phase_index));
    h = core::splitmix64(h ^ uint64_t(global_round));
    torch::manual_seed(h >> 1);
}

torch::Tensor Trainer::run_g(const torch::Tensor& z, bool update_w_avg) {
    auto ws = g_->map(z, {}, /*truncation_psi=*/1.0, std::nullopt, update_w_avg);
    if (options_.style_mixing > 0) {
        const int64_t num_ws = ws.size(1);
        const int64_t cutoff = draw_mixing_cutoff(num_ws, options_.style_mixing, ws.device());
        if (cutoff < num_ws) {
            // Official loss.py maps a second latent without updating w_avg.
            const auto ws2 = g_->map(torch::randn_like(z), {}, 1.0, std::nullopt, /*update_w_avg=*/false);
            ws = torch::cat({ws.narrow(1, 0, cutoff), ws2.narrow(1, cutoff, num_ws - cutoff)}, 1);
        }
    }
    return ws;
}

torch::Tensor Trainer::g_path_lengths(const torch::Tensor& z, bool update_w_avg) {
    auto ws = run_g(z, update_w_avg);
    // Outside a G phase the mapping is frozen: the lengths are still taken wrt the ws.
    if (!ws.requires_grad()) ws = ws.detach().requires_grad_(true);
    const auto images = g_->synthesize(ws);
    const auto pl_noise = torch::randn_like(images) / std::sqrt(double(images.size(2) * images.size(3)));
    return path_lengths(images, ws, pl_noise);
}

torch::Tensor Trainer::run_d(const torch::Tensor& images) {
    const double p = aug_p();
    if (augment_ && p > 0) return d_->forward(augment_(images, p));
    return d_->forward(images);
}

void Trainer::phase_round(const Phase& phase, const Round& round, StepStats& stats, double& pl_sum, double& pl_count) {
    seed_round(phase.index, round.global_index);
    const int64_t n = round.real.size(0);
    const double per_rank = double(options_.batch_per_rank(world_size_));
    const auto z = torch::randn({n, options_.z_dim}, torch::TensorOptions().device(device_));
    if (phase.is_g) {
        if (phase.do_main) {
            const auto images = g_->synthesize(run_g(z, /*update_w_avg=*/true));
            const auto loss = loss_g_main(run_d(images));
            loss.sum().mul(phase.gain / per_rank).backward();
            stats.loss_g = (std::isnan(stats.loss_g) ? 0 : stats.loss_g) + loss.detach().sum().item<double>() / per_rank;
        }
        if (phase.do_reg) {
            const int64_t n_pl = std::max<int64_t>(1, n / options_.pl_batch_shrink);
            const int64_t rounds = options_.rounds_per_rank(world_size_);
            const auto lengths = g_path_lengths(z.narrow(0, 0, n_pl), /*update_w_avg=*/true);
            const auto penalty = (lengths - pl_mean_).square();
            penalty.sum().mul(options_.pl_weight * phase.gain / double(rounds * n_pl)).backward();
            pl_sum += lengths.detach().sum().item<double>();
            pl_count += double(n_pl);
            stats.pl_penalty =
                (std::isnan(stats.pl_penalty) ? 0 : stats.pl_penalty) + penalty.detach().sum().item<double>() / double(rounds * n_pl);
        }
        return;
    }
    double loss_d = std::isnan(stats.loss_d) ? 0 : stats.loss_d;
    if (phase.do_main) {
        torch::Tensor fakes;
        {
            torch::NoGradGuard no_grad;
            fakes = g_->synthesize(run_g(z, /*update_w_avg=*/true));
        }
        const auto loss = loss_d_fake(run_d(fakes));
        loss.sum().mul(phase.gain / per_rank).backward();
        loss_d += loss.detach().sum().item<double>() / per_rank;
    }
    const auto real = round.real.detach().requires_grad_(phase.do_reg);
    const auto logits = run_d(real);
    if (ada_) ada_->accumulate(logits.detach());
    auto total = torch::zeros({n}, logits.options());
    if (phase.do_main) {
        const auto loss = loss_d_real(logits);
        total = total + loss;
        loss_d += loss.detach().sum().item<double>() / per_rank;
    }
    if (phase.do_reg) {
        const auto loss_r1 = r1_penalty(logits, real) * (options_.gamma / 2);
        total = total + loss_r1;
        stats.loss_d_r1 = (std::isnan(stats.loss_d_r1) ? 0 : stats.loss_d_r1) + loss_r1.detach().sum().item<double>() / per_rank;
    }
    total.sum().mul(phase.gain / per_rank).backward();
    if (phase.do_main) stats.loss_d = loss_d;
}

void Trainer::sync_gradients(torch::nn::Module& module) {
    if (!distributed_ || world_size_ == 1) return;
    std::vector<torch::Tensor> grads;
    for (auto& p : module.parameters())
        if (p.grad().defined()) grads.push_back(p.grad());
    distributed_->all_reduce_mean(grads);
}

void Trainer::run_phase(const Phase& phase, const std::vector<Round>& rounds, StepStats& stats) {
    torch::nn::Module& module = phase.is_g ? static_cast<torch::nn::Module&>(*g_) : static_cast<torch::nn::Module&>(*d_);
    Adam& adam = phase.is_g ? *adam_g_ : *adam_d_;
    adam.zero_grad();
    set_requires_grad(module, true);
    double pl_sum = 0, pl_count = 0;
    for (const auto& round : rounds) phase_round(phase, round, stats, pl_sum, pl_count);
    set_requires_grad(module, false);
    sync_gradients(module);
    adam.step();
    if (phase.is_g && phase.do_reg) {
        std::vector<torch::Tensor> pl{torch::tensor({pl_sum, pl_count}, torch::kFloat64)};
        if (distributed_ && world_size_ > 1) distributed_->all_reduce_sum(pl);
        const double mean = pl[0][0].item<double>() / std::max(1.0, pl[0][1].item<double>());
        pl_mean_ = pl_mean_ + (mean - pl_mean_) * options_.pl_decay;  // official: pl_mean.lerp(mean, pl_decay)
    }
}

StepStats Trainer::step() {
    StepStats stats;
    const int64_t rounds_per_rank = options_.rounds_per_rank(world_size_);
    const int64_t per_rank = options_.batch_per_rank(world_size_);
    const auto reals = data_->next_batch().to(device_, torch::kFloat32);
    TORCH_CHECK(reals.size(0) == per_rank, "data source returned ", reals.size(0), " images, expected ", per_rank);
    // Round k of this rank takes its items k, k + R, ...: with the loader's interleaved
    // sharding that is global round rank + W * k, whatever W and R are.
    std::vector<Round> rounds;
    for (int64_t k = 0; k < rounds_per_rank; ++k) {
        const auto index = torch::arange(k, per_rank, rounds_per_rank, torch::TensorOptions().dtype(torch::kInt64).device(device_));
        rounds.push_back({reals.index_select(0, index), rank_ + world_size_ * k});
    }
    const bool g_frozen = cur_nimg_ < g_frozen_until_nimg_;
    for (const auto& phase : phases_) {
        if (batch_idx_ % phase.interval != 0 || (phase.is_g && g_frozen)) continue;
        run_phase(phase, rounds, stats);
    }
    update_ema(g_ema_, g_, ema_beta(options_.batch, options_.ema_kimg, options_.ema_rampup, cur_nimg_));
    cur_nimg_ += options_.batch;
    batch_idx_ += 1;
    if (ada_ && ada_->due(batch_idx_)) {
        if (distributed_ && world_size_ > 1) {
            std::vector<torch::Tensor> acc{ada_->accumulators()};
            distributed_->all_reduce_sum(acc);
        }
        const auto adjustment = ada_->adjust(options_.batch);
        if (adjustment.adjusted) last_r_t_ = adjustment.r_t;
    }
    return stats;
}

void Trainer::broadcast_state() {
    if (!distributed_ || world_size_ == 1) return;
    std::vector<torch::Tensor> tensors;
    torch::NoGradGuard no_grad;
    for (auto* module : {static_cast<torch::nn::Module*>(g_.get()), static_cast<torch::nn::Module*>(d_.get()),
                         static_cast<torch::nn::Module*>(g_ema_.get())}) {
        for (auto& p : module->parameters()) tensors.push_back(p);
        for (auto& b : module->buffers()) tensors.push_back(b);
    }
    distributed_->broadcast(tensors);
}

// ---------------------------------------------------------------------------------------
// Checkpoints

std::map<std::string, torch::Tensor> Trainer::state_tensors() const {
    std::map<std::string, torch::Tensor> out;
    auto add_module = [&](const std::string& prefix, const torch::nn::Module& module) {
        for (const auto& item : module.named_parameters(true)) out[prefix + item.key()] = item.value().detach();
        for (const auto& item : module.named_buffers(true)) out[prefix + item.key()] = item.value().detach();
    };
    add_module("G/", *g_);
    add_module("D/", *d_);
    add_module("G_ema/", *g_ema_);
    auto add_adam = [&](const std::string& prefix, const Adam& adam) {
        for (const auto& [name, s] : adam.state()) {
            out[prefix + name + "/exp_avg"] = s.exp_avg;
            out[prefix + name + "/exp_avg_sq"] = s.exp_avg_sq;
            out[prefix + name + "/step"] = torch::tensor({s.step}, torch::kInt64);
        }
    };
    add_adam("opt_G/", *adam_g_);
    add_adam("opt_D/", *adam_d_);
    const AdaState ada = ada_ ? ada_->state() : AdaState{fixed_p_, 0, 0};
    out["state/pl_mean"] = torch::tensor({pl_mean_}, torch::kFloat64);
    out["state/aug_p"] = torch::tensor({ada.p}, torch::kFloat64);
    out["state/ada_sign_sum"] = torch::tensor({ada.sign_sum}, torch::kFloat64);
    out["state/ada_count"] = torch::tensor({ada.count}, torch::kFloat64);
    out["state/r_t"] = torch::tensor({last_r_t_}, torch::kFloat64);
    {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        out["rng/cpu"] = gen.get_state();
    }
    if (device_.is_cuda()) {
        auto gen = at::globalContext().defaultGenerator(device_);
        std::lock_guard<std::mutex> lock(gen.mutex());
        out["rng/cuda"] = gen.get_state();
    }
    return out;
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const {
    const auto data_state = data_->state();
    nlohmann::json state{{"cur_nimg", cur_nimg_},
                         {"batch_idx", batch_idx_},
                         {"tick", tick_},
                         {"world_size", world_size_},
                         {"data", {{"epoch", data_state.epoch}, {"position", data_state.position}}},
                         {"wall_clock_s", previous_sessions_s_},
                         {"g_frozen_until_nimg", g_frozen_until_nimg_},
                         {"initialized_from", initialized_from_}};
    write_checkpoint_file(path, state_tensors(), state, options_);
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
    const CheckpointFile file = read_checkpoint_file(path, options_);
    const nlohmann::json& state = file.state;

    // Validate every tensor before touching anything, so a bad file changes nothing.
    const auto expected = state_tensors();
    for (const auto& [name, tensor] : expected) {
        if (name == "rng/cuda" || name == "state/r_t") continue;
        const auto it = file.tensors.find(name);
        if (it == file.tensors.end())
            throw make_error("checkpoint '", path.string(), "' lacks tensor '", name, "'");
        if (name == "rng/cpu") continue;
        if (it->second.sizes() != tensor.sizes() || it->second.scalar_type() != tensor.scalar_type())
            throw make_error("checkpoint '", path.string(), "': tensor '", name, "' is ", it->second.scalar_type(), " ",
                             it->second.sizes(), ", expected ", tensor.scalar_type(), " ", tensor.sizes());
    }
    {
        torch::NoGradGuard no_grad;
        for (auto& [name, tensor] : expected) {
            if (name.rfind("G/", 0) == 0 || name.rfind("D/", 0) == 0 || name.rfind("G_ema/", 0) == 0)
                tensor.copy_(file.tensors.at(name));
        }
    }
    auto load_adam = [&](const std::string& prefix, Adam& adam) {
        for (auto& [name, s] : adam.state()) {
            s.exp_avg.copy_(file.tensors.at(prefix + name + "/exp_avg"));
            s.exp_avg_sq.copy_(file.tensors.at(prefix + name + "/exp_avg_sq"));
            s.step = file.tensors.at(prefix + name + "/step").item<int64_t>();
        }
    };
    load_adam("opt_G/", *adam_g_);
    load_adam("opt_D/", *adam_d_);
    pl_mean_ = file.tensors.at("state/pl_mean").item<double>();
    const AdaState ada{file.tensors.at("state/aug_p").item<double>(), file.tensors.at("state/ada_sign_sum").item<double>(),
                       file.tensors.at("state/ada_count").item<double>()};
    if (ada_) ada_->load_state(ada);
    if (file.tensors.count("state/r_t")) last_r_t_ = file.tensors.at("state/r_t").item<double>();
    {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(file.tensors.at("rng/cpu"));
    }
    if (device_.is_cuda() && file.tensors.count("rng/cuda")) {
        auto gen = at::globalContext().defaultGenerator(device_);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(file.tensors.at("rng/cuda"));
    }
    cur_nimg_ = state["cur_nimg"].get<int64_t>();
    batch_idx_ = state["batch_idx"].get<int64_t>();
    tick_ = state.value("tick", int64_t(0));
    previous_sessions_s_ = state.value("wall_clock_s", 0.0);
    g_frozen_until_nimg_ = state.value("g_frozen_until_nimg", int64_t(0));
    initialized_from_ = state.value("initialized_from", nlohmann::json());
    SourceState data_state{state["data"]["epoch"].get<int64_t>(), state["data"]["position"].get<int64_t>()};
    const int64_t saved_world = state.value("world_size", int64_t(1));
    if (saved_world != world_size_) data_state.position = data_state.position * saved_world / world_size_;
    data_->restore(data_state);
}

// ---------------------------------------------------------------------------------------
// Starting from a model file

namespace {

// Copies every parameter and buffer of `source` into the same-named one of `target`
// (same architecture, checked by the caller).
void copy_module_state(torch::nn::Module& target, const torch::nn::Module& source) {
    torch::NoGradGuard no_grad;
    auto source_params = source.named_parameters(true);
    auto source_buffers = source.named_buffers(true);
    for (auto& item : target.named_parameters(true)) item.value().copy_(source_params[item.key()]);
    for (auto& item : target.named_buffers(true)) item.value().copy_(source_buffers[item.key()]);
}

}  // namespace

double Trainer::measure_mean_path_length() {
    // As the Greg phase measures it (reduced batch, style mixing), a few rounds averaged.
    const int64_t n = std::max<int64_t>(1, options_.batch_gpu / options_.pl_batch_shrink);
    double sum = 0;
    const int64_t rounds = 4;
    for (int64_t k = 0; k < rounds; ++k) {
        const auto z = torch::randn({n, options_.z_dim}, torch::TensorOptions().device(device_));
        sum += g_path_lengths(z, /*update_w_avg=*/false).detach().mean().item<double>();
    }
    return sum / double(rounds);
}

void Trainer::init_from_model(const model::LoadedModel& loaded, const std::filesystem::path& path, InitFromModel init) {
    const bool has_d = loaded.discriminator_config.has_value();
    if (has_d) TORCH_CHECK(loaded.discriminator, "init_from_model: load the model file with with_discriminator");
    if (init.grow) {
        check_growable(loaded.config, options_.generator_config(), path.string());
        if (!has_d)
            throw make_error("model to grow '", path.string(),
                             "': the file holds no discriminator (growing needs the trained D as well as G)");
        check_growable(*loaded.discriminator_config, options_.discriminator_config(), path.string());
    } else {
        if (loaded.config.resolution < options_.generator_config().resolution)
            throw make_error("initial model '", path.string(), "' is ", loaded.config.resolution, "x",
                             loaded.config.resolution, ", below this run's ", options_.resolution, "x",
                             options_.resolution, " (grow it to this resolution instead)");
        // conv_clamp and the minibatch-stddev group are how the networks run, not what they
        // hold, so a run may change them.
        auto g_have = loaded.config;
        g_have.conv_clamp = options_.generator_config().conv_clamp;
        if (g_have != options_.generator_config())
            throw make_error("initial model '", path.string(), "': its generator ", model::to_json(loaded.config),
                             " is not this run's ", model::to_json(options_.generator_config()),
                             " (give the model's channel_base, channel_max, map_layers, z_dim, w_dim)");
        if (has_d) {
            auto d_have = *loaded.discriminator_config;
            const auto d_want = options_.discriminator_config();
            d_have.conv_clamp = d_want.conv_clamp;
            d_have.mbstd_group_size = d_want.mbstd_group_size;
            if (d_have != d_want)
                throw make_error("initial model '", path.string(), "': its discriminator ",
                                 model::to_json(*loaded.discriminator_config), " is not this run's ", model::to_json(d_want));
        }
    }
    const nlohmann::json provenance = loaded.metadata.provenance_json.empty()
                                          ? nlohmann::json::object()
                                          : nlohmann::json::parse(loaded.metadata.provenance_json);
    const double file_kimg = provenance.is_object() && provenance.contains("kimg") && provenance["kimg"].is_number()
                                 ? provenance["kimg"].get<double>()
                                 : 0.0;
    const bool continues = init.kimg < 0;
    const double start_kimg = continues ? file_kimg : init.kimg;
    const double auto_warmup_kimg = init.grow ? kGrowDWarmupKimg : (has_d ? 0.0 : kAutoDWarmupKimg);
    const double warmup_kimg = init.d_warmup_kimg >= 0 ? init.d_warmup_kimg : auto_warmup_kimg;
    if (start_kimg * 1000 >= options_.kimg * 1000)
        throw make_error("initial model '", path.string(), "' starts at ", start_kimg, " kimg, at or past the run's kimg ",
                         options_.kimg, " (give a larger kimg, or init_kimg 0 to count from zero)");

    if (init.grow) {
        copy_matching_state(*g_, *loaded.generator);
        silence_new_to_rgb(*g_, loaded.config.resolution, options_.resolution);
        copy_module_state(*g_ema_, *g_);
        copy_matching_state(*d_, *loaded.discriminator);
    } else {
        copy_module_state(*g_, *loaded.generator);
        copy_module_state(*g_ema_, *loaded.generator);
        if (has_d) copy_module_state(*d_, *loaded.discriminator);
    }
    cur_nimg_ = int64_t(std::llround(start_kimg * 1000));
    batch_idx_ = cur_nimg_ / options_.batch;
    g_frozen_until_nimg_ = cur_nimg_ + int64_t(std::llround(warmup_kimg * 1000));
    previous_sessions_s_ =
        continues && provenance.is_object() ? provenance.value("wall_clock_s", 0.0) : 0.0;
    pl_mean_ = options_.pl_weight != 0 ? measure_mean_path_length() : 0.0;
    initialized_from_ = {{"path", path.string()},
                         {"model_id", loaded.metadata.model_id},
                         {"kimg", file_kimg},
                         {"with_discriminator", has_d},
                         {"d_warmup_kimg", warmup_kimg}};
    if (init.grow) initialized_from_["grown_from_resolution"] = loaded.config.resolution;
    broadcast_state();
}

// ---------------------------------------------------------------------------------------
// The run

void Trainer::export_model(const std::filesystem::path& path, double wall_clock_s) {
    nlohmann::json provenance{{"dataset", data_->description()},
                              {"kimg", double(cur_nimg_) / 1000.0},
                              {"hardware", folder_.hardware},
                              {"processes", world_size_},
                              {"wall_clock_s", wall_clock_s},
                              {"facegen_version", kVersion},
                              {"training_options", to_json(options_)}};
    if (!initialized_from_.is_null()) provenance["initialized_from"] = initialized_from_;
    model::ModelMetadata metadata;
    metadata.license = data_->license();
    metadata.provenance_json = provenance.dump();
    metadata.description = "StyleGAN2-ADA generator (G_ema) trained by facegen train on " + data_->description() +
                           ", with its discriminator (a new training run can start from it)";
    model::Generator g = g_ema_;
    model::save_model_file(path, g, metadata, torch::kFloat32, &d_);
}

void Trainer::write_sample_grid(const std::filesystem::path& path) {
    if (!core::png_supported()) return;
    const int64_t res = options_.resolution;
    const int64_t cols = std::clamp<int64_t>(1024 / res, 4, 8);
    const int64_t rows = std::clamp<int64_t>(512 / res, 2, 8);
    const int64_t n = cols * rows;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> zs;
    for (int64_t i = 0; i < n; ++i) {
        auto gen = at::detail::createCPUGenerator(uint64_t(i));
        zs.push_back(torch::randn({1, options_.z_dim}, gen));
    }
    const auto z = torch::cat(zs).to(device_);
    model::SynthesisOptions synthesis;
    synthesis.noise_mode = model::NoiseMode::Const;
    std::vector<torch::Tensor> images;
    for (int64_t start = 0; start < n; start += options_.batch_gpu) {
        const auto part = z.narrow(0, start, std::min(options_.batch_gpu, n - start));
        images.push_back(core::images_to_uint8(g_ema_->forward(part, {}, 1.0, std::nullopt, synthesis)));
    }
    // Previews are generated faces too, and carry the same labels as generate's images.
    provenance::ImageProvenance info;
    info.license = data_ ? data_->license() : std::string();
    info.latent_space = "z";
    info.noise_mode = model::to_string(synthesis.noise_mode);
    info.software_version = kVersion;
    info.n_images = n;
    provenance::write_labelled_png(path, core::make_image_grid(torch::cat(images), cols), info);
}

void Trainer::log_message(const TrainerHooks& hooks, const std::string& text) const {
    if (hooks.log && rank_ == 0) hooks.log(text);
}

namespace {

using RunClock = std::chrono::steady_clock;

double seconds_since(RunClock::time_point t) { return std::chrono::duration<double>(RunClock::now() - t).count(); }

/// Losses summed over a tick, each with its own count: a phase that did not run this
/// minibatch reports NaN and is left out.
struct TickSums {
    double loss_g = 0, n_g = 0, loss_d = 0, n_d = 0, r1 = 0, n_r1 = 0, pl = 0, n_pl = 0;

    void add(const StepStats& stats) {
        add_one(stats.loss_g, loss_g, n_g);
        add_one(stats.loss_d, loss_d, n_d);
        add_one(stats.loss_d_r1, r1, n_r1);
        add_one(stats.pl_penalty, pl, n_pl);
    }

private:
    static void add_one(double value, double& sum, double& count) {
        if (!std::isnan(value)) {
            sum += value;
            count += 1;
        }
    }
};

}  // namespace

/// The clocks, counters and sums of one call of run().
struct Trainer::RunSession {
    RunClock::time_point start = RunClock::now();
    int64_t start_nimg = 0;
    int64_t total_nimg = 0;
    bool writer = false;  // rank 0 with a run folder: writes config, log, grids, checkpoints
    std::ofstream log_file;
    TickSums sums;
    RunClock::time_point tick_start;
    int64_t tick_start_nimg = 0;
    RunClock::time_point last_snap;
    std::vector<std::pair<std::string, double>> pending_metrics;
};

/// What falls due after a minibatch. Every rank must agree on stopping and on a snapshot
/// by the clock, so those two are summed over the processes.
struct Trainer::DueEvents {
    bool stop = false;
    bool snapshot = false;
    bool sample_grid = false;
    bool metrics = false;
    bool tick = false;
};

void Trainer::start_run_folder() {
    const auto& out = folder_.out_dir;
    std::filesystem::create_directories(out / "checkpoints");
    nlohmann::json config{{"options", to_json(options_)},
                          {"dataset", data_->description()},
                          {"processes", world_size_},
                          {"device", device_.str()},
                          {"hardware", folder_.hardware},
                          {"facegen_version", kVersion},
                          {"settings", folder_.settings},
                          {"initialized_from", initialized_from_}};
    core::write_file_atomically(out / "config.json", config.dump(2) + "\n");
    if (cur_nimg_ == 0) {
        DefaultGeneratorGuard guard;
        write_sample_grid(out / "fakes_init.png");
    }
}

Trainer::DueEvents Trainer::due_after_step(int64_t nimg_before, const RunSession& session,
                                           const TrainerHooks& hooks) const {
    const bool done = cur_nimg_ >= session.total_nimg;
    double stop = hooks.stop_requested && hooks.stop_requested() ? 1 : 0;
    double time_snap =
        options_.snap_minutes > 0 && seconds_since(session.last_snap) >= options_.snap_minutes * 60 ? 1 : 0;
    if (distributed_ && world_size_ > 1) {
        std::vector<torch::Tensor> flags{torch::tensor({stop, time_snap}, torch::kFloat64)};
        distributed_->all_reduce_sum(flags);
        stop = flags[0][0].item<double>();
        time_snap = flags[0][1].item<double>();
    }
    DueEvents due;
    due.stop = stop > 0;
    due.snapshot = done || due.stop || time_snap > 0 || crossed(nimg_before, cur_nimg_, options_.snap_kimg);
    due.sample_grid = done || crossed(nimg_before, cur_nimg_, options_.image_kimg);
    due.metrics = options_.metrics_kimg > 0 && (done || crossed(nimg_before, cur_nimg_, options_.metrics_kimg));
    due.tick = done || due.stop || cur_nimg_ >= session.tick_start_nimg + int64_t(options_.tick_kimg * 1000);
    return due;
}

void Trainer::write_progress_sample_grid() {
    DefaultGeneratorGuard guard;
    char name[64];
    std::snprintf(name, sizeof(name), "fakes%06lld.png", static_cast<long long>(cur_nimg_ / 1000));
    write_sample_grid(folder_.out_dir / name);
}

void Trainer::save_snapshot(double wall_clock, const TrainerHooks& hooks, TrainResult& result) {
    const auto& out = folder_.out_dir;
    // The checkpoint records the wall clock up to now, so that a resumed run counts on.
    const double saved = previous_sessions_s_;
    previous_sessions_s_ = wall_clock;
    const auto path = checkpoint_path(out, cur_nimg_);
    save_checkpoint(path);
    previous_sessions_s_ = saved;
    prune_checkpoints(out, options_.keep_checkpoints);
    export_model(out / "model.safetensors", wall_clock);
    result.last_checkpoint = path;
    result.model_path = out / "model.safetensors";
    log_message(hooks, "saved " + path.string());
    if (hooks.on_checkpoint) hooks.on_checkpoint(path);
}

void Trainer::end_tick(RunSession& session, double wall_clock, const TrainerHooks& hooks) {
    TickReport report;
    report.tick = tick_;
    report.kimg = double(cur_nimg_) / 1000.0;
    report.sec_per_tick = seconds_since(session.tick_start);
    report.img_per_s = double(cur_nimg_ - session.tick_start_nimg) / std::max(1e-9, report.sec_per_tick);
    report.loss_g = nan_mean(session.sums.loss_g, session.sums.n_g);
    report.loss_d = nan_mean(session.sums.loss_d, session.sums.n_d);
    report.loss_d_r1 = nan_mean(session.sums.r1, session.sums.n_r1);
    report.pl_penalty = nan_mean(session.sums.pl, session.sums.n_pl);
    report.aug_p = aug_p();
    report.r_t = last_r_t_;
    report.time_s = wall_clock;
    report.peak_mem_mib = peak_memory_mib();
    report.metrics = std::move(session.pending_metrics);
    session.pending_metrics.clear();
    if (session.writer) {
        nlohmann::json line{{"tick", report.tick},         {"kimg", report.kimg},
                            {"img_per_s", report.img_per_s}, {"sec_per_tick", report.sec_per_tick},
                            {"loss_g", report.loss_g},     {"loss_d", report.loss_d},
                            {"loss_d_r1", report.loss_d_r1}, {"pl_penalty", report.pl_penalty},
                            {"aug_p", report.aug_p},       {"r_t", report.r_t},
                            {"time_s", report.time_s},     {"peak_mem_mib", report.peak_mem_mib}};
        for (const auto& [name, value] : report.metrics) line["metrics"][name] = value;
        session.log_file << line.dump() << "\n";
        session.log_file.flush();
    }
    if (hooks.on_tick && rank_ == 0) hooks.on_tick(report);
    session.sums = TickSums{};
    session.tick_start = RunClock::now();
    session.tick_start_nimg = cur_nimg_;
    tick_ += 1;
}

void Trainer::report_progress(const RunSession& session, const StepStats& stats, const TrainerHooks& hooks) const {
    core::ProgressReport progress;
    progress.unit = "kimg";
    progress.done = double(cur_nimg_ - session.start_nimg) / 1000.0;
    progress.total = double(session.total_nimg - session.start_nimg) / 1000.0;
    const double session_s = seconds_since(session.start);
    progress.figures = {{"kimg", double(cur_nimg_) / 1000.0},
                        {"img/s", session_s > 0 ? double(cur_nimg_ - session.start_nimg) / session_s : 0.0},
                        {"loss_g", stats.loss_g},
                        {"loss_d", stats.loss_d},
                        {"aug_p", aug_p()}};
    hooks.progress(progress);
}

TrainResult Trainer::run(const TrainerHooks& hooks) {
    RunSession session;
    session.start_nimg = cur_nimg_;
    session.total_nimg = int64_t(std::llround(options_.kimg * 1000));
    session.writer = rank_ == 0 && !folder_.out_dir.empty();
    if (session.writer) {
        start_run_folder();
        session.log_file.open(folder_.out_dir / "log.jsonl", std::ios::app);
    }
    session.tick_start = session.last_snap = RunClock::now();
    session.tick_start_nimg = cur_nimg_;
    TrainResult result;

    while (cur_nimg_ < session.total_nimg) {
        const int64_t before = cur_nimg_;
        const StepStats stats = step();
        session.sums.add(stats);
        const DueEvents due = due_after_step(before, session, hooks);
        const double wall_clock = previous_sessions_s_ + seconds_since(session.start);

        if (due.metrics && hooks.evaluate && rank_ == 0) {
            DefaultGeneratorGuard guard;
            for (const auto& figure : hooks.evaluate(g_ema_)) session.pending_metrics.push_back(figure);
        }
        if (due.sample_grid && session.writer) write_progress_sample_grid();
        if (due.snapshot) {
            session.last_snap = RunClock::now();
            if (session.writer) save_snapshot(wall_clock, hooks, result);
        }
        if (due.tick) end_tick(session, wall_clock, hooks);
        if (hooks.on_step) hooks.on_step(cur_nimg_);
        if (hooks.progress && rank_ == 0) report_progress(session, stats, hooks);
        if (due.stop) {
            result.interrupted = true;
            log_message(hooks, "stopped at " + std::to_string(double(cur_nimg_) / 1000.0) + " kimg on request");
            break;
        }
    }
    result.cur_nimg = cur_nimg_;
    result.seconds = seconds_since(session.start);
    return result;
}

}  // namespace facegen::train
