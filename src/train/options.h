#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/precision.h"

namespace facegen::train {

/// How the discriminator's inputs are augmented (Karras et al. 2020, "Training Generative
/// Adversarial Networks with Limited Data"): ADA tunes p toward an overfitting target,
/// Fixed keeps a constant p, None disables augmentation.
enum class AugmentMode { ADA, Fixed, None };
/// "ada" | "fixed" | "noaug"; throws facegen::Error naming the bad value.
AugmentMode parse_augment_mode(const std::string& text);
std::string to_string(AugmentMode mode);

/// Everything that defines a training run. Fields holding -1 (or an empty string) are
/// 'auto' and are filled by resolve() from the resolution and world size exactly as the
/// official train.py cfg 'auto' does; after resolve() every field is concrete.
struct TrainOptions {
    // --- architecture (official train.py cfg_specs['auto']) ---
    int64_t resolution = 0;        // from the dataset
    int64_t img_channels = 3;      // from the dataset
    int64_t z_dim = 512;
    int64_t w_dim = 512;
    int64_t map_layers = 2;        // cfg 'auto': map=2
    int64_t channel_base = -1;     // auto: 32768 * (1 if res >= 512 else 0.5)
    int64_t channel_max = 512;
    int64_t mbstd_group = -1;      // auto: min(batch / world_size, 4)
    double conv_clamp = -1;        // 0 = none; auto: 256 with reduced precision (official), else 0

    // --- mixed precision (official num_fp16_res; see model::MixedPrecision) ---
    std::string precision = "auto";  // fp32 | fp16 | bf16; auto: fp16 on CUDA, fp32 on CPU
    int64_t low_precision_res = 4;   // highest resolutions computed in `precision` (official 4)

    // --- recipe ---
    int64_t batch = -1;            // global minibatch; auto: max(min(world * min(4096 / res, 32), 64), world)
    int64_t batch_gpu = 0;         // per-rank images per accumulation round; 0 = batch / world_size
    double g_lr = -1;              // auto: 0.002 if res >= 1024 else 0.0025
    double d_lr = -1;
    double adam_beta1 = 0;         // official training_loop: betas (0, 0.99), eps 1e-8
    double adam_beta2 = 0.99;
    double adam_eps = 1e-8;
    double gamma = -1;             // R1 weight; auto: 0.0002 * res^2 / batch
    int64_t g_reg_interval = 4;    // lazy regularisation (StyleGAN2 paper sec. 3.1); 0 = Gboth
    int64_t d_reg_interval = 16;   // 0 = Dboth
    double pl_weight = 2;          // StyleGAN2 paper, sec. 3.2
    double pl_decay = 0.01;
    int64_t pl_batch_shrink = 2;
    double style_mixing = 0.9;     // StyleGAN paper, sec. 3.1
    double ema_kimg = -1;          // auto: batch * 10 / 32
    double ema_rampup = 0.05;      // cfg 'auto'; 0 = none

    // --- augmentation (ADA paper, sec. 3) ---
    AugmentMode aug = AugmentMode::ADA;
    std::string augpipe = "bgc";
    double target = 0.6;           // ADA paper: r_t target
    double aug_p = 0;              // initial p (the constant p in fixed mode)
    int64_t ada_interval = 4;      // minibatches between p updates
    double ada_kimg = 500;         // p can go 0 -> 1 in this many kimg

    // --- duration and bookkeeping ---
    double kimg = 25000;
    double tick_kimg = 4;
    double snap_kimg = 200;        // checkpoint + model export; 0 = only at the end
    double snap_minutes = 0;       // also checkpoint after this many minutes; 0 = off
    double image_kimg = 200;       // sample grid; 0 = only at start and end
    double metrics_kimg = 0;       // evaluation callback; 0 = off
    int64_t keep_checkpoints = 3;
    uint64_t seed = 0;

    /// Fills the 'auto' fields. Throws facegen::Error naming a bad field and its value.
    void resolve(int64_t world_size, bool on_cuda = false);
    /// Checks a resolved set of options against the world size.
    void validate(int64_t world_size) const;

    int64_t batch_per_rank(int64_t world_size) const { return batch / world_size; }
    int64_t rounds_per_rank(int64_t world_size) const { return batch / world_size / batch_gpu; }

