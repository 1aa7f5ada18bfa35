#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/generator.h"
#include "project/losses.h"

// Projection (Karras et al. 2020, sec. 5; the official projector.py's schedule): find the
// latent whose image reproduces a target, by Adam on w from the average w, with noise added
// to w early on and a learning rate ramped up then down.
namespace facegen::project {

enum class LatentMode {
    kW,      // one w for every layer (the official projector): edits apply cleanly
    kWPlus,  // one w per layer: closer reconstructions, further from the model's faces
};
std::string to_string(LatentMode mode);
LatentMode parse_latent_mode(const std::string& text);  // "w" | "w+"

struct ProjectionOptions {
    int64_t steps = 1000;
    LatentMode mode = LatentMode::kW;
    /// Also optimise the per-layer noise (the official projector does); the result then
    /// needs that noise to be reproduced, which `generate --latents` does not take.
    bool optimize_noise = false;
    double initial_learning_rate = 0.1;
    /// Noise on w at the start, as a share of the spread of the model's w; fades out over
    /// the first noise_ramp_length of the steps.
    double initial_w_noise = 0.05;
    double noise_ramp_length = 0.75;
    double lr_rampdown_length = 0.25;
    double lr_rampup_length = 0.05;
    /// Penalty on spatial correlation of the optimised noise (keeps it noise, not image).
    double noise_regularize_weight = 1e5;
    /// z samples for the average w and its spread.
    int64_t w_avg_samples = 10000;
    /// Seeds the w noise and the initial optimised noise.
    uint64_t seed = 0;

    /// Throws facegen::Error naming the value that is out of range.
    void validate() const;
};

/// What one step did, for progress bars and loss curves.
struct StepReport {
    int64_t step = 0;  // 1..steps
    int64_t steps = 0;
    double loss = 0;   // mean over the images
    std::map<std::string, double> terms;  // each weighted term's mean
    double learning_rate = 0;
};

struct ProjectionResult {
    torch::Tensor ws;                  // float32 [N, num_ws, w_dim], CPU
    std::vector<torch::Tensor> noise;  // optimised noise per conv layer [N, 1, R, R], CPU; empty if not optimised
    torch::Tensor loss;                // final per-image loss [N], CPU (without the w noise)
    std::vector<double> loss_curve;    // mean loss per step
};

/// Projects targets with a model's generator. Generator weights are never changed.
class Projector {
public:
    Projector(model::Generator generator, ReconstructionLoss& loss, ProjectionOptions options, torch::Device device);

    /// targets uint8 [N, R, R, 3] (aligned faces, e.g. TargetFace::pixels concatenated):
    /// each image is its own problem (the per-image losses are summed, and Adam works per
    /// element), so a batch gives what one-by-one projection gives, faster.
    /// `start_w` [N, w_dim] (e.g. an encoder's guess) replaces the average w as the start.
    ProjectionResult project(const torch::Tensor& targets, const std::function<void(const StepReport&)>& on_step = {},
                             const torch::Tensor& start_w = {});

    /// The average w of the model and the RMS distance of w from it, from w_avg_samples z.
    const torch::Tensor& w_average() const { return w_avg_; }
    double w_spread() const { return w_std_; }

private:
    torch::Tensor synthesize(const torch::Tensor& ws, const std::vector<torch::Tensor>& noise);

    model::Generator generator_;
    ReconstructionLoss& loss_;
    ProjectionOptions options_;
    torch::Device device_;
    torch::Tensor w_avg_;  // [w_dim]
    double w_std_ = 0;
};

/// uint8 [N, R, R, 3] -> float [N, 3, R, R] in [-1, 1], the generator's range.
torch::Tensor to_generator_range(const torch::Tensor& pixels);

}  // namespace facegen::project
