#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace facegen::train {

/// What growing a network copied and what it left freshly initialised (tensor names).
struct GrowReport {
    std::vector<std::string> copied;
    std::vector<std::string> fresh;
};

/// Copies every parameter and buffer of `source` whose name and shape match one of `target`
/// (a network of the same family at a higher resolution); the others keep their fresh
/// initialisation and are listed in `fresh`. Channels per resolution are
/// min(channel_base / res, channel_max), so with the same base and max every block of the
/// smaller network fits.
GrowReport copy_matching_state(torch::nn::Module& target, const torch::nn::Module& source);

/// Zeroes the toRGB layers of the synthesis blocks above `from_resolution`, so that the
/// grown skip generator (each block adds its toRGB output to the upsampled image of the
/// blocks below) first draws exactly the smaller generator's images, upsampled.
void silence_new_to_rgb(torch::nn::Module& generator, int64_t from_resolution, int64_t to_resolution);

/// Throws facegen::Error (naming `path`) unless `have` can grow into `want`: a lower
/// resolution and otherwise the same architecture (conv_clamp aside, which is how a run
/// computes, not what it holds).
void check_growable(const model::GeneratorConfig& have, const model::GeneratorConfig& want, const std::string& path);
void check_growable(const model::DiscriminatorConfig& have, const model::DiscriminatorConfig& want,
                    const std::string& path);

}  // namespace facegen::train
