#include "train/augment/augment_pipe.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

namespace facegen::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

class AugmentPipeTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }

    // Smooth, asymmetric under flips and rotations, in the [-1, 1] range of training images.
    static torch::Tensor smooth_images(int64_t n, int64_t c, int64_t size, torch::Dtype dtype = torch::kFloat32) {
        const torch::Tensor r = torch::linspace(-1, 1, size, torch::kFloat64);
        const torch::Tensor y = r.reshape({1, 1, -1, 1}), x = r.reshape({1, 1, 1, -1});
        torch::Tensor base = torch::sin(2 * y + 0.5) * torch::cos(1.5 * x + 0.3) + 0.3 * x;
        const torch::Tensor offsets = torch::linspace(-0.2, 0.2, n * c, torch::kFloat64).reshape({n, c, 1, 1});
        return (base * 0.8 + offsets).to(dtype);
    }

    static at::Generator seeded(uint64_t seed) {
        return at::detail::createCPUGenerator(seed);
    }

    static double max_abs(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }
};

TEST_F(AugmentPipeTest, ZeroPReturnsTheInputItself) {
    AugmentPipe pipe(augment_preset("bgcfnc"));
    pipe->set_p(0);
    const torch::Tensor images = smooth_images(2, 3, 32);
    const torch::Tensor out = pipe(images);
    EXPECT_TRUE(out.is_same(images));
}

TEST_F(AugmentPipeTest, NothingEnabledReturnsTheInputItself) {
    AugmentPipe pipe;
    pipe->set_p(1);
    const torch::Tensor images = smooth_images(2, 3, 16);
    EXPECT_TRUE(pipe(images).is_same(images));
}

TEST_F(AugmentPipeTest, PreservesShapeDtypeAndDevice) {
    AugmentPipe pipe(augment_preset("bgcfnc"));
    pipe->set_p(1);
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
        const torch::Tensor images = smooth_images(3, 3, 32, dtype);
        const torch::Tensor out = pipe(images);
        EXPECT_EQ(out.sizes(), images.sizes());
        EXPECT_EQ(out.scalar_type(), dtype);
        EXPECT_EQ(out.device(), images.device());
        EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
        EXPECT_GT(max_abs(out, images), 1e-3);
    }
}

TEST_F(AugmentPipeTest, NonSquareAndGrayscaleImagesWork) {
    AugmentPipe pipe(augment_preset("bgc"));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({2, 1, 24, 40});
    const torch::Tensor out = pipe(images);
    EXPECT_EQ(out.sizes(), images.sizes());
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
}

// The official x-flip picks flip / no flip uniformly for each gated-in sample; it is executed
// by the wavelet resampler, which is exact for the identity but only approximately a mirror
// (the sym6 filter is not symmetric): ~1e-2 on smooth images, as the official code gives.
TEST_F(AugmentPipeTest, XflipMirrorsTheDrawnSamples) {
    AugmentPipe pipe(AugmentOptions().xflip(1));
    pipe->set_p(1);
    const int64_t n = 8;
    const torch::Tensor images = smooth_images(n, 3, 32);
    const torch::Tensor out = pipe(images, seeded(3));
    at::Generator replay = seeded(3);
    const torch::Tensor flip = torch::floor(at::rand({n}, replay) * 2);
    int64_t n_flipped = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (flip[i].item<float>() > 0) {
            ++n_flipped;
            EXPECT_LT(max_abs(out[i], images[i].flip({2})), 0.03) << "sample " << i;
        } else {
            EXPECT_LT(max_abs(out[i], images[i]), 1e-5) << "sample " << i;
        }
        EXPECT_GT(max_abs(images[i], images[i].flip({2})), 0.3);
    }
    EXPECT_GT(n_flipped, 0);
    EXPECT_LT(n_flipped, n);
}

