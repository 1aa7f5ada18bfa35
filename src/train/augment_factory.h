#pragma once

#include <string>

#include "train/trainer.h"

namespace facegen::train {

/// The ADA pipeline (facegen_augment) for a preset ("bgc", ...) or a spec that
/// parse_augment_options accepts, as the trainer's AugmentFn. Throws facegen::Error for an
/// unknown preset.
AugmentFn make_augment_fn(const std::string& augpipe, const torch::Device& device);

}  // namespace facegen::train
