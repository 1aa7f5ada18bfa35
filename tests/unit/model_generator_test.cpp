#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "model/generator.h"

namespace facegen::model {
namespace {

GeneratorConfig tiny_config(int64_t resolution = 16) {
    GeneratorConfig config;
    config.z_dim = 16;
    config.w_dim = 16;
    config.resolution = resolution;
    config.channel_base = 256;
    config.channel_max = 16;
    config.n_mapping_layers = 2;
    return config;
}

class ModelGeneratorTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(7); }
};

TEST_F(ModelGeneratorTest, ShapesForSeveralResolutions) {
    for (int64_t resolution : {16, 32, 64}) {
        Generator g(tiny_config(resolution));
        const torch::Tensor z = torch::randn({2, 16});
        const torch::Tensor ws = g->map(z, {});
        EXPECT_EQ(ws.sizes(), torch::IntArrayRef({2, g->config().num_ws(), 16})) << resolution;
        const torch::Tensor img = g->synthesize(ws, {NoiseMode::Const, {}});
        EXPECT_EQ(img.sizes(), torch::IntArrayRef({2, 3, resolution, resolution}));
        EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
    }
    EXPECT_EQ(tiny_config(1024).num_ws(), 18);
    EXPECT_EQ(tiny_config(64).num_ws(), 10);
}

TEST_F(ModelGeneratorTest, ConditionalAndOtherChannelCounts) {
    GeneratorConfig config = tiny_config(16);
    config.c_dim = 3;
    config.img_channels = 1;
    config.conv_clamp = 256;
    Generator g(config);
    const torch::Tensor c = torch::eye(3).narrow(0, 0, 2);
    const torch::Tensor img = g->forward(torch::randn({2, 16}), c, 1.0, std::nullopt, {NoiseMode::None, {}});
    EXPECT_EQ(img.sizes(), torch::IntArrayRef({2, 1, 16, 16}));
    EXPECT_THROW(g->forward(torch::randn({2, 16}), {}), c10::Error);
}

TEST_F(ModelGeneratorTest, OfficialKeyNames) {
    Generator g(tiny_config(16));
    const auto params = g->named_parameters();
    const auto buffers = g->named_buffers();
    for (const char* key : {"mapping.fc0.weight", "mapping.fc1.bias", "synthesis.b4.const", "synthesis.b4.conv1.weight",
                            "synthesis.b8.conv0.affine.weight", "synthesis.b8.conv0.affine.bias",
                            "synthesis.b8.conv0.noise_strength", "synthesis.b16.torgb.weight",
                            "synthesis.b16.torgb.affine.weight"}) {
        EXPECT_TRUE(params.contains(key)) << key;
    }
    EXPECT_TRUE(buffers.contains("mapping.w_avg"));
    EXPECT_TRUE(buffers.contains("synthesis.b8.conv0.noise_const"));
    EXPECT_FALSE(params.contains("synthesis.b4.conv0.weight"));
    EXPECT_TRUE(torch::all(params["synthesis.b8.conv1.affine.bias"] == 1.0).item<bool>());
}

TEST_F(ModelGeneratorTest, TruncationPsiOneIsIdentityAndZeroGivesWAvg) {
    Generator g(tiny_config());
    {
        torch::NoGradGuard no_grad;
        g->mapping()->w_avg.normal_();
    }
    const torch::Tensor z = torch::randn({3, 16});
    const torch::Tensor ws = g->map(z, {});
    EXPECT_TRUE(torch::equal(g->map(z, {}, 1.0), ws));
    const torch::Tensor at_avg = g->map(z, {}, 0.0);
    EXPECT_TRUE(torch::allclose(at_avg, g->w_avg().expand_as(at_avg), 1e-6, 1e-6));
    const torch::Tensor half = g->map(z, {}, 0.5);
    EXPECT_TRUE(torch::allclose(half, 0.5 * (ws + g->w_avg()), 1e-5, 1e-6));
}

TEST_F(ModelGeneratorTest, TruncationCutoffOnlyAffectsFirstLayers) {
    Generator g(tiny_config());
    {
        torch::NoGradGuard no_grad;
        g->mapping()->w_avg.normal_();
    }
    const torch::Tensor z = torch::randn({2, 16});
    const torch::Tensor ws = g->map(z, {});
    const torch::Tensor cut = g->map(z, {}, 0.0, /*truncation_cutoff=*/2);
    EXPECT_TRUE(torch::allclose(cut.narrow(1, 0, 2), g->w_avg().expand({2, 2, 16}), 1e-6, 1e-6));
    EXPECT_TRUE(torch::equal(cut.narrow(1, 2, ws.size(1) - 2), ws.narrow(1, 2, ws.size(1) - 2)));
}

TEST_F(ModelGeneratorTest, UpdateWAvgTracksMovingAverage) {
    Generator g(tiny_config());
    const torch::Tensor z = torch::randn({4, 16});
    const torch::Tensor w = g->map(z, {}).select(1, 0).detach();
    g->map(z, {}, 1.0, std::nullopt, /*update_w_avg=*/true);
    // w_avg = lerp(mean w, 0, 0.995) = 0.005 * mean w
    EXPECT_TRUE(torch::allclose(g->w_avg(), w.mean(0) * (1 - 0.995), 1e-5, 1e-7));
}

