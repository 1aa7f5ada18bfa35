#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "generate/session.h"
#include "project/photo_projection.h"
#include "project/projection_quality.h"

// The projection flags that `facegen project` and `facegen edit --target` share, and the
// files a projection leaves behind (target.png, proj.png, projected_w.npz, projection.json).
namespace facegen::app {

struct ProjectionParams {
    /// Not given (kDefaultSteps): project::kStepsAfterEncoder after an encoder, else 1000.
    static constexpr int64_t kDefaultSteps = -1;
    int64_t steps = kDefaultSteps;
    bool no_encoder = false;
    std::string encoder;
    std::string space = "w";
    bool noise = false;
    std::string loss = "default";
    double crop_scale = 0.7;
    uint64_t seed = 0;
    int64_t batch = 16;
    std::string identity_network;

    /// Throws facegen::Error naming the flag that is out of range.
    project::PhotoProjectionOptions options() const;
};

void add_projection_options(CLI::App* cmd, ProjectionParams& params);
/// --no-encoder and --encoder (part of add_projection_options; edit adds them alone).
void add_encoder_options(CLI::App* cmd, ProjectionParams& params);

/// Where the files of photo `index` of `count` go: `out` itself for one photo, else
/// out/<photo's stem> (out/<stem>-<index> when two photos share a stem).
std::filesystem::path projection_folder(const std::filesystem::path& out, const std::vector<std::string>& photos,
                                        size_t index);

/// The provenance note of images made from a projected photo.
std::string projection_note(const project::ProjectedPhoto& photo, const project::PhotoProjectionOptions& options);


/// Writes target.png, proj.png (labelled, as generate writes it), side_by_side.png,
/// projected_w.npz ("w" [1, num_ws, w_dim], as the official projector) and, with optimised
/// noise, projected_noise.npz; returns the photo's figures (also in projection.json).
nlohmann::json write_projection(const std::filesystem::path& folder, generate::Session& session,
                                const project::ProjectedPhoto& photo, const project::PhotoProjectionOptions& options,
                                bool watermark);

}  // namespace facegen::app
