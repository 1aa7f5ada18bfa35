// core::summarize and quantile_of_sorted: hand-computed figures on tiny inputs, numpy's
// linear-interpolation rule, any input order, and the empty list.
#include <gtest/gtest.h>

#include <vector>

#include "core/summary.h"

namespace facegen::core {
namespace {

TEST(CoreSummary, QuantilesInterpolateBetweenNeighboursAsNumpy) {
    const std::vector<double> sorted = {1, 2, 3, 4};
    EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 1.0), 4.0);
    EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.5), 2.5);  // numpy.quantile([1,2,3,4], 0.5)
    EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.05), 1.15);  // 0.05 * 3 = 0.15 past the first
    EXPECT_DOUBLE_EQ(quantile_of_sorted({7}, 0.95), 7.0);
}

TEST(CoreSummary, SummaryOfUnsortedValues) {
    const Summary s = summarize({10, 0, 5, 20, 15});
    EXPECT_EQ(s.n, 5u);
    EXPECT_DOUBLE_EQ(s.mean, 10.0);
    EXPECT_DOUBLE_EQ(s.min, 0.0);
    EXPECT_DOUBLE_EQ(s.max, 20.0);
    EXPECT_DOUBLE_EQ(s.median, 10.0);
    EXPECT_DOUBLE_EQ(s.p05, 1.0);   // 0.05 * 4 = 0.2 of the way from 0 to 5
    EXPECT_DOUBLE_EQ(s.p10, 2.0);
    EXPECT_DOUBLE_EQ(s.p95, 19.0);
}

TEST(CoreSummary, NoValuesGiveAnEmptySummary) {
    const Summary s = summarize({});
    EXPECT_EQ(s.n, 0u);
    EXPECT_DOUBLE_EQ(s.mean, 0.0);
    EXPECT_ANY_THROW(quantile_of_sorted({}, 0.5));
}

}  // namespace
}  // namespace facegen::core
