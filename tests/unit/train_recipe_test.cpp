#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "model/flops.h"
#include "train/adam.h"
#include "train/bench.h"
#include "train/ema.h"
#include "train/losses.h"
#include "train/options.h"

namespace facegen::train {
namespace {

class TrainRecipe : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }
};

TEST_F(TrainRecipe, LossesMatchHandComputedSoftplus) {
    const auto logits = torch::tensor({{0.0}, {2.0}, {-1.0}});
    // softplus(x) = log(1 + e^x)
    const auto g = loss_g_main(logits);
    EXPECT_NEAR(g[0].item<double>(), std::log(2.0), 1e-6);
    EXPECT_NEAR(g[1].item<double>(), std::log(1.0 + std::exp(-2.0)), 1e-6);
    EXPECT_NEAR(g[2].item<double>(), std::log(1.0 + std::exp(1.0)), 1e-6);
    const auto fake = loss_d_fake(logits);
    EXPECT_NEAR(fake[1].item<double>(), std::log(1.0 + std::exp(2.0)), 1e-6);
    const auto real = loss_d_real(logits);
    EXPECT_NEAR(real[2].item<double>(), std::log(1.0 + std::exp(1.0)), 1e-6);
    EXPECT_EQ(g.sizes(), (std::vector<int64_t>{3}));
}

TEST_F(TrainRecipe, LossesRejectWrongLogitShape) {
    EXPECT_THROW(loss_g_main(torch::zeros({3})), c10::Error);
}

TEST_F(TrainRecipe, R1PenaltyOfLinearCriticIsSquaredWeightNorm) {
    // D(x) = sum(w * x) has grad w everywhere: penalty = |w|^2 for every sample.
    const auto w = torch::tensor({1.0f, -2.0f, 0.5f, 3.0f}).view({1, 1, 2, 2});
    const auto x = torch::randn({2, 1, 2, 2}).requires_grad_(true);
    const auto logits = (x * w).sum({1, 2, 3}).unsqueeze(1);
    const auto penalty = r1_penalty(logits, x);
    EXPECT_NEAR(penalty[0].item<double>(), 1 + 4 + 0.25 + 9, 1e-5);
    EXPECT_NEAR(penalty[1].item<double>(), 14.25, 1e-5);
}

TEST_F(TrainRecipe, R1PenaltySupportsDoubleBackward) {
    const auto w = torch::tensor({2.0f}).requires_grad_(true);
    const auto x = torch::randn({3, 1, 1, 1}).requires_grad_(true);
    const auto logits = (x.square() * w).view({3, 1});  // grad 2 w x -> penalty 4 w^2 x^2
    const auto penalty = r1_penalty(logits, x);
    penalty.sum().backward();
    const double expected = (8 * 2.0 * x.detach().square().sum()).item<double>();  // d/dw 4 w^2 x^2 = 8 w x^2
    EXPECT_NEAR(w.grad().item<double>(), expected, 1e-4);
}

TEST_F(TrainRecipe, PathLengthsOfLinearSynthesis) {
    // img = A ws (ws [N, 2, 1] -> img [N, 1, 1, 2] with img_j = sum_i a_ij ws_i):
    // grad of (img . y) wrt ws_i = sum_j a_ij y_j; length = sqrt(mean_i (.)^2).
    const auto ws = torch::ones({1, 2, 1}).requires_grad_(true);
    const auto a = torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});  // [i, j]
    const auto img = torch::matmul(ws.view({1, 2}), a).view({1, 1, 1, 2});
    const auto y = torch::tensor({1.0f, -1.0f}).view({1, 1, 1, 2});
    const auto lengths = path_lengths(img, ws, y);
    // g_0 = 1 - 2 = -1, g_1 = 3 - 4 = -1 -> sqrt((1 + 1) / 2) = 1
    EXPECT_NEAR(lengths[0].item<double>(), 1.0, 1e-6);
}

