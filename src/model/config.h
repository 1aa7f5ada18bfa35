#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace facegen::model {

/// Where the per-pixel noise inputs of the synthesis network come from.
/// Const: the learned `noise_const` buffers (deterministic, what golden tests and most
/// generation use); Random: fresh Gaussian noise; None: no noise at all.
enum class NoiseMode { Const, Random, None };
/// "const" | "random" | "none"; throws facegen::Error naming the bad value.
NoiseMode parse_noise_mode(const std::string& text);
std::string to_string(NoiseMode mode);

/// StyleGAN2 generator hyper-parameters. Defaults = config F at 1024x1024
/// (StyleGAN2 paper, Table 1; official training/networks.py defaults).
struct GeneratorConfig {
    int64_t z_dim = 512;
    int64_t c_dim = 0;             // conditioning label size, 0 = unconditional
    int64_t w_dim = 512;
    int64_t resolution = 1024;     // power of two in [kMinResolution, kMaxResolution]
    int64_t img_channels = 3;
    int64_t channel_base = 32768;  // channels at resolution r = min(channel_base / r, channel_max)
    int64_t channel_max = 512;
    int64_t n_mapping_layers = 8;
    double mapping_lr_multiplier = 0.01;  // StyleGAN paper, sec. C: mapping network lr x0.01
    double w_avg_beta = 0.995;            // official networks.py: decay of the tracked W average
    double conv_clamp = 0;                // 0 = no clamp (official None); official configs use 256

    static constexpr int64_t kMinResolution = 16;
    static constexpr int64_t kMaxResolution = 1024;

    /// Throws facegen::Error naming the bad field and its value.
    void validate() const;
    /// Number of W vectors the synthesis network consumes: 2 * log2(resolution) - 2.
    int64_t num_ws() const;
    /// min(channel_base / res, channel_max).
    int64_t channels_at(int64_t res) const;
    /// 4, 8, ..., resolution.
    std::vector<int64_t> block_resolutions() const;

    bool operator==(const GeneratorConfig& other) const;
    bool operator!=(const GeneratorConfig& other) const { return !(*this == other); }
};

/// Residual StyleGAN2 discriminator hyper-parameters (official Discriminator with
/// architecture 'resnet'). Defaults = config F at 1024x1024.
struct DiscriminatorConfig {
    int64_t c_dim = 0;
    int64_t resolution = 1024;
    int64_t img_channels = 3;
    int64_t channel_base = 32768;
    int64_t channel_max = 512;
    int64_t mbstd_group_size = 4;    // 0 = the whole minibatch is one group
    int64_t mbstd_num_channels = 1;  // 0 = no minibatch-stddev layer
    double conv_clamp = 0;           // 0 = no clamp
    /// Label mapping network (c_dim > 0 only): layers and output size; official defaults
    /// are 8 layers and cmap_dim = channels at 4x4.
    int64_t n_mapping_layers = 8;
    int64_t cmap_dim = 0;            // 0 = channels_at(4)
    double mapping_lr_multiplier = 0.01;

    void validate() const;
    int64_t channels_at(int64_t res) const;
    /// The cmap dimension actually used (0 when unconditional).
    int64_t effective_cmap_dim() const;

    bool operator==(const DiscriminatorConfig& other) const;
    bool operator!=(const DiscriminatorConfig& other) const { return !(*this == other); }
};

/// JSON round trip (used by the model file and training checkpoints). from_json throws
/// facegen::Error naming the bad field; unknown fields are rejected.
std::string to_json(const GeneratorConfig& config);
GeneratorConfig generator_config_from_json(const std::string& json);
std::string to_json(const DiscriminatorConfig& config);
DiscriminatorConfig discriminator_config_from_json(const std::string& json);

}  // namespace facegen::model
