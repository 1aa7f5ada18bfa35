#include "project/photo_projection.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "generate/bundled_model.h"
#include "identity/face_recognition.h"
#include "model/model_file.h"

namespace facegen::project {

IdentityEmbedder load_identity_embedder(const std::filesystem::path& given, torch::Device device, double crop_scale) {
    std::filesystem::path path = given;
    if (path.empty()) {
        const auto shipped = generate::find_shipped_file("facegen-face-recognition.safetensors");
        if (!shipped) return {};
        path = *shipped;
    }
    auto net = std::make_shared<identity::FaceRecognitionNet>(identity::load_face_recognition(path, device));
    for (auto& parameter : (*net)->parameters()) parameter.set_requires_grad(false);  // a fixed judge
    return [net, crop_scale](const torch::Tensor& images) {
        return identity::embed_aligned_faces(*net, images, crop_scale);
    };
}

LossWeights default_loss_weights(bool have_discriminator, bool have_identity) {
    LossWeights weights;
    weights.pixel = 1.0;
    weights.ssim = 1.0;
    weights.discriminator = have_discriminator ? 1.0 : 0.0;
    weights.identity = have_identity ? 1.0 : 0.0;
    return weights;
}

LossWeights parse_loss_weights(const std::string& text, bool have_discriminator, bool have_identity) {
    if (text == "default") return default_loss_weights(have_discriminator, have_identity);
    if (text == "pixel") return LossWeights{};
    LossWeights weights;
    weights.pixel = 0.0;
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        const size_t equals = item.find('=');
        const std::string name = item.substr(0, equals);
        char* end = nullptr;
        const std::string value_text = equals == std::string::npos ? "" : item.substr(equals + 1);
        const double value = std::strtod(value_text.c_str(), &end);
        if (value_text.empty() || *end != '\0' || !std::isfinite(value) || value < 0.0) {
            throw make_error("bad loss '", item, "': expected default, pixel or TERM=WEIGHT,... with weights >= 0");
        }
        if (name == "pixel") {
            weights.pixel = value;
        } else if (name == "ssim") {
            weights.ssim = value;
        } else if (name == "discriminator") {
            weights.discriminator = value;
        } else if (name == "identity") {
            weights.identity = value;
        } else {
            throw make_error("unknown loss term '", name, "': expected pixel, ssim, discriminator or identity");
        }
    }
    if (weights.discriminator > 0.0 && !have_discriminator) {
        throw make_error("loss term discriminator: the model file holds no discriminator");
    }
    if (weights.identity > 0.0 && !have_identity) {
        throw make_error("loss term identity: no face-recognition network (models/facegen-face-recognition.safetensors)");
    }
    return weights;
}

std::string to_string(const LossWeights& weights) {
    std::string out;
    const auto add = [&](const char* name, double value) {
        if (value <= 0.0) return;
        std::ostringstream item;
        item << name << "=" << value;
        out += (out.empty() ? "" : ",") + item.str();
    };
    add("pixel", weights.pixel);
    add("ssim", weights.ssim);
    add("discriminator", weights.discriminator);
    add("identity", weights.identity);
    return out;
}

std::vector<TargetFace> align_photos(const std::vector<std::string>& photos, int64_t resolution, double crop_scale,
                                     const std::string& predictor_path) {
    if (!(crop_scale > 0.1 && crop_scale <= 2.0)) throw make_error("crop scale ", crop_scale, " is outside (0.1, 2]");
    data::FaceDetector detector(predictor_path, /*upsample=*/1);
    const data::LandmarkPredictor predictor(predictor_path);
    std::vector<TargetFace> targets;
    for (const std::string& photo : photos) {
        targets.push_back(load_target_face(photo, resolution, crop_scale, detector, predictor));
    }
    return targets;
}

ChosenEncoder choose_encoder(const PhotoProjectionOptions& options, const std::filesystem::path& model_path,
                             const std::string& model_id, torch::Device device) {
    ChosenEncoder out;
    if (!options.use_encoder) return out;
    out.path = options.encoder.empty() ? encoder_path_for(model_path) : options.encoder;
    if (options.encoder.empty() && !std::filesystem::exists(out.path)) return {};
    out.encoder = load_encoder(out.path, model_id, device).encoder;
    return out;
}

