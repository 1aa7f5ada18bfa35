#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/generator.h"

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

/// A tiny random generator (seeded) whose truncation and noise show in its pixels: fresh
/// generators have w_avg = 0 and noise strengths 0 (official init), which would hide both.
inline model::Generator tiny_generator_for_images(uint64_t seed, int64_t resolution = 16) {
    torch::manual_seed(seed);
    model::Generator generator(tiny_generator_config(resolution));
    torch::NoGradGuard no_grad;
    generator->mapping()->w_avg.normal_();
    for (auto& item : generator->named_parameters()) {
        const std::string& name = item.key();
        if (name.size() > 14 && name.compare(name.size() - 14, 14, "noise_strength") == 0) item.value().fill_(0.5);
    }
    return generator;
}

}  // namespace facegen::test