TEST_F(TrainRecipe, LazyRegularizationCorrectsAdam) {
    const auto h = lazy_regularization_corrected(AdamHyper{0.0025, 0.0, 0.99, 1e-8}, 16);
    const double ratio = 16.0 / 17.0;
    EXPECT_DOUBLE_EQ(h.lr, 0.0025 * ratio);
    EXPECT_DOUBLE_EQ(h.beta1, 0.0);
    EXPECT_DOUBLE_EQ(h.beta2, std::pow(0.99, ratio));
    const auto same = lazy_regularization_corrected(AdamHyper{0.002, 0.5, 0.9, 1e-8}, 0);
    EXPECT_DOUBLE_EQ(same.lr, 0.002);
    EXPECT_DOUBLE_EQ(same.beta1, 0.5);
}

TEST_F(TrainRecipe, AdamMatchesTorchOptimAdam) {
    auto p1 = torch::randn({5}).requires_grad_(true);
    auto p2 = p1.detach().clone().requires_grad_(true);
    Adam ours({{"p", p1}}, AdamHyper{0.01, 0.3, 0.95, 1e-8});
    torch::optim::Adam reference({p2}, torch::optim::AdamOptions(0.01).betas({0.3, 0.95}).eps(1e-8));
    for (int i = 0; i < 5; ++i) {
        const auto target = torch::randn({5});
        ours.zero_grad();
        (p1 - target).square().sum().backward();
        ours.step();
        reference.zero_grad();
        (p2 - target).square().sum().backward();
        reference.step();
    }
    EXPECT_TRUE(torch::allclose(p1, p2, 1e-6, 1e-7));
    EXPECT_EQ(ours.state().at("p").step, 5);
}

TEST_F(TrainRecipe, AdamSkipsParametersWithoutGradAndCleansNaN) {
    auto a = torch::zeros({2}).requires_grad_(true);
    auto b = torch::zeros({2}).requires_grad_(true);
    Adam adam({{"a", a}, {"b", b}}, AdamHyper{0.1, 0.0, 0.99, 1e-8});
    a.mutable_grad() = torch::tensor({NAN, 1.0f});
    adam.step();
    EXPECT_EQ(adam.state().at("a").step, 1);
    EXPECT_EQ(adam.state().at("b").step, 0);
    EXPECT_FLOAT_EQ(a[0].item<float>(), 0.0f);  // NaN grad -> 0 -> no move
    EXPECT_NEAR(a[1].item<float>(), -0.1f, 1e-5);
    EXPECT_TRUE(torch::equal(b, torch::zeros({2})));
}

TEST_F(TrainRecipe, EmaBetaFollowsOfficialRampUp) {
    // batch 32, ema 10 kimg, ramp-up 0.05: at 0 images beta = 0 (copy).
    EXPECT_DOUBLE_EQ(ema_beta(32, 10, 0.05, 0), 0.0);
    // at 100k images the ramp-up limits the half-life to 5000 images.
    EXPECT_DOUBLE_EQ(ema_beta(32, 10, 0.05, 100000), std::pow(0.5, 32.0 / 5000.0));
    // long after: half-life 10000 images.
    EXPECT_DOUBLE_EQ(ema_beta(32, 10, 0.05, 10000000), std::pow(0.5, 32.0 / 10000.0));
    // no ramp-up
    EXPECT_DOUBLE_EQ(ema_beta(16, 5, 0, 0), std::pow(0.5, 16.0 / 5000.0));
}

TEST_F(TrainRecipe, StyleMixingCutoffDistribution) {
    const int64_t num_ws = 10;
    const int n = 20000;
    std::vector<int> counts(num_ws + 1, 0);
    for (int i = 0; i < n; ++i) counts[draw_mixing_cutoff(num_ws, 0.9, torch::kCPU)]++;
    EXPECT_EQ(counts[0], 0);
    // P(no mixing) = 0.1; each cutoff in [1, num_ws) has 0.9 / 9 = 0.1.
    EXPECT_NEAR(counts[num_ws] / double(n), 0.1, 0.015);
    for (int64_t c = 1; c < num_ws; ++c) EXPECT_NEAR(counts[c] / double(n), 0.1, 0.015) << "cutoff " << c;
    for (int i = 0; i < 100; ++i) EXPECT_EQ(draw_mixing_cutoff(num_ws, 0.0, torch::kCPU), num_ws);
}

