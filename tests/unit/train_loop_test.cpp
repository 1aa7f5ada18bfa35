// The training loop's wiring: which phases run when, ADA's p, the run folder's images and
// model, and the checks on the data it is given.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/png_io.h"
#include "model/model_file.h"
#include "test_support.h"
#include "train/trainer.h"
#include "train_tiny.h"

namespace facegen::train {
namespace {

using TrainLoop = test::TinyTrainerTest;

// Lazy regularisation (StyleGAN2 sec. 3.1): path length every 4 minibatches, R1 every 16.
TEST_F(TrainLoop, RegularisationPhasesRunEveryIntervalMinibatches) {
    auto o = test::tiny_options();
    ASSERT_EQ(o.g_reg_interval, 4);
    ASSERT_EQ(o.d_reg_interval, 16);
    ASSERT_GT(o.gamma, 0.0);
    Trainer trainer(o, test::tiny_data(o), torch::kCPU);
    for (int i = 0; i <= 16; ++i) {
        const auto stats = trainer.step();
        EXPECT_FALSE(std::isnan(stats.loss_g)) << i;
        EXPECT_FALSE(std::isnan(stats.loss_d)) << i;
        EXPECT_EQ(std::isnan(stats.pl_penalty), i % 4 != 0) << "path length at minibatch " << i;
        EXPECT_EQ(std::isnan(stats.loss_d_r1), i % 16 != 0) << "R1 at minibatch " << i;
    }
    EXPECT_GT(trainer.pl_mean(), 0.0);
}

// ADA moves p toward the overfitting target r_t: up when D is sure of the reals (r_t above
// the target), down otherwise. A tiny --ada-kimg makes one adjustment a large step.
TEST_F(TrainLoop, AdaMovesPTowardTheTarget) {
    auto o = test::tiny_options();
    o.aug = AugmentMode::ADA;
    o.aug_p = 0.5;
    o.ada_kimg = 0.001;
    auto identity = [](const torch::Tensor& x, double) { return x; };
    Trainer trainer(o, test::tiny_data(o), torch::kCPU, identity);
    for (int i = 0; i < int(o.ada_interval); ++i) trainer.step();
    ASSERT_FALSE(std::isnan(trainer.last_r_t())) << "an adjustment is due after ada_interval minibatches";
    // Official step: sign(r_t - target) * batch * interval / (ada_kimg * 1000), p kept >= 0
    // (not capped at 1, as in the official training_loop).
    const double step = double(o.batch * o.ada_interval) / (o.ada_kimg * 1000);
    const double expected = trainer.last_r_t() > o.target ? 0.5 + step : 0.0;
    EXPECT_DOUBLE_EQ(trainer.aug_p(), expected) << "r_t " << trainer.last_r_t();
}

TEST_F(TrainLoop, RunFolderHasSampleGridsAndALoadableModelWithItsDiscriminator) {
    if (!core::png_supported()) GTEST_SKIP() << "built without libpng";
    auto o = test::tiny_options();
    Trainer trainer(o, test::tiny_data(o), torch::kCPU, {}, nullptr, RunFolder{dir_.path(), "test"});
    trainer.run();
    EXPECT_TRUE(std::filesystem::exists(dir_ / "fakes_init.png"));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "fakes000000.png")) << "the grid at the end of the run";
    auto loaded = model::load_model_file(dir_ / "model.safetensors", torch::kCPU, /*with_discriminator=*/true);
    EXPECT_EQ(loaded.config.resolution, 16);
    ASSERT_TRUE(loaded.discriminator);
    auto trained = trainer.discriminator()->named_parameters();
    for (const auto& item : loaded.discriminator->named_parameters())
        EXPECT_TRUE(torch::equal(item.value(), trained[item.key()])) << item.key();
    const auto provenance = nlohmann::json::parse(loaded.metadata.provenance_json);
    EXPECT_DOUBLE_EQ(provenance.at("kimg").get<double>(), 0.096);
}

// --snap-minutes: checkpoints by the clock, whatever the kimg interval.
TEST_F(TrainLoop, SnapMinutesCheckpointsByTheClock) {
    auto o = test::tiny_options();
    o.snap_kimg = 0;           // by kimg only at the end
    o.snap_minutes = 1e-9;     // ... and by the clock after every minibatch
    o.keep_checkpoints = 100;
    Trainer trainer(o, test::tiny_data(o), torch::kCPU, {}, nullptr, RunFolder{dir_.path(), "test"});
    trainer.run();
    EXPECT_EQ(list_checkpoints(dir_.path()).size(), size_t(o.kimg * 1000 / double(o.batch)));
}

TEST_F(TrainLoop, DatasetOfAnotherResolutionIsAClearError) {
    auto o16 = test::tiny_options();
    auto o32 = o16;
    o32.resolution = 32;
    facegen::test::expect_error_mentioning([&] { Trainer trainer(o32, test::tiny_data(o16), torch::kCPU); },
                                           {"3x16x16 images", "3x32x32"});
}

}  // namespace
}  // namespace facegen::train
