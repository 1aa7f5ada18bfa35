#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "metrics/metrics.h"
#include "core/random_stream.h"
#include "test_support.h"

namespace fm = facegen::metrics;

namespace {

std::filesystem::path tiny_detector_path() {
    return facegen::test::source_dir() / "tests" / "golden" / "metrics_tiny_detector.pt";
}

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const facegen::Error& e) {
        return e.what();
    }
    return "<no facegen::Error>";
}

class FIDKIDTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }

    // n samples of N(mean, diag(variances)), float64.
    static torch::Tensor gaussian_samples(int64_t n, const torch::Tensor& mean, const torch::Tensor& variances,
                                          uint64_t seed) {
        return facegen::core::gaussian_tensor({n, mean.size(0)}, seed) * variances.sqrt().unsqueeze(0) + mean.unsqueeze(0);
    }
};

TEST_F(FIDKIDTest, FrechetDistanceOfKnownGaussians) {
    // Commuting (diagonal) covariances: FID = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    const auto mu1 = torch::tensor({0.0, 1.0, 2.0}, torch::kDouble);
    const auto mu2 = torch::tensor({1.0, 1.0, 0.0}, torch::kDouble);
    const auto a = torch::tensor({1.0, 4.0, 0.25}, torch::kDouble);
    const auto b = torch::tensor({9.0, 1.0, 0.25}, torch::kDouble);
    const double expected = 5.0 + (1 - 3) * (1 - 3) + (2 - 1) * (2 - 1) + 0;
    EXPECT_NEAR(fm::frechet_distance(mu1, torch::diag(a), mu2, torch::diag(b)), expected, 1e-10);
}

TEST_F(FIDKIDTest, FrechetDistanceWithNonCommutingCovariances) {
    // S1 = I, S2 = [[2, 1], [1, 2]] (eigenvalues 3, 1): tr sqrt(S1 S2) = sqrt(3) + 1.
    const auto mu = torch::zeros({2}, torch::kDouble);
    const auto s2 = torch::tensor({2.0, 1.0, 1.0, 2.0}, torch::kDouble).view({2, 2});
    const double expected = 2.0 + 4.0 - 2.0 * (std::sqrt(3.0) + 1.0);
    EXPECT_NEAR(fm::frechet_distance(mu, torch::eye(2, torch::kDouble), mu, s2), expected, 1e-10);
    // Symmetric in its arguments.
    EXPECT_NEAR(fm::frechet_distance(mu, s2, mu, torch::eye(2, torch::kDouble)), expected, 1e-10);
}

TEST_F(FIDKIDTest, FrechetDistanceOfRankDeficientIdenticalSetsIsZero) {
    // 10 samples in 32 dimensions: singular covariance, the case where a naive sqrtm goes complex.
    const auto x = torch::randn({10, 32}, torch::kDouble);
    fm::FeatureStats stats;
    stats.append(x);
    const double fid = fm::frechet_distance(stats.mean(), stats.covariance(), stats.mean(), stats.covariance());
    EXPECT_NEAR(fid, 0.0, 1e-6);
}

TEST_F(FIDKIDTest, FrechetDistanceFromSamplesMatchesClosedForm) {
    // 8-D Gaussians, 50k samples each. Estimation error: the squared mean difference is
    // biased up by tr(S1 + S2) / N = 3.4e-4 and both terms have a standard deviation of
    // about 2 |mu diff| sqrt(tr S / N) ~ 0.02; 0.08 is four standard deviations.
    const auto mu1 = torch::linspace(-1, 1, 8, torch::kDouble);
    const auto mu2 = mu1 + 0.5;
    const auto a = torch::linspace(0.5, 2.0, 8, torch::kDouble);
    const auto b = torch::linspace(2.0, 0.5, 8, torch::kDouble);
    const double expected =
        (mu1 - mu2).square().sum().item<double>() + (a.sqrt() - b.sqrt()).square().sum().item<double>();
    fm::FeatureStats s1, s2;
    const auto x1 = gaussian_samples(50000, mu1, a, 1);
    const auto x2 = gaussian_samples(50000, mu2, b, 2);
    for (int64_t start = 0; start < 50000; start += 10000) {  // streamed in batches
        s1.append(x1.narrow(0, start, 10000).to(torch::kFloat32));
        s2.append(x2.narrow(0, start, 10000).to(torch::kFloat32));
    }
    EXPECT_NEAR(fm::frechet_distance(s1.mean(), s1.covariance(), s2.mean(), s2.covariance()), expected, 0.08);
}