PhotoProjection project_photos(const std::filesystem::path& model_path, torch::Device device,
                               const std::vector<std::string>& photos, const PhotoProjectionOptions& options,
                               const core::ProgressCallback& progress) {
    if (photos.empty()) throw make_error("no photos to project");
    if (options.batch < 1) throw make_error("batch ", options.batch, " is below 1");
    options.projection.validate();
    if (options.encoder_steps < 1 || options.encoder_steps > 100000) {
        throw make_error("steps after the encoder ", options.encoder_steps, " is outside 1..100000");
    }
    if (!(options.encoder_learning_rate > 0.0) || !std::isfinite(options.encoder_learning_rate)) {
        throw make_error("learning rate after the encoder ", options.encoder_learning_rate, " is not a finite number > 0");
    }
    const std::filesystem::path path = model_path.empty() ? generate::find_bundled_model() : model_path;
    model::LoadedModel model = model::load_model_file(path, device, /*with_discriminator=*/true);
    const bool have_discriminator = static_cast<bool>(model.discriminator);
    IdentityEmbedder identity = load_identity_embedder(options.identity_network, device, options.crop_scale);

    PhotoProjection out;
    out.loss = parse_loss_weights(options.loss, have_discriminator, static_cast<bool>(identity));
    if (out.loss.identity <= 0.0) identity = {};
    ReconstructionLoss loss(out.loss, out.loss.discriminator > 0.0 ? model.discriminator : model::Discriminator(nullptr),
                            identity);
    // A wrong encoder is refused before minutes of alignment and optimisation.
    ChosenEncoder encoder = choose_encoder(options, path, model.metadata.model_id, device);
    const std::vector<TargetFace> targets =
        align_photos(photos, model.config.resolution, options.crop_scale, options.predictor_path);

    ProjectionOptions schedule = options.projection;
    if (encoder.encoder) {
        schedule.steps = options.encoder_steps;
        schedule.initial_learning_rate = options.encoder_learning_rate;
        schedule.initial_w_noise = 0.0;
        out.start = "encoder";
        out.encoder = encoder.path;
    }
    Projector projector(model.generator, loss, schedule, device);
    const auto start = std::chrono::steady_clock::now();
    const int64_t n = static_cast<int64_t>(photos.size());
    for (int64_t begin = 0; begin < n; begin += options.batch) {
        const int64_t count = std::min(options.batch, n - begin);
        std::vector<torch::Tensor> pixels;
        for (int64_t i = begin; i < begin + count; ++i) pixels.push_back(targets[static_cast<size_t>(i)].pixels);
        const torch::Tensor batch = torch::cat(pixels);
        torch::Tensor start_w;
        if (encoder.encoder) {
            torch::NoGradGuard no_grad;
            start_w = encoder.encoder->forward(to_generator_range(batch).to(device));
        }
        const ProjectionResult result = projector.project(batch, [&](const StepReport& step) {
            if (!progress) return;
            core::ProgressReport report;
            report.unit = "step";
            report.done = static_cast<double>(begin / options.batch * step.steps + step.step);
            report.total = static_cast<double>((n + options.batch - 1) / options.batch * step.steps);
            report.figures.push_back({"loss", step.loss});
            for (const auto& [name, value] : step.terms) report.figures.push_back({name, value});
            progress(report);
        }, start_w);
        for (int64_t i = 0; i < count; ++i) {
            ProjectedPhoto photo;
            photo.photo = photos[static_cast<size_t>(begin + i)];
            photo.target = targets[static_cast<size_t>(begin + i)];
            photo.ws = result.ws.narrow(0, i, 1).clone();
            for (const torch::Tensor& map : result.noise) photo.noise.push_back(map.narrow(0, i, 1).clone());
            photo.loss = result.loss[i].item<double>();
            photo.start = out.start;
            photo.steps = schedule.steps;
            out.photos.push_back(std::move(photo));
        }
        out.loss_curve = result.loss_curve;
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

}  // namespace facegen::project
