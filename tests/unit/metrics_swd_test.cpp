#include <gtest/gtest.h>

#include <cstdio>
#include <torch/torch.h>

#include "core/error.h"
#include "metrics/metrics.h"
#include "core/random_stream.h"
#include "metrics/swd.h"

namespace fm = facegen::metrics;

namespace {

class SWDTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }

    // Smooth random RGB "images" in [0, 255]: low-res noise upsampled, plus fine noise.
    static torch::Tensor random_images(int64_t n, int64_t res, uint64_t seed, double brightness = 0,
                                       double fine_noise = 10) {
        auto coarse = facegen::core::gaussian_tensor({n, 3, res / 4, res / 4}, seed).to(torch::kFloat32);
        auto fine = facegen::core::gaussian_tensor({n, 3, res, res}, seed + 1).to(torch::kFloat32);
        auto x = torch::nn::functional::interpolate(
            coarse, torch::nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{4, 4}).mode(
                        torch::kBilinear).align_corners(false));
        return (128 + brightness + 40 * x + fine_noise * fine).clamp(0, 255).to(torch::kUInt8);
    }
};

TEST_F(SWDTest, ResolutionsStopAtSixteen) {
    EXPECT_EQ(fm::swd_resolutions(64), (std::vector<int64_t>{64, 32, 16}));
    EXPECT_EQ(fm::swd_resolutions(1024).size(), 7u);
    EXPECT_EQ(fm::swd_resolutions(16), (std::vector<int64_t>{16}));
}

TEST_F(SWDTest, PyramidDownBlursWithBinomialKernel) {
    // An impulse of 256 at (4, 4) of a 12x12 image: output (2, 2) sits on it (centre tap
    // 6*6/256), output (1, 1) is two pixels away in x and y (corner tap 1*1/256), output
    // (1, 2) two away in y only (1*6/256).
    auto x = torch::zeros({1, 1, 12, 12});
    x[0][0][4][4] = 256;
    const auto down = fm::pyramid_down(x);
    ASSERT_EQ(down.sizes(), (std::vector<int64_t>{1, 1, 6, 6}));
    EXPECT_FLOAT_EQ(down[0][0][2][2].item<float>(), 36.0f);
    EXPECT_FLOAT_EQ(down[0][0][1][1].item<float>(), 1.0f);
    EXPECT_FLOAT_EQ(down[0][0][1][2].item<float>(), 6.0f);
    EXPECT_FLOAT_EQ(down[0][0][4][4].item<float>(), 0.0f);
}

TEST_F(SWDTest, PyramidDownMirrorsBorders) {
    // Impulse at (2, 2) of 8x8: output (0, 0) sees it directly and through the mirrored
    // rows/columns -2 (reflect without repeating the edge), corner tap 1/256 four times.
    auto x = torch::zeros({1, 1, 8, 8});
    x[0][0][2][2] = 256;
    EXPECT_FLOAT_EQ(fm::pyramid_down(x)[0][0][0][0].item<float>(), 4.0f);
}

TEST_F(SWDTest, PyramidKeepsConstantImages) {
    const auto x = torch::full({2, 3, 16, 16}, 7.5);
    EXPECT_TRUE(torch::allclose(fm::pyramid_down(x), torch::full({2, 3, 8, 8}, 7.5)));
    EXPECT_TRUE(torch::allclose(fm::pyramid_up(torch::full({2, 3, 8, 8}, 7.5)), torch::full({2, 3, 16, 16}, 7.5)));
}

