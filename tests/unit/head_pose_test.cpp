// Head pose (src/attributes/head_pose): invariance of the landmark fit to where and how large
// the face is and to in-plane roll; the reader's own box agrees with dlib's detector;
// mirrored photos turn the other way.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "attributes/head_pose.h"
#include "data/image_io.h"
#include "test_support.h"

namespace facegen::attributes {
namespace {

namespace fs = std::filesystem;

using test::error_message_of;

/// The first `count` UTKFace photos (sorted by name), as uint8 [N, H, W, 3].
torch::Tensor utkface_photos(int64_t count) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(test::shared_data_dir() / "utkface")) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<torch::Tensor> images;
    for (const fs::path& file : files) {
        const data::RgbImage image = data::decode_image(test::read_file(file), file.string()).image;
        if (image.width != 200 || image.height != 200) continue;
        images.push_back(torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {200, 200, 3}, torch::kUInt8).clone());
        if (static_cast<int64_t>(images.size()) == count) break;
    }
    return torch::stack(images);
}

std::vector<data::Point2> landmarks_of(const torch::Tensor& photo_hwc) {
    data::FaceDetector detector(data::kDefaultPredictorPath, 0);
    const torch::Tensor pixels = photo_hwc.contiguous();
    data::RgbImage image(pixels.size(1), pixels.size(0));
    std::memcpy(image.pixels.data(), pixels.data_ptr<uint8_t>(), image.pixels.size());
    const std::vector<data::FaceDetection> faces = detector.detect(image);
    if (faces.empty()) return {};
    return faces.front().landmarks;
}

class HeadPoseTest : public ::testing::Test {
protected:
    void SetUp() override {
        FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
        if (!fs::exists(data::kDefaultPredictorPath)) GTEST_SKIP() << "dlib's landmark model not installed";
    }
};

TEST_F(HeadPoseTest, FitIgnoresPlaceSizeAndRoll) {
    const std::vector<data::Point2> landmarks = landmarks_of(utkface_photos(1)[0]);
    ASSERT_EQ(landmarks.size(), 68u);
    const HeadPose pose = head_pose_from_landmarks(landmarks);
    const double angle = 20.0 * M_PI / 180.0;
    std::vector<data::Point2> moved;
    for (const data::Point2& p : landmarks) {
        // Rolled 20 degrees about (100, 100), shrunk to 60%, shifted.
        const double x = p.x - 100, y = p.y - 100;
        moved.push_back({0.6 * (x * std::cos(angle) - y * std::sin(angle)) + 37,
                         0.6 * (x * std::sin(angle) + y * std::cos(angle)) + 12});
    }
    const HeadPose moved_pose = head_pose_from_landmarks(moved);
    EXPECT_NEAR(moved_pose.yaw_degrees, pose.yaw_degrees, 1.0);
    EXPECT_NEAR(moved_pose.pitch_degrees, pose.pitch_degrees, 1.0);
}

TEST_F(HeadPoseTest, ReaderAgreesWithTheDetectorsLandmarks) {
    // The reader places the landmark box itself instead of running dlib's detector. The
    // predictor's landmarks depend a little on the box; now and then a lot (either box can
    // be the worse one), so the typical face is compared: the median difference.
    const torch::Tensor photos = utkface_photos(12);
    const torch::Tensor read = HeadPoseReader().measure(photos);
    std::vector<double> yaw_differences, pitch_differences;
    for (int64_t i = 0; i < photos.size(0); ++i) {
        const std::vector<data::Point2> landmarks = landmarks_of(photos[i]);
        if (landmarks.empty()) continue;
        const HeadPose pose = head_pose_from_landmarks(landmarks);
        yaw_differences.push_back(std::abs(pose.yaw_degrees - read[i][0].item<double>()));
        pitch_differences.push_back(std::abs(pose.pitch_degrees - read[i][1].item<double>()));
    }
    ASSERT_GE(yaw_differences.size(), 10u) << "dlib found too few of 12 UTKFace faces";
    const auto median = [](std::vector<double> values) {
        std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
        return values[values.size() / 2];
    };
    EXPECT_LT(median(yaw_differences), 4.0);
    EXPECT_LT(median(pitch_differences), 4.0);
}

TEST_F(HeadPoseTest, MirroredPhotosTurnTheOtherWay) {
    const torch::Tensor photos = utkface_photos(24);
    const HeadPoseReader reader;
    const torch::Tensor pose = reader.measure(photos);
    const torch::Tensor mirrored = reader.measure(photos.flip({2}));
    const torch::Tensor yaw = pose.select(1, 0), mirrored_yaw = mirrored.select(1, 0);
    const torch::Tensor pitch = pose.select(1, 1), mirrored_pitch = mirrored.select(1, 1);
    // Landmarks of a mirrored photo are not exactly mirrored landmarks: a few degrees apart.
    EXPECT_LT((yaw + mirrored_yaw).abs().mean().item<double>(), 4.0) << yaw << mirrored_yaw;
    EXPECT_LT((pitch - mirrored_pitch).abs().mean().item<double>(), 4.0);
    // The faces do turn: some of them by more than the mirror's disagreement.
    EXPECT_GT(yaw.abs().max().item<double>(), 8.0) << yaw;
    // UTKFace's crops are of roughly frontal faces.
    EXPECT_LT(yaw.abs().mean().item<double>(), 25.0);
    EXPECT_LT(pitch.abs().mean().item<double>(), 25.0);
}

TEST_F(HeadPoseTest, BadLandmarksAndAMissingModelAreRefused) {
    EXPECT_NE(error_message_of([] { head_pose_from_landmarks(std::vector<data::Point2>(5)); }).find("68 landmarks"),
              std::string::npos);
    EXPECT_NE(error_message_of([] { head_pose_from_landmarks(std::vector<data::Point2>(68, {3, 3})); }).find("no face"),
              std::string::npos);
    EXPECT_NE(error_message_of([] { HeadPoseReader("no-such-landmarks.dat"); }).find("no-such-landmarks.dat"),
              std::string::npos);
}

}  // namespace
}  // namespace facegen::attributes