    model::GeneratorConfig generator_config() const;
    model::DiscriminatorConfig discriminator_config() const;
    /// What G and D run in during training (resolved options only).
    model::MixedPrecision mixed_precision() const;
};

/// Every TrainOptions field once: its name (the key in config.json, in checkpoints and in
/// the start-up log; `facegen train`'s flag is the name kebab-cased) and its help, in the
/// order `facegen train --help` lists them. to_json, train_options_from_json and the train
/// command's flags all walk this list, so a new option is its declaration above and one
/// line here. `visit(name, field, help)`; an empty help marks a field that is not a flag.
template <typename Options, typename Visit>
void for_each_train_option(Options& o, Visit&& visit) {
    static_assert(std::is_same_v<std::remove_const_t<Options>, TrainOptions>);
    visit("kimg", o.kimg, "Training length in thousands of real images shown");
    visit("seed", o.seed, "Random seed (weights, latents, augmentation)");
    visit("resolution", o.resolution, "Image size for synthetic data (a dataset sets its own)");
    visit("img_channels", o.img_channels, "");  // from the dataset
    // architecture
    visit("z_dim", o.z_dim, "Latent size");
    visit("w_dim", o.w_dim, "Intermediate latent size");
    visit("map_layers", o.map_layers, "Mapping network layers");
    visit("channel_base", o.channel_base, "Channels = min(base / res, max); -1 = auto (16384, 32768 at >= 512)");
    visit("channel_max", o.channel_max, "Most channels of a layer");
    visit("conv_clamp", o.conv_clamp, "Clamp conv outputs to +-X (0 = none); -1 = auto (256 with fp16/bf16)");
    visit("precision", o.precision, "auto | fp32 | fp16 | bf16 for the highest resolutions (auto: fp16 on CUDA)");
    visit("low_precision_res", o.low_precision_res, "How many of the highest resolutions use the precision above");
    visit("mbstd_group", o.mbstd_group, "Minibatch-stddev group; -1 = auto min(4, batch per process)");
    // recipe
    visit("batch", o.batch, "Global minibatch; -1 = auto max(min(P * min(4096 / res, 32), 64), P)");
    visit("batch_gpu", o.batch_gpu, "Images per accumulation round per process; 0 = whole share");
    visit("g_lr", o.g_lr, "Generator learning rate; -1 = auto (0.0025, 0.002 at 1024)");
    visit("d_lr", o.d_lr, "Discriminator learning rate; -1 = auto");
    visit("adam_beta1", o.adam_beta1, "Adam beta1 (official 0: no momentum)");
    visit("adam_beta2", o.adam_beta2, "Adam beta2");
    visit("adam_eps", o.adam_eps, "Adam epsilon");
    visit("gamma", o.gamma, "R1 weight; -1 = auto 0.0002 * res^2 / batch");
    visit("g_reg_interval", o.g_reg_interval, "Path-length regularisation every N minibatches (0 = every)");
    visit("d_reg_interval", o.d_reg_interval, "R1 every N minibatches (0 = every)");
    visit("pl_weight", o.pl_weight, "Path-length regularisation weight");
    visit("pl_decay", o.pl_decay, "Decay of the path-length target");
    visit("pl_batch_shrink", o.pl_batch_shrink, "Path-length batch = batch / this");
    visit("style_mixing", o.style_mixing, "Style-mixing probability");
    visit("ema_kimg", o.ema_kimg, "G EMA half-life in kimg; -1 = auto batch * 10 / 32");
    visit("ema_rampup", o.ema_rampup, "EMA ramp-up ratio (0 = none)");
    // augmentation
    visit("aug", o.aug, "ada | fixed | noaug");
    visit("augpipe", o.augpipe, "Augmentation preset (bgc, bgcfnc, ...) or key=value list");
    visit("target", o.target, "ADA target for r_t = E[sign(D(real))]");
    visit("aug_p", o.aug_p, "Augmentation probability (initial for ada, constant for fixed)");
    visit("ada_interval", o.ada_interval, "Minibatches between ADA adjustments of p");
    visit("ada_kimg", o.ada_kimg, "ADA speed: kimg for p to change by 1");
    // bookkeeping
    visit("tick_kimg", o.tick_kimg, "kimg between log.jsonl lines");
    visit("snap_kimg", o.snap_kimg, "kimg between checkpoints + model export (0 = at the end)");
    visit("snap_minutes", o.snap_minutes, "Also checkpoint every N minutes (0 = off)");
    visit("image_kimg", o.image_kimg, "kimg between sample grids (0 = start and end)");
    visit("metrics_kimg", o.metrics_kimg, "kimg between SWD evaluations (0 = off)");
    visit("keep_checkpoints", o.keep_checkpoints, "Checkpoints kept in the run folder's checkpoints/");
}

/// Every field by its name (config.json's "options", a checkpoint's "options").
nlohmann::json to_json(const TrainOptions& options);
/// The fields `json` names, over `defaults`: what to_json wrote, by this or an earlier
/// facegen. facegen::Error naming a key this facegen does not know or a value of the wrong
/// type.
TrainOptions train_options_from_json(const nlohmann::json& json, TrainOptions defaults = {});
/// Multi-line "name = value" listing of every field (logged at start).
std::string to_string(const TrainOptions& options);

}  // namespace facegen::train