TEST_F(SWDTest, LaplacianPyramidReconstructsTheImage) {
    const auto images = random_images(2, 32, 11);
    const auto pyramid = fm::laplacian_pyramid(images, 3);
    ASSERT_EQ(pyramid.levels.size(), 3u);
    EXPECT_EQ(pyramid.levels[0].sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
    EXPECT_EQ(pyramid.levels[2].sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
    auto reconstructed = pyramid.levels[2];
    reconstructed = fm::pyramid_up(reconstructed) + pyramid.levels[1];
    reconstructed = fm::pyramid_up(reconstructed) + pyramid.levels[0];
    EXPECT_LT((reconstructed - images.to(torch::kFloat32)).abs().max().item<float>(), 1e-3f);
}

TEST_F(SWDTest, NeighbourhoodsAreContiguousWindowsInsideTheImage) {
    // Pixel value = y * W + x, so a window's values reveal where it was taken.
    const int64_t w = 16;
    const auto level = torch::arange(w * w, torch::kFloat32).view({1, 1, w, w});
    const auto d = fm::sample_neighbourhoods(level, 7, 50, /*seed=*/3, /*first_image_index=*/0, /*level_index=*/0);
    ASSERT_EQ(d.sizes(), (std::vector<int64_t>{50, 49}));
    for (int64_t i = 0; i < 50; ++i) {
        const auto row = d[i];
        const int64_t top_left = row[0].item<int64_t>();
        EXPECT_EQ(row[1].item<int64_t>() - top_left, 1);
        EXPECT_EQ(row[7].item<int64_t>() - top_left, w);
        EXPECT_EQ(row[48].item<int64_t>() - top_left, 6 * w + 6);
        EXPECT_LE(top_left % w, w - 7);
        EXPECT_LE(top_left / w, w - 7);
    }
}

TEST_F(SWDTest, DescriptorsDoNotDependOnBatching) {
    const auto images = random_images(6, 32, 5);
    fm::SWDDescriptorAccumulator whole(32, 3, {}, /*seed=*/9);
    whole.add(images);
    fm::SWDDescriptorAccumulator split(32, 3, {}, /*seed=*/9);
    split.add(images.narrow(0, 0, 2));
    split.add(images.narrow(0, 2, 4));
    const auto a = whole.finalize();
    const auto b = split.finalize();
    ASSERT_EQ(a.levels.size(), 2u);
    for (size_t l = 0; l < a.levels.size(); ++l) EXPECT_TRUE(torch::equal(a.levels[l], b.levels[l]));
    EXPECT_EQ(a.levels[0].sizes(), (std::vector<int64_t>{6 * 128, 147}));
}

TEST_F(SWDTest, DescriptorsAreStandardisedPerChannel) {
    fm::SWDDescriptorAccumulator acc(16, 3);
    acc.add(random_images(4, 16, 2, /*brightness=*/30));
    const auto d = acc.finalize().levels[0].view({-1, 3, 49}).to(torch::kDouble);
    const auto mean = d.mean(std::vector<int64_t>{0, 2});
    const auto std = (d - mean.view({1, 3, 1})).square().mean(std::vector<int64_t>{0, 2}).sqrt();
    EXPECT_LT(mean.abs().max().item<double>(), 1e-5);
    EXPECT_LT((std - 1).abs().max().item<double>(), 1e-5);
}

TEST_F(SWDTest, SlicedWassersteinOfOneDimensionalShiftIsTheShift) {
    // With D = 1 every unit direction is +-1, so SWD = |shift| exactly.
    const auto a = torch::randn({1000, 1});
    EXPECT_NEAR(fm::sliced_wasserstein(a, a + 0.5, 4, 8, 0), 0.5, 1e-5);
    EXPECT_EQ(fm::sliced_wasserstein(a, a, 4, 8, 0), 0.0);
    // Order of rows does not matter (sorted projections).
    const auto permuted = a.index_select(0, torch::randperm(1000));
    EXPECT_NEAR(fm::sliced_wasserstein(a, permuted, 4, 8, 0), 0.0, 1e-7);
}

TEST_F(SWDTest, SlicedWassersteinIsDeterministicFromSeed) {
    const auto a = torch::randn({500, 20});
    const auto b = torch::randn({500, 20}) * 1.5;
    EXPECT_EQ(fm::sliced_wasserstein(a, b, 4, 16, 7), fm::sliced_wasserstein(a, b, 4, 16, 7));
    EXPECT_NE(fm::sliced_wasserstein(a, b, 4, 16, 7), fm::sliced_wasserstein(a, b, 4, 16, 8));
}

TEST_F(SWDTest, IdenticalSetsGiveZeroAndShiftsOrBlurGrowIt) {
    // White-noise images: two independent sets give the sampling floor; blurring one set
    // (patch correlations change) or making half of it brighter (a bimodal low-pass level)
    // must measure well above that floor.
    constexpr int64_t n = 48;
    auto noise = [](uint64_t seed) { return facegen::core::gaussian_tensor({n, 3, 32, 32}, seed).to(torch::kFloat32) * 30 + 128; };
    const auto to_u8 = [](const torch::Tensor& x) { return x.round().clamp(0, 255).to(torch::kUInt8); };
    const auto reals = fm::tensor_images(to_u8(noise(100)), "reals");
    const auto same_distribution = fm::tensor_images(to_u8(noise(200)), "other reals");
    const auto blurred = fm::tensor_images(to_u8(fm::pyramid_up(fm::pyramid_down(noise(200)))), "blurred");
    auto mixed = noise(200);
    mixed.narrow(0, 0, n / 2).add_(60);
    const auto mixture = fm::tensor_images(to_u8(mixed), "half brighter");

    fm::MetricOptions options;
    options.metric = fm::MetricKind::SWD;
    const auto self = fm::compare_swd(fm::swd_descriptors(reals), fm::swd_descriptors(reals));
    EXPECT_EQ(self.swd_x1e3_avg, 0.0);
    const auto floor = fm::compute_metric(reals, same_distribution, options);
    const auto blur = fm::compute_metric(reals, blurred, options);
    const auto shift = fm::compute_metric(reals, mixture, options);
    EXPECT_GT(floor.value(), 0.0);
    EXPECT_GT(blur.value(), 2 * floor.value());
    EXPECT_GT(shift.figures[1].second, 3 * floor.figures[1].second);  // swd_16: the low-pass level
    ASSERT_EQ(blur.figures.size(), 3u);
    EXPECT_EQ(blur.figures[0].first, "swd_32");
    EXPECT_EQ(blur.figures[2].first, "swd_avg");
    std::printf("SWD x1e3 avg: floor %.2f, blurred %.2f, half brighter %.2f (swd_16 %.2f vs %.2f)\n", floor.value(),
                blur.value(), shift.value(), shift.figures[1].second, floor.figures[1].second);
}

TEST_F(SWDTest, UnequalSetSizesAreRejected) {
    fm::MetricOptions options;
    const auto a = fm::tensor_images(random_images(4, 16, 1));
    const auto b = fm::tensor_images(random_images(5, 16, 2));
    try {
        fm::compute_metric(a, b, options);
        FAIL() << "expected facegen::Error";
    } catch (const facegen::Error& e) {
        EXPECT_NE(std::string(e.what()).find("equal size"), std::string::npos) << e.what();
    }
}

TEST_F(SWDTest, BadOptionsThrow) {
    fm::SWDOptions options;
    options.nhood_size = 6;
    EXPECT_THROW(options.validate(), facegen::Error);
    EXPECT_THROW(fm::SWDDescriptorAccumulator(8, 3), facegen::Error);
    EXPECT_THROW(fm::parse_metric_kind("is"), facegen::Error);
    EXPECT_EQ(fm::parse_metric_kind("kid"), fm::MetricKind::KID);
}

}  // namespace
