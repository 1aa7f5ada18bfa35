#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace facegen::core {

/// SplitMix64's output function (Steele et al. 2014) applied to `x` plus the golden-ratio
/// increment: a strong 64-bit mix, used to derive independent seeds from counters.
uint64_t splitmix64(uint64_t x);

/// Counter-based random numbers (SplitMix64) used for every random choice a metric makes:
/// the same seed gives the same figure on any device, batch size, thread count and
/// LibTorch version, which torch's own generators do not promise.
class RandomStream {
public:
    explicit RandomStream(uint64_t seed) : state_(seed) {}
    uint64_t next_u64();
    /// Uniform in [0, bound); bound >= 1. Modulo bias < bound / 2^64, negligible here.
    uint64_t next_below(uint64_t bound);
    /// Uniform in [0, bound) by multiply-shift (the top bits of next_u64() * bound): the data
    /// module's shuffles draw this way, so dataset splits and epoch orders stay as built.
    uint64_t next_scaled(uint64_t bound);
    /// Uniform in (0, 1).
    double next_uniform();
    /// Standard normal (Box-Muller).
    double next_gaussian();

private:
    uint64_t state_;
};

/// Combines a seed with two stream indices into an independent stream seed.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b);

/// float64 CPU tensor of standard normal values.
torch::Tensor gaussian_tensor(at::IntArrayRef sizes, uint64_t seed);

/// `count` distinct indices drawn uniformly from [0, n) (partial Fisher-Yates), as a
/// CPU int64 tensor. Requires count <= n.
torch::Tensor sample_without_replacement(int64_t n, int64_t count, RandomStream& stream);

}  // namespace facegen::core
