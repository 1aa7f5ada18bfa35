#pragma once

#include <cstdint>
#include <string>

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

nlohmann::json to_json(const TrainOptions& options);
/// Multi-line "name = value" listing of every field (logged at start).
std::string to_string(const TrainOptions& options);

}  // namespace facegen::train
