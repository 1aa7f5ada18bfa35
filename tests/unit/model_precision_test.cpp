// Mixed precision (official num_fp16_res) on the CPU: bfloat16 exercises the same code path
// that float16 takes on CUDA, since LibTorch has no float16 CPU convolutions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "model/discriminator.h"
#include "model/generator.h"
#include "model/layers/ops.h"
#include "model/precision.h"
#include "tiny_model.h"

namespace facegen::model {
namespace {

// Mean absolute difference relative to the mean magnitude of the float32 reference.
double relative_error(const torch::Tensor& reference, const torch::Tensor& other) {
    return (reference - other.to(torch::kFloat32)).abs().mean().item<double>() / reference.abs().mean().item<double>();
}

TEST(ModelPrecision, BlocksFollowOfficialFp16Resolution) {
    MixedPrecision mixed{torch::kFloat16, 4};
    for (int64_t r : {8, 16, 32, 64}) EXPECT_EQ(mixed.dtype_at(r, 64), torch::kFloat16) << r;
    EXPECT_EQ(mixed.dtype_at(4, 64), torch::kFloat32);
    for (int64_t r : {128, 256, 512, 1024}) EXPECT_EQ(mixed.dtype_at(r, 1024), torch::kFloat16) << r;
    EXPECT_EQ(mixed.dtype_at(64, 1024), torch::kFloat32);
    EXPECT_EQ(MixedPrecision({torch::kFloat16, 1}).dtype_at(32, 64), torch::kFloat32);
    EXPECT_EQ(MixedPrecision({torch::kFloat16, 1}).dtype_at(64, 64), torch::kFloat16);
    EXPECT_EQ(MixedPrecision({torch::kFloat16, 9}).dtype_at(4, 16), torch::kFloat32);  // never below 8x8
    EXPECT_EQ(MixedPrecision({torch::kFloat16, 0}).dtype_at(64, 64), torch::kFloat32);
    EXPECT_FALSE(MixedPrecision{}.enabled());
}

TEST(ModelPrecision, ParsesNamesAndRejectsOthers) {
    EXPECT_EQ(parse_compute_dtype("bf16"), torch::kBFloat16);
    EXPECT_EQ(compute_dtype_name(parse_compute_dtype("fp16")), "fp16");
    try {
        parse_compute_dtype("fp8");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'fp8'"), std::string::npos) << e.what();
    }
}

// The overflow guard rescales weight and styles before the conv; demodulation must cancel
// that exactly (checked in float64, where rounding cannot hide a wrong factor).
TEST(ModelPrecision, PrenormalisedModulatedConvEqualsPlainOne) {
    torch::manual_seed(1);
    const torch::Tensor x = torch::randn({2, 8, 6, 6});
    const torch::Tensor weight = torch::randn({4, 8, 3, 3}) * 30;
    const torch::Tensor styles = torch::randn({2, 8}) * 50;
    for (int64_t up : {1, 2}) {
        const torch::Tensor noise = torch::randn({2, 1, 6 * up, 6 * up});
        const torch::Tensor plain = layers::modulated_conv2d(x, weight, styles, noise, up, /*demodulate=*/true);
        const torch::Tensor rescaled = layers::modulated_conv2d(x.to(torch::kFloat64), weight.to(torch::kFloat64),
                                                                styles.to(torch::kFloat64), noise, up, true);
        EXPECT_EQ(rescaled.scalar_type(), torch::kFloat64);
        EXPECT_LT((plain.to(torch::kFloat64) - rescaled).abs().max().item<double>(), 1e-4) << "up " << up;
    }
}

TEST(ModelPrecision, GeneratorInBfloat16StaysCloseToFloat32) {
    torch::manual_seed(2);
    Generator g(test::tiny_generator_config(32));
    const torch::Tensor ws = g->map(torch::randn({4, 32}), {});
    SynthesisOptions options;
    options.noise_mode = NoiseMode::Const;
    Intermediates full, mixed;
    const torch::Tensor reference = g->synthesize(ws, options, &full);
    g->synthesis()->set_mixed_precision({torch::kBFloat16, 2});
    const torch::Tensor images = g->synthesize(ws, options, &mixed);
    EXPECT_EQ(images.scalar_type(), torch::kFloat32);
    EXPECT_EQ(mixed["b32.x"].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(mixed["b16.x"].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(mixed["b8.x"].scalar_type(), torch::kFloat32);
    EXPECT_EQ(mixed["b32.img"].scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(full["b8.x"], mixed["b8.x"])) << "float32 blocks are untouched";
    const double error = relative_error(reference, images);
    EXPECT_GT(error, 0.0) << "the bfloat16 blocks did not run in bfloat16";
    EXPECT_LT(error, 0.03);
}

TEST(ModelPrecision, DiscriminatorInBfloat16SupportsR1) {
    torch::manual_seed(3);
    Discriminator d(test::tiny_discriminator_config(32));
    const torch::Tensor img = torch::randn({4, 3, 32, 32}).requires_grad_(true);
    const torch::Tensor reference = d->forward(img).detach();
    d->set_mixed_precision({torch::kBFloat16, 4});
    Intermediates mixed;
    const torch::Tensor logits = d->forward(img, {}, &mixed);
    EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
    EXPECT_EQ(mixed["b32.x"].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(mixed["b8.x"].scalar_type(), torch::kBFloat16);
    const double error = relative_error(reference, logits);
    EXPECT_GT(error, 0.0) << "the bfloat16 blocks did not run in bfloat16";
    EXPECT_LT(error, 0.05);
    // R1 needs the gradient of the logits with respect to the float32 images, twice.
    const torch::Tensor grad = torch::autograd::grad({logits.sum()}, {img}, {}, /*retain_graph=*/true,
                                                     /*create_graph=*/true)[0];
    EXPECT_EQ(grad.scalar_type(), torch::kFloat32);
    grad.square().sum().backward();
    const torch::Tensor weight_grad = d->named_parameters()["b32.conv0.weight"].grad();
    ASSERT_TRUE(weight_grad.defined());
    EXPECT_TRUE(torch::isfinite(weight_grad).all().item<bool>());
    EXPECT_GT(weight_grad.abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace facegen::model
