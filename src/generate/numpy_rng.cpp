#include "generate/numpy_rng.h"

#include <cmath>

// This file is compiled with -ffp-contract=off (src/core/CMakeLists.txt): a fused
// multiply-add in x1 * x1 + x2 * x2 would round differently from numpy and change which
// candidate pairs the polar method rejects.

namespace facegen::generate {
namespace {
constexpr int kShift = 397;  // MT19937 middle word offset
constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;
}  // namespace

NumpyRandomState::NumpyRandomState(uint32_t seed) { this->seed(seed); }

void NumpyRandomState::seed(uint32_t seed) {
    // init_genrand, as numpy's legacy seeding does for a scalar integer seed.
    key_[0] = seed;
    for (int i = 1; i < kStateSize; ++i) {
        key_[i] = 1812433253U * (key_[i - 1] ^ (key_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    }
    position_ = kStateSize;
    has_gauss_ = false;
    gauss_ = 0.0;
}

void NumpyRandomState::regenerate() {
    auto twist = [](uint32_t upper, uint32_t lower, uint32_t far) {
        const uint32_t y = (upper & kUpperMask) | (lower & kLowerMask);
        return far ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    };
    for (int i = 0; i < kStateSize; ++i) {
        key_[i] = twist(key_[i], key_[(i + 1) % kStateSize], key_[(i + kShift) % kStateSize]);
    }
    position_ = 0;
}

uint32_t NumpyRandomState::next_uint32() {
    if (position_ >= kStateSize) regenerate();
    uint32_t y = key_[position_++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

double NumpyRandomState::next_double() {
    const uint32_t a = next_uint32() >> 5;
    const uint32_t b = next_uint32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;  // (a * 2^26 + b) / 2^53
}

double NumpyRandomState::next_gauss() {
    if (has_gauss_) {
        has_gauss_ = false;
        const double cached = gauss_;
        gauss_ = 0.0;
        return cached;
    }
    double x1 = 0, x2 = 0, r2 = 0;
    do {
        x1 = 2.0 * next_double() - 1.0;
        x2 = 2.0 * next_double() - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
}

std::vector<double> NumpyRandomState::randn(int64_t n) {
    std::vector<double> values(static_cast<size_t>(n));
    for (double& v : values) v = next_gauss();
    return values;
}

std::vector<double> latent_from_seed(uint32_t seed, int64_t z_dim) {
    NumpyRandomState state(seed);
    return state.randn(z_dim);
}

}  // namespace facegen::generate