TEST_F(FIDKIDTest, FeatureStatsMatchPopulationMoments) {
    const auto x = torch::randn({37, 5}, torch::kDouble);
    fm::FeatureStats stats;
    stats.append(x.narrow(0, 0, 20));
    stats.append(x.narrow(0, 20, 17));
    const auto mean = x.mean(0);
    const auto centred = x - mean;
    const auto cov = centred.t().mm(centred) / 37.0;
    EXPECT_EQ(stats.n(), 37);
    EXPECT_TRUE(torch::allclose(stats.mean(), mean, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(stats.covariance(), cov, 1e-10, 1e-10));
    EXPECT_TRUE(torch::allclose(stats.all().to(torch::kDouble), x, 1e-6, 1e-6));
    EXPECT_THROW(stats.append(torch::randn({2, 4})), c10::Error);
}

TEST_F(FIDKIDTest, KIDOfConstantSetsIsTheExactMMD) {
    // All rows equal: every subset estimate equals k(a,a) + k(b,b) - 2 k(a,b).
    const auto a = torch::full({50, 4}, 1.0, torch::kDouble);
    const auto b = torch::full({60, 4}, 2.0, torch::kDouble);
    // k(x, y) = (x.y / 4 + 1)^3: k(a,a) = 8, k(b,b) = 125, k(a,b) = 27
    fm::KIDOptions options;
    options.num_subsets = 3;
    EXPECT_NEAR(fm::kernel_inception_distance(a, b, options, 0), 8.0 + 125.0 - 54.0, 1e-9);
}

TEST_F(FIDKIDTest, KIDOfShiftedGaussiansMatchesClosedForm) {
    // 1-D (d = 1): x ~ N(0, 0.25), y ~ N(0.5, 0.25), k(u, v) = (uv + 1)^3. For independent
    // u ~ P, v ~ Q: E k = m3(P) m3(Q) + 3 m2(P) m2(Q) + 3 m1(P) m1(Q) + 1 with raw moments
    // m1 = mu, m2 = mu^2 + s^2, m3 = mu^3 + 3 mu s^2. So K(x,x) = 1.1875, K(y,y) = 2.75,
    // K(x,y) = 1.375 and MMD^2 = 1.1875 + 2.75 - 2 * 1.375 = 1.1875.
    // 40 subsets of 500 from 40000 samples: the estimate's error is dominated by the
    // sample moments (measured 1.218 at this seed); tolerance 0.08 (7%).
    const auto x = facegen::core::gaussian_tensor({40000, 1}, 11) * 0.5;
    const auto y = facegen::core::gaussian_tensor({40000, 1}, 12) * 0.5 + 0.5;
    fm::KIDOptions options;  // fewer, smaller subsets than the official 100 x 1000: seconds, not minutes
    options.num_subsets = 40;
    options.max_subset_size = 500;
    const double kid = fm::kernel_inception_distance(y, x, options, 3);
    EXPECT_NEAR(kid, 1.1875, 0.08);
    std::printf("KID shifted 1-D Gaussians: %.4f (closed form 1.1875)\n", kid);
}

TEST_F(FIDKIDTest, KIDOfOneDistributionIsNearZero) {
    // Unbiased estimator: mean 0 for equal distributions; can be slightly negative.
    const auto x = facegen::core::gaussian_tensor({5000, 16}, 21);
    const auto y = facegen::core::gaussian_tensor({5000, 16}, 22);
    fm::KIDOptions options;
    options.num_subsets = 20;
    options.max_subset_size = 500;
    const double kid = fm::kernel_inception_distance(x, y, options, 0);
    EXPECT_LT(std::abs(kid), 5e-3);
    const double shifted = fm::kernel_inception_distance(x, y + 0.5, options, 0);
    EXPECT_GT(shifted, 50 * std::abs(kid));
}

TEST_F(FIDKIDTest, KIDIsDeterministicFromSeed) {
    const auto x = torch::randn({300, 8}, torch::kDouble);
    const auto y = torch::randn({400, 8}, torch::kDouble);
    fm::KIDOptions options;
    options.num_subsets = 10;
    options.max_subset_size = 100;
    EXPECT_EQ(fm::kernel_inception_distance(x, y, options, 5), fm::kernel_inception_distance(x, y, options, 5));
    EXPECT_NE(fm::kernel_inception_distance(x, y, options, 5), fm::kernel_inception_distance(x, y, options, 6));
}

TEST_F(FIDKIDTest, KIDRejectsTinySets) {
    EXPECT_NE(error_of([] { fm::kernel_inception_distance(torch::randn({1, 4}), torch::randn({5, 4})); })
                  .find("at least 2"),
              std::string::npos);
}

// --- feature network --------------------------------------------------------------------

TEST_F(FIDKIDTest, MissingFeatureNetworkIsNamed) {
    const auto message = error_of([] { fm::FeatureNetwork::load("/nonexistent/inception.pt"); });
    EXPECT_NE(message.find("'/nonexistent/inception.pt' not found"), std::string::npos) << message;
}

TEST_F(FIDKIDTest, NonTorchScriptFileIsRejected) {
    facegen::test::TempDir dir;
    std::ofstream(dir / "fake.pt") << "this is not a zip archive";
    const auto message = error_of([&] { fm::FeatureNetwork::load(dir / "fake.pt"); });
    EXPECT_NE(message.find("not a loadable TorchScript module"), std::string::npos) << message;
}

TEST_F(FIDKIDTest, WrongFeatureShapeIsRejected) {
    facegen::test::TempDir dir;
    torch::jit::Module module("WrongDetector");
    module.define(R"JIT(
def forward(self, img, return_features: bool = False):
    return img.float().mean(dim=[2, 3])
)JIT");
    module.save((dir / "wrong.pt").string());
    const auto message = error_of([&] { fm::FeatureNetwork::load(dir / "wrong.pt"); });
    EXPECT_NE(message.find("returns 3-dimensional features, expected 2048"), std::string::npos) << message;

    torch::jit::Module no_kwarg("NoKwarg");
    no_kwarg.define(R"JIT(
def forward(self, img):
    return img.float().mean(dim=[2, 3])
)JIT");
    no_kwarg.save((dir / "no_kwarg.pt").string());
    const auto message2 = error_of([&] { fm::FeatureNetwork::load(dir / "no_kwarg.pt", 0); });
    EXPECT_NE(message2.find("failed on a probe batch"), std::string::npos) << message2;
}

TEST_F(FIDKIDTest, TinyDetectorGivesFeatures) {
    auto network = fm::FeatureNetwork::load(tiny_detector_path(), /*expected_feature_dim=*/64);
    EXPECT_EQ(network.feature_dim(), 64);
    const auto images = torch::randint(0, 256, {5, 3, 24, 24}, torch::kUInt8);
    const auto features = network.features(images);
    EXPECT_EQ(features.sizes(), (std::vector<int64_t>{5, 64}));
    // Grayscale is repeated to RGB, as the official.
    const auto gray = torch::randint(0, 256, {2, 1, 16, 16}, torch::kUInt8);
    EXPECT_TRUE(torch::allclose(network.features(gray), network.features(gray.repeat({1, 3, 1, 1}))));
}

TEST_F(FIDKIDTest, FIDAndKIDFromImagesEndToEnd) {
    // Three sets of 200 noisy 16x16 images: a and b from one distribution, c brighter.
    auto make = [](uint64_t seed, double brightness) {
        const auto x = facegen::core::gaussian_tensor({200, 3, 16, 16}, seed) * 30 + 100 + brightness;
        return fm::tensor_images(x.clamp(0, 255).to(torch::kUInt8));
    };
    const auto a = make(1, 0), b = make(2, 0), c = make(3, 40);
    fm::MetricOptions options;
    options.inception = tiny_detector_path();
    options.feature_dim = 64;
    options.stream.batch_size = 64;
    options.metric = fm::MetricKind::FID;
    const auto fid_same = fm::compute_metric(a, b, options);
    const auto fid_shift = fm::compute_metric(a, c, options);
    EXPECT_EQ(fid_same.feature_dim, 64);
    EXPECT_EQ(fid_same.figures.at(0).first, "fid");
    EXPECT_GT(fid_shift.value(), 20 * fid_same.value());

    // Same numbers as computing the maths on the detector's features by hand.
    auto network = fm::FeatureNetwork::load(tiny_detector_path(), 64);
    fm::FeatureStats fa, fc;
    fa.append(network.features(a.read(0, 200)));
    fc.append(network.features(c.read(0, 200)));
    EXPECT_NEAR(fid_shift.value(), fm::frechet_distance(fa.mean(), fa.covariance(), fc.mean(), fc.covariance()),
                1e-6 * fid_shift.value());

    options.metric = fm::MetricKind::KID;
    const auto kid_same = fm::compute_metric(a, b, options);
    const auto kid_shift = fm::compute_metric(a, c, options);
    EXPECT_EQ(kid_shift.figures.at(0).first, "kid");
    EXPECT_GT(kid_shift.value(), 20 * std::abs(kid_same.value()));
}

TEST_F(FIDKIDTest, FIDWithoutInceptionFileIsAClearError) {
    const auto set = fm::tensor_images(torch::zeros({4, 3, 16, 16}, torch::kUInt8));
    fm::MetricOptions options;
    options.metric = fm::MetricKind::FID;
    const auto message = error_of([&] { fm::compute_metric(set, set, options); });
    EXPECT_NE(message.find("needs the Inception network"), std::string::npos) << message;
    EXPECT_NE(message.find("inception-2015-12-05.pt"), std::string::npos) << message;
}

TEST_F(FIDKIDTest, RealInceptionFileLoadsWhenSupplied) {
    const char* path = std::getenv("FACEGEN_INCEPTION");
    if (!path || !std::filesystem::exists(path))
        GTEST_SKIP() << "set FACEGEN_INCEPTION to inception-2015-12-05.pt to test the real network";
    auto network = fm::FeatureNetwork::load(path, 2048);
    const auto images = torch::randint(0, 256, {2, 3, 64, 64}, torch::kUInt8);
    const auto features = network.features(images);
    EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, 2048}));
    EXPECT_TRUE(torch::isfinite(features).all().item<bool>());
}

}  // namespace
