#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/image_io.h"
#include "data/pack.h"
#include "test_support.h"

namespace facegen::data {
namespace {

namespace fs = std::filesystem;

class DataCLITest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(test::facegen_binary())) GTEST_SKIP() << "facegen binary not built: " << test::facegen_binary();
        fs::create_directories(tmp_ / "in");
        for (int i = 0; i < 6; ++i) {
            RgbImage image(40, 30);
            for (size_t k = 0; k < image.pixels.size(); ++k) image.pixels[k] = static_cast<uint8_t>((k * (i + 3) / 7) % 256);
            std::ofstream(tmp_ / "in" / ("p" + std::to_string(i) + ".png"), std::ios::binary) << encode_png(image);
        }
    }
    std::string bin() const { return "'" + test::facegen_binary().string() + "'"; }
    test::TempDir tmp_;
};

TEST_F(DataCLITest, BuildInfoStatsRoundTrip) {
    const std::string out = (tmp_ / "ds").string();
    auto r = test::run_command(bin() + " dataset build --input '" + (tmp_ / "in").string() + "' --out '" + out +
                               "' --resolution 16 --align center-crop --labels none --dedup-threshold -1 --val-fraction 0");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["n_images"], 6);
    r = test::run_command(bin() + " dataset info '" + out + "' --verify");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["resolution"], 16);
    const std::string html = (tmp_ / "r.html").string();
    r = test::run_command(bin() + " dataset stats '" + out + "' --html '" + html + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["n_images"], 6);
    EXPECT_TRUE(fs::file_size(html) > 1000);
}

TEST_F(DataCLITest, RealignRecropsWithCropScaleAndRefusesDatasetsWithoutLandmarks) {
    // A one-image ffhq-style dataset: the photo p0.png with eyes at (14, 12) and (26, 12),
    // mouth corners at (17, 22) and (23, 22).
    {
        PackWriter writer(tmp_ / "src", /*resolution=*/8, /*channels=*/3);
        nlohmann::json points = nlohmann::json::array();
        for (int k = 0; k < 68; ++k) {
            const double x = k >= 36 && k < 42 ? 14 : k >= 42 && k < 48 ? 26 : k == 48 ? 17 : k == 54 ? 23 : 20;
            const double y = k >= 36 && k < 48 ? 12 : 22;
            points.push_back({x, y});
        }
        const std::vector<uint8_t> blank(3 * 8 * 8, 0);
        writer.append(blank.data(), {{"source", (tmp_ / "in" / "p0.png").string()}, {"source_size", {40, 30}}, {"landmarks", points}});
        PackIndex index;
        index.labels = {{}};
        index.splits = {Split::kTrain};
        writer.commit(index);
    }
    auto r = test::run_command(bin() + " dataset realign '" + (tmp_ / "src").string() + "' --out '" + (tmp_ / "tight").string() +
                               "' --resolution 16 --crop-scale 0.6");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto summary = nlohmann::json::parse(r.out);
    EXPECT_EQ(summary["n_images"], 1);
    EXPECT_EQ(summary["resolution"], 16);
    EXPECT_NE(r.err.find("crop_scale=0.6"), std::string::npos) << r.err;  // resolved params logged
    EXPECT_EQ(PackedDataset(tmp_ / "tight").index().build["params"]["crop_scale"], 0.6);

    r = test::run_command(bin() + " dataset build --input '" + (tmp_ / "in").string() + "' --out '" + (tmp_ / "cc").string() +
                          "' --resolution 16 --align center-crop --labels none --val-fraction 0");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = test::run_command(bin() + " dataset realign '" + (tmp_ / "cc").string() + "' --out '" + (tmp_ / "x").string() + "'");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("ffhq alignment"), std::string::npos) << r.err;
}

TEST_F(DataCLITest, BadOptionsFailWithAMessage) {
    auto r = test::run_command(bin() + " dataset build --input '" + (tmp_ / "in").string() + "' --out '" +
                               (tmp_ / "x").string() + "' --align sideways");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("alignment 'sideways'"), std::string::npos) << r.err;
    r = test::run_command(bin() + " dataset build --input '" + (tmp_ / "in").string() + "' --out '" +
                          (tmp_ / "x").string() + "' --crop-scale 0.2");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("crop scale 0.2"), std::string::npos) << r.err;
    r = test::run_command(bin() + " dataset info '" + (tmp_ / "nothing").string() + "'");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace facegen::data
