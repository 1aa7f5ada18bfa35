#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "model/discriminator.h"

namespace facegen::model {
namespace {

DiscriminatorConfig tiny_config(int64_t resolution = 16) {
    DiscriminatorConfig config;
    config.resolution = resolution;
    config.channel_base = 256;
    config.channel_max = 16;
    return config;
}

class ModelDiscriminatorTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(3); }
};

TEST_F(ModelDiscriminatorTest, ShapesForSeveralResolutions) {
    for (int64_t resolution : {16, 32, 64}) {
        Discriminator d(tiny_config(resolution));
        const torch::Tensor logits = d->forward(torch::randn({4, 3, resolution, resolution}));
        EXPECT_EQ(logits.sizes(), torch::IntArrayRef({4, 1})) << resolution;
    }
}

TEST_F(ModelDiscriminatorTest, OfficialKeyNames) {
    Discriminator d(tiny_config(16));
    const auto params = d->named_parameters();
    for (const char* key : {"b16.fromrgb.weight", "b16.conv0.weight", "b16.conv1.bias", "b16.skip.weight", "b8.conv0.weight",
                            "b4.conv.weight", "b4.fc.weight", "b4.out.bias"}) {
        EXPECT_TRUE(params.contains(key)) << key;
    }
    EXPECT_FALSE(params.contains("b8.fromrgb.weight"));
    EXPECT_FALSE(params.contains("b16.skip.bias"));
    EXPECT_EQ(params["b4.conv.weight"].sizes(), torch::IntArrayRef({16, 17, 3, 3}));  // + mbstd channel
}

TEST_F(ModelDiscriminatorTest, ConditionalProjection) {
    DiscriminatorConfig config = tiny_config(16);
    config.c_dim = 4;
    config.n_mapping_layers = 2;
    Discriminator d(config);
    EXPECT_TRUE(d->named_parameters().contains("mapping.embed.weight"));
    EXPECT_TRUE(d->named_parameters().contains("mapping.fc1.weight"));
    EXPECT_FALSE(d->named_buffers().contains("mapping.w_avg"));
    const torch::Tensor img = torch::randn({2, 3, 16, 16});
    const torch::Tensor a = d->forward(img, torch::eye(4).narrow(0, 0, 2));
    const torch::Tensor b = d->forward(img, torch::eye(4).narrow(0, 2, 2));
    EXPECT_EQ(a.sizes(), torch::IntArrayRef({2, 1}));
    EXPECT_GT((a - b).abs().max().item<float>(), 0.0f);
    EXPECT_THROW(d->forward(img), c10::Error);
}

TEST_F(ModelDiscriminatorTest, R1DoubleBackwardReachesWeights) {
    Discriminator d(tiny_config(16));
    const torch::Tensor real = torch::randn({4, 3, 16, 16}).requires_grad_(true);
    const torch::Tensor logits = d->forward(real);
    const auto grads = torch::autograd::grad({logits.sum()}, {real}, {}, /*retain_graph=*/true, /*create_graph=*/true);
    const torch::Tensor penalty = grads[0].square().sum({1, 2, 3}).mean();
    penalty.backward();
    for (const auto& p : d->named_parameters()) {
        // Biases after the (nonlinear) minibatch-stddev layer only move leaky-ReLU kinks: the
        // input gradient does not depend on them, so their R1 gradient is zero.
        const std::string& key = p.key();
        if (key == "b4.conv.bias" || key == "b4.fc.bias" || key == "b4.out.bias") continue;
        ASSERT_TRUE(p.value().grad().defined()) << p.key();
        EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    }
}

TEST_F(ModelDiscriminatorTest, MbstdGroupMustDivideBatch) {
    Discriminator d(tiny_config(16));
    EXPECT_THROW(d->forward(torch::randn({6, 3, 16, 16})), c10::Error);
    EXPECT_EQ(d->forward(torch::randn({3, 3, 16, 16})).size(0), 3);  // group = min(4, N)
}

TEST_F(ModelDiscriminatorTest, BadConfigThrows) {
    DiscriminatorConfig config = tiny_config(16);
    config.resolution = 100;
    EXPECT_THROW(Discriminator{config}, Error);
    config = tiny_config(16);
    config.mbstd_num_channels = 3;
    EXPECT_THROW(Discriminator{config}, Error);
}

}  // namespace
}  // namespace facegen::model
