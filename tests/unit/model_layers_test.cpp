#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <utility>
#include <vector>

#include "model/layers/layers.h"
#include "model/layers/ops.h"

namespace facegen::model::layers {
namespace {

class ModelLayersTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(1234); }
};

TEST_F(ModelLayersTest, FullyConnectedAppliesLrMultiplierToWeightAndBias) {
    FullyConnectedLayer fc(FullyConnectedLayerOptions(/*in=*/4, /*out=*/1).lr_multiplier(0.01).bias_init(0.0));
    {
        torch::NoGradGuard no_grad;
        fc->weight.copy_(torch::tensor({{100.0f, 200.0f, 300.0f, 400.0f}}));
        fc->bias.fill_(50.0f);
    }
    // y = x . (w * 0.01 / sqrt(4)) + b * 0.01 = (1*1 + 1*2 + 1*3 + 1*4) / 2 + 0.5 = 5.5
    const torch::Tensor y = fc->forward(torch::ones({1, 4}));
    EXPECT_NEAR(y.item<float>(), 5.5f, 1e-5);
}

TEST_F(ModelLayersTest, FullyConnectedInitIsScaledByInverseLrMultiplier) {
    FullyConnectedLayer fc(FullyConnectedLayerOptions(256, 256).lr_multiplier(0.01).bias_init(1.0));
    EXPECT_NEAR(fc->weight.std().item<double>(), 100.0, 2.0);
    EXPECT_TRUE(torch::all(fc->bias == 1.0).item<bool>());
}

TEST_F(ModelLayersTest, LeakyReluFullyConnectedHasGainSqrt2) {
    FullyConnectedLayer fc(FullyConnectedLayerOptions(1, 1).activation(Activation::LReLU));
    {
        torch::NoGradGuard no_grad;
        fc->weight.fill_(1.0f);
    }
    const torch::Tensor y = fc->forward(torch::tensor({{2.0f}, {-2.0f}}));
    EXPECT_NEAR(y[0].item<float>(), 2.0 * std::sqrt(2.0), 1e-5);
    EXPECT_NEAR(y[1].item<float>(), -0.4 * std::sqrt(2.0), 1e-5);
}

TEST_F(ModelLayersTest, BiasActClampsAfterGain) {
    const torch::Tensor x = torch::tensor({10.0f, -10.0f, 0.5f}).reshape({1, 3, 1, 1});
    const torch::Tensor y = bias_act(x, torch::tensor({0.0f, 0.0f, 0.5f}), Activation::LReLU, std::sqrt(2.0), /*clamp=*/1.0);
    EXPECT_NEAR(y.flatten()[0].item<float>(), 1.0f, 1e-6);
    EXPECT_NEAR(y.flatten()[1].item<float>(), -1.0f, 1e-6);
    EXPECT_NEAR(y.flatten()[2].item<float>(), 1.0f, 1e-6);  // (0.5 + 0.5) * sqrt(2) clamped
}

TEST_F(ModelLayersTest, NormalizeSecondMomentGivesUnitMeanSquare) {
    const torch::Tensor y = normalize_2nd_moment(torch::tensor({{3.0f, 4.0f}}));
    // mean square = 12.5 -> y = [3, 4] / sqrt(12.5)
    EXPECT_NEAR(y[0][0].item<float>(), 3.0 / std::sqrt(12.5), 1e-6);
    EXPECT_NEAR(y.square().mean().item<float>(), 1.0f, 1e-5);
}

TEST_F(ModelLayersTest, DemodulationCoefficientsNormaliseWeights) {
    // one output, two inputs, 1x1: w = [3, 4], styles [1, 2] -> rsqrt(9 + 64)
    const torch::Tensor weight = torch::tensor({3.0f, 4.0f}).reshape({1, 2, 1, 1});
    const torch::Tensor d = demodulation_coefficients(torch::tensor({{1.0f, 2.0f}}), weight);
    EXPECT_NEAR(d.item<float>(), 1.0 / std::sqrt(73.0), 1e-6);
}

