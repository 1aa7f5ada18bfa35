#include "core/random_stream.h"

#include <cmath>
#include <numeric>

namespace facegen::core {
namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;
}

uint64_t splitmix64(uint64_t x) {
    x += kGoldenGamma;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t RandomStream::next_u64() {
    const uint64_t out = splitmix64(state_);
    state_ += kGoldenGamma;
    return out;
}

uint64_t RandomStream::next_below(uint64_t bound) {
    TORCH_CHECK(bound >= 1, "RandomStream::next_below: bound must be >= 1");
    return next_u64() % bound;
}

uint64_t RandomStream::next_scaled(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * bound) >> 64);
}

double RandomStream::next_uniform() {
    // 53 random bits, shifted by half a step so 0 never occurs (log(0) in Box-Muller).
    return (static_cast<double>(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double RandomStream::next_gaussian() {
    const double u1 = next_uniform();
    const double u2 = next_uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
    RandomStream stream(seed ^ 0x6a09e667f3bcc909ULL);
    uint64_t mixed = stream.next_u64() ^ (a * 0xd1b54a32d192ed03ULL);
    RandomStream second(mixed);
    mixed = second.next_u64() ^ (b * 0x8cb92ba72f3d8dd7ULL);
    return RandomStream(mixed).next_u64();
}

torch::Tensor gaussian_tensor(at::IntArrayRef sizes, uint64_t seed) {
    auto out = torch::empty(sizes, torch::kDouble);
    RandomStream stream(seed);
    auto* data = out.data_ptr<double>();
    for (int64_t i = 0; i < out.numel(); ++i) data[i] = stream.next_gaussian();
    return out;
}

torch::Tensor sample_without_replacement(int64_t n, int64_t count, RandomStream& stream) {
    TORCH_CHECK(count >= 0 && count <= n, "sample_without_replacement: cannot draw ", count, " of ", n);
    std::vector<int64_t> pool(static_cast<size_t>(n));
    std::iota(pool.begin(), pool.end(), 0);
    for (int64_t i = 0; i < count; ++i) {
        const auto j = i + static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(n - i)));
        std::swap(pool[i], pool[j]);
    }
    return torch::tensor(std::vector<int64_t>(pool.begin(), pool.begin() + count), torch::kInt64);
}

}  // namespace facegen::core
