// Projection (src/project): the loss terms, the optimisation on a tiny model, photo
// alignment and its errors, and the .npz files projections are written to.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/image_grid.h"
#include "core/npy.h"
#include "data/image_io.h"
#include "model/discriminator.h"
#include "project/losses.h"
#include "project/photo_projection.h"
#include "project/projector.h"
#include "project/target_face.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen::project {
namespace {

namespace fs = std::filesystem;
using test::error_message_of;

TEST(ProjectNpz, WrittenArraysReadBackAsNumpyWouldStoreThem) {
    if (!core::npz_supported()) GTEST_SKIP() << "built without libzip";
    test::TempDir dir;
    const torch::Tensor w = torch::randn({1, 6, 32});
    const torch::Tensor v = torch::arange(5, torch::kFloat64);
    core::write_npz(dir.path() / "projected_w.npz", {{"w", w}, {"v", v}});
    const auto arrays = core::read_npz(dir.path() / "projected_w.npz");
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_TRUE(torch::equal(arrays.at("w"), w));
    EXPECT_EQ(arrays.at("v").sizes(), v.sizes());  // one-element shape tuple "(5,)"
    EXPECT_TRUE(torch::equal(arrays.at("v"), v.to(torch::kFloat32)));
    // The header is padded to a multiple of 64 bytes, as NumPy writes it.
    const std::string bytes = core::npy_bytes(w);
    const size_t header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ((10 + header_length) % 64, 0u);
}

TEST(ProjectNpz, AFailedWriteLeavesTheOldFileAndNamesThePath) {
    if (!core::npz_supported()) GTEST_SKIP() << "built without libzip";
    test::TempDir dir;
    const fs::path file = dir.path() / "projected_w.npz";
    core::write_npz(file, {{"w", torch::ones({2})}});
    const std::string message =
        error_message_of([&] { core::write_npz(dir.path() / "missing" / "x.npz", {{"w", torch::ones({2})}}); });
    EXPECT_NE(message.find("missing"), std::string::npos) << message;
    EXPECT_TRUE(torch::equal(core::read_npz(file).at("w"), torch::ones({2})));
}

TEST(ProjectLoss, SsimAndPsnrReadIdenticalImagesAsPerfect) {
    torch::manual_seed(1);
    const torch::Tensor a = torch::rand({2, 3, 32, 32}) * 255;
    EXPECT_NEAR(ssim(a, a, 255.0).min().item<double>(), 1.0, 1e-6);
    const torch::Tensor noisy = (a + torch::randn_like(a) * 40).clamp(0, 255);
    const torch::Tensor score = ssim(a, noisy, 255.0);
    EXPECT_LT(score.max().item<double>(), 0.9);
    const torch::Tensor bytes = a.to(torch::kUInt8);
    EXPECT_GT(psnr(bytes, bytes).min().item<double>(), 99.0);
    // One grey level off everywhere: 20 log10(255) = 48.13 dB.
    EXPECT_NEAR(psnr(bytes.to(torch::kInt32) + 1, bytes.to(torch::kInt32)).mean().item<double>(), 48.13, 0.01);
}

TEST(ProjectLoss, BadWeightsAndMissingNetworksAreNamed) {
    LossWeights none;
    none.pixel = 0;
    EXPECT_NE(error_message_of([&] { ReconstructionLoss(none, nullptr, {}); }).find("nothing to minimise"), std::string::npos);
    LossWeights wants_d;
    wants_d.discriminator = 1;
    EXPECT_NE(error_message_of([&] { ReconstructionLoss(wants_d, nullptr, {}); }).find("discriminator"), std::string::npos);
    EXPECT_NE(error_message_of([] { parse_loss_weights("pixel=1,colour=2", true, true); }).find("unknown loss term 'colour'"),
              std::string::npos);
    EXPECT_NE(error_message_of([] { parse_loss_weights("pixel=-1", true, true); }).find("pixel=-1"), std::string::npos);
    EXPECT_NE(error_message_of([] { parse_loss_weights("discriminator=1", false, true); }).find("no discriminator"),
              std::string::npos);
    const LossWeights parsed = parse_loss_weights("pixel=0.5,ssim=2", true, false);
    EXPECT_EQ(to_string(parsed), "pixel=0.5,ssim=2");
    EXPECT_EQ(to_string(default_loss_weights(false, false)), "pixel=1,ssim=1");
}

TEST(ProjectLoss, DiscriminatorFeaturesAreZeroOnTheTargetAndGrowAway) {
    torch::manual_seed(2);
    model::Discriminator discriminator(test::tiny_discriminator_config(16));
    LossWeights weights;
    weights.pixel = 0;
    weights.discriminator = 1;
    ReconstructionLoss loss(weights, discriminator, {});
    const torch::Tensor target = torch::rand({2, 3, 16, 16}) * 2 - 1;
    loss.set_targets(target);
    EXPECT_NEAR(loss(target).abs().max().item<double>(), 0.0, 1e-6);
    const torch::Tensor moved = loss(target + 0.3 * torch::randn_like(target));
    EXPECT_GT(moved.min().item<double>(), 1e-4);
}

TEST(ProjectLoss, EachPhotoOfABatchHasItsOwnLossWhateverTheBatchSize) {
    // 5 photos: not a multiple of the discriminator's minibatch-statistics group (4).
    torch::manual_seed(3);
    model::Discriminator discriminator(test::tiny_discriminator_config(16));
    LossWeights weights;
    weights.ssim = 1;
    weights.discriminator = 1;
    ReconstructionLoss batched(weights, discriminator, {});
    const torch::Tensor targets = torch::rand({5, 3, 16, 16}) * 2 - 1;
    const torch::Tensor images = (targets + 0.2 * torch::randn_like(targets)).clamp(-1, 1);
    batched.set_targets(targets);
    const torch::Tensor together = batched(images);
    ASSERT_EQ(together.sizes(), (std::vector<int64_t>{5}));
    for (int64_t i = 0; i < 5; ++i) {
        ReconstructionLoss alone(weights, discriminator, {});
        alone.set_targets(targets.slice(0, i, i + 1));
        EXPECT_NEAR(alone(images.slice(0, i, i + 1)).item<double>(), together[i].item<double>(), 1e-4) << "photo " << i;
    }
}

class ProjectorTest : public ::testing::Test {
protected:
    model::Generator generator_ = test::tiny_generator_for_images(5, 16);
};

TEST_F(ProjectorTest, FindsALatentThatReproducesTheModelsOwnImage) {
    torch::manual_seed(3);
    torch::Tensor target;
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor ws = generator_->map(torch::randn({1, 32}), {});
        model::SynthesisOptions options;
        options.noise_mode = model::NoiseMode::Const;
        target = core::images_to_uint8(generator_->synthesize(ws, options));
    }
    LossWeights weights;
    weights.ssim = 1;
    ReconstructionLoss loss(weights, nullptr, {});
    ProjectionOptions options;
    options.steps = 150;
    options.w_avg_samples = 500;
    Projector projector(generator_, loss, options, torch::kCPU);
    int reports = 0;
    const ProjectionResult result = projector.project(target, [&](const StepReport& step) {
        ++reports;
        EXPECT_EQ(step.steps, 150);
        EXPECT_TRUE(step.terms.count("pixel") && step.terms.count("ssim"));
    });
    EXPECT_EQ(reports, 150);
    ASSERT_EQ(result.ws.sizes(), (std::vector<int64_t>{1, generator_->config().num_ws(), 32}));
    // Every layer gets the same w in w mode.
    EXPECT_TRUE(torch::allclose(result.ws[0][0], result.ws[0][1]));
    ASSERT_EQ(result.loss_curve.size(), 150u);
    EXPECT_LT(result.loss.item<double>(), 0.25 * result.loss_curve.front());
    EXPECT_TRUE(result.noise.empty());
}

