#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace facegen::generate {

/// Largest number of seeds one list may expand to (guards against `0-4294967295`).
inline constexpr int64_t kMaxSeedCount = 1'000'000;

/// Parses a seed list such as "1-8,42": comma-separated seeds and inclusive ranges `a-b`
/// (a <= b), each seed in 0..2^32-1 (numpy RandomState's range), kept in the order given.
/// A seed named twice is an error (both images would get the same file name).
/// Throws facegen::Error quoting the list and the bad item.
std::vector<uint32_t> parse_seed_list(const std::string& text);

/// Seeds 0..count-1, for `--count`; count must be 1..kMaxSeedCount.
std::vector<uint32_t> first_seeds(int64_t count);

}  // namespace facegen::generate
