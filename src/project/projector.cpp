#include "project/projector.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace facegen::project {

std::string to_string(LatentMode mode) { return mode == LatentMode::kW ? "w" : "w+"; }

LatentMode parse_latent_mode(const std::string& text) {
    if (text == "w") return LatentMode::kW;
    if (text == "w+" || text == "wplus") return LatentMode::kWPlus;
    throw make_error("unknown latent space '", text, "': expected w or w+");
}

void ProjectionOptions::validate() const {
    if (steps < 1 || steps > 100000) throw make_error("steps ", steps, " is outside 1..100000");
    if (!(initial_learning_rate > 0.0) || !std::isfinite(initial_learning_rate)) {
        throw make_error("learning rate ", initial_learning_rate, " is not a finite number > 0");
    }
    if (!(initial_w_noise >= 0.0) || !std::isfinite(initial_w_noise)) {
        throw make_error("initial w noise ", initial_w_noise, " is not a finite number >= 0");
    }
    for (const double length : {noise_ramp_length, lr_rampdown_length, lr_rampup_length}) {
        if (!(length > 0.0 && length <= 1.0)) throw make_error("ramp length ", length, " is outside (0, 1]");
    }
    if (w_avg_samples < 2) throw make_error("w average samples ", w_avg_samples, " is below 2");
}

torch::Tensor to_generator_range(const torch::Tensor& pixels) {
    TORCH_CHECK(pixels.dim() == 4 && pixels.size(3) == 3, "expected uint8 [N, R, R, 3], got ", pixels.sizes());
    return pixels.permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0;
}

Projector::Projector(model::Generator generator, ReconstructionLoss& loss, ProjectionOptions options,
                     torch::Device device)
    : generator_(std::move(generator)), loss_(loss), options_(options), device_(device) {
    options_.validate();
    generator_->to(device_);
    generator_->eval();
    for (auto& parameter : generator_->parameters()) parameter.set_requires_grad(false);

    torch::NoGradGuard no_grad;
    // Seeded on the CPU, so that every run (and device) starts from the same average.
    auto cpu = at::detail::createCPUGenerator(options_.seed);
    const torch::Tensor z = at::randn({options_.w_avg_samples, generator_->config().z_dim}, cpu).to(device_);
    const torch::Tensor w = generator_->map(z, {}).select(1, 0);
    w_avg_ = w.mean(0);
    w_std_ = std::sqrt((w - w_avg_).pow(2).sum(1).mean().item<double>());
}

torch::Tensor Projector::synthesize(const torch::Tensor& ws, const std::vector<torch::Tensor>& noise) {
    model::SynthesisOptions options;
    // Const noise: the image generate makes from the same ws. Optimised noise replaces it.
    options.noise_mode = noise.empty() ? model::NoiseMode::Const : model::NoiseMode::Random;
    options.noise = noise;
    return generator_->synthesize(ws, options);
}