TEST_F(ModelLayersTest, DemodulatedConvHasUnitWeightNorm) {
    // With input all ones and 1x1 kernels the output equals sum_i s_i w_i * d, i.e. the
    // modulated-demodulated weights; their squared norm must be 1 per output channel.
    const torch::Tensor weight = torch::randn({5, 3, 1, 1});
    const torch::Tensor styles = torch::randn({2, 3});
    for (int64_t i = 0; i < 3; ++i) {
        torch::Tensor x = torch::zeros({2, 3, 1, 1});
        x.select(1, i).fill_(1.0f);
        const torch::Tensor y = modulated_conv2d(x, weight, styles, {}, 1, true);
        const torch::Tensor expected = weight.select(1, i).reshape({1, 5}) * styles.select(1, i).reshape({2, 1}) *
                                       demodulation_coefficients(styles, weight);
        EXPECT_TRUE(torch::allclose(y.reshape({2, 5}), expected, 1e-5, 1e-6));
    }
    const torch::Tensor modulated = weight.reshape({1, 5, 3}) * styles.reshape({2, 1, 3});
    const torch::Tensor demodulated = modulated * demodulation_coefficients(styles, weight).unsqueeze(2);
    EXPECT_TRUE(torch::allclose(demodulated.square().sum(2), torch::ones({2, 5}), 1e-4));
}

TEST_F(ModelLayersTest, UpsampleOfDeltaIsScaledFilter) {
    torch::Tensor x = torch::zeros({1, 1, 4, 4});
    x[0][0][1][1] = 1.0f;
    const torch::Tensor y = upsample2d(x);
    ASSERT_EQ(y.sizes(), torch::IntArrayRef({1, 1, 8, 8}));
    // Zero insertion puts the sample at (2, 2); the 1-D taps [1, 3, 3, 1] / 8 * sqrt(4) land on
    // rows/cols 1..4 as [0.25, 0.75, 0.75, 0.25]. Gain 4 keeps the DC level: total mass 4.
    EXPECT_NEAR(y.sum().item<float>(), 4.0f, 1e-5);
    EXPECT_NEAR(y[0][0][2][2].item<float>(), 0.75 * 0.75, 1e-6);
    EXPECT_NEAR(y[0][0][3][3].item<float>(), 0.75 * 0.75, 1e-6);
    EXPECT_NEAR(y[0][0][1][1].item<float>(), 0.25 * 0.25, 1e-6);
    EXPECT_NEAR(y[0][0][4][4].item<float>(), 0.25 * 0.25, 1e-6);
    EXPECT_NEAR(y[0][0][1][4].item<float>(), 0.25 * 0.25, 1e-6);
    EXPECT_NEAR(y[0][0][0][0].item<float>(), 0.0, 1e-7);
    EXPECT_NEAR(y[0][0][5][5].item<float>(), 0.0, 1e-7);
}

TEST_F(ModelLayersTest, DownsampleKeepsConstantSignal) {
    const torch::Tensor y = downsample2d(torch::full({1, 2, 8, 8}, 3.0f));
    ASSERT_EQ(y.sizes(), torch::IntArrayRef({1, 2, 4, 4}));
    // Interior pixels see the whole filter (sum 1); borders lose the zero-padded taps.
    EXPECT_NEAR(y[0][0][1][1].item<float>(), 3.0f, 1e-5);
    EXPECT_NEAR(y[0][0][0][0].item<float>(), 3.0 * (7.0 / 8.0) * (7.0 / 8.0), 1e-5);
}

TEST_F(ModelLayersTest, UpsamplingConvEqualsZeroInsertConvThenFilter) {
    // conv2d_resample(up=2) must equal the definition: zero-insert, pad, full 3x3 conv with
    // the flipped... i.e. transposed conv, then FIR. Check against upfirdn2d + conv2d with
    // the spatially flipped weight (official generic path).
    const torch::Tensor x = torch::randn({2, 3, 5, 5});
    const torch::Tensor w = torch::randn({4, 3, 3, 3});
    const torch::Tensor fast = conv2d_resample(x, w, /*up=*/2, /*down=*/1);
    // Generic path: upfirdn2d(up=2, pad [3, 2] per side, gain 4) then correlation with w
    // flipped (transposed conv semantics).
    const torch::Tensor up = upfirdn2d(x, 2, 1, 3, 2, 3, 2, 4.0);
    const torch::Tensor generic = torch::conv2d(up, w.flip({2, 3}));
    ASSERT_EQ(fast.sizes(), torch::IntArrayRef({2, 4, 10, 10}));
    EXPECT_TRUE(torch::allclose(fast, generic, 1e-4, 1e-5)) << (fast - generic).abs().max().item<float>();
}

