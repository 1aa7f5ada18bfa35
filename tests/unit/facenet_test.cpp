// The face CNN's shared parts: photo augmentations (what the detector and the attribute
// classifier train on), the network's shape and input, and the centre crop of big images.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/random_stream.h"
#include "facenet/face_cnn.h"
#include "facenet/face_crop.h"
#include "facenet/photo_augment.h"
#include "test_pictures.h"

namespace facegen::facenet {
namespace {

torch::Tensor picture(int64_t side, int64_t seed) { return test::smooth_picture(side, seed); }

TEST(PhotoAugmentTest, AttacksKeepTheSizeAndChangeThePixels) {
    const torch::Tensor image = picture(64, 1);
    for (const torch::Tensor& out : {jpeg_round_trip(image, 75), resize_round_trip(image, 0.5), gaussian_blur(image, 1.0),
                                     crop_and_resize(image, 4, 2, 56)}) {
        EXPECT_EQ(out.sizes(), image.sizes());
        EXPECT_EQ(out.scalar_type(), torch::kUInt8);
        EXPECT_FALSE(out.equal(image));
        EXPECT_LT((out.to(torch::kFloat32) - image.to(torch::kFloat32)).abs().mean().item<double>(), 12.0);
    }
    EXPECT_TRUE(adjust_colour(image, 0, 1, 1).equal(image));
    const torch::Tensor flat = torch::full({32, 32, 3}, 100, torch::kUInt8);
    EXPECT_TRUE(gaussian_blur(flat, 1.5).equal(flat));
    EXPECT_TRUE(resize_round_trip(flat, 0.5).equal(flat));
}

TEST(PhotoAugmentTest, TrainingAugmentationIsReproducibleFromItsStream) {
    const torch::Tensor image = picture(64, 2);
    core::RandomStream a(5), b(5);
    for (int i = 0; i < 8; ++i) EXPECT_TRUE(augment_for_training(image, a).equal(augment_for_training(image, b)));
}

TEST(PhotoAugmentTest, BadCropAndQualityAreNamed) {
    const torch::Tensor image = picture(64, 3);
    EXPECT_THROW(crop_and_resize(image, 10, 10, 60), Error);
    EXPECT_THROW(jpeg_round_trip(image, 0), Error);
}

TEST(FaceCnnTest, GivesOneRowOfOutputsPerImageWhateverTheBatch) {
    torch::manual_seed(3);
    FaceCnn net(FaceCnnOptions{8, 5});
    const torch::Tensor images = torch::stack({picture(64, 1), picture(64, 2), picture(64, 3)});
    torch::NoGradGuard no_grad;
    const torch::Tensor all = net->forward(face_cnn_input(images));
    EXPECT_EQ(all.sizes(), (std::vector<int64_t>{3, 5}));
    // No batch statistics: an image scores the same alone as among others.
    EXPECT_TRUE(torch::allclose(net->forward(face_cnn_input(images.narrow(0, 1, 1))), all.narrow(0, 1, 1), 1e-5, 1e-6));
    // A 128 px image reads as its 64 px area average.
    const torch::Tensor big = picture(128, 4).unsqueeze(0);
    const torch::Tensor averaged = torch::nn::functional::avg_pool2d(
        big.permute({0, 3, 1, 2}).to(torch::kFloat32), torch::nn::functional::AvgPool2dFuncOptions(2));
    EXPECT_TRUE(torch::allclose(face_cnn_input(big), averaged / 127.5 - 1.0, 1e-5, 1e-6));
    EXPECT_THROW(face_cnn_input(torch::zeros({1, 32, 32, 3}, torch::kUInt8)), c10::Error);
}

TEST(FaceCropTest, CentreSquareOfAHugeImageIsBoxReducedToAtMostFourTimesTheInput) {
    data::RgbImage image(3000, 2000);
    for (int64_t y = 0; y < image.height; ++y) {
        for (int64_t x = 0; x < image.width; ++x) image.at(x, y)[0] = static_cast<uint8_t>(x < 1500 ? 10 : 200);
    }
    const torch::Tensor square = centre_square(image);
    // 2000 px centre square, factor 2000 / 256 = 7 -> 285 px.
    EXPECT_EQ(square.sizes(), (std::vector<int64_t>{1, 285, 285, 3}));
    EXPECT_EQ(square[0][0][0][0].item<int>(), 10);
    EXPECT_EQ(square[0][0][284][0].item<int>(), 200);
}

}  // namespace
}  // namespace facegen::facenet