TEST_F(AugmentPipeTest, Rotate90MatchesRot90ByTheDrawnQuarterTurns) {
    AugmentPipe pipe(AugmentOptions().rotate90(1));
    pipe->set_p(1);
    const int64_t n = 12;
    const torch::Tensor images = smooth_images(n, 3, 32);
    const torch::Tensor out = pipe(images, seeded(5));
    at::Generator replay = seeded(5);
    const torch::Tensor turns = torch::floor(at::rand({n}, replay) * 4);
    std::set<int64_t> seen;
    for (int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<int64_t>(turns[i].item<float>());
        seen.insert(k);
        const torch::Tensor expected = torch::rot90(images[i], k, {1, 2});
        EXPECT_LT(max_abs(out[i], expected), k == 0 ? 1e-5 : 0.03) << "sample " << i << " k " << k;
        for (int64_t other = 1; other < 4; ++other) {
            EXPECT_GT(max_abs(out[i], torch::rot90(images[i], (k + other) % 4, {1, 2})), 0.2);
        }
    }
    EXPECT_GE(seen.size(), 3u);
}

TEST_F(AugmentPipeTest, IntegerTranslationShiftsContentByTheDrawnPixels) {
    AugmentPipe pipe(AugmentOptions().xint(1).xint_max(0.25));
    pipe->set_p(1);
    const int64_t n = 6, size = 32;
    const torch::Tensor images = torch::rand({n, 3, size, size});  // translation is exact even for noise
    const torch::Tensor out = pipe(images, seeded(9));
    at::Generator replay = seeded(9);
    const torch::Tensor t = (at::rand({n, 2}, replay) * 2 - 1) * 0.25;
    for (int64_t i = 0; i < n; ++i) {
        const auto tx = static_cast<int64_t>(std::lround(t[i][0].item<float>() * size));
        const auto ty = static_cast<int64_t>(std::lround(t[i][1].item<float>() * size));
        // out[y, x] = in[y - ty, x - tx] where both are inside the image.
        const int64_t x0 = std::max<int64_t>(0, tx), x1 = std::min(size, size + tx);
        const int64_t y0 = std::max<int64_t>(0, ty), y1 = std::min(size, size + ty);
        const torch::Tensor got = out[i].slice(1, y0, y1).slice(2, x0, x1);
        const torch::Tensor want = images[i].slice(1, y0 - ty, y1 - ty).slice(2, x0 - tx, x1 - tx);
        EXPECT_LT(max_abs(got, want), 1e-5) << "sample " << i << " shift " << tx << "," << ty;
    }
}

TEST_F(AugmentPipeTest, BrightnessAddsTheDrawnOffset) {
    AugmentPipe pipe(AugmentOptions().brightness(1));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({4, 3, 8, 8});
    const torch::Tensor out = pipe(images, seeded(7));
    at::Generator replay = seeded(7);
    const torch::Tensor b = at::randn({4}, replay) * 0.2;
    EXPECT_LT(max_abs(out, images + b.reshape({4, 1, 1, 1})), 1e-6);
}

TEST_F(AugmentPipeTest, ContrastScalesByTheDrawnFactor) {
    AugmentPipe pipe(AugmentOptions().contrast(1));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({4, 3, 8, 8});
    const torch::Tensor out = pipe(images, seeded(8));
    at::Generator replay = seeded(8);
    const torch::Tensor c = torch::exp2(at::randn({4}, replay) * 0.5);
    EXPECT_LT(max_abs(out, images * c.reshape({4, 1, 1, 1})), 1e-6);
}

TEST_F(AugmentPipeTest, SaturationScalesTheChromaAroundTheLuma) {
    AugmentPipe pipe(AugmentOptions().saturation(1));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({4, 3, 8, 8});
    const torch::Tensor out = pipe(images, seeded(4));
    at::Generator replay = seeded(4);
    const torch::Tensor s = torch::exp2(at::randn({4}, replay) * 1.0).reshape({4, 1, 1, 1});
    const torch::Tensor luma = images.mean(1, /*keepdim=*/true);
    EXPECT_LT(max_abs(out, luma + (images - luma) * s), 1e-5);
}

TEST_F(AugmentPipeTest, LumaflipReflectsTheDrawnSamplesAcrossTheGreyPlane) {
    AugmentPipe pipe(AugmentOptions().lumaflip(1));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({8, 3, 4, 4});
    const torch::Tensor out = pipe(images, seeded(2));
    at::Generator replay = seeded(2);
    const torch::Tensor flip = torch::floor(at::rand({8}, replay) * 2).reshape({8, 1, 1, 1});
    const torch::Tensor luma = images.mean(1, /*keepdim=*/true);
    EXPECT_LT(max_abs(out, images - 2 * flip * luma), 1e-5);
}

