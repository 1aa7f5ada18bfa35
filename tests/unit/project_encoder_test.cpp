// The projection's encoder (src/project): its file (round trip, the model id it was made
// for, damaged files), training on a tiny model's own faces (the loss falls, a checkpoint
// resumes), and a projection that starts from a given w.
#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "project/encoder_training.h"
#include "project/latent_encoder.h"
#include "project/projector.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using project::LatentEncoder;
using project::LatentEncoderOptions;

constexpr int64_t kSide = 16;

class EncoderFileTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(3); }
    test::TempDir dir_;
};

TEST_F(EncoderFileTest, RoundTripGivesTheSameGuessesAndTheModelId) {
    LatentEncoder encoder(LatentEncoderOptions(kSide, 32).channels_first(8).channels_max(16).hidden(24));
    {
        torch::NoGradGuard no_grad;
        encoder->w_avg.normal_();
        for (auto& parameter : encoder->parameters()) parameter.add_(0.05 * torch::randn_like(parameter));
    }
    const fs::path path = dir_.path() / "m.encoder.safetensors";
    project::save_encoder(path, encoder, "abc123", R"({"steps": 1})");
    project::EncoderFile loaded = project::load_encoder(path, "abc123");
    EXPECT_EQ(loaded.model_id, "abc123");
    EXPECT_EQ(loaded.provenance_json, R"({"steps": 1})");
    EXPECT_EQ(loaded.encoder->options().hidden(), 24);
    const torch::Tensor faces = torch::rand({3, 3, kSide, kSide}) * 2 - 1;
    encoder->eval();
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(loaded.encoder->forward(faces), encoder->forward(faces)));
    EXPECT_EQ(project::encoder_path_for("models/facegen-default.safetensors"),
              fs::path("models/facegen-default.encoder.safetensors"));
}

TEST_F(EncoderFileTest, AnotherModelsEncoderOrAnotherFileIsAClearError) {
    LatentEncoder encoder(LatentEncoderOptions(kSide, 32).channels_first(8).channels_max(16).hidden(24));
    const fs::path path = dir_.path() / "m.encoder.safetensors";
    project::save_encoder(path, encoder, "abc123", "{}");
    test::expect_error_mentioning([&] { project::load_encoder(path, "def456"); },
                                  {"was made for model abc123, not for model def456"});
    const fs::path other = dir_.path() / "other.safetensors";
    core::write_safetensors(other, {{"x", torch::zeros({2})}}, {{"format", "facegen-model"}});
    test::expect_error_mentioning([&] { project::load_encoder(other, ""); }, {"is not a facegen encoder file"});
    test::expect_error_mentioning([&] { project::load_encoder(dir_.path() / "missing.safetensors", ""); },
                                  {"is not a file"});
}

TEST_F(EncoderFileTest, ItsGuessStartsAtTheAverageAndDoesNotDependOnTheBatch) {
    LatentEncoder encoder(LatentEncoderOptions(kSide, 32).channels_first(8).channels_max(16).hidden(24));
    encoder->eval();
    torch::NoGradGuard no_grad;
    encoder->w_avg.fill_(0.5);
    const torch::Tensor faces = torch::rand({4, 3, kSide, kSide}) * 2 - 1;
    const torch::Tensor all = encoder->forward(faces);
    EXPECT_EQ(all.sizes(), (std::vector<int64_t>{4, 32}));
    EXPECT_LT((all - 0.5).abs().max().item<double>(), 0.5) << "a fresh encoder answers close to the average w";
    EXPECT_TRUE(torch::allclose(encoder->forward(faces.narrow(0, 2, 1)), all.narrow(0, 2, 1), 1e-5, 1e-6));
}

class EncoderTrainingTest : public ::testing::Test {
protected:
    void SetUp() override {
        torch::set_num_threads(1);
        torch::manual_seed(7);  // the encoder's initial weights
    }
    project::EncoderTrainingOptions tiny_options(int64_t steps) const {
        project::EncoderTrainingOptions options;
        options.steps = steps;
        options.batch = 8;
        options.learning_rate = 3e-3;
        options.image_loss = {/*pixel=*/1.0, /*ssim=*/0.0, /*discriminator=*/0.0, /*identity=*/0.0};
        options.checkpoint_every = 10;
        options.encoder = LatentEncoderOptions(kSide, 32).channels_first(8).channels_max(16).hidden(32);
        return options;
    }
    test::TempDir dir_;
};