TEST_F(ModelGeneratorTest, BatchIndependence) {
    Generator g(tiny_config(32));
    const torch::Tensor z = torch::randn({4, 16});
    torch::InferenceMode guard;
    const torch::Tensor batch = g->forward(z, {}, 0.7, std::nullopt, {NoiseMode::Const, {}});
    const torch::Tensor alone = g->forward(z.narrow(0, 2, 1), {}, 0.7, std::nullopt, {NoiseMode::Const, {}});
    EXPECT_LT((batch.narrow(0, 2, 1) - alone).abs().max().item<float>(), 1e-5);
}

TEST_F(ModelGeneratorTest, SeededRandomNoiseIsPerSample) {
    Generator g(tiny_config(16));
    {
        torch::NoGradGuard no_grad;
        for (auto& p : g->named_parameters()) {
            if (p.key().find("noise_strength") != std::string::npos) p.value().fill_(0.5);
        }
    }
    torch::InferenceMode guard;
    const torch::Tensor ws = g->map(torch::randn({3, 16}), {});
    const torch::Tensor batch = g->synthesize(ws, {NoiseMode::Random, {11, 12, 13}});
    const torch::Tensor alone = g->synthesize(ws.narrow(0, 1, 1), {NoiseMode::Random, {12}});
    EXPECT_LT((batch.narrow(0, 1, 1) - alone).abs().max().item<float>(), 1e-5);
    const torch::Tensor other = g->synthesize(ws.narrow(0, 1, 1), {NoiseMode::Random, {99}});
    EXPECT_GT((other - alone).abs().max().item<float>(), 1e-3);
    const torch::Tensor none = g->synthesize(ws.narrow(0, 1, 1), {NoiseMode::None, {}});
    EXPECT_GT((none - alone).abs().max().item<float>(), 1e-3);
    EXPECT_THROW(g->synthesize(ws, {NoiseMode::Random, {1}}), c10::Error);
}

TEST_F(ModelGeneratorTest, GradientsFlowToAllParameters) {
    Generator g(tiny_config(16));
    const torch::Tensor img = g->forward(torch::randn({2, 16}), {}, 1.0, std::nullopt, {NoiseMode::Random, {}});
    img.square().sum().backward();
    for (const auto& p : g->named_parameters()) {
        ASSERT_TRUE(p.value().grad().defined()) << p.key();
        EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    }
}

TEST_F(ModelGeneratorTest, PathLengthDoubleBackwardReachesWeights) {
    // Path-length regulariser (StyleGAN2 sec. 3.2): grad of (img * noise).sum() wrt ws with
    // create_graph, then a loss on its norm backpropagated to the weights.
    Generator g(tiny_config(16));
    const torch::Tensor ws = g->map(torch::randn({2, 16}), {}).detach().requires_grad_(true);
    const torch::Tensor img = g->synthesize(ws, {NoiseMode::Const, {}});
    const torch::Tensor noise = torch::randn_like(img);
    const auto grads = torch::autograd::grad({(img * noise).sum()}, {ws}, {}, /*retain_graph=*/true, /*create_graph=*/true);
    const torch::Tensor lengths = grads[0].square().sum(2).mean(1).sqrt();
    lengths.sum().backward();
    const torch::Tensor weight_grad = g->synthesis()->blocks()[1]->conv0->weight.grad();
    ASSERT_TRUE(weight_grad.defined());
    EXPECT_GT(weight_grad.abs().sum().item<double>(), 0.0);
    const torch::Tensor affine_grad = g->synthesis()->blocks()[0]->conv1->affine->weight.grad();
    ASSERT_TRUE(affine_grad.defined());
    EXPECT_GT(affine_grad.abs().sum().item<double>(), 0.0);
}

TEST_F(ModelGeneratorTest, BadConfigsThrowNamedErrors) {
    const auto expect_error = [](GeneratorConfig config, const std::string& fragment) {
        try {
            Generator g(config);
            FAIL() << "expected an error mentioning " << fragment;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    };
    GeneratorConfig config = tiny_config();
    config.resolution = 48;
    expect_error(config, "resolution 48");
    config.resolution = 8;
    expect_error(config, "resolution 8");
    config.resolution = 2048;
    expect_error(config, "resolution 2048");
    config = tiny_config();
    config.z_dim = 0;
    expect_error(config, "z_dim");
    config = tiny_config();
    config.conv_clamp = -1;
    expect_error(config, "conv_clamp");
    config = tiny_config();
    config.channel_base = 8;
    expect_error(config, "channel_base");
    config = tiny_config();
    config.w_avg_beta = 1.0;
    expect_error(config, "w_avg_beta");
}

TEST_F(ModelGeneratorTest, ConfigJsonRoundTripAndUnknownFields) {
    GeneratorConfig config = tiny_config();
    config.c_dim = 5;
    config.conv_clamp = 256;
    EXPECT_EQ(generator_config_from_json(to_json(config)), config);
    EXPECT_THROW(generator_config_from_json(R"({"z_dim": 3, "bogus": 1})"), Error);
    EXPECT_THROW(generator_config_from_json(R"({"z_dim": "x"})"), Error);
    EXPECT_THROW(generator_config_from_json("not json"), Error);
}

TEST_F(ModelGeneratorTest, NoiseModeParsing) {
    EXPECT_EQ(parse_noise_mode("const"), NoiseMode::Const);
    EXPECT_EQ(parse_noise_mode(to_string(NoiseMode::Random)), NoiseMode::Random);
    EXPECT_EQ(parse_noise_mode("none"), NoiseMode::None);
    EXPECT_THROW(parse_noise_mode("loud"), Error);
}

}  // namespace
}  // namespace facegen::model
