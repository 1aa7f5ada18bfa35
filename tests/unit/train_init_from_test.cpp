// Starting a new run from a model file (facegen train --init-from; official --resume=PKL).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "model/model_file.h"
#include "test_support.h"
#include "train/trainer.h"
#include "train_tiny.h"

namespace facegen::train {
namespace {

class TrainInitFrom : public test::TinyTrainerTest {
protected:
    // A few minibatches of training, saved as a model file with (or without) its D.
    std::filesystem::path trained_model(const std::string& name, bool with_discriminator, Trainer*& trained) {
        source_ = std::make_unique<Trainer>(options_, test::tiny_data(options_), torch::kCPU);
        for (int i = 0; i < 3; ++i) source_->step();
        model::ModelMetadata metadata;
        metadata.provenance_json = R"({"kimg": 0.024, "wall_clock_s": 12.5})";
        const auto path = dir_ / name;
        model::Generator g = source_->generator_ema();
        model::Discriminator d = source_->discriminator();
        model::save_model_file(path, g, metadata, torch::kFloat32, with_discriminator ? &d : nullptr);
        trained = source_.get();
        return path;
    }
    static bool same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
        auto pb = b.named_parameters(true);
        for (const auto& item : a.named_parameters(true))
            if (!torch::equal(item.value(), pb[item.key()])) return false;
        return true;
    }

    TrainOptions options_ = test::tiny_options();
    std::unique_ptr<Trainer> source_;
};

TEST_F(TrainInitFrom, ModelWithDiscriminatorGivesGGemaAndDAndContinuesTheCount) {
    Trainer* trained = nullptr;
    const auto path = trained_model("gd.safetensors", /*with_discriminator=*/true, trained);
    auto other = options_;
    other.seed = 99;  // other initial weights: everything must come from the file
    Trainer fresh(other, test::tiny_data(other), torch::kCPU);
    ASSERT_FALSE(same_parameters(*fresh.generator(), *trained->generator_ema()));
    fresh.init_from_model(model::load_model_file(path, torch::kCPU, true), path);
    EXPECT_TRUE(same_parameters(*fresh.generator(), *trained->generator_ema()));
    EXPECT_TRUE(same_parameters(*fresh.generator_ema(), *trained->generator_ema()));
    EXPECT_TRUE(same_parameters(*fresh.discriminator(), *trained->discriminator()));
    EXPECT_TRUE(torch::equal(fresh.generator()->mapping()->w_avg, trained->generator_ema()->mapping()->w_avg));
    EXPECT_EQ(fresh.cur_nimg(), 24);
    EXPECT_EQ(fresh.batch_idx(), 3);
    EXPECT_EQ(fresh.g_frozen_until_nimg(), 24) << "D came with the file: no warm-up";
    EXPECT_GT(fresh.pl_mean(), 0.0) << "the path-length target starts at the model's measured mean";
    fresh.step();
    EXPECT_FALSE(same_parameters(*fresh.generator(), *trained->generator_ema())) << "G trains at once";
}

TEST_F(TrainInitFrom, GeneratorOnlyModelTrainsDFirst) {
    Trainer* trained = nullptr;
    const auto path = trained_model("g.safetensors", /*with_discriminator=*/false, trained);
    Trainer fresh(options_, test::tiny_data(options_), torch::kCPU);
    InitFromModel init;
    init.kimg = 0;              // a fine-tune counted from zero
    init.d_warmup_kimg = 0.016; // two minibatches of 8
    fresh.init_from_model(model::load_model_file(path, torch::kCPU, true), path, init);
    EXPECT_EQ(fresh.cur_nimg(), 0);
    EXPECT_EQ(fresh.g_frozen_until_nimg(), 16);
    const auto d_before = fresh.discriminator()->named_parameters()["b4.out.weight"].clone();
    for (int i = 0; i < 2; ++i) {
        const auto stats = fresh.step();
        EXPECT_TRUE(std::isnan(stats.loss_g)) << "G phase ran during the warm-up";
        EXPECT_FALSE(std::isnan(stats.loss_d));
    }
    EXPECT_TRUE(same_parameters(*fresh.generator(), *trained->generator_ema())) << "G moved during the warm-up";
    EXPECT_FALSE(torch::equal(d_before, fresh.discriminator()->named_parameters()["b4.out.weight"]));
    EXPECT_FALSE(std::isnan(fresh.step().loss_g)) << "G trains after the warm-up";
    EXPECT_FALSE(same_parameters(*fresh.generator(), *trained->generator_ema()));
}

TEST_F(TrainInitFrom, CheckpointKeepsTheWarmUpAndTheOrigin) {
    Trainer* trained = nullptr;
    const auto path = trained_model("g.safetensors", /*with_discriminator=*/false, trained);
    Trainer a(options_, test::tiny_data(options_), torch::kCPU);
    a.init_from_model(model::load_model_file(path, torch::kCPU, true), path);  // auto warm-up
    EXPECT_EQ(a.g_frozen_until_nimg(), 24 + int64_t(kAutoDWarmupKimg * 1000));
    a.step();
    const auto checkpoint = dir_ / "ckpt.safetensors";
    a.save_checkpoint(checkpoint);
    Trainer b(options_, test::tiny_data(options_), torch::kCPU);
    b.load_checkpoint(checkpoint);
    EXPECT_EQ(b.g_frozen_until_nimg(), a.g_frozen_until_nimg());
    EXPECT_EQ(b.cur_nimg(), 32);
    EXPECT_TRUE(std::isnan(b.step().loss_g)) << "still in the warm-up after the resume";
}

TEST_F(TrainInitFrom, OtherArchitectureOrAnExhaustedLengthIsAClearError) {
    Trainer* trained = nullptr;
    const auto path = trained_model("gd.safetensors", true, trained);
    auto wider = options_;
    wider.channel_max = 16;
    Trainer fresh(wider, test::tiny_data(wider), torch::kCPU);
    const auto before = fresh.state_tensors();
    facegen::test::expect_error_mentioning(
        [&] { fresh.init_from_model(model::load_model_file(path, torch::kCPU, true), path); },
        {"gd.safetensors", "channel_max"});
    EXPECT_TRUE(torch::equal(before.at("G/synthesis.b4.const"), fresh.state_tensors().at("G/synthesis.b4.const")));

    auto short_run = options_;
    short_run.kimg = 0.016;  // the model already saw 24 images
    Trainer too_short(short_run, test::tiny_data(short_run), torch::kCPU);
    facegen::test::expect_error_mentioning(
        [&] { too_short.init_from_model(model::load_model_file(path, torch::kCPU, true), path); },
        {"at or past the run's kimg", "init_kimg 0"});
}

}  // namespace
}  // namespace facegen::train
