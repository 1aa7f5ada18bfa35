#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "metrics/metrics.h"
#include "metrics/nearest.h"

namespace fm = facegen::metrics;

namespace {

torch::Tensor random_images(int64_t n, int64_t res, int64_t seed) {
    torch::manual_seed(seed);
    return (torch::rand({n, 3, res, res}) * 255).to(torch::kUInt8);
}

// Brute force in float64: distance of candidate i to reference j (optionally mirrored).
double rms(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).pow(2).mean().sqrt().item<double>();
}

}  // namespace

TEST(NearestTest, ACopiedImageIsFoundAtDistanceZero) {
    const auto reference = random_images(10, 8, 1);
    auto candidates = random_images(3, 8, 2);
    candidates[1].copy_(reference[7]);
    const auto result = fm::find_nearest(fm::tensor_images(reference), fm::tensor_images(candidates));
    EXPECT_EQ(result.index[1].item<int64_t>(), 7);
    EXPECT_FALSE(result.mirrored[1].item<bool>());
    EXPECT_EQ(result.distance[1].item<double>(), 0.0);  // exact, not float32 round-off
    EXPECT_GT(result.distance[0].item<double>(), 10.0);
}

TEST(NearestTest, AMirroredCopyCountsOnlyWhenMirrorsAreIncluded) {
    const auto reference = random_images(6, 8, 3);
    auto candidates = random_images(2, 8, 4);
    candidates[0].copy_(reference[4].flip({2}));
    const auto with_mirrors = fm::find_nearest(fm::tensor_images(reference), fm::tensor_images(candidates));
    EXPECT_EQ(with_mirrors.index[0].item<int64_t>(), 4);
    EXPECT_TRUE(with_mirrors.mirrored[0].item<bool>());
    EXPECT_EQ(with_mirrors.distance[0].item<double>(), 0.0);

    fm::NearestOptions plain;
    plain.include_mirrored = false;
    const auto without = fm::find_nearest(fm::tensor_images(reference), fm::tensor_images(candidates), plain);
    EXPECT_FALSE(without.mirrored[0].item<bool>());
    EXPECT_GT(without.distance[0].item<double>(), 10.0);
}

TEST(NearestTest, MatchesBruteForceAcrossBatches) {
    const auto ref16 = random_images(23, 16, 5);
    const auto cand16 = random_images(9, 16, 6);
    fm::NearestOptions options;
    options.reference_batch = 5;  // 23 images: four full batches and a partial one
    options.candidate_batch = 4;
    int64_t last_progress = 0;
    const auto result = fm::find_nearest(fm::tensor_images(ref16), fm::tensor_images(cand16), options,
                                         [&](int64_t done) {
                                             EXPECT_GT(done, last_progress);
                                             last_progress = done;
                                         });
    EXPECT_EQ(last_progress, 9 + 23);
    for (int64_t i = 0; i < 9; ++i) {
        double best = 1e9;
        int64_t best_j = -1;
        bool best_mirrored = false;
        for (int64_t j = 0; j < 23; ++j)
            for (bool mirrored : {false, true}) {
                const double d = rms(cand16[i], mirrored ? ref16[j].flip({2}) : ref16[j]);
                if (d < best) best = d, best_j = j, best_mirrored = mirrored;
            }
        EXPECT_NEAR(result.distance[i].item<double>(), best, 1e-9) << "candidate " << i;
        EXPECT_EQ(result.index[i].item<int64_t>(), best_j) << "candidate " << i;
        EXPECT_EQ(result.mirrored[i].item<bool>(), best_mirrored) << "candidate " << i;
    }
}

TEST(NearestTest, FiguresAreOrderedSummariesOfTheDistances) {
    fm::NearestNeighbours result;
    result.distance = torch::tensor({4.0, 1.0, 3.0, 2.0, 10.0}, torch::kFloat64);
    const auto figures = result.figures();
    ASSERT_EQ(figures.size(), 4u);
    EXPECT_EQ(figures[0].first, "nn_rms_min");
    EXPECT_DOUBLE_EQ(figures[0].second, 1.0);
    EXPECT_DOUBLE_EQ(figures[1].second, 1.2);  // 5th percentile, linear interpolation
    EXPECT_DOUBLE_EQ(figures[2].second, 3.0);  // median
    EXPECT_DOUBLE_EQ(figures[3].second, 4.0);  // mean
}

TEST(NearestTest, ComputeMetricReportsTheMedianAsItsValue) {
    const auto reference = random_images(12, 8, 7);
    const auto candidates = random_images(5, 8, 8);
    fm::MetricOptions options;
    options.metric = fm::parse_metric_kind("nearest");
    const auto report = fm::compute_metric(fm::tensor_images(reference), fm::tensor_images(candidates), options);
    ASSERT_TRUE(report.nearest.has_value());
    EXPECT_EQ(report.n_images_a, 12);
    EXPECT_EQ(report.n_images_b, 5);
    EXPECT_DOUBLE_EQ(report.value(), torch::quantile(report.nearest->distance, 0.5).item<double>());
}

TEST(NearestTest, ImagesOfDifferentSizesAreAClearError) {
    try {
        fm::find_nearest(fm::tensor_images(random_images(2, 8, 9), "reals"),
                         fm::tensor_images(random_images(2, 16, 10), "fakes"));
        FAIL() << "expected facegen::Error";
    } catch (const facegen::Error& error) {
        EXPECT_NE(std::string(error.what()).find("reals"), std::string::npos) << error.what();
        EXPECT_NE(std::string(error.what()).find("3x16x16"), std::string::npos) << error.what();
    }
}