TEST_F(EncoderTrainingTest, TheLossFallsOnTheModelsOwnFaces) {
    model::Generator generator = test::tiny_generator_for_images(5, kSide);
    project::EncoderTrainingOptions options = tiny_options(120);
    options.image_loss = {0.0, 0.0, 0.0, 0.0};  // the w error alone: a random tiny G's pixels are far outside [-1, 1]
    options.photos_per_batch = 0;
    const project::EncoderTrainingResult result =
        project::train_encoder(generator, nullptr, "tiny", {}, options, dir_.path() / "ckpt");
    ASSERT_EQ(result.loss_curve.size(), 120u);
    const auto mean = [](const std::vector<double>& v, size_t from, size_t to) {
        double sum = 0;
        for (size_t i = from; i < to; ++i) sum += v[i];
        return sum / static_cast<double>(to - from);
    };
    EXPECT_LT(mean(result.loss_curve, 100, 120), 0.85 * mean(result.loss_curve, 0, 10))
        << mean(result.loss_curve, 0, 10) << " " << mean(result.loss_curve, 100, 120) << " " << result.heldout_w_error;
    EXPECT_LT(result.heldout_w_error, mean(result.loss_curve, 0, 3)) << "held-out faces are read better than at the start";
}

TEST_F(EncoderTrainingTest, ACheckpointResumesAndRealPhotosJoinTheLoss) {
    model::Generator generator = test::tiny_generator_for_images(5, kSide);
    const fs::path checkpoint = dir_.path() / "ckpt";
    const torch::Tensor photos = torch::randint(0, 256, {5, kSide, kSide, 3}, torch::kUInt8);
    project::EncoderTrainingOptions options = tiny_options(10);
    options.photos_per_batch = 2;
    project::train_encoder(generator, nullptr, "tiny", photos, options, checkpoint);
    ASSERT_TRUE(fs::exists(checkpoint));
    options.steps = 15;
    const project::EncoderTrainingResult resumed =
        project::train_encoder(generator, nullptr, "tiny", photos, options, checkpoint);
    EXPECT_EQ(resumed.first_step, 10);
    EXPECT_EQ(resumed.loss_curve.size(), 5u);
    test::expect_error_mentioning(
        [&] { project::train_encoder(generator, nullptr, "other", photos, options, checkpoint); },
        {"belongs to model tiny, not to model other"});
}

TEST(ProjectorStartTest, AGivenStartReplacesTheAverage) {
    torch::set_num_threads(1);
    model::Generator generator = test::tiny_generator_for_images(5, kSide);
    torch::Tensor w, target;
    {
        torch::NoGradGuard no_grad;
        torch::manual_seed(11);
        w = generator->map(torch::randn({1, 32}), {}).select(1, 0);
        target = ((project::synthesize_w(generator, w) * 127.5 + 128).clamp(0, 255).to(torch::kUInt8)).permute({0, 2, 3, 1});
    }
    project::ReconstructionLoss loss({}, nullptr, {});
    project::ProjectionOptions options;
    options.steps = 2;
    options.initial_w_noise = 0.0;
    options.initial_learning_rate = 1e-4;
    options.w_avg_samples = 200;
    project::Projector projector(generator, loss, options, torch::kCPU);
    // A tiny learning rate: each result stays where it started.
    const project::ProjectionResult from_average = projector.project(target.contiguous());
    const project::ProjectionResult from_w = projector.project(target.contiguous(), {}, w);
    EXPECT_LT((from_w.ws.select(1, 0) - w).abs().max().item<double>(), 0.01);
    EXPECT_LT((from_average.ws.select(1, 0) - projector.w_average()).abs().max().item<double>(), 0.01);
    EXPECT_GT((from_average.ws.select(1, 0) - w).abs().max().item<double>(), 0.1);
}

}  // namespace
}  // namespace facegen
