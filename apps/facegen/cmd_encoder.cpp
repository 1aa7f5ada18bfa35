// facegen encoder train: trains the encoder that gives projection its starting latent, for
// one model, from the model's own (w, face) pairs and, with --photos, real photos aligned
// as projection aligns them. Resumable: the state is checkpointed beside --out and a
// second run with the same --out goes on from it. The work is in src/project.

#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "output_paths.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "facegen/core/version.h"
#include "generate/bundled_model.h"
#include "model/model_file.h"
#include "project/encoder_training.h"
#include "project/photo_folder.h"
#include "project/photo_projection.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct EncoderTrainParams {
    std::string model;
    std::string out;  // default: beside the model
    std::string photos;
    int64_t photo_count = 1000;
    int64_t photo_skip = 0;
    int64_t steps = 3000;
    int64_t batch = 16;
    int64_t photos_per_batch = 4;
    double learning_rate = 1e-3;
    std::string loss = "none";
    double crop_scale = 0.7;
    uint64_t seed = 0;
    int64_t checkpoint_every = 100;
    int threads = 0;
};

void run_encoder_train(const EncoderTrainParams& params) {
    const fs::path model_path = params.model.empty() ? generate::find_bundled_model() : fs::path(params.model);
    const fs::path out = params.out.empty() ? project::encoder_path_for(model_path) : fs::path(params.out);
    check_output_file(out, "--out", "M.encoder.safetensors");
    if (params.photo_count < 1) throw make_error("bad --photo-count ", params.photo_count, ": expected >= 1");
    project::EncoderTrainingOptions options;
    options.steps = params.steps;
    options.batch = params.batch;
    options.photos_per_batch = params.photos.empty() ? 0 : params.photos_per_batch;
    options.learning_rate = params.learning_rate;
    options.seed = params.seed;
    options.checkpoint_every = params.checkpoint_every;
    core::set_cpu_threads(params.threads);

    model::LoadedModel model = model::load_model_file(model_path, torch::kCPU, /*with_discriminator=*/true);
    try {
        options.image_loss = params.loss == "none" ? project::LossWeights{0.0, 0.0, 0.0, 0.0}
                                                   : project::parse_loss_weights(params.loss,
                                                                                 static_cast<bool>(model.discriminator), false);
    } catch (const Error& e) {
        throw make_error("bad --loss: ", e.what());
    }
    options.encoder = project::LatentEncoderOptions(model.config.resolution, model.config.w_dim).channels_max(64);
    options.validate();

    torch::Tensor photos;
    int64_t skipped = 0;
    if (!params.photos.empty()) {
        std::fprintf(stderr, "encoder train: aligning up to %lld photos of '%s'\n", static_cast<long long>(params.photo_count),
                     params.photos.c_str());
        const project::UsablePhotos usable =
            project::usable_photos(project::image_files(params.photos), params.photo_count, model.config.resolution,
                                   params.crop_scale, data::kDefaultPredictorPath, params.photo_skip);
        if (usable.faces.empty()) throw make_error("no photo in '", params.photos, "' has a face the model can take");
        std::vector<torch::Tensor> pixels;
        for (const project::TargetFace& face : usable.faces) pixels.push_back(face.pixels);
        photos = torch::cat(pixels);
        skipped = usable.skipped;
    }

    const fs::path checkpoint = out.string() + ".checkpoint";
    core::ProgressLine line("encoder train");
    core::ProgressReport last;
    const project::EncoderTrainingResult result =
        project::train_encoder(model.generator, model.discriminator, model.metadata.model_id, photos, options, checkpoint,
                               [&](const core::ProgressReport& report) {
                                   last = report;
                                   line.update(report);
                               });
    line.finish(last);

    json provenance = {{"steps", options.steps},
                       {"batch", options.batch},
                       {"learning_rate", options.learning_rate},
                       {"image_loss", params.loss == "none" ? "none" : project::to_string(options.image_loss)},
                       {"psi_min", options.psi_min},
                       {"seed", options.seed},
                       {"photos", params.photos.empty() ? json(nullptr) : json(fs::path(params.photos).filename().string())},
                       {"photos_used", photos.defined() ? photos.size(0) : 0},
                       {"photos_skipped_first", params.photo_skip},
                       {"photos_per_batch", options.photos_per_batch},
                       {"heldout_w_error", result.heldout_w_error},
                       {"heldout_psnr_db", result.heldout_psnr_db},
                       {"facegen_version", kVersion}};
    project::LatentEncoder encoder = result.encoder;
    project::save_encoder(out, encoder, model.metadata.model_id, provenance.dump());
    const json figures = {{"encoder", out.string()},
                          {"model_id", model.metadata.model_id},
                          {"resumed_from_step", result.first_step},
                          {"photos_skipped_no_usable_face", skipped},
                          {"provenance", provenance}};
    std::printf("%s\n", figures.dump().c_str());
}

}  // namespace

void add_encoder_command(CLI::App& app) {
    CLI::App* encoder = app.add_subcommand("encoder", "The encoder that gives a projection its starting latent");
    encoder->require_subcommand(1);
    auto params = std::make_shared<EncoderTrainParams>();
    CLI::App* cmd = encoder->add_subcommand(
        "train", "Train a model's encoder on its own faces (and --photos); resumes from OUT.checkpoint");
    cmd->add_option("--model", params->model, "Model file (default: $FACEGEN_MODEL, else the bundled model)");
    cmd->add_option("--out", params->out, "Encoder file (default: <model stem>.encoder.safetensors beside the model)");
    cmd->add_option("--photos", params->photos, "Folder of real photos (aligned here) for the image loss");
    cmd->add_option("--photo-count", params->photo_count, "Photos of --photos to use (name order)")->capture_default_str();
    cmd->add_option("--photo-skip", params->photo_skip, "Usable photos of --photos to pass over first (held out)")
        ->capture_default_str();
    cmd->add_option("--steps", params->steps, "Training steps")->capture_default_str();
    cmd->add_option("--batch", params->batch, "Generated faces per step")->capture_default_str();
    cmd->add_option("--photos-per-batch", params->photos_per_batch, "Real photos per step (with --photos)")
        ->capture_default_str();
    cmd->add_option("--learning-rate", params->learning_rate, "Adam's learning rate (cosine decay to 5%)")
        ->capture_default_str();
    cmd->add_option("--loss", params->loss, "Image terms besides the w error: none, or as project --loss (no identity; needed with --photos)")->capture_default_str();
    cmd->add_option("--crop-scale", params->crop_scale, "FFHQ crop scale of the model's training set")
        ->capture_default_str();
    cmd->add_option("--seed", params->seed, "Seed of the generated faces")->capture_default_str();
    cmd->add_option("--checkpoint-every", params->checkpoint_every, "Steps between checkpoints")->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->callback([params] { run_encoder_train(*params); });
}

}  // namespace facegen::app
