#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/progress.h"
#include "model/model_file.h"
#include "project/photo_projection.h"

// A model, its loss networks and its encoder loaded once, projecting aligned faces on
// demand: what a server keeps between uploads (project_photos loads them for one run).
namespace facegen::project {

class PhotoProjector {
public:
    /// Loads the model at `model_path` (empty: the bundled one) with its discriminator, the
    /// identity network and the encoder `options` choose. Throws facegen::Error naming a bad
    /// option or file, before anything is projected.
    PhotoProjector(const std::filesystem::path& model_path, torch::Device device, const PhotoProjectionOptions& options);

    /// Projects aligned faces (TargetFace::pixels of the model's resolution) in batches of
    /// options.batch; `names` name them in the results (one per target).
    std::vector<ProjectedPhoto> project(const std::vector<TargetFace>& targets, const std::vector<std::string>& names,
                                        const core::ProgressCallback& progress = {});

    int64_t resolution() const { return model_.config.resolution; }
    const model::LoadedModel& model() const { return model_; }
    const LossWeights& loss_weights() const { return weights_; }
    /// "encoder" when every projection starts from the encoder's guess, else "average".
    const std::string& start() const { return start_; }
    const std::filesystem::path& encoder_path() const { return encoder_.path; }
    const std::filesystem::path& model_path() const { return model_path_; }
    int64_t steps() const { return schedule_.steps; }
    /// Mean loss per step of the last batch projected.
    const std::vector<double>& last_loss_curve() const { return loss_curve_; }

private:
    std::filesystem::path model_path_;
    torch::Device device_;
    int64_t batch_;
    model::LoadedModel model_;
    LossWeights weights_;
    // The projector keeps a reference to the loss: both live as long as this object.
    std::unique_ptr<ReconstructionLoss> loss_;
    ChosenEncoder encoder_;
    ProjectionOptions schedule_;
    std::string start_ = "average";
    std::unique_ptr<Projector> projector_;
    std::vector<double> loss_curve_;
};

}  // namespace facegen::project
