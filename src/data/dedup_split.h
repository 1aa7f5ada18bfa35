#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "data/pack.h"

namespace facegen::data {

/// 64-bit DCT perceptual hash of a uint8 CHW image (1 or 3 channels): luma, area-resized to
/// 32x32, 2-D DCT-II, the 8x8 lowest frequencies thresholded at their median. Near-identical
/// images (re-encoded, resized, slightly brightened) differ in a few bits.
uint64_t perceptual_hash(const uint8_t* chw, int64_t channels, int64_t resolution);
int hamming_distance(uint64_t a, uint64_t b);

/// Finds near-duplicates among the images seen so far (first one wins).
class DuplicateFinder {
public:
    explicit DuplicateFinder(int max_distance) : max_distance_(max_distance) {}
    struct Match {
        int64_t index;  // the kept image it duplicates
        int distance;   // Hamming distance of the hashes
    };
    /// The closest kept image within max_distance of `hash`, or nullopt, in which case
    /// `hash` is kept under `index`. A negative max_distance disables dedup.
    std::optional<Match> check_and_add(uint64_t hash, int64_t index);

private:
    int max_distance_;
    std::vector<uint64_t> hashes_;
    std::vector<int64_t> indices_;
};

/// Deterministic train/validation split. With identities (one per image, kUnknownLabel
/// allowed: such images are split individually) whole people go to one side, so no
/// identity is in both; identities are shuffled by `seed` and taken into validation until
/// it holds at least val_fraction of the images. Without identities, images are shuffled
/// and the first round(val_fraction * n) go to validation.
std::vector<Split> make_split(int64_t n_images, const std::vector<int64_t>& identities, double val_fraction,
                              uint64_t seed);

}  // namespace facegen::data
