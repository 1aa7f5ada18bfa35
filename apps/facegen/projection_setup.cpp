#include "projection_setup.h"

#include <map>
#include <set>

#include "core/error.h"
#include "core/image_grid.h"
#include "core/npy.h"
#include "core/png_io.h"
#include "core/atomic_file.h"
#include "provenance/labelled_png.h"

namespace facegen::app {

namespace fs = std::filesystem;
using json = nlohmann::json;

project::PhotoProjectionOptions ProjectionParams::options() const {
    project::PhotoProjectionOptions options;
    if (steps != kDefaultSteps && (steps < 1 || steps > 100000)) {
        throw make_error("bad --steps ", steps, ": expected 1..100000");
    }
    if (!(crop_scale > 0.1 && crop_scale <= 2.0)) throw make_error("bad --crop-scale ", crop_scale, ": expected (0.1, 2]");
    if (batch < 1 || batch > 256) throw make_error("bad --batch ", batch, ": expected 1..256");
    if (steps != kDefaultSteps) {
        options.projection.steps = steps;
        options.encoder_steps = steps;
    }
    options.use_encoder = !no_encoder;
    options.encoder = encoder;
    if (no_encoder && !encoder.empty()) throw make_error("--no-encoder and --encoder: choose one");
    try {
        options.projection.mode = project::parse_latent_mode(space);
    } catch (const Error& e) {
        throw make_error("bad --space: ", e.what());
    }
    options.projection.optimize_noise = noise;
    options.projection.seed = seed;
    options.loss = loss;
    options.crop_scale = crop_scale;
    options.batch = batch;
    options.identity_network = identity_network;
    return options;
}

void add_projection_options(CLI::App* cmd, ProjectionParams& params) {
    cmd->add_option("--steps", params.steps,
                    "Optimisation steps (default: " + std::to_string(project::kStepsAfterEncoder) +
                        " after the model's encoder, 1000 from the average face without one)");
    add_encoder_options(cmd, params);
    cmd->add_option("--space", params.space, "Latent to find: w (one for all layers) or w+ (one per layer)")
        ->capture_default_str();
    cmd->add_flag("--noise", params.noise, "Also optimise the noise maps (written to projected_noise.npz)");
    cmd->add_option("--loss", params.loss,
                    "default, pixel (baseline), or weights pixel=1,ssim=1,discriminator=1,identity=1")
        ->capture_default_str();
    cmd->add_option("--crop-scale", params.crop_scale, "FFHQ crop scale of the model's training set")
        ->capture_default_str();
    cmd->add_option("--seed", params.seed, "Seed of the optimisation's noise")->capture_default_str();
    cmd->add_option("--batch", params.batch, "Photos optimised together")->capture_default_str();
    cmd->add_option("--identity-network", params.identity_network,
                    "Face-recognition network for the identity term (default: the shipped one)");
}

void add_encoder_options(CLI::App* cmd, ProjectionParams& params) {
    cmd->add_flag("--no-encoder", params.no_encoder,
                  "Start from the average face, not from the model's encoder (<model stem>.encoder.safetensors)");
    cmd->add_option("--encoder", params.encoder, "Encoder file (default: the model's, when it exists)");
}

fs::path projection_folder(const fs::path& out, const std::vector<std::string>& photos, size_t index) {
    if (photos.size() == 1) return out;
    std::map<std::string, int> stems;
    for (const std::string& photo : photos) ++stems[fs::path(photo).stem().string()];
    const std::string stem = fs::path(photos[index]).stem().string();
    return stems[stem] > 1 ? out / (stem + "-" + std::to_string(index)) : out / stem;
}

std::string projection_note(const project::ProjectedPhoto& photo, const project::PhotoProjectionOptions& options) {
    return "projected from photo '" + fs::path(photo.photo).filename().string() + "' (" +
           project::to_string(options.projection.mode) + ", " + (photo.start == "encoder" ? "encoder start + " : "") +
           std::to_string(photo.steps) + " steps" +
           (options.projection.optimize_noise ? ", noise optimised" : "") + ")";
}

json write_projection(const fs::path& folder, generate::Session& session, const project::ProjectedPhoto& photo,
                      const project::PhotoProjectionOptions& options, bool watermark) {
    fs::create_directories(folder);
    torch::InferenceMode inference;
    const int64_t side = session.config().resolution;
    const torch::Tensor target = photo.target.pixels[0].contiguous();
    core::write_png(folder / "target.png", target.data_ptr<uint8_t>(), side, side, 3);

    generate::Request request;
    request.latents = generate::Latents{generate::LatentSpace::WS, photo.ws, "w"};
    request.watermark = watermark;
    request.adjustment = projection_note(photo, options);
    session.check(request);
    provenance::ImageProvenance info = session.provenance_for(request);
    info.latent_index = 0;
    const torch::Tensor reconstruction = project::reconstruct(session, photo);
    provenance::write_labelled_png(folder / "proj.png", reconstruction, info);
    provenance::ImageProvenance pair_info = info;
    pair_info.n_images = 2;
    provenance::write_labelled_png(folder / "side_by_side.png",
                                   core::make_image_grid(torch::stack({target, reconstruction}), 2), pair_info);
    core::write_npz(folder / "projected_w.npz", {{"w", photo.ws}});
    if (!photo.noise.empty()) {
        std::map<std::string, torch::Tensor> noise;
        for (size_t i = 0; i < photo.noise.size(); ++i) noise["noise" + std::to_string(i)] = photo.noise[i];
        core::write_npz(folder / "projected_noise.npz", noise);
    }

    const project::ReconstructionQuality quality = project::reconstruction_quality(target.unsqueeze(0), reconstruction.unsqueeze(0));
    json figures = {{"photo", photo.photo},
                    {"faces_found", photo.target.faces_found},
                    {"face_size_px", photo.target.face_size_px},
                    {"pad_fraction", photo.target.pad_fraction},
                    {"space", project::to_string(options.projection.mode)},
                    {"start_latent", photo.start},
                    {"steps", photo.steps},
                    {"noise_optimised", options.projection.optimize_noise},
                    {"loss", photo.loss},
                    {"psnr_db", quality.psnr_db},
                    {"ssim", quality.ssim},
                    {"model_id", session.metadata().model_id}};
    core::write_file_atomically(folder / "projection.json", figures.dump(1) + "\n");
    return figures;
}

}  // namespace facegen::app