TEST_F(AugmentPipeTest, HueRotatesAroundTheLumaAxisByTheDrawnAngle) {
    AugmentPipe pipe(AugmentOptions().hue(1));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({3, 3, 4, 4});
    const torch::Tensor out = pipe(images, seeded(6));
    at::Generator replay = seeded(6);
    const torch::Tensor theta = (at::rand({3}, replay) * 2 - 1) * kPi;
    for (int64_t i = 0; i < 3; ++i) {
        // Rodrigues: R x = x cos + (v x x) sin + v (v . x)(1 - cos), v = (1, 1, 1) / sqrt(3).
        const double a = theta[i].item<double>();
        const torch::Tensor x = images[i].to(torch::kFloat64);
        const torch::Tensor v = torch::full({3, 1, 1}, 1 / std::sqrt(3.0), torch::kFloat64);
        const torch::Tensor cross = torch::stack({v[1] * x[2] - v[2] * x[1], v[2] * x[0] - v[0] * x[2],
                                                  v[0] * x[1] - v[1] * x[0]});
        const torch::Tensor expected = x * std::cos(a) + cross * std::sin(a) + v * (v * x).sum(0) * (1 - std::cos(a));
        EXPECT_LT(max_abs(out[i].to(torch::kFloat64), expected), 1e-5) << "sample " << i;
    }
}

TEST_F(AugmentPipeTest, GrayscaleBrightnessUsesTheMeanRow) {
    AugmentPipe pipe(AugmentOptions().brightness(1).hue(1).saturation(1));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({4, 1, 8, 8});
    const torch::Tensor out = pipe(images, seeded(7));
    at::Generator replay = seeded(7);
    const torch::Tensor b = at::randn({4}, replay) * 0.2;  // hue and saturation skip 1-channel images
    EXPECT_LT(max_abs(out, images + b.reshape({4, 1, 1, 1})), 1e-6);
}

TEST_F(AugmentPipeTest, CutoutZeroesASquareOfTheConfiguredSize) {
    AugmentPipe pipe(AugmentOptions().cutout(1).cutout_size(0.5));
    pipe->set_p(1);
    const torch::Tensor images = torch::rand({4, 3, 16, 16}) + 1;  // never zero
    const torch::Tensor out = pipe(images, seeded(1));
    for (int64_t i = 0; i < 4; ++i) {
        const torch::Tensor zero = (out[i][0] == 0);
        const auto rows = zero.any(1).sum().item<int64_t>(), cols = zero.any(0).sum().item<int64_t>();
        EXPECT_GT(rows, 0);
        EXPECT_LE(rows, 8);
        EXPECT_LE(cols, 8);
        EXPECT_EQ(zero.sum().item<int64_t>(), rows * cols) << "not a rectangle, sample " << i;
        EXPECT_TRUE(torch::equal(out[i].masked_select(~zero.unsqueeze(0)), images[i].masked_select(~zero.unsqueeze(0))));
    }
}

TEST_F(AugmentPipeTest, NoiseIsZeroMeanWithTheDrawnSigma) {
    AugmentPipe pipe(AugmentOptions().noise(1).noise_std(0.5));
    pipe->set_p(1);
    const torch::Tensor images = torch::zeros({2, 3, 64, 64});
    const torch::Tensor out = pipe(images, seeded(12));
    at::Generator replay = seeded(12);
    const torch::Tensor sigma = at::randn({2}, replay).abs() * 0.5;
    for (int64_t i = 0; i < 2; ++i) {
        EXPECT_NEAR(out[i].std().item<double>(), sigma[i].item<double>(), 0.05 * sigma[i].item<double>() + 1e-6);
        EXPECT_NEAR(out[i].mean().item<double>(), 0, 0.05 * sigma[i].item<double>() + 1e-6);
    }
}

TEST_F(AugmentPipeTest, ImageFilterWithUnitGainsIsTheIdentity) {
    // The 4 bands sum to a unit impulse (perfect reconstruction of the orthogonal wavelet).
    const torch::Tensor images = torch::rand({2, 3, 24, 24}, torch::kFloat64);
    const torch::Tensor out = apply_band_filter(images, torch::ones({2, 4}, torch::kFloat64));
    EXPECT_LT(max_abs(out, images), 1e-12);
}

