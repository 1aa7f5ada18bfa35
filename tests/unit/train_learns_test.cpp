#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/trainer.h"
#include "train_tiny.h"

namespace facegen::train {
namespace {

/// Distance between the mean image of G_ema's samples and of the data, per pixel: the
/// blob data is a dark background with colour blobs, which a learning G picks up first.
double mean_image_distance(Trainer& trainer, const torch::Tensor& reals) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(1234);
    const auto z = torch::randn({64, trainer.options().z_dim}, gen);
    model::SynthesisOptions synthesis;
    synthesis.noise_mode = model::NoiseMode::Const;
    const auto fakes = trainer.generator_ema()->forward(z, {}, 1.0, std::nullopt, synthesis);
    return (fakes.mean(0) - reals.mean(0)).square().mean().sqrt().item<double>();
}

struct LearningRun {
    double before = 0;  // mean_image_distance at initialisation
    double after = 0;   // ... after 30 minibatches
    model::Generator g_ema{nullptr};
};

// 30 minibatches of 16 blob images with a fast EMA: a few seconds on 2 CPU threads.
LearningRun train_on_blobs(TrainOptions o) {
    torch::set_num_threads(2);
    o.batch = 16;
    o.ema_kimg = 0.01;
    o.resolve(1);
    const auto reals = make_blob_images(256, o.resolution, 3, /*seed=*/3);
    auto data = std::make_shared<InMemoryImageSource>(reals, o.batch, o.seed, 0, 1, "synthetic:blobs");
    Trainer trainer(o, data, torch::kCPU);
    LearningRun run;
    run.before = mean_image_distance(trainer, reals);
    for (int i = 0; i < 30; ++i) trainer.step();
    run.after = mean_image_distance(trainer, reals);
    run.g_ema = trainer.generator_ema();
    return run;
}

TEST(TrainLearns, GeneratorMovesTowardTheData) {
    const LearningRun run = train_on_blobs(test::tiny_options());
    EXPECT_LT(run.after, 0.5 * run.before) << "before " << run.before << " after " << run.after;
}

// The mixed-precision path of CUDA training (float16 there), run with bfloat16 on the CPU:
// the reduced-precision blocks still train, the weights stay float32.
TEST(TrainLearns, MixedPrecisionGeneratorMovesTowardTheData) {
    auto o = test::tiny_options();
    o.precision = "bf16";
    o.low_precision_res = 2;
    o.conv_clamp = -1;  // auto: 256 with reduced precision
    const LearningRun run = train_on_blobs(o);
    EXPECT_LT(run.after, 0.5 * run.before) << "before " << run.before << " after " << run.after;
    EXPECT_DOUBLE_EQ(run.g_ema->config().conv_clamp, 256);
    for (const auto& p : run.g_ema->parameters()) {
        EXPECT_EQ(p.scalar_type(), torch::kFloat32);
        EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    }
}

}  // namespace
}  // namespace facegen::train
