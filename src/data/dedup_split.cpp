#include "data/dedup_split.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <c10/util/Exception.h>

#include "core/random_stream.h"

namespace facegen::data {
namespace {

constexpr int kHashInput = 32;  // pHash works on a 32x32 luma thumbnail
constexpr int kHashBlock = 8;   // and keeps its 8x8 lowest DCT frequencies

template <typename T>
void seeded_shuffle(std::vector<T>& values, uint64_t seed) {
    core::RandomStream stream(seed ^ 0x5851f42d4c957f2dULL);
    for (size_t i = values.size(); i > 1; --i) {
        const auto j = static_cast<size_t>(stream.next_scaled(i));
        std::swap(values[i - 1], values[j]);
    }
}

}  // namespace

uint64_t perceptual_hash(const uint8_t* chw, int64_t channels, int64_t resolution) {
    TORCH_CHECK(channels == 1 || channels == 3, "perceptual_hash: channels ", channels);
    const int64_t plane = resolution * resolution;
    // Area-average luma into a 32x32 grid.
    std::array<double, kHashInput * kHashInput> small{};
    std::array<double, kHashInput * kHashInput> weight{};
    for (int64_t y = 0; y < resolution; ++y) {
        const int64_t gy = y * kHashInput / resolution;
        for (int64_t x = 0; x < resolution; ++x) {
            const int64_t gx = x * kHashInput / resolution;
            const int64_t i = y * resolution + x;
            const double luma = channels == 3 ? 0.299 * chw[i] + 0.587 * chw[plane + i] + 0.114 * chw[2 * plane + i] : chw[i];
            small[static_cast<size_t>(gy * kHashInput + gx)] += luma;
            weight[static_cast<size_t>(gy * kHashInput + gx)] += 1;
        }
    }
    for (size_t i = 0; i < small.size(); ++i) small[i] = weight[i] > 0 ? small[i] / weight[i] : 0;
    static const auto cosines = [] {
        std::array<double, kHashBlock * kHashInput> c{};
        for (int k = 0; k < kHashBlock; ++k) {
            for (int n = 0; n < kHashInput; ++n) {
                c[static_cast<size_t>(k * kHashInput + n)] = std::cos(M_PI / kHashInput * (n + 0.5) * k);
            }
        }
        return c;
    }();
    std::array<double, kHashBlock * kHashInput> rows{};  // DCT along x, first 8 frequencies
    for (int y = 0; y < kHashInput; ++y) {
        for (int k = 0; k < kHashBlock; ++k) {
            double acc = 0;
            for (int x = 0; x < kHashInput; ++x) acc += small[static_cast<size_t>(y * kHashInput + x)] * cosines[static_cast<size_t>(k * kHashInput + x)];
            rows[static_cast<size_t>(k * kHashInput + y)] = acc;
        }
    }
    std::array<double, kHashBlock * kHashBlock> dct{};
    for (int ky = 0; ky < kHashBlock; ++ky) {
        for (int kx = 0; kx < kHashBlock; ++kx) {
            double acc = 0;
            for (int y = 0; y < kHashInput; ++y) acc += rows[static_cast<size_t>(kx * kHashInput + y)] * cosines[static_cast<size_t>(ky * kHashInput + y)];
            dct[static_cast<size_t>(ky * kHashBlock + kx)] = acc;
        }
    }
    // The DC term only says how bright the image is: leave it out of the median.
    std::array<double, kHashBlock * kHashBlock - 1> ac{};
    std::copy(dct.begin() + 1, dct.end(), ac.begin());
    std::nth_element(ac.begin(), ac.begin() + ac.size() / 2, ac.end());
    const double median = ac[ac.size() / 2];
    uint64_t hash = 0;
    for (size_t i = 0; i < dct.size(); ++i) {
        if (dct[i] > median) hash |= uint64_t{1} << i;
    }
    return hash;
}

int hamming_distance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

std::optional<DuplicateFinder::Match> DuplicateFinder::check_and_add(uint64_t hash, int64_t index) {
    if (max_distance_ >= 0) {
        std::optional<Match> best;
        for (size_t i = 0; i < hashes_.size(); ++i) {
            const int d = hamming_distance(hashes_[i], hash);
            if (d <= max_distance_ && (!best || d < best->distance)) best = Match{indices_[i], d};
        }
        if (best) return best;
    }
    hashes_.push_back(hash);
    indices_.push_back(index);
    return std::nullopt;
}

std::vector<Split> make_split(int64_t n_images, const std::vector<int64_t>& identities, double val_fraction, uint64_t seed) {
    TORCH_CHECK(val_fraction >= 0 && val_fraction < 1, "make_split: val_fraction ", val_fraction, " outside [0, 1)");
    TORCH_CHECK(identities.empty() || static_cast<int64_t>(identities.size()) == n_images, "make_split: ",
                identities.size(), " identities for ", n_images, " images");
    std::vector<Split> splits(static_cast<size_t>(n_images), Split::kTrain);
    const auto n_val_target = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(n_images)));
    if (n_val_target == 0) return splits;
    // Groups: one per identity, one per image without identity; ordered by first image.
    std::map<int64_t, size_t> group_of_identity;
    std::vector<std::vector<int64_t>> groups;
    for (int64_t i = 0; i < n_images; ++i) {
        const int64_t id = identities.empty() ? kUnknownLabel : identities[static_cast<size_t>(i)];
        if (id == kUnknownLabel) {
            groups.push_back({i});
            continue;
        }
        auto [it, inserted] = group_of_identity.emplace(id, groups.size());
        if (inserted) groups.emplace_back();
        groups[it->second].push_back(i);
    }
    std::vector<size_t> order(groups.size());
    for (size_t g = 0; g < order.size(); ++g) order[g] = g;
    seeded_shuffle(order, seed);
    int64_t n_val = 0;
    for (size_t g : order) {
        if (n_val >= n_val_target) break;
        for (int64_t i : groups[g]) splits[static_cast<size_t>(i)] = Split::kVal;
        n_val += static_cast<int64_t>(groups[g].size());
    }
    return splits;
}

}  // namespace facegen::data
