// Growing a trained model to twice its resolution (facegen train --grow-from).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "model/layers/ops.h"
#include "model/model_file.h"
#include "test_support.h"
#include "train/grow.h"
#include "train/trainer.h"
#include "train_tiny.h"

namespace facegen::train {
namespace {

using facegen::test::expect_error_mentioning;

class TrainGrow : public test::TinyTrainerTest {
protected:
    // A 16x16 model trained for a few minibatches, saved with its D (as the bundled model is).
    std::filesystem::path small_model(bool with_discriminator = true) {
        small_ = std::make_unique<Trainer>(small_options_, test::tiny_data(small_options_), torch::kCPU);
        for (int i = 0; i < 3; ++i) small_->step();
        model::ModelMetadata metadata;
        metadata.provenance_json = R"({"kimg": 0.024})";
        const auto path = dir_ / (with_discriminator ? "small.safetensors" : "small-g.safetensors");
        model::Generator g = small_->generator_ema();
        model::Discriminator d = small_->discriminator();
        model::save_model_file(path, g, metadata, torch::kFloat32, with_discriminator ? &d : nullptr);
        return path;
    }
    static TrainOptions grown_options() {
        TrainOptions o = test::tiny_options();
        o.resolution = 32;
        o.gamma = -1;  // auto again: R1 weight scales with resolution squared
        o.resolve(1);
        return o;
    }
    static InitFromModel grow() {
        InitFromModel init;
        init.grow = true;
        return init;
    }

    TrainOptions small_options_ = test::tiny_options();
    std::unique_ptr<Trainer> small_;
};

TEST_F(TrainGrow, GrownGeneratorFirstDrawsTheSmallImagesUpsampled) {
    const auto path = small_model();
    const auto options = grown_options();
    Trainer grown(options, test::tiny_data(options), torch::kCPU);
    grown.init_from_model(model::load_model_file(path, torch::kCPU, true), path, grow());

    torch::NoGradGuard no_grad;
    const auto z = torch::randn({4, options.z_dim});
    model::SynthesisOptions constant;
    constant.noise_mode = model::NoiseMode::Const;
    const auto small_images = small_->generator_ema()->forward(z, {}, 1.0, std::nullopt, constant);
    for (auto* g : {&grown.generator(), &grown.generator_ema()}) {
        const auto big_images = (*g)->forward(z, {}, 1.0, std::nullopt, constant);
        ASSERT_EQ(big_images.size(2), 32);
        EXPECT_TRUE(torch::allclose(big_images, model::layers::upsample2d(small_images), 1e-5, 1e-5));
    }
    EXPECT_NEAR(options.gamma, small_options_.gamma * 4, 1e-12) << "R1 gamma scales with resolution squared";
    EXPECT_EQ(grown.cur_nimg(), 24) << "the count continues from the small model's kimg";
    EXPECT_EQ(grown.g_frozen_until_nimg(), 24 + int64_t(kGrowDWarmupKimg * 1000)) << "D's new block learns first";
}

TEST_F(TrainGrow, EveryFittingTensorIsCopiedAndOnlyTheNewTopIsFresh) {
    const auto path = small_model();
    const auto options = grown_options();
    Trainer grown(options, test::tiny_data(options), torch::kCPU);
    const auto loaded = model::load_model_file(path, torch::kCPU, true);
    auto target_d = model::Discriminator(options.discriminator_config());
    const auto report = copy_matching_state(*target_d, *loaded.discriminator);
    for (const auto& name : report.fresh) EXPECT_EQ(name.rfind("b32.", 0), 0u) << name << " should have been copied";
    EXPECT_FALSE(report.fresh.empty());
    auto g_params = loaded.generator->named_parameters(true);
    grown.init_from_model(loaded, path, grow());
    for (const auto& item : grown.generator()->named_parameters(true)) {
        if (item.key().find("b32.") != std::string::npos) continue;
        ASSERT_NE(g_params.find(item.key()), nullptr) << item.key();
        EXPECT_TRUE(torch::equal(item.value(), g_params[item.key()])) << item.key();
    }
}

TEST_F(TrainGrow, TinyGrowRunLearns) {
    const auto path = small_model();
    auto options = grown_options();
    Trainer grown(options, test::tiny_data(options), torch::kCPU);
    InitFromModel init = grow();
    init.d_warmup_kimg = 0.008;  // one minibatch
    grown.init_from_model(model::load_model_file(path, torch::kCPU, true), path, init);
    const auto torgb = grown.generator()->named_parameters(true)["synthesis.b32.torgb.weight"];
    ASSERT_TRUE(torch::equal(torgb, torch::zeros_like(torgb)));
    for (int i = 0; i < 4; ++i) {
        const auto stats = grown.step();
        EXPECT_TRUE(std::isfinite(stats.loss_d));
    }
    EXPECT_GT(grown.generator()->named_parameters(true)["synthesis.b32.torgb.weight"].abs().max().item<double>(), 0.0)
        << "the new toRGB learns";
}

TEST_F(TrainGrow, MismatchedModelsGiveOneClearError) {
    const auto path = small_model();
    const auto loaded = model::load_model_file(path, torch::kCPU, true);
    auto other_base = grown_options();
    other_base.channel_max = 16;  // other channel counts in every block
    Trainer wrong_channels(other_base, test::tiny_data(other_base), torch::kCPU);
    expect_error_mentioning([&] { wrong_channels.init_from_model(loaded, path, grow()); }, {"differs from this run's"});

    Trainer same_resolution(small_options_, test::tiny_data(small_options_), torch::kCPU);
    expect_error_mentioning([&] { same_resolution.init_from_model(loaded, path, grow()); }, {"already 16x16"});

    const auto options = grown_options();
    Trainer plain(options, test::tiny_data(options), torch::kCPU);
    expect_error_mentioning([&] { plain.init_from_model(loaded, path); }, {"grow it to this resolution instead"});

    const auto g_only = small_model(/*with_discriminator=*/false);
    const auto loaded_g_only = model::load_model_file(g_only, torch::kCPU, true);
    expect_error_mentioning([&] { plain.init_from_model(loaded_g_only, g_only, grow()); }, {"holds no discriminator"});
}

}  // namespace
}  // namespace facegen::train