ProjectionResult Projector::project(const torch::Tensor& targets, const std::function<void(const StepReport&)>& on_step,
                                    const torch::Tensor& start_w) {
    const model::GeneratorConfig& config = generator_->config();
    TORCH_CHECK(targets.dim() == 4 && targets.size(1) == config.resolution && targets.size(2) == config.resolution &&
                    targets.size(3) == 3 && targets.scalar_type() == torch::kUInt8,
                "Projector: expected uint8 targets [N, ", config.resolution, ", ", config.resolution, ", 3], got ",
                targets.sizes(), " ", targets.scalar_type());
    const int64_t n = targets.size(0);
    const int64_t num_ws = config.num_ws();
    loss_.set_targets(to_generator_range(targets).to(device_));

    const int64_t rows = options_.mode == LatentMode::kW ? 1 : num_ws;
    torch::Tensor start = w_avg_.view({1, 1, -1}).repeat({n, rows, 1});
    if (start_w.defined()) {
        TORCH_CHECK(start_w.dim() == 2 && start_w.size(0) == n && start_w.size(1) == config.w_dim,
                    "Projector: expected start w [", n, ", ", config.w_dim, "], got ", start_w.sizes());
        start = start_w.detach().to(device_, torch::kFloat32).unsqueeze(1).repeat({1, rows, 1});
    }
    torch::Tensor w_opt = start.clone().set_requires_grad(true);
    std::vector<torch::Tensor> parameters = {w_opt};
    std::vector<torch::Tensor> noise;
    auto cpu = at::detail::createCPUGenerator(options_.seed + 1);
    if (options_.optimize_noise) {
        for (const auto& block : generator_->synthesis()->blocks()) {
            const int64_t r = block->options().resolution();
            for (int64_t j = 0; j < block->num_conv(); ++j) {
                noise.push_back(at::randn({n, 1, r, r}, cpu).to(device_).set_requires_grad(true));
                parameters.push_back(noise.back());
            }
        }
    }
    torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(options_.initial_learning_rate).betas({0.9, 0.999}));

    ProjectionResult result;
    for (int64_t step = 0; step < options_.steps; ++step) {
        const double t = static_cast<double>(step) / static_cast<double>(options_.steps);
        const double w_noise_scale =
            w_std_ * options_.initial_w_noise * std::pow(std::max(0.0, 1.0 - t / options_.noise_ramp_length), 2);
        double ramp = std::min(1.0, (1.0 - t) / options_.lr_rampdown_length);
        ramp = 0.5 - 0.5 * std::cos(ramp * M_PI);
        ramp *= std::min(1.0, t / options_.lr_rampup_length);
        const double learning_rate = options_.initial_learning_rate * ramp;
        for (auto& group : optimizer.param_groups()) {
            static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
        }

        const torch::Tensor w_noise = at::randn(w_opt.sizes(), cpu).to(device_) * w_noise_scale;
        const torch::Tensor ws = (w_opt + w_noise).expand({n, num_ws, -1});
        std::map<std::string, torch::Tensor> terms;
        const torch::Tensor per_image = loss_(synthesize(ws, noise), &terms);
        torch::Tensor total = per_image.sum();
        if (!noise.empty()) {
            // Correlation of each noise map with itself shifted by one pixel, at every scale
            // down to 8x8: zero for white noise, large when noise starts to carry the image.
            torch::Tensor penalty = torch::zeros({n}, per_image.options());
            for (const torch::Tensor& map : noise) {
                torch::Tensor v = map;
                while (true) {
                    penalty = penalty + (v * torch::roll(v, 1, 3)).flatten(1).mean(1).pow(2) +
                              (v * torch::roll(v, 1, 2)).flatten(1).mean(1).pow(2);
                    if (v.size(2) <= 8) break;
                    v = torch::nn::functional::avg_pool2d(v, torch::nn::functional::AvgPool2dFuncOptions(2));
                }
            }
            total = total + options_.noise_regularize_weight * penalty.sum();
        }
        optimizer.zero_grad();
        total.backward();
        optimizer.step();
        if (!noise.empty()) {
            torch::NoGradGuard no_grad;
            for (torch::Tensor& map : noise) {
                const torch::Tensor centred = map - map.mean({1, 2, 3}, /*keepdim=*/true);
                map.copy_(centred * centred.pow(2).mean({1, 2, 3}, /*keepdim=*/true).rsqrt());
            }
        }

        const double mean_loss = per_image.mean().item<double>();
        result.loss_curve.push_back(mean_loss);
        if (on_step) {
            StepReport report;
            report.step = step + 1;
            report.steps = options_.steps;
            report.loss = mean_loss;
            report.learning_rate = learning_rate;
            for (const auto& [name, value] : terms) report.terms[name] = value.mean().item<double>();
            on_step(report);
        }
    }

    torch::NoGradGuard no_grad;
    result.ws = w_opt.detach().expand({n, num_ws, -1}).contiguous();
    for (const torch::Tensor& map : noise) result.noise.push_back(map.detach().cpu());
    result.loss = loss_(synthesize(result.ws, noise)).cpu();
    result.ws = result.ws.cpu();
    return result;
}

}  // namespace facegen::project
