#include "project/photo_projector.h"

#include <cmath>

#include "core/error.h"
#include "generate/bundled_model.h"

namespace facegen::project {

namespace {

void check_options(const PhotoProjectionOptions& options) {
    if (options.batch < 1) throw make_error("batch ", options.batch, " is below 1");
    options.projection.validate();
    if (options.encoder_steps < 1 || options.encoder_steps > 100000) {
        throw make_error("steps after the encoder ", options.encoder_steps, " is outside 1..100000");
    }
    if (!(options.encoder_learning_rate > 0.0) || !std::isfinite(options.encoder_learning_rate)) {
        throw make_error("learning rate after the encoder ", options.encoder_learning_rate,
                         " is not a finite number > 0");
    }
}

/// The model file to load (empty: the bundled one), once the options are known to be good.
std::filesystem::path checked_model_path(const std::filesystem::path& model_path, const PhotoProjectionOptions& options) {
    check_options(options);
    return model_path.empty() ? generate::find_bundled_model() : model_path;
}

}  // namespace

PhotoProjector::PhotoProjector(const std::filesystem::path& model_path, torch::Device device,
                               const PhotoProjectionOptions& options)
    : model_path_(checked_model_path(model_path, options)),
      device_(device),
      batch_(options.batch),
      model_(model::load_model_file(model_path_, device, /*with_discriminator=*/true)) {
    const bool have_discriminator = static_cast<bool>(model_.discriminator);
    IdentityEmbedder identity = load_identity_embedder(options.identity_network, device, options.crop_scale);
    weights_ = parse_loss_weights(options.loss, have_discriminator, static_cast<bool>(identity));
    if (weights_.identity <= 0.0) identity = {};
    loss_ = std::make_unique<ReconstructionLoss>(
        weights_, weights_.discriminator > 0.0 ? model_.discriminator : model::Discriminator(nullptr), identity);
    encoder_ = choose_encoder(options, model_path_, model_.metadata.model_id, device);
    schedule_ = options.projection;
    if (encoder_.encoder) {
        // The encoder's guess is already close: a short run, a gentle rate, no noise on w.
        schedule_.steps = options.encoder_steps;
        schedule_.initial_learning_rate = options.encoder_learning_rate;
        schedule_.initial_w_noise = 0.0;
        start_ = "encoder";
    }
    projector_ = std::make_unique<Projector>(model_.generator, *loss_, schedule_, device);
}

std::vector<ProjectedPhoto> PhotoProjector::project(const std::vector<TargetFace>& targets,
                                                    const std::vector<std::string>& names,
                                                    const core::ProgressCallback& progress) {
    if (targets.size() != names.size()) {
        throw make_error(targets.size(), " faces to project but ", names.size(), " names for them");
    }
    for (size_t i = 0; i < targets.size(); ++i) {
        const torch::Tensor& pixels = targets[i].pixels;
        if (pixels.dim() != 4 || pixels.size(1) != resolution() || pixels.size(2) != resolution()) {
            throw make_error(names[i], ": an aligned face of shape ", pixels.sizes(), ", the model needs [1, ",
                             resolution(), ", ", resolution(), ", 3]");
        }
    }
    std::vector<ProjectedPhoto> out;
    const int64_t n = static_cast<int64_t>(targets.size());
    const int64_t batches = (n + batch_ - 1) / batch_;
    for (int64_t begin = 0; begin < n; begin += batch_) {
        const int64_t count = std::min(batch_, n - begin);
        std::vector<torch::Tensor> pixels;
        for (int64_t i = begin; i < begin + count; ++i) pixels.push_back(targets[static_cast<size_t>(i)].pixels);
        const torch::Tensor batch = torch::cat(pixels);
        torch::Tensor start_w;
        if (encoder_.encoder) {
            torch::NoGradGuard no_grad;
            start_w = encoder_.encoder->forward(to_generator_range(batch).to(device_));
        }
        const ProjectionResult result = projector_->project(batch, [&](const StepReport& step) {
            if (!progress) return;
            core::ProgressReport report;
            report.unit = "step";
            report.done = static_cast<double>(begin / batch_ * step.steps + step.step);
            report.total = static_cast<double>(batches * step.steps);
            report.figures.push_back({"loss", step.loss});
            for (const auto& [name, value] : step.terms) report.figures.push_back({name, value});
            progress(report);
        }, start_w);
        for (int64_t i = 0; i < count; ++i) {
            ProjectedPhoto photo;
            photo.photo = names[static_cast<size_t>(begin + i)];
            photo.target = targets[static_cast<size_t>(begin + i)];
            photo.ws = result.ws.narrow(0, i, 1).clone();
            for (const torch::Tensor& map : result.noise) photo.noise.push_back(map.narrow(0, i, 1).clone());
            photo.loss = result.loss[i].item<double>();
            photo.start = start_;
            photo.steps = schedule_.steps;
            out.push_back(std::move(photo));
        }
        loss_curve_ = result.loss_curve;
    }
    return out;
}

}  // namespace facegen::project
