#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/progress.h"
#include "project/latent_encoder.h"
#include "project/losses.h"
#include "project/projector.h"
#include "project/target_face.h"

// The front door of src/project: photos in, latents out. Aligns every photo first (so a bad
// photo stops the run before minutes of optimisation), then projects them a batch at a time.
namespace facegen::project {

/// The loss of `facegen project` unless told otherwise: pixels, structure and the model's
/// discriminator features (docs/project.md measures it against pixels alone), plus the
/// identity term when the face-recognition network is there. Terms whose network is
/// missing are left out.
LossWeights default_loss_weights(bool have_discriminator, bool have_identity);

/// "default", "pixel" (the baseline: pixels only), or weights "pixel=1,ssim=1,..." (terms
/// pixel, ssim, discriminator, identity; absent terms 0). Throws facegen::Error naming
/// what is wrong.
LossWeights parse_loss_weights(const std::string& text, bool have_discriminator, bool have_identity);
std::string to_string(const LossWeights& weights);

/// Optimisation steps after an encoder's start unless told otherwise (docs/project.md
/// measures them against 1000 steps from the average face).
inline constexpr int64_t kStepsAfterEncoder = 40;

struct PhotoProjectionOptions {
    /// The optimisation from the average w (no encoder): steps, space, schedule.
    ProjectionOptions projection;
    /// Start from the encoder's guess when the model has one: the file `encoder`, or ""
    /// for the model's own (<model stem>.encoder.safetensors beside it; none there = start
    /// from the average w). An encoder made for another model is an error.
    bool use_encoder = true;
    std::filesystem::path encoder;
    /// The short optimisation after the encoder's start: projection's options with these
    /// steps, this peak learning rate and no noise on w (the start is already close).
    int64_t encoder_steps = kStepsAfterEncoder;
    double encoder_learning_rate = 0.05;
    std::string loss = "default";  // parse_loss_weights
    /// The FFHQ crop scale of the model's training set (0.7 for the bundled model).
    double crop_scale = 0.7;
    /// Photos optimised together (memory grows with it; results do not depend on it).
    int64_t batch = 16;
    std::string predictor_path = data::kDefaultPredictorPath;
    /// The face-recognition network ("" = the shipped one, when facegen has it).
    std::filesystem::path identity_network;
};

struct ProjectedPhoto {
    std::string photo;
    TargetFace target;
    torch::Tensor ws;                  // float32 [1, num_ws, w_dim], CPU
    std::vector<torch::Tensor> noise;  // [1, 1, R, R] per conv layer when noise was optimised
    double loss = 0;
    std::string start;   // where the optimisation started: "encoder" or "average"
    int64_t steps = 0;   // optimisation steps taken from there
};

struct PhotoProjection {
    std::vector<ProjectedPhoto> photos;
    LossWeights loss;
    std::vector<double> loss_curve;  // mean per step, of the last batch
    double seconds = 0;              // encoder and optimisation (not alignment or loading)
    std::string start = "average";   // "encoder" when every photo started from its guess
    std::filesystem::path encoder;   // the encoder file used, when one was
};

/// The encoder project_photos uses for the model at `model_path` with `model_id`: the one
/// options name, else the model's own when it exists; null when none is used. Throws
/// facegen::Error for a named file that is missing or damaged, or made for another model.
struct ChosenEncoder {
    LatentEncoder encoder{nullptr};
    std::filesystem::path path;
};
ChosenEncoder choose_encoder(const PhotoProjectionOptions& options, const std::filesystem::path& model_path,
                             const std::string& model_id, torch::Device device);

/// Projects `photos` with the model at `model_path` (empty: the bundled model). Throws
/// facegen::Error naming the photo or file at fault, before optimising anything.
PhotoProjection project_photos(const std::filesystem::path& model_path, torch::Device device,
                               const std::vector<std::string>& photos, const PhotoProjectionOptions& options,
                               const core::ProgressCallback& progress = {});

/// The face-recognition network as an embedder of aligned faces in [-1, 1] (`path` "" =
/// the shipped one); empty when facegen has none. Throws facegen::Error naming a bad file.
IdentityEmbedder load_identity_embedder(const std::filesystem::path& path, torch::Device device, double crop_scale);

/// Aligned targets for `photos` (every one checked), as project_photos aligns them.
std::vector<TargetFace> align_photos(const std::vector<std::string>& photos, int64_t resolution, double crop_scale,
                                     const std::string& predictor_path);

}  // namespace facegen::project
