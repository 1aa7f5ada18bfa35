// core::RandomStream: the published SplitMix64 sequence, and draws that stay in range.
#include <gtest/gtest.h>

#include <vector>

#include "core/random_stream.h"

namespace facegen::core {
namespace {

TEST(RandomStreamTest, MatchesTheReferenceSplitMix64Sequence) {
    // First outputs of Vigna's reference splitmix64.c started from state 0.
    RandomStream stream(0);
    EXPECT_EQ(stream.next_u64(), 0xe220a8397b1dcdafULL);
    EXPECT_EQ(stream.next_u64(), 0x6e789e6aa1b965f4ULL);
    EXPECT_EQ(stream.next_u64(), 0x06c45d188009454fULL);
}

TEST(RandomStreamTest, ScaledDrawsAreTheTopBitsOfTheProduct) {
    RandomStream a(42), b(42);
    for (uint64_t bound : {1ULL, 2ULL, 7ULL, 1000ULL, 1ULL << 40}) {
        const uint64_t raw = b.next_u64();
        const auto expected = static_cast<uint64_t>((static_cast<unsigned __int128>(raw) * bound) >> 64);
        EXPECT_EQ(a.next_scaled(bound), expected) << "bound " << bound;
    }
}

TEST(RandomStreamTest, ScaledDrawsCoverTheRangeEvenly) {
    RandomStream stream(7);
    const uint64_t bound = 10;
    const int draws = 100000;
    std::vector<int> counts(bound, 0);
    for (int i = 0; i < draws; ++i) {
        const uint64_t v = stream.next_scaled(bound);
        ASSERT_LT(v, bound);
        ++counts[v];
    }
    double chi2 = 0;
    const double expected = double(draws) / double(bound);
    for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
    EXPECT_LT(chi2, 27.9);  // chi-square, 9 degrees of freedom, p = 0.001
}

}  // namespace
}  // namespace facegen::core
