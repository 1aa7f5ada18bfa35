#include "project/photo_projection.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "generate/bundled_model.h"
#include "identity/face_recognition.h"
#include "model/model_file.h"
#include "project/photo_projector.h"

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
    // Options, model and encoder are checked (a wrong encoder refused) before minutes of
    // alignment and optimisation.
    PhotoProjector projector(model_path, device, options);
    const std::vector<TargetFace> targets =
        align_photos(photos, projector.resolution(), options.crop_scale, options.predictor_path);

    PhotoProjection out;
    out.loss = projector.loss_weights();
    out.start = projector.start();
    out.encoder = projector.encoder_path();
    const auto start = std::chrono::steady_clock::now();
    out.photos = projector.project(targets, photos, progress);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.loss_curve = projector.last_loss_curve();
    return out;
}

}  // namespace facegen::project