TEST_F(ProjectorTest, WPlusAndNoiseAreOptimisedPerLayerAndKeptNormalised) {
    const torch::Tensor targets = torch::randint(0, 256, {2, 16, 16, 3}, torch::kUInt8);
    ReconstructionLoss loss(LossWeights{}, nullptr, {});
    ProjectionOptions options;
    options.steps = 20;
    options.mode = LatentMode::kWPlus;
    options.optimize_noise = true;
    options.w_avg_samples = 100;
    Projector projector(generator_, loss, options, torch::kCPU);
    const ProjectionResult result = projector.project(targets);
    EXPECT_FALSE(torch::allclose(result.ws[0][0], result.ws[0][1]));
    ASSERT_EQ(result.noise.size(), 5u);  // b4: 1 conv, b8 and b16: 2 each
    for (const torch::Tensor& map : result.noise) {
        EXPECT_EQ(map.size(0), 2);
        EXPECT_NEAR(map[0].pow(2).mean().item<double>(), 1.0, 1e-3);
    }
}

TEST(ProjectOptions, OutOfRangeValuesAreNamed) {
    ProjectionOptions options;
    options.steps = 0;
    EXPECT_NE(error_message_of([&] { options.validate(); }).find("steps 0"), std::string::npos);
    EXPECT_NE(error_message_of([] { parse_latent_mode("z"); }).find("unknown latent space 'z'"), std::string::npos);
    EXPECT_EQ(parse_latent_mode("w+"), LatentMode::kWPlus);
}

class TargetFaceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(data::kDefaultPredictorPath)) GTEST_SKIP() << "dlib's 68-landmark model is not installed";
        detector_ = std::make_unique<data::FaceDetector>(data::kDefaultPredictorPath, 1);
        predictor_ = std::make_unique<data::LandmarkPredictor>(data::kDefaultPredictorPath);
    }
    fs::path a_face_photo() const {
        const fs::path folder = test::shared_data_dir() / "utkface";
        if (test::shared_data_dir().empty() || !fs::exists(folder)) return {};
        for (const auto& entry : fs::directory_iterator(folder)) {
            if (entry.path().filename().string().rfind("26_", 0) == 0) return entry.path();
        }
        return {};
    }
    std::unique_ptr<data::FaceDetector> detector_;
    std::unique_ptr<data::LandmarkPredictor> predictor_;
};

TEST_F(TargetFaceTest, APhotoWithoutAFaceIsRefusedByName) {
    data::RgbImage grey(300, 300);
    std::fill(grey.pixels.begin(), grey.pixels.end(), 128);
    const std::string message =
        error_message_of([&] { align_target_face(grey, "wall.png", 64, 0.7, *detector_, *predictor_); });
    EXPECT_NE(message.find("no face found in 'wall.png'"), std::string::npos) << message;
}

TEST_F(TargetFaceTest, AFaceIsAlignedAndAHugeOrTinyCopyIsHandled) {
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    const fs::path photo = a_face_photo();
    ASSERT_FALSE(photo.empty()) << "no UTKFace photo of a 26-year-old";
    const TargetFace target = load_target_face(photo.string(), 64, 0.7, *detector_, *predictor_);
    ASSERT_EQ(target.pixels.sizes(), (std::vector<int64_t>{1, 64, 64, 3}));
    EXPECT_GE(target.faces_found, 1);

    const data::RgbImage original = data::decode_image(core::read_file(photo), photo.string()).image;
    // 8000 x 8000: faces are searched on a reduced copy, and the crop matches the original's.
    const data::RgbImage huge = data::resize_area(original, 8000, 8000);
    const TargetFace from_huge = align_target_face(huge, "huge.jpg", 64, 0.7, *detector_, *predictor_);
    const double difference =
        (from_huge.pixels.to(torch::kFloat32) - target.pixels.to(torch::kFloat32)).abs().mean().item<double>();
    EXPECT_LT(difference, 12.0) << "mean absolute difference of the aligned faces";

    // A 40-px photo: its face is far smaller than a 256-px model needs.
    const data::RgbImage tiny = data::resize_area(original, 40, 40);
    const std::string message = error_message_of([&] { align_target_face(tiny, "tiny.jpg", 256, 0.7, *detector_, *predictor_); });
    EXPECT_TRUE(message.find("too small") != std::string::npos || message.find("no face found in 'tiny.jpg'") != std::string::npos)
        << message;
}

TEST_F(TargetFaceTest, SeveralFacesGiveTheLargestAndGreyPhotosAreAligned) {
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    const fs::path photo = a_face_photo();
    ASSERT_FALSE(photo.empty()) << "no UTKFace photo of a 26-year-old";
    const data::RgbImage face = data::decode_image(core::read_file(photo), photo.string()).image;
    const TargetFace alone = align_target_face(face, "alone.jpg", 64, 0.7, *detector_, *predictor_);

    // The photo beside a half-size copy of itself: two faces, the larger one is projected.
    const data::RgbImage small = data::resize_area(face, face.width / 2, face.height / 2);
    data::RgbImage pair(face.width + small.width, face.height);
    std::fill(pair.pixels.begin(), pair.pixels.end(), 90);
    for (int64_t y = 0; y < face.height; ++y) {
        std::copy_n(face.at(0, y), face.width * 3, pair.at(0, y));
        if (y < small.height) std::copy_n(small.at(0, y), small.width * 3, pair.at(face.width, y));
    }
    const TargetFace largest = align_target_face(pair, "pair.jpg", 64, 0.7, *detector_, *predictor_);
    EXPECT_EQ(largest.faces_found, 2);
    EXPECT_NEAR(largest.face_size_px, alone.face_size_px, 0.05 * alone.face_size_px);

    // Grey photos (decoded as R = G = B) are aligned like colour ones.
    data::RgbImage grey = face;
    for (size_t i = 0; i < grey.pixels.size(); i += 3) {
        const auto level = static_cast<uint8_t>((grey.pixels[i] + grey.pixels[i + 1] + grey.pixels[i + 2]) / 3);
        grey.pixels[i] = grey.pixels[i + 1] = grey.pixels[i + 2] = level;
    }
    const TargetFace from_grey = align_target_face(grey, "grey.jpg", 64, 0.7, *detector_, *predictor_);
    EXPECT_NEAR(from_grey.face_size_px, alone.face_size_px, 0.1 * alone.face_size_px);
}

}  // namespace
}  // namespace facegen::project
