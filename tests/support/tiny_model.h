#pragma once

#include <cstdint>

#include "model/config.h"

namespace facegen::test {

/// A generator small enough to build, run and save in milliseconds (32-d latents, at most
/// 32 channels, 2 mapping layers); tests that need a real network but not a good one.
inline model::GeneratorConfig tiny_generator_config(int64_t resolution = 16) {
    model::GeneratorConfig config;
    config.z_dim = 32;
    config.w_dim = 32;
    config.resolution = resolution;
    config.channel_base = 256;
    config.channel_max = 32;
    config.n_mapping_layers = 2;
    return config;
}

/// The matching discriminator.
inline model::DiscriminatorConfig tiny_discriminator_config(int64_t resolution = 16) {
    model::DiscriminatorConfig config;
    config.resolution = resolution;
    config.channel_base = 256;
    config.channel_max = 32;
    return config;
}

}  // namespace facegen::test
