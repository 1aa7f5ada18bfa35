#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/progress.h"
#include "model/discriminator.h"
#include "model/generator.h"
#include "project/latent_encoder.h"
#include "project/losses.h"
#include "project/projector.h"

// Training an encoder for one model: the model draws its own faces from random w (with the
// truncation of each sampled between psi_min and 1), the encoder learns to read w back
// from the face (a loss in w) and to give w whose face looks like the one it read (the
// projection's loss in image space); real aligned photos, when given, add the image loss
// alone (no w is known for them). Nothing is downloaded; the model's own discriminator is
// the perceptual network, as in projection.
namespace facegen::project {

struct EncoderTrainingOptions {
    int64_t steps = 3000;
    int64_t batch = 16;
    /// Real photos per step, taken from `photos` (0 when there are none).
    int64_t photos_per_batch = 4;
    double learning_rate = 1e-3;  // Adam; cosine decay to 5% of it over the steps
    /// Weight of the squared w error, in units of the per-dimension variance of w.
    double w_weight = 1.0;
    /// Image terms: as the projection's loss (identity left out by default: its network
    /// costs more per image than the rest of a step together on a CPU).
    LossWeights image_loss = {/*pixel=*/1.0, /*ssim=*/0.0, /*discriminator=*/1.0, /*identity=*/0.0};
    double psi_min = 0.6;
    uint64_t seed = 0;
    /// Steps between checkpoints (and the last step always).
    int64_t checkpoint_every = 100;
    LatentEncoderOptions encoder{64, 512};

    /// Throws facegen::Error naming the value that is out of range.
    void validate() const;
};

struct EncoderTrainingResult {
    LatentEncoder encoder{nullptr};
    int64_t first_step = 0;             // > 0 when resumed from a checkpoint
    std::vector<double> loss_curve;     // total loss per step run now
    /// On 64 faces the training never saw (a fixed seed): mean squared w error per
    /// dimension over the variance of w, and the PSNR of G(encoder(face)) against the face.
    double heldout_w_error = 0;
    double heldout_psnr_db = 0;
};

/// Trains (or, when `checkpoint` exists, goes on training) an encoder for `generator`,
/// saving its state to `checkpoint` every options.checkpoint_every steps, atomically.
/// `photos`: aligned real faces uint8 [M, R, R, 3] (may be undefined or empty).
/// `discriminator` may be null when options.image_loss.discriminator is 0. Throws
/// facegen::Error for a checkpoint of another model or encoder shape.
EncoderTrainingResult train_encoder(model::Generator generator, model::Discriminator discriminator,
                                    const std::string& model_id, const torch::Tensor& photos,
                                    const EncoderTrainingOptions& options, const std::filesystem::path& checkpoint,
                                    const core::ProgressCallback& progress = {});

/// The face the generator makes from one w per image [N, w_dim] (const noise, as generate
/// makes it): [N, 3, R, R] in [-1, 1].
torch::Tensor synthesize_w(model::Generator& generator, const torch::Tensor& w);

/// The average w of a generator and the mean per-dimension variance of w, from `samples` z
/// of a seeded stream.
struct WStatistics {
    torch::Tensor w_avg;  // [w_dim]
    double w_variance = 0;
};
WStatistics w_statistics(model::Generator& generator, int64_t samples, uint64_t seed);

}  // namespace facegen::project
