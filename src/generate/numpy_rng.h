#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace facegen::generate {

/// Bit-exact re-implementation of numpy's legacy `np.random.RandomState(seed)` for integer
/// seeds (MT19937 `init_genrand`, 53-bit doubles, polar Box-Muller with a cached second
/// value), so `facegen generate --seeds 42` draws the same z as the official generate.py:
/// `np.random.RandomState(42).randn(1, z_dim)`.
/// Proven against tests/unit/fixtures/numpy_rng.txt (scripts/make_numpy_rng_fixture.py).
class NumpyRandomState {
public:
    static constexpr int kStateSize = 624;  // MT19937 (Matsumoto & Nishimura 1998)

    explicit NumpyRandomState(uint32_t seed);

    /// Re-seeds exactly like `RandomState.seed(seed)`, which also drops a cached gaussian.
    void seed(uint32_t seed);
    uint32_t next_uint32();
    /// Uniform in [0, 1) with 53 random bits, like `random_sample()`.
    double next_double();
    /// Standard normal, like one element of `randn()`.
    double next_gauss();
    /// `randn(n)`: n standard normals in the order numpy fills a C-ordered array.
    std::vector<double> randn(int64_t n);

    /// The MT19937 key (`get_state()[1]`), for tests.
    const std::array<uint32_t, kStateSize>& key() const { return key_; }

private:
    void regenerate();
    std::array<uint32_t, kStateSize> key_{};
    int position_ = kStateSize;
    bool has_gauss_ = false;
    double gauss_ = 0.0;
};

/// z for one seed exactly as the official generate.py draws it, as float64 values
/// (`RandomState(seed).randn(1, z_dim)`); callers cast to float32 like the official code.
std::vector<double> latent_from_seed(uint32_t seed, int64_t z_dim);

}  // namespace facegen::generate