TEST_F(AugmentPipeTest, ImageFilterLowBandGainScalesTheDC) {
    const torch::Tensor gains = torch::tensor({{2.0, 1.0, 1.0, 1.0}}, torch::kFloat64);
    const torch::Tensor flat = torch::full({1, 3, 32, 32}, 0.5, torch::kFloat64);
    // DC lies in band 0 only; the 1D filter is applied along x and along y.
    EXPECT_LT(max_abs(apply_band_filter(flat, gains), flat * 4), 1e-12);
}

TEST_F(AugmentPipeTest, GeometricIdentityMatrixReproducesTheInput) {
    const torch::Tensor images = torch::rand({2, 3, 16, 20}, torch::kFloat64);
    const torch::Tensor out = apply_geometric_transform(images, torch::eye(3, torch::kFloat64).expand({2, 3, 3}));
    EXPECT_LT(max_abs(out, images), 1e-10);
}

TEST_F(AugmentPipeTest, SameGeneratorSeedGivesTheSameAugmentation) {
    AugmentPipe pipe(augment_preset("bgcfnc"));
    pipe->set_p(0.7);
    const torch::Tensor images = smooth_images(4, 3, 32);
    EXPECT_TRUE(torch::equal(pipe(images, seeded(21)), pipe(images, seeded(21))));
    EXPECT_FALSE(torch::equal(pipe(images, seeded(21)), pipe(images, seeded(22))));
    torch::manual_seed(5);
    const torch::Tensor a = pipe(images);
    torch::manual_seed(5);
    EXPECT_TRUE(torch::equal(a, pipe(images)));
}

TEST_F(AugmentPipeTest, XflipFractionAtHalfPIsBinomial) {
    // Gated in with p = 0.5, then flipped with 1/2: a quarter of the images are mirrored.
    AugmentPipe pipe(AugmentOptions().xflip(1));
    pipe->set_p(0.5);
    const int64_t n = 2000;
    const torch::Tensor images = smooth_images(1, 1, 12).expand({n, 1, 12, 12}).contiguous();
    const torch::Tensor out = pipe(images);
    const torch::Tensor to_same = (out - images).abs().amax({1, 2, 3});
    const torch::Tensor to_flip = (out - images.flip({3})).abs().amax({1, 2, 3});
    EXPECT_TRUE((torch::minimum(to_same, to_flip) < 0.05).all().item<bool>());
    const double fraction = (to_flip < to_same).to(torch::kFloat64).mean().item<double>();
    const double sigma = std::sqrt(0.25 * 0.75 / n);
    EXPECT_NEAR(fraction, 0.25, 5 * sigma);
}

TEST_F(AugmentPipeTest, PAboveOneSaturates) {
    AugmentPipe pipe(AugmentOptions().brightness(1));
    pipe->set_p(3);
    const torch::Tensor images = torch::zeros({64, 3, 2, 2});
    const torch::Tensor out = pipe(images);
    EXPECT_TRUE((out.abs().amax({1, 2, 3}) > 0).all().item<bool>());
}

TEST_F(AugmentPipeTest, RejectsBadInputs) {
    AugmentPipe pipe(augment_preset("bgcf"));
    pipe->set_p(1);
    EXPECT_THROW(pipe(torch::rand({3, 16, 16})), c10::Error);
    EXPECT_THROW(pipe(torch::ones({1, 3, 16, 16}, torch::kInt64)), c10::Error);
    try {
        pipe(torch::rand({1, 3, 16, 16}));
        ADD_FAILURE() << "expected a throw for imgfilter on 16x16";
    } catch (const c10::Error& e) {
        EXPECT_NE(std::string(e.what()).find("imgfilter needs images larger than 21x21"), std::string::npos);
    }
    AugmentPipe color(AugmentOptions().brightness(1));
    color->set_p(1);
    EXPECT_THROW(color(torch::rand({1, 4, 8, 8})), c10::Error);
    EXPECT_THROW(pipe->set_p(-0.1), c10::Error);
}

}  // namespace
}  // namespace facegen::train