TEST_F(ModelLayersTest, PhaseTransposedConvEqualsLibTorchTransposedConv) {
    // Odd and even kernels, non-square inputs; generation (no grad, channels-last) and training layouts.
    for (const auto& [kh, kw] : std::vector<std::pair<int64_t, int64_t>>{{3, 3}, {4, 4}, {2, 3}}) {
        const torch::Tensor x = torch::randn({2, 5, 4, 6});
        const torch::Tensor w = torch::randn({7, 5, kh, kw});
        const torch::Tensor reference = torch::conv_transpose2d(x, w.transpose(0, 1), {}, /*stride=*/2);
        const torch::Tensor trained = conv_transpose2d_stride2(x, w);
        ASSERT_EQ(trained.sizes(), reference.sizes()) << kh << "x" << kw;
        EXPECT_TRUE(torch::allclose(trained, reference, 1e-4, 1e-5)) << kh << "x" << kw;
        torch::NoGradGuard no_grad;
        const torch::Tensor generated = conv_transpose2d_stride2(x.contiguous(torch::MemoryFormat::ChannelsLast), w);
        ASSERT_EQ(generated.sizes(), reference.sizes());
        EXPECT_TRUE(torch::allclose(generated, reference, 1e-4, 1e-5)) << kh << "x" << kw;
    }
}

TEST_F(ModelLayersTest, PhaseTransposedConvGradientsMatchIncludingDoubleBackward) {
    // Path-length regularisation differentiates through the generator twice.
    const torch::Tensor x0 = torch::randn({2, 3, 4, 4}), w0 = torch::randn({4, 3, 3, 3});
    const torch::Tensor probe = torch::randn({2, 4, 9, 9});
    const auto gradients = [&](bool phases) {
        const torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
        const torch::Tensor y = phases ? conv_transpose2d_stride2(x, w)
                                       : torch::conv_transpose2d(x, w.transpose(0, 1), {}, /*stride=*/2);
        const torch::Tensor gw = torch::autograd::grad({(y * probe).sum()}, {w}, {}, /*retain_graph=*/true)[0];
        const torch::Tensor gx = torch::autograd::grad({(y * probe).sum()}, {x}, {}, /*retain_graph=*/true,
                                                       /*create_graph=*/true)[0];
        const torch::Tensor second = torch::autograd::grad({gx.square().sum()}, {w})[0];
        return std::vector<torch::Tensor>{gx.detach(), gw, second};
    };
    const auto ours = gradients(true), theirs = gradients(false);
    for (size_t i = 0; i < ours.size(); ++i) {
        EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-4, 1e-4)) << "gradient " << i << " differs by "
                                                                    << (ours[i] - theirs[i]).abs().max().item<float>();
    }
}

TEST_F(ModelLayersTest, MinibatchStddevOnTinyBatch) {
    // N=4, group 2: groups are {0, 2} and {1, 3}. One channel, 1x1.
    const torch::Tensor x = torch::tensor({1.0f, 10.0f, 3.0f, 14.0f}).reshape({4, 1, 1, 1});
    const torch::Tensor y = minibatch_stddev(x, /*group_size=*/2, /*num_channels=*/1);
    ASSERT_EQ(y.sizes(), torch::IntArrayRef({4, 2, 1, 1}));
    const float sd_a = std::sqrt(1.0f + 1e-8f);  // {1, 3}: deviations +-1
    const float sd_b = std::sqrt(4.0f + 1e-8f);  // {10, 14}: deviations +-2
    EXPECT_NEAR(y[0][1].item<float>(), sd_a, 1e-5);
    EXPECT_NEAR(y[2][1].item<float>(), sd_a, 1e-5);
    EXPECT_NEAR(y[1][1].item<float>(), sd_b, 1e-5);
    EXPECT_NEAR(y[3][1].item<float>(), sd_b, 1e-5);
    EXPECT_TRUE(torch::equal(y.narrow(1, 0, 1), x));
}

TEST_F(ModelLayersTest, MinibatchStddevRejectsIndivisibleBatch) {
    EXPECT_THROW(minibatch_stddev(torch::randn({6, 4, 2, 2}), 4, 1), c10::Error);
}

TEST_F(ModelLayersTest, SynthesisLayerShapesAndConstNoise) {
    SynthesisLayer layer(SynthesisLayerOptions(8, 6, /*w_dim=*/16, /*resolution=*/8).up(2));
    const torch::Tensor x = torch::randn({3, 8, 4, 4});
    const torch::Tensor w = torch::randn({3, 16});
    const torch::Tensor y = layer->forward(x, w, NoiseMode::Const);
    EXPECT_EQ(y.sizes(), torch::IntArrayRef({3, 6, 8, 8}));
    EXPECT_EQ(layer->noise_const.sizes(), torch::IntArrayRef({8, 8}));
    EXPECT_TRUE(torch::equal(y, layer->forward(x, w, NoiseMode::Const)));
    EXPECT_THROW(layer->forward(torch::randn({3, 8, 8, 8}), w, NoiseMode::Const), c10::Error);
}

}  // namespace
}  // namespace facegen::model::layers