TEST_F(TrainRecipe, AutoOptionsFollowOfficialCfgAuto) {
    TrainOptions o;
    o.resolution = 256;
    o.resolve(/*world_size=*/1);
    EXPECT_EQ(o.batch, 16);             // min(4096 / 256, 32)
    EXPECT_EQ(o.mbstd_group, 4);
    EXPECT_EQ(o.channel_base, 16384);   // fmaps 0.5
    EXPECT_DOUBLE_EQ(o.g_lr, 0.0025);
    EXPECT_DOUBLE_EQ(o.gamma, 0.0002 * 256 * 256 / 16);
    EXPECT_DOUBLE_EQ(o.ema_kimg, 16 * 10.0 / 32);
    EXPECT_EQ(o.map_layers, 2);
    TrainOptions big;
    big.resolution = 1024;
    big.resolve(8);
    EXPECT_EQ(big.batch, 32);  // max(min(8 * 4, 64), 8)
    EXPECT_EQ(big.channel_base, 32768);
    EXPECT_DOUBLE_EQ(big.d_lr, 0.002);
    EXPECT_EQ(big.mbstd_group, 4);
    EXPECT_EQ(big.batch_gpu, 4);
}

TEST_F(TrainRecipe, AutoPrecisionIsFp16WithClampOnCudaOnly) {
    TrainOptions cpu;
    cpu.resolution = 64;
    cpu.resolve(1, /*on_cuda=*/false);
    EXPECT_EQ(cpu.precision, "fp32");
    EXPECT_DOUBLE_EQ(cpu.conv_clamp, 0);
    EXPECT_FALSE(cpu.mixed_precision().enabled());
    TrainOptions cuda;
    cuda.resolution = 64;
    cuda.resolve(1, /*on_cuda=*/true);
    EXPECT_EQ(cuda.precision, "fp16");
    EXPECT_DOUBLE_EQ(cuda.conv_clamp, 256);  // official train.py pairs fp16 with conv_clamp 256
    EXPECT_EQ(cuda.mixed_precision().num_res, 4);
    EXPECT_EQ(cuda.generator_config().conv_clamp, 256);
    TrainOptions explicit_clamp;
    explicit_clamp.resolution = 64;
    explicit_clamp.precision = "bf16";
    explicit_clamp.conv_clamp = 0;
    explicit_clamp.resolve(1);
    EXPECT_DOUBLE_EQ(explicit_clamp.conv_clamp, 0);
    EXPECT_EQ(explicit_clamp.mixed_precision().dtype, torch::kBFloat16);
    TrainOptions bad;
    bad.resolution = 64;
    bad.precision = "fp8";
    try {
        bad.resolve(1);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("precision = fp8"), std::string::npos) << e.what();
    }
}

TEST_F(TrainRecipe, BadOptionsThrowNamingTheFieldNotAFlag) {
    TrainOptions o;
    o.resolution = 64;
    o.batch = 6;
    o.batch_gpu = 4;
    try {
        o.resolve(1);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("batch_gpu = 4"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << "a library caller typed no flag: " << e.what();
    }
    EXPECT_THROW(parse_augment_mode("sometimes"), Error);
    EXPECT_EQ(parse_augment_mode("noaug"), AugmentMode::None);
}

TEST_F(TrainRecipe, FlopCountsScaleWithArchitecture) {
    model::GeneratorConfig g;
    g.resolution = 64;
    g.channel_base = 4096;
    g.channel_max = 128;
    g.n_mapping_layers = 2;
    const double small = model::generator_forward_flops(g);
    g.channel_max = 256;
    EXPECT_GT(model::generator_forward_flops(g), small);  // more channels at 4..32
    // conv1 of the 64x64 block alone: 2 * 9 * 64 * 64 * 4096
    EXPECT_GT(small, 2.0 * 9 * 64 * 64 * 4096);
    model::DiscriminatorConfig d;
    d.resolution = 64;
    d.channel_base = 4096;
    d.channel_max = 128;
    EXPECT_GT(model::discriminator_forward_flops(d), 2.0 * 9 * 64 * 64 * 4096);
}

}  // namespace
}  // namespace facegen::train
